/* The manual's prose (config_doc.h). What a setting means lives in the
 * settings table instead (config_settings.c); what a subcommand does, in
 * the command table (cmd/cmd_table.c). */
#include "config/config_doc.h"

/* A number from a header, as text in the literals. */
#define STR_(x) #x
#define STR(x) STR_(x)

#define PARA(t) { DOC_PARA, NULL, t }
#define ITEM(tag, t) { DOC_ITEM, tag, t }
#define VERBATIM(t) { DOC_VERBATIM, NULL, t }
#define END { DOC_END, NULL, NULL }

const struct cfg_doc_block cfg_doc_description[] = {
	PARA("wirelink runs beside a WireGuard interface. Peers gossip signed facts "
	     "(their endpoints, allowed IPs, membership and liveness) inside the tunnel "
	     "and each node configures its own WireGuard device from what it learns, so "
	     "that peers which first reach each other through a router (hub) set up "
	     "direct links where the network allows it."),
	END,
};

const struct cfg_doc_block cfg_doc_layers[] = {
	PARA("Settings come from four layers, each overriding the one before: built-in "
	     "defaults, the configuration file, the environment (WIRELINK_*), and the "
	     "command line. A boolean value is true/false (also yes/no, y/n, on/off, t/f, "
	     "1/0, any case)."),
	END,
};

const struct cfg_doc_block cfg_doc_file[] = {
	PARA("The file is DIR/wirelink.IFACE.json, DIR/wirelink.IFACE.yaml or "
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
	     "the value. A null value leaves a setting at its default. The file's Iface "
	     "names the interface it is for; another one is ignored with a warning."),
	PARA("Configs of the original Go wirelink load with its meaning, each dubious "
	     "input with a warning saying what was done: numbers and booleans written "
	     "as strings (and the reverse), a single string where a list is wanted "
	     "(split at its commas), a single peer where a list is, YAML anchors, "
	     "aliases and merge keys (at most 100000 nodes once expanded), the same "
	     "PublicKey twice (the later wins), an empty Name or Trust (not set), "
	     "Router: auto, and the config-path, dump, help and version keys its --dump "
	     "writes (ignored)."),
	END,
};

const struct cfg_doc_block cfg_doc_file_only[] = {
	ITEM("Peers", "A list of peers, one mapping each, with the keys below."),
	ITEM("ReportIfaces",
	     "Shell globs of local interface names whose addresses are offered to peers "
	     "as endpoints. When set, an interface must match one of them. Default: all."),
	ITEM("HideIfaces", "Shell globs of interface names never reported; wins over ReportIfaces."),
	END,
};

const struct cfg_doc_block cfg_doc_peer_keys[] = {
	ITEM("PublicKey", "The peer's WireGuard public key, base64; required, not all zero."),
	ITEM("Name", "Advertised to other peers and used in log lines: 1..16 printable "
		     "bytes, no spaces; a longer one is cut and spaces become '_', with a "
		     "warning."),
	ITEM("Trust", "What this peer may tell us: Untrusted, Endpoint, AllowedIPs, "
		      "Membership, DelegateTrust."),
	ITEM("FactExchanger", "Bool: always exchange facts with it."),
	ITEM("Endpoints", "A list of at most " STR(CONFIG_MAX_PEER_ENDPOINTS) " host:port, the "
			  "host an IP address or a DNS name resolved when needed, IPv6 as "
			  "[addr]:port or [addr%zone]:port; the port a number or a UDP "
			  "service name, looked up at load."),
	ITEM("AllowedIPs", "A list of address/length; host bits are masked off."),
	ITEM("Basic", "Bool: the peer runs plain WireGuard without wirelink."),
	END,
};

const struct cfg_doc_block cfg_doc_example_yaml[] = {
	VERBATIM("Router: false\n"
		 "HideIfaces: [\"docker*\", \"veth*\"]\n"
		 "Peers:\n"
		 "  - PublicKey: \"18dCY1rwCNo4aQaWFccKFfhbqG0FGBxDkCSbyQ3awkw=\"\n"
		 "    Name: hub\n"
		 "    Trust: Membership\n"
		 "    Endpoints: [\"hub.example.net:51820\"]\n"
		 "    AllowedIPs: [\"10.99.0.0/24\"]\n"
		 "  - PublicKey: \"ZPGUiCJbr4B/VNnQHQ4HxKtPPjbR1o+BWQXKn8jPQRk=\"\n"
		 "    Name: printer\n"
		 "    Basic: true\n"),
	END,
};

