#include "core_fixture.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "wire/autoaddr.h"
#include "wire/pack.h"
#include "wire/packet.h"

const struct engine_timing *tdefault_timing(void)
{
	static struct engine_timing t;
	engine_timing_default(&t);
	return &t;
}

void tkey(unsigned i, uint8_t priv[32], uint8_t pub[32])
{
	if (sodium_init() < 0)
		abort();
	memset(priv, 0, 32);
	priv[0] = (uint8_t)(i * 8 + 8);
	priv[1] = (uint8_t)(i >> 8);
	priv[2] = 0x5a;
	priv[31] = 0x40;
	crypto_scalarmult_base(pub, priv);
}

/* ---- the driver's host: what the test describes ---- */

static int64_t host_wall_ms(void *ctx)
{
	const struct tnode *n = ctx;
	return TN_EPOCH_MS + n->now;
}

/* Only building an engine draws random bytes, and the fixture builds its
 * engines itself (tnode_start). */
static void host_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	memset(buf, 0, len);
	CHECK_MSG(false, "the driver asked the fixture for randomness");
}

static int host_list_links(void *ctx, struct netif_link **out, size_t *n_out)
{
	const struct tnode *n = ctx;
	struct netif_link *l = calloc(n->n_ifaces + 1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < n->n_ifaces; i++) {
		l[i].index = n->ifaces[i].ifindex;
		snprintf(l[i].name, sizeof(l[i].name), "%s", n->ifaces[i].name);
		l[i].up = n->ifaces[i].up;
	}
	*out = l;
	*n_out = n->n_ifaces;
	return 0;
}

static int host_list_addrs(void *ctx, struct netif_addr **out, size_t *n_out)
{
	const struct tnode *n = ctx;
	struct netif_addr *a = calloc(TN_IFACES * TN_ADDRS, sizeof(*a));
	if (!a)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < n->n_ifaces; i++)
		for (size_t j = 0; j < n->ifaces[i].n_addrs; j++)
			a[k++] = (struct netif_addr){ .ifindex = n->ifaces[i].ifindex,
						      .addr = n->ifaces[i].addrs[j].addr,
						      .prefix = n->ifaces[i].addrs[j].prefix };
	*out = a;
	*n_out = k;
	return 0;
}

/* Tests read what was sent from n->act; nothing travels by itself. The
 * send "fails" with n->send_err when a test sets one. */
static int host_send(void *ctx, const struct wl_addr *dst, uint16_t port, const uint8_t *buf,
		     size_t len)
{
	const struct tnode *n = ctx;
	(void)dst, (void)port, (void)buf, (void)len;
	return n->send_err;
}

static size_t host_resolve(void *ctx, const struct wl_config_endpoint *ep, struct wl_endpoint *out,
			   size_t cap)
{
	(void)ctx, (void)ep, (void)out, (void)cap;
	return 0; /* the engine gets its endpoints resolved in n->cfg */
}

static void host_event(void *ctx, const struct engine_event *ev)
{
	(void)ctx, (void)ev; /* tests read n->act->events */
}

/* The tunnel interface's counters: none (no sensing) until a test sets
 * n->tun_counters and moves n->tun_tx. */
static int host_tunnel_bytes(void *ctx, uint64_t *rx, uint64_t *tx)
{
	const struct tnode *n = ctx;
	if (!n->tun_counters)
		return -1;
	*rx = n->tun_rx;
	*tx = n->tun_tx;
	return 0;
}

static const struct driver_host_ops host_ops = {
	.wall_ms = host_wall_ms,
	.random = host_random,
	.list_links = host_list_links,
	.list_addrs = host_list_addrs,
	.send = host_send,
	.resolve = host_resolve,
	.event = host_event,
	.tunnel_bytes = host_tunnel_bytes,
};

/* ---- setting up ---- */

void tnode_config(struct tnode *n, unsigned i)
{
	memset(n, 0, sizeof(*n));
	tkey(i, n->priv, n->pub);
	engine_config_init(&n->cfg);
	memcpy(n->cfg.private_key, n->priv, 32);
	n->mem = wg_mem_new("wg0", 100);
	if (n->mem)
		wg_mem_check_refresh(n->mem, true);
	CHECK(n->mem != NULL);
	CHECK_EQ(wgdev_open_memory(n->mem, &n->wg), 0);
	CHECK_EQ(wgdev_set_device(n->wg, n->priv, 51820), 0);
}

