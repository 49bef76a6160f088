/* rtnetlink links and addresses (see netif.h). */
#include "sys/netif.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "sys/log.h"

/* Dumps can carry messages up to a page or so each; 32 KiB is what the
 * kernel recommends for a receive buffer. */
#define NETIF_RECV_BUF 32768
/* How often an interrupted dump is redone before giving up. */
#define NETIF_DUMP_TRIES 8

struct netif {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
};

/* Our requests are a header, a fixed struct and two addresses at most. */
struct req_buf {
	union {
		char buf[256];
		struct nlmsghdr align;
	};
};

struct netif_watch {
	struct mnl_socket *sock;
};

static int open_socket(unsigned groups, struct mnl_socket **out)
{
	*out = NULL;
	struct mnl_socket *s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!s)
		return -errno;
	int one = 1;
	/* Extended ACKs carry the kernel's reason for a refusal; CAP_ACK
	 * keeps error messages small (no copy of our request). Both are
	 * best effort: old kernels lack them. */
	mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(s, groups, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		mnl_socket_close(s);
		return -e;
	}
	*out = s;
	return 0;
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
	nl->portid = mnl_socket_get_portid(nl->sock);
	/* Random start so replies to an earlier process's socket (same
	 * port id reused) can never match. */
	nl->seq = randombytes_random();
	*out = nl;
	return 0;
}

void netif_close(struct netif *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	free(nl);
}

/* ---- request / reply ---- */

const struct nlmsghdr *netif_msg_next(const uint8_t **pos, size_t *left)
{
	if (*left < sizeof(struct nlmsghdr))
		return NULL;
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)(const void *)*pos;
	size_t len = nlh->nlmsg_len;
	if (len < sizeof(struct nlmsghdr) || len > *left)
		return NULL;
	size_t step = MNL_ALIGN(len);
	if (step > *left)
		step = *left; /* the last message may lack its padding */
	*pos += step;
	*left -= step;
	return nlh;
}

typedef int (*netif_msg_fn)(const struct nlmsghdr *nlh, void *ctx);

/* Logs the extended ACK message of a failed request, if there is one. */
static void log_ext_ack(const struct nlmsghdr *nlh, int error)
{
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*err);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (err->msg.nlmsg_len < sizeof(err->msg) || err->msg.nlmsg_len > nlh->nlmsg_len)
			return;
		off += err->msg.nlmsg_len - sizeof(err->msg);
	}
	if (mnl_nlmsg_size(off) > nlh->nlmsg_len)
		return;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, off) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) {
			log_warn("netlink: %s: %s", strerror(-error), mnl_attr_get_str(a));
			return;
		}
	}
}

/* Handles one message of our reply. Returns 1 when the reply is over,
 * 0 to keep reading, or -errno. */
static int handle_msg(const struct nlmsghdr *nlh, netif_msg_fn fn, void *ctx, bool *intr)
{
	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		*intr = true;
	switch (nlh->nlmsg_type) {
	case NLMSG_NOOP:
		return 0;
	case NLMSG_DONE:
		/* A dump may end with an error code in the DONE payload. */
		if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
			int e = *(const int *)mnl_nlmsg_get_payload(nlh);
			if (e < 0)
				return e;
		}
		return 1;
	case NLMSG_ERROR: {
		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nlmsgerr))
			return -EBADMSG;
		const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
		if (err->error < 0)
			log_ext_ack(nlh, err->error);
		return err->error < 0 ? err->error : 1; /* 0 = ACK */
	}
	default:
		return fn ? fn(nlh, ctx) : 0;
	}
}

/* Sends req (sequence number and flags filled here) and feeds every reply
 * message to fn until the DONE/ACK/error that ends it. *intr tells whether
 * the kernel flagged a dump as inconsistent. */
static int nl_request(struct netif *nl, struct nlmsghdr *req, netif_msg_fn fn, void *ctx,
		      bool *intr)
{
	*intr = false;
	req->nlmsg_seq = ++nl->seq;
	req->nlmsg_flags |= NLM_F_REQUEST;
	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0)
		return -errno;
	char *buf = malloc(NETIF_RECV_BUF);
	if (!buf)
		return -ENOMEM;
	int r = 0;
	while (r == 0) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, NETIF_RECV_BUF);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		const uint8_t *pos = (const uint8_t *)buf;
		size_t left = (size_t)n;
		const struct nlmsghdr *nlh;
		while (r == 0 && (nlh = netif_msg_next(&pos, &left))) {
			/* Not ours (a stale reply): skip it. */
			if (nlh->nlmsg_seq == req->nlmsg_seq &&
			    (nlh->nlmsg_pid == nl->portid || nlh->nlmsg_pid == 0))
				r = handle_msg(nlh, fn, ctx, intr);
		}
	}
	free(buf);
	return r < 0 ? r : 0;
}

