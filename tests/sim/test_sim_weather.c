/* An hour of bad weather (issue 12, item 4): a hub and 99 leaves — a
 * third public, a third each behind its own NAT (in turn a home NAT, one
 * that randomises ports, a full cone and a symmetric one), a third
 * together on one LAN behind one home NAT — for one virtual hour with,
 * all at once:
 *
 *   weather, the whole hour: 5 % loss on the internet and on the shared
 *     LAN, 1 % of crossings duplicated, and 0–30 ms of jitter on the
 *     internet (0–5 ms on the LAN) drawn per datagram, so datagrams sent
 *     close together arrive reordered;
 *   events, from minute 10 to minute 50, one every 15 s on average at a
 *     seeded random time, each of a random kind: a daemon restart, a
 *     suspend (10 s to 5 min asleep: no ticks, no timers, links down; at
 *     resume the wall clock steps by up to ±2 min), a wall-clock step
 *     of 2 s to 1 h either way on a running node (NTP), a NAT rebinding
 *     (every mapping forgotten, the NAT moves to other ports; the shared
 *     NAT too). Leaves are the targets; the hub is restarted twice.
 *
 * Then ten calm minutes of weather only. Asserts:
 *   - engine memory (engine_memory, summed over the nodes) at the end is
 *     within 5 % of what it was at 10 minutes, just before the first
 *     event: both moments in weather only, the first after converging,
 *     the second after 40 stormy minutes and 10 calm ones;
 *   - every pair of leaves that can be direct is direct at the end: both
 *     devices have the other at its public address (LAN address on the
 *     shared LAN; at its NAT's live mapping where that is one per inside
 *     endpoint), a handshake younger than HandshakeValidity (or, idle
 *     public leaves, a healthy quiet pair: docs/quiet.md) and its
 *     tunnel IP in AllowedIPs; or, a pair whose devices do not show all
 *     that (a side caught in a rekey whose confirmation was lost, its
 *     handshake just older than HandshakeValidity), a datagram each way
 *     that arrives directly (direct_by_traffic). A pair cannot be direct when one side is
 *     behind the symmetric NAT and the other behind a NAT that filters
 *     by address and port (home, random-port, the shared one) or is
 *     symmetric too: its ports are not knowable in advance;
 *   - no flap the events do not explain. A flap is a change of leaf i's
 *     device (the engine event that comes with it: AllowedIPs replaced,
 *     deconfigured, peer removed) after which i no longer routes leaf j's
 *     tunnel IP to j, when it did before. It is explained when an event
 *     touched i or j — restarted, suspended, clock-stepped it, or rebound
 *     its NAT — starting at or before the flap and ending (a suspend at
 *     resume, the others at once) at most EXPLAIN_MS before it: a path
 *     broken silently is noticed when the handshake goes stale
 *     (HandshakeValidity after the last one, which came before the event),
 *     and a few ticks later acted upon. Weather explains nothing: loss,
 *     duplication and reordering alone must never make a path flap.
 *
 * Under ASan/LSan (the test command's build) LeakSanitizer checks at exit
 * that the hour leaked nothing. It runs only with WL_SIM_WEATHER=1 and
 * otherwise says SKIP and why: it takes minutes of CPU under ASan (the
 * engine's own work: an hour of 100 nodes), so tests/run sets it and runs
 * it beside the other suites, on the core they leave idle. Figures: '#'
 * lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/scenario.h"
#include "sim/simrand.h"
#include "sys/wg_mem.h"
#include "unit/harness.h"

#define N_LEAVES 99
#define HOUR_MS 3600000
#define FAULTS_FROM_MS 600000
#define FAULTS_UNTIL_MS 3000000
#define MEAN_GAP_MS 15000
#define MEMORY_AT_MS 600000
#define LOSS_PPM 50000
#define DUP_PPM 10000
#define INET_JITTER_MS 30
#define LAN_JITTER_MS 5
#define HEALTHY_MS (sim_timing()->handshake_validity_ms)
/* How long after an event a flap may still be its doing: the handshake
 * from before the event goes stale after HandshakeValidity, and the
 * engine acts at one of its next ticks. */
#define EXPLAIN_MS (HEALTHY_MS + 3 * sim_timing()->chunk_period_ms)
#define MAX_FAULTS 1024

