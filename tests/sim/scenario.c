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

/* Puts leaf i on the network; returns its vnet host. */
static int place_leaf(struct scen *s, size_t i, const struct scen_opts *o)
{
	char name[32], addr[WL_ADDR_STR_MAX], out[WL_ADDR_STR_MAX];
	snprintf(name, sizeof(name), "leaf%zu", i + 1);
	switch (s->kind[i]) {
	case LEAF_PUBLIC:
		snprintf(addr, sizeof(addr), "198.51.100.%zu", 10 + i);
		snprintf(s->addr[i], WL_ADDR_STR_MAX, "%s", addr);
		return vnet_add_host(s->net, name, s->inet, addr, NULL);
	case LEAF_OWN_NAT: {
		char lan_name[40], nat_name[40];
		snprintf(lan_name, sizeof(lan_name), "lan-%s", name);
		snprintf(nat_name, sizeof(nat_name), "nat-%s", name);
		int lan = vnet_add_segment(s->net, lan_name, "192.168.1.0/24", o->lan_latency_ms);
		snprintf(out, sizeof(out), "203.0.113.%zu", 10 + i);
		s->nat[i] = vnet_add_nat(s->net, nat_name, lan, "192.168.1.1", s->inet, out, NULL, &o->nat);
		snprintf(addr, sizeof(addr), "192.168.1.%zu", 10 + i);
		snprintf(s->addr[i], WL_ADDR_STR_MAX, "%s", addr);
		return vnet_add_host(s->net, name, lan, addr, "192.168.1.1");
	}
	case LEAF_SHARED_LAN:
		if (s->shared_lan < 0) {
			s->shared_lan = vnet_add_segment(s->net, "lan-shared", "192.168.100.0/24",
							 o->lan_latency_ms);
			s->shared_nat = vnet_add_nat(s->net, "nat-shared", s->shared_lan, "192.168.100.1",
						     s->inet, "203.0.113.200", NULL, &o->nat);
		}
		s->nat[i] = s->shared_nat;
		snprintf(addr, sizeof(addr), "192.168.100.%zu", 10 + i);
		snprintf(s->addr[i], WL_ADDR_STR_MAX, "%s", addr);
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
	s->shared_lan = s->shared_nat = -1;
	s->inet = vnet_add_segment(s->net, "internet", "0.0.0.0/0", o->internet_latency_ms);
	vnet_segment_set_loss(s->net, s->inet, o->internet_loss_ppm);
	s->hub_nat = -1;
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
	struct sim_node_opts no = { .name = "hub", .host = s->hub_host, .tunnel_ip = "10.99.0.1/24",
				    .forwarding = true, .router = WL_AUTO, .original = o->original_hub };
	s->hub = sim_add_node(s->sim, &no);
	for (size_t i = 0; i < n_leaves; i++) {
		s->kind[i] = kinds[i];
		s->nat[i] = -1;
		int host = place_leaf(s, i, o);
		char name[32], tunnel[32];
		snprintf(name, sizeof(name), "leaf%zu", i + 1);
		snprintf(tunnel, sizeof(tunnel), "10.99.0.%zu/24", i + 2);
		struct sim_node_opts lo = { .name = name, .host = host, .tunnel_ip = tunnel,
					    .router = WL_AUTO,
					    .original = i < 32 && (o->original_leaves >> i & 1) };
		s->leaf[i] = sim_add_node(s->sim, &lo);
		snprintf(tunnel, sizeof(tunnel), "10.99.0.%zu/32", i + 2);
		sim_wg_peer(s->sim, s->hub, s->leaf[i], NULL, tunnel);
		sim_wg_peer(s->sim, s->leaf[i], s->hub, "198.51.100.1:51820", "10.99.0.0/24");
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
	memset(s, 0, sizeof(*s));
}

const char *scen_public_addr(const struct scen *s, size_t i, char *buf, size_t cap)
{
	switch (s->kind[i]) {
	case LEAF_PUBLIC:
		snprintf(buf, cap, "%s", s->addr[i]);
		break;
	case LEAF_OWN_NAT:
		snprintf(buf, cap, "203.0.113.%zu", 10 + i);
		break;
	case LEAF_SHARED_LAN:
		snprintf(buf, cap, "203.0.113.200");
		break;
	}
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
		snprintf(buf, cap, "203.0.113.%zu:%d", 10 + j, SIM_WG_PORT);
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
