/* The virtual WireGuard device with scripted inner traffic: configuration
 * semantics, handshakes that need a real path, roaming through NAT,
 * cryptokey routing, hub forwarding and the timers wirelink relies on. */
#include <errno.h>
#include <stdlib.h>

#include "sim/simrand.h"
#include "sim/vnet.h"
#include "sim/vwg.h"
#include "unit/harness.h"
#include "wire/autoaddr.h"

#define MAX_GOT 64

struct got {
	size_t n;
	int64_t at[MAX_GOT];
	uint8_t via[MAX_GOT][WL_KEY_LEN];
	uint8_t first[MAX_GOT];
	struct wl_addr src[MAX_GOT];
	struct vnet *net;
};

static void on_inner(void *ctx, struct vwg *dev, const struct vwg_inner *pkt,
		     const uint8_t via[static WL_KEY_LEN])
{
	struct got *g = ctx;
	if (g->n == MAX_GOT)
		return;
	g->at[g->n] = vnet_now(g->net);
	memcpy(g->via[g->n], via, WL_KEY_LEN);
	g->first[g->n] = pkt->len ? pkt->data[0] : 0;
	g->src[g->n] = pkt->src;
	g->n++;
}

struct node {
	struct vwg *dev;
	uint8_t key[WL_KEY_LEN];
	struct wl_addr auto_addr;
	struct got got;
};

static void node_init(struct node *n, struct vnet *net, int vnode, struct simrand *rng)
{
	memset(n, 0, sizeof(*n));
	uint8_t priv[WL_KEY_LEN];
	simrand_bytes(rng, priv, sizeof(priv));
	n->dev = vwg_new(net, vnode, "wg0", priv, 51820, simrand_next(rng));
	vwg_public_key(n->dev, n->key);
	autoaddr_of(n->key, &n->auto_addr);
	struct wl_cidr c = { n->auto_addr, 64 };
	vwg_add_address(n->dev, &c);
	n->got.net = net;
	vwg_set_recv(n->dev, on_inner, &n->got);
}

/* Adds peer `other` to n, with its auto address (and extra, if given) as
 * AllowedIPs and an endpoint if ep is not NULL. */
static void add_peer(struct node *n, const struct node *other, const char *ep, const char *extra)
{
	struct wl_cidr allowed[2] = { { other->auto_addr, 128 } };
	size_t na = 1;
	if (extra) {
		CHECK(wl_cidr_parse(extra, &allowed[1]));
		na = 2;
	}
	struct wg_peer_change ch = { .n_allowed = na, .allowed_ips = allowed };
	memcpy(ch.public_key, other->key, WL_KEY_LEN);
	if (ep) {
		ch.flags |= WG_PEER_SET_ENDPOINT;
		CHECK(wl_endpoint_parse(ep, &ch.endpoint));
	}
	CHECK_EQ(vwg_apply(n->dev, &ch, 1), 0);
}

static int send_inner(struct node *from, const struct wl_addr *src, const struct wl_addr *dst, uint8_t b)
{
	struct vwg_inner pkt = { .src = *src, .dst = *dst, .sport = 51821, .dport = 51821,
				 .len = 1, .data = &b };
	return vwg_send(from->dev, &pkt);
}

static int ping(struct node *from, const struct node *to, uint8_t b)
{
	return send_inner(from, &from->auto_addr, &to->auto_addr, b);
}

/* Advances the network and the devices' timers together up to t. */
static void run_to(struct vnet *net, struct node *nodes, size_t n, int64_t t)
{
	for (;;) {
		int64_t next = vnet_next_event(net);
		for (size_t i = 0; i < n; i++) {
			int64_t tt = vwg_next_timer(nodes[i].dev);
			if (tt < next)
				next = tt;
		}
		if (next > t)
			break;
		if (next < vnet_now(net))
			next = vnet_now(net);
		vnet_advance(net, next);
		for (size_t i = 0; i < n; i++)
			vwg_run_timers(nodes[i].dev);
	}
	vnet_advance(net, t);
}

static void free_nodes(struct node *nodes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vwg_free(nodes[i].dev);
}

struct pub2 {
	struct vnet *net;
	struct node n[2];
	int inet;
};