enum nat_kind { NAT_HOME, NAT_RANDOM, NAT_CONE, NAT_SYMMETRIC, NAT_KINDS };
enum fault_kind { F_RESTART, F_SUSPEND, F_JUMP, F_REBIND, F_KINDS };
static const char *const fault_names[F_KINDS] = { "restarts", "suspends", "clock steps",
						  "NAT rebindings" };

struct fault {
	enum fault_kind kind;
	int64_t start, end;
	int nat;  /* F_REBIND: the vnet NAT node */
	int leaf; /* the others: the leaf index, -1 for the hub */
};

struct weather {
	struct scen s;
	struct vnet_nat_opts nat_opts[N_LEAVES];
	enum nat_kind nat_kind[N_LEAVES]; /* own-NAT leaves only */
	int leaf_of_node[N_LEAVES + 1];   /* sim node -> leaf index, -1 for the hub */
	bool routed[N_LEAVES][N_LEAVES];  /* i's device routes j's tunnel IP to j */
	int64_t wall_offset[N_LEAVES];    /* what the steps so far added up to */
	size_t n_faults;
	struct fault faults[MAX_FAULTS];
	unsigned by_kind[F_KINDS], hub_restarts;
	uint64_t flaps, unexplained, flaps_by_kind[F_KINDS];
	uint64_t unexplained_early; /* ... of them before the first event */
	/* ... by what the engine said: its path watch found the path dead,
	 * the handshake went stale, anything else (a prune, a removal). */
	uint64_t unexplained_watch, unexplained_stale, unexplained_other;
	int64_t last_unexplained;
	char example[240];
	bool direct[N_LEAVES][N_LEAVES]; /* i's device has j direct (count_direct) */
	size_t n_missing;     /* pairs that can be direct and are not ... */
	char missing[2048];   /* ... and the first few of them */
};

/* ---- the topology ---- */

static void nat_of_kind(enum nat_kind k, struct vnet_nat_opts *o)
{
	vnet_nat_opts_home(o);
	if (k == NAT_RANDOM) {
		o->port_preserving = false;
	} else if (k == NAT_CONE) {
		o->filter = VNET_FILTER_ENDPOINT_INDEPENDENT;
	} else if (k == NAT_SYMMETRIC) {
		o->port_preserving = false;
		o->symmetric = true;
	}
}

/* A non-negative number from the environment, or def: the weather's
 * parts can be turned down one by one to tell which causes a failure. */
static long env_or(const char *name, long def)
{
	const char *v = getenv(name);
	return v && *v ? strtol(v, NULL, 10) : def;
}

static void build(struct weather *w)
{
	enum scen_leaf_kind kinds[N_LEAVES];
	for (size_t i = 0; i < N_LEAVES; i++) {
		kinds[i] = (enum scen_leaf_kind)(i % 3);
		w->nat_kind[i] = (enum nat_kind)((i / 3) % NAT_KINDS);
		nat_of_kind(w->nat_kind[i], &w->nat_opts[i]);
	}
	struct scen_opts o;
	scen_opts_init(&o);
	o.leaf_nat = w->nat_opts;
	scen_build(&w->s, harness_seed(), N_LEAVES, kinds, &o);
	struct vnet *net = w->s.net;
	int segs[2] = { w->s.inet, w->s.shared_lan };
	for (size_t k = 0; k < 2; k++) {
		vnet_segment_set_loss(net, segs[k], (uint32_t)env_or("WL_SIM_WEATHER_LOSS_PPM", LOSS_PPM));
		vnet_segment_set_duplicate(net, segs[k],
					   (uint32_t)env_or("WL_SIM_WEATHER_DUP_PPM", DUP_PPM));
		vnet_segment_set_jitter(net, segs[k],
					env_or("WL_SIM_WEATHER_JITTER_MS",
					       k == 0 ? INET_JITTER_MS : LAN_JITTER_MS));
	}
	for (size_t n = 0; n <= N_LEAVES; n++)
		w->leaf_of_node[n] = -1;
	for (size_t i = 0; i < N_LEAVES; i++)
		w->leaf_of_node[w->s.leaf[i]] = (int)i;
}

static bool symmetric(const struct weather *w, size_t i)
{
	return w->s.kind[i] == LEAF_OWN_NAT && w->nat_kind[i] == NAT_SYMMETRIC;
}

