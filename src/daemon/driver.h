/* The tick driver: the one place that runs the engine's heartbeat.
 *
 *   snapshot the device (WireGuard times -> the engine's monotonic clock)
 *   + gather the interfaces (addresses grouped by link, Report/HideIfaces)
 *   -> engine_tick -> apply the changes to the device -> send the datagrams
 *   -> hand the events over
 *
 * plus what surrounds a tick: building the engine from the configuration
 * (and again on reload), re-resolving DNS names of configured endpoints
 * when the engine wants them, noticing wall-clock jumps, and feeding
 * received datagrams to the engine.
 *
 * Everything the driver needs from the world goes through a struct
 * driver_host: the WireGuard device is a wgdev handle (kernel, userspace or
 * the in-memory model), the rest are callbacks. The daemon passes the real
 * OS (src/daemon/daemon.c), the simulator a virtual network and virtual
 * WireGuard (tests/sim/sim.c), the unit-test fixture plain memory
 * (tests/unit/core_fixture.c) — so all three run this very code.
 *
 * Error convention: functions returning int give 0 or -errno; the reason
 * of a failure is logged once (src/sys/log.h). Out-pointers are NULL on
 * failure. */
#ifndef WL_DAEMON_DRIVER_H
#define WL_DAEMON_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/netaddr.h"
#include "config/config.h"
#include "core/engine.h"
#include "sys/netif.h"
#include "sys/wgdev.h"

/* Resolved endpoints kept per configured peer: the configuration refuses
 * a peer that lists more, so none it names is dropped unseen (a DNS name
 * that resolves to many addresses can still fill the rest). */
#define DRIVER_MAX_PEER_ENDPOINTS CONFIG_MAX_PEER_ENDPOINTS
/* How often a leaf looks at the tunnel's link counters between ticks
 * (driver_sense), and how many bytes beyond our own datagrams count as the
 * user's traffic: one packet, however small (IPv4 and UDP headers are 28
 * bytes). One is all a dormant path (core/quiet.c) shows before its peer
 * must be woken. Our own bytes are counted exactly (their payload and
 * DRIVER_TUNNEL_OVERHEAD), so nothing of ours passes. A path is watched
 * only once a tick has seen traffic on it (src/core/path.c), and regular
 * ticks are 5 s apart; the link counters cost one small netlink request,
 * reading the device (every peer) a whole dump. */
#define DRIVER_SENSE_MS 500
#define DRIVER_SENSE_BYTES 27
/* What the stack adds to one of our datagrams on the tunnel's counters:
 * the IPv6 and UDP headers. */
#define DRIVER_TUNNEL_OVERHEAD 48
/* Extra endpoints of our own (driver_host_ops.extra_endpoints) per tick. */
#define DRIVER_MAX_EXTRA_ENDPOINTS 4
/* Least time between two resolutions of one peer's endpoints: names are
 * resolved only for configured peers that are neither alive nor healthy
 * (engine_peer_wants_endpoints), and a slow resolver blocks the loop. */
#define DRIVER_RESOLVE_INTERVAL_MS 60000
/* Wall-clock and monotonic time disagreeing by more than this between two
 * ticks is a clock jump (SPEC §4). */
#define DRIVER_CLOCK_JUMP_MS 10000

/* What the driver asks of its host. ctx is driver_host.ctx. */
struct driver_host_ops {
	/* Wall-clock milliseconds (CLOCK_REALTIME): WireGuard reports
	 * handshake times in it. */
	int64_t (*wall_ms)(void *ctx);
	/* Fills buf with random bytes (seeds for the engine). */
	void (*random)(void *ctx, uint8_t *buf, size_t len);
	/* Every link and every address, as rtnetlink lists them (heap arrays
	 * the driver frees). 0 or -errno. */
	int (*list_links)(void *ctx, struct netif_link **out, size_t *n);
	int (*list_addrs)(void *ctx, struct netif_addr **out, size_t *n);
	/* Sends one datagram from our auto address to [dst%iface]:port.
	 * 0 or -errno (see udp_error_is_unreachable for the quiet ones). */
	int (*send)(void *ctx, const struct wl_addr *dst, uint16_t port, const uint8_t *buf,
		    size_t len);
	/* Resolves one configured endpoint (a DNS name or a literal) into at
	 * most cap addresses; returns how many. Failures return 0. */
	size_t (*resolve)(void *ctx, const struct wl_config_endpoint *ep, struct wl_endpoint *out,
			  size_t cap);
	/* One engine event (the daemon logs it, the simulator traces it). */
	void (*event)(void *ctx, const struct engine_event *ev);
	/* Optional (NULL = always): whether event() will read the events'
	 * text this tick. When not, events come with their kind and peer
	 * and an empty text, and the engine spares formatting them. */
	bool (*wants_event_text)(void *ctx);
	/* Optional (NULL = none): public endpoints of ours that no interface
	 * shows, such as a port mapping the NAT granted; writes at most cap,
	 * returns how many. Advertised as Endpoint facts about us. */
	size_t (*extra_endpoints)(void *ctx, struct wl_endpoint *out, size_t cap);
	/* Optional (NULL = no sensing): the bytes the host's stack has sent
	 * into and received from the WireGuard interface (its link counters:
	 * plaintext packets, all peers together). 0 or -errno. */
	int (*tunnel_bytes)(void *ctx, uint64_t *rx, uint64_t *tx);
	/* Optional (NULL = X25519 in the engine): works out shared keys, for
	 * a host running many nodes in one process (struct key_agreement). */
	bool (*agree)(void *ctx, const uint8_t own_private[static WL_KEY_LEN],
		      const uint8_t own_public[static WL_KEY_LEN],
		      const uint8_t peer[static WL_KEY_LEN], uint8_t out[static 32]);
};

