/* The table of scalar settings: one row names a setting in all three
 * sources (file key, environment variable, flag), says how to parse it and
 * documents it for --help. Flags, environment and files all go through
 * cfg_setting_apply(), so a value means the same wherever it is written. */
#include "config/config_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ALL (CFG_SRC_FILE | CFG_SRC_ENV | CFG_SRC_FLAG)
#define RUNTIME (CFG_SRC_ENV | CFG_SRC_FLAG)
#define AT(field) offsetof(struct wl_config, field)

const struct cfg_setting cfg_settings[] = {
	{ "Iface", "iface", 'i', "WIRELINK_IFACE", CT_IFACE, ALL, AT(iface), "NAME",
	  CONFIG_DEFAULT_IFACE,
	  "The WireGuard interface to manage. It also picks the config file." },
	{ "Port", "port", 0, "WIRELINK_PORT", CT_PORT, ALL, AT(port), "N", "0",
	  "UDP port wirelink uses inside the tunnel, the same on every peer; "
	  "0 means the interface's WireGuard listen port + 1." },
	{ "Router", "router", 0, "WIRELINK_ROUTER", CT_ROUTER, ALL, AT(router), "BOOL",
	  "auto-detect",
	  "Whether this node routes for others. When unset it is a router iff none "
	  "of its WireGuard peers is one." },
	{ "Chatty", "chatty", 0, "WIRELINK_CHATTY", CT_BOOL, ALL, AT(chatty), "BOOL",
	  "false", "Send facts to every healthy peer, not only to routers and trusted peers." },
	{ "Debug", "debug", 'd', "WIRELINK_DEBUG", CT_BOOL, ALL, AT(debug), "BOOL", "false",
	  "Log at debug level." },
	{ "Backend", "backend", 0, "WIRELINK_BACKEND", CT_BACKEND, ALL, AT(backend),
	  "auto|kernel|userspace", "auto",
	  "How to talk to WireGuard: the kernel module over generic netlink, or a "
	  "userspace implementation over its UAPI socket; auto uses the UAPI socket "
	  "when one exists for the interface." },
	{ "PortMapping", "port-mapping", 0, "WIRELINK_PORT_MAPPING", CT_BOOL, ALL, AT(port_mapping),
	  "BOOL", "true",
	  "On a leaf (not a router): ask the default gateway for a mapping of the WireGuard "
	  "listen port (PCP, then NAT-PMP, then UPnP-IGD), renew it while running, remove it "
	  "on exit, and advertise the mapped public endpoint to peers, so that they can reach "
	  "this node directly even behind a symmetric NAT. A mapping whose external address "
	  "is private (10/8, 172.16/12, 192.168/16, 100.64/10) is not advertised." },
	{ "Leases", "leases", 0, "WIRELINK_LEASES", CT_BOOL, ALL, AT(leases), "BOOL", "true",
	  "Between peers that both run this wirelink: tell each fact once and then hold it "
	  "valid with one small lease every 30 s, withdrawing what no longer holds, instead "
	  "of telling every fact again every two minutes. A hub's refresh traffic then grows "
	  "with the number of leaves, not with its square. Peers running the original wirelink "
	  "are refreshed as it expects either way. false refreshes every peer." },
	{ "QuietPeriod", "quiet-period", 0, "WIRELINK_QUIET_PERIOD", CT_QUIET, ALL, AT(quiet_period),
	  "SECONDS", "600",
	  "How often two idle peers of ours on a direct path send each other an Alive when "
	  "neither is a router and no NAT stands in front of either (a peer sees each at its "
	  "own address): a quiet pair. Other pairs send one every 30 s, which also keeps NAT "
	  "mappings open. A path that fails while traffic flows is still found in seconds; "
	  "an idle one within two quiet periods. Needs Leases. 0: never quiet." },
	{ "Dormant", "dormant", 0, "WIRELINK_DORMANT", CT_BOOL, ALL, AT(dormant), "BOOL", "true",
	  "Between two leaves of ours on a direct path whose router vouches for both, send "
	  "nothing at all while idle, behind NATs too: a dormant pair. A leaf's idle traffic "
	  "then does not grow with the network. When traffic starts, the router asks the "
	  "other side to send too, which opens both NATs again; if that fails, traffic falls "
	  "back to the router within seconds. A path that dies while idle is found only once "
	  "traffic starts. Needs Leases and a QuietPeriod (docs/quiet.md). false: idle pairs "
	  "keep sending Alives, every 30 s or every QuietPeriod." },
	{ "ControlGroup", "control-group", 0, "WIRELINK_CONTROL_GROUP", CT_GROUP, ALL,
	  AT(control_group), "GROUP", "none",
	  "The control socket /run/wirelink/IFACE.sock (wirelink show) is root's alone (mode "
	  "0600); with a group, members of it may use it too (0660, that group): they can read "
	  "every peer's state and ask for a reload or another log level." },
	{ "MetricsFile", "metrics-file", 0, "WIRELINK_METRICS_FILE", CT_FILE, ALL,
	  AT(metrics_file), "PATH", "none",
	  "Write the metrics (Prometheus text format, as `wirelink show --metrics` prints them) "
	  "to this file every few seconds, replaced atomically (a temporary file in the same "
	  "directory, renamed): for node_exporter's textfile collector." },
	{ "QuotaFacts", "quota-facts", 0, "WIRELINK_QUOTA_FACTS", CT_COUNT, ALL, AT(quota_facts),
	  "N", "512",
	  "Facts one peer not trusted with Membership may have us keep at a time; what it "
	  "tells beyond is dropped and counted, neither kept nor passed on." },
	{ "QuotaEndpoints", "quota-endpoints", 0, "WIRELINK_QUOTA_ENDPOINTS", CT_COUNT, ALL,
	  AT(quota_endpoints), "N", "16",
	  "Endpoints of one peer that another peer may have us keep (each source has its "
	  "own)." },
	{ "QuotaAllowedIPs", "quota-allowed-ips", 0, "WIRELINK_QUOTA_ALLOWED_IPS", CT_COUNT, ALL,
	  AT(quota_allowed_ips), "N", "256",
	  "AllowedIPs of one peer that another peer may have us keep (a WireGuard peer never "
	  "gets more than 256 in all)." },
	{ "QuotaNewMembers", "quota-new-members", 0, "WIRELINK_QUOTA_NEW_MEMBERS", CT_COUNT, ALL,
	  AT(quota_new_members), "N", "1024",
	  "Members a peer trusted with Membership may introduce at once; after that, "
	  "QuotaNewMembersPerMinute." },
	{ "QuotaNewMembersPerMinute", "quota-new-members-per-minute", 0,
	  "WIRELINK_QUOTA_NEW_MEMBERS_PER_MINUTE", CT_COUNT, ALL, AT(quota_new_members_per_min),
	  "N", "256", "New members a peer may introduce per minute once its first ones are in." },
	{ "LogTime", "log-time", 0, "WIRELINK_LOG_TIME", CT_LOG_TIME, ALL, AT(log_time),
	  "auto|monotonic|iso|none", "auto",
	  "Time stamps on log lines: monotonic, seconds since start (\"[   12.345]\"); iso, "
	  "local time in ISO 8601 with milliseconds and the UTC offset; none. auto is "
	  "monotonic, except when standard error is the journal (JOURNAL_STREAM), which "
	  "stamps lines itself: then none. Read at start, not on reload." },
	{ "Sandbox", "sandbox", 0, "WIRELINK_SANDBOX", CT_BOOL, RUNTIME, AT(sandbox), "BOOL",
	  "true",
	  "Once set up (device open, ports bound, address added), keep only CAP_NET_ADMIN, set "
	  "no_new_privs and allow only the system calls wirelink makes (seccomp); any other "
	  "system call ends it with SIGSYS and the line \"wirelink: seccomp: system call N "
	  "(name) is not allowed\". false runs without, to debug such an exit." },
	{ "ConfigPath", "config-path", 0, "WIRELINK_CONFIG_PATH", CT_PATH, RUNTIME,
	  AT(config_path), "DIR", CONFIG_DEFAULT_PATH,
	  "Directory holding wirelink.IFACE.json / .yaml / .yml. When given, it must "
	  "exist; the default may be missing (no file: defaults)." },
	{ "Dump", "dump", 0, "WIRELINK_DUMP", CT_BOOL, RUNTIME, AT(dump), "BOOL", "false",
	  "Print the effective configuration as JSON (in config-file spelling) and exit." },
	{ "CheckConfig", "check-config", 0, "WIRELINK_CHECK_CONFIG", CT_BOOL, RUNTIME,
	  AT(check_config), "BOOL", "false",
	  "Only check the configuration (flags, environment, file) and exit: 0 if "
	  "valid, 2 with a message otherwise." },
	{ "Version", "version", 'V', NULL, CT_VERSION, CFG_SRC_FLAG, AT(show_version), NULL,
	  NULL, "Print the version and exit." },
	{ "Help", "help", 'h', NULL, CT_HELP, CFG_SRC_FLAG, AT(show_help), NULL, NULL,
	  "Print this help and exit." },
};
const size_t cfg_n_settings = sizeof(cfg_settings) / sizeof(cfg_settings[0]);

