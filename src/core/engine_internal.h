/* The engine's state, shared by the core modules (not a public header).
 *
 * Modules, one responsibility each:
 *   engine.c       construction, the tick sequence, deadlines, queries
 *   state.c        small helpers on this shared state (boot id, jitter,
 *                  config lookup, labels, the through-tunnel test)
 *   observe.c      device snapshot -> peer states, health, router role,
 *                  network view, liveness
 *   path.c         the direct-path watch: probes, dead paths, retries
 *   quiet.c        quiet pairs (the long Alive period between idle public peers)
 *                  and dormant pairs (nothing at all while idle)
 *   pathnote.c     dead-path and wake notes passed on by the router
 *   local_facts.c  SPEC §5
 *   trust_eval.c   SPEC §7 trust levels and thresholds
 *   receive.c      SPEC §3/§7 datagram in
 *   send.c         SPEC §6 datagrams out
 *   apply.c        SPEC §10 device changes
 *   actions.c      the engine_actions container and event lines
 *   dump.c         SIGUSR1 dump */
#ifndef WL_CORE_ENGINE_INTERNAL_H
#define WL_CORE_ENGINE_INTERNAL_H

#include <net/if.h>

#include "common/peerlabel.h"
#include "core/engine.h"
#include "core/factset.h"
#include "core/peerstate.h"
#include "core/rng.h"
#include "wire/keycache.h"

/* Outer addresses of ours kept for telling sites apart (see outer). */
#define ENGINE_MAX_OUTER 4
/* Routers whose facts vouch for peers (observe.c: note_vouch); a leaf has one or two. */
#define ENGINE_MAX_ROUTERS 4

struct cfg_peer {
	uint8_t key[WL_KEY_LEN];
	bool has_name;
	char name[ENGINE_NAME_MAX];
	enum wl_trust trust;
	bool fact_exchanger;
	int basic; /* -1 unset, 0, 1 (an enum wl_tristate) */
	size_t n_eps;
	struct wl_endpoint *eps;
	size_t n_allowed;
	struct wl_cidr *allowed; /* masked */
};

/* What a lease pass reads of fact i, besides the peer's own tables. */
struct fact_view {
	uint64_t h, src;
	const struct peer *subject;
	uint8_t flags;
	bool self, local;
};

/* Times the passes test against, which visit.c's due times must know
 * too. How long our datagrams may wait for a handshake before the
 * counter shows them (path.c: note_held): as long as WireGuard tries
 * (RekeyAttemptTime). Hellos to a peer (path.c), and their spacing. How
 * long the first try of a peer behind our own NAT waits for its LAN
 * address (apply.c: next_endpoint). */
#define PATH_HELD_MS 90000
#define PATH_HELLOS 3
#define PATH_HELLO_GAP_MS 10000
#define APPLY_LAN_WAIT_MS 1000

/* Which peers a tick visits (visit.c). */
struct visit_copy {
	struct peer *p;
	struct peer copy; /* as the tick found it (the shadow's check) */
};
struct visit_state {
	bool shadow;
	const struct engine_device *dev; /* this tick's */
	bool deciding; /* this tick decides which peers to leave alone */
	bool all;      /* ... and visits everyone (from when it was set on) */
	struct visit_copy *before;
	size_t cap, n_before;
	uint64_t removed_before; /* the peer table's removals at the tick's start */
	uint64_t index_before;
	uint8_t boot_before[BOOT_ID_LEN]; /* a new boot id tells every peer */
	size_t from[3]; /* the tick's first change, event and datagram */
	/* Global inputs every peer's passes read (visit.c: global_sig): at
	 * the last tick's end, and now. */
	unsigned sig, sig_now;
	struct engine_visit_stats st;
};

struct engine {
	uint8_t priv[WL_KEY_LEN];
	uint8_t pub[WL_KEY_LEN];
	struct engine_timing t;
	uint16_t port_cfg;
	enum wl_tristate router_cfg;
	bool chatty;
	struct cfg_peer *cfg;
	size_t n_cfg;
	int self_cfg;           /* index of our own entry, -1 if none */
	enum wl_trust own_trust; /* TRUST_UNSET if not configured */
	bool any_trust;         /* some configured peer has a Trust */
	size_t max_knowledge;

	struct rng rng;
	uint8_t boot_id[BOOT_ID_LEN];
	struct keycache kc;
	struct factset fs;
	struct peertab pt;

