/* The simulator harness: wirelink nodes on virtual WireGuard devices
 * (vwg.h) on a virtual network (vnet.h), in virtual time. Each node runs
 * the daemon's own tick driver (src/daemon/driver.h) with the simulation as
 * its host: the driver reads and changes the vwg through a wgdev handle on
 * its in-memory model (as the daemon does with the kernel or userspace
 * WireGuard), lists the host's interfaces as rtnetlink would, converts
 * WireGuard's wall-clock handshake times (the node's wall clock may be
 * offset or jump: sim_set_wall_offset), resolves configured endpoints
 * (literals, or names from sim_dns_set), builds the engine from a
 * wirelink configuration and rebuilds it on reload (sim_reload_node).
 *
 * A test builds the network with sim_net(), adds nodes (each a device on
 * a vnet host), gives devices their initial WireGuard configuration
 * (sim_wg_peer) and nodes their wirelink configuration (sim_config_peer),
 * then runs:
 *
 *     the loop advances virtual time to the earliest of: the next vnet
 *     event, the next WireGuard timer, the next driver deadline. Datagrams
 *     reaching a node's wirelink port go to driver_receive(); a due node
 *     gets driver_tick(): device snapshot and interfaces in, engine tick,
 *     its device changes applied to the vwg, then its datagrams sent
 *     through the tunnel, then its events into the trace.
 *
 * Everything is reproducible from the seed. Engine events are kept in a
 * trace (and printed to stderr when WL_SIM_TRACE is set in the
 * environment); tests query device state and the trace.
 *
 * Error convention: constructors return an index >= 0 or -1; queries
 * return bool; bad text (addresses) in tests aborts with a message. */
#ifndef WL_SIM_SIM_H
#define WL_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/netaddr.h"
#include "common/trust.h"
#include "core/engine.h"
#include "sim/keymemo.h"
#include "sim/vnet.h"
#include "sim/vwg.h"
#include "wire/fact.h"

#define SIM_WG_PORT 51820
#define SIM_WL_PORT 51821 /* the engine's default: listen port + 1 */
#define SIM_PROBE_PORT (SIM_WL_PORT + ENGINE_PROBE_PORT_OFFSET) /* path probes */
#define SIM_APP_PORT 7    /* test traffic between tunnel IPs */
#define SIM_MAX_ALLOWED 32

struct sim;

/* The protocol timing every simulated node runs with: the engine's own
 * defaults (engine_timing_default()), so tests never restate a constant. */
const struct engine_timing *sim_timing(void);

struct sim_node_opts {
	const char *name;
	int host;              /* the vnet node it runs on */
	const char *tunnel_ip; /* e.g. "10.99.0.1/24" on the WireGuard interface, or NULL */
	bool forwarding;       /* the device routes for others (a hub) */
	enum wl_tristate router;
	bool chatty;
	/* Stand-in for a peer running the original wirelink: the engine with
	 * the original's timing (EndpointInterval 15 s for every candidate, no
	 * hold-offs) and none of our extensions on the wire — no path watch,
	 * no hellos, probes to it answered by an ICMP error as its kernel
	 * would — so it never learns that a peer is ours. Only full-auto mode
	 * (no sim_config_peer for it); sim_reload_node is not for it. */
	bool original;
};

/* For a program's main, before anything else: runs the program again
 * with glibc's heaps on transparent huge pages (GLIBC_TUNABLES
 * glibc.malloc.hugetlb=1), unless the environment already says how
 * (sim.c says why). Returns only if it did not exec. */
void sim_exec_with_huge_pages(char **argv);

/* A new simulation with an empty network (build it through sim_net()). */
struct sim *sim_new(uint64_t seed);
void sim_free(struct sim *sim); /* NULL is fine */
struct vnet *sim_net(struct sim *sim);
int64_t sim_now(const struct sim *sim);

/* Adds a node: a key pair from the seed, a vwg "wg0" on opts->host with
 * the auto address /64 (and the tunnel IP), no peers yet, no engine yet. */
int sim_add_node(struct sim *sim, const struct sim_node_opts *opts);
size_t sim_node_count(const struct sim *sim);
const char *sim_node_name(const struct sim *sim, int node);
void sim_node_key(const struct sim *sim, int node, uint8_t out[static WL_KEY_LEN]);
struct vwg *sim_node_dev(struct sim *sim, int node);
/* NULL before sim_start(). */
struct engine *sim_node_engine(struct sim *sim, int node);
struct driver *sim_node_driver(struct sim *sim, int node);
/* The node's tunnel address (from opts->tunnel_ip) as a /32 or /128;
 * false if it has none. */
