/* Configuration: every setting from every source, precedence, both file
 * formats, every kind of bad value with its exact message, the --dump round
 * trip and the --help text. Hermetic: each test gets its own temp directory
 * as --config-path (or WIRELINK_CONFIG_PATH) and an explicit environment,
 * so nothing under /etc or in the caller's environment is looked at. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/config_internal.h"
#include "core/factset.h"
#include "harness.h"
#include "tdir.h"

#define KEY1 "18dCY1rwCNo4aQaWFccKFfhbqG0FGBxDkCSbyQ3awkw="
#define KEY2 "ZPGUiCJbr4B/VNnQHQ4HxKtPPjbR1o+BWQXKn8jPQRk="
#define ZERO_KEY "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
/* CONFIG_MAX_PEER_ENDPOINTS endpoints, plain (YAML) and quoted (JSON). */
#define EPS16                                                                            \
	"h1:1, h2:2, h3:3, h4:4, h5:5, h6:6, h7:7, h8:8, h9:9, h10:10, h11:11, h12:12, "  \
	"h13:13, h14:14, h15:15, h16:16"
#define EPS16Q                                                                           \
	"\"h1:1\", \"h2:2\", \"h3:3\", \"h4:4\", \"h5:5\", \"h6:6\", \"h7:7\", \"h8:8\", "    \
	"\"h9:9\", \"h10:10\", \"h11:11\", \"h12:12\", \"h13:13\", \"h14:14\", \"h15:15\", "  \
	"\"h16:16\""

/* ---- helpers ---- */

/* out = dir/name. */
static void path_in(const struct tdir *d, const char *name, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", d->path, name);
}

#define MAXARGS 16

/* Loads with argv = {"wirelink", args..., "--config-path", dir} (dir may be
 * NULL to leave the path to the environment) and the given environment. */
static int load(const struct tdir *d, const char *const *args, const char *const *env,
		struct wl_config **cfg, char *err, size_t errlen)
{
	char *argv[MAXARGS + 4];
	char *envp[MAXARGS + 1];
	int argc = 0;
	argv[argc++] = (char *)"wirelink";
	for (size_t i = 0; args && args[i]; i++)
		argv[argc++] = (char *)args[i];
	if (d) {
		argv[argc++] = (char *)"--config-path";
		argv[argc++] = (char *)d->path;
	}
	argv[argc] = NULL;
	size_t n = 0;
	for (; env && env[n]; n++)
		envp[n] = (char *)env[n];
	envp[n] = NULL;
	return config_load(argc, argv, envp, cfg, err, errlen);
}

/* Loads a single file's content (no env, no flags) and returns the status. */
static int load_file(const char *name, const char *content, struct wl_config **cfg, char *err,
		     size_t errlen, char *file_path, size_t fplen)
{
	struct tdir d;
	tdir_make(&d, "wl-config-test");
	tdir_put(&d, name, content);
	if (file_path)
		snprintf(file_path, fplen, "%s/%s", d.path, name);
	int rc = load(&d, NULL, NULL, cfg, err, errlen);
	tdir_remove(&d);
	return rc;
}

/* The dump as a heap string. */
static char *dump_str(const struct wl_config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	config_dump(cfg, f);
	fclose(f);
	return buf;
}

/* ---- defaults, missing file ---- */

TEST(defaults_and_missing_file)
{
	struct tdir d;
	tdir_make(&d, "wl-config-test");
	struct wl_config *cfg;
	char err[512];
	CHECK_EQ(load(&d, NULL, NULL, &cfg, err, sizeof(err)), CONFIG_OK);
	if (cfg) {
		CHECK_STR(cfg->iface, "wg0");
		CHECK_EQ(cfg->port, 0);
		CHECK_EQ(cfg->router, WL_AUTO);
		CHECK(!cfg->chatty);
		CHECK(!cfg->debug);
		CHECK(!cfg->dump);
		CHECK(!cfg->check_config);
		CHECK(!cfg->show_help && !cfg->show_version);
		CHECK_EQ(cfg->backend, WGDEV_AUTO);
		CHECK(cfg->port_mapping); /* on by default */
		CHECK_EQ(cfg->n_peers, 0);
		CHECK_EQ(cfg->n_report_ifaces, 0);
		CHECK_EQ(cfg->n_hide_ifaces, 0);
		CHECK(cfg->config_file == NULL);
		CHECK_STR(cfg->config_path, d.path);
	}
	config_free(cfg);
	tdir_remove(&d);
}

TEST(default_config_path_is_etc_wireguard)
{
	/* --help reads neither environment nor file, so /etc is not touched. */
	struct wl_config *cfg;
	char err[256];
	const char *args[] = { "--help", NULL };
	CHECK_EQ(load(NULL, args, NULL, &cfg, err, sizeof(err)), CONFIG_OK);
	if (cfg) {
		CHECK_STR(cfg->config_path, "/etc/wireguard");
		CHECK(cfg->show_help);
	}
	config_free(cfg);
}

/* ---- every scalar setting from every source ---- */

static long get_port(const struct wl_config *c) { return c->port; }
static long get_router(const struct wl_config *c) { return c->router; }
static long get_chatty(const struct wl_config *c) { return c->chatty; }
static long get_debug(const struct wl_config *c) { return c->debug; }
static long get_backend(const struct wl_config *c) { return c->backend; }
static long get_dump(const struct wl_config *c) { return c->dump; }
static long get_check(const struct wl_config *c) { return c->check_config; }
static long get_port_mapping(const struct wl_config *c) { return c->port_mapping; }
static long get_quota_facts(const struct wl_config *c) { return c->quota_facts; }
static long get_quiet_period(const struct wl_config *c) { return c->quiet_period; }
static long get_quota_endpoints(const struct wl_config *c) { return c->quota_endpoints; }
static long get_quota_allowed(const struct wl_config *c) { return c->quota_allowed_ips; }
static long get_quota_members(const struct wl_config *c) { return c->quota_new_members; }
static long get_quota_members_rate(const struct wl_config *c)
{
	return c->quota_new_members_per_min;
}

static const struct scalar_case {
	const char *what;
	const char *yaml;  /* file line, NULL = not a file setting */
	const char *json;  /* file content */
	const char *env;   /* NAME=value */
	const char *flags[3];
	long expect;
	long (*get)(const struct wl_config *);
} scalar_cases[] = {
	{ "port", "Port: 51999\n", "{\"Port\": 51999}", "WIRELINK_PORT=51999",
	  { "--port=51999", NULL }, 51999, get_port },
	{ "port split", NULL, NULL, "WIRELINK_PORT=51999", { "--port", "51999", NULL }, 51999,
	  get_port },
	{ "router yes", "Router: true\n", "{\"Router\": true}", "WIRELINK_ROUTER=true",
	  { "--router", NULL }, WL_YES, get_router },
	{ "router no", "Router: false\n", "{\"Router\": false}", "WIRELINK_ROUTER=false",
	  { "--router=false", NULL }, WL_NO, get_router },
	{ "router yes/no words", "Router: yes\n", "{\"ROUTER\": true}", "WIRELINK_ROUTER=1",
	  { "--router=ON", NULL }, WL_YES, get_router },
	{ "chatty", "Chatty: true\n", "{\"Chatty\": true}", "WIRELINK_CHATTY=TRUE",
	  { "--chatty", NULL }, 1, get_chatty },
	{ "debug", "Debug: True\n", "{\"Debug\": true}", "WIRELINK_DEBUG=yes", { "-d", NULL }, 1,
	  get_debug },
	{ "debug long", NULL, NULL, "WIRELINK_DEBUG=on", { "--debug", NULL }, 1, get_debug },
	{ "backend", "Backend: userspace\n", "{\"Backend\": \"userspace\"}",
	  "WIRELINK_BACKEND=userspace", { "--backend", "userspace", NULL }, WGDEV_USERSPACE,
	  get_backend },
	{ "backend kernel", "Backend: \"Kernel\"\n", "{\"backend\": \"kernel\"}",
	  "WIRELINK_BACKEND=kernel", { "--backend=kernel", NULL }, WGDEV_KERNEL, get_backend },
	{ "port mapping off", "PortMapping: false\n", "{\"PortMapping\": false}",
	  "WIRELINK_PORT_MAPPING=false", { "--port-mapping=false", NULL }, 0, get_port_mapping },
	{ "port mapping off words", "portmapping: off\n", "{\"portMapping\": false}",
	  "WIRELINK_PORT_MAPPING=No", { "--port-mapping=0", NULL }, 0, get_port_mapping },
	{ "quiet period", "QuietPeriod: 1800\n", "{\"QuietPeriod\": 1800}",
	  "WIRELINK_QUIET_PERIOD=1800", { "--quiet-period=1800", NULL }, 1800, get_quiet_period },
	{ "quiet period off", "QuietPeriod: 0\n", "{\"quietperiod\": 0}", "WIRELINK_QUIET_PERIOD=0",
	  { "--quiet-period", "0", NULL }, 0, get_quiet_period },
	{ "quota facts", "QuotaFacts: 2000\n", "{\"QuotaFacts\": 2000}", "WIRELINK_QUOTA_FACTS=2000",
	  { "--quota-facts=2000", NULL }, 2000, get_quota_facts },
	{ "quota endpoints", "QuotaEndpoints: 4\n", "{\"QuotaEndpoints\": 4}",
	  "WIRELINK_QUOTA_ENDPOINTS=4", { "--quota-endpoints", "4", NULL }, 4, get_quota_endpoints },
	{ "quota allowed ips", "QuotaAllowedIPs: 1\n", "{\"quotaallowedips\": 1}",
	  "WIRELINK_QUOTA_ALLOWED_IPS=1", { "--quota-allowed-ips=1", NULL }, 1, get_quota_allowed },
	{ "quota new members", "QuotaNewMembers: 1000000\n", "{\"QuotaNewMembers\": 1000000}",
	  "WIRELINK_QUOTA_NEW_MEMBERS=1000000", { "--quota-new-members=1000000", NULL }, 1000000,
	  get_quota_members },
	{ "quota new members per minute", "QuotaNewMembersPerMinute: 60\n",
	  "{\"QuotaNewMembersPerMinute\": 60}", "WIRELINK_QUOTA_NEW_MEMBERS_PER_MINUTE=60",
	  { "--quota-new-members-per-minute=60", NULL }, 60, get_quota_members_rate },
	{ "dump", NULL, NULL, "WIRELINK_DUMP=true", { "--dump", NULL }, 1, get_dump },
	{ "check-config", NULL, NULL, "WIRELINK_CHECK_CONFIG=1", { "--check-config", NULL }, 1,
	  get_check },
};

