/* Scale figures (issue 12): a hub and N-1 leaves in the simulator — a
 * third public, a third each behind its own home NAT, a third together on
 * one LAN behind one NAT, as in test_sim_scale — every node running the
 * daemon's own driver and engine, in virtual time. Per size it prints:
 *   - virtual time until every leaf pair is direct (all can be here);
 *   - the hub's wirelink traffic in steady state (the second half of the
 *     run: past convergence and a whole refresh cycle of FactTTL/2):
 *     datagrams and payload bytes per virtual second, sent and received;
 *   - the hub's CPU per tick (real, the thread's CPU clock around its
 *     driver_tick) and per virtual second of receiving;
 *   - a leaf's wirelink traffic in steady state, the average over leaves,
 *     and how often a leaf ticks;
 *   - engine memory per node (engine_memory: its tables as allocated),
 *     the hub's and the leaves' average;
 *   - the real time the run took, and its CPU time (the machine may be
 *     busy with other work); and apart, the real time of the first
 *     virtual minute (convergence) and of each minute after it.
 * Not a test: nothing is asserted. Progress goes to stderr once a virtual
 * minute, so a long run shows how far it got.
 *
 *   usage: bench_scale [NODES ...]      (default 100 300 1000)
 *   WL_SEED (default 0x5eed, as the tests), WL_BENCH_MINUTES (virtual
 *   minutes per run, default 20, at least 6), WL_LEASES=0 (every node
 *   with setting Leases false: SPEC §6 refreshes, the figures before
 *   leases), WL_BENCH_CENSUS=1 (what a leaf's tick changes, below),
 *   WL_BENCH_THREADS (the simulator's threads, default 2: sim_set_threads;
 *   1 runs it on one; the census runs on one whatever this says),
 *   WL_BENCH_PROGRESS=1 (to stderr, every 0.1 virtual s for the first
 *   2 s and then once a virtual minute: the real time so far and what
 *   the network sent, to see where convergence spends its time). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_clock.h"
#include "core/engine.h"
#include "sim/scenario.h"
#include "sim/vnet.h"
#include "sim/vwg.h"

#define MIN_MINUTES 6

static double process_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* WL_BENCH_CENSUS=1: what a leaf's tick changes, over the steady window
 * (docs/scale-cost.md). Every other leaf tick, its peer states are
 * digested just before and just after it (engine_peer_state_digest);
 * the ticks between are timed (CPU), told apart by whether they rebuilt
 * the fact index. Not both at once: digesting the states brings them
 * into the cache, and the tick after would look cheaper than it is. It
 * slows the run; the other figures stay what they are. */
struct census {
	struct sim *sim;
	int hub;
	bool on;
	bool digesting; /* this tick is digested, not timed */
	uint64_t *before; /* digest and key prefix of each peer state, by place */
	size_t cap, n_before;
	uint64_t builds_before, t0;
	uint64_t ticks, visits, changed, calm_ticks, reshaped;
	uint64_t n[2], ns[2]; /* timed ticks keeping / rebuilding the index, their CPU */
};

/* Peer state i's digest and the first bytes of its key. */
static void census_entry(struct engine *e, size_t i, uint64_t out[2])
{
	uint8_t key[WL_KEY_LEN];
	engine_peer_state_digest(e, i, key, &out[0]);
	memcpy(&out[1], key, sizeof(out[1]));
}

static void census_hook(void *ctx, int node, bool after)
{
	struct census *c = ctx;
	struct engine *e = c->on && node != c->hub ? sim_node_engine(c->sim, node) : NULL;
	if (!e)
		return;
	size_t n = engine_peer_count(e);
	if (!after)
		c->digesting = !c->digesting;
	if (!c->digesting) {
		if (!after) {
			c->builds_before = engine_get_stats(e)->index_builds;
			c->t0 = thread_cpu_ns();
			return;
		}
		uint64_t ns = thread_cpu_ns() - c->t0;
		int rebuilt = engine_get_stats(e)->index_builds != c->builds_before;
		c->n[rebuilt]++;
		c->ns[rebuilt] += ns;
		return;
	}
	if (!after) {
		if (2 * n > c->cap) {
			c->cap = 4 * n;
			c->before = realloc(c->before, c->cap * sizeof(*c->before));
			if (!c->before)
				abort();
		}
		for (size_t i = 0; i < n; i++)
			census_entry(e, i, &c->before[2 * i]);
		c->n_before = n;
		return;
	}
	if (n != c->n_before) {
		c->reshaped++; /* peers came or went: places no longer match */
		return;
	}
	size_t changed = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t now[2];
		census_entry(e, i, now);
		changed += now[0] != c->before[2 * i] || now[1] != c->before[2 * i + 1];
	}
	c->ticks++;
	c->visits += n;
	c->changed += changed;
	c->calm_ticks += changed == 0;
}

