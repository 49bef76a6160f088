/* Two engines talking directly: A's datagrams are fed into B and back. */
#include <string.h>

#include "core_fixture.h"
#include "harness.h"
#include "wire/autoaddr.h"

static const char *const A_ETH[] = { "192.0.2.1/24", NULL };
static const char *const B_ETH[] = { "198.51.100.2/24", NULL };
static const char *const A_WG[] = { "10.99.0.1/24", NULL };
static const char *const B_WG[] = { "10.99.0.2/24", NULL };

static void setup_pair(struct tnode *a, struct tnode *b, int64_t now)
{
	tnode_config(a, 1);
	tnode_config(b, 2);
	tnode_iface(a, "eth0", true, true, A_ETH);
	tnode_iface(a, "wg0", true, true, A_WG);
	tnode_iface(b, "eth0", true, true, B_ETH);
	tnode_iface(b, "wg0", true, true, B_WG);
	tnode_dev_peer(a, b->pub, "198.51.100.2:51820", now);
	tnode_dev_peer(b, a->pub, "192.0.2.1:51820", now);
	tnode_start(a, now);
	tnode_start(b, now);
}

TEST(pair_first_exchange)
{
	struct tnode a, b;
	int64_t t = 1000;
	setup_pair(&a, &b, t);
	tnode_tick(&a, t);
	int facts;
	bool alive;
	CHECK_EQ(tsent_to(&a, b.pub, &facts, &alive), 1);
	CHECK(alive);
	CHECK(facts >= 2);
	CHECK(a.act->send[0].port == 51821);
	struct wl_addr want;
	autoaddr_of(b.pub, &want);
	CHECK(wl_addr_equal(&a.act->send[0].dst, &want));
	/* B has not ticked yet: it does not know A is in its device. */
	CHECK_EQ(tdeliver(&a, &b, t + 10), 1);
	CHECK(!thas_fact(b.e, ATTR_ENDPOINT_V4, a.pub, "192.0.2.1:51820"));
	/* After a tick B sees A in its device: endpoints are trusted. */
	tnode_tick(&b, t + 20);
	CHECK_EQ(tdeliver(&a, &b, t + 30), 1);
	CHECK(thas_fact(b.e, ATTR_ENDPOINT_V4, a.pub, "192.0.2.1:51820"));
	/* A is not a router in B's device, so its AllowedCidr is refused. */
	CHECK(!thas_fact(b.e, ATTR_ALLOWED_V4, a.pub, "10.99.0.0/24"));
	CHECK(engine_get_stats(b.e)->rx_untrusted >= 1);
	struct engine_peer_info pi;
	CHECK(engine_peer_info(b.e, a.pub, t + 30, &pi));
	CHECK(pi.alive);
	uint8_t boot[BOOT_ID_LEN];
	engine_boot_id(a.e, boot);
	CHECK_MEM(pi.boot_id, boot, BOOT_ID_LEN);
	tnode_free(&a);
	tnode_free(&b);
}

TEST(pair_router_trusted_for_allowed_ips)
{
	struct tnode a, b;
	int64_t t = 1000;
	setup_pair(&a, &b, t);
	/* In B's device A routes 10.99.0.0/24: A is a router, trusted for
	 * Membership by route (no Trust anywhere in the config). */
	tnode_allow(&b, a.pub, "10.99.0.0/24");
	tnode_tick(&b, t);
	CHECK(!engine_is_router(b.e));
	tnode_tick(&a, t);
	CHECK(engine_is_router(a.e));
	tdeliver(&a, &b, t + 1);
	CHECK(thas_fact(b.e, ATTR_ALLOWED_V4, a.pub, "10.99.0.0/24"));
	tnode_free(&a);
	tnode_free(&b);
}

TEST(pair_no_resend_of_known_facts)
{
	struct tnode a, b;
	int64_t t = 1000;
	setup_pair(&a, &b, t);
	tnode_tick(&a, t);
	int f1, f2;
	bool al;
	tsent_to(&a, b.pub, &f1, &al);
	CHECK(f1 > 0);
	tnode_tick(&a, t + 5000);
	CHECK_EQ(tsent_to(&a, b.pub, &f2, &al), 0);
	tnode_free(&a);
	tnode_free(&b);
}

TEST(pair_converges_and_both_sides_know_each_other)
{
	struct tnode a, b;
	int64_t t = 1000;
	setup_pair(&a, &b, t);
	for (int i = 0; i < 6; i++, t += 5000) {
		tnode_handshakes(&a, t);
		tnode_handshakes(&b, t);
		tnode_tick(&a, t);
		tnode_tick(&b, t);
		tdeliver(&a, &b, t + 1);
		tdeliver(&b, &a, t + 1);
	}
	CHECK(thas_fact(a.e, ATTR_ENDPOINT_V4, b.pub, "198.51.100.2:51820"));
	CHECK(thas_fact(b.e, ATTR_ENDPOINT_V4, a.pub, "192.0.2.1:51820"));
	struct engine_peer_info pi;
	CHECK(engine_peer_info(a.e, b.pub, t, &pi) && pi.alive && pi.healthy);
	CHECK(engine_peer_info(b.e, a.pub, t, &pi) && pi.alive && pi.healthy);
	/* Auto addresses are in AllowedIPs on both sides. */
	char buf[WL_ADDR_STR_MAX + 8];
	struct wl_addr aa;
	autoaddr_of(b.pub, &aa);
	wl_addr_str(&aa, buf);
	strcat(buf, "/128");
	CHECK(tnode_has_allowed(tnode_find(&a, b.pub), buf));
	const struct engine_stats *s = engine_get_stats(b.e);
	CHECK_EQ(s->rx_bad_sig + s->rx_bad_source + s->rx_parse, 0);
	tnode_free(&a);
	tnode_free(&b);
}

