/* A virtual IP network for the simulator, in virtual time (int64 ms).
 *
 * The model:
 *   segment  a broadcast domain (a LAN, or "the internet") with an address
 *            range, a one-way latency, optional jitter and a loss rate.
 *   node     a host, router or NAT box with interfaces on segments. Each
 *            node routes by longest prefix over its connected segments and
 *            its static routes (a default gateway is the route 0.0.0.0/0).
 *            Nodes with forwarding on pass on packets not addressed to them.
 *   NAT      an interface marked as a NAT's outside: packets leaving through
 *            it from another interface get their source rewritten to the
 *            outside address and a mapped port. Mapping is endpoint-
 *            independent (or symmetric, as an option), ports are preserved
 *            when free (or random, as an option), inbound packets are
 *            filtered (endpoint-independent, address-dependent or address-
 *            and-port-dependent) and mappings expire after an idle timeout.
 *
 * Only UDP exists. A datagram travels hop by hop: every segment crossing is
 * an event in a queue ordered by (time, the node that caused it, its count
 * of events caused), and what befalls it (loss, duplication, jitter, a
 * NAT's port) is drawn from that node's own random stream, so runs are
 * reproducible from the seed alone, on one thread or several. Nothing
 * reads a clock or /dev/urandom.
 *
 * Error convention: constructors return an id >= 0 or -1 (bad argument or
 * out of memory, with a message on stderr); vnet_send returns 0 or -errno.
 * Addresses are given as text for readability in tests; a bad address is a
 * programming error in the test and aborts. */
#ifndef WL_SIM_VNET_H
#define WL_SIM_VNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/netaddr.h"

/* "Nothing scheduled": later than any event. (Times that never happened
 * are ENGINE_NEVER, the earliest; a deadline that never comes is the
 * latest, so that min() over deadlines works.) */
#define VNET_NEVER INT64_MAX

struct vnet;

enum vnet_filter {
	VNET_FILTER_ENDPOINT_INDEPENDENT, /* "full cone" */
	VNET_FILTER_ADDRESS,              /* remote address must have been contacted */
	VNET_FILTER_ADDRESS_PORT,         /* remote address and port (typical home NAT) */
};

struct vnet_nat_opts {
	bool port_preserving;   /* keep the inside port when it is free */
	bool symmetric;         /* a mapping per remote endpoint (hard NAT) */
	enum vnet_filter filter;
	int64_t idle_timeout_ms; /* a mapping unused this long is forgotten */
	bool hairpin;           /* inside hosts may reach each other via the outside address */
};

/* A typical home NAT: port-preserving, endpoint-independent mapping,
 * address-and-port-dependent filtering, 120 s idle timeout, no hairpin. */
void vnet_nat_opts_home(struct vnet_nat_opts *o);

/* Why datagrams were dropped, and how many went where. */
struct vnet_stats {
	uint64_t sent, delivered, hops;
	uint64_t lost;          /* random loss on a segment */
	uint64_t duplicated;    /* extra copies made by a segment's duplication */
	uint64_t no_route;      /* no route, or a next hop nobody answers for */
	uint64_t link_down;     /* an interface on the path is down */
	uint64_t blocked;       /* a path cut with vnet_block() */
	uint64_t nat_no_mapping, nat_filtered, nat_hairpin_refused;
	uint64_t no_listener;   /* reached the host, nothing bound to the port */
	uint64_t ttl_exceeded;
};

/* Called for each datagram delivered to a bound port. local is the address
 * and port it was sent to, remote where it came from (after any NAT). The
 * callee may send (vnet_send) from inside the callback. */
typedef void (*vnet_recv_fn)(void *ctx, int node, const struct wl_endpoint *local,
			     const struct wl_endpoint *remote, const uint8_t *data, size_t len);

/* Optional debug trace (one line per hop and drop), e.g. to stderr. */
typedef void (*vnet_trace_fn)(void *ctx, int64_t now, const char *line);

struct vnet *vnet_new(uint64_t seed);
void vnet_free(struct vnet *net); /* NULL is fine */
void vnet_set_trace(struct vnet *net, vnet_trace_fn fn, void *ctx);
/* Told of every datagram about to reach a socket on `node`, before the
 * socket's own callback: the simulator's loop learns which nodes have
 * new work without asking every node (sim.c). */
