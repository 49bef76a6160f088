#include "common/grow.h"

#include <stdint.h>
#include <stdlib.h>

bool wl_grow(void **arr, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return true;
	size_t nc = *cap ? *cap : 16;
	while (nc < need) {
		if (nc > SIZE_MAX / 2)
			return false;
		nc *= 2;
	}
	if (size && nc > SIZE_MAX / size)
		return false;
	void *nv = realloc(*arr, nc * size);
	if (!nv)
		return false;
	*arr = nv;
	*cap = nc;
	return true;
}

size_t wl_shrunk_cap(size_t cap, size_t used, size_t min)
{
	while (cap > min && 8 * used < cap)
		cap /= 2;
	return cap;
}

void wl_shrink(void **arr, size_t *cap, size_t used, size_t size, size_t min)
{
	size_t nc = wl_shrunk_cap(*cap, used, min);
	if (nc == *cap)
		return;
	void *nv = realloc(*arr, nc * size);
	if (!nv)
		return;
	*arr = nv;
	*cap = nc;
}
