/* The kernel WireGuard dump parser (wg_genl.c) on hand-built netlink
 * replies: merging a peer cut across messages, every field, the error
 * replies, and malformed attributes refused with -EPROTO. The real module
 * is exercised by tests/vm; this runs everywhere. */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "harness.h"
#include "sys/wg_genl.h"
#include "sys/wgdev.h"

#define FAM 0x1d

/* A reply buffer being built: messages appended one after another. */
struct rbuf {
	uint32_t words[4096]; /* aligned like a recv() buffer */
	size_t len;
	struct nlmsghdr *cur;
};

static uint8_t *rb_bytes(struct rbuf *b)
{
	return (uint8_t *)b->words;
}

static struct nlmsghdr *rb_msg(struct rbuf *b, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(rb_bytes(b) + b->len);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = 1;
	if (type == FAM) {
		struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof *g);
		g->cmd = WG_CMD_GET_DEVICE;
		g->version = WG_GENL_VERSION;
	}
	b->cur = nlh;
	return nlh;
}

/* Closes the current message (after its attributes were put). */
static void rb_end(struct rbuf *b)
{
	b->len += MNL_ALIGN(b->cur->nlmsg_len);
}

static void rb_done(struct rbuf *b, int err)
{
	struct nlmsghdr *nlh = rb_msg(b, NLMSG_DONE, NLM_F_MULTI);
	int *p = mnl_nlmsg_put_extra_header(nlh, sizeof *p);
	*p = err;
	rb_end(b);
}

static void key_of(uint8_t k[WL_KEY_LEN], uint8_t v)
{
	memset(k, v, WL_KEY_LEN);
}

static void put_aip4(struct nlmsghdr *nlh, uint8_t a, uint8_t b, uint8_t cidr)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, 0);
	uint8_t ip[4] = { 10, a, b, 0 };
	mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET);
	mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, 4, ip);
	mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, cidr);
	mnl_attr_nest_end(nlh, n);
}

/* A peer with key byte k and the given 10.a.b.0/cidr allowed IPs. */
static void put_peer(struct nlmsghdr *nlh, uint8_t k, int n_ips, uint8_t first_a)
{
	uint8_t key[WL_KEY_LEN];
	key_of(key, k);
	struct nlattr *p = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WL_KEY_LEN, key);
	if (n_ips) {
		struct nlattr *l = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
		for (int i = 0; i < n_ips; i++)
			put_aip4(nlh, (uint8_t)(first_a + i), k, 24);
		mnl_attr_nest_end(nlh, l);
	}
	mnl_attr_nest_end(nlh, p);
}

static int parse(struct rbuf *b, struct wg_device **out)
{
	return wg_genl_parse_dump(b->words, b->len, FAM, out);
}

TEST(merges_peer_cut_across_messages)
{
	static struct rbuf b;
	memset(&b, 0, sizeof b);
	struct nlmsghdr *nlh = rb_msg(&b, FAM, NLM_F_MULTI);
	mnl_attr_put_u32(nlh, WGDEVICE_A_IFINDEX, 9);
	struct nlattr *peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	put_peer(nlh, 1, 2, 0);
	mnl_attr_nest_end(nlh, peers);
	rb_end(&b);
	nlh = rb_msg(&b, FAM, NLM_F_MULTI);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	put_peer(nlh, 1, 3, 2); /* the same peer continues */
	put_peer(nlh, 2, 1, 0);
	mnl_attr_nest_end(nlh, peers);
	rb_end(&b);
	rb_done(&b, 0);

	struct wg_device *d = NULL;
	CHECK_EQ(parse(&b, &d), 0);
	CHECK(d != NULL);
	if (!d)
		return;
	CHECK_EQ(d->ifindex, 9);
	CHECK_EQ(d->n_peers, 2);
	uint8_t k[WL_KEY_LEN];
	key_of(k, 1);
	struct wg_peer *p = wg_device_find_peer(d, k);
	CHECK(p && p->n_allowed == 5);
	if (p)
		for (size_t i = 0; i < p->n_allowed; i++)
			CHECK_EQ(p->allowed_ips[i].addr.bytes[1], i); /* in order */
	key_of(k, 2);
	p = wg_device_find_peer(d, k);
	CHECK(p && p->n_allowed == 1);
	wg_device_free(d);
}

