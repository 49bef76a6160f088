/* `wirelink config generate` (config_gen.h): wg-quick comments -> names,
 * and a device snapshot -> a commented YAML configuration. Every value
 * written as YAML goes through the same validator the file parser uses,
 * and one it would refuse is written as a comment instead, so the output
 * always loads. */
#include "config/config_gen.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "common/peerlabel.h"
#include "common/trust.h"
#include "config/config_internal.h"

/* ---- wg-quick comments ---- */

/* One line of the file, white space trimmed at both ends. */
struct line {
	const char *s;
	size_t n;
};

static struct line trim(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return (struct line){ s, n };
}

static bool is_comment(struct line l) { return l.n && (l.s[0] == '#' || l.s[0] == ';'); }

/* The comment's text without its markers: "## laptop" -> "laptop". */
static struct line comment_text(struct line l)
{
	while (l.n && (l.s[0] == '#' || l.s[0] == ';'))
		l.s++, l.n--;
	return trim(l.s, l.n);
}

/* "Name = X", "Name: X", "friendly_name = X" -> X; else n = 0. */
static struct line named(struct line c)
{
	static const char *const keys[] = { "name", "friendly_name", "friendlyname" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t k = strlen(keys[i]);
		if (c.n > k && strncasecmp(c.s, keys[i], k) == 0) {
			struct line rest = trim(c.s + k, c.n - k);
			if (rest.n && (rest.s[0] == '=' || rest.s[0] == ':'))
				return trim(rest.s + 1, rest.n - 1);
		}
	}
	return (struct line){ c.s, 0 };
}

/* "PublicKey = base64" -> the key. */
static bool public_key_line(struct line l, uint8_t key[static WL_KEY_LEN])
{
	const char *k = "publickey";
	size_t kn = strlen(k);
	if (l.n <= kn || strncasecmp(l.s, k, kn) != 0)
		return false;
	struct line rest = trim(l.s + kn, l.n - kn);
	if (!rest.n || rest.s[0] != '=')
		return false;
	rest = trim(rest.s + 1, rest.n - 1);
	char b64[WL_KEY_B64_LEN + 8];
	if (rest.n >= sizeof(b64))
		return false;
	memcpy(b64, rest.s, rest.n);
	b64[rest.n] = '\0';
	return key_from_base64(b64, key);
}

/* What one [Peer] section has told so far. */
struct section {
	bool peer;       /* a [Peer] section (others are ignored) */
	bool has_key;
	uint8_t key[WL_KEY_LEN];
	struct line explicit_name; /* "# Name = X" */
	struct line first_comment; /* any other comment inside */
	struct line above;         /* the comment right above [Peer] */
};

static struct line best_name(const struct section *sec)
{
	if (sec->explicit_name.n)
		return sec->explicit_name;
	if (sec->first_comment.n)
		return sec->first_comment;
	return sec->above;
}

static size_t finish_section(const struct section *sec, struct cfg_gen_name *out, size_t cap,
			     size_t n)
{
	struct line name = best_name(sec);
	if (!sec->peer || !sec->has_key || !name.n || n >= cap)
		return n;
	struct cfg_gen_name *g = &out[n];
	memcpy(g->key, sec->key, WL_KEY_LEN);
	size_t len = name.n < sizeof(g->name) - 1 ? name.n : sizeof(g->name) - 1;
	memcpy(g->name, name.s, len);
	g->name[len] = '\0';
	const char *why;
	/* Cut, or holding a NUL byte: not the name the comment says. */
	g->valid = len == name.n && !memchr(name.s, '\0', name.n) && cfg_parse_name(g->name, &why);
	if (!g->name[0]) /* a comment starting with NUL: nothing to show */
		return n;
	return n + 1;
}

