/* UAPI text protocol: reply parser (good and bad inputs), request builder,
 * and the socket exchange's timeout / early-close handling. */
#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/encoding.h"
#include "sys/uapi_text.h"
#include "sys/wg_uapi.h"
#include "sys/wgdev.h"

/* A reply captured from wireguard-go 0.0.20220316 (keys are throwaway). */
static const char real_reply[] =
	"private_key=d06cdb22fefc89b30c53407ec514d878177c6a31bd07ed928ef500acd4efb44c\n"
	"listen_port=51820\n"
	"public_key=37cb5fc1b9ef392589d838a05ef84eec263133d63e91253dda8dcc834f704058\n"
	"preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
	"protocol_version=1\n"
	"endpoint=192.0.2.1:51820\n"
	"last_handshake_time_sec=0\n"
	"last_handshake_time_nsec=0\n"
	"tx_bytes=0\n"
	"rx_bytes=0\n"
	"persistent_keepalive_interval=25\n"
	"allowed_ip=10.0.0.0/24\n"
	"allowed_ip=fd00::1/128\n"
	"public_key=0424b01cf4ba14e7106deb5bc2af3bbd0e445b34395a373c214bfa2415f12a7b\n"
	"preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
	"protocol_version=1\n"
	"endpoint=[2001:db8::1]:1234\n"
	"last_handshake_time_sec=1700000000\n"
	"last_handshake_time_nsec=123456789\n"
	"tx_bytes=18446744073709551615\n"
	"rx_bytes=42\n"
	"persistent_keepalive_interval=0\n"
	"allowed_ip=10.1.0.5/32\n"
	"errno=0\n"
	"\n";

static int parse(const char *s, struct wg_device **out)
{
	return uapi_parse_get(s, strlen(s), "wlt0", out);
}

TEST(parses_a_real_reply)
{
	struct wg_device *d = NULL;
	CHECK_EQ(parse(real_reply, &d), 0);
	if (!d)
		return;
	uint8_t pub[WL_KEY_LEN];
	CHECK_STR(d->name, "wlt0");
	CHECK(d->has_private_key);
	/* what `wg show` printed for this private key */
	CHECK(key_from_base64("JK4+TXLNy4FMciXz0sdn3GseJ99rQr5orFkgErdpWDk=", pub));
	CHECK_MEM(d->public_key, pub, WL_KEY_LEN);
	CHECK_EQ(d->listen_port, 51820);
	CHECK_EQ(d->fwmark, 0);
	CHECK_EQ(d->n_peers, 2);
	if (d->n_peers != 2)
		goto out;
	const struct wg_peer *a = &d->peers[0], *b = &d->peers[1];
	char s[WL_CIDR_STR_MAX], e[WL_ENDPOINT_STR_MAX];
	CHECK(a->has_endpoint);
	CHECK_STR(wl_endpoint_str(&a->endpoint, e), "192.0.2.1:51820");
	CHECK_EQ(a->persistent_keepalive, 25);
	CHECK_EQ(a->last_handshake.tv_sec, 0);
	CHECK_EQ(a->n_allowed, 2);
	if (a->n_allowed == 2) {
		CHECK_STR(wl_cidr_str(&a->allowed_ips[0], s), "10.0.0.0/24");
		CHECK_STR(wl_cidr_str(&a->allowed_ips[1], s), "fd00::1/128");
	}
	CHECK_STR(wl_endpoint_str(&b->endpoint, e), "[2001:db8::1]:1234");
	CHECK_EQ(b->last_handshake.tv_sec, 1700000000);
	CHECK_EQ(b->last_handshake.tv_nsec, 123456789);
	CHECK(b->tx_bytes == UINT64_MAX);
	CHECK_EQ(b->rx_bytes, 42);
	CHECK_EQ(b->n_allowed, 1);
	CHECK(wg_device_find_peer(d, b->public_key) == b);
out:
	wg_device_free(d);
}

TEST(parses_an_empty_device)
{
	struct wg_device *d = NULL;
	CHECK_EQ(parse("listen_port=38141\nerrno=0\n\n", &d), 0);
	if (!d)
		return;
	CHECK(!d->has_private_key);
	CHECK_EQ(d->listen_port, 38141);
	CHECK_EQ(d->n_peers, 0);
	static const uint8_t zero[WL_KEY_LEN];
	CHECK_MEM(d->public_key, zero, WL_KEY_LEN);
	wg_device_free(d);
}