static void pub2_setup(struct pub2 *s, bool b_knows_a)
{
	struct simrand rng;
	simrand_seed(&rng, harness_seed());
	s->net = vnet_new(harness_seed());
	s->inet = vnet_add_segment(s->net, "internet", "0.0.0.0/0", 20);
	int a = vnet_add_host(s->net, "a", s->inet, "198.51.100.1", NULL);
	int b = vnet_add_host(s->net, "b", s->inet, "198.51.100.2", NULL);
	node_init(&s->n[0], s->net, a, &rng);
	node_init(&s->n[1], s->net, b, &rng);
	add_peer(&s->n[0], &s->n[1], "198.51.100.2:51820", NULL);
	if (b_knows_a)
		add_peer(&s->n[1], &s->n[0], NULL, NULL);
}

static void pub2_free(struct pub2 *s)
{
	free_nodes(s->n, 2);
	vnet_free(s->net);
}

TEST(handshake_completes_over_a_real_path_and_roams)
{
	struct pub2 s;
	pub2_setup(&s, true);
	struct node *a = &s.n[0], *b = &s.n[1];
	CHECK_EQ(vwg_peer_handshake(a->dev, b->key), ENGINE_NEVER);
	CHECK_EQ(ping(a, b, 1), 0);
	/* b has no endpoint for a yet. */
	CHECK_EQ(ping(b, a, 2), -EDESTADDRREQ);
	run_to(s.net, s.n, 2, 1000);
	/* init 20 ms, response 40 ms: a's handshake; the queued ping confirms b's at 60. */
	CHECK_EQ(vwg_peer_handshake(a->dev, b->key), 40);
	CHECK_EQ(vwg_peer_handshake(b->dev, a->key), 60);
	CHECK_EQ(b->got.n, 1);
	CHECK_EQ(b->got.at[0], 60);
	CHECK_MEM(b->got.via[0], a->key, WL_KEY_LEN);
	/* b learnt a's endpoint from the handshake and can answer now. */
	struct wg_device *d = vwg_snapshot(b->dev);
	CHECK(d != NULL);
	CHECK_EQ(d->n_peers, 1);
	CHECK(d->peers[0].has_endpoint);
	char buf[WL_ENDPOINT_STR_MAX];
	CHECK_STR(wl_endpoint_str(&d->peers[0].endpoint, buf), "198.51.100.1:51820");
	CHECK_EQ(vwg_timespec_to_ms(&d->peers[0].last_handshake), 60);
	CHECK_EQ(d->peers[0].last_handshake.tv_sec, VWG_EPOCH_SEC);
	CHECK(d->peers[0].rx_bytes > 0);
	CHECK(d->has_private_key);
	CHECK_MEM(d->public_key, b->key, WL_KEY_LEN);
	CHECK_EQ(d->listen_port, 51820);
	vwg_device_free(d);
	CHECK_EQ(ping(b, a, 3), 0);
	run_to(s.net, s.n, 2, 2000);
	CHECK_EQ(a->got.n, 1);
	CHECK_EQ(a->got.at[0], 1020);
	CHECK_EQ(vwg_stats(a->dev)->handshakes_initiated, 1);
	CHECK_EQ(vwg_stats(b->dev)->handshakes_initiated, 0);
	pub2_free(&s);
}

TEST(no_handshake_without_the_peer_configured_and_retries_stop_after_90s)
{
	struct pub2 s;
	pub2_setup(&s, false);
	struct node *a = &s.n[0], *b = &s.n[1];
	CHECK_EQ(ping(a, b, 1), 0);
	run_to(s.net, s.n, 2, 200000);
	CHECK_EQ(b->got.n, 0);
	CHECK_EQ(vwg_peer_handshake(a->dev, b->key), ENGINE_NEVER);
	const struct vwg_stats *st = vwg_stats(a->dev);
	/* One every 5-5.33 s for 90 s: 17 or 18 retries plus the first. */
	CHECK_MSG(st->handshakes_initiated >= 17 && st->handshakes_initiated <= 19,
		  "%llu initiations", (unsigned long long)st->handshakes_initiated);
	CHECK_EQ(st->handshake_timeouts, 1);
	CHECK_EQ(vwg_stats(b->dev)->rx_unknown_peer, st->handshakes_initiated);
	CHECK_EQ(vwg_next_timer(a->dev), VNET_NEVER);
	/* Configured later, the next data handshakes at once. */
	add_peer(b, a, NULL, NULL);
	CHECK_EQ(ping(a, b, 2), 0);
	run_to(s.net, s.n, 2, 201000);
	CHECK_EQ(b->got.n, 1);
	pub2_free(&s);
}

