#!/usr/bin/env bats
# mv-gen: reproducible workloads of op records.

load common
load examples

setup() { mv_setup; }

@test "the same seed gives byte-identical output" {
	mv-gen -w stream -k 3 -n 5000 -s 42 --batch 4 >"$T/a"
	mv-gen -w stream -k 3 -n 5000 -s 42 --batch 4 >"$T/b"
	cmp "$T/a" "$T/b"
	mv-gen -w stream -k 3 -n 5000 -s 43 --batch 4 >"$T/c"
	run -1 cmp -s "$T/a" "$T/c"
}

@test "every workload generates valid op records" {
	local w
	for w in register cas-register kv stream set counter; do
		run -0 --separate-stderr mv-gen -w "$w" -k 3 -n 200 -s 5 \
		    --dist zipf
		assert_equal "$stderr" ''
		assert_equal "${#lines[@]}" 201
		[[ ${lines[0]} == '{"type":"meta","gen":{"mv":"0.1.0","workload":"'$w'",'* ]]
		printf '%s\n' "$output" | python3 -c '
import json, sys
w = sys.argv[1]
fs = {"register": {"read", "write"}, "cas-register": {"read", "write", "cas"},
      "kv": {"get", "put", "append"}, "stream": {"read", "append"},
      "set": {"read", "add"}, "counter": {"read", "add"}}[w]
seen = set()
for i, l in enumerate(sys.stdin):
    r = json.loads(l)
    if i == 0:
        assert r["type"] == "meta", r
        continue
    assert r["type"] == "op" and r["f"] in fs, r
    seen.add(r["f"])
assert seen == fs, (seen, fs)
' "$w"
	done
}

@test "values are unique per key" {
	mv-gen -w register -k 4 -n 2000 -s 9 | python3 -c '
import json, sys, collections
c = collections.Counter()
for l in sys.stdin:
    r = json.loads(l)
    if r.get("f") == "write":
        c[(r["key"], r["value"])] += 1
assert c and max(c.values()) == 1
'
}

@test "--rate schedules at and --duration bounds it" {
	run -0 --separate-stderr mv-gen -r 10 -d 1s
	assert_equal "${#lines[@]}" 11
	assert_equal "${lines[1]}" '{"type":"op","f":"write","key":"r0","value":1,"at":0}'
	[[ ${lines[10]} == *'"at":900000000}' ]]
	run -0 mv-gen -r 1000 -d 10s -n 3
	assert_equal "${#lines[@]}" 4
}

@test "read-ratio 1 gives only reads, 0 none" {
	run -0 mv-gen -n 50 --read-ratio 1
	refute_output --partial '"write"'
	run -0 mv-gen -n 50 --read-ratio 0
	refute_output --partial '"read"'
}

@test "bad options exit 2 with one line" {
	local args
	for args in "-w nope" "-n -1" "-n x" "--read-ratio 2" "--dist cauchy" \
	    "-d 1s" "--bogus" "-k 0" "extra" "-n"; do
		# shellcheck disable=SC2086
		run -2 --separate-stderr mv-gen $args
		assert_output ''
		[ "${#stderr_lines[@]}" -eq 1 ] || fail "$args: $stderr"
		[[ $stderr == mv-gen:* ]]
	done
}

@test "--help, --version" {
	run -0 mv-gen --help
	assert_line --index 0 --partial 'usage: mv-gen'
	run -0 mv-gen --version
	assert_output 'mv-gen mv 0.1.0'
}

@test "stdout to /dev/full exits 2" {
	run -2 --separate-stderr sh -c 'mv-gen -n 100000 >/dev/full'
	assert_output ''
	[[ $stderr == mv-gen:* ]]
}

@test "the examples of the page run" {
	run_page_examples mv-gen.1
}
