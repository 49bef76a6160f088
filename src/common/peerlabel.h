/* How every log line, event and dump names a peer: its name and short key,
 * "laptop (AbCdEfGh)", or the short key alone, "AbCdEfGh", when it has no
 * name. The short key is the first 8 characters of the base64 key (48
 * bits: enough to tell peers apart by eye, and to find the full key in
 * `wg show`). */
#ifndef WL_COMMON_PEERLABEL_H
#define WL_COMMON_PEERLABEL_H

#include <stdint.h>

#include "common/encoding.h"

#define WL_SHORT_KEY_LEN 8
/* A name of up to 63 bytes, " (", the short key, ")" and NUL fit. */
#define WL_PEER_LABEL_MAX 96

/* name may be NULL or "" (no name). Returns out. */
const char *wl_peer_label(const uint8_t key[static WL_KEY_LEN], const char *name,
			  char out[static WL_PEER_LABEL_MAX]);

#endif
