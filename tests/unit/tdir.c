/* tdir.h: the config tests' temporary directories. */
#include "tdir.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

void tdir_make(struct tdir *d, const char *prefix)
{
	snprintf(d->path, sizeof(d->path), "/tmp/%s.XXXXXX", prefix);
	if (!mkdtemp(d->path)) {
		perror("mkdtemp");
		exit(2);
	}
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

void tdir_remove(struct tdir *d)
{
	nftw(d->path, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

void tdir_put_bytes(const struct tdir *d, const char *name, const char *content, size_t len)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", d->path, name);
	FILE *f = fopen(p, "w");
	if (!f || fwrite(content, 1, len, f) != len) {
		perror(p);
		exit(2);
	}
	fclose(f);
}

void tdir_put(const struct tdir *d, const char *name, const char *content)
{
	size_t len = 0;
	while (content[len])
		len++;
	tdir_put_bytes(d, name, content, len);
}

void tdir_expand(char *out, size_t cap, const char *pattern, const char *file)
{
	size_t o = 0;
	for (const char *p = pattern; *p && o + 1 < cap; p++) {
		if (*p == '@') {
			int w = snprintf(out + o, cap - o, "%s", file);
			o += w > 0 ? (size_t)w : 0;
			if (o >= cap)
				o = cap - 1;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
}
