/* Shared keys per peer, computed once: X25519 costs far more than checking
 * a tag, so a busy node must not redo it for every datagram.
 *
 * A fixed-size open-addressing table keyed by the peer's public key. When
 * full, the least recently used entry is replaced (a peer can make us
 * compute, never make us allocate). Holds secrets: keycache_destroy wipes. */
#ifndef WL_WIRE_KEYCACHE_H
#define WL_WIRE_KEYCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/encoding.h"

/* Works out the shared key of a node (own_private, own_public) with
 * peer into out; false if peer is a low-order key. By default the cache
 * computes X25519 itself (group_shared_key). A process that runs many
 * nodes may supply its own: both sides of a pair get the same key, so the
 * simulator works out each pair's once, not twice (tests/sim/keymemo.h).
 * It must answer exactly as X25519 would. */
struct key_agreement {
	bool (*agree)(void *ctx, const uint8_t own_private[static WL_KEY_LEN],
		      const uint8_t own_public[static WL_KEY_LEN],
		      const uint8_t peer[static WL_KEY_LEN], uint8_t out[static 32]);
	void *ctx;
};

struct keycache_entry {
	uint8_t peer[WL_KEY_LEN];
	uint8_t shared[32];
	uint64_t last_use; /* 0 = empty slot */
	bool valid;        /* false: low-order key, no shared secret */
};

struct keycache {
	uint8_t own_private[WL_KEY_LEN];
	size_t cap; /* a power of two */
	uint64_t clock;
	uint64_t computations; /* shared keys worked out so far (for tests, stats) */
	struct key_agreement agreement; /* agree NULL: X25519 here */
	uint8_t own_public[WL_KEY_LEN]; /* for agreement only */
	struct keycache_entry *slots;
};

/* cap is rounded up to a power of two (min 16). Returns -ENOMEM on failure. */
int keycache_init(struct keycache *kc, const uint8_t own_private[static WL_KEY_LEN], size_t cap);
void keycache_destroy(struct keycache *kc);
/* Works shared keys out through ka (see struct key_agreement). */
void keycache_set_agreement(struct keycache *kc, const uint8_t own_public[static WL_KEY_LEN],
			    const struct key_agreement *ka);
/* The shared key with peer, or NULL if the peer key is low-order. */
const uint8_t *keycache_get(struct keycache *kc, const uint8_t peer[static WL_KEY_LEN]);

#endif