	/* Per-tick index of facts by subject: fnext[i] chains fact i to the
	 * next fact with the same subject; heads live in peer->fhead. Valid
	 * from build_index() to the end of the tick. */
	int32_t *fnext;
	/* fsubj[i]: the peer state fact i is about (NULL if none or if it is
	 * about us: fself[i]). Same lifetime as fnext. */
	struct peer **fsubj;
	bool *fself;
	uint8_t *fround; /* send.c: what holds of fact i for every peer this round */
	/* [ours] On a router, what each fact's round was (send.c: round_view),
	 * and a count that moves whenever a round differs from the last: the
	 * lease passes skip peers for whom nothing moved. */
	struct fact_view *fview;
	size_t n_fview, cap_fview;
	/* send.c: the facts a lease pass looks at (candidates) */
	uint32_t *cand;
	size_t cap_cand;
	uint32_t lease_view;
	size_t fnext_alloc;
	size_t n_indexed; /* facts covered by the index this tick */
	uint64_t fsubj_removed; /* e->pt.removed when fsubj was filled */
	/* What the index was last built from (observe.c): while none of it
	 * has moved, that index stands and a tick does not build it again. */
	struct index_memo {
		bool valid;
		uint64_t facts;          /* e->fs.shape_gen */
		size_t n_facts, n_peers; /* e->fs.n, e->pt.n */
		uint64_t removed;        /* e->pt.removed */
		uint64_t view;           /* e->view_gen */
		uint64_t addr_sig;
		size_t n_routers;
		const struct peer *routers[ENGINE_MAX_ROUTERS];
		uint32_t router_lrx[ENGINE_MAX_ROUTERS]; /* their lrx.gen */
		/* The latest rx_expires of an Endpoint fact placing us inside
		 * our own subnets (note_outer): seen_inside while it is ahead. */
		int64_t inside_rx;
	} imemo;
	uint64_t index_epoch; /* moves at every build of the index */
	/* Moves when a peer's in_device, router, has_endpoint or endpoint
	 * changes (observe.c): the device view the index reads. */
	uint64_t view_gen;
	/* The routers among this tick's device peers (the first
	 * ENGINE_MAX_ROUTERS in table order), found by observe_device. */
	struct peer *routers[ENGINE_MAX_ROUTERS];
	size_t n_routers;
	/* Every router that leases us answers none of our asks for its HOLD
	 * (lease_silent): what it vouched for says nothing now (quiet.c). */
	bool routers_silent;
	/* The peer state of each device peer at the last tick, by its place
	 * in the snapshot (p NULL: ourselves or none), and its place in the
	 * peer table: this tick's guesses, and while the device lists the
	 * same peers (engine_device.same_peers) and no peer was freed, what
	 * this tick finds. */
	struct dev_peer {
		struct peer *p;
		uint32_t at;
		bool moved; /* engine_device.moved names it this tick */
		/* Its view's handshake_ms, ENGINE_NEVER without an endpoint:
		 * whether it may be fresh, without loading the view
		 * (local_facts.c). */
		int64_t hs;
	} *dev_peer;
	size_t n_dev_peer, dev_peer_alloc;
	uint64_t dev_peer_removed; /* e->pt.removed when dev_peer was filled */
	/* A bit a device place (dev_words words each): its handshake may
	 * be fresh (set when it moves to a time, cleared when local_facts.c
	 * finds it stale); and, during observe_moved, the places to look at. */
	uint64_t *dev_fresh, *dev_look;
	size_t dev_words;
	size_t dev_missing; /* device peers with no state (a full table) */
	bool any_router;    /* a device peer is a router */
	/* The peers gone from the device but members (index_kept): good
	 * while view_gen, the index and the table's removals are as when
	 * it was made. */
	struct peer **absent;
	size_t n_absent, cap_absent;
	uint64_t absent_view, absent_index, absent_removed;
	bool absent_ok;

