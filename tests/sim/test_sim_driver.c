/* The simulator runs the daemon's own tick driver (src/daemon/driver.c):
 * these scenarios exercise the parts of it that lie outside the engine —
 * reloading the configuration, turning WireGuard's wall-clock handshake
 * times into the engine's clock (also across a wall-clock jump), and
 * re-resolving DNS names of configured endpoints. */
#include <stdio.h>
#include <string.h>

#include "daemon/driver.h"
#include "sim/scenario.h"
#include "unit/harness.h"

#define HEALTHY_MS (sim_timing()->handshake_validity_ms)
#define HOUR_MS 3600000

static bool pair_direct(struct sim *sim, void *ctx)
{
	return scen_pair_direct(ctx, 0, 1, HEALTHY_MS);
}

static void build_two_leaves_opts(struct scen *s, const struct scen_opts *o)
{
	enum scen_leaf_kind kinds[2] = { LEAF_PUBLIC, LEAF_OWN_NAT };
	scen_build(s, harness_seed(), 2, kinds, o);
}

static void build_two_leaves(struct scen *s)
{
	build_two_leaves_opts(s, NULL);
}

/* SIGHUP in the simulator: leaf1 names the hub in its configuration and
 * reloads. A new engine (new boot id) takes the name, relearns what it
 * knew from its peers, and the direct link never goes away. */
TEST(reload_through_the_driver)
{
	struct scen s;
	build_two_leaves(&s);
	scen_start(&s);
	CHECK(sim_run_until(s.sim, pair_direct, &s, 60000) >= 0);
	sim_run_to(s.sim, 120000);
	int leaf = s.leaf[0];
	struct engine *before = sim_node_engine(s.sim, leaf);
	uint8_t hub_key[WL_KEY_LEN], boot_before[BOOT_ID_LEN], boot_after[BOOT_ID_LEN];
	sim_node_key(s.sim, s.hub, hub_key);
	engine_boot_id(before, boot_before);
	size_t facts_before = engine_fact_count(before);

	struct sim_peer_cfg c;
	sim_peer_cfg_init(&c);
	c.name = "core";
	sim_config_peer(s.sim, leaf, s.hub, &c);
	char why[200] = "";
	CHECK_MSG(sim_reload_node(s.sim, leaf, why, sizeof(why)) == 0, "reload refused: %s", why);
	int64_t t0 = sim_now(s.sim);

	struct driver *drv = sim_node_driver(s.sim, leaf);
	CHECK_EQ(driver_get_stats(drv)->reloads, 1);
	struct engine *after = sim_node_engine(s.sim, leaf);
	engine_boot_id(after, boot_after);
	CHECK(memcmp(boot_before, boot_after, BOOT_ID_LEN) != 0);
	CHECK_EQ(driver_config(drv)->n_peers, 1);
	/* The running configuration is the new one. */
	CHECK(strcmp(driver_config(drv)->peers[0].name, "core") == 0);
	bool stayed = true;
	while (sim_now(s.sim) < t0 + 300000 && stayed) {
		sim_run_to(s.sim, sim_now(s.sim) + 5000);
		stayed = pair_direct(s.sim, &s);
	}
	CHECK_MSG(stayed, "the direct link broke %.1f s after the reload",
		  (double)(sim_now(s.sim) - t0) / 1000);
	struct engine_peer_info hub;
	CHECK(engine_peer_info(after, hub_key, sim_now(s.sim), &hub));
	CHECK(strcmp(hub.name, "core") == 0);
	CHECK(engine_fact_count(after) >= facts_before);
	/* The hub noticed the new boot id and resent what it knows. */
	CHECK(sim_trace_find(s.sim, s.hub, ENGINE_EV_PEER_BOOT, leaf, t0) >= 0);
	printf("# reload: leaf1 knows %zu facts again %.1f s later (%zu before)\n",
	       engine_fact_count(after), (double)(sim_now(s.sim) - t0) / 1000, facts_before);
	scen_free(&s);
}