typedef void (*vnet_deliver_fn)(void *ctx, int node);
void vnet_set_deliver_hook(struct vnet *net, vnet_deliver_fn fn, void *ctx);

/* ---- building the topology ---- */

/* A segment owning addresses inside cidr ("0.0.0.0/0" for the internet).
 * latency_ms is the one-way delay of one crossing. */
int vnet_add_segment(struct vnet *net, const char *name, const char *cidr, int64_t latency_ms);
void vnet_segment_set_loss(struct vnet *net, int seg, uint32_t loss_ppm);
/* Jitter: each crossing's delay is latency plus a uniform draw in
 * [0, jitter_ms], so datagrams sent less than jitter_ms apart may arrive
 * reordered. */
void vnet_segment_set_jitter(struct vnet *net, int seg, int64_t jitter_ms);
/* A crossing that is not lost delivers a second copy with probability
 * dup_ppm / 10^6 (its own jitter draw, so the copies may be apart). */
void vnet_segment_set_duplicate(struct vnet *net, int seg, uint32_t dup_ppm);

int vnet_add_node(struct vnet *net, const char *name);
/* An interface on seg with address addr; returns the interface id. Names are
 * eth0, eth1, ... per node. */
int vnet_add_iface(struct vnet *net, int node, int seg, const char *addr);
/* Route dst (CIDR text) via gateway gw; "0.0.0.0/0" is the default route. */
void vnet_add_route(struct vnet *net, int node, const char *dst, const char *gw);
void vnet_set_forwarding(struct vnet *net, int node, bool on);

/* Shorthand: a node with one interface and, if gw is not NULL, a default
 * route through gw. Returns the node id. */
int vnet_add_host(struct vnet *net, const char *name, int seg, const char *addr, const char *gw);
/* Shorthand: a NAT box with an inside interface (the LAN's gateway) and an
 * outside interface that masquerades; outside_gw may be NULL when the
 * outside segment is the internet. Returns the node id. */
int vnet_add_nat(struct vnet *net, const char *name, int inside_seg, const char *inside_addr,
		 int outside_seg, const char *outside_addr, const char *outside_gw,
		 const struct vnet_nat_opts *opts);

/* ---- inspecting ---- */

size_t vnet_node_count(const struct vnet *net);
const char *vnet_node_name(const struct vnet *net, int node);
int vnet_node_by_name(const struct vnet *net, const char *name); /* -1 if none */
size_t vnet_iface_count(const struct vnet *net, int node);
/* The id of a node's i-th interface. */
int vnet_node_iface(const struct vnet *net, int node, size_t i);
const char *vnet_iface_name(const struct vnet *net, int iface);
int vnet_iface_node(const struct vnet *net, int iface);
bool vnet_iface_up(const struct vnet *net, int iface);
/* The interface's address and its segment's prefix length. */
void vnet_iface_addr(const struct vnet *net, int iface, struct wl_cidr *out);
/* The counters of every part added up. */
const struct vnet_stats *vnet_stats(struct vnet *net);

/* The live NAT mapping of an inside endpoint on NAT node nat (its first
 * masquerading interface); false if there is none. With a symmetric NAT
 * the first mapping found is returned. */
bool vnet_nat_mapping(struct vnet *net, int nat, const struct wl_endpoint *inside,
		      struct wl_endpoint *outside);

/* ---- changing the network at a time ---- */

/* The NAT box forgets every mapping (a reboot): inside hosts get new
 * outside ports on their next packet, and old ones lead nowhere. */
void vnet_nat_reset(struct vnet *net, int nat);
/* A NAT rebinding: the reset above, and a port-preserving NAT moves to
 * other ports (as `masquerade to :PORTS` after `conntrack -F`), so every
 * inside host reappears at a new outside port; a port-randomising one
 * draws new ports anyway. Port forwards stay. */
