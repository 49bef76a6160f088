/* Checks of the kernel WireGuard backend (wg_genl.c) against the real
 * wireguard module. Runs inside the test VM (tests/vm/vm.sh) on an empty
 * WireGuard interface named by WL_IFACE (default wg0), which it may change
 * freely. Each test starts by removing every peer, so they do not depend
 * on each other's order.
 *
 * Besides what the shared device suite checks, these look at what only the
 * kernel does: dumps cut into several messages (with a peer's allowed IPs
 * cut in the middle), SETs we must split, and wireguard-tools' `wg` reading
 * the same device as an independent witness when it is present. */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "sys/wg_genl.h"
#include "sys/wgdev.h"

static const char *iface(void)
{
	const char *s = getenv("WL_IFACE");
	return s && *s ? s : "wg0";
}

/* Opens the kernel handle and removes every peer. NULL (with a failure
 * recorded) if that is impossible. */
static struct wgdev *open_clean(void)
{
	struct wgdev *wg = NULL;
	struct wg_device *dev = NULL;
	int rc = wgdev_open(iface(), WGDEV_KERNEL, &wg);
	CHECK_MSG(rc == 0, "wgdev_open(%s, kernel) = %d (%s)", iface(), rc, strerror(-rc));
	if (rc < 0)
		return NULL;
	rc = wgdev_get(wg, &dev);
	CHECK_EQ(rc, 0);
	if (rc == 0 && dev->n_peers > 0) {
		struct wg_peer_change *ch = calloc(dev->n_peers, sizeof *ch);
		for (size_t i = 0; ch && i < dev->n_peers; i++) {
			memcpy(ch[i].public_key, dev->peers[i].public_key, WL_KEY_LEN);
			ch[i].flags = WG_PEER_REMOVE;
		}
		CHECK(ch != NULL);
		if (ch)
			CHECK_EQ(wgdev_apply(wg, ch, dev->n_peers), 0);
		free(ch);
	}
	wg_device_free(dev);
	return wg;
}

/* A deterministic distinct public key for index i. */
static void test_key(uint8_t key[static WL_KEY_LEN], uint32_t i)
{
	memset(key, 0x5a, WL_KEY_LEN);
	key[0] = (uint8_t)(i >> 24);
	key[1] = (uint8_t)(i >> 16);
	key[2] = (uint8_t)(i >> 8);
	key[3] = (uint8_t)i;
}

static struct wl_cidr cidr(const char *s)
{
	struct wl_cidr c;
	memset(&c, 0, sizeof c);
	if (!wl_cidr_parse(s, &c))
		harness_fail(__FILE__, __LINE__, "bad cidr literal %s", s);
	return c;
}

static int cidr_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct wl_cidr));
}

/* Order-insensitive comparison of two allowed-IP lists. */
static bool same_cidrs(const struct wl_cidr *a, size_t na, const struct wl_cidr *b, size_t nb)
{
	if (na != nb)
		return false;
	if (na == 0)
		return true;
	struct wl_cidr *x = malloc(na * sizeof *x), *y = malloc(nb * sizeof *y);
	bool same = false;
	if (x && y) {
		for (size_t i = 0; i < na; i++) {
			memset(&x[i], 0, sizeof x[i]);
			memset(&y[i], 0, sizeof y[i]);
			x[i].addr = a[i].addr;
			x[i].prefix = a[i].prefix;
			y[i].addr = b[i].addr;
			y[i].prefix = b[i].prefix;
		}
		qsort(x, na, sizeof *x, cidr_cmp);
		qsort(y, nb, sizeof *y, cidr_cmp);
		same = memcmp(x, y, na * sizeof *x) == 0;
	}
	free(x);
	free(y);
	return same;
}

/* Allowed IPs distinct across all peers (the kernel moves an allowed IP
 * that a second peer claims): even entries are the IPv4 /32s
 * 10.0.0.0 + peer*2048 + k, odd ones fd00::<peer>:<j>/128. */
static void make_ips(struct wl_cidr *out, size_t n, uint32_t peer)
{
	for (size_t j = 0; j < n; j++) {
		memset(&out[j], 0, sizeof out[j]);
		if (j % 2 == 0) {
			uint32_t v = (10u << 24) + peer * 2048u + (uint32_t)(j / 2);
			uint8_t v4[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
					  (uint8_t)v };
			wl_addr_from_v4(&out[j].addr, v4);
			out[j].prefix = 32;
		} else {
			uint8_t v6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, (uint8_t)(peer >> 24),
					   (uint8_t)(peer >> 16), (uint8_t)(peer >> 8), (uint8_t)peer,
					   0, 0, (uint8_t)(j >> 8), (uint8_t)j };
			wl_addr_from_v6(&out[j].addr, v6);
			out[j].prefix = 128;
		}
	}
}

