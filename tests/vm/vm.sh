#!/usr/bin/env bash
# Boots a small qemu VM with a Debian kernel (its own wireguard.ko) and a
# busybox initramfs holding our binaries, runs one guest command list, and
# relays the guest's output.
#
# usage: tests/vm/vm.sh test    run the kernel-backend suites; prints their
#                              PASS/FAIL/SKIP lines; exits non-zero on any FAIL
#                              or when the guest did not report completion
#        tests/vm/vm.sh e2e     the namespace end-to-end scenarios (guest-e2e.sh:
#                              public leaves, NATs, failover) on wireguard.ko,
#                              with nftables and namespaces inside the guest;
#                              PASS/FAIL/SKIP lines as for `test`
#        tests/vm/vm.sh bench   run the kernel benchmarks; prints figures
#
# Environment:
#   WL_TOP          repo top (default: two levels up from here)
#   WL_VM_BUILD     build dir whose binaries go into the guest (default:
#                   for `test` and `e2e` WL_BUILD, the ASan+UBSan tree tests/run passes,
#                   else $WL_TOP/build-asan; for `bench` always $WL_TOP/build)
#   WL_VM_CACHE     where the kernel package is kept (default
#                   $WL_TOP/tests/vm/cache, ignored by git)
#   WL_VM_TIMEOUT   seconds before the guest is killed (default 600; 240 for
#                   e2e, which takes under a minute: a hang must not cost
#                   the test command ten minutes)
#   WL_VM_SMP       virtual CPUs (default 1)
#   WL_VM_E2E       the e2e scenarios to run (default "public nat"; also
#                   quietidle: about 200 s of waiting, see guest-e2e.sh; its
#                   default timeout is 480 s)
#   WL_VM_KEEP      set to keep the temporary directory for inspection
#
# Only Debian's apt is used to get the kernel (apt-get download of the
# current linux-image-*-cloud-amd64, which builds WireGuard as a module).
# The guest runs under TCG: KVM guests do not work on our machines.
set -u
mode=${1:-test}
case "$mode" in test|e2e|bench) ;; *) echo "usage: $0 test|e2e|bench" >&2; exit 2 ;; esac

here=$(cd "$(dirname "$0")" && pwd)
top=${WL_TOP:-$(cd "$here/../.." && pwd)}
if [ "$mode" = bench ]; then
	build=${WL_VM_BUILD:-$top/build}
else
	build=${WL_VM_BUILD:-${WL_BUILD:-$top/build-asan}}
fi
cache=${WL_VM_CACHE:-$here/cache}
default_timeout=600
[ "$mode" = e2e ] && default_timeout=240
# quietidle waits out WireGuard's session (180 s) and more.
case " ${WL_VM_E2E:-} " in *" quietidle "*) default_timeout=480 ;; esac
timeout_s=${WL_VM_TIMEOUT:-$default_timeout}

say() { echo "vm: $*" >&2; }
fail() { echo "FAIL: vm/setup: $*"; exit 1; }
skip() { echo "SKIP: vm/setup: $*"; exit 0; }

command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed (scripts/deps.sh test)"
busybox=$(command -v busybox) || skip "busybox not installed"
# The initramfs needs a busybox that runs without libraries.
ldd "$busybox" >/dev/null 2>&1 && skip "$busybox is not static (install busybox-static)"
for t in cpio gzip depmod dpkg-deb apt-get; do
	command -v "$t" >/dev/null || fail "$t not found"
done

tmp=$(mktemp -d /tmp/wlk-vm.XXXXXX)
cleanup() { [ -n "${WL_VM_KEEP:-}" ] && { say "kept $tmp"; return; }; rm -rf "$tmp"; }
trap cleanup EXIT

# ---- (a) the kernel ---------------------------------------------------------
# Prints the name of the concrete kernel package the cloud meta package
# currently depends on, e.g. linux-image-6.1.0-56-cloud-amd64.
kernel_pkg_name() {
	apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}

fetch_kernel() {
	mkdir -p "$cache" || fail "cannot create $cache"
	local pkg
	pkg=$(kernel_pkg_name)
	if [ -z "$pkg" ]; then
		# A fresh machine may have no package lists yet.
		say "apt lists lack linux-image-cloud-amd64; running apt-get update"
		apt-get update -qq >/dev/null 2>&1 || true
		pkg=$(kernel_pkg_name)
	fi
	local deb
	if [ -n "$pkg" ]; then
		deb=$(ls "$cache/${pkg}"_*.deb 2>/dev/null | head -n 1)
		if [ -z "$deb" ]; then
			say "downloading $pkg"
			if ! (cd "$cache" && apt-get download "$pkg" >/dev/null 2>"$tmp/apt.err"); then
				# Stale lists name a version the mirror no longer has.
				say "download failed; running apt-get update and retrying"
				apt-get update -qq >/dev/null 2>&1 || true
				pkg=$(kernel_pkg_name)
				(cd "$cache" && apt-get download "$pkg" >/dev/null 2>"$tmp/apt.err") ||
					{ cat "$tmp/apt.err" >&2; fail "apt-get download $pkg failed"; }
			fi
			deb=$(ls "$cache/${pkg}"_*.deb 2>/dev/null | head -n 1)
		fi
	else
		# No apt lists at all: use whatever an earlier run left in the cache.
		deb=$(ls "$cache"/linux-image-*-cloud-amd64_*.deb 2>/dev/null | tail -n 1)
	fi
	[ -n "$deb" ] && [ -f "$deb" ] || fail "no kernel package (apt-get download linux-image-*-cloud-amd64 failed)"
	echo "$deb"
}

