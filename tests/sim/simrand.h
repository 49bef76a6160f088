/* A small seeded PRNG for the simulator (xoshiro256** seeded with
 * splitmix64). The simulator must be reproducible from one seed, so it never
 * reads /dev/urandom; every random choice (loss, jitter, NAT ports, keys,
 * boot ids) comes from one of these generators. */
#ifndef WL_SIM_SIMRAND_H
#define WL_SIM_SIMRAND_H

#include <stddef.h>
#include <stdint.h>

struct simrand {
	uint64_t s[4];
};

static inline uint64_t simrand_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline void simrand_seed(struct simrand *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = simrand_splitmix(&seed);
}

static inline uint64_t simrand_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t simrand_next(struct simrand *r)
{
	uint64_t *s = r->s;
	uint64_t result = simrand_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = simrand_rotl(s[3], 45);
	return result;
}

/* Uniform in [0, n); n = 0 gives 0. The modulo bias is irrelevant here. */
static inline uint64_t simrand_below(struct simrand *r, uint64_t n)
{
	return n ? simrand_next(r) % n : 0;
}

static inline void simrand_bytes(struct simrand *r, uint8_t *out, size_t len)
{
	while (len > 0) {
		uint64_t v = simrand_next(r);
		for (int i = 0; i < 8 && len > 0; i++, len--) {
			*out++ = (uint8_t)v;
			v >>= 8;
		}
	}
}

#endif
