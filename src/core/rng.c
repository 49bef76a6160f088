#include "core/rng.h"

#include <sodium.h>
#include <string.h>

void rng_init(struct rng *r, const uint8_t seed[static 32])
{
	memcpy(r->key, seed, 32);
	r->counter = 0;
}

void rng_bytes(struct rng *r, uint8_t *out, size_t len)
{
	uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = { 0 };
	uint64_t c = r->counter++;
	for (int i = 0; i < 8; i++)
		nonce[i] = (uint8_t)(c >> (8 * i));
	crypto_stream_chacha20_ietf(out, len, nonce, r->key);
}

void rng_wipe(struct rng *r)
{
	sodium_memzero(r, sizeof(*r));
}
