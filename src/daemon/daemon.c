#include "daemon/daemon.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "sys/log.h"
#include "config/config.h"
#include "core/engine.h"
#include "daemon/resolve.h"
#include "sys/netif.h"
#include "sys/notify.h"
#include "sys/udp.h"
#include "sys/wgdev.h"
#include "wire/autoaddr.h"
#include "wl_build.h"

/* Resolved endpoints kept per configured peer. */
#define MAX_PEER_ENDPOINTS 16
/* Datagrams read per wake-up before the loop looks at its timers again. */
#define RX_BURST 64
#define BIND_RETRY_MS 200

struct daemon {
	struct wl_config *cfg;
	int reload_argc;
	char **reload_argv, **reload_envp;

	struct wgdev *wg;
	struct netif *nl;
	struct netif_watch *watch;
	uint32_t ifindex;
	uint8_t public_key[WL_KEY_LEN];
	struct wl_addr auto_addr;
	uint16_t port;

	int udp_fd; /* -1 until bound */
	int64_t bind_retry_at;
	bool bind_warned;
	int sig_fd;

	struct engine *engine;
	struct engine_actions actions;
	int64_t *resolved_at; /* per configured peer: last DNS resolution */

	int64_t watchdog_ms, watchdog_next;
	int64_t last_tick_mono, last_tick_wall;
	uint64_t rx_truncated, tx_errors;
	bool stop;
	int exit_code;
};

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Engine time runs on CLOCK_BOOTTIME: monotonic, and it keeps counting
 * through suspend, so the engine sees a long gap after a resume. */
static int64_t mono_ms(void) { return clock_ms(CLOCK_BOOTTIME); }
static int64_t wall_ms(void) { return clock_ms(CLOCK_REALTIME); }

static void fatal_stop(struct daemon *d, const char *why)
{
	log_error("%s", why);
	d->stop = true;
	d->exit_code = 1;
}

/* ---- engine construction from the configuration ---- */

static int tristate_router(enum config_router r)
{
	return r == CONFIG_ROUTER_AUTO ? ENGINE_AUTO : r == CONFIG_ROUTER_YES ? ENGINE_YES : ENGINE_NO;
}

static struct engine *make_engine(struct daemon *d, const struct wg_device *dev, int64_t now)
{
	const struct wl_config *cfg = d->cfg;
	struct engine_config ec;
	engine_config_init(&ec);
	memcpy(ec.private_key, dev->private_key, WL_KEY_LEN);
	ec.port = d->port;
	ec.router = tristate_router(cfg->router);
	ec.chatty = cfg->chatty;

	struct engine_peer_config *peers = calloc(cfg->n_peers + 1, sizeof(*peers));
	struct wl_endpoint *eps = calloc((cfg->n_peers + 1) * MAX_PEER_ENDPOINTS, sizeof(*eps));
	struct engine *e = NULL;
	if (!peers || !eps)
		goto out;
	for (size_t i = 0; i < cfg->n_peers; i++) {
		const struct wl_config_peer *p = &cfg->peers[i];
		struct engine_peer_config *pc = &peers[i];
		memcpy(pc->public_key, p->public_key, WL_KEY_LEN);
		pc->name = p->name;
		pc->trust = p->trust;
		pc->fact_exchanger = p->fact_exchanger;
		pc->basic = p->basic ? ENGINE_YES : ENGINE_NO;
		pc->endpoints = eps + i * MAX_PEER_ENDPOINTS;
		pc->n_endpoints = resolve_peer_endpoints(p, eps + i * MAX_PEER_ENDPOINTS,
							 MAX_PEER_ENDPOINTS);
		pc->allowed_ips = p->allowed_ips;
		pc->n_allowed = p->n_allowed_ips;
		d->resolved_at[i] = now;
	}
	ec.peers = peers;
	ec.n_peers = cfg->n_peers;
	uint8_t seed[32];
	randombytes_buf(seed, sizeof(seed));
	e = engine_new(&ec, seed, now);
	sodium_memzero(seed, sizeof(seed));
out:
	sodium_memzero(ec.private_key, sizeof(ec.private_key));
	free(peers);
	free(eps);
	return e;
}

