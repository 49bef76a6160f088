/* YAML config files -> document tree, with libyaml's event parser (rather
 * than its document loader) so we control recursion depth, bound what
 * aliases expand to, and keep each node's line for messages.
 *
 * Plain (unquoted) scalars stay text marked CFG_PLAIN: whether "true" or
 * "51821" is a boolean, a number or a name is decided by the key it belongs
 * to. The YAML null forms (empty, ~, null) become CFG_NULL.
 *
 * As the original's yaml.v2 does: anchors and aliases (an alias becomes a
 * copy of its anchor's node, within struct cfg_budget for the document, so
 * an alias bomb is an error), merge keys ("<<: *base", explicit keys win),
 * and the standard tags (!!str makes a string of anything; !!int, !!float
 * and !!bool leave the meaning to the key as for plain scalars; !!null,
 * !!map, !!seq). Other tags are refused. */
#include "config/config_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

/* A completed anchored node, kept as a copy (its original lives in a
 * parent's child array, which moves as it grows). */
struct anchor {
	char *name;
	struct cfg_node node;
};

struct yctx {
	yaml_parser_t p;
	const char *file;
	const char *buf; /* the file image, for byte offsets */
	size_t len;
	char *err;
	size_t errlen;
	struct anchor *anchors;
	size_t n_anchors, cap_anchors;
	struct cfg_budget budget;
};

/* libyaml's marks count characters; messages give byte offsets. A UTF-8
 * byte order mark, which libyaml skips, is not a character to it. */
static size_t byte_offset(const struct yctx *y, const yaml_mark_t *m)
{
	size_t i = 0, chars = 0;
	if (y->len >= 3 && !memcmp(y->buf, "\xef\xbb\xbf", 3))
		i = 3;
	for (; i < y->len; i++) {
		if (((unsigned char)y->buf[i] & 0xc0) == 0x80) /* a continuation byte */
			continue;
		if (chars++ == m->index)
			return i;
	}
	return y->len;
}

static int syntax_error(struct yctx *y)
{
	const yaml_parser_t *p = &y->p;
	if (p->error == YAML_MEMORY_ERROR) {
		cfg_errf(y->err, y->errlen, "out of memory");
		return CONFIG_E_NOMEM;
	}
	if (p->error == YAML_READER_ERROR) {
		/* Bytes that are not text (a control character, broken UTF-8):
		 * libyaml has no mark for them yet, only their byte offset. */
		size_t off = p->problem_offset < y->len ? p->problem_offset : y->len;
		unsigned line, col;
		cfg_text_pos(y->buf, off, &line, &col);
		cfg_errf(y->err, y->errlen, "%s:%u:%u: YAML syntax error at byte offset %zu: %s (0x%02x)",
			 y->file, line, col, off, p->problem ? p->problem : "?",
			 (unsigned)p->problem_value);
		return CONFIG_E_FILE;
	}
	const yaml_mark_t *m = &p->problem_mark;
	if (p->context)
		cfg_errf(y->err, y->errlen, "%s:%zu:%zu: YAML syntax error: %s %s", y->file,
			 m->line + 1, m->column + 1, p->problem ? p->problem : "?", p->context);
	else
		cfg_errf(y->err, y->errlen, "%s:%zu:%zu: YAML syntax error: %s", y->file,
			 m->line + 1, m->column + 1, p->problem ? p->problem : "?");
	return CONFIG_E_FILE;
}

static int next(struct yctx *y, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&y->p, ev))
		return syntax_error(y);
	return CONFIG_OK;
}

static int unsupported(struct yctx *y, const yaml_event_t *ev, const char *what)
{
	cfg_errf(y->err, y->errlen, "%s:%zu: %s are not supported in config files", y->file,
		 ev->start_mark.line + 1, what);
	return CONFIG_E_FILE;
}

static bool is_null(const char *s, size_t n)
{
	return n == 0 || (n == 1 && s[0] == '~') ||
	       (n == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4)));
}

static int nomem(struct yctx *y)
{
	cfg_errf(y->err, y->errlen, "out of memory");
	return CONFIG_E_NOMEM;
}