/* The quotas' defaults here are the engine's own (core/factset.c). */
TEST(quota_defaults_are_the_engines)
{
	struct wl_config cfg;
	struct factset_limits l;
	cfg_defaults(&cfg);
	factset_limits_default(&l);
	CHECK_EQ(cfg.quota_facts, l.per_source);
	CHECK_EQ(cfg.quota_endpoints, l.endpoints);
	CHECK_EQ(cfg.quota_allowed_ips, l.allowed);
	CHECK_EQ(cfg.quota_new_members, l.members_burst);
	CHECK_EQ(cfg.quota_new_members_per_min, l.members_per_min);
}

TEST(every_setting_from_every_source)
{
	for (size_t i = 0; i < sizeof(scalar_cases) / sizeof(scalar_cases[0]); i++) {
		const struct scalar_case *c = &scalar_cases[i];
		struct wl_config *cfg;
		char err[512];
		for (int src = 0; src < 4; src++) {
			struct tdir d;
			tdir_make(&d, "wl-config-test");
			const char *env[2] = { NULL, NULL };
			const char *const *args = NULL;
			if (src == 0 && c->yaml)
				tdir_put(&d, "wirelink.wg0.yaml", c->yaml);
			else if (src == 1 && c->json)
				tdir_put(&d, "wirelink.wg0.json", c->json);
			else if (src == 2)
				env[0] = c->env;
			else if (src == 3)
				args = c->flags;
			else {
				tdir_remove(&d);
				continue;
			}
			int rc = load(&d, args, env, &cfg, err, sizeof(err));
			CHECK_MSG(rc == CONFIG_OK, "%s source %d: %s", c->what, src, err);
			if (cfg)
				CHECK_MSG(c->get(cfg) == c->expect, "%s source %d: got %ld want %ld",
					  c->what, src, c->get(cfg), c->expect);
			config_free(cfg);
			/* ...and without it, the default differs. */
			CHECK_EQ(load(&d, NULL, NULL, &cfg, err, sizeof(err)), CONFIG_OK);
			if (cfg && (src == 2 || src == 3))
				CHECK_MSG(c->get(cfg) != c->expect, "%s: default equals the value",
					  c->what);
			config_free(cfg);
			tdir_remove(&d);
		}
	}
}

TEST(iface_picks_the_file)
{
	struct tdir d;
	tdir_make(&d, "wl-config-test");
	tdir_put(&d, "wirelink.wg0.yaml", "Port: 1\n");
	tdir_put(&d, "wirelink.wg7.yaml", "Port: 7\nIface: wg7\n");
	tdir_put(&d, "wirelink.wg8.json", "{\"Port\": 8}");
	struct wl_config *cfg;
	char err[512];
	static const struct {
		const char *env;
		const char *args[3];
		const char *iface;
		long port;
	} cases[] = {
		{ NULL, { NULL }, "wg0", 1 },
		{ "WIRELINK_IFACE=wg7", { NULL }, "wg7", 7 },
		{ NULL, { "-i", "wg7", NULL }, "wg7", 7 },
		{ NULL, { "-iwg7", NULL }, "wg7", 7 },
		{ NULL, { "--iface", "wg8", NULL }, "wg8", 8 },
		{ NULL, { "--iface=wg8", NULL }, "wg8", 8 },
		{ "WIRELINK_IFACE=wg7", { "--iface=wg8", NULL }, "wg8", 8 }, /* flag wins */
		{ "WIRELINK_IFACE=wg9", { NULL }, "wg9", 0 },                /* no file: fine */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *env[] = { cases[i].env, NULL };
		CHECK_EQ(load(&d, cases[i].args, env, &cfg, err, sizeof(err)), CONFIG_OK);
		if (!cfg) {
			CHECK_MSG(false, "case %zu: %s", i, err);
			continue;
		}
		CHECK_STR(cfg->iface, cases[i].iface);
		CHECK_EQ(cfg->port, cases[i].port);
		config_free(cfg);
	}
	tdir_remove(&d);
}

TEST(config_path_from_env_and_flag)
{
	struct tdir a, b;
	tdir_make(&a, "wl-config-test");
	tdir_make(&b, "wl-config-test");
	tdir_put(&a, "wirelink.wg0.json", "{\"Port\": 100}");
	tdir_put(&b, "wirelink.wg0.yml", "Port: 200\n");
	char envpath[128], flag[128];
	snprintf(envpath, sizeof(envpath), "WIRELINK_CONFIG_PATH=%s", a.path);
	snprintf(flag, sizeof(flag), "--config-path=%s/", b.path); /* trailing slash */
	struct wl_config *cfg;
	char err[512];
	const char *env[] = { envpath, NULL };
	CHECK_EQ(load(NULL, NULL, env, &cfg, err, sizeof(err)), CONFIG_OK);
	if (cfg) {
		CHECK_EQ(cfg->port, 100);
		char want[128];
		snprintf(want, sizeof(want), "%s/wirelink.wg0.json", a.path);
		CHECK_STR(cfg->config_file, want);
	}
	config_free(cfg);
	const char *args[] = { flag, NULL };
	CHECK_EQ(load(NULL, args, env, &cfg, err, sizeof(err)), CONFIG_OK);
	if (cfg) {
		CHECK_EQ(cfg->port, 200);
		char want[128];
		snprintf(want, sizeof(want), "%s/wirelink.wg0.yml", b.path);
		CHECK_STR(cfg->config_file, want);
	}
	config_free(cfg);
	tdir_remove(&a);
	tdir_remove(&b);
}

/* ---- precedence ---- */

