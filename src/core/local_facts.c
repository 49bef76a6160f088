/* SPEC §5: the facts a node knows first-hand, rebuilt every tick with
 * expires = now + FactTTL. Facts that stop being generated are removed at
 * once (factset_end_local). */
#include <string.h>

#include "core/engine_internal.h"

struct lf {
	struct engine *e;
	int64_t now, expires;
	uint16_t ttl;
};

/* hint: where this fact was put last time (factset_put_hinted), or NULL. */
static void put(struct lf *c, const struct fact *f, uint32_t *hint)
{
	factset_put_hinted(&c->e->fs, f, c->expires, c->now, NULL, hint);
}

static void put_endpoint(struct lf *c, const uint8_t *subject, const struct wl_endpoint *ep,
			 uint32_t *hint)
{
	struct fact f;
	if (fact_make_endpoint(&f, subject, ep, c->ttl))
		put(c, &f, hint);
}

static void put_cidr(struct lf *c, const uint8_t *subject, const struct wl_cidr *cidr,
		     uint32_t *hint)
{
	struct fact f;
	struct wl_cidr m = *cidr;
	wl_cidr_mask(&m);
	if (fact_make_cidr(&f, subject, &m, c->ttl))
		put(c, &f, hint);
}

static void put_meta(struct lf *c, const uint8_t *subject, const struct cfg_peer *cp,
		     uint32_t *hint)
{
	struct fact f;
	const char *name = cp && cp->has_name ? cp->name : NULL;
	int basic = cp ? cp->basic : -1;
	if (fact_make_member_meta(&f, subject, name, basic, c->ttl))
		put(c, &f, hint);
}

/* 1: global unicast addresses of reported, up, non-WireGuard interfaces,
 * and the endpoints the shell found for us otherwise (port mappings). */
static void own_endpoints(struct lf *c, const struct engine_inputs *in)
{
	struct engine *e = c->e;
	if (!e->listen_port)
		return;
	for (size_t i = 0; i < in->n_ifaces; i++) {
		const struct engine_iface *ifc = &in->ifaces[i];
		if (!ifc->up || !ifc->report || (ifc->name && strcmp(ifc->name, e->ifname) == 0))
			continue;
		for (size_t j = 0; j < ifc->n_addrs; j++) {
			const struct wl_addr *a = &ifc->addrs[j].addr;
			if (!wl_addr_is_global_unicast(a))
				continue;
			struct wl_endpoint ep = { .addr = *a, .port = e->listen_port };
			put_endpoint(c, e->pub, &ep, NULL);
		}
	}
	for (size_t i = 0; i < in->n_extra_endpoints; i++)
		if (wl_addr_is_global_unicast(&in->extra_endpoints[i].addr))
			put_endpoint(c, e->pub, &in->extra_endpoints[i], NULL);
}

/* 2: a router without configured AllowedIPs advertises its own subnets.
 * Link-local addresses (our auto address among them) are not subnets
 * anyone should route to us. */
static void own_allowed(struct lf *c, const struct engine_inputs *in)
{
	struct engine *e = c->e;
	if (!e->router || (e->self_cfg >= 0 && e->cfg[e->self_cfg].n_allowed))
		return;
	for (size_t i = 0; i < in->n_ifaces; i++) {
		const struct engine_iface *ifc = &in->ifaces[i];
		if (!ifc->name || strcmp(ifc->name, e->ifname) != 0)
			continue;
		for (size_t j = 0; j < ifc->n_addrs; j++)
			if (wl_addr_is_global_unicast(&ifc->addrs[j].addr))
				put_cidr(c, e->pub, &ifc->addrs[j], NULL);
	}
}