static void census_print(const struct census *c)
{
	if (!c->ticks)
		return;
	double t = (double)c->ticks;
	printf("  census of leaf ticks (steady state): %llu ticks, %.1f peer states each, %.2f "
	       "changed; %.1f %% changed none (%llu ticks added or removed peers, not counted)\n",
	       (unsigned long long)c->ticks, (double)c->visits / t, (double)c->changed / t,
	       100.0 * (double)c->calm_ticks / t, (unsigned long long)c->reshaped);
	for (int k = 0; k < 2; k++)
		printf("    timed ticks %s the fact index: %llu, %.0f us of CPU each\n",
		       k ? "rebuilding" : "keeping", (unsigned long long)c->n[k],
		       c->n[k] ? (double)c->ns[k] / 1e3 / (double)c->n[k] : 0.0);
}

/* The hub's counters at one moment, and the leaves' summed. */
struct snap {
	int64_t at;
	struct sim_node_stats st;
	uint64_t leaf_tx_bytes, leaf_rx_bytes, leaf_tx_datagrams, leaf_ticks;
};

static struct snap take(struct scen *s)
{
	struct snap n = { sim_now(s->sim), *sim_node_stats(s->sim, s->hub), 0, 0, 0, 0 };
	for (size_t i = 0; i < s->n_leaves; i++) {
		const struct sim_node_stats *l = sim_node_stats(s->sim, s->leaf[i]);
		n.leaf_tx_bytes += l->tx_bytes;
		n.leaf_rx_bytes += l->rx_bytes;
		n.leaf_tx_datagrams += l->tx_datagrams;
		n.leaf_ticks += l->ticks;
	}
	return n;
}

struct figures {
	int64_t all_direct_at; /* virtual ms, -1: not reached */
	size_t n_leaves;
	size_t direct, pairs;
	double tx_pps, tx_bps, rx_pps, rx_bps;
	double leaf_tx_pps, leaf_tx_bps, leaf_rx_bps, leaf_ticks_per_s;
	double tick_us, ticks_per_s, rx_cpu_us_per_s;
	double hub_kib, leaf_kib;
	struct keymemo_stats keys;
	struct engine_visit_stats visit; /* the leaves', over the steady window */
	struct engine_memory_parts leaf_parts; /* summed over the leaves */
	double facts_hub, facts_leaf;
	double real_s, cpu_s;
	double first_min_s; /* real seconds to the end of the first virtual minute */
	double minutes;     /* virtual minutes run */
	size_t parts; /* the simulator's parts (threads: in thread_time) */
	size_t part_nodes[VNET_MAX_PARTS];
	struct sim_thread_stats thread_time; /* the threads' real time, and waits in it */
};

static void memory(struct scen *s, struct figures *f)
{
	f->hub_kib = (double)engine_memory(sim_node_engine(s->sim, s->hub)) / 1024;
	double sum = 0, facts = 0;
	f->leaf_parts = (struct engine_memory_parts){ 0 };
	for (size_t i = 0; i < s->n_leaves; i++) {
		struct engine *e = sim_node_engine(s->sim, s->leaf[i]);
		sum += (double)engine_memory(e);
		struct engine_memory_parts p;
		engine_memory_parts(e, &p);
		f->leaf_parts.facts += p.facts;
		f->leaf_parts.peers += p.peers;
		f->leaf_parts.knowledge += p.knowledge;
		f->leaf_parts.leases += p.leases;
		f->leaf_parts.other += p.other;
		facts += (double)engine_fact_count(e);
	}
	f->leaf_kib = sum / (double)s->n_leaves / 1024;
	f->facts_leaf = facts / (double)s->n_leaves;
	f->facts_hub = (double)engine_fact_count(sim_node_engine(s->sim, s->hub));
}

