/* From inputs to peer states (SPEC §8, §9): the device snapshot gives each
 * peer's endpoint, handshake and AllowedIPs; from those come health, router
 * flags and our own router role. The fact set gives merged member metadata
 * and membership; Alive facts (see receive.c) give liveness. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "core/engine_internal.h"
#include "wire/member_meta.h"

#define HANDSHAKE_JITTER_MS 1000

/* SPEC §9: a global unicast AllowedIP shorter than a full address. */
static bool peer_is_router(const struct engine_peer_view *wp)
{
	for (size_t i = 0; i < wp->n_allowed; i++) {
		const struct wl_cidr *c = &wp->allowed_ips[i];
		if (wl_cidr_is_network(c) && wl_addr_is_global_unicast(&c->addr))
			return true;
	}
	return false;
}

static bool push_net(struct wl_cidr **arr, size_t *n, size_t *cap, const struct wl_cidr *c)
{
	if (!wl_grow((void **)arr, cap, *n + 1, sizeof(**arr)))
		return false;
	(*arr)[*n] = *c;
	wl_cidr_mask(&(*arr)[*n]);
	(*n)++;
	return true;
}

/* Subnets of the WireGuard interface and of every other up interface, for
 * the "routes through the tunnel" test (SPEC §7). */
static void observe_networks(struct engine *e, const struct engine_inputs *in)
{
	e->n_tun = e->n_other = 0;
	e->behind_nat = true;
	uint64_t sum = 0;
	for (size_t i = 0; i < in->n_ifaces; i++) {
		const struct engine_iface *ifc = &in->ifaces[i];
		bool tun = ifc->name && strcmp(ifc->name, e->ifname) == 0;
		if (!tun && !ifc->up)
			continue;
		for (size_t j = 0; j < ifc->n_addrs; j++) {
			if (tun) {
				push_net(&e->tun_nets, &e->n_tun, &e->cap_tun, &ifc->addrs[j]);
			} else {
				push_net(&e->other_nets, &e->n_other, &e->cap_other, &ifc->addrs[j]);
				/* order-independent */
				sum += wl_cidr_hash(WL_HASH_BASIS, &ifc->addrs[j]);
				if (wl_addr_is_global_unicast(&ifc->addrs[j].addr) &&
				    !wl_addr_is_private(&ifc->addrs[j].addr))
					e->behind_nat = false;
			}
		}
	}
	e->moved = e->st.ticks > 1 && sum != e->addr_sig;
	e->addr_sig = sum;
}

const int64_t engine_ttd_bounds_ms[ENGINE_TTD_BUCKETS] = { 250,  500,   1000,  2000,
								5000, 10000, 30000, 60000 };

/* [ours] Counters for operators: a peer between leaves going direct or
 * falling back (to or from a router there is no other path), and the
 * time from its first endpoint candidate to a working direct path. */
static void note_path_change(struct engine *e, struct peer *p, bool healthy, int64_t now)
{
	if (healthy == p->healthy || p->router || e->router)
		return;
	if (!healthy) {
		e->st.fell_back++;
		return;
	}
	e->st.went_direct++;
	if (p->first_cand_at == ENGINE_NEVER)
		return;
	int64_t ms = now - p->first_cand_at;
	size_t b = 0;
	while (b < ENGINE_TTD_BUCKETS && ms > engine_ttd_bounds_ms[b])
		b++;
	if (b < ENGINE_TTD_BUCKETS)
		e->st.ttd_bucket[b]++;
	e->st.ttd_count++;
	e->st.ttd_sum_ms += (uint64_t)ms;
	p->first_cand_at = ENGINE_NEVER;
}

