/* The operator's view of a peer (report.h): path, trust source and the
 * reason a peer is not direct, read from the state the tick keeps. Nothing
 * here changes the engine. */
#include "core/report.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/engine_internal.h"

const char *report_path_name(enum report_path p)
{
	switch (p) {
	case REPORT_DIRECT: return "direct";
	case REPORT_VIA: return "via";
	case REPORT_DOWN: return "down";
	}
	return "down";
}

const char *report_why_name(enum report_why w)
{
	static const char *const names[REPORT_WHY_COUNT] = {
		[REPORT_WHY_NONE] = "none",
		[REPORT_WHY_NOT_MEMBER] = "not_member",
		[REPORT_WHY_PATH_DEAD] = "path_dead",
		[REPORT_WHY_BASIC] = "basic",
		[REPORT_WHY_TRUST_REFUSED] = "trust_refused",
		[REPORT_WHY_NO_CANDIDATES] = "no_candidates",
		[REPORT_WHY_TRYING] = "trying",
		[REPORT_WHY_CANDIDATES_FAILED] = "candidates_failed",
		[REPORT_WHY_NAT] = "nat",
	};
	return (unsigned)w < REPORT_WHY_COUNT ? names[w] : "none";
}

const char *report_cand_result_name(enum report_cand_result r)
{
	switch (r) {
	case REPORT_CAND_UNTRIED: return "untried";
	case REPORT_CAND_TRYING: return "trying";
	case REPORT_CAND_NO_ANSWER: return "no_answer";
	case REPORT_CAND_WORKED: return "worked";
	case REPORT_CAND_DIED: return "died";
	}
	return "untried";
}

const char *report_trust_how_name(enum report_trust_how h)
{
	switch (h) {
	case REPORT_TRUST_CONFIG: return "config";
	case REPORT_TRUST_ROUTER: return "router";
	case REPORT_TRUST_DEVICE: return "device";
	case REPORT_TRUST_NONE: return "none";
	}
	return "none";
}

static bool is_endpoint_attr(uint8_t attr)
{
	return attr == ATTR_ENDPOINT_V4 || attr == ATTR_ENDPOINT_V6;
}

static void add_cand(const struct peer *p, const struct wl_endpoint *ep, struct engine_report *r)
{
	for (size_t i = 0; i < r->n_cands; i++)
		if (wl_endpoint_equal(&r->cands[i].ep, ep))
			return;
	if (r->n_cands >= REPORT_CANDS_MAX)
		return;
	struct report_cand *c = &r->cands[r->n_cands++];
	c->ep = *ep;
	c->tried_at = ENGINE_NEVER;
	c->result = REPORT_CAND_UNTRIED;
	for (size_t i = 0; i < p->n_tried; i++) {
		if (!wl_endpoint_equal(&p->tried[i].ep, ep))
			continue;
		c->tried_at = p->tried[i].at;
		c->result = p->tried[i].result == TRIED_PENDING     ? REPORT_CAND_TRYING
			    : p->tried[i].result == TRIED_WORKED    ? REPORT_CAND_WORKED
			    : p->tried[i].result == TRIED_DIED      ? REPORT_CAND_DIED
								    : REPORT_CAND_NO_ANSWER;
	}
}

/* The candidates apply.c picks from (pick_endpoint): Endpoint facts about
 * the peer that do not route through the tunnel, and the operator's
 * endpoint. A scan of the fact table, not the tick's index: between ticks
 * received facts may have moved entries. */