static FILE *wg_tool(const char *args)
{
	char cmd[128];
	if (access("/usr/bin/wg", X_OK) != 0)
		return NULL;
	snprintf(cmd, sizeof cmd, "/usr/bin/wg show %s %s 2>&1", iface(), args);
	return popen(cmd, "r");
}

/* Counts peers and allowed IPs as wireguard-tools sees them; false if wg
 * is not available. */
static bool wg_tool_counts(size_t *peers, size_t *ips)
{
	FILE *f = wg_tool("allowed-ips");
	if (!f)
		return false;
	char line[65536];
	*peers = *ips = 0;
	while (fgets(line, sizeof line, f)) {
		(*peers)++;
		for (char *p = strchr(line, '\t'); p && *p; p++)
			if (*p == '/')
				(*ips)++;
	}
	pclose(f);
	return true;
}

TEST(open_missing_device)
{
	struct wgdev *wg = (struct wgdev *)1;
	CHECK_EQ(wgdev_open("wlk-nonexist", WGDEV_KERNEL, &wg), -ENODEV);
	CHECK(wg == NULL);
}

TEST(open_not_wireguard)
{
	struct wgdev *wg = (struct wgdev *)1;
	int rc = wgdev_open("lo", WGDEV_KERNEL, &wg);
	CHECK_MSG(rc == -EOPNOTSUPP, "open(lo) = %d", rc);
	CHECK(wg == NULL);
}

TEST(set_device_key_and_port)
{
	struct wgdev *wg = open_clean();
	if (!wg)
		return;
	uint8_t priv[WL_KEY_LEN], pub[WL_KEY_LEN];
	randombytes_buf(priv, sizeof priv);
	/* The kernel stores the key clamped; clamp it first to compare. */
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
	CHECK_EQ(crypto_scalarmult_base(pub, priv), 0);
	CHECK_EQ(wgdev_set_device(wg, priv, 51820), 0);
	struct wg_device *dev = NULL;
	CHECK_EQ(wgdev_get(wg, &dev), 0);
	if (dev) {
		CHECK(dev->has_private_key);
		CHECK_MEM(dev->private_key, priv, WL_KEY_LEN);
		CHECK_MEM(dev->public_key, pub, WL_KEY_LEN);
		CHECK_EQ(dev->listen_port, 51820);
		CHECK_STR(dev->name, iface());
		CHECK(dev->ifindex != 0);
		CHECK_EQ(dev->n_peers, 0);
	}
	wg_device_free(dev);
	/* -1 leaves the port alone; NULL leaves the key. */
	CHECK_EQ(wgdev_set_device(wg, NULL, -1), 0);
	CHECK_EQ(wgdev_get(wg, &dev), 0);
	if (dev) {
		CHECK_EQ(dev->listen_port, 51820);
		CHECK_MEM(dev->private_key, priv, WL_KEY_LEN);
	}
	wg_device_free(dev);
	sodium_memzero(priv, sizeof priv);
	wgdev_close(wg);
}