TEST(nat_roaming_lets_the_public_side_answer)
{
	struct simrand rng;
	simrand_seed(&rng, harness_seed());
	struct vnet *net = vnet_new(harness_seed());
	int inet = vnet_add_segment(net, "internet", "0.0.0.0/0", 20);
	int lan = vnet_add_segment(net, "lan", "192.168.1.0/24", 1);
	struct vnet_nat_opts o;
	vnet_nat_opts_home(&o);
	o.port_preserving = false;
	int nat = vnet_add_nat(net, "nat", lan, "192.168.1.1", inet, "203.0.113.1", NULL, &o);
	int ha = vnet_add_host(net, "a", lan, "192.168.1.10", "192.168.1.1");
	int hb = vnet_add_host(net, "b", inet, "198.51.100.2", NULL);
	struct node n[2];
	node_init(&n[0], net, ha, &rng);
	node_init(&n[1], net, hb, &rng);
	add_peer(&n[0], &n[1], "198.51.100.2:51820", NULL);
	add_peer(&n[1], &n[0], "192.168.1.10:51820", NULL); /* unreachable from b */
	/* b cannot start: its initiations die on the internet. */
	CHECK_EQ(ping(&n[1], &n[0], 1), 0);
	run_to(net, n, 2, 3000);
	CHECK_EQ(vwg_peer_handshake(n[1].dev, n[0].key), ENGINE_NEVER);
	/* a can, and b then sends to a's mapped address. */
	CHECK_EQ(ping(&n[0], &n[1], 2), 0);
	run_to(net, n, 2, 4000);
	CHECK(vwg_peer_handshake(n[0].dev, n[1].key) != ENGINE_NEVER);
	struct wl_endpoint in = vnet_ep("192.168.1.10", 51820), out;
	CHECK(vnet_nat_mapping(net, nat, &in, &out));
	struct wg_device *d = vwg_snapshot(n[1].dev);
	CHECK(wl_addr_equal(&d->peers[0].endpoint.addr, &out.addr));
	CHECK_EQ(d->peers[0].endpoint.port, out.port);
	vwg_device_free(d);
	CHECK_EQ(ping(&n[1], &n[0], 3), 0);
	run_to(net, n, 2, 5000);
	/* b's queued ping (1) went once the session existed, then 3. */
	CHECK_EQ(n[0].got.n, 2);
	CHECK_EQ(n[0].got.first[n[0].got.n - 1], 3);
	free_nodes(n, 2);
	vnet_free(net);
}

TEST(cryptokey_routing_refuses_foreign_sources)
{
	struct pub2 s;
	pub2_setup(&s, true);
	struct node *a = &s.n[0], *b = &s.n[1];
	struct wl_addr other;
	CHECK(wl_addr_parse("10.99.0.7", &other));
	struct wl_addr b_tunnel;
	CHECK(wl_addr_parse("10.99.0.2", &b_tunnel));
	struct wl_cidr bt = { b_tunnel, 24 };
	vwg_add_address(b->dev, &bt);
	add_peer(a, b, "198.51.100.2:51820", "10.99.0.2/32");
	CHECK_EQ(send_inner(a, &other, &b_tunnel, 1), 0);
	run_to(s.net, s.n, 2, 1000);
	CHECK_EQ(b->got.n, 0);
	CHECK_EQ(vwg_stats(b->dev)->rx_cryptokey_refused, 1);
	/* Once b allows 10.99.0.7 from a, it passes. */
	add_peer(b, a, NULL, "10.99.0.7/32");
	CHECK_EQ(send_inner(a, &other, &b_tunnel, 2), 0);
	run_to(s.net, s.n, 2, 2000);
	CHECK_EQ(b->got.n, 1);
	/* Nothing routes to 10.1.0.0/16. */
	struct wl_addr nowhere;
	CHECK(wl_addr_parse("10.1.0.1", &nowhere));
	CHECK_EQ(send_inner(a, &a->auto_addr, &nowhere, 3), -EHOSTUNREACH);
	pub2_free(&s);
}

