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
