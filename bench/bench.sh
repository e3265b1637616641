#!/bin/sh
# make bench: speed figures for the targets of the issues, each printed
# with its ratio to the named baseline measured in the same run.
# usage: bench/bench.sh BINDIR
set -e
bin=${1:?usage: bench.sh BINDIR}
PATH=$bin:$PATH
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mv-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
top=$(cd "$(dirname "$0")/.." && pwd)

now() { date +%s%N; }
rate() { awk -v n="$1" -v t0="$2" -v t1="$3" 'BEGIN { printf "%.0f", n / ((t1 - t0) / 1e9) }'; }

cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I"$top/lib" -o "$tmp/parse" \
	"$top/bench/parse.c" "$top/build/lib/libmv.a"

echo "== NDJSON parse (a ~200 MB history from mv-gen | mv-exec)"
mv-gen -w register -k 10 -n 400000 -s 1 | mv-exec -c 8 -s 1 >"$tmp/h.jsonl"
"$tmp/parse" getline "$tmp/h.jsonl" >/dev/null # warm the page cache
g=$("$tmp/parse" getline "$tmp/h.jsonl")
j=$("$tmp/parse" jsmn "$tmp/h.jsonl")
r=$("$tmp/parse" reader "$tmp/h.jsonl")
echo "  baseline $g"
echo "  baseline $j (tokens only, not strict)"
echo "  mv       $r (strict, every record checked)"
echo "$g $j $r" | awk '{ printf "  parse: %.0f MB/s (target >= 200); %.2fx jsmn, %.2fx getline\n", $20, $20 / $13, $20 / $6 }'

echo "== mv-gen"
n=2000000
t0=$(now); mv-gen -w register -k 10 -n $n -s 1 >/dev/null; t1=$(now)
echo "  mv-gen: $(rate $n "$t0" "$t1") ops/s (register, $n ops)"

echo "== mv-exec on the embedded SUT, -c 8"
n=1000000
mv-gen -w register -k 10 -n $n -s 1 >"$tmp/ops.jsonl"
t0=$(now); mv-exec -c 8 -s 1 <"$tmp/ops.jsonl" >/dev/null; t1=$(now)
echo "  mv-exec: $(rate $n "$t0" "$t1") ops/s (target >= 200000; $n ops)"

# ---- mv-check linearizability (WGL search, budgets) ----
# Figures from the verdict's own stats (search steps, ns) and peak RSS from
# /usr/bin/time -v when present.
peak() { # peak RSS in KB of the command's run, or "?"
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ { print $2 }'
	else
		"$@" >/dev/null 2>&1; echo "?"
	fi
}
jnum() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }

echo "== mv-check: single-register cas, 80 ops, 5 processes, ~15 info (hardest of 50 seeds)"
best=0; bs=1
for s in $(seq 1 50); do
	mv-gen -w cas-register -k 1 -n 80 -s "$s" |
	    mv-exec -c 5 -s "$s" --info-rate 0.19 >"$tmp/cas$s.jsonl"
	st=$(mv-check -q "$tmp/cas$s.jsonl" | jnum steps) || true
	if [ "${st:-0}" -gt "$best" ]; then best=$st; bs=$s; fi
done
info=$(grep -c '"type":"info"' "$tmp/cas$bs.jsonl") || true
out=$(mv-check -q "$tmp/cas$bs.jsonl") || true
st=$(echo "$out" | jnum steps); sn=$(echo "$out" | jnum search_ns); ns=$(echo "$out" | jnum ns)
echo "$st $sn $ns $info" | awk '{ printf "  cas seed '"$bs"' (%d info): %d steps; mv-check: %.1f ns/step in the search (cold: one run in a new process), %.3f ms in all (Porcupine: ~1.2 M steps, ~136 ns/step, ~160 ms: %.4fx the time)\n", $4, $1, $2 / $1, $3 / 1e6, ($3 / 1e6) / 160 }'
# A search of a few hundred steps lasts microseconds, and mv-check's one
# run of it is mostly a new process's cold caches and branch predictors.
# Porcupine's ~136 ns/step comes from a 1.2 M-step search, where such
# start-up costs vanish; bench/wgl.c measures the same way, the whole
# check run 1,001 times in one process, and the warm median is the
# figure held against the target.
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I"$top/lib" -o "$tmp/wgl" \
	"$top/bench/wgl.c" "$top/build/lib/libmv.a"
