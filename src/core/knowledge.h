/* Peer knowledge (SPEC §6): for one peer, the latest expiry of each fact
 * key we believe that peer knows, from what we sent it and what it sent us.
 * Keys are 64-bit keyed hashes of the fact key (see fact_key_hash), so an
 * entry is 16 bytes whatever the fact.
 *
 * Bounded: at most `max` keys. When full, expired entries are purged (at
 * most once a second); if it is still full the new key is not remembered (counted in *dropped): that
 * only means the fact may be sent again, never that it is lost. */
#ifndef WL_CORE_KNOWLEDGE_H
#define WL_CORE_KNOWLEDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"

struct know_slot {
	uint64_t h; /* 0 = empty (real hashes are forced non-zero) */
	int64_t expires;
};

struct knowledge {
	struct know_slot *s;
	size_t mask; /* slots - 1, or 0 with s == NULL */
	size_t n;
	/* [ours] When a full table last looked for expired entries: at most
	 * once a second, or a peer telling us new keys one after another
	 * would make every one of them a rebuild of the whole table. */
	int64_t full_purge_at;
	/* [ours] Moves whenever what knowledge_get returns may change, but for
	 * entries that ran out (purges and rebuilds leave it): send.c skips
	 * a lease pass while it stands still. */
	uint32_t gen;
	/* [ours] No slot in use expires before it (a slot forgotten makes it
	 * ENGINE_NEVER; a raised expiry leaves it low): a purge at a time
	 * that is not past it finds every slot alive without a walk. */
	int64_t soonest;
};

void knowledge_init(struct knowledge *k);
void knowledge_free(struct knowledge *k);
/* Forget everything (the peer restarted). */
void knowledge_clear(struct knowledge *k);
/* Latest known expiry for key h, or ENGINE_NEVER if unknown. */
int64_t knowledge_get(const struct knowledge *k, uint64_t h);
/* Asks the cache for where knowledge_get(k, h) looks first (h 0 is
 * kept as 1, as knowledge.c does): a pass over thousands of facts asks
 * each of a table lying anywhere in memory. Always inlined: GCC drops a
 * call to a function whose only effect is a prefetch. */
__attribute__((always_inline)) static inline void knowledge_prefetch(const struct knowledge *k,
								      uint64_t h)
{
	if (k->s)
		__builtin_prefetch(&k->s[(h ? h : 1) & k->mask]);
}
/* Records that the peer knows key h until expires (keeps the later one). */
void knowledge_put(struct knowledge *k, uint64_t h, int64_t expires, int64_t now, size_t max,
		   uint64_t *dropped);
/* Drops entries that expired before now, and shrinks a table that is
 * left mostly empty. */
void knowledge_purge(struct knowledge *k, int64_t now);
/* Forgets key h (e.g. our own Alive after a new boot id). */
void knowledge_forget(struct knowledge *k, uint64_t h);
/* Forgets the entry in slot s of k (a caller walking the slots). */
void knowledge_forget_slot(struct knowledge *k, struct know_slot *s);

#endif
