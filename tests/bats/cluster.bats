#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031 # S and id: set by tests and sleepers_up
# mv-nemesis cluster: a local cluster in network namespaces, brought up,
# faulted by node name, brought down or healed after a SIGKILL, leaving
# nothing behind.  Needs root (namespaces); etcd tests need etcd 3.4.

load common
load netns

setup() { mv_setup; }

teardown() { heal_undo_logs; }

# A 3-node cluster of HTTP servers, ready when each port answers.
http_cluster() {
	cat >"$T/c.json" <<EOF
{
  "dir": "$T",
  "subnet": "10.77.0.0/24",
  "start": ["$PY", "-m", "http.server", "--bind", "{addr}", "8000"],
  "ready": ["bash", "-c", "exec 5<>/dev/tcp/{addr}/8000"],
  "ready_timeout": "20s",
  "nodes": [{"name": "n1"}, {"name": "n2"}, {"name": "n3"}]
}
EOF
}

# field STATE JQ: one value of the state file.
field() { jq -r "$2" "$1"; }

# http_up: the cluster of http_cluster up with the undo log $T/undo; sets
# S (its state) and id (its run id).
http_up() {
	http_cluster
	run -0 --separate-stderr mv-nemesis cluster up --undo-log "$T/undo" \
		"$T/c.json"
	S=$output
	id=$(field "$S" .run.id)
}

# The root namespace's links, addresses, IPv4 routes and rules (without
# lifetimes, which count down).
root_net() {
	ip -o link | awk '{ print $2 }'
	ip -o addr | awk '{ print $2, $3, $4 }'
	ip -4 route
	ip rule
}

# Can the client of state $1 open port $3 on node address $2?
reach() {
	ip netns exec "$(field "$1" .client.netns)" \
		timeout 2 bash -c "exec 5<>/dev/tcp/$2/$3" 2>/dev/null
}

@test "bad descriptions are trouble, naming the file and field" {
	printf '{"nodes":[{"name":"n1","addr":"10.9.0.1"}],"start":["x"]}' \
		>"$T/a.json"
	run -2 --separate-stderr mv-nemesis cluster up "$T/a.json"
	assert_equal "$stderr" \
		"mv-nemesis: $T/a.json: nodes[0]: addr: not a host address of the subnet"
	printf '{"nodes":[{"name":"n1"},{"name":"n1"}],"start":["x"]}' >"$T/a.json"
	run -2 --separate-stderr mv-nemesis cluster up "$T/a.json"
	assert_equal "$stderr" "mv-nemesis: $T/a.json: nodes[1]: name: used twice"
	printf '{"nodes":[{"name":"n1"}],"start":["x","{nope}"]}' >"$T/a.json"
	run -2 --separate-stderr mv-nemesis cluster up "$T/a.json"
	assert_equal "$stderr" \
		"mv-nemesis: $T/a.json: nodes[0]: unknown placeholder {nope}"
	printf '{"nodes":[{"name":"n1"}],"start":["x"],"colour":1}' >"$T/a.json"
	run -2 --separate-stderr mv-nemesis cluster up "$T/a.json"
	assert_equal "$stderr" \
		"mv-nemesis: $T/a.json: (top): unknown member \"colour\""
	printf '{"nodes":[{"name":"n1"}]' >"$T/a.json"
	run -2 --separate-stderr mv-nemesis cluster up "$T/a.json"
	assert_output ''
	assert_equal "${stderr%%: *}" "mv-nemesis"
	run -2 --separate-stderr mv-nemesis cluster up "$T/none.json"
	assert_equal "$stderr" \
		"mv-nemesis: $T/none.json: No such file or directory"
	run -2 --separate-stderr mv-nemesis cluster sideways "$T/a.json"
	[[ $stderr == "mv-nemesis: unknown cluster command: sideways"* ]]
	# A description is not a state: nothing to bring down.
	printf '{"nodes":[{"name":"n1"}],"start":["x"]}' >"$T/a.json"
	run -2 --separate-stderr mv-nemesis cluster down "$T/a.json"
	assert_equal "$stderr" \
		"mv-nemesis: $T/a.json: a description, not the state of a running cluster"
	# Nothing was made on the way (in a directory of its own: bats keeps
	# its own files, with random names, in $T).
	mkdir "$T/base"
	printf '{"dir":"%s","nodes":[{"name":"n1","addr":"x"}],"start":["x"]}' \
		"$T/base" >"$T/a.json"
	run -2 --separate-stderr mv-nemesis cluster up "$T/a.json"
	assert_equal "$stderr" \
		"mv-nemesis: $T/a.json: nodes[0]: addr: not an IPv4 address"
	run -0 ls -A "$T/base"
	assert_output ''
}

