/* The tick driver (see driver.h). */
#include "daemon/driver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/grow.h"
#include "sys/log.h"
#include "sys/loglimit.h"
#include "sys/udp.h"
#include "wire/autoaddr.h"

/* The same handshake read twice may differ by the wall clock's rounding
 * (the engine allows as much: test_core_expiry health_from_handshakes). */
#define HS_STAMP_SLACK_MS 2

/* A peer's handshake as the last tick read it: WireGuard's wall-clock
 * stamp and the engine time it was taken to mean. */
struct hs_memo {
	uint8_t key[WL_KEY_LEN];
	int64_t stamp; /* wall ms */
	int64_t mono;
};

struct driver {
	struct driver_host host;
	struct wl_config *cfg;
	struct engine *engine;
	bool fixed_engine; /* driver_new_with_engine: no reload, no DNS */
	struct engine_actions actions;
	int64_t *resolved_at; /* per configured peer: its last DNS resolution */
	struct driver_identity id;
	bool ticked;
	int64_t last_tick_mono, last_tick_wall;
	uint16_t listen_port; /* the device's, as of the last tick */
	/* Sensing (driver_sense): the tunnel's counters as last read, our own
	 * bytes through the tunnel since, and when to look again. */
	bool sensing;
	uint64_t tun_rx, tun_tx, tun_own;
	int64_t sense_at;
	bool tun_busy; /* the counters moved beyond ours since the last tick */
	struct driver_stats st;
	/* Sending that keeps failing for a reason of ours (the address or
	 * the link gone): logged when it starts, once a minute while it
	 * lasts and when it ends; the host's status says so meanwhile. */
	struct log_streak tx_fail;
	/* [ours] Handshake stamps as the last tick read them (in the device's
	 * peer order) and the next tick's being written: an unchanged stamp
	 * keeps the time it was given, so a wall-clock step cannot make an
	 * old handshake look young (driver_handshake_ms would, for a step
	 * back). */
	struct hs_memo *hs, *hs_next;
	size_t n_hs, cap_hs, cap_hs_next;
	/* The device as the last tick read it: refreshed, not read anew,
	 * where the backend can (wgdev_refresh: the memory model). */
	struct wg_device *dev;
	/* The engine's view of the device, kept from tick to tick: where the
	 * backend says which peers moved (wg_device.same_peers), only those
	 * are written, and the engine told so. views_given: the engine got
	 * the last one written (a tick that stopped short of engine_tick
	 * leaves it not knowing what moved). */
	struct engine_peer_view *views;
	size_t cap_views, n_views;
	bool views_given;
	struct wg_peer_change *changes;
	size_t cap_changes;
};

/* ---- configured endpoints ---- */

/* A configured peer's endpoints, resolved: global unicast results only
 * (SPEC §5), each once, at most cap. */
static size_t resolve_peer(const struct driver *d, const struct wl_config_peer *p,
			   struct wl_endpoint *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n_endpoints && n < cap; i++) {
		struct wl_endpoint got[DRIVER_MAX_PEER_ENDPOINTS];
		size_t k = d->host.ops->resolve(d->host.ctx, &p->endpoints[i], got,
						DRIVER_MAX_PEER_ENDPOINTS);
		for (size_t j = 0; j < k && n < cap; j++) {
			bool skip = !wl_addr_is_global_unicast(&got[j].addr);
			for (size_t m = 0; m < n && !skip; m++)
				skip = wl_endpoint_equal(&out[m], &got[j]); /* a repeat */
			if (!skip)
				out[n++] = got[j];
		}
	}
	return n;
}

/* Re-resolves configured peers whose configured endpoints are in use
 * (neither alive nor healthy), at most once per interval each. */
static void refresh_endpoints(struct driver *d, int64_t now)
{
	if (d->fixed_engine)
		return;
	for (size_t i = 0; i < d->cfg->n_peers; i++) {
		const struct wl_config_peer *p = &d->cfg->peers[i];
		if (p->n_endpoints == 0 || now - d->resolved_at[i] < DRIVER_RESOLVE_INTERVAL_MS ||
		    !engine_peer_wants_endpoints(d->engine, p->public_key, now))
			continue;
		struct wl_endpoint eps[DRIVER_MAX_PEER_ENDPOINTS];
		size_t n = resolve_peer(d, p, eps, DRIVER_MAX_PEER_ENDPOINTS);
		engine_set_peer_endpoints(d->engine, p->public_key, eps, n);
		d->resolved_at[i] = now;
		d->st.resolves++;
	}
}

