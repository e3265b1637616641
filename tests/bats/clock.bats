#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031
# Clock faults: mv-nemesis clock skew/jump/strobe/reset through mv's shim
# (libmvtime.so) and through libfaketime, seen live by running processes,
# undone by reset and by heal; Redis and PostgreSQL end to end.

load common
load netns

setup() {
	mv_setup
	SHIM=$(cd "$MV_BIN/../lib" && pwd)/libmvtime.so
	PIDS=()
	PGDATA_DIR=
}

# Kills every process a test started, and a PostgreSQL it started.
teardown() {
	local p
	# PostgreSQL first, by SIGQUIT: its postmaster takes its children.
	if [ -n "$PGDATA_DIR" ] && [ -f "$PGDATA_DIR/data/postmaster.pid" ]; then
		p=$(head -1 "$PGDATA_DIR/data/postmaster.pid")
		kill -QUIT "$p" 2>/dev/null || :
		for _ in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
	fi
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || :
		wait "$p" 2>/dev/null || :
	done
	[ -z "$PGDATA_DIR" ] || rm -rf "$PGDATA_DIR"
}

# A free TCP port on 127.0.0.1 (the kernel's pick).
free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts a bash that prints "WALL UPTIME" about every 20 ms into $T/samples:
# its wall clock (gettimeofday, through the shim) and the boot-time clock
# the shim leaves alone, so their difference shows the offset in force.
watcher() {
	: >"$T/samples"
	MV_CLOCK_FILE=$T/clk LD_PRELOAD=$SHIM bash -c '
	    while :; do
		read -r up _ </proc/uptime
		echo "$EPOCHREALTIME $up"
		sleep 0.02
	    done' >"$T/samples" 2>/dev/null &
	wp=$!
	PIDS+=("$wp")
	for _ in $(seq 50); do
		[ "$(wc -l <"$T/samples")" -ge 3 ] && break
		sleep 0.1
	done
	base=$(tail -1 "$T/samples" | awk '{ printf "%.3f", $1 - $2 }')
}

# The offset the watcher's last $1 samples show, each rounded to seconds,
# one a line (after waiting 0.3 s for fresh samples).
offsets() {
	sleep 0.3
	tail -"$1" "$T/samples" | awk -v b="$base" \
	    '{ d = $1 - $2 - b; printf "%d\n", d < 0 ? d - 0.5 : d + 0.5 }'
}

@test "clock: bad options are trouble, one line naming what is wrong" {
	run -2 --separate-stderr mv-nemesis clock
	[[ $stderr == *usage:* ]]
	run -2 --separate-stderr mv-nemesis clock warp --file "$T/c"
	[ "$stderr" = 'mv-nemesis: unknown clock fault: warp' ]
	run -2 --separate-stderr mv-nemesis clock skew --offset 1s
	[ "$stderr" = 'mv-nemesis: clock skew needs one of --file and --faketime' ]
	run -2 --separate-stderr mv-nemesis clock skew --offset 1s \
	    --file "$T/c" --faketime "$T/f"
	[[ $stderr == *'needs one of --file and --faketime'* ]]
	run -2 --separate-stderr mv-nemesis clock jump --file "$T/c"
	[ "$stderr" = 'mv-nemesis: clock jump needs --offset' ]
	run -2 --separate-stderr mv-nemesis clock skew --offset soon \
	    --file "$T/c"
	[ "$stderr" = "mv-nemesis: invalid value for --offset: 'soon'" ]
	run -2 --separate-stderr mv-nemesis clock strobe --offset 1s \
	    --file "$T/c"
	[[ $stderr == *'clock strobe needs --period'* ]]
	run -2 --separate-stderr mv-nemesis clock strobe --offset 1s \
	    --period 0 --file "$T/c"
	[[ $stderr == *"invalid value for --period: '0'"* ]]
	run -2 --separate-stderr mv-nemesis clock strobe --offset 1s \
	    --period 1s --faketime "$T/f"
	[[ $stderr == *'libfaketime cannot strobe'* ]]
	run -2 --separate-stderr mv-nemesis clock reset --offset 1s \
	    --file "$T/c"
	[[ $stderr == *'takes no --offset'* ]]
	run -2 --separate-stderr mv-nemesis clock skew --offset 1s \
	    --file "$T/c" extra
	[ "$stderr" = 'mv-nemesis: unexpected argument: extra' ]
	# Nothing was written by any of them.
	[ ! -e "$T/c" ] && [ ! -e "$T/f" ]
}

