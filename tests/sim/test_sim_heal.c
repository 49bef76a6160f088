/* Paths that heal in seconds (the direct-path watch, src/core/path.c):
 * with traffic flowing between two direct leaves — leaf1 pings leaf2
 * every 200 ms, leaf2 answers each request — a cut of their direct path
 * makes both fall back to the hub within seconds, early in the daemons'
 * life too; the hub carries the traffic with no flapping while the cut
 * lasts; the restored path is direct again within seconds; a 5 % lossy
 * path under traffic never flaps; a NAT that forgets its mappings, and a
 * leaf that moves to another network, heal in seconds; every endpoint a
 * leaf tries gets a packet from its WireGuard. Prints the virtual times. */
#include <stdio.h>

#include "sim/pinger.h"
#include "sim/scenario.h"
#include "sim/vwg.h"
#include "unit/harness.h"

#define HEALTHY_MS (sim_timing()->handshake_validity_ms)
/* leaf1 got an answer after `since` straight from leaf2, and both have
 * the other's tunnel IP on the direct peer again. */
static bool answered_direct(struct pinger *p, int64_t since)
{
	return p->answer > since + PING_MS && p->via == p->s->leaf[1] &&
	       scen_pair_direct(p->s, 0, 1, HEALTHY_MS) == true;
}

static bool both_fell_back(struct scen *s)
{
	struct sim_peer_view v1, v2;
	return sim_peer_view(s->sim, s->leaf[0], s->leaf[1], &v1) && sim_view_auto_only(&v1) &&
	       sim_peer_view(s->sim, s->leaf[1], s->leaf[0], &v2) && sim_view_auto_only(&v2);
}

static bool direct(struct sim *sim, void *ctx)
{
	return scen_pair_direct(ctx, 0, 1, HEALTHY_MS);
}

/* Direct both ways, at whatever endpoint (a NAT's random port). */
static bool direct_anywhere(struct sim *sim, void *ctx)
{
	struct scen *s = ctx;
	return sim_direct(sim, s->leaf[0], s->leaf[1], NULL, HEALTHY_MS) &&
	       sim_direct(sim, s->leaf[1], s->leaf[0], NULL, HEALTHY_MS);
}

static void cut_and_heal(const char *label, enum scen_leaf_kind k1, enum scen_leaf_kind k2)
{
	enum scen_leaf_kind kinds[2] = { k1, k2 };
	struct scen s;
	scen_build(&s, harness_seed(), 2, kinds, NULL);
	scen_start(&s);
	CHECK_MSG(sim_run_until(s.sim, direct, &s, 60000) >= 0, "%s: never direct", label);
	struct pinger p;
	pinger_init(&p, &s);
	ping_for(&p, 5000);
	CHECK_MSG(p.via == s.leaf[1], "%s: pings not direct before the cut", label);

	/* Early in the daemons' life: far less than FactTTL of uptime. */
	char a[WL_ADDR_STR_MAX], b[WL_ADDR_STR_MAX];
	scen_public_addr(&s, 0, a, sizeof(a));
	scen_public_addr(&s, 1, b, sizeof(b));
	int64_t cut = sim_now(s.sim);
	CHECK(cut < sim_timing()->fact_ttl_ms);
	vnet_block(s.net, a, b);
	int64_t t = ping_until(&p, answered_via_hub, cut, 60000);
	CHECK_MSG(t >= 0 && t <= 3000, "%s: pings answered via the hub %.1f s after the cut", label,
		  (double)t / 1000);
	CHECK(both_fell_back(&s));
	CHECK(sim_trace_find(s.sim, s.leaf[0], ENGINE_EV_PATH_DEAD, s.leaf[1], cut) >= 0);
	CHECK(sim_trace_find(s.sim, s.leaf[1], ENGINE_EV_PATH_DEAD, s.leaf[0], cut) >= 0);
	printf("# %s: pings answered via the hub %.1f s after the cut (virtual)\n", label,
	       (double)t / 1000);

	/* A minute of the cut: through the hub all along, no flapping. */
	int64_t hold = sim_now(s.sim);
	ping_for(&p, 60000);
	CHECK(both_fell_back(&s));
	CHECK(answered_via_hub(&p, sim_now(s.sim) - 1000)); /* still answered */
	CHECK_EQ(sim_trace_count(s.sim, s.leaf[0], ENGINE_EV_PATH_BACK, s.leaf[1], hold), 0);
	CHECK_EQ(sim_trace_count(s.sim, s.leaf[1], ENGINE_EV_PATH_BACK, s.leaf[0], hold), 0);

	vnet_unblock(s.net, a, b);
	int64_t restored = sim_now(s.sim);
	t = ping_until(&p, answered_direct, restored, 120000);
	CHECK_MSG(t >= 0 && t <= 3000, "%s: direct again %.1f s after the path came back", label,
		  (double)t / 1000);
	printf("# %s: pings direct again %.1f s after the path came back (virtual)\n", label,
	       (double)t / 1000);
	scen_free(&s);
}