/* The document (aliases expanded) outgrew its budget, or an alias made it
 * too deep: the error for st at the event's line. */
static int too_big(struct yctx *y, const yaml_event_t *ev, enum cfg_copy_status st)
{
	size_t line = ev->start_mark.line + 1;
	switch (st) {
	case CFG_COPY_OK: return CONFIG_OK;
	case CFG_COPY_NOMEM: return nomem(y);
	case CFG_COPY_DEEP:
		cfg_errf(y->err, y->errlen, "%s:%zu: nested more than %d levels deep", y->file, line,
			 CFG_MAX_DEPTH);
		break;
	case CFG_COPY_NODES:
		cfg_errf(y->err, y->errlen,
			 "%s:%zu: more than %d YAML nodes with aliases expanded (an alias bomb?)",
			 y->file, line, CFG_YAML_MAX_NODES);
		break;
	case CFG_COPY_TEXT:
		cfg_errf(y->err, y->errlen,
			 "%s:%zu: more than %u MiB of YAML text with aliases expanded (an alias bomb?)",
			 y->file, line, CFG_YAML_MAX_TEXT >> 20);
		break;
	}
	return CONFIG_E_FILE;
}

/* Keeps a copy of the completed node n under the anchor `name` (taken
 * over). A later anchor of the same name hides an earlier one. */
static int remember(struct yctx *y, char *name, const struct cfg_node *n, int depth,
		    const yaml_mark_t *at)
{
	if (y->n_anchors == y->cap_anchors) {
		size_t cap = y->cap_anchors ? 2 * y->cap_anchors : 8;
		struct anchor *a = realloc(y->anchors, cap * sizeof(*a));
		if (!a) {
			free(name);
			return nomem(y);
		}
		y->anchors = a;
		y->cap_anchors = cap;
	}
	struct anchor *a = &y->anchors[y->n_anchors++];
	a->name = name;
	memset(&a->node, 0, sizeof(a->node));
	enum cfg_copy_status st = cfg_node_copy(&a->node, n, depth, &y->budget);
	if (st == CFG_COPY_OK)
		return CONFIG_OK;
	yaml_event_t ev = { .start_mark = *at };
	return too_big(y, &ev, st);
}

/* An alias: a copy of the latest node anchored under its name. */
static int alias(struct yctx *y, const yaml_event_t *ev, struct cfg_node *n, int depth)
{
	const char *name = (const char *)ev->data.alias.anchor;
	for (size_t i = y->n_anchors; i-- > 0;) {
		if (strcmp(y->anchors[i].name, name) != 0)
			continue;
		enum cfg_copy_status st = cfg_node_copy(n, &y->anchors[i].node, depth, &y->budget);
		n->line = (unsigned)ev->start_mark.line + 1;
		return too_big(y, ev, st);
	}
	char q[CFG_QUOTE_MAX];
	cfg_errf(y->err, y->errlen, "%s:%zu: alias *%s: no anchor of that name before it", y->file,
		 ev->start_mark.line + 1, cfg_quote(name, q));
	return CONFIG_E_FILE;
}

static bool has_key(const struct cfg_node *map, const char *key)
{
	for (size_t i = 0; i < map->n; i++)
		if (strcasecmp(map->keys[i], key) == 0)
			return true;
	return false;
}

/* Moves src's entries whose keys m lacks into m (keys differ by case only
 * are the same key here, as everywhere in a config). */
static int merge_from(struct yctx *y, struct cfg_node *m, struct cfg_node *src)
{
	for (size_t i = 0; i < src->n; i++) {
		if (has_key(m, src->keys[i]))
			continue;
		struct cfg_node *c = cfg_node_append(m, src->keys[i], strlen(src->keys[i]));
		if (!c)
			return nomem(y);
		*c = src->child[i];
		memset(&src->child[i], 0, sizeof(src->child[i]));
	}
	return CONFIG_OK;
}

#define MERGE_KEY "<<"