static void observe_peer(struct engine *e, int64_t now, struct peer *p,
			 const struct engine_peer_view *wp, struct engine_actions *out)
{
	int64_t hs = wp->handshake_ms;
	bool was_in = p->in_device;
	if (!was_in || p->has_endpoint != wp->has_endpoint ||
	    (wp->has_endpoint && !wl_endpoint_equal(&p->endpoint, &wp->endpoint)))
		e->view_gen++;
	p->in_device = true;
	p->has_endpoint = wp->has_endpoint;
	if (wp->has_endpoint)
		p->endpoint = wp->endpoint;
	/* The operator's endpoint, found in the device at our first tick: a
	 * candidate for good, and in use already — as good as tried now. */
	if (e->st.ticks == 1 && wp->has_endpoint) {
		p->has_initial_ep = true;
		p->initial_ep = wp->endpoint;
		peer_note_tried(p, &wp->endpoint, now);
		p->last_try = now;
	}
	/* Sticky while the peer stays in the device: if a router's subnet
	 * disappears from its AllowedIPs (an operator's edit, or facts that no
	 * longer support it), it is still the peer everyone else is reached
	 * through. Forgetting that would turn this node into a router and
	 * demote the real router to Endpoint trust, so it could never give
	 * its route back (found by tests/sim/test_sim_outage.c). */
	bool router = (was_in && p->router) || peer_is_router(wp);
	if (router != p->router)
		e->view_gen++;
	p->router = router;
	/* The shell derives handshake times from wall-clock ages, so the same
	 * handshake can come back a millisecond or so apart from one tick to
	 * the next; that must not read as "a newer handshake". WireGuard
	 * starts at most one handshake per REKEY_TIMEOUT (5 s), so anything
	 * within HANDSHAKE_JITTER_MS is the same one. */
	if (was_in && hs != ENGINE_NEVER && p->handshake != ENGINE_NEVER &&
	    llabs(hs - p->handshake) <= HANDSHAKE_JITTER_MS)
		hs = p->handshake;
	/* "Newer than at the previous tick" needs a previous tick to compare. */
	p->prev_handshake = was_in ? p->handshake : hs;
	p->handshake = hs;
	/* Remembered: a handshake since may replace the one from before. At
	 * our start itself counts too: a handshake time in the future (the
	 * wall clock stepped back) reads as now at our first tick. */
	if (hs != ENGINE_NEVER && hs <= e->start)
		p->direct_before_start = true;
	bool fresh = hs != ENGINE_NEVER && now - hs < e->t.handshake_validity_ms;
	bool newer = hs != ENGINE_NEVER && hs > p->prev_handshake;
	/* [ours] Data received from the peer counts like a handshake: it
	 * arrives only on a live session from the peer itself. The handshake
	 * time alone can lag: a responder learns of a rekey only from the
	 * initiator's next packet, and if the keepalive confirming it is lost
	 * the next one may come an AlivePeriod later — past HandshakeValidity
	 * (tests/sim/test_sim_direct.c b5, 5 % loss). A live peer sends at
	 * least an Alive per AlivePeriod; the window allows one of them to be
	 * lost (two periods plus two chunks, 70 s), and stays well under
	 * HandshakeValidity, so a dead path is not noticed any later. A quiet
	 * pair (quiet.c) sends one per quiet period: two of those then. */
	engine_path_observe(e, p, wp, was_in, newer, now, out);
	if (was_in && wp->rx_bytes > p->rx_bytes)
		p->rx_at = now;
	p->rx_bytes = wp->rx_bytes;
	int64_t window = engine_rx_window_ms(e, p, now, out);
	/* [ours] Leaving dormancy, the silence before is no sign of a dead
	 * path (quiet.c): the window runs from when it ended. */
	int64_t heard = engine_heard_at(p);
	bool receiving = heard != ENGINE_NEVER && now - heard < window;
	bool healthy = p->has_endpoint && !p->path_dead && (fresh || newer || receiving);
	if (healthy != p->healthy) {
		char lb[WL_PEER_LABEL_MAX];
		ENGINE_EVENT(out, healthy ? ENGINE_EV_HEALTHY : ENGINE_EV_UNHEALTHY, p->key,
		      "peer %s %s", engine_peer_label(p, lb),
		      healthy ? "handshake is healthy" : "handshake went stale");
	}
	note_path_change(e, p, healthy, now);
	p->healthy = healthy;
	if (healthy)
		p->try_gap = 0;
}

static int64_t view_handshake(const struct engine_peer_view *wp)
{
	return wp->has_endpoint ? wp->handshake_ms : ENGINE_NEVER;
}

/* Room for n device places in dev_fresh and dev_look (new words zero). */
static bool dev_words_grow(struct engine *e, size_t n)
{
	size_t words = (n + 63) / 64;
	if (words <= e->dev_words)
		return true;
	uint64_t *fresh = realloc(e->dev_fresh, words * sizeof(*fresh));
	if (fresh)
		e->dev_fresh = fresh;
	uint64_t *look = fresh ? realloc(e->dev_look, words * sizeof(*look)) : NULL;
	if (!look)
		return false;
	e->dev_look = look;
	memset(fresh + e->dev_words, 0, (words - e->dev_words) * sizeof(*fresh));
	memset(look + e->dev_words, 0, (words - e->dev_words) * sizeof(*look));
	e->dev_words = words;
	return true;
}

