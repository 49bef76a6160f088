/* JSON config files -> document tree, with jansson. jansson reports a
 * line and column for syntax errors only; values carry no position, so
 * later messages name the key path instead. Exact duplicate keys are
 * rejected here (JSON_REJECT_DUPLICATES, which has the line); keys that
 * differ only in case are caught by the tree pass. Anything but white space
 * after the document is an error naming its byte offset. */
#include "config/config_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int convert(const json_t *j, struct cfg_node *n, int depth, const char *file,
		   char *err, size_t errlen)
{
	if (depth > CFG_MAX_DEPTH) {
		cfg_errf(err, errlen, "%s: nested more than %d levels deep", file, CFG_MAX_DEPTH);
		return CONFIG_E_FILE;
	}
	char num[32];
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		n->kind = CFG_MAP;
		const char *key;
		json_t *v;
		json_object_foreach((json_t *)j, key, v) {
			struct cfg_node *c = cfg_node_append(n, key, strlen(key));
			if (!c)
				goto nomem;
			int rc = convert(v, c, depth + 1, file, err, errlen);
			if (rc != CONFIG_OK)
				return rc;
		}
		return CONFIG_OK;
	}
	case JSON_ARRAY: {
		n->kind = CFG_LIST;
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v) {
			struct cfg_node *c = cfg_node_append(n, NULL, 0);
			if (!c)
				goto nomem;
			int rc = convert(v, c, depth + 1, file, err, errlen);
			if (rc != CONFIG_OK)
				return rc;
		}
		return CONFIG_OK;
	}
	case JSON_STRING:
		n->kind = CFG_STR;
		n->text = strdup(json_string_value(j));
		break;
	case JSON_INTEGER:
		n->kind = CFG_INT;
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		n->text = strdup(num);
		break;
	case JSON_REAL:
		n->kind = CFG_REAL;
		snprintf(num, sizeof(num), "%.17g", json_real_value(j));
		n->text = strdup(num);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		n->kind = CFG_BOOL;
		n->b = json_is_true(j);
		return CONFIG_OK;
	case JSON_NULL:
		n->kind = CFG_NULL;
		return CONFIG_OK;
	}
	if (!n->text)
		goto nomem;
	return CONFIG_OK;
nomem:
	cfg_errf(err, errlen, "out of memory");
	return CONFIG_E_NOMEM;
}

int cfg_json_to_tree(const char *file, const char *buf, size_t len, struct cfg_node *root,
		     char *err, size_t errlen)
{
	/* jansson's own end-of-file check reports trailing content at the end
	 * of its first token; we look for it ourselves from where the document
	 * ends (je.position after a success), to name the offset it starts at. */
	json_error_t je;
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &je);
	if (!j) {
		/* jansson quotes the offending input in its text: escape it so
		 * the message stays one printable line. */
		char text[4 * sizeof(je.text)];
		size_t o = 0;
		for (const unsigned char *p = (const unsigned char *)je.text; *p; p++) {
			if (*p < 0x20 || *p >= 0x7f)
				o += (size_t)snprintf(text + o, sizeof(text) - o, "\\x%02x", *p);
			else
				text[o++] = (char)*p;
		}
		text[o] = '\0';
		cfg_errf(err, errlen, "%s:%d:%d: JSON syntax error: %s", file, je.line,
			 je.column, text);
		return CONFIG_E_FILE;
	}
	size_t at;
	int rc = cfg_trailing(buf, len, (size_t)je.position, &at)
			 ? cfg_trailing_error(file, buf, len, at, NULL, err, errlen)
			 : convert(j, root, 0, file, err, errlen);
	json_decref(j);
	return rc;
}
