/* SIGUSR1: every fact, peer state and counter, one per line, handed to the
 * shell's line callback (the core writes nowhere itself). */
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/engine_internal.h"

/* Wide enough for the longest line: a peer with a 63-byte name. */
#define DUMP_LINE_MAX 512

struct dump_out {
	void (*line)(void *ctx, const char *text);
	void *ctx;
};

__attribute__((format(printf, 2, 3)))
static void put(const struct dump_out *o, const char *fmt, ...)
{
	char buf[DUMP_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	o->line(o->ctx, buf);
}

size_t engine_peer_count(const struct engine *e)
{
	return e->pt.n;
}

bool engine_peer_state_digest(const struct engine *e, size_t i, uint8_t key[static WL_KEY_LEN],
			      uint64_t *digest)
{
	if (i >= e->pt.n)
		return false;
	const struct peer *p = e->pt.v[i];
	memcpy(key, p->key, WL_KEY_LEN);
	/* Up to the rarely read tail, around last_seen (written at every
	 * tick for every device peer). */
	const char *c = (const char *)p;
	size_t seen = offsetof(struct peer, last_seen), tail = offsetof(struct peer, tried);
	uint64_t h = wl_hash_bytes(WL_HASH_BASIS, c, seen);
	*digest = wl_hash_bytes(h, c + seen + sizeof(p->last_seen), tail - seen - sizeof(p->last_seen));
	return true;
}

static double secs(int64_t t, int64_t now)
{
	return t == ENGINE_NEVER ? -1.0 : (double)(t - now) / 1000.0;
}

static void dump_facts(const struct engine *e, int64_t now, const struct dump_out *o)
{
	put(o, "facts (%zu):", e->fs.n);
	for (size_t i = 0; i < e->fs.n; i++) {
		const struct fentry *fe = &e->fs.v[i];
		struct fact buf;
		const struct fact *f = factset_fact(&e->fs, i, &buf);
		char lb[WL_PEER_LABEL_MAX], val[FACT_VALUE_STR_MAX];
		engine_key_label(e, f->subject, lb);
		put(o, "  %-14s %s %s ttl=%.0fs%s", fact_attr_name(f->attr), lb,
		    fact_value_str(f, val, sizeof(val)), secs(fe->expires, now),
		    fe->local ? " local" : "");
	}
}

/* Quiet pairs (quiet.c): both ways, only ours, only theirs, or neither;
 * dormant if both offered that. */
static const char *quiet_str(const struct peer *p)
{
	if (engine_dormant_pair(p))
		return "dormant";
	return p->quiet_tx ? (p->quiet_rx ? "both" : "ours") : (p->quiet_rx ? "theirs" : "no");
}

static void dump_peers(const struct engine *e, int64_t now, const struct dump_out *o)
{
	put(o, "peers (%zu):", e->pt.n);
	for (size_t i = 0; i < e->pt.n; i++) {
		const struct peer *p = e->pt.v[i];
		char key[WL_KEY_B64_LEN], lb[WL_PEER_LABEL_MAX], ep[WL_ENDPOINT_STR_MAX] = "-";
		key_to_base64(p->key, key);
		if (p->has_endpoint)
			wl_endpoint_str(&p->endpoint, ep);
		/* Named as everywhere, and the whole key once, to find it in `wg show`. */
		put(o,
		    "  %s key=%s dev=%d cfg=%d router=%d healthy=%d alive=%d basic=%d "
		    "endpoint=%s handshake=%.1fs alive_until=%.1fs alive_since=%.1fs knows=%zu "
		    "ours=%d path_dead=%d quiet=%s leases=%d lease_out=%s/%u/%u lease_in=%s/%u/%zu%s%s",
		    engine_peer_label(p, lb), key, p->in_device, p->cfg >= 0, p->router, p->healthy,
		    peer_alive(p, now), p->basic, ep, secs(p->handshake, now),
		    secs(p->alive_until, now), secs(p->alive_since, now),
		    p->know.n + (p->alive_told != ENGINE_NEVER && p->alive_told >= now), p->ours,
		    p->path_dead, quiet_str(p), p->lease_ok, p->ltx_on ? "on" : p->ltx.refused ? "refused" : "off",
		    (unsigned)p->ltx.epoch, (unsigned)p->ltx.count,
		    p->lrx.refusing ? "refusing" : p->lrx.have ? "on" : "off", (unsigned)p->lrx.epoch,
		    p->lrx.n, p->lrx.pending ? " pending" : "",
		    lease_silent(e, p, now) ? " silent" : "");
	}
}

void engine_dump(const struct engine *e, int64_t now, void (*line)(void *ctx, const char *text),
		 void *ctx)
{
	const struct dump_out o = { line, ctx };
	const struct engine_stats *s = &e->st;
	char key[WL_KEY_B64_LEN], boot[2 * BOOT_ID_LEN + 1];
	put(&o, "wirelink engine %s boot=%s role=%s uptime=%.0fs nat_free=%d", key_to_base64(e->pub, key),
	    hex_encode(e->boot_id, BOOT_ID_LEN, boot), e->router ? "router" : "leaf",
	    (double)(now - e->start) / 1000.0, e->nat_free);
	dump_facts(e, now, &o);
	dump_peers(e, now, &o);
	put(&o,
	    "stats: rx=%" PRIu64 " ok=%" PRIu64 " parse=%" PRIu64 " bad_source=%" PRIu64
	    " bad_sig=%" PRIu64 " facts=%" PRIu64 " accepted=%" PRIu64 " expired=%" PRIu64
	    " invalid=%" PRIu64 " untrusted=%" PRIu64 " tx=%" PRIu64 " tx_facts=%" PRIu64
	    " evicted=%" PRIu64 " over_share=%" PRIu64 " ttl_clamped=%" PRIu64
	    " boot_changes=%" PRIu64,
	    s->rx_datagrams, s->rx_ok, s->rx_parse, s->rx_bad_source, s->rx_bad_sig, s->rx_facts,
	    s->rx_accepted, s->rx_expired, s->rx_invalid, s->rx_untrusted, s->tx_datagrams,
	    s->tx_facts, s->facts_evicted, s->rx_over_share, s->rx_ttl_clamped, s->boot_id_changes);
	put(&o,
	    "paths: probes=%" PRIu64 " answered=%" PRIu64 " replies=%" PRIu64 " hellos=%" PRIu64
	    " dead=%" PRIu64 " back=%" PRIu64 " notes_relayed=%" PRIu64 " notes_heard=%" PRIu64
	    " wakes=%" PRIu64 " notes_capped=%" PRIu64,
	    s->probes_sent, s->probes_answered, s->probe_replies_sent, s->hellos_sent,
	    s->paths_dead, s->paths_back, s->path_notes_relayed, s->path_notes_heard,
	    s->path_wakes_sent, s->path_notes_capped);
	put(&o,
	    "leases: epochs=%" PRIu64 " holds=%" PRIu64 " matched=%" PRIu64 " nacks=%" PRIu64
	    " repairs=%" PRIu64 " withdrawn=%" PRIu64 " refused=%" PRIu64 " asked=%" PRIu64
	    " resent=%" PRIu64 " passes=%" PRIu64 " skipped=%" PRIu64,
	    s->lease_epochs, s->lease_holds_sent, s->lease_holds_matched, s->lease_nacks_sent,
	    s->lease_repairs, s->lease_withdrawn, s->lease_refused, s->lease_holds_asked,
	    s->lease_holds_resent, s->lease_passes, s->lease_passes_skipped);
	put(&o, "index: builds=%" PRIu64 " kept=%" PRIu64, s->index_builds, s->index_kept);
}
