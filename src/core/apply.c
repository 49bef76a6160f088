/* SPEC §10: what to change on the device. One engine_change per peer and
 * tick at most; every change to an existing peer is "update only" so it
 * cannot re-create a peer that vanished meanwhile. */
#include <stdlib.h>
#include <string.h>

#include "core/engine_internal.h"

/* WireGuard's wait before it sends a handshake initiation again
 * (RekeyTimeout, 5 s, and up to a third of a second of jitter), and a
 * little more. */
#define APPLY_TRY_SEND_WAIT_MS 6000

/* AllowedIPs of one peer under construction. */
#define WANT_MAX 256
struct want {
	size_t n;
	struct wl_cidr v[WANT_MAX];
};

static bool has_cidr(const struct wl_cidr *v, size_t n, const struct wl_cidr *c)
{
	for (size_t i = 0; i < n; i++)
		if (wl_cidr_equal(&v[i], c))
			return true;
	return false;
}

static void want_add(struct want *w, const struct wl_cidr *c)
{
	if (w->n < WANT_MAX && !has_cidr(w->v, w->n, c))
		w->v[w->n++] = *c;
}

static void auto_cidr(const struct peer *p, struct wl_cidr *out)
{
	memset(out, 0, sizeof(*out));
	out->addr = p->auto_addr;
	out->prefix = 128;
}

/* SPEC §10.5. */
static bool deconfigure_allowed(const struct engine *e, int64_t now)
{
	return now - e->start > e->t.fact_ttl_ms && !e->router &&
	       (e->own_trust == TRUST_UNSET || e->own_trust < TRUST_ALLOWED_IPS);
}

/* Whose word about `level` facts we take (SPEC §7): a configured peer
 * trusted that far, or, when no trust is configured, a router. */
static bool is_source(const struct engine *e, const struct peer *q, enum wl_trust level)
{
	const struct cfg_peer *c = engine_cfg_of(e, q);
	return e->any_trust ? (c && c->trust != TRUST_UNSET && c->trust >= level)
			    : (q->in_device && q->router);
}

/* [ours] Talking to us right now: its last Alive came within its period
 * and two chunks. Its handshake and its Alive's ttl outlast its silence by
 * minutes: a hub gone away still looks healthy and alive for that long. */
static bool source_heard(const struct engine *e, const struct peer *q, int64_t now)
{
	return q->alive_heard != ENGINE_NEVER &&
	       now - q->alive_heard <= engine_peer_alive_period_ms(e, q) + 2 * e->t.chunk_period_ms;
}

/* A Membership source that has been healthy and alive long enough, and
 * still talks to us, that we trust its silence about a peer to mean the
 * peer is gone. [ours] Not once it has gone quiet itself: then Member
 * facts lapse merely because nobody holds them any more, and two leaves
 * whose router is down would remove each other (a dormant pair behind
 * NATs knows the other's membership only through the router; waking,
 * each reaches the other only once both have — test_sim_outage). */
static bool source_settled(const struct engine *e, const struct peer *q, int64_t now)
{
	return is_source(e, q, TRUST_MEMBERSHIP) && q->healthy && peer_alive(q, now) &&
	       source_heard(e, q, now) && q->alive_since != ENGINE_NEVER &&
	       now - q->alive_since >= e->t.fact_ttl_ms + e->t.chunk_period_ms &&
	       q->alive_until - now >= e->t.chunk_period_ms * 3 / 2;
}

/* A trusted source of AllowedCidr facts that is talking to us right now
 * (its Alive arrives at least every AlivePeriod), and has been for half a
 * FactTTL. Only then does a missing fact mean "withdrawn": when the hub is
 * down, facts expire merely because nobody refreshes them, and pruning on
 * that would tear down the direct links that still work
 * (tests/sim/test_sim_removal.c, f4); when it is back, it tells us about
 * each peer again only once that peer is back with it too, which takes
 * the peer seconds (tests/sim/test_sim_outage.c). */