TEST(peer_fields_round_trip)
{
	struct wgdev *wg = open_clean();
	if (!wg)
		return;
	struct wl_cidr ips[3] = { cidr("10.99.0.0/24"), cidr("192.0.2.7/32"), cidr("fd00:1::/64") };
	struct wg_peer_change ch[2];
	memset(ch, 0, sizeof ch);
	test_key(ch[0].public_key, 1);
	ch[0].flags = WG_PEER_SET_ENDPOINT | WG_PEER_SET_KEEPALIVE | WG_PEER_REPLACE_ALLOWED_IPS;
	CHECK(wl_endpoint_parse("198.51.100.9:51820", &ch[0].endpoint));
	ch[0].persistent_keepalive = 25;
	ch[0].n_allowed = 3;
	ch[0].allowed_ips = ips;
	test_key(ch[1].public_key, 2);
	ch[1].flags = WG_PEER_SET_ENDPOINT;
	CHECK(wl_endpoint_parse("[2001:db8::1]:4500", &ch[1].endpoint));
	CHECK_EQ(wgdev_apply(wg, ch, 2), 0);

	struct wg_device *dev = NULL;
	CHECK_EQ(wgdev_get(wg, &dev), 0);
	if (dev) {
		CHECK_EQ(dev->n_peers, 2);
		struct wg_peer *p = wg_device_find_peer(dev, ch[0].public_key);
		CHECK(p != NULL);
		if (p) {
			CHECK(p->has_endpoint);
			CHECK(memcmp(&p->endpoint, &ch[0].endpoint, sizeof p->endpoint) == 0);
			CHECK_EQ(p->persistent_keepalive, 25);
			CHECK(same_cidrs(p->allowed_ips, p->n_allowed, ips, 3));
			CHECK_EQ(p->last_handshake.tv_sec, 0);
		}
		p = wg_device_find_peer(dev, ch[1].public_key);
		CHECK(p != NULL);
		if (p) {
			char buf[WL_ENDPOINT_STR_MAX];
			CHECK(p->has_endpoint);
			CHECK_STR(wl_endpoint_str(&p->endpoint, buf), "[2001:db8::1]:4500");
			CHECK_EQ(p->n_allowed, 0);
			CHECK_EQ(p->persistent_keepalive, 0);
		}
	}
	wg_device_free(dev);
	wgdev_close(wg);
}

TEST(allowed_ips_add_and_replace)
{
	struct wgdev *wg = open_clean();
	if (!wg)
		return;
	struct wl_cidr a[2] = { cidr("10.1.0.0/16"), cidr("fd01::/48") };
	struct wl_cidr b[1] = { cidr("10.2.0.0/16") };
	struct wl_cidr c[1] = { cidr("10.3.3.3/32") };
	struct wg_peer_change ch;
	memset(&ch, 0, sizeof ch);
	test_key(ch.public_key, 7);
	ch.n_allowed = 2;
	ch.allowed_ips = a;
	CHECK_EQ(wgdev_apply(wg, &ch, 1), 0);
	ch.n_allowed = 1;
	ch.allowed_ips = b; /* no REPLACE: added */
	CHECK_EQ(wgdev_apply(wg, &ch, 1), 0);
	struct wg_device *dev = NULL;
	struct wl_cidr ab[3] = { a[0], a[1], b[0] };
	CHECK_EQ(wgdev_get(wg, &dev), 0);
	struct wg_peer *p = dev ? wg_device_find_peer(dev, ch.public_key) : NULL;
	CHECK(p && same_cidrs(p->allowed_ips, p->n_allowed, ab, 3));
	wg_device_free(dev);

	ch.flags = WG_PEER_REPLACE_ALLOWED_IPS | WG_PEER_UPDATE_ONLY;
	ch.allowed_ips = c;
	CHECK_EQ(wgdev_apply(wg, &ch, 1), 0);
	CHECK_EQ(wgdev_get(wg, &dev), 0);
	p = dev ? wg_device_find_peer(dev, ch.public_key) : NULL;
	CHECK(p && same_cidrs(p->allowed_ips, p->n_allowed, c, 1));
	wg_device_free(dev);

	/* Replace with nothing clears them. */
	ch.n_allowed = 0;
	ch.allowed_ips = NULL;
	CHECK_EQ(wgdev_apply(wg, &ch, 1), 0);
	CHECK_EQ(wgdev_get(wg, &dev), 0);
	p = dev ? wg_device_find_peer(dev, ch.public_key) : NULL;
	CHECK(p && p->n_allowed == 0);
	wg_device_free(dev);
	wgdev_close(wg);
}

TEST(update_only_and_remove)
{
	struct wgdev *wg = open_clean();
	if (!wg)
		return;
	struct wl_cidr a[1] = { cidr("10.4.0.0/16") };
	struct wg_peer_change ch[2];
	memset(ch, 0, sizeof ch);
	test_key(ch[0].public_key, 11);
	ch[0].flags = WG_PEER_UPDATE_ONLY | WG_PEER_SET_KEEPALIVE;
	ch[0].persistent_keepalive = 10;
	ch[0].n_allowed = 1;
	ch[0].allowed_ips = a;
	test_key(ch[1].public_key, 12);
	CHECK_EQ(wgdev_apply(wg, ch, 2), 0);
	struct wg_device *dev = NULL;
	CHECK_EQ(wgdev_get(wg, &dev), 0);
	if (dev) {
		CHECK_EQ(dev->n_peers, 1); /* the update-only one was not created */
		CHECK(wg_device_find_peer(dev, ch[0].public_key) == NULL);
		CHECK(wg_device_find_peer(dev, ch[1].public_key) != NULL);
	}
	wg_device_free(dev);

	ch[1].flags = WG_PEER_REMOVE;
	CHECK_EQ(wgdev_apply(wg, &ch[1], 1), 0);
	/* Removing a missing peer is not an error either. */
	CHECK_EQ(wgdev_apply(wg, &ch[1], 1), 0);
	CHECK_EQ(wgdev_get(wg, &dev), 0);
	CHECK(dev && dev->n_peers == 0);
	wg_device_free(dev);
	wgdev_close(wg);
}

