/* SPEC §6: send level, what is sent, peer knowledge and Alive. */
#include <errno.h>
#include <string.h>

#include "core_fixture.h"
#include "harness.h"
#include "sys/log.h"
#include "wire/packet.h"
#include <sodium.h>

enum { N_ = 1, P_ = 2, Q_ = 3 };
static const char *const ETH[] = { "192.0.2.1/24", NULL };

struct level_case {
	const char *what;
	enum wl_trust p_trust;
	bool p_router, p_exchanger, chatty;
	int router; /* WL_YES / WL_NO */
	bool p_healthy;
	bool facts;
};

static const struct level_case levels[] = {
	{ "leaf to plain peer", TRUST_UNSET, false, false, false, WL_NO, true, false },
	{ "leaf to router", TRUST_UNSET, true, false, false, WL_NO, true, true },
	{ "leaf to router, unhealthy", TRUST_UNSET, true, false, false, WL_NO, false, true },
	{ "leaf to trusted AllowedIPs", TRUST_ALLOWED_IPS, false, false, false, WL_NO, false, true },
	{ "leaf to trusted Endpoint", TRUST_ENDPOINT, false, false, false, WL_NO, true, false },
	{ "leaf to fact exchanger", TRUST_UNSET, false, true, false, WL_NO, false, true },
	{ "chatty leaf, healthy", TRUST_UNSET, false, false, true, WL_NO, true, true },
	{ "chatty leaf, unhealthy", TRUST_UNSET, false, false, true, WL_NO, false, false },
	{ "router, healthy", TRUST_UNSET, false, false, false, WL_YES, true, true },
	{ "router, unhealthy", TRUST_UNSET, false, false, false, WL_YES, false, false },
};

TEST(send_level_table)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		const struct level_case *lc = &levels[i];
		struct tnode n;
		uint8_t ppriv[32], ppub[32];
		tkey(P_, ppriv, ppub);
		tnode_config(&n, N_);
		struct engine_peer_config pc = { .trust = lc->p_trust, .fact_exchanger = lc->p_exchanger,
						 .basic = WL_AUTO };
		memcpy(pc.public_key, ppub, 32);
		n.cfg.peers = &pc;
		n.cfg.n_peers = 1;
		n.cfg.chatty = lc->chatty;
		n.cfg.router = lc->router;
		tnode_iface(&n, "eth0", true, true, ETH);
		tnode_dev_peer(&n, ppub, "192.0.2.2:51820", lc->p_healthy ? 0 : ENGINE_NEVER);
		if (lc->p_router)
			tnode_allow(&n, ppub, "10.0.0.0/8");
		tnode_start(&n, 1000);
		tnode_tick(&n, 1000);
		int facts;
		bool alive;
		int dg = tsent_to(&n, ppub, &facts, &alive);
		CHECK_MSG(dg == 1 && alive, "%s: %d datagrams, alive %d", lc->what, dg, alive);
		CHECK_MSG((facts > 0) == lc->facts, "%s: %d facts sent", lc->what, facts);
		tnode_free(&n);
	}
}

/* A router N with peers P (healthy) and Q, wg0 and eth0. */
/* N, a router, with P and Q in its device; jitter_pct as in engine_timing
 * (-1 = the default). */
static void setup_jitter(struct tnode *n, uint8_t ppub[32], uint8_t qpub[32], int64_t q_hs,
			 int jitter_pct)
{
	uint8_t priv[32];
	tkey(P_, priv, ppub);
	tkey(Q_, priv, qpub);
	tnode_config(n, N_);
	if (jitter_pct >= 0)
		n->cfg.timing.jitter_pct = jitter_pct;
	n->cfg.router = WL_YES;
	tnode_iface(n, "eth0", true, true, ETH);
	tnode_dev_peer(n, ppub, "192.0.2.2:51820", 0);
	tnode_dev_peer(n, qpub, "192.0.2.3:51820", q_hs);
	tnode_allow(n, qpub, "10.7.0.0/24");
	tnode_start(n, 0);
}

static void setup(struct tnode *n, uint8_t ppub[32], uint8_t qpub[32], int64_t q_hs)
{
	setup_jitter(n, ppub, qpub, q_hs, -1);
}

