#include "sim/scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void scen_opts_init(struct scen_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->internet_latency_ms = 20;
	o->lan_latency_ms = 1;
	vnet_nat_opts_home(&o->nat);
	/* WL_LEASES=0: any scenario as before leases, for a comparison. */
	const char *leases = getenv("WL_LEASES");
	o->no_leases = leases && strcmp(leases, "0") == 0;
	/* WL_QUIET_PERIOD=0: no quiet pairs, for a comparison. */
	const char *quiet = getenv("WL_QUIET_PERIOD");
	o->quiet_period = quiet && *quiet ? atoi(quiet) : -1;
	/* WL_DORMANT=0 or 1: dormant pairs (core/quiet.c) off or on, whatever the default. */
	const char *dormant = getenv("WL_DORMANT");
	o->dormant = dormant && *dormant ? atoi(dormant) != 0 : -1;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p) {
		fprintf(stderr, "scenario: out of memory\n");
		abort();
	}
	return p;
}

/* The address plan. Leaf i's addresses come from a /24 while it has room
 * (the addresses every test has always used) and then spill into a block
 * of their own, 240 to a /24 (.10 to .249), so thousands of leaves still
 * get distinct addresses. */
struct addr_block {
	const char *base24;   /* "a.b.c": the first /24 */
	unsigned first, last; /* its host numbers in use */
	const char *spill16;  /* "a.b": where the rest go */
	unsigned spill_third; /* their first third octet */
};
/* Public leaves; the hub is 198.51.100.1, tests add hosts at .200 and
 * above only beside a few leaves (vnet refuses a clash). */
static const struct addr_block PLAN_PUBLIC = { "198.51.100", 10, 254, "198.18", 0 };
/* The outside of a leaf's own NAT: 203.0.113.200 is the shared NAT's. */
static const struct addr_block PLAN_OWN_OUT = { "203.0.113", 10, 199, "198.19", 0 };
/* A leaf behind its own NAT, on its own LAN (the /24 around it): below
 * 192.168.50.0/24, the hub's LAN, and the shared one. */
static const struct addr_block PLAN_OWN_LAN = { "192.168.1", 10, 254, "192.168", 2 };
/* The shared LAN: 192.168.100.0/24, or 192.168.96.0/20 once it spills. */
static const struct addr_block PLAN_SHARED = { "192.168.100", 10, 254, "192.168", 101 };
#define PLAN_SPILL_PER_24 240
#define SHARED_LAN_SMALL "192.168.100.0/24"
#define SHARED_LAN_LARGE "192.168.96.0/20"
#define SHARED_SPILL_MAX_THIRD 111

/* Address number i of a block, as text; false if the block is exhausted. */
static bool plan_addr(const struct addr_block *b, size_t i, char *buf, size_t cap)
{
	if (b->first + i <= b->last) {
		snprintf(buf, cap, "%s.%zu", b->base24, b->first + i);
		return true;
	}
	size_t k = b->first + i - b->last - 1;
	size_t third = b->spill_third + k / PLAN_SPILL_PER_24;
	if (third > 255)
		return false;
	snprintf(buf, cap, "%s.%zu.%zu", b->spill16, third, 10 + k % PLAN_SPILL_PER_24);
	return true;
}

static void plan_addr_or_die(const struct addr_block *b, size_t i, char *buf, size_t cap)
{
	if (!plan_addr(b, i, buf, cap)) {
		fprintf(stderr, "scenario: no address left for leaf %zu in %s\n", i + 1, b->spill16);
		abort();
	}
}

/* The /24 around an address ("a.b.c.d" -> "a.b.c.0/24") and its .1. */
static void lan_of(const char *addr, char *net, size_t net_cap, char *gw, size_t gw_cap)
{
	unsigned a, b, c;
	if (sscanf(addr, "%u.%u.%u.", &a, &b, &c) != 3)
		abort();
	snprintf(net, net_cap, "%u.%u.%u.0/24", a, b, c);
	snprintf(gw, gw_cap, "%u.%u.%u.1", a, b, c);
}

/* The tunnel: 10.99.0.0/24 while leaves fit (hub .1, leaf i .i+2), else
 * 10.99.0.0/16 with leaf i at the (i+2)-th address. */
static bool tunnel_wide(size_t n_leaves)
{
	return n_leaves + 2 > 254;
}