/* Device place i's handshake, as local_facts.c reads it. */
static void note_handshake(struct engine *e, size_t i, int64_t hs)
{
	e->dev_peer[i].hs = hs;
	peer_bit_put(e->dev_fresh, i, hs != ENGINE_NEVER);
}

/* Every device peer looked up and compared: the device lists other
 * peers than at the last tick (or the shell does not say). */
static void observe_all(struct engine *e, int64_t now, const struct engine_device *dev,
			struct engine_actions *out)
{
	for (size_t i = 0; i < e->pt.n; i++)
		e->pt.v[i]->dev_idx = -1;
	/* Last tick's peers by place are this tick's guesses: a device lists
	 * its peers in the same order from one reading to the next. */
	size_t hints = e->n_dev_peer;
	bool keep = wl_grow((void **)&e->dev_peer, &e->dev_peer_alloc, dev->n_peers,
			    sizeof(*e->dev_peer)) &&
		    dev_words_grow(e, dev->n_peers);
	uint64_t removed = e->pt.removed;
	e->dev_missing = 0;
	for (size_t i = 0; i < dev->n_peers; i++) {
		const struct engine_peer_view *wp = &dev->peers[i];
		struct peer *hint = keep && i < hints ? e->dev_peer[i].p : NULL;
		if (keep) {
			e->dev_peer[i] = (struct dev_peer){ 0 };
			note_handshake(e, i, view_handshake(wp));
		}
		if (engine_is_self(e, wp->key))
			continue;
		/* Found without noting it seen: a peer in the device is never
		 * evicted or swept, and is noted when it leaves (below). */
		struct peer *p = peertab_hinted(&e->pt, wp->key, hint, e->dev_peer_removed, false, now);
		if (!p)
			p = peertab_get(&e->pt, wp->key, now);
		if (!p) {
			e->dev_missing++;
			continue;
		}
		if (keep) {
			e->dev_peer[i].p = p;
			e->dev_peer[i].at = p->at;
		}
		p->dev_idx = (int32_t)i;
		engine_visit_view(e, p, wp);
		if (!engine_visit_skips(e, p))
			observe_peer(e, now, p, wp, out);
	}
	/* Creating a peer may have evicted one we kept a pointer to. */
	e->n_dev_peer = keep && e->pt.removed == removed ? dev->n_peers : 0;
	e->dev_peer_removed = e->pt.removed;
}

/* Whether this tick's device lists the very peers the last tick's did,
 * each with the peer state found for it then. */
static bool same_device(const struct engine *e, const struct engine_device *dev)
{
	return dev->same_peers && e->n_dev_peer == dev->n_peers &&
	       e->dev_peer_removed == e->pt.removed && !e->dev_missing;
}

/* Device place i at a tick with the same peers as the last. */
static void observe_place(struct engine *e, int64_t now, const struct engine_device *dev, size_t i,
			  struct engine_actions *out)
{
	struct dev_peer *d = &e->dev_peer[i];
	bool moved = d->moved;
	d->moved = false;
	const struct engine_peer_view *wp = &dev->peers[i];
	if (moved)
		note_handshake(e, i, view_handshake(wp));
	if (!d->p)
		return; /* ourselves */
	if (moved || !peer_bit(e->pt.vis.settled, d->at))
		engine_visit_view(e, d->p, wp);
	else
		engine_visit_view_same(e, d->at, d->p, wp, now);
	if (!engine_visit_skips_at(e, d->at))
		observe_peer(e, now, d->p, wp, out);
}

/* The same peers as at the last tick: only those the shell says moved,
 * those whose last visit left view and state apart, and those the
 * passes visit anyway are loaded; the others are as they were, in the
 * device (dev_idx) and out of it. Nor are their places walked: a place
 * whose peer is left alone, settled and not moved does nothing here, so
 * the places to look at are marked (dev_look) from the moved list and
 * the visit bits, and taken in the device's order. The shadow looks at
 * every place (engine_visit_view_same checks those taken on trust). */