TEST(offline_peers_not_advertised)
{
	struct tnode n;
	uint8_t ppub[32], qpub[32];
	setup(&n, ppub, qpub, ENGINE_NEVER);
	tnode_tick(&n, 0);
	CHECK(thas_fact(n.e, ATTR_ALLOWED_V4, qpub, "10.7.0.0/24"));
	CHECK_EQ(tsent_about(&n, ppub, qpub, 0), 0);
	CHECK(tsent_about(&n, ppub, n.pub, ATTR_ENDPOINT_V4) == 1); /* about ourselves: yes */
	/* Q becomes healthy: now it is advertised. */
	tnode_handshake(&n, qpub, 4000);
	tnode_tick(&n, 5000);
	CHECK(tsent_about(&n, ppub, qpub, ATTR_ALLOWED_V4) == 1);
	CHECK(tsent_about(&n, ppub, qpub, ATTR_ENDPOINT_V4) == 1);
	tnode_free(&n);
}

TEST(recipient_hears_only_its_metadata)
{
	struct tnode n;
	uint8_t ppub[32], qpub[32];
	setup(&n, ppub, qpub, 0);
	tnode_tick(&n, 0);
	/* N knows P's endpoint and metadata; P gets only the metadata. */
	CHECK(thas_fact(n.e, ATTR_ENDPOINT_V4, ppub, "192.0.2.2:51820"));
	CHECK_EQ(tsent_about(&n, ppub, ppub, ATTR_ENDPOINT_V4), 0);
	CHECK_EQ(tsent_about(&n, ppub, ppub, ATTR_MEMBER_META), 1);
	CHECK_EQ(tsent_about(&n, ppub, qpub, ATTR_MEMBER_META), 1);
	tnode_free(&n);
}

/* [ours] A leaf that probes us runs this daemon: from then on it is also
 * told the endpoint we see it at (its NAT's public address, which it
 * cannot learn otherwise). An original peer never is, nor a router. */
TEST(peer_of_ours_hears_where_we_see_it)
{
	struct tnode n;
	uint8_t ppub[32], qpub[32];
	setup(&n, ppub, qpub, 0);
	tnode_tick(&n, 0);
	CHECK_EQ(tsent_about(&n, ppub, ppub, ATTR_ENDPOINT_V4), 0);
	uint8_t probe[ENGINE_PROBE_LEN];
	size_t len = tprobe(ENGINE_PROBE_REQUEST, 1, ppub, probe);
	CHECK_EQ(treceive_probe(&n, 100, ppub, probe, len), ENGINE_RX_PROBE);
	tnode_tick(&n, engine_next_deadline(n.e));
	CHECK_EQ(tsent_about(&n, ppub, ppub, ATTR_ENDPOINT_V4), 1);
	CHECK_EQ(tsent_about(&n, qpub, qpub, ATTR_ENDPOINT_V4), 0); /* Q never probed */
	/* Q (a router: 10.7.0.0/24) probes too: ours, but a router is not
	 * told (it picks no candidates by site). */
	len = tprobe(ENGINE_PROBE_REQUEST, 1, qpub, probe);
	int64_t t = n.now + 100;
	CHECK_EQ(treceive_probe(&n, t, qpub, probe, len), ENGINE_RX_PROBE);
	tnode_tick(&n, engine_next_deadline(n.e));
	CHECK_EQ(tsent_about(&n, qpub, qpub, ATTR_ENDPOINT_V4), 0);
	tnode_free(&n);
}

/* Ticks every 5 s from `from` to `to` with fresh handshakes; returns the
 * first tick time at which P got facts (or -1), and records when Alive-only
 * datagrams went out. */
static int64_t run_until_facts(struct tnode *n, const uint8_t ppub[32], int64_t from, int64_t to,
			       int64_t *first_alive)
{
	*first_alive = -1;
	for (int64_t t = from; t <= to; t += 5000) {
		tnode_handshakes(n, t);
		tnode_tick(n, t);
		int facts;
		bool alive;
		tsent_to(n, ppub, &facts, &alive);
		if (alive && *first_alive < 0)
			*first_alive = t;
		if (facts)
			return t;
	}
	return -1;
}

