#!/bin/sh
# make demo: the newcomer's first run.  The pipeline on the embedded SUT,
# first correct (mv-check must say valid), then with each injected bug
# (mv-check must say invalid and name the anomaly).  Exits non-zero if any
# verdict is not the expected one.
bin=${1:?usage: demo.sh BINDIR}
PATH=$bin:$PATH
dir=$(mktemp -d "${TMPDIR:-/tmp}/mv-demo.XXXXXX")
trap 'rm -rf "$dir"' EXIT
bad=0

echo "== mv-gen -w cas-register -k 4 -n 2000 | mv-exec -c 5 | mv-check"
mv-gen -w cas-register -k 4 -n 2000 -s 1 | mv-exec -c 5 -s 1 |
	tee "$dir/ok.jsonl" | mv-check >"$dir/ok.json"
rc=$?
echo "   exit $rc: $(cat "$dir/ok.json")"
[ "$rc" -eq 0 ] || bad=1
mv-report --verdict "$dir/ok.json" "$dir/ok.jsonl" | sed -n '1,12p'

# No bug, twenty seeds, every workload in turn: each must be valid.
echo "== 20 seeds, no bug: mv-gen -s S | mv-exec -s S | mv-check"
set -- register cas-register kv stream set counter
nvalid=0
for s in $(seq 1 20); do
	w=$(eval "echo \${$((s % 6 + 1))}")
	if mv-gen -w "$w" -k 3 -n 2000 -s "$s" --batch 3 | mv-exec -c 5 -s "$s" |
		mv-check -q >/dev/null; then
		nvalid=$((nvalid + 1))
	else
		echo "   seed $s ($w): not valid" >&2
		bad=1
	fi
done
echo "   $nvalid of 20 valid"

for case in register:stale-read register:lost-write stream:lost-update \
    stream:duplicate-append stream:torn-batch; do
	w=${case%%:*} b=${case#*:}
	echo "== mv-gen -w $w | mv-exec --bug $b | mv-check"
	mv-gen -w "$w" -k 2 -n 3000 -s 7 --batch 3 |
		mv-exec -c 5 -s 7 --bug "$b" --bug-rate 0.05 >"$dir/$b.jsonl"
	mv-check "$dir/$b.jsonl" >"$dir/$b.json" 2>"$dir/$b.err"
	rc=$?
	echo "   exit $rc: $(cat "$dir/$b.err")"
	if [ "$rc" -ne 1 ] || ! grep -q "\"anomaly\":\"$b\"" "$dir/$b.json"; then
		echo "   expected exit 1 and anomaly $b" >&2
		bad=1
	fi
done

echo "== mv-shrink on the stale-read history"
mv-shrink "$dir/stale-read.jsonl" >"$dir/small.jsonl" &&
	cat "$dir/small.jsonl" && mv-check "$dir/small.jsonl" >/dev/null
[ $? -eq 1 ] || bad=1
[ "$bad" -eq 0 ] && echo "demo: every verdict as expected"
exit "$bad"
