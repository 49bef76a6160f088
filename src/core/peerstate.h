/* Per-peer state (SPEC §8) and the bounded table holding it.
 *
 * A peer state exists for every peer the node has reason to know: device
 * peers, configured peers, authenticated senders and subjects of stored
 * facts. Entries are heap objects (stable pointers) indexed by key hash.
 * When the table is full, the least recently seen peer that is neither in
 * the device nor configured is evicted (counted); if there is none, the new
 * peer is refused (counted). */
#ifndef WL_CORE_PEERSTATE_H
#define WL_CORE_PEERSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/encoding.h"
#include "common/netaddr.h"
#include "core/clock.h"
#include "core/hidx.h"
#include "core/knowledge.h"
#include "core/lease.h"
#include "wire/fact.h"

/* Endpoint candidates remembered per peer with the time each was tried. */
#define PEER_TRIED_MAX 16

/* What came of a candidate's last try (for operators: the report). */
enum tried_result {
	TRIED_PENDING = 0, /* set on the device, nothing heard yet */
	TRIED_NO_ANSWER,   /* another candidate followed without a handshake here */
	TRIED_WORKED,      /* a handshake came from it */
	TRIED_DIED,        /* it worked, then the path watch found it dead */
};

struct tried_ep { /* (in this order, 32 bytes: 40 the other way round) */
	int64_t at;
	struct wl_endpoint ep;
	uint8_t result; /* enum tried_result */
};

/* Refusals of facts about a peer, per source that told them. */
#define PEER_REFUSED_SOURCES 4
/* Dead-path notes a router holds for one peer until its next send
 * (pathnote.c). */
#define PEER_NOTES_MAX 4
struct refused_src {
	uint8_t key[WL_KEY_LEN];
	uint32_t count;
	uint8_t had, need; /* enum wl_trust: the source's, and what the last fact needed */
};

/* apply.c: what a peer's AllowedIPs were worked out from, when they
 * needed no change (flags 0: not known). */
struct allowed_calm {
	uint64_t index_epoch; /* the fact index then (engine.index_epoch) */
	uint64_t device;      /* the device's AllowedIPs for it, hashed */
	size_t n;             /* ... and how many */
	uint8_t flags;        /* healthy, usable, the gates (apply.c: calm_of) */
};

/* What few peers ever hold: path notes (at a router) and the sources
 * that told us facts about it we refused. */
struct peer_rare {
	uint8_t notes[PEER_NOTES_MAX][WL_KEY_LEN];
	uint8_t note_kinds[PEER_NOTES_MAX]; /* enum lease_kind of notes[i] */
	struct refused_src refused_by[PEER_REFUSED_SOURCES];
};

enum { LF_ENDPOINT, LF_CIDR, LF_META };

struct peer {
	uint8_t key[WL_KEY_LEN];
	uint64_t h;
	struct wl_addr auto_addr;
	int cfg; /* index into the configured peers, -1 if not configured */

	/* Device view as of the last tick. */
	bool in_device;
	uint32_t at;       /* its place in the peer table (peertab.v, .vis) */
	int32_t dev_idx;   /* index in this tick's snapshot, -1 if absent */
	bool has_endpoint;
	struct wl_endpoint endpoint;
	bool router;
	int64_t handshake;      /* monotonic ms, ENGINE_NEVER = never */
	uint64_t rx_bytes, tx_bytes; /* the device's counters at the last tick */
	int64_t prev_handshake; /* at the tick before */
	int64_t rx_at;          /* when rx last grew, ENGINE_NEVER = not seen */

