#include "core/peerstate.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "wire/autoaddr.h"

static uint64_t key_hash(const struct peertab *t, const uint8_t key[static WL_KEY_LEN])
{
	uint8_t out[crypto_shorthash_BYTES];
	crypto_shorthash(out, key, WL_KEY_LEN, t->hkey);
	uint64_t h = 0;
	for (int i = 0; i < 8; i++)
		h |= (uint64_t)out[i] << (8 * i);
	return h;
}

int peertab_init(struct peertab *t, size_t max, const uint8_t hkey[static 16])
{
	memset(t, 0, sizeof(*t));
	t->max = max;
	memcpy(t->hkey, hkey, 16);
	return hidx_init(&t->idx, 64);
}

/* A tick at a thousand peers is bound by how many cache lines of each
 * peer it touches. Peers are allocated one after the other, so their
 * stride is glibc's chunk: the request and an 8-byte header, in 16-byte
 * steps. Asked for so that the chunk is whole cache lines, every peer
 * starts at the same place in its line and its hot part spans the same
 * lines. A peer 8 bytes larger (a 16-byte longer stride, no longer whole
 * lines) cost 12 % of the 300-node steady state. */
static size_t peer_alloc_size(void)
{
	return (sizeof(struct peer) + 8 + 63) / 64 * 64 - 8;
}

size_t peer_bytes(const struct peer *p)
{
	return peer_alloc_size() + (p->rare ? sizeof(*p->rare) : 0) +
	       (p->ltx.gone ? sizeof(*p->ltx.gone) : 0) +
	       (p->ltx.skips ? sizeof(*p->ltx.skips) : 0);
}

struct peer_rare *peer_rare(struct peer *p)
{
	if (!p->rare)
		p->rare = calloc(1, sizeof(*p->rare));
	return p->rare;
}

static void peer_free(struct peer *p)
{
	if (!p)
		return;
	knowledge_free(&p->know);
	lease_rx_reset(&p->lrx);
	sodium_memzero(p->shared, sizeof(p->shared));
	free(p->rare);
	free(p->ltx.gone);
	free(p->ltx.skips);
	free(p);
}

void peertab_free(struct peertab *t)
{
	for (size_t i = 0; i < t->n; i++)
		peer_free(t->v[i]);
	free(t->v);
	free(t->vis.due);
	free(t->vis.skip);
	free(t->vis.touched);
	free(t->vis.settled);
	free(t->vis.redue);
	hidx_free(&t->idx);
	memset(t, 0, sizeof(*t));
}

struct eq_ctx {
	const struct peertab *t;
	const uint8_t *key;
};

static bool eq_key(const void *ctx, uint32_t pos)
{
	const struct eq_ctx *c = ctx;
	return memcmp(c->t->v[pos]->key, c->key, WL_KEY_LEN) == 0;
}

struct peer *peertab_find(const struct peertab *t, const uint8_t key[static WL_KEY_LEN])
{
	struct eq_ctx c = { t, key };
	long pos = hidx_find(&t->idx, key_hash(t, key), eq_key, &c);
	return pos < 0 ? NULL : t->v[pos];
}

struct src_ctx {
	const struct peertab *t;
	uint64_t id;
};

static bool eq_source(const void *ctx, uint32_t pos)
{
	const struct src_ctx *c = ctx;
	return (c->t->v[pos]->h | 1) == c->id;
}

struct peer *peertab_find_source(const struct peertab *t, uint64_t id)
{
	struct src_ctx c = { t, id };
	/* The id is the peer's hash with its low bit set: the hash is one
	 * of two. */
	long pos = hidx_find(&t->idx, id, eq_source, &c);
	if (pos < 0)
		pos = hidx_find(&t->idx, id & ~(uint64_t)1, eq_source, &c);
	return pos < 0 ? NULL : t->v[pos];
}

/* Room in the visit arrays for n places (peer_visits): the bitmaps in
 * whole words, new words zero. */
static bool visit_grow(struct peertab *t, size_t n)
{
	if (n <= t->vis_alloc)
		return true;
	size_t cap = t->vis_alloc ? 2 * t->vis_alloc : 64;
	while (cap < n)
		cap *= 2;
	size_t words = cap / 64, old = t->vis_alloc / 64;
	int64_t *due = realloc(t->vis.due, cap * sizeof(*due));
	if (!due)
		return false;
	t->vis.due = due;
	uint64_t **bits[] = { &t->vis.skip, &t->vis.touched, &t->vis.settled, &t->vis.redue };
	for (size_t k = 0; k < sizeof(bits) / sizeof(bits[0]); k++) {
		uint64_t *b = realloc(*bits[k], words * sizeof(*b));
		if (!b)
			return false; /* (the ones grown stay grown: vis_alloc is the least) */
		memset(b + old, 0, (words - old) * sizeof(*b));
		*bits[k] = b;
	}
	t->vis_alloc = cap;
	return true;
}

/* Place i as a new peer's: due at once, no flag set. */
static void visit_clear(struct peer_visits *v, size_t i)
{
	v->due[i] = 0;
	peer_bit_put(v->skip, i, false);
	peer_bit_put(v->touched, i, false);
	peer_bit_put(v->settled, i, false);
	peer_bit_put(v->redue, i, false);
}

