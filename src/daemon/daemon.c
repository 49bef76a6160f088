#include "daemon/daemon.h"

#include <errno.h>
#include <grp.h>
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
#include "common/peerlabel.h"
#include "core/engine.h"
#include "daemon/control.h"
#include "daemon/driver.h"
#include "daemon/metrics.h"
#include "daemon/resolve.h"
#include "sys/ctlsock.h"
#include "sys/ifacelock.h"
#include "sys/log.h"
#include "sys/loglimit.h"
#include "sys/netif.h"
#include "sys/notify.h"
#include "sys/portmap.h"
#include "sys/sandbox.h"
#include "sys/udp.h"
#include "sys/wgdev.h"
#include "wl_version.h"

/* Datagrams read per wake-up before the loop looks at its timers again. */
#define RX_BURST 64
#define BIND_RETRY_MS 200

/* Address events come in bursts (an address, its routes, DAD): one tick
 * this long after the first. */
#define MOVED_TICK_DELAY_MS 200
/* Reading our link or putting our address back failed: try again after. */
#define OWN_RETRY_MS 1000
/* The MetricsFile is rewritten at most this often (node_exporter reads it
 * when scraped, typically every 15 s or more). */
#define METRICS_FILE_MS 5000
/* Descriptors of the loop besides the control socket's. */
#define LOOP_FDS 5

/* Lines a remote peer can cause once per datagram, one limiter each
 * (sys/loglimit.h). */
enum {
	RL_RX_DROPPED, /* the engine refused a datagram */
	RL_RX_BIG,     /* a datagram over our buffer */
	RL_RX_ERROR,   /* recvmsg failed */
	RL_COUNT
};

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

	int lock_fd;  /* IFACELOCK_DIR/IFACE.lock, -1 if it could not be made */
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
	/* Never deaf: our link and our auto address as last read. When the
	 * link comes back up or the address goes while the link is up, the
	 * address goes back on and both sockets are bound afresh (a socket
	 * bound to an address that went away stays deaf). */
	bool link_up;
	bool addr_lost;     /* gone since we last bound: rebind once it is back */
	bool readd_warned;  /* putting it back failed: said once */
	int64_t own_check_at; /* read link and address then; 0 = no look due */
	/* Once both sockets are bound again: a new boot id (engine_rejoin),
	 * so peers resend what we missed. Empty = not rebinding. */
	char rejoin_why[96];
	struct log_limit rl[RL_COUNT];
	uint64_t rx_truncated;
	/* The control socket (wirelink show), NULL if it could not be made. */
	struct ctlsock *ctl;
	int64_t started;
	int64_t metrics_at;   /* the next MetricsFile write, 0 = none */
	bool metrics_warned;  /* a failed write was logged; quiet until one works */
	/* The MetricsFile last written ("" = none): removed at exit, or when a
	 * reload names another one. */
	char metrics_written[PATH_MAX];
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
	int rc = netif_list_addrs(d->nl, AF_UNSPEC, 0, out, n);
	/* Every tick, without asking the kernel again: is our address still
	 * there? (The watch says so at once; this catches lost events.) */
	bool present = false;
	for (size_t i = 0; rc == 0 && i < *n && !present; i++)
		present = (*out)[i].ifindex == d->id->ifindex &&
			  wl_addr_equal(&(*out)[i].addr, &d->id->auto_addr);
	if (rc == 0 && !present && d->link_up && !d->own_check_at)
		d->own_check_at = mono_ms();
	return rc;
}

