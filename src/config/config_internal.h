/* Internals shared by the files of src/config/ (not for other modules,
 * except the config fuzzer, which drives cfg_file_parse() directly).
 *
 *   config_value.c     validators for every kind of value
 *   config_settings.c  the table of scalar settings (flag, env, file key)
 *   config_tree.c      a small document tree both file formats parse into
 *   config_file_json.c JSON text -> tree (jansson)
 *   config_file_yaml.c YAML text -> tree (libyaml)
 *   config_file.c      tree -> struct wl_config, with file:line messages
 *   config_env.c       WIRELINK_* variables -> assignments
 *   config_flags.c     argv -> assignments
 *   config.c           the layering, file discovery, defaults, free
 *   config_dump.c, config_help.c
 *
 * Validators return bool; on failure *why is a static phrase that follows
 * the quoted value in a message: "\"x\" <why>".
 *
 * Drop-in compatibility with the original Go wirelink (viper + mapstructure
 * with weakly typed input, yaml.v2): input the original accepts is accepted
 * with its meaning, and where it is dubious a warning says what was done
 * (cfg_warnf). Rejections that protect users (bad keys, keys, CIDRs,
 * endpoints, ports, trust names) stay errors. */
#ifndef WL_CONFIG_INTERNAL_H
#define WL_CONFIG_INTERNAL_H

#include <stdarg.h>

#include "config/config.h"

/* ---- messages ---- */

/* The value as it appears in messages: in double quotes, control and
 * non-ASCII bytes escaped, cut to a readable length. Returns out. */
#define CFG_QUOTE_MAX 96
const char *cfg_quote(const char *s, char out[static CFG_QUOTE_MAX]);
void cfg_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The 1-based line and column of byte `off` of a file image, counted as
 * the parsers count them (a column is a UTF-8 character), so messages
 * about raw bytes point where syntax errors do. */
void cfg_text_pos(const char *buf, size_t off, unsigned *line, unsigned *col);
/* The first byte after the document that is not white space, from `off`
 * on: *at is its offset. false if there is none. */
bool cfg_trailing(const char *buf, size_t len, size_t off, size_t *at);
/* "FILE:LINE:COL: content after the document at byte offset N: "...""
 * quoting the rest of that line, then " (note)" if note is not NULL;
 * returns CONFIG_E_FILE. */
int cfg_trailing_error(const char *file, const char *buf, size_t len, size_t at,
		       const char *note, char *err, size_t errlen);

/* One warning line in the log (stderr, or the journal) for dubious input
 * that is accepted anyway: where (file[:line] and key path, or
 * "environment"), the value, and what was done ("treated as ..."). Made one
 * printable line like error messages. */
void cfg_warnf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- validators ---- */

bool cfg_parse_bool(const char *s, bool *out, const char **why);
bool cfg_parse_port(const char *s, uint16_t *out, const char **why);
bool cfg_parse_iface(const char *s, const char **why);
bool cfg_parse_backend(const char *s, enum wgdev_backend *out, const char **why);
bool cfg_parse_path(const char *s, const char **why);
bool cfg_parse_trust(const char *s, enum wl_trust *out, const char **why);
bool cfg_parse_key(const char *s, uint8_t key[static WL_KEY_LEN], const char **why);
bool cfg_parse_name(const char *s, const char **why);
/* host:port, [v6]:port, [v6%zone]:port; the host (brackets stripped, a zone
 * kept as "addr%zone") goes to host. The port is a number or a UDP service
 * name, looked up in the services database (/etc/services) now, at load, as
 * the original's net.LookupPort did; *service is set when it was a name. */
#define CFG_HOST_MAX 256
bool cfg_parse_endpoint(const char *s, char host[static CFG_HOST_MAX], uint16_t *port,
			const char **why);
/* Whether an endpoint as written names its port by a service name. */
bool cfg_endpoint_port_is_name(const char *s);
/* A name every receiver accepts (member_name_sendable) from any UTF-8
 * text: control characters and spaces become '_', then it is cut to
 * META_NAME_SEND_MAX bytes at a character boundary. out holds 17 bytes.
 * False if nothing sendable is left (empty input). */