TEST(precedence_file_env_flag)
{
	struct tdir d;
	tdir_make(&d, "wl-config-test");
	tdir_put(&d, "wirelink.wg0.yaml",
	    "Port: 1\nRouter: true\nChatty: true\nDebug: false\nBackend: kernel\n");
	static const struct {
		const char *env[3];
		const char *args[3];
		long port, router, chatty, backend;
	} cases[] = {
		{ { NULL }, { NULL }, 1, WL_YES, 1, WGDEV_KERNEL },
		{ { "WIRELINK_PORT=2", "WIRELINK_ROUTER=false", NULL }, { NULL }, 2, WL_NO,
		  1, WGDEV_KERNEL },
		{ { "WIRELINK_PORT=2", "WIRELINK_ROUTER=false", NULL },
		  { "--port=3", "--router", NULL }, 3, WL_YES, 1, WGDEV_KERNEL },
		{ { "WIRELINK_CHATTY=no", "WIRELINK_BACKEND=userspace", NULL },
		  { "--backend=auto", NULL }, 1, WL_YES, 0, WGDEV_AUTO },
		{ { "WIRELINK_PORT=", NULL }, { NULL }, 1, WL_YES, 1, WGDEV_KERNEL },
		{ { NULL }, { "--chatty=false", "--port", "0" }, 0, WL_YES, 0,
		  WGDEV_KERNEL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wl_config *cfg;
		char err[512];
		CHECK_EQ(load(&d, cases[i].args, cases[i].env, &cfg, err, sizeof(err)), CONFIG_OK);
		if (!cfg) {
			CHECK_MSG(false, "case %zu: %s", i, err);
			continue;
		}
		CHECK_MSG(cfg->port == cases[i].port, "case %zu port %u", i, cfg->port);
		CHECK_MSG(cfg->router == cases[i].router, "case %zu router %d", i, cfg->router);
		CHECK_MSG(cfg->chatty == cases[i].chatty, "case %zu chatty", i);
		CHECK_MSG((long)cfg->backend == cases[i].backend, "case %zu backend", i);
		config_free(cfg);
	}
	tdir_remove(&d);
}

/* ---- file contents ---- */

static const char full_yaml[] =
	"# a comment\n"
	"Iface: wg0\n"
	"Port: 51821\n"
	"Router: false\n"
	"Chatty: true\n"
	"Debug: true\n"
	"Backend: userspace\n"
	"PortMapping: false\n"
	"Peers:\n"
	"  - PublicKey: " KEY1 "\n"
	"    Name: hub\n"
	"    Trust: Membership\n"
	"    FactExchanger: true\n"
	"    Endpoints:\n"
	"      - hub.example.net:51820\n"
	"      - \"[2001:db8::1]:51820\"\n"
	"      - 192.0.2.1:1\n"
	"    AllowedIPs: [10.99.0.1/24, \"2001:db8::1/64\", 192.0.2.7/32]\n"
	"  - publickey: '" KEY2 "'\n"
	"    name: printer\n"
	"    basic: yes\n"
	"ReportIfaces: [eth*, \"wl[a-z]0\"]\n"
	"HideIfaces:\n"
	"  - docker*\n";

static const char full_json[] =
	"{\n"
	"  \"iface\": \"wg0\",\n"
	"  \"port\": 51821,\n"
	"  \"ROUTER\": false,\n"
	"  \"Chatty\": true,\n"
	"  \"Debug\": true,\n"
	"  \"Backend\": \"userspace\",\n"
	"  \"portmapping\": false,\n"
	"  \"peers\": [\n"
	"    {\"PublicKey\": \"" KEY1 "\", \"Name\": \"hub\", \"Trust\": \"membership\",\n"
	"     \"FactExchanger\": true,\n"
	"     \"Endpoints\": [\"hub.example.net:51820\", \"[2001:db8::1]:51820\", \"192.0.2.1:1\"],\n"
	"     \"allowedips\": [\"10.99.0.1/24\", \"2001:db8::1/64\", \"192.0.2.7/32\"]},\n"
	"    {\"PUBLICKEY\": \"" KEY2 "\", \"Name\": \"printer\", \"Basic\": true,\n"
	"     \"Trust\": null}\n"
	"  ],\n"
	"  \"ReportIfaces\": [\"eth*\", \"wl[a-z]0\"],\n"
	"  \"hideifaces\": [\"docker*\"]\n"
	"}\n";

static void check_full(const struct wl_config *cfg)
{
	uint8_t k1[32], k2[32];
	CHECK(key_from_base64(KEY1, k1));
	CHECK(key_from_base64(KEY2, k2));
	CHECK_STR(cfg->iface, "wg0");
	CHECK_EQ(cfg->port, 51821);
	CHECK_EQ(cfg->router, WL_NO);
	CHECK(cfg->chatty);
	CHECK(!cfg->port_mapping);
	CHECK(cfg->debug);
	CHECK_EQ(cfg->backend, WGDEV_USERSPACE);
	CHECK_EQ(cfg->n_peers, 2);
	if (cfg->n_peers != 2)
		return;
	const struct wl_config_peer *p = &cfg->peers[0];
	CHECK_MEM(p->public_key, k1, 32);
	CHECK_STR(p->name, "hub");
	CHECK_EQ(p->trust, TRUST_MEMBERSHIP);
	CHECK(p->fact_exchanger);
	CHECK(!p->basic);
	CHECK_EQ(p->n_endpoints, 3);
	if (p->n_endpoints == 3) {
		CHECK_STR(p->endpoints[0].host, "hub.example.net");
		CHECK_EQ(p->endpoints[0].port, 51820);
		CHECK_STR(p->endpoints[1].host, "2001:db8::1");
		CHECK_EQ(p->endpoints[1].port, 51820);
		CHECK_STR(p->endpoints[2].host, "192.0.2.1");
		CHECK_EQ(p->endpoints[2].port, 1);
	}
	CHECK_EQ(p->n_allowed_ips, 3);
	if (p->n_allowed_ips == 3) {
		char s[WL_CIDR_STR_MAX];
		/* host bits masked off */
		CHECK_STR(wl_cidr_str(&p->allowed_ips[0], s), "10.99.0.0/24");
		CHECK_STR(wl_cidr_str(&p->allowed_ips[1], s), "2001:db8::/64");
		CHECK_STR(wl_cidr_str(&p->allowed_ips[2], s), "192.0.2.7/32");
	}
	p = &cfg->peers[1];
	CHECK_MEM(p->public_key, k2, 32);
	CHECK_STR(p->name, "printer");
	CHECK_EQ(p->trust, TRUST_UNSET);
	CHECK(!p->fact_exchanger);
	CHECK(p->basic);
	CHECK_EQ(p->n_endpoints, 0);
	CHECK_EQ(p->n_allowed_ips, 0);
	CHECK(config_find_peer(cfg, k2) == p);
	CHECK_EQ(cfg->n_report_ifaces, 2);
	CHECK_EQ(cfg->n_hide_ifaces, 1);
	if (cfg->n_report_ifaces == 2 && cfg->n_hide_ifaces == 1) {
		CHECK_STR(cfg->report_ifaces[0], "eth*");
		CHECK_STR(cfg->report_ifaces[1], "wl[a-z]0");
		CHECK_STR(cfg->hide_ifaces[0], "docker*");
	}
}

TEST(full_file_yaml_and_json_are_equivalent)
{
	struct wl_config *y = NULL, *j = NULL;
	char err[512];
	CHECK_EQ(load_file("wirelink.wg0.yaml", full_yaml, &y, err, sizeof(err), NULL, 0),
		 CONFIG_OK);
	CHECK_MSG(y != NULL, "yaml: %s", err);
	CHECK_EQ(load_file("wirelink.wg0.json", full_json, &j, err, sizeof(err), NULL, 0),
		 CONFIG_OK);
	CHECK_MSG(j != NULL, "json: %s", err);
	if (y)
		check_full(y);
	if (j)
		check_full(j);
	if (y && j) {
		char *dy = dump_str(y), *dj = dump_str(j);
		CHECK_STR(dy, dj);
		free(dy);
		free(dj);
	}
	config_free(y);
	config_free(j);
}

TEST(case_insensitive_keys)
{
	static const char *const files[][2] = {
		{ "wirelink.wg0.yaml", "IFACE: wg0\npOrT: 5\nrouter: on\nPEERS:\n  - PUBLICKEY: " KEY1
				       "\n    TRUST: endpoint\n    aLLoWeDiPs: [10.0.0.0/8]\n" },
		{ "wirelink.wg0.json", "{\"iFaCe\": \"wg0\", \"PORT\": 5, \"Router\": true, \"pEeRs\": "
				       "[{\"publicKEY\": \"" KEY1 "\", \"trust\": \"ENDPOINT\", "
				       "\"ALLOWEDIPS\": [\"10.0.0.0/8\"]}]}" },
	};
	for (size_t i = 0; i < 2; i++) {
		struct wl_config *cfg;
		char err[512];
		CHECK_EQ(load_file(files[i][0], files[i][1], &cfg, err, sizeof(err), NULL, 0),
			 CONFIG_OK);
		if (!cfg) {
			CHECK_MSG(false, "%s: %s", files[i][0], err);
			continue;
		}
		CHECK_EQ(cfg->port, 5);
		CHECK_EQ(cfg->router, WL_YES);
		CHECK_EQ(cfg->n_peers, 1);
		if (cfg->n_peers == 1) {
			CHECK_EQ(cfg->peers[0].trust, TRUST_ENDPOINT);
			CHECK_EQ(cfg->peers[0].n_allowed_ips, 1);
		}
		config_free(cfg);
	}
}

TEST(empty_and_null_files)
{
	static const char *const ok[][2] = {
		{ "wirelink.wg0.yaml", "" },
		{ "wirelink.wg0.yaml", "---\n" },
		{ "wirelink.wg0.yaml", "# only a comment\n" },
		{ "wirelink.wg0.yaml", "Port:\nRouter: ~\nPeers: null\nHideIfaces:\n" },
		{ "wirelink.wg0.json", "{}" },
		{ "wirelink.wg0.json", "{\"Port\": null, \"Router\": null, \"Peers\": null}" },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct wl_config *cfg;
		char err[512];
		int rc = load_file(ok[i][0], ok[i][1], &cfg, err, sizeof(err), NULL, 0);
		CHECK_MSG(rc == CONFIG_OK, "case %zu: %s", i, err);
		if (cfg) {
			CHECK_EQ(cfg->port, 0);
			CHECK_EQ(cfg->router, WL_AUTO);
			CHECK_EQ(cfg->n_peers, 0);
			CHECK(cfg->config_file != NULL);
		}
		config_free(cfg);
	}
}

TEST(valid_values)
{
	/* Each value alone in a peer, accepted. */
	static const char *const endpoints[] = {
		"a:1", "example.com:65535", "example.com.:51820", "my_host.lan:5",
		"xn--bcher-kva.example:80", "[::1]:51820", "[fe80::1]:2", "10.0.0.1:51820",
		"1a:9",
	};
	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
		char host[CFG_HOST_MAX];
		uint16_t port;
		const char *why = NULL;
		CHECK_MSG(cfg_parse_endpoint(endpoints[i], host, &port, &why), "%s: %s",
			  endpoints[i], why);
	}
	static const char *const globs[] = { "eth0", "*", "wl?", "en[a-z]*", "[!d]*", "[]x]",
					     "[[:alpha:]]*", "a\\*b", "[^x]" };
	for (size_t i = 0; i < sizeof(globs) / sizeof(globs[0]); i++) {
		const char *why = NULL;
		CHECK_MSG(cfg_parse_glob(globs[i], &why), "%s: %s", globs[i], why);
	}
	static const char *const names[] = { "a", "hub-1", "0123456789abcdef", "h\xc3\xb6st" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *why = NULL;
		CHECK_MSG(cfg_parse_name(names[i], &why), "%s: %s", names[i], why);
	}
	static const struct {
		const char *in, *out;
	} cidrs[] = {
		{ "10.99.0.1/24", "10.99.0.0/24" },   { "10.99.0.255/31", "10.99.0.254/31" },
		{ "0.0.0.0/0", "0.0.0.0/0" },         { "192.0.2.200/0", "0.0.0.0/0" },
		{ "2001:db8::1/64", "2001:db8::/64" }, { "2001:db8:ffff::1/33", "2001:db8:8000::/33" },
		{ "fd00::1/128", "fd00::1/128" },
	};
	for (size_t i = 0; i < sizeof(cidrs) / sizeof(cidrs[0]); i++) {
		struct wl_cidr c;
		char s[WL_CIDR_STR_MAX];
		const char *why = NULL;
		CHECK_MSG(cfg_parse_cidr(cidrs[i].in, &c, &why), "%s: %s", cidrs[i].in, why);
		CHECK_STR(wl_cidr_str(&c, s), cidrs[i].out);
	}
}

/* ---- errors, with their exact messages ('@' = the file's path) ---- */

