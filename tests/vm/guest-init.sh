#!/bin/sh
# /init of the test VM (busybox sh). Loads WireGuard, creates interfaces
# with iproute2's ip, runs the programs for the mode in /wl/mode, prints their
# output on the serial console, then ends the VM. The host (tests/vm/vm.sh)
# reads the lines; "WL-VM-DONE" tells it the guest finished.
# /sbin/ip is iproute2 (always called by full path: busybox sh prefers its
# own applets). Mode e2e runs bash scripts, which take ip, nft and ping
# (iputils) from PATH.
export PATH=/wl:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
# When the binaries carry sanitizers, any report must fail the run.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

finish() {
	echo "WL-VM-DONE"
	sync
	# -no-reboot on the host turns a reboot into qemu exiting.
	reboot -f
	sleep 5
	echo o >/proc/sysrq-trigger
}

err() {
	echo "WL-VM-ERR: $*"
	finish
}

for m in $(cat /modules/order); do
	insmod "/modules/$m" || err "insmod $m failed"
done
/sbin/ip link set lo up

# Runs a check program; a non-zero exit without any FAIL line of its own
# (a crash) becomes one FAIL line.
run_check() { # name, command...
	name=$1
	shift
	"$@" >/tmp/out 2>&1
	rc=$?
	cat /tmp/out
	if [ "$rc" -ne 0 ] && ! grep -q '^FAIL: ' /tmp/out; then
		echo "FAIL: $name: exited with status $rc"
	elif ! grep -q '^PASS: ' /tmp/out; then
		echo "FAIL: $name: ran no check"
	fi
}

new_wg() { # name
	/sbin/ip link add "$1" type wireguard || err "ip link add $1 type wireguard failed"
	/sbin/ip link set "$1" up || err "ip link set $1 up failed"
}

# `wirelink dev show` reading what wireguard-tools wrote, through the kernel
# backend chosen explicitly and by auto-detection (no UAPI socket here).
cli_dev_show() {
	new_wg wg2
	key=18dCY1rwCNo4aQaWFccKFfhbqG0FGBxDkCSbyQ3awkw=
	wg set wg2 listen-port 51999 peer "$key" endpoint 192.0.2.1:51820 \
		persistent-keepalive 25 allowed-ips 10.9.0.0/24,fd00:9::/64 ||
		{ echo "FAIL: cli/dev_show_kernel: wg set failed"; return; }
	for b in kernel auto; do
		out=$(wirelink dev show wg2 --json --backend "$b" 2>&1)
		rc=$?
		missing=""
		for want in "\"$key\"" '"192.0.2.1:51820"' '"10.9.0.0/24"' \
			'"fd00:9::/64"' '"listen_port":51999' '"persistent_keepalive":25' \
			'"backend":"kernel"'; do
			case "$out" in *"$want"*) ;; *) missing="$missing $want" ;; esac
		done
		if [ "$rc" -eq 0 ] && [ -z "$missing" ]; then
			echo "PASS: cli/dev_show_$b"
		else
			echo "FAIL: cli/dev_show_$b: status $rc, missing:$missing; output: $out"
		fi
	done
	/sbin/ip link del wg2
}

