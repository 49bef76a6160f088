/* The Port Control Protocol's wire format (RFC 6887), as far as a client
 * asking for one mapping needs it: the MAP request (§7.1 header + §11.1
 * opcode data) and the parse of its response (§7.2, §11.1). No I/O: the
 * port mapper (portmap.c) sends and receives.
 *
 *   request   0  version=2 | R=0,opcode=1 | reserved(16) | requested lifetime(32)
 *             8  client IP address (128, IPv4 as ::ffff:a.b.c.d)
 *            24  nonce(96) | protocol(8) | reserved(24) | internal port(16) |
 *                suggested external port(16) | suggested external address(128)
 *   response  0  version=2 | R=1,opcode=1 | reserved(8) | result code(8) |
 *                lifetime(32) | epoch time(32) | reserved(96)
 *            24  the MAP data as above, with the assigned port and address
 *            60  options: code(8) reserved(8) length(16) data, padded to 4
 *
 * The parser trusts nothing: every length is checked before a read, and an
 * answer that does not fit is reported with a status, never a crash. */
#ifndef WL_SYS_PCP_H
#define WL_SYS_PCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/netaddr.h"

#define PCP_SERVER_PORT 5351
#define PCP_VERSION 2
#define PCP_OPCODE_MAP 1
#define PCP_HEADER_LEN 24
#define PCP_MAP_LEN 60 /* header + MAP opcode data: a whole MAP request */
#define PCP_MAX_LEN 1100 /* §7: no PCP message is longer */
#define PCP_NONCE_LEN 12

/* §7.4 result codes. */
enum pcp_result {
	PCP_SUCCESS = 0,
	PCP_UNSUPP_VERSION = 1,
	PCP_NOT_AUTHORIZED = 2,
	PCP_MALFORMED_REQUEST = 3,
	PCP_UNSUPP_OPCODE = 4,
	PCP_UNSUPP_OPTION = 5,
	PCP_MALFORMED_OPTION = 6,
	PCP_NETWORK_FAILURE = 7,
	PCP_NO_RESOURCES = 8,
	PCP_UNSUPP_PROTOCOL = 9,
	PCP_USER_EX_QUOTA = 10,
	PCP_CANNOT_PROVIDE_EXTERNAL = 11,
	PCP_ADDRESS_MISMATCH = 12,
	PCP_EXCESSIVE_REMOTE_PEERS = 13,
};

/* The RFC's name of a result code ("NOT_AUTHORIZED"); "unknown result"
 * for codes it does not define. */
const char *pcp_result_name(unsigned code);

/* One mapping as a MAP request asks for it or a response grants it. */
struct pcp_map {
	uint8_t nonce[PCP_NONCE_LEN];
	uint8_t protocol;        /* IPPROTO_UDP */
	uint16_t internal_port;
	uint16_t external_port;  /* suggested (0: no preference) / assigned */
	struct wl_addr external; /* suggested (family 0: any IPv4) / assigned */
	uint32_t lifetime;       /* requested / granted seconds; 0 deletes */
};

/* Writes a MAP request for m from client (our own address, as the server
 * sees it) into buf. Returns PCP_MAP_LEN, or 0 when cap is too small or
 * client or a suggested external address is not an IP address. An IPv4
 * client with no suggested address asks for an IPv4 mapping
 * (::ffff:0.0.0.0, §11.1). */
size_t pcp_build_map(uint8_t *buf, size_t cap, const struct wl_addr *client,
		     const struct pcp_map *m);

/* What a response said. */
struct pcp_response {
	uint8_t result;    /* enum pcp_result */
	uint32_t lifetime; /* granted seconds; for an error, how long it holds */
	uint32_t epoch;    /* the server's epoch time (§8.5) */
	bool has_map;      /* the MAP data was there (always on success) */
	struct pcp_map map; /* assigned port and address, lifetime as above */
};

enum pcp_status {
	PCP_OK = 0,
	PCP_E_NATPMP,     /* version 0: a NAT-PMP-only server (RFC 6886) answered */
	PCP_E_SHORT,      /* shorter than its header, or a success without MAP data */
	PCP_E_LONG,       /* longer than 1100 bytes */
	PCP_E_ALIGN,      /* not a multiple of 4 bytes */
	PCP_E_VERSION,    /* a version other than 0 or 2 */
	PCP_E_REQUEST,    /* the R bit is clear: a request, not a response */
	PCP_E_OPCODE,     /* a response to another opcode */
	PCP_E_NONCE,      /* not an answer to our request (nonce differs) */
	PCP_E_MISMATCH,   /* another protocol or internal port than we asked */
	PCP_E_ADDRESS,    /* a granted mapping without a usable port or address */
	PCP_E_OPTION,     /* an option runs past the end */
};
const char *pcp_status_str(enum pcp_status s);

/* Parses an answer to the MAP request req. On PCP_OK *out holds what it
 * said, which may be an error result (out->result != PCP_SUCCESS); on any
 * other status *out is zeroed and the datagram should be dropped (and
 * counted) — except PCP_E_NATPMP, which says the server speaks NAT-PMP
 * only. An assigned IPv4 address comes back as an AF_INET wl_addr. */
enum pcp_status pcp_parse_map_response(const uint8_t *buf, size_t len, const struct pcp_map *req,
				       struct pcp_response *out);

#endif
