/* Scenario (e), trust (SPEC §7): a leaf cannot make others add members or
 * AllowedIPs; facts about peers the receiver does not have need
 * Membership; a configured Trust anywhere switches route-based trust off. */
#include <stdio.h>

#include "sim/scenario.h"
#include "unit/harness.h"

#define HEALTHY_MS (sim_timing()->handshake_validity_ms)

struct fact_search {
	uint8_t subject[WL_KEY_LEN];
	int attr; /* -1 = any */
	size_t found;
};

static void search_cb(void *ctx, const struct fact *f, int64_t expires_ms, bool local)
{
	struct fact_search *s = ctx;
	if (memcmp(f->subject, s->subject, WL_KEY_LEN) == 0 && (s->attr < 0 || f->attr == s->attr))
		s->found++;
}

/* Facts (of attr, -1 = any) about node `about` that node `at` holds. */
static size_t facts_about(struct sim *sim, int at, int about, int attr)
{
	struct fact_search s = { .attr = attr };
	sim_node_key(sim, about, s.subject);
	engine_foreach_fact(sim_node_engine(sim, at), search_cb, &s);
	return s.found;
}

static bool has_peer(struct sim *sim, int node, int peer)
{
	struct sim_peer_view v;
	return sim_peer_view(sim, node, peer, &v);
}

/* A node that is not part of the network: its own public host, no
 * WireGuard peers, no engine. */
static int outsider(struct scen *s, const char *name, const char *addr)
{
	int host = vnet_add_host(s->net, name, s->inet, addr, NULL);
	struct sim_node_opts o = { .name = name, .host = host, .router = WL_AUTO };
	return sim_add_node(s->sim, &o);
}

TEST(e1_a_leaf_cannot_add_members_or_allowed_ips)
{
	enum scen_leaf_kind kinds[2] = { LEAF_PUBLIC, LEAF_PUBLIC };
	struct scen s;
	scen_build(&s, harness_seed(), 2, kinds, NULL);
	int x = outsider(&s, "x", "198.51.100.200");
	/* leaf1's own config claims a member x, routes for x and for leaf2. */
	struct sim_peer_cfg c;
	sim_peer_cfg_init(&c);
	c.name = "x";
	c.allowed = "10.77.0.0/16";
	c.endpoints = "198.51.100.200:51820";
	sim_config_peer(s.sim, s.leaf[0], x, &c);
	sim_peer_cfg_init(&c);
	c.allowed = "10.88.0.0/16";
	sim_config_peer(s.sim, s.leaf[0], s.leaf[1], &c);
	sim_start_node(s.sim, s.hub);
	sim_start_node(s.sim, s.leaf[0]);
	sim_start_node(s.sim, s.leaf[1]);
	sim_run_to(s.sim, 400000);

	/* leaf1 itself believes its config. */
	CHECK(has_peer(s.sim, s.leaf[0], x));
	/* Nobody else does. */
	CHECK(!has_peer(s.sim, s.hub, x));
	CHECK(!has_peer(s.sim, s.leaf[1], x));
	CHECK_EQ(facts_about(s.sim, s.hub, x, -1), 0);
	CHECK_EQ(facts_about(s.sim, s.leaf[1], x, -1), 0);
	struct sim_peer_view v;
	CHECK(sim_peer_view(s.sim, s.hub, s.leaf[1], &v));
	CHECK(!sim_view_allows(&v, "10.88.0.0/16"));
	CHECK(sim_peer_view(s.sim, s.leaf[1], s.leaf[0], &v));
	CHECK(!sim_view_allows(&v, "10.77.0.0/16"));
	CHECK_EQ(facts_about(s.sim, s.hub, s.leaf[1], ATTR_ALLOWED_V4) > 0, 1); /* its /32, from the device */
	/* The hub did receive those claims and refused them. */
	CHECK(engine_get_stats(sim_node_engine(s.sim, s.hub))->rx_untrusted > 0);
	/* Meanwhile the leaves still went direct: the hub is trusted. */
	CHECK(scen_pair_direct(&s, 0, 1, HEALTHY_MS));
	scen_free(&s);
}