@test "clock: a file that is not a clock file is refused and left alone" {
	echo 'precious' >"$T/notclock"
	run -2 --separate-stderr mv-nemesis clock skew --offset 5s \
	    --file "$T/notclock"
	[ "$stderr" = "mv-nemesis: $T/notclock: not a clock file (too short)" ]
	[ "$(cat "$T/notclock")" = precious ]
	echo 'five' >"$T/ft"
	run -2 --separate-stderr mv-nemesis clock jump --offset 5s \
	    --faketime "$T/ft"
	[[ $stderr == *"$T/ft:1: not a relative offset"* ]]
	run -2 --separate-stderr mv-nemesis clock skew --offset 5s \
	    --file /nonexistent/dir/clk
	[[ $stderr == *'/nonexistent/dir/clk'* ]]
}

@test "clock: the shim without a clock file, or with a bad one, skews nothing" {
	[ -f "$SHIM" ] || skip "no shim at $SHIM"
	real=$(date +%s)
	run -0 env LD_PRELOAD="$SHIM" date +%s
	[ $((output - real)) -le 1 ]
	run -0 env LD_PRELOAD="$SHIM" MV_CLOCK_FILE="$T/none" date +%s
	[ $((output - real)) -le 1 ]
	head -c 4096 /dev/zero >"$T/zeros"
	run -0 env LD_PRELOAD="$SHIM" MV_CLOCK_FILE="$T/zeros" date +%s
	[ $((output - real)) -le 1 ]
}

@test "clock: skew, jump and reset seen by new processes, with events" {
	[ -f "$SHIM" ] || skip "no shim at $SHIM"
	run -0 --separate-stderr mv-nemesis clock skew --offset +1h \
	    --file "$T/clk"
	assert_output "{\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"clock-skew\",\"value\":{\"file\":\"$T/clk\",\"offset\":3600000000000,\"was\":0,\"targets\":[],\"effect\":\"unmapped\",\"undo\":\"clock-reset\"},\"time\":0}"
	real=$(date +%s)
	fake=$(MV_CLOCK_FILE=$T/clk LD_PRELOAD=$SHIM date +%s)
	[ $((fake - real - 3600)) -ge -1 ] && [ $((fake - real - 3600)) -le 1 ]
	# A relative MV_CLOCK_FILE names a file of the directory the target
	# starts in (made absolute before main, for servers that chdir).
	# shellcheck disable=SC2016
	fake=$(cd "$T" && MV_CLOCK_FILE=clk LD_PRELOAD=$SHIM \
	    bash -c 'cd / && echo "${EPOCHREALTIME%.*}"')
	[ $((fake - real - 3600)) -ge -1 ] && [ $((fake - real - 3600)) -le 2 ]
	run -0 --separate-stderr mv-nemesis clock jump --offset -2h \
	    --file "$T/clk"
	assert_output --partial '"offset":-3600000000000,"was":3600000000000'
	fake=$(MV_CLOCK_FILE=$T/clk LD_PRELOAD=$SHIM date +%s)
	real=$(date +%s)
	[ $((real - fake - 3600)) -ge -1 ] && [ $((real - fake - 3600)) -le 1 ]
	# Sub-second offsets reach nanoseconds through clock_gettime.
	run -0 mv-nemesis clock skew --offset -250ms --file "$T/clk"
	assert_output --partial '"offset":-250000000,'
	run -0 --separate-stderr mv-nemesis clock reset --file "$T/clk"
	assert_output --partial '"f":"clock-reset"'
	assert_output --partial '"offset":0,"was":-250000000'
	assert_output --partial '"undo":null'
	real=$(date +%s)
	fake=$(MV_CLOCK_FILE=$T/clk LD_PRELOAD=$SHIM date +%s)
	[ $((fake - real)) -ge 0 ] && [ $((fake - real)) -le 1 ]
}

