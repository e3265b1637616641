#!/usr/bin/env bats
# End to end: real etcd and Redis clusters in network namespaces
# (mv-nemesis cluster up), workloads run through mv-exec's drivers from the
# client namespace, partitions and kills from mv-nemesis, verdicts from
# mv-check.  Each test brings up its own cluster under its own run id and
# takes it down in teardown, even when it fails; the last test checks that
# nothing of any of them remains.  Needs root; the etcd tests need etcd 3.4
# and etcdctl, the Redis tests redis-server and redis-cli.

load common
load netns

setup() {
	mv_setup
	# Every run id this file used, one a line, for the last test.
	IDS=$BATS_FILE_TMPDIR/ids
}

teardown() { heal_undo_logs; }

# up FILE ID: brings the cluster of FILE up under run id ID (recorded for
# the last test first, so that it is checked even if up fails); sets S
# (the state file) and CL (the client namespace).
up() {
	echo "$2 $T" >>"$IDS"
	up_as "$2" "$1"
}

# A 3-member etcd 3.4 cluster with short heartbeats and elections, so that
# a leader lost to a kill or partition is replaced within about a second.
etcd_cluster() {
	etcd_desc "$T/c.json" \
		'"--heartbeat-interval", "50", "--election-timeout", "500"'
}

# A Redis primary r1 and its replica r2, neither saving to disk.
redis_cluster() {
	cat >"$T/c.json" <<EOF
{
  "dir": "$T",
  "start": ["redis-server", "--bind", "{addr}", "--port", "6379",
    "--dir", "{dir}", "--save", "", "--appendonly", "no",
    "--protected-mode", "no", "--repl-diskless-sync-delay", "0"],
  "ready": ["redis-cli", "-h", "{addr}", "-p", "6379", "ping"],
  "nodes": [{"name": "r1"},
    {"name": "r2", "start": ["redis-server", "--bind", "{addr}",
      "--port", "6379", "--dir", "{dir}", "--save", "", "--appendonly", "no",
      "--protected-mode", "no", "--repl-diskless-sync-delay", "0",
      "--replicaof", "{addr:r1}", "6379"]}]
}
EOF
}

# Waits until the replica r2 of state $S has its link to the primary up.
replica_synced() {
	local k
	for ((k = 0; k < 100; k++)); do
		ip netns exec "$CL" redis-cli -h "$(addr r2)" info replication \
			2>/dev/null | grep -q '^master_link_status:up' && return 0
		sleep 0.1
	done
	return 1
}

# wait_replica V: waits (10 s at most) until the replica r2 of state $S
# returns V for the register; says so on standard error if it never does.
wait_replica() {
	local k
	for ((k = 0; k < 100; k++)); do
		[ "$(ip netns exec "$CL" redis-cli -h "$(addr r2)" get e2e/r)" = "$1" ] &&
			return 0
		sleep 0.1
	done
	echo "replica never had $1" >&2
	return 1
}

# addr NODE: the address of NODE in state $S.
addr() { jq -r --arg n "$1" '.nodes[] | select(.name == $n) | .addr' "$S"; }

# op write V | op read: one register op on key r, as mv-gen writes it.
op() {
	if [ "$1" = read ]; then
		printf '{"type":"op","f":"read","key":"r"}\n'
	else
		printf '{"type":"op","f":"write","key":"r","value":%d}\n' "$2"
	fi
}

# feed_op write V | feed_op read: writes the op, then waits (10 s at most)
# until the history $T/h has one more client completion.
feed_op() {
	local n k
	n=$(done_ops)
	op "$@"
	for ((k = 0; k < 500; k++)); do
		[ "$(done_ops)" -gt "$n" ] && return 0
		sleep 0.02
	done
	return 1
}

# How many client completions $T/h holds (grep -c fails on none).
done_ops() { grep -c '"type":"\(ok\|fail\|info\)","process":[0-9]' "$T/h" || :; }

# The type and node of the last client completion in $T/h.
last() {
	grep '"type":"\(ok\|fail\|info\)","process":[0-9]' "$T/h" | tail -n 1 |
		jq -r '"\(.type) \(.ovc.src)"'
}

# redis_up ID: the Redis cluster up under run id ID, its replica synced;
# sets p and r (the addresses of the primary r1 and the replica r2).
redis_up() {
	need_root
	need_redis
	redis_cluster
	up "$T/c.json" "$1"
	replica_synced
	p=$(addr r1)
	r=$(addr r2)
}