/* Re-resolve DNS names of configured peers that need their endpoints. */
static void refresh_endpoints(struct daemon *d, int64_t now)
{
	for (size_t i = 0; i < d->cfg->n_peers; i++) {
		const struct wl_config_peer *p = &d->cfg->peers[i];
		if (p->n_endpoints == 0 || now - d->resolved_at[i] < RESOLVE_INTERVAL_MS ||
		    !engine_peer_wants_endpoints(d->engine, p->public_key, now))
			continue;
		struct wl_endpoint eps[MAX_PEER_ENDPOINTS];
		size_t n = resolve_peer_endpoints(p, eps, MAX_PEER_ENDPOINTS);
		engine_set_peer_endpoints(d->engine, p->public_key, eps, n);
		d->resolved_at[i] = now;
	}
}

/* ---- one tick: read the world, run the engine, act ---- */

struct iface_inputs {
	struct netif_link *links;
	size_t n_links;
	struct netif_addr *addrs;
	size_t n_addrs;
	struct engine_iface *ifaces;
	struct wl_cidr *cidrs;
};

static void iface_inputs_free(struct iface_inputs *in)
{
	free(in->links);
	free(in->addrs);
	free(in->ifaces);
	free(in->cidrs);
}

static int gather_ifaces(struct daemon *d, struct iface_inputs *in)
{
	memset(in, 0, sizeof(*in));
	int rc = netif_list_links(d->nl, &in->links, &in->n_links);
	if (rc == 0)
		rc = netif_list_addrs(d->nl, AF_UNSPEC, 0, &in->addrs, &in->n_addrs);
	if (rc < 0)
		return rc;
	in->ifaces = calloc(in->n_links + 1, sizeof(*in->ifaces));
	in->cidrs = calloc(in->n_addrs + 1, sizeof(*in->cidrs));
	if (!in->ifaces || !in->cidrs)
		return -ENOMEM;
	/* Group addresses by link: cidrs[] holds each link's run in turn. */
	size_t used = 0;
	for (size_t i = 0; i < in->n_links; i++) {
		const struct netif_link *l = &in->links[i];
		struct engine_iface *e = &in->ifaces[i];
		e->name = l->name;
		e->ifindex = l->index;
		e->up = l->up;
		e->report = config_iface_reported(d->cfg, l->name);
		e->addrs = in->cidrs + used;
		for (size_t k = 0; k < in->n_addrs; k++) {
			if (in->addrs[k].ifindex != l->index)
				continue;
			in->cidrs[used].addr = in->addrs[k].addr;
			in->cidrs[used].prefix = in->addrs[k].prefix;
			used++;
			e->n_addrs++;
		}
	}
	return 0;
}

/* WireGuard reports handshakes in wall-clock time; the engine wants its
 * monotonic clock: now - age. */
static void handshake_times(const struct wg_device *dev, int64_t now, int64_t wall, int64_t *out)
{
	for (size_t i = 0; i < dev->n_peers; i++) {
		const struct timespec *t = &dev->peers[i].last_handshake;
		if (t->tv_sec == 0 && t->tv_nsec == 0) {
			out[i] = ENGINE_NEVER;
			continue;
		}
		int64_t at = (int64_t)t->tv_sec * 1000 + t->tv_nsec / 1000000;
		int64_t age = wall - at;
		out[i] = now - (age > 0 ? age : 0);
	}
}

static void send_datagrams(struct daemon *d)
{
	for (size_t i = 0; i < d->actions.n_send; i++) {
		const struct engine_datagram *g = &d->actions.send[i];
		if (d->udp_fd < 0)
			return;
		int rc = udp_send(d->udp_fd, d->ifindex, &g->dst, g->port, g->data, g->len);
		if (rc < 0 && !udp_error_is_unreachable(rc)) {
			d->tx_errors++;
			log_warn("sending to %s: %s", wl_addr_str(&g->dst, (char[WL_ADDR_STR_MAX]){ 0 }),
				 strerror(-rc));
		}
	}
}

struct status_count {
	size_t peers, healthy, alive;
};

static void count_peer(void *ctx, const struct engine_peer_info *p)
{
	struct status_count *c = ctx;
	if (!p->in_device)
		return;
	c->peers++;
	c->healthy += p->healthy;
	c->alive += p->alive;
}

