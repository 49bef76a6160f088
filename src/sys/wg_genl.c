/* Kernel WireGuard backend: the generic netlink family "wireguard"
 * (linux/wireguard.h), spoken through libmnl.
 *
 * Reading is one WG_CMD_GET_DEVICE dump. The kernel cuts a large device
 * into several messages, and may cut one peer's allowed IPs so that the
 * same peer (same public key, only allowed IPs) starts the next message;
 * dump_peer() merges such a repeat into the peer before it. A dump marked
 * NLM_F_DUMP_INTR (the device changed meanwhile) is thrown away and redone.
 *
 * Writing is one or more WG_CMD_SET_DEVICE messages, each acknowledged
 * before the next is sent. A message holds as many peers as fit under the
 * size limit (struct nlattr lengths are 16 bits, so the peers nest can never
 * reach 64 KiB anyway); a peer whose allowed IPs do not fit continues in the
 * next message with UPDATE_ONLY and without REPLACE_ALLOWEDIPS, so the
 * continuation adds to what the first part set instead of replacing it.
 *
 * Every attribute is validated against the type and length we expect before
 * it is read; unknown attributes (newer kernels) are skipped. Requests and
 * replies go through the shared netlink engine (nlsock.h): a fresh sequence
 * number per request, replies with another one ignored, the socket reopened
 * after a reply broken off. Errors are -errno; the kernel's extended-ack
 * text, when there is one, is logged as an error. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "sys/log.h"
#include "sys/nlsock.h"
#include "sys/wg_genl.h"
#include "sys/wgdev_backend.h"

/* How often a dump interrupted by concurrent changes is tried before
 * wgdev_get gives up with -EAGAIN. */
#define WG_GENL_DUMP_TRIES 8

struct wg_genl {
	struct wgdev base; /* first member: see wgdev_backend.h */
	struct nlsock *sock;
	uint16_t family;
	char ifname[IFNAMSIZ];
	/* The requests in words, for the engine's log lines. */
	char what_get[IFNAMSIZ + 16];
	char what_set[IFNAMSIZ + 16];
	size_t set_limit;
	struct wg_genl_stats stats;
	uint8_t *txbuf; /* WG_GENL_SET_MSG_DEFAULT bytes */
};

static struct wg_genl *genl_of(struct wgdev *wg)
{
	return wgdev_container(wg, struct wg_genl);
}

/* ---- attribute validation -------------------------------------------- */

struct attr_rule {
	enum mnl_attr_data_type type; /* MNL_TYPE_UNSPEC = not expected */
	size_t len;                   /* exact length for binary; 0 = any */
};

struct attr_table {
	const struct attr_rule *rules;
	uint16_t max;
	const struct nlattr **tb; /* max + 1 entries, zeroed by the caller */
};

/* mnl_attr_parse callback: validates each known attribute and stores it;
 * unknown types are skipped so newer kernels keep working. */
static int attr_collect(const struct nlattr *attr, void *data)
{
	struct attr_table *t = data;
	uint16_t type = mnl_attr_get_type(attr);
	if (type > t->max || t->rules[type].type == MNL_TYPE_UNSPEC)
		return MNL_CB_OK;
	const struct attr_rule *r = &t->rules[type];
	int rc = r->len ? mnl_attr_validate2(attr, r->type, r->len)
			: mnl_attr_validate(attr, r->type);
	if (rc < 0) {
		log_error("wireguard netlink: attribute %u is malformed", type);
		return MNL_CB_ERROR;
	}
	t->tb[type] = attr;
	return MNL_CB_OK;
}