/* ---- building the engine ---- */

/* The engine for cfg, with the device's private key; resolved_at gets the
 * time of each peer's first resolution. NULL (logged) on failure. */
static struct engine *make_engine(struct driver *d, const struct wl_config *cfg,
				  const uint8_t priv[static WL_KEY_LEN], int64_t now,
				  int64_t *resolved_at)
{
	struct engine_config ec;
	engine_config_init(&ec);
	memcpy(ec.private_key, priv, WL_KEY_LEN);
	ec.port = d->id.port;
	ec.router = cfg->router;
	ec.chatty = cfg->chatty;
	ec.timing.leases = cfg->leases;
	ec.timing.quiet_period_ms = (int64_t)cfg->quiet_period * 1000;
	ec.timing.dormant = cfg->dormant;
	ec.facts_per_source = cfg->quota_facts;
	ec.endpoints_per_subject = cfg->quota_endpoints;
	ec.allowed_per_subject = cfg->quota_allowed_ips;
	ec.new_members_burst = cfg->quota_new_members;
	ec.new_members_per_min = cfg->quota_new_members_per_min;
	ec.agreement = (struct key_agreement){ d->host.ops->agree, d->host.ctx };
	struct engine_peer_config *peers = calloc(cfg->n_peers + 1, sizeof(*peers));
	struct wl_endpoint *eps =
		calloc((cfg->n_peers + 1) * DRIVER_MAX_PEER_ENDPOINTS, sizeof(*eps));
	struct engine *e = NULL;
	const char *why = "out of memory";
	if (!peers || !eps)
		goto out;
	for (size_t i = 0; i < cfg->n_peers; i++) {
		const struct wl_config_peer *p = &cfg->peers[i];
		struct engine_peer_config *pc = &peers[i];
		memcpy(pc->public_key, p->public_key, WL_KEY_LEN);
		pc->name = p->name;
		pc->trust = p->trust;
		pc->fact_exchanger = p->fact_exchanger;
		pc->basic = p->basic;
		pc->endpoints = eps + i * DRIVER_MAX_PEER_ENDPOINTS;
		pc->n_endpoints = resolve_peer(d, p, eps + i * DRIVER_MAX_PEER_ENDPOINTS,
					       DRIVER_MAX_PEER_ENDPOINTS);
		pc->allowed_ips = p->allowed_ips;
		pc->n_allowed = p->n_allowed_ips;
		resolved_at[i] = now;
	}
	ec.peers = peers;
	ec.n_peers = cfg->n_peers;
	if (!engine_config_check(&ec, &why))
		goto out;
	uint8_t seed[32];
	d->host.ops->random(d->host.ctx, seed, sizeof(seed));
	e = engine_new(&ec, seed, now);
	sodium_memzero(seed, sizeof(seed));
out:
	if (!e)
		log_error("cannot start the engine: %s", why);
	sodium_memzero(ec.private_key, sizeof(ec.private_key));
	free(peers);
	free(eps);
	return e;
}

/* Reads the device for driver_new and driver_reload: it must be there and
 * have a private key. */
static int read_identity(struct driver *d, struct wg_device **out)
{
	int rc = wgdev_get(d->host.wg, out);
	if (rc < 0) {
		log_error("cannot read WireGuard interface %s: %s", wgdev_ifname(d->host.wg),
			  strerror(-rc));
		return rc;
	}
	if (!(*out)->has_private_key) {
		log_error("WireGuard interface %s has no private key; configure it first",
			  wgdev_ifname(d->host.wg));
		wg_device_free(*out);
		*out = NULL;
		return -ENOKEY;
	}
	return 0;
}

static struct driver *driver_alloc(const struct driver_host *host)
{
	struct driver *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->host = *host;
	engine_actions_init(&d->actions);
	return d;
}