TEST(cut_under_traffic_public)
{
	cut_and_heal("public leaves", LEAF_PUBLIC, LEAF_PUBLIC);
}

TEST(cut_under_traffic_natted)
{
	cut_and_heal("leaves behind home NATs", LEAF_OWN_NAT, LEAF_OWN_NAT);
}

/* The path dies a second after the traffic starts on an idle tunnel —
 * before any regular tick (5 s apart) has seen the traffic. The drivers
 * look at the tunnel's counters every half second between ticks
 * (driver_sense), so the watch starts at once and the pings are answered
 * via the hub as quickly as on a path that carried traffic for long. */
TEST(cut_just_after_the_traffic_starts)
{
	enum scen_leaf_kind kinds[2] = { LEAF_OWN_NAT, LEAF_OWN_NAT };
	struct scen s;
	scen_build(&s, harness_seed(), 2, kinds, NULL);
	scen_start(&s);
	CHECK(sim_run_until(s.sim, direct, &s, 60000) >= 0);
	sim_run_to(s.sim, sim_now(s.sim) + 60000); /* idle */
	struct pinger p;
	pinger_init(&p, &s);
	ping_for(&p, 1000);
	CHECK(p.via == s.leaf[1]);
	char a[WL_ADDR_STR_MAX], b[WL_ADDR_STR_MAX];
	scen_public_addr(&s, 0, a, sizeof(a));
	scen_public_addr(&s, 1, b, sizeof(b));
	int64_t cut = sim_now(s.sim);
	vnet_block(s.net, a, b);
	int64_t t = ping_until(&p, answered_via_hub, cut, 60000);
	CHECK_MSG(t >= 0 && t <= 3500, "pings answered via the hub %.1f s after the cut",
		  (double)t / 1000);
	printf("# traffic started 1 s before the cut: pings answered via the hub %.1f s after it "
	       "(virtual)\n",
	       (double)t / 1000);
	scen_free(&s);
}

/* Public leaves idle for 15 minutes are a quiet pair (core/quiet.c): no
 * WireGuard session between them, an Alive each way every 10 minutes.
 * Their path dies unnoticed; then traffic starts, one way: leaf1 pings.
 * leaf1's watch finds the path dead as it would a busy one; leaf2, which
 * only answers into the dead path (and drops leaf1's pings that come
 * through the hub), hears of it from the hub (core/pathnote.c). The
 * pings are answered via the hub within seconds; once the path is back,
 * they are direct again. */
