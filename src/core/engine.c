/* Construction, the tick sequence, deadlines and queries. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine_internal.h"
#include "wire/autoaddr.h"

#define DEFAULT_MAX_FACTS 16384
#define DEFAULT_MAX_PEERS 4096
/* Knowledge holds a key for every fact and the Alives besides: were it
 * smaller than the fact table, a full table would be resent every tick. */
#define KNOWLEDGE_HEADROOM 1024
/* Shared keys cached: X25519 per datagram would dominate receive cost
 * once peers outnumber the slots (measured: 4.5 us vs 89 us per datagram). */
#define KEYCACHE_SLOTS 1024
/* How often expired knowledge and forgotten peers are swept. */
#define GC_PERIOD_MS 60000

void engine_timing_default(struct engine_timing *t)
{
	t->fact_ttl_ms = 255000;
	t->alive_period_ms = 30000;
	t->chunk_period_ms = 5000;
	t->endpoint_interval_ms = 5000;
	t->fresh_try_ms = 2000;
	t->handshake_validity_ms = 165334;
	t->react_delay_ms = 100;
	t->stagger_ms = 500;
	t->probe_interval_ms = 400;
	t->watch_ms = 3000;
	t->stall_ms = 800;
	t->probe_misses = 3;
	t->retry_max_ms = 60000;
	t->jitter_pct = 10;
	t->leases = true;
	t->quiet_period_ms = 600000;
	t->dormant = true;
	t->skip_idle = true;
}

void engine_config_init(struct engine_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->router = WL_AUTO;
	engine_timing_default(&cfg->timing);
}

static void free_cfg(struct engine *e)
{
	for (size_t i = 0; i < e->n_cfg; i++) {
		free(e->cfg[i].eps);
		free(e->cfg[i].allowed);
	}
	free(e->cfg);
	e->cfg = NULL;
	e->n_cfg = 0;
}

static bool copy_peer_cfg(struct cfg_peer *d, const struct engine_peer_config *s)
{
	memcpy(d->key, s->public_key, WL_KEY_LEN);
	d->has_name = s->name && s->name[0];
	if (d->has_name)
		snprintf(d->name, sizeof(d->name), "%s", s->name);
	d->trust = s->trust;
	d->fact_exchanger = s->fact_exchanger;
	d->basic = s->basic < 0 ? -1 : s->basic > 0;
	if (s->n_endpoints) {
		d->eps = calloc(s->n_endpoints, sizeof(*d->eps));
		if (!d->eps)
			return false;
		memcpy(d->eps, s->endpoints, s->n_endpoints * sizeof(*d->eps));
		d->n_eps = s->n_endpoints;
	}
	if (s->n_allowed) {
		d->allowed = calloc(s->n_allowed, sizeof(*d->allowed));
		if (!d->allowed)
			return false;
		for (size_t j = 0; j < s->n_allowed; j++) {
			d->allowed[j] = s->allowed_ips[j];
			wl_cidr_mask(&d->allowed[j]);
		}
		d->n_allowed = s->n_allowed;
	}
	return true;
}

static bool copy_config(struct engine *e, const struct engine_config *cfg)
{
	e->port_cfg = cfg->port;
	e->router_cfg = cfg->router;
	e->chatty = cfg->chatty;
	e->t = cfg->timing;
	e->max_knowledge = cfg->max_knowledge ? cfg->max_knowledge
			   : (cfg->max_facts ? cfg->max_facts : DEFAULT_MAX_FACTS) + KNOWLEDGE_HEADROOM;
	e->self_cfg = -1;
	e->own_trust = TRUST_UNSET;
	if (cfg->n_peers) {
		e->cfg = calloc(cfg->n_peers, sizeof(*e->cfg));
		if (!e->cfg)
			return false;
	}
	for (size_t i = 0; i < cfg->n_peers; i++) {
		e->n_cfg++;
		if (!copy_peer_cfg(&e->cfg[i], &cfg->peers[i]))
			return false;
		if (e->cfg[i].trust != TRUST_UNSET)
			e->any_trust = true;
		if (engine_is_self(e, e->cfg[i].key)) {
			e->self_cfg = (int)i;
			e->own_trust = e->cfg[i].trust;
		}
	}
	return true;
}

