/* libFuzzer target: the kernel WireGuard dump parser (wg_genl.c), fed
 * arbitrary netlink replies for family 0x1d (the id the seeds in
 * corpus/genl, made by genl_seeds.py, use). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sys/wg_genl.h"
#include "sys/wgdev.h"

#define FUZZ_FAMILY 0x1d

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Netlink buffers are 4-byte aligned when they come from recv(). */
	uint32_t *buf = malloc(size / 4 * 4 + 4);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct wg_device *d = NULL;
	int r = wg_genl_parse_dump(buf, size, FUZZ_FAMILY, &d);
	if (r == 0) {
		if (!d)
			abort();
		for (size_t i = 0; i < d->n_peers; i++) {
			const struct wg_peer *p = &d->peers[i];
			if (wg_device_find_peer(d, p->public_key) != p)
				abort(); /* repeats must be merged or refused */
			if (p->last_handshake.tv_nsec < 0 || p->last_handshake.tv_nsec > 999999999)
				abort();
			if (p->has_endpoint && wl_addr_len(&p->endpoint.addr) == 0)
				abort();
			for (size_t j = 0; j < p->n_allowed; j++)
				if (p->allowed_ips[j].prefix > wl_addr_len(&p->allowed_ips[j].addr) * 8)
					abort();
		}
	} else if (d || r > 0) {
		abort(); /* out-pointer NULL on failure, errors negative */
	}
	wg_device_free(d);
	free(buf);
	return 0;
}