TEST(knowledge_resend_at_half_ttl_plus_chunk)
{
	struct tnode n;
	uint8_t ppub[32], qpub[32];
	/* The exact schedule: without jitter (jittered_periods tests that). */
	setup_jitter(&n, ppub, qpub, 0, 0);
	tnode_tick(&n, 0);
	int f0 = tsent_about(&n, ppub, NULL, 0);
	CHECK(f0 > 1);
	int64_t first_alive;
	/* Copies expire at 255 s; resent once that is within 127.5 + 5 s. */
	int64_t t = run_until_facts(&n, ppub, 5000, 200000, &first_alive);
	CHECK_EQ(t, 125000);
	/* In between only Alives went out: the first one when P's copy was
	 * within FactTTL - AlivePeriod of expiring (255 < t + 225). */
	CHECK_EQ(first_alive, 35000);
	tnode_free(&n);
}

/* Runs N at its own deadlines from 0 to `to` with fresh handshakes and
 * records the gaps between regular ticks and when P got an Alive that was
 * due (not one riding along with facts, which restarts the period). */
struct schedule {
	int n_gaps, n_alive;
	int64_t gap[256], alive[64];
	bool after_ride[64]; /* an Alive rode along since the previous one */
};

static void record_schedule(struct tnode *n, const uint8_t ppub[32], int64_t to,
			    struct schedule *s)
{
	memset(s, 0, sizeof(*s));
	int64_t last = -1;
	for (int64_t t = 0; t <= to; t = engine_next_deadline(n->e)) {
		tnode_handshakes(n, t);
		tnode_tick(n, t);
		if (last >= 0 && s->n_gaps < 256)
			s->gap[s->n_gaps++] = t - last;
		last = t;
		bool alive;
		int facts;
		tsent_to(n, ppub, &facts, &alive);
		if (alive && facts && s->n_alive < 64)
			s->after_ride[s->n_alive] = true;
		else if (alive && s->n_alive < 64)
			s->alive[s->n_alive++] = t;
	}
}

TEST(jittered_periods)
{
	const struct engine_timing *dt = tdefault_timing();
	const int64_t chunk = dt->chunk_period_ms, spread = chunk * dt->jitter_pct / 100;
	CHECK_EQ(dt->jitter_pct, 10);
	struct tnode n;
	uint8_t ppub[32], qpub[32];
	struct schedule s;
	/* Without jitter: a tick every ChunkPeriod, an Alive at the first
	 * tick after each AlivePeriod. */
	setup_jitter(&n, ppub, qpub, 0, 0);
	record_schedule(&n, ppub, 600000, &s);
	CHECK(s.n_gaps > 100);
	for (int i = 0; i < s.n_gaps; i++)
		CHECK_EQ(s.gap[i], chunk);
	for (int i = 1; i < s.n_alive; i++)
		if (!s.after_ride[i])
			CHECK_EQ(s.alive[i] - s.alive[i - 1], dt->alive_period_ms + chunk);
	tnode_free(&n);
	/* With it: every regular tick ChunkPeriod ± 10 % after the last, the
	 * gaps spread over that band; so the Alives drift too, but each still
	 * comes at the first tick after AlivePeriod. */
	setup_jitter(&n, ppub, qpub, 0, -1);
	record_schedule(&n, ppub, 600000, &s);
	CHECK(s.n_gaps > 100);
	int64_t lo = INT64_MAX, hi = 0;
	for (int i = 0; i < s.n_gaps; i++) {
		CHECK_MSG(s.gap[i] >= chunk - spread && s.gap[i] <= chunk + spread, "tick gap %lld ms",
			  (long long)s.gap[i]);
		lo = s.gap[i] < lo ? s.gap[i] : lo;
		hi = s.gap[i] > hi ? s.gap[i] : hi;
	}
	CHECK_MSG(hi - lo >= spread, "tick gaps %lld..%lld ms: not spread", (long long)lo,
		  (long long)hi);
	int distinct = 0;
	for (int i = 1; i < s.n_alive; i++) {
		if (s.after_ride[i])
			continue;
		int64_t g = s.alive[i] - s.alive[i - 1];
		CHECK_MSG(g > dt->alive_period_ms && g <= dt->alive_period_ms + chunk + spread,
			  "Alive gap %lld ms", (long long)g);
		distinct += i > 1 && !s.after_ride[i - 1] && g != s.alive[i - 1] - s.alive[i - 2];
	}
	CHECK(s.n_alive > 10 && distinct > 0);
	tnode_free(&n);
}

