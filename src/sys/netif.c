/* rtnetlink links and addresses (see netif.h). */
#include "sys/netif.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/grow.h"
#include "sys/log.h"
#include "sys/nlsock.h"

/* How often an interrupted dump is redone before the last listing is
 * kept anyway (see netif.h). */
#define NETIF_DUMP_TRIES 8

struct netif {
	struct nlsock *sock;
};

/* Our requests are a header, a fixed struct and two addresses at most. */
struct req_buf {
	union {
		char buf[256];
		struct nlmsghdr align;
	};
};

struct netif_watch {
	struct nlsock *sock;
};

/* Refusals are warnings: callers often expect some (-EEXIST when the
 * address is already there) and log what they do not expect themselves. */
static int open_socket(unsigned groups, struct nlsock **out)
{
	const struct nlsock_config cfg = {
		.protocol = NETLINK_ROUTE,
		.groups = groups,
		.name = "netlink",
		.refusal_level = LOG_LVL_WARN,
	};
	return nlsock_open(&cfg, out);
}

int netif_open(struct netif **out)
{
	*out = NULL;
	struct netif *nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	int r = open_socket(0, &nl->sock);
	if (r < 0) {
		free(nl);
		return r;
	}
	*out = nl;
	return 0;
}

void netif_close(struct netif *nl)
{
	if (!nl)
		return;
	nlsock_close(nl->sock);
	free(nl);
}

const struct nlmsghdr *netif_msg_next(const uint8_t **pos, size_t *left)
{
	return nlsock_msg_next(pos, left);
}

/* ---- growable arrays ---- */

struct vec {
	void *items;
	size_t n, cap, size;
};

static void *vec_push(struct vec *v)
{
	if (!wl_grow(&v->items, &v->cap, v->n + 1, v->size))
		return NULL;
	void *slot = (char *)v->items + v->n++ * v->size;
	memset(slot, 0, v->size);
	return slot;
}

/* ---- links ---- */

static int linkinfo_attr(const struct nlattr *a, void *data)
{
	struct netif_link *l = data;
	if (mnl_attr_get_type(a) == IFLA_INFO_KIND && mnl_attr_validate(a, MNL_TYPE_STRING) == 0) {
		size_t n = strnlen(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a));
		if (n >= sizeof(l->kind))
			n = sizeof(l->kind) - 1;
		memcpy(l->kind, mnl_attr_get_payload(a), n);
		l->kind[n] = '\0';
	}
	return MNL_CB_OK;
}

static int link_attr(const struct nlattr *a, void *data)
{
	struct netif_link *l = data;
	switch (mnl_attr_get_type(a)) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(a, MNL_TYPE_STRING) == 0) {
			size_t n = strnlen(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a));
			if (n < sizeof(l->name)) {
				memcpy(l->name, mnl_attr_get_payload(a), n);
				l->name[n] = '\0';
			}
		}
		break;
	case IFLA_LINKINFO:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
			mnl_attr_parse_nested(a, linkinfo_attr, l);
		break;
	case IFLA_STATS64: {
		/* Older kernels send a shorter struct; the byte counters are
		 * in its first four fields (packets, then bytes). */
		struct rtnl_link_stats64 st = { 0 };
		size_t n = mnl_attr_get_payload_len(a);
		if (n >= 4 * sizeof(uint64_t)) {
			memcpy(&st, mnl_attr_get_payload(a), n < sizeof(st) ? n : sizeof(st));
			l->has_stats = true;
			l->rx_bytes = st.rx_bytes;
			l->tx_bytes = st.tx_bytes;
		}
		break;
	}
	}
	return MNL_CB_OK;
}

bool netif_link_from_msg(const struct nlmsghdr *nlh, struct netif_link *l)
{
	if ((nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK) ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct ifinfomsg)))
		return false;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	memset(l, 0, sizeof(*l));
	l->index = (uint32_t)ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	l->up = (ifi->ifi_flags & IFF_UP) != 0;
	mnl_attr_parse(nlh, sizeof(*ifi), link_attr, l);
	return l->name[0] != '\0';
}

static int link_msg(const struct nlmsghdr *nlh, void *ctx)
{
	struct netif_link l;
	if (!netif_link_from_msg(nlh, &l)) {
		log_debug("netlink: skipping a malformed link message");
		return 0;
	}
	struct netif_link *slot = vec_push(ctx);
	if (!slot)
		return -ENOMEM;
	*slot = l;
	return 0;
}

/* Forgets what an interrupted try listed. */
static int vec_clear(void *data)
{
	((struct vec *)data)->n = 0;
	return 0;
}

/* A table that keeps changing through every try gives its last listing
 * rather than an error: the daemon is better served by a listing that may
 * miss an entry for one tick than by none at all. */
