/* PCP MAP requests and responses (src/sys/pcp.c) against the layout of
 * RFC 6887 §7 and §11.1, on hand-built byte vectors: every field of a
 * request, a success, error answers with and without the opcode data,
 * options, and every reason an answer is refused. */
#include "harness.h"

#include <netinet/in.h>

#include "sys/pcp.h"

/* A MAP request from 10.1.0.2 for UDP port 51820 (0xca6c), suggesting the
 * same external port and no address (::ffff:0.0.0.0), lifetime 7200. */
static const uint8_t request_vec[PCP_MAP_LEN] = {
	0x02, 0x01, 0x00, 0x00,	/* version 2, R=0 opcode MAP, reserved */
	0x00, 0x00, 0x1c, 0x20, /* requested lifetime 7200 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 0, 2, /* client ::ffff:10.1.0.2 */
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, /* nonce */
	0x11, 0x00, 0x00, 0x00, /* protocol UDP, reserved */
	0xca, 0x6c, 0xca, 0x6c, /* internal port, suggested external port */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0, /* suggested: any IPv4 */
};

/* Its answer: success, lifetime 7200, epoch 3936, 203.0.113.2:40000. */
static const uint8_t success_vec[PCP_MAP_LEN] = {
	0x02, 0x81, 0x00, 0x00, /* version 2, R=1 opcode MAP, reserved, result 0 */
	0x00, 0x00, 0x1c, 0x20, /* lifetime */
	0x00, 0x00, 0x0f, 0x60, /* epoch time */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* reserved */
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
	0x11, 0x00, 0x00, 0x00,
	0xca, 0x6c, 0x9c, 0x40, /* internal port, assigned external port 40000 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 2,
};

static struct pcp_map the_request(void)
{
	struct pcp_map m = { .protocol = IPPROTO_UDP, .internal_port = 51820,
			     .external_port = 51820, .lifetime = 7200 };
	for (int i = 0; i < PCP_NONCE_LEN; i++)
		m.nonce[i] = (uint8_t)i;
	return m;
}

static struct wl_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct wl_addr x;
	wl_addr_from_v4(&x, (const uint8_t[4]){ a, b, c, d });
	return x;
}

TEST(builds_map_request)
{
	struct pcp_map m = the_request();
	struct wl_addr client = v4(10, 1, 0, 2);
	uint8_t buf[80];
	memset(buf, 0xee, sizeof(buf));
	CHECK_EQ(pcp_build_map(buf, sizeof(buf), &client, &m), PCP_MAP_LEN);
	CHECK(memcmp(buf, request_vec, PCP_MAP_LEN) == 0);
	CHECK_EQ(buf[PCP_MAP_LEN], 0xee); /* nothing written past it */
	/* a suggested external address, and a deletion (lifetime 0) */
	m.external = v4(203, 0, 113, 2);
	m.lifetime = 0;
	CHECK_EQ(pcp_build_map(buf, sizeof(buf), &client, &m), PCP_MAP_LEN);
	static const uint8_t sugg[16] = { [10] = 0xff, [11] = 0xff, 203, 0, 113, 2 };
	CHECK(memcmp(buf + 44, sugg, 16) == 0);
	CHECK(buf[4] == 0 && buf[5] == 0 && buf[6] == 0 && buf[7] == 0);
	/* an IPv6 client: its address as is, no IPv4 marker in the suggestion */
	struct wl_addr c6;
	CHECK(wl_addr_parse("2001:db8::5", &c6));
	m.external.family = 0;
	CHECK_EQ(pcp_build_map(buf, sizeof(buf), &c6, &m), PCP_MAP_LEN);
	CHECK(memcmp(buf + 8, c6.bytes, 16) == 0);
	static const uint8_t zero[16];
	CHECK(memcmp(buf + 44, zero, 16) == 0);
}

TEST(refuses_to_build_bad_requests)
{
	struct pcp_map m = the_request();
	struct wl_addr client = v4(10, 1, 0, 2), none = { 0 };
	uint8_t buf[PCP_MAP_LEN];
	CHECK_EQ(pcp_build_map(buf, PCP_MAP_LEN - 1, &client, &m), 0);
	CHECK_EQ(pcp_build_map(buf, sizeof(buf), &none, &m), 0);
	m.external.family = 99;
	CHECK_EQ(pcp_build_map(buf, sizeof(buf), &client, &m), 0);
}

