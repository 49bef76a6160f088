/* A virtual WireGuard device for the simulator, living on a vnet node.
 *
 * It behaves like WireGuard where wirelink can tell the difference:
 *   - configuration: an in-memory WireGuard device (src/sys/wg_mem.h, the
 *     same model the wgdev suite checks against wireguard-go and the
 *     kernel): peers with endpoint, AllowedIPs, persistent keepalive, last
 *     handshake and byte counters, changed by struct wg_peer_change
 *     batches and read as struct wg_device snapshots through wgdev
 *     handles (vwg_open_wgdev), exactly as the daemon does it;
 *   - handshakes travel the vnet: an initiation goes to the peer's
 *     configured endpoint, the responder accepts it only if it has the
 *     initiator as a peer, learns the initiator's endpoint from the source
 *     address (roaming) and replies; the initiator completes only when the
 *     reply arrives, and the responder's handshake time is set by the first
 *     data (or keepalive) it receives on the new session;
 *   - timers: a handshake starts when there is data for a peer with an
 *     endpoint and no usable session (or, on the initiating side, a session
 *     older than RekeyAfterTime 120 s); it is retried every RekeyTimeout 5 s
 *     (plus up to 333 ms of jitter) for up to 90 s; data sent without any
 *     reply for 15 s starts a new handshake; a passive keepalive goes out
 *     10 s after data arrived when nothing was sent back; persistent
 *     keepalive; a session is unusable 180 s after its handshake;
 *   - tunnel traffic: an inner packet is routed by longest-prefix AllowedIPs
 *     to a peer and sent to its endpoint; the receiver accepts it only if
 *     the inner source lies in the sending peer's AllowedIPs (cryptokey
 *     routing), then delivers it locally or, with forwarding on (a hub),
 *     routes it on to another peer.
 * There is no cryptography: messages carry the keys in the clear, because
 * the vnet cannot be tampered with. What matters is who can reach whom.
 *
 * Time is the vnet's virtual clock. Error convention: functions returning
 * int give 0 or -errno; constructors return NULL on bad arguments. */
#ifndef WL_SIM_VWG_H
#define WL_SIM_VWG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/encoding.h"
#include "common/netaddr.h"
#include "core/clock.h"
#include "sim/vnet.h"
#include "sys/wg_mem.h"
#include "sys/wgdev.h"


/* WireGuard's constants, in ms. */
#define VWG_REKEY_AFTER_TIME 120000
#define VWG_REJECT_AFTER_TIME 180000
#define VWG_REKEY_ATTEMPT_TIME 90000
#define VWG_REKEY_TIMEOUT 5000
#define VWG_REKEY_TIMEOUT_JITTER 334
#define VWG_KEEPALIVE_TIMEOUT 10000
/* Inner packets queued per peer while a handshake is under way. */
#define VWG_QUEUE_MAX 16
/* Wall-clock seconds at virtual time 0, for the snapshots' timespecs. */
#define VWG_EPOCH_SEC 1700000000

struct vwg;

/* An inner (tunnelled) UDP datagram. */
struct vwg_inner {
	struct wl_addr src, dst;
	uint16_t sport, dport;
	size_t len;
	const uint8_t *data;
};

/* Called for each inner datagram addressed to one of the device's own
 * addresses. via = the peer it came from. */
typedef void (*vwg_recv_fn)(void *ctx, struct vwg *dev, const struct vwg_inner *pkt,
			    const uint8_t via[static WL_KEY_LEN]);

/* Counters for tests and figures. */
struct vwg_stats {
	uint64_t handshakes_initiated, handshakes_completed, handshakes_responded;
	uint64_t handshake_timeouts;       /* gave up after 90 s */
	uint64_t rx_unknown_peer;          /* from a key we do not have as a peer */
	uint64_t rx_bad_session;           /* data for no session we know */
	uint64_t rx_replayed;              /* data whose counter came before, or an initiation answered before (a duplicate) */
	uint64_t rx_cryptokey_refused;     /* inner source outside the peer's AllowedIPs */
	uint64_t tx_no_route, tx_no_endpoint, queue_dropped;
	uint64_t keepalives_sent, data_sent, data_received, forwarded;
	/* What the host's stack would count on the interface: plaintext
	 * bytes in (past cryptokey routing) and out (routed to a peer), each
	 * packet with VWG_INNER_HEADER bytes of IP and UDP header. */
	uint64_t tun_rx_bytes, tun_tx_bytes;
	/* Endpoints configured that had nothing at all sent to them before
	 * the next one replaced them (a try WireGuard never made). */
	uint64_t endpoints_skipped;
};
#define VWG_INNER_HEADER 48

