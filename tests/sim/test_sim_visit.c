/* The skipping tick's shadow (core/visit.c, docs/due-times.md): in a
 * network under loss, duplication and jitter, through a NAT's rebinding,
 * a suspend with a clock step and a restart, with the user's traffic
 * starting and stopping, every peer a tick would have left alone came
 * out of the tick as it went in, and no change, event or datagram of the
 * tick named it; and the shadow would have skipped most peers. */
#include <stdio.h>

#include "sim/pinger.h"
#include "sim/scenario.h"
#include "unit/harness.h"

#define N_LEAVES 30
#define RUN_MS 600000

TEST(a_tick_leaves_alone_only_peers_it_would_not_change)
{
	enum scen_leaf_kind kinds[N_LEAVES];
	for (size_t i = 0; i < N_LEAVES; i++)
		kinds[i] = (enum scen_leaf_kind)(i % 3);
	struct scen_opts o;
	scen_opts_init(&o);
	struct scen s;
	scen_build(&s, harness_seed(), N_LEAVES, kinds, &o);
	vnet_segment_set_loss(s.net, s.inet, 20000);
	vnet_segment_set_duplicate(s.net, s.inet, 10000);
	vnet_segment_set_jitter(s.net, s.inet, 10);
	sim_set_visit_shadow(s.sim, true);
	scen_start(&s);
	for (int64_t t = 10000; t <= RUN_MS; t += 10000) {
		sim_run_to(s.sim, t);
		if (t == 200000)
			vnet_nat_rebind(s.net, s.shared_nat);
		if (t == 260000)
			sim_suspend_node(s.sim, s.leaf[4], 30000, 5000);
		if (t == 330000)
			sim_restart_node(s.sim, s.leaf[7]);
		if (t == 400000) {
			/* The user's traffic between two leaves for 20 s. */
			struct pinger p;
			pinger_init(&p, &s);
			ping_for(&p, 20000);
			CHECK(p.answer >= 0);
			t += 20000;
		}
	}
	struct engine_visit_stats v = sim_visit_stats(s.sim);
	for (size_t i = 0; sim_visit_miss(s.sim, i); i++)
		printf("# missed: %s\n", sim_visit_miss(s.sim, i));
	printf("# shadow: %llu ticks, %llu visiting everyone, %llu rebuilding the index; %llu "
	       "peers skippable, %llu missed\n",
	       (unsigned long long)v.ticks, (unsigned long long)v.global_ticks,
	       (unsigned long long)v.rebuilt_ticks, (unsigned long long)v.skippable,
	       (unsigned long long)v.missed);
	CHECK_EQ(v.missed, 0);
	/* Most of a leaf's peers, in most of its ticks. */
	CHECK(v.skippable > v.peers / 2);
	scen_free(&s);
}
