/* The 'L' fact's value (lease.h). */
#include "wire/lease.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* Fixed and public: a digest must come out the same on both sides. A peer
 * that aims at collisions can only spoil the leases of what it tells. */
static const uint8_t lease_hash_key[crypto_shorthash_KEYBYTES] = "wirelink-lease-1";

static void put32(uint8_t *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put64(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint32_t get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint64_t get64(const uint8_t *b)
{
	return (uint64_t)get32(b) << 32 | get32(b + 4);
}

void lease_fact(struct fact *f, const uint8_t sender[static WL_KEY_LEN], uint16_t ttl,
		const struct lease_msg *m)
{
	memset(f, 0, sizeof(*f));
	f->attr = ATTR_LEASE;
	f->ttl = ttl;
	memcpy(f->subject, sender, WL_KEY_LEN);
	uint8_t *v = f->value;
	v[0] = m->kind;
	put32(v + 1, m->epoch);
	size_t n = 5;
	if (m->kind == LEASE_HOLD || m->kind == LEASE_NACK) {
		put32(v + n, m->count);
		put64(v + n + 4, m->digest);
		n += 12;
	} else if (m->kind == LEASE_WITHDRAW) {
		for (size_t i = 0; i < m->n && i < LEASE_WITHDRAW_MAX; i++, n += 8)
			put64(v + n, m->gone[i]);
	} else if (m->kind == LEASE_PATH_DEAD || m->kind == LEASE_PATH_WAKE) {
		memcpy(v + n, m->key, WL_KEY_LEN);
		n += WL_KEY_LEN;
	}
	f->value_len = (uint16_t)n;
}

bool lease_kind_known(uint8_t kind)
{
	return kind >= LEASE_EPOCH && kind <= LEASE_PATH_WAKE;
}

bool lease_parse(const struct fact *f, struct lease_msg *m)
{
	if (f->attr != ATTR_LEASE || f->value_len < 5)
		return false;
	const uint8_t *v = f->value;
	size_t len = f->value_len;
	memset(m, 0, offsetof(struct lease_msg, gone));
	m->kind = v[0];
	m->epoch = get32(v + 1);
	switch (m->kind) {
	case LEASE_EPOCH:
	case LEASE_REFUSE:
		return len == 5;
	case LEASE_HOLD:
	case LEASE_NACK:
		if (len != 17)
			return false;
		m->count = get32(v + 5);
		m->digest = get64(v + 9);
		return true;
	case LEASE_WITHDRAW:
		if (len < 13 || (len - 5) % 8 || (len - 5) / 8 > LEASE_WITHDRAW_MAX)
			return false;
		m->n = (uint8_t)((len - 5) / 8);
		for (size_t i = 0; i < m->n; i++)
			m->gone[i] = get64(v + 5 + 8 * i);
		return true;
	case LEASE_PATH_DEAD:
	case LEASE_PATH_WAKE:
		if (len != 5 + WL_KEY_LEN)
			return false;
		memcpy(m->key, v + 5, WL_KEY_LEN);
		return true;
	}
	return false;
}

uint64_t lease_hash(const struct fact *f)
{
	uint64_t h = fact_key_siphash(lease_hash_key, f);
	return h ? h : 1; /* 0 marks an empty slot (core/lease.c) */
}

char *lease_str(const struct fact *f, char *out, size_t cap)
{
	static const char *const names[] = { "?",	 "epoch",  "hold",     "nack",
					     "withdraw", "refuse", "path-dead", "path-wake" };
	struct lease_msg m;
	if (!lease_parse(f, &m)) {
		snprintf(out, cap, "malformed");
		return out;
	}
	int w = snprintf(out, cap, "%s epoch=%u", names[m.kind], (unsigned)m.epoch);
	if (w > 0 && (size_t)w < cap && (m.kind == LEASE_HOLD || m.kind == LEASE_NACK))
		snprintf(out + w, cap - (size_t)w, " count=%u digest=%016llx", (unsigned)m.count,
			 (unsigned long long)m.digest);
	else if (w > 0 && (size_t)w < cap && m.kind == LEASE_WITHDRAW)
		snprintf(out + w, cap - (size_t)w, " facts=%u", (unsigned)m.n);
	return out;
}
