#include "sim/sim.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "daemon/driver.h"
#include "sim/keymemo.h"
#include "sim/simrand.h"
#include "sys/log.h"
#include "sys/wg_mem.h"
#include "wire/autoaddr.h"
#include "wire/packet.h"

/* A node ticking this often at one instant is stuck: fail loudly rather
 * than spin. */
#define SIM_MAX_TICKS_PER_INSTANT 1000
#define SIM_MAX_LIST 16
#define SIM_MAX_DNS 16

/* One configured peer, as a wirelink config file would list it. */
struct sim_cfg_peer {
	uint8_t key[WL_KEY_LEN];
	enum wl_trust trust;
	bool fact_exchanger;
	enum wl_tristate basic;
	char *name;
	size_t n_allowed;
	struct wl_cidr *allowed;
	size_t n_eps;
	struct wl_config_endpoint *eps; /* host (a literal or a sim_dns_set name) and port */
};

struct app_rx {
	int64_t at;
	int via;
};

struct sim_node {
	char name[32];
	int host;
	struct vwg *dev;
	struct wgdev *wg;      /* the driver's handle on dev */
	struct driver *drv;    /* NULL until started */
	uint8_t priv[WL_KEY_LEN], key[WL_KEY_LEN];
	struct wl_addr auto_addr;
	bool has_tunnel;
	struct wl_cidr tunnel; /* as configured, with the interface's prefix */
	enum wl_tristate router;
	bool chatty;
	bool original;         /* sim_node_opts.original */
	size_t n_cfg;
	struct sim_cfg_peer *cfg;
	int64_t wall_offset;   /* the node's wall clock minus the virtual one */
	/* Suspended (sim_suspend_node) until this time, VNET_NEVER when
	 * running; at resume its wall clock steps by resume_wall_step. */
	int64_t resume_at, resume_wall_step;
	struct app_rx *app;    /* per source node; at = -1 when none */
	int64_t last_tick_at;
	unsigned ticks_at_instant;
	/* A port mapping its router granted (sim_grant_port_mapping), as the
	 * daemon's port-mapping client reports it: the driver's
	 * extra_endpoints. */
	bool has_mapping;
	struct wl_endpoint mapping;
	struct sim_node_stats st;
	struct sim *sim;
	int index;
	int part; /* its part of the network (sim_set_threads), 0 if one */
};

struct trace_entry {
	int64_t t;
	int node, peer;
	enum engine_event_kind kind;
	char *text; /* while held in a part for WL_SIM_TRACE; NULL otherwise */
};

/* A part of the network that runs in a thread of its own (sim_set_threads;
 * the whole network when there is one): the agenda of its nodes, its
 * counters, and the trace entries of a run in threads, held until the
 * run ends and the parts' entries merge in a fixed order. */
struct simpart {
	int id;
	size_t n;         /* its nodes */
	int *members;     /* their indices, ascending */
	int *heap;        /* the same in a min-heap on sim->wake */
	int *touched, *due;
	size_t n_touched, n_due;
	bool all_touched;
	struct sim_stats stats;
	size_t n_held, cap_held;
	struct trace_entry *held;
};

struct dns_entry {
	char name[64];
	struct wl_addr addr;
};

struct sim {
	struct vnet *net;
	struct simrand rng;
	bool unchecked_devices; /* sim_check_devices(false) */
	size_t n_nodes;
	struct sim_node **nodes;
	/* The loop's agenda (step), per part: when each node next has work,
	 * and the part's nodes in a min-heap on it. A node's time is worked
	 * out again only when something touched it (a datagram for it, its
	 * own turn), or for every node when code outside the loop may have
	 * (all_touched: a test between runs, a hook). */
	int64_t *wake;   /* by node */
	int *heap_pos;   /* by node: its place in its part's heap */
	bool *is_touched; /* by node */
	size_t n_parts;
	struct simpart parts[VNET_MAX_PARTS];
	int64_t lookahead; /* how far apart parts may run in threads */
	bool threaded;     /* they do, now */
	struct sim_threads *threads;
	/* Sim node + 1 by vnet node (0: none), for the vnet's delivery hook. */
	int *by_host;
	size_t n_by_host;
	/* Node index + 1 by public key and by auto address (open addressing,
	 * 0 = empty): events name peers by key, datagrams by address. */
	size_t key_cap;
	int *key_index, *addr_index;
	size_t n_trace, cap_trace;
	struct trace_entry *trace;
	bool trace_print;
	bool trace_unkept; /* sim_set_trace_kept(false) */
	sim_fact_hook fact_hook;
	void *fact_hook_ctx;
	sim_event_hook event_hook;
	void *event_hook_ctx;
	size_t n_dns;
	struct dns_entry dns[SIM_MAX_DNS];
	struct sim_stats stats; /* sim_stats: the parts' counters added up */
	sim_cpu_clock cpu_clock;
	const struct sim_node *cpu_node; /* the node cpu_clock times */
	sim_tick_hook tick_hook;
	void *tick_hook_ctx;
	bool no_leases; /* every node refreshes as SPEC §6 (setting Leases false) */
	struct keymemo *keys; /* each pair's shared key worked out once */
	/* WL_SIM_VISIT=1: the skipping tick's shadow on every node
	 * (core/visit.c), its counters added up as engines go, and the first
	 * misses with their nodes; printed by sim_free. */
	bool visit_shadow;
	bool visit_all; /* sim_set_skip_idle(false): every tick visits every peer */
	struct engine_visit_stats visit;
	size_t n_visit_misses;
	char visit_misses[16][200];
	int quiet_period; /* setting QuietPeriod, s; -1: the default */
	int dormant;      /* setting Dormant: 0, 1; -1: the default */
};

static void *xrealloc(void *p, size_t n, size_t size)
{
	void *q = reallocarray(p, n ? n : 1, size);
	if (!q) {
		fprintf(stderr, "sim: out of memory\n");
		abort();
	}
	return q;
}

static void *xcalloc(size_t n, size_t size)
{
	void *q = calloc(n ? n : 1, size);
	if (!q) {
		fprintf(stderr, "sim: out of memory\n");
		abort();
	}
	return q;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d) {
		fprintf(stderr, "sim: out of memory\n");
		abort();
	}
	return d;
}

/* Splits a comma-separated list into up to SIM_MAX_LIST items. */
static size_t split_list(const char *s, char items[SIM_MAX_LIST][64])
{
	size_t n = 0;
	while (s && *s && n < SIM_MAX_LIST) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		while (len > 0 && *s == ' ') {
			s++;
			len--;
		}
		if (len >= 64)
			len = 63;
		memcpy(items[n], s, len);
		items[n][len] = '\0';
		if (len)
			n++;
		s = end ? end + 1 : NULL;
	}
	return n;
}

static struct wl_cidr cidr_or_die(const char *s)
{
	struct wl_cidr c;
	if (!wl_cidr_parse(s, &c)) {
		fprintf(stderr, "sim: bad prefix \"%s\"\n", s);
		abort();
	}
	return c;
}

static struct wl_endpoint ep_or_die(const char *s)
{
	struct wl_endpoint e;
	if (!wl_endpoint_parse(s, &e)) {
		fprintf(stderr, "sim: bad endpoint \"%s\"\n", s);
		abort();
	}
	return e;
}

/* ---- construction ---- */

const struct engine_timing *sim_timing(void)
{
	static struct engine_timing t;
	if (!t.chunk_period_ms)
		engine_timing_default(&t);
	return &t;
}

static void on_deliver(void *ctx, int host);

/* A simulation holds every node's memory in one process, and a 1,000-node
 * network's grows by gigabytes in its first virtual second. glibc grows a
 * heap by what a request needs, so the heap moved its end (brk, or
 * mprotect in a thread's arena) hundreds of thousands of times, and with
 * two threads each move flushed the other core's TLB: over a quarter of
 * the first minute's time went to the kernel. Growing by 64 MB at a time
 * took a third of it away (docs/scale-cost.md). Process-wide, and only a
 * simulation's process calls this. */
static void heap_grows_in_large_steps(void)
{
	(void)mallopt(M_TOP_PAD, 64 << 20);
}

/* A 1,000-node simulation touches some 8 GB for the first time in its
 * first virtual second: two million page faults. In a virtual machine a
 * fault can cost tens of microseconds (on the paravirtualised machine of
 * docs/scale-cost.md, a third of the first minute went to the kernel).
 * glibc puts its heaps on transparent huge pages only if told before
 * the process starts, hence the exec: an eighth of the faults, and a
 * quarter less time for the run. Only a simulation's process does this;
 * the daemon's few megabytes gain nothing from it. */
void sim_exec_with_huge_pages(char **argv)
{
	static const char tunable[] = "glibc.malloc.hugetlb";
	const char *t = getenv("GLIBC_TUNABLES");
	if (t && strstr(t, tunable))
		return;
	size_t len = (t ? strlen(t) + 1 : 0) + sizeof(tunable) + 2;
	char *v = malloc(len);
	if (!v)
		return;
	snprintf(v, len, "%s%s%s=1", t ? t : "", t ? ":" : "", tunable);
	if (setenv("GLIBC_TUNABLES", v, 1) == 0)
		execv("/proc/self/exe", argv); /* returns only on failure: run as we are */
	free(v);
}

