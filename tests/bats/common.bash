# Shared by every suite (load common, before the other helpers):
# bats-support and bats-assert, the bats that run -N and --separate-stderr
# need, the setup every test does and the --help/--version check of a tool.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
bats_require_minimum_version 1.5.0

# mv_setup: the tools under test first in PATH ($MV_BIN, by default the
# build's), T the test's scratch directory, PY a python3 that starts fast
# (a version manager's shim can take seconds a call).
mv_setup() {
	MV_BIN=${MV_BIN:-$BATS_TEST_DIRNAME/../../build/bin}
	PATH=$MV_BIN:$PATH
	# shellcheck disable=SC2034 # for the suites
	T=$BATS_TEST_TMPDIR
	# shellcheck disable=SC2034 # for the suites
	PY=python3
	# shellcheck disable=SC2034 # for the suites
	[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
	return 0
}

# help_and_version TOOL USAGE: fails unless TOOL --help exits 0 with USAGE
# in its output and TOOL --version exits 0 printing "TOOL mv 0.1.0".
help_and_version() {
	run -0 --separate-stderr "$1" --help
	assert_output --partial "$2"
	run -0 --separate-stderr "$1" --version
	assert_output "$1 mv 0.1.0"
}