/* Whether leaf i lets in a datagram from an endpoint it has not sent to
 * but whose address it has: public, or a NAT that does not filter by
 * port. */
static bool lets_unknown_ports_in(const struct weather *w, size_t i)
{
	return w->s.kind[i] == LEAF_PUBLIC ||
	       (w->s.kind[i] == LEAF_OWN_NAT && w->nat_kind[i] == NAT_CONE);
}

static bool can_be_direct(const struct weather *w, size_t i, size_t j)
{
	if (symmetric(w, i))
		return lets_unknown_ports_in(w, j);
	if (symmetric(w, j))
		return lets_unknown_ports_in(w, i);
	return true;
}

/* ---- the direct check at the end ---- */

/* Where i should see j on a direct path: its address, and its port when
 * that is knowable (0 when not: behind the symmetric NAT, whose port
 * depends on the remote, or the shared NAT's, which depends on who
 * mapped first). */
static struct wl_endpoint expected(struct weather *w, size_t i, size_t j)
{
	struct wl_endpoint e = vnet_ep(w->s.pub[j], SIM_WG_PORT);
	if (w->s.kind[j] == LEAF_SHARED_LAN && w->s.kind[i] == LEAF_SHARED_LAN)
		return vnet_ep(w->s.addr[j], SIM_WG_PORT);
	if (w->s.kind[j] == LEAF_SHARED_LAN || symmetric(w, j)) {
		e.port = 0;
	} else if (w->s.kind[j] == LEAF_OWN_NAT) {
		struct wl_endpoint inside = vnet_ep(w->s.addr[j], SIM_WG_PORT);
		if (!vnet_nat_mapping(w->s.net, w->s.nat[j], &inside, &e))
			e.port = 1; /* no live mapping: no port can be right */
	}
	return e;
}

/* Whether i's device has j direct: NULL if so, else what it lacks (the
 * failure message names it). */
static const char *peer_not_direct(struct weather *w, size_t i, size_t j, const struct wg_peer *p)
{
	static char why[160];
	struct sim *sim = w->s.sim;
	int64_t hs = vwg_peer_handshake(sim_node_dev(sim, w->s.leaf[i]), p->public_key);
	if (!p->has_endpoint)
		return "no endpoint";
	if ((hs == ENGINE_NEVER || sim_now(sim) - hs > HEALTHY_MS) &&
	    !sim_quiet_healthy(sim, w->s.leaf[i], w->s.leaf[j])) {
		snprintf(why, sizeof(why), "handshake %.0f s old",
			 hs == ENGINE_NEVER ? -1.0 : (double)(sim_now(sim) - hs) / 1000);
		return why;
	}
	struct wl_endpoint want = expected(w, i, j);
	if (!wl_addr_equal(&want.addr, &p->endpoint.addr) ||
	    (want.port != 0 && want.port != p->endpoint.port)) {
		char a[WL_ENDPOINT_STR_MAX], b[WL_ENDPOINT_STR_MAX];
		snprintf(why, sizeof(why), "endpoint %s, not %s", wl_endpoint_str(&p->endpoint, a),
			 wl_endpoint_str(&want, b));
		return why;
	}
	struct wl_cidr t;
	sim_node_tunnel(sim, w->s.leaf[j], &t);
	for (size_t a = 0; a < p->n_allowed; a++)
		if (wl_cidr_contains(&p->allowed_ips[a], &t.addr))
			return NULL;
	return "no tunnel IP";
}

/* What i's device lacks to have j direct (the pair's note when it does
 * not). */
static const char *why_not_direct(struct weather *w, size_t i, size_t j)
{
	struct wg_mem *m = vwg_model(sim_node_dev(w->s.sim, w->s.leaf[i]));
	for (size_t k = 0; k < wg_mem_peer_count(m); k++) {
		const struct wg_peer *p = wg_mem_peer_at(m, k);
		if (sim_node_by_key(w->s.sim, p->public_key) == w->s.leaf[j])
			return peer_not_direct(w, i, j, p);
	}
	return "not in the device";
}