static void report_status(struct daemon *d, int64_t now)
{
	struct status_count c = { 0 };
	engine_foreach_peer(d->engine, now, count_peer, &c);
	notify_status("%zu peers, %zu healthy, %zu alive, %zu facts%s", c.peers, c.healthy, c.alive,
		      engine_fact_count(d->engine), engine_is_router(d->engine) ? ", router" : "");
}

static void tick(struct daemon *d, int64_t now)
{
	int64_t wall = wall_ms();
	/* A wall-clock jump (SPEC §4): the two clocks disagree about how much
	 * time passed since the last tick. */
	if (d->last_tick_mono) {
		int64_t drift = (wall - d->last_tick_wall) - (now - d->last_tick_mono);
		if (drift > 10000 || drift < -10000) {
			log_notice("wall clock jumped by %lld ms", (long long)drift);
			engine_clock_jump(d->engine, now);
		}
	}
	d->last_tick_mono = now;
	d->last_tick_wall = wall;

	struct wg_device *dev = NULL;
	int rc = wgdev_get(d->wg, &dev);
	if (rc == -ENODEV) {
		fatal_stop(d, "the WireGuard device disappeared; exiting");
		return;
	}
	if (rc < 0) {
		log_warn("reading %s: %s; trying again shortly", d->cfg->iface, strerror(-rc));
		return;
	}
	struct iface_inputs ifs;
	int64_t *hs = calloc(dev->n_peers + 1, sizeof(*hs));
	rc = gather_ifaces(d, &ifs);
	if (rc < 0 || !hs) {
		log_warn("listing interfaces: %s", strerror(rc < 0 ? -rc : ENOMEM));
		goto out;
	}
	handshake_times(dev, now, wall, hs);
	refresh_endpoints(d, now);
	struct engine_inputs in = {
		.dev = dev,
		.handshake_ms = hs,
		.n_ifaces = ifs.n_links,
		.ifaces = ifs.ifaces,
	};
	engine_tick(d->engine, now, &in, &d->actions);
	/* Device first: a datagram may go to a peer whose endpoint this very
	 * tick set. */
	if (d->actions.n_changes) {
		rc = wgdev_apply(d->wg, d->actions.changes, d->actions.n_changes);
		if (rc == -ENODEV)
			fatal_stop(d, "the WireGuard device disappeared; exiting");
		else if (rc < 0)
			log_warn("updating %s: %s", d->cfg->iface, strerror(-rc));
	}
	send_datagrams(d);
	for (size_t i = 0; i < d->actions.n_events; i++)
		log_info("%s", d->actions.events[i].text);
	engine_actions_clear(&d->actions);
	report_status(d, now);
out:
	iface_inputs_free(&ifs);
	free(hs);
	wg_device_free(dev);
}

/* ---- sockets and signals ---- */

static void try_bind(struct daemon *d, int64_t now)
{
	int rc = udp_open(d->ifindex, &d->auto_addr, d->port, &d->udp_fd);
	if (rc == 0) {
		log_info("listening on [%s%%%s]:%u",
			 wl_addr_str(&d->auto_addr, (char[WL_ADDR_STR_MAX]){ 0 }), d->cfg->iface,
			 d->port);
		return;
	}
	/* EADDRNOTAVAIL: the address is still tentative (DAD) or not yet
	 * there. Keep trying instead of dying (the original crashes here). */
	if (!d->bind_warned)
		log_warn("binding [%s%%%s]:%u: %s; retrying",
			 wl_addr_str(&d->auto_addr, (char[WL_ADDR_STR_MAX]){ 0 }), d->cfg->iface,
			 d->port, strerror(-rc));
	d->bind_warned = true;
	d->bind_retry_at = now + BIND_RETRY_MS;
}

static void receive_datagrams(struct daemon *d, int64_t now)
{
	static uint8_t buf[WIRE_MAX_RECV];
	for (int i = 0; i < RX_BURST; i++) {
		struct wl_addr src;
		bool truncated;
		ssize_t n = udp_recv(d->udp_fd, buf, sizeof(buf), &src, &truncated);
		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return;
		if (n < 0) {
			log_debug("receiving: %s", strerror((int)-n));
			return;
		}
		if (truncated) {
			d->rx_truncated++;
			log_debug("dropped a datagram over %zu bytes", sizeof(buf));
			continue;
		}
		enum engine_rx r = engine_receive(d->engine, now, &src, buf, (size_t)n);
		if (r != ENGINE_RX_OK)
			log_debug("dropped a %zd-byte datagram from %s (%s)", n,
				  wl_addr_str(&src, (char[WL_ADDR_STR_MAX]){ 0 }),
				  r == ENGINE_RX_PARSE ? "malformed"
				  : r == ENGINE_RX_BAD_SOURCE ? "source is not the signer"
							      : "bad signature");
	}
}