int driver_new(const struct driver_host *host, struct wl_config *cfg, int64_t now,
	       struct driver **out)
{
	*out = NULL;
	struct driver *d = driver_alloc(host);
	if (!d)
		return -ENOMEM;
	struct wg_device *dev = NULL;
	int rc = read_identity(d, &dev);
	if (rc < 0)
		goto fail;
	memcpy(d->id.public_key, dev->public_key, WL_KEY_LEN);
	autoaddr_of(dev->public_key, &d->id.auto_addr);
	d->id.ifindex = dev->ifindex;
	d->id.port = cfg->port ? cfg->port : (uint16_t)(dev->listen_port + 1);
	if (!cfg->port && dev->listen_port == 0)
		log_warn("%s has no listen port yet; using port 1", cfg->iface);
	rc = -ENOMEM;
	d->resolved_at = calloc(cfg->n_peers + 1, sizeof(*d->resolved_at));
	if (d->resolved_at)
		d->engine = make_engine(d, cfg, dev->private_key, now, d->resolved_at);
	wg_device_free(dev);
	if (!d->engine)
		goto fail;
	d->cfg = cfg;
	*out = d;
	return 0;
fail:
	driver_free(d);
	return rc;
}

int driver_new_with_engine(const struct driver_host *host, struct engine *e,
			   struct wl_config *cfg, struct driver **out)
{
	*out = NULL;
	struct driver *d = driver_alloc(host);
	if (!d)
		return -ENOMEM;
	d->engine = e;
	d->cfg = cfg;
	d->fixed_engine = true;
	engine_public_key(e, d->id.public_key);
	autoaddr_of(d->id.public_key, &d->id.auto_addr);
	*out = d;
	return 0;
}

void driver_free(struct driver *d)
{
	if (!d)
		return;
	engine_free(d->engine);
	engine_actions_free(&d->actions);
	config_free(d->cfg);
	free(d->resolved_at);
	wg_device_free(d->dev);
	free(d->views);
	free(d->hs);
	free(d->hs_next);
	free(d->changes);
	free(d);
}

/* ---- one tick ---- */

int64_t driver_handshake_ms(const struct timespec *handshake, int64_t now, int64_t wall_now)
{
	if (handshake->tv_sec == 0 && handshake->tv_nsec == 0)
		return ENGINE_NEVER;
	int64_t at = (int64_t)handshake->tv_sec * 1000 + handshake->tv_nsec / 1000000;
	int64_t age = wall_now - at;
	return now - (age > 0 ? age : 0);
}

/* The last read's memo of the peer with this key, looked for first where
 * it was (index i, or one off: a peer added or removed before it), then
 * everywhere; NULL if the last read did not have it. */
static const struct hs_memo *memo_find(const struct driver *d, size_t i,
				       const uint8_t key[static WL_KEY_LEN])
{
	size_t first = i > 0 ? i - 1 : 0;
	for (size_t k = first; k <= i + 1 && k < d->n_hs; k++)
		if (memcmp(d->hs[k].key, key, WL_KEY_LEN) == 0)
			return &d->hs[k];
	for (size_t k = 0; k < d->n_hs; k++)
		if (memcmp(d->hs[k].key, key, WL_KEY_LEN) == 0)
			return &d->hs[k];
	return NULL;
}

/* p's handshake in engine time, noted in m; old is the last read's note
 * of p (NULL: none). The stamp the last read saw (within the wall
 * clock's rounding) keeps the time it got then, whatever the wall clock
 * did since; a new stamp is taken from its age, as before — a handshake
 * after a step is stamped by the stepped clock. */
static int64_t handshake_memo(const struct hs_memo *old, struct hs_memo *m,
			      const struct wg_peer *p, int64_t now, int64_t wall)
{
	int64_t mono = driver_handshake_ms(&p->last_handshake, now, wall);
	int64_t stamp = (int64_t)p->last_handshake.tv_sec * 1000 + p->last_handshake.tv_nsec / 1000000;
	if (mono != ENGINE_NEVER && old && old->mono != ENGINE_NEVER &&
	    old->stamp - stamp <= HS_STAMP_SLACK_MS && stamp - old->stamp <= HS_STAMP_SLACK_MS)
		mono = old->mono;
	memcpy(m->key, p->public_key, WL_KEY_LEN);
	m->stamp = stamp;
	m->mono = mono;
	return mono;
}

/* Peer i's handshake in engine time, noted for the next read. */
static int64_t handshake_mono(struct driver *d, size_t i, const struct wg_peer *p, int64_t now,
			      int64_t wall)
{
	const struct hs_memo *old = NULL;
	if (p->last_handshake.tv_sec != 0 || p->last_handshake.tv_nsec != 0)
		old = memo_find(d, i, p->public_key);
	return handshake_memo(old, &d->hs_next[i], p, now, wall);
}