/* Pairs direct both ways: all of them, and those that can be. */
static void count_direct(struct weather *w, size_t *direct, size_t *direct_capable,
			 size_t *capable)
{
	bool (*ok)[N_LEAVES] = w->direct;
	memset(w->direct, 0, sizeof(w->direct));
	struct sim *sim = w->s.sim;
	for (size_t i = 0; i < N_LEAVES; i++) {
		struct wg_mem *m = vwg_model(sim_node_dev(sim, w->s.leaf[i]));
		for (size_t k = 0; k < wg_mem_peer_count(m); k++) {
			const struct wg_peer *p = wg_mem_peer_at(m, k);
			int node = sim_node_by_key(sim, p->public_key);
			int j = node >= 0 ? w->leaf_of_node[node] : -1;
			if (j >= 0)
				ok[i][j] = !peer_not_direct(w, i, (size_t)j, p);
		}
	}
	*direct = *direct_capable = *capable = 0;
	w->n_missing = 0;
	w->missing[0] = '\0';
	for (size_t i = 0; i < N_LEAVES; i++)
		for (size_t j = i + 1; j < N_LEAVES; j++) {
			bool both = ok[i][j] && ok[j][i];
			*direct += both;
			*capable += can_be_direct(w, i, j);
			*direct_capable += both && can_be_direct(w, i, j);
			if (!both && can_be_direct(w, i, j) && w->n_missing < 8) {
				static const char *kn[] = { "public", "own NAT", "shared LAN" };
				static const char *nk[] = { "home", "random", "cone", "symmetric" };
				size_t len = strlen(w->missing);
				snprintf(w->missing + len, sizeof(w->missing) - len,
					 " leaf%zu(%s%s%s)%s%s leaf%zu(%s%s%s);", i + 1, kn[w->s.kind[i]],
					 w->s.kind[i] == LEAF_OWN_NAT ? " " : "",
					 w->s.kind[i] == LEAF_OWN_NAT ? nk[w->nat_kind[i]] : "",
					 ok[i][j] ? "->" : "", ok[j][i] ? "<-" : "", j + 1,
					 kn[w->s.kind[j]], w->s.kind[j] == LEAF_OWN_NAT ? " " : "",
					 w->s.kind[j] == LEAF_OWN_NAT ? nk[w->nat_kind[j]] : "");
				char there[160] = "", back[160] = "";
				if (!ok[i][j])
					snprintf(there, sizeof(there), "%s", why_not_direct(w, i, j));
				if (!ok[j][i])
					snprintf(back, sizeof(back), "%s", why_not_direct(w, j, i));
				len = strlen(w->missing);
				snprintf(w->missing + len, sizeof(w->missing) - len, " (%s%s%s)", there,
					 *there && *back ? "; back: " : "", back);
				w->n_missing++;
			}
		}
}

/* The pairs that can be direct but whose devices did not show it at the
 * last count: is the path nevertheless carrying traffic directly? A
 * datagram each way, TRAFFIC_TRIES times TRAFFIC_GAP_MS apart (a path
 * across the shared LAN and the internet loses one in ten), and the last
 * to arrive each way must have come through the other leaf, not the hub.
 * Under 5 % loss a side's handshake can be caught older than
 * HandshakeValidity in the middle of a rekey: the initiator has the new
 * session, the responder waits for the initiator's next packet to
 * confirm it (the confirming keepalive was lost) and sends on the old
 * session meanwhile. Returns how many pairs carried it directly. */
#define TRAFFIC_TRIES 3
#define TRAFFIC_GAP_MS 4000

/* How leaf i's test datagrams sent at or after `since` reached leaf j:
 * the last one to arrive. */
static const char *arrived(struct weather *w, size_t i, size_t j, int64_t since)
{
	int64_t at;
	int via;
	if (!sim_app_last(w->s.sim, w->s.leaf[j], w->s.leaf[i], &at, &via) || at < since)
		return "lost";
	return via == w->s.leaf[i] ? "direct" : via == w->s.hub ? "via the hub" : "via another peer";
}

static bool shown_direct(const struct weather *w, size_t i, size_t j)
{
	return w->direct[i][j] && w->direct[j][i];
}

