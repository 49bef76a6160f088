#include "core/factset.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"

uint64_t fact_key_hash(const uint8_t hkey[static 16], const struct fact *f)
{
	uint8_t buf[1 + WL_KEY_LEN + FACT_VALUE_MAX];
	size_t n = 0;
	buf[n++] = f->attr;
	memcpy(buf + n, f->subject, WL_KEY_LEN);
	n += WL_KEY_LEN;
	if (f->attr != ATTR_ALIVE) {
		memcpy(buf + n, f->value, f->value_len);
		n += f->value_len;
	}
	uint8_t out[crypto_shorthash_BYTES];
	crypto_shorthash(out, buf, n, hkey);
	uint64_t h = 0;
	for (int i = 0; i < 8; i++)
		h |= (uint64_t)out[i] << (8 * i);
	return h;
}

int factset_init(struct factset *s, size_t max, const uint8_t hkey[static 16])
{
	memset(s, 0, sizeof(*s));
	s->max = max;
	memcpy(s->hkey, hkey, 16);
	return hidx_init(&s->idx, 64);
}

void factset_free(struct factset *s)
{
	free(s->v);
	hidx_free(&s->idx);
	memset(s, 0, sizeof(*s));
}

struct find_ctx {
	const struct factset *s;
	const struct fact *f;
};

static bool eq_fact(const void *ctx, uint32_t pos)
{
	const struct find_ctx *c = ctx;
	return fact_same_key(&c->s->v[pos].f, c->f);
}

static long find_pos(const struct factset *s, const struct fact *f, uint64_t h)
{
	struct find_ctx c = { s, f };
	return hidx_find(&s->idx, h, eq_fact, &c);
}

struct fentry *factset_find(struct factset *s, const struct fact *f)
{
	long pos = find_pos(s, f, fact_key_hash(s->hkey, f));
	return pos < 0 ? NULL : &s->v[pos];
}

void factset_remove_at(struct factset *s, size_t i)
{
	hidx_remove(&s->idx, s->v[i].h, (uint32_t)i);
	size_t last = s->n - 1;
	if (i != last) {
		s->v[i] = s->v[last];
		hidx_move(&s->idx, s->v[i].h, (uint32_t)last, (uint32_t)i);
	}
	s->n--;
}

/* Makes room for one more entry: evicts the received fact expiring
 * soonest. False if every entry is local. */
static bool evict_one(struct factset *s)
{
	size_t best = SIZE_MAX;
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].local)
			continue;
		if (best == SIZE_MAX || s->v[i].expires < s->v[best].expires)
			best = i;
	}
	if (best == SIZE_MAX)
		return false;
	factset_remove_at(s, best);
	s->evicted++;
	return true;
}

enum factset_put factset_put(struct factset *s, const struct fact *f, int64_t expires, bool local)
{
	uint64_t h = fact_key_hash(s->hkey, f);
	long pos = find_pos(s, f, h);
	if (pos >= 0) {
		struct fentry *e = &s->v[pos];
		if (local)
			e->local = true;
		else if (expires > e->rx_expires)
			e->rx_expires = expires;
		if (expires > e->expires) {
			e->expires = expires;
			return FACTSET_EXTENDED;
		}
		return FACTSET_SAME;
	}
	if (s->n >= s->max && !evict_one(s))
		return FACTSET_FULL;
	if (!wl_grow((void **)&s->v, &s->alloc, s->n + 1, sizeof(*s->v)))
		return FACTSET_FULL;
	if (hidx_insert(&s->idx, h, (uint32_t)s->n) < 0)
		return FACTSET_FULL;
	struct fentry *e = &s->v[s->n++];
	memset(e, 0, sizeof(*e));
	e->f = *f;
	e->f.ttl = 0;
	e->expires = expires;
	e->h = h;
	e->local = local;
	e->rx_expires = local ? ENGINE_NEVER : expires;
	return FACTSET_NEW;
}

void factset_begin_local(struct factset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		s->v[i].local_prev = s->v[i].local;
		s->v[i].local = false;
	}
}

void factset_end_local(struct factset *s, int64_t now)
{
	for (size_t i = 0; i < s->n;) {
		struct fentry *e = &s->v[i];
		if (e->local_prev && !e->local) {
			/* Our copy goes at once (SPEC §5); a peer's stays. Dropping
			 * that too lost, e.g., the hub's word on a peer's public
			 * endpoint the moment we tried another one, until the hub's
			 * next refresh two minutes later. */
			if (e->rx_expires == ENGINE_NEVER || e->rx_expires <= now) {
				factset_remove_at(s, i);
				continue;
			}
			e->expires = e->rx_expires;
		}
		e->local_prev = false;
		i++;
	}
}
