/* Prometheus text exposition of the engine's, the driver's and the port
 * mapper's counters (metrics.h). One family per metric: # HELP, # TYPE,
 * then its samples. */
#include "daemon/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/report.h"

struct out {
	FILE *f;
	char lbl[128]; /* iface="wg0" */
};

/* A label value with \, " and newlines escaped (the format's rules). */
static void label_value(char *dst, size_t cap, const char *s)
{
	size_t n = 0;
	for (; *s && n + 3 < cap; s++) {
		if (*s == '\\' || *s == '"') {
			dst[n++] = '\\';
			dst[n++] = *s;
		} else if (*s == '\n') {
			dst[n++] = '\\';
			dst[n++] = 'n';
		} else {
			dst[n++] = *s;
		}
	}
	dst[n] = '\0';
}

static void family(struct out *o, const char *name, const char *type, const char *help)
{
	fprintf(o->f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample: name{iface="..",extra} value. extra: more labels or "". */
static void sample(struct out *o, const char *name, const char *extra, uint64_t v)
{
	fprintf(o->f, "%s{%s%s%s} %" PRIu64 "\n", name, o->lbl, extra[0] ? "," : "", extra, v);
}

static void one(struct out *o, const char *name, const char *type, const char *help, uint64_t v)
{
	family(o, name, type, help);
	sample(o, name, "", v);
}

static void peers(struct out *o, const struct control_view *v)
{
	struct report_counts c;
	engine_count_paths(v->e, v->now, &c);
	family(o, "wirelink_peers", "gauge",
	       "Peers in the device or configured, by the path their traffic takes now.");
	for (int p = REPORT_DIRECT; p <= REPORT_DOWN; p++) {
		char l[32];
		snprintf(l, sizeof(l), "path=\"%s\"", report_path_name((enum report_path)p));
		sample(o, "wirelink_peers", l, c.path[p]);
	}
	one(o, "wirelink_peers_alive", "gauge", "Peers whose Alive has not expired.", c.alive);
	one(o, "wirelink_peers_healthy", "gauge", "Peers with a fresh WireGuard handshake.",
	    c.healthy);
	one(o, "wirelink_facts", "gauge", "Facts stored (our own included).",
	    engine_fact_count(v->e));
	one(o, "wirelink_router", "gauge", "1 if this node acts as a router.",
	    engine_is_router(v->e));
}

static void traffic(struct out *o, const struct control_view *v)
{
	const struct engine_stats *s = engine_get_stats(v->e);
	one(o, "wirelink_datagrams_received_total", "counter",
	    "Datagrams received on the wirelink and probe ports.", s->rx_datagrams);
	one(o, "wirelink_datagrams_sent_total", "counter", "wirelink datagrams sent.",
	    s->tx_datagrams);
	family(o, "wirelink_datagrams_dropped_total", "counter",
	       "Datagrams received and dropped, by reason.");
	sample(o, "wirelink_datagrams_dropped_total", "reason=\"malformed\"", s->rx_parse);
	sample(o, "wirelink_datagrams_dropped_total", "reason=\"bad_source\"", s->rx_bad_source);
	sample(o, "wirelink_datagrams_dropped_total", "reason=\"bad_signature\"", s->rx_bad_sig);
	sample(o, "wirelink_datagrams_dropped_total", "reason=\"oversized\"", v->rx_truncated);
	one(o, "wirelink_facts_received_total", "counter",
	    "Facts received in authenticated datagrams (Alives included).", s->rx_facts);
	one(o, "wirelink_facts_accepted_total", "counter", "Received facts stored or refreshed.",
	    s->rx_accepted);
	one(o, "wirelink_facts_sent_total", "counter", "Facts sent.", s->tx_facts);
	family(o, "wirelink_facts_dropped_total", "counter", "Received facts dropped, by reason.");
	sample(o, "wirelink_facts_dropped_total", "reason=\"malformed\"", s->rx_fact_parse);
	sample(o, "wirelink_facts_dropped_total", "reason=\"expired\"", s->rx_expired);
	sample(o, "wirelink_facts_dropped_total", "reason=\"through_tunnel\"", s->rx_invalid);
	sample(o, "wirelink_facts_dropped_total", "reason=\"untrusted\"", s->rx_untrusted);
	sample(o, "wirelink_facts_dropped_total", "reason=\"over_share\"", s->rx_over_share);
	one(o, "wirelink_facts_evicted_total", "counter",
	    "Stored facts pushed out by a newer fact of the same source.", s->facts_evicted);
	one(o, "wirelink_facts_expired_total", "counter", "Stored facts that expired.",
	    s->facts_expired);
	one(o, "wirelink_facts_ttl_clamped_total", "counter",
	    "Received facts whose TTL was cut to FactTTL.", s->rx_ttl_clamped);
	one(o, "wirelink_peers_evicted_total", "counter",
	    "Peer states evicted from a full table.", s->peers_evicted);
	one(o, "wirelink_peers_refused_total", "counter",
	    "Peer states refused: the table was full of peers that may not be evicted.",
	    s->peers_refused);
	one(o, "wirelink_knowledge_dropped_total", "counter",
	    "Keys a peer knows not remembered: its knowledge table was full.",
	    s->knowledge_dropped);
	one(o, "wirelink_allowed_ips_capped_total", "counter",
	    "AllowedIPs not added: the peer already had 256.", s->allowed_capped);
	one(o, "wirelink_boot_id_changes_total", "counter", "New boot ids picked.",
	    s->boot_id_changes);
	one(o, "wirelink_ticks_total", "counter", "Engine ticks.", s->ticks);
}

static void paths(struct out *o, const struct control_view *v)
{
	const struct engine_stats *s = engine_get_stats(v->e);
	family(o, "wirelink_path_changes_total", "counter",
	       "Peers (not routers) that went direct, or fell back to the router.");
	sample(o, "wirelink_path_changes_total", "to=\"direct\"", s->went_direct);
	sample(o, "wirelink_path_changes_total", "to=\"router\"", s->fell_back);
	one(o, "wirelink_fallbacks_total", "counter",
	    "Direct paths found dead under traffic by the path watch (traffic fell back to the "
	    "router).",
	    s->paths_dead);
	one(o, "wirelink_paths_back_total", "counter", "Dead direct paths that worked again.",
	    s->paths_back);
	family(o, "wirelink_path_notes_total", "counter",
	       "Path notes (dead paths, dormant paths woken): passed on as a router, heard from "
	       "our router (each had a direct path watched or woken), wake notes sent, or not "
	       "passed on beyond the sending leaf's share.");
	sample(o, "wirelink_path_notes_total", "kind=\"relayed\"", s->path_notes_relayed);
	sample(o, "wirelink_path_notes_total", "kind=\"heard\"", s->path_notes_heard);
	sample(o, "wirelink_path_notes_total", "kind=\"wake\"", s->path_wakes_sent);
	sample(o, "wirelink_path_notes_total", "kind=\"capped\"", s->path_notes_capped);
	family(o, "wirelink_probes_total", "counter", "Path probes, by kind.");
	sample(o, "wirelink_probes_total", "kind=\"sent\"", s->probes_sent);
	sample(o, "wirelink_probes_total", "kind=\"answered\"", s->probes_answered);
	sample(o, "wirelink_probes_total", "kind=\"replied\"", s->probe_replies_sent);
	sample(o, "wirelink_probes_total", "kind=\"hello\"", s->hellos_sent);
	const char *h = "wirelink_time_to_direct_seconds";
	family(o, h, "histogram",
	       "From a peer's first endpoint candidate to its first healthy handshake.");
	uint64_t cum = 0;
	for (size_t b = 0; b < ENGINE_TTD_BUCKETS; b++) {
		char l[32];
		cum += s->ttd_bucket[b];
		snprintf(l, sizeof(l), "le=\"%g\"", (double)engine_ttd_bounds_ms[b] / 1000.0);
		fprintf(o->f, "%s_bucket{%s,%s} %" PRIu64 "\n", h, o->lbl, l, cum);
	}
	fprintf(o->f, "%s_bucket{%s,le=\"+Inf\"} %" PRIu64 "\n", h, o->lbl, s->ttd_count);
	fprintf(o->f, "%s_sum{%s} %.3f\n", h, o->lbl, (double)s->ttd_sum_ms / 1000.0);
	fprintf(o->f, "%s_count{%s} %" PRIu64 "\n", h, o->lbl, s->ttd_count);
}

static void driver(struct out *o, const struct control_view *v)
{
	if (!v->drv)
		return;
	const struct driver_stats *d = v->drv;
	family(o, "wirelink_send_errors_total", "counter",
	       "Datagrams that could not be sent: no path right now, or another error.");
	sample(o, "wirelink_send_errors_total", "kind=\"unreachable\"", d->tx_unreachable);
	sample(o, "wirelink_send_errors_total", "kind=\"other\"", d->tx_errors);
	family(o, "wirelink_device_errors_total", "counter",
	       "WireGuard device reads (tick skipped) and change batches that failed.");
	sample(o, "wirelink_device_errors_total", "op=\"read\"", d->read_errors);
	sample(o, "wirelink_device_errors_total", "op=\"apply\"", d->apply_errors);
	one(o, "wirelink_reloads_total", "counter", "Configuration reloads.", d->reloads);
	one(o, "wirelink_clock_jumps_total", "counter", "Wall-clock jumps noticed.",
	    d->clock_jumps);
}

static void portmap(struct out *o, const struct control_view *v)
{
	if (!v->has_portmap)
		return;
	one(o, "wirelink_port_mapping_active", "gauge",
	    "1 while our NAT has granted a port mapping that has not expired.", v->pm.mapped);
	family(o, "wirelink_port_mapping_total", "counter",
	       "Port-mapping requests sent, and answers: granted (or renewed), refused; "
	       "mappings lost (expired unrenewed).");
	sample(o, "wirelink_port_mapping_total", "event=\"request\"", v->pm_stats.requests);
	sample(o, "wirelink_port_mapping_total", "event=\"granted\"", v->pm_stats.granted);
	sample(o, "wirelink_port_mapping_total", "event=\"refused\"", v->pm_stats.refused);
	sample(o, "wirelink_port_mapping_total", "event=\"lost\"", v->pm_stats.lost);
}

char *metrics_text(const struct control_view *v)
{
	char *buf = NULL;
	size_t len = 0;
	struct out o;
	o.f = open_memstream(&buf, &len);
	if (!o.f)
		return NULL;
	char iface[96];
	label_value(iface, sizeof(iface), v->iface ? v->iface : "");
	snprintf(o.lbl, sizeof(o.lbl), "iface=\"%s\"", iface);
	one(&o, "wirelink_up", "gauge", "1: the daemon answers.", 1);
	fprintf(o.f, "# HELP wirelink_uptime_seconds Seconds since the daemon started.\n"
		     "# TYPE wirelink_uptime_seconds gauge\nwirelink_uptime_seconds{%s} %.3f\n",
		o.lbl, (double)(v->now - v->started) / 1000.0);
	peers(&o, v);
	traffic(&o, v);
	paths(&o, v);
	driver(&o, v);
	portmap(&o, v);
	if (fclose(o.f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int metrics_write_file(const char *path, const char *text)
{
	char tmp[4200];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	/* Readable by node_exporter's user whatever our umask (the unit's is
	 * 0077): counters, no secrets. */
	if (fchmod(fd, 0644) < 0) {
		int err = -errno;
		close(fd);
		unlink(tmp);
		return err;
	}
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int err = w < 0 ? -errno : -EIO;
			close(fd);
			unlink(tmp);
			return err;
		}
		off += (size_t)w;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		int err = -errno;
		unlink(tmp);
		return err;
	}
	return 0;
}