TEST(hub_forwards_between_leaves)
{
	struct simrand rng;
	simrand_seed(&rng, harness_seed());
	struct vnet *net = vnet_new(harness_seed());
	int inet = vnet_add_segment(net, "internet", "0.0.0.0/0", 20);
	int hh = vnet_add_host(net, "hub", inet, "198.51.100.1", NULL);
	int h1 = vnet_add_host(net, "l1", inet, "198.51.100.2", NULL);
	int h2 = vnet_add_host(net, "l2", inet, "198.51.100.3", NULL);
	struct node n[3];
	node_init(&n[0], net, hh, &rng);
	node_init(&n[1], net, h1, &rng);
	node_init(&n[2], net, h2, &rng);
	struct wl_cidr t;
	CHECK(wl_cidr_parse("10.99.0.1/24", &t));
	vwg_add_address(n[0].dev, &t);
	CHECK(wl_cidr_parse("10.99.0.2/24", &t));
	vwg_add_address(n[1].dev, &t);
	struct wl_addr l1t = t.addr;
	CHECK(wl_cidr_parse("10.99.0.3/24", &t));
	vwg_add_address(n[2].dev, &t);
	struct wl_addr l2t = t.addr;
	vwg_set_forwarding(n[0].dev, true);
	add_peer(&n[0], &n[1], NULL, "10.99.0.2/32");
	add_peer(&n[0], &n[2], NULL, "10.99.0.3/32");
	add_peer(&n[1], &n[0], "198.51.100.1:51820", "10.99.0.0/24");
	add_peer(&n[2], &n[0], "198.51.100.1:51820", "10.99.0.0/24");
	/* l2 has to have talked to the hub for the hub to know its endpoint. */
	CHECK_EQ(ping(&n[2], &n[0], 9), 0);
	run_to(net, n, 3, 1000);
	CHECK_EQ(send_inner(&n[1], &l1t, &l2t, 1), 0);
	run_to(net, n, 3, 2000);
	CHECK_EQ(n[2].got.n, 1);
	CHECK_MEM(n[2].got.via[0], n[0].key, WL_KEY_LEN);
	CHECK(wl_addr_equal(&n[2].got.src[0], &l1t));
	CHECK_EQ(vwg_stats(n[0].dev)->forwarded, 1);
	/* And back. */
	CHECK_EQ(send_inner(&n[2], &l2t, &l1t, 2), 0);
	run_to(net, n, 3, 3000);
	CHECK_EQ(n[1].got.n, 1);
	/* A leaf given the other leaf's tunnel IP routes there directly. */
	add_peer(&n[1], &n[2], "198.51.100.3:51820", "10.99.0.3/32");
	add_peer(&n[2], &n[1], NULL, "10.99.0.2/32");
	CHECK_EQ(send_inner(&n[1], &l1t, &l2t, 3), 0);
	run_to(net, n, 3, 4000);
	CHECK_EQ(n[2].got.n, 2);
	CHECK_MEM(n[2].got.via[1], n[1].key, WL_KEY_LEN);
	CHECK_EQ(vwg_stats(n[0].dev)->forwarded, 2);
	free_nodes(n, 3);
	vnet_free(net);
}

