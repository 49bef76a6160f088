/* flood_tool: a member that floods (issue 10, "a member cannot hurt the
 * network"), for tests/netns/test_flood.sh and bench/flood.sh; not
 * installed. It signs datagrams of novel facts with a real member's key and
 * sends them from that member's auto address through its WireGuard
 * interface, so every one of them passes the receiver's checks (source
 * address, signature) and lands in the engine: what an ordinary leaf with
 * a bad daemon could do. It links only the pure core library (the codec),
 * as the codec tests do; --help says what it sends.
 *
 * Exit status 0 after the flood (its last line: "sent=N failed=N ..."), 1
 * if it cannot start (key, interface, address), 2 on usage errors. */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "wire/autoaddr.h"
#include "wire/pack.h"
#include "wire/packet.h"

#define MAX_TARGETS 8
#define MAX_ABOUT 8

static const char usage[] =
	"usage: flood_tool --key FILE --iface IFACE --to PUBKEY [--to PUBKEY..]\n"
	"                  [--about PUBKEY..] [--port N] [--rate N] [--seconds N]\n"
	"                  [--ep-net PREFIX] [--cidr PREFIX]\n"
	"\n"
	"Sends signed wirelink datagrams of novel facts as the member whose private\n"
	"key is in FILE (a WireGuard key, base64), from its auto address on IFACE,\n"
	"to the auto address of each --to key (SPEC §1) at --port; run it in the\n"
	"member's network namespace, beside its WireGuard interface IFACE.\n"
	"\n"
	"Every datagram is one full SignedGroup (up to 1212 bytes) of new facts, all\n"
	"with TTL 65535 (longer than FactTTL, so receivers must cut it):\n"
	"  - an AllowedCidrV4 about the member itself: a random /32 inside --cidr\n"
	"    (default 10.99.0.0/24: a claim on other peers' tunnel addresses);\n"
	"  - a MemberMetadata about a random key (a made-up member);\n"
	"  - an EndpointV4 about each --about key (other peers, at most 8);\n"
	"  - EndpointV4 facts about the member itself, as many as fit;\n"
	"endpoints are random hosts of --ep-net (default 198.51.100.0/24) at random\n"
	"ports 1024-65535.\n"
	"\n"
	"  --key FILE        the member's private key\n"
	"  --iface IFACE     the member's WireGuard interface (scope of the addresses)\n"
	"  --to PUBKEY       a receiver's public key (up to 8; each gets --rate)\n"
	"  --about PUBKEY    a subject for endpoint facts besides the member itself\n"
	"  --port N          the receivers' wirelink port (default 51821)\n"
	"  --rate N          datagrams per second to each receiver (default 1000)\n"
	"  --seconds N       how long to flood (default 10; fractions allowed)\n"
	"  --ep-net PREFIX   IPv4 prefix of the made-up endpoints\n"
	"  --cidr PREFIX     IPv4 prefix of the made-up AllowedCidr facts\n"
	"  -h, --help        this text\n"
	"\n"
	"Paced to the rate (datagrams go out at even intervals, a late one at once).\n"
	"At the end it prints one line: sent=N failed=N facts=N seconds=S rate=R\n"
	"(datagrams handed to the kernel, sends that failed, facts in the datagrams\n"
	"sent, the flood's length, datagrams per second per receiver achieved).\n";

struct target {
	uint8_t pub[WL_KEY_LEN];
	uint8_t key[32]; /* the shared key of the member and this receiver */
	struct sockaddr_in6 sa;
};

