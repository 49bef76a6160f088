/* A small driver for src/sys/netif.c, used by tests/netns/test_wgdev.sh
 * (not installed):
 *   netif_tool links                 index<TAB>name<TAB>up|down<TAB>kind
 *   netif_tool addrs IFACE           addr/prefix<TAB>scope<TAB>flags(hex)
 *   netif_tool autoaddr IFACE        add the wirelink auto address of the
 *                                    device's public key as fe80::.../64,
 *                                    scope link, IFA_F_NODAD; prints it
 *   netif_tool wait-gone IFACE SECS  exit 0 once the link is deleted, 1 on
 *                                    timeout (prints "ready" once watching)
 * A first argument -d turns on debug logging (stderr).
 * Exit status 0 on success, 1 on failure (message on stderr), 2 on usage. */
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "sys/log.h"
#include "sys/netif.h"
#include "sys/wgdev.h"
#include "wire/autoaddr.h"

static int links(struct netif *nl)
{
	struct netif_link *l;
	size_t n;
	int r = netif_list_links(nl, &l, &n);
	if (r < 0) {
		fprintf(stderr, "netif_tool: list links: %s\n", strerror(-r));
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		printf("%u\t%s\t%s\t%s\n", l[i].index, l[i].name, l[i].up ? "up" : "down",
		       l[i].kind[0] ? l[i].kind : "-");
	free(l);
	return 0;
}

static int addrs(struct netif *nl, const char *ifname)
{
	unsigned idx = if_nametoindex(ifname);
	if (!idx) {
		fprintf(stderr, "netif_tool: no interface %s\n", ifname);
		return 1;
	}
	struct netif_addr *a;
	size_t n;
	int r = netif_list_addrs(nl, AF_UNSPEC, idx, &a, &n);
	if (r < 0) {
		fprintf(stderr, "netif_tool: list addresses: %s\n", strerror(-r));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		char s[WL_ADDR_STR_MAX];
		printf("%s/%u\t%u\t0x%x\n", wl_addr_str(&a[i].addr, s), a[i].prefix, a[i].scope,
		       a[i].flags);
	}
	free(a);
	return 0;
}

static int autoaddr(struct netif *nl, const char *ifname)
{
	struct wgdev *wg = NULL;
	struct wg_device *d = NULL;
	int r = wgdev_open(ifname, WGDEV_AUTO, &wg);
	if (r == 0)
		r = wgdev_get(wg, &d);
	wgdev_close(wg);
	if (r != 0 || !d) {
		fprintf(stderr, "netif_tool: read %s: %s\n", ifname, strerror(r ? -r : EIO));
		return 1;
	}
	if (!d->has_private_key) {
		fprintf(stderr, "netif_tool: %s has no key yet\n", ifname);
		wg_device_free(d);
		return 1;
	}
	struct wl_cidr c = { .prefix = 64 };
	autoaddr_of(d->public_key, &c.addr);
	r = netif_add_addr(nl, d->ifindex, &c, RT_SCOPE_LINK, IFA_F_NODAD);
	wg_device_free(d);
	char s[WL_ADDR_STR_MAX];
	if (r < 0) {
		fprintf(stderr, "netif_tool: add %s: %s\n", wl_addr_str(&c.addr, s), strerror(-r));
		return 1;
	}
	printf("%s\n", wl_addr_str(&c.addr, s));
	return 0;
}

static int wait_gone(const char *ifname, int secs)
{
	struct netif_watch *w;
	int r = netif_watch_open(&w);
	if (r < 0) {
		fprintf(stderr, "netif_tool: watch: %s\n", strerror(-r));
		return 1;
	}
	/* watch first, then look: a removal in between is not missed */
	unsigned idx = if_nametoindex(ifname);
	if (!idx) {
		fprintf(stderr, "netif_tool: no interface %s\n", ifname);
		netif_watch_close(w);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = 1;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = secs * 1000L - ((t.tv_sec - t0.tv_sec) * 1000L +
					    (t.tv_nsec - t0.tv_nsec) / 1000000L);
		if (left <= 0)
			break;
		struct pollfd p = { .fd = netif_watch_fd(w), .events = POLLIN };
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		struct netif_events ev = { 0 };
		r = netif_watch_drain(w, idx, &ev);
		if (r < 0) {
			fprintf(stderr, "netif_tool: drain: %s\n", strerror(-r));
			break;
		}
		if (ev.gone) {
			printf("gone %u\n", idx);
			rc = 0;
			break;
		}
	}
	netif_watch_close(w);
	return rc;
}

int main(int argc, char **argv)
{
	log_init();
	if (sodium_init() < 0)
		return 1;
	if (argc > 1 && strcmp(argv[1], "-d") == 0) {
		/* debug log: shows e.g. dumps redone after NLM_F_DUMP_INTR */
		log_set_level(LOG_LVL_DEBUG);
		argc--;
		argv++;
	}
	if (argc == 3 && strcmp(argv[1], "wait-gone") != 0 && strcmp(argv[1], "addrs") != 0 &&
	    strcmp(argv[1], "autoaddr") != 0)
		goto usage;
	if (argc == 4 && strcmp(argv[1], "wait-gone") == 0)
		return wait_gone(argv[2], (int)strtol(argv[3], NULL, 10));
	struct netif *nl;
	int r = netif_open(&nl);
	if (r < 0) {
		fprintf(stderr, "netif_tool: netlink: %s\n", strerror(-r));
		return 1;
	}
	int rc = 2;
	if (argc == 2 && strcmp(argv[1], "links") == 0)
		rc = links(nl);
	else if (argc == 3 && strcmp(argv[1], "addrs") == 0)
		rc = addrs(nl, argv[2]);
	else if (argc == 3 && strcmp(argv[1], "autoaddr") == 0)
		rc = autoaddr(nl, argv[2]);
	netif_close(nl);
	if (rc != 2)
		return rc;
usage:
	fprintf(stderr, "usage: netif_tool [-d] links | addrs IFACE | autoaddr IFACE | "
			"wait-gone IFACE SECS\n");
	return 2;
}
