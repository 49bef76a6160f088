#include "core/factset.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "wire/lease.h"

#define NO_ENTRY (-1)
#define MS_PER_MIN 60000

void factset_limits_default(struct factset_limits *l)
{
	/* A leaf tells about itself a few endpoints, its AllowedIPs and one
	 * member fact; 512 leaves room for the facts a chatty leaf relays
	 * before the router's copy (which then owns them) arrives. 16
	 * endpoints are as many as apply.c ever tries; 256 AllowedIPs as many
	 * as it gives one peer. The member bucket lets a router introduce a
	 * thousand-node network at once, then 256 new members a minute. */
	*l = (struct factset_limits){
		.per_source = 512,
		.endpoints = 16,
		.allowed = 256,
		.members = 4,
		.members_burst = 1024,
		.members_per_min = 256,
		.local_reserve = 64,
	};
}

uint64_t fact_key_hash(const uint8_t hkey[static 16], const struct fact *f)
{
	return fact_key_siphash(hkey, f);
}

/* --- facts as stored ----------------------------------------------------- */

_Static_assert(FACT_VALUE_MAX <= UINT8_MAX, "fstored.value_len holds any value's length");

static const uint8_t *stored_value(const struct fstored *st)
{
	return st->value_len > FSTORED_INLINE ? st->value.out : st->value.in;
}

/* *st holds f; false if its value needed memory there was none of. */
static bool stored_put(struct factset *s, struct fstored *st, const struct fact *f)
{
	uint8_t *v = st->value.in;
	if (f->value_len > FSTORED_INLINE) {
		if (!(v = malloc(f->value_len)))
			return false;
		st->value.out = v;
		s->value_bytes += f->value_len;
	}
	st->attr = f->attr;
	st->value_len = (uint8_t)f->value_len;
	memcpy(st->subject, f->subject, WL_KEY_LEN);
	memcpy(v, f->value, f->value_len);
	return true;
}

static void stored_free(struct factset *s, struct fstored *st)
{
	if (st->value_len > FSTORED_INLINE) {
		free(st->value.out);
		s->value_bytes -= st->value_len;
	}
	st->value_len = 0;
}

static bool stored_same_key(const struct fstored *st, const struct fact *f)
{
	return st->attr == f->attr && st->value_len == f->value_len &&
	       memcmp(st->subject, f->subject, WL_KEY_LEN) == 0 &&
	       memcmp(stored_value(st), f->value, f->value_len) == 0;
}

const struct fact *factset_fact(const struct factset *s, size_t i, struct fact *out)
{
	const struct fstored *st = &s->fv[i];
	out->attr = st->attr;
	out->ttl = 0;
	memcpy(out->subject, st->subject, WL_KEY_LEN);
	out->value_len = st->value_len;
	memcpy(out->value, stored_value(st), st->value_len);
	return out;
}

int factset_init(struct factset *s, size_t max, const uint8_t hkey[static 16],
		 const struct factset_limits *lim)
{
	memset(s, 0, sizeof(*s));
	s->max = max;
	s->min_expires = INT64_MIN; /* not known: the first walk finds it */
	memcpy(s->hkey, hkey, 16);
	if (lim)
		s->lim = *lim;
	else
		factset_limits_default(&s->lim);
	if (hidx_init(&s->idx, 64) < 0 || hidx_init(&s->src_idx, 16) < 0 ||
	    hidx_init(&s->kind_idx, 16) < 0) {
		factset_free(s);
		return -ENOMEM;
	}
	return 0;
}

void factset_free(struct factset *s)
{
	for (size_t i = 0; i < s->n; i++)
		stored_free(s, &s->fv[i]);
	free(s->v);
	free(s->fv);
	free(s->src);
	free(s->kind);
	free(s->gone);
	free(s->unsourced);
	free(s->rx_moved);
	hidx_free(&s->idx);
	hidx_free(&s->src_idx);
	hidx_free(&s->kind_idx);
	memset(s, 0, sizeof(*s));
}

