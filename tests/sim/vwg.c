/* The simulator's WireGuard: the configuration (peers, endpoints,
 * AllowedIPs, keepalive intervals, handshake times, counters, cryptokey
 * routing) is a struct wg_mem, changed and read through wgdev handles like
 * any WireGuard device; this file adds only what WireGuard does with it on
 * the wire: handshake messages over the vnet, sessions, WireGuard's timers,
 * queues and forwarding. It keeps its per-peer state as the model's owner
 * data (struct vwg_peer), created and dropped by the model's hooks, and
 * writes back into the model what WireGuard reports: handshake times,
 * byte counts and roamed endpoints. */
#include "sim/vwg.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "sim/simrand.h"
#include "sys/wg_mem.h"

enum msg_type { MSG_INIT = 1, MSG_RESP = 2, MSG_DATA = 3 };

/* type | sender key | receiver key | id (BE32) | body */
/* type, sender's key, receiver's key, session id, and (data only; 0
 * otherwise) the message counter WireGuard's anti-replay window checks. */
#define MSG_HEADER (1 + 2 * WL_KEY_LEN + 4 + 8)
#define MSG_COUNTER_AT (1 + 2 * WL_KEY_LEN + 4)
/* WireGuard refuses a counter it has seen, or one this far below the
 * highest seen (its window is wider; any width shows the behaviour). */
#define REPLAY_WINDOW 64
/* inner packet: family | src | dst | sport | dport | payload */
#define INNER_HEADER (1 + 16 + 16 + 2 + 2)
/* Counted per message like WireGuard's data overhead. */
#define WG_OVERHEAD 32
/* A handshake message counts its size on the wire, as WireGuard's peer
 * counters do: an initiation that nobody answers still moves tx (the
 * path watch sees traffic queued behind it, src/core/path.c). */
#define WG_INIT_BYTES 148
#define WG_RESP_BYTES 92

/* A data message: its header and tag, and the packet padded to 16 bytes
 * as WireGuard pads it (so a data message is never a handshake's size). */
static size_t wire_bytes(uint8_t type, size_t body_len)
{
	return type == MSG_INIT ? WG_INIT_BYTES
	       : type == MSG_RESP ? WG_RESP_BYTES
				  : WG_OVERHEAD + ((body_len + 15) & ~(size_t)15);
}
#define INNER_MAX 65000

struct queued {
	size_t len; /* 0 = keepalive */
	uint8_t *buf; /* encoded inner packet */
};

struct session {
	bool valid;
	uint32_t id;
	int64_t start;
	/* The next counter we send on it, the highest we received (0: none;
	 * counters start at 1) and which of the REPLAY_WINDOW below it came:
	 * a duplicated datagram is dropped as WireGuard drops it, before it
	 * reaches the inner stack or the counters. */
	uint64_t tx_ctr, rx_max, rx_seen;
};

/* The data plane's state of one peer, the model's owner data for it. */
struct vwg_peer {
	/* The model's peer: key, endpoint, keepalive interval, and what we
	 * report back (handshake time, counters, roaming). */
	struct wg_peer *wp;

	struct session cur, prev, next; /* next: responder, unconfirmed */
	bool cur_initiator;
	int64_t handshake_at; /* virtual time of the last handshake, ENGINE_NEVER */

	bool hs_pending;
	uint32_t hs_id;
	bool hs_overwritten; /* an initiation from the peer replaced ours */
	/* The last initiation of the peer's we answered: WireGuard refuses
	 * one whose timestamp is not later than that one's, so a duplicated
	 * initiation is neither answered nor counted. */
	bool answered_any;
	/* The configured endpoint has had nothing sent to it yet (here, in
	 * padding: a peer's size, and so its allocation's stride, stays). */
	bool ep_unsent;
	bool armed; /* listed in vwg.armed (also padding) */
	uint32_t answered_id;
	int64_t hs_first, hs_retry_at;

	int64_t keepalive_at;   /* passive keepalive */
	int64_t new_hs_at;      /* data sent, nothing heard back */
	int64_t persistent_at;

	size_t n_queue;
	struct queued queue[VWG_QUEUE_MAX];
};