@test "clock: a running process sees skew, jump, strobe and reset live" {
	[ -f "$SHIM" ] || skip "no shim at $SHIM"
	# Started before the clock file exists: no skew, no harm.
	watcher
	run -0 offsets 3
	assert_output "$(printf '0\n0\n0')"
	run -0 --separate-stderr mv-nemesis clock skew --offset +100s \
	    --file "$T/clk"
	# The event names the process that mapped the file.
	assert_output --partial "\"targets\":[$wp],\"effect\":\"set\""
	run -0 offsets 3
	assert_output "$(printf '100\n100\n100')"
	mv-nemesis clock jump --offset -30s --file "$T/clk" >/dev/null
	run -0 offsets 3
	assert_output "$(printf '70\n70\n70')"
	# Strobe: +1000 s on top of the 70, every other 100 ms.
	run -0 --separate-stderr mv-nemesis clock strobe --offset +1000s \
	    --period 100ms --file "$T/clk"
	assert_output --partial '"offset":70000000000,"was":70000000000,"strobe":1070000000000,"period":100000000'
	# Only samples taken after the strobe began (one more for the race).
	from=$(($(wc -l <"$T/samples") + 2))
	sleep 1.2
	tail -n +"$from" "$T/samples" | awk -v b="$base" '
	    { d = $1 - $2 - b; v = d < 500 ? 70 : 1070
	      if (d - v > 1 || v - d > 1) bad++
	      if (NR > 1 && v != last) flips++
	      n[v]++; last = v }
	    END { printf "bad=%d lo=%d hi=%d flips=%d\n", bad, n[70], n[1070], flips
	      exit !(bad == 0 && n[70] >= 5 && n[1070] >= 5 && flips >= 4) }'
	mv-nemesis clock reset --file "$T/clk" >/dev/null
	run -0 offsets 5
	assert_output "$(printf '0\n0\n0\n0\n0')"
}

@test "clock: heal resets the clock files of the undo log, pauses kept apart" {
	[ -f "$SHIM" ] || skip "no shim at $SHIM"
	sleep 1000 >/dev/null 2>&1 &
	sp=$!
	PIDS+=("$sp")
	mv-nemesis pause --pid "$sp" --undo-log "$T/u" >/dev/null
	mv-nemesis clock jump --offset +1h --file "$T/clk" --undo-log "$T/u" \
	    >/dev/null
	mv-nemesis clock skew --offset -7s --faketime "$T/ft" \
	    --undo-log "$T/u" >/dev/null
	mv-nemesis clock jump --offset +1h --file "$T/clk" --undo-log "$T/u" \
	    >/dev/null
	# One line each, however often the file was changed.
	run -0 cat "$T/u"
	assert_output "$(printf '%s\nclock %s\nfaketime %s' "$sp" "$T/clk" "$T/ft")"
	# A resume rewrites the log: the clock lines stay in it.
	mv-nemesis resume --pid "$sp" --undo-log "$T/u" >/dev/null
	run -0 cat "$T/u"
	assert_output "$(printf 'clock %s\nfaketime %s' "$T/clk" "$T/ft")"
	[ "$(cat "$T/ft")" = '-7' ]
	fake=$(MV_CLOCK_FILE=$T/clk LD_PRELOAD=$SHIM date +%s)
	[ $((fake - $(date +%s))) -ge 7199 ]
	# heal runs elsewhere: the entries are absolute.
	run -0 --separate-stderr sh -c "cd / && mv-nemesis heal --undo-log '$T/u'"
	assert_output '{"type":"info","process":"nemesis","f":"heal","value":{"continued":0,"clocks":2},"time":0}'
	[ ! -e "$T/u" ]
	[ "$(cat "$T/ft")" = '+0' ]
	fake=$(MV_CLOCK_FILE=$T/clk LD_PRELOAD=$SHIM date +%s)
	[ $((fake - $(date +%s))) -le 1 ]
	# A line that is neither a pid nor an entry is refused, by line.
	printf '12x\n' >"$T/u"
	run -2 --separate-stderr mv-nemesis heal --undo-log "$T/u"
	[ "$stderr" = "mv-nemesis: $T/u:1: not an undo log line" ]
}