@test "up: servers in their own namespaces, root untouched; down: nothing left" {
	need_root
	root_net >"$T/root.before"
	http_up
	[ "$(field "$S" '.nodes | length')" = 3 ]
	[ "$(field "$S" '.nodes[1].netns')" = "mv$id-n2" ]
	[ "$(field "$S" '.nodes[1].addr')" = 10.77.0.2 ]
	[ "$(field "$S" '.client.addr')" = 10.77.0.254 ]
	run ip netns list
	assert_output --partial "mv$id-sw"
	assert_output --partial "mv$id-client"
	# Each server answers the client, on its own address, in its own
	# namespace, with the bridge port on the switch.
	reach "$S" 10.77.0.1 8000
	reach "$S" 10.77.0.2 8000
	reach "$S" 10.77.0.3 8000
	pid=$(field "$S" ".nodes[2].pid")
	[ "$(readlink "/proc/$pid/ns/net")" = \
		"$(ip netns exec "mv$id-n3" readlink /proc/self/ns/net)" ]
	run -0 ip netns exec "mv$id-sw" ip -o link show master br0
	assert_line --partial 'p-n1@'
	assert_line --partial 'client@'
	# A second run under the same id is refused, harming nothing.
	run -2 --separate-stderr mv-nemesis cluster up --run-id "$id" \
		--undo-log "$T/undo-again" "$T/c.json"
	assert_equal "$stderr" \
		"mv-nemesis: run id $id: in use (/run/netns/mv$id-sw)"
	[ ! -e "$T/undo-again" ]
	reach "$S" 10.77.0.1 8000
	# The root namespace saw nothing of it.
	root_net | diff "$T/root.before" -
	pids=$(jq -r '.nodes[].pid' "$S")
	run -0 --separate-stderr mv-nemesis cluster down "$S"
	assert_equal "$(echo "$output" | jq -c .value)" \
		"{\"run\":\"$id\",\"processes\":3,\"namespaces\":5,\"dirs\":1}"
	# shellcheck disable=SC2086 # one pid a word
	nothing_left "$id" "$T" $pids
	[ ! -e "$T/undo" ]
}

