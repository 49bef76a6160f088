/* The virtual network on its own, with scripted datagrams: routing, latency,
 * loss, NAT mapping/filtering/expiry, hairpinning, cuts and determinism. */
#include <errno.h>
#include <stdlib.h>

#include "sim/vnet.h"
#include "unit/harness.h"

#define MAX_RX 64

struct rx {
	size_t n;
	int64_t at[MAX_RX];
	struct wl_endpoint from[MAX_RX], to[MAX_RX];
	uint8_t first[MAX_RX];
	/* When set, every datagram is answered from the receiving port. */
	struct vnet *echo;
};

static void on_rx(void *ctx, int node, const struct wl_endpoint *local,
		  const struct wl_endpoint *remote, const uint8_t *data, size_t len)
{
	struct rx *rx = ctx;
	if (rx->n < MAX_RX) {
		rx->at[rx->n] = vnet_now(rx->echo);
		rx->from[rx->n] = *remote;
		rx->to[rx->n] = *local;
		rx->first[rx->n] = len ? data[0] : 0;
		rx->n++;
	}
	if (rx->echo)
		vnet_send(rx->echo, node, local->port, remote, data, len);
}

/* Records without echoing, but still knows the clock. */
struct rec {
	struct rx rx;
	struct vnet *net;
};

static void on_rec(void *ctx, int node, const struct wl_endpoint *local,
		   const struct wl_endpoint *remote, const uint8_t *data, size_t len)
{
	struct rec *r = ctx;
	if (r->rx.n < MAX_RX) {
		r->rx.at[r->rx.n] = vnet_now(r->net);
		r->rx.from[r->rx.n] = *remote;
		r->rx.to[r->rx.n] = *local;
		r->rx.first[r->rx.n] = len ? data[0] : 0;
		r->rx.n++;
	}
}

static bool ep_is(const struct wl_endpoint *e, const char *addr, uint16_t port)
{
	struct wl_endpoint want = vnet_ep(addr, port);
	return e->port == want.port && wl_addr_equal(&e->addr, &want.addr);
}

static int send_byte(struct vnet *net, int node, uint16_t sport, const char *addr, uint16_t dport,
		     uint8_t b)
{
	struct wl_endpoint dst = vnet_ep(addr, dport);
	return vnet_send(net, node, sport, &dst, &b, 1);
}

TEST(public_hosts_reach_each_other_after_latency)
{
	struct vnet *net = vnet_new(harness_seed());
	int inet = vnet_add_segment(net, "internet", "0.0.0.0/0", 20);
	int a = vnet_add_host(net, "a", inet, "198.51.100.1", NULL);
	int b = vnet_add_host(net, "b", inet, "198.51.100.2", NULL);
	struct rec rb = { .net = net };
	CHECK_EQ(vnet_bind(net, b, 51820, on_rec, &rb), 0);
	CHECK_EQ(vnet_bind(net, b, 51820, on_rec, &rb), -EADDRINUSE);
	CHECK_EQ(send_byte(net, a, 4000, "198.51.100.2", 51820, 7), 0);
	CHECK_EQ(vnet_next_event(net), 20);
	vnet_advance(net, 19);
	CHECK_EQ(rb.rx.n, 0);
	vnet_advance(net, 20);
	CHECK_EQ(rb.rx.n, 1);
	CHECK_EQ(rb.rx.at[0], 20);
	CHECK(ep_is(&rb.rx.from[0], "198.51.100.1", 4000));
	CHECK(ep_is(&rb.rx.to[0], "198.51.100.2", 51820));
	CHECK_EQ(rb.rx.first[0], 7);
	/* Nobody at that address, nobody at that port. */
	CHECK_EQ(send_byte(net, a, 4000, "198.51.100.9", 51820, 1), 0);
	CHECK_EQ(send_byte(net, a, 4000, "198.51.100.2", 9, 1), 0);
	vnet_advance(net, 100);
	CHECK_EQ(vnet_stats(net)->no_route, 1);
	CHECK_EQ(vnet_stats(net)->no_listener, 1);
	CHECK_EQ(vnet_next_event(net), VNET_NEVER);
	vnet_free(net);
}