# replica_misses_write: the ops and the fault before each Redis test's
# own: a write of 1 the replica has, two reads, the replica cut off from
# the primary, a write of 2 it misses.
replica_misses_write() {
	op write 1
	wait_replica 1
	op read
	op read
	mv-nemesis partition isolate --cluster "$S" --node r2
	op write 2
	sleep 0.2
}

# redis_exec: the register ops on standard input run one at a time (-c 1:
# mv-exec records each completion before it reads the next line, so the
# history keeps their order), writes to the primary, reads from the
# replica, into the history $T/h.
redis_exec() {
	mv-exec -w register --netns "$CL" -c 1 --timeout 1s \
		--sut "redis://$p:6379?read=$r:6379&prefix=e2e/" >"$T/h"
}

@test "etcd, linearizable reads, under partitions and kills: valid" {
	need_root
	need_etcd
	etcd_cluster
	up "$T/c.json" "ea$$"
	eps=$(jq -r '[.nodes[] | "\(.addr):2379"] | join(",")' "$S")
	set -o pipefail
	# 300 ops on 3 keys over 10 s; a fault 1 s after the last one ended,
	# each for 1.5 s: seed 5 draws a kill (undone by a restart of the
	# node), a majority-minority partition, then two isolations.
	mv-gen -w register -k 3 -n 300 -r 30 -s 7 |
		mv-nemesis run --cluster "$S" -s 5 --schedule periodic \
			--interval 1s --duration 1500ms \
			--faults partition-majority-minority,partition-isolate,kill |
		mv-exec --pace --netns "$CL" -c 8 --timeout 2s \
			--sut "etcd://$eps" >"$T/h"
	set +o pipefail
	# The faults are in the history, in pairs, each partition with an
	# efficacy report: traffic was sent on the cut links, none crossed.
	run -0 jq -r 'select(.process == "nemesis") | .f' "$T/h"
	starts=$(grep -c '^start-partition$' <<<"$output")
	[ "$starts" -ge 2 ]
	[ "$(grep -c '^stop-partition$' <<<"$output")" = "$starts" ]
	[ "$(grep -c '^kill$' <<<"$output")" -ge 1 ]
	[ "$(grep -c '^kill$' <<<"$output")" = "$(grep -c '^restart$' <<<"$output")" ]
	run -0 jq -sc '[.[] | select(.f == "start-partition") | .value.kind]
		| unique' "$T/h"
	assert_output '["isolate","majority-minority"]'
	run -0 jq -sc '[.[] | select(.f == "stop-partition") | .value.crossed]
		| unique' "$T/h"
	assert_output '[0]'
	run -0 jq -sc '[.[] | select(.f == "stop-partition") | .value.sent > 0]
		| unique' "$T/h"
	assert_output '[true]'
	run -0 jq -sc '[.[] | select(.f == "kill" or .f == "restart")
		| .value.effect] | unique' "$T/h"
	assert_output '["killed","restarted"]'
	# The workload ran through all three members, mostly ok.
	[ "$(grep -c '"type":"invoke"' "$T/h")" = 300 ]
	[ "$(grep -c '"type":"ok"' "$T/h")" -ge 100 ]
	run -0 jq -sc '[.[] | select(.type == "ok") | .ovc.src] | unique
		| length' "$T/h"
	assert_output 3
	run -0 --separate-stderr mv-check "$T/h"
	assert_equal "$(jq -r .valid <<<"$output")" true
	down
}