@test "clock: libfaketime offsets are written whole or with a fraction" {
	run -0 mv-nemesis clock skew --offset +90s --faketime "$T/ft"
	assert_output --partial '"targets":null,"effect":"written"'
	[ "$(cat "$T/ft")" = '+90' ]
	mv-nemesis clock jump --offset -91500ms --faketime "$T/ft" >/dev/null
	[ "$(cat "$T/ft")" = '-1.500000000' ]
	# libfaketime's own units are read back for a jump.
	echo '+2m' >"$T/ft"
	run -0 mv-nemesis clock jump --offset 1s --faketime "$T/ft"
	assert_output --partial '"offset":121000000000,"was":120000000000'
	mv-nemesis clock reset --faketime "$T/ft" >/dev/null
	[ "$(cat "$T/ft")" = '+0' ]
}

@test "clock: output to /dev/full is trouble" {
	run -2 --separate-stderr sh -c \
	    "mv-nemesis clock skew --offset 1s --file '$T/clk' >/dev/full"
	[[ $stderr == 'mv-nemesis: '* ]]
}

# Starts Redis with the shim preloaded on a free port ($port, pid $rp),
# its clock file $T/clk; skips when Redis or the shim is missing.
start_redis() {
	need_redis
	[ -f "$SHIM" ] || skip "no shim at $SHIM"
	for _ in 1 2 3; do
		port=$(free_port)
		MV_CLOCK_FILE=$T/clk LD_PRELOAD=$SHIM redis-server \
		    --port "$port" --bind 127.0.0.1 --save '' \
		    --appendonly no --dir "$T" --logfile "$T/redis.log" \
		    --daemonize no &
		rp=$!
		PIDS+=("$rp")
		for _ in $(seq 50); do
			redis-cli -p "$port" ping 2>/dev/null | grep -q PONG &&
				break 2
			kill -0 "$rp" 2>/dev/null || break
			sleep 0.1
		done
	done
	[ "$(redis-cli -p "$port" ping)" = PONG ]
}

# The issue's end-to-end case: a key with a TTL vanishes early when the
# server's clock jumps forward, and lives its time again after a reset.
@test "clock: a jump of Redis's clock expires a key early (shim)" {
	start_redis
	[ "$(redis-cli -p "$port" set k v PX 20000)" = OK ]
	[ "$(redis-cli -p "$port" set control v PX 20000)" = OK ]
	sleep 1
	[ "$(redis-cli -p "$port" get k)" = v ]
	run -0 --separate-stderr mv-nemesis clock jump --offset +60s \
	    --file "$T/clk"
	assert_output --partial "\"targets\":[$rp],\"effect\":\"set\""
	# Gone within two seconds: lazily on GET, or by active expiry.
	gone=
	for _ in $(seq 20); do
		[ -z "$(redis-cli -p "$port" get k)" ] && gone=1 && break
		sleep 0.1
	done
	[ -n "$gone" ]
	# Its own clock says why: a minute ahead.
	t=$(redis-cli -p "$port" time | head -1)
	[ $((t - $(date +%s))) -ge 59 ]
	mv-nemesis clock reset --file "$T/clk" >/dev/null
	t=$(redis-cli -p "$port" time | head -1)
	[ $((t - $(date +%s))) -le 1 ]
	# Restored: a new key lives its full time again.
	[ "$(redis-cli -p "$port" set k v PX 20000)" = OK ]
	sleep 1
	[ "$(redis-cli -p "$port" get k)" = v ]
	ttl=$(redis-cli -p "$port" pttl k)
	[ "$ttl" -gt 15000 ] && [ "$ttl" -le 20000 ]
}