static void observe_moved(struct engine *e, int64_t now, const struct engine_device *dev,
			  struct engine_actions *out)
{
	size_t n = dev->n_peers;
	bool every = e->visit.shadow || e->visit.all;
	uint64_t *look = e->dev_look;
	if (!n)
		return;
	memset(look, 0, (n + 63) / 64 * sizeof(*look));
	for (size_t k = 0; k < dev->n_moved; k++) {
		if (dev->moved[k] < n) {
			e->dev_peer[dev->moved[k]].moved = true;
			peer_bit_put(look, dev->moved[k], true);
		}
	}
	if (every) {
		for (size_t i = 0; i < n; i++)
			observe_place(e, now, dev, i, out);
		return;
	}
	const struct peer_visits *v = &e->pt.vis;
	for (size_t w = 0; w < (e->pt.n + 63) / 64; w++) {
		uint64_t places = peer_bits_below(e->pt.n, w);
		for (uint64_t b = ~(v->skip[w] & v->settled[w]) & places; b; b &= b - 1) {
			const struct peer *p = e->pt.v[w * 64 + (size_t)__builtin_ctzll(b)];
			if (p->dev_idx >= 0 && (size_t)p->dev_idx < n)
				peer_bit_put(look, (size_t)p->dev_idx, true);
		}
	}
	for (size_t i = peer_bit_next(look, 0, 0, n); i < n; i = peer_bit_next(look, 0, i + 1, n))
		observe_place(e, now, dev, i, out);
}

/* The routers among the device's peers; the peers not in it (any that
 * left, noted as last seen at the last tick). */
static void note_absent(struct engine *e)
{
	e->n_routers = 0;
	e->any_router = false;
	for (size_t i = 0; i < e->pt.n; i++) {
		struct peer *p = e->pt.v[i];
		if (p->dev_idx >= 0) {
			e->any_router = e->any_router || p->router;
			if (p->router && e->n_routers < ENGINE_MAX_ROUTERS)
				e->routers[e->n_routers++] = p;
			continue;
		}
		if (p->in_device || p->has_endpoint || p->router)
			e->view_gen++;
		if (p->in_device) { /* it left the device: seen there last tick */
			peer_bit_put(e->pt.vis.skip, i, false);
			if (p->last_seen < e->last_tick)
				p->last_seen = e->last_tick;
		}
		p->in_device = false;
		p->has_endpoint = false;
		p->router = false;
		p->healthy = false;
	}
}

void engine_observe_device(struct engine *e, int64_t now, const struct engine_inputs *in,
		    struct engine_actions *out)
{
	const struct engine_device *dev = &in->dev;
	snprintf(e->ifname, sizeof(e->ifname), "%s", dev->name);
	e->listen_port = dev->listen_port;
	observe_networks(e, in);

	/* Which peers this tick leaves alone (visit.c) is decided here, in
	 * the first pass, with the device's view below. */
	engine_visit_decide(e, now);
	if (same_device(e, dev)) {
		uint64_t view = e->view_gen;
		observe_moved(e, now, dev, out);
		/* No peer came or left: those out of the device were set
		 * aside at an earlier tick, and only a router's moving
		 * (which moves view_gen) changes the routers. */
		if (e->view_gen != view)
			note_absent(e);
	} else {
		observe_all(e, now, dev, out);
		note_absent(e);
	}
	e->routers_silent = e->n_routers > 0;
	for (size_t i = 0; i < e->n_routers; i++)
		e->routers_silent = e->routers_silent && lease_silent(e, e->routers[i], now);

	bool router = e->router_cfg == WL_AUTO ? !e->any_router : e->router_cfg == WL_YES;
	if (router != e->router || e->st.ticks == 1)
		ENGINE_EVENT(out, ENGINE_EV_ROUTER, NULL, "acting as a %s%s", router ? "router" : "leaf",
		      e->router_cfg == WL_AUTO ? " (auto-detected)" : "");
	e->router = router;
}

const struct peer *engine_indexed_subject(const struct engine *e, size_t i)
{
	if (i >= e->n_indexed || e->fsubj_removed != e->pt.removed)
		return NULL;
	const struct peer *p = e->fsubj[i];
	/* Facts may have moved since (a removal fills its place with the last). */
	return p && memcmp(p->key, factset_subject(&e->fs, i), WL_KEY_LEN) == 0 ? p : NULL;
}

struct peer *engine_dev_peer(struct engine *e, size_t i, const uint8_t key[static WL_KEY_LEN])
{
	if (i < e->n_dev_peer && e->dev_peer_removed == e->pt.removed)
		return e->dev_peer[i].p; /* what observe_device found; nothing left since */
	return peertab_find(&e->pt, key);
}