TEST(every_field)
{
	static struct rbuf b;
	memset(&b, 0, sizeof b);
	uint8_t priv[WL_KEY_LEN], pub[WL_KEY_LEN], k[WL_KEY_LEN];
	key_of(priv, 0x11);
	key_of(pub, 0x22);
	struct nlmsghdr *nlh = rb_msg(&b, FAM, NLM_F_MULTI);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wg7");
	mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, WL_KEY_LEN, priv);
	mnl_attr_put(nlh, WGDEVICE_A_PUBLIC_KEY, WL_KEY_LEN, pub);
	mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, 51820);
	mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, 0x42);
	mnl_attr_put_u32(nlh, 99, 1); /* unknown device attribute: skipped */
	struct nlattr *peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	struct nlattr *p = mnl_attr_nest_start(nlh, 0);
	key_of(k, 3);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WL_KEY_LEN, k);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(4500) };
	sin.sin_addr.s_addr = htonl(0xc0000201); /* 192.0.2.1 */
	mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof sin, &sin);
	mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 25);
	struct __kernel_timespec ts = { 1700000000, 123 };
	mnl_attr_put(nlh, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof ts, &ts);
	mnl_attr_put_u64(nlh, WGPEER_A_RX_BYTES, 1000);
	mnl_attr_put_u64(nlh, WGPEER_A_TX_BYTES, 2000);
	mnl_attr_put_u32(nlh, WGPEER_A_PROTOCOL_VERSION, 1);
	mnl_attr_nest_end(nlh, p);
	p = mnl_attr_nest_start(nlh, 0);
	key_of(k, 4);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WL_KEY_LEN, k);
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(51820) };
	sin6.sin6_addr.s6_addr[0] = 0x20;
	sin6.sin6_addr.s6_addr[1] = 0x01;
	sin6.sin6_addr.s6_addr[15] = 1;
	mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof sin6, &sin6);
	mnl_attr_nest_end(nlh, p);
	mnl_attr_nest_end(nlh, peers);
	rb_end(&b);
	rb_done(&b, 0);

	struct wg_device *d = NULL;
	CHECK_EQ(parse(&b, &d), 0);
	if (!d)
		return;
	CHECK(d->has_private_key);
	CHECK_MEM(d->private_key, priv, WL_KEY_LEN);
	CHECK_MEM(d->public_key, pub, WL_KEY_LEN);
	CHECK_EQ(d->listen_port, 51820);
	CHECK_EQ(d->fwmark, 0x42);
	CHECK_EQ(d->n_peers, 2);
	char s[WL_ENDPOINT_STR_MAX];
	if (d->n_peers == 2) {
		struct wg_peer *a = &d->peers[0], *c = &d->peers[1];
		CHECK(a->has_endpoint);
		CHECK_STR(wl_endpoint_str(&a->endpoint, s), "192.0.2.1:4500");
		CHECK_EQ(a->persistent_keepalive, 25);
		CHECK_EQ(a->last_handshake.tv_sec, 1700000000);
		CHECK_EQ(a->last_handshake.tv_nsec, 123);
		CHECK_EQ(a->rx_bytes, 1000);
		CHECK_EQ(a->tx_bytes, 2000);
		CHECK(c->has_endpoint);
		CHECK_STR(wl_endpoint_str(&c->endpoint, s), "[2001::1]:51820");
		CHECK_EQ(c->last_handshake.tv_sec, 0);
	}
	wg_device_free(d);
}