/* A home network: LAN 192.168.1.0/24 behind a NAT on the internet. */
struct home {
	struct vnet *net;
	int inet, lan, nat, leaf, server, other;
};

static void home_setup(struct home *h, const struct vnet_nat_opts *o)
{
	h->net = vnet_new(harness_seed());
	h->inet = vnet_add_segment(h->net, "internet", "0.0.0.0/0", 20);
	h->lan = vnet_add_segment(h->net, "lan", "192.168.1.0/24", 1);
	h->nat = vnet_add_nat(h->net, "nat", h->lan, "192.168.1.1", h->inet, "203.0.113.10", NULL, o);
	h->leaf = vnet_add_host(h->net, "leaf", h->lan, "192.168.1.10", "192.168.1.1");
	h->server = vnet_add_host(h->net, "server", h->inet, "198.51.100.1", NULL);
	h->other = vnet_add_host(h->net, "other", h->inet, "198.51.100.2", NULL);
}

TEST(home_nat_maps_preserves_port_and_filters)
{
	struct vnet_nat_opts o;
	vnet_nat_opts_home(&o);
	struct home h;
	home_setup(&h, &o);
	struct rec leaf = { .net = h.net }, other = { .net = h.net };
	struct rx server = { .echo = h.net };
	vnet_bind(h.net, h.leaf, 51820, on_rec, &leaf);
	vnet_bind(h.net, h.server, 51820, on_rx, &server);
	vnet_bind(h.net, h.other, 51820, on_rec, &other);

	/* Unsolicited traffic into the NAT goes nowhere. */
	send_byte(h.net, h.other, 51820, "203.0.113.10", 51820, 1);
	vnet_advance(h.net, 100);
	CHECK_EQ(leaf.rx.n, 0);
	CHECK_EQ(vnet_stats(h.net)->nat_no_mapping, 1);

	send_byte(h.net, h.leaf, 51820, "198.51.100.1", 51820, 2);
	vnet_advance(h.net, 200);
	CHECK_EQ(server.n, 1);
	CHECK(ep_is(&server.from[0], "203.0.113.10", 51820)); /* port preserved */
	CHECK_EQ(server.at[0], 100 + 1 + 20);
	CHECK_EQ(leaf.rx.n, 1); /* the echo came back through the mapping */
	CHECK(ep_is(&leaf.rx.from[0], "198.51.100.1", 51820));
	CHECK_EQ(leaf.rx.at[0], 100 + 2 * 21);
	struct wl_endpoint in = vnet_ep("192.168.1.10", 51820), out;
	CHECK(vnet_nat_mapping(h.net, h.nat, &in, &out));
	CHECK(ep_is(&out, "203.0.113.10", 51820));

	/* Another host may not use the mapping (address+port filtering)... */
	send_byte(h.net, h.other, 51820, "203.0.113.10", 51820, 3);
	/* ... nor the same host from another port. */
	send_byte(h.net, h.server, 9999, "203.0.113.10", 51820, 3);
	vnet_advance(h.net, 300);
	CHECK_EQ(leaf.rx.n, 1);
	CHECK_EQ(vnet_stats(h.net)->nat_filtered, 2);

	/* Once the leaf has sent to "other", other gets in. */
	send_byte(h.net, h.leaf, 51820, "198.51.100.2", 51820, 4);
	vnet_advance(h.net, 400);
	CHECK_EQ(other.rx.n, 1);
	send_byte(h.net, h.other, 51820, "203.0.113.10", 51820, 5);
	vnet_advance(h.net, 500);
	CHECK_EQ(leaf.rx.n, 2);

	/* Idle for longer than the timeout: the mapping is gone. */
	vnet_advance(h.net, 500 + o.idle_timeout_ms + 1);
	CHECK(!vnet_nat_mapping(h.net, h.nat, &in, &out));
	send_byte(h.net, h.other, 51820, "203.0.113.10", 51820, 6);
	vnet_advance(h.net, vnet_now(h.net) + 100);
	CHECK_EQ(leaf.rx.n, 2);
	CHECK_EQ(vnet_stats(h.net)->nat_no_mapping, 2);
	vnet_free(h.net);
}

