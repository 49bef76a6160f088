/* Kernel WireGuard backend figures: how long reading a 1000-peer device
 * (4 allowed IPs, an endpoint and a keepalive each) and re-applying all of
 * it take through wg_genl.c. Needs an empty WireGuard interface it may
 * change; tests/vm/vm.sh bench runs it inside the test VM.
 *
 * usage: bench_genl [--iface NAME] [--peers N] [--runs N]
 * Prints "bench: ..." lines; the figures are medians over the runs. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_clock.h"
#include "sys/wg_genl.h"
#include "sys/wgdev.h"

#define IPS_PER_PEER 4

static double median(double *v, int n)
{
	bench_sort(v, n);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Peer i: key from i, endpoint 203.0.113.x:port, 10.x.y.z/32 and fd00::/128
 * allowed IPs that no other peer shares. */
static void make_peer(struct wg_peer_change *c, struct wl_cidr *ips, uint32_t i)
{
	memset(c, 0, sizeof *c);
	memset(c->public_key, 0x42, WL_KEY_LEN);
	memcpy(c->public_key, &i, sizeof i);
	c->flags = WG_PEER_SET_ENDPOINT | WG_PEER_SET_KEEPALIVE | WG_PEER_REPLACE_ALLOWED_IPS;
	uint8_t ep[4] = { 203, 0, 113, (uint8_t)(i % 250 + 1) };
	wl_addr_from_v4(&c->endpoint.addr, ep);
	c->endpoint.port = (uint16_t)(10000 + i % 50000);
	c->persistent_keepalive = 25;
	for (uint32_t j = 0; j < IPS_PER_PEER; j++) {
		memset(&ips[j], 0, sizeof ips[j]);
		if (j % 2 == 0) {
			uint32_t v = (10u << 24) + i * 8u + j;
			uint8_t v4[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
			wl_addr_from_v4(&ips[j].addr, v4);
			ips[j].prefix = 32;
		} else {
			uint8_t v6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					   (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i, (uint8_t)j };
			wl_addr_from_v6(&ips[j].addr, v6);
			ips[j].prefix = 128;
		}
	}
	c->n_allowed = IPS_PER_PEER;
	c->allowed_ips = ips;
}

int main(int argc, char **argv)
{
	const char *ifname = "wg0";
	int peers = 1000, runs = 15;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--iface") == 0)
			ifname = argv[i + 1];
		else if (strcmp(argv[i], "--peers") == 0)
			peers = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--runs") == 0)
			runs = (int)strtol(argv[i + 1], NULL, 10);
	}
	if (peers <= 0 || peers > 100000 || runs <= 0 || runs > 1000) {
		fprintf(stderr, "usage: bench_genl [--iface NAME] [--peers N] [--runs N]\n");
		return 2;
	}
	struct wgdev *wg = NULL;
	int rc = wgdev_open(ifname, WGDEV_KERNEL, &wg);
	if (rc < 0) {
		fprintf(stderr, "bench_genl: cannot open %s: %s\n", ifname, strerror(-rc));
		return 1;
	}
	struct wg_peer_change *ch = calloc((size_t)peers, sizeof *ch);
	struct wl_cidr *ips = calloc((size_t)peers * IPS_PER_PEER, sizeof *ips);
	double *t = calloc((size_t)runs, sizeof *t);
	if (!ch || !ips || !t) {
		fprintf(stderr, "bench_genl: out of memory\n");
		return 1;
	}
	for (int i = 0; i < peers; i++)
		make_peer(&ch[i], &ips[(size_t)i * IPS_PER_PEER], (uint32_t)i);
	const struct wg_genl_stats *st = wg_genl_stats(wg);

	/* A device with a private key, as the daemon's always has: the kernel
	 * then precomputes a Curve25519 secret for every peer it creates. */
	uint8_t priv[WL_KEY_LEN];
	randombytes_buf(priv, sizeof priv);
	rc = wgdev_set_device(wg, priv, -1);
	sodium_memzero(priv, sizeof priv);
	if (rc < 0) {
		fprintf(stderr, "bench_genl: set_device failed: %s\n", strerror(-rc));
		return 1;
	}
	double t0 = bench_now_ms();
	rc = wgdev_apply(wg, ch, (size_t)peers);
	double create = bench_now_ms() - t0;
	if (rc < 0) {
		fprintf(stderr, "bench_genl: apply failed: %s\n", strerror(-rc));
		return 1;
	}
	printf("bench: kernel create %d peers x %d ips: %.2f ms (%u SET messages; mostly the kernel's "
	       "per-peer Curve25519 precomputation)\n",
	       peers, IPS_PER_PEER, create, st->set_messages);

	size_t seen = 0;
	for (int r = 0; r < runs; r++) {
		struct wg_device *dev = NULL;
		t0 = bench_now_ms();
		rc = wgdev_get(wg, &dev);
		t[r] = bench_now_ms() - t0;
		if (rc < 0) {
			fprintf(stderr, "bench_genl: get failed: %s\n", strerror(-rc));
			return 1;
		}
		seen = dev->n_peers;
		wg_device_free(dev);
	}
	printf("bench: kernel snapshot read %zu peers: median %.2f ms over %d runs (%u dump messages)\n",
	       seen, median(t, runs), runs, st->dump_messages);

	/* For scale: wireguard-tools reading the same device (includes its
	 * fork and exec, a few ms under TCG). */
	if (access("/usr/bin/wg", X_OK) == 0) {
		char cmd[96];
		snprintf(cmd, sizeof cmd, "/usr/bin/wg show %s dump >/dev/null", ifname);
		for (int r = 0; r < runs; r++) {
			t0 = bench_now_ms();
			rc = system(cmd);
			t[r] = bench_now_ms() - t0;
			if (rc != 0)
				break;
		}
		if (rc == 0)
			printf("bench: reference wg show dump (fork+exec included): median %.2f ms over %d runs\n",
			       median(t, runs), runs);
	}

	/* A full re-apply as the daemon would send it when it rewrites
	 * everything: every peer, update-only, allowed IPs replaced. */
	for (int i = 0; i < peers; i++)
		ch[i].flags |= WG_PEER_UPDATE_ONLY;
	for (int r = 0; r < runs; r++) {
		t0 = bench_now_ms();
		rc = wgdev_apply(wg, ch, (size_t)peers);
		t[r] = bench_now_ms() - t0;
		if (rc < 0) {
			fprintf(stderr, "bench_genl: re-apply failed: %s\n", strerror(-rc));
			return 1;
		}
	}
	printf("bench: kernel full re-apply %d peers: median %.2f ms over %d runs (%u SET messages)\n",
	       peers, median(t, runs), runs, st->set_messages);

	for (int i = 0; i < peers; i++)
		ch[i].flags = WG_PEER_REMOVE;
	t0 = bench_now_ms();
	rc = wgdev_apply(wg, ch, (size_t)peers);
	if (rc == 0)
		printf("bench: kernel remove %d peers: %.2f ms (%u SET messages)\n", peers,
		       bench_now_ms() - t0, st->set_messages);

	free(t);
	free(ch);
	free(ips);
	wgdev_close(wg);
	return 0;
}
