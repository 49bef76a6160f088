#include "common/encoding.h"

#include <ctype.h>
#include <sodium.h>
#include <string.h>

char *hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
	return out;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap)
{
	if (in_len % 2 != 0 || in_len / 2 > out_cap)
		return -1;
	for (size_t i = 0; i < in_len / 2; i++) {
		int hi = hex_value(in[2 * i]);
		int lo = hex_value(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(in_len / 2);
}

char *key_to_base64(const uint8_t key[static WL_KEY_LEN], char out[static WL_KEY_B64_LEN])
{
	sodium_bin2base64(out, WL_KEY_B64_LEN, key, WL_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

bool key_from_base64(const char *in, uint8_t key[static WL_KEY_LEN])
{
	while (isspace((unsigned char)*in))
		in++;
	size_t len = strlen(in);
	while (len > 0 && isspace((unsigned char)in[len - 1]))
		len--;
	if (len != WL_KEY_B64_LEN - 1)
		return false;
	size_t got = 0;
	uint8_t tmp[WL_KEY_LEN + 2];
	if (sodium_base642bin(tmp, sizeof(tmp), in, len, NULL, &got, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got != WL_KEY_LEN)
		return false;
	memcpy(key, tmp, WL_KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return true;
}

bool utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = s[i];
		size_t extra;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			extra = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			extra = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			extra = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= extra)
			return false;
		for (size_t k = 1; k <= extra; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* Reject overlong forms, surrogates and values past U+10FFFF. */
		static const uint32_t min_cp[4] = { 0, 0x80, 0x800, 0x10000 };
		if (cp < min_cp[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += extra + 1;
	}
	return true;
}