/* Reads name and basic flag out of a MemberMetadata fact into p. */
static void merge_meta(struct peer *p, const struct fact *f, bool name_from_cfg, bool basic_from_cfg)
{
	struct member_meta m;
	const char *why;
	if (!member_meta_decode(f->value, f->value_len, &m, &why))
		return;
	const struct meta_entry *n = member_meta_get(&m, META_KEY_NAME);
	if (n && !name_from_cfg && !p->name[0] && n->len < sizeof(p->name)) {
		/* Names go to logs: keep only printable bytes. */
		size_t k = 0;
		for (size_t i = 0; i < n->len; i++)
			if (n->data[i] >= 0x20 && n->data[i] != 0x7f)
				p->name[k++] = (char)n->data[i];
		p->name[k] = '\0';
	}
	int b = member_meta_basic(&m);
	if (!basic_from_cfg && b > p->basic)
		p->basic = b;
}

static bool index_reserve(struct engine *e)
{
	if (e->fs.n <= e->fnext_alloc)
		return true;
	size_t na = e->fs.n * 2;
	int32_t *nn = realloc(e->fnext, na * sizeof(*nn));
	if (nn)
		e->fnext = nn;
	struct peer **ns = realloc(e->fsubj, na * sizeof(*ns));
	if (ns)
		e->fsubj = ns;
	bool *nf = realloc(e->fself, na * sizeof(*nf));
	if (nf)
		e->fself = nf;
	uint8_t *nr = realloc(e->fround, na * sizeof(*nr));
	if (nr)
		e->fround = nr;
	if (!nn || !ns || !nf || !nr)
		return false;
	e->fnext_alloc = na;
	return true;
}

/* An Endpoint fact about us inside our own subnets (in *ep): a peer
 * reaches us without a NAT (quiet.c); its expiry noted. False for one
 * outside them. */
static bool note_inside(struct engine *e, const struct fentry *fe, struct wl_endpoint *ep)
{
	struct fact f;
	if (!fact_endpoint(factset_fact_of(&e->fs, fe, &f), ep))
		return true; /* (nor outside) */
	if (!engine_on_our_lan(e, &ep->addr))
		return false;
	if (fe->rx_expires > e->imemo.inside_rx)
		e->imemo.inside_rx = fe->rx_expires;
	return true;
}

/* An Endpoint fact about us. A peer's copy inside our own subnets means
 * that peer reaches us without a NAT (quiet.c); [ours] any outside them
 * is an address others see us at (a NAT's public address), kept in
 * e->outer. */
static void note_outer(struct engine *e, const struct fentry *fe)
{
	struct wl_endpoint ep;
	if (note_inside(e, fe, &ep))
		return;
	for (size_t i = 0; i < e->n_outer; i++)
		if (wl_addr_equal(&e->outer[i], &ep.addr))
			return;
	if (e->n_outer < ENGINE_MAX_OUTER)
		e->outer[e->n_outer++] = ep.addr;
}

/* Router r leases us fe: it told it, and has not withdrawn it. */
static bool router_leases(const struct peer *r, const struct fentry *fe)
{
	return engine_from_peer(fe, r) && (!r->lrx.have || lease_rx_has(&r->lrx, fe->lh));
}

/* [ours] A router that tells us a fact about p stands by it only while
 * p is alive or healthy there (send.c: upheld, tellable): the latest
 * expiry it gave such a fact is how long it vouches for p (quiet.c,
 * dormant pairs). A fact it leases us counts only while it does: one it
 * withdrew (p moved) lasts here until it expires, but says nothing.
 * rx: fe's rx_expires (given, so that fe is loaded only when it can
 * add to the vouch). */
static void note_vouch(const struct factset *fs, struct peer *p, const struct fentry *fe,
		       int64_t rx, struct peer *const *routers, size_t n_routers)
{
	if (rx == ENGINE_NEVER)
		return;
	/* The endpoint we use is one the router sees or was told: else the
	 * peer has moved (its NAT gave it another port) and a dormant pair
	 * would keep sending to where it no longer is. */
	struct fact f;
	struct wl_endpoint ep;
	bool at_ours = !p->vouch_ep && p->has_endpoint &&
		       fact_endpoint(factset_fact_of(fs, fe, &f), &ep) &&
		       wl_endpoint_equal(&ep, &p->endpoint);
	/* Nothing fe could add: the lease lookups are spared (a leaf's
	 * facts about a peer mostly share one expiry, a HOLD's). */
	if (rx <= p->vouch_until && !at_ours)
		return;
	bool by_router = false;
	for (size_t i = 0; i < n_routers && !by_router; i++)
		by_router = router_leases(routers[i], fe);
	if (!by_router)
		return;
	if (rx > p->vouch_until)
		p->vouch_until = rx;
	if (at_ours)
		p->vouch_ep = true;
}