TEST(quiet_pair_path_died_while_idle)
{
	enum scen_leaf_kind kinds[2] = { LEAF_PUBLIC, LEAF_PUBLIC };
	struct scen s;
	scen_build(&s, harness_seed(), 2, kinds, NULL);
	scen_start(&s);
	CHECK(sim_run_until(s.sim, direct, &s, 60000) >= 0);
	sim_run_to(s.sim, sim_now(s.sim) + 15 * 60000);
	CHECK(sim_quiet_healthy(s.sim, s.leaf[0], s.leaf[1]));
	CHECK(sim_quiet_healthy(s.sim, s.leaf[1], s.leaf[0]));
	char a[WL_ADDR_STR_MAX], b[WL_ADDR_STR_MAX];
	scen_public_addr(&s, 0, a, sizeof(a));
	scen_public_addr(&s, 1, b, sizeof(b));
	vnet_block(s.net, a, b);
	/* Dead a while, still idle: nothing told them (it may be up to two
	 * quiet periods). */
	sim_run_to(s.sim, sim_now(s.sim) + 30000);
	CHECK(!both_fell_back(&s));
	struct pinger p;
	pinger_init(&p, &s);
	int64_t start = sim_now(s.sim);
	int64_t t = ping_until(&p, answered_via_hub, start, 60000);
	CHECK_MSG(t >= 0 && t <= 4000, "pings answered via the hub %.1f s after they started",
		  (double)t / 1000);
	CHECK(both_fell_back(&s));
	CHECK(sim_trace_find(s.sim, s.leaf[1], ENGINE_EV_PATH_DEAD, s.leaf[0], start) >= 0);
	printf("# quiet pair, path died while idle: pings answered via the hub %.1f s after "
	       "they started (virtual)\n",
	       (double)t / 1000);
	vnet_unblock(s.net, a, b);
	int64_t restored = sim_now(s.sim);
	t = ping_until(&p, answered_direct, restored, 120000);
	/* leaf2 told of the death retries as a dead path does: a second,
	 * then at most two (it carries answers through the hub). */
	CHECK_MSG(t >= 0 && t <= 5000, "direct again %.1f s after the path came back",
		  (double)t / 1000);
	printf("# quiet pair: pings direct again %.1f s after the path came back (virtual)\n",
	       (double)t / 1000);
	scen_free(&s);
}

/* 5 % loss on every internet crossing, pings for ten minutes: the watch
 * never takes lost packets for a dead path. */
TEST(lossy_path_under_traffic_stays_direct)
{
	enum scen_leaf_kind kinds[2] = { LEAF_OWN_NAT, LEAF_OWN_NAT };
	struct scen_opts o;
	scen_opts_init(&o);
	o.internet_loss_ppm = 50000;
	struct scen s;
	scen_build(&s, harness_seed(), 2, kinds, &o);
	scen_start(&s);
	CHECK(sim_run_until(s.sim, direct, &s, 120000) >= 0);
	int64_t from = sim_now(s.sim);
	struct pinger p;
	pinger_init(&p, &s);
	ping_for(&p, 600000);
	size_t dead = sim_trace_count(s.sim, s.leaf[0], ENGINE_EV_PATH_DEAD, -1, from) +
		      sim_trace_count(s.sim, s.leaf[1], ENGINE_EV_PATH_DEAD, -1, from);
	CHECK_MSG(dead == 0, "%zu paths declared dead under 5 %% loss", dead);
	CHECK(p.via == s.leaf[1]);
	printf("# 5%% loss, 10 min of pings: %zu paths declared dead\n", dead);
	scen_free(&s);
}

/* leaf1's NAT (random ports) forgets its mappings under traffic: pings
 * work again within seconds (via the hub at first), and go direct again
 * at leaf1's new port. */
TEST(nat_rebinding_under_traffic)
{
	enum scen_leaf_kind kinds[2] = { LEAF_OWN_NAT, LEAF_OWN_NAT };
	struct scen_opts o;
	scen_opts_init(&o);
	o.nat.port_preserving = false;
	struct scen s;
	scen_build(&s, harness_seed(), 2, kinds, &o);
	scen_start(&s);
	CHECK(sim_run_until(s.sim, direct_anywhere, &s, 120000) >= 0);
	struct pinger p;
	pinger_init(&p, &s);
	ping_for(&p, 5000);
	CHECK(p.via == s.leaf[1]);
	struct sim_peer_view before;
	CHECK(sim_peer_view(s.sim, s.leaf[1], s.leaf[0], &before));
	int64_t reboot = sim_now(s.sim);
	vnet_nat_reset(s.net, s.nat[0]);
	int64_t works = -1, back = -1;
	for (int64_t end = reboot + 120000; sim_now(s.sim) < end && back < 0;) {
		ping_step(&p);
		sim_run_to(s.sim, sim_now(s.sim) + PING_MS);
		if (works < 0 && p.answer > reboot + PING_MS)
			works = p.answer - reboot;
		struct sim_peer_view v;
		if (works >= 0 && p.via == s.leaf[1] && p.answer > reboot + works &&
		    sim_peer_view(s.sim, s.leaf[1], s.leaf[0], &v) &&
		    !wl_endpoint_equal(&v.endpoint, &before.endpoint) &&
		    direct_anywhere(s.sim, &s))
			back = sim_now(s.sim) - reboot;
	}
	CHECK_MSG(works >= 0 && works <= 5000, "pings work again %.1f s after the NAT reboot",
		  (double)works / 1000);
	CHECK_MSG(back >= 0 && back <= 10000, "direct again %.1f s after the NAT reboot",
		  (double)back / 1000);
	printf("# NAT rebinding under traffic: pings work again after %.1f s, direct at the new "
	       "port after %.1f s (virtual)\n",
	       (double)works / 1000, (double)back / 1000);
	scen_free(&s);
}