	/* Network view as of the last tick. */
	char ifname[IFNAMSIZ];
	uint16_t listen_port;
	struct wl_cidr *tun_nets, *other_nets;
	size_t n_tun, n_other, cap_tun, cap_other;
	/* Our addresses as others see them (Endpoint facts about us outside
	 * our own subnets: a NAT's public address), from the fact index; they
	 * tell a peer on our site from one on a look-alike LAN elsewhere. */
	struct wl_addr outer[ENGINE_MAX_OUTER];
	size_t n_outer;
	/* Our own addresses (every up interface but the tunnel), hashed;
	 * moved: they differ from the last tick's (not at the first), so
	 * WireGuard's cached source addresses may be gone (apply.c). */
	uint64_t addr_sig;
	bool moved;
	bool behind_nat; /* none of our own addresses is public */
	/* A peer told us an endpoint of ours inside our own subnets (since
	 * our addresses last changed), and none outside them (outer): no NAT
	 * between us and it (quiet.c). */
	bool inside_seen, nat_free;
	bool notes_due; /* some peer's note_due is set (pathnote.c) */
	bool tunnel_busy; /* engine_inputs.tunnel_busy, this tick */
	/* Our own endpoints the shell found (a port mapping), as of the last
	 * tick: the report's "no port mapping was granted". */
	struct wl_endpoint extra[4];
	size_t n_extra;
	bool router;

	int64_t start, last_tick, dirty_at, next_gc;
	int64_t chunk_gap; /* this tick to the next regular one (jittered) */
	int64_t hold_at; /* earliest hold_until still ahead, ENGINE_NEVER if none */
	/* When the next endpoint candidate of some peer is due (SPEC §10.4),
	 * ENGINE_NEVER if none: a tick comes then, so candidates are tried
	 * every EndpointInterval exactly, whatever the jittered ticks do. */
	int64_t retry_at;
	/* The direct-path watch wants a tick then (path.c), ENGINE_NEVER. */
	int64_t path_at;
	/* A lease HOLD that did not match is to be NACKed then (lease.c). */
	int64_t lease_at;
	/* Some direct path carries the user's traffic (path.c, this tick):
	 * retries are not backed off beyond their base interval meanwhile. */
	bool busy;
	unsigned apply_gates; /* apply's gates as bits, as apply last worked them out (visit.c) */
	/* When an expired AllowedCidr or Member fact last made us ask every
	 * peer to resend (a new boot id), ENGINE_NEVER if never. */
	int64_t renewed_at;
	char boot_reason[96]; /* pending ENGINE_EV_BOOT_ID text, "" if none */
	struct visit_state visit;
	struct engine_stats st;
};

/* state.c */
/* True if a is in a subnet of one of our interfaces (not the tunnel's). */
bool engine_on_our_lan(const struct engine *e, const struct wl_addr *a);
void engine_new_boot_id(struct engine *e, const char *why);
/* News arrived: tick within react_delay_ms. */
void engine_mark_dirty(struct engine *e, int64_t now);
/* wirelink's UDP port: the configured one, else the listen port + 1. */
uint16_t engine_port(const struct engine *e);
/* base ± timing.jitter_pct percent, from the engine's seeded stream (like
 * babeld's roughly()). */
int64_t engine_roughly(struct engine *e, int64_t base);
/* An endpoint address that would route through the tunnel itself. */
bool engine_through_tunnel(const struct engine *e, const struct wl_addr *a);
const struct cfg_peer *engine_cfg_of(const struct engine *e, const struct peer *p);
bool engine_is_self(const struct engine *e, const uint8_t key[static WL_KEY_LEN]);
/* [ours] Whether our key sorts above p's: the side that yields when two
 * peers would act at the same moment (apply.c: the staggered try;
 * quiet.c: who answers; path.c: whose hello goes first). */
bool engine_key_above(const struct engine *e, const struct peer *p);
/* The key our datagrams with p are sealed with (SPEC §3), worked out once
 * per peer state (an X25519, some 30 us: at 1,000 peers the key cache's
 * 1,024 slots would keep evicting and working them out again); NULL for
 * a low-order key. */
const uint8_t *engine_shared_key(struct engine *e, struct peer *p);
/* Fact fe is charged to p: p told it to us (receive.c charges a fact to
 * its sender's source id, the peer's hash with its low bit set). */
static inline bool engine_from_peer(const struct fentry *fe, const struct peer *p)
{
	return fe->src == (p->h | 1);
}
/* How log lines and events name a peer (common/peerlabel.h): by name and
 * short key; engine_key_label for any key, named if we know the peer. */
