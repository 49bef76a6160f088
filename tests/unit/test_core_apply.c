/* SPEC §10: the device changes the engine asks for. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core_fixture.h"
#include "harness.h"
#include "wire/autoaddr.h"

enum { N_ = 1, P_ = 2, R_ = 3, Q_ = 4 };
#define S 1000
static const char *const ETH[] = { "192.0.2.1/24", NULL };
static const char *const WG[] = { "10.99.0.1/24", NULL };

struct world {
	struct tnode n;
	uint8_t ppriv[32], ppub[32], rpriv[32], rpub[32];
	struct engine_peer_config pc[2];
	struct wl_cidr p_allowed[1];
	struct wl_endpoint p_eps[3];
};

static void auto_str(const uint8_t pub[32], char out[64])
{
	struct wl_addr a;
	autoaddr_of(pub, &a);
	wl_addr_str(&a, out);
	strcat(out, "/128");
}

/* P in N's device with its auto address and one more AllowedIP; the auto
 * address goes to ac. */
static void p_allows(struct world *w, const char *cidr, char ac[64])
{
	auto_str(w->ppub, ac);
	tnode_allow(&w->n, w->ppub, ac);
	tnode_allow(&w->n, w->ppub, cidr);
}

/* N (leaf unless told otherwise) with configured peer P (AllowedIPs
 * 10.5.0.0/24, three endpoints) in the device. */
static void setup(struct world *w, int router, bool p_basic, int64_t p_hs)
{
	memset(w, 0, sizeof(*w));
	tkey(P_, w->ppriv, w->ppub);
	tkey(R_, w->rpriv, w->rpub);
	tnode_config(&w->n, N_);
	w->n.cfg.router = router;
	memcpy(w->pc[0].public_key, w->ppub, 32);
	w->pc[0].trust = TRUST_UNSET;
	w->pc[0].basic = p_basic ? WL_YES : WL_AUTO;
	wl_cidr_parse("10.5.0.0/24", &w->p_allowed[0]);
	w->pc[0].allowed_ips = w->p_allowed;
	w->pc[0].n_allowed = 1;
	wl_endpoint_parse("203.0.113.1:51820", &w->p_eps[0]);
	wl_endpoint_parse("10.99.0.7:51820", &w->p_eps[1]); /* through the tunnel */
	wl_endpoint_parse("203.0.113.2:51820", &w->p_eps[2]);
	w->pc[0].endpoints = w->p_eps;
	w->pc[0].n_endpoints = 3;
	w->n.cfg.peers = w->pc;
	w->n.cfg.n_peers = 1;
	tnode_iface(&w->n, "eth0", true, true, ETH);
	tnode_iface(&w->n, "wg0", true, true, WG);
	tnode_dev_peer(&w->n, w->ppub, p_hs == ENGINE_NEVER ? NULL : "198.51.100.2:51820", p_hs);
	tnode_start(&w->n, 0);
}

static void p_alive(struct world *w, int64_t now, uint16_t ttl)
{
	uint8_t buf[WIRE_MAX_DATAGRAM], id[BOOT_ID_LEN] = { 9 };
	struct fact f;
	fact_make_alive(&f, w->ppub, id, ttl);
	size_t len = tseal(w->ppriv, w->n.pub, &f, 1, buf, sizeof(buf));
	CHECK_EQ(treceive(&w->n, now, w->ppub, buf, len), ENGINE_RX_OK);
}

static bool change_has(const struct engine_change *c, const char *cidr)
{
	struct wl_cidr want;
	wl_cidr_parse(cidr, &want);
	for (size_t i = 0; c && i < c->n_allowed; i++)
		if (c->allowed_ips[i].prefix == want.prefix &&
		    wl_addr_equal(&c->allowed_ips[i].addr, &want.addr))
			return true;
	return false;
}

struct health_case {
	const char *what;
	bool basic;
	uint16_t alive_ttl; /* 0: no Alive */
	bool adds_cidr;
};

static const struct health_case health[] = {
	{ "healthy and alive", false, 255, true },
	{ "healthy, not alive", false, 0, false },
	{ "healthy, basic", true, 0, true },
	{ "healthy, Alive about to expire", false, 2, false },
};

TEST(healthy_peer_gets_allowed_ips_when_alive_or_basic)
{
	for (size_t i = 0; i < sizeof(health) / sizeof(health[0]); i++) {
		const struct health_case *hc = &health[i];
		struct world w;
		setup(&w, WL_NO, hc->basic, 0);
		if (hc->alive_ttl)
			p_alive(&w, 0, hc->alive_ttl);
		tnode_tick(&w.n, 100);
		const struct engine_change *c = tchange(&w.n, w.ppub);
		char ac[64];
		auto_str(w.ppub, ac);
		CHECK_MSG(c && change_has(c, ac), "%s: auto address not added", hc->what);
		CHECK_MSG(change_has(c, "10.5.0.0/24") == hc->adds_cidr, "%s", hc->what);
		CHECK_MSG(c && (c->flags & ENGINE_CHANGE_UPDATE_ONLY) &&
				  !(c->flags & ENGINE_CHANGE_REPLACE_ALLOWED),
			  "%s: flags %x", hc->what, c ? c->flags : 0);
		tnode_free(&w.n);
	}
}

/* [ours] 256 AllowedIPs per peer in total: a device peer that holds 255
 * (its auto address and 254 more) still gets its configured 10.5.0.0/24;
 * one that holds 256 does not, and the engine counts what it left out. */
