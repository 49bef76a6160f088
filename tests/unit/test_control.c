/* The control protocol (src/daemon/control.c) and the metrics
 * (src/daemon/metrics.c) on an engine run by the core fixture: every
 * request's answer, the refusals, the exposition format line by line, and
 * counters that move as the scenario says. */
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core_fixture.h"
#include "daemon/control.h"
#include "daemon/metrics.h"
#include "harness.h"
#include "sys/log.h"

enum { N_ = 1, P_ = 2, R_ = 3 };
#define S 1000

struct world {
	struct tnode n;
	uint8_t ppriv[32], ppub[32], rpriv[32], rpub[32];
	struct engine_peer_config pc;
	struct wl_endpoint ep;
	int reloads;
};

/* Leaf N with router R and configured peer P (name "pc", one endpoint),
 * P being tried. */
static void setup(struct world *w)
{
	memset(w, 0, sizeof(*w));
	tkey(P_, w->ppriv, w->ppub);
	tkey(R_, w->rpriv, w->rpub);
	tnode_config(&w->n, N_);
	memcpy(w->pc.public_key, w->ppub, 32);
	w->pc.name = "pc";
	w->pc.trust = TRUST_UNSET;
	w->pc.basic = WL_AUTO;
	wl_endpoint_parse("203.0.113.1:51820", &w->ep);
	w->pc.endpoints = &w->ep;
	w->pc.n_endpoints = 1;
	w->n.cfg.peers = &w->pc;
	w->n.cfg.n_peers = 1;
	static const char *const eth[] = { "192.0.2.1/24", NULL };
	tnode_iface(&w->n, "eth0", true, true, eth);
	tnode_dev_peer(&w->n, w->rpub, "192.0.2.3:51820", 0);
	tnode_allow(&w->n, w->rpub, "10.0.0.0/8");
	tnode_dev_peer(&w->n, w->ppub, NULL, ENGINE_NEVER);
	tnode_start(&w->n, 0);
	tnode_tick(&w->n, 0);
}

static int reload_ok(void *ctx, char *why, size_t len)
{
	struct world *w = ctx;
	w->reloads++;
	(void)why;
	(void)len;
	return 0;
}

static void view(struct world *w, struct control_view *v)
{
	memset(v, 0, sizeof(*v));
	v->iface = "wg0";
	v->version = "test";
	v->pid = 42;
	v->e = w->n.e;
	v->now = w->n.now;
	v->started = 0;
	v->drv = driver_get_stats(w->n.drv);
}

/* The answer to req, parsed (the caller frees it). */
static json_t *ask(struct world *w, const char *req)
{
	struct control_view v;
	view(w, &v);
	const struct control_ops ops = { reload_ok, w };
	char *ans = control_answer(&v, &ops, req, strlen(req));
	CHECK(ans && !strchr(ans, '\n'));
	json_error_t err;
	json_t *j = ans ? json_loads(ans, 0, &err) : NULL;
	CHECK_MSG(j != NULL, "not JSON: %s", ans ? ans : "(null)");
	free(ans);
	return j;
}