static const struct attr_rule device_rules[WGDEVICE_A_MAX + 1] = {
	[WGDEVICE_A_IFINDEX] = { MNL_TYPE_U32, 0 },
	[WGDEVICE_A_IFNAME] = { MNL_TYPE_NUL_STRING, 0 },
	[WGDEVICE_A_PRIVATE_KEY] = { MNL_TYPE_BINARY, WL_KEY_LEN },
	[WGDEVICE_A_PUBLIC_KEY] = { MNL_TYPE_BINARY, WL_KEY_LEN },
	[WGDEVICE_A_FLAGS] = { MNL_TYPE_U32, 0 },
	[WGDEVICE_A_LISTEN_PORT] = { MNL_TYPE_U16, 0 },
	[WGDEVICE_A_FWMARK] = { MNL_TYPE_U32, 0 },
	[WGDEVICE_A_PEERS] = { MNL_TYPE_NESTED, 0 },
};

static const struct attr_rule peer_rules[WGPEER_A_MAX + 1] = {
	[WGPEER_A_PUBLIC_KEY] = { MNL_TYPE_BINARY, WL_KEY_LEN },
	[WGPEER_A_FLAGS] = { MNL_TYPE_U32, 0 },
	[WGPEER_A_ENDPOINT] = { MNL_TYPE_BINARY, 0 }, /* length by family */
	[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL] = { MNL_TYPE_U16, 0 },
	[WGPEER_A_LAST_HANDSHAKE_TIME] = { MNL_TYPE_BINARY, sizeof(struct __kernel_timespec) },
	[WGPEER_A_RX_BYTES] = { MNL_TYPE_U64, 0 },
	[WGPEER_A_TX_BYTES] = { MNL_TYPE_U64, 0 },
	[WGPEER_A_ALLOWEDIPS] = { MNL_TYPE_NESTED, 0 },
	[WGPEER_A_PROTOCOL_VERSION] = { MNL_TYPE_U32, 0 },
	/* The preshared key is deliberately not collected: we never use it. */
};

static const struct attr_rule allowedip_rules[WGALLOWEDIP_A_MAX + 1] = {
	[WGALLOWEDIP_A_FAMILY] = { MNL_TYPE_U16, 0 },
	[WGALLOWEDIP_A_IPADDR] = { MNL_TYPE_BINARY, 0 }, /* length by family */
	[WGALLOWEDIP_A_CIDR_MASK] = { MNL_TYPE_U8, 0 },
};

static const struct attr_rule ctrl_rules[CTRL_ATTR_MAX + 1] = {
	[CTRL_ATTR_FAMILY_ID] = { MNL_TYPE_U16, 0 },
};

/* Collects the attributes nested in attr. 0 or -EPROTO. */
static int parse_nested(const struct nlattr *attr, const struct attr_rule *rules,
			uint16_t max, const struct nlattr **tb)
{
	struct attr_table t = { rules, max, tb };
	memset(tb, 0, (max + 1u) * sizeof *tb);
	return mnl_attr_parse_nested(attr, attr_collect, &t) == MNL_CB_ERROR ? -EPROTO : 0;
}

/* Collects the top-level attributes of a generic netlink message. */
static int parse_genl(const struct nlmsghdr *nlh, const struct attr_rule *rules,
		      uint16_t max, const struct nlattr **tb)
{
	struct attr_table t = { rules, max, tb };
	memset(tb, 0, (max + 1u) * sizeof *tb);
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct genlmsghdr)) {
		log_error("wireguard netlink: reply shorter than its header");
		return -EPROTO;
	}
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), attr_collect, &t) == MNL_CB_ERROR
		       ? -EPROTO
		       : 0;
}

/* ---- socket and requests --------------------------------------------- */

/* The receive buffer holds private and preshared keys after a dump: the
 * engine wipes it after every request. */
static const struct nlsock_config genl_sock_config = {
	.protocol = NETLINK_GENERIC,
	.name = "wireguard netlink",
	.refusal_level = LOG_LVL_ERROR,
	.secret_replies = true,
};

/* Starts a request in buf; the engine fills its sequence number. */
static struct nlmsghdr *genl_msg_start(void *buf, uint16_t type, uint16_t flags, uint8_t cmd,
				       uint8_t version)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	struct genlmsghdr *gh = mnl_nlmsg_put_extra_header(nlh, sizeof *gh);
	gh->cmd = cmd;
	gh->version = version;
	return nlh;
}