static void steady(const struct snap *a, const struct snap *b, struct figures *f)
{
	double secs = (double)(b->at - a->at) / 1000;
	f->tx_pps = (double)(b->st.tx_datagrams - a->st.tx_datagrams) / secs;
	f->tx_bps = (double)(b->st.tx_bytes - a->st.tx_bytes) / secs;
	f->rx_pps = (double)(b->st.rx_datagrams - a->st.rx_datagrams) / secs;
	f->rx_bps = (double)(b->st.rx_bytes - a->st.rx_bytes) / secs;
	double leaves = (double)f->n_leaves;
	f->leaf_tx_pps = (double)(b->leaf_tx_datagrams - a->leaf_tx_datagrams) / secs / leaves;
	f->leaf_tx_bps = (double)(b->leaf_tx_bytes - a->leaf_tx_bytes) / secs / leaves;
	f->leaf_rx_bps = (double)(b->leaf_rx_bytes - a->leaf_rx_bytes) / secs / leaves;
	f->leaf_ticks_per_s = (double)(b->leaf_ticks - a->leaf_ticks) / secs / leaves;
	uint64_t ticks = b->st.ticks - a->st.ticks;
	f->ticks_per_s = (double)ticks / secs;
	f->tick_us = ticks ? (double)(b->st.tick_cpu_ns - a->st.tick_cpu_ns) / (double)ticks / 1e3 : 0;
	f->rx_cpu_us_per_s = (double)(b->st.rx_cpu_ns - a->st.rx_cpu_ns) / 1e3 / secs;
}

/* WL_BENCH_VISIT=1: the skipping tick's shadow (core/visit.c) on every
 * leaf over the steady window; what it would have skipped, and missed. */
static bool visit_wanted(void)
{
	const char *v = getenv("WL_BENCH_VISIT");
	return v && strcmp(v, "1") == 0;
}

static void visit_shadow(struct scen *s, bool on)
{
	for (size_t i = 0; i < s->n_leaves; i++)
		engine_visit_shadow(sim_node_engine(s->sim, s->leaf[i]), on);
}

/* The leaves' counters added up, with the first misses (node: text). */
static void visit_sum(struct scen *s, struct engine_visit_stats *t)
{
	*t = (struct engine_visit_stats){ 0 };
	for (size_t i = 0; i < s->n_leaves; i++) {
		const struct engine_visit_stats *v =
			engine_visit_stats(sim_node_engine(s->sim, s->leaf[i]));
		engine_visit_stats_add(t, v);
		for (size_t k = 0; k < v->n_misses && t->n_misses < ENGINE_VISIT_MISSES; k++)
			snprintf(t->misses[t->n_misses++], sizeof(t->misses[0]), "%s: %s",
				 sim_node_name(s->sim, s->leaf[i]), v->misses[k]);
	}
}

/* What the leaves' ticks left alone from `base` on. */
static void visit_since(struct scen *s, const struct engine_visit_stats *base,
			struct engine_visit_stats *t)
{
	visit_sum(s, t);
	t->ticks -= base->ticks;
	t->peers -= base->peers;
	t->global_ticks -= base->global_ticks;
	t->global_later -= base->global_later;
	t->skippable -= base->skippable;
	t->missed -= base->missed;
}

/* Which peers the leaves' ticks left alone over the steady window; with
 * WL_BENCH_VISIT=1, which the shadow would have. */
static void visit_print(const struct engine_visit_stats *t)
{
	if (!t->ticks)
		return;
	double n = (double)t->ticks, rest = n - (double)(t->global_ticks + t->global_later);
	printf("  skipping tick%s (leaves, steady state): %llu ticks, %.1f peers each; %.1f %% "
	       "visit all from the start, %.1f %% from a pass on; in the rest %.1f peers a tick "
	       "left alone, %llu missed\n",
	       visit_wanted() ? ", shadow" : "", (unsigned long long)t->ticks, (double)t->peers / n,
	       100.0 * (double)t->global_ticks / n, 100.0 * (double)t->global_later / n,
	       rest > 0 ? (double)t->skippable / rest : 0.0, (unsigned long long)t->missed);
	for (size_t k = 0; k < t->n_misses; k++)
		printf("    missed: %s\n", t->misses[k]);
}

static bool progress_wanted(void)
{
	const char *v = getenv("WL_BENCH_PROGRESS");
	return v && strcmp(v, "1") == 0;
}

/* WL_BENCH_PROGRESS=1: one line of totals over every node so far. */
static void progress(struct scen *s, int64_t v, double real_s)
{
	uint64_t dg = 0, hellos = 0, replies = 0, alives = 0, handshakes = 0;
	for (size_t i = 0; i < sim_node_count(s->sim); i++) {
		const struct engine_stats *es = engine_get_stats(sim_node_engine(s->sim, (int)i));
		dg += sim_node_stats(s->sim, (int)i)->tx_datagrams;
		hellos += es->hellos_sent;
		replies += es->probe_replies_sent;
		alives += es->tx_alive;
		handshakes += vwg_stats(sim_node_dev(s->sim, (int)i))->handshakes_initiated;
	}
	const struct vnet_stats *vs = vnet_stats(s->net);
	fprintf(stderr,
		"  progress: %6.1f s virtual, %6.1f s real: wirelink datagrams %llu (hellos %llu, "
		"replies %llu, with an Alive %llu); handshakes %llu; on the vnet %llu datagrams, "
		"%llu hops\n",
		(double)v / 1000, real_s, (unsigned long long)dg, (unsigned long long)hellos,
		(unsigned long long)replies, (unsigned long long)alives,
		(unsigned long long)handshakes, (unsigned long long)vs->sent,
		(unsigned long long)vs->hops);
}

