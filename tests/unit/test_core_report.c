/* The operator's report (src/core/report.c) [ours]: each path and each
 * why-not-direct reason, produced by driving the engine into the state it
 * names, and the counters behind the metrics (went direct, time to
 * direct). */
#include <string.h>

#include "core/report.h"
#include "core_fixture.h"
#include "harness.h"
#include "wire/autoaddr.h"

enum { N_ = 1, P_ = 2, R_ = 3 };
#define S 1000

struct world {
	struct tnode n;
	uint8_t ppriv[32], ppub[32], rpriv[32], rpub[32];
	struct engine_peer_config pc[2];
	struct wl_endpoint p_eps[2];
	struct wl_cidr p_allowed;
};

/* Leaf N behind a NAT (only a private address) with router R (10.0.0.0/8,
 * healthy) and configured peer P (n_eps endpoints, basic as given) in the
 * device without an endpoint or a handshake (setup_ep: with this one, and
 * a handshake at 0). r_trust: R's configured
 * Trust (TRUST_UNSET: none). */
static void setup_ep(struct world *w, size_t n_eps, bool basic, enum wl_trust r_trust,
		     const char *p_dev_ep)
{
	memset(w, 0, sizeof(*w));
	tkey(P_, w->ppriv, w->ppub);
	tkey(R_, w->rpriv, w->rpub);
	tnode_config(&w->n, N_);
	memcpy(w->pc[0].public_key, w->ppub, 32);
	w->pc[0].name = "pc";
	w->pc[0].trust = TRUST_UNSET;
	w->pc[0].basic = basic ? WL_YES : WL_AUTO;
	wl_endpoint_parse("203.0.113.1:51820", &w->p_eps[0]);
	wl_endpoint_parse("203.0.113.2:51820", &w->p_eps[1]);
	w->pc[0].endpoints = w->p_eps;
	w->pc[0].n_endpoints = n_eps;
	wl_cidr_parse("10.5.0.7/32", &w->p_allowed);
	w->pc[0].allowed_ips = &w->p_allowed;
	w->pc[0].n_allowed = 1;
	w->n.cfg.peers = w->pc;
	w->n.cfg.n_peers = 1;
	if (r_trust != TRUST_UNSET) {
		memcpy(w->pc[1].public_key, w->rpub, 32);
		w->pc[1].name = "hub";
		w->pc[1].trust = r_trust;
		w->pc[1].basic = WL_AUTO;
		w->n.cfg.n_peers = 2;
	}
	static const char *const eth[] = { "192.168.1.2/24", NULL };
	tnode_iface(&w->n, "eth0", true, true, eth);
	tnode_dev_peer(&w->n, w->rpub, "192.0.2.3:51820", 0);
	tnode_allow(&w->n, w->rpub, "10.0.0.0/8");
	tnode_dev_peer(&w->n, w->ppub, p_dev_ep, p_dev_ep ? 0 : ENGINE_NEVER);
	tnode_start(&w->n, 0);
}

static void setup(struct world *w, size_t n_eps, bool basic, enum wl_trust r_trust)
{
	setup_ep(w, n_eps, basic, r_trust, NULL);
}

static struct engine_report report(struct world *w)
{
	struct engine_report r;
	CHECK(engine_peer_report(w->n.e, w->ppub, w->n.now, &r));
	return r;
}

static const char *text(struct world *w, const struct engine_report *r)
{
	static char buf[1024];
	report_why_text(r, w->n.now, buf, sizeof(buf));
	return buf;
}

/* A datagram from R (N's device peer) with one fact. */
static void from_r(struct world *w, const struct fact *f)
{
	uint8_t buf[WIRE_MAX_DATAGRAM];
	size_t len = tseal(w->rpriv, w->n.pub, f, 1, buf, sizeof(buf));
	CHECK_EQ(treceive(&w->n, w->n.now, w->rpub, buf, len), ENGINE_RX_OK);
}

TEST(no_candidates_goes_via_the_router)
{
	struct world w;
	setup(&w, 0, false, TRUST_UNSET);
	tnode_tick(&w.n, 0);
	struct engine_report r = report(&w);
	CHECK_EQ(r.path, REPORT_VIA);
	CHECK(r.has_via && memcmp(r.via_key, w.rpub, 32) == 0);
	CHECK_EQ(r.why, REPORT_WHY_NO_CANDIDATES);
	CHECK(strstr(text(&w, &r), "no endpoint candidates known") != NULL);
	CHECK_EQ(r.trust_how, REPORT_TRUST_DEVICE);
	/* The router itself is direct, trusted by route. */
	struct engine_report rr;
	CHECK(engine_peer_report(w.n.e, w.rpub, w.n.now, &rr));
	CHECK_EQ(rr.path, REPORT_DIRECT);
	CHECK_EQ(rr.why, REPORT_WHY_NONE);
	CHECK_EQ(rr.trust_how, REPORT_TRUST_ROUTER);
	CHECK_EQ(rr.trust, TRUST_MEMBERSHIP);
	tnode_free(&w.n);
}

