#include "wire/fact.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "wire/lease.h"
#include "wire/member_meta.h"

const char *fact_attr_name(uint8_t attr)
{
	switch (attr) {
	case ATTR_ALIVE: return "Alive";
	case ATTR_ENDPOINT_V4: return "EndpointV4";
	case ATTR_ENDPOINT_V6: return "EndpointV6";
	case ATTR_ALLOWED_V4: return "AllowedCidrV4";
	case ATTR_ALLOWED_V6: return "AllowedCidrV6";
	case ATTR_MEMBER: return "Member";
	case ATTR_MEMBER_META: return "MemberMetadata";
	case ATTR_SIGNED_GROUP: return "SignedGroup";
	case ATTR_LEASE: return "Lease";
	}
	return "Unknown";
}

/* Fixed value sizes; -1 for the variable or absent ones. */
static int fixed_value_len(uint8_t attr)
{
	switch (attr) {
	case ATTR_ALIVE: return BOOT_ID_LEN;
	case ATTR_ENDPOINT_V4: return 4 + 2;
	case ATTR_ENDPOINT_V6: return 16 + 2;
	case ATTR_ALLOWED_V4: return 4 + 1;
	case ATTR_ALLOWED_V6: return 16 + 1;
	case ATTR_MEMBER: return 0;
	}
	return -1;
}

static bool check_value(const struct fact *f, const char **why)
{
	switch (f->attr) {
	case ATTR_ALLOWED_V4:
		if (f->value[4] > 32) {
			*why = "prefix length beyond 32";
			return false;
		}
		break;
	case ATTR_ALLOWED_V6:
		if (f->value[16] > 128) {
			*why = "prefix length beyond 128";
			return false;
		}
		break;
	case ATTR_ENDPOINT_V6: {
		struct wl_addr a;
		wl_addr_from_v6(&a, f->value);
		if (wl_addr_is_v4_mapped(&a)) {
			*why = "IPv4-mapped address in EndpointV6";
			return false;
		}
		break;
	}
	}
	return true;
}

static bool decode_member_meta(struct cursor *c, struct fact *out, const char **why)
{
	uint64_t len;
	const uint8_t *data;
	if (cursor_uvarint(c, &len) != UVARINT_OK) {
		*why = "member metadata: bad length";
		return false;
	}
	if (len > cursor_left(c) || !cursor_take(c, (size_t)len, &data)) {
		*why = "member metadata: declared length exceeds data";
		return false;
	}
	struct member_meta m;
	if (!member_meta_decode(data, (size_t)len, &m, why))
		return false;
	size_t n = member_meta_encode(&m, out->value, sizeof(out->value));
	if (m.n > 0 && n == 0) {
		*why = "member metadata: longer than 255 bytes (not supported)";
		return false;
	}
	out->value_len = (uint16_t)n;
	return true;
}

/* [ours] A lease's value: a uvarint length and that many bytes, as
 * member metadata, and a shape lease_parse accepts — or, at least the
 * kind and epoch, of a kind newer than ours: skipped by its reader
 * (lease_parse says no), so a later version can add kinds without the
 * whole group being refused here. */
static bool decode_lease(struct cursor *c, struct fact *out, const char **why)
{
	uint64_t len;
	const uint8_t *data;
	if (cursor_uvarint(c, &len) != UVARINT_OK || len > FACT_VALUE_MAX) {
		*why = "lease: bad length";
		return false;
	}
	if (!cursor_take(c, (size_t)len, &data)) {
		*why = "lease: declared length exceeds data";
		return false;
	}
	memcpy(out->value, data, (size_t)len);
	out->value_len = (uint16_t)len;
	struct lease_msg m;
	if (!lease_parse(out, &m) && (len < 5 || lease_kind_known(out->value[0]))) {
		*why = "lease: malformed value";
		return false;
	}
	return true;
}

static bool length_prefixed(uint8_t attr)
{
	return attr == ATTR_MEMBER_META || attr == ATTR_LEASE;
}

