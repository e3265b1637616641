#!/usr/bin/env bats
# The cgroup freezer: a cluster node's whole process tree (a shell and
# its child, each bumping a counter) paused and resumed through the
# node's cgroup, thawed by heal after a SIGKILL, killed while frozen, and
# no cgroup of the run left behind.  Needs root.

load common
load netns

setup() { mv_setup; }

# Whatever a test left: the run it killed, then its undo logs.
teardown() {
	exec 5>&- || :
	[ -n "${nem:-}" ] && kill -KILL "$nem" 2>/dev/null
	heal_undo_logs
}

# need_freezer v2|v1|any: skips unless such a hierarchy is mounted
# writable (cgroup2, or cgroup v1 with the freezer controller).
need_freezer() {
	awk -v v="$1" '$4 !~ /(^|,)rw(,|$)/ { next }
		$3 == "cgroup2" && v != "v1" { f = 1 }
		$3 == "cgroup" && $4 ~ /(^|,)freezer(,|$)/ && v != "v2" { f = 1 }
		END { exit !f }' /proc/self/mounts ||
		skip "no writable cgroup freezer ($1) here"
}

# tree_up [MV_CLUSTER_FREEZER]: a one-node cluster whose node is a shell
# with a child, each appending a line to its counter every 20 ms; sets
# S, id, D (the node's directory), CG (its cgroup, or empty).
tree_up() {
	cat >"$T/c.json" <<EOF
{
  "dir": "$T",
  "subnet": "10.76.0.0/24",
  "start": ["/bin/sh", "-c",
    "(while :; do echo >>c.child; sleep 0.02; done) & while :; do echo >>c.parent; sleep 0.02; done"],
  "nodes": [{"name": "n1"}]
}
EOF
	S=$(MV_CLUSTER_FREEZER=${1:-} mv-nemesis cluster up \
		--undo-log "$T/undo" "$T/c.json")
	id=$(jq -r .run.id "$S")
	D=$T/mv$id/n1
	CG=$(jq -r '.nodes[0].cgroup // ""' "$S")
	for ((k = 0; k < 100; k++)); do
		[ -s "$D/c.parent" ] && [ -s "$D/c.child" ] && break
		sleep 0.02
	done
}

# The two counters, "PARENT CHILD".
counters() { echo "$(wc -l <"$D/c.parent") $(wc -l <"$D/c.child")"; }

# Both counters stand still over 300 ms.
still() {
	local a b
	a=$(counters)
	sleep 0.3
	b=$(counters)
	[ "$a" = "$b" ] || fail "counters moved while paused: $a -> $b"
}

# Both counters move within 2 s.
moving() {
	local a b
	a=$(counters)
	for ((k = 0; k < 100; k++)); do
		sleep 0.02
		b=$(counters)
		[ "${a% *}" != "${b% *}" ] && [ "${a#* }" != "${b#* }" ] &&
			return 0
	done
	fail "counters stand still: $a -> $b"
}

# What the kernel says of cgroup $1: frozen or thawed.
cg_state() {
	if [ -e "$1/cgroup.events" ]; then
		grep -q '^frozen 1$' "$1/cgroup.events" && echo frozen ||
			echo thawed
	else
		grep -q '^FROZEN$' "$1/freezer.state" && echo frozen ||
			echo thawed
	fi
}

# 0 if process $1 is no longer one of run $id's: gone, a zombie, or a
# reused pid in another cgroup.
gone_from_run() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$st" ] || [ "$st" = Z ] && return 0
	! grep -q "/mv$id/" "/proc/$1/cgroup" 2>/dev/null
}

# pause_resume METHOD: pause stops both counters, the event says METHOD
# and that the kernel said so; resume moves them again.
pause_resume() {
	run -0 --separate-stderr mv-nemesis pause --cluster "$S" --node n1
	assert_equal "$(jq -r '[.value.method, .value.effective,
		.value.effect] | join(" ")' <<<"$output")" "$1 true stopped"
	# Parent and child at least, and their sleeps.
	[ "$(jq '.value.targets | length' <<<"$output")" -ge 2 ]
	[ "$1" = sigstop ] || assert_equal "$(cg_state "$CG")" frozen
	still
	run -0 --separate-stderr mv-nemesis resume --cluster "$S" --node n1
	assert_equal "$(jq -r '[.value.method, .value.effective,
		.value.effect] | join(" ")' <<<"$output")" "$1 true running"
	[ "$1" = sigstop ] || assert_equal "$(cg_state "$CG")" thawed
	moving
}

# paused_run OUT: a run pausing node n1 for a minute, its input held
# open on fd 5, its events in OUT; returns once the pause is in force.
# Sets nem.
paused_run() {
	rm -f "$T/in"
	mkfifo "$T/in"
	mv-nemesis run --cluster "$S" --faults pause --schedule periodic \
		--interval 50ms --duration 60s --undo-log "$T/undo-nem" \
		<"$T/in" >"$1" 3>&- &
	nem=$!
	exec 5>"$T/in"
	for ((k = 0; k < 150; k++)); do
		grep -q '"f":"pause"' "$1" && break
		sleep 0.02
	done
	grep -q '"f":"pause"' "$1"
}

