/* wirelink decode: parse (and optionally verify) wirelink datagrams, for
 * operators looking at captures and for tests. */
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "common/encoding.h"
#include "sys/jsonw.h"
#include "wire/autoaddr.h"
#include "wire/member_meta.h"
#include "wire/packet.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: wirelink decode [--json] [--key FILE] [FILE | -]\n"
		"       wirelink decode [--json] [--key FILE] --raw FILE\n"
		"\n"
		"Parses wirelink datagrams and prints the facts inside them.\n"
		"\n"
		"Input: one packet per line as hex (blank lines and lines starting with\n"
		"'#' are skipped) from FILE, or from standard input when FILE is '-' or\n"
		"absent; with --raw, FILE holds exactly one binary datagram.\n"
		"\n"
		"Options:\n"
		"  --key FILE   the recipient's private key (base64, as 'wg genkey' writes\n"
		"               it); every signature is verified against it\n"
		"  --json       one JSON object per packet:\n"
		"               {\"ok\",\"error\",\"attr\",\"signer\",\"signer_auto_address\",\n"
		"                \"verified\",\"facts\":[{\"attr\",\"name\",\"subject\",\"ttl\",\"value\"}]}\n"
		"  --raw FILE   read one binary datagram from FILE\n"
		"  -h, --help   this text\n"
		"\n"
		"Exit status: 0 if every packet parsed (and verified, with --key),\n"
		"1 otherwise, 2 on a usage error or unreadable input.\n");
}

struct decode_opts {
	bool json;
	bool have_key;
	uint8_t key[WL_KEY_LEN];
};

/* The outcome of one packet, gathered before printing in either format. */
struct decoded {
	bool framed;       /* packet_parse succeeded */
	struct packet pkt;
	int verified;      /* -1 not checked, 0 failed, 1 good */
	const char *error; /* first problem, NULL if none */
	size_t error_at;   /* byte offset of the problem */
	size_t n_facts;
	struct fact *facts;
};

static void decode_one(const uint8_t *buf, size_t len, const struct decode_opts *o,
		       struct decoded *d)
{
	const char *why = NULL;
	memset(d, 0, sizeof(*d));
	d->verified = -1;
	if (!packet_parse(buf, len, &d->pkt, &why)) {
		d->error = why;
		return;
	}
	d->framed = true;
	/* At most one fact per 35 bytes of inner data. */
	d->facts = calloc(d->pkt.inner_len / 35 + 1, sizeof(*d->facts));
	if (!d->facts) {
		d->error = "out of memory";
		return;
	}
	struct cursor c;
	packet_facts_begin(&d->pkt, &c);
	int r;
	while ((r = packet_next_fact(&c, &d->facts[d->n_facts], &why)) == 1)
		d->n_facts++;
	if (r < 0) {
		d->error = why;
		d->error_at = (size_t)(d->pkt.inner - buf) + c.pos;
	}
	if (o->have_key) {
		uint8_t shared[32];
		d->verified = group_shared_key(o->key, d->pkt.signer, shared) &&
			      packet_verify(&d->pkt, shared);
		sodium_memzero(shared, sizeof(shared));
		if (!d->verified && !d->error)
			d->error = "authentication failed: tag does not verify";
	}
}

static void json_meta(struct jsonw *w, const struct fact *f)
{
	struct member_meta m = { 0 };
	const char *why;
	member_meta_decode(f->value, f->value_len, &m, &why);
	const struct meta_entry *name = member_meta_get(&m, META_KEY_NAME);
	int basic = member_meta_basic(&m);
	jsonw_obj_begin(w);
	jsonw_key(w, "name");
	if (name)
		jsonw_strn(w, (const char *)name->data, name->len);
	else
		jsonw_null(w);
	jsonw_key(w, "basic");
	if (basic < 0)
		jsonw_null(w);
	else
		jsonw_bool(w, basic == 1);
	bool any_unknown = false;
	for (uint16_t i = 0; i < m.n; i++) {
		const struct meta_entry *e = &m.e[i];
		if (e->key == META_KEY_NAME || e->key == META_KEY_BASIC)
			continue;
		if (!any_unknown) {
			jsonw_key(w, "unknown");
			jsonw_obj_begin(w);
			any_unknown = true;
		}
		char key[3], hex[2 * FACT_VALUE_MAX + 1];
		jsonw_kv_str(w, hex_encode(&e->key, 1, key), hex_encode(e->data, e->len, hex));
	}
	if (any_unknown)
		jsonw_obj_end(w);
	jsonw_obj_end(w);
}

static void print_json(const struct decoded *d, const uint8_t *buf, size_t len)
{
	struct jsonw w;
	char b64[WL_KEY_B64_LEN], addr[WL_ADDR_STR_MAX];
	jsonw_init(&w, stdout);
	jsonw_obj_begin(&w);
	jsonw_kv_bool(&w, "ok", d->error == NULL);
	jsonw_kv_str(&w, "error", d->error);
	jsonw_key(&w, "attr");
	if (len > 0)
		jsonw_strn(&w, (const char *)buf, 1);
	else
		jsonw_null(&w);
	if (d->framed) {
		struct wl_addr a;
		autoaddr_of(d->pkt.signer, &a);
		jsonw_kv_str(&w, "signer", key_to_base64(d->pkt.signer, b64));
		jsonw_kv_str(&w, "signer_auto_address", wl_addr_str(&a, addr));
	} else {
		jsonw_kv_null(&w, "signer");
		jsonw_kv_null(&w, "signer_auto_address");
	}
	jsonw_key(&w, "verified");
	if (d->verified < 0)
		jsonw_null(&w);
	else
		jsonw_bool(&w, d->verified == 1);
	jsonw_key(&w, "facts");
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < d->n_facts; i++) {
		const struct fact *f = &d->facts[i];
		char attr[2] = { (char)f->attr, 0 };
		jsonw_obj_begin(&w);
		jsonw_kv_str(&w, "attr", attr);
		jsonw_kv_str(&w, "name", fact_attr_name(f->attr));
		jsonw_kv_str(&w, "subject", key_to_base64(f->subject, b64));
		jsonw_kv_uint(&w, "ttl", f->ttl);
		jsonw_key(&w, "value");
		if (f->attr == ATTR_MEMBER_META || f->attr == ATTR_MEMBER) {
			json_meta(&w, f);
		} else {
			char value[FACT_VALUE_STR_MAX];
			jsonw_str(&w, fact_value_str(f, value, sizeof(value)));
		}
		jsonw_obj_end(&w);
	}
	jsonw_arr_end(&w);
	jsonw_obj_end(&w);
}

