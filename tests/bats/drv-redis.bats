#!/usr/bin/env bats
# mv-exec --sut redis://: every workload against a real redis-server, reads
# routed to a replica, the outcome of ops when the server dies, is
# unreachable or refuses writes, and malformed targets.

load common
load servers

setup() {
	mv_setup
	# shellcheck disable=SC2034 # read by well_formed (servers.bash)
	WELL_FORMED_COUNTS=error-word
	PORT="" # set by start_redis (servers.bash)
	command -v redis-server >/dev/null ||
		skip "redis-server is not installed (Debian: redis-server)"
	command -v redis-cli >/dev/null ||
		skip "redis-cli is not installed (Debian: redis-tools)"
}

# Kills every server this test started, even when it failed.
teardown() { stop_servers; }

@test "every workload on redis gives a valid history" {
	local w c=5
	start_redis
	for w in register cas-register kv stream set counter; do
		mv-gen -w "$w" -k 2 -n 300 -s 7 |
			mv-exec -c "$c" --sut "redis://127.0.0.1:$PORT?prefix=$w:" \
				>"$T/h-$w"
		run -0 well_formed "$T/h-$w"
		assert_output --partial "invoke=300"
		assert_output --partial "ok="
		refute_output --partial "info="
		run -0 --separate-stderr mv-check "$T/h-$w"
		c=$((c + 1))
	done
	# The keys really are in this server, under the prefix.
	run -0 redis-cli -p "$PORT" --scan --pattern 'stream:*'
	assert_output --partial "stream:s"
}

@test "redis: cas and stream appends fail definitely on a mismatch" {
	start_redis
	mv-gen -w cas-register -n 300 -s 3 |
		mv-exec -c 8 --sut "redis://127.0.0.1:$PORT" >"$T/cas"
	run -0 well_formed "$T/cas"
	assert_output --partial "error:mismatch="
	mv-gen -w stream -n 300 -s 3 |
		mv-exec -c 8 --sut "redis://127.0.0.1:$PORT" >"$T/st"
	run -0 well_formed "$T/st"
	assert_output --partial "error:wrong-expected-version="
	# A failed append says the stream's actual version.
	run -0 "$PY" -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("error") == "wrong-expected-version":
        assert isinstance(r["value"]["actual"], int), r
        print("actual ok"); break
' "$T/st"
	assert_output "actual ok"
	run -0 --separate-stderr mv-check "$T/cas" "$T/st"
}

@test "redis: stream events round-trip exactly, whatever JSON they are" {
	start_redis
	printf '%s\n' \
		'{"type":"op","f":"append","key":"x","value":{"events":["a\"b",{"k":[1,2.5,null,true]},"\u00e9\n"],"expect":"no-stream"}}' \
		'{"type":"op","f":"append","key":"x","value":{"events":[7],"expect":2}}' \
		'{"type":"op","f":"append","key":"x","value":{"events":[8],"expect":"no-stream"}}' \
		'{"type":"op","f":"read","key":"x","value":{"from":1}}' \
		'{"type":"op","f":"read","key":"y","value":{"from":0}}' |
		mv-exec -w stream -c 1 --sut "redis://127.0.0.1:$PORT" >"$T/h"
	run -0 "$PY" -c '
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])][1:]
done = [r for r in rs if r["type"] != "invoke"]
print(json.dumps([[r["type"], r.get("value"), r.get("error")] for r in done]))
' "$T/h"
	assert_output '[["ok", {"version": 2}, null], ["ok", {"version": 3}, null], ["fail", {"actual": 3}, "wrong-expected-version"], ["ok", [{"k": [1, 2.5, null, true]}, "\u00e9\n", 7], null], ["ok", [], null]]'
	run -0 --separate-stderr mv-check "$T/h"
}

@test "redis: reads go to a replica with read=, writes to the primary" {
	local p
	start_redis
	p=$PORT
	start_redis --replicaof 127.0.0.1 "$p" --repl-diskless-sync-delay 0
	for _ in $(seq 100); do
		redis-cli -p "$PORT" info replication |
			grep -q 'master_link_status:up' && break
		sleep 0.05
	done
	mv-gen -w register -n 300 -s 5 |
		mv-exec -c 6 --sut "redis://127.0.0.1:$p?read=127.0.0.1:$PORT&time=1" \
			>"$T/h"
	run -0 well_formed "$T/h"
	refute_output --partial "fail="
	# time=1: each completion names the server that answered it.
	run -0 "$PY" -c '
import json, sys
src = {}
for l in list(open(sys.argv[1]))[1:]:
    r = json.loads(l)
    if r["type"] == "ok":
        src.setdefault(r["f"], set()).add(r["ovc"]["src"])
print(sorted(src["read"]), sorted(src["write"]))
' "$T/h"
	assert_output "['127.0.0.1:$PORT'] ['127.0.0.1:$p']"
	# Replication is asynchronous: a replica read may be stale, so the
	# checker may say either; it must decide.
	run mv-check "$T/h"
	[ "$status" -eq 0 ] || [ "$status" -eq 1 ]
}

