/* SPEC §4, §7, §8: expiry, boot ids, liveness and health over time. */
#include <string.h>

#include "core_fixture.h"
#include "harness.h"

enum { N_ = 1, P_ = 2 };
#define S 1000

/* N with router P in its device, started and ticked at 0; jitter_pct as
 * in engine_timing (-1 = the default). */
static void setup_jitter(struct tnode *n, uint8_t ppriv[32], uint8_t ppub[32],
			 const char *const *eth, int jitter_pct)
{
	tkey(P_, ppriv, ppub);
	tnode_config(n, N_);
	if (jitter_pct >= 0)
		n->cfg.timing.jitter_pct = jitter_pct;
	tnode_iface(n, "eth0", true, true, eth);
	/* P routes 10.0.0.0/8: trusted for AllowedIPs by route. */
	tnode_dev_peer(n, ppub, "192.0.2.2:51820", 0);
	tnode_allow(n, ppub, "10.0.0.0/8");
	tnode_start(n, 0);
	tnode_tick(n, 0);
}

static void setup(struct tnode *n, uint8_t ppriv[32], uint8_t ppub[32], const char *const *eth)
{
	setup_jitter(n, ppriv, ppub, eth, -1);
}

static void tell(struct tnode *n, const uint8_t ppriv[32], const uint8_t ppub[32], int64_t now,
		 const struct fact *f, size_t k)
{
	uint8_t buf[WIRE_MAX_DATAGRAM];
	size_t len = tseal(ppriv, n->pub, f, k, buf, sizeof(buf));
	CHECK_EQ(treceive(n, now, ppub, buf, len), ENGINE_RX_OK);
}

/* Ticks every 5 s with a fresh handshake for peer 0. */
static void run(struct tnode *n, int64_t from, int64_t to)
{
	for (int64_t t = from; t <= to; t += 5 * S) {
		tnode_handshakes(n, t);
		tnode_tick(n, t);
	}
}

TEST(received_facts_expire)
{
	static const char *const eth[] = { "192.0.2.1/24", NULL };
	struct tnode n;
	uint8_t ppriv[32], ppub[32], boot0[BOOT_ID_LEN], boot1[BOOT_ID_LEN];
	setup(&n, ppriv, ppub, eth);
	engine_boot_id(n.e, boot0);
	struct fact f;
	struct wl_endpoint ep;
	wl_endpoint_parse("203.0.113.5:4000", &ep);
	fact_make_endpoint(&f, ppub, &ep, 20);
	tell(&n, ppriv, ppub, 1 * S, &f, 1);
	CHECK(thas_fact(n.e, ATTR_ENDPOINT_V4, ppub, "203.0.113.5:4000"));
	run(&n, 5 * S, 20 * S);
	CHECK(thas_fact(n.e, ATTR_ENDPOINT_V4, ppub, "203.0.113.5:4000"));
	run(&n, 25 * S, 25 * S);
	CHECK(!thas_fact(n.e, ATTR_ENDPOINT_V4, ppub, "203.0.113.5:4000"));
	CHECK(engine_get_stats(n.e)->facts_expired >= 1);
	/* An expiring endpoint does not change the boot id. */
	engine_boot_id(n.e, boot1);
	CHECK_MEM(boot0, boot1, BOOT_ID_LEN);
	tnode_free(&n);
}

TEST(allowed_cidr_expiry_renews_boot_id)
{
	static const char *const eth[] = { "192.0.2.1/24", NULL };
	struct tnode n;
	uint8_t ppriv[32], ppub[32], boot0[BOOT_ID_LEN], boot1[BOOT_ID_LEN];
	setup(&n, ppriv, ppub, eth);
	engine_boot_id(n.e, boot0);
	struct fact f;
	struct wl_cidr c;
	wl_cidr_parse("10.9.0.0/16", &c);
	fact_make_cidr(&f, ppub, &c, 10);
	tell(&n, ppriv, ppub, 1 * S, &f, 1);
	CHECK(thas_fact(n.e, ATTR_ALLOWED_V4, ppub, "10.9.0.0/16"));
	run(&n, 5 * S, 15 * S);
	CHECK(!thas_fact(n.e, ATTR_ALLOWED_V4, ppub, "10.9.0.0/16"));
	engine_boot_id(n.e, boot1);
	CHECK(memcmp(boot0, boot1, BOOT_ID_LEN) != 0);
	CHECK(thas_event(&n, ENGINE_EV_BOOT_ID, NULL) || engine_get_stats(n.e)->boot_id_changes == 1);
	CHECK_EQ(engine_get_stats(n.e)->boot_id_changes, 1);
	tnode_free(&n);
}

