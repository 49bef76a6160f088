#include "core_fixture.h"

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

void tnode_config(struct tnode *n, unsigned i)
{
	memset(n, 0, sizeof(*n));
	tkey(i, n->priv, n->pub);
	engine_config_init(&n->cfg);
	memcpy(n->cfg.private_key, n->priv, 32);
	snprintf(n->dev.name, sizeof(n->dev.name), "wg0");
	n->dev.listen_port = 51820;
	memcpy(n->dev.public_key, n->pub, 32);
	n->dev.peers = n->peers;
	engine_actions_init(&n->act);
}

void tnode_start(struct tnode *n, int64_t now)
{
	uint8_t seed[32] = { 0 };
	memcpy(seed, n->pub, 32);
	seed[0] ^= 0xa5;
	n->e = engine_new(&n->cfg, seed, now);
	CHECK(n->e != NULL);
}

void tnode_free(struct tnode *n)
{
	engine_free(n->e);
	engine_actions_free(&n->act);
	n->e = NULL;
}

int tnode_index(struct tnode *n, const uint8_t pub[32])
{
	for (size_t i = 0; i < n->dev.n_peers; i++)
		if (memcmp(n->peers[i].public_key, pub, 32) == 0)
			return (int)i;
	return -1;
}

struct wg_peer *tnode_find(struct tnode *n, const uint8_t pub[32])
{
	int i = tnode_index(n, pub);
	return i < 0 ? NULL : &n->peers[i];
}

static struct wg_peer *new_peer(struct tnode *n, const uint8_t pub[32])
{
	if (n->dev.n_peers == TN_PEERS)
		abort();
	size_t i = n->dev.n_peers++;
	struct wg_peer *p = &n->peers[i];
	memset(p, 0, sizeof(*p));
	memcpy(p->public_key, pub, 32);
	p->allowed_ips = n->allowed[i];
	n->hs[i] = ENGINE_NEVER;
	return p;
}

struct wg_peer *tnode_dev_peer(struct tnode *n, const uint8_t pub[32], const char *endpoint,
			       int64_t hs)
{
	struct wg_peer *p = tnode_find(n, pub);
	if (!p)
		p = new_peer(n, pub);
	if (endpoint) {
		p->has_endpoint = wl_endpoint_parse(endpoint, &p->endpoint);
		CHECK(p->has_endpoint);
	}
	n->hs[p - n->peers] = hs;
	return p;
}

void tnode_allow(struct wg_peer *p, const char *cidr)
{
	struct wl_cidr c;
	CHECK(wl_cidr_parse(cidr, &c));
	if (p->n_allowed < TN_ALLOWED)
		p->allowed_ips[p->n_allowed++] = c;
}