TEST(allowed_ips_capped_in_total)
{
	for (int extra = 254; extra <= 255; extra++) {
		struct world w;
		setup(&w, WL_NO, false, 0);
		char ac[64], cidr[32];
		auto_str(w.ppub, ac);
		tnode_allow(&w.n, w.ppub, ac);
		for (int i = 0; i < extra; i++) {
			snprintf(cidr, sizeof(cidr), "10.6.%d.0/24", i);
			tnode_allow(&w.n, w.ppub, cidr);
		}
		p_alive(&w, 0, 255);
		tnode_tick(&w.n, 100);
		const struct engine_change *c = tchange(&w.n, w.ppub);
		CHECK_MSG(change_has(c, "10.5.0.0/24") == (extra == 254), "%d held", extra + 1);
		CHECK_EQ(engine_get_stats(w.n.e)->allowed_capped, extra == 254 ? 0u : 1u);
		tnode_free(&w.n);
	}
}

struct deconf_case {
	const char *what;
	int router;
	enum wl_trust own_trust;
	int64_t at;
	bool replaces;
};

static const struct deconf_case deconf[] = {
	{ "leaf, young", WL_NO, TRUST_UNSET, 250 * S, false },
	{ "leaf, after FactTTL", WL_NO, TRUST_UNSET, 256 * S, true },
	{ "router, after FactTTL", WL_YES, TRUST_UNSET, 256 * S, false },
	{ "own trust AllowedIPs", WL_NO, TRUST_ALLOWED_IPS, 256 * S, false },
	{ "own trust Endpoint", WL_NO, TRUST_ENDPOINT, 256 * S, true },
};

TEST(unhealthy_peer_deconfigured_only_when_allowed)
{
	for (size_t i = 0; i < sizeof(deconf) / sizeof(deconf[0]); i++) {
		const struct deconf_case *dc = &deconf[i];
		struct world w;
		memset(&w, 0, sizeof(w));
		setup(&w, dc->router, false, ENGINE_NEVER);
		tnode_stop(&w.n);
		/* Own entry with a trust level. */
		if (dc->own_trust != TRUST_UNSET) {
			memcpy(w.pc[1].public_key, w.n.pub, 32);
			w.pc[1].trust = dc->own_trust;
			w.pc[1].basic = WL_AUTO;
			w.n.cfg.n_peers = 2;
		}
		tnode_start(&w.n, 0);
		char ac[64];
		p_allows(&w, "10.5.0.7/32", ac); /* a host route: P is not a router */
		tnode_tick(&w.n, dc->at);
		const struct engine_change *c = tchange(&w.n, w.ppub);
		bool replaced = c && (c->flags & ENGINE_CHANGE_REPLACE_ALLOWED);
		CHECK_MSG(replaced == dc->replaces, "%s: replaced=%d", dc->what, replaced);
		if (replaced) {
			CHECK_EQ(c->n_allowed, 1);
			CHECK(change_has(c, ac));
			CHECK(c->flags & ENGINE_CHANGE_UPDATE_ONLY);
			CHECK(thas_event(&w.n, ENGINE_EV_DECONFIGURE, w.ppub));
		}
		tnode_free(&w.n);
	}
}

TEST(unsupported_allowed_ips_removed_after_fact_ttl)
{
	struct world w;
	setup(&w, WL_NO, false, 0);
	char ac[64];
	p_allows(&w, "10.6.0.0/24", ac); /* no fact for it */
	p_alive(&w, 0, 255);
	tnode_handshake(&w.n, w.ppub, 100);
	tnode_tick(&w.n, 100);
	const struct engine_change *c = tchange(&w.n, w.ppub);
	CHECK(c && !(c->flags & ENGINE_CHANGE_REPLACE_ALLOWED) && change_has(c, "10.5.0.0/24"));
	p_alive(&w, 250 * S, 255);
	tnode_handshake(&w.n, w.ppub, 256 * S);
	tnode_tick(&w.n, 256 * S);
	c = tchange(&w.n, w.ppub);
	CHECK(c && (c->flags & ENGINE_CHANGE_REPLACE_ALLOWED));
	CHECK(c && c->n_allowed == 2 && change_has(c, ac) && change_has(c, "10.5.0.0/24"));
	tnode_free(&w.n);
}

/* Deconfiguring makes traffic fall back to the router; the router itself
 * has nothing to fall back to, so an unhealthy router keeps its routes and
 * stays a router — else this leaf would turn router itself and stop
 * trusting the real one (tests/sim/test_sim_outage.c). */
TEST(unhealthy_router_keeps_its_allowed_ips)
{
	struct world w;
	setup(&w, WL_AUTO, false, ENGINE_NEVER);
	char ac[64];
	p_allows(&w, "10.5.0.0/24", ac);
	tnode_tick(&w.n, 256 * S);
	const struct engine_change *c = tchange(&w.n, w.ppub);
	CHECK(!c || !(c->flags & ENGINE_CHANGE_REPLACE_ALLOWED));
	CHECK(!thas_event(&w.n, ENGINE_EV_DECONFIGURE, w.ppub));
	CHECK(!engine_is_router(w.n.e));
	tnode_free(&w.n);
}

/* Facts also expire when their source has gone quiet (the hub is down);
 * that is no reason to remove AllowedIPs from a healthy peer. Nor is its
 * return: it tells us about each peer again only once that peer is back
 * with it too. Its silence counts when it has talked to us for half a
 * FactTTL. */
