/* libFuzzer target: rtnetlink link, address and route message decoding and the
 * event watch's reading of them (netif.c),
 * over a buffer of concatenated netlink messages as recv() returns it. */
#include <linux/netlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sys/netif.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* netlink messages are 4-byte aligned in a real receive buffer */
	uint32_t *buf = malloc(size / 4 * 4 + 4);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	const uint8_t *pos = (const uint8_t *)buf;
	size_t left = size;
	const struct nlmsghdr *nlh;
	while ((nlh = netif_msg_next(&pos, &left))) {
		struct netif_link l;
		struct netif_addr a;
		struct netif_route r;
		if ((const uint8_t *)nlh + nlh->nlmsg_len > (const uint8_t *)buf + size)
			abort(); /* the walker handed out a message past the end */
		if (netif_link_from_msg(nlh, &l) && (l.name[0] == '\0' || strlen(l.name) >= sizeof(l.name) ||
						     strlen(l.kind) >= sizeof(l.kind)))
			abort();
		if (netif_addr_from_msg(nlh, &a) && a.prefix > wl_addr_len(&a.addr) * 8)
			abort();
		if (netif_route_from_msg(nlh, &r) &&
		    (r.dst_len > wl_addr_len(&r.dst) * 8 ||
		     (r.gateway.family && r.gateway.family != r.dst.family)))
			abort();
		struct netif_events ev = { 0 };
		netif_watch_note(nlh, 4, &ev); /* reads only what the length covers */
	}
	free(buf);
	return 0;
}