/* The peer at place from moves to place to (from is left clear). */
static void visit_move(struct peer_visits *v, size_t from, size_t to)
{
	v->due[to] = v->due[from];
	uint64_t *bits[] = { v->skip, v->touched, v->settled, v->redue };
	for (size_t k = 0; k < sizeof(bits) / sizeof(bits[0]); k++) {
		peer_bit_put(bits[k], to, peer_bit(bits[k], from));
		peer_bit_put(bits[k], from, false);
	}
}

void peertab_remove_at(struct peertab *t, size_t i)
{
	struct peer *p = t->v[i];
	hidx_remove(&t->idx, p->h, (uint32_t)i);
	size_t last = t->n - 1;
	if (i != last) {
		t->v[i] = t->v[last];
		visit_move(&t->vis, last, i);
		t->v[i]->at = (uint32_t)i;
		hidx_move(&t->idx, t->v[i]->h, (uint32_t)last, (uint32_t)i);
	}
	t->n--;
	t->removed++;
	peer_free(p);
}

struct peer *peertab_hinted(struct peertab *t, const uint8_t key[static WL_KEY_LEN],
			    struct peer *hint, uint64_t hint_removed, bool get, int64_t now)
{
	if (hint && hint_removed == t->removed && memcmp(hint->key, key, WL_KEY_LEN) == 0) {
		if (get)
			hint->last_seen = now;
		return hint;
	}
	return get ? peertab_get(t, key, now) : peertab_find(t, key);
}

void peer_know_clear(struct peer *p)
{
	knowledge_clear(&p->know);
	p->alive_told = ENGINE_NEVER;
}

static bool evict_one(struct peertab *t)
{
	size_t best = SIZE_MAX;
	for (size_t i = 0; i < t->n; i++) {
		const struct peer *p = t->v[i];
		if (p->in_device || p->cfg >= 0)
			continue;
		if (best == SIZE_MAX || p->last_seen < t->v[best]->last_seen)
			best = i;
	}
	if (best == SIZE_MAX)
		return false;
	peertab_remove_at(t, best);
	t->evicted++;
	return true;
}

struct peer *peertab_get(struct peertab *t, const uint8_t key[static WL_KEY_LEN], int64_t now)
{
	struct peer *p = peertab_find(t, key);
	if (p) {
		p->last_seen = now;
		return p;
	}
	if (t->n >= t->max && !evict_one(t)) {
		t->refused++;
		return NULL;
	}
	if (!wl_grow((void **)&t->v, &t->alloc, t->n + 1, sizeof(*t->v)) || !visit_grow(t, t->n + 1))
		return NULL;
	p = calloc(1, peer_alloc_size());
	if (!p)
		return NULL;
	memcpy(p->key, key, WL_KEY_LEN);
	p->h = key_hash(t, key);
	autoaddr_of(key, &p->auto_addr);
	p->cfg = -1;
	p->handshake = p->prev_handshake = ENGINE_NEVER;
	p->alive_until = p->alive_since = p->alive_heard = p->rx_at = p->hold_until = ENGINE_NEVER;
	p->try_again_at = ENGINE_NEVER;
	p->quiet_left_at = p->dormant_left_at = p->held_since = p->vouch_until = p->punch_at =
		p->crossed_until = ENGINE_NEVER;
	p->woke_all_at = p->relayed_since = p->alive_told = p->woken_at = p->heard_at = ENGINE_NEVER;
	p->last_try = p->cand_seen_at = p->first_cand_at = ENGINE_NEVER;
	p->active_at = p->probe_at = p->retry_at = p->hello_at = p->resend_at = ENGINE_NEVER;
	p->ltx.held_at = p->ltx.nacked_at = ENGINE_NEVER;
	p->basic = -1;
	p->fhead = -1;
	p->dev_idx = -1;
	p->last_seen = now;
	knowledge_init(&p->know);
	if (hidx_insert(&t->idx, p->h, (uint32_t)t->n) < 0) {
		peer_free(p);
		return NULL;
	}
	p->at = (uint32_t)t->n;
	visit_clear(&t->vis, t->n);
	t->v[t->n++] = p;
	return p;
}

void peer_note_tried(struct peer *p, const struct wl_endpoint *ep, int64_t now)
{
	size_t oldest = 0;
	/* Whatever was being tried had its chance: nothing came of it. */
	for (size_t i = 0; i < p->n_tried; i++)
		if (p->tried[i].result == TRIED_PENDING)
			p->tried[i].result = TRIED_NO_ANSWER;
	for (size_t i = 0; i < p->n_tried; i++) {
		if (wl_endpoint_equal(&p->tried[i].ep, ep)) {
			p->tried[i].at = now;
			p->tried[i].result = TRIED_PENDING;
			return;
		}
		if (p->tried[i].at < p->tried[oldest].at)
			oldest = i;
	}
	size_t i = p->n_tried < PEER_TRIED_MAX ? p->n_tried++ : oldest;
	p->tried[i].ep = *ep;
	p->tried[i].at = now;
	p->tried[i].result = TRIED_PENDING;
}

void peer_note_result(struct peer *p, const struct wl_endpoint *ep, enum tried_result r)
{
	for (size_t i = 0; i < p->n_tried; i++)
		if (wl_endpoint_equal(&p->tried[i].ep, ep))
			p->tried[i].result = (uint8_t)r;
}

int64_t peer_tried_at(const struct peer *p, const struct wl_endpoint *ep)
{
	for (size_t i = 0; i < p->n_tried; i++)
		if (wl_endpoint_equal(&p->tried[i].ep, ep))
			return p->tried[i].at;
	return ENGINE_NEVER;
}