/* ---- growable arrays ---- */

struct vec {
	void *items;
	size_t n, cap, size;
};

static void *vec_push(struct vec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		if (cap > SIZE_MAX / v->size)
			return NULL;
		void *p = realloc(v->items, cap * v->size);
		if (!p)
			return NULL;
		v->items = p;
		v->cap = cap;
	}
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
	if (nlh->nlmsg_type != RTM_NEWLINK)
		return 0;
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

/* Runs a dump, redoing it while the kernel reports it inconsistent. If
 * the table keeps changing through every try, the last listing is kept
 * (with a warning) rather than failing: the daemon is better served by a
 * listing that may miss an entry for one tick than by none at all. */
static int nl_dump(struct netif *nl, struct nlmsghdr *req, netif_msg_fn fn, void *ctx,
		   struct vec *v)
{
	for (int tries = 1;; tries++) {
		bool intr;
		v->n = 0;
		int r = nl_request(nl, req, fn, ctx, &intr);
		if (r < 0 || !intr)
			return r;
		if (tries == NETIF_DUMP_TRIES) {
			log_warn("netlink: the table kept changing during %d dumps; "
				 "using a listing that may be inconsistent", tries);
			return 0;
		}
		log_debug("netlink: dump interrupted by a change, redoing it");
	}
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
	req->nlmsg_flags = NLM_F_DUMP;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(req, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	struct vec v = { .size = sizeof(struct netif_link) };
	int r = nl_dump(nl, req, link_msg, &v, &v);
	if (r < 0) {
		free(v.items);
		return r;
	}
	*out = v.items;
	*n = unique_links(*out, v.n);
	return 0;
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
	if (nlh->nlmsg_type != RTM_NEWADDR)
		return 0;
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
	req->nlmsg_flags = NLM_F_DUMP;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(req, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	struct addr_ctx c = { .v = { .size = sizeof(struct netif_addr) }, .ifindex = ifindex };
	int r = nl_dump(nl, req, addr_msg, &c, &c.v);
	if (r < 0) {
		free(c.v.items);
		return r;
	}
	*out = c.v.items;
	*n = unique_addrs(*out, c.v.n);
	return 0;
}

static int addr_change(struct netif *nl, uint16_t type, uint16_t flags, uint32_t ifindex,
		       const struct wl_cidr *addr, uint8_t scope, uint32_t ifa_flags)
{
	size_t alen = wl_addr_len(&addr->addr);
	if (alen == 0 || addr->prefix > alen * 8 || ifindex == 0)
		return -EINVAL;
	struct req_buf rb;
	struct nlmsghdr *req = mnl_nlmsg_put_header(rb.buf);
	req->nlmsg_type = type;
	req->nlmsg_flags = NLM_F_ACK | flags;
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
	bool intr;
	return nl_request(nl, req, NULL, NULL, &intr);
}

int netif_add_addr(struct netif *nl, uint32_t ifindex, const struct wl_cidr *addr,
		   uint8_t scope, uint32_t flags)
{
	return addr_change(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, addr, scope, flags);
}

int netif_del_addr(struct netif *nl, uint32_t ifindex, const struct wl_cidr *addr)
{
	return addr_change(nl, RTM_DELADDR, 0, ifindex, addr, RT_SCOPE_UNIVERSE, 0);
}

/* ---- link watch ---- */

int netif_watch_open(struct netif_watch **out)
{
	*out = NULL;
	struct netif_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	int r = open_socket(RTMGRP_LINK, &w->sock);
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
	mnl_socket_close(w->sock);
	free(w);
}

int netif_watch_fd(const struct netif_watch *w)
{
	return mnl_socket_get_fd(w->sock);
}

int netif_watch_drain(struct netif_watch *w, uint32_t ifindex, bool *gone)
{
	*gone = false;
	char *buf = malloc(NETIF_RECV_BUF);
	if (!buf)
		return -ENOMEM;
	int fd = mnl_socket_get_fd(w->sock);
	int r = 0;
	for (;;) {
		ssize_t n = recv(fd, buf, NETIF_RECV_BUF, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			if (errno == ENOBUFS) {
				/* Events were lost: ask the kernel directly. */
				char name[IF_NAMESIZE];
				if (!if_indextoname(ifindex, name))
					*gone = true;
				continue;
			}
			r = -errno;
			break;
		}
		const uint8_t *pos = (const uint8_t *)buf;
		size_t left = (size_t)n;
		const struct nlmsghdr *nlh;
		while ((nlh = netif_msg_next(&pos, &left))) {
			if (nlh->nlmsg_type != RTM_DELLINK ||
			    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct ifinfomsg)))
				continue;
			const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
			if ((uint32_t)ifi->ifi_index == ifindex)
				*gone = true;
		}
	}
	free(buf);
	return r;
}