bool fact_decode(struct cursor *c, struct fact *out, const char **why)
{
	uint8_t attr;
	uint64_t ttl;
	const uint8_t *p;
	memset(out, 0, offsetof(struct fact, value));
	if (!cursor_u8(c, &attr)) {
		*why = "no attribute byte";
		return false;
	}
	if (attr == 0) {
		*why = "legacy ping attribute (0x00) is not accepted";
		return false;
	}
	if (attr == ATTR_SIGNED_GROUP) {
		*why = "signed groups must not nest";
		return false;
	}
	int vlen = fixed_value_len(attr);
	if (vlen < 0 && !length_prefixed(attr)) {
		*why = "unrecognised attribute";
		return false;
	}
	switch (cursor_uvarint(c, &ttl)) {
	case UVARINT_OK: break;
	case UVARINT_TRUNCATED: *why = "truncated ttl"; return false;
	case UVARINT_OVERFLOW: *why = "ttl varint overflows 64 bits"; return false;
	}
	if (ttl > WIRE_TTL_MAX) {
		*why = "ttl out of range (over 65535)";
		return false;
	}
	if (!cursor_take(c, WL_KEY_LEN, &p)) {
		*why = "truncated subject key";
		return false;
	}
	out->attr = attr;
	out->ttl = (uint16_t)ttl;
	memcpy(out->subject, p, WL_KEY_LEN);
	if (attr == ATTR_MEMBER_META)
		return decode_member_meta(c, out, why);
	if (attr == ATTR_LEASE)
		return decode_lease(c, out, why);
	if (!cursor_take(c, (size_t)vlen, &p)) {
		*why = "truncated value";
		return false;
	}
	memcpy(out->value, p, (size_t)vlen);
	out->value_len = (uint16_t)vlen;
	return check_value(out, why);
}

size_t fact_encoded_len(const struct fact *f)
{
	size_t n = 1 + uvarint_len(f->ttl) + WL_KEY_LEN + f->value_len;
	if (length_prefixed(f->attr))
		n += uvarint_len(f->value_len);
	return n;
}

size_t fact_encode(const struct fact *f, uint8_t *out, size_t cap)
{
	size_t need = fact_encoded_len(f);
	if (need > cap)
		return 0;
	size_t pos = 0;
	out[pos++] = f->attr;
	pos += uvarint_put(out + pos, f->ttl);
	memcpy(out + pos, f->subject, WL_KEY_LEN);
	pos += WL_KEY_LEN;
	if (length_prefixed(f->attr))
		pos += uvarint_put(out + pos, f->value_len);
	memcpy(out + pos, f->value, f->value_len);
	return pos + f->value_len;
}

uint16_t fact_ttl_from(int64_t expires_ms, int64_t now_ms)
{
	if (expires_ms <= now_ms)
		return 0;
	int64_t s = (expires_ms - now_ms) / 1000;
	return s > (int64_t)WIRE_TTL_MAX ? (uint16_t)WIRE_TTL_MAX : (uint16_t)s;
}

/* Clears all but the value: no reader looks past value_len (encoding,
 * comparing and hashing take that many bytes), and clearing the 255 for
 * every fact a node builds at every tick was a visible share of a large
 * network's steady state. */
static void fact_head(struct fact *f, uint8_t attr, const uint8_t subject[static WL_KEY_LEN],
		      uint16_t ttl)
{
	memset(f, 0, offsetof(struct fact, value));
	f->attr = attr;
	f->ttl = ttl;
	memcpy(f->subject, subject, WL_KEY_LEN);
}

void fact_make_alive(struct fact *f, const uint8_t subject[static WL_KEY_LEN],
		     const uint8_t boot_id[static BOOT_ID_LEN], uint16_t ttl)
{
	fact_head(f, ATTR_ALIVE, subject, ttl);
	memcpy(f->value, boot_id, BOOT_ID_LEN);
	f->value_len = BOOT_ID_LEN;
}

bool fact_make_endpoint(struct fact *f, const uint8_t subject[static WL_KEY_LEN],
			const struct wl_endpoint *ep, uint16_t ttl)
{
	size_t alen = wl_addr_len(&ep->addr);
	if (alen == 0 || wl_addr_is_v4_mapped(&ep->addr))
		return false;
	fact_head(f, alen == 4 ? ATTR_ENDPOINT_V4 : ATTR_ENDPOINT_V6, subject, ttl);
	memcpy(f->value, ep->addr.bytes, alen);
	f->value[alen] = (uint8_t)(ep->port >> 8);
	f->value[alen + 1] = (uint8_t)ep->port;
	f->value_len = (uint16_t)(alen + 2);
	return true;
}

bool fact_make_cidr(struct fact *f, const uint8_t subject[static WL_KEY_LEN],
		    const struct wl_cidr *cidr, uint16_t ttl)
{
	size_t alen = wl_addr_len(&cidr->addr);
	if (alen == 0 || cidr->prefix > alen * 8)
		return false;
	fact_head(f, alen == 4 ? ATTR_ALLOWED_V4 : ATTR_ALLOWED_V6, subject, ttl);
	memcpy(f->value, cidr->addr.bytes, alen);
	f->value[alen] = cidr->prefix;
	f->value_len = (uint16_t)(alen + 1);
	return true;
}

