# Shared by the suites that bring clusters up in network namespaces with
# mv-nemesis cluster (load netns, after common): the skips for what they need,
# the teardown that heals what a test left, a cluster of sleepers, an
# etcd cluster's description, up and down under a run id, and the check
# that nothing of a run is left.  The helpers use $T (the test's scratch
# directory) for descriptions, undo logs and run directories.

# need_root [WHY]: skips unless we are root (for WHY, by default network
# namespaces), have the tools the checks use (ip, tc, nft, jq) and can
# make a network namespace.
need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root for ${1:-network namespaces}"
	{ command -v ip && command -v tc; } >/dev/null ||
		skip "needs iproute2 (ip, tc) to check"
	command -v nft >/dev/null || skip "needs nftables (nft) to check"
	command -v jq >/dev/null || skip "needs jq"
	unshare -n true 2>/dev/null || skip "cannot create a network namespace"
}

need_etcd() {
	command -v etcd >/dev/null ||
		skip "etcd is not installed (Debian: etcd-server)"
	command -v etcdctl >/dev/null ||
		skip "etcdctl is not installed (Debian: etcd-client)"
}

need_redis() {
	command -v redis-server >/dev/null ||
		skip "redis-server is not installed (Debian: redis-server)"
	command -v redis-cli >/dev/null ||
		skip "redis-cli is not installed (Debian: redis-tools)"
}

# heal_undo_logs: whatever a test left, its undo logs ($T/undo*, the
# cluster's "undo" first) remove; for teardown, so never fails.
heal_undo_logs() {
	local u
	for u in "$T"/undo*; do
		[ -f "$u" ] && mv-nemesis heal --undo-log "$u" >/dev/null 2>&1
	done
	return 0
}

# sleepers_up SUBNET: a 3-node cluster n1..n3 of sleepers (no server:
# fast) on SUBNET, up with the undo log $T/undo; sets S (its state) and
# id (its run id).
sleepers_up() {
	cat >"$T/sleepers.json" <<EOF
{
  "dir": "$T",
  "subnet": "$1",
  "start": ["sleep", "600"],
  "ready": ["true"],
  "nodes": [{"name": "n1"}, {"name": "n2"}, {"name": "n3"}]
}
EOF
	S=$(mv-nemesis cluster up --undo-log "$T/undo" "$T/sleepers.json")
	id=$(jq -r .run.id "$S")
}

# etcd_desc FILE [ARGS]: writes to FILE the description of a 3-member
# etcd 3.4 cluster e1..e3, each member started with ARGS too (JSON strings,
# comma-separated), ready when its endpoint is healthy.
etcd_desc() {
	cat >"$1" <<EOF
{
  "dir": "$T",
  "peer": "{node}=http://{addr}:2380",
  "start": ["etcd", "--name", "{node}", "--data-dir", "{dir}/data",
    "--listen-peer-urls", "http://{addr}:2380",
    "--initial-advertise-peer-urls", "http://{addr}:2380",
    "--listen-client-urls", "http://{addr}:2379",
    "--advertise-client-urls", "http://{addr}:2379",
    "--initial-cluster", "{peers}", "--initial-cluster-state", "new",
    "--initial-cluster-token", "mv-{run}"${2:+, $2}],
  "ready": ["etcdctl", "--endpoints=http://{addr}:2379",
    "--dial-timeout=1s", "--command-timeout=1s", "endpoint", "health"],
  "ready_timeout": "30s",
  "nodes": [{"name": "e1"}, {"name": "e2"}, {"name": "e3"}]
}
EOF
}

# up_as ID FILE: brings the cluster of FILE up under run id ID with the
# undo log $T/undo; sets S (the state file) and CL (the client namespace).
up_as() {
	run -0 --separate-stderr mv-nemesis cluster up --undo-log "$T/undo" \
		--run-id "$1" "$2"
	S=$output
	# shellcheck disable=SC2034 # for the suites
	CL=$(jq -r .client.netns "$S")
}

# down: brings the cluster of state $S down, checks that it said so, that
# its undo log $T/undo is gone and that its namespaces are.
down() {
	local id
	id=$(jq -r .run.id "$S")
	run -0 --separate-stderr mv-nemesis cluster down "$S"
	assert_equal "$(jq -r .f <<<"$output")" cluster-down
	[ ! -e "$T/undo" ]
	run -1 grep "^mv$id-" <(ip netns list)
}

# proc_gone PID: 0 if process PID is gone (a zombie waiting for init
# counts as gone).
proc_gone() {
	local s
	s=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$s" ] || [ "$s" = Z ] || [ "$s" = X ]
}

# nothing_left ID DIR [PID...]: fails unless nothing of run ID, made in
# directory DIR, remains: no namespace of it (and with them their links,
# qdiscs and tables), no nftables table of it in the root namespace, no run
# directory, no cgroup of it under any cgroup mount, none of the processes
# PID and no process with the run directory in its command line (each
# given 3 s to go).
nothing_left() {
	local id=$1 dir=$2 p k mnts
	shift 2
	run -0 ip netns list
	refute_output --partial "mv$id-"
	run -0 nft list tables
	refute_output --partial "mv_${id}_"
	[ ! -e "$dir/mv$id" ]
	# shellcheck disable=SC2016 # awk's fields
	run -0 awk '$3 ~ /^cgroup2?$/ { print $2 }' /proc/self/mounts
	mnts=("${lines[@]}")
	for p in "${mnts[@]}"; do
		[ ! -e "$p/mv$id" ]
		run compgen -G "$p/mv$id*"
		assert_output ""
	done
	run compgen -G "/sys/fs/cgroup/*/mv$id*"
	assert_output ""
	for p in "$@"; do
		for ((k = 0; k < 30; k++)); do
			proc_gone "$p" && break
			sleep 0.1
		done
		proc_gone "$p"
	done
	for ((k = 0; k < 30; k++)); do
		pgrep -f "/mv$id/" >/dev/null || break
		sleep 0.1
	done
	run ! pgrep -af "/mv$id/"
}