static size_t direct_by_traffic(struct weather *w)
{
	struct sim *sim = w->s.sim;
	int64_t sent = sim_now(sim);
	for (int k = 0; k < TRAFFIC_TRIES; k++) {
		for (size_t i = 0; i < N_LEAVES; i++)
			for (size_t j = i + 1; j < N_LEAVES; j++)
				if (can_be_direct(w, i, j) && !shown_direct(w, i, j)) {
					sim_app_send(sim, w->s.leaf[i], w->s.leaf[j]);
					sim_app_send(sim, w->s.leaf[j], w->s.leaf[i]);
				}
		sim_run_to(sim, sim_now(sim) + TRAFFIC_GAP_MS);
	}
	size_t n = 0;
	for (size_t i = 0; i < N_LEAVES; i++)
		for (size_t j = i + 1; j < N_LEAVES; j++) {
			if (!can_be_direct(w, i, j) || shown_direct(w, i, j))
				continue;
			const char *there = arrived(w, i, j, sent), *back = arrived(w, j, i, sent);
			printf("# weather: datagrams leaf%zu -> leaf%zu: %s; back: %s\n", i + 1, j + 1,
			       there, back);
			n += !strcmp(there, "direct") && !strcmp(back, "direct");
		}
	return n;
}

/* ---- flaps ---- */

/* Whether leaf i's device routes leaf j's tunnel IP to j: WireGuard's
 * own cryptokey routing on i's model (longest prefix over AllowedIPs),
 * so a route via the hub is "no". */
static bool routes(struct weather *w, size_t i, size_t j)
{
	struct sim *sim = w->s.sim;
	struct wl_cidr t;
	uint8_t key[WL_KEY_LEN];
	if (!sim_node_tunnel(sim, w->s.leaf[j], &t))
		return false;
	struct wg_peer *p = wg_mem_route(vwg_model(sim_node_dev(sim, w->s.leaf[i])), &t.addr);
	sim_node_key(sim, w->s.leaf[j], key);
	return p && memcmp(p->public_key, key, WL_KEY_LEN) == 0;
}

static bool touches(const struct weather *w, const struct fault *f, size_t leaf)
{
	if (f->kind == F_REBIND)
		return w->s.kind[leaf] != LEAF_PUBLIC && w->s.nat[leaf] == f->nat;
	return f->leaf == (int)leaf;
}

/* The latest event that explains a flap of pair (i, j) at t, or NULL. */
static const struct fault *explanation(const struct weather *w, size_t i, size_t j, int64_t t)
{
	for (size_t k = w->n_faults; k-- > 0;) {
		const struct fault *f = &w->faults[k];
		if (f->start <= t && t <= f->end + EXPLAIN_MS && (touches(w, f, i) || touches(w, f, j)))
			return f;
	}
	return NULL;
}

/* Why node gave up its direct route to peer at now, from its trace;
 * the first few are listed (WL_SIM_WEATHER_VERBOSE=1). */
static void classify(struct weather *w, int node, int peer, int64_t now,
		     enum engine_event_kind kind)
{
	struct sim *sim = w->s.sim;
	int64_t since = now - sim_timing()->chunk_period_ms;
	const char *why = "other";
	if (sim_trace_find(sim, node, ENGINE_EV_PATH_DEAD, peer, now) >= 0) {
		w->unexplained_watch++;
		why = "path watch";
	} else if (sim_trace_find(sim, node, ENGINE_EV_UNHEALTHY, peer, since) >= 0) {
		w->unexplained_stale++;
		why = "stale handshake";
	} else {
		w->unexplained_other++;
	}
	if (getenv("WL_SIM_WEATHER_VERBOSE"))
		printf("# weather: unexplained flap at %.1f s: %s about %s, %s (event kind %d)\n",
		       (double)now / 1000, sim_node_name(sim, node), sim_node_name(sim, peer), why,
		       (int)kind);
}

/* Every event that may change a device's AllowedIPs comes after the
 * change is applied (driver.c: apply, send, then events), so the device
 * read here is the one the event describes. */