TEST(optional_and_unknown_keys)
{
	struct wg_device *d = NULL;
	/* fwmark, a zoned endpoint, unknown keys at both levels */
	const char *s = "fwmark=4294967295\nfuture_thing=xyz\n"
			"public_key=0424b01cf4ba14e7106deb5bc2af3bbd0e445b34395a373c214bfa2415f12a7b\n"
			"endpoint=[fe80::1%eth0]:51820\nfuture_peer_thing=\nerrno=0\n\n";
	CHECK_EQ(parse(s, &d), 0);
	if (!d)
		return;
	CHECK(d->fwmark == UINT32_MAX);
	CHECK_EQ(d->n_peers, 1);
	char e[WL_ENDPOINT_STR_MAX];
	if (d->n_peers == 1)
		CHECK_STR(wl_endpoint_str(&d->peers[0].endpoint, e), "[fe80::1]:51820");
	wg_device_free(d);
}

TEST(errno_from_the_daemon)
{
	struct wg_device *d = (struct wg_device *)1;
	CHECK_EQ(parse("errno=-22\n\n", &d), -EINVAL);
	CHECK(d == NULL);
	CHECK_EQ(parse("errno=22\n\n", &d), -EINVAL);
	CHECK_EQ(parse("errno=5\n\n", &d), -EIO);
	CHECK_EQ(parse("errno=99999\n\n", &d), -EPROTO);
	CHECK_EQ(uapi_parse_set_reply("errno=0\n\n", 9), 0);
	CHECK_EQ(uapi_parse_set_reply("errno=-22\n\n", 11), -EINVAL);
	CHECK_EQ(uapi_parse_set_reply("errno=0\n", 8), -EBADMSG);
	CHECK_EQ(uapi_parse_set_reply("", 0), -EBADMSG);
	CHECK_EQ(uapi_parse_set_reply("listen_port=1\nerrno=0\n\n", 23), -EBADMSG);
	CHECK_EQ(uapi_parse_set_reply("errno=0\nx=1\n\n", 13), -EBADMSG);
}

#define PK "0424b01cf4ba14e7106deb5bc2af3bbd0e445b34395a373c214bfa2415f12a7b"

TEST(rejects_malformed_replies)
{
	static const char *const bad[] = {
		"",
		"\n",
		"errno=0\n",                       /* no closing empty line */
		"errno=0",                         /* unterminated */
		"listen_port=1\n\n",               /* no errno */
		"errno=0\n\nextra",                /* data after the end */
		"errno=0\n\n\n",
		"errno=0\nlisten_port=1\n\n",      /* line after errno */
		"errno=\n\n",
		"errno=x\n\n",
		"errno=--1\n\n",
		"noequals\nerrno=0\n\n",
		"=value\nerrno=0\n\n",
		"listen_port=65536\nerrno=0\n\n",
		"listen_port=-1\nerrno=0\n\n",
		"listen_port=+1\nerrno=0\n\n",
		"listen_port= 1\nerrno=0\n\n",
		"listen_port=\nerrno=0\n\n",
		"fwmark=4294967296\nerrno=0\n\n",
		"private_key=abc\nerrno=0\n\n",
		"private_key=" PK "00\nerrno=0\n\n",
		"private_key=zz24b01cf4ba14e7106deb5bc2af3bbd0e445b34395a373c214bfa2415f12a7b\nerrno=0\n\n",
		"public_key=\nerrno=0\n\n",
		"public_key=" PK "\npublic_key=" PK "\nerrno=0\n\n", /* duplicate */
		"endpoint=1.2.3.4:5\nerrno=0\n\n",  /* peer key before a peer */
		"allowed_ip=10.0.0.0/8\nerrno=0\n\n",
		"public_key=" PK "\nlisten_port=1\nerrno=0\n\n", /* device key in a peer */
		"public_key=" PK "\nendpoint=1.2.3.4\nerrno=0\n\n",
		"public_key=" PK "\nendpoint=1.2.3.4:65536\nerrno=0\n\n",
		"public_key=" PK "\nendpoint=[1.2.3.4]:5\nerrno=0\n\n",
		"public_key=" PK "\nendpoint=2001:db8::1:5\nerrno=0\n\n",
		"public_key=" PK "\nendpoint=host.example:5\nerrno=0\n\n",
		"public_key=" PK "\nallowed_ip=10.0.0.0/33\nerrno=0\n\n",
		"public_key=" PK "\nallowed_ip=fd00::/129\nerrno=0\n\n",
		"public_key=" PK "\nallowed_ip=10.0.0.1\nerrno=0\n\n",
		"public_key=" PK "\nallowed_ip=10.0.0.0/\nerrno=0\n\n",
		"public_key=" PK "\nallowed_ip=/8\nerrno=0\n\n",
		"public_key=" PK "\nlast_handshake_time_nsec=1000000000\nerrno=0\n\n",
		"public_key=" PK "\nlast_handshake_time_sec=9223372036854775808\nerrno=0\n\n",
		"public_key=" PK "\nrx_bytes=18446744073709551616\nerrno=0\n\n",
		"public_key=" PK "\ntx_bytes=1e3\nerrno=0\n\n",
		"public_key=" PK "\npersistent_keepalive_interval=65536\nerrno=0\n\n",
		"public_key=" PK "\npreshared_key=00\nerrno=0\n\n",
		"public_key=" PK "\nprotocol_version=one\nerrno=0\n\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct wg_device *d = NULL;
		int r = parse(bad[i], &d);
		CHECK_MSG(r == -EBADMSG, "case %zu: \"%s\" gave %d", i, bad[i], r);
		CHECK(d == NULL);
		wg_device_free(d);
	}
}