static void tunnel_addr(size_t i, unsigned prefix, char *buf, size_t cap)
{
	size_t n = i + 2;
	if (n > 0xfffe) {
		fprintf(stderr, "scenario: no tunnel address for leaf %zu\n", i + 1);
		abort();
	}
	snprintf(buf, cap, "10.99.%zu.%zu/%u", n / 256, n % 256, prefix);
}

/* Puts leaf i on the network; returns its vnet host. */
static int place_leaf(struct scen *s, size_t i, const struct scen_opts *o)
{
	char name[32], addr[WL_ADDR_STR_MAX];
	snprintf(name, sizeof(name), "leaf%zu", i + 1);
	switch (s->kind[i]) {
	case LEAF_PUBLIC:
		plan_addr_or_die(&PLAN_PUBLIC, i, addr, sizeof(addr));
		snprintf(s->addr[i], WL_ADDR_STR_MAX, "%s", addr);
		snprintf(s->pub[i], WL_ADDR_STR_MAX, "%s", addr);
		return vnet_add_host(s->net, name, s->inet, addr, NULL);
	case LEAF_OWN_NAT: {
		char lan_name[40], nat_name[40], net[48], gw[48];
		snprintf(lan_name, sizeof(lan_name), "lan-%s", name);
		snprintf(nat_name, sizeof(nat_name), "nat-%s", name);
		plan_addr_or_die(&PLAN_OWN_LAN, i, addr, sizeof(addr));
		lan_of(addr, net, sizeof(net), gw, sizeof(gw));
		int lan = vnet_add_segment(s->net, lan_name, net, o->lan_latency_ms);
		plan_addr_or_die(&PLAN_OWN_OUT, i, s->pub[i], WL_ADDR_STR_MAX);
		s->nat[i] = vnet_add_nat(s->net, nat_name, lan, gw, s->inet, s->pub[i], NULL,
					 o->leaf_nat ? &o->leaf_nat[i] : &o->nat);
		if (s->nat[i] < 0)
			return -1;
		snprintf(s->addr[i], WL_ADDR_STR_MAX, "%s", addr);
		return vnet_add_host(s->net, name, lan, addr, gw);
	}
	case LEAF_SHARED_LAN:
		if (s->shared_lan < 0) {
			/* The wider LAN only when the leaves need it: engines
			 * see its prefix, and small tests keep their /24. */
			const char *net = PLAN_SHARED.first + s->n_leaves - 1 > PLAN_SHARED.last
						  ? SHARED_LAN_LARGE
						  : SHARED_LAN_SMALL;
			s->shared_lan = vnet_add_segment(s->net, "lan-shared", net, o->lan_latency_ms);
			s->shared_nat = vnet_add_nat(s->net, "nat-shared", s->shared_lan, "192.168.100.1",
						     s->inet, "203.0.113.200", NULL, &o->nat);
		}
		s->nat[i] = s->shared_nat;
		plan_addr_or_die(&PLAN_SHARED, i, addr, sizeof(addr));
		{
			unsigned a, b, c;
			if (sscanf(addr, "%u.%u.%u.", &a, &b, &c) != 3 || c > SHARED_SPILL_MAX_THIRD) {
				fprintf(stderr, "scenario: the shared LAN is full at leaf %zu\n", i + 1);
				abort();
			}
		}
		snprintf(s->addr[i], WL_ADDR_STR_MAX, "%s", addr);
		snprintf(s->pub[i], WL_ADDR_STR_MAX, "203.0.113.200");
		return vnet_add_host(s->net, name, s->shared_lan, addr, "192.168.100.1");
	}
	return -1;
}

