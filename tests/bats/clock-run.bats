#!/usr/bin/env bats
# Clock faults in run schedules: mv-nemesis run --faults clock-jump (and
# the other clock kinds) on the nodes of a cluster whose description has a
# "clock" method, seen in an mv-exec history of Redis; the reset after a
# SIGKILL by heal --undo-log and heal --cluster; efficacy that is checked,
# not assumed; bad usage.  The cluster tests need root, Redis and jq; each
# brings up its own cluster and takes it down, in teardown too.

load common
load netns

setup() {
	mv_setup
	SHIM=$(cd "$MV_BIN/../lib" && pwd)/libmvtime.so
	NP=
}

# Whatever a test left: the run it killed, the cluster (its undo log).
teardown() {
	if [ -n "$NP" ]; then
		kill -KILL "$NP" 2>/dev/null || :
		wait "$NP" 2>/dev/null || :
	fi
	exec 5>&- || :
	heal_undo_logs
}

need_cluster() {
	need_root
	need_redis
	[ -f "$SHIM" ] || skip "no shim at $SHIM"
}

# cluster ID NODES...: a Redis cluster under run id ID, every node started
# with the shim and its clock file in its data directory, except a node
# named "plain", which has the same clock method but runs without the
# shim; sets S (state), CL (client namespace) and R (the run directory).
cluster() {
	local id=$1 nodes='' n
	shift
	for n in "$@"; do
		nodes+="${nodes:+, }{\"name\": \"$n\"$([ "$n" != plain ] || echo ', "start": ["redis-server", "--bind", "{addr}", "--dir", "{dir}", "--save", "", "--protected-mode", "no"]')}"
	done
	cat >"$T/c.json" <<EOF
{
  "dir": "$T",
  "start": ["env", "LD_PRELOAD=$SHIM", "MV_CLOCK_FILE={dir}/clock",
    "redis-server", "--bind", "{addr}", "--dir", "{dir}", "--save", "",
    "--protected-mode", "no"],
  "clock": {"file": "{dir}/clock"},
  "ready": ["redis-cli", "-h", "{addr}", "ping"],
  "nodes": [$nodes]
}
EOF
	up_as "$id" "$T/c.json"
	R=$(jq -r .run.dir "$S")
}

# The offset, in whole seconds, that the shim reads from clock file $1
# (give or take one: the two clocks are read a moment apart).
offset() {
	echo $(($(MV_CLOCK_FILE=$1 LD_PRELOAD=$SHIM date +%s) - $(date +%s)))
}