"$tmp/wgl" -r 1001 "$tmp/cas$bs.jsonl" | awk '{ printf "  same history, whole check x1001 in one process: first run %.1f ns/step, warm median %.1f ns/step (target <= 30: %.2fx; %.2fx Porcupine 136), best %.1f\n", $2 / $1, $3 / $1, ($3 / $1) / 30, ($3 / $1) / 136, $4 / $1 }'
# A history WGL must search hard: writes that never complete, read in
# reverse order, and a last read nobody wrote (2^n configurations).
hard() {
	awk -v n="$1" 'BEGIN {
		print "{\"type\":\"meta\"}"
		for (i = 1; i <= n; i++)
			printf "{\"type\":\"invoke\",\"process\":%d,\"f\":\"write\",\"key\":\"r\",\"value\":%d}\n", i, i
		for (i = 1; i <= n + 1; i++) {
			printf "{\"type\":\"invoke\",\"process\":0,\"f\":\"read\",\"key\":\"r\"}\n"
			printf "{\"type\":\"ok\",\"process\":0,\"f\":\"read\",\"key\":\"r\",\"value\":%d}\n", (i <= n ? n + 1 - i : 999)
		}
	}'
}
hard 14 >"$tmp/hard14.jsonl"
# Best of 5: the machine is shared and noisy; the search is deterministic.
sn=0
for _ in 1 2 3 4 5; do
	out=$(mv-check -q -m register "$tmp/hard14.jsonl") || true
	st=$(echo "$out" | jnum steps); t=$(echo "$out" | jnum search_ns)
	if [ "$sn" -eq 0 ] || [ "$t" -lt "$sn" ]; then sn=$t; fi
done
echo "$st $sn" | awk '{ printf "  14 info writes, searched hard (best of 5): %d steps, %.1f ns/step (target <= 30; %.2fx Porcupine 136)\n", $1, $2 / $1, ($2 / $1) / 136 }'

echo "== mv-check: kv append, 1,712 ops, 50 processes, 10 keys"
mv-gen -w kv -k 10 -n 1712 -s 1 | mv-exec -c 50 -s 1 >"$tmp/kv.jsonl"
t0=$(now); mv-check -q "$tmp/kv.jsonl" >/dev/null || true; t1=$(now)
kb=$(peak mv-check -q "$tmp/kv.jsonl")
awk -v t0="$t0" -v t1="$t1" -v kb="$kb" 'BEGIN { ms = (t1 - t0) / 1e6; printf "  kv: %.1f ms, peak RSS %s KB (target <= 36 ms; Porcupine ~180 ms, 94 MB: %.2fx)\n", ms, kb, ms / 180 }'

echo "== mv-check: register, 1,000,000 ops, 1,000 keys"
mv-gen -w register -k 1000 -n 1000000 -s 1 | mv-exec -c 8 -s 1 >"$tmp/reg1m.jsonl"
t0=$(now); mv-check -q "$tmp/reg1m.jsonl" >/dev/null || true; t1=$(now)
kb=$(peak mv-check -q "$tmp/reg1m.jsonl")
awk -v t0="$t0" -v t1="$t1" -v kb="$kb" 'BEGIN { s = (t1 - t0) / 1e9; printf "  register 1M: %.2f s (target <= 10 s: %.2fx), peak RSS %s KB (target <= 1 GiB: %.2fx)\n", s, s / 10, kb, kb / 1048576 }'

echo "== mv-check --memory-limit 64M on a history too hard for it"
hard 26 >"$tmp/hard26.jsonl"
t0=$(now); set +e; mv-check -q -m register --memory-limit 64M "$tmp/hard26.jsonl" >/dev/null; rc=$?; set -e; t1=$(now)
kb=$(peak mv-check -q -m register --memory-limit 64M "$tmp/hard26.jsonl")
awk -v t0="$t0" -v t1="$t1" -v kb="$kb" -v rc="$rc" 'BEGIN { printf "  memory-limit: exit %d (target 3), %.2f s, peak RSS %s KB (target <= 64 MiB + history: %.2fx)\n", rc, (t1 - t0) / 1e9, kb, kb / 65536 }'

# ---- event-store invariants (lib/estore.c) ----
# The invariants alone are timed by bench/estore.c on a history already in
# memory (loading is the parse bench's business); mv-check end to end too.
# Reads return whole streams, so with fixed keys a history of twice the
# ops is four times the bytes: the keys double with the ops, so that
# doubling the ops doubles the history.  Both sizes are timed by one
# estore run, in turn, five rounds: a slow spell of the machine then
# falls on both alike, and the best round of each counts.
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I"$top/lib" -o "$tmp/estore" \
	"$top/bench/estore.c" "$top/build/lib/libmv.a"
