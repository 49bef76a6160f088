/* The daemon's configuration (SPEC §11): one struct wl_config built from
 * four layers, later wins:
 *
 *   defaults < config file < environment (WIRELINK_*) < command-line flags
 *
 * The interface name and the config directory (from the environment or the
 * flags) decide which file is read: <config-path>/wirelink.<iface>.json,
 * .yaml or .yml. A missing file is fine (defaults), and so is a missing
 * default directory; everything else that is not plainly a config file is
 * an error rather than a silent fallback to defaults: two files at once,
 * a FIFO, device, socket or directory where the file would be (never
 * opened in a way that could block), a dangling symbolic link, a NUL byte
 * or anything after the document, and a --config-path / WIRELINK_CONFIG_PATH
 * that was given but is not an existing directory.
 *
 * Ownership: config_load() builds a brand-new object and hands it over only
 * when every layer applied cleanly, so a caller reloading on SIGHUP keeps
 * its old config on any error — nothing is ever half-applied. The object is
 * released with config_free() (NULL is fine).
 *
 * Error convention: functions returning int give CONFIG_OK (0) or one of
 * enum config_status; on failure the out-pointer is NULL and `err` holds one
 * line naming where (file[:line], "environment" or "command line"), the key
 * and the offending value, e.g.
 *   /etc/wireguard/wirelink.wg0.yaml:7: Peers[0].Trust: "Membershipp" is not
 *   a trust level (Untrusted, Endpoint, AllowedIPs, Membership, DelegateTrust)
 * JSON files name the key path instead of a line for semantic errors
 * (jansson only reports positions for syntax errors).
 *
 * Use in the daemon (a sketch):
 *
 *   struct wl_config *cfg;
 *   char err[512];
 *   int rc = config_load(argc, argv, environ, &cfg, err, sizeof(err));
 *   if (rc != CONFIG_OK) {
 *           fprintf(stderr, "wirelink: %s\n", err);
 *           return config_exit_status(rc);            // 2 (1 on ENOMEM)
 *   }
 *   if (cfg->show_help)    -> config_print_help(stdout), exit 0
 *   if (cfg->show_version) -> print WL_VERSION, exit 0
 *   if (cfg->dump)         -> config_dump(cfg, stdout), exit 0
 *   if (cfg->check_config) -> exit 0 (everything was validated)
 *   On SIGHUP: config_load() again with the same argv and environment; on
 *   success swap the objects, otherwise log err and keep the old one. The
 *   interface cannot change on reload: only flags/environment pick it, and
 *   a file's Iface key must agree. */
#ifndef WL_CONFIG_CONFIG_H
#define WL_CONFIG_CONFIG_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/encoding.h"
#include "common/netaddr.h"
#include "common/tristate.h"
#include "common/trust.h"
#include "sys/log.h"
#include "sys/wgdev.h"

#define CONFIG_DEFAULT_IFACE "wg0"
#define CONFIG_DEFAULT_PATH "/etc/wireguard"
/* Largest config file we read; anything bigger is surely a mistake. */
#define CONFIG_FILE_MAX (1u << 20)
/* Endpoints a peer may list. The daemon keeps this many resolved addresses
 * per configured peer (DRIVER_MAX_PEER_ENDPOINTS is this value), so more
 * would be dropped without a word: a file listing more is refused. */
#define CONFIG_MAX_PEER_ENDPOINTS 16
/* A group name for ControlGroup, with its NUL. */
#define CONFIG_GROUP_MAX 32

enum config_status {
	CONFIG_OK = 0,
	CONFIG_E_USAGE = 1,  /* bad flag or environment variable */
	CONFIG_E_FILE = 2,   /* config file unreadable, ambiguous or invalid */
	CONFIG_E_NOMEM = 3,
};

/* Process exit status for a config_load() result (SPEC/--help EXIT STATUS):
 * 0 for CONFIG_OK, 2 for usage and config errors, 1 for out of memory. */
int config_exit_status(int status);

/* A configured endpoint. The host is kept as written (a DNS name, an IPv4
 * literal, or an IPv6 literal without its brackets) because names are
 * resolved each time they are needed (SPEC §5); only its syntax is checked. */
struct wl_config_endpoint {
	char *host;
	uint16_t port; /* 1..65535 */
};

struct wl_config_peer {
	uint8_t public_key[WL_KEY_LEN];
	char *name;          /* NULL if not configured; member_name_sendable() */
	enum wl_trust trust; /* TRUST_UNSET if not configured */
	bool fact_exchanger;
	/* A file says true or false; unset is WL_NO (SPEC §11: a bool). WL_AUTO
	 * (as its member metadata says) is what the engine assumes for peers
	 * the configuration does not list. */
	enum wl_tristate basic;
	size_t n_endpoints;
	struct wl_config_endpoint *endpoints;
	size_t n_allowed_ips;
	struct wl_cidr *allowed_ips; /* host bits already masked off */
};

