/* The engine_actions container: growable arrays the tick appends to. An
 * allocation failure drops that one action and counts it in a->dropped
 * (the shell reports it); it never aborts. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "core/engine_internal.h"

void engine_actions_init(struct engine_actions *a)
{
	memset(a, 0, sizeof(*a));
}

/* [ours] What a quiet tick needs: arrays and datagram blocks beyond it
 * that a burst grew are given back at a clear that used under an eighth
 * of them. A leaf that greets a thousand peers at once makes thousands
 * of events, changes and datagrams in one tick, and ticks after it make
 * a handful; kept, those arrays held most of a megabyte per leaf for
 * good (in the 1,000-node simulation, 0.65 GB). A router that sends as
 * much at every tick keeps what it uses. */
#define ACTIONS_KEEP 64
#define ACTIONS_KEEP_BLOCKS 1

/* Frees blocks[from..n). */
static void free_blocks(void **blocks, size_t from, size_t n)
{
	for (size_t i = from; i < n; i++)
		free(blocks[i]);
}

/* Blocks (of datagrams' bytes, of events' texts) beyond the `used`
 * first are freed when this clear used under an eighth of them. */
static void shrink_blocks(void **blocks, size_t *n, size_t used)
{
	size_t keep = wl_shrunk_cap(*n, used, ACTIONS_KEEP_BLOCKS);
	if (keep < used)
		keep = used;
	free_blocks(blocks, keep, *n);
	if (keep < *n)
		*n = keep; /* the pointer array itself is small */
}

static void shrink(struct engine_actions *a)
{
	wl_shrink((void **)&a->send, &a->cap_send, a->n_send, sizeof(*a->send), ACTIONS_KEEP);
	wl_shrink((void **)&a->events, &a->cap_events, a->n_events, sizeof(*a->events),
		  ACTIONS_KEEP);
	/* changes[] and owned_[] share a capacity: both at least cap_changes. */
	size_t cap = a->cap_changes;
	wl_shrink((void **)&a->changes, &cap, a->n_changes, sizeof(*a->changes), ACTIONS_KEEP);
	if (cap != a->cap_changes) {
		struct wl_cidr **no = realloc(a->owned_, cap * sizeof(*no));
		if (no)
			a->owned_ = no;
		a->cap_changes = cap;
	}
	shrink_blocks((void **)a->blocks_, &a->n_blocks_, a->n_send ? a->cur_block_ + 1 : 0);
	shrink_blocks((void **)a->texts_, &a->n_texts_,
		      a->cur_text_ || a->text_used_ ? a->cur_text_ + 1 : 0);
}

void engine_actions_clear(struct engine_actions *a)
{
	for (size_t i = 0; i < a->n_changes; i++) {
		free(a->owned_[i]);
		a->owned_[i] = NULL;
	}
	shrink(a);
	a->n_send = a->n_changes = a->n_events = 0;
	a->cur_text_ = a->text_used_ = 0;
	a->dropped = 0;
}

void engine_actions_free(struct engine_actions *a)
{
	if (!a)
		return;
	engine_actions_clear(a);
	free_blocks((void **)a->blocks_, 0, a->n_blocks_);
	free(a->blocks_);
	free_blocks((void **)a->texts_, 0, a->n_texts_);
	free(a->texts_);
	free(a->send);
	free(a->changes);
	free(a->owned_);
	free(a->events);
	engine_actions_init(a);
}

/* [ours] Datagrams' bytes go in blocks of this size, each datagram's
 * right after the last one's: most are far shorter than the largest
 * (a probe is 37 bytes), and a slot of WIRE_MAX_DATAGRAM for each made a
 * leaf that greets a thousand peers at once hold megabytes. */
#define ACTIONS_BLOCK (64 * 1024)

/* Appends a block of `size` bytes to a list of *n blocks. */
static bool add_block(void ***blocks, size_t *n, size_t size)
{
	void **nb = realloc(*blocks, (*n + 1) * sizeof(*nb));
	if (!nb)
		return false;
	*blocks = nb;
	if (!(nb[*n] = malloc(size)))
		return false;
	(*n)++;
	return true;
}

