#include "wire/packet.h"

#include <sodium.h>
#include <string.h>

bool packet_parse(const uint8_t *buf, size_t len, struct packet *out, const char **why)
{
	struct cursor c;
	uint8_t attr;
	uint64_t ttl;
	const uint8_t *signer;
	cursor_init(&c, buf, len);
	memset(out, 0, sizeof(*out));
	if (!cursor_u8(&c, &attr)) {
		*why = "empty packet: no attribute byte";
		return false;
	}
	if (attr != ATTR_SIGNED_GROUP) {
		*why = "only SignedGroup is accepted at top level";
		return false;
	}
	switch (cursor_uvarint(&c, &ttl)) {
	case UVARINT_OK: break;
	case UVARINT_TRUNCATED: *why = "truncated ttl"; return false;
	case UVARINT_OVERFLOW: *why = "ttl varint overflows 64 bits"; return false;
	}
	if (ttl > WIRE_TTL_MAX) {
		*why = "ttl out of range (over 65535)";
		return false;
	}
	if (!cursor_take(&c, WL_KEY_LEN, &signer)) {
		*why = "truncated signer key";
		return false;
	}
	if (!cursor_take(&c, GROUP_NONCE_LEN, &out->nonce) ||
	    !cursor_take(&c, GROUP_TAG_LEN, &out->tag)) {
		*why = "too short for nonce and tag";
		return false;
	}
	memcpy(out->signer, signer, WL_KEY_LEN);
	out->inner = buf + c.pos;
	out->inner_len = cursor_left(&c);
	return true;
}

bool packet_verify(const struct packet *p, const uint8_t key[static 32])
{
	/* Decrypting an empty ciphertext checks the tag in constant time;
	 * libsodium wants a (never written) output buffer all the same. */
	uint8_t none[1] = { 0 };
	return crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
		       none, NULL, none, 0, p->tag, p->inner, p->inner_len, p->nonce, key) == 0;
}

void packet_facts_begin(const struct packet *p, struct cursor *c)
{
	cursor_init(c, p->inner, p->inner_len);
}

int packet_next_fact(struct cursor *c, struct fact *out, const char **why)
{
	if (cursor_left(c) == 0)
		return 0;
	return fact_decode(c, out, why) ? 1 : -1;
}

bool group_shared_key(const uint8_t own_private[static 32], const uint8_t peer_public[static 32],
		      uint8_t out[static 32])
{
	return crypto_scalarmult(out, own_private, peer_public) == 0;
}

void group_tag(const uint8_t key[static 32], const uint8_t nonce[static GROUP_NONCE_LEN],
	       const uint8_t *inner, size_t inner_len, uint8_t tag[static GROUP_TAG_LEN])
{
	unsigned long long taglen;
	uint8_t none[1] = { 0 };
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(none, tag, &taglen, none, 0, inner,
							    inner_len, NULL, nonce, key);
}

size_t group_seal(uint8_t *out, size_t cap, const uint8_t signer[static WL_KEY_LEN],
		  const uint8_t key[static 32], const uint8_t nonce[static GROUP_NONCE_LEN],
		  const uint8_t *inner, size_t inner_len)
{
	/* The group itself carries ttl 0: one byte. */
	size_t head = 1 + 1 + WL_KEY_LEN + GROUP_NONCE_LEN + GROUP_TAG_LEN;
	if (cap < head || cap - head < inner_len)
		return 0;
	size_t pos = 0;
	out[pos++] = ATTR_SIGNED_GROUP;
	out[pos++] = 0;
	memcpy(out + pos, signer, WL_KEY_LEN);
	pos += WL_KEY_LEN;
	memcpy(out + pos, nonce, GROUP_NONCE_LEN);
	pos += GROUP_NONCE_LEN;
	/* The tag covers the inner bytes, which may already sit at their
	 * final place in out (memmove handles the overlap). */
	memmove(out + head, inner, inner_len);
	group_tag(key, nonce, out + head, inner_len, out + pos);
	return head + inner_len;
}
