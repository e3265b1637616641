#!/usr/bin/env bats
# mv-exec --sut pg://: the stream workload (expected-version appends in one
# transaction) and register, cas-register and kv against a private
# PostgreSQL 15; the naive client's race found by mv-check; the server
# stopped or paused mid-run; an absent server; malformed targets.

load common

# The newest PostgreSQL installed (Debian 12: 15), unless PGBIN says.
PGBIN=${PGBIN:-$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -1)}

# pg_run COMMAND...: runs a PostgreSQL program as the postgres user, which
# PostgreSQL requires (it refuses to run as root).
pg_run() {
	runuser -u postgres -- "$@"
}

# pg_start DATA PORT: starts the server of DATA, its socket in the
# directory above DATA, no TCP; waits until it accepts connections.
pg_start() {
	pg_run "$PGBIN/pg_ctl" -D "$1" -l "$1.log" -w -t 60 \
		-o "-p $2 -k $(dirname "$1") -c listen_addresses='' -c fsync=off -c max_connections=200" \
		start >/dev/null
}

# pg_stop DATA: stops the server of DATA at once; kills it if pg_ctl fails.
pg_stop() {
	local pid
	[ -f "$1/postmaster.pid" ] || return 0
	pid=$(head -1 "$1/postmaster.pid")
	pg_run "$PGBIN/pg_ctl" -D "$1" -m immediate -w -t 20 stop \
		>/dev/null 2>&1 || kill -KILL "$pid" 2>/dev/null || :
}