const char *engine_peer_label(const struct peer *p, char buf[static WL_PEER_LABEL_MAX]);
const char *engine_key_label(const struct engine *e, const uint8_t key[static WL_KEY_LEN],
			     char buf[static WL_PEER_LABEL_MAX]);

/* observe.c */
void engine_observe_device(struct engine *e, int64_t now, const struct engine_inputs *in,
			   struct engine_actions *out);
/* [ours] The one endpoint our router leases us for p at the address we
 * use for p but at another port: where p's NAT moved it (a router passes
 * on no other leaf's report of a port it has seen p leave, send.c). False
 * if none, or more than one. */
bool engine_router_moved_port(const struct engine *e, const struct peer *p, struct wl_endpoint *out);
/* [ours] apply.c: until when the next candidate waits because the device
 * has sent nothing to the one we set last (ENGINE_NEVER: it has). */
int64_t engine_try_unsent_until(const struct peer *p);
/* The peer state of device peer i (with this key) of this tick's snapshot,
 * as engine_observe_device found it; NULL if none. */
struct peer *engine_dev_peer(struct engine *e, size_t i, const uint8_t key[static WL_KEY_LEN]);
/* The peer state fact i is about, as the last index found it, while that
 * still holds (no peer removed since, the fact's subject the same); NULL
 * otherwise, or for a fact about us or no peer we track. */
const struct peer *engine_indexed_subject(const struct engine *e, size_t i);
void engine_observe_liveness(struct engine *e, int64_t now, struct engine_actions *out);
/* Rebuilds the subject index and merged member metadata from the fact set. */
void engine_index_facts(struct engine *e, int64_t now);

/* pathnote.c */
/* Our path to p was found dead: our router is told at our next send. */
void engine_pathnote_found_dead(struct engine *e, struct peer *p);
/* Traffic starts on our dormant path to p, or it stops being dormant:
 * our router asks p to send to us. */
void engine_pathnote_wake(struct engine *e, struct peer *p);
/* At a router: sp restarted; wake every leaf that may be dormant
 * towards it. */
void engine_pathnote_restarted(struct engine *e, struct peer *sp, int64_t now);
/* sp's lease note (PATH_DEAD or PATH_WAKE) naming key. */
void engine_pathnote_received(struct engine *e, struct peer *sp, uint8_t kind, const uint8_t *key,
			      int64_t now);
/* The notes to send p now (at most cap): keys and their kinds. */
size_t engine_pathnote_take(struct engine *e, struct peer *p, uint8_t (*keys)[WL_KEY_LEN],
			    uint8_t *kinds, size_t cap);
/* After a send to every peer: our own notes went to every router. */
void engine_pathnote_sent(struct engine *e);

/* quiet.c */
int64_t engine_quiet_ttl_ms(const struct engine *e);
bool engine_quiet_enabled(const struct engine *e);
bool engine_quiet_self(const struct engine *e);
/* Dormant pairs are on (Dormant, with quiet pairs). */
bool engine_dormant_enabled(const struct engine *e);
/* The ttl of a dormant Alive: "I may send you nothing while idle". Sent
 * only to a peer that showed it reads it (a version 3 probe, path.c):
 * an older daemon of ours would take it for a quiet Alive's. */
#define ENGINE_DORMANT_TTL_S 65535
/* The same offer from a side that has not yet heard the peer's: "and
 * send me yours". It is answered at once (quiet.c) and repeated at the
 * loud pace until then (send.c), so a lost Alive cannot leave one side
 * dormant and the other waiting. */
#define ENGINE_DORMANT_ASK_TTL_S 65534
/* A period that never comes round: a dormant pair's. */
#define QUIET_FOREVER_MS ((int64_t)1 << 50)
/* What our Alives to p offer, by their ttl. */
enum quiet_offer { QUIET_LOUD, QUIET_QUIET, QUIET_DORMANT };
enum quiet_offer engine_quiet_offer(const struct engine *e, const struct peer *p, int64_t now);
/* A router stands by what it says of p for a while yet. */
bool engine_vouched(const struct engine *e, const struct peer *p, int64_t now);
/* Both sides' last Alives carried it: the quiet period applies (or, for a
 * dormant pair, none). */
