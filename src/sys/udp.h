/* wirelink's UDP socket inside the tunnel (SPEC §2): bound to
 * [own auto address%iface]:port, sending to [peer auto address%iface]:port.
 *
 * Error convention: 0 / a length, or -errno. */
#ifndef WL_SYS_UDP_H
#define WL_SYS_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/netaddr.h"

/* Opens a non-blocking IPv6 UDP socket bound to [addr%ifindex]:port.
 * -EADDRNOTAVAIL while the address is still tentative (DAD): the caller
 * retries later instead of giving up. */
int udp_open(uint32_t ifindex, const struct wl_addr *addr, uint16_t port, int *fd_out);

/* Sends one datagram to [dst%ifindex]:port. Returns 0 or -errno. */
int udp_send(int fd, uint32_t ifindex, const struct wl_addr *dst, uint16_t port,
	     const uint8_t *buf, size_t len);

/* True for send errors that only mean "no path right now" (no endpoint,
 * no route, no session, no socket yet): expected and not worth a warning
 * (SPEC §2). Not EADDRNOTAVAIL or ENETDOWN: our own address or link is
 * gone, which lasts until someone (the daemon) puts it back. */
bool udp_error_is_unreachable(int err);

/* Receives one datagram without blocking: its length, -EAGAIN when there
 * is none, or another -errno. *src is the source address. *truncated is
 * set when the datagram was larger than cap. */
ssize_t udp_recv(int fd, uint8_t *buf, size_t cap, struct wl_addr *src, bool *truncated);

#endif