static const struct bad_case {
	const char *file;
	const char *content;
	const char *msg;
} bad_cases[] = {
	{ "wirelink.wg0.yaml", "QuotaFacts: 0\n",
	  "@:1: QuotaFacts: \"0\" is not a count (1..1000000)" },
	{ "wirelink.wg0.yaml", "QuietPeriod: 29\n",
	  "@:1: QuietPeriod: \"29\" is not a quiet period (0, or 30..30000 seconds)" },
	{ "wirelink.wg0.json", "{\"QuietPeriod\": 30001}",
	  "@: QuietPeriod: \"30001\" is not a quiet period (0, or 30..30000 seconds)" },
	{ "wirelink.wg0.json", "{\"QuotaEndpoints\": 1000001}",
	  "@: QuotaEndpoints: \"1000001\" is not a count (1..1000000)" },
	{ "wirelink.wg0.yaml", "QuotaNewMembers: many\n",
	  "@:1: QuotaNewMembers: \"many\" is not a count (1..1000000)" },
	/* the brief's example, verbatim */
	{ "wirelink.wg0.yaml",
	  "Peers:\n  - PublicKey: " KEY1 "\n    Trust: Membershipp\n",
	  "@:3: Peers[0].Trust: \"Membershipp\" is not a trust level (Untrusted, Endpoint, "
	  "AllowedIPs, Membership, DelegateTrust)" },
	{ "wirelink.wg0.json",
	  "{\"Peers\": [{\"PublicKey\": \"" KEY1 "\"}, {\"PublicKey\": \"" KEY2
	  "\", \"AllowedIPs\": [\"10.1.2.3/40\"]}]}",
	  "@: Peers[1].AllowedIPs[0]: \"10.1.2.3/40\" is not a CIDR prefix (address/length)" },
	{ "wirelink.wg0.yaml", "Peers:\n- PublicKey: " KEY1 "\n  AllowedIPs:\n  - 10.0.0.1\n",
	  "@:4: Peers[0].AllowedIPs[0]: \"10.0.0.1\" is not a CIDR prefix (address/length)" },
	{ "wirelink.wg0.json", "{\"Peers\": [{\"Trust\": \"Endpoint\"}]}",
	  "@: Peers[0]: PublicKey is missing" },
	{ "wirelink.wg0.yaml", "Peers:\n  - Name: x\n    Trust: Endpoint\n",
	  "@:2: Peers[0]: PublicKey is missing" },
	{ "wirelink.wg0.yaml", "Peers:\n  - PublicKey: abc=\n",
	  "@:2: Peers[0].PublicKey: \"abc=\" is not a public key (44 characters of base64 for "
	  "32 bytes)" },
	{ "wirelink.wg0.json", "{\"Peers\": [{\"PublicKey\": \"" KEY1 "\", \"Name\": [7]}]}",
	  "@: Peers[0].Name: expected a string, got a list" },
	{ "wirelink.wg0.yaml", "Peers:\n  - PublicKey: " KEY1 "\n    Endpoints: [\"host:0\"]\n",
	  "@:3: Peers[0].Endpoints[0]: \"host:0\" is not an endpoint (port must be 1..65535)" },
	{ "wirelink.wg0.yaml", "Peers:\n  - PublicKey: " KEY1 "\n    Endpoints: [host:65536]\n",
	  "@:3: Peers[0].Endpoints[0]: \"host:65536\" is not an endpoint (port must be "
	  "1..65535)" },
	{ "wirelink.wg0.yaml", "Peers:\n  - PublicKey: " KEY1 "\n    Endpoints:\n      - host\n",
	  "@:4: Peers[0].Endpoints[0]: \"host\" is not an endpoint (host:port)" },
	{ "wirelink.wg0.json", "{\"Peers\": [{\"PublicKey\": \"" KEY1
	  "\", \"Endpoints\": [\"a.b:1\", \"2001:db8::1:51820\"]}]}",
	  "@: Peers[0].Endpoints[1]: \"2001:db8::1:51820\" is not an endpoint (an IPv6 address "
	  "needs brackets: [addr]:port)" },
	{ "wirelink.wg0.json", "{\"Peers\": [{\"PublicKey\": \"" KEY1
	  "\", \"Endpoints\": [\"[10.0.0.1]:5\"]}]}",
	  "@: Peers[0].Endpoints[0]: \"[10.0.0.1]:5\" is not an endpoint (bad IPv6 address in "
	  "brackets)" },
	{ "wirelink.wg0.json", "{\"Peers\": [{\"PublicKey\": \"" KEY1
	  "\", \"Endpoints\": [\"bad host:5\"]}]}",
	  "@: Peers[0].Endpoints[0]: \"bad host:5\" is not an endpoint (host is neither an IP "
	  "address nor a DNS name)" },
	{ "wirelink.wg0.json", "{\"Peers\": [{\"PublicKey\": \"" KEY1
	  "\", \"Endpoints\": [\"10.0.0.300:5\"]}]}",
	  "@: Peers[0].Endpoints[0]: \"10.0.0.300:5\" is not an endpoint (host is neither an IP "
	  "address nor a DNS name)" },
	{ "wirelink.wg0.json", "{\"Peers\": [{\"PublicKey\": \"" KEY1
	  "\", \"Endpoints\": {\"a\": 1}}]}",
	  "@: Peers[0].Endpoints: expected a list of endpoints (host:port), got a mapping" },
	{ "wirelink.wg0.yaml", "Peers:\n  - PublicKey: " KEY1 "\n    Endpoints: host:nosuchservice\n",
	  "@:3: Peers[0].Endpoints[0]: \"host:nosuchservice\" is not an endpoint (the port is no "
	  "UDP service name in /etc/services)" },
	{ "wirelink.wg0.yaml", "Peers:\n  - PublicKey: " KEY1 "\n    Endpoints: [\"[fe80::1%]:5\"]\n",
	  "@:3: Peers[0].Endpoints[0]: \"[fe80::1%]:5\" is not an endpoint (bad zone after '%': an "
	  "interface name or index)" },
	{ "wirelink.wg0.yaml", "Peers:\n  - PublicKey: " KEY1 "\n    Basic: maybe\n",
	  "@:3: Peers[0].Basic: \"maybe\" is not a boolean (true or false)" },
	{ "wirelink.wg0.json", "{\"Peers\": [{\"PublicKey\": \"" KEY1
	  "\", \"FactExchanger\": \"maybe\"}]}",
	  "@: Peers[0].FactExchanger: \"maybe\" is not a boolean (true or false)" },
	{ "wirelink.wg0.yaml", "Peers:\n  - PublicKey: " KEY1 "\n    Trsut: Endpoint\n",
	  "@:3: Peers[0].Trsut: unknown key (known keys: PublicKey, Name, Trust, FactExchanger, "
	  "Endpoints, AllowedIPs, Basic)" },
	{ "wirelink.wg0.yaml", "Peers:\n  - PublicKey: " KEY1 "\n    Trust: Endpoint\n    trust: Endpoint\n",
	  "@:4: Peers[0].Trust: duplicate key (already given as \"Trust\")" },
	{ "wirelink.wg0.yaml", "Peers: [" KEY1 "]\n",
	  "@:1: Peers[0]: expected a mapping (PublicKey, Name, Trust, ...), got \"" KEY1 "\"" },
	{ "wirelink.wg0.json", "{\"Peers\": \"x\"}", "@: Peers: expected a list of peers, got \"x\"" },
	{ "wirelink.wg0.yaml", "Port: 70000\n",
	  "@:1: Port: \"70000\" is not a port number (0..65535; 0 = listen port + 1)" },
	{ "wirelink.wg0.yaml", "Port: -1\n",
	  "@:1: Port: \"-1\" is not a port number (0..65535; 0 = listen port + 1)" },
	{ "wirelink.wg0.json", "{\"Port\": -1}",
	  "@: Port: \"-1\" is not a port number (0..65535; 0 = listen port + 1)" },
	{ "wirelink.wg0.json", "{\"Port\": 1.5}", "@: Port: expected an integer (0..65535), got 1.5" },
	{ "wirelink.wg0.json", "{\"port\": \"5x\"}",
	  "@: Port: \"5x\" is not a port number (0..65535; 0 = listen port + 1)" },
	{ "wirelink.wg0.yaml", "Port: '70000'\n",
	  "@:1: Port: \"70000\" is not a port number (0..65535; 0 = listen port + 1)" },
	{ "wirelink.wg0.json", "{\"Port\": true}", "@: Port: expected an integer (0..65535), got true" },
	{ "wirelink.wg0.yaml", "Router: maybe\n",
	  "@:1: Router: \"maybe\" is not a boolean (true or false)" },
	{ "wirelink.wg0.json", "{\"Chatty\": [1]}", "@: Chatty: expected true or false, got a list" },
	{ "wirelink.wg0.yaml", "Backend: wireguard-go\n",
	  "@:1: Backend: \"wireguard-go\" is not a backend (auto, kernel, userspace)" },
	{ "wirelink.wg0.yaml", "Iface: wg/0\n",
	  "@:1: Iface: \"wg/0\" is not an interface name (1..15 printable characters, no '/', ':' "
	  "or spaces)" },
	{ "wirelink.wg0.yaml", "Port: 1\nPotr: 2\n",
	  "@:2: Potr: unknown key (known keys: Iface, Port, Router, Chatty, Debug, Backend, "
	  "PortMapping, ControlGroup, MetricsFile, Peers, ReportIfaces, "
	  "HideIfaces)" },
	{ "wirelink.wg0.yaml", "PortMapping: maybe\n",
	  "@:1: PortMapping: \"maybe\" is not a boolean (true or false)" },
	{ "wirelink.wg0.json", "{\"PortMapping\": \"nope\"}",
	  "@: PortMapping: \"nope\" is not a boolean (true or false)" },
	{ "wirelink.wg0.yaml", "ControlGroup: Wheel Group\n",
	  "@:1: ControlGroup: \"Wheel Group\" is not a group name ([a-z_][a-z0-9_-]*, at most 31 "
	  "characters) or number" },
	{ "wirelink.wg0.json", "{\"MetricsFile\": \"wirelink.prom\"}",
	  "@: MetricsFile: \"wirelink.prom\" is not an absolute file path" },
	{ "wirelink.wg0.json", "{\"ConfigPath\": \"/tmp\"}",
	  "@: ConfigPath: can only be set by a flag or the environment" },
	{ "wirelink.wg0.yaml", "port: 1\nPort: 2\n",
	  "@:2: Port: duplicate key (already given as \"port\")" },
	{ "wirelink.wg0.yaml", "Port: 1\nPort: 2\n",
	  "@:2: Port: duplicate key (already given as \"Port\")" },
	{ "wirelink.wg0.json", "{\"peers\": [], \"Peers\": []}",
	  "@: Peers: duplicate key (already given as \"peers\")" },
	{ "wirelink.wg0.json", "{\"Port\": 1,\n \"Port\": 2}",
	  "@:2:7: JSON syntax error: duplicate object key near '\"Port\"'" },
	{ "wirelink.wg0.json", "{\"Port\": 1,\n}",
	  "@:2:1: JSON syntax error: string or '}' expected near '}'" },
	{ "wirelink.wg0.json", "", "@:1:0: JSON syntax error: '[' or '{' expected near end of file" },
	{ "wirelink.wg0.json", "[]", "@: expected a mapping of settings at the top level, got a list" },
	{ "wirelink.wg0.yaml", "- a\n", "@:1: expected a mapping of settings at the top level, got a list" },
	{ "wirelink.wg0.yaml", "Port: [1\n",
	  "@:2:1: YAML syntax error: did not find expected ',' or ']' while parsing a flow sequence" },
	{ "wirelink.wg0.yaml", "Port: 1\n---\nPort: 2\n",
	  "@:2:1: content after the document at byte offset 8: \"---\"... (only one YAML document "
	  "is allowed)" },
	/* Content after the document, in both formats: where it starts. */
	{ "wirelink.wg0.json", "{\"Router\": true} garbage\n",
	  "@:1:18: content after the document at byte offset 17: \"garbage\"" },
	{ "wirelink.wg0.json", "{}\n{}", "@:2:1: content after the document at byte offset 3: \"{}\"" },
	{ "wirelink.wg0.json", "{\"Port\": 1}}", "@:1:12: content after the document at byte offset 11: \"}\"" },
	{ "wirelink.wg0.json", "[]\n\n  ,0123456789abcdefXYZ\n",
	  "@:3:3: content after the document at byte offset 6: \",0123456789abcde\"..." },
	{ "wirelink.wg0.yaml", "{Router: true} garbage\n",
	  "@:1:16: content after the document at byte offset 15: \"garbage\"" },
	{ "wirelink.wg0.yaml", "Router: true\n...\ngarbage\n",
	  "@:3:1: content after the document at byte offset 17: \"garbage\"" },
	/* Columns count characters, offsets bytes; a UTF-8 BOM is 3 bytes. */
	{ "wirelink.wg0.yaml", "# \xc3\xa9\xc3\xa9\nPort: 1\n...\n\xc3\xa9x\n",
	  "@:4:1: content after the document at byte offset 19: \"\\xc3\\xa9x\"" },
	{ "wirelink.wg0.yaml", "\xef\xbb\xbfPort: 1\n...\nx\n",
	  "@:3:1: content after the document at byte offset 15: \"x\"" },
	/* Bytes that are not text: libyaml says what, we say where. */
	{ "wirelink.wg0.yaml", "Port: \"\xff\"\n",
	  "@:1:8: YAML syntax error at byte offset 7: invalid leading UTF-8 octet (0xff)" },
	{ "wirelink.wg0.yaml", "Port: 1\nDebug: \x01\n",
	  "@:2:8: YAML syntax error at byte offset 15: control characters are not allowed (0x01)" },
	/* No peer has the all-zero key. */
	{ "wirelink.wg0.yaml", "Peers:\n  - PublicKey: " ZERO_KEY "\n",
	  "@:2: Peers[0].PublicKey: \"" ZERO_KEY "\" is the all-zero key, not a peer's public key" },
	{ "wirelink.wg0.json", "{\"Peers\": [{\"PublicKey\": \"" KEY1 "\"}, {\"PublicKey\": \"" ZERO_KEY
	  "\"}]}",
	  "@: Peers[1].PublicKey: \"" ZERO_KEY "\" is the all-zero key, not a peer's public key" },
	/* More endpoints than the daemon keeps per peer. */
	{ "wirelink.wg0.yaml", "Peers:\n  - PublicKey: " KEY1 "\n    Endpoints: [" EPS16 ", h17:17]\n",
	  "@:3: Peers[0].Endpoints: 17 endpoints, more than the 16 a peer may have (the daemon "
	  "would use only the first 16)" },
	{ "wirelink.wg0.json", "{\"Peers\": [{\"PublicKey\": \"" KEY1 "\", \"Endpoints\": [" EPS16Q
	  ", \"h17:17\", \"h18:18\"]}]}",
	  "@: Peers[0].Endpoints: 18 endpoints, more than the 16 a peer may have (the daemon "
	  "would use only the first 16)" },
	{ "wirelink.wg0.yaml", "Peers:\n  - &a\n    PublicKey: " KEY1 "\n  - *b\n",
	  "@:4: alias *\"b\": no anchor of that name before it" },
	{ "wirelink.wg0.yaml", "Port: !foo 5\n",
	  "@:1: YAML tags other than the standard ones are not supported in config files" },
	{ "wirelink.wg0.yaml", "? [a]\n: 1\n", "@:1: non-text keys are not supported in config files" },
	{ "wirelink.wg0.yaml", "ReportIfaces: [\"eth[0\"]\n",
	  "@:1: ReportIfaces[0]: \"eth[0\" is not a glob ('[' without ']')" },
	{ "wirelink.wg0.yaml", "HideIfaces: [\"x\", \"[[:bogus:]]\"]\n",
	  "@:1: HideIfaces[1]: \"[[:bogus:]]\" is not a glob (unknown [:class:])" },
	{ "wirelink.wg0.json", "{\"HideIfaces\": [\"a\\\\\"]}",
	  "@: HideIfaces[0]: \"a\\\\\" is not a glob (ends in a backslash)" },
	{ "wirelink.wg0.json", "{\"HideIfaces\": [\"\"]}", "@: HideIfaces[0]: \"\" is not a glob (empty)" },
	{ "wirelink.wg0.json", "{\"HideIfaces\": {\"docker*\": 1}}",
	  "@: HideIfaces: expected a list of interface name globs, got a mapping" },
	{ "wirelink.wg0.yaml", "Peers:\n  - PublicKey: \"\\0\"\n", "@:2: a value contains a NUL character" },
	{ "wirelink.wg0.json", "{\"a\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	  "@: nested more than 32 levels deep" },
};

TEST(bad_files_exact_messages)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct wl_config *cfg = (struct wl_config *)1;
		char err[512], path[256], want[768];
		int rc = load_file(c->file, c->content, &cfg, err, sizeof(err), path, sizeof(path));
		tdir_expand(want, sizeof(want), c->msg, path);
		CHECK_MSG(rc == CONFIG_E_FILE, "case %zu: rc %d", i, rc);
		CHECK_MSG(cfg == NULL, "case %zu: config returned on error", i);
		CHECK_MSG(strcmp(err, want) == 0, "case %zu:\n  got  %s\n  want %s", i, err, want);
		CHECK_EQ(config_exit_status(rc), 2);
	}
}

