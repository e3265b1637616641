#!/usr/bin/env bats
# mv-check: verdicts for every model, anomaly names, budgets, bad input.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load examples
bats_require_minimum_version 1.5.0

setup() {
	MV_BIN=${MV_BIN:-$BATS_TEST_DIRNAME/../../build/bin}
	PATH=$MV_BIN:$PATH
	T=$BATS_TEST_TMPDIR
}

# op PROC F KEY [VALUE]: an invocation line; done TYPE PROC F KEY [VALUE].
op() {
	printf '{"type":"invoke","process":%s,"f":"%s","key":"%s"%s}\n' \
	    "$1" "$2" "$3" "${4:+,\"value\":$4}"
}
done_() {
	printf '{"type":"%s","process":%s,"f":"%s","key":"%s"%s}\n' \
	    "$1" "$2" "$3" "$4" "${5:+,\"value\":$5}"
}

# A register history: write 1, write 2, then reads returning $1 and $2.
two_writes() {
	op 0 write r0 1
	done_ ok 0 write r0 1
	op 0 write r0 2
	done_ ok 0 write r0 2
	op 1 read r0
	done_ ok 1 read r0 "$1"
	op 1 read r0
	done_ ok 1 read r0 "$2"
}

# Hard for WGL: N writes that never complete, then reads of 1..N and 1.
hard() {
	local v
	for v in $(seq 1 "$1"); do op "$v" write r0 "$v"; done
	for v in $(seq 1 "$1") 1; do
		op 0 read r0
		done_ ok 0 read r0 "$v"
	done
}

# Skips a test that needs mv-gen and mv-exec when they are not built.
need_pipeline() {
	if ! command -v mv-gen >/dev/null || ! command -v mv-exec >/dev/null
	then
		skip 'mv-gen or mv-exec not built'
	fi
}

@test "--help and --version" {
	run -0 --separate-stderr mv-check --help
	assert_output --partial 'usage: mv-check [-q] [-m model]'
	run -0 --separate-stderr mv-check --version
	assert_output 'mv-check mv 0.1.0'
}

@test "a bad option or model is trouble" {
	run -2 --separate-stderr mv-check --bogus
	assert_output ''
	[[ $stderr == *usage:* ]]
	run -2 --separate-stderr mv-check -m nosuch /dev/null
	assert_output ''
	[ "$stderr" = 'mv-check: unknown model: nosuch' ]
	run -2 --separate-stderr mv-check --time-limit soon /dev/null
	[[ $stderr == *'--time-limit'* ]]
	run -2 --separate-stderr mv-check --memory-limit lots /dev/null
	[[ $stderr == *'--memory-limit'* ]]
}

@test "register: valid history" {
	two_writes 2 2 >"$T/h"
	run -0 --separate-stderr mv-check -m register "$T/h"
	assert_output --regexp '^\{"valid":true,"model":"register","stats":\{"keys":1,"ops":4,'
	[ "$stderr" = 'mv-check: valid (register, 1 keys, 4 ops)' ]
}

@test "register: empty history is valid" {
	run -0 --separate-stderr mv-check /dev/null
	assert_output --partial '"valid":true'
}

@test "register: stale read" {
	two_writes 2 1 >"$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	assert_output --partial '"valid":false,"model":"cas-register","anomaly":"stale-read","key":"r0"'
	assert_output --partial '{"index":7,"line":8,"process":1,"type":"ok","f":"read","value":1}'
	assert_output --partial '"prefix":3,'
	[ "$stderr" = 'mv-check: invalid: stale-read on key r0: read by process 1 (line 8) returned 1 after write of 2 (line 4) completed' ]
}

@test "register: lost write" {
	two_writes 1 1 >"$T/h"
	run -1 --separate-stderr mv-check -m register "$T/h"
	assert_output --partial '"anomaly":"lost-write"'
	[[ $stderr == 'mv-check: invalid: lost-write on key r0: write by process 0 (line 4) of 2 completed but no read returned it'* ]]
}

@test "register: a read of null after a write is invalid" {
	two_writes 2 null >"$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	assert_output --partial '"anomaly":"stale-read"'
	run -0 --separate-stderr mv-check --nil-unknown "$T/h"
}

@test "register: an absent result is unknown and matches anything" {
	two_writes 2 '' >"$T/h"
	run -0 --separate-stderr mv-check "$T/h"
	assert_output --partial '"valid":true'
}

