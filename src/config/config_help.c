/* --help, written like a man page. OPTIONS is generated from the settings
 * table, so every flag appears with its variable and default. */
#include "config/config_internal.h"

#include <string.h>

/* A number from a header, as text in the help's literals. */
#define STR_(x) #x
#define STR(x) STR_(x)

/* Prints text word-wrapped at 78 columns, every line indented by `indent`. */
static void wrap(FILE *f, int indent, const char *text)
{
	const int width = 78;
	int col = 0;
	const char *p = text;
	while (*p) {
		while (*p == ' ')
			p++;
		size_t wl = strcspn(p, " ");
		if (wl == 0)
			break;
		if (col > 0 && col + 1 + (int)wl > width) {
			fputc('\n', f);
			col = 0;
		}
		if (col == 0)
			col = fprintf(f, "%*s", indent, "");
		else
			col += fprintf(f, " ");
		col += fprintf(f, "%.*s", (int)wl, p);
		p += wl;
	}
	if (col)
		fputc('\n', f);
}

static void option(FILE *f, const struct cfg_setting *s)
{
	char head[96];
	int n = 0;
	if (s->short_flag)
		n = snprintf(head, sizeof(head), "-%c, ", s->short_flag);
	switch (cfg_setting_arg(s)) {
	case CFG_ARG_NONE:
		snprintf(head + n, sizeof(head) - (size_t)n, "--%s", s->flag);
		break;
	case CFG_ARG_OPTIONAL:
		snprintf(head + n, sizeof(head) - (size_t)n, "--%s[=%s]", s->flag, s->metavar);
		break;
	case CFG_ARG_REQUIRED:
		snprintf(head + n, sizeof(head) - (size_t)n, "--%s %s", s->flag, s->metavar);
		break;
	}
	fprintf(f, "  %s\n", head);
	wrap(f, 6, s->help);
	if (s->env || s->deflt) {
		char extra[256];
		snprintf(extra, sizeof(extra), "%s%s%s%s%s%s", s->env ? "Environment: " : "",
			 s->env ? s->env : "", s->env && s->deflt ? ". " : "",
			 s->deflt ? "Default: " : "", s->deflt ? s->deflt : "",
			 (s->sources & CFG_SRC_FILE) ? ". Config file key: " : ".");
		if (s->sources & CFG_SRC_FILE) {
			size_t l = strlen(extra);
			snprintf(extra + l, sizeof(extra) - l, "%s.", s->key);
		}
		wrap(f, 6, extra);
	}
}