TEST(unreadable_file)
{
	struct tdir d;
	tdir_make(&d, "wl-config-test");
	char p[128];
	snprintf(p, sizeof(p), "%s/wirelink.wg0.json", d.path);
	CHECK_EQ(mkdir(p, 0700), 0); /* a directory where the file should be */
	struct wl_config *cfg;
	char err[512], want[256];
	CHECK_EQ(load(&d, NULL, NULL, &cfg, err, sizeof(err)), CONFIG_E_FILE);
	CHECK(cfg == NULL);
	snprintf(want, sizeof(want), "%s: a directory, not a regular file", p);
	CHECK_STR(err, want);
	tdir_remove(&d);
}

/* ---- config input: what is there must plainly be a config file ---- */

/* Loads d's config (no env, no flags) expecting status want_rc and the
 * message pattern ('@' = d's path). */
static void expect_error(const struct tdir *d, const char *what, int want_rc, const char *pattern)
{
	struct wl_config *cfg = (struct wl_config *)1;
	char err[1024], want[1024];
	int rc = load(d, NULL, NULL, &cfg, err, sizeof(err));
	tdir_expand(want, sizeof(want), pattern, d->path);
	CHECK_MSG(rc == want_rc, "%s: rc %d (%s)", what, rc, err);
	CHECK_MSG(cfg == NULL, "%s: config returned on error", what);
	CHECK_MSG(strcmp(err, want) == 0, "%s:\n  got  %s\n  want %s", what, err, want);
	CHECK_EQ(config_exit_status(rc), 2);
	if (rc == CONFIG_OK)
		config_free(cfg);
}

TEST(fifo_is_refused_without_waiting)
{
	/* Opening a FIFO to read waits for a writer: that hung start-up and
	 * SIGHUP. If it ever blocks again, the alarm kills the suite, which
	 * tests/run counts as a failure (no clock is trusted otherwise). */
	struct tdir d;
	tdir_make(&d, "wl-config-test");
	char p[256];
	path_in(&d, "wirelink.wg0.json", p, sizeof(p));
	CHECK_EQ(mkfifo(p, 0600), 0);
	alarm(30);
	expect_error(&d, "fifo", CONFIG_E_FILE, "@/wirelink.wg0.json: a FIFO (named pipe), not a regular file");
	alarm(0);
	tdir_remove(&d);
}

TEST(device_and_socket_are_refused)
{
	struct tdir d;
	tdir_make(&d, "wl-config-test");
	char p[256];
	/* A device behind a symbolic link: the kind is the target's. */
	path_in(&d, "wirelink.wg0.yaml", p, sizeof(p));
	CHECK_EQ(symlink("/dev/null", p), 0);
	expect_error(&d, "char device", CONFIG_E_FILE,
		     "@/wirelink.wg0.yaml: a character device, not a regular file");
	unlink(p);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	path_in(&d, "wirelink.wg0.yml", sa.sun_path, sizeof(sa.sun_path));
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	expect_error(&d, "socket", CONFIG_E_FILE, "@/wirelink.wg0.yml: a socket, not a regular file");
	close(fd);
	tdir_remove(&d);
}

TEST(dangling_symlink_is_an_error)
{
	struct tdir d;
	tdir_make(&d, "wl-config-test");
	char p[256], target[256], want[768];
	path_in(&d, "wirelink.wg0.yaml", p, sizeof(p));
	CHECK_EQ(symlink("moved-away.yaml", p), 0);
	expect_error(&d, "dangling", CONFIG_E_FILE,
		     "@/wirelink.wg0.yaml: dangling symbolic link to moved-away.yaml (No such file "
		     "or directory)");
	/* A target whose directory is a file. */
	unlink(p);
	tdir_put(&d, "plain", "");
	path_in(&d, "plain/x.yaml", target, sizeof(target));
	CHECK_EQ(symlink(target, p), 0);
	snprintf(want, sizeof(want),
		 "@/wirelink.wg0.yaml: dangling symbolic link to %s (Not a directory)", target);
	expect_error(&d, "through a file", CONFIG_E_FILE, want);
	/* Once the target is there, the link is read like the file. */
	unlink(p);
	tdir_put(&d, "real.yaml", "Port: 7\n");
	CHECK_EQ(symlink("real.yaml", p), 0);
	struct wl_config *cfg;
	char err[512];
	CHECK_EQ(load(&d, NULL, NULL, &cfg, err, sizeof(err)), CONFIG_OK);
	if (cfg) {
		CHECK_EQ(cfg->port, 7);
		CHECK_STR(cfg->config_file, p);
	}
	config_free(cfg);
	tdir_remove(&d);
}

/* A literal that may hold NUL bytes, and its length. */
#define BYTES(s) s, sizeof(s) - 1

