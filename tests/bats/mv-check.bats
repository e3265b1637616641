#!/usr/bin/env bats
# mv-check: verdicts for every model, anomaly names, budgets, bad input.

load common
load examples
load records

setup() { mv_setup; }

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
	help_and_version mv-check 'usage: mv-check [-q] [-m model]'
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
	assert_output --regexp '^\{"valid":true,"model":"register","stats":\{"keys":1,"keys_checked":1,"ops":4,'
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
	[[ $stderr == 'mv-check: invalid: stale-read on key r0: read by process 1 (line 8) returned 1 after write of 2 (line 4) completed. The longest'* ]]
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

# info_write READ...: a write of 1 ok, a write of 2 left info, then reads
# by one process returning each READ in turn.
info_write() {
	local v
	op 0 write r0 1; done_ ok 0 write r0 1
	op 1 write r0 2; done_ info 1 write r0
	for v; do op 2 read r0; done_ ok 2 read r0 "$v"; done
}

@test "register: an info write may have happened" {
	info_write 2 >"$T/h"
	run -0 --separate-stderr mv-check "$T/h"
	assert_output --partial '"valid":true'
}

@test "register: an info write may never have happened" {
	info_write 1 >"$T/h"
	run -0 --separate-stderr mv-check "$T/h"
	assert_output --partial '"valid":true'
}

@test "register: an info write takes effect once" {
	info_write 2 1 >"$T/h"
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
	[[ $stderr == 'mv-check: invalid: lost-update on key r0: cas by process 2 (line 10) of [1,3] succeeded after write of 2 (line 4) completed. The longest'* ]]
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
	[[ $stderr == *'returned event "e1-0" twice' ]]
}

