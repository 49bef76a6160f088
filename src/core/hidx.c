#include "core/hidx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int hidx_init(struct hidx *x, size_t min_entries)
{
	size_t cap = 16;
	while (cap < 2 * min_entries)
		cap *= 2;
	x->b = calloc(cap, sizeof(*x->b));
	if (!x->b)
		return -ENOMEM;
	x->mask = cap - 1;
	x->n = 0;
	return 0;
}

void hidx_free(struct hidx *x)
{
	free(x->b);
	x->b = NULL;
	x->mask = 0;
	x->n = 0;
}

long hidx_find(const struct hidx *x, uint64_t h, hidx_eq_fn eq, const void *ctx)
{
	for (size_t i = h & x->mask;; i = (i + 1) & x->mask) {
		const struct hidx_bucket *b = &x->b[i];
		if (!b->pos1)
			return -1;
		if (b->h == h && eq(ctx, b->pos1 - 1))
			return (long)(b->pos1 - 1);
	}
}

static void put(struct hidx_bucket *b, size_t mask, uint64_t h, uint32_t pos1)
{
	size_t i = h & mask;
	while (b[i].pos1)
		i = (i + 1) & mask;
	b[i].h = h;
	b[i].pos1 = pos1;
}

static int rebuild(struct hidx *x, size_t cap)
{
	struct hidx_bucket *nb = calloc(cap, sizeof(*nb));
	if (!nb)
		return -ENOMEM;
	for (size_t i = 0; i <= x->mask; i++)
		if (x->b[i].pos1)
			put(nb, cap - 1, x->b[i].h, x->b[i].pos1);
	free(x->b);
	x->b = nb;
	x->mask = cap - 1;
	return 0;
}

static int grow(struct hidx *x)
{
	return rebuild(x, (x->mask + 1) * 2);
}

int hidx_shrink(struct hidx *x)
{
	size_t cap = x->mask + 1;
	if (4 * x->n >= cap)
		return 0;
	while (cap > 16 && 2 * x->n <= cap / 2)
		cap /= 2;
	return cap < x->mask + 1 ? rebuild(x, cap) : 0;
}

int hidx_insert(struct hidx *x, uint64_t h, uint32_t pos)
{
	if (2 * (x->n + 1) > x->mask + 1) {
		int r = grow(x);
		if (r < 0)
			return r;
	}
	put(x->b, x->mask, h, pos + 1);
	x->n++;
	return 0;
}

static size_t locate(const struct hidx *x, uint64_t h, uint32_t pos)
{
	for (size_t i = h & x->mask;; i = (i + 1) & x->mask) {
		if (!x->b[i].pos1)
			return SIZE_MAX;
		if (x->b[i].pos1 == pos + 1)
			return i;
	}
}

void hidx_remove(struct hidx *x, uint64_t h, uint32_t pos)
{
	size_t i = locate(x, h, pos);
	if (i == SIZE_MAX)
		return;
	/* Backward shift: pull later entries of the probe run into the hole
	 * unless their home slot lies cyclically after the hole. */
	size_t j = i;
	for (;;) {
		x->b[i].pos1 = 0;
		for (;;) {
			j = (j + 1) & x->mask;
			if (!x->b[j].pos1) {
				x->n--;
				return;
			}
			size_t home = x->b[j].h & x->mask;
			bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
			if (!stays)
				break;
		}
		x->b[i] = x->b[j];
		i = j;
	}
}

void hidx_move(struct hidx *x, uint64_t h, uint32_t from, uint32_t to)
{
	size_t i = locate(x, h, from);
	if (i != SIZE_MAX)
		x->b[i].pos1 = to + 1;
}