deb=$(fetch_kernel) || exit 1
kdir=$tmp/kernel
mkdir -p "$kdir"
dpkg-deb -x "$deb" "$kdir" || fail "cannot unpack $deb"
vmlinuz=$(ls "$kdir"/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -f "$vmlinuz" ] || fail "no vmlinuz in $deb"
kver=${vmlinuz##*/vmlinuz-}
moddir=$kdir/lib/modules/$kver
[ -d "$moddir" ] || fail "no modules for $kver in $deb"
# The package ships no modules.dep (it is made at install time): make it.
depmod -b "$kdir" "$kver" || fail "depmod failed"
say "kernel $kver from ${deb##*/}"

# Prints the modules (paths relative to $moddir) needed for $1, each after
# everything it depends on, without repeats.
declare -A seen=()
mod_order() {
	local mod=$1 line dep
	[ -n "${seen[$mod]:-}" ] && return 0
	seen[$mod]=1
	line=$(grep -m1 "^$mod:" "$moddir/modules.dep") || { say "module $mod not in modules.dep"; return 1; }
	for dep in ${line#*:}; do
		mod_order "$dep" || return 1
	done
	echo "$mod"
}
# Prints the path in modules.dep of the module named $1 (e.g. nft_masq).
mod_path() {
	grep -o "^[^:]*/$1\.ko[^:]*" "$moddir/modules.dep" | head -n 1
}
# WireGuard; for e2e also what the namespace topologies (tests/netns/topo.sh)
# use: veth pairs, the wan bridge and its cut (a bridge-family table), NAT
# (masquerade, conntrack states); nft_meta_bridge: `meta` in a bridge table
# (without it the cut's rules fail with ENOENT).
want_mods="wireguard"
[ "$mode" = e2e ] && want_mods="$want_mods veth bridge nf_tables nft_chain_nat nft_masq nft_ct nft_meta_bridge"
modules=$(
	for name in $want_mods; do
		path=$(mod_path "$name")
		[ -n "$path" ] || { say "kernel $kver has no $name module"; exit 1; }
		mod_order "$path" || exit 1
	done
) || fail "cannot resolve the modules $want_mods and their dependencies"

# ---- (b) the initramfs -------------------------------------------------------
root=$tmp/root
mkdir -p "$root"/{bin,sbin,lib,lib64,proc,sys,dev,tmp,run,etc,var,modules,usr/bin,wl}
# ip netns keeps its namespaces in /run/netns, wirelink its lock in /run.
ln -s ../run "$root/var/run"
cp "$busybox" "$root/bin/busybox"
for applet in sh mount insmod cat echo date poweroff reboot sync mkdir seq grep sed wc head tail sleep uname kill cut tr awk \
	env sysctl mktemp rm cp ls tee chown stat; do
	ln -sf busybox "$root/bin/$applet"
done

# Copies a dynamically linked program and every library it loads (with the
# loader itself, at the path the program asks for).
copy_prog() { # src dst-in-root
	local src=$1 dst=$2 lib
	cp "$src" "$root/$dst" || return 1
	for lib in $(ldd "$src" 2>/dev/null | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
		[ -f "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib" || return 1
	done
}

i=0
: >"$root/modules/order"
for m in $modules; do
	i=$((i + 1))
	name=$(printf '%02d-%s' "$i" "$(basename "$m")")
	case "$m" in
	*.ko) cp "$moddir/$m" "$root/modules/$name" ;;
	*.ko.xz) xz -dc "$moddir/$m" >"$root/modules/${name%.xz}"; name=${name%.xz} ;;
	*.ko.zst) zstd -qdc "$moddir/$m" >"$root/modules/${name%.zst}"; name=${name%.zst} ;;
	*) fail "unknown module format $m" ;;
	esac
	echo "$name" >>"$root/modules/order"
done

# iproute2's ip creates the wireguard interfaces (busybox ip cannot), and
# wireguard-tools' wg, when present, cross-checks what our backend wrote.
ip_bin=$(command -v ip) || fail "iproute2's ip not found"
copy_prog "$ip_bin" sbin/ip || fail "cannot copy $ip_bin"
if wg_bin=$(command -v wg); then
	copy_prog "$wg_bin" usr/bin/wg || fail "cannot copy $wg_bin"