const struct cfg_doc_block cfg_doc_example_json[] = {
	VERBATIM("{\n"
		 "  \"Router\": false,\n"
		 "  \"HideIfaces\": [\"docker*\", \"veth*\"],\n"
		 "  \"Peers\": [\n"
		 "    {\"PublicKey\": \"18dCY1rwCNo4aQaWFccKFfhbqG0FGBxDkCSbyQ3awkw=\",\n"
		 "     \"Name\": \"hub\", \"Trust\": \"Membership\",\n"
		 "     \"Endpoints\": [\"hub.example.net:51820\"],\n"
		 "     \"AllowedIPs\": [\"10.99.0.0/24\"]},\n"
		 "    {\"PublicKey\": \"ZPGUiCJbr4B/VNnQHQ4HxKtPPjbR1o+BWQXKn8jPQRk=\",\n"
		 "     \"Name\": \"printer\", \"Basic\": true}\n"
		 "  ]\n"
		 "}\n"),
	END,
};

const struct cfg_doc_block cfg_doc_environment[] = {
	PARA("WIRELINK_<SETTING>: the option's name in upper case with '-' as '_', as "
	     "listed with each option. An empty value counts as unset; an unknown "
	     "WIRELINK_ variable is ignored with a warning. JOURNAL_STREAM (set by systemd) tells "
	     "wirelink that its standard error is the journal: lines then carry a syslog "
	     "priority and no time stamp of their own (see --log-time)."),
	END,
};

const struct cfg_doc_block cfg_doc_signals[] = {
	ITEM("SIGINT, SIGTERM", "Stop cleanly."),
	ITEM("SIGUSR1", "Log all current facts and peer states."),
	ITEM("SIGHUP", "Reload the configuration; if the new one is invalid, log why and keep "
		       "running with the old one."),
	END,
};

const struct cfg_doc_block cfg_doc_exit_status[] = {
	ITEM("0", "Success (also after --dump, --check-config, --help, --version)."),
	ITEM("1", "Runtime error (e.g. the WireGuard interface disappeared, or another "
		  "wirelink runs on it)."),
	ITEM("2", "Usage or configuration error."),
	ITEM("3", "wirelink show: no daemon is running on the interface."),
	END,
};

const struct cfg_doc_block cfg_doc_files[] = {
	ITEM(CONFIG_DEFAULT_PATH "/wirelink.IFACE.json, .yaml, .yml",
	     "The configuration file of the daemon on IFACE (wirelink.json(5))."),
	ITEM(CONFIG_DEFAULT_PATH "/IFACE.conf",
	     "wg-quick's file; wirelink config generate takes peer names from its comments."),
	ITEM("/run/wirelink/IFACE.lock", "Held by the daemon on IFACE, with its PID inside: one "
					 "daemon per interface."),
	ITEM("wirelink@IFACE.service, wl-quick@IFACE.service",
	     "The systemd units: the daemon as root with CAP_NET_ADMIN alone, on its own "
	     "or started and stopped with wg-quick@IFACE. Both WireGuard backends."),
	ITEM("wirelink-unprivileged@IFACE.service",
	     "The daemon as the user wirelink with CAP_NET_ADMIN alone, after wirelink "
	     "prestart (as root) staged its configuration; kernel WireGuard devices only."),
	ITEM("/run/wirelink-config/wirelink.IFACE.json",
	     "The copy wirelink prestart stages for a daemon that runs unprivileged "
	     "(wirelink-unprivileged@IFACE), readable by its user alone."),
	ITEM("/var/run/wireguard/IFACE.sock",
	     "The UAPI socket of a userspace WireGuard (wireguard-go, boringtun); root's "
	     "alone, so a userspace device needs wirelink as root."),
	END,
};
