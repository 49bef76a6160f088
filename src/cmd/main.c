/* Entry point: dispatches to a subcommand, or runs the daemon. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "common/log.h"
#include "wl_build.h"

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "decode", cmd_decode, "parse (and verify) wirelink packets from hex or a raw file" },
	{ "dev", cmd_dev, "show a WireGuard device as wirelink sees it (dev show IFACE)" },
	{ "autoaddr", cmd_autoaddr, "print the IPv6 link-local address derived from a public key" },
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: wirelink COMMAND [ARGS...]\n"
		"       wirelink --version | --help\n"
		"\n"
		"wirelink makes a WireGuard network set up its own direct peer-to-peer\n"
		"links: peers gossip signed facts (endpoints, allowed IPs, membership,\n"
		"liveness) inside the tunnel and configure their WireGuard device.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(out, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(out, "\nRun 'wirelink COMMAND --help' for the options of a command.\n");
}

int main(int argc, char **argv)
{
	log_init();
	if (sodium_init() < 0) {
		fprintf(stderr, "wirelink: libsodium failed to initialise\n");
		return 1;
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("wirelink %s\n", WL_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "wirelink: unknown command '%s' (see 'wirelink --help')\n", argv[1]);
	return 2;
}