bool engine_config_check(const struct engine_config *cfg, const char **why)
{
	uint8_t pub[WL_KEY_LEN];
	const struct engine_timing *t = &cfg->timing;
	if (sodium_init() < 0) {
		*why = "libsodium failed to initialise";
		return false;
	}
	if (crypto_scalarmult_base(pub, cfg->private_key) != 0) {
		*why = "the private key gives no usable public key";
		return false;
	}
	if (t->chunk_period_ms <= 0 || t->fact_ttl_ms <= 0 || t->alive_period_ms <= 0 ||
	    t->endpoint_interval_ms <= 0 || t->handshake_validity_ms <= 0) {
		*why = "protocol periods must be positive";
		return false;
	}
	/* Its Alive's ttl (quiet.c) is about 2 periods, in 16 bits of
	 * seconds. */
	if (t->quiet_period_ms &&
	    (t->quiet_period_ms < t->alive_period_ms || t->quiet_period_ms > 30000000)) {
		*why = "the quiet period must be 0 or from the AlivePeriod to 30000 s";
		return false;
	}
	if (t->jitter_pct < 0 || t->jitter_pct > 50) {
		*why = "the jitter must be 0 to 50 percent";
		return false;
	}
	return true;
}

struct engine *engine_new(const struct engine_config *cfg, const uint8_t seed[static 32],
			  int64_t now_ms)
{
	const char *why;
	if (!engine_config_check(cfg, &why))
		return NULL;
	struct engine *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	memcpy(e->priv, cfg->private_key, WL_KEY_LEN);
	crypto_scalarmult_base(e->pub, e->priv);
	rng_init(&e->rng, seed);
	uint8_t hkey[16];
	rng_bytes(&e->rng, hkey, sizeof(hkey));
	if (!copy_config(e, cfg))
		goto fail;
	if (keycache_init(&e->kc, e->priv, KEYCACHE_SLOTS) < 0)
		goto fail;
	if (cfg->agreement.agree)
		keycache_set_agreement(&e->kc, e->pub, &cfg->agreement);
	struct factset_limits lim;
	factset_limits_default(&lim);
	if (cfg->facts_per_source)
		lim.per_source = cfg->facts_per_source;
	if (cfg->endpoints_per_subject)
		lim.endpoints = cfg->endpoints_per_subject;
	if (cfg->allowed_per_subject)
		lim.allowed = cfg->allowed_per_subject;
	if (cfg->new_members_burst)
		lim.members_burst = cfg->new_members_burst;
	if (cfg->new_members_per_min)
		lim.members_per_min = cfg->new_members_per_min;
	if (factset_init(&e->fs, cfg->max_facts ? cfg->max_facts : DEFAULT_MAX_FACTS, hkey, &lim) < 0)
		goto fail;
	if (peertab_init(&e->pt, cfg->max_peers ? cfg->max_peers : DEFAULT_MAX_PEERS, hkey) < 0)
		goto fail;
	/* Configured peers always have a state (they are never evicted). */
	for (size_t i = 0; i < e->n_cfg; i++) {
		if ((int)i == e->self_cfg)
			continue;
		struct peer *p = peertab_get(&e->pt, e->cfg[i].key, now_ms);
		if (!p)
			goto fail;
		p->cfg = (int)i;
	}
	e->start = now_ms;
	e->last_tick = ENGINE_NEVER;
	e->chunk_gap = e->t.chunk_period_ms;
	e->dirty_at = ENGINE_NEVER;
	e->hold_at = ENGINE_NEVER;
	e->retry_at = ENGINE_NEVER;
	e->path_at = ENGINE_NEVER;
	e->lease_at = ENGINE_NEVER;
	e->renewed_at = ENGINE_NEVER;
	e->next_gc = now_ms + GC_PERIOD_MS;
	engine_new_boot_id(e, "started");
	e->st.boot_id_changes = 0;
	return e;
fail:
	engine_free(e);
	return NULL;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	if (e->kc.slots)
		keycache_destroy(&e->kc);
	engine_visit_free(e);
	factset_free(&e->fs);
	peertab_free(&e->pt);
	free_cfg(e);
	free(e->fnext);
	free(e->fsubj);
	free(e->fself);
	free(e->fround);
	free(e->fview);
	free(e->cand);
	free(e->dev_peer);
	free(e->dev_fresh);
	free(e->dev_look);
	free(e->absent);
	free(e->tun_nets);
	free(e->other_nets);
	rng_wipe(&e->rng);
	sodium_memzero(e->priv, sizeof(e->priv));
	free(e);
}

