#!/usr/bin/env bats
# Hostile input to every tool that reads histories: one line naming the
# file and line, exit status 2, no crash (run on the sanitizer build too).

load common

setup() {
	mv_setup
	inv='{"type":"invoke","process":0,"f":"read","key":"r0"}'
	okr='{"type":"ok","process":0,"f":"read","key":"r0","value":null}'
}

# Runs every reading tool on FILE; each must print exactly one stderr line
# matching PATTERN, nothing on stdout, and exit 2.
each_tool_rejects() {
	local file=$1 pattern=$2 tool
	for tool in mv-check mv-shrink mv-report; do
		run -2 --separate-stderr "$tool" "$file"
		assert_output ''
		[ "${#stderr_lines[@]}" -eq 1 ] ||
			fail "$tool: ${#stderr_lines[@]} stderr lines: $stderr"
		[[ $stderr =~ $pattern ]] ||
			fail "$tool: '$stderr' does not match '$pattern'"
	done
}

@test "truncated last line" {
	printf '%s\n%s' "$inv" '{"type":"ok","process":0,"f":"re' >"$T/h"
	each_tool_rejects "$T/h" "^mv-[a-z]+: $T/h:2: invalid JSON: "
}

@test "invalid JSON" {
	printf '%s\n{"type":"ok",,}\n' "$inv" >"$T/h"
	each_tool_rejects "$T/h" "^mv-[a-z]+: $T/h:2: invalid JSON: "
}

@test "wrong types" {
	printf '{"type":"invoke","process":"zero","f":"read"}\n' >"$T/h"
	each_tool_rejects "$T/h" ":1: \"process\" is not a non-negative integer"
	printf '{"type":["invoke"],"process":0,"f":"read"}\n' >"$T/h"
	each_tool_rejects "$T/h" ":1: \"type\" is not a string"
	printf '{"type":"invoke","process":0,"f":7}\n' >"$T/h"
	each_tool_rejects "$T/h" ":1: \"f\" is not a string"
	printf '{"type":"invoke","process":0,"f":"read","time":-4}\n' >"$T/h"
	each_tool_rejects "$T/h" ":1: \"time\" is not a non-negative integer"
}

@test "invalid UTF-8" {
	printf '{"type":"invoke","process":0,"f":"re\xc3\x28d"}\n' >"$T/h"
	each_tool_rejects "$T/h" ":1: invalid JSON: invalid UTF-8 in string"
	printf '{"type":"invoke","process":0,"f":"\xed\xa0\x80"}\n' >"$T/h"
	each_tool_rejects "$T/h" ":1: invalid JSON: invalid UTF-8 in string"
}

@test "a 100 MB line" {
	{
		printf '%s\n{"type":"ok","process":0,"f":"read","value":"' "$inv"
		head -c 100000000 /dev/zero | tr '\0' 'a'
		printf '"}\n'
	} >"$T/h"
	each_tool_rejects "$T/h" ":2: line longer than 67108864 bytes"
}

@test "double invoke" {
	printf '%s\n%s\n' "$inv" "$inv" >"$T/h"
	each_tool_rejects "$T/h" \
	    ":2: process 0 invokes while its op at line 1 is still open"
}

@test "completion without invoke" {
	printf '%s\n' "$okr" >"$T/h"
	each_tool_rejects "$T/h" ":1: ok by process 0 without an invocation"
}

@test "non-ascending index" {
	printf '{"index":0,%s\n{"index":0,%s\n' "${inv#\{}" "${okr#\{}" >"$T/h"
	each_tool_rejects "$T/h" ":2: \"index\" 0 does not follow 0"
}

@test "binary garbage" {
	head -c 4096 /dev/urandom >"$T/h"
	printf '\n' >>"$T/h"
	for tool in mv-check mv-shrink mv-report; do
		run -2 --separate-stderr "$tool" "$T/h"
		[[ $stderr =~ ^$tool:\ $T/h:[0-9]+:\  ]] || fail "$tool: $stderr"
	done
}

@test "a missing file" {
	for tool in mv-check mv-shrink mv-report; do
		run -2 --separate-stderr "$tool" "$T/nope"
		assert_equal "$stderr" "$tool: $T/nope: No such file or directory"
	done
}

@test "mv-exec rejects a bad workload line with file:line" {
	printf '{"type":"op","f":"write","key":"r0","value":1}\n{"type":"op",\n' \
	    >"$T/ops"
	run -2 --separate-stderr mv-exec "$T/ops"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "$stderr"
	[[ $stderr =~ ^mv-exec:\ $T/ops:2:\ invalid\ JSON ]] || fail "$stderr"
}

@test "the example history of mv-history(5) is read and valid" {
	mandoc -T ascii "$BATS_TEST_DIRNAME/../../man/mv-history.5" | col -bx |
		sed -n '/^EXAMPLES/,/^SEE ALSO/s/^ *\({.*}\)$/\1/p' >"$T/h"
	run -0 wc -l <"$T/h"
	[ "$output" -ge 4 ]
	run -0 mv-check "$T/h"
}

# The pipeline's readers of op streams: mv-exec (file and stdin) and
# mv-nemesis run (stdin), which must leave its target running.
@test "op streams: mv-exec and mv-nemesis run reject each hostile line" {
	local op='{"type":"op","f":"read","key":"r0"}' pid k w
	local -a bad=('{"type":"op","f":"re' '{"type":"op",,}'
	    '{"type":"op","f":7}' $'{"type":"op","f":"re\xc3\x28d"}'
	    '{"type":"op","f":"read","f":"read"}')
	local -a why=('invalid JSON: ' 'invalid JSON: ' '"f" is not a string'
	    'invalid JSON: invalid UTF-8' 'duplicate member "f"')
	sleep 60 &
	pid=$!
	for k in "${!bad[@]}"; do
		w=${why[$k]}
		printf '%s\n%s\n' "$op" "${bad[$k]}" >"$T/ops"
		run -2 --separate-stderr mv-exec "$T/ops"
		[[ $stderr == "mv-exec: $T/ops:2: $w"* ]] || fail "$stderr"
		# shellcheck disable=SC2016 # the inner shell expands
		run -2 --separate-stderr sh -c 'mv-exec <"$1" >/dev/null' _ "$T/ops"
		[[ $stderr == "mv-exec: <stdin>:2: $w"* ]] || fail "$stderr"
		# shellcheck disable=SC2016 # the inner shell expands
		run -2 --separate-stderr sh -c \
		    'mv-nemesis run --pid "$2" <"$1" >/dev/null' _ "$T/ops" "$pid"
		[[ $stderr == "mv-nemesis: <stdin>:2: $w"* ]] ||
			fail "$stderr"
		[ "$(ps -o stat= -p "$pid" | cut -c1)" != T ] || fail "left stopped"
	done
	{
		printf '{"type":"op","f":"read","value":"'
		head -c 70000000 /dev/zero | tr '\0' a
		printf '"}\n'
	} >"$T/ops"
	run -2 --separate-stderr mv-exec "$T/ops"
	assert_equal "$stderr" "mv-exec: $T/ops:1: line longer than 67108864 bytes"
	# shellcheck disable=SC2016 # the inner shell expands
	run -2 --separate-stderr sh -c \
	    'mv-nemesis run --pid "$2" <"$1" >/dev/null' _ "$T/ops" "$pid"
	assert_equal "$stderr" \
	    "mv-nemesis: <stdin>:1: line longer than 67108864 bytes"
	kill "$pid"
}