bool engine_quiet_pair(const struct peer *p);
bool engine_dormant_pair(const struct peer *p);
/* A dormant peer lives while our router vouches for it (liveness pass). */
void engine_dormant_liveness(const struct engine *e, struct peer *p, int64_t now);
/* sp's Alive arrived: in a quiet pair, the higher key answers at once. */
void engine_quiet_heard(struct engine *e, struct peer *sp, int64_t now);
/* How often we send p an Alive (and, leasing, a HOLD). */
int64_t engine_alive_period_ms(const struct engine *e, const struct peer *p);
/* How often p may send us one: the longest it may wait. */
int64_t engine_peer_alive_period_ms(const struct engine *e, const struct peer *p);
/* How long after p's last received byte its path still counts as
 * working (observe.c): two Alive periods and two chunks, the quiet
 * period's for a quiet pair and for a while after it ends. Called once
 * per tick: it notes the end of a quiet pair. */
int64_t engine_rx_window_ms(struct engine *e, struct peer *p, int64_t now,
			    struct engine_actions *out);
/* How long an Alive we are told with this ttl lasts (within bounds). */
int64_t engine_alive_ms(const struct engine *e, uint16_t ttl);
/* The expiry of an Alive from sp with this ttl; notes whether it was quiet. */
int64_t engine_alive_expiry(struct engine *e, struct peer *sp, int64_t now, uint16_t ttl);

/* When p was last heard from, for the receive window (observe.c): its
 * data's arrival, or the end of dormancy, whose silence is no sign of a
 * dead path (quiet.c). ENGINE_NEVER if neither. */
static inline int64_t engine_heard_at(const struct peer *p)
{
	if (p->dormant_left_at != ENGINE_NEVER &&
	    (p->rx_at == ENGINE_NEVER || p->dormant_left_at > p->rx_at))
		return p->dormant_left_at;
	return p->rx_at;
}

/* path.c */
/* Bytes of our own making through the tunnel to or from p (a datagram's
 * payload; the overhead is added here). */
void engine_path_own_rx(struct peer *p, size_t payload);
void engine_path_heard(struct engine *e, struct peer *p, int64_t now);
void engine_path_own_tx(struct peer *p, size_t payload);
/* A device peer's counters at this tick (before p->rx_bytes moves on). */
void engine_path_observe(struct engine *e, struct peer *p, const struct engine_peer_view *wp,
			 bool was_in, bool new_handshake, int64_t now, struct engine_actions *out);
/* In use: the user's traffic within watch_ms, or traffic that waits
 * for WireGuard's retry after crossed initiations. */
bool engine_path_active(const struct engine *e, const struct peer *p, int64_t now);
/* Probes, dead paths and retries for every peer; sets e->path_at. */
void engine_path_watch(struct engine *e, int64_t now, struct engine_actions *out);
/* A datagram on the wirelink port that is a probe reply: handled (true),
 * or not one (false: parse it as wirelink's). */
bool engine_path_reply_received(struct engine *e, int64_t now, const struct wl_addr *src,
				const uint8_t *buf, size_t len);
uint16_t engine_path_probe_port(const struct engine *e);

/* local_facts.c */
void engine_local_facts(struct engine *e, int64_t now, const struct engine_inputs *in);

/* receive.c */
/* A fact from sp that expires then, through trust (SPEC §7) into the fact
 * set within sp's share: true if it is held (new, extended or the same).
 * A refusal is counted and charged to the subject if count_refusal. */
bool engine_take_trusted(struct engine *e, int64_t now, struct peer *sp, struct fact *f,
			 int64_t expires, bool count_refusal);
/* engine_take_trusted for the fact at position i of the fact set, told
 * again by sp (trust: engine_trust_of_source of sp, worked out once for
 * a whole HOLD). No refusal is counted. */
bool engine_retake_trusted(struct engine *e, int64_t now, struct peer *sp, enum wl_trust trust,
			   size_t i, int64_t expires);
/* trust_eval.c */
enum wl_trust engine_trust_of_source(const struct engine *e, const struct peer *src);
/* Whether a source trusted `trust` may tell f; if not, *need says the
 * level it needed (TRUST_DELEGATE + 1: never). */
bool engine_trusted_for(const struct engine *e, const struct fact *f, enum wl_trust trust,
			int *need);
/* The same for the fact at position i of the fact set. */
bool engine_trusted_for_at(const struct engine *e, size_t i, enum wl_trust trust);

/* apply.c */
void engine_apply(struct engine *e, int64_t now, const struct engine_inputs *in,
		  struct engine_actions *out);

