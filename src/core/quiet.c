/* Quiet pairs [ours]: two idle peers of ours on a direct path between
 * public nodes send each other an Alive every quiet_period_ms (10 min)
 * instead of every AlivePeriod (30 s).
 *
 * Why: between leaves those Alives were nearly all a mesh's idle traffic
 * (the 9-node mesh: 72 streams of one 173-byte datagram per 30 s), and a
 * leaf's grew with the network. What they bought there:
 *  - liveness: the Alive's ttl says how long it lasts, so a quiet Alive
 *    carries a longer one (engine_quiet_ttl_ms);
 *  - health, from WireGuard's counters: each Alive draws a handshake and
 *    moves the receive counter, so a quiet pair counts the counter over
 *    2 quiet periods instead of 2 AlivePeriods (observe.c);
 *  - a NAT's mapping kept open: not needed where no NAT is, which is why
 *    only nodes that a peer sees at their own address go quiet.
 * A path that dies while the user's traffic flows is found by the path
 * watch in about two seconds, quiet or not (path.c); a quiet path that
 * dies while idle is found within 2 quiet periods.
 *
 * Agreement: a node that may go quiet towards a peer sends it Alives with
 * the long ttl (an original never does: its ttl is FactTTL); it stretches
 * its own period only once the peer's Alives show the same. Either side
 * going loud again (a NAT appeared, the path failed) sends at once with
 * the short ttl, and the other follows. Only peers known to be ours and
 * to read leases are asked: a leaf learns that of another leaf by the
 * same hello it sends a router (path.c).
 *
 * Dormant pairs [ours, setting Dormant]: two leaves whose router vouches
 * for both (observe.c: it still leases us facts about the peer, one of
 * them the endpoint we use) send nothing at all while idle, behind NATs
 * too; the ttl 65535 offers it, to a peer that showed it reads it (a
 * version 3 probe). Liveness then comes from the router, health is
 * assumed until traffic shows otherwise, and when traffic starts the
 * router wakes the other side, whose probes open its NAT again
 * (pathnote.c, path.c: punch). docs/quiet.md has the whole of it. */
#include <string.h>

#include "core/engine_internal.h"

/* Two of the longer side's periods (answers() below) and an AlivePeriod:
 * one quiet Alive may be lost. */
int64_t engine_quiet_ttl_ms(const struct engine *e)
{
	return 2 * (e->t.quiet_period_ms + 2 * e->t.alive_period_ms) + e->t.alive_period_ms;
}

bool engine_quiet_enabled(const struct engine *e)
{
	return e->t.leases && e->t.quiet_period_ms > 0;
}

bool engine_dormant_enabled(const struct engine *e)
{
	return engine_quiet_enabled(e) && e->t.dormant;
}

/* We may be quiet towards anyone: no NAT in front of us. */
bool engine_quiet_self(const struct engine *e)
{
	return engine_quiet_enabled(e) && !e->router && e->nat_free;
}

/* A router stands by facts about p (observe.c): it hears p, and
 * withdraws them once p is neither alive nor healthy there. Its HOLDs
 * keep them an AlivePeriod and a chunk ahead at least (send.c: upheld),
 * so a chunk's margin says "still held", not "about to lapse". A router
 * that is gone (lease_silent) stands by nothing, whatever our copies have
 * left: both sides of a dormant pair then wake within its period of each
 * other, not each when its own copies lapse. */
bool engine_vouched(const struct engine *e, const struct peer *p, int64_t now)
{
	return !e->routers_silent && p->vouch_until != ENGINE_NEVER && p->vouch_ep &&
	       p->vouch_until - now > e->t.chunk_period_ms;
}

/* Idle towards p at all: two leaves of ours on a working path. */
static bool may_idle(const struct engine *e, const struct peer *p)
{
	return engine_quiet_enabled(e) && !e->router && !p->router && p->ours && p->lease_ok &&
	       p->healthy && !p->path_dead;
}

