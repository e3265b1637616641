#!/usr/bin/env bats
# mv-nemesis and netem: the run-time probe agrees with tc, link faults
# say which method did them (netem where the kernel has it, else the
# NFQUEUE delayer and nftables), --net-method forces one, and nothing is
# left on the switch ports.  Needs root (namespaces).

load common
load netns

setup() {
	mv_setup
	SCRATCH=""
}

teardown() {
	if [ -n "$SCRATCH" ]; then
		ip netns del "$SCRATCH" 2>/dev/null || :
	fi
	heal_undo_logs
}

# What the probe says: "true" or "false".
netem_here() { mv-nemesis probe --cluster "$S" | jq -r .value.netem; }

# Our qdiscs and tables left in the switch, and the probe's links.
left() {
	ip netns exec "mv$id-sw" tc qdisc show | grep -E '4d4e:|4d56:' || :
	ip netns exec "mv$id-sw" nft list tables | grep "mv_${id}_" || :
	ip -n "mv$id-sw" -o link | grep -E 'mv[pq][0-9]' || :
}

# The least time, in ms, of 5 TCP connects from node n2 to n1's port 9,
# where nothing listens: the SYN goes n2 -> n1, the reset comes back.
connect_ms() {
	ip netns exec "mv$id-n2" "$PY" -c 'import socket, sys, time
best = 1e9
for i in range(5):
    s = socket.socket()
    s.settimeout(5)
    t = time.monotonic()
    try:
        s.connect(("10.81.0.1", 9))
    except OSError:
        pass
    best = min(best, time.monotonic() - t)
    s.close()
print(int(best * 1000))'
}

# A one-shot delay n2 -> n1 of 60 ms with options $@, in the foreground
# until SIGTERM: its events go to $T/delay.out; sets ms (connect time).
delay_n2_n1() {
	# A fresh file: the last call's events must not pass for this one's.
	rm -f "$T/delay.out"
	mv-nemesis delay --cluster "$S" --from n2 --to n1 --delay 60ms "$@" \
		>"$T/delay.out" 2>"$T/delay.err" &
	dpid=$!
	# Measure only once the start event is out (the delay in place).  A
	# wait of 5 s here let a sanitized CI run measure under 55 ms once,
	# most likely before the delay was in place; the polls are printed.
	for ((k = 0; k < 600; k++)); do
		grep -qs start-delay "$T/delay.out" && break
		sleep 0.05
	done
	if ! grep -qs start-delay "$T/delay.out"; then
		echo "no start event in 30 s; mv-nemesis in $(cat "/proc/$dpid/wchan" 2>&1)"
		kill -TERM "$dpid" || :
		wait "$dpid" || :
		cat "$T/delay.err"
		return 1
	fi
	ms=$(connect_ms)
	echo "connect ${ms} ms with the delay, start event after $k polls"
	kill -TERM "$dpid" || :
	st=0
	wait "$dpid" || st=$?
	[ "$st" = 0 ] || { cat "$T/delay.err"; return 1; }
}

@test "probe: agrees with tc on a scratch namespace; leaves nothing" {
	need_root
	sleepers_up 10.81.0.0/24
	run -0 --separate-stderr mv-nemesis probe --cluster "$S"
	mine=$(echo "$output" | jq -r .value.netem)
	[ "$(echo "$output" | jq -r .value.switch)" = "mv$id-sw" ]
	# The independent check: a dummy (or, where the kernel has none, a
	# veth) in a namespace of our own, and tc's own netem.
	SCRATCH=mvnetem$$
	ip netns add "$SCRATCH"
	ip -n "$SCRATCH" link add d0 type dummy 2>/dev/null ||
		ip -n "$SCRATCH" link add d0 type veth peer name d1
	tcsays=false
	if ip netns exec "$SCRATCH" tc qdisc add dev d0 root netem delay 10ms \
		2>"$T/tc.err"; then
		tcsays=true
	fi
	assert_equal "$mine" "$tcsays"
	if [ "$mine" = false ]; then
		# The kernel's words, as tc prints them (it adds a full stop).
		why=$(echo "$output" | jq -r .value.netem_error)
		[ -n "$why" ]
		grep -qF "$why" "$T/tc.err"
		[ "$(echo "$output" | jq -r .value.methods.delay)" = nfqueue ]
	fi
	[ -z "$(left)" ]
	run -2 --separate-stderr mv-nemesis probe
	assert_equal "$stderr" "mv-nemesis: probe needs --cluster"
	mv-nemesis cluster down "$S" >/dev/null
	nothing_left "$id" "$T"
}

@test "delay without netem: method nfqueue, the delay measured, nothing left" {
	need_root
	[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] ||
		skip "the delayer needs br_netfilter (modprobe br_netfilter)"
	sleepers_up 10.81.0.0/24
	base=$(connect_ms)
	[ "$base" -lt 40 ]
	# Here auto picks what the probe allows; nfqueue can always be forced.
	if [ "$(netem_here)" = true ]; then
		want=netem
	else
		want=nfqueue
	fi
	delay_n2_n1
	[ "$ms" -ge 55 ]
	assert_equal "$(jq -r .value.method "$T/delay.out" | tr '\n' ' ')" \
		"$want $want "
	[ -z "$(left)" ]
	delay_n2_n1 --net-method nfqueue
	[ "$ms" -ge 55 ]
	assert_equal "$(jq -c '[.value.method, .value.netem]' "$T/delay.out" |
		tr '\n' ' ')" '["nfqueue",null] ["nfqueue",null] '
	[ -z "$(left)" ]
	# A loss without netem says nftables.
	if [ "$want" = nfqueue ]; then
		run -0 --separate-stderr mv-nemesis loss --cluster "$S" \
			--node n1 --percent 10
		assert_equal "$(echo "$output" | jq -c \
			'[.value.method, .value.netem]')" '["nftables",false]'
		run -0 --separate-stderr mv-nemesis heal --cluster "$S"
	fi
	[ -z "$(left)" ]
}

