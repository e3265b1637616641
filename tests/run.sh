#!/bin/sh
# Runs every unit test (TAP) and every bats file against one build, and
# prints the totals as "N passed, N failed" (the last line, read by CI).
# usage: tests/run.sh BUILD_DIR   (MV_BIN and MV_TESTBIN name the binaries)
b=${1:-build}
: "${MV_BIN:=$PWD/$b/bin}" "${MV_TESTBIN:=$PWD/$b/tests}"
export MV_BIN MV_TESTBIN
log=$(mktemp "${TMPDIR:-/tmp}/mv-tests.XXXXXX")
trap 'rm -f "$log"' EXIT
pass=0 fail=0 skip=0
for t in "$MV_TESTBIN"/test_*; do
	[ -x "$t" ] || continue
	echo "== unit $(basename "$t") ($b)"
	"$t" >"$log" 2>&1
	rc=$?
	grep '^not ok' "$log"
	p=$(grep -c '^ok' "$log")
	f=$(grep -c '^not ok' "$log")
	# A crash or a non-zero exit without a "not ok" line still fails.
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1 && tail -5 "$log"
	pass=$((pass + p)) fail=$((fail + f))
done
for t in tests/bats/*.bats; do
	echo "== bats $(basename "$t") ($b)"
	bats --tap "$t" >"$log" 2>&1
	rc=$?
	grep -v '^ok' "$log" | grep -v '^1\.\.' | head -60
	p=$(grep '^ok' "$log" | grep -vc '# skip')
	s=$(grep '^ok' "$log" | grep -c '# skip')
	f=$(grep -c '^not ok' "$log")
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done
echo "$b: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