/* An array of *alloc elements of size sz, n used: down to an eighth more
 * than n (at least min) once a quarter more is spare. It grows by
 * doubling (wl_grow), so after a burst it may be twice what the set
 * needs; given back, it is near what it was before the burst. A failed
 * realloc keeps it. */
static void shrink_array(void **v, size_t *alloc, size_t n, size_t sz, size_t min)
{
	size_t want = n + n / 8 > min ? n + n / 8 : min;
	if (*alloc <= n + n / 4 || want >= *alloc)
		return;
	void *p = realloc(*v, want * sz);
	if (!p)
		return;
	*v = p;
	*alloc = want;
}

/* fv to alloc entries, as v has: alloc becomes the capacity of both.
 * False if fv cannot grow (v may then be larger than alloc says). */
static bool resize_facts(struct factset *s, size_t alloc)
{
	if (alloc == s->alloc)
		return true;
	void *p = realloc(s->fv, alloc * sizeof(*s->fv));
	if (!p && alloc > s->alloc)
		return false;
	if (p) /* (a shrink refused leaves the larger block, which serves) */
		s->fv = p;
	s->alloc = alloc;
	return true;
}

/* Room for want entries, in both arrays (they keep one capacity). */
static bool grow_entries(struct factset *s, size_t want)
{
	size_t alloc = s->alloc;
	if (!wl_grow((void **)&s->v, &alloc, want, sizeof(*s->v)))
		return false;
	return resize_facts(s, alloc);
}

void factset_compact(struct factset *s)
{
	size_t alloc = s->alloc;
	shrink_array((void **)&s->v, &alloc, s->n, sizeof(*s->v), 64);
	(void)resize_facts(s, alloc);
	shrink_array((void **)&s->src, &s->alloc_src, s->n_src, sizeof(*s->src), 16);
	shrink_array((void **)&s->kind, &s->alloc_kind, s->n_kind, sizeof(*s->kind), 16);
	shrink_array((void **)&s->unsourced, &s->cap_unsourced, s->n_unsourced,
		     sizeof(*s->unsourced), 16);
	shrink_array((void **)&s->rx_moved, &s->cap_rx_moved, s->n_rx_moved,
		     sizeof(*s->rx_moved), 16);
	if (!s->n_gone) {
		free(s->gone);
		s->gone = NULL;
		s->alloc_gone = 0;
	}
	(void)hidx_shrink(&s->idx);
	(void)hidx_shrink(&s->src_idx);
	(void)hidx_shrink(&s->kind_idx);
}

/* --- lookups ------------------------------------------------------------ */

struct find_ctx {
	const struct factset *s;
	const struct fact *f;
};