TEST(unsupported_allowed_ips_kept_while_no_source_is_heard)
{
	struct world w;
	setup(&w, WL_NO, false, 0);
	char ac[64];
	p_allows(&w, "10.6.0.0/24", ac);
	p_alive(&w, 200 * S, 255); /* alive until 455 s, but last heard 56 s before the tick */
	tnode_handshake(&w.n, w.ppub, 256 * S);
	tnode_tick(&w.n, 256 * S);
	const struct engine_change *c = tchange(&w.n, w.ppub);
	CHECK(!c || !(c->flags & ENGINE_CHANGE_REPLACE_ALLOWED));
	p_alive(&w, 260 * S, 255); /* heard again, but healthy again only since 256 s */
	tnode_handshake(&w.n, w.ppub, 260 * S);
	tnode_tick(&w.n, 261 * S);
	c = tchange(&w.n, w.ppub);
	CHECK(!c || !(c->flags & ENGINE_CHANGE_REPLACE_ALLOWED));
	const int64_t settled = 256 * S + tdefault_timing()->fact_ttl_ms / 2;
	p_alive(&w, settled, 255); /* now its silence counts */
	tnode_handshake(&w.n, w.ppub, settled);
	tnode_tick(&w.n, settled + 1 * S);
	c = tchange(&w.n, w.ppub);
	CHECK(c && (c->flags & ENGINE_CHANGE_REPLACE_ALLOWED) && !change_has(c, "10.6.0.0/24"));
	tnode_free(&w.n);
}

TEST(endpoint_cycling_least_recently_tried)
{
	struct world w;
	setup(&w, WL_NO, false, ENGINE_NEVER);
	/* Ticks every half EndpointInterval (2.5 s): a candidate never tried
	 * goes 2 s after the last try, one tried before waits a whole
	 * EndpointInterval, and twice as long with each such try (the peer
	 * never answers); the least recently tried first, the one through the
	 * tunnel never. */
	const int64_t half = tdefault_timing()->endpoint_interval_ms / 2;
	CHECK_EQ(tdefault_timing()->fresh_try_ms, 2 * S); /* the schedule below */
	const char *expect[] = { "203.0.113.1:51820", "203.0.113.2:51820", NULL,
				 "203.0.113.1:51820", /* 5 s after the last try */
				 NULL, NULL, NULL,
				 "203.0.113.2:51820", /* 10 s after */
				 NULL };
	for (int i = 0; i < 9; i++) {
		int64_t t = i * half;
		tnode_tick(&w.n, t);
		const struct engine_change *c = tchange(&w.n, w.ppub);
		bool set = c && (c->flags & ENGINE_CHANGE_SET_ENDPOINT);
		CHECK_MSG(set == (expect[i] != NULL), "tick %d: set=%d", i, set);
		if (set && expect[i]) {
			char buf[WL_ENDPOINT_STR_MAX];
			CHECK_STR(wl_endpoint_str(&c->endpoint, buf), expect[i]);
			CHECK(thas_event(&w.n, ENGINE_EV_ENDPOINT, w.ppub));
		}
		/* A new endpoint forces an Alive through it; otherwise a leaf
		 * pings only when the Alive is due (at the start). */
		bool alive;
		int dg = tsent_to(&w.n, w.ppub, NULL, &alive);
		CHECK_MSG((dg == 1 && alive) == (expect[i] != NULL), "tick %d: %d datagrams", i, dg);
	}
	tnode_free(&w.n);
}

/* [ours] We restarted: P had a handshake with us before, so a daemon
 * before us may have left the pair dormant, and P's NAT may have forgotten
 * us. A try of a candidate of P asks our router to wake P — also when
 * another handshake came after we started and then went stale too (it
 * replaced the device's old one, not what it says of the pair), and when
 * the device's handshake reads as our start itself (a time in the future,
 * after the wall clock stepped back, is taken as now). */
TEST(a_peer_direct_before_we_started_is_woken_at_each_try)
{
	const int64_t before[] = { -10 * S, 0 };
	for (size_t k = 0; k < 2; k++) {
		struct world w;
		setup(&w, WL_NO, false, before[k]);
		tnode_tick(&w.n, 0);
		int64_t last = k ? 0 : 20 * S;
		if (!k)
			tnode_handshake(&w.n, w.ppub, last);
		const int64_t stale = last + tdefault_timing()->handshake_validity_ms;
		int64_t tried = -1;
		for (int64_t t = 5 * S; t < stale + 60 * S && tried < 0; t += 5 * S) {
			tnode_tick(&w.n, t);
			const struct engine_change *c = tchange(&w.n, w.ppub);
			if (t > stale && c && (c->flags & ENGINE_CHANGE_SET_ENDPOINT))
				tried = t;
		}
		CHECK_MSG(tried >= 0, "case %zu: no candidate tried after the handshake went stale",
			  k);
		CHECK_MSG(engine_get_stats(w.n.e)->path_wakes_sent >= 1, "case %zu: no wake", k);
		tnode_free(&w.n);
	}
}

/* The regular ticks are jittered, but a candidate is tried exactly when
 * due (one EndpointInterval after the last, then backing off): the engine
 * asks for a tick then. */