bool fact_make_member_meta(struct fact *f, const uint8_t subject[static WL_KEY_LEN],
			   const char *name, int basic, uint16_t ttl)
{
	struct member_meta m = { 0 };
	uint8_t flag = basic > 0;
	if (name && !member_meta_set(&m, META_KEY_NAME, (const uint8_t *)name,
				     (uint16_t)strnlen(name, FACT_VALUE_MAX)))
		return false;
	if (basic >= 0)
		member_meta_set(&m, META_KEY_BASIC, &flag, 1);
	fact_head(f, ATTR_MEMBER_META, subject, ttl);
	size_t n = member_meta_encode(&m, f->value, sizeof(f->value));
	if (m.n > 0 && n == 0)
		return false;
	f->value_len = (uint16_t)n;
	return true;
}

bool fact_endpoint(const struct fact *f, struct wl_endpoint *out)
{
	memset(out, 0, sizeof(*out));
	if (f->attr == ATTR_ENDPOINT_V4)
		wl_addr_from_v4(&out->addr, f->value);
	else if (f->attr == ATTR_ENDPOINT_V6)
		wl_addr_from_v6(&out->addr, f->value);
	else
		return false;
	size_t alen = wl_addr_len(&out->addr);
	out->port = (uint16_t)(f->value[alen] << 8 | f->value[alen + 1]);
	return true;
}

bool fact_cidr(const struct fact *f, struct wl_cidr *out)
{
	memset(out, 0, sizeof(*out));
	if (f->attr == ATTR_ALLOWED_V4)
		wl_addr_from_v4(&out->addr, f->value);
	else if (f->attr == ATTR_ALLOWED_V6)
		wl_addr_from_v6(&out->addr, f->value);
	else
		return false;
	out->prefix = f->value[wl_addr_len(&out->addr)];
	return true;
}

size_t fact_key_bytes(const struct fact *f, uint8_t out[static FACT_KEY_MAX])
{
	size_t n = 0;
	out[n++] = f->attr;
	memcpy(out + n, f->subject, WL_KEY_LEN);
	n += WL_KEY_LEN;
	if (f->attr != ATTR_ALIVE) {
		memcpy(out + n, f->value, f->value_len);
		n += f->value_len;
	}
	return n;
}

uint64_t fact_key_siphash(const uint8_t key[static 16], const struct fact *f)
{
	uint8_t buf[FACT_KEY_MAX];
	size_t n = fact_key_bytes(f, buf);
	uint8_t out[crypto_shorthash_BYTES];
	crypto_shorthash(out, buf, n, key);
	uint64_t h = 0;
	for (int i = 0; i < 8; i++)
		h |= (uint64_t)out[i] << (8 * i);
	return h;
}

bool fact_same_key(const struct fact *a, const struct fact *b)
{
	return a->attr == b->attr && a->value_len == b->value_len &&
	       memcmp(a->subject, b->subject, WL_KEY_LEN) == 0 &&
	       memcmp(a->value, b->value, a->value_len) == 0;
}

static void meta_str(const struct fact *f, char *out, size_t cap)
{
	struct member_meta m;
	const char *why;
	size_t pos = 0;
	out[0] = '\0';
	if (!member_meta_decode(f->value, f->value_len, &m, &why))
		return;
	for (uint16_t i = 0; i < m.n && pos < cap; i++) {
		const struct meta_entry *e = &m.e[i];
		const char *sep = pos ? " " : "";
		int w;
		if (e->key == META_KEY_NAME)
			w = snprintf(out + pos, cap - pos, "%sname=%.*s", sep, (int)e->len, e->data);
		else if (e->key == META_KEY_BASIC)
			w = snprintf(out + pos, cap - pos, "%sbasic=%u", sep, e->data[0]);
		else {
			char hex[2 * FACT_VALUE_MAX + 1];
			w = snprintf(out + pos, cap - pos, "%s0x%02x=%s", sep, e->key,
				     hex_encode(e->data, e->len, hex));
		}
		if (w < 0)
			return;
		pos += (size_t)w;
	}
}

char *fact_value_str(const struct fact *f, char *out, size_t cap)
{
	struct wl_endpoint ep;
	struct wl_cidr cidr;
	char buf[WL_ENDPOINT_STR_MAX];
	if (cap == 0)
		return out;
	out[0] = '\0';
	if (fact_endpoint(f, &ep))
		snprintf(out, cap, "%s", wl_endpoint_str(&ep, buf));
	else if (fact_cidr(f, &cidr))
		snprintf(out, cap, "%s", wl_cidr_str(&cidr, buf));
	else if (f->attr == ATTR_ALIVE && cap > 2 * BOOT_ID_LEN)
		hex_encode(f->value, BOOT_ID_LEN, out);
	else if (f->attr == ATTR_MEMBER_META)
		meta_str(f, out, cap);
	else if (f->attr == ATTR_LEASE)
		lease_str(f, out, cap);
	return out;
}