fi

if [ "$mode" = bench ]; then
	want_progs="bench/bench_genl"
	optional_progs="bench/bench_dev"
elif [ "$mode" = e2e ]; then
	want_progs="wirelink"
	optional_progs=""
	# The scenarios are bash scripts (topo.sh) that read devices with wg,
	# build NATs with nft and ping with iputils (-D -O: time stamps and
	# reports of unanswered requests, which busybox ping lacks).
	[ -x "$root/usr/bin/wg" ] || fail "wireguard-tools' wg not found"
	# setpriv starts leaf A's daemon as the unit wirelink-unprivileged@
	# would (scenario nat): as the user wirelink, with CAP_NET_ADMIN alone.
	for prog in bash:bin/bash nft:sbin/nft ping:usr/bin/ping setpriv:usr/bin/setpriv; do
		src=$(PATH=/usr/sbin:/sbin:/usr/bin:/bin command -v "${prog%%:*}") || fail "${prog%%:*} not found"
		copy_prog "$src" "${prog#*:}" || fail "cannot copy $src"
	done
	# nft names protocols and services through these.
	cp /etc/protocols /etc/services "$root/etc/" || fail "cannot copy /etc/protocols, /etc/services"
	# The user wirelink, as the package makes it, for prestart and setpriv.
	printf 'root:x:0:0:root:/:/bin/sh\nwirelink:x:101:101:wirelink:/nonexistent:/bin/false\n' >"$root/etc/passwd"
	printf 'root:x:0:\nwirelink:x:101:\n' >"$root/etc/group"
	printf 'passwd: files\ngroup: files\n' >"$root/etc/nsswitch.conf"
	cp "$top/tests/netns/topo.sh" "$here/guest-e2e.sh" "$root/wl/" || fail "cannot copy the scenario scripts"
else
	want_progs="tests/vm/wg_kernel_check"
	optional_progs="tests/wgdev/wgdev_suite wirelink"
fi
for p in $want_progs; do
	[ -x "$build/$p" ] || fail "$build/$p not built (run scripts/build.sh)"
	copy_prog "$build/$p" "wl/$(basename "$p")" || fail "cannot copy $p"
done
for p in $optional_progs; do
	[ -x "$build/$p" ] && { copy_prog "$build/$p" "wl/$(basename "$p")" || fail "cannot copy $p"; }
done

cp "$here/guest-init.sh" "$root/init" && chmod 755 "$root/init"
echo "$mode" >"$root/wl/mode"
[ "$mode" = e2e ] && echo "${WL_VM_E2E:-public nat}" >"$root/wl/scenarios"

initrd=$tmp/initrd.gz
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd" || fail "cannot build the initramfs"
say "initramfs $(du -k "$initrd" | cut -f1) KiB; booting (timeout ${timeout_s}s)"

# ---- (c) boot ---------------------------------------------------------------
log=$tmp/console.log
start=$(date +%s.%N)
# Three ASan daemons and the namespaces want more memory than the checks.
mem=512
[ "$mode" = e2e ] && mem=1024
timeout "$timeout_s" qemu-system-x86_64 -accel tcg -cpu max -m "$mem" -smp "${WL_VM_SMP:-1}" \
	-nographic -no-reboot -monitor none -serial stdio -net none \
	-kernel "$vmlinuz" -initrd "$initrd" \
	-append 'console=ttyS0 panic=-1 quiet' </dev/null >"$log" 2>&1
qrc=$?
end=$(date +%s.%N)
tr -d '\r' <"$log" >"$log.clean"
say "guest ran $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s (qemu status $qrc)"

# Relay: check lines, prefixed so they read apart from the userspace runs;
# benchmark figures and guest diagnostics as they are.
sed -n -E 's/^(PASS|FAIL|SKIP): /\1: vm-kernel\//p' "$log.clean"
if [ "$mode" = bench ]; then
	grep -E '^(bench|BENCH)' "$log.clean"
fi
done_line=$(grep -m1 '^WL-VM-DONE' "$log.clean")
if [ -z "$done_line" ]; then
	echo "FAIL: vm-kernel/completion: the guest did not report completion (qemu status $qrc); console tail:"
	tail -n 40 "$log.clean" | sed 's/^/    /'
	exit 1
fi
grep -E '^(guest:|WL-VM-ERR|# |INFO:)' "$log.clean" >&2
grep -q '^WL-VM-ERR' "$log.clean" && {
	echo "FAIL: vm-kernel/guest: the guest reported a setup error"
	exit 1
}
if grep -q '^FAIL: ' "$log.clean"; then
	# The whole console (sanitizer reports, kernel messages) for diagnosis.
	sed 's/^/console: /' "$log.clean" >&2
	exit 1
fi
echo "PASS: vm-kernel/completion"
exit 0