void tnode_start(struct tnode *n, int64_t now)
{
	uint8_t seed[32] = { 0 };
	memcpy(seed, n->pub, 32);
	seed[0] ^= 0xa5;
	n->e = engine_new(&n->cfg, seed, now);
	CHECK(n->e != NULL);
	n->wcfg = config_new();
	CHECK(n->wcfg != NULL);
	struct driver_host host = { &host_ops, n, n->wg };
	CHECK_EQ(driver_new_with_engine(&host, n->e, n->wcfg, &n->drv), 0);
}

void tnode_stop(struct tnode *n)
{
	if (n->drv)
		driver_free(n->drv); /* with the engine and wcfg */
	else
		engine_free(n->e);
	n->drv = NULL;
	n->e = NULL;
	n->wcfg = NULL;
	n->act = NULL;
}

void tnode_free(struct tnode *n)
{
	tnode_stop(n);
	wgdev_close(n->wg);
	wg_mem_free(n->mem);
	n->wg = NULL;
	n->mem = NULL;
}

static void apply1(struct tnode *n, const struct wg_peer_change *c)
{
	CHECK_EQ(wgdev_apply(n->wg, c, 1), 0);
}

struct wg_peer *tnode_find(struct tnode *n, const uint8_t pub[32])
{
	return wg_mem_find(n->mem, pub);
}

void tnode_handshake(struct tnode *n, const uint8_t pub[32], int64_t t)
{
	struct wg_peer *p = tnode_find(n, pub);
	CHECK(p != NULL);
	if (!p)
		return;
	p->last_handshake = (struct timespec){ 0, 0 };
	if (t != ENGINE_NEVER) {
		int64_t ms = TN_EPOCH_MS + t;
		p->last_handshake.tv_sec = (time_t)(ms / 1000);
		p->last_handshake.tv_nsec = (long)(ms % 1000) * 1000000L;
	}
	wg_mem_peer_touch(p);
}

void tnode_handshakes(struct tnode *n, int64_t t)
{
	for (size_t i = 0; i < wg_mem_peer_count(n->mem); i++)
		tnode_handshake(n, wg_mem_peer_at(n->mem, i)->public_key, t);
}

struct wg_peer *tnode_dev_peer(struct tnode *n, const uint8_t pub[32], const char *endpoint,
			       int64_t hs)
{
	struct wg_peer_change c = { 0 };
	memcpy(c.public_key, pub, 32);
	if (endpoint) {
		c.flags |= WG_PEER_SET_ENDPOINT;
		CHECK(wl_endpoint_parse(endpoint, &c.endpoint));
	}
	apply1(n, &c);
	tnode_handshake(n, pub, hs);
	return tnode_find(n, pub);
}

void tnode_allow(struct tnode *n, const uint8_t pub[32], const char *cidr)
{
	struct wl_cidr ip;
	CHECK(wl_cidr_parse(cidr, &ip));
	struct wg_peer_change c = { .flags = WG_PEER_UPDATE_ONLY, .n_allowed = 1, .allowed_ips = &ip };
	memcpy(c.public_key, pub, 32);
	apply1(n, &c);
}

void tnode_remove_peer(struct tnode *n, const uint8_t pub[32])
{
	struct wg_peer_change c = { .flags = WG_PEER_REMOVE };
	memcpy(c.public_key, pub, 32);
	apply1(n, &c);
}

bool tnode_has_allowed(const struct wg_peer *p, const char *cidr)
{
	struct wl_cidr c;
	if (!p || !wl_cidr_parse(cidr, &c))
		return false;
	wl_cidr_mask(&c); /* WireGuard keeps prefixes masked */
	for (size_t i = 0; i < p->n_allowed; i++)
		if (wl_cidr_equal(&p->allowed_ips[i], &c))
			return true;
	return false;
}

void tnode_iface(struct tnode *n, const char *name, bool up, bool report, const char *const *addrs)
{
	size_t i = n->n_ifaces++;
	struct engine_iface *f = &n->ifaces[i];
	snprintf(n->ifnames[i], sizeof(n->ifnames[i]), "%s", name);
	f->name = n->ifnames[i];
	f->ifindex = (uint32_t)i + 1;
	f->up = up;
	f->report = report;
	f->addrs = n->ifaddrs[i];
	for (size_t j = 0; addrs && addrs[j] && j < TN_ADDRS; j++) {
		CHECK(wl_cidr_parse(addrs[j], &n->ifaddrs[i][j]));
		f->n_addrs++;
	}
}

