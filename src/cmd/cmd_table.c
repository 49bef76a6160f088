/* The subcommands of the binary: main.c dispatches on this table, --help
 * lists it, and the man page's COMMANDS section is made from it
 * (mangen.c). */
#include "cmd/cmd.h"

const struct cmd_subcommand cmd_subcommands[] = {
	{ "decode", cmd_decode, "[--json] [--key FILE] [FILE | - | --raw FILE]",
	  "parse (and verify) wirelink packets from hex or a raw file" },
	{ "dev", cmd_dev, "show IFACE [--json] [--backend auto|kernel|userspace]",
	  "show a WireGuard device as wirelink sees it" },
	{ "show", cmd_show, "[IFACE] [--json | --metrics]",
	  "what a running daemon knows of its peers, and why a peer is not direct" },
	{ "autoaddr", cmd_autoaddr, "KEY",
	  "print the IPv6 link-local address derived from a public key" },
	{ "config", cmd_config, "generate [--hub | --leaf [--hub-key KEY]] IFACE",
	  "print a starting configuration for a WireGuard interface" },
	{ "prestart", cmd_prestart, "[--user USER] [--stage-dir DIR] [--config-path DIR] IFACE",
	  "as root, before an unprivileged daemon starts or reloads: stage its configuration" },
};
const size_t cmd_n_subcommands = sizeof(cmd_subcommands) / sizeof(cmd_subcommands[0]);
