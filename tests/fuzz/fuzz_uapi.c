/* libFuzzer target: the UAPI reply parsers (what a userspace WireGuard
 * daemon, or anything squatting on its socket, can make us read). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "sys/uapi_text.h"
#include "sys/wgdev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct wg_device *d = NULL;
	int r = uapi_parse_get(text, size, "fuzz0", &d);
	if (r == 0) {
		/* Invariants of a successful parse. */
		if (!d)
			abort();
		for (size_t i = 0; i < d->n_peers; i++) {
			const struct wg_peer *p = &d->peers[i];
			if (wg_device_find_peer(d, p->public_key) != p)
				abort(); /* duplicates must have been refused */
			if (p->last_handshake.tv_nsec < 0 || p->last_handshake.tv_nsec > 999999999)
				abort();
			for (size_t j = 0; j < p->n_allowed; j++)
				if (p->allowed_ips[j].prefix > wl_addr_len(&p->allowed_ips[j].addr) * 8)
					abort();
		}
	} else if (d) {
		abort(); /* out-pointer must be NULL on failure */
	}
	wg_device_free(d);
	(void)uapi_parse_set_reply(text, size);
	return 0;
}