TEST(nat_reset_forgets_mappings)
{
	struct vnet_nat_opts o;
	vnet_nat_opts_home(&o);
	o.port_preserving = false;
	struct home h;
	home_setup(&h, &o);
	struct rec server = { .net = h.net }, leaf = { .net = h.net };
	vnet_bind(h.net, h.server, 51820, on_rec, &server);
	vnet_bind(h.net, h.leaf, 51820, on_rec, &leaf);
	send_byte(h.net, h.leaf, 51820, "198.51.100.1", 51820, 1);
	vnet_advance(h.net, 100);
	vnet_nat_reset(h.net, h.nat);
	/* The old mapping leads nowhere now. */
	struct wl_endpoint old = server.rx.from[0];
	vnet_send(h.net, h.server, 51820, &old, (const uint8_t *)"x", 1);
	vnet_advance(h.net, 200);
	CHECK_EQ(leaf.rx.n, 0);
	CHECK_EQ(vnet_stats(h.net)->nat_no_mapping, 1);
	send_byte(h.net, h.leaf, 51820, "198.51.100.1", 51820, 2);
	vnet_advance(h.net, 300);
	CHECK_EQ(server.rx.n, 2);
	CHECK(server.rx.from[1].port != old.port);
	vnet_free(h.net);
}

TEST(filtering_modes)
{
	enum vnet_filter modes[] = { VNET_FILTER_ENDPOINT_INDEPENDENT, VNET_FILTER_ADDRESS,
				     VNET_FILTER_ADDRESS_PORT };
	/* Reached by: same host other port, other host. */
	bool want_port[] = { true, true, false };
	bool want_host[] = { true, false, false };
	for (size_t m = 0; m < 3; m++) {
		struct vnet_nat_opts o;
		vnet_nat_opts_home(&o);
		o.filter = modes[m];
		struct home h;
		home_setup(&h, &o);
		struct rec leaf = { .net = h.net };
		vnet_bind(h.net, h.leaf, 51820, on_rec, &leaf);
		send_byte(h.net, h.leaf, 51820, "198.51.100.1", 51820, 1);
		vnet_advance(h.net, 100);
		send_byte(h.net, h.server, 1234, "203.0.113.10", 51820, 2);
		vnet_advance(h.net, 200);
		CHECK_EQ(leaf.rx.n, want_port[m] ? 1 : 0);
		send_byte(h.net, h.other, 51820, "203.0.113.10", 51820, 3);
		vnet_advance(h.net, 300);
		CHECK_EQ(leaf.rx.n, (want_port[m] ? 1 : 0) + (want_host[m] ? 1 : 0));
		vnet_free(h.net);
	}
}

TEST(port_randomising_and_symmetric_nat)
{
	struct vnet_nat_opts o;
	vnet_nat_opts_home(&o);
	o.port_preserving = false;
	o.symmetric = true;
	struct home h;
	home_setup(&h, &o);
	struct rec server = { .net = h.net }, other = { .net = h.net };
	vnet_bind(h.net, h.server, 51820, on_rec, &server);
	vnet_bind(h.net, h.other, 51820, on_rec, &other);
	send_byte(h.net, h.leaf, 51820, "198.51.100.1", 51820, 1);
	send_byte(h.net, h.leaf, 51820, "198.51.100.1", 51820, 1);
	send_byte(h.net, h.leaf, 51820, "198.51.100.2", 51820, 1);
	vnet_advance(h.net, 100);
	CHECK_EQ(server.rx.n, 2);
	CHECK_EQ(other.rx.n, 1);
	/* One mapping per destination, reused for the same destination. */
	CHECK_EQ(server.rx.from[0].port, server.rx.from[1].port);
	CHECK(server.rx.from[0].port != other.rx.from[0].port);
	CHECK(server.rx.from[0].port >= 1024);
	vnet_free(h.net);
}

/* A port forward on a symmetric NAT: anyone reaches the inside host at
 * the forwarded port and is answered from there, while the host's new
 * flows get ports of the NAT's choosing; a reset keeps it, idle time does
 * not expire it; dropped, it leads nowhere. */
