/* Dormant pairs (core/quiet.c, docs/quiet.md; setting Dormant): two idle
 * leaves of ours whose router vouches for both send each other nothing,
 * behind NATs too, so a leaf's idle traffic does not grow with the
 * network. When traffic starts, the router wakes the other side
 * (pathnote.c), which opens both NATs again. Prints the virtual times and
 * the traffic figures. */
#include <stdio.h>
#include <string.h>

#include "sim/pinger.h"
#include "sim/scenario.h"
#include "sim/vwg.h"
#include "sys/wgdev.h"
#include "unit/harness.h"

#define HEALTHY_MS (sim_timing()->handshake_validity_ms)
#define MIN_MS 60000

static void build(struct scen *s, size_t n, const enum scen_leaf_kind *kinds, bool dormant)
{
	struct scen_opts o;
	scen_opts_init(&o);
	o.dormant = dormant;
	scen_build(s, harness_seed(), n, kinds, &o);
}

static bool dormant(struct sim *sim, int node, int peer)
{
	uint8_t key[WL_KEY_LEN];
	struct engine_peer_info info;
	sim_node_key(sim, peer, key);
	return engine_peer_info(sim_node_engine(sim, node), key, sim_now(sim), &info) &&
	       info.dormant && info.healthy && info.alive;
}

/* WireGuard's transmit counter for peer at node: what crossed the path. */
static uint64_t peer_tx(struct sim *sim, int node, int peer)
{
	uint8_t key[WL_KEY_LEN];
	sim_node_key(sim, peer, key);
	struct wg_device *d = vwg_snapshot(sim_node_dev(sim, node));
	const struct wg_peer *p = d ? wg_device_find_peer(d, key) : NULL;
	uint64_t tx = p ? p->tx_bytes : 0;
	vwg_device_free(d);
	return tx;
}

static bool direct(struct sim *sim, void *ctx)
{
	return scen_pair_direct(ctx, 0, 1, HEALTHY_MS);
}

static bool answered_direct(struct pinger *p, int64_t since)
{
	return p->answer > since && p->via == p->s->leaf[1];
}

/* Ten idle minutes: dormant both ways, nothing crosses the path (the
 * NATs forget each other: their mappings last 120 s), and still direct
 * (AllowedIPs kept). Then leaf1 pings leaf2: the answers come directly,
 * and the path is never found dead. */
static void wake(const char *label, enum scen_leaf_kind k1, enum scen_leaf_kind k2)
{
	enum scen_leaf_kind kinds[2] = { k1, k2 };
	struct scen s;
	build(&s, 2, kinds, true);
	scen_start(&s);
	CHECK_MSG(sim_run_until(s.sim, direct, &s, 60000) >= 0, "%s: never direct", label);
	sim_run_to(s.sim, sim_now(s.sim) + MIN_MS);
	int a = s.leaf[0], b = s.leaf[1];
	CHECK_MSG(dormant(s.sim, a, b) && dormant(s.sim, b, a), "%s: not dormant", label);
	uint64_t ab = peer_tx(s.sim, a, b), ba = peer_tx(s.sim, b, a);
	sim_run_to(s.sim, sim_now(s.sim) + 10 * MIN_MS);
	CHECK_MSG(peer_tx(s.sim, a, b) == ab && peer_tx(s.sim, b, a) == ba,
		  "%s: %llu and %llu bytes crossed the idle path", label,
		  (unsigned long long)(peer_tx(s.sim, a, b) - ab),
		  (unsigned long long)(peer_tx(s.sim, b, a) - ba));
	CHECK_MSG(direct(s.sim, &s), "%s: not direct after ten idle minutes", label);

	struct pinger p;
	pinger_init(&p, &s);
	int64_t start = sim_now(s.sim);
	int64_t t = ping_until(&p, answered_direct, start, 30000);
	CHECK_MSG(t >= 0 && t <= 2500, "%s: first direct answer %.1f s after the pings began",
		  label, (double)t / 1000);
	ping_for(&p, 10000);
	CHECK_MSG(p.via == b, "%s: answers not direct after 10 s of pings", label);
	size_t dead = sim_trace_count(s.sim, a, ENGINE_EV_PATH_DEAD, b, start) +
		      sim_trace_count(s.sim, b, ENGINE_EV_PATH_DEAD, a, start);
	CHECK_MSG(dead == 0, "%s: the woken path was found dead %zu times", label, dead);
	printf("# %s: dormant 10 min, nothing sent; pings answered directly %.1f s after they "
	       "began, %llu wake notes (virtual)\n",
	       label, (double)t / 1000,
	       (unsigned long long)engine_get_stats(sim_node_engine(s.sim, a))->path_wakes_sent);
	scen_free(&s);
}

