/* The wirelink protocol engine (SPEC §4–§10): a pure state machine.
 *
 * Nothing in src/core reads a clock, a socket, a random source or the
 * kernel. Everything arrives as an argument:
 *   - time: `now_ms`, monotonic milliseconds (any origin; the shell uses
 *     CLOCK_BOOTTIME or CLOCK_MONOTONIC, the simulator its virtual clock).
 *     It must never go backwards between calls.
 *   - randomness (boot ids, packet nonces): a ChaCha20 stream keyed by the
 *     32-byte seed given to engine_new(). The shell seeds it from the OS,
 *     tests and the simulator from a test seed, so runs are reproducible.
 *   - the WireGuard device snapshot, the local interfaces, received datagrams.
 * Effects come out as a struct engine_actions: datagrams to send, device
 * changes to make, events to log. The engine's types are its own: the
 * device view (struct engine_device) and the changes (struct
 * engine_change) are converted to and from the WireGuard backends' types
 * by the shell, at its edge. Nothing here includes src/sys, src/config or
 * src/daemon (the build checks it: scripts/check-layers.py).
 *
 * How the shell drives it (src/daemon/driver.c is that code, used by the
 * daemon, the simulator and the unit-test fixture alike):
 *
 *     e = engine_new(&cfg, seed, now);
 *     loop:
 *         sleep until engine_next_deadline(e) or a datagram arrives;
 *         for each datagram: engine_receive(e, now, &src, buf, len);
 *         if now >= engine_next_deadline(e):
 *             snapshot device + interfaces;
 *             engine_tick(e, now, &inputs, &actions);
 *             apply actions.changes to the device, THEN send actions.send
 *             (a datagram may go to a peer whose endpoint the same tick
 *             just set), report actions.events;
 *             engine_actions_clear(&actions);
 *
 * engine_receive() processes a datagram at once (facts are stored, peer
 * knowledge and liveness updated) and, when something new was learnt,
 * pulls the next deadline in to now + timing.react_delay_ms, so the engine
 * reacts well before the original's 5 s chunk [ours].
 *
 * DNS: configured endpoints are given already resolved. The shell resolves
 * them (at start, and again whenever engine_peer_wants_endpoints() says so)
 * and hands them over with engine_set_peer_endpoints().
 *
 * Interface filtering: the shell applies ReportIfaces/HideIfaces globs and
 * sets engine_iface.report; it passes ALL interfaces (also unreported and
 * the WireGuard one), because the "would route through the tunnel" check
 * (SPEC §7) needs every interface's subnets.
 *
 * Where this engine deliberately differs from the original (all wire- and
 * behaviour-compatible with original peers) [ours]:
 *   - it reacts to news (a new fact, a new or returning peer boot id)
 *     after react_delay_ms instead of at the next 5 s chunk;
 *   - a due Alive is put first in the first datagram, so a receiver that
 *     handles facts in order forgets old knowledge before recording new;
 *   - after picking a new boot id it forgets that peers know its Alive,
 *     so the new id goes out at the next tick, not within AlivePeriod;
 *   - a router's own AllowedCidr facts skip non-global addresses (its
 *     fe80:: auto address is not a subnet to route to it);
 *   - a handshake time that moved by <= 1 s between ticks is the same
 *     handshake (the shell derives times from wall-clock ages);
 *   - when a peer's knowledge table is full, new keys are not remembered
 *     (the fact may be resent) rather than evicting what it knows;
 *   - the regular tick is jittered (timing.jitter_pct), and with it
 *     every periodic send;
 *   - a direct path that dies under traffic is noticed in about two
 *     seconds and falls back to the router, early in the node's life too,
 *     and is retried with a backoff of at most retry_max_ms (path.c);
 *   - endpoint candidates: one never tried goes fresh_try_ms after the
 *     last try, others every endpoint_interval_ms (5 s); on our site the
 *     LAN address first, elsewhere the public one first (apply.c); the
 *     device's endpoint at our first tick stays a candidate for good;
 *   - a leaf probes its routers a few times ("hellos"); a peer that
 *     probes us or answers in kind runs this daemon, and is also told the
 *     endpoint we see it at (its NAT's address) — nothing new ever
 *     reaches an original peer's wirelink port;
 *   - own endpoints that no interface shows (a port mapping) come in as
 *     engine_inputs.extra_endpoints and are advertised like the others;
 *   - a shell that was deaf for a while (its address or socket gone)
 *     picks a new boot id (engine_rejoin), so peers resend everything;
 *   - after a peer's boot id changes we send it everything twice, a
 *     chunk apart (one lost datagram would otherwise wait FactTTL/2), and
 *     a peer heard again after its Alive lapsed gets ours at once;
 *   - an AllowedCidr or Member fact that expired holds back removals for
 *     AlivePeriod + 2 chunks (the source's resend is on its way), and a
 *     source's silence removes AllowedIPs only once it has talked to us
 *     for half a FactTTL (a returning hub re-tells each peer only when
 *     that peer is back with it too);
 *   - between two daemons of ours facts are leased, not refreshed
 *     (core/lease.h, docs/leases.md): told once per epoch, then held by a
 *     HOLD every AlivePeriod; negotiated by version 2 probes, so an
 *     original peer is refreshed as SPEC §6 says (setting Leases);
 *   - a device endpoint we set as a candidate after the peer's last
 *     handshake is not reported as where the peer is (SPEC §5 reports
 *     whatever the device holds): the handshake was elsewhere.
 *
 * Error convention: constructors return NULL on allocation failure or bad
 * config (engine_config_check() says why); queries return bool (false =
 * not found). The engine never logs: what happened comes out as events
 * and counters.
 * Nothing a peer sends can make the engine abort or grow without bound:
 * every table has a cap (engine_config.max_*) and a drop counter. */