TEST(port_forward)
{
	struct vnet_nat_opts o;
	vnet_nat_opts_home(&o);
	o.port_preserving = false;
	o.symmetric = true;
	struct home h;
	home_setup(&h, &o);
	struct rec server = { .net = h.net }, other = { .net = h.net }, leaf = { .net = h.net };
	vnet_bind(h.net, h.server, 51820, on_rec, &server);
	vnet_bind(h.net, h.other, 51820, on_rec, &other);
	vnet_bind(h.net, h.leaf, 51820, on_rec, &leaf);
	struct wl_endpoint inside = vnet_ep("192.168.1.10", 51820);
	struct wl_endpoint outside;
	CHECK_EQ(vnet_nat_forward(h.net, h.nat, 40000, &inside, &outside), 0);
	CHECK(ep_is(&outside, "203.0.113.10", 40000));
	CHECK_EQ(vnet_nat_forward(h.net, h.nat, 40000, &inside, NULL), 0); /* again: fine */
	struct wl_endpoint elsewhere = vnet_ep("192.168.1.99", 51820);
	CHECK_EQ(vnet_nat_forward(h.net, h.nat, 40000, &elsewhere, NULL), -EADDRINUSE);
	CHECK_EQ(vnet_nat_forward(h.net, h.nat, 40001, &inside, NULL), -EADDRINUSE);
	CHECK_EQ(vnet_nat_forward(h.net, h.server, 40001, &inside, NULL), -EINVAL);
	send_byte(h.net, h.server, 51820, "203.0.113.10", 40000, 1); /* unsolicited */
	vnet_advance(h.net, 100);
	CHECK_EQ(leaf.rx.n, 1);
	send_byte(h.net, h.leaf, 51820, "198.51.100.1", 51820, 2);
	send_byte(h.net, h.leaf, 51820, "198.51.100.2", 51820, 3);
	vnet_advance(h.net, 200);
	CHECK(server.rx.n == 1 && ep_is(&server.rx.from[0], "203.0.113.10", 40000)); /* a reply */
	CHECK(other.rx.n == 1 && !ep_is(&other.rx.from[0], "203.0.113.10", 40000)); /* a new flow */
	vnet_nat_reset(h.net, h.nat);
	vnet_advance(h.net, 10 * o.idle_timeout_ms);
	send_byte(h.net, h.other, 51820, "203.0.113.10", 40000, 4);
	vnet_advance(h.net, vnet_now(h.net) + 100);
	CHECK_EQ(leaf.rx.n, 2);
	vnet_nat_unforward(h.net, h.nat, 40000);
	send_byte(h.net, h.other, 51820, "203.0.113.10", 40000, 5);
	vnet_advance(h.net, vnet_now(h.net) + 100);
	CHECK_EQ(leaf.rx.n, 2);
	vnet_free(h.net);
}

TEST(port_preserving_nat_moves_on_when_the_port_is_taken)
{
	struct vnet_nat_opts o;
	vnet_nat_opts_home(&o);
	struct home h;
	home_setup(&h, &o);
	int leaf2 = vnet_add_host(h.net, "leaf2", h.lan, "192.168.1.11", "192.168.1.1");
	struct rec server = { .net = h.net };
	vnet_bind(h.net, h.server, 51820, on_rec, &server);
	send_byte(h.net, h.leaf, 51820, "198.51.100.1", 51820, 1);
	vnet_advance(h.net, 10);
	send_byte(h.net, leaf2, 51820, "198.51.100.1", 51820, 2);
	vnet_advance(h.net, 100);
	CHECK_EQ(server.rx.n, 2);
	CHECK_EQ(server.rx.from[0].port, 51820);
	CHECK_EQ(server.rx.from[1].port, 51821);
	vnet_free(h.net);
}

/* An address taken twice on one segment is refused (packets would all go
 * to the first holder); the same address on another segment is fine. */
