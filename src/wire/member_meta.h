/* Member metadata (the value of a MemberMetadata fact, SPEC §3): a list of
 * {key byte, uvarint length, bytes} entries. Known keys: 'n' display name
 * (UTF-8), 'b' basic flag (one byte, 0 or 1). Unknown keys are kept.
 *
 * A decoded member_meta points into the buffer it was decoded from; it owns
 * nothing and is only valid while that buffer is. */
#ifndef WL_WIRE_MEMBER_META_H
#define WL_WIRE_MEMBER_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/encoding.h"

#define META_KEY_NAME 'n'
#define META_KEY_BASIC 'b'
/* Every key is distinct, so there can be at most one entry per byte value. */
#define META_MAX_ENTRIES 256
/* What senders keep a name within, and receivers must accept. */
#define META_NAME_SEND_MAX 16

struct meta_entry {
	uint8_t key;
	uint16_t len;
	const uint8_t *data;
};

struct member_meta {
	uint16_t n;
	struct meta_entry e[META_MAX_ENTRIES];
};

/* Decodes the entry bytes (without the outer length prefix). Returns false
 * with a reason for: a length running past the end, a duplicate key, a basic
 * flag that is not exactly one byte of 0 or 1, a name that is not UTF-8. */
bool member_meta_decode(const uint8_t *buf, size_t len, struct member_meta *out,
			const char **why);

/* Canonical encoding: 'n' first, then the other keys in byte order, so equal
 * metadata encodes to equal bytes. Returns the length, or 0 if it would not
 * fit in cap (an empty metadata also encodes to 0 bytes: check m->n). */
size_t member_meta_encode(const struct member_meta *m, uint8_t *out, size_t cap);

/* Finds an entry; NULL if absent. */
const struct meta_entry *member_meta_get(const struct member_meta *m, uint8_t key);
/* Sets (adds or replaces) an entry; the data is referenced, not copied.
 * False if the table is full. */
bool member_meta_set(struct member_meta *m, uint8_t key, const uint8_t *data, uint16_t len);

/* -1 if absent, else 0 or 1. */
int member_meta_basic(const struct member_meta *m);

/* The sender-side name domain: 1..16 bytes, printable, no spaces. */
bool member_name_sendable(const char *name);

#endif