struct flood {
	uint8_t priv[WL_KEY_LEN], pub[WL_KEY_LEN];
	struct target to[MAX_TARGETS];
	size_t n_to;
	uint8_t about[MAX_ABOUT][WL_KEY_LEN];
	size_t n_about;
	struct wl_cidr ep_net, cidr;
	uint64_t rng;
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A random address inside an IPv4 prefix. */
static void random_in(struct flood *fl, const struct wl_cidr *net, struct wl_addr *out)
{
	uint32_t base = (uint32_t)net->addr.bytes[0] << 24 | (uint32_t)net->addr.bytes[1] << 16 |
			(uint32_t)net->addr.bytes[2] << 8 | net->addr.bytes[3];
	uint32_t host = net->prefix >= 32 ? 0 : 0xffffffffu >> net->prefix;
	uint32_t a = (base & ~host) | ((uint32_t)next_rand(&fl->rng) & host);
	uint8_t v4[4] = { (uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a };
	wl_addr_from_v4(out, v4);
}

static void random_endpoint(struct flood *fl, const uint8_t subject[WL_KEY_LEN], struct fact *f)
{
	struct wl_endpoint ep;
	memset(&ep, 0, sizeof(ep));
	random_in(fl, &fl->ep_net, &ep.addr);
	ep.port = (uint16_t)(1024 + next_rand(&fl->rng) % (65536 - 1024));
	fact_make_endpoint(f, subject, &ep, WIRE_TTL_MAX);
}

/* One group of novel facts; returns how many it holds. */
static size_t fill(struct flood *fl, struct packer *pk)
{
	struct fact f;
	packer_reset(pk);
	struct wl_cidr c = { .prefix = 32 };
	random_in(fl, &fl->cidr, &c.addr);
	fact_make_cidr(&f, fl->pub, &c, WIRE_TTL_MAX);
	packer_add(pk, &f);
	uint8_t stranger[WL_KEY_LEN];
	randombytes_buf(stranger, sizeof(stranger));
	fact_make_member_meta(&f, stranger, NULL, -1, WIRE_TTL_MAX);
	packer_add(pk, &f);
	for (size_t i = 0; i < fl->n_about; i++) {
		random_endpoint(fl, fl->about[i], &f);
		packer_add(pk, &f);
	}
	for (;;) {
		random_endpoint(fl, fl->pub, &f);
		if (!packer_add(pk, &f))
			break;
	}
	return pk->count;
}

static bool read_key_file(const char *path, uint8_t key[WL_KEY_LEN])
{
	FILE *fp = fopen(path, "r");
	if (!fp)
		return false;
	char buf[128];
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return key_from_base64(buf, key);
}

static double arg_num(const char *opt, const char *s, double lo, double hi)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi)) {
		fprintf(stderr, "flood_tool: %s: bad value '%s' (%g..%g)\n", opt, s, lo, hi);
		exit(2);
	}
	return v;
}

