#include "daemon/resolve.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "sys/log.h"

static size_t resolve_one(const struct wl_config_endpoint *ep, struct wl_endpoint *out,
			  size_t cap)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char port[8];
	snprintf(port, sizeof(port), "%u", ep->port);
	int rc = getaddrinfo(ep->host, port, &hints, &res);
	if (rc != 0) {
		log_debug("resolving %s: %s", ep->host, gai_strerror(rc));
		return 0;
	}
	size_t n = 0;
	for (struct addrinfo *ai = res; ai && n < cap; ai = ai->ai_next) {
		struct wl_endpoint e;
		if (!wl_endpoint_from_sockaddr(ai->ai_addr, &e) ||
		    !wl_addr_is_global_unicast(&e.addr))
			continue;
		bool dup = false;
		for (size_t i = 0; i < n; i++)
			dup |= memcmp(&out[i], &e, sizeof(e)) == 0;
		if (!dup)
			out[n++] = e;
	}
	freeaddrinfo(res);
	return n;
}

size_t resolve_peer_endpoints(const struct wl_config_peer *peer, struct wl_endpoint *out,
			      size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < peer->n_endpoints && n < cap; i++)
		n += resolve_one(&peer->endpoints[i], out + n, cap - n);
	return n;
}
