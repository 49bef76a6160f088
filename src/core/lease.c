/* [ours] Leases, the receiving side and the sender's state changes
 * (lease.h). What a sender tells, withdraws and holds is in send.c, next
 * to what SPEC §6 sends. */
#include "core/lease.h"

#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "core/engine_internal.h"
#include "wire/lease.h"
#include "wire/packet.h"

/* --- the table of what one peer leases us --------------------------------- */

static struct lease_slot *slot_for(const struct lease_rx *r, uint64_t lh)
{
	for (size_t i = lh & r->mask;; i = (i + 1) & r->mask)
		if (r->s[i].lh == lh || r->s[i].lh == 0)
			return &r->s[i];
}

/* A table's first size, and the smallest it shrinks to. */
#define LEASE_RX_MIN_SLOTS 16

/* Rebuilds into cap slots (a power of two). */
static bool rebuild(struct lease_rx *r, size_t cap)
{
	struct lease_slot *ns = calloc(cap, sizeof(*ns));
	if (!ns)
		return false;
	for (size_t i = 0; r->s && i <= r->mask; i++) {
		const struct lease_slot *o = &r->s[i];
		if (!o->lh)
			continue;
		size_t j = o->lh & (cap - 1);
		while (ns[j].lh)
			j = (j + 1) & (cap - 1);
		ns[j] = *o;
	}
	free(r->s);
	r->s = ns;
	r->mask = cap - 1;
	return true;
}

/* Deletes slot i, moving later members of its probe chain back so every
 * lookup still finds them. */
static void delete_at(struct lease_rx *r, size_t i)
{
	size_t j = i;
	r->digest ^= r->s[i].lh;
	r->n_accepted -= r->s[i].accepted;
	r->s[i].lh = 0;
	for (;;) {
		j = (j + 1) & r->mask;
		if (!r->s[j].lh)
			break;
		size_t home = r->s[j].lh & r->mask;
		/* j may move to i unless its home lies cyclically in (i, j]. */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (stays)
			continue;
		r->s[i] = r->s[j];
		r->s[j].lh = 0;
		i = j;
	}
	r->n--;
	r->gen++;
}

bool lease_rx_has(const struct lease_rx *r, uint64_t lh)
{
	return r->s && slot_for(r, lh)->lh == lh;
}

void lease_rx_reset(struct lease_rx *r)
{
	uint32_t gen = r->gen;
	free(r->s);
	memset(r, 0, sizeof(*r));
	r->gen = gen + 1;
}

void lease_rx_compact(struct lease_rx *r)
{
	if (!r->s)
		return;
	/* Grown at three quarters; shrunk as knowledge.c's tables are. */
	size_t cap = wl_shrunk_cap(r->mask + 1, r->n, LEASE_RX_MIN_SLOTS);
	if (cap < r->mask + 1)
		rebuild(r, cap);
}

size_t lease_rx_bytes(const struct lease_rx *r)
{
	return r->s ? (r->mask + 1) * sizeof(*r->s) : 0;
}

/* A tick at `at` for a NACK that may be due then. */
static void want_tick(struct engine *e, int64_t at)
{
	if (e->lease_at == ENGINE_NEVER || at < e->lease_at)
		e->lease_at = at;
}

/* Count and digest of what is held. */
static void held(const struct lease_rx *r, uint32_t *count, uint64_t *digest)
{
	*count = (uint32_t)r->n;
	*digest = r->digest;
}

static void open_epoch(struct lease_rx *r, uint32_t epoch, int64_t now)
{
	r->opened_at = now;
	r->matched_at = ENGINE_NEVER;
	/* Released, not cleared: the new epoch grows a table to what it
	 * holds, rather than keeping the largest any epoch ever needed. */
	free(r->s);
	r->s = NULL;
	r->mask = r->n = r->n_accepted = 0;
	r->digest = 0;
	r->have = true;
	r->epoch = epoch;
	r->gen++;
	/* extended_until stays: what the last epoch told and this one does
	 * not tell again (lost on the way) still lapses then (ask_hold). */
	r->asked_at = ENGINE_NEVER;
	r->pending = false;
	r->nack_at = ENGINE_NEVER;
}

