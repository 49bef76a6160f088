/* The in-memory WireGuard device (src/sys/wg_mem.h) from its owner's side:
 * hooks, live peers, cryptokey routing, handles and lifetime. The wgdev
 * semantics it shares with the real backends are checked by
 * tests/wgdev/wgdev_suite.c --backend memory (tests/cli/test_wgdev_memory.sh). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "harness.h"
#include "sys/wg_mem.h"
#include "sys/wgdev.h"

/* What the hooks saw, in order: 'a'dded, 'r'emoved, 'k'eepalive. */
struct seen {
	char log[64];
	size_t n;
	uint8_t last_key[WL_KEY_LEN];
	uint16_t last_old, last_new;
	int refuse; /* peer_added returns this */
	int live;   /* owner allocations not yet released */
};

static void note(struct seen *s, char what, const struct wg_peer *p)
{
	if (s->n + 1 < sizeof(s->log))
		s->log[s->n++] = what;
	memcpy(s->last_key, p->public_key, WL_KEY_LEN);
}

static int on_added(void *ctx, struct wg_peer *p)
{
	struct seen *s = ctx;
	note(s, 'a', p);
	if (s->refuse)
		return s->refuse;
	CHECK(wg_mem_peer_data(p) == NULL);
	int *owner = malloc(sizeof(*owner));
	if (!owner)
		return -ENOMEM;
	*owner = 42;
	wg_mem_peer_set_data(p, owner);
	s->live++;
	return 0;
}

static void on_removed(void *ctx, struct wg_peer *p)
{
	struct seen *s = ctx;
	note(s, 'r', p);
	int *owner = wg_mem_peer_data(p);
	CHECK(owner && *owner == 42);
	free(owner);
	s->live--;
}

static void on_keepalive(void *ctx, struct wg_peer *p, uint16_t old)
{
	struct seen *s = ctx;
	note(s, 'k', p);
	s->last_old = old;
	s->last_new = p->persistent_keepalive;
}

static const struct wg_mem_hooks hooks = {
	.peer_added = on_added,
	.peer_removed = on_removed,
	.keepalive_set = on_keepalive,
};

static void key(uint8_t k[static WL_KEY_LEN], uint8_t v)
{
	memset(k, v, WL_KEY_LEN);
}

static struct wl_cidr cidr(const char *s)
{
	struct wl_cidr c;
	CHECK(wl_cidr_parse(s, &c));
	return c;
}

static struct wl_addr addr(const char *s)
{
	struct wl_addr a;
	CHECK(wl_addr_parse(s, &a));
	return a;
}

/* Adds (or updates) peer v with the given allowed IPs. */
static void give(struct wgdev *wg, uint8_t v, const char *a, const char *b)
{
	struct wl_cidr ips[2];
	size_t n = 0;
	if (a)
		ips[n++] = cidr(a);
	if (b)
		ips[n++] = cidr(b);
	struct wg_peer_change ch = { .n_allowed = n, .allowed_ips = ips };
	key(ch.public_key, v);
	CHECK_EQ(wgdev_apply(wg, &ch, 1), 0);
}

static void remove_peer(struct wgdev *wg, uint8_t v)
{
	struct wg_peer_change ch = { .flags = WG_PEER_REMOVE };
	key(ch.public_key, v);
	CHECK_EQ(wgdev_apply(wg, &ch, 1), 0);
}

static uint8_t routed(struct wg_mem *m, const char *a)
{
	struct wl_addr x = addr(a);
	struct wg_peer *p = wg_mem_route(m, &x);
	return p ? p->public_key[0] : 0;
}

