/* Facts (SPEC §3): one attribute about one subject key, with a ttl.
 *
 * A struct fact holds its value as the exact wire bytes, so a fact key
 * (attribute, subject, value) compares with memcmp and re-encodes
 * byte-for-byte. The one exception is MemberMetadata, whose value is kept in
 * canonical form (see member_meta.h) so equal metadata is equal bytes; its
 * value excludes the uvarint length prefix that precedes it on the wire. */
#ifndef WL_WIRE_FACT_H
#define WL_WIRE_FACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/encoding.h"
#include "common/netaddr.h"
#include "wire/cursor.h"

enum fact_attr {
	ATTR_ALIVE = '!',
	ATTR_ENDPOINT_V4 = 'e',
	ATTR_ENDPOINT_V6 = 'E',
	ATTR_ALLOWED_V4 = 'a',
	ATTR_ALLOWED_V6 = 'A',
	ATTR_MEMBER = 'm',
	ATTR_MEMBER_META = 'M',
	ATTR_SIGNED_GROUP = 'S',
	/* [ours] A lease between two of our daemons (wire/lease.h): never
	 * sent to a peer that has not shown it reads one. */
	ATTR_LEASE = 'L',
};

#define BOOT_ID_LEN 16
#define WIRE_TTL_MAX 65535u
/* Largest datagram we send, and the largest we must read whole. */
#define WIRE_MAX_DATAGRAM 1212
#define WIRE_MAX_RECV (2 * WIRE_MAX_DATAGRAM)
/* Member metadata bigger than this is refused (names are ≤ 16 bytes). */
#define FACT_VALUE_MAX 255

struct fact {
	uint8_t attr;
	uint16_t ttl; /* seconds */
	uint8_t subject[WL_KEY_LEN];
	uint16_t value_len;
	uint8_t value[FACT_VALUE_MAX];
};

/* "Alive", "EndpointV4", ...; "Unknown" for anything else. */
const char *fact_attr_name(uint8_t attr);

/* Reads one fact at the cursor. SignedGroup is not a fact here (see
 * packet.h), and is refused as "signed groups must not nest". On failure
 * the cursor is left where the error was found and *why says what. */
bool fact_decode(struct cursor *c, struct fact *out, const char **why);

/* Bytes fact_encode() will write. */
size_t fact_encoded_len(const struct fact *f);
/* Writes the wire form; returns its length, or 0 if cap is too small. */
size_t fact_encode(const struct fact *f, uint8_t *out, size_t cap);

/* ttl for a fact expiring at `expires` as seen at `now` (both ms, same
 * clock): whole seconds left, clamped to 0..65535. */
uint16_t fact_ttl_from(int64_t expires_ms, int64_t now_ms);

/* Constructors. Endpoint and CIDR choose V4/V6 from the address family. */
void fact_make_alive(struct fact *f, const uint8_t subject[static WL_KEY_LEN],
		     const uint8_t boot_id[static BOOT_ID_LEN], uint16_t ttl);
bool fact_make_endpoint(struct fact *f, const uint8_t subject[static WL_KEY_LEN],
			const struct wl_endpoint *ep, uint16_t ttl);
bool fact_make_cidr(struct fact *f, const uint8_t subject[static WL_KEY_LEN],
		    const struct wl_cidr *cidr, uint16_t ttl);
/* name may be NULL (no name); basic < 0 means no basic entry. */
bool fact_make_member_meta(struct fact *f, const uint8_t subject[static WL_KEY_LEN],
			   const char *name, int basic, uint16_t ttl);

/* Typed views of the value; false if the fact has another attribute. */
bool fact_endpoint(const struct fact *f, struct wl_endpoint *out);
bool fact_cidr(const struct fact *f, struct wl_cidr *out);

/* A fact's key as bytes: attribute, subject and (but for Alive) value,
 * what fact keys are hashed over. Returns the length. */
#define FACT_KEY_MAX (1 + WL_KEY_LEN + FACT_VALUE_MAX)
size_t fact_key_bytes(const struct fact *f, uint8_t out[static FACT_KEY_MAX]);
/* SipHash-2-4 of the key bytes under a 16-byte key, as a 64-bit number. */
uint64_t fact_key_siphash(const uint8_t key[static 16], const struct fact *f);

/* Same attribute, subject and value (ttl ignored). For Alive facts the
 * value is part of the comparison here; the core decides to ignore it. */
bool fact_same_key(const struct fact *a, const struct fact *b);

/* Human-readable value: "192.0.2.1:51820", "[2001:db8::1]:51820",
 * "10.0.0.0/24", the boot id in hex, "name=leaf basic=0". */
#define FACT_VALUE_STR_MAX 1100
char *fact_value_str(const struct fact *f, char *out, size_t cap);

#endif