size_t cfg_gen_wgquick_names(const char *text, size_t len, struct cfg_gen_name *out, size_t cap)
{
	struct section sec = { 0 };
	struct line prev = { NULL, 0 }; /* the previous line, trimmed */
	size_t n = 0;
	for (size_t at = 0; at < len;) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t ll = nl ? (size_t)(nl - (text + at)) : len - at;
		struct line l = trim(text + at, ll);
		at += ll + (nl ? 1 : 0);
		if (l.n && l.s[0] == '[') {
			n = finish_section(&sec, out, cap, n);
			sec = (struct section){ .peer = l.n == 6 && strncasecmp(l.s, "[Peer]", 6) == 0 };
			if (sec.peer && is_comment(prev))
				sec.above = comment_text(prev);
		} else if (sec.peer && is_comment(l)) {
			struct line c = comment_text(l);
			struct line nm = named(c);
			if (nm.n && !sec.explicit_name.n)
				sec.explicit_name = nm;
			else if (c.n && !sec.first_comment.n && !nm.n)
				sec.first_comment = c;
		} else if (sec.peer && !sec.has_key) {
			sec.has_key = public_key_line(l, sec.key);
		}
		prev = l;
	}
	return finish_section(&sec, out, cap, n);
}

/* ---- the configuration ---- */

/* The length of a UTF-8 sequence at s that YAML will not take as it is
 * inside a quoted scalar (0 if none), its code point in *cp: the C1
 * controls, NEL and the Unicode line and paragraph separators (which YAML
 * reads as line breaks), the byte-order mark and the non-characters
 * U+FFFE/U+FFFF (not printable in YAML). */
static size_t yaml_unprintable(const unsigned char *s, unsigned *cp)
{
	if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f) {
		*cp = s[1];
		return 2;
	}
	if (s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9)) {
		*cp = 0x2000u | (s[2] - 0x80u);
		return 3;
	}
	if (s[0] == 0xef && ((s[1] == 0xbb && s[2] == 0xbf) ||
			     (s[1] == 0xbf && (s[2] == 0xbe || s[2] == 0xbf)))) {
		*cp = 0xf000u | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu);
		return 3;
	}
	return 0;
}

/* A YAML double-quoted scalar: quotes and backslashes escaped, control
 * bytes as \xNN. Other bytes pass as they are when the text is known to
 * be UTF-8 (a valid Name), except what YAML would read as a line break or
 * refuse (yaml_unprintable, as \uXXXX); otherwise (ascii) they are
 * escaped too, as a YAML file must be UTF-8 throughout, comments
 * included. */
static void yaml_str(FILE *f, const char *s, bool ascii)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		unsigned cp;
		size_t n;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f || (ascii && c >= 0x80))
			fprintf(f, "\\x%02x", c);
		else if (!ascii && (n = yaml_unprintable((const unsigned char *)s, &cp)) > 0) {
			fprintf(f, "\\u%04x", cp);
			s += n - 1;
		} else
			fputc(c, f);
	}
	fputc('"', f);
}

/* How many addresses a prefix covers, as host bits (0 for a host route). */
static int host_bits(const struct wl_cidr *c)
{
	return (c->addr.family == AF_INET ? 32 : 128) - c->prefix;
}

/* wirelink's own auto addresses (fe80::/10): the daemon manages them. */
static bool link_local(const struct wl_cidr *c)
{
	return c->addr.family == AF_INET6 && c->addr.bytes[0] == 0xfe &&
	       (c->addr.bytes[1] & 0xc0) == 0x80;
}

static int widest(const struct wg_peer *p)
{
	int best = -1;
	for (size_t i = 0; i < p->n_allowed; i++)
		if (!link_local(&p->allowed_ips[i]) && host_bits(&p->allowed_ips[i]) > best)
			best = host_bits(&p->allowed_ips[i]);
	return best;
}

/* The peer that looks like a hub: one with an endpoint and the widest
 * AllowedIPs, wider than a single address. -1 if none. */
static long find_hub(const struct wg_device *dev)
{
	long hub = -1;
	int best = 0;
	for (size_t i = 0; i < dev->n_peers; i++) {
		int w = widest(&dev->peers[i]);
		if (dev->peers[i].has_endpoint && w > best) {
			best = w;
			hub = (long)i;
		}
	}
	return hub;
}

