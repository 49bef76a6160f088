/* The control protocol (control.h): a request line in, an answer line
 * out, built with jansson from the daemon's snapshot. */
#include "daemon/control.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/report.h"
#include "daemon/metrics.h"
#include "sys/log.h"

static const struct {
	const char *name;
	int level;
} levels[] = {
	{ "error", LOG_LVL_ERROR },	{ "warning", LOG_LVL_WARN }, { "notice", LOG_LVL_NOTICE },
	{ "info", LOG_LVL_INFO },	{ "debug", LOG_LVL_DEBUG },
};

bool control_parse_level(const char *s, int *level)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(s, levels[i].name) == 0) {
			*level = levels[i].level;
			return true;
		}
	return false;
}

const char *control_level_name(int level)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (levels[i].level == level)
			return levels[i].name;
	return "info";
}

/* ---- JSON values ---- */

/* A string for the answer: names come from peers and may hold any byte
 * (printable ones only, but not necessarily UTF-8); JSON needs UTF-8, so
 * bytes that do not form it become '?'. */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(s);
	if (j)
		return j;
	char buf[256];
	size_t n = 0;
	for (; *s && n < sizeof(buf) - 1; s++)
		buf[n++] = (unsigned char)*s < 0x80 ? *s : '?';
	buf[n] = '\0';
	return json_string(buf);
}

static json_t *jkey(const uint8_t key[WL_KEY_LEN])
{
	char b64[WL_KEY_B64_LEN];
	return json_string(key_to_base64(key, b64));
}

static json_t *jendpoint(const struct wl_endpoint *ep)
{
	char b[WL_ENDPOINT_STR_MAX];
	return json_string(wl_endpoint_str(ep, b));
}

/* Seconds from t to now (an age), null if never. */
static json_t *jage(int64_t t, int64_t now)
{
	return t == ENGINE_NEVER ? json_null() : json_real((double)(now - t) / 1000.0);
}

/* Seconds from now until t (never negative), null if never. */
static json_t *jin(int64_t t, int64_t now)
{
	return t == ENGINE_NEVER ? json_null() : json_real(t > now ? (double)(t - now) / 1000.0 : 0.0);
}

/* {"public_key":..., "name":...} */
static json_t *jwho(const uint8_t key[WL_KEY_LEN], const char *name)
{
	json_t *o = json_object();
	json_object_set_new(o, "public_key", jkey(key));
	json_object_set_new(o, "name", jstr(name));
	return o;
}

__attribute__((format(printf, 1, 2)))
static json_t *error(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_t *o = json_object();
	json_object_set_new(o, "ok", json_false());
	json_object_set_new(o, "error", jstr(buf));
	return o;
}

static json_t *ok(void)
{
	json_t *o = json_object();
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "schema", json_integer(CONTROL_SCHEMA));
	return o;
}

/* ---- peers ---- */

static json_t *cands_json(const struct engine_report *r, int64_t now)
{
	json_t *a = json_array();
	for (size_t i = 0; i < r->n_cands; i++) {
		json_t *c = json_object();
		json_object_set_new(c, "endpoint", jendpoint(&r->cands[i].ep));
		json_object_set_new(c, "result", json_string(report_cand_result_name(r->cands[i].result)));
		json_object_set_new(c, "tried_s_ago", jage(r->cands[i].tried_at, now));
		json_array_append_new(a, c);
	}
	return a;
}

static json_t *trust_json(const struct engine_report *r)
{
	json_t *t = json_object();
	json_object_set_new(t, "level", json_string(trust_name(r->trust)));
	json_object_set_new(t, "how", json_string(report_trust_how_name(r->trust_how)));
	json_object_set_new(t, "member_source",
			    r->info.configured    ? json_string("config")
			    : r->has_member_src ? jwho(r->member_src, r->member_src_name)
						: json_null());
	json_t *ref = json_object(), *by = json_array();
	json_object_set_new(ref, "count", json_integer((json_int_t)r->refused));
	for (size_t i = 0; i < r->n_refused_by; i++) {
		const struct report_refusal *q = &r->refused_by[i];
		json_t *s = jwho(q->key, q->name);
		json_object_set_new(s, "count", json_integer(q->count));
		json_object_set_new(s, "had", json_string(trust_name(q->had)));
		json_object_set_new(s, "needed", json_string(trust_name(q->need)));
		json_array_append_new(by, s);
	}
	json_object_set_new(ref, "by", by);
	json_object_set_new(t, "refused", ref);
	return t;
}