@test "register: an info write may have happened" {
	{
		op 0 write r0 1; done_ ok 0 write r0 1
		op 1 write r0 2; done_ info 1 write r0
		op 2 read r0; done_ ok 2 read r0 2
	} >"$T/h"
	run -0 --separate-stderr mv-check "$T/h"
	assert_output --partial '"valid":true'
}

@test "register: an info write may never have happened" {
	{
		op 0 write r0 1; done_ ok 0 write r0 1
		op 1 write r0 2; done_ info 1 write r0
		op 2 read r0; done_ ok 2 read r0 1
	} >"$T/h"
	run -0 --separate-stderr mv-check "$T/h"
	assert_output --partial '"valid":true'
}

@test "register: an info write takes effect once" {
	{
		op 0 write r0 1; done_ ok 0 write r0 1
		op 1 write r0 2; done_ info 1 write r0
		op 2 read r0; done_ ok 2 read r0 2
		op 2 read r0; done_ ok 2 read r0 1
	} >"$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	assert_output --partial '"valid":false'
}

@test "register: an invocation without completion is like info" {
	{
		op 0 write r0 1; done_ ok 0 write r0 1
		op 1 write r0 2
		op 2 read r0; done_ ok 2 read r0 2
	} >"$T/h"
	run -0 --separate-stderr mv-check "$T/h"
}

@test "register: a failed write never happened" {
	{
		op 0 write r0 1; done_ ok 0 write r0 1
		op 1 write r0 2; done_ fail 1 write r0
		op 2 read r0; done_ ok 2 read r0 1
	} >"$T/h"
	run -0 --separate-stderr mv-check "$T/h"
	sed -i '$s/"value":1/"value":2/' "$T/h"
	run -1 --separate-stderr mv-check "$T/h"
}

@test "register: keys are independent; nemesis events are ignored" {
	{
		op 0 write r0 1; done_ ok 0 write r0 1
		echo '{"type":"info","process":"nemesis","f":"pause","value":{"targets":[1]}}'
		op 1 read r1; done_ ok 1 read r1 null
		op 1 read r0; done_ ok 1 read r0 1
	} >"$T/h"
	run -0 --separate-stderr mv-check "$T/h"
	[ "$stderr" = 'mv-check: valid (cas-register, 2 keys, 3 ops)' ]
}

@test "cas-register: valid, and two cas from one write are a lost update" {
	{
		op 0 write r0 1; done_ ok 0 write r0 1
		op 1 cas r0 '[1,2]'; done_ ok 1 cas r0 '[1,2]'
		op 2 cas r0 '[1,3]'; done_ fail 2 cas r0 '[1,3]'
		op 0 read r0; done_ ok 0 read r0 2
	} >"$T/h"
	run -0 --separate-stderr mv-check -m cas-register "$T/h"
	{
		op 0 write r0 1; done_ ok 0 write r0 1
		op 1 cas r0 '[1,2]'
		op 2 cas r0 '[1,3]'
		done_ ok 1 cas r0 '[1,2]'
		done_ ok 2 cas r0 '[1,3]'
		op 0 read r0; done_ ok 0 read r0 3
	} >"$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	assert_output --partial '"anomaly":"lost-update"'
	[[ $stderr == *'cas by process 1 (line 5) of [1,2] and cas by process 2 (line 6) of [1,3] both succeeded'* ]]
}

@test "cas-register: a cas from an overwritten value is a lost update" {
	two_writes 2 2 >"$T/h"
	{ op 2 cas r0 '[1,3]'; done_ ok 2 cas r0 '[1,3]'; } >>"$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	assert_output --partial '"anomaly":"lost-update"'
	[ "$stderr" = 'mv-check: invalid: lost-update on key r0: cas by process 2 (line 10) of [1,3] succeeded after write of 2 (line 4) completed' ]
}

@test "kv: put, append, get" {
	{
		op 0 put k0 '"a"'; done_ ok 0 put k0
		op 1 append k0 '"b"'; done_ ok 1 append k0
		op 0 get k0; done_ ok 0 get k0 '"ab"'
		op 0 get k1; done_ ok 0 get k1 null
		op 0 append k1 '"x"'; done_ ok 0 append k1
		op 0 get k1; done_ ok 0 get k1 '"x"'
	} >"$T/h"
	run -0 --separate-stderr mv-check "$T/h"
	[ "$stderr" = 'mv-check: valid (kv, 2 keys, 6 ops)' ]
	sed -i 's/"value":"ab"/"value":"ba"/' "$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	assert_output --partial '"model":"kv","anomaly":"nonlinearizable","key":"k0"'
}