bool engine_router_moved_port(const struct engine *e, const struct peer *p, struct wl_endpoint *out)
{
	if (!p->has_endpoint)
		return false;
	bool found = false;
	for (int32_t k = p->fhead; k >= 0; k = e->fnext[k]) {
		const struct fentry *fe = &e->fs.v[k];
		struct fact f;
		struct wl_endpoint ep;
		if (!fact_endpoint(factset_fact(&e->fs, (size_t)k, &f), &ep) ||
		    !wl_addr_equal(&ep.addr, &p->endpoint.addr) ||
		    ep.port == p->endpoint.port)
			continue;
		const struct peer *r = fe->src ? peertab_find_source(&e->pt, fe->src) : NULL;
		if (!r || !r->router || !r->in_device || !router_leases(r, fe))
			continue;
		if (found && !wl_endpoint_equal(&ep, out))
			return false; /* two: which one is not ours to guess */
		*out = ep;
		found = true;
	}
	return found;
}

/* Builds the index; false if it could not be whole (out of memory, or a
 * Member fact's subject found no place in a full peer table). */
static bool index_build(struct engine *e, int64_t now)
{
	bool whole = true;
	e->index_epoch++;
	e->n_outer = 0;
	e->imemo.inside_rx = ENGINE_NEVER;
	/* Last tick's subjects are this tick's guesses (peertab_hinted): the
	 * set rarely changes between ticks, though entries move. */
	size_t hints = e->n_indexed;
	uint64_t hint_removed = e->fsubj_removed;
	/* Member facts make their subjects peers we track. Created first, as
	 * creating may evict, and the index below holds pointers. */
	for (size_t k = 0; k < e->fs.n; k++) {
		uint8_t attr = factset_attr(&e->fs, k);
		const uint8_t *subject = factset_subject(&e->fs, k);
		if ((attr == ATTR_MEMBER_META || attr == ATTR_MEMBER) &&
		    !engine_is_self(e, subject) &&
		    !peertab_hinted(&e->pt, subject, k < hints ? e->fsubj[k] : NULL,
				    hint_removed, true, now))
			whole = false;
	}
	for (size_t i = 0; i < e->pt.n; i++) {
		struct peer *p = e->pt.v[i];
		const struct cfg_peer *c = engine_cfg_of(e, p);
		p->fhead = -1;
		p->member_fact = false;
		p->name[0] = '\0';
		p->basic = -1;
		p->vouch_until = ENGINE_NEVER;
		p->vouch_ep = false;
		if (c && c->has_name)
			snprintf(p->name, sizeof(p->name), "%s", c->name);
		if (c && c->basic >= 0)
			p->basic = c->basic;
	}
	size_t n = index_reserve(e) ? e->fs.n : 0;
	whole = whole && n == e->fs.n;
	/* Walk backwards so each chain lists facts in set order. */
	for (size_t k = n; k-- > 0;) {
		const struct fentry *fe = &e->fs.v[k];
		const uint8_t *subject = factset_subject(&e->fs, k);
		e->fself[k] = engine_is_self(e, subject);
		if (e->fself[k]) {
			e->fsubj[k] = NULL;
			note_outer(e, fe);
			continue;
		}
		struct peer *p = peertab_hinted(&e->pt, subject, k < hints ? e->fsubj[k] : NULL,
						hint_removed, false, now);
		e->fsubj[k] = p;
		if (!p)
			continue;
		e->fnext[k] = p->fhead;
		p->fhead = (int32_t)k;
		note_vouch(&e->fs, p, fe, fe->rx_expires, e->routers, e->n_routers);
		uint8_t attr = factset_attr(&e->fs, k);
		if (attr == ATTR_MEMBER_META || attr == ATTR_MEMBER) {
			const struct cfg_peer *c = engine_cfg_of(e, p);
			struct fact f;
			p->member_fact = true;
			merge_meta(p, factset_fact(&e->fs, k, &f), c && c->has_name,
				   c && c->basic >= 0);
		}
	}
	e->n_indexed = n;
	e->fsubj_removed = e->pt.removed;
	return whole;
}

/* What the index is built from: the facts (their subjects, sources and
 * expiries from others), the peer table, the device view (in_device,
 * router, endpoint), our own addresses, and our routers' leases. */