static void candidates(const struct engine *e, const struct peer *p, struct engine_report *r)
{
	for (size_t i = 0; i < e->fs.n; i++) {
		struct fact f;
		struct wl_endpoint ep;
		if (!is_endpoint_attr(factset_attr(&e->fs, i)) ||
		    memcmp(factset_subject(&e->fs, i), p->key, WL_KEY_LEN) != 0 ||
		    !fact_endpoint(factset_fact(&e->fs, i, &f), &ep) ||
		    engine_through_tunnel(e, &ep.addr))
			continue;
		add_cand(p, &ep, r);
	}
	if (p->has_initial_ep)
		add_cand(p, &p->initial_ep, r);
	int64_t cur_at = ENGINE_NEVER;
	for (size_t i = 0; i < r->n_cands; i++) {
		if (r->cands[i].tried_at != ENGINE_NEVER)
			r->n_tried++;
		/* The device after this tick's changes (apply.c sets send_ep). */
		if (p->send_ok && wl_endpoint_equal(&r->cands[i].ep, &p->send_ep)) {
			r->cand_current = (int)i;
			cur_at = r->cands[i].tried_at;
		}
	}
	/* A healthy session runs on the device's endpoint: that one works,
	 * whether or not a handshake was seen arriving there (the operator's
	 * endpoint, found working at our first tick). */
	if (p->healthy && r->cand_current >= 0)
		r->cands[r->cand_current].result = REPORT_CAND_WORKED;
	/* "n of m": the current one's place among those tried so far. */
	if (r->cand_current >= 0 && cur_at != ENGINE_NEVER)
		for (size_t i = 0; i < r->n_cands; i++)
			if (r->cands[i].tried_at != ENGINE_NEVER && r->cands[i].tried_at <= cur_at)
				r->cand_rank++;
	if (p->last_try != ENGINE_NEVER && r->n_cands && !p->healthy) {
		int64_t gap = p->try_gap && !e->busy ? p->try_gap : e->t.endpoint_interval_ms;
		if (r->n_tried < r->n_cands && gap > e->t.fresh_try_ms)
			gap = e->t.fresh_try_ms;
		r->next_try_at = p->last_try + gap;
		int64_t unsent = engine_try_unsent_until(p);
		if (unsent != ENGINE_NEVER && unsent > r->next_try_at)
			r->next_try_at = unsent;
	}
}

static const struct peer *peer_by_source(const struct engine *e, uint64_t src)
{
	for (size_t i = 0; i < e->pt.n; i++)
		if ((e->pt.v[i]->h | 1) == src)
			return e->pt.v[i];
	return NULL;
}

static void trust_source(const struct engine *e, const struct peer *p, struct engine_report *r)
{
	const struct cfg_peer *c = engine_cfg_of(e, p);
	r->trust = engine_trust_of_source(e, p);
	r->trust_how = c && c->trust != TRUST_UNSET		    ? REPORT_TRUST_CONFIG
		       : !e->any_trust && p->in_device && p->router ? REPORT_TRUST_ROUTER
		       : p->in_device				    ? REPORT_TRUST_DEVICE
								    : REPORT_TRUST_NONE;
	if (c)
		return; /* a member by configuration */
	for (size_t i = 0; i < e->fs.n && !r->has_member_src; i++) {
		const struct fentry *fe = &e->fs.v[i];
		if (factset_attr(&e->fs, i) != ATTR_MEMBER_META || !fe->src ||
		    memcmp(factset_subject(&e->fs, i), p->key, WL_KEY_LEN) != 0)
			continue;
		const struct peer *q = peer_by_source(e, fe->src);
		if (!q)
			continue;
		r->has_member_src = true;
		memcpy(r->member_src, q->key, WL_KEY_LEN);
		snprintf(r->member_src_name, sizeof(r->member_src_name), "%s", q->name);
	}
}

static bool is_extra(const struct engine *e, const struct wl_endpoint *ep)
{
	for (size_t i = 0; i < e->n_extra; i++)
		if (wl_endpoint_equal(&e->extra[i], ep))
			return true;
	return false;
}

/* Evidence about our NAT: a peer told us it sees us at a public address
 * with a port that is not our listen port, and no mapping of ours is
 * that endpoint. */