static void on_event(void *ctx, int64_t now, int node, int peer, enum engine_event_kind kind)
{
	struct weather *w = ctx;
	if (kind != ENGINE_EV_ALLOWED && kind != ENGINE_EV_DECONFIGURE &&
	    kind != ENGINE_EV_PEER_REMOVE && kind != ENGINE_EV_PEER_ADD)
		return;
	if (node < 0 || peer < 0 || node > N_LEAVES || peer > N_LEAVES)
		return;
	int i = w->leaf_of_node[node], j = w->leaf_of_node[peer];
	if (i < 0 || j < 0)
		return;
	bool now_routes = routes(w, (size_t)i, (size_t)j);
	if (w->routed[i][j] && !now_routes) {
		w->flaps++;
		const struct fault *f = explanation(w, (size_t)i, (size_t)j, now);
		if (f) {
			w->flaps_by_kind[f->kind]++;
		} else {
			if (!w->unexplained)
				snprintf(w->example, sizeof(w->example),
					 "at %.1f s leaf%d stopped routing leaf%d's tunnel IP directly "
					 "with no event touching either in the %.0f s before",
					 (double)now / 1000, i + 1, j + 1, (double)EXPLAIN_MS / 1000);
			w->unexplained++;
			w->unexplained_early += now < FAULTS_FROM_MS;
			classify(w, node, peer, now, kind);
			w->last_unexplained = now;
		}
	}
	w->routed[i][j] = now_routes;
}

/* ---- the events ---- */

static struct fault *add_fault(struct weather *w, enum fault_kind kind, int64_t start)
{
	if (w->n_faults == MAX_FAULTS)
		abort();
	struct fault *f = &w->faults[w->n_faults++];
	*f = (struct fault){ .kind = kind, .start = start, .end = start, .nat = -1, .leaf = -1 };
	w->by_kind[kind]++;
	return f;
}

/* A signed amount of lo..hi ms. */
static int64_t signed_between(struct simrand *r, int64_t lo, int64_t hi)
{
	int64_t v = lo + (int64_t)simrand_below(r, (uint64_t)(hi - lo + 1));
	return simrand_below(r, 2) ? v : -v;
}

/* One event at now on a random leaf (one asleep only gets its NAT
 * rebound: a sleeping machine is neither restarted nor stepped). */
static void inject(struct weather *w, struct simrand *r, int64_t now)
{
	struct sim *sim = w->s.sim;
	size_t i = (size_t)simrand_below(r, N_LEAVES);
	int node = w->s.leaf[i];
	enum fault_kind kind = (enum fault_kind)simrand_below(r, F_KINDS);
	if (kind == F_REBIND && w->s.kind[i] == LEAF_PUBLIC)
		kind = F_RESTART; /* no NAT to rebind */
	if (sim_node_suspended(sim, node) && kind != F_REBIND)
		return;
	struct fault *f = add_fault(w, kind, now);
	f->leaf = (int)i;
	switch (kind) {
	case F_RESTART:
		sim_restart_node(sim, node);
		break;
	case F_SUSPEND: {
		int64_t len = 10000 + (int64_t)simrand_below(r, 290000);
		if (now + len > FAULTS_UNTIL_MS)
			len = FAULTS_UNTIL_MS - now;
		int64_t step = signed_between(r, 0, 120000);
		f->end = now + len;
		w->wall_offset[i] += step;
		sim_suspend_node(sim, node, len, step);
		break;
	}
	case F_JUMP:
		w->wall_offset[i] += signed_between(r, 2000, HOUR_MS);
		sim_set_wall_offset(sim, node, w->wall_offset[i]);
		break;
	default:
		f->leaf = -1;
		f->nat = w->s.nat[i];
		vnet_nat_rebind(w->s.net, f->nat);
		break;
	}
}

static void restart_hub(struct weather *w, int64_t now)
{
	struct fault *f = add_fault(w, F_RESTART, now);
	f->leaf = -1;
	w->hub_restarts++;
	sim_restart_node(w->s.sim, w->s.hub);
}

/* ---- the run ---- */

/* Summed over the nodes, and by table into parts. */
static size_t memory_sum(struct sim *sim, struct engine_memory_parts *parts)
{
	size_t sum = 0;
	memset(parts, 0, sizeof(*parts));
	for (size_t n = 0; n < sim_node_count(sim); n++) {
		const struct engine *e = sim_node_engine(sim, (int)n);
		struct engine_memory_parts p;
		engine_memory_parts(e, &p);
		parts->facts += p.facts;
		parts->peers += p.peers;
		parts->knowledge += p.knowledge;
		parts->leases += p.leases;
		parts->other += p.other;
		sum += engine_memory(e);
	}
	return sum;
}

static void print_parts(const char *when, const struct engine_memory_parts *p)
{
	printf("# weather: memory %s: facts %.0f KiB, peers %.0f KiB, knowledge %.0f KiB, leases "
	       "%.0f KiB, other %.0f KiB\n",
	       when, (double)p->facts / 1024, (double)p->peers / 1024, (double)p->knowledge / 1024,
	       (double)p->leases / 1024, (double)p->other / 1024);
}

