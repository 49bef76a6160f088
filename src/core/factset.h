/* The set of known facts (SPEC §7): one entry per fact key (attribute,
 * subject, value), keeping the latest expiry. Entries remember whether the
 * node generated them itself this tick ("local"), so local facts that
 * disappear can be removed at once (SPEC §5).
 *
 * Bounded: at most `max` entries; when full, the received (non-local) entry
 * that expires soonest is evicted and counted. Alive facts are never stored
 * here (they only feed peer state). */
#ifndef WL_CORE_FACTSET_H
#define WL_CORE_FACTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/hidx.h"
#include "wire/fact.h"

struct fentry {
	struct fact f;     /* f.ttl is meaningless here; expires rules */
	int64_t expires;   /* monotonic ms */
	uint64_t h;        /* key hash */
	bool local;        /* produced by the local node in the current tick */
	bool local_prev;   /* ... in the previous tick */
	/* The latest expiry a peer told us for it, ENGINE_NEVER if none: what
	 * stays when we stop generating it ourselves. */
	int64_t rx_expires;
};

struct factset {
	struct fentry *v;
	size_t n, alloc, max;
	struct hidx idx;
	uint8_t hkey[16]; /* SipHash key: peers cannot aim at collisions */
	uint64_t evicted;
};

/* Hash of a fact key under hkey; for Alive the value is ignored (SPEC §6). */
uint64_t fact_key_hash(const uint8_t hkey[static 16], const struct fact *f);

int factset_init(struct factset *s, size_t max, const uint8_t hkey[static 16]);
void factset_free(struct factset *s);

/* The entry with f's key, or NULL. */
struct fentry *factset_find(struct factset *s, const struct fact *f);

enum factset_put {
	FACTSET_NEW,       /* a key we did not know */
	FACTSET_EXTENDED,  /* known; expiry moved later */
	FACTSET_SAME,      /* known; nothing changed */
	FACTSET_FULL,      /* could not store (full of local facts, or no memory) */
};
/* Merges a fact with this expiry; local marks it as generated this tick. */
enum factset_put factset_put(struct factset *s, const struct fact *f, int64_t expires, bool local);

/* Removes entry i (swap-remove: entry n-1 moves to i). */
void factset_remove_at(struct factset *s, size_t i);

/* Start of a local-facts rebuild: every local flag moves to local_prev. */
void factset_begin_local(struct factset *s);
/* End of a rebuild: entries that were local last tick and are not now
 * lose our own copy at once (SPEC §5: it is not left to expire); what a
 * peer told us of the same fact stays, with the expiry the peer gave. */
void factset_end_local(struct factset *s, int64_t now);

#endif