TEST(hooks_follow_the_peers)
{
	struct seen s = { 0 };
	struct wg_mem *m = wg_mem_new("wgm", 7);
	struct wgdev *wg = NULL;
	CHECK(m != NULL);
	CHECK_EQ(wgdev_open_memory(m, &wg), 0);
	wg_mem_set_hooks(m, &hooks, &s);
	give(wg, 1, "10.0.1.0/24", NULL);
	give(wg, 1, "10.0.2.0/24", NULL); /* an update: no second 'a' */
	struct wg_peer_change ka = { .flags = WG_PEER_SET_KEEPALIVE | WG_PEER_UPDATE_ONLY,
				     .persistent_keepalive = 25 };
	key(ka.public_key, 1);
	CHECK_EQ(wgdev_apply(wg, &ka, 1), 0);
	CHECK_EQ(s.last_old, 0);
	CHECK_EQ(s.last_new, 25);
	ka.persistent_keepalive = 0;
	CHECK_EQ(wgdev_apply(wg, &ka, 1), 0);
	CHECK_EQ(s.last_old, 25);
	CHECK_EQ(s.last_new, 0);
	remove_peer(wg, 1);
	remove_peer(wg, 1); /* missing: nothing */
	give(wg, 1, NULL, NULL); /* re-added: a new peer, fresh owner data */
	CHECK_STR(s.log, "akkra");
	CHECK_EQ(s.live, 1);

	/* The owner refuses a peer: the apply fails, the peer is not there,
	 * and no peer_removed follows for it. */
	s.refuse = -ENOMEM;
	struct wg_peer_change two[2] = { { .flags = 0 }, { .flags = 0 } };
	key(two[0].public_key, 2);
	key(two[1].public_key, 3);
	CHECK_EQ(wgdev_apply(wg, two, 2), -ENOMEM);
	CHECK(wg_mem_find(m, two[0].public_key) == NULL);
	CHECK_EQ(wg_mem_peer_count(m), 1);
	s.refuse = 0;

	/* A private key whose public key is a peer's removes that peer. */
	uint8_t priv[WL_KEY_LEN], pub[WL_KEY_LEN];
	key(priv, 9);
	crypto_scalarmult_base(pub, priv);
	struct wg_peer_change self = { .flags = 0 };
	memcpy(self.public_key, pub, WL_KEY_LEN);
	CHECK_EQ(wgdev_apply(wg, &self, 1), 0);
	CHECK_EQ(s.live, 2);
	CHECK_EQ(wgdev_set_device(wg, priv, 51820), 0);
	CHECK_EQ(s.live, 1);
	CHECK_MEM(s.last_key, pub, WL_KEY_LEN);
	CHECK(wg_mem_find(m, pub) == NULL);
	/* ... and from then on a peer with that key is ignored, no hook. */
	size_t before = s.n;
	CHECK_EQ(wgdev_apply(wg, &self, 1), 0);
	CHECK_EQ(s.n, before);
	CHECK_EQ(wg_mem_peer_count(m), 1);

	/* wg_mem_free releases every peer through the hook. */
	give(wg, 4, NULL, NULL);
	CHECK_EQ(s.live, 2);
	wgdev_close(wg);
	wg_mem_free(m);
	CHECK_EQ(s.live, 0);
}

TEST(owner_writes_show_in_snapshots)
{
	struct wg_mem *m = wg_mem_new("wgm", 7);
	struct wgdev *wg = NULL;
	CHECK_EQ(wgdev_open_memory(m, &wg), 0);
	uint8_t out[WL_KEY_LEN];
	CHECK(!wg_mem_public_key(m, out));
	give(wg, 1, "10.0.1.0/24", "fd00::1/128");
	give(wg, 2, NULL, NULL);
	uint8_t k1[WL_KEY_LEN];
	key(k1, 1);
	struct wg_peer *p = wg_mem_find(m, k1);
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(wg_mem_peer_at(m, 0) == p);
	CHECK(wg_mem_peer_at(m, 2) == NULL);
	/* What the data plane keeps up to date. */
	p->last_handshake = (struct timespec){ 1700000000, 5000000 };
	p->rx_bytes = 148;
	p->tx_bytes = 92;
	p->has_endpoint = true;
	CHECK(wl_endpoint_parse("198.51.100.7:4000", &p->endpoint));
	struct wg_device *d = NULL;
	CHECK_EQ(wgdev_get(wg, &d), 0);
	CHECK(d != NULL);
	if (!d)
		return;
	CHECK_STR(d->name, "wgm");
	CHECK_EQ(d->ifindex, 7);
	CHECK_EQ(d->n_peers, 2);
	struct wg_peer *q = wg_device_find_peer(d, k1);
	CHECK(q != NULL && q != p);
	if (q) {
		CHECK_EQ(q->last_handshake.tv_sec, 1700000000);
		CHECK_EQ(q->last_handshake.tv_nsec, 5000000);
		CHECK_EQ(q->rx_bytes, 148);
		CHECK_EQ(q->tx_bytes, 92);
		CHECK(q->has_endpoint && q->endpoint.port == 4000);
		CHECK_EQ(q->n_allowed, 2);
		CHECK(q->allowed_ips != p->allowed_ips);
		/* independent: changing the snapshot leaves the model */
		q->allowed_ips[0].prefix = 8;
		q->rx_bytes = 0;
		/* and it grows like any snapshot (wg_peer_add_allowed) */
		CHECK(q->allowed_in_block); /* one block for the snapshot */
		for (int i = 0; i < 20; i++)
			CHECK_EQ(wg_peer_add_allowed(q, &p->allowed_ips[1]), 0);
		/* copied out of the block first, what it held kept */
		CHECK(!q->allowed_in_block);
		CHECK_EQ(q->n_allowed, 22);
		CHECK_EQ(q->allowed_ips[0].prefix, 8);
	}
	struct wg_device *d2 = NULL;
	CHECK_EQ(wgdev_get(wg, &d2), 0);
	struct wg_peer *r = d2 ? wg_device_find_peer(d2, k1) : NULL;
	CHECK(r && r->allowed_in_block);
	if (r) {
		CHECK_EQ(wg_peer_set_allowed(r, p->allowed_ips, 1), 0);
		CHECK(!r->allowed_in_block && r->n_allowed == 1);
	}
	wg_device_free(d2);
	CHECK_EQ(p->allowed_ips[0].prefix, 24);
	CHECK_EQ(p->rx_bytes, 148);
	wg_device_free(d);
	wgdev_close(wg);
	wg_mem_free(m);
}