TEST(parses_success)
{
	struct pcp_map req = the_request();
	struct pcp_response r;
	char s[WL_ADDR_STR_MAX];
	CHECK_EQ(pcp_parse_map_response(success_vec, sizeof(success_vec), &req, &r), PCP_OK);
	CHECK_EQ(r.result, PCP_SUCCESS);
	CHECK_EQ(r.lifetime, 7200);
	CHECK_EQ(r.epoch, 3936);
	CHECK(r.has_map);
	CHECK_EQ(r.map.protocol, IPPROTO_UDP);
	CHECK_EQ(r.map.internal_port, 51820);
	CHECK_EQ(r.map.external_port, 40000);
	CHECK_EQ(r.map.external.family, AF_INET);
	CHECK_STR(wl_addr_str(&r.map.external, s), "203.0.113.2");
	CHECK_EQ(r.map.lifetime, 7200);
	/* an IPv6 external address */
	uint8_t b[PCP_MAP_LEN];
	memcpy(b, success_vec, sizeof(b));
	static const uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 7 };
	memcpy(b + 44, a6, 16);
	CHECK_EQ(pcp_parse_map_response(b, sizeof(b), &req, &r), PCP_OK);
	CHECK_STR(wl_addr_str(&r.map.external, s), "2001:db8::7");
}

TEST(parses_errors)
{
	struct pcp_map req = the_request();
	struct pcp_response r;
	uint8_t b[PCP_MAP_LEN];
	memcpy(b, success_vec, sizeof(b));
	/* an error with the opcode data copied back; lifetime = how long */
	b[3] = PCP_NOT_AUTHORIZED;
	b[4] = 0, b[5] = 0, b[6] = 0x02, b[7] = 0x58; /* 600 s */
	CHECK_EQ(pcp_parse_map_response(b, sizeof(b), &req, &r), PCP_OK);
	CHECK_EQ(r.result, PCP_NOT_AUTHORIZED);
	CHECK_EQ(r.lifetime, 600);
	CHECK(r.has_map);
	/* an error without it (the server could not parse the request) */
	b[3] = PCP_MALFORMED_REQUEST;
	CHECK_EQ(pcp_parse_map_response(b, PCP_HEADER_LEN, &req, &r), PCP_OK);
	CHECK_EQ(r.result, PCP_MALFORMED_REQUEST);
	CHECK(!r.has_map);
	/* an error's address and port are not checked */
	b[3] = PCP_NO_RESOURCES;
	memset(b + 42, 0, 18);
	CHECK_EQ(pcp_parse_map_response(b, sizeof(b), &req, &r), PCP_OK);
	CHECK_EQ(r.result, PCP_NO_RESOURCES);
	/* the answer to a deletion: success, lifetime 0, no port */
	memcpy(b, success_vec, sizeof(b));
	memset(b + 4, 0, 4);
	memset(b + 42, 0, 18);
	CHECK_EQ(pcp_parse_map_response(b, sizeof(b), &req, &r), PCP_OK);
	CHECK_EQ(r.lifetime, 0);
}

TEST(parses_options)
{
	struct pcp_map req = the_request();
	struct pcp_response r;
	uint8_t b[PCP_MAP_LEN + 28];
	memcpy(b, success_vec, PCP_MAP_LEN);
	/* PREFER_FAILURE (code 2, no data) then FILTER (code 3, 20 bytes) */
	static const uint8_t opts[] = { 2, 0, 0, 0, 3, 0, 0, 20, [8 + 19] = 0 };
	memcpy(b + PCP_MAP_LEN, opts, sizeof(opts));
	CHECK_EQ(pcp_parse_map_response(b, PCP_MAP_LEN + 28, &req, &r), PCP_OK);
	/* the same cut 4 bytes short */
	CHECK_EQ(pcp_parse_map_response(b, PCP_MAP_LEN + 24, &req, &r), PCP_E_OPTION);
	/* an odd length is padded to 4: 1 byte of data takes 4 */
	static const uint8_t odd[] = { 0x80, 0, 0, 1, 0xaa, 0, 0, 0 };
	memcpy(b + PCP_MAP_LEN, odd, sizeof(odd));
	CHECK_EQ(pcp_parse_map_response(b, PCP_MAP_LEN + 8, &req, &r), PCP_OK);
	/* a length running past the end */
	b[PCP_MAP_LEN + 3] = 5; /* 8 with padding: 4 + 8 > 8 bytes left */
	CHECK_EQ(pcp_parse_map_response(b, PCP_MAP_LEN + 8, &req, &r), PCP_E_OPTION);
	b[PCP_MAP_LEN + 2] = 0xff; /* a huge one */
	CHECK_EQ(pcp_parse_map_response(b, PCP_MAP_LEN + 8, &req, &r), PCP_E_OPTION);
	/* a lone option header, no room for its data */
	static const uint8_t hdr[] = { 1, 0, 0, 16 };
	memcpy(b + PCP_MAP_LEN, hdr, sizeof(hdr));
	CHECK_EQ(pcp_parse_map_response(b, PCP_MAP_LEN + 4, &req, &r), PCP_E_OPTION);
}

