#include "sim/sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/simrand.h"
#include "wire/autoaddr.h"
#include "wire/packet.h"

/* A node ticking this often at one instant is stuck: fail loudly rather
 * than spin. */
#define SIM_MAX_TICKS_PER_INSTANT 1000
#define SIM_MAX_LIST 16

struct owned_peer_cfg {
	struct engine_peer_config pc;
	char *name;
	struct wl_endpoint *eps;
	struct wl_cidr *allowed;
};

struct app_rx {
	int64_t at;
	int via;
};

struct sim_node {
	char name[32];
	int host;
	struct vwg *dev;
	struct engine *eng;
	uint8_t priv[WL_KEY_LEN], key[WL_KEY_LEN];
	struct wl_addr auto_addr;
	bool has_tunnel;
	struct wl_cidr tunnel; /* as configured, with the interface's prefix */
	int router;
	bool chatty;
	struct engine_timing timing;
	size_t n_cfg;
	struct owned_peer_cfg *cfg;
	struct app_rx *app; /* per source node; at = -1 when none */
	int64_t last_tick_at;
	unsigned ticks_at_instant;
	struct sim *sim;
};

struct trace_entry {
	int64_t t;
	int node, peer;
	enum engine_event_kind kind;
};

struct sim {
	struct vnet *net;
	struct simrand rng;
	size_t n_nodes;
	struct sim_node **nodes;
	/* Node index + 1 by public key (open addressing, 0 = empty): every
	 * datagram and event names peers by key. */
	size_t key_cap;
	int *key_index;
	struct engine_actions actions;
	size_t n_trace, cap_trace;
	struct trace_entry *trace;
	bool trace_print;
	sim_fact_hook fact_hook;
	void *fact_hook_ctx;
	struct sim_stats stats;
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

struct sim *sim_new(uint64_t seed)
{
	struct sim *sim = xcalloc(1, sizeof(*sim));
	simrand_seed(&sim->rng, seed);
	sim->net = vnet_new(simrand_next(&sim->rng));
	engine_actions_init(&sim->actions);
	sim->trace_print = getenv("WL_SIM_TRACE") != NULL;
	return sim;
}

static void node_free(struct sim_node *n)
{
	if (!n)
		return;
	engine_free(n->eng);
	vwg_free(n->dev);
	for (size_t i = 0; i < n->n_cfg; i++) {
		free(n->cfg[i].name);
		free(n->cfg[i].eps);
		free(n->cfg[i].allowed);
	}
	free(n->cfg);
	free(n->app);
	memset(n->priv, 0, sizeof(n->priv));
	free(n);
}

void sim_free(struct sim *sim)
{
	if (!sim)
		return;
	for (size_t i = 0; i < sim->n_nodes; i++)
		node_free(sim->nodes[i]);
	free(sim->nodes);
	free(sim->key_index);
	engine_actions_free(&sim->actions);
	free(sim->trace);
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

static size_t key_slot(const uint8_t key[static WL_KEY_LEN], size_t cap)
{
	uint64_t h;
	memcpy(&h, key, sizeof(h)); /* keys are uniformly random */
	return (size_t)h & (cap - 1);
}

static void key_index_add(struct sim *sim, int node)
{
	if (2 * (sim->n_nodes + 1) > sim->key_cap) {
		free(sim->key_index);
		sim->key_cap = sim->key_cap ? 2 * sim->key_cap : 64;
		sim->key_index = xcalloc(sim->key_cap, sizeof(*sim->key_index));
		for (int i = 0; i < node; i++)
			key_index_add(sim, i);
	}
	size_t k = key_slot(sim->nodes[node]->key, sim->key_cap);
	while (sim->key_index[k])
		k = (k + 1) & (sim->key_cap - 1);
	sim->key_index[k] = node + 1;
}


int sim_add_node(struct sim *sim, const struct sim_node_opts *o)
{
	struct sim_node *n = xcalloc(1, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", o->name ? o->name : "node");
	n->host = o->host;
	n->router = o->router;
	n->chatty = o->chatty;
	n->sim = sim;
	n->last_tick_at = -1;
	if (o->timing)
		n->timing = *o->timing;
	else
		engine_timing_default(&n->timing);
	simrand_bytes(&sim->rng, n->priv, sizeof(n->priv));
	n->dev = vwg_new(sim->net, o->host, "wg0", n->priv, SIM_WG_PORT, simrand_next(&sim->rng));
	if (!n->dev) {
		fprintf(stderr, "sim: cannot create the device of %s\n", n->name);
		node_free(n);
		return -1;
	}
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
	key_index_add(sim, (int)sim->n_nodes);
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
	return sim->nodes[node]->eng;
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

void sim_config_peer(struct sim *sim, int node, int peer, const struct sim_peer_cfg *c)
{
	struct sim_node *n = sim->nodes[node];
	n->cfg = xrealloc(n->cfg, n->n_cfg + 1, sizeof(*n->cfg));
	struct owned_peer_cfg *o = &n->cfg[n->n_cfg++];
	memset(o, 0, sizeof(*o));
	memcpy(o->pc.public_key, sim->nodes[peer]->key, WL_KEY_LEN);
	o->pc.trust = c->trust;
	o->pc.fact_exchanger = c->fact_exchanger;
	o->pc.basic = c->basic;
	if (c->name) {
		o->name = strdup(c->name);
		o->pc.name = o->name;
	}
	char items[SIM_MAX_LIST][64];
	size_t k = split_list(c->allowed, items);
	o->allowed = xcalloc(k, sizeof(*o->allowed));
	for (size_t i = 0; i < k; i++)
		o->allowed[i] = cidr_or_die(items[i]);
	o->pc.n_allowed = k;
	o->pc.allowed_ips = o->allowed;
	k = split_list(c->endpoints, items);
	o->eps = xcalloc(k, sizeof(*o->eps));
	for (size_t i = 0; i < k; i++)
		o->eps[i] = ep_or_die(items[i]);
	o->pc.n_endpoints = k;
	o->pc.endpoints = o->eps;
}

void sim_start_node(struct sim *sim, int node)
{
	struct sim_node *n = sim->nodes[node];
	engine_free(n->eng);
	struct engine_config cfg;
	engine_config_init(&cfg);
	memcpy(cfg.private_key, n->priv, WL_KEY_LEN);
	cfg.router = n->router;
	cfg.chatty = n->chatty;
	cfg.timing = n->timing;
	struct engine_peer_config *pcs = xcalloc(n->n_cfg, sizeof(*pcs));
	for (size_t i = 0; i < n->n_cfg; i++)
		pcs[i] = n->cfg[i].pc;
	cfg.n_peers = n->n_cfg;
	cfg.peers = pcs;
	uint8_t seed[32];
	simrand_bytes(&sim->rng, seed, sizeof(seed));
	n->eng = engine_new(&cfg, seed, sim_now(sim));
	free(pcs);
	memset(cfg.private_key, 0, sizeof(cfg.private_key));
	if (!n->eng) {
		fprintf(stderr, "sim: engine_new failed for %s\n", n->name);
		abort();
	}
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

/* ---- datagrams in ---- */

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
	if (pkt->dport != SIM_WL_PORT || !wl_addr_equal(&pkt->dst, &n->auto_addr) || !n->eng) {
		sim->stats.rx_dropped++;
		return;
	}
	engine_receive(n->eng, sim_now(sim), &pkt->src, pkt->data, pkt->len);
}

/* ---- one engine tick ---- */

static void record_event(struct sim *sim, int node, const struct engine_event *ev)
{
	if (sim->n_trace == sim->cap_trace) {
		sim->cap_trace = sim->cap_trace ? 2 * sim->cap_trace : 1024;
		sim->trace = xrealloc(sim->trace, sim->cap_trace, sizeof(*sim->trace));
	}
	struct trace_entry *t = &sim->trace[sim->n_trace++];
	t->t = sim_now(sim);
	t->node = node;
	t->kind = ev->kind;
	t->peer = ev->has_peer ? sim_node_by_key(sim, ev->peer) : -1;
	if (sim->trace_print)
		fprintf(stderr, "%9.3f %-8s %s\n", (double)t->t / 1000.0, sim->nodes[node]->name, ev->text);
}

static void hook_facts(struct sim *sim, int from, const struct engine_datagram *d)
{
	int to = sim_node_by_key(sim, d->peer);
	struct packet p;
	const char *why;
	if (!packet_parse(d->data, d->len, &p, &why))
		return;
	struct cursor c;
	struct fact f;
	packet_facts_begin(&p, &c);
	while (packet_next_fact(&c, &f, &why) == 1)
		sim->fact_hook(sim->fact_hook_ctx, sim_now(sim), from, to, &f);
}

static void send_datagrams(struct sim *sim, int node, const struct engine_actions *a)
{
	struct sim_node *n = sim->nodes[node];
	for (size_t i = 0; i < a->n_send; i++) {
		const struct engine_datagram *d = &a->send[i];
		struct vwg_inner pkt = { .src = n->auto_addr, .dst = d->dst, .sport = SIM_WL_PORT,
					 .dport = d->port, .len = d->len, .data = d->data };
		sim->stats.datagrams++;
		sim->stats.datagram_bytes += d->len;
		if (vwg_send(n->dev, &pkt) != 0)
			sim->stats.send_errors++;
		if (sim->fact_hook)
			hook_facts(sim, node, d);
	}
}

/* The host's interfaces and the WireGuard one, as the shell reports them.
 * The internet segment is 0.0.0.0/0 in the vnet; a host there reports a
 * /24, as a real server would. */
static size_t build_ifaces(struct sim *sim, struct sim_node *n, struct engine_iface *ifs,
			   struct wl_cidr *addrs, size_t cap)
{
	struct vnet *net = sim->net;
	size_t k = 0, na = 0;
	size_t count = vnet_iface_count(net, n->host);
	for (size_t i = 0; i < count && k + 1 < cap; i++) {
		int id = vnet_node_iface(net, n->host, i);
		struct wl_cidr *c = &addrs[na++];
		vnet_iface_addr(net, id, c);
		if (c->prefix == 0)
			c->prefix = c->addr.family == AF_INET ? 24 : 64;
		ifs[k++] = (struct engine_iface){ .name = vnet_iface_name(net, id),
						  .ifindex = (uint32_t)id + 1,
						  .up = vnet_iface_up(net, id),
						  .report = true,
						  .n_addrs = 1,
						  .addrs = c };
	}
	ifs[k++] = (struct engine_iface){ .name = vwg_name(n->dev),
					  .ifindex = 1000 + (uint32_t)n->host,
					  .up = true,
					  .report = false,
					  .n_addrs = vwg_address_count(n->dev),
					  .addrs = vwg_addresses(n->dev) };
	return k;
}

static void tick(struct sim *sim, int node)
{
	struct sim_node *n = sim->nodes[node];
	int64_t now = sim_now(sim);
	if (n->last_tick_at == now) {
		if (++n->ticks_at_instant > SIM_MAX_TICKS_PER_INSTANT) {
			fprintf(stderr, "sim: %s ticks endlessly at %lld ms (deadline %lld)\n", n->name,
				(long long)now, (long long)engine_next_deadline(n->eng));
			abort();
		}
	} else {
		n->last_tick_at = now;
		n->ticks_at_instant = 0;
	}
	struct wg_device *dev = vwg_snapshot(n->dev);
	if (!dev) {
		fprintf(stderr, "sim: out of memory\n");
		abort();
	}
	struct engine_peer_view *views = xcalloc(dev->n_peers, sizeof(*views));
	for (size_t i = 0; i < dev->n_peers; i++) {
		const struct wg_peer *p = &dev->peers[i];
		int64_t t = vwg_timespec_to_ms(&p->last_handshake);
		views[i] = (struct engine_peer_view){ .has_endpoint = p->has_endpoint,
						      .endpoint = p->endpoint,
						      .handshake_ms = t == VWG_NEVER ? ENGINE_NEVER : t,
						      .rx_bytes = p->rx_bytes,
						      .tx_bytes = p->tx_bytes,
						      .n_allowed = p->n_allowed,
						      .allowed_ips = p->allowed_ips };
		memcpy(views[i].key, p->public_key, WL_KEY_LEN);
	}
	struct engine_iface ifs[16];
	struct wl_cidr addrs[16];
	struct engine_inputs in = { .dev = { .name = dev->name, .listen_port = dev->listen_port,
					     .n_peers = dev->n_peers, .peers = views } };
	in.n_ifaces = build_ifaces(sim, n, ifs, addrs, 16);
	in.ifaces = ifs;
	struct engine_actions *a = &sim->actions;
	engine_actions_clear(a);
	engine_tick(n->eng, now, &in, a);
	sim->stats.ticks++;
	if (a->n_changes) {
		sim->stats.changes += a->n_changes;
		struct wg_peer_change *ch = xcalloc(a->n_changes, sizeof(*ch));
		for (size_t i = 0; i < a->n_changes; i++) {
			const struct engine_change *c = &a->changes[i];
			ch[i] = (struct wg_peer_change){ .endpoint = c->endpoint,
							 .n_allowed = c->n_allowed,
							 .allowed_ips = c->allowed_ips };
			memcpy(ch[i].public_key, c->key, WL_KEY_LEN);
			ch[i].flags = ((c->flags & ENGINE_CHANGE_REMOVE) ? WG_PEER_REMOVE : 0) |
				      ((c->flags & ENGINE_CHANGE_UPDATE_ONLY) ? WG_PEER_UPDATE_ONLY : 0) |
				      ((c->flags & ENGINE_CHANGE_REPLACE_ALLOWED) ? WG_PEER_REPLACE_ALLOWED_IPS : 0) |
				      ((c->flags & ENGINE_CHANGE_SET_ENDPOINT) ? WG_PEER_SET_ENDPOINT : 0);
		}
		if (vwg_apply(n->dev, ch, a->n_changes) != 0)
			fprintf(stderr, "sim: %s: device rejected a change\n", n->name);
		free(ch);
	}
	send_datagrams(sim, node, a);
	for (size_t i = 0; i < a->n_events; i++)
		record_event(sim, node, &a->events[i]);
	free(views);
	vwg_device_free(dev);
}

/* ---- the loop ---- */

static int64_t next_time(const struct sim *sim)
{
	int64_t t = vnet_next_event(sim->net);
	for (size_t i = 0; i < sim->n_nodes; i++) {
		const struct sim_node *n = sim->nodes[i];
		int64_t w = vwg_next_timer(n->dev);
		if (w < t)
			t = w;
		if (n->eng) {
			int64_t d = engine_next_deadline(n->eng);
			if (d < t)
				t = d;
		}
	}
	return t;
}

/* Advances to the next instant with work, but not past limit. False if
 * nothing happened before limit (the clock is then at limit). */
static bool step(struct sim *sim, int64_t limit)
{
	int64_t t = next_time(sim);
	if (t > limit) {
		vnet_advance(sim->net, limit);
		return false;
	}
	if (t < sim_now(sim))
		t = sim_now(sim);
	vnet_advance(sim->net, t);
	for (size_t i = 0; i < sim->n_nodes; i++)
		vwg_run_timers(sim->nodes[i]->dev);
	for (size_t i = 0; i < sim->n_nodes; i++) {
		struct sim_node *n = sim->nodes[i];
		if (n->eng && engine_next_deadline(n->eng) <= t)
			tick(sim, (int)i);
	}
	sim->stats.steps++;
	return true;
}

void sim_run_to(struct sim *sim, int64_t t)
{
	while (step(sim, t))
		;
}

int64_t sim_run_until(struct sim *sim, sim_pred pred, void *ctx, int64_t timeout_ms)
{
	int64_t deadline = sim_now(sim) + timeout_ms;
	for (;;) {
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
	out->last_handshake = VWG_NEVER;
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
		out->last_handshake = vwg_timespec_to_ms(&p->last_handshake);
		out->n_allowed = p->n_allowed < SIM_MAX_ALLOWED ? p->n_allowed : SIM_MAX_ALLOWED;
		memcpy(out->allowed, p->allowed_ips, out->n_allowed * sizeof(*out->allowed));
	}
	vwg_device_free(d);
	return out->present;
}

static bool view_has(const struct sim_peer_view *v, const struct wl_cidr *c)
{
	for (size_t i = 0; i < v->n_allowed; i++)
		if (v->allowed[i].prefix == c->prefix && wl_addr_equal(&v->allowed[i].addr, &c->addr))
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

bool sim_direct(struct sim *sim, int node, int peer, const char *endpoint, int64_t max_age_ms)
{
	struct sim_peer_view v;
	if (!sim_peer_view(sim, node, peer, &v) || !v.has_endpoint)
		return false;
	if (v.last_handshake == VWG_NEVER || sim_now(sim) - v.last_handshake > max_age_ms)
		return false;
	if (endpoint) {
		struct wl_endpoint e = ep_or_die(endpoint);
		if (e.port != v.endpoint.port || !wl_addr_equal(&e.addr, &v.endpoint.addr))
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

void sim_set_fact_hook(struct sim *sim, sim_fact_hook fn, void *ctx)
{
	sim->fact_hook = fn;
	sim->fact_hook_ctx = ctx;
}

const struct sim_stats *sim_stats(const struct sim *sim)
{
	return &sim->stats;
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
				v.last_handshake == VWG_NEVER ? "never " : "",
				v.last_handshake == VWG_NEVER ? 0.0 : (double)v.last_handshake / 1000.0);
			for (size_t k = 0; k < v.n_allowed; k++) {
				char c[WL_CIDR_STR_MAX];
				fprintf(out, " %s", wl_cidr_str(&v.allowed[k], c));
			}
			fprintf(out, "\n");
		}
		if (n->eng)
			engine_dump(n->eng, sim_now(sim), dump_line, out);
	}
}