void scen_build(struct scen *s, uint64_t seed, size_t n_leaves, const enum scen_leaf_kind *kinds,
		const struct scen_opts *o)
{
	struct scen_opts def;
	if (!o) {
		scen_opts_init(&def);
		o = &def;
	}
	memset(s, 0, sizeof(*s));
	s->sim = sim_new(seed);
	s->net = sim_net(s->sim);
	s->n_leaves = n_leaves;
	s->leaf = xcalloc(n_leaves, sizeof(*s->leaf));
	s->kind = xcalloc(n_leaves, sizeof(*s->kind));
	s->nat = xcalloc(n_leaves, sizeof(*s->nat));
	s->addr = xcalloc(n_leaves, sizeof(*s->addr));
	s->pub = xcalloc(n_leaves, sizeof(*s->pub));
	s->shared_lan = s->shared_nat = -1;
	s->inet = vnet_add_segment(s->net, "internet", "0.0.0.0/0", o->internet_latency_ms);
	vnet_segment_set_loss(s->net, s->inet, o->internet_loss_ppm);
	s->hub_nat = -1;
	sim_set_leases(s->sim, !o->no_leases);
	sim_set_quiet_period(s->sim, o->quiet_period);
	sim_set_dormant(s->sim, o->dormant);
	if (o->hub_behind_forward) {
		int lan = vnet_add_segment(s->net, "lan-hub", "192.168.50.0/24", o->lan_latency_ms);
		s->hub_nat = vnet_add_nat(s->net, "nat-hub", lan, "192.168.50.1", s->inet, "198.51.100.1",
					  NULL, &o->nat);
		s->hub_host = vnet_add_host(s->net, "hub", lan, "192.168.50.2", "192.168.50.1");
		struct wl_endpoint inside = vnet_ep("192.168.50.2", SIM_WG_PORT);
		if (vnet_nat_forward(s->net, s->hub_nat, SIM_WG_PORT, &inside, NULL) != 0)
			abort();
	} else {
		s->hub_host = vnet_add_host(s->net, "hub", s->inet, "198.51.100.1", NULL);
	}
	unsigned prefix = tunnel_wide(n_leaves) ? 16 : 24;
	char hub_tunnel[32], tunnel_net[32];
	snprintf(hub_tunnel, sizeof(hub_tunnel), "10.99.0.1/%u", prefix);
	snprintf(tunnel_net, sizeof(tunnel_net), "10.99.0.0/%u", prefix);
	struct sim_node_opts no = { .name = "hub", .host = s->hub_host, .tunnel_ip = hub_tunnel,
				    .forwarding = true, .router = WL_AUTO, .original = o->original_hub };
	s->hub = sim_add_node(s->sim, &no);
	for (size_t i = 0; i < n_leaves; i++) {
		s->kind[i] = kinds[i];
		s->nat[i] = -1;
		int host = place_leaf(s, i, o);
		if (host < 0) {
			fprintf(stderr, "scenario: cannot place leaf %zu\n", i + 1);
			abort();
		}
		char name[32], tunnel[32];
		snprintf(name, sizeof(name), "leaf%zu", i + 1);
		tunnel_addr(i, prefix, tunnel, sizeof(tunnel));
		struct sim_node_opts lo = { .name = name, .host = host, .tunnel_ip = tunnel,
					    .router = WL_AUTO,
					    .original = i < 32 && (o->original_leaves >> i & 1) };
		s->leaf[i] = sim_add_node(s->sim, &lo);
		tunnel_addr(i, 32, tunnel, sizeof(tunnel));
		sim_wg_peer(s->sim, s->hub, s->leaf[i], NULL, tunnel);
		sim_wg_peer(s->sim, s->leaf[i], s->hub, "198.51.100.1:51820", tunnel_net);
	}
}

void scen_start(struct scen *s)
{
	sim_start(s->sim);
}

void scen_free(struct scen *s)
{
	sim_free(s->sim);
	free(s->leaf);
	free(s->kind);
	free(s->nat);
	free(s->addr);
	free(s->pub);
	memset(s, 0, sizeof(*s));
}

const char *scen_public_addr(const struct scen *s, size_t i, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s", s->pub[i]);
	return buf;
}

const char *scen_expected_endpoint(const struct scen *s, size_t i, size_t j, char *buf, size_t cap)
{
	if (s->kind[j] == LEAF_PUBLIC ||
	    (s->kind[i] == LEAF_SHARED_LAN && s->kind[j] == LEAF_SHARED_LAN)) {
		snprintf(buf, cap, "%s:%d", s->addr[j], SIM_WG_PORT);
		return buf;
	}
	if (s->kind[j] == LEAF_OWN_NAT) {
		snprintf(buf, cap, "%s:%d", s->pub[j], SIM_WG_PORT);
		return buf;
	}
	return NULL; /* behind the shared NAT: the port depends on who mapped first */
}

bool scen_pair_direct(struct scen *s, size_t i, size_t j, int64_t max_age_ms)
{
	char a[WL_ENDPOINT_STR_MAX], b[WL_ENDPOINT_STR_MAX];
	return sim_direct(s->sim, s->leaf[i], s->leaf[j], scen_expected_endpoint(s, i, j, a, sizeof(a)),
			  max_age_ms) &&
	       sim_direct(s->sim, s->leaf[j], s->leaf[i], scen_expected_endpoint(s, j, i, b, sizeof(b)),
			  max_age_ms);
}