TEST(alive_rides_along_only_when_free)
{
	struct tnode n;
	uint8_t ppub[32], qpub[32];
	setup(&n, ppub, qpub, 0);
	tnode_tick(&n, 0);
	/* A new address at 10 s: its fact goes out with an Alive riding along. */
	static const char *const more[] = { "203.0.113.1/24", NULL };
	tnode_iface(&n, "eth1", true, true, more);
	tnode_handshakes(&n, 10000);
	tnode_tick(&n, 10000);
	int facts;
	bool alive;
	CHECK_EQ(tsent_to(&n, ppub, &facts, &alive), 1);
	CHECK_EQ(facts, 1);
	CHECK(alive);
	/* Nothing new and Alive not due: nothing at all. */
	tnode_tick(&n, 15000);
	CHECK_EQ(tsent_to(&n, ppub, &facts, &alive), 0);
	tnode_free(&n);
}

static size_t alive_from(const uint8_t priv[32], const uint8_t to[32], uint8_t boot, uint8_t *buf)
{
	uint8_t pub[32], id[BOOT_ID_LEN] = { boot };
	crypto_scalarmult_base(pub, priv);
	struct fact f;
	fact_make_alive(&f, pub, id, 255);
	return tseal(priv, to, &f, 1, buf, WIRE_MAX_DATAGRAM);
}

TEST(boot_id_change_forgets_knowledge)
{
	struct tnode n;
	uint8_t ppub[32], qpub[32], ppriv[32], buf[WIRE_MAX_DATAGRAM];
	setup(&n, ppub, qpub, 0);
	tkey(P_, ppriv, ppub);
	tnode_tick(&n, 0);
	int all = tsent_about(&n, ppub, NULL, 0);
	/* First Alive from P: forget what P was believed to know. */
	size_t len = alive_from(ppriv, n.pub, 1, buf);
	CHECK_EQ(treceive(&n, 1000, ppub, buf, len), ENGINE_RX_OK);
	CHECK(engine_next_deadline(n.e) <= 1000 + 100); /* reacts at once */
	tnode_tick(&n, 1100);
	CHECK(thas_event(&n, ENGINE_EV_PEER_BOOT, ppub));
	CHECK_EQ(tsent_about(&n, ppub, NULL, 0), all);
	/* Same boot id again: nothing to resend. */
	len = alive_from(ppriv, n.pub, 1, buf);
	treceive(&n, 2000, ppub, buf, len);
	tnode_tick(&n, 5000);
	CHECK_EQ(tsent_about(&n, ppub, NULL, 0), 0);
	/* P restarted: everything again. */
	len = alive_from(ppriv, n.pub, 2, buf);
	treceive(&n, 6000, ppub, buf, len);
	tnode_tick(&n, 7000);
	CHECK_EQ(tsent_about(&n, ppub, NULL, 0), all);
	tnode_free(&n);
}

/* [ours] What a new boot id made us send goes once more a chunk later: a
 * lost datagram of the first pass would otherwise wait FactTTL/2 for the
 * knowledge rule. Then nothing until the usual refresh. */
TEST(boot_id_change_sends_everything_twice)
{
	struct tnode n;
	uint8_t ppub[32], qpub[32], ppriv[32], buf[WIRE_MAX_DATAGRAM];
	setup(&n, ppub, qpub, 0);
	tkey(P_, ppriv, ppub);
	tnode_tick(&n, 0);
	int all = tsent_about(&n, ppub, NULL, 0);
	CHECK(all > 0);
	size_t len = alive_from(ppriv, n.pub, 1, buf);
	CHECK_EQ(treceive(&n, 1000, ppub, buf, len), ENGINE_RX_OK);
	tnode_tick(&n, 1100);
	CHECK_EQ(tsent_about(&n, ppub, NULL, 0), all);
	const int64_t chunk = tdefault_timing()->chunk_period_ms;
	tnode_tick(&n, 1000 + chunk - 100); /* not yet */
	CHECK_EQ(tsent_about(&n, ppub, NULL, 0), 0);
	tnode_tick(&n, 1000 + chunk);
	CHECK_EQ(tsent_about(&n, ppub, NULL, 0), all);
	tnode_tick(&n, 1000 + 2 * chunk);
	tnode_tick(&n, 1000 + 3 * chunk);
	CHECK_EQ(tsent_about(&n, ppub, NULL, 0), 0);
	tnode_free(&n);
}