static bool allowed_source_present(const struct engine *e, int64_t now)
{
	for (size_t i = 0; i < e->pt.n; i++) {
		const struct peer *q = e->pt.v[i];
		if (is_source(e, q, TRUST_ALLOWED_IPS) && q->healthy && peer_alive(q, now) &&
		    source_heard(e, q, now) && q->alive_since != ENGINE_NEVER &&
		    now - q->alive_since >= e->t.fact_ttl_ms / 2)
			return true;
	}
	return false;
}

/* SPEC §10.6, all but the per-peer part. */
static bool delete_allowed(const struct engine *e, int64_t now)
{
	if (now - e->start <= e->t.fact_ttl_ms || e->router)
		return false;
	if (e->own_trust != TRUST_UNSET && e->own_trust >= TRUST_MEMBERSHIP)
		return false;
	for (size_t i = 0; i < e->pt.n; i++)
		if (source_settled(e, e->pt.v[i], now))
			return true;
	return false;
}

struct pick {
	bool found;
	struct wl_endpoint ep;
	int64_t tried_at; /* ENGINE_NEVER: never tried */
	int rank;
	bool maybe_ours;  /* the peer may be behind our NAT (SITE_OURS or unknown) */
};

/* [ours] Whether a peer sits behind the same outer address as we do
 * (behind our NAT, on our LAN), somewhere else, or we cannot tell. */
enum site { SITE_UNKNOWN, SITE_OURS, SITE_ELSEWHERE };

/* What the candidate order needs to know about a peer. */
struct peer_place {
	enum site site;
	/* Its WireGuard listen port, as its own private addresses show it
	 * (facts from its interfaces behind a NAT); 0 if unknown. */
	uint16_t listen_port;
};

static void peer_place(const struct engine *e, const struct peer *p, struct peer_place *out)
{
	bool seen_outer = false, ours = false;
	out->listen_port = 0;
	for (int32_t k = p->fhead; k >= 0; k = e->fnext[k]) {
		struct fact f;
		struct wl_endpoint ep;
		if (!fact_endpoint(factset_fact(&e->fs, (size_t)k, &f), &ep))
			continue;
		if (!out->listen_port && wl_addr_is_private(&ep.addr))
			out->listen_port = ep.port;
		if (engine_on_our_lan(e, &ep.addr))
			continue;
		seen_outer = true;
		for (size_t i = 0; i < e->n_outer && !ours; i++)
			ours = wl_addr_equal(&e->outer[i], &ep.addr);
	}
	out->site = !e->n_outer ? SITE_UNKNOWN
		    : ours      ? SITE_OURS
		    : seen_outer ? SITE_ELSEWHERE
				 : SITE_UNKNOWN;
}

/* [ours] The order of candidates never tried, lowest first. WireGuard
 * sends one handshake initiation per RekeyTimeout (5 s): a wrong first
 * try costs that much.
 *  0, 1  In a subnet of our own interfaces (public before private): a
 *        peer on our LAN answers there at once, while its NAT's public
 *        address may have no hairpin — unless the peer is seen at an
 *        outer address that is not ours: then its LAN address is most
 *        likely a look-alike in another home (everyone's 192.168.1.0/24).
 *  2     Public, at the peer's listen port (or we cannot tell): a port-
 *        preserving NAT's mapping, a port forward or a port mapping.
 *  3     Public at another port: a NAT's own choice, which a symmetric
 *        NAT made for the router alone.
 *  4     Private outside our subnets: only special routing reaches it. */
static int candidate_rank(const struct engine *e, const struct peer_place *pl,
			  const struct wl_endpoint *ep)
{
	bool priv = wl_addr_is_private(&ep->addr);
	if (pl->site != SITE_ELSEWHERE && engine_on_our_lan(e, &ep->addr))
		return priv ? 1 : 0;
	if (priv)
		return 4;
	return !pl->listen_port || ep->port == pl->listen_port ? 2 : 3;
}