/* Drops expired facts (SPEC §7); an expired AllowedCidr or Member fact
 * means we may have missed a refresh, so a new boot id asks everyone to
 * resend. */
static void expire_facts(struct engine *e, int64_t now)
{
	/* [ours] Most ticks, nothing has expired: a walk of every fact
	 * would find so. */
	if (now < e->fs.min_expires)
		return;
	bool renew = false;
	int64_t least = INT64_MAX;
	for (size_t i = 0; i < e->fs.n;) {
		struct fentry *fe = &e->fs.v[i];
		if (fe->expires > now) {
			if (fe->expires < least)
				least = fe->expires;
			i++;
			continue;
		}
		uint8_t a = factset_attr(&e->fs, i);
		if (!fe->local && (a == ATTR_ALLOWED_V4 || a == ATTR_ALLOWED_V6 ||
				  a == ATTR_MEMBER || a == ATTR_MEMBER_META))
			renew = true;
		factset_remove_at(&e->fs, i);
		e->st.facts_expired++;
	}
	e->fs.min_expires = least;
	if (renew) {
		engine_new_boot_id(e, "an AllowedCidr or Member fact expired");
		e->renewed_at = now;
	}
}

/* Sweeps expired knowledge and peer states nothing refers to any more. */
static void gc(struct engine *e, int64_t now)
{
	if (now < e->next_gc)
		return;
	e->next_gc = now + GC_PERIOD_MS;
	factset_compact(&e->fs);
	for (size_t i = 0; i < e->pt.n;) {
		struct peer *p = e->pt.v[i];
		knowledge_purge(&p->know, now);
		lease_rx_compact(&p->lrx);
		if (!p->in_device && p->cfg < 0 && p->fhead < 0 && !peer_alive(p, now) &&
		    now - p->last_seen > e->t.fact_ttl_ms) {
			peertab_remove_at(&e->pt, i);
			continue;
		}
		i++;
	}
}

static void sync_stats(struct engine *e)
{
	e->st.facts_evicted = e->fs.evicted;
	e->st.peers_evicted = e->pt.evicted;
	e->st.peers_refused = e->pt.refused;
	e->st.index_builds = e->index_epoch;
}

void engine_tick(struct engine *e, int64_t now, const struct engine_inputs *in,
		 struct engine_actions *out)
{
	if (!in || !in->dev.name)
		return; /* a shell bug; nothing to decide without a device */
	e->st.ticks++;
	if (e->last_tick != ENGINE_NEVER && now - e->last_tick > 2 * e->t.chunk_period_ms)
		engine_new_boot_id(e, "time jumped between ticks");
	e->tunnel_busy = in->tunnel_busy;
	engine_visit_begin(e, now, &in->dev, out);
	engine_observe_device(e, now, in, out);
	e->n_extra = 0;
	for (size_t i = 0; i < in->n_extra_endpoints && e->n_extra < 4; i++)
		e->extra[e->n_extra++] = in->extra_endpoints[i];
	expire_facts(e, now);
	engine_local_facts(e, now, in);
	engine_index_facts(e, now);
	engine_visit_global(e);
	engine_observe_liveness(e, now, out);
	engine_path_watch(e, now, out);
	engine_apply(e, now, in, out);
	engine_send(e, now, out);
	/* Before gc: what it sweeps (expired knowledge, spare table room,
	 * peers nothing refers to) changes no pass's outcome, and the next
	 * tick decides afresh. */
	engine_visit_end(e, now, out);
	gc(e, now);
	if (e->boot_reason[0]) {
		char hex[2 * BOOT_ID_LEN + 1];
		ENGINE_EVENT(out, ENGINE_EV_BOOT_ID, NULL, "new boot id %s: %s",
		      hex_encode(e->boot_id, BOOT_ID_LEN, hex), e->boot_reason);
		e->boot_reason[0] = '\0';
	}
	e->last_tick = now;
	e->dirty_at = ENGINE_NEVER;
	/* Every periodic send (Alives, refreshes) waits for a tick, so the
	 * ticks are what must not run in step with other nodes'. */
	e->chunk_gap = engine_roughly(e, e->t.chunk_period_ms);
	sync_stats(e);
}