# bg_run ARGS...: mv-nemesis run ARGS in the background ($NP), its input a
# fifo held open on fd 5, its output in $T/out; waits (5 s at most) for
# its first start-clock event.
bg_run() {
	rm -f "$T/in" "$T/out"
	mkfifo "$T/in"
	mv-nemesis run "$@" <"$T/in" >"$T/out" &
	NP=$!
	exec 5>"$T/in"
	for _ in $(seq 50); do
		grep -q start-clock "$T/out" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

@test "clock run: bad usage is a one-line error, status 2, nothing changed" {
	# A state file by hand: the checks come before anything is touched.
	cat >"$T/s.json" <<EOF
{"start": "true", "nodes": [{"name": "a"}, {"name": "b",
  "clock": {"faketime": "ft"}}],
 "run": {"id": "x1", "switch": "mvx1-sw", "bridge": "br0", "dir": "$T",
  "undo_log": "$T/cu", "state": "$T/s.json"}}
EOF
	run -2 --separate-stderr mv-nemesis run --faults clock-jump --pid 1 \
		</dev/null
	assert_equal "$stderr" 'mv-nemesis: clock-jump needs --cluster'
	run -2 --separate-stderr mv-nemesis run --cluster "$T/s.json" \
		--node a --faults pause,clock-jump --undo-log "$T/u" </dev/null
	assert_equal "$stderr" "mv-nemesis: clock-jump: $T/s.json: no node of --node has a clock method (mv-cluster(5) \"clock\")"
	run -2 --separate-stderr mv-nemesis run --cluster "$T/s.json" \
		--faults clock-strobe --undo-log "$T/u" </dev/null
	assert_equal "$stderr" "mv-nemesis: clock-strobe: $T/s.json: no node has a shim clock file (libfaketime cannot strobe)"
	# The check is made before --swarm drops any fault.
	run -2 --separate-stderr mv-nemesis run --cluster "$T/s.json" \
		--node a --swarm -s 5 --faults pause,clock --undo-log "$T/u" \
		</dev/null
	assert_equal "$stderr" "mv-nemesis: clock: $T/s.json: no node of --node has a clock method (mv-cluster(5) \"clock\")"
	# A cluster's undo log would not heal with clock lines in it.
	printf 'mv-cluster-undo 1 x1\n' >"$T/cul"
	run -2 --separate-stderr mv-nemesis run --cluster "$T/s.json" \
		--faults clock-jump --undo-log "$T/cul" </dev/null
	assert_equal "$stderr" "mv-nemesis: $T/cul: a cluster's undo log: give the run its own --undo-log"
	assert_equal "$(cat "$T/cul")" 'mv-cluster-undo 1 x1'
	run -2 --separate-stderr mv-nemesis run --cluster "$T/s.json" \
		--faults clock --max-skew soon </dev/null
	assert_equal "$stderr" "mv-nemesis: invalid value for --max-skew: 'soon' (1ms to 8784h)"
	run -2 --separate-stderr mv-nemesis run --cluster "$T/s.json" \
		--faults clock --max-period +1s </dev/null
	assert_equal "$stderr" "mv-nemesis: invalid value for --max-period: '+1s' (1ms to 60s)"
	run -2 --separate-stderr mv-nemesis run --cluster "$T/s.json" \
		--faults clock-warp </dev/null
	assert_equal "$stderr" "mv-nemesis: invalid value for --faults: 'clock-warp'"
	echo '{"start": "true", "clock": {"file": "a", "faketime": "b"},
	    "nodes": [{"name": "a"}]}' >"$T/d.json"
	run -2 --separate-stderr mv-nemesis run --cluster "$T/d.json" \
		</dev/null
	assert_equal "$stderr" "mv-nemesis: $T/d.json: clock: not an object with one of \"file\" and \"faketime\""
	echo '{"start": "true", "nodes": [{"name": "a",
	    "clock": {"file": "{dir}/{nope}"}}]}' >"$T/d.json"
	run -2 --separate-stderr mv-nemesis run --cluster "$T/d.json" \
		</dev/null
	assert_equal "$stderr" "mv-nemesis: $T/d.json: nodes[0]: clock: unknown placeholder {nope}"
	assert_equal "$output" ''
	# Nothing was logged or made.
	[ ! -e "$T/u" ] && [ ! -e "$T/ft" ] && [ ! -e "$T/cu" ]
}

# The issue's case through the pipeline: a key with a 20 s TTL, read ten
# times a second, vanishes at the jump 1 s in, long before its time.
@test "clock run: a clock-jump of Redis expires a TTL key early, in the history" {
	need_cluster
	cluster "ck$$a" r1
	[ "$(ip netns exec "$CL" redis-cli -h "$(jq -r '.nodes[0].addr' "$S")" \
		set r0 7 PX 20000)" = OK ]
	# Every tool of the pipeline must exit 0 (LeakSanitizer too).
	set -o pipefail
	mv-gen -w register -k 1 --read-ratio 1 -r 10 -d 2s -s 1 |
		mv-nemesis run --cluster "$S" -s 1 --schedule periodic \
			--interval 1s --duration 500ms --faults clock-jump \
			--max-skew +60s --undo-log "$T/ru" |
		mv-exec --cluster "$S" -c 1 --pace \
			--sut 'redis://{addr:r1}:6379' >"$T/h"
	# The meta line says how, the events what and with what effect.
	run -0 jq -c 'select(.type == "meta") | .nemesis.max_skew' "$T/h"
	assert_output '"+60000ms"'
	run -0 jq -sc 'map(select(.f == "start-clock"))[0].value |
	    [.kind, .effective, (.targets[] | .node, .method,
	     (.offset >= 30000000000 and .offset <= 60000000000), .was,
	     (.pids | length), .effective)]' "$T/h"
	assert_output '["jump",true,"r1","shim",true,0,1,true]'
	run -0 jq -sc 'map(select(.f == "stop-clock"))[0].value |
	    [.kind, .effective, (.targets[] | .offset, .effective)]' "$T/h"
	assert_output '["jump",true,0,true]'
	# "TIME VALUE" of each read around the jump: 7 until it, null after.
	# The event is stamped when mv-exec reads it, after the clock moved
	# and its efficacy was checked: reads of the last 300 ms before it
	# may go either way.
	jump=$(jq -sr 'map(select(.f == "start-clock"))[0].time' "$T/h")
	jq -r 'select(.type == "ok" and .f == "read") | "\(.time) \(.value)"' \
		"$T/h" >"$T/reads"
	awk -v j="$jump" '
	    $1 < j - 300000000 && $2 == "7" { before++ }
	    $1 < j - 300000000 && $2 != "7" { early++ }
	    $1 > j && $2 == "null" { after++; last = $1 }
	    $1 > j && $2 != "null" { back++ }
	    END { printf "before=%d early=%d after=%d back=%d\n",
		before, early, after, back
	      # Every read long before the 20 s TTL ends by our clock.
	      exit !(before >= 5 && early == 0 && after >= 5 && back == 0 &&
		j > 500000000 && last < 6000000000) }' "$T/reads"
	# Nothing left behind: the clock is back, the run's log gone.
	off=$(offset "$R/r1/clock")
	[ "$off" -ge -1 ] && [ "$off" -le 1 ]
	[ ! -e "$T/ru" ]
	down
}

