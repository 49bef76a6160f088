/* SPEC §6: what each peer is sent. Facts it already knows are skipped
 * (peer knowledge); an Alive keeps our liveness fresh at the peer. [ours]
 * A peer we lease (core/lease.h) is told each fact once per epoch, then
 * held every AlivePeriod; what we no longer stand by is withdrawn. */
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "core/engine_internal.h"
#include "wire/lease.h"
#include "wire/pack.h"
#include "wire/packet.h"

struct out {
	struct engine *e;
	struct peer *p;
	const uint8_t *key; /* shared key with p */
	uint16_t port;
	struct packer pk;
	struct engine_actions *a;
	bool lease;       /* we lease p: a datagram with facts told carries our EPOCH */
	bool tagged;      /* the current datagram has it */
	struct fact epoch;
};

static void flush(struct out *o)
{
	if (!o->pk.count)
		return;
	struct engine_datagram *d = engine_actions_add_send(o->a);
	if (d) {
		uint8_t nonce[GROUP_NONCE_LEN];
		rng_bytes(&o->e->rng, nonce, sizeof(nonce));
		size_t n = group_seal(d->data, WIRE_MAX_DATAGRAM, o->e->pub, o->key, nonce, o->pk.inner,
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
	o->tagged = false;
}

/* Appends f, starting a new datagram if the current one is full. */
static void emit(struct out *o, const struct fact *f)
{
	if (!packer_fits(&o->pk, f))
		flush(o);
	packer_add(&o->pk, f);
}

/* A fact told in lease mode: its datagram must say which epoch it is of
 * (an Alive or a HOLD alone needs no tag: 40 bytes saved on each). */
static void emit_told(struct out *o, const struct fact *f)
{
	size_t need = fact_encoded_len(f) + (o->lease && !o->tagged ? fact_encoded_len(&o->epoch) : 0);
	if (o->pk.len + need > GROUP_INNER_MAX)
		flush(o); /* the next datagram needs the tag too */
	if (o->lease && !o->tagged) {
		packer_add(&o->pk, &o->epoch);
		o->tagged = true;
	}
	emit(o, f);
}

static void emit_lease(struct out *o, const struct lease_msg *m, uint16_t ttl)
{
	struct fact f;
	lease_fact(&f, o->e->pub, ttl, m);
	emit(o, &f);
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

/* What of tellable() and stands() holds for fact i whoever it goes to,
 * worked out once a round, at the first need (round_of, FR_KNOWN): a
 * hub's round asks it of every fact for every leaf; a leaf asks it of few
 * facts, as it tells its router nothing the router told it (stands). So
 * is whether it is upheld (upheld_now), which may look through every
 * peer. */
enum {
	FR_LIVE = 1,
	FR_SUBJECT = 2,
	FR_UPHELD = 4,
	FR_UPHELD_KNOWN = 8,
	FR_STALE_PORT = 16,
	FR_ROUTER_SEES = 32,
	FR_KNOWN = 64, /* the flags but the FR_UPHELD ones are worked out */
};

static inline uint8_t round_of(struct engine *e, size_t i, int64_t now);

/* We hold fe only because p told it: telling it back to p is an echo. */
static bool echo(const struct fentry *fe, const struct peer *p)
{
	return !fe->local && engine_from_peer(fe, p);
}

/* Whether a fact may be told to p at all (SPEC §6 "What"). */
static bool tellable(struct engine *e, const struct peer *p, size_t i, int64_t now)
{
	uint8_t flags = round_of(e, i, now);
	if (!(flags & FR_LIVE))
		return false;
	if (e->fself[i])
		return true;
	/* [ours] A leaf of ours is also told where we see it: its NAT's
	 * public address, which it cannot learn otherwise and orders its
	 * candidates by (apply.c). An original peer is not: it would store
	 * and re-advertise it. Nor is a router: it picks no candidates among
	 * its leaves' sites, and the refreshes would only add traffic. */
	uint8_t attr = e->fsubj[i] == p ? factset_attr(&e->fs, i) : ATTR_MEMBER_META;
	if (attr != ATTR_MEMBER_META)
		return p->ours && !p->router && (attr == ATTR_ENDPOINT_V4 || attr == ATTR_ENDPOINT_V6);
	if ((flags & FR_STALE_PORT) && p->ours)
		return false;
	return flags & FR_SUBJECT;
}

static void send_facts(struct out *o, int64_t now)
{
	struct engine *e = o->e;
	int64_t horizon = now + e->t.fact_ttl_ms / 2 + e->t.chunk_period_ms;
	for (size_t i = 0; i < e->n_indexed; i++) {
		const struct fentry *fe = &e->fs.v[i];
		if (!tellable(e, o->p, i, now) || lease_rx_has(&o->p->lrx, fe->lh))
			continue;
		/* [ours] Nor what we hold only because p told it (split
		 * horizon, as leases have it): p has its own copy. Without it,
		 * a router that restarted would hear back from each leaf what
		 * others had seen of it, charged to the leaf as its own word. */
		if (echo(fe, o->p))
			continue;
		int64_t known = knowledge_get(&o->p->know, fe->h);
		if (known != ENGINE_NEVER && !(known < horizon && fe->expires > known))
			continue;
		struct fact f;
		factset_fact(&e->fs, i, &f);
		f.ttl = fact_ttl_from(fe->expires, now);
		if (!f.ttl)
			continue;
		emit(o, &f);
		e->st.tx_facts++;
		knowledge_put(&o->p->know, fe->h, fe->expires, now, e->max_knowledge,
			      &e->st.knowledge_dropped);
	}
}

/* --- leases (core/lease.h) --------------------------------------------------- */

/* A copy we hold only for others (not local) is worth telling on while
 * its source still stands by it: it leases it to us, or (a source that
 * refreshes as SPEC §6 does) its refreshes keep coming. Once that ends,
 * it is withdrawn at once, so a relayed copy dies with the one it came
 * from, not a FactTTL after it; and one with less than an AlivePeriod
 * and a chunk to go is withdrawn too, so a HOLD is always good for that
 * long. */
static bool upheld(const struct engine *e, const struct fentry *fe, int64_t now)
{
	if (fe->local)
		return true;
	int64_t left = fe->expires - now;
	if (left < e->t.alive_period_ms + e->t.chunk_period_ms)
		return false;
	const struct peer *src = fe->src ? peertab_find_source(&e->pt, fe->src) : NULL;
	/* A new epoch of its source starts empty and is told again at once:
	 * what it held before stands meanwhile, rather than being withdrawn
	 * from everyone and told again a tick later. */
	if (src && src->lrx.have && !src->lrx.refusing) {
		if (lease_rx_has(&src->lrx, fe->lh) ||
		    now - src->lrx.opened_at < 2 * e->t.chunk_period_ms)
			return true;
		/* Charged to one source, it may be told by others too (a LAN
		 * address every neighbour sees): any of them upholds it. Rare
		 * enough to look through every peer. */
		for (size_t i = 0; i < e->pt.n; i++) {
			const struct peer *q = e->pt.v[i];
			if (q != src && q->lrx.have && lease_rx_has(&q->lrx, fe->lh))
				return true;
		}
		return false;
	}
	/* SPEC §6 refreshes come when the copy has less than FactTTL/2 and a
	 * chunk left: a copy older than that by two chunks is not refreshed
	 * any more. */
	return !src || left >= e->t.fact_ttl_ms / 2 - 2 * e->t.chunk_period_ms;
}

/* [ours] Another peer's report of where s is, at the address we see s at
 * ourselves, on a fresh handshake, but at another port: s's NAT has
 * given it a new port (it forgot the old mapping, or rebound), and the
 * reporter still sees the old one until its own handshake goes stale,
 * minutes later. Told on, it would keep leaves on a port that no longer
 * leads to s: they would try it, and a dormant pair would believe our
 * vouch for it (quiet.c). What s says of itself is always told on. */
static bool stale_port(const struct engine *e, const struct fentry *fe, const struct peer *s)
{
	struct fact f;
	struct wl_endpoint ep;
	return s && !fe->local && !engine_from_peer(fe, s) && s->healthy && s->has_endpoint &&
	       fact_endpoint(factset_fact_of(&e->fs, fe, &f), &ep) &&
	       wl_addr_equal(&ep.addr, &s->endpoint.addr) &&
	       ep.port != s->endpoint.port;
}

/* [ours] We are a router and see fe's subject s, on a fresh handshake,
 * where fe says it is: a first-hand view, told to each leaf even when the
 * leaf leases us the same fact because it sees s there too (stands).
 * Without it the first to tell wins for good: when a leaf reported the
 * endpoint before we leased it, each side holds off for the other (split
 * horizon), the leaf keeps reporting it, and we never lease it the
 * endpoint its dormant pairs need as a vouch (observe.c: note_vouch). */
static bool router_sees(const struct engine *e, const struct fentry *fe, const struct peer *s)
{
	struct fact f;
	struct wl_endpoint ep;
	return e->router && fe->local && s && s->healthy && s->has_endpoint &&
	       fact_endpoint(factset_fact_of(&e->fs, fe, &f), &ep) &&
	       wl_endpoint_equal(&ep, &s->endpoint);
}

/* The round's flags of fact i (FR_*). Nothing they read changes while
 * the round goes from peer to peer, so working them out at the first
 * need gives what working them all out first did. */
static uint8_t round_work(struct engine *e, size_t i, int64_t now)
{
	uint8_t *flags = &e->fround[i];
	const struct fentry *fe = &e->fs.v[i];
	const struct peer *s = e->fsubj[i];
	*flags |= FR_KNOWN;
	if (fe->expires > now) {
		*flags |= FR_LIVE;
		if (s && (s->healthy || peer_alive(s, now)))
			*flags |= FR_SUBJECT;
		if (stale_port(e, fe, s))
			*flags |= FR_STALE_PORT;
		if (router_sees(e, fe, s))
			*flags |= FR_ROUTER_SEES;
	}
	return *flags;
}

/* A hub's passes ask this of every fact for every leaf they do not skip. */
static inline uint8_t round_of(struct engine *e, size_t i, int64_t now)
{
	uint8_t flags = e->fround[i];
	return flags & FR_KNOWN ? flags : round_work(e, i, now);
}

/* upheld() of fact i this round, worked out once. */
static bool upheld_now(struct engine *e, size_t i, int64_t now)
{
	uint8_t *flags = &e->fround[i];
	if (!(*flags & FR_UPHELD_KNOWN)) {
		*flags |= FR_UPHELD_KNOWN;
		if (e->t.leases && upheld(e, &e->fs.v[i], now))
			*flags |= FR_UPHELD;
	}
	return *flags & FR_UPHELD;
}

/* [ours] A router leases every leaf nearly all it holds, and looking at
 * every fact for every leaf at every tick is what a large network's hub
 * spent its time on (1,000 leaves: 3.6 million lookups a tick). What a
 * pass for p reads is the round's view of each fact (kept here, on a
 * router), p's lease_rx and knowledge (their gens), p's role, and time
 * only through the flags and the refreshes p told us (seen_until): while
 * none of that moved since p's last pass and no HOLD is due, a pass would
 * tell, count and withdraw the same, so it is skipped. */
static void round_view(struct engine *e, int64_t now)
{
	if (!e->router) {
		if (e->n_fview) {
			e->n_fview = 0;
			e->lease_view++;
		}
		return;
	}
	if (!wl_grow((void **)&e->fview, &e->cap_fview, e->n_indexed, sizeof(*e->fview))) {
		e->n_fview = 0;
		e->lease_view++;
		return;
	}
	bool moved = e->n_fview != e->n_indexed;
	for (size_t i = 0; i < e->n_indexed; i++) {
		const struct fentry *fe = &e->fs.v[i];
		upheld_now(e, i, now);
		struct fact_view v = { .h = fe->h, .src = fe->src, .subject = e->fsubj[i],
				       .flags = round_of(e, i, now), .self = e->fself[i],
				       .local = fe->local };
		struct fact_view *o = &e->fview[i];
		if (moved || o->h != v.h || o->src != v.src || o->subject != v.subject ||
		    o->flags != v.flags || o->self != v.self || o->local != v.local)
			moved = true;
		*o = v;
	}
	e->n_fview = e->n_indexed;
	if (moved)
		e->lease_view++;
}

static bool lease_unchanged(const struct engine *e, const struct peer *p, int64_t now)
{
	const struct lease_tx *t = &p->ltx;
	return e->router && e->n_fview && t->seen && t->seen_view == e->lease_view &&
	       t->seen_rx == p->lrx.gen && t->seen_know == p->know.gen &&
	       t->seen_router == p->router && t->seen_ours == p->ours && now < t->seen_until &&
	       !t->rewithdraw;
}

/* Fact i is one we stand by towards p: tellable, upheld, and neither one p
 * leases us nor one we hold only because p told it (split horizon,
 * lease_rx_has). The second matters once p withdraws it: our copy lasts
 * until it expires, and telling it back then, with a lease holding it
 * FactTTL at a time, would pass a dead fact around the network for ever. */
static bool stands(struct engine *e, const struct peer *p, size_t i, int64_t now)
{
	const struct fentry *fe = &e->fs.v[i];
	/* Where we see p ourselves is told to p even when p leases us the
	 * same fact (a public node's own address): that is how it learns it
	 * is seen there (quiet.c), and our copy is our own, not one it gave.
	 * So is, to a leaf, where we see another peer (router_sees). */
	bool seen_by_us = fe->local && (e->fsubj[i] == p ||
					((round_of(e, i, now) & FR_ROUTER_SEES) && !p->router));
	return tellable(e, p, i, now) && !echo(fe, p) &&
	       (seen_by_us || !lease_rx_has(&p->lrx, fe->lh)) && upheld_now(e, i, now);
}

/* Withdraws what p was told in this epoch and we no longer stand by, so
 * that what we hold (t->count, t->digest) is what we would tell. False
 * if a withdrawn fact's hash is lost (it left long ago, or a flood of
 * removals overflowed the log): then a new epoch must start. */
static bool withdraw(struct out *o, int64_t now)
{
	struct engine *e = o->e;
	struct peer *p = o->p;
	struct lease_tx *t = &p->ltx;
	struct knowledge *k = &p->know;
	struct lease_msg m = { .kind = LEASE_WITHDRAW, .epoch = t->epoch };
	for (size_t i = 0; k->s && i <= k->mask; i++) {
		struct know_slot *s = &k->s[i];
		if (!s->h || !lease_told(s->expires))
			continue;
		long pos = factset_find_h(&e->fs, s->h);
		if (pos >= 0 && (size_t)pos < e->n_indexed && stands(e, p, (size_t)pos, now))
			continue;
		uint64_t lh;
		if (pos >= 0)
			lh = e->fs.v[pos].lh;
		else if (e->fs.gone_lost || !factset_gone_lh(&e->fs, s->h, &lh))
			return false;
		knowledge_forget_slot(k, s);
		t->count--;
		t->digest ^= lh;
		lease_tx_note_gone(p, lh, now);
		m.gone[m.n++] = lh;
		if (m.n == LEASE_WITHDRAW_MAX) {
			emit_lease(o, &m, 0);
			m.n = 0;
		}
	}
	if (t->rewithdraw) {
		/* A repair: the recent withdrawals again (idempotent there). */
		for (size_t i = 0; i < t->n_gone && m.n < LEASE_WITHDRAW_MAX; i++)
			if (now - t->gone->at[i] <= lease_recent_ms(e))
				m.gone[m.n++] = t->gone->lh[i];
		t->rewithdraw = false;
	}
	if (m.n)
		emit_lease(o, &m, 0);
	return true;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* [ours] The facts that may stand towards p (stands), in order: ours and
 * the unsourced ones, and those of every source but p. What p told us
 * and we hold only for that is an echo, never told back; at a leaf that
 * is nearly all it holds, its router's, so its pass for the router looks
 * at the few others instead of walking them all. False: walk them all
 * (they are as many, or out of memory). */
static bool candidates(struct engine *e, const struct peer *p, size_t *n)
{
	const struct factset *s = &e->fs;
	if (!s->unsourced_ok || s->unsourced_gen != s->shape_gen)
		return false;
	uint64_t own = p->h | 1; /* engine_from_peer */
	/* At most all but p's, and ours again (some are p's too). A router's
	 * leaves each told it few of what it holds: it walks them all, and
	 * learns that without looking through its thousand sources. */
	const struct fsource *from_p = factset_source(s, own);
	size_t want = s->n - (from_p ? from_p->count : 0) + s->n_unsourced;
	if (want > e->n_indexed / 2 ||
	    !wl_grow((void **)&e->cand, &e->cap_cand, want ? want : 1, sizeof(*e->cand)))
		return false;
	size_t m = 0;
	for (size_t k = 0; k < s->n_unsourced; k++)
		e->cand[m++] = s->unsourced[k];
	for (size_t k = 0; k < s->n_src; k++) {
		if (s->src[k].id == own)
			continue;
		for (int32_t j = s->src[k].head; j >= 0; j = s->v[j].src_next)
			e->cand[m++] = (uint32_t)j;
	}
	qsort(e->cand, m, sizeof(*e->cand), cmp_u32);
	size_t out = 0; /* ours may have a source too: once each */
	for (size_t k = 0; k < m; k++)
		if ((!out || e->cand[k] != e->cand[out - 1]) && e->cand[k] < e->n_indexed)
			e->cand[out++] = e->cand[k];
	*n = out;
	return true;
}

#define LEASE_AHEAD 8

/* A HOLD of what p holds (t->count, t->digest). */
static void send_hold(struct out *o, int64_t until, int64_t now)
{
	struct engine *e = o->e;
	struct lease_tx *t = &o->p->ltx;
	/* Quiet for two HOLDs since the last NACK: the next one starts the
	 * repair ladder afresh. */
	if (t->nacked_at == ENGINE_NEVER || now - t->nacked_at > 2 * e->t.alive_period_ms)
		t->repairs = 0;
	/* Valid no longer than our shortest-lived copy: what we only relay
	 * must not outlive the copy it came from at the peer. */
	struct lease_msg m = { .kind = LEASE_HOLD, .epoch = t->epoch, .count = t->count,
			       .digest = t->digest };
	emit_lease(o, &m, fact_ttl_from(until, now));
	t->held_at = now;
	e->st.lease_holds_sent++;
}

/* Where a router's whole pass for p notes what it leaves out (NULL: not
 * noted, a pass over a few candidates, or no memory). */
static struct lease_skips *skips_begin(struct engine *e, struct lease_tx *t, bool few)
{
	if (!e->router || few) {
		if (t->skips)
			t->skips->ok = false;
		return NULL;
	}
	if (!t->skips && !(t->skips = malloc(sizeof(*t->skips))))
		return NULL;
	t->skips->ok = false;
	t->skips->n = 0;
	t->skips->n_indexed = (uint32_t)e->n_indexed;
	return t->skips;
}

static void skips_add(struct lease_skips *sk, size_t i)
{
	if (sk && sk->n++ < LEASE_SKIPS_MAX)
		sk->at[sk->n - 1] = (uint32_t)i;
}

/* The shadow's check of hold_again: what a whole pass would count. */
static void check_hold_again(struct out *o, int64_t until, int64_t now)
{
	struct engine *e = o->e;
	struct peer *p = o->p;
	uint32_t count = 0;
	uint64_t digest = 0;
	int64_t least = now + e->t.fact_ttl_ms;
	bool told = true;
	for (size_t i = 0; i < e->n_indexed; i++) {
		if (!stands(e, p, i, now))
			continue;
		const struct fentry *fe = &e->fs.v[i];
		int64_t known = knowledge_get(&p->know, fe->h);
		if (!lease_told(known) && known != ENGINE_NEVER && known > now)
			continue;
		told = told && lease_told(known);
		count++;
		digest ^= fe->lh;
		if (fe->expires < least)
			least = fe->expires;
	}
	if (!told || count != p->ltx.count || digest != p->ltx.digest || least != until)
		engine_visit_shortcut_missed(e, p, "a HOLD counted again is not a pass's", now);
}

/* [ours] A HOLD is due and nothing a pass reads has moved since the last
 * (lease_unchanged): a pass would tell and withdraw nothing and count
 * what the last one counted, and only the shortest-lived of those copies
 * may have moved. Found from the facts the last pass left out, without
 * asking p's two tables of each fact (at 1,000 leaves, a hub's ticks
 * were mostly these passes, nearly all of them such HOLDs). False: a
 * whole pass must do it. */
static bool hold_again(struct out *o, int64_t now)
{
	struct engine *e = o->e;
	const struct lease_skips *sk = o->p->ltx.skips;
	if (!sk || !sk->ok || sk->n_indexed != e->n_indexed)
		return false;
	int64_t until = now + e->t.fact_ttl_ms;
	size_t next = 0;
	for (size_t i = 0; i < e->n_indexed; i++) {
		if (next < sk->n && sk->at[next] == i) {
			next++;
			continue;
		}
		if (e->fs.v[i].expires < until)
			until = e->fs.v[i].expires;
	}
	if (engine_visit_checking(e))
		check_hold_again(o, until, now);
	send_hold(o, until, now);
	return true;
}

/* Lease mode: tell what p was not told in this epoch, withdraw what no
 * longer holds, and HOLD the rest when anything changed or AlivePeriod
 * has passed since the last HOLD. */
static void lease_facts(struct out *o, int64_t now)
{
	struct engine *e = o->e;
	struct peer *p = o->p;
	struct lease_tx *t = &p->ltx;
	bool hold_due = t->held_at == ENGINE_NEVER ||
			now - t->held_at >= engine_alive_period_ms(e, p);
	bool unchanged = lease_unchanged(e, p, now);
	if (!hold_due && unchanged) {
		e->st.lease_passes_skipped++;
		return;
	}
	e->st.lease_passes++;
	if (unchanged && hold_again(o, now))
		return;
	t->seen = false;
	int64_t seen_until = INT64_MAX;
	uint32_t count = 0;
	uint64_t digest = 0;
	int64_t until = now + e->t.fact_ttl_ms; /* our shortest-lived copy */
	bool changed = false;
	size_t n_cand;
	bool few = candidates(e, p, &n_cand);
	size_t n = few ? n_cand : e->n_indexed;
	struct lease_skips *sk = skips_begin(e, t, few);
	for (size_t c = 0; c < n; c++) {
		size_t i = few ? e->cand[c] : c;
		/* A router's pass asks both of p's tables of every fact: load
		 * their slots a few facts ahead. */
		if (c + LEASE_AHEAD < n) {
			size_t a = few ? e->cand[c + LEASE_AHEAD] : c + LEASE_AHEAD;
			const struct fentry *ahead = &e->fs.v[a];
			lease_rx_prefetch(&p->lrx, ahead->lh);
			knowledge_prefetch(&p->know, ahead->h);
		}
		if (!stands(e, p, i, now)) {
			skips_add(sk, i);
			continue;
		}
		const struct fentry *fe = &e->fs.v[i];
		int64_t known = knowledge_get(&p->know, fe->h);
		/* Told us by p itself, not leased (it refreshes us as SPEC §6
		 * does): not ours to tell back while its copy lasts. */
		if (!lease_told(known) && known != ENGINE_NEVER && known > now) {
			if (known < seen_until)
				seen_until = known;
			skips_add(sk, i);
			continue;
		}
		count++;
		digest ^= fe->lh;
		if (fe->expires < until)
			until = fe->expires;
		if (lease_told(known))
			continue;
		uint64_t dropped = e->st.knowledge_dropped;
		knowledge_put(&p->know, fe->h, LEASE_TOLD + now, now, e->max_knowledge,
			      &e->st.knowledge_dropped);
		if (e->st.knowledge_dropped != dropped) {
			/* No room to remember what it was told: a lease would
			 * tell it again at every tick. Refresh it instead. */
			t->refused = true;
			lease_tx_stop(p);
			return;
		}
		struct fact f;
		factset_fact(&e->fs, i, &f);
		f.ttl = fact_ttl_from(fe->expires, now);
		emit_told(o, &f);
		e->st.tx_facts++;
		t->count++;
		t->digest ^= fe->lh;
		changed = true;
	}
	if (t->count != count || t->digest != digest || t->rewithdraw) {
		if (!withdraw(o, now) || t->count != count || t->digest != digest) {
			t->restart = true; /* at the next tick: this one may carry part of it */
			engine_mark_dirty(e, now);
			return;
		}
		changed = true;
	}
	t->seen = true;
	if (sk)
		sk->ok = sk->n <= LEASE_SKIPS_MAX;
	t->seen_router = p->router;
	t->seen_ours = p->ours;
	t->seen_view = e->lease_view;
	t->seen_rx = p->lrx.gen;
	t->seen_know = p->know.gen;
	t->seen_until = seen_until;
	if (!changed && !hold_due)
		return;
	send_hold(o, until, now);
}

/* Path notes for p (pathnote.c). */
static void send_notes(struct out *o)
{
	uint8_t keys[16][WL_KEY_LEN], kinds[16];
	size_t n = engine_pathnote_take(o->e, o->p, keys, kinds, 16);
	for (size_t i = 0; i < n; i++) {
		struct lease_msg m = { .kind = kinds[i] };
		memcpy(m.key, keys[i], WL_KEY_LEN);
		emit_lease(o, &m, 0);
	}
}

/* What p leases us needs an answer: a REFUSE, or a NACK with our record. */
static void answer_leases(struct out *o, int64_t now)
{
	struct lease_rx *r = &o->p->lrx;
	lease_check_pending(o->e, o->p, now);
	if (r->refuse_due) {
		struct lease_msg m = { .kind = LEASE_REFUSE, .epoch = r->epoch };
		emit_lease(o, &m, 0);
		r->refuse_due = false;
	} else if (r->nack_due) {
		struct lease_msg m = { .kind = LEASE_NACK, .epoch = r->epoch,
				       .count = r->nack_count, .digest = r->nack_digest };
		emit_lease(o, &m, 0);
		r->nack_due = false;
		o->e->st.lease_nacks_sent++;
	}
}

static void send_peer(struct engine *e, struct peer *p, uint16_t port, int64_t now,
		      struct engine_actions *a)
{
	const uint8_t *key = engine_shared_key(e, p);
	if (!key)
		return;
	bool facts = sends_facts(e, p);
	bool lease = facts && e->t.leases && p->lease_ok && !p->ltx.refused;
	if (!lease && p->ltx_on)
		lease_tx_stop(p);
	else if (lease && (!p->ltx_on || p->ltx.restart))
		lease_tx_start(e, p);
	if (p->resend_at != ENGINE_NEVER && now >= p->resend_at) {
		/* A leased peer asks for what it missed itself (NACK). One we
		 * only ping has nothing to be resent: our Alive went to it when
		 * we first heard its boot id (receive.c cleared it then). */
		if (!lease && facts)
			peer_know_clear(p);
		p->resend_at = ENGINE_NEVER;
	}
	/* Field by field: most peers of a large network get nothing at a
	 * tick, and zeroing the packer's buffer for each (over a kilobyte)
	 * was a good part of a leaf's tick. The EPOCH fact is read only in
	 * lease mode. */
	struct out o;
	o.e = e;
	o.p = p;
	o.key = key;
	o.port = port;
	o.a = a;
	o.lease = lease;
	o.tagged = false;
	packer_reset(&o.pk);
	if (lease) {
		struct lease_msg m = { .kind = LEASE_EPOCH, .epoch = p->ltx.epoch };
		lease_fact(&o.epoch, e->pub, 0, &m);
	}
	enum quiet_offer offer = engine_quiet_offer(e, p, now);
	bool quiet = offer != QUIET_LOUD, dormant = offer == QUIET_DORMANT;
	/* A dormant Alive is not sent again while the pair stays dormant: the
	 * peer's record of it never runs out. Until the peer's comes back it
	 * goes at the loud pace, as the pair is loud meanwhile, and asks for
	 * the peer's (ENGINE_DORMANT_ASK_TTL_S; quiet.c answers): were either
	 * lost, one side would wait for Alives for ever and the other send
	 * none. */
	bool dormant_pair = dormant && p->dormant_rx;
	int64_t alive_exp = now + (dormant_pair ? QUIET_FOREVER_MS
				   : quiet ? engine_quiet_ttl_ms(e)
					   : e->t.fact_ttl_ms);
	uint16_t alive_ttl = dormant_pair ? ENGINE_DORMANT_TTL_S
			     : dormant    ? ENGINE_DORMANT_ASK_TTL_S
					  : fact_ttl_from(alive_exp, now);
	/* Going quiet, dormant or loud (quiet.c) is said at once, by the ttl;
	 * and a quiet Alive's long expiry must not put off the loud ones
	 * after it. A pair formed by the peer's dormant Alive, which
	 * answered our dormant one, needs nothing more from us (saying it
	 * drew one more from each side); one that stops being a pair asks
	 * again. */
	if (dormant_pair && p->dormant_tx)
		p->paired_tx = true;
	if (quiet != p->quiet_tx || dormant != p->dormant_tx || dormant_pair != p->paired_tx)
		p->alive_told = ENGINE_NEVER;
	int64_t known = p->alive_told;
	bool due = p->force_alive || known == ENGINE_NEVER ||
		   (!dormant_pair && known < alive_exp - engine_alive_period_ms(e, p));
	/* The Alive is made only when it goes: most peers get nothing at a
	 * tick. A due one goes first: a receiver that handles facts in order
	 * then sees a boot id change before the facts it must now remember. */
	struct fact alive;
	if (due) {
		fact_make_alive(&alive, e->pub, e->boot_id, alive_ttl);
		emit(&o, &alive);
	}
	answer_leases(&o, now);
	if (lease) {
		send_notes(&o);
		lease_facts(&o, now);
	}
	else if (facts)
		send_facts(&o, now);
	/* Not due: ride along only if it costs no extra datagram. */
	bool sent_alive = due;
	if (!due && o.pk.count) {
		fact_make_alive(&alive, e->pub, e->boot_id, alive_ttl);
		if (packer_fits(&o.pk, &alive)) {
			emit(&o, &alive);
			sent_alive = true;
		}
	}
	flush(&o);
	if (sent_alive) {
		e->st.tx_alive++;
		p->force_alive = false;
		p->quiet_tx = quiet;
		p->dormant_tx = dormant;
		p->paired_tx = dormant_pair;
		p->alive_told = alive_exp;
	}
}

void engine_send(struct engine *e, int64_t now, struct engine_actions *a)
{
	uint16_t port = engine_port(e);
	e->hold_at = ENGINE_NEVER;
	e->lease_at = ENGINE_NEVER;
	if (e->n_indexed)
		memset(e->fround, 0, e->n_indexed * sizeof(*e->fround));
	round_view(e, now);
	for (size_t i = engine_visit_next(e, 0); i < e->pt.n; i = engine_visit_next(e, i + 1)) {
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
	/* Every lease has withdrawn what left by now (send.c: withdraw). */
	factset_gone_clear(&e->fs);
	engine_pathnote_sent(e);
}