TEST(endpoint_candidates_keep_their_interval_under_jitter)
{
	const struct engine_timing *dt = tdefault_timing();
	CHECK(dt->jitter_pct > 0);
	struct world w;
	setup(&w, WL_NO, false, ENGINE_NEVER);
	int64_t tries[8];
	int n = 0;
	for (int64_t t = 0; t <= 100 * S && n < 8; t = engine_next_deadline(w.n.e)) {
		tnode_tick(&w.n, t);
		if (thas_event(&w.n, ENGINE_EV_ENDPOINT, w.ppub))
			tries[n++] = t;
	}
	CHECK(n >= 5);
	/* Two candidates: the second, never tried, fresh_try_ms after the
	 * first; then EndpointInterval, doubled with each try of a candidate
	 * that failed before, up to retry_max_ms. */
	CHECK_EQ(tries[1] - tries[0], dt->fresh_try_ms);
	int64_t gap = dt->endpoint_interval_ms;
	for (int i = 2; i < n; i++) {
		CHECK_EQ(tries[i] - tries[i - 1], gap);
		gap = gap * 2 > dt->retry_max_ms ? dt->retry_max_ms : gap * 2;
	}
	tnode_free(&w.n);
}

/* [ours] WireGuard sends nothing to a new endpoint while a handshake is
 * under way until its next retry, and drops what waited for a handshake
 * that gives up: a try the device sent nothing to is kept until it does,
 * up to 6 s; then its Alive goes once more, and after 6 s more the next
 * candidate follows. Once the device sends something there (its counter
 * moves), the next candidate keeps its usual time. */
TEST(a_try_waits_for_the_device_to_send_there)
{
	struct world w;
	setup(&w, WL_NO, false, ENGINE_NEVER);
	w.n.scripted_tx = true; /* the device sends P nothing */
	int64_t tries[3], again = -1;
	int n = 0;
	for (int64_t t = 0; t <= 40 * S && n < 3; t = engine_next_deadline(w.n.e)) {
		if (n == 2 && t >= tries[1] + 3 * S)
			tnode_traffic(&w.n, w.ppub, 0, 148); /* an initiation goes there */
		tnode_tick(&w.n, t);
		bool alive = false;
		tsent_to(&w.n, w.ppub, NULL, &alive);
		if (thas_event(&w.n, ENGINE_EV_ENDPOINT, w.ppub))
			tries[n++] = t;
		else if (alive && n == 1 && again < 0)
			again = t;
	}
	CHECK_EQ(n, 3);
	CHECK_EQ(again - tries[0], 6 * S);          /* the Alive once more */
	CHECK_EQ(tries[1] - tries[0], 12 * S);      /* not fresh_try_ms: nothing went */
	CHECK_EQ(tries[2] - tries[1], tdefault_timing()->endpoint_interval_ms);
	tnode_free(&w.n);
}

/* [ours] While the user's traffic flows (here to a router R), a peer that
 * never answers is still tried every EndpointInterval: no backoff. */
TEST(no_endpoint_backoff_while_traffic_flows)
{
	const struct engine_timing *dt = tdefault_timing();
	struct world w;
	setup(&w, WL_NO, false, ENGINE_NEVER);
	tnode_dev_peer(&w.n, w.rpub, "198.51.100.9:51820", 0);
	tnode_allow(&w.n, w.rpub, "10.0.0.0/8");
	int64_t tries[8], last = 0;
	int n = 0;
	for (int64_t t = 0; t <= 100 * S && n < 8; t = engine_next_deadline(w.n.e)) {
		tnode_handshake(&w.n, w.rpub, t);
		tnode_traffic(&w.n, w.rpub, 1000 * (uint64_t)(t - last) / 1000 + 1000,
			      1000 * (uint64_t)(t - last) / 1000 + 1000);
		last = t;
		tnode_tick(&w.n, t);
		if (thas_event(&w.n, ENGINE_EV_ENDPOINT, w.ppub))
			tries[n++] = t;
	}
	CHECK_EQ(n, 8);
	for (int i = 2; i < n; i++)
		CHECK_EQ(tries[i] - tries[i - 1], dt->endpoint_interval_ms);
	tnode_free(&w.n);
}

/* [ours] Our addresses change (a laptop moved to another network): every
 * peer's endpoint is set again, unchanged, so WireGuard picks its source
 * address afresh, and an Alive goes to each at once. Nothing happens while
 * they stay the same. */
TEST(moving_sets_endpoints_again)
{
	struct world w;
	setup(&w, WL_NO, false, 0);
	tnode_tick(&w.n, 0);
	tnode_tick(&w.n, 5 * S);
	const struct engine_change *c = tchange(&w.n, w.ppub);
	CHECK(!c || !(c->flags & ENGINE_CHANGE_SET_ENDPOINT));
	CHECK(!thas_event(&w.n, ENGINE_EV_MOVED, NULL));
	CHECK(wl_cidr_parse("203.0.113.77/24", &w.n.ifaddrs[0][0])); /* eth0 renumbered */
	tnode_handshake(&w.n, w.ppub, 9 * S);
	tnode_tick(&w.n, 10 * S);
	CHECK(thas_event(&w.n, ENGINE_EV_MOVED, NULL));
	c = tchange(&w.n, w.ppub);
	CHECK(c && (c->flags & ENGINE_CHANGE_SET_ENDPOINT));
	char ep[WL_ENDPOINT_STR_MAX];
	CHECK(c && strcmp(wl_endpoint_str(&c->endpoint, ep), "198.51.100.2:51820") == 0);
	bool alive = false;
	CHECK(tsent_to(&w.n, w.ppub, NULL, &alive) == 1 && alive);
	tnode_tick(&w.n, 15 * S);
	CHECK(!thas_event(&w.n, ENGINE_EV_MOVED, NULL));
	tnode_free(&w.n);
}

