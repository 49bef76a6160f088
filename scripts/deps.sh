#!/usr/bin/env bash
# Installs the Debian 12 packages wirelink needs to build and test, if any
# are missing. Non-interactive; needs root (or sudo) only when installing.
#   scripts/deps.sh [build|test|demo]   (default: test, which includes build)
set -eu
build_pkgs="meson ninja-build pkg-config gcc clang libclang-rt-14-dev
  libsodium-dev libmd-dev libmnl-dev libjansson-dev libyaml-dev libsystemd-dev
  libnatpmp-dev libminiupnpc-dev libcap-ng-dev libseccomp-dev"
run_pkgs="wireguard-go wireguard-tools iproute2 nftables iputils-ping procps"
# miniupnpd-nftables is the mapping server of tests/netns/test_portmap.sh:
# that package is only the binary and its nftables scripts (no maintainer
# scripts, no unit, no init script; those are in the separate "miniupnpd"
# package, which --no-install-recommends leaves out), so installing it
# starts and enables nothing. The test runs it in the foreground inside a
# namespace with a configuration of its own.
# groff-base and man-db: tests/cli/test_man.sh renders the generated man pages.
# The Debian package test (tests/package): dpkg-buildpackage, dh, lintian,
# man -w.
test_pkgs="python3 qemu-system-x86 busybox-static cpio kmod systemd miniupnpd-nftables conntrack
  groff-base man-db git dpkg-dev debhelper lintian"
case "${1:-test}" in
build) want="$build_pkgs" ;;
demo) want="$build_pkgs $run_pkgs" ;;
test) want="$build_pkgs $run_pkgs $test_pkgs" ;;
*) echo "usage: scripts/deps.sh [build|test|demo]" >&2; exit 2 ;;
esac
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