TEST(error_replies)
{
	static struct rbuf b;
	struct wg_device *d = (struct wg_device *)1;

	/* The kernel refusing the dump: an error message with extended ack. */
	memset(&b, 0, sizeof b);
	struct nlmsghdr *nlh = rb_msg(&b, NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS);
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof *e);
	e->error = -EOPNOTSUPP;
	e->msg.nlmsg_len = sizeof(struct nlmsghdr);
	mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, "not a wireguard device");
	rb_end(&b);
	CHECK_EQ(parse(&b, &d), -EOPNOTSUPP);
	CHECK(d == NULL);

	/* A dump that ends with an error in its NLMSG_DONE. */
	memset(&b, 0, sizeof b);
	rb_done(&b, -ENODEV);
	CHECK_EQ(parse(&b, &d), -ENODEV);

	/* Interrupted by a concurrent change: must be redone. */
	memset(&b, 0, sizeof b);
	nlh = rb_msg(&b, FAM, NLM_F_MULTI | NLM_F_DUMP_INTR);
	rb_end(&b);
	rb_done(&b, 0);
	CHECK_EQ(parse(&b, &d), -EAGAIN);

	/* No NLMSG_DONE yet: not a complete dump. */
	memset(&b, 0, sizeof b);
	rb_msg(&b, FAM, NLM_F_MULTI);
	rb_end(&b);
	CHECK_EQ(parse(&b, &d), -EPROTO);

	/* A message of another family. */
	memset(&b, 0, sizeof b);
	rb_msg(&b, FAM + 1, NLM_F_MULTI);
	rb_end(&b);
	rb_done(&b, 0);
	CHECK_EQ(parse(&b, &d), -EPROTO);
	CHECK(d == NULL);
}

/* Builds a one-peer dump where fill() writes the peer's attributes. */
static int parse_peer_with(void (*fill)(struct nlmsghdr *nlh))
{
	static struct rbuf b;
	memset(&b, 0, sizeof b);
	struct nlmsghdr *nlh = rb_msg(&b, FAM, NLM_F_MULTI);
	struct nlattr *peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	struct nlattr *p = mnl_attr_nest_start(nlh, 0);
	fill(nlh);
	mnl_attr_nest_end(nlh, p);
	mnl_attr_nest_end(nlh, peers);
	rb_end(&b);
	rb_done(&b, 0);
	struct wg_device *d = NULL;
	int rc = parse(&b, &d);
	if (rc < 0 && d)
		rc = 1; /* out-pointer must be NULL on failure */
	wg_device_free(d);
	return rc;
}

static void put_key(struct nlmsghdr *nlh)
{
	uint8_t k[WL_KEY_LEN];
	key_of(k, 5);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WL_KEY_LEN, k);
}

static void f_ok(struct nlmsghdr *nlh) { put_key(nlh); }
static void f_no_key(struct nlmsghdr *nlh) { mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 1); }
static void f_short_key(struct nlmsghdr *nlh)
{
	uint8_t k[31] = { 0 };
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, sizeof k, k);
}
static void f_short_endpoint(struct nlmsghdr *nlh)
{
	put_key(nlh);
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(struct sockaddr_in), &sin6);
}
static void f_bad_endpoint_family(struct nlmsghdr *nlh)
{
	put_key(nlh);
	struct sockaddr_in sin = { .sin_family = AF_UNIX };
	mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof sin, &sin);
}
static void f_keepalive_u8(struct nlmsghdr *nlh)
{
	put_key(nlh);
	mnl_attr_put_u8(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 1);
}
static void f_bad_nsec(struct nlmsghdr *nlh)
{
	put_key(nlh);
	struct __kernel_timespec ts = { 1, 1000000000 };
	mnl_attr_put(nlh, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof ts, &ts);
}
static void put_aip_raw(struct nlmsghdr *nlh, uint16_t family, size_t alen, uint8_t cidr)
{
	uint8_t ip[16] = { 10 };
	struct nlattr *l = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
	struct nlattr *n = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, family);
	mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, alen, ip);
	mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, cidr);
	mnl_attr_nest_end(nlh, n);
	mnl_attr_nest_end(nlh, l);
}
static void f_aip_ok(struct nlmsghdr *nlh) { put_key(nlh); put_aip_raw(nlh, AF_INET, 4, 32); }
static void f_aip_cidr(struct nlmsghdr *nlh) { put_key(nlh); put_aip_raw(nlh, AF_INET, 4, 33); }
static void f_aip_len(struct nlmsghdr *nlh) { put_key(nlh); put_aip_raw(nlh, AF_INET, 16, 8); }
static void f_aip_family(struct nlmsghdr *nlh) { put_key(nlh); put_aip_raw(nlh, 99, 4, 8); }
static void f_aip_missing(struct nlmsghdr *nlh)
{
	put_key(nlh);
	struct nlattr *l = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
	struct nlattr *n = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET);
	mnl_attr_nest_end(nlh, n);
	mnl_attr_nest_end(nlh, l);
}