TEST(configured_peer_added_with_auto_address_and_endpoint)
{
	struct world w;
	memset(&w, 0, sizeof(w));
	setup(&w, WL_NO, false, ENGINE_NEVER);
	tnode_remove_peer(&w.n, w.ppub); /* P is not in the device */
	tnode_tick(&w.n, 0);
	const struct engine_change *c = tchange(&w.n, w.ppub);
	char ac[64];
	auto_str(w.ppub, ac);
	CHECK(c != NULL);
	CHECK(c && !(c->flags & (ENGINE_CHANGE_UPDATE_ONLY | ENGINE_CHANGE_REMOVE)));
	CHECK(c && c->n_allowed == 1 && change_has(c, ac));
	CHECK(c && (c->flags & ENGINE_CHANGE_SET_ENDPOINT));
	CHECK(thas_event(&w.n, ENGINE_EV_PEER_ADD, w.ppub));
	CHECK(tnode_find(&w.n, w.ppub) != NULL);
	tnode_free(&w.n);
}

/* [ours] Both sides pick each other's endpoint at once; their handshakes
 * would cross and cost WireGuard 5 s. The higher public key holds its
 * first datagram back by stagger_ms (or until the handshake is there). */
TEST(new_endpoint_staggered_by_key_order)
{
	uint8_t npriv[32], npub[32];
	tkey(N_, npriv, npub);
	for (int hold = 0; hold < 2; hold++) {
		/* A peer key above N's (N sends at once), then one below. */
		uint8_t kpriv[32], peer[32];
		int id = 2;
		do
			tkey(id++, kpriv, peer);
		while ((memcmp(npub, peer, 32) > 0) != hold && id < 100);
		struct world w;
		memset(&w, 0, sizeof(w));
		setup(&w, WL_NO, false, ENGINE_NEVER);
		tnode_stop(&w.n);
		memcpy(w.pc[0].public_key, peer, 32);
		tnode_remove_peer(&w.n, w.ppub);
		w.n.cfg.timing.jitter_pct = 0; /* the next regular tick exactly */
		tnode_start(&w.n, 0);
		tnode_tick(&w.n, 0);
		const struct engine_change *c = tchange(&w.n, peer);
		CHECK(c && (c->flags & ENGINE_CHANGE_SET_ENDPOINT));
		bool alive = false;
		int sent = tsent_to(&w.n, peer, NULL, &alive);
		CHECK_MSG((sent == 0) == hold, "higher key %d, datagrams at once %d", hold, sent);
		/* The held side ticks when its hold ends; the other when the
		 * next candidate (never tried) may be due. */
		CHECK_EQ(engine_next_deadline(w.n.e),
			 hold ? tdefault_timing()->stagger_ms : tdefault_timing()->fresh_try_ms);
		tnode_tick(&w.n, 500);
		if (hold)
			CHECK(tsent_to(&w.n, peer, NULL, &alive) > 0 && alive);
		tnode_free(&w.n);
	}
}

/* Deletion safety (SPEC §10.6): N a leaf with router R, stray peer Q. */
struct del_case {
	const char *what;
	int router;
	enum wl_trust own_trust;
	int64_t at;        /* when to look */
	int64_t r_last;    /* R's last Alive (-1: keeps sending) */
	bool q_configured;
	bool q_router;
	bool deleted;
};

static const struct del_case dels[] = {
	{ "settled", WL_AUTO, TRUST_UNSET, 265 * S, -1, false, false, true },
	{ "node too young", WL_AUTO, TRUST_UNSET, 250 * S, -1, false, false, false },
	{ "source not settled long enough", WL_AUTO, TRUST_UNSET, 258 * S, -1, false, false, false },
	{ "source about to expire", WL_AUTO, TRUST_UNSET, 265 * S, 10 * S, false, false, false },
	/* [ours] R still healthy and its Alive valid for minutes, but silent
	 * for more than its period and two chunks: gone away, not settled. */
	{ "source silent", WL_AUTO, TRUST_UNSET, 265 * S, 215 * S, false, false, false },
	{ "node is a router", WL_YES, TRUST_UNSET, 265 * S, -1, false, false, false },
	{ "own trust Membership", WL_AUTO, TRUST_MEMBERSHIP, 265 * S, -1, false, false, false },
	{ "configured peer", WL_AUTO, TRUST_UNSET, 265 * S, -1, true, false, false },
	{ "router in full-auto mode", WL_AUTO, TRUST_UNSET, 265 * S, -1, false, true, false },
};