static void consider(const struct engine *e, const struct peer *p, const struct peer_place *pl,
		     const struct wl_endpoint *ep, struct pick *best)
{
	if (engine_through_tunnel(e, &ep->addr))
		return;
	int64_t at = peer_tried_at(p, ep);
	/* [ours] A path that died under traffic most likely comes back where
	 * it was (a cut, a firewall): cycling through the old candidates
	 * would only take it elsewhere when it does, and the watch's retries
	 * go wherever the device points. New candidates (the peer moved: its
	 * router tells us its new endpoint) still go first — but not private
	 * addresses of a peer elsewhere, never the way a path comes back. */
	int rank = candidate_rank(e, pl, ep);
	if (p->path_dead && !wl_endpoint_equal(ep, &p->dead_ep) &&
	    (at != ENGINE_NEVER || rank >= 4))
		return;
	if (!best->found || at < best->tried_at || (at == best->tried_at && rank < best->rank))
		*best = (struct pick){ true, *ep, at, rank, pl->site != SITE_ELSEWHERE };
}

/* SPEC §10.4: the least recently tried endpoint candidate (never tried
 * first), or false if there is none. Candidates: Endpoint facts about the
 * peer that do not route through the tunnel, and [ours] the endpoint the
 * device had for it when we started: the operator's (wg-quick) endpoint
 * of a hub behind a port forward stays a candidate however long the hub
 * is away and whatever addresses it advertised before. */
static bool pick_endpoint(const struct engine *e, const struct peer *p, struct pick *best)
{
	best->found = false;
	struct peer_place pl;
	peer_place(e, p, &pl);
	for (int32_t k = p->fhead; k >= 0; k = e->fnext[k]) {
		struct fact f;
		struct wl_endpoint ep;
		if (fact_endpoint(factset_fact(&e->fs, (size_t)k, &f), &ep))
			consider(e, p, &pl, &ep, best);
	}
	if (p->has_initial_ep)
		consider(e, p, &pl, &p->initial_ep, best);
	return best->found;
}

static void retry_due(struct engine *e, int64_t due)
{
	if (e->retry_at == ENGINE_NEVER || due < e->retry_at)
		e->retry_at = due;
}

/* [ours] Whether the endpoint we set last is still waiting for the device
 * to send the peer anything there. WireGuard sends a new endpoint nothing
 * while a handshake is under way until that handshake's next retry (up to
 * RekeyTimeout later), and drops what waited for a handshake that gives
 * up (RekeyAttemptTime): either way a try can pass with nothing sent
 * there, and a fresh candidate's fresh_try_ms is shorter than
 * RekeyTimeout. So the next candidate waits until the device has sent the
 * peer something since the try (its transmit counter moved), up to
 * APPLY_TRY_SEND_WAIT_MS; then the try's Alive goes once more (a
 * handshake that gave up starts afresh) and it waits as long again. */
static bool try_unsent(struct engine *e, struct peer *p, int64_t now)
{
	int64_t until = engine_try_unsent_until(p);
	if (until == ENGINE_NEVER)
		return false;
	if (now >= until) {
		if (p->try_again_at != ENGINE_NEVER)
			return false;
		p->try_again_at = now;
		p->force_alive = true;
		until = now + APPLY_TRY_SEND_WAIT_MS;
	}
	retry_due(e, until);
	return true;
}

int64_t engine_try_unsent_until(const struct peer *p)
{
	if (!p->has_try_ep || p->last_try == ENGINE_NEVER || p->tx_bytes != p->try_tx)
		return ENGINE_NEVER;
	return (p->try_again_at != ENGINE_NEVER ? p->try_again_at : p->last_try) +
	       APPLY_TRY_SEND_WAIT_MS;
}

/* We set ep for p now, as a try. */
static void note_try(struct peer *p, const struct wl_endpoint *ep, int64_t now)
{
	peer_note_tried(p, ep, now);
	p->last_try = now;
	p->try_ep = *ep;
	p->has_try_ep = true;
	p->try_tx = p->tx_bytes;
	p->try_again_at = ENGINE_NEVER;
	p->force_alive = true;
}

