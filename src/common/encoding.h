/* Text encodings of binary data: hex and standard base64 (as `wg` prints
 * keys). All functions write into caller-owned buffers and never allocate. */
#ifndef WL_COMMON_ENCODING_H
#define WL_COMMON_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WL_KEY_LEN 32
/* 44 characters of base64 for a 32-byte key, plus the terminator. */
#define WL_KEY_B64_LEN 45

/* Lowercase hex of len bytes into out (2*len+1 bytes). Returns out. */
char *hex_encode(const uint8_t *in, size_t len, char *out);
/* Decode hex (either case, even length, no separators). Returns the number
 * of bytes written, or -1 on a bad character, odd length or overflow. */
long hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap);

/* A WireGuard key as base64 (44 chars + NUL). Returns out. */
char *key_to_base64(const uint8_t key[static WL_KEY_LEN], char out[static WL_KEY_B64_LEN]);
/* Parse a base64 key, ignoring surrounding whitespace. False unless it is
 * exactly 32 bytes of standard padded base64. */
bool key_from_base64(const char *in, uint8_t key[static WL_KEY_LEN]);

/* Strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF. */
bool utf8_valid(const uint8_t *s, size_t len);

#endif