static const char *sget(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* The peer with this key in a "peers" answer. */
static const json_t *peer_of(const json_t *ans, const uint8_t key[32])
{
	char b64[WL_KEY_B64_LEN];
	key_to_base64(key, b64);
	const json_t *peers = json_object_get(ans, "peers");
	for (size_t i = 0; i < json_array_size(peers); i++)
		if (strcmp(sget(json_array_get(peers, i), "public_key"), b64) == 0)
			return json_array_get(peers, i);
	return NULL;
}

TEST(peers_answer_has_path_and_reason)
{
	struct world w;
	setup(&w);
	tnode_tick(&w.n, 1 * S);
	json_t *a = ask(&w, "{\"cmd\":\"peers\"}");
	CHECK(json_is_true(json_object_get(a, "ok")));
	CHECK_EQ(json_integer_value(json_object_get(a, "schema")), 1);
	CHECK_STR(sget(a, "role"), "leaf");
	CHECK_EQ(json_array_size(json_object_get(a, "peers")), 2u);
	const json_t *p = peer_of(a, w.ppub);
	CHECK(p != NULL);
	CHECK_STR(sget(p, "name"), "pc");
	CHECK_STR(sget(p, "path"), "via");
	CHECK_STR(sget(p, "why"), "trying");
	CHECK_MSG(strstr(sget(p, "why_text"), "trying candidate 203.0.113.1:51820 (1 of 1"), "%s",
		  sget(p, "why_text"));
	CHECK_STR(sget(json_object_get(p, "trust"), "member_source"), "config");
	const json_t *c = json_array_get(json_object_get(p, "candidates"), 0);
	CHECK_STR(sget(c, "endpoint"), "203.0.113.1:51820");
	CHECK_STR(sget(c, "result"), "trying");
	const json_t *r = peer_of(a, w.rpub);
	CHECK_STR(sget(r, "path"), "direct");
	CHECK(json_is_null(json_object_get(r, "why_text")));
	json_decref(a);
	tnode_free(&w.n);
}

TEST(status_facts_log_reload)
{
	struct world w;
	setup(&w);
	json_t *a = ask(&w, "{\"cmd\":\"status\"}");
	CHECK_EQ(json_integer_value(json_object_get(a, "pid")), 42);
	const json_t *peers = json_object_get(a, "peers");
	CHECK_EQ(json_integer_value(json_object_get(peers, "direct")), 1);
	CHECK_EQ(json_integer_value(json_object_get(peers, "via")), 1);
	CHECK(json_is_null(json_object_get(a, "port_mapping")));
	json_decref(a);
	a = ask(&w, "{\"cmd\":\"facts\"}");
	CHECK(json_array_size(json_object_get(a, "facts")) == engine_fact_count(w.n.e));
	json_decref(a);
	enum log_level before = log_get_level();
	a = ask(&w, "{\"cmd\":\"log\",\"level\":\"error\"}");
	CHECK_STR(sget(a, "level"), "error");
	CHECK_EQ(log_get_level(), LOG_LVL_ERROR);
	json_decref(a);
	log_set_level(before);
	a = ask(&w, "{\"cmd\":\"reload\"}");
	CHECK(json_is_true(json_object_get(a, "ok")) && w.reloads == 1);
	json_decref(a);
	tnode_free(&w.n);
}

static const struct {
	const char *req, *error;
} bad[] = {
	{ "", "request is not JSON" },
	{ "{\"cmd\":", "request is not JSON" },
	{ "[\"status\"]", "a request is an object with a string \"cmd\"" },
	{ "{\"cmd\":7}", "a request is an object with a string \"cmd\"" },
	{ "{\"cmd\":\"status\",\"cmd\":\"peers\"}", "request is not JSON: duplicate object key" },
	{ "{\"cmd\":\"shutdown\"}", "unknown cmd \"shutdown\" (known: status, peers, facts, "
				    "metrics, reload, log)" },
	{ "{\"cmd\":\"log\",\"level\":\"loud\"}", "level must be one of error, warning, notice, "
						  "info, debug" },
	{ "{\"cmd\":\"log\",\"level\":3}", "level must be one of" },
};

TEST(bad_requests_get_a_reason)
{
	struct world w;
	setup(&w);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *a = ask(&w, bad[i].req);
		CHECK_MSG(json_is_false(json_object_get(a, "ok")), "%s", bad[i].req);
		CHECK_MSG(strncmp(sget(a, "error"), bad[i].error, strlen(bad[i].error)) == 0,
			  "%s: %s", bad[i].req, sget(a, "error"));
		json_decref(a);
	}
	tnode_free(&w.n);
}

/* Every line of the exposition: a comment (# HELP/# TYPE of a wirelink_
 * family) or a sample of a family declared before it, with the iface
 * label; counters end in _total. Returns the number of samples. */
