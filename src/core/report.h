/* The operator's view of one peer [ours]: which path its traffic takes
 * and, when that is not a direct one, why — in the engine's own terms,
 * from state it keeps anyway. `wirelink show` (src/cmd/cmd_show.c) and
 * the metrics (src/daemon/metrics.c) read it through the control socket.
 *
 * Pure like the rest of the core: times are on the engine's monotonic
 * clock; the shell turns them into ages. */
#ifndef WL_CORE_REPORT_H
#define WL_CORE_REPORT_H

#include "core/engine.h"

/* Where traffic to the peer goes now. */
enum report_path {
	REPORT_DIRECT, /* a healthy WireGuard session with the peer itself */
	REPORT_VIA,    /* not healthy, but a healthy router carries it (via) */
	REPORT_DOWN,   /* neither */
};

/* Why a peer is not direct (REPORT_WHY_NONE when it is). */
enum report_why {
	REPORT_WHY_NONE = 0,
	REPORT_WHY_NOT_MEMBER,     /* not in the device: neither configured nor a Member fact */
	REPORT_WHY_PATH_DEAD,      /* the direct path died under traffic; retried at retry_at */
	REPORT_WHY_BASIC,          /* the peer runs no wirelink (basic): it learns nothing */
	REPORT_WHY_TRUST_REFUSED,  /* no candidates, and trust refused facts about it */
	REPORT_WHY_NO_CANDIDATES,  /* no endpoint known for it at all */
	REPORT_WHY_TRYING,         /* a candidate is being tried (cand_current, n of m) */
	REPORT_WHY_CANDIDATES_FAILED, /* every candidate tried, no handshake; next at next_try_at */
	REPORT_WHY_NAT,            /* ... and our NAT rewrites our port, no port mapping */
};
#define REPORT_WHY_COUNT (REPORT_WHY_NAT + 1)

/* What came of a candidate's last try. */
enum report_cand_result {
	REPORT_CAND_UNTRIED,
	REPORT_CAND_TRYING,    /* set on the device, nothing heard yet */
	REPORT_CAND_NO_ANSWER, /* the next one followed without a handshake */
	REPORT_CAND_WORKED,    /* a handshake came from it */
	REPORT_CAND_DIED,      /* it worked, then the path watch found it dead */
};

/* How much we trust the peer as a source of facts, and by whose word. */
enum report_trust_how {
	REPORT_TRUST_CONFIG, /* its configured Trust */
	REPORT_TRUST_ROUTER, /* no Trust configured anywhere: a router is a Membership source */
	REPORT_TRUST_DEVICE, /* any device peer may tell endpoints */
	REPORT_TRUST_NONE,
};

#define REPORT_CANDS_MAX 16
#define REPORT_REFUSED_SOURCES 4

/* A source whose facts about the peer trust refused. */
struct report_refusal {
	uint8_t key[WL_KEY_LEN];
	char name[ENGINE_NAME_MAX];
	uint32_t count;
	enum wl_trust had, need; /* its trust, and what its last such fact needed */
};

struct report_cand {
	struct wl_endpoint ep;
	int64_t tried_at; /* ENGINE_NEVER: never */
	enum report_cand_result result;
};

struct engine_report {
	struct engine_peer_info info;
	bool self; /* never: the engine reports other peers only */
	bool ours; /* it runs this daemon (answered a probe in kind) */
	uint64_t rx_bytes, tx_bytes; /* the device's counters at the last tick */
	enum report_path path;
	bool has_via;
	uint8_t via_key[WL_KEY_LEN];
	char via_name[ENGINE_NAME_MAX];
	/* Trust: as a source (what it may tell us) ... */
	enum wl_trust trust;
	enum report_trust_how trust_how;
	/* ... and where its membership came from: configured, or a Member
	 * fact from member_src (a peer). */
	bool has_member_src;
	uint8_t member_src[WL_KEY_LEN];
	char member_src_name[ENGINE_NAME_MAX];

	enum report_why why;
	/* Candidates as the engine picks them (Endpoint facts about the peer
	 * that do not route through the tunnel, and the operator's endpoint),
	 * with their last try; n_tried of them tried at least once. */
	size_t n_cands, n_tried;
	struct report_cand cands[REPORT_CANDS_MAX];
	int cand_current;   /* index of the one on the device, -1 */
	int cand_rank;      /* 1-based position of the current one in try order, 0 */
	int64_t next_try_at; /* when the next candidate goes, ENGINE_NEVER */
	/* REPORT_WHY_PATH_DEAD */
	struct wl_endpoint dead_ep;
	int64_t retry_at;
	/* Our NAT, as the peers that tell us where they see us show it: a
	 * public address with a port that is not our listen port means it
	 * rewrites ports (each peer may get another: endpoint-dependent). */
	bool nat_rewrites;
	struct wl_endpoint nat_seen;
	uint16_t listen_port;
	bool port_mapping; /* a mapping of ours is advertised (the shell's) */
	/* Facts about it refused for trust: in all, and by source (those that
	 * refused most, most first). */
	uint64_t refused;
	size_t n_refused_by;
	struct report_refusal refused_by[REPORT_REFUSED_SOURCES];
};

/* The report of one peer; false if the engine does not know it. */
bool engine_peer_report(const struct engine *e, const uint8_t key[static WL_KEY_LEN],
			int64_t now, struct engine_report *out);
/* Reports every peer that is in the device or configured, in table order.
 * Each report scans the fact table (its candidates, its Member fact): a
 * request's cost, never a tick's. */
void engine_foreach_report(const struct engine *e, int64_t now,
			   void (*cb)(void *ctx, const struct engine_report *r), void *ctx);

/* Peers (as engine_foreach_report lists them) by path, counts[REPORT_*],
 * and how many are alive and healthy: the metrics' cheap view (one pass
 * over the peers, no fact scans). */
struct report_counts {
	size_t path[3];
	size_t alive, healthy;
};
void engine_count_paths(const struct engine *e, int64_t now, struct report_counts *out);
/* What we know of our own NAT (the same in every report): fills only
 * nat_rewrites, nat_seen, listen_port and port_mapping of out. */
void engine_report_nat(const struct engine *e, struct engine_report *out);

/* Stable names for the JSON schema and the metrics labels. */
const char *report_path_name(enum report_path p);      /* "direct", "via", "down" */
const char *report_why_name(enum report_why w);        /* "none", "no_candidates", ... */
const char *report_cand_result_name(enum report_cand_result r); /* "untried", ... */
const char *report_trust_how_name(enum report_trust_how h);     /* "config", ... */

/* The reason in words, one line without a newline (now: for ages),
 * e.g. "trying candidate 203.0.113.7:51820 (2 of 3, since 3 s)". */
size_t report_why_text(const struct engine_report *r, int64_t now, char *buf, size_t len);

#endif