#ifndef WL_CORE_ENGINE_H
#define WL_CORE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/encoding.h"
#include "common/netaddr.h"
#include "common/peerlabel.h"
#include "common/tristate.h"
#include "common/trust.h"
#include "core/clock.h"
#include "wire/fact.h"
#include "wire/keycache.h"

/* Protocol timing (SPEC §4). engine_config_init() sets the original's
 * values, which mixed networks need; tests and faster modes may shrink them. */
struct engine_timing {
	int64_t fact_ttl_ms;           /* 255 000: ttl of every local fact */
	int64_t alive_period_ms;       /* 30 000: Alive resend period */
	int64_t chunk_period_ms;       /* 5 000: regular tick period */
	int64_t endpoint_interval_ms;  /* 5 000 [ours; the original: 15 000]: time per
					* endpoint candidate tried before (WireGuard
					* retries an initiation every 5 s) */
	int64_t fresh_try_ms;          /* 2 000 [ours]: a candidate never tried goes this
					* long after the last try (a round trip and the
					* stagger, with room for a lost initiation) */
	int64_t handshake_validity_ms; /* 165 334: handshake younger = healthy */
	int64_t react_delay_ms;        /* 100: tick this soon after news [ours] */
	int64_t stagger_ms;            /* 500: hold-off of the higher key [ours] */
	/* The direct-path watch (src/core/path.c) [ours]: while traffic
	 * flows over a direct path, a silence of its receive counter is
	 * probed, and a path that answers nothing is declared dead, so the
	 * peer falls back to the router at once instead of after
	 * HandshakeValidity. probe_interval_ms 0 turns the watch off. */
	int64_t probe_interval_ms; /* 400: probe spacing, and the tick period while watching */
	int64_t watch_ms;          /* 3000: a path is watched this long after real traffic */
	int64_t stall_ms;          /* 800: silence on a watched path before a probe */
	int probe_misses;          /* 3: unanswered probes in a row that declare it dead */
	int64_t retry_max_ms;      /* 60000: longest wait between retries of a dead path */
	/* 10: the regular tick comes ChunkPeriod ± this many percent after
	 * the last one, drawn afresh each tick from the seeded stream. All
	 * periodic sends (Alives, refreshes) happen at ticks, so nodes started
	 * together drift apart instead of sending in step forever [ours].
	 * 0 = exact periods. */
	int jitter_pct;
	/* true [ours]: lease what we tell our peers instead of refreshing it
	 * (core/lease.h); false: SPEC §6 refreshes to every peer. */
	bool leases;
	/* 600 000 [ours]: the Alive period between two peers of ours that
	 * both go quiet (core/quiet.c: a direct path between public nodes,
	 * neither a router); 0 = never quiet. Needs leases. */
	int64_t quiet_period_ms;
	/* false [ours]: idle pairs of ours whose router vouches for both
	 * send nothing (core/quiet.c: dormant pairs). Needs quiet pairs. */
	bool dormant;
	/* [ours] A tick leaves alone the peers none of whose inputs moved
	 * and none of whose tests of time can flip (core/visit.c); false:
	 * every tick walks every peer through every pass. */
	bool skip_idle;
};

