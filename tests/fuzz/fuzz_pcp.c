/* libFuzzer target: PCP MAP response parsing (src/sys/pcp.c). The first
 * 16 bytes of the input make the request the answer is checked against
 * (nonce, protocol, internal port); the rest is the datagram. A parsed
 * answer must be self-consistent, and a built request must parse back
 * into nothing but a refusal (its R bit is clear). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sys/pcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 16)
		return 0;
	struct pcp_map req = { .protocol = data[12],
			       .internal_port = (uint16_t)(data[13] << 8 | data[14]),
			       .lifetime = data[15] };
	memcpy(req.nonce, data, PCP_NONCE_LEN);
	data += 16;
	size -= 16;
	/* an exact-size heap copy, so reading past the end is caught */
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct pcp_response r;
	enum pcp_status s = pcp_parse_map_response(buf, size, &req, &r);
	if (s == PCP_OK) {
		if (size < PCP_HEADER_LEN || size > PCP_MAX_LEN || size % 4)
			abort();
		if (r.has_map && (memcmp(r.map.nonce, req.nonce, PCP_NONCE_LEN) != 0 ||
				  r.map.protocol != req.protocol ||
				  r.map.internal_port != req.internal_port))
			abort();
		if (r.result == PCP_SUCCESS && (!r.has_map ||
						(r.lifetime && (r.map.external_port == 0 ||
								!wl_addr_is_global_unicast(&r.map.external)))))
			abort();
	} else if (r.has_map || r.lifetime || r.result) {
		abort(); /* zeroed on failure */
	}
	if (!pcp_result_name(r.result) || !pcp_status_str(s))
		abort();
	/* our own request never passes for an answer */
	uint8_t out[PCP_MAP_LEN];
	struct wl_addr client;
	wl_addr_from_v4(&client, data - 4);
	if (pcp_build_map(out, sizeof(out), &client, &req) != PCP_MAP_LEN ||
	    pcp_parse_map_response(out, sizeof(out), &req, &r) != PCP_E_REQUEST)
		abort();
	free(buf);
	return 0;
}
