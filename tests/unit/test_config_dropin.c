/* Drop-in configs from the original Go wirelink (issue 11, item 4): each
 * kind of input the original accepted loads with its meaning, and where it
 * is dubious the log gets one warning line naming the file (and line), key
 * path and value and saying what was done. Every case asserts both: the
 * values loaded and the exact warning lines. Hermetic like test_config:
 * a temp directory as --config-path and an explicit environment. The
 * corpus of whole files is checked by tests/cli/test_config_corpus.sh. */
#include <netdb.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "config/config_internal.h"
#include "harness.h"
#include "tdir.h"
#include "sys/log.h"

#define KEY1 "18dCY1rwCNo4aQaWFccKFfhbqG0FGBxDkCSbyQ3awkw="
#define KEY2 "ZPGUiCJbr4B/VNnQHQ4HxKtPPjbR1o+BWQXKn8jPQRk="

/* ---- warnings: every log line at load is captured ---- */

#define MAX_LINES 64
static char lines[MAX_LINES][1024];
static size_t n_lines;

static void sink(void *ctx, enum log_level level, const char *line)
{
	(void)ctx;
	if (n_lines < MAX_LINES)
		snprintf(lines[n_lines++], sizeof(lines[0]), "%s%s",
			 level == LOG_LVL_WARN ? "" : "(not a warning) ", line);
}

static void capture(void)
{
	n_lines = 0;
	log_set_sink(sink, NULL);
}

/* config_load with argv = {"wirelink", args..., "--config-path", dir}. */
static int load(const struct tdir *d, const char *const *args, const char *const *env,
		struct wl_config **cfg, char *err, size_t errlen)
{
	char *argv[16], *envp[16];
	int argc = 0;
	argv[argc++] = (char *)"wirelink";
	for (size_t i = 0; args && args[i]; i++)
		argv[argc++] = (char *)args[i];
	argv[argc++] = (char *)"--config-path";
	argv[argc++] = (char *)d->path;
	argv[argc] = NULL;
	size_t n = 0;
	for (; env && env[n]; n++)
		envp[n] = (char *)env[n];
	envp[n] = NULL;
	capture();
	int rc = config_load(argc, argv, envp, cfg, err, errlen);
	log_set_sink(NULL, NULL);
	return rc;
}

/* The last load's file path, for '@' in expected lines. */
static char file_path[256];

/* Loads one file; NULL (and a FAIL) if it does not load. */
static struct wl_config *load_one(const char *name, const char *content)
{
	struct tdir d;
	tdir_make(&d, "wl-dropin-test");
	tdir_put(&d, name, content);
	snprintf(file_path, sizeof(file_path), "%s/%s", d.path, name);
	struct wl_config *cfg = NULL;
	char err[1024];
	int rc = load(&d, NULL, NULL, &cfg, err, sizeof(err));
	CHECK_MSG(rc == CONFIG_OK, "%s: %s", name, err);
	tdir_remove(&d);
	return cfg;
}

/* The captured lines are exactly `want` (NULL-terminated), in order. */
#define CHECK_WARNINGS(...) check_warnings(__LINE__, (const char *const[]){ __VA_ARGS__, NULL })
static void check_warnings(int line, const char *const *want)
{
	size_t n = 0;
	for (; want[n]; n++) {
		char w[1024];
		tdir_expand(w, sizeof(w), want[n], file_path);
		if (n >= n_lines)
			harness_fail(__FILE__, line, "warning %zu missing: %s", n, w);
		else if (strcmp(lines[n], w) != 0)
			harness_fail(__FILE__, line, "warning %zu:\n  got  %s\n  want %s", n, lines[n], w);
	}
	for (size_t i = n; i < n_lines; i++)
		harness_fail(__FILE__, line, "unexpected line: %s", lines[i]);
}
#define CHECK_NO_WARNINGS() check_warnings(__LINE__, (const char *const[]){ NULL })

static const struct wl_config_peer *peer(const struct wl_config *cfg, const char *b64)
{
	uint8_t key[WL_KEY_LEN];
	if (!key_from_base64(b64, key))
		return NULL;
	return config_find_peer(cfg, key);
}

static char *dump_str(const struct wl_config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	config_dump(cfg, f);
	fclose(f);
	return buf;
}

/* What was read must mean the same when written out: the dump of a
 * drop-in config loads again without a single warning, to the same dump. */
static void check_dump_is_clean(const struct wl_config *cfg)
{
	char *first = dump_str(cfg);
	struct wl_config *again = load_one("wirelink.wg0.json", first);
	CHECK_NO_WARNINGS();
	if (again) {
		char *second = dump_str(again);
		CHECK_STR(second, first);
		free(second);
	}
	config_free(again);
	free(first);
}

/* ---- numbers and booleans written as strings, and the reverse ---- */