/* leaf1, a laptop behind its home NAT, moves onto the internet under
 * traffic: its home link goes down and a public one (198.51.100.50) comes
 * up. Its old endpoint leads nowhere now; pings work again within
 * seconds (via the hub at first) and go direct again at the new address. */
TEST(roaming_leaf_under_traffic)
{
	enum scen_leaf_kind kinds[2] = { LEAF_OWN_NAT, LEAF_OWN_NAT };
	struct scen s;
	scen_build(&s, harness_seed(), 2, kinds, NULL);
	int host = vnet_node_by_name(s.net, "leaf1");
	int home = vnet_node_iface(s.net, host, 0);
	int away = vnet_add_iface(s.net, host, s.inet, "198.51.100.50");
	CHECK(away >= 0);
	vnet_iface_set_up(s.net, away, false);
	scen_start(&s);
	CHECK(sim_run_until(s.sim, direct, &s, 60000) >= 0);
	struct pinger p;
	pinger_init(&p, &s);
	ping_for(&p, 5000);
	CHECK(p.via == s.leaf[1]);
	int64_t roam = sim_now(s.sim);
	vnet_iface_set_up(s.net, home, false);
	vnet_iface_set_up(s.net, away, true);
	int64_t works = -1, back = -1;
	for (int64_t end = roam + 120000; sim_now(s.sim) < end && back < 0;) {
		ping_step(&p);
		sim_run_to(s.sim, sim_now(s.sim) + PING_MS);
		if (works < 0 && p.answer > roam + PING_MS)
			works = p.answer - roam;
		if (works >= 0 && p.via == s.leaf[1] && p.answer > roam + works &&
		    sim_direct(s.sim, s.leaf[1], s.leaf[0], "198.51.100.50:51820", HEALTHY_MS) &&
		    sim_direct(s.sim, s.leaf[0], s.leaf[1], "203.0.113.11:51820", HEALTHY_MS))
			back = sim_now(s.sim) - roam;
	}
	CHECK_MSG(works >= 0 && works <= 5000, "pings work again %.1f s after the move",
		  (double)works / 1000);
	CHECK_MSG(back >= 0 && back <= 10000, "direct again %.1f s after the move", (double)back / 1000);
	printf("# roaming leaf under traffic: pings work again after %.1f s, direct at the new "
	       "address after %.1f s (virtual)\n",
	       (double)works / 1000, (double)back / 1000);
	scen_free(&s);
}

/* When the traffic stops, so do the probes: a few while the path is still
 * watched, then none — an idle path costs nothing, and two watching sides
 * do not keep each other busy with their probes. */