int64_t engine_next_deadline(const struct engine *e)
{
	if (e->last_tick == ENGINE_NEVER)
		return e->start;
	int64_t next = e->last_tick + e->chunk_gap;
	if (e->dirty_at != ENGINE_NEVER && e->dirty_at + e->t.react_delay_ms < next)
		next = e->dirty_at + e->t.react_delay_ms;
	if (e->hold_at != ENGINE_NEVER && e->hold_at < next)
		next = e->hold_at;
	if (e->retry_at != ENGINE_NEVER && e->retry_at < next)
		next = e->retry_at;
	if (e->path_at != ENGINE_NEVER && e->path_at < next)
		next = e->path_at;
	if (e->lease_at != ENGINE_NEVER && e->lease_at < next)
		next = e->lease_at;
	return next;
}

void engine_rejoin(struct engine *e, int64_t now_ms, const char *why)
{
	engine_new_boot_id(e, why);
	if (e->dirty_at == ENGINE_NEVER)
		e->dirty_at = now_ms;
}

void engine_clock_jump(struct engine *e, int64_t now_ms)
{
	engine_rejoin(e, now_ms, "wall clock jumped");
}

bool engine_set_peer_endpoints(struct engine *e, const uint8_t key[static WL_KEY_LEN],
			       const struct wl_endpoint *eps, size_t n)
{
	for (size_t i = 0; i < e->n_cfg; i++) {
		struct cfg_peer *c = &e->cfg[i];
		if (memcmp(c->key, key, WL_KEY_LEN) != 0)
			continue;
		struct wl_endpoint *copy = NULL;
		if (n) {
			copy = calloc(n, sizeof(*copy));
			if (!copy)
				return false;
			memcpy(copy, eps, n * sizeof(*copy));
		}
		free(c->eps);
		c->eps = copy;
		c->n_eps = n;
		engine_visit_touch(e, peertab_find(&e->pt, key));
		return true;
	}
	return false;
}

bool engine_peer_wants_endpoints(const struct engine *e, const uint8_t key[static WL_KEY_LEN],
				 int64_t now_ms)
{
	const struct peer *p = peertab_find(&e->pt, key);
	return p && p->cfg >= 0 && !p->healthy && !peer_alive(p, now_ms);
}

void engine_public_key(const struct engine *e, uint8_t out[static WL_KEY_LEN])
{
	memcpy(out, e->pub, WL_KEY_LEN);
}

void engine_boot_id(const struct engine *e, uint8_t out[static BOOT_ID_LEN])
{
	memcpy(out, e->boot_id, BOOT_ID_LEN);
}

bool engine_is_router(const struct engine *e)
{
	return e->router;
}

const struct engine_stats *engine_get_stats(const struct engine *e)
{
	return &e->st;
}

static void fill_info(const struct peer *p, int64_t now, struct engine_peer_info *o)
{
	memset(o, 0, sizeof(*o));
	memcpy(o->key, p->key, WL_KEY_LEN);
	o->in_device = p->in_device;
	o->configured = p->cfg >= 0;
	o->router = p->router;
	o->healthy = p->healthy;
	o->alive = peer_alive(p, now);
	o->has_boot_id = p->has_boot_id;
	memcpy(o->boot_id, p->boot_id, BOOT_ID_LEN);
	o->last_handshake_ms = p->handshake;
	o->alive_since_ms = p->alive_since;
	o->alive_until_ms = p->alive_until;
	o->basic = p->basic;
	snprintf(o->name, sizeof(o->name), "%s", p->name);
	o->has_endpoint = p->has_endpoint;
	o->endpoint = p->endpoint;
	o->path_dead = p->path_dead;
	o->active_at = p->active_at;
	o->ours = p->ours;
	o->lease_ok = p->lease_ok;
	o->dormant_ok = p->dormant_ok;
	o->leased = p->ltx_on;
	o->leases_us = p->lrx.have && !p->lrx.refusing;
	o->quiet = engine_quiet_pair(p);
	o->dormant = engine_dormant_pair(p);
}