TEST(bad_change_is_refused_whole)
{
	struct wgdev *wg = open_clean();
	if (!wg)
		return;
	struct wl_cidr bad[1] = { cidr("10.5.0.0/16") };
	bad[0].prefix = 40; /* longer than an IPv4 address */
	struct wg_peer_change ch[2];
	memset(ch, 0, sizeof ch);
	test_key(ch[0].public_key, 21);
	test_key(ch[1].public_key, 22);
	ch[1].n_allowed = 1;
	ch[1].allowed_ips = bad;
	CHECK_EQ(wgdev_apply(wg, ch, 2), -EINVAL);
	ch[1].n_allowed = 0;
	ch[1].flags = WG_PEER_SET_ENDPOINT; /* endpoint without an address */
	CHECK_EQ(wgdev_apply(wg, ch, 2), -EINVAL);
	struct wg_device *dev = NULL;
	CHECK_EQ(wgdev_get(wg, &dev), 0);
	CHECK(dev && dev->n_peers == 0); /* nothing was sent */
	wg_device_free(dev);
	wgdev_close(wg);
}

/* 1000 peers x 4 allowed IPs: the SET must be split between peers and the
 * dump comes back in several messages. */
TEST(thousand_peers_split_and_merged)
{
	enum { NP = 1000, NI = 4 };
	struct wgdev *wg = open_clean();
	if (!wg)
		return;
	struct wg_peer_change *ch = calloc(NP, sizeof *ch);
	struct wl_cidr *ips = calloc((size_t)NP * NI, sizeof *ips);
	CHECK(ch && ips);
	if (!ch || !ips)
		goto out;
	for (uint32_t i = 0; i < NP; i++) {
		test_key(ch[i].public_key, 1000 + i);
		ch[i].flags = WG_PEER_SET_ENDPOINT | WG_PEER_REPLACE_ALLOWED_IPS;
		uint8_t v4[4] = { 203, 0, 113, (uint8_t)(i % 250 + 1) };
		wl_addr_from_v4(&ch[i].endpoint.addr, v4);
		ch[i].endpoint.port = (uint16_t)(20000 + i);
		make_ips(&ips[(size_t)i * NI], NI, i);
		ch[i].n_allowed = NI;
		ch[i].allowed_ips = &ips[(size_t)i * NI];
	}
	CHECK_EQ(wgdev_apply(wg, ch, NP), 0);
	const struct wg_genl_stats *st = wg_genl_stats(wg);
	CHECK(st != NULL);
	if (!st)
		goto out;
	CHECK_MSG(st->set_messages > 1, "the SET went out in %u message(s)", st->set_messages);
	printf("# 1000x4 SET: %u messages\n", st->set_messages);

	struct wg_device *dev = NULL;
	CHECK_EQ(wgdev_get(wg, &dev), 0);
	CHECK_MSG(st->dump_messages > 1, "the dump came in %u message(s)", st->dump_messages);
	printf("# 1000x4 dump: %u messages\n", st->dump_messages);
	if (dev) {
		CHECK_EQ(dev->n_peers, NP);
		size_t bad = 0;
		for (size_t i = 0; i < NP; i++) {
			struct wg_peer *p = wg_device_find_peer(dev, ch[i].public_key);
			if (!p || !p->has_endpoint ||
			    memcmp(&p->endpoint, &ch[i].endpoint, sizeof p->endpoint) != 0 ||
			    !same_cidrs(p->allowed_ips, p->n_allowed, ch[i].allowed_ips, NI))
				bad++;
		}
		CHECK_EQ(bad, 0);
	}
	wg_device_free(dev);

	size_t tp, ti;
	if (wg_tool_counts(&tp, &ti)) {
		CHECK_EQ(tp, NP);
		CHECK_EQ(ti, (size_t)NP * NI);
	} else {
		printf("# wg(8) not available: no cross-check\n");
	}
out:
	free(ch);
	free(ips);
	wgdev_close(wg);
}

