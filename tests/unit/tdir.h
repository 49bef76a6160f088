/* A temporary directory for config tests: made under /tmp, filled with
 * files, removed with everything in it. Any failure to set it up ends the
 * test binary (exit 2): a test must not run against a half-made fixture. */
#ifndef WL_TEST_TDIR_H
#define WL_TEST_TDIR_H

#include <stddef.h>

struct tdir {
	char path[64];
};

/* prefix: e.g. "wl-config-test" -> /tmp/wl-config-test.XXXXXX */
void tdir_make(struct tdir *d, const char *prefix);
void tdir_remove(struct tdir *d);
void tdir_put(const struct tdir *d, const char *name, const char *content);
/* Like tdir_put, with content that may hold NUL bytes. */
void tdir_put_bytes(const struct tdir *d, const char *name, const char *content, size_t len);

/* out = pattern with each '@' replaced by file (an expected message names
 * the temporary file it was about). */
void tdir_expand(char *out, size_t cap, const char *pattern, const char *file);

#endif