/* One configured peer (SPEC §11 peer entry). Everything is copied by
 * engine_new(); the caller keeps ownership of its arrays. */
struct engine_peer_config {
	uint8_t public_key[WL_KEY_LEN];
	const char *name;    /* NULL = none */
	enum wl_trust trust; /* TRUST_UNSET = not set */
	bool fact_exchanger;
	enum wl_tristate basic; /* WL_AUTO: as its member metadata says */
	/* Endpoints, already resolved to numeric form (see DNS above). */
	size_t n_endpoints;
	const struct wl_endpoint *endpoints;
	/* AllowedIPs; host bits are masked off by the engine. */
	size_t n_allowed;
	const struct wl_cidr *allowed_ips;
};

struct engine_config {
	uint8_t private_key[WL_KEY_LEN]; /* public key derived from it */
	/* wirelink's UDP port; 0 = the device's listen port + 1 (SPEC §2). */
	uint16_t port;
	enum wl_tristate router; /* WL_AUTO = detect (SPEC §9) */
	bool chatty;
	/* Configured peers. An entry for the node's own key gives its own
	 * trust, name and AllowedIPs. */
	size_t n_peers;
	const struct engine_peer_config *peers;
	struct engine_timing timing;
	/* Table caps (0 = default). */
	size_t max_facts;          /* known facts (default 16384) */
	size_t max_peers;          /* peer states (default 4096) */
	size_t max_knowledge;      /* remembered keys per peer (default max_facts + 1024) */
	/* [ours] Each source's share of the fact table (0 = default; see
	 * core/factset.h): facts of a source below Membership trust (512),
	 * Endpoint (16) and AllowedCidr (256) facts per source and subject,
	 * new members per source at once (1024) and then per minute (256). */
	size_t facts_per_source, endpoints_per_subject, allowed_per_subject;
	size_t new_members_burst, new_members_per_min;
	/* How shared keys are worked out (agree NULL: X25519 in the engine,
	 * as the daemon does; wire/keycache.h). */
	struct key_agreement agreement;
};

/* Defaults: everything zero/unset, router AUTO, timing as in SPEC §4. */
void engine_config_init(struct engine_config *cfg);
void engine_timing_default(struct engine_timing *t);

/* One local network interface as the shell sees it. */
struct engine_iface {
	const char *name; /* borrowed for the duration of the call */
	uint32_t ifindex;
	bool up;
	bool report; /* passes ReportIfaces/HideIfaces (shell applies globs) */
	size_t n_addrs;
	const struct wl_cidr *addrs; /* address + prefix length, host bits kept */
};

/* One WireGuard peer as the device reported it for this tick. */
struct engine_peer_view {
	uint8_t key[WL_KEY_LEN];
	bool has_endpoint;
	struct wl_endpoint endpoint;
	/* The last handshake on the engine's clock (the same monotonic ms as
	 * now_ms), ENGINE_NEVER if none. WireGuard reports wall-clock times;
	 * the shell converts: now_ms - (wall_now - wall_handshake). */
	int64_t handshake_ms;
	uint64_t rx_bytes, tx_bytes;
	size_t n_allowed;
	const struct wl_cidr *allowed_ips;
};

