/* The one growable-array helper: arrays that are appended to keep their
 * capacity beside their count and grow through wl_grow(). */
#ifndef WL_COMMON_GROW_H
#define WL_COMMON_GROW_H

#include <stdbool.h>
#include <stddef.h>

/* Makes *arr (elements of `size` bytes, *cap of them allocated) hold at
 * least `need` elements. The capacity doubles, starting at 16, so n
 * appends cost O(n) in all. False on overflow or when out of memory; *arr
 * and *cap are then unchanged (the array is still valid). */
bool wl_grow(void **arr, size_t *cap, size_t need, size_t size);

/* The size a power-of-two hash table of `cap` slots with `used` of them
 * taken shrinks to (no smaller than `min`): halved while under an eighth
 * full, so it ends at most a quarter full. Tables grown at a half or
 * more then never rebuild back and forth around one count. `cap` itself
 * when it is not that empty. */
size_t wl_shrunk_cap(size_t cap, size_t used, size_t min);

/* Gives back what a burst grew *arr to: its capacity becomes
 * wl_shrunk_cap(*cap, used, min), the first `used` elements kept. Nothing
 * changes when the array is not that empty, or when realloc fails (the
 * array is still valid). */
void wl_shrink(void **arr, size_t *cap, size_t used, size_t size, size_t min);

#endif
