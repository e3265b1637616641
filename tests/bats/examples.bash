# Shared by the tool suites: runs the EXAMPLES of a manual page as tests.
#
# page_examples PAGE prints each "$ command" of the EXAMPLES section of
# man/PAGE, as mandoc renders it, one command a line (continuation lines
# after a trailing "\" or "|" joined).
page_examples() {
	mandoc -T ascii "$BATS_TEST_DIRNAME/../../man/$1" | col -bx | awk '
	/^[A-Z][A-Z ]*$/ { ex = ($0 == "EXAMPLES"); next }
	!ex { next }
	cont { sub(/^ +/, "", $0); cmd = cmd " " $0 }
	!cont && /^ +\$ / { cmd = $0; sub(/^ +\$ /, "", cmd) }
	(cont || /^ +\$ /) {
		cont = ($0 ~ /(\\|\|) *$/)
		if (!cont) { gsub(/\\ +/, " ", cmd); print cmd; cmd = "" }
	}'
}

# run_page_examples PAGE runs every example command of man/PAGE with sh in
# a scratch directory that holds what the examples name: history.jsonl (a
# register history with stale reads), $pid (a sleeping process),
# server.pid and ./server (a server that writes its pid file), an empty
# undo log in $TMPDIR, and examples/.  An example passes when it exits 0
# or 1 (1 is "invalid" for the checking tools) within a minute.
run_page_examples() {
	local d=$BATS_TEST_TMPDIR/ex cmd n=0 pid spid st
	mkdir -p "$d"
	ln -s "$BATS_TEST_DIRNAME/../../examples" "$d/examples"
	mv-gen -k 2 -n 3000 -s 1 |
		mv-exec -c 5 -s 1 --bug stale-read >"$d/history.jsonl"
	printf '#!/bin/sh\necho $$ >server.pid\nexec sleep 120\n' >"$d/server"
	chmod +x "$d/server"
	(cd "$d" && exec ./server) &
	spid=$!
	sleep 120 &
	pid=$!
	: >"$d/mv-nemesis.4242.undo"
	while IFS= read -r cmd; do
		n=$((n + 1))
		st=0
		(cd "$d" && pid=$pid TMPDIR=$d timeout 60 sh -c "$cmd") </dev/null \
		    >"$d/out" 2>&1 || st=$?
		if [ "$st" -gt 1 ]; then
			echo "example failed (exit $st): $cmd" >&2
			cat "$d/out" >&2
			break
		fi
	done < <(page_examples "$1")
	# A restart example leaves a new server in server.pid.
	kill "$pid" "$spid" "$(cat "$d/server.pid")" 2>/dev/null || :
	kill -CONT "$pid" 2>/dev/null || :
	[ "$st" -le 1 ] && [ "$n" -gt 0 ]
}