/* The next tick compares with what this one read. */
static void memo_swap(struct driver *d, size_t n)
{
	struct hs_memo *t = d->hs;
	size_t cap = d->cap_hs;
	d->hs = d->hs_next;
	d->cap_hs = d->cap_hs_next;
	d->hs_next = t;
	d->cap_hs_next = cap;
	d->n_hs = n;
}

static void view_of(struct engine_peer_view *v, const struct wg_peer *p, int64_t handshake_ms)
{
	memcpy(v->key, p->public_key, WL_KEY_LEN);
	v->has_endpoint = p->has_endpoint;
	v->endpoint = p->endpoint;
	v->handshake_ms = handshake_ms;
	v->rx_bytes = p->rx_bytes;
	v->tx_bytes = p->tx_bytes;
	v->n_allowed = p->n_allowed;
	v->allowed_ips = p->allowed_ips;
}

/* Only the peers the backend wrote, when it says the others are as the
 * engine last saw them: the same peers, and views of them given. */
static bool view_moved_only(struct driver *d, const struct wg_device *dev, int64_t now,
			    int64_t wall)
{
	if (!dev->same_peers || !d->views_given || d->n_views != dev->n_peers ||
	    d->n_hs != dev->n_peers)
		return false;
	for (size_t k = 0; k < dev->n_moved; k++) {
		size_t i = dev->moved[k];
		struct hs_memo old = d->hs[i];
		const struct wg_peer *p = &dev->peers[i];
		view_of(&d->views[i], p, handshake_memo(&old, &d->hs[i], p, now, wall));
	}
	return true;
}

/* The device snapshot as the engine's view (borrowing dev's arrays). */
static bool device_view(struct driver *d, const struct wg_device *dev, int64_t now, int64_t wall,
			struct engine_device *out)
{
	*out = (struct engine_device){ .name = dev->name,
				       .listen_port = dev->listen_port,
				       .n_peers = dev->n_peers };
	if (view_moved_only(d, dev, now, wall)) {
		out->peers = d->views;
		out->same_peers = true;
		out->n_moved = dev->n_moved;
		out->moved = dev->moved;
		return true;
	}
	d->n_views = 0;
	if (!wl_grow((void **)&d->views, &d->cap_views, dev->n_peers, sizeof(*d->views)) ||
	    !wl_grow((void **)&d->hs_next, &d->cap_hs_next, dev->n_peers, sizeof(*d->hs_next)))
		return false;
	for (size_t i = 0; i < dev->n_peers; i++)
		view_of(&d->views[i], &dev->peers[i],
			handshake_mono(d, i, &dev->peers[i], now, wall));
	memo_swap(d, dev->n_peers);
	d->n_views = dev->n_peers;
	out->peers = d->views;
	return true;
}

/* The local interfaces for one tick: every link with its addresses. */
struct iface_list {
	struct netif_link *links;
	size_t n_links;
	struct netif_addr *addrs;
	size_t n_addrs;
	struct engine_iface *ifaces;
	struct wl_cidr *cidrs;
};

static void iface_list_free(struct iface_list *l)
{
	free(l->links);
	free(l->addrs);
	free(l->ifaces);
	free(l->cidrs);
}

static int gather_ifaces(const struct driver *d, struct iface_list *l)
{
	memset(l, 0, sizeof(*l));
	const struct driver_host_ops *ops = d->host.ops;
	int rc = ops->list_links(d->host.ctx, &l->links, &l->n_links);
	if (rc == 0)
		rc = ops->list_addrs(d->host.ctx, &l->addrs, &l->n_addrs);
	if (rc < 0)
		return rc;
	l->ifaces = calloc(l->n_links + 1, sizeof(*l->ifaces));
	l->cidrs = calloc(l->n_addrs + 1, sizeof(*l->cidrs));
	if (!l->ifaces || !l->cidrs)
		return -ENOMEM;
	/* Group addresses by link: cidrs[] holds each link's run in turn. */
	size_t used = 0;
	for (size_t i = 0; i < l->n_links; i++) {
		const struct netif_link *k = &l->links[i];
		struct engine_iface *e = &l->ifaces[i];
		e->name = k->name;
		e->ifindex = k->index;
		e->up = k->up;
		e->report = !d->cfg || config_iface_reported(d->cfg, k->name);
		e->addrs = l->cidrs + used;
		for (size_t j = 0; j < l->n_addrs; j++) {
			if (l->addrs[j].ifindex != k->index)
				continue;
			l->cidrs[used].addr = l->addrs[j].addr;
			l->cidrs[used].prefix = l->addrs[j].prefix;
			used++;
			e->n_addrs++;
		}
	}
	return 0;
}

