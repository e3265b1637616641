#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031
# mv-nemesis: one-shot faults, the filter's schedule, never a process left
# stopped.

load common
load examples

setup() {
	mv_setup
	PIDS=()
}

# Kills every process a test started, stopped or not.
teardown() {
	local p
	for p in "${PIDS[@]}" $(cat "$T"/pidfile 2>/dev/null); do
		kill -CONT "$p" 2>/dev/null || true
		kill -KILL "$p" 2>/dev/null || true
	done
}

# target: starts a sleeping process, its pid in $tp.
target() {
	sleep 1000 >/dev/null 2>&1 &
	tp=$!
	PIDS+=("$tp")
}

state() { awk '{ print $3 }' "/proc/$1/stat"; }

# Waits up to 5 s for process $1 to reach state $2.
wait_state() {
	for _ in $(seq 50); do
		[ "$(state "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# Input that stays open for $1 seconds: a FIFO fed by a sleeping writer.
slow_input() {
	mkfifo "$T/in"
	sleep "$1" >"$T/in" &
	PIDS+=("$!")
}

@test "--help and --version" {
	help_and_version mv-nemesis 'usage: mv-nemesis pause|resume|kill|term'
}

@test "bad options and modes are trouble" {
	run -2 --separate-stderr mv-nemesis --bogus
	[[ $stderr == *usage:* ]]
	run -2 --separate-stderr mv-nemesis frobnicate --pid 1
	[[ $stderr == *'unknown mode: frobnicate'* ]]
	run -2 --separate-stderr mv-nemesis pause
	[[ $stderr == *'no target'* ]]
	run -2 --separate-stderr mv-nemesis pause --pid x
	[[ $stderr == *'invalid value for --pid'* ]]
	run -2 --separate-stderr mv-nemesis run --faults fire --pid 1
	[[ $stderr == *'--faults'* ]]
	run -2 --separate-stderr mv-nemesis run --faults restart --pid 1
	[[ $stderr == *'restart needs --cmd'* ]]
	run -2 --separate-stderr mv-nemesis run --interval soon --pid 1
	[[ $stderr == *'--interval'* ]]
	run -2 --separate-stderr mv-nemesis heal
	[[ $stderr == *'heal needs --undo-log'* ]]
}

@test "pause stops a process and resume continues it" {
	target
	run -0 --separate-stderr mv-nemesis pause --pid "$tp"
	assert_output "{\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"pause\",\"value\":{\"targets\":[$tp],\"undo\":\"resume\",\"effect\":\"stopped\",\"method\":\"sigstop\",\"effective\":true},\"time\":0}"
	[ "$(state "$tp")" = T ]
	run -0 --separate-stderr mv-nemesis resume --pid "$tp"
	assert_output --partial '"f":"resume"'
	assert_output --partial '"effect":"running"'
	wait_state "$tp" S
}

@test "a process group is a target" {
	setsid sh -c 'sleep 1000 & exec sleep 1000' </dev/null >/dev/null 2>&1 &
	tp=$!
	PIDS+=("$tp")
	sleep 0.3
	read -ra kids <<<"$(pgrep -g "$tp" | tr '\n' ' ')"
	PIDS+=("${kids[@]}")
	[ "${#kids[@]}" -eq 2 ]
	run -0 --separate-stderr mv-nemesis pause --pgid "$tp"
	assert_output --partial '"effect":"stopped"'
	for k in "${kids[@]}"; do [ "$(state "$k")" = T ]; done
	run -0 --separate-stderr mv-nemesis resume --pgid "$tp"
	for k in "${kids[@]}"; do wait_state "$k" S; done
}

@test "a process that does not exist is trouble, said honestly" {
	target
	kill -KILL "$tp"
	wait "$tp" 2>/dev/null || true
	run -2 --separate-stderr mv-nemesis pause --pid "$tp"
	assert_output --partial '"effect":"no-target"'
	[ "$stderr" = 'mv-nemesis: pause: no such process' ]
}

@test "kill then restart with a pidfile" {
	target
	echo "$tp" >"$T/pidfile"
	run -0 --separate-stderr mv-nemesis restart --cmd 'exec sleep 1001' \
	    --pidfile "$T/pidfile"
	assert_output --partial '"f":"restart"'
	assert_output --partial '"effect":"restarted"'
	new=$(cat "$T/pidfile")
	[ "$new" != "$tp" ]
	assert_output --partial "\"pid\":$new}"
	wait_state "$new" S
	run -0 --separate-stderr mv-nemesis kill --pidfile "$T/pidfile"
	assert_output --partial '"effect":"killed"'
	[ ! -d "/proc/$new" ] || [ "$(state "$new")" = Z ]
	target
	run -0 --separate-stderr mv-nemesis term --pid "$tp"
	assert_output --partial '"effect":"terminated"'
}

@test "run passes records through, adds to the meta line, faults in time" {
	target
	slow_input 1.15
	{ printf '{"type":"meta","gen":{"mv":"0.1.0"}}\n'
	  cat "$T/in"
	  printf '{"type":"op","f":"read","key":"r0","at":1100000000}\n'
	} | mv-nemesis run -s 7 --schedule periodic --interval 300ms \
	    --duration 200ms --pid "$tp" --undo-log "$T/u" >"$T/out"
	run -0 head -1 "$T/out"
	assert_output '{"type":"meta","gen":{"mv":"0.1.0"},"nemesis":{"mv":"0.1.0","seed":7,"schedule":"periodic","interval":300000000,"duration":200000000,"faults":["pause"]}}'
	run -0 tail -1 "$T/out"
	assert_output '{"type":"op","f":"read","key":"r0","at":1100000000}'
	pauses=$(grep -c '"f":"pause"' "$T/out")
	resumes=$(grep -c '"f":"resume"' "$T/out")
	[ "$pauses" -ge 2 ] && [ "$pauses" -le 3 ]
	[ "$pauses" -eq "$resumes" ]
	[ "$(state "$tp")" = S ]
	[ ! -e "$T/u" ]
}

@test "SIGINT in the middle of a pause leaves nothing stopped" {
	target
	slow_input 30
	mv-nemesis run --schedule periodic --interval 100ms --duration 10s \
	    --pid "$tp" --undo-log "$T/u" <"$T/in" >"$T/out" &
	n=$!
	PIDS+=("$n")
	wait_state "$tp" T
	[ "$(cat "$T/u")" = "$tp" ]
	kill -INT "$n"
	rc=0
	wait "$n" || rc=$?
	[ "$rc" -eq 130 ]
	[ "$(state "$tp")" != T ]
	[ ! -e "$T/u" ]
}

@test "SIGTERM and EOF also continue the target" {
	target
	slow_input 30
	mv-nemesis run --schedule periodic --interval 100ms --duration 10s \
	    --pid "$tp" <"$T/in" >/dev/null &
	n=$!
	PIDS+=("$n")
	wait_state "$tp" T
	kill -TERM "$n"
	rc=0
	wait "$n" || rc=$?
	[ "$rc" -eq 143 ]
	[ "$(state "$tp")" != T ]
	# At end of input a pause in force is undone with a resume event.
	{ sleep 0.4; } | mv-nemesis run --schedule periodic --interval 100ms \
	    --duration 10s --pid "$tp" >"$T/out"
	[ "$(tail -1 "$T/out" | grep -c '"f":"resume"')" -eq 1 ]
	[ "$(state "$tp")" != T ]
}

@test "a closed output pipe: SIGPIPE, and the target is continued" {
	target
	# shellcheck disable=SC2016
	run -0 bash -c 'for i in 1 2 3 4 5 6; do
		echo "{\"type\":\"op\",\"f\":\"read\"}"; sleep 0.2; done |
	    mv-nemesis run --schedule periodic --interval 100ms --duration 10s \
		--pid '"$tp"' | head -1; echo "${PIPESTATUS[1]}"'
	assert_output "$(printf '{"type":"op","f":"read"}\n141')"
	[ "$(state "$tp")" != T ]
}

@test "heal continues what a SIGKILLed run left stopped" {
	target
	slow_input 30
	mv-nemesis run --schedule periodic --interval 100ms --duration 10s \
	    --pid "$tp" --undo-log "$T/u" <"$T/in" >/dev/null &
	n=$!
	PIDS+=("$n")
	wait_state "$tp" T
	kill -KILL "$n"
	wait "$n" || true
	[ "$(state "$tp")" = T ]
	run -0 --separate-stderr mv-nemesis heal --undo-log "$T/u"
	assert_output '{"type":"info","process":"nemesis","f":"heal","value":{"continued":1},"time":0}'
	wait_state "$tp" S
	[ ! -e "$T/u" ]
	run -2 --separate-stderr mv-nemesis heal --undo-log "$T/u"
	[[ $stderr == *'No such file'* ]]
}

@test "kill then restart on a schedule" {
	target
	echo "$tp" >"$T/pidfile"
	{ sleep 0.8; } | mv-nemesis run --faults kill --schedule periodic \
	    --interval 200ms --duration 100ms --cmd 'exec sleep 1002' \
	    --pidfile "$T/pidfile" >"$T/out"
	grep -q '"f":"kill".*"undo":"restart","effect":"killed"' "$T/out"
	grep -q '"f":"restart".*"effect":"restarted"' "$T/out"
	new=$(cat "$T/pidfile")
	[ "$(state "$new")" = S ]
}

@test "a malformed input line is trouble, and the target is continued" {
	target
	{ sleep 0.3; echo '{"type":'; } | mv-nemesis run --schedule periodic \
	    --interval 100ms --duration 10s --pid "$tp" >/dev/null 2>"$T/err" \
	    && false || [ $? -eq 2 ]
	grep -q '<stdin>:1:' "$T/err"
	[ "$(state "$tp")" != T ]
}

@test "output to /dev/full is trouble" {
	target
	run -2 --separate-stderr sh -c "mv-nemesis pause --pid $tp >/dev/full"
	[[ $stderr == *'mv-nemesis: '* ]]
	run -2 --separate-stderr sh -c 'echo "{\"type\":\"op\",\"f\":\"read\"}" |
	    mv-nemesis run --pid '"$tp"' >/dev/full'
	[ "$(state "$tp")" != T ]
}

@test "the EXAMPLES give the results the page describes" {
	target
	pid=$tp
	mv-nemesis pause --pid "$pid" >/dev/null
	mv-nemesis resume --pid "$pid" >/dev/null
	[ "$(state "$tp")" != T ]
	echo '{"type":"op","f":"read","key":"r0"}' |
	    mv-nemesis run -s 1 --interval 2s --duration 500ms --pid "$pid" \
	    >/dev/null
}

@test "the examples of the page run" {
	run_page_examples mv-nemesis.1
}

@test "--swarm keeps a seeded, non-empty subset of the faults, in the meta line" {
	target
	PIDS+=("$tp")
	for s in 1 2 3 4 5 6; do
		printf '{"type":"meta"}\n' | mv-nemesis run --swarm -s "$s" \
			--faults pause,kill,term --interval 1h --pid "$tp" \
			--undo-log "$T/u" | jq -c .nemesis.faults >>"$T/kept"
		[ "$(printf '{"type":"meta"}\n' | mv-nemesis run --swarm -s "$s" \
			--faults pause,kill,term --interval 1h --pid "$tp" \
			--undo-log "$T/u" | jq -c .nemesis.faults)" = \
			"$(tail -1 "$T/kept")" ]
	done
	# Each a non-empty subset of the list, in its order; not all alike.
	run -0 jq -se 'all(length > 0 and (. - ["pause","kill","term"] == [])
		and (. == (. | sort_by({"pause":0,"kill":1,"term":2}[.]))))' \
		"$T/kept"
	[ "$(sort -u "$T/kept" | wc -l)" -gt 1 ]
	run -0 bash -c "printf '{\"type\":\"meta\"}\n' |
		mv-nemesis run --swarm --interval 1h --pid $tp --undo-log $T/u"
	assert_output --partial '"swarm":true,"faults":["pause"]}'
}