/* The WireGuard device as just read. */
struct engine_device {
	const char *name; /* the interface; matched against engine_iface.name */
	uint16_t listen_port;
	size_t n_peers;
	const struct engine_peer_view *peers;
	/* [ours] Optional, from a shell that knows (the in-memory device):
	 * same_peers says peers lists the peers the last tick's did, in the
	 * same order, and only those at the n_moved indices in moved may
	 * differ from what the last tick was given; all others are exactly
	 * as they were. The engine then looks only at those, and at peers
	 * its passes have reason to visit. false: any may have moved. */
	bool same_peers;
	size_t n_moved;
	const uint32_t *moved;
};

/* Inputs of one tick. All borrowed for the duration of engine_tick(). */
struct engine_inputs {
	struct engine_device dev; /* dev.name is required */
	/* Every local interface including the WireGuard one. */
	size_t n_ifaces;
	const struct engine_iface *ifaces;
	/* Public endpoints of our own that no interface shows, e.g. a port
	 * mapping our NAT granted: advertised like interface addresses (an
	 * Endpoint fact about us), as the shell found them. */
	size_t n_extra_endpoints;
	const struct wl_endpoint *extra_endpoints;
	/* [ours] The tunnel interface's own counters moved beyond our
	 * datagrams since the last tick: the user's packets went into it,
	 * whether WireGuard sent them yet or holds them for a handshake
	 * (path.c). false when the shell cannot tell. */
	bool tunnel_busy;
};

/* What to do to one device peer (SPEC §10). A change to a peer that is
 * already in the device always carries UPDATE_ONLY, so it cannot
 * re-create a peer that vanished meanwhile (§10.7). */
enum engine_change_flags {
	ENGINE_CHANGE_REMOVE = 1u << 0,         /* only removes; nothing else applies */
	ENGINE_CHANGE_UPDATE_ONLY = 1u << 1,    /* never creates the peer */
	ENGINE_CHANGE_REPLACE_ALLOWED = 1u << 2, /* allowed_ips replace, else are added */
	ENGINE_CHANGE_SET_ENDPOINT = 1u << 3,
};

struct engine_change {
	uint8_t key[WL_KEY_LEN];
	unsigned flags; /* enum engine_change_flags */
	struct wl_endpoint endpoint; /* with ENGINE_CHANGE_SET_ENDPOINT */
	size_t n_allowed;
	const struct wl_cidr *allowed_ips; /* owned by the engine_actions */
};

/* What a datagram is: wirelink's SignedGroup (SPEC §3), or a path probe
 * or probe reply [ours] (ENGINE_PROBE_*; not wirelink's protocol: sent to
 * the probe port, which original peers do not listen on, so their kernel
 * answers with an ICMP error through the tunnel — all a probe needs). */
enum engine_dgram_kind {
	ENGINE_DG_FACTS = 0,
	ENGINE_DG_PROBE,
	ENGINE_DG_PROBE_REPLY,
};

/* A path probe: type, sequence number (big-endian), the sender's public
 * key. Requests go to the peer's wirelink port + 1 (ENGINE_PROBE_PORT_OFFSET),
 * replies come back to the requester's wirelink port. */
#define ENGINE_PROBE_REQUEST 0x01
#define ENGINE_PROBE_REPLY 0x02
/* The same, from a daemon that also reads leases (core/lease.h); a reply
 * is in the version of its request, so an older daemon of ours, which
 * drops a version 2 request as malformed, still gets the replies it
 * understands to its own. */
#define ENGINE_PROBE_REQUEST_V2 0x03
#define ENGINE_PROBE_REPLY_V2 0x04
/* Version 3: it also reads leases' path wakes and dormant Alives
 * (core/quiet.c). Sent to leaves only, beside version 2. */
#define ENGINE_PROBE_REQUEST_V3 0x05
#define ENGINE_PROBE_REPLY_V3 0x06
#define ENGINE_PROBE_LEN (1 + 4 + WL_KEY_LEN)
#define ENGINE_PROBE_PORT_OFFSET 1