void vnet_nat_rebind(struct vnet *net, int nat);
/* A port forward on NAT node nat: datagrams to its outside address at
 * ext_port go to inside, from anyone, for good, and inside answers them
 * from ext_port (as a router's static forward, or a port mapping granted
 * by NAT-PMP, PCP or UPnP, does with Linux's conntrack); new flows from
 * inside leave from ext_port too on a port-preserving NAT, from a port of
 * the NAT's choosing on a port-randomising one. Its outside address and
 * port in *outside (may be NULL); it replaces the inside
 * endpoint's dynamic mappings. 0, -EADDRINUSE if the port is another
 * inside endpoint's or the inside endpoint has another forward, -EINVAL
 * if nat is not a NAT. A reset (vnet_nat_reset) keeps it; vnet_nat_unforward drops it. */
int vnet_nat_forward(struct vnet *net, int nat, uint16_t ext_port, const struct wl_endpoint *inside,
		     struct wl_endpoint *outside);
void vnet_nat_unforward(struct vnet *net, int nat, uint16_t ext_port);

void vnet_iface_set_up(struct vnet *net, int iface, bool up);
/* Takes effect when virtual time reaches at_ms. */
void vnet_schedule_iface(struct vnet *net, int64_t at_ms, int iface, bool up);
/* Drops every datagram between addresses a and b (both directions) on any
 * segment: a cut of one path that leaves other paths working. */
void vnet_block(struct vnet *net, const char *a, const char *b);
void vnet_unblock(struct vnet *net, const char *a, const char *b);

/* ---- traffic ---- */

/* Receive datagrams sent to any address of node at port. Returns 0, or
 * -EADDRINUSE. */
int vnet_bind(struct vnet *net, int node, uint16_t port, vnet_recv_fn fn, void *ctx);
void vnet_unbind(struct vnet *net, int node, uint16_t port);
/* Sends from node's port to dst; the source address is that of the
 * outgoing interface. 0, -ENETUNREACH (no route), -ENETDOWN (interface
 * down) or -EMSGSIZE; loss on the way is silent, as with real UDP. */
int vnet_send(struct vnet *net, int node, uint16_t src_port, const struct wl_endpoint *dst,
	      const uint8_t *data, size_t len);

/* ---- time ---- */

int64_t vnet_now(const struct vnet *net);
/* Time of the next queued event, or VNET_NEVER. */
int64_t vnet_next_event(const struct vnet *net);
/* Processes every event up to and including t (callbacks run with
 * vnet_now() = the event's time), then sets the clock to t. t must not be
 * in the past. */
void vnet_advance(struct vnet *net, int64_t t);

/* ---- parallel runs (the simulator's threads, sim_set_threads) ----
 *
 * The network splits into parts that run at the same time, each with its
 * own clock and queue, never further apart than the lookahead: the
 * latency of the slowest segment, the only kind a datagram crosses from
 * one part to another (nodes joined by faster segments, such as a LAN and
 * its NAT, stay together). A run gives the same result however it is
 * split: each node draws from its own random stream and numbers the
 * events it causes itself, and (time, node, that number) orders every
 * event. */
#define VNET_MAX_PARTS 8

/* Splits into up to n_parts parts, balancing the sum of weight[node]
 * (by vnet node); returns how many parts there are now (1: the network
 * cannot be split, or n_parts < 2) and sets *lookahead when it split.
 * Once only: a network already split stays as it is. */
size_t vnet_split(struct vnet *net, size_t n_parts, const unsigned *weight, int64_t *lookahead);
int vnet_node_part(const struct vnet *net, int node);
/* While on, an event for another part waits in its maker's outbox
 * (vnet_take_inbound) instead of entering that part's queue: the parts
 * are running in threads. */
void vnet_set_threaded(struct vnet *net, bool on);
/* This thread runs part (-1: none): vnet_now() and what the thread sends
 * use that part's clock and counters. */
void vnet_part_enter(struct vnet *net, int part);
int64_t vnet_part_next_event(const struct vnet *net, int part);
/* vnet_advance for one part: its own events only. */
void vnet_part_advance(struct vnet *net, int part, int64_t t);
/* The events other parts made for part join its queue (safe while they
 * run: part's thread calls it). */
void vnet_take_inbound(struct vnet *net, int part);
/* With no part running: every part's events for others join their queues. */
void vnet_exchange(struct vnet *net);

/* Helpers for tests: parse or abort. */
struct wl_addr vnet_addr(const char *s);
struct wl_endpoint vnet_ep(const char *addr, uint16_t port);

#endif