TEST(trying_then_all_candidates_failed)
{
	struct world w;
	setup(&w, 2, false, TRUST_UNSET);
	/* Behind a NAT the first try waits a second for a LAN address. */
	tnode_tick(&w.n, 0);
	struct engine_report r = report(&w);
	CHECK_EQ(r.why, REPORT_WHY_TRYING);
	CHECK_MSG(strstr(text(&w, &r), "2 candidates, none tried yet"), "%s", text(&w, &r));
	tnode_tick(&w.n, 1 * S);
	r = report(&w);
	CHECK_EQ(r.why, REPORT_WHY_TRYING);
	CHECK_EQ(r.n_cands, 2u);
	CHECK_EQ(r.cand_rank, 1);
	CHECK_MSG(strstr(text(&w, &r), "trying candidate 203.0.113.1:51820 (1 of 2, since 0s)"),
		  "%s", text(&w, &r));
	tnode_tick(&w.n, 3 * S); /* the second one, never tried, goes fresh_try_ms later */
	r = report(&w);
	CHECK_EQ(r.why, REPORT_WHY_TRYING);
	CHECK_MSG(strstr(text(&w, &r), "203.0.113.2:51820 (2 of 2"), "%s", text(&w, &r));
	/* A full EndpointInterval after the last try without a handshake:
	 * failed, each listed with its last result. */
	w.n.now = 3 * S + tdefault_timing()->endpoint_interval_ms; /* report then, no tick */
	r = report(&w);
	CHECK_EQ(r.why, REPORT_WHY_CANDIDATES_FAILED);
	CHECK_EQ(r.n_tried, 2u);
	const char *t = text(&w, &r);
	CHECK_MSG(strstr(t, "all 2 candidates failed: 203.0.113.1:51820 (no handshake, tried 7s ago)"),
		  "%s", t);
	CHECK_MSG(strstr(t, "203.0.113.2:51820 (no handshake, tried 5s ago)"), "%s", t);
	CHECK(r.path == REPORT_VIA && !r.nat_rewrites);
	tnode_free(&w.n);
}

TEST(nat_rewriting_our_port_is_named_when_candidates_fail)
{
	struct world w;
	setup(&w, 1, false, TRUST_UNSET);
	tnode_tick(&w.n, 0);
	/* The router tells us where it sees us: another port than ours. */
	struct fact f;
	struct wl_endpoint seen;
	wl_endpoint_parse("198.51.100.9:40001", &seen);
	CHECK(fact_make_endpoint(&f, w.n.pub, &seen, 255));
	from_r(&w, &f);
	tnode_tick(&w.n, 6 * S);
	struct engine_report r = report(&w);
	CHECK(r.nat_rewrites && !r.port_mapping);
	CHECK_EQ(r.nat_seen.port, 40001);
	CHECK_EQ(r.why, REPORT_WHY_TRYING); /* the one candidate, tried again at 5 s */
	w.n.now = 6 * S + tdefault_timing()->endpoint_interval_ms * 3;
	r = report(&w);
	CHECK_EQ(r.why, REPORT_WHY_NAT);
	const char *t = text(&w, &r);
	CHECK_MSG(strstr(t, "our NAT rewrites our port (seen at 198.51.100.9:40001, we listen on "
			    "51820) and no port mapping was granted"),
		  "%s", t);
	CHECK(strstr(t, "all 1 candidates failed") != NULL);
	tnode_free(&w.n);
}

TEST(basic_peer_is_named)
{
	struct world w;
	setup(&w, 1, true, TRUST_UNSET);
	tnode_tick(&w.n, 0);
	struct engine_report r = report(&w);
	CHECK_EQ(r.why, REPORT_WHY_BASIC);
	CHECK(strstr(text(&w, &r), "peer is basic") != NULL);
	tnode_free(&w.n);
}