TEST(rejects_nul_bytes)
{
	static const char s[] = "public_key=" PK "\nendpoint=1.2.3.4:5\0\nerrno=0\n\n";
	struct wg_device *d = NULL;
	CHECK_EQ(uapi_parse_get(s, sizeof(s) - 1, "x", &d), -EBADMSG);
	/* a NUL anywhere past the terminator is "data after the end" */
	static const char t[] = "errno=0\n\n\0";
	CHECK_EQ(uapi_parse_get(t, sizeof(t) - 1, "x", &d), -EBADMSG);
}

TEST(reply_complete)
{
	CHECK(!uapi_reply_complete("", 0));
	CHECK(!uapi_reply_complete("errno=0\n", 8));
	CHECK(uapi_reply_complete("errno=0\n\n", 9));
	CHECK(uapi_reply_complete("\n\n", 2));
}

/* Writes d in the form wireguard-go uses, for round trips. */
static void format_reply(struct uapi_buf *b, const struct wg_device *d)
{
	char hex[65], s[WL_CIDR_STR_MAX], e[WL_ENDPOINT_STR_MAX];
	if (d->has_private_key)
		uapi_buf_printf(b, "private_key=%s\n", hex_encode(d->private_key, 32, hex));
	uapi_buf_printf(b, "listen_port=%u\n", d->listen_port);
	if (d->fwmark)
		uapi_buf_printf(b, "fwmark=%u\n", d->fwmark);
	for (size_t i = 0; i < d->n_peers; i++) {
		const struct wg_peer *p = &d->peers[i];
		uapi_buf_printf(b, "public_key=%s\n", hex_encode(p->public_key, 32, hex));
		uapi_buf_printf(b, "protocol_version=1\n");
		if (p->has_endpoint)
			uapi_buf_printf(b, "endpoint=%s\n", wl_endpoint_str(&p->endpoint, e));
		uapi_buf_printf(b, "last_handshake_time_sec=%lld\nlast_handshake_time_nsec=%ld\n",
				(long long)p->last_handshake.tv_sec, p->last_handshake.tv_nsec);
		uapi_buf_printf(b, "tx_bytes=%llu\nrx_bytes=%llu\n",
				(unsigned long long)p->tx_bytes, (unsigned long long)p->rx_bytes);
		uapi_buf_printf(b, "persistent_keepalive_interval=%u\n", p->persistent_keepalive);
		for (size_t j = 0; j < p->n_allowed; j++)
			uapi_buf_printf(b, "allowed_ip=%s\n", wl_cidr_str(&p->allowed_ips[j], s));
	}
	uapi_buf_printf(b, "errno=0\n\n");
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void random_cidr(uint64_t *s, struct wl_cidr *c)
{
	memset(c, 0, sizeof(*c));
	c->addr.family = rnd(s) & 1 ? AF_INET : AF_INET6;
	for (size_t k = 0; k < wl_addr_len(&c->addr); k++)
		c->addr.bytes[k] = (uint8_t)rnd(s);
	c->prefix = (uint8_t)(rnd(s) % (wl_addr_len(&c->addr) * 8 + 1));
	wl_cidr_mask(c);
}

TEST(random_round_trips)
{
	uint64_t s = harness_seed() | 1;
	for (int round = 0; round < 50; round++) {
		struct wg_device *d = wg_device_new("rt");
		d->has_private_key = rnd(&s) & 1;
		for (int k = 0; k < 32; k++)
			d->private_key[k] = d->has_private_key ? (uint8_t)rnd(&s) : 0;
		d->private_key[0] |= d->has_private_key; /* never all zero */
		d->listen_port = (uint16_t)rnd(&s);
		d->fwmark = (uint32_t)rnd(&s);
		size_t np = rnd(&s) % 20;
		for (size_t i = 0; i < np; i++) {
			uint8_t key[32];
			for (int k = 0; k < 32; k++)
				key[k] = (uint8_t)rnd(&s);
			struct wg_peer *p = wg_device_add_peer(d, key);
			p->has_endpoint = rnd(&s) & 1;
			if (p->has_endpoint) {
				struct wl_cidr c;
				random_cidr(&s, &c);
				p->endpoint.addr = c.addr;
				p->endpoint.port = (uint16_t)rnd(&s);
			}
			p->last_handshake.tv_sec = (time_t)(rnd(&s) >> 1);
			p->last_handshake.tv_nsec = (long)(rnd(&s) % 1000000000);
			p->rx_bytes = rnd(&s);
			p->tx_bytes = rnd(&s);
			p->persistent_keepalive = (uint16_t)rnd(&s);
			size_t na = rnd(&s) % 6;
			for (size_t j = 0; j < na; j++) {
				struct wl_cidr c;
				random_cidr(&s, &c);
				wg_peer_add_allowed(p, &c);
			}
		}
		struct uapi_buf b;
		uapi_buf_init(&b);
		format_reply(&b, d);
		struct wg_device *got = NULL;
		CHECK(!b.oom);
		CHECK_EQ(uapi_parse_get(b.data, b.len, "rt", &got), 0);
		if (got) {
			CHECK_EQ(got->has_private_key, d->has_private_key);
			CHECK_MEM(got->private_key, d->private_key, 32);
			CHECK_EQ(got->listen_port, d->listen_port);
			CHECK_EQ(got->fwmark, d->fwmark);
			CHECK_EQ(got->n_peers, d->n_peers);
			for (size_t i = 0; i < d->n_peers && i < got->n_peers; i++) {
				const struct wg_peer *x = &d->peers[i], *y = &got->peers[i];
				CHECK_MEM(x->public_key, y->public_key, 32);
				CHECK_EQ(x->has_endpoint, y->has_endpoint);
				CHECK(!x->has_endpoint || (wl_addr_equal(&x->endpoint.addr, &y->endpoint.addr) &&
							  x->endpoint.port == y->endpoint.port));
				CHECK_EQ(x->last_handshake.tv_sec, y->last_handshake.tv_sec);
				CHECK_EQ(x->last_handshake.tv_nsec, y->last_handshake.tv_nsec);
				CHECK(x->rx_bytes == y->rx_bytes && x->tx_bytes == y->tx_bytes);
				CHECK_EQ(x->persistent_keepalive, y->persistent_keepalive);
				CHECK_EQ(x->n_allowed, y->n_allowed);
				for (size_t j = 0; j < x->n_allowed && j < y->n_allowed; j++)
					CHECK(wl_addr_equal(&x->allowed_ips[j].addr, &y->allowed_ips[j].addr) &&
					      x->allowed_ips[j].prefix == y->allowed_ips[j].prefix);
			}
		}
		/* every strict prefix of a valid reply is rejected, never crashes */
		for (size_t cut = 0; cut < b.len; cut += 1 + b.len / 64) {
			struct wg_device *t = NULL;
			CHECK(uapi_parse_get(b.data, cut, "rt", &t) < 0);
			CHECK(t == NULL);
		}
		uapi_buf_wipe(&b);
		wg_device_free(got);
		wg_device_free(d);
	}
}

TEST(formats_changes)
{
	struct wl_cidr ips[2];
	CHECK(wl_cidr_parse("10.0.0.0/24", &ips[0]));
	CHECK(wl_cidr_parse("fd00::1/128", &ips[1]));
	struct wg_peer_change ch[3] = { 0 };
	memset(ch[0].public_key, 0x11, 32);
	ch[0].flags = WG_PEER_UPDATE_ONLY | WG_PEER_REPLACE_ALLOWED_IPS | WG_PEER_SET_ENDPOINT |
		      WG_PEER_SET_KEEPALIVE;
	CHECK(wl_endpoint_parse("[2001:db8::1]:51820", &ch[0].endpoint));
	ch[0].persistent_keepalive = 25;
	ch[0].n_allowed = 2;
	ch[0].allowed_ips = ips;
	memset(ch[1].public_key, 0x22, 32);
	ch[1].flags = WG_PEER_REMOVE | WG_PEER_SET_ENDPOINT; /* remove wins */
	memset(ch[2].public_key, 0x33, 32);
	ch[2].n_allowed = 1;
	ch[2].allowed_ips = ips;
	struct uapi_buf b;
	uapi_buf_init(&b);
	CHECK_EQ(uapi_format_apply(&b, ch, 3), 0);
	uapi_buf_append(&b, "", 1);
	CHECK_STR(b.data,
		  "set=1\n"
		  "public_key=1111111111111111111111111111111111111111111111111111111111111111\n"
		  "update_only=true\n"
		  "endpoint=[2001:db8::1]:51820\n"
		  "persistent_keepalive_interval=25\n"
		  "replace_allowed_ips=true\n"
		  "allowed_ip=10.0.0.0/24\n"
		  "allowed_ip=fd00::1/128\n"
		  "public_key=2222222222222222222222222222222222222222222222222222222222222222\n"
		  "remove=true\n"
		  "public_key=3333333333333333333333333333333333333333333333333333333333333333\n"
		  "allowed_ip=10.0.0.0/24\n"
		  "\n");
	uapi_buf_wipe(&b);

	struct wl_cidr bad = { .prefix = 8 }; /* no family */
	ch[2].allowed_ips = &bad;
	CHECK_EQ(uapi_format_apply(&b, ch, 3), -EINVAL);
	uapi_buf_wipe(&b);
	ch[0].endpoint.addr.family = 0;
	CHECK_EQ(uapi_format_apply(&b, ch, 1), -EINVAL);
	uapi_buf_wipe(&b);

	uint8_t key[32];
	memset(key, 0xab, 32);
	CHECK_EQ(uapi_format_set_device(&b, key, 51820), 0);
	uapi_buf_append(&b, "", 1);
	CHECK_STR(b.data, "set=1\nprivate_key=abababababababababababababababab"
			  "abababababababababababababababab\nlisten_port=51820\n\n");
	uapi_buf_wipe(&b);
	CHECK_EQ(uapi_format_set_device(&b, NULL, -1), 0);
	CHECK_EQ(b.len, 7);
	uapi_buf_wipe(&b);
	CHECK_EQ(uapi_format_set_device(&b, NULL, 65536), -EINVAL);
	uapi_buf_wipe(&b);
}

TEST(backend_names)
{
	enum wgdev_backend b;
	CHECK(wgdev_backend_parse("auto", &b) && b == WGDEV_AUTO);
	CHECK(wgdev_backend_parse("kernel", &b) && b == WGDEV_KERNEL);
	CHECK(wgdev_backend_parse("userspace", &b) && b == WGDEV_USERSPACE);
	CHECK(!wgdev_backend_parse("Kernel", &b));
	CHECK(!wgdev_backend_parse("", &b));
	CHECK_STR(wgdev_backend_name(WGDEV_USERSPACE), "userspace");
}

TEST(open_rejects_bad_names)
{
	static const char *const names[] = { "", "a/b", "..", ".", "0123456789abcdef", "a b" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct wgdev *wg = (struct wgdev *)1;
		CHECK_EQ(wgdev_open(names[i], WGDEV_USERSPACE, &wg), -EINVAL);
		CHECK(wg == NULL);
	}
	struct wgdev *wg = NULL;
	CHECK_EQ(wgdev_open("wlt-nonexistent", WGDEV_USERSPACE, &wg), -ENODEV);
	wgdev_close(NULL);
}

TEST(snapshot_growth)
{
	struct wg_device *d = wg_device_new("g");
	for (int i = 0; i < 1000; i++) {
		uint8_t key[32] = { (uint8_t)i, (uint8_t)(i >> 8), 1 };
		struct wg_peer *p = wg_device_add_peer(d, key);
		CHECK(p != NULL);
		for (int j = 0; p && j < 5; j++) {
			struct wl_cidr c = { .addr = { .family = AF_INET, .bytes = { 10, (uint8_t)j } },
					     .prefix = 16 };
			CHECK_EQ(wg_peer_add_allowed(p, &c), 0);
		}
	}
	CHECK_EQ(d->n_peers, 1000);
	uint8_t k500[32] = { 500 & 0xff, 500 >> 8, 1 };
	struct wg_peer *p = wg_device_find_peer(d, k500);
	CHECK(p == &d->peers[500]);
	CHECK(p && p->n_allowed == 5 && p->allowed_ips[4].addr.bytes[1] == 4);
	uint8_t none[32] = { 0 };
	CHECK(wg_device_find_peer(d, none) == NULL);
	wg_device_free(d);
}

/* ---- socket exchange against fake daemons ---- */

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void tmp_path(char out[static 108], const char *tag)
{
	snprintf(out, 108, "/tmp/wlt-uapi-%d-%s.sock", (int)getpid(), tag);
}

static double elapsed_ms(const struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

TEST(transact_times_out_on_a_silent_daemon)
{
	char path[108];
	tmp_path(path, "silent");
	int lfd = listen_at(path); /* never accepts: connect still succeeds */
	CHECK(lfd >= 0);
	struct uapi_buf reply;
	uapi_buf_init(&reply);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ(wg_uapi_transact(path, "get=1\n\n", 7, &reply, 300, 10000), -ETIMEDOUT);
	double ms = elapsed_ms(&t0);
	CHECK_MSG(ms >= 250 && ms < 3000, "idle limit: took %.0f ms", ms);
	/* the total limit trips even when the idle one would not */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ(wg_uapi_transact(path, "get=1\n\n", 7, &reply, 10000, 200), -ETIMEDOUT);
	ms = elapsed_ms(&t0);
	CHECK_MSG(ms >= 150 && ms < 3000, "total limit: took %.0f ms", ms);
	uapi_buf_wipe(&reply);
	close(lfd);
	unlink(path);
	CHECK_EQ(wg_uapi_transact(path, "get=1\n\n", 7, &reply, 300, 300), -ENOENT);
}

/* Child: accept one connection, read the request, then act. */
static void fake_daemon(int lfd, const char *const *pieces, size_t n)
{
	int c = accept(lfd, NULL, NULL);
	if (c < 0)
		_exit(1);
	char req[64];
	if (read(c, req, sizeof(req)) <= 0)
		_exit(1);
	for (size_t i = 0; i < n; i++) {
		if (write(c, pieces[i], strlen(pieces[i])) < 0)
			_exit(1);
		usleep(20000);
	}
	close(c);
	_exit(0);
}

static int run_fake(const char *tag, const char *const *pieces, size_t n, struct uapi_buf *reply)
{
	char path[108];
	tmp_path(path, tag);
	int lfd = listen_at(path);
	if (lfd < 0)
		return -999;
	pid_t pid = fork();
	if (pid == 0)
		fake_daemon(lfd, pieces, n);
	int r = wg_uapi_transact(path, "get=1\n\n", 7, reply, 3000, 10000);
	int st;
	waitpid(pid, &st, 0);
	close(lfd);
	unlink(path);
	return r;
}

TEST(transact_reassembles_a_split_reply)
{
	static const char *const pieces[] = { "listen_port=1", "2\nerr", "no=0\n", "\n" };
	struct uapi_buf reply;
	uapi_buf_init(&reply);
	CHECK_EQ(run_fake("split", pieces, 4, &reply), 0);
	struct wg_device *d = NULL;
	CHECK_EQ(uapi_parse_get(reply.data, reply.len, "x", &d), 0);
	CHECK(d && d->listen_port == 12);
	wg_device_free(d);
	uapi_buf_wipe(&reply);
}

TEST(transact_reports_an_early_close)
{
	static const char *const pieces[] = { "listen_port=1\n" };
	struct uapi_buf reply;
	uapi_buf_init(&reply);
	CHECK_EQ(run_fake("close", pieces, 1, &reply), -EPROTO);
	uapi_buf_wipe(&reply);
}
