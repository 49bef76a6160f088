/* Test fixture for the core engine: a node = an engine the test
 * configures directly, run by the daemon's own tick driver
 * (src/daemon/driver.h) on the in-memory WireGuard model
 * (src/sys/wg_mem.h), with interfaces the test describes. So every tick
 * goes through the very code the daemon runs: the device snapshot and its
 * handshake-time conversion, the interface listing, the tick, the changes
 * applied to the device, the datagrams handed over. Tests play the
 * network themselves (tdeliver, tseal/treceive) and set the device's
 * handshake times, counters and endpoints as WireGuard would. (Multi-node
 * scenarios over minutes belong to the simulator, not here.) */
#ifndef WL_TEST_CORE_FIXTURE_H
#define WL_TEST_CORE_FIXTURE_H

#include "config/config.h"
#include "core/engine.h"
#include "daemon/driver.h"
#include "sys/wg_mem.h"
#include "sys/wgdev.h"

#define TN_IFACES 4
#define TN_ADDRS 4
/* The device's wall clock at engine time 0 (handshakes are stamped in it). */
#define TN_EPOCH_MS 1700000000000LL

struct tnode {
	uint8_t priv[32], pub[32];
	struct engine_config cfg; /* adjust between tnode_config and tnode_start */
	struct engine *e;         /* after tnode_start: the driver's engine */
	struct wg_mem *mem;       /* the WireGuard device */
	struct wgdev *wg;         /* the driver's handle on it */
	struct driver *drv;
	struct wl_config *wcfg;   /* the driver's: HideIfaces from ifaces[].report */
	/* The host's interfaces; tests may edit them between ticks (report =
	 * false hides the interface, as HideIfaces would). */
	struct engine_iface ifaces[TN_IFACES];
	char ifnames[TN_IFACES][16];
	struct wl_cidr ifaddrs[TN_IFACES][TN_ADDRS];
	size_t n_ifaces;
	int64_t now;                      /* engine time of the current tick */
	int send_err;                     /* what the host's send returns: 0 or -errno */
	bool tun_counters;                /* the host reads tunnel counters ... */
	uint64_t tun_rx, tun_tx;          /* ... these (the user's packets) */
	/* The test writes the device's transmit counters itself
	 * (tnode_traffic); otherwise every datagram a tick sends a device
	 * peer counts, as WireGuard would count it. */
	bool scripted_tx;
	const struct engine_actions *act; /* what the last tick decided */
};

/* The engine's default timing (engine_timing_default), for expectations. */
const struct engine_timing *tdefault_timing(void);
/* Deterministic key pair number i. */
void tkey(unsigned i, uint8_t priv[32], uint8_t pub[32]);
/* A device with key i and listen port 51820, and engine defaults (no
 * peers) in n->cfg. */
void tnode_config(struct tnode *n, unsigned i);
/* Creates the engine from n->cfg and the driver around it (call
 * tnode_config first, then adjust). */
void tnode_start(struct tnode *n, int64_t now);
/* The daemon stops: driver and engine go, the device stays (tnode_start
 * again, after changing n->cfg, is a restart). */
void tnode_stop(struct tnode *n);
void tnode_free(struct tnode *n);

/* The device peer with this key, created if needed, with an optional
 * endpoint ("192.0.2.1:51820" or NULL = leave it) and last handshake
 * (engine time; ENGINE_NEVER for none). Returns the device's live peer. */
struct wg_peer *tnode_dev_peer(struct tnode *n, const uint8_t pub[32], const char *endpoint,
			       int64_t hs);
/* The device's live peer with this key, or NULL. Tests may set
 * has_endpoint, endpoint, rx_bytes and tx_bytes on it, as WireGuard's
 * data plane would; its AllowedIPs change only through tnode_allow. */
struct wg_peer *tnode_find(struct tnode *n, const uint8_t pub[32]);
/* Adds an AllowedIP to a device peer, as `wg set` would. */
void tnode_allow(struct tnode *n, const uint8_t pub[32], const char *cidr);
/* Removes a peer from the device. */
void tnode_remove_peer(struct tnode *n, const uint8_t pub[32]);
/* The peer's last handshake as WireGuard stamps it (engine time;
 * ENGINE_NEVER = none); tnode_handshakes sets it for every device peer. */
void tnode_handshake(struct tnode *n, const uint8_t pub[32], int64_t t);
void tnode_handshakes(struct tnode *n, int64_t t);
bool tnode_has_allowed(const struct wg_peer *p, const char *cidr);
/* Interface with up to TN_ADDRS "addr/prefix" strings (NULL-terminated). */
void tnode_iface(struct tnode *n, const char *name, bool up, bool report, const char *const *addrs);

/* One tick through the driver: the engine's changes are applied to the
 * device, its datagrams are in n->act->send for tdeliver. */
void tnode_tick(struct tnode *n, int64_t now);
/* Feeds every wirelink datagram (not path probes) in from->act addressed
 * to `to` into to's engine; returns how many were delivered. */
int tdeliver(struct tnode *from, struct tnode *to, int64_t now);
/* Number of wirelink datagrams (not path probes) and facts in n->act
 * addressed to pub. */
int tsent_to(const struct tnode *n, const uint8_t pub[32], int *facts, bool *has_alive);

/* A known fact with this attribute, subject and value text (as
 * fact_value_str prints it; NULL = any value). */
bool thas_fact(const struct engine *e, uint8_t attr, const uint8_t subject[32], const char *value);
/* An event of this kind in n->act (for peer, or any if NULL). */
bool thas_event(const struct tnode *n, enum engine_event_kind kind, const uint8_t *peer);
/* The change for pub in n->act, or NULL. */
const struct engine_change *tchange(const struct tnode *n, const uint8_t pub[32]);

/* A signed datagram from key `from` (private) to `to` (public) with the
 * given facts; returns its length. */
size_t tseal(const uint8_t from_priv[32], const uint8_t to_pub[32], const struct fact *facts,
	     size_t n, uint8_t *out, size_t cap);
/* A datagram received from key pub's auto address. */
enum engine_rx treceive(struct tnode *n, int64_t now, const uint8_t from_pub[32],
			const uint8_t *buf, size_t len);

/* Path probes (src/core/path.c): how many n->act sends to pub, and the
 * sequence number of the last one (0 if none). */
int tprobes_to(const struct tnode *n, const uint8_t pub[32], uint32_t *last_seq);
/* A path probe (type ENGINE_PROBE_REQUEST or _REPLY) from key `from`. */
size_t tprobe(uint8_t type, uint32_t seq, const uint8_t from[32], uint8_t out[ENGINE_PROBE_LEN]);
/* A datagram received on the probe port from key pub's auto address. */
enum engine_rx treceive_probe(struct tnode *n, int64_t now, const uint8_t from_pub[32],
			      const uint8_t *buf, size_t len);
/* The user's traffic through the tunnel, as WireGuard counts it. */
void tnode_traffic(struct tnode *n, const uint8_t pub[32], uint64_t rx, uint64_t tx);

/* Facts in n->act datagrams to `to` about `subject` (any subject if NULL)
 * with attribute attr (any if 0). */
int tsent_about(const struct tnode *n, const uint8_t to[32], const uint8_t *subject, uint8_t attr);
/* ... and with this value (as fact_value_str writes it). */
int tsent_value(const struct tnode *n, const uint8_t to[32], const uint8_t *subject, uint8_t attr,
		const char *value);

#endif
