/* The document tree both file formats are parsed into, so one pass turns
 * either into a struct wl_config with the same checks and messages. */
#include "config/config_internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/grow.h"

struct cfg_node *cfg_node_append(struct cfg_node *parent, const char *key, size_t keylen)
{
	/* keys[] (maps only) grows in step with child[]: same capacity. */
	size_t cap = parent->cap;
	if (!wl_grow((void **)&parent->child, &cap, parent->n + 1, sizeof(*parent->child)))
		return NULL;
	if (parent->kind == CFG_MAP && cap != parent->cap) {
		char **k = realloc(parent->keys, cap * sizeof(*k));
		if (!k)
			return NULL;
		parent->keys = k;
	}
	parent->cap = cap;
	if (parent->kind == CFG_MAP) {
		char *k = malloc(keylen + 1);
		if (!k)
			return NULL;
		memcpy(k, key, keylen);
		k[keylen] = '\0';
		parent->keys[parent->n] = k;
	}
	struct cfg_node *c = &parent->child[parent->n++];
	memset(c, 0, sizeof(*c));
	return c;
}

void cfg_node_free(struct cfg_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		cfg_node_free(&n->child[i]);
		if (n->keys)
			free(n->keys[i]);
	}
	free(n->child);
	free(n->keys);
	free(n->text);
	memset(n, 0, sizeof(*n));
}

enum cfg_copy_status cfg_node_copy(struct cfg_node *dst, const struct cfg_node *src, int depth,
				   struct cfg_budget *b)
{
	if (depth > CFG_MAX_DEPTH)
		return CFG_COPY_DEEP;
	if (b->nodes == 0)
		return CFG_COPY_NODES;
	b->nodes--;
	dst->kind = src->kind;
	dst->line = src->line;
	dst->b = src->b;
	if (src->text) {
		size_t len = strlen(src->text);
		if (len > b->text)
			return CFG_COPY_TEXT;
		b->text -= len;
		if (!(dst->text = strdup(src->text)))
			return CFG_COPY_NOMEM;
	}
	for (size_t i = 0; i < src->n; i++) {
		const char *key = src->keys ? src->keys[i] : NULL;
		struct cfg_node *c = cfg_node_append(dst, key, key ? strlen(key) : 0);
		if (!c)
			return CFG_COPY_NOMEM;
		enum cfg_copy_status st = cfg_node_copy(c, &src->child[i], depth + 1, b);
		if (st != CFG_COPY_OK)
			return st;
	}
	return CFG_COPY_OK;
}
