/* wirelink config generate's pure parts (config/config_gen.h): names from
 * wg-quick comments, and a generated configuration that loads through
 * config_load with the meaning the device and the role call for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/config_gen.h"
#include "harness.h"

/* Deterministic keys: key i is 32 bytes of (i + 1), except the first. */
static void key_n(uint8_t key[static WL_KEY_LEN], int i)
{
	memset(key, i + 1, WL_KEY_LEN);
	key[0] = 0x40;
}

static const char *b64_n(int i, char out[static WL_KEY_B64_LEN])
{
	uint8_t k[WL_KEY_LEN];
	key_n(k, i);
	return key_to_base64(k, out);
}

static void add_cidr(struct wg_peer *p, const char *s)
{
	struct wl_cidr c;
	CHECK(wl_cidr_parse(s, &c));
	CHECK_EQ(wg_peer_add_allowed(p, &c), 0);
}

/* A leaf's view: peer 0 is the hub (endpoint, a /24), peer 1 a laptop
 * (a /32, learned endpoint), peer 2 a phone without endpoint. */
static struct wg_device *leaf_device(void)
{
	struct wg_device *d = wg_device_new("wgt0");
	uint8_t k[WL_KEY_LEN];
	d->listen_port = 51820;
	key_n(k, 0);
	struct wg_peer *p = wg_device_add_peer(d, k);
	p->has_endpoint = true;
	CHECK(wl_endpoint_parse("203.0.113.1:51820", &p->endpoint));
	add_cidr(p, "10.99.0.0/24");
	add_cidr(p, "fe80::1/128"); /* wirelink's auto address: left out */
	key_n(k, 1);
	p = wg_device_add_peer(d, k);
	p->has_endpoint = true;
	CHECK(wl_endpoint_parse("[2001:db8::7]:40000", &p->endpoint));
	add_cidr(p, "10.99.0.3/32");
	add_cidr(p, "fd00:99::3/128");
	key_n(k, 2);
	p = wg_device_add_peer(d, k);
	add_cidr(p, "10.99.0.4/32");
	return d;
}

static char *generate(const struct cfg_gen_input *in)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *why = NULL;
	int rc = cfg_gen_write(f, in, &why);
	fclose(f);
	CHECK_MSG(rc == 0, "cfg_gen_write: %s", why ? why : "?");
	return buf;
}

/* Loads text as DIR/wirelink.wgt0.yaml through config_load. */
static struct wl_config *load(const char *text)
{
	char dir[] = "/tmp/wl-confgen.XXXXXX";
	if (!mkdtemp(dir)) {
		CHECK_MSG(0, "mkdtemp");
		return NULL;
	}
	char path[128];
	snprintf(path, sizeof(path), "%s/wirelink.wgt0.yaml", dir);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	char *argv[] = { "wirelink", "--iface", "wgt0", "--config-path", dir, NULL };
	char *envp[] = { NULL };
	struct wl_config *cfg = NULL;
	char err[512] = "";
	int rc = config_load(5, argv, envp, &cfg, err, sizeof(err));
	CHECK_MSG(rc == CONFIG_OK, "does not load: %s\n%s", err, text);
	unlink(path);
	rmdir(dir);
	return cfg;
}

static const struct wl_config_peer *peer_n(const struct wl_config *cfg, int i)
{
	uint8_t k[WL_KEY_LEN];
	key_n(k, i);
	return config_find_peer(cfg, k);
}

static const char wgquick[] =
	"[Interface]\n"
	"# this box\n"
	"PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n"
	"\n"
	"# hub\n"
	"[Peer]\n"
	"PublicKey = %s\n"
	"Endpoint = 203.0.113.1:51820\n"
	"\n"
	"[Peer]\n"
	"# just a note\n"
	"#Name: laptop\n"
	"PublicKey = %s\n"
	"\n"
	"[peer]\n"
	"; Alice's phone\n"
	"publickey=%s\n"
	"\n"
	"[Peer]\n"
	"# no key in this one\n";