static void run_del(const struct del_case *dc)
{
	struct tnode n;
	uint8_t rpriv[32], rpub[32], qpriv[32], qpub[32], buf[WIRE_MAX_DATAGRAM];
	uint8_t id[BOOT_ID_LEN] = { 4 };
	tkey(R_, rpriv, rpub);
	tkey(Q_, qpriv, qpub);
	tnode_config(&n, N_);
	n.cfg.router = dc->router;
	struct engine_peer_config pc[2];
	memset(pc, 0, sizeof(pc));
	size_t np = 0;
	if (dc->own_trust != TRUST_UNSET) {
		memcpy(pc[np].public_key, n.pub, 32);
		pc[np].trust = dc->own_trust;
		pc[np++].basic = WL_AUTO;
	}
	if (dc->q_configured) {
		memcpy(pc[np].public_key, qpub, 32);
		pc[np].trust = TRUST_UNSET;
		pc[np++].basic = WL_AUTO;
	}
	n.cfg.peers = pc;
	n.cfg.n_peers = np;
	tnode_dev_peer(&n, rpub, "192.0.2.3:51820", 0);
	tnode_allow(&n, rpub, "10.0.0.0/8");
	tnode_dev_peer(&n, qpub, "192.0.2.4:51820", 0);
	if (dc->q_router)
		tnode_allow(&n, qpub, "10.20.0.0/16");
	tnode_start(&n, 0);
	bool deleted = false;
	for (int64_t t = 0; t <= dc->at; t += 5 * S) {
		tnode_handshakes(&n, t);
		struct fact f;
		fact_make_alive(&f, rpub, id, 255);
		size_t len = tseal(rpriv, n.pub, &f, 1, buf, sizeof(buf));
		if (dc->r_last < 0 || t <= dc->r_last)
			CHECK_EQ(treceive(&n, t, rpub, buf, len), ENGINE_RX_OK);
		tnode_tick(&n, t);
		const struct engine_change *c = tchange(&n, qpub);
		if (c && (c->flags & ENGINE_CHANGE_REMOVE)) {
			deleted = true;
			CHECK_MSG(t >= 260 * S, "%s: deleted at %lld", dc->what, (long long)t);
			CHECK(thas_event(&n, ENGINE_EV_PEER_REMOVE, qpub));
		}
		/* The router is never removed (full-auto). */
		CHECK(!tchange(&n, rpub) || !(tchange(&n, rpub)->flags & ENGINE_CHANGE_REMOVE));
	}
	CHECK_MSG(deleted == dc->deleted, "%s: deleted=%d", dc->what, deleted);
	tnode_free(&n);
}

TEST(deletion_safety_table)
{
	for (size_t i = 0; i < sizeof(dels) / sizeof(dels[0]); i++)
		run_del(&dels[i]);
}

/* A member fact that expired (its refreshes lost) does not delete the
 * member before the resend our new boot id asks for had its chance. N a
 * leaf with router R; R vouches for device peer Q at 35 s with a fact
 * expiring at 290 s (a TTL beyond FactTTL would be cut to it); with
 * resend, R tells it again 2 s after the expiry. */
static int64_t member_expiry_deletes_at(bool resend)
{
	struct tnode n;
	uint8_t rpriv[32], rpub[32], qpriv[32], qpub[32], buf[WIRE_MAX_DATAGRAM];
	uint8_t id[BOOT_ID_LEN] = { 4 };
	tkey(R_, rpriv, rpub);
	tkey(Q_, qpriv, qpub);
	tnode_config(&n, N_);
	tnode_dev_peer(&n, rpub, "192.0.2.3:51820", 0);
	tnode_allow(&n, rpub, "10.0.0.0/8");
	tnode_dev_peer(&n, qpub, "192.0.2.4:51820", 0);
	tnode_start(&n, 0);
	int64_t deleted_at = -1;
	for (int64_t t = 0; t <= 400 * S && deleted_at < 0; t += S) {
		tnode_handshakes(&n, t);
		struct fact f[2];
		size_t nf = 0;
		fact_make_alive(&f[nf++], rpub, id, 255);
		/* Not at once: R must be in N's device (a tick) to be trusted. */
		if (t == 35 * S || (resend && t == 292 * S))
			CHECK(fact_make_member_meta(&f[nf++], qpub, NULL, -1, 255));
		size_t len = tseal(rpriv, n.pub, f, nf, buf, sizeof(buf));
		CHECK_EQ(treceive(&n, t, rpub, buf, len), ENGINE_RX_OK);
		if (t % (5 * S) && !(t >= 290 * S && t <= 300 * S))
			continue; /* a tick every 5 s, and every second around the expiry */
		tnode_tick(&n, t);
		const struct engine_change *c = tchange(&n, qpub);
		if (c && (c->flags & ENGINE_CHANGE_REMOVE))
			deleted_at = t;
	}
	tnode_free(&n);
	return deleted_at;
}

TEST(expired_member_waits_for_the_resend)
{
	const struct engine_timing *dt = tdefault_timing();
	CHECK_EQ(member_expiry_deletes_at(true), -1);
	int64_t at = member_expiry_deletes_at(false);
	int64_t grace = dt->alive_period_ms + 2 * dt->chunk_period_ms;
	CHECK_MSG(at >= 290 * S + grace && at <= 290 * S + grace + dt->chunk_period_ms,
		  "deleted at %lld ms", (long long)at);
}

TEST(router_detection)
{
	struct tnode n;
	uint8_t priv[32], rpub[32], ppub[32];
	tkey(R_, priv, rpub);
	tkey(P_, priv, ppub);
	tnode_config(&n, N_);
	tnode_dev_peer(&n, ppub, "192.0.2.2:1", 0);
	tnode_allow(&n, ppub, "10.1.2.3/32"); /* a host route: not a router */
	tnode_allow(&n, ppub, "fe80::/64");   /* link-local: not global unicast */
	tnode_dev_peer(&n, rpub, "192.0.2.3:1", 0);
	tnode_start(&n, 0);
	tnode_tick(&n, 0);
	struct engine_peer_info pi;
	CHECK(engine_peer_info(n.e, ppub, 0, &pi) && !pi.router);
	CHECK(engine_is_router(n.e)); /* nobody routes: we are the router */
	CHECK(thas_event(&n, ENGINE_EV_ROUTER, NULL));
	tnode_allow(&n, rpub, "192.168.0.0/16"); /* private ranges count */
	tnode_tick(&n, 5 * S);
	CHECK(engine_peer_info(n.e, rpub, 0, &pi) && pi.router);
	CHECK(!engine_is_router(n.e));
	CHECK(thas_event(&n, ENGINE_EV_ROUTER, NULL));
	tnode_free(&n);
	/* --router=no / yes override detection. */
	tnode_config(&n, N_);
	n.cfg.router = WL_NO;
	tnode_dev_peer(&n, ppub, "192.0.2.2:1", 0);
	tnode_start(&n, 0);
	tnode_tick(&n, 0);
	CHECK(!engine_is_router(n.e));
	tnode_free(&n);
}