TEST(malformed_attributes_refused)
{
	CHECK_EQ(parse_peer_with(f_ok), 0);
	CHECK_EQ(parse_peer_with(f_aip_ok), 0);
	CHECK_EQ(parse_peer_with(f_no_key), -EPROTO);
	CHECK_EQ(parse_peer_with(f_short_key), -EPROTO);
	CHECK_EQ(parse_peer_with(f_short_endpoint), -EPROTO);
	CHECK_EQ(parse_peer_with(f_bad_endpoint_family), -EPROTO);
	CHECK_EQ(parse_peer_with(f_keepalive_u8), -EPROTO);
	CHECK_EQ(parse_peer_with(f_bad_nsec), -EPROTO);
	CHECK_EQ(parse_peer_with(f_aip_cidr), -EPROTO);
	CHECK_EQ(parse_peer_with(f_aip_len), -EPROTO);
	CHECK_EQ(parse_peer_with(f_aip_family), -EPROTO);
	CHECK_EQ(parse_peer_with(f_aip_missing), -EPROTO);
}

TEST(repeated_peer_elsewhere_refused)
{
	static struct rbuf b;
	memset(&b, 0, sizeof b);
	struct nlmsghdr *nlh = rb_msg(&b, FAM, NLM_F_MULTI);
	struct nlattr *peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	put_peer(nlh, 1, 1, 0);
	put_peer(nlh, 2, 1, 0);
	put_peer(nlh, 1, 1, 5); /* not right after itself */
	mnl_attr_nest_end(nlh, peers);
	rb_end(&b);
	rb_done(&b, 0);
	struct wg_device *d = NULL;
	CHECK_EQ(parse(&b, &d), -EPROTO);
	CHECK(d == NULL);
}

TEST(truncated_and_oversized_lengths)
{
	static struct rbuf b;
	struct wg_device *d = NULL;
	memset(&b, 0, sizeof b);
	struct nlmsghdr *nlh = rb_msg(&b, FAM, NLM_F_MULTI);
	struct nlattr *peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	put_peer(nlh, 1, 3, 0);
	mnl_attr_nest_end(nlh, peers);
	rb_end(&b);
	rb_done(&b, 0);
	size_t full = b.len;
	/* Every proper prefix is incomplete or malformed, never accepted. */
	for (size_t cut = 0; cut < full; cut++) {
		int rc = wg_genl_parse_dump(b.words, cut, FAM, &d);
		CHECK_MSG(rc < 0 && d == NULL, "prefix of %zu bytes gave %d", cut, rc);
		wg_device_free(d);
		d = NULL;
	}
	/* A message length past 2 GiB (libmnl's own check reads it as
	 * negative) must not be followed. */
	nlh = (struct nlmsghdr *)b.words;
	nlh->nlmsg_len = 0xfffffff0u;
	CHECK_EQ(wg_genl_parse_dump(b.words, full, FAM, &d), -EPROTO);
	CHECK(d == NULL);
}
