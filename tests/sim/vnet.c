#include "sim/vnet.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/simrand.h"

/* Datagrams bigger than this do not exist in the simulation. */
#define VNET_MAX_PAYLOAD 65507
/* Hops before a datagram is dropped (guards against routing loops). */
#define VNET_MAX_HOPS 32

struct vnet_pkt {
	struct wl_endpoint src, dst;
	unsigned hops;
	size_t len;
	uint8_t data[];
};

struct nat_filter {
	struct wl_endpoint remote;
	int64_t last;
};

/* Positions in an array by a hash of their key (open addressing, at most
 * half full). A NAT with hundreds of mappings, each with filters for
 * hundreds of remotes (a LAN behind one address in a large network), would
 * otherwise scan them all for every datagram. */
struct vidx_slot {
	uint32_t pos1; /* position + 1; 0: empty */
	uint32_t h;
};

struct vidx {
	struct vidx_slot *s;
	size_t mask, n;
};

struct nat_map {
	struct wl_endpoint inside;
	struct wl_endpoint remote; /* symmetric NATs only */
	uint16_t ext_port;
	/* A port forward (vnet_nat_forward): never expires, never filters;
	 * its filters are the remotes that came in through it (conntrack),
	 * whom the inside answers from the forwarded port. */
	bool forward;
	int64_t last;
	size_t n_filters, cap_filters;
	struct nat_filter *filters;
	struct vidx by_remote; /* filters by remote endpoint */
};

struct vnet_nat {
	struct vnet_nat_opts o;
	/* Nothing can expire before this: entries only get younger between
	 * two expiry passes, so a pass per datagram is not needed. */
	int64_t next_expiry;
	size_t n_maps, cap_maps;
	struct nat_map *maps;
	/* Maps by external port, and dynamic maps by inside endpoint (and
	 * remote, when symmetric); rebuilt when maps are removed. */
	struct vidx by_port, by_inside;
	bool idx_ok;
	size_t n_forwards; /* when any, outbound lookups scan (array order matters) */
	/* Added to the inside port by a port-preserving NAT: a rebinding
	 * (vnet_nat_rebind) moves it, as `masquerade to :PORTS` does. */
	uint16_t port_shift;
};

struct vnet_iface {
	int node, seg;
	char name[16];
	struct wl_addr addr;
	bool up;
	struct vnet_nat *nat; /* non-NULL on a masquerading interface */
};

struct vnet_route {
	struct wl_cidr dst;
	struct wl_addr gw;
};

struct vnet_bind {
	uint16_t port;
	vnet_recv_fn fn;
	void *ctx;
};

struct vnet_node {
	char name[32];
	bool forwarding;
	/* The part of a parallel run it belongs to (vnet_split; 0 before). */
	int part;
	/* Its own random stream and numbering of the events it causes: what
	 * happens to a datagram it puts on a segment (loss, duplication,
	 * jitter; a NAT's port choices) and where that event falls among
	 * others at the same instant depend on it alone, not on which other
	 * nodes happen to run beside it in a part. */
	struct simrand rng;
	uint64_t sent;
	size_t n_ifaces;
	int *ifaces;
	size_t n_routes;
	struct vnet_route *routes;
	size_t n_binds;
	struct vnet_bind *binds;
};

/* An address on a segment and its interface's id + 1 (0: an empty slot). */
struct seg_addr_slot {
	struct wl_addr addr;
	int id1;
};

struct vnet_segment {
	char name[32];
	struct wl_cidr cidr;
	int64_t latency_ms, jitter_ms;
	uint32_t loss_ppm;
	uint32_t dup_ppm; /* a crossing delivers a second copy this often */
	size_t n_ifaces;
	int *ifaces;
	/* Its interfaces by address (an address is on a segment at most
	 * once): slots hold the address and an interface id + 1, 0 = empty,
	 * at most half full. A scan per datagram made the internet of a
	 * 1,000-node network the simulator's hot spot; the address in the
	 * slot spares a look at the interface for every slot probed. */
	size_t addr_cap;
	struct seg_addr_slot *by_addr;
};

struct vnet_block {
	struct wl_addr a, b;
};

enum vnet_event_kind { EV_ARRIVE, EV_IFACE };

struct vnet_event {
	int64_t t;
	uint64_t seq;
	enum vnet_event_kind kind;
	int iface;
	bool up;
	struct vnet_pkt *pkt;
};

/* A part of the network in a parallel run (vnet_split): its own clock,
 * queue and counters. Events it makes for another part wait in its
 * outbox while the parts run (vnet_take_inbound, vnet_exchange). */
struct vnet_part {
	const struct vnet *net;
	int64_t now;
	size_t n_events, cap_events;
	struct vnet_event *events; /* a 4-ary min-heap on (t, seq) */
	pthread_mutex_t out_lock;
	size_t n_out, cap_out;
	struct vnet_event *out;
	struct vnet_stats stats;
};

struct vnet {
	struct simrand rng; /* seeds each node's own */
	vnet_trace_fn trace;
	void *trace_ctx;
	vnet_deliver_fn deliver;
	void *deliver_ctx;
	size_t n_segs, n_nodes, n_ifaces, n_blocks;
	struct vnet_segment *segs;
	struct vnet_node *nodes;
	struct vnet_iface *ifaces;
	struct vnet_block *blocks;
	size_t n_parts;
	struct vnet_part parts[VNET_MAX_PARTS];
	bool threaded;         /* parts run at once: events between them wait */
	struct vnet_stats sum; /* vnet_stats: the parts' counters added up */
};

/* The part this thread runs (vnet_part_enter), if any. */
static _Thread_local struct vnet_part *entered;

/* The part whose clock and counters apply here: the one this thread runs,
 * else the first (between runs every part's clock reads the same). */
static struct vnet_part *cur(const struct vnet *net)
{
	if (entered && entered->net == net)
		return entered;
	return (struct vnet_part *)&net->parts[0];
}

/* ---- small helpers ---- */

static void *xrealloc(void *p, size_t n, size_t size)
{
	void *q = reallocarray(p, n ? n : 1, size);
	if (!q) {
		fprintf(stderr, "vnet: out of memory\n");
		abort();
	}
	return q;
}

static void *xcalloc_vnet(size_t n, size_t size)
{
	void *q = calloc(n ? n : 1, size);
	if (!q) {
		fprintf(stderr, "vnet: out of memory\n");
		abort();
	}
	return q;
}

/* Appends one zeroed element to a growable array; returns its index. */
static size_t grow(void **arr, size_t *n, size_t size)
{
	*arr = xrealloc(*arr, *n + 1, size);
	memset((uint8_t *)*arr + *n * size, 0, size);
	return (*n)++;
}

/* grow() for the arrays that get long (a NAT's maps and filters): their
 * capacity doubles. */
static size_t grow_cap(void **arr, size_t *n, size_t *cap, size_t size)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 8;
		*arr = xrealloc(*arr, *cap, size);
	}
	memset((uint8_t *)*arr + *n * size, 0, size);
	return (*n)++;
}

/* ---- an index of positions by key hash (struct vidx) ---- */

/* FNV-1a over what wl_endpoint_equal compares, continuing from h
 * (FNV_BASIS to start). */