TEST(kept_non_members_are_still_configured)
{
	/* A leaf's hub: in the device from wg-quick, neither configured nor
	 * vouched for by a Member fact, never deleted (a router in full-auto
	 * mode) — and so it must still get its auto address. */
	struct tnode n;
	uint8_t priv[32], rpub[32];
	tkey(R_, priv, rpub);
	tnode_config(&n, N_);
	tnode_dev_peer(&n, rpub, "192.0.2.3:51820", 0);
	tnode_allow(&n, rpub, "10.99.0.0/24");
	tnode_start(&n, 0);
	tnode_tick(&n, 0);
	const struct engine_change *c = tchange(&n, rpub);
	char ac[64];
	auto_str(rpub, ac);
	CHECK(c && change_has(c, ac) && (c->flags & ENGINE_CHANGE_UPDATE_ONLY));
	CHECK(c && !(c->flags & ENGINE_CHANGE_REMOVE));
	tnode_free(&n);
}

TEST(resolved_endpoints_replace_configured_ones)
{
	struct world w;
	setup(&w, WL_NO, false, ENGINE_NEVER);
	CHECK(engine_peer_wants_endpoints(w.n.e, w.ppub, 0));
	CHECK(!engine_peer_wants_endpoints(w.n.e, w.rpub, 0)); /* not configured */
	struct wl_endpoint ep;
	wl_endpoint_parse("198.51.100.77:51820", &ep);
	CHECK(engine_set_peer_endpoints(w.n.e, w.ppub, &ep, 1));
	CHECK(!engine_set_peer_endpoints(w.n.e, w.rpub, &ep, 1));
	tnode_tick(&w.n, 0);
	const struct engine_change *c = tchange(&w.n, w.ppub);
	char buf[WL_ENDPOINT_STR_MAX];
	CHECK(c && (c->flags & ENGINE_CHANGE_SET_ENDPOINT));
	if (c)
		CHECK_STR(wl_endpoint_str(&c->endpoint, buf), "198.51.100.77:51820");
	CHECK(!thas_fact(w.n.e, ATTR_ENDPOINT_V4, w.ppub, "203.0.113.1:51820"));
	/* Healthy now: its configured endpoints are no longer needed. */
	tnode_handshake(&w.n, w.ppub, 5 * S);
	tnode_tick(&w.n, 5 * S);
	CHECK(!engine_peer_wants_endpoints(w.n.e, w.ppub, 5 * S));
	/* The endpoint fact now comes from the device view (fresh handshake). */
	CHECK(thas_fact(w.n.e, ATTR_ENDPOINT_V4, w.ppub, "198.51.100.77:51820"));
	tnode_free(&w.n);
}

/* [ours] The first candidate to try for a peer: on our LAN first, unless
 * the peer is seen at an outer address that is not ours (its LAN address
 * is then a look-alike in another home); public before private. N sits
 * on 192.168.1.10/24; P advertises 192.168.1.11 (our subnet), 10.20.0.5
 * (private, elsewhere) and 198.51.100.20 (its NAT, as a router sees it).
 * What N knows of its own outer address comes from P (trusted with
 * Membership): an Endpoint fact about N. */
struct site_case {
	const char *what;
	const char *our_outer; /* NULL: unknown */
	const char *p_eps[4];  /* P's Endpoint facts, in the order received */
	const char *order[4];  /* NULL: any of the remaining */
};

static const struct site_case sites[] = {
	{ "our outer address unknown", NULL,
	  { "10.20.0.5:51820", "198.51.100.20:51820", "192.168.1.11:51820" },
	  { "192.168.1.11:51820", "198.51.100.20:51820", "10.20.0.5:51820" } },
	{ "same outer address: P is on our LAN", "198.51.100.20:40000",
	  { "10.20.0.5:51820", "198.51.100.20:51820", "192.168.1.11:51820" },
	  { "192.168.1.11:51820", "198.51.100.20:51820", "10.20.0.5:51820" } },
	{ "another outer address: P is elsewhere", "203.0.113.50:51820",
	  { "10.20.0.5:51820", "198.51.100.20:51820", "192.168.1.11:51820" },
	  { "198.51.100.20:51820", NULL, NULL } }, /* then both private ones */
	/* P behind a symmetric NAT with a port mapping: the router saw it at
	 * a port its NAT chose for the router alone; the mapping is at P's
	 * own listen port (as its LAN address shows) and goes first. */
	{ "a mapping at P's listen port before its NAT's own port", "203.0.113.50:51820",
	  { "198.51.100.20:40123", "192.168.1.11:51820", "198.51.100.20:51820" },
	  { "198.51.100.20:51820", "198.51.100.20:40123", "192.168.1.11:51820" } },
};

/* A leaf on 192.168.1.10/24 with P configured (Membership trust) and in
 * its device without an endpoint, started at 0. pc must outlive n. */