static void index_memo_take(struct engine *e, struct index_memo *m)
{
	m->facts = e->fs.shape_gen;
	m->n_facts = e->fs.n;
	m->n_peers = e->pt.n;
	m->removed = e->pt.removed;
	m->view = e->view_gen;
	m->addr_sig = e->addr_sig;
	m->n_routers = e->n_routers;
	for (size_t i = 0; i < m->n_routers; i++) {
		m->routers[i] = e->routers[i];
		m->router_lrx[i] = e->routers[i]->lrx.gen;
	}
}

static bool index_memo_same(const struct index_memo *a, const struct index_memo *b)
{
	if (a->facts != b->facts || a->n_facts != b->n_facts || a->n_peers != b->n_peers ||
	    a->removed != b->removed || a->view != b->view || a->addr_sig != b->addr_sig ||
	    a->n_routers != b->n_routers)
		return false;
	for (size_t i = 0; i < a->n_routers; i++)
		if (a->routers[i] != b->routers[i] || a->router_lrx[i] != b->router_lrx[i])
			return false;
	return true;
}

/* How many moved facts ahead index_extend loads a subject. */
#define EXTEND_AHEAD 8

/* p's vouch moved later, from `until`, and it still vouches at our
 * endpoint or still does not. If this tick leaves p alone and p was
 * vouched for more than a chunk ahead, engine_vouched says what it said,
 * and every test of its passes comes out as before but one: a dormant
 * pair lives as long as the vouch. If its liveness then moves only
 * where no test reads it (every test of alive_until is within two
 * chunks of now: alive, usable, a settled source), that write is done
 * here and its due time worked out afresh at the tick's end, rather than
 * visiting it: a HOLD moves every dormant peer's vouch. False: visit it. */
static bool vouch_extended(struct engine *e, struct peer *p, int64_t until, int64_t now)
{
	int64_t C = e->t.chunk_period_ms;
	if (!engine_visit_left_alone(e, p) || until == ENGINE_NEVER || until - now <= C)
		return false;
	int64_t alive_until = p->alive_until;
	engine_dormant_liveness(e, p, now);
	if (p->alive_until != alive_until && (alive_until == ENGINE_NEVER || alive_until - now <= 2 * C))
		return false; /* (visited: the liveness pass writes the same) */
	engine_visit_redue(e, p);
	return true;
}

/* [ours] The index as built, but facts whose expiry from a peer moved
 * later (factset.rx_moved; a HOLD moves nearly every fact of a leaf):
 * what a build would give anew is only the greater vouch of their
 * subjects and our inside expiry, both the greatest of what the facts
 * say, so each moved fact is taken in as a build takes it. A peer whose
 * vouch moved is visited from this pass on, or only has its dormant
 * liveness follow (vouch_extended); the others, nothing of theirs having
 * moved, are left as they were (a build visited every peer). */
static void index_extend(struct engine *e, int64_t now)
{
	const struct factset *s = &e->fs;
	for (size_t i = 0; i < s->n_rx_moved; i++) {
		size_t k = s->rx_moved[i].at;
		if (k >= e->n_indexed)
			continue;
		/* The subjects and the routers' lease slots are reached at
		 * random: load what note_vouch reads a few facts ahead. (A
		 * fact's own entry is loaded only for the first of its
		 * subject's: the rest add nothing.) */
		if (i + EXTEND_AHEAD < s->n_rx_moved && s->rx_moved[i + EXTEND_AHEAD].at < e->n_indexed) {
			const struct rx_moved *a = &s->rx_moved[i + EXTEND_AHEAD];
			if (e->fsubj[a->at])
				__builtin_prefetch(&e->fsubj[a->at]->vouch_until);
			for (size_t r = 0; r < e->n_routers; r++)
				lease_rx_prefetch(&e->routers[r]->lrx, a->lh);
		}
		/* Halfway there, the subject has come: the entry of a fact that
		 * will raise its vouch is loaded too. */
		size_t h = i + EXTEND_AHEAD / 2;
		if (h < s->n_rx_moved && s->rx_moved[h].at < e->n_indexed) {
			const struct peer *q = e->fsubj[s->rx_moved[h].at];
			if (q && s->rx_moved[h].rx_expires > q->vouch_until)
				__builtin_prefetch(&s->v[s->rx_moved[h].at].src);
		}
		const struct fentry *fe = &s->v[k];
		struct wl_endpoint ep;
		if (e->fself[k]) {
			note_inside(e, fe, &ep);
			continue;
		}
		struct peer *p = e->fsubj[k];
		if (!p)
			continue;
		int64_t until = p->vouch_until;
		bool at_ours = p->vouch_ep;
		note_vouch(s, p, fe, s->rx_moved[i].rx_expires, e->routers, e->n_routers);
		if (p->vouch_ep != at_ours ||
		    (p->vouch_until != until && !vouch_extended(e, p, until, now)))
			engine_visit_now(e, p);
	}
}