@test "clock run: heal resets a clock after SIGKILL, the run itself on SIGTERM; a node without the shim is not effective" {
	need_cluster
	cluster "ck$$b" r1 plain
	# The node whose server never maps its clock file: said, not assumed.
	run -0 --separate-stderr sh -c "sleep 0.6 | mv-nemesis run \
		--cluster '$S' --node plain --schedule periodic \
		--interval 100ms --duration 200ms --faults clock-skew \
		--undo-log '$T/pu'"
	run -0 jq -sc 'map(select(.f == "start-clock"))[0].value |
	    [.effective, (.targets[] | .node, .pids, .effective,
	     (.reason | test("no process of the node maps")))]' <<<"$output"
	assert_output '[false,"plain",[],false,true]'
	# A jump, then SIGKILL: the undo log named the file before it moved.
	bg_run --cluster "$S" --node r1 --schedule periodic --interval 100ms \
		--duration 60s --faults clock-jump --max-skew +1h \
		--undo-log "$T/ku"
	run -0 cat "$T/ku"
	assert_output "clock $R/r1/clock"
	kill -KILL "$NP"
	wait "$NP" || :
	NP=
	off=$(offset "$R/r1/clock")
	[ "$off" -ge 1799 ] && [ "$off" -le 3601 ]
	run -0 --separate-stderr mv-nemesis heal --undo-log "$T/ku"
	assert_output '{"type":"info","process":"nemesis","f":"heal","value":{"continued":0,"clocks":1},"time":0}'
	[ ! -e "$T/ku" ]
	off=$(offset "$R/r1/clock")
	[ "$off" -ge -1 ] && [ "$off" -le 1 ]
	# The server itself is back on time.
	t=$(ip netns exec "$CL" redis-cli -h "$(jq -r '.nodes[0].addr' "$S")" \
		time | head -1)
	[ $((t - $(date +%s))) -ge -1 ] && [ $((t - $(date +%s))) -le 1 ]
	# SIGTERM: the run resets the clock itself and dies of the signal,
	# its lines out of the undo log (gone, as nothing else was in it).
	bg_run --cluster "$S" --node r1 --schedule periodic --interval 100ms \
		--duration 60s --faults clock-jump --max-skew -1h \
		--undo-log "$T/tu"
	[ "$(offset "$R/r1/clock")" -le -1799 ]
	kill -TERM "$NP"
	st=0
	wait "$NP" || st=$?
	NP=
	[ "$st" -eq 143 ]
	off=$(offset "$R/r1/clock")
	[ "$off" -ge -1 ] && [ "$off" -le 1 ]
	[ ! -e "$T/tu" ]
	# Again, healed by heal --cluster: every node's clock file.
	bg_run --cluster "$S" --node r1 --schedule periodic --interval 100ms \
		--duration 60s --faults clock-skew --max-skew -1h \
		--undo-log "$T/ku"
	kill -KILL "$NP"
	wait "$NP" || :
	NP=
	[ "$(offset "$R/r1/clock")" -le -1799 ]
	run -0 --separate-stderr mv-nemesis heal --cluster "$S"
	assert_equal "$(jq -c .value.clocks <<<"$output")" 2
	off=$(offset "$R/r1/clock")
	[ "$off" -ge -1 ] && [ "$off" -le 1 ]
	down
}