/* A wall-clock jump (SPEC §4): the two clocks disagree about how much time
 * passed since the last tick. */
static void check_clock(struct driver *d, int64_t now, int64_t wall)
{
	if (d->ticked) {
		int64_t drift = (wall - d->last_tick_wall) - (now - d->last_tick_mono);
		if (drift > DRIVER_CLOCK_JUMP_MS || drift < -DRIVER_CLOCK_JUMP_MS) {
			log_notice("wall clock jumped by %lld ms", (long long)drift);
			engine_clock_jump(d->engine, now);
			d->st.clock_jumps++;
		}
	}
	d->ticked = true;
	d->last_tick_mono = now;
	d->last_tick_wall = wall;
}

static unsigned wg_flags(unsigned engine_flags)
{
	unsigned f = 0;
	if (engine_flags & ENGINE_CHANGE_REMOVE)
		f |= WG_PEER_REMOVE;
	if (engine_flags & ENGINE_CHANGE_UPDATE_ONLY)
		f |= WG_PEER_UPDATE_ONLY;
	if (engine_flags & ENGINE_CHANGE_REPLACE_ALLOWED)
		f |= WG_PEER_REPLACE_ALLOWED_IPS;
	if (engine_flags & ENGINE_CHANGE_SET_ENDPOINT)
		f |= WG_PEER_SET_ENDPOINT;
	return f;
}

/* The engine's changes, in order, as one device update. */
static int apply_changes(struct driver *d)
{
	const struct engine_actions *a = &d->actions;
	if (!a->n_changes)
		return 0;
	if (!wl_grow((void **)&d->changes, &d->cap_changes, a->n_changes, sizeof(*d->changes)))
		return -ENOMEM;
	for (size_t i = 0; i < a->n_changes; i++) {
		const struct engine_change *c = &a->changes[i];
		d->changes[i] = (struct wg_peer_change){ .flags = wg_flags(c->flags),
							 .endpoint = c->endpoint,
							 .n_allowed = c->n_allowed,
							 .allowed_ips = c->allowed_ips };
		memcpy(d->changes[i].public_key, c->key, WL_KEY_LEN);
	}
	int rc = wgdev_apply(d->host.wg, d->changes, a->n_changes);
	if (rc < 0 && rc != -ENODEV) {
		d->st.apply_errors++;
		log_warn("updating %s: %s", wgdev_ifname(d->host.wg), strerror(-rc));
	}
	return rc;
}

/* ---- sensing the user's traffic between ticks ---- */

/* A fresh baseline: the counters now, nothing of ours since. */
static void sense_reset(struct driver *d, int64_t now)
{
	d->sense_at = now + DRIVER_SENSE_MS;
	d->tun_own = 0;
	d->tun_busy = false;
	d->sensing = d->host.ops->tunnel_bytes && !engine_is_router(d->engine) &&
		     d->host.ops->tunnel_bytes(d->host.ctx, &d->tun_rx, &d->tun_tx) == 0;
}

static void own_tunnel_bytes(struct driver *d, size_t len)
{
	d->tun_own += len + DRIVER_TUNNEL_OVERHEAD;
}

int64_t driver_sense_deadline(const struct driver *d)
{
	if (!d->sensing || engine_next_deadline(d->engine) <= d->sense_at)
		return DRIVER_NO_SENSE;
	return d->sense_at;
}

/* Reads the tunnel's counters: true if they moved beyond our own bytes
 * since the last reading (the user's packets). */
static bool tunnel_moved(struct driver *d)
{
	uint64_t rx, tx, own = d->tun_own;
	if (!d->sensing || d->host.ops->tunnel_bytes(d->host.ctx, &rx, &tx) < 0) {
		d->sensing = false; /* the next tick tries again */
		return false;
	}
	uint64_t moved = (rx >= d->tun_rx ? rx - d->tun_rx : 0) + (tx >= d->tun_tx ? tx - d->tun_tx : 0);
	d->tun_rx = rx;
	d->tun_tx = tx;
	d->tun_own = 0;
	bool busy = moved > own + DRIVER_SENSE_BYTES;
	d->tun_busy = d->tun_busy || busy;
	return busy;
}