/* One datagram to send: to [dst%wg-iface]:port. At most 1212 bytes. */
struct engine_datagram {
	enum engine_dgram_kind kind;
	uint8_t peer[WL_KEY_LEN];
	struct wl_addr dst; /* the peer's automatic address */
	uint16_t port;
	uint16_t len;
	/* len bytes (room for WIRE_MAX_DATAGRAM while it is written), held by
	 * the engine_actions it belongs to, in place until it is cleared. */
	uint8_t *data;
};

enum engine_event_kind {
	ENGINE_EV_BOOT_ID,        /* we picked a new boot id (text says why) */
	ENGINE_EV_ROUTER,         /* our router role changed */
	ENGINE_EV_PEER_ADD,       /* adding a peer to the device */
	ENGINE_EV_PEER_REMOVE,    /* removing a peer from the device */
	ENGINE_EV_ENDPOINT,       /* trying a new endpoint for a peer */
	ENGINE_EV_ALLOWED,        /* AllowedIPs of a peer change */
	ENGINE_EV_DECONFIGURE,    /* peer reduced to its auto address */
	ENGINE_EV_HEALTHY,        /* peer handshake became healthy */
	ENGINE_EV_UNHEALTHY,      /* peer handshake went stale */
	ENGINE_EV_ALIVE,          /* peer became alive */
	ENGINE_EV_DEAD,           /* peer's Alive expired */
	ENGINE_EV_PEER_BOOT,      /* peer's boot id changed */
	ENGINE_EV_PATH_DEAD,      /* the direct path to a peer answers nothing [ours] */
	ENGINE_EV_PATH_BACK,      /* ... and works again */
	ENGINE_EV_MOVED,          /* our own addresses changed [ours] */
	ENGINE_EV_DORMANT,        /* a pair became dormant, or stopped being so [ours] */
};

#define ENGINE_EVENT_TEXT_MAX 200 /* with its NUL */
struct engine_event {
	enum engine_event_kind kind;
	bool has_peer;
	uint8_t peer[WL_KEY_LEN];
	/* A complete human log line ("" when the actions are untold), kept
	 * with the actions until they are cleared. */
	const char *text;
};

/* Outputs of one tick. Initialise with engine_actions_init(); the arrays
 * and every changes[i].allowed_ips belong to this object until
 * engine_actions_clear() (reuse) or engine_actions_free(). engine_tick()
 * appends, it does not clear. */
struct engine_actions {
	size_t n_send, cap_send;
	struct engine_datagram *send;
	size_t n_changes, cap_changes;
	struct engine_change *changes;
	size_t n_events, cap_events;
	struct engine_event *events;
	/* Actions lost to a failed allocation (the shell logs the count). */
	size_t dropped;
	/* Set by the owner when nobody reads the events' text (a daemon
	 * whose log level leaves them out, a simulation nobody prints):
	 * events then carry their kind and peer and an empty text, and the
	 * engine spares working out and formatting their labels — at a
	 * thousand peers a leaf makes thousands at once. Kept by
	 * engine_actions_clear. */
	bool untold;
	/* private: the allowed_ips buffers owned on behalf of changes[] */
	struct wl_cidr **owned_;
	/* private: the datagrams' bytes, one after the other in blocks that
	 * never move; cur_block_: where the last datagram's are */
	uint8_t **blocks_;
	size_t n_blocks_, cur_block_;
	/* private: the events' texts, the same way; text_used_: bytes taken
	 * in block cur_text_ */
	char **texts_;
	size_t n_texts_, cur_text_, text_used_;
};

void engine_actions_init(struct engine_actions *a);
void engine_actions_clear(struct engine_actions *a);
void engine_actions_free(struct engine_actions *a); /* NULL is fine */

/* Why a datagram was dropped (engine_receive's result). */
enum engine_rx {
	ENGINE_RX_OK = 0,     /* authenticated; its facts were processed */
	ENGINE_RX_PARSE,      /* not a well-formed SignedGroup */
	ENGINE_RX_BAD_SOURCE, /* source address is not the signer's auto address */
	ENGINE_RX_BAD_SIG,    /* tag does not verify (or low-order signer key) */
	ENGINE_RX_PROBE,      /* a path probe or probe reply, handled */
};