const char *const cfg_file_only_keys[3] = { "Peers", "ReportIfaces", "HideIfaces" };
const char *const cfg_file_only_env[3] = { "WIRELINK_PEERS", "WIRELINK_REPORT_IFACES",
					   "WIRELINK_HIDE_IFACES" };

const struct cfg_setting *cfg_setting_by_key(const char *key)
{
	for (size_t i = 0; i < cfg_n_settings; i++)
		if ((cfg_settings[i].sources & CFG_SRC_FILE) &&
		    strcasecmp(cfg_settings[i].key, key) == 0)
			return &cfg_settings[i];
	return NULL;
}

enum cfg_arg cfg_setting_arg(const struct cfg_setting *s)
{
	switch (s->type) {
	case CT_HELP:
	case CT_VERSION:
		return CFG_ARG_NONE;
	case CT_BOOL:
	case CT_ROUTER:
		return CFG_ARG_OPTIONAL;
	default:
		return CFG_ARG_REQUIRED;
	}
}

bool cfg_setting_apply(struct wl_config *cfg, const struct cfg_setting *s,
		       const char *text, const char **why)
{
	char *field = (char *)cfg + s->offset;
	bool b;
	switch (s->type) {
	case CT_IFACE:
		if (!cfg_parse_iface(text, why))
			return false;
		snprintf(field, IFNAMSIZ, "%s", text); /* fits: checked < IFNAMSIZ */
		return true;
	case CT_PORT:
		return cfg_parse_port(text, (uint16_t *)(void *)field, why);
	case CT_COUNT:
		return cfg_parse_count(text, (uint32_t *)(void *)field, why);
	case CT_QUIET:
		return cfg_parse_quiet(text, (uint32_t *)(void *)field, why);
	case CT_ROUTER:
		/* "auto" (auto-detect) is how the original wrote the default. */
		if (strcasecmp(text, "auto") == 0) {
			*(enum wl_tristate *)(void *)field = WL_AUTO;
			return true;
		}
		if (!cfg_parse_bool(text, &b, why))
			return false;
		*(enum wl_tristate *)(void *)field = b ? WL_YES : WL_NO;
		return true;
	case CT_BOOL:
	case CT_HELP:
	case CT_VERSION:
		return cfg_parse_bool(text, (bool *)(void *)field, why);
	case CT_BACKEND:
		return cfg_parse_backend(text, (enum wgdev_backend *)(void *)field, why);
	case CT_LOG_TIME:
		if (log_time_parse(text, (enum log_time *)(void *)field))
			return true;
		*why = "is not a time stamp kind (auto, monotonic, iso, none)";
		return false;
	case CT_PATH:
		if (!cfg_parse_path(text, why))
			return false;
		snprintf(field, PATH_MAX, "%s", text); /* fits: checked < PATH_MAX */
		return true;
	case CT_GROUP:
		if (!cfg_parse_group(text, why))
			return false;
		snprintf(field, CONFIG_GROUP_MAX, "%s", text); /* fits: checked */
		return true;
	case CT_FILE:
		if (!cfg_parse_file(text, why))
			return false;
		snprintf(field, PATH_MAX, "%s", text); /* fits: checked < PATH_MAX */
		return true;
	}
	*why = "has no known type";
	return false;
}