/* wgdev_refresh: the last snapshot updated in place with what the owner
 * wrote and touched; a new one once the configuration moved or another
 * snapshot was taken. Each result is compared with a fresh wgdev_get. */
static bool same_as_fresh(struct wgdev *wg, const struct wg_device *d)
{
	struct wg_device *f = NULL;
	CHECK_EQ(wgdev_get(wg, &f), 0);
	bool same = f && d && f->n_peers == d->n_peers;
	for (size_t i = 0; same && i < d->n_peers; i++) {
		const struct wg_peer *a = &d->peers[i], *b = &f->peers[i];
		same = memcmp(a->public_key, b->public_key, WL_KEY_LEN) == 0 &&
		       a->rx_bytes == b->rx_bytes && a->tx_bytes == b->tx_bytes &&
		       a->last_handshake.tv_sec == b->last_handshake.tv_sec &&
		       a->has_endpoint == b->has_endpoint &&
		       (!a->has_endpoint || wl_endpoint_equal(&a->endpoint, &b->endpoint)) &&
		       a->n_allowed == b->n_allowed;
	}
	wg_device_free(f);
	return same;
}

TEST(refresh_copies_what_moved)
{
	struct wg_mem *m = wg_mem_new("wgm", 7);
	struct wgdev *wg = NULL, *other = NULL;
	CHECK_EQ(wgdev_open_memory(m, &wg), 0);
	CHECK_EQ(wgdev_open_memory(m, &other), 0);
	give(wg, 1, "10.0.1.0/24", NULL);
	give(wg, 2, "10.0.2.0/24", NULL);
	give(wg, 3, NULL, NULL);
	uint8_t k2[WL_KEY_LEN];
	key(k2, 2);
	struct wg_device *d = NULL;
	CHECK_EQ(wgdev_refresh(wg, &d), 0); /* none yet: a whole one */
	CHECK(d != NULL && d->n_peers == 3);
	CHECK(d && !d->same_peers);
	struct wg_device *was = d;
	/* Written and touched: copied into the same snapshot. */
	struct wg_peer *p = wg_mem_find(m, k2);
	p->rx_bytes = 500;
	p->last_handshake = (struct timespec){ 1700000000, 0 };
	p->has_endpoint = true;
	CHECK(wl_endpoint_parse("198.51.100.2:5000", &p->endpoint));
	wg_mem_peer_touch(p);
	wg_mem_peer_touch(p); /* twice is once */
	CHECK_EQ(wgdev_refresh(wg, &d), 0);
	CHECK(d == was);
	CHECK(d && d->peers[1].rx_bytes == 500 && d->peers[1].endpoint.port == 5000);
	/* It says which it wrote: the others are as they were. */
	CHECK(d && d->same_peers && d->n_moved == 1 && d->moved[0] == 1);
	CHECK_EQ(wgdev_refresh(wg, &d), 0); /* nothing touched since */
	CHECK(d == was && d->same_peers && d->n_moved == 0);
	CHECK(same_as_fresh(other, d));
	/* Another handle read the device since: this one reads it anew. */
	p->tx_bytes = 7;
	wg_mem_peer_touch(p);
	CHECK_EQ(wgdev_refresh(wg, &d), 0);
	CHECK(d && d->peers[1].tx_bytes == 7 && !d->same_peers);
	CHECK(same_as_fresh(other, d));
	/* The configuration moved: a whole new snapshot, the peer gone. */
	remove_peer(wg, 1);
	CHECK_EQ(wgdev_refresh(wg, &d), 0);
	CHECK(d && d->n_peers == 2 && d->peers[0].rx_bytes == 500);
	/* A touched peer removed before the next refresh. */
	p = wg_mem_find(m, k2);
	p->rx_bytes = 600;
	wg_mem_peer_touch(p);
	remove_peer(wg, 2);
	CHECK_EQ(wgdev_refresh(wg, &d), 0);
	CHECK(d && d->n_peers == 1);
	CHECK(same_as_fresh(other, d));
	wg_device_free(d);
	wgdev_close(other);
	wgdev_close(wg);
	wg_mem_free(m);
}

