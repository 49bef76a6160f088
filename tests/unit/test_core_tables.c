/* The bounded tables under the engine: hash index, fact set, knowledge,
 * peer table. */
#include <stdlib.h>
#include <string.h>

#include "core/factset.h"
#include "core/hidx.h"
#include "core/knowledge.h"
#include "core/peerstate.h"
#include "core_fixture.h"
#include "harness.h"

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

struct arr {
	uint64_t keys[4096];
	size_t n;
};

/* The hashes are the keys here, so an equal hash is the entry. */
static bool eq_pos(const void *ctx, uint32_t pos)
{
	(void)ctx;
	(void)pos;
	return true;
}

TEST(hidx_matches_a_naive_model)
{
	struct hidx x;
	struct arr a = { .n = 0 };
	uint64_t s = harness_seed() | 1;
	CHECK_EQ(hidx_init(&x, 4), 0);
	for (int step = 0; step < 20000; step++) {
		uint64_t r = xs(&s);
		/* Small key space with colliding low bits, to stress probing. */
		uint64_t k = (r % 300) << 20 | (r % 7);
		long pos = -1;
		for (size_t i = 0; i < a.n; i++)
			if (a.keys[i] == k)
				pos = (long)i;
		long got = hidx_find(&x, k, eq_pos, NULL);
		CHECK_EQ(got, pos);
		if (got != pos)
			break;
		if (pos < 0 && a.n < 4096) {
			CHECK_EQ(hidx_insert(&x, k, (uint32_t)a.n), 0);
			a.keys[a.n++] = k;
		} else if (pos >= 0 && (r >> 40) % 2) {
			/* swap-remove, as the tables do */
			hidx_remove(&x, k, (uint32_t)pos);
			size_t last = a.n - 1;
			if ((size_t)pos != last) {
				a.keys[pos] = a.keys[last];
				hidx_move(&x, a.keys[pos], (uint32_t)last, (uint32_t)pos);
			}
			a.n--;
		}
		CHECK_EQ(x.n, a.n);
	}
	hidx_free(&x);
}

static void ep_fact(struct fact *f, int i)
{
	uint8_t subj[32] = { 1 };
	struct wl_endpoint ep;
	memset(&ep, 0, sizeof(ep));
	uint8_t v4[4] = { 192, 0, 2, (uint8_t)i };
	wl_addr_from_v4(&ep.addr, v4);
	ep.port = (uint16_t)(1000 + i);
	fact_make_endpoint(f, subj, &ep, 0);
}

TEST(factset_merge_and_evict_soonest_expiring)
{
	struct factset s;
	uint8_t hk[16] = { 3 };
	CHECK_EQ(factset_init(&s, 4, hk), 0);
	struct fact f;
	for (int i = 0; i < 4; i++) {
		ep_fact(&f, i);
		CHECK_EQ(factset_put(&s, &f, 1000 + i * 10, false), FACTSET_NEW);
	}
	ep_fact(&f, 1);
	CHECK_EQ(factset_put(&s, &f, 500, false), FACTSET_SAME);
	CHECK_EQ(factset_put(&s, &f, 5000, false), FACTSET_EXTENDED);
	CHECK_EQ(factset_find(&s, &f)->expires, 5000);
	/* Full: the new one evicts fact 0 (expires soonest). */
	ep_fact(&f, 9);
	CHECK_EQ(factset_put(&s, &f, 900, false), FACTSET_NEW);
	CHECK_EQ(s.n, 4);
	CHECK_EQ(s.evicted, 1);
	ep_fact(&f, 0);
	CHECK(factset_find(&s, &f) == NULL);
	ep_fact(&f, 9);
	CHECK(factset_find(&s, &f) != NULL);
	/* Local facts are never evicted for received ones. */
	factset_begin_local(&s);
	for (int i = 20; i < 24; i++) {
		ep_fact(&f, i);
		factset_put(&s, &f, 100, true);
	}
	ep_fact(&f, 30);
	CHECK_EQ(factset_put(&s, &f, 100000, false), FACTSET_FULL);
	factset_end_local(&s, 0);
	/* A rebuild without them drops them at once. */
	factset_begin_local(&s);
	factset_end_local(&s, 0);
	CHECK_EQ(s.n, 0);
	factset_free(&s);
}

TEST(alive_key_ignores_value)
{
	uint8_t hk[16] = { 5 }, subj[32] = { 2 }, b1[BOOT_ID_LEN] = { 1 }, b2[BOOT_ID_LEN] = { 2 };
	struct fact a, b;
	fact_make_alive(&a, subj, b1, 10);
	fact_make_alive(&b, subj, b2, 20);
	CHECK(fact_key_hash(hk, &a) == fact_key_hash(hk, &b));
	ep_fact(&a, 1);
	ep_fact(&b, 2);
	CHECK(fact_key_hash(hk, &a) != fact_key_hash(hk, &b));
}

