/* libFuzzer: any bytes as member metadata entries. Decoding never crashes;
 * what decodes re-encodes canonically, and the canonical form is a fixed
 * point (decode(encode(m)) encodes to the same bytes). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/member_meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct member_meta m, m2;
	static uint8_t once[70000], twice[70000];
	const char *why = NULL;
	if (!member_meta_decode(data, size, &m, &why)) {
		if (!why)
			abort();
		return 0;
	}
	size_t n = member_meta_encode(&m, once, sizeof(once));
	/* Same entries, reordered, lengths re-encoded minimally (the input
	 * may use longer varints, as Go's decoder also accepts): never longer. */
	if (n > size)
		abort();
	if (!member_meta_decode(once, n, &m2, &why) || m2.n != m.n)
		abort();
	size_t n2 = member_meta_encode(&m2, twice, sizeof(twice));
	if (n2 != n || memcmp(once, twice, n) != 0)
		abort();
	return 0;
}
