/* The set of known facts (SPEC §7): one entry per fact key (attribute,
 * subject, value), keeping the latest expiry. Entries remember whether the
 * node generated them itself this tick ("local"), so local facts that
 * disappear can be removed at once (SPEC §5).
 *
 * [ours] Every received entry belongs to one source — the most trusted
 * peer that told it to us — and a source only ever spends its own share:
 *  - per subject, a source holds at most `endpoints` Endpoint, `allowed`
 *    AllowedCidr and `members` MemberMetadata facts;
 *  - a source below Membership trust holds at most `per_source` facts;
 *  - a source adds new MemberMetadata facts at a bounded rate (a token
 *    bucket: `members_burst`, then `members_per_min`);
 *  - when the set is full, a new fact may only push out the least
 *    recently refreshed fact of its own source; facts of other sources
 *    and our own (local, configured) ones are never evicted, and the last
 *    `local_reserve` entries are kept for our own facts.
 * A fact beyond a share is dropped (FACTSET_QUOTA): neither stored nor
 * forwarded. Every operation is O(1) on average: hash lookups and a
 * per-source list ordered by refresh, no scans.
 *
 * Alive facts are never stored here (they only feed peer state). */
#ifndef WL_CORE_FACTSET_H
#define WL_CORE_FACTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/hidx.h"
#include "wire/fact.h"

struct fentry {
	int64_t expires;   /* monotonic ms */
	uint64_t h;        /* key hash */
	uint64_t lh;       /* its hash in lease digests (wire/lease.h) */
	bool local;        /* produced by the local node in the current tick */
	uint32_t put_pass; /* the local rebuild that last put it (local_pass) */
	/* The latest expiry a peer told us for it, ENGINE_NEVER if none: what
	 * stays when we stop generating it ourselves. */
	int64_t rx_expires;
	/* Its source (0: none, only our own copy) and that source's trust
	 * when it told us; the source's entries in refresh order. */
	uint64_t src;
	uint8_t src_trust;
	int32_t src_prev, src_next;
	/* The fact itself is in factset.fv, at the same place: the walks
	 * over the set (a HOLD's extension, expiry, the index) read only
	 * the fields above, and a whole fact (up to FACT_VALUE_MAX bytes
	 * inline) between two entries put five cache lines between them. */
};

/* A fact as the set keeps it: its value inline when short (every kind's
 * is but a MemberMetadata's with a long name), else in an allocation of
 * its own. A struct fact, room for the longest value in each, had made
 * the facts the largest part of a leaf at 1,000 peers (docs/scale-cost.md). */
#define FSTORED_INLINE 24
struct fstored {
	uint8_t attr;
	uint8_t value_len;
	uint8_t subject[WL_KEY_LEN];
	union {
		uint8_t in[FSTORED_INLINE];
		uint8_t *out; /* value_len > FSTORED_INLINE */
	} value;
};

/* Who told us a fact (receive.c fills it in). */
struct fact_source {
	uint64_t id;    /* a keyed hash of the sender's key; never 0 */
	uint8_t trust;  /* enum wl_trust of the sender */
	bool unlimited; /* trusted with membership: no per-source cap */
	/* The sender's key (NULL: none known): its word on itself takes a
	 * copy over (merge). Compared only when it may, as most facts told
	 * again come from the source they are charged to. */
	const uint8_t *key;
};

struct factset_limits {
	size_t per_source;      /* facts of one source below Membership trust */
	size_t endpoints;       /* Endpoint facts per source and subject */
	size_t allowed;         /* AllowedCidr facts per source and subject */
	size_t members;         /* MemberMetadata facts per source and subject */
	size_t members_burst;   /* new MemberMetadata facts per source at once */
	size_t members_per_min; /* ... and then per minute */
	size_t local_reserve;   /* entries received facts may not take (at most max/4) */
};

/* The defaults: 512, 16, 256, 4, 1024, 256, 64. */
void factset_limits_default(struct factset_limits *l);

/* A source's share, as factset.c keeps it. */
struct fsource {
	uint64_t id;
	uint32_t count;           /* entries it holds */
	int32_t head, tail;       /* least / most recently refreshed entry */
	int64_t tokens_ms;        /* member bucket, in ms of refill */
	int64_t tokens_at;        /* when the bucket was last topped up */
};

/* How many facts of one kind a source holds about one subject. */
struct fkind {
	uint64_t key;
	uint32_t count;
};

/* A fact that left the set: its two hashes, for the leases that must
 * withdraw it after its entry is gone (core/lease.c). */
struct fgone {
	uint64_t h, lh;
};
#define FACTSET_GONE_MAX 4096

