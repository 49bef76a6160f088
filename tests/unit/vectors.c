#include "vectors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "harness.h"

json_t *vectors_load(const char *name)
{
	char path[1024];
	json_error_t err;
	snprintf(path, sizeof(path), "%s/%s", harness_vectors_dir(), name);
	json_t *root = json_load_file(path, 0, &err);
	if (!root)
		harness_fail(__FILE__, __LINE__, "cannot load %s: %s (line %d)", path, err.text,
			     err.line);
	return root;
}

uint8_t *vectors_hex(json_t *str, size_t *len)
{
	const char *s = json_string_value(str);
	if (!s)
		return NULL;
	size_t n = strlen(s);
	uint8_t *buf = malloc(n / 2 + 1);
	long got = buf ? hex_decode(s, n, buf, n / 2 + 1) : -1;
	if (got < 0) {
		free(buf);
		return NULL;
	}
	*len = (size_t)got;
	return buf;
}

int vectors_key(json_t *str, uint8_t key[32])
{
	const char *s = json_string_value(str);
	return s && key_from_base64(s, key) ? 0 : -1;
}