/* SPEC §10.4: try the next endpoint if this one had its time. */
static bool next_endpoint(struct engine *e, struct peer *p, int64_t now, struct wl_endpoint *out,
			  struct engine_actions *a)
{
	struct pick c;
	if (!pick_endpoint(e, p, &c)) {
		p->cand_seen_at = ENGINE_NEVER;
		return false;
	}
	if (p->cand_seen_at == ENGINE_NEVER)
		p->cand_seen_at = now;
	if (p->first_cand_at == ENGINE_NEVER && !p->healthy)
		p->first_cand_at = now; /* time to direct starts (observe.c) */
	/* [ours] We are behind a NAT and the peer may be too, behind the
	 * same one — we do not know our NAT's address yet, or it is the
	 * peer's — yet only its public address is known: the router relayed
	 * what it sees before the peer's own facts (its LAN address) came,
	 * and the NAT may not hairpin. A wrong first try costs WireGuard's
	 * RekeyTimeout (5 s); wait a little for the facts that decide. */
	if (p->last_try == ENGINE_NEVER && c.maybe_ours && c.rank >= 2 && e->behind_nat &&
	    now - p->cand_seen_at < APPLY_LAN_WAIT_MS) {
		retry_due(e, p->cand_seen_at + APPLY_LAN_WAIT_MS);
		return false;
	}
	/* [ours] A candidate never tried waits only fresh_try_ms; one tried
	 * before waits the peer's backoff (peer.try_gap), but no longer than
	 * EndpointInterval while the user's traffic flows. */
	int64_t gap = p->try_gap && !e->busy ? p->try_gap : e->t.endpoint_interval_ms;
	if (c.tried_at == ENGINE_NEVER && gap > e->t.fresh_try_ms)
		gap = e->t.fresh_try_ms;
	if (p->last_try != ENGINE_NEVER && now - p->last_try < gap) {
		retry_due(e, p->last_try + gap);
		return false;
	}
	if (try_unsent(e, p, now))
		return false;
	*out = c.ep;
	note_try(p, out, now);
	/* [ours] The peer may be dormant towards us behind a NAT that forgot
	 * us (our NAT moved us, our link was down when we found the path
	 * dead, we restarted): only its sending to us opens it again. Asked
	 * through our router at each try, if it can be dormant or, after a
	 * restart that forgot that, had a handshake with us before. A peer
	 * that never went direct is not asked: it has nothing to open. */
	if (engine_dormant_enabled(e) && (p->dormant_ok || p->direct_before_start))
		engine_pathnote_wake(e, p);
	/* [ours] Every candidate had its chance and none answered: a peer
	 * behind a symmetric NAT, or one that is away. Try less often, up to
	 * once per retry_max_ms; a new candidate still goes at once. */
	if (c.tried_at != ENGINE_NEVER && !p->router)
		p->try_gap = gap * 2 > e->t.retry_max_ms ? e->t.retry_max_ms : gap * 2;
	/* The earliest the next candidate may be due: a tick then, whatever
	 * the jittered ticks do. */
	retry_due(e, now + (e->t.endpoint_interval_ms < e->t.fresh_try_ms ? e->t.endpoint_interval_ms
									    : e->t.fresh_try_ms));
	/* A dead path is probed on the new endpoint at once (path.c). */
	if (p->path_dead) {
		p->retry_at = now;
		engine_mark_dirty(e, now);
	}
	/* [ours] Both sides usually pick each other's endpoint in the same
	 * moment (the same facts reach them together), and their Alives would
	 * start two handshakes that cross. WireGuard then answers each
	 * initiation, which discards its own one, rejects the other side's
	 * response, and both wait 5 s (RekeyTimeout) to retry. So the side
	 * with the higher public key waits stagger_ms (longer than a one-way
	 * trip on nearly any path): the other initiation arrives first, and
	 * through NATs the other side's mapping is open by the time ours
	 * gets there. */
	if (engine_key_above(e, p))
		p->hold_until = now + e->t.stagger_ms;
	char lb[WL_PEER_LABEL_MAX], eb[WL_ENDPOINT_STR_MAX];
	ENGINE_EVENT(a, ENGINE_EV_ENDPOINT, p->key, "peer %s: trying endpoint %s",
	      engine_peer_label(p, lb), wl_endpoint_str(out, eb));
	return true;
}