/* Facts held by all engines: with memory, tells a table that kept its
 * size after a burst from one that holds more. */
static size_t facts_sum(struct sim *sim)
{
	size_t sum = 0;
	for (size_t n = 0; n < sim_node_count(sim); n++)
		sum += engine_fact_count(sim_node_engine(sim, (int)n));
	return sum;
}

/* WL_SIM_WEATHER_FACTS=NODE: that node's facts at the end, one per line
 * (to see what a table holds that it should not). */
struct fact_dump {
	struct sim *sim;
	int64_t now;
};

static void dump_fact(void *ctx, const struct fact *f, int64_t expires, bool local)
{
	const struct fact_dump *d = ctx;
	char v[FACT_VALUE_STR_MAX];
	int subj = sim_node_by_key(d->sim, f->subject);
	printf("# fact %s %s %s expires %+.1f s%s\n", fact_attr_name(f->attr),
	       subj >= 0 ? sim_node_name(d->sim, subj) : "?", fact_value_str(f, v, sizeof(v)),
	       (double)(expires - d->now) / 1000, local ? " local" : "");
}

static void dump_facts(struct sim *sim)
{
	const char *which = getenv("WL_SIM_WEATHER_FACTS");
	if (!which)
		return;
	struct fact_dump d = { sim, sim_now(sim) };
	engine_foreach_fact(sim_node_engine(sim, atoi(which)), dump_fact, &d);
}

