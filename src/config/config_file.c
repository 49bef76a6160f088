/* Document tree -> struct wl_config: one pass for both file formats, so
 * a value means the same in YAML and JSON and is reported the same way:
 *   FILE[:LINE]: KEY.PATH: "value" is not a ... */
#include "config/config_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct walk {
	struct wl_config *cfg;
	const char *file;
	char *err;
	size_t errlen;
	char path[256];
	size_t plen;
};

static const char *const peer_keys[] = { "PublicKey", "Name", "Trust", "FactExchanger",
					 "Endpoints", "AllowedIPs", "Basic" };
#define N_PEER_KEYS (sizeof(peer_keys) / sizeof(peer_keys[0]))

__attribute__((format(printf, 3, 4))) static int fail(struct walk *w, const struct cfg_node *n,
						      const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char where[64] = "";
	if (n && n->line)
		snprintf(where, sizeof(where), ":%u", n->line);
	if (w->plen)
		cfg_errf(w->err, w->errlen, "%s%s: %s: %s", w->file, where, w->path, msg);
	else
		cfg_errf(w->err, w->errlen, "%s%s: %s", w->file, where, msg);
	return CONFIG_E_FILE;
}

static int nomem(struct walk *w)
{
	cfg_errf(w->err, w->errlen, "out of memory");
	return CONFIG_E_NOMEM;
}

static size_t push_key(struct walk *w, const char *key)
{
	size_t old = w->plen;
	if (old < sizeof(w->path))
		snprintf(w->path + old, sizeof(w->path) - old, "%s%s", old ? "." : "", key);
	w->plen = strlen(w->path);
	return old;
}

static size_t push_index(struct walk *w, size_t i)
{
	size_t old = w->plen;
	snprintf(w->path + old, sizeof(w->path) - old, "[%zu]", i);
	w->plen = strlen(w->path);
	return old;
}

static void pop(struct walk *w, size_t old)
{
	w->path[old] = '\0';
	w->plen = old;
}

/* What a node is, for "expected X, got Y" messages. */
static const char *describe(const struct cfg_node *n, char out[static CFG_QUOTE_MAX])
{
	switch (n->kind) {
	case CFG_NULL: return "null";
	case CFG_BOOL: return n->b ? "true" : "false";
	case CFG_INT:
	case CFG_REAL: snprintf(out, CFG_QUOTE_MAX, "%.40s", n->text); return out;
	case CFG_STR:
	case CFG_PLAIN: return cfg_quote(n->text, out);
	case CFG_LIST: return "a list";
	case CFG_MAP: return "a mapping";
	}
	return "?";
}

static int mismatch(struct walk *w, const struct cfg_node *n, const char *expected)
{
	char q[CFG_QUOTE_MAX];
	return fail(w, n, "expected %s, got %s", expected, describe(n, q));
}

static int bad_value(struct walk *w, const struct cfg_node *n, const char *text, const char *why)
{
	char q[CFG_QUOTE_MAX];
	return fail(w, n, "%s %s", cfg_quote(text, q), why);
}

static int want_string(struct walk *w, const struct cfg_node *n, const char **out)
{
	if ((n->kind != CFG_STR && n->kind != CFG_PLAIN) || !n->text)
		return mismatch(w, n, "a string");
	*out = n->text;
	return CONFIG_OK;
}

static int want_bool(struct walk *w, const struct cfg_node *n, bool *out)
{
	const char *why;
	if (n->kind == CFG_BOOL) {
		*out = n->b;
		return CONFIG_OK;
	}
	if (n->kind != CFG_PLAIN || !n->text)
		return mismatch(w, n, "true or false");
	if (!cfg_parse_bool(n->text, out, &why))
		return bad_value(w, n, n->text, why);
	return CONFIG_OK;
}

/* A scalar setting from the table: check the node's type, then parse its
 * text exactly as the environment and flags do. */