static int host_send(void *ctx, const struct wl_addr *dst, uint16_t port, const uint8_t *buf,
		     size_t len)
{
	struct daemon *d = ctx;
	int rc = d->udp_fd < 0 ? -ENOTCONN : udp_send(d->udp_fd, d->id->ifindex, dst, port, buf, len);
	/* With our link down the kernel says "network unreachable", with our
	 * address gone "no route" or nothing at all: which reads as a peer's
	 * path, and is quiet. It is ours, and lasts until the link is back
	 * (check_own): say so, so the driver reports it. */
	if (rc < 0 && udp_error_is_unreachable(rc) && (!d->link_up || d->addr_lost))
		rc = d->link_up ? -EADDRNOTAVAIL : -ENETDOWN;
	return rc;
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

/* Events are logged at info: below that level nobody reads their text. */
static bool host_wants_event_text(void *ctx)
{
	(void)ctx;
	return log_get_level() >= LOG_LVL_INFO;
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
	.wants_event_text = host_wants_event_text,
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

/* One line for systemctl status: what is wrong first (the link down, our
 * address missing, sending failing), then the peers. */
static void report_status(struct daemon *d, int64_t now)
{
	struct engine *e = driver_engine(d->drv);
	struct status_count c = { 0 };
	engine_foreach_peer(e, now, count_peer, &c);
	const char *iface = driver_config(d->drv)->iface;
	char trouble[192] = "";
	size_t k = 0;
	if (!d->link_up)
		k += (size_t)snprintf(trouble + k, sizeof(trouble) - k, "%s is down; ", iface);
	else if (d->addr_lost)
		k += (size_t)snprintf(trouble + k, sizeof(trouble) - k,
				      "our address is missing from %s; ", iface);
	int err;
	int64_t since;
	if (k < sizeof(trouble) && driver_tx_failing(d->drv, &err, &since))
		snprintf(trouble + k, sizeof(trouble) - k, "sending fails (%s) for %lld s; ",
			 strerror(err), (long long)((now - since) / 1000));
	notify_status("%s%zu peers, %zu healthy, %zu alive, %zu facts%s", trouble, c.peers,
		      c.healthy, c.alive, engine_fact_count(e), engine_is_router(e) ? ", router" : "");
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
		else if (d->rejoin_why[0]) {
			/* Bound again after being deaf: ask peers for what we
			 * missed, now that their answers can reach us. */
			engine_rejoin(driver_engine(d->drv), now, d->rejoin_why);
			d->rejoin_why[0] = '\0';
		}
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

/* ---- never deaf: our link, our address, our sockets ---- */

/* Closes both sockets and binds them again (to the address just put
 * back); once both are bound, the engine rejoins (try_bind). */
static void rebind(struct daemon *d, int64_t now, const char *why)
{
	if (d->udp_fd >= 0)
		close(d->udp_fd);
	if (d->probe_fd >= 0)
		close(d->probe_fd);
	d->udp_fd = d->probe_fd = -1;
	d->probe_given_up = false;
	d->bind_warned = false;
	snprintf(d->rejoin_why, sizeof(d->rejoin_why), "%s", why);
	try_bind(d, now);
}

/* Reads our link and our addresses and mends what an event (or a tick
 * that missed our address) says may be broken:
 *   - the link went down: noted (status, one notice); nothing can be
 *     done until it is up again (going down removes IPv6 addresses);
 *   - the link is up without our auto address (it came back up, or
 *     someone deleted the address): the address goes back on, usable at
 *     once (no DAD, as at the start), and both sockets are bound again;
 *   - the link came back up with the address, or the address came back
 *     by someone else's hand: both sockets are bound again.
 * One notice says what happened and what was done. */
static void check_own(struct daemon *d, int64_t now)
{
	const struct driver_identity *id = d->id;
	const char *iface = driver_config(d->drv)->iface;
	char a[WL_ADDR_STR_MAX];
	d->own_check_at = 0;
	struct netif_link l;
	int rc = netif_get_link(d->nl, id->ifindex, &l);
	if (rc == -ENODEV)
		return; /* the watch reports the link gone */
	struct netif_addr *addrs = NULL;
	size_t n = 0;
	if (rc == 0)
		rc = netif_list_addrs(d->nl, AF_INET6, id->ifindex, &addrs, &n);
	if (rc < 0) {
		d->own_check_at = now + OWN_RETRY_MS;
		return;
	}
	bool present = false;
	for (size_t i = 0; i < n && !present; i++)
		present = wl_addr_equal(&addrs[i].addr, &id->auto_addr);
	free(addrs);
	bool was_up = d->link_up;
	d->link_up = l.up;
	if (!present)
		d->addr_lost = true;
	if (!l.up) {
		if (was_up) {
			log_notice("%s is down: wirelink can neither send nor receive until it is up "
				   "again", iface);
			report_status(d, now);
		}
		return;
	}
	if (was_up && !d->addr_lost)
		return; /* nothing changed that matters */
	wl_addr_str(&id->auto_addr, a);
	unsigned port = id->port, probe = (unsigned)(uint16_t)(id->port + ENGINE_PROBE_PORT_OFFSET);
	if (!present) {
		struct wl_cidr own = { .addr = id->auto_addr, .prefix = 64 };
		rc = netif_add_addr(d->nl, id->ifindex, &own, RT_SCOPE_LINK, IFA_F_NODAD);
		if (rc < 0 && rc != -EEXIST) {
			if (!d->readd_warned)
				log_warn("cannot add our address %s/64 to %s again: %s; retrying",
					 a, iface, strerror(-rc));
			d->readd_warned = true;
			d->own_check_at = now + OWN_RETRY_MS;
			report_status(d, now);
			return;
		}
		if (!was_up)
			log_notice("%s is up again; put our address %s back on it, binding ports "
				   "%u and %u again", iface, a, port, probe);
		else
			log_notice("our address %s was removed from %s; put it back, binding ports "
				   "%u and %u again", a, iface, port, probe);
	} else if (!was_up) {
		log_notice("%s is up again; binding ports %u and %u again", iface, port, probe);
	} else {
		log_notice("our address %s is back on %s; binding ports %u and %u again", a, iface,
			   port, probe);
	}
	d->readd_warned = false;
	d->addr_lost = false;
	rebind(d, now, !was_up ? "the interface was down" : "our address was gone");
	report_status(d, now);
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
			log_limited(&d->rl[RL_RX_ERROR], now, LOG_LVL_DEBUG, "receiving: %s",
				    strerror((int)-n));
			return;
		}
		if (truncated) {
			d->rx_truncated++;
			log_limited(&d->rl[RL_RX_BIG], now, LOG_LVL_DEBUG,
				    "dropped a datagram over %zu bytes", sizeof(buf));
			continue;
		}
		enum engine_rx r = probe ? driver_receive_probe(d->drv, now, &src, buf, (size_t)n)
				     : driver_receive(d->drv, now, &src, buf, (size_t)n);
		if (r != ENGINE_RX_OK && r != ENGINE_RX_PROBE && log_get_level() >= LOG_LVL_DEBUG) {
			/* The source is a peer's auto address: name the peer. */
			char lb[WL_PEER_LABEL_MAX], a[WL_ADDR_STR_MAX];
			const char *who = engine_addr_label(driver_engine(d->drv), &src, lb);
			log_limited(&d->rl[RL_RX_DROPPED], now, LOG_LVL_DEBUG,
				    "dropped a %zd-byte datagram from %s%s%s%s (%s)", n,
				    who ? "peer " : "", who ? who : "", who ? " at " : "",
				    wl_addr_str(&src, a), r == ENGINE_RX_PARSE ? "malformed"
				    : r == ENGINE_RX_BAD_SOURCE ? "source is not the signer"
								: "bad signature");
		}
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

/* SIGHUP (or the control socket's "reload"): 0, or -1 with the reason
 * in err (also logged). */
static int reload(struct daemon *d, int64_t now, char *err, size_t err_len)
{
	struct wl_config *fresh = NULL;
	int rc = config_load(d->reload_argc, d->reload_argv, d->reload_envp, &fresh, err, err_len);
	if (rc != CONFIG_OK) {
		log_error("reload failed, keeping the running configuration: %s", err);
		return -1;
	}
	size_t n_peers = fresh->n_peers;
	if (driver_reload(d->drv, now, fresh, err, err_len) < 0) {
		log_error("reload refused, keeping the running configuration: %s", err);
		config_free(fresh);
		return -1;
	}
	log_notice("configuration reloaded (%zu configured peers); peers will be resent everything",
		   n_peers);
	return 0;
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
			reload(d, now, (char[512]){ 0 }, 512);
			break;
		case SIGUSR1:
			/* The dump is a block of plain lines; this one gives it a time. */
			log_notice("SIGUSR1: the state follows");
			fflush(stderr);
			engine_dump(driver_engine(d->drv), now, dump_line, NULL);
			dump_driver(driver_get_stats(d->drv));
			fflush(stderr);
			break;
		}
	}
}

/* ---- the control socket and the metrics ---- */

static void control_view_of(struct daemon *d, int64_t now, struct control_view *v)
{
	memset(v, 0, sizeof(*v));
	v->iface = driver_config(d->drv)->iface;
	v->version = WL_VERSION;
	v->pid = (long)getpid();
	v->e = driver_engine(d->drv);
	v->now = now;
	v->started = d->started;
	v->drv = driver_get_stats(d->drv);
	v->has_portmap = d->pm != NULL;
	if (d->pm) {
		portmap_get_status(d->pm, now, &v->pm);
		v->pm_stats = *portmap_get_stats(d->pm);
	}
	v->rx_truncated = d->rx_truncated;
}

static int control_reload(void *ctx, char *why, size_t why_len)
{
	struct daemon *d = ctx;
	log_notice("reload asked on the control socket");
	return reload(d, mono_ms(), why, why_len);
}

static char *control_request(void *ctx, const char *line, size_t len)
{
	struct daemon *d = ctx;
	struct control_view v;
	control_view_of(d, mono_ms(), &v);
	const struct control_ops ops = { control_reload, d };
	return control_answer(&v, &ops, line, len);
}

/* ControlGroup: a group name or number -> its id; -1 if none is set.
 * -2 (logged) if the group does not exist. */
static long control_gid(const char *group)
{
	if (!group[0])
		return -1;
	char *end;
	long n = strtol(group, &end, 10);
	if (*end == '\0')
		return n;
	struct group *g = getgrnam(group);
	if (!g) {
		log_error("ControlGroup: \"%s\": no such group", group);
		return -2;
	}
	return (long)g->gr_gid;
}

/* The control socket, beside the lock. -1 (exit 1) only for a group
 * that does not exist; a socket that cannot be made is a warning: the
 * daemon does its job without it. */
static int open_control(struct daemon *d)
{
	const struct wl_config *cfg = driver_config(d->drv);
	long gid = control_gid(cfg->control_group);
	if (gid == -2)
		return -1;
	char path[128];
	int rc = ctlsock_open(IFACELOCK_DIR, cfg->iface, gid, path, sizeof(path), &d->ctl);
	if (rc == -EPERM && gid >= 0)
		log_warn("cannot give the control socket %s to ControlGroup %s: %s (needs "
			 "CAP_CHOWN at start, or the service's Group= to be it); wirelink show will "
			 "not reach this daemon", path,
			 cfg->control_group, strerror(-rc));
	else if (rc < 0)
		log_warn("cannot create the control socket %s: %s; wirelink show will not reach "
			 "this daemon", path, strerror(-rc));
	else
		log_debug("control socket %s (mode %s)", path, gid >= 0 ? "0660" : "0600");
	return 0;
}

/* MetricsFile: rewritten after a tick, at most every METRICS_FILE_MS. */
static void write_metrics(struct daemon *d, int64_t now)
{
	const char *path = driver_config(d->drv)->metrics_file;
	if (d->metrics_written[0] && strcmp(path, d->metrics_written) != 0) {
		unlink(d->metrics_written); /* a reload moved or dropped it */
		d->metrics_written[0] = '\0';
	}
	if (!path[0] || now < d->metrics_at)
		return;
	d->metrics_at = now + METRICS_FILE_MS;
	struct control_view v;
	control_view_of(d, now, &v);
	char *text = metrics_text(&v);
	int rc = text ? metrics_write_file(path, text) : -ENOMEM;
	free(text);
	if (rc == 0)
		snprintf(d->metrics_written, sizeof(d->metrics_written), "%s", path);
	if (rc < 0 && !d->metrics_warned)
		log_warn("MetricsFile: cannot write %s: %s; retrying quietly", path, strerror(-rc));
	else if (rc == 0 && d->metrics_warned)
		log_notice("MetricsFile: %s written again", path);
	d->metrics_warned = rc < 0;
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

/* One wirelink per interface, decided before the device is touched: a
 * second one would write the device without its socket (the port is
 * taken) and fight the first. 0 to go on, -1 to exit 1. A lock that
 * cannot be made at all (no /run, not root) is only a warning. */
static int take_lock(struct daemon *d, const char *iface)
{
	char path[128];
	pid_t holder;
	int rc = ifacelock_take(IFACELOCK_DIR, iface, path, sizeof(path), &d->lock_fd, &holder);
	if (rc == 0)
		return 0;
	if (rc == -EWOULDBLOCK) {
		if (holder > 0)
			log_error("another wirelink (PID %ld) is already running on %s (lock %s); "
				  "exiting", (long)holder, iface, path);
		else
			log_error("another wirelink is already running on %s (lock %s); exiting",
				  iface, path);
		return -1;
	}
	log_warn("cannot lock %s: %s; not checking for another wirelink on %s", path,
		 strerror(-rc), iface);
	return 0;
}

/* Least privilege once everything that needs more is done (sys/sandbox.h):
 * the device is open, the lock taken, the address added, the sockets
 * bound (or being retried: binding needs no privilege), the port mapper
 * made. What runs later (reload, rebind, re-adding the address, DNS,
 * port mapping) needs only CAP_NET_ADMIN and the allowed calls. */
static int enter_sandbox(struct daemon *d)
{
	const struct wl_config *cfg = driver_config(d->drv);
	if (!cfg->sandbox) {
		log_notice("sandbox off (Sandbox false): keeping every capability, no system-call "
			   "filter");
		return 0;
	}
	char err[160];
	if (sandbox_enter(err, sizeof(err)) < 0) {
		log_error("cannot enter the sandbox: %s; exiting (Sandbox false runs without)",
			  err);
		return -1;
	}
	log_debug("sandbox: only CAP_NET_ADMIN, no_new_privs, %zu system calls allowed",
		  sandbox_allowed_count());
	return 0;
}

static void teardown(struct daemon *d)
{
	ctlsock_close(d->ctl); /* removes the socket file */
	if (d->metrics_written[0])
		unlink(d->metrics_written); /* no stale "up" for a stopped daemon */
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
	ifacelock_release(d->lock_fd); /* last: the device is left alone now */
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
	if (d->own_check_at && d->own_check_at < next)
		next = d->own_check_at;
	if (d->ctl && ctlsock_next_deadline(d->ctl) < next)
		next = ctlsock_next_deadline(d->ctl);
	for (int i = 0; i < RL_COUNT; i++)
		if (log_limit_deadline(&d->rl[i]) < next)
			next = log_limit_deadline(&d->rl[i]);
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
		.lock_fd = -1,
		.udp_fd = -1,
		.probe_fd = -1,
		.sig_fd = -1,
		.link_up = true, /* check_own below says otherwise */
		.rl = {
			[RL_RX_DROPPED] = LOG_LIMIT_INIT("dropped datagrams"),
			[RL_RX_BIG] = LOG_LIMIT_INIT("oversized datagrams"),
			[RL_RX_ERROR] = LOG_LIMIT_INIT("receive errors"),
		},
	};
	int64_t now = mono_ms();
	d.started = now;
	*cfg = NULL; /* ours now: the driver's, once setup() hands it over */
	if (take_lock(&d, d.cfg->iface) < 0) {
		config_free(d.cfg);
		return 1;
	}
	d.sig_fd = open_signals();
	if (d.sig_fd < 0 || setup(&d, now) < 0 || open_control(&d) < 0) {
		teardown(&d);
		config_free(d.cfg);
		return 1;
	}
	try_bind(&d, now);
	check_own(&d, now);
	if (enter_sandbox(&d) < 0) {
		teardown(&d);
		return 1;
	}
	d.watchdog_ms = notify_watchdog_ms() / 2;
	d.watchdog_next = now + d.watchdog_ms;
	notify_ready();

	while (!d.stop) {
		struct pollfd fds[LOOP_FDS + CTLSOCK_MAX_FDS] = {
			{ .fd = d.sig_fd, .events = POLLIN },
			{ .fd = netif_watch_fd(d.watch), .events = POLLIN },
			{ .fd = d.udp_fd, .events = POLLIN },
			{ .fd = d.probe_fd, .events = POLLIN },
			/* -1 (ignored by poll) while no request is in flight */
			{ .fd = portmap_fd(d.pm), .events = POLLIN },
		};
		size_t nfds = LOOP_FDS + (d.ctl ? ctlsock_pollfds(d.ctl, fds + LOOP_FDS) : 0);
		int rc = poll(fds, nfds, poll_timeout(&d, mono_ms()));
		if (rc < 0 && errno != EINTR) {
			fatal_stop(&d, "poll failed");
			break;
		}
		now = mono_ms();
		if (fds[0].revents)
			handle_signals(&d, now);
		if (fds[1].revents) {
			struct netif_events ev = { 0 };
			netif_watch_drain(d.watch, d.id->ifindex, &ev);
			if (ev.gone)
				fatal_stop(&d, "the WireGuard interface disappeared; exiting");
			if (ev.moved && !d.moved_tick_at)
				d.moved_tick_at = now + MOVED_TICK_DELAY_MS;
			if (ev.ours && !ev.gone)
				check_own(&d, now);
		}
		if (d.stop)
			break;
		if (d.udp_fd >= 0 && fds[2].revents)
			receive_datagrams(&d, now, d.udp_fd, false);
		if (d.probe_fd >= 0 && fds[3].revents)
			receive_datagrams(&d, now, d.probe_fd, true);
		if (d.own_check_at && now >= d.own_check_at)
			check_own(&d, now);
		if ((d.udp_fd < 0 || (d.probe_fd < 0 && !d.probe_given_up)) &&
		    now >= d.bind_retry_at)
			try_bind(&d, now);
		for (int i = 0; i < RL_COUNT; i++)
			log_limit_flush(&d.rl[i], now);
		if (d.moved_tick_at && now >= d.moved_tick_at) {
			d.moved_tick_at = 0;
			tick(&d, now);
		}
		if (now >= driver_next_deadline(d.drv) ||
		    (now >= driver_sense_deadline(d.drv) && driver_sense(d.drv, now)))
			tick(&d, now);
		if (!d.stop && (fds[4].revents || now >= portmap_next_deadline(d.pm)))
			run_portmap(&d, now);
		/* Requests are answered after the tick: they see its decisions. */
		if (!d.stop && d.ctl)
			ctlsock_service(d.ctl, fds + LOOP_FDS, nfds - LOOP_FDS, now, control_request,
					&d);
		if (!d.stop)
			write_metrics(&d, now);
		if (d.watchdog_ms && now >= d.watchdog_next) {
			notify_watchdog();
			d.watchdog_next = now + d.watchdog_ms;
		}
	}
	notify_stopping();
	teardown(&d);
	return d.exit_code;
}