/* WireGuard reports handshakes in wall-clock time; the driver turns them
 * into the engine's monotonic clock from their age. A leaf whose wall
 * clock is an hour ahead sees the same handshake times as virtual time
 * says; when its wall clock then jumps by an hour, the driver notices, the
 * engine picks a new boot id, and the link stays up although every stamp
 * WireGuard kept is now an hour old. */
TEST(handshake_times_from_the_wall_clock)
{
	struct scen s;
	build_two_leaves(&s);
	int leaf = s.leaf[0], other = s.leaf[1];
	sim_set_wall_offset(s.sim, leaf, HOUR_MS);
	scen_start(&s);
	int64_t t = sim_run_until(s.sim, pair_direct, &s, 60000);
	CHECK(t >= 0);
	sim_run_to(s.sim, 200000);
	uint8_t other_key[WL_KEY_LEN];
	sim_node_key(s.sim, other, other_key);
	struct engine_peer_info info;
	CHECK(engine_peer_info(sim_node_engine(s.sim, leaf), other_key, sim_now(s.sim), &info));
	int64_t virt = vwg_peer_handshake(sim_node_dev(s.sim, leaf), other_key);
	CHECK(virt > 0);
	CHECK_MSG(info.last_handshake_ms == virt, "engine sees the handshake at %lld, it was at %lld",
		  (long long)info.last_handshake_ms, (long long)virt);
	CHECK(info.healthy);

	struct driver *drv = sim_node_driver(s.sim, leaf);
	CHECK_EQ(driver_get_stats(drv)->clock_jumps, 0);
	int64_t jump = sim_now(s.sim);
	sim_set_wall_offset(s.sim, leaf, 2 * HOUR_MS);
	sim_run_to(s.sim, jump + 10000);
	CHECK_EQ(driver_get_stats(drv)->clock_jumps, 1);
	CHECK(sim_trace_find(s.sim, leaf, ENGINE_EV_BOOT_ID, -1, jump) >= 0);
	/* Handshakes stamped before the jump now look an hour old; data still
	 * arriving keeps the peer healthy until the next handshake, so nothing
	 * is deconfigured and the link stays direct. */
	sim_run_to(s.sim, jump + 300000);
	CHECK_EQ(sim_trace_count(s.sim, leaf, ENGINE_EV_UNHEALTHY, other, jump), 0);
	CHECK_EQ(sim_trace_count(s.sim, leaf, ENGINE_EV_DECONFIGURE, other, jump), 0);
	CHECK(pair_direct(s.sim, &s));
	CHECK(engine_peer_info(sim_node_engine(s.sim, leaf), other_key, sim_now(s.sim), &info));
	CHECK_EQ(info.last_handshake_ms, vwg_peer_handshake(sim_node_dev(s.sim, leaf), other_key));
	scen_free(&s);
}

/* A wall clock stepped back (NTP after a resume, an RTC kept in local
 * time) must not make old handshakes look young: their stamps are now in
 * the wall clock's future, and taken at face value (age clamped to 0)
 * every one of them looked as if it had just happened, for as long as the
 * step — an hour here, during which a dead idle path stayed "healthy" and
 * was never given up. The driver keeps the time it gave a stamp it has
 * seen before, so after the step the idle leaf falls back to the hub as
 * it would without one: HandshakeValidity after the last handshake (found
 * by the hour of bad weather, test_sim_weather). */