TEST(local_facts_vanish_at_once)
{
	static const char *const eth[] = { "192.0.2.1/24", "203.0.113.1/24", NULL };
	struct tnode n;
	uint8_t ppriv[32], ppub[32];
	setup(&n, ppriv, ppub, eth);
	CHECK(thas_fact(n.e, ATTR_ENDPOINT_V4, n.pub, "203.0.113.1:51820"));
	n.ifaces[0].n_addrs = 1;
	run(&n, 5 * S, 5 * S);
	CHECK(!thas_fact(n.e, ATTR_ENDPOINT_V4, n.pub, "203.0.113.1:51820"));
	CHECK(thas_fact(n.e, ATTR_ENDPOINT_V4, n.pub, "192.0.2.1:51820"));
	/* A down or unreported interface reports nothing. */
	n.ifaces[0].up = false;
	run(&n, 10 * S, 10 * S);
	CHECK(!thas_fact(n.e, ATTR_ENDPOINT_V4, n.pub, "192.0.2.1:51820"));
	n.ifaces[0].up = true;
	n.ifaces[0].report = false;
	run(&n, 15 * S, 15 * S);
	CHECK(!thas_fact(n.e, ATTR_ENDPOINT_V4, n.pub, "192.0.2.1:51820"));
	tnode_free(&n);
}

TEST(clock_jumps_renew_boot_id)
{
	static const char *const eth[] = { "192.0.2.1/24", NULL };
	struct tnode n;
	uint8_t ppriv[32], ppub[32], b0[BOOT_ID_LEN], b1[BOOT_ID_LEN], b2[BOOT_ID_LEN];
	setup(&n, ppriv, ppub, eth);
	engine_boot_id(n.e, b0);
	run(&n, 5 * S, 10 * S);
	engine_clock_jump(n.e, 11 * S);
	CHECK(engine_next_deadline(n.e) <= 11 * S + 100);
	engine_boot_id(n.e, b1);
	CHECK(memcmp(b0, b1, BOOT_ID_LEN) != 0);
	/* More than two chunk periods between ticks (suspend). */
	run(&n, 15 * S, 15 * S);
	run(&n, 60 * S, 60 * S);
	engine_boot_id(n.e, b2);
	CHECK(memcmp(b1, b2, BOOT_ID_LEN) != 0);
	CHECK(thas_event(&n, ENGINE_EV_BOOT_ID, NULL));
	CHECK_EQ(engine_get_stats(n.e)->boot_id_changes, 2);
	/* The new boot id reaches the peer at once, though its Alive was
	 * not due yet. */
	bool alive;
	CHECK_EQ(tsent_to(&n, ppub, NULL, &alive), 1);
	CHECK(alive);
	tnode_free(&n);
}

/* [ours] After the shell was deaf (its address gone), a new boot id asks
 * every peer to resend everything, and our Alive with it goes out at the
 * next tick, pulled in. */
