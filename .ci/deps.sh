#!/bin/sh
# Installs the Debian packages mv needs to build, lint and test, if any is
# missing and we are root.  Prints what it does; never fails the build for a
# package it could not install (the step that needs it will say so).
pkgs="build-essential libjsmn-dev bats bats-support bats-assert mandoc
shellcheck cppcheck clang-format python3 procps jq bsdextrautils
libhiredis-dev libcurl4-openssl-dev libpq-dev libnftables-dev libpcap-dev
libnl-route-3-dev libnl-3-dev libnetfilter-queue-dev libmnl-dev
iproute2 nftables iptables etcd-server etcd-client redis-server redis-tools
postgresql libfaketime"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "mv: missing Debian packages:$missing (run as root to install)" >&2
	exit 0
fi
echo "mv: installing$missing" >&2
apt-get update -qq >&2 || exit 0
# shellcheck disable=SC2086 # one word a package
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >&2
