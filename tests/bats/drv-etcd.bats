#!/usr/bin/env bats
# mv-exec --sut etcd://: the workloads against a real etcd (one member and
# a three-member cluster), both read modes, the outcome of ops when etcd is
# killed, stopped or unreachable, and malformed targets.

load common
load servers

setup() {
	mv_setup
	# shellcheck disable=SC2034 # read by well_formed (servers.bash)
	WELL_FORMED_COUNTS="error src f"
}

# One member shared by the tests that only run workloads (each under its
# own key prefix): starting etcd is most of their time.
setup_file() {
	if command -v etcd >/dev/null && command -v etcdctl >/dev/null; then
		T=$BATS_FILE_TMPDIR
		PY=/usr/bin/python3
		[ -x "$PY" ] || PY=python3
		start_etcd 1
		export SHARED_EPS=$EPS
	fi
}

teardown_file() {
	T=$BATS_FILE_TMPDIR
	teardown
}

# need_etcd [shared]: skips the test unless etcd and etcdctl are
# installed; with "shared", sets EPS to the member of setup_file.
need_etcd() {
	command -v etcd >/dev/null ||
		skip "etcd is not installed (Debian: etcd-server)"
	command -v etcdctl >/dev/null ||
		skip "etcdctl is not installed (Debian: etcd-client)"
	[ "${1-}" != shared ] || EPS=$SHARED_EPS
}

# Kills every etcd this test started, even when it failed.
teardown() { stop_servers; }

# run_workload W C READS: N ops of workload W at concurrency C on $EPS
# with reads READS, under key prefix W-READS/; checks the history is
# well-formed, names the node, and is valid.
run_workload() {
	local w=$1 c=$2 reads=$3 n=${4:-300}
	mv-gen -w "$w" -k 5 -n "$n" -s 11 |
		mv-exec -c "$c" --timeout 5s \
			--sut "etcd://$EPS?reads=$reads&prefix=$w-$reads/" >"$T/h"
	run -0 well_formed "$T/h"
	assert_output --partial "invoke=$n"
	assert_output --partial "src:${EPS%%,*}="
	run -0 --separate-stderr mv-check "$T/h"
	assert_output --partial '"valid":true'
}

@test "register and cas-register on one etcd member, both read modes, are valid" {
	need_etcd shared
	run_workload register 5 linearizable
	run_workload register 10 serializable 200
	run_workload cas-register 10 linearizable
	# Some cas ops must have failed on a mismatch, or cas was not tried.
	grep -q '"type":"fail".*"error":"mismatch"' "$T/h"
	run_workload cas-register 5 serializable 200
}

@test "kv (append as a compare-and-swap loop) and counter on etcd are valid" {
	need_etcd shared
	run_workload kv 10 linearizable
	grep -q '"type":"ok","process":[0-9]*,"f":"append"' "$T/h"
	run_workload kv 5 serializable 200
	run_workload counter 10 linearizable 200
	# The counter's total is what the ok adds and some of the others sum to.
	run -0 etcdctl --endpoints "$EPS" get --prefix counter-linearizable/
	assert_output --regexp 'counter-linearizable/c[0-9]'
}

@test "etcd keeps the bytes: a kv value with quotes, a NUL and UTF-8 comes back" {
	need_etcd shared
	printf '%s\n' '{"type":"op","f":"put","key":"k","value":"a\"b\\c\u0000é"}' \
		'{"type":"op","f":"append","key":"k","value":"😀"}' \
		'{"type":"op","f":"get","key":"k"}' \
		'{"type":"op","f":"get","key":"absent"}' \
		'{"type":"op","f":"frob","key":"k"}' |
		mv-exec -c 1 -w kv --sut "etcd://$EPS?prefix=bytes/" >"$T/h"
	run -0 grep -c '"type":"ok"' "$T/h"
	assert_output 4
	grep -q '"type":"ok","process":0,"f":"get","key":"k","value":"a\\"b\\\\c\\u0000é😀"' "$T/h"
	grep -q '"f":"get","key":"absent","value":null' "$T/h"
	grep -q '"type":"fail",.*"f":"frob".*"error":"unsupported"' "$T/h"
}