static void nat_evidence(const struct engine *e, struct engine_report *r)
{
	memset(&r->nat_seen, 0, sizeof(r->nat_seen));
	r->listen_port = e->listen_port;
	r->port_mapping = e->n_extra > 0;
	if (!e->behind_nat || !e->listen_port)
		return;
	for (size_t i = 0; i < e->fs.n; i++) {
		const struct fentry *fe = &e->fs.v[i];
		struct fact f;
		struct wl_endpoint ep;
		if (!is_endpoint_attr(factset_attr(&e->fs, i)) || fe->rx_expires == ENGINE_NEVER ||
		    !engine_is_self(e, factset_subject(&e->fs, i)) ||
		    !fact_endpoint(factset_fact(&e->fs, i, &f), &ep) ||
		    !wl_addr_is_global_unicast(&ep.addr) || wl_addr_is_private(&ep.addr) ||
		    ep.port == e->listen_port || is_extra(e, &ep))
			continue;
		r->nat_rewrites = true;
		r->nat_seen = ep;
		return;
	}
}

/* The first healthy router in the device (what a peer falls back to). */
static const struct peer *healthy_router(const struct engine *e)
{
	for (size_t i = 0; i < e->pt.n; i++) {
		const struct peer *q = e->pt.v[i];
		if (q->in_device && q->router && q->healthy)
			return q;
	}
	return NULL;
}

/* via: healthy_router(e), looked up once by the caller. */
static enum report_path path_kind(const struct engine *e, const struct peer *p,
				  const struct peer *via)
{
	if (p->in_device && p->healthy)
		return REPORT_DIRECT;
	/* A router, and every peer of a router, has nothing to go via. */
	return e->router || !p->in_device || p->router || !via ? REPORT_DOWN : REPORT_VIA;
}

static void path_of(const struct engine *e, const struct peer *p, const struct peer *via,
		    struct engine_report *r)
{
	r->path = path_kind(e, p, via);
	if (r->path != REPORT_VIA)
		return;
	r->has_via = true;
	memcpy(r->via_key, via->key, WL_KEY_LEN);
	snprintf(r->via_name, sizeof(r->via_name), "%s", via->name);
}

static bool listed(const struct peer *p)
{
	return p->in_device || p->cfg >= 0;
}

void engine_count_paths(const struct engine *e, int64_t now, struct report_counts *out)
{
	memset(out, 0, sizeof(*out));
	const struct peer *via = healthy_router(e);
	for (size_t i = 0; i < e->pt.n; i++) {
		const struct peer *p = e->pt.v[i];
		if (!listed(p))
			continue;
		out->path[path_kind(e, p, via)]++;
		out->alive += peer_alive(p, now);
		out->healthy += p->healthy;
	}
}

static void refusals(const struct engine *e, const struct peer *p, struct engine_report *r)
{
	r->refused = p->refused;
	for (size_t i = 0; i < p->n_refused_by && i < REPORT_REFUSED_SOURCES; i++) {
		const struct refused_src *q = &p->rare->refused_by[i];
		/* Insertion by count, most first (four entries at most). */
		size_t k = r->n_refused_by++;
		while (k > 0 && r->refused_by[k - 1].count < q->count) {
			r->refused_by[k] = r->refused_by[k - 1];
			k--;
		}
		struct report_refusal *o = &r->refused_by[k];
		memcpy(o->key, q->key, WL_KEY_LEN);
		o->count = q->count;
		o->had = (enum wl_trust)q->had;
		o->need = (enum wl_trust)q->need;
		const struct peer *src = peertab_find(&e->pt, q->key);
		snprintf(o->name, sizeof(o->name), "%s", src ? src->name : "");
	}
}

