/* UAPI text: reply parser and request builder (see uapi_text.h). */
#include "sys/uapi_text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sys/log.h"
#include "sys/wgdev_backend.h"

/* Longest value we accept for any key we interpret: an endpoint with a
 * zone ("[v6%zone]:port") is the longest legitimate one. */
#define UAPI_VALUE_MAX 96
/* Error codes a peer may report; anything else becomes EPROTO. */
#define UAPI_ERRNO_MAX 4095

void uapi_buf_init(struct uapi_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void uapi_buf_wipe(struct uapi_buf *b)
{
	if (b->data)
		sodium_memzero(b->data, b->cap);
	free(b->data);
	uapi_buf_init(b);
}

static bool buf_reserve(struct uapi_buf *b, size_t extra)
{
	if (b->oom)
		return false;
	if (extra <= b->cap - b->len)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len < extra) {
		if (cap > SIZE_MAX / 2) {
			b->oom = true;
			return false;
		}
		cap *= 2;
	}
	/* Not realloc: the old block may hold a private key and must be
	 * wiped, which realloc would not do. */
	char *p = malloc(cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	if (b->data) {
		memcpy(p, b->data, b->len);
		sodium_memzero(b->data, b->cap);
		free(b->data);
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void uapi_buf_append(struct uapi_buf *b, const void *data, size_t n)
{
	if (n == 0 || !buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, data, n);
	b->len += n;
}

void uapi_buf_printf(struct uapi_buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		uapi_buf_append(b, small, (size_t)n);
		sodium_memzero(small, sizeof(small));
		return;
	}
	if (!buf_reserve(b, (size_t)n + 1))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

bool uapi_reply_complete(const char *buf, size_t len)
{
	for (size_t i = 1; i < len; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\n')
			return true;
	return false;
}

/* ---- parsing ---- */

struct parser {
	unsigned line;
	struct wg_device *dev;
	size_t peer;     /* index of the current peer + 1; 0 = device section */
	bool have_errno;
	int64_t errno_value;
};

/* Logs why the text is malformed (debug level) and returns -EBADMSG. */
static int bad(const struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(const struct parser *p, const char *fmt, ...)
{
	if (log_get_level() >= LOG_LVL_DEBUG) {
		char msg[160];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		log_debug("uapi: reply line %u: %s", p->line, msg);
	}
	return -EBADMSG;
}

static bool key_is(const char *k, size_t klen, const char *name)
{
	return strlen(name) == klen && memcmp(k, name, klen) == 0;
}

/* Plain decimal, no sign, no spaces, at most max. */
static bool parse_u64(const char *v, size_t n, uint64_t max, uint64_t *out)
{
	if (n == 0 || n > 20)
		return false;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		unsigned d = (unsigned)(v[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	if (x > max)
		return false;
	*out = x;
	return true;
}

static bool parse_key_hex(const char *v, size_t n, uint8_t out[static WL_KEY_LEN])
{
	return n == 2 * (size_t)WL_KEY_LEN && hex_decode(v, n, out, WL_KEY_LEN) == WL_KEY_LEN;
}

/* Copies a value into a NUL-terminated buffer for the address parsers. */
static bool value_cstr(const char *v, size_t n, char out[static UAPI_VALUE_MAX])
{
	if (n >= UAPI_VALUE_MAX || memchr(v, '\0', n))
		return false;
	memcpy(out, v, n);
	out[n] = '\0';
	return true;
}

/* "[fe80::1%eth0]:51820": wl_endpoint has no zone, so drop it. */
static void strip_zone(char *s)
{
	if (s[0] != '[')
		return;
	char *pct = strchr(s, '%');
	char *close = strchr(s, ']');
	if (pct && close && pct < close)
		memmove(pct, close, strlen(close) + 1);
}

static bool parse_endpoint(const char *v, size_t n, struct wl_endpoint *out)
{
	char s[UAPI_VALUE_MAX];
	if (!value_cstr(v, n, s))
		return false;
	strip_zone(s);
	return wl_endpoint_parse(s, out);
}

static bool parse_cidr(const char *v, size_t n, struct wl_cidr *out)
{
	char s[UAPI_VALUE_MAX];
	return value_cstr(v, n, s) && strchr(s, '/') && wl_cidr_parse(s, out);
}

static int parse_errno_value(struct parser *p, const char *v, size_t n)
{
	bool neg = n > 0 && v[0] == '-';
	uint64_t x;
	if (!parse_u64(v + neg, n - neg, UINT32_MAX, &x))
		return bad(p, "bad errno '%.*s'", (int)n, v);
	p->have_errno = true;
	p->errno_value = (int64_t)x;
	return 0;
}

static bool is_peer_key(const char *k, size_t kn)
{
	static const char *const peer_keys[] = {
		"endpoint", "allowed_ip", "last_handshake_time_sec", "last_handshake_time_nsec",
		"rx_bytes", "tx_bytes", "persistent_keepalive_interval", "preshared_key",
		"protocol_version",
	};
	for (size_t i = 0; i < sizeof(peer_keys) / sizeof(peer_keys[0]); i++)
		if (key_is(k, kn, peer_keys[i]))
			return true;
	return false;
}

static int device_line(struct parser *p, const char *k, size_t kn, const char *v, size_t vn)
{
	struct wg_device *d = p->dev;
	uint64_t x;
	if (key_is(k, kn, "private_key")) {
		if (!parse_key_hex(v, vn, d->private_key))
			return bad(p, "bad private_key");
		d->has_private_key = !sodium_is_zero(d->private_key, WL_KEY_LEN);
	} else if (key_is(k, kn, "listen_port")) {
		if (!parse_u64(v, vn, UINT16_MAX, &x))
			return bad(p, "bad listen_port '%.*s'", (int)vn, v);
		d->listen_port = (uint16_t)x;
	} else if (key_is(k, kn, "fwmark")) {
		if (!parse_u64(v, vn, UINT32_MAX, &x))
			return bad(p, "bad fwmark '%.*s'", (int)vn, v);
		d->fwmark = (uint32_t)x;
	}
	else if (is_peer_key(k, kn))
		return bad(p, "peer key '%.*s' before any public_key", (int)kn, k);
	/* other device keys: ignored (newer implementations) */
	return 0;
}

static int new_peer(struct parser *p, const char *v, size_t vn)
{
	uint8_t key[WL_KEY_LEN];
	if (!parse_key_hex(v, vn, key))
		return bad(p, "bad public_key '%.*s'", (int)vn, v);
	if (!wg_device_add_peer(p->dev, key))
		return -ENOMEM;
	p->peer = p->dev->n_peers;
	return 0;
}

static int peer_line(struct parser *p, const char *k, size_t kn, const char *v, size_t vn)
{
	struct wg_peer *peer = &p->dev->peers[p->peer - 1];
	uint64_t x;
	if (key_is(k, kn, "endpoint")) {
		if (!parse_endpoint(v, vn, &peer->endpoint))
			return bad(p, "bad endpoint '%.*s'", (int)vn, v);
		peer->has_endpoint = true;
	} else if (key_is(k, kn, "allowed_ip")) {
		struct wl_cidr c;
		if (!parse_cidr(v, vn, &c))
			return bad(p, "bad allowed_ip '%.*s'", (int)vn, v);
		if (wg_peer_add_allowed(peer, &c) < 0)
			return -ENOMEM;
	} else if (key_is(k, kn, "last_handshake_time_sec")) {
		if (!parse_u64(v, vn, INT64_MAX, &x))
			return bad(p, "bad last_handshake_time_sec");
		peer->last_handshake.tv_sec = (time_t)x;
	} else if (key_is(k, kn, "last_handshake_time_nsec")) {
		if (!parse_u64(v, vn, 999999999, &x))
			return bad(p, "bad last_handshake_time_nsec");
		peer->last_handshake.tv_nsec = (long)x;
	} else if (key_is(k, kn, "rx_bytes")) {
		if (!parse_u64(v, vn, UINT64_MAX, &peer->rx_bytes))
			return bad(p, "bad rx_bytes");
	} else if (key_is(k, kn, "tx_bytes")) {
		if (!parse_u64(v, vn, UINT64_MAX, &peer->tx_bytes))
			return bad(p, "bad tx_bytes");
	} else if (key_is(k, kn, "persistent_keepalive_interval")) {
		if (!parse_u64(v, vn, UINT16_MAX, &x))
			return bad(p, "bad persistent_keepalive_interval");
		peer->persistent_keepalive = (uint16_t)x;
	} else if (key_is(k, kn, "preshared_key")) {
		uint8_t psk[WL_KEY_LEN];
		bool ok = parse_key_hex(v, vn, psk);
		sodium_memzero(psk, sizeof(psk));
		if (!ok)
			return bad(p, "bad preshared_key");
	} else if (key_is(k, kn, "protocol_version")) {
		if (!parse_u64(v, vn, UINT32_MAX, &x))
			return bad(p, "bad protocol_version");
	} else if (key_is(k, kn, "private_key") || key_is(k, kn, "listen_port") ||
		   key_is(k, kn, "fwmark")) {
		return bad(p, "device key '%.*s' inside a peer", (int)kn, k);
	}
	/* other peer keys: ignored */
	return 0;
}

static int parse_line(struct parser *p, const char *s, size_t n)
{
	const char *eq = memchr(s, '=', n);
	if (!eq || eq == s)
		return bad(p, "not key=value");
	size_t kn = (size_t)(eq - s);
	const char *v = eq + 1;
	size_t vn = n - kn - 1;
	if (p->have_errno)
		return bad(p, "line after errno");
	if (key_is(s, kn, "errno"))
		return parse_errno_value(p, v, vn);
	if (key_is(s, kn, "public_key"))
		return new_peer(p, v, vn);
	if (p->peer == 0)
		return device_line(p, s, kn, v, vn);
	return peer_line(p, s, kn, v, vn);
}

/* Walks the lines of a reply; stops at the empty line, which must be the
 * last byte. */
static int parse_lines(struct parser *p, const char *buf, size_t len)
{
	size_t pos = 0;
	p->line = 0;
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		p->line++;
		if (!nl)
			return bad(p, "unterminated line");
		size_t n = (size_t)(nl - (buf + pos));
		if (n == 0) {
			if (pos + 1 != len)
				return bad(p, "data after the end of the reply");
			if (!p->have_errno)
				return bad(p, "no errno line");
			return 0;
		}
		int r = parse_line(p, buf + pos, n);
		if (r < 0)
			return r;
		pos += n + 1;
	}
	return bad(p, "reply without its closing empty line");
}

static int errno_result(int64_t e)
{
	if (e < 0)
		e = -e;
	if (e == 0)
		return 0;
	return e > UAPI_ERRNO_MAX ? -EPROTO : -(int)e;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b, WL_KEY_LEN);
}

/* A peer listed twice means a broken reply. Sorting pointers to the keys
 * finds that in O(n log n) (checking as each peer arrives would be
 * quadratic) without disturbing the device's order. */
static int check_unique_peers(const struct wg_device *d)
{
	if (d->n_peers < 2)
		return 0;
	const uint8_t **keys = malloc(d->n_peers * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < d->n_peers; i++)
		keys[i] = d->peers[i].public_key;
	qsort(keys, d->n_peers, sizeof(*keys), key_cmp);
	int r = 0;
	for (size_t i = 1; i < d->n_peers && r == 0; i++)
		if (memcmp(keys[i - 1], keys[i], WL_KEY_LEN) == 0)
			r = -EBADMSG;
	free(keys);
	if (r < 0)
		log_debug("uapi: reply lists a peer twice");
	return r;
}

static void derive_public_key(struct wg_device *d)
{
	if (!d->has_private_key)
		return;
	/* crypto_scalarmult_base needs the library initialised; this is
	 * idempotent and cheap once done. */
	if (sodium_init() < 0 || crypto_scalarmult_base(d->public_key, d->private_key) != 0)
		memset(d->public_key, 0, sizeof(d->public_key));
}

int uapi_parse_get(const char *buf, size_t len, const char *ifname, struct wg_device **out)
{
	*out = NULL;
	struct parser p = { .dev = wg_device_new(ifname) };
	if (!p.dev)
		return -ENOMEM;
	int r = parse_lines(&p, buf, len);
	if (r == 0)
		r = errno_result(p.errno_value);
	if (r == 0)
		r = check_unique_peers(p.dev);
	if (r < 0) {
		wg_device_free(p.dev);
		return r;
	}
	derive_public_key(p.dev);
	*out = p.dev;
	return 0;
}

int uapi_parse_set_reply(const char *buf, size_t len)
{
	struct parser p = { 0 };
	/* Only errno may appear; anything else in a set reply is malformed. */
	size_t prefix = strlen("errno=");
	if (len < prefix || memcmp(buf, "errno=", prefix) != 0) {
		log_debug("uapi: set reply does not start with errno=");
		return -EBADMSG;
	}
	p.dev = wg_device_new(NULL);
	if (!p.dev)
		return -ENOMEM;
	int r = parse_lines(&p, buf, len);
	wg_device_free(p.dev);
	return r < 0 ? r : errno_result(p.errno_value);
}

/* ---- requests ---- */

static bool cidr_valid(const struct wl_cidr *c)
{
	size_t alen = wl_addr_len(&c->addr);
	return alen != 0 && c->prefix <= alen * 8;
}

static int format_change(struct uapi_buf *b, const struct wg_peer_change *c)
{
	char hex[2 * WL_KEY_LEN + 1];
	uapi_buf_printf(b, "public_key=%s\n", hex_encode(c->public_key, WL_KEY_LEN, hex));
	if (c->flags & WG_PEER_REMOVE) {
		uapi_buf_printf(b, "remove=true\n");
		return 0;
	}
	/* update_only must directly follow public_key: wireguard-go drops a
	 * peer it just created when it sees it. */
	if (c->flags & WG_PEER_UPDATE_ONLY)
		uapi_buf_printf(b, "update_only=true\n");
	if (c->flags & WG_PEER_SET_ENDPOINT) {
		char ep[WL_ENDPOINT_STR_MAX];
		if (wl_addr_len(&c->endpoint.addr) == 0)
			return -EINVAL;
		uapi_buf_printf(b, "endpoint=%s\n", wl_endpoint_str(&c->endpoint, ep));
	}
	if (c->flags & WG_PEER_SET_KEEPALIVE)
		uapi_buf_printf(b, "persistent_keepalive_interval=%u\n", c->persistent_keepalive);
	if (c->flags & WG_PEER_REPLACE_ALLOWED_IPS)
		uapi_buf_printf(b, "replace_allowed_ips=true\n");
	for (size_t i = 0; i < c->n_allowed; i++) {
		char cs[WL_CIDR_STR_MAX];
		if (!cidr_valid(&c->allowed_ips[i]))
			return -EINVAL;
		uapi_buf_printf(b, "allowed_ip=%s\n", wl_cidr_str(&c->allowed_ips[i], cs));
	}
	return 0;
}

int uapi_format_apply(struct uapi_buf *b, const struct wg_peer_change *changes, size_t n)
{
	uapi_buf_printf(b, "set=1\n");
	for (size_t i = 0; i < n; i++) {
		int r = format_change(b, &changes[i]);
		if (r < 0)
			return r;
	}
	uapi_buf_printf(b, "\n");
	return b->oom ? -ENOMEM : 0;
}

int uapi_format_set_device(struct uapi_buf *b, const uint8_t *private_key, int listen_port)
{
	if (listen_port < -1 || listen_port > 65535)
		return -EINVAL;
	uapi_buf_printf(b, "set=1\n");
	if (private_key) {
		char hex[2 * WL_KEY_LEN + 1];
		uapi_buf_printf(b, "private_key=%s\n", hex_encode(private_key, WL_KEY_LEN, hex));
		sodium_memzero(hex, sizeof(hex));
	}
	if (listen_port >= 0)
		uapi_buf_printf(b, "listen_port=%d\n", listen_port);
	uapi_buf_printf(b, "\n");
	return b->oom ? -ENOMEM : 0;
}
