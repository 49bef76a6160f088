/* [ours] Which peers a tick must visit (docs/due-times.md).
 *
 * A tick walked every peer through every pass, though in a large
 * network's steady state it changes one or two of them. A peer needs a
 * visit only when an input of its passes moved since its last visit
 * (touched: a datagram or probe from it, its device view, a note naming
 * it; a fact about it that comes or moves rebuilds the index, which
 * visits everyone) or a test of `now` in its passes can flip (its
 * due time, worked out at its last visit; a peer in the midst of
 * something a tick drives is due at once). What every peer reads (our
 * role, apply's gates, the fact index, our boot id, ...) is global: when
 * it moves, the passes from there on visit everyone.
 *
 * What deciding reads of each peer (its due time, touched and skip
 * flags) is kept in an array beside the peer table (peertab.vis), so a
 * peer left alone is not loaded at all; with a shell that says which
 * device peers moved (engine_device.same_peers), neither is its view.
 * A HOLD that moves a dormant peer's vouch later has only its liveness
 * follow and its due time worked out again (observe.c: vouch_extended).
 *
 * The shadow (engine_visit_shadow, for the simulator's tests) makes the
 * same decisions but runs every tick in full, then checks that every
 * peer it would have left alone came out as it went in and is named by
 * no change, event or datagram of the tick: a miss names an input or a
 * due time this file does not know of. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine_internal.h"

/* t, if it lies ahead and before *due: a flip at t. */
static void flip_at(int64_t *due, int64_t t, int64_t now)
{
	if (t != ENGINE_NEVER && t > now && t < *due)
		*due = t;
}

/* base + d, a flip, unless base is ENGINE_NEVER. */
static void flip_after(int64_t *due, int64_t base, int64_t d, int64_t now)
{
	if (base != ENGINE_NEVER)
		flip_at(due, base + d, now);
}

/* A pending deadline: due at t, even if t has passed. */
static void pending(int64_t *due, int64_t t)
{
	if (t != ENGINE_NEVER && t < *due)
		*due = t;
}

/* When the next Alive to p falls due by time (send.c: send_peer). */
static int64_t alive_due(const struct engine *e, const struct peer *p, int64_t now)
{
	if (!p->send_ok)
		return ENGINE_NEVER;
	if (p->force_alive || p->alive_told == ENGINE_NEVER)
		return now;
	if (p->paired_tx)
		return ENGINE_NEVER;
	int64_t ttl = p->quiet_tx ? engine_quiet_ttl_ms(e) : e->t.fact_ttl_ms;
	return p->alive_told - ttl + engine_alive_period_ms(e, p);
}

/* A peer every tick visits: one whose passes depend on every other
 * peer, or that is in the midst of something a tick drives. */
static bool always(const struct engine *e, const struct peer *p, int64_t now)
{
	/* path.c: the watch looks at a path in use, or just woken, at every
	 * tick */
	bool in_use = engine_path_active(e, p, now) ||
		      (p->woken_at != ENGINE_NEVER && now - p->woken_at < e->t.watch_ms);
	/* path.c: hello_wanted (a hello still has something to find out) */
	bool asking = p->hellos < PATH_HELLOS && (!p->ours || !p->lease_ok || !p->dormant_ok);
	return e->router || p->router || p->ltx_on || p->lrx.have || !p->healthy || asking ||
	       in_use || p->path_dead || p->punches > 0 || p->follow_due || p->told_watch ||
	       p->told_wake || p->boot_changed || p->handshake != p->prev_handshake;
}

/* The flips of p's liveness and vouch (observe.c, apply.c, quiet.c): the
 * times a HOLD moves (observe.c: vouch_extended). */
static int64_t lapse_time(const struct engine *e, const struct peer *p, int64_t now)
{
	int64_t due = INT64_MAX, C = e->t.chunk_period_ms;
	flip_at(&due, p->alive_until, now);
	flip_after(&due, p->alive_until, -C / 2, now);
	flip_at(&due, p->vouch_until, now);
	flip_after(&due, p->vouch_until, -C, now);
	return due;
}