/* [ours] A pair that was dormant follows the peer to the port its router
 * sees it at now (quiet.c), as a candidate tried: what the device reports
 * there counts only after a handshake (local_facts.c). */
static bool follow_port(const struct engine *e, struct peer *p, int64_t now,
			struct wl_endpoint *out, struct engine_actions *a)
{
	if (!engine_router_moved_port(e, p, out))
		return false;
	note_try(p, out, now);
	char lb[WL_PEER_LABEL_MAX], eb[WL_ENDPOINT_STR_MAX];
	ENGINE_EVENT(a, ENGINE_EV_ENDPOINT, p->key,
		     "peer %s: following it to %s, where our router sees it now",
		     engine_peer_label(p, lb), wl_endpoint_str(out, eb));
	return true;
}

static void add_peer(struct engine *e, struct peer *p, int64_t now, struct engine_actions *a)
{
	struct wl_cidr ac;
	struct wl_endpoint ep;
	char lb[WL_PEER_LABEL_MAX];
	auto_cidr(p, &ac);
	ENGINE_EVENT(a, ENGINE_EV_PEER_ADD, p->key, "adding peer %s", engine_peer_label(p, lb));
	bool set_ep = next_endpoint(e, p, now, &ep, a);
	struct engine_change *c = engine_actions_add_change(a, p->key, 0, &ac, 1);
	if (!c)
		return;
	if (set_ep) {
		c->flags |= ENGINE_CHANGE_SET_ENDPOINT;
		c->endpoint = ep;
		p->send_ok = true;
		p->send_ep = ep;
	}
}

static bool delete_peer(const struct engine *e, const struct peer *p, bool allowed,
			struct engine_actions *a)
{
	/* Never routers in full-auto mode: they are how we reach everyone. */
	if (!allowed || (!e->any_trust && p->router))
		return false;
	char lb[WL_PEER_LABEL_MAX];
	ENGINE_EVENT(a, ENGINE_EV_PEER_REMOVE, p->key, "removing peer %s: no longer a member",
	      engine_peer_label(p, lb));
	engine_actions_add_change(a, p->key, ENGINE_CHANGE_REMOVE | ENGINE_CHANGE_UPDATE_ONLY, NULL, 0);
	return true;
}

/* Everything the AllowedIPs half of update_peer reads besides the facts
 * about p (which move only with the index, e->index_epoch): p's health,
 * the global gates, and the device's list, hashed. */
uint64_t engine_allowed_hash(const struct engine_peer_view *wp)
{
	uint64_t h = WL_HASH_BASIS;
	for (size_t i = 0; i < wp->n_allowed; i++)
		h = wl_cidr_hash(h, &wp->allowed_ips[i]);
	return h;
}

static struct allowed_calm calm_of(const struct engine *e, const struct peer *p,
				   const struct engine_peer_view *wp, bool usable, bool deconf,
				   bool prune)
{
	uint64_t h = engine_allowed_hash(wp);
	unsigned flags = 1u | (p->healthy ? 2u : 0) | (usable ? 4u : 0) | (deconf ? 8u : 0) |
			 (prune ? 16u : 0) | (p->path_dead ? 32u : 0) | (p->router ? 64u : 0);
	return (struct allowed_calm){ e->index_epoch, h, wp->n_allowed, (uint8_t)flags };
}

static bool calm_equal(const struct allowed_calm *a, const struct allowed_calm *b)
{
	return a->index_epoch == b->index_epoch && a->device == b->device && a->n == b->n &&
	       a->flags == b->flags;
}

/* The AllowedIPs half of update_peer: into *add what to add (with
 * *replace, the whole list). True if they need nothing at all. */