	/* The direct-path watch (path.c) [ours]. own_rx/own_tx: bytes of our
	 * own making through the tunnel since the last tick (wirelink
	 * datagrams and probes both ways, the replies our probes may draw,
	 * handshakes), so they are not mistaken for the user's traffic. */
	uint64_t own_rx, own_tx;
	/* Our datagrams that WireGuard had not sent by the last tick (it
	 * holds them for a handshake): still expected in its tx counter,
	 * until a new handshake or PATH_HELD_MS; since when. */
	uint64_t own_tx_held;
	int64_t held_since;
	int64_t active_at;      /* last tick that saw the user's traffic, ENGINE_NEVER */
	int64_t probe_at;       /* when the unanswered probe went out, ENGINE_NEVER if none */
	uint32_t probe_seq;
	int probe_misses;       /* unanswered probes in a row */
	/* Until when a stalled path is not found dead: the peer's handshake
	 * initiation came through, and WireGuard settles two that crossed
	 * only at its retry (path.c). ENGINE_NEVER: no grace given since the
	 * path last carried data. */
	int64_t crossed_until;
	bool path_dead;         /* the direct path answers nothing */
	struct wl_endpoint dead_ep; /* the endpoint it died on (it may come back there) */
	struct wl_endpoint good_ep; /* where its last new handshake came from */
	bool has_good_ep;
	int64_t retry_at;       /* while dead: the next probe */
	int64_t retry_gap;      /* while dead: the current backoff */
	/* [ours] The peer runs this daemon: it probed us, or answered our
	 * probe in kind (an original peer's kernel answers with an ICMP
	 * error). Only such peers are told what is new on the wire. */
	bool ours;
	/* [ours] It reads leases (core/lease.h): its v2 probe or reply, or
	 * an 'L' fact of its own. Only then is it sent one. */
	bool lease_ok;
	/* [ours] It may be dormant (quiet.c): its v3 probe or reply. */
	bool dormant_ok;
	/* The device had a handshake with it from before we started: a pair
	 * a daemon before us may have left dormant (apply.c wakes it). */
	bool direct_before_start;
	int hellos;             /* probes sent to a router (or a leaf we may go quiet
				 * towards) just to find that out */
	int64_t hello_at;       /* the last of them, ENGINE_NEVER */
	bool hello_again;       /* one more at once when it first speaks to us */
	/* [ours] Quiet pairs (quiet.c): its last Alive to us, and ours to it,
	 * carried the quiet ttl; or the dormant one (which is a quiet ttl too). */
	bool quiet_rx, quiet_tx;
	bool dormant_rx, dormant_tx;
	bool paired_tx; /* ... and the dormant one was sent with its own here */
	bool was_quiet;         /* a quiet pair at the last tick */
	bool was_dormant;       /* a dormant pair at the last tick */
	int64_t quiet_left_at;  /* when it last stopped being one, ENGINE_NEVER */
	int64_t dormant_left_at; /* ... a dormant one, ENGINE_NEVER */
	/* [ours] Until when a router stands by facts about it: the latest
	 * expiry a router gave any fact whose subject it is (observe.c),
	 * ENGINE_NEVER if none. What a dormant pair's liveness rests on. */
	int64_t vouch_until;
	bool vouch_ep; /* ... and one of those is the endpoint we use for it */
	/* [ours] Path notes (pathnote.c): our router is to hear that our path
	 * to it was found dead (note_due), or that traffic starts on our
	 * dormant path to it (wake_due); our router says it finds its path to
	 * us dead (told_watch: we watch ours now) or wakes us towards it
	 * (told_wake: we send to it); and, at a router, the notes of other
	 * peers about this one, to be told to it. */
	bool note_due, wake_due, told_watch, told_wake;
	int64_t woken_at; /* when told_wake was last taken up (path.c) */
	/* [ours] A dormant pair left dormancy as its router no longer sees it
	 * at the endpoint we use (quiet.c): follow it at this tick (apply.c). */
	bool follow_due;
	int punches;      /* probes still to send for a wake (path.c) */
	int64_t punch_at; /* the last of them, ENGINE_NEVER */
	uint8_t n_notes;
	int64_t woke_all_at; /* at a router: when its restart last woke the others */
	int64_t relayed_since; /* at a router: notes of its passed on since then */
	size_t relayed;

	/* Liveness (SPEC §8). */
	bool healthy;
	bool was_alive;         /* alive at the last tick (for events) */
	bool was_healthy_alive; /* healthy && alive at the last tick */
	bool has_boot_id;
	uint8_t boot_id[BOOT_ID_LEN];
	int64_t alive_until;
	int64_t alive_since;
	int64_t alive_heard;    /* when its last Alive arrived */

	/* Merged member metadata (config and facts); rebuilt every tick. */
	char name[64];
	int basic; /* -1 unknown, 0, 1 */

