/* A member cannot hurt the network (issue 10): an ordinary leaf that floods
 * signed junk with its own real key, and a Membership-trusted source that
 * tries to add ten thousand members, spend only their own share of their
 * victims' tables. Virtual time; WL_SIM_FLOOD_MINUTES shortens the flood
 * (default 60). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/scenario.h"
#include "unit/harness.h"
#include "wire/pack.h"
#include "wire/packet.h"

#define HEALTHY_MS (sim_timing()->handshake_validity_ms)

static int flood_minutes(void)
{
	const char *v = getenv("WL_SIM_FLOOD_MINUTES");
	int m = v ? atoi(v) : 0;
	return m > 0 ? m : 60;
}

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Seals facts from node `from` (its real key) for node `to`. */
static size_t seal(struct sim *sim, int from, int to, const struct fact *f, size_t n, uint8_t *out,
		   size_t cap, uint64_t *rng)
{
	uint8_t priv[WL_KEY_LEN], pub[WL_KEY_LEN], to_pub[WL_KEY_LEN], key[32];
	uint8_t nonce[GROUP_NONCE_LEN];
	sim_node_private(sim, from, priv);
	sim_node_key(sim, from, pub);
	sim_node_key(sim, to, to_pub);
	for (size_t i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)xs(rng);
	if (!group_shared_key(priv, to_pub, key))
		return 0;
	struct packer pk;
	packer_reset(&pk);
	for (size_t i = 0; i < n; i++)
		if (!packer_add(&pk, &f[i]))
			break;
	return group_seal(out, cap, pub, key, nonce, pk.inner, pk.len);
}

/* One datagram of junk from the attacker: endpoints about itself and about
 * the victim's other peers, all novel, with the longest TTL; plus claims
 * default trust refuses (a member, a route). */
static size_t junk(struct scen *s, int attacker, uint64_t *rng, struct fact *f)
{
	size_t n = 0;
	uint8_t self[WL_KEY_LEN], other[WL_KEY_LEN];
	sim_node_key(s->sim, attacker, self);
	for (int i = 0; i < 24; i++) {
		uint64_t r = xs(rng);
		struct wl_endpoint ep;
		memset(&ep, 0, sizeof(ep));
		uint8_t v4[4] = { 203, 0, 113, (uint8_t)r };
		wl_addr_from_v4(&ep.addr, v4);
		ep.port = (uint16_t)(1024 + (r >> 8) % 60000);
		if (i < 20) {
			fact_make_endpoint(&f[n++], self, &ep, 65535);
		} else {
			int who = (int)((r >> 32) % (s->n_leaves + 1));
			sim_node_key(s->sim, who == (int)s->n_leaves ? s->hub : s->leaf[who], other);
			fact_make_endpoint(&f[n++], other, &ep, 65535);
		}
	}
	uint8_t stranger[WL_KEY_LEN];
	for (size_t i = 0; i < sizeof(stranger); i++)
		stranger[i] = (uint8_t)xs(rng);
	fact_make_member_meta(&f[n++], stranger, NULL, -1, 65535);
	struct wl_cidr c;
	wl_cidr_parse("10.99.0.0/25", &c);
	fact_make_cidr(&f[n++], self, &c, 65535);
	return n;
}

/* Everything a node must keep: every other leaf in its device with its
 * tunnel /32, the hub with the network's route. */
static bool intact(struct scen *s, int node)
{
	struct sim_peer_view v;
	if (!sim_peer_view(s->sim, node, s->hub, &v) || !sim_view_allows(&v, "10.99.0.0/24"))
		return false;
	for (size_t j = 0; j < s->n_leaves; j++) {
		if (s->leaf[j] == node)
			continue;
		char cidr[32];
		snprintf(cidr, sizeof(cidr), "10.99.0.%zu/32", j + 2);
		if (!sim_peer_view(s->sim, node, s->leaf[j], &v) || !sim_view_allows(&v, cidr))
			return false;
	}
	return true;
}

struct about {
	uint8_t key[WL_KEY_LEN];
	size_t n;
};

