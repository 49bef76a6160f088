/* YAML config files -> document tree, with libyaml's event parser (rather
 * than its document loader) so we control recursion depth, refuse aliases
 * (no "billion laughs"), and keep each node's line for messages.
 *
 * Plain (unquoted) scalars stay text marked CFG_PLAIN: whether "true" or
 * "51821" is a boolean, a number or a name is decided by the key it belongs
 * to. The YAML null forms (empty, ~, null) become CFG_NULL. */
#include "config/config_internal.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct yctx {
	yaml_parser_t p;
	const char *file;
	const char *buf; /* the file image, for byte offsets */
	size_t len;
	char *err;
	size_t errlen;
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

static int scalar(struct yctx *y, const yaml_event_t *ev, struct cfg_node *n)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	if (ev->data.scalar.tag)
		return unsupported(y, ev, "YAML tags");
	if (strlen(s) != len) {
		cfg_errf(y->err, y->errlen, "%s:%zu: a value contains a NUL character", y->file,
			 ev->start_mark.line + 1);
		return CONFIG_E_FILE;
	}
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (plain && is_null(s, len)) {
		n->kind = CFG_NULL;
		return CONFIG_OK;
	}
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
	if (map ? start->data.mapping_start.tag != NULL : start->data.sequence_start.tag != NULL)
		return unsupported(y, start, "YAML tags");
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
			return CONFIG_OK;
		}
		const char *key = NULL;
		size_t keylen = 0;
		if (map) {
			if (ev.type != YAML_SCALAR_EVENT) {
				rc = ev.type == YAML_ALIAS_EVENT ? unsupported(y, &ev, "YAML aliases")
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

static int node(struct yctx *y, yaml_event_t *ev, struct cfg_node *n, int depth)
{
	int rc;
	n->line = (unsigned)ev->start_mark.line + 1;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		rc = scalar(y, ev, n);
		break;
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		rc = collection(y, ev, n, depth);
		break;
	case YAML_ALIAS_EVENT:
		rc = unsupported(y, ev, "YAML aliases");
		break;
	default:
		cfg_errf(y->err, y->errlen, "%s:%zu: unexpected YAML structure", y->file,
			 ev->start_mark.line + 1);
		rc = CONFIG_E_FILE;
		break;
	}
	yaml_event_delete(ev);
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
	yaml_parser_set_input_string(&y.p, (const unsigned char *)buf, len);
	int rc = document(&y, root);
	yaml_parser_delete(&y.p);
	return rc;
}