struct vwg {
	struct vnet *net;
	int node;
	struct wg_mem *model;
	struct wgdev *wg; /* our own handle on it: vwg_apply, vwg_snapshot */
	bool forwarding;
	struct simrand rng;
	vwg_recv_fn recv;
	void *recv_ctx;
	size_t n_addrs;
	struct wl_cidr *addrs;
	struct vwg_stats stats;
	/* A lower bound of the earliest timer: arming a timer lowers it,
	 * clearing one leaves it (a wake-up that finds nothing due is cheap),
	 * and vwg_run_timers() recomputes it exactly. Scanning every peer on
	 * every query made a 100-peer hub the simulator's hot spot. */
	int64_t next_timer;
	/* The peers that may have a timer set: run_timers looks at these
	 * only. A peer with none leaves the list there. */
	struct vwg_peer **armed;
	size_t n_armed, cap_armed;
	/* The host's wall clock minus virtual time: WireGuard stamps
	 * handshakes with the host's wall clock (vwg_set_wall_offset). */
	int64_t wall_offset;
};

static void *xrealloc(void *p, size_t n, size_t size)
{
	void *q = reallocarray(p, n ? n : 1, size);
	if (!q) {
		fprintf(stderr, "vwg: out of memory\n");
		abort();
	}
	return q;
}


static int64_t now_of(const struct vwg *dev)
{
	return vnet_now(dev->net);
}

/* Sets one of p's timers (t may be ENGINE_NEVER to clear it). */
static void arm(struct vwg *dev, struct vwg_peer *p, int64_t *timer, int64_t t)
{
	*timer = t;
	if (t == ENGINE_NEVER)
		return;
	if (t < dev->next_timer)
		dev->next_timer = t;
	if (!p->armed) {
		if (!wl_grow((void **)&dev->armed, &dev->cap_armed, dev->n_armed + 1,
			     sizeof(*dev->armed))) {
			fprintf(stderr, "vwg: out of memory\n");
			abort();
		}
		dev->armed[dev->n_armed++] = p;
		p->armed = true;
	}
}

/* ---- encoding ---- */

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Encodes an inner packet into a fresh buffer of *len bytes. */
static uint8_t *inner_encode(const struct vwg_inner *pkt, size_t *len)
{
	*len = INNER_HEADER + pkt->len;
	uint8_t *b = malloc(*len);
	if (!b)
		return NULL;
	b[0] = pkt->dst.family;
	memcpy(b + 1, pkt->src.bytes, 16);
	memcpy(b + 17, pkt->dst.bytes, 16);
	b[33] = (uint8_t)(pkt->sport >> 8);
	b[34] = (uint8_t)pkt->sport;
	b[35] = (uint8_t)(pkt->dport >> 8);
	b[36] = (uint8_t)pkt->dport;
	if (pkt->len)
		memcpy(b + INNER_HEADER, pkt->data, pkt->len);
	return b;
}

static bool inner_decode(const uint8_t *b, size_t len, struct vwg_inner *out)
{
	if (len < INNER_HEADER || (b[0] != AF_INET && b[0] != AF_INET6))
		return false;
	memset(out, 0, sizeof(*out));
	out->src.family = out->dst.family = b[0];
	memcpy(out->src.bytes, b + 1, 16);
	memcpy(out->dst.bytes, b + 17, 16);
	out->sport = (uint16_t)(b[33] << 8 | b[34]);
	out->dport = (uint16_t)(b[35] << 8 | b[36]);
	out->len = len - INNER_HEADER;
	out->data = b + INNER_HEADER;
	return true;
}

/* ---- peers: the model's, with our state attached ---- */

static struct vwg_peer *vpeer(struct wg_peer *wp)
{
	return wp ? wg_mem_peer_data(wp) : NULL;
}

static struct vwg_peer *find_peer(const struct vwg *dev, const uint8_t key[static WL_KEY_LEN])
{
	return vpeer(wg_mem_find(dev->model, key));
}

/* Cryptokey routing: longest-prefix match over every peer's AllowedIPs. */
static struct vwg_peer *route(struct vwg *dev, const struct wl_addr *addr)
{
	return vpeer(wg_mem_route(dev->model, addr));
}