/* Upper bounds (ms) of the time-to-direct buckets (engine_stats). */
#define ENGINE_TTD_BUCKETS 8
extern const int64_t engine_ttd_bounds_ms[ENGINE_TTD_BUCKETS];

/* Counters, monotonically increasing. */
struct engine_stats {
	uint64_t rx_datagrams, rx_ok;
	uint64_t rx_parse, rx_bad_source, rx_bad_sig;
	/* per inner fact: */
	uint64_t rx_facts, rx_accepted, rx_fact_parse, rx_expired, rx_invalid,
		rx_untrusted, rx_alive;
	uint64_t tx_datagrams, tx_facts, tx_alive;
	uint64_t facts_evicted, facts_expired, peers_evicted, peers_refused,
		knowledge_dropped;
	/* [ours] received facts dropped beyond their source's share (or with
	 * no room left to it), and TTLs cut to FactTTL */
	uint64_t rx_over_share, rx_ttl_clamped;
	uint64_t allowed_capped; /* AllowedIPs not added: the peer has 256 */
	uint64_t boot_id_changes;
	uint64_t ticks;
	/* the direct-path watch: */
	uint64_t probes_sent, probes_answered, probe_replies_sent, paths_dead, paths_back;
	/* [ours] Path notes (core/pathnote.c): passed on as a router, and
	 * heard from our router (each had us watch a path); wake notes sent
	 * (traffic started on a dormant path, or it stopped being dormant). */
	uint64_t path_notes_relayed, path_notes_heard, path_wakes_sent;
	uint64_t path_notes_capped; /* not passed on: beyond the sender's share */
	uint64_t hellos_sent; /* probes to routers only to learn they are ours */
	/* [ours] Leases (core/lease.h): HOLDs sent, HOLDs that matched here,
	 * NACKs sent, NACKs answered by telling all again, epochs started,
	 * facts withdrawn here, peers whose leases we refused. */
	uint64_t lease_holds_sent, lease_holds_matched, lease_nacks_sent, lease_repairs,
		lease_epochs, lease_withdrawn, lease_refused;
	/* [ours] HOLDs we asked for, our copies about to lapse with none
	 * come; and HOLDs we sent again when asked (lease.c: ask_hold). */
	uint64_t lease_holds_asked, lease_holds_resent;
	/* [ours] A router's passes over its facts for a peer it leases, and
	 * those skipped because nothing they read had moved (send.c). */
	uint64_t lease_passes, lease_passes_skipped;
	/* [ours] Ticks that built the fact index, and those that kept the
	 * last one because nothing it is built from had moved (observe.c). */
	uint64_t index_builds, index_kept;
	/* [ours] A peer that is not a router (and we are not one) became
	 * healthy (went direct) or unhealthy (fell back to the router). */
	uint64_t went_direct, fell_back;
	/* Time to direct: from a peer's first endpoint candidate to its
	 * first healthy tick, counted per bucket (not cumulative) with upper
	 * bounds engine_ttd_bounds_ms; slower ones only in count and sum. */
	uint64_t ttd_bucket[ENGINE_TTD_BUCKETS];
	uint64_t ttd_count, ttd_sum_ms;
};

struct engine;

/* Checks what engine_new() would refuse: a private key whose public key
 * cannot be derived, non-positive periods. False with *why set. */
bool engine_config_check(const struct engine_config *cfg, const char **why);

/* Creates an engine. seed: 32 random bytes (the only randomness the engine
 * ever uses). Returns NULL on a bad config (see engine_config_check) or
 * out of memory. */
struct engine *engine_new(const struct engine_config *cfg, const uint8_t seed[static 32],
			  int64_t now_ms);
void engine_free(struct engine *e); /* NULL is fine; wipes the private key */

/* Processes one datagram received on the wirelink port (a SignedGroup,
 * or a reply to one of our path probes). src = its IPv6 source address. */
enum engine_rx engine_receive(struct engine *e, int64_t now_ms, const struct wl_addr *src,
			      const uint8_t *buf, size_t len);