/* ifaces[].report = false means HideIfaces lists it: the driver applies
 * the configuration's filter, as in the daemon. */
static void sync_hidden(struct tnode *n)
{
	struct wl_config *c = n->wcfg;
	for (size_t i = 0; i < c->n_hide_ifaces; i++)
		free(c->hide_ifaces[i]);
	c->n_hide_ifaces = 0;
	if (!c->hide_ifaces)
		c->hide_ifaces = calloc(TN_IFACES, sizeof(*c->hide_ifaces));
	CHECK(c->hide_ifaces != NULL);
	for (size_t i = 0; i < n->n_ifaces && c->hide_ifaces; i++)
		if (!n->ifaces[i].report)
			c->hide_ifaces[c->n_hide_ifaces++] = strdup(n->ifaces[i].name);
}

/* WireGuard counts what it sends a peer: each datagram of the tick, in a
 * data message (IPv6 and UDP headers, padding, WireGuard's own 32 bytes)
 * — the engine tells a try that the device sent something by this. */
static void count_sent(struct tnode *n)
{
	for (size_t i = 0; !n->scripted_tx && n->act && i < n->act->n_send; i++) {
		const struct engine_datagram *d = &n->act->send[i];
		struct wg_peer *p = tnode_find(n, d->peer);
		if (p && p->has_endpoint) {
			p->tx_bytes += d->len + 40 + 8 + 15 + 32;
			wg_mem_peer_touch(p);
		}
	}
}

void tnode_tick(struct tnode *n, int64_t now)
{
	n->now = now;
	sync_hidden(n);
	CHECK_EQ(driver_tick(n->drv, now), 0);
	n->act = driver_last_actions(n->drv);
	count_sent(n);
}

int tdeliver(struct tnode *from, struct tnode *to, int64_t now)
{
	int k = 0;
	for (size_t i = 0; from->act && i < from->act->n_send; i++) {
		const struct engine_datagram *d = &from->act->send[i];
		if (d->kind != ENGINE_DG_FACTS || memcmp(d->peer, to->pub, 32) != 0)
			continue;
		struct wl_addr src;
		autoaddr_of(from->pub, &src);
		CHECK_EQ(driver_receive(to->drv, now, &src, d->data, d->len), ENGINE_RX_OK);
		k++;
	}
	return k;
}

int tsent_to(const struct tnode *n, const uint8_t pub[32], int *facts, bool *has_alive)
{
	int k = 0;
	if (facts)
		*facts = 0;
	if (has_alive)
		*has_alive = false;
	for (size_t i = 0; n->act && i < n->act->n_send; i++) {
		const struct engine_datagram *d = &n->act->send[i];
		if (d->kind != ENGINE_DG_FACTS || memcmp(d->peer, pub, 32) != 0)
			continue;
		k++;
		struct packet pk;
		const char *why;
		CHECK(d->len <= WIRE_MAX_DATAGRAM);
		CHECK(packet_parse(d->data, d->len, &pk, &why));
		struct cursor c;
		struct fact f;
		packet_facts_begin(&pk, &c);
		while (packet_next_fact(&c, &f, &why) == 1) {
			if (f.attr == ATTR_ALIVE) {
				if (has_alive)
					*has_alive = true;
			} else if (facts) {
				(*facts)++;
			}
		}
	}
	return k;
}

struct find {
	uint8_t attr;
	const uint8_t *subject;
	const char *value;
	bool found;
};

static void find_cb(void *ctx, const struct fact *f, int64_t expires, bool local)
{
	(void)expires;
	(void)local;
	struct find *q = ctx;
	char buf[FACT_VALUE_STR_MAX];
	if (f->attr != q->attr || memcmp(f->subject, q->subject, 32) != 0)
		return;
	if (!q->value || strcmp(fact_value_str(f, buf, sizeof(buf)), q->value) == 0)
		q->found = true;
}

bool thas_fact(const struct engine *e, uint8_t attr, const uint8_t subject[32], const char *value)
{
	struct find q = { attr, subject, value, false };
	engine_foreach_fact(e, find_cb, &q);
	return q.found;
}

bool thas_event(const struct tnode *n, enum engine_event_kind kind, const uint8_t *peer)
{
	for (size_t i = 0; n->act && i < n->act->n_events; i++) {
		const struct engine_event *ev = &n->act->events[i];
		if (ev->kind == kind && (!peer || (ev->has_peer && memcmp(ev->peer, peer, 32) == 0)))
			return true;
	}
	return false;
}