static void clear_queue(struct vwg_peer *p)
{
	for (size_t i = 0; i < p->n_queue; i++)
		free(p->queue[i].buf);
	p->n_queue = 0;
}

/* Virtual ms as the wall-clock time WireGuard reports (VWG_EPOCH_SEC at 0,
 * plus the host's offset). */
static struct timespec ms_to_timespec(const struct vwg *dev, int64_t ms)
{
	struct timespec ts;
	int64_t total = (int64_t)VWG_EPOCH_SEC * 1000 + ms + dev->wall_offset;
	ts.tv_sec = (time_t)(total / 1000);
	ts.tv_nsec = (long)(total % 1000) * 1000000L;
	return ts;
}

static bool session_usable(const struct vwg *dev, const struct session *s)
{
	return s->valid && now_of(dev) - s->start < VWG_REJECT_AFTER_TIME;
}

/* ---- sending messages ---- */

static void send_msg(struct vwg *dev, struct vwg_peer *p, uint8_t type, uint32_t id,
		     uint64_t ctr, const uint8_t *body, size_t body_len)
{
	uint8_t stackbuf[MSG_HEADER + 1500];
	uint8_t *buf = body_len <= 1500 ? stackbuf : malloc(MSG_HEADER + body_len);
	if (!buf)
		return;
	buf[0] = type;
	wg_mem_public_key(dev->model, buf + 1);
	memcpy(buf + 1 + WL_KEY_LEN, p->wp->public_key, WL_KEY_LEN);
	put32(buf + 1 + 2 * WL_KEY_LEN, id);
	put32(buf + MSG_COUNTER_AT, (uint32_t)(ctr >> 32));
	put32(buf + MSG_COUNTER_AT + 4, (uint32_t)ctr);
	if (body_len)
		memcpy(buf + MSG_HEADER, body, body_len);
	vnet_send(dev->net, dev->node, wg_mem_listen_port(dev->model), &p->wp->endpoint, buf,
		  MSG_HEADER + body_len);
	if (buf != stackbuf)
		free(buf);
	p->wp->tx_bytes += wire_bytes(type, body_len);
	p->ep_unsent = false;
	wg_mem_peer_touch(p->wp);
	/* Any authenticated packet sent: no passive keepalive needed, and
	 * the persistent keepalive restarts. */
	p->keepalive_at = ENGINE_NEVER;
	if (p->wp->persistent_keepalive)
		arm(dev, p, &p->persistent_at, now_of(dev) + (int64_t)p->wp->persistent_keepalive * 1000);
}

static int64_t retry_delay(struct vwg *dev)
{
	return VWG_REKEY_TIMEOUT + (int64_t)simrand_below(&dev->rng, VWG_REKEY_TIMEOUT_JITTER);
}

static void send_initiation(struct vwg *dev, struct vwg_peer *p)
{
	p->hs_id = (uint32_t)simrand_next(&dev->rng);
	p->hs_overwritten = false;
	arm(dev, p, &p->hs_retry_at, now_of(dev) + retry_delay(dev));
	dev->stats.handshakes_initiated++;
	send_msg(dev, p, MSG_INIT, p->hs_id, 0, NULL, 0);
}

/* Starts a handshake unless one is under way or there is nowhere to send. */
static void initiate(struct vwg *dev, struct vwg_peer *p)
{
	if (p->hs_pending || !p->wp->has_endpoint)
		return;
	p->hs_pending = true;
	p->hs_first = now_of(dev);
	send_initiation(dev, p);
}

/* Sends one data message (len 0 = keepalive) on the current session. */
static void send_data(struct vwg *dev, struct vwg_peer *p, const uint8_t *buf, size_t len)
{
	send_msg(dev, p, MSG_DATA, p->cur.id, ++p->cur.tx_ctr, buf, len);
	if (len) {
		dev->stats.data_sent++;
		if (p->new_hs_at == ENGINE_NEVER)
			arm(dev, p, &p->new_hs_at, now_of(dev) + VWG_KEEPALIVE_TIMEOUT + retry_delay(dev));
	} else {
		dev->stats.keepalives_sent++;
	}
	/* Keep the key fresh: the initiator rekeys after RekeyAfterTime. */
	if (p->cur_initiator && now_of(dev) - p->cur.start >= VWG_REKEY_AFTER_TIME)
		initiate(dev, p);
}