static void print_text(const struct decoded *d, unsigned long index)
{
	char b64[WL_KEY_B64_LEN], addr[WL_ADDR_STR_MAX];
	if (!d->framed) {
		printf("packet %lu: error: %s\n", index, d->error);
		return;
	}
	struct wl_addr a;
	autoaddr_of(d->pkt.signer, &a);
	const char *state = d->verified < 0 ? "not verified (no --key)"
			    : d->verified ? "signature verified"
					  : "SIGNATURE INVALID";
	printf("packet %lu: SignedGroup from %s (%s), %zu fact%s, %s\n", index,
	       key_to_base64(d->pkt.signer, b64), wl_addr_str(&a, addr), d->n_facts,
	       d->n_facts == 1 ? "" : "s", state);
	for (size_t i = 0; i < d->n_facts; i++) {
		const struct fact *f = &d->facts[i];
		char value[FACT_VALUE_STR_MAX];
		printf("  %-14s ttl=%-5u subject=%s %s\n", fact_attr_name(f->attr), f->ttl,
		       key_to_base64(f->subject, b64), fact_value_str(f, value, sizeof(value)));
	}
	if (d->error && d->verified != 0)
		printf("  error at byte %zu: %s\n", d->error_at, d->error);
	else if (d->error)
		printf("  error: %s\n", d->error);
}

static bool report(const uint8_t *buf, size_t len, const struct decode_opts *o,
		   unsigned long index)
{
	struct decoded d;
	decode_one(buf, len, o, &d);
	if (o->json)
		print_json(&d, buf, len);
	else
		print_text(&d, index);
	free(d.facts);
	return d.error == NULL;
}

static int read_key_file(const char *path, uint8_t key[static WL_KEY_LEN])
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (!f) {
		fprintf(stderr, "wirelink decode: cannot open key file %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	char line[128] = { 0 };
	bool got = fgets(line, sizeof(line), f) != NULL;
	if (f != stdin)
		fclose(f);
	bool ok = got && key_from_base64(line, key);
	sodium_memzero(line, sizeof(line));
	if (!ok) {
		fprintf(stderr, "wirelink decode: %s does not hold a base64 private key\n", path);
		return -1;
	}
	return 0;
}

static int decode_raw(const char *path, const struct decode_opts *o)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "wirelink decode: cannot open %s: %s\n", path, strerror(errno));
		return 2;
	}
	/* One datagram: anything up to 64 KiB (a UDP payload's limit). */
	static uint8_t buf[65536];
	size_t n = fread(buf, 1, sizeof(buf), f);
	bool too_big = !feof(f);
	fclose(f);
	if (too_big) {
		fprintf(stderr, "wirelink decode: %s is larger than one datagram (64 KiB)\n", path);
		return 2;
	}
	return report(buf, n, o, 1) ? 0 : 1;
}

static int decode_lines(const char *path, const struct decode_opts *o)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (!f) {
		fprintf(stderr, "wirelink decode: cannot open %s: %s\n", path, strerror(errno));
		return 2;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	unsigned long index = 0, lineno = 0;
	bool all_ok = true, bad_input = false;
	while ((got = getline(&line, &cap, f)) >= 0) {
		lineno++;
		char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		size_t len = strcspn(s, " \t\r\n");
		if (s[0] == '#' || (len == 0 && s[0] != '\0' && strchr("\r\n", s[0])))
			continue;
		uint8_t *buf = malloc(len / 2 + 1);
		long n = buf ? hex_decode(s, len, buf, len / 2 + 1) : -1;
		index++;
		if (n < 0) {
			fprintf(stderr, "wirelink decode: %s:%lu: not a hex string\n", path, lineno);
			bad_input = true;
		} else if (!report(buf, (size_t)n, o, index)) {
			all_ok = false;
		}
		free(buf);
	}
	free(line);
	if (f != stdin)
		fclose(f);
	if (bad_input)
		return 2;
	return all_ok ? 0 : 1;
}

int cmd_decode(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "key", required_argument, NULL, 'k' },
		{ "raw", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct decode_opts o = { 0 };
	const char *raw = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "jk:r:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': o.json = true; break;
		case 'k':
			if (read_key_file(optarg, o.key) < 0)
				return 2;
			o.have_key = true;
			break;
		case 'r': raw = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	int rest = argc - optind;
	int rc;
	if (raw && rest == 0)
		rc = decode_raw(raw, &o);
	else if (!raw && rest <= 1)
		rc = decode_lines(rest ? argv[optind] : "-", &o);
	else {
		usage(stderr);
		rc = 2;
	}
	sodium_memzero(o.key, sizeof(o.key));
	return rc;
}