TEST(facts_the_peer_told_us_are_not_echoed)
{
	struct tnode n;
	uint8_t ppub[32], qpub[32], ppriv[32], buf[WIRE_MAX_DATAGRAM];
	tkey(P_, ppriv, ppub);
	/* Q is healthy: its endpoint is a local fact at N. P tells N the same
	 * fact first; N must not send it back. */
	setup(&n, ppub, qpub, 0);
	struct fact f;
	struct wl_endpoint ep;
	wl_endpoint_parse("192.0.2.3:51820", &ep);
	fact_make_endpoint(&f, qpub, &ep, 255);
	size_t len = tseal(ppriv, n.pub, &f, 1, buf, sizeof(buf));
	CHECK_EQ(treceive(&n, 0, ppub, buf, len), ENGINE_RX_OK);
	tnode_tick(&n, 10);
	CHECK_EQ(tsent_about(&n, ppub, qpub, ATTR_ENDPOINT_V4), 0);
	CHECK(tsent_about(&n, ppub, qpub, ATTR_ALLOWED_V4) == 1);
	tnode_free(&n);
}

/* Tells n a fact from the peer with private key `priv`, at `now`. */
static void tell(struct tnode *n, int64_t now, const uint8_t priv[32], const struct fact *f)
{
	uint8_t pub[32], buf[WIRE_MAX_DATAGRAM];
	crypto_scalarmult_base(pub, priv);
	size_t len = tseal(priv, n->pub, f, 1, buf, sizeof(buf));
	CHECK_EQ(treceive(n, now, pub, buf, len), ENGINE_RX_OK);
}

static void endpoint_fact(struct fact *f, const uint8_t subject[32], const char *ep)
{
	struct wl_endpoint e;
	CHECK(wl_endpoint_parse(ep, &e));
	CHECK(fact_make_endpoint(f, subject, &e, 255));
}

/* [ours] A router that sees Q itself, on a fresh handshake, at its NAT's
 * address and port 1000 does not pass on another leaf's report of the
 * same address at port 2000: Q's NAT gave it a new port, and the report
 * lasts until the reporter's own handshake goes stale. What Q says of
 * itself is passed on, and an original peer hears everything as before. */
TEST(a_router_does_not_pass_on_a_port_a_peer_has_left)
{
	enum { R_ = 4, S_ = 5 };
	struct tnode n;
	uint8_t ppub[32], qpub[32], rpub[32], spub[32], qpriv[32], rpriv[32], priv[32];
	tkey(P_, priv, ppub);
	tkey(Q_, qpriv, qpub);
	tkey(R_, rpriv, rpub);
	tkey(S_, priv, spub);
	tnode_config(&n, N_);
	n.cfg.router = WL_YES;
	tnode_iface(&n, "eth0", true, true, ETH);
	tnode_dev_peer(&n, ppub, "192.0.2.2:51820", 0);
	tnode_dev_peer(&n, qpub, "203.0.113.5:1000", 0);
	tnode_dev_peer(&n, rpub, "192.0.2.4:51820", 0);
	tnode_dev_peer(&n, spub, "192.0.2.5:51820", 0);
	tnode_start(&n, 0);
	tnode_tick(&n, 0);
	int seen = tsent_value(&n, ppub, qpub, ATTR_ENDPOINT_V4, "203.0.113.5:1000");
	uint8_t probe[ENGINE_PROBE_LEN];
	size_t len = tprobe(ENGINE_PROBE_REQUEST, 1, ppub, probe);
	CHECK_EQ(treceive_probe(&n, 50, ppub, probe, len), ENGINE_RX_PROBE);
	struct fact f;
	endpoint_fact(&f, qpub, "203.0.113.5:2000");
	tell(&n, 100, rpriv, &f);
	endpoint_fact(&f, qpub, "203.0.113.5:3000");
	tell(&n, 100, qpriv, &f);
	CHECK(thas_fact(n.e, ATTR_ENDPOINT_V4, qpub, "203.0.113.5:2000"));
	int old_port = 0, said = 0, to_original = 0;
	for (int64_t t = 5000; t <= 30000; t += 5000) {
		tnode_handshakes(&n, t);
		tnode_tick(&n, t);
		seen += tsent_value(&n, ppub, qpub, ATTR_ENDPOINT_V4, "203.0.113.5:1000");
		old_port += tsent_value(&n, ppub, qpub, ATTR_ENDPOINT_V4, "203.0.113.5:2000");
		said += tsent_value(&n, ppub, qpub, ATTR_ENDPOINT_V4, "203.0.113.5:3000");
		to_original += tsent_value(&n, spub, qpub, ATTR_ENDPOINT_V4, "203.0.113.5:2000");
	}
	CHECK(seen >= 1);
	CHECK_EQ(old_port, 0);
	CHECK(said >= 1);
	CHECK(to_original >= 1);
	tnode_free(&n);
}

