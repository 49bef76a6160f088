/* Which peers a tick leaves alone (core/visit.c, docs/due-times.md), in
 * a network under loss, duplication and jitter, through a NAT's
 * rebinding, a suspend with a clock step, a restart, the user's traffic
 * starting and stopping, and an operator's edit of a device:
 * - in shadow, every peer a tick would have left alone came out of the
 *   full tick as it went in, and no change, event or datagram of the
 *   tick named it; and most peers would have been left alone;
 * - leaving them alone changes nothing: the same network run with every
 *   tick visiting every peer gives the same engine events (time, node,
 *   peer, kind), the same datagrams on every node and the network, and
 *   the same devices, ten seconds after the edit and at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/pinger.h"
#include "sim/scenario.h"
#include "unit/harness.h"

#define N_LEAVES 30
#define RUN_MS 600000

enum mode { SHADOW, SKIP, VISIT_ALL };

#define EDIT_MS 450000

/* Every device's view of every peer, hashed. */
static uint64_t devices_hash(struct scen *s)
{
	uint64_t h = WL_HASH_BASIS;
	size_t n = sim_node_count(s->sim);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			struct sim_peer_view v;
			memset(&v, 0, sizeof(v));
			sim_peer_view(s->sim, (int)i, (int)j, &v);
			h = wl_hash_bytes(h, &v.present, sizeof(v.present));
			h = wl_hash_bytes(h, &v.has_endpoint, sizeof(v.has_endpoint));
			if (v.has_endpoint) { /* field by field: not the padding */
				h = wl_hash_bytes(h, &v.endpoint.addr, sizeof(v.endpoint.addr));
				h = wl_hash_bytes(h, &v.endpoint.port, sizeof(v.endpoint.port));
			}
			h = wl_hash_bytes(h, &v.last_handshake, sizeof(v.last_handshake));
			for (size_t k = 0; k < v.n_allowed; k++)
				h = wl_cidr_hash(h, &v.allowed[k]);
		}
	return h;
}

/* The network's run; *after_edit: its devices ten seconds after the
 * operator's edit. */
static void run(struct scen *s, enum mode m, uint64_t *after_edit)
{
	enum scen_leaf_kind kinds[N_LEAVES];
	for (size_t i = 0; i < N_LEAVES; i++)
		kinds[i] = (enum scen_leaf_kind)(i % 3);
	struct scen_opts o;
	scen_opts_init(&o);
	scen_build(s, harness_seed(), N_LEAVES, kinds, &o);
	vnet_segment_set_loss(s->net, s->inet, 20000);
	vnet_segment_set_duplicate(s->net, s->inet, 10000);
	vnet_segment_set_jitter(s->net, s->inet, 10);
	sim_set_visit_shadow(s->sim, m == SHADOW);
	sim_set_skip_idle(s->sim, m != VISIT_ALL);
	scen_start(s);
	for (int64_t t = 10000; t <= RUN_MS; t += 10000) {
		sim_run_to(s->sim, t);
		if (t == 200000)
			vnet_nat_rebind(s->net, s->shared_nat);
		if (t == 260000)
			sim_suspend_node(s->sim, s->leaf[4], 30000, 5000);
		if (t == 330000)
			sim_restart_node(s->sim, s->leaf[7]);
		if (t == 400000) {
			/* The user's traffic between two leaves for 20 s. */
			struct pinger p;
			pinger_init(&p, s);
			ping_for(&p, 20000);
			CHECK(p.answer >= 0);
			t += 20000;
		}
		/* An operator adds a route to a peer by hand (wg set), which
		 * shows in nothing but the device's AllowedIPs. */
		if (t == EDIT_MS)
			sim_wg_peer(s->sim, s->leaf[10], s->leaf[11], NULL, "10.77.0.0/24");
		if (t == EDIT_MS + 10000)
			*after_edit = devices_hash(s);
	}
}

TEST(a_tick_leaves_alone_only_peers_it_would_not_change)
{
	struct scen s;
	uint64_t edited;
	run(&s, SHADOW, &edited);
	struct engine_visit_stats v = sim_visit_stats(s.sim);
	for (size_t i = 0; sim_visit_miss(s.sim, i); i++)
		printf("# missed: %s\n", sim_visit_miss(s.sim, i));
	printf("# shadow: %llu ticks, %llu visiting everyone from their start, %llu from a pass "
	       "on; %llu peers skippable, %llu missed\n",
	       (unsigned long long)v.ticks, (unsigned long long)v.global_ticks,
	       (unsigned long long)v.global_later, (unsigned long long)v.skippable,
	       (unsigned long long)v.missed);
	CHECK_EQ(v.missed, 0);
	/* Most of a leaf's peers, in most of its ticks. */
	CHECK(v.skippable > v.peers / 2);
	scen_free(&s);
}

TEST(leaving_idle_peers_alone_changes_nothing)
{
	struct scen a, b;
	uint64_t edited_a, edited_b;
	run(&a, SKIP, &edited_a);
	run(&b, VISIT_ALL, &edited_b);
	CHECK(edited_a == edited_b);
	CHECK(devices_hash(&a) == devices_hash(&b));
	struct engine_visit_stats v = sim_visit_stats(a.sim);
	printf("# left alone: %llu peers in %llu ticks\n", (unsigned long long)v.skippable,
	       (unsigned long long)v.ticks);
	CHECK(v.skippable > v.peers / 2);
	CHECK_EQ(sim_visit_stats(b.sim).skippable, 0);

	size_t n = sim_trace_len(a.sim);
	CHECK_EQ(n, sim_trace_len(b.sim));
	size_t differ = 0;
	for (size_t i = 0; i < n && i < sim_trace_len(b.sim); i++) {
		struct sim_trace_event x, y;
		sim_trace_at(a.sim, i, &x);
		sim_trace_at(b.sim, i, &y);
		if (x.t != y.t || x.node != y.node || x.peer != y.peer || x.kind != y.kind) {
			if (!differ)
				printf("# first difference: event %zu at %lld ms on node %d\n", i,
				       (long long)x.t, x.node);
			differ++;
		}
	}
	CHECK_EQ(differ, 0);
	CHECK(n > 100);
	size_t nodes = sim_node_count(a.sim);
	for (size_t i = 0; i < nodes; i++) {
		const struct sim_node_stats *x = sim_node_stats(a.sim, (int)i);
		const struct sim_node_stats *y = sim_node_stats(b.sim, (int)i);
		CHECK_MSG(x->ticks == y->ticks && x->tx_datagrams == y->tx_datagrams &&
				  x->tx_bytes == y->tx_bytes && x->rx_datagrams == y->rx_datagrams,
			  "node %s: counters differ", sim_node_name(a.sim, (int)i));
	}
	CHECK_EQ(vnet_stats(a.net)->delivered, vnet_stats(b.net)->delivered);
	scen_free(&a);
	scen_free(&b);
}