@test "process faults by node name; restart uses the node's own command" {
	need_root
	http_up
	old=$(field "$S" '.nodes[1].pid')
	run -0 --separate-stderr mv-nemesis kill --cluster "$S" --node n2
	assert_equal "$(echo "$output" | jq -c '[.f,.value.node,.value.effect]')" \
		'["kill","n2","killed"]'
	run ! reach "$S" 10.77.0.2 8000
	reach "$S" 10.77.0.1 8000
	# Nothing left to kill: trouble, said as such.
	run -2 --separate-stderr mv-nemesis kill --cluster "$S" --node n2
	assert_equal "$stderr" "mv-nemesis: kill: no such process"
	run -0 --separate-stderr mv-nemesis restart --cluster "$S" --node n2
	assert_equal "$(echo "$output" | jq -c '[.f,.value.node,.value.effect]')" \
		'["restart","n2","restarted"]'
	new=$(field "$S" '.nodes[1].pid')
	[ "$new" != "$old" ]
	[ "$(echo "$output" | jq .value.pid)" = "$new" ]
	for _ in $(seq 50); do reach "$S" 10.77.0.2 8000 && break; sleep 0.1; done
	reach "$S" 10.77.0.2 8000
	# Pause and resume a node's process group.
	run -0 --separate-stderr mv-nemesis pause --cluster "$S" --node n3
	assert_equal "$(echo "$output" | jq -r .value.effect)" stopped
	p3=$(field "$S" '.nodes[2].pid')
	# Stopped: by SIGSTOP, or frozen as its cgroup says (freezer.bats).
	cg3=$(field "$S" '.nodes[2].cgroup // ""')
	if [ -z "$cg3" ]; then
		[ "$(awk '{ print $3 }' "/proc/$p3/stat")" = T ]
	else
		grep -qx -e 'frozen 1' -e FROZEN "$cg3"/cgroup.events \
			"$cg3"/freezer.state 2>/dev/null
	fi
	run -0 --separate-stderr mv-nemesis resume --cluster "$S" --node n3
	assert_equal "$(echo "$output" | jq -r .value.effect)" running
	run -2 --separate-stderr mv-nemesis kill --cluster "$S" --node n9
	assert_equal "$stderr" "mv-nemesis: $S: no node named 'n9'"
	# On a schedule: each kill is undone by restarting the same node.
	mv-nemesis run --cluster "$S" --faults kill --schedule periodic \
		--interval 100ms --duration 200ms -s 2 < <(sleep 1.2) >"$T/h"
	run -0 jq -sr '[.[] | select(.type == "info")
		| "\(.f) \(.value.node) \(.value.effect)"] | join(",")' "$T/h"
	[[ $output == "kill n"?" killed,restart n"?" restarted"* ]]
	# shellcheck disable=SC2016 # $i is jq's
	run -0 jq -sr '[.[] | select(.type == "info") | .value.node] |
		[range(0; length; 2) as $i | .[$i] == .[$i + 1]] | all' "$T/h"
	assert_output true
	for a in 10.77.0.1 10.77.0.2 10.77.0.3; do
		for ((k = 0; k < 50; k++)); do
			reach "$S" "$a" 8000 && break
			sleep 0.1
		done
		reach "$S" "$a" 8000
	done
	pids=$(jq -r '.nodes[].pid' "$S")
	run -0 mv-nemesis cluster down "$S"
	# shellcheck disable=SC2086 # one pid a word
	nothing_left "$id" "$T" $old $pids
}

@test "a real 3-node etcd 3.4 cluster: healthy, a node killed and restarted" {
	need_root
	need_etcd
	etcd_desc "$T/e.json"
	run -0 --separate-stderr mv-nemesis cluster up --undo-log "$T/undo" \
		"$T/e.json"
	S=$output
	id=$(field "$S" .run.id)
	cl=$(field "$S" .client.netns)
	eps=http://10.77.0.1:2379,http://10.77.0.2:2379,http://10.77.0.3:2379
	ctl() { ip netns exec "$cl" etcdctl --endpoints="$eps" \
		--dial-timeout=2s --command-timeout=3s "$@"; }
	run -0 ctl endpoint health
	assert_equal "$(grep -c 'is healthy' <<<"$output")" 3
	run -0 ctl member list
	assert_equal "${#lines[@]}" 3
	run -0 ctl put k v1
	run -0 mv-nemesis kill --cluster "$S" --node e1
	# If e1 led, the others elect a new leader first.
	for ((k = 0; k < 40; k++)); do
		ip netns exec "$cl" etcdctl --endpoints=http://10.77.0.2:2379 \
			--command-timeout=2s put k v2 >/dev/null 2>&1 && break
		sleep 0.25
	done
	[ "$k" -lt 40 ]
	run ! ip netns exec "$cl" etcdctl --endpoints=http://10.77.0.1:2379 \
		--dial-timeout=1s --command-timeout=1s endpoint health
	run -0 mv-nemesis restart --cluster "$S" --node e1
	ok=0
	for _ in $(seq 60); do
		if ip netns exec "$cl" etcdctl --endpoints=http://10.77.0.1:2379 \
			--dial-timeout=1s --command-timeout=1s endpoint health \
			>/dev/null 2>&1; then
			ok=1
			break
		fi
		sleep 0.2
	done
	[ "$ok" = 1 ]
	run -0 ip netns exec "$cl" etcdctl --endpoints=http://10.77.0.1:2379 \
		--command-timeout=3s get k --print-value-only
	assert_output v2
	pids=$(jq -r '.nodes[].pid' "$S")
	run -0 mv-nemesis cluster down "$S"
	# shellcheck disable=SC2086 # one pid a word
	nothing_left "$id" "$T" $pids
}