TEST(trust_refusals_are_counted_and_named)
{
	struct world w;
	setup(&w, 0, false, TRUST_UNTRUSTED); /* the hub's word counts for nothing */
	tnode_tick(&w.n, 0);
	struct fact f;
	struct wl_endpoint ep;
	wl_endpoint_parse("203.0.113.9:51820", &ep);
	CHECK(fact_make_endpoint(&f, w.ppub, &ep, 255));
	from_r(&w, &f);
	from_r(&w, &f);
	tnode_tick(&w.n, 1 * S);
	struct engine_report r = report(&w);
	CHECK_EQ(r.n_cands, 0u);
	CHECK_EQ(r.why, REPORT_WHY_TRUST_REFUSED);
	CHECK_EQ(r.refused, 2u);
	CHECK_EQ(r.n_refused_by, 1u);
	CHECK(memcmp(r.refused_by[0].key, w.rpub, 32) == 0);
	CHECK_EQ(r.refused_by[0].count, 2u);
	CHECK_EQ(r.refused_by[0].had, TRUST_UNTRUSTED);
	CHECK_EQ(r.refused_by[0].need, TRUST_ENDPOINT);
	const char *t = text(&w, &r);
	CHECK_MSG(strstr(t, "trust refused 2 facts about it: 2 from hub (") &&
			  strstr(t, "(trusted Untrusted, needs Endpoint)"),
		  "%s", t);
	tnode_free(&w.n);
}

/* Refusals per source: the four that refused most are kept, most first;
 * a fifth source takes the place of the one that refused least. */
TEST(trust_refusals_per_source)
{
	struct world w;
	setup(&w, 0, false, TRUST_UNSET);
	tnode_tick(&w.n, 0);
	struct fact f;
	struct wl_endpoint ep;
	wl_endpoint_parse("203.0.113.9:51820", &ep);
	CHECK(fact_make_endpoint(&f, w.ppub, &ep, 255));
	/* Strangers (not in the device: Untrusted) S1..S5 tell 3, 1, 2, 2, 1. */
	const int told[5] = { 3, 1, 2, 2, 1 };
	uint8_t spriv[5][32], spub[5][32];
	for (int i = 0; i < 5; i++) {
		tkey(10 + (unsigned)i, spriv[i], spub[i]);
		for (int k = 0; k < told[i]; k++) {
			uint8_t buf[WIRE_MAX_DATAGRAM];
			size_t len = tseal(spriv[i], w.n.pub, &f, 1, buf, sizeof(buf));
			CHECK_EQ(treceive(&w.n, 0, spub[i], buf, len), ENGINE_RX_OK);
		}
	}
	struct engine_report r = report(&w);
	CHECK_EQ(r.why, REPORT_WHY_TRUST_REFUSED);
	CHECK_EQ(r.refused, 9u);
	CHECK_EQ(r.n_refused_by, 4u);
	const int want[4] = { 0, 2, 3, 4 }; /* S1 (3), S3 (2), S4 (2), S5 (1): S2 gave way */
	for (int i = 0; i < 4; i++) {
		CHECK_MSG(memcmp(r.refused_by[i].key, spub[want[i]], 32) == 0, "entry %d", i);
		CHECK_EQ(r.refused_by[i].count, (uint32_t)told[want[i]]);
		CHECK_EQ(r.refused_by[i].had, TRUST_UNTRUSTED);
		/* About a peer in our device an endpoint needs Endpoint trust. */
		CHECK_EQ(r.refused_by[i].need, TRUST_ENDPOINT);
	}
	CHECK_MSG(strstr(text(&w, &r), "trust refused 9 facts about it: 3 from "), "%s",
		  text(&w, &r));
	tnode_free(&w.n);
}

TEST(direct_after_a_handshake_counts_time_to_direct)
{
	struct world w;
	setup(&w, 2, false, TRUST_UNSET);
	tnode_tick(&w.n, 0);
	tnode_tick(&w.n, 1 * S); /* the first try (after the LAN wait) */
	const struct engine_stats *st = engine_get_stats(w.n.e);
	CHECK_EQ(st->went_direct, 0u);
	/* WireGuard completes a handshake with the first candidate 3 s in. */
	tnode_handshake(&w.n, w.ppub, 3 * S);
	tnode_tick(&w.n, 3 * S);
	struct engine_report r = report(&w);
	CHECK_EQ(r.path, REPORT_DIRECT);
	CHECK_EQ(r.why, REPORT_WHY_NONE);
	CHECK_EQ(report_why_text(&r, w.n.now, (char[8]){ 0 }, 8), 0u);
	CHECK_EQ(r.cands[r.cand_current].result, REPORT_CAND_WORKED);
	CHECK_EQ(st->went_direct, 1u);
	CHECK_EQ(st->ttd_count, 1u);
	CHECK_EQ(st->ttd_sum_ms, 3000u);
	/* 3 s: in the 5 s bucket (index 4), not below. */
	CHECK_EQ(st->ttd_bucket[4], 1u);
	CHECK_EQ(st->ttd_bucket[3], 0u);
	/* Handshakes stop: it falls back once the old one is stale. */
	int64_t stale = 3 * S + tdefault_timing()->handshake_validity_ms + 80 * S;
	tnode_handshake(&w.n, w.rpub, stale); /* the router stays */
	tnode_tick(&w.n, stale);
	r = report(&w);
	CHECK_EQ(r.path, REPORT_VIA);
	CHECK_EQ(st->fell_back, 1u);
	tnode_free(&w.n);
}