@test "etcd, serializable reads from an isolated member: stale-read" {
	need_root
	need_etcd
	etcd_cluster
	up "$T/c.json" "eb$$"
	all=$(jq -r '[.nodes[] | "\(.addr):2379"] | join(",")' "$S")
	# Isolate a follower: isolating the leader would leave the majority
	# without one until it elects another.  etcdctl's "simple" status is
	# endpoint, id, version, db size, is leader, ...
	run -0 ip netns exec "$CL" etcdctl --endpoints="$all" \
		--command-timeout=3s endpoint status -w simple
	iso=$(awk -F', ' '$5 == "false" { print $1; exit }' <<<"$output")
	maj=$(awk -F', ' '$5 == "true" { print $1; exit }' <<<"$output")
	[ -n "$iso" ] && [ -n "$maj" ]
	node=$(jq -r --arg a "${iso%:*}" '.nodes[] | select(.addr == $a)
		| .name' "$S")
	mnode=$(jq -r --arg a "${maj%:*}" '.nodes[] | select(.addr == $a)
		| .name' "$S")
	# One op at a time (-c 1), each sent only once the last one's
	# completion is in the history (mv-exec records it before it reads the
	# next line).  The driver's one worker is bound to one of the two
	# endpoints and moves to the other after an op whose answer was lost:
	# a write to the isolated member times out, and so does a read from
	# the leader while it is paused.  So: a write the leader takes, a read
	# there that sees it, a read from the isolated member that does not.
	: >"$T/h"
	{
		feed_op write 1
		feed_op read
		mv-nemesis partition isolate --cluster "$S" --node "$node"
		for v in 2 3 4; do
			feed_op write "$v"
			[ "$(last)" = "ok $maj" ] && break
			sleep 0.5 # until the worker gave up too
		done
		feed_op read
		mv-nemesis pause --cluster "$S" --node "$mnode"
		feed_op read
		sleep 0.5
		mv-nemesis resume --cluster "$S" --node "$mnode"
		feed_op read
		feed_op read
	} | mv-exec -w register --netns "$CL" -c 1 --timeout 500ms \
		--line-buffered --sut "etcd://$maj,$iso?reads=serializable" >"$T/h"
	run -0 --separate-stderr mv-nemesis heal --cluster "$S"
	run -0 jq -sc '[.[] | select(.f == "start-partition")
		| [.value.kind, .value.cut[][]] | unique] ' "$T/h"
	assert_output --partial '"isolate"'
	assert_output --partial "\"$node\""
	run -1 --separate-stderr mv-check "$T/h"
	assert_equal "$(jq -r .anomaly <<<"$output")" stale-read
	# The stale read named is one the isolated member answered.
	line=$(jq -r '.ops[-1].line' <<<"$output")
	run -0 sed -n "${line}p" "$T/h"
	assert_equal "$(jq -r '[.type, .f, .ovc.src] | join(" ")' \
		<<<"$output")" "ok read $iso"
	down
}

@test "Redis, reads from a replica cut off from its primary: stale-read" {
	redis_up "ec$$"
	# One write while the replica is cut off, reads that miss it, then
	# the heal, and reads once the replica has it: the write was seen, so
	# the reads that missed it were stale, not the write lost.
	{
		replica_misses_write
		for _ in 1 2 3 4 5; do
			op read
			sleep 0.05
		done
		mv-nemesis heal --cluster "$S" >/dev/null
		wait_replica 2
		op read
		op read
	} | redis_exec
	run -0 jq -sc '[.[] | select(.type == "ok") | "\(.f) \(.value)"]' "$T/h"
	assert_output --partial '"write 2"'
	assert_output --partial '"read 2"'
	run -1 --separate-stderr mv-check "$T/h"
	assert_equal "$(jq -r .anomaly <<<"$output")" stale-read
	assert_equal "$(jq -c '[.ops[] | [.f, .value]]' <<<"$output")" \
		'[["write",1],["write",2],["read",1]]'
	down
}

@test "Redis, primary killed, replica promoted: the write it missed is lost" {
	redis_up "ed$$"
	# The replica misses write 2 (partitioned), the primary dies with it
	# (SIGKILL, no disk), the replica becomes the primary: every later
	# read returns 1, and no read ever returned 2.  The kill is in the
	# history, after the write's ok (-c 1 keeps the order), so mv-check's
	# durability pass names the acknowledged write lost across the crash
	# (without the kill event the search would call it lost-write).
	{
		replica_misses_write
		mv-nemesis kill --cluster "$S" --node r1
		ip netns exec "$CL" redis-cli -h "$r" replicaof no one >/dev/null
		for _ in 1 2 3; do
			op read
			sleep 0.05
		done
	} | redis_exec
	run -0 jq -sc '[.[] | select(.process == "nemesis")
		| [.f, .value.kind // .value.effect]]' "$T/h"
	assert_output '[["start-partition","isolate"],["kill","killed"]]'
	run -0 ip netns exec "$CL" redis-cli -h "$r" role
	assert_line -n 0 master
	run -1 --separate-stderr mv-check "$T/h"
	assert_equal "$(jq -r .anomaly <<<"$output")" lost-after-crash
	assert_equal "$(jq -c '[.ops[] | [.f, .value]]' <<<"$output")" \
		'[["write",2],["read",1]]'
	down
}

@test "nothing of the clusters above remains" {
	need_root
	[ -s "$IDS" ] || skip "no cluster test ran"
	mapfile -t runs <"$IDS"
	for r in "${runs[@]}"; do
		read -r id dir <<<"$r"
		# The test's own directory is still there; the run's is gone.
		[ -d "$dir" ]
		[ ! -e "$dir/undo" ]
		nothing_left "$id" "$dir"
	done
	# The root namespace got no qdisc of ours.
	run -0 tc qdisc show
	refute_output --partial netem
}
