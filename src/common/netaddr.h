/* IP addresses, endpoints and CIDR prefixes as plain values shared by the
 * codec, the core and the OS backends.
 *
 * An IPv4 address is kept in the first 4 bytes of `bytes` (the rest zero),
 * so values compare with memcmp over the whole struct. */
#ifndef WL_COMMON_NETADDR_H
#define WL_COMMON_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

struct wl_addr {
	uint8_t family; /* AF_INET or AF_INET6; 0 = none */
	uint8_t bytes[16];
};

struct wl_endpoint {
	struct wl_addr addr;
	uint16_t port; /* host byte order */
};

struct wl_cidr {
	struct wl_addr addr;
	uint8_t prefix;
};

/* "[ip6]:port" (with a bracketed address) or "ip4:port", plus NUL. */
#define WL_ENDPOINT_STR_MAX 56
/* "ip/len" plus NUL. */
#define WL_CIDR_STR_MAX 52
#define WL_ADDR_STR_MAX 46

size_t wl_addr_len(const struct wl_addr *a); /* 4, 16, or 0 */

/* The comparisons are inline, each length a fixed-size compare: the
 * simulator's network and the engine's lookups call them millions of
 * times a second, and a call to memcmp of a variable length was a few
 * per cent of a 1,000-node network's convergence. Only an address's own
 * bytes count, whatever the rest holds. */
static inline bool wl_addr_equal(const struct wl_addr *a, const struct wl_addr *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return memcmp(a->bytes, b->bytes, 4) == 0;
	if (a->family == AF_INET6)
		return memcmp(a->bytes, b->bytes, 16) == 0;
	return true;
}

/* Same address and port (by value: the structs may carry padding). */
static inline bool wl_endpoint_equal(const struct wl_endpoint *a, const struct wl_endpoint *b)
{
	return a->port == b->port && wl_addr_equal(&a->addr, &b->addr);
}

/* Same address and prefix length (host bits compared as stored). */
static inline bool wl_cidr_equal(const struct wl_cidr *a, const struct wl_cidr *b)
{
	return a->prefix == b->prefix && wl_addr_equal(&a->addr, &b->addr);
}
void wl_addr_from_v4(struct wl_addr *a, const uint8_t v4[static 4]);
void wl_addr_from_v6(struct wl_addr *a, const uint8_t v6[static 16]);

/* Text forms; every function writes into the caller's buffer and returns it. */
char *wl_addr_str(const struct wl_addr *a, char out[static WL_ADDR_STR_MAX]);
char *wl_endpoint_str(const struct wl_endpoint *e, char out[static WL_ENDPOINT_STR_MAX]);
char *wl_cidr_str(const struct wl_cidr *c, char out[static WL_CIDR_STR_MAX]);

/* Parse "1.2.3.4" or "2001:db8::1" (no brackets, no zone). */
bool wl_addr_parse(const char *s, struct wl_addr *out);
/* Parse "ip/len"; host bits are kept (see wl_cidr_mask). A missing "/len"
 * means a full-length prefix. */
bool wl_cidr_parse(const char *s, struct wl_cidr *out);
/* Parse "1.2.3.4:port" or "[v6]:port" with a numeric address. */
bool wl_endpoint_parse(const char *s, struct wl_endpoint *out);

/* Zero the host bits of c (10.99.0.1/24 -> 10.99.0.0/24). */
void wl_cidr_mask(struct wl_cidr *c);
/* True if addr lies inside prefix c. */
bool wl_cidr_contains(const struct wl_cidr *c, const struct wl_addr *addr);
/* True if the prefix is shorter than the full address length. */
bool wl_cidr_is_network(const struct wl_cidr *c);
/* c folded into h (WL_HASH_BASIS to start), host bits as stored: for
 * tables and signatures, not against an adversary. Three words, each
 * step one-to-one in h and in the word; inline, as the engine hashes
 * every device peer's AllowedIPs at every tick. */
#define WL_HASH_BASIS 0xcbf29ce484222325ull
/* n bytes folded into h byte by byte (FNV-1a; WL_HASH_BASIS to start):
 * for what is hashed rarely or is not a CIDR. */
static inline uint64_t wl_hash_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}
static inline uint64_t wl_cidr_hash(uint64_t h, const struct wl_cidr *c)
{
	const uint64_t k = 0x9e3779b97f4a7c15ull;
	uint64_t lo, hi;
	memcpy(&lo, c->addr.bytes, sizeof(lo));
	memcpy(&hi, c->addr.bytes + sizeof(lo), sizeof(hi));
	h = (h ^ lo) * k;
	h = (h ^ (h >> 32) ^ hi) * k;
	h = (h ^ (h >> 32) ^ c->addr.family ^ (uint64_t)c->prefix << 8) * k;
	return h ^ (h >> 29);
}

/* An IPv4 address mapped into IPv6 (::ffff:a.b.c.d). */
bool wl_addr_is_v4_mapped(const struct wl_addr *a);
bool wl_addr_is_loopback(const struct wl_addr *a);
bool wl_addr_is_link_local(const struct wl_addr *a);
/* Go's net.IP.IsGlobalUnicast: not unspecified, loopback, link-local,
 * multicast or the IPv4 broadcast address; private ranges count. */
bool wl_addr_is_global_unicast(const struct wl_addr *a);
/* Reachable only inside some site, never across the internet: RFC 1918,
 * shared address space 100.64.0.0/10 (carrier-grade NAT), unique local
 * fc00::/7, loopback and link-local. Documentation ranges (192.0.2.0/24,
 * 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) are not private: labs
 * use them as public addresses. */
bool wl_addr_is_private(const struct wl_addr *a);

/* Conversions to and from socket addresses (port in host order). */
bool wl_endpoint_from_sockaddr(const struct sockaddr *sa, struct wl_endpoint *out);
socklen_t wl_endpoint_to_sockaddr(const struct wl_endpoint *e, struct sockaddr_storage *out);

#endif