/* One peer with more allowed IPs than one message holds, replacing an
 * older set: the SET is split inside the peer (the continuation must not
 * replace again, or only the last part would remain), and the dump cuts
 * the peer across messages (it must come back as one peer). */
TEST(one_peer_many_ips_split_inside_peer)
{
	enum { NI = 3000 };
	struct wgdev *wg = open_clean();
	if (!wg)
		return;
	struct wl_cidr *ips = calloc(NI, sizeof *ips);
	struct wl_cidr old[2] = { cidr("10.250.0.0/16"), cidr("fd99::/64") };
	CHECK(ips != NULL);
	if (!ips)
		goto out;
	make_ips(ips, NI, 77);
	struct wg_peer_change ch;
	memset(&ch, 0, sizeof ch);
	test_key(ch.public_key, 77);
	ch.n_allowed = 2;
	ch.allowed_ips = old;
	CHECK_EQ(wgdev_apply(wg, &ch, 1), 0);

	ch.flags = WG_PEER_REPLACE_ALLOWED_IPS;
	ch.n_allowed = NI;
	ch.allowed_ips = ips;
	CHECK_EQ(wgdev_apply(wg, &ch, 1), 0);
	const struct wg_genl_stats *st = wg_genl_stats(wg);
	CHECK(st && st->set_messages > 1 && st->set_continuations == st->set_messages - 1);
	if (st)
		printf("# 1 peer x %d ips SET: %u messages\n", NI, st->set_messages);

	struct wg_device *dev = NULL;
	CHECK_EQ(wgdev_get(wg, &dev), 0);
	CHECK(st && st->dump_messages > 1);
	if (dev) {
		CHECK_EQ(dev->n_peers, 1);
		struct wg_peer *p = wg_device_find_peer(dev, ch.public_key);
		CHECK(p && same_cidrs(p->allowed_ips, p->n_allowed, ips, NI));
		if (p)
			CHECK_EQ(p->n_allowed, NI);
	}
	wg_device_free(dev);
out:
	free(ips);
	wgdev_close(wg);
}

/* The smallest message limit: every peer is cut, many times. */
TEST(tiny_messages_still_exact)
{
	enum { NP = 40, NI = 12 };
	struct wgdev *wg = open_clean();
	if (!wg)
		return;
	CHECK_EQ(wg_genl_set_msg_limit(wg, WG_GENL_SET_MSG_MIN - 1), -EINVAL);
	CHECK_EQ(wg_genl_set_msg_limit(wg, WG_GENL_SET_MSG_MIN), 0);
	static struct wl_cidr ips[NP * NI];
	struct wg_peer_change ch[NP];
	memset(ch, 0, sizeof ch);
	for (uint32_t i = 0; i < NP; i++) {
		test_key(ch[i].public_key, 5000 + i);
		ch[i].flags = WG_PEER_SET_ENDPOINT | WG_PEER_SET_KEEPALIVE | WG_PEER_REPLACE_ALLOWED_IPS;
		CHECK(wl_endpoint_parse("[2001:db8::2]:51820", &ch[i].endpoint));
		ch[i].persistent_keepalive = (uint16_t)(i + 1);
		make_ips(&ips[i * NI], NI, 5000 + i);
		ch[i].n_allowed = NI;
		ch[i].allowed_ips = &ips[i * NI];
	}
	CHECK_EQ(wgdev_apply(wg, ch, NP), 0);
	const struct wg_genl_stats *st = wg_genl_stats(wg);
	CHECK(st && st->set_messages > NP && st->set_continuations > 0);
	struct wg_device *dev = NULL;
	CHECK_EQ(wgdev_get(wg, &dev), 0);
	if (dev) {
		CHECK_EQ(dev->n_peers, NP);
		size_t bad = 0;
		for (size_t i = 0; i < NP; i++) {
			struct wg_peer *p = wg_device_find_peer(dev, ch[i].public_key);
			if (!p || p->persistent_keepalive != i + 1 ||
			    !same_cidrs(p->allowed_ips, p->n_allowed, ch[i].allowed_ips, NI))
				bad++;
		}
		CHECK_EQ(bad, 0);
	}
	wg_device_free(dev);
	wgdev_close(wg);
}

/* ---- randomized: any mix of changes, any message limit, same result as
 * applying the changes one by one to a model of the kernel's rules ---- */

