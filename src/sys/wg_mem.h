/* An in-memory WireGuard device: the third backend behind wgdev.h, beside
 * generic netlink (wg_genl.c) and UAPI (wg_uapi.c). It holds WireGuard's
 * configuration and reports it with WireGuard's semantics, so code written
 * against wgdev.h (the daemon's tick driver, the tests, the simulator)
 * runs against it unchanged:
 *   - wgdev_apply: the batch is validated first (-EINVAL, nothing
 *     applied); then changes apply in order: REMOVE only removes, a
 *     missing peer is created unless UPDATE_ONLY, a peer with the
 *     device's own public key is ignored, SET_ENDPOINT, REPLACE or add
 *     AllowedIPs (stored masked; a prefix belongs to one peer at a time,
 *     adding it to one takes it from any other), SET_KEEPALIVE;
 *   - wgdev_set_device: private key (public key derived; a peer with the
 *     new public key is removed, as WireGuard does) and listen port
 *     (the owner may refuse a port, as a host refuses a port in use);
 *   - wgdev_get: an independent heap snapshot laid out like the real
 *     backends' (wg_device_free frees it); peers in creation order,
 *     AllowedIPs in the order they were added;
 *   - wgdev_refresh: the handle's last snapshot updated in place with
 *     what the owner wrote since, while the configuration has not moved
 *     and no other snapshot was taken; else a new one.
 * tests/wgdev/wgdev_suite.c (--backend memory) checks these against the
 * same expectations as wireguard-go and the kernel module.
 *
 * What WireGuard does on its own, the model leaves to its OWNER, the code
 * that created it and plays the data plane on top (the simulator's vwg,
 * the core tests' fixture): handshakes, sessions, timers, counters,
 * roaming. The owner reads and writes the live peers (wg_mem_find,
 * wg_mem_peer_at), routes by AllowedIPs (wg_mem_route), and hears through
 * hooks when configuration changes something WireGuard would react to.
 *
 * Error convention as in wgdev.h: 0 or -errno, out-pointers NULL on
 * failure; constructors return NULL when out of memory. Nothing aborts on
 * a failed allocation. Single-threaded. */
#ifndef WL_SYS_WG_MEM_H
#define WL_SYS_WG_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "common/encoding.h"
#include "common/netaddr.h"
#include "sys/wgdev.h"

struct wg_mem;

/* A device named ifname (shorter than IFNAMSIZ) with no key, port 0 and
 * no peers; snapshots report ifindex as given (0 = none). NULL on a bad
 * name or when out of memory. */
struct wg_mem *wg_mem_new(const char *ifname, uint32_t ifindex);
/* Destroys the device: every peer goes (peer_removed is called for each),
 * the private key is wiped, the hooks are dropped. Handles still open on
 * it stay valid to close, and their other operations fail with -ENODEV,
 * like a handle on a deleted interface. NULL is fine. */
void wg_mem_free(struct wg_mem *m);

/* A wgdev handle on the model (wgdev_backend_of gives WGDEV_MEMORY):
 * wgdev_get, wgdev_apply, wgdev_set_device and wgdev_close work as on the
 * real backends. Several handles may be open at once; closing one leaves
 * the model as it is. 0, or -ENOMEM / -ENODEV (the model was freed).
 * wgdev_open(name, WGDEV_MEMORY) refuses: a model has no name to be found
 * by. */
int wgdev_open_memory(struct wg_mem *m, struct wgdev **out);

/* ---- the owner's side ---- */

/* Hooks into the owner's per-peer state, called synchronously from inside
 * wgdev_apply / wgdev_set_device / wg_mem_free at the point where the
 * change takes effect (so an owner that sends from a hook sends exactly
 * when WireGuard would). Any hook may be NULL. Hooks may read the model
 * (wg_mem_find, wg_mem_route, ...) and write the owner-writable peer
 * fields, but must not change its configuration (no wgdev_apply or
 * wgdev_set_device from inside a hook). */
