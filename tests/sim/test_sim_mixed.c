/* Mixed networks: peers of ours next to peers running the original
 * wirelink (sim_node_opts.original: the original's timing and none of our
 * extensions on the wire). Nothing new reaches an original peer's
 * wirelink port — no fact about itself but its metadata, nothing it
 * cannot parse — and a pair of ours and an original behaves at least as
 * well as two originals: it goes direct as fast, and heals from a cut
 * path no slower. Prints the virtual times. */
#include <stdio.h>
#include <string.h>

#include "sim/pinger.h"
#include "sim/scenario.h"
#include "unit/harness.h"

#define HEALTHY_MS (sim_timing()->handshake_validity_ms)
/* The originals' own detection of a dead path: their handshake ages past
 * HandshakeValidity, then they try the next candidate. */
#define ORIGINAL_HEAL_MS (HEALTHY_MS + 60000)

enum mix { OURS_OURS, OURS_ORIGINAL, ORIGINAL_ORIGINAL, N_MIX };
static const char *const mix_name[N_MIX] = { "ours + ours", "ours + original",
					     "original + original" };
static const unsigned mix_bits[N_MIX] = { 0, 2, 3 }; /* scen_opts.original_leaves */

/* What reached the original nodes' wirelink port that the original would
 * not send: a fact about the recipient other than its metadata, or a
 * lease (an attribute the original rejects, dropping the whole group). */
struct wire_watch {
	struct sim *sim;
	int original; /* the original node watched */
	size_t about_recipient;
	size_t leases;
};

static void on_fact(void *ctx, int64_t now, int from, int to, const struct fact *f)
{
	(void)now;
	(void)from;
	struct wire_watch *w = ctx;
	if (to != w->original)
		return;
	if (f->attr == ATTR_LEASE)
		w->leases++;
	uint8_t key[WL_KEY_LEN];
	sim_node_key(w->sim, to, key);
	if (memcmp(f->subject, key, WL_KEY_LEN) == 0 && f->attr != ATTR_MEMBER_META)
		w->about_recipient++;
}

static void build(struct scen *s, enum mix m, bool original_hub)
{
	enum scen_leaf_kind kinds[2] = { LEAF_OWN_NAT, LEAF_OWN_NAT };
	struct scen_opts o;
	scen_opts_init(&o);
	o.original_leaves = mix_bits[m];
	o.original_hub = original_hub;
	scen_build(s, harness_seed(), 2, kinds, &o);
}

static bool direct(struct sim *sim, void *ctx)
{
	(void)sim;
	return scen_pair_direct(ctx, 0, 1, HEALTHY_MS);
}

/* The time the pair needs to go direct, -1 if it does not in 5 min. */
static int64_t time_to_direct(enum mix m, bool original_hub)
{
	struct scen s;
	build(&s, m, original_hub);
	scen_start(&s);
	int64_t t = sim_run_until(s.sim, direct, &s, 300000);
	scen_free(&s);
	return t;
}

TEST(mixed_pair_goes_direct_as_fast)
{
	for (int hub = 0; hub <= 1; hub++) {
		int64_t t[N_MIX];
		for (int m = 0; m < N_MIX; m++) {
			t[m] = time_to_direct(m, hub);
			CHECK_MSG(t[m] >= 0, "%s (%s hub): never direct", mix_name[m],
				  hub ? "original" : "our");
			printf("# %s, %s hub: direct after %.1f s (virtual)\n", mix_name[m],
			       hub ? "original" : "our", (double)t[m] / 1000);
		}
		/* At least as fast as two originals, give or take one of
		 * WireGuard's handshake retries (5 s) for candidate luck. */
		CHECK_MSG(t[OURS_ORIGINAL] <= t[ORIGINAL_ORIGINAL] + 5000,
			  "ours + original %.1f s, two originals %.1f s", (double)t[OURS_ORIGINAL] / 1000,
			  (double)t[ORIGINAL_ORIGINAL] / 1000);
	}
}

/* Our hub and leaf1 with an original leaf2, 10 minutes with traffic and
 * a cut of the direct path: leaf2 is never told anything about itself
 * but its metadata, and everything that reached its wirelink port
 * parsed. Then the same with an original hub: our leaves' hellos draw
 * only an ICMP error, so they never take the hub for one of ours. */
