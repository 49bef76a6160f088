/* One interface to a WireGuard device, with three backends behind it:
 *   kernel     generic netlink family "wireguard" (wg_genl.c, libmnl)
 *   userspace  the UAPI text protocol on /var/run/wireguard/IFACE.sock (wg_uapi.c)
 *   memory     an in-memory model of WireGuard for tests and the simulator
 *              (wg_mem.c; opened with wgdev_open_memory, never by name)
 * The daemon, `wirelink dev show` and the tests all go through this header.
 *
 * Error convention: functions returning int give 0 or -errno; out-pointers
 * are NULL on failure. Snapshots are heap objects owned by the caller and
 * released with wg_device_free(), which wipes the private key. */
#ifndef WL_SYS_WGDEV_H
#define WL_SYS_WGDEV_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/encoding.h"
#include "common/netaddr.h"

struct wg_peer {
	uint8_t public_key[WL_KEY_LEN];
	bool has_endpoint;
	struct wl_endpoint endpoint;
	/* Wall-clock time of the last handshake as WireGuard reports it;
	 * {0, 0} = never. The daemon turns it into an age. */
	struct timespec last_handshake;
	uint64_t rx_bytes, tx_bytes;
	uint16_t persistent_keepalive; /* seconds; 0 = off */
	size_t n_allowed;
	struct wl_cidr *allowed_ips;
	/* allowed_ips lies in its snapshot's one block (wg_peer_use_block),
	 * not in an allocation of its own. */
	bool allowed_in_block;
};

struct wg_device {
	char name[IFNAMSIZ];
	uint32_t ifindex;
	bool has_private_key;
	uint8_t private_key[WL_KEY_LEN];
	uint8_t public_key[WL_KEY_LEN];
	uint16_t listen_port;
	uint32_t fwmark;
	size_t n_peers;
	struct wg_peer *peers;
	struct wl_cidr *allowed_block; /* wg_device_allowed_block, or NULL */
	/* Set by a refresh that updated the snapshot in place (the memory
	 * model): the same peers in the same order, and only those at the
	 * n_moved indices in moved were written. false after a fresh read. */
	bool same_peers;
	size_t n_moved, cap_moved;
	uint32_t *moved;
};

void wg_device_free(struct wg_device *dev); /* NULL is fine */
/* The peer with this key, or NULL. */
struct wg_peer *wg_device_find_peer(struct wg_device *dev, const uint8_t key[static WL_KEY_LEN]);

/* Building snapshots (backends, simulators, tests). Arrays grow only
 * through these functions, which keep the capacity implicit. */

/* A new empty snapshot for interface ifname, or NULL when out of memory. */
struct wg_device *wg_device_new(const char *ifname);
/* Appends a zeroed peer with this key; returns it, or NULL when out of
 * memory. Pointers to earlier peers are invalidated (realloc). */
struct wg_peer *wg_device_add_peer(struct wg_device *dev, const uint8_t key[static WL_KEY_LEN]);
/* Makes room for n peers at once (a snapshot of known size), so that
 * appending them moves nothing; false when out of memory. */
bool wg_device_reserve_peers(struct wg_device *dev, size_t n);
/* Appends one allowed IP to a peer; 0 or -ENOMEM. */
int wg_peer_add_allowed(struct wg_peer *peer, const struct wl_cidr *c);
/* Replaces peer's AllowedIPs with a copy of v[0..n) (one allocation). */
int wg_peer_set_allowed(struct wg_peer *peer, const struct wl_cidr *v, size_t n);
/* For a backend that knows every peer's AllowedIPs at once: one block
 * with room for n of them, the snapshot's own (once per snapshot), or
 * NULL when out of memory. A snapshot of a thousand peers is then two
 * allocations instead of a thousand and two, every tick. */
struct wl_cidr *wg_device_allowed_block(struct wg_device *dev, size_t n);
/* Points peer's AllowedIPs at v[0..n) inside its snapshot's block; the
 * peer still grows like any other (wg_peer_add_allowed copies them out
 * first). */