static bool eq_fact(const void *ctx, uint32_t pos)
{
	const struct find_ctx *c = ctx;
	return stored_same_key(&c->s->fv[pos], c->f);
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

/* --- shares: sources and (source, subject, kind) counts ----------------- */

struct id_ctx {
	const struct factset *s;
	uint64_t id;
};

static bool eq_src(const void *ctx, uint32_t pos)
{
	const struct id_ctx *c = ctx;
	return c->s->src[pos].id == c->id;
}

static bool eq_kind(const void *ctx, uint32_t pos)
{
	const struct id_ctx *c = ctx;
	return c->s->kind[pos].key == c->id;
}

static long src_find(const struct factset *s, uint64_t id)
{
	struct id_ctx c = { s, id };
	return hidx_find(&s->src_idx, id, eq_src, &c);
}

/* src_find, trying the place found last first: most lookups in a row
 * are for one source (a HOLD's extension, a datagram's facts). */
static long src_find_again(struct factset *s, uint64_t id)
{
	if (s->src_last < s->n_src && s->src[s->src_last].id == id)
		return (long)s->src_last;
	long p = src_find(s, id);
	if (p >= 0)
		s->src_last = (size_t)p;
	return p;
}

const struct fsource *factset_source(const struct factset *s, uint64_t id)
{
	long p = src_find(s, id);
	return p < 0 ? NULL : &s->src[p];
}

/* The source's record, made (with a full member bucket) if new; -1 if
 * out of memory. */
static long src_get(struct factset *s, uint64_t id, int64_t now)
{
	long p = src_find(s, id);
	if (p >= 0)
		return p;
	if (!wl_grow((void **)&s->src, &s->alloc_src, s->n_src + 1, sizeof(*s->src)) ||
	    hidx_insert(&s->src_idx, id, (uint32_t)s->n_src) < 0)
		return -1;
	s->src[s->n_src] = (struct fsource){ id, 0, NO_ENTRY, NO_ENTRY,
					     (int64_t)s->lim.members_burst * MS_PER_MIN, now };
	return (long)s->n_src++;
}

/* A source that holds nothing any more is forgotten. */
static void src_drop(struct factset *s, size_t p)
{
	hidx_remove(&s->src_idx, s->src[p].id, (uint32_t)p);
	size_t last = s->n_src - 1;
	if (p != last) {
		s->src[p] = s->src[last];
		hidx_move(&s->src_idx, s->src[p].id, (uint32_t)last, (uint32_t)p);
	}
	s->n_src--;
}

/* The member bucket counts in ms of refill at members_per_min: one new
 * member costs a minute's worth divided by the rate. */
static int64_t member_cost(const struct factset *s)
{
	return s->lim.members_per_min ? MS_PER_MIN : INT64_MAX;
}

static void src_refill(const struct factset *s, struct fsource *r, int64_t now)
{
	int64_t cap = (int64_t)s->lim.members_burst * MS_PER_MIN;
	if (now > r->tokens_at) {
		int64_t add = (now - r->tokens_at) * (int64_t)s->lim.members_per_min;
		r->tokens_ms = add > cap - r->tokens_ms ? cap : r->tokens_ms + add;
	}
	r->tokens_at = now;
}

enum kind_class { KIND_NONE, KIND_ENDPOINT, KIND_ALLOWED, KIND_MEMBER };

static enum kind_class kind_class_of(uint8_t attr)
{
	switch (attr) {
	case ATTR_ENDPOINT_V4:
	case ATTR_ENDPOINT_V6:
		return KIND_ENDPOINT;
	case ATTR_ALLOWED_V4:
	case ATTR_ALLOWED_V6:
		return KIND_ALLOWED;
	case ATTR_MEMBER:
	case ATTR_MEMBER_META:
		return KIND_MEMBER;
	default:
		return KIND_NONE;
	}
}

static size_t kind_limit(const struct factset *s, enum kind_class k)
{
	return k == KIND_ENDPOINT ? s->lim.endpoints
	       : k == KIND_ALLOWED ? s->lim.allowed
				   : s->lim.members;
}

static uint64_t kind_key(const struct factset *s, uint64_t src, const uint8_t *subject,
			 enum kind_class k)
{
	uint8_t buf[8 + WL_KEY_LEN + 1], out[crypto_shorthash_BYTES];
	memcpy(buf, &src, 8);
	memcpy(buf + 8, subject, WL_KEY_LEN);
	buf[8 + WL_KEY_LEN] = (uint8_t)k;
	crypto_shorthash(out, buf, sizeof(buf), s->hkey);
	uint64_t h;
	memcpy(&h, out, 8);
	return h;
}

static long kind_find(const struct factset *s, uint64_t key)
{
	struct id_ctx c = { s, key };
	return hidx_find(&s->kind_idx, key, eq_kind, &c);
}

static size_t kind_count(const struct factset *s, uint64_t key)
{
	long p = kind_find(s, key);
	return p < 0 ? 0 : s->kind[p].count;
}

static bool kind_inc(struct factset *s, uint64_t key)
{
	long p = kind_find(s, key);
	if (p >= 0) {
		s->kind[p].count++;
		return true;
	}
	if (!wl_grow((void **)&s->kind, &s->alloc_kind, s->n_kind + 1, sizeof(*s->kind)) ||
	    hidx_insert(&s->kind_idx, key, (uint32_t)s->n_kind) < 0)
		return false;
	s->kind[s->n_kind++] = (struct fkind){ key, 1 };
	return true;
}

static void kind_dec(struct factset *s, uint64_t key)
{
	long p = kind_find(s, key);
	if (p < 0 || --s->kind[p].count)
		return;
	hidx_remove(&s->kind_idx, key, (uint32_t)p);
	size_t last = s->n_kind - 1;
	if ((size_t)p != last) {
		s->kind[p] = s->kind[last];
		hidx_move(&s->kind_idx, s->kind[p].key, (uint32_t)last, (uint32_t)p);
	}
	s->n_kind--;
}

/* --- a source's entries, least recently refreshed first ------------------ */

static void link_tail(struct factset *s, size_t i, struct fsource *r)
{
	struct fentry *e = &s->v[i];
	e->src_prev = r->tail;
	e->src_next = NO_ENTRY;
	if (r->tail != NO_ENTRY)
		s->v[r->tail].src_next = (int32_t)i;
	else
		r->head = (int32_t)i;
	r->tail = (int32_t)i;
	r->count++;
}

static void unlink_entry(struct factset *s, size_t i, struct fsource *r)
{
	struct fentry *e = &s->v[i];
	if (e->src_prev != NO_ENTRY)
		s->v[e->src_prev].src_next = e->src_next;
	else
		r->head = e->src_next;
	if (e->src_next != NO_ENTRY)
		s->v[e->src_next].src_prev = e->src_prev;
	else
		r->tail = e->src_prev;
	e->src_prev = e->src_next = NO_ENTRY;
	r->count--;
}

/* Entry i now belongs to src. False if out of memory (then it has none). */
static bool attach(struct factset *s, size_t i, const struct fact_source *src, int64_t now)
{
	struct fentry *e = &s->v[i];
	const struct fstored *f = &s->fv[i];
	enum kind_class k = kind_class_of(f->attr);
	long p = src_get(s, src->id, now);
	if (p < 0)
		return false;
	if (k != KIND_NONE && !kind_inc(s, kind_key(s, src->id, f->subject, k))) {
		if (!s->src[p].count)
			src_drop(s, (size_t)p);
		return false;
	}
	e->src = src->id;
	e->src_trust = src->trust;
	link_tail(s, i, &s->src[p]);
	s->shape_gen++;
	return true;
}

static void detach(struct factset *s, size_t i)
{
	struct fentry *e = &s->v[i];
	if (!e->src)
		return;
	enum kind_class k = kind_class_of(s->fv[i].attr);
	if (k != KIND_NONE)
		kind_dec(s, kind_key(s, e->src, s->fv[i].subject, k));
	long p = src_find(s, e->src);
	if (p >= 0) {
		unlink_entry(s, i, &s->src[p]);
		if (!s->src[p].count)
			src_drop(s, (size_t)p);
	}
	e->src = 0;
	s->shape_gen++;
}

/* Entry `from` was moved to `to` (swap-remove): its list neighbours and
 * its source's ends point at the new place. */
static void entry_moved(struct factset *s, size_t from, size_t to)
{
	struct fentry *e = &s->v[to];
	if (!e->src)
		return;
	struct fsource *r = &s->src[src_find(s, e->src)];
	if (e->src_prev != NO_ENTRY)
		s->v[e->src_prev].src_next = (int32_t)to;
	else if (r->head == (int32_t)from)
		r->head = (int32_t)to;
	if (e->src_next != NO_ENTRY)
		s->v[e->src_next].src_prev = (int32_t)to;
	else if (r->tail == (int32_t)from)
		r->tail = (int32_t)to;
}

/* Logged for the leases that told it (factset_gone_lh). */
static void log_gone(struct factset *s, const struct fentry *e)
{
	/* Grown as removals come, and given back by factset_compact: a
	 * whole log kept by every node would be 64 KiB each, most of the
	 * time for nothing. */
	if (s->n_gone >= FACTSET_GONE_MAX ||
	    !wl_grow((void **)&s->gone, &s->alloc_gone, s->n_gone + 1, sizeof(*s->gone))) {
		s->gone_lost = true;
		return;
	}
	s->gone[s->n_gone++] = (struct fgone){ e->h, e->lh };
	s->gone_sorted = false;
}

static int cmp_gone(const void *a, const void *b)
{
	uint64_t x = ((const struct fgone *)a)->h, y = ((const struct fgone *)b)->h;
	return x < y ? -1 : x > y;
}

bool factset_gone_lh(struct factset *s, uint64_t h, uint64_t *lh)
{
	/* Sorted once, when the first lookup after a change comes: leases
	 * may ask for many facts at a tick with many gone. */
	if (!s->gone_sorted && s->n_gone > 1)
		qsort(s->gone, s->n_gone, sizeof(*s->gone), cmp_gone);
	s->gone_sorted = true;
	size_t lo = 0, hi = s->n_gone;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->gone[mid].h < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->n_gone && s->gone[lo].h == h) {
		*lh = s->gone[lo].lh;
		return true;
	}
	return false;
}

