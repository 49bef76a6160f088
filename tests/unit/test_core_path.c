/* The direct-path watch (src/core/path.c) [ours]: probes only while the
 * user's traffic flows, a path that answers nothing falls back to the
 * router in seconds (early in the node's life too), retries, comes back;
 * probes from peers are answered; hellos to routers; a peer heard again
 * after its Alive lapsed gets ours at once. */
#include <string.h>

#include "core_fixture.h"
#include "harness.h"
#include "wire/autoaddr.h"
#include "wire/lease.h"

enum { N_ = 1, P_ = 2, R_ = 3 };
#define S 1000
/* path.c's rate for traffic that flows, bytes per second. */
#define PATH_TEST_RATE 40

struct world {
	struct tnode n;
	uint8_t ppriv[32], ppub[32], rpriv[32], rpub[32];
	struct engine_peer_config pc;
	struct wl_cidr p_allowed;
	char p_auto[64];
};

/* Leaf N with router R (10.0.0.0/8) and a configured peer P (AllowedIPs
 * 10.5.0.7/32: a host, not a router), both in the device with fresh
 * handshakes; P is alive and has its AllowedIPs by 1 s. */
static void setup_with(struct world *w, bool dormant)
{
	memset(w, 0, sizeof(*w));
	tkey(P_, w->ppriv, w->ppub);
	tkey(R_, w->rpriv, w->rpub);
	tnode_config(&w->n, N_);
	w->n.scripted_tx = true; /* the tests say what WireGuard sent */
	memcpy(w->pc.public_key, w->ppub, 32);
	w->pc.trust = TRUST_UNSET;
	w->pc.basic = WL_AUTO;
	wl_cidr_parse("10.5.0.7/32", &w->p_allowed);
	w->pc.allowed_ips = &w->p_allowed;
	w->pc.n_allowed = 1;
	w->n.cfg.peers = &w->pc;
	w->n.cfg.n_peers = 1;
	static const char *const eth[] = { "192.0.2.1/24", NULL };
	tnode_iface(&w->n, "eth0", true, true, eth);
	tnode_dev_peer(&w->n, w->rpub, "192.0.2.3:51820", 0);
	tnode_allow(&w->n, w->rpub, "10.0.0.0/8");
	tnode_dev_peer(&w->n, w->ppub, "192.0.2.2:51820", 0);
	struct wl_addr a;
	autoaddr_of(w->ppub, &a);
	wl_addr_str(&a, w->p_auto);
	strcat(w->p_auto, "/128");
	w->n.cfg.timing.dormant = dormant;
	tnode_start(&w->n, 0);
	uint8_t buf[WIRE_MAX_DATAGRAM], id[BOOT_ID_LEN] = { 5 };
	struct fact f;
	fact_make_alive(&f, w->ppub, id, 255);
	size_t len = tseal(w->ppriv, w->n.pub, &f, 1, buf, sizeof(buf));
	CHECK_EQ(treceive(&w->n, 0, w->ppub, buf, len), ENGINE_RX_OK);
	tnode_tick(&w->n, 0);
	tnode_tick(&w->n, 1 * S);
	CHECK(tnode_has_allowed(tnode_find(&w->n, w->ppub), "10.5.0.7/32"));
}

static void setup(struct world *w)
{
	setup_with(w, false);
}

/* Runs N at its own deadlines until `to`, with fresh handshakes and the
 * user's traffic through `via` (P, or R once P fell back): rx and tx bytes
 * per second. Returns the time of the first event of kind (or -1),
 * counting probes to P on the way. */
static int64_t run_via(struct world *w, const uint8_t *via, int64_t to, uint64_t rx_per_s,
		       uint64_t tx_per_s, enum engine_event_kind kind, int *probes)
{
	int64_t found = -1, last = w->n.now;
	for (int64_t t = engine_next_deadline(w->n.e); t <= to; t = engine_next_deadline(w->n.e)) {
		tnode_handshakes(&w->n, t);
		tnode_traffic(&w->n, via, rx_per_s * (uint64_t)(t - last) / 1000,
			      tx_per_s * (uint64_t)(t - last) / 1000);
		last = t;
		tnode_tick(&w->n, t);
		if (probes)
			*probes += tprobes_to(&w->n, w->ppub, NULL);
		if (found < 0 && thas_event(&w->n, kind, w->ppub))
			found = t;
	}
	return found;
}