static void count_about(void *ctx, const struct fact *f, int64_t expires_ms, bool local)
{
	(void)expires_ms;
	(void)local;
	struct about *a = ctx;
	if (memcmp(f->subject, a->key, WL_KEY_LEN) == 0)
		a->n++;
}

static size_t facts_about(struct sim *sim, int at, int about)
{
	struct about a = { .n = 0 };
	sim_node_key(sim, about, a.key);
	engine_foreach_fact(sim_node_engine(sim, at), count_about, &a);
	return a.n;
}

/* Honest facts: every fact a node holds about anyone but the attacker. */
struct honest {
	uint8_t attacker[WL_KEY_LEN];
	struct fact *v;
	size_t n, cap;
};

static void collect(void *ctx, const struct fact *f, int64_t expires_ms, bool local)
{
	(void)expires_ms;
	(void)local;
	struct honest *h = ctx;
	if (memcmp(f->subject, h->attacker, WL_KEY_LEN) == 0 || h->n == h->cap)
		return;
	h->v[h->n++] = *f;
}

struct has_ctx {
	const struct fact *want;
	bool found;
};

static void has_cb(void *ctx, const struct fact *f, int64_t expires_ms, bool local)
{
	(void)expires_ms;
	(void)local;
	struct has_ctx *c = ctx;
	if (fact_same_key(f, c->want))
		c->found = true;
}

static size_t honest_lost(struct sim *sim, int node, const struct honest *before)
{
	size_t lost = 0;
	for (size_t i = 0; i < before->n; i++) {
		struct has_ctx c = { &before->v[i], false };
		engine_foreach_fact(sim_node_engine(sim, node), has_cb, &c);
		lost += !c.found;
	}
	return lost;
}

/* A leaf floods its direct peer (the victim) and the hub with 100 signed
 * datagrams a second (50 to each), 26 novel facts in each, for an hour of
 * virtual time. */
TEST(a_flooding_leaf_spends_only_its_own_share)
{
	enum scen_leaf_kind kinds[19];
	for (size_t i = 0; i < 19; i++)
		kinds[i] = LEAF_PUBLIC;
	struct scen s;
	scen_build(&s, harness_seed(), 19, kinds, NULL);
	scen_start(&s);
	sim_run_to(s.sim, 60000);
	int attacker = s.leaf[0], victim = s.leaf[1], bystander = s.leaf[2];
	CHECK(intact(&s, victim));
	CHECK(intact(&s, bystander));
	CHECK(scen_pair_direct(&s, 0, 1, HEALTHY_MS));

	struct honest before = { .cap = 4096 };
	before.v = calloc(before.cap, sizeof(*before.v));
	sim_node_key(s.sim, attacker, before.attacker);
	engine_foreach_fact(sim_node_engine(s.sim, victim), collect, &before);
	size_t facts0 = engine_fact_count(sim_node_engine(s.sim, victim));

	uint64_t rng = harness_seed() * 2654435761u | 1;
	int minutes = flood_minutes();
	int64_t t = sim_now(s.sim), end = t + (int64_t)minutes * 60000;
	size_t max_facts = 0, sent = 0;
	bool always_intact = true;
	uint8_t buf[WIRE_MAX_DATAGRAM];
	struct fact f[32];
	for (; t < end; t += 10) {
		sim_run_to(s.sim, t);
		size_t n = junk(&s, attacker, &rng, f);
		size_t len = seal(s.sim, attacker, t % 20 ? victim : s.hub, f, n, buf, sizeof(buf), &rng);
		if (len && sim_send_raw(s.sim, attacker, t % 20 ? victim : s.hub, buf, len) == 0)
			sent++;
		if (t % 10000 == 0) {
			size_t nf = engine_fact_count(sim_node_engine(s.sim, victim));
			if (nf > max_facts)
				max_facts = nf;
			always_intact = always_intact && intact(&s, victim) && intact(&s, bystander);
		}
	}
	sim_run_to(s.sim, end + 10000);
	const struct engine_stats *vst = engine_get_stats(sim_node_engine(s.sim, victim));
	const struct engine_stats *hst = engine_get_stats(sim_node_engine(s.sim, s.hub));
	size_t lost = honest_lost(s.sim, victim, &before);
	printf("# flood: %zu datagrams in %d min; victim: %zu facts before, at most %zu during; "
	       "%llu facts dropped beyond the attacker's share, %llu TTLs cut, %llu untrusted; "
	       "hub: %llu dropped beyond the share; honest facts lost: %zu of %zu\n",
	       sent, minutes, facts0, max_facts, (unsigned long long)vst->rx_over_share,
	       (unsigned long long)vst->rx_ttl_clamped, (unsigned long long)vst->rx_untrusted,
	       (unsigned long long)hst->rx_over_share, lost, before.n);
	CHECK(sent > (size_t)minutes * 60 * 90);
	CHECK(always_intact);
	CHECK(intact(&s, victim));
	CHECK(intact(&s, bystander));
	CHECK_EQ(lost, 0);
	/* Per subject (the attacker and the 20 others), the attacker's own
	 * share is 16 endpoints, and so is the hub's, which relays what it
	 * took from the attacker within the attacker's share at the hub. */
	CHECK(max_facts <= facts0 + 21 * (16 + 16));
	CHECK(facts_about(s.sim, victim, attacker) <= 16 + 16 + 4);
	CHECK(vst->rx_over_share > 0 && vst->rx_ttl_clamped > 0 && vst->rx_untrusted > 0);
	/* A bystander gets no more than the hub's share of it. */
	CHECK(facts_about(s.sim, bystander, attacker) <= 16 + 4);
	/* The direct path between the victim and another leaf lives on. */
	CHECK(scen_pair_direct(&s, 1, 2, HEALTHY_MS));
	free(before.v);
	scen_free(&s);
}

