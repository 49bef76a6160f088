/* Scenario (d): the direct path between two leaves is cut; both fall back
 * to the hub (the leaf-to-leaf peer keeps only its auto address, tunnel
 * traffic flows through the hub); the path comes back and they go direct
 * again. Prints the virtual times. The pair is idle when the path is cut,
 * and the fall back is what the handshake going stale (or the quiet
 * period) times: Dormant is off here, as a dormant pair never falls back
 * while idle, by design; the first traffic finds the path dead
 * (test_sim_heal quiet_pair_path_died_while_idle, test_sim_dormant). */
#include <stdio.h>

#include "sim/scenario.h"
#include "unit/harness.h"

#define HEALTHY_MS (sim_timing()->handshake_validity_ms)

static bool direct(struct sim *sim, void *ctx)
{
	return scen_pair_direct(ctx, 0, 1, HEALTHY_MS);
}

static bool fell_back(struct sim *sim, void *ctx)
{
	struct scen *s = ctx;
	struct sim_peer_view v1, v2;
	return sim_peer_view(sim, s->leaf[0], s->leaf[1], &v1) && sim_view_auto_only(&v1) &&
	       sim_peer_view(sim, s->leaf[1], s->leaf[0], &v2) && sim_view_auto_only(&v2);
}

/* Sends test traffic one way, then back once it arrived (a request and
 * its answer), and checks which peer it came through: the sending leaf
 * itself (direct) or the hub. Not both at once: an idle quiet pair
 * (core/quiet.c) has no session, and WireGuard takes 5 s for two
 * initiations that cross. */
static void check_traffic(struct scen *s, bool direct_path, const char *what)
{
	struct sim *sim = s->sim;
	int64_t at;
	int via;
	int via12 = direct_path ? s->leaf[0] : s->hub, via21 = direct_path ? s->leaf[1] : s->hub;
	CHECK_EQ(sim_app_send(sim, s->leaf[0], s->leaf[1]), 0);
	int64_t sent = sim_now(sim);
	sim_run_to(sim, sent + 2000);
	CHECK_MSG(sim_app_last(sim, s->leaf[1], s->leaf[0], &at, &via) && at >= sent && via == via12,
		  "%s: leaf1 -> leaf2 traffic did not arrive through %s", what, sim_node_name(sim, via12));
	CHECK_EQ(sim_app_send(sim, s->leaf[1], s->leaf[0]), 0);
	sent = sim_now(sim);
	sim_run_to(sim, sent + 2000);
	CHECK_MSG(sim_app_last(sim, s->leaf[0], s->leaf[1], &at, &via) && at >= sent && via == via21,
		  "%s: leaf2 -> leaf1 traffic did not arrive through %s", what, sim_node_name(sim, via21));
}

static void run(const char *label, enum scen_leaf_kind k1, enum scen_leaf_kind k2)
{
	enum scen_leaf_kind kinds[2] = { k1, k2 };
	struct scen s;
	struct scen_opts o;
	scen_opts_init(&o);
	o.dormant = 0;
	scen_build(&s, harness_seed(), 2, kinds, &o);
	scen_start(&s);
	int64_t t = sim_run_until(s.sim, direct, &s, 900000);
	CHECK_MSG(t >= 0, "%s: never direct", label);
	if (t < 0) {
		sim_dump(s.sim, stdout);
		scen_free(&s);
		return;
	}
	/* Deconfiguring is only allowed once a node has run for FactTTL. */
	sim_run_to(s.sim, t + 300000);
	CHECK(direct(s.sim, &s));
	check_traffic(&s, true, "before the cut");

	char a[WL_ADDR_STR_MAX], b[WL_ADDR_STR_MAX];
	scen_public_addr(&s, 0, a, sizeof(a));
	scen_public_addr(&s, 1, b, sizeof(b));
	vnet_block(s.net, a, b);
	int64_t cut = sim_now(s.sim);
	/* Idle, so no path watch: the handshake going stale tells, or for
	 * public leaves, a quiet pair, two quiet periods without an Alive. */
	t = sim_run_until(s.sim, fell_back, &s, 900000 + 2 * 600000);
	CHECK_MSG(t >= 0, "%s: no fallback to the hub", label);
	if (t < 0) {
		sim_dump(s.sim, stdout);
		scen_free(&s);
		return;
	}
	printf("# %s: fell back to the hub %.1f s after the cut (virtual)\n", label,
	       (double)(t - cut) / 1000);
	/* Let both sides settle (the other side may lag a tick). */
	sim_run_to(s.sim, sim_now(s.sim) + 1000);
	check_traffic(&s, false, "after the cut");
	/* The leaves keep each other as peers: the hub still vouches. */
	struct sim_peer_view v;
	CHECK(sim_peer_view(s.sim, s.leaf[0], s.leaf[1], &v));

	/* Hold the cut a while: still via the hub, no flapping (no AllowedIPs
	 * given back to the unreachable leaf meanwhile). */
	int64_t hold = sim_now(s.sim);
	sim_run_to(s.sim, hold + 120000);
	CHECK(fell_back(s.sim, &s));
	CHECK_EQ(sim_trace_count(s.sim, s.leaf[0], ENGINE_EV_ALLOWED, s.leaf[1], hold), 0);
	CHECK_EQ(sim_trace_count(s.sim, s.leaf[1], ENGINE_EV_ALLOWED, s.leaf[0], hold), 0);
	check_traffic(&s, false, "long after the cut");

	vnet_unblock(s.net, a, b);
	int64_t restored = sim_now(s.sim);
	t = sim_run_until(s.sim, direct, &s, 900000);
	CHECK_MSG(t >= 0, "%s: not direct again after the path came back", label);
	if (t < 0) {
		sim_dump(s.sim, stdout);
		scen_free(&s);
		return;
	}
	printf("# %s: direct again %.1f s after the path came back (virtual)\n", label,
	       (double)(t - restored) / 1000);
	sim_run_to(s.sim, sim_now(s.sim) + 1000);
	CHECK(sim_trace_count(s.sim, s.leaf[0], ENGINE_EV_ALLOWED, s.leaf[1], restored) > 0);
	check_traffic(&s, true, "after the restore");
	scen_free(&s);
}