/* The next virtual time to stop at: every 0.1 s for the first 10 s (the
 * first 2 whatever happens, for WL_BENCH_PROGRESS), then every second
 * until all are direct, then every ten. */
static int64_t next_stop(int64_t v, bool all_direct, bool shown)
{
	if (shown && v < 2000)
		return v + 100;
	if (all_direct)
		return v + 10000;
	return v + (v < 10000 ? 100 : 1000);
}

static void run(size_t nodes, uint64_t seed, int64_t duration, size_t threads, struct figures *f,
		struct census *census)
{
	size_t n_leaves = nodes - 1;
	f->n_leaves = n_leaves;
	f->minutes = (double)duration / 60000;
	enum scen_leaf_kind *kinds = calloc(n_leaves, sizeof(*kinds));
	if (!kinds)
		abort();
	for (size_t i = 0; i < n_leaves; i++)
		kinds[i] = (enum scen_leaf_kind)(i % 3);
	struct scen s;
	struct scen_opts o;
	scen_opts_init(&o); /* WL_LEASES=0: leases off */
	scen_build(&s, seed, n_leaves, kinds, &o);
	free(kinds);
	sim_set_cpu_clock(s.sim, s.hub, thread_cpu_ns);
	sim_check_devices(s.sim, false);
	if (census) {
		census->sim = s.sim;
		census->hub = s.hub;
		sim_set_tick_hook(s.sim, census_hook, census);
		threads = 1;
	}
	sim_set_trace_kept(s.sim, false); /* nothing here asks it */
	f->parts = sim_set_threads(s.sim, threads);
	for (size_t k = 0; k < f->parts; k++)
		f->part_nodes[k] = sim_part_size(s.sim, k);
	double start = bench_now_s(), cpu_start = process_cpu_s();
	scen_start(&s);
	int64_t healthy = sim_timing()->handshake_validity_ms;
	f->pairs = n_leaves * (n_leaves - 1) / 2;
	f->all_direct_at = -1;
	struct snap from = { .at = -1 };
	struct engine_visit_stats visit_base = { 0 };
	int64_t minute_shown = 0;
	/* The steady window from the middle of the run. */
	bool shown = progress_wanted();
	for (int64_t v = 100; v <= duration; v = next_stop(v, f->all_direct_at >= 0, shown)) {
		if (from.at < 0 && v > duration / 2) {
			sim_run_to(s.sim, duration / 2);
			from = take(&s);
			if (census)
				census->on = true;
			if (visit_wanted())
				visit_shadow(&s, true);
			visit_sum(&s, &visit_base);
		}
		sim_run_to(s.sim, v);
		if (f->all_direct_at < 0 && scen_all_direct(&s, healthy))
			f->all_direct_at = v;
		if (shown && (v <= 2000 || v / 60000 > minute_shown))
			progress(&s, v, bench_now_s() - start);
		if (v / 60000 > minute_shown) {
			minute_shown = v / 60000;
			if (minute_shown == 1)
				f->first_min_s = bench_now_s() - start;
			fprintf(stderr, "  %zu nodes: %lld of %lld virtual min in %.1f s real, %s\n", nodes,
				(long long)(v / 60000), (long long)(duration / 60000), bench_now_s() - start,
				f->all_direct_at < 0 ? "not all direct yet" : "all direct");
		}
	}
	sim_run_to(s.sim, duration);
	struct snap to = take(&s);
	steady(&from, &to, f);
	f->direct = scen_count_direct(&s, healthy);
	memory(&s, f);
	f->keys = sim_key_stats(s.sim);
	visit_since(&s, &visit_base, &f->visit);
	f->thread_time = sim_thread_stats(s.sim);
	f->real_s = bench_now_s() - start;
	f->cpu_s = process_cpu_s() - cpu_start;
	scen_free(&s);
}