/* What the last tick sent p, as WireGuard's tx counter shows it: per
 * datagram 32 bytes and the packet (IPv6 and UDP headers, 48 bytes, and
 * the payload) padded to 16. */
static uint64_t tsent_bytes(const struct tnode *n, const uint8_t *p)
{
	uint64_t sent = 0;
	for (size_t i = 0; n->act && i < n->act->n_send; i++)
		if (memcmp(n->act->send[i].peer, p, WL_KEY_LEN) == 0)
			sent += 32 + ((n->act->send[i].len + 48 + 15) & ~(size_t)15);
	return sent;
}

static int64_t run(struct world *w, int64_t to, uint64_t rx_per_s, uint64_t tx_per_s,
		   enum engine_event_kind kind, int *probes)
{
	return run_via(w, w->ppub, to, rx_per_s, tx_per_s, kind, probes);
}

TEST(dead_path_under_traffic_falls_back_in_seconds)
{
	struct world w;
	setup(&w);
	const struct engine_timing *dt = tdefault_timing();
	/* Traffic both ways (the engine notices at its next regular tick, then
	 * watches), then our side keeps sending and nothing comes back: the
	 * path died. */
	CHECK_EQ(run(&w, 10 * S, 5000, 5000, ENGINE_EV_PATH_DEAD, NULL), -1);
	struct engine_peer_info info;
	CHECK(engine_peer_info(w.n.e, w.ppub, w.n.now, &info) && info.active_at > 5 * S);
	int64_t cut = w.n.now;
	int probes = 0;
	int64_t dead = run(&w, cut + 10 * S, 0, 5000, ENGINE_EV_PATH_DEAD, &probes);
	CHECK_MSG(dead >= 0 && dead - cut <= dt->stall_ms + (dt->probe_misses + 1) *
							     dt->probe_interval_ms,
		  "dead %lld ms after the cut", (long long)(dead - cut));
	CHECK(probes >= dt->probe_misses);
	CHECK(dead < dt->fact_ttl_ms); /* young: deconfiguring is not yet allowed otherwise */
	/* Back to its auto address at once: traffic goes via the router. */
	struct wg_peer *p = tnode_find(&w.n, w.ppub);
	CHECK(tnode_has_allowed(p, w.p_auto) && !tnode_has_allowed(p, "10.5.0.7/32"));
	CHECK(engine_peer_info(w.n.e, w.ppub, w.n.now, &info) && info.path_dead && !info.healthy);
	/* While traffic flows (through the router now), it is retried every
	 * couple of seconds. */
	probes = 0;
	int64_t from = w.n.now;
	CHECK_EQ(run_via(&w, w.rpub, from + 20 * S, 5000, 5000, ENGINE_EV_PATH_BACK, &probes), -1);
	CHECK_MSG(probes >= 8 && probes <= 12, "%d retries in 20 s", probes);
	CHECK(!tnode_has_allowed(tnode_find(&w.n, w.ppub), "10.5.0.7/32"));
	/* An answer: the path works again, and P gets its AllowedIPs back. */
	tnode_traffic(&w.n, w.ppub, 200, 0);
	int64_t back = run(&w, w.n.now + 2 * S, 5000, 5000, ENGINE_EV_PATH_BACK, NULL);
	CHECK(back >= 0);
	CHECK(tnode_has_allowed(tnode_find(&w.n, w.ppub), "10.5.0.7/32"));
	CHECK(engine_peer_info(w.n.e, w.ppub, w.n.now, &info) && !info.path_dead && info.healthy);
	tnode_free(&w.n);
}

