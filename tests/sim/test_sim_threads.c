/* The simulator on two threads (sim_set_threads) against one: the same
 * network, seed and events give the same run. A hub and 30 leaves (a
 * third public, a third behind NATs of their own, a third on one LAN
 * behind one NAT), 2 % loss, 1 % duplication and up to 10 ms of jitter
 * on the internet, and between runs what tests do to a network: the
 * shared NAT rebound, a leaf suspended, a daemon restarted. Run once on
 * one thread and once on two, the two runs must agree on every engine
 * event (time, node, peer, kind: the trace, sorted by time and node as a
 * run in threads merges it), every node's datagram counters and ticks,
 * the virtual network's counters and every device's peers (endpoint,
 * handshake, AllowedIPs) — and the run in threads must have had more
 * parts than threads (each thread takes up whichever part is free), all
 * of which did work. */
#include <stdlib.h>
#include <string.h>

#include "sim/scenario.h"
#include "unit/harness.h"

#define N_LEAVES 30
#define RUN_MS 300000

struct run {
	struct scen s;
	size_t parts;
	size_t n_trace;
	struct sim_trace_event *trace;
};

static int by_time_node(const void *a, const void *b)
{
	const struct sim_trace_event *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->node < y->node ? -1 : x->node > y->node;
}

/* A stable sort: a node's own events keep their order. */
static void sort_trace(struct sim_trace_event *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct sim_trace_event e = v[i];
		size_t j = i;
		for (; j > 0 && by_time_node(&v[j - 1], &e) > 0; j--)
			v[j] = v[j - 1];
		v[j] = e;
	}
}

static void run(struct run *r, size_t threads)
{
	enum scen_leaf_kind kinds[N_LEAVES];
	for (size_t i = 0; i < N_LEAVES; i++)
		kinds[i] = (enum scen_leaf_kind)(i % 3);
	struct scen_opts o;
	scen_opts_init(&o);
	scen_build(&r->s, harness_seed(), N_LEAVES, kinds, &o);
	struct vnet *net = r->s.net;
	vnet_segment_set_loss(net, r->s.inet, 20000);
	vnet_segment_set_duplicate(net, r->s.inet, 10000);
	vnet_segment_set_jitter(net, r->s.inet, 10);
	r->parts = sim_set_threads(r->s.sim, threads);
	scen_start(&r->s);
	struct sim *sim = r->s.sim;
	for (int64_t t = 10000; t <= RUN_MS; t += 10000) {
		sim_run_to(sim, t);
		if (t == 100000)
			vnet_nat_rebind(net, r->s.shared_nat);
		if (t == 150000)
			sim_suspend_node(sim, r->s.leaf[4], 30000, 5000);
		if (t == 200000)
			sim_restart_node(sim, r->s.leaf[7]);
	}
	r->n_trace = sim_trace_len(sim);
	r->trace = calloc(r->n_trace ? r->n_trace : 1, sizeof(*r->trace));
	for (size_t i = 0; i < r->n_trace; i++)
		sim_trace_at(sim, i, &r->trace[i]);
	sort_trace(r->trace, r->n_trace);
}

static bool same_view(const struct sim_peer_view *a, const struct sim_peer_view *b)
{
	if (a->present != b->present || a->has_endpoint != b->has_endpoint ||
	    a->last_handshake != b->last_handshake || a->n_allowed != b->n_allowed)
		return false;
	if (a->has_endpoint && !wl_endpoint_equal(&a->endpoint, &b->endpoint))
		return false;
	for (size_t k = 0; k < a->n_allowed; k++)
		if (!wl_cidr_equal(&a->allowed[k], &b->allowed[k]))
			return false;
	return true;
}

TEST(two_threads_run_what_one_thread_runs)
{
	struct run one = { 0 }, two = { 0 };
	run(&one, 1);
	run(&two, 2);
	CHECK_EQ(one.parts, 1);
	CHECK_EQ(two.parts, 2 * SIM_PARTS_PER_THREAD);
	size_t nodes = sim_node_count(two.s.sim), in_parts = 0;
	for (size_t k = 0; k < two.parts; k++) {
		CHECK(sim_part_size(two.s.sim, k) > 0);
		in_parts += sim_part_size(two.s.sim, k);
	}
	CHECK_EQ(in_parts, nodes);

	/* Something happened: leaves went direct, each part ticked. */
	CHECK(one.n_trace > 1000);
	CHECK_EQ(two.n_trace, one.n_trace);
	size_t differ = 0;
	for (size_t i = 0; i < one.n_trace && i < two.n_trace; i++) {
		const struct sim_trace_event *a = &one.trace[i], *b = &two.trace[i];
		if (a->t != b->t || a->node != b->node || a->peer != b->peer || a->kind != b->kind) {
			if (!differ)
				CHECK_MSG(false, "trace entry %zu: %lld ms node %d peer %d kind %d "
					  "on one thread, %lld ms node %d peer %d kind %d on two", i,
					  (long long)a->t, a->node, a->peer, (int)a->kind,
					  (long long)b->t, b->node, b->peer, (int)b->kind);
			differ++;
		}
	}
	CHECK_EQ(differ, 0);

	size_t ticked[VNET_MAX_PARTS] = { 0 };
	for (size_t i = 0; i < nodes; i++) {
		const struct sim_node_stats *a = sim_node_stats(one.s.sim, (int)i);
		const struct sim_node_stats *b = sim_node_stats(two.s.sim, (int)i);
		CHECK_MSG(a->ticks == b->ticks && a->tx_datagrams == b->tx_datagrams &&
				  a->tx_bytes == b->tx_bytes && a->rx_datagrams == b->rx_datagrams &&
				  a->rx_bytes == b->rx_bytes,
			  "node %s: counters differ", sim_node_name(one.s.sim, (int)i));
		ticked[sim_node_part(two.s.sim, (int)i)] += b->ticks > 0;
	}
	for (size_t k = 0; k < two.parts; k++)
		CHECK_MSG(ticked[k] > 0, "no node of part %zu ticked", k);
	const struct vnet_stats *va = vnet_stats(one.s.net), *vb = vnet_stats(two.s.net);
	CHECK_EQ(va->sent, vb->sent);
	CHECK_EQ(va->delivered, vb->delivered);
	CHECK_EQ(va->lost, vb->lost);
	CHECK_EQ(va->duplicated, vb->duplicated);
	CHECK(va->lost > 0 && va->duplicated > 0);
	CHECK_EQ(sim_now(one.s.sim), sim_now(two.s.sim));

	size_t views = 0, views_differ = 0;
	for (size_t i = 0; i < nodes; i++)
		for (size_t j = 0; j < nodes; j++) {
			struct sim_peer_view a, b;
			sim_peer_view(one.s.sim, (int)i, (int)j, &a);
			sim_peer_view(two.s.sim, (int)i, (int)j, &b);
			views += a.present;
			views_differ += !same_view(&a, &b);
		}
	CHECK(views > nodes);
	CHECK_EQ(views_differ, 0);
	free(one.trace);
	free(two.trace);
	scen_free(&one.s);
	scen_free(&two.s);
}
