/* --dump: the effective configuration as JSON in config-file spelling.
 * Every setting a file may hold is written (unset optional ones as null or
 * left out), so the output, saved as wirelink.<iface>.json, loads back into
 * the same configuration. */
#include "config/config_internal.h"

#include <string.h>

#include "sys/jsonw.h"

static void str_list(struct jsonw *w, const char *key, char *const *v, size_t n)
{
	jsonw_key(w, key);
	jsonw_arr_begin(w);
	for (size_t i = 0; i < n; i++)
		jsonw_str(w, v[i]);
	jsonw_arr_end(w);
}

static void peer(struct jsonw *w, const struct wl_config_peer *p)
{
	char b64[WL_KEY_B64_LEN];
	jsonw_obj_begin(w);
	jsonw_kv_str(w, "PublicKey", key_to_base64(p->public_key, b64));
	if (p->name)
		jsonw_kv_str(w, "Name", p->name);
	if (p->trust != TRUST_UNSET)
		jsonw_kv_str(w, "Trust", trust_name(p->trust));
	jsonw_kv_bool(w, "FactExchanger", p->fact_exchanger);
	jsonw_key(w, "Endpoints");
	jsonw_arr_begin(w);
	for (size_t i = 0; i < p->n_endpoints; i++) {
		/* host is stored without brackets; an IPv6 literal needs them back. */
		char ep[CFG_HOST_MAX + 16];
		const struct wl_config_endpoint *e = &p->endpoints[i];
		bool v6 = strchr(e->host, ':') != NULL;
		snprintf(ep, sizeof(ep), "%s%s%s:%u", v6 ? "[" : "", e->host, v6 ? "]" : "",
			 (unsigned)e->port);
		jsonw_str(w, ep);
	}
	jsonw_arr_end(w);
	jsonw_key(w, "AllowedIPs");
	jsonw_arr_begin(w);
	for (size_t i = 0; i < p->n_allowed_ips; i++) {
		char c[WL_CIDR_STR_MAX];
		jsonw_str(w, wl_cidr_str(&p->allowed_ips[i], c));
	}
	jsonw_arr_end(w);
	jsonw_kv_bool(w, "Basic", p->basic == WL_YES);
	jsonw_obj_end(w);
}

void config_dump(const struct wl_config *cfg, FILE *f)
{
	struct jsonw w;
	jsonw_init(&w, f);
	jsonw_obj_begin(&w);
	jsonw_kv_str(&w, "Iface", cfg->iface);
	jsonw_kv_uint(&w, "Port", cfg->port);
	if (cfg->router == WL_AUTO)
		jsonw_kv_null(&w, "Router"); /* null = auto-detect */
	else
		jsonw_kv_bool(&w, "Router", cfg->router == WL_YES);
	jsonw_kv_bool(&w, "Chatty", cfg->chatty);
	jsonw_kv_bool(&w, "Debug", cfg->debug);
	jsonw_kv_str(&w, "Backend", wgdev_backend_name(cfg->backend));
	jsonw_kv_bool(&w, "PortMapping", cfg->port_mapping);
	jsonw_kv_bool(&w, "Leases", cfg->leases);
	jsonw_kv_uint(&w, "QuietPeriod", cfg->quiet_period);
	jsonw_kv_bool(&w, "Dormant", cfg->dormant);
	/* Only when set: a dump stays loadable by older versions. */
	if (cfg->control_group[0])
		jsonw_kv_str(&w, "ControlGroup", cfg->control_group);
	if (cfg->metrics_file[0])
		jsonw_kv_str(&w, "MetricsFile", cfg->metrics_file);
	jsonw_kv_uint(&w, "QuotaFacts", cfg->quota_facts);
	jsonw_kv_uint(&w, "QuotaEndpoints", cfg->quota_endpoints);
	jsonw_kv_uint(&w, "QuotaAllowedIPs", cfg->quota_allowed_ips);
	jsonw_kv_uint(&w, "QuotaNewMembers", cfg->quota_new_members);
	jsonw_kv_uint(&w, "QuotaNewMembersPerMinute", cfg->quota_new_members_per_min);
	jsonw_kv_str(&w, "LogTime", log_time_name(cfg->log_time));
	jsonw_key(&w, "Peers");
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < cfg->n_peers; i++)
		peer(&w, &cfg->peers[i]);
	jsonw_arr_end(&w);
	str_list(&w, "ReportIfaces", cfg->report_ifaces, cfg->n_report_ifaces);
	str_list(&w, "HideIfaces", cfg->hide_ifaces, cfg->n_hide_ifaces);
	jsonw_obj_end(&w);
}