@test "freezer: a node's tree goes into its cgroup, named in the state and the undo log, and only there" {
	need_root "namespaces and cgroups"
	need_freezer any
	tree_up
	[ -n "$CG" ]
	assert_equal "$CG" "$(jq -r .run.cgroup "$S")/n1"
	[[ $CG == */mv$id/n1 ]]
	grep -qx "cgroup ${CG%/n1}" "$T/undo"
	grep -qx "cgroup $CG" "$T/undo"
	# The shell, its child: every process of the node is in there.
	pid=$(jq -r '.nodes[0].pid' "$S")
	grep -qx "$pid" "$CG/cgroup.procs"
	[ "$(wc -l <"$CG/cgroup.procs")" -ge 2 ]
	# An undo log naming a cgroup not of its run is refused.
	cp "$T/undo" "$T/forged"
	echo "cgroup ${CG%/mv*}" >>"$T/forged"
	run -2 --separate-stderr mv-nemesis heal --undo-log "$T/forged"
	assert_equal "$stderr" \
		"mv-nemesis: $T/forged:$(wc -l <"$T/forged"): not a cgroup of run $id"
	[ -d "${CG%/mv*}" ]
	run -0 mv-nemesis cluster down "$S"
	nothing_left "$id" "$T"
}

@test "freezer: pause freezes parent and child through cgroup v2, resume thaws" {
	need_root "namespaces and cgroups"
	need_freezer v2
	tree_up v2
	[[ $CG == /* ]]
	pause_resume cgroup-v2
	# heal --cluster thaws it too, and counts it.
	run -0 mv-nemesis pause --cluster "$S" --node n1
	run -0 --separate-stderr mv-nemesis heal --cluster "$S"
	assert_equal "$(jq 'select(.f == "heal") | .value.thawed' \
		<<<"$output")" 1
	assert_equal "$(cg_state "$CG")" thawed
	moving
	run -0 mv-nemesis cluster down "$S"
	nothing_left "$id" "$T"
}

@test "freezer: the same through the v1 freezer" {
	need_root "namespaces and cgroups"
	need_freezer v1
	tree_up v1
	[ -e "$CG/freezer.state" ]
	pause_resume cgroup-v1
	run -0 mv-nemesis cluster down "$S"
	nothing_left "$id" "$T"
}

@test "freezer: without a freezer cgroup, pause is SIGSTOP and says so" {
	need_root "namespaces and cgroups"
	tree_up none
	assert_equal "$CG" ""
	assert_equal "$(jq -r .run.cgroup "$S")" null
	pause_resume sigstop
	run -0 mv-nemesis cluster down "$S"
	nothing_left "$id" "$T"
}

@test "freezer: kill -9 of mv-nemesis while frozen; heal --undo-log thaws" {
	need_root "namespaces and cgroups"
	need_freezer any
	tree_up
	[ -n "$CG" ]
	paused_run "$T/h"
	run -0 jq -r 'select(.f == "pause") | .value.method' "$T/h"
	[[ $output == cgroup-v[12] ]]
	grep -qx "freeze $CG" "$T/undo-nem"
	kill -KILL "$nem"
	wait "$nem" || :
	nem=
	exec 5>&-
	# Dead, it healed nothing: the tree stays frozen.
	assert_equal "$(cg_state "$CG")" frozen
	still
	run -0 --separate-stderr mv-nemesis heal --undo-log "$T/undo-nem"
	assert_equal "$(jq -c .value <<<"$output")" '{"continued":0,"thawed":1}'
	assert_equal "$(cg_state "$CG")" thawed
	[ ! -e "$T/undo-nem" ]
	moving
	# Told to stop while the node is frozen, a run thaws it on its way.
	paused_run "$T/h2"
	kill -TERM "$nem"
	wait "$nem" || :
	nem=
	exec 5>&-
	assert_equal "$(cg_state "$CG")" thawed
	[ ! -e "$T/undo-nem" ]
	moving
	run -0 mv-nemesis cluster down "$S"
	nothing_left "$id" "$T"
}

@test "freezer: a frozen tree is killed, terminated, restarted into its cgroup; a dead run's heal removes it" {
	need_root "namespaces and cgroups"
	need_freezer any
	tree_up
	[ -n "$CG" ]
	run -0 mv-nemesis pause --cluster "$S" --node n1
	run -0 --separate-stderr mv-nemesis kill --cluster "$S" --node n1
	assert_equal "$(jq -r .value.effect <<<"$output")" killed
	run -0 cat "$CG/cgroup.procs"
	assert_output ""
	assert_equal "$(cg_state "$CG")" thawed
	run -0 --separate-stderr mv-nemesis restart --cluster "$S" --node n1
	pid=$(jq -r .value.pid <<<"$output")
	grep -qx "$pid" "$CG/cgroup.procs"
	moving
	# SIGTERM acts on a frozen tree: it is thawed after the signal.
	run -0 mv-nemesis pause --cluster "$S" --node n1
	run -0 --separate-stderr mv-nemesis term --cluster "$S" --node n1
	assert_equal "$(jq -r .value.effect <<<"$output")" terminated
	run -0 cat "$CG/cgroup.procs"
	assert_output ""
	run -0 mv-nemesis restart --cluster "$S" --node n1
	run -0 mv-nemesis pause --cluster "$S" --node n1
	assert_equal "$(cg_state "$CG")" frozen
	now=$(cat "$CG/cgroup.procs")
	# The run died (its undo log is all there is): heal kills the frozen
	# tree and removes the cgroups.
	run -0 --separate-stderr mv-nemesis heal --undo-log "$T/undo"
	nothing_left "$id" "$T"
	# Its processes are gone (a pid reused since is in no cgroup of ours).
	for p in $now; do
		for ((k = 0; k < 50; k++)); do
			gone_from_run "$p" && break
			sleep 0.02
		done
		gone_from_run "$p"
	done
}