TEST(knowledge_bounded)
{
	struct knowledge k;
	uint64_t dropped = 0;
	knowledge_init(&k);
	CHECK_EQ(knowledge_get(&k, 42), INT64_MIN);
	for (uint64_t h = 1; h <= 100; h++)
		knowledge_put(&k, h * 0x9e3779b97f4a7c15ull, (int64_t)h < 50 ? 10 : 1000, 0, 100, &dropped);
	CHECK_EQ(k.n, 100);
	CHECK_EQ(dropped, 0);
	knowledge_put(&k, 7, 1000, 0, 100, &dropped);
	CHECK_EQ(dropped, 1); /* full of live entries: not remembered */
	knowledge_put(&k, 7, 1000, 20, 100, &dropped);
	CHECK_EQ(dropped, 1); /* at 20 the first 49 expired: room again */
	CHECK_EQ(knowledge_get(&k, 7), 1000);
	CHECK_EQ(knowledge_get(&k, 60 * 0x9e3779b97f4a7c15ull), 1000);
	knowledge_put(&k, 7, 500, 20, 100, &dropped);
	CHECK_EQ(knowledge_get(&k, 7), 1000); /* keeps the later expiry */
	knowledge_forget(&k, 7);
	CHECK_EQ(knowledge_get(&k, 7), INT64_MIN);
	CHECK_EQ(knowledge_get(&k, 60 * 0x9e3779b97f4a7c15ull), 1000);
	knowledge_clear(&k);
	CHECK_EQ(knowledge_get(&k, 60 * 0x9e3779b97f4a7c15ull), INT64_MIN);
	knowledge_free(&k);
}

TEST(peer_table_evicts_strangers_only)
{
	struct peertab t;
	uint8_t hk[16] = { 9 }, key[32] = { 0 };
	CHECK_EQ(peertab_init(&t, 3, hk), 0);
	for (int i = 0; i < 3; i++) {
		key[0] = (uint8_t)i;
		struct peer *p = peertab_get(&t, key, i);
		CHECK(p != NULL);
		if (p && i == 0)
			p->cfg = 0; /* configured: never evicted */
	}
	key[0] = 10;
	CHECK(peertab_get(&t, key, 10) != NULL);
	CHECK_EQ(t.evicted, 1);
	key[0] = 1; /* the least recently seen stranger went */
	CHECK(peertab_find(&t, key) == NULL);
	key[0] = 0;
	CHECK(peertab_find(&t, key) != NULL);
	/* All protected: refused. */
	for (size_t i = 0; i < t.n; i++)
		t.v[i]->in_device = true;
	key[0] = 11;
	CHECK(peertab_get(&t, key, 11) == NULL);
	CHECK_EQ(t.refused, 1);
	peertab_free(&t);
}

static void count_peer(void *ctx, const struct engine_peer_info *p)
{
	(void)p;
	(*(size_t *)ctx)++;
}

TEST(engine_caps_hold_under_a_flood)
{
	/* A router peer floods 2000 member facts; the engine keeps 64. */
	struct tnode n;
	uint8_t ppriv[32], ppub[32];
	tkey(2, ppriv, ppub);
	tnode_config(&n, 1);
	n.cfg.max_facts = 64;
	n.cfg.max_peers = 32;
	n.cfg.router = WL_NO;
	tnode_dev_peer(&n, ppub, "192.0.2.2:51820", 0);
	tnode_allow(&n, ppub, "10.0.0.0/8");
	tnode_start(&n, 0);
	tnode_tick(&n, 0);
	for (int b = 0; b < 100; b++) {
		struct fact f[20];
		for (int i = 0; i < 20; i++) {
			uint8_t subj[32] = { 0x77, (uint8_t)b, (uint8_t)i };
			fact_make_member_meta(&f[i], subj, NULL, -1, 200);
		}
		uint8_t buf[WIRE_MAX_DATAGRAM];
		size_t len = tseal(ppriv, n.pub, f, 20, buf, sizeof(buf));
		CHECK_EQ(treceive(&n, 10 + b, ppub, buf, len), ENGINE_RX_OK);
	}
	CHECK(engine_fact_count(n.e) <= 64);
	tnode_tick(&n, 1000);
	const struct engine_stats *st = engine_get_stats(n.e);
	CHECK(st->facts_evicted > 0);
	CHECK(st->peers_evicted + st->peers_refused > 0);
	size_t peers = 0;
	engine_foreach_peer(n.e, 1000, count_peer, &peers);
	CHECK(peers <= 32);
	CHECK(n.act->n_changes <= 32);
	tnode_free(&n);
}

static void dump_to_file(void *ctx, const char *text)
{
	fprintf(ctx, "%s\n", text);
}

TEST(dump_lists_facts_peers_and_counters)
{
	struct tnode n;
	uint8_t ppriv[32], ppub[32];
	static const char *const eth[] = { "192.0.2.1/24", NULL };
	tkey(2, ppriv, ppub);
	tnode_config(&n, 1);
	tnode_iface(&n, "eth0", true, true, eth);
	tnode_dev_peer(&n, ppub, "192.0.2.2:51820", 0);
	tnode_start(&n, 0);
	tnode_tick(&n, 0);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	engine_dump(n.e, 0, dump_to_file, f);
	fclose(f);
	CHECK(strstr(text, "192.0.2.1:51820") != NULL);
	CHECK(strstr(text, "EndpointV4") != NULL);
	CHECK(strstr(text, "peers (1)") != NULL);
	CHECK(strstr(text, "stats:") != NULL);
	free(text);
	tnode_free(&n);
}