bool driver_sense(struct driver *d, int64_t now)
{
	if (!d->sensing)
		return false;
	bool busy = tunnel_moved(d);
	d->sense_at = now + DRIVER_SENSE_MS;
	d->st.senses++;
	if (busy)
		d->st.sensed++;
	return busy;
}

/* Sends one datagram through the host and keeps the books: quiet "no
 * path right now" errors are counted; other failures make a streak that
 * is logged when it starts, at most once a minute while it lasts, and
 * when a send works again (never once per datagram: a peer's traffic
 * must not flood the log). */
static void send_one(struct driver *d, int64_t now, const struct wl_addr *dst, uint16_t port,
		     const uint8_t *buf, size_t len)
{
	int rc = d->host.ops->send(d->host.ctx, dst, port, buf, len);
	const char *ifname = wgdev_ifname(d->host.wg);
	if (rc == 0) {
		long long ms = (long long)(now - d->tx_fail.since);
		if (log_streak_ok(&d->tx_fail, now))
			log_notice("sending on %s works again, %lld.%lld s after the first failure "
				   "(%llu datagrams lost)", ifname, ms / 1000, ms % 1000 / 100,
				   (unsigned long long)d->tx_fail.failures);
		return;
	}
	if (udp_error_is_unreachable(rc)) {
		d->st.tx_unreachable++;
		return;
	}
	d->st.tx_errors++;
	char b[WL_ADDR_STR_MAX], lb[WL_PEER_LABEL_MAX];
	const char *who;
	switch (log_streak_fail(&d->tx_fail, now, -rc)) {
	case LOG_STREAK_BEGIN:
		who = engine_addr_label(d->engine, dst, lb); /* dst: a peer's auto address */
		log_warn("sending on %s fails: %s (to %s%s%s); repeated once a minute while it "
			 "lasts", ifname, strerror(-rc), who ? who : "", who ? " at " : "",
			 wl_addr_str(dst, b));
		break;
	case LOG_STREAK_SUMMARY:
		log_warn("sending on %s still fails: %s; %llu datagrams lost in the last %lld s",
			 ifname, strerror(-rc), (unsigned long long)d->tx_fail.summary_n,
			 (long long)(d->tx_fail.summary_ms / 1000));
		break;
	case LOG_STREAK_QUIET:
		break;
	}
}

static void send_datagrams(struct driver *d, int64_t now)
{
	const struct engine_actions *a = &d->actions;
	for (size_t i = 0; i < a->n_send; i++) {
		const struct engine_datagram *g = &a->send[i];
		own_tunnel_bytes(d, g->len);
		send_one(d, now, &g->dst, g->port, g->data, g->len);
	}
}

bool driver_tx_failing(const struct driver *d, int *err, int64_t *since)
{
	if (!d->tx_fail.on)
		return false;
	*err = d->tx_fail.err;
	*since = d->tx_fail.since;
	return true;
}

int driver_tick(struct driver *d, int64_t now)
{
	int64_t wall = d->host.ops->wall_ms(d->host.ctx);
	check_clock(d, now, wall);
	int rc = wgdev_refresh(d->host.wg, &d->dev);
	struct wg_device *dev = d->dev;
	if (rc < 0) {
		if (rc != -ENODEV) {
			d->st.read_errors++;
			log_warn("reading %s: %s; trying again shortly", wgdev_ifname(d->host.wg),
				 strerror(-rc));
		}
		return rc;
	}
	d->listen_port = dev->listen_port;
	struct iface_list ifs;
	struct engine_inputs in = { 0 };
	rc = gather_ifaces(d, &ifs);
	if (rc == 0 && !device_view(d, dev, now, wall, &in.dev))
		rc = -ENOMEM;
	d->views_given = false; /* until engine_tick has them */
	if (rc < 0) {
		d->st.read_errors++;
		log_warn("listing interfaces: %s", strerror(-rc));
		goto out;
	}
	in.n_ifaces = ifs.n_links;
	in.ifaces = ifs.ifaces;
	struct wl_endpoint extra[DRIVER_MAX_EXTRA_ENDPOINTS];
	if (d->host.ops->extra_endpoints) {
		in.n_extra_endpoints = d->host.ops->extra_endpoints(d->host.ctx, extra,
								    DRIVER_MAX_EXTRA_ENDPOINTS);
		in.extra_endpoints = extra;
	}
	refresh_endpoints(d, now);
	tunnel_moved(d);
	in.tunnel_busy = d->tun_busy;
	engine_actions_clear(&d->actions);
	d->actions.untold = d->host.ops->wants_event_text && !d->host.ops->wants_event_text(d->host.ctx);
	engine_tick(d->engine, now, &in, &d->actions);
	d->views_given = true;
	d->st.ticks++;
	/* Device first: a datagram may go to a peer whose endpoint this very
	 * tick set. */
	rc = apply_changes(d);
	if (rc == -ENODEV)
		goto out;
	rc = 0;
	send_datagrams(d, now);
	for (size_t i = 0; i < d->actions.n_events; i++)
		d->host.ops->event(d->host.ctx, &d->actions.events[i]);
	sense_reset(d, now);
	if (d->actions.dropped) {
		d->st.actions_dropped += d->actions.dropped;
		log_warn("out of memory: %zu engine actions lost this tick", d->actions.dropped);
	}
out:
	iface_list_free(&ifs);
	return rc;
}