static const struct cfg_gen_name *name_of(const struct cfg_gen_input *in,
					  const uint8_t key[static WL_KEY_LEN])
{
	for (size_t i = 0; i < in->n_names; i++)
		if (memcmp(in->names[i].key, key, WL_KEY_LEN) == 0)
			return &in->names[i];
	return NULL;
}

/* Prints n bytes of a comment, any byte but printable ASCII as '?': the
 * text may hold a path or command line from anywhere, and a line break
 * in it would end the comment (or invalid UTF-8 spoil the file). */
static int comment_bytes(FILE *f, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fputc(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?', f);
	return (int)n;
}

/* A peer as log lines name it (common/peerlabel.h), for comments. */
static const char *label(const struct cfg_gen_input *in, const uint8_t key[static WL_KEY_LEN],
			 char buf[static WL_PEER_LABEL_MAX])
{
	const struct cfg_gen_name *nm = name_of(in, key);
	return wl_peer_label(key, nm && nm->valid ? nm->name : NULL, buf);
}

static void peer_entry(FILE *f, const struct cfg_gen_input *in, const struct wg_peer *p,
		       bool is_hub)
{
	char b64[WL_KEY_B64_LEN], lb[WL_PEER_LABEL_MAX];
	const char *why;
	const struct cfg_gen_name *nm = name_of(in, p->public_key);
	if (is_hub) {
		/* A name may hold what YAML reads as a line break (NEL, U+2028):
		 * in a comment it goes through comment_bytes like any text. */
		const char *hub = label(in, p->public_key, lb);
		fputs("  # ", f);
		comment_bytes(f, hub, strlen(hub));
		fputs(" is the hub: trusted with Membership, so the members,\n"
		      "  # endpoints and AllowedIPs it tells of are believed.\n", f);
	}
	fputs("  - PublicKey: ", f);
	yaml_str(f, key_to_base64(p->public_key, b64), true);
	fputc('\n', f);
	if (nm && nm->valid) {
		fputs("    Name: ", f);
		yaml_str(f, nm->name, false); /* valid: printable UTF-8 */
		fputc('\n', f);
	} else if (nm) {
		fputs("    # Name: not a wirelink name (1..16 bytes, no spaces): ", f);
		yaml_str(f, nm->name, true);
		fputc('\n', f);
	}
	if (is_hub)
		fprintf(f, "    Trust: %s\n", trust_name(TRUST_MEMBERSHIP));
	if (p->has_endpoint) {
		char ep[WL_ENDPOINT_STR_MAX], host[CFG_HOST_MAX];
		uint16_t port;
		wl_endpoint_str(&p->endpoint, ep);
		bool ok = cfg_parse_endpoint(ep, host, &port, &why);
		fprintf(f, "    %sEndpoints: [", ok ? "" : "# ");
		yaml_str(f, ep, true);
		fputs("]", f);
		if (!ok)
			fprintf(f, " (%s)", why);
		else if (!is_hub)
			fputs("  # where the device has it now; drop it if it roams", f);
		fputc('\n', f);
	}
	bool any = false;
	for (size_t i = 0; i < p->n_allowed; i++) {
		char c[WL_CIDR_STR_MAX];
		struct wl_cidr parsed;
		const struct wl_cidr *a = &p->allowed_ips[i];
		if (link_local(a) || !cfg_parse_cidr(wl_cidr_str(a, c), &parsed, &why))
			continue;
		fputs(any ? ", " : "    AllowedIPs: [", f);
		yaml_str(f, c, true);
		any = true;
	}
	if (any)
		fputs("]\n", f);
}

/* Which role, and the comment that says why. hub_index: the peer trusted
 * as the hub on a leaf, -1 for none. */
static int decide(const struct cfg_gen_input *in, bool *router, long *hub_index, char *why,
		  size_t whylen, const char **err)
{
	const struct wg_device *dev = in->dev;
	long guess = find_hub(dev);
	*hub_index = -1;
	if (in->has_hub_key) {
		for (size_t i = 0; i < dev->n_peers; i++)
			if (memcmp(dev->peers[i].public_key, in->hub_key, WL_KEY_LEN) == 0)
				*hub_index = (long)i;
		if (*hub_index < 0) {
			*err = "--hub-key names no peer of the device";
			return -1;
		}
		*router = false;
		snprintf(why, whylen, "a leaf, its hub given by --hub-key.");
		return 0;
	}
	char lb[WL_PEER_LABEL_MAX];
	switch (in->role) {
	case CFG_GEN_HUB:
		*router = true;
		snprintf(why, whylen, "the hub (--hub): a router, no peer trusted more than the "
				      "default.");
		return 0;
	case CFG_GEN_LEAF:
		*router = false;
		*hub_index = guess;
		if (guess >= 0)
			snprintf(why, whylen, "a leaf (--leaf); its hub is %s, the peer with an "
					      "endpoint and the widest AllowedIPs.",
				 label(in, dev->peers[guess].public_key, lb));
		else
			snprintf(why, whylen, "a leaf (--leaf), but no peer looks like its hub (none "
					      "has an endpoint and AllowedIPs wider than one address): "
					      "give --hub-key KEY, or set Trust on the hub below.");
		return 0;
	case CFG_GEN_GUESS:
		break;
	}
	*router = guess < 0;
	*hub_index = guess;
	if (guess >= 0)
		snprintf(why, whylen, "guessed: a leaf, because peer %s has an endpoint and "
				      "AllowedIPs wider than one address, so it looks like a hub. "
				      "Say --hub or --leaf to choose.",
			 label(in, dev->peers[guess].public_key, lb));
	else
		snprintf(why, whylen, "guessed: the hub (a router), because no peer has both an "
				      "endpoint and AllowedIPs wider than one address. Say --hub or "
				      "--leaf to choose.");
	return 0;
}

/* A '#' comment, wrapped at about 76 columns. */
static void comment(FILE *f, const char *text)
{
	int col = 0;
	for (const char *p = text; *p;) {
		while (*p == ' ')
			p++;
		size_t wl = strcspn(p, " ");
		if (!wl)
			break;
		if (col && col + 1 + (int)wl > 76) {
			fputc('\n', f);
			col = 0;
		}
		if (!col)
			col = fprintf(f, "#");
		col += fprintf(f, " ") + comment_bytes(f, p, wl);
		p += wl;
	}
	if (col)
		fputc('\n', f);
}

int cfg_gen_write(FILE *f, const struct cfg_gen_input *in, const char **err)
{
	bool router;
	long hub;
	char why[400], line[512];
	if (decide(in, &router, &hub, why, sizeof(why), err) < 0)
		return -1;
	snprintf(line, sizeof(line), "wirelink configuration for %s, made by \"%s\" (wirelink %s) "
				     "from the device as it was%s%s.",
		 in->iface, in->command, in->version, in->names_from ? " and names in " : "",
		 in->names_from ? in->names_from : "");
	comment(f, line);
	snprintf(line, sizeof(line), "Save it as " CONFIG_DEFAULT_PATH "/wirelink.%s.yaml and check "
				     "it with: wirelink --iface %s --check-config. Every key: man "
				     "wirelink.json, or wirelink --help.",
		 in->iface, in->iface);
	comment(f, line);
	fputs("#\n", f);
	snprintf(line, sizeof(line), "This node: %s", why);
	comment(f, line);
	fprintf(f, "Router: %s\n", router ? "true" : "false");
	fprintf(f, "# Port: 0        # wirelink's UDP port in the tunnel; 0: WireGuard's "
		   "listen port + 1 (%u)\n",
		(unsigned)(in->dev->listen_port + 1u) & 0xffffu);
	if (!router)
		fputs("# PortMapping: true   # ask the NAT for a port mapping (PCP, NAT-PMP, UPnP)\n",
		      f);
	fputs("# HideIfaces: [\"docker*\", \"veth*\"]   # addresses never offered as endpoints\n",
	      f);
	if (in->dev->n_peers == 0) {
		fputs("# The device has no peers yet.\nPeers: []\n", f);
		return 0;
	}
	fputs("Peers:\n", f);
	for (size_t i = 0; i < in->dev->n_peers; i++)
		peer_entry(f, in, &in->dev->peers[i], !router && (long)i == hub);
	return 0;
}