bool sim_node_tunnel(const struct sim *sim, int node, struct wl_cidr *out);
/* The node whose public key this is, or -1. */
int sim_node_by_key(const struct sim *sim, const uint8_t key[static WL_KEY_LEN]);

/* Initial WireGuard configuration (like a wg-quick file): node gets peer
 * with the peer's auto address plus allowed (comma-separated CIDRs, may be
 * NULL) as AllowedIPs, and endpoint ("ip:port", may be NULL). */
void sim_wg_peer(struct sim *sim, int node, int peer, const char *endpoint, const char *allowed);

/* wirelink configuration of a peer in node's config, as a config file's
 * Peers entry (taken at sim_start_node and sim_reload_node): trust
 * (TRUST_UNSET = not set), AllowedIPs as above, endpoints as host:port
 * where host is an address or a name given to sim_dns_set. peer == node
 * configures the node itself; configuring a peer again replaces its entry. */
struct sim_peer_cfg {
	enum wl_trust trust;
	bool fact_exchanger;
	enum wl_tristate basic;
	const char *name;
	const char *allowed;   /* comma-separated CIDRs or NULL */
	const char *endpoints; /* comma-separated host:port or NULL */
};
void sim_peer_cfg_init(struct sim_peer_cfg *c);
void sim_config_peer(struct sim *sim, int node, int peer, const struct sim_peer_cfg *c);

/* Starts the daemons (all nodes, or one) at the current time: a driver on
 * the node's device with its configuration. */
void sim_start(struct sim *sim);
void sim_start_node(struct sim *sim, int node);
/* A daemon restart: a fresh driver and engine (new boot id, empty memory)
 * on the same device. */
void sim_restart_node(struct sim *sim, int node);
/* SIGHUP: the node's current configuration (after more sim_config_peer
 * calls) through driver_reload(). 0, or -errno with the reason in why. */
int sim_reload_node(struct sim *sim, int node, char *why, size_t why_len);

/* A DNS name configured endpoints may use; set again to move it. */
void sim_dns_set(struct sim *sim, const char *name, const char *addr);
/* The node's wall clock runs offset_ms ahead of virtual time from now on
 * (negative: behind). WireGuard reports handshakes in wall-clock time, so
 * this moves them too; changing it between ticks is a clock jump. */
void sim_set_wall_offset(struct sim *sim, int node, int64_t offset_ms);

/* Suspend and resume (a laptop's lid): for duration_ms the node does
 * nothing — no ticks, no WireGuard timers — and its host's interfaces are
 * down, so what is sent to it is lost; then its interfaces come up, its
 * wall clock steps by wall_step_ms (a correction after the sleep; the
 * engine's clock, like the daemon's CLOCK_BOOTTIME, counted the sleep)
 * and everything overdue runs at once. */
void sim_suspend_node(struct sim *sim, int node, int64_t duration_ms, int64_t wall_step_ms);
bool sim_node_suspended(const struct sim *sim, int node);

/* The node's router (NAT node nat) grants it a UDP port mapping of its
 * WireGuard port (its host's first address) at ext_port, as NAT-PMP, PCP
 * or UPnP-IGD would (vnet_nat_forward), and the node's daemon learns it
 * as its port-mapping client would: the driver's extra_endpoints. The
 * protocols themselves are tested against a real server in namespaces
 * (tests/netns/test_portmap.sh). 0 or vnet_nat_forward's error. */
int sim_grant_port_mapping(struct sim *sim, int node, int nat, uint16_t ext_port);

/* ---- running ---- */

typedef bool (*sim_pred)(struct sim *sim, void *ctx);

/* Runs the network on n threads (the caller's the first), in
 * SIM_PARTS_PER_THREAD times as many parts (at most VNET_MAX_PARTS):
 * sites (a LAN with its NAT, a public host) go whole, the heaviest first,
 * to the part with the least weight so far (a node weighs 1 and a
 * sixteenth of its device's peers), and a part runs ahead of the others
 * by at most the slowest segment's latency, the shortest time in which
 * one part's datagram can reach another. A thread runs whichever part
 * holds the others back that no other thread runs, so a thread whose
 * part has nothing to do for a while takes up another. The result is the
 * same as on one thread, datagram for datagram and event for event (the
 * trace is merged at the end of each run in order of time, then node).
 * Only sim_run_to runs in threads, and only while no hook is set (hooks
 * expect one thread); sim_run_until steps the parts one after the other.
 * Call it once the network and its nodes are built; returns the number
 * of parts (1: the network has one site, or n < 2). */