TEST(apply_semantics)
{
	struct pub2 s;
	pub2_setup(&s, false);
	struct node *a = &s.n[0], *b = &s.n[1];
	uint8_t k3[WL_KEY_LEN];
	memset(k3, 3, sizeof(k3));
	struct wl_cidr c[2];
	CHECK(wl_cidr_parse("10.0.0.9/24", &c[0]));
	CHECK(wl_cidr_parse("10.1.0.0/16", &c[1]));
	struct wg_peer_change ch[3] = { 0 };
	/* update-only on a missing peer: nothing */
	memcpy(ch[0].public_key, k3, WL_KEY_LEN);
	ch[0].flags = WG_PEER_UPDATE_ONLY | WG_PEER_SET_ENDPOINT;
	CHECK(wl_endpoint_parse("192.0.2.1:1", &ch[0].endpoint));
	CHECK_EQ(vwg_apply(a->dev, ch, 1), 0);
	struct wg_device *d = vwg_snapshot(a->dev);
	CHECK_EQ(d->n_peers, 1);
	vwg_device_free(d);
	/* create with a prefix (host bits masked), then add one, then replace */
	ch[0].flags = WG_PEER_SET_ENDPOINT | WG_PEER_SET_KEEPALIVE;
	ch[0].persistent_keepalive = 25;
	ch[0].n_allowed = 1;
	ch[0].allowed_ips = &c[0];
	ch[1] = ch[0];
	ch[1].flags = WG_PEER_UPDATE_ONLY;
	ch[1].allowed_ips = &c[1];
	CHECK_EQ(vwg_apply(a->dev, ch, 2), 0);
	d = vwg_snapshot(a->dev);
	CHECK_EQ(d->n_peers, 2);
	struct wg_peer *p = NULL;
	for (size_t i = 0; i < d->n_peers; i++)
		if (memcmp(d->peers[i].public_key, k3, WL_KEY_LEN) == 0)
			p = &d->peers[i];
	CHECK(p != NULL);
	if (p) {
		CHECK_EQ(p->n_allowed, 2);
		char buf[WL_CIDR_STR_MAX];
		CHECK_STR(wl_cidr_str(&p->allowed_ips[0], buf), "10.0.0.0/24");
		CHECK_EQ(p->persistent_keepalive, 25);
	}
	vwg_device_free(d);
	ch[1].flags = WG_PEER_REPLACE_ALLOWED_IPS;
	CHECK_EQ(vwg_apply(a->dev, &ch[1], 1), 0);
	d = vwg_snapshot(a->dev);
	for (size_t i = 0; i < d->n_peers; i++)
		if (memcmp(d->peers[i].public_key, k3, WL_KEY_LEN) == 0)
			CHECK_EQ(d->peers[i].n_allowed, 1);
	vwg_device_free(d);
	/* a prefix moves to the peer that gets it last */
	struct wg_peer_change mv = { .n_allowed = 1, .allowed_ips = &c[1] };
	memcpy(mv.public_key, b->key, WL_KEY_LEN);
	CHECK_EQ(vwg_apply(a->dev, &mv, 1), 0);
	d = vwg_snapshot(a->dev);
	for (size_t i = 0; i < d->n_peers; i++)
		CHECK_EQ(d->peers[i].n_allowed, memcmp(d->peers[i].public_key, k3, WL_KEY_LEN) == 0 ? 0 : 2);
	vwg_device_free(d);
	/* remove */
	struct wg_peer_change rm = { .flags = WG_PEER_REMOVE };
	memcpy(rm.public_key, k3, WL_KEY_LEN);
	CHECK_EQ(vwg_apply(a->dev, &rm, 1), 0);
	d = vwg_snapshot(a->dev);
	CHECK_EQ(d->n_peers, 1);
	vwg_device_free(d);
	/* garbage refuses the whole batch, nothing applied */
	struct wl_cidr bad = { .addr = { .family = AF_INET }, .prefix = 33 };
	struct wg_peer_change batch[2] = { rm, mv };
	memcpy(batch[0].public_key, b->key, WL_KEY_LEN); /* would remove b */
	batch[1].allowed_ips = &bad;
	CHECK_EQ(vwg_apply(a->dev, batch, 2), -EINVAL);
	d = vwg_snapshot(a->dev);
	CHECK_EQ(d->n_peers, 1);
	wg_device_free(d); /* same layout as the real backends' snapshots */
	/* a removal ignores everything else in its change */
	batch[0].allowed_ips = &bad;
	batch[0].n_allowed = 1;
	CHECK_EQ(vwg_apply(a->dev, batch, 1), 0);
	d = vwg_snapshot(a->dev);
	CHECK_EQ(d->n_peers, 0);
	vwg_device_free(d);
	pub2_free(&s);
}