/* Whether leaf i's device has leaf j as a direct peer: at the endpoint
 * expected (when it can be known), a handshake younger than max_age_ms
 * (or a healthy quiet pair: sim_direct), j's tunnel address in its
 * AllowedIPs. */
static bool peer_direct(struct scen *s, size_t i, size_t j, const struct wg_peer *p, int node,
			int64_t now, int64_t max_age_ms)
{
	int64_t hs = vwg_timespec_to_ms(&p->last_handshake);
	if (!p->has_endpoint)
		return false;
	if ((hs == ENGINE_NEVER || now - hs > max_age_ms) && !sim_quiet_healthy(s->sim, s->leaf[i], node))
		return false;
	char buf[WL_ENDPOINT_STR_MAX];
	const char *want = scen_expected_endpoint(s, i, j, buf, sizeof(buf));
	if (want) {
		struct wl_endpoint e;
		if (!wl_endpoint_parse(want, &e) || e.port != p->endpoint.port ||
		    !wl_addr_equal(&e.addr, &p->endpoint.addr))
			return false;
	}
	struct wl_cidr t;
	if (!sim_node_tunnel(s->sim, node, &t))
		return false;
	for (size_t a = 0; a < p->n_allowed; a++)
		if (wl_cidr_contains(&p->allowed_ips[a], &t.addr))
			return true;
	return false;
}

bool scen_hub_info(struct scen *s, size_t i, struct engine_peer_info *out)
{
	uint8_t key[WL_KEY_LEN];
	sim_node_key(s->sim, s->leaf[i], key);
	return engine_peer_info(sim_node_engine(s->sim, s->hub), key, sim_now(s->sim), out);
}

bool scen_all_direct(struct scen *s, int64_t max_age_ms)
{
	size_t n = s->n_leaves;
	int *leaf_of = xcalloc(sim_node_count(s->sim), sizeof(*leaf_of));
	for (size_t k = 0; k < sim_node_count(s->sim); k++)
		leaf_of[k] = -1;
	for (size_t i = 0; i < n; i++)
		leaf_of[s->leaf[i]] = (int)i;
	int64_t now = sim_now(s->sim);
	bool all = true;
	/* Every pair both ways is every leaf direct to n - 1 others. */
	for (size_t i = 0; i < n && all; i++) {
		struct wg_device *d = vwg_snapshot(sim_node_dev(s->sim, s->leaf[i]));
		size_t direct = 0;
		for (size_t k = 0; d && k < d->n_peers; k++) {
			const struct wg_peer *p = &d->peers[k];
			int node = sim_node_by_key(s->sim, p->public_key);
			int j = node >= 0 ? leaf_of[node] : -1;
			direct += j >= 0 && peer_direct(s, i, (size_t)j, p, node, now, max_age_ms);
		}
		vwg_device_free(d);
		all = direct == n - 1;
	}
	free(leaf_of);
	return all;
}

size_t scen_count_direct(struct scen *s, int64_t max_age_ms)
{
	size_t n = s->n_leaves;
	bool *ok = xcalloc(n * n, sizeof(*ok));
	int *leaf_of = xcalloc(sim_node_count(s->sim), sizeof(*leaf_of));
	for (size_t k = 0; k < sim_node_count(s->sim); k++)
		leaf_of[k] = -1;
	for (size_t i = 0; i < n; i++)
		leaf_of[s->leaf[i]] = (int)i;
	int64_t now = sim_now(s->sim);
	for (size_t i = 0; i < n; i++) {
		struct wg_device *d = vwg_snapshot(sim_node_dev(s->sim, s->leaf[i]));
		for (size_t k = 0; d && k < d->n_peers; k++) {
			const struct wg_peer *p = &d->peers[k];
			int node = sim_node_by_key(s->sim, p->public_key);
			int j = node >= 0 ? leaf_of[node] : -1;
			if (j >= 0)
				ok[i * n + (size_t)j] = peer_direct(s, i, (size_t)j, p, node, now, max_age_ms);
		}
		vwg_device_free(d);
	}
	size_t direct = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			direct += ok[i * n + j] && ok[j * n + i];
	free(ok);
	free(leaf_of);
	return direct;
}