struct sim *sim_new(uint64_t seed)
{
	heap_grows_in_large_steps();
	struct sim *sim = xcalloc(1, sizeof(*sim));
	sim->n_parts = 1;
	for (int k = 0; k < VNET_MAX_PARTS; k++)
		sim->parts[k].id = k;
	sim->quiet_period = -1;
	sim->dormant = -1;
	simrand_seed(&sim->rng, seed);
	sim->net = vnet_new(simrand_next(&sim->rng));
	sim->keys = keymemo_new();
	sim->visit_shadow = getenv("WL_SIM_VISIT") && strcmp(getenv("WL_SIM_VISIT"), "1") == 0;
	vnet_set_deliver_hook(sim->net, on_deliver, sim);
	sim->trace_print = getenv("WL_SIM_TRACE") != NULL;
	/* The drivers log as the daemon would; their notices (a clock jump a
	 * test makes on purpose) would only clutter the test output. */
	if (!sim->trace_print)
		log_set_level(LOG_LVL_WARN);
	return sim;
}

static void sim_threads_stop(struct sim *sim);

/* Adds n's engine's shadow counters to the run's, as it goes. */
static void visit_collect(struct sim *sim, struct sim_node *n)
{
	if (!n->drv)
		return;
	const struct engine_visit_stats *v = engine_visit_stats(driver_engine(n->drv));
	engine_visit_stats_add(&sim->visit, v);
	for (size_t k = 0; k < v->n_misses && sim->n_visit_misses < 16; k++)
		snprintf(sim->visit_misses[sim->n_visit_misses++], sizeof(sim->visit_misses[0]),
			 "%s %s", n->name, v->misses[k]);
}

/* The run's shadow and skipping settings on node n's engine. */
static void visit_modes(const struct sim *sim, const struct sim_node *n)
{
	if (!n->drv)
		return;
	engine_visit_shadow(driver_engine(n->drv), sim->visit_shadow);
	engine_visit_skip_idle(driver_engine(n->drv), !sim->visit_all);
}

void sim_set_visit_shadow(struct sim *sim, bool on)
{
	sim->visit_shadow = on;
	for (size_t i = 0; i < sim->n_nodes; i++)
		visit_modes(sim, sim->nodes[i]);
}

void sim_set_skip_idle(struct sim *sim, bool on)
{
	sim->visit_all = !on;
	for (size_t i = 0; i < sim->n_nodes; i++)
		visit_modes(sim, sim->nodes[i]);
}

struct engine_visit_stats sim_visit_stats(const struct sim *sim)
{
	struct engine_visit_stats t = sim->visit;
	for (size_t i = 0; i < sim->n_nodes; i++)
		if (sim->nodes[i]->drv)
			engine_visit_stats_add(&t, engine_visit_stats(driver_engine(sim->nodes[i]->drv)));
	t.n_misses = 0;
	return t;
}

const char *sim_visit_miss(const struct sim *sim, size_t i)
{
	return i < sim->n_visit_misses ? sim->visit_misses[i] : NULL;
}

static void visit_print(const struct sim *sim)
{
	const struct engine_visit_stats *t = &sim->visit;
	if (!sim->visit_shadow || !t->ticks)
		return;
	fprintf(stderr,
		"sim: skipping tick, shadow: %llu ticks (%llu visit all from the start, %llu from a "
		"pass on), %llu peers skippable, %llu missed\n",
		(unsigned long long)t->ticks, (unsigned long long)t->global_ticks,
		(unsigned long long)t->global_later, (unsigned long long)t->skippable,
		(unsigned long long)t->missed);
	for (size_t i = 0; i < sim->n_visit_misses; i++)
		fprintf(stderr, "sim:   missed: %s\n", sim->visit_misses[i]);
}

static void cfg_peer_free(struct sim_cfg_peer *c)
{
	free(c->name);
	free(c->allowed);
	for (size_t i = 0; i < c->n_eps; i++)
		free(c->eps[i].host);
	free(c->eps);
}

static void node_free(struct sim_node *n)
{
	if (!n)
		return;
	driver_free(n->drv);
	wgdev_close(n->wg);
	vwg_free(n->dev);
	for (size_t i = 0; i < n->n_cfg; i++)
		cfg_peer_free(&n->cfg[i]);
	free(n->cfg);
	free(n->app);
	memset(n->priv, 0, sizeof(n->priv));
	free(n);
}

void sim_free(struct sim *sim)
{
	if (!sim)
		return;
	sim_threads_stop(sim); /* first: the workers may no longer touch a node */
	for (size_t i = 0; i < sim->n_nodes; i++)
		visit_collect(sim, sim->nodes[i]);
	visit_print(sim);
	for (size_t i = 0; i < sim->n_nodes; i++)
		node_free(sim->nodes[i]);
	free(sim->nodes);
	free(sim->key_index);
	free(sim->addr_index);
	free(sim->trace);
	free(sim->wake);
	free(sim->heap_pos);
	free(sim->is_touched);
	for (size_t k = 0; k < VNET_MAX_PARTS; k++) {
		struct simpart *p = &sim->parts[k];
		free(p->members);
		free(p->heap);
		free(p->touched);
		free(p->due);
		free(p->held);
	}
	free(sim->by_host);
	keymemo_free(sim->keys);
	vnet_free(sim->net);
	free(sim);
}

struct vnet *sim_net(struct sim *sim)
{
	return sim->net;
}

int64_t sim_now(const struct sim *sim)
{
	return vnet_now(sim->net);
}

static void on_inner(void *ctx, struct vwg *dev, const struct vwg_inner *pkt,
		     const uint8_t via[static WL_KEY_LEN]);

/* Keys and auto addresses are uniformly random bytes: a slice of them is
 * a good hash. */
static size_t key_slot(const uint8_t key[static WL_KEY_LEN], size_t cap)
{
	uint64_t h;
	memcpy(&h, key, sizeof(h));
	return (size_t)h & (cap - 1);
}

static size_t addr_slot(const struct wl_addr *a, size_t cap)
{
	uint64_t h;
	memcpy(&h, a->bytes + 8, sizeof(h));
	return (size_t)h & (cap - 1);
}

static void index_add(struct sim *sim, int node)
{
	if (2 * (sim->n_nodes + 1) > sim->key_cap) {
		free(sim->key_index);
		free(sim->addr_index);
		sim->key_cap = sim->key_cap ? 2 * sim->key_cap : 64;
		sim->key_index = xcalloc(sim->key_cap, sizeof(*sim->key_index));
		sim->addr_index = xcalloc(sim->key_cap, sizeof(*sim->addr_index));
		for (int i = 0; i < node; i++)
			index_add(sim, i);
	}
	size_t mask = sim->key_cap - 1;
	size_t k = key_slot(sim->nodes[node]->key, sim->key_cap);
	while (sim->key_index[k])
		k = (k + 1) & mask;
	sim->key_index[k] = node + 1;
	k = addr_slot(&sim->nodes[node]->auto_addr, sim->key_cap);
	while (sim->addr_index[k])
		k = (k + 1) & mask;
	sim->addr_index[k] = node + 1;
}

/* The node whose auto address this is, or -1. */
static int node_by_addr(const struct sim *sim, const struct wl_addr *a)
{
	if (!sim->key_cap)
		return -1;
	size_t mask = sim->key_cap - 1;
	for (size_t k = addr_slot(a, sim->key_cap); sim->addr_index[k]; k = (k + 1) & mask)
		if (wl_addr_equal(&sim->nodes[sim->addr_index[k] - 1]->auto_addr, a))
			return sim->addr_index[k] - 1;
	return -1;
}

/* ---- the agenda: which node has work next ---- */

static struct simpart *part_of(struct sim *sim, const struct sim_node *n)
{
	return &sim->parts[n->part];
}

static void touch(struct sim *sim, int node)
{
	if (sim->is_touched[node])
		return;
	sim->is_touched[node] = true;
	struct simpart *p = part_of(sim, sim->nodes[node]);
	p->touched[p->n_touched++] = node;
}

/* Code outside the loop (a test, a hook) may have changed any node. */
static void touch_all(struct sim *sim)
{
	for (size_t k = 0; k < sim->n_parts; k++)
		sim->parts[k].all_touched = true;
}

static void on_deliver(void *ctx, int host)
{
	struct sim *sim = ctx;
	if ((size_t)host < sim->n_by_host && sim->by_host[host])
		touch(sim, sim->by_host[host] - 1);
}

/* The part's room for its nodes. */
static void part_size(struct simpart *p, size_t n)
{
	size_t k = n ? n : 1;
	p->members = xrealloc(p->members, k, sizeof(*p->members));
	p->heap = xrealloc(p->heap, k, sizeof(*p->heap));
	p->touched = xrealloc(p->touched, k, sizeof(*p->touched));
	p->due = xrealloc(p->due, k, sizeof(*p->due));
}

/* Room for one more node, in the first part; every node's time is worked
 * out again before the next step. */
