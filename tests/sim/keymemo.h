/* Shared keys worked out once per pair of simulated nodes.
 *
 * Both nodes of a pair get the same X25519 result (a's private key with
 * b's public equals b's private with a's public), and while a network of
 * a thousand nodes converges every node works out one with each of the
 * others: 999,000 evaluations, about 31 s of CPU here (docs/scale-cost.md).
 * The memo keeps the key the first side worked out until the other side
 * asks, so each pair's is computed once. The engines run unchanged: this
 * is their key agreement seam (struct key_agreement, wire/keycache.h),
 * which the daemon leaves to the engine. Shared by the simulator's
 * threads (one lock: a lookup is short next to an X25519). */
#ifndef WL_SIM_KEYMEMO_H
#define WL_SIM_KEYMEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/encoding.h"

struct keymemo;

struct keymemo *keymemo_new(void);
/* Wipes the keys held. NULL is fine. */
void keymemo_free(struct keymemo *m);

/* As struct key_agreement's agree, ctx a keymemo: the pair's key from
 * the memo if the other side left it there (it then leaves the memo),
 * else worked out here and left for the other side. */
bool keymemo_agree(void *ctx, const uint8_t own_private[static WL_KEY_LEN],
		   const uint8_t own_public[static WL_KEY_LEN], const uint8_t peer[static WL_KEY_LEN],
		   uint8_t out[static 32]);

struct keymemo_stats {
	uint64_t computed; /* X25519 evaluations */
	uint64_t reused;   /* keys the other side had worked out */
	size_t held, held_max; /* pairs waiting for their other side */
};
struct keymemo_stats keymemo_stats(const struct keymemo *m);

#endif
