/* The engine's only source of randomness: a ChaCha20 keystream keyed by the
 * caller's seed, read block by block with a counter as nonce. Deterministic
 * for a given seed, so simulations and tests replay exactly. */
#ifndef WL_CORE_RNG_H
#define WL_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng {
	uint8_t key[32];
	uint64_t counter;
};

void rng_init(struct rng *r, const uint8_t seed[static 32]);
void rng_bytes(struct rng *r, uint8_t *out, size_t len);
void rng_wipe(struct rng *r);

#endif