@test "counter: bounds of a read" {
	{
		op 0 add c0 2; op 1 read c0
		done_ ok 0 add c0 2; done_ ok 1 read c0 0
		op 0 add c0 3; done_ ok 0 add c0 3
		op 1 read c0; done_ ok 1 read c0 5
	} >"$T/h"
	run -0 --separate-stderr mv-check "$T/h"
	[ "$stderr" = 'mv-check: valid (counter, 1 keys, 4 ops)' ]
	sed -i '$s/"value":5/"value":2/' "$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	assert_output --partial '"anomaly":"lost-write"'
	sed -i '$s/"value":2/"value":9/' "$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	assert_output --partial '"anomaly":"nonlinearizable"'
}

@test "counter: a later read seeing the add makes it a stale read" {
	{
		op 0 add c0 2; done_ ok 0 add c0 2
		op 1 read c0; done_ ok 1 read c0 0
		op 1 read c0; done_ ok 1 read c0 2
	} >"$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	assert_output --partial '"model":"counter","anomaly":"stale-read"'
}

@test "set: adds and reads" {
	{
		op 0 add t0 1; done_ ok 0 add t0 1
		op 0 add t0 2; op 1 read t0; done_ ok 1 read t0 '[1]'
		done_ ok 0 add t0 2
		op 1 read t0; done_ ok 1 read t0 '[2,1]'
	} >"$T/h"
	run -0 --separate-stderr mv-check "$T/h"
	[ "$stderr" = 'mv-check: valid (set, 1 keys, 4 ops)' ]
	sed -i '$s/"value":\[2,1\]/"value":[2]/' "$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	assert_output --partial '"model":"set","anomaly":"lost-write"'
	op 1 read t0 >>"$T/h"
	done_ ok 1 read t0 '[1,2]' >>"$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	assert_output --partial '"anomaly":"stale-read"'
}

# A stream history; $1 is the last read's result.
stream_hist() {
	op 0 append s0 '{"events":["e0-0","e0-1"],"expect":"no-stream"}'
	done_ ok 0 append s0 '{"version":1}'
	op 1 read s0 '{"from":0}'
	done_ ok 1 read s0 '["e0-0","e0-1"]'
	op 0 append s0 '{"events":["e1-0"],"expect":1}'
	done_ ok 0 append s0 '{"version":2}'
	op 1 append s0 '{"events":["e2-0"],"expect":1}'
	echo '{"type":"fail","process":1,"f":"append","key":"s0","value":{"actual":2},"error":"wrong-expected-version"}'
	op 1 read s0 '{"from":1}'
	done_ ok 1 read s0 '["e0-1","e1-0"]'
	op 1 read s0 '{"from":0}'
	done_ ok 1 read s0 "$1"
}

@test "stream: valid history" {
	stream_hist '["e0-0","e0-1","e1-0"]' >"$T/h"
	run -0 --separate-stderr mv-check "$T/h"
	[ "$stderr" = 'mv-check: valid (stream, 1 keys, 6 ops)' ]
}

@test "stream: duplicate append" {
	stream_hist '["e0-0","e0-1","e1-0","e1-0"]' >"$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	assert_output --partial '"anomaly":"duplicate-append"'
	[[ $stderr == *'event "e1-0" appears twice' ]]
}

@test "stream: torn batch" {
	stream_hist '["e0-0","e1-0"]' >"$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	assert_output --partial '"anomaly":"torn-batch"'
	[[ $stderr == *'only part of the batch ["e0-0","e0-1"] of append by process 0 (line 2)' ]]
}

@test "stream: stale read and lost write" {
	stream_hist '["e0-0","e0-1"]' >"$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	assert_output --partial '"anomaly":"stale-read"'
	sed -i 's/\["e0-1","e1-0"\]/["e0-1"]/' "$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	assert_output --partial '"anomaly":"lost-write"'
}

@test "stream: lost update" {
	{
		op 0 append s0 '{"events":["a"],"expect":"any"}'
		done_ ok 0 append s0 '{"version":0}'
		op 0 append s0 '{"events":["b"],"expect":0}'
		op 1 append s0 '{"events":["c"],"expect":0}'
		done_ ok 0 append s0 '{"version":1}'
		done_ ok 1 append s0 '{"version":1}'
	} >"$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	assert_output --partial '"anomaly":"lost-update"'
	sed -i '$s/"version":1/"version":5/' "$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	[[ $stderr == *'expected version 0 and appended 1 events but reported version 5' ]]
}