/* 3: what the device tells us about peer i. */
static void device_peer(struct lf *c, const struct engine_peer_view *wp, size_t i, bool cidrs,
			bool members, int64_t now)
{
	struct engine *e = c->e;
	int64_t hs = wp->handshake_ms;
	bool fresh = wp->has_endpoint && hs != ENGINE_NEVER && now - hs < e->t.handshake_validity_ms;
	if (!fresh && !cidrs && !members)
		return;
	if (engine_is_self(e, wp->key))
		return;
	struct peer *p = engine_dev_peer(e, i, wp->key);
	/* [ours] Not a candidate we set after its last handshake: that
	 * handshake was elsewhere, and saying the peer is at the
	 * candidate would have everyone try it (and say so in turn):
	 * a stale endpoint could then outlive the last path that used
	 * it. An endpoint WireGuard moved to itself (the peer's packets
	 * came from there) is reported, whenever the handshake was.
	 * SPEC §5 reports whatever the device holds. */
	bool trying = fresh && p && p->has_try_ep && hs < p->last_try &&
		      wl_endpoint_equal(&wp->endpoint, &p->try_ep);
	if (fresh && !trying)
		put_endpoint(c, wp->key, &wp->endpoint, p ? &p->lf_hint[LF_ENDPOINT] : NULL);
	uint32_t *cidr_hint = p ? &p->lf_hint[LF_CIDR] : NULL; /* the first's */
	for (size_t j = 0; cidrs && j < wp->n_allowed; j++) {
		if (!wl_addr_is_link_local(&wp->allowed_ips[j].addr)) {
			put_cidr(c, wp->key, &wp->allowed_ips[j], cidr_hint);
			cidr_hint = NULL;
		}
	}
	/* Configured peers get their (named) metadata in step 4. */
	if (members && !(p && p->cfg >= 0))
		put_meta(c, wp->key, NULL, p ? &p->lf_hint[LF_META] : NULL);
}

static void device_peers(struct lf *c, const struct engine_inputs *in, int64_t now)
{
	struct engine *e = c->e;
	const struct engine_device *dev = &in->dev;
	size_t n = dev->n_peers;
	bool cidrs = e->router || (e->own_trust != TRUST_UNSET && e->own_trust >= TRUST_ALLOWED_IPS);
	bool members = e->router || (e->own_trust != TRUST_UNSET && e->own_trust >= TRUST_MEMBERSHIP);
	if (cidrs || members || e->n_dev_peer != n) {
		for (size_t i = 0; i < n; i++)
			device_peer(c, &dev->peers[i], i, cidrs, members, now);
		return;
	}
	/* A leaf puts only what fresh handshakes say: its idle peers put
	 * nothing, and neither their view nor their state is loaded (at a
	 * thousand peers, each a cache miss). observe_device kept each
	 * view's handshake this tick, and marks the places whose handshake
	 * may be fresh (dev_fresh); one found stale is not looked at again
	 * until its handshake moves. */
	for (size_t i = peer_bit_next(e->dev_fresh, 0, 0, n); i < n;
	     i = peer_bit_next(e->dev_fresh, 0, i + 1, n)) {
		if (now - e->dev_peer[i].hs >= e->t.handshake_validity_ms) {
			peer_bit_put(e->dev_fresh, i, false);
			continue;
		}
		device_peer(c, &dev->peers[i], i, false, false, now);
	}
}

/* 4: static configuration. */
static void configured_peers(struct lf *c, int64_t now)
{
	struct engine *e = c->e;
	for (size_t i = 0; i < e->n_cfg; i++) {
		const struct cfg_peer *cp = &e->cfg[i];
		put_meta(c, cp->key, cp, NULL);
		for (size_t j = 0; j < cp->n_allowed; j++)
			put_cidr(c, cp->key, &cp->allowed[j], NULL);
		if ((int)i == e->self_cfg)
			continue;
		const struct peer *p = peertab_find(&e->pt, cp->key);
		if (p && (p->healthy || peer_alive(p, now)))
			continue;
		for (size_t j = 0; j < cp->n_eps; j++)
			if (wl_addr_is_global_unicast(&cp->eps[j].addr))
				put_endpoint(c, cp->key, &cp->eps[j], NULL);
	}
}

void engine_local_facts(struct engine *e, int64_t now, const struct engine_inputs *in)
{
	struct lf c = {
		.e = e,
		.now = now,
		.expires = now + e->t.fact_ttl_ms,
		.ttl = fact_ttl_from(now + e->t.fact_ttl_ms, now),
	};
	factset_begin_local(&e->fs);
	own_endpoints(&c, in);
	own_allowed(&c, in);
	device_peers(&c, in, now);
	configured_peers(&c, now);
	factset_end_local(&e->fs, now);
}
