/* Datagrams (SPEC §3): exactly one SignedGroup at top level,
 *   'S' | ttl (uvarint, ignored) | signer key (32) | nonce (24) | tag (16) | inner facts
 * authenticated with XChaCha20-Poly1305 (IETF) over an empty plaintext,
 * the inner fact bytes as associated data, and the X25519 shared secret of
 * the two peers as key.
 *
 * Receiving is two steps, so nothing is parsed before it is authenticated:
 * packet_parse() checks the frame and points into the datagram, then the
 * caller verifies the tag (packet_verify) and walks the inner facts with
 * packet_next_fact(). */
#ifndef WL_WIRE_PACKET_H
#define WL_WIRE_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/cursor.h"
#include "wire/fact.h"

#define GROUP_NONCE_LEN 24
#define GROUP_TAG_LEN 16
/* 'S' + the longest ttl we write (3 bytes) + signer + nonce + tag. */
#define GROUP_HEADER_MAX (1 + 3 + WL_KEY_LEN + GROUP_NONCE_LEN + GROUP_TAG_LEN)
/* Inner bytes that keep a datagram within WIRE_MAX_DATAGRAM (1136). */
#define GROUP_INNER_MAX (WIRE_MAX_DATAGRAM - GROUP_HEADER_MAX)

struct packet {
	uint8_t signer[WL_KEY_LEN];
	const uint8_t *nonce; /* GROUP_NONCE_LEN bytes */
	const uint8_t *tag;   /* GROUP_TAG_LEN bytes */
	const uint8_t *inner;
	size_t inner_len;
};

/* Checks the frame only; the result points into buf. */
bool packet_parse(const uint8_t *buf, size_t len, struct packet *out, const char **why);

/* True if the tag is right for this shared key (constant time). */
bool packet_verify(const struct packet *p, const uint8_t key[static 32]);

/* Walk the inner facts: 1 = *out holds the next fact, 0 = end, -1 = error
 * (*why set; facts before it were good). */
void packet_facts_begin(const struct packet *p, struct cursor *c);
int packet_next_fact(struct cursor *c, struct fact *out, const char **why);

/* X25519(own private, peer public). False for a low-order peer key, whose
 * shared secret would be all zero. */
bool group_shared_key(const uint8_t own_private[static 32], const uint8_t peer_public[static 32],
		      uint8_t out[static 32]);

/* The 16-byte tag of inner bytes. */
void group_tag(const uint8_t key[static 32], const uint8_t nonce[static GROUP_NONCE_LEN],
	       const uint8_t *inner, size_t inner_len, uint8_t tag[static GROUP_TAG_LEN]);

/* Frames and signs a SignedGroup datagram into out. Returns its length,
 * or 0 if cap is too small. */
size_t group_seal(uint8_t *out, size_t cap, const uint8_t signer[static WL_KEY_LEN],
		  const uint8_t key[static 32], const uint8_t nonce[static GROUP_NONCE_LEN],
		  const uint8_t *inner, size_t inner_len);

#endif