TEST(strings_numbers_and_booleans_are_weakly_typed)
{
	struct wl_config *cfg = load_one(
		"wirelink.wg0.json",
		"{\"Port\": \"51821\", \"Router\": \"false\", \"Chatty\": \"True\", \"Debug\": 1,\n"
		" \"PortMapping\": \"\", \"QuotaFacts\": \"600\",\n"
		" \"Peers\": [{\"PublicKey\": \"" KEY1 "\", \"Basic\": \"true\", \"FactExchanger\": 0,\n"
		"   \"Name\": 7, \"Trust\": \"Endpoint\"},\n"
		"  {\"PublicKey\": \"" KEY2 "\", \"Name\": true, \"Basic\": \"f\"}]}");
	CHECK_WARNINGS("@: Port: \"51821\" is a string, not a number; treated as the number 51821",
		       "@: Router: \"false\" is a string, not a boolean; treated as false",
		       "@: Chatty: \"True\" is a string, not a boolean; treated as true",
		       "@: Debug: 1 is a number, not a boolean; treated as true",
		       "@: PortMapping: \"\" is a string, not a boolean; treated as false",
		       "@: QuotaFacts: \"600\" is a string, not a number; treated as the number 600",
		       "@: Peers[0].Basic: \"true\" is a string, not a boolean; treated as true",
		       "@: Peers[0].FactExchanger: 0 is a number, not a boolean; treated as false",
		       "@: Peers[0].Name: 7 is a number, not a string; treated as the string \"7\"",
		       "@: Peers[1].Name: true is a boolean, not a string; treated as the string "
		       "\"1\" (as the original did)",
		       "@: Peers[1].Basic: \"f\" is a string, not a boolean; treated as false");
	if (!cfg)
		return;
	CHECK_EQ(cfg->port, 51821);
	CHECK_EQ(cfg->router, WL_NO);
	CHECK(cfg->chatty);
	CHECK(cfg->debug);
	CHECK(!cfg->port_mapping);
	CHECK_EQ(cfg->quota_facts, 600);
	const struct wl_config_peer *p = peer(cfg, KEY1), *q = peer(cfg, KEY2);
	CHECK(p && q);
	if (p && q) {
		CHECK_EQ(p->basic, WL_YES);
		CHECK(!p->fact_exchanger);
		CHECK_STR(p->name, "7");
		CHECK_EQ(p->trust, TRUST_ENDPOINT);
		CHECK_STR(q->name, "1");
		CHECK_EQ(q->basic, WL_NO);
	}
	check_dump_is_clean(cfg);
	config_free(cfg);
}

TEST(yaml_quoted_numbers_and_empty_port)
{
	struct wl_config *cfg = load_one("wirelink.wg0.yaml", "Port: '51821'\nChatty: \"yes\"\n");
	CHECK_WARNINGS("@:1: Port: \"51821\" is a string, not a number; treated as the number 51821",
		       "@:2: Chatty: \"yes\" is a string, not a boolean; treated as true");
	if (cfg) {
		CHECK_EQ(cfg->port, 51821);
		CHECK(cfg->chatty);
	}
	config_free(cfg);
	cfg = load_one("wirelink.wg0.json", "{\"Port\": \"\"}");
	CHECK_WARNINGS("@: Port: \"\" is a string, not a number; treated as the number 0");
	if (cfg)
		CHECK_EQ(cfg->port, 0);
	config_free(cfg);
	/* a whole number written as a real (the original truncated any) */
	cfg = load_one("wirelink.wg0.json", "{\"Port\": 51821.0, \"QuotaFacts\": 6e2}");
	CHECK_WARNINGS("@: Port: 51821 is a real number, not an integer; treated as the integer 51821",
		       "@: QuotaFacts: 600 is a real number, not an integer; treated as the integer 600");
	if (cfg) {
		CHECK_EQ(cfg->port, 51821);
		CHECK_EQ(cfg->quota_facts, 600);
	}
	config_free(cfg);
}

/* ---- YAML 1.1 booleans ---- */

TEST(yaml_1_1_booleans)
{
	static const char *const yes[] = { "y", "Y", "yes", "Yes", "YES", "on", "On", "ON",
					   "true", "True", "TRUE" };
	static const char *const no[] = { "n", "N", "no", "No", "NO", "off", "Off", "OFF",
					  "false", "False", "FALSE" };
	for (size_t v = 0; v < 2; v++) {
		const char *const *list = v ? no : yes;
		size_t n = v ? sizeof(no) / sizeof(no[0]) : sizeof(yes) / sizeof(yes[0]);
		for (size_t i = 0; i < n; i++) {
			char text[256];
			snprintf(text, sizeof(text),
				 "Chatty: %s\nRouter: %s\nPeers:\n  - PublicKey: " KEY1
				 "\n    Basic: %s\n    FactExchanger: %s\n",
				 list[i], list[i], list[i], list[i]);
			struct wl_config *cfg = load_one("wirelink.wg0.yaml", text);
			CHECK_NO_WARNINGS(); /* they are booleans in YAML 1.1: nothing dubious */
			if (!cfg)
				continue;
			bool want = v == 0;
			CHECK_MSG(cfg->chatty == want, "%s", list[i]);
			CHECK_MSG(cfg->router == (want ? WL_YES : WL_NO), "%s", list[i]);
			CHECK_MSG(cfg->peers[0].basic == (want ? WL_YES : WL_NO), "%s", list[i]);
			CHECK_MSG(cfg->peers[0].fact_exchanger == want, "%s", list[i]);
			config_free(cfg);
		}
	}
}