/* [ours] Q reports to its router N where it sees P (P's LAN address, on
 * a fresh handshake), then P tells N the same of itself. The copy is
 * P's now: once Q's report is gone, Q still hears P's own word from N —
 * were it charged to Q still, N would never tell it to Q (an echo), and Q
 * would lose P's LAN address while everyone else kept it. */
TEST(a_peers_own_word_is_told_to_one_that_reported_the_same)
{
	struct tnode n;
	uint8_t ppub[32], qpub[32], ppriv[32], qpriv[32];
	tkey(P_, ppriv, ppub);
	tkey(Q_, qpriv, qpub);
	tnode_config(&n, N_);
	n.cfg.router = WL_YES;
	tnode_iface(&n, "eth0", true, true, ETH);
	tnode_dev_peer(&n, ppub, "203.0.113.7:1000", 0);
	tnode_dev_peer(&n, qpub, "203.0.113.7:2000", 0);
	tnode_start(&n, 0);
	tnode_tick(&n, 0);
	struct fact f;
	endpoint_fact(&f, ppub, "192.168.100.7:51820");
	tell(&n, 100, qpriv, &f);
	tell(&n, 200, ppriv, &f);
	int told = 0;
	for (int64_t t = 5000; t <= 300000; t += 5000) {
		tnode_handshakes(&n, t);
		tnode_tick(&n, t);
		told += tsent_value(&n, qpub, ppub, ATTR_ENDPOINT_V4, "192.168.100.7:51820");
	}
	CHECK(told >= 1);
	tnode_free(&n);
}

/* [ours] Refreshes (SPEC §6 mode) never tell a peer back what it told us:
 * a leaf told by its router where others see it does not say it back,
 * or a router that restarted would take it for the leaf's own word. */
TEST(a_leaf_does_not_tell_its_router_back_what_it_was_told)
{
	struct tnode n;
	uint8_t hpub[32], hpriv[32];
	tkey(P_, hpriv, hpub);
	tnode_config(&n, N_);
	n.cfg.router = WL_NO;
	tnode_iface(&n, "eth0", true, true, ETH);
	tnode_dev_peer(&n, hpub, "192.0.2.2:51820", 0);
	tnode_allow(&n, hpub, "10.7.0.0/24");
	tnode_start(&n, 0);
	tnode_tick(&n, 0);
	CHECK_EQ(tsent_value(&n, hpub, n.pub, ATTR_ENDPOINT_V4, "192.0.2.1:51820"), 1);
	bool own = false;
	struct fact f;
	uint8_t boot[BOOT_ID_LEN] = { 1 };
	fact_make_alive(&f, hpub, boot, 255);
	tell(&n, 100, hpriv, &f);
	endpoint_fact(&f, n.pub, "203.0.113.9:4000");
	tell(&n, 100, hpriv, &f);
	CHECK(thas_fact(n.e, ATTR_ENDPOINT_V4, n.pub, "203.0.113.9:4000"));
	/* The router restarts: it keeps nothing, and we tell it all again. */
	boot[0] = 2;
	fact_make_alive(&f, hpub, boot, 255);
	tell(&n, 1000, hpriv, &f);
	for (int64_t t = 5000; t <= 60000; t += 5000) {
		tnode_handshakes(&n, t);
		tnode_tick(&n, t);
		CHECK_EQ(tsent_value(&n, hpub, n.pub, ATTR_ENDPOINT_V4, "203.0.113.9:4000"), 0);
		own = own || tsent_value(&n, hpub, n.pub, ATTR_ENDPOINT_V4, "192.0.2.1:51820") == 1;
	}
	CHECK(own); /* what it sees itself is told again */
	tnode_free(&n);
}

