#!/usr/bin/env bats
# mv-report: counts, latency percentiles, throughput, faults and verdict.

load common
load examples

setup() { mv_setup; }

# ev TYPE PROC F TIME_MS [VALUE]: one client event on key r0.
ev() {
	printf '{"type":"%s","process":%s,"f":"%s","key":"r0"%s,"time":%s}\n' \
	    "$1" "$2" "$3" "${5:+,\"value\":$5}" "$(($4 * 1000000))"
}

# Writes of 1..10 ms latency, a failed write, a read left info, a fault:
# 2 s from first to last event.
hist() {
	echo '{"type":"meta","gen":{"workload":"register"}}'
	local i t=0
	for i in $(seq 1 10); do
		ev invoke 0 write "$t" "$i"
		t=$((t + i))
		ev ok 0 write "$t" "$i"
	done
	ev invoke 0 write 100 11
	ev fail 0 write 101 11
	echo '{"type":"info","process":"nemesis","f":"pause","value":{"targets":[7],"undo":"resume","effect":"stopped"},"time":1500000000}'
	ev invoke 1 read 200
	ev ok 1 read 204 10
	ev invoke 2 read 300
	ev info 2 read 2000
}

@test "--help and --version" {
	run -0 --separate-stderr mv-report --help
	assert_output 'usage: mv-report [--format md|json] [--verdict file] [file]'
	run -0 --separate-stderr mv-report --version
	assert_output 'mv-report mv 0.1.0'
}

@test "bad options and input are trouble" {
	run -2 --separate-stderr mv-report --bogus
	[[ $stderr == *usage:* ]]
	run -2 --separate-stderr mv-report --format xml /dev/null
	[ "$stderr" = "mv-report: invalid value for --format: 'xml'" ]
	run -2 --separate-stderr mv-report "$T/nosuch"
	assert_output ''
	echo '[1]' >"$T/v"
	run -2 --separate-stderr mv-report --verdict "$T/v" /dev/null
	[ "$stderr" = "mv-report: $T/v: the verdict is not a JSON object" ]
	run -2 --separate-stderr mv-report <<<'{"type":"ok","process":0}'
	[[ $stderr == *'<stdin>:1:'* ]]
}

@test "JSON: counts, percentiles, throughput, faults" {
	hist >"$T/h"
	run -0 --separate-stderr mv-report --format json "$T/h"
	assert_output '{"file":"'"$T/h"'","events":27,"ops":13,"keys":1,"nfaults":1,"duration_s":2.000,"throughput":5.50,"counts":{"write":{"invoke":11,"ok":10,"fail":1,"info":0},"read":{"invoke":2,"ok":1,"fail":0,"info":1}},"latency_ms":{"write":{"n":10,"p50":5.000,"p90":9.000,"p99":10.000,"max":10.000},"read":{"n":1,"p50":4.000,"p90":4.000,"p99":4.000,"max":4.000}},"faults":[{"time":1500000000,"f":"pause","value":{"targets":[7],"undo":"resume","effect":"stopped"}}]}'
}

@test "Markdown: the same figures in tables" {
	hist >"$T/h"
	run -0 --separate-stderr mv-report "$T/h"
	assert_line '- operations: 13'
	assert_line '- duration: 2.000 s'
	assert_line '- throughput: 5.50 ok ops/s'
	assert_line '| write | 11 | 10 | 1 | 0 |'
	assert_line '| read | 2 | 1 | 0 | 1 |'
	assert_line '| total | 13 | 11 | 1 | 1 |'
	assert_line '| write | 10 | 5.000 | 9.000 | 10.000 | 10.000 |'
	assert_line '| 1.500 | pause | {"targets":[7],"undo":"resume","effect":"stopped"} |'
	refute_output --partial '## Verdict'
}

@test "the verdict of mv-check is reported" {
	{
		ev invoke 0 write 0 1; ev ok 0 write 1 1
		ev invoke 0 write 2 2; ev ok 0 write 3 2
		ev invoke 1 read 4; ev ok 1 read 5 2
		ev invoke 1 read 6; ev ok 1 read 7 1
	} >"$T/h"
	mv-check -q "$T/h" >"$T/v" || true
	run -0 --separate-stderr mv-report --verdict "$T/v" "$T/h"
	assert_line '- valid: false'
	assert_line '- anomaly: stale-read'
	assert_line '- key: r0'
	run -0 --separate-stderr mv-report -f json --verdict "$T/v" "$T/h"
	assert_output --regexp ',"verdict":\{"valid":false,"model":"[a-z-]*","anomaly":"stale-read",'
	assert_output --regexp '\}\}$'
}

@test "an empty history reports zeros" {
	run -0 --separate-stderr mv-report -f json /dev/null
	assert_output '{"file":"/dev/null","events":0,"ops":0,"keys":0,"nfaults":0,"duration_s":0.000,"throughput":0.00,"counts":{},"latency_ms":{},"faults":[]}'
	run -0 --separate-stderr mv-report /dev/null
	assert_line 'None.'
}

@test "output to /dev/full is trouble" {
	hist >"$T/h"
	run -2 --separate-stderr sh -c "mv-report '$T/h' >/dev/full"
	[[ $stderr == *'mv-report: '* ]]
}

@test "the EXAMPLES give the results the page describes" {
	cd "$T"
	hist >history.jsonl
	mv-report history.jsonl >/dev/null
	mv-check -q history.jsonl >verdict.json || true
	mv-report --format json --verdict verdict.json history.jsonl |
	    jq -e '.latency_ms.write.p99' >/dev/null
	rm -f history.jsonl verdict.json
}

@test "the examples of the page run" {
	run_page_examples mv-report.1
}