TEST(an_address_twice_on_a_segment_is_refused)
{
	struct vnet_nat_opts o;
	vnet_nat_opts_home(&o);
	struct vnet *net = vnet_new(harness_seed());
	int inet = vnet_add_segment(net, "internet", "0.0.0.0/0", 20);
	int lan1 = vnet_add_segment(net, "lan1", "192.168.1.0/24", 1);
	int lan2 = vnet_add_segment(net, "lan2", "192.168.1.0/24", 1);
	CHECK(vnet_add_nat(net, "nat1", lan1, "192.168.1.1", inet, "203.0.113.200", NULL, &o) >= 0);
	CHECK(vnet_add_nat(net, "nat2", lan2, "192.168.1.1", inet, "203.0.113.200", NULL, &o) < 0);
	CHECK(vnet_add_host(net, "a", lan1, "192.168.1.10", "192.168.1.1") >= 0);
	CHECK(vnet_add_host(net, "b", lan2, "192.168.1.10", "192.168.1.1") >= 0);
	CHECK(vnet_add_host(net, "c", lan1, "192.168.1.10", "192.168.1.1") < 0);
	CHECK(vnet_add_host(net, "d", inet, "203.0.113.201", NULL) >= 0);
	vnet_free(net);
}

TEST(two_nats_open_a_hole_only_when_both_sides_send)
{
	struct vnet_nat_opts o;
	vnet_nat_opts_home(&o);
	struct vnet *net = vnet_new(harness_seed());
	int inet = vnet_add_segment(net, "internet", "0.0.0.0/0", 20);
	int lan1 = vnet_add_segment(net, "lan1", "192.168.1.0/24", 1);
	int lan2 = vnet_add_segment(net, "lan2", "192.168.1.0/24", 1); /* same range, other LAN */
	vnet_add_nat(net, "nat1", lan1, "192.168.1.1", inet, "203.0.113.1", NULL, &o);
	vnet_add_nat(net, "nat2", lan2, "192.168.1.1", inet, "203.0.113.2", NULL, &o);
	int a = vnet_add_host(net, "a", lan1, "192.168.1.10", "192.168.1.1");
	int b = vnet_add_host(net, "b", lan2, "192.168.1.10", "192.168.1.1");
	struct rec ra = { .net = net }, rb = { .net = net };
	vnet_bind(net, a, 51820, on_rec, &ra);
	vnet_bind(net, b, 51820, on_rec, &rb);
	send_byte(net, a, 51820, "203.0.113.2", 51820, 1); /* opens nat1, dropped at nat2 */
	vnet_advance(net, 100);
	CHECK_EQ(rb.rx.n, 0);
	send_byte(net, b, 51820, "203.0.113.1", 51820, 2); /* passes nat1's filter */
	vnet_advance(net, 200);
	CHECK_EQ(ra.rx.n, 1);
	CHECK(ep_is(&ra.rx.from[0], "203.0.113.2", 51820));
	send_byte(net, a, 51820, "203.0.113.2", 51820, 3);
	vnet_advance(net, 300);
	CHECK_EQ(rb.rx.n, 1);
	CHECK(ep_is(&rb.rx.from[0], "203.0.113.1", 51820));
	/* A private address is not reachable across the internet. */
	send_byte(net, a, 51820, "192.168.2.10", 51820, 4);
	vnet_advance(net, 400);
	CHECK_EQ(vnet_stats(net)->no_route, 1);
	vnet_free(net);
}