/* A prefix belongs to one peer: given to another, it leaves the first;
 * replaced or removed with its peer, it is nobody's. 20,000 random
 * changes over a few peers and 300 prefixes (the model's index of who
 * has which, with its deletions, well exercised), then the model against
 * a plain record of who should have what, and by routing. */
TEST(prefixes_move_between_peers)
{
	struct wg_mem *m = wg_mem_new("wgm", 7);
	struct wgdev *wg = NULL;
	CHECK_EQ(wgdev_open_memory(m, &wg), 0);
	enum { PEERS = 6, PREFIXES = 300 };
	uint8_t owner[PREFIXES] = { 0 }; /* peer key byte, 0 = nobody */
	bool present[PEERS + 1] = { false };
	uint64_t r = 0x5eed;
	for (int step = 0; step < 20000; step++) {
		r = r * 6364136223846793005ull + 1442695040888963407ull;
		uint8_t v = (uint8_t)(1 + (r >> 33) % PEERS);
		unsigned what = (unsigned)(r >> 40) % 10, pfx = (unsigned)(r >> 48) % PREFIXES;
		char s[32];
		snprintf(s, sizeof(s), "10.%u.%u.0/24", pfx / 200, pfx % 200);
		struct wl_cidr c = cidr(s);
		struct wg_peer_change ch = { 0 };
		key(ch.public_key, v);
		if (what == 0) {
			ch.flags = WG_PEER_REMOVE;
			for (unsigned k = 0; k < PREFIXES; k++)
				if (owner[k] == v)
					owner[k] = 0;
			present[v] = false;
		} else if (what == 1) {
			ch.flags = WG_PEER_REPLACE_ALLOWED_IPS;
			ch.n_allowed = 1;
			ch.allowed_ips = &c;
			for (unsigned k = 0; k < PREFIXES; k++)
				if (owner[k] == v)
					owner[k] = 0;
			owner[pfx] = v;
			present[v] = true;
		} else {
			ch.n_allowed = 1;
			ch.allowed_ips = &c;
			owner[pfx] = v;
			present[v] = true;
		}
		CHECK_EQ(wgdev_apply(wg, &ch, 1), 0);
	}
	size_t held = 0, want = 0;
	for (uint8_t v = 1; v <= PEERS; v++) {
		uint8_t k[WL_KEY_LEN];
		key(k, v);
		const struct wg_peer *p = wg_mem_find(m, k);
		CHECK(present[v] == (p != NULL));
		held += p ? p->n_allowed : 0;
	}
	for (unsigned k = 0; k < PREFIXES; k++) {
		char a[32];
		snprintf(a, sizeof(a), "10.%u.%u.2", k / 200, k % 200);
		CHECK_EQ(routed(m, a), owner[k]);
		want += owner[k] != 0;
	}
	CHECK_EQ(held, want); /* and no prefix twice */
	wgdev_close(wg);
	wg_mem_free(m);
}