TEST(rejoin_renews_boot_id_at_once)
{
	static const char *const eth[] = { "192.0.2.1/24", NULL };
	struct tnode n;
	uint8_t ppriv[32], ppub[32], b0[BOOT_ID_LEN], b1[BOOT_ID_LEN];
	setup(&n, ppriv, ppub, eth);
	engine_boot_id(n.e, b0);
	run(&n, 5 * S, 10 * S);
	engine_rejoin(n.e, 12 * S, "our address was gone");
	CHECK(engine_next_deadline(n.e) <= 12 * S + n.cfg.timing.react_delay_ms);
	engine_boot_id(n.e, b1);
	CHECK(memcmp(b0, b1, BOOT_ID_LEN) != 0);
	tnode_tick(&n, engine_next_deadline(n.e));
	CHECK(thas_event(&n, ENGINE_EV_BOOT_ID, NULL));
	bool found = false;
	for (size_t i = 0; i < n.act->n_events; i++)
		found |= n.act->events[i].kind == ENGINE_EV_BOOT_ID &&
			 strstr(n.act->events[i].text, ": our address was gone") != NULL;
	CHECK(found);
	bool alive;
	CHECK_EQ(tsent_to(&n, ppub, NULL, &alive), 1);
	CHECK(alive);
	CHECK_EQ(engine_get_stats(n.e)->boot_id_changes, 1);
	tnode_free(&n);
}

TEST(liveness_events_and_alive_since)
{
	static const char *const eth[] = { "192.0.2.1/24", NULL };
	struct tnode n;
	uint8_t ppriv[32], ppub[32], id[BOOT_ID_LEN] = { 1 };
	setup(&n, ppriv, ppub, eth);
	struct fact f;
	fact_make_alive(&f, ppub, id, 30);
	tell(&n, ppriv, ppub, 2 * S, &f, 1);
	run(&n, 5 * S, 5 * S);
	CHECK(thas_event(&n, ENGINE_EV_ALIVE, ppub));
	CHECK(thas_event(&n, ENGINE_EV_PEER_BOOT, ppub));
	struct engine_peer_info pi;
	CHECK(engine_peer_info(n.e, ppub, 5 * S, &pi));
	/* Became healthy and alive as seen by the tick after the Alive. */
	CHECK_EQ(pi.alive_since_ms, 5 * S);
	CHECK_EQ(pi.alive_until_ms, 32 * S);
	run(&n, 10 * S, 30 * S);
	CHECK(!thas_event(&n, ENGINE_EV_DEAD, ppub));
	run(&n, 35 * S, 35 * S);
	CHECK(thas_event(&n, ENGINE_EV_DEAD, ppub));
	/* Back, same boot id: alive_since moves to when it became healthy
	 * and alive again. */
	tell(&n, ppriv, ppub, 36 * S, &f, 1);
	run(&n, 40 * S, 40 * S);
	CHECK(engine_peer_info(n.e, ppub, 40 * S, &pi) && pi.alive);
	CHECK_EQ(pi.alive_since_ms, 40 * S);
	tnode_free(&n);
}

TEST(health_from_handshakes)
{
	static const char *const eth[] = { "192.0.2.1/24", NULL };
	struct tnode n;
	uint8_t ppriv[32], ppub[32];
	struct engine_peer_info pi;
	setup(&n, ppriv, ppub, eth);
	CHECK(engine_peer_info(n.e, ppub, 0, &pi) && pi.healthy);
	/* Old handshake, same as before: unhealthy after 165.334 s. */
	tnode_handshakes(&n, 0);
	tnode_tick(&n, 165 * S);
	CHECK(engine_peer_info(n.e, ppub, 0, &pi) && pi.healthy);
	tnode_tick(&n, 166 * S);
	CHECK(engine_peer_info(n.e, ppub, 0, &pi) && !pi.healthy);
	CHECK(thas_event(&n, ENGINE_EV_UNHEALTHY, ppub));
	/* A handshake newer than at the previous tick counts, however old. */
	tnode_handshakes(&n, 10 * S);
	tnode_tick(&n, 171 * S);
	CHECK(engine_peer_info(n.e, ppub, 0, &pi) && pi.healthy);
	tnode_tick(&n, 176 * S);
	CHECK(engine_peer_info(n.e, ppub, 0, &pi) && !pi.healthy);
	/* The same old handshake seen through wall-clock rounding (±1 ms)
	 * is not "newer". */
	tnode_handshakes(&n, 10 * S + 1);
	tnode_tick(&n, 177 * S);
	CHECK(engine_peer_info(n.e, ppub, 0, &pi) && !pi.healthy);
	tnode_handshakes(&n, 10 * S - 1);
	tnode_tick(&n, 178 * S);
	CHECK(engine_peer_info(n.e, ppub, 0, &pi) && !pi.healthy);
	tnode_handshakes(&n, 10 * S + 2);
	tnode_tick(&n, 179 * S);
	CHECK(engine_peer_info(n.e, ppub, 0, &pi) && !pi.healthy);
	/* No endpoint: never healthy. */
	struct wg_peer *wp = tnode_find(&n, ppub);
	wp->has_endpoint = false;
	wg_mem_peer_touch(wp);
	tnode_handshakes(&n, 180 * S);
	tnode_tick(&n, 181 * S);
	CHECK(engine_peer_info(n.e, ppub, 0, &pi) && !pi.healthy);
	tnode_free(&n);
}