/* The first reason that holds, most specific first. */
static enum report_why why_of(const struct engine *e, const struct peer *p,
			      const struct engine_report *r, int64_t now)
{
	if (r->path == REPORT_DIRECT)
		return REPORT_WHY_NONE;
	if (!p->in_device)
		return REPORT_WHY_NOT_MEMBER;
	if (p->path_dead)
		return REPORT_WHY_PATH_DEAD;
	if (p->basic == 1)
		return REPORT_WHY_BASIC;
	if (!r->n_cands)
		return r->refused ? REPORT_WHY_TRUST_REFUSED : REPORT_WHY_NO_CANDIDATES;
	bool all_tried = r->n_tried == r->n_cands;
	if (!all_tried || p->last_try == ENGINE_NEVER ||
	    now - p->last_try < e->t.endpoint_interval_ms)
		return REPORT_WHY_TRYING;
	return r->nat_rewrites && !r->port_mapping ? REPORT_WHY_NAT
						   : REPORT_WHY_CANDIDATES_FAILED;
}

void engine_report_nat(const struct engine *e, struct engine_report *out)
{
	out->nat_rewrites = out->port_mapping = false;
	nat_evidence(e, out);
}

/* What every report shares: computed once per request. */
struct shared {
	const struct peer *via;
	struct engine_report nat; /* only its NAT fields */
};

static void shared_init(const struct engine *e, struct shared *sh)
{
	sh->via = healthy_router(e);
	memset(&sh->nat, 0, sizeof(sh->nat));
	nat_evidence(e, &sh->nat);
}

static void fill(const struct engine *e, const struct peer *p, int64_t now,
		 const struct shared *sh, struct engine_report *r)
{
	memset(r, 0, sizeof(*r));
	engine_peer_info(e, p->key, now, &r->info);
	r->ours = p->ours;
	r->rx_bytes = p->rx_bytes;
	r->tx_bytes = p->tx_bytes;
	r->cand_current = -1;
	r->next_try_at = r->retry_at = ENGINE_NEVER;
	if (p->path_dead) {
		r->dead_ep = p->dead_ep;
		r->retry_at = p->retry_at;
	}
	path_of(e, p, sh->via, r);
	trust_source(e, p, r);
	candidates(e, p, r);
	r->nat_rewrites = sh->nat.nat_rewrites;
	r->nat_seen = sh->nat.nat_seen;
	r->listen_port = sh->nat.listen_port;
	r->port_mapping = sh->nat.port_mapping;
	refusals(e, p, r);
	r->why = why_of(e, p, r, now);
}

bool engine_peer_report(const struct engine *e, const uint8_t key[static WL_KEY_LEN],
			int64_t now, struct engine_report *out)
{
	const struct peer *p = peertab_find(&e->pt, key);
	if (!p)
		return false;
	struct shared sh;
	shared_init(e, &sh);
	fill(e, p, now, &sh, out);
	return true;
}

void engine_foreach_report(const struct engine *e, int64_t now,
			   void (*cb)(void *ctx, const struct engine_report *r), void *ctx)
{
	struct engine_report r;
	struct shared sh;
	shared_init(e, &sh);
	for (size_t i = 0; i < e->pt.n; i++) {
		const struct peer *p = e->pt.v[i];
		if (!listed(p))
			continue;
		fill(e, p, now, &sh, &r);
		cb(ctx, &r);
	}
}

/* ---- the reason in words ---- */

struct tbuf {
	char *b;
	size_t len, n;
};

__attribute__((format(printf, 2, 3)))
static void put(struct tbuf *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = t->n < t->len ? t->len - t->n : 0;
	int k = vsnprintf(t->b + t->n, room, fmt, ap);
	va_end(ap);
	if (k > 0)
		t->n += (size_t)k;
}

static long long secs_ago(int64_t t, int64_t now)
{
	return t == ENGINE_NEVER ? -1 : (long long)((now - t + 500) / 1000);
}

static long long secs_until(int64_t t, int64_t now)
{
	return t == ENGINE_NEVER || t <= now ? 0 : (long long)((t - now + 999) / 1000);
}

