/* A hash index: maps a 64-bit hash to positions in a caller-owned dense
 * array. Open addressing with linear probing and backward-shift deletion
 * (no tombstones), so lookups stay short however many removals happen.
 *
 * The index stores only (hash, position); the caller decides equality with
 * a callback, so any key type works. Errors: -ENOMEM from insert. */
#ifndef WL_CORE_HIDX_H
#define WL_CORE_HIDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hidx_bucket {
	uint64_t h;
	uint32_t pos1; /* position + 1; 0 = empty */
};

struct hidx {
	struct hidx_bucket *b;
	size_t mask; /* buckets - 1 (a power of two minus one) */
	size_t n;
};

/* True if the entry at pos is the one being looked for. */
typedef bool (*hidx_eq_fn)(const void *ctx, uint32_t pos);

int hidx_init(struct hidx *x, size_t min_entries);
void hidx_free(struct hidx *x);
/* Position of the entry with hash h for which eq() holds, or -1. */
long hidx_find(const struct hidx *x, uint64_t h, hidx_eq_fn eq, const void *ctx);
/* Adds (h, pos); grows the table at half load. 0 or -ENOMEM. */
int hidx_insert(struct hidx *x, uint64_t h, uint32_t pos);
/* Rebuilds a table left under a quarter full to the smallest size at
 * most half full (no smaller than hidx_init's 16). Grown past a half, so
 * a table is within twice what its count needs; the caller shrinks at
 * most now and then (a GC), so a count that hovers costs a rebuild per
 * call at most. 0, or -ENOMEM (the table stays). */
int hidx_shrink(struct hidx *x);
/* Removes (h, pos). */
void hidx_remove(struct hidx *x, uint64_t h, uint32_t pos);
/* The entry (h, from) now lives at position to (after a swap-remove). */
void hidx_move(struct hidx *x, uint64_t h, uint32_t from, uint32_t to);

#endif