/* YAML 1.1 merge keys in the completed mapping n: "<<: *base" or
 * "<<: [*a, *b]" adds the keys of those mappings that n does not give
 * itself (explicit keys win; among merged ones, the first wins). */
static int merge_keys(struct yctx *y, const yaml_event_t *start, struct cfg_node *n)
{
	bool any = false;
	for (size_t i = 0; i < n->n && !any; i++)
		any = strcmp(n->keys[i], MERGE_KEY) == 0;
	if (!any)
		return CONFIG_OK;
	struct cfg_node m = { .kind = CFG_MAP, .line = n->line };
	int rc = CONFIG_OK;
	for (size_t i = 0; i < n->n && rc == CONFIG_OK; i++) {
		if (strcmp(n->keys[i], MERGE_KEY) == 0)
			continue;
		struct cfg_node *c = cfg_node_append(&m, n->keys[i], strlen(n->keys[i]));
		if (!c) {
			rc = nomem(y);
			break;
		}
		*c = n->child[i];
		memset(&n->child[i], 0, sizeof(n->child[i]));
	}
	for (size_t i = 0; i < n->n && rc == CONFIG_OK; i++) {
		if (strcmp(n->keys[i], MERGE_KEY) != 0)
			continue;
		struct cfg_node *v = &n->child[i];
		bool ok = v->kind == CFG_MAP || v->kind == CFG_LIST;
		for (size_t j = 0; ok && v->kind == CFG_LIST && j < v->n; j++)
			ok = v->child[j].kind == CFG_MAP;
		if (!ok) {
			cfg_errf(y->err, y->errlen,
				 "%s:%u: a merge key (<<) takes a mapping or a list of mappings",
				 y->file, v->line ? v->line : (unsigned)start->start_mark.line + 1);
			rc = CONFIG_E_FILE;
			break;
		}
		if (v->kind == CFG_MAP)
			rc = merge_from(y, &m, v);
		for (size_t j = 0; v->kind == CFG_LIST && j < v->n && rc == CONFIG_OK; j++)
			rc = merge_from(y, &m, &v->child[j]);
	}
	cfg_node_free(n);
	*n = m;
	return rc;
}

#define YAML_TAG "tag:yaml.org,2002:"

/* The standard scalar tags: what a scalar with this tag is, as its kind
 * (CFG_PLAIN = decided by the key). false for any other tag. */
static bool scalar_tag(const char *tag, bool *is_str, bool *is_null)
{
	*is_str = *is_null = false;
	if (!strcmp(tag, "!")) /* the non-specific tag of a quoted scalar */
		return true;
	if (strncmp(tag, YAML_TAG, strlen(YAML_TAG)) != 0)
		return false;
	const char *t = tag + strlen(YAML_TAG);
	*is_str = !strcmp(t, "str");
	*is_null = !strcmp(t, "null");
	return *is_str || *is_null || !strcmp(t, "int") || !strcmp(t, "float") ||
	       !strcmp(t, "bool");
}

static bool collection_tag(const char *tag, bool map)
{
	return !tag || !strcmp(tag, "!") || !strcmp(tag, map ? YAML_TAG "map" : YAML_TAG "seq");
}

static int scalar(struct yctx *y, const yaml_event_t *ev, struct cfg_node *n)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	bool tag_str = false, tag_null = false;
	if (tag && !scalar_tag(tag, &tag_str, &tag_null))
		return unsupported(y, ev, "YAML tags other than the standard ones");
	if (strlen(s) != len) {
		cfg_errf(y->err, y->errlen, "%s:%zu: a value contains a NUL character", y->file,
			 ev->start_mark.line + 1);
		return CONFIG_E_FILE;
	}
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !tag_str;
	if (tag_null || (plain && is_null(s, len))) {
		n->kind = CFG_NULL;
		return CONFIG_OK;
	}
	if (len > y->budget.text)
		return too_big(y, ev, CFG_COPY_TEXT);
	y->budget.text -= len;
	n->kind = plain ? CFG_PLAIN : CFG_STR;
	n->text = strdup(s);
	if (!n->text) {
		cfg_errf(y->err, y->errlen, "out of memory");
		return CONFIG_E_NOMEM;
	}
	return CONFIG_OK;
}

