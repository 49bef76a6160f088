/* The direct-path watch [ours]: a direct path that dies while traffic
 * flows is noticed in about two seconds, and the peer falls back to the
 * router (apply.c) instead of black-holing traffic until its handshake is
 * older than HandshakeValidity (165 s; SPEC §13 calls that a weakness).
 *
 * Signals: the device's per-peer rx/tx counters, read every tick. Bytes
 * of our own making (wirelink datagrams and probes both ways, the replies
 * our probes draw, handshakes) are subtracted, so what remains is the
 * user's traffic; a path that carried it within watch_ms is watched. A
 * watched path whose rx counter stayed flat for stall_ms gets a probe
 * every probe_interval_ms (the engine then ticks that often); any growth
 * of rx answers it; probe_misses unanswered probes in a row declare the
 * path dead. Both sides of a path that dies under traffic see it: the
 * sender's rx stops growing, and so does the receiver's, which was
 * watching because it had just received.
 *
 * A probe is a small datagram to the peer's auto address, wirelink port
 * + 1. Our peers answer it (engine_receive_probe); an original peer does
 * not listen there, so its kernel answers with an ICMPv6 error — through
 * the same tunnel, which is all the rx counter needs. Nothing new reaches
 * an original peer's wirelink port.
 *
 * A dead path is probed again after 1 s, then twice as long each time up
 * to retry_max_ms — but at most every PATH_RETRY_BUSY_MS while some path
 * of ours carries the user's traffic (it likely flows to that peer through
 * the router now: going direct again soon is worth a probe); any rx growth
 * (a reply, the peer's own probe or traffic, a new endpoint candidate that
 * works) brings it back, and the peer's AllowedIPs with it. Routers neither watch (there is nothing for
 * them to fall back to) nor are stripped (apply.c). */
#include <string.h>

#include "core/engine_internal.h"

/* IPv6 and UDP headers, up to 15 bytes of padding, WireGuard's header
 * and tag: what one datagram of ours adds to a peer's counters beyond its
 * payload (an estimate on the high side: our own bytes must not pass for
 * the user's). */
#define PATH_PACKET_OVERHEAD (40 + 8 + 15 + 32)
/* What one probe may draw: our peer's reply, or an ICMPv6 error quoting
 * the probe (40 + 8 + the probe's 48 + 37 bytes, padded, plus 32). */
#define PATH_PROBE_ANSWER_BYTES 192
/* Handshake messages, as a peer's counters show them. A data message is
 * 32 bytes and the packet padded to 16, so it is 0 modulo 16, and these
 * are not: what a counter moved by, modulo 16, says which of them it
 * holds (handshake_bytes). */
#define PATH_INITIATION_BYTES 148
#define PATH_RESPONSE_BYTES 92
/* A keepalive: an empty data message. WireGuard sends them of its own
 * accord (confirming a handshake, answering data it had nothing to send
 * back for), up to two a tick in each direction around a rekey. */
#define PATH_KEEPALIVE_BYTES 32
#define PATH_KEEPALIVES_PER_TICK 2
/* The user's traffic, per second, above which a path is watched: beyond
 * what WireGuard sends of its own accord (keepalives and handshakes are
 * taken out first), a ping a second is well above it. */
#define PATH_ACTIVE_BYTES_PER_S 40
/* The first retry of a dead path, doubled each time... */
#define PATH_RETRY_FIRST_MS 1000
/* ... but no longer than this while traffic flows. */
#define PATH_RETRY_BUSY_MS 2000
/* WireGuard's RekeyTimeout, and its jitter: when two initiations cross,
 * each side answers the other's and refuses the answer to its own, and
 * only a retry this much later gets a session (tests/sim/vwg.c). */
#define PATH_REKEY_TIMEOUT_MS (5000 + 333)

void engine_path_own_rx(struct peer *p, size_t payload)
{
	p->own_rx += payload + PATH_PACKET_OVERHEAD;
}

void engine_path_own_tx(struct peer *p, size_t payload)
{
	p->own_tx += payload + PATH_PACKET_OVERHEAD;
}