/* Sends a SET message and waits for its ACK. 0 or -errno. */
static int genl_set(struct wg_genl *g, struct nlmsghdr *nlh)
{
	const struct nlsock_expect e = { .type = g->family, .what = g->what_set };
	return nlsock_request(g->sock, nlh, &e, NULL);
}

/* ---- family lookup ------------------------------------------------------ */

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[CTRL_ATTR_MAX + 1];
	int rc = parse_genl(nlh, ctrl_rules, CTRL_ATTR_MAX, tb);
	if (rc < 0)
		return rc;
	if (tb[CTRL_ATTR_FAMILY_ID])
		*(uint16_t *)data = mnl_attr_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
	return 0;
}

static int genl_resolve_family(struct wg_genl *g)
{
	struct nlmsghdr *nlh = genl_msg_start(g->txbuf, GENL_ID_CTRL, NLM_F_ACK,
					      CTRL_CMD_GETFAMILY, 1);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
	uint16_t id = 0;
	const struct nlsock_expect e = {
		.type = GENL_ID_CTRL, .cb = family_cb, .data = &id,
		.what = "looking up the wireguard family",
	};
	int rc = nlsock_request(g->sock, nlh, &e, NULL);
	if (rc == -ENOENT) {
		log_error("the kernel has no WireGuard (generic netlink family \"%s\" missing; "
			  "module not loaded?)", WG_GENL_NAME);
		return -EPROTONOSUPPORT;
	}
	if (rc < 0)
		return rc;
	if (id == 0) {
		log_error("wireguard netlink: family reply without an id");
		return -EPROTO;
	}
	g->family = id;
	return 0;
}

/* ---- reading the device ------------------------------------------------ */

struct dump_ctx {
	const char *ifname;
	struct wg_device *dev;
	unsigned messages;
};

static int dump_allowed_ip(const struct nlattr *attr, struct wg_peer *peer)
{
	const struct nlattr *tb[WGALLOWEDIP_A_MAX + 1];
	int rc = parse_nested(attr, allowedip_rules, WGALLOWEDIP_A_MAX, tb);
	if (rc < 0)
		return rc;
	if (!tb[WGALLOWEDIP_A_FAMILY] || !tb[WGALLOWEDIP_A_IPADDR] || !tb[WGALLOWEDIP_A_CIDR_MASK])
		goto bad;
	uint16_t family = mnl_attr_get_u16(tb[WGALLOWEDIP_A_FAMILY]);
	uint16_t alen = mnl_attr_get_payload_len(tb[WGALLOWEDIP_A_IPADDR]);
	const uint8_t *addr = mnl_attr_get_payload(tb[WGALLOWEDIP_A_IPADDR]);
	struct wl_cidr c = { 0 };
	c.prefix = mnl_attr_get_u8(tb[WGALLOWEDIP_A_CIDR_MASK]);
	if (family == AF_INET && alen == 4 && c.prefix <= 32)
		wl_addr_from_v4(&c.addr, addr);
	else if (family == AF_INET6 && alen == 16 && c.prefix <= 128)
		wl_addr_from_v6(&c.addr, addr);
	else
		goto bad;
	return wg_peer_add_allowed(peer, &c);
bad:
	log_error("wireguard netlink: malformed allowed IP");
	return -EPROTO;
}

static int dump_endpoint(const struct nlattr *attr, struct wg_peer *peer)
{
	struct sockaddr_storage ss = { 0 };
	uint16_t len = mnl_attr_get_payload_len(attr);
	if (len > sizeof ss || len < sizeof(sa_family_t))
		goto bad;
	memcpy(&ss, mnl_attr_get_payload(attr), len);
	if ((ss.ss_family == AF_INET && len < sizeof(struct sockaddr_in)) ||
	    (ss.ss_family == AF_INET6 && len < sizeof(struct sockaddr_in6)))
		goto bad;
	if (!wl_endpoint_from_sockaddr((const struct sockaddr *)&ss, &peer->endpoint))
		goto bad;
	peer->has_endpoint = true;
	return 0;
bad:
	log_error("wireguard netlink: malformed endpoint");
	return -EPROTO;
}