@test "heal --undo-log removes everything after mv-nemesis was SIGKILLed" {
	need_root
	# Never ready: up waits, and we kill it while it waits.
	cat >"$T/k.json" <<EOF
{
  "dir": "$T",
  "start": ["sleep", "600"],
  "ready": ["false"],
  "ready_timeout": "60s",
  "nodes": [{"name": "n1"}, {"name": "n2"}, {"name": "n3"}]
}
EOF
	mv-nemesis cluster up --undo-log "$T/undo" --run-id "k$$" \
		"$T/k.json" >/dev/null 2>&1 &
	up=$!
	# Until all three run sleep: each was logged, then let go.
	for ((k = 0; k < 100; k++)); do
		pids=$(awk '$1 == "proc" { print $3 }' "$T/undo" 2>/dev/null) || :
		n=0
		for p in $pids; do
			[ "$(cat "/proc/$p/comm" 2>/dev/null)" = sleep ] && n=$((n + 1))
		done
		[ "$n" = 3 ] && break
		sleep 0.05
	done
	kill -KILL "$up"
	wait "$up" || :
	[ "$n" = 3 ]
	run ip netns list
	assert_output --partial "mvk$$-n3"
	for p in $pids; do ! proc_gone "$p"; done
	run -0 --separate-stderr mv-nemesis heal --undo-log "$T/undo"
	assert_equal "$(echo "$output" | jq -c .value)" \
		'{"processes":3,"namespaces":5,"dirs":1,"tables":0}'
	# shellcheck disable=SC2086 # one pid a word
	nothing_left "k$$" "$T" $pids
	[ ! -e "$T/undo" ]
	# Healing again: the log is gone, which is trouble, not a crash.
	run -2 --separate-stderr mv-nemesis heal --undo-log "$T/undo"
}

@test "two runs in parallel do not collide" {
	need_root
	http_cluster
	mv-nemesis cluster up --undo-log "$T/undo1" "$T/c.json" >"$T/s1" &
	a=$!
	mv-nemesis cluster up --undo-log "$T/undo2" "$T/c.json" >"$T/s2" &
	b=$!
	wait "$a"
	wait "$b"
	S1=$(cat "$T/s1")
	S2=$(cat "$T/s2")
	id1=$(field "$S1" .run.id)
	id2=$(field "$S2" .run.id)
	[ "$id1" != "$id2" ]
	# Same addresses, separate networks: each client reaches its own.
	reach "$S1" 10.77.0.3 8000
	reach "$S2" 10.77.0.3 8000
	run -0 mv-nemesis kill --cluster "$S1" --node n3
	run ! reach "$S1" 10.77.0.3 8000
	reach "$S2" 10.77.0.3 8000
	p1=$(jq -r '.nodes[].pid' "$S1")
	p2=$(jq -r '.nodes[].pid' "$S2")
	mv-nemesis cluster down "$S1" >/dev/null &
	a=$!
	mv-nemesis cluster down "$S2" >/dev/null &
	b=$!
	wait "$a"
	wait "$b"
	# shellcheck disable=SC2086 # one pid a word
	nothing_left "$id1" "$T" $p1
	# shellcheck disable=SC2086 # one pid a word
	nothing_left "$id2" "$T" $p2
}