enum { RK = 24, RMAXIP = 1200 };

struct model_peer {
	bool present, has_ep;
	struct wl_endpoint ep;
	uint16_t keepalive;
	size_t n;
	struct wl_cidr ips[RMAXIP];
};

static uint64_t rnd_next(uint64_t *s)
{
	/* xorshift64*: reproducible from the harness seed. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static uint32_t rnd(uint64_t *s, uint32_t n)
{
	return (uint32_t)(rnd_next(s) % n);
}

/* A masked CIDR from a small pool, so that peers often claim the same ones. */
static struct wl_cidr rnd_cidr(uint64_t *s)
{
	struct wl_cidr c;
	memset(&c, 0, sizeof c);
	uint32_t kind = rnd(s, 8);
	if (kind < 5) {
		uint8_t v4[4] = { 10, (uint8_t)rnd(s, 4), (uint8_t)rnd(s, 256), (uint8_t)rnd(s, 256) };
		wl_addr_from_v4(&c.addr, v4);
		c.prefix = kind == 0 ? (uint8_t)(16 + rnd(s, 17)) : 32;
	} else {
		uint8_t v6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (uint8_t)rnd(s, 4),
				   (uint8_t)rnd(s, 256) };
		wl_addr_from_v6(&c.addr, v6);
		c.prefix = kind == 5 ? (uint8_t)(64 + rnd(s, 65)) : 128;
	}
	wl_cidr_mask(&c);
	return c;
}

static bool cidr_same(const struct wl_cidr *a, const struct wl_cidr *b)
{
	return a->prefix == b->prefix && wl_addr_equal(&a->addr, &b->addr);
}

/* The kernel's rule: an allowed IP belongs to one peer; adding it to
 * another moves it. */
static void model_add_ip(struct model_peer *m, size_t who, const struct wl_cidr *c)
{
	for (size_t p = 0; p < RK; p++) {
		for (size_t i = 0; i < m[p].n; i++) {
			if (!cidr_same(&m[p].ips[i], c))
				continue;
			if (p == who)
				return;
			m[p].ips[i] = m[p].ips[--m[p].n];
			break;
		}
	}
	if (m[who].n < RMAXIP)
		m[who].ips[m[who].n++] = *c;
}

static void model_apply(struct model_peer *m, size_t who, const struct wg_peer_change *c)
{
	struct model_peer *p = &m[who];
	if (c->flags & WG_PEER_REMOVE) {
		memset(p, 0, sizeof *p);
		return;
	}
	if (!p->present && (c->flags & WG_PEER_UPDATE_ONLY))
		return;
	p->present = true;
	if (c->flags & WG_PEER_SET_ENDPOINT) {
		p->has_ep = true;
		p->ep = c->endpoint;
	}
	if (c->flags & WG_PEER_SET_KEEPALIVE)
		p->keepalive = c->persistent_keepalive;
	if (c->flags & WG_PEER_REPLACE_ALLOWED_IPS)
		p->n = 0;
	for (size_t i = 0; i < c->n_allowed; i++)
		model_add_ip(m, who, &c->allowed_ips[i]);
}