TEST(router_auto_is_auto_detection)
{
	static const char *const files[][2] = {
		{ "wirelink.wg0.yaml", "Router: auto\n" },
		{ "wirelink.wg0.json", "{\"Router\": \"auto\"}" },
		{ "wirelink.wg0.json", "{\"router\": \"AUTO\"}" },
	};
	for (size_t i = 0; i < 3; i++) {
		struct wl_config *cfg = load_one(files[i][0], files[i][1]);
		CHECK_NO_WARNINGS();
		if (cfg)
			CHECK_EQ(cfg->router, WL_AUTO);
		config_free(cfg);
	}
	/* and from the environment and the command line, over a file's true */
	struct tdir d;
	tdir_make(&d, "wl-dropin-test");
	tdir_put(&d, "wirelink.wg0.yaml", "Router: true\n");
	struct wl_config *cfg;
	char err[512];
	const char *env[] = { "WIRELINK_ROUTER=auto", NULL };
	CHECK_EQ(load(&d, NULL, env, &cfg, err, sizeof(err)), CONFIG_OK);
	if (cfg)
		CHECK_EQ(cfg->router, WL_AUTO);
	config_free(cfg);
	const char *args[] = { "--router=auto", NULL };
	CHECK_EQ(load(&d, args, NULL, &cfg, err, sizeof(err)), CONFIG_OK);
	if (cfg)
		CHECK_EQ(cfg->router, WL_AUTO);
	config_free(cfg);
	tdir_remove(&d);
}

/* ---- a string where a list is wanted, commas ---- */

TEST(single_strings_and_commas_make_lists)
{
	struct wl_config *cfg = load_one(
		"wirelink.wg0.yaml",
		"HideIfaces: \"docker*,veth*\"\n"
		"ReportIfaces: [\"eth[0,1]\", wl*]\n"
		"Peers:\n"
		"  - PublicKey: " KEY1 "\n"
		"    Endpoints: \"a.example:1,b.example:2\"\n"
		"    AllowedIPs: \"10.0.0.0/24, 10.1.0.0/24\"\n"
		"  - PublicKey: " KEY2 "\n"
		"    Endpoints: [\"c.example:3, [2001:db8::1]:4\", d.example:5]\n"
		"    AllowedIPs: 10.2.0.0/24\n");
	CHECK_WARNINGS(
		"@:1: HideIfaces: \"docker*,veth*\" is a single string, not a list; treated as the "
		"list [\"docker*\", \"veth*\"]",
		"@:5: Peers[0].Endpoints: \"a.example:1,b.example:2\" is a single string, not a "
		"list; treated as the list [\"a.example:1\", \"b.example:2\"]",
		"@:6: Peers[0].AllowedIPs: \"10.0.0.0/24, 10.1.0.0/24\" is a single string, not a "
		"list; treated as the list [\"10.0.0.0/24\", \"10.1.0.0/24\"]",
		"@:8: Peers[1].Endpoints[0]: \"c.example:3, [2001:db8::1]:4\" holds several values "
		"separated by commas; treated as [\"c.example:3\", \"[2001:db8::1]:4\"]",
		"@:9: Peers[1].AllowedIPs: \"10.2.0.0/24\" is a single string, not a list; treated "
		"as the list [\"10.2.0.0/24\"]");
	if (!cfg)
		return;
	CHECK_EQ(cfg->n_hide_ifaces, 2);
	if (cfg->n_hide_ifaces == 2) {
		CHECK_STR(cfg->hide_ifaces[0], "docker*");
		CHECK_STR(cfg->hide_ifaces[1], "veth*");
	}
	/* a glob list element keeps its comma: [0,1] is a bracket expression */
	CHECK_EQ(cfg->n_report_ifaces, 2);
	if (cfg->n_report_ifaces == 2)
		CHECK_STR(cfg->report_ifaces[0], "eth[0,1]");
	CHECK(config_iface_reported(cfg, "eth1"));
	CHECK(!config_iface_reported(cfg, "veth1"));
	const struct wl_config_peer *p = peer(cfg, KEY1), *q = peer(cfg, KEY2);
	CHECK(p && q);
	if (p && q) {
		CHECK_EQ(p->n_endpoints, 2);
		CHECK_EQ(p->n_allowed_ips, 2);
		if (p->n_endpoints == 2 && p->n_allowed_ips == 2) {
			CHECK_STR(p->endpoints[1].host, "b.example");
			CHECK_EQ(p->endpoints[1].port, 2);
			char c[WL_CIDR_STR_MAX];
			CHECK_STR(wl_cidr_str(&p->allowed_ips[1], c), "10.1.0.0/24");
		}
		CHECK_EQ(q->n_endpoints, 3);
		if (q->n_endpoints == 3) {
			CHECK_STR(q->endpoints[0].host, "c.example");
			CHECK_STR(q->endpoints[1].host, "2001:db8::1");
			CHECK_EQ(q->endpoints[1].port, 4);
			CHECK_STR(q->endpoints[2].host, "d.example");
		}
		CHECK_EQ(q->n_allowed_ips, 1);
	}
	check_dump_is_clean(cfg);
	config_free(cfg);
}

