#include "wire/cursor.h"

enum uvarint_result cursor_uvarint(struct cursor *c, uint64_t *out)
{
	uint64_t v = 0;
	for (unsigned shift = 0, i = 0;; shift += 7, i++) {
		uint8_t b;
		if (!cursor_u8(c, &b))
			return UVARINT_TRUNCATED;
		/* The 10th byte may only carry the single top bit (as in Go). */
		if (i == 9 && b > 1)
			return UVARINT_OVERFLOW;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
		if (i == 9)
			return UVARINT_OVERFLOW;
	}
	*out = v;
	return UVARINT_OK;
}

size_t uvarint_put(uint8_t out[static 10], uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

size_t uvarint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}
