/* The automatic IPv6 link-local address of a peer (SPEC §1):
 * fe80:: followed by the first 8 bytes of SHA-1(public key). */
#ifndef WL_WIRE_AUTOADDR_H
#define WL_WIRE_AUTOADDR_H

#include <stdint.h>

#include "common/encoding.h"
#include "common/netaddr.h"

void autoaddr_of(const uint8_t key[static WL_KEY_LEN], struct wl_addr *out);

#endif