static int dump_peer(const struct nlattr *attr, struct wg_device *dev)
{
	const struct nlattr *tb[WGPEER_A_MAX + 1];
	int rc = parse_nested(attr, peer_rules, WGPEER_A_MAX, tb);
	if (rc < 0)
		return rc;
	if (!tb[WGPEER_A_PUBLIC_KEY]) {
		log_error("wireguard netlink: peer without a public key");
		return -EPROTO;
	}
	const uint8_t *key = mnl_attr_get_payload(tb[WGPEER_A_PUBLIC_KEY]);
	struct wg_peer *peer = NULL;
	/* The kernel continues a peer cut at a message boundary by repeating
	 * its key with the remaining allowed IPs: merge, do not duplicate. */
	if (dev->n_peers > 0 &&
	    memcmp(dev->peers[dev->n_peers - 1].public_key, key, WL_KEY_LEN) == 0)
		peer = &dev->peers[dev->n_peers - 1];
	else if (!(peer = wg_device_add_peer(dev, key)))
		return -ENOMEM;
	if (tb[WGPEER_A_ENDPOINT] && (rc = dump_endpoint(tb[WGPEER_A_ENDPOINT], peer)) < 0)
		return rc;
	if (tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL])
		peer->persistent_keepalive = mnl_attr_get_u16(tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]);
	if (tb[WGPEER_A_LAST_HANDSHAKE_TIME]) {
		struct __kernel_timespec ts;
		memcpy(&ts, mnl_attr_get_payload(tb[WGPEER_A_LAST_HANDSHAKE_TIME]), sizeof ts);
		if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec > 999999999) {
			log_error("wireguard netlink: malformed handshake time");
			return -EPROTO;
		}
		peer->last_handshake.tv_sec = (time_t)ts.tv_sec;
		peer->last_handshake.tv_nsec = (long)ts.tv_nsec;
	}
	if (tb[WGPEER_A_RX_BYTES])
		peer->rx_bytes = mnl_attr_get_u64(tb[WGPEER_A_RX_BYTES]);
	if (tb[WGPEER_A_TX_BYTES])
		peer->tx_bytes = mnl_attr_get_u64(tb[WGPEER_A_TX_BYTES]);
	if (tb[WGPEER_A_ALLOWEDIPS]) {
		const struct nlattr *ip;
		mnl_attr_for_each_nested(ip, tb[WGPEER_A_ALLOWEDIPS]) {
			if ((rc = dump_allowed_ip(ip, peer)) < 0)
				return rc;
		}
	}
	return 0;
}

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *ctx = data;
	struct wg_device *dev = ctx->dev;
	const struct nlattr *tb[WGDEVICE_A_MAX + 1];
	ctx->messages++;
	int rc = parse_genl(nlh, device_rules, WGDEVICE_A_MAX, tb);
	if (rc < 0)
		return rc;
	if (tb[WGDEVICE_A_IFINDEX])
		dev->ifindex = mnl_attr_get_u32(tb[WGDEVICE_A_IFINDEX]);
	if (tb[WGDEVICE_A_PRIVATE_KEY]) {
		memcpy(dev->private_key, mnl_attr_get_payload(tb[WGDEVICE_A_PRIVATE_KEY]), WL_KEY_LEN);
		dev->has_private_key = !sodium_is_zero(dev->private_key, WL_KEY_LEN);
	}
	if (tb[WGDEVICE_A_PUBLIC_KEY])
		memcpy(dev->public_key, mnl_attr_get_payload(tb[WGDEVICE_A_PUBLIC_KEY]), WL_KEY_LEN);
	if (tb[WGDEVICE_A_LISTEN_PORT])
		dev->listen_port = mnl_attr_get_u16(tb[WGDEVICE_A_LISTEN_PORT]);
	if (tb[WGDEVICE_A_FWMARK])
		dev->fwmark = mnl_attr_get_u32(tb[WGDEVICE_A_FWMARK]);
	if (tb[WGDEVICE_A_PEERS]) {
		const struct nlattr *peer;
		mnl_attr_for_each_nested(peer, tb[WGDEVICE_A_PEERS]) {
			if ((rc = dump_peer(peer, dev)) < 0)
				return rc;
		}
	}
	return 0;
}

