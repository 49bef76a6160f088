#include "sim/keymemo.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "wire/packet.h"

/* One pair's key, left by the side that worked it out. */
struct memo_slot {
	uint8_t lo[WL_KEY_LEN], hi[WL_KEY_LEN]; /* the pair's public keys, ordered */
	uint8_t shared[32];
	bool used;  /* 0: empty */
	bool by_lo; /* worked out by the side of lo (else hi's) */
	bool valid; /* false: a low-order key, no shared secret */
};

struct keymemo {
	pthread_mutex_t lock;
	struct memo_slot *s;
	size_t mask, n;
	struct keymemo_stats st;
};

/* The smallest table, and the slots per pair at most: a quarter empty. */
#define MEMO_MIN_SLOTS 1024

struct keymemo *keymemo_new(void)
{
	struct keymemo *m = calloc(1, sizeof(*m));
	if (!m)
		abort();
	pthread_mutex_init(&m->lock, NULL);
	return m;
}

void keymemo_free(struct keymemo *m)
{
	if (!m)
		return;
	if (m->s) {
		sodium_memzero(m->s, (m->mask + 1) * sizeof(*m->s));
		free(m->s);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* Public keys are random curve points: their first bytes are a hash. */
static size_t home(const struct keymemo *m, const uint8_t lo[static WL_KEY_LEN],
		   const uint8_t hi[static WL_KEY_LEN])
{
	uint64_t a, b;
	memcpy(&a, lo, sizeof(a));
	memcpy(&b, hi, sizeof(b));
	return (size_t)(a ^ (b * 0x9e3779b97f4a7c15ull)) & m->mask;
}

static struct memo_slot *slot_for(const struct keymemo *m, const uint8_t lo[static WL_KEY_LEN],
				  const uint8_t hi[static WL_KEY_LEN])
{
	for (size_t i = home(m, lo, hi);; i = (i + 1) & m->mask) {
		struct memo_slot *s = &m->s[i];
		if (!s->used || (memcmp(s->lo, lo, WL_KEY_LEN) == 0 &&
				 memcmp(s->hi, hi, WL_KEY_LEN) == 0))
			return s;
	}
}

static void grow(struct keymemo *m)
{
	size_t old_cap = m->s ? m->mask + 1 : 0, cap = old_cap ? 2 * old_cap : MEMO_MIN_SLOTS;
	struct memo_slot *old = m->s;
	m->s = calloc(cap, sizeof(*m->s));
	if (!m->s)
		abort();
	m->mask = cap - 1;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].used)
			*slot_for(m, old[i].lo, old[i].hi) = old[i];
	if (old) {
		sodium_memzero(old, old_cap * sizeof(*old));
		free(old);
	}
}

/* Empties slot i, moving later members of its probe chain back so every
 * lookup still finds them. */
static void delete_at(struct keymemo *m, size_t i)
{
	sodium_memzero(&m->s[i], sizeof(m->s[i]));
	for (size_t j = (i + 1) & m->mask; m->s[j].used; j = (j + 1) & m->mask) {
		size_t h = home(m, m->s[j].lo, m->s[j].hi);
		/* j may move to i unless its home lies cyclically in (i, j]. */
		bool stays = i <= j ? (h > i && h <= j) : (h > i || h <= j);
		if (stays)
			continue;
		m->s[i] = m->s[j];
		sodium_memzero(&m->s[j], sizeof(m->s[j]));
		i = j;
	}
	m->n--;
}

/* The other side's key for the pair, taken out of the memo; false if it
 * left none. */
static bool take(struct keymemo *m, const uint8_t lo[static WL_KEY_LEN],
		 const uint8_t hi[static WL_KEY_LEN], bool own_lo, uint8_t out[static 32], bool *valid)
{
	if (!m->s)
		return false;
	struct memo_slot *s = slot_for(m, lo, hi);
	if (!s->used || s->by_lo == own_lo)
		return false;
	memcpy(out, s->shared, 32);
	*valid = s->valid;
	delete_at(m, (size_t)(s - m->s));
	m->st.reused++;
	return true;
}

static void leave(struct keymemo *m, const uint8_t lo[static WL_KEY_LEN],
		  const uint8_t hi[static WL_KEY_LEN], bool own_lo, const uint8_t shared[static 32],
		  bool valid)
{
	if (!m->s || 4 * (m->n + 1) > 3 * (m->mask + 1))
		grow(m);
	struct memo_slot *s = slot_for(m, lo, hi);
	if (s->used && s->by_lo != own_lo) {
		/* Both sides worked it out at once: neither needs it now. */
		delete_at(m, (size_t)(s - m->s));
		return;
	}
	if (!s->used) {
		m->n++;
		if (m->n > m->st.held_max)
			m->st.held_max = m->n;
	}
	memcpy(s->lo, lo, WL_KEY_LEN);
	memcpy(s->hi, hi, WL_KEY_LEN);
	s->by_lo = own_lo;
	memcpy(s->shared, shared, 32);
	s->valid = valid;
	s->used = true;
}

bool keymemo_agree(void *ctx, const uint8_t own_private[static WL_KEY_LEN],
		   const uint8_t own_public[static WL_KEY_LEN], const uint8_t peer[static WL_KEY_LEN],
		   uint8_t out[static 32])
{
	struct keymemo *m = ctx;
	bool own_lo = memcmp(own_public, peer, WL_KEY_LEN) < 0;
	const uint8_t *lo = own_lo ? own_public : peer, *hi = own_lo ? peer : own_public;
	bool valid;
	pthread_mutex_lock(&m->lock);
	bool found = take(m, lo, hi, own_lo, out, &valid);
	pthread_mutex_unlock(&m->lock);
	if (found)
		return valid;
	/* Outside the lock: the other thread's lookups need not wait for it. */
	valid = group_shared_key(own_private, peer, out);
	pthread_mutex_lock(&m->lock);
	m->st.computed++;
	leave(m, lo, hi, own_lo, out, valid);
	pthread_mutex_unlock(&m->lock);
	return valid;
}

struct keymemo_stats keymemo_stats(const struct keymemo *m)
{
	struct keymemo_stats st = m->st;
	st.held = m->n;
	return st;
}
