#!/usr/bin/env bats
# mv-shrink: failing histories cut to a 1-minimal core that fails the same way.

load common
load examples
load records

setup() { mv_setup; }

# ok PROC F KEY VALUE: an op and its ok; okr PROC KEY VALUE: a read of VALUE.
ok() { op "$1" "$2" "$3" "$4"; done_ ok "$1" "$2" "$3" "$4"; }
okr() { op "$1" read "$2"; done_ ok "$1" read "$2" "$3"; }

# Noise on keys r0 and r1, a stale read on r1, more noise.
stale() {
	echo '{"type":"meta","gen":{"workload":"register"}}'
	local i
	for i in $(seq 1 20); do ok 0 write r0 "$i"; okr 1 r0 "$i"; done
	ok 0 write r1 1
	ok 0 write r1 2
	echo '{"type":"info","process":"nemesis","f":"pause","value":{"targets":[1],"undo":"resume","effect":"stopped"},"time":5}'
	okr 1 r1 2
	okr 2 r1 1
	for i in $(seq 21 40); do ok 0 write r0 "$i"; okr 1 r0 "$i"; done
}

# ops FILE: the number of invocations in FILE.
ops() { grep -c '"type":"invoke"' "$1"; }

@test "--help and --version" {
	help_and_version mv-shrink 'usage: mv-shrink [-v] [-m model]'
}

@test "bad options are trouble" {
	run -2 --separate-stderr mv-shrink --bogus
	[[ $stderr == *usage:* ]]
	run -2 --separate-stderr mv-shrink --time-limit soon /dev/null
	[[ $stderr == *'--time-limit'* ]]
	run -2 --separate-stderr mv-shrink a b
	[[ $stderr == *usage:* ]]
	run -2 --separate-stderr mv-shrink "$T/nosuch"
	assert_output ''
	run -2 --separate-stderr mv-shrink <<<'{"type":"invoke"'
	[[ $stderr == *'<stdin>:1:'* ]]
}

@test "a stale read on one key shrinks to its four operations" {
	stale >"$T/h"
	run -1 --separate-stderr mv-check -q "$T/h"
	run -0 --separate-stderr mv-shrink "$T/h"
	echo "$output" >"$T/s"
	[ "$(ops "$T/s")" -eq 4 ]
	run -0 head -1 "$T/s"
	assert_output '{"type":"meta","gen":{"workload":"register"},"shrink":{"mv":"0.1.0","anomaly":"stale-read","key":"r1","ops_before":85,"ops_after":4,"checks":'"${output##*checks\":}"
	# Re-indexed densely from 0, only key r1, the fault dropped.
	run -0 jq -c '.index' "$T/s"
	assert_output "$(printf 'null\n'; seq 0 7)"
	run -1 grep -q '"r0"' "$T/s"
	run -1 grep -q nemesis "$T/s"
	run -1 --separate-stderr mv-check "$T/s"
	assert_output --partial '"anomaly":"stale-read"'
}

@test "the result is 1-minimal: no single operation can go" {
	stale >"$T/h"
	mv-shrink -o "$T/s" "$T/h"
	n=$(ops "$T/s")
	for i in $(seq 0 $((n - 1))); do
		# Drop the i-th operation (its invocation and completion).
		p=$(grep '"type":"invoke"' "$T/s" | sed -n "$((i + 1))p" |
		    jq '.process')
		awk -v p="$p" '
		    /"type":"invoke"/ { if (++n == '"$((i + 1))"') { drop = 1; next } }
		    drop && $0 ~ "\"process\":" p "," { drop = 0; next }
		    { sub(/"index":[0-9]*,/, ""); print }' "$T/s" >"$T/less"
		[ "$(ops "$T/less")" -eq $((n - 1)) ]
		run mv-check -q "$T/less"
		[ "$status" -eq 0 ] || [ "$status" -eq 1 ]
		[[ $output != *'"anomaly":"stale-read"'* ]]
	done
}

@test "a valid history has nothing to shrink" {
	{ ok 0 write r0 1; okr 1 r0 1; } >"$T/h"
	run -1 --separate-stderr mv-shrink "$T/h"
	assert_output ''
	[ "$stderr" = 'mv-shrink: history is valid: nothing to shrink' ]
}

@test "a lost write keeps its anomaly name" {
	{
		ok 0 write r0 1
		ok 0 write r0 2
		for i in $(seq 3 30); do ok 0 write r0 "$i"; done
		okr 1 r0 1
	} >"$T/h"
	run -1 --separate-stderr mv-check -q "$T/h"
	anomaly=$(echo "$output" | jq -r .anomaly)
	run -0 --separate-stderr mv-shrink -v -m register "$T/h"
	echo "$output" >"$T/s"
	[[ $stderr == *"mv-shrink: $anomaly on key r0: 31 ops -> "* ]]
	[ "$(ops "$T/s")" -le 3 ]
	run -1 --separate-stderr mv-check "$T/s"
	assert_output --partial "\"anomaly\":\"$anomaly\""
}

@test "10,000 generated ops shrink to at most 10 in under 10 s" {
	if ! command -v mv-gen >/dev/null || ! command -v mv-exec >/dev/null
	then
		skip 'mv-gen or mv-exec not built'
	fi
	mv-gen -w register -n 10000 -s 3 |
	    mv-exec --bug stale-read --seed 3 >"$T/h"
	start=$(date +%s%N)
	run -0 --separate-stderr mv-shrink -o "$T/s" "$T/h"
	ms=$((($(date +%s%N) - start) / 1000000))
	echo "shrink took $ms ms" >&3
	[ "$ms" -lt 10000 ]
	[ "$(ops "$T/s")" -le 10 ]
	run -1 --separate-stderr mv-check "$T/s"
	assert_output --partial '"anomaly":"stale-read"'
}

@test "output to /dev/full is trouble" {
	stale >"$T/h"
	run -2 --separate-stderr sh -c "mv-shrink '$T/h' >/dev/full"
	[[ $stderr == *'mv-shrink: '* ]]
	run -2 --separate-stderr mv-shrink -o /dev/full "$T/h"
}

@test "the EXAMPLES give the results the page describes" {
	cd "$T"
	stale >history.jsonl
	mv-shrink history.jsonl >small.jsonl
	mv-check small.jsonl >/dev/null || [ $? -eq 1 ]
	mv-shrink -v -m register -o small.jsonl history.jsonl 2>/dev/null
	[ "$(ops small.jsonl)" -eq 4 ]
	rm -f history.jsonl small.jsonl
}

@test "the examples of the page run" {
	run_page_examples mv-shrink.1
}

@test "--check: a lost element of a set shrinks under the set check" {
	cd "$T"
	mv-gen -w set -k 1 -n 2000 -s 2 | mv-exec -s 2 --bug lost-write >h
	run -1 --separate-stderr mv-check --check set h
	mv-shrink --check set h >small
	run -1 --separate-stderr mv-check --check set small
	assert_output --partial '"anomaly":"lost"'
	[ "$(ops small)" -le 4 ]
}