TEST(random_changes_match_model)
{
	enum { ROUNDS = 25, MAXCH = 40 };
	struct wgdev *wg = open_clean();
	if (!wg)
		return;
	uint64_t seed = harness_seed() * 0x9e3779b97f4a7c15ULL + 1;
	struct model_peer *m = calloc(RK, sizeof *m);
	struct wg_peer_change *ch = calloc(MAXCH, sizeof *ch);
	struct wl_cidr *ips = calloc((size_t)MAXCH * 400, sizeof *ips);
	size_t who[MAXCH];
	unsigned msgs = 0, conts = 0;
	CHECK(m && ch && ips);
	for (int round = 0; m && ch && ips && round < ROUNDS; round++) {
		size_t limit = rnd(&seed, 3) == 0 ? WG_GENL_SET_MSG_DEFAULT
						  : WG_GENL_SET_MSG_MIN + rnd(&seed, 4000);
		CHECK_EQ(wg_genl_set_msg_limit(wg, limit), 0);
		size_t n = 1 + rnd(&seed, MAXCH), used = 0;
		for (size_t i = 0; i < n; i++) {
			struct wg_peer_change *c = &ch[i];
			memset(c, 0, sizeof *c);
			who[i] = rnd(&seed, RK);
			test_key(c->public_key, 700 + (uint32_t)who[i]);
			if (rnd(&seed, 10) == 0)
				c->flags |= WG_PEER_REMOVE;
			if (rnd(&seed, 3) == 0)
				c->flags |= WG_PEER_UPDATE_ONLY;
			if (rnd(&seed, 2) == 0)
				c->flags |= WG_PEER_REPLACE_ALLOWED_IPS;
			if (rnd(&seed, 2) == 0) {
				c->flags |= WG_PEER_SET_ENDPOINT;
				char ep[40];
				snprintf(ep, sizeof ep, rnd(&seed, 2) ? "198.51.100.%u:%u" : "[2001:db8::%x]:%u",
					 1 + rnd(&seed, 200), 1 + rnd(&seed, 65535));
				CHECK(wl_endpoint_parse(ep, &c->endpoint));
			}
			if (rnd(&seed, 3) == 0) {
				c->flags |= WG_PEER_SET_KEEPALIVE;
				c->persistent_keepalive = (uint16_t)rnd(&seed, 100);
			}
			size_t k = rnd(&seed, 8) == 0 ? 100 + rnd(&seed, 300) : rnd(&seed, 9);
			c->allowed_ips = &ips[used];
			c->n_allowed = k;
			for (size_t j = 0; j < k; j++)
				ips[used++] = rnd_cidr(&seed);
		}
		int rc = wgdev_apply(wg, ch, n);
		CHECK_MSG(rc == 0, "round %d: apply = %d", round, rc);
		for (size_t i = 0; i < n; i++)
			model_apply(m, who[i], &ch[i]);
		const struct wg_genl_stats *st = wg_genl_stats(wg);
		msgs += st->set_messages;
		conts += st->set_continuations;

		struct wg_device *dev = NULL;
		CHECK_EQ(wgdev_get(wg, &dev), 0);
		if (!dev)
			break;
		size_t present = 0, bad = 0;
		for (size_t p = 0; p < RK; p++) {
			uint8_t key[WL_KEY_LEN];
			test_key(key, 700 + (uint32_t)p);
			struct wg_peer *got = wg_device_find_peer(dev, key);
			present += m[p].present;
			if (!m[p].present) {
				bad += got != NULL;
				continue;
			}
			if (!got || got->has_endpoint != m[p].has_ep ||
			    (m[p].has_ep && memcmp(&got->endpoint, &m[p].ep, sizeof got->endpoint) != 0) ||
			    got->persistent_keepalive != m[p].keepalive ||
			    !same_cidrs(got->allowed_ips, got->n_allowed, m[p].ips, m[p].n)) {
				bad++;
				CHECK_MSG(false, "round %d (limit %zu): peer %zu differs from the model "
					  "(%zu allowed IPs, model %zu)", round, limit, p,
					  got ? got->n_allowed : 0, m[p].n);
			}
		}
		CHECK_EQ(dev->n_peers, present);
		wg_device_free(dev);
		if (bad)
			break;
	}
	printf("# random: %d rounds, %u SET messages, %u continuations\n", ROUNDS, msgs, conts);
	CHECK(conts > 0); /* the rounds did cut peers */
	CHECK_EQ(wg_genl_set_msg_limit(wg, 0), 0);
	free(m);
	free(ch);
	free(ips);
	wgdev_close(wg);
}

/* Keeps changing one peer until killed (child process of the test below). */
static void keep_changing(const uint8_t key[static WL_KEY_LEN], long pause_ns)
{
	struct wgdev *wg = NULL;
	if (wgdev_open(iface(), WGDEV_KERNEL, &wg) < 0)
		_exit(1);
	struct wg_peer_change ch;
	memset(&ch, 0, sizeof ch);
	memcpy(ch.public_key, key, WL_KEY_LEN);
	ch.flags = WG_PEER_UPDATE_ONLY | WG_PEER_SET_KEEPALIVE;
	struct timespec pause = { pause_ns / 1000000000, pause_ns % 1000000000 };
	for (uint16_t i = 1;; i = (uint16_t)(i % 1000 + 1)) {
		ch.persistent_keepalive = i;
		if (wgdev_apply(wg, &ch, 1) < 0)
			_exit(1);
		nanosleep(&pause, NULL);
	}
}

/* A process changing the device while we dump it: the kernel marks the
 * dump NLM_F_DUMP_INTR and wg_genl must redo it; every snapshot returned
 * is whole (all peers, each once). */