TEST(empty_strings_and_mappings_are_empty_lists)
{
	struct wl_config *cfg = load_one("wirelink.wg0.json",
					 "{\"HideIfaces\": \"\", \"ReportIfaces\": {}, \"Peers\": "
					 "[{\"PublicKey\": \"" KEY1 "\", \"Endpoints\": \"\"}]}");
	CHECK_WARNINGS("@: HideIfaces: \"\" is a single string, not a list; treated as the list []",
		       "@: ReportIfaces: an empty mapping, not a list; treated as an empty list",
		       "@: Peers[0].Endpoints: \"\" is a single string, not a list; treated as the "
		       "list []");
	if (cfg) {
		CHECK_EQ(cfg->n_hide_ifaces, 0);
		CHECK_EQ(cfg->n_report_ifaces, 0);
		CHECK_EQ(cfg->peers[0].n_endpoints, 0);
	}
	config_free(cfg);
	cfg = load_one("wirelink.wg0.json", "{\"Peers\": {}}");
	CHECK_WARNINGS("@: Peers: an empty mapping, not a list; treated as no peers");
	if (cfg)
		CHECK_EQ(cfg->n_peers, 0);
	config_free(cfg);
}

TEST(commas_do_not_hide_bad_values)
{
	/* Split parts are checked like any value, in the list's numbering. */
	struct tdir d;
	tdir_make(&d, "wl-dropin-test");
	tdir_put(&d, "wirelink.wg0.json",
	    "{\"Peers\": [{\"PublicKey\": \"" KEY1 "\", \"AllowedIPs\": \"10.0.0.0/24, 10.1.0.0\"}]}");
	struct wl_config *cfg = NULL;
	char err[512], want[512];
	CHECK_EQ(load(&d, NULL, NULL, &cfg, err, sizeof(err)), CONFIG_E_FILE);
	snprintf(want, sizeof(want),
		 "%s/wirelink.wg0.json: Peers[0].AllowedIPs[1]: \"10.1.0.0\" is not a CIDR prefix "
		 "(address/length)", d.path);
	CHECK_STR(err, want);
	tdir_put(&d, "wirelink.wg0.json",
	    "{\"Peers\": [{\"PublicKey\": \"" KEY1 "\", \"Endpoints\": [\"a:1\", \"b:2,c:0\"]}]}");
	CHECK_EQ(load(&d, NULL, NULL, &cfg, err, sizeof(err)), CONFIG_E_FILE);
	snprintf(want, sizeof(want),
		 "%s/wirelink.wg0.json: Peers[0].Endpoints[1]: \"c:0\" is not an endpoint (port "
		 "must be 1..65535)", d.path);
	CHECK_STR(err, want);
	/* 17 endpoints in one string are still too many */
	char p[256];
	snprintf(p, sizeof(p), "%s/wirelink.wg0.json", d.path);
	remove(p);
	tdir_put(&d, "wirelink.wg0.yaml",
	    "Peers:\n  - PublicKey: " KEY1 "\n    Endpoints: \"h1:1,h2:1,h3:1,h4:1,h5:1,h6:1,h7:1,"
	    "h8:1,h9:1,h10:1,h11:1,h12:1,h13:1,h14:1,h15:1,h16:1,h17:1\"\n");
	CHECK_EQ(load(&d, NULL, NULL, &cfg, err, sizeof(err)), CONFIG_E_FILE);
	snprintf(want, sizeof(want),
		 "%s/wirelink.wg0.yaml:3: Peers[0].Endpoints: 17 endpoints, more than the 16 a peer "
		 "may have (the daemon would use only the first 16)", d.path);
	CHECK_STR(err, want);
	tdir_remove(&d);
}

/* ---- a single peer mapping ---- */

TEST(single_peer_mapping_is_a_list_of_one)
{
	struct wl_config *cfg = load_one("wirelink.wg0.yaml",
					 "Peers:\n  PublicKey: " KEY1 "\n  Name: hub\n  Trust: "
					 "Membership\n");
	CHECK_WARNINGS("@:2: Peers: a single peer (a mapping), not a list; treated as a list of "
		       "one peer");
	if (cfg) {
		CHECK_EQ(cfg->n_peers, 1);
		CHECK_STR(cfg->peers[0].name, "hub");
		CHECK_EQ(cfg->peers[0].trust, TRUST_MEMBERSHIP);
		check_dump_is_clean(cfg);
	}
	config_free(cfg);
}

/* ---- the same public key twice ---- */