static void lan_leaf_with_p(struct tnode *n, struct engine_peer_config *pc, uint8_t ppriv[32],
			    uint8_t ppub[32])
{
	static const char *const lan[] = { "192.168.1.10/24", NULL };
	tkey(P_, ppriv, ppub);
	tnode_config(n, N_);
	*pc = (struct engine_peer_config){ .trust = TRUST_MEMBERSHIP, .basic = WL_AUTO };
	memcpy(pc->public_key, ppub, 32);
	n->cfg.peers = pc;
	n->cfg.n_peers = 1;
	n->cfg.router = WL_NO;
	tnode_iface(n, "eth0", true, true, lan);
	tnode_iface(n, "wg0", true, true, WG);
	tnode_dev_peer(n, ppub, NULL, ENGINE_NEVER);
	tnode_start(n, 0);
}

static void site_case(const struct site_case *c)
{
	struct tnode n;
	struct engine_peer_config pc;
	uint8_t ppriv[32], ppub[32];
	lan_leaf_with_p(&n, &pc, ppriv, ppub);
	struct fact f[5];
	size_t nf = 0;
	for (size_t i = 0; i < 4 && c->p_eps[i]; i++) {
		struct wl_endpoint ep;
		wl_endpoint_parse(c->p_eps[i], &ep);
		CHECK(fact_make_endpoint(&f[nf++], ppub, &ep, 255));
	}
	size_t n_eps = nf;
	if (c->our_outer) {
		struct wl_endpoint ep;
		wl_endpoint_parse(c->our_outer, &ep);
		CHECK(fact_make_endpoint(&f[nf++], n.pub, &ep, 255));
	}
	uint8_t buf[WIRE_MAX_DATAGRAM];
	size_t len = tseal(ppriv, n.pub, f, nf, buf, sizeof(buf));
	CHECK_EQ(treceive(&n, 0, ppub, buf, len), ENGINE_RX_OK);
	int tried = 0;
	for (int64_t t = 0; t <= 30 * S && tried < (int)n_eps; t = engine_next_deadline(n.e)) {
		tnode_tick(&n, t);
		const struct engine_change *ch = tchange(&n, ppub);
		if (!ch || !(ch->flags & ENGINE_CHANGE_SET_ENDPOINT))
			continue;
		char got[WL_ENDPOINT_STR_MAX];
		wl_endpoint_str(&ch->endpoint, got);
		CHECK_MSG(!c->order[tried] || strcmp(got, c->order[tried]) == 0, "%s: try %d is %s, not %s", c->what,
			  tried + 1, got, c->order[tried]);
		tried++;
	}
	CHECK_MSG(tried == (int)n_eps, "%s: %d tries", c->what, tried);
	tnode_free(&n);
}

/* [ours] We are behind a NAT and P is behind our own NAT (the router sees
 * both of us at 198.51.100.20) or we cannot tell yet (our NAT's address
 * unknown), but only P's NAT address is known: the first try waits up to
 * a second for P's LAN address, which P's own facts bring — and goes to
 * the NAT address if it never comes. */
static void lan_wait_case(bool lan_comes, bool outer_known)
{
	struct tnode n;
	struct engine_peer_config pc;
	uint8_t ppriv[32], ppub[32];
	lan_leaf_with_p(&n, &pc, ppriv, ppub);
	struct fact f[2];
	struct wl_endpoint ep;
	wl_endpoint_parse("198.51.100.20:40000", &ep);
	CHECK(fact_make_endpoint(&f[0], ppub, &ep, 255));
	wl_endpoint_parse("198.51.100.20:40001", &ep);
	CHECK(fact_make_endpoint(&f[1], n.pub, &ep, 255)); /* where the router sees us */
	uint8_t buf[WIRE_MAX_DATAGRAM];
	size_t len = tseal(ppriv, n.pub, f, outer_known ? 2 : 1, buf, sizeof(buf));
	CHECK_EQ(treceive(&n, 0, ppub, buf, len), ENGINE_RX_OK);
	tnode_tick(&n, 0);
	CHECK(!thas_event(&n, ENGINE_EV_ENDPOINT, ppub));
	if (lan_comes) {
		wl_endpoint_parse("192.168.1.11:51820", &ep);
		CHECK(fact_make_endpoint(&f[0], ppub, &ep, 255));
		len = tseal(ppriv, n.pub, f, 1, buf, sizeof(buf));
		CHECK_EQ(treceive(&n, 300, ppub, buf, len), ENGINE_RX_OK);
	}
	int64_t t = engine_next_deadline(n.e);
	CHECK(t <= 1000);
	tnode_tick(&n, t);
	const struct engine_change *ch = tchange(&n, ppub);
	CHECK(ch && (ch->flags & ENGINE_CHANGE_SET_ENDPOINT));
	char got[WL_ENDPOINT_STR_MAX];
	CHECK_STR(ch ? wl_endpoint_str(&ch->endpoint, got) : "",
		  lan_comes ? "192.168.1.11:51820" : "198.51.100.20:40000");
	CHECK(lan_comes ? t < 1000 : t == 1000);
	tnode_free(&n);
}

TEST(first_try_from_behind_a_nat_waits_for_a_lan_address)
{
	lan_wait_case(true, true);
	lan_wait_case(false, true);
	lan_wait_case(true, false);
}

TEST(candidate_order_by_site)
{
	for (size_t i = 0; i < sizeof(sites) / sizeof(*sites); i++)
		site_case(&sites[i]);
}
