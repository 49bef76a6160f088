/* Document tree -> struct wl_config: one pass for both file formats, so
 * a value means the same in YAML and JSON and is reported the same way:
 *   FILE[:LINE]: KEY.PATH: "value" is not a ... */
#include "config/config_internal.h"

#include <limits.h>
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
	size_t *peer_src; /* Peers[i] in the file of each kept peer, for messages */
};

static const char *const peer_keys[] = { "PublicKey", "Name", "Trust", "FactExchanger",
					 "Endpoints", "AllowedIPs", "Basic" };
#define N_PEER_KEYS (sizeof(peer_keys) / sizeof(peer_keys[0]))

/* "FILE[:LINE]: PATH: " for messages about node n. */
static void where(const struct walk *w, const struct cfg_node *n, char *out, size_t cap)
{
	char line[24] = "";
	if (n && n->line)
		snprintf(line, sizeof(line), ":%u", n->line);
	snprintf(out, cap, "%s%s: %s%s", w->file, line, w->path, w->plen ? ": " : "");
}

__attribute__((format(printf, 3, 4))) static int fail(struct walk *w, const struct cfg_node *n,
						      const char *fmt, ...)
{
	char msg[512], at[PATH_MAX + 300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	where(w, n, at, sizeof(at));
	cfg_errf(w->err, w->errlen, "%s%s", at, msg);
	return CONFIG_E_FILE;
}

/* Dubious input accepted anyway: one log line saying what was done. */
__attribute__((format(printf, 3, 4))) static void warn(const struct walk *w,
						       const struct cfg_node *n, const char *fmt, ...)
{
	char msg[512], at[PATH_MAX + 300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	where(w, n, at, sizeof(at));
	cfg_warnf("%s%s", at, msg);
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

/* ---- scalars, weakly typed as the original read them ----
 *
 * The original decoded with mapstructure's weakly typed input: a number or
 * boolean where a string is wanted becomes its text (true is "1"), a
 * string where a number or boolean is wanted is parsed ("" is 0 or false),
 * a number where a boolean is wanted is true unless 0. Each is accepted
 * with a warning; a value that means nothing (a list for a port, 1.5 for a
 * port, "maybe" for a boolean) is still an error. */

static int want_string(struct walk *w, const struct cfg_node *n, const char **out)
{
	switch (n->kind) {
	case CFG_STR:
	case CFG_PLAIN:
		*out = n->text;
		return CONFIG_OK;
	case CFG_INT:
	case CFG_REAL:
		*out = n->text;
		warn(w, n, "%.40s is a number, not a string; treated as the string \"%.40s\"",
		     n->text, n->text);
		return CONFIG_OK;
	case CFG_BOOL:
		*out = n->b ? "1" : "0";
		warn(w, n, "%s is a boolean, not a string; treated as the string \"%s\" (as the "
		     "original did)", n->b ? "true" : "false", *out);
		return CONFIG_OK;
	default:
		return mismatch(w, n, "a string");
	}
}

static int want_bool(struct walk *w, const struct cfg_node *n, bool *out)
{
	const char *why;
	char q[CFG_QUOTE_MAX];
	switch (n->kind) {
	case CFG_BOOL:
		*out = n->b;
		return CONFIG_OK;
	case CFG_PLAIN: /* YAML 1.1 booleans (yes, on, y, ...) are booleans in YAML */
		if (!cfg_parse_bool(n->text, out, &why))
			return bad_value(w, n, n->text, why);
		return CONFIG_OK;
	case CFG_STR:
		if (n->text[0] == '\0') {
			*out = false;
		} else if (!cfg_parse_bool(n->text, out, &why)) {
			return bad_value(w, n, n->text, why);
		}
		warn(w, n, "%s is a string, not a boolean; treated as %s", cfg_quote(n->text, q),
		     *out ? "true" : "false");
		return CONFIG_OK;
	case CFG_INT:
	case CFG_REAL:
		*out = strtod(n->text, NULL) != 0;
		warn(w, n, "%.40s is a number, not a boolean; treated as %s", n->text,
		     *out ? "true" : "false");
		return CONFIG_OK;
	default:
		return mismatch(w, n, "true or false");
	}
}

/* A JSON number written with a fraction of zero (51821.0), which the
 * original truncated to an integer like any other: it is that integer. A
 * real fraction (1.5 for a port) stays an error. */
static bool whole_real(const struct cfg_node *n)
{
	char *end;
	double v = strtod(n->text, &end);
	return *end == '\0' && v >= 0 && v <= CFG_COUNT_MAX && v == (double)(long)v;
}

/* The text of a number; *quoted when it was written as a string. */
static int want_number(struct walk *w, const struct cfg_node *n, const char *expected,
		       const char **text, bool *quoted)
{
	*quoted = n->kind == CFG_STR;
	if (n->kind == CFG_REAL && whole_real(n)) {
		warn(w, n, "%.40s is a real number, not an integer; treated as the integer %ld",
		     n->text, (long)strtod(n->text, NULL));
		/* jansson wrote it without its ".0" (%.17g) */
		*text = n->text;
		return CONFIG_OK;
	}
	if (n->kind != CFG_INT && n->kind != CFG_PLAIN && n->kind != CFG_STR)
		return mismatch(w, n, expected);
	*text = *quoted && n->text[0] == '\0' ? "0" : n->text;
	return CONFIG_OK;
}

/* A file's Iface that is not the interface it was picked for: the
 * original let the file override the default interface, which would make a
 * file named for wg0 run wirelink on another interface (and a reload move
 * it). Flags and the file name choose; the file's value is reported. */
static int other_iface(struct walk *w, const struct cfg_node *n, const char *text)
{
	char q[CFG_QUOTE_MAX];
	warn(w, n, "%s differs from the interface this file is for (%s); %s is used (the "
	     "command line and the file's name choose the interface)",
	     cfg_quote(text, q), w->cfg->iface, w->cfg->iface);
	return CONFIG_OK;
}

/* A scalar setting from the table: check the node's type, then parse its
 * text exactly as the environment and flags do. */
static int scalar_setting(struct walk *w, const struct cfg_setting *s, const struct cfg_node *n)
{
	const char *text = NULL, *why;
	bool b = false, quoted = false;
	int rc;
	switch (s->type) {
	case CT_PORT:
		rc = want_number(w, n, "an integer (0..65535)", &text, &quoted);
		break;
	case CT_COUNT:
		rc = want_number(w, n, "an integer (1..1000000)", &text, &quoted);
		break;
	case CT_QUIET:
		rc = want_number(w, n, "an integer (0, or 30..30000)", &text, &quoted);
		break;
	case CT_ROUTER:
		/* "auto" is the original's own word for auto-detection. */
		if ((n->kind == CFG_STR || n->kind == CFG_PLAIN) && !strcasecmp(n->text, "auto")) {
			text = "auto";
			rc = CONFIG_OK;
			break;
		}
		/* fall through */
	case CT_BOOL:
		rc = want_bool(w, n, &b);
		text = b ? "true" : "false";
		break;
	default:
		rc = want_string(w, n, &text);
		break;
	}
	if (rc != CONFIG_OK)
		return rc;
	if (s->type == CT_IFACE && cfg_parse_iface(text, &why) && strcmp(text, w->cfg->iface) != 0)
		return other_iface(w, n, text);
	if (!cfg_setting_apply(w->cfg, s, text, &why))
		return bad_value(w, n, quoted ? n->text : text, why);
	if (quoted) {
		char q[CFG_QUOTE_MAX];
		warn(w, n, "%s is a string, not a number; treated as the number %s",
		     cfg_quote(n->text, q), text);
	}
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

/* ---- lists of strings: globs, endpoints, CIDR prefixes ----
 *
 * As the original's viper read them: a single string where a list is
 * wanted is split at its commas ("docker*,veth*"; "" is an empty list),
 * and an empty mapping is an empty list. We also trim the spaces around
 * the parts (the original kept " 10.1.0.0/24" and then refused it), and
 * for endpoints and CIDR prefixes, where a comma is never valid, split a
 * list element with commas too. Glob lists keep their elements whole: a
 * comma may be part of a glob. Each such reading is a warning. */

struct piece {
	char *s;
	size_t idx; /* shown as [idx] in messages */
	const struct cfg_node *n;
};

struct pieces {
	struct piece *v;
	size_t n, cap;
};

static void pieces_free(struct pieces *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		free(ps->v[i].s);
	free(ps->v);
	memset(ps, 0, sizeof(*ps));
}

static int add_piece(struct walk *w, struct pieces *ps, const char *s, size_t len, size_t idx,
		     const struct cfg_node *n)
{
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 8;
		struct piece *v = realloc(ps->v, cap * sizeof(*v));
		if (!v)
			return nomem(w);
		ps->v = v;
		ps->cap = cap;
	}
	char *c = strndup(s, len);
	if (!c)
		return nomem(w);
	ps->v[ps->n++] = (struct piece){ c, idx, n };
	return CONFIG_OK;
}

/* Whether s has a comma outside [...] (a glob's bracket or an IPv6 host). */
static bool has_comma(const char *s)
{
	int depth = 0;
	for (; *s; s++) {
		depth += *s == '[' ? 1 : *s == ']' && depth > 0 ? -1 : 0;
		if (*s == ',' && depth == 0)
			return true;
	}
	return false;
}

/* Appends the comma-separated parts of s, trimmed, empty ones left out;
 * *idx numbers them when `number` is set, else all get *idx. */
static int split_commas(struct walk *w, struct pieces *ps, const char *s, size_t *idx,
			bool number, const struct cfg_node *n)
{
	int depth = 0;
	const char *part = s;
	for (const char *p = s;; p++) {
		if (*p == '[')
			depth++;
		else if (*p == ']' && depth > 0)
			depth--;
		if (*p != '\0' && (*p != ',' || depth > 0))
			continue;
		const char *a = part, *b = p;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (b > a) {
			int rc = add_piece(w, ps, a, (size_t)(b - a), *idx, n);
			if (rc != CONFIG_OK)
				return rc;
			if (number)
				++*idx;
		}
		if (*p == '\0')
			return CONFIG_OK;
		part = p + 1;
	}
}

/* The parts from `from` on as a list for a message: ["a", "b"]. */
static const char *list_text(const struct pieces *ps, size_t from, char *out, size_t cap)
{
	size_t o = 0;
	out[o++] = '[';
	for (size_t i = from; i < ps->n; i++) {
		char q[CFG_QUOTE_MAX];
		int wr = snprintf(out + o, cap - o, "%s%s", i > from ? ", " : "",
				  cfg_quote(ps->v[i].s, q));
		if (wr < 0 || (size_t)wr >= cap - o - 5) {
			snprintf(out + o, cap - o, ", ...]");
			return out;
		}
		o += (size_t)wr;
	}
	snprintf(out + o, cap - o, "]");
	return out;
}

static int collect_strings(struct walk *w, const struct cfg_node *v, const char *expected,
			   bool split_items, struct pieces *ps)
{
	char q[CFG_QUOTE_MAX], l[320];
	const char *s = NULL;
	size_t idx = 0;
	int rc;
	switch (v->kind) {
	case CFG_NULL:
		return CONFIG_OK;
	case CFG_MAP:
		if (v->n)
			return mismatch(w, v, expected);
		warn(w, v, "an empty mapping, not a list; treated as an empty list");
		return CONFIG_OK;
	case CFG_LIST:
		for (size_t i = 0; i < v->n; i++) {
			size_t old = push_index(w, i), from = ps->n;
			const struct cfg_node *c = &v->child[i];
			if ((rc = want_string(w, c, &s)) != CONFIG_OK)
				return rc;
			idx = i;
			if (!split_items || !has_comma(s)) {
				rc = add_piece(w, ps, s, strlen(s), i, c);
			} else if ((rc = split_commas(w, ps, s, &idx, false, c)) == CONFIG_OK) {
				warn(w, c, "%s holds several values separated by commas; treated as %s",
				     cfg_quote(s, q), list_text(ps, from, l, sizeof(l)));
			}
			if (rc != CONFIG_OK)
				return rc;
			pop(w, old);
		}
		return CONFIG_OK;
	default:
		if ((rc = want_string(w, v, &s)) != CONFIG_OK)
			return rc;
		if ((rc = split_commas(w, ps, s, &idx, true, v)) != CONFIG_OK)
			return rc;
		warn(w, v, "%s is a single string, not a list; treated as the list %s",
		     cfg_quote(s, q), list_text(ps, 0, l, sizeof(l)));
		return CONFIG_OK;
	}
}

/* ---- ReportIfaces / HideIfaces ---- */

static int globs(struct walk *w, const struct cfg_node *n, char ***v, size_t *count)
{
	/* A repeated key cannot get here (duplicates are refused first). */
	struct pieces ps = { 0 };
	int rc = collect_strings(w, n, "a list of interface name globs", false, &ps);
	if (rc == CONFIG_OK && ps.n && !(*v = calloc(ps.n, sizeof(**v))))
		rc = nomem(w);
	for (size_t i = 0; i < ps.n && rc == CONFIG_OK; i++) {
		const char *why = NULL;
		size_t old = push_index(w, ps.v[i].idx);
		if (!cfg_parse_glob(ps.v[i].s, &why)) {
			rc = bad_value(w, ps.v[i].n, ps.v[i].s, why);
			break;
		}
		(*v)[(*count)++] = ps.v[i].s;
		ps.v[i].s = NULL;
		pop(w, old);
	}
	pieces_free(&ps);
	return rc;
}

/* ---- Peers ---- */

static int endpoints(struct walk *w, struct wl_config_peer *p, const struct cfg_node *v)
{
	struct pieces ps = { 0 };
	char q[CFG_QUOTE_MAX];
	int rc = collect_strings(w, v, "a list of endpoints (host:port)", true, &ps);
	if (rc == CONFIG_OK && ps.n > CONFIG_MAX_PEER_ENDPOINTS)
		rc = fail(w, v, "%zu endpoints, more than the %d a peer may have "
			  "(the daemon would use only the first %d)",
			  ps.n, CONFIG_MAX_PEER_ENDPOINTS, CONFIG_MAX_PEER_ENDPOINTS);
	if (rc == CONFIG_OK && ps.n && !(p->endpoints = calloc(ps.n, sizeof(*p->endpoints))))
		rc = nomem(w);
	for (size_t i = 0; i < ps.n && rc == CONFIG_OK; i++) {
		const char *s = ps.v[i].s, *why = NULL;
		char host[CFG_HOST_MAX];
		uint16_t port;
		size_t old = push_index(w, ps.v[i].idx);
		if (!cfg_parse_endpoint(s, host, &port, &why)) {
			rc = bad_value(w, ps.v[i].n, s, why);
			break;
		}
		if (cfg_endpoint_port_is_name(s))
			warn(w, ps.v[i].n, "%s names its port; treated as port %u (the UDP service "
			     "of that name, looked up once now)", cfg_quote(s, q), (unsigned)port);
		if (strchr(host, '%'))
			warn(w, ps.v[i].n, "%s has a zone; the zone is kept for resolving the address, "
			     "but this version does not pass it on to WireGuard", cfg_quote(s, q));
		if (!(p->endpoints[i].host = strdup(host))) {
			rc = nomem(w);
			break;
		}
		p->endpoints[i].port = port;
		p->n_endpoints++;
		pop(w, old);
	}
	pieces_free(&ps);
	return rc;
}

static int allowed_ips(struct walk *w, struct wl_config_peer *p, const struct cfg_node *v)
{
	struct pieces ps = { 0 };
	int rc = collect_strings(w, v, "a list of CIDR prefixes", true, &ps);
	if (rc == CONFIG_OK && ps.n && !(p->allowed_ips = calloc(ps.n, sizeof(*p->allowed_ips))))
		rc = nomem(w);
	for (size_t i = 0; i < ps.n && rc == CONFIG_OK; i++) {
		const char *why = NULL;
		size_t old = push_index(w, ps.v[i].idx);
		if (!cfg_parse_cidr(ps.v[i].s, &p->allowed_ips[i], &why)) {
			rc = bad_value(w, ps.v[i].n, ps.v[i].s, why);
			break;
		}
		p->n_allowed_ips++;
		pop(w, old);
	}
	pieces_free(&ps);
	return rc;
}

/* A Name: the original sent any text; receivers need only accept 1..16
 * bytes of printable UTF-8 without spaces (SPEC §3), and one that is not
 * accepted may cost a whole group of facts at an original peer. So the
 * name kept (sent, logged, shown) is the text made sendable, with a
 * warning; an empty name is no name. */
static int peer_name(struct walk *w, struct wl_config_peer *p, const struct cfg_node *v)
{
	const char *s = NULL, *why = NULL;
	char fixed[CFG_NAME_MAX], q[CFG_QUOTE_MAX], q2[CFG_QUOTE_MAX];
	int rc = want_string(w, v, &s);
	if (rc != CONFIG_OK)
		return rc;
	if (*s == '\0') {
		warn(w, v, "\"\" is an empty name; treated as no name");
		return CONFIG_OK;
	}
	if (!cfg_parse_name(s, &why)) {
		if (!cfg_name_sendable_form(s, fixed))
			return bad_value(w, v, s, why);
		warn(w, v, "%s is longer than 16 bytes or has spaces or control characters, which "
		     "peers need not accept; treated as %s (spaces and control characters become "
		     "'_', cut to 16 bytes)", cfg_quote(s, q), cfg_quote(fixed, q2));
		s = fixed;
	}
	return (p->name = strdup(s)) ? CONFIG_OK : nomem(w);
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
	case 1:
		return peer_name(w, p, v);
	case 2: /* Trust */
		if ((rc = want_string(w, v, &s)) != CONFIG_OK)
			return rc;
		if (*s == '\0') { /* the original: "" = not set */
			warn(w, v, "\"\" is an empty trust level; treated as no trust set");
			return CONFIG_OK;
		}
		return cfg_parse_trust(s, &p->trust, &why) ? CONFIG_OK : bad_value(w, v, s, why);
	case 3:
		return want_bool(w, v, &p->fact_exchanger);
	case 4:
		return endpoints(w, p, v);
	case 5:
		return allowed_ips(w, p, v);
	case 6: {
		bool basic = false;
		int r = want_bool(w, v, &basic);
		p->basic = basic ? WL_YES : WL_NO;
		return r;
	}
	}
	return CONFIG_E_FILE;
}

/* The peer just parsed into slot k, whose key an earlier entry has too:
 * the original kept peers in a map by key, so the later entry wins. */
static void later_peer_wins(struct walk *w, const struct cfg_node *m, size_t k)
{
	struct wl_config *cfg = w->cfg;
	struct wl_config_peer *p = &cfg->peers[k];
	for (size_t j = 0; j < k; j++) {
		if (memcmp(cfg->peers[j].public_key, p->public_key, WL_KEY_LEN) != 0)
			continue;
		char b64[WL_KEY_B64_LEN];
		size_t old = push_key(w, "PublicKey");
		warn(w, m, "\"%s\" is also the key of Peers[%zu]; the later entry wins (Peers[%zu] "
		     "is ignored)", key_to_base64(p->public_key, b64), w->peer_src[j], w->peer_src[j]);
		pop(w, old);
		cfg_peer_clear(&cfg->peers[j]);
		cfg->peers[j] = *p;
		w->peer_src[j] = w->peer_src[k];
		memset(p, 0, sizeof(*p));
		cfg->n_peers--;
		return;
	}
}

static int peer_item(struct walk *w, const struct cfg_node *m, size_t i, void *ctx)
{
	struct wl_config *cfg = w->cfg;
	size_t slot = cfg->n_peers;
	struct wl_config_peer *p = &cfg->peers[slot];
	(void)ctx;
	if (m->kind != CFG_MAP)
		return mismatch(w, m, "a mapping (PublicKey, Name, Trust, ...)");
	p->trust = TRUST_UNSET;
	w->peer_src[slot] = i;
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
	later_peer_wins(w, m, slot);
	return CONFIG_OK;
}

static int peers(struct walk *w, const struct cfg_node *n)
{
	size_t count = n->kind == CFG_LIST ? n->n : n->kind == CFG_MAP ? 1 : 0;
	if (n->kind == CFG_MAP && n->n == 0) {
		warn(w, n, "an empty mapping, not a list; treated as no peers");
		return CONFIG_OK;
	}
	if (n->kind != CFG_LIST && n->kind != CFG_MAP)
		return mismatch(w, n, "a list of peers");
	if (count && (!(w->cfg->peers = calloc(count, sizeof(*w->cfg->peers))) ||
		      !(w->peer_src = calloc(count, sizeof(*w->peer_src)))))
		return nomem(w);
	if (n->kind == CFG_LIST)
		return each_item(w, n, "a list of peers", peer_item, NULL);
	/* One mapping: mapstructure made it a list of one. */
	warn(w, n, "a single peer (a mapping), not a list; treated as a list of one peer");
	return peer_item(w, n, 0, NULL);
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

/* Keys the original's own --dump writes that are not settings of a file:
 * accepted and ignored, with a warning, so that its dump loads. */
static bool ignored_key(struct walk *w, const char *key, const struct cfg_node *v)
{
	static const char *const modes[] = { "Dump", "Help", "Version" };
	char q[CFG_QUOTE_MAX];
	if (strcasecmp(key, "config-path") == 0) {
		warn(w, v, "%s ignored: a config file cannot choose the directory it is read from "
		     "(use --config-path or WIRELINK_CONFIG_PATH)", describe(v, q));
		return true;
	}
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcasecmp(key, modes[i]) == 0) {
			warn(w, v, "%s ignored: a mode of the command line, not a setting of a file",
			     describe(v, q));
			return true;
		}
	}
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
		if (rc == CONFIG_OK && ignored_key(w, key, v)) {
			pop(w, old);
			continue;
		}
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
		free(w.peer_src);
	}
	cfg_node_free(&root);
	return rc;
}