TEST(route_is_longest_prefix_over_all_peers)
{
	struct wg_mem *m = wg_mem_new("wgm", 7);
	struct wgdev *wg = NULL;
	CHECK_EQ(wgdev_open_memory(m, &wg), 0);
	CHECK_EQ(routed(m, "10.0.0.1"), 0);
	give(wg, 1, "0.0.0.0/0", "::/0");
	give(wg, 2, "10.0.0.0/8", "fd00::/16");
	give(wg, 3, "10.1.0.0/16", "fd00:1::1/128");
	give(wg, 4, "10.1.2.3/32", NULL);
	CHECK_EQ(routed(m, "192.0.2.1"), 1);
	CHECK_EQ(routed(m, "10.9.9.9"), 2);
	CHECK_EQ(routed(m, "10.1.9.9"), 3);
	CHECK_EQ(routed(m, "10.1.2.3"), 4);
	CHECK_EQ(routed(m, "10.1.2.4"), 3);
	CHECK_EQ(routed(m, "fd00:1::1"), 3);
	CHECK_EQ(routed(m, "fd00:1::2"), 2);
	CHECK_EQ(routed(m, "2001:db8::1"), 1);
	/* a prefix moves with the last peer given it; the table follows */
	give(wg, 2, "10.1.2.3/32", NULL);
	CHECK_EQ(routed(m, "10.1.2.3"), 2);
	remove_peer(wg, 3);
	CHECK_EQ(routed(m, "10.1.9.9"), 2);
	CHECK_EQ(routed(m, "fd00:1::1"), 2);
	/* host bits are masked off on the way in */
	give(wg, 5, "172.16.5.77/16", NULL);
	CHECK_EQ(routed(m, "172.16.200.1"), 5);
	/* many host routes (the hash table grows) */
	for (int i = 0; i < 300; i++) {
		char s[32];
		snprintf(s, sizeof(s), "100.64.%d.%d/32", i / 200, i % 200);
		give(wg, (uint8_t)(10 + i % 200), s, NULL);
	}
	CHECK_EQ(routed(m, "100.64.1.99"), 10 + 299 % 200);
	CHECK_EQ(routed(m, "100.64.0.7"), 17);
	wgdev_close(wg);
	wg_mem_free(m);
}

TEST(handles_and_lifetime)
{
	struct wgdev *wg = (struct wgdev *)1;
	CHECK_EQ(wgdev_open("wgm", WGDEV_MEMORY, &wg), -EINVAL);
	CHECK(wg == NULL);
	enum wgdev_backend b;
	CHECK(wgdev_backend_parse("memory", &b) && b == WGDEV_MEMORY);
	CHECK_STR(wgdev_backend_name(WGDEV_MEMORY), "memory");
	CHECK(wg_mem_new("", 1) == NULL);
	CHECK(wg_mem_new("0123456789abcdef", 1) == NULL);
	wg_mem_free(NULL);

	struct wg_mem *m = wg_mem_new("wgm", 0);
	struct wgdev *h1 = NULL, *h2 = NULL;
	CHECK_EQ(wgdev_open_memory(m, &h1), 0);
	CHECK_EQ(wgdev_open_memory(m, &h2), 0);
	CHECK_EQ(wgdev_backend_of(h1), WGDEV_MEMORY);
	give(h1, 1, NULL, NULL);
	wgdev_close(h1); /* the model stays */
	struct wg_device *d = NULL;
	CHECK_EQ(wgdev_get(h2, &d), 0);
	CHECK(d && d->n_peers == 1);
	CHECK(d && d->ifindex == 0); /* its own, not a host interface's */
	wg_device_free(d);
	CHECK_EQ(wgdev_set_device(h2, NULL, 4242), 0);
	CHECK_EQ(wg_mem_listen_port(m), 4242);
	CHECK_STR(wg_mem_name(m), "wgm");
	/* The model freed under an open handle: like a deleted interface. */
	wg_mem_free(m);
	d = (struct wg_device *)1;
	CHECK_EQ(wgdev_get(h2, &d), -ENODEV);
	CHECK(d == NULL);
	struct wg_peer_change ch = { .flags = 0 };
	CHECK_EQ(wgdev_apply(h2, &ch, 1), -ENODEV);
	CHECK_EQ(wgdev_set_device(h2, NULL, 1), -ENODEV);
	wgdev_close(h2);
}
