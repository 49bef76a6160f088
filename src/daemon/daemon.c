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

#include "config/config.h"
#include "core/engine.h"
#include "daemon/driver.h"
#include "daemon/resolve.h"
#include "sys/log.h"
#include "sys/netif.h"
#include "sys/notify.h"
#include "sys/portmap.h"
#include "sys/udp.h"
#include "sys/wgdev.h"
#include "wl_build.h"

/* Datagrams read per wake-up before the loop looks at its timers again. */
#define RX_BURST 64
#define BIND_RETRY_MS 200

/* Address events come in bursts (an address, its routes, DAD): one tick
 * this long after the first. */
#define MOVED_TICK_DELAY_MS 200

struct daemon {
	struct wl_config *cfg; /* until the driver owns it */
	int reload_argc;
	char **reload_argv, **reload_envp;

	struct wgdev *wg;
	struct netif *nl;
	struct netif_watch *watch;
	struct driver *drv;
	const struct driver_identity *id;
	struct portmap *pm; /* the port mapping of a leaf (PortMapping) */
	struct wl_endpoint pm_advertised; /* what the last tick advertised */
	bool pm_has_advertised;

	int udp_fd;   /* -1 until bound */
	/* Peers' path probes arrive on the wirelink port + 1 (src/core/path.c);
	 * -1 until bound, or when another program holds that port. */
	int probe_fd;
	bool probe_given_up;
	int64_t bind_retry_at;
	bool bind_warned;
	int sig_fd;

	int64_t watchdog_ms, watchdog_next;
	/* An address came or went (netif watch): a tick then, so a host that
	 * moved to another network re-sets its endpoints at once (the engine
	 * notices the move); bursts of events make one tick. 0 = none. */
	int64_t moved_tick_at;
	uint64_t rx_truncated;
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

static void fatal_stop(struct daemon *d, const char *why)
{
	log_error("%s", why);
	d->stop = true;
	d->exit_code = 1;
}

/* ---- the driver's host: the real OS ---- */

static int64_t host_wall_ms(void *ctx)
{
	(void)ctx;
	return clock_ms(CLOCK_REALTIME);
}

static void host_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

static int host_list_links(void *ctx, struct netif_link **out, size_t *n)
{
	struct daemon *d = ctx;
	return netif_list_links(d->nl, out, n);
}

static int host_list_addrs(void *ctx, struct netif_addr **out, size_t *n)
{
	struct daemon *d = ctx;
	return netif_list_addrs(d->nl, AF_UNSPEC, 0, out, n);
}

static int host_send(void *ctx, const struct wl_addr *dst, uint16_t port, const uint8_t *buf,
		     size_t len)
{
	struct daemon *d = ctx;
	if (d->udp_fd < 0)
		return -ENOTCONN;
	return udp_send(d->udp_fd, d->id->ifindex, dst, port, buf, len);
}

static size_t host_resolve(void *ctx, const struct wl_config_endpoint *ep, struct wl_endpoint *out,
			   size_t cap)
{
	(void)ctx;
	return resolve_endpoint(ep, out, cap);
}

static void host_event(void *ctx, const struct engine_event *ev)
{
	(void)ctx;
	log_info("%s", ev->text);
}

/* The port mapping our NAT granted, if it may be advertised. */
static size_t host_extra_endpoints(void *ctx, struct wl_endpoint *out, size_t cap)
{
	struct daemon *d = ctx;
	d->pm_has_advertised = cap > 0 && d->pm && portmap_endpoint(d->pm, mono_ms(), &out[0]);
	if (d->pm_has_advertised)
		d->pm_advertised = out[0];
	return d->pm_has_advertised ? 1 : 0;
}

static int host_tunnel_bytes(void *ctx, uint64_t *rx, uint64_t *tx)
{
	struct daemon *d = ctx;
	struct netif_link l;
	int rc = netif_get_link(d->nl, d->id->ifindex, &l);
	if (rc < 0)
		return rc;
	if (!l.has_stats)
		return -ENODATA;
	*rx = l.rx_bytes;
	*tx = l.tx_bytes;
	return 0;
}

static const struct driver_host_ops host_ops = {
	.wall_ms = host_wall_ms,
	.random = host_random,
	.list_links = host_list_links,
	.list_addrs = host_list_addrs,
	.send = host_send,
	.resolve = host_resolve,
	.event = host_event,
	.extra_endpoints = host_extra_endpoints,
	.tunnel_bytes = host_tunnel_bytes,
};

/* ---- status ---- */

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
	struct engine *e = driver_engine(d->drv);
	struct status_count c = { 0 };
	engine_foreach_peer(e, now, count_peer, &c);
	notify_status("%zu peers, %zu healthy, %zu alive, %zu facts%s", c.peers, c.healthy, c.alive,
		      engine_fact_count(e), engine_is_router(e) ? ", router" : "");
}