void wg_peer_use_block(struct wg_peer *peer, struct wl_cidr *v, size_t n);

/* What to do to one peer. Without WG_PEER_UPDATE_ONLY a missing peer is
 * created; with it a missing peer is left missing (WireGuard's
 * "update_only"), so a change racing with a removal never re-creates it. */
enum wg_peer_flags {
	WG_PEER_REMOVE = 1u << 0,
	WG_PEER_UPDATE_ONLY = 1u << 1,
	WG_PEER_REPLACE_ALLOWED_IPS = 1u << 2, /* else allowed_ips are added */
	WG_PEER_SET_ENDPOINT = 1u << 3,
	WG_PEER_SET_KEEPALIVE = 1u << 4,
};

struct wg_peer_change {
	uint8_t public_key[WL_KEY_LEN];
	unsigned flags;
	struct wl_endpoint endpoint;   /* with WG_PEER_SET_ENDPOINT */
	uint16_t persistent_keepalive; /* with WG_PEER_SET_KEEPALIVE */
	size_t n_allowed;
	const struct wl_cidr *allowed_ips; /* borrowed */
};

enum wgdev_backend {
	WGDEV_AUTO,      /* UAPI socket present -> userspace, else kernel */
	WGDEV_KERNEL,
	WGDEV_USERSPACE,
	WGDEV_MEMORY,    /* wg_mem.h; not a user setting */
};

/* The one table of backend names: "auto", "kernel", "userspace",
 * "memory" (the spelling of --backend, config files and `dev show`). The
 * parse is exact; false for anything else. */
const char *wgdev_backend_name(enum wgdev_backend b);
bool wgdev_backend_parse(const char *s, enum wgdev_backend *out);

struct wgdev;

/* A userspace implementation's UAPI socket for ifname exists
 * (/var/run/wireguard/IFNAME.sock): what the automatic backend choice
 * goes by. */
bool wgdev_uapi_present(const char *ifname);

/* Opens a handle on interface ifname (no '/' allowed in the name).
 * WGDEV_MEMORY gives -EINVAL: a model is opened with wgdev_open_memory. */
int wgdev_open(const char *ifname, enum wgdev_backend backend, struct wgdev **out);
void wgdev_close(struct wgdev *wg); /* NULL is fine */
enum wgdev_backend wgdev_backend_of(const struct wgdev *wg);
/* The interface name the handle was opened on. */
const char *wgdev_ifname(const struct wgdev *wg);

/* Reads the whole device. */
int wgdev_get(struct wgdev *wg, struct wg_device **out);
/* Reads the device again into *dev: NULL, or the last snapshot this
 * handle gave (wgdev_get or wgdev_refresh). A backend that can tell what
 * moved since (the memory model) updates it in place; the others free it
 * and read anew. Only what moved is written: *dev must be as the backend
 * gave it. On failure *dev is freed and NULL. */
int wgdev_refresh(struct wgdev *wg, struct wg_device **dev);
/* Applies changes in order, as one or more device updates. A change with
 * WG_PEER_REMOVE only removes (other flags are ignored); removing or
 * update-only-changing a missing peer is not an error. -EINVAL (before
 * anything is sent) for an endpoint or allowed IP without an address
 * family or with a prefix longer than the address. When the device refuses
 * a change, earlier ones may already be in effect (WireGuard applies as it
 * reads): re-read the device rather than assume either state.
 * tests/wgdev/wgdev_suite.c
 * is the executable form of these semantics. */
int wgdev_apply(struct wgdev *wg, const struct wg_peer_change *changes, size_t n);
/* Sets device-level settings: the private key when private_key is not NULL,
 * the listen port when listen_port is 0..65535 (-1 = leave it). Peers are
 * left alone. Used by tests and benchmarks to prepare a fresh device. */
int wgdev_set_device(struct wgdev *wg, const uint8_t *private_key, int listen_port);

#endif
