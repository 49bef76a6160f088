/* The bounded tables under the engine: hash index, fact set, knowledge,
 * peer table; the actions a tick leaves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "core/engine_internal.h"
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

/* Datagrams' bytes lie one after the other, across blocks, and stay put
 * while more are added; a cleared list starts again at the first block. */
TEST(actions_keep_each_datagram_in_place)
{
	struct engine_actions a;
	engine_actions_init(&a);
	uint64_t seed = 7;
	for (int round = 0; round < 2; round++) {
		size_t n = 600; /* over 300 kB at the largest: several blocks */
		for (size_t i = 0; i < n; i++) {
			struct engine_datagram *d = engine_actions_add_send(&a);
			CHECK(d != NULL);
			if (!d)
				return;
			d->len = (uint16_t)(1 + xs(&seed) % WIRE_MAX_DATAGRAM);
			memset(d->data, (int)(i & 0xff), d->len);
		}
		CHECK_EQ(a.n_send, n);
		CHECK_EQ(a.dropped, 0);
		bool intact = true;
		for (size_t i = 0; i < n; i++) {
			const struct engine_datagram *d = &a.send[i];
			for (size_t k = 0; k < d->len; k++)
				intact = intact && d->data[k] == (uint8_t)(i & 0xff);
			if (i)
				intact = intact && (d->data != a.send[i - 1].data);
		}
		CHECK(intact);
		size_t blocks = a.n_blocks_;
		CHECK(blocks >= 2);
		engine_actions_clear(&a);
		CHECK_EQ(a.n_send, 0);
		if (round == 1)
			CHECK_EQ(a.n_blocks_, blocks); /* reused, not grown again */
	}
	engine_actions_free(&a);
}

/* Events' texts lie one after the other, across blocks, and stay put
 * while more are added (a long one cut at ENGINE_EVENT_TEXT_MAX); untold
 * actions keep kind and peer with an empty text. */
TEST(actions_keep_each_event_text_in_place)
{
	struct engine_actions a;
	engine_actions_init(&a);
	uint8_t key[WL_KEY_LEN] = { 2 };
	char long_text[2 * ENGINE_EVENT_TEXT_MAX];
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	for (int round = 0; round < 2; round++) {
		size_t n = 400; /* about 40 kB of texts: several blocks */
		for (size_t i = 0; i < n; i++) {
			if (i % 7 == 0)
				engine_actions_event(&a, ENGINE_EV_ALIVE, key, "%s", long_text);
			else
				engine_actions_event(&a, ENGINE_EV_ALIVE, i % 2 ? key : NULL,
						     "peer %zu of round %d", i, round);
		}
		CHECK_EQ(a.n_events, n);
		CHECK_EQ(a.dropped, 0);
		CHECK(a.n_texts_ >= 2);
		bool intact = true;
		for (size_t i = 0; i < n; i++) {
			char want[ENGINE_EVENT_TEXT_MAX];
			if (i % 7 == 0)
				intact = intact && strlen(a.events[i].text) == ENGINE_EVENT_TEXT_MAX - 1 &&
					 a.events[i].text[0] == 'x';
			else {
				snprintf(want, sizeof(want), "peer %zu of round %d", i, round);
				intact = intact && strcmp(a.events[i].text, want) == 0 &&
					 a.events[i].has_peer == (i % 2 == 1);
			}
		}
		CHECK(intact);
		size_t blocks = a.n_texts_;
		engine_actions_clear(&a);
		CHECK_EQ(a.n_events, 0);
		if (round == 1)
			CHECK_EQ(a.n_texts_, blocks); /* reused, not grown again */
	}
	a.untold = true;
	engine_actions_clear(&a);
	CHECK(a.untold); /* the owner's setting outlives a clear */
	ENGINE_EVENT(&a, ENGINE_EV_DEAD, key, "peer %s", "never formatted");
	CHECK_EQ(a.n_events, 1);
	CHECK(a.events[0].kind == ENGINE_EV_DEAD && a.events[0].has_peer);
	CHECK(memcmp(a.events[0].peer, key, WL_KEY_LEN) == 0);
	CHECK_EQ(strcmp(a.events[0].text, ""), 0);
	engine_actions_free(&a);
}

/* A burst's arrays and blocks are given back at a clear that used little
 * of them; a tick that uses as much each time keeps what it has. */