TEST(e2_configured_trust_replaces_route_based_trust)
{
	enum scen_leaf_kind kinds[3] = { LEAF_PUBLIC, LEAF_PUBLIC, LEAF_PUBLIC };
	struct scen s;
	scen_build(&s, harness_seed(), 3, kinds, NULL);
	struct sim_peer_cfg c;
	/* leaf2 trusts the hub for endpoints only: the hub's router status no
	 * longer makes it a Membership source. The hub's route must then be
	 * configured too: the hub's own AllowedCidr fact now needs more trust
	 * than the hub has, and after FactTTL leaf2 would remove what no fact
	 * supports. */
	sim_peer_cfg_init(&c);
	c.trust = TRUST_ENDPOINT;
	c.allowed = "10.99.0.0/24";
	sim_config_peer(s.sim, s.leaf[1], s.hub, &c);
	/* leaf3 says explicitly that the hub may vouch for members. */
	sim_peer_cfg_init(&c);
	c.trust = TRUST_MEMBERSHIP;
	sim_config_peer(s.sim, s.leaf[2], s.hub, &c);
	scen_start(&s);
	sim_run_to(s.sim, 400000);

	/* leaf2 never adds the other leaves. */
	CHECK(!has_peer(s.sim, s.leaf[1], s.leaf[0]));
	CHECK(!has_peer(s.sim, s.leaf[1], s.leaf[2]));
	CHECK(engine_get_stats(sim_node_engine(s.sim, s.leaf[1]))->rx_untrusted > 0);
	/* leaf3 (configured) and leaf1 (route-based) do, and go direct. */
	CHECK(has_peer(s.sim, s.leaf[2], s.leaf[0]));
	CHECK(has_peer(s.sim, s.leaf[0], s.leaf[2]));
	CHECK(scen_pair_direct(&s, 0, 2, HEALTHY_MS));
	/* leaf1 and leaf3 have leaf2 as a peer but cannot reach it directly:
	 * leaf2 does not know them. */
	CHECK(has_peer(s.sim, s.leaf[0], s.leaf[1]));
	CHECK(!scen_pair_direct(&s, 0, 1, HEALTHY_MS));
	/* The hub still relays for everyone. */
	int64_t at;
	int via;
	CHECK_EQ(sim_app_send(s.sim, s.leaf[1], s.leaf[0]), 0);
	int64_t sent = sim_now(s.sim);
	sim_run_to(s.sim, sent + 2000);
	CHECK(sim_app_last(s.sim, s.leaf[0], s.leaf[1], &at, &via) && at >= sent);
	CHECK_EQ(via, s.hub);
	scen_free(&s);
}

/* A node with an engine on its own public host. */
static int member_node(struct scen *s, const char *name, const char *addr)
{
	int node = outsider(s, name, addr);
	return node;
}

TEST(e3_facts_about_unknown_peers_need_membership)
{
	/* y is known to leaf1 only (its config and device) and is online:
	 * leaf1 tells the hub about it, and the hub (which has no y, and
	 * gets only Endpoint trust from a leaf) refuses. x is a member the
	 * hub's config vouches for: a router is a Membership source, so the
	 * leaves add x. */
	enum scen_leaf_kind kinds[2] = { LEAF_PUBLIC, LEAF_PUBLIC };
	struct scen s;
	scen_build(&s, harness_seed(), 2, kinds, NULL);
	int y = member_node(&s, "y", "198.51.100.200");
	int x = member_node(&s, "x", "198.51.100.201");
	sim_wg_peer(s.sim, y, s.leaf[0], "198.51.100.10:51820", NULL);
	sim_wg_peer(s.sim, s.leaf[0], y, NULL, NULL);
	struct sim_peer_cfg c;
	sim_peer_cfg_init(&c);
	c.name = "y";
	sim_config_peer(s.sim, s.leaf[0], y, &c);
	sim_wg_peer(s.sim, x, s.hub, "198.51.100.1:51820", "10.99.0.0/24");
	sim_peer_cfg_init(&c);
	c.name = "x";
	sim_config_peer(s.sim, s.hub, x, &c);
	scen_start(&s);
	sim_run_to(s.sim, 400000);

	CHECK(sim_direct(s.sim, s.leaf[0], y, NULL, HEALTHY_MS));
	CHECK(!has_peer(s.sim, s.hub, y));
	CHECK(!has_peer(s.sim, s.leaf[1], y));
	CHECK_EQ(facts_about(s.sim, s.hub, y, -1), 0);
	CHECK(engine_get_stats(sim_node_engine(s.sim, s.hub))->rx_untrusted > 0);

	CHECK(has_peer(s.sim, s.hub, x));
	CHECK(has_peer(s.sim, s.leaf[0], x));
	CHECK(has_peer(s.sim, s.leaf[1], x));
	CHECK(facts_about(s.sim, s.leaf[0], x, ATTR_MEMBER_META) > 0);
	scen_free(&s);
}