TEST(same_public_key_twice_the_later_wins)
{
	struct wl_config *cfg = load_one("wirelink.wg0.yaml",
					 "Peers:\n"
					 "  - PublicKey: " KEY1 "\n    Name: first\n    Trust: Endpoint\n"
					 "  - PublicKey: " KEY2 "\n    Name: other\n"
					 "  - PublicKey: " KEY1 "\n    Name: second\n    Basic: true\n");
	CHECK_WARNINGS("@:7: Peers[2].PublicKey: \"" KEY1 "\" is also the key of Peers[0]; the "
		       "later entry wins (Peers[0] is ignored)");
	if (!cfg)
		return;
	CHECK_EQ(cfg->n_peers, 2);
	const struct wl_config_peer *p = peer(cfg, KEY1);
	CHECK(p != NULL);
	if (p) {
		CHECK_STR(p->name, "second");
		CHECK_EQ(p->trust, TRUST_UNSET); /* nothing of the first entry is kept */
		CHECK_EQ(p->basic, WL_YES);
	}
	CHECK(peer(cfg, KEY2) != NULL);
	check_dump_is_clean(cfg);
	config_free(cfg);
}

/* ---- names and trust ---- */

TEST(names_become_sendable_and_empty_means_unset)
{
	static const struct {
		const char *yaml_value, *want, *warning;
	} cases[] = {
		{ "my laptop", "my_laptop",
		  "@:3: Peers[0].Name: \"my laptop\" is longer than 16 bytes or has spaces or control "
		  "characters, which peers need not accept; treated as \"my_laptop\" (spaces and "
		  "control characters become '_', cut to 16 bytes)" },
		{ "0123456789abcdefghij", "0123456789abcdef",
		  "@:3: Peers[0].Name: \"0123456789abcdefghij\" is longer than 16 bytes or has spaces "
		  "or control characters, which peers need not accept; treated as "
		  "\"0123456789abcdef\" (spaces and control characters become '_', cut to 16 bytes)" },
		/* 15 bytes, then a 2-byte character: cut before it, not inside */
		{ "aaaaaaaaaaaaaaa\xc3\xa9", "aaaaaaaaaaaaaaa",
		  "@:3: Peers[0].Name: \"aaaaaaaaaaaaaaa\\xc3\\xa9\" is longer than 16 bytes or has "
		  "spaces or control characters, which peers need not accept; treated as "
		  "\"aaaaaaaaaaaaaaa\" (spaces and control characters become '_', cut to 16 bytes)" },
		{ "\"\\x01x\"", "_x",
		  "@:3: Peers[0].Name: \"\\x01x\" is longer than 16 bytes or has spaces or control "
		  "characters, which peers need not accept; treated as \"_x\" (spaces and control "
		  "characters become '_', cut to 16 bytes)" },
		{ "h\xc3\xb6st", "h\xc3\xb6st", NULL },
		{ "\"\"", NULL, "@:3: Peers[0].Name: \"\" is an empty name; treated as no name" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text), "Peers:\n  - PublicKey: " KEY1 "\n    Name: %s\n",
			 cases[i].yaml_value);
		struct wl_config *cfg = load_one("wirelink.wg0.yaml", text);
		if (cases[i].warning)
			CHECK_WARNINGS(cases[i].warning);
		else
			CHECK_NO_WARNINGS();
		if (!cfg)
			continue;
		if (cases[i].want)
			CHECK_STR(cfg->peers[0].name, cases[i].want);
		else
			CHECK_MSG(cfg->peers[0].name == NULL, "case %zu: a name", i);
		check_dump_is_clean(cfg);
		config_free(cfg);
	}
}

TEST(empty_trust_is_no_trust)
{
	struct wl_config *cfg = load_one("wirelink.wg0.json",
					 "{\"Peers\": [{\"PublicKey\": \"" KEY1 "\", \"Trust\": \"\", "
					 "\"Name\": \"\"}]}");
	CHECK_WARNINGS("@: Peers[0].Trust: \"\" is an empty trust level; treated as no trust set",
		       "@: Peers[0].Name: \"\" is an empty name; treated as no name");
	if (cfg) {
		CHECK_EQ(cfg->peers[0].trust, TRUST_UNSET);
		CHECK(cfg->peers[0].name == NULL);
	}
	config_free(cfg);
}

/* ---- keys the original's --dump writes ---- */

TEST(original_dump_keys_are_ignored)
{
	struct wl_config *cfg = load_one(
		"wirelink.wg0.json",
		"{\n  \"chatty\": false,\n  \"config-path\": \"/etc/wireguard\",\n  \"debug\": true,\n"
		"  \"dump\": false,\n  \"help\": false,\n  \"iface\": \"wg0\",\n  \"peers\": [\n"
		"    {\"publickey\": \"" KEY1 "\", \"name\": \"hub\", \"trust\": \"Membership\"}\n"
		"  ],\n  \"port\": 0,\n  \"router\": \"auto\",\n  \"version\": false\n}\n");
	CHECK_WARNINGS("@: config-path: \"/etc/wireguard\" ignored: a config file cannot choose the "
		       "directory it is read from (use --config-path or WIRELINK_CONFIG_PATH)",
		       "@: dump: false ignored: a mode of the command line, not a setting of a file",
		       "@: help: false ignored: a mode of the command line, not a setting of a file",
		       "@: version: false ignored: a mode of the command line, not a setting of a "
		       "file");
	if (cfg) {
		CHECK(cfg->debug);
		CHECK(!cfg->dump && !cfg->show_help && !cfg->show_version);
		CHECK_EQ(cfg->router, WL_AUTO);
		CHECK_EQ(cfg->n_peers, 1);
		CHECK_EQ(cfg->peers[0].trust, TRUST_MEMBERSHIP);
		check_dump_is_clean(cfg);
	}
	config_free(cfg);
}