static bool arg_prefix4(const char *s, struct wl_cidr *out)
{
	return wl_cidr_parse(s, out) && out->addr.family == AF_INET;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },   { "iface", required_argument, NULL, 'i' },
		{ "to", required_argument, NULL, 't' },    { "about", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },  { "rate", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' }, { "ep-net", required_argument, NULL, 'e' },
		{ "cidr", required_argument, NULL, 'c' },  { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct flood fl;
	const char *key_path = NULL, *iface = NULL;
	double rate = 1000, seconds = 10;
	unsigned port = 51821;
	wl_cidr_parse("198.51.100.0/24", &fl.ep_net);
	wl_cidr_parse("10.99.0.0/24", &fl.cidr);
	if (sodium_init() < 0) {
		fprintf(stderr, "flood_tool: libsodium did not initialise\n");
		return 1;
	}
	int o;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'k': key_path = optarg; break;
		case 'i': iface = optarg; break;
		case 't':
			if (fl.n_to == MAX_TARGETS || !key_from_base64(optarg, fl.to[fl.n_to].pub)) {
				fprintf(stderr, "flood_tool: --to: bad or too many keys: '%s'\n", optarg);
				return 2;
			}
			fl.n_to++;
			break;
		case 'a':
			if (fl.n_about == MAX_ABOUT || !key_from_base64(optarg, fl.about[fl.n_about])) {
				fprintf(stderr, "flood_tool: --about: bad or too many keys: '%s'\n", optarg);
				return 2;
			}
			fl.n_about++;
			break;
		case 'p': port = (unsigned)arg_num("--port", optarg, 1, 65535); break;
		case 'r': rate = arg_num("--rate", optarg, 1, 1000000); break;
		case 's': seconds = arg_num("--seconds", optarg, 0.001, 86400); break;
		case 'e':
		case 'c':
			if (!arg_prefix4(optarg, o == 'e' ? &fl.ep_net : &fl.cidr)) {
				fprintf(stderr, "flood_tool: %s: not an IPv4 prefix: '%s'\n",
					o == 'e' ? "--ep-net" : "--cidr", optarg);
				return 2;
			}
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind < argc || !key_path || !iface || fl.n_to == 0) {
		fprintf(stderr, "flood_tool: --key, --iface and at least one --to are needed\n\n%s",
			usage);
		return 2;
	}
	if (!read_key_file(key_path, fl.priv)) {
		fprintf(stderr, "flood_tool: %s: cannot read a base64 private key\n", key_path);
		return 1;
	}
	crypto_scalarmult_base(fl.pub, fl.priv);
	unsigned idx = if_nametoindex(iface);
	if (!idx) {
		fprintf(stderr, "flood_tool: no interface %s here\n", iface);
		return 1;
	}

	/* From our auto address on the interface: the only source a receiver
	 * takes a datagram signed with our key from. */
	struct wl_addr a;
	struct sockaddr_in6 src = { .sin6_family = AF_INET6, .sin6_scope_id = idx };
	autoaddr_of(fl.pub, &a);
	memcpy(&src.sin6_addr, a.bytes, 16);
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
		char s[WL_ADDR_STR_MAX];
		fprintf(stderr, "flood_tool: bind [%s%%%s]: %s\n", wl_addr_str(&a, s), iface,
			strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < fl.n_to; i++) {
		struct target *t = &fl.to[i];
		if (!group_shared_key(fl.priv, t->pub, t->key)) {
			fprintf(stderr, "flood_tool: --to key %zu is of low order\n", i + 1);
			return 1;
		}
		autoaddr_of(t->pub, &a);
		t->sa = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
					       .sin6_scope_id = idx };
		memcpy(&t->sa.sin6_addr, a.bytes, 16);
	}
	randombytes_buf(&fl.rng, sizeof(fl.rng));
	fl.rng |= 1;

	/* Datagram i goes out at start + i / (rate × receivers), round robin. */
	const double total = rate * (double)fl.n_to;
	const int64_t start = mono_ns(), end = start + (int64_t)(seconds * 1e9);
	uint64_t sent = 0, failed = 0, facts = 0;
	static struct packer pk;
	uint8_t buf[WIRE_MAX_DATAGRAM], nonce[GROUP_NONCE_LEN];
	for (uint64_t i = 0;; i++) {
		int64_t due = start + (int64_t)((double)i * 1e9 / total);
		if (due >= end)
			break;
		if (due > mono_ns()) {
			struct timespec ts = { .tv_sec = due / 1000000000, .tv_nsec = due % 1000000000 };
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
		}
		const struct target *t = &fl.to[i % fl.n_to];
		size_t n = fill(&fl, &pk);
		randombytes_buf(nonce, sizeof(nonce));
		size_t len = group_seal(buf, sizeof(buf), fl.pub, t->key, nonce, pk.inner, pk.len);
		if (len && sendto(fd, buf, len, 0, (const struct sockaddr *)&t->sa, sizeof(t->sa)) ==
				   (ssize_t)len) {
			sent++;
			facts += n;
		} else {
			failed++;
		}
	}
	double took = (double)(mono_ns() - start) / 1e9;
	close(fd);
	sodium_memzero(fl.priv, sizeof(fl.priv));
	printf("sent=%llu failed=%llu facts=%llu seconds=%.2f rate=%.0f\n", (unsigned long long)sent,
	       (unsigned long long)failed, (unsigned long long)facts, took,
	       (double)sent / took / (double)fl.n_to);
	return 0;
}