static int open_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

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

static void reload(struct daemon *d, int64_t now)
{
	char err[512];
	struct wl_config *fresh = NULL;
	int rc = config_load(d->reload_argc, d->reload_argv, d->reload_envp, &fresh, err,
			     sizeof(err));
	if (rc != CONFIG_OK) {
		log_error("reload failed, keeping the running configuration: %s", err);
		return;
	}
	char why[128];
	if (!same_identity(d->cfg, fresh, why, sizeof(why))) {
		log_error("reload refused, keeping the running configuration: %s (restart to change it)",
			  why);
		config_free(fresh);
		return;
	}
	struct wg_device *dev = NULL;
	if (wgdev_get(d->wg, &dev) < 0) {
		log_error("reload failed: cannot read %s", d->cfg->iface);
		config_free(fresh);
		return;
	}
	int64_t *resolved = calloc(fresh->n_peers + 1, sizeof(*resolved));
	struct wl_config *old = d->cfg;
	int64_t *old_resolved = d->resolved_at;
	d->cfg = fresh;
	d->resolved_at = resolved;
	struct engine *e = resolved ? make_engine(d, dev, now) : NULL;
	wg_device_free(dev);
	if (!e) {
		log_error("reload failed: cannot start the engine with the new configuration");
		d->cfg = old;
		d->resolved_at = old_resolved;
		config_free(fresh);
		free(resolved);
		return;
	}
	engine_free(d->engine);
	d->engine = e;
	config_free(old);
	free(old_resolved);
	log_notice("configuration reloaded (%zu configured peers); peers will be resent everything",
		   fresh->n_peers);
}

static void handle_signals(struct daemon *d, int64_t now)
{
	struct signalfd_siginfo si;
	while (read(d->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGINT:
		case SIGTERM:
			log_notice("signal %u: stopping", si.ssi_signo);
			d->stop = true;
			break;
		case SIGHUP:
			log_notice("SIGHUP: reloading the configuration");
			reload(d, now);
			break;
		case SIGUSR1:
			fflush(stderr);
			engine_dump(d->engine, now, stderr);
			fflush(stderr);
			break;
		}
	}
}

/* ---- start-up ---- */

static int setup(struct daemon *d, int64_t now)
{
	const struct wl_config *cfg = d->cfg;
	struct wg_device *dev = NULL;
	char buf[WL_ADDR_STR_MAX], key[WL_KEY_B64_LEN];
	int rc = wgdev_open(cfg->iface, cfg->backend, &d->wg);
	if (rc < 0) {
		log_error("cannot open WireGuard interface %s: %s", cfg->iface, strerror(-rc));
		return rc;
	}
	/* Watch links before reading the device, so a removal in between is
	 * seen. */
	if ((rc = netif_open(&d->nl)) < 0 || (rc = netif_watch_open(&d->watch)) < 0) {
		log_error("cannot open rtnetlink: %s", strerror(-rc));
		return rc;
	}
	if ((rc = wgdev_get(d->wg, &dev)) < 0) {
		log_error("cannot read WireGuard interface %s: %s", cfg->iface, strerror(-rc));
		return rc;
	}
	if (!dev->has_private_key) {
		log_error("WireGuard interface %s has no private key; configure it first", cfg->iface);
		wg_device_free(dev);
		return -ENOKEY;
	}
	d->ifindex = dev->ifindex;
	memcpy(d->public_key, dev->public_key, WL_KEY_LEN);
	autoaddr_of(dev->public_key, &d->auto_addr);
	d->port = cfg->port ? cfg->port : (uint16_t)(dev->listen_port + 1);
	if (!cfg->port && dev->listen_port == 0)
		log_warn("%s has no listen port yet; using port 1", cfg->iface);

	/* The auto address, usable at once: no duplicate address detection
	 * (the address is derived from our key, nobody else has it). */
	struct wl_cidr own = { .addr = d->auto_addr, .prefix = 64 };
	rc = netif_add_addr(d->nl, d->ifindex, &own, RT_SCOPE_LINK, IFA_F_NODAD);
	if (rc < 0 && rc != -EEXIST) {
		log_error("cannot add %s/64 to %s: %s", wl_addr_str(&d->auto_addr, buf), cfg->iface,
			  strerror(-rc));
		wg_device_free(dev);
		return rc;
	}
	d->resolved_at = calloc(cfg->n_peers + 1, sizeof(*d->resolved_at));
	d->engine = d->resolved_at ? make_engine(d, dev, now) : NULL;
	wg_device_free(dev);
	if (!d->engine) {
		log_error("cannot start the engine");
		return -ENOMEM;
	}
	log_notice("wirelink %s on %s (%s backend): key %s, address %s, port %u, router %s",
		   WL_VERSION, cfg->iface, wgdev_backend_name(wgdev_backend_of(d->wg)),
		   key_to_base64(d->public_key, key), wl_addr_str(&d->auto_addr, buf), d->port,
		   cfg->router == CONFIG_ROUTER_AUTO ? "auto" : cfg->router ? "yes" : "no");
	return 0;
}