/* What a rebuild of the index would write besides: Member facts'
 * subjects out of the device were seen now (a device peer is noted when
 * it leaves, observe_device). Those peers are listed once and the list
 * kept while nothing it depends on moves: the walk looked into every
 * peer at every tick. */
static void note_members_seen(struct engine *e, int64_t now)
{
	if (!e->absent_ok || e->absent_view != e->view_gen || e->absent_index != e->index_epoch ||
	    e->absent_removed != e->pt.removed) {
		e->n_absent = 0;
		e->absent_ok = true;
		for (size_t i = 0; i < e->pt.n; i++) {
			struct peer *p = e->pt.v[i];
			if (p->in_device || !p->member_fact)
				continue;
			if (wl_grow((void **)&e->absent, &e->cap_absent, e->n_absent + 1,
				    sizeof(*e->absent)))
				e->absent[e->n_absent++] = p;
			else
				e->absent_ok = false; /* made afresh at the next tick */
			p->last_seen = now;
		}
		e->absent_view = e->view_gen;
		e->absent_index = e->index_epoch;
		e->absent_removed = e->pt.removed;
		return;
	}
	for (size_t i = 0; i < e->n_absent; i++)
		e->absent[i]->last_seen = now;
}

/* [ours] In steady state most ticks find the facts and the device as the
 * last left them: the index then stands as built, and all a rebuild would
 * change is when Member facts' subjects were last seen. At a thousand
 * peers a rebuild is thousands of keyed lookups and lease lookups. */
void engine_index_facts(struct engine *e, int64_t now)
{
	struct index_memo m = { 0 };
	index_memo_take(e, &m);
	if (e->imemo.valid && index_memo_same(&e->imemo, &m)) {
		e->st.index_kept++;
		index_extend(e, now);
		note_members_seen(e, now);
	} else {
		bool whole = index_build(e, now);
		int64_t inside_rx = e->imemo.inside_rx;
		/* Taken again: building may have created peers. */
		index_memo_take(e, &e->imemo);
		e->imemo.inside_rx = inside_rx;
		e->imemo.valid = whole;
	}
	factset_rx_moved_clear(&e->fs);
	bool seen_inside = e->imemo.inside_rx > now;
	/* Once seen, it holds until our addresses change or a NAT's shows:
	 * a public node's own endpoint is a fact it tells its router too,
	 * and a router does not tell a leased fact back (split horizon,
	 * send.c), so the router's copy lapses after FactTTL. */
	if (e->moved || e->n_outer || e->behind_nat)
		e->inside_seen = false;
	e->inside_seen = e->inside_seen || seen_inside;
	e->nat_free = e->inside_seen && !e->n_outer && !e->behind_nat;
}

void engine_observe_liveness(struct engine *e, int64_t now, struct engine_actions *out)
{
	char lb[WL_PEER_LABEL_MAX];
	for (size_t i = engine_visit_next(e, 0); i < e->pt.n; i = engine_visit_next(e, i + 1)) {
		struct peer *p = e->pt.v[i];
		engine_dormant_liveness(e, p, now);
		bool alive = peer_alive(p, now);
		if (p->boot_changed) {
			char hex[2 * BOOT_ID_LEN + 1];
			ENGINE_EVENT(out, ENGINE_EV_PEER_BOOT, p->key, "peer %s has boot id %s",
			      engine_peer_label(p, lb), hex_encode(p->boot_id, BOOT_ID_LEN, hex));
			p->boot_changed = false;
		}
		if (alive != p->was_alive)
			ENGINE_EVENT(out, alive ? ENGINE_EV_ALIVE : ENGINE_EV_DEAD, p->key, "peer %s %s",
			      engine_peer_label(p, lb), alive ? "is alive" : "is no longer alive");
		/* [ours] We hear it again after its Alive lapsed: the path was
		 * down both ways, so ours were lost too, though peer knowledge
		 * says it has them. Tell it now rather than at our next
		 * AlivePeriod, or it keeps our tunnel IP off for up to 30 s. */
		if (alive && !p->was_alive)
			p->force_alive = true;
		p->was_alive = alive;
		bool ha = alive && p->healthy;
		if (ha && !p->was_healthy_alive)
			p->alive_since = now;
		p->was_healthy_alive = ha;
	}
}
