/* [ours] Leases: refresh traffic that grows with the network, not with
 * its square (issue 12).
 *
 * SPEC §6 refreshes every fact to every peer that should know it about
 * every FactTTL/2: a hub with N leaves sends N² facts every two minutes.
 * Between two of our daemons, the sender instead tells each fact once per
 * *epoch* and then, every AlivePeriod, one HOLD: the count and digest of
 * what it told in this epoch and still stands by, valid for as long as
 * the shortest-lived of its own copies (FactTTL for what it generates;
 * less for what it only relays, so a relayed copy never outlives the
 * copy it came from, as with the original's decreasing TTLs). A
 * receiver whose own record of that epoch has the same count and digest
 * takes it as every one of those facts told again (the same trust and
 * shares apply, factset.c); one that differs answers NACK with its count,
 * and the sender repairs: if the receiver holds fewer (some were lost), it
 * tells again what it told in the last moments, then everything, in the
 * same epoch; if it holds more (a WITHDRAW was lost), it withdraws its
 * recent withdrawals again; only when that does not do, it starts a new
 * epoch, which also clears what the receiver kept of the old. A fact the
 * sender no longer stands by (it expired, was removed, its subject went
 * offline, or its own source stopped standing by it) is WITHDRAWn: the
 * receiver stops extending it, and it expires within FactTTL, as a fact
 * that is no longer refreshed does. Membership, trust and expiry keep
 * their meaning; only the refreshes are gone. The wire form is
 * wire/lease.h; the whole design, docs/leases.md.
 *
 * Epochs: a sender numbers them upwards per peer, and afresh (at random)
 * when that peer restarts; a receiver takes any epoch other than its
 * current one as a new one, which drops what it kept of the old.
 *
 * Who leases whom: a sender leases a peer that has shown it reads leases
 * (a v2 probe or reply, path.c, or an 'L' fact of its own) and is sent
 * facts at all (send.c); an original peer never sees an 'L' fact. A peer
 * whose boot id changes must show it again. */
#ifndef WL_CORE_LEASE_H
#define WL_CORE_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"

/* How long a HOLD that does not match waits for stragglers. */
#define LEASE_NACK_WAIT_MS 1000

/* Knowledge entries of a leased peer last until withdrawn or a new epoch:
 * they say "told in this epoch, at (value - LEASE_TOLD)", not "known
 * until" (lease_told tells them apart). */
#define LEASE_TOLD (INT64_MAX / 4)
static inline bool lease_told(int64_t known)
{
	return known >= LEASE_TOLD;
}

/* Withdrawals a sender keeps per peer for a repair (lease.c: on_nack):
 * a first repair sends again only what it told or withdrew in the last
 * two AlivePeriods (loss hits what is recent), everything only if that
 * did not do. */
#define LEASE_RECENT_GONE 16

/* What we lease a peer (sender side); in use while peer.ltx_on: its
 * knowledge table is then what we told it in this epoch. */
struct lease_tx {
	bool refused;    /* it keeps no leases from us: plain refreshes (SPEC §6) */
	bool restart;    /* a new epoch at the next send */
	bool numbered;   /* epoch holds the last one used with this peer */
	uint8_t repairs; /* NACKs answered since the last quiet spell (lease.c) */
	uint32_t epoch;
	uint32_t count;  /* facts told in this epoch, not withdrawn */
	uint64_t digest; /* their lease hashes, XORed */
	int64_t held_at; /* our last HOLD, ENGINE_NEVER */
	int64_t nacked_at; /* its last NACK, ENGINE_NEVER */
	bool rewithdraw;   /* send the recent withdrawals again */
	/* [ours] What the last whole pass over our facts for it depended on
	 * (send.c: lease_facts, on a router): while none of it moved and no
	 * HOLD is due, a pass would tell and withdraw nothing, and is
	 * skipped. */
	bool seen, seen_router, seen_ours;
	uint32_t seen_view; /* the engine's lease_view */
	uint32_t seen_rx, seen_know; /* its lease_rx and knowledge gens */
	int64_t seen_until; /* a refresh it told us runs out: one more fact to count */
	/* The last withdrawals, for a repair: out of line, allocated at the
	 * first (most peers are never withdrawn anything from). */
	uint8_t n_gone, gone_next;
	struct lease_gone *gone;
	/* [ours] Which facts the last whole pass left out (a router's only,
	 * allocated at its first pass): a HOLD due while nothing moved
	 * counts what that pass counted (send.c: hold_again). */
	struct lease_skips *skips;
};

/* The facts a pass over all of them (not a few candidates) neither
 * counted nor told, by place in the fact set, in order; ok: all of them,
 * and the pass was whole. A router leaves out of a leaf's HOLD its own
 * few facts and those not upheld: more than this, and the next HOLD
 * takes a whole pass. */
#define LEASE_SKIPS_MAX 32
struct lease_skips {
	bool ok;
	uint32_t n_indexed; /* the facts the pass walked */
	uint32_t n;
	uint32_t at[LEASE_SKIPS_MAX];
};

struct lease_gone {
	uint64_t lh[LEASE_RECENT_GONE]; /* lease hashes */
	int64_t at[LEASE_RECENT_GONE];  /* when withdrawn */
};