static void agenda_add(struct sim *sim, struct sim_node *n)
{
	size_t k = sim->n_nodes + 1;
	if (sim->n_parts > 1) {
		fprintf(stderr, "sim: nodes are added before the network is split (sim_set_threads)\n");
		abort();
	}
	sim->wake = xrealloc(sim->wake, k, sizeof(*sim->wake));
	sim->heap_pos = xrealloc(sim->heap_pos, k, sizeof(*sim->heap_pos));
	sim->is_touched = xrealloc(sim->is_touched, k, sizeof(*sim->is_touched));
	sim->is_touched[n->index] = false;
	struct simpart *p = &sim->parts[0];
	part_size(p, p->n + 1);
	p->members[p->n++] = n->index;
	n->part = 0;
	if ((size_t)n->host >= sim->n_by_host) {
		size_t m = (size_t)n->host + 1;
		sim->by_host = xrealloc(sim->by_host, m, sizeof(*sim->by_host));
		memset(sim->by_host + sim->n_by_host, 0, (m - sim->n_by_host) * sizeof(*sim->by_host));
		sim->n_by_host = m;
	}
	sim->by_host[n->host] = n->index + 1;
	touch_all(sim);
}

/* When the node next has work: it wakes from a suspend, a WireGuard
 * timer, the daemon's tick, or its look at the tunnel's counters. */
static int64_t node_wake(const struct sim_node *n)
{
	if (n->resume_at != VNET_NEVER)
		return n->resume_at;
	int64_t t = vwg_next_timer(n->dev);
	if (n->drv) {
		int64_t d = driver_next_deadline(n->drv);
		if (d < t)
			t = d;
		d = driver_sense_deadline(n->drv);
		if (d < t)
			t = d;
	}
	return t;
}

static void heap_swap(struct sim *sim, struct simpart *p, size_t a, size_t b)
{
	int na = p->heap[a], nb = p->heap[b];
	p->heap[a] = nb;
	p->heap[b] = na;
	sim->heap_pos[nb] = (int)a;
	sim->heap_pos[na] = (int)b;
}

static void heap_down(struct sim *sim, struct simpart *p, size_t i)
{
	const int64_t *w = sim->wake;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < p->n && w[p->heap[l]] < w[p->heap[m]])
			m = l;
		if (r < p->n && w[p->heap[r]] < w[p->heap[m]])
			m = r;
		if (m == i)
			return;
		heap_swap(sim, p, i, m);
		i = m;
	}
}

