#include "daemon/resolve.h"

#include <netdb.h>
#include <stdio.h>

#include "sys/log.h"

size_t resolve_endpoint(const struct wl_config_endpoint *ep, struct wl_endpoint *out, size_t cap)
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
	for (struct addrinfo *ai = res; ai && n < cap; ai = ai->ai_next)
		if (wl_endpoint_from_sockaddr(ai->ai_addr, &out[n]))
			n++;
	freeaddrinfo(res);
	return n;
}