/* One fact a peer leases us. It stays until withdrawn or the epoch ends:
 * the sender withdraws whatever it stops standing by, so what is here is
 * what its HOLD counts. */
struct lease_slot {
	uint64_t lh;      /* lease hash; 0 = empty slot */
	uint64_t h;       /* our factset key hash */
	bool accepted;    /* its trust sufficed when told (else only counted) */
	uint32_t pos;     /* where its fact was in our fact set last time (a guess) */
};

/* What one peer leases us (receiver side). */
struct lease_rx {
	bool have;       /* an epoch of its leases is open */
	bool refusing;   /* our table for it overflowed: we asked it to refresh */
	bool nack_due;   /* tell it at our next send */
	bool refuse_due;
	uint32_t epoch;
	uint32_t nack_count; /* our record, for its log */
	uint64_t nack_digest;
	/* A HOLD that did not match yet. Datagrams sent together may arrive
	 * out of order (a HOLD before the facts it counts): it is checked
	 * again as more of them arrive, and only a mismatch that lasts until
	 * nack_at asks for a repair. */
	bool pending;
	uint16_t want_ttl;
	uint32_t want_count;
	uint64_t want_digest;
	int64_t nack_at;
	/* The earliest expiry among our copies of what it leases us, as far
	 * as HOLDs and tellings set them (ENGINE_NEVER: unknown): a matching
	 * HOLD re-merges every fact only when that is near (less than two
	 * AlivePeriods and a chunk away), not every AlivePeriod. */
	int64_t extended_until;
	int64_t matched_at; /* the last HOLD that matched in this epoch, ENGINE_NEVER */
	int64_t asked_at;   /* when we last asked for a HOLD (lease.c: ask_hold) */
	int64_t opened_at; /* when the current epoch opened */
	struct lease_slot *s;
	size_t mask, n;  /* slots - 1 (0 with s NULL), slots used */
	size_t n_accepted; /* slots used whose fact we took (lease_slot.accepted) */
	uint64_t digest; /* the lease hashes held, XORed (a HOLD's to match) */
	/* Moves whenever lease_rx_has may answer otherwise, or have or
	 * refusing change: send.c skips a lease pass while it stands still. */
	uint32_t gen;
};

struct engine;
struct peer;
struct packet;
struct fact;

/* The peer leases us the fact with this lease hash: we do not tell it
 * back (split horizon). Each side holding its copy only because the
 * other holds one, and each HOLD extending it, would keep a fact alive
 * after its last real source is gone; refreshes never did that, since a
 * fact told back never outlived the copy it came from. */
bool lease_rx_has(const struct lease_rx *r, uint64_t lh);

/* Asks the cache for where lease_rx_has(r, lh) looks first
 * (knowledge_prefetch's reasons). */
__attribute__((always_inline)) static inline void lease_rx_prefetch(const struct lease_rx *r,
								     uint64_t lh)
{
	if (r->s)
		__builtin_prefetch(&r->s[lh & r->mask]);
}

/* Forgets what the peer leased us (it restarted, or we start afresh). */
void lease_rx_reset(struct lease_rx *r);
/* Shrinks a table left mostly empty (withdrawals after a storm). */
void lease_rx_compact(struct lease_rx *r);
size_t lease_rx_bytes(const struct lease_rx *r);

/* Receiving from sp: before its facts, whether they belong to a lease
 * epoch of its (an EPOCH fact in the datagram); then each fact with
 * lease_note; then lease_finish for its HOLD, WITHDRAW, NACK or REFUSE. */
bool lease_begin(struct engine *e, struct peer *sp, const struct packet *pk, int64_t now);
void lease_note(struct engine *e, struct peer *sp, const struct fact *f, uint64_t h,
		int64_t expires, bool accepted, int64_t now);
void lease_finish(struct engine *e, struct peer *sp, const struct packet *pk, int64_t now);
/* At our send to sp: a pending HOLD that still does not match at its
 * nack_at becomes a NACK (sets lrx.nack_due). Keeps e->lease_at. */
void lease_check_pending(struct engine *e, struct peer *sp, int64_t now);
/* [ours] sp leases us, and has sent nothing since a HOLD it owed us, not
 * even an answer to our asks for it (lease.c: ask_hold): it is gone, not
 * merely lossy. */
bool lease_silent(const struct engine *e, const struct peer *sp, int64_t now);

/* Sender side: stop leasing p (back to SPEC §6 refreshes), or start an
 * epoch (its knowledge forgotten: everything is told again). */
void lease_tx_stop(struct peer *p);
void lease_tx_start(struct engine *e, struct peer *p);
/* How far back a first repair looks: the last two HOLDs' worth (what it
 * told again, and the withdrawals it sends again). */
int64_t lease_recent_ms(const struct engine *e);
/* A withdrawal sent to p, kept for a repair. */
void lease_tx_note_gone(struct peer *p, uint64_t lh, int64_t now);

/* The peer restarted: leases both ways start over once it shows again
 * that it reads them. */
void lease_peer_restarted(struct peer *p);

#endif