echo "== mv-check: event-store invariants, stream, 1,000,000 and 2,000,000 ops"
mv-gen -w stream -k 10000 -n 1000000 -s 1 | mv-exec -c 8 -s 1 >"$tmp/s1m.jsonl"
t0=$(now); out=$(mv-check -q "$tmp/s1m.jsonl") || true; t1=$(now)
cns=$(echo "$out" | sed -n 's/.*"ns":\([0-9]*\).*/\1/p')
kb=$(peak mv-check -q "$tmp/s1m.jsonl")
mv-gen -w stream -k 20000 -n 2000000 -s 1 | mv-exec -c 8 -s 1 >"$tmp/s2m.jsonl"
e=$("$tmp/estore" -r 5 "$tmp/s1m.jsonl" "$tmp/s2m.jsonl")
rm -f "$tmp/s1m.jsonl" "$tmp/s2m.jsonl"
echo "$e" | awk 'NR == 1 { a = $1; na = $2 } NR == 2 { b = $1; nb = $2 }
    END { printf "  invariants (best of 5, interleaved): 1M ops %.2f s (target <= 5 s: %.2fx), 2M ops %.2f s (%d and %d ops)\n  ratio %.2f (target <= 2)\n", a / 1e9, a / 5e9, b / 1e9, na, nb, b / a }'
awk -v t0="$t0" -v t1="$t1" -v kb="$kb" -v c="${cns:-0}" 'BEGIN { printf "  mv-check end to end, 1M ops: %.2f s (%.2f s after loading: invariants, then the search), peak RSS %s KB\n", (t1 - t0) / 1e9, c / 1e9, kb }'

# ---- mv-exec's Redis driver against redis-benchmark ----
# One redis-server, a 50/50 SET/GET mix from 50 clients both ways: the
# baseline is redis-benchmark's SET and GET over the whole 2n requests.
if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
	echo "== mv-exec --sut redis: skipped (no redis-server or redis-benchmark)"
else
	echo "== mv-exec --sut redis, -c 50, register (50% SET, 50% GET), against redis-benchmark -c 50"
	n=${MV_BENCH_REDIS_N:-200000}
	rport=""
	for p in 26379 26479 26579 26679 26779; do
		redis-cli -p "$p" ping >/dev/null 2>&1 && continue # taken
		redis-server --save '' --appendonly no --dir "$tmp" --port "$p" \
		    --bind 127.0.0.1 --daemonize no >"$tmp/redis.log" 2>&1 &
		rpid=$!
		for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
			redis-cli -p "$p" ping >/dev/null 2>&1 && { rport=$p; break; }
			sleep 0.1
		done
		[ -n "$rport" ] && break
		kill "$rpid" 2>/dev/null || :
	done
	if [ -z "$rport" ]; then
		echo "  skipped: redis-server did not start"
	else
		trap 'kill $rpid 2>/dev/null || :; rm -rf "$tmp"' EXIT
		mv-gen -w register -k 1000 -n "$n" -s 1 >"$tmp/rops.jsonl"
		# CPU seconds of a command (user + system, children included):
		# the per-op cost, which a busy machine does not blur as it
		# blurs the rates.
		cpu() {
			if [ -x /usr/bin/time ]; then
				/usr/bin/time -f '%U %S' -o "$tmp/cpu" "$@"
			else
				"$@"; echo "0 0" >"$tmp/cpu"
			fi
		}
		t0=$(now)
		cpu mv-exec -c 50 --sut "redis://127.0.0.1:$rport" <"$tmp/rops.jsonl" >"$tmp/rh.jsonl"
		t1=$(now)
		mcpu=$(awk '{ print $1 + $2 }' "$tmp/cpu")
		ok=$(grep -c '"type":"ok"' "$tmp/rh.jsonl") || true
		m=$(rate "$n" "$t0" "$t1")
		cpu redis-benchmark -p "$rport" -c 50 -n "$n" -t set,get --csv >"$tmp/rb.csv"
		bcpu=$(awk '{ print $1 + $2 }' "$tmp/cpu")
		b=$(awk -F'"' '$2 == "SET" { s = $4 } $2 == "GET" { g = $4 } END { printf "%.0f %.0f %.0f", s, g, 2 / (1 / s + 1 / g) }' "$tmp/rb.csv")
		echo "$m $b $ok $n $mcpu $bcpu" | awk '{ printf "  redis-benchmark: SET %d, GET %d, mix %d req/s, client CPU %.1f us/req\n  mv-exec --sut redis: %d ops/s (%d of %d ok), client CPU %.1f us/op\n  ratio %.2f (target >= 0.8); client CPU ratio %.2f\n", $2, $3, $4, $8 * 1e6 / (2 * $6), $1, $5, $6, $7 * 1e6 / $6, $1 / $4, $7 / ($8 / 2) }'
		kill "$rpid" 2>/dev/null || :
	fi
fi

# ---- faults in network namespaces (lib/netfault.c, lib/delay.c) ----
# The unit tests build a switch and three nodes in namespaces of their own
# and time the real thing; as root only.
echo "== network faults: partition set-up and heal, NFQUEUE delayer"
if [ "$(id -u)" -ne 0 ]; then
	echo "  skipped: needs root for network namespaces"
else
	"$top/build/tests/test_netfault" 2>&1 | sed -n 's/^# partition/  partition/p'
	"$top/build/tests/test_delay" bench 2>&1 | sed -n 's/^# delayer/  delayer/p'
fi