/* Creates a device on node, listening on UDP listen_port there. The
 * public key is derived from private_key (X25519). seed drives the
 * handshake ids and jitter. Snapshots report ifindex 1000 + node. */
struct vwg *vwg_new(struct vnet *net, int node, const char *ifname,
		    const uint8_t private_key[static WL_KEY_LEN], uint16_t listen_port,
		    uint64_t seed);
/* NULL is fine; unbinds the port and frees the model: handles still open
 * on it (vwg_open_wgdev) must still be closed, and fail with -ENODEV
 * meanwhile, like handles on a deleted interface. */
void vwg_free(struct vwg *dev);

/* The device's configuration. The vwg is its owner (wg_mem_set_hooks is
 * taken): read it freely, change it through a wgdev handle. */
struct wg_mem *vwg_model(struct vwg *dev);
/* A new wgdev handle on the device (wgdev_open_memory on its model): the
 * simulator reads and changes devices only through these, like the
 * daemon. The caller closes it with wgdev_close. 0 or -ENOMEM. */
int vwg_open_wgdev(struct vwg *dev, struct wgdev **out);

void vwg_public_key(const struct vwg *dev, uint8_t out[static WL_KEY_LEN]);
const char *vwg_name(const struct vwg *dev);
uint16_t vwg_listen_port(const struct vwg *dev);
int vwg_node(const struct vwg *dev);
const struct vwg_stats *vwg_stats(const struct vwg *dev);

/* Addresses on the interface (the auto address /64, tunnel IPs). Inner
 * packets to these are delivered locally. */
void vwg_add_address(struct vwg *dev, const struct wl_cidr *addr);
size_t vwg_address_count(const struct vwg *dev);
const struct wl_cidr *vwg_addresses(const struct vwg *dev);
/* Route inner packets for others on to other peers (a hub). */
void vwg_set_forwarding(struct vwg *dev, bool on);
void vwg_set_recv(struct vwg *dev, vwg_recv_fn fn, void *ctx);

/* wgdev_apply() on the device's own handle: a change with WG_PEER_REMOVE
 * only removes; removing or update-only-changing a missing peer is not an
 * error. Returns 0, or -EINVAL (and applies nothing) if any change has an
 * endpoint or AllowedIP without an address family or with a prefix longer
 * than the address. */
int vwg_apply(struct vwg *dev, const struct wg_peer_change *changes, size_t n);

/* wgdev_get() on the device's own handle: a snapshot (private key
 * included), freed with vwg_device_free() (or wg_device_free(): same
 * layout). NULL when out of memory. */
struct wg_device *vwg_snapshot(const struct vwg *dev);
void vwg_device_free(struct wg_device *d); /* NULL is fine; wipes the key */
/* Virtual time of a peer's last handshake, ENGINE_NEVER if none or no such
 * peer. The snapshot carries the same as a wall-clock timespec. */
int64_t vwg_peer_handshake(const struct vwg *dev, const uint8_t key[static WL_KEY_LEN]);
/* The host's wall clock runs offset_ms ahead of virtual time from now on:
 * handshakes are stamped with it, as WireGuard stamps them with the
 * host's CLOCK_REALTIME (earlier stamps keep their old value). */
void vwg_set_wall_offset(struct vwg *dev, int64_t offset_ms);
/* Converts a snapshot timespec back to virtual ms (ENGINE_NEVER for {0,0});
 * exact while the wall offset is 0. */
int64_t vwg_timespec_to_ms(const struct timespec *ts);

/* Sends an inner datagram: longest-prefix match on AllowedIPs picks the
 * peer. 0, -EHOSTUNREACH (no peer has a matching AllowedIP),
 * -EDESTADDRREQ (the peer has no endpoint), -EMSGSIZE. Delivery is not
 * guaranteed (the packet may wait for a handshake, or be lost). */
int vwg_send(struct vwg *dev, const struct vwg_inner *pkt);

/* When the device next needs vwg_run_timers(): a lower bound of its
 * earliest timer (a wake-up may find nothing due), or VNET_NEVER. */
int64_t vwg_next_timer(const struct vwg *dev);
/* Runs every timer due at or before the vnet's current time. */
void vwg_run_timers(struct vwg *dev);

#endif