TEST(a_wall_clock_stepped_back_keeps_handshakes_old)
{
	struct scen s;
	/* What is checked is the handshake clock, by the fall back it times.
	 * A dormant pair (core/quiet.c) never falls back while idle: the
	 * first traffic finds a dead path. */
	struct scen_opts o;
	scen_opts_init(&o);
	o.dormant = 0;
	build_two_leaves_opts(&s, &o);
	int leaf = s.leaf[0], other = s.leaf[1];
	scen_start(&s);
	CHECK(sim_run_until(s.sim, pair_direct, &s, 60000) >= 0);
	/* Idle past FactTTL: a younger node does not deconfigure yet. */
	sim_run_to(s.sim, sim_timing()->fact_ttl_ms + 60000);
	sim_set_wall_offset(s.sim, leaf, -HOUR_MS);
	sim_run_to(s.sim, sim_now(s.sim) + 10000);
	CHECK_EQ(driver_get_stats(sim_node_driver(s.sim, leaf))->clock_jumps, 1);
	uint8_t other_key[WL_KEY_LEN];
	sim_node_key(s.sim, other, other_key);
	int64_t last = vwg_peer_handshake(sim_node_dev(s.sim, leaf), other_key);
	char a[WL_ADDR_STR_MAX], b[WL_ADDR_STR_MAX];
	vnet_block(s.net, scen_public_addr(&s, 0, a, sizeof(a)), scen_public_addr(&s, 1, b, sizeof(b)));
	int64_t cut = sim_now(s.sim);
	sim_run_to(s.sim, cut + 600000);
	int64_t back = sim_trace_find(s.sim, leaf, ENGINE_EV_DECONFIGURE, other, cut);
	int64_t bound = last + HEALTHY_MS + 3 * sim_timing()->chunk_period_ms;
	CHECK_MSG(back >= 0 && back <= bound,
		  "leaf1 fell back to the hub at %.1f s, the last handshake was at %.1f s",
		  (double)back / 1000, (double)last / 1000);
	printf("# wall clock stepped back 1 h, path cut while idle: leaf1 back on the hub %.1f s "
	       "after the last handshake\n",
	       (double)(back - last) / 1000);
	scen_free(&s);
}

struct endpoint_fact {
	uint8_t subject[WL_KEY_LEN];
	char want[WL_ENDPOINT_STR_MAX];
	bool found;
};

static void find_endpoint(void *ctx, const struct fact *f, int64_t expires, bool local)
{
	struct endpoint_fact *q = ctx;
	char v[FACT_VALUE_STR_MAX];
	if (local && f->attr == ATTR_ENDPOINT_V4 && memcmp(f->subject, q->subject, WL_KEY_LEN) == 0 &&
	    strcmp(fact_value_str(f, v, sizeof(v)), q->want) == 0)
		q->found = true;
}

static bool has_endpoint_fact(struct sim *sim, int node, int about, const char *ep)
{
	struct endpoint_fact q = { .found = false };
	sim_node_key(sim, about, q.subject);
	snprintf(q.want, sizeof(q.want), "%s", ep);
	engine_foreach_fact(sim_node_engine(sim, node), find_endpoint, &q);
	return q.found;
}

/* A configured endpoint given as a DNS name: while the peer is neither
 * alive nor healthy, the driver resolves it again once a resolve interval
 * has passed and hands the new address to the engine. */
TEST(dns_names_resolved_again_while_needed)
{
	struct scen s;
	build_two_leaves(&s);
	int leaf = s.leaf[0], other = s.leaf[1];
	sim_dns_set(s.sim, "leaf2.example", "203.0.113.77");
	struct sim_peer_cfg c;
	sim_peer_cfg_init(&c);
	c.endpoints = "leaf2.example:51820";
	sim_config_peer(s.sim, leaf, other, &c);
	/* leaf2 stays down: its configured endpoint is what leaf1 has. */
	sim_start_node(s.sim, s.hub);
	sim_start_node(s.sim, leaf);
	sim_run_to(s.sim, 10000);
	CHECK(has_endpoint_fact(s.sim, leaf, other, "203.0.113.77:51820"));
	sim_dns_set(s.sim, "leaf2.example", "203.0.113.78");
	int64_t moved = sim_now(s.sim);
	sim_run_to(s.sim, DRIVER_RESOLVE_INTERVAL_MS - 5000);
	CHECK(has_endpoint_fact(s.sim, leaf, other, "203.0.113.77:51820"));
	sim_run_to(s.sim, DRIVER_RESOLVE_INTERVAL_MS + 10000);
	CHECK(has_endpoint_fact(s.sim, leaf, other, "203.0.113.78:51820"));
	CHECK(!has_endpoint_fact(s.sim, leaf, other, "203.0.113.77:51820"));
	CHECK(driver_get_stats(sim_node_driver(s.sim, leaf))->resolves >= 1);
	printf("# dns: the moved name was in use %.0f s later\n",
	       (double)(DRIVER_RESOLVE_INTERVAL_MS + 10000 - moved) / 1000);
	scen_free(&s);
}
