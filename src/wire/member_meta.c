#include "wire/member_meta.h"

#include <string.h>

#include "wire/cursor.h"

bool member_name_sendable(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > META_NAME_SEND_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		/* ASCII control and space are out; multi-byte UTF-8 is allowed. */
		if (c <= 0x20 || c == 0x7f)
			return false;
	}
	return utf8_valid((const uint8_t *)name, len);
}

const struct meta_entry *member_meta_get(const struct member_meta *m, uint8_t key)
{
	for (uint16_t i = 0; i < m->n; i++)
		if (m->e[i].key == key)
			return &m->e[i];
	return NULL;
}

bool member_meta_set(struct member_meta *m, uint8_t key, const uint8_t *data, uint16_t len)
{
	struct meta_entry *slot = (struct meta_entry *)member_meta_get(m, key);
	if (!slot) {
		if (m->n == META_MAX_ENTRIES)
			return false;
		slot = &m->e[m->n++];
	}
	slot->key = key;
	slot->len = len;
	slot->data = data;
	return true;
}

int member_meta_basic(const struct member_meta *m)
{
	const struct meta_entry *b = member_meta_get(m, META_KEY_BASIC);
	return b ? b->data[0] : -1;
}

bool member_meta_decode(const uint8_t *buf, size_t len, struct member_meta *out,
			const char **why)
{
	struct cursor c;
	cursor_init(&c, buf, len);
	out->n = 0;
	while (cursor_left(&c) > 0) {
		uint8_t key;
		uint64_t elen;
		const uint8_t *data;
		cursor_u8(&c, &key);
		if (cursor_uvarint(&c, &elen) != UVARINT_OK) {
			*why = "member metadata: bad attribute length";
			return false;
		}
		if (elen > cursor_left(&c) || !cursor_take(&c, (size_t)elen, &data)) {
			*why = "member metadata: declared length exceeds data";
			return false;
		}
		if (member_meta_get(out, key)) {
			*why = "member metadata: duplicate member attribute";
			return false;
		}
		if (key == META_KEY_BASIC && (elen != 1 || data[0] > 1)) {
			*why = elen != 1 ? "member metadata: basic flag must be exactly one byte"
					 : "member metadata: basic flag must be 0 or 1";
			return false;
		}
		if (key == META_KEY_NAME && !utf8_valid(data, (size_t)elen)) {
			*why = "member metadata: name is not valid UTF-8";
			return false;
		}
		if (elen > UINT16_MAX) {
			*why = "member metadata: attribute longer than 65535 bytes";
			return false;
		}
		/* Distinct keys bound the count to META_MAX_ENTRIES. */
		out->e[out->n].key = key;
		out->e[out->n].len = (uint16_t)elen;
		out->e[out->n].data = data;
		out->n++;
	}
	return true;
}

static int entry_order(const struct meta_entry *a, const struct meta_entry *b)
{
	/* The name sorts before everything else; the rest by key byte. */
	if (a->key == b->key)
		return 0;
	if (a->key == META_KEY_NAME)
		return -1;
	if (b->key == META_KEY_NAME)
		return 1;
	return a->key < b->key ? -1 : 1;
}

size_t member_meta_encode(const struct member_meta *m, uint8_t *out, size_t cap)
{
	const struct meta_entry *order[META_MAX_ENTRIES];
	for (uint16_t i = 0; i < m->n; i++) {
		/* Insertion sort: at most a handful of entries in practice. */
		uint16_t j = i;
		while (j > 0 && entry_order(order[j - 1], &m->e[i]) > 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = &m->e[i];
	}
	size_t pos = 0;
	for (uint16_t i = 0; i < m->n; i++) {
		uint8_t lenbuf[10];
		size_t ll = uvarint_put(lenbuf, order[i]->len);
		if (cap - pos < 1 + ll + order[i]->len)
			return 0;
		out[pos++] = order[i]->key;
		memcpy(out + pos, lenbuf, ll);
		pos += ll;
		if (order[i]->len)
			memcpy(out + pos, order[i]->data, order[i]->len);
		pos += order[i]->len;
	}
	return pos;
}
