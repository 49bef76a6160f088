/* The daemon's resolver for configured endpoints ("host:port", host maybe
 * a DNS name): getaddrinfo, which blocks. The driver calls it only for
 * configured peers that are neither alive nor healthy, at most once per
 * DRIVER_RESOLVE_INTERVAL_MS per peer, so a slow resolver delays the loop
 * rarely and briefly; it keeps the global unicast results (SPEC §5). */
#ifndef WL_DAEMON_RESOLVE_H
#define WL_DAEMON_RESOLVE_H

#include <stddef.h>

#include "common/netaddr.h"
#include "config/config.h"

/* Writes up to cap addresses of ep to out and returns how many. A numeric
 * host never touches DNS. Failures return 0 (with a debug log line). */
size_t resolve_endpoint(const struct wl_config_endpoint *ep, struct wl_endpoint *out, size_t cap);

#endif