static bool allowed_change(struct engine *e, struct peer *p, const struct engine_peer_view *wp,
			   bool usable, bool deconf, bool prune, struct want *add, bool *replace,
			   struct engine_actions *a)
{
	struct want w; /* not zeroed: 5 KB per peer per tick adds up */
	struct wl_cidr ac;
	char lb[WL_PEER_LABEL_MAX];
	w.n = 0;
	auto_cidr(p, &ac);
	want_add(&w, &ac);
	if (p->healthy && usable) {
		for (int32_t k = p->fhead; k >= 0; k = e->fnext[k]) {
			struct fact f;
			struct wl_cidr cidr;
			if (fact_cidr(factset_fact(&e->fs, (size_t)k, &f), &cidr))
				want_add(&w, &cidr);
		}
	}
	/* Is there anything on the device we no longer want? */
	bool extra = false;
	if (p->healthy ? usable : true)
		for (size_t i = 0; i < wp->n_allowed && !extra; i++)
			extra = !has_cidr(w.v, w.n, &wp->allowed_ips[i]);
	/* [ours] A path the watch found dead (path.c) falls back at once,
	 * however young the node: that is no guess from missing facts, the
	 * path answered nothing while traffic flowed. */
	deconf = deconf || p->path_dead;
	/* An unhealthy router keeps its AllowedIPs: deconfiguring exists so
	 * traffic falls back to the router, and for the router itself there is
	 * nothing to fall back to — stripping it would only lose the routes
	 * for the time it takes to come back. */
	if (deconf && !p->healthy && p->router)
		extra = false;
	if (deconf && p->healthy && !prune)
		extra = false;
	if (deconf && extra) {
		*replace = true;
		if (p->path_dead)
			ENGINE_EVENT(a, ENGINE_EV_DECONFIGURE, p->key,
				     "peer %s: direct path dead: back to its auto address "
				     "(via router)",
				     engine_peer_label(p, lb));
		else if (!p->healthy)
			ENGINE_EVENT(a, ENGINE_EV_DECONFIGURE, p->key,
			      "peer %s unhealthy: back to its auto address (via router)",
			      engine_peer_label(p, lb));
		else
			ENGINE_EVENT(a, ENGINE_EV_ALLOWED, p->key,
			      "peer %s: AllowedIPs set to the %zu its facts support",
			      engine_peer_label(p, lb), w.n);
	}
	for (size_t i = 0; i < w.n; i++)
		if (*replace || !has_cidr(wp->allowed_ips, wp->n_allowed, &w.v[i]))
			want_add(add, &w.v[i]);
	if (!add->n && !*replace)
		return true;
	/* [ours] WANT_MAX in total, not per tick: without a replace the
	 * device keeps what it has, and a source whose facts keep changing
	 * would otherwise grow one peer's AllowedIPs without end. */
	if (!*replace && wp->n_allowed + add->n > WANT_MAX) {
		size_t room = wp->n_allowed < WANT_MAX ? WANT_MAX - wp->n_allowed : 0;
		e->st.allowed_capped += add->n - room;
		add->n = room;
	}
	if (add->n && !*replace && p->healthy)
		ENGINE_EVENT(a, ENGINE_EV_ALLOWED, p->key, "peer %s: adding %zu AllowedIPs",
		      engine_peer_label(p, lb), add->n);
	return false;
}

/* SPEC §10.2–10.4 for a peer present in the device. deconf: §10.5 allows
 * deconfiguring; prune: and a source is present whose silence about an
 * AllowedIP of a healthy peer means it was withdrawn. */