# libfaketime where it works: PostgreSQL (glibc malloc), its now() read
# live from the timestamp file mv-nemesis writes.
@test "clock: PostgreSQL under libfaketime follows the timestamp file" {
	[ "$(id -u)" = 0 ] || skip "needs root (runs PostgreSQL as postgres)"
	pgbins=(/usr/lib/postgresql/*/bin)
	pgbin=${pgbins[-1]}
	[ -x "$pgbin/postgres" ] || skip "postgresql not installed"
	fts=(/usr/lib/*/faketime/libfaketime.so.1)
	ft=${fts[0]}
	[ -f "$ft" ] || skip "libfaketime not installed"
	id postgres >/dev/null 2>&1 || skip "no postgres user"
	PGDATA_DIR=$(mktemp -d /tmp/mv-clock-pg.XXXXXX)
	chmod 755 "$PGDATA_DIR"
	chown postgres "$PGDATA_DIR"
	setpriv --reuid=postgres --regid=postgres --init-groups \
	    "$pgbin/initdb" --no-sync -A trust -U postgres \
	    -D "$PGDATA_DIR/data" >"$T/initdb.log" 2>&1
	port=$(free_port)
	setpriv --reuid=postgres --regid=postgres --init-groups \
	    env LD_PRELOAD="$ft" FAKETIME_TIMESTAMP_FILE="$PGDATA_DIR/ft" \
	    FAKETIME_NO_CACHE=1 DONT_FAKE_MONOTONIC=1 \
	    "$pgbin/postgres" -D "$PGDATA_DIR/data" -p "$port" \
	    -k "$PGDATA_DIR" -c listen_addresses='' -c fsync=off \
	    >"$T/pg.log" 2>&1 &
	PIDS+=("$!")
	q() { psql -X -h "$PGDATA_DIR" -p "$port" -U postgres -Atc "$1"; }
	for _ in $(seq 100); do
		q 'select 1' >/dev/null 2>&1 && break
		sleep 0.1
	done
	t=$(q 'select extract(epoch from now())::bigint')
	[ $((t - $(date +%s))) -ge -1 ] && [ $((t - $(date +%s))) -le 1 ]
	mv-nemesis clock jump --offset +1h --faketime "$PGDATA_DIR/ft" \
	    --undo-log "$T/u" >/dev/null
	t=$(q 'select extract(epoch from now())::bigint')
	[ $((t - $(date +%s) - 3600)) -ge -1 ] && [ $((t - $(date +%s) - 3600)) -le 1 ]
	mv-nemesis clock jump --offset -2h --faketime "$PGDATA_DIR/ft" \
	    >/dev/null
	t=$(q 'select extract(epoch from now())::bigint')
	[ $(($(date +%s) - t - 3600)) -ge -1 ] && [ $(($(date +%s) - t - 3600)) -le 1 ]
	run -0 mv-nemesis heal --undo-log "$T/u"
	assert_output --partial '"clocks":1'
	t=$(q 'select extract(epoch from now())::bigint')
	[ $((t - $(date +%s))) -ge -1 ] && [ $((t - $(date +%s))) -le 1 ]
}

# The same through the pipeline: mv-exec's Redis driver reads the key ten
# times a second while the clock jumps; the history shows it vanish then.
@test "clock: the early expiry is seen in an mv-exec history of Redis" {
	mv-exec --help 2>&1 | grep -q 'redis://' ||
		skip "mv-exec has no Redis driver"
	command -v jq >/dev/null || skip "jq not installed"
	start_redis
	[ "$(redis-cli -p "$port" set r0 7 PX 20000)" = OK ]
	mv-gen -w register -k 1 --read-ratio 1 -r 10 -d 3s -s 1 |
		mv-exec -c 1 --sut "redis://127.0.0.1:$port" --pace \
		>"$T/hist" &
	pl=$!
	PIDS+=("$pl")
	sleep 1.5
	mv-nemesis clock jump --offset +60s --file "$T/clk" >"$T/ev"
	wait "$pl"
	grep -q '"effect":"set"' "$T/ev"
	# "TIME VALUE" of each read: 7 until the jump (1.5 s in), then null.
	jq -r 'select(.type == "ok" and .f == "read") |
	    "\(.time) \(.value)"' "$T/hist" >"$T/reads"
	awk '
	    $2 == "7" { seven++; if (gone) back++ ; last7 = $1 }
	    $2 == "null" { if (!gone) first = $1; gone++ }
	    END { printf "seven=%d null=%d back=%d last7=%d first=%d\n",
		seven, gone, back, last7, first
	      exit !(seven >= 5 && gone >= 5 && back == 0 &&
		first > 1000000000) }' "$T/reads"
}
