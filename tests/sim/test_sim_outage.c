/* Outages. A leaf loses its uplink for a few minutes, then gets it back.
 * It must end up exactly where it was: a leaf, with the hub's route,
 * direct to the other leaf. And the hub goes away for five minutes: the
 * leaves stay direct meanwhile and are back with the hub in seconds.
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
	if (t < 0)
		sim_dump(s.sim, stdout);
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

struct hub_wait {
	struct scen *s;
	int64_t since; /* handshakes after this count */
};

/* Every leaf has the hub at its forwarded address with a handshake since
 * w->since. */
static bool hub_back(struct sim *sim, void *ctx)
{
	struct hub_wait *w = ctx;
	for (size_t i = 0; i < w->s->n_leaves; i++)
		if (!sim_direct(sim, w->s->leaf[i], w->s->hub, "198.51.100.1:51820",
				sim_now(sim) - w->since))
			return false;
	return true;
}

/* Full-auto mode (no wirelink configuration anywhere), the hub at home
 * behind its router's port forward — its own addresses are LAN addresses
 * the leaves cannot reach — and the leaves behind home NATs. The hub is
 * away for five minutes, long enough for the leaves' NATs to forget
 * their mappings, so the hub cannot call them: the leaves must call the
 * hub at the forwarded address the operator configured, whatever the hub
 * advertised, and do within 30 s of its return. Meanwhile the leaves keep
 * their direct path. */
TEST(hub_outage_behind_port_forward_full_auto)
{
	enum scen_leaf_kind kinds[2] = { LEAF_OWN_NAT, LEAF_OWN_NAT };
	struct scen_opts o;
	scen_opts_init(&o);
	o.hub_behind_forward = true;
	struct scen s;
	scen_build(&s, harness_seed(), 2, kinds, &o);
	scen_start(&s);
	sim_run_to(s.sim, 300000);
	CHECK(scen_pair_direct(&s, 0, 1, HEALTHY_MS));
	struct hub_wait w = { &s, 300000 - HEALTHY_MS };
	CHECK(hub_back(s.sim, &w));
	int ifc = vnet_node_iface(s.net, s.hub_host, 0);
	vnet_iface_set_up(s.net, ifc, false);
	for (int64_t t = 330000; t <= 600000; t += 30000) {
		sim_run_to(s.sim, t);
		CHECK_MSG(scen_pair_direct(&s, 0, 1, HEALTHY_MS), "leaves not direct %.0f s into the outage",
			  (double)(t - 300000) / 1000);
	}
	vnet_iface_set_up(s.net, ifc, true);
	w.since = 600000;
	int64_t t = sim_run_until(s.sim, hub_back, &w, 120000);
	CHECK_MSG(t >= 0 && t - 600000 <= 30000, "leaves back with the hub %.1f s after its return",
		  t < 0 ? -1.0 : (double)(t - 600000) / 1000);
	/* And the leaves' own path never noticed the hub come back. */
	for (int64_t at = sim_now(s.sim); at <= 720000; at += 5000) {
		sim_run_to(s.sim, at);
		CHECK_MSG(scen_pair_direct(&s, 0, 1, HEALTHY_MS), "leaves not direct %.0f s after the "
			  "hub's return", (double)(at - 600000) / 1000);
	}
	if (t >= 0)
		printf("# hub behind a port forward, away 5 min: leaves back with it %.1f s after its "
		       "return (virtual)\n",
		       (double)(t - 600000) / 1000);
	scen_free(&s);
}