static void update_peer(struct engine *e, struct peer *p, const struct engine_peer_view *wp, int64_t now,
			bool deconf, bool prune, struct engine_actions *a)
{
	bool usable = p->alive_until > now + e->t.chunk_period_ms / 2 || p->basic == 1;
	struct want add;
	add.n = 0;
	bool replace = false;
	/* [ours] Its AllowedIPs needed nothing when last worked out from the
	 * same inputs: they need nothing now. At a thousand peers, walking
	 * every peer's facts was a fifth of a leaf's tick in steady state. */
	struct allowed_calm calm = calm_of(e, p, wp, usable, deconf, prune);
	if (!calm_equal(&calm, &p->calm)) {
		p->calm = calm;
		if (!allowed_change(e, p, wp, usable, deconf, prune, &add, &replace, a))
			p->calm.flags = 0;
	}
	struct wl_endpoint ep;
	bool set_ep = !p->healthy && next_endpoint(e, p, now, &ep, a);
	if (!set_ep && p->follow_due && p->healthy)
		set_ep = follow_port(e, p, now, &ep, a);
	p->follow_due = false;
	/* [ours] Our addresses changed (a laptop on another network): the
	 * endpoint stays, but set again it makes WireGuard forget the source
	 * address it sends from, which may be gone — wireguard-go would keep
	 * using it until a handshake fails, 15 s or more. An Alive goes at
	 * once, so the peer learns our new address from it. */
	if (!set_ep && e->moved && p->has_endpoint) {
		set_ep = true;
		ep = p->endpoint;
		p->force_alive = true;
	}
	if (!add.n && !replace && !set_ep)
		return;
	unsigned flags = ENGINE_CHANGE_UPDATE_ONLY | (replace ? ENGINE_CHANGE_REPLACE_ALLOWED : 0);
	struct engine_change *c = engine_actions_add_change(a, p->key, flags, add.v, add.n);
	if (c && set_ep) {
		c->flags |= ENGINE_CHANGE_SET_ENDPOINT;
		c->endpoint = ep;
		p->send_ok = true;
		p->send_ep = ep;
	}
}

/* [ours] An AllowedCidr or Member fact that expired may only mean that a
 * refresh was lost twice in a row (with 5 % loss on the internet, 3 of 200
 * ten-minute simulator runs of two NATed leaves lost a member that way:
 * test_sim_direct b5): the new boot id we picked then asks every peer to
 * resend what it knows. That takes a tick and a round trip — or, if the
 * Alive carrying the new id is lost too, until our next Alive: one
 * AlivePeriod and two chunks. Until then a missing fact is no evidence,
 * and deleting the peer or pruning its AllowedIPs would cut a working
 * link for nothing. */
static bool resend_pending(const struct engine *e, int64_t now)
{
	return e->renewed_at != ENGINE_NEVER &&
	       now - e->renewed_at < e->t.alive_period_ms + 2 * e->t.chunk_period_ms;
}

void engine_apply(struct engine *e, int64_t now, const struct engine_inputs *in,
		  struct engine_actions *a)
{
	bool settling = resend_pending(e, now);
	e->retry_at = ENGINE_NEVER;
	bool deconf = deconfigure_allowed(e, now);
	bool del = delete_allowed(e, now) && !settling;
	bool prune = deconf && !settling && allowed_source_present(e, now);
	e->apply_gates = (settling ? 1u : 0) | (deconf ? 2u : 0) | (del ? 4u : 0) | (prune ? 8u : 0);
	engine_visit_global(e);
	if (e->moved)
		ENGINE_EVENT(a, ENGINE_EV_MOVED, NULL,
			     "our addresses changed: endpoints set again, so WireGuard picks "
			     "its source addresses afresh");
	for (size_t i = engine_visit_next(e, 0); i < e->pt.n; i = engine_visit_next(e, i + 1)) {
		struct peer *p = e->pt.v[i];
		p->send_ok = p->in_device && p->has_endpoint;
		p->send_ep = p->endpoint;
		bool valid = p->cfg >= 0 || p->member_fact;
		if (!p->in_device) {
			if (valid)
				add_peer(e, p, now, a);
			continue;
		}
		/* A peer that is not (yet) valid but may not be deleted is still
		 * configured: every device peer gets its auto address (SPEC
		 * §10.2), or a leaf could never hear from an unknown router. */
		if (!valid && delete_peer(e, p, del, a)) {
			p->send_ok = false;
			continue;
		}
		update_peer(e, p, &in->dev.peers[p->dev_idx], now, deconf, prune, a);
	}
}