TEST(d_cut_falls_back_to_hub_and_recovers_public)
{
	run("(d) public leaves", LEAF_PUBLIC, LEAF_PUBLIC);
}

TEST(d_cut_falls_back_to_hub_and_recovers_natted)
{
	run("(d) leaves behind home NATs", LEAF_OWN_NAT, LEAF_OWN_NAT);
}

struct any_direct {
	struct scen *s;
	struct wl_endpoint old; /* leaf2's view of leaf1 before the reboot */
};

/* Direct both ways, and leaf2 reaches leaf1 at a new endpoint. */
static bool direct_again_elsewhere(struct sim *sim, void *ctx)
{
	struct any_direct *a = ctx;
	struct sim_peer_view v;
	if (!sim_direct(sim, a->s->leaf[0], a->s->leaf[1], NULL, HEALTHY_MS) ||
	    !sim_direct(sim, a->s->leaf[1], a->s->leaf[0], NULL, HEALTHY_MS) ||
	    !sim_peer_view(sim, a->s->leaf[1], a->s->leaf[0], &v))
		return false;
	return v.endpoint.port != a->old.port || !wl_addr_equal(&v.endpoint.addr, &a->old.addr);
}

static bool any_direct(struct sim *sim, void *ctx)
{
	struct any_direct *a = ctx;
	return sim_direct(sim, a->s->leaf[0], a->s->leaf[1], NULL, HEALTHY_MS) &&
	       sim_direct(sim, a->s->leaf[1], a->s->leaf[0], NULL, HEALTHY_MS);
}

TEST(d2_nat_reboot_moves_a_leaf_to_a_new_port)
{
	/* Both leaves behind NATs that pick random ports; leaf1's NAT
	 * reboots and forgets every mapping. Its new public endpoint must
	 * reach leaf2 (through the hub's Endpoint fact, or by roaming), and
	 * the direct link must come back on it. */
	struct scen_opts o;
	scen_opts_init(&o);
	o.nat.port_preserving = false;
	enum scen_leaf_kind kinds[2] = { LEAF_OWN_NAT, LEAF_OWN_NAT };
	struct scen s;
	scen_build(&s, harness_seed(), 2, kinds, &o);
	scen_start(&s);
	struct any_direct a = { .s = &s };
	int64_t t = sim_run_until(s.sim, any_direct, &a, 900000);
	CHECK_MSG(t >= 0, "never direct");
	sim_run_to(s.sim, (t < 0 ? 0 : t) + 300000);
	struct sim_peer_view v;
	CHECK(sim_peer_view(s.sim, s.leaf[1], s.leaf[0], &v));
	a.old = v.endpoint;
	vnet_nat_reset(s.net, s.nat[0]);
	int64_t reboot = sim_now(s.sim);
	t = sim_run_until(s.sim, direct_again_elsewhere, &a, 900000);
	CHECK_MSG(t >= 0, "not direct again after leaf1's NAT rebooted");
	if (t < 0) {
		sim_dump(s.sim, stdout);
		scen_free(&s);
		return;
	}
	printf("# (d2) leaf1's NAT rebooted (new port): direct again %.1f s later (virtual)\n",
	       (double)(t - reboot) / 1000);
	sim_run_to(s.sim, sim_now(s.sim) + 1000);
	check_traffic(&s, true, "after the NAT reboot");
	scen_free(&s);
}