TEST(a_file_iface_cannot_move_the_daemon)
{
	struct wl_config *cfg = load_one("wirelink.wg0.yaml", "Iface: wg1\nPort: 5\n");
	CHECK_WARNINGS("@:1: Iface: \"wg1\" differs from the interface this file is for (wg0); wg0 "
		       "is used (the command line and the file's name choose the interface)");
	if (cfg) {
		CHECK_STR(cfg->iface, "wg0");
		CHECK_EQ(cfg->port, 5);
	}
	config_free(cfg);
	/* the flag picks the file, and wins over what it says */
	struct tdir d;
	tdir_make(&d, "wl-dropin-test");
	tdir_put(&d, "wirelink.wg5.json", "{\"Iface\": \"wg0\"}");
	const char *args[] = { "-i", "wg5", NULL };
	char err[512];
	CHECK_EQ(load(&d, args, NULL, &cfg, err, sizeof(err)), CONFIG_OK);
	CHECK_EQ(n_lines, 1);
	if (cfg)
		CHECK_STR(cfg->iface, "wg5");
	config_free(cfg);
	tdir_remove(&d);
}

/* ---- endpoints: service names and zones ---- */

TEST(endpoint_service_names_are_looked_up_at_load)
{
	struct servent *se = getservbyname("ntp", "udp");
	if (!se) {
		harness_skip("no udp service \"ntp\" in this machine's services database");
		return;
	}
	unsigned want = ntohs((uint16_t)se->s_port);
	struct wl_config *cfg = load_one("wirelink.wg0.yaml",
					 "Peers:\n  - PublicKey: " KEY1
					 "\n    Endpoints: [\"hub.example:ntp\", \"10.0.0.1:NTP\"]\n");
	char w1[256], w2[256];
	snprintf(w1, sizeof(w1), "@:3: Peers[0].Endpoints[0]: \"hub.example:ntp\" names its port; "
		 "treated as port %u (the UDP service of that name, looked up once now)", want);
	snprintf(w2, sizeof(w2), "@:3: Peers[0].Endpoints[1]: \"10.0.0.1:NTP\" names its port; "
		 "treated as port %u (the UDP service of that name, looked up once now)", want);
	CHECK_WARNINGS(w1, w2);
	if (cfg) {
		CHECK_EQ(cfg->peers[0].n_endpoints, 2);
		CHECK_STR(cfg->peers[0].endpoints[0].host, "hub.example");
		CHECK_EQ(cfg->peers[0].endpoints[0].port, want);
		CHECK_EQ(cfg->peers[0].endpoints[1].port, want);
		check_dump_is_clean(cfg); /* the dump has the number */
	}
	config_free(cfg);
}

TEST(zoned_ipv6_endpoints_load)
{
	struct wl_config *cfg = load_one("wirelink.wg0.json",
					 "{\"Peers\": [{\"PublicKey\": \"" KEY1 "\", \"Endpoints\": "
					 "[\"[fe80::1%eth0]:51820\", \"[fe80::2%7]:5\"]}]}");
	CHECK_WARNINGS("@: Peers[0].Endpoints[0]: \"[fe80::1%eth0]:51820\" has a zone; the zone is "
		       "kept for resolving the address, but this version does not pass it on to "
		       "WireGuard",
		       "@: Peers[0].Endpoints[1]: \"[fe80::2%7]:5\" has a zone; the zone is kept for "
		       "resolving the address, but this version does not pass it on to WireGuard");
	if (cfg) {
		CHECK_STR(cfg->peers[0].endpoints[0].host, "fe80::1%eth0");
		CHECK_EQ(cfg->peers[0].endpoints[0].port, 51820);
		CHECK_STR(cfg->peers[0].endpoints[1].host, "fe80::2%7");
		char *d = dump_str(cfg);
		CHECK_MSG(strstr(d, "\"[fe80::1%eth0]:51820\"") != NULL, "dump: %s", d);
		free(d);
	}
	config_free(cfg);
}

/* ---- YAML anchors, aliases, merge keys, tags ---- */

TEST(yaml_anchors_aliases_and_merge_keys)
{
	struct wl_config *	cfg = load_one("wirelink.wg0.yaml",
		       "Peers:\n"
		       "  - &first\n"
		       "    PublicKey: " KEY1 "\n"
		       "    Trust: AllowedIPs\n"
		       "    Endpoints: &eps [hub.example:51820, 10.0.0.1:51820]\n"
		       "  - <<: *first\n"
		       "    PublicKey: " KEY2 "\n"
		       "    Name: !!str 1234\n"
		       "    Basic: !!bool yes\n"
		       "HideIfaces: *eps\n");
	CHECK_NO_WARNINGS();
	if (!cfg)
		return;
	CHECK_EQ(cfg->n_peers, 2);
	const struct wl_config_peer *p = peer(cfg, KEY2);
	CHECK(p != NULL);
	if (p) {
		CHECK_EQ(p->trust, TRUST_ALLOWED_IPS); /* merged */
		CHECK_EQ(p->n_endpoints, 2);           /* merged */
		CHECK_STR(p->name, "1234");            /* own key */
		CHECK_EQ(p->basic, WL_YES);
	}
	CHECK_EQ(cfg->n_hide_ifaces, 2); /* an alias to a list */
	if (cfg->n_hide_ifaces == 2)
		CHECK_STR(cfg->hide_ifaces[0], "hub.example:51820");
	check_dump_is_clean(cfg);
	config_free(cfg);
}