@test "stream: torn batch" {
	stream_hist '["e0-0","e1-0"]' >"$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	assert_output --partial '"anomaly":"torn-batch"'
	[[ $stderr == *'only part of the batch ["e0-0","e0-1"] of append by process 0 (line 2)'* ]]
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
	sed -i -e '/"process":1/d' -e 's/"version":1/"version":5/' "$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	[[ $stderr == *'expected version 0 but its events landed from revision 5' ]]
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
	[[ $stderr == 'mv-check: unknown: memory limit reached on key r0 ('* ]]
	hard 16 >"$T/h"
	run -3 --separate-stderr mv-check --time-limit 1ms "$T/h"
	assert_output --partial '"budget":"time"'
	[[ $stderr == 'mv-check: unknown: time limit reached on key r0 ('* ]]
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

# The Knossos corpus, read where it lies (../shared/corpora, never copied
# into the project), under Knossos's conventions: a nil read is unknown,
# cas-register and multi-register start at 0, the mutex free.
@test "knossos corpus: every history gets the verdict of its folder" {
	local dir=$BATS_TEST_DIRNAME/../../../shared/corpora/knossos/data
	local f want got n=0 bad=0
	local -a opts
	[[ -d $dir ]] || skip "no Knossos corpus at ../shared/corpora/knossos"
	while IFS= read -r f; do
		case $f in
		*/cas-register/*) opts=(-m cas-register --init 0 --nil-unknown) ;;
		*/multi-register/*)
			opts=(-m multi-register --init 0 --nil-unknown) ;;
		*/mutex/*) opts=(-m mutex) ;;
		*) fail "no model for $f" ;;
		esac
		case $f in */good/*) want=0 ;; *) want=1 ;; esac
		got=0
		mv-check -q "${opts[@]}" "$f" >/dev/null 2>"$T/err" || got=$?
		n=$((n + 1))
		if [[ $got != "$want" ]]; then
			echo "disagrees: ${f#"$dir"/}: exit $got, want $want"
			cat "$T/err"
			bad=$((bad + 1))
		fi
	done < <(find "$dir" -name '*.edn' | sort)
	echo "$n histories, $bad disagree"
	((n >= 122)) || fail "only $n histories found"
	((bad == 0))
}

@test "--check: an unknown check is trouble" {
	run -2 --separate-stderr mv-check --check nosuch /dev/null
	assert_output ''
	[ "$stderr" = 'mv-check: unknown check: nosuch' ]
	run -2 --separate-stderr mv-check --bank-total lots /dev/null
	[[ $stderr == *'--bank-total'* ]]
}

@test "--check set: a lost add, a duplicated element; counts" {
	{
		op 0 add s0 1; done_ ok 0 add s0 1
		op 1 add s0 2; done_ ok 1 add s0 2
		op 2 read s0; done_ ok 2 read s0 '[1,2,2]'
		op 2 read s0; done_ ok 2 read s0 '[2]'
	} >"$T/h"
	run -1 --separate-stderr mv-check --check set "$T/h"
	assert_output --partial '"valid":false,"check":"set","anomaly":"lost"'
	assert_output --partial '"lost":1,"unexpected":0,"duplicated":1,"stale":0'
	[[ $stderr == 'mv-check: invalid: lost (set): read by process 2 (line 8) lacks 1,'* ]]
	sed -i '$s/\[2\]/[1,2]/' "$T/h"
	run -1 --separate-stderr mv-check -c set "$T/h"
	assert_output --partial '"anomaly":"duplicated"'
}

@test "--check set: the embedded store's lost-write bug loses adds" {
	need_pipeline
	mv-gen -w set -s 4 -n 400 | mv-exec --seed 4 --bug lost-write >"$T/h"
	run -1 --separate-stderr mv-check -q --check set "$T/h"
	assert_output --regexp '"anomaly":"lost".*"lost":[1-9]'
	mv-gen -w set -s 4 -n 400 | mv-exec --seed 4 --bug stale-read >"$T/h"
	run -1 --separate-stderr mv-check -q --check set "$T/h"
	assert_output --regexp '"anomaly":"stale".*"lost":0,'
}

@test "--check set, counter, sequential: bug-free seeds report nothing" {
	need_pipeline
	local s w
	for s in 1 2 3 4 5; do
		for w in set counter register kv; do
			mv-gen -w "$w" -s "$s" -n 300 | mv-exec --seed "$s" >"$T/h"
			case $w in
			set | counter) mv-check -q --check "$w" "$T/h" ;;
			*) mv-check -q --check sequential "$T/h" ;;
			esac >"$T/out" || { cat "$T/out"; fail "seed $s $w"; }
		done
	done
}

@test "--check counter: a read below the acknowledged adds" {
	{
		op 0 add c0 2; done_ ok 0 add c0 2
		op 1 read c0; done_ ok 1 read c0 1
	} >"$T/h"
	run -1 --separate-stderr mv-check --check counter "$T/h"
	assert_output --partial '"anomaly":"counter-out-of-bounds"'
	[[ $stderr == *'returned 1, outside [2, 2]'* ]]
}

@test "--check bank: wrong total and negative balance" {
	{
		op 0 transfer '' '{"from":"a","to":"b","amount":5}'
		done_ ok 0 transfer ''
		op 1 read ''; done_ ok 1 read '' '{"a":45,"b":55}'
	} | sed 's/,"key":""//' >"$T/h"
	run -0 --separate-stderr mv-check --check bank --bank-total 100 "$T/h"
	run -1 --separate-stderr mv-check --check bank --bank-total 90 "$T/h"
	assert_output --partial '"anomaly":"wrong-total"'
	sed -i '$s/45/-5/; $s/55/105/' "$T/h"
	run -1 --separate-stderr mv-check --check bank --bank-total 100 "$T/h"
	assert_output --partial '"anomaly":"negative-balance"'
}

@test "--check unique-ids: an id handed out twice" {
	{
		op 0 generate g; done_ ok 0 generate g 7
		op 1 generate g; done_ ok 1 generate g 7
	} >"$T/h"
	run -1 --separate-stderr mv-check --check unique-ids "$T/h"
	assert_output --partial '"anomaly":"duplicate-id"'
}

@test "--check sequential and causal: store buffering" {
	{
		op 0 write x 1; op 1 write y 1
		done_ ok 0 write x 1; done_ ok 1 write y 1
		op 0 read y; op 1 read x
		done_ ok 0 read y null; done_ ok 1 read x null
	} >"$T/h"
	run -1 --separate-stderr mv-check -c sequential "$T/h"
	assert_output --partial '"check":"sequential","model":"cas-register","anomaly":"nonsequential"'
	for c in causal cc ccv cm; do
		run -0 --separate-stderr mv-check -c "$c" "$T/h"
	done
	run -1 --separate-stderr mv-check -c linearizable "$T/h"
}

@test "--check cc: a cycle of causality names its ops" {
	{
		op 0 read x; done_ ok 0 read x 1
		op 0 write y 1; done_ ok 0 write y 1
		op 1 read y; done_ ok 1 read y 1
		op 1 write x 1; done_ ok 1 write x 1
	} >"$T/h"
	run -1 --separate-stderr mv-check -c cc "$T/h"
	assert_output --partial '"anomaly":"cyclic-co"'
	[[ $stderr == *'is a cycle of causal order'* ]]
	echo '{"type":"invoke","process":2,"f":"write","key":"x","value":1}' >>"$T/h"
	run -2 --separate-stderr mv-check -c cc "$T/h"
	[[ $stderr == *'written to key "x" again'* ]]
}

# ---- explanations, progress, memory budget, anomaly labels ----

@test "--explain: a read legal only because an info write happened" {
	{
		op 1 write x 5
		done_ info 1 write x 5
		op 2 write x 7
		done_ ok 2 write x 7
		op 3 read x
		done_ ok 3 read x 5
	} >"$T/h"
	run -0 --separate-stderr mv-check -m register "$T/h"
	refute_output --partial '"explain"'
	run -0 --separate-stderr mv-check -m register --explain "$T/h"
	[[ $output == *'"explain":[{"op":{"index":5,"line":6,"process":3,"type":"ok","f":"read","value":5},"because":[{"index":0,"line":1,"process":1,"type":"info","f":"write","value":5}]}]'* ]]
	[[ $stderr == *'read by process 3 (line 6) of 5 is legal only because write of 5 by process 1 (line 1) ended info and is taken to have happened'* ]]
}

@test "invalid: the longest prefix and the ops that could not come next" {
	two_writes 2 1 >"$T/h"
	run -1 --separate-stderr mv-check -m register "$T/h"
	[[ $output == *'"prefix":3,'* ]]
	[[ $output == *'"next":[{"index":7,"line":8,"process":1,"type":"ok","f":"read","value":1}],"state":2'* ]]
	[[ $stderr == *'longest linearizable prefix has 3 of'*'leaves the state 2'*'read by process 1 (line 8) of 1, is not legal there'* ]]
	refute_output --partial '"linearization"'
	run -1 --separate-stderr mv-check -m register --explain "$T/h"
	[[ $output == *'"linearization":[{"index":1,"line":2,'*'"value":1},{"index":3,"line":4,'*'"value":2},{"index":5,"line":6,'*'"value":2}]'* ]]
	[[ $stderr == *'The prefix linearizes as write of 1 by process 0 (line 2), write of 2 by process 0 (line 4), read by process 1 (line 6) of 2'* ]]
}

@test "progress: nothing on stderr when it is not a terminal" {
	# Hard enough to hit the time limit, after the first half second.
	hard 24 >"$T/h"
	run -3 --separate-stderr mv-check -m register --time-limit 1s "$T/h"
	[[ $stderr != *' entries'* ]]
	[[ $stderr == *'unknown: time limit reached'* ]]
	if ! command -v script >/dev/null; then
		skip 'script(1) is not installed'
	fi
	# On a terminal the updating line shows up.
	run script -qec "mv-check -m register --time-limit 1s $T/h" /dev/null
	[[ $output == *'mv-check: keys 0/1, '*' steps, memo '*' entries'* ]]
}

@test "--memory-limit: exit 3 with statistics, within the limit" {
	hard 20 >"$T/h"
	run -3 --separate-stderr mv-check -m register --memory-limit 4M "$T/h"
	[[ $output == *'"budget":"memory"'* ]]
	[[ $output =~ \"steps\":[1-9][0-9]*,\"memo_bytes\":[1-9] ]]
	[[ $stderr == *'memory limit reached on key r0 (1 of 1 keys checked, '* ]]
	# AddressSanitizer keeps freed memory in quarantine: no RSS there.
	if [ ! -x /usr/bin/time ] || [ -n "${MV_SANITIZED:-}" ]; then
		return 0
	fi
	two_writes 2 2 >"$T/small"
	/usr/bin/time -f '%M' -o "$T/base" mv-check -q "$T/small" >/dev/null
	/usr/bin/time -f '%M' -o "$T/rss" mv-check -q -m register \
	    --memory-limit 4M "$T/h" >/dev/null || [ $? -eq 3 ]
	# 4 MiB of search (plus slack) on top of the program itself.
	[ "$(tail -n 1 "$T/rss")" -lt $(($(tail -n 1 "$T/base") + 8192)) ]
}

@test "labels: each injected bug under its own name" {
	need_pipeline
	local wb w bug s
	for wb in register:stale-read register:lost-write \
	    cas-register:stale-read cas-register:lost-write kv:stale-read \
	    kv:lost-write kv:duplicate-append set:stale-read set:lost-write \
	    counter:stale-read counter:lost-write cas-register:lost-update \
	    kv:lost-update counter:lost-update; do
		w=${wb%%:*}
		bug=${wb#*:}
		for s in 1 2; do
			mv-gen -w "$w" -k 1 -n 600 -s "$s" |
			    mv-exec -c 5 -s "$s" --bug "$bug" --bug-rate 0.05 \
			    >"$T/h"
			run -1 --separate-stderr mv-check "$T/h"
			[[ $output == *"\"anomaly\":\"$bug\""* ]] ||
			    fail "$w --bug $bug -s $s: $output"
		done
	done
	# Longer histories, on seeds that used to say "nonlinearizable" or
	# take a lost update or a stale read for lost writes.
	for wb in cas-register:lost-update:1 cas-register:lost-update:3 \
	    cas-register:lost-update:10 kv:lost-update:2 kv:lost-update:3 \
	    kv:lost-update:15 counter:lost-update:1 counter:lost-update:14 \
	    register:stale-read:3 register:stale-read:14; do
		w=${wb%%:*}
		bug=${wb#*:}
		s=${bug#*:}
		bug=${bug%:*}
		mv-gen -w "$w" -k 2 -n 3000 -s "$s" --batch 3 |
		    mv-exec -c 5 -s "$s" --bug "$bug" --bug-rate 0.05 >"$T/h"
		run -1 --separate-stderr mv-check "$T/h"
		[[ $output == *"\"anomaly\":\"$bug\""* ]] ||
		    fail "$w --bug $bug -s $s: $output"
	done
	# And kv's lost writes on the issue's seeds.
	for s in 1 2; do
		mv-gen -w kv -k 2 -n 3000 -s "$s" --batch 3 |
		    mv-exec -c 5 -s "$s" --bug lost-write --bug-rate 0.05 >"$T/h"
		run -1 --separate-stderr mv-check "$T/h"
		[[ $output == *'"anomaly":"lost-write"'* ]] ||
		    fail "kv --bug lost-write -s $s: $output"
	done
}

# ---- event-store invariants and durability (lib/estore.c, lib/durable.c)

# Seeds for the pipeline loops: fewer under the sanitizer, which runs
# mv-gen and mv-exec several times slower (make check sets MV_SANITIZED).
seeds() {
	if [ -n "${MV_SANITIZED:-}" ]; then seq 1 "$2"; else seq 1 "$1"; fi
}

@test "event store: each stream bug of the embedded store under its own name" {
	need_pipeline
	local b s
	for b in lost-update duplicate-append torn-batch lost-write stale-read
	do
		for s in $(seeds 5 2); do
			mv-gen -w stream -k 2 -n 3000 -s "$s" --batch 3 |
			    mv-exec -c 5 -s "$s" --bug "$b" --bug-rate 0.05 \
			    >"$T/h"
			run -1 --separate-stderr mv-check "$T/h"
			[[ $output == *"\"anomaly\":\"$b\""*'"check":"event-store"'* ]] ||
			    fail "--bug $b -s $s: $output"
		done
	done
}

@test "event store: 100 seeds of the bug-free store report nothing" {
	need_pipeline
	local s
	for s in $(seeds 100 20); do
		mv-gen -w stream -k 2 -n 500 -s "$s" --batch 3 |
		    mv-exec -c 5 -s "$s" >"$T/h"
		run -0 --separate-stderr mv-check -q "$T/h"
	done
}

# A stream s with a at 0 and b at 1, and a subscriber (process 5) given a.
sub_hist() {
	op 0 append s '{"events":["a"],"expect":"no-stream"}'
	done_ ok 0 append s '{"version":0}'
	op 0 append s '{"events":["b"],"expect":0}'
	done_ ok 0 append s '{"version":1}'
	op 5 subscribe s '{"from":0}'
	done_ ok 5 subscribe s
	op 5 deliver s
	done_ ok 5 deliver s '{"version":0,"event":"a"}'
}

@test "event store: subscriptions deliver in order, checkpoints follow" {
	{ sub_hist; op 5 deliver s; done_ ok 5 deliver s '{"version":1,"event":"b"}'
	  op 5 checkpoint s '{"version":1}'; done_ ok 5 checkpoint s; } >"$T/h"
	run -0 --separate-stderr mv-check "$T/h"
	{ sub_hist; op 5 deliver s; done_ ok 5 deliver s '{"version":0,"event":"a"}'; } >"$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	assert_output --partial '"anomaly":"subscription-duplicate"'
	[[ $stderr == *'deliver by process 5 (line 10) delivered revision 0 of s again without a reconnect (1 came next)' ]]
	{ sub_hist; op 5 subscribe s '{"from":0}'; done_ ok 5 subscribe s
	  op 5 deliver s; done_ ok 5 deliver s '{"version":0,"event":"a"}'; } >"$T/h"
	run -0 --separate-stderr mv-check "$T/h"
	{ sub_hist; op 5 checkpoint s '{"version":1}'; done_ ok 5 checkpoint s; } >"$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	assert_output --partial '"anomaly":"checkpoint-ahead"'
}

@test "event store: read-your-writes only where it is promised" {
	{
		op 0 append s '{"events":["a"]}'; done_ ok 0 append s
		op 0 read s '{"from":0}'; done_ ok 0 read s '[]'
		op 1 read s '{"from":0}'; done_ ok 1 read s '["a"]'
	} >"$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	assert_output --partial '"anomaly":"stale-read"'
	run -1 --separate-stderr mv-check --promise read-your-writes "$T/h"
	assert_output --partial '"anomaly":"read-your-writes"'
	{ echo '{"type":"meta","exec":{"promises":["read-your-writes"]}}'
	  cat "$T/h"; } >"$T/m"
	run -1 --separate-stderr mv-check "$T/m"
	assert_output --partial '"anomaly":"read-your-writes"'
	run -2 --separate-stderr mv-check --promise nothing "$T/h"
	[ "$stderr" = 'mv-check: unknown promise: nothing' ]
}

# crash F EFFECT: a nemesis fault event.
crash() {
	printf '{"type":"info","process":"nemesis","f":"%s","value":{"targets":[9],"undo":null,"effect":"%s"}}\n' "$1" "$2"
}

@test "durability: an acknowledged write lost in a crash" {
	{
		op 0 write r 1; done_ ok 0 write r 1
		op 0 write r 2; done_ ok 0 write r 2
		crash kill killed; crash restart restarted
		op 1 read r; done_ ok 1 read r 1
	} >"$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	assert_output --partial '"anomaly":"lost-after-crash","key":"r"'
	assert_output --partial '"check":"durability"'
	[ "$stderr" = 'mv-check: invalid: lost-after-crash on key r: read by process 1 (line 8) began after a crash that followed write by process 0 (line 4), which completed, yet it returned 1, written before that write began' ]
	# A kill that hit nothing is no crash: then it is a plain stale read.
	sed -i 's/"killed"/"no-target"/; s/"restarted"/"no-target"/' "$T/h"
	sed -i 's/"f":"restart"/"f":"pause"/' "$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	refute_output --partial 'lost-after-crash'
	{
		op 0 append s '{"events":["a"]}'; done_ ok 0 append s '{"version":0}'
		crash kill killed
		op 1 read s '{"from":0}'; done_ ok 1 read s '[]'
	} >"$T/h"
	run -1 --separate-stderr mv-check "$T/h"
	assert_output --partial '"anomaly":"lost-after-crash"'
}

@test "durability: an info write seen after a recovery must stay" {
	local last
	for last in '[]' '[2]'; do
		{
			op 2 add t 2; done_ info 2 add t
			crash kill killed
			op 1 read t; done_ ok 1 read t '[2]'
			crash kill killed
			op 1 read t; done_ ok 1 read t "$last"
		} >"$T/h"
		if [ "$last" = '[]' ]; then
			run -1 --separate-stderr mv-check -m set "$T/h"
			assert_output --partial '"anomaly":"unstable-info"'
		else
			run -0 --separate-stderr mv-check -m set "$T/h"
		fi
	done
}

# A small Jepsen history of a cas register, as EDN: comments, commas,
# keywords, nemesis events.  $1 is what the read returns.
edn_cas() {
	printf '%s\n' '; a cas register, Jepsen style' \
	    '[{:process 0, :type :invoke, :f :write, :value 1}' \
	    ' {:process 0, :type :ok, :f :write, :value 1}' \
	    ' {:process :nemesis, :type :info, :f :start, :value nil}' \
	    ' {:process 1, :type :invoke, :f :read, :value nil} ; read it' \
	    " {:process 1, :type :ok, :f :read, :value $1}" \
	    ' {:process :nemesis, :type :info, :f :stop, :value nil}' \
	    ' {:process 0, :type :invoke, :f :cas, :value [1 2]}' \
	    ' {:process 0, :type :ok, :f :cas, :value [1 2]}]'
}

@test "EDN: recognised and checked as its JSON; malformed EDN is trouble" {
	local n f
	edn_cas 1 >"$T/ok.edn"
	run -0 --separate-stderr mv-check -m cas-register "$T/ok.edn"
	assert_output --partial '"valid":true'
	assert_output --partial '"ops":3'
	run -0 --separate-stderr mv-check -m cas-register --format edn \
	    "$T/ok.edn"
	# The same history as JSON lines gets the same verdict.
	{
		printf '{"process":0,"type":"%s","f":"write","value":1}\n' \
		    invoke ok
		printf '{"process":"nemesis","type":"info","f":"start"}\n'
		printf '{"process":1,"type":"invoke","f":"read"}\n'
		printf '{"process":1,"type":"ok","f":"read","value":1}\n'
		printf '{"process":"nemesis","type":"info","f":"stop"}\n'
		printf '{"process":0,"type":"%s","f":"cas","value":[1,2]}\n' \
		    invoke ok
	} >"$T/ok.jsonl"
	run -0 --separate-stderr mv-check -m cas-register "$T/ok.jsonl"
	assert_output --partial '"ops":3'
	# The write of 3 leaves the cas of 1 nothing to swap: line 9.
	edn_cas 1 | sed 's/:value 1}$/:value 3}/' >"$T/bad.edn"
	run -1 --separate-stderr mv-check -m cas-register "$T/bad.edn"
	assert_output --partial '"anomaly":"lost-update"'
	assert_output --partial '"line":9,'
	run -2 --separate-stderr mv-check -m cas-register --format json \
	    "$T/ok.edn"
	assert_output ''
	[[ $stderr == "mv-check: $T/ok.edn:1: "* ]]
	# Malformed EDN: one line naming the line of the EDN text.
	n='{:process 0 :type :invoke :f :read :value nil}'
	printf '[%s\n{:process 0 :type :ok :f :read' "$n" >"$T/m1"
	printf '[%s\n{:process 0 :type :ok :f :read}]]\n' "$n" >"$T/m2"
	printf '[%s\n{: 0 :type :ok :f :read :value nil}]\n' "$n" >"$T/m3"
	printf '[%s\n%s]\n' "$n" "$n" >"$T/m4"
	printf '[%s\n{:process 0 :type :ok :f :read]\n' "$n" >"$T/m5"
	for f in m1 m2 m3 m4 m5; do
		run -2 --separate-stderr mv-check "$T/$f"
		assert_output ''
		[[ $stderr == "mv-check: $T/$f:2: "* ]]
		[ "${#lines[@]}" -eq 0 ]
		[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	done
	run -2 --separate-stderr mv-check "$T/m1"
	[[ $stderr == *'end of input inside the map begun at line 2' ]]
	run -2 --separate-stderr mv-check "$T/m3"
	[[ $stderr == *'empty keyword' ]]
	run -2 --separate-stderr mv-check "$T/m4"
	[[ $stderr == *'invokes while its op at line 1 is still open' ]]
	# mv-shrink and mv-report read EDN too.
	run -0 --separate-stderr mv-shrink -m cas-register "$T/bad.edn"
	assert_line --index 0 --partial '"f":"cas"'
	[ "${#lines[@]}" -eq 2 ]
	run -1 --separate-stderr mv-shrink -m cas-register "$T/ok.edn"
	run -2 --separate-stderr mv-shrink -m cas-register --format json \
	    "$T/bad.edn"
	run -0 --separate-stderr mv-report "$T/bad.edn"
	assert_output --partial '- operations: 3'
	assert_output --partial '- faults: 2'
	assert_output --partial '| cas | 1 | 1 | 0 | 0 |'
}

@test "--init and --nil-unknown: the initial value and reads of nil" {
	{
		op 0 read r; done_ ok 0 read r 0
		op 0 cas r '[0,1]'; done_ ok 0 cas r '[0,1]'
	} >"$T/h"
	# Registers start absent (null) unless --init says otherwise.
	run -1 --separate-stderr mv-check -m cas-register "$T/h"
	assert_output --partial '"anomaly":"nonlinearizable"'
	assert_output --partial '"state":null'
	run -0 --separate-stderr mv-check -m cas-register --init 0 "$T/h"
	run -0 --separate-stderr mv-check -m cas-register --init=0 "$T/h"
	run -1 --separate-stderr mv-check -m cas-register --init 1 "$T/h"
	# An ok read of nil is "nothing there" unless --nil-unknown.
	{
		op 0 write r 1; done_ ok 0 write r 1
		op 1 read r; done_ ok 1 read r null
	} >"$T/h"
	run -1 --separate-stderr mv-check -m register "$T/h"
	assert_output --partial '"anomaly":"nonlinearizable"'
	assert_output --partial '"value":null'
	run -0 --separate-stderr mv-check -m register --nil-unknown "$T/h"
	assert_output --partial '"valid":true'
	# The same in EDN, where an unrecorded read is :value nil.
	printf '{:process 0 :type :%s :f :read :value %s}\n' \
	    invoke nil ok 0 >"$T/h.edn"
	run -1 --separate-stderr mv-check -m register "$T/h.edn"
	run -0 --separate-stderr mv-check -m register --init 0 --nil-unknown \
	    "$T/h.edn"
	# --init is for the registers only, and must be JSON.
	for m in mutex fifo-queue unordered-queue set; do
		run -2 --separate-stderr mv-check -m "$m" --init 0 "$T/h"
		assert_output ''
		[ "$stderr" = "mv-check: --init applies to register, cas-register and multi-register, not $m" ]
	done
	run -2 --separate-stderr mv-check -m register --init '{' "$T/h"
	[ "$stderr" = 'mv-check: --init: not a JSON value: {' ]
}

@test "models: mutex, fifo-queue, unordered-queue, multi-register" {
	local m v
	# Two acquires that overlap, and no release: the second is illegal.
	{ op 0 acquire l; op 1 acquire l; done_ ok 0 acquire l
	  done_ ok 1 acquire l; } >"$T/h"
	run -1 --separate-stderr mv-check -m mutex "$T/h"
	assert_output --partial '"anomaly":"nonlinearizable"'
	assert_output --partial '"ops":[{"index":3,'
	# With a release in between they are fine.
	{ op 0 acquire l; done_ ok 0 acquire l; op 1 acquire l
	  op 0 release l; done_ ok 0 release l; done_ ok 1 acquire l
	  op 1 release l; done_ ok 1 release l; } >"$T/h"
	run -0 --separate-stderr mv-check -m mutex "$T/h"
	assert_output --partial '"ops":4,'
	{ op 0 release l; done_ ok 0 release l; } >"$T/h"
	run -1 --separate-stderr mv-check -m mutex "$T/h"
	# Enqueue 1, enqueue 2, then two dequeues returning $1 and $2.
	for m in fifo-queue unordered-queue; do
		for v in '1 2' '2 1' '1 3' '1 null'; do
			set -- "${v% *}" "${v#* }"
			{
				op 0 enqueue q 1; done_ ok 0 enqueue q 1
				op 0 enqueue q 2; done_ ok 0 enqueue q 2
				op 1 dequeue q; done_ ok 1 dequeue q "$1"
				op 1 dequeue q; done_ ok 1 dequeue q "$2"
			} >"$T/h"
			run --separate-stderr mv-check -m "$m" "$T/h"
			case $m/$v in
			*/'1 2' | unordered-queue/'2 1')
				[ "$status" -eq 0 ]
				assert_output --partial '"valid":true' ;;
			*)
				[ "$status" -eq 1 ]
				assert_output --partial \
				    '"anomaly":"nonlinearizable"' ;;
			esac
		done
	done
	# Transactions over registers x and y, all at one instant.
	{
		op 0 txn m '[["write","x",1],["write","y",2]]'
		done_ ok 0 txn m '[["write","x",1],["write","y",2]]'
		op 1 txn m '[["read","x",null],["read","y",null]]'
		done_ ok 1 txn m '[["read","x",1],["read","y",2]]'
	} >"$T/h"
	run -0 --separate-stderr mv-check -m multi-register "$T/h"
	assert_output --partial '"ops":2,'
	# A read of 3, never written; and a torn read of x before, y after.
	for v in '"x",1\],\["read","y",3' '"x",null\],\["read","y",2'; do
		sed "\$s/\"x\",1\],\[\"read\",\"y\",2/$v/" "$T/h" >"$T/h2"
		run -1 --separate-stderr mv-check -m multi-register "$T/h2"
		assert_output --partial '"anomaly":"nonlinearizable"'
		assert_output --partial '"line":4,'
	done
	# In EDN, with keywords, and with registers starting at 0.
	printf '{:process 0 :type :%s :f :txn :value [[:read :x %s] [:w :y 1]]}\n' \
	    invoke nil ok 0 >"$T/h.edn"
	run -1 --separate-stderr mv-check -m multi-register "$T/h.edn"
	run -0 --separate-stderr mv-check -m multi-register --init 0 "$T/h.edn"
}