TEST(answered_probes_keep_the_path)
{
	struct world w;
	setup(&w);
	CHECK_EQ(run(&w, 10 * S, 5000, 5000, ENGINE_EV_PATH_DEAD, NULL), -1);
	/* One-way traffic for a minute: our probes are answered (our peer's
	 * reply, or an original's ICMP error: either grows rx a little). */
	int answered = 0;
	for (int64_t t = engine_next_deadline(w.n.e); t < 64 * S; t = engine_next_deadline(w.n.e)) {
		tnode_handshakes(&w.n, t);
		tnode_traffic(&w.n, w.ppub, 0, 2000);
		tnode_tick(&w.n, t);
		uint32_t seq;
		if (tprobes_to(&w.n, w.ppub, &seq)) {
			uint8_t reply[ENGINE_PROBE_LEN];
			size_t len = tprobe(ENGINE_PROBE_REPLY, seq, w.ppub, reply);
			CHECK_EQ(treceive(&w.n, t + 40, w.ppub, reply, len), ENGINE_RX_PROBE);
			tnode_traffic(&w.n, w.ppub, 100, 0);
			answered++;
		}
		CHECK(!thas_event(&w.n, ENGINE_EV_PATH_DEAD, w.ppub));
	}
	CHECK(answered > 0);
	CHECK(tnode_has_allowed(tnode_find(&w.n, w.ppub), "10.5.0.7/32"));
	CHECK_EQ(engine_get_stats(w.n.e)->paths_dead, 0);
	tnode_free(&w.n);
}

/* 40 s idle (the ticks come at the chunk period or later; WireGuard
 * counts what we send P, our Alives), then the user's ping goes in with
 * no session and WireGuard sends one initiation to P, at the returned
 * time. */
static int64_t first_ping_after_idle(struct world *w)
{
	setup(w);
	w->n.tun_counters = true;
	int64_t t = w->n.now;
	while (t < 40 * S) {
		t = engine_next_deadline(w->n.e);
		tnode_traffic(&w->n, w->ppub, 0, tsent_bytes(&w->n, w->ppub));
		tnode_tick(&w->n, t);
	}
	tnode_traffic(&w->n, w->ppub, 0, tsent_bytes(&w->n, w->ppub));
	int64_t gap = engine_next_deadline(w->n.e) - w->n.now;
	CHECK_MSG(gap * PATH_TEST_RATE > 148 * 1000, "idle ticks only %lld ms apart", (long long)gap);
	int64_t start = engine_next_deadline(w->n.e) - 10;
	w->n.tun_tx += 84;
	tnode_traffic(&w->n, w->ppub, 0, 148);
	CHECK(driver_sense(w->n.drv, start));
	tnode_tick(&w->n, start);
	return start;
}

/* A path with no session (idle for minutes, a quiet pair's) that died:
 * the user's first packets go into the tunnel and wait behind a handshake
 * nobody answers, so all P's counters show is our initiation. That is
 * watched at the tick that sees it, however long the idle gap before it
 * (a byte rate over that gap would be too low to count), and the path is
 * found dead within seconds. */
TEST(initiations_waiting_for_a_handshake_are_watched_at_once)
{
	struct world w;
	const struct engine_timing *dt = tdefault_timing();
	int64_t t, start = first_ping_after_idle(&w);
	struct engine_peer_info info;
	CHECK(engine_peer_info(w.n.e, w.ppub, w.n.now, &info) && info.active_at == start);
	/* Nothing comes back; WireGuard retries every 5 s. */
	int64_t dead = -1, last_init = start;
	for (t = engine_next_deadline(w.n.e); t <= start + 10 * S && dead < 0;
	     t = engine_next_deadline(w.n.e)) {
		w.n.tun_tx += 84;
		if (t - last_init >= 5 * S) {
			tnode_traffic(&w.n, w.ppub, 0, 148);
			last_init = t;
		}
		tnode_tick(&w.n, t);
		if (thas_event(&w.n, ENGINE_EV_PATH_DEAD, w.ppub))
			dead = t;
	}
	CHECK_MSG(dead >= 0 && dead - start <= dt->stall_ms + (dt->probe_misses + 1) *
							      dt->probe_interval_ms,
		  "dead %lld ms after the first initiation (-1: not within 10 s)",
		  (long long)(dead < 0 ? -1 : dead - start));
	tnode_free(&w.n);
}