static void enqueue(struct vwg *dev, struct vwg_peer *p, const uint8_t *buf, size_t len)
{
	if (p->n_queue == VWG_QUEUE_MAX) {
		free(p->queue[0].buf);
		memmove(&p->queue[0], &p->queue[1], (VWG_QUEUE_MAX - 1) * sizeof(p->queue[0]));
		p->n_queue--;
		dev->stats.queue_dropped++;
	}
	struct queued *q = &p->queue[p->n_queue];
	q->len = len;
	q->buf = NULL;
	if (len) {
		q->buf = malloc(len);
		if (!q->buf)
			return;
		memcpy(q->buf, buf, len);
	}
	p->n_queue++;
}

/* Sends buf (an encoded inner packet, or a keepalive when len is 0) to p,
 * queueing it behind a handshake when there is no usable session. */
static void peer_xmit(struct vwg *dev, struct vwg_peer *p, const uint8_t *buf, size_t len)
{
	if (session_usable(dev, &p->cur)) {
		send_data(dev, p, buf, len);
		return;
	}
	enqueue(dev, p, buf, len);
	initiate(dev, p);
}

static void flush_queue(struct vwg *dev, struct vwg_peer *p)
{
	size_t n = p->n_queue;
	struct queued q[VWG_QUEUE_MAX];
	memcpy(q, p->queue, n * sizeof(q[0]));
	p->n_queue = 0;
	for (size_t i = 0; i < n; i++) {
		send_data(dev, p, q[i].buf, q[i].len);
		free(q[i].buf);
	}
}

/* ---- receiving ---- */

/* bytes: the message's size on the wire (wire_bytes). */
static void got_authenticated(struct vwg *dev, struct vwg_peer *p, const struct wl_endpoint *from,
			      size_t bytes)
{
	/* Roaming: the endpoint follows the latest authenticated packet. */
	p->wp->has_endpoint = true;
	p->wp->endpoint = *from;
	p->ep_unsent = false; /* the peer reached us: no try is needed */
	p->wp->rx_bytes += bytes;
	wg_mem_peer_touch(p->wp);
	p->new_hs_at = ENGINE_NEVER;
	if (p->wp->persistent_keepalive)
		arm(dev, p, &p->persistent_at, now_of(dev) + (int64_t)p->wp->persistent_keepalive * 1000);
}

static void on_init(struct vwg *dev, struct vwg_peer *p, uint32_t id, const struct wl_endpoint *from)
{
	if (p->answered_any && id == p->answered_id) {
		dev->stats.rx_replayed++;
		return;
	}
	p->answered_any = true;
	p->answered_id = id;
	got_authenticated(dev, p, from, WG_INIT_BYTES);
	/* WireGuard keeps one handshake state per peer: answering the peer's
	 * initiation replaces our own pending one, so the response to ours
	 * is refused when it comes, and only our retry (RekeyTimeout later)
	 * or the peer's first data on the new session gets us going. Two
	 * initiations that cross therefore cost 5 s. */
	if (p->hs_pending)
		p->hs_overwritten = true;
	p->next = (struct session){ .valid = true, .id = id, .start = now_of(dev) };
	dev->stats.handshakes_responded++;
	send_msg(dev, p, MSG_RESP, id, 0, NULL, 0);
}

static void session_rotate(struct vwg_peer *p, struct session s, bool initiator)
{
	p->prev = p->cur;
	p->cur = s;
	p->cur_initiator = initiator;
}