	/* Endpoint cycling (SPEC §10.4). initial_ep: the device's endpoint
	 * for the peer at our first tick (the operator's), a candidate for
	 * good [ours]. */
	bool has_initial_ep;
	struct wl_endpoint initial_ep;
	size_t n_tried;
	int64_t last_try; /* last time any endpoint was set */
	/* The candidate we last set ourselves (apply.c), at last_try: not the
	 * operator's endpoint found at our first tick. */
	struct wl_endpoint try_ep;
	bool has_try_ep;
	int64_t cand_seen_at; /* since when it has had a candidate, ENGINE_NEVER */
	/* [ours] For the time-to-direct histogram: when it first had a
	 * candidate while not healthy, ENGINE_NEVER once measured (or never). */
	int64_t first_cand_at;
	/* [ours] Facts about it that trust refused (receive.c): in all, and
	 * per source for the few sources that refused most — an operator's
	 * "why is it not direct" is often "nobody I trust said". */
	uint64_t refused;
	uint8_t n_refused_by;
	/* [ours] The wait before a candidate tried before is tried again:
	 * 0 = endpoint_interval_ms, doubled with each such try up to
	 * retry_max_ms for a peer that never answers (not a router: that is
	 * what we fall back to); back to 0 when it is healthy or restarted. */
	int64_t try_gap;
	bool force_alive; /* send an Alive at the next opportunity */
	/* We lease it what we tell it (ltx, at the end, is in use): asked of
	 * every peer at every send, so kept here rather than in ltx, whose
	 * cache line most peers of a leaf never need otherwise. */
	bool ltx_on;
	/* [ours] After its boot id changed we sent it everything; from this
	 * time on (a chunk later) we send it all once more, ENGINE_NEVER if
	 * done: one lost datagram would otherwise cost it what it carried
	 * for FactTTL/2, until the knowledge rule resends it. */
	int64_t resend_at;
	int64_t hold_until; /* nothing is sent to it before this (stagger) */

	/* Rebuilt every tick from the fact set (observe_index_facts). */
	bool member_fact;  /* a Member(Metadata) fact exists for it */
	int32_t fhead;     /* first fact about it, -1 if none */
	struct allowed_calm calm; /* apply.c: its AllowedIPs needed nothing then */
	/* Device view after this tick's changes (who we may send to). */
	bool send_ok;
	struct wl_endpoint send_ep;
	bool boot_changed; /* its boot id changed since the last tick */

	/* Shared key for sealing what we send it (`shared`, below; computed
	 * on first use). */
	int8_t shared_state; /* 0 not yet, 1 valid, -1 low-order key */

	struct knowledge know;
	/* Until when it holds our own Alive, as we last sent it (ENGINE_NEVER:
	 * not known to). Kept here, not in `know`: every tick asks it of every
	 * peer, and a field costs no lookup in the peer's table. */
	int64_t alive_told;
	struct lease_rx lrx; /* what it leases us */
	int64_t last_seen; /* for eviction */
	/* Where local_facts.c last put what the device says of it (its
	 * endpoint, its first AllowedIP, its member fact): guesses for
	 * factset_put_hinted, read at every tick for the peers with fresh
	 * handshakes. */
	uint32_t lf_hint[3];

	/* Below, what a tick reads for few peers or none: the arrays of
	 * the fields above (n_notes, n_tried, n_refused_by, shared_state)
	 * and a leaf's lease_tx. A tick at a thousand peers is bound by
	 * memory, and so by how many cache lines of each peer it touches. */
	struct tried_ep tried[PEER_TRIED_MAX];
	/* Out of line, allocated on first use: a 1,000-node simulation holds
	 * a million peers, and few of them ever hold these. */
	struct peer_rare *rare; /* notes and refusals, NULL until either comes */
	uint8_t shared[32];
	struct lease_tx ltx; /* what we lease it */
	/* [ours] When its last datagram came, whatever it said: read for our
	 * routers only, once a tick (lease.c: lease_silent), so kept out of
	 * the part every tick reads of every peer. */
	int64_t heard_at;
	/* [ours] A try (apply.c, try_unsent): the device's transmit count
	 * when it was set, and when its Alive was sent once more because the
	 * device had sent it nothing (ENGINE_NEVER: not yet). */
	uint64_t try_tx;
	int64_t try_again_at;
	/* [ours] When a test of time in its passes next flips, but for its
	 * liveness and vouch (visit.c): what its due time comes back to when
	 * a HOLD moves only those, read for those few peers. */
	int64_t due_rest;
};

/* [ours] What a tick reads of every peer to decide whether to visit it
 * (visit.c), kept by its place in the table rather than in the peer: a
 * peer left alone is then not loaded at all. At a thousand peers of
 * 2 KB each, a tick that looked into every peer spent most of its time
 * waiting for their cache lines. The due times are an array and each
 * flag a bit a place, so that deciding reads 8 bytes a peer and a pass
 * finds the peers it visits a word of 64 places at a time
 * (engine_visit_next): a leaf's tick in a large network's steady state
 * visits one or two of its thousand. */
