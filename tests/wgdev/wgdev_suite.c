/* The device test suite every WireGuard backend must pass.
 *
 * usage: wgdev_suite --iface NAME --backend kernel|userspace [--wg PATH|--no-wg]
 *        wgdev_suite --backend memory [--iface NAME]
 *
 * Runs against a real, freshly created, EMPTY WireGuard interface (the
 * caller creates it: `ip link add NAME type wireguard` in a VM, or
 * wireguard-go NAME in a namespace), or against a fresh in-memory model
 * (src/sys/wg_mem.h), so the model is held to the very checks the real
 * devices pass. It changes the device through wgdev.h only:
 * device key and port, peers with IPv4/IPv6 endpoints and allowed IPs,
 * update-only, add vs replace, keepalive, removal, ordering within one
 * apply, allowed IPs moving between peers, masking, peers with the
 * device's own key, a 1000-peer x 4-allowed-IP round trip, and a
 * cross-check against `wg show NAME dump` when the wg tool is there (not
 * for the model, which has no interface to show). Prints the same lines as
 * the unit tests:
 *   PASS: wgdev-BACKEND/check
 *   FAIL: wgdev-BACKEND/check: file:line: what
 *   SKIP: wgdev-BACKEND/check: why
 * plus "INFO:" lines with timings. Exit status 1 if any check failed. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "common/encoding.h"
#include "sys/log.h"
#include "sys/wg_mem.h"
#include "sys/wgdev.h"
#include "wire/autoaddr.h"

#define BULK_PEERS 1000
/* The name and ifindex of the in-memory device. */
#define MEMORY_IFNAME "wgmem0"
#define MEMORY_IFINDEX 1000
#define BULK_IPS 4

struct ctx {
	struct wgdev *wg;
	struct wg_mem *model; /* --backend memory: the device itself */
	const char *ifname;
	const char *wg_tool; /* NULL: no cross-check */
	const char *no_wg_reason;
	uint8_t private_key[WL_KEY_LEN];
	uint16_t port;
	struct wg_peer_change *bulk; /* BULK_PEERS changes, kept between checks */
	struct wl_cidr *bulk_ips;
};

/* ---- a tiny harness with the shared line format ---- */

static char suite[64];
static const char *current;
static bool current_failed, current_skipped;
static int n_failed;

__attribute__((format(printf, 3, 4)))
static void fail(const char *file, int line, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("FAIL: %s/%s: %s:%d: %s\n", suite, current, file, line, msg);
	fflush(stdout);
	current_failed = true;
}

static void skip(const char *why)
{
	printf("SKIP: %s/%s: %s\n", suite, current, why);
	current_skipped = true;
}

#define EXPECT(cond, ...)                                                      \
	do {                                                                   \
		if (!(cond))                                                   \
			fail(__FILE__, __LINE__, __VA_ARGS__);                 \
	} while (0)