/* As above, but P's traffic started at the same moment: its initiation
 * comes through, and ours crossed it. WireGuard answers P's and refuses
 * the answer to its own, and so does P, so nothing but those two comes
 * back until a retry 5 s later gets a session. The path works (P's
 * packets come through): it is not found dead meanwhile, and data after
 * the retry keeps it. A peer that keeps initiating over a path that
 * works only its way gets that wait once: the path is still found dead
 * within seconds after it. */
TEST(initiations_that_cross_wait_for_wireguards_retry)
{
	const struct engine_timing *dt = tdefault_timing();
	for (int blocked = 0; blocked < 2; blocked++) {
		struct world w;
		int64_t t, start = first_ping_after_idle(&w);
		/* P's initiation arrives; we answer it (92 bytes). */
		tnode_traffic(&w.n, w.ppub, 148, 92);
		int64_t dead = -1, retry = start + 5 * S + 300;
		bool retried = false;
		for (t = engine_next_deadline(w.n.e); t <= start + 15 * S && dead < 0;
		     t = engine_next_deadline(w.n.e)) {
			w.n.tun_tx += 84;
			if (t >= retry && !retried) {
				retried = true;
				if (blocked) /* P's retry comes; our answer is lost again */
					tnode_traffic(&w.n, w.ppub, 148, 92);
				else /* our retry gets a session: data both ways */
					tnode_traffic(&w.n, w.ppub, 92 + 5 * 96, 148 + 5 * 96);
			} else if (retried && !blocked) {
				tnode_traffic(&w.n, w.ppub, 2 * 96, 2 * 96);
			}
			tnode_tick(&w.n, t);
			if (thas_event(&w.n, ENGINE_EV_PATH_DEAD, w.ppub))
				dead = t;
		}
		if (!blocked) {
			CHECK_MSG(dead < 0, "crossed: found dead %lld ms after the first initiation",
				  (long long)(dead - start));
		} else {
			int64_t bound = 5 * S + 333 + dt->probe_interval_ms + dt->stall_ms +
					(dt->probe_misses + 1) * dt->probe_interval_ms;
			CHECK_MSG(dead >= 0 && dead - start <= bound,
				  "one way: dead %lld ms after the first initiation (bound %lld)",
				  (long long)(dead < 0 ? -1 : dead - start), (long long)bound);
		}
		tnode_free(&w.n);
	}
}

/* Our own wirelink traffic (Alives, facts) is no reason to probe: an idle
 * path costs nothing extra. */
TEST(idle_path_is_never_probed)
{
	struct world w;
	setup(&w);
	int probes = 0;
	uint8_t buf[WIRE_MAX_DATAGRAM], id[BOOT_ID_LEN] = { 5 };
	for (int64_t t = engine_next_deadline(w.n.e); t < 600 * S; t = engine_next_deadline(w.n.e)) {
		tnode_handshakes(&w.n, t);
		/* WireGuard counts what we send P and what P's Alives bring. */
		size_t sent = 0;
		for (size_t i = 0; w.n.act && i < w.n.act->n_send; i++)
			if (memcmp(w.n.act->send[i].peer, w.ppub, WL_KEY_LEN) == 0)
				sent += w.n.act->send[i].len + 80;
		tnode_traffic(&w.n, w.ppub, 0, sent);
		if (t % (30 * S) < 5 * S) {
			struct fact f;
			fact_make_alive(&f, w.ppub, id, 255);
			size_t len = tseal(w.ppriv, w.n.pub, &f, 1, buf, sizeof(buf));
			CHECK_EQ(treceive(&w.n, t, w.ppub, buf, len), ENGINE_RX_OK);
			tnode_traffic(&w.n, w.ppub, len + 80, 0);
		}
		tnode_tick(&w.n, t);
		probes += tprobes_to(&w.n, w.ppub, NULL);
	}
	CHECK_EQ(probes, 0);
	CHECK_EQ(engine_get_stats(w.n.e)->probes_sent, 0);
	tnode_free(&w.n);
}