/* [ours] An Alive whose ttl asks for ours (a dormant offer from a peer
 * that has not heard our Alive, core/engine_internal.h) is answered at
 * once, though the peer was told recently; the plain dormant ttl is not. */
TEST(an_alive_that_asks_for_ours_is_answered)
{
	struct tnode n;
	uint8_t ppub[32], qpub[32], ppriv[32], boot[BOOT_ID_LEN] = { 1 };
	setup(&n, ppub, qpub, 0);
	tkey(P_, ppriv, ppub);
	tnode_tick(&n, 0);
	CHECK_EQ(tsent_about(&n, ppub, n.pub, ATTR_ALIVE), 1);
	tnode_handshakes(&n, 5000);
	tnode_tick(&n, 5000);
	CHECK_EQ(tsent_about(&n, ppub, n.pub, ATTR_ALIVE), 0);
	/* Its first Alive is answered anyway (it was not alive here). */
	struct fact f;
	fact_make_alive(&f, ppub, boot, 255);
	tell(&n, 6000, ppriv, &f);
	tnode_tick(&n, engine_next_deadline(n.e));
	CHECK_EQ(tsent_about(&n, ppub, n.pub, ATTR_ALIVE), 1);
	fact_make_alive(&f, ppub, boot, 65535);
	tell(&n, n.now + 100, ppriv, &f);
	tnode_tick(&n, engine_next_deadline(n.e));
	CHECK_EQ(tsent_about(&n, ppub, n.pub, ATTR_ALIVE), 0);
	fact_make_alive(&f, ppub, boot, 65534);
	tell(&n, n.now + 100, ppriv, &f);
	int64_t t = engine_next_deadline(n.e);
	CHECK(t - n.now <= tdefault_timing()->react_delay_ms + 100);
	tnode_tick(&n, t);
	CHECK_EQ(tsent_about(&n, ppub, n.pub, ATTR_ALIVE), 1);
	tnode_free(&n);
}

TEST(packing_never_exceeds_1212_bytes)
{
	/* 80 configured peers with 5 AllowedIPs each, all healthy in the
	 * device: hundreds of facts for one recipient. */
	enum { NP = 80, NA = 5 };
	static struct engine_peer_config pc[NP];
	static struct wl_cidr allowed[NP][NA];
	static uint8_t keys[NP][32];
	struct tnode n;
	tnode_config(&n, N_);
	n.cfg.router = WL_YES;
	memset(pc, 0, sizeof(pc));
	for (int i = 0; i < NP; i++) {
		uint8_t priv[32];
		tkey(100 + (unsigned)i, priv, keys[i]);
		memcpy(pc[i].public_key, keys[i], 32);
		pc[i].name = "peer-with-name";
		pc[i].basic = WL_AUTO;
		for (int j = 0; j < NA; j++) {
			char s[32];
			snprintf(s, sizeof(s), "10.%d.%d.0/24", i, j);
			wl_cidr_parse(s, &allowed[i][j]);
		}
		pc[i].allowed_ips = allowed[i];
		pc[i].n_allowed = NA;
	}
	n.cfg.peers = pc;
	n.cfg.n_peers = NP;
	uint8_t ppub[32], ppriv[32];
	tkey(P_, ppriv, ppub);
	tnode_iface(&n, "eth0", true, true, ETH);
	tnode_dev_peer(&n, ppub, "192.0.2.2:51820", 0);
	/* Alive keys must be "alive or healthy" to be advertised: mark them
	 * healthy in the device (no room for 80 in the fixture: use 15). */
	for (int i = 0; i < 15; i++)
		tnode_dev_peer(&n, keys[i], "192.0.2.9:51820", 0);
	tnode_start(&n, 0);
	tnode_tick(&n, 0);
	int total = 0, dgs = 0;
	for (size_t i = 0; i < n.act->n_send; i++) {
		const struct engine_datagram *d = &n.act->send[i];
		CHECK(d->len <= WIRE_MAX_DATAGRAM);
		if (memcmp(d->peer, ppub, 32) == 0)
			dgs++;
	}
	total = tsent_about(&n, ppub, NULL, 0);
	CHECK(dgs >= 3);
	CHECK(total >= 15 * (NA + 1) + 1);
	/* Every one of them authenticates at a receiver. */
	struct tnode p;
	tnode_config(&p, P_);
	tnode_dev_peer(&p, n.pub, "192.0.2.1:51820", 0);
	tnode_start(&p, 0);
	tnode_tick(&p, 0);
	CHECK_EQ(tdeliver(&n, &p, 1), dgs);
	CHECK_EQ(engine_get_stats(p.e)->rx_ok, (uint64_t)dgs);
	CHECK_EQ(engine_get_stats(p.e)->rx_facts, (uint64_t)total);
	tnode_free(&p);
	tnode_free(&n);
}