/* Our table for sp is full: we keep nothing of its leases and ask it to
 * refresh as SPEC §6 does (its facts themselves are kept as usual). */
static void refuse(struct engine *e, struct peer *sp, int64_t now)
{
	struct lease_rx *r = &sp->lrx;
	lease_rx_reset(r); /* moves its gen */
	r->refusing = true;
	r->refuse_due = true;
	e->st.lease_refused++;
	engine_mark_dirty(e, now);
}

/* --- receiving --------------------------------------------------------------- */

/* The next 'L' fact of sp in the datagram; false at the end. */
static bool next_lease(struct cursor *c, const struct peer *sp, struct lease_msg *m,
		       uint16_t *ttl)
{
	struct fact f;
	const char *why;
	while (packet_next_fact(c, &f, &why) == 1) {
		if (f.attr != ATTR_LEASE || memcmp(f.subject, sp->key, WL_KEY_LEN) != 0 ||
		    !lease_parse(&f, m))
			continue;
		*ttl = f.ttl;
		return true;
	}
	return false;
}

bool lease_begin(struct engine *e, struct peer *sp, const struct packet *pk, int64_t now)
{
	struct cursor c;
	struct lease_msg m;
	uint16_t ttl;
	packet_facts_begin(pk, &c);
	while (next_lease(&c, sp, &m, &ttl)) {
		if (m.kind != LEASE_EPOCH)
			continue;
		struct lease_rx *r = &sp->lrx;
		if (!e->t.leases || r->refusing) {
			/* Again at our next send: our last REFUSE may be lost. */
			r->refusing = true;
			r->gen++;
			r->refuse_due = true;
			return false;
		}
		sp->lease_ok = true; /* it sends them: it reads them */
		/* Any other epoch is a new one. Its numbers only go up while
		 * both sides run, but it numbers afresh once it sees a new boot
		 * id of ours; a straggler of an older epoch (reordered) costs
		 * at most a repair. */
		if (!r->have || m.epoch != r->epoch)
			open_epoch(r, m.epoch, now);
		return true;
	}
	return false;
}

void lease_note(struct engine *e, struct peer *sp, const struct fact *f, uint64_t h,
		int64_t expires, bool accepted, int64_t now)
{
	struct lease_rx *r = &sp->lrx;
	if (f->attr == ATTR_ALIVE || f->attr == ATTR_LEASE || !r->have)
		return;
	uint64_t lh = lease_hash(f);
	/* At most three quarters full: short probe chains, a third less
	 * memory than half (a hub holds one table per leaf). */
	if (!r->s || 4 * (r->n + 1) > 3 * (r->mask + 1)) {
		if (r->n + 1 > e->max_knowledge ||
		    !rebuild(r, r->s ? 2 * (r->mask + 1) : LEASE_RX_MIN_SLOTS)) {
			refuse(e, sp, now);
			return;
		}
	}
	struct lease_slot *s = slot_for(r, lh);
	if (!s->lh) {
		s->lh = lh;
		r->n++;
		r->n_accepted += s->accepted; /* (a deleted slot's flag stays) */
		r->digest ^= lh;
		r->gen++;
	}
	s->h = h;
	if (accepted && !s->accepted) {
		s->accepted = true;
		r->n_accepted++;
	}
	if (accepted && r->extended_until != ENGINE_NEVER && expires < r->extended_until)
		r->extended_until = expires;
}

/* The fact slot s stands for in our fact set, -1 if gone. Facts rarely
 * move between two HOLDs: the place found last time is tried first. */
static long slot_fact(const struct factset *fs, struct lease_slot *s)
{
	if (s->pos < fs->n && fs->v[s->pos].h == s->h && fs->v[s->pos].lh == s->lh)
		return s->pos;
	long pos = factset_find_hashed(fs, s->h, s->lh);
	if (pos >= 0)
		s->pos = (uint32_t)pos;
	return pos;
}

