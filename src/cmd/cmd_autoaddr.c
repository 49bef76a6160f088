/* wirelink autoaddr KEY: print a peer's automatic link-local address. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "common/encoding.h"
#include "wire/autoaddr.h"

static void usage(FILE *out)
{
	fprintf(out, "Usage: wirelink autoaddr PUBLIC_KEY\n"
		     "\n"
		     "Prints the IPv6 link-local address wirelink derives from a WireGuard\n"
		     "public key (base64, as 'wg pubkey' prints it): fe80:: followed by the\n"
		     "first 8 bytes of the key's SHA-1 digest. Every wirelink peer uses this\n"
		     "address inside the tunnel.\n");
}

int cmd_autoaddr(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc != 2) {
		usage(stderr);
		return 2;
	}
	uint8_t key[WL_KEY_LEN];
	if (!key_from_base64(argv[1], key)) {
		fprintf(stderr, "wirelink autoaddr: '%s' is not a base64 WireGuard key (44 characters)\n",
			argv[1]);
		return 2;
	}
	struct wl_addr a;
	char buf[WL_ADDR_STR_MAX];
	autoaddr_of(key, &a);
	printf("%s\n", wl_addr_str(&a, buf));
	return 0;
}
