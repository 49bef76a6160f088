#!/usr/bin/env bash
# Root's part of the unit wirelink-unprivileged@: `wirelink prestart` checks
# the configuration and stages a copy only the daemon's user can read (and
# refuses what would let that user steer root's writes), and a userspace
# device is refused with the way out named, by prestart and by the daemon
# itself when it runs unprivileged anyway (wireguard-go's UAPI socket is
# root's alone). The daemon going direct, reloading and failing over as an
# unprivileged user on wireguard.ko runs in the VM (tests/vm/guest-e2e.sh,
# scenario nat). The user is "nobody".
set -u
WL_TOP=${WL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$WL_TOP/tests/cli/lib.sh"
. "$WL_TOP/tests/netns/topo.sh"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: $suite: needs root for network namespaces"; exit 0; }
command -v wireguard-go >/dev/null || { echo "FAIL: $suite: wireguard-go is not installed"; exit 1; }
command -v setpriv >/dev/null || { echo "FAIL: $suite: setpriv (util-linux) is not installed"; exit 1; }

USER_ID=$(id -u nobody) GROUP_ID=$(id -g nobody)
STAGE=/run/wl-test-stage.$$
cleanup() {
	topo_cleanup
	rm -rf "$STAGE" "$STAGE.link" "$STAGE.open"
}
trap cleanup EXIT
topo_init wlr
ETC=$TOPO_DIR/etc
mkdir -m 0700 "$ETC"
IFC=wlrk # no such device: staging does not look at it
conf=$ETC/wirelink.$IFC.yaml
PEER=$(wg genkey | wg pubkey)
name_peer() { printf 'Peers:\n  - PublicKey: %s\n    Name: %s\n' "$PEER" "$1" >"$conf"; chmod 0600 "$conf"; }
prestart() { "$WL_BIN" prestart --user nobody --stage-dir "$STAGE" --config-path "$ETC" "$@"; }
staged=$STAGE/wirelink.$IFC.yaml
# said RC WANT-RC OUTPUT TEXT: the exit status was WANT-RC and OUTPUT holds TEXT.
said() { [ "$1" -eq "$2" ] && grep -qF -- "$4" <<<"$3"; }

# The copy is the user's alone, in a directory that is root's alone.
name_peer bee
out=$(prestart "$IFC" 2>&1); rc=$?
check prestart-stages said "$rc" 0 "$out" "$conf staged as $staged for nobody"
check staged-copy-user-only-0400 sh -c "[ \"\$(stat -c '%u %a' '$staged')\" = '$USER_ID 400' ] && cmp -s '$conf' '$staged'"
check stage-dir-root-0755 sh -c "[ \"\$(stat -c '%u %a' '$STAGE')\" = '0 755' ]"
# What the daemon will read there is what root has.
check staged-copy-loads sh -c "setpriv --reuid=$USER_ID --regid=$GROUP_ID --clear-groups '$WL_BIN' --iface $IFC --config-path '$STAGE' --dump | grep -q '\"Name\":\"bee\"'"

# A reload's new file replaces the copy; a bad one is refused with the file,
# key and value named, exit 2, and the copy kept.
name_peer bumble
check reload-replaces-copy sh -c "'$WL_BIN' prestart --user nobody --stage-dir '$STAGE' --config-path '$ETC' $IFC >/dev/null && grep -q bumble '$staged'"
cp "$staged" "$TOPO_DIR/staged.before"
printf 'Peers:\n  - PublicKey: %s\n    Trust: Membershipp\n' "$PEER" >"$conf"
out=$(prestart "$IFC" 2>&1); rc=$?
check bad-file-refused said "$rc" 2 "$out" "wirelink.$IFC.yaml:3: Peers[0].Trust: \"Membershipp\" is not a trust level"
check bad-file-copy-kept cmp -s "$TOPO_DIR/staged.before" "$staged"
# The format may change (.json read first): the .yaml copy goes.
echo '{"Router": false}' >"$ETC/wirelink.$IFC.json"
check other-format-replaces-copy sh -c "'$WL_BIN' prestart --user nobody --stage-dir '$STAGE' --config-path '$ETC' $IFC >/dev/null 2>&1 && [ -f '$STAGE/wirelink.$IFC.json' ] && [ ! -e '$staged' ]"
# No file at all: defaults, and no stale copy left behind.
rm -f "$conf" "$ETC/wirelink.$IFC.json"
out=$(prestart "$IFC" 2>&1); rc=$?
check no-file-removes-copy sh -c "[ $rc -eq 0 ] && [ -z \"\$(ls -A '$STAGE')\" ]"

# Refusals that keep root from writing where the user could steer it.
name_peer bee
ln -s /etc "$STAGE.link"
out=$("$WL_BIN" prestart --user nobody --stage-dir "$STAGE.link" --config-path "$ETC" "$IFC" 2>&1); rc=$?
check refuses-linked-stage-dir said "$rc" 1 "$out" 'not a directory (or a symbolic link to one)'
mkdir -m 0777 "$STAGE.open"
out=$("$WL_BIN" prestart --user nobody --stage-dir "$STAGE.open" --config-path "$ETC" "$IFC" 2>&1); rc=$?
check refuses-open-stage-dir said "$rc" 1 "$out" 'writable by root alone'
out=$(setpriv --reuid=nobody --regid="$GROUP_ID" --clear-groups "$WL_BIN" prestart --user nobody --stage-dir "$STAGE" --config-path "$ETC" "$IFC" 2>&1); rc=$?
check refuses-non-root said "$rc" 1 "$out" 'must run as root'
out=$("$WL_BIN" prestart --user no-such-user-wl "$IFC" 2>&1); rc=$?
check refuses-unknown-user said "$rc" 1 "$out" "no user 'no-such-user-wl'"
out=$("$WL_BIN" prestart --stage-dir relative "$IFC" 2>&1); rc=$?
check refuses-relative-stage-dir said "$rc" 2 "$out" "--stage-dir: an absolute path"

# A userspace device: prestart refuses it for a user other than root
# (staging nothing), and names the unit that works.
NS=$TOPO_PREFIX-one
topo_ns "$NS"
topo_wg_up "$NS" wlru 10.95.0.1 || { fail setup "wireguard-go did not start"; finish; }
sock_before=$(stat -c '%u %a %i' /var/run/wireguard/wlru.sock)
out=$(prestart wlru 2>&1); rc=$?
check userspace-refused said "$rc" 1 "$out" "wlru is a userspace WireGuard device (/var/run/wireguard/wlru.sock): its socket is root's alone, so a daemon running as nobody cannot configure it; use wirelink@wlru"
check userspace-nothing-staged test ! -e "$STAGE/wirelink.wlru.yaml"
check userspace-socket-untouched sh -c "[ \"\$(stat -c '%u %a %i' /var/run/wireguard/wlru.sock)\" = '$sock_before' ] && kill -0 ${TOPO_WGPID[wlru]}"
# For root itself it is fine (the unit's user could be root).
out=$("$WL_BIN" prestart --user root --stage-dir "$STAGE" --config-path "$ETC" wlru 2>&1); rc=$?
check userspace-fine-for-root said "$rc" 0 "$out" "no configuration file for wlru: defaults"

# The daemon run unprivileged on it anyway says why it cannot, and exits 1.
# As the unit would run it: its user, CAP_NET_ADMIN alone, and
# /run/wirelink its own (a private tmpfs stands in for the unit's
# RuntimeDirectory, which systemd gives to the user).
log=$TOPO_DIR/unpriv.log
ip netns exec "$NS" unshare --mount --propagation private sh -c "
	mount -t tmpfs -o mode=0755,uid=$USER_ID,gid=$GROUP_ID wl-runtime /run/wirelink &&
	exec setpriv --reuid=$USER_ID --regid=$GROUP_ID --clear-groups \
		--inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin --bounding-set=-all,+net_admin \
		'$WL_BIN' --iface wlru --config-path '$STAGE'" >"$log" 2>&1
rc=$?
check daemon-unprivileged-userspace-exit-1 test "$rc" -eq 1
check daemon-unprivileged-userspace-says-why grep -qF "cannot connect to /var/run/wireguard/wlru.sock: Permission denied (it is root's alone: a userspace device needs wirelink as root, e.g. the unit wirelink@, not wirelink-unprivileged@)" "$log"
finish
