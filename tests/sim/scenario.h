/* Ready-made topologies for the scenario tests: one public hub (the
 * WireGuard "server", a router for 10.99.0.0/24) and leaves that dial in,
 * each either on the internet, behind its own home NAT, or together with
 * other leaves on one LAN behind one shared NAT.
 *
 * Addresses (up to 245 leaves, and as they have always been):
 *   hub            198.51.100.1, tunnel 10.99.0.1/24 (or behind a port
 *                  forward: see scen_opts.hub_behind_forward)
 *   leaf i         tunnel 10.99.0.(i+2)/24, and
 *     public       198.51.100.(10+i)
 *     own NAT      host 192.168.1.(10+i) on its own LAN 192.168.1.0/24,
 *                  NAT 192.168.1.1 / outside 203.0.113.(10+i) (i < 190)
 *     shared LAN   host 192.168.100.(10+i) on LAN 192.168.100.0/24,
 *                  NAT 192.168.100.1 / outside 203.0.113.200
 * Beyond a /24's room, addresses spill into blocks of their own, 240 to
 * a /24 (.10 to .249): public leaves into 198.18.0.0/16, own NATs'
 * outsides into 198.19.0.0/16, own LANs into 192.168.2.0/24 and up (each
 * its own LAN, NAT at .1), the shared LAN grows to 192.168.96.0/20
 * (192.168.101.0 and up); with more than 252 leaves the tunnel is
 * 10.99.0.0/16 (leaf i the (i+2)-th address, 10.99.1.0 included). vnet
 * refuses an address twice on one segment, so a clash cannot pass
 * silently (at 199 leaves leaf 191's NAT once took 203.0.113.200).
 * Device configuration as a wg-quick user would write it: the hub lists
 * every leaf (tunnel /32, no endpoint), each leaf lists the hub (endpoint
 * 198.51.100.1:51820, the tunnel network). Engines are not started: tests
 * add wirelink configuration first, then call scen_start(). */
#ifndef WL_SIM_SCENARIO_H
#define WL_SIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "sim/sim.h"

enum scen_leaf_kind { LEAF_PUBLIC, LEAF_OWN_NAT, LEAF_SHARED_LAN };

struct scen {
	struct sim *sim;
	struct vnet *net;
	int inet, shared_lan, shared_nat;
	int hub;
	int hub_host, hub_nat;      /* the hub's vnet host, its NAT or -1 */
	size_t n_leaves;
	int *leaf;                  /* sim node of leaf i */
	enum scen_leaf_kind *kind;
	int *nat;                   /* vnet node of leaf i's NAT, or -1 */
	char (*addr)[WL_ADDR_STR_MAX]; /* leaf i's own (LAN or public) address */
	char (*pub)[WL_ADDR_STR_MAX];  /* ... and the one the internet sees */
};

struct scen_opts {
	int64_t internet_latency_ms; /* default 20 */
	int64_t lan_latency_ms;      /* default 1 */
	uint32_t internet_loss_ppm;
	struct vnet_nat_opts nat;    /* default: vnet_nat_opts_home() */
	/* Leaf i's own NAT (LEAF_OWN_NAT) is leaf_nat[i] when this is set
	 * (an array of n_leaves), so one network holds NATs of several kinds;
	 * NULL: every NAT is `nat`. */
	const struct vnet_nat_opts *leaf_nat;
	/* The hub at home: on LAN 192.168.50.0/24 (192.168.50.2) behind a
	 * home NAT whose outside address is 198.51.100.1, with a static
	 * port forward of 51820 to it — what the leaves dial is unchanged. */
	bool hub_behind_forward;
	/* Leaf i runs the original wirelink (sim_node_opts.original) when bit
	 * i is set; the hub when original_hub is. */
	unsigned original_leaves;
	bool original_hub;
	/* Every node with Leases false (sim_set_leases); the default is
	 * false unless the environment has WL_LEASES=0. */
	bool no_leases;
	/* Setting QuietPeriod of every node, seconds (sim_set_quiet_period);
	 * default -1, the daemon's default, unless the environment has
	 * WL_QUIET_PERIOD=N. */
	int quiet_period;
	/* Setting Dormant of every node (sim_set_dormant): -1, the daemon's
	 * default, unless the environment has WL_DORMANT=0 or 1. */
	int dormant;
};

void scen_opts_init(struct scen_opts *o);
/* Builds the topology; kinds[i] says where leaf i lives. */
void scen_build(struct scen *s, uint64_t seed, size_t n_leaves, const enum scen_leaf_kind *kinds,
		const struct scen_opts *o);
void scen_start(struct scen *s);
void scen_free(struct scen *s);

/* The endpoint ("ip:port") at which leaf j should be seen by leaf i on a
 * direct link, or NULL when it cannot be known in advance (a shared NAT's
 * port). */
const char *scen_expected_endpoint(const struct scen *s, size_t i, size_t j, char *buf, size_t cap);
/* The public address of the hub or a leaf's NAT / own address, as text. */
const char *scen_public_addr(const struct scen *s, size_t i, char *buf, size_t cap);

/* True when leaves i and j both have the other as a direct peer:
 * endpoint as expected, handshake younger than max_age_ms (or a healthy
 * quiet pair, sim_direct), tunnel IP in AllowedIPs. */
bool scen_pair_direct(struct scen *s, size_t i, size_t j, int64_t max_age_ms);
/* How many leaf pairs are direct both ways as scen_pair_direct says
 * (handshake younger than max_age_ms), from one device snapshot per
 * leaf instead of one per pair: cheap enough for thousands of pairs. */
size_t scen_count_direct(struct scen *s, int64_t max_age_ms);
/* Whether every leaf pair is, as scen_count_direct counts them; it stops
 * at the first leaf that lacks one, so a check made while a large
 * network converges costs one snapshot instead of a thousand. */
bool scen_all_direct(struct scen *s, int64_t max_age_ms);
/* What the hub knows of leaf i now (engine_peer_info); false if nothing. */
bool scen_hub_info(struct scen *s, size_t i, struct engine_peer_info *out);

#endif