/* ---- port mapping ---- */

/* Runs the mapper where it should run: on a leaf (a router does not map),
 * with PortMapping on, once the device has a listen port, towards the IPv4
 * default gateway (not one across our own tunnel). A change of any of
 * these (a reload, a new role, a new gateway or port) stops the old
 * mapping and asks afresh. Called after every tick: the role is known
 * only once the engine has seen the device. */
static void portmap_sync(struct daemon *d, int64_t now)
{
	if (!d->pm)
		return;
	struct portmap_params p = { .internal_port = driver_listen_port(d->drv) };
	uint32_t oif = 0;
	bool want = driver_config(d->drv)->port_mapping && !engine_is_router(driver_engine(d->drv)) &&
		    p.internal_port != 0;
	if (want) {
		int rc = netif_default_gateway(d->nl, &p.gateway, &oif);
		if (rc < 0 && rc != -ENOENT)
			return; /* routes unreadable right now: keep what runs */
		want = rc == 0 && oif != d->id->ifindex;
	}
	if (!want) {
		portmap_stop(d->pm);
		return;
	}
	const struct portmap_params *cur = portmap_params(d->pm);
	if (!cur || !wl_addr_equal(&cur->gateway, &p.gateway) ||
	    cur->internal_port != p.internal_port) {
		char gw[WL_ADDR_STR_MAX];
		log_debug("port mapping: asking %s for UDP port %u", wl_addr_str(&p.gateway, gw),
			  p.internal_port);
	}
	portmap_start(d->pm, now, &p);
}

static void tick(struct daemon *d, int64_t now)
{
	int rc = driver_tick(d->drv, now);
	if (rc == -ENODEV) {
		fatal_stop(d, "the WireGuard device disappeared; exiting");
		return;
	}
	if (rc == 0)
		report_status(d, now);
	portmap_sync(d, now);
}

/* Answers and timers of the mapper; a mapping granted, changed or lost
 * is advertised (or withdrawn) at once by a tick of its own rather than
 * at the next regular one. */
static void run_portmap(struct daemon *d, int64_t now)
{
	portmap_run(d->pm, now);
	struct wl_endpoint ep;
	bool has = portmap_endpoint(d->pm, now, &ep);
	if (has != d->pm_has_advertised || (has && !wl_endpoint_equal(&ep, &d->pm_advertised)))
		tick(d, now);
}

/* ---- sockets and signals ---- */

/* The probe socket, once the main one is bound (same address). Without
 * it peers' probes draw no answer from us, so their watch cannot tell a
 * quiet path from a dead one: say so once. */
static void bind_probe(struct daemon *d)
{
	const struct driver_identity *id = d->id;
	uint16_t port = (uint16_t)(id->port + ENGINE_PROBE_PORT_OFFSET);
	int rc = udp_open(id->ifindex, &id->auto_addr, port, &d->probe_fd);
	if (rc < 0 && rc != -EADDRNOTAVAIL) {
		d->probe_given_up = true;
		log_warn("binding the probe port %u: %s; peers' path probes will go unanswered",
			 port, strerror(-rc));
	}
}