/* Extends by the lease's slots, each fact reached in the set at random. */
static bool extend_by_slots(struct engine *e, struct peer *sp, enum wl_trust trust,
		int64_t until, int64_t now)
{
	struct lease_rx *r = &sp->lrx;
	bool whole = true;
	for (size_t i = 0; i <= r->mask; i++) {
		struct lease_slot *s = &r->s[i];
		if (!s->lh || !s->accepted)
			continue;
		long pos = slot_fact(&e->fs, s);
		if (pos < 0) {
			whole = false;
			continue;
		}
		engine_retake_trusted(e, now, sp, trust, (size_t)pos, until);
	}
	return whole;
}

/* How many facts ahead extend_by_set loads a lease slot. */
#define EXTEND_AHEAD 8

/* Extends by walking the fact set in order, each fact looked up in the
 * lease's small table. */
static bool extend_by_set(struct engine *e, struct peer *sp, enum wl_trust trust,
		int64_t until, int64_t now)
{
	struct lease_rx *r = &sp->lrx;
	size_t found = 0;
	for (size_t k = 0; k < e->fs.n; k++) {
		const struct fentry *fe = &e->fs.v[k];
		/* The set is walked in order, the table reached at random:
		 * load the facts ahead (too far apart for the hardware to see
		 * the stride) and their slots, each before it is read. */
		if (k + 2 * EXTEND_AHEAD < e->fs.n)
			__builtin_prefetch(&e->fs.v[k + 2 * EXTEND_AHEAD].lh);
		if (k + EXTEND_AHEAD < e->fs.n)
			lease_rx_prefetch(r, e->fs.v[k + EXTEND_AHEAD].lh);
		const struct lease_slot *s = slot_for(r, fe->lh);
		if (s->lh != fe->lh || s->h != fe->h || !s->accepted)
			continue;
		found++;
		engine_retake_trusted(e, now, sp, trust, k, until);
	}
	return found == r->n_accepted;
}

/* A lease whose facts are fewer than this share of our fact set is
 * extended slot by slot. */
#define EXTEND_BY_SLOTS_SHARE 16

/* A HOLD that matches: every fact of the epoch told again, expiring at
 * `until`, through the same trust check and shares as a received one.
 * False if one we had taken is no longer in our fact set (it expired
 * before a HOLD came, or was pushed out): the lease cannot be honoured,
 * and a repair brings it back. Both ways extend the same facts; they
 * differ in what they touch. A leaf's router leases it nearly all it
 * holds, at a thousand peers a fact set of over a megabyte: reaching
 * into it at random cost a cache miss a fact (the largest part of a
 * leaf's steady state at 300 nodes; docs/scale-cost.md), walking it in
 * order does not. A router is the other way round: each leaf leases it
 * a few facts among thousands, and walking them all for a few would
 * waste what the slots spare. */
static bool extend(struct engine *e, struct peer *sp, int64_t until, int64_t now)
{
	struct lease_rx *r = &sp->lrx;
	if (!r->s)
		return true;
	enum wl_trust trust = engine_trust_of_source(e, sp);
	if (r->n * EXTEND_BY_SLOTS_SHARE < e->fs.n)
		return extend_by_slots(e, sp, trust, until, now);
	return extend_by_set(e, sp, trust, until, now);
}

/* Asks sp to tell us again what it leases us (at our next send). */
static void ask_repair(struct engine *e, struct peer *sp, int64_t now)
{
	struct lease_rx *r = &sp->lrx;
	uint32_t count;
	uint64_t digest;
	held(r, &count, &digest);
	r->nack_due = true;
	r->nack_count = count;
	r->nack_digest = digest;
	engine_mark_dirty(e, now);
}

/* The pending HOLD against what we hold now: extend on a match, else
 * wait for stragglers until nack_at. */