static void put_who(struct tbuf *t, const uint8_t key[WL_KEY_LEN], const char *name)
{
	char b64[WL_KEY_B64_LEN];
	key_to_base64(key, b64);
	if (name[0])
		put(t, "%s (%.8s)", name, b64);
	else
		put(t, "%.8s", b64);
}

static void put_cands(struct tbuf *t, const struct engine_report *r, int64_t now)
{
	for (size_t i = 0; i < r->n_cands; i++) {
		char eb[WL_ENDPOINT_STR_MAX];
		const struct report_cand *c = &r->cands[i];
		put(t, "%s%s (%s", i ? ", " : "", wl_endpoint_str(&c->ep, eb),
		    c->result == REPORT_CAND_NO_ANSWER ? "no handshake"
		    : c->result == REPORT_CAND_WORKED  ? "worked"
		    : c->result == REPORT_CAND_DIED    ? "worked, then died"
		    /* all failed: the last one had its interval too */
		    : c->result == REPORT_CAND_TRYING  ? (r->why == REPORT_WHY_TRYING ? "no handshake yet"
										    : "no handshake")
						       : "not tried");
		if (c->tried_at != ENGINE_NEVER)
			put(t, ", tried %llds ago", secs_ago(c->tried_at, now));
		put(t, ")");
	}
}

size_t report_why_text(const struct engine_report *r, int64_t now, char *buf, size_t len)
{
	struct tbuf t = { buf, len, 0 };
	char eb[WL_ENDPOINT_STR_MAX];
	if (len)
		buf[0] = '\0';
	switch (r->why) {
	case REPORT_WHY_NONE:
		break;
	case REPORT_WHY_NOT_MEMBER:
		put(&t, "not a member: neither configured nor named by a Membership source");
		break;
	case REPORT_WHY_PATH_DEAD:
		put(&t, "path failed: %s answered no probe under traffic; ",
		    wl_endpoint_str(&r->dead_ep, eb));
		if (r->retry_at == ENGINE_NEVER || r->retry_at <= now)
			put(&t, "retrying now");
		else
			put(&t, "retrying in %llds", secs_until(r->retry_at, now));
		break;
	case REPORT_WHY_BASIC:
		put(&t, "peer is basic (runs no wirelink): it cannot learn our endpoints");
		break;
	case REPORT_WHY_TRUST_REFUSED:
		put(&t, "no endpoint candidates: trust refused %llu facts about it: ",
		    (unsigned long long)r->refused);
		for (size_t i = 0; i < r->n_refused_by; i++) {
			const struct report_refusal *q = &r->refused_by[i];
			put(&t, "%s%u from ", i ? ", " : "", q->count);
			put_who(&t, q->key, q->name);
			put(&t, " (trusted %s, needs %s)", trust_name(q->had), trust_name(q->need));
		}
		break;
	case REPORT_WHY_NO_CANDIDATES:
		put(&t, "no endpoint candidates known (no Endpoint facts about it, no configured "
			"endpoint)");
		break;
	case REPORT_WHY_TRYING:
		if (r->cand_current >= 0 && r->cand_rank > 0)
			put(&t, "trying candidate %s (%d of %zu, since %llds)",
			    wl_endpoint_str(&r->cands[r->cand_current].ep, eb), r->cand_rank,
			    r->n_cands, secs_ago(r->cands[r->cand_current].tried_at, now));
		else
			put(&t, "%zu candidates, none tried yet", r->n_cands);
		break;
	case REPORT_WHY_NAT:
		put(&t, "our NAT rewrites our port (seen at %s, we listen on %u) and no port mapping "
			"was granted; ",
		    wl_endpoint_str(&r->nat_seen, eb), r->listen_port);
		/* fall through */
	case REPORT_WHY_CANDIDATES_FAILED:
		put(&t, "all %zu candidates failed: ", r->n_cands);
		put_cands(&t, r, now);
		put(&t, "; next try in %llds", secs_until(r->next_try_at, now));
		break;
	}
	return t.n < len ? t.n : (len ? len - 1 : 0);
}