void factset_gone_clear(struct factset *s)
{
	s->n_gone = 0;
	s->gone_lost = false;
}

struct hashed_ctx {
	const struct factset *s;
	uint64_t lh;
};

static bool eq_hashed(const void *ctx, uint32_t pos)
{
	const struct hashed_ctx *c = ctx;
	return c->s->v[pos].lh == c->lh;
}

long factset_find_hashed(const struct factset *s, uint64_t h, uint64_t lh)
{
	struct hashed_ctx c = { s, lh };
	return hidx_find(&s->idx, h, eq_hashed, &c);
}

static bool eq_h(const void *ctx, uint32_t pos)
{
	(void)ctx;
	(void)pos;
	return true; /* hidx_find compares the hash itself */
}

long factset_find_h(const struct factset *s, uint64_t h)
{
	return hidx_find(&s->idx, h, eq_h, NULL);
}

void factset_remove_at(struct factset *s, size_t i)
{
	log_gone(s, &s->v[i]);
	detach(s, i);
	hidx_remove(&s->idx, s->v[i].h, (uint32_t)i);
	stored_free(s, &s->fv[i]);
	size_t last = s->n - 1;
	if (i != last) {
		s->v[i] = s->v[last];
		s->fv[i] = s->fv[last];
		hidx_move(&s->idx, s->v[i].h, (uint32_t)last, (uint32_t)i);
		entry_moved(s, last, i);
	}
	s->n--;
	s->shape_gen++;
}