static void check_hold(struct engine *e, struct peer *sp, int64_t now)
{
	struct lease_rx *r = &sp->lrx;
	if (!r->pending)
		return;
	uint32_t count;
	uint64_t digest;
	held(r, &count, &digest);
	if (count != r->want_count || digest != r->want_digest) {
		if (r->nack_at == ENGINE_NEVER)
			r->nack_at = now + LEASE_NACK_WAIT_MS;
		want_tick(e, r->nack_at);
		return;
	}
	r->pending = false;
	r->nack_at = ENGINE_NEVER;
	r->matched_at = now;
	e->st.lease_holds_matched++;
	/* Our copies are extended at the latest when the earliest is less
	 * than three AlivePeriods and a chunk away: then, as a sender, we
	 * never have to withdraw a copy that is still upheld for having less
	 * than an AlivePeriod and a chunk left (send.c: upheld), even with a
	 * HOLD lost on the way. A leaf waits until then, as extending what
	 * its router leases it touches nearly its whole fact set. A router
	 * extends at every HOLD that matches (a leaf leases it a few facts):
	 * its HOLDs last no longer than its shortest-lived copy, and while
	 * its copies ran down to the threshold, every leaf's HOLD was short
	 * too and every leaf extended its thousands of facts at nearly every
	 * HOLD (100 nodes: every 43 s, now every 150 s; 1,000 nodes: the
	 * steady state 0.70 s of real time a virtual minute, now 0.50). */
	if (!e->router && r->extended_until != ENGINE_NEVER &&
	    r->extended_until - now >= 3 * e->t.alive_period_ms + e->t.chunk_period_ms)
		return;
	int64_t ms = (int64_t)r->want_ttl * 1000;
	if (ms > e->t.fact_ttl_ms)
		ms = e->t.fact_ttl_ms;
	r->extended_until = now + ms;
	if (!extend(e, sp, now + ms, now))
		ask_repair(e, sp, now);
}

/* How long after the last HOLD that matched the next is missing: the
 * sender's period (a sender holds at least every two AlivePeriods; a
 * router, every AlivePeriod) and two chunks for its ticks and the way. */
static int64_t hold_missing_after(const struct engine *e, const struct peer *sp)
{
	int64_t at_most = 2 * e->t.alive_period_ms, period = engine_peer_alive_period_ms(e, sp);
	return (period < at_most ? period : at_most) + 2 * e->t.chunk_period_ms;
}

/* [ours] A HOLD is missing (hold_missing_after; at once in a new epoch)
 * and our copies of what sp leases us lapse within two more
 * AlivePeriods: HOLDs were lost (under 5 % loss each way about one in
 * ten; three in a row a few times an hour in a network of a hundred), or
 * a new epoch's HOLD and some of what it told again. Waiting for the
 * next may be too late, and the facts, members among them, would lapse.
 * A router's HOLD lasts only as long as its shortest-lived copy, which
 * may be little more than its period: a leaf that waited two periods
 * for it let what the router vouches for lapse (quiet.c: a dormant pair
 * woke, with every peer at once) before it asked. A NACK with our record
 * asks for a HOLD: when it matches, the sender answers with one at once
 * (on_nack), else it repairs as for any NACK. Asked again each two
 * chunks until one matches. */
static void ask_hold(struct engine *e, struct peer *sp, int64_t now)
{
	struct lease_rx *r = &sp->lrx;
	if (!r->have || r->refusing || r->pending || r->nack_due)
		return;
	/* Missing: none since the last, or none since the epoch opened. */
	bool matched = r->matched_at != ENGINE_NEVER;
	int64_t since = matched ? r->matched_at : r->opened_at;
	int64_t wait = matched ? hold_missing_after(e, sp) : 2 * e->t.chunk_period_ms;
	if (now - since < wait)
		return;
	/* Until a HOLD matched in this epoch, its first copies are the oldest. */
	int64_t lapse = r->extended_until != ENGINE_NEVER ? r->extended_until
							   : r->opened_at + e->t.fact_ttl_ms;
	/* A leaf asks its router at once, whatever is left of its copies: an
	 * answer, or none to several asks, tells whether the router is still
	 * there (lease_silent). */
	bool of_router = sp->router && !e->router;
	if (!of_router && lapse - now >= 2 * e->t.alive_period_ms + e->t.chunk_period_ms)
		return;
	if (r->asked_at != ENGINE_NEVER && now - r->asked_at < 2 * e->t.chunk_period_ms)
		return;
	r->asked_at = now;
	e->st.lease_holds_asked++;
	ask_repair(e, sp, now);
}