# wait_for SECONDS COMMAND...: polls COMMAND every 0.2 s until it succeeds.
wait_for() {
	t=$1
	shift
	i=0
	while [ "$i" -lt $((t * 5)) ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}

# The daemon on a kernel WireGuard device: it adds its own auto address,
# gives the device peer its auto address as an allowed IP (through the
# kernel backend), stops cleanly on SIGTERM, and exits non-zero when the
# device is deleted under it.
daemon_smoke() {
	new_wg wgd
	wg genkey >/tmp/wgd.key 2>/dev/null || { echo "FAIL: daemon/kernel_start: wg genkey failed"; return; }
	peer_pub=$(wg genkey | wg pubkey)
	wg set wgd private-key /tmp/wgd.key listen-port 51830 peer "$peer_pub" \
		endpoint 192.0.2.1:51820 allowed-ips 10.98.0.2/32 ||
		{ echo "FAIL: daemon/kernel_start: wg set failed"; return; }
	own=$(wirelink autoaddr "$(wg show wgd public-key)")
	theirs=$(wirelink autoaddr "$peer_pub")
	mkdir -p /tmp/wlcfg
	WIRELINK_CONFIG_PATH=/tmp/wlcfg wirelink --iface wgd --debug >/tmp/daemon.log 2>&1 &
	dpid=$!
	if wait_for 30 sh -c "/sbin/ip -6 addr show dev wgd | grep -q '$own/64'"; then
		echo "PASS: daemon/kernel_own_auto_address"
	else
		echo "FAIL: daemon/kernel_own_auto_address: $own/64 not on wgd"
		sed 's/^/daemon: /' /tmp/daemon.log | tail -n 30
	fi
	if wait_for 30 sh -c "wg show wgd allowed-ips | grep -q '$theirs/128'"; then
		echo "PASS: daemon/kernel_peer_auto_address"
	else
		echo "FAIL: daemon/kernel_peer_auto_address: $theirs/128 not in the peer's allowed IPs: $(wg show wgd allowed-ips)"
		sed 's/^/daemon: /' /tmp/daemon.log | tail -n 30
	fi
	# All of that inside the sandbox: generic netlink with CAP_NET_ADMIN
	# alone, under the seccomp filter.
	if grep -qE '^CapEff:[[:space:]]+0000000000001000$' "/proc/$dpid/status" &&
		grep -qE '^Seccomp:[[:space:]]+2$' "/proc/$dpid/status" &&
		! grep -q 'wirelink: seccomp:' /tmp/daemon.log; then
		echo "PASS: daemon/kernel_in_sandbox"
	else
		echo "FAIL: daemon/kernel_in_sandbox: $(grep -E '^(CapEff|Seccomp):' "/proc/$dpid/status" | tr '\n' ' ')$(grep 'seccomp' /tmp/daemon.log)"
	fi
	kill -TERM "$dpid"
	wait "$dpid"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "PASS: daemon/kernel_clean_stop"
	else
		echo "FAIL: daemon/kernel_clean_stop: exit status $rc"
		sed 's/^/daemon: /' /tmp/daemon.log | tail -n 30
	fi

	WIRELINK_CONFIG_PATH=/tmp/wlcfg wirelink --iface wgd >/tmp/daemon2.log 2>&1 &
	dpid=$!
	wait_for 30 sh -c "wg show wgd allowed-ips | grep -q '$theirs/128'"
	/sbin/ip link del wgd
	if wait_for 30 sh -c "! kill -0 $dpid"; then
		wait "$dpid"
		rc=$?
		if [ "$rc" -ne 0 ]; then
			echo "PASS: daemon/kernel_device_gone_exits"
		else
			echo "FAIL: daemon/kernel_device_gone_exits: exit status 0"
			sed 's/^/daemon: /' /tmp/daemon2.log | tail -n 30
		fi
	else
		echo "FAIL: daemon/kernel_device_gone_exits: still running 30 s after the device was deleted"
		kill -KILL "$dpid"
	fi
}

mode=$(cat /wl/mode)
echo "guest: kernel $(uname -r), mode $mode"
case "$mode" in
test)
	new_wg wg0
	t0=$(date +%s)
	new_wg wgspare
	WL_IFACE=wg0 WL_IFACE_SPARE=wgspare run_check wg_kernel_check /wl/wg_kernel_check
	if [ -x /wl/wgdev_suite ]; then
		new_wg wg1
		run_check wgdev_suite /wl/wgdev_suite --iface wg1 --backend kernel
	else
		echo "SKIP: wgdev_suite: the shared device suite is not built"
	fi
	if [ -x /wl/wirelink ] && [ -x /usr/bin/wg ]; then
		cli_dev_show
		daemon_smoke
	else
		echo "SKIP: cli/dev_show_kernel: wirelink or wg(8) missing"
	fi
	echo "guest: checks took $(($(date +%s) - t0)) s"
	;;
e2e)
	# Streamed as it runs (a hang still shows how far it got); the status
	# goes through a file because busybox sh has no pipefail here.
	t0=$(date +%s)
	{ bash /wl/guest-e2e.sh; echo $? >/tmp/e2e.rc; } 2>&1 | tee /tmp/e2e.out
	rc=$(cat /tmp/e2e.rc)
	if [ "$rc" -ne 0 ] && ! grep -q '^FAIL: ' /tmp/e2e.out; then
		echo "FAIL: e2e: exited with status $rc"
	elif ! grep -q '^PASS: ' /tmp/e2e.out; then
		echo "FAIL: e2e: ran no check"
	fi
	echo "guest: e2e took $(($(date +%s) - t0)) s"
	;;
bench)
	echo "bench: guest kernel $(uname -r), 1 vCPU under qemu TCG (emulated: far slower than hardware)"
	new_wg wg0
	/wl/bench_genl --iface wg0 2>&1
	if [ -x /wl/bench_dev ]; then
		new_wg wg1
		/wl/bench_dev --iface wg1 --backend kernel 2>&1 | sed 's/^/bench: bench_dev: /'
	fi
	;;
*)
	err "unknown mode $mode"
	;;
esac
finish