static double seconds(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

TEST(an_hour_of_bad_weather)
{
	const char *run = getenv("WL_SIM_WEATHER");
	if (!run || strcmp(run, "1") != 0) {
		harness_skip("takes minutes of CPU under ASan; WL_SIM_WEATHER=1 runs it "
			     "(tests/run does, beside the other suites)");
		return;
	}
	double real0 = seconds(CLOCK_MONOTONIC), cpu0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
	struct weather *w = calloc(1, sizeof(*w));
	CHECK(w != NULL);
	build(w);
	struct sim *sim = w->s.sim;
	sim_set_event_hook(sim, on_event, w);
	scen_start(&w->s);
	struct simrand r;
	simrand_seed(&r, harness_seed() ^ 0x3ea7e4u);

	/* Events at random times, MEAN_GAP_MS apart on average; the hub's
	 * two restarts at a third and two thirds of the stormy stretch. */
	size_t mem10 = 0, facts10 = 0;
	struct engine_memory_parts parts10 = { 0 };
	int64_t stormy = FAULTS_UNTIL_MS - FAULTS_FROM_MS;
	int64_t next = FAULTS_FROM_MS,
		hub_at[2] = { FAULTS_FROM_MS + stormy / 3, FAULTS_FROM_MS + 2 * stormy / 3 };
	int hub_done = 0;
	while (next < FAULTS_UNTIL_MS) {
		if (hub_done < 2 && hub_at[hub_done] <= next) {
			sim_run_to(sim, hub_at[hub_done]);
			restart_hub(w, hub_at[hub_done++]);
			continue;
		}
		if (!mem10 && next >= MEMORY_AT_MS) {
			sim_run_to(sim, MEMORY_AT_MS);
			mem10 = memory_sum(sim, &parts10);
			facts10 = facts_sum(sim);
		}
		sim_run_to(sim, next);
		inject(w, &r, next);
		next += 1 + (int64_t)simrand_below(&r, 2 * MEAN_GAP_MS);
	}
	/* Calm (weather only): when did every pair that can be direct get
	 * there, and is it so at the end? */
	size_t direct, direct_capable, capable;
	int64_t settled = -1;
	for (int64_t t = FAULTS_UNTIL_MS + 10000; t <= HOUR_MS; t += 10000) {
		sim_run_to(sim, t);
		count_direct(w, &direct, &direct_capable, &capable);
		if (direct_capable != capable)
			settled = -1;
		else if (settled < 0)
			settled = t - FAULTS_UNTIL_MS;
	}
	struct engine_memory_parts parts_end;
	size_t mem_end = memory_sum(sim, &parts_end), facts_end = facts_sum(sim);
	dump_facts(sim);
	size_t by_traffic = direct_capable == capable ? 0 : direct_by_traffic(w);
	double real = seconds(CLOCK_MONOTONIC) - real0, cpu = seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	const struct vnet_stats *vs = vnet_stats(w->s.net);

	printf("# weather: %d nodes, 1 virtual hour in %.1f s real (%.1f s CPU)\n", N_LEAVES + 1, real,
	       cpu);
	printf("# weather: %llu datagrams on the vnet, %llu lost, %llu duplicated; events: %u "
	       "restarts (%u of the hub), %u suspends, %u clock steps, %u NAT rebindings\n",
	       (unsigned long long)vs->sent, (unsigned long long)vs->lost,
	       (unsigned long long)vs->duplicated, w->by_kind[F_RESTART], w->hub_restarts,
	       w->by_kind[F_SUSPEND], w->by_kind[F_JUMP], w->by_kind[F_REBIND]);
	printf("# weather: %llu flaps (direct -> relayed), explained by %s %llu, %s %llu, %s %llu, "
	       "%s %llu; %llu unexplained (window %.0f s; %llu before the first event, the last at %.1f s; %llu "
	       "path watch, %llu stale handshake, %llu other)\n",
	       (unsigned long long)w->flaps, fault_names[0], (unsigned long long)w->flaps_by_kind[0],
	       fault_names[1], (unsigned long long)w->flaps_by_kind[1], fault_names[2],
	       (unsigned long long)w->flaps_by_kind[2], fault_names[3],
	       (unsigned long long)w->flaps_by_kind[3], (unsigned long long)w->unexplained,
	       (double)EXPLAIN_MS / 1000, (unsigned long long)w->unexplained_early,
	       (double)w->last_unexplained / 1000, (unsigned long long)w->unexplained_watch,
	       (unsigned long long)w->unexplained_stale, (unsigned long long)w->unexplained_other);
	printf("# weather: engine memory %.1f KiB at 10 min, %.1f KiB at the end (%+.2f %%); facts "
	       "held %zu and %zu\n",
	       (double)mem10 / 1024, (double)mem_end / 1024,
	       mem10 ? 100.0 * ((double)mem_end - (double)mem10) / (double)mem10 : 0.0, facts10,
	       facts_end);
	uint64_t skipped = 0;
	for (size_t i = 0; i <= N_LEAVES; i++)
		skipped += vwg_stats(sim_node_dev(sim, i == N_LEAVES ? w->s.hub : w->s.leaf[i]))
				   ->endpoints_skipped;
	printf("# weather: %llu endpoints tried that WireGuard sent nothing to\n",
	       (unsigned long long)skipped);
	print_parts("at 10 min", &parts10);
	print_parts("at the end", &parts_end);
	printf("# weather: leaf pairs direct at the end: %zu of the %zu that can be (%zu in all, of "
	       "%d), and %zu more carried a datagram each way directly (%s); all of them direct by "
	       "their devices, to the end, from %s%.0f s after the events stopped\n",
	       direct_capable, capable, direct, N_LEAVES * (N_LEAVES - 1) / 2, by_traffic,
	       w->n_missing ? w->missing + 1 : "none short",
	       settled < 0 ? "(not) " : "", settled < 0 ? 0.0 : (double)settled / 1000);

	CHECK(mem10 > 0);
	CHECK_MSG(mem_end * 100 <= mem10 * 105 && mem_end * 100 >= mem10 * 95,
		  "engine memory %zu B at the end against %zu B at 10 min", mem_end, mem10);
	CHECK_MSG(direct_capable + by_traffic == capable,
		  "only %zu of %zu pairs that can be direct are (%zu by traffic), e.g.%s",
		  direct_capable + by_traffic, capable, by_traffic, w->missing);
	CHECK_MSG(w->unexplained == 0, "%llu unexplained flaps, e.g. %s",
		  (unsigned long long)w->unexplained, w->example);
	/* The events did happen, each kind of them. */
	for (int k = 0; k < F_KINDS; k++)
		CHECK_MSG(w->by_kind[k] > 0, "no %s", fault_names[k]);
	CHECK(vs->lost > 0 && vs->duplicated > 0);
	if (direct_capable + by_traffic != capable)
		sim_dump(sim, stdout);
	scen_free(&w->s);
	free(w);
}
