/* Codec properties over generated input: round trips, packing limits,
 * varint edges, metadata canonical form, the shared-key cache, prefix
 * containment. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/netaddr.h"
#include "harness.h"
#include "wire/keycache.h"
#include "wire/member_meta.h"
#include "wire/pack.h"
#include "wire/packet.h"

/* splitmix64: small, seeded, reproducible. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}
static void rnd_bytes(uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rnd();
}

/* A random valid fact of any kind the codec carries. */
static void random_fact(struct fact *f)
{
	uint8_t subject[32], boot[16];
	rnd_bytes(subject, 32);
	uint16_t ttl = (uint16_t)(rnd() % 3 == 0 ? rnd() : rnd() % 256);
	switch (rnd() % 6) {
	case 0:
		rnd_bytes(boot, 16);
		fact_make_alive(f, subject, boot, ttl);
		break;
	case 1:
	case 2: {
		struct wl_endpoint ep = { 0 };
		uint8_t raw[16];
		rnd_bytes(raw, 16);
		if (rnd() % 2) {
			wl_addr_from_v4(&ep.addr, raw);
		} else {
			raw[10] = 0; /* never v4-mapped */
			wl_addr_from_v6(&ep.addr, raw);
		}
		ep.port = (uint16_t)rnd();
		CHECK(fact_make_endpoint(f, subject, &ep, ttl));
		break;
	}
	case 3:
	case 4: {
		struct wl_cidr c = { 0 };
		uint8_t raw[16];
		rnd_bytes(raw, 16);
		if (rnd() % 2)
			wl_addr_from_v4(&c.addr, raw);
		else
			wl_addr_from_v6(&c.addr, raw);
		c.prefix = (uint8_t)(rnd() % (wl_addr_len(&c.addr) * 8 + 1));
		CHECK(fact_make_cidr(f, subject, &c, ttl));
		break;
	}
	default: {
		char name[17];
		size_t n = 1 + rnd() % 16;
		for (size_t i = 0; i < n; i++)
			name[i] = (char)('!' + rnd() % 94);
		name[n] = '\0';
		CHECK(fact_make_member_meta(f, subject, rnd() % 4 ? name : NULL,
					    (int)(rnd() % 3) - 1, ttl));
	}
	}
}

static bool facts_equal(const struct fact *a, const struct fact *b)
{
	return a->ttl == b->ttl && fact_same_key(a, b);
}

TEST(random_facts_round_trip)
{
	rng_state = harness_seed();
	for (int i = 0; i < 20000; i++) {
		struct fact f, g;
		uint8_t buf[512];
		const char *why = NULL;
		random_fact(&f);
		size_t n = fact_encode(&f, buf, sizeof(buf));
		CHECK(n == fact_encoded_len(&f));
		struct cursor c;
		cursor_init(&c, buf, n);
		CHECK_MSG(fact_decode(&c, &g, &why), "fact %d (%s): %s", i, fact_attr_name(f.attr), why);
		CHECK(cursor_left(&c) == 0);
		CHECK_MSG(facts_equal(&f, &g), "fact %d differs after round trip", i);
		/* Every strict prefix is refused, never over-read. */
		size_t cut = rnd() % n;
		cursor_init(&c, buf, cut);
		CHECK(!fact_decode(&c, &g, &why));
	}
}