/* The hub (Membership trust by route) tries to make a leaf add 10,000
 * members in a minute: the leaf adds them only as fast as the member
 * bucket allows (1024 at once, then 256 a minute), and keeps its own. */
TEST(a_membership_source_adds_members_at_a_bounded_rate)
{
	enum scen_leaf_kind kinds[3] = { LEAF_PUBLIC, LEAF_PUBLIC, LEAF_PUBLIC };
	struct scen s;
	scen_build(&s, harness_seed(), 3, kinds, NULL);
	scen_start(&s);
	sim_run_to(s.sim, 30000);
	int victim = s.leaf[0];
	CHECK(intact(&s, victim));
	uint64_t rng = harness_seed() * 40503u | 1;
	uint8_t buf[WIRE_MAX_DATAGRAM];
	struct fact f[32];
	int64_t t0 = sim_now(s.sim), t = t0;
	size_t tried = 0;
	/* 10,000 members in 50 datagrams a second for 10 s. */
	for (int d = 0; d < 500; d++, t += 20) {
		sim_run_to(s.sim, t);
		size_t n = 0;
		for (; n < 20; n++, tried++) {
			uint8_t k[WL_KEY_LEN];
			for (size_t i = 0; i < sizeof(k); i++)
				k[i] = (uint8_t)xs(&rng);
			fact_make_member_meta(&f[n], k, NULL, -1, 255);
		}
		size_t len = seal(s.sim, s.hub, victim, f, n, buf, sizeof(buf), &rng);
		CHECK(len > 0 && sim_send_raw(s.sim, s.hub, victim, buf, len) == 0);
	}
	sim_run_to(s.sim, t0 + 60000);
	struct engine *e = sim_node_engine(s.sim, victim);
	size_t members = 0;
	struct wg_device *d = vwg_snapshot(sim_node_dev(s.sim, victim));
	size_t in_device = d ? d->n_peers : 0;
	vwg_device_free(d);
	const struct engine_stats *st = engine_get_stats(e);
	members = engine_fact_count(e);
	printf("# 10,000 members offered in 10 s: %zu peers in the victim's device a minute later, "
	       "%zu facts, %llu dropped beyond the hub's share\n",
	       in_device, members, (unsigned long long)st->rx_over_share);
	CHECK_EQ(tried, 10000);
	/* 1024 at once and 256 in the minute, plus the hub and two leaves. */
	CHECK(in_device <= 1024 + 256 + 3);
	CHECK(st->rx_over_share >= 10000 - 1024 - 256);
	CHECK(intact(&s, victim));
	scen_free(&s);
}