TEST(probes_stop_with_the_traffic)
{
	enum scen_leaf_kind kinds[2] = { LEAF_PUBLIC, LEAF_OWN_NAT };
	struct scen s;
	scen_build(&s, harness_seed(), 2, kinds, NULL);
	scen_start(&s);
	CHECK(sim_run_until(s.sim, direct, &s, 60000) >= 0);
	struct pinger p;
	pinger_init(&p, &s);
	ping_for(&p, 30000);
	struct engine *e1 = sim_node_engine(s.sim, s.leaf[0]), *e2 = sim_node_engine(s.sim, s.leaf[1]);
	uint64_t at_stop = engine_get_stats(e1)->probes_sent + engine_get_stats(e2)->probes_sent;
	sim_run_to(s.sim, sim_now(s.sim) + 10000);
	uint64_t tail = engine_get_stats(e1)->probes_sent + engine_get_stats(e2)->probes_sent - at_stop;
	sim_run_to(s.sim, sim_now(s.sim) + 600000);
	uint64_t idle = engine_get_stats(e1)->probes_sent + engine_get_stats(e2)->probes_sent - at_stop -
			tail;
	CHECK_MSG(tail <= 10, "%llu probes in the 10 s after the traffic", (unsigned long long)tail);
	CHECK_MSG(idle == 0, "%llu probes in the 10 idle minutes after", (unsigned long long)idle);
	CHECK(direct(s.sim, &s));
	printf("# after 30 s of pings: %llu probes in the next 10 s, %llu in the 10 idle minutes "
	       "after\n",
	       (unsigned long long)tail, (unsigned long long)idle);
	scen_free(&s);
}

static uint64_t skipped_at(struct scen *s, size_t i)
{
	return vwg_stats(sim_node_dev(s->sim, s->leaf[i]))->endpoints_skipped;
}

static bool direct_with_all(struct sim *sim, void *ctx)
{
	struct scen *s = ctx;
	for (size_t i = 1; i < s->n_leaves; i++)
		if (!scen_pair_direct(s, 0, i, HEALTHY_MS))
			return false;
	return true;
}

/* leaf1, behind a home NAT and direct with the six leaves of a shared
 * LAN, sleeps four minutes; meanwhile the shared NAT is rebound, so each
 * of the six reappears at a new port. On waking every handshake of leaf1
 * is stale: it tries each peer's candidates (the new port, the LAN
 * address) while its handshakes to the old ports are still being retried.
 * WireGuard sends a new endpoint nothing until the next retry of a
 * handshake under way (RekeyTimeout, 5 s), so a try that made way for the
 * next candidate sooner was never made (it was, once per peer, before
 * apply.c's try_unsent): every endpoint leaf1 sets gets a packet, and
 * every pair is direct again at the new ports. Dormant pairs are off: they
 * follow their peers to the new ports through the router instead. (The
 * time printed is a few seconds, or about 75 s where a pair was quiet: a
 * quiet pair counts as working for 70 s after leaving quiet, as long as
 * no traffic says otherwise; docs/quiet.md.) */
TEST(every_try_after_a_sleep_is_made)
{
	enum scen_leaf_kind kinds[7] = { LEAF_OWN_NAT };
	for (size_t i = 1; i < 7; i++)
		kinds[i] = LEAF_SHARED_LAN;
	struct scen_opts o;
	scen_opts_init(&o);
	o.dormant = 0;
	struct scen s;
	scen_build(&s, harness_seed(), 7, kinds, &o);
	scen_start(&s);
	CHECK(sim_run_until(s.sim, direct_with_all, &s, 5 * 60000) >= 0);
	sim_run_to(s.sim, 5 * 60000);
	uint64_t before = skipped_at(&s, 0);
	int64_t sleep = sim_now(s.sim), wake = sleep + 4 * 60000;
	sim_suspend_node(s.sim, s.leaf[0], wake - sleep, 0);
	vnet_nat_rebind(s.net, s.shared_nat);
	sim_run_to(s.sim, wake);
	int64_t back = sim_run_until(s.sim, direct_with_all, &s, 5 * 60000);
	sim_run_to(s.sim, wake + 5 * 60000);
	uint64_t skipped = skipped_at(&s, 0) - before;
	CHECK_MSG(back >= 0, "leaf1 not direct with all six again within 5 min of waking");
	CHECK_MSG(skipped == 0, "%llu endpoints leaf1 set got no packet",
		  (unsigned long long)skipped);
	CHECK(direct_with_all(s.sim, &s));
	printf("# woke after the shared NAT was rebound: direct with all six again %.1f s later, "
	       "%llu tries skipped (virtual)\n",
	       (double)(back - wake) / 1000, (unsigned long long)skipped);
	scen_free(&s);
}