static int key_ptr_cmp(const void *a, const void *b)
{
	return memcmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b, WL_KEY_LEN);
}

/* A peer may only repeat right after itself (a cut, merged by dump_peer);
 * anywhere else a repeated key is a malformed dump. 0, -EPROTO or -ENOMEM. */
static int check_unique_peers(const struct wg_device *dev)
{
	if (dev->n_peers < 2)
		return 0;
	const uint8_t **keys = malloc(dev->n_peers * sizeof *keys);
	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < dev->n_peers; i++)
		keys[i] = dev->peers[i].public_key;
	qsort(keys, dev->n_peers, sizeof *keys, key_ptr_cmp);
	int rc = 0;
	for (size_t i = 1; i < dev->n_peers && rc == 0; i++)
		if (memcmp(keys[i - 1], keys[i], WL_KEY_LEN) == 0)
			rc = -EPROTO;
	free(keys);
	if (rc)
		log_error("wireguard netlink: a peer appears twice in the dump");
	return rc;
}

/* Starts a dump try with an empty snapshot, dropping what an interrupted
 * try read. */
static int dump_begin(void *data)
{
	struct dump_ctx *ctx = data;
	wg_device_free(ctx->dev);
	ctx->messages = 0;
	ctx->dev = wg_device_new(ctx->ifname);
	return ctx->dev ? 0 : -ENOMEM;
}

/* A snapshot from an interrupted dump may mix two states of the device,
 * so after the last try the read fails (-EAGAIN) instead of using it. */
static int genl_get(struct wgdev *wg, struct wg_device **out)
{
	struct wg_genl *g = genl_of(wg);
	struct dump_ctx ctx = { .ifname = g->ifname };
	*out = NULL;
	struct nlmsghdr *nlh = genl_msg_start(g->txbuf, g->family, 0, WG_CMD_GET_DEVICE,
					      WG_GENL_VERSION);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, g->ifname);
	const struct nlsock_expect e = {
		.type = g->family, .cb = dump_cb, .data = &ctx, .what = g->what_get,
	};
	const struct nlsock_retry retry = {
		.tries = WG_GENL_DUMP_TRIES,
		.give_up = NLSOCK_FAIL,
		.begin = dump_begin,
	};
	int rc = nlsock_dump(g->sock, nlh, &e, &retry, &g->stats.dump_restarts);
	if (rc == 0)
		rc = check_unique_peers(ctx.dev);
	if (rc < 0) {
		wg_device_free(ctx.dev);
		log_debug("wireguard netlink: reading %s failed: %s", g->ifname, strerror(-rc));
		return rc;
	}
	g->stats.dump_messages = ctx.messages;
	*out = ctx.dev;
	return 0;
}

/* ---- changing the device ----------------------------------------------- */

/* Where the next SET message starts: change index, allowed IP index, and
 * whether the change's first part (flags, endpoint, keepalive) was sent. */
struct set_cursor {
	size_t change;
	size_t ip;
	bool started;
};

static bool put_allowed_ip(struct nlmsghdr *nlh, size_t lim, const struct wl_cidr *c)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, lim, 0);
	if (!nest)
		return false;
	uint16_t family = c->addr.family;
	if (!mnl_attr_put_u16_check(nlh, lim, WGALLOWEDIP_A_FAMILY, family) ||
	    !mnl_attr_put_check(nlh, lim, WGALLOWEDIP_A_IPADDR, wl_addr_len(&c->addr), c->addr.bytes) ||
	    !mnl_attr_put_u8_check(nlh, lim, WGALLOWEDIP_A_CIDR_MASK, c->prefix)) {
		mnl_attr_nest_cancel(nlh, nest);
		return false;
	}
	mnl_attr_nest_end(nlh, nest);
	return true;
}

