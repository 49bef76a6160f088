/* libFuzzer: the engine fed authenticated datagrams whose inner facts are
 * the fuzz input (so the fuzzer gets past the tag and explores trust,
 * storage, apply and send), interleaved with raw datagrams and ticks.
 * The engine lives across inputs, so its caps are exercised too; every
 * datagram it sends must stay within 1212 bytes. Raw input also goes to the
 * probe port and to the wirelink port as a probe reply (path.c). */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "wire/autoaddr.h"
#include "wire/packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct engine *eng;
static struct engine_peer_view peer;
static struct wl_cidr allowed[2];
static uint8_t own_pub[32], s_priv[32] = { 0x60, 1, 2, 3 }, s_pub[32], s_key[32];
static int64_t now = 1000;
static struct engine_actions act;

static void setup(void)
{
	if (sodium_init() < 0)
		abort();
	struct engine_config cfg;
	engine_config_init(&cfg);
	cfg.private_key[0] = 0x48;
	cfg.private_key[5] = 0x77;
	cfg.max_facts = 512;
	cfg.max_peers = 64;
	cfg.max_knowledge = 512;
	uint8_t seed[32] = { 42 };
	eng = engine_new(&cfg, seed, now);
	if (!eng)
		abort();
	engine_public_key(eng, own_pub);
	crypto_scalarmult_base(s_pub, s_priv);
	if (!group_shared_key(s_priv, own_pub, s_key))
		abort();
	memcpy(peer.key, s_pub, 32);
	peer.has_endpoint = wl_endpoint_parse("192.0.2.2:51820", &peer.endpoint);
	wl_cidr_parse("10.0.0.0/8", &allowed[0]); /* a router: trusted by route */
	peer.allowed_ips = allowed;
	peer.n_allowed = 1;
	engine_actions_init(&act);
}

static void tick(void)
{
	static const struct wl_cidr wgaddr[1] = { { { AF_INET, { 10, 99, 0, 1 } }, 24 } };
	struct engine_iface ifc = { .name = "wg0", .up = true, .report = true, .n_addrs = 1,
				    .addrs = wgaddr };
	struct engine_inputs in = {
		.dev = { .name = "wg0", .listen_port = 51820, .n_peers = 1, .peers = &peer },
		.n_ifaces = 1,
		.ifaces = &ifc,
	};
	peer.handshake_ms = now;
	engine_actions_clear(&act);
	engine_tick(eng, now, &in, &act);
	for (size_t i = 0; i < act.n_send; i++)
		if (act.send[i].len > WIRE_MAX_DATAGRAM)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!eng)
		setup();
	if (size < 1)
		return 0;
	struct wl_addr src;
	autoaddr_of(s_pub, &src);
	now += 1 + data[0];
	if ((data[0] & 0xa0) == 0xa0) {
		/* Raw bytes on the probe port from S: any reply stays a probe
		 * reply of the right size. */
		uint8_t bytes[ENGINE_PROBE_LEN];
		struct engine_datagram reply = { .data = bytes };
		if (engine_receive_probe(eng, now, &src, data + 1, size - 1, &reply) == ENGINE_RX_PROBE &&
		    (reply.len != ENGINE_PROBE_LEN || reply.kind != ENGINE_DG_PROBE_REPLY))
			abort();
	} else if (data[0] & 0x80) {
		/* Raw bytes as a datagram from S (a SignedGroup or a probe reply). */
		engine_receive(eng, now, &src, data + 1, size - 1);
	} else {
		uint8_t buf[WIRE_MAX_RECV + 128], nonce[GROUP_NONCE_LEN] = { 0 };
		size_t inner = size - 1 < WIRE_MAX_RECV ? size - 1 : WIRE_MAX_RECV;
		size_t n = group_seal(buf, sizeof(buf), s_pub, s_key, nonce, data + 1, inner);
		if (n && engine_receive(eng, now, &src, buf, n) != ENGINE_RX_OK)
			abort(); /* a correctly signed frame must authenticate */
	}
	if (data[0] & 0x40)
		tick();
	return 0;
}