/* A leaf probes its router a few times at the start, so the router learns
 * the leaf runs this daemon (and tells it its outer address); the
 * router's answer in kind stops them. These are not path probes. The
 * first hello is one probe, version 2, whose answer says the router is
 * ours and reads leases; each later one adds version 1, which an older
 * daemon of ours answers. A version 2 answer stops both. */
TEST(router_gets_hellos_until_it_answers)
{
	for (int answer = 0; answer <= 1; answer++) {
		struct world w;
		setup(&w);
		int hellos = 0;
		for (int64_t t = engine_next_deadline(w.n.e); t < 120 * S;
		     t = engine_next_deadline(w.n.e)) {
			tnode_handshakes(&w.n, t);
			tnode_tick(&w.n, t);
			uint32_t seq;
			int k = tprobes_to(&w.n, w.rpub, &seq);
			hellos += k;
			if (k && answer) {
				uint8_t reply[ENGINE_PROBE_LEN];
				size_t len = tprobe(ENGINE_PROBE_REPLY_V2, seq, w.rpub, reply);
				CHECK_EQ(treceive(&w.n, t + 40, w.rpub, reply, len), ENGINE_RX_PROBE);
			}
		}
		/* The first hello (one probe) went during setup(), unanswered;
		 * the second (two) is answered when R answers. */
		const struct engine_stats *st = engine_get_stats(w.n.e);
		CHECK_EQ(st->hellos_sent, answer ? 3 : 5);
		CHECK_EQ(st->probes_sent, 0);
		CHECK_EQ(st->paths_dead, 0);
		CHECK(hellos <= 4);
		struct engine_peer_info info;
		CHECK(engine_peer_info(w.n.e, w.rpub, 120 * S, &info));
		CHECK_EQ(info.lease_ok, answer);
		tnode_free(&w.n);
	}
}

/* [ours] A peer whose Alive lapsed (the path was down both ways) and is
 * heard again gets our Alive at once: ours were lost too, though peer
 * knowledge says it has them. */
TEST(returning_peer_gets_our_alive_at_once)
{
	struct world w;
	setup(&w);
	/* P's Alive (from setup, 255 s) lapses while we keep sending ours
	 * every AlivePeriod; wait for one of ours to have just gone out. */
	bool dead = false, ours_sent = false;
	int64_t t = w.n.now;
	while (!(dead && ours_sent) && t < 600 * S) {
		t = engine_next_deadline(w.n.e);
		tnode_handshakes(&w.n, t);
		tnode_tick(&w.n, t);
		dead |= thas_event(&w.n, ENGINE_EV_DEAD, w.ppub);
		bool alive = false;
		ours_sent = dead && tsent_to(&w.n, w.ppub, NULL, &alive) && alive;
	}
	CHECK(dead && ours_sent);
	uint8_t buf[WIRE_MAX_DATAGRAM], id[BOOT_ID_LEN] = { 5 };
	struct fact f;
	fact_make_alive(&f, w.ppub, id, 255);
	size_t len = tseal(w.ppriv, w.n.pub, &f, 1, buf, sizeof(buf));
	CHECK_EQ(treceive(&w.n, t + 1 * S, w.ppub, buf, len), ENGINE_RX_OK);
	tnode_handshakes(&w.n, t + 1 * S);
	tnode_tick(&w.n, t + 1 * S + 100);
	CHECK(thas_event(&w.n, ENGINE_EV_ALIVE, w.ppub));
	bool alive = false;
	CHECK(tsent_to(&w.n, w.ppub, NULL, &alive) >= 1);
	CHECK(alive); /* a second after the last one: only because P came back */
	tnode_free(&w.n);
}