static int scalar_setting(struct walk *w, const struct cfg_setting *s, const struct cfg_node *n)
{
	const char *text = NULL, *why;
	bool b = false;
	int rc;
	switch (s->type) {
	case CT_PORT:
		if ((n->kind != CFG_INT && n->kind != CFG_PLAIN) || !n->text)
			return mismatch(w, n, "an integer (0..65535)");
		text = n->text;
		break;
	case CT_COUNT:
		if ((n->kind != CFG_INT && n->kind != CFG_PLAIN) || !n->text)
			return mismatch(w, n, "an integer (1..1000000)");
		text = n->text;
		break;
	case CT_BOOL:
	case CT_ROUTER:
		if ((rc = want_bool(w, n, &b)) != CONFIG_OK)
			return rc;
		text = b ? "true" : "false";
		break;
	default:
		if ((rc = want_string(w, n, &text)) != CONFIG_OK)
			return rc;
		break;
	}
	if (s->type == CT_IFACE && cfg_parse_iface(text, &why) && strcmp(text, w->cfg->iface) != 0) {
		char q[CFG_QUOTE_MAX];
		return fail(w, n, "%s does not match the interface this file is for (%s)",
			    cfg_quote(text, q), w->cfg->iface);
	}
	if (!cfg_setting_apply(w->cfg, s, text, &why))
		return bad_value(w, n, text, why);
	return CONFIG_OK;
}

/* Keys are case-insensitive, so "trust" after "Trust" is a duplicate. */
static int check_duplicate(struct walk *w, const struct cfg_node *map, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (strcasecmp(map->keys[j], map->keys[i]) == 0) {
			char q[CFG_QUOTE_MAX];
			return fail(w, &map->child[i], "duplicate key (already given as %s)",
				    cfg_quote(map->keys[j], q));
		}
	return CONFIG_OK;
}

static int unknown_key(struct walk *w, const struct cfg_node *n, const char *const *known,
		       size_t nknown)
{
	char list[256] = "";
	size_t k = 0;
	for (size_t i = 0; i < nknown; i++) {
		int wr = snprintf(list + k, sizeof(list) - k, "%s%s", i ? ", " : "", known[i]);
		if (wr < 0 || (size_t)wr >= sizeof(list) - k)
			break;
		k += (size_t)wr;
	}
	return fail(w, n, "unknown key (known keys: %s)", list);
}

/* Calls item(w, node, i, ctx) for each element of a list (null = empty). */
typedef int (*item_fn)(struct walk *w, const struct cfg_node *n, size_t i, void *ctx);

static int each_item(struct walk *w, const struct cfg_node *list, const char *expected,
		     item_fn item, void *ctx)
{
	if (list->kind == CFG_NULL)
		return CONFIG_OK;
	if (list->kind != CFG_LIST)
		return mismatch(w, list, expected);
	for (size_t i = 0; i < list->n; i++) {
		size_t old = push_index(w, i);
		int rc = item(w, &list->child[i], i, ctx);
		if (rc != CONFIG_OK)
			return rc;
		pop(w, old);
	}
	return CONFIG_OK;
}

/* ---- ReportIfaces / HideIfaces ---- */

struct glob_list {
	char ***v;
	size_t *n;
};

static int glob_item(struct walk *w, const struct cfg_node *n, size_t i, void *ctx)
{
	struct glob_list *g = ctx;
	const char *s = NULL, *why = NULL;
	int rc = want_string(w, n, &s);
	if (rc != CONFIG_OK)
		return rc;
	if (!cfg_parse_glob(s, &why))
		return bad_value(w, n, s, why);
	if (!((*g->v)[i] = strdup(s)))
		return nomem(w);
	(*g->n)++;
	return CONFIG_OK;
}

static int globs(struct walk *w, const struct cfg_node *n, char ***v, size_t *count)
{
	/* A repeated key cannot get here (duplicates are refused first). */
	if (n->kind == CFG_LIST && n->n && !(*v = calloc(n->n, sizeof(**v))))
		return nomem(w);
	struct glob_list g = { v, count };
	return each_item(w, n, "a list of interface name globs", glob_item, &g);
}

/* ---- Peers ---- */

static int endpoint_item(struct walk *w, const struct cfg_node *n, size_t i, void *ctx)
{
	struct wl_config_peer *p = ctx;
	const char *s = NULL, *why = NULL;
	char host[CFG_HOST_MAX];
	uint16_t port;
	int rc = want_string(w, n, &s);
	if (rc != CONFIG_OK)
		return rc;
	if (!cfg_parse_endpoint(s, host, &port, &why))
		return bad_value(w, n, s, why);
	if (!(p->endpoints[i].host = strdup(host)))
		return nomem(w);
	p->endpoints[i].port = port;
	p->n_endpoints++;
	return CONFIG_OK;
}