struct wl_config {
	/* Settings (every source). */
	char iface[IFNAMSIZ];
	uint16_t port; /* 0 = the device's listen port + 1 */
	enum wl_tristate router; /* WL_AUTO: absent, auto-detect (SPEC §9) */
	bool chatty;
	bool debug;
	enum log_time log_time; /* time stamps on log lines (sys/log.h) */
	enum wgdev_backend backend;
	bool port_mapping; /* a leaf asks its NAT for a port mapping (default true) */
	bool sandbox; /* after set-up: only CAP_NET_ADMIN, no_new_privs, seccomp (default true) */
	bool leases; /* lease facts to peers of ours instead of refreshing them (default true) */
	uint32_t quiet_period; /* s, the Alive period of quiet pairs (core/quiet.c); 0 = never */
	bool dormant; /* idle pairs send nothing (core/quiet.c); default true */
	/* Each peer's share of what it can make us keep (core/factset.h). */
	uint32_t quota_facts, quota_endpoints, quota_allowed_ips;
	uint32_t quota_new_members, quota_new_members_per_min;
	/* The control socket's group ("" = root only) and the metrics file
	 * ("" = none). */
	char control_group[CONFIG_GROUP_MAX];
	char metrics_file[PATH_MAX];

	/* File-only settings. */
	size_t n_peers;
	struct wl_config_peer *peers;
	size_t n_report_ifaces;
	char **report_ifaces; /* shell globs */
	size_t n_hide_ifaces;
	char **hide_ifaces; /* shell globs; hide wins over report */

	/* Where the settings came from (environment and flags only). */
	char config_path[PATH_MAX]; /* directory searched for the file */
	char *config_file;          /* the file read; NULL if there was none */

	/* Modes (environment and flags only): what to do instead of running. */
	bool dump;         /* print the effective config as JSON and exit */
	bool check_config; /* validate the config and exit */
	bool show_help;    /* --help: nothing else was read */
	bool show_version; /* --version: nothing else was read */
};

/* Builds the effective configuration.
 *   argc/argv  the command line; argv[0] (the program name) is skipped.
 *              Positional arguments are an error.
 *   envp       the environment as "NAME=value" strings, NULL-terminated
 *              (pass `environ` in the daemon; tests pass their own so they
 *              never depend on the caller's environment). NULL = empty.
 *              Only WIRELINK_* variables are looked at; an unknown one is
 *              an error, an empty value counts as unset.
 * On --help or --version, returns CONFIG_OK with show_help/show_version set
 * and neither the environment nor the file read. On success *out owns a
 * new config; on failure *out is NULL and err holds the message. */
int config_load(int argc, char **argv, char **envp, struct wl_config **out,
		char *err, size_t errlen);

void config_free(struct wl_config *cfg); /* NULL is fine */

/* A configuration holding only the defaults (what config_load starts
 * from), for programs that build one directly: the simulator fills in its
 * peers. Every string and array it then hangs on the object must come
 * from malloc, as config_free frees them. NULL when out of memory. */
struct wl_config *config_new(void);

/* Prints the effective configuration as one line of JSON, keys spelled as
 * in config files (Iface, Port, Router, ...), so that the output used as
 * wirelink.<iface>.json yields the same configuration. */
void config_dump(const struct wl_config *cfg, FILE *f);

/* The man-page-like --help text. */
void config_print_help(FILE *f);

/* A subcommand of the binary, for the man page's COMMANDS. */
struct config_doc_command {
	const char *name;    /* "dev" */
	const char *usage;   /* its arguments: "show IFACE [--json]" */
	const char *summary; /* one line, no final full stop */
};
/* Writes the man page wirelink(8) (section 8) or wirelink.json(5)
 * (section 5) as roff, from the same words and settings table as --help.
 * Returns 0, or -1 for another section. */
int config_print_man(FILE *f, int section, const char *version,
		     const struct config_doc_command *cmds, size_t n_cmds);
/* Every row of the settings table, one line each: "flag env key", "-" for
 * what a row does not have (key: only if a file may hold it). For tests. */
void config_print_settings(FILE *f);

/* The configured peer with this key, or NULL. */
const struct wl_config_peer *config_find_peer(const struct wl_config *cfg,
					      const uint8_t key[static WL_KEY_LEN]);

/* SPEC §11 report filter for local interface `name`: false if it matches a
 * HideIfaces glob; otherwise, if ReportIfaces is non-empty, true only if it
 * matches one of those; otherwise true. */
bool config_iface_reported(const struct wl_config *cfg, const char *name);

#endif