# One server for the file.  A reason to skip is passed on in PG_SKIP.
setup_file() {
	export PG_SKIP=
	if [ "$(id -u)" != 0 ]; then
		PG_SKIP="needs root (runs PostgreSQL as the postgres user)"
	elif [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pg_ctl" ] ||
		[ ! -x "$PGBIN/psql" ]; then
		PG_SKIP="PostgreSQL server and psql not found in /usr/lib/postgresql/*/bin (Debian: postgresql)"
	elif ! id postgres >/dev/null 2>&1; then
		PG_SKIP="no postgres user"
	fi
	[ -z "$PG_SKIP" ] || return 0
	PGDIR=$(mktemp -d /tmp/mv-pg.XXXXXX)
	export PGDIR PGPORT=$((20000 + RANDOM % 30000))
	chmod 755 "$PGDIR"
	chown postgres "$PGDIR"
	if ! pg_run "$PGBIN/initdb" --no-sync -A trust -U postgres \
		-D "$PGDIR/main" >"$PGDIR/initdb.log" 2>&1 ||
		! pg_start "$PGDIR/main" "$PGPORT"; then
		cat "$PGDIR"/*.log >&2 || :
		teardown_file
		return 1
	fi
}

teardown_file() {
	[ -n "${PGDIR:-}" ] && [ -d "$PGDIR" ] || return 0
	pg_stop "$PGDIR/main"
	rm -rf "$PGDIR"
}

setup() {
	[ -z "$PG_SKIP" ] || skip "$PG_SKIP"
	mv_setup
	SUT="pg://host=$PGDIR port=$PGPORT dbname=postgres user=postgres"
}

# q SQL: one query on the main server, unaligned.
q() {
	"$PGBIN/psql" -X -h "$PGDIR" -p "$PGPORT" -U postgres -d postgres \
		-Atc "$1"
}

# counts FILE: the number of each type of event in history FILE and of
# each error (its first word), as "invoke=300 ok=280 fail=20 ...".  Fails
# when an invocation has no completion; mv-check, which every test runs
# too, rejects a history that breaks any other rule of mv-history(5).
counts() {
	local t n c=
	for t in invoke ok fail info; do
		n=$(grep -c "\"type\":\"$t\"" "$1" || :)
		c+="$t=$n "
	done
	c+=$(grep -o '"error":"[^" ]*' "$1" | sed 's/"error":"//' |
		sort | uniq -c | awk '{printf "%s=%d ", $2, $1}')
	echo "$c"
	[ "$(grep -c '"type":"invoke"' "$1")" = \
		"$(grep -c '"type":"\(ok\|fail\|info\)"' "$1")" ]
}

# The anomaly that mv-check's verdict in FILE names.
anomaly() {
	grep -o '"anomaly":"[a-z-]*"' "$1" | head -1 | cut -d'"' -f4
}

@test "pg stream: expected-version appends at -c 8 are valid in several seeds" {
	local s
	for s in 1 2 3; do
		mv-gen -w stream -n 300 -k 2 -s "$s" |
			mv-exec -c 8 -s "$s" --timeout 10s \
				--sut "$SUT mv.table=safe$s" >"$T/h$s"
		run -0 counts "$T/h$s"
		assert_output --partial "invoke=300"
		# the expectations were really checked, and some did not hold
		assert_output --regexp "wrong-expected-version=[1-9]"
		assert_output --partial " info=0 "
		run -0 --separate-stderr mv-check "$T/h$s"
		assert_output --partial '"valid":true'
		# in the table: every version once, none missing
		run -0 q "select count(*) from (select stream
			from safe${s}_events group by stream having count(*) <>
			max(version) + 1 or count(distinct version) <> count(*)) x"
		[ "$output" = 0 ]
	done
}

@test "pg stream: event JSON text comes back exactly as appended" {
	cat >"$T/ops" <<'EOF'
{"type":"op","f":"append","key":"odd","value":{"events":[{"b":1,"a":"q\"\\"},2.50,null,[true,{}],"é\u0001"],"expect":"no-stream"}}
{"type":"op","f":"read","key":"odd","value":{"from":0}}
{"type":"op","f":"read","key":"odd","value":{"from":3}}
{"type":"op","f":"read","key":"odd","value":{"from":9}}
{"type":"op","f":"read","key":"none","value":{"from":0}}
{"type":"op","f":"append","key":"odd","value":{"events":["x"],"expect":3}}
{"type":"op","f":"append","key":"odd","value":{"events":["x"],"expect":"exists"}}
EOF
	run -0 mv-exec -c 1 -w stream --sut "$SUT mv.table=rt" "$T/ops"
	assert_line --partial '"value":{"version":4}'
	assert_line --partial '"value":[{"b":1,"a":"q\"\\"},2.50,null,[true,{}],"é\u0001"]'
	assert_line --partial '"value":[[true,{}],"é\u0001"]'
	assert_line --partial '"value":[]'
	assert_line --partial '"value":null'
	assert_line --regexp '"value":\{"actual":4\},.*"error":"wrong-expected-version"'
	assert_line --partial '"value":{"version":5}'
}

# The naive client reads max(version) and inserts in a second statement,
# with no unique key: concurrent appends that read the same version both
# land there.  One event per append (--batch 1): with longer batches, two
# batches at the same versions interleave in a read ordered by version,
# which mv-check names torn-batch, listed before lost-update.  The same
# workload through the safe client is valid, and the table itself shows the
# duplicate versions, so the verdict comes from the client's race.  The
# race is timing: up to five seeds may run until one shows it.
@test "pg stream: the naive client's race is found as lost-update" {
	local s found=
	for s in 1 2 3 4 5; do
		mv-gen -w stream -n 300 -k 1 --batch 1 -s "$s" |
			mv-exec -c 8 -s "$s" --timeout 10s \
				--sut "$SUT mv.table=naive$s mv.mode=naive" >"$T/h"
		run -0 counts "$T/h"
		run --separate-stderr mv-check -q "$T/h"
		[ "$status" = 0 ] || [ "$status" = 1 ]
		echo "$output" >"$T/v"
		if [ "$status" = 1 ] && [ "$(anomaly "$T/v")" = lost-update ]; then
			found=$s
			break
		fi
	done
	[ -n "$found" ]
	run -0 q "select count(*) from (select 1 from naive${found}_naive_events
		group by stream, version having count(*) > 1) d"
	[ "$output" -gt 0 ]
	mv-gen -w stream -n 300 -k 1 --batch 1 -s "$found" |
		mv-exec -c 8 -s "$found" --timeout 10s \
			--sut "$SUT mv.table=control$found" >"$T/h"
	run -0 --separate-stderr mv-check -q "$T/h"
}

@test "pg register, cas-register and kv are valid" {
	local w
	for w in register cas-register kv; do
		mv-gen -w "$w" -n 300 -k 3 -s 5 |
			mv-exec -c 8 -s 5 --timeout 10s \
				--sut "$SUT mv.table=w_${w/-/_}" >"$T/h"
		run -0 counts "$T/h"
		assert_output --partial "invoke=300"
		assert_output --partial " info=0 "
		if [ "$w" = cas-register ]; then
			assert_output --regexp "mismatch=[1-9]"
		fi
		run -0 --separate-stderr mv-check "$T/h"
		assert_output --partial '"valid":true'
	done
	# mv.reset=1 empties the tables: the kv run again is valid too
	mv-gen -w kv -n 50 -k 3 -s 5 |
		mv-exec -c 4 --sut "$SUT mv.table=w_kv mv.reset=1" >"$T/h"
	run -0 --separate-stderr mv-check "$T/h"
	run -0 q "select count(*) from w_kv_kv"
	[ "$output" -le 3 ]
}

@test "pg: ops of workloads the driver lacks fail as unsupported" {
	mv-gen -w set -n 5 -s 1 | mv-exec -c 1 --sut "$SUT" >"$T/h"
	run -0 counts "$T/h"
	assert_output --partial "fail=5"
	assert_output --partial "unsupported=5"
}

# The server stopped (immediate: a crash) once 50 ops are ok, ops paced
# so that the run is not over by then (2.4 s of them): ops in
# flight end fail (their transaction never got to COMMIT) or info (lost
# during COMMIT), every later op fails to connect, and the history is
# complete and valid.  Then the server comes back (crash recovery) and
# each stream there reaches at least the last version an append was ok
# with.
@test "pg: the server stopped mid-run leaves a well-formed valid history" {
	local k want have
	mv-gen -w stream -n 600 -r 250 -k 4 -s 7 |
		mv-exec -c 8 -s 7 --timeout 5s --line-buffered --pace \
			--sut "$SUT mv.table=crash" >"$T/h" &
	for _ in $(seq 300); do
		[ "$(grep -c '"type":"ok"' "$T/h")" -ge 50 ] && break
		sleep 0.05
	done
	pg_stop "$PGDIR/main"
	wait $!
	pg_start "$PGDIR/main" "$PGPORT"
	run -0 counts "$T/h"
	assert_output --partial "invoke=600"
	assert_output --regexp "connect:=[1-9]"
	run -0 --separate-stderr mv-check "$T/h"
	assert_output --partial '"valid":true'
	run -0 q "select stream, max(version) from crash_events
		group by stream"
	echo "$output" >"$T/max"
	for k in 0 1 2 3; do
		want=$(grep -o "\"type\":\"ok\",\"process\":[0-9]*,\"f\":\"append\",\"key\":\"s$k\",\"value\":{\"version\":[0-9]*" \
			"$T/h" | sed 's/.*://' | sort -n | tail -1)
		have=$(grep "^s$k|" "$T/max" | cut -d'|' -f2)
		[ "${want:--1}" -le "${have:--1}" ]
	done
}

# Resumes the processes a test paused, even when it failed.
teardown() {
	[ -f "${T:-}/paused" ] || return 0
	xargs -r kill -CONT <"$T/paused" 2>/dev/null || :
}

# The server paused (SIGSTOP to the postmaster and its children) for 5.5 s,
# after 50 ops were ok (of 7 s of paced ops, so the run goes on), with no
# --timeout: the driver's own deadline (5 s by default) ends the ops
# in flight (fail before COMMIT, info at COMMIT), and the run goes on once
# the server resumes.
@test "pg: a paused server: the driver's own timeout ends each op" {
	local pm
	mv-gen -w stream -n 700 -r 100 -k 4 -s 9 |
		mv-exec -c 8 -s 9 --line-buffered --pace \
			--sut "$SUT mv.table=pause" >"$T/h" &
	for _ in $(seq 300); do
		[ "$(grep -c '"type":"ok"' "$T/h")" -ge 50 ] && break
		sleep 0.05
	done
	pm=$(head -1 "$PGDIR/main/postmaster.pid")
	echo "$pm" >"$T/paused"
	kill -STOP "$pm"
	# its children; one may exit between ps and kill
	ps -o pid= --ppid "$pm" >>"$T/paused" || :
	xargs kill -STOP <"$T/paused" 2>/dev/null || :
	sleep 5.5
	xargs kill -CONT <"$T/paused" 2>/dev/null || :
	kill -CONT "$pm"
	rm "$T/paused"
	wait $!
	run -0 counts "$T/h"
	assert_output --partial "invoke=700"
	assert_output --regexp " timeout=[1-9]"
	run -0 --separate-stderr mv-check "$T/h"
	assert_output --partial '"valid":true'
}

@test "pg: a server that is not there makes every op fail" {
	mv-gen -w register -n 20 -s 1 |
		mv-exec -c 4 --sut "pg://host=$PGDIR port=9 user=postgres" >"$T/h"
	run -0 counts "$T/h"
	assert_output --partial "fail=20"
	assert_output --partial "connect:=20"
	run -0 grep -c 'No such file or directory' "$T/h"
	[ "$output" = 20 ]
}

@test "pg: malformed targets exit 2 with a one-line error" {
	local t
	for t in "pg://" "pg://host=/tmp bogus=1" "pg://host=/tmp mv.mode=wild" \
		"pg://host=/tmp mv.table=Bad" "pg://mv.colour=red" \
		"pg://host='/tmp" "pg://u@h/db?mv.mode=x" \
		"pg://u@h:99999/db?sslmode=require" "pg://%zz@h/"; do
		run -2 --separate-stderr mv-exec -w stream --sut "$t" </dev/null
		[ "${#stderr_lines[@]}" = 1 ]
		[[ "${stderr_lines[0]}" == "mv-exec: --sut $t: "* ]]
		[ -z "$output" ]
	done
}