static void try_bind(struct daemon *d, int64_t now)
{
	const struct driver_identity *id = d->id;
	const char *iface = driver_config(d->drv)->iface;
	int rc = 0;
	if (d->udp_fd < 0) {
		rc = udp_open(id->ifindex, &id->auto_addr, id->port, &d->udp_fd);
		if (rc == 0)
			log_info("listening on [%s%%%s]:%u",
				 wl_addr_str(&id->auto_addr, (char[WL_ADDR_STR_MAX]){ 0 }), iface,
				 id->port);
	}
	if (rc == 0) {
		if (d->probe_fd < 0 && !d->probe_given_up)
			bind_probe(d);
		if (d->probe_fd < 0 && !d->probe_given_up)
			d->bind_retry_at = now + BIND_RETRY_MS; /* still tentative */
		return;
	}
	/* EADDRNOTAVAIL: the address is still tentative (DAD) or not yet
	 * there. Keep trying instead of dying (the original crashes here). */
	if (!d->bind_warned)
		log_warn("binding [%s%%%s]:%u: %s; retrying",
			 wl_addr_str(&id->auto_addr, (char[WL_ADDR_STR_MAX]){ 0 }), iface, id->port,
			 strerror(-rc));
	d->bind_warned = true;
	d->bind_retry_at = now + BIND_RETRY_MS;
}

/* Reads what is pending on the wirelink socket, or on the probe socket
 * (probe = true). */
static void receive_datagrams(struct daemon *d, int64_t now, int fd, bool probe)
{
	static uint8_t buf[WIRE_MAX_RECV];
	for (int i = 0; i < RX_BURST; i++) {
		struct wl_addr src;
		bool truncated;
		ssize_t n = udp_recv(fd, buf, sizeof(buf), &src, &truncated);
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
		enum engine_rx r = probe ? driver_receive_probe(d->drv, now, &src, buf, (size_t)n)
				     : driver_receive(d->drv, now, &src, buf, (size_t)n);
		if (r != ENGINE_RX_OK && r != ENGINE_RX_PROBE)
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
	size_t n_peers = fresh->n_peers;
	if (driver_reload(d->drv, now, fresh, err, sizeof(err)) < 0) {
		log_error("reload refused, keeping the running configuration: %s", err);
		config_free(fresh);
		return;
	}
	log_notice("configuration reloaded (%zu configured peers); peers will be resent everything",
		   n_peers);
}

static void dump_line(void *ctx, const char *text)
{
	(void)ctx;
	fprintf(stderr, "%s\n", text);
}

static void dump_driver(const struct driver_stats *st)
{
	fprintf(stderr,
		"driver: ticks=%llu read_errors=%llu apply_errors=%llu tx_unreachable=%llu "
		"tx_errors=%llu resolves=%llu clock_jumps=%llu reloads=%llu senses=%llu sensed=%llu\n",
		(unsigned long long)st->ticks, (unsigned long long)st->read_errors,
		(unsigned long long)st->apply_errors, (unsigned long long)st->tx_unreachable,
		(unsigned long long)st->tx_errors, (unsigned long long)st->resolves,
		(unsigned long long)st->clock_jumps, (unsigned long long)st->reloads,
		(unsigned long long)st->senses, (unsigned long long)st->sensed);
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
			engine_dump(driver_engine(d->drv), now, dump_line, NULL);
			dump_driver(driver_get_stats(d->drv));
			fflush(stderr);
			break;
		}
	}
}

/* ---- start-up ---- */

static int setup(struct daemon *d, int64_t now)
{
	const struct wl_config *cfg = d->cfg;
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
	if ((rc = portmap_new(&d->pm)) < 0)
		return rc;
	struct driver_host host = { &host_ops, d, d->wg };
	if ((rc = driver_new(&host, d->cfg, now, &d->drv)) < 0)
		return rc;
	d->cfg = NULL; /* the driver's now */
	d->id = driver_identity(d->drv);
	cfg = driver_config(d->drv);

	/* The auto address, usable at once: no duplicate address detection
	 * (the address is derived from our key, nobody else has it). */
	struct wl_cidr own = { .addr = d->id->auto_addr, .prefix = 64 };
	rc = netif_add_addr(d->nl, d->id->ifindex, &own, RT_SCOPE_LINK, IFA_F_NODAD);
	if (rc < 0 && rc != -EEXIST) {
		log_error("cannot add %s/64 to %s: %s", wl_addr_str(&d->id->auto_addr, buf),
			  cfg->iface, strerror(-rc));
		return rc;
	}
	log_notice("wirelink %s on %s (%s backend): key %s, address %s, port %u, router %s",
		   WL_VERSION, cfg->iface, wgdev_backend_name(wgdev_backend_of(d->wg)),
		   key_to_base64(d->id->public_key, key), wl_addr_str(&d->id->auto_addr, buf),
		   d->id->port,
		   cfg->router == WL_AUTO ? "auto" : cfg->router == WL_YES ? "yes" : "no");
	return 0;
}