TEST(traffic_wakes_a_dormant_pair_behind_two_nats)
{
	wake("behind two home NATs", LEAF_OWN_NAT, LEAF_OWN_NAT);
}

TEST(traffic_wakes_a_dormant_pair_towards_a_nat)
{
	wake("public to a home NAT", LEAF_PUBLIC, LEAF_OWN_NAT);
}

TEST(traffic_wakes_a_dormant_pair_of_public_leaves)
{
	wake("public leaves", LEAF_PUBLIC, LEAF_PUBLIC);
}

/* A leaf restarts while its pair is dormant: its new daemon knows nothing
 * of that, and the other side's NAT has forgotten it. The router wakes
 * the other side, and they are direct again in seconds. */
TEST(a_restarted_leaf_is_woken_to)
{
	enum scen_leaf_kind kinds[2] = { LEAF_OWN_NAT, LEAF_OWN_NAT };
	struct scen s;
	build(&s, 2, kinds, true);
	scen_start(&s);
	CHECK(sim_run_until(s.sim, direct, &s, 60000) >= 0);
	sim_run_to(s.sim, sim_now(s.sim) + 10 * MIN_MS);
	CHECK(dormant(s.sim, s.leaf[1], s.leaf[0]));
	sim_restart_node(s.sim, s.leaf[0]);
	int64_t restart = sim_now(s.sim);
	int64_t t = sim_run_until(s.sim, direct, &s, 5 * MIN_MS);
	CHECK_MSG(t >= 0 && t - restart <= 10000, "direct again %.1f s after the restart",
		  (double)(t - restart) / 1000);
	struct pinger p;
	pinger_init(&p, &s);
	int64_t start = sim_now(s.sim);
	CHECK(ping_until(&p, answered_direct, start, 5000) >= 0);
	printf("# a leaf restarted while dormant: direct again %.1f s later (virtual)\n",
	       (double)(t - restart) / 1000);
	scen_free(&s);
}

/* A leaf restarts while two leaves talk: its new daemon sees the other on
 * fresh handshakes and tells the router where it is before the router
 * leases it that endpoint. The router still leases it its own view
 * (send.c: router_sees), so once the traffic stops the router vouches for
 * the endpoint each side uses, and the pair goes dormant. Without that,
 * each held off for the other for good (split horizon): no vouch, and the
 * pair stayed loud. */
TEST(a_pair_goes_dormant_after_a_leaf_restarts_under_traffic)
{
	enum scen_leaf_kind kinds[2] = { LEAF_OWN_NAT, LEAF_PUBLIC };
	struct scen s;
	build(&s, 2, kinds, true);
	scen_start(&s);
	CHECK(sim_run_until(s.sim, direct, &s, 60000) >= 0);
	struct pinger p;
	pinger_init(&p, &s);
	ping_for(&p, 20000);
	sim_restart_node(s.sim, s.leaf[0]);
	ping_for(&p, 60000);
	CHECK_MSG(p.via == s.leaf[1], "answers not direct after the restart");
	int64_t quiet = sim_now(s.sim);
	int a = s.leaf[0], b = s.leaf[1];
	sim_run_to(s.sim, quiet + 10 * MIN_MS);
	CHECK_MSG(dormant(s.sim, a, b) && dormant(s.sim, b, a),
		  "not dormant ten idle minutes after the restart (%d, %d)",
		  dormant(s.sim, a, b), dormant(s.sim, b, a));
	CHECK(direct(s.sim, &s));
	scen_free(&s);
}

/* A dormant peer lives as long as the router vouches for it. leaf2's link
 * goes down for good: the router's handshake with it goes stale
 * (HandshakeValidity), its Alive there expires, the router withdraws what
 * it said of it, and leaf1's copies lapse (FactTTL): leaf1 stops routing
 * leaf2's tunnel IP directly. */