#define EXPECT_OK(expr)                                                        \
	do {                                                                   \
		int r_ = (expr);                                               \
		if (r_ < 0)                                                    \
			fail(__FILE__, __LINE__, "%s: %s", #expr, strerror(-r_)); \
	} while (0)

static void run(const char *name, void (*fn)(struct ctx *), struct ctx *c)
{
	current = name;
	current_failed = current_skipped = false;
	fn(c);
	if (current_failed)
		n_failed++;
	else if (!current_skipped)
		printf("PASS: %s/%s\n", suite, name);
	fflush(stdout);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* ---- helpers ---- */

static void new_public_key(uint8_t pub[static WL_KEY_LEN])
{
	uint8_t priv[WL_KEY_LEN];
	randombytes_buf(priv, sizeof(priv));
	crypto_scalarmult_base(pub, priv);
	sodium_memzero(priv, sizeof(priv));
}

static struct wl_cidr cidr(const char *s)
{
	struct wl_cidr c;
	if (!wl_cidr_parse(s, &c)) {
		fprintf(stderr, "bad test cidr %s\n", s);
		abort();
	}
	return c;
}

static struct wl_endpoint endpoint(const char *s)
{
	struct wl_endpoint e;
	if (!wl_endpoint_parse(s, &e)) {
		fprintf(stderr, "bad test endpoint %s\n", s);
		abort();
	}
	return e;
}

static struct wg_device *get(struct ctx *c)
{
	struct wg_device *d = NULL;
	int r = wgdev_get(c->wg, &d);
	EXPECT(r == 0 && d, "wgdev_get: %s", strerror(-r));
	return d;
}

static int apply1(struct ctx *c, const struct wg_peer_change *ch)
{
	return wgdev_apply(c->wg, ch, 1);
}

/* Removes every peer, so each check starts from an empty peer list. */
static void reset_peers(struct ctx *c)
{
	struct wg_device *d = get(c);
	if (!d)
		return;
	struct wg_peer_change *ch = calloc(d->n_peers + 1, sizeof(*ch));
	for (size_t i = 0; ch && i < d->n_peers; i++) {
		memcpy(ch[i].public_key, d->peers[i].public_key, WL_KEY_LEN);
		ch[i].flags = WG_PEER_REMOVE;
	}
	if (ch)
		EXPECT_OK(wgdev_apply(c->wg, ch, d->n_peers));
	free(ch);
	wg_device_free(d);
}

static int cidr_cmp(const void *a, const void *b)
{
	const struct wl_cidr *x = a, *y = b;
	if (x->addr.family != y->addr.family)
		return x->addr.family < y->addr.family ? -1 : 1;
	int m = memcmp(x->addr.bytes, y->addr.bytes, 16);
	if (m)
		return m;
	return (int)x->prefix - (int)y->prefix;
}

/* The peer's allowed IPs equal want[0..n) as a set (order is the
 * backend's business). Reports mismatches as failures. */
static bool same_allowed(const struct wg_peer *p, const struct wl_cidr *want, size_t n,
			 const char *what)
{
	if (p->n_allowed != n) {
		fail(__FILE__, __LINE__, "%s: %zu allowed IPs, expected %zu", what, p->n_allowed, n);
		return false;
	}
	struct wl_cidr *a = calloc(n + 1, sizeof(*a)), *b = calloc(n + 1, sizeof(*b));
	bool ok = a && b;
	if (ok && n > 0) {
		memcpy(a, p->allowed_ips, n * sizeof(*a));
		memcpy(b, want, n * sizeof(*b));
		qsort(a, n, sizeof(*a), cidr_cmp);
		qsort(b, n, sizeof(*b), cidr_cmp);
		for (size_t i = 0; i < n && ok; i++) {
			if (cidr_cmp(&a[i], &b[i]) != 0) {
				char x[WL_CIDR_STR_MAX], y[WL_CIDR_STR_MAX];
				fail(__FILE__, __LINE__, "%s: allowed IP %s where %s expected", what,
				     wl_cidr_str(&a[i], x), wl_cidr_str(&b[i], y));
				ok = false;
			}
		}
	}
	free(a);
	free(b);
	return ok;
}

/* The peer is in the snapshot; a failure otherwise. */
#define EXPECT_PEER(d, key) expect_peer(__FILE__, __LINE__, (d), (key))
static bool expect_peer(const char *file, int line, struct wg_device *d,
			const uint8_t key[static WL_KEY_LEN])
{
	if (wg_device_find_peer(d, key))
		return true;
	fail(file, line, "peer missing");
	return false;
}

/* ---- cross-check against `wg show IFACE dump` ---- */

static void dump_field(char **line, char *out, size_t cap)
{
	char *tab = strchr(*line, '\t');
	size_t n = tab ? (size_t)(tab - *line) : strlen(*line);
	snprintf(out, cap, "%.*s", (int)n, *line);
	*line += n + (tab ? 1 : 0);
}

/* Compares one `wg show dump` peer line with our snapshot. */
static void check_dump_peer(struct wg_device *d, char *line)
{
	char f[9][4096];
	for (int i = 0; i < 8; i++)
		dump_field(&line, f[i], sizeof(f[i]));
	uint8_t key[WL_KEY_LEN];
	if (!key_from_base64(f[0], key)) {
		fail(__FILE__, __LINE__, "wg dump: bad peer key '%s'", f[0]);
		return;
	}
	struct wg_peer *p = wg_device_find_peer(d, key);
	if (!p) {
		fail(__FILE__, __LINE__, "wg dump lists peer %s that wgdev_get lacks", f[0]);
		return;
	}
	char e[WL_ENDPOINT_STR_MAX];
	EXPECT(strcmp(f[2], p->has_endpoint ? wl_endpoint_str(&p->endpoint, e) : "(none)") == 0,
	       "peer %s: wg endpoint %s, ours %s", f[0], f[2], p->has_endpoint ? e : "(none)");
	/* allowed IPs: comma separated, or (none) */
	size_t n = 0;
	struct wl_cidr *ips = calloc(strlen(f[3]) / 2 + 2, sizeof(*ips));
	if (strcmp(f[3], "(none)") != 0) {
		for (char *tok = strtok(f[3], ","); tok && ips; tok = strtok(NULL, ","))
			if (!wl_cidr_parse(tok, &ips[n++]))
				fail(__FILE__, __LINE__, "wg dump: bad allowed ip '%s'", tok);
	}
	if (ips)
		same_allowed(p, ips, n, "wg dump vs wgdev_get");
	free(ips);
	EXPECT(strtoll(f[4], NULL, 10) == (long long)p->last_handshake.tv_sec,
	       "peer %s: handshake %s vs %lld", f[0], f[4], (long long)p->last_handshake.tv_sec);
	EXPECT(strtoull(f[5], NULL, 10) == p->rx_bytes && strtoull(f[6], NULL, 10) == p->tx_bytes,
	       "peer %s: transfer differs", f[0]);
	unsigned long ka = strcmp(f[7], "off") == 0 ? 0 : strtoul(f[7], NULL, 10);
	EXPECT(ka == p->persistent_keepalive, "peer %s: keepalive %s vs %u", f[0], f[7],
	       p->persistent_keepalive);
}

/* Starts `WG show IFACE dump` without a shell; returns its output. */
static FILE *run_wg_dump(const struct ctx *c, pid_t *pid)
{
	int fds[2];
	if (pipe(fds) < 0)
		return NULL;
	*pid = fork();
	if (*pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	if (*pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execlp(c->wg_tool, c->wg_tool, "show", c->ifname, "dump", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	if (!f) {
		close(fds[0]);
		waitpid(*pid, NULL, 0);
	}
	return f;
}

static void crosscheck_wg(struct ctx *c)
{
	if (c->model) {
		skip("needs a real interface: wg show cannot see an in-memory device");
		return;
	}
	if (!c->wg_tool) {
		skip(c->no_wg_reason);
		return;
	}
	struct wg_device *d = get(c);
	if (!d)
		return;
	const char *cmd = "wg show IFACE dump";
	pid_t pid;
	FILE *f = run_wg_dump(c, &pid);
	if (!f) {
		fail(__FILE__, __LINE__, "cannot run %s", c->wg_tool);
		wg_device_free(d);
		return;
	}
	char *line = NULL;
	size_t cap = 0;
	size_t peers = 0;
	bool first = true;
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (first) {
			char fld[4][128], k[WL_KEY_B64_LEN];
			char *p = line;
			for (int i = 0; i < 4; i++)
				dump_field(&p, fld[i], sizeof(fld[i]));
			EXPECT(strcmp(fld[1], d->has_private_key ? key_to_base64(d->public_key, k)
								 : "(none)") == 0,
			       "device public key: wg %s", fld[1]);
			uint8_t priv[WL_KEY_LEN];
			EXPECT(d->has_private_key ? key_from_base64(fld[0], priv) &&
							    memcmp(priv, d->private_key, 32) == 0
						  : strcmp(fld[0], "(none)") == 0,
			       "device private key differs from wg's");
			sodium_memzero(priv, sizeof(priv));
			sodium_memzero(fld[0], sizeof(fld[0]));
			EXPECT(strtoul(fld[2], NULL, 10) == d->listen_port, "listen port: wg %s, ours %u",
			       fld[2], d->listen_port);
			unsigned long fw = strcmp(fld[3], "off") == 0 ? 0 : strtoul(fld[3], NULL, 0);
			EXPECT(fw == d->fwmark, "fwmark: wg %s, ours %u", fld[3], d->fwmark);
			first = false;
		} else {
			check_dump_peer(d, line);
			peers++;
		}
	}
	if (line)
		sodium_memzero(line, cap);
	free(line);
	fclose(f);
	int st = -1;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		continue;
	EXPECT(st == 0 && !first, "'%s' failed (status %d)", cmd, st);
	EXPECT(peers == d->n_peers, "wg lists %zu peers, wgdev_get %zu", peers, d->n_peers);
	wg_device_free(d);
}

/* ---- the checks ---- */

static void check_empty(struct ctx *c)
{
	EXPECT(wgdev_backend_of(c->wg) != WGDEV_AUTO, "backend still AUTO after open");
	struct wg_device *d = get(c);
	if (!d)
		return;
	EXPECT(strcmp(d->name, c->ifname) == 0, "name '%s'", d->name);
	EXPECT(d->ifindex != 0, "ifindex 0");
	EXPECT(d->n_peers == 0, "fresh device has %zu peers (must be created empty)", d->n_peers);
	static const uint8_t zero[WL_KEY_LEN];
	if (!d->has_private_key)
		EXPECT(memcmp(d->public_key, zero, WL_KEY_LEN) == 0,
		       "a public key without a private key");
	wg_device_free(d);
}

/* AUTO must pick the backend this interface really has. */
static void check_auto_detect(struct ctx *c)
{
	if (c->model) {
		skip("needs a real interface: an in-memory device is never found by name");
		return;
	}
	struct wgdev *wg = NULL;
	int r = wgdev_open(c->ifname, WGDEV_AUTO, &wg);
	EXPECT(r == 0, "wgdev_open(AUTO): %s", strerror(-r));
	if (wg)
		EXPECT(wgdev_backend_of(wg) == wgdev_backend_of(c->wg), "AUTO chose %s",
		       wgdev_backend_name(wgdev_backend_of(wg)));
	wgdev_close(wg);
}

static void check_set_device(struct ctx *c)
{
	randombytes_buf(c->private_key, sizeof(c->private_key));
	c->private_key[0] &= 248; /* clamped, as wg genkey makes them */
	c->private_key[31] = (c->private_key[31] & 127) | 64;
	c->port = (uint16_t)(20000 + randombytes_uniform(30000));
	EXPECT_OK(wgdev_set_device(c->wg, c->private_key, c->port));
	struct wg_device *d = get(c);
	if (!d)
		return;
	uint8_t pub[WL_KEY_LEN];
	crypto_scalarmult_base(pub, c->private_key);
	EXPECT(d->has_private_key, "no private key after setting one");
	EXPECT(memcmp(d->private_key, c->private_key, 32) == 0, "private key differs");
	EXPECT(memcmp(d->public_key, pub, 32) == 0, "public key is not derived from the private key");
	EXPECT(d->listen_port == c->port, "listen port %u, set %u", d->listen_port, c->port);
	wg_device_free(d);

	/* port only: the key stays */
	c->port++;
	EXPECT_OK(wgdev_set_device(c->wg, NULL, c->port));
	d = get(c);
	if (!d)
		return;
	EXPECT(d->listen_port == c->port, "listen port %u, set %u", d->listen_port, c->port);
	EXPECT(memcmp(d->private_key, c->private_key, 32) == 0, "port change touched the key");
	wg_device_free(d);
	EXPECT(wgdev_set_device(c->wg, NULL, 70000) == -EINVAL, "port 70000 accepted");
}

static void check_add_v4_v6(struct ctx *c)
{
	reset_peers(c);
	struct wl_cidr a_ips[] = { cidr("10.11.0.0/24"), cidr("fd00:11::/64") };
	struct wl_cidr b_ips[] = { cidr("fd00:12::1/128"), cidr("10.12.0.7/32"), cidr("0.0.0.0/0") };
	struct wg_peer_change ch[2] = {
		{ .flags = WG_PEER_SET_ENDPOINT, .endpoint = endpoint("192.0.2.10:51820"),
		  .n_allowed = 2, .allowed_ips = a_ips },
		{ .flags = WG_PEER_SET_ENDPOINT | WG_PEER_SET_KEEPALIVE,
		  .endpoint = endpoint("[2001:db8::10]:4321"), .persistent_keepalive = 0,
		  .n_allowed = 3, .allowed_ips = b_ips },
	};
	new_public_key(ch[0].public_key);
	new_public_key(ch[1].public_key);
	EXPECT_OK(wgdev_apply(c->wg, ch, 2));
	struct wg_device *d = get(c);
	if (!d)
		return;
	EXPECT(d->n_peers == 2, "%zu peers", d->n_peers);
	for (int i = 0; i < 2; i++) {
		struct wg_peer *p = wg_device_find_peer(d, ch[i].public_key);
		EXPECT(p, "peer %d missing", i);
		if (!p)
			continue;
		EXPECT(p->has_endpoint && wl_endpoint_equal(&p->endpoint, &ch[i].endpoint),
		       "peer %d endpoint", i);
		same_allowed(p, ch[i].allowed_ips, ch[i].n_allowed, i ? "peer b" : "peer a");
		EXPECT(p->persistent_keepalive == 0, "keepalive %u", p->persistent_keepalive);
		EXPECT(p->last_handshake.tv_sec == 0 && p->last_handshake.tv_nsec == 0,
		       "fresh peer has a handshake time");
		EXPECT(p->rx_bytes == 0 && p->tx_bytes == 0, "fresh peer has traffic counters");
	}
	wg_device_free(d);
}

static void check_no_endpoint(struct ctx *c)
{
	reset_peers(c);
	struct wl_cidr ips[] = { cidr("10.13.0.0/16") };
	struct wg_peer_change ch = { .n_allowed = 1, .allowed_ips = ips };
	new_public_key(ch.public_key);
	EXPECT_OK(apply1(c, &ch));
	struct wg_device *d = get(c);
	struct wg_peer *p = d ? wg_device_find_peer(d, ch.public_key) : NULL;
	EXPECT(p, "peer missing");
	if (p) {
		EXPECT(!p->has_endpoint, "endpoint appeared");
		same_allowed(p, ips, 1, "peer");
	}
	wg_device_free(d);
}

static void check_add_vs_replace(struct ctx *c)
{
	reset_peers(c);
	struct wl_cidr first[] = { cidr("10.20.0.0/24"), cidr("fd00:20::/64") };
	struct wl_cidr more[] = { cidr("10.21.0.0/24") };
	struct wl_cidr repl[] = { cidr("10.22.0.0/24"), cidr("fd00:22::/48") };
	struct wl_cidr all[] = { first[0], first[1], more[0] };
	struct wg_peer_change ch = { .n_allowed = 2, .allowed_ips = first };
	new_public_key(ch.public_key);
	EXPECT_OK(apply1(c, &ch));
	/* without REPLACE: added to what is there */
	ch.n_allowed = 1;
	ch.allowed_ips = more;
	EXPECT_OK(apply1(c, &ch));
	struct wg_device *d = get(c);
	struct wg_peer *p = d ? wg_device_find_peer(d, ch.public_key) : NULL;
	EXPECT(p, "peer missing");
	if (p)
		same_allowed(p, all, 3, "after add");
	wg_device_free(d);
	/* REPLACE: exactly the new set */
	ch.flags = WG_PEER_REPLACE_ALLOWED_IPS;
	ch.n_allowed = 2;
	ch.allowed_ips = repl;
	EXPECT_OK(apply1(c, &ch));
	d = get(c);
	p = d ? wg_device_find_peer(d, ch.public_key) : NULL;
	if (p)
		same_allowed(p, repl, 2, "after replace");
	wg_device_free(d);
	/* REPLACE with nothing: none left, peer stays */
	ch.n_allowed = 0;
	ch.allowed_ips = NULL;
	EXPECT_OK(apply1(c, &ch));
	d = get(c);
	p = d ? wg_device_find_peer(d, ch.public_key) : NULL;
	EXPECT(p, "replace with no allowed IPs removed the peer");
	if (p)
		EXPECT(p->n_allowed == 0, "%zu allowed IPs left", p->n_allowed);
	wg_device_free(d);
}

static void check_update_only(struct ctx *c)
{
	reset_peers(c);
	struct wl_cidr ips[] = { cidr("10.30.0.0/24") };
	struct wg_peer_change ch = {
		.flags = WG_PEER_UPDATE_ONLY | WG_PEER_SET_ENDPOINT | WG_PEER_SET_KEEPALIVE |
			 WG_PEER_REPLACE_ALLOWED_IPS,
		.endpoint = endpoint("198.51.100.30:30"), .persistent_keepalive = 15,
		.n_allowed = 1, .allowed_ips = ips,
	};
	new_public_key(ch.public_key);
	EXPECT_OK(apply1(c, &ch));
	struct wg_device *d = get(c);
	EXPECT(d && d->n_peers == 0, "update_only created a peer");
	wg_device_free(d);
	/* create it, then update_only changes it */
	struct wg_peer_change add = { .n_allowed = 0 };
	memcpy(add.public_key, ch.public_key, WL_KEY_LEN);
	EXPECT_OK(apply1(c, &add));
	EXPECT_OK(apply1(c, &ch));
	d = get(c);
	struct wg_peer *p = d ? wg_device_find_peer(d, ch.public_key) : NULL;
	EXPECT(p, "peer missing");
	if (p) {
		EXPECT(p->has_endpoint && wl_endpoint_equal(&p->endpoint, &ch.endpoint), "endpoint");
		EXPECT(p->persistent_keepalive == 15, "keepalive %u", p->persistent_keepalive);
		same_allowed(p, ips, 1, "after update_only");
	}
	EXPECT(d && d->n_peers == 1, "peer count");
	wg_device_free(d);
}

static void check_endpoint_and_keepalive(struct ctx *c)
{
	reset_peers(c);
	struct wg_peer_change ch = { .flags = WG_PEER_SET_ENDPOINT | WG_PEER_SET_KEEPALIVE,
				     .endpoint = endpoint("203.0.113.40:40"),
				     .persistent_keepalive = 25 };
	new_public_key(ch.public_key);
	EXPECT_OK(apply1(c, &ch));
	struct wg_device *d = get(c);
	struct wg_peer *p = d ? wg_device_find_peer(d, ch.public_key) : NULL;
	EXPECT(p && p->persistent_keepalive == 25, "keepalive 25 not read back");
	wg_device_free(d);
	/* v4 -> v6 endpoint; keepalive off; flags absent leave things alone */
	ch.endpoint = endpoint("[2001:db8:40::1]:65535");
	ch.persistent_keepalive = 0;
	EXPECT_OK(apply1(c, &ch));
	d = get(c);
	p = d ? wg_device_find_peer(d, ch.public_key) : NULL;
	EXPECT(p && p->has_endpoint && wl_endpoint_equal(&p->endpoint, &ch.endpoint), "v6 endpoint");
	EXPECT(p && p->persistent_keepalive == 0, "keepalive not turned off");
	wg_device_free(d);
	struct wg_peer_change touch = { .flags = WG_PEER_UPDATE_ONLY };
	memcpy(touch.public_key, ch.public_key, WL_KEY_LEN);
	EXPECT_OK(apply1(c, &touch));
	d = get(c);
	p = d ? wg_device_find_peer(d, ch.public_key) : NULL;
	EXPECT(p && p->has_endpoint && wl_endpoint_equal(&p->endpoint, &ch.endpoint),
	       "a change without SET_ENDPOINT changed the endpoint");
	wg_device_free(d);
}

static void check_remove(struct ctx *c)
{
	reset_peers(c);
	struct wg_peer_change ch[3] = { 0 };
	for (int i = 0; i < 3; i++)
		new_public_key(ch[i].public_key);
	EXPECT_OK(wgdev_apply(c->wg, ch, 2));
	struct wg_peer_change rm = { .flags = WG_PEER_REMOVE };
	memcpy(rm.public_key, ch[0].public_key, WL_KEY_LEN);
	EXPECT_OK(apply1(c, &rm));
	/* removing a peer that is not there is not an error */
	memcpy(rm.public_key, ch[2].public_key, WL_KEY_LEN);
	EXPECT_OK(apply1(c, &rm));
	struct wg_device *d = get(c);
	if (!d)
		return;
	EXPECT(!wg_device_find_peer(d, ch[0].public_key), "removed peer still there");
	EXPECT(wg_device_find_peer(d, ch[1].public_key), "other peer went too");
	EXPECT(!wg_device_find_peer(d, ch[2].public_key), "remove created a peer");
	EXPECT(d->n_peers == 1, "%zu peers", d->n_peers);
	wg_device_free(d);
}

static void check_order_in_one_apply(struct ctx *c)
{
	reset_peers(c);
	struct wl_cidr ips[] = { cidr("10.50.0.0/24") };
	struct wg_peer_change ch[4] = { 0 };
	new_public_key(ch[0].public_key);
	ch[0].n_allowed = 1;
	ch[0].allowed_ips = ips;
	memcpy(ch[1].public_key, ch[0].public_key, WL_KEY_LEN);
	ch[1].flags = WG_PEER_REMOVE;
	new_public_key(ch[2].public_key);
	/* the same allowed IP, now for the second peer */
	ch[2].n_allowed = 1;
	ch[2].allowed_ips = ips;
	/* an update-only for the removed peer must not bring it back */
	memcpy(ch[3].public_key, ch[0].public_key, WL_KEY_LEN);
	ch[3].flags = WG_PEER_UPDATE_ONLY | WG_PEER_SET_KEEPALIVE;
	ch[3].persistent_keepalive = 5;
	EXPECT_OK(wgdev_apply(c->wg, ch, 4));
	struct wg_device *d = get(c);
	if (!d)
		return;
	EXPECT(!wg_device_find_peer(d, ch[0].public_key), "removed peer is back");
	struct wg_peer *p = wg_device_find_peer(d, ch[2].public_key);
	EXPECT(p, "second peer missing");
	if (p)
		same_allowed(p, ips, 1, "second peer");
	wg_device_free(d);
}

static void check_allowed_ip_moves(struct ctx *c)
{
	reset_peers(c);
	struct wl_cidr a_ips[] = { cidr("10.60.0.0/24"), cidr("10.61.0.0/24") };
	struct wl_cidr moved[] = { cidr("10.61.0.0/24") };
	struct wg_peer_change a = { .n_allowed = 2, .allowed_ips = a_ips };
	struct wg_peer_change b = { .n_allowed = 1, .allowed_ips = moved };
	new_public_key(a.public_key);
	new_public_key(b.public_key);
	EXPECT_OK(apply1(c, &a));
	EXPECT_OK(apply1(c, &b));
	struct wg_device *d = get(c);
	if (!d)
		return;
	struct wg_peer *pa = wg_device_find_peer(d, a.public_key);
	struct wg_peer *pb = wg_device_find_peer(d, b.public_key);
	EXPECT(pa && pb, "peers missing");
	if (pa)
		same_allowed(pa, a_ips, 1, "peer a keeps only 10.60.0.0/24");
	if (pb)
		same_allowed(pb, moved, 1, "peer b took 10.61.0.0/24");
	wg_device_free(d);
}

static void check_invalid_change(struct ctx *c)
{
	struct wl_cidr bad = { .prefix = 8 }; /* no address family */
	struct wg_peer_change ch = { .n_allowed = 1, .allowed_ips = &bad };
	new_public_key(ch.public_key);
	int r = apply1(c, &ch);
	EXPECT(r == -EINVAL, "an allowed IP without family gave %d, expected -EINVAL", r);
}

/* Allowed IPs are stored masked, so the same prefix written with other
 * host bits is the same prefix (and replaces nothing). */
static void check_allowed_ips_masked(struct ctx *c)
{
	reset_peers(c);
	struct wl_cidr ips[] = { cidr("10.80.1.77/24"), cidr("fd00:80::1:2/64"),
				 cidr("10.80.1.1/24") };
	struct wl_cidr want[] = { cidr("10.80.1.0/24"), cidr("fd00:80::/64") };
	struct wg_peer_change ch = { .n_allowed = 3, .allowed_ips = ips };
	new_public_key(ch.public_key);
	EXPECT_OK(apply1(c, &ch));
	struct wg_device *d = get(c);
	if (d && EXPECT_PEER(d, ch.public_key))
		same_allowed(wg_device_find_peer(d, ch.public_key), want, 2, "masked");
	wg_device_free(d);
}

/* A peer with the device's own public key is ignored without an error
 * (so one batch can configure every node of a network), and setting a
 * private key whose public key is a peer's removes that peer. */
static void check_own_key(struct ctx *c)
{
	reset_peers(c);
	struct wl_cidr ips[] = { cidr("10.81.0.0/24") };
	struct wg_peer_change ch[2] = { { .n_allowed = 1, .allowed_ips = ips }, { .flags = 0 } };
	crypto_scalarmult_base(ch[0].public_key, c->private_key);
	new_public_key(ch[1].public_key);
	EXPECT_OK(wgdev_apply(c->wg, ch, 2));
	struct wg_device *d = get(c);
	if (!d)
		return;
	EXPECT(!wg_device_find_peer(d, ch[0].public_key), "a peer with the device's own key");
	EXPECT(d->n_peers == 1, "%zu peers, expected 1", d->n_peers);
	wg_device_free(d);

	/* the device takes the key of a new peer: that peer goes */
	uint8_t priv[WL_KEY_LEN], pub[WL_KEY_LEN];
	randombytes_buf(priv, sizeof(priv));
	crypto_scalarmult_base(pub, priv);
	memcpy(ch[0].public_key, pub, WL_KEY_LEN);
	EXPECT_OK(apply1(c, &ch[0]));
	EXPECT_OK(wgdev_set_device(c->wg, priv, -1));
	memcpy(c->private_key, priv, WL_KEY_LEN);
	sodium_memzero(priv, sizeof(priv));
	d = get(c);
	if (!d)
		return;
	EXPECT(memcmp(d->public_key, pub, WL_KEY_LEN) == 0, "public key not the new key's");
	EXPECT(!wg_device_find_peer(d, pub), "the peer with the device's new key stayed");
	EXPECT(wg_device_find_peer(d, ch[1].public_key), "the other peer went too");
	EXPECT(d->n_peers == 1, "%zu peers, expected 1", d->n_peers);
	wg_device_free(d);
}

static void check_crosscheck_small(struct ctx *c)
{
	reset_peers(c);
	struct wl_cidr ips[] = { cidr("10.70.0.0/24"), cidr("fd00:70::/64"), cidr("::/0") };
	struct wg_peer_change ch[3] = {
		{ .flags = WG_PEER_SET_ENDPOINT | WG_PEER_SET_KEEPALIVE,
		  .endpoint = endpoint("192.0.2.70:7070"), .persistent_keepalive = 21,
		  .n_allowed = 2, .allowed_ips = ips },
		{ .flags = WG_PEER_SET_ENDPOINT, .endpoint = endpoint("[2001:db8::70]:70"),
		  .n_allowed = 1, .allowed_ips = ips + 2 },
		{ .n_allowed = 0 },
	};
	for (int i = 0; i < 3; i++)
		new_public_key(ch[i].public_key);
	EXPECT_OK(wgdev_apply(c->wg, ch, 3));
	crosscheck_wg(c);
}

/* Peer i of the bulk device: 4 distinct allowed IPs (two IPv4, a /64 and
 * the auto address /128, as wirelink sets it), a v4 or v6 endpoint, and a
 * keepalive on every third peer. */
static void bulk_peer(size_t i, struct wg_peer_change *ch, struct wl_cidr ips[static BULK_IPS])
{
	char s[64];
	new_public_key(ch->public_key);
	snprintf(s, sizeof(s), "10.%zu.%zu.0/24", 100 + i / 256, i % 256);
	ips[0] = cidr(s);
	snprintf(s, sizeof(s), "100.64.%zu.%zu/32", i / 256, i % 256);
	ips[1] = cidr(s);
	snprintf(s, sizeof(s), "fd00:%zx::/64", i + 1);
	ips[2] = cidr(s);
	ips[3].prefix = 128;
	autoaddr_of(ch->public_key, &ips[3].addr);
	ch->flags = WG_PEER_SET_ENDPOINT | WG_PEER_REPLACE_ALLOWED_IPS;
	if (i % 2)
		snprintf(s, sizeof(s), "[2001:db8::%zx]:%zu", i, 1024 + i);
	else
		snprintf(s, sizeof(s), "%s.%zu:%zu", i % 4 ? "198.51.100" : "203.0.113", i % 256,
			 40000 + i);
	ch->endpoint = endpoint(s);
	if (i % 3 == 0) {
		ch->flags |= WG_PEER_SET_KEEPALIVE;
		ch->persistent_keepalive = (uint16_t)(1 + i % 600);
	}
	ch->n_allowed = BULK_IPS;
	ch->allowed_ips = ips;
}

static void check_bulk(struct ctx *c)
{
	reset_peers(c);
	struct wg_peer_change *ch = c->bulk;
	for (size_t i = 0; i < BULK_PEERS; i++)
		bulk_peer(i, &ch[i], &c->bulk_ips[i * BULK_IPS]);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT_OK(wgdev_apply(c->wg, ch, BULK_PEERS));
	printf("INFO: %s: apply %d peers x %d allowed IPs: %.1f ms\n", suite, BULK_PEERS,
	       BULK_IPS, ms_since(&t0));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct wg_device *d = get(c);
	printf("INFO: %s: get %d-peer device: %.1f ms\n", suite, BULK_PEERS, ms_since(&t0));
	if (!d)
		return;
	EXPECT(d->n_peers == BULK_PEERS, "%zu peers read back", d->n_peers);
	size_t bad = 0;
	for (size_t i = 0; i < BULK_PEERS && bad < 5; i++) {
		char what[32];
		struct wg_peer *p = wg_device_find_peer(d, ch[i].public_key);
		snprintf(what, sizeof(what), "peer %zu", i);
		if (!p) {
			fail(__FILE__, __LINE__, "%s missing", what);
			bad++;
			continue;
		}
		bool ok = same_allowed(p, ch[i].allowed_ips, BULK_IPS, what);
		ok = ok && p->has_endpoint && wl_endpoint_equal(&p->endpoint, &ch[i].endpoint);
		ok = ok && p->persistent_keepalive == ch[i].persistent_keepalive;
		if (!ok) {
			fail(__FILE__, __LINE__, "%s differs (endpoint or keepalive)", what);
			bad++;
		}
	}
	wg_device_free(d);
}

static void check_bulk_remove(struct ctx *c)
{
	struct wg_peer_change *ch = c->bulk;
	for (size_t i = 0; i < BULK_PEERS; i++) {
		ch[i].flags = WG_PEER_REMOVE;
		ch[i].n_allowed = 0;
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT_OK(wgdev_apply(c->wg, ch, BULK_PEERS));
	printf("INFO: %s: remove %d peers in one apply: %.1f ms\n", suite, BULK_PEERS,
	       ms_since(&t0));
	struct wg_device *d = get(c);
	EXPECT(d && d->n_peers == 0, "%zu peers left after removing all", d ? d->n_peers : 0);
	wg_device_free(d);
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f, "usage: wgdev_suite --iface NAME --backend kernel|userspace [--wg PATH | --no-wg]\n"
		   "       wgdev_suite --backend memory [--iface NAME]\n"
		   "Runs the shared device checks against NAME, a freshly created EMPTY\n"
		   "WireGuard interface, or against a fresh in-memory model (NAME\n"
		   "defaults to " MEMORY_IFNAME " there). --wg names the wg tool for the dump\n"
		   "cross-check (default: 'wg' from PATH if present; --no-wg skips it).\n");
}

static const char *find_in_path(const char *prog, char buf[static 4096])
{
	const char *path = getenv("PATH");
	if (!path)
		return NULL;
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(buf, 4096, "%.*s/%s", (int)n, path, prog);
		if (n && access(buf, X_OK) == 0)
			return buf;
		path += n + (path[n] == ':');
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "backend", required_argument, NULL, 'b' },
		{ "wg", required_argument, NULL, 'w' },
		{ "no-wg", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ctx c = { 0 };
	enum wgdev_backend backend = WGDEV_AUTO;
	bool no_wg = false;
	char wgbuf[4096];
	int o;
	while ((o = getopt_long(argc, argv, "i:b:w:nh", opts, NULL)) != -1) {
		switch (o) {
		case 'i': c.ifname = optarg; break;
		case 'b':
			if (!wgdev_backend_parse(optarg, &backend) || backend == WGDEV_AUTO) {
				usage(stderr);
				return 2;
			}
			break;
		case 'w': c.wg_tool = optarg; break;
		case 'n': no_wg = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!c.ifname && backend == WGDEV_MEMORY)
		c.ifname = MEMORY_IFNAME;
	if (!c.ifname || backend == WGDEV_AUTO || optind != argc) {
		usage(stderr);
		return 2;
	}
	log_init();
	if (sodium_init() < 0)
		return 1;
	snprintf(suite, sizeof(suite), "wgdev-%s", wgdev_backend_name(backend));
	c.no_wg_reason = "the wg tool was not found in PATH";
	if (no_wg) {
		c.wg_tool = NULL;
		c.no_wg_reason = "--no-wg given";
	} else if (!c.wg_tool) {
		c.wg_tool = find_in_path("wg", wgbuf);
	}

	current = "open";
	int r;
	if (backend == WGDEV_MEMORY) {
		c.model = wg_mem_new(c.ifname, MEMORY_IFINDEX);
		r = c.model ? wgdev_open_memory(c.model, &c.wg) : -EINVAL;
	} else {
		r = wgdev_open(c.ifname, backend, &c.wg);
	}
	if (r < 0) {
		fail(__FILE__, __LINE__, "wgdev_open(%s): %s", c.ifname, strerror(-r));
		return 1;
	}
	printf("PASS: %s/open\n", suite);

	run("fresh_device_is_empty", check_empty, &c);
	run("auto_detects_backend", check_auto_detect, &c);
	run("set_private_key_and_port", check_set_device, &c);
	run("add_peers_v4_v6", check_add_v4_v6, &c);
	run("peer_without_endpoint", check_no_endpoint, &c);
	run("add_vs_replace_allowed_ips", check_add_vs_replace, &c);
	run("update_only_never_creates", check_update_only, &c);
	run("endpoint_and_keepalive", check_endpoint_and_keepalive, &c);
	run("remove", check_remove, &c);
	run("order_within_one_apply", check_order_in_one_apply, &c);
	run("allowed_ip_moves_between_peers", check_allowed_ip_moves, &c);
	run("invalid_change_rejected", check_invalid_change, &c);
	run("allowed_ips_stored_masked", check_allowed_ips_masked, &c);
	run("own_public_key_is_no_peer", check_own_key, &c);
	run("crosscheck_wg_dump", check_crosscheck_small, &c);
	c.bulk = calloc(BULK_PEERS, sizeof(*c.bulk));
	c.bulk_ips = calloc((size_t)BULK_PEERS * BULK_IPS, sizeof(*c.bulk_ips));
	if (!c.bulk || !c.bulk_ips) {
		free(c.bulk);
		free(c.bulk_ips);
		return 1;
	}
	run("bulk_1000x4_round_trip", check_bulk, &c);
	run("bulk_crosscheck_wg_dump", crosscheck_wg, &c);
	run("bulk_remove_all", check_bulk_remove, &c);
	free(c.bulk);
	free(c.bulk_ips);
	reset_peers(&c);
	wgdev_close(c.wg);
	wg_mem_free(c.model);
	sodium_memzero(c.private_key, sizeof(c.private_key));
	return n_failed ? 1 : 0;
}