/* Room for one more datagram's bytes, after the last one's (in the
 * block cur_block_, or else the next). */
static uint8_t *datagram_room(struct engine_actions *a)
{
	size_t blk = 0;
	if (a->n_send) {
		const struct engine_datagram *last = &a->send[a->n_send - 1];
		uintptr_t b = (uintptr_t)a->blocks_[a->cur_block_];
		uintptr_t at = (uintptr_t)(last->data + last->len);
		if (at >= b && at + WIRE_MAX_DATAGRAM <= b + ACTIONS_BLOCK)
			return last->data + last->len;
		blk = a->cur_block_ + 1;
	}
	if (blk == a->n_blocks_ && !add_block((void ***)&a->blocks_, &a->n_blocks_, ACTIONS_BLOCK))
		return NULL;
	a->cur_block_ = blk;
	return a->blocks_[blk];
}

struct engine_datagram *engine_actions_add_send(struct engine_actions *a)
{
	if (!wl_grow((void **)&a->send, &a->cap_send, a->n_send + 1, sizeof(*a->send))) {
		a->dropped++;
		return NULL;
	}
	uint8_t *data = datagram_room(a);
	if (!data) {
		a->dropped++;
		return NULL;
	}
	struct engine_datagram *d = &a->send[a->n_send++];
	memset(d, 0, sizeof(*d));
	d->data = data;
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

struct engine_event *engine_actions_event_untold(struct engine_actions *a,
						 enum engine_event_kind kind, const uint8_t *peer)
{
	if (!wl_grow((void **)&a->events, &a->cap_events, a->n_events + 1, sizeof(*a->events))) {
		a->dropped++;
		return NULL;
	}
	struct engine_event *ev = &a->events[a->n_events++];
	ev->kind = kind;
	ev->has_peer = peer != NULL;
	if (peer)
		memcpy(ev->peer, peer, WL_KEY_LEN);
	else
		memset(ev->peer, 0, WL_KEY_LEN);
	ev->text = "";
	return ev;
}

/* [ours] Events' texts go in blocks of this size, each right after the
 * last one's: an event is a few dozen bytes without its text, and a
 * leaf greeting a thousand peers makes thousands of events in a tick
 * (with a 200-byte text inside each, the 1,000-node simulation held
 * most of a gigabyte of them at once while it converged). */
#define ACTIONS_TEXT_BLOCK (16 * 1024)

/* Room for one more text of up to ENGINE_EVENT_TEXT_MAX bytes, after
 * the last one's (in block cur_text_, or else the next). */
static char *text_room(struct engine_actions *a)
{
	if (a->n_texts_ && a->text_used_ + ENGINE_EVENT_TEXT_MAX <= ACTIONS_TEXT_BLOCK)
		return a->texts_[a->cur_text_] + a->text_used_;
	size_t blk = a->n_texts_ ? a->cur_text_ + 1 : 0;
	if (blk == a->n_texts_ && !add_block((void ***)&a->texts_, &a->n_texts_, ACTIONS_TEXT_BLOCK))
		return NULL;
	a->cur_text_ = blk;
	a->text_used_ = 0;
	return a->texts_[blk];
}

void engine_actions_event(struct engine_actions *a, enum engine_event_kind kind,
			  const uint8_t *peer, const char *fmt, ...)
{
	struct engine_event *ev = engine_actions_event_untold(a, kind, peer);
	if (!ev)
		return;
	char *room = text_room(a);
	if (!room) {
		a->dropped++; /* the event stays, without its text */
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(room, ENGINE_EVENT_TEXT_MAX, fmt, ap);
	va_end(ap);
	if (n < 0)
		room[0] = '\0';
	size_t len = n < 0 ? 0 : (size_t)n < ENGINE_EVENT_TEXT_MAX ? (size_t)n : ENGINE_EVENT_TEXT_MAX - 1;
	a->text_used_ += len + 1;
	ev->text = room;
}
