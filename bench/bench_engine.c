/* Engine cost for a hub: one engine with N healthy, alive leaf peers
 * (default 100), driven through one virtual hour (ticks every 5 s, each
 * leaf's Alive every 30 s). Prints the wall time per tick and per received
 * datagram and what was sent. Not a pass/fail test.
 *   usage: bench_engine [peers] */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_clock.h"
#include "core/engine.h"
#include "wire/autoaddr.h"
#include "wire/pack.h"
#include "wire/packet.h"

struct leaf {
	uint8_t priv[32], pub[32];
	struct wl_addr src;
	uint8_t dgram[WIRE_MAX_DATAGRAM];
	size_t len;
	struct wl_cidr allowed[2];
};

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100;
	if (n < 1 || n > 100000 || sodium_init() < 0)
		return 1;
	struct engine_config cfg;
	engine_config_init(&cfg);
	randombytes_buf(cfg.private_key, 32);
	uint8_t seed[32] = { 1 }, hub_pub[32];
	struct engine *e = engine_new(&cfg, seed, 0);
	if (!e)
		return 1;
	engine_public_key(e, hub_pub);
	struct leaf *leaves = calloc((size_t)n, sizeof(*leaves));
	struct engine_peer_view *peers = calloc((size_t)n, sizeof(*peers));
	if (!leaves || !peers)
		return 1;
	for (int i = 0; i < n; i++) {
		struct leaf *l = &leaves[i];
		randombytes_buf(l->priv, 32);
		crypto_scalarmult_base(l->pub, l->priv);
		autoaddr_of(l->pub, &l->src);
		uint8_t key[32], nonce[GROUP_NONCE_LEN] = { 0 }, boot[BOOT_ID_LEN] = { (uint8_t)i };
		group_shared_key(l->priv, hub_pub, key);
		struct packer pk;
		struct fact f;
		packer_reset(&pk);
		fact_make_alive(&f, l->pub, boot, 255);
		packer_add(&pk, &f);
		l->len = group_seal(l->dgram, sizeof(l->dgram), l->pub, key, nonce, pk.inner, pk.len);
		char s[40];
		snprintf(s, sizeof(s), "10.%d.%d.1/32", i / 250, i % 250);
		wl_cidr_parse(s, &l->allowed[0]);
		l->allowed[1].addr = l->src;
		l->allowed[1].prefix = 128;
		memcpy(peers[i].key, l->pub, 32);
		peers[i].has_endpoint = true;
		snprintf(s, sizeof(s), "198.18.%d.%d:51820", i / 250, i % 250 + 1);
		wl_endpoint_parse(s, &peers[i].endpoint);
		peers[i].allowed_ips = l->allowed;
		peers[i].n_allowed = 2;
	}
	struct wl_cidr wgaddr, ethaddr;
	wl_cidr_parse("10.0.0.1/8", &wgaddr);
	wl_cidr_parse("192.0.2.1/24", &ethaddr);
	struct engine_iface ifs[2] = {
		{ .name = "wg0", .up = true, .report = true, .n_addrs = 1, .addrs = &wgaddr },
		{ .name = "eth0", .up = true, .report = true, .n_addrs = 1, .addrs = &ethaddr },
	};
	struct engine_inputs in = {
		.dev = { .name = "wg0", .listen_port = 51820, .n_peers = (size_t)n, .peers = peers },
		.n_ifaces = 2,
		.ifaces = ifs,
	};
	struct engine_actions act;
	engine_actions_init(&act);
	double t_tick = 0, t_rx = 0;
	long ticks = 0, rx = 0, sent = 0, changes = 0;
	for (int64_t now = 0; now < 3600 * 1000; now += 5000) {
		for (int i = 0; i < n; i++)
			peers[i].handshake_ms = now - 1000;
		if (now % 30000 == 0) {
			double t0 = bench_now_s();
			for (int i = 0; i < n; i++)
				engine_receive(e, now, &leaves[i].src, leaves[i].dgram, leaves[i].len);
			t_rx += bench_now_s() - t0;
			rx += n;
		}
		double t0 = bench_now_s();
		engine_actions_clear(&act);
		engine_tick(e, now + 1, &in, &act);
		t_tick += bench_now_s() - t0;
		ticks++;
		sent += (long)act.n_send;
		changes += (long)act.n_changes;
	}
	const struct engine_stats *st = engine_get_stats(e);
	printf("hub with %d peers, one virtual hour (%ld ticks):\n", n, ticks);
	printf("  tick: %.1f us average (wall %.3f s total)\n", 1e6 * t_tick / (double)ticks, t_tick);
	printf("  receive: %.1f us per datagram (%ld datagrams)\n", 1e6 * t_rx / (double)rx, rx);
	printf("  sent %ld datagrams (%llu facts, %llu alives), %ld device changes, %zu facts known\n",
	       sent, (unsigned long long)st->tx_facts, (unsigned long long)st->tx_alive, changes,
	       engine_fact_count(e));
	engine_actions_free(&act);
	engine_free(e);
	free(leaves);
	free(peers);
	return 0;
}