TEST(passive_keepalive_and_session_expiry)
{
	struct pub2 s;
	pub2_setup(&s, true);
	struct node *a = &s.n[0], *b = &s.n[1];
	CHECK_EQ(ping(a, b, 1), 0);
	run_to(s.net, s.n, 2, 1000);
	CHECK_EQ(b->got.n, 1);
	/* b received data and sent nothing back: a keepalive 10 s later. */
	CHECK_EQ(vwg_stats(b->dev)->keepalives_sent, 0);
	run_to(s.net, s.n, 2, 10059);
	CHECK_EQ(vwg_stats(b->dev)->keepalives_sent, 0);
	run_to(s.net, s.n, 2, 10061);
	CHECK_EQ(vwg_stats(b->dev)->keepalives_sent, 1);
	/* Only the one: a keepalive is not data. */
	run_to(s.net, s.n, 2, 60000);
	CHECK_EQ(vwg_stats(b->dev)->keepalives_sent, 1);
	CHECK_EQ(vwg_stats(a->dev)->keepalives_sent, 0); /* its queued ping confirmed */
	/* After 180 s the session is dead; new data handshakes again. */
	run_to(s.net, s.n, 2, 200000);
	CHECK_EQ(ping(b, a, 2), 0);
	run_to(s.net, s.n, 2, 201000);
	CHECK_EQ(a->got.n, 1);
	CHECK_EQ(vwg_stats(b->dev)->handshakes_initiated, 1);
	CHECK(vwg_peer_handshake(a->dev, b->key) > 200000);
	pub2_free(&s);
}

TEST(rekey_after_120s_when_sending)
{
	struct pub2 s;
	pub2_setup(&s, true);
	struct node *a = &s.n[0], *b = &s.n[1];
	CHECK_EQ(ping(a, b, 0), 0);
	run_to(s.net, s.n, 2, 1000);
	for (int t = 10; t < 300; t += 10) {
		CHECK_EQ(ping(a, b, (uint8_t)t), 0);
		CHECK_EQ(ping(b, a, (uint8_t)t), 0);
		run_to(s.net, s.n, 2, (t + 10) * 1000);
	}
	CHECK_EQ(a->got.n, 29);
	CHECK_EQ(b->got.n, 30);
	/* The initiator (a) rekeys on the first send after 120 s: at 130 s
	 * and 260 s. */
	CHECK_EQ(vwg_stats(a->dev)->handshakes_initiated, 3);
	CHECK_EQ(vwg_stats(b->dev)->handshakes_initiated, 0);
	int64_t hs = vwg_peer_handshake(a->dev, b->key);
	CHECK_MSG(hs >= 260000 && hs < 261000, "last handshake %lld", (long long)hs);
	pub2_free(&s);
}

TEST(silence_after_sending_starts_a_new_handshake_and_persistent_keepalive_holds_nat)
{
	struct pub2 s;
	pub2_setup(&s, true);
	struct node *a = &s.n[0], *b = &s.n[1];
	CHECK_EQ(ping(a, b, 1), 0);
	run_to(s.net, s.n, 2, 500);
	CHECK_EQ(ping(b, a, 1), 0); /* a heard back: its 15 s timer is off */
	run_to(s.net, s.n, 2, 1000);
	vnet_block(s.net, "198.51.100.1", "198.51.100.2");
	CHECK_EQ(ping(a, b, 2), 0);
	/* Sent at 1 s, nothing back: a new handshake at 16-16.33 s. */
	run_to(s.net, s.n, 2, 15990);
	CHECK_EQ(vwg_stats(a->dev)->handshakes_initiated, 1);
	run_to(s.net, s.n, 2, 16400);
	CHECK_EQ(vwg_stats(a->dev)->handshakes_initiated, 2);
	run_to(s.net, s.n, 2, 120000);
	CHECK_EQ(vwg_stats(a->dev)->handshake_timeouts, 1);
	pub2_free(&s);

	/* A leaf behind a NAT with a 30 s idle timeout stays reachable with a
	 * 25 s persistent keepalive. */
	struct simrand rng;
	simrand_seed(&rng, harness_seed());
	struct vnet *net = vnet_new(harness_seed());
	int inet = vnet_add_segment(net, "internet", "0.0.0.0/0", 20);
	int lan = vnet_add_segment(net, "lan", "192.168.1.0/24", 1);
	struct vnet_nat_opts o;
	vnet_nat_opts_home(&o);
	o.idle_timeout_ms = 30000;
	vnet_add_nat(net, "nat", lan, "192.168.1.1", inet, "203.0.113.1", NULL, &o);
	int ha = vnet_add_host(net, "a", lan, "192.168.1.10", "192.168.1.1");
	int hb = vnet_add_host(net, "b", inet, "198.51.100.2", NULL);
	struct node n[2];
	node_init(&n[0], net, ha, &rng);
	node_init(&n[1], net, hb, &rng);
	add_peer(&n[0], &n[1], "198.51.100.2:51820", NULL);
	add_peer(&n[1], &n[0], NULL, NULL);
	struct wg_peer_change ka = { .flags = WG_PEER_SET_KEEPALIVE | WG_PEER_UPDATE_ONLY,
				     .persistent_keepalive = 25 };
	memcpy(ka.public_key, n[1].key, WL_KEY_LEN);
	CHECK_EQ(vwg_apply(n[0].dev, &ka, 1), 0);
	run_to(net, n, 2, 300000);
	CHECK_EQ(ping(&n[1], &n[0], 1), 0);
	run_to(net, n, 2, 301000);
	CHECK_EQ(n[0].got.n, 1);
	CHECK_EQ(vnet_stats(net)->nat_no_mapping, 0);
	free_nodes(n, 2);
	vnet_free(net);
}