#define SIM_PARTS_PER_THREAD 4
size_t sim_set_threads(struct sim *sim, size_t n);
/* How many nodes part k holds, and the part node i is in. */
size_t sim_part_size(const struct sim *sim, size_t part);
int sim_node_part(const struct sim *sim, int node);
/* Real time in runs on threads, summed over the threads, and how much of
 * it they spent waiting for a part they could run (none when there are
 * no threads). Measured, not simulated: it never changes a run. */
struct sim_thread_stats {
	size_t threads;
	double run_s, wait_s;
};
struct sim_thread_stats sim_thread_stats(const struct sim *sim);

/* Runs until virtual time t. */
void sim_run_to(struct sim *sim, int64_t t);
/* Runs until pred holds (checked after every step) or timeout_ms of
 * virtual time passed. Returns the virtual time at which it held, or -1. */
int64_t sim_run_until(struct sim *sim, sim_pred pred, void *ctx, int64_t timeout_ms);

/* ---- observing ---- */

/* One peer as node's device has it. */
struct sim_peer_view {
	bool present;
	bool has_endpoint;
	struct wl_endpoint endpoint;
	int64_t last_handshake; /* ENGINE_NEVER if none */
	size_t n_allowed;
	struct wl_cidr allowed[SIM_MAX_ALLOWED];
};
bool sim_peer_view(struct sim *sim, int node, int peer, struct sim_peer_view *out);
/* True if the view's AllowedIPs contain exactly this prefix (text). */
bool sim_view_allows(const struct sim_peer_view *v, const char *cidr);
/* True if the view's AllowedIPs hold only the peer's auto address. */
bool sim_view_auto_only(const struct sim_peer_view *v);

/* node's engine has peer healthy in a quiet pair (core/quiet.c): idle,
 * with no WireGuard session needed, its next packet handshakes afresh. */
bool sim_quiet_healthy(struct sim *sim, int node, int peer);
/* "node has peer with an endpoint (equal to endpoint, if not NULL), a
 * handshake at most max_age_ms old (or none needed: a healthy quiet pair,
 * sim_quiet_healthy), and peer's tunnel IP inside one of its AllowedIPs"
 * — a working direct link as wirelink should set it up. */
bool sim_direct(struct sim *sim, int node, int peer, const char *endpoint, int64_t max_age_ms);

/* Runs until sim_direct(node, peer, endpoint, max_age_ms) holds, e.g.
 * "node's device has peer at endpoint X with a handshake newer than 5 s
 * and peer's tunnel IP in AllowedIPs". Returns that virtual time, or -1
 * after timeout_ms. */
int64_t sim_run_until_direct(struct sim *sim, int node, int peer, const char *endpoint,
			     int64_t max_age_ms, int64_t timeout_ms);

/* Test traffic: a datagram from from's tunnel IP to to's tunnel IP. Returns
 * vwg_send()'s result. The receiver records it (sim_app_last). */
int sim_app_send(struct sim *sim, int from, int to);
/* A wirelink datagram from node `from`'s auto address to node `to`'s
 * wirelink port, through from's WireGuard (an adversarial member's own
 * packets; sign them with sim_node_private). */
int sim_send_raw(struct sim *sim, int from, int to, const uint8_t *buf, size_t len);
void sim_node_private(const struct sim *sim, int node, uint8_t out[static WL_KEY_LEN]);
/* The last test datagram node received from src: when, and which peer of
 * the device it came through (node index). False if none yet. */
bool sim_app_last(const struct sim *sim, int node, int src, int64_t *at, int *via);

/* The engine trace: the first engine event of kind on node about peer
 * (-1 = any peer) at or after since; returns its time, or -1. */
int64_t sim_trace_find(const struct sim *sim, int node, enum engine_event_kind kind, int peer,
		       int64_t since);
size_t sim_trace_count(const struct sim *sim, int node, enum engine_event_kind kind, int peer,
		       int64_t since);

/* The trace's i-th entry (0 <= i < sim_trace_len): an engine event on
 * node about peer (-1: none) at virtual time t. */