@test "partitions on a cluster: one-shot until heal, and in a run schedule" {
	need_root
	http_up
	# from NODE ADDR: can node NODE open the server at ADDR?
	from() { ip netns exec "mv$id-$1" \
		timeout 1 bash -c "exec 5<>/dev/tcp/$2/8000" 2>/dev/null; }
	run -0 --separate-stderr mv-nemesis partition isolate --cluster "$S" \
		--node n1
	assert_equal "$(echo "$output" | jq -c '[.f,.value.kind,.value.cut]')" \
		'["start-partition","isolate",[["n1","n2"],["n1","n3"],["n2","n1"],["n3","n1"]]]'
	run ! from n2 10.77.0.1
	from n2 10.77.0.3
	run -0 --separate-stderr mv-nemesis heal --cluster "$S"
	assert_equal "$(echo "$output" | jq 'select(.f == "heal") | .value.tables')" 1
	from n2 10.77.0.1
	# In a schedule, with UDP from n2 to n1 every 10 ms all along:
	# nothing crosses while the partition is in force.
	udp_traffic
	run -0 --separate-stderr mv-nemesis run --cluster "$S" --node n1 \
		--faults partition-isolate --schedule periodic --interval 300ms \
		--duration 1s -s 1 < <(sleep 1.5)
	kill "$traffic" || :
	wait "$traffic" || :
	assert_equal "$(echo "$output" | jq -r .f | sort -u | tr '\n' ' ')" \
		'start-partition stop-partition '
	stop=$(echo "$output" |
		jq -sc '[.[] | select(.f == "stop-partition")][0].value')
	assert_equal "$(jq -r .crossed <<<"$stop")" 0
	[ "$(jq -r .sent <<<"$stop")" -gt 10 ]
	assert_equal "$(jq -r .effective <<<"$stop")" true
	run -0 mv-nemesis cluster down "$S"
	nothing_left "$id" "$T"
}

@test "SIGTERM while up waits: everything made so far is undone" {
	need_root
	cat >"$T/k.json" <<EOF2
{
  "dir": "$T",
  "start": ["sleep", "600"],
  "ready": ["false"],
  "ready_timeout": "60s",
  "nodes": [{"name": "n1"}, {"name": "n2"}]
}
EOF2
	mv-nemesis cluster up --undo-log "$T/undo" --run-id "t$$" \
		"$T/k.json" >"$T/out" 2>"$T/err" &
	up=$!
	for ((k = 0; k < 100; k++)); do
		[ "$(grep -c '^proc ' "$T/undo" 2>/dev/null)" = 2 ] && break
		sleep 0.05
	done
	pids=$(awk '$1 == "proc" { print $3 }' "$T/undo")
	kill -TERM "$up"
	st=0
	wait "$up" || st=$?
	[ "$st" = 2 ]
	assert_equal "$(cat "$T/err")" "mv-nemesis: interrupted"
	[ ! -s "$T/out" ]
	[ ! -e "$T/undo" ]
	# shellcheck disable=SC2086 # one pid a word
	nothing_left "t$$" "$T" $pids
}

# udp_traffic: UDP from node n2 to n1 (10.77.0.1) of run $id every 10 ms,
# from when it returns; sets traffic (the sender's pid).
udp_traffic() {
	ip netns exec "mv$id-n2" "$PY" -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"x", ("10.77.0.1", 9))
open(sys.argv[1], "w").close()
while True:
    s.sendto(b"x", ("10.77.0.1", 9))
    time.sleep(0.01)' "$T/sending" >/dev/null 2>&1 &
	traffic=$!
	for ((k = 0; k < 100; k++)); do
		[ -e "$T/sending" ] && break
		sleep 0.1
	done
}