/* After the time of the node at position i changed. */
static void heap_fix(struct sim *sim, struct simpart *p, size_t i)
{
	const int64_t *w = sim->wake;
	while (i > 0 && w[p->heap[i]] < w[p->heap[(i - 1) / 2]]) {
		heap_swap(sim, p, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	heap_down(sim, p, i);
}

/* Brings the part's agenda up to date with what touched its nodes. */
static void agenda_refresh(struct sim *sim, struct simpart *p)
{
	if (p->all_touched) {
		for (size_t i = 0; i < p->n; i++) {
			int node = p->members[i];
			sim->wake[node] = node_wake(sim->nodes[node]);
			p->heap[i] = node;
			sim->heap_pos[node] = (int)i;
		}
		for (size_t i = p->n / 2; i-- > 0;)
			heap_down(sim, p, i);
		p->all_touched = false;
	} else {
		for (size_t k = 0; k < p->n_touched; k++) {
			int i = p->touched[k];
			sim->wake[i] = node_wake(sim->nodes[i]);
			heap_fix(sim, p, (size_t)sim->heap_pos[i]);
		}
	}
	for (size_t k = 0; k < p->n_touched; k++)
		sim->is_touched[p->touched[k]] = false;
	p->n_touched = 0;
}

static int by_index(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* The part's nodes with work at or before t, in index order (p->due). */
static void agenda_due(struct sim *sim, struct simpart *p, int64_t t)
{
	p->n_due = 0;
	if (!p->n || sim->wake[p->heap[0]] > t)
		return;
	/* The heap's positions with work by t form a subtree at the root:
	 * walked with p->touched's room as the stack (it is empty now). */
	int *stack = p->touched;
	size_t n = 0;
	stack[n++] = 0;
	while (n) {
		size_t i = (size_t)stack[--n];
		p->due[p->n_due++] = p->heap[i];
		for (size_t c = 2 * i + 1; c <= 2 * i + 2 && c < p->n; c++)
			if (sim->wake[p->heap[c]] <= t)
				stack[n++] = (int)c;
	}
	qsort(p->due, p->n_due, sizeof(*p->due), by_index);
}

int sim_add_node(struct sim *sim, const struct sim_node_opts *o)
{
	struct sim_node *n = xcalloc(1, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", o->name ? o->name : "node");
	n->host = o->host;
	n->router = o->router;
	n->chatty = o->chatty;
	n->original = o->original;
	n->sim = sim;
	n->index = (int)sim->n_nodes;
	n->last_tick_at = -1;
	n->resume_at = VNET_NEVER;
	simrand_bytes(&sim->rng, n->priv, sizeof(n->priv));
	n->dev = vwg_new(sim->net, o->host, "wg0", n->priv, SIM_WG_PORT, simrand_next(&sim->rng));
	if (!n->dev || vwg_open_wgdev(n->dev, &n->wg) < 0) {
		fprintf(stderr, "sim: cannot create the device of %s\n", n->name);
		node_free(n);
		return -1;
	}
	wg_mem_check_refresh(vwg_model(n->dev), !sim->unchecked_devices);
	vwg_public_key(n->dev, n->key);
	autoaddr_of(n->key, &n->auto_addr);
	struct wl_cidr a = { n->auto_addr, 64 };
	vwg_add_address(n->dev, &a);
	if (o->tunnel_ip) {
		n->tunnel = cidr_or_die(o->tunnel_ip);
		n->has_tunnel = true;
		vwg_add_address(n->dev, &n->tunnel);
	}
	vwg_set_forwarding(n->dev, o->forwarding);
	vwg_set_recv(n->dev, on_inner, n);
	sim->nodes = xrealloc(sim->nodes, sim->n_nodes + 1, sizeof(*sim->nodes));
	sim->nodes[sim->n_nodes] = n;
	index_add(sim, (int)sim->n_nodes);
	agenda_add(sim, n);
	/* Every node keeps a slot per possible source for test traffic. */
	for (size_t i = 0; i <= sim->n_nodes; i++) {
		struct sim_node *m = sim->nodes[i];
		m->app = xrealloc(m->app, sim->n_nodes + 1, sizeof(*m->app));
		for (size_t j = (i == sim->n_nodes ? 0 : sim->n_nodes); j <= sim->n_nodes; j++)
			m->app[j].at = -1;
	}
	return (int)sim->n_nodes++;
}

size_t sim_node_count(const struct sim *sim)
{
	return sim->n_nodes;
}

const char *sim_node_name(const struct sim *sim, int node)
{
	return sim->nodes[node]->name;
}

void sim_node_key(const struct sim *sim, int node, uint8_t out[static WL_KEY_LEN])
{
	memcpy(out, sim->nodes[node]->key, WL_KEY_LEN);
}

struct vwg *sim_node_dev(struct sim *sim, int node)
{
	return sim->nodes[node]->dev;
}

struct engine *sim_node_engine(struct sim *sim, int node)
{
	struct sim_node *n = sim->nodes[node];
	return n->drv ? driver_engine(n->drv) : NULL;
}

struct driver *sim_node_driver(struct sim *sim, int node)
{
	return sim->nodes[node]->drv;
}

static struct wl_cidr host_prefix(const struct wl_addr *a)
{
	struct wl_cidr c = { *a, (uint8_t)(a->family == AF_INET ? 32 : 128) };
	return c;
}

bool sim_node_tunnel(const struct sim *sim, int node, struct wl_cidr *out)
{
	const struct sim_node *n = sim->nodes[node];
	if (!n->has_tunnel)
		return false;
	*out = host_prefix(&n->tunnel.addr);
	return true;
}

int sim_node_by_key(const struct sim *sim, const uint8_t key[static WL_KEY_LEN])
{
	if (!sim->key_cap)
		return -1;
	for (size_t k = key_slot(key, sim->key_cap); sim->key_index[k]; k = (k + 1) & (sim->key_cap - 1))
		if (memcmp(sim->nodes[sim->key_index[k] - 1]->key, key, WL_KEY_LEN) == 0)
			return sim->key_index[k] - 1;
	return -1;
}

void sim_wg_peer(struct sim *sim, int node, int peer, const char *endpoint, const char *allowed)
{
	char items[SIM_MAX_LIST][64];
	size_t n = split_list(allowed, items);
	struct wl_cidr cidrs[SIM_MAX_LIST + 1];
	cidrs[0] = host_prefix(&sim->nodes[peer]->auto_addr);
	for (size_t i = 0; i < n; i++)
		cidrs[i + 1] = cidr_or_die(items[i]);
	struct wg_peer_change ch = { .n_allowed = n + 1, .allowed_ips = cidrs };
	memcpy(ch.public_key, sim->nodes[peer]->key, WL_KEY_LEN);
	if (endpoint) {
		ch.flags |= WG_PEER_SET_ENDPOINT;
		ch.endpoint = ep_or_die(endpoint);
	}
	if (vwg_apply(sim->nodes[node]->dev, &ch, 1) != 0) {
		fprintf(stderr, "sim: bad WireGuard config for %s\n", sim->nodes[node]->name);
		abort();
	}
}

void sim_peer_cfg_init(struct sim_peer_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->trust = TRUST_UNSET;
	c->basic = WL_AUTO;
}

/* "host:port" or "[v6]:port", host a literal or a sim_dns_set name. */
static struct wl_config_endpoint cfg_endpoint_or_die(const char *s)
{
	const char *colon = strrchr(s, ':');
	char *end;
	unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
	if (!colon || colon == s || *end || port == 0 || port > 65535) {
		fprintf(stderr, "sim: bad endpoint \"%s\"\n", s);
		abort();
	}
	const char *host = s;
	size_t len = (size_t)(colon - s);
	if (host[0] == '[' && len >= 2 && host[len - 1] == ']') {
		host++;
		len -= 2;
	}
	struct wl_config_endpoint e = { .host = xstrdup(host), .port = (uint16_t)port };
	e.host[len] = '\0';
	return e;
}

void sim_config_peer(struct sim *sim, int node, int peer, const struct sim_peer_cfg *c)
{
	struct sim_node *n = sim->nodes[node];
	struct sim_cfg_peer *o = NULL;
	for (size_t i = 0; i < n->n_cfg && !o; i++)
		if (memcmp(n->cfg[i].key, sim->nodes[peer]->key, WL_KEY_LEN) == 0)
			o = &n->cfg[i];
	if (o) {
		cfg_peer_free(o); /* configured again: the new entry replaces it */
	} else {
		n->cfg = xrealloc(n->cfg, n->n_cfg + 1, sizeof(*n->cfg));
		o = &n->cfg[n->n_cfg++];
	}
	memset(o, 0, sizeof(*o));
	memcpy(o->key, sim->nodes[peer]->key, WL_KEY_LEN);
	o->trust = c->trust;
	o->fact_exchanger = c->fact_exchanger;
	o->basic = c->basic;
	o->name = c->name ? xstrdup(c->name) : NULL;
	char items[SIM_MAX_LIST][64];
	o->n_allowed = split_list(c->allowed, items);
	o->allowed = xcalloc(o->n_allowed, sizeof(*o->allowed));
	for (size_t i = 0; i < o->n_allowed; i++) {
		o->allowed[i] = cidr_or_die(items[i]);
		wl_cidr_mask(&o->allowed[i]); /* as the config parser leaves them */
	}
	o->n_eps = split_list(c->endpoints, items);
	o->eps = xcalloc(o->n_eps, sizeof(*o->eps));
	for (size_t i = 0; i < o->n_eps; i++)
		o->eps[i] = cfg_endpoint_or_die(items[i]);
}

void sim_dns_set(struct sim *sim, const char *name, const char *addr)
{
	struct dns_entry *d = NULL;
	for (size_t i = 0; i < sim->n_dns && !d; i++)
		if (strcmp(sim->dns[i].name, name) == 0)
			d = &sim->dns[i];
	if (!d) {
		if (sim->n_dns == SIM_MAX_DNS || strlen(name) >= sizeof(d->name)) {
			fprintf(stderr, "sim: cannot add DNS name \"%s\"\n", name);
			abort();
		}
		d = &sim->dns[sim->n_dns++];
		snprintf(d->name, sizeof(d->name), "%s", name);
	}
	if (!wl_addr_parse(addr, &d->addr)) {
		fprintf(stderr, "sim: bad address \"%s\" for %s\n", addr, name);
		abort();
	}
}

void sim_set_wall_offset(struct sim *sim, int node, int64_t offset_ms)
{
	sim->nodes[node]->wall_offset = offset_ms;
	vwg_set_wall_offset(sim->nodes[node]->dev, offset_ms);
}

/* The host's interfaces all up or all down: a machine asleep hears and
 * says nothing. */
static void host_links(struct sim *sim, const struct sim_node *n, bool up)
{
	for (size_t i = 0; i < vnet_iface_count(sim->net, n->host); i++)
		vnet_iface_set_up(sim->net, vnet_node_iface(sim->net, n->host, i), up);
}

void sim_suspend_node(struct sim *sim, int node, int64_t duration_ms, int64_t wall_step_ms)
{
	struct sim_node *n = sim->nodes[node];
	n->resume_at = sim_now(sim) + (duration_ms > 0 ? duration_ms : 0);
	n->resume_wall_step = wall_step_ms;
	host_links(sim, n, false);
}

bool sim_node_suspended(const struct sim *sim, int node)
{
	return sim->nodes[node]->resume_at != VNET_NEVER;
}

/* Wakes the node: links up, and its wall clock steps (the daemon's
 * engine clock is CLOCK_BOOTTIME, which counted the sleep, as virtual
 * time did; only a correction of the wall clock is a jump). Its overdue
 * WireGuard timers and driver deadlines then come due at once. */
static void resume(struct sim *sim, struct sim_node *n)
{
	n->resume_at = VNET_NEVER;
	host_links(sim, n, true);
	sim_set_wall_offset(sim, n->index, n->wall_offset + n->resume_wall_step);
}

/* The node's wirelink configuration as a config file would give it. */
static struct wl_config *node_config(const struct sim *sim, const struct sim_node *n)
{
	struct wl_config *cfg = config_new();
	if (!cfg) {
		fprintf(stderr, "sim: out of memory\n");
		abort();
	}
	cfg->leases = !sim->no_leases;
	if (sim->quiet_period >= 0)
		cfg->quiet_period = (uint32_t)sim->quiet_period;
	if (sim->dormant >= 0)
		cfg->dormant = sim->dormant;
	snprintf(cfg->iface, sizeof(cfg->iface), "%s", vwg_name(n->dev));
	cfg->router = n->router;
	cfg->chatty = n->chatty;
	cfg->peers = xcalloc(n->n_cfg, sizeof(*cfg->peers));
	cfg->n_peers = n->n_cfg;
	for (size_t i = 0; i < n->n_cfg; i++) {
		const struct sim_cfg_peer *c = &n->cfg[i];
		struct wl_config_peer *p = &cfg->peers[i];
		memcpy(p->public_key, c->key, WL_KEY_LEN);
		p->name = c->name ? xstrdup(c->name) : NULL;
		p->trust = c->trust;
		p->fact_exchanger = c->fact_exchanger;
		p->basic = c->basic;
		p->allowed_ips = xcalloc(c->n_allowed, sizeof(*p->allowed_ips));
		memcpy(p->allowed_ips, c->allowed, c->n_allowed * sizeof(*p->allowed_ips));
		p->n_allowed_ips = c->n_allowed;
		p->endpoints = xcalloc(c->n_eps, sizeof(*p->endpoints));
		for (size_t j = 0; j < c->n_eps; j++)
			p->endpoints[j] = (struct wl_config_endpoint){ xstrdup(c->eps[j].host),
								       c->eps[j].port };
		p->n_endpoints = c->n_eps;
	}
	return cfg;
}

/* ---- the driver's host: a node of the simulation ---- */

static int64_t host_wall_ms(void *ctx)
{
	const struct sim_node *n = ctx;
	return (int64_t)VWG_EPOCH_SEC * 1000 + sim_now(n->sim) + n->wall_offset;
}

static void host_random(void *ctx, uint8_t *buf, size_t len)
{
	struct sim_node *n = ctx;
	simrand_bytes(&n->sim->rng, buf, len);
}

/* The host's interfaces and the WireGuard one, as rtnetlink would list
 * them. The internet segment is 0.0.0.0/0 in the vnet; a host there
 * reports a /24, as a real server would. */
static int host_list_links(void *ctx, struct netif_link **out, size_t *n_out)
{
	const struct sim_node *n = ctx;
	struct vnet *net = n->sim->net;
	size_t count = vnet_iface_count(net, n->host);
	struct netif_link *l = xcalloc(count + 1, sizeof(*l));
	for (size_t i = 0; i < count; i++) {
		int id = vnet_node_iface(net, n->host, i);
		l[i].index = (uint32_t)id + 1;
		snprintf(l[i].name, sizeof(l[i].name), "%s", vnet_iface_name(net, id));
		l[i].up = vnet_iface_up(net, id);
		l[i].flags = l[i].up ? IFF_UP : 0;
	}
	l[count].index = 1000 + (uint32_t)n->host;
	snprintf(l[count].name, sizeof(l[count].name), "%s", vwg_name(n->dev));
	snprintf(l[count].kind, sizeof(l[count].kind), "wireguard");
	l[count].up = true;
	l[count].flags = IFF_UP;
	*out = l;
	*n_out = count + 1;
	return 0;
}

static int host_list_addrs(void *ctx, struct netif_addr **out, size_t *n_out)
{
	const struct sim_node *n = ctx;
	struct vnet *net = n->sim->net;
	size_t count = vnet_iface_count(net, n->host), n_wg = vwg_address_count(n->dev);
	struct netif_addr *a = xcalloc(count + n_wg, sizeof(*a));
	size_t k = 0;
	for (size_t i = 0; i < count; i++) {
		int id = vnet_node_iface(net, n->host, i);
		struct wl_cidr c;
		vnet_iface_addr(net, id, &c);
		if (c.prefix == 0)
			c.prefix = c.addr.family == AF_INET ? 24 : 64;
		a[k++] = (struct netif_addr){ .ifindex = (uint32_t)id + 1, .addr = c.addr,
					      .prefix = c.prefix };
	}
	const struct wl_cidr *wg = vwg_addresses(n->dev);
	for (size_t i = 0; i < n_wg; i++)
		a[k++] = (struct netif_addr){ .ifindex = 1000 + (uint32_t)n->host,
					      .addr = wg[i].addr,
					      .prefix = wg[i].prefix };
	*out = a;
	*n_out = k;
	return 0;
}

static void hook_facts(struct sim *sim, int from, int to, const uint8_t *buf, size_t len)
{
	struct packet p;
	const char *why;
	if (!packet_parse(buf, len, &p, &why))
		return;
	struct cursor c;
	struct fact f;
	packet_facts_begin(&p, &c);
	while (packet_next_fact(&c, &f, &why) == 1)
		sim->fact_hook(sim->fact_hook_ctx, sim_now(sim), from, to, &f);
	touch_all(sim); /* the test's code may act on any node */
}

static int host_send(void *ctx, const struct wl_addr *dst, uint16_t port, const uint8_t *buf,
		     size_t len)
{
	struct sim_node *n = ctx;
	struct sim *sim = n->sim;
	struct vwg_inner pkt = { .src = n->auto_addr, .dst = *dst, .sport = SIM_WL_PORT,
				 .dport = port, .len = len, .data = buf };
	struct sim_stats *st = &part_of(sim, n)->stats;
	st->datagrams++;
	st->datagram_bytes += len;
	n->st.tx_datagrams++;
	n->st.tx_bytes += len;
	if (sim->fact_hook)
		hook_facts(sim, n->index, node_by_addr(sim, dst), buf, len);
	int rc = vwg_send(n->dev, &pkt);
	if (rc < 0)
		st->send_errors++;
	return rc;
}

/* Literals resolve to themselves, names through sim_dns_set. */
static size_t host_resolve(void *ctx, const struct wl_config_endpoint *ep, struct wl_endpoint *out,
			   size_t cap)
{
	const struct sim_node *n = ctx;
	if (cap == 0)
		return 0;
	out->port = ep->port;
	if (wl_addr_parse(ep->host, &out->addr))
		return 1;
	for (size_t i = 0; i < n->sim->n_dns; i++) {
		if (strcmp(n->sim->dns[i].name, ep->host) == 0) {
			out->addr = n->sim->dns[i].addr;
			return 1;
		}
	}
	return 0;
}

static void trace_emit(struct sim *sim, const struct trace_entry *e, const char *text)
{
	if (sim->n_trace == sim->cap_trace) {
		sim->cap_trace = sim->cap_trace ? 2 * sim->cap_trace : 1024;
		sim->trace = xrealloc(sim->trace, sim->cap_trace, sizeof(*sim->trace));
	}
	struct trace_entry *t = &sim->trace[sim->n_trace++];
	*t = *e;
	t->text = NULL;
	if (sim->trace_print)
		fprintf(stderr, "%9.3f %-8s %-8s %s\n", (double)t->t / 1000.0, sim->nodes[t->node]->name,
			t->peer >= 0 ? sim->nodes[t->peer]->name : "-", text);
	if (sim->event_hook) {
		sim->event_hook(sim->event_hook_ctx, t->t, t->node, t->peer, t->kind);
		touch_all(sim); /* the test's code may act on any node */
	}
}

static void record_event(struct sim *sim, int node, const struct engine_event *ev)
{
	if (sim->trace_unkept && !sim->trace_print && !sim->event_hook)
		return;
	struct trace_entry t = { .t = sim_now(sim), .node = node, .kind = ev->kind };
	t.peer = ev->has_peer ? sim_node_by_key(sim, ev->peer) : -1;
	if (!sim->threaded) {
		trace_emit(sim, &t, ev->text);
		return;
	}
	struct simpart *p = part_of(sim, sim->nodes[node]);
	if (p->n_held == p->cap_held) {
		p->cap_held = p->cap_held ? 2 * p->cap_held : 256;
		p->held = xrealloc(p->held, p->cap_held, sizeof(*p->held));
	}
	t.text = sim->trace_print ? xstrdup(ev->text) : NULL;
	p->held[p->n_held++] = t;
}

struct held_ref {
	const struct trace_entry *e;
	size_t at; /* its place in its part: a node's own entries keep their order */
};

static int by_time_node(const void *a, const void *b)
{
	const struct held_ref *x = a, *y = b;
	if (x->e->t != y->e->t)
		return x->e->t < y->e->t ? -1 : 1;
	if (x->e->node != y->e->node)
		return x->e->node < y->e->node ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* At the end of a run in threads: the entries the parts held, into the
 * trace in order of time, then of node. A run on one thread gives the same
 * entries, at each instant in the order its nodes ran; sorted the same
 * way (sort -s -k1,1n -k2,2 of WL_SIM_TRACE's lines) the two agree. */
static void trace_merge(struct sim *sim)
{
	size_t n = 0;
	for (size_t k = 0; k < sim->n_parts; k++)
		n += sim->parts[k].n_held;
	if (!n)
		return;
	struct held_ref *refs = xrealloc(NULL, n, sizeof(*refs));
	size_t m = 0;
	for (size_t k = 0; k < sim->n_parts; k++)
		for (size_t i = 0; i < sim->parts[k].n_held; i++)
			refs[m++] = (struct held_ref){ &sim->parts[k].held[i], i };
	qsort(refs, n, sizeof(*refs), by_time_node);
	for (size_t i = 0; i < n; i++) {
		trace_emit(sim, refs[i].e, refs[i].e->text ? refs[i].e->text : "");
		free(refs[i].e->text);
	}
	free(refs);
	for (size_t k = 0; k < sim->n_parts; k++)
		sim->parts[k].n_held = 0;
}

static void host_event(void *ctx, const struct engine_event *ev)
{
	struct sim_node *n = ctx;
	record_event(n->sim, n->index, ev);
}

/* The trace keeps an event's kind and peer; its text only goes to
 * WL_SIM_TRACE's print. */
static bool host_wants_event_text(void *ctx)
{
	const struct sim_node *n = ctx;
	return n->sim->trace_print;
}

static size_t host_extra_endpoints(void *ctx, struct wl_endpoint *out, size_t cap)
{
	const struct sim_node *n = ctx;
	if (!n->has_mapping || cap == 0)
		return 0;
	out[0] = n->mapping;
	return 1;
}

static int host_tunnel_bytes(void *ctx, uint64_t *rx, uint64_t *tx)
{
	const struct sim_node *n = ctx;
	*rx = vwg_stats(n->dev)->tun_rx_bytes;
	*tx = vwg_stats(n->dev)->tun_tx_bytes;
	return 0;
}

static bool host_agree(void *ctx, const uint8_t own_private[static WL_KEY_LEN],
		       const uint8_t own_public[static WL_KEY_LEN],
		       const uint8_t peer[static WL_KEY_LEN], uint8_t out[static 32])
{
	const struct sim_node *n = ctx;
	return keymemo_agree(n->sim->keys, own_private, own_public, peer, out);
}

static const struct driver_host_ops host_ops = {
	.wall_ms = host_wall_ms,
	.random = host_random,
	.list_links = host_list_links,
	.list_addrs = host_list_addrs,
	.send = host_send,
	.resolve = host_resolve,
	.event = host_event,
	.wants_event_text = host_wants_event_text,
	.extra_endpoints = host_extra_endpoints,
	.tunnel_bytes = host_tunnel_bytes,
	.agree = host_agree,
};

int sim_grant_port_mapping(struct sim *sim, int node, int nat, uint16_t ext_port)
{
	struct sim_node *n = sim->nodes[node];
	struct wl_cidr lan;
	vnet_iface_addr(sim->net, vnet_node_iface(sim->net, n->host, 0), &lan);
	struct wl_endpoint inside = { lan.addr, SIM_WG_PORT };
	int rc = vnet_nat_forward(sim->net, nat, ext_port, &inside, &n->mapping);
	n->has_mapping = rc == 0;
	return rc;
}

/* ---- starting and reloading ---- */

/* An engine as the original would run it (sim_node_opts.original). */
static struct engine *original_engine(struct sim *sim, struct sim_node *n)
{
	if (n->n_cfg) {
		fprintf(stderr, "sim: %s: an original node runs in full-auto mode only\n", n->name);
		abort();
	}
	struct engine_config ec;
	engine_config_init(&ec);
	memcpy(ec.private_key, n->priv, WL_KEY_LEN);
	ec.port = SIM_WL_PORT;
	ec.router = n->router;
	ec.chatty = n->chatty;
	ec.timing.endpoint_interval_ms = 15000;
	ec.timing.fresh_try_ms = 15000;
	ec.timing.stagger_ms = 0;
	ec.timing.probe_interval_ms = 0;
	ec.agreement = (struct key_agreement){ keymemo_agree, sim->keys };
	uint8_t seed[32];
	simrand_bytes(&sim->rng, seed, sizeof(seed));
	struct engine *e = engine_new(&ec, seed, sim_now(sim));
	if (!e) {
		fprintf(stderr, "sim: cannot build the engine of %s\n", n->name);
		abort();
	}
	return e;
}

void sim_start_node(struct sim *sim, int node)
{
	struct sim_node *n = sim->nodes[node];
	visit_collect(sim, n);
	driver_free(n->drv);
	n->drv = NULL;
	struct driver_host host = { &host_ops, n, n->wg };
	if (n->original) {
		if (driver_new_with_engine(&host, original_engine(sim, n), NULL, &n->drv) < 0)
			abort();
	} else if (driver_new(&host, node_config(sim, n), sim_now(sim), &n->drv) < 0) {
		fprintf(stderr, "sim: cannot start the driver of %s\n", n->name);
		abort();
	}
	visit_modes(sim, n);
}

void sim_start(struct sim *sim)
{
	for (size_t i = 0; i < sim->n_nodes; i++)
		sim_start_node(sim, (int)i);
}

void sim_restart_node(struct sim *sim, int node)
{
	sim_start_node(sim, node);
}

int sim_reload_node(struct sim *sim, int node, char *why, size_t why_len)
{
	struct sim_node *n = sim->nodes[node];
	struct wl_config *cfg = node_config(sim, n);
	int rc = driver_reload(n->drv, sim_now(sim), cfg, why, why_len);
	if (rc < 0)
		config_free(cfg);
	return rc;
}

/* ---- datagrams in ---- */

/* A path probe: a node running wirelink answers it; on any other (plain
 * WireGuard, or wirelink not started) nothing listens on the probe port,
 * and the kernel answers with an ICMPv6 port-unreachable quoting it, back
 * through the tunnel. */
static void answer_probe(struct sim_node *n, const struct vwg_inner *pkt)
{
	if (n->drv && !n->original) {
		driver_receive_probe(n->drv, sim_now(n->sim), &pkt->src, pkt->data, pkt->len);
		return;
	}
	uint8_t icmp[8 + 48 + ENGINE_PROBE_LEN] = { 1 /* destination unreachable */, 4 /* port */ };
	struct vwg_inner err = { .src = pkt->dst, .dst = pkt->src, .sport = 0, .dport = 0,
				 .len = sizeof(icmp), .data = icmp };
	vwg_send(n->dev, &err);
}

static void on_inner(void *ctx, struct vwg *dev, const struct vwg_inner *pkt,
		     const uint8_t via[static WL_KEY_LEN])
{
	struct sim_node *n = ctx;
	struct sim *sim = n->sim;
	if (pkt->dport == SIM_APP_PORT) {
		int src = -1;
		for (size_t i = 0; i < sim->n_nodes && src < 0; i++)
			if (sim->nodes[i]->has_tunnel && wl_addr_equal(&sim->nodes[i]->tunnel.addr, &pkt->src))
				src = (int)i;
		if (src >= 0) {
			n->app[src].at = sim_now(sim);
			n->app[src].via = sim_node_by_key(sim, via);
		}
		return;
	}
	if (pkt->dport == SIM_PROBE_PORT && wl_addr_equal(&pkt->dst, &n->auto_addr)) {
		answer_probe(n, pkt);
		return;
	}
	if (pkt->dport != SIM_WL_PORT || !wl_addr_equal(&pkt->dst, &n->auto_addr) || !n->drv) {
		part_of(sim, n)->stats.rx_dropped++;
		return;
	}
	n->st.rx_datagrams++;
	n->st.rx_bytes += pkt->len;
	bool timed = sim->cpu_clock && n == sim->cpu_node;
	uint64_t t0 = timed ? sim->cpu_clock() : 0;
	driver_receive(n->drv, sim_now(sim), &pkt->src, pkt->data, pkt->len);
	if (timed)
		n->st.rx_cpu_ns += sim->cpu_clock() - t0;
}

/* ---- one tick: the daemon's own, through the driver ---- */

static void tick(struct sim *sim, int node)
{
	struct sim_node *n = sim->nodes[node];
	int64_t now = sim_now(sim);
	if (n->last_tick_at == now) {
		if (++n->ticks_at_instant > SIM_MAX_TICKS_PER_INSTANT) {
			fprintf(stderr, "sim: %s ticks endlessly at %lld ms (deadline %lld)\n", n->name,
				(long long)now, (long long)driver_next_deadline(n->drv));
			abort();
		}
	} else {
		n->last_tick_at = now;
		n->ticks_at_instant = 0;
	}
	bool timed = sim->cpu_clock && n == sim->cpu_node;
	if (sim->tick_hook)
		sim->tick_hook(sim->tick_hook_ctx, node, false);
	uint64_t t0 = timed ? sim->cpu_clock() : 0;
	if (driver_tick(n->drv, now) < 0)
		fprintf(stderr, "sim: %s: the tick failed\n", n->name);
	if (timed)
		n->st.tick_cpu_ns += sim->cpu_clock() - t0;
	if (sim->tick_hook)
		sim->tick_hook(sim->tick_hook_ctx, node, true);
	n->st.ticks++;
	part_of(sim, n)->stats.ticks++;
	part_of(sim, n)->stats.changes += driver_last_actions(n->drv)->n_changes;
}

/* ---- the loop ---- */

/* The part's next instant with work. */
static int64_t part_next_time(struct sim *sim, struct simpart *p)
{
	agenda_refresh(sim, p);
	int64_t t = vnet_part_next_event(sim->net, p->id);
	if (p->n && sim->wake[p->heap[0]] < t)
		t = sim->wake[p->heap[0]];
	return t;
}

/* Whether node i's daemon runs now, as its own loop would decide: a due
 * tick, or a look at the tunnel's counters that finds the user's traffic. */
static bool tick_due(struct sim *sim, size_t i, int64_t t)
{
	struct sim_node *n = sim->nodes[i];
	if (!n->drv || n->resume_at != VNET_NEVER)
		return false;
	return driver_next_deadline(n->drv) <= t ||
	       (driver_sense_deadline(n->drv) <= t && driver_sense(n->drv, t));
}

/* Instant t in part p: datagrams arrive, sleeping nodes wake, WireGuard
 * timers run, then the daemons tick, each in node order. Only the nodes
 * the agenda has due are visited; a node nothing touched keeps its time. */
static void part_run_at(struct sim *sim, struct simpart *p, int64_t t)
{
	vnet_part_advance(sim->net, p->id, t);
	agenda_refresh(sim, p);
	agenda_due(sim, p, t);
	for (size_t k = 0; k < p->n_due; k++)
		if (sim->nodes[p->due[k]]->resume_at <= t)
			resume(sim, sim->nodes[p->due[k]]);
	for (size_t k = 0; k < p->n_due; k++)
		if (sim->nodes[p->due[k]]->resume_at == VNET_NEVER)
			vwg_run_timers(sim->nodes[p->due[k]]->dev);
	int next = 0; /* the first node not yet considered for a tick */
	for (size_t k = 0; k < p->n_due && !p->all_touched; k++) {
		int i = p->due[k];
		if (tick_due(sim, (size_t)i, t))
			tick(sim, i);
		next = i + 1;
	}
	/* A hook's code may have given any node after it work now. */
	for (size_t j = 0; p->all_touched && j < p->n; j++)
		if (p->members[j] >= next && tick_due(sim, (size_t)p->members[j], t))
			tick(sim, p->members[j]);
	for (size_t k = 0; k < p->n_due; k++)
		touch(sim, p->due[k]);
}

/* Advances to the next instant with work, but not past limit, one part
 * after the other. False if nothing happened before limit (the clock is
 * then at limit). */
static bool step(struct sim *sim, int64_t limit)
{
	int64_t t = VNET_NEVER;
	for (size_t k = 0; k < sim->n_parts; k++) {
		int64_t u = part_next_time(sim, &sim->parts[k]);
		if (u < t)
			t = u;
	}
	if (t > limit) {
		vnet_advance(sim->net, limit);
		return false;
	}
	if (t < sim_now(sim))
		t = sim_now(sim);
	for (size_t k = 0; k < sim->n_parts; k++)
		part_run_at(sim, &sim->parts[k], t);
	sim->parts[0].stats.steps++;
	return true;
}

/* ---- parts in threads ---- */

/* Each part runs its instants in order, as far ahead as the others
 * allow: an instant t is safe once every other part's clock (the earliest
 * instant it may still run) is above t - lookahead, for nothing it does
 * from then on can reach this part before t. A part takes in what the
 * others sent it before looking at its next instant, and publishes its
 * own clock: its next instant, or sooner if what the others may still
 * send can make one sooner.
 *
 * There are more parts than threads, and a thread runs whichever part
 * holds the others back (the least clock) that no other thread has: with
 * one part a thread, the thread whose part had less to do in a stretch
 * of one lookahead waited for the other, where now it takes up another
 * part. */
struct sim_threads {
	size_t n; /* workers (the caller's thread is one more) */
	pthread_t tid[VNET_MAX_PARTS];
	struct sim *sim;
	_Atomic int64_t clock[VNET_MAX_PARTS];
	_Atomic bool held[VNET_MAX_PARTS]; /* a thread runs it now */
	_Atomic bool done[VNET_MAX_PARTS]; /* through to end */
	_Atomic size_t n_done;             /* parts through to end */
	_Atomic uint64_t round;            /* moved on to start a run */
	_Atomic size_t finished;           /* workers through with it */
	_Atomic bool quit;
	int64_t end; /* the run's last instant (written before round moves) */
	/* Real time the threads spent in runs, and waiting in them for a
	 * part to run (sim_thread_stats). */
	uint64_t run_ns;
	_Atomic uint64_t wait_ns;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The parts spend most of their waits a few microseconds apart: they
 * spin, and yield the core only when a wait lasts. */
static void spin_pause(unsigned *spins)
{
	if (++*spins > 4096)
		sched_yield();
	else
		__builtin_ia32_pause();
}

/* The least clock of the parts other than p. */
static int64_t others_clock(struct sim_threads *th, size_t n_parts, int p)
{
	int64_t least = VNET_NEVER;
	for (size_t k = 0; k < n_parts; k++) {
		int64_t c = atomic_load(&th->clock[k]);
		if ((int)k != p && c < least)
			least = c;
	}
	return least;
}

/* Part p's instants up to end, as far as the others allow now; true if
 * it ran any. The thread holds p. */
static bool part_run(struct sim *sim, struct simpart *p, int64_t end)
{
	struct sim_threads *th = sim->threads;
	int64_t ahead = sim->lookahead;
	bool ran = false;
	vnet_part_enter(sim->net, p->id);
	for (;;) {
		int64_t others = others_clock(th, sim->n_parts, p->id);
		vnet_take_inbound(sim->net, p->id);
		int64_t t = part_next_time(sim, p);
		if (t < sim_now(sim))
			t = sim_now(sim);
		int64_t reach = others > VNET_NEVER - ahead ? VNET_NEVER : others + ahead;
		atomic_store(&th->clock[p->id], t < reach ? t : reach);
		if (t > end && reach > end) {
			/* Nothing left to run, nothing more can come. */
			vnet_part_advance(sim->net, p->id, end);
			atomic_store(&th->done[p->id], true);
			atomic_fetch_add(&th->n_done, 1);
			break;
		}
		if (t > end || t >= reach)
			break;
		part_run_at(sim, p, t);
		p->stats.steps++;
		ran = true;
	}
	vnet_part_enter(sim->net, -1);
	return ran;
}

/* The part with the least clock that no thread holds and this one has
 * not tried yet, or -1. */
static int least_free(struct sim_threads *th, size_t n_parts, const bool *tried)
{
	int best = -1;
	int64_t least = VNET_NEVER;
	for (size_t k = 0; k < n_parts; k++) {
		int64_t c = atomic_load(&th->clock[k]);
		if (tried[k] || atomic_load(&th->done[k]) || atomic_load(&th->held[k]))
			continue;
		if (best < 0 || c < least) {
			best = (int)k;
			least = c;
		}
	}
	return best;
}

/* This thread's share of a run to end: the part that holds the others
 * back most among those no other thread holds, again and again, until
 * every part is through. */
static void run_share(struct sim *sim, int64_t end)
{
	struct sim_threads *th = sim->threads;
	unsigned spins = 0;
	uint64_t waiting_since = 0, tried_at = 0; /* 0: not waiting */
	while (atomic_load(&th->n_done) < sim->n_parts) {
		bool ran = false, tried[VNET_MAX_PARTS] = { false };
		int k;
		while (!ran && (k = least_free(th, sim->n_parts, tried)) >= 0) {
			tried[k] = true;
			if (atomic_exchange(&th->held[k], true))
				continue;
			if (waiting_since)
				tried_at = mono_ns(); /* the wait ends here if it runs */
			if (!atomic_load(&th->done[k]))
				ran = part_run(sim, &sim->parts[k], end);
			atomic_store(&th->held[k], false);
		}
		if (ran) {
			spins = 0;
			if (waiting_since) {
				atomic_fetch_add(&th->wait_ns, tried_at - waiting_since);
				waiting_since = 0;
			}
		} else {
			if (!waiting_since)
				waiting_since = mono_ns();
			spin_pause(&spins);
		}
	}
	if (waiting_since)
		atomic_fetch_add(&th->wait_ns, mono_ns() - waiting_since);
}

static void *worker(void *arg)
{
	struct sim_threads *th = arg;
	uint64_t seen = 0;
	for (;;) {
		unsigned spins = 0;
		while (atomic_load(&th->round) == seen)
			spin_pause(&spins);
		seen = atomic_load(&th->round);
		if (atomic_load(&th->quit))
			break;
		run_share(th->sim, th->end);
		atomic_fetch_add(&th->finished, 1);
	}
	return NULL;
}

/* Runs every part to end at once; then what they sent one another for
 * later joins the queues and their trace entries merge. */
static void run_parts(struct sim *sim, int64_t end)
{
	struct sim_threads *th = sim->threads;
	int64_t now = sim_now(sim);
	if (end < now)
		return;
	/* The test may have given any node work now. */
	for (size_t k = 0; k < sim->n_parts; k++) {
		atomic_store(&th->clock[k], now);
		atomic_store(&th->done[k], false);
	}
	atomic_store(&th->n_done, 0);
	sim->threaded = true;
	vnet_set_threaded(sim->net, true);
	th->end = end;
	atomic_store(&th->finished, 0);
	uint64_t start = mono_ns();
	atomic_fetch_add(&th->round, 1);
	run_share(sim, end);
	uint64_t mine = mono_ns();
	unsigned spins = 0;
	while (atomic_load(&th->finished) < th->n)
		spin_pause(&spins);
	uint64_t all = mono_ns();
	atomic_fetch_add(&th->wait_ns, all - mine);
	th->run_ns += (all - start) * (th->n + 1);
	sim->threaded = false;
	vnet_set_threaded(sim->net, false);
	vnet_exchange(sim->net);
	trace_merge(sim);
	vnet_advance(sim->net, end);
}

static void sim_threads_stop(struct sim *sim)
{
	struct sim_threads *th = sim->threads;
	if (!th)
		return;
	atomic_store(&th->quit, true);
	atomic_fetch_add(&th->round, 1);
	for (size_t i = 0; i < th->n; i++)
		pthread_join(th->tid[i], NULL);
	free(th);
	sim->threads = NULL;
}

/* Each node into the part of its host, members in index order. */
static void parts_fill(struct sim *sim)
{
	for (size_t k = 0; k < sim->n_parts; k++)
		sim->parts[k].n = 0;
	for (size_t i = 0; i < sim->n_nodes; i++) {
		struct sim_node *nd = sim->nodes[i];
		nd->part = vnet_node_part(sim->net, nd->host);
		struct simpart *p = &sim->parts[nd->part];
		part_size(p, p->n + 1);
		p->members[p->n++] = (int)i;
		sim->is_touched[i] = false;
	}
	for (size_t k = 0; k < sim->n_parts; k++)
		sim->parts[k].n_touched = 0;
	touch_all(sim);
}

size_t sim_set_threads(struct sim *sim, size_t n)
{
	if (sim->threads || n < 2)
		return sim->n_parts;
	/* A node's work grows with the peers it has: a hub that lists every
	 * leaf weighs as much as a sixteenth of them. The parts need not
	 * weigh the same (a thread takes up another part while one waits),
	 * but none should weigh more than a thread can carry. */
	unsigned *weight = xcalloc(vnet_node_count(sim->net), sizeof(*weight));
	for (size_t i = 0; i < sim->n_nodes; i++) {
		size_t peers = wg_mem_peer_count(vwg_model(sim->nodes[i]->dev));
		weight[sim->nodes[i]->host] += 1 + (unsigned)(peers / 16);
	}
	size_t threads = n > VNET_MAX_PARTS ? VNET_MAX_PARTS : n;
	size_t parts = SIM_PARTS_PER_THREAD * threads;
	sim->n_parts = vnet_split(sim->net, parts > VNET_MAX_PARTS ? VNET_MAX_PARTS : parts, weight,
				  &sim->lookahead);
	free(weight);
	if (sim->n_parts < 2)
		return 1;
	parts_fill(sim);
	(void)sim_timing(); /* set once, before any thread reads it */
	struct sim_threads *th = xcalloc(1, sizeof(*th));
	th->sim = sim;
	for (size_t k = 1; k < threads && k < sim->n_parts; k++) {
		if (pthread_create(&th->tid[th->n], NULL, worker, th) != 0) {
			fprintf(stderr, "sim: cannot start a thread\n");
			abort();
		}
		th->n++;
	}
	sim->threads = th;
	return sim->n_parts;
}

size_t sim_part_size(const struct sim *sim, size_t part)
{
	return part < sim->n_parts ? sim->parts[part].n : 0;
}

int sim_node_part(const struct sim *sim, int node)
{
	return sim->nodes[node]->part;
}

struct sim_thread_stats sim_thread_stats(const struct sim *sim)
{
	struct sim_thread_stats st = { 0 };
	if (sim->threads) {
		st.threads = sim->threads->n + 1;
		st.run_s = (double)sim->threads->run_ns / 1e9;
		st.wait_s = (double)atomic_load(&sim->threads->wait_ns) / 1e9;
	}
	return st;
}

void sim_run_to(struct sim *sim, int64_t t)
{
	touch_all(sim); /* the test may have changed any node */
	if (sim->threads && !sim->event_hook && !sim->fact_hook && !sim->tick_hook) {
		run_parts(sim, t);
		return;
	}
	while (step(sim, t))
		;
}

int64_t sim_run_until(struct sim *sim, sim_pred pred, void *ctx, int64_t timeout_ms)
{
	int64_t deadline = sim_now(sim) + timeout_ms;
	for (;;) {
		touch_all(sim); /* the test (or pred) may have changed any node */
		if (pred(sim, ctx))
			return sim_now(sim);
		if (sim_now(sim) >= deadline)
			return -1;
		step(sim, deadline);
	}
}

/* ---- observing ---- */

bool sim_peer_view(struct sim *sim, int node, int peer, struct sim_peer_view *out)
{
	memset(out, 0, sizeof(*out));
	out->last_handshake = ENGINE_NEVER;
	struct wg_device *d = vwg_snapshot(sim->nodes[node]->dev);
	if (!d)
		return false;
	struct wg_peer *p = NULL;
	for (size_t i = 0; i < d->n_peers && !p; i++)
		if (memcmp(d->peers[i].public_key, sim->nodes[peer]->key, WL_KEY_LEN) == 0)
			p = &d->peers[i];
	if (p) {
		out->present = true;
		out->has_endpoint = p->has_endpoint;
		out->endpoint = p->endpoint;
		out->last_handshake = vwg_peer_handshake(sim->nodes[node]->dev, p->public_key);
		out->n_allowed = p->n_allowed < SIM_MAX_ALLOWED ? p->n_allowed : SIM_MAX_ALLOWED;
		memcpy(out->allowed, p->allowed_ips, out->n_allowed * sizeof(*out->allowed));
	}
	vwg_device_free(d);
	return out->present;
}

static bool view_has(const struct sim_peer_view *v, const struct wl_cidr *c)
{
	for (size_t i = 0; i < v->n_allowed; i++)
		if (wl_cidr_equal(&v->allowed[i], c))
			return true;
	return false;
}

bool sim_view_allows(const struct sim_peer_view *v, const char *cidr)
{
	struct wl_cidr c = cidr_or_die(cidr);
	wl_cidr_mask(&c);
	return view_has(v, &c);
}

bool sim_view_auto_only(const struct sim_peer_view *v)
{
	return v->n_allowed == 1 && v->allowed[0].prefix == 128 &&
	       wl_addr_is_link_local(&v->allowed[0].addr);
}

bool sim_quiet_healthy(struct sim *sim, int node, int peer)
{
	struct engine *e = sim_node_engine(sim, node);
	uint8_t key[WL_KEY_LEN];
	struct engine_peer_info info;
	sim_node_key(sim, peer, key);
	return e && engine_peer_info(e, key, sim_now(sim), &info) && info.quiet && info.healthy;
}

bool sim_direct(struct sim *sim, int node, int peer, const char *endpoint, int64_t max_age_ms)
{
	struct sim_peer_view v;
	if (!sim_peer_view(sim, node, peer, &v) || !v.has_endpoint)
		return false;
	if ((v.last_handshake == ENGINE_NEVER || sim_now(sim) - v.last_handshake > max_age_ms) &&
	    !sim_quiet_healthy(sim, node, peer))
		return false;
	if (endpoint) {
		struct wl_endpoint e = ep_or_die(endpoint);
		if (!wl_endpoint_equal(&e, &v.endpoint))
			return false;
	}
	struct wl_cidr t;
	if (!sim_node_tunnel(sim, peer, &t))
		return true;
	for (size_t i = 0; i < v.n_allowed; i++)
		if (wl_cidr_contains(&v.allowed[i], &t.addr))
			return true;
	return false;
}

struct direct_query {
	int node, peer;
	const char *endpoint;
	int64_t max_age_ms;
};

static bool direct_pred(struct sim *sim, void *ctx)
{
	const struct direct_query *q = ctx;
	return sim_direct(sim, q->node, q->peer, q->endpoint, q->max_age_ms);
}

int64_t sim_run_until_direct(struct sim *sim, int node, int peer, const char *endpoint,
			     int64_t max_age_ms, int64_t timeout_ms)
{
	struct direct_query q = { node, peer, endpoint, max_age_ms };
	return sim_run_until(sim, direct_pred, &q, timeout_ms);
}

int sim_app_send(struct sim *sim, int from, int to)
{
	struct sim_node *a = sim->nodes[from], *b = sim->nodes[to];
	if (!a->has_tunnel || !b->has_tunnel)
		return -EINVAL;
	uint8_t payload = 0x42;
	struct vwg_inner pkt = { .src = a->tunnel.addr, .dst = b->tunnel.addr, .sport = SIM_APP_PORT,
				 .dport = SIM_APP_PORT, .len = 1, .data = &payload };
	return vwg_send(a->dev, &pkt);
}

int sim_send_raw(struct sim *sim, int from, int to, const uint8_t *buf, size_t len)
{
	struct sim_node *a = sim->nodes[from], *b = sim->nodes[to];
	struct vwg_inner pkt = { .src = a->auto_addr, .dst = b->auto_addr, .sport = SIM_WL_PORT,
				 .dport = SIM_WL_PORT, .len = len, .data = buf };
	return vwg_send(a->dev, &pkt);
}

void sim_node_private(const struct sim *sim, int node, uint8_t out[static WL_KEY_LEN])
{
	memcpy(out, sim->nodes[node]->priv, WL_KEY_LEN);
}

bool sim_app_last(const struct sim *sim, int node, int src, int64_t *at, int *via)
{
	const struct app_rx *r = &sim->nodes[node]->app[src];
	if (r->at < 0)
		return false;
	*at = r->at;
	*via = r->via;
	return true;
}

static bool trace_match(const struct trace_entry *t, int node, enum engine_event_kind kind, int peer,
			int64_t since)
{
	return t->node == node && t->kind == kind && (peer < 0 || t->peer == peer) && t->t >= since;
}

int64_t sim_trace_find(const struct sim *sim, int node, enum engine_event_kind kind, int peer,
		       int64_t since)
{
	for (size_t i = 0; i < sim->n_trace; i++)
		if (trace_match(&sim->trace[i], node, kind, peer, since))
			return sim->trace[i].t;
	return -1;
}

size_t sim_trace_count(const struct sim *sim, int node, enum engine_event_kind kind, int peer,
		       int64_t since)
{
	size_t n = 0;
	for (size_t i = 0; i < sim->n_trace; i++)
		n += trace_match(&sim->trace[i], node, kind, peer, since);
	return n;
}

size_t sim_trace_len(const struct sim *sim)
{
	return sim->n_trace;
}

void sim_trace_at(const struct sim *sim, size_t i, struct sim_trace_event *out)
{
	const struct trace_entry *e = &sim->trace[i];
	*out = (struct sim_trace_event){ e->t, e->node, e->peer, e->kind };
}

void sim_set_trace_kept(struct sim *sim, bool keep)
{
	sim->trace_unkept = !keep;
}

void sim_set_event_hook(struct sim *sim, sim_event_hook fn, void *ctx)
{
	sim->event_hook = fn;
	sim->event_hook_ctx = ctx;
}

void sim_set_fact_hook(struct sim *sim, sim_fact_hook fn, void *ctx)
{
	sim->fact_hook = fn;
	sim->fact_hook_ctx = ctx;
}

struct keymemo_stats sim_key_stats(const struct sim *sim)
{
	return keymemo_stats(sim->keys);
}

const struct sim_stats *sim_stats(struct sim *sim)
{
	struct sim_stats *sum = &sim->stats;
	*sum = (struct sim_stats){ 0 };
	for (size_t k = 0; k < sim->n_parts; k++) {
		const struct sim_stats *c = &sim->parts[k].stats;
		sum->steps += c->steps;
		sum->ticks += c->ticks;
		sum->datagrams += c->datagrams;
		sum->datagram_bytes += c->datagram_bytes;
		sum->send_errors += c->send_errors;
		sum->changes += c->changes;
		sum->rx_dropped += c->rx_dropped;
	}
	return sum;
}

const struct sim_node_stats *sim_node_stats(const struct sim *sim, int node)
{
	return &sim->nodes[node]->st;
}

void sim_set_cpu_clock(struct sim *sim, int node, sim_cpu_clock fn)
{
	sim->cpu_clock = fn;
	sim->cpu_node = sim->nodes[node];
}

void sim_set_tick_hook(struct sim *sim, sim_tick_hook fn, void *ctx)
{
	sim->tick_hook = fn;
	sim->tick_hook_ctx = ctx;
}

void sim_check_devices(struct sim *sim, bool on)
{
	sim->unchecked_devices = !on;
	for (size_t i = 0; i < sim->n_nodes; i++)
		wg_mem_check_refresh(vwg_model(sim->nodes[i]->dev), on);
}

void sim_set_leases(struct sim *sim, bool on)
{
	sim->no_leases = !on;
}

void sim_set_quiet_period(struct sim *sim, int seconds)
{
	sim->quiet_period = seconds;
}

void sim_set_dormant(struct sim *sim, int on)
{
	sim->dormant = on;
}

static void dump_line(void *ctx, const char *text)
{
	fprintf(ctx, "%s\n", text);
}

void sim_dump(struct sim *sim, FILE *out)
{
	fprintf(out, "--- sim state at %.3f s\n", (double)sim_now(sim) / 1000.0);
	for (size_t i = 0; i < sim->n_nodes; i++) {
		struct sim_node *n = sim->nodes[i];
		fprintf(out, "node %s:\n", n->name);
		for (size_t j = 0; j < sim->n_nodes; j++) {
			struct sim_peer_view v;
			if (!sim_peer_view(sim, (int)i, (int)j, &v))
				continue;
			char ep[WL_ENDPOINT_STR_MAX] = "-";
			if (v.has_endpoint)
				wl_endpoint_str(&v.endpoint, ep);
			fprintf(out, "  peer %-8s ep %-22s hs %s%.3f allowed", sim->nodes[j]->name, ep,
				v.last_handshake == ENGINE_NEVER ? "never " : "",
				v.last_handshake == ENGINE_NEVER ? 0.0 : (double)v.last_handshake / 1000.0);
			for (size_t k = 0; k < v.n_allowed; k++) {
				char c[WL_CIDR_STR_MAX];
				fprintf(out, " %s", wl_cidr_str(&v.allowed[k], c));
			}
			fprintf(out, "\n");
		}
		if (n->drv)
			engine_dump(driver_engine(n->drv), sim_now(sim), dump_line, out);
	}
}