/* ---- the driver's account of failed sends ---- */

struct caught_lines {
	size_t n;
	char line[16][200];
};

static void catch_line(void *ctx, enum log_level level, const char *line)
{
	struct caught_lines *c = ctx;
	(void)level;
	if (c->n < 16)
		snprintf(c->line[c->n], sizeof(c->line[0]), "%s", line);
	c->n++;
}

static size_t count_lines(const struct caught_lines *c, const char *part)
{
	size_t k = 0;
	for (size_t i = 0; i < c->n && i < 16; i++)
		k += strstr(c->line[i], part) != NULL;
	return k;
}

/* Sending that keeps failing for a reason of ours (the address gone) is
 * one line when it starts, one a minute while it lasts (however many
 * datagrams fail), one when it ends; "no path right now" stays quiet. */
TEST(driver_send_failures_are_a_streak)
{
	uint8_t ppriv[32], ppub[32];
	tkey(P_, ppriv, ppub);
	struct tnode n;
	tnode_config(&n, N_);
	tnode_iface(&n, "eth0", true, true, ETH);
	tnode_dev_peer(&n, ppub, "192.0.2.2:51820", 0);
	tnode_allow(&n, ppub, "10.0.0.0/8");
	tnode_start(&n, 0);
	struct caught_lines c = { 0 };
	log_set_sink(catch_line, &c);
	int err = 0;
	int64_t since = 0;

	n.send_err = -EHOSTUNREACH; /* no path: counted, never logged */
	for (int64_t t = 0; t <= 60000; t += 5000) {
		tnode_handshakes(&n, t);
		tnode_tick(&n, t);
	}
	CHECK_EQ(c.n, 0);
	CHECK(!driver_tx_failing(n.drv, &err, &since));
	CHECK(driver_get_stats(n.drv)->tx_unreachable > 0);

	n.send_err = -EADDRNOTAVAIL;
	uint64_t sent_before = driver_get_stats(n.drv)->tx_errors;
	for (int64_t t = 65000; t <= 65000 + 190000; t += 5000) {
		tnode_handshakes(&n, t);
		tnode_tick(&n, t);
		if (t == 70000) /* a new boot id: its Alive goes out (and fails) */
			engine_rejoin(n.e, t, "test");
	}
	uint64_t failed = driver_get_stats(n.drv)->tx_errors - sent_before;
	CHECK(failed >= 6); /* Alives at least every 35 s, and the rejoin's */
	CHECK(driver_tx_failing(n.drv, &err, &since));
	CHECK_EQ(err, EADDRNOTAVAIL);
	CHECK(since >= 65000 && since <= 100000);
	CHECK_EQ(count_lines(&c, "sending on wg0 fails: Cannot assign requested address (to "), 1);
	CHECK_EQ(count_lines(&c, " at fe80:"), 1); /* the peer named, then its auto address */
	/* 190 s of failures: at most one summary a minute, at least two. */
	size_t summaries = count_lines(&c, "sending on wg0 still fails: Cannot assign requested address; ");
	CHECK_MSG(summaries >= 2 && summaries <= 3, "%zu summaries", summaries);
	CHECK_EQ(c.n, 1 + summaries);

	n.send_err = 0;
	int64_t t = 260000;
	while (c.n == 1 + summaries && t < 400000) {
		tnode_handshakes(&n, t);
		tnode_tick(&n, t);
		t += 5000;
	}
	CHECK(!driver_tx_failing(n.drv, &err, &since));
	CHECK_EQ(count_lines(&c, "sending on wg0 works again, "), 1);
	CHECK_EQ(count_lines(&c, " s after the first failure ("), 1);
	CHECK(count_lines(&c, " datagrams lost)") == 1);
	log_set_sink(NULL, NULL);
	tnode_free(&n);
}
