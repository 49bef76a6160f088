/* A leaf loses its uplink for a few minutes, then gets it back. It must
 * end up exactly where it was: a leaf, with the hub's route, direct to the
 * other leaf.
 *
 * This once failed: the leaf, with the hub's handshake stale and past
 * FactTTL, reduced the hub to its auto address like any unhealthy peer,
 * then no longer saw a router among its peers, turned router itself and
 * refused the hub's AllowedCidr fact for good. The engine now keeps an
 * unhealthy router's AllowedIPs and remembers a peer's router role while
 * it stays in the device (src/core/observe.c, apply.c). */
#include <stdio.h>

#include "sim/scenario.h"
#include "unit/harness.h"

#define HEALTHY_MS (sim_timing()->handshake_validity_ms)

static bool recovered(struct sim *sim, void *ctx)
{
	struct scen *s = ctx;
	struct sim_peer_view v;
	return sim_peer_view(sim, s->leaf[0], s->hub, &v) && sim_view_allows(&v, "10.99.0.0/24") &&
	       !engine_is_router(sim_node_engine(sim, s->leaf[0])) &&
	       scen_pair_direct(s, 0, 1, HEALTHY_MS);
}

static void outage(const char *label, int64_t down_ms)
{
	enum scen_leaf_kind kinds[2] = { LEAF_PUBLIC, LEAF_OWN_NAT };
	struct scen s;
	scen_build(&s, harness_seed(), 2, kinds, NULL);
	scen_start(&s);
	sim_run_to(s.sim, 300000);
	CHECK(recovered(s.sim, &s));
	int ifc = vnet_node_iface(s.net, vnet_node_by_name(s.net, "leaf1"), 0);
	vnet_iface_set_up(s.net, ifc, false);
	sim_run_to(s.sim, 300000 + down_ms);
	vnet_iface_set_up(s.net, ifc, true);
	int64_t t = sim_run_until(s.sim, recovered, &s, 600000);
	CHECK_MSG(t >= 0, "%s: leaf1 did not recover within 10 min (router now: %d)", label,
		  engine_is_router(sim_node_engine(s.sim, s.leaf[0])));
	if (t >= 0)
		printf("# %s: recovered %.1f s after the link came back\n", label,
		       (double)(t - 300000 - down_ms) / 1000);
	scen_free(&s);
}

TEST(short_outage)
{
	outage("1 min outage", 60000);
}

TEST(long_outage)
{
	outage("5 min outage", 300000);
}