static void on_resp(struct vwg *dev, struct vwg_peer *p, uint32_t id, const struct wl_endpoint *from)
{
	if (!p->hs_pending || id != p->hs_id || p->hs_overwritten) {
		dev->stats.rx_bad_session++;
		return;
	}
	got_authenticated(dev, p, from, WG_RESP_BYTES);
	struct session s = { .valid = true, .id = id, .start = now_of(dev) };
	session_rotate(p, s, true);
	/* Like WireGuard: a session we responded to meanwhile (crossed
	 * initiations) becomes the previous one, so its first data does not
	 * take over the current session and leave both sides as responders
	 * that never rekey. */
	if (p->next.valid) {
		p->prev = p->next;
		p->next.valid = false;
	}
	p->hs_pending = false;
	p->hs_retry_at = ENGINE_NEVER;
	p->handshake_at = now_of(dev);
	p->wp->last_handshake = ms_to_timespec(dev, p->handshake_at);
	wg_mem_peer_touch(p->wp);
	dev->stats.handshakes_completed++;
	/* The responder needs a data packet to confirm the session. */
	if (p->n_queue == 0)
		enqueue(dev, p, NULL, 0);
	flush_queue(dev, p);
}

static void deliver_inner(struct vwg *dev, struct vwg_peer *from, const uint8_t *body, size_t len)
{
	struct vwg_inner pkt;
	if (!inner_decode(body, len, &pkt))
		return;
	/* Cryptokey routing: the source must route back to the sender. */
	if (route(dev, &pkt.src) != from) {
		dev->stats.rx_cryptokey_refused++;
		return;
	}
	dev->stats.data_received++;
	dev->stats.tun_rx_bytes += pkt.len + VWG_INNER_HEADER;
	for (size_t i = 0; i < dev->n_addrs; i++) {
		if (wl_addr_equal(&dev->addrs[i].addr, &pkt.dst)) {
			if (dev->recv)
				dev->recv(dev->recv_ctx, dev, &pkt, from->wp->public_key);
			return;
		}
	}
	if (!dev->forwarding)
		return;
	struct vwg_peer *to = route(dev, &pkt.dst);
	if (!to || !to->wp->has_endpoint) {
		dev->stats.tx_no_route++;
		return;
	}
	dev->stats.forwarded++;
	peer_xmit(dev, to, body, len);
}

/* WireGuard's anti-replay check on session s: true (and noted) the
 * first time counter c comes, false for a repeat or one too old. */
static bool counter_fresh(struct session *s, uint64_t c)
{
	if (c > s->rx_max) {
		uint64_t shift = c - s->rx_max;
		s->rx_seen = shift >= REPLAY_WINDOW ? 0 : s->rx_seen << shift;
		s->rx_seen |= 1;
		s->rx_max = c;
		return true;
	}
	uint64_t back = s->rx_max - c;
	if (c == 0 || back >= REPLAY_WINDOW || (s->rx_seen & (1ull << back)))
		return false;
	s->rx_seen |= 1ull << back;
	return true;
}

/* The session a data message with this id is for, or NULL. */
static struct session *data_session(struct vwg *dev, struct vwg_peer *p, uint32_t id)
{
	if (p->next.valid && id == p->next.id && now_of(dev) - p->next.start < VWG_REJECT_AFTER_TIME)
		return &p->next;
	if (p->cur.valid && id == p->cur.id && session_usable(dev, &p->cur))
		return &p->cur;
	if (p->prev.valid && id == p->prev.id && session_usable(dev, &p->prev))
		return &p->prev;
	return NULL;
}

static void on_data(struct vwg *dev, struct vwg_peer *p, uint32_t id, uint64_t ctr,
		    const struct wl_endpoint *from, const uint8_t *body, size_t len)
{
	struct session *s = data_session(dev, p, id);
	if (s && !counter_fresh(s, ctr)) {
		dev->stats.rx_replayed++;
		return;
	}
	if (s == &p->next) {
		/* First packet on the session we responded to: confirmed. */
		session_rotate(p, p->next, false);
		p->next.valid = false;
		p->handshake_at = now_of(dev);
		p->wp->last_handshake = ms_to_timespec(dev, p->handshake_at);
	wg_mem_peer_touch(p->wp);
		p->hs_pending = false;
		p->hs_retry_at = ENGINE_NEVER;
		got_authenticated(dev, p, from, wire_bytes(MSG_DATA, len));
		flush_queue(dev, p);
	} else if (s) {
		got_authenticated(dev, p, from, wire_bytes(MSG_DATA, len));
	} else {
		dev->stats.rx_bad_session++;
		return;
	}
	if (len == 0)
		return;
	if (p->keepalive_at == ENGINE_NEVER)
		arm(dev, p, &p->keepalive_at, now_of(dev) + VWG_KEEPALIVE_TIMEOUT);
	/* The receiving side rekeys a little before the session dies. */
	if (p->cur_initiator &&
	    now_of(dev) - p->cur.start >= VWG_REJECT_AFTER_TIME - VWG_KEEPALIVE_TIMEOUT - VWG_REKEY_TIMEOUT)
		initiate(dev, p);
	deliver_inner(dev, p, body, len);
}