TEST(nul_byte_is_refused_with_its_offset)
{
	static const struct {
		const char *file;
		const char *content;
		size_t len;
		const char *msg;
	} cases[] = {
		/* jansson took the NUL for the end of the input: "end of file
		 * expected near end of file"; libyaml said 1:1. */
		{ "wirelink.wg0.json", BYTES("{\"Router\": true}\0garbage"),
		  "@/wirelink.wg0.json:1:17: a NUL byte at byte offset 16 (config files are UTF-8 text)" },
		{ "wirelink.wg0.json", BYTES("{\"Router\": true}\n\0"),
		  "@/wirelink.wg0.json:2:1: a NUL byte at byte offset 17 (config files are UTF-8 text)" },
		{ "wirelink.wg0.yaml", BYTES("Router: true\n\0garbage"),
		  "@/wirelink.wg0.yaml:2:1: a NUL byte at byte offset 13 (config files are UTF-8 text)" },
		{ "wirelink.wg0.yaml", BYTES("Peers:\n  - Name: a\0b\n"),
		  "@/wirelink.wg0.yaml:2:12: a NUL byte at byte offset 18 (config files are UTF-8 text)" },
		/* UTF-16 ("Port: 1" with its byte order mark) is not UTF-8. */
		{ "wirelink.wg0.yml", BYTES("\xff\xfeP\0o\0r\0t\0:\0 \0001\0\n\0"),
		  "@/wirelink.wg0.yml:1:4: a NUL byte at byte offset 3 (config files are UTF-8 text)" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tdir d;
		tdir_make(&d, "wl-config-test");
		tdir_put_bytes(&d, cases[i].file, cases[i].content, cases[i].len);
		char what[32];
		snprintf(what, sizeof(what), "case %zu", i);
		expect_error(&d, what, CONFIG_E_FILE, cases[i].msg);
		tdir_remove(&d);
	}
}

TEST(given_config_path_must_be_a_directory)
{
	struct tdir d;
	tdir_make(&d, "wl-config-test");
	tdir_put(&d, "file", "");
	char missing[256], file[256], link[256], flag[300], env[300], want[768];
	path_in(&d, "missing", missing, sizeof(missing));
	path_in(&d, "file", file, sizeof(file));
	path_in(&d, "link", link, sizeof(link));
	CHECK_EQ(symlink(missing, link), 0);
	static const struct {
		int which; /* 0 missing, 1 a file, 2 a dangling link (to missing) */
		bool by_env;
		const char *why;
	} cases[] = {
		{ 0, false, "does not exist" },
		{ 0, true, "does not exist" },
		{ 1, false, "is not a directory (it is a regular file)" },
		{ 2, true, "is a dangling symbolic link to " },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *v = cases[i].which == 0 ? missing : cases[i].which == 1 ? file : link;
		bool dangling = cases[i].which == 2;
		snprintf(flag, sizeof(flag), "--config-path=%s", v);
		snprintf(env, sizeof(env), "WIRELINK_CONFIG_PATH=%s", v);
		const char *args[] = { cases[i].by_env ? NULL : flag, NULL };
		const char *envp[] = { cases[i].by_env ? env : NULL, NULL };
		struct wl_config *cfg = (struct wl_config *)1;
		char err[1024];
		int rc = load(NULL, args, envp, &cfg, err, sizeof(err));
		snprintf(want, sizeof(want), "%s: \"%s\" %s%s%s",
			 cases[i].by_env ? "environment: WIRELINK_CONFIG_PATH" : "command line: --config-path",
			 v, cases[i].why, dangling ? missing : "",
			 dangling ? " (No such file or directory)" : "");
		CHECK_MSG(rc == CONFIG_E_USAGE, "case %zu: rc %d", i, rc);
		CHECK_MSG(cfg == NULL, "case %zu: config returned on error", i);
		CHECK_MSG(strcmp(err, want) == 0, "case %zu:\n  got  %s\n  want %s", i, err, want);
		CHECK_EQ(config_exit_status(rc), 2);
	}
	/* Only the value that counts is checked: a flag overrides a bad
	 * environment value, and an empty one is unset. */
	snprintf(env, sizeof(env), "WIRELINK_CONFIG_PATH=%s", missing);
	const char *envp[] = { env, NULL };
	struct wl_config *cfg;
	char err[1024];
	CHECK_EQ(load(&d, NULL, envp, &cfg, err, sizeof(err)), CONFIG_OK);
	config_free(cfg);
	/* The default directory may be missing: no file, defaults. This looks
	 * at /etc/wireguard, for an interface name no one uses. */
	const char *unset[] = { "WIRELINK_CONFIG_PATH=", "WIRELINK_IFACE=wlcfgnotused0", NULL };
	CHECK_EQ(load(NULL, NULL, unset, &cfg, err, sizeof(err)), CONFIG_OK);
	if (cfg) {
		CHECK_STR(cfg->config_path, CONFIG_DEFAULT_PATH);
		CHECK(cfg->config_file == NULL);
	}
	config_free(cfg);
	tdir_remove(&d);
}

TEST(good_files_still_load)
{
	/* What the new refusals must not catch: white space and comments after
	 * the document, an explicit document end, a UTF-8 BOM in YAML, a peer
	 * with exactly as many endpoints as the daemon keeps. */
	static const struct {
		const char *file, *content;
	} cases[] = {
		{ "wirelink.wg0.json", "{\"Port\": 3}\n\n \t\r\n" },
		{ "wirelink.wg0.yaml", "Port: 3\n# the end\n\n" },
		{ "wirelink.wg0.yaml", "---\nPort: 3\n...\n# after the end marker\n" },
		{ "wirelink.wg0.yaml", "\xef\xbb\xbfPort: 3\n" },
		{ "wirelink.wg0.yaml", "Port: 3\nPeers:\n  - PublicKey: " KEY1 "\n    Endpoints: [" EPS16 "]\n" },
		{ "wirelink.wg0.json", "{\"Port\": 3, \"Peers\": [{\"PublicKey\": \"" KEY1 "\", \"Endpoints\": ["
		  EPS16Q "]}]}" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wl_config *cfg;
		char err[512];
		int rc = load_file(cases[i].file, cases[i].content, &cfg, err, sizeof(err), NULL, 0);
		CHECK_MSG(rc == CONFIG_OK, "case %zu: %s", i, err);
		if (cfg) {
			CHECK_EQ(cfg->port, 3);
			if (cfg->n_peers == 1) {
				CHECK_EQ(cfg->peers[0].n_endpoints, CONFIG_MAX_PEER_ENDPOINTS);
				CHECK_STR(cfg->peers[0].endpoints[15].host, "h16");
			}
		}
		config_free(cfg);
	}
}

static const struct usage_case {
	const char *env[3];
	const char *args[4];
	const char *msg;
} usage_cases[] = {
	{ { "WIRELINK_PORT=abc", NULL }, { NULL },
	  "environment: WIRELINK_PORT: \"abc\" is not a port number (0..65535; 0 = listen port "
	  "+ 1)" },
	{ { "WIRELINK_ROUTER=maybe", NULL }, { NULL },
	  "environment: WIRELINK_ROUTER: \"maybe\" is not a boolean (true or false)" },
	{ { "WIRELINK_IFACE=a/b", NULL }, { NULL },
	  "environment: WIRELINK_IFACE: \"a/b\" is not an interface name (1..15 printable "
	  "characters, no '/', ':' or spaces)" },
	{ { "WIRELINK_IFACE=0123456789abcdef", NULL }, { NULL },
	  "environment: WIRELINK_IFACE: \"0123456789abcdef\" is not an interface name (1..15 "
	  "printable characters, no '/', ':' or spaces)" },
	{ { "WIRELINK_BACKEND=go", NULL }, { NULL },
	  "environment: WIRELINK_BACKEND: \"go\" is not a backend (auto, kernel, userspace)" },
	/* wgdev's in-memory backend is for tests: users cannot pick it. */
	{ { NULL }, { "--backend", "memory", NULL },
	  "command line: --backend: \"memory\" is not a backend (auto, kernel, userspace)" },
	{ { "WIRELINK_PEERS=x", NULL }, { NULL },
	  "environment: WIRELINK_PEERS: Peers can only be set in the config file" },
	{ { "WIRELINK_HIDE_IFACES=x", NULL }, { NULL },
	  "environment: WIRELINK_HIDE_IFACES: HideIfaces can only be set in the config file" },
	{ { "WIRELINK_PORT_MAPPING=sometimes", NULL }, { NULL },
	  "environment: WIRELINK_PORT_MAPPING: \"sometimes\" is not a boolean (true or false)" },
	{ { NULL }, { "--port-mapping=2", NULL },
	  "command line: --port-mapping: \"2\" is not a boolean (true or false)" },
	{ { NULL }, { "--port-mapping", "false", NULL },
	  "command line: unexpected argument \"false\" (see --help)" },
	{ { NULL }, { "--port", "abc", NULL },
	  "command line: --port: \"abc\" is not a port number (0..65535; 0 = listen port + 1)" },
	{ { NULL }, { "--router=perhaps", NULL },
	  "command line: --router: \"perhaps\" is not a boolean (true or false)" },
	{ { NULL }, { "-i", "", NULL },
	  "command line: -i: \"\" is not an interface name (1..15 printable characters, no '/', "
	  "':' or spaces)" },
	{ { NULL }, { "--bogus", NULL }, "command line: unknown option \"--bogus\" (see --help)" },
	{ { NULL }, { "-x", NULL }, "command line: unknown option \"-x\" (see --help)" },
	{ { NULL }, { "--port", NULL }, "command line: option needs a value: \"--port\" (see --help)" },
	{ { NULL }, { "-d", "-i", NULL }, "command line: option needs a value: \"-i\" (see --help)" },
	{ { NULL }, { "--help=yes", NULL },
	  "command line: option takes no value: \"--help=yes\" (see --help)" },
	{ { NULL }, { "--router", "false", NULL },
	  "command line: unexpected argument \"false\" (see --help)" },
	{ { NULL }, { "--", "wg0", NULL }, "command line: unexpected argument \"wg0\" (see --help)" },
	{ { NULL }, { "--peers=x", NULL }, "command line: unknown option \"--peers=x\" (see --help)" },
	{ { NULL }, { "--Port=5", NULL }, "command line: unknown option \"--Port=5\" (see --help)" },
};

TEST(bad_env_and_flags_exact_messages)
{
	for (size_t i = 0; i < sizeof(usage_cases) / sizeof(usage_cases[0]); i++) {
		const struct usage_case *c = &usage_cases[i];
		struct tdir d;
		tdir_make(&d, "wl-config-test");
		struct wl_config *cfg = (struct wl_config *)1;
		char err[512];
		/* No --config-path after args that end in a flag wanting a value. */
		bool nodir = strstr(c->msg, "needs a value") != NULL;
		int rc = load(nodir ? NULL : &d, c->args, c->env, &cfg, err, sizeof(err));
		CHECK_MSG(rc == CONFIG_E_USAGE, "case %zu: rc %d", i, rc);
		CHECK_MSG(cfg == NULL, "case %zu: config returned on error", i);
		CHECK_MSG(strcmp(err, c->msg) == 0, "case %zu:\n  got  %s\n  want %s", i, err, c->msg);
		CHECK_EQ(config_exit_status(rc), 2);
		tdir_remove(&d);
	}
}

TEST(env_outside_our_prefix_is_ignored)
{
	struct tdir d;
	tdir_make(&d, "wl-config-test");
	const char *env[] = { "PATH=/bin", "WIRELINKX=1", "WL_PORT=5", "WIRELINK_DEBUG=", NULL };
	struct wl_config *cfg;
	char err[512];
	CHECK_EQ(load(&d, NULL, env, &cfg, err, sizeof(err)), CONFIG_OK);
	if (cfg) {
		CHECK_EQ(cfg->port, 0);
		CHECK(!cfg->debug);
	}
	config_free(cfg);
	tdir_remove(&d);
}

TEST(short_flags_bundle)
{
	struct tdir d;
	tdir_make(&d, "wl-config-test");
	struct wl_config *cfg;
	char err[512];
	const char *args[] = { "-di", "wg3", NULL };
	CHECK_EQ(load(&d, args, NULL, &cfg, err, sizeof(err)), CONFIG_OK);
	if (cfg) {
		CHECK(cfg->debug);
		CHECK_STR(cfg->iface, "wg3");
	}
	config_free(cfg);
	tdir_remove(&d);
}

TEST(help_and_version_ignore_env_and_file)
{
	struct tdir d;
	tdir_make(&d, "wl-config-test");
	tdir_put(&d, "wirelink.wg0.yaml", "Port: nonsense\n");
	const char *env[] = { "WIRELINK_BOGUS=1", NULL };
	static const struct {
		const char *args[3];
		bool help, version;
	} cases[] = {
		{ { "--help", NULL }, true, false },
		{ { "-h", NULL }, true, false },
		{ { "--version", NULL }, false, true },
		{ { "-V", "--port=5", NULL }, false, true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wl_config *cfg;
		char err[512];
		CHECK_EQ(load(&d, cases[i].args, env, &cfg, err, sizeof(err)), CONFIG_OK);
		if (cfg) {
			CHECK_EQ(cfg->show_help, cases[i].help);
			CHECK_EQ(cfg->show_version, cases[i].version);
		}
		config_free(cfg);
	}
	/* without them the file is an error (an unknown variable is only a
	 * warning: test_config_dropin) */
	struct wl_config *cfg;
	char err[512];
	CHECK_EQ(load(&d, NULL, env, &cfg, err, sizeof(err)), CONFIG_E_FILE);
	CHECK_EQ(load(&d, NULL, NULL, &cfg, err, sizeof(err)), CONFIG_E_FILE);
	tdir_remove(&d);
}

TEST(check_config_mode_still_validates)
{
	struct tdir d;
	tdir_make(&d, "wl-config-test");
	tdir_put(&d, "wirelink.wg0.yaml", "Port: 5\n");
	struct wl_config *cfg;
	char err[512];
	const char *args[] = { "--check-config", NULL };
	CHECK_EQ(load(&d, args, NULL, &cfg, err, sizeof(err)), CONFIG_OK);
	if (cfg)
		CHECK(cfg->check_config);
	config_free(cfg);
	tdir_put(&d, "wirelink.wg0.yaml", "Port: x\n");
	CHECK_EQ(load(&d, args, NULL, &cfg, err, sizeof(err)), CONFIG_E_FILE);
	tdir_remove(&d);
}

/* ---- dump ---- */

/* Dumps cfg, loads the dump back as `name` and checks both dumps match. */
static void round_trip(const struct wl_config *cfg, const char *name)
{
	char *first = dump_str(cfg);
	struct wl_config *again;
	char err[512];
	CHECK_EQ(load_file(name, first, &again, err, sizeof(err), NULL, 0), CONFIG_OK);
	CHECK_MSG(again != NULL, "%s: %s\n  dump: %s", name, err, first);
	if (again) {
		char *second = dump_str(again);
		CHECK_STR(second, first);
		free(second);
		check_full(again);
	}
	config_free(again);
	free(first);
}

TEST(dump_round_trip)
{
	struct wl_config *cfg;
	char err[512];
	CHECK_EQ(load_file("wirelink.wg0.yaml", full_yaml, &cfg, err, sizeof(err), NULL, 0),
		 CONFIG_OK);
	if (!cfg)
		return;
	char *d = dump_str(cfg);
	CHECK_STR(d, "{\"Iface\":\"wg0\",\"Port\":51821,\"Router\":false,\"Chatty\":true,"
		     "\"Debug\":true,\"Backend\":\"userspace\",\"PortMapping\":false,\"Leases\":true,\"QuietPeriod\":600,\"Dormant\":true,"
		     "\"QuotaFacts\":512,\"QuotaEndpoints\":16,\"QuotaAllowedIPs\":256,"
		     "\"QuotaNewMembers\":1024,\"QuotaNewMembersPerMinute\":256,\"LogTime\":\"auto\",\"Peers\":[{\"PublicKey\":\"" KEY1
		     "\",\"Name\":\"hub\",\"Trust\":\"Membership\",\"FactExchanger\":true,"
		     "\"Endpoints\":[\"hub.example.net:51820\",\"[2001:db8::1]:51820\","
		     "\"192.0.2.1:1\"],\"AllowedIPs\":[\"10.99.0.0/24\",\"2001:db8::/64\","
		     "\"192.0.2.7/32\"],\"Basic\":false},{\"PublicKey\":\"" KEY2
		     "\",\"Name\":\"printer\",\"FactExchanger\":false,\"Endpoints\":[],"
		     "\"AllowedIPs\":[],\"Basic\":true}],\"ReportIfaces\":[\"eth*\",\"wl[a-z]0\"],"
		     "\"HideIfaces\":[\"docker*\"]}\n");
	free(d);
	round_trip(cfg, "wirelink.wg0.json");
	/* JSON is YAML too: the dump also loads as a YAML file. */
	round_trip(cfg, "wirelink.wg0.yaml");
	config_free(cfg);
}

TEST(dump_defaults_round_trip)
{
	struct tdir d;
	tdir_make(&d, "wl-config-test");
	struct wl_config *cfg, *again;
	char err[512];
	CHECK_EQ(load(&d, NULL, NULL, &cfg, err, sizeof(err)), CONFIG_OK);
	if (!cfg) {
		tdir_remove(&d);
		return;
	}
	char *first = dump_str(cfg);
	CHECK_STR(first, "{\"Iface\":\"wg0\",\"Port\":0,\"Router\":null,\"Chatty\":false,"
			 "\"Debug\":false,\"Backend\":\"auto\",\"PortMapping\":true,\"Leases\":true,\"QuietPeriod\":600,\"Dormant\":true,"
			 "\"QuotaFacts\":512,\"QuotaEndpoints\":16,\"QuotaAllowedIPs\":256,"
			 "\"QuotaNewMembers\":1024,\"QuotaNewMembersPerMinute\":256,\"LogTime\":\"auto\",\"Peers\":[],\"ReportIfaces\":[],"
			 "\"HideIfaces\":[]}\n");
	tdir_put(&d, "wirelink.wg0.json", first);
	CHECK_EQ(load(&d, NULL, NULL, &again, err, sizeof(err)), CONFIG_OK);
	if (again) {
		char *second = dump_str(again);
		CHECK_STR(second, first);
		free(second);
	}
	free(first);
	config_free(cfg);
	config_free(again);
	tdir_remove(&d);
}

TEST(dump_shows_env_and_flag_values)
{
	struct tdir d;
	tdir_make(&d, "wl-config-test");
	tdir_put(&d, "wirelink.wg2.yaml", "Port: 1\n");
	const char *env[] = { "WIRELINK_IFACE=wg2", "WIRELINK_ROUTER=true", NULL };
	const char *args[] = { "--port=9", "--dump", NULL };
	struct wl_config *cfg;
	char err[512];
	CHECK_EQ(load(&d, args, env, &cfg, err, sizeof(err)), CONFIG_OK);
	if (cfg) {
		CHECK(cfg->dump);
		char *s = dump_str(cfg);
		CHECK(strstr(s, "\"Iface\":\"wg2\",\"Port\":9,\"Router\":true,") == s + 1);
		free(s);
	}
	config_free(cfg);
	tdir_remove(&d);
}

/* ---- help ---- */

TEST(help_mentions_every_flag)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	config_print_help(f);
	fclose(f);
	static const char *const sections[] = { "NAME\n", "SYNOPSIS\n", "DESCRIPTION\n",
						"OPTIONS\n", "CONFIGURATION FILE\n", "ENVIRONMENT\n",
						"SIGNALS\n", "EXIT STATUS\n" };
	const char *prev = buf;
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		const char *at = strstr(buf, sections[i]);
		CHECK_MSG(at != NULL, "section %s", sections[i]);
		CHECK_MSG(at == NULL || at >= prev, "section %s out of order", sections[i]);
		if (at)
			prev = at;
	}
	for (size_t i = 0; i < cfg_n_settings; i++) {
		const struct cfg_setting *s = &cfg_settings[i];
		char want[64];
		snprintf(want, sizeof(want), "--%s", s->flag);
		CHECK_MSG(strstr(buf, want) != NULL, "help lacks %s", want);
		if (s->short_flag) {
			snprintf(want, sizeof(want), "-%c, --%s", s->short_flag, s->flag);
			CHECK_MSG(strstr(buf, want) != NULL, "help lacks %s", want);
		}
		if (s->env)
			CHECK_MSG(strstr(buf, s->env) != NULL, "help lacks %s", s->env);
		if (s->deflt) {
			snprintf(want, sizeof(want), "Default: %s", s->deflt);
			CHECK_MSG(strstr(buf, want) != NULL, "help lacks %s for --%s", want, s->flag);
		}
	}
	static const char *const words[] = {
		"Peers", "ReportIfaces", "HideIfaces", "PublicKey", "Name", "Trust",
		"FactExchanger", "Endpoints", "AllowedIPs", "Basic", "SIGINT", "SIGTERM",
		"SIGUSR1", "SIGHUP", "/etc/wireguard", "wirelink.IFACE.json",
		"wirelink.IFACE.yaml", "  0  ", "  1  ", "  2  ",
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		CHECK_MSG(strstr(buf, words[i]) != NULL, "help lacks %s", words[i]);
	/* No line overflows a terminal. */
	for (const char *l = buf; *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		CHECK_MSG(n <= 80, "help line too long: %.*s", (int)n, l);
		l += n + (e ? 1 : 0);
	}
	free(buf);
}

TEST(help_example_is_a_valid_config)
{
	/* The YAML example in --help must load (with its own keys). */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	config_print_help(f);
	fclose(f);
	const char *start = strstr(buf, "    Router: false\n");
	const char *end = start ? strstr(start, "\n\n") : NULL;
	CHECK(start && end);
	if (start && end) {
		char yaml[1024] = "";
		size_t o = 0;
		for (const char *l = start; l < end && o + 100 < sizeof(yaml);) {
			const char *e = strchr(l, '\n');
			o += (size_t)snprintf(yaml + o, sizeof(yaml) - o, "%.*s\n",
					      (int)(e - l - 4), l + 4);
			l = e + 1;
		}
		struct wl_config *cfg;
		char err[512];
		CHECK_EQ(load_file("wirelink.wg0.yaml", yaml, &cfg, err, sizeof(err), NULL, 0),
			 CONFIG_OK);
		CHECK_MSG(cfg != NULL, "%s\n%s", err, yaml);
		if (cfg)
			CHECK_EQ(cfg->n_peers, 2);
		config_free(cfg);
	}
	free(buf);
}

/* ---- report filter ---- */

TEST(iface_report_filter)
{
	struct wl_config *cfg;
	char err[512];
	CHECK_EQ(load_file("wirelink.wg0.yaml", "HideIfaces: [docker*, veth?]\n", &cfg, err,
			   sizeof(err), NULL, 0),
		 CONFIG_OK);
	if (cfg) {
		CHECK(config_iface_reported(cfg, "eth0"));
		CHECK(!config_iface_reported(cfg, "docker0"));
		CHECK(!config_iface_reported(cfg, "veth1"));
		CHECK(config_iface_reported(cfg, "veth12"));
	}
	config_free(cfg);
	CHECK_EQ(load_file("wirelink.wg0.yaml", "ReportIfaces: [eth*, wl*]\nHideIfaces: [eth1]\n",
			   &cfg, err, sizeof(err), NULL, 0),
		 CONFIG_OK);
	if (cfg) {
		CHECK(config_iface_reported(cfg, "eth0"));
		CHECK(!config_iface_reported(cfg, "eth1")); /* hide wins */
		CHECK(config_iface_reported(cfg, "wlan0"));
		CHECK(!config_iface_reported(cfg, "enp3s0"));
	}
	config_free(cfg);
}

TEST(backend_names_match_wgdev_enum)
{
	CHECK_STR(wgdev_backend_name(WGDEV_AUTO), "auto");
	CHECK_STR(wgdev_backend_name(WGDEV_KERNEL), "kernel");
	CHECK_STR(wgdev_backend_name(WGDEV_USERSPACE), "userspace");
	CHECK_EQ(config_exit_status(CONFIG_OK), 0);
	CHECK_EQ(config_exit_status(CONFIG_E_NOMEM), 1);
}

TEST(quote_is_safe_and_bounded)
{
	char q[CFG_QUOTE_MAX];
	CHECK_STR(cfg_quote("a\"b\\c\n\xff", q), "\"a\\\"b\\\\c\\x0a\\xff\"");
	char longs[400];
	memset(longs, 'x', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	cfg_quote(longs, q);
	CHECK(strlen(q) < CFG_QUOTE_MAX);
	CHECK(strstr(q, "\"...") != NULL);
}

TEST(syntax_error_text_is_one_printable_line)
{
	/* jansson quotes raw input in its messages; a newline or a byte that is
	 * not UTF-8 must not reach the log as is. */
	static const char *const inputs[][2] = {
		{ "wirelink.wg0.json", "{\"Iface\":\"wg0\\\n  x\"}" },
		{ "wirelink.wg0.json", "{\"Iface\": \xff\xfe}" },
		{ "wirelink.wg0.yaml", "Iface: \"\xff\"\n" },
		{ "wirelink.wg0.yaml", "\tPort: 1\n" },
	};
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct wl_config *cfg;
		char err[512];
		CHECK_EQ(load_file(inputs[i][0], inputs[i][1], &cfg, err, sizeof(err), NULL, 0),
			 CONFIG_E_FILE);
		for (const unsigned char *p = (const unsigned char *)err; *p; p++)
			CHECK_MSG(*p >= 0x20 && *p < 0x7f, "case %zu: byte %02x in: %s", i, *p, err);
		CHECK_MSG(strstr(err, "syntax error") != NULL, "case %zu: %s", i, err);
	}
}

TEST(reload_keeps_the_old_config_on_error)
{
	/* What the daemon does on SIGHUP: load again; on error keep the old. */
	struct tdir d;
	tdir_make(&d, "wl-config-test");
	tdir_put(&d, "wirelink.wg0.yaml", "Port: 5\nPeers:\n  - PublicKey: " KEY1 "\n");
	struct wl_config *old, *next = (struct wl_config *)1;
	char err[512];
	CHECK_EQ(load(&d, NULL, NULL, &old, err, sizeof(err)), CONFIG_OK);
	if (!old) {
		tdir_remove(&d);
		return;
	}
	char *before = dump_str(old);
	/* A file that is valid up to its last line must not leak half of it. */
	tdir_put(&d, "wirelink.wg0.yaml",
	    "Port: 6\nChatty: true\nPeers:\n  - PublicKey: " KEY2 "\nHideIfaces: [\"[\"]\n");
	CHECK_EQ(load(&d, NULL, NULL, &next, err, sizeof(err)), CONFIG_E_FILE);
	CHECK(next == NULL);
	char *after = dump_str(old);
	CHECK_STR(after, before);
	free(after);
	/* Each way a file can fail to be plainly a config file fails the
	 * reload the same way, before anything of it is used. */
	static const struct {
		const char *content;
		size_t len;
	} bad[] = {
		{ BYTES("Port: 6\n\0") },
		{ BYTES("Port: 6\n...\nPort: 7\n") },
		{ BYTES("Port: 6\nPeers:\n  - PublicKey: " ZERO_KEY "\n") },
		{ BYTES("Port: 6\nPeers:\n  - PublicKey: " KEY2 "\n    Endpoints: [" EPS16 ", h:17]\n") },
	};
	char p[256], moved[256];
	path_in(&d, "wirelink.wg0.yaml", p, sizeof(p));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]) + 3; i++) {
		unlink(p);
		if (i < sizeof(bad) / sizeof(bad[0]))
			tdir_put_bytes(&d, "wirelink.wg0.yaml", bad[i].content, bad[i].len);
		else if (i == sizeof(bad) / sizeof(bad[0]))
			CHECK_EQ(mkfifo(p, 0600), 0);
		else
			CHECK_EQ(symlink("gone.yaml", p), 0);
		/* The last round: the directory given on the command line is gone. */
		bool dir_gone = i == sizeof(bad) / sizeof(bad[0]) + 2;
		if (dir_gone) {
			snprintf(moved, sizeof(moved), "%s.moved", d.path);
			CHECK_EQ(rename(d.path, moved), 0);
		}
		alarm(30); /* the FIFO: see fifo_is_refused_without_waiting */
		int rc = load(&d, NULL, NULL, &next, err, sizeof(err));
		alarm(0);
		CHECK_MSG(rc == (dir_gone ? CONFIG_E_USAGE : CONFIG_E_FILE), "round %zu: rc %d (%s)", i,
			  rc, err);
		CHECK(next == NULL);
		after = dump_str(old);
		CHECK_STR(after, before);
		free(after);
		if (dir_gone)
			CHECK_EQ(rename(moved, d.path), 0);
	}
	unlink(p);
	/* fixed: the new one takes effect */
	tdir_put(&d, "wirelink.wg0.yaml", "Port: 6\n");
	CHECK_EQ(load(&d, NULL, NULL, &next, err, sizeof(err)), CONFIG_OK);
	if (next) {
		CHECK_EQ(next->port, 6);
		CHECK_EQ(next->n_peers, 0);
	}
	config_free(next);
	free(before);
	config_free(old);
	tdir_remove(&d);
}

TEST(yaml_lines_point_at_the_value)
{
	/* Block and flow styles, comments and blank lines: the line is the
	 * offending value's. */
	static const struct {
		const char *yaml;
		unsigned line;
	} cases[] = {
		{ "# c\n\nPort: x\n", 3 },
		{ "Peers:\n\n  # c\n  - PublicKey: " KEY1 "\n    Endpoints:\n      - a:1\n      - b\n", 7 },
		{ "Peers: [{PublicKey: " KEY1 ",\n  AllowedIPs: [10.0.0.0/8,\n   bad]}]\n", 3 },
		{ "HideIfaces:\n- a\n- '['\n", 3 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wl_config *cfg;
		char err[512], path[256], want[300];
		CHECK_EQ(load_file("wirelink.wg0.yaml", cases[i].yaml, &cfg, err, sizeof(err), path,
				   sizeof(path)),
			 CONFIG_E_FILE);
		snprintf(want, sizeof(want), "%s:%u: ", path, cases[i].line);
		CHECK_MSG(strncmp(err, want, strlen(want)) == 0, "case %zu: %s", i, err);
	}
}