static int check_exposition(const char *text)
{
	regex_t comment, sample;
	CHECK_EQ(regcomp(&comment, "^# (HELP|TYPE) (wirelink_[a-z_]+) (.+)$", REG_EXTENDED), 0);
	CHECK_EQ(regcomp(&sample,
			 "^(wirelink_[a-z_]+)\\{iface=\"wg0\"(,[a-z]+=\"[^\"]*\")*\\} "
			 "-?[0-9]+(\\.[0-9]+)?$",
			 REG_EXTENDED),
		 0);
	char typed[64][64];
	size_t n_typed = 0;
	int samples = 0;
	char *copy = strdup(text), *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		regmatch_t m[4];
		if (regexec(&comment, line, 4, m, 0) == 0) {
			if (line[2] == 'T' && n_typed < 64) {
				snprintf(typed[n_typed++], 64, "%.*s", (int)(m[2].rm_eo - m[2].rm_so),
					 line + m[2].rm_so);
				const char *type = line + m[3].rm_so;
				CHECK_MSG(!strcmp(type, "counter") || !strcmp(type, "gauge") ||
						  !strcmp(type, "histogram"),
					  "%s", line);
				if (!strcmp(type, "counter"))
					CHECK_MSG(strstr(typed[n_typed - 1], "_total"), "%s", line);
			}
			continue;
		}
		CHECK_MSG(regexec(&sample, line, 2, m, 0) == 0, "not a sample: %s", line);
		bool declared = false;
		for (size_t i = 0; i < n_typed && !declared; i++)
			declared = strncmp(line, typed[i], strlen(typed[i])) == 0;
		CHECK_MSG(declared, "no # TYPE before %s", line);
		samples++;
	}
	free(copy);
	regfree(&comment);
	regfree(&sample);
	return samples;
}

/* The value of the sample that starts with prefix (name{labels}), -1. */
static long long value_of(const char *text, const char *prefix)
{
	const char *s = strstr(text, prefix);
	return s && (s == text || s[-1] == '\n') ? atoll(s + strlen(prefix) + 1) : -1;
}

TEST(metrics_parse_and_move_with_the_scenario)
{
	struct world w;
	setup(&w);
	struct control_view v;
	view(&w, &v);
	char *t = metrics_text(&v);
	CHECK(check_exposition(t) > 40);
	CHECK_EQ(value_of(t, "wirelink_peers{iface=\"wg0\",path=\"via\"}"), 1);
	CHECK_EQ(value_of(t, "wirelink_path_changes_total{iface=\"wg0\",to=\"direct\"}"), 0);
	CHECK_EQ(value_of(t, "wirelink_time_to_direct_seconds_count{iface=\"wg0\"}"), 0);
	free(t);
	/* P answers 2.5 s after its first candidate: direct, within 5 s. */
	tnode_handshake(&w.n, w.ppub, 2500);
	tnode_tick(&w.n, 2500);
	view(&w, &v);
	t = metrics_text(&v);
	check_exposition(t);
	CHECK_EQ(value_of(t, "wirelink_peers{iface=\"wg0\",path=\"direct\"}"), 2);
	CHECK_EQ(value_of(t, "wirelink_path_changes_total{iface=\"wg0\",to=\"direct\"}"), 1);
	CHECK_EQ(value_of(t, "wirelink_time_to_direct_seconds_bucket{iface=\"wg0\",le=\"2\"}"), 0);
	CHECK_EQ(value_of(t, "wirelink_time_to_direct_seconds_bucket{iface=\"wg0\",le=\"5\"}"), 1);
	CHECK_EQ(value_of(t, "wirelink_time_to_direct_seconds_bucket{iface=\"wg0\",le=\"+Inf\"}"),
		 1);
	CHECK(strstr(t, "wirelink_time_to_direct_seconds_sum{iface=\"wg0\"} 2.500\n") != NULL);
	free(t);
	/* The same text in a "metrics" answer. */
	json_t *a = ask(&w, "{\"cmd\":\"metrics\"}");
	CHECK(strstr(sget(a, "text"), "# TYPE wirelink_time_to_direct_seconds histogram\n"));
	json_decref(a);
	tnode_free(&w.n);
}

TEST(metrics_file_is_replaced_atomically)
{
	char dir[] = "/tmp/wl-metrics.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[64], buf[64];
	snprintf(path, sizeof(path), "%s/wirelink.prom", dir);
	mode_t old = umask(0077);
	CHECK_EQ(metrics_write_file(path, "a 1\n"), 0);
	CHECK_EQ(metrics_write_file(path, "b 2\n"), 0);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644); /* whatever the umask */
	FILE *f = fopen(path, "r");
	CHECK(f && fgets(buf, sizeof(buf), f));
	CHECK_STR(buf, "b 2\n");
	fclose(f);
	/* No temporary file is left behind. */
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "test $(ls %s | wc -l) -eq 1", dir);
	CHECK_EQ(system(cmd), 0);
	unlink(path);
	CHECK(metrics_write_file("/nonexistent-dir/x.prom", "x") < 0);
	umask(old);
	rmdir(dir);
}