TEST(original_peers_get_nothing_new)
{
	struct scen s;
	build(&s, OURS_ORIGINAL, false);
	struct wire_watch w = { .sim = s.sim, .original = s.leaf[1] };
	sim_set_fact_hook(s.sim, on_fact, &w);
	scen_start(&s);
	CHECK(sim_run_until(s.sim, direct, &s, 300000) >= 0);
	struct pinger p;
	pinger_init(&p, &s);
	ping_for(&p, 30000);
	char a[WL_ADDR_STR_MAX], b[WL_ADDR_STR_MAX];
	scen_public_addr(&s, 0, a, sizeof(a));
	scen_public_addr(&s, 1, b, sizeof(b));
	vnet_block(s.net, a, b);
	ping_for(&p, 60000);
	vnet_unblock(s.net, a, b);
	ping_for(&p, 60000);
	sim_run_to(s.sim, sim_now(s.sim) + 400000);
	CHECK_EQ(w.about_recipient, 0);
	CHECK_EQ(w.leases, 0);
	const struct engine_stats *st = engine_get_stats(sim_node_engine(s.sim, s.leaf[1]));
	CHECK(st->rx_ok > 0);
	CHECK_EQ(st->rx_parse, 0);
	CHECK_EQ(st->rx_fact_parse, 0);
	CHECK_EQ(st->rx_bad_source, 0);
	CHECK_EQ(st->rx_bad_sig, 0);
	scen_free(&s);

	build(&s, OURS_OURS, true);
	struct wire_watch wh = { .sim = s.sim, .original = s.hub };
	sim_set_fact_hook(s.sim, on_fact, &wh);
	scen_start(&s);
	CHECK(sim_run_until(s.sim, direct, &s, 300000) >= 0);
	sim_run_to(s.sim, sim_now(s.sim) + 120000);
	for (size_t i = 0; i < 2; i++) {
		st = engine_get_stats(sim_node_engine(s.sim, s.leaf[i]));
		CHECK(st->hellos_sent > 0);
	}
	const struct engine_stats *hub = engine_get_stats(sim_node_engine(s.sim, s.hub));
	CHECK_EQ(hub->rx_parse, 0);
	CHECK_EQ(hub->rx_fact_parse, 0);
	/* Our leaves lease nothing to the original hub. */
	CHECK_EQ(wh.leases, 0);
	CHECK_EQ(hub->lease_holds_matched, 0);
	scen_free(&s);
}

/* The pair's direct path is cut while leaf1 pings leaf2: the time until
 * pings are answered again. Two of ours fall back in seconds; with an
 * original in the pair, its side keeps routing into the dead path until
 * its handshake ages out (WireGuard drops what the hub relays from a
 * source it routes to the direct peer), so the pair heals when two
 * originals would — not later. */
static int64_t heal_time(enum mix m)
{
	struct scen s;
	build(&s, m, false);
	scen_start(&s);
	CHECK(sim_run_until(s.sim, direct, &s, 300000) >= 0);
	struct pinger p;
	pinger_init(&p, &s);
	ping_for(&p, 10000);
	char a[WL_ADDR_STR_MAX], b[WL_ADDR_STR_MAX];
	scen_public_addr(&s, 0, a, sizeof(a));
	scen_public_addr(&s, 1, b, sizeof(b));
	int64_t cut = sim_now(s.sim);
	vnet_block(s.net, a, b);
	int64_t t = ping_until(&p, answered, cut, ORIGINAL_HEAL_MS + 120000);
	scen_free(&s);
	return t;
}

TEST(mixed_pair_heals_no_later)
{
	int64_t t[N_MIX];
	for (int m = 0; m < N_MIX; m++) {
		t[m] = heal_time(m);
		CHECK_MSG(t[m] >= 0, "%s: pings never answered again after the cut", mix_name[m]);
		printf("# %s: pings answered again %.1f s after the cut (virtual)\n", mix_name[m],
		       (double)t[m] / 1000);
	}
	CHECK(t[OURS_OURS] <= 3000);
	CHECK_MSG(t[OURS_ORIGINAL] <= t[ORIGINAL_ORIGINAL] + 5000, "ours + original %.1f s, two "
		  "originals %.1f s", (double)t[OURS_ORIGINAL] / 1000,
		  (double)t[ORIGINAL_ORIGINAL] / 1000);
}