static void on_udp(void *ctx, int node, const struct wl_endpoint *local,
		   const struct wl_endpoint *remote, const uint8_t *data, size_t len)
{
	struct vwg *dev = ctx;
	uint8_t pub[WL_KEY_LEN];
	if (len < MSG_HEADER || !wg_mem_public_key(dev->model, pub) ||
	    memcmp(data + 1 + WL_KEY_LEN, pub, WL_KEY_LEN) != 0)
		return;
	struct vwg_peer *p = find_peer(dev, data + 1);
	if (!p) {
		dev->stats.rx_unknown_peer++;
		return;
	}
	uint32_t id = get32(data + 1 + 2 * WL_KEY_LEN);
	switch (data[0]) {
	case MSG_INIT:
		on_init(dev, p, id, remote);
		break;
	case MSG_RESP:
		on_resp(dev, p, id, remote);
		break;
	case MSG_DATA:
		on_data(dev, p, id,
			(uint64_t)get32(data + MSG_COUNTER_AT) << 32 | get32(data + MSG_COUNTER_AT + 4),
			remote, data + MSG_HEADER, len - MSG_HEADER);
		break;
	default:
		break;
	}
}

/* ---- the model's hooks ---- */

static int hook_peer_added(void *ctx, struct wg_peer *wp)
{
	struct vwg_peer *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->wp = wp;
	p->hs_retry_at = p->keepalive_at = p->new_hs_at = p->persistent_at = ENGINE_NEVER;
	p->handshake_at = ENGINE_NEVER;
	wg_mem_peer_set_data(wp, p);
	return 0;
}

/* The peer's sessions, handshake and queue go with it: a peer added again
 * starts from nothing, as in WireGuard. */
static void hook_peer_removed(void *ctx, struct wg_peer *wp)
{
	struct vwg *dev = ctx;
	struct vwg_peer *p = wg_mem_peer_data(wp);
	for (size_t i = 0; p->armed && i < dev->n_armed; i++) {
		if (dev->armed[i] == p) {
			dev->armed[i] = dev->armed[--dev->n_armed];
			break;
		}
	}
	clear_queue(p);
	free(p);
}

static void hook_keepalive_set(void *ctx, struct wg_peer *wp, uint16_t old_interval)
{
	struct vwg *dev = ctx;
	struct vwg_peer *p = wg_mem_peer_data(wp);
	p->persistent_at = ENGINE_NEVER;
	/* WireGuard sends one keepalive at once when it turns keepalive on
	 * (not when it changes a running interval). */
	if (old_interval == 0 && wp->persistent_keepalive && wp->has_endpoint)
		peer_xmit(dev, p, NULL, 0);
}

/* A new endpoint while the last one configured had nothing sent to it:
 * counted (vwg_stats.endpoints_skipped). */
static void hook_endpoint_set(void *ctx, struct wg_peer *wp)
{
	struct vwg *dev = ctx;
	struct vwg_peer *p = wg_mem_peer_data(wp);
	if (p->ep_unsent)
		dev->stats.endpoints_skipped++;
	p->ep_unsent = true;
}

/* WireGuard moves its socket to the new port. */
static int hook_listen_port_set(void *ctx, uint16_t port)
{
	struct vwg *dev = ctx;
	int r = vnet_bind(dev->net, dev->node, port, on_udp, dev);
	if (r < 0)
		return r;
	vnet_unbind(dev->net, dev->node, wg_mem_listen_port(dev->model));
	return 0;
}

static const struct wg_mem_hooks vwg_hooks = {
	.peer_added = hook_peer_added,
	.peer_removed = hook_peer_removed,
	.keepalive_set = hook_keepalive_set,
	.listen_port_set = hook_listen_port_set,
	.endpoint_set = hook_endpoint_set,
};