/* The driver senses a single packet of the user's on the tunnel, however
 * small (28 bytes: IPv4 and UDP headers): it is all a dormant path
 * (core/quiet.c) shows before its peer must be woken. Our own datagrams
 * are not the user's. */
TEST(a_single_small_packet_is_sensed)
{
	struct world w;
	setup(&w);
	w.n.tun_counters = true;
	int64_t t = engine_next_deadline(w.n.e);
	tnode_tick(&w.n, t);
	CHECK(!driver_sense(w.n.drv, t + 500));
	w.n.tun_tx += 28;
	CHECK(driver_sense(w.n.drv, t + 1000));
	tnode_free(&w.n);
}

/* A version 3 probe asks whether we may be dormant (core/quiet.c): it is
 * answered in kind only with Dormant on; otherwise with version 2, which
 * still says we read leases. */
TEST(version_3_probes_are_answered_by_what_we_read)
{
	for (int dormant = 0; dormant <= 1; dormant++) {
		struct world w;
		setup_with(&w, dormant);
		uint8_t req[ENGINE_PROBE_LEN];
		size_t len = tprobe(ENGINE_PROBE_REQUEST_V3, 7, w.ppub, req);
		struct wl_addr src;
		autoaddr_of(w.ppub, &src);
		uint8_t bytes[ENGINE_PROBE_LEN];
		struct engine_datagram reply = { .data = bytes };
		CHECK_EQ(engine_receive_probe(w.n.e, 2 * S, &src, req, len, &reply), ENGINE_RX_PROBE);
		CHECK_EQ(reply.data[0], dormant ? ENGINE_PROBE_REPLY_V3 : ENGINE_PROBE_REPLY_V2);
		struct engine_peer_info info;
		CHECK(engine_peer_info(w.n.e, w.ppub, 2 * S, &info));
		CHECK(info.ours && info.lease_ok);
		tnode_free(&w.n);
	}
}

/* A peer's probe is answered to its wirelink port with its sequence
 * number and our key; anything else draws nothing. */
TEST(probes_from_peers_are_answered)
{
	struct world w;
	setup(&w);
	uint8_t req[ENGINE_PROBE_LEN];
	size_t len = tprobe(ENGINE_PROBE_REQUEST, 0x01020304, w.ppub, req);
	struct wl_addr src;
	autoaddr_of(w.ppub, &src);
	uint8_t bytes[ENGINE_PROBE_LEN];
	struct engine_datagram reply = { .data = bytes };
	CHECK_EQ(engine_receive_probe(w.n.e, 2 * S, &src, req, len, &reply), ENGINE_RX_PROBE);
	CHECK_EQ(reply.kind, ENGINE_DG_PROBE_REPLY);
	CHECK_EQ(reply.len, ENGINE_PROBE_LEN);
	CHECK_EQ(reply.port, 51821);
	CHECK(wl_addr_equal(&reply.dst, &src));
	CHECK_EQ(reply.data[0], ENGINE_PROBE_REPLY);
	CHECK(memcmp(reply.data + 1, req + 1, 4) == 0);
	CHECK(memcmp(reply.data + 5, w.n.pub, 32) == 0);
	/* From another address than the key's: refused. */
	struct wl_addr other;
	autoaddr_of(w.rpub, &other);
	CHECK_EQ(engine_receive_probe(w.n.e, 2 * S, &other, req, len, &reply), ENGINE_RX_BAD_SOURCE);
	CHECK_EQ(reply.len, 0);
	/* Malformed: wrong type, short. */
	req[0] = ENGINE_PROBE_REPLY;
	CHECK_EQ(engine_receive_probe(w.n.e, 2 * S, &src, req, len, &reply), ENGINE_RX_PARSE);
	CHECK_EQ(engine_receive_probe(w.n.e, 2 * S, &src, req, len - 1, &reply), ENGINE_RX_PARSE);
	/* A key nobody has in the device. */
	uint8_t xpriv[32], xpub[32];
	tkey(9, xpriv, xpub);
	len = tprobe(ENGINE_PROBE_REQUEST, 7, xpub, req);
	autoaddr_of(xpub, &src);
	CHECK_EQ(engine_receive_probe(w.n.e, 2 * S, &src, req, len, &reply), ENGINE_RX_BAD_SOURCE);
	tnode_free(&w.n);
}