TEST(actions_give_back_what_a_burst_grew)
{
	struct engine_actions a;
	engine_actions_init(&a);
	uint8_t key[WL_KEY_LEN] = { 1 };
	for (size_t i = 0; i < 4000; i++) {
		struct engine_datagram *d = engine_actions_add_send(&a);
		CHECK(d != NULL);
		if (d)
			d->len = WIRE_MAX_DATAGRAM;
		engine_actions_event(&a, ENGINE_EV_PEER_ADD, key, "event %zu", i);
		CHECK(engine_actions_add_change(&a, key, 0, NULL, 0) != NULL);
	}
	size_t blocks = a.n_blocks_;
	CHECK(blocks > 8);
	engine_actions_clear(&a); /* the burst's own clear: kept */
	CHECK_EQ(a.n_blocks_, blocks);
	CHECK(a.cap_events >= 4000 && a.cap_send >= 4000 && a.cap_changes >= 4000);
	engine_actions_event(&a, ENGINE_EV_PEER_ADD, key, "one");
	CHECK(engine_actions_add_send(&a) != NULL);
	engine_actions_clear(&a); /* a quiet tick's: given back */
	CHECK(a.n_blocks_ <= 8); /* halved while under an eighth used */
	CHECK(a.cap_events <= 64 && a.cap_send <= 64 && a.cap_changes <= 64);
	/* Still usable, and growing again as before. */
	for (size_t i = 0; i < 300; i++) {
		struct engine_datagram *d = engine_actions_add_send(&a);
		CHECK(d != NULL);
		if (d)
			d->len = 1;
		CHECK(engine_actions_add_change(&a, key, 0, NULL, 0) != NULL);
	}
	CHECK_EQ(a.n_send, 300);
	CHECK_EQ(a.n_changes, 300);
	CHECK_EQ(a.dropped, 0);
	engine_actions_free(&a);
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

/* An Endpoint fact: subject number subj, endpoint number i. */
static void ep_fact_about(struct fact *f, int subj, int i)
{
	uint8_t key[32] = { 1, (uint8_t)subj, (uint8_t)(subj >> 8) };
	struct wl_endpoint ep;
	memset(&ep, 0, sizeof(ep));
	uint8_t v4[4] = { 192, 0, (uint8_t)(i >> 8), (uint8_t)i };
	wl_addr_from_v4(&ep.addr, v4);
	ep.port = (uint16_t)(1000 + i);
	fact_make_endpoint(f, key, &ep, 0);
}

static void member_fact_about(struct fact *f, int subj)
{
	memset(f, 0, sizeof(*f));
	f->attr = ATTR_MEMBER_META;
	f->subject[0] = 2;
	f->subject[1] = (uint8_t)subj;
	f->subject[2] = (uint8_t)(subj >> 8);
}

static const struct fact_source SRC_A = { 0xa1, TRUST_ENDPOINT, false, NULL };
static const struct fact_source SRC_B = { 0xb1, TRUST_ENDPOINT, false, NULL };
static const struct fact_source SRC_HUB = { 0xc1, TRUST_MEMBERSHIP, true, NULL };

/* Every source's list holds exactly the entries that name it, in both
 * directions, and its count says how many. */
static bool shares_consistent(const struct factset *s)
{
	size_t listed = 0;
	for (size_t p = 0; p < s->n_src; p++) {
		const struct fsource *r = &s->src[p];
		size_t n = 0;
		int32_t prev = -1;
		for (int32_t i = r->head; i != -1; i = s->v[i].src_next) {
			if (i < 0 || (size_t)i >= s->n || s->v[i].src != r->id || s->v[i].src_prev != prev ||
			    n > s->n)
				return false;
			prev = i;
			n++;
		}
		if (n != r->count || r->tail != prev || !n)
			return false;
		listed += n;
	}
	size_t owned = 0;
	for (size_t i = 0; i < s->n; i++)
		owned += s->v[i].src != 0;
	return owned == listed;
}

TEST(factset_merges_and_extends)
{
	struct factset s;
	uint8_t hk[16] = { 3 };
	CHECK_EQ(factset_init(&s, 64, hk, NULL), 0);
	struct fact f;
	for (int i = 0; i < 4; i++) {
		ep_fact_about(&f, 1, i);
		CHECK_EQ(factset_put(&s, &f, 1000 + i * 10, 0, &SRC_A), FACTSET_NEW);
	}
	ep_fact_about(&f, 1, 1);
	CHECK_EQ(factset_put(&s, &f, 500, 0, &SRC_A), FACTSET_SAME);
	CHECK_EQ(factset_put(&s, &f, 5000, 0, &SRC_B), FACTSET_EXTENDED);
	CHECK_EQ(factset_find(&s, &f)->expires, 5000);
	/* B is no more trusted than A: A keeps it. */
	CHECK_EQ(factset_find(&s, &f)->src, SRC_A.id);
	CHECK_EQ(factset_source(&s, SRC_A.id)->count, 4);
	CHECK(factset_source(&s, SRC_B.id) == NULL);
	/* The hub is: it takes the fact over, and A's share shrinks. */
	CHECK_EQ(factset_put(&s, &f, 5000, 0, &SRC_HUB), FACTSET_SAME);
	CHECK_EQ(factset_find(&s, &f)->src, SRC_HUB.id);
	CHECK_EQ(factset_source(&s, SRC_A.id)->count, 3);
	CHECK_EQ(factset_source(&s, SRC_HUB.id)->count, 1);
	CHECK(shares_consistent(&s));
	factset_free(&s);
}

TEST(factset_full_a_source_only_pushes_out_its_own)
{
	struct factset s;
	uint8_t hk[16] = { 3 };
	struct factset_limits lim;
	factset_limits_default(&lim);
	lim.local_reserve = 2;
	CHECK_EQ(factset_init(&s, 10, hk, &lim), 0);
	struct fact f;
	/* A holds 4, B 4: the 8 entries received facts may use. */
	for (int i = 0; i < 4; i++) {
		ep_fact_about(&f, 1, i);
		CHECK_EQ(factset_put(&s, &f, 1000, 0, &SRC_A), FACTSET_NEW);
		ep_fact_about(&f, 2, i);
		CHECK_EQ(factset_put(&s, &f, 1000, 0, &SRC_B), FACTSET_NEW);
	}
	/* A refreshes its first: its second is now the least recently told. */
	ep_fact_about(&f, 1, 0);
	CHECK_EQ(factset_put(&s, &f, 2000, 0, &SRC_A), FACTSET_EXTENDED);
	ep_fact_about(&f, 1, 9);
	CHECK_EQ(factset_put(&s, &f, 1000, 0, &SRC_A), FACTSET_NEW);
	CHECK_EQ(s.evicted, 1);
	ep_fact_about(&f, 1, 1);
	CHECK(factset_find(&s, &f) == NULL);
	ep_fact_about(&f, 1, 0);
	CHECK(factset_find(&s, &f) != NULL);
	/* The hub holds nothing yet, and may take nobody's place, however
	 * trusted: its fact is dropped, B's stay. */
	ep_fact_about(&f, 3, 0);
	CHECK_EQ(factset_put(&s, &f, 1000, 0, &SRC_HUB), FACTSET_FULL);
	CHECK_EQ(factset_source(&s, SRC_B.id)->count, 4);
	/* Our own facts use the reserve, and are never pushed out. */
	factset_begin_local(&s);
	for (int i = 0; i < 2; i++) {
		ep_fact_about(&f, 7, i);
		CHECK_EQ(factset_put(&s, &f, 100, 0, NULL), FACTSET_NEW);
	}
	ep_fact_about(&f, 7, 2);
	CHECK_EQ(factset_put(&s, &f, 100, 0, NULL), FACTSET_FULL);
	factset_end_local(&s, 0);
	CHECK_EQ(s.n, 10);
	/* A rebuild without them drops them at once. */
	factset_begin_local(&s);
	factset_end_local(&s, 0);
	CHECK_EQ(s.n, 8);
	CHECK(shares_consistent(&s));
	factset_free(&s);
}

/* A rebuild of our own facts that puts the same ones keeps them as they
 * were (and skips its walk); one that leaves one out drops our copy at
 * once, and a peer's copy of it stays with the expiry the peer gave. */
TEST(factset_local_rebuilds)
{
	struct factset s;
	uint8_t hk[16] = { 5 };
	CHECK_EQ(factset_init(&s, 64, hk, NULL), 0);
	struct fact a, b, c;
	ep_fact_about(&a, 1, 0);
	ep_fact_about(&b, 2, 0);
	ep_fact_about(&c, 3, 0);
	CHECK_EQ(factset_put(&s, &c, 500, 0, &SRC_A), FACTSET_NEW);
	for (int64_t t = 0; t < 3; t++) {
		factset_begin_local(&s);
		factset_put(&s, &a, 1000 + t, t, NULL);
		factset_put(&s, &b, 1000 + t, t, NULL);
		factset_put(&s, &c, 1000 + t, t, NULL);
		factset_put(&s, &a, 1000 + t, t, NULL); /* twice: still one */
		factset_end_local(&s, t);
		CHECK_EQ(s.n, 3);
		CHECK_EQ(s.n_local, 3);
		CHECK(factset_find(&s, &a)->local && factset_find(&s, &c)->local);
		CHECK_EQ(factset_find(&s, &b)->expires, 1000 + t);
	}
	/* b and c left out: b (ours only) goes, c falls back to A's copy. */
	factset_begin_local(&s);
	factset_put(&s, &a, 2000, 10, NULL);
	factset_end_local(&s, 10);
	CHECK_EQ(s.n, 2);
	CHECK(factset_find(&s, &b) == NULL);
	const struct fentry *ec = factset_find(&s, &c);
	CHECK(ec && !ec->local && ec->expires == 500);
	CHECK(factset_find(&s, &a)->local);
	/* a new one of ours is counted too */
	factset_begin_local(&s);
	factset_put(&s, &a, 3000, 20, NULL);
	factset_put(&s, &b, 3000, 20, NULL);
	factset_end_local(&s, 20);
	CHECK_EQ(s.n, 3);
	CHECK_EQ(s.n_local, 2);
	CHECK(factset_find(&s, &b)->local && !factset_find(&s, &c)->local);
	CHECK(shares_consistent(&s));
	factset_free(&s);
}

/* factset_put_hinted: a hint is only a guess; right, wrong or out of
 * range, the put is the one factset_put makes, and the hint ends up at
 * the fact's place. */
TEST(factset_hinted_put_is_a_put)
{
	struct factset s;
	uint8_t hk[16] = { 6 };
	CHECK_EQ(factset_init(&s, 64, hk, NULL), 0);
	struct fact a, b;
	ep_fact_about(&a, 1, 0);
	ep_fact_about(&b, 2, 0);
	uint32_t ha = 12345, hb = 0;
	CHECK_EQ(factset_put_hinted(&s, &a, 1000, 0, NULL, &ha), FACTSET_NEW);
	CHECK_EQ(ha, 0);
	CHECK_EQ(factset_put_hinted(&s, &b, 1000, 0, NULL, &hb), FACTSET_NEW); /* hint: a's place */
	CHECK_EQ(hb, 1);
	CHECK_EQ(factset_put_hinted(&s, &a, 1100, 0, NULL, &ha), FACTSET_EXTENDED);
	CHECK_EQ(factset_put_hinted(&s, &a, 1100, 0, NULL, &hb), FACTSET_SAME); /* b's place */
	CHECK_EQ(hb, 0);
	CHECK_EQ(factset_find(&s, &a)->expires, 1100);
	/* a goes: b moves into its place, and b's old hint points past the end. */
	factset_remove_at(&s, 0);
	uint32_t stale = 1;
	CHECK_EQ(factset_put_hinted(&s, &b, 1200, 0, NULL, &stale), FACTSET_EXTENDED);
	CHECK_EQ(stale, 0);
	CHECK_EQ(s.n, 1);
	CHECK_EQ(factset_put(&s, &a, 1000, 0, NULL), FACTSET_NEW);
	CHECK_EQ(s.n, 2);
	factset_free(&s);
}

/* A value too long to keep inline (FSTORED_INLINE) lives apart; the set
 * gives every fact back byte for byte, before and after entries move,
 * and counts what it holds apart (ASan: nothing left when it is freed). */
TEST(factset_keeps_long_values_apart)
{
	struct factset s;
	uint8_t hk[16] = { 7 };
	CHECK_EQ(factset_init(&s, 64, hk, NULL), 0);
	struct fact f[4], got;
	for (int i = 0; i < 4; i++) {
		member_fact_about(&f[i], i);
		f[i].value_len = (uint16_t)(i % 2 ? FACT_VALUE_MAX : FSTORED_INLINE - i);
		for (size_t k = 0; k < f[i].value_len; k++)
			f[i].value[k] = (uint8_t)(k * 7 + (size_t)i);
		CHECK_EQ(factset_put(&s, &f[i], 1000, 0, NULL), FACTSET_NEW);
	}
	CHECK_EQ(s.value_bytes, 2 * FACT_VALUE_MAX);
	for (int pass = 0; pass < 2; pass++) {
		for (int i = pass; i < 4; i++) {
			const struct fentry *e = factset_find(&s, &f[i]);
			CHECK(e != NULL);
			CHECK(fact_same_key(factset_fact_of(&s, e, &got), &f[i]));
			CHECK_EQ(factset_attr(&s, (size_t)(e - s.v)), ATTR_MEMBER_META);
		}
		/* The first goes; the last (a long one) moves into its place. */
		if (pass == 0)
			factset_remove_at(&s, 0);
	}
	CHECK_EQ(s.n, 3);
	factset_remove_at(&s, 0); /* the long one that moved */
	CHECK_EQ(s.value_bytes, FACT_VALUE_MAX);
	CHECK(factset_find(&s, &f[3]) == NULL && factset_find(&s, &f[1]) != NULL);
	factset_free(&s);
}

TEST(factset_caps_per_subject_and_per_source)
{
	struct factset s;
	uint8_t hk[16] = { 3 };
	struct factset_limits lim;
	factset_limits_default(&lim);
	lim.per_source = 40;
	CHECK_EQ(factset_init(&s, 4096, hk, &lim), 0);
	struct fact f;
	/* 16 endpoints of one subject per source; the 17th is dropped. */
	for (int i = 0; i < 16; i++) {
		ep_fact_about(&f, 1, i);
		CHECK_EQ(factset_put(&s, &f, 1000, 0, &SRC_A), FACTSET_NEW);
	}
	ep_fact_about(&f, 1, 16);
	CHECK_EQ(factset_put(&s, &f, 1000, 0, &SRC_A), FACTSET_QUOTA);
	/* Another source has its own 16 for the same subject. */
	CHECK_EQ(factset_put(&s, &f, 1000, 0, &SRC_B), FACTSET_NEW);
	/* A reaches its 40 over other subjects; then nothing new. */
	for (int i = 0; i < 24; i++) {
		ep_fact_about(&f, 2 + i, 0);
		CHECK_EQ(factset_put(&s, &f, 1000, 0, &SRC_A), FACTSET_NEW);
	}
	ep_fact_about(&f, 100, 0);
	CHECK_EQ(factset_put(&s, &f, 1000, 0, &SRC_A), FACTSET_QUOTA);
	CHECK_EQ(s.refused, 2);
	/* A source trusted with membership has no per-source cap. */
	for (int i = 0; i < 100; i++) {
		ep_fact_about(&f, 200 + i, 0);
		CHECK_EQ(factset_put(&s, &f, 1000, 0, &SRC_HUB), FACTSET_NEW);
	}
	/* Shares come back as facts go. */
	ep_fact_about(&f, 2, 0);
	factset_remove_at(&s, (size_t)(factset_find(&s, &f) - s.v));
	ep_fact_about(&f, 100, 0);
	CHECK_EQ(factset_put(&s, &f, 1000, 0, &SRC_A), FACTSET_NEW);
	CHECK(shares_consistent(&s));
	factset_free(&s);
}

TEST(factset_new_members_per_source_are_rate_limited)
{
	struct factset s;
	uint8_t hk[16] = { 3 };
	struct factset_limits lim;
	factset_limits_default(&lim);
	lim.members_burst = 10;
	lim.members_per_min = 60; /* one a second */
	CHECK_EQ(factset_init(&s, 4096, hk, &lim), 0);
	struct fact f;
	int ok = 0;
	for (int i = 0; i < 50; i++) {
		member_fact_about(&f, i);
		ok += factset_put(&s, &f, 100000, 0, &SRC_HUB) == FACTSET_NEW;
	}
	CHECK_EQ(ok, 10);
	/* Refreshing what it holds costs nothing. */
	member_fact_about(&f, 3);
	CHECK_EQ(factset_put(&s, &f, 200000, 500, &SRC_HUB), FACTSET_EXTENDED);
	/* 5 s later, 5 more. */
	ok = 0;
	for (int i = 50; i < 60; i++) {
		member_fact_about(&f, i);
		ok += factset_put(&s, &f, 100000, 5000, &SRC_HUB) == FACTSET_NEW;
	}
	CHECK_EQ(ok, 5);
	/* Another source has its own bucket. */
	member_fact_about(&f, 70);
	CHECK_EQ(factset_put(&s, &f, 100000, 5000, &SRC_A), FACTSET_NEW);
	CHECK(shares_consistent(&s));
	factset_free(&s);
}

/* Random puts from several sources, removals and local rebuilds: the
 * shares stay consistent after every step, and no source ever holds more
 * than its cap. */
TEST(factset_shares_stay_consistent)
{
	struct factset s;
	uint8_t hk[16] = { 5 };
	struct factset_limits lim;
	factset_limits_default(&lim);
	lim.per_source = 50;
	lim.local_reserve = 8;
	CHECK_EQ(factset_init(&s, 200, hk, &lim), 0);
	const struct fact_source srcs[] = { SRC_A, SRC_B, SRC_HUB, { 0xd1, TRUST_ALLOWED_IPS, false, NULL } };
	uint64_t r = harness_seed() | 1;
	bool ok = true;
	for (int step = 0; step < 20000 && ok; step++) {
		uint64_t x = xs(&r);
		struct fact f;
		ep_fact_about(&f, (int)(x % 40), (int)((x >> 8) % 24));
		int64_t now = step * 10;
		switch ((x >> 16) % 8) {
		case 0:
			if (s.n)
				factset_remove_at(&s, (size_t)((x >> 24) % s.n));
			break;
		case 1:
			factset_begin_local(&s);
			factset_put(&s, &f, now + 1000, now, NULL);
			factset_end_local(&s, now);
			break;
		default:
			factset_put(&s, &f, now + 1000 + (int64_t)((x >> 32) % 500), now,
				    &srcs[(x >> 24) % 4]);
		}
		ok = shares_consistent(&s) && s.n <= s.max;
		for (size_t p = 0; p < s.n_src && ok; p++)
			ok = s.src[p].id == SRC_HUB.id || s.src[p].count <= lim.per_source;
	}
	CHECK(ok);
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
	CHECK_EQ(dropped, 2); /* at 20 the first 49 expired, but a full table
			       * looks for expired keys once a second */
	knowledge_put(&k, 7, 1000, 1000, 100, &dropped);
	CHECK_EQ(dropped, 2); /* at 1000 it looks: room again */
	CHECK_EQ(knowledge_get(&k, 7), 1000);
	CHECK_EQ(knowledge_get(&k, 60 * 0x9e3779b97f4a7c15ull), 1000);
	knowledge_put(&k, 7, 500, 1000, 100, &dropped);
	CHECK_EQ(knowledge_get(&k, 7), 1000); /* keeps the later expiry */
	knowledge_forget(&k, 7);
	CHECK_EQ(knowledge_get(&k, 7), INT64_MIN);
	CHECK_EQ(knowledge_get(&k, 60 * 0x9e3779b97f4a7c15ull), 1000);
	knowledge_clear(&k);
	CHECK_EQ(knowledge_get(&k, 60 * 0x9e3779b97f4a7c15ull), INT64_MIN);
	knowledge_free(&k);
}

/* What a purge leaves is what a rebuild of the live keys into the size it
 * picks leaves, slot by slot, whether or not it skips the rebuild: the
 * walks over the slots (withdrawals, lease.c's repair) see that order.
 * Keys crowded at the table's end make runs that wrap around it. */
static void rebuilt_layout(const struct knowledge *k, int64_t now, size_t cap, struct know_slot *out)
{
	memset(out, 0, cap * sizeof(*out));
	for (size_t i = 0; i <= k->mask; i++) {
		const struct know_slot *o = &k->s[i];
		if (!o->h || o->expires < now)
			continue;
		size_t j = o->h & (cap - 1);
		while (out[j].h)
			j = (j + 1) & (cap - 1);
		out[j] = *o;
	}
}

TEST(knowledge_purge_keeps_the_rebuilt_layout)
{
	uint64_t seed = 0x1234;
	for (int round = 0; round < 400; round++) {
		struct knowledge k;
		uint64_t dropped = 0;
		knowledge_init(&k);
		size_t n = 17 + xs(&seed) % 40;
		bool some_expire = round % 3 == 0;
		for (size_t i = 0; i < n; i++) {
			/* Half the keys aim at the table's last eight slots
			 * (of 64 or 128). */
			uint64_t h = xs(&seed) | 1;
			if (i % 2)
				h = (h & ~(uint64_t)127) | (120 + h % 8);
			int64_t exp = some_expire && i % 5 == 0 ? 50 : 1000 + (int64_t)i;
			knowledge_put(&k, h, exp, 0, 1000, &dropped);
		}
		if (round % 7 == 0) { /* a slot in use, from a random place on */
			size_t at = xs(&seed) % (k.mask + 1);
			while (!k.s[at].h)
				at = (at + 1) & k.mask;
			knowledge_forget_slot(&k, &k.s[at]);
		}
		struct know_slot want[256];
		size_t live = 0;
		for (size_t i = 0; i <= k.mask; i++)
			live += k.s[i].h && k.s[i].expires >= 100;
		size_t cap = wl_shrunk_cap(k.mask + 1, live, 32);
		CHECK(cap <= 256);
		rebuilt_layout(&k, 100, cap, want);
		knowledge_purge(&k, 100);
		CHECK_EQ(k.mask + 1, cap);
		CHECK_EQ(k.n, live);
		CHECK(memcmp(k.s, want, cap * sizeof(*want)) == 0);
		knowledge_free(&k);
	}
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

/* A leaf whose one peer (key 2) is a router it trusts by its route,
 * started, with these caps. */
static void router_fed(struct tnode *n, size_t max_facts, size_t max_peers,
		       uint8_t ppriv[static 32], uint8_t ppub[static 32])
{
	tkey(2, ppriv, ppub);
	tnode_config(n, 1);
	n->cfg.max_facts = max_facts;
	n->cfg.max_peers = max_peers;
	n->cfg.router = WL_NO;
	tnode_dev_peer(n, ppub, "192.0.2.2:51820", 0);
	tnode_allow(n, ppub, "10.0.0.0/8");
	tnode_start(n, 0);
	tnode_tick(n, 0);
}

/* The router tells 20 member facts about new subjects (tag, b, 0..19). */
static enum engine_rx twenty_members(struct tnode *n, const uint8_t ppriv[static 32],
				     const uint8_t ppub[static 32], uint8_t tag, int b,
				     int64_t now)
{
	struct fact f[20];
	for (int i = 0; i < 20; i++) {
		uint8_t subj[32] = { tag, (uint8_t)b, (uint8_t)i };
		fact_make_member_meta(&f[i], subj, NULL, -1, 200);
	}
	uint8_t buf[WIRE_MAX_DATAGRAM];
	size_t len = tseal(ppriv, n->pub, f, 20, buf, sizeof(buf));
	return treceive(n, now, ppub, buf, len);
}

TEST(engine_caps_hold_under_a_flood)
{
	/* A router peer floods 2000 member facts; the engine keeps 64. */
	struct tnode n;
	uint8_t ppriv[32], ppub[32];
	router_fed(&n, 64, 32, ppriv, ppub);
	for (int b = 0; b < 100; b++)
		CHECK_EQ(twenty_members(&n, ppriv, ppub, 0x77, b, 10 + b), ENGINE_RX_OK);
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

/* engine_memory counts what the tables hold: it grows with the facts a
 * router tells us (their entries, and the subjects' peer states), and
 * never past what the caps allow. */
TEST(engine_memory_follows_the_tables)
{
	struct tnode n;
	uint8_t ppriv[32], ppub[32];
	router_fed(&n, 256, 64, ppriv, ppub);
	size_t before = engine_memory(n.e);
	CHECK(before > 0);
	size_t last = before;
	for (int b = 0; b < 20; b++) {
		CHECK_EQ(twenty_members(&n, ppriv, ppub, 0x55, b, 10 + b), ENGINE_RX_OK);
		size_t now_bytes = engine_memory(n.e);
		CHECK(now_bytes >= last); /* nothing expired meanwhile */
		last = now_bytes;
	}
	tnode_tick(&n, 1000);
	size_t after = engine_memory(n.e);
	/* 400 facts offered, 256 kept at most: at least a fact entry each
	 * for the ones kept beyond what the start had. */
	CHECK(engine_fact_count(n.e) > 100);
	CHECK(after >= before + (engine_fact_count(n.e) - 1) * sizeof(struct fact));
	/* Capped: 256 facts and 64 peers cannot take more than a generous
	 * bound per entry (a fact entry and its index slots; a peer state
	 * and its knowledge). */
	CHECK(after < 256 * 1024 + 64 * 8192 + 128 * 1024);
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