/* How many asks for a HOLD go unanswered before its sender counts as
 * gone. Under 5 % loss each way a HOLD goes missing about one period in
 * twenty, and one ask in ten goes unanswered; four in a row after a lost
 * HOLD, about once in 200,000 periods. */
#define SILENT_ASKS 4

bool lease_silent(const struct engine *e, const struct peer *sp, int64_t now)
{
	if (!sp->lrx.have || sp->heard_at == ENGINE_NEVER)
		return false;
	int64_t asked = SILENT_ASKS * 2 * e->t.chunk_period_ms; /* ask_hold: one each two chunks */
	return now - sp->heard_at >= hold_missing_after(e, sp) + asked;
}

void lease_check_pending(struct engine *e, struct peer *sp, int64_t now)
{
	struct lease_rx *r = &sp->lrx;
	ask_hold(e, sp, now);
	if (!r->pending || r->nack_at == ENGINE_NEVER)
		return;
	if (now < r->nack_at) {
		want_tick(e, r->nack_at);
		return;
	}
	r->pending = false;
	r->nack_at = ENGINE_NEVER;
	ask_repair(e, sp, now);
}

static void on_hold(struct engine *e, struct peer *sp, const struct lease_msg *m, uint16_t ttl,
		    int64_t now)
{
	struct lease_rx *r = &sp->lrx;
	if (r->refusing)
		return;
	/* A HOLD of an epoch whose facts all went astray opens it empty, so
	 * the mismatch asks for them. */
	if (!r->have || m->epoch != r->epoch)
		open_epoch(r, m->epoch, now);
	r->pending = true;
	r->want_count = m->count;
	r->want_digest = m->digest;
	r->want_ttl = ttl;
	check_hold(e, sp, now);
}

static void on_withdraw(struct engine *e, struct peer *sp, const struct lease_msg *m)
{
	struct lease_rx *r = &sp->lrx;
	if (!r->have || m->epoch != r->epoch || !r->s)
		return;
	for (size_t i = 0; i < m->n; i++) {
		struct lease_slot *s = slot_for(r, m->gone[i]);
		if (!s->lh)
			continue;
		delete_at(r, (size_t)(s - r->s));
		e->st.lease_withdrawn++;
	}
}

int64_t lease_recent_ms(const struct engine *e)
{
	return 2 * e->t.alive_period_ms + e->t.chunk_period_ms;
}

/* Forgets that sp was told what we told it since `since`: told again at
 * the next send (the same epoch; a receiver that has one already keeps
 * it). */
static void forget_recent(struct engine *e, struct peer *sp, int64_t since)
{
	struct lease_tx *t = &sp->ltx;
	struct knowledge *k = &sp->know;
	for (size_t i = 0; k->s && i <= k->mask; i++) {
		struct know_slot *s = &k->s[i];
		if (!s->h || !lease_told(s->expires) || s->expires - LEASE_TOLD < since)
			continue;
		long pos = factset_find_h(&e->fs, s->h);
		if (pos < 0)
			continue; /* gone: the sender's scan withdraws it */
		knowledge_forget_slot(k, s);
		t->count--;
		t->digest ^= e->fs.v[pos].lh;
	}
}