/* The peer header: key, flags, and on the first part endpoint and keepalive. */
static bool put_peer_head(struct nlmsghdr *nlh, size_t lim, const struct wg_peer_change *c,
			  bool first)
{
	uint32_t flags = 0;
	if (c->flags & WG_PEER_REMOVE)
		flags |= WGPEER_F_REMOVE_ME;
	/* A continuation must not re-create a peer removed meanwhile, nor
	 * replace the allowed IPs the first part set. */
	if ((c->flags & WG_PEER_UPDATE_ONLY) || !first)
		flags |= WGPEER_F_UPDATE_ONLY;
	if ((c->flags & WG_PEER_REPLACE_ALLOWED_IPS) && first)
		flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
	if (!mnl_attr_put_check(nlh, lim, WGPEER_A_PUBLIC_KEY, WL_KEY_LEN, c->public_key))
		return false;
	if (flags && !mnl_attr_put_u32_check(nlh, lim, WGPEER_A_FLAGS, flags))
		return false;
	if (!first || (c->flags & WG_PEER_REMOVE))
		return true;
	if (c->flags & WG_PEER_SET_ENDPOINT) {
		struct sockaddr_storage ss;
		socklen_t sl = wl_endpoint_to_sockaddr(&c->endpoint, &ss);
		if (!mnl_attr_put_check(nlh, lim, WGPEER_A_ENDPOINT, sl, &ss))
			return false;
	}
	if ((c->flags & WG_PEER_SET_KEEPALIVE) &&
	    !mnl_attr_put_u16_check(nlh, lim, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
				    c->persistent_keepalive))
		return false;
	return true;
}

/* Appends as much of change c as fits, from cursor cur. 1 = the rest of
 * the change fit; 0 = a part fit and the message is full (cur advanced);
 * -EMSGSIZE = nothing fit (message unchanged). */
static int put_peer(struct nlmsghdr *nlh, size_t lim, const struct wg_peer_change *c,
		    struct set_cursor *cur)
{
	const bool first = !cur->started;
	const size_t ip0 = cur->ip;
	struct nlattr *peer = mnl_attr_nest_start_check(nlh, lim, 0);
	if (!peer)
		return -EMSGSIZE;
	if (!put_peer_head(nlh, lim, c, first))
		goto cancel;
	if (!(c->flags & WG_PEER_REMOVE) && cur->ip < c->n_allowed) {
		struct nlattr *list = mnl_attr_nest_start_check(nlh, lim, WGPEER_A_ALLOWEDIPS);
		while (list && cur->ip < c->n_allowed &&
		       put_allowed_ip(nlh, lim, &c->allowed_ips[cur->ip]))
			cur->ip++;
		if (list && cur->ip == ip0)
			mnl_attr_nest_cancel(nlh, list);
		else if (list)
			mnl_attr_nest_end(nlh, list);
	}
	/* A continuation that carries no allowed IP would be a no-op. */
	if (!first && cur->ip == ip0)
		goto cancel;
	mnl_attr_nest_end(nlh, peer);
	cur->started = true;
	return (c->flags & WG_PEER_REMOVE) || cur->ip == c->n_allowed ? 1 : 0;
cancel:
	mnl_attr_nest_cancel(nlh, peer);
	return -EMSGSIZE;
}

/* Builds the next SET message in g->txbuf from cur on and advances cur.
 * *continues is set when the message starts by continuing a cut peer. */