TEST(hairpin)
{
	for (int hp = 0; hp < 2; hp++) {
		struct vnet_nat_opts o;
		vnet_nat_opts_home(&o);
		o.hairpin = hp;
		struct home h;
		home_setup(&h, &o);
		int leaf2 = vnet_add_host(h.net, "leaf2", h.lan, "192.168.1.11", "192.168.1.1");
		struct rec r1 = { .net = h.net }, r2 = { .net = h.net };
		vnet_bind(h.net, h.leaf, 51820, on_rec, &r1);
		vnet_bind(h.net, leaf2, 51820, on_rec, &r2);
		/* Both have mappings (51820 and 51821) and each "knows" the
		 * other's public endpoint. */
		send_byte(h.net, h.leaf, 51820, "198.51.100.1", 51820, 1);
		send_byte(h.net, leaf2, 51820, "198.51.100.1", 51820, 1);
		vnet_advance(h.net, 100);
		/* 2 is refused (the leaf's mapping has not talked to leaf2's
		 * public endpoint) but opens leaf2's for 3; one after the
		 * other, as datagrams of two hosts at the same instant are
		 * ordered by host, not by which call came first. */
		send_byte(h.net, leaf2, 51820, "203.0.113.10", 51820, 2);
		vnet_advance(h.net, 150);
		send_byte(h.net, h.leaf, 51820, "203.0.113.10", 51821, 3);
		vnet_advance(h.net, 200);
		send_byte(h.net, leaf2, 51820, "203.0.113.10", 51820, 4);
		vnet_advance(h.net, 300);
		if (hp) {
			CHECK_EQ(r1.rx.n, 1);
			CHECK_EQ(r2.rx.n, 1);
			CHECK(ep_is(&r1.rx.from[0], "203.0.113.10", 51821));
			CHECK_EQ(r1.rx.first[0], 4);
		} else {
			CHECK_EQ(r1.rx.n, 0);
			CHECK_EQ(r2.rx.n, 0);
			CHECK_EQ(vnet_stats(h.net)->nat_hairpin_refused, 3);
		}
		/* The LAN path always works, at LAN latency. */
		send_byte(h.net, h.leaf, 51820, "192.168.1.11", 51820, 5);
		vnet_advance(h.net, 301);
		CHECK_EQ(r2.rx.n, (size_t)hp + 1);
		vnet_free(h.net);
	}
}

TEST(routers_join_segments_without_nat)
{
	struct vnet *net = vnet_new(harness_seed());
	int s1 = vnet_add_segment(net, "s1", "10.1.0.0/16", 2);
	int s2 = vnet_add_segment(net, "s2", "10.2.0.0/16", 3);
	int s3 = vnet_add_segment(net, "s3", "10.3.0.0/16", 4);
	int r1 = vnet_add_node(net, "r1");
	vnet_add_iface(net, r1, s1, "10.1.0.1");
	vnet_add_iface(net, r1, s2, "10.2.0.1");
	vnet_add_route(net, r1, "10.3.0.0/16", "10.2.0.2");
	vnet_set_forwarding(net, r1, true);
	int r2 = vnet_add_node(net, "r2");
	vnet_add_iface(net, r2, s2, "10.2.0.2");
	vnet_add_iface(net, r2, s3, "10.3.0.1");
	vnet_add_route(net, r2, "0.0.0.0/0", "10.2.0.1");
	vnet_set_forwarding(net, r2, true);
	int a = vnet_add_host(net, "a", s1, "10.1.0.10", "10.1.0.1");
	int b = vnet_add_host(net, "b", s3, "10.3.0.10", "10.3.0.1");
	struct rx rb = { .echo = net };
	struct rec ra = { .net = net };
	vnet_bind(net, a, 1000, on_rec, &ra);
	vnet_bind(net, b, 2000, on_rx, &rb);
	send_byte(net, a, 1000, "10.3.0.10", 2000, 1);
	vnet_advance(net, 100);
	CHECK_EQ(rb.n, 1);
	CHECK_EQ(rb.at[0], 2 + 3 + 4);
	CHECK(ep_is(&rb.from[0], "10.1.0.10", 1000)); /* no translation */
	CHECK_EQ(ra.rx.n, 1);
	CHECK_EQ(ra.rx.at[0], 18);
	CHECK_EQ(vnet_node_by_name(net, "r2"), r2);
	CHECK_STR(vnet_iface_name(net, vnet_node_iface(net, r2, 1)), "eth1");
	struct wl_cidr c;
	vnet_iface_addr(net, vnet_node_iface(net, b, 0), &c);
	CHECK_EQ(c.prefix, 16);
	/* A host that is not a router does not forward. */
	int c2 = vnet_add_host(net, "c", s1, "10.1.0.20", "10.1.0.10");
	send_byte(net, c2, 1000, "10.3.0.10", 2000, 1);
	vnet_advance(net, 200);
	CHECK_EQ(rb.n, 1);
	vnet_free(net);
}

