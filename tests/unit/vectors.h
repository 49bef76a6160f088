/* Loading the JSON files of shared/vectors for tests (jansson). */
#ifndef WL_TEST_VECTORS_H
#define WL_TEST_VECTORS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Parses vectors/<name>; NULL (and a FAIL line) if missing or invalid. */
json_t *vectors_load(const char *name);
/* Decodes a hex string member into a fresh malloc'd buffer. */
uint8_t *vectors_hex(json_t *str, size_t *len);
/* Decodes a base64 key string; returns 0 on success. */
int vectors_key(json_t *str, uint8_t key[32]);

#endif