/* The expected message for a refused file: '@' is its path. */
static void check_refused(const char *name, const char *content, const char *pattern)
{
	struct tdir d;
	tdir_make(&d, "wl-dropin-test");
	tdir_put(&d, name, content);
	snprintf(file_path, sizeof(file_path), "%s/%s", d.path, name);
	struct wl_config *cfg = (struct wl_config *)1;
	char err[1024], want[1024];
	int rc = load(&d, NULL, NULL, &cfg, err, sizeof(err));
	tdir_expand(want, sizeof(want), pattern, file_path);
	CHECK_EQ(rc, CONFIG_E_FILE);
	CHECK(cfg == NULL);
	CHECK_MSG(strcmp(err, want) == 0, "\n  got  %s\n  want %s", err, want);
	tdir_remove(&d);
}

TEST(yaml_alias_bombs_are_refused)
{
	/* "Billion laughs": 10 aliases of 10 aliases ... 9 levels deep. */
	char bomb[2048];
	size_t o = (size_t)snprintf(bomb, sizeof(bomb), "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (int l = 1; l < 9; l++)
		o += (size_t)snprintf(bomb + o, sizeof(bomb) - o,
				      "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, "
				      "*a%d, *a%d]\n",
				      l, l, l - 1, l - 1, l - 1, l - 1, l - 1, l - 1, l - 1, l - 1,
				      l - 1, l - 1);
	check_refused("wirelink.wg0.yaml", bomb,
		      "@:5: more than 100000 YAML nodes with aliases expanded (an alias bomb?)");
	/* Few nodes, much text: a 64 KiB string aliased 200 times. */
	size_t big = 64 * 1024, len = big + 4096;
	char *text = malloc(len);
	o = (size_t)snprintf(text, len, "s: &s ");
	memset(text + o, 'x', big);
	o += big;
	o += (size_t)snprintf(text + o, len - o, "\nl: [");
	for (int i = 0; i < 200; i++)
		o += (size_t)snprintf(text + o, len - o, "%s*s", i ? "," : "");
	snprintf(text + o, len - o, "]\n");
	check_refused("wirelink.wg0.yaml", text,
		      "@:2: more than 8 MiB of YAML text with aliases expanded (an alias bomb?)");
	free(text);
	/* Aliases cannot nest deeper than a file may. */
	char deep[512];
	o = (size_t)snprintf(deep, sizeof(deep), "a: &a [[[[[[[[[[[[[[[[[[[[x]]]]]]]]]]]]]]]]]]]]\n");
	snprintf(deep + o, sizeof(deep) - o, "b: [[[[[[[[[[[[[[[[*a]]]]]]]]]]]]]]]]\n");
	check_refused("wirelink.wg0.yaml", deep, "@:2: nested more than 32 levels deep");
	/* An anchor cannot refer to itself: it is not defined until complete. */
	check_refused("wirelink.wg0.yaml", "a: &a [*a]\n",
		      "@:1: alias *\"a\": no anchor of that name before it");
	check_refused("wirelink.wg0.yaml", "Peers:\n  - <<: 5\n    PublicKey: " KEY1 "\n",
		      "@:2: a merge key (<<) takes a mapping or a list of mappings");
}

/* ---- which file ---- */

TEST(json_beside_yaml_the_json_is_read)
{
	struct tdir d;
	tdir_make(&d, "wl-dropin-test");
	tdir_put(&d, "wirelink.wg0.json", "{\"Port\": 1}");
	tdir_put(&d, "wirelink.wg0.yaml", "Port: 2\n");
	tdir_put(&d, "wirelink.wg0.yml", "Port: 3\n");
	tdir_put(&d, "wirelink.wg0.ini", "port = 4\n");
	tdir_put(&d, "wirelink.wg1.yaml", "Port: 5\n"); /* another interface's */
	struct wl_config *cfg;
	char err[512];
	CHECK_EQ(load(&d, NULL, NULL, &cfg, err, sizeof(err)), CONFIG_OK);
	snprintf(file_path, sizeof(file_path), "%s/wirelink.wg0", d.path);
	CHECK_WARNINGS("@.yaml: ignored: @.json is read (of wirelink.wg0.json, .toml, .yaml, .yml, "
		       "... the first there is, as the original did)",
		       "@.yml: ignored: @.json is read (of wirelink.wg0.json, .toml, .yaml, .yml, "
		       "... the first there is, as the original did)",
		       "@.ini: ignored: @.json is read (of wirelink.wg0.json, .toml, .yaml, .yml, "
		       "... the first there is, as the original did); wirelink does not read this "
		       "format anyway");
	if (cfg)
		CHECK_EQ(cfg->port, 1);
	config_free(cfg);
	/* without the JSON, the .yaml (before .yml) */
	char p[256];
	snprintf(p, sizeof(p), "%s/wirelink.wg0.json", d.path);
	remove(p);
	snprintf(p, sizeof(p), "%s/wirelink.wg0.ini", d.path);
	remove(p);
	CHECK_EQ(load(&d, NULL, NULL, &cfg, err, sizeof(err)), CONFIG_OK);
	CHECK_WARNINGS("@.yml: ignored: @.yaml is read (of wirelink.wg0.json, .toml, .yaml, .yml, "
		       "... the first there is, as the original did)");
	if (cfg)
		CHECK_EQ(cfg->port, 2);
	config_free(cfg);
	tdir_remove(&d);
}

TEST(other_formats_are_never_silently_ignored)
{
	static const struct {
		const char *ext, *format;
	} cases[] = {
		{ "toml", "TOML" },	      { "hcl", "HCL" },	    { "tfvars", "HCL" },
		{ "ini", "INI" },	      { "env", "dotenv" },  { "dotenv", "dotenv" },
		{ "properties", "Java properties" }, { "props", "Java properties" },
		{ "prop", "Java properties" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tdir d;
		tdir_make(&d, "wl-dropin-test");
		char name[64], want[1024];
		snprintf(name, sizeof(name), "wirelink.wg0.%s", cases[i].ext);
		tdir_put(&d, name, "port = 5\n");
		struct wl_config *cfg = (struct wl_config *)1;
		char err[1024];
		CHECK_EQ(load(&d, NULL, NULL, &cfg, err, sizeof(err)), CONFIG_E_FILE);
		CHECK(cfg == NULL);
		snprintf(want, sizeof(want),
			 "%s/%s: a %s file, a format wirelink does not read (it reads .json, .yaml or "
			 ".yml): convert it to JSON or YAML",
			 d.path, name, cases[i].format);
		CHECK_STR(err, want);
		tdir_remove(&d);
	}
	/* The original read a .toml before a .yaml: reading the YAML would
	 * change what runs, so that is an error too. */
	struct tdir d;
	tdir_make(&d, "wl-dropin-test");
	tdir_put(&d, "wirelink.wg0.toml", "port = 5\n");
	tdir_put(&d, "wirelink.wg0.yaml", "Port: 6\n");
	struct wl_config *cfg;
	char err[1024], want[1024];
	CHECK_EQ(load(&d, NULL, NULL, &cfg, err, sizeof(err)), CONFIG_E_FILE);
	snprintf(want, sizeof(want),
		 "%s/wirelink.wg0.toml: a TOML file, a format wirelink does not read (it reads "
		 ".json, .yaml or .yml); the original wirelink read it rather than "
		 "%s/wirelink.wg0.yaml: convert it to JSON or YAML, or remove it",
		 d.path, d.path);
	CHECK_STR(err, want);
	/* After a .json it is only named. */
	tdir_put(&d, "wirelink.wg0.json", "{\"Port\": 7}");
	CHECK_EQ(load(&d, NULL, NULL, &cfg, err, sizeof(err)), CONFIG_OK);
	CHECK_EQ(n_lines, 2);
	CHECK_MSG(n_lines > 0 && strstr(lines[0], "wirelink.wg0.toml: ignored:"), "%s", lines[0]);
	if (cfg)
		CHECK_EQ(cfg->port, 7);
	config_free(cfg);
	tdir_remove(&d);
}

/* ---- the environment ---- */

TEST(unknown_environment_variables_are_a_warning)
{
	struct tdir d;
	tdir_make(&d, "wl-dropin-test");
	const char *env[] = { "WIRELINK_IFACES=x", "WIRELINK_PORT=7", "WIRELINK_HELP=1", NULL };
	struct wl_config *cfg;
	char err[512];
	CHECK_EQ(load(&d, NULL, env, &cfg, err, sizeof(err)), CONFIG_OK);
	/* The list names every variable; settings added later must not break
	 * this test, so each known one is looked for on its own. */
	static const char *const known[] = {
		"(known: WIRELINK_IFACE, ", "WIRELINK_PORT, ", "WIRELINK_PORT_MAPPING, ",
		"WIRELINK_QUOTA_NEW_MEMBERS_PER_MINUTE, ", "WIRELINK_CONFIG_PATH, ",
		"WIRELINK_CHECK_CONFIG",
	};
	CHECK_EQ(n_lines, 2);
	for (size_t i = 0; i < n_lines && i < 2; i++) {
		char want[256];
		snprintf(want, sizeof(want), "environment: %s: unknown variable, ignored ",
			 i ? "WIRELINK_HELP" : "WIRELINK_IFACES");
		CHECK_MSG(strncmp(lines[i], want, strlen(want)) == 0, "%s", lines[i]);
		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			CHECK_MSG(strstr(lines[i], known[k]) != NULL, "%s lacks %s", lines[i], known[k]);
	}
	if (cfg)
		CHECK_EQ(cfg->port, 7);
	config_free(cfg);
	tdir_remove(&d);
}