TEST(uvarint_edges)
{
	const struct {
		const char *hex;
		bool ok;
		uint64_t v;
	} cases[] = {
		{ "00", true, 0 },
		{ "7f", true, 127 },
		{ "8001", true, 128 },
		{ "ac02", true, 300 },
		{ "ffff03", true, 65535 },
		{ "808004", true, 65536 },
		{ "80", false, 0 },
		{ "ffffffffffffffffff01", true, UINT64_MAX },
		{ "ffffffffffffffffff02", false, 0 },
		{ "ffffffffffffffffffff01", false, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[16];
		long n = hex_decode(cases[i].hex, strlen(cases[i].hex), buf, sizeof(buf));
		struct cursor c;
		uint64_t v = 0;
		cursor_init(&c, buf, (size_t)n);
		bool ok = cursor_uvarint(&c, &v) == UVARINT_OK;
		CHECK_MSG(ok == cases[i].ok, "%s", cases[i].hex);
		if (ok && cases[i].ok) {
			CHECK_MSG(v == cases[i].v, "%s", cases[i].hex);
			uint8_t out[10];
			CHECK_EQ(uvarint_put(out, v), n);
			CHECK_MEM(out, buf, (size_t)n);
		}
	}
}

TEST(ttl_encoding_clamps)
{
	CHECK_EQ(fact_ttl_from(1000, 0), 1);
	CHECK_EQ(fact_ttl_from(1999, 0), 1);
	CHECK_EQ(fact_ttl_from(255000, 0), 255);
	CHECK_EQ(fact_ttl_from(-5, 0), 0);
	CHECK_EQ(fact_ttl_from(0, 100), 0);
	CHECK_EQ(fact_ttl_from(100000000, 0), 65535);
	/* 65535 fits in three varint bytes and decodes back. */
	struct fact f, g;
	uint8_t subject[32] = { 1 }, boot[16] = { 2 }, buf[64];
	const char *why;
	fact_make_alive(&f, subject, boot, 65535);
	size_t n = fact_encode(&f, buf, sizeof(buf));
	CHECK_EQ(n, 1 + 3 + 32 + 16);
	struct cursor c;
	cursor_init(&c, buf, n);
	CHECK(fact_decode(&c, &g, &why));
	CHECK_EQ(g.ttl, 65535);
}

TEST(value_validation)
{
	uint8_t subject[32] = { 0 };
	struct wl_endpoint ep;
	struct fact f;
	/* An IPv4-mapped IPv6 endpoint is never built, and refused on decode. */
	CHECK(wl_endpoint_parse("[::ffff:192.0.2.1]:51820", &ep));
	CHECK(!fact_make_endpoint(&f, subject, &ep, 10));
	uint8_t buf[64] = { 'E', 10 };
	memset(buf + 2, 7, 32);
	static const uint8_t mapped[18] = { [10] = 0xff, [11] = 0xff, 192, 0, 2, 1, 0xca, 0x6c };
	memcpy(buf + 34, mapped, 18);
	struct cursor c;
	const char *why = NULL;
	cursor_init(&c, buf, 52);
	CHECK(!fact_decode(&c, &f, &why));
	CHECK_STR(why, "IPv4-mapped address in EndpointV6");
	/* Prefix 129 for IPv6. */
	uint8_t v6[52] = { 'A', 10 };
	v6[34 + 16] = 129;
	cursor_init(&c, v6, 34 + 17);
	CHECK(!fact_decode(&c, &f, &why));
	CHECK_STR(why, "prefix length beyond 128");
	/* Legacy ping. */
	uint8_t ping[40] = { 0 };
	cursor_init(&c, ping, sizeof(ping));
	CHECK(!fact_decode(&c, &f, &why));
	CHECK_STR(why, "legacy ping attribute (0x00) is not accepted");
}

TEST(member_meta_canonical_and_unknown_kept)
{
	/* b, then an unknown 'z', then n: decodes, keeps 'z', re-encodes
	 * canonically as n, b, z. */
	static const uint8_t in[] = { 'b', 1, 1, 'z', 2, 0xaa, 0xbb, 'n', 3, 'a', 'b', 'c' };
	static const uint8_t want[] = { 'n', 3, 'a', 'b', 'c', 'b', 1, 1, 'z', 2, 0xaa, 0xbb };
	struct member_meta m;
	const char *why = NULL;
	CHECK(member_meta_decode(in, sizeof(in), &m, &why));
	CHECK_EQ(m.n, 3);
	CHECK_EQ(member_meta_basic(&m), 1);
	uint8_t out[64];
	CHECK_EQ(member_meta_encode(&m, out, sizeof(out)), sizeof(want));
	CHECK_MEM(out, want, sizeof(want));
	/* Through a whole fact: the stored value is the canonical form. */
	uint8_t fbuf[128] = { 'M', 5 };
	memset(fbuf + 2, 3, 32);
	fbuf[34] = sizeof(in);
	memcpy(fbuf + 35, in, sizeof(in));
	struct cursor c;
	struct fact f;
	cursor_init(&c, fbuf, 35 + sizeof(in));
	CHECK(fact_decode(&c, &f, &why));
	CHECK_EQ(f.value_len, sizeof(want));
	CHECK_MEM(f.value, want, sizeof(want));
}

TEST(member_meta_errors)
{
	const struct {
		const char *hex;
		const char *why;
	} bad[] = {
		{ "6e05616263", "member metadata: declared length exceeds data" },
		{ "6e01616e0162", "member metadata: duplicate member attribute" },
		{ "620102", "member metadata: basic flag must be 0 or 1" },
		{ "62020001", "member metadata: basic flag must be exactly one byte" },
		{ "6e02c328", "member metadata: name is not valid UTF-8" },
		{ "6e", "member metadata: bad attribute length" },
		{ "6e80", "member metadata: bad attribute length" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t buf[16];
		long n = hex_decode(bad[i].hex, strlen(bad[i].hex), buf, sizeof(buf));
		struct member_meta m;
		const char *why = NULL;
		CHECK_MSG(!member_meta_decode(buf, (size_t)n, &m, &why), "%s accepted", bad[i].hex);
		CHECK_STR(why, bad[i].why);
	}
	CHECK(member_name_sendable("leaf-c"));
	CHECK(member_name_sendable("client2@self"));
	CHECK(!member_name_sendable("has space"));
	CHECK(!member_name_sendable(""));
	CHECK(!member_name_sendable("seventeen-bytes-x"));
}

static size_t pack_all(const struct fact *facts, size_t n, const uint8_t key[32],
		       const uint8_t signer[32], uint8_t out[][WIRE_MAX_RECV], size_t *lens,
		       size_t max_packets)
{
	struct packer p;
	size_t packets = 0;
	uint8_t nonce[GROUP_NONCE_LEN] = { 0 };
	packer_reset(&p);
	for (size_t i = 0; i < n; i++) {
		if (!packer_fits(&p, &facts[i])) {
			lens[packets] = group_seal(out[packets], WIRE_MAX_RECV, signer, key, nonce,
						   p.inner, p.len);
			packets++;
			packer_reset(&p);
		}
		CHECK(packer_add(&p, &facts[i]));
		if (packets == max_packets)
			return packets;
	}
	if (p.count)
		lens[packets] = group_seal(out[packets], WIRE_MAX_RECV, signer, key, nonce, p.inner,
					   p.len),
		packets++;
	return packets;
}

TEST(packing_limits)
{
	rng_state = harness_seed();
	enum { N = 3000, MAXP = 400 };
	struct fact *facts = calloc(N, sizeof(*facts));
	static uint8_t packets[MAXP][WIRE_MAX_RECV];
	size_t lens[MAXP];
	uint8_t key[32], signer[32];
	rnd_bytes(key, 32);
	rnd_bytes(signer, 32);
	for (size_t i = 0; i < N; i++)
		random_fact(&facts[i]);
	size_t np = pack_all(facts, N, key, signer, packets, lens, MAXP);
	CHECK(np < MAXP);
	size_t seen = 0;
	for (size_t k = 0; k < np; k++) {
		CHECK_MSG(lens[k] <= WIRE_MAX_DATAGRAM, "packet %zu is %zu bytes", k, lens[k]);
		struct packet p;
		const char *why;
		CHECK(packet_parse(packets[k], lens[k], &p, &why));
		CHECK(packet_verify(&p, key));
		CHECK(p.inner_len <= GROUP_INNER_MAX);
		struct cursor c;
		struct fact f;
		packet_facts_begin(&p, &c);
		while (packet_next_fact(&c, &f, &why) == 1) {
			/* Same facts, same order, none split or lost. */
			CHECK(seen < N && facts_equal(&f, &facts[seen]));
			seen++;
		}
		/* A group is only closed when the next fact would not fit. */
		if (k + 1 < np)
			CHECK(p.inner_len + fact_encoded_len(&facts[seen]) > GROUP_INNER_MAX);
	}
	CHECK_EQ(seen, N);
	free(facts);
}

TEST(keycache_computes_once)
{
	uint8_t own[32], peers[3][32], pub[32];
	randombytes_buf(own, 32);
	for (int i = 0; i < 3; i++) {
		randombytes_buf(peers[i], 32);
		crypto_scalarmult_base(pub, peers[i]);
		memcpy(peers[i], pub, 32);
	}
	struct keycache kc;
	CHECK(keycache_init(&kc, own, 64) == 0);
	uint8_t first[3][32];
	for (int round = 0; round < 1000; round++) {
		for (int i = 0; i < 3; i++) {
			const uint8_t *k = keycache_get(&kc, peers[i]);
			CHECK(k != NULL);
			if (round == 0 && k)
				memcpy(first[i], k, 32);
			else if (k)
				CHECK_MEM(k, first[i], 32);
		}
	}
	CHECK_EQ(kc.computations, 3);
	/* The cached key is the real shared secret. */
	uint8_t direct[32];
	CHECK(group_shared_key(own, peers[1], direct));
	CHECK_MEM(first[1], direct, 32);
	/* A low-order key has no shared key, and is not recomputed either. */
	static const uint8_t zero[32];
	CHECK(keycache_get(&kc, zero) == NULL);
	CHECK(keycache_get(&kc, zero) == NULL);
	CHECK_EQ(kc.computations, 4);
	keycache_destroy(&kc);
}

TEST(keycache_bounded)
{
	uint8_t own[32];
	randombytes_buf(own, 32);
	struct keycache kc;
	CHECK(keycache_init(&kc, own, 16) == 0);
	CHECK_EQ(kc.cap, 16);
	/* Many more peers than slots: still correct, memory stays fixed. */
	for (int i = 0; i < 200; i++) {
		uint8_t priv[32], pub[32], direct[32];
		randombytes_buf(priv, 32);
		crypto_scalarmult_base(pub, priv);
		const uint8_t *k = keycache_get(&kc, pub);
		CHECK(k && group_shared_key(own, pub, direct) && memcmp(k, direct, 32) == 0);
	}
	CHECK_EQ(kc.cap, 16);
	keycache_destroy(&kc);
}

TEST(random_garbage_never_crashes)
{
	rng_state = harness_seed();
	uint8_t buf[WIRE_MAX_RECV];
	for (int i = 0; i < 20000; i++) {
		size_t n = rnd() % sizeof(buf);
		rnd_bytes(buf, n);
		if (rnd() % 2 && n > 0)
			buf[0] = 'S';
		struct packet p;
		const char *why = NULL;
		if (packet_parse(buf, n, &p, &why)) {
			struct cursor c;
			struct fact f;
			packet_facts_begin(&p, &c);
			while (packet_next_fact(&c, &f, &why) == 1)
				;
		} else {
			CHECK(why != NULL);
		}
	}
}

/* The old definition of containment, by masked copies: the fast one in
 * common/netaddr.c must agree with it on any value. */
static bool contains_by_masking(const struct wl_cidr *c, const struct wl_addr *addr)
{
	if (c->addr.family != addr->family)
		return false;
	struct wl_cidr a = { .addr = *addr, .prefix = c->prefix };
	struct wl_cidr n = *c;
	wl_cidr_mask(&a);
	wl_cidr_mask(&n);
	return memcmp(a.addr.bytes, n.addr.bytes, 16) == 0;
}

TEST(cidr_contains_agrees_with_masking)
{
	rng_state = harness_seed();
	size_t inside = 0, outside = 0;
	for (int i = 0; i < 200000; i++) {
		struct wl_cidr c = { 0 };
		bool v6 = rnd() & 1;
		size_t len = v6 ? 16 : 4;
		c.addr.family = v6 ? AF_INET6 : AF_INET;
		rnd_bytes(c.addr.bytes, len);
		c.prefix = (uint8_t)(rnd() % (len * 8 + 4)); /* a few past the length */
		struct wl_addr a = c.addr;
		/* Flip a bit: at or after the prefix (still inside), or anywhere. */
		size_t from = rnd() & 1 ? (c.prefix < len * 8 ? c.prefix : len * 8) : 0;
		if (from < len * 8 && rnd() % 4) {
			size_t bit = from + rnd() % (len * 8 - from);
			a.bytes[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
		}
		if (rnd() % 64 == 0)
			a.family = v6 ? AF_INET : AF_INET6;
		if (!v6 && rnd() % 64 == 0) /* a malformed IPv4 value: its tail set */
			a.bytes[4 + rnd() % 12] ^= 1;
		bool want = contains_by_masking(&c, &a);
		CHECK(wl_cidr_contains(&c, &a) == want);
		if (want)
			inside++;
		else
			outside++;
	}
	CHECK(inside > 10000 && outside > 10000);
}