/* sp says what we lease it does not match (its count in m): repair. */
static void on_nack(struct engine *e, struct peer *sp, const struct lease_msg *m, int64_t now)
{
	struct lease_tx *t = &sp->ltx;
	if (!sp->ltx_on || m->epoch != t->epoch)
		return;
	/* [ours] Its record matches ours: it asks for a HOLD, its copies
	 * about to lapse (ask_hold). One goes at our next send. */
	if (m->count == t->count && m->digest == t->digest && !t->restart) {
		t->held_at = ENGINE_NEVER;
		e->st.lease_holds_resent++;
		engine_mark_dirty(e, now);
		return;
	}
	e->st.lease_repairs++;
	t->nacked_at = now;
	bool first = t->repairs++ == 0;
	if (m->count < t->count && t->repairs <= 3) {
		/* Fewer: some were lost on the way. Recent ones first. */
		if (first) {
			forget_recent(e, sp, now - lease_recent_ms(e));
		} else {
			peer_know_clear(sp);
			t->count = 0;
			t->digest = 0;
		}
	} else if (m->count > t->count && first && t->n_gone) {
		t->rewithdraw = true; /* more: a WITHDRAW was lost */
	} else {
		/* Only a new epoch clears what it kept of the old. */
		t->restart = true;
	}
	engine_mark_dirty(e, now);
}

void lease_finish(struct engine *e, struct peer *sp, const struct packet *pk, int64_t now)
{
	struct cursor c;
	struct lease_msg m;
	uint16_t ttl;
	packet_facts_begin(pk, &c);
	/* Withdrawals first: a HOLD in the same datagram counts without them. */
	while (next_lease(&c, sp, &m, &ttl))
		if (m.kind == LEASE_WITHDRAW)
			on_withdraw(e, sp, &m);
	packet_facts_begin(pk, &c);
	while (next_lease(&c, sp, &m, &ttl)) {
		switch (m.kind) {
		case LEASE_HOLD:
			if (e->t.leases)
				on_hold(e, sp, &m, ttl, now);
			break;
		case LEASE_NACK:
			on_nack(e, sp, &m, now);
			break;
		case LEASE_REFUSE:
			sp->ltx.refused = true;
			lease_tx_stop(sp);
			engine_mark_dirty(e, now);
			break;
		case LEASE_PATH_DEAD:
		case LEASE_PATH_WAKE:
			if (e->t.leases)
				engine_pathnote_received(e, sp, m.kind, m.key, now);
			break;
		}
	}
	/* Facts that came after their HOLD may complete it. */
	if (e->t.leases)
		check_hold(e, sp, now);
}

/* --- the sender's state ---------------------------------------------------------- */

void lease_tx_stop(struct peer *p)
{
	if (p->ltx_on)
		peer_know_clear(p);
	p->ltx_on = false;
	p->ltx.restart = false;
}

void lease_tx_start(struct engine *e, struct peer *p)
{
	struct lease_tx *t = &p->ltx;
	/* A lease stopped and started again continues the count, so the
	 * peer sees an epoch other than the one it may still keep; numbered
	 * afresh only once the peer restarted (its table is gone). */
	if (t->numbered) {
		t->epoch++;
	} else {
		rng_bytes(&e->rng, (uint8_t *)&t->epoch, sizeof(t->epoch));
		t->numbered = true;
	}
	p->ltx_on = true;
	t->restart = false;
	t->repairs = 0;
	t->count = 0;
	t->digest = 0;
	t->held_at = ENGINE_NEVER;
	t->nacked_at = ENGINE_NEVER;
	t->rewithdraw = false;
	t->n_gone = 0;
	t->gone_next = 0;
	peer_know_clear(p);
	e->st.lease_epochs++;
}

void lease_tx_note_gone(struct peer *p, uint64_t lh, int64_t now)
{
	struct lease_tx *t = &p->ltx;
	if (!t->gone && !(t->gone = calloc(1, sizeof(*t->gone))))
		return; /* out of memory: a repair resends less, its NACK asks again */
	t->gone->lh[t->gone_next] = lh;
	t->gone->at[t->gone_next] = now;
	t->gone_next = (uint8_t)((t->gone_next + 1) % LEASE_RECENT_GONE);
	if (t->n_gone < LEASE_RECENT_GONE)
		t->n_gone++;
}

void lease_peer_restarted(struct peer *p)
{
	p->lease_ok = p->dormant_ok = false;
	p->ltx.refused = false;
	p->ltx.numbered = false;
	lease_tx_stop(p);
	lease_rx_reset(&p->lrx);
	p->hellos = 0; /* a router is asked again (path.c) */
}