/* Fills n from the node that starts with ev (already parsed; we delete it). */
static int node(struct yctx *y, yaml_event_t *ev, struct cfg_node *n, int depth);

static int collection(struct yctx *y, yaml_event_t *start, struct cfg_node *n, int depth)
{
	bool map = start->type == YAML_MAPPING_START_EVENT;
	yaml_event_type_t end = map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
	if (!collection_tag(map ? (const char *)start->data.mapping_start.tag
				: (const char *)start->data.sequence_start.tag,
			    map))
		return unsupported(y, start, "YAML tags other than the standard ones");
	if (depth > CFG_MAX_DEPTH) {
		cfg_errf(y->err, y->errlen, "%s:%zu: nested more than %d levels deep", y->file,
			 start->start_mark.line + 1, CFG_MAX_DEPTH);
		return CONFIG_E_FILE;
	}
	n->kind = map ? CFG_MAP : CFG_LIST;
	for (;;) {
		yaml_event_t ev;
		int rc = next(y, &ev);
		if (rc != CONFIG_OK)
			return rc;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			return map ? merge_keys(y, start, n) : CONFIG_OK;
		}
		const char *key = NULL;
		size_t keylen = 0;
		if (map) {
			if (ev.type != YAML_SCALAR_EVENT) {
				rc = ev.type == YAML_ALIAS_EVENT ? unsupported(y, &ev, "YAML aliases as keys")
								 : unsupported(y, &ev, "non-text keys");
				yaml_event_delete(&ev);
				return rc;
			}
			key = (const char *)ev.data.scalar.value;
			keylen = ev.data.scalar.length;
			if (strlen(key) != keylen) {
				cfg_errf(y->err, y->errlen, "%s:%zu: a key contains a NUL character",
					 y->file, ev.start_mark.line + 1);
				yaml_event_delete(&ev);
				return CONFIG_E_FILE;
			}
		}
		struct cfg_node *c = cfg_node_append(n, key, keylen);
		if (map)
			yaml_event_delete(&ev);
		if (!c) {
			if (!map)
				yaml_event_delete(&ev);
			cfg_errf(y->err, y->errlen, "out of memory");
			return CONFIG_E_NOMEM;
		}
		if (map) {
			rc = next(y, &ev);
			if (rc != CONFIG_OK)
				return rc;
		}
		rc = node(y, &ev, c, depth + 1);
		if (rc != CONFIG_OK)
			return rc;
	}
}

static const char *anchor_of(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT: return (const char *)ev->data.scalar.anchor;
	case YAML_MAPPING_START_EVENT: return (const char *)ev->data.mapping_start.anchor;
	case YAML_SEQUENCE_START_EVENT: return (const char *)ev->data.sequence_start.anchor;
	default: return NULL;
	}
}

static int node(struct yctx *y, yaml_event_t *ev, struct cfg_node *n, int depth)
{
	int rc;
	const char *anchor = anchor_of(ev);
	yaml_mark_t start = ev->start_mark;
	n->line = (unsigned)ev->start_mark.line + 1;
	if (ev->type != YAML_ALIAS_EVENT) {
		if (y->budget.nodes == 0) {
			rc = too_big(y, ev, CFG_COPY_NODES);
			yaml_event_delete(ev);
			return rc;
		}
		y->budget.nodes--;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		rc = scalar(y, ev, n);
		break;
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		rc = collection(y, ev, n, depth);
		break;
	case YAML_ALIAS_EVENT:
		rc = alias(y, ev, n, depth);
		break;
	default:
		cfg_errf(y->err, y->errlen, "%s:%zu: unexpected YAML structure", y->file,
			 ev->start_mark.line + 1);
		rc = CONFIG_E_FILE;
		break;
	}
	/* The anchor is the event's: keep a copy of its name before the
	 * event goes. */
	char *name = anchor && rc == CONFIG_OK ? strdup(anchor) : NULL;
	yaml_event_delete(ev);
	if (anchor && rc == CONFIG_OK)
		rc = name ? remember(y, name, n, depth, &start) : nomem(y);
	return rc;
}