void config_print_help(FILE *f)
{
	fputs("NAME\n"
	      "  wirelink - let WireGuard peers set up direct links between themselves\n"
	      "\n"
	      "SYNOPSIS\n"
	      "  wirelink [-i NAME] [--port N] [--router[=BOOL]] [--chatty[=BOOL]]\n"
	      "           [-d] [--backend auto|kernel|userspace] [--port-mapping[=BOOL]]\n"
	      "           [--config-path DIR] [--dump] [--check-config]\n"
	      "  wirelink --version | --help\n"
	      "\n"
	      "DESCRIPTION\n",
	      f);
	wrap(f, 2,
	     "wirelink runs beside a WireGuard interface. Peers gossip signed facts "
	     "(their endpoints, allowed IPs, membership and liveness) inside the tunnel "
	     "and each node configures its own WireGuard device from what it learns, so "
	     "that peers which first reach each other through a router (hub) set up "
	     "direct links where the network allows it.");
	fputs("\n", f);
	wrap(f, 2,
	     "Settings come from four layers, each overriding the one before: built-in "
	     "defaults, the configuration file, the environment (WIRELINK_*), and the "
	     "command line. A boolean value is true/false (also yes/no, y/n, on/off, t/f, "
	     "1/0, any case).");
	fputs("\nOPTIONS\n", f);
	for (size_t i = 0; i < cfg_n_settings; i++) {
		option(f, &cfg_settings[i]);
		if (i + 1 < cfg_n_settings)
			fputc('\n', f);
	}
	fputs("\nCONFIGURATION FILE\n", f);
	wrap(f, 2,
	     "The file is DIR/wirelink.IFACE.json, DIR/wirelink.IFACE.yaml or "
	     "DIR/wirelink.IFACE.yml, where DIR is --config-path (default "
	     CONFIG_DEFAULT_PATH ") and IFACE is the --iface value. A missing file means "
	     "defaults, and so does a missing " CONFIG_DEFAULT_PATH "; a DIR given by "
	     "--config-path or WIRELINK_CONFIG_PATH must be an existing directory. As "
	     "the original wirelink did, the first file there of .json, .toml, .yaml, .yml, "
	     ".properties, .props, .prop, .hcl, .tfvars, .dotenv, .env, .ini is read and "
	     "the others are named in a warning; a first one in a format other than JSON "
	     "or YAML is an error. The file read must be a regular "
	     "file or a symbolic link to one, not a FIFO, device, socket or directory (refused "
	     "at once: a FIFO is never waited on), or a dangling symbolic link. The file "
	     "is UTF-8 text holding one document: a NUL byte, or anything after the "
	     "document but white space (and YAML comments), is an error naming its byte "
	     "offset. Keys are case-insensitive; a "
	     "key given twice, an unknown key or an invalid value stops wirelink with a "
	     "message naming the file, the line (YAML) or key path (JSON), the key and "
	     "the value. A null value leaves a setting at its default.");
	fputs("\n", f);
	wrap(f, 2,
	     "Configs of the original Go wirelink load with its meaning, each dubious "
	     "input with a warning saying what was done: numbers and booleans written "
	     "as strings (and the reverse), a single string where a list is wanted "
	     "(split at its commas), a single peer where a list is, YAML anchors, "
	     "aliases and merge keys (at most 100000 nodes once expanded), the same "
	     "PublicKey twice (the later wins), an empty Name or Trust (not set), "
	     "Router: auto, and the config-path, dump, help and version keys its --dump "
	     "writes (ignored).");
	fputs("\n", f);
	wrap(f, 2,
	     "Top-level keys: Iface (the interface the file is for; another is ignored "
	     "with a warning), Port, "
	     "Router, Chatty, Debug, Backend, PortMapping, ControlGroup, MetricsFile (as the options "
	     "above), and these, which "
	     "only a file can set:");
	fputs("\n  Peers\n", f);
	wrap(f, 6,
	     "A list of peers, each with: PublicKey (base64, required, not all zero); Name "
	     "(advertised to other peers: 1..16 printable bytes, no spaces; a longer one is "
	     "cut and spaces become '_', with a warning); Trust (what this "
	     "peer may tell us: Untrusted, Endpoint, AllowedIPs, Membership, "
	     "DelegateTrust); FactExchanger (bool: always exchange facts with it); "
	     "Endpoints (list of at most " STR(CONFIG_MAX_PEER_ENDPOINTS) " host:port, the host an IP address or a DNS "
	     "name resolved when needed, IPv6 as [addr]:port or [addr%zone]:port; the port "
	     "a number or a UDP service name, looked up at load); AllowedIPs (list of "
	     "address/length, host bits are masked off); Basic (bool: the peer runs "
	     "plain WireGuard without wirelink).");
	fputs("  ReportIfaces\n", f);
	wrap(f, 6,
	     "Shell globs of local interface names whose addresses are offered to peers "
	     "as endpoints. When set, an interface must match one of them. Default: all.");
	fputs("  HideIfaces\n", f);
	wrap(f, 6, "Shell globs of interface names never reported; wins over ReportIfaces.");
	fputs("\n  Example (" CONFIG_DEFAULT_PATH "/wirelink.wg0.yaml):\n"
	      "\n"
	      "    Router: false\n"
	      "    HideIfaces: [\"docker*\", \"veth*\"]\n"
	      "    Peers:\n"
	      "      - PublicKey: \"18dCY1rwCNo4aQaWFccKFfhbqG0FGBxDkCSbyQ3awkw=\"\n"
	      "        Name: hub\n"
	      "        Trust: Membership\n"
	      "        Endpoints: [\"hub.example.net:51820\"]\n"
	      "        AllowedIPs: [\"10.99.0.0/24\"]\n"
	      "      - PublicKey: \"ZPGUiCJbr4B/VNnQHQ4HxKtPPjbR1o+BWQXKn8jPQRk=\"\n"
	      "        Name: printer\n"
	      "        Basic: true\n"
	      "\n"
	      "  The same in JSON: {\"Router\": false, \"Peers\": [{\"PublicKey\": \"...\", ...}]}.\n"
	      "  wirelink --dump prints the effective configuration in this form.\n",
	      f);
	fputs("\nENVIRONMENT\n", f);
	wrap(f, 2,
	     "WIRELINK_<SETTING>, the option name in upper case with '-' as '_': "
	     "WIRELINK_IFACE, WIRELINK_PORT, WIRELINK_ROUTER, WIRELINK_CHATTY, "
	     "WIRELINK_DEBUG, WIRELINK_BACKEND, WIRELINK_PORT_MAPPING, WIRELINK_CONFIG_PATH, "
	     "WIRELINK_DUMP, "
	     "WIRELINK_CHECK_CONFIG. An empty value counts as unset; an unknown "
	     "WIRELINK_ variable is ignored with a warning.");
	fputs("\nSIGNALS\n"
	      "  SIGINT, SIGTERM  stop cleanly.\n"
	      "  SIGUSR1          log all current facts and peer states.\n"
	      "  SIGHUP           reload the configuration; if the new one is invalid,\n"
	      "                   log why and keep running with the old one.\n"
	      "\nEXIT STATUS\n"
	      "  0  success (also after --dump, --check-config, --help, --version).\n"
	      "  1  runtime error (e.g. the WireGuard interface disappeared).\n"
	      "  2  usage or configuration error.\n",
	      f);
}
