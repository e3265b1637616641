#!/usr/bin/env bats
# mv-exec: the embedded store, a command SUT, signals and hostile input.

load common
load examples
load servers

setup() {
	mv_setup
	CLIENT=$BATS_TEST_DIRNAME/../../examples/client.py
}

@test "every workload runs on the embedded store into a valid history" {
	local w
	for w in register cas-register kv stream set counter; do
		mv-gen -w "$w" -k 3 -n 500 -s 4 | mv-exec -c 4 -s 4 >"$T/h"
		run -0 well_formed "$T/h"
		assert_output --partial "invoke=500"
		if command -v mv-check >/dev/null; then
			run -0 --separate-stderr mv-check "$T/h"
		fi
	done
}

@test "the meta line gets an exec member" {
	mv-gen -n 3 -s 9 | mv-exec -c 2 -s 9 >"$T/h"
	run -0 head -1 "$T/h"
	assert_output --regexp '^\{"type":"meta","gen":\{.*\},"exec":\{"mv":"0.1.0","sut":"mem","workload":"register","concurrency":2,"seed":9,'
	printf '{"type":"op","f":"read","key":"r0"}\n' | mv-exec >"$T/h"
	run -0 head -1 "$T/h"
	assert_output --regexp '^\{"type":"meta","exec":\{'
}

@test "one seed gives one interleaving" {
	mv-gen -k 2 -n 300 | mv-exec -c 8 -s 3 | sed 's/"time".*//' >"$T/a"
	mv-gen -k 2 -n 300 | mv-exec -c 8 -s 3 | sed 's/"time".*//' >"$T/b"
	mv-gen -k 2 -n 300 | mv-exec -c 8 -s 4 | sed 's/"time".*//' >"$T/c"
	cmp "$T/a" "$T/b"
	run -1 cmp -s "$T/a" "$T/c"
}

@test "operations overlap with -c 8" {
	mv-gen -n 200 | mv-exec -c 8 >"$T/h"
	# Some invocation follows another with no completion between.
	# shellcheck disable=SC2016
	run -0 awk -F'"type":"' 'NR > 1 { t = substr($2, 1, 3);
	    if (t == "inv" && last == "inv") n++; last = t }
	    END { print n + 0 }' "$T/h"
	[ "$output" -gt 10 ]
}