struct factset {
	struct fentry *v;
	/* v[i]'s fact: alloc of each allocated. */
	struct fstored *fv;
	size_t value_bytes; /* the values kept out of line */
	size_t n, alloc, max;
	struct hidx idx;
	uint8_t hkey[16]; /* SipHash key: peers cannot aim at collisions */
	uint64_t evicted;  /* entries pushed out by their own source's new ones */
	uint64_t refused;  /* facts dropped for a share (FACTSET_QUOTA) */
	struct factset_limits lim;
	struct fsource *src;
	size_t n_src, alloc_src;
	size_t src_last; /* where src_find_again last found one */
	struct hidx src_idx;
	struct fkind *kind;
	size_t n_kind, alloc_kind;
	struct hidx kind_idx;
	/* What left since factset_gone_clear (at most FACTSET_GONE_MAX; more
	 * sets gone_lost). */
	struct fgone *gone;
	size_t n_gone, alloc_gone;
	bool gone_sorted, gone_lost;
	/* Moves whenever an entry comes, goes or moves, or its source
	 * changes: what observe.c's index reads, and what keeps the list
	 * below good. Not when our own copy is renewed (expires), which
	 * every tick does, nor when a peer's expiry moves (rx_moved). */
	uint64_t shape_gen;
	/* [ours] The entries whose rx_expires moved later since
	 * factset_rx_moved_clear (a HOLD moves a leaf's whole set): the index
	 * takes them in without being built again (observe.c). Kept apart
	 * from shape_gen, as they change no chain of it; with no room to
	 * list one, shape_gen moves instead. Each with the expiry it got and
	 * its lease hash, so that the index need not load the entry to know
	 * them. */
	struct rx_moved {
		uint32_t at;
		uint64_t lh;
		int64_t rx_expires;
	} *rx_moved;
	size_t n_rx_moved, cap_rx_moved;
	/* The positions of the entries that are ours this tick or have no
	 * source, in order, as factset_end_local left them (send.c looks at
	 * these and at other sources' entries); good while shape_gen is
	 * still unsourced_gen and unsourced_ok. */
	uint32_t *unsourced;
	size_t n_unsourced, cap_unsourced;
	uint64_t unsourced_gen;
	bool unsourced_ok;
	/* Local rebuilds so far; how many entries were ours after the last;
	 * and in this one, how many it put, and whether any was not ours
	 * before (factset_end_local: a rebuild that put exactly the same
	 * entries changes nothing, and skips the walk). */
	uint32_t local_pass;
	size_t n_local, n_put;
	bool put_new;
	/* No entry expires before this: a bound kept as entries come or
	 * their expiry falls (factset_end_local), made exact by the engine's
	 * walk for expired ones, which it spares until then. */
	int64_t min_expires;
};

/* Hash of a fact key under hkey; for Alive the value is ignored (SPEC §6). */
uint64_t fact_key_hash(const uint8_t hkey[static 16], const struct fact *f);

/* lim NULL: the defaults. */
int factset_init(struct factset *s, size_t max, const uint8_t hkey[static 16],
		 const struct factset_limits *lim);
void factset_free(struct factset *s);

/* Entry i's attribute and subject. */
static inline uint8_t factset_attr(const struct factset *s, size_t i)
{
	return s->fv[i].attr;
}
static inline const uint8_t *factset_subject(const struct factset *s, size_t i)
{
	return s->fv[i].subject;
}

/* Entry i's fact, written to *out (its ttl 0: v[i].expires rules), and
 * e's; out is returned. */
const struct fact *factset_fact(const struct factset *s, size_t i, struct fact *out);
static inline const struct fact *factset_fact_of(const struct factset *s, const struct fentry *e,
						 struct fact *out)
{
	return factset_fact(s, (size_t)(e - s->v), out);
}

/* The entry with f's key, or NULL. */
struct fentry *factset_find(struct factset *s, const struct fact *f);

enum factset_put {
	FACTSET_NEW,       /* a key we did not know */
	FACTSET_EXTENDED,  /* known; expiry moved later */
	FACTSET_SAME,      /* known; nothing changed */
	FACTSET_QUOTA,     /* dropped: beyond its source's share */
	FACTSET_FULL,      /* could not store (no room left to this source, or no memory) */
};
/* Merges a fact with this expiry: from src, or ours (src NULL: generated
 * this tick). now tops up the member buckets. */
enum factset_put factset_put(struct factset *s, const struct fact *f, int64_t expires, int64_t now,
			     const struct fact_source *src);

/* factset_put that looks first where the fact was last time (*hint, a
 * guess: any value will do), and leaves its place there. A node puts
 * the same facts about the same peers at every tick (local_facts.c);
 * the index's lookup was most of it. */
enum factset_put factset_put_hinted(struct factset *s, const struct fact *f, int64_t expires,
				    int64_t now, const struct fact_source *src, uint32_t *hint);

/* factset_put for the fact already at position i (a lease's HOLD extends
 * what it told without hashing each fact again): EXTENDED or SAME. */
enum factset_put factset_merge_at(struct factset *s, size_t i, int64_t expires, int64_t now,
				  const struct fact_source *src);

/* The share of a source, or NULL if it holds nothing. */
const struct fsource *factset_source(const struct factset *s, uint64_t id);

/* The index of the entry with both hashes (as fentry.h and .lh), or -1. */
long factset_find_hashed(const struct factset *s, uint64_t h, uint64_t lh);
/* The index of the entry with key hash h, or -1 (for a hash we made from
 * one of our own entries: no other key is looked for). */
long factset_find_h(const struct factset *s, uint64_t h);
/* The lease hash of a fact that left since the last clear, by its key
 * hash; false if it is not in the log. */
bool factset_gone_lh(struct factset *s, uint64_t h, uint64_t *lh);
void factset_gone_clear(struct factset *s);

/* Removes entry i (swap-remove: entry n-1 moves to i). */
void factset_remove_at(struct factset *s, size_t i);

/* [ours] Gives back what a burst grew and the set no longer uses: arrays
 * with more than a quarter spare, hash tables under a quarter full
 * (hidx_shrink). After
 * a storm the set would otherwise keep its largest size for good
 * (docs/sim-notes-for-core.md item 14). Entries keep their positions. */
void factset_compact(struct factset *s);

/* Start of a local-facts rebuild: what is put (src NULL) until
 * factset_end_local is ours this tick. */
void factset_begin_local(struct factset *s);
/* End of a rebuild: entries that were local last tick and are not now
 * lose our own copy at once (SPEC §5: it is not left to expire); what a
 * peer told us of the same fact stays, with the expiry the peer gave. */
void factset_end_local(struct factset *s, int64_t now);
/* The index took in what rx_moved lists (or was built anew). */
void factset_rx_moved_clear(struct factset *s);

#endif