/* The earliest time a test of `now` in p's passes can flip, but those of
 * lapse_time. */
static int64_t due_time(const struct engine *e, const struct peer *p, int64_t now)
{
	int64_t due = INT64_MAX;
	int64_t A = e->t.alive_period_ms, C = e->t.chunk_period_ms, W = e->t.watch_ms,
		I = e->t.probe_interval_ms, Q = e->t.quiet_period_ms;
	/* health (observe.c): a fresh handshake, receiving in either window */
	flip_after(&due, p->handshake, e->t.handshake_validity_ms, now);
	int64_t heard = engine_heard_at(p);
	flip_after(&due, heard, 2 * (A + C), now);
	flip_after(&due, heard, 2 * (Q + C), now);
	flip_after(&due, p->quiet_left_at, 2 * (A + C), now);
	/* sending (send.c) */
	pending(&due, alive_due(e, p, now));
	flip_at(&due, p->hold_until, now);
	if (p->send_ok)
		pending(&due, p->resend_at);
	/* the path watch (path.c; retry_at only counts while the path is
	 * dead, and such a peer is always visited) */
	flip_after(&due, p->probe_at, I, now);
	flip_after(&due, p->hello_at, PATH_HELLO_GAP_MS, now);
	flip_after(&due, p->punch_at, I, now);
	flip_after(&due, p->active_at, W, now);
	flip_at(&due, p->crossed_until, now);
	flip_after(&due, p->crossed_until, W, now);
	flip_after(&due, p->woken_at, W, now);
	/* note_held: "longer than", so the first tick past it */
	flip_after(&due, p->held_since, PATH_HELD_MS + 1, now);
	/* trying endpoints (apply.c; an unhealthy peer's tries, try_again_at
	 * among them, and a lease's HOLDs and nack_at: always visited) */
	flip_after(&due, p->cand_seen_at, APPLY_LAN_WAIT_MS, now);
	return due;
}

void engine_visit_touch(struct engine *e, struct peer *p)
{
	if (p)
		peer_bit_put(e->pt.vis.touched, p->at, true);
}

/* Whether the device's view of p moved since p's last visit: its
 * AllowedIPs as apply last saw them (an operator may edit them, which
 * shows nowhere else), and what observe reads. */
static bool view_moved(const struct peer *p, const struct engine_peer_view *wp)
{
	return !p->in_device || p->has_endpoint != wp->has_endpoint ||
	       (wp->has_endpoint && !wl_endpoint_equal(&p->endpoint, &wp->endpoint)) ||
	       wp->handshake_ms != p->handshake || wp->rx_bytes != p->rx_bytes ||
	       wp->tx_bytes != p->tx_bytes || wp->n_allowed != p->calm.n ||
	       engine_allowed_hash(wp) != p->calm.device;
}

/* Whether the Alive p is sent would go otherwise now (send.c: a change
 * of quiet offer sends one at once). */
static bool offer_moved(const struct engine *e, const struct peer *p, int64_t now)
{
	if (!p->send_ok)
		return false;
	enum quiet_offer offer = engine_quiet_offer(e, p, now);
	return (offer != QUIET_LOUD) != p->quiet_tx || (offer == QUIET_DORMANT) != p->dormant_tx;
}

/* When p is next due, as its visit leaves it; and in *rest the same but
 * for lapse_time, kept for a HOLD that moves only those
 * (engine_visit_redue). */
static int64_t due_at(const struct engine *e, const struct peer *p, int64_t now, int64_t *rest)
{
	/* In the midst of something a tick drives: due at once. */
	if (always(e, p, now) || offer_moved(e, p, now))
		return *rest = now;
	*rest = due_time(e, p, now);
	int64_t lapse = lapse_time(e, p, now);
	return lapse < *rest ? lapse : *rest;
}