/* ---- public API ---- */

struct vwg *vwg_new(struct vnet *net, int node, const char *ifname,
		    const uint8_t private_key[static WL_KEY_LEN], uint16_t listen_port,
		    uint64_t seed)
{
	if (!ifname || strlen(ifname) >= IFNAMSIZ || sodium_init() < 0)
		return NULL;
	struct vwg *dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	dev->net = net;
	dev->node = node;
	simrand_seed(&dev->rng, seed);
	dev->next_timer = VNET_NEVER;
	dev->model = wg_mem_new(ifname, 1000 + (uint32_t)node);
	if (!dev->model || wgdev_open_memory(dev->model, &dev->wg) < 0 ||
	    wgdev_set_device(dev->wg, private_key, listen_port) < 0 ||
	    vnet_bind(net, node, listen_port, on_udp, dev) < 0) {
		wgdev_close(dev->wg);
		wg_mem_free(dev->model);
		free(dev);
		return NULL;
	}
	wg_mem_set_hooks(dev->model, &vwg_hooks, dev);
	return dev;
}

void vwg_free(struct vwg *dev)
{
	if (!dev)
		return;
	vnet_unbind(dev->net, dev->node, wg_mem_listen_port(dev->model));
	wgdev_close(dev->wg);
	wg_mem_free(dev->model); /* our peer state goes through hook_peer_removed */
	free(dev->armed);
	free(dev->addrs);
	free(dev);
}

struct wg_mem *vwg_model(struct vwg *dev)
{
	return dev->model;
}

int vwg_open_wgdev(struct vwg *dev, struct wgdev **out)
{
	return wgdev_open_memory(dev->model, out);
}

void vwg_public_key(const struct vwg *dev, uint8_t out[static WL_KEY_LEN])
{
	wg_mem_public_key(dev->model, out);
}

const char *vwg_name(const struct vwg *dev)
{
	return wg_mem_name(dev->model);
}

uint16_t vwg_listen_port(const struct vwg *dev)
{
	return wg_mem_listen_port(dev->model);
}

int vwg_node(const struct vwg *dev)
{
	return dev->node;
}

const struct vwg_stats *vwg_stats(const struct vwg *dev)
{
	return &dev->stats;
}

void vwg_add_address(struct vwg *dev, const struct wl_cidr *addr)
{
	dev->addrs = xrealloc(dev->addrs, dev->n_addrs + 1, sizeof(*dev->addrs));
	dev->addrs[dev->n_addrs++] = *addr;
}

size_t vwg_address_count(const struct vwg *dev)
{
	return dev->n_addrs;
}

const struct wl_cidr *vwg_addresses(const struct vwg *dev)
{
	return dev->addrs;
}

void vwg_set_forwarding(struct vwg *dev, bool on)
{
	dev->forwarding = on;
}

void vwg_set_recv(struct vwg *dev, vwg_recv_fn fn, void *ctx)
{
	dev->recv = fn;
	dev->recv_ctx = ctx;
}

int vwg_apply(struct vwg *dev, const struct wg_peer_change *changes, size_t n)
{
	return wgdev_apply(dev->wg, changes, n);
}

int64_t vwg_timespec_to_ms(const struct timespec *ts)
{
	if (ts->tv_sec == 0 && ts->tv_nsec == 0)
		return ENGINE_NEVER;
	return (int64_t)ts->tv_sec * 1000 + ts->tv_nsec / 1000000 - (int64_t)VWG_EPOCH_SEC * 1000;
}

void vwg_device_free(struct wg_device *d)
{
	wg_device_free(d);
}

struct wg_device *vwg_snapshot(const struct vwg *dev)
{
	struct wg_device *d = NULL;
	return wgdev_get(dev->wg, &d) == 0 ? d : NULL;
}

int64_t vwg_peer_handshake(const struct vwg *dev, const uint8_t key[static WL_KEY_LEN])
{
	const struct wg_peer *wp = wg_mem_find(dev->model, key);
	const struct vwg_peer *p = wp ? wg_mem_peer_data(wp) : NULL;
	return p ? p->handshake_at : ENGINE_NEVER;
}