TEST(a_dormant_peer_lives_while_the_router_vouches)
{
	enum scen_leaf_kind kinds[2] = { LEAF_PUBLIC, LEAF_OWN_NAT };
	struct scen s;
	build(&s, 2, kinds, true);
	scen_start(&s);
	CHECK(sim_run_until(s.sim, direct, &s, 60000) >= 0);
	sim_run_to(s.sim, sim_now(s.sim) + 10 * MIN_MS);
	CHECK(dormant(s.sim, s.leaf[0], s.leaf[1]));
	int ifc = vnet_node_iface(s.net, vnet_node_by_name(s.net, "leaf2"), 0);
	vnet_iface_set_up(s.net, ifc, false);
	int64_t down = sim_now(s.sim);
	int64_t gone = -1;
	struct sim_peer_view v;
	for (int64_t t = down + 5000; t <= down + 15 * MIN_MS && gone < 0; t += 5000) {
		sim_run_to(s.sim, t);
		if (sim_peer_view(s.sim, s.leaf[0], s.leaf[1], &v) && sim_view_auto_only(&v))
			gone = t - down;
	}
	const struct engine_timing *tm = sim_timing();
	int64_t bound = tm->handshake_validity_ms + tm->alive_period_ms * 2 + tm->fact_ttl_ms +
			3 * tm->chunk_period_ms;
	CHECK_MSG(gone >= 0 && gone <= bound, "leaf1 still routes leaf2 directly %.0f s after its "
		  "link went down (bound %.0f s)", (double)(gone < 0 ? 15 * MIN_MS : gone) / 1000,
		  (double)bound / 1000);
	printf("# a dormant peer whose link went down: no longer routed directly %.0f s later "
	       "(virtual; its router's handshake goes stale, then the facts lapse)\n",
	       (double)gone / 1000);
	scen_free(&s);
}

struct dump_find {
	const char *what;
	bool found;
};

static void dump_find_line(void *ctx, const char *text)
{
	struct dump_find *f = ctx;
	f->found = f->found || strstr(text, f->what) != NULL;
}

/* The router goes away while a pair behind two home NATs is dormant.
 * Neither NAT remembers the other side, and no router is left to wake
 * it: both sides must leave dormancy by themselves, close together, and
 * keep their NATs open. Each asks its router for the HOLD it missed and
 * wakes when four asks went unanswered (lease.c: lease_silent) — within
 * about a minute and a half of the router's going, and within a router
 * period of each other (each side's HOLDs come at its own phase). Until
 * then the path needs nothing; after, pings cross it directly. Six
 * seeds: the phases differ with each. */
TEST(a_dormant_pair_wakes_when_its_router_goes_away)
{
	const struct engine_timing *tm = sim_timing();
	int64_t by = tm->alive_period_ms + 2 * tm->chunk_period_ms + 4 * 2 * tm->chunk_period_ms +
		     2 * tm->chunk_period_ms;
	int64_t apart = tm->alive_period_ms + 2 * tm->chunk_period_ms;
	for (uint64_t k = 0; k < 6; k++) {
		enum scen_leaf_kind kinds[2] = { LEAF_OWN_NAT, LEAF_OWN_NAT };
		struct scen_opts o;
		scen_opts_init(&o);
		o.dormant = true;
		struct scen s;
		scen_build(&s, harness_seed() + k, 2, kinds, &o);
		scen_start(&s);
		CHECK(sim_run_until(s.sim, direct, &s, 60000) >= 0);
		sim_run_to(s.sim, sim_now(s.sim) + 10 * MIN_MS);
		int a = s.leaf[0], b = s.leaf[1];
		CHECK(dormant(s.sim, a, b) && dormant(s.sim, b, a));
		vnet_iface_set_up(s.net, vnet_node_iface(s.net, s.hub_host, 0), false);
		int64_t down = sim_now(s.sim), woke[2] = { -1, -1 };
		for (int64_t t = down + 1000; t <= down + 5 * MIN_MS && (woke[0] < 0 || woke[1] < 0);
		     t += 1000) {
			sim_run_to(s.sim, t);
			if (woke[0] < 0 && !dormant(s.sim, a, b))
				woke[0] = t - down;
			if (woke[1] < 0 && !dormant(s.sim, b, a))
				woke[1] = t - down;
		}
		int64_t first = woke[0] < woke[1] ? woke[0] : woke[1];
		int64_t last = woke[0] < woke[1] ? woke[1] : woke[0];
		CHECK_MSG(first >= 0 && last <= by, "seed +%llu: woke %.0f s and %.0f s after the "
			  "router went (bound %.0f s)", (unsigned long long)k,
			  (double)woke[0] / 1000, (double)woke[1] / 1000, (double)by / 1000);
		CHECK_MSG(last - first <= apart, "seed +%llu: the sides woke %.0f s apart",
			  (unsigned long long)k, (double)(last - first) / 1000);
		/* The operator sees why: the router's line in the dump. */
		struct dump_find f = { " silent", false };
		engine_dump(sim_node_engine(s.sim, a), sim_now(s.sim), dump_find_line, &f);
		CHECK_MSG(f.found, "seed +%llu: the dump does not show the router silent",
			  (unsigned long long)k);
		struct pinger p;
		pinger_init(&p, &s);
		int64_t start = sim_now(s.sim);
		int64_t t = ping_until(&p, answered_direct, start, 30000);
		CHECK_MSG(t >= 0 && t <= 5000, "seed +%llu: first direct answer %.1f s after the "
			  "pings began, the router away", (unsigned long long)k, (double)t / 1000);
		CHECK(scen_pair_direct(&s, 0, 1, HEALTHY_MS));
		printf("# router gone, seed +%llu: the dormant sides woke %.0f s and %.0f s later, "
		       "pings answered directly %.1f s after they began (virtual)\n",
		       (unsigned long long)k, (double)woke[0] / 1000, (double)woke[1] / 1000,
		       (double)t / 1000);
		scen_free(&s);
	}
}

