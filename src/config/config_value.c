/* Validators for every kind of configuration value, and message helpers.
 * Each validator accepts exactly one text form and, on failure, says what
 * was expected, so every source (file, environment, flag) reports the same
 * wording. */
#include "config/config_internal.h"

#include <ctype.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/encoding.h"
#include "sys/log.h"
#include "wire/member_meta.h"

const char *cfg_quote(const char *s, char out[static CFG_QUOTE_MAX])
{
	/* Room for the closing quote, an ellipsis and the NUL. */
	const size_t limit = CFG_QUOTE_MAX - 8;
	size_t o = 0;
	out[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (o + 4 > limit) {
			memcpy(out + o, "\"...", 5);
			return out;
		}
		if (*p == '"' || *p == '\\') {
			out[o++] = '\\';
			out[o++] = (char)*p;
		} else if (*p < 0x20 || *p >= 0x7f) {
			/* Keep messages one printable line whatever the input. */
			o += (size_t)snprintf(out + o, 5, "\\x%02x", *p);
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

void cfg_errf(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	/* Safety net: messages are single log lines whatever a library put in. */
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

void cfg_warnf(const char *fmt, ...)
{
	char line[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	log_warn("%s", line);
}

void cfg_text_pos(const char *buf, size_t off, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c == '\n') {
			++*line;
			*col = 1;
		} else if ((c & 0xc0) != 0x80) { /* not a UTF-8 continuation byte */
			++*col;
		}
	}
}

bool cfg_trailing(const char *buf, size_t len, size_t off, size_t *at)
{
	for (size_t i = off; i < len; i++) {
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\r') {
			*at = i;
			return true;
		}
	}
	return false;
}

int cfg_trailing_error(const char *file, const char *buf, size_t len, size_t at,
		       const char *note, char *err, size_t errlen)
{
	/* At most 16 bytes of its first line: even all escaped they quote
	 * within CFG_QUOTE_MAX, and a "..." after the quote says more follows. */
	char head[17], q[CFG_QUOTE_MAX];
	size_t n = 0;
	while (at + n < len && n < sizeof(head) - 1 && buf[at + n] != '\n' && buf[at + n] != '\0')
		n++;
	memcpy(head, buf + at, n);
	head[n] = '\0';
	size_t more;
	unsigned line, col;
	cfg_text_pos(buf, at, &line, &col);
	cfg_errf(err, errlen, "%s:%u:%u: content after the document at byte offset %zu: %s%s%s%s%s",
		 file, line, col, at, cfg_quote(head, q),
		 cfg_trailing(buf, len, at + n, &more) ? "..." : "",
		 note ? " (" : "", note ? note : "", note ? ")" : "");
	return CONFIG_E_FILE;
}

bool cfg_parse_bool(const char *s, bool *out, const char **why)
{
	/* YAML 1.1's booleans (y, yes, on, ... in any of its cases, which the
	 * original's yaml.v2 read) and Go's strconv.ParseBool (1, t, true, ...,
	 * which it applied to strings), ignoring case like every value. */
	static const char *const yes[] = { "true", "yes", "on", "1", "y", "t" };
	static const char *const no[] = { "false", "no", "off", "0", "n", "f" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	*why = "is not a boolean (true or false)";
	return false;
}

bool cfg_parse_port(const char *s, uint16_t *out, const char **why)
{
	unsigned long v = 0;
	size_t i = 0;
	for (; s[i] >= '0' && s[i] <= '9' && i < 6; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	if (i == 0 || s[i] != '\0' || v > 65535) {
		*why = "is not a port number (0..65535; 0 = listen port + 1)";
		return false;
	}
	*out = (uint16_t)v;
	return true;
}

/* QuietPeriod: 0 (never quiet), or from the AlivePeriod to the longest
 * period whose Alive ttl (core/quiet.c, about 2 periods) fits 16 bits. */
bool cfg_parse_quiet(const char *s, uint32_t *out, const char **why)
{
	unsigned long v = 0;
	size_t i = 0;
	for (; s[i] >= '0' && s[i] <= '9' && i < 8; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	if (i == 0 || s[i] != '\0' || (v && (v < CFG_QUIET_MIN || v > CFG_QUIET_MAX))) {
		*why = "is not a quiet period (0, or 30..30000 seconds)";
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

bool cfg_parse_count(const char *s, uint32_t *out, const char **why)
{
	unsigned long v = 0;
	size_t i = 0;
	for (; s[i] >= '0' && s[i] <= '9' && i < 8; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	if (i == 0 || s[i] != '\0' || v < 1 || v > CFG_COUNT_MAX) {
		*why = "is not a count (1..1000000)";
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

bool cfg_parse_iface(const char *s, const char **why)
{
	/* The kernel's dev_valid_name(), plus no ':' (alias syntax). */
	size_t n = strlen(s);
	bool ok = n > 0 && n < IFNAMSIZ && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
	for (size_t i = 0; ok && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f || c == '/' || c == ':')
			ok = false;
	}
	if (!ok)
		*why = "is not an interface name (1..15 printable characters, no '/', ':' or spaces)";
	return ok;
}

/* The names are wgdev's (one table), matched ignoring case like every
 * config value; the in-memory backend is for tests and the simulator, not
 * something a user can point at an interface. */
bool cfg_parse_backend(const char *s, enum wgdev_backend *out, const char **why)
{
	static const enum wgdev_backend user[] = { WGDEV_AUTO, WGDEV_KERNEL, WGDEV_USERSPACE };
	for (size_t i = 0; i < sizeof(user) / sizeof(user[0]); i++) {
		if (strcasecmp(s, wgdev_backend_name(user[i])) == 0) {
			*out = user[i];
			return true;
		}
	}
	*why = "is not a backend (auto, kernel, userspace)";
	return false;
}

bool cfg_parse_path(const char *s, const char **why)
{
	if (*s == '\0' || strlen(s) >= PATH_MAX) {
		*why = "is not a directory path";
		return false;
	}
	return true;
}

bool cfg_parse_group(const char *s, const char **why)
{
	size_t n = strlen(s);
	bool number = n > 0 && strspn(s, "0123456789") == n;
	bool name = n > 0 && n < CONFIG_GROUP_MAX && (islower((unsigned char)s[0]) || s[0] == '_') &&
		    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
	if (n == 0 || (number && n < 10) || name)
		return true;
	*why = "is not a group name ([a-z_][a-z0-9_-]*, at most 31 characters) or number";
	return false;
}

bool cfg_parse_file(const char *s, const char **why)
{
	size_t n = strlen(s);
	if (n == 0 || (s[0] == '/' && s[n - 1] != '/' && n < PATH_MAX))
		return true;
	*why = "is not an absolute file path";
	return false;
}

bool cfg_parse_trust(const char *s, enum wl_trust *out, const char **why)
{
	if (trust_parse(s, out))
		return true;
	*why = "is not a trust level (Untrusted, Endpoint, AllowedIPs, Membership, DelegateTrust)";
	return false;
}

bool cfg_parse_key(const char *s, uint8_t key[static WL_KEY_LEN], const char **why)
{
	if (!key_from_base64(s, key)) {
		*why = "is not a public key (44 characters of base64 for 32 bytes)";
		return false;
	}
	/* Well-formed but no peer's: all zero is a placeholder or a wiped
	 * key, and X25519 with it gives an all-zero secret whatever our
	 * private key, which WireGuard and libsodium refuse to use. */
	uint8_t any = 0;
	for (size_t i = 0; i < WL_KEY_LEN; i++)
		any |= key[i];
	if (!any) {
		*why = "is the all-zero key, not a peer's public key";
		return false;
	}
	return true;
}

bool cfg_parse_name(const char *s, const char **why)
{
	/* Names travel in MemberMetadata facts; one that receivers need not
	 * accept would be advertised in vain, so refuse it up front. */
	if (member_name_sendable(s))
		return true;
	*why = "is not a peer name (1..16 bytes of printable UTF-8, no spaces)";
	return false;
}

bool cfg_name_sendable_form(const char *s, char out[static CFG_NAME_MAX])
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && o < META_NAME_SEND_MAX; p++)
		out[o++] = *p <= 0x20 || *p == 0x7f ? '_' : (char)*p;
	/* Cut at a character boundary: drop a multi-byte character that did
	 * not fit whole (the input is UTF-8: both parsers insist on it). */
	out[o] = '\0';
	while (o > 0 && !utf8_valid((const uint8_t *)out, o))
		out[--o] = '\0';
	return o > 0 && member_name_sendable(out);
}

/* RFC 1123 host name: dot-separated labels of letters, digits, '-' (not at
 * either end) and, as DNS in practice allows, '_'; at most 253 characters;
 * a final dot is allowed. */
static bool valid_dns_name(const char *h, size_t n)
{
	if (n > 0 && h[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return false;
	size_t label = 0;
	bool all_numeric = true;
	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? h[i] : '.';
		if (c == '.') {
			if (label == 0 || label > 63 || h[i - 1] == '-' || h[i - label] == '-')
				return false;
			label = 0;
			continue;
		}
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		bool digit = c >= '0' && c <= '9';
		if (!alpha && !digit && c != '-' && c != '_')
			return false;
		if (!digit)
			all_numeric = false;
		label++;
	}
	/* Dots and digits only would be a (bad) IPv4 address, not a name. */
	return !all_numeric;
}

/* A service name as /etc/services spells them: letters, digits, '-', '_'
 * (some entries have them), with a letter somewhere, at most 32 bytes. */
static bool service_name(const char *s)
{
	size_t n = strlen(s);
	bool alpha = false;
	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool a = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		if (!a && !(c >= '0' && c <= '9') && c != '-' && c != '_')
			return false;
		alpha |= a;
	}
	return alpha;
}

bool cfg_endpoint_port_is_name(const char *s)
{
	const char *colon = strrchr(s, ':');
	return colon && service_name(colon + 1);
}

/* The port of an endpoint: 1..65535, or a UDP service name looked up now,
 * once, as the original's net.LookupPort("udp", ...) did at load. Go looks
 * the name up in lower case; glibc matches it exactly, so both are tried. */
static bool parse_port_1(const char *s, uint16_t *port, const char **why)
{
	if (service_name(s)) {
		char lower[33], buf[1024];
		struct servent se, *r = NULL;
		size_t n = strlen(s);
		for (size_t i = 0; i <= n; i++)
			lower[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
		if ((getservbyname_r(s, "udp", &se, buf, sizeof(buf), &r) != 0 || !r) &&
		    (getservbyname_r(lower, "udp", &se, buf, sizeof(buf), &r) != 0 || !r)) {
			*why = "is not an endpoint (the port is no UDP service name in /etc/services)";
			return false;
		}
		*port = ntohs((uint16_t)r->s_port);
		if (*port != 0)
			return true;
	} else if (*s && cfg_parse_port(s, port, why) && *port != 0) {
		return true;
	}
	*why = "is not an endpoint (port must be 1..65535)";
	return false;
}

/* A zone after an IPv6 address: an interface name or index. */
static bool valid_zone(const char *z)
{
	const char *why;
	return *z && cfg_parse_iface(z, &why) && !strchr(z, '%');
}

bool cfg_parse_endpoint(const char *s, char host[static CFG_HOST_MAX], uint16_t *port,
			const char **why)
{
	const char *p;
	size_t hl;
	if (*s == '[') {
		const char *close = strchr(s, ']');
		struct in6_addr a6;
		hl = close ? (size_t)(close - s - 1) : 0;
		if (!close || close[1] != ':' || hl == 0 || hl >= CFG_HOST_MAX) {
			*why = "is not an endpoint ([IPv6]:port)";
			return false;
		}
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		/* A zone (fe80::1%eth0) is kept in host: getaddrinfo reads it. */
		char *zone = strchr(host, '%');
		if (zone)
			*zone = '\0';
		bool ok = inet_pton(AF_INET6, host, &a6) == 1;
		if (zone)
			*zone = '%';
		if (!ok) {
			*why = "is not an endpoint (bad IPv6 address in brackets)";
			return false;
		}
		if (zone && !valid_zone(zone + 1)) {
			*why = "is not an endpoint (bad zone after '%': an interface name or index)";
			return false;
		}
		p = close + 2;
	} else {
		const char *colon = strrchr(s, ':');
		hl = colon ? (size_t)(colon - s) : 0;
		if (!colon || hl == 0 || hl >= CFG_HOST_MAX) {
			*why = "is not an endpoint (host:port)";
			return false;
		}
		if (memchr(s, ':', hl)) {
			*why = "is not an endpoint (an IPv6 address needs brackets: [addr]:port)";
			return false;
		}
		memcpy(host, s, hl);
		host[hl] = '\0';
		struct in_addr a4;
		if (inet_pton(AF_INET, host, &a4) != 1 && !valid_dns_name(host, hl)) {
			*why = "is not an endpoint (host is neither an IP address nor a DNS name)";
			return false;
		}
		p = colon + 1;
	}
	return parse_port_1(p, port, why);
}

bool cfg_parse_cidr(const char *s, struct wl_cidr *out, const char **why)
{
	/* Like the original (Go's net.ParseCIDR) the prefix length is required. */
	if (!strchr(s, '/') || !wl_cidr_parse(s, out)) {
		*why = "is not a CIDR prefix (address/length)";
		return false;
	}
	wl_cidr_mask(out);
	return true;
}

static bool known_class(const char *name, size_t n)
{
	static const char *const classes[] = { "alnum", "alpha", "blank", "cntrl",
					       "digit", "graph", "lower", "print",
					       "punct", "space", "upper", "xdigit" };
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strlen(classes[i]) == n && memcmp(classes[i], name, n) == 0)
			return true;
	return false;
}

/* s points just past '['; returns the index past the closing ']', or 0. */
static size_t bracket_end(const char *s, const char **why)
{
	size_t i = 0;
	if (s[i] == '!' || s[i] == '^')
		i++;
	if (s[i] == ']') /* a leading ']' is a literal member */
		i++;
	for (; s[i]; i++) {
		if (s[i] == ']')
			return i + 1;
		if (s[i] == '[' && s[i + 1] == ':') {
			const char *end = strstr(s + i + 2, ":]");
			if (!end || !known_class(s + i + 2, (size_t)(end - (s + i + 2)))) {
				*why = "is not a glob (unknown [:class:])";
				return 0;
			}
			i = (size_t)(end - s) + 1;
		} else if (s[i] == '\\' && s[i + 1]) {
			i++;
		}
	}
	*why = "is not a glob ('[' without ']')";
	return 0;
}

bool cfg_parse_glob(const char *s, const char **why)
{
	if (*s == '\0') {
		*why = "is not a glob (empty)";
		return false;
	}
	for (size_t i = 0; s[i]; i++) {
		if (s[i] == '\\') {
			if (!s[i + 1]) {
				*why = "is not a glob (ends in a backslash)";
				return false;
			}
			i++;
		} else if (s[i] == '[') {
			size_t len = bracket_end(s + i + 1, why);
			if (len == 0)
				return false;
			i += len;
		}
	}
	return true;
}