static uint64_t minus(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* The handshake messages in a counter's growth d. Data adds 0 modulo
 * 16, an initiation 4 and a response 12, so d modulo 16 leaves two or
 * three mixes of up to two of each: an initiation (148) or two and a
 * response (388); two responses (a duplicated initiation answered
 * twice: 184) or two initiations (a retry: 296); a response (92) or an
 * initiation and two responses (332); none, an initiation and a response
 * (two handshakes that crossed: 240) or two of each (480). The largest
 * that fits in d is taken: under loss and duplication WireGuard's own
 * messages come in such mixes, and taken for the user's traffic they
 * made idle paths look busy, which the watch then declared dead when
 * its probes were lost (docs/sim-notes-for-core.md item 12). What it may
 * take from the user's data is at most 480 bytes a tick: a busy path
 * stays busy. */
static uint64_t handshake_bytes(uint64_t d)
{
	enum { I = PATH_INITIATION_BYTES, R = PATH_RESPONSE_BYTES };
	static const uint64_t mixes[4][3] = {
		{ 0, I + R, 2 * I + 2 * R }, /* 0 mod 16 */
		{ I, 2 * I + R, 0 },	     /* 4 */
		{ 2 * R, 2 * I, 0 },	     /* 8 */
		{ R, I + 2 * R, 0 },	     /* 12 */
	};
	if (d % 4)
		return 0;
	const uint64_t *m = mixes[(d % 16) / 4];
	uint64_t h = 0;
	for (size_t i = 0; i < 3; i++)
		if (m[i] <= d && m[i] > h)
			h = m[i];
	return h;
}

/* What a counter's growth holds of the user's traffic: less handshake
 * messages, our own datagrams (ours: an estimate on the high side) and
 * WireGuard's keepalives. */
static uint64_t user_bytes(uint64_t d, uint64_t handshakes, uint64_t ours)
{
	return minus(minus(d - handshakes, ours), PATH_KEEPALIVES_PER_TICK * PATH_KEEPALIVE_BYTES);
}

/* Our own datagrams the tx counter has not shown yet: WireGuard holds
 * them while it handshakes, and sends them all once it has a session.
 * So while no data goes out they stay expected (for as long as WireGuard
 * keeps trying, PATH_HELD_MS); once data goes out, they went with it,
 * and what is left of our estimate is its excess (it runs high). */
static void note_held(struct peer *p, uint64_t expected, uint64_t data_tx, int64_t now)
{
	if (data_tx || !expected ||
	    (p->held_since != ENGINE_NEVER && now - p->held_since > PATH_HELD_MS)) {
		p->own_tx_held = 0;
		p->held_since = ENGINE_NEVER;
		return;
	}
	if (p->held_since == ENGINE_NEVER)
		p->held_since = now;
	p->own_tx_held = expected;
}

/* In use: the user's traffic within watch_ms, or traffic that waits for
 * WireGuard's retry after crossed initiations (until crossed_until) and
 * watch_ms after that, to find the path dead if the retry fails too. */
bool engine_path_active(const struct engine *e, const struct peer *p, int64_t now)
{
	if (p->crossed_until != ENGINE_NEVER && now - p->crossed_until < e->t.watch_ms)
		return true;
	return p->active_at != ENGINE_NEVER && now - p->active_at < e->t.watch_ms;
}

void engine_path_observe(struct engine *e, struct peer *p, const struct engine_peer_view *wp,
			 bool was_in, bool new_handshake, int64_t now, struct engine_actions *out)
{
	if (new_handshake && wp->has_endpoint) {
		p->good_ep = wp->endpoint;
		p->has_good_ep = true;
		peer_note_result(p, &wp->endpoint, TRIED_WORKED);
	}
	if (was_in) {
		/* A counter that went down is a re-created peer: no evidence. */
		uint64_t drx = minus(wp->rx_bytes, p->rx_bytes);
		uint64_t dtx = minus(wp->tx_bytes, p->tx_bytes);
		/* Handshake messages are WireGuard's, not the user's: one that
		 * completed, one not complete at this tick (we answered the
		 * peer's initiation, whose confirmation is still to come), one
		 * retried after a loss. Counted as traffic they made idle paths
		 * look busy, and under loss the watch then declared them dead
		 * (docs/sim-notes-for-core.md item 12). Except when they are
		 * all there is to see of the user's traffic on a path that died
		 * while idle (waiting, below; docs/quiet.md). */
		uint64_t hs_rx = handshake_bytes(drx);
		uint64_t hs_tx = handshake_bytes(dtx);
		uint64_t expected_tx = p->own_tx_held + p->own_tx;
		uint64_t user = user_bytes(drx, hs_rx, p->own_rx) + user_bytes(dtx, hs_tx, expected_tx);
		/* Our initiations, and beyond them nothing but our own
		 * datagrams, which do not explain them all, while the user's
		 * packets go into the tunnel and nothing comes back: traffic
		 * waits for a handshake with p. Watched at once, however long
		 * since the last tick: the rate below is for traffic that
		 * flows, and one initiation over a long idle gap is below it.
		 * (The driver senses a single packet of the user's, however
		 * small: tunnel_busy.) */
		bool waiting = e->tunnel_busy && !drx && hs_tx && hs_tx % PATH_INITIATION_BYTES == 0 &&
			       dtx > expected_tx && dtx - hs_tx <= expected_tx;
		note_held(p, expected_tx, dtx - hs_tx, now);
		int64_t span = e->last_tick == ENGINE_NEVER ? e->t.chunk_period_ms : now - e->last_tick;
		if (span < 1000)
			span = 1000;
		/* Woken (a dormant pair whose peer's traffic started): the
		 * first of the user's bytes say the path is in use, however
		 * few, as the rate below needs a tick's worth of them and the
		 * new handshake takes its share. */
		bool woken = p->told_wake || (p->woken_at != ENGINE_NEVER && now - p->woken_at < e->t.watch_ms);
		if (waiting || (woken && user) ||
		    user * 1000 > (uint64_t)PATH_ACTIVE_BYTES_PER_S * (uint64_t)span) {
			/* The peer's NAT may have forgotten us while the pair
			 * was dormant: it is asked to send to us (pathnote.c). */
			if (!engine_path_active(e, p, now) && engine_dormant_pair(p))
				engine_pathnote_wake(e, p);
			p->active_at = now;
		}
		/* Nothing came but the peer's initiation (or its retry): the
		 * path carries its packets, and if ours crossed it no data
		 * flows before WireGuard's retry (a dormant pair whose traffic
		 * started on both sides at once). The watch waits for that
		 * retry, once until data flows: a peer that keeps initiating
		 * over a path that works only its way must not hold off the
		 * verdict for long. */
		if ((drx == PATH_INITIATION_BYTES || drx == 2 * PATH_INITIATION_BYTES) &&
		    p->crossed_until == ENGINE_NEVER && engine_path_active(e, p, now))
			p->crossed_until = now + PATH_REKEY_TIMEOUT_MS + e->t.probe_interval_ms;
		else if (drx > hs_rx)
			p->crossed_until = ENGINE_NEVER;
		if (drx > 0) {
			p->probe_at = ENGINE_NEVER;
			p->probe_misses = 0;
			if (p->path_dead) {
				char lb[WL_PEER_LABEL_MAX];
				p->path_dead = false;
				e->st.paths_back++;
				ENGINE_EVENT(out, ENGINE_EV_PATH_BACK, p->key,
					     "peer %s: the direct path works again",
					     engine_peer_label(p, lb));
			}
		}
	}
	/* Sent as the peer was being added (it was not in the device yet):
	 * WireGuard holds it for the first handshake. */
	if (!was_in)
		note_held(p, p->own_tx, 0, now);
	p->tx_bytes = wp->tx_bytes;
	p->own_rx = p->own_tx = 0;
}

/* Asks for a tick at t. */
static void want_tick(struct engine *e, int64_t t)
{
	if (e->path_at == ENGINE_NEVER || t < e->path_at)
		e->path_at = t;
}

static void put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

uint16_t engine_path_probe_port(const struct engine *e)
{
	return (uint16_t)(engine_port(e) + ENGINE_PROBE_PORT_OFFSET);
}

static bool is_request(uint8_t type)
{
	return type == ENGINE_PROBE_REQUEST || type == ENGINE_PROBE_REQUEST_V2 ||
	       type == ENGINE_PROBE_REQUEST_V3;
}

static bool is_reply(uint8_t type)
{
	return type == ENGINE_PROBE_REPLY || type == ENGINE_PROBE_REPLY_V2 ||
	       type == ENGINE_PROBE_REPLY_V3;
}

/* A probe or probe reply from us to p. */
static void emit(struct engine *e, const struct peer *p, uint8_t type, uint32_t seq,
		 uint16_t port, struct engine_datagram *d)
{
	d->kind = is_request(type) ? ENGINE_DG_PROBE : ENGINE_DG_PROBE_REPLY;
	memcpy(d->peer, p->key, WL_KEY_LEN);
	d->dst = p->auto_addr;
	d->port = port;
	d->len = ENGINE_PROBE_LEN;
	d->data[0] = type;
	put32(d->data + 1, seq);
	memcpy(d->data + 5, e->pub, WL_KEY_LEN);
}

static bool send_request(struct engine *e, struct peer *p, uint8_t type,
			 struct engine_actions *out)
{
	struct engine_datagram *d = engine_actions_add_send(out);
	if (!d)
		return false;
	emit(e, p, type, ++p->probe_seq, engine_path_probe_port(e), d);
	engine_path_own_tx(p, d->len);
	p->own_rx += PATH_PROBE_ANSWER_BYTES;
	return true;
}

static void send_probe(struct engine *e, struct peer *p, int64_t now, struct engine_actions *out)
{
	/* Version 1: an older daemon of ours answers it too. */
	if (!send_request(e, p, ENGINE_PROBE_REQUEST, out))
		return;
	p->probe_at = now;
	e->st.probes_sent++;
}

static void declare_dead(struct engine *e, struct peer *p, int64_t now, struct engine_actions *out)
{
	char lb[WL_PEER_LABEL_MAX];
	p->path_dead = true;
	p->crossed_until = ENGINE_NEVER;
	engine_pathnote_found_dead(e, p); /* our router tells the peer */
	/* Where it worked, not the candidate tried last: that is where it
	 * comes back (apply.c retries nothing else it tried before). */
	p->dead_ep = p->has_good_ep ? p->good_ep : p->endpoint;
	peer_note_result(p, &p->dead_ep, TRIED_DIED);
	p->healthy = false;
	p->probe_at = ENGINE_NEVER;
	p->probe_misses = 0;
	p->retry_gap = PATH_RETRY_FIRST_MS;
	p->retry_at = now + p->retry_gap;
	e->st.paths_dead++;
	ENGINE_EVENT(out, ENGINE_EV_PATH_DEAD, p->key,
		     "peer %s: the direct path answers nothing; falling back",
		     engine_peer_label(p, lb));
}

/* A dead path: probe it again at its time. */
static void retry(struct engine *e, struct peer *p, bool busy, int64_t now,
		  struct engine_actions *out)
{
	if (busy && p->retry_at > now + PATH_RETRY_BUSY_MS)
		p->retry_at = now + PATH_RETRY_BUSY_MS;
	if (now >= p->retry_at) {
		send_probe(e, p, now, out);
		p->retry_gap = p->retry_gap * 2 > e->t.retry_max_ms ? e->t.retry_max_ms
								   : p->retry_gap * 2;
		int64_t gap = busy && p->retry_gap > PATH_RETRY_BUSY_MS ? PATH_RETRY_BUSY_MS
									 : p->retry_gap;
		p->retry_at = now + gap;
	}
	want_tick(e, p->retry_at);
}

/* Woken (pathnote.c): the peer starts to send to us over a path that was
 * dormant, and our NAT may have forgotten it. A few probes, sent as the
 * watch's are, open it again; whether they are answered decides nothing
 * here (the peer's watch does), so a wake cannot cut a path. */
#define PATH_PUNCHES 3

static void punch(struct engine *e, struct peer *p, int64_t now, struct engine_actions *out)
{
	if (!p->punches)
		return;
	int64_t interval = e->t.probe_interval_ms;
	if (p->punch_at != ENGINE_NEVER && now - p->punch_at < interval) {
		want_tick(e, p->punch_at + interval);
		return;
	}
	if (!send_request(e, p, ENGINE_PROBE_REQUEST, out))
		return;
	e->st.probes_sent++;
	p->punch_at = now;
	if (--p->punches)
		want_tick(e, now + interval);
}

/* One peer's watch. busy: some path carries the user's traffic. */
static void watch(struct engine *e, struct peer *p, bool busy, int64_t now,
		  struct engine_actions *out)
{
	const int64_t interval = e->t.probe_interval_ms;
	/* The peer finds the path dead (pathnote.c): watched now, as if the
	 * user's traffic flowed. Probes decide, not the note: one side's
	 * probes lost under loss would otherwise cut both sides. */
	if (p->told_watch) {
		p->told_watch = false;
		if (!p->path_dead && p->healthy)
			p->active_at = now;
	}
	if (p->told_wake) {
		p->told_wake = false;
		p->woken_at = now;
		p->punches = PATH_PUNCHES;
	}
	if (p->path_dead) {
		p->punches = 0;
		retry(e, p, busy, now, out);
		return;
	}
	punch(e, p, now, out);
	/* Only a path that works is watched: a candidate being tried has no
	 * handshake yet, its unanswered initiations look like traffic, and
	 * its failure is the candidate cycling's business (apply.c). */
	if (!p->healthy || !engine_path_active(e, p, now)) {
		p->probe_at = ENGINE_NEVER;
		p->probe_misses = 0;
		return;
	}
	want_tick(e, now + interval); /* to notice a stall soon */
	if (p->rx_at != ENGINE_NEVER && now - p->rx_at < e->t.stall_ms)
		return;
	if (p->probe_at != ENGINE_NEVER) {
		if (now - p->probe_at < interval) {
			want_tick(e, p->probe_at + interval);
			return;
		}
		if (++p->probe_misses >= e->t.probe_misses &&
		    (p->crossed_until == ENGINE_NEVER || now >= p->crossed_until)) {
			declare_dead(e, p, now, out);
			want_tick(e, p->retry_at);
			return;
		}
	}
	send_probe(e, p, now, out);
}

/* [ours] A router we have not heard a probe of ours from gets one at our
 * first ticks (queued behind the first handshake, it arrives with our
 * first datagram): its answer tells us it runs this daemon, and our probe
 * tells it the same of us — then it tells us the address it sees us at
 * (send.c), which is how we learn our NAT's public address (apply.c).
 * A version 2 probe goes with it until the router shows it reads leases
 * (core/lease.h); the version 1 probe gets an older router's answer. */

/* Whether a version 3 probe would tell p something: that we read
 * dormant Alives and wakes (quiet.c). A leaf answers in kind if it reads
 * them too; a router only needs to know, to wake us (pathnote.c). */
static bool v3_unsaid(const struct engine *e, const struct peer *p)
{
	return engine_dormant_enabled(e) && !e->router && !p->dormant_ok;
}

/* [ours] A router asks its leaves what it does not know of them: that
 * they are ours (it tells them where it sees them, and keeps stale ports
 * from them: send.c), read leases, may be dormant (it wakes them when a
 * peer restarts: pathnote.c). It forgets all that when it restarts, and
 * what may have changed when a leaf takes a new boot id; the leaf cannot
 * tell (the router's leases come back by themselves, and a leaf hellos a
 * router only while those are missing), so the router asks, as a leaf
 * asks a peer it may go dormant towards. Without it, in the hour of bad
 * weather, 41 of 99 leaves were no longer dormant_ok at the hub at the
 * end, and two no longer ours. It asks once the leaf has been alive
 * there for two hello gaps: a leaf that starts says it all by then. */
static bool router_unsure(const struct engine *e, const struct peer *p, int64_t now)
{
	return !p->router && p->healthy && p->alive_since != ENGINE_NEVER &&
	       now - p->alive_since >= 2 * PATH_HELLO_GAP_MS &&
	       (!p->ours || (e->t.leases && (!p->lease_ok || !p->dormant_ok)));
}

/* What a hello to p would still find out. A leaf is asked too once we
 * could go quiet or dormant towards it over a working path (quiet.c). */
static bool hello_wanted(const struct engine *e, const struct peer *p, int64_t now)
{
	if (p->hellos >= PATH_HELLOS)
		return false;
	if (e->router)
		return router_unsure(e, p, now);
	bool ask = p->router || ((engine_quiet_self(e) || engine_dormant_enabled(e)) && p->healthy);
	return ask &&
	       (!p->ours || (e->t.leases && !p->lease_ok) || (!p->router && v3_unsaid(e, p)));
}

/* [ours] Two leaves greet each other as their path comes up, both at
 * their next tick: the lower key's hello and the reply to it tell each
 * side all the other's would, so the higher key waits a hello gap for it
 * (its own goes then, if the lower key is an older daemon that sends
 * none, or the hello was lost). A 1,000-node network's leaves had sent
 * 998,000 hellos and drawn 880,000 replies to converge. */
static bool hello_waits(const struct engine *e, const struct peer *p)
{
	return !e->router && !p->router && p->hellos == 0 && p->hello_at == ENGINE_NEVER &&
	       engine_key_above(e, p);
}

static void hello(struct engine *e, struct peer *p, int64_t now, struct engine_actions *out)
{
	if (!hello_wanted(e, p, now))
		return;
	if (hello_waits(e, p)) {
		p->hello_at = now;
		want_tick(e, now + PATH_HELLO_GAP_MS);
		return;
	}
	if (p->hello_at != ENGINE_NEVER && now - p->hello_at < PATH_HELLO_GAP_MS) {
		want_tick(e, p->hello_at + PATH_HELLO_GAP_MS);
		return;
	}
	bool v3 = e->router ? e->t.leases && !p->dormant_ok : v3_unsaid(e, p);
	bool v2 = e->t.leases && !p->lease_ok, v1 = !p->ours;
	/* The first hello asks in the highest version that applies: a reply
	 * in any version says the sender is ours, and one in version 2 or 3
	 * all that the lower versions would (note_version). An older daemon
	 * of ours that reads no such request gets every version at the next
	 * hello, a gap later. A leaf greeting a thousand peers had sent each
	 * three requests and drawn three replies. */
	if (p->hellos == 0 && (v3 || v2)) {
		v1 = false;
		v2 = v2 && !v3;
	}
	if (v1 && send_request(e, p, ENGINE_PROBE_REQUEST, out))
		e->st.hellos_sent++;
	if (v2 && send_request(e, p, ENGINE_PROBE_REQUEST_V2, out))
		e->st.hellos_sent++;
	if (v3 && send_request(e, p, ENGINE_PROBE_REQUEST_V3, out))
		e->st.hellos_sent++;
	p->hellos++;
	p->hello_at = now;
	if (p->hellos < PATH_HELLOS)
		want_tick(e, now + PATH_HELLO_GAP_MS);
}

/* [ours] A router that is not known as ours yet speaks to us: its daemon
 * is up, and its device routes our auto address to it. Neither may have
 * been so when our first hello went (both daemons starting at once): then
 * the hello was lost, and waiting PATH_HELLO_GAP_MS for the next would
 * keep our NAT's address from us that long (apply.c waits for it). */
void engine_path_heard(struct engine *e, struct peer *p, int64_t now)
{
	if (!hello_wanted(e, p, now) || p->hello_again || !p->hellos)
		return;
	p->hello_again = true;
	p->hello_at = ENGINE_NEVER;
	engine_mark_dirty(e, now);
}

static void note_ours(struct engine *e, struct peer *p, int64_t now)
{
	if (p->ours)
		return;
	p->ours = true;
	engine_mark_dirty(e, now); /* what only our peers are told goes out soon */
}

/* A version 2 probe or reply: it reads leases; ours go to it soon. A
 * version 3 one: it may be dormant too (whether we may is our setting's
 * business, quiet.c; a router wakes it when a peer restarts). */
static void note_version(struct engine *e, struct peer *p, uint8_t type, int64_t now)
{
	bool v3 = type == ENGINE_PROBE_REQUEST_V3 || type == ENGINE_PROBE_REPLY_V3;
	bool v2 = v3 || type == ENGINE_PROBE_REQUEST_V2 || type == ENGINE_PROBE_REPLY_V2;
	if (e->t.leases && v2 && !p->lease_ok) {
		p->lease_ok = true;
		engine_mark_dirty(e, now);
	}
	if (e->t.leases && v3 && !p->dormant_ok) {
		p->dormant_ok = true;
		engine_mark_dirty(e, now);
	}
}

/* A request is answered in its own version, or the highest we read. */
static uint8_t reply_type(const struct engine *e, uint8_t request)
{
	if (request == ENGINE_PROBE_REQUEST_V3 && engine_dormant_enabled(e))
		return ENGINE_PROBE_REPLY_V3;
	if (request != ENGINE_PROBE_REQUEST && e->t.leases)
		return ENGINE_PROBE_REPLY_V2;
	return ENGINE_PROBE_REPLY;
}

void engine_path_watch(struct engine *e, int64_t now, struct engine_actions *out)
{
	e->path_at = ENGINE_NEVER;
	/* The user's traffic flows over some working path (a peer being
	 * tried only has WireGuard's unanswered initiations to show). */
	bool busy = false;
	/* A peer left alone is not in use (visit.c: always). */
	for (size_t i = engine_visit_next(e, 0); i < e->pt.n && !busy;
	     i = engine_visit_next(e, i + 1)) {
		const struct peer *p = e->pt.v[i];
		busy = p->in_device && p->healthy && engine_path_active(e, p, now);
	}
	e->busy = busy;
	engine_visit_global(e);
	for (size_t i = engine_visit_next(e, 0); i < e->pt.n; i = engine_visit_next(e, i + 1)) {
		struct peer *p = e->pt.v[i];
		/* No path to watch: not in the device, no endpoint, the watch
		 * off, or we are the router others fall back to (it only asks
		 * its leaves what it does not know of them). */
		bool reachable = p->in_device && p->has_endpoint && e->t.probe_interval_ms;
		if (!reachable || e->router) {
			p->path_dead = false;
			p->probe_at = ENGINE_NEVER;
			p->probe_misses = 0;
			if (reachable)
				hello(e, p, now, out);
			continue;
		}
		hello(e, p, now, out);
		watch(e, p, busy, now, out);
	}
}

/* The peer a probe claims to come from, if src is really its address. */
static struct peer *probe_sender(struct engine *e, const struct wl_addr *src, const uint8_t *buf,
				 size_t len)
{
	if (len != ENGINE_PROBE_LEN || !src)
		return NULL;
	struct peer *p = peertab_find(&e->pt, buf + 5);
	return p && p->in_device && wl_addr_equal(src, &p->auto_addr) ? p : NULL;
}

bool engine_path_reply_received(struct engine *e, int64_t now, const struct wl_addr *src,
				const uint8_t *buf, size_t len)
{
	if (len == 0 || !is_reply(buf[0]))
		return false;
	struct peer *p = probe_sender(e, src, buf, len);
	if (!p) {
		e->st.rx_bad_source++;
		return true;
	}
	engine_visit_touch(e, p);
	engine_path_own_rx(p, len);
	note_ours(e, p, now);
	note_version(e, p, buf[0], now);
	if (p->probe_at != ENGINE_NEVER && get32(buf + 1) == p->probe_seq) {
		e->st.probes_answered++;
		p->probe_at = ENGINE_NEVER;
		p->probe_misses = 0;
	}
	/* The counters show it at the next tick; a dead path comes back then. */
	if (p->path_dead)
		engine_mark_dirty(e, now);
	return true;
}

enum engine_rx engine_receive_probe(struct engine *e, int64_t now, const struct wl_addr *src,
				    const uint8_t *buf, size_t len, struct engine_datagram *reply)
{
	memset(reply, 0, offsetof(struct engine_datagram, data));
	e->st.rx_datagrams++;
	if (len != ENGINE_PROBE_LEN || !is_request(buf[0])) {
		e->st.rx_parse++;
		return ENGINE_RX_PARSE;
	}
	struct peer *p = probe_sender(e, src, buf, len);
	if (!p) {
		e->st.rx_bad_source++;
		return ENGINE_RX_BAD_SOURCE;
	}
	engine_visit_touch(e, p);
	engine_path_own_rx(p, len);
	note_ours(e, p, now);
	note_version(e, p, buf[0], now);
	emit(e, p, reply_type(e, buf[0]), get32(buf + 1), engine_port(e), reply);
	engine_path_own_tx(p, reply->len);
	e->st.probe_replies_sent++;
	/* Probed over a path we thought dead: it works; look soon. */
	if (p->path_dead)
		engine_mark_dirty(e, now);
	return ENGINE_RX_PROBE;
}