static json_t *peer_json(const struct engine_report *r, int64_t now)
{
	const struct engine_peer_info *in = &r->info;
	char b64[WL_KEY_B64_LEN], why[1024];
	key_to_base64(in->key, b64);
	json_t *p = json_object();
	json_object_set_new(p, "name", jstr(in->name));
	json_object_set_new(p, "public_key", json_string(b64));
	json_object_set_new(p, "short_key", json_stringn(b64, 8));
	json_object_set_new(p, "path", json_string(report_path_name(r->path)));
	json_object_set_new(p, "via", r->has_via ? jwho(r->via_key, r->via_name) : json_null());
	json_object_set_new(p, "endpoint", in->has_endpoint ? jendpoint(&in->endpoint) : json_null());
	json_object_set_new(p, "last_handshake_s_ago", jage(in->last_handshake_ms, now));
	json_object_set_new(p, "rx_bytes", json_integer((json_int_t)r->rx_bytes));
	json_object_set_new(p, "tx_bytes", json_integer((json_int_t)r->tx_bytes));
	json_object_set_new(p, "alive", json_boolean(in->alive));
	json_object_set_new(p, "healthy", json_boolean(in->healthy));
	json_object_set_new(p, "quiet", json_boolean(in->quiet));
	json_object_set_new(p, "dormant", json_boolean(in->dormant));
	json_object_set_new(p, "router", json_boolean(in->router));
	json_object_set_new(p, "configured", json_boolean(in->configured));
	json_object_set_new(p, "in_device", json_boolean(in->in_device));
	json_object_set_new(p, "basic", in->basic < 0 ? json_null() : json_boolean(in->basic == 1));
	json_object_set_new(p, "ours", json_boolean(r->ours));
	json_object_set_new(p, "trust", trust_json(r));
	json_object_set_new(p, "why", json_string(report_why_name(r->why)));
	report_why_text(r, now, why, sizeof(why));
	json_object_set_new(p, "why_text", r->why == REPORT_WHY_NONE ? json_null() : jstr(why));
	json_object_set_new(p, "candidates", cands_json(r, now));
	json_object_set_new(p, "candidate_current",
			    r->cand_current >= 0 ? json_integer(r->cand_current) : json_null());
	json_object_set_new(p, "next_try_in_s", jin(r->next_try_at, now));
	json_object_set_new(p, "retry_in_s", in->path_dead ? jin(r->retry_at, now) : json_null());
	return p;
}

struct peers_acc {
	json_t *arr;
	int64_t now;
};

static void add_peer(void *ctx, const struct engine_report *r)
{
	struct peers_acc *a = ctx;
	json_array_append_new(a->arr, peer_json(r, a->now));
}

static json_t *nat_json(const struct engine *e)
{
	struct engine_report r;
	engine_report_nat(e, &r);
	json_t *n = json_object();
	json_object_set_new(n, "rewrites_port", json_boolean(r.nat_rewrites));
	json_object_set_new(n, "seen_at", r.nat_rewrites ? jendpoint(&r.nat_seen) : json_null());
	json_object_set_new(n, "listen_port", json_integer(r.listen_port));
	json_object_set_new(n, "port_mapping", json_boolean(r.port_mapping));
	return n;
}

/* Who we are: the fields every answer about the daemon starts with. */
static void self_fields(json_t *o, const struct control_view *v)
{
	uint8_t pub[WL_KEY_LEN];
	engine_public_key(v->e, pub);
	json_object_set_new(o, "iface", jstr(v->iface));
	json_object_set_new(o, "public_key", jkey(pub));
	json_object_set_new(o, "role", json_string(engine_is_router(v->e) ? "router" : "leaf"));
}

static json_t *do_peers(const struct control_view *v)
{
	struct peers_acc a = { .arr = json_array(), .now = v->now };
	engine_foreach_report(v->e, v->now, add_peer, &a);
	json_t *o = ok();
	self_fields(o, v);
	json_object_set_new(o, "nat", nat_json(v->e));
	json_object_set_new(o, "peers", a.arr);
	return o;
}

/* ---- status ---- */

static json_t *portmap_json(const struct control_view *v)
{
	if (!v->has_portmap)
		return json_null();
	json_t *o = json_object();
	json_object_set_new(o, "running", json_boolean(v->pm.running));
	json_object_set_new(o, "mapped", json_boolean(v->pm.mapped));
	json_object_set_new(o, "protocol", v->pm.mapped ? json_string(portmap_proto_name(v->pm.proto))
						       : json_null());
	json_object_set_new(o, "external", v->pm.mapped ? jendpoint(&v->pm.external) : json_null());
	json_object_set_new(o, "expires_in_s", v->pm.mapped ? jin(v->pm.expires_at, v->now)
							   : json_null());
	return o;
}