bool tnode_has_allowed(const struct wg_peer *p, const char *cidr)
{
	struct wl_cidr c;
	if (!wl_cidr_parse(cidr, &c))
		return false;
	for (size_t i = 0; i < p->n_allowed; i++)
		if (p->allowed_ips[i].prefix == c.prefix &&
		    wl_addr_equal(&p->allowed_ips[i].addr, &c.addr))
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

void tnode_tick(struct tnode *n, int64_t now)
{
	engine_actions_clear(&n->act);
	struct engine_peer_view views[TN_PEERS];
	for (size_t i = 0; i < n->dev.n_peers; i++) {
		const struct wg_peer *p = &n->peers[i];
		views[i] = (struct engine_peer_view){ .has_endpoint = p->has_endpoint,
						      .endpoint = p->endpoint,
						      .handshake_ms = n->hs[i],
						      .rx_bytes = p->rx_bytes,
						      .tx_bytes = p->tx_bytes,
						      .n_allowed = p->n_allowed,
						      .allowed_ips = p->allowed_ips };
		memcpy(views[i].key, p->public_key, 32);
	}
	struct engine_inputs in = {
		.dev = { .name = n->dev.name, .listen_port = n->dev.listen_port,
			 .n_peers = n->dev.n_peers, .peers = views },
		.n_ifaces = n->n_ifaces,
		.ifaces = n->ifaces,
	};
	engine_tick(n->e, now, &in, &n->act);
}

static void apply_one(struct tnode *n, const struct engine_change *c)
{
	int i = tnode_index(n, c->key);
	if (c->flags & ENGINE_CHANGE_REMOVE) {
		if (i < 0)
			return;
		/* Keep slots stable: move the last peer into the hole. */
		size_t last = n->dev.n_peers - 1;
		if ((size_t)i != last) {
			n->peers[i] = n->peers[last];
			memcpy(n->allowed[i], n->allowed[last], sizeof(n->allowed[i]));
			n->peers[i].allowed_ips = n->allowed[i];
			n->hs[i] = n->hs[last];
		}
		n->dev.n_peers--;
		return;
	}
	if (i < 0) {
		if (c->flags & ENGINE_CHANGE_UPDATE_ONLY)
			return;
		i = (int)(new_peer(n, c->key) - n->peers);
	}
	struct wg_peer *p = &n->peers[i];
	if (c->flags & ENGINE_CHANGE_REPLACE_ALLOWED)
		p->n_allowed = 0;
	for (size_t k = 0; k < c->n_allowed; k++) {
		char buf[WL_CIDR_STR_MAX];
		if (!tnode_has_allowed(p, wl_cidr_str(&c->allowed_ips[k], buf)))
			p->allowed_ips[p->n_allowed < TN_ALLOWED ? p->n_allowed++ : TN_ALLOWED - 1] =
				c->allowed_ips[k];
	}
	if (c->flags & ENGINE_CHANGE_SET_ENDPOINT) {
		p->has_endpoint = true;
		p->endpoint = c->endpoint;
	}
}

void tnode_apply(struct tnode *n)
{
	for (size_t i = 0; i < n->act.n_changes; i++)
		apply_one(n, &n->act.changes[i]);
}

int tdeliver(struct tnode *from, struct tnode *to, int64_t now)
{
	int k = 0;
	for (size_t i = 0; i < from->act.n_send; i++) {
		const struct engine_datagram *d = &from->act.send[i];
		if (memcmp(d->peer, to->pub, 32) != 0)
			continue;
		struct wl_addr src;
		autoaddr_of(from->pub, &src);
		CHECK_EQ(engine_receive(to->e, now, &src, d->data, d->len), ENGINE_RX_OK);
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
	for (size_t i = 0; i < n->act.n_send; i++) {
		const struct engine_datagram *d = &n->act.send[i];
		if (memcmp(d->peer, pub, 32) != 0)
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
	for (size_t i = 0; i < n->act.n_events; i++) {
		const struct engine_event *ev = &n->act.events[i];
		if (ev->kind == kind && (!peer || (ev->has_peer && memcmp(ev->peer, peer, 32) == 0)))
			return true;
	}
	return false;
}

const struct engine_change *tchange(const struct tnode *n, const uint8_t pub[32])
{
	for (size_t i = 0; i < n->act.n_changes; i++)
		if (memcmp(n->act.changes[i].key, pub, 32) == 0)
			return &n->act.changes[i];
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
	return engine_receive(n->e, now, &src, buf, len);
}

int tsent_about(const struct tnode *n, const uint8_t to[32], const uint8_t *subject, uint8_t attr)
{
	int k = 0;
	for (size_t i = 0; i < n->act.n_send; i++) {
		const struct engine_datagram *d = &n->act.send[i];
		if (memcmp(d->peer, to, 32) != 0)
			continue;
		struct packet pk;
		const char *why;
		if (!packet_parse(d->data, d->len, &pk, &why))
			continue;
		struct cursor c;
		struct fact f;
		packet_facts_begin(&pk, &c);
		while (packet_next_fact(&c, &f, &why) == 1)
			if ((!attr || f.attr == attr) && (!subject || memcmp(f.subject, subject, 32) == 0))
				k++;
	}
	return k;
}