@test "each injected bug is found by mv-check" {
	command -v mv-check >/dev/null || skip "no mv-check"
	local c w b
	for c in register:stale-read register:lost-write stream:lost-update \
	    stream:duplicate-append stream:torn-batch set:lost-write; do
		w=${c%%:*} b=${c#*:}
		mv-gen -w "$w" -k 2 -n 3000 -s 7 |
			mv-exec -c 5 -s 7 --bug "$b" >"$T/h"
		run -0 well_formed "$T/h"
		run -1 --separate-stderr mv-check "$T/h"
		assert_output --partial '"anomaly":"'"$b"'"'
	done
}

@test "nemesis events pass through with index and time" {
	{
		printf '{"type":"op","f":"write","key":"r0","value":1}\n'
		printf '{"type":"info","process":"nemesis","f":"pause","value":{"targets":[1],"undo":"resume"}}\n'
		printf '{"type":"op","f":"read","key":"r0"}\n'
	} | mv-exec -c 1 >"$T/h"
	run -0 well_formed "$T/h"
	run -0 grep nemesis "$T/h"
	assert_output --regexp '^\{"index":2,"type":"info","process":"nemesis","f":"pause","value":\{"targets":\[1\],"undo":"resume"\},"time":[0-9]+\}$'
}

@test "--limit stops early and every op completes" {
	mv-gen -n 1000 | mv-exec -n 10 >"$T/h"
	run -0 well_formed "$T/h"
	assert_output 'invoke=10 ok=10'
}

@test "SIGINT at a random moment leaves a well-formed history" {
	mv-gen -n 100000 -r 2000 -k 3 >"$T/ops"
	mv-exec --pace -c 4 "$T/ops" >"$T/h" &
	local pid=$!
	sleep 0.$((RANDOM % 4 + 2))
	kill -INT "$pid"
	local rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 130
	run -0 well_formed "$T/h"
	run -0 mv-check "$T/h"
}

@test "SIGINT with operations in flight closes each with info" {
	mv-gen -n 50 >"$T/ops"
	mv-exec -c 3 --sut 'cmd:cat >/dev/null' "$T/ops" >"$T/h" &
	local pid=$! rc=0
	# Wait until the three invocations are out, then interrupt.
	for _ in $(seq 100); do
		[ "$(grep -c '"invoke"' "$T/h")" -ge 3 ] && break
		sleep 0.05
	done
	kill -INT "$pid"
	wait "$pid" || rc=$?
	assert_equal "$rc" 130
	run -0 well_formed "$T/h"
	assert_output 'info=3 invoke=3'
	run -0 mv-check "$T/h"
}

@test "SIGTERM exits 143 with the history closed" {
	mv-gen -n 100000 -r 1000 | mv-exec --pace -c 3 >"$T/h" &
	local pid=$!
	sleep 0.3
	kill -TERM "$pid"
	local rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 143
	run -0 well_formed "$T/h"
}

@test "the example client works as a command SUT" {
	local w
	for w in register kv cas-register counter set; do
		mv-gen -w "$w" -k 2 -n 200 |
			mv-exec -c 4 --sut "cmd:$CLIENT" --timeout 10s >"$T/h"
		run -0 well_formed "$T/h"
		assert_output --partial 'invoke=200'
		refute_output --partial 'info='
		if command -v mv-check >/dev/null; then
			run -0 --separate-stderr mv-check "$T/h"
		fi
	done
}

@test "a command SUT that dies closes the open ops with sut-died" {
	run -2 --separate-stderr sh -c "mv-gen -n 50 |
	    mv-exec -c 3 --sut 'cmd:head -n 2 >/dev/null; exit 3' >$T/h"
	assert_equal "$stderr" 'mv-exec: the SUT exited before the run was over (status 3)'
	run -0 well_formed "$T/h"
	assert_output 'info=3 invoke=3'
	run -0 grep -c '"error":"sut-died"' "$T/h"
}

@test "a silent command SUT times out into info" {
	mv-gen -n 4 | mv-exec -c 2 --sut 'cmd:cat >/dev/null' \
	    --timeout 100ms >"$T/h"
	run -0 well_formed "$T/h"
	assert_output 'info=4 invoke=4'
	run -0 grep -c '"error":"timeout"' "$T/h"
	assert_output 4
	# A process whose op ended info goes on under p + c.
	run -0 grep -c '"process":[23],' "$T/h"
}

@test "a command SUT answering garbage is trouble" {
	run -2 --separate-stderr sh -c "mv-gen -n 5 |
	    mv-exec --sut 'cmd:echo garbage; cat >/dev/null' >$T/h"
	[[ $stderr == 'mv-exec: SUT: not a completion'* ]]
	run -0 well_formed "$T/h"
}

@test "hostile input: FILE:LINE messages and exit 2" {
	printf '{"type":"op","f":"write","key":"r0","value":1}\n{"type":"op",,}\n' >"$T/in"
	run -2 --separate-stderr mv-exec "$T/in"
	assert_equal "$stderr" "mv-exec: $T/in:2: invalid JSON: expected a string key at column 14"
	printf '%s\n' "$output" >"$T/h"
	run -0 well_formed "$T/h"
	printf '{"type":"op","f":7}\n' >"$T/in"
	run -2 --separate-stderr mv-exec "$T/in"
	assert_equal "$stderr" "mv-exec: $T/in:1: \"f\" is not a string"
	printf '{"type":"op","f":"write","key":"r0","value":"x"}\n' >"$T/in"
	run -2 --separate-stderr mv-exec "$T/in"
	assert_equal "$stderr" "mv-exec: $T/in:1: \"value\" of write is not an integer"
	printf '{"type":"op","f":"frob","key":"r0"}\n' >"$T/in"
	run -2 --separate-stderr mv-exec "$T/in"
	assert_equal "$stderr" "mv-exec: $T/in:1: \"f\" \"frob\" is not an operation of the register workload"
	printf '{"type":"invoke","process":0,"f":"read"}\n' >"$T/in"
	run -2 --separate-stderr mv-exec "$T/in"
	assert_equal "$stderr" "mv-exec: $T/in:1: expected an op record (from mv-gen)"
	run -2 --separate-stderr mv-exec "$T/nonexistent"
	assert_equal "$stderr" "mv-exec: $T/nonexistent: No such file or directory"
}

@test "bad options exit 2 with one line" {
	local args
	for args in "-c 0" "--bug nope" "--bug-rate 3" "--sut tcp:x" \
	    "--timeout x" "-w nope" "--bogus" "a b"; do
		# shellcheck disable=SC2086
		run -2 --separate-stderr mv-exec $args </dev/null
		assert_output ''
		[ "${#stderr_lines[@]}" -eq 1 ] || fail "$args: $stderr"
		[[ $stderr == mv-exec:* ]]
	done
	run -0 mv-exec --version
	assert_output 'mv-exec mv 0.1.0'
}

@test "stdout to /dev/full exits 2" {
	run -2 --separate-stderr sh -c 'mv-gen -n 1000 | mv-exec >/dev/full'
	assert_equal "$stderr" 'mv-exec: stdout: No space left on device'
}

@test "the examples of the page run" {
	run_page_examples mv-exec.1
}

@test "each completion is out before the next op arrives on a slow pipe" {
	local op='{"type":"op","f":"write","key":"r0","value":1}' rc=1
	mkfifo "$T/in"
	mv-exec -c 1 <"$T/in" >"$T/h" &
	local pid=$!
	exec 5>"$T/in"
	echo "$op" >&5
	for _ in $(seq 100); do
		if grep -q '"type":"ok"' "$T/h"; then
			rc=0
			break
		fi
		sleep 0.05
	done
	exec 5>&-
	wait "$pid"
	assert_equal "$rc" 0
}

@test "the demo (make demo) gives every verdict it expects" {
	run -0 sh "$BATS_TEST_DIRNAME/../../examples/demo.sh" "$MV_BIN"
	assert_output --partial '20 of 20 valid'
	assert_output --partial 'demo: every verdict as expected'
}

@test "a command SUT's node clock goes into ovc.obs and ovc.src" {
	mv-gen -w kv -n 20 | mv-exec -c 2 --sut "cmd:$CLIENT" >"$T/h"
	run -0 grep -c '"type":"ok".*"src":"client.py"' "$T/h"
	assert_output 20
	run -0 grep -c '"type":"invoke".*"src":"exec"' "$T/h"
	assert_output 20
	# A node time that is not an integer is ignored, not trusted.
	# shellcheck disable=SC2016 # the inner shell expands
	mv-gen -n 2 | mv-exec --sut 'cmd:while read -r l; do
	    id=${l#*\"id\":}; echo "{\"id\":${id%%,*},\"type\":\"ok\",\"node\":\"n\",\"node_time\":\"x\"}"; done' >"$T/h"
	run -1 grep '"src":"n"' "$T/h"
}

@test "--info-rate: a share of ops end info, applied or not, still linearizable" {
	mv-gen -w cas-register -k 1 -n 200 -s 3 | mv-exec -c 5 -s 3 >"$T/a"
	run -1 grep -c '"error":"injected"' "$T/a"
	mv-gen -w cas-register -k 1 -n 200 -s 3 |
	    mv-exec -c 5 -s 3 --info-rate 0.2 >"$T/h"
	run -0 grep -c '"error":"injected"' "$T/h"
	[ "$output" -ge 20 ] && [ "$output" -le 60 ]
	run -0 grep -c '"info_rate":0.2' "$T/h"
	if command -v mv-check >/dev/null; then
		run -0 mv-check -q "$T/h"
	fi
	run -2 --separate-stderr mv-exec --info-rate 2 /dev/null
}

@test "a command SUT's completion is written when it comes, not at the next input line" {
	# One op, then two seconds of silence on the input: the ok must be
	# stamped at once, not when the second op arrives.
	# shellcheck disable=SC2016 # the inner shell expands
	{
		echo '{"type":"op","f":"write","key":"r","value":1}'
		sleep 2
		echo '{"type":"op","f":"read","key":"r"}'
	} | mv-exec -w register -c 2 --sut 'cmd:while read -r l; do
	    id=${l#*\"id\":}; echo "{\"id\":${id%%,*},\"type\":\"ok\",\"value\":1}"; done' >"$T/h"
	run -0 python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])][1:]
ok = [e for e in ev if e["type"] == "ok" and e["f"] == "write"][0]
inv = [e for e in ev if e["type"] == "invoke" and e["f"] == "read"][0]
assert ok["time"] < 1500000000, ok["time"]
assert ok["index"] < inv["index"], (ok, inv)
' "$T/h"
}

@test "a fault event read while ops are in flight is written once" {
	# The server answers after half a second; the fault event comes while
	# the op waits, and the input then pauses: it must not be passed twice.
	# shellcheck disable=SC2016 # the inner shell expands
	{
		echo '{"type":"op","f":"write","key":"r","value":1}'
		sleep 0.2
		echo '{"type":"info","process":"nemesis","f":"kill","value":null}'
		sleep 1
		echo '{"type":"op","f":"read","key":"r"}'
	} | mv-exec -w register -c 2 --sut 'cmd:while read -r l; do sleep 0.5
	    id=${l#*\"id\":}; echo "{\"id\":${id%%,*},\"type\":\"ok\",\"value\":1}"; done' >"$T/h"
	run -0 grep -c '"process":"nemesis"' "$T/h"
	assert_output 1
	run -0 grep -c '"type":"ok"' "$T/h"
	assert_output 2
}