/* What visits everyone this tick, known at its start. */
static bool global_at_start(const struct engine *e, int64_t now)
{
	return e->last_tick == ENGINE_NEVER || now - e->last_tick > 2 * e->t.chunk_period_ms ||
	       e->boot_reason[0] || e->router;
}

void engine_visit_begin(struct engine *e, int64_t now, const struct engine_device *dev,
			const struct engine_actions *out)
{
	struct visit_state *v = &e->visit;
	v->dev = dev;
	v->deciding = v->shadow || e->t.skip_idle;
	v->all = !v->deciding || global_at_start(e, now);
	v->st.ticks++;
	v->st.peers += e->pt.n;
	v->st.global_ticks += v->all;
	v->index_before = e->index_epoch;
	memcpy(v->boot_before, e->boot_id, sizeof(v->boot_before));
	v->from[0] = out->n_changes;
	v->from[1] = out->n_events;
	v->from[2] = out->n_send;
	v->n_before = 0;
	v->removed_before = e->pt.removed;
}

static void note_miss(struct engine *e, const struct peer *p, const char *what, size_t at,
		      int64_t now);

/* Keeps a copy of p as the tick found it, to check it against. */
static void keep_copy(struct engine *e, struct peer *p)
{
	struct visit_state *v = &e->visit;
	if (v->n_before == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 64;
		struct visit_copy *c = realloc(v->before, cap * sizeof(*c));
		if (!c) {
			v->shadow = false; /* a check it cannot make is not made */
			return;
		}
		v->before = c;
		v->cap = cap;
	}
	v->before[v->n_before].p = p;
	v->before[v->n_before++].copy = *p;
}

void engine_visit_decide(struct engine *e, int64_t now)
{
	struct visit_state *v = &e->visit;
	struct peer_visits *pv = &e->pt.vis;
	size_t n = e->pt.n;
	/* Left alone: not touched, and not due. */
	for (size_t w = 0; w < (n + 63) / 64; w++) {
		size_t base = w * 64, end = n - base < 64 ? n - base : 64;
		uint64_t due = 0;
		for (size_t k = 0; k < end; k++)
			due |= (uint64_t)(pv->due[base + k] <= now) << k;
		pv->skip[w] = v->all ? 0 : ~(pv->touched[w] | due) & peer_bits_below(n, w);
	}
	/* Out of the device: no view of it comes to move it
	 * (engine_visit_view). */
	for (size_t i = 0; v->shadow && i < n; i++)
		if (peer_bit(pv->skip, i) && !e->pt.v[i]->in_device)
			keep_copy(e, e->pt.v[i]);
}

void engine_visit_now(struct engine *e, struct peer *p)
{
	peer_bit_put(e->pt.vis.skip, p->at, false);
}

bool engine_visit_left_alone(const struct engine *e, const struct peer *p)
{
	return e->visit.deciding && !e->visit.all && peer_bit(e->pt.vis.skip, p->at);
}

void engine_visit_redue(struct engine *e, struct peer *p)
{
	struct visit_state *v = &e->visit;
	peer_bit_put(e->pt.vis.redue, p->at, true);
	/* The shadow checks the rest of the tick against p as it is now. */
	for (size_t i = 0; v->shadow && i < v->n_before; i++)
		if (v->before[i].p == p)
			v->before[i].copy = *p;
}

void engine_visit_view(struct engine *e, struct peer *p, const struct engine_peer_view *wp)
{
	struct peer_visits *pv = &e->pt.vis;
	bool moved = view_moved(p, wp);
	peer_bit_put(pv->settled, p->at, !moved);
	if (moved)
		peer_bit_put(pv->skip, p->at, false);
	else if (peer_bit(pv->skip, p->at) && e->visit.shadow)
		keep_copy(e, p);
}

void engine_visit_view_same(struct engine *e, size_t at, struct peer *p,
			    const struct engine_peer_view *wp, int64_t now)
{
	if (!e->visit.shadow || !peer_bit(e->pt.vis.skip, at))
		return;
	/* The shadow checks what was taken on trust: the shell said the view
	 * is as at the last tick, and the peer's last visit left the two
	 * agreeing. */
	if (view_moved(p, wp)) {
		note_miss(e, p, "its view moved unseen", 0, now);
		peer_bit_put(e->pt.vis.skip, at, false);
		return;
	}
	keep_copy(e, p);
}

