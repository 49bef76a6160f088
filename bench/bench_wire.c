/* Codec throughput on one core: how many full (≤ 1212-byte) SignedGroup
 * datagrams per second we can verify and parse from a known peer, and how
 * many we can pack and sign. Prints figures; not a pass/fail test.
 *   usage: bench_wire [seconds-per-figure]   (default 3) */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_clock.h"
#include "wire/keycache.h"
#include "wire/pack.h"
#include "wire/packet.h"

/* Endpoint facts with random subjects, enough to fill one group. */
static size_t fill_group(struct packer *p, uint8_t subject_seed)
{
	packer_reset(p);
	struct fact f;
	struct wl_endpoint ep = { 0 };
	uint8_t subject[32];
	uint8_t v4[4] = { 192, 0, 2, 0 };
	for (int i = 0;; i++) {
		randombytes_buf(subject, sizeof(subject));
		subject[0] = subject_seed;
		v4[3] = (uint8_t)i;
		wl_addr_from_v4(&ep.addr, v4);
		ep.port = 51820;
		fact_make_endpoint(&f, subject, &ep, 255);
		if (!packer_fits(p, &f))
			break;
		packer_add(p, &f);
	}
	return p->count;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3.0;
	if (sodium_init() < 0)
		return 1;
	uint8_t a_priv[32], a_pub[32], b_priv[32], b_pub[32];
	randombytes_buf(a_priv, 32);
	randombytes_buf(b_priv, 32);
	crypto_scalarmult_base(a_pub, a_priv);
	crypto_scalarmult_base(b_pub, b_priv);

	/* A's side: pack and sign. */
	struct keycache a_keys, b_keys;
	keycache_init(&a_keys, a_priv, 64);
	keycache_init(&b_keys, b_priv, 64);
	static struct packer p;
	size_t facts = fill_group(&p, 1);
	uint8_t nonce[GROUP_NONCE_LEN], dgram[WIRE_MAX_RECV];
	size_t len = 0;
	unsigned long signed_n = 0;
	double start = bench_now_s(), elapsed;
	do {
		for (int i = 0; i < 256; i++) {
			randombytes_buf(nonce, sizeof(nonce));
			const uint8_t *key = keycache_get(&a_keys, b_pub);
			len = group_seal(dgram, sizeof(dgram), a_pub, key, nonce, p.inner, p.len);
		}
		signed_n += 256;
	} while ((elapsed = bench_now_s() - start) < seconds);
	double sign_rate = (double)signed_n / elapsed;

	/* B's side: the receive path (frame, cached key, tag, every fact). */
	unsigned long verified = 0, facts_seen = 0;
	start = bench_now_s();
	do {
		for (int i = 0; i < 256; i++) {
			struct packet pk;
			const char *why;
			if (!packet_parse(dgram, len, &pk, &why))
				return 1;
			const uint8_t *key = keycache_get(&b_keys, pk.signer);
			if (!key || !packet_verify(&pk, key))
				return 1;
			struct cursor c;
			struct fact f;
			packet_facts_begin(&pk, &c);
			while (packet_next_fact(&c, &f, &why) == 1)
				facts_seen++;
		}
		verified += 256;
	} while ((elapsed = bench_now_s() - start) < seconds);
	double verify_rate = (double)verified / elapsed;

	printf("datagram: %zu bytes, %zu EndpointV4 facts per group\n", len, facts);
	printf("verify+parse: %.0f packets/s (%.1f MB/s, %.0f facts/s) on one core\n", verify_rate,
	       verify_rate * (double)len / 1e6, (double)facts_seen / elapsed);
	printf("pack+sign:    %.0f packets/s on one core\n", sign_rate);
	printf("X25519 evaluations: sender %llu, receiver %llu (cached per peer)\n",
	       (unsigned long long)a_keys.computations, (unsigned long long)b_keys.computations);
	keycache_destroy(&a_keys);
	keycache_destroy(&b_keys);
	return 0;
}