TEST(names_from_wgquick_comments)
{
	char k0[WL_KEY_B64_LEN], k1[WL_KEY_B64_LEN], k2[WL_KEY_B64_LEN], text[1024];
	snprintf(text, sizeof(text), wgquick, b64_n(0, k0), b64_n(1, k1), b64_n(2, k2));
	struct cfg_gen_name names[8];
	size_t n = cfg_gen_wgquick_names(text, strlen(text), names, 8);
	CHECK_EQ(n, 3);
	if (n != 3)
		return;
	uint8_t k[WL_KEY_LEN];
	key_n(k, 0);
	CHECK_MEM(names[0].key, k, WL_KEY_LEN);
	CHECK_STR(names[0].name, "hub"); /* the comment above [Peer] */
	CHECK(names[0].valid);
	CHECK_STR(names[1].name, "laptop"); /* "Name:" wins over another comment */
	CHECK(names[1].valid);
	CHECK_STR(names[2].name, "Alice's phone"); /* a space: kept, but not a Name */
	CHECK(!names[2].valid);
	/* The [Interface] comment names nobody; a bounded output holds. */
	CHECK_EQ(cfg_gen_wgquick_names(text, strlen(text), names, 1), 1);
	CHECK_EQ(cfg_gen_wgquick_names("", 0, names, 8), 0);
	CHECK_EQ(cfg_gen_wgquick_names("# x\n[Peer]\nPublicKey = not base64\n", 35, names, 8), 0);
}

TEST(leaf_trusts_its_hub_and_loads)
{
	struct wg_device *d = leaf_device();
	char k0[WL_KEY_B64_LEN], k1[WL_KEY_B64_LEN], k2[WL_KEY_B64_LEN], text[1024];
	snprintf(text, sizeof(text), wgquick, b64_n(0, k0), b64_n(1, k1), b64_n(2, k2));
	struct cfg_gen_name names[8];
	size_t n = cfg_gen_wgquick_names(text, strlen(text), names, 8);
	struct cfg_gen_input in = { .dev = d, .iface = "wgt0", .role = CFG_GEN_LEAF,
				    .names = names, .n_names = n, .names_from = "x.conf",
				    .version = "test", .command = "test" };
	char *out = generate(&in);
	struct wl_config *cfg = load(out);
	if (cfg) {
		CHECK_EQ(cfg->router, WL_NO);
		CHECK_EQ(cfg->n_peers, 3);
		const struct wl_config_peer *hub = peer_n(cfg, 0), *laptop = peer_n(cfg, 1),
					    *phone = peer_n(cfg, 2);
		CHECK(hub && laptop && phone);
		if (hub && laptop && phone) {
			CHECK_EQ(hub->trust, TRUST_MEMBERSHIP);
			CHECK_STR(hub->name, "hub");
			CHECK_EQ(hub->n_endpoints, 1);
			CHECK(hub->n_endpoints == 1 && strcmp(hub->endpoints[0].host, "203.0.113.1") == 0 &&
			      hub->endpoints[0].port == 51820);
			CHECK_EQ(hub->n_allowed_ips, 1); /* no fe80:: */
			CHECK_EQ(laptop->trust, TRUST_UNSET);
			CHECK_STR(laptop->name, "laptop");
			CHECK_EQ(laptop->n_endpoints, 1);
			CHECK(laptop->n_endpoints == 1 &&
			      strcmp(laptop->endpoints[0].host, "2001:db8::7") == 0);
			CHECK_EQ(laptop->n_allowed_ips, 2);
			CHECK(phone->name == NULL); /* "Alice's phone" is no Name */
			CHECK_EQ(phone->n_endpoints, 0);
			CHECK_EQ(phone->trust, TRUST_UNSET);
		}
	}
	CHECK_MSG(strstr(out, "\"Alice's phone\"") != NULL, "the invalid name is quoted:\n%s", out);
	CHECK_MSG(strstr(out, "yAnz5TF") == NULL, "a private key leaked");
	config_free(cfg);
	free(out);
	wg_device_free(d);
}

TEST(hub_trusts_nobody)
{
	struct wg_device *d = leaf_device();
	struct cfg_gen_input in = { .dev = d, .iface = "wgt0", .role = CFG_GEN_HUB,
				    .version = "test", .command = "test" };
	char *out = generate(&in);
	struct wl_config *cfg = load(out);
	if (cfg) {
		CHECK_EQ(cfg->router, WL_YES);
		CHECK_EQ(cfg->n_peers, 3);
		for (size_t i = 0; i < cfg->n_peers; i++)
			CHECK_EQ(cfg->peers[i].trust, TRUST_UNSET);
	}
	config_free(cfg);
	free(out);
	wg_device_free(d);
}