@test "redis: a replica cut off from its primary serves stale reads, found" {
	local p
	start_redis
	p=$PORT
	start_redis --replicaof 127.0.0.1 "$p" --repl-diskless-sync-delay 0
	redis-cli -p "$PORT" replicaof no one >/dev/null
	mv-gen -w register -n 300 -s 5 |
		mv-exec -c 5 --sut "redis://127.0.0.1:$p?read=127.0.0.1:$PORT" \
			>"$T/h"
	run -1 --separate-stderr mv-check "$T/h"
}

@test "redis: scripts flushed mid-run are loaded again (NOSCRIPT)" {
	local job
	start_redis
	mv-gen -w cas-register -n 300 -r 300 -s 4 |
		mv-exec -c 4 --pace --sut "redis://127.0.0.1:$PORT" >"$T/h" &
	job=$!
	for _ in 1 2 3 4 5 6; do
		sleep 0.1
		redis-cli -p "$PORT" script flush >/dev/null
	done
	wait "$job"
	run -0 well_formed "$T/h"
	refute_output --partial "NOSCRIPT"
	refute_output --partial "info="
	assert_output --partial "ok="
	run -0 --separate-stderr mv-check "$T/h"
}

@test "redis: writes to a read-only replica fail definitely (READONLY)" {
	local p
	start_redis
	p=$PORT
	start_redis --replicaof 127.0.0.1 "$p" --repl-diskless-sync-delay 0
	for w in register cas-register stream; do
		mv-gen -w "$w" -n 100 -s 2 |
			mv-exec -c 5 --sut "redis://127.0.0.1:$PORT" >"$T/h"
		run -0 well_formed "$T/h"
		assert_output --partial "error:READONLY="
		refute_output --partial "info="
		run -0 --separate-stderr mv-check "$T/h"
	done
}

@test "redis: no server listening: every op fails, nothing is info" {
	local port
	port=$(free_port)
	mv-gen -w counter -n 200 -s 1 |
		mv-exec -c 5 --sut "redis://127.0.0.1:$port" >"$T/h"
	run -0 well_formed "$T/h"
	assert_output --partial "fail=200"
	assert_output --partial "error:connect="
	refute_output --partial "ok="
	refute_output --partial "info="
	run -0 --separate-stderr mv-check "$T/h"
}

@test "redis: a server that stops answering gives timeouts as info" {
	start_redis
	# Stopped, its kernel still accepts connections: requests go out and
	# no answer comes back.
	kill -STOP "$PID"
	mv-gen -w counter -n 12 -s 1 --read-ratio 0 |
		mv-exec -c 4 --timeout 300ms \
			--sut "redis://127.0.0.1:$PORT" >"$T/h"
	kill -CONT "$PID"
	run -0 well_formed "$T/h"
	assert_output --partial "info=12"
	refute_output --partial "ok="
	run -0 --separate-stderr mv-check "$T/h"
}

@test "redis: killing the server mid-run gives info and fail ops" {
	local n job
	start_redis
	# Paced at 1000 ops/s, so that ops are left when the server dies.
	mv-gen -w register -n 3000 -r 1000 -s 9 |
		mv-exec -c 8 --pace --line-buffered \
			--sut "redis://127.0.0.1:$PORT" >"$T/h" &
	job=$!
	for _ in $(seq 200); do
		n=$(grep -c '"type":"ok"' "$T/h" || :)
		[ "${n:-0}" -ge 200 ] && break
		sleep 0.05
	done
	kill -KILL "$PID"
	wait "$job"
	run -0 well_formed "$T/h"
	assert_output --partial "ok="
	assert_output --partial "error:connect="
	assert_output --partial "invoke=3000"
	run -0 --separate-stderr mv-check "$T/h"
}

@test "redis: malformed targets exit 2 with a one-line error" {
	local t
	for t in 'redis://' 'redis://:6379' 'redis://h:0' 'redis://h:99999' \
		'redis://h:x' 'redis://[::1' 'redis://h?read' 'redis://h?db=x' \
		'redis://h?bogus=1' 'redis://h?time=2' 'redis://h?read=:1'; do
		run -2 --separate-stderr mv-exec --sut "$t" </dev/null
		assert_equal "${#stderr_lines[@]}" 1
		[[ "$stderr" == "mv-exec: --sut $t: "* ]]
	done
}
