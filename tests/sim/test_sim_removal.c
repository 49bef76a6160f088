/* Scenario (f), the peer-removal safety rules (SPEC §10.6): a device peer
 * that nobody vouches for is removed only once the node has run for
 * FactTTL and a Membership source (here the hub, a router) has been
 * healthy and alive for FactTTL + ChunkPeriod; never a configured peer,
 * never by a router, never while no Membership source is alive. */
#include <stdio.h>

#include "sim/scenario.h"
#include "unit/harness.h"

#define FACT_TTL_MS (sim_timing()->fact_ttl_ms)
#define CHUNK_MS (sim_timing()->chunk_period_ms)
#define HEALTHY_MS (sim_timing()->handshake_validity_ms)

static bool has_peer(struct sim *sim, int node, int peer)
{
	struct sim_peer_view v;
	return sim_peer_view(sim, node, peer, &v);
}

struct gone {
	int node, peer;
};

static bool peer_gone(struct sim *sim, void *ctx)
{
	struct gone *g = ctx;
	return !has_peer(sim, g->node, g->peer);
}

/* Two public leaves and a "stray" peer key (a node on the network that
 * never runs anything). Engines of hub and leaves are started by the
 * caller. */
static int build(struct scen *s)
{
	enum scen_leaf_kind kinds[2] = { LEAF_PUBLIC, LEAF_PUBLIC };
	scen_build(s, harness_seed(), 2, kinds, NULL);
	int host = vnet_add_host(s->net, "stray", s->inet, "198.51.100.250", NULL);
	struct sim_node_opts o = { .name = "stray", .host = host, .router = WL_AUTO };
	return sim_add_node(s->sim, &o);
}

static void start(struct scen *s)
{
	sim_start_node(s->sim, s->hub);
	for (size_t i = 0; i < s->n_leaves; i++)
		sim_start_node(s->sim, s->leaf[i]);
}

TEST(f1_unvouched_peer_removed_only_after_the_waiting_periods)
{
	struct scen s;
	int stray = build(&s);
	sim_wg_peer(s.sim, s.leaf[0], stray, "198.51.100.250:51820", NULL);
	start(&s);
	sim_run_to(s.sim, FACT_TTL_MS - 5000);
	CHECK(has_peer(s.sim, s.leaf[0], stray));
	struct gone g = { s.leaf[0], stray };
	int64_t t = sim_run_until(s.sim, peer_gone, &g, 300000);
	CHECK_MSG(t >= 0, "the stray peer was never removed");
	/* The hub became healthy and alive shortly after start; removal must
	 * wait for FactTTL of uptime and FactTTL + ChunkPeriod of hub. */
	CHECK_MSG(t >= FACT_TTL_MS + CHUNK_MS, "removed at %.1f s", (double)t / 1000);
	if (t >= 0)
		printf("# (f) unvouched peer removed at %.1f s virtual (earliest allowed: %.1f s)\n",
		       (double)t / 1000, (double)(FACT_TTL_MS + CHUNK_MS) / 1000);
	/* The peers someone vouches for stay. */
	CHECK(has_peer(s.sim, s.leaf[0], s.leaf[1]));
	CHECK(has_peer(s.sim, s.leaf[0], s.hub));
	CHECK(scen_pair_direct(&s, 0, 1, HEALTHY_MS));
	scen_free(&s);
}

TEST(f2_configured_peer_never_removed)
{
	struct scen s;
	int stray = build(&s);
	struct sim_peer_cfg c;
	sim_peer_cfg_init(&c);
	c.name = "stray";
	sim_config_peer(s.sim, s.leaf[0], stray, &c);
	start(&s);
	sim_run_to(s.sim, 900000);
	CHECK(has_peer(s.sim, s.leaf[0], stray));
	scen_free(&s);
}

TEST(f3_router_never_removes)
{
	struct scen s;
	int stray = build(&s);
	sim_wg_peer(s.sim, s.hub, stray, "198.51.100.250:51820", NULL);
	start(&s);
	sim_run_to(s.sim, 900000);
	CHECK(engine_is_router(sim_node_engine(s.sim, s.hub)));
	CHECK(has_peer(s.sim, s.hub, stray));
	scen_free(&s);
}

TEST(f4_nothing_removed_while_no_membership_source_is_alive)
{
	struct scen s;
	int stray = build(&s);
	start(&s);
	/* Direct first, then the hub disappears for good. */
	sim_run_to(s.sim, 300000);
	CHECK(scen_pair_direct(&s, 0, 1, HEALTHY_MS));
	int hub_host = vnet_node_by_name(s.net, "hub");
	vnet_iface_set_up(s.net, vnet_node_iface(s.net, hub_host, 0), false);
	/* Until its last Alive expires (FactTTL after the cut) the hub still
	 * counts as alive, so a stray added now could go. Add it after. */
	sim_run_to(s.sim, 300000 + FACT_TTL_MS + 10000);
	struct engine_peer_info info;
	uint8_t hub_key[WL_KEY_LEN];
	sim_node_key(s.sim, s.hub, hub_key);
	CHECK(engine_peer_info(sim_node_engine(s.sim, s.leaf[0]), hub_key, sim_now(s.sim), &info));
	CHECK(!info.alive);
	sim_wg_peer(s.sim, s.leaf[0], stray, "198.51.100.250:51820", NULL);
	/* The Member facts from the hub have expired too: leaf1 must still
	 * keep leaf2 (and the stray), since nobody can vouch either way. */
	sim_run_to(s.sim, 1500000);
	CHECK(has_peer(s.sim, s.leaf[0], s.leaf[1]));
	CHECK(has_peer(s.sim, s.leaf[1], s.leaf[0]));
	CHECK(has_peer(s.sim, s.leaf[0], stray));
	CHECK(has_peer(s.sim, s.leaf[0], s.hub));
	CHECK(has_peer(s.sim, s.leaf[1], s.hub));
	/* And their direct link keeps working without the hub. */
	CHECK(scen_pair_direct(&s, 0, 1, HEALTHY_MS));
	scen_free(&s);
}

TEST(f5_membership_source_must_have_been_alive_long_enough)
{
	struct scen s;
	int stray = build(&s);
	sim_wg_peer(s.sim, s.leaf[0], stray, "198.51.100.250:51820", NULL);
	int hub_host = vnet_node_by_name(s.net, "hub");
	int hub_if = vnet_node_iface(s.net, hub_host, 0);
	/* The hub is unreachable for the first 200 s. */
	vnet_iface_set_up(s.net, hub_if, false);
	vnet_schedule_iface(s.net, 200000, hub_if, true);
	start(&s);
	struct gone g = { s.leaf[0], stray };
	/* leaf1 has run for FactTTL at 255 s, but the hub has been alive
	 * only since about 200 s: no removal before ~460 s. */
	int64_t t = sim_run_until(s.sim, peer_gone, &g, 200000 + FACT_TTL_MS + CHUNK_MS - 1000);
	CHECK_MSG(t < 0, "removed at %.1f s, too early", (double)t / 1000);
	t = sim_run_until(s.sim, peer_gone, &g, 200000);
	CHECK_MSG(t >= 0, "never removed");
	if (t >= 0)
		printf("# (f) with the hub back at 200 s: unvouched peer removed at %.1f s virtual\n",
		       (double)t / 1000);
	scen_free(&s);
}