bool engine_peer_info(const struct engine *e, const uint8_t key[static WL_KEY_LEN],
		      int64_t now_ms, struct engine_peer_info *out)
{
	const struct peer *p = peertab_find(&e->pt, key);
	if (!p)
		return false;
	fill_info(p, now_ms, out);
	return true;
}

void engine_foreach_peer(const struct engine *e, int64_t now_ms,
			 void (*cb)(void *ctx, const struct engine_peer_info *p), void *ctx)
{
	struct engine_peer_info info;
	for (size_t i = 0; i < e->pt.n; i++) {
		fill_info(e->pt.v[i], now_ms, &info);
		cb(ctx, &info);
	}
}

void engine_foreach_fact(const struct engine *e,
			 void (*cb)(void *ctx, const struct fact *f, int64_t expires_ms, bool local),
			 void *ctx)
{
	struct fact f;
	for (size_t i = 0; i < e->fs.n; i++)
		cb(ctx, factset_fact(&e->fs, i, &f), e->fs.v[i].expires, e->fs.v[i].local);
}

size_t engine_fact_count(const struct engine *e)
{
	return e->fs.n;
}

static size_t hidx_bytes(const struct hidx *x)
{
	return x->b ? (x->mask + 1) * sizeof(*x->b) : 0;
}

static size_t factset_bytes(const struct factset *s)
{
	return s->alloc * (sizeof(*s->v) + sizeof(*s->fv)) + s->value_bytes + hidx_bytes(&s->idx) +
	       s->alloc_src * sizeof(*s->src) +
	       hidx_bytes(&s->src_idx) + s->alloc_kind * sizeof(*s->kind) + hidx_bytes(&s->kind_idx) +
	       s->alloc_gone * sizeof(*s->gone) + s->cap_unsourced * sizeof(*s->unsourced) +
	       s->cap_rx_moved * sizeof(*s->rx_moved);
}

/* The peer table's part of out: peers, knowledge and leases. */
static void peertab_parts(const struct peertab *t, struct engine_memory_parts *out)
{
	/* The visit arrays: a due time a place, and four bitmaps. */
	out->peers = t->alloc * sizeof(*t->v) + t->vis_alloc * sizeof(*t->vis.due) +
		     4 * (t->vis_alloc / 64) * sizeof(uint64_t) + hidx_bytes(&t->idx);
	out->knowledge = out->leases = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct knowledge *k = &t->v[i]->know;
		out->peers += peer_bytes(t->v[i]);
		out->knowledge += k->s ? (k->mask + 1) * sizeof(*k->s) : 0;
		out->leases += lease_rx_bytes(&t->v[i]->lrx);
	}
}

static size_t peertab_bytes(const struct peertab *t)
{
	struct engine_memory_parts p;
	peertab_parts(t, &p);
	return p.peers + p.knowledge + p.leases;
}

void engine_memory_parts(const struct engine *e, struct engine_memory_parts *out)
{
	peertab_parts(&e->pt, out);
	out->facts = factset_bytes(&e->fs);
	out->other = engine_memory(e) - out->facts - out->peers - out->knowledge - out->leases;
}

static size_t cfg_bytes(const struct engine *e)
{
	size_t n = e->n_cfg * sizeof(*e->cfg);
	for (size_t i = 0; i < e->n_cfg; i++)
		n += e->cfg[i].n_eps * sizeof(*e->cfg[i].eps) +
		     e->cfg[i].n_allowed * sizeof(*e->cfg[i].allowed);
	return n;
}

size_t engine_memory(const struct engine *e)
{
	return sizeof(*e) + factset_bytes(&e->fs) + peertab_bytes(&e->pt) +
	       e->kc.cap * sizeof(*e->kc.slots) +
	       e->fnext_alloc * (sizeof(*e->fnext) + sizeof(*e->fsubj) + sizeof(*e->fself) +
				  sizeof(*e->fround)) +
	       e->cap_fview * sizeof(*e->fview) + e->cap_cand * sizeof(*e->cand) +
	       e->dev_peer_alloc * sizeof(*e->dev_peer) + 2 * e->dev_words * sizeof(uint64_t) +
	       e->cap_absent * sizeof(*e->absent) +
	       (e->cap_tun + e->cap_other) * sizeof(struct wl_cidr) + cfg_bytes(e);
}