#define FNV_BASIS 2166136261u
static uint32_t ep_hash(uint32_t h, const struct wl_endpoint *e)
{
	size_t len = wl_addr_len(&e->addr);
	h = (h ^ e->addr.family) * 16777619u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ e->addr.bytes[i]) * 16777619u;
	h = (h ^ (e->port & 0xff)) * 16777619u;
	return (h ^ (e->port >> 8)) * 16777619u;
}

static uint32_t port_hash(uint16_t port)
{
	return ((uint32_t)port * 2654435761u) ^ 0x9e3779b9u;
}

static void vidx_free(struct vidx *x)
{
	free(x->s);
	*x = (struct vidx){ 0 };
}

static void vidx_put_slot(struct vidx *x, uint32_t h, uint32_t pos1)
{
	size_t i = h & x->mask;
	while (x->s[i].pos1)
		i = (i + 1) & x->mask;
	x->s[i] = (struct vidx_slot){ pos1, h };
	x->n++;
}

static void vidx_put(struct vidx *x, uint32_t h, size_t pos)
{
	if (!x->s || 2 * (x->n + 1) > x->mask + 1) {
		struct vidx old = *x;
		size_t slots = old.s ? 2 * (old.mask + 1) : 16;
		x->s = xrealloc(NULL, slots, sizeof(*x->s));
		memset(x->s, 0, slots * sizeof(*x->s));
		x->mask = slots - 1;
		x->n = 0;
		for (size_t i = 0; old.s && i <= old.mask; i++)
			if (old.s[i].pos1)
				vidx_put_slot(x, old.s[i].h, old.s[i].pos1);
		free(old.s);
	}
	vidx_put_slot(x, h, (uint32_t)pos + 1);
}

static void vidx_clear(struct vidx *x)
{
	if (x->s)
		memset(x->s, 0, (x->mask + 1) * sizeof(*x->s));
	x->n = 0;
}

/* The positions stored under hash h, one per call: *at starts at 0; -1
 * at the end. The caller checks each against its key. */
static long vidx_next(const struct vidx *x, uint32_t h, size_t *at)
{
	if (!x->s)
		return -1;
	size_t i = *at ? *at : (h & x->mask) + 1;
	for (;; i = (i & x->mask) + 1) {
		const struct vidx_slot *s = &x->s[i - 1];
		if (!s->pos1)
			return -1;
		if (s->h == h) {
			*at = (i & x->mask) + 1;
			return (long)s->pos1 - 1;
		}
	}
}

__attribute__((format(printf, 2, 3))) static void trace(struct vnet *net, const char *fmt, ...)
{
	if (!net->trace)
		return;
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	net->trace(net->trace_ctx, cur(net)->now, line);
}

struct wl_addr vnet_addr(const char *s)
{
	struct wl_addr a;
	if (!s || !wl_addr_parse(s, &a)) {
		fprintf(stderr, "vnet: bad address \"%s\"\n", s ? s : "(null)");
		abort();
	}
	return a;
}

struct wl_endpoint vnet_ep(const char *addr, uint16_t port)
{
	struct wl_endpoint e = { .addr = vnet_addr(addr), .port = port };
	return e;
}

static struct wl_cidr parse_cidr(const char *s)
{
	struct wl_cidr c;
	if (!s || !wl_cidr_parse(s, &c)) {
		fprintf(stderr, "vnet: bad prefix \"%s\"\n", s ? s : "(null)");
		abort();
	}
	wl_cidr_mask(&c);
	return c;
}

static const char *ep_str(const struct wl_endpoint *e, char buf[static WL_ENDPOINT_STR_MAX])
{
	return wl_endpoint_str(e, buf);
}

/* ---- event queue ---- */

