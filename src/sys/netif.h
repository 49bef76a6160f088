/* Network interfaces and addresses through rtnetlink (libmnl): list links,
 * list addresses, add/remove an address, find the IPv4 default gateway, and
 * notice that a link went away.
 *
 * Error convention: 0 or -errno; out-pointers are NULL (counts 0) on
 * failure. Lists are plain heap arrays owned by the caller (free()).
 * Requests go through the shared netlink engine (nlsock.h): a fresh
 * sequence number each, replies checked against it, changes ask for an
 * ACK (the kernel's extended error message logged as a warning on
 * failure), and a dump the kernel flags as interrupted (NLM_F_DUMP_INTR)
 * or that overran the socket (ENOBUFS) is redone, up to 8 times; after 8
 * interrupted tries the last listing is returned anyway, with a warning
 * logged ("may be inconsistent"). */
#ifndef WL_SYS_NETIF_H
#define WL_SYS_NETIF_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/netaddr.h"

struct netif_link {
	uint32_t index;
	char name[IFNAMSIZ];
	unsigned flags;   /* IFF_* */
	bool up;          /* IFF_UP: administratively up */
	char kind[16];    /* IFLA_INFO_KIND ("wireguard", "veth", ...); "" if none */
	/* IFLA_STATS64: bytes through the interface as the stack sees them
	 * (for a tunnel, the plaintext packets); has_stats false if absent. */
	bool has_stats;
	uint64_t rx_bytes, tx_bytes;
};

struct netif_addr {
	uint32_t ifindex;
	struct wl_addr addr; /* the local address (IFA_LOCAL when given) */
	uint8_t prefix;
	uint8_t scope;       /* RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, ... */
	uint32_t flags;      /* IFA_F_* (IFA_F_TENTATIVE, IFA_F_NODAD, ...) */
};

/* One route as rtnetlink describes it (the attributes wirelink reads). */
struct netif_route {
	struct wl_addr dst;     /* family set, zero bytes for a default route */
	uint8_t dst_len;
	struct wl_addr gateway; /* family 0 when the route has no RTA_GATEWAY */
	uint32_t oif;           /* RTA_OIF; 0 if absent */
	uint32_t priority;      /* RTA_PRIORITY (the metric); 0 if absent */
	uint32_t table;         /* RTA_TABLE, else the header's rtm_table */
	uint8_t type;           /* RTN_UNICAST, RTN_BLACKHOLE, ... */
};

/* A request socket for the current network namespace. */
struct netif;

int netif_open(struct netif **out);
void netif_close(struct netif *nl); /* NULL is fine */

/* Every link, sorted by index, each once. */
int netif_list_links(struct netif *nl, struct netif_link **out, size_t *n);
/* One link by index (a request, not a dump: cheap enough to poll);
 * -ENODEV if there is none. */
int netif_get_link(struct netif *nl, uint32_t ifindex, struct netif_link *out);
/* Addresses of the given family (AF_INET, AF_INET6 or AF_UNSPEC for both)
 * on interface ifindex (0 = every interface), sorted by interface index
 * then address, without duplicates. */
int netif_list_addrs(struct netif *nl, int family, uint32_t ifindex,
		     struct netif_addr **out, size_t *n);
/* Adds addr/prefix with the given scope and IFA_F_* flags on ifindex.
 * -EEXIST if the address is already there. For the wirelink auto address:
 * scope RT_SCOPE_LINK, flags IFA_F_NODAD, so it is usable at once. */
int netif_add_addr(struct netif *nl, uint32_t ifindex, const struct wl_cidr *addr,
		   uint8_t scope, uint32_t flags);

/* The IPv4 default gateway: of the unicast default routes (0.0.0.0/0) in
 * the main table that name a gateway, the one with the lowest metric (the
 * first listed among equals). Multipath routes (RTA_MULTIPATH) are not
 * looked into. *gw and *oif are the gateway and its outgoing interface;
 * -ENOENT when there is no such route. On failure gw->family is 0 and
 * *oif 0. */
int netif_default_gateway(struct netif *nl, struct wl_addr *gw, uint32_t *oif);

/* Walks a netlink receive buffer: returns the message at *pos and steps
 * past it, or NULL at the end or at a message whose length does not fit.
 * The engine's walker, nlsock_msg_next (see nlsock.h), under the name the
 * rtnetlink fuzz target and event consumers know. *pos must be 4-byte
 * aligned, as receive buffers from malloc are. */
struct nlmsghdr;
const struct nlmsghdr *netif_msg_next(const uint8_t **pos, size_t *left);

/* Message decoders used by the functions above, exposed for the fuzz
 * target and for event consumers. They check the message type
 * (RTM_NEWLINK/DELLINK, RTM_NEWADDR/DELADDR, RTM_NEWROUTE/DELROUTE) and
 * every length; nlh must
 * lie within a buffer of at least nlh->nlmsg_len bytes (as mnl_nlmsg_ok
 * guarantees). False for a malformed message, a link without a name or a
 * non-IP address or route, or a route whose destination or gateway has the
 * wrong length. */
bool netif_link_from_msg(const struct nlmsghdr *nlh, struct netif_link *out);
bool netif_addr_from_msg(const struct nlmsghdr *nlh, struct netif_addr *out);
bool netif_route_from_msg(const struct nlmsghdr *nlh, struct netif_route *out);

/* A subscription to link and address events (RTMGRP_LINK and the IPv4
 * and IPv6 address groups), for the event loop: poll netif_watch_fd() for
 * POLLIN, then call netif_watch_drain(). Open the watch before checking
 * that the link exists, so a removal between the two is not missed. */
struct netif_watch;

/* What a batch of events said about link ifindex and the rest. Flags only
 * ever get set; the caller clears them. */
struct netif_events {
	/* Link ifindex was deleted (also when events were lost to a socket
	 * overrun and the link no longer exists). */
	bool gone;
	/* An address came or went, or another link changed, or events were
	 * lost: the host may now leave by another address. */
	bool moved;
	/* Link ifindex changed (went up or down, ...), one of its addresses
	 * came or went, or events were lost: its state is worth reading
	 * again (netif_get_link, netif_list_addrs). */
	bool ours;
};

int netif_watch_open(struct netif_watch **out);
void netif_watch_close(struct netif_watch *w); /* NULL is fine */
int netif_watch_fd(const struct netif_watch *w);
/* Reads every pending event without blocking into *ev (see struct
 * netif_events). Returns 0 or -errno. */
int netif_watch_drain(struct netif_watch *w, uint32_t ifindex, struct netif_events *ev);
/* What one event message says (netif_watch_drain's decoder, for tests and
 * the fuzz target); nlh as for netif_link_from_msg. Other messages and
 * short ones change nothing. */
void netif_watch_note(const struct nlmsghdr *nlh, uint32_t ifindex, struct netif_events *ev);

#endif