/* --- admission ------------------------------------------------------------ */

/* Whether src may hold one more fact like f (member bucket aside). */
static bool within_share(const struct factset *s, uint8_t attr, const uint8_t *subject,
			 const struct fact_source *src)
{
	enum kind_class k = kind_class_of(attr);
	if (k != KIND_NONE && kind_count(s, kind_key(s, src->id, subject, k)) >= kind_limit(s, k))
		return false;
	long p = src_find(s, src->id);
	return src->unlimited || p < 0 || s->src[p].count < s->lim.per_source;
}

static bool member_token(struct factset *s, const struct fact *f, uint64_t id, int64_t now,
			 bool take)
{
	if (kind_class_of(f->attr) != KIND_MEMBER)
		return true;
	long p = src_find(s, id);
	if (p < 0)
		return s->lim.members_burst > 0;
	struct fsource *r = &s->src[p];
	src_refill(s, r, now);
	if (r->tokens_ms < member_cost(s))
		return false;
	if (take)
		r->tokens_ms -= member_cost(s);
	return true;
}

/* Room for one more entry from src (NULL: ours). Received facts leave the
 * local reserve alone; when there is no room, a source may push out only
 * its own least recently refreshed fact that we do not generate too. */
static bool make_room(struct factset *s, const struct fact_source *src)
{
	size_t reserve = s->lim.local_reserve < s->max / 4 ? s->lim.local_reserve : s->max / 4;
	size_t cap = src ? s->max - reserve : s->max;
	if (s->n < cap)
		return true;
	long p = src ? src_find(s, src->id) : -1;
	if (p < 0)
		return false;
	int32_t i = s->src[p].head;
	for (int steps = 0; i != NO_ENTRY && s->v[i].local && steps < 8; steps++)
		i = s->v[i].src_next;
	if (i == NO_ENTRY || s->v[i].local)
		return false;
	factset_remove_at(s, (size_t)i);
	s->evicted++;
	return true;
}

