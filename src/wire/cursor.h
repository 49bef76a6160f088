/* A bounds-checked read cursor: every read says whether the bytes were
 * there, and nothing ever reads past `len`. */
#ifndef WL_WIRE_CURSOR_H
#define WL_WIRE_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cursor {
	const uint8_t *buf;
	size_t len;
	size_t pos;
};

static inline void cursor_init(struct cursor *c, const uint8_t *buf, size_t len)
{
	c->buf = buf;
	c->len = len;
	c->pos = 0;
}

static inline size_t cursor_left(const struct cursor *c) { return c->len - c->pos; }

static inline bool cursor_u8(struct cursor *c, uint8_t *out)
{
	if (cursor_left(c) < 1)
		return false;
	*out = c->buf[c->pos++];
	return true;
}

/* Points *out at the next n bytes and steps over them. */
static inline bool cursor_take(struct cursor *c, size_t n, const uint8_t **out)
{
	if (cursor_left(c) < n)
		return false;
	*out = c->buf + c->pos;
	c->pos += n;
	return true;
}

enum uvarint_result {
	UVARINT_OK,
	UVARINT_TRUNCATED, /* input ended with the continuation bit set */
	UVARINT_OVERFLOW,  /* more than 64 bits */
};

/* Go's binary.Uvarint: 7 bits per byte, least significant group first. */
enum uvarint_result cursor_uvarint(struct cursor *c, uint64_t *out);

/* Appends the uvarint encoding of v to out (at most 10 bytes); returns the
 * number of bytes written. */
size_t uvarint_put(uint8_t out[static 10], uint64_t v);
size_t uvarint_len(uint64_t v);

#endif