/* The global inputs every peer's passes read, as bits. */
static unsigned global_sig(const struct engine *e)
{
	return e->apply_gates | (e->routers_silent ? 16u : 0) | (e->nat_free ? 32u : 0) |
	       (e->busy ? 64u : 0) | (e->router ? 128u : 0);
}

void engine_visit_global(struct engine *e)
{
	struct visit_state *v = &e->visit;
	unsigned sig = global_sig(e);
	bool moved = e->index_epoch != v->index_before ||
		     memcmp(v->boot_before, e->boot_id, sizeof(v->boot_before)) != 0 || e->moved;
	if ((moved || sig != v->sig) && !v->all) {
		v->all = true;
		v->st.global_later++;
	}
	v->sig_now = sig;
}

/* The bytes of a peer state the check compares: all but what a tick
 * writes for every peer whatever happened (last_seen) and where its local
 * facts were last found (lf_hint: a guess, any value will do). */
static size_t differs_at(const struct peer *a, const struct peer *b)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	size_t skip[][2] = {
		{ offsetof(struct peer, last_seen), sizeof(a->last_seen) },
		{ offsetof(struct peer, lf_hint), sizeof(a->lf_hint) },
	};
	for (size_t i = 0; i < sizeof(*a); i++) {
		bool skipped = false;
		for (size_t k = 0; k < sizeof(skip) / sizeof(skip[0]); k++)
			skipped = skipped || (i >= skip[k][0] && i < skip[k][0] + skip[k][1]);
		if (!skipped && x[i] != y[i])
			return i;
	}
	return SIZE_MAX;
}

static void note_miss(struct engine *e, const struct peer *p, const char *what, size_t at,
		      int64_t now)
{
	struct engine_visit_stats *st = &e->visit.st;
	st->missed++;
	if (st->n_misses >= ENGINE_VISIT_MISSES)
		return;
	char lb[WL_PEER_LABEL_MAX];
	snprintf(st->misses[st->n_misses++], sizeof(st->misses[0]), "at %lld ms, %s: %s (byte %zu)",
		 (long long)now, engine_peer_label(p, lb), what, at);
}

void engine_visit_shortcut_missed(struct engine *e, const struct peer *p, const char *what,
				  int64_t now)
{
	note_miss(e, p, what, 0, now);
}

/* Whether a change, event or datagram of this tick names p. */
static const char *named(const struct peer *p, const struct engine_actions *out,
			 const size_t from[3])
{
	for (size_t i = from[0]; i < out->n_changes; i++)
		if (memcmp(out->changes[i].key, p->key, WL_KEY_LEN) == 0)
			return "a device change";
	for (size_t i = from[1]; i < out->n_events; i++)
		if (out->events[i].has_peer && memcmp(out->events[i].peer, p->key, WL_KEY_LEN) == 0)
			return "an event";
	for (size_t i = from[2]; i < out->n_send; i++)
		if (wl_addr_equal(&out->send[i].dst, &p->auto_addr))
			return "a datagram";
	return NULL;
}

/* The shadow's check: the peers the tick would have left alone. A tick
 * that came to visit everyone is not checked (its skips were undone). */
static void check(struct engine *e, int64_t now, const struct engine_actions *out)
{
	struct visit_state *v = &e->visit;
	if (v->all || e->pt.removed != v->removed_before)
		return; /* (a peer removed: the copies' peers may be gone) */
	for (size_t i = 0; i < v->n_before; i++) {
		const struct peer *p = v->before[i].p;
		if (!peer_bit(e->pt.vis.skip, p->at))
			continue; /* visited after all (engine_visit_now, _view_same) */
		v->st.skippable++;
		size_t at = differs_at(&v->before[i].copy, p);
		const char *why = named(p, out, v->from);
		if (at != SIZE_MAX)
			note_miss(e, p, "its state changed", at, now);
		else if (why)
			note_miss(e, p, why, 0, now);
	}
}