#define CFG_NAME_MAX 17
bool cfg_name_sendable_form(const char *s, char out[static CFG_NAME_MAX]);
/* addr/len; the result is masked. */
bool cfg_parse_cidr(const char *s, struct wl_cidr *out, const char **why);
/* A shell glob fnmatch() accepts: non-empty, brackets closed, known
 * [:classes:], no trailing backslash. */
bool cfg_parse_glob(const char *s, const char **why);

/* ---- scalar settings ---- */

#define CFG_COUNT_MAX 1000000
#define CFG_QUIET_MIN 30
#define CFG_QUIET_MAX 30000
/* A count: a whole number 1..CFG_COUNT_MAX. */
bool cfg_parse_count(const char *s, uint32_t *out, const char **why);
bool cfg_parse_quiet(const char *s, uint32_t *out, const char **why);
/* A group name (as useradd allows: [a-z_][a-z0-9_-]*, at most 31 bytes)
 * or a number; "" clears it. Whether the group exists is the daemon's
 * question, at start. */
bool cfg_parse_group(const char *s, const char **why);
/* An absolute path of a file (not ending in '/'); "" clears it. */
bool cfg_parse_file(const char *s, const char **why);

enum cfg_type {
	CT_IFACE,
	CT_PORT,
	CT_COUNT,  /* uint32_t, 1..CFG_COUNT_MAX */
	CT_QUIET,  /* uint32_t seconds, 0 or CFG_QUIET_MIN..CFG_QUIET_MAX */
	CT_ROUTER, /* tri-state bool */
	CT_BOOL,
	CT_BACKEND,
	CT_LOG_TIME,
	CT_PATH,
	CT_GROUP, /* char[CONFIG_GROUP_MAX]: a group name or number, "" = none */
	CT_FILE,  /* char[PATH_MAX]: an absolute file path, "" = none */
	CT_HELP,    /* flag only, no value */
	CT_VERSION, /* flag only, no value */
};

enum {
	CFG_SRC_FILE = 1u << 0,
	CFG_SRC_ENV = 1u << 1,
	CFG_SRC_FLAG = 1u << 2,
};

struct cfg_setting {
	const char *key;  /* file spelling (also in --dump), e.g. "Iface" */
	const char *flag; /* long flag without "--", e.g. "iface" */
	char short_flag;  /* 0 if none */
	const char *env;  /* e.g. "WIRELINK_IFACE"; NULL if none */
	enum cfg_type type;
	unsigned sources;
	size_t offset;       /* of the field in struct wl_config */
	const char *metavar; /* shown in --help: NAME, N, BOOL, ... */
	const char *deflt;   /* shown in --help */
	const char *help;
};

extern const struct cfg_setting cfg_settings[];
extern const size_t cfg_n_settings;

/* Case-insensitive lookup among settings a file may hold. */
const struct cfg_setting *cfg_setting_by_key(const char *key);
/* Parses text for setting s and stores it in cfg. Never allocates. */
bool cfg_setting_apply(struct wl_config *cfg, const struct cfg_setting *s,
		       const char *text, const char **why);
/* Whether the flag takes a value: never (help, version), optionally
 * (booleans: --x or --x=BOOL) or always. */
enum cfg_arg { CFG_ARG_NONE, CFG_ARG_OPTIONAL, CFG_ARG_REQUIRED };
enum cfg_arg cfg_setting_arg(const struct cfg_setting *s);

/* How the manual shows a setting (config_help.c; the man pages use them
 * too): its flag head "-i, --iface NAME"; "Environment: X. Default: Y.
 * Config file key: Z." (empty when it has none of them); and its word in
 * the synopsis, "[-i NAME]" (false for --help and --version). */
void cfg_option_head(const struct cfg_setting *s, char *out, size_t len);
void cfg_option_sources(const struct cfg_setting *s, char *out, size_t len);
bool cfg_synopsis_word(const struct cfg_setting *s, char *out, size_t len);