/* Entry e is put as ours in this rebuild. */
static void note_put(struct factset *s, struct fentry *e)
{
	if (e->put_pass == s->local_pass)
		return;
	e->put_pass = s->local_pass;
	s->n_put++;
	s->put_new = s->put_new || !e->local;
}

/* Entry i's rx_expires moved later. Listed while the list is shorter
 * than the set: a longer one means entries moved again and again since
 * the index last looked, and building the index afresh costs no more. */
static void note_rx_moved(struct factset *s, size_t i)
{
	if (s->n_rx_moved < s->n &&
	    wl_grow((void **)&s->rx_moved, &s->cap_rx_moved, s->n_rx_moved + 1, sizeof(*s->rx_moved)))
		s->rx_moved[s->n_rx_moved++] = (struct rx_moved){ (uint32_t)i, s->v[i].lh,
								  s->v[i].rx_expires };
	else
		s->shape_gen++;
}

void factset_rx_moved_clear(struct factset *s)
{
	s->n_rx_moved = 0;
}

/* A fact we hold, told again (by src, or generated by us if NULL). A more
 * trusted source takes it over, within its own share, and so does [ours]
 * its subject from another source as trusted: a copy is never told back
 * to the source it is charged to (send.c: echo), so a leaf that reported
 * where it saw a peer would otherwise never hear the peer's own word
 * again once its report stopped, while the peer's tellings kept the copy
 * alive for everyone else (two leaves on one LAN lost each other's LAN
 * address so, weather seed 14). Its own source telling it again moves it
 * to the end of the eviction order. */
static enum factset_put merge(struct factset *s, size_t i, int64_t expires, int64_t now,
			      const struct fact_source *src)
{
	struct fentry *e = &s->v[i];
	if (!src) {
		note_put(s, e);
		e->local = true;
	} else {
		if (expires > e->rx_expires) {
			e->rx_expires = expires;
			note_rx_moved(s, i);
		}
		if (e->src == src->id) {
			struct fsource *r = &s->src[src_find_again(s, src->id)];
			unlink_entry(s, i, r);
			link_tail(s, i, r);
		} else if ((!e->src || src->trust > e->src_trust ||
			    (src->key && src->trust == e->src_trust &&
			     memcmp(s->fv[i].subject, src->key, WL_KEY_LEN) == 0)) &&
			   within_share(s, s->fv[i].attr, s->fv[i].subject, src)) {
			detach(s, i);
			attach(s, i, src, now);
			e = &s->v[i];
		}
	}
	if (expires > e->expires) {
		e->expires = expires;
		return FACTSET_EXTENDED;
	}
	return FACTSET_SAME;
}

enum factset_put factset_merge_at(struct factset *s, size_t i, int64_t expires, int64_t now,
				  const struct fact_source *src)
{
	return merge(s, i, expires, now, src);
}

enum factset_put factset_put(struct factset *s, const struct fact *f, int64_t expires, int64_t now,
			     const struct fact_source *src)
{
	return factset_put_hinted(s, f, expires, now, src, NULL);
}