static void ignore_udp(void *ctx, int node, const struct wl_endpoint *local,
		       const struct wl_endpoint *remote, const uint8_t *data, size_t len)
{
}

/* The device through a wgdev handle, as the daemon sees a real one: the
 * handshake, counters and roamed endpoint the data plane wrote are in the
 * snapshot; a peer removed and added again starts without a session; a
 * new listen port moves the device's socket; keepalive turned on sends
 * one at once. */
TEST(wgdev_handle_sees_the_data_plane)
{
	struct pub2 s;
	pub2_setup(&s, true);
	struct node *a = &s.n[0], *b = &s.n[1];
	struct wgdev *wg = NULL;
	CHECK_EQ(vwg_open_wgdev(b->dev, &wg), 0);
	CHECK(wg != NULL);
	if (!wg)
		return;
	CHECK_EQ(wgdev_backend_of(wg), WGDEV_MEMORY);
	CHECK_EQ(ping(a, b, 1), 0);
	run_to(s.net, s.n, 2, 1000);
	struct wg_device *d = NULL;
	CHECK_EQ(wgdev_get(wg, &d), 0);
	CHECK(d && d->n_peers == 1);
	if (d && d->n_peers == 1) {
		CHECK_EQ(vwg_timespec_to_ms(&d->peers[0].last_handshake), 60);
		CHECK(d->peers[0].rx_bytes > 0 && d->peers[0].tx_bytes > 0);
		char buf[WL_ENDPOINT_STR_MAX];
		CHECK_STR(wl_endpoint_str(&d->peers[0].endpoint, buf), "198.51.100.1:51820");
		CHECK_EQ(d->ifindex, 1000 + 1);
	}
	wg_device_free(d);
	CHECK(wg_mem_find(vwg_model(b->dev), a->key) != NULL);

	/* b drops a and takes it back: no session, no handshake time, no
	 * endpoint, so what a still sends on its old session is refused. */
	struct wg_peer_change ch[2] = { { .flags = WG_PEER_REMOVE }, { .flags = 0 } };
	memcpy(ch[0].public_key, a->key, WL_KEY_LEN);
	memcpy(ch[1].public_key, a->key, WL_KEY_LEN);
	struct wl_cidr allowed = { a->auto_addr, 128 };
	ch[1].n_allowed = 1;
	ch[1].allowed_ips = &allowed;
	CHECK_EQ(wgdev_apply(wg, ch, 2), 0);
	CHECK_EQ(vwg_peer_handshake(b->dev, a->key), ENGINE_NEVER);
	CHECK_EQ(ping(b, a, 2), -EDESTADDRREQ);
	uint64_t responded = vwg_stats(b->dev)->handshakes_responded;
	CHECK_EQ(ping(a, b, 3), 0); /* on a's old session: b refuses it */
	run_to(s.net, s.n, 2, 2000);
	CHECK_EQ(b->got.n, 1);
	CHECK(vwg_stats(b->dev)->rx_bad_session > 0);
	CHECK_EQ(vwg_stats(b->dev)->handshakes_responded, responded);

	/* A new port: the device answers there, and the old one is free. */
	CHECK_EQ(wgdev_set_device(wg, NULL, 51999), 0);
	CHECK_EQ(vwg_listen_port(b->dev), 51999);
	CHECK_EQ(vnet_bind(s.net, vwg_node(b->dev), 51820, ignore_udp, NULL), 0);
	vnet_unbind(s.net, vwg_node(b->dev), 51820);
	CHECK_EQ(wgdev_set_device(wg, NULL, 51999), 0); /* unchanged: fine */
	/* a port in use on the host is refused, and nothing changes */
	CHECK_EQ(vnet_bind(s.net, vwg_node(b->dev), 52000, ignore_udp, NULL), 0);
	CHECK_EQ(wgdev_set_device(wg, NULL, 52000), -EADDRINUSE);
	CHECK_EQ(vwg_listen_port(b->dev), 51999);
	vnet_unbind(s.net, vwg_node(b->dev), 52000);
	struct wg_peer_change ep = { .flags = WG_PEER_SET_ENDPOINT | WG_PEER_UPDATE_ONLY };
	memcpy(ep.public_key, b->key, WL_KEY_LEN);
	CHECK(wl_endpoint_parse("198.51.100.2:51999", &ep.endpoint));
	CHECK_EQ(vwg_apply(a->dev, &ep, 1), 0);
	run_to(s.net, s.n, 2, 200000); /* a's session is dead by now */
	CHECK_EQ(ping(a, b, 4), 0);
	run_to(s.net, s.n, 2, 201000);
	CHECK_EQ(b->got.n, 2);
	CHECK_EQ(b->got.first[1], 4);

	/* Turning keepalive on sends one at once; setting it again while on
	 * does not (WireGuard's rule, kernel and wireguard-go alike). */
	struct wg_peer_change ka = { .flags = WG_PEER_SET_KEEPALIVE | WG_PEER_UPDATE_ONLY,
				     .persistent_keepalive = 25 };
	memcpy(ka.public_key, a->key, WL_KEY_LEN);
	uint64_t sent = vwg_stats(b->dev)->keepalives_sent;
	CHECK_EQ(wgdev_apply(wg, &ka, 1), 0);
	CHECK_EQ(vwg_stats(b->dev)->keepalives_sent, sent + 1);
	ka.persistent_keepalive = 20;
	CHECK_EQ(wgdev_apply(wg, &ka, 1), 0);
	CHECK_EQ(vwg_stats(b->dev)->keepalives_sent, sent + 1);
	ka.persistent_keepalive = 0;
	CHECK_EQ(wgdev_apply(wg, &ka, 1), 0);
	ka.persistent_keepalive = 25;
	CHECK_EQ(wgdev_apply(wg, &ka, 1), 0);
	CHECK_EQ(vwg_stats(b->dev)->keepalives_sent, sent + 2);
	wgdev_close(wg);
	pub2_free(&s);
}

/* Every datagram on the internet duplicated (vnet_segment_set_duplicate,
 * with jitter so the copies arrive apart): the handshake still completes,
 * and each data message reaches the inner stack and the rx counter once,
 * as WireGuard's anti-replay window has it; the copies are counted as
 * replayed. */
TEST(duplicated_datagrams_arrive_once)
{
	struct pub2 s;
	pub2_setup(&s, true);
	vnet_segment_set_duplicate(s.net, s.inet, 1000000);
	vnet_segment_set_jitter(s.net, s.inet, 10);
	for (uint8_t i = 0; i < 10; i++) {
		CHECK_EQ(ping(&s.n[0], &s.n[1], i), 0);
		run_to(s.net, s.n, 2, vnet_now(s.net) + 100);
	}
	run_to(s.net, s.n, 2, vnet_now(s.net) + 1000);
	CHECK_EQ(s.n[1].got.n, 10);
	for (size_t i = 0; i < s.n[1].got.n && i < 10; i++)
		CHECK_EQ(s.n[1].got.first[i], i);
	CHECK(vwg_stats(s.n[1].dev)->rx_replayed >= 9);
	CHECK(vnet_stats(s.net)->duplicated > 0);
	pub2_free(&s);
}