static void print(size_t nodes, const struct figures *f)
{
	printf("%zu nodes: all %zu leaf pairs direct by %s%.1f s virtual (%zu direct at the end)\n",
	       nodes, f->pairs, f->all_direct_at < 0 ? "never, " : "",
	       f->all_direct_at < 0 ? 0.0 : (double)f->all_direct_at / 1000, f->direct);
	printf("  hub, steady state: sends %.0f datagrams/s, %.0f B/s; receives %.0f datagrams/s, "
	       "%.0f B/s\n",
	       f->tx_pps, f->tx_bps, f->rx_pps, f->rx_bps);
	printf("  a leaf, steady state (average): sends %.2f datagrams/s, %.0f B/s; receives "
	       "%.0f B/s; %.2f ticks per virtual s\n",
	       f->leaf_tx_pps, f->leaf_tx_bps, f->leaf_rx_bps, f->leaf_ticks_per_s);
	printf("  hub CPU: %.0f us per tick (%.2f ticks per virtual s), %.0f us per virtual s "
	       "receiving\n",
	       f->tick_us, f->ticks_per_s, f->rx_cpu_us_per_s);
	printf("  engine memory: hub %.0f KiB (%.0f facts), leaves %.0f KiB on average (%.0f facts)\n",
	       f->hub_kib, f->facts_hub, f->leaf_kib, f->facts_leaf);
	double per_leaf = 1024.0 * (double)f->n_leaves;
	printf("  a leaf's engine memory by part (KiB, average): facts %.0f, peers %.0f, "
	       "knowledge %.0f, leases %.0f, other %.0f\n",
	       (double)f->leaf_parts.facts / per_leaf, (double)f->leaf_parts.peers / per_leaf,
	       (double)f->leaf_parts.knowledge / per_leaf, (double)f->leaf_parts.leases / per_leaf,
	       (double)f->leaf_parts.other / per_leaf);
	printf("  shared keys: %llu X25519s, %llu taken from the pair's other node (at most %zu "
	       "waiting)\n",
	       (unsigned long long)f->keys.computed, (unsigned long long)f->keys.reused,
	       f->keys.held_max);
	visit_print(&f->visit);
	printf("  the run: %.1f s real, %.1f s CPU (the whole simulation: every node, vnet, vwg), ",
	       f->real_s, f->cpu_s);
	if (f->parts > 1) {
		printf("%zu threads over %zu parts (", f->thread_time.threads, f->parts);
		for (size_t k = 0; k < f->parts; k++)
			printf("%s%zu", k ? ", " : "", f->part_nodes[k]);
		printf(" nodes), waiting for a part to run %.1f %% of their time\n",
		       f->thread_time.run_s > 0 ? 100 * f->thread_time.wait_s / f->thread_time.run_s : 0.0);
	}
	else
		printf("one thread\n");
	/* Converging and running on cost differently (the first minute adds
	 * every peer everywhere): the two apart say which a change moved. */
	printf("  real time: the first virtual minute %.1f s, then %.2f s per virtual minute\n",
	       f->first_min_s, (f->real_s - f->first_min_s) / (f->minutes - 1));
	fflush(stdout);
}

int main(int argc, char **argv)
{
	sim_exec_with_huge_pages(argv);
	const char *seed_env = getenv("WL_SEED");
	uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) : 0x5eedULL;
	const char *min_env = getenv("WL_BENCH_MINUTES");
	long minutes = min_env ? strtol(min_env, NULL, 10) : 20;
	if (minutes < MIN_MINUTES)
		minutes = MIN_MINUTES;
	static const size_t defaults[] = { 100, 300, 1000 };
	size_t n = argc > 1 ? (size_t)argc - 1 : sizeof(defaults) / sizeof(defaults[0]);
	const char *leases = getenv("WL_LEASES");
	printf("bench_scale: seed %llu, %ld virtual minutes per size, steady state from minute %ld, "
	       "leases %s\n",
	       (unsigned long long)seed, minutes, minutes / 2,
	       leases && strcmp(leases, "0") == 0 ? "off (WL_LEASES=0)" : "on");
	for (size_t i = 0; i < n; i++) {
		size_t nodes = argc > 1 ? strtoul(argv[i + 1], NULL, 10) : defaults[i];
		if (nodes < 3) {
			fprintf(stderr, "bench_scale: %zu nodes: at least 3\n", nodes);
			return 2;
		}
		struct figures f;
		struct census c = { 0 };
		bool counted = getenv("WL_BENCH_CENSUS") && strcmp(getenv("WL_BENCH_CENSUS"), "1") == 0;
		const char *threads = getenv("WL_BENCH_THREADS");
		run(nodes, seed, (int64_t)minutes * 60000, threads ? strtoul(threads, NULL, 10) : 2, &f,
		    counted ? &c : NULL);
		print(nodes, &f);
		census_print(&c);
		free(c.before);
	}
	return 0;
}
