/* Port mapping: asks the default gateway (a home router, a NAT) to forward
 * a public UDP port to our WireGuard listen port, keeps the mapping alive
 * and removes it at the end, so that peers can reach us directly even
 * through an endpoint-dependent ("symmetric") NAT.
 *
 * Protocols, tried in this order until one grants a mapping:
 *   PCP       RFC 6887, a MAP request to the gateway's UDP port 5351 (our
 *             own client: pcp.h holds the wire format);
 *   NAT-PMP   RFC 6886, the same port, through libnatpmp;
 *   UPnP-IGD  an SSDP search of our own (ssdp.h), then the device's
 *             description and SOAP calls through libminiupnpc.
 * A gateway that answers PCP with a NAT-PMP "unsupported version" goes
 * straight to NAT-PMP; an ICMP port unreachable from 5351 (nobody listens)
 * skips both and goes to UPnP.
 *
 * How it shares the daemon's one thread: PCP, NAT-PMP and the SSDP search
 * are non-blocking state machines on a UDP socket the daemon polls
 * (portmap_fd) with a deadline it sleeps until (portmap_next_deadline): a
 * request, its retransmissions and its answer never block the loop. That
 * is why the SSDP search is ours: libminiupnpc's upnpDiscover blocks at
 * least a second per device type it asks for (4 s measured with no
 * answer), at every start of every leaf whose router has no UPnP. What
 * libminiupnpc still does — read the description of the device that
 * answered and make the SOAP calls — cannot be driven from a poll loop, so
 * it blocks; it happens only when the gateway itself has just answered
 * the search, at a search and at renewal time, and is one HTTP exchange
 * with the gateway on the LAN each, a few ms (libminiupnpc's socket
 * timeouts, a few seconds, are the bound when such a device hangs
 * mid-call).
 *
 * A granted mapping is renewed at about half its lifetime (±5 %); if no
 * renewal succeeds before it expires it is lost and the search starts
 * over. A gateway that restarts and forgets the mapping has it back at the
 * next renewal, at most half a lifetime later (PCP's epoch time and its
 * ANNOUNCE are not watched). When every protocol fails, the next search comes after a backoff
 * (1 minute doubling to 16; a PCP error's own lifetime when longer).
 *
 * Log lines (notice level): a mapping granted; renewed with another
 * address or port; lost; refused (protocol and reason; a refusal repeated
 * with the same reason only at debug level). Nothing per renewal, and a
 * gateway that offers no mapping service at all only logs at debug level.
 *
 * Error convention: functions returning int give 0 or -errno; out-pointers
 * are NULL on failure. Bad answers are dropped and counted
 * (struct portmap_stats), never fatal. */
#ifndef WL_SYS_PORTMAP_H
#define WL_SYS_PORTMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/netaddr.h"

#define PORTMAP_NEVER INT64_MAX
/* How long the SSDP search waits for the gateway's answer (without
 * blocking: the search is sent to the gateway, which answers at once, and
 * to the multicast group with MX 1, answered within a second). */
#define PORTMAP_UPNP_DISCOVER_MS 1000
/* Lifetime asked for, in seconds. */
#define PORTMAP_LIFETIME_S 7200

enum portmap_proto {
	PORTMAP_PCP = 1 << 0,
	PORTMAP_NATPMP = 1 << 1,
	PORTMAP_UPNP = 1 << 2,
	PORTMAP_ALL = PORTMAP_PCP | PORTMAP_NATPMP | PORTMAP_UPNP,
};
/* "PCP", "NAT-PMP", "UPnP-IGD"; "none" for anything else. */
const char *portmap_proto_name(enum portmap_proto p);

/* What to map, and how. */
struct portmap_params {
	struct wl_addr gateway;  /* IPv4: the default gateway */
	uint16_t internal_port;  /* our WireGuard listen port */
	unsigned protocols;      /* enum portmap_proto bits; 0 = PORTMAP_ALL */
	uint32_t lifetime;       /* seconds to ask for; 0 = PORTMAP_LIFETIME_S */
	/* PCP's server port; 0 = 5351. Tests point it at a server of their
	 * own; NAT-PMP (libnatpmp) always uses 5351. */
	uint16_t pcp_port;
};

/* Counters: what the mapper sent and what it dropped. */
struct portmap_stats {
	uint64_t requests;      /* requests sent, retransmissions included */
	uint64_t granted;       /* mappings granted or renewed */
	uint64_t refused;       /* error answers */
	uint64_t rx_bad;        /* PCP answers that did not parse (dropped) */
	uint64_t rx_foreign;    /* PCP answers to another request (dropped) */
	uint64_t lost;          /* mappings that expired unrenewed */
};

/* What the mapper has right now. */
struct portmap_status {
	bool running;               /* started and not stopped */
	bool mapped;                /* a mapping is granted and not expired */
	enum portmap_proto proto;   /* by which protocol (when mapped) */
	struct wl_endpoint external; /* its public address and port */
	uint32_t lifetime;          /* seconds granted at the last answer */
	int64_t renew_at, expires_at; /* monotonic ms */
};

struct portmap;

/* A mapper that does nothing until portmap_start. */
int portmap_new(struct portmap **out);
/* Stops the mapper (portmap_stop: the mapping is removed) and frees it.
 * NULL is fine. */
void portmap_free(struct portmap *pm);

/* Starts mapping (at time now, monotonic ms). With the same parameters as
 * the running ones this does nothing; with others the old mapping is
 * removed first (portmap_stop). 0, or -EINVAL for parameters that cannot
 * be mapped (no IPv4 gateway, port 0). */
int portmap_start(struct portmap *pm, int64_t now, const struct portmap_params *p);
/* Removes the mapping (waiting at most a quarter second for PCP's or
 * NAT-PMP's answer, one bounded call for UPnP) and stops. Safe to call
 * when not running. */
void portmap_stop(struct portmap *pm);
bool portmap_running(const struct portmap *pm);
/* The parameters of the running mapper (NULL when stopped). */
const struct portmap_params *portmap_params(const struct portmap *pm);

/* The descriptor to poll for POLLIN (-1: none right now), and when the
 * mapper next needs portmap_run (PORTMAP_NEVER: not before a datagram). */
int portmap_fd(const struct portmap *pm);
int64_t portmap_next_deadline(const struct portmap *pm);
/* Reads what arrived on portmap_fd and does what is due by now. */
void portmap_run(struct portmap *pm, int64_t now);

/* The mapping to advertise: true and *out when one is granted, unexpired
 * and its external address passes portmap_addr_advertisable. */
bool portmap_endpoint(const struct portmap *pm, int64_t now, struct wl_endpoint *out);
/* May we tell peers to reach us at this external address? IPv4 global
 * unicast (wl_addr_is_global_unicast) outside the private ranges of RFC
 * 1918 (10/8, 172.16/12, 192.168/16) and the shared address space of RFC
 * 6598 (100.64/10, carrier-grade NAT): a mapping there sits behind another
 * NAT. Documentation and other reserved ranges (203.0.113.0/24, ...) count
 * as public: only the ranges named are private. */
bool portmap_addr_advertisable(const struct wl_addr *a);

void portmap_get_status(const struct portmap *pm, int64_t now, struct portmap_status *out);
const struct portmap_stats *portmap_get_stats(const struct portmap *pm);

#endif