/* Names of the file-only settings, for messages. */
extern const char *const cfg_file_only_keys[3];
extern const char *const cfg_file_only_env[3];

/* One value for one setting from the environment or the command line. The
 * value points into argv/envp (or a literal "true"). */
struct cfg_assign {
	const struct cfg_setting *s;
	const char *value;
	char origin[48]; /* "--port", "-i", "WIRELINK_PORT" */
};

/* Collect assignments, checking names and arity but not values. Return
 * CONFIG_OK, or CONFIG_E_USAGE / CONFIG_E_NOMEM with err set. *out is
 * malloc'ed (free it), possibly NULL when *n is 0. */
int cfg_env_collect(char **envp, struct cfg_assign **out, size_t *n, char *err,
		    size_t errlen);
int cfg_flags_collect(int argc, char **argv, struct cfg_assign **out, size_t *n,
		      char *err, size_t errlen);

/* ---- document tree ---- */

enum cfg_kind {
	CFG_NULL,
	CFG_BOOL,
	CFG_INT,   /* text = decimal digits as written */
	CFG_REAL,  /* text = as written */
	CFG_STR,   /* a quoted string */
	CFG_PLAIN, /* an unquoted YAML scalar: meaning depends on the key */
	CFG_LIST,
	CFG_MAP,
};

/* Deeper than any valid config; bounds recursion on hostile input. */
#define CFG_MAX_DEPTH 32

struct cfg_node {
	enum cfg_kind kind;
	unsigned line; /* 1-based; 0 = unknown (JSON gives none) */
	bool b;
	char *text;
	size_t n, cap;
	struct cfg_node *child; /* list items, or map values */
	char **keys;            /* map: keys[i] names child[i] */
};

/* Appends a zeroed child (with key, for maps); NULL on out of memory.
 * The pointer is valid until the next append to the same parent. */
struct cfg_node *cfg_node_append(struct cfg_node *parent, const char *key, size_t keylen);
void cfg_node_free(struct cfg_node *n); /* frees what n holds, not n */

/* YAML aliases are expanded into copies (as the original's yaml.v2 did),
 * within a budget for the whole document so that an alias bomb ("billion
 * laughs") is an error rather than gigabytes: nodes, and bytes of text. */
#define CFG_YAML_MAX_NODES 100000
#define CFG_YAML_MAX_TEXT (8u << 20)
struct cfg_budget {
	size_t nodes; /* left */
	size_t text;  /* bytes left */
};
enum cfg_copy_status { CFG_COPY_OK, CFG_COPY_NOMEM, CFG_COPY_DEEP, CFG_COPY_NODES, CFG_COPY_TEXT };
/* Deep copy of src into the zeroed dst, which sits `depth` levels down;
 * charges every node and text byte to b. On failure dst holds part of the
 * copy (free it). */
enum cfg_copy_status cfg_node_copy(struct cfg_node *dst, const struct cfg_node *src, int depth,
				   struct cfg_budget *b);

enum cfg_format { CFG_FORMAT_JSON, CFG_FORMAT_YAML };

/* Text -> tree. `file` is only used in messages. */
int cfg_json_to_tree(const char *file, const char *buf, size_t len, struct cfg_node *root,
		     char *err, size_t errlen);
int cfg_yaml_to_tree(const char *file, const char *buf, size_t len, struct cfg_node *root,
		     char *err, size_t errlen);

/* Parses a whole file image in either format into cfg, whose iface must
 * already be set (a file's Iface key must agree with it). On error cfg may
 * hold part of the file: the caller discards it. */
int cfg_file_parse(struct wl_config *cfg, const char *file, enum cfg_format fmt,
		   const char *buf, size_t len, char *err, size_t errlen);

/* Frees what a peer holds and zeroes it. */
void cfg_peer_clear(struct wl_config_peer *p);

/* Defaults into a zeroed struct. */
void cfg_defaults(struct wl_config *cfg);

#endif