static bool ev_before(const struct vnet_event *a, const struct vnet_event *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

/* A 4-ary heap: (t, seq) orders every event apart from all others, so the
 * order they come out in is the same whatever the heap's shape; with four
 * children a level, a pop from the hundreds of thousands of datagrams in
 * flight while a 1,000-node network converges descends half as many
 * levels, each a cache miss (a binary heap's sift-down was 5 % of it). */
#define EV_ARITY 4

static void heap_push(struct vnet_part *p, struct vnet_event ev)
{
	if (p->n_events == p->cap_events) {
		p->cap_events = p->cap_events ? 2 * p->cap_events : 256;
		p->events = xrealloc(p->events, p->cap_events, sizeof(*p->events));
	}
	size_t i = p->n_events++;
	while (i > 0) {
		size_t parent = (i - 1) / EV_ARITY;
		if (!ev_before(&ev, &p->events[parent]))
			break;
		p->events[i] = p->events[parent];
		i = parent;
	}
	p->events[i] = ev;
}

static struct vnet_event heap_pop(struct vnet_part *p)
{
	struct vnet_event top = p->events[0];
	struct vnet_event last = p->events[--p->n_events];
	size_t i = 0, n = p->n_events;
	for (;;) {
		size_t first = EV_ARITY * i + 1;
		if (first >= n)
			break;
		size_t c = first;
		for (size_t k = first + 1; k < first + EV_ARITY && k < n; k++)
			if (ev_before(&p->events[k], &p->events[c]))
				c = k;
		if (!ev_before(&p->events[c], &last))
			break;
		p->events[i] = p->events[c];
		i = c;
	}
	if (n > 0)
		p->events[i] = last;
	return top;
}

/* The part of the node ev happens at. */
static struct vnet_part *part_at(struct vnet *net, const struct vnet_event *ev)
{
	return &net->parts[net->nodes[net->ifaces[ev->iface].node].part];
}

/* Queues ev, caused by node origin, in the part of the node it happens
 * at. Its sequence number is the origin's and its count of events caused:
 * the same however the network is split. While parts run at once, an
 * event for another part waits in this part's outbox: it is due no sooner
 * than the lookahead from now, and the other part does not run that far
 * before taking it in. */
static void ev_push(struct vnet *net, int origin, struct vnet_event ev)
{
	ev.seq = (uint64_t)origin << 40 | net->nodes[origin].sent++;
	struct vnet_part *to = part_at(net, &ev);
	struct vnet_part *here = cur(net);
	if (!net->threaded || to == here) {
		heap_push(to, ev);
		return;
	}
	pthread_mutex_lock(&here->out_lock);
	if (here->n_out == here->cap_out) {
		here->cap_out = here->cap_out ? 2 * here->cap_out : 256;
		here->out = xrealloc(here->out, here->cap_out, sizeof(*here->out));
	}
	here->out[here->n_out++] = ev;
	pthread_mutex_unlock(&here->out_lock);
}

/* ---- construction ---- */

struct vnet *vnet_new(uint64_t seed)
{
	struct vnet *net = calloc(1, sizeof(*net));
	if (!net)
		return NULL;
	simrand_seed(&net->rng, seed);
	net->n_parts = 1;
	for (size_t i = 0; i < VNET_MAX_PARTS; i++) {
		net->parts[i].net = net;
		pthread_mutex_init(&net->parts[i].out_lock, NULL);
	}
	return net;
}

static void map_free(struct nat_map *m);

static void nat_free(struct vnet_nat *nat)
{
	if (!nat)
		return;
	for (size_t i = 0; i < nat->n_maps; i++)
		map_free(&nat->maps[i]);
	free(nat->maps);
	vidx_free(&nat->by_port);
	vidx_free(&nat->by_inside);
	free(nat);
}

void vnet_free(struct vnet *net)
{
	if (!net)
		return;
	for (size_t k = 0; k < VNET_MAX_PARTS; k++) {
		struct vnet_part *p = &net->parts[k];
		for (size_t i = 0; i < p->n_events; i++)
			free(p->events[i].pkt);
		for (size_t i = 0; i < p->n_out; i++)
			free(p->out[i].pkt);
		free(p->events);
		free(p->out);
		pthread_mutex_destroy(&p->out_lock);
	}
	for (size_t i = 0; i < net->n_nodes; i++) {
		free(net->nodes[i].ifaces);
		free(net->nodes[i].routes);
		free(net->nodes[i].binds);
	}
	for (size_t i = 0; i < net->n_ifaces; i++)
		nat_free(net->ifaces[i].nat);
	for (size_t i = 0; i < net->n_segs; i++) {
		free(net->segs[i].ifaces);
		free(net->segs[i].by_addr);
	}
	free(net->nodes);
	free(net->ifaces);
	free(net->segs);
	free(net->blocks);
	free(net);
}

void vnet_set_trace(struct vnet *net, vnet_trace_fn fn, void *ctx)
{
	net->trace = fn;
	net->trace_ctx = ctx;
}

void vnet_set_deliver_hook(struct vnet *net, vnet_deliver_fn fn, void *ctx)
{
	net->deliver = fn;
	net->deliver_ctx = ctx;
}

void vnet_nat_opts_home(struct vnet_nat_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->port_preserving = true;
	o->filter = VNET_FILTER_ADDRESS_PORT;
	o->idle_timeout_ms = 120000;
}

int vnet_add_segment(struct vnet *net, const char *name, const char *cidr, int64_t latency_ms)
{
	size_t i = grow((void **)&net->segs, &net->n_segs, sizeof(*net->segs));
	struct vnet_segment *s = &net->segs[i];
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->cidr = parse_cidr(cidr);
	s->latency_ms = latency_ms;
	return (int)i;
}

void vnet_segment_set_loss(struct vnet *net, int seg, uint32_t loss_ppm)
{
	net->segs[seg].loss_ppm = loss_ppm;
}

void vnet_segment_set_duplicate(struct vnet *net, int seg, uint32_t dup_ppm)
{
	net->segs[seg].dup_ppm = dup_ppm;
}

void vnet_segment_set_jitter(struct vnet *net, int seg, int64_t jitter_ms)
{
	net->segs[seg].jitter_ms = jitter_ms;
}

int vnet_add_node(struct vnet *net, const char *name)
{
	size_t i = grow((void **)&net->nodes, &net->n_nodes, sizeof(*net->nodes));
	snprintf(net->nodes[i].name, sizeof(net->nodes[i].name), "%s", name);
	simrand_seed(&net->nodes[i].rng, simrand_next(&net->rng));
	return (int)i;
}

/* An address hashed as wl_cidr_hash hashes a prefix's (its bytes and
 * family, prefix 0 for all): a few multiplies instead of one per byte. */
static uint64_t addr_hash(const struct wl_addr *a)
{
	struct wl_cidr c = { .addr = *a, .prefix = 0 };
	return wl_cidr_hash(WL_HASH_BASIS, &c);
}

/* The interface on segment s with address a, or -1. */
static int seg_find(const struct vnet_segment *s, const struct wl_addr *a)
{
	if (!s->by_addr)
		return -1;
	for (size_t k = addr_hash(a) & (s->addr_cap - 1); s->by_addr[k].id1;
	     k = (k + 1) & (s->addr_cap - 1))
		if (wl_addr_equal(&s->by_addr[k].addr, a))
			return s->by_addr[k].id1 - 1;
	return -1;
}

static void seg_slot(const struct vnet *net, struct vnet_segment *s, int id)
{
	size_t k = addr_hash(&net->ifaces[id].addr) & (s->addr_cap - 1);
	while (s->by_addr[k].id1)
		k = (k + 1) & (s->addr_cap - 1);
	s->by_addr[k].addr = net->ifaces[id].addr;
	s->by_addr[k].id1 = id + 1;
}

/* Indexes interface id, already appended to s->ifaces. */
static void seg_index(const struct vnet *net, struct vnet_segment *s, int id)
{
	if (2 * s->n_ifaces <= s->addr_cap) {
		seg_slot(net, s, id);
		return;
	}
	free(s->by_addr);
	s->addr_cap = s->addr_cap ? 2 * s->addr_cap : 16;
	s->by_addr = xcalloc_vnet(s->addr_cap, sizeof(*s->by_addr));
	for (size_t i = 0; i < s->n_ifaces; i++)
		seg_slot(net, s, s->ifaces[i]);
}

int vnet_add_iface(struct vnet *net, int node, int seg, const char *addr)
{
	if (node < 0 || (size_t)node >= net->n_nodes || seg < 0 || (size_t)seg >= net->n_segs) {
		fprintf(stderr, "vnet: bad node %d or segment %d\n", node, seg);
		return -1;
	}
	struct wl_addr a = vnet_addr(addr);
	if (!wl_cidr_contains(&net->segs[seg].cidr, &a)) {
		fprintf(stderr, "vnet: %s is outside segment %s\n", addr, net->segs[seg].name);
		return -1;
	}
	/* Two interfaces with one address on a segment would make every
	 * packet to it go to the first (transmit), and the second host
	 * would fail in ways that look like the engine's fault (issue 12:
	 * a leaf's NAT given the shared NAT's address never went direct). */
	int taken = seg_find(&net->segs[seg], &a);
	if (taken >= 0) {
		fprintf(stderr, "vnet: %s is already on segment %s (%s)\n", addr, net->segs[seg].name,
			net->nodes[net->ifaces[taken].node].name);
		return -1;
	}
	size_t id = grow((void **)&net->ifaces, &net->n_ifaces, sizeof(*net->ifaces));
	struct vnet_iface *ifc = &net->ifaces[id];
	struct vnet_node *n = &net->nodes[node];
	ifc->node = node;
	ifc->seg = seg;
	ifc->addr = a;
	ifc->up = true;
	snprintf(ifc->name, sizeof(ifc->name), "eth%zu", n->n_ifaces);
	size_t k = grow((void **)&n->ifaces, &n->n_ifaces, sizeof(*n->ifaces));
	n->ifaces[k] = (int)id;
	struct vnet_segment *s = &net->segs[seg];
	k = grow((void **)&s->ifaces, &s->n_ifaces, sizeof(*s->ifaces));
	s->ifaces[k] = (int)id;
	seg_index(net, s, (int)id);
	return (int)id;
}

void vnet_add_route(struct vnet *net, int node, const char *dst, const char *gw)
{
	struct vnet_node *n = &net->nodes[node];
	size_t i = grow((void **)&n->routes, &n->n_routes, sizeof(*n->routes));
	n->routes[i].dst = parse_cidr(dst);
	n->routes[i].gw = vnet_addr(gw);
}

void vnet_set_forwarding(struct vnet *net, int node, bool on)
{
	net->nodes[node].forwarding = on;
}

int vnet_add_host(struct vnet *net, const char *name, int seg, const char *addr, const char *gw)
{
	int node = vnet_add_node(net, name);
	if (vnet_add_iface(net, node, seg, addr) < 0)
		return -1;
	if (gw)
		vnet_add_route(net, node, "0.0.0.0/0", gw);
	return node;
}

int vnet_add_nat(struct vnet *net, const char *name, int inside_seg, const char *inside_addr,
		 int outside_seg, const char *outside_addr, const char *outside_gw,
		 const struct vnet_nat_opts *opts)
{
	int node = vnet_add_node(net, name);
	if (vnet_add_iface(net, node, inside_seg, inside_addr) < 0)
		return -1;
	int out = vnet_add_iface(net, node, outside_seg, outside_addr);
	if (out < 0)
		return -1;
	struct vnet_nat *nat = calloc(1, sizeof(*nat));
	if (!nat)
		return -1;
	nat->o = *opts;
	net->ifaces[out].nat = nat;
	if (outside_gw)
		vnet_add_route(net, node, "0.0.0.0/0", outside_gw);
	vnet_set_forwarding(net, node, true);
	return node;
}

/* ---- inspection ---- */

size_t vnet_node_count(const struct vnet *net)
{
	return net->n_nodes;
}

const char *vnet_node_name(const struct vnet *net, int node)
{
	return net->nodes[node].name;
}

int vnet_node_by_name(const struct vnet *net, const char *name)
{
	for (size_t i = 0; i < net->n_nodes; i++)
		if (strcmp(net->nodes[i].name, name) == 0)
			return (int)i;
	return -1;
}

size_t vnet_iface_count(const struct vnet *net, int node)
{
	return net->nodes[node].n_ifaces;
}

int vnet_node_iface(const struct vnet *net, int node, size_t i)
{
	return net->nodes[node].ifaces[i];
}

const char *vnet_iface_name(const struct vnet *net, int iface)
{
	return net->ifaces[iface].name;
}

int vnet_iface_node(const struct vnet *net, int iface)
{
	return net->ifaces[iface].node;
}

bool vnet_iface_up(const struct vnet *net, int iface)
{
	return net->ifaces[iface].up;
}

void vnet_iface_addr(const struct vnet *net, int iface, struct wl_cidr *out)
{
	const struct vnet_iface *ifc = &net->ifaces[iface];
	out->addr = ifc->addr;
	out->prefix = net->segs[ifc->seg].cidr.prefix;
}

const struct vnet_stats *vnet_stats(struct vnet *net)
{
	uint64_t *sum = (uint64_t *)&net->sum;
	size_t n = sizeof(net->sum) / sizeof(*sum);
	memset(sum, 0, sizeof(net->sum));
	for (size_t k = 0; k < net->n_parts; k++) {
		const uint64_t *c = (const uint64_t *)&net->parts[k].stats;
		for (size_t i = 0; i < n; i++)
			sum[i] += c[i];
	}
	return &net->sum;
}

int64_t vnet_now(const struct vnet *net)
{
	return cur(net)->now;
}

/* ---- NAT ---- */

static bool nat_live(const struct vnet *net, const struct vnet_nat *nat, int64_t last)
{
	return cur(net)->now - last <= nat->o.idle_timeout_ms;
}

/* The by_inside key of a dynamic map: its inside endpoint, and the remote
 * it was made for on a symmetric NAT. */
static uint32_t inside_hash(const struct vnet_nat *nat, const struct wl_endpoint *inside,
			    const struct wl_endpoint *remote)
{
	uint32_t h = ep_hash(FNV_BASIS, inside);
	return nat->o.symmetric ? ep_hash(h, remote) : h;
}

static void filters_reindex(struct nat_map *m)
{
	vidx_clear(&m->by_remote);
	for (size_t j = 0; j < m->n_filters; j++)
		vidx_put(&m->by_remote, ep_hash(FNV_BASIS, &m->filters[j].remote), j);
}

static void maps_reindex(struct vnet_nat *nat)
{
	vidx_clear(&nat->by_port);
	vidx_clear(&nat->by_inside);
	nat->n_forwards = 0;
	for (size_t i = 0; i < nat->n_maps; i++) {
		const struct nat_map *m = &nat->maps[i];
		vidx_put(&nat->by_port, port_hash(m->ext_port), i);
		if (m->forward)
			nat->n_forwards++;
		else
			vidx_put(&nat->by_inside, inside_hash(nat, &m->inside, &m->remote), i);
	}
	nat->idx_ok = true;
}

static void map_free(struct nat_map *m)
{
	free(m->filters);
	vidx_free(&m->by_remote);
}

/* Forgets expired mappings and filter entries. */
static void nat_expire(struct vnet *net, struct vnet_nat *nat)
{
	if (cur(net)->now < nat->next_expiry)
		return;
	int64_t oldest = VNET_NEVER;
	size_t keep = 0;
	for (size_t i = 0; i < nat->n_maps; i++) {
		struct nat_map *m = &nat->maps[i];
		if (!m->forward && !nat_live(net, nat, m->last)) {
			map_free(m);
			continue;
		}
		size_t fk = 0;
		for (size_t j = 0; j < m->n_filters; j++) {
			if (!nat_live(net, nat, m->filters[j].last))
				continue;
			if (m->filters[j].last < oldest)
				oldest = m->filters[j].last;
			m->filters[fk++] = m->filters[j];
		}
		if (fk != m->n_filters) {
			m->n_filters = fk;
			filters_reindex(m);
		}
		if (!m->forward && m->last < oldest)
			oldest = m->last;
		nat->maps[keep++] = *m;
	}
	if (keep != nat->n_maps)
		nat->idx_ok = false;
	nat->n_maps = keep;
	nat->next_expiry = oldest == VNET_NEVER ? VNET_NEVER : oldest + nat->o.idle_timeout_ms + 1;
}

/* The map at external port `port`, or NULL. */
static struct nat_map *map_at_port(struct vnet_nat *nat, uint16_t port)
{
	if (!nat->idx_ok)
		maps_reindex(nat);
	size_t at = 0;
	for (long i; (i = vidx_next(&nat->by_port, port_hash(port), &at)) >= 0;)
		if (nat->maps[i].ext_port == port)
			return &nat->maps[i];
	return NULL;
}

/* m's filter for exactly `remote`, or NULL. */
static struct nat_filter *filter_of(struct nat_map *m, const struct wl_endpoint *remote)
{
	size_t at = 0;
	uint32_t h = ep_hash(FNV_BASIS, remote);
	for (long j; (j = vidx_next(&m->by_remote, h, &at)) >= 0;)
		if (wl_endpoint_equal(&m->filters[j].remote, remote))
			return &m->filters[j];
	return NULL;
}

static bool nat_port_used(struct vnet_nat *nat, uint16_t port)
{
	return map_at_port(nat, port) != NULL;
}

static uint16_t nat_pick_port(struct simrand *rng, struct vnet_nat *nat, uint16_t inside_port)
{
	if (nat->o.port_preserving) {
		uint32_t p = (uint32_t)inside_port + nat->port_shift;
		for (unsigned tries = 0; tries < 65536; tries++) {
			if (p < 1024 || p > 65535)
				p = 1024;
			if (!nat_port_used(nat, (uint16_t)p))
				return (uint16_t)p;
			p++;
		}
	} else {
		for (unsigned tries = 0; tries < 65536; tries++) {
			uint16_t p = (uint16_t)(1024 + simrand_below(rng, 65536 - 1024));
			if (!nat_port_used(nat, p))
				return p;
		}
	}
	return 0;
}

/* Mapping m talked with remote just now: its filter (or, on a forward,
 * its conntrack entry) lets remote in. */
static void nat_note_remote(struct vnet *net, struct vnet_nat *nat, struct nat_map *m,
			    const struct wl_endpoint *remote)
{
	struct nat_filter *f = filter_of(m, remote);
	if (!f) {
		size_t j = grow_cap((void **)&m->filters, &m->n_filters, &m->cap_filters,
				    sizeof(*m->filters));
		f = &m->filters[j];
		f->remote = *remote;
		vidx_put(&m->by_remote, ep_hash(FNV_BASIS, remote), j);
		if (nat->next_expiry == VNET_NEVER)
			nat->next_expiry = cur(net)->now + nat->o.idle_timeout_ms + 1;
	}
	f->last = cur(net)->now;
}

/* Whether remote came in through forward m (and the entry is live). */
static bool nat_came_in(struct nat_map *m, const struct wl_endpoint *remote)
{
	return filter_of(m, remote) != NULL;
}

/* The map a datagram from inside takes out, or NULL: the first in array
 * order that fits (with port forwards about, by a scan). */
static struct nat_map *map_from(struct vnet_nat *nat, const struct vnet_pkt *pkt)
{
	if (!nat->idx_ok)
		maps_reindex(nat);
	if (!nat->n_forwards) {
		size_t at = 0;
		uint32_t h = inside_hash(nat, &pkt->src, &pkt->dst);
		for (long i; (i = vidx_next(&nat->by_inside, h, &at)) >= 0;) {
			struct nat_map *c = &nat->maps[i];
			if (wl_endpoint_equal(&c->inside, &pkt->src) &&
			    (!nat->o.symmetric || wl_endpoint_equal(&c->remote, &pkt->dst)))
				return c;
		}
		return NULL;
	}
	for (size_t i = 0; i < nat->n_maps; i++) {
		struct nat_map *c = &nat->maps[i];
		if (!wl_endpoint_equal(&c->inside, &pkt->src))
			continue;
		/* A forward carries replies to whoever came in through it; a
		 * port-preserving NAT sends new flows from its port too, a
		 * port-randomising one picks a port of its own for them. */
		if (c->forward ? nat->o.port_preserving || nat_came_in(c, &pkt->dst)
			       : !nat->o.symmetric || wl_endpoint_equal(&c->remote, &pkt->dst))
			return c;
	}
	return NULL;
}

/* Rewrites the source of a datagram leaving through the NAT's outside
 * interface ifc. False if no port is left. */
static bool nat_outbound(struct vnet *net, struct vnet_iface *ifc, struct vnet_pkt *pkt)
{
	struct vnet_nat *nat = ifc->nat;
	nat_expire(net, nat);
	struct nat_map *m = map_from(nat, pkt);
	if (!m) {
		uint16_t port = nat_pick_port(&net->nodes[ifc->node].rng, nat, pkt->src.port);
		if (!port)
			return false;
		size_t i = grow_cap((void **)&nat->maps, &nat->n_maps, &nat->cap_maps,
				    sizeof(*nat->maps));
		m = &nat->maps[i];
		m->inside = pkt->src;
		m->remote = pkt->dst;
		m->ext_port = port;
		vidx_put(&nat->by_port, port_hash(port), i);
		vidx_put(&nat->by_inside, inside_hash(nat, &m->inside, &m->remote), i);
		if (nat->next_expiry == VNET_NEVER)
			nat->next_expiry = cur(net)->now + nat->o.idle_timeout_ms + 1;
		char b1[WL_ENDPOINT_STR_MAX], b2[WL_ENDPOINT_STR_MAX];
		struct wl_endpoint ext = { ifc->addr, port };
		trace(net, "nat %s: new mapping %s -> %s", net->nodes[ifc->node].name,
		      ep_str(&pkt->src, b1), ep_str(&ext, b2));
	}
	m->last = cur(net)->now;
	nat_note_remote(net, nat, m, &pkt->dst);
	pkt->src.addr = ifc->addr;
	pkt->src.port = m->ext_port;
	return true;
}

/* Rewrites the destination of a datagram that reached the NAT's outside
 * address. False (with the stats counted) if there is no mapping or the
 * filter refuses it. */
static bool nat_inbound(struct vnet *net, struct vnet_iface *ifc, struct vnet_pkt *pkt)
{
	struct vnet_nat *nat = ifc->nat;
	nat_expire(net, nat);
	struct nat_map *m = map_at_port(nat, pkt->dst.port);
	if (!m) {
		cur(net)->stats.nat_no_mapping++;
		trace(net, "nat %s: drop, no mapping for port %u", net->nodes[ifc->node].name,
		      pkt->dst.port);
		return false;
	}
	if (m->forward) {
		nat_note_remote(net, nat, m, &pkt->src);
		pkt->dst = m->inside;
		return true;
	}
	struct nat_filter *f = NULL;
	if (nat->o.filter == VNET_FILTER_ENDPOINT_INDEPENDENT)
		f = m->n_filters ? &m->filters[0] : NULL;
	else if (nat->o.filter == VNET_FILTER_ADDRESS) {
		for (size_t j = 0; j < m->n_filters && !f; j++)
			if (wl_addr_equal(&m->filters[j].remote.addr, &pkt->src.addr))
				f = &m->filters[j];
	} else
		f = filter_of(m, &pkt->src);
	if (!f && nat->o.filter != VNET_FILTER_ENDPOINT_INDEPENDENT) {
		cur(net)->stats.nat_filtered++;
		char b[WL_ENDPOINT_STR_MAX];
		trace(net, "nat %s: drop, filtered %s to port %u", net->nodes[ifc->node].name,
		      ep_str(&pkt->src, b), pkt->dst.port);
		return false;
	}
	m->last = cur(net)->now;
	if (f)
		f->last = cur(net)->now;
	pkt->dst = m->inside;
	return true;
}

bool vnet_nat_mapping(struct vnet *net, int nat, const struct wl_endpoint *inside,
		      struct wl_endpoint *outside)
{
	struct vnet_node *n = &net->nodes[nat];
	for (size_t i = 0; i < n->n_ifaces; i++) {
		struct vnet_iface *ifc = &net->ifaces[n->ifaces[i]];
		if (!ifc->nat)
			continue;
		nat_expire(net, ifc->nat);
		for (size_t j = 0; j < ifc->nat->n_maps; j++) {
			struct nat_map *m = &ifc->nat->maps[j];
			if (wl_endpoint_equal(&m->inside, inside)) {
				outside->addr = ifc->addr;
				outside->port = m->ext_port;
				return true;
			}
		}
		return false;
	}
	return false;
}

void vnet_nat_reset(struct vnet *net, int nat)
{
	struct vnet_node *n = &net->nodes[nat];
	for (size_t i = 0; i < n->n_ifaces; i++) {
		struct vnet_nat *t = net->ifaces[n->ifaces[i]].nat;
		if (!t)
			continue;
		size_t keep = 0;
		for (size_t j = 0; j < t->n_maps; j++) {
			if (t->maps[j].forward)
				t->maps[keep++] = t->maps[j];
			else
				map_free(&t->maps[j]);
		}
		t->n_maps = keep;
		t->idx_ok = false;
		t->next_expiry = VNET_NEVER;
	}
	trace(net, "nat %s: all mappings forgotten (port forwards stay)", n->name);
}

void vnet_nat_rebind(struct vnet *net, int nat)
{
	vnet_nat_reset(net, nat);
	struct vnet_node *n = &net->nodes[nat];
	for (size_t i = 0; i < n->n_ifaces; i++) {
		struct vnet_nat *t = net->ifaces[n->ifaces[i]].nat;
		if (t)
			t->port_shift = (uint16_t)(t->port_shift + 1 + simrand_below(&n->rng, 1000));
	}
	trace(net, "nat %s: rebound to other ports", n->name);
}

/* The NAT's masquerading interface, or NULL. */
static struct vnet_iface *nat_iface(struct vnet *net, int nat)
{
	struct vnet_node *n = &net->nodes[nat];
	for (size_t i = 0; i < n->n_ifaces; i++)
		if (net->ifaces[n->ifaces[i]].nat)
			return &net->ifaces[n->ifaces[i]];
	return NULL;
}

int vnet_nat_forward(struct vnet *net, int nat, uint16_t ext_port, const struct wl_endpoint *inside,
		     struct wl_endpoint *outside)
{
	struct vnet_iface *ifc = nat_iface(net, nat);
	if (!ifc)
		return -EINVAL;
	struct vnet_nat *t = ifc->nat;
	nat_expire(net, t);
	for (size_t i = 0; i < t->n_maps; i++) {
		struct nat_map *m = &t->maps[i];
		bool same_in = wl_endpoint_equal(&m->inside, inside);
		if (m->forward && same_in && m->ext_port == ext_port)
			goto done;
		if ((m->forward && same_in) || (m->ext_port == ext_port && !same_in))
			return -EADDRINUSE;
	}
	/* The forward replaces the inside endpoint's dynamic mappings. */
	size_t keep = 0;
	for (size_t i = 0; i < t->n_maps; i++) {
		if (wl_endpoint_equal(&t->maps[i].inside, inside))
			map_free(&t->maps[i]);
		else
			t->maps[keep++] = t->maps[i];
	}
	t->n_maps = keep;
	t->idx_ok = false;
	size_t i = grow_cap((void **)&t->maps, &t->n_maps, &t->cap_maps, sizeof(*t->maps));
	t->maps[i] = (struct nat_map){ .inside = *inside, .ext_port = ext_port, .forward = true,
				       .last = cur(net)->now };
	char b1[WL_ENDPOINT_STR_MAX], b2[WL_ENDPOINT_STR_MAX];
	struct wl_endpoint ext = { ifc->addr, ext_port };
	trace(net, "nat %s: port forward %s -> %s", net->nodes[nat].name, ep_str(&ext, b1),
	      ep_str(inside, b2));
done:
	if (outside)
		*outside = (struct wl_endpoint){ ifc->addr, ext_port };
	return 0;
}

void vnet_nat_unforward(struct vnet *net, int nat, uint16_t ext_port)
{
	struct vnet_iface *ifc = nat_iface(net, nat);
	if (!ifc)
		return;
	struct vnet_nat *t = ifc->nat;
	for (size_t i = 0; i < t->n_maps; i++) {
		if (t->maps[i].forward && t->maps[i].ext_port == ext_port) {
			map_free(&t->maps[i]);
			t->maps[i] = t->maps[--t->n_maps];
			t->idx_ok = false;
			return;
		}
	}
}

/* ---- links and blocks ---- */

void vnet_iface_set_up(struct vnet *net, int iface, bool up)
{
	net->ifaces[iface].up = up;
	trace(net, "%s %s %s", net->nodes[net->ifaces[iface].node].name, net->ifaces[iface].name,
	      up ? "up" : "down");
}

void vnet_schedule_iface(struct vnet *net, int64_t at_ms, int iface, bool up)
{
	struct vnet_part *p = &net->parts[net->nodes[net->ifaces[iface].node].part];
	struct vnet_event ev = { .t = at_ms < p->now ? p->now : at_ms, .kind = EV_IFACE,
				 .iface = iface, .up = up };
	ev_push(net, net->ifaces[iface].node, ev);
}

void vnet_block(struct vnet *net, const char *a, const char *b)
{
	size_t i = grow((void **)&net->blocks, &net->n_blocks, sizeof(*net->blocks));
	net->blocks[i].a = vnet_addr(a);
	net->blocks[i].b = vnet_addr(b);
}

void vnet_unblock(struct vnet *net, const char *a, const char *b)
{
	struct wl_addr x = vnet_addr(a), y = vnet_addr(b);
	size_t keep = 0;
	for (size_t i = 0; i < net->n_blocks; i++) {
		struct vnet_block *k = &net->blocks[i];
		bool match = (wl_addr_equal(&k->a, &x) && wl_addr_equal(&k->b, &y)) ||
			     (wl_addr_equal(&k->a, &y) && wl_addr_equal(&k->b, &x));
		if (!match)
			net->blocks[keep++] = *k;
	}
	net->n_blocks = keep;
}

static bool is_blocked(const struct vnet *net, const struct vnet_pkt *pkt)
{
	for (size_t i = 0; i < net->n_blocks; i++) {
		const struct vnet_block *k = &net->blocks[i];
		if ((wl_addr_equal(&k->a, &pkt->src.addr) && wl_addr_equal(&k->b, &pkt->dst.addr)) ||
		    (wl_addr_equal(&k->a, &pkt->dst.addr) && wl_addr_equal(&k->b, &pkt->src.addr)))
			return true;
	}
	return false;
}

/* ---- forwarding ---- */

/* The interface of node that owns addr, or -1. */
static int node_iface_with_addr(const struct vnet *net, const struct vnet_node *n,
				const struct wl_addr *addr)
{
	for (size_t i = 0; i < n->n_ifaces; i++)
		if (wl_addr_equal(&net->ifaces[n->ifaces[i]].addr, addr))
			return n->ifaces[i];
	return -1;
}

/* The up interface of node whose segment contains addr most specifically. */
static int connected_iface(const struct vnet *net, const struct vnet_node *n,
			   const struct wl_addr *addr, int *prefix)
{
	int best = -1;
	for (size_t i = 0; i < n->n_ifaces; i++) {
		const struct vnet_iface *ifc = &net->ifaces[n->ifaces[i]];
		const struct wl_cidr *c = &net->segs[ifc->seg].cidr;
		if (ifc->up && wl_cidr_contains(c, addr) && (best < 0 || c->prefix > *prefix)) {
			best = n->ifaces[i];
			*prefix = c->prefix;
		}
	}
	return best;
}

/* Longest-prefix route lookup: the outgoing interface and next hop, or -1. */
static int route_lookup(const struct vnet *net, const struct vnet_node *n,
			const struct wl_addr *dst, struct wl_addr *next_hop)
{
	int prefix = -1;
	int out = connected_iface(net, n, dst, &prefix);
	if (out >= 0)
		*next_hop = *dst;
	for (size_t i = 0; i < n->n_routes; i++) {
		const struct vnet_route *r = &n->routes[i];
		if (!wl_cidr_contains(&r->dst, dst) || (out >= 0 && r->dst.prefix <= prefix))
			continue;
		int gw_prefix;
		int via = connected_iface(net, n, &r->gw, &gw_prefix);
		if (via < 0)
			continue;
		out = via;
		prefix = r->dst.prefix;
		*next_hop = r->gw;
	}
	return out;
}

static void drop(struct vnet *net, struct vnet_pkt *pkt, uint64_t *counter, const char *why)
{
	(*counter)++;
	if (net->trace) {
		char b1[WL_ENDPOINT_STR_MAX], b2[WL_ENDPOINT_STR_MAX];
		trace(net, "drop %s -> %s: %s", ep_str(&pkt->src, b1), ep_str(&pkt->dst, b2), why);
	}
	free(pkt);
}

/* pkt arrives at interface to after the segment's latency plus its
 * jitter, drawn per copy: copies sent close together may arrive in
 * another order. Takes ownership of pkt. */
static void push_arrival(struct vnet *net, const struct vnet_segment *seg, int from, int to,
			 struct vnet_pkt *pkt)
{
	int64_t delay = seg->latency_ms;
	int origin = net->ifaces[from].node;
	if (seg->jitter_ms > 0)
		delay += (int64_t)simrand_below(&net->nodes[origin].rng, (uint64_t)seg->jitter_ms + 1);
	cur(net)->stats.hops++;
	struct vnet_event ev = { .t = cur(net)->now + delay, .kind = EV_ARRIVE, .iface = to, .pkt = pkt };
	ev_push(net, origin, ev);
}

/* Puts pkt on out's segment towards next_hop. Takes ownership of pkt. */
static void transmit(struct vnet *net, int out, const struct wl_addr *next_hop, struct vnet_pkt *pkt)
{
	const struct vnet_iface *ifc = &net->ifaces[out];
	const struct vnet_segment *seg = &net->segs[ifc->seg];
	if (!ifc->up) {
		drop(net, pkt, &cur(net)->stats.link_down, "interface down");
		return;
	}
	if (is_blocked(net, pkt)) {
		drop(net, pkt, &cur(net)->stats.blocked, "path blocked");
		return;
	}
	int to = seg_find(seg, next_hop);
	if (to == out)
		to = -1;
	if (to < 0) {
		drop(net, pkt, &cur(net)->stats.no_route, "no host with the next-hop address");
		return;
	}
	struct simrand *rng = &net->nodes[ifc->node].rng;
	if (seg->loss_ppm && simrand_below(rng, 1000000) < seg->loss_ppm) {
		drop(net, pkt, &cur(net)->stats.lost, "lost");
		return;
	}
	/* A duplicate is drawn only when the segment has a rate, so the
	 * random stream (and every existing run) is unchanged without one. */
	if (seg->dup_ppm && simrand_below(rng, 1000000) < seg->dup_ppm) {
		size_t size = sizeof(*pkt) + pkt->len;
		struct vnet_pkt *copy = malloc(size);
		if (!copy) {
			fprintf(stderr, "vnet: out of memory\n");
			abort();
		}
		memcpy(copy, pkt, size);
		cur(net)->stats.duplicated++;
		push_arrival(net, seg, out, to, copy);
	}
	push_arrival(net, seg, out, to, pkt);
}

/* Routes pkt out of node; in_iface is where it came in (-1: sent locally,
 * which is never masqueraded). Takes ownership of pkt. */
static void forward(struct vnet *net, int node, int in_iface, struct vnet_pkt *pkt)
{
	if (++pkt->hops > VNET_MAX_HOPS) {
		drop(net, pkt, &cur(net)->stats.ttl_exceeded, "too many hops");
		return;
	}
	struct wl_addr next_hop;
	int out = route_lookup(net, &net->nodes[node], &pkt->dst.addr, &next_hop);
	if (out < 0) {
		drop(net, pkt, &cur(net)->stats.no_route, "no route");
		return;
	}
	if (net->ifaces[out].nat && in_iface >= 0 && in_iface != out &&
	    !nat_outbound(net, &net->ifaces[out], pkt)) {
		drop(net, pkt, &cur(net)->stats.no_route, "NAT out of ports");
		return;
	}
	transmit(net, out, &next_hop, pkt);
}

static void deliver_local(struct vnet *net, int node, struct vnet_pkt *pkt)
{
	struct vnet_node *n = &net->nodes[node];
	for (size_t i = 0; i < n->n_binds; i++) {
		if (n->binds[i].port != pkt->dst.port)
			continue;
		struct vnet_bind b = n->binds[i]; /* the callback may rebind */
		cur(net)->stats.delivered++;
		if (net->deliver)
			net->deliver(net->deliver_ctx, node);
		b.fn(b.ctx, node, &pkt->dst, &pkt->src, pkt->data, pkt->len);
		free(pkt);
		return;
	}
	drop(net, pkt, &cur(net)->stats.no_listener, "nothing bound to the port");
}

static void arrive(struct vnet *net, int in_iface, struct vnet_pkt *pkt)
{
	struct vnet_iface *in = &net->ifaces[in_iface];
	int node = in->node;
	struct vnet_node *n = &net->nodes[node];
	if (!in->up) {
		drop(net, pkt, &cur(net)->stats.link_down, "interface down on arrival");
		return;
	}
	if (in->nat && wl_addr_equal(&pkt->dst.addr, &in->addr)) {
		if (nat_inbound(net, in, pkt))
			forward(net, node, in_iface, pkt);
		else
			free(pkt);
		return;
	}
	int own = node_iface_with_addr(net, n, &pkt->dst.addr);
	if (own >= 0 && net->ifaces[own].nat && own != in_iface) {
		/* An inside host aiming at the NAT's public address. */
		struct vnet_iface *out = &net->ifaces[own];
		if (!out->nat->o.hairpin) {
			drop(net, pkt, &cur(net)->stats.nat_hairpin_refused, "hairpin refused");
			return;
		}
		if (!nat_outbound(net, out, pkt) || !nat_inbound(net, out, pkt)) {
			free(pkt);
			return;
		}
		forward(net, node, own, pkt);
		return;
	}
	if (own >= 0) {
		deliver_local(net, node, pkt);
		return;
	}
	if (!n->forwarding) {
		drop(net, pkt, &cur(net)->stats.no_route, "not for this host and not forwarding");
		return;
	}
	forward(net, node, in_iface, pkt);
}

/* ---- sockets ---- */

int vnet_bind(struct vnet *net, int node, uint16_t port, vnet_recv_fn fn, void *ctx)
{
	struct vnet_node *n = &net->nodes[node];
	for (size_t i = 0; i < n->n_binds; i++)
		if (n->binds[i].port == port)
			return -EADDRINUSE;
	size_t i = grow((void **)&n->binds, &n->n_binds, sizeof(*n->binds));
	n->binds[i].port = port;
	n->binds[i].fn = fn;
	n->binds[i].ctx = ctx;
	return 0;
}

void vnet_unbind(struct vnet *net, int node, uint16_t port)
{
	struct vnet_node *n = &net->nodes[node];
	size_t keep = 0;
	for (size_t i = 0; i < n->n_binds; i++)
		if (n->binds[i].port != port)
			n->binds[keep++] = n->binds[i];
	n->n_binds = keep;
}

int vnet_send(struct vnet *net, int node, uint16_t src_port, const struct wl_endpoint *dst,
	      const uint8_t *data, size_t len)
{
	if (len > VNET_MAX_PAYLOAD)
		return -EMSGSIZE;
	struct vnet_node *n = &net->nodes[node];
	struct wl_addr next_hop;
	int out = route_lookup(net, n, &dst->addr, &next_hop);
	if (out < 0) {
		bool any_up = false;
		for (size_t i = 0; i < n->n_ifaces; i++)
			any_up |= net->ifaces[n->ifaces[i]].up;
		return any_up ? -ENETUNREACH : -ENETDOWN;
	}
	struct vnet_pkt *pkt = malloc(sizeof(*pkt) + len);
	if (!pkt)
		return -ENOMEM;
	pkt->src.addr = net->ifaces[out].addr;
	pkt->src.port = src_port;
	pkt->dst = *dst;
	pkt->hops = 0;
	pkt->len = len;
	if (len)
		memcpy(pkt->data, data, len);
	cur(net)->stats.sent++;
	if (node_iface_with_addr(net, n, &dst->addr) >= 0) {
		struct vnet_event ev = { .t = cur(net)->now, .kind = EV_ARRIVE, .iface = out, .pkt = pkt };
		ev_push(net, node, ev);
		return 0;
	}
	forward(net, node, -1, pkt);
	return 0;
}

/* ---- time ---- */

static void run_event(struct vnet *net, struct vnet_part *p, struct vnet_event ev)
{
	p->now = ev.t;
	if (ev.kind == EV_ARRIVE)
		arrive(net, ev.iface, ev.pkt);
	else
		vnet_iface_set_up(net, ev.iface, ev.up);
}

int64_t vnet_next_event(const struct vnet *net)
{
	int64_t t = VNET_NEVER;
	for (size_t k = 0; k < net->n_parts; k++)
		if (net->parts[k].n_events && net->parts[k].events[0].t < t)
			t = net->parts[k].events[0].t;
	return t;
}

/* One thread at a time, every part: the events in (t, seq) order, as one
 * queue would give them. */
void vnet_advance(struct vnet *net, int64_t t)
{
	struct vnet_part *outer = entered;
	for (;;) {
		struct vnet_part *first = NULL;
		for (size_t k = 0; k < net->n_parts; k++) {
			struct vnet_part *p = &net->parts[k];
			if (p->n_events && p->events[0].t <= t &&
			    (!first || ev_before(&p->events[0], &first->events[0])))
				first = p;
		}
		if (!first)
			break;
		entered = first;
		run_event(net, first, heap_pop(first));
	}
	entered = outer;
	for (size_t k = 0; k < net->n_parts; k++)
		if (t > net->parts[k].now)
			net->parts[k].now = t;
}

/* ---- parallel runs ---- */

static size_t uf_root(size_t *up, size_t i)
{
	while (up[i] != i)
		i = up[i] = up[up[i]];
	return i;
}

/* The sites: nodes joined by segments faster than the slowest, each
 * with the sum of its nodes' weights at its root. */
static void split_sites(const struct vnet *net, int64_t slowest, const unsigned *weight,
			size_t *up, uint64_t *load)
{
	for (size_t i = 0; i < net->n_nodes; i++)
		up[i] = i;
	for (size_t s = 0; s < net->n_segs; s++) {
		const struct vnet_segment *seg = &net->segs[s];
		if (seg->latency_ms >= slowest)
			continue;
		for (size_t j = 1; j < seg->n_ifaces; j++) {
			size_t a = uf_root(up, (size_t)net->ifaces[seg->ifaces[0]].node);
			size_t b = uf_root(up, (size_t)net->ifaces[seg->ifaces[j]].node);
			if (a != b)
				up[b] = a;
		}
	}
	memset(load, 0, net->n_nodes * sizeof(*load));
	for (size_t i = 0; i < net->n_nodes; i++)
		load[uf_root(up, i)] += weight[i];
}

size_t vnet_split(struct vnet *net, size_t n_parts, const unsigned *weight, int64_t *lookahead)
{
	int64_t slowest = 0;
	for (size_t s = 0; s < net->n_segs; s++)
		if (net->segs[s].n_ifaces > 1 && net->segs[s].latency_ms > slowest)
			slowest = net->segs[s].latency_ms;
	if (n_parts > VNET_MAX_PARTS)
		n_parts = VNET_MAX_PARTS;
	if (n_parts < 2 || slowest <= 0 || net->n_parts > 1)
		return net->n_parts; /* one split only */
	size_t *up = xcalloc_vnet(net->n_nodes, sizeof(*up));
	uint64_t *load = xcalloc_vnet(net->n_nodes, sizeof(*load));
	split_sites(net, slowest, weight, up, load);
	/* The heaviest site first, each to the lightest part so far. */
	uint64_t part_load[VNET_MAX_PARTS] = { 0 };
	int *part_of_root = xcalloc_vnet(net->n_nodes, sizeof(*part_of_root));
	for (;;) {
		size_t best = net->n_nodes;
		for (size_t i = 0; i < net->n_nodes; i++)
			if (load[i] && (best == net->n_nodes || load[i] > load[best]))
				best = i;
		if (best == net->n_nodes)
			break;
		size_t light = 0;
		for (size_t k = 1; k < n_parts; k++)
			if (part_load[k] < part_load[light])
				light = k;
		part_of_root[best] = (int)light;
		part_load[light] += load[best];
		load[best] = 0;
	}
	size_t used = 0;
	for (size_t k = 0; k < n_parts; k++)
		used += part_load[k] > 0;
	if (used == n_parts) {
		for (size_t i = 0; i < net->n_nodes; i++)
			net->nodes[i].part = part_of_root[uf_root(up, i)];
		/* What is queued, all in the first part until now, goes to the
		 * part of the node it happens at. */
		struct vnet_part *first = &net->parts[0];
		struct vnet_event *queued = first->events;
		size_t n_queued = first->n_events;
		first->events = NULL;
		first->n_events = first->cap_events = 0;
		for (size_t i = 0; i < n_queued; i++)
			heap_push(part_at(net, &queued[i]), queued[i]);
		free(queued);
		for (size_t k = 1; k < n_parts; k++)
			net->parts[k].now = net->parts[0].now;
		net->n_parts = n_parts;
		*lookahead = slowest;
	}
	free(up);
	free(load);
	free(part_of_root);
	return net->n_parts;
}

int vnet_node_part(const struct vnet *net, int node)
{
	return net->nodes[node].part;
}

void vnet_set_threaded(struct vnet *net, bool on)
{
	net->threaded = on;
}

void vnet_part_enter(struct vnet *net, int part)
{
	entered = part < 0 ? NULL : &net->parts[part];
}

int64_t vnet_part_next_event(const struct vnet *net, int part)
{
	const struct vnet_part *p = &net->parts[part];
	return p->n_events ? p->events[0].t : VNET_NEVER;
}

void vnet_part_advance(struct vnet *net, int part, int64_t t)
{
	struct vnet_part *p = &net->parts[part], *outer = entered;
	entered = p;
	while (p->n_events > 0 && p->events[0].t <= t)
		run_event(net, p, heap_pop(p));
	entered = outer;
	if (t > p->now)
		p->now = t;
}

void vnet_take_inbound(struct vnet *net, int part)
{
	struct vnet_part *to = &net->parts[part];
	for (size_t k = 0; k < net->n_parts; k++) {
		struct vnet_part *p = &net->parts[k];
		if (p == to)
			continue;
		pthread_mutex_lock(&p->out_lock);
		size_t keep = 0;
		for (size_t i = 0; i < p->n_out; i++) {
			if (part_at(net, &p->out[i]) == to)
				heap_push(to, p->out[i]);
			else
				p->out[keep++] = p->out[i];
		}
		p->n_out = keep;
		pthread_mutex_unlock(&p->out_lock);
	}
}

void vnet_exchange(struct vnet *net)
{
	for (size_t k = 0; k < net->n_parts; k++)
		vnet_take_inbound(net, (int)k);
}