/* A datagram received on the probe port (wirelink port + 1): a path probe
 * from a peer. Returns ENGINE_RX_PROBE and fills *reply (to send at once,
 * to reply->dst:reply->port) when it is a well-formed probe from the peer
 * whose auto address src is; ENGINE_RX_PARSE or ENGINE_RX_BAD_SOURCE
 * otherwise (nothing to send). reply->data is the caller's, with room for
 * ENGINE_PROBE_LEN bytes. */
enum engine_rx engine_receive_probe(struct engine *e, int64_t now_ms, const struct wl_addr *src,
				    const uint8_t *buf, size_t len,
				    struct engine_datagram *reply);

/* [ours] Which peers a tick leaves alone (core/visit.c). With the
 * shadow on (for the simulator's tests) a tick makes the same decisions
 * but runs in full, then checks the peers it would have left alone came
 * out as they went in. */
#define ENGINE_VISIT_MISSES 8
struct engine_visit_stats {
	uint64_t ticks, peers;   /* ticks checked, peer states they held */
	uint64_t global_ticks;   /* ticks that visit everyone from their start */
	uint64_t global_later;   /* ... from a pass on (the index rebuilt, a gate moved, ...) */
	uint64_t skippable;      /* peers left alone (the shadow: would have been, checked) */
	uint64_t missed;         /* ... that the tick did change or name */
	size_t n_misses;
	char misses[ENGINE_VISIT_MISSES][160]; /* the first ones */
};
void engine_visit_shadow(struct engine *e, bool on);
/* Leaving idle peers alone on or off from now (engine_timing.skip_idle). */
void engine_visit_skip_idle(struct engine *e, bool on);
const struct engine_visit_stats *engine_visit_stats(const struct engine *e);
/* Adds v's counters to sum's (not the misses' texts). */
void engine_visit_stats_add(struct engine_visit_stats *sum, const struct engine_visit_stats *v);

/* One step: expire, rebuild local facts, decide device changes and what to
 * send. Appends to *out. */
void engine_tick(struct engine *e, int64_t now_ms, const struct engine_inputs *in,
		 struct engine_actions *out);

/* When the engine wants its next tick (monotonic ms). Before the first
 * tick this is the creation time. */
int64_t engine_next_deadline(const struct engine *e);

/* The shell noticed a wall-clock jump (SPEC §4): pick a new boot id. The
 * engine also does this itself when more than two chunk periods pass
 * between ticks. */
void engine_clock_jump(struct engine *e, int64_t now_ms);

/* [ours] The shell could neither hear nor speak for a while (our auto
 * address or our socket was gone, e.g. the interface went down): what
 * peers sent meanwhile is lost, and they think we have it. Picks a new
 * boot id, so every peer resends us everything (twice, a chunk apart),
 * and pulls the next tick in (react_delay_ms), where our new Alive goes
 * out. why is the reason in the boot-id event. */
void engine_rejoin(struct engine *e, int64_t now_ms, const char *why);

/* Replaces the resolved endpoints of a configured peer (after DNS).
 * False if the key is not a configured peer. */
bool engine_set_peer_endpoints(struct engine *e, const uint8_t key[static WL_KEY_LEN],
			       const struct wl_endpoint *eps, size_t n);
/* True if the configured peer is neither alive nor healthy, i.e. its
 * configured endpoints are in use and worth resolving afresh. */
bool engine_peer_wants_endpoints(const struct engine *e, const uint8_t key[static WL_KEY_LEN],
				 int64_t now_ms);

/* ---- queries (for logs, status, tests and the simulator) ---- */

void engine_public_key(const struct engine *e, uint8_t out[static WL_KEY_LEN]);
void engine_boot_id(const struct engine *e, uint8_t out[static BOOT_ID_LEN]);
/* Router role as of the last tick. */
bool engine_is_router(const struct engine *e);
const struct engine_stats *engine_get_stats(const struct engine *e);