/* What the hub knows of leaf i: that it is ours, reads leases, may be
 * dormant. */
static bool hub_knows(struct scen *s, size_t i)
{
	struct engine_peer_info info;
	return scen_hub_info(s, i, &info) && info.ours && info.lease_ok && info.dormant_ok;
}

static size_t hub_knows_all(struct scen *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n_leaves; i++)
		n += hub_knows(s, i);
	return n;
}

/* A router forgets what a leaf's hellos told it when the leaf takes a new
 * boot id (here: suspended 30 s, its wall clock stepped), and everything
 * when it restarts itself. The leaf does not know to say it again: the
 * router asks (path.c: router_unsure). Without that the hub woke fewer
 * leaves at each restart, and passed stale ports to leaves it no longer
 * took for ours. */
TEST(a_router_learns_again_what_it_forgot_of_its_leaves)
{
	enum scen_leaf_kind kinds[3] = { LEAF_OWN_NAT, LEAF_PUBLIC, LEAF_SHARED_LAN };
	struct scen s;
	build(&s, 3, kinds, true);
	scen_start(&s);
	sim_run_to(s.sim, 2 * MIN_MS);
	CHECK_EQ(hub_knows_all(&s), 3);
	sim_suspend_node(s.sim, s.leaf[0], 30000, 90000);
	sim_run_to(s.sim, sim_now(s.sim) + 30000 + 2 * MIN_MS);
	CHECK_MSG(hub_knows(&s, 0), "the hub does not know leaf1 again 2 min after its new boot id");
	sim_restart_node(s.sim, s.hub);
	sim_run_to(s.sim, sim_now(s.sim) + 2 * MIN_MS);
	CHECK_MSG(hub_knows_all(&s) == 3, "2 min after its restart the hub knows %zu of 3 leaves",
		  hub_knows_all(&s));
	scen_free(&s);
}

/* A leaf's own idle traffic, per leaf: with dormant pairs it is what it
 * sends its router, the same at 8 leaves as at 24; without, it grows with
 * the number of leaves it is direct with. */
static double leaf_bps(size_t n, bool dormant_on)
{
	enum scen_leaf_kind kinds[24] = { LEAF_PUBLIC };
	for (size_t i = 0; i < n && i < 24; i++)
		kinds[i] = (enum scen_leaf_kind)(i % 3);
	struct scen s;
	build(&s, n, kinds, dormant_on);
	scen_start(&s);
	sim_run_to(s.sim, 10 * MIN_MS);
	uint64_t before = 0, after = 0;
	for (size_t i = 0; i < n; i++)
		before += sim_node_stats(s.sim, s.leaf[i])->tx_bytes;
	sim_run_to(s.sim, 30 * MIN_MS);
	for (size_t i = 0; i < n; i++)
		after += sim_node_stats(s.sim, s.leaf[i])->tx_bytes;
	size_t pairs = 0, direct_pairs = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++, pairs++)
			direct_pairs += scen_pair_direct(&s, i, j, HEALTHY_MS);
	CHECK_MSG(direct_pairs == pairs, "%zu leaves, dormant %d: %zu of %zu pairs direct", n,
		  dormant_on, direct_pairs, pairs);
	scen_free(&s);
	return (double)(after - before) / (20 * 60) / (double)n;
}

TEST(a_leafs_idle_traffic_does_not_grow_with_the_network)
{
	double small = leaf_bps(8, true), big = leaf_bps(24, true);
	double small_off = leaf_bps(8, false), big_off = leaf_bps(24, false);
	printf("# a leaf sends %.1f B/s with 8 leaves, %.1f B/s with 24 (dormant pairs); "
	       "%.1f and %.1f B/s without\n",
	       small, big, small_off, big_off);
	CHECK_MSG(big <= 1.1 * small, "%.1f B/s at 24 leaves, %.1f at 8", big, small);
	CHECK(big < big_off / 2);
}