struct sim_trace_event {
	int64_t t;
	int node, peer;
	enum engine_event_kind kind;
};
size_t sim_trace_len(const struct sim *sim);
void sim_trace_at(const struct sim *sim, size_t i, struct sim_trace_event *out);

/* Whether engine events are kept for the sim_trace_* queries (default
 * true). A benchmark that asks none turns it off: at 1,000 nodes the
 * trace holds some 8 million events, 270 MB, and its merge after each run
 * in threads is a few per cent of the time. Printed (WL_SIM_TRACE) and
 * hooked events still go out as they happen. */
void sim_set_trace_kept(struct sim *sim, bool keep);

/* Called for every engine event as it is traced (peer: the node it is
 * about, or -1). */
typedef void (*sim_event_hook)(void *ctx, int64_t now, int node, int peer,
			       enum engine_event_kind kind);
void sim_set_event_hook(struct sim *sim, sim_event_hook fn, void *ctx);

/* Called for every fact in every datagram an engine sends (parsed from
 * the datagram as the receiver would see it; nothing is verified). */
typedef void (*sim_fact_hook)(void *ctx, int64_t now, int from, int to, const struct fact *f);
void sim_set_fact_hook(struct sim *sim, sim_fact_hook fn, void *ctx);

/* Counters over the whole run. */
struct sim_stats {
	uint64_t steps, ticks, datagrams, datagram_bytes, send_errors, changes, rx_dropped;
};
const struct sim_stats *sim_stats(struct sim *sim);
/* X25519s worked out, and keys one node of a pair took from the other
 * (sim/keymemo.h). */
struct keymemo_stats sim_key_stats(const struct sim *sim);
/* The skipping tick's shadow (core/visit.c) on every node, from now and
 * for nodes started later (WL_SIM_VISIT=1 turns it on from the start);
 * its counters over the whole run, engines gone included; and the i-th
 * miss of engines gone (NULL past the last). */
void sim_set_visit_shadow(struct sim *sim, bool on);
/* Ticks leave idle peers alone (the default) or visit every peer, from
 * now and for nodes started later (engine_visit_skip_idle). */
void sim_set_skip_idle(struct sim *sim, bool on);
struct engine_visit_stats sim_visit_stats(const struct sim *sim);
const char *sim_visit_miss(const struct sim *sim, size_t i);

/* One node's counters: its ticks, the wirelink datagrams it sent and
 * received (payload bytes, as handed to and taken from its socket), and,
 * with a CPU meter set, the CPU time of its ticks and of its receives. */
struct sim_node_stats {
	uint64_t ticks, tx_datagrams, tx_bytes, rx_datagrams, rx_bytes;
	uint64_t tick_cpu_ns, rx_cpu_ns;
};
const struct sim_node_stats *sim_node_stats(const struct sim *sim, int node);
/* A clock for one node's CPU figures (a benchmark passes the thread's
 * CPU clock); NULL (the default) measures nothing. Only that node is
 * timed: reading a CPU clock is a system call, and timing every node's
 * every datagram cost a twentieth of a large run. The simulation itself
 * never reads it: runs stay a function of their seed. */
typedef uint64_t (*sim_cpu_clock)(void);
void sim_set_cpu_clock(struct sim *sim, int node, sim_cpu_clock fn);
/* Called just before and just after each node's tick (after: true), for
 * a benchmark's look at what a tick changes; NULL (the default) for
 * none. It must not change the simulation. */
typedef void (*sim_tick_hook)(void *ctx, int node, bool after);
void sim_set_tick_hook(struct sim *sim, sim_tick_hook fn, void *ctx);
/* Whether every node's device checks, at each tick, that its snapshot
 * refreshed in place matches the model (wg_mem_check_refresh; default
 * on, for every node, now and later): the benchmarks turn it off, as it
 * costs what a whole snapshot does. */
void sim_check_devices(struct sim *sim, bool on);
/* Setting Leases for every node started from now on (default true):
 * false gives SPEC §6 refreshes, for before-and-after figures. */
void sim_set_leases(struct sim *sim, bool on);
/* Setting QuietPeriod (seconds) for every node started from now on; -1
 * (the default) leaves the daemon's own default (600 s). */
void sim_set_quiet_period(struct sim *sim, int seconds);
/* Setting Dormant of every node: 0 or 1; -1 the daemon's default. */
void sim_set_dormant(struct sim *sim, int on);

/* Prints every device's peers and each engine's state (for a failing test). */
void sim_dump(struct sim *sim, FILE *out);

#endif