static int allowed_item(struct walk *w, const struct cfg_node *n, size_t i, void *ctx)
{
	struct wl_config_peer *p = ctx;
	const char *s = NULL, *why = NULL;
	int rc = want_string(w, n, &s);
	if (rc != CONFIG_OK)
		return rc;
	if (!cfg_parse_cidr(s, &p->allowed_ips[i], &why))
		return bad_value(w, n, s, why);
	p->n_allowed_ips++;
	return CONFIG_OK;
}

static int peer_field(struct walk *w, struct wl_config_peer *p, size_t which,
		      const struct cfg_node *v, bool *have_key)
{
	const char *s = NULL, *why = NULL;
	int rc;
	switch (which) {
	case 0: /* PublicKey */
		if ((rc = want_string(w, v, &s)) != CONFIG_OK)
			return rc;
		if (!cfg_parse_key(s, p->public_key, &why))
			return bad_value(w, v, s, why);
		*have_key = true;
		return CONFIG_OK;
	case 1: /* Name */
		if ((rc = want_string(w, v, &s)) != CONFIG_OK)
			return rc;
		if (!cfg_parse_name(s, &why))
			return bad_value(w, v, s, why);
		return (p->name = strdup(s)) ? CONFIG_OK : nomem(w);
	case 2: /* Trust */
		if ((rc = want_string(w, v, &s)) != CONFIG_OK)
			return rc;
		return cfg_parse_trust(s, &p->trust, &why) ? CONFIG_OK : bad_value(w, v, s, why);
	case 3:
		return want_bool(w, v, &p->fact_exchanger);
	case 4:
		if (v->kind == CFG_LIST && v->n > CONFIG_MAX_PEER_ENDPOINTS)
			return fail(w, v, "%zu endpoints, more than the %d a peer may have "
				    "(the daemon would use only the first %d)",
				    v->n, CONFIG_MAX_PEER_ENDPOINTS, CONFIG_MAX_PEER_ENDPOINTS);
		if (v->kind == CFG_LIST && v->n &&
		    !(p->endpoints = calloc(v->n, sizeof(*p->endpoints))))
			return nomem(w);
		return each_item(w, v, "a list of endpoints (host:port)", endpoint_item, p);
	case 5:
		if (v->kind == CFG_LIST && v->n &&
		    !(p->allowed_ips = calloc(v->n, sizeof(*p->allowed_ips))))
			return nomem(w);
		return each_item(w, v, "a list of CIDR prefixes", allowed_item, p);
	case 6: {
		bool basic = false;
		int r = want_bool(w, v, &basic);
		p->basic = basic ? WL_YES : WL_NO;
		return r;
	}
	}
	return CONFIG_E_FILE;
}

static int peer_item(struct walk *w, const struct cfg_node *m, size_t i, void *ctx)
{
	struct wl_config *cfg = w->cfg;
	struct wl_config_peer *p = &cfg->peers[i];
	(void)ctx;
	if (m->kind != CFG_MAP)
		return mismatch(w, m, "a mapping (PublicKey, Name, Trust, ...)");
	p->trust = TRUST_UNSET;
	cfg->n_peers++; /* counted now so config_free() releases what follows */
	bool have_key = false;
	for (size_t k = 0; k < m->n; k++) {
		const struct cfg_node *v = &m->child[k];
		size_t which = 0;
		while (which < N_PEER_KEYS && strcasecmp(m->keys[k], peer_keys[which]) != 0)
			which++;
		size_t old = push_key(w, which < N_PEER_KEYS ? peer_keys[which] : m->keys[k]);
		int rc = check_duplicate(w, m, k);
		if (rc == CONFIG_OK && which == N_PEER_KEYS)
			rc = unknown_key(w, v, peer_keys, N_PEER_KEYS);
		if (rc == CONFIG_OK && v->kind != CFG_NULL)
			rc = peer_field(w, p, which, v, &have_key);
		if (rc != CONFIG_OK)
			return rc;
		pop(w, old);
	}
	if (!have_key)
		return fail(w, m, "PublicKey is missing");
	for (size_t j = 0; j < i; j++) {
		if (memcmp(cfg->peers[j].public_key, p->public_key, WL_KEY_LEN) == 0) {
			char b64[WL_KEY_B64_LEN];
			push_key(w, "PublicKey");
			return fail(w, m, "\"%s\" is already used by Peers[%zu]",
				    key_to_base64(p->public_key, b64), j);
		}
	}
	return CONFIG_OK;
}

static int peers(struct walk *w, const struct cfg_node *n)
{
	if (n->kind == CFG_LIST && n->n && !(w->cfg->peers = calloc(n->n, sizeof(*w->cfg->peers))))
		return nomem(w);
	return each_item(w, n, "a list of peers", peer_item, NULL);
}