struct peer_visits {
	int64_t *due;      /* when a test of time in its passes can next flip */
	uint64_t *skip;    /* this tick leaves it alone */
	uint64_t *touched; /* an input of its passes moved since its last visit */
	/* Its device view and its state agreed at its last visit (or its
	 * last check): while neither moves, they still do. */
	uint64_t *settled;
	uint64_t *redue; /* left alone, but its due time to be worked out again */
};

static inline bool peer_bit(const uint64_t *bits, size_t i)
{
	return bits[i >> 6] >> (i & 63) & 1;
}

static inline void peer_bit_put(uint64_t *bits, size_t i, bool on)
{
	uint64_t m = 1ull << (i & 63);
	bits[i >> 6] = on ? bits[i >> 6] | m : bits[i >> 6] & ~m;
}

/* The bits of word w that stand for places below n. */
static inline uint64_t peer_bits_below(size_t n, size_t w)
{
	size_t left = n - w * 64;
	return left < 64 ? (1ull << left) - 1 : ~0ull;
}

/* The first place from i on, below n, whose bit is set (flip 0) or clear
 * (flip ~0), or n: a word of places at a time. */
static inline size_t peer_bit_next(const uint64_t *bits, uint64_t flip, size_t i, size_t n)
{
	if (i >= n)
		return n;
	size_t w = i >> 6;
	uint64_t left = (bits[w] ^ flip) & (~0ull << (i & 63));
	while (!left) {
		if (++w >= (n + 63) >> 6)
			return n;
		left = bits[w] ^ flip;
	}
	size_t at = w << 6 | (size_t)__builtin_ctzll(left);
	return at < n ? at : n;
}

struct peertab {
	struct peer **v;
	struct peer_visits vis; /* place i is v[i]'s */
	size_t n, alloc, max, vis_alloc;
	struct hidx idx;
	uint8_t hkey[16];
	uint64_t evicted, refused;
	/* Peers freed so far (removed or evicted): a remembered pointer is
	 * still good while this is unchanged (peertab_hinted). */
	uint64_t removed;
};

/* What a peer's allocations hold, its out-of-line parts included
 * (its knowledge and leases are counted apart). */
size_t peer_bytes(const struct peer *p);
/* p's rare part, allocated if need be; NULL if out of memory. */
struct peer_rare *peer_rare(struct peer *p);

/* p is to be told everything again, our Alive too. */
void peer_know_clear(struct peer *p);

int peertab_init(struct peertab *t, size_t max, const uint8_t hkey[static 16]);
void peertab_free(struct peertab *t);
struct peer *peertab_find(const struct peertab *t, const uint8_t key[static WL_KEY_LEN]);
/* Finds or creates; NULL if the table is full of peers it may not evict or
 * out of memory. */
struct peer *peertab_get(struct peertab *t, const uint8_t key[static WL_KEY_LEN], int64_t now);
/* peertab_find with a guess: `hint` is the peer found for this key
 * before, kept by the caller with t->removed as it was then. The tick looks
 * up the same few thousand keys again and again (every fact's subject,
 * every device peer); a right guess costs one key compare instead of a
 * keyed hash. `get` creates a missing peer as peertab_get does. */
struct peer *peertab_hinted(struct peertab *t, const uint8_t key[static WL_KEY_LEN],
			    struct peer *hint, uint64_t hint_removed, bool get, int64_t now);
/* The peer whose facts are charged to this factset source id (its hash
 * with the low bit set, receive.c), or NULL. */
struct peer *peertab_find_source(const struct peertab *t, uint64_t id);
/* Removes entry i (swap-remove). */
void peertab_remove_at(struct peertab *t, size_t i);

/* alive: an unexpired Alive from the peer. */
static inline bool peer_alive(const struct peer *p, int64_t now)
{
	return p->has_boot_id && p->alive_until > now;
}

/* Records the time ep was tried (evicting the oldest record when full). */
void peer_note_tried(struct peer *p, const struct wl_endpoint *ep, int64_t now);
/* Records what came of ep's try (a handshake, a dead path). */
void peer_note_result(struct peer *p, const struct wl_endpoint *ep, enum tried_result r);
/* When ep was last tried, ENGINE_NEVER if never. */
int64_t peer_tried_at(const struct peer *p, const struct wl_endpoint *ep);

#endif