@test "a three-member etcd cluster, every endpoint used, gives valid histories" {
	need_etcd
	start_etcd 3
	local ep
	mv-gen -w cas-register -k 3 -n 400 -s 5 |
		mv-exec -c 9 --timeout 5s --sut "etcd://$EPS" >"$T/h"
	run -0 well_formed "$T/h"
	assert_output --partial "invoke=400"
	# Each worker is bound to one member, round-robin: all three served.
	for ep in ${EPS//,/ }; do
		assert_output --partial "src:$ep="
	done
	run -0 --separate-stderr mv-check "$T/h"
	mv-gen -w kv -k 5 -n 300 -s 6 |
		mv-exec -c 9 --timeout 5s --sut "etcd://$EPS?prefix=kv/" >"$T/h"
	run -0 --separate-stderr mv-check "$T/h"
	assert_output --partial '"valid":true'
}

@test "etcd killed mid-run: a well-formed history, later ops fail unreachable, still valid" {
	need_etcd
	start_etcd 1
	local pid
	mv-gen -w register -k 5 -n 4000 -s 3 |
		mv-exec -c 5 --sut "etcd://$EPS" >"$T/h" 3>&- &
	pid=$!
	for _ in $(seq 200); do
		[ "$(wc -l <"$T/h")" -lt 200 ] || break
		sleep 0.05
	done
	# shellcheck disable=SC2086 # one pid
	kill -KILL $PIDS
	wait "$pid"
	run -0 well_formed "$T/h"
	assert_output --regexp 'ok=[0-9]+'
	assert_output --regexp 'error:unreachable=[0-9]+'
	run -0 --separate-stderr mv-check "$T/h"
	assert_output --partial '"valid":true'
}

@test "a stopped etcd and a short --timeout: writes are info, nothing ok" {
	need_etcd
	start_etcd 1
	# shellcheck disable=SC2086 # one pid
	kill -STOP $PIDS
	mv-gen -w register -k 2 -n 12 --read-ratio 0 -s 2 |
		mv-exec -c 4 --timeout 300ms --sut "etcd://$EPS" >"$T/h"
	# shellcheck disable=SC2086 # one pid
	kill -CONT $PIDS
	run -0 well_formed "$T/h"
	assert_output "error:timeout=12 info=12 info:write=12 invoke=12"
	run -0 --separate-stderr mv-check "$T/h"
}

@test "an unreachable etcd: every op fails unreachable, nothing sent" {
	local port
	port=$(free_ports 1)
	mv-gen -w cas-register -n 30 -s 2 |
		mv-exec -c 3 --sut "etcd://127.0.0.1:$port" >"$T/h"
	run -0 well_formed "$T/h"
	assert_output --regexp '^error:unreachable=30 fail=30 fail:cas=[0-9]+ fail:read=[0-9]+ fail:write=[0-9]+ invoke=30$'
	run -0 --separate-stderr mv-check "$T/h"
}

# start_fake STATUS BODY: an HTTP server on a free port that answers every
# POST with STATUS and BODY, as the gateway answers an error; sets PORT.
start_fake() {
	printf '%s\n%s\n' "$1" "$2" >"$T/fake.reply"
	rm -f "$T/fake.port"
	(
		"$PY" - "$T/fake.reply" "$T/fake.port" >"$T/fake.log" 2>&1 3>&- <<'PY' &
import http.server, os, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 65536  # one write per answer: no Nagle stall
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        st, body = open(sys.argv[1]).read().split("\n", 1)
        body = body.rstrip("\n").encode()
        self.send_response(int(st))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[2] + ".tmp", "w").write(str(s.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
s.serve_forever()
PY
		echo $! >"$T/etcd-fake.pid"
	)
	for _ in $(seq 100); do
		[ ! -e "$T/fake.port" ] || break
		sleep 0.05
	done
	PORT=$(cat "$T/fake.port")
}

# fake_run STATUS BODY: 10 register ops against start_fake's server.
fake_run() {
	printf '%s\n%s\n' "$1" "$2" >"$T/fake.reply"
	mv-gen -w register -n 10 -s 1 |
		mv-exec -c 2 --sut "etcd://127.0.0.1:$PORT" >"$T/h"
	run -0 well_formed "$T/h"
}

@test "gateway errors: an open outcome is info for a write, a definite one fail" {
	start_fake 200 '{}'
	# Timed out in raft: the proposal may still commit.
	fake_run 503 '{"error":"etcdserver: request timed out","message":"etcdserver: request timed out","code":14}'
	assert_output --regexp 'info:write=[0-9]+'
	assert_output --regexp 'fail:read=[0-9]+'
	assert_output --regexp 'error:etcdserver: request timed out=10 '
	refute_output --partial 'fail:write'
	refute_output --partial 'info:read'
	# Rejected before raft saw it: certainly not applied.
	fake_run 400 '{"error":"etcdserver: request is too large","code":3}'
	assert_output --regexp 'error:etcdserver: request is too large=10 fail=10 '
	fake_run 404 'not found'
	assert_output --regexp 'error:http-404=10 fail=10 '
	fake_run 502 'bad gateway'
	assert_output --regexp 'info:write=[0-9]+'
	refute_output --partial 'fail:write'
	# A 200 that is not JSON: the write may have happened.
	fake_run 200 'garbage'
	assert_output --regexp 'error:bad-response=[0-9]+'
	refute_output --partial 'fail:write'
	refute_output --partial 'ok='
	# A txn that did not succeed is a cas mismatch ("succeeded" is left out).
	printf '200\n{"header":{"revision":"1"}}\n' >"$T/fake.reply"
	printf '%s\n' '{"type":"op","f":"cas","key":"r","value":[1,2]}' |
		mv-exec -w cas-register --sut "etcd://127.0.0.1:$PORT" >"$T/h"
	grep -q '"type":"fail",.*"error":"mismatch"' "$T/h"
	# The node is the endpoint, its clock the answer's Date (a second).
	fake_run 200 '{"header":{"revision":"1"},"kvs":[{"key":"cjA=","mod_revision":"5","value":"Nw=="}]}'
	grep -q '"type":"ok",.*"f":"read",.*"value":7,.*"src":"127.0.0.1:'"$PORT"'"' "$T/h"
	grep -q '"obs":[0-9]*000000000,"src":"127.0.0.1:' "$T/h"
}

@test "malformed etcd targets exit 2 with a one-line error" {
	local t
	for t in '' 127.0.0.1 127.0.0.1:65536 :2379 'a:1,,b:2' 'h_x:1' \
		'[zz]:1' '127.0.0.1:2379?reads=stale' '127.0.0.1:2379?foo' \
		'127.0.0.1:2379?retries=0'; do
		run -2 --separate-stderr mv-exec --sut "etcd://$t" </dev/null
		assert_output ""
		[ "${#stderr_lines[@]}" -eq 1 ]
		[[ $stderr == "mv-exec: --sut etcd://$t: "* ]]
	done
	run -0 --separate-stderr mv-exec --sut \
		'etcd://[::1]:2379,host-1.example:2380?reads=serializable&prefix=a/&retries=3' </dev/null
}