static json_t *do_status(const struct control_view *v)
{
	struct report_counts c;
	engine_count_paths(v->e, v->now, &c);
	json_t *o = ok();
	self_fields(o, v);
	json_object_set_new(o, "version", jstr(v->version));
	json_object_set_new(o, "pid", json_integer(v->pid));
	json_object_set_new(o, "uptime_s", json_real((double)(v->now - v->started) / 1000.0));
	json_t *peers = json_object();
	json_object_set_new(peers, "direct", json_integer((json_int_t)c.path[REPORT_DIRECT]));
	json_object_set_new(peers, "via", json_integer((json_int_t)c.path[REPORT_VIA]));
	json_object_set_new(peers, "down", json_integer((json_int_t)c.path[REPORT_DOWN]));
	json_object_set_new(o, "peers", peers);
	json_object_set_new(o, "facts", json_integer((json_int_t)engine_fact_count(v->e)));
	json_object_set_new(o, "log_level", json_string(control_level_name(log_get_level())));
	json_object_set_new(o, "nat", nat_json(v->e));
	json_object_set_new(o, "port_mapping", portmap_json(v));
	return o;
}

/* ---- facts ---- */

struct facts_acc {
	json_t *arr;
	int64_t now;
};

static void add_fact(void *ctx, const struct fact *f, int64_t expires, bool local)
{
	struct facts_acc *a = ctx;
	char val[FACT_VALUE_STR_MAX];
	json_t *o = json_object();
	json_object_set_new(o, "attr", json_string(fact_attr_name(f->attr)));
	json_object_set_new(o, "subject", jkey(f->subject));
	json_object_set_new(o, "value", jstr(fact_value_str(f, val, sizeof(val))));
	json_object_set_new(o, "expires_in_s", jin(expires, a->now));
	json_object_set_new(o, "local", json_boolean(local));
	json_array_append_new(a->arr, o);
}

static json_t *do_facts(const struct control_view *v)
{
	struct facts_acc a = { json_array(), v->now };
	engine_foreach_fact(v->e, add_fact, &a);
	json_t *o = ok();
	self_fields(o, v);
	json_object_set_new(o, "facts", a.arr);
	return o;
}

/* ---- the rest ---- */

static json_t *do_metrics(const struct control_view *v)
{
	char *text = metrics_text(v);
	if (!text)
		return error("%s", "out of memory");
	json_t *o = ok();
	json_object_set_new(o, "text", json_string(text));
	free(text);
	return o;
}

static json_t *do_reload(const struct control_ops *ops)
{
	char why[512] = "reload is not available";
	if (!ops || !ops->reload || ops->reload(ops->ctx, why, sizeof(why)) < 0)
		return error("%s", why);
	return ok();
}

static json_t *do_log(const json_t *req)
{
	const json_t *lv = json_object_get(req, "level");
	if (lv) {
		int level;
		if (!json_is_string(lv) || !control_parse_level(json_string_value(lv), &level))
			return error("%s", "level must be one of error, warning, notice, info, debug");
		if (level != (int)log_get_level()) {
			log_set_level((enum log_level)level);
			log_notice("log level set to %s (control socket)", control_level_name(level));
		}
	}
	json_t *o = ok();
	json_object_set_new(o, "level", json_string(control_level_name(log_get_level())));
	return o;
}

static json_t *dispatch(const struct control_view *v, const struct control_ops *ops,
			const char *req, size_t len)
{
	json_error_t err;
	json_t *r = json_loadb(req, len, JSON_REJECT_DUPLICATES, &err);
	if (!r)
		return error("request is not JSON: %s", err.text);
	json_t *ans;
	const json_t *cmd = json_object_get(r, "cmd");
	const char *c = json_is_string(cmd) ? json_string_value(cmd) : NULL;
	if (!json_is_object(r) || !c)
		ans = error("%s", "a request is an object with a string \"cmd\"");
	else if (strcmp(c, "status") == 0)
		ans = do_status(v);
	else if (strcmp(c, "peers") == 0)
		ans = do_peers(v);
	else if (strcmp(c, "facts") == 0)
		ans = do_facts(v);
	else if (strcmp(c, "metrics") == 0)
		ans = do_metrics(v);
	else if (strcmp(c, "reload") == 0)
		ans = do_reload(ops);
	else if (strcmp(c, "log") == 0)
		ans = do_log(r);
	else
		ans = error("unknown cmd \"%.64s\" (known: status, peers, facts, metrics, reload, log)",
			    c);
	json_decref(r);
	return ans;
}

char *control_answer(const struct control_view *v, const struct control_ops *ops, const char *req,
		     size_t len)
{
	json_t *ans = dispatch(v, ops, req, len);
	if (!ans)
		return NULL;
	/* Ten digits: seconds to the millisecond for 115 days, no 3.9119999. */
	char *out = json_dumps(ans, JSON_COMPACT | JSON_REAL_PRECISION(10));
	json_decref(ans);
	return out;
}