static void teardown(struct daemon *d)
{
	portmap_free(d->pm); /* removes the mapping */
	driver_free(d->drv);
	if (d->udp_fd >= 0)
		close(d->udp_fd);
	if (d->probe_fd >= 0)
		close(d->probe_fd);
	if (d->sig_fd >= 0)
		close(d->sig_fd);
	netif_watch_close(d->watch);
	netif_close(d->nl);
	wgdev_close(d->wg);
}

static int poll_timeout(const struct daemon *d, int64_t now)
{
	int64_t next = driver_next_deadline(d->drv);
	if (driver_sense_deadline(d->drv) < next)
		next = driver_sense_deadline(d->drv);
	if (d->moved_tick_at && d->moved_tick_at < next)
		next = d->moved_tick_at;
	if ((d->udp_fd < 0 || (d->probe_fd < 0 && !d->probe_given_up)) && d->bind_retry_at < next)
		next = d->bind_retry_at;
	if (d->watchdog_ms && d->watchdog_next < next)
		next = d->watchdog_next;
	if (d->pm && portmap_next_deadline(d->pm) < next)
		next = portmap_next_deadline(d->pm);
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
		.probe_fd = -1,
		.sig_fd = -1,
	};
	int64_t now = mono_ms();
	d.sig_fd = open_signals();
	*cfg = NULL; /* ours now: the driver's, once setup() hands it over */
	if (d.sig_fd < 0 || setup(&d, now) < 0) {
		teardown(&d);
		config_free(d.cfg);
		return 1;
	}
	try_bind(&d, now);
	d.watchdog_ms = notify_watchdog_ms() / 2;
	d.watchdog_next = now + d.watchdog_ms;
	notify_ready();

	while (!d.stop) {
		struct pollfd fds[5] = {
			{ .fd = d.sig_fd, .events = POLLIN },
			{ .fd = netif_watch_fd(d.watch), .events = POLLIN },
			{ .fd = d.udp_fd, .events = POLLIN },
			{ .fd = d.probe_fd, .events = POLLIN },
			/* -1 (ignored by poll) while no request is in flight */
			{ .fd = portmap_fd(d.pm), .events = POLLIN },
		};
		int rc = poll(fds, 5, poll_timeout(&d, mono_ms()));
		if (rc < 0 && errno != EINTR) {
			fatal_stop(&d, "poll failed");
			break;
		}
		now = mono_ms();
		if (fds[0].revents)
			handle_signals(&d, now);
		if (fds[1].revents) {
			bool gone = false, moved = false;
			netif_watch_drain(d.watch, d.id->ifindex, &gone, &moved);
			if (gone)
				fatal_stop(&d, "the WireGuard interface disappeared; exiting");
			if (moved && !d.moved_tick_at)
				d.moved_tick_at = now + MOVED_TICK_DELAY_MS;
		}
		if (d.stop)
			break;
		if (d.udp_fd >= 0 && fds[2].revents)
			receive_datagrams(&d, now, d.udp_fd, false);
		if (d.probe_fd >= 0 && fds[3].revents)
			receive_datagrams(&d, now, d.probe_fd, true);
		if ((d.udp_fd < 0 || (d.probe_fd < 0 && !d.probe_given_up)) &&
		    now >= d.bind_retry_at)
			try_bind(&d, now);
		if (d.moved_tick_at && now >= d.moved_tick_at) {
			d.moved_tick_at = 0;
			tick(&d, now);
		}
		if (now >= driver_next_deadline(d.drv) ||
		    (now >= driver_sense_deadline(d.drv) && driver_sense(d.drv, now)))
			tick(&d, now);
		if (!d.stop && (fds[4].revents || now >= portmap_next_deadline(d.pm)))
			run_portmap(&d, now);
		if (d.watchdog_ms && now >= d.watchdog_next) {
			notify_watchdog();
			d.watchdog_next = now + d.watchdog_ms;
		}
	}
	notify_stopping();
	teardown(&d);
	return d.exit_code;
}