TEST(refuses_bad_answers)
{
	struct pcp_map req = the_request();
	struct pcp_response r;
	uint8_t b[PCP_MAX_LEN + 8];
	memset(b, 0, sizeof(b));
	memcpy(b, success_vec, PCP_MAP_LEN);
	static const struct {
		size_t at;
		uint8_t value;
		enum pcp_status want;
	} flips[] = {
		{ 0, 1, PCP_E_VERSION },   { 0, 3, PCP_E_VERSION },  { 1, 0x01, PCP_E_REQUEST },
		{ 1, 0x82, PCP_E_OPCODE }, { 1, 0x80, PCP_E_OPCODE }, { 24, 0xff, PCP_E_NONCE },
		{ 35, 0xff, PCP_E_NONCE }, { 36, 6, PCP_E_MISMATCH }, { 41, 0x6d, PCP_E_MISMATCH },
		{ 40, 0, PCP_E_MISMATCH },
	};
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		uint8_t c[PCP_MAP_LEN];
		memcpy(c, success_vec, sizeof(c));
		c[flips[i].at] = flips[i].value;
		enum pcp_status s = pcp_parse_map_response(c, sizeof(c), &req, &r);
		CHECK_MSG(s == flips[i].want, "byte %zu = %u: %s, want %s", flips[i].at,
			  flips[i].value, pcp_status_str(s), pcp_status_str(flips[i].want));
		CHECK(r.lifetime == 0 && !r.has_map); /* zeroed on failure */
	}
	/* lengths */
	CHECK_EQ(pcp_parse_map_response(b, 0, &req, &r), PCP_E_SHORT);
	CHECK_EQ(pcp_parse_map_response(b, PCP_HEADER_LEN - 1, &req, &r), PCP_E_SHORT);
	CHECK_EQ(pcp_parse_map_response(b, PCP_MAX_LEN + 4, &req, &r), PCP_E_LONG);
	CHECK_EQ(pcp_parse_map_response(b, PCP_MAP_LEN + 2, &req, &r), PCP_E_ALIGN);
	CHECK_EQ(pcp_parse_map_response(b, PCP_MAX_LEN, &req, &r), PCP_OK); /* zeros: options 0 */
	/* a success must carry the MAP data */
	CHECK_EQ(pcp_parse_map_response(b, PCP_HEADER_LEN, &req, &r), PCP_E_SHORT);
	CHECK_EQ(pcp_parse_map_response(b, PCP_MAP_LEN - 4, &req, &r), PCP_E_SHORT);
	/* a NAT-PMP server's "unsupported version" (RFC 6886 §3.5) */
	static const uint8_t natpmp[8] = { 0, 0x81, 0, 1, 0, 0, 0x0f, 0x60 };
	CHECK_EQ(pcp_parse_map_response(natpmp, sizeof(natpmp), &req, &r), PCP_E_NATPMP);
	CHECK_EQ(pcp_parse_map_response(natpmp, 1, &req, &r), PCP_E_NATPMP);
	/* a granted mapping must name a port and a usable address */
	uint8_t c[PCP_MAP_LEN];
	memcpy(c, success_vec, sizeof(c));
	c[42] = c[43] = 0;
	CHECK_EQ(pcp_parse_map_response(c, sizeof(c), &req, &r), PCP_E_ADDRESS);
	memcpy(c, success_vec, sizeof(c));
	memset(c + 56, 0, 4); /* ::ffff:0.0.0.0 */
	CHECK_EQ(pcp_parse_map_response(c, sizeof(c), &req, &r), PCP_E_ADDRESS);
	c[56] = 127, c[59] = 1; /* loopback */
	CHECK_EQ(pcp_parse_map_response(c, sizeof(c), &req, &r), PCP_E_ADDRESS);
	c[56] = 224; /* multicast */
	CHECK_EQ(pcp_parse_map_response(c, sizeof(c), &req, &r), PCP_E_ADDRESS);
	memset(c + 44, 0, 16); /* :: */
	CHECK_EQ(pcp_parse_map_response(c, sizeof(c), &req, &r), PCP_E_ADDRESS);
}

TEST(names)
{
	CHECK_STR(pcp_result_name(PCP_SUCCESS), "SUCCESS");
	CHECK_STR(pcp_result_name(PCP_NOT_AUTHORIZED), "NOT_AUTHORIZED");
	CHECK_STR(pcp_result_name(PCP_CANNOT_PROVIDE_EXTERNAL), "CANNOT_PROVIDE_EXTERNAL");
	CHECK_STR(pcp_result_name(PCP_EXCESSIVE_REMOTE_PEERS), "EXCESSIVE_REMOTE_PEERS");
	CHECK_STR(pcp_result_name(14), "unknown result");
	CHECK_STR(pcp_result_name(255), "unknown result");
	for (int s = PCP_OK; s <= PCP_E_OPTION; s++)
		CHECK(strcmp(pcp_status_str((enum pcp_status)s), "?") != 0);
}