/* Expects an event of type t (and nothing else) next. */
static int expect(struct yctx *y, yaml_event_type_t t, yaml_event_t *ev)
{
	int rc = next(y, ev);
	if (rc != CONFIG_OK)
		return rc;
	if (ev->type != t) {
		cfg_errf(y->err, y->errlen, "%s:%zu: unexpected YAML structure", y->file,
			 ev->start_mark.line + 1);
		yaml_event_delete(ev);
		return CONFIG_E_FILE;
	}
	return CONFIG_OK;
}

/* Once the root node is complete only the document's end and the
 * stream's may follow. Whatever libyaml finds instead, a second document
 * or text it cannot place, is content after the document: one message for
 * both formats, at the byte where that content starts. */
static int after_document(struct yctx *y)
{
	static const yaml_event_type_t want[] = { YAML_DOCUMENT_END_EVENT, YAML_STREAM_END_EVENT };
	for (size_t i = 0; i < 2; i++) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&y->p, &ev)) {
			if (y->p.error != YAML_SCANNER_ERROR && y->p.error != YAML_PARSER_ERROR)
				return syntax_error(y);
			return cfg_trailing_error(y->file, y->buf, y->len,
						  byte_offset(y, &y->p.problem_mark), NULL, y->err,
						  y->errlen);
		}
		yaml_mark_t at = ev.start_mark;
		yaml_event_type_t got = ev.type;
		yaml_event_delete(&ev);
		if (got != want[i])
			return cfg_trailing_error(y->file, y->buf, y->len, byte_offset(y, &at),
						  got == YAML_DOCUMENT_START_EVENT
							  ? "only one YAML document is allowed"
							  : NULL,
						  y->err, y->errlen);
	}
	return CONFIG_OK;
}

static int document(struct yctx *y, struct cfg_node *root)
{
	yaml_event_t ev;
	int rc = expect(y, YAML_STREAM_START_EVENT, &ev);
	if (rc != CONFIG_OK)
		return rc;
	yaml_event_delete(&ev);
	if ((rc = next(y, &ev)) != CONFIG_OK)
		return rc;
	if (ev.type == YAML_STREAM_END_EVENT) { /* an empty file: no settings */
		yaml_event_delete(&ev);
		root->kind = CFG_MAP;
		return CONFIG_OK;
	}
	if (ev.type != YAML_DOCUMENT_START_EVENT) {
		yaml_event_delete(&ev);
		cfg_errf(y->err, y->errlen, "%s: unexpected YAML structure", y->file);
		return CONFIG_E_FILE;
	}
	yaml_event_delete(&ev);
	if ((rc = next(y, &ev)) != CONFIG_OK)
		return rc;
	if ((rc = node(y, &ev, root, 0)) != CONFIG_OK)
		return rc;
	if (root->kind == CFG_NULL) /* "---" alone, or "~": no settings */
		root->kind = CFG_MAP;
	return after_document(y);
}

int cfg_yaml_to_tree(const char *file, const char *buf, size_t len, struct cfg_node *root,
		     char *err, size_t errlen)
{
	struct yctx y = { .file = file, .buf = buf, .len = len, .err = err, .errlen = errlen };
	if (!yaml_parser_initialize(&y.p)) {
		cfg_errf(err, errlen, "out of memory");
		return CONFIG_E_NOMEM;
	}
	y.budget = (struct cfg_budget){ .nodes = CFG_YAML_MAX_NODES, .text = CFG_YAML_MAX_TEXT };
	yaml_parser_set_input_string(&y.p, (const unsigned char *)buf, len);
	int rc = document(&y, root);
	yaml_parser_delete(&y.p);
	for (size_t i = 0; i < y.n_anchors; i++) {
		free(y.anchors[i].name);
		cfg_node_free(&y.anchors[i].node);
	}
	free(y.anchors);
	return rc;
}
