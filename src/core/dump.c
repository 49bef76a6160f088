/* SIGUSR1: every fact, peer state and counter, one per line. */
#include <inttypes.h>
#include <stdio.h>

#include "core/engine_internal.h"

static double secs(int64_t t, int64_t now)
{
	return t == ENGINE_NEVER ? -1.0 : (double)(t - now) / 1000.0;
}

static void dump_facts(const struct engine *e, int64_t now, FILE *out)
{
	fprintf(out, "facts (%zu):\n", e->fs.n);
	for (size_t i = 0; i < e->fs.n; i++) {
		const struct fentry *fe = &e->fs.v[i];
		char key[WL_KEY_B64_LEN], val[FACT_VALUE_STR_MAX];
		key_to_base64(fe->f.subject, key);
		fprintf(out, "  %-14s %s %s ttl=%.0fs%s\n", fact_attr_name(fe->f.attr), key,
			fact_value_str(&fe->f, val, sizeof(val)), secs(fe->expires, now),
			fe->local ? " local" : "");
	}
}

static void dump_peers(const struct engine *e, int64_t now, FILE *out)
{
	fprintf(out, "peers (%zu):\n", e->pt.n);
	for (size_t i = 0; i < e->pt.n; i++) {
		const struct peer *p = e->pt.v[i];
		char key[WL_KEY_B64_LEN], ep[WL_ENDPOINT_STR_MAX] = "-";
		key_to_base64(p->key, key);
		if (p->has_endpoint)
			wl_endpoint_str(&p->endpoint, ep);
		fprintf(out,
			"  %s name=%s dev=%d cfg=%d router=%d healthy=%d alive=%d basic=%d "
			"endpoint=%s handshake=%.1fs alive_until=%.1fs alive_since=%.1fs knows=%zu\n",
			key, p->name[0] ? p->name : "-", p->in_device, p->cfg >= 0, p->router, p->healthy,
			peer_alive(p, now), p->basic, ep, secs(p->handshake, now),
			secs(p->alive_until, now), secs(p->alive_since, now), p->know.n);
	}
}

void engine_dump(const struct engine *e, int64_t now, FILE *out)
{
	const struct engine_stats *s = &e->st;
	char key[WL_KEY_B64_LEN], boot[2 * BOOT_ID_LEN + 1];
	fprintf(out, "wirelink engine %s boot=%s role=%s uptime=%.0fs\n", key_to_base64(e->pub, key),
		hex_encode(e->boot_id, BOOT_ID_LEN, boot), e->router ? "router" : "leaf",
		(double)(now - e->start) / 1000.0);
	dump_facts(e, now, out);
	dump_peers(e, now, out);
	fprintf(out,
		"stats: rx=%" PRIu64 " ok=%" PRIu64 " parse=%" PRIu64 " bad_source=%" PRIu64
		" bad_sig=%" PRIu64 " facts=%" PRIu64 " accepted=%" PRIu64 " expired=%" PRIu64
		" invalid=%" PRIu64 " untrusted=%" PRIu64 " tx=%" PRIu64 " tx_facts=%" PRIu64
		" evicted=%" PRIu64 " boot_changes=%" PRIu64 "\n",
		s->rx_datagrams, s->rx_ok, s->rx_parse, s->rx_bad_source, s->rx_bad_sig, s->rx_facts,
		s->rx_accepted, s->rx_expired, s->rx_invalid, s->rx_untrusted, s->tx_datagrams,
		s->tx_facts, s->facts_evicted, s->boot_id_changes);
}
