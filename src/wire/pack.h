/* Packing facts into SignedGroup datagrams (SPEC §3): facts go into the
 * current group while its inner length stays ≤ GROUP_INNER_MAX (1136), so
 * no datagram exceeds 1212 bytes and no fact is split across two. */
#ifndef WL_WIRE_PACK_H
#define WL_WIRE_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/fact.h"
#include "wire/packet.h"

struct packer {
	uint8_t inner[GROUP_INNER_MAX];
	size_t len;
	size_t count; /* facts in the current group */
};

void packer_reset(struct packer *p);
/* True if f fits in the current group. */
bool packer_fits(const struct packer *p, const struct fact *f);
/* Appends f; false if it does not fit (the caller flushes and retries). */
bool packer_add(struct packer *p, const struct fact *f);

#endif