/* ---- top level ---- */

static int top_key(struct walk *w, const char *key, const struct cfg_node *v)
{
	const struct cfg_setting *s = cfg_setting_by_key(key);
	if (v->kind == CFG_NULL)
		return CONFIG_OK; /* null = as if absent: the default stays */
	if (s)
		return scalar_setting(w, s, v);
	if (strcasecmp(key, "Peers") == 0)
		return peers(w, v);
	if (strcasecmp(key, "ReportIfaces") == 0)
		return globs(w, v, &w->cfg->report_ifaces, &w->cfg->n_report_ifaces);
	if (strcasecmp(key, "HideIfaces") == 0)
		return globs(w, v, &w->cfg->hide_ifaces, &w->cfg->n_hide_ifaces);
	return CONFIG_E_FILE; /* unreachable: unknown keys are caught by walk_root */
}

static bool known_top_key(const char *key)
{
	if (cfg_setting_by_key(key))
		return true;
	for (size_t i = 0; i < 3; i++)
		if (strcasecmp(key, cfg_file_only_keys[i]) == 0)
			return true;
	return false;
}

static int walk_root(struct walk *w, const struct cfg_node *root)
{
	static const char *const known[] = { "Iface",	     "Port",	      "Router",
					     "Chatty",	     "Debug",	      "Backend",
					     "PortMapping",  "ControlGroup", "MetricsFile", "Peers",	      "ReportIfaces",
					     "HideIfaces" };
	if (root->kind != CFG_MAP)
		return mismatch(w, root, "a mapping of settings at the top level");
	for (size_t i = 0; i < root->n; i++) {
		const char *key = root->keys[i];
		const struct cfg_node *v = &root->child[i];
		const struct cfg_setting *s = cfg_setting_by_key(key);
		size_t old = push_key(w, s ? s->key : key);
		int rc = check_duplicate(w, root, i);
		if (rc == CONFIG_OK && !known_top_key(key)) {
			for (size_t k = 0; k < cfg_n_settings; k++)
				if (strcasecmp(cfg_settings[k].key, key) == 0)
					return fail(w, v, "can only be set by a flag or the environment");
			rc = unknown_key(w, v, known, sizeof(known) / sizeof(known[0]));
		}
		if (rc == CONFIG_OK) {
			if (!s) { /* canonical spelling of a file-only key */
				pop(w, old);
				for (size_t k = 0; k < 3; k++)
					if (strcasecmp(key, cfg_file_only_keys[k]) == 0)
						push_key(w, cfg_file_only_keys[k]);
			}
			rc = top_key(w, key, v);
		}
		if (rc != CONFIG_OK)
			return rc;
		pop(w, old);
	}
	return CONFIG_OK;
}

/* A config file is text: a NUL byte is refused wherever it is, in both
 * formats alike, saying where. Left to the parsers, jansson takes it for
 * the end of the input ("end of file expected near end of file") and
 * libyaml calls it a control character at 1:1. (UTF-16 and UTF-32 files,
 * which libyaml would read, have NUL bytes too: config files are UTF-8.) */
static int no_nul(const char *file, const char *buf, size_t len, char *err, size_t errlen)
{
	const char *z = memchr(buf, '\0', len);
	if (!z)
		return CONFIG_OK;
	size_t off = (size_t)(z - buf);
	unsigned line, col;
	cfg_text_pos(buf, off, &line, &col);
	cfg_errf(err, errlen, "%s:%u:%u: a NUL byte at byte offset %zu (config files are UTF-8 text)",
		 file, line, col, off);
	return CONFIG_E_FILE;
}

int cfg_file_parse(struct wl_config *cfg, const char *file, enum cfg_format fmt,
		   const char *buf, size_t len, char *err, size_t errlen)
{
	struct cfg_node root = { 0 };
	int rc = no_nul(file, buf, len, err, errlen);
	if (rc == CONFIG_OK)
		rc = fmt == CFG_FORMAT_JSON ? cfg_json_to_tree(file, buf, len, &root, err, errlen)
					    : cfg_yaml_to_tree(file, buf, len, &root, err, errlen);
	if (rc == CONFIG_OK) {
		struct walk w = { .cfg = cfg, .file = file, .err = err, .errlen = errlen };
		rc = walk_root(&w, &root);
	}
	cfg_node_free(&root);
	return rc;
}