static void teardown(struct daemon *d)
{
	engine_actions_free(&d->actions);
	engine_free(d->engine);
	if (d->udp_fd >= 0)
		close(d->udp_fd);
	if (d->sig_fd >= 0)
		close(d->sig_fd);
	netif_watch_close(d->watch);
	netif_close(d->nl);
	wgdev_close(d->wg);
	free(d->resolved_at);
}

static int poll_timeout(const struct daemon *d, int64_t now)
{
	int64_t next = engine_next_deadline(d->engine);
	if (d->udp_fd < 0 && d->bind_retry_at < next)
		next = d->bind_retry_at;
	if (d->watchdog_ms && d->watchdog_next < next)
		next = d->watchdog_next;
	int64_t wait = next - now;
	return wait <= 0 ? 0 : wait > 60000 ? 60000 : (int)wait;
}

int daemon_run(struct wl_config **cfg, int reload_argc, char **reload_argv, char **reload_envp)
{
	struct daemon d = {
		.cfg = *cfg,
		.reload_argc = reload_argc,
		.reload_argv = reload_argv,
		.reload_envp = reload_envp,
		.udp_fd = -1,
		.sig_fd = -1,
	};
	engine_actions_init(&d.actions);
	int64_t now = mono_ms();
	d.sig_fd = open_signals();
	if (d.sig_fd < 0 || setup(&d, now) < 0) {
		teardown(&d);
		*cfg = d.cfg;
		return 1;
	}
	try_bind(&d, now);
	d.watchdog_ms = notify_watchdog_ms() / 2;
	d.watchdog_next = now + d.watchdog_ms;
	notify_ready();

	while (!d.stop) {
		struct pollfd fds[3] = {
			{ .fd = d.sig_fd, .events = POLLIN },
			{ .fd = netif_watch_fd(d.watch), .events = POLLIN },
			{ .fd = d.udp_fd, .events = POLLIN },
		};
		int rc = poll(fds, 3, poll_timeout(&d, mono_ms()));
		if (rc < 0 && errno != EINTR) {
			fatal_stop(&d, "poll failed");
			break;
		}
		now = mono_ms();
		if (fds[0].revents)
			handle_signals(&d, now);
		if (fds[1].revents) {
			bool gone = false;
			netif_watch_drain(d.watch, d.ifindex, &gone);
			if (gone)
				fatal_stop(&d, "the WireGuard interface disappeared; exiting");
		}
		if (d.stop)
			break;
		if (d.udp_fd >= 0 && fds[2].revents)
			receive_datagrams(&d, now);
		if (d.udp_fd < 0 && now >= d.bind_retry_at)
			try_bind(&d, now);
		if (now >= engine_next_deadline(d.engine))
			tick(&d, now);
		if (d.watchdog_ms && now >= d.watchdog_next) {
			notify_watchdog();
			d.watchdog_next = now + d.watchdog_ms;
		}
	}
	notify_stopping();
	teardown(&d);
	*cfg = d.cfg;
	return d.exit_code;
}