TEST(dump_redone_when_device_changes)
{
	enum { NP = 1000, NI = 4, GETS = 20 };
	struct wgdev *wg = open_clean();
	if (!wg)
		return;
	struct wg_peer_change *ch = calloc(NP, sizeof *ch);
	struct wl_cidr *ips = calloc((size_t)NP * NI, sizeof *ips);
	CHECK(ch && ips);
	if (!ch || !ips)
		goto out;
	for (uint32_t i = 0; i < NP; i++) {
		test_key(ch[i].public_key, 9000 + i);
		make_ips(&ips[(size_t)i * NI], NI, i);
		ch[i].n_allowed = NI;
		ch[i].allowed_ips = &ips[(size_t)i * NI];
	}
	CHECK_EQ(wgdev_apply(wg, ch, NP), 0);
	/* Change about once per three dump durations, whatever the speed of
	 * the (emulated) machine: roughly a third of the dumps overlap a
	 * change, and eight overlaps in a row (giving up) stay rare. */
	long dump_ns = 0;
	for (int r = 0; r < 3; r++) {
		struct timespec a, b;
		struct wg_device *dev = NULL;
		clock_gettime(CLOCK_MONOTONIC, &a);
		CHECK_EQ(wgdev_get(wg, &dev), 0);
		clock_gettime(CLOCK_MONOTONIC, &b);
		wg_device_free(dev);
		long ns = (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
		if (ns > dump_ns)
			dump_ns = ns;
	}
	fflush(stdout);
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0)
		keep_changing(ch[NP / 2].public_key, 3 * dump_ns);
	unsigned restarts = 0, ok = 0, gave_up = 0;
	const struct wg_genl_stats *st = wg_genl_stats(wg);
	for (int r = 0; r < GETS && child > 0; r++) {
		struct wg_device *dev = NULL;
		int rc = wgdev_get(wg, &dev);
		restarts += st->dump_restarts;
		if (rc == -EAGAIN) {
			gave_up++;
			continue;
		}
		CHECK_EQ(rc, 0);
		if (dev) {
			ok++;
			CHECK_EQ(dev->n_peers, NP);
			size_t ips_seen = 0;
			for (size_t i = 0; i < dev->n_peers; i++)
				ips_seen += dev->peers[i].n_allowed;
			CHECK_EQ(ips_seen, (size_t)NP * NI);
		}
		wg_device_free(dev);
	}
	if (child > 0) {
		int status = 0;
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		CHECK_MSG(WIFSIGNALED(status), "the changing process stopped early (status %d)", status);
	}
	printf("# %d dumps (%.1f ms each) under concurrent changes: %u whole, %u redone, %u gave up\n",
	       GETS, (double)dump_ns / 1e6, ok, restarts, gave_up);
	CHECK(ok > 0);
	if (restarts == 0)
		harness_skip("no dump happened to be interrupted");
out:
	free(ch);
	free(ips);
	wgdev_close(wg);
}

/* The device deleted under an open handle: reads and writes fail with
 * -ENODEV (the daemon exits on that), never crash or hang. Uses the spare
 * interface named by WL_IFACE_SPARE, which it deletes. */
TEST(device_deleted_under_handle)
{
	const char *spare = getenv("WL_IFACE_SPARE");
	if (!spare || !*spare || access("/sbin/ip", X_OK) != 0) {
		harness_skip("no spare interface (WL_IFACE_SPARE) or no /sbin/ip");
		return;
	}
	struct wgdev *wg = NULL;
	CHECK_EQ(wgdev_open(spare, WGDEV_KERNEL, &wg), 0);
	if (!wg)
		return;
	char cmd[64];
	snprintf(cmd, sizeof cmd, "/sbin/ip link del %s", spare);
	CHECK_EQ(system(cmd), 0);
	struct wg_device *dev = (struct wg_device *)1;
	CHECK_EQ(wgdev_get(wg, &dev), -ENODEV);
	CHECK(dev == NULL);
	struct wg_peer_change ch;
	memset(&ch, 0, sizeof ch);
	test_key(ch.public_key, 3);
	CHECK_EQ(wgdev_apply(wg, &ch, 1), -ENODEV);
	CHECK_EQ(wgdev_set_device(wg, NULL, 1234), -ENODEV);
	wgdev_close(wg);
}

TEST(stats_only_for_kernel_handles)
{
	CHECK(wg_genl_stats(NULL) == NULL);
	CHECK_EQ(wg_genl_set_msg_limit(NULL, 1024), -EINVAL);
}