static int nl_dump(struct netif *nl, struct nlmsghdr *req, const struct nlsock_expect *e,
		   int (*clear)(void *data))
{
	const struct nlsock_retry retry = {
		.tries = NETIF_DUMP_TRIES,
		.give_up = NLSOCK_KEEP_LAST,
		.begin = clear,
	};
	return nlsock_dump(nl->sock, req, e, &retry, NULL);
}

static int link_index_cmp(const void *a, const void *b)
{
	const struct netif_link *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Sorts by index and drops repeats (see unique_addrs for why). */
static size_t unique_links(struct netif_link *l, size_t n)
{
	if (n < 2)
		return n;
	qsort(l, n, sizeof(*l), link_index_cmp);
	size_t k = 1;
	for (size_t i = 1; i < n; i++)
		if (l[k - 1].index != l[i].index)
			l[k++] = l[i];
	return k;
}

int netif_list_links(struct netif *nl, struct netif_link **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	struct req_buf rb;
	struct nlmsghdr *req = mnl_nlmsg_put_header(rb.buf);
	req->nlmsg_type = RTM_GETLINK;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(req, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	struct vec v = { .size = sizeof(struct netif_link) };
	const struct nlsock_expect e = {
		.type = RTM_NEWLINK, .cb = link_msg, .data = &v, .what = "listing links",
	};
	int r = nl_dump(nl, req, &e, vec_clear);
	if (r < 0) {
		free(v.items);
		return r;
	}
	*out = v.items;
	*n = unique_links(*out, v.n);
	return 0;
}

static int one_link_msg(const struct nlmsghdr *nlh, void *ctx)
{
	struct netif_link *out = ctx;
	if (!netif_link_from_msg(nlh, out))
		return -EPROTO;
	return 0;
}

int netif_get_link(struct netif *nl, uint32_t ifindex, struct netif_link *out)
{
	memset(out, 0, sizeof(*out));
	if (ifindex == 0 || ifindex > INT32_MAX)
		return -ENODEV;
	struct req_buf rb;
	struct nlmsghdr *req = mnl_nlmsg_put_header(rb.buf);
	req->nlmsg_type = RTM_GETLINK;
	req->nlmsg_flags = NLM_F_ACK; /* not a dump: the ACK ends the reply */
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(req, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	const struct nlsock_expect e = {
		.type = RTM_NEWLINK, .cb = one_link_msg, .data = out, .what = "reading a link",
	};
	int r = nlsock_request(nl->sock, req, &e, NULL);
	if (r == 0 && out->index != ifindex)
		r = -EPROTO;
	return r;
}

/* ---- addresses ---- */

struct addr_attrs {
	const struct nlattr *address, *local, *flags;
};

static int addr_attr(const struct nlattr *a, void *data)
{
	struct addr_attrs *aa = data;
	switch (mnl_attr_get_type(a)) {
	case IFA_ADDRESS: aa->address = a; break;
	case IFA_LOCAL: aa->local = a; break;
	case IFA_FLAGS:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			aa->flags = a;
		break;
	}
	return MNL_CB_OK;
}

struct addr_ctx {
	struct vec v;
	uint32_t ifindex;
};

static bool set_addr(struct wl_addr *out, int family, const struct nlattr *a)
{
	size_t want = family == AF_INET ? 4 : 16;
	if (!a || mnl_attr_get_payload_len(a) != want)
		return false;
	if (family == AF_INET)
		wl_addr_from_v4(out, mnl_attr_get_payload(a));
	else
		wl_addr_from_v6(out, mnl_attr_get_payload(a));
	return true;
}

bool netif_addr_from_msg(const struct nlmsghdr *nlh, struct netif_addr *out)
{
	if ((nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR) ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct ifaddrmsg)))
		return false;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return false;
	struct addr_attrs aa = { 0 };
	mnl_attr_parse(nlh, sizeof(*ifa), addr_attr, &aa);
	struct netif_addr a = {
		.ifindex = ifa->ifa_index,
		.prefix = ifa->ifa_prefixlen,
		.scope = ifa->ifa_scope,
		.flags = aa.flags ? mnl_attr_get_u32(aa.flags) : ifa->ifa_flags,
	};
	/* On point-to-point links IFA_ADDRESS is the far end; IFA_LOCAL is ours. */
	if (!set_addr(&a.addr, ifa->ifa_family, aa.local ? aa.local : aa.address) ||
	    a.prefix > wl_addr_len(&a.addr) * 8)
		return false;
	*out = a;
	return true;
}

static int addr_msg(const struct nlmsghdr *nlh, void *ctx)
{
	struct addr_ctx *c = ctx;
	struct netif_addr a;
	if (!netif_addr_from_msg(nlh, &a)) {
		log_debug("netlink: skipping an address message (malformed or not IP)");
		return 0;
	}
	if (c->ifindex && a.ifindex != c->ifindex)
		return 0;
	struct netif_addr *slot = vec_push(&c->v);
	if (!slot)
		return -ENOMEM;
	*slot = a;
	return 0;
}

static int addr_clear(void *data)
{
	return vec_clear(&((struct addr_ctx *)data)->v);
}

static int addr_key_cmp(const void *a, const void *b)
{
	const struct netif_addr *x = a, *y = b;
	if (x->ifindex != y->ifindex)
		return x->ifindex < y->ifindex ? -1 : 1;
	if (x->addr.family != y->addr.family)
		return x->addr.family < y->addr.family ? -1 : 1;
	int m = memcmp(x->addr.bytes, y->addr.bytes, sizeof(x->addr.bytes));
	if (m)
		return m;
	return (int)x->prefix - (int)y->prefix;
}

/* Sorts by (ifindex, address, prefix) and drops repeats. Measured on Linux
 * 6.18: under heavy address churn an IPv6 dump that the kernel did NOT
 * flag as interrupted still listed one address twice, so duplicates are
 * removed here whatever the flag says. Returns the new count. */
static size_t unique_addrs(struct netif_addr *a, size_t n)
{
	if (n < 2)
		return n;
	qsort(a, n, sizeof(*a), addr_key_cmp);
	size_t k = 1;
	for (size_t i = 1; i < n; i++)
		if (addr_key_cmp(&a[k - 1], &a[i]) != 0)
			a[k++] = a[i];
	return k;
}

int netif_list_addrs(struct netif *nl, int family, uint32_t ifindex,
		     struct netif_addr **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	struct req_buf rb;
	struct nlmsghdr *req = mnl_nlmsg_put_header(rb.buf);
	req->nlmsg_type = RTM_GETADDR;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(req, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	struct addr_ctx c = { .v = { .size = sizeof(struct netif_addr) }, .ifindex = ifindex };
	const struct nlsock_expect e = {
		.type = RTM_NEWADDR, .cb = addr_msg, .data = &c, .what = "listing addresses",
	};
	int r = nl_dump(nl, req, &e, addr_clear);
	if (r < 0) {
		free(c.v.items);
		return r;
	}
	*out = c.v.items;
	*n = unique_addrs(*out, c.v.n);
	return 0;
}

/* ---- routes ---- */

struct route_attrs {
	const struct nlattr *dst, *gateway, *oif, *priority, *table;
};

static int route_attr(const struct nlattr *a, void *data)
{
	struct route_attrs *ra = data;
	switch (mnl_attr_get_type(a)) {
	case RTA_DST: ra->dst = a; break;
	case RTA_GATEWAY: ra->gateway = a; break;
	case RTA_OIF:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			ra->oif = a;
		break;
	case RTA_PRIORITY:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			ra->priority = a;
		break;
	case RTA_TABLE:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			ra->table = a;
		break;
	}
	return MNL_CB_OK;
}

bool netif_route_from_msg(const struct nlmsghdr *nlh, struct netif_route *out)
{
	if ((nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE) ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct rtmsg)))
		return false;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return false;
	struct route_attrs ra = { 0 };
	mnl_attr_parse(nlh, sizeof(*rtm), route_attr, &ra);
	struct netif_route r = {
		.dst = { .family = rtm->rtm_family },
		.dst_len = rtm->rtm_dst_len,
		.oif = ra.oif ? mnl_attr_get_u32(ra.oif) : 0,
		.priority = ra.priority ? mnl_attr_get_u32(ra.priority) : 0,
		.table = ra.table ? mnl_attr_get_u32(ra.table) : rtm->rtm_table,
		.type = rtm->rtm_type,
	};
	if (r.dst_len > wl_addr_len(&r.dst) * 8)
		return false;
	/* No RTA_DST is the default route; one that is there must fit. */
	if (ra.dst && !set_addr(&r.dst, rtm->rtm_family, ra.dst))
		return false;
	if (ra.gateway && !set_addr(&r.gateway, rtm->rtm_family, ra.gateway))
		return false;
	*out = r;
	return true;
}

