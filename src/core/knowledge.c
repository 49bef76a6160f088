#include "core/knowledge.h"

#include <stdlib.h>
#include <string.h>

#include "common/grow.h"

/* A table's first size, and the smallest it shrinks to. */
#define KNOWLEDGE_MIN_SLOTS 32

static uint64_t norm(uint64_t h)
{
	return h ? h : 1;
}

void knowledge_init(struct knowledge *k)
{
	memset(k, 0, sizeof(*k));
	k->full_purge_at = ENGINE_NEVER;
	k->soonest = INT64_MAX;
}

void knowledge_free(struct knowledge *k)
{
	uint32_t gen = k->gen;
	free(k->s);
	knowledge_init(k);
	k->gen = gen + 1;
}

void knowledge_clear(struct knowledge *k)
{
	if (k->s)
		memset(k->s, 0, (k->mask + 1) * sizeof(*k->s));
	k->n = 0;
	k->gen++;
	k->soonest = INT64_MAX;
}

static struct know_slot *slot_of(const struct knowledge *k, uint64_t h)
{
	if (!k->s)
		return NULL;
	for (size_t i = h & k->mask;; i = (i + 1) & k->mask) {
		if (k->s[i].h == h || k->s[i].h == 0)
			return &k->s[i];
	}
}

int64_t knowledge_get(const struct knowledge *k, uint64_t h)
{
	struct know_slot *s = slot_of(k, norm(h));
	return s && s->h ? s->expires : ENGINE_NEVER;
}

/* Rebuilds into cap slots, keeping entries alive at now. */
static bool rebuild(struct knowledge *k, size_t cap, int64_t now)
{
	struct know_slot *ns = calloc(cap, sizeof(*ns));
	if (!ns)
		return false;
	size_t n = 0;
	int64_t soonest = INT64_MAX;
	for (size_t i = 0; k->s && i <= k->mask; i++) {
		struct know_slot *o = &k->s[i];
		if (!o->h || o->expires < now)
			continue;
		size_t j = o->h & (cap - 1);
		while (ns[j].h)
			j = (j + 1) & (cap - 1);
		ns[j] = *o;
		n++;
		if (o->expires < soonest)
			soonest = o->expires;
	}
	free(k->s);
	k->s = ns;
	k->mask = cap - 1;
	k->n = n;
	k->soonest = soonest;
	return true;
}

/* Whether a key of the first run of slots in use lies before its home
 * slot, having wrapped around the table's end. Only then does a rebuild
 * into as many slots move a key: with no wrap, putting the keys back in
 * slot order lays each where it was (the slots from its home to it are
 * taken by keys put back before it), and the walks over the slots
 * (lease.c, send.c) see the order they would have seen. */
static bool wraps(const struct knowledge *k)
{
	for (size_t i = 0; i <= k->mask && k->s[i].h; i++)
		if ((k->s[i].h & k->mask) > i)
			return true;
	return false;
}

void knowledge_put(struct knowledge *k, uint64_t h, int64_t expires, int64_t now, size_t max,
		   uint64_t *dropped)
{
	h = norm(h);
	struct know_slot *s = slot_of(k, h);
	if (s && s->h) {
		if (expires > s->expires) {
			s->expires = expires;
			k->gen++;
		}
		return;
	}
	if (k->n + 1 > max) {
		if (k->full_purge_at == ENGINE_NEVER || now - k->full_purge_at >= 1000) {
			k->full_purge_at = now;
			knowledge_purge(k, now);
		}
		if (k->n + 1 > max) {
			(*dropped)++;
			return;
		}
	}
	if (!k->s || 2 * (k->n + 1) > k->mask + 1) {
		size_t cap = k->s ? 2 * (k->mask + 1) : KNOWLEDGE_MIN_SLOTS;
		if (!rebuild(k, cap, now)) {
			(*dropped)++;
			return;
		}
	}
	s = slot_of(k, h);
	s->h = h;
	s->expires = expires;
	k->n++;
	k->gen++;
	if (expires < k->soonest)
		k->soonest = expires;
}

void knowledge_purge(struct knowledge *k, int64_t now)
{
	if (!k->s)
		return;
	size_t live = 0;
	if (k->soonest >= now) {
		/* Nothing ran out: a rebuild into as many slots would change
		 * nothing (the hub's tables hold a few thousand keys each, and
		 * it purged a thousand of them a minute). */
		live = k->n;
		if (live && wl_shrunk_cap(k->mask + 1, live, KNOWLEDGE_MIN_SLOTS) == k->mask + 1 &&
		    !wraps(k))
			return;
	} else {
		for (size_t i = 0; i <= k->mask; i++)
			live += k->s[i].h && k->s[i].expires >= now;
	}
	/* [ours] Shrunk when mostly empty: after a storm of resends a peer's
	 * table would otherwise keep its largest size for good (the hour of
	 * bad weather, docs/sim-notes-for-core.md item 14). */
	if (!live) {
		free(k->s);
		k->s = NULL;
		k->mask = k->n = 0;
		return;
	}
	rebuild(k, wl_shrunk_cap(k->mask + 1, live, KNOWLEDGE_MIN_SLOTS), now);
}

void knowledge_forget_slot(struct knowledge *k, struct know_slot *s)
{
	/* Expired in place; the next purge drops the slot. Removing it
	 * outright would break the probe chains behind it. */
	s->expires = ENGINE_NEVER;
	k->soonest = ENGINE_NEVER;
	k->gen++;
}

void knowledge_forget(struct knowledge *k, uint64_t h)
{
	struct know_slot *s = slot_of(k, norm(h));
	if (s && s->h)
		knowledge_forget_slot(k, s);
}