enum factset_put factset_put_hinted(struct factset *s, const struct fact *f, int64_t expires,
				    int64_t now, const struct fact_source *src, uint32_t *hint)
{
	/* The fact where the hint says is merged without hashing its key:
	 * the keys are compared whole, and most puts are our own facts
	 * again, each where it was at the last tick. */
	if (hint && *hint < s->n && stored_same_key(&s->fv[*hint], f))
		return merge(s, *hint, expires, now, src);
	uint64_t h = fact_key_hash(s->hkey, f);
	long pos = find_pos(s, f, h);
	if (pos >= 0) {
		if (hint)
			*hint = (uint32_t)pos;
		return merge(s, (size_t)pos, expires, now, src);
	}
	if (src && (!within_share(s, f->attr, f->subject, src) ||
		    !member_token(s, f, src->id, now, false))) {
		s->refused++;
		return FACTSET_QUOTA;
	}
	if (!make_room(s, src))
		return FACTSET_FULL;
	if (!grow_entries(s, s->n + 1) || !stored_put(s, &s->fv[s->n], f))
		return FACTSET_FULL;
	if (hidx_insert(&s->idx, h, (uint32_t)s->n) < 0) {
		stored_free(s, &s->fv[s->n]);
		return FACTSET_FULL;
	}
	size_t i = s->n++;
	struct fentry *e = &s->v[i];
	memset(e, 0, sizeof(*e));
	e->expires = expires;
	if (expires < s->min_expires)
		s->min_expires = expires;
	e->h = h;
	e->lh = lease_hash(f);
	e->local = !src;
	if (!src) { /* new, so not ours before (note_put) */
		e->put_pass = s->local_pass;
		s->n_put++;
		s->put_new = true;
	}
	e->rx_expires = src ? expires : ENGINE_NEVER;
	e->src_prev = e->src_next = NO_ENTRY;
	s->shape_gen++;
	if (src) {
		if (!attach(s, i, src, now)) {
			factset_remove_at(s, i);
			return FACTSET_FULL;
		}
		member_token(s, f, src->id, now, true);
	}
	if (hint)
		*hint = (uint32_t)i;
	return FACTSET_NEW;
}

/* --- our own facts --------------------------------------------------------- */

/* [ours] No walk here: an entry put in this rebuild is marked with its
 * number (note_put), and factset_end_local tells the rest from that. */
void factset_begin_local(struct factset *s)
{
	s->local_pass++;
	s->n_put = 0;
	s->put_new = false;
}

void factset_end_local(struct factset *s, int64_t now)
{
	/* The very entries that were ours, and none has moved since the last
	 * walk (its list of ours is still good): the walk would change
	 * nothing. Most ticks of a leaf in steady state. */
	if (!s->put_new && s->n_put == s->n_local && s->unsourced_ok &&
	    s->unsourced_gen == s->shape_gen)
		return;
	s->n_unsourced = 0;
	s->unsourced_ok = true;
	s->n_local = 0;
	for (size_t i = 0; i < s->n;) {
		struct fentry *e = &s->v[i];
		if (e->local && e->put_pass != s->local_pass) {
			e->local = false;
			/* Our copy goes at once (SPEC §5); a peer's stays. Dropping
			 * that too lost, e.g., the hub's word on a peer's public
			 * endpoint the moment we tried another one, until the hub's
			 * next refresh two minutes later. */
			if (e->rx_expires == ENGINE_NEVER || e->rx_expires <= now) {
				factset_remove_at(s, i);
				continue;
			}
			e->expires = e->rx_expires;
			if (e->expires < s->min_expires)
				s->min_expires = e->expires;
		}
		s->n_local += e->local;
		if (e->local || !e->src) {
			if (wl_grow((void **)&s->unsourced, &s->cap_unsourced, s->n_unsourced + 1,
				    sizeof(*s->unsourced)))
				s->unsourced[s->n_unsourced++] = (uint32_t)i;
			else
				s->unsourced_ok = false;
		}
		i++;
	}
	s->unsourced_gen = s->shape_gen;
}