struct driver_host {
	const struct driver_host_ops *ops;
	void *ctx;
	struct wgdev *wg; /* borrowed: the WireGuard device */
};

/* Counters of the driver's own work (the engine has its own). */
struct driver_stats {
	uint64_t ticks;
	uint64_t read_errors;     /* the device could not be read: tick skipped */
	uint64_t apply_errors;    /* the device refused a batch of changes */
	uint64_t tx_unreachable;  /* datagrams with no path right now (quiet) */
	uint64_t tx_errors;       /* other send failures (logged as a streak) */
	uint64_t actions_dropped; /* engine actions lost to failed allocations */
	uint64_t resolves;        /* configured peers re-resolved */
	uint64_t clock_jumps;
	uint64_t reloads;
	uint64_t senses;          /* looks at the tunnel's counters between ticks */
	uint64_t sensed;          /* ... that saw the user's traffic: a tick at once */
};

struct driver;

/* Reads the device once (it must have a private key: -ENOKEY otherwise)
 * and builds the engine from cfg at time now. On success the driver owns
 * cfg (freed by driver_free or replaced by driver_reload). */
int driver_new(const struct driver_host *host, struct wl_config *cfg, int64_t now,
	       struct driver **out);
/* A driver around an engine the caller built (unit tests configure the
 * engine directly): the same tick, without reload or DNS. cfg, if not
 * NULL, gives ReportIfaces/HideIfaces (read at every tick); NULL reports
 * every interface. The driver owns e and cfg. */
int driver_new_with_engine(const struct driver_host *host, struct engine *e,
			   struct wl_config *cfg, struct driver **out);
void driver_free(struct driver *d); /* NULL is fine */

/* When the next tick is due (monotonic ms, the engine's clock). */
int64_t driver_next_deadline(const struct driver *d);
/* One datagram received on the wirelink socket. */
enum engine_rx driver_receive(struct driver *d, int64_t now, const struct wl_addr *src,
			      const uint8_t *buf, size_t len);
/* One datagram received on the probe port (wirelink port + 1): a peer's
 * path probe, answered at once through the host's send. */
enum engine_rx driver_receive_probe(struct driver *d, int64_t now, const struct wl_addr *src,
				    const uint8_t *buf, size_t len);
/* Between ticks, a leaf whose host gives tunnel_bytes looks at them every
 * DRIVER_SENSE_MS: traffic that starts on an idle tunnel is then seen
 * within that, not at the next regular tick (up to 5.5 s later), so a
 * path that dies just as it starts carrying traffic is noticed in seconds
 * too. driver_sense_deadline: when (DRIVER_NO_SENSE: not needed, the
 * next tick comes first); driver_sense: true if the host should tick now. */
#define DRIVER_NO_SENSE INT64_MAX
int64_t driver_sense_deadline(const struct driver *d);
bool driver_sense(struct driver *d, int64_t now);
/* One tick, due or not. 0; -ENODEV when the WireGuard device is gone (the
 * daemon exits); another -errno when the device or the interfaces could
 * not be read (the tick is skipped and comes again at the next deadline). */
int driver_tick(struct driver *d, int64_t now);

/* Replaces the configuration (SIGHUP): a new engine from fresh, which
 * relearns everything from its peers. The interface, port and backend
 * cannot change (they are fixed at start): -EINVAL with the reason in why.
 * On success the driver owns fresh and has freed the old configuration;
 * on failure the caller still owns fresh and nothing changed. */
int driver_reload(struct driver *d, int64_t now, struct wl_config *fresh, char *why,
		  size_t why_len);

struct engine *driver_engine(const struct driver *d);
/* The running configuration (NULL or partial for driver_new_with_engine). */
const struct wl_config *driver_config(const struct driver *d);
/* Who we are, as read from the device by driver_new (fixed for the
 * driver's life: a reload cannot change them). */
struct driver_identity {
	uint8_t public_key[WL_KEY_LEN];
	struct wl_addr auto_addr; /* fe80:: address derived from the key */
	uint32_t ifindex;
	uint16_t port; /* wirelink's UDP port: Port, else listen port + 1 */
};
const struct driver_identity *driver_identity(const struct driver *d);
/* The device's WireGuard listen port as the last tick read it (0 before
 * the first tick, or while the device has none). */
uint16_t driver_listen_port(const struct driver *d);
/* What the last tick decided (valid until the next tick or reload). */
const struct engine_actions *driver_last_actions(const struct driver *d);
const struct driver_stats *driver_get_stats(const struct driver *d);
/* True while sending fails for a reason other than "no path right now"
 * (udp_error_is_unreachable): every send since the first failure at
 * *since (monotonic ms) failed, the latest with errno *err. A success
 * ends it. */
bool driver_tx_failing(const struct driver *d, int *err, int64_t *since);

/* Helpers shared with other shells. */

/* WireGuard's wall-clock handshake time as the engine's monotonic time:
 * now - age, where age = wall_now - handshake (never negative). */
int64_t driver_handshake_ms(const struct timespec *handshake, int64_t now, int64_t wall_now);

#endif
