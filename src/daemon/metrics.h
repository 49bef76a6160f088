/* The daemon's metrics in Prometheus' text exposition format (version
 * 0.0.4): `wirelink show --metrics` (the control socket's "metrics"
 * request) and the MetricsFile node_exporter's textfile collector reads.
 * Every name starts with wirelink_, every sample has the label iface;
 * counters end in _total, durations are in seconds. docs/control.md lists
 * them all. */
#ifndef WL_DAEMON_METRICS_H
#define WL_DAEMON_METRICS_H

#include "daemon/control.h"

/* The whole exposition, malloc'd (NUL-terminated); NULL if out of memory. */
char *metrics_text(const struct control_view *v);

/* Writes text to path atomically: a temporary file in the same directory,
 * then rename(2), so a reader sees the old file or the new one, never
 * half of one. 0 or -errno. */
int metrics_write_file(const char *path, const char *text);

#endif