/* The device's receive counter for the peer, as WireGuard's would read. */
static void set_rx(struct tnode *n, const uint8_t pub[32], uint64_t bytes)
{
	struct wg_peer *p = tnode_find(n, pub);
	p->rx_bytes = bytes;
	wg_mem_peer_touch(p);
}

/* [ours] Data from the peer counts like a handshake: a responder whose
 * rekey confirmation was lost still receives on the old session. */
TEST(health_from_received_data)
{
	static const char *const eth[] = { "192.0.2.1/24", NULL };
	struct tnode n;
	uint8_t ppriv[32], ppub[32];
	struct engine_peer_info pi;
	setup(&n, ppriv, ppub, eth);
	tnode_handshakes(&n, 0);
	set_rx(&n, ppub, 1000);
	tnode_tick(&n, 100 * S);
	/* More bytes at 170 s: healthy for 70 s (2 AlivePeriods + 2 chunks)
	 * although the handshake went stale at 165.334 s. */
	set_rx(&n, ppub, 2000);
	tnode_tick(&n, 170 * S);
	CHECK(engine_peer_info(n.e, ppub, 0, &pi) && pi.healthy);
	tnode_tick(&n, 239 * S);
	CHECK(engine_peer_info(n.e, ppub, 0, &pi) && pi.healthy);
	tnode_tick(&n, 240 * S);
	CHECK(engine_peer_info(n.e, ppub, 0, &pi) && !pi.healthy);
	/* A counter that went down (peer re-created) is no evidence. */
	set_rx(&n, ppub, 10);
	tnode_tick(&n, 245 * S);
	CHECK(engine_peer_info(n.e, ppub, 0, &pi) && !pi.healthy);
	tnode_free(&n);
}

TEST(deadlines)
{
	static const char *const eth[] = { "192.0.2.1/24", NULL };
	struct tnode n;
	uint8_t ppriv[32], ppub[32];
	tkey(P_, ppriv, ppub);
	tnode_config(&n, N_);
	tnode_start(&n, 7);
	CHECK_EQ(engine_next_deadline(n.e), 7);
	tnode_free(&n);
	/* Exact periods here; the jitter has its own test (test_core_send). */
	setup_jitter(&n, ppriv, ppub, eth, 0);
	CHECK_EQ(engine_next_deadline(n.e), 5 * S);
	/* Old news does not pull the deadline in; new news does. */
	struct fact f;
	struct wl_endpoint ep;
	wl_endpoint_parse("203.0.113.5:4000", &ep);
	fact_make_endpoint(&f, ppub, &ep, 100);
	tell(&n, ppriv, ppub, 1 * S, &f, 1);
	CHECK_EQ(engine_next_deadline(n.e), 1 * S + 100);
	tnode_tick(&n, 1100);
	CHECK_EQ(engine_next_deadline(n.e), 6100);
	tell(&n, ppriv, ppub, 2 * S, &f, 1);
	CHECK_EQ(engine_next_deadline(n.e), 6100);
	tnode_free(&n);
}