enum quiet_offer engine_quiet_offer(const struct engine *e, const struct peer *p, int64_t now)
{
	if (!may_idle(e, p))
		return QUIET_LOUD;
	if (engine_dormant_enabled(e) && p->dormant_ok && engine_vouched(e, p, now))
		return QUIET_DORMANT;
	return e->nat_free ? QUIET_QUIET : QUIET_LOUD;
}

/* Both quiet, or both dormant. One dormant and one only quiet is loud:
 * the dormant side may be behind a NAT, which the quiet period does not
 * keep open. */
bool engine_quiet_pair(const struct peer *p)
{
	return p->quiet_tx && p->quiet_rx && p->dormant_tx == p->dormant_rx;
}

bool engine_dormant_pair(const struct peer *p)
{
	return p->dormant_tx && p->dormant_rx;
}

/* In a quiet pair the lower key keeps the period and the higher key
 * answers (engine_quiet_heard): two quiet Alives sent at once would both
 * start a handshake, and WireGuard takes a retry, 5 s, to settle two
 * that cross — long enough for the path watch to take a live path for
 * dead. The higher key's own period is later, for when an answer is
 * lost. */
static bool answers(const struct engine *e, const struct peer *p)
{
	return engine_key_above(e, p);
}

void engine_quiet_heard(struct engine *e, struct peer *sp, int64_t now)
{
	/* A dormant pair keeps no period, so there is nothing to answer: an
	 * Alive that needs an answer asks (ENGINE_DORMANT_ASK_TTL_S).
	 * Answering drew one more Alive from every pair that formed. */
	if (!engine_quiet_pair(sp) || engine_dormant_pair(sp) || !answers(e, sp))
		return;
	sp->force_alive = true; /* over the session its Alive just opened */
	engine_mark_dirty(e, now);
}

int64_t engine_alive_period_ms(const struct engine *e, const struct peer *p)
{
	if (engine_dormant_pair(p))
		return QUIET_FOREVER_MS;
	if (engine_quiet_pair(p))
		return e->t.quiet_period_ms + (answers(e, p) ? 2 * e->t.alive_period_ms : 0);
	/* To our router, from where no NAT needs keeping open: half the
	 * rate. The router's own Alives every AlivePeriod keep the session
	 * and its handshakes fresh; ours only say we live, and our HOLD
	 * (it rides in the same datagram) keeps what we told it with
	 * FactTTL to spare. */
	if (p->router && p->lease_ok && engine_quiet_self(e))
		return 2 * e->t.alive_period_ms;
	return e->t.alive_period_ms;
}

/* Why a dormant pair stopped being one, for the log. */
static const char *awake_why(const struct engine *e, const struct peer *p, int64_t now)
{
	if (p->path_dead)
		return "the path was found dead";
	if (!p->healthy)
		return "the path is not healthy";
	if (e->routers_silent)
		return "our router does not answer";
	if (!p->dormant_rx)
		return "the peer is no longer dormant";
	if (!p->vouch_ep)
		return "our router no longer sees it at the endpoint we use";
	if (!engine_vouched(e, p, now))
		return "our router no longer vouches for it";
	return "we are no longer dormant";
}

static void note_dormant(struct engine *e, struct peer *p, bool dormant, int64_t now,
			 struct engine_actions *out)
{
	char lb[WL_PEER_LABEL_MAX];
	if (dormant) {
		ENGINE_EVENT(out, ENGINE_EV_DORMANT, p->key,
			     "peer %s: dormant (nothing sent while idle)",
			     engine_peer_label(p, lb));
		return;
	}
	ENGINE_EVENT(out, ENGINE_EV_DORMANT, p->key, "peer %s: no longer dormant: %s",
		     engine_peer_label(p, lb), awake_why(e, p, now));
	/* The router sees the peer at another port now: we follow it at
	 * once (apply.c), while the path still counts as working, rather
	 * than send to the old port until our handshake goes stale. */
	p->follow_due = p->healthy && !p->path_dead && !p->vouch_ep;
	/* The peer's NAT may have forgotten us while we were dormant: it is
	 * woken to send to us, which opens it again. */
	engine_pathnote_wake(e, p);
}

