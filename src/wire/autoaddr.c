#include "wire/autoaddr.h"

#include <sha1.h>
#include <string.h>

void autoaddr_of(const uint8_t key[static WL_KEY_LEN], struct wl_addr *out)
{
	uint8_t digest[SHA1_DIGEST_LENGTH];
	SHA1_CTX ctx;
	SHA1Init(&ctx);
	SHA1Update(&ctx, key, WL_KEY_LEN);
	SHA1Final(digest, &ctx);
	memset(out, 0, sizeof(*out));
	out->family = AF_INET6;
	out->bytes[0] = 0xfe;
	out->bytes[1] = 0x80;
	memcpy(out->bytes + 8, digest, 8);
}