const struct engine_change *tchange(const struct tnode *n, const uint8_t pub[32])
{
	for (size_t i = 0; n->act && i < n->act->n_changes; i++)
		if (memcmp(n->act->changes[i].key, pub, 32) == 0)
			return &n->act->changes[i];
	return NULL;
}

size_t tseal(const uint8_t from_priv[32], const uint8_t to_pub[32], const struct fact *facts,
	     size_t n, uint8_t *out, size_t cap)
{
	uint8_t from_pub[32], key[32], nonce[GROUP_NONCE_LEN] = { 7 };
	crypto_scalarmult_base(from_pub, from_priv);
	if (!group_shared_key(from_priv, to_pub, key))
		return 0;
	struct packer pk;
	packer_reset(&pk);
	for (size_t i = 0; i < n; i++)
		if (!packer_add(&pk, &facts[i]))
			return 0;
	return group_seal(out, cap, from_pub, key, nonce, pk.inner, pk.len);
}

enum engine_rx treceive(struct tnode *n, int64_t now, const uint8_t from_pub[32],
			const uint8_t *buf, size_t len)
{
	struct wl_addr src;
	autoaddr_of(from_pub, &src);
	return driver_receive(n->drv, now, &src, buf, len);
}

int tsent_about(const struct tnode *n, const uint8_t to[32], const uint8_t *subject, uint8_t attr)
{
	return tsent_value(n, to, subject, attr, NULL);
}

int tsent_value(const struct tnode *n, const uint8_t to[32], const uint8_t *subject, uint8_t attr,
		const char *value)
{
	int k = 0;
	for (size_t i = 0; n->act && i < n->act->n_send; i++) {
		const struct engine_datagram *d = &n->act->send[i];
		if (d->kind != ENGINE_DG_FACTS || memcmp(d->peer, to, 32) != 0)
			continue;
		struct packet pk;
		const char *why;
		if (!packet_parse(d->data, d->len, &pk, &why))
			continue;
		struct cursor c;
		struct fact f;
		packet_facts_begin(&pk, &c);
		char v[FACT_VALUE_STR_MAX];
		while (packet_next_fact(&c, &f, &why) == 1)
			if ((!attr || f.attr == attr) && (!subject || memcmp(f.subject, subject, 32) == 0) &&
			    (!value || strcmp(fact_value_str(&f, v, sizeof(v)), value) == 0))
				k++;
	}
	return k;
}

int tprobes_to(const struct tnode *n, const uint8_t pub[32], uint32_t *last_seq)
{
	int k = 0;
	if (last_seq)
		*last_seq = 0;
	for (size_t i = 0; n->act && i < n->act->n_send; i++) {
		const struct engine_datagram *d = &n->act->send[i];
		if (d->kind != ENGINE_DG_PROBE || memcmp(d->peer, pub, 32) != 0)
			continue;
		k++;
		CHECK_EQ(d->len, ENGINE_PROBE_LEN);
		if (last_seq)
			*last_seq = (uint32_t)d->data[1] << 24 | (uint32_t)d->data[2] << 16 |
				    (uint32_t)d->data[3] << 8 | d->data[4];
	}
	return k;
}

size_t tprobe(uint8_t type, uint32_t seq, const uint8_t from[32], uint8_t out[ENGINE_PROBE_LEN])
{
	out[0] = type;
	out[1] = (uint8_t)(seq >> 24);
	out[2] = (uint8_t)(seq >> 16);
	out[3] = (uint8_t)(seq >> 8);
	out[4] = (uint8_t)seq;
	memcpy(out + 5, from, 32);
	return ENGINE_PROBE_LEN;
}

enum engine_rx treceive_probe(struct tnode *n, int64_t now, const uint8_t from_pub[32],
			      const uint8_t *buf, size_t len)
{
	struct wl_addr src;
	autoaddr_of(from_pub, &src);
	return driver_receive_probe(n->drv, now, &src, buf, len);
}

void tnode_traffic(struct tnode *n, const uint8_t pub[32], uint64_t rx, uint64_t tx)
{
	struct wg_peer *p = tnode_find(n, pub);
	CHECK(p != NULL);
	if (p) {
		p->rx_bytes += rx;
		p->tx_bytes += tx;
		wg_mem_peer_touch(p);
	}
}