int64_t engine_rx_window_ms(struct engine *e, struct peer *p, int64_t now,
			    struct engine_actions *out)
{
	bool quiet = engine_quiet_pair(p), dormant = engine_dormant_pair(p);
	if (p->was_quiet && !quiet)
		p->quiet_left_at = now;
	if (p->was_dormant != dormant)
		note_dormant(e, p, dormant, now, out);
	if (p->was_dormant && !dormant)
		p->dormant_left_at = now;
	p->was_quiet = quiet;
	p->was_dormant = dormant;
	/* Nothing comes while dormant: the path is taken as working until
	 * traffic shows otherwise (path.c). */
	if (dormant)
		return QUIET_FOREVER_MS;
	/* Going loud, our first short-ttl Alive needs a round trip to draw
	 * an answer; meanwhile the old silence is no sign of a dead path.
	 * The short window after the change covers that. */
	bool recent = p->quiet_left_at != ENGINE_NEVER &&
		      now - p->quiet_left_at < 2 * (e->t.alive_period_ms + e->t.chunk_period_ms);
	return 2 * ((quiet || recent ? e->t.quiet_period_ms : e->t.alive_period_ms) +
		    e->t.chunk_period_ms);
}

int64_t engine_peer_alive_period_ms(const struct engine *e, const struct peer *p)
{
	if (engine_dormant_pair(p))
		return QUIET_FOREVER_MS;
	if (engine_quiet_pair(p))
		return e->t.quiet_period_ms + (answers(e, p) ? 0 : 2 * e->t.alive_period_ms);
	/* A leaf of ours may send its router half as often (above). */
	if (e->router && !p->router && p->lease_ok)
		return 2 * e->t.alive_period_ms;
	return e->t.alive_period_ms;
}

/* The longest an Alive we are told may last. */
static int64_t alive_ttl_cap_ms(const struct engine *e)
{
	return engine_quiet_enabled(e) ? engine_quiet_ttl_ms(e) : e->t.fact_ttl_ms;
}

int64_t engine_alive_ms(const struct engine *e, uint16_t ttl)
{
	int64_t ms = (int64_t)ttl * 1000, cap = alive_ttl_cap_ms(e);
	return ms < cap ? ms : cap;
}

int64_t engine_alive_expiry(struct engine *e, struct peer *sp, int64_t now, uint16_t ttl)
{
	sp->quiet_rx = engine_quiet_enabled(e) && (int64_t)ttl * 1000 > e->t.fact_ttl_ms;
	/* Only a daemon that reads dormant Alives sends one: it says so as
	 * well as its version 3 probe, whichever arrives first. */
	sp->dormant_rx = sp->quiet_rx && ttl >= ENGINE_DORMANT_ASK_TTL_S;
	/* It has not heard ours (send.c): say it again now, whatever we are
	 * (a loud Alive tells it we are not dormant). */
	if (sp->dormant_rx && ttl == ENGINE_DORMANT_ASK_TTL_S) {
		sp->force_alive = true;
		engine_mark_dirty(e, now);
	}
	if (sp->dormant_rx)
		sp->dormant_ok = true;
	int64_t ms = engine_alive_ms(e, ttl);
	if (ms < (int64_t)ttl * 1000 && !sp->dormant_rx)
		e->st.rx_ttl_clamped++;
	return now + ms;
}

void engine_dormant_liveness(const struct engine *e, struct peer *p, int64_t now)
{
	/* Nothing comes from a dormant peer: it lives as long as our router
	 * stands by what it says of it. */
	if (engine_dormant_pair(p) && engine_vouched(e, p, now) && p->vouch_until > p->alive_until)
		p->alive_until = p->vouch_until;
}