struct gw_ctx {
	struct wl_addr gw;
	uint32_t oif, metric;
};

static int gw_msg(const struct nlmsghdr *nlh, void *data)
{
	struct gw_ctx *c = data;
	struct netif_route r;
	if (!netif_route_from_msg(nlh, &r)) {
		log_debug("netlink: skipping a malformed route message");
		return 0;
	}
	if (r.dst.family != AF_INET || r.dst_len != 0 || r.type != RTN_UNICAST ||
	    r.table != RT_TABLE_MAIN || r.gateway.family != AF_INET)
		return 0;
	if (c->gw.family == 0 || r.priority < c->metric) {
		c->gw = r.gateway;
		c->oif = r.oif;
		c->metric = r.priority;
	}
	return 0;
}

static int gw_clear(void *data)
{
	memset(data, 0, sizeof(struct gw_ctx));
	return 0;
}

int netif_default_gateway(struct netif *nl, struct wl_addr *gw, uint32_t *oif)
{
	memset(gw, 0, sizeof(*gw));
	*oif = 0;
	struct req_buf rb;
	struct nlmsghdr *req = mnl_nlmsg_put_header(rb.buf);
	req->nlmsg_type = RTM_GETROUTE;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(req, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	struct gw_ctx c = { 0 };
	const struct nlsock_expect e = {
		.type = RTM_NEWROUTE, .cb = gw_msg, .data = &c, .what = "listing routes",
	};
	int r = nl_dump(nl, req, &e, gw_clear);
	if (r < 0)
		return r;
	if (c.gw.family == 0)
		return -ENOENT;
	*gw = c.gw;
	*oif = c.oif;
	return 0;
}

int netif_add_addr(struct netif *nl, uint32_t ifindex, const struct wl_cidr *addr,
		   uint8_t scope, uint32_t ifa_flags)
{
	size_t alen = wl_addr_len(&addr->addr);
	if (alen == 0 || addr->prefix > alen * 8 || ifindex == 0)
		return -EINVAL;
	struct req_buf rb;
	struct nlmsghdr *req = mnl_nlmsg_put_header(rb.buf);
	req->nlmsg_type = RTM_NEWADDR;
	req->nlmsg_flags = NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(req, sizeof(*ifa));
	ifa->ifa_family = addr->addr.family;
	ifa->ifa_prefixlen = addr->prefix;
	ifa->ifa_flags = (uint8_t)(ifa_flags & 0xff);
	ifa->ifa_scope = scope;
	ifa->ifa_index = ifindex;
	mnl_attr_put(req, IFA_LOCAL, alen, addr->addr.bytes);
	mnl_attr_put(req, IFA_ADDRESS, alen, addr->addr.bytes);
	if (ifa_flags > 0xff)
		mnl_attr_put_u32(req, IFA_FLAGS, ifa_flags);
	char what[64 + WL_ADDR_STR_MAX], a[WL_ADDR_STR_MAX];
	snprintf(what, sizeof(what), "adding %s/%u to interface %u", wl_addr_str(&addr->addr, a),
		 addr->prefix, ifindex);
	const struct nlsock_expect e = { .what = what }; /* no data, only the ACK */
	return nlsock_request(nl->sock, req, &e, NULL);
}

/* ---- link watch ---- */

int netif_watch_open(struct netif_watch **out)
{
	*out = NULL;
	struct netif_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	int r = open_socket(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, &w->sock);
	if (r < 0) {
		free(w);
		return r;
	}
	*out = w;
	return 0;
}

void netif_watch_close(struct netif_watch *w)
{
	if (!w)
		return;
	nlsock_close(w->sock);
	free(w);
}

int netif_watch_fd(const struct netif_watch *w)
{
	return nlsock_fd(w->sock);
}

void netif_watch_note(const struct nlmsghdr *nlh, uint32_t ifindex, struct netif_events *ev)
{
	if (nlh->nlmsg_type == RTM_NEWADDR || nlh->nlmsg_type == RTM_DELADDR) {
		ev->moved = true;
		if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(struct ifaddrmsg))) {
			const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
			if (ifa->ifa_index == ifindex)
				ev->ours = true;
		}
		return;
	}
	if ((nlh->nlmsg_type != RTM_DELLINK && nlh->nlmsg_type != RTM_NEWLINK) ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct ifinfomsg)))
		return;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	if ((uint32_t)ifi->ifi_index != ifindex)
		ev->moved = true; /* another link came, went, or went up or down */
	else if (nlh->nlmsg_type == RTM_DELLINK)
		ev->gone = true;
	else
		ev->ours = true; /* ours went up or down, or changed otherwise */
}

int netif_watch_drain(struct netif_watch *w, uint32_t ifindex, struct netif_events *ev)
{
	char *buf = malloc(NLSOCK_RECV_SIZE);
	if (!buf)
		return -ENOMEM;
	int fd = nlsock_fd(w->sock);
	int r = 0;
	for (;;) {
		ssize_t n = recv(fd, buf, NLSOCK_RECV_SIZE, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			if (errno == ENOBUFS) {
				/* Events were lost: ask the kernel directly. */
				char name[IF_NAMESIZE];
				if (!if_indextoname(ifindex, name))
					ev->gone = true;
				ev->moved = true;
				ev->ours = true;
				continue;
			}
			r = -errno;
			break;
		}
		const uint8_t *pos = (const uint8_t *)buf;
		size_t left = (size_t)n;
		const struct nlmsghdr *nlh;
		while ((nlh = nlsock_msg_next(&pos, &left)))
			netif_watch_note(nlh, ifindex, ev);
	}
	free(buf);
	return r;
}