# A 3-node cluster of idle servers and UDP from n2 to n1 every 10 ms;
# sets S (state), id (run id) and traffic (the sender's pid).
link_cluster() {
	sleepers_up 10.77.0.0/24
	udp_traffic
}

# Our tables and qdiscs in the switch namespace of run $1, one a line.
link_faults_of() {
	ip netns exec "mv$1-sw" nft list tables | grep "mv_$1_" || :
	ip netns exec "mv$1-sw" tc qdisc show | grep 4d56: || :
}

# wait_link_faults: waits (5 s at most) until run $id has a table or qdisc
# of ours in its switch.
wait_link_faults() {
	local k
	for ((k = 0; k < 100; k++)); do
		[ -n "$(link_faults_of "$id")" ] && break
		sleep 0.05
	done
}

# killed_run FAULTS [OPTION...]: an mv-nemesis run of FAULTS on node n1 of
# $S, its input the FIFO on fd 6 that the test holds open (so no process
# outlives the test), SIGKILLed once a link fault of it is in place (5 s
# at most); sets made to the link faults it left.
killed_run() {
	local faults=$1 nem
	shift
	mv-nemesis run --cluster "$S" --node n1 --faults "$faults" \
		--schedule periodic --interval 1ms --duration 30s "$@" \
		<&6 >/dev/null 2>&1 &
	nem=$!
	wait_link_faults
	made=$(link_faults_of "$id")
	kill -KILL "$nem" || :
	wait "$nem" || :
}