static int build_set(struct wg_genl *g, const struct wg_peer_change *changes, size_t n,
		     struct set_cursor *cur, struct nlmsghdr **msg, bool *continues)
{
	const size_t lim = g->set_limit;
	struct nlmsghdr *nlh = genl_msg_start(g->txbuf, g->family, NLM_F_ACK,
					      WG_CMD_SET_DEVICE, WG_GENL_VERSION);
	*continues = cur->started;
	if (!mnl_attr_put_strz_check(nlh, lim, WGDEVICE_A_IFNAME, g->ifname))
		return -EMSGSIZE;
	struct nlattr *peers = mnl_attr_nest_start_check(nlh, lim, WGDEVICE_A_PEERS);
	if (!peers)
		return -EMSGSIZE;
	size_t parts = 0;
	while (cur->change < n) {
		int rc = put_peer(nlh, lim, &changes[cur->change], cur);
		if (rc < 0)
			break;
		parts++;
		if (rc == 0)
			break;
		cur->change++;
		cur->ip = 0;
		cur->started = false;
	}
	if (parts == 0) {
		log_error("wireguard netlink: a peer does not fit in %zu bytes", lim);
		return -EMSGSIZE;
	}
	mnl_attr_nest_end(nlh, peers);
	*msg = nlh;
	return 0;
}

/* Rejects changes we could not encode before anything is sent, so a bad
 * change never leaves the device half updated. */
static int check_changes(const struct wg_peer_change *changes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct wg_peer_change *c = &changes[i];
		if ((c->flags & WG_PEER_SET_ENDPOINT) && wl_addr_len(&c->endpoint.addr) == 0) {
			log_error("wireguard netlink: change %zu has an endpoint without an address", i);
			return -EINVAL;
		}
		if (c->n_allowed && !c->allowed_ips)
			return -EINVAL;
		for (size_t j = 0; j < c->n_allowed; j++) {
			const struct wl_cidr *a = &c->allowed_ips[j];
			size_t len = wl_addr_len(&a->addr);
			if (len == 0 || a->prefix > len * 8) {
				log_error("wireguard netlink: change %zu has a malformed allowed IP", i);
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* Sends the changes as SET messages, each acknowledged before the next.
 * If the kernel refuses one, the messages before it stay applied (the
 * kernel has no multi-message transaction); the error is returned and the
 * caller's next snapshot shows the real state. */
static int genl_apply(struct wgdev *wg, const struct wg_peer_change *changes, size_t n)
{
	struct wg_genl *g = genl_of(wg);
	struct set_cursor cur = { 0, 0, false };
	g->stats.set_messages = g->stats.set_continuations = 0;
	int rc = check_changes(changes, n);
	while (rc == 0 && cur.change < n) {
		struct nlmsghdr *nlh;
		bool continues;
		if ((rc = build_set(g, changes, n, &cur, &nlh, &continues)) < 0)
			break;
		rc = genl_set(g, nlh);
		g->stats.set_messages++;
		g->stats.set_continuations += continues;
	}
	if (rc < 0)
		log_debug("wireguard netlink: updating %s failed after %u message(s): %s",
			  g->ifname, g->stats.set_messages, strerror(-rc));
	return rc;
}

static int genl_set_device(struct wgdev *wg, const uint8_t *private_key, int listen_port)
{
	struct wg_genl *g = genl_of(wg);
	if (listen_port < -1 || listen_port > 65535)
		return -EINVAL;
	struct nlmsghdr *nlh = genl_msg_start(g->txbuf, g->family, NLM_F_ACK,
					      WG_CMD_SET_DEVICE, WG_GENL_VERSION);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, g->ifname);
	if (private_key)
		mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, WL_KEY_LEN, private_key);
	if (listen_port >= 0)
		mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, (uint16_t)listen_port);
	int rc = genl_set(g, nlh);
	sodium_memzero(g->txbuf, nlh->nlmsg_len);
	g->stats.set_messages = 1;
	g->stats.set_continuations = 0;
	return rc;
}

/* ---- handle lifetime ----------------------------------------------------- */

