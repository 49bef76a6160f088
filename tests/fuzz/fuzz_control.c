/* libFuzzer: the control protocol (src/daemon/control.c). Every input is
 * one request line as a client may send it; the answer must be one line
 * of valid JSON with "ok", whatever the input. The engine behind it has
 * peers in every state the report names (a router, a peer being tried, a
 * stranger's facts refused), so answers walk the whole report. */
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/control.h"
#include "sys/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct engine *eng;
static struct engine_peer_view peers[2];
static struct wl_cidr allowed[1];
static int64_t now = 1000;
static struct engine_actions act;

static void tick(void)
{
	static const struct wl_cidr eth[1] = { { { AF_INET, { 192, 168, 1, 2 } }, 24 } };
	struct engine_iface ifc = { .name = "eth0", .up = true, .report = true, .n_addrs = 1,
				    .addrs = eth };
	struct engine_inputs in = {
		.dev = { .name = "wg0", .listen_port = 51820, .n_peers = 2, .peers = peers },
		.n_ifaces = 1,
		.ifaces = &ifc,
	};
	peers[0].handshake_ms = now;
	engine_actions_clear(&act);
	engine_tick(eng, now, &in, &act);
}

static void setup(void)
{
	if (sodium_init() < 0)
		abort();
	log_set_level(LOG_LVL_ERROR); /* "log" requests must not flood the output */
	struct engine_config cfg;
	engine_config_init(&cfg);
	cfg.private_key[0] = 0x48;
	static struct engine_peer_config pc;
	static struct wl_endpoint eps[2];
	memset(peers[1].key, 0x22, 32);
	memcpy(pc.public_key, peers[1].key, 32);
	pc.name = "b\xff\xfe"; /* not UTF-8: the answer must still be JSON */
	pc.trust = TRUST_UNSET;
	pc.basic = WL_AUTO;
	wl_endpoint_parse("203.0.113.7:51820", &eps[0]);
	wl_endpoint_parse("[2001:db8::7]:51820", &eps[1]);
	pc.endpoints = eps;
	pc.n_endpoints = 2;
	cfg.peers = &pc;
	cfg.n_peers = 1;
	uint8_t seed[32] = { 7 };
	eng = engine_new(&cfg, seed, now);
	if (!eng)
		abort();
	memset(peers[0].key, 0x11, 32);
	peers[0].has_endpoint = wl_endpoint_parse("192.0.2.1:51820", &peers[0].endpoint);
	wl_cidr_parse("10.0.0.0/8", &allowed[0]);
	peers[0].allowed_ips = allowed;
	peers[0].n_allowed = 1;
	peers[1].handshake_ms = ENGINE_NEVER;
	engine_actions_init(&act);
	tick();
	now += 1500;
	tick();
}

static int fake_reload(void *ctx, char *why, size_t len)
{
	(void)ctx;
	snprintf(why, len, "reload refused (fuzzing)");
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!eng)
		setup();
	struct control_view v = {
		.iface = "wg0", .version = "fuzz", .pid = 1, .e = eng, .now = now, .started = 0,
		.has_portmap = size & 1,
	};
	const struct control_ops ops = { fake_reload, NULL };
	char *ans = control_answer(&v, &ops, (const char *)data, size);
	if (!ans)
		return 0; /* out of memory */
	if (strchr(ans, '\n'))
		abort(); /* one line per answer */
	json_error_t err;
	json_t *j = json_loads(ans, 0, &err);
	if (!j || !json_is_boolean(json_object_get(j, "ok")))
		abort();
	json_decref(j);
	free(ans);
	return 0;
}