@test "delay, loss, dup, bandwidth: in a run schedule, one-shot until heal, healed after SIGKILL" {
	need_root
	[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] ||
		skip "the delayer needs br_netfilter (modprobe br_netfilter)"
	link_cluster
	# The NFQUEUE delayer and nftables, whether or not the kernel has
	# netem (netem.bats tests that path).
	run -0 --separate-stderr mv-nemesis run --cluster "$S" --node n1 \
		--faults delay,loss --schedule periodic --interval 200ms \
		--duration 800ms -s 1 --net-method nfqueue < <(sleep 2.1)
	assert_equal "$(echo "$output" | jq -r .f | tr '\n' ' ')" \
		'start-loss stop-loss start-delay stop-delay '
	stops=$(echo "$output" | jq -c 'select(.f | startswith("stop-")) |
		[.value.kind, .value.effective]' | tr '\n' ' ')
	assert_equal "$stops" '["loss",true] ["delay",true] '
	mean=$(echo "$output" | jq 'select(.f == "stop-delay") | .value.mean_ms')
	[ "${mean%.*}" -ge 98 ]
	[ -z "$(link_faults_of "$id")" ]
	# One-shot: stays until heal --cluster.
	run -0 --separate-stderr mv-nemesis loss --cluster "$S" --node n1 \
		--percent 50% --net-method nfqueue
	assert_equal "$(echo "$output" | jq -c '[.f,.value.links]')" \
		'["start-loss",[["n1","n2"],["n1","n3"],["n2","n1"],["n3","n1"]]]'
	run -0 --separate-stderr mv-nemesis bandwidth --cluster "$S" --node n2 \
		--rate 1mbit
	[ "$(link_faults_of "$id" | wc -l)" = 2 ]
	run -2 --separate-stderr mv-nemesis dup --cluster "$S" --node n1 \
		--percent 0
	assert_equal "$stderr" "mv-nemesis: --percent must be in [1, 100]: '0'"
	run -0 --separate-stderr mv-nemesis heal --cluster "$S"
	assert_equal "$(echo "$output" | jq -c '[.value.tables,.value.qdiscs]')" \
		'[1,1]'
	[ -z "$(link_faults_of "$id")" ]
	# A one-shot delay holds its queue in the foreground until SIGTERM.
	mv-nemesis delay --cluster "$S" --from n2 --to n1 --delay 50ms \
		--jitter 5ms --net-method nfqueue >"$T/delay.out" 2>&1 &
	dpid=$!
	wait_link_faults
	sleep 0.5
	kill -TERM "$dpid" || :
	st=0
	wait "$dpid" || st=$?
	[ "$st" = 0 ]
	assert_equal "$(jq -c '[.f, .value.links // .value.effective]' \
		"$T/delay.out" | tr '\n' ' ')" \
		'["start-delay",[["n2","n1"]]] ["stop-delay",true] '
	[ -z "$(link_faults_of "$id")" ]
	# SIGKILLed with a delay in force: heal --cluster removes it.
	mkfifo "$T/in"
	exec 6<>"$T/in"
	killed_run delay --net-method nfqueue
	[ -n "$made" ]
	run -0 --separate-stderr mv-nemesis heal --cluster "$S"
	assert_equal "$(echo "$output" | jq .value.tables)" 1
	[ -z "$(link_faults_of "$id")" ]
	# SIGKILLed with a bandwidth limit: heal of the undo log tears down all.
	killed_run bandwidth
	exec 6>&-
	[ -n "$made" ]
	kill "$traffic" || :
	wait "$traffic" || :
	grep -q '^tbf ' "$T/undo"
	run -0 --separate-stderr mv-nemesis heal --undo-log "$T/undo"
	nothing_left "$id" "$T"
}

# udp NODE ADDR N: N datagrams from node NODE's namespace to ADDR.
udp() {
	# shellcheck disable=SC2016 # the inner shell expands them
	ip netns exec "mv$id-$1" bash -c \
		'for ((i = 0; i < $2; i++)); do echo x >"/dev/udp/$1/9"; done' \
		_ "$2" "$3"
}

# The pid of the last packet counter in the undo log (one-shot partition).
counter_pid() { awk '$1 == "cap" { p = $2 } END { print p }' "$T/undo"; }

@test "one-shot partition: a packet counter until heal reports sent, crossed, dropped" {
	need_root
	sleepers_up 10.78.0.0/24
	run -0 --separate-stderr mv-nemesis partition isolate --cluster "$S" \
		--node n1
	table=$(echo "$output" | jq -r .value.table)
	cp=$(counter_pid)
	[ -n "$cp" ]
	run -1 proc_gone "$cp"
	grep -q "^cap $cp [0-9]* drop $table $T/mv$id/count-$table.json\$" \
		"$T/undo"
	udp n2 10.78.0.1 20
	udp n2 10.78.0.3 5 # not cut: never counted
	run -0 --separate-stderr mv-nemesis heal --cluster "$S"
	assert_equal "${#lines[@]}" 2
	stop=$(echo "$output" | jq -c 'select(.f == "stop-partition") | .value')
	assert_equal "$(jq -r .table <<<"$stop")" "$table"
	assert_equal "$(jq -r .crossed <<<"$stop")" 0
	assert_equal "$(jq -r .effective <<<"$stop")" true
	[ "$(jq -r .sent <<<"$stop")" -ge 20 ]
	link=$(jq -c '.links[] | select(.from == "n2" and .to == "n1")' \
		<<<"$stop")
	[ "$(jq -r .sent <<<"$link")" -ge 20 ]
	assert_equal "$(jq -r .crossed <<<"$link")" 0
	assert_equal "$(jq -r .dropped <<<"$link")" "$(jq -r .sent <<<"$link")"
	assert_equal "$(echo "$output" | jq 'select(.f == "heal") | .value.tables')" 1
	proc_gone "$cp"
	[ ! -e "$T/mv$id/count-$table.json" ]
	# Healed once: a second heal reports no counter again.
	run -0 --separate-stderr mv-nemesis heal --cluster "$S"
	refute_output --partial stop-partition
	# A partition whose table went away behind its back let packets
	# cross: not effective, and said so.
	run -0 --separate-stderr mv-nemesis partition isolate --cluster "$S" \
		--node n1
	table=$(echo "$output" | jq -r .value.table)
	ip netns exec "mv$id-sw" nft delete table bridge "$table"
	udp n2 10.78.0.1 5
	run -0 --separate-stderr mv-nemesis heal --cluster "$S"
	stop=$(echo "$output" | jq -c 'select(.f == "stop-partition") | .value')
	assert_equal "$(jq -r .effective <<<"$stop")" false
	[ "$(jq -r .crossed <<<"$stop")" -ge 5 ]
	assert_equal "$(jq -r .reason <<<"$stop")" \
		"the table was gone before the fault stopped"
	run -0 mv-nemesis cluster down "$S"
	nothing_left "$id" "$T"
}

@test "one-shot partition counter: gone after SIGKILL and heal --undo-log, cluster down, a failed one-shot" {
	need_root
	sleepers_up 10.78.0.0/24
	# Counter killed: heal of the undo log says so, invents no counts.
	run -0 --separate-stderr mv-nemesis partition halves --cluster "$S"
	cp=$(counter_pid)
	run -1 proc_gone "$cp"
	kill -KILL "$cp"
	run -0 --separate-stderr mv-nemesis heal --undo-log "$T/undo"
	stop=$(echo "$output" | jq -c 'select(.f == "stop-partition") | .value')
	assert_equal "$(jq -r .effective <<<"$stop")" null
	assert_equal "$(jq -r .reason <<<"$stop")" \
		"the packet counter (pid $cp) died before it was stopped: no counts"
	assert_equal "$(jq -r 'has("sent")' <<<"$stop")" false
	nothing_left "$id" "$T" "$cp"
	# Counter alive, everything else gone: heal of the undo log stops it
	# and reports its counts before tearing the cluster down.
	sleepers_up 10.78.0.0/24
	run -0 --separate-stderr mv-nemesis partition isolate --cluster "$S" \
		--node n3 --reject
	cp=$(counter_pid)
	udp n1 10.78.0.3 10
	run -0 --separate-stderr mv-nemesis heal --undo-log "$T/undo"
	stop=$(echo "$output" | jq -c 'select(.f == "stop-partition") | .value')
	assert_equal "$(jq -r .kind <<<"$stop")" reject
	assert_equal "$(jq -r .crossed <<<"$stop")" 0
	[ "$(jq -r .sent <<<"$stop")" -ge 10 ]
	assert_equal "$(jq -r .effective <<<"$stop")" true
	nothing_left "$id" "$T" "$cp"
	# cluster down stops it too.
	sleepers_up 10.78.0.0/24
	run -0 --separate-stderr mv-nemesis partition isolate --cluster "$S"
	cp=$(counter_pid)
	run -1 proc_gone "$cp"
	run -0 mv-nemesis cluster down "$S"
	nothing_left "$id" "$T" "$cp"
	# The rules fail (a table of the name it will pick is there): the
	# one-shot exits 2 and leaves no counter and no count file.
	sleepers_up 10.78.0.0/24
	# shellcheck disable=SC2016 # the inner shell expands them
	run -2 --separate-stderr bash -c 'ip netns exec "mv$1-sw" \
		nft add table bridge "mv_$1_$$_0" &&
		exec mv-nemesis partition isolate --cluster "$2"' _ "$id" "$S"
	assert_output ""
	[[ $stderr == *"nftables"* ]]
	cp=$(counter_pid)
	[ -n "$cp" ]
	proc_gone "$cp"
	run ls "$T/mv$id"
	refute_output --partial count-
	run -0 --separate-stderr mv-nemesis heal --cluster "$S"
	refute_output --partial stop-partition
	run -0 mv-nemesis cluster down "$S"
	nothing_left "$id" "$T" "$cp"
}