static void genl_close(struct wgdev *wg)
{
	struct wg_genl *g = genl_of(wg);
	nlsock_close(g->sock);
	if (g->txbuf)
		sodium_memzero(g->txbuf, WG_GENL_SET_MSG_DEFAULT);
	free(g->txbuf);
	free(g);
}

static int genl_open(const char *ifname, struct wgdev **out)
{
	*out = NULL;
	if (strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	if (if_nametoindex(ifname) == 0) {
		log_debug("wireguard netlink: no interface %s", ifname);
		return -ENODEV;
	}
	struct wg_genl *g = calloc(1, sizeof *g);
	if (!g)
		return -ENOMEM;
	int rc = -ENOMEM;
	snprintf(g->ifname, sizeof g->ifname, "%s", ifname);
	snprintf(g->what_get, sizeof g->what_get, "reading %s", ifname);
	snprintf(g->what_set, sizeof g->what_set, "changing %s", ifname);
	g->set_limit = WG_GENL_SET_MSG_DEFAULT;
	g->txbuf = malloc(WG_GENL_SET_MSG_DEFAULT);
	if (!g->txbuf)
		goto fail;
	if ((rc = nlsock_open(&genl_sock_config, &g->sock)) < 0) {
		log_error("wireguard netlink: cannot open a generic netlink socket: %s", strerror(-rc));
		goto fail;
	}
	if ((rc = genl_resolve_family(g)) < 0)
		goto fail;
	/* One read proves the interface is a WireGuard device we may manage
	 * (-EOPNOTSUPP for another kind, -EPERM without CAP_NET_ADMIN). */
	struct wg_device *probe;
	if ((rc = genl_get(&g->base, &probe)) < 0) {
		log_error("wireguard netlink: cannot read %s: %s", ifname, strerror(-rc));
		goto fail;
	}
	wg_device_free(probe);
	*out = &g->base;
	return 0;
fail:
	genl_close(&g->base);
	return rc;
}

const struct wgdev_ops wg_genl_ops = {
	.open = genl_open,
	.get = genl_get,
	.apply = genl_apply,
	.set_device = genl_set_device,
	.close = genl_close,
};

int wg_genl_parse_dump(const void *buf, size_t len, uint16_t family, struct wg_device **out)
{
	struct dump_ctx ctx = { .ifname = "fuzz" };
	const struct nlsock_expect e = {
		.type = family, .cb = dump_cb, .data = &ctx, .what = "parsing a dump",
	};
	/* seq 0: a buffer without a socket, every message is ours. */
	struct nlsock_reply r = {
		.expect = &e,
		.name = genl_sock_config.name,
		.refusal_level = genl_sock_config.refusal_level,
		.dump = true,
	};
	*out = NULL;
	int result = dump_begin(&ctx);
	if (result == 0)
		result = nlsock_reply_feed(&r, buf, len) ? r.result : -EPROTO; /* no NLMSG_DONE */
	if (result == 0 && r.interrupted)
		result = -EAGAIN;
	if (result == 0)
		result = check_unique_peers(ctx.dev);
	if (result < 0) {
		wg_device_free(ctx.dev);
		return result;
	}
	*out = ctx.dev;
	return 0;
}

/* ---- extras (wg_genl.h) ----------------------------------------------------- */

const struct wg_genl_stats *wg_genl_stats(const struct wgdev *wg)
{
	if (!wg || wg->ops != &wg_genl_ops)
		return NULL;
	return &((const struct wg_genl *)(const void *)wg)->stats;
}

int wg_genl_set_msg_limit(struct wgdev *wg, size_t bytes)
{
	if (!wg || wg->ops != &wg_genl_ops)
		return -EINVAL;
	if (bytes == 0)
		bytes = WG_GENL_SET_MSG_DEFAULT;
	if (bytes < WG_GENL_SET_MSG_MIN || bytes > WG_GENL_SET_MSG_DEFAULT)
		return -EINVAL;
	genl_of(wg)->set_limit = bytes;
	return 0;
}