enum engine_rx driver_receive(struct driver *d, int64_t now, const struct wl_addr *src,
			      const uint8_t *buf, size_t len)
{
	own_tunnel_bytes(d, len);
	return engine_receive(d->engine, now, src, buf, len);
}

enum engine_rx driver_receive_probe(struct driver *d, int64_t now, const struct wl_addr *src,
				    const uint8_t *buf, size_t len)
{
	uint8_t bytes[ENGINE_PROBE_LEN];
	struct engine_datagram reply = { .data = bytes };
	own_tunnel_bytes(d, len);
	enum engine_rx r = engine_receive_probe(d->engine, now, src, buf, len, &reply);
	if (r == ENGINE_RX_PROBE && reply.len) {
		own_tunnel_bytes(d, reply.len);
		send_one(d, now, &reply.dst, reply.port, reply.data, reply.len);
	}
	return r;
}

uint16_t driver_listen_port(const struct driver *d)
{
	return d->listen_port;
}

int64_t driver_next_deadline(const struct driver *d)
{
	return engine_next_deadline(d->engine);
}

/* ---- reload ---- */

static bool same_identity(const struct wl_config *a, const struct wl_config *b, char *why,
			  size_t len)
{
	if (strcmp(a->iface, b->iface) != 0)
		snprintf(why, len, "Iface changed from %s to %s", a->iface, b->iface);
	else if (a->port != b->port)
		snprintf(why, len, "Port changed from %u to %u", a->port, b->port);
	else if (a->backend != b->backend)
		snprintf(why, len, "the backend changed");
	else
		return true;
	return false;
}

int driver_reload(struct driver *d, int64_t now, struct wl_config *fresh, char *why,
		  size_t why_len)
{
	if (d->fixed_engine) {
		snprintf(why, why_len, "this driver runs an engine it did not build");
		return -EINVAL;
	}
	if (!same_identity(d->cfg, fresh, why, why_len))
		return -EINVAL;
	struct wg_device *dev = NULL;
	int rc = read_identity(d, &dev);
	if (rc < 0) {
		snprintf(why, why_len, "cannot read %s: %s", d->cfg->iface, strerror(-rc));
		return rc;
	}
	int64_t *resolved = calloc(fresh->n_peers + 1, sizeof(*resolved));
	struct engine *e = resolved ? make_engine(d, fresh, dev->private_key, now, resolved) : NULL;
	wg_device_free(dev);
	if (!e) {
		free(resolved);
		snprintf(why, why_len, "cannot start the engine with the new configuration");
		return -ENOMEM;
	}
	engine_free(d->engine);
	d->engine = e;
	config_free(d->cfg);
	d->cfg = fresh;
	free(d->resolved_at);
	d->resolved_at = resolved;
	engine_actions_clear(&d->actions);
	d->st.reloads++;
	return 0;
}

/* ---- queries ---- */

struct engine *driver_engine(const struct driver *d)
{
	return d->engine;
}

const struct wl_config *driver_config(const struct driver *d)
{
	return d->cfg;
}

const struct driver_identity *driver_identity(const struct driver *d)
{
	return &d->id;
}

const struct engine_actions *driver_last_actions(const struct driver *d)
{
	return &d->actions;
}

const struct driver_stats *driver_get_stats(const struct driver *d)
{
	return &d->st;
}
