/* PCP MAP requests and responses (see pcp.h; RFC 6887 §7, §11). */
#include "sys/pcp.h"

#include <string.h>

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

/* §5: addresses are always 128 bits, IPv4 ones as ::ffff:a.b.c.d. */
static bool put_addr(uint8_t out[static 16], const struct wl_addr *a)
{
	memset(out, 0, 16);
	if (a->family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, a->bytes, 4);
		return true;
	}
	if (a->family == AF_INET6) {
		memcpy(out, a->bytes, 16);
		return true;
	}
	return false;
}

static void get_addr(const uint8_t in[static 16], struct wl_addr *a)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	if (memcmp(in, mapped, sizeof(mapped)) == 0)
		wl_addr_from_v4(a, in + 12);
	else
		wl_addr_from_v6(a, in);
}

const char *pcp_result_name(unsigned code)
{
	static const char *const names[] = {
		"SUCCESS",	 "UNSUPP_VERSION",  "NOT_AUTHORIZED",	       "MALFORMED_REQUEST",
		"UNSUPP_OPCODE", "UNSUPP_OPTION",   "MALFORMED_OPTION",	       "NETWORK_FAILURE",
		"NO_RESOURCES",	 "UNSUPP_PROTOCOL", "USER_EX_QUOTA",	       "CANNOT_PROVIDE_EXTERNAL",
		"ADDRESS_MISMATCH", "EXCESSIVE_REMOTE_PEERS",
	};
	return code < sizeof(names) / sizeof(names[0]) ? names[code] : "unknown result";
}

const char *pcp_status_str(enum pcp_status s)
{
	switch (s) {
	case PCP_OK: return "ok";
	case PCP_E_NATPMP: return "a NAT-PMP answer (version 0)";
	case PCP_E_SHORT: return "too short";
	case PCP_E_LONG: return "longer than 1100 bytes";
	case PCP_E_ALIGN: return "length not a multiple of 4";
	case PCP_E_VERSION: return "unknown version";
	case PCP_E_REQUEST: return "a request, not a response";
	case PCP_E_OPCODE: return "not a MAP response";
	case PCP_E_NONCE: return "nonce differs from the request's";
	case PCP_E_MISMATCH: return "protocol or internal port differs from the request's";
	case PCP_E_ADDRESS: return "no usable external port or address";
	case PCP_E_OPTION: return "an option runs past the end";
	}
	return "?";
}

size_t pcp_build_map(uint8_t *buf, size_t cap, const struct wl_addr *client,
		     const struct pcp_map *m)
{
	if (cap < PCP_MAP_LEN)
		return 0;
	uint8_t b[PCP_MAP_LEN] = { 0 };
	b[0] = PCP_VERSION;
	b[1] = PCP_OPCODE_MAP; /* R = 0: a request */
	put32(b + 4, m->lifetime);
	if (!put_addr(b + 8, client))
		return 0;
	memcpy(b + 24, m->nonce, PCP_NONCE_LEN);
	b[36] = m->protocol;
	put16(b + 40, m->internal_port);
	put16(b + 42, m->external_port);
	if (m->external.family) {
		if (!put_addr(b + 44, &m->external))
			return 0;
	} else if (client->family == AF_INET) {
		b[54] = b[55] = 0xff; /* ::ffff:0.0.0.0, any IPv4 address */
	}
	memcpy(buf, b, sizeof(b));
	return sizeof(b);
}

/* §7.3: options follow the opcode data; we use none of them, but each
 * must fit. */
static bool options_fit(const uint8_t *buf, size_t len, size_t at)
{
	while (at < len) {
		if (len - at < 4)
			return false;
		size_t olen = get16(buf + at + 2);
		size_t padded = (olen + 3) & ~(size_t)3;
		if (padded > len - at - 4)
			return false;
		at += 4 + padded;
	}
	return true;
}

enum pcp_status pcp_parse_map_response(const uint8_t *buf, size_t len, const struct pcp_map *req,
				       struct pcp_response *out)
{
	memset(out, 0, sizeof(*out));
	/* A NAT-PMP server answers with its own, shorter format (RFC 6886
	 * §3.5: version 0, result "unsupported version"). */
	if (len >= 1 && buf[0] == 0)
		return PCP_E_NATPMP;
	if (len < PCP_HEADER_LEN)
		return PCP_E_SHORT;
	if (len > PCP_MAX_LEN)
		return PCP_E_LONG;
	if (len % 4)
		return PCP_E_ALIGN;
	if (buf[0] != PCP_VERSION)
		return PCP_E_VERSION;
	if (!(buf[1] & 0x80))
		return PCP_E_REQUEST;
	if ((buf[1] & 0x7f) != PCP_OPCODE_MAP)
		return PCP_E_OPCODE;
	struct pcp_response r = {
		.result = buf[3],
		.lifetime = get32(buf + 4),
		.epoch = get32(buf + 8),
	};
	if (len >= PCP_MAP_LEN) {
		/* §8.3: an answer is ours only if it echoes the nonce, protocol
		 * and internal port of our request. */
		if (memcmp(buf + 24, req->nonce, PCP_NONCE_LEN) != 0)
			return PCP_E_NONCE;
		if (buf[36] != req->protocol || get16(buf + 40) != req->internal_port)
			return PCP_E_MISMATCH;
		r.has_map = true;
		memcpy(r.map.nonce, buf + 24, PCP_NONCE_LEN);
		r.map.protocol = buf[36];
		r.map.internal_port = get16(buf + 40);
		r.map.external_port = get16(buf + 42);
		get_addr(buf + 44, &r.map.external);
		r.map.lifetime = r.lifetime;
		if (!options_fit(buf, len, PCP_MAP_LEN))
			return PCP_E_OPTION;
	} else if (r.result == PCP_SUCCESS) {
		/* An error may come without the opcode data (a request the
		 * server could not parse); a success may not. */
		return PCP_E_SHORT;
	}
	if (r.result == PCP_SUCCESS && r.lifetime > 0 &&
	    (r.map.external_port == 0 || !wl_addr_is_global_unicast(&r.map.external)))
		return PCP_E_ADDRESS;
	*out = r;
	return PCP_OK;
}
