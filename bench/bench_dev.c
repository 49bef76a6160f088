/* WireGuard device backend cost: how long a full snapshot read (wgdev_get)
 * and a full re-apply of every peer (what the daemon does in the worst
 * case each tick) take for an N-peer device, through wgdev.h.
 * Prints figures; not a pass/fail test. Needs a real, empty interface:
 *   usage: bench_dev --iface NAME --backend kernel|userspace
 *                    [--peers N (1000)] [--ips K (4)] [--rounds R (20)]
 * bench/dev.sh makes a wireguard-go interface in a namespace and runs it.
 * Leaves the interface without peers. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "bench/bench_clock.h"
#include "sys/log.h"
#include "sys/wgdev.h"
#include "wire/autoaddr.h"

static void report(const char *what, double *t, int n)
{
	bench_sort(t, n);
	printf("%-34s median %8.2f ms   min %8.2f   max %8.2f   (%d rounds)\n", what,
	       t[n / 2], t[0], t[n - 1], n);
}

/* Peer i: K distinct allowed IPs (IPv4 /32s and IPv6 /64s, the last one
 * the auto address /128 as wirelink sets it) and an endpoint. */
static void make_peer(size_t i, size_t k, struct wg_peer_change *ch, struct wl_cidr *ips)
{
	uint8_t priv[32];
	randombytes_buf(priv, sizeof(priv));
	crypto_scalarmult_base(ch->public_key, priv);
	for (size_t j = 0; j < k; j++) {
		struct wl_cidr *c = &ips[j];
		memset(c, 0, sizeof(*c));
		if (j + 1 == k) {
			autoaddr_of(ch->public_key, &c->addr);
			c->prefix = 128;
		} else if (j % 2 == 0) {
			uint8_t v4[4] = { 10, (uint8_t)(j * 16 + (i >> 16)), (uint8_t)(i >> 8), (uint8_t)i };
			wl_addr_from_v4(&c->addr, v4);
			c->prefix = 32;
		} else {
			uint8_t v6[16] = { 0xfd, 0, (uint8_t)j, 0, (uint8_t)(i >> 24), (uint8_t)(i >> 16),
					   (uint8_t)(i >> 8), (uint8_t)i };
			wl_addr_from_v6(&c->addr, v6);
			c->prefix = 64;
		}
	}
	uint8_t ep[4] = { 198, 51, 100, (uint8_t)i };
	wl_addr_from_v4(&ch->endpoint.addr, ep);
	ch->endpoint.port = (uint16_t)(20000 + i % 40000);
	ch->flags = WG_PEER_SET_ENDPOINT | WG_PEER_REPLACE_ALLOWED_IPS;
	ch->n_allowed = k;
	ch->allowed_ips = ips;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iface", required_argument, NULL, 'i' }, { "backend", required_argument, NULL, 'b' },
		{ "peers", required_argument, NULL, 'p' }, { "ips", required_argument, NULL, 'k' },
		{ "rounds", required_argument, NULL, 'r' }, { 0 },
	};
	const char *ifname = NULL;
	enum wgdev_backend backend = WGDEV_AUTO;
	long peers = 1000, k = 4, rounds = 20;
	int o;
	while ((o = getopt_long(argc, argv, "i:b:p:k:r:", opts, NULL)) != -1) {
		switch (o) {
		case 'i': ifname = optarg; break;
		case 'b':
			if (!wgdev_backend_parse(optarg, &backend))
				return 2;
			break;
		case 'p': peers = strtol(optarg, NULL, 10); break;
		case 'k': k = strtol(optarg, NULL, 10); break;
		case 'r': rounds = strtol(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (!ifname || peers < 1 || peers > 1000000 || k < 1 || k > 64 || rounds < 1 ||
	    rounds > 10000) {
		fprintf(stderr, "usage: bench_dev --iface NAME --backend kernel|userspace "
				"[--peers N] [--ips K] [--rounds R]\n");
		return 2;
	}
	log_init();
	if (sodium_init() < 0)
		return 1;
	struct wgdev *wg;
	int r = wgdev_open(ifname, backend, &wg);
	if (r < 0) {
		fprintf(stderr, "bench_dev: open %s: %s\n", ifname, strerror(-r));
		return 1;
	}
	uint8_t key[32];
	randombytes_buf(key, sizeof(key));
	key[0] &= 248;
	key[31] = (key[31] & 127) | 64;
	struct wg_peer_change *ch = calloc((size_t)peers, sizeof(*ch));
	struct wl_cidr *ips = calloc((size_t)(peers * k), sizeof(*ips));
	double *t = calloc((size_t)rounds, sizeof(*t));
	if (!ch || !ips || !t) {
		free(ch);
		free(ips);
		free(t);
		return 1;
	}
	for (long i = 0; i < peers; i++)
		make_peer((size_t)i, (size_t)k, &ch[i], &ips[i * k]);
	printf("backend %s, interface %s: %ld peers x %ld allowed IPs\n",
	       wgdev_backend_name(wgdev_backend_of(wg)), ifname, peers, k);

	double t0 = bench_now_ms();
	r = wgdev_set_device(wg, key, -1);
	if (r == 0)
		r = wgdev_apply(wg, ch, (size_t)peers);
	if (r < 0) {
		fprintf(stderr, "bench_dev: initial apply: %s\n", strerror(-r));
		return 1;
	}
	printf("%-34s %8.2f ms\n", "initial apply (create all)", bench_now_ms() - t0);

	for (long i = 0; i < rounds; i++) {
		struct wg_device *d = NULL;
		t0 = bench_now_ms();
		r = wgdev_get(wg, &d);
		t[i] = bench_now_ms() - t0;
		if (r < 0 || d->n_peers != (size_t)peers) {
			fprintf(stderr, "bench_dev: get: %s\n", r < 0 ? strerror(-r) : "peer count differs");
			return 1;
		}
		wg_device_free(d);
	}
	report("snapshot read (wgdev_get)", t, (int)rounds);

	/* The daemon's worst case: every peer updated (update-only, same
	 * endpoint, allowed IPs replaced by the same set). */
	for (long i = 0; i < peers; i++)
		ch[i].flags |= WG_PEER_UPDATE_ONLY;
	for (long i = 0; i < rounds; i++) {
		t0 = bench_now_ms();
		r = wgdev_apply(wg, ch, (size_t)peers);
		t[i] = bench_now_ms() - t0;
		if (r < 0) {
			fprintf(stderr, "bench_dev: re-apply: %s\n", strerror(-r));
			return 1;
		}
	}
	report("full re-apply (update-only)", t, (int)rounds);

	for (long i = 0; i < peers; i++)
		ch[i].flags = WG_PEER_REMOVE;
	t0 = bench_now_ms();
	r = wgdev_apply(wg, ch, (size_t)peers);
	printf("%-34s %8.2f ms%s\n", "remove all", bench_now_ms() - t0, r < 0 ? " (failed)" : "");
	sodium_memzero(key, sizeof(key));
	free(ch);
	free(ips);
	free(t);
	wgdev_close(wg);
	return r < 0 ? 1 : 0;
}
