/* Path notes through the router [ours]: dead paths, and dormant ones
 * woken.
 *
 * A direct path can die while only one side sends: A's traffic to B
 * finds it dead within seconds (path.c) and falls back to the router,
 * but B does not hear of it. B's answers still take the dead direct path,
 * and what A sends through the router never reaches B's applications
 * either: B's WireGuard drops a packet from A that arrives from the
 * router, because A's addresses are B's direct peer's AllowedIPs. B finds
 * out only when its own watch or health does: seconds if B sends enough
 * to be watched, but 70 to 165 s for a trickle of answers, and up to two
 * quiet periods for a quiet pair (quiet.c).
 *
 * So A tells its router (a lease PATH_DEAD naming B), and the router
 * tells B (PATH_DEAD naming A); B then watches its path to A as if the
 * user's traffic flowed (path.c): its probes find it dead within about
 * a second and it falls back, or they are answered and nothing changes
 * (A's own probes may have been lost). Only between daemons that read leases,
 * whose 'L' facts carry the note; a router only passes notes on, and a
 * leaf takes them only from a router. A note can only ever cut the path
 * between its sender and its receiver, which the sender could as well
 * have blocked itself.
 *
 * A dormant pair (quiet.c) sends nothing while idle, and a NAT in front
 * of either side forgets its mapping for the other. When A's traffic to
 * B starts, A's packets open A's NAT towards B but are dropped at B's.
 * So A tells its router (PATH_WAKE naming B) as soon as its watch sees
 * the traffic, and the router tells B; B sends A a few probes (path.c:
 * punch), which open B's NAT while A's is open: the path works again
 * before A's watch could find it dead. Their answers decide nothing at
 * B: if they do not get through, A's watch finds the path dead and A
 * falls back, and its PATH_DEAD note has B watch its side too.
 *
 * A leaf that restarts knows nothing of that, and the leaves dormant
 * towards it do not hear its Alives through their NATs. Its router does:
 * it wakes them all towards it. */
#include <string.h>

#include "core/engine_internal.h"
#include "wire/lease.h"

void engine_pathnote_found_dead(struct engine *e, struct peer *p)
{
	if (p->router || e->router)
		return;
	p->note_due = true;
	e->notes_due = true;
}

void engine_pathnote_wake(struct engine *e, struct peer *p)
{
	if (p->router || e->router || !e->t.leases || p->wake_due)
		return;
	p->wake_due = true;
	e->notes_due = true;
	e->st.path_wakes_sent++;
}

/* The router's side: `from` sends a note of this kind about its path to
 * `key`; pass it on. */
static void relay(struct engine *e, struct peer *from, uint8_t kind, const uint8_t *key,
		  int64_t now)
{
	struct peer *to = peertab_find(&e->pt, key);
	if (!to || to == from || !to->in_device || to->router || !to->lease_ok)
		return;
	/* A leaf has us pass on at most two notes to every peer per
	 * AlivePeriod (its restart woke them all, pathnote_restarted, and its
	 * new daemon wakes those it was direct with): one that sends more
	 * spends only its share. */
	if (from->relayed_since == ENGINE_NEVER || now - from->relayed_since >= e->t.alive_period_ms) {
		from->relayed_since = now;
		from->relayed = 0;
	}
	if (from->relayed >= 2 * e->pt.n) {
		e->st.path_notes_capped++;
		return;
	}
	from->relayed++;
	struct peer_rare *r = peer_rare(to);
	if (!r)
		return; /* out of memory: the path retries will do */
	for (size_t i = 0; i < to->n_notes; i++)
		if (r->note_kinds[i] == kind && memcmp(r->notes[i], from->key, WL_KEY_LEN) == 0)
			return;
	/* Full: the oldest goes (its receiver has likely heard of it). */
	if (to->n_notes == PEER_NOTES_MAX) {
		memmove(r->notes[0], r->notes[1], (PEER_NOTES_MAX - 1) * WL_KEY_LEN);
		memmove(r->note_kinds, r->note_kinds + 1, PEER_NOTES_MAX - 1);
		to->n_notes--;
	}
	r->note_kinds[to->n_notes] = kind;
	memcpy(r->notes[to->n_notes++], from->key, WL_KEY_LEN);
	e->st.path_notes_relayed++;
	engine_mark_dirty(e, now);
}

/* A leaf's side: our router says `key` finds its path to us dead (we
 * watch ours now), or wakes us towards it (we send to it). */
static void heard(struct engine *e, uint8_t kind, const uint8_t *key, int64_t now)
{
	struct peer *p = peertab_find(&e->pt, key);
	if (!p || !p->in_device || p->router || p->path_dead)
		return;
	if (kind == LEASE_PATH_WAKE)
		p->told_wake = true;
	else
		p->told_watch = true;
	engine_visit_touch(e, p);
	e->st.path_notes_heard++;
	engine_mark_dirty(e, now);
}

void engine_pathnote_received(struct engine *e, struct peer *sp, uint8_t kind, const uint8_t *key,
			      int64_t now)
{
	if (engine_is_self(e, key))
		return;
	if (e->router)
		relay(e, sp, kind, key, now);
	else if (sp->router)
		heard(e, kind, key, now);
}

void engine_pathnote_restarted(struct engine *e, struct peer *sp, int64_t now)
{
	/* A leaf that keeps changing its boot id would have us call every
	 * other leaf each time: once an AlivePeriod at most, its own share. */
	if (!e->router ||
	    (sp->woke_all_at != ENGINE_NEVER && now - sp->woke_all_at < e->t.alive_period_ms))
		return;
	sp->woke_all_at = now;
	for (size_t i = 0; i < e->pt.n; i++)
		if (e->pt.v[i]->dormant_ok)
			relay(e, sp, LEASE_PATH_WAKE, e->pt.v[i]->key, now);
}

size_t engine_pathnote_take(struct engine *e, struct peer *p, uint8_t (*keys)[WL_KEY_LEN],
			    uint8_t *kinds, size_t cap)
{
	size_t n = 0;
	if (e->router) {
		for (; n < p->n_notes && n < cap; n++) {
			memcpy(keys[n], p->rare->notes[n], WL_KEY_LEN);
			kinds[n] = p->rare->note_kinds[n];
		}
		p->n_notes = 0; /* any left over: the path retries will do */
		return n;
	}
	if (!p->router || !e->notes_due)
		return 0;
	for (size_t i = 0; i < e->pt.n && n < cap; i++) {
		const struct peer *q = e->pt.v[i];
		if (!q->note_due && !q->wake_due)
			continue;
		memcpy(keys[n], q->key, WL_KEY_LEN);
		kinds[n++] = q->note_due ? LEASE_PATH_DEAD : LEASE_PATH_WAKE;
	}
	return n;
}

void engine_pathnote_sent(struct engine *e)
{
	if (!e->notes_due)
		return;
	for (size_t i = 0; i < e->pt.n; i++)
		e->pt.v[i]->note_due = e->pt.v[i]->wake_due = false;
	e->notes_due = false;
}