TEST(guess_says_why)
{
	/* With a hub-like peer: a leaf. */
	struct wg_device *d = leaf_device();
	struct cfg_gen_input in = { .dev = d, .iface = "wgt0", .version = "test",
				    .command = "test" };
	char *out = generate(&in);
	CHECK_MSG(strstr(out, "guessed: a leaf") != NULL, "%s", out);
	struct wl_config *cfg = load(out);
	if (cfg) {
		CHECK_EQ(cfg->router, WL_NO);
		const struct wl_config_peer *hub = peer_n(cfg, 0);
		CHECK(hub && hub->trust == TRUST_MEMBERSHIP);
	}
	config_free(cfg);
	free(out);
	/* Without one (the hub's endpoint gone): a hub. */
	d->peers[0].has_endpoint = false;
	out = generate(&in);
	CHECK_MSG(strstr(out, "guessed: the hub") != NULL, "%s", out);
	cfg = load(out);
	if (cfg)
		CHECK_EQ(cfg->router, WL_YES);
	config_free(cfg);
	free(out);
	wg_device_free(d);
}

TEST(hub_key_picks_the_hub)
{
	struct wg_device *d = leaf_device();
	struct cfg_gen_input in = { .dev = d, .iface = "wgt0", .has_hub_key = true,
				    .version = "test", .command = "test" };
	key_n(in.hub_key, 2);
	char *out = generate(&in);
	struct wl_config *cfg = load(out);
	if (cfg) {
		const struct wl_config_peer *p0 = peer_n(cfg, 0), *p2 = peer_n(cfg, 2);
		CHECK(p0 && p0->trust == TRUST_UNSET);
		CHECK(p2 && p2->trust == TRUST_MEMBERSHIP);
	}
	config_free(cfg);
	free(out);
	/* A key the device does not have is an error, not a silent guess. */
	key_n(in.hub_key, 9);
	FILE *f = fopen("/dev/null", "w");
	const char *why = NULL;
	CHECK_EQ(cfg_gen_write(f, &in, &why), -1);
	CHECK(why && strstr(why, "--hub-key"));
	fclose(f);
	wg_device_free(d);
}

TEST(empty_device_loads)
{
	struct wg_device *d = wg_device_new("wgt0");
	struct cfg_gen_input in = { .dev = d, .iface = "wgt0", .role = CFG_GEN_LEAF,
				    .version = "test", .command = "test" };
	char *out = generate(&in);
	struct wl_config *cfg = load(out);
	if (cfg)
		CHECK_EQ(cfg->n_peers, 0);
	config_free(cfg);
	free(out);
	wg_device_free(d);
}

/* A name holding what YAML reads as a line break (NEL, U+2028) or
 * refuses (a C1 control): the hub's name goes into a comment and a Name
 * value, and the output must still load with the same name (fuzz_wgquick
 * found the NEL). */
TEST(line_breaks_of_yaml_in_a_name)
{
	struct wg_device *d = leaf_device();
	char k0[WL_KEY_B64_LEN], text[512];
	snprintf(text, sizeof(text),
		 "# h\xc2\x85" "b\xe2\x80\xa8" "c\xc2\x90\n[Peer]\nPublicKey = %s\n",
		 b64_n(0, k0));
	struct cfg_gen_name names[2];
	size_t n = cfg_gen_wgquick_names(text, strlen(text), names, 2);
	CHECK_EQ(n, 1u);
	CHECK(n == 1 && names[0].valid); /* else it would not be written as a Name */
	struct cfg_gen_input in = { .dev = d, .iface = "wgt0", .role = CFG_GEN_LEAF,
				    .names = names, .n_names = n, .names_from = "x.conf",
				    .version = "test", .command = "test" };
	char *out = generate(&in);
	struct wl_config *cfg = load(out);
	const struct wl_config_peer *hub = cfg ? peer_n(cfg, 0) : NULL;
	CHECK(hub != NULL);
	if (hub && n == 1 && names[0].valid)
		CHECK_STR(hub->name, names[0].name);
	config_free(cfg);
	free(out);
	wg_device_free(d);
}