void vwg_set_wall_offset(struct vwg *dev, int64_t offset_ms)
{
	dev->wall_offset = offset_ms;
}

int vwg_send(struct vwg *dev, const struct vwg_inner *pkt)
{
	if (pkt->len > INNER_MAX)
		return -EMSGSIZE;
	struct vwg_peer *p = route(dev, &pkt->dst);
	if (!p) {
		dev->stats.tx_no_route++;
		return -EHOSTUNREACH;
	}
	if (!p->wp->has_endpoint) {
		dev->stats.tx_no_endpoint++;
		return -EDESTADDRREQ;
	}
	size_t len;
	uint8_t *buf = inner_encode(pkt, &len);
	if (!buf)
		return -ENOMEM;
	dev->stats.tun_tx_bytes += pkt->len + VWG_INNER_HEADER;
	peer_xmit(dev, p, buf, len);
	free(buf);
	return 0;
}

static int64_t min64(int64_t a, int64_t b)
{
	if (a == ENGINE_NEVER)
		return b;
	if (b == ENGINE_NEVER)
		return a;
	return a < b ? a : b;
}

int64_t vwg_next_timer(const struct vwg *dev)
{
	return dev->next_timer;
}

static void peer_timers(struct vwg *dev, struct vwg_peer *p, int64_t now)
{
	if (p->hs_pending && p->hs_retry_at <= now) {
		if (now - p->hs_first >= VWG_REKEY_ATTEMPT_TIME || !p->wp->has_endpoint) {
			p->hs_pending = false;
			p->hs_retry_at = ENGINE_NEVER;
			dev->stats.handshake_timeouts++;
			clear_queue(p);
		} else {
			send_initiation(dev, p);
		}
	}
	if (p->new_hs_at != ENGINE_NEVER && p->new_hs_at <= now) {
		p->new_hs_at = ENGINE_NEVER;
		initiate(dev, p);
	}
	if (p->keepalive_at != ENGINE_NEVER && p->keepalive_at <= now) {
		p->keepalive_at = ENGINE_NEVER;
		if (session_usable(dev, &p->cur))
			send_data(dev, p, NULL, 0);
	}
	if (p->persistent_at != ENGINE_NEVER && p->persistent_at <= now) {
		p->persistent_at = ENGINE_NEVER;
		if (p->wp->has_endpoint)
			peer_xmit(dev, p, NULL, 0);
	}
}

static int by_model_place(const void *a, const void *b)
{
	size_t x = wg_mem_peer_index((*(struct vwg_peer *const *)a)->wp);
	size_t y = wg_mem_peer_index((*(struct vwg_peer *const *)b)->wp);
	return x < y ? -1 : x > y;
}

/* The earliest of p's timers, ENGINE_NEVER if none is set. */
static int64_t peer_next_timer(const struct vwg_peer *p)
{
	int64_t t = p->hs_pending ? p->hs_retry_at : ENGINE_NEVER;
	t = min64(t, p->keepalive_at);
	t = min64(t, p->new_hs_at);
	return min64(t, p->persistent_at);
}

/* The peers with a timer set, in the model's order (as WireGuard's timers
 * would fire one instant's in some order, this keeps one order); a peer
 * left with none leaves the list. At a thousand peers, looking at every
 * one whenever a timer fired was a tenth of the simulator's steady state. */
void vwg_run_timers(struct vwg *dev)
{
	int64_t now = now_of(dev);
	if (dev->next_timer > now)
		return;
	qsort(dev->armed, dev->n_armed, sizeof(*dev->armed), by_model_place);
	/* (A timer's work arms only its own peer, already listed.) */
	for (size_t i = 0; i < dev->n_armed; i++)
		peer_timers(dev, dev->armed[i], now);
	int64_t t = ENGINE_NEVER;
	size_t kept = 0;
	for (size_t i = 0; i < dev->n_armed; i++) {
		struct vwg_peer *p = dev->armed[i];
		int64_t u = peer_next_timer(p);
		p->armed = u != ENGINE_NEVER;
		if (p->armed)
			dev->armed[kept++] = p;
		t = min64(t, u);
	}
	dev->n_armed = kept;
	dev->next_timer = t == ENGINE_NEVER ? VNET_NEVER : t;
}
