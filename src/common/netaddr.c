#include "common/netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t wl_addr_len(const struct wl_addr *a)
{
	return a->family == AF_INET ? 4 : a->family == AF_INET6 ? 16 : 0;
}

void wl_addr_from_v4(struct wl_addr *a, const uint8_t v4[static 4])
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	memcpy(a->bytes, v4, 4);
}

void wl_addr_from_v6(struct wl_addr *a, const uint8_t v6[static 16])
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET6;
	memcpy(a->bytes, v6, 16);
}

char *wl_addr_str(const struct wl_addr *a, char out[static WL_ADDR_STR_MAX])
{
	if (!inet_ntop(a->family == AF_INET ? AF_INET : AF_INET6, a->bytes, out, WL_ADDR_STR_MAX))
		snprintf(out, WL_ADDR_STR_MAX, "(none)");
	return out;
}

char *wl_endpoint_str(const struct wl_endpoint *e, char out[static WL_ENDPOINT_STR_MAX])
{
	char a[WL_ADDR_STR_MAX];
	wl_addr_str(&e->addr, a);
	if (e->addr.family == AF_INET6)
		snprintf(out, WL_ENDPOINT_STR_MAX, "[%s]:%u", a, e->port);
	else
		snprintf(out, WL_ENDPOINT_STR_MAX, "%s:%u", a, e->port);
	return out;
}

char *wl_cidr_str(const struct wl_cidr *c, char out[static WL_CIDR_STR_MAX])
{
	char a[WL_ADDR_STR_MAX];
	snprintf(out, WL_CIDR_STR_MAX, "%s/%u", wl_addr_str(&c->addr, a), c->prefix);
	return out;
}

bool wl_addr_parse(const char *s, struct wl_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->bytes) == 1) {
		out->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, out->bytes) == 1) {
		out->family = AF_INET6;
		return true;
	}
	memset(out, 0, sizeof(*out));
	return false;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	if (*s < '0' || *s > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

bool wl_cidr_parse(const char *s, struct wl_cidr *out)
{
	char buf[WL_CIDR_STR_MAX];
	size_t n = strlen(s);
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n + 1);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (!wl_addr_parse(buf, &out->addr))
		return false;
	unsigned long max = wl_addr_len(&out->addr) * 8, len = max;
	if (slash && !parse_uint(slash + 1, max, &len))
		return false;
	out->prefix = (uint8_t)len;
	return true;
}

bool wl_endpoint_parse(const char *s, struct wl_endpoint *out)
{
	char host[WL_ADDR_STR_MAX];
	const char *port;
	memset(out, 0, sizeof(*out));
	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
			return false;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		port = close + 2;
		if (!wl_addr_parse(host, &out->addr) || out->addr.family != AF_INET6)
			return false;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host))
			return false;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port = colon + 1;
		if (!wl_addr_parse(host, &out->addr) || out->addr.family != AF_INET)
			return false;
	}
	unsigned long p;
	if (!parse_uint(port, 65535, &p))
		return false;
	out->port = (uint16_t)p;
	return true;
}

void wl_cidr_mask(struct wl_cidr *c)
{
	size_t bits = wl_addr_len(&c->addr) * 8;
	for (size_t i = 0; i < bits / 8; i++) {
		size_t first = i * 8;
		if (first >= c->prefix)
			c->addr.bytes[i] = 0;
		else if (first + 8 > c->prefix)
			c->addr.bytes[i] &= (uint8_t)(0xff << (8 - (c->prefix - first)));
	}
}

