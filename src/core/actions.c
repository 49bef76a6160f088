/* The engine_actions container: growable arrays the tick appends to. An
 * allocation failure drops that one action and counts it in a->dropped
 * (the shell reports it); it never aborts. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "core/engine_internal.h"

void engine_actions_init(struct engine_actions *a)
{
	memset(a, 0, sizeof(*a));
}

void engine_actions_clear(struct engine_actions *a)
{
	for (size_t i = 0; i < a->n_changes; i++) {
		free(a->owned_[i]);
		a->owned_[i] = NULL;
	}
	a->n_send = a->n_changes = a->n_events = 0;
	a->dropped = 0;
}

void engine_actions_free(struct engine_actions *a)
{
	if (!a)
		return;
	engine_actions_clear(a);
	free(a->send);
	free(a->changes);
	free(a->owned_);
	free(a->events);
	engine_actions_init(a);
}

struct engine_datagram *engine_actions_add_send(struct engine_actions *a)
{
	if (!wl_grow((void **)&a->send, &a->cap_send, a->n_send + 1, sizeof(*a->send))) {
		a->dropped++;
		return NULL;
	}
	struct engine_datagram *d = &a->send[a->n_send++];
	memset(d, 0, offsetof(struct engine_datagram, data));
	return d;
}

struct engine_change *engine_actions_add_change(struct engine_actions *a,
						const uint8_t key[static WL_KEY_LEN], unsigned flags,
						const struct wl_cidr *ips, size_t n)
{
	size_t cap = a->cap_changes;
	if (!wl_grow((void **)&a->changes, &cap, a->n_changes + 1, sizeof(*a->changes))) {
		a->dropped++;
		return NULL;
	}
	if (cap != a->cap_changes) {
		struct wl_cidr **no = realloc(a->owned_, cap * sizeof(*no));
		if (!no) {
			a->dropped++;
			return NULL;
		}
		a->owned_ = no;
		a->cap_changes = cap;
	}
	struct wl_cidr *copy = NULL;
	if (n) {
		copy = malloc(n * sizeof(*copy));
		if (!copy) {
			a->dropped++;
			return NULL;
		}
		memcpy(copy, ips, n * sizeof(*copy));
	}
	struct engine_change *c = &a->changes[a->n_changes];
	a->owned_[a->n_changes++] = copy;
	memset(c, 0, sizeof(*c));
	memcpy(c->key, key, WL_KEY_LEN);
	c->flags = flags;
	c->n_allowed = n;
	c->allowed_ips = copy;
	return c;
}

void engine_actions_event(struct engine_actions *a, enum engine_event_kind kind,
			  const uint8_t *peer, const char *fmt, ...)
{
	if (!wl_grow((void **)&a->events, &a->cap_events, a->n_events + 1, sizeof(*a->events))) {
		a->dropped++;
		return;
	}
	struct engine_event *ev = &a->events[a->n_events++];
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	if (peer) {
		ev->has_peer = true;
		memcpy(ev->peer, peer, WL_KEY_LEN);
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ev->text, sizeof(ev->text), fmt, ap);
	va_end(ap);
}
