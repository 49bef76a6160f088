/* Turning configured endpoints ("host:port", host maybe a DNS name) into
 * addresses for the engine. Numeric hosts never touch DNS. Names go
 * through getaddrinfo, which blocks: it is only called for configured peers
 * that are neither alive nor healthy, at most once per RESOLVE_INTERVAL_MS
 * per peer, so a slow resolver delays the loop rarely and briefly. */
#ifndef WL_DAEMON_RESOLVE_H
#define WL_DAEMON_RESOLVE_H

#include <stddef.h>

#include "common/netaddr.h"
#include "config/config.h"

#define RESOLVE_INTERVAL_MS 60000

/* Resolves every endpoint of a configured peer; keeps global unicast
 * results only (SPEC §5), at most cap of them. Failures are silent
 * (debug log). Returns the number written to out. */
size_t resolve_peer_endpoints(const struct wl_config_peer *peer, struct wl_endpoint *out,
			      size_t cap);

#endif
