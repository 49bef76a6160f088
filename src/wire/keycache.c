#include "wire/keycache.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "wire/packet.h"

/* Keys are uniformly random curve points, so their bytes are a hash. */
static size_t slot_of(const struct keycache *kc, const uint8_t peer[static WL_KEY_LEN])
{
	uint64_t h;
	memcpy(&h, peer, sizeof(h));
	return (size_t)h & (kc->cap - 1);
}

int keycache_init(struct keycache *kc, const uint8_t own_private[static WL_KEY_LEN], size_t cap)
{
	size_t n = 16;
	while (n < cap)
		n <<= 1;
	memset(kc, 0, sizeof(*kc));
	kc->slots = calloc(n, sizeof(*kc->slots));
	if (!kc->slots)
		return -ENOMEM;
	kc->cap = n;
	memcpy(kc->own_private, own_private, WL_KEY_LEN);
	return 0;
}

void keycache_destroy(struct keycache *kc)
{
	if (!kc)
		return;
	if (kc->slots) {
		sodium_memzero(kc->slots, kc->cap * sizeof(*kc->slots));
		free(kc->slots);
	}
	sodium_memzero(kc, sizeof(*kc));
}

void keycache_set_agreement(struct keycache *kc, const uint8_t own_public[static WL_KEY_LEN],
			    const struct key_agreement *ka)
{
	kc->agreement = *ka;
	memcpy(kc->own_public, own_public, WL_KEY_LEN);
}

static bool agree(struct keycache *kc, const uint8_t peer[static WL_KEY_LEN], uint8_t out[static 32])
{
	if (kc->agreement.agree)
		return kc->agreement.agree(kc->agreement.ctx, kc->own_private, kc->own_public, peer,
					   out);
	return group_shared_key(kc->own_private, peer, out);
}

/* Linear probing over a short window; past it, evict the stalest entry. */
#define PROBE_WINDOW 8

const uint8_t *keycache_get(struct keycache *kc, const uint8_t peer[static WL_KEY_LEN])
{
	size_t start = slot_of(kc, peer);
	struct keycache_entry *victim = &kc->slots[start];
	for (size_t i = 0; i < PROBE_WINDOW; i++) {
		struct keycache_entry *e = &kc->slots[(start + i) & (kc->cap - 1)];
		if (e->last_use && memcmp(e->peer, peer, WL_KEY_LEN) == 0) {
			e->last_use = ++kc->clock;
			return e->valid ? e->shared : NULL;
		}
		if (e->last_use < victim->last_use)
			victim = e;
	}
	memcpy(victim->peer, peer, WL_KEY_LEN);
	victim->valid = agree(kc, peer, victim->shared);
	victim->last_use = ++kc->clock;
	kc->computations++;
	return victim->valid ? victim->shared : NULL;
}