bool wl_cidr_contains(const struct wl_cidr *c, const struct wl_addr *addr)
{
	if (c->addr.family != addr->family)
		return false;
	/* The prefix's whole bytes, then its last bits: no copies masked
	 * (a route lookup in the simulator's network makes millions). */
	size_t len = wl_addr_len(addr);
	size_t prefix = c->prefix < len * 8 ? c->prefix : len * 8;
	size_t whole = prefix / 8, rest = prefix % 8;
	if (memcmp(c->addr.bytes, addr->bytes, whole) != 0)
		return false;
	if (rest && ((c->addr.bytes[whole] ^ addr->bytes[whole]) & (uint8_t)(0xff << (8 - rest))))
		return false;
	/* Beyond the address's length (an IPv4 address's last 12 bytes) both
	 * must match as stored, as they always did. */
	return memcmp(c->addr.bytes + len, addr->bytes + len, sizeof(addr->bytes) - len) == 0;
}

bool wl_cidr_is_network(const struct wl_cidr *c)
{
	return c->prefix < wl_addr_len(&c->addr) * 8;
}

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool wl_addr_is_v4_mapped(const struct wl_addr *a)
{
	return a->family == AF_INET6 && memcmp(a->bytes, v4_mapped_prefix, 12) == 0;
}

bool wl_addr_is_loopback(const struct wl_addr *a)
{
	static const uint8_t v6_loop[16] = { [15] = 1 };
	if (a->family == AF_INET)
		return a->bytes[0] == 127;
	if (wl_addr_is_v4_mapped(a))
		return a->bytes[12] == 127;
	return a->family == AF_INET6 && memcmp(a->bytes, v6_loop, 16) == 0;
}

bool wl_addr_is_link_local(const struct wl_addr *a)
{
	if (a->family == AF_INET || wl_addr_is_v4_mapped(a)) {
		const uint8_t *b = a->family == AF_INET ? a->bytes : a->bytes + 12;
		return b[0] == 169 && b[1] == 254;
	}
	return a->family == AF_INET6 && a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80;
}

bool wl_addr_is_global_unicast(const struct wl_addr *a)
{
	static const uint8_t zero[16];
	if (a->family == AF_INET || wl_addr_is_v4_mapped(a)) {
		const uint8_t *b = a->family == AF_INET ? a->bytes : a->bytes + 12;
		if (memcmp(b, zero, 4) == 0)
			return false;
		if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255)
			return false;
		if (b[0] >= 224 && b[0] <= 239) /* multicast */
			return false;
		return !wl_addr_is_loopback(a) && !wl_addr_is_link_local(a);
	}
	if (a->family != AF_INET6 || memcmp(a->bytes, zero, 16) == 0)
		return false;
	if (a->bytes[0] == 0xff) /* multicast */
		return false;
	return !wl_addr_is_loopback(a) && !wl_addr_is_link_local(a);
}

bool wl_addr_is_private(const struct wl_addr *a)
{
	if (wl_addr_is_loopback(a) || wl_addr_is_link_local(a))
		return true;
	if (a->family == AF_INET || wl_addr_is_v4_mapped(a)) {
		const uint8_t *b = a->family == AF_INET ? a->bytes : a->bytes + 12;
		return b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
		       (b[0] == 192 && b[1] == 168) || (b[0] == 100 && (b[1] & 0xc0) == 64);
	}
	return a->family == AF_INET6 && (a->bytes[0] & 0xfe) == 0xfc;
}

bool wl_endpoint_from_sockaddr(const struct sockaddr *sa, struct wl_endpoint *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		wl_addr_from_v4(&out->addr, (const uint8_t *)&in->sin_addr);
		out->port = ntohs(in->sin_port);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		wl_addr_from_v6(&out->addr, in6->sin6_addr.s6_addr);
		out->port = ntohs(in6->sin6_port);
		return true;
	}
	return false;
}

socklen_t wl_endpoint_to_sockaddr(const struct wl_endpoint *e, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (e->addr.family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)out;
		in->sin_family = AF_INET;
		in->sin_port = htons(e->port);
		memcpy(&in->sin_addr, e->addr.bytes, 4);
		return sizeof(*in);
	}
	if (e->addr.family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(e->port);
		memcpy(&in6->sin6_addr, e->addr.bytes, 16);
		return sizeof(*in6);
	}
	return 0;
}
