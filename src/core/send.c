/* SPEC §6: what each peer is sent. Facts it already knows are skipped
 * (peer knowledge); an Alive keeps our liveness fresh at the peer. */
#include <string.h>

#include "core/engine_internal.h"
#include "wire/pack.h"
#include "wire/packet.h"

struct out {
	struct engine *e;
	struct peer *p;
	const uint8_t *key; /* shared key with p */
	uint16_t port;
	struct packer pk;
	struct engine_actions *a;
};

static void flush(struct out *o)
{
	if (!o->pk.count)
		return;
	struct engine_datagram *d = engine_actions_add_send(o->a);
	if (d) {
		uint8_t nonce[GROUP_NONCE_LEN];
		rng_bytes(&o->e->rng, nonce, sizeof(nonce));
		size_t n = group_seal(d->data, sizeof(d->data), o->e->pub, o->key, nonce, o->pk.inner,
				      o->pk.len);
		if (n) {
			memcpy(d->peer, o->p->key, WL_KEY_LEN);
			d->dst = o->p->auto_addr;
			d->port = o->port;
			d->len = (uint16_t)n;
			o->e->st.tx_datagrams++;
			engine_path_own_tx(o->p, n);
		} else {
			o->a->n_send--; /* cannot happen: groups are sized to fit */
		}
	}
	packer_reset(&o->pk);
}

/* Appends f, starting a new datagram if the current one is full. */
static void emit(struct out *o, const struct fact *f)
{
	if (!packer_fits(&o->pk, f))
		flush(o);
	packer_add(&o->pk, f);
}

/* Level "facts" (SPEC §6), else ping only. */
static bool sends_facts(const struct engine *e, const struct peer *p)
{
	const struct cfg_peer *c = engine_cfg_of(e, p);
	if ((c && c->trust != TRUST_UNSET && c->trust >= TRUST_ALLOWED_IPS) || p->router ||
	    (c && c->fact_exchanger))
		return true;
	if (!e->chatty && !e->router)
		return false;
	return p->healthy;
}

/* Whether a fact may be told to p at all (SPEC §6 "What"). */
static bool tellable(const struct engine *e, const struct peer *p, size_t i, int64_t now)
{
	const struct fentry *fe = &e->fs.v[i];
	if (fe->expires <= now)
		return false;
	if (e->fself[i])
		return true;
	const struct peer *s = e->fsubj[i];
	/* [ours] A leaf of ours is also told where we see it: its NAT's
	 * public address, which it cannot learn otherwise and orders its
	 * candidates by (apply.c). An original peer is not: it would store
	 * and re-advertise it. Nor is a router: it picks no candidates among
	 * its leaves' sites, and the refreshes would only add traffic. */
	if (s == p && fe->f.attr != ATTR_MEMBER_META)
		return p->ours && !p->router &&
		       (fe->f.attr == ATTR_ENDPOINT_V4 || fe->f.attr == ATTR_ENDPOINT_V6);
	return s && (s->healthy || peer_alive(s, now));
}

static void send_facts(struct out *o, int64_t now)
{
	struct engine *e = o->e;
	int64_t horizon = now + e->t.fact_ttl_ms / 2 + e->t.chunk_period_ms;
	for (size_t i = 0; i < e->n_indexed; i++) {
		const struct fentry *fe = &e->fs.v[i];
		if (!tellable(e, o->p, i, now))
			continue;
		int64_t known = knowledge_get(&o->p->know, fe->h);
		if (known != ENGINE_NEVER && !(known < horizon && fe->expires > known))
			continue;
		struct fact f = fe->f;
		f.ttl = fact_ttl_from(fe->expires, now);
		if (!f.ttl)
			continue;
		emit(o, &f);
		e->st.tx_facts++;
		knowledge_put(&o->p->know, fe->h, fe->expires, now, e->max_knowledge,
			      &e->st.knowledge_dropped);
	}
}

static void send_peer(struct engine *e, struct peer *p, uint16_t port, int64_t now,
		      struct engine_actions *a)
{
	if (p->shared_state == 0) {
		const uint8_t *k = keycache_get(&e->kc, p->key);
		p->shared_state = k ? 1 : -1;
		if (k)
			memcpy(p->shared, k, sizeof(p->shared));
	}
	if (p->shared_state < 0)
		return;
	const uint8_t *key = p->shared;
	if (p->resend_at != ENGINE_NEVER && now >= p->resend_at) {
		knowledge_clear(&p->know);
		p->resend_at = ENGINE_NEVER;
	}
	struct out o = { .e = e, .p = p, .key = key, .port = port, .a = a };
	packer_reset(&o.pk);
	struct fact alive;
	int64_t alive_exp = now + e->t.fact_ttl_ms;
	fact_make_alive(&alive, e->pub, e->boot_id, fact_ttl_from(alive_exp, now));
	int64_t known = knowledge_get(&p->know, e->alive_hash);
	bool due = p->force_alive || known == ENGINE_NEVER ||
		   known < now + e->t.fact_ttl_ms - e->t.alive_period_ms;
	/* A due Alive goes first: a receiver that handles facts in order then
	 * sees a boot id change before the facts it must now remember. */
	if (due)
		emit(&o, &alive);
	if (sends_facts(e, p))
		send_facts(&o, now);
	/* Not due: ride along only if it costs no extra datagram. */
	bool sent_alive = due;
	if (!due && o.pk.count && packer_fits(&o.pk, &alive)) {
		emit(&o, &alive);
		sent_alive = true;
	}
	flush(&o);
	if (sent_alive) {
		e->st.tx_alive++;
		p->force_alive = false;
		knowledge_put(&p->know, e->alive_hash, alive_exp, now, e->max_knowledge,
			      &e->st.knowledge_dropped);
	}
}

void engine_send(struct engine *e, int64_t now, struct engine_actions *a)
{
	uint16_t port = engine_port(e);
	e->hold_at = ENGINE_NEVER;
	for (size_t i = 0; i < e->pt.n; i++) {
		struct peer *p = e->pt.v[i];
		if (!p->send_ok)
			continue;
		/* Staggered (apply.c) until then, or until the other side's
		 * handshake got through; a tick comes at hold_at. */
		if (p->hold_until > now && !p->healthy) {
			if (e->hold_at == ENGINE_NEVER || p->hold_until < e->hold_at)
				e->hold_at = p->hold_until;
			continue;
		}
		send_peer(e, p, port, now, a);
	}
}