@test "the model comes from the meta line" {
	{
		echo '{"type":"meta","gen":{"mv":"0.1.0","workload":"register","seed":1}}'
		op 0 cas r0 '[null,1]'; done_ ok 0 cas r0
	} >"$T/h"
	run -0 --separate-stderr mv-check "$T/h"
	assert_output --partial '"model":"register"'
}

@test "malformed input is trouble with file and line" {
	printf '%s\n{"type":"ok",,}\n' "$(op 0 read r0)" >"$T/h"
	run -2 --separate-stderr mv-check "$T/h"
	assert_output ''
	[[ $stderr == "mv-check: $T/h:2: invalid JSON"* ]]
	{ op 0 cas r0 5; done_ ok 0 cas r0; } >"$T/h"
	run -2 --separate-stderr mv-check "$T/h"
	[ "$stderr" = "mv-check: $T/h:1: cas value is not [from, to]" ]
	{ op 0 frob r0; done_ ok 0 frob r0; } >"$T/h"
	run -2 --separate-stderr mv-check -m register "$T/h"
	[ "$stderr" = "mv-check: $T/h:1: \"frob\" is not an operation of model register" ]
	run -2 --separate-stderr mv-check "$T/nonexistent"
	[[ $stderr == "mv-check: $T/nonexistent: "* ]]
}

@test "budgets: memory and time give unknown" {
	hard 12 >"$T/h"
	run -3 --separate-stderr mv-check --memory-limit 64K "$T/h"
	assert_output --partial '"valid":"unknown","model":"cas-register","budget":"memory"'
	[ "$stderr" = 'mv-check: unknown: memory limit reached on key r0' ]
	hard 16 >"$T/h"
	run -3 --separate-stderr mv-check --time-limit 1ms "$T/h"
	assert_output --partial '"budget":"time"'
	[ "$stderr" = 'mv-check: unknown: time limit reached on key r0' ]
	hard 8 >"$T/h"
	run -1 --separate-stderr mv-check "$T/h"
}

@test "several files: one verdict each, worst status" {
	two_writes 2 2 >"$T/a"
	two_writes 2 1 >"$T/b"
	run -1 --separate-stderr mv-check -q "$T/a" "$T/b"
	assert_line --index 0 --regexp "^\{\"file\":\"$T/a\",\"valid\":true"
	assert_line --index 1 --regexp "^\{\"file\":\"$T/b\",\"valid\":false"
	assert_equal "$stderr" ''
}

@test "stdout to /dev/full is trouble" {
	two_writes 2 2 >"$T/h"
	run -2 --separate-stderr sh -c "mv-check '$T/h' >/dev/full"
}

@test "the EXAMPLES give the results the page describes" {
	cd "$T"
	two_writes 2 1 >history.jsonl
	run -1 --separate-stderr mv-check history.jsonl
	run -0 --separate-stderr sh -c "mv-check -m register --time-limit 10s history.jsonl |
	    grep -o '\"anomaly\":\"[a-z-]*\"'"
	assert_output '"anomaly":"stale-read"'
	need_pipeline
	run -0 --separate-stderr sh -c 'mv-gen -w register -s 1 | mv-exec --seed 1 | mv-check'
}


@test "pipeline: every workload of a correct store is valid" {
	need_pipeline
	local w s
	for w in register cas-register kv counter set stream; do
		for s in 1 2 3; do
			run -0 --separate-stderr sh -c \
			    "mv-gen -w $w -s $s -n 1000 -k 3 | mv-exec --seed $s | mv-check"
			[[ $stderr == "mv-check: valid ($w, 3 keys, 1000 ops)" ]] ||
				fail "$w seed $s: $stderr"
		done
	done
}

# bug WORKLOAD BUG SEED: the injected bug is found and named.
bug() {
	run -1 --separate-stderr sh -c \
	    "mv-gen -w $1 -s $3 -n 2000 --batch 3 |
	    mv-exec --seed $3 --bug $2 --bug-rate 0.05 | mv-check"
	assert_output --partial "\"valid\":false,\"model\":\"$1\",\"anomaly\":\"$2\""
	[[ $stderr == "mv-check: invalid: $2 on key "* ]] || fail "$stderr"
}

@test "pipeline: injected bugs are named" {
	need_pipeline
	bug register stale-read 1
	bug register stale-read 2
	bug register lost-write 1
	bug register lost-write 2
	bug cas-register lost-update 1
	bug stream lost-update 1
	bug stream duplicate-append 3
	bug stream torn-batch 1
}

@test "the examples of the page run" {
	run_page_examples mv-check.1
}
