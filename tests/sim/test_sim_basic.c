/* A "basic" member (SPEC §10.3): a peer that runs plain WireGuard, no
 * wirelink, so it never sends Alive. Configured as Basic on the hub, it
 * gets its AllowedIPs as soon as its handshake is healthy; without the
 * flag it never would (it is never alive). */
#include <stdio.h>

#include "sim/scenario.h"
#include "unit/harness.h"

#define HEALTHY_MS (sim_timing()->handshake_validity_ms)

struct plain_net {
	struct scen s;
	int plain;
};

/* Hub + one leaf + "plain" (public host, tunnel 10.99.0.50, plain
 * WireGuard with the hub as its only peer and a persistent keepalive, as
 * a wg-quick user behind no NAT would have it). */
static void build(struct plain_net *p, bool basic)
{
	enum scen_leaf_kind kinds[1] = { LEAF_PUBLIC };
	scen_build(&p->s, harness_seed(), 1, kinds, NULL);
	struct sim *sim = p->s.sim;
	int host = vnet_add_host(p->s.net, "plain", p->s.inet, "198.51.100.50", NULL);
	struct sim_node_opts o = { .name = "plain", .host = host, .tunnel_ip = "10.99.0.50/24",
				   .router = WL_AUTO };
	p->plain = sim_add_node(sim, &o);
	sim_wg_peer(sim, p->plain, p->s.hub, "198.51.100.1:51820", "10.99.0.0/24");
	struct wg_peer_change ka = { .flags = WG_PEER_UPDATE_ONLY | WG_PEER_SET_KEEPALIVE,
				     .persistent_keepalive = 25 };
	sim_node_key(sim, p->s.hub, ka.public_key);
	CHECK_EQ(vwg_apply(sim_node_dev(sim, p->plain), &ka, 1), 0);
	/* The hub's admin lists it (no AllowedIPs in the device: wirelink
	 * is to add them). */
	struct sim_peer_cfg c;
	sim_peer_cfg_init(&c);
	c.name = "plain";
	c.allowed = "10.99.0.50/32";
	c.basic = basic ? WL_YES : WL_AUTO;
	sim_config_peer(sim, p->s.hub, p->plain, &c);
	sim_start_node(sim, p->s.hub);
	sim_start_node(sim, p->s.leaf[0]);
}

TEST(basic_member_gets_its_allowed_ips_without_alive)
{
	struct plain_net p;
	build(&p, true);
	struct sim *sim = p.s.sim;
	sim_run_to(sim, 60000);
	struct sim_peer_view v;
	CHECK(sim_peer_view(sim, p.s.hub, p.plain, &v));
	CHECK(v.has_endpoint);
	CHECK(sim_view_allows(&v, "10.99.0.50/32"));
	/* A leaf reaches it through the hub. */
	CHECK_EQ(sim_app_send(sim, p.s.leaf[0], p.plain), 0);
	int64_t sent = sim_now(sim), at;
	int via;
	sim_run_to(sim, sent + 2000);
	CHECK(sim_app_last(sim, p.plain, p.s.leaf[0], &at, &via) && at >= sent);
	CHECK_EQ(via, p.s.hub);
	/* The leaf learns it as a member (the hub vouches) with basic set. */
	uint8_t key[WL_KEY_LEN];
	sim_node_key(sim, p.plain, key);
	struct engine_peer_info info;
	CHECK(engine_peer_info(sim_node_engine(sim, p.s.leaf[0]), key, sim_now(sim), &info));
	CHECK_EQ(info.basic, 1);
	CHECK(!info.alive);
	scen_free(&p.s);
}

TEST(without_basic_a_silent_member_gets_nothing)
{
	struct plain_net p;
	build(&p, false);
	struct sim *sim = p.s.sim;
	sim_run_to(sim, 600000);
	struct sim_peer_view v;
	CHECK(sim_peer_view(sim, p.s.hub, p.plain, &v));
	CHECK(v.has_endpoint);
	CHECK(sim_direct(sim, p.s.hub, p.plain, NULL, HEALTHY_MS) == false);
	CHECK(sim_view_auto_only(&v));
	scen_free(&p.s);
}