TEST(dead_path_is_named_with_its_retry)
{
	struct world w;
	setup_ep(&w, 0, false, TRUST_UNSET, "203.0.113.1:51820");
	/* P alive and direct on its endpoint, with the user's traffic... */
	uint8_t buf[WIRE_MAX_DATAGRAM], id[BOOT_ID_LEN] = { 5 };
	struct fact f;
	fact_make_alive(&f, w.ppub, id, 255);
	size_t len = tseal(w.ppriv, w.n.pub, &f, 1, buf, sizeof(buf));
	CHECK_EQ(treceive(&w.n, 0, w.ppub, buf, len), ENGINE_RX_OK);
	tnode_tick(&w.n, 0);
	struct wg_peer *dp = tnode_find(&w.n, w.ppub);
	int64_t last = 0;
	bool dead = false;
	for (int64_t t = engine_next_deadline(w.n.e); t < 30 * S && !dead;
	     t = engine_next_deadline(w.n.e)) {
		tnode_handshakes(&w.n, t);
		/* ... both ways for 10 s, then nothing comes back. */
		uint64_t rx = t < 10 * S ? 5 * (uint64_t)(t - last) : 0;
		tnode_traffic(&w.n, w.ppub, rx, 5 * (uint64_t)(t - last));
		last = t;
		tnode_tick(&w.n, t);
		dead = thas_event(&w.n, ENGINE_EV_PATH_DEAD, w.ppub);
	}
	CHECK(dp && dead);
	struct engine_report r = report(&w);
	CHECK_EQ(r.path, REPORT_VIA);
	CHECK_EQ(r.why, REPORT_WHY_PATH_DEAD);
	/* The dead endpoint is set again at once (apply.c) and probed. */
	CHECK(r.retry_at != ENGINE_NEVER && r.retry_at <= w.n.now);
	const char *t = text(&w, &r);
	CHECK_MSG(strstr(t, "path failed: 203.0.113.1:51820 answered no probe under traffic; "
			    "retrying now"),
		  "%s", t);
	/* Later, between retries, it says when the next one goes. */
	w.n.now += 100;
	r = report(&w);
	CHECK_EQ(r.why, REPORT_WHY_PATH_DEAD);
	CHECK(r.cands[0].result == REPORT_CAND_TRYING);
	tnode_free(&w.n);
}

static void count_report(void *ctx, const struct engine_report *r)
{
	int *n = ctx;
	CHECK(r->info.in_device || r->info.configured);
	(*n)++;
}

TEST(foreach_reports_device_and_configured_peers)
{
	struct world w;
	setup(&w, 0, false, TRUST_UNSET);
	tnode_tick(&w.n, 0);
	int n = 0;
	engine_foreach_report(w.n.e, w.n.now, count_report, &n);
	CHECK_EQ(n, 2); /* R and P */
	/* The metrics' cheap count agrees: R direct, P via R. */
	struct report_counts c;
	engine_count_paths(w.n.e, w.n.now, &c);
	CHECK_EQ(c.path[REPORT_DIRECT], 1u);
	CHECK_EQ(c.path[REPORT_VIA], 1u);
	CHECK_EQ(c.path[REPORT_DOWN], 0u);
	CHECK_EQ(c.healthy, 1u);
	tnode_free(&w.n);
}

/* P's place among the peer states and its digest (engine_peer_state_digest). */
static uint64_t digest_of(const struct engine *e, const uint8_t pub[32])
{
	for (size_t i = 0; i < engine_peer_count(e); i++) {
		uint8_t key[32];
		uint64_t d;
		CHECK(engine_peer_state_digest(e, i, key, &d));
		if (memcmp(key, pub, 32) == 0)
			return d;
	}
	CHECK(!"no such peer state");
	return 0;
}

TEST(peer_state_digest_moves_with_the_state)
{
	struct world w;
	setup(&w, 2, false, TRUST_UNSET);
	tnode_tick(&w.n, 0);
	tnode_tick(&w.n, 1 * S); /* the first try (after the LAN wait) */
	CHECK_EQ(engine_peer_count(w.n.e), 2u); /* R and P */
	uint8_t key[32];
	uint64_t d;
	CHECK(!engine_peer_state_digest(w.n.e, 2, key, &d));
	uint64_t before = digest_of(w.n.e, w.ppub);
	CHECK_EQ(digest_of(w.n.e, w.ppub), before); /* looking changes nothing */
	/* A handshake makes P healthy: its state moved. */
	tnode_handshake(&w.n, w.ppub, 3 * S);
	tnode_tick(&w.n, 3 * S);
	CHECK(report(&w).path == REPORT_DIRECT);
	CHECK(digest_of(w.n.e, w.ppub) != before);
	tnode_free(&w.n);
}
