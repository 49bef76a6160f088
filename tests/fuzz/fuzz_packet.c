/* libFuzzer: any bytes as a received datagram. The receive path must never
 * crash or read out of bounds, and every fact it accepts must re-encode to
 * bytes that decode to the same fact. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[32] = { 1, 2, 3 };
	struct packet p;
	const char *why = NULL;
	if (!packet_parse(data, size, &p, &why)) {
		if (!why)
			abort();
		return 0;
	}
	(void)packet_verify(&p, key);
	struct cursor c;
	struct fact f, g;
	int r;
	packet_facts_begin(&p, &c);
	while ((r = packet_next_fact(&c, &f, &why)) == 1) {
		uint8_t buf[512];
		size_t n = fact_encode(&f, buf, sizeof(buf));
		if (n == 0 || n != fact_encoded_len(&f))
			abort();
		struct cursor c2;
		cursor_init(&c2, buf, n);
		if (!fact_decode(&c2, &g, &why) || !fact_same_key(&f, &g) || f.ttl != g.ttl ||
		    cursor_left(&c2) != 0)
			abort();
	}
	if (r < 0 && !why)
		abort();
	return 0;
}