/* The router neither watches (there is nothing for it to fall back to)
 * nor probes. */
TEST(routers_do_not_watch)
{
	struct world w;
	memset(&w, 0, sizeof(w));
	tkey(P_, w.ppriv, w.ppub);
	tnode_config(&w.n, N_);
	w.n.cfg.router = WL_YES;
	tnode_dev_peer(&w.n, w.ppub, "192.0.2.2:51820", 0);
	tnode_start(&w.n, 0);
	int probes = 0;
	for (int64_t t = 0; t < 20 * S; t += 500) {
		tnode_handshakes(&w.n, t);
		tnode_traffic(&w.n, w.ppub, 0, 5000);
		tnode_tick(&w.n, t);
		probes += tprobes_to(&w.n, w.ppub, NULL);
	}
	CHECK_EQ(probes, 0);
	tnode_free(&w.n);
}

/* A router passes notes on for a leaf only up to its share: two per peer
 * per AlivePeriod (pathnote.c). Leaf A floods it with wakes naming leaf
 * B: of 10, the first is passed on, the next three are not needed (the
 * same note already waits for B) and the other six are beyond A's share;
 * an AlivePeriod later A has its share again. */
TEST(a_router_passes_on_notes_only_up_to_a_leafs_share)
{
	enum { A_ = 4, B_ = 5 };
	uint8_t apriv[32], apub[32], bpriv[32], bpub[32];
	tkey(A_, apriv, apub);
	tkey(B_, bpriv, bpub);
	struct tnode r;
	tnode_config(&r, R_);
	static const char *const eth[] = { "192.0.2.3/24", NULL };
	tnode_iface(&r, "eth0", true, true, eth);
	tnode_dev_peer(&r, apub, "192.0.2.4:51820", 0);
	tnode_allow(&r, apub, "10.0.0.4/32");
	tnode_dev_peer(&r, bpub, "192.0.2.5:51820", 0);
	tnode_allow(&r, bpub, "10.0.0.5/32");
	tnode_start(&r, 0);
	tnode_handshakes(&r, 0);
	tnode_tick(&r, 0);
	CHECK(engine_is_router(r.e));
	/* Both show they read leases: an 'L' fact of their own. */
	struct lease_msg epoch = { .kind = LEASE_EPOCH, .epoch = 1 };
	struct fact f[10];
	uint8_t buf[WIRE_MAX_DATAGRAM];
	lease_fact(&f[0], bpub, 0, &epoch);
	size_t len = tseal(bpriv, r.pub, f, 1, buf, sizeof(buf));
	CHECK_EQ(treceive(&r, 1 * S, bpub, buf, len), ENGINE_RX_OK);
	struct lease_msg wake = { .kind = LEASE_PATH_WAKE };
	memcpy(wake.key, bpub, 32);
	for (size_t i = 0; i < 10; i++)
		lease_fact(&f[i], apub, 0, &wake);
	len = tseal(apriv, r.pub, f, 10, buf, sizeof(buf));
	CHECK_EQ(treceive(&r, 2 * S, apub, buf, len), ENGINE_RX_OK);
	const struct engine_stats *st = engine_get_stats(r.e);
	CHECK_EQ(st->path_notes_relayed, 1);
	CHECK_EQ(st->path_notes_capped, 6);
	/* An AlivePeriod later: A's share again. */
	len = tseal(apriv, r.pub, f, 1, buf, sizeof(buf));
	CHECK_EQ(treceive(&r, 2 * S + tdefault_timing()->alive_period_ms, apub, buf, len),
		 ENGINE_RX_OK);
	CHECK_EQ(st->path_notes_capped, 6);
	tnode_free(&r);
}
