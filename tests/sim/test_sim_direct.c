/* Scenarios (a)-(c): two leaves of a hub learn each other from the hub and
 * set up a direct link — on the internet, behind two port-preserving home
 * NATs, and on one LAN behind one NAT (where only LAN addresses work).
 * Prints the virtual time each took. */
#include <stdio.h>

#include "sim/scenario.h"
#include "unit/harness.h"

/* "Healthy" in SPEC terms: a handshake younger than this. */
#define HEALTHY_MS 165334

struct goal {
	struct scen *s;
	/* Invariant: a leaf's tunnel IP is added to the other's AllowedIPs
	 * only while the engine holds that peer alive and healthy. (It may
	 * stay while unhealthy: deconfiguring waits for FactTTL of uptime.) */
	bool violated;
	bool had[2];
	int64_t first_allowed;
};

static void check_allowed_only_when_alive(struct goal *g, size_t i, size_t j)
{
	struct sim *sim = g->s->sim;
	struct sim_peer_view v;
	struct wl_cidr t;
	char buf[WL_CIDR_STR_MAX];
	int a = g->s->leaf[i], b = g->s->leaf[j];
	if (!sim_peer_view(sim, a, b, &v) || !sim_node_tunnel(sim, b, &t) ||
	    !sim_view_allows(&v, wl_cidr_str(&t, buf))) {
		g->had[i] = false;
		return;
	}
	if (g->had[i])
		return;
	g->had[i] = true;
	if (g->first_allowed < 0)
		g->first_allowed = sim_now(sim);
	uint8_t key[WL_KEY_LEN];
	sim_node_key(sim, b, key);
	struct engine_peer_info info;
	if (!engine_peer_info(sim_node_engine(sim, a), key, sim_now(sim), &info) || !info.alive ||
	    !info.healthy) {
		if (!g->violated)
			printf("# %s added %s's tunnel IP at %.3f s while the peer is %s\n",
			       sim_node_name(sim, a), sim_node_name(sim, b), (double)sim_now(sim) / 1000,
			       !info.alive ? "not alive" : "not healthy");
		g->violated = true;
	}
}

static bool both_direct(struct sim *sim, void *ctx)
{
	struct goal *g = ctx;
	check_allowed_only_when_alive(g, 0, 1);
	check_allowed_only_when_alive(g, 1, 0);
	return scen_pair_direct(g->s, 0, 1, HEALTHY_MS);
}

static void check_traffic_is_direct(struct scen *s)
{
	struct sim *sim = s->sim;
	int64_t at;
	int via;
	CHECK_EQ(sim_app_send(sim, s->leaf[0], s->leaf[1]), 0);
	CHECK_EQ(sim_app_send(sim, s->leaf[1], s->leaf[0]), 0);
	int64_t sent = sim_now(sim);
	sim_run_to(sim, sent + 2000);
	CHECK(sim_app_last(sim, s->leaf[1], s->leaf[0], &at, &via));
	CHECK(at >= sent);
	CHECK_EQ(via, s->leaf[0]);
	CHECK(sim_app_last(sim, s->leaf[0], s->leaf[1], &at, &via));
	CHECK(at >= sent);
	CHECK_EQ(via, s->leaf[1]);
}

static void run_pair(const char *label, enum scen_leaf_kind k1, enum scen_leaf_kind k2,
		     int64_t timeout_ms)
{
	enum scen_leaf_kind kinds[2] = { k1, k2 };
	struct scen s;
	scen_build(&s, harness_seed(), 2, kinds, NULL);
	scen_start(&s);
	struct goal g = { .s = &s, .first_allowed = -1 };
	int64_t t = sim_run_until(s.sim, both_direct, &g, timeout_ms);
	CHECK_MSG(t >= 0, "%s: leaves not direct after %lld s", label, (long long)timeout_ms / 1000);
	if (t < 0) {
		sim_dump(s.sim, stdout);
		scen_free(&s);
		return;
	}
	printf("# %s: leaves direct after %.1f s virtual (tunnel IP first allowed at %.1f s)\n",
	       label, (double)t / 1000, (double)g.first_allowed / 1000);
	CHECK(!g.violated);
	check_traffic_is_direct(&s);
	/* Both still talk to the hub, and it is still their router. */
	CHECK(sim_direct(s.sim, s.leaf[0], s.hub, "198.51.100.1:51820", HEALTHY_MS));
	CHECK(sim_direct(s.sim, s.leaf[1], s.hub, "198.51.100.1:51820", HEALTHY_MS));
	CHECK(engine_is_router(sim_node_engine(s.sim, s.hub)));
	CHECK(!engine_is_router(sim_node_engine(s.sim, s.leaf[0])));
	/* And it stays that way for a while (rekeys, Alive refreshes). */
	struct goal g2 = { .s = &s, .first_allowed = -1 };
	int64_t until = sim_now(s.sim) + 600000;
	while (sim_now(s.sim) < until) {
		sim_run_to(s.sim, sim_now(s.sim) + 10000);
		both_direct(s.sim, &g2);
		CHECK_MSG(scen_pair_direct(&s, 0, 1, HEALTHY_MS), "%s: direct link lost at %.1f s",
			  label, (double)sim_now(s.sim) / 1000);
		if (!scen_pair_direct(&s, 0, 1, HEALTHY_MS))
			break;
	}
	CHECK(!g2.violated);
	scen_free(&s);
}

TEST(a_public_leaves_go_direct)
{
	run_pair("(a) public leaves", LEAF_PUBLIC, LEAF_PUBLIC, 300000);
}

TEST(b_leaves_behind_port_preserving_nats_go_direct)
{
	run_pair("(b) leaves behind two home NATs", LEAF_OWN_NAT, LEAF_OWN_NAT, 900000);
}

TEST(b2_public_leaf_and_natted_leaf_go_direct)
{
	run_pair("(b2) public leaf + leaf behind a home NAT", LEAF_PUBLIC, LEAF_OWN_NAT, 600000);
}

TEST(c_leaves_on_one_lan_use_lan_addresses)
{
	/* scen_pair_direct expects the LAN endpoints 192.168.100.x:51820 for
	 * two leaves on the shared LAN; the NAT does not hairpin. */
	run_pair("(c) leaves on one LAN behind one NAT", LEAF_SHARED_LAN, LEAF_SHARED_LAN, 600000);
}