@test "counter: a read below zero with no add is named, not a crash" {
	# anomaly.c indexed the add before the first when none had completed.
	{
		op 0 read c0
		done_ ok 0 read c0 -1
	} >"$T/h"
	run -1 --separate-stderr mv-check -m counter "$T/h"
	assert_equal "$(echo "$output" | jq -r .anomaly)" nonlinearizable
	assert_equal "$(echo "$output" | jq -c '[.ops[].line]')" '[2]'
	assert_output --partial 'starts at 0 and adds are not negative'
}

@test "stream: --nil-unknown makes an ok read of null unknown to the event-store checks too" {
	{
		op 0 append s0 '{"events":[1],"expect":-1}'
		done_ ok 0 append s0 '{"version":0}'
		op 0 read s0 '{"from":0}'
		done_ ok 0 read s0 null
	} >"$T/h"
	# Without it, null is "no such stream" after an acknowledged append.
	run -1 --separate-stderr mv-check -m stream "$T/h"
	assert_equal "$(echo "$output" | jq -r .anomaly)" lost-write
	run -0 --separate-stderr mv-check -m stream --nil-unknown "$T/h"
	assert_equal "$(echo "$output" | jq -r .valid)" true
}

# put "a", 14 appends overlapping put "b", then a get returning $1.
dead_appends() {
	local v
	op 0 put k0 '"a"'
	done_ ok 0 put k0 '"a"'
	for v in $(seq 1 14); do op "$v" append k0 "\"x$v\""; done
	op 0 put k0 '"b"'
	done_ ok 0 put k0 '"b"'
	for v in $(seq 1 14); do done_ ok "$v" append k0 "\"x$v\""; done
	op 0 get k0
	done_ ok 0 get k0 "$1"
}

@test "kv: strings no read can see are one state to the search" {
	# Each order of the appends taken before put "b" makes its own
	# string, 14! of them, and none is a prefix of what the get saw:
	# searched apart they run into the time limit (exit 3).
	dead_appends '"bx3"' >"$T/h"
	run -0 --separate-stderr mv-check --time-limit 60s "$T/h"
	assert_equal "$(echo "$output" | jq -r .valid)" true
	dead_appends '"ax3"' >"$T/h"
	run -1 --separate-stderr mv-check --time-limit 60s "$T/h"
	assert_equal "$(echo "$output" | jq -r .valid)" false
}