struct wg_mem_hooks {
	/* Peer p was just created, before the rest of its change is applied
	 * (endpoint, AllowedIPs, keepalive). A re-added peer is a new peer:
	 * it starts with no session. Returns 0, or -errno (-ENOMEM) to
	 * refuse it: the peer is dropped again and the apply fails with that
	 * error. */
	int (*peer_added)(void *ctx, struct wg_peer *p);
	/* Peer p is about to go (a REMOVE, a private key equal to its public
	 * key, wg_mem_free): the owner releases its state for it, sessions
	 * included. p and its owner data are valid during the call only. */
	void (*peer_removed)(void *ctx, struct wg_peer *p);
	/* SET_KEEPALIVE was applied to p (after its endpoint and AllowedIPs
	 * of the same change); old_interval is the interval before, in
	 * seconds, p->persistent_keepalive the new one (either may be 0).
	 * WireGuard restarts the keepalive timer and sends one keepalive at
	 * once when it turns keepalive on and p has an endpoint. */
	void (*keepalive_set)(void *ctx, struct wg_peer *p, uint16_t old_interval);
	/* SET_ENDPOINT gave p another endpoint than it had (a change to the
	 * endpoint it has already, or roaming by the owner, does not call
	 * it). */
	void (*endpoint_set)(void *ctx, struct wg_peer *p);
	/* wgdev_set_device is about to change the listen port to port (the
	 * current one is still wg_mem_listen_port): WireGuard moves its
	 * socket. Returns 0, or -errno (-EADDRINUSE) to refuse: set_device
	 * then fails with that error and changes nothing. */
	int (*listen_port_set)(void *ctx, uint16_t port);
};

/* Installs hooks (copied; NULL = none) with ctx as their first argument. */
void wg_mem_set_hooks(struct wg_mem *m, const struct wg_mem_hooks *hooks, void *ctx);

/* The live peers. A returned `struct wg_peer *` stays valid until that
 * peer is removed (peer_removed) and is NOT a snapshot: it changes with
 * the configuration. The owner may write these fields of a live peer:
 *   has_endpoint, endpoint   roaming to the source of the latest
 *                            authenticated packet;
 *   last_handshake           wall-clock time of the last handshake, as
 *                            WireGuard reports it ({0, 0} = never);
 *   rx_bytes, tx_bytes       transfer counters;
 * and after writing any of them calls wg_mem_peer_touch: a snapshot
 * refreshed in place (wgdev_refresh) copies only the peers touched since.
 * Everything else (public_key, persistent_keepalive, allowed_ips,
 * n_allowed) is configuration: read it, change it only through
 * wgdev_apply, which keeps the route table and ownership of prefixes
 * right. */

/* The peer with this public key, or NULL. */
struct wg_peer *wg_mem_find(struct wg_mem *m, const uint8_t key[static WL_KEY_LEN]);
size_t wg_mem_peer_count(const struct wg_mem *m);
/* Peer i (0 <= i < wg_mem_peer_count) in creation order; removing a peer
 * keeps the others' order. */
struct wg_peer *wg_mem_peer_at(struct wg_mem *m, size_t i);
/* Cryptokey routing: the peer whose AllowedIPs hold the longest prefix
 * containing addr, or NULL. Fast (a hash of host prefixes, then the other
 * prefixes longest first, rebuilt after a configuration change): the
 * simulator calls it for every packet. */
struct wg_peer *wg_mem_route(struct wg_mem *m, const struct wl_addr *addr);

/* The owner's pointer attached to a live peer of the model (NULL until
 * set). p must come from this model (wg_mem_find, wg_mem_peer_at,
 * wg_mem_route, a hook), never from a snapshot. */
void *wg_mem_peer_data(const struct wg_peer *p);
void wg_mem_peer_set_data(struct wg_peer *p, void *data);
/* Its place among the model's peers (wg_mem_peer_at), as of now: a
 * removal moves others. */
size_t wg_mem_peer_index(const struct wg_peer *p);

/* p (a live peer) had owner-writable fields written: the next
 * wgdev_refresh copies them. */
void wg_mem_peer_touch(struct wg_peer *p);
/* Tests: every in-place refresh also compares all peers with the model,
 * and aborts, naming the peer, if one was written without being touched.
 * Off by default; costs what a whole snapshot does. */
void wg_mem_check_refresh(struct wg_mem *m, bool on);

/* Device settings, as the last wgdev_set_device left them. */
const char *wg_mem_name(const struct wg_mem *m);
/* Copies the public key to out; false (out untouched) when the device
 * has no private key yet. */
bool wg_mem_public_key(const struct wg_mem *m, uint8_t out[static WL_KEY_LEN]);
uint16_t wg_mem_listen_port(const struct wg_mem *m);

#endif