/* Handshakes "succeed" wherever a device has a peer with an endpoint and
 * that peer has us (a stand-in for WireGuard; the simulator does it
 * properly with NATs and loss). */
static void handshakes(struct tnode **nodes, int k, int64_t now)
{
	for (int i = 0; i < k; i++)
		for (size_t j = 0; j < wg_mem_peer_count(nodes[i]->mem); j++) {
			struct wg_peer *p = wg_mem_peer_at(nodes[i]->mem, j);
			int64_t hs = ENGINE_NEVER;
			for (int o = 0; o < k; o++)
				if (o != i && memcmp(nodes[o]->pub, p->public_key, 32) == 0 &&
				    p->has_endpoint && tnode_find(nodes[o], nodes[i]->pub))
					hs = now;
			tnode_handshake(nodes[i], p->public_key, hs);
		}
}

TEST(hub_and_two_leaves_go_direct)
{
	static const char *const h_eth[] = { "192.0.2.1/24", NULL };
	static const char *const h_wg[] = { "10.99.0.1/24", NULL };
	static const char *const l1_eth[] = { "198.51.100.2/24", NULL };
	static const char *const l1_wg[] = { "10.99.0.2/24", NULL };
	static const char *const l2_eth[] = { "203.0.113.3/24", NULL };
	static const char *const l2_wg[] = { "10.99.0.3/24", NULL };
	struct tnode h, l1, l2;
	struct tnode *all[3] = { &h, &l1, &l2 };
	tnode_config(&h, 1);
	tnode_config(&l1, 2);
	tnode_config(&l2, 3);
	tnode_iface(&h, "eth0", true, true, h_eth);
	tnode_iface(&h, "wg0", true, true, h_wg);
	tnode_iface(&l1, "eth0", true, true, l1_eth);
	tnode_iface(&l1, "wg0", true, true, l1_wg);
	tnode_iface(&l2, "eth0", true, true, l2_eth);
	tnode_iface(&l2, "wg0", true, true, l2_wg);
	/* wg-quick style: the hub knows both leaves, each leaf only the hub. */
	tnode_dev_peer(&h, l1.pub, "198.51.100.2:51820", ENGINE_NEVER);
	tnode_allow(&h, l1.pub, "10.99.0.2/32");
	tnode_dev_peer(&h, l2.pub, "203.0.113.3:51820", ENGINE_NEVER);
	tnode_allow(&h, l2.pub, "10.99.0.3/32");
	tnode_dev_peer(&l1, h.pub, "192.0.2.1:51820", ENGINE_NEVER);
	tnode_allow(&l1, h.pub, "10.99.0.0/24");
	tnode_dev_peer(&l2, h.pub, "192.0.2.1:51820", ENGINE_NEVER);
	tnode_allow(&l2, h.pub, "10.99.0.0/24");
	for (int i = 0; i < 3; i++)
		tnode_start(all[i], 0);
	int64_t t = 0, direct_at = -1;
	for (; t <= 120000 && direct_at < 0; t += 1000) {
		handshakes(all, 3, t);
		for (int i = 0; i < 3; i++)
			if (engine_next_deadline(all[i]->e) <= t) {
				struct wg_device *before = NULL;
				CHECK_EQ(wgdev_get(all[i]->wg, &before), 0);
				tnode_tick(all[i], t);
				/* Only additions may create; updates never re-create. */
				for (size_t c = 0; before && c < all[i]->act->n_changes; c++) {
					const struct engine_change *ch = &all[i]->act->changes[c];
					bool existed = wg_device_find_peer(before, ch->key) != NULL;
					CHECK(existed == !!(ch->flags & ENGINE_CHANGE_UPDATE_ONLY));
				}
				wg_device_free(before);
				for (int j = 0; j < 3; j++)
					if (j != i)
						tdeliver(all[i], all[j], t);
			}
		struct wg_peer *p = tnode_find(&l1, l2.pub);
		if (p && tnode_has_allowed(p, "10.99.0.3/32") && p->has_endpoint)
			direct_at = t;
	}
	CHECK(engine_is_router(h.e));
	CHECK(!engine_is_router(l1.e) && !engine_is_router(l2.e));
	CHECK_MSG(direct_at >= 0, "leaf 1 never went direct to leaf 2");
	struct wg_peer *p = tnode_find(&l1, l2.pub);
	char buf[WL_ENDPOINT_STR_MAX];
	CHECK(p && p->has_endpoint);
	if (p && p->has_endpoint)
		CHECK_STR(wl_endpoint_str(&p->endpoint, buf), "203.0.113.3:51820");
	p = tnode_find(&l2, l1.pub);
	CHECK(p && p->has_endpoint);
	printf("# leaves direct after %lld ms of virtual time\n", (long long)direct_at);
	for (int i = 0; i < 3; i++)
		tnode_free(all[i]);
}