@test "forcing netem where the kernel has none: a one-line error, status 2" {
	need_root
	sleepers_up 10.81.0.0/24
	[ "$(netem_here)" = false ] || skip "the kernel has netem"
	why=$(mv-nemesis probe --cluster "$S" | jq -r .value.netem_error)
	run -2 --separate-stderr mv-nemesis delay --cluster "$S" --node n1 \
		--net-method netem
	assert_equal "$stderr" \
		"mv-nemesis: delay: --net-method netem needs netem: the kernel has no netem: $why"
	assert_equal "$output" ""
	run -2 --separate-stderr mv-nemesis dup --cluster "$S" --node n1 \
		--correlation 25
	assert_equal "$stderr" \
		"mv-nemesis: dup: --correlation needs netem: the kernel has no netem: $why"
	run -2 --separate-stderr mv-nemesis loss --cluster "$S" --node n1 \
		--net-method fast
	assert_equal "$stderr" \
		"mv-nemesis: invalid value for --net-method: 'fast' (auto, netem or nfqueue)"
	[ -z "$(left)" ]
	# A netem line in the undo log heals with the switch namespace.
	echo "netem mv$id-sw p-n1" >>"$T/undo"
	run -0 --separate-stderr mv-nemesis heal --undo-log "$T/undo"
	nothing_left "$id" "$T"
}

@test "netem: delay measured by a TCP connect, healed, nothing left" {
	need_root
	sleepers_up 10.81.0.0/24
	[ "$(netem_here)" = true ] || skip "kernel has no netem"
	base=$(connect_ms)
	[ "$base" -lt 40 ]
	delay_n2_n1 --net-method netem --jitter 2ms --correlation 25
	[ "$ms" -ge 55 ]
	assert_equal "$(jq -r .value.method "$T/delay.out" | tr '\n' ' ')" \
		'netem netem '
	[ "$(jq -r 'select(.f == "stop-delay") | .value.effective' \
		"$T/delay.out")" = true ]
	[ -z "$(left)" ]
	# One-shot loss stays until heal --cluster, which removes the tree.
	run -0 --separate-stderr mv-nemesis loss --cluster "$S" --node n1
	[ "$(echo "$output" | jq -r .value.method)" = netem ]
	grep -q '^netem ' "$T/undo"
	[ -n "$(left)" ]
	run -0 --separate-stderr mv-nemesis heal --cluster "$S"
	[ "$(echo "$output" | jq .value.qdiscs)" -ge 1 ]
	[ -z "$(left)" ]
}

@test "bandwidth --from --to: an htb class on one link until heal; bad usage" {
	need_root
	sleepers_up 10.81.0.0/24
	port=$(jq -r '.nodes[] | select(.name == "n1") | .port' "$S")
	[ -n "$port" ] && [ "$port" != null ]
	run -0 --separate-stderr mv-nemesis bandwidth --cluster "$S" \
		--from n2 --to n1 --rate 2mbit
	assert_equal "$(echo "$output" | jq -c '[.f, .value.kind,
		.value.method, .value.links, .value.rate_bps]')" \
		'["start-bandwidth","bandwidth","htb",[["n2","n1"]],2000000]'
	grep -qx "netem mv$id-sw $port" "$T/undo"
	# The tree on n1's port: a class at the rate, a u32 filter on n2's
	# address (10.81.0.2 = 0a510002 at offset 12), on no other port.
	run -0 ip netns exec "mv$id-sw" tc class show dev "$port"
	assert_output --regexp 'class htb 4d4e:2 root leaf 102: .*rate 2Mbit ceil 2Mbit'
	run -0 ip netns exec "mv$id-sw" tc filter show dev "$port"
	assert_output --partial 'flowid 4d4e:2'
	assert_output --partial 'match 0a510002/ffffffff at 12'
	[ "$(left | grep -c 'qdisc htb 4d4e:')" = 1 ]
	left | grep -q "qdisc htb 4d4e: dev $port root"
	# One link fault at a time per port: the port's root is taken.
	run -2 --separate-stderr mv-nemesis bandwidth --cluster "$S" \
		--from n3 --to n1 --rate 1mbit
	assert_equal "$stderr" \
		"mv-nemesis: mv$id-sw: $port: htb: the port has a root qdisc already"
	run -0 --separate-stderr mv-nemesis heal --cluster "$S"
	assert_equal "$(echo "$output" | jq .value.qdiscs)" 1
	[ -z "$(left)" ]
	# --node: every link into the node, with tbf.
	run -0 --separate-stderr mv-nemesis bandwidth --cluster "$S" \
		--node n1 --rate 1mbit
	assert_equal "$(echo "$output" | jq -c '[.value.method, .value.links]')" \
		'["tbf",[["n2","n1"],["n3","n1"]]]'
	run -0 --separate-stderr mv-nemesis heal --cluster "$S"
	[ -z "$(left)" ]
	run -2 --separate-stderr mv-nemesis bandwidth --cluster "$S" \
		--from n2 --rate 1mbit
	assert_equal "$stderr" \
		"mv-nemesis: bandwidth: give one --node, or --from and --to"
	run -2 --separate-stderr mv-nemesis bandwidth --cluster "$S" \
		--from n2 --to n1 --rate 7kbit
	assert_equal "$stderr" \
		"mv-nemesis: invalid value for --rate: '7kbit' (8kbit to 10gbit)"
	[ -z "$(left)" ]
	mv-nemesis cluster down "$S" >/dev/null
	nothing_left "$id" "$T"
}