/* send.c */
void engine_send(struct engine *e, int64_t now, struct engine_actions *out);

/* actions.c */
struct engine_datagram *engine_actions_add_send(struct engine_actions *a);
/* Appends a change whose allowed_ips are a copy of ips[0..n). */
struct engine_change *engine_actions_add_change(struct engine_actions *a,
						const uint8_t key[static WL_KEY_LEN], unsigned flags,
						const struct wl_cidr *ips, size_t n);
/* Appends an event without its text (NULL: out of memory, counted). */
struct engine_event *engine_actions_event_untold(struct engine_actions *a,
						 enum engine_event_kind kind, const uint8_t *peer);
void engine_actions_event(struct engine_actions *a, enum engine_event_kind kind,
			  const uint8_t *peer, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* An event, its text formatted only if someone reads it: the arguments,
 * peer labels among them, are not even worked out otherwise. */
#define ENGINE_EVENT(a, kind, peer, ...)                                        \
	do {                                                                    \
		if ((a)->untold)                                                \
			(void)engine_actions_event_untold((a), (kind), (peer)); \
		else                                                            \
			engine_actions_event((a), (kind), (peer), __VA_ARGS__); \
	} while (0)

/* visit.c: which peers a tick visits. touch: an input of p's passes
 * moved outside them (a datagram from it, a note naming it). begin
 * and end go around a tick's passes; observe.c decides for each peer
 * (decide, then view for a device peer); global: after each pass that
 * works out what every peer reads; skips: whether a pass leaves p
 * alone. */
void engine_visit_touch(struct engine *e, struct peer *p);
/* The device's AllowedIPs for a peer, hashed (apply.c keeps it in
 * peer.calm; visit.c compares). */
uint64_t engine_allowed_hash(const struct engine_peer_view *wp);
void engine_visit_begin(struct engine *e, int64_t now, const struct engine_device *dev,
			const struct engine_actions *out);
void engine_visit_decide(struct engine *e, int64_t now);
void engine_visit_view(struct engine *e, struct peer *p, const struct engine_peer_view *wp);
/* An input of p's passes moved in this tick's passes: visited from the
 * next pass on. */
void engine_visit_now(struct engine *e, struct peer *p);
/* Whether this tick decided to leave p alone, and still does. */
bool engine_visit_left_alone(const struct engine *e, const struct peer *p);
/* p, left alone, had a time its due time reads moved by this tick: its
 * due time is worked out again at the tick's end. */
void engine_visit_redue(struct engine *e, struct peer *p);
/* A device peer (place at in the table) whose view the shell says is as
 * at the last tick, and whose last visit left view and state agreeing:
 * nothing to compare, and p is not loaded (the shadow compares all the
 * same). */
void engine_visit_view_same(struct engine *e, size_t at, struct peer *p,
			    const struct engine_peer_view *wp, int64_t now);
void engine_visit_global(struct engine *e);
/* Whether the shadow is on, and a shortcut elsewhere (send.c: a HOLD
 * counted again without a pass) that came out otherwise than the whole
 * way would: counted and named among the misses. */
static inline bool engine_visit_checking(const struct engine *e)
{
	return e->visit.shadow;
}
void engine_visit_shortcut_missed(struct engine *e, const struct peer *p, const char *what,
				  int64_t now);
void engine_visit_end(struct engine *e, int64_t now, const struct engine_actions *out);
void engine_visit_free(struct engine *e);
/* Whether the peer in place i of the peer table is left alone: asked
 * before the peer is loaded. */
static inline bool engine_visit_skips_at(const struct engine *e, size_t i)
{
	return !e->visit.shadow && !e->visit.all && peer_bit(e->pt.vis.skip, i);
}
/* The first place from i on whose peer the passes visit, or the table's
 * size: they go from peer to peer visited as
 *     for (i = engine_visit_next(e, 0); i < e->pt.n; i = engine_visit_next(e, i + 1))
 * reading the skip bits a word at a time. */
static inline size_t engine_visit_next(const struct engine *e, size_t i)
{
	if (e->visit.shadow || e->visit.all)
		return i;
	return peer_bit_next(e->pt.vis.skip, ~0ull, i, e->pt.n);
}
static inline bool engine_visit_skips(const struct engine *e, const struct peer *p)
{
	return engine_visit_skips_at(e, p->at);
}

#endif
