# Shared by the suites that run mv-exec against real servers (load servers):
# the history checker, free loopback ports, and redis-server and etcd
# started and stopped per test.  The helpers use $T (a scratch directory:
# BATS_TEST_TMPDIR, or BATS_FILE_TMPDIR in setup_file) for pid files, data
# directories and logs.

# The system's python3: a version manager's shim costs seconds a call.
SRV_PY=/usr/bin/python3
[ -x "$SRV_PY" ] || SRV_PY=python3

# well_formed FILE [COUNT...]: fails unless FILE is a well-formed history:
# a meta line with "exec", a complete last line, dense indexes, each op's
# invocation closed by exactly one completion of the same process and f,
# no process invoking again after an info, and every op record with an
# "ovc" whose "ctl" is its "time" (nemesis records are counted and not
# checked further).  Prints the counts of each type, sorted, and of what
# each COUNT names:
#   error-word  "error:W" for the first word W of each "error";
#   error       "error:E" for each whole "error" E (once when E is one
#               word and error-word is given too);
#   src         "src:S" for the ovc.src S of each ok (an ok needs one);
#   f           "TYPE:F" for each completion's type and f.
# Without a COUNT, the words of $WELL_FORMED_COUNTS (a suite's setup sets
# what its assertions read).
well_formed() {
	local f=$1
	shift
	# shellcheck disable=SC2086 # one count a word
	[ $# -gt 0 ] || set -- ${WELL_FORMED_COUNTS-}
	"$SRV_PY" - "$f" "$@" <<'PY'
import json, sys
want = set(sys.argv[2:])
bad = want - {"error-word", "error", "src", "f"}
assert not bad, ("unknown counts", bad)
open_, dead, n, counts = {}, set(), 0, {}
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "", "last line not complete"
def count(k):
    counts[k] = counts.get(k, 0) + 1
for i, l in enumerate(lines[:-1]):
    r = json.loads(l)
    if i == 0:
        assert r["type"] == "meta" and "exec" in r, r
        continue
    assert r["index"] == n, (r, n)
    n += 1
    t, p = r["type"], r["process"]
    count(t)
    if p == "nemesis":
        continue
    assert "ovc" in r and r["ovc"]["ctl"] == r["time"], r
    if "error" in r:
        e = str(r["error"])
        keys = set()
        if "error-word" in want:
            keys.add("error:" + e.split(" ")[0])
        if "error" in want:
            keys.add("error:" + e)
        for k in keys:
            count(k)
    if t == "ok" and "src" in want:
        count("src:" + r["ovc"]["src"])
    if t != "invoke" and "f" in want:
        count(t + ":" + r["f"])
    if t == "invoke":
        assert p not in open_ and p not in dead, r
        open_[p] = r["f"]
    else:
        assert open_.pop(p) == r["f"], r
        if t == "info":
            dead.add(p)
assert not open_, ("left open", open_)
print(" ".join("%s=%d" % kv for kv in sorted(counts.items())))
PY
}

# free_ports N: N TCP ports nobody listens on now (all bound at once, so
# they differ, then let go).
free_ports() {
	"$SRV_PY" -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s:
    x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"
}

# free_port: one such port.
free_port() { free_ports 1; }

# stop_servers: kills every redis-server and etcd a test started (their
# pid files under $T), continuing stopped ones first, and waits until each
# is gone; for teardown, so it runs even when the test failed.
stop_servers() {
	local f pid
	for f in "$T"/redis-*.pid "$T"/etcd-*.pid; do
		[ -e "$f" ] || continue
		pid=$(cat "$f")
		kill -CONT "$pid" 2>/dev/null || :
		kill -KILL "$pid" 2>/dev/null || :
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.02
		done
	done
}

# start_redis [ARGS...]: a redis-server on a free port in its own directory
# under $T, started from a subshell (so it is no job of the test and holds
# no bats descriptor), its pid recorded for stop_servers; sets PORT and PID
# once it answers PING.  Retries with another port if one was taken in
# between.
start_redis() {
	for _ in 1 2 3 4 5; do
		PORT=$(free_port)
		mkdir -p "$T/r$PORT"
		(
			redis-server --save '' --appendonly no --dir "$T/r$PORT" \
				--port "$PORT" --bind 127.0.0.1 --daemonize no "$@" \
				>"$T/r$PORT/log" 2>&1 3>&- &
			echo $! >"$T/redis-$PORT.pid"
		)
		PID=$(cat "$T/redis-$PORT.pid")
		for _ in $(seq 100); do
			if redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG; then
				return 0
			fi
			kill -0 "$PID" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$PID" 2>/dev/null || :
	done
	echo "redis-server did not start" >&2
	return 1
}

# start_etcd N: an etcd cluster of N members on loopback, each with a free
# client and peer port and a data directory under $T, started from a
# subshell (no job of the test, no bats descriptor), pids recorded for
# stop_servers.  Sets EPS (the client endpoints, comma-separated) and PIDS
# once every member is healthy.  Retries with other ports if one was
# taken.
start_etcd() {
	local n=$1 try i ports cluster name
	for try in 1 2 3; do
		read -ra ports <<<"$(free_ports $((2 * n)))"
		EPS="" cluster="" PIDS=""
		for ((i = 0; i < n; i++)); do
			cluster+="${cluster:+,}m$i=http://127.0.0.1:${ports[2 * i + 1]}"
			EPS+="${EPS:+,}127.0.0.1:${ports[2 * i]}"
		done
		for ((i = 0; i < n; i++)); do
			name=m$i-$try
			(
				etcd --name "m$i" --data-dir "$T/$name" \
					--listen-client-urls "http://127.0.0.1:${ports[2 * i]}" \
					--advertise-client-urls "http://127.0.0.1:${ports[2 * i]}" \
					--listen-peer-urls "http://127.0.0.1:${ports[2 * i + 1]}" \
					--initial-advertise-peer-urls "http://127.0.0.1:${ports[2 * i + 1]}" \
					--initial-cluster "$cluster" \
					--initial-cluster-token "mv-$$-$try" \
					--heartbeat-interval 50 --election-timeout 500 \
					>"$T/$name.log" 2>&1 3>&- &
				echo $! >"$T/etcd-$name.pid"
			)
			PIDS+="${PIDS:+ }$(cat "$T/etcd-$name.pid")"
		done
		for _ in $(seq 150); do
			if etcdctl --endpoints "$EPS" --dial-timeout 1s \
				endpoint health >/dev/null 2>&1; then
				return 0
			fi
			sleep 0.1
		done
		# shellcheck disable=SC2086 # a list of pids
		kill -KILL $PIDS 2>/dev/null || :
	done
	echo "etcd did not start" >&2
	return 1
}