TEST(cuts_blocks_and_scheduled_link_changes)
{
	struct vnet *net = vnet_new(harness_seed());
	int inet = vnet_add_segment(net, "internet", "0.0.0.0/0", 10);
	int a = vnet_add_host(net, "a", inet, "198.51.100.1", NULL);
	int b = vnet_add_host(net, "b", inet, "198.51.100.2", NULL);
	int c = vnet_add_host(net, "c", inet, "198.51.100.3", NULL);
	struct rec rb = { .net = net }, rc = { .net = net };
	vnet_bind(net, b, 1, on_rec, &rb);
	vnet_bind(net, c, 1, on_rec, &rc);
	vnet_block(net, "198.51.100.1", "198.51.100.2");
	send_byte(net, a, 1, "198.51.100.2", 1, 1);
	send_byte(net, a, 1, "198.51.100.3", 1, 1);
	vnet_advance(net, 50);
	CHECK_EQ(rb.rx.n, 0);
	CHECK_EQ(rc.rx.n, 1);
	CHECK_EQ(vnet_stats(net)->blocked, 1);
	vnet_unblock(net, "198.51.100.2", "198.51.100.1");
	send_byte(net, a, 1, "198.51.100.2", 1, 1);
	vnet_advance(net, 100);
	CHECK_EQ(rb.rx.n, 1);

	int bif = vnet_node_iface(net, b, 0);
	vnet_schedule_iface(net, 200, bif, false);
	vnet_schedule_iface(net, 300, bif, true);
	send_byte(net, a, 1, "198.51.100.2", 1, 1); /* arrives at 110 */
	vnet_advance(net, 195);
	send_byte(net, a, 1, "198.51.100.2", 1, 1); /* arrives at 205: down */
	vnet_advance(net, 250);
	CHECK(!vnet_iface_up(net, bif));
	CHECK_EQ(send_byte(net, b, 1, "198.51.100.1", 1, 1), -ENETDOWN);
	vnet_advance(net, 300);
	CHECK(vnet_iface_up(net, bif));
	send_byte(net, a, 1, "198.51.100.2", 1, 1);
	vnet_advance(net, 400);
	CHECK_EQ(rb.rx.n, 3);
	CHECK_EQ(vnet_stats(net)->link_down, 1);
	vnet_free(net);
}

static uint64_t lossy_run(uint64_t seed, size_t *delivered, int64_t *last_at)
{
	struct vnet *net = vnet_new(seed);
	int inet = vnet_add_segment(net, "internet", "0.0.0.0/0", 10);
	vnet_segment_set_loss(net, inet, 300000);
	vnet_segment_set_jitter(net, inet, 5);
	int a = vnet_add_host(net, "a", inet, "198.51.100.1", NULL);
	int b = vnet_add_host(net, "b", inet, "198.51.100.2", NULL);
	struct rec rb = { .net = net };
	vnet_bind(net, b, 1, on_rec, &rb);
	for (int i = 0; i < 1000; i++) {
		send_byte(net, a, 1, "198.51.100.2", 1, (uint8_t)i);
		vnet_advance(net, vnet_now(net) + 1);
	}
	vnet_advance(net, vnet_now(net) + 100);
	*delivered = (size_t)(vnet_stats(net)->delivered);
	*last_at = rb.rx.at[rb.rx.n - 1];
	uint64_t lost = vnet_stats(net)->lost;
	vnet_free(net);
	return lost;
}

TEST(loss_and_jitter_are_random_but_reproducible)
{
	size_t d1, d2, d3;
	int64_t t1, t2, t3;
	uint64_t l1 = lossy_run(harness_seed(), &d1, &t1);
	uint64_t l2 = lossy_run(harness_seed(), &d2, &t2);
	uint64_t l3 = lossy_run(harness_seed() + 1, &d3, &t3);
	CHECK_EQ(l1 + d1, 1000);
	CHECK_MSG(l1 > 230 && l1 < 370, "30%% loss gave %llu of 1000", (unsigned long long)l1);
	CHECK_EQ(l1, l2);
	CHECK_EQ(d1, d2);
	CHECK_EQ(t1, t2);
	CHECK(l1 != l3 || t1 != t3);
}