#define ENGINE_NAME_MAX 64
struct engine_peer_info {
	uint8_t key[WL_KEY_LEN];
	bool in_device;  /* as of the last tick */
	bool configured;
	bool router;
	bool healthy;
	bool alive;      /* an unexpired Alive from it */
	bool has_boot_id;
	uint8_t boot_id[BOOT_ID_LEN];
	int64_t last_handshake_ms, alive_since_ms, alive_until_ms;
	int basic;       /* merged from config and metadata; -1 unknown */
	char name[ENGINE_NAME_MAX]; /* "" if none */
	bool has_endpoint;
	struct wl_endpoint endpoint; /* the device's, as of the last tick */
	bool path_dead;              /* the direct-path watch found it dead */
	int64_t active_at;           /* last tick with the user's traffic, ENGINE_NEVER */
	bool ours;                   /* it runs this daemon (path.c) */
	bool lease_ok;               /* it reads leases (core/lease.h) */
	bool dormant_ok;             /* it may be dormant: its v3 probe or reply (core/quiet.c) */
	bool leased;                 /* we lease it what we tell it */
	bool leases_us;              /* it leases us what it tells us */
	bool quiet;                  /* a quiet pair: Alives every QuietPeriod (core/quiet.c) */
	bool dormant;                /* a dormant pair: nothing while idle (core/quiet.c) */
};

/* Peer state by key; false if unknown. now_ms is used for "alive". */
bool engine_peer_info(const struct engine *e, const uint8_t key[static WL_KEY_LEN],
		      int64_t now_ms, struct engine_peer_info *out);
/* Calls cb for every known peer state. */
void engine_foreach_peer(const struct engine *e, int64_t now_ms,
			 void (*cb)(void *ctx, const struct engine_peer_info *p), void *ctx);
/* [ours] For tests and benchmarks (docs/scale-cost.md: what a tick
 * changes): how many peer states the engine keeps, and a digest of the
 * i-th (0 <= i < engine_peer_count) with its key. The digest covers the
 * state's own fields but when it was last seen, not the tables it points
 * to (knowledge, leases) nor its rarely read tail (notes, tried
 * endpoints, refusals, the shared key, what we lease it): two differ when
 * a tick changed what a tick reads of that peer. Padding is hashed too,
 * so it may read as changed now and then when nothing was (a struct
 * copied in carries its source's padding): an upper bound. */
size_t engine_peer_count(const struct engine *e);
bool engine_peer_state_digest(const struct engine *e, size_t i, uint8_t key[static WL_KEY_LEN],
			      uint64_t *digest);
/* Calls cb for every known fact (local ones included). */
void engine_foreach_fact(const struct engine *e,
			 void (*cb)(void *ctx, const struct fact *f, int64_t expires_ms, bool local),
			 void *ctx);
size_t engine_fact_count(const struct engine *e);
/* [ours] Bytes the engine holds on the heap: its tables at their
 * allocated sizes (facts, their indexes and shares, peer states with
 * their knowledge tables, the key cache, the per-tick index, the
 * configuration). Not malloc's own overhead. For the scale figures and
 * for checks that memory stays flat. */
size_t engine_memory(const struct engine *e);
/* The same, by table: where a node's memory went. */
struct engine_memory_parts {
	size_t facts;     /* the fact set, its indexes and per-source shares */
	size_t peers;     /* peer states and the peer index */
	size_t knowledge; /* what each peer knows (SPEC §6) */
	size_t leases;    /* what each peer leases us (core/lease.h) */
	size_t other;     /* key cache, per-tick index, configuration, ... */
};
void engine_memory_parts(const struct engine *e, struct engine_memory_parts *out);

/* The peer whose auto address is addr, named as log lines name peers
 * ("laptop (AbCdEfGh)", common/peerlabel.h) into buf; NULL if no known
 * peer has that address. A scan of the peers: for log lines, not per
 * datagram in the normal course. */
const char *engine_addr_label(const struct engine *e, const struct wl_addr *addr,
			      char buf[static WL_PEER_LABEL_MAX]);

/* Every fact, peer state and counter, human-readable (SIGUSR1): calls
 * line() once per line (without a newline); the shell decides where the
 * text goes. */
void engine_dump(const struct engine *e, int64_t now_ms,
		 void (*line)(void *ctx, const char *text), void *ctx);

#endif