/* The shadow's check of a due time worked out again from its rest: as
 * a visit would work it out. */
static void check_redue(struct engine *e, const struct peer *p, int64_t due, int64_t now)
{
	int64_t rest;
	if (due_at(e, p, now, &rest) != due)
		note_miss(e, p, "its due time, worked out again, is not a visit's", 0, now);
}

void engine_visit_end(struct engine *e, int64_t now, const struct engine_actions *out)
{
	struct visit_state *v = &e->visit;
	struct peer_visits *pv = &e->pt.vis;
	size_t n = e->pt.n, words = (n + 63) / 64;
	if (!v->deciding) {
		/* Nothing kept up to date: the first tick that decides again
		 * compares every view (observe.c: observe_moved). */
		if (words)
			memset(pv->settled, 0, words * sizeof(*pv->settled));
		return;
	}
	if (v->shadow)
		check(e, now, out);
	else if (!v->all)
		for (size_t w = 0; w < words; w++)
			v->st.skippable += (uint64_t)__builtin_popcountll(pv->skip[w]);
	v->sig = v->sig_now;
	for (size_t w = 0; w < words; w++) {
		uint64_t skip = v->all ? 0 : pv->skip[w], touched = 0;
		/* Left alone: as it was, and due when it was; or, its vouch
		 * moved (redue), at the least of its new lapse times and the
		 * rest, which nothing moved (a time of the rest passed would
		 * have made the peer due). */
		for (uint64_t b = skip & pv->redue[w]; b; b &= b - 1) {
			size_t i = w * 64 + (size_t)__builtin_ctzll(b);
			const struct peer *p = e->pt.v[i];
			int64_t lapse = lapse_time(e, p, now);
			pv->due[i] = lapse < p->due_rest ? lapse : p->due_rest;
			if (v->shadow)
				check_redue(e, p, pv->due[i], now);
		}
		for (uint64_t b = ~skip & peer_bits_below(n, w); b; b &= b - 1) {
			size_t k = (size_t)__builtin_ctzll(b), i = w * 64 + k;
			struct peer *p = e->pt.v[i];
			pv->due[i] = due_at(e, p, now, &p->due_rest);
			/* What went to it or is awaited from it this tick is
			 * counted against the device's counters at the next
			 * (path.c). */
			touched |= (uint64_t)(p->own_rx || p->own_tx) << k;
			peer_bit_put(pv->settled, i,
				     p->dev_idx >= 0 && (size_t)p->dev_idx < v->dev->n_peers &&
					     !view_moved(p, &v->dev->peers[p->dev_idx]));
		}
		pv->touched[w] = touched;
		pv->skip[w] = pv->redue[w] = 0;
	}
	/* The device shows a change at the next tick: its peer is looked at
	 * then (apply.c compares the device's AllowedIPs). */
	for (size_t i = v->from[0]; i < out->n_changes; i++)
		engine_visit_touch(e, peertab_find(&e->pt, out->changes[i].key));
}

void engine_visit_shadow(struct engine *e, bool on)
{
	e->visit.shadow = on;
}

void engine_visit_skip_idle(struct engine *e, bool on)
{
	e->t.skip_idle = on;
}

const struct engine_visit_stats *engine_visit_stats(const struct engine *e)
{
	return &e->visit.st;
}

void engine_visit_stats_add(struct engine_visit_stats *sum, const struct engine_visit_stats *v)
{
	sum->ticks += v->ticks;
	sum->peers += v->peers;
	sum->global_ticks += v->global_ticks;
	sum->global_later += v->global_later;
	sum->skippable += v->skippable;
	sum->missed += v->missed;
}

void engine_visit_free(struct engine *e)
{
	free(e->visit.before);
	e->visit.before = NULL;
	e->visit.cap = 0;
}
