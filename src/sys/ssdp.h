/* SSDP, the discovery of UPnP devices (UPnP Device Architecture 1.1,
 * §1.3), as far as the port mapper needs it: the M-SEARCH request that
 * asks for an Internet Gateway Device, and the parse of a device's answer
 * down to its LOCATION (the URL of its description, which libminiupnpc
 * then reads). No I/O: portmap.c sends and receives, without blocking,
 * from the daemon's poll loop — libminiupnpc's own discovery waits at
 * least a second per device type it searches for.
 *
 *   request   M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n
 *             MAN: "ssdp:discover"\r\nMX: 1\r\nST: <type>\r\n\r\n
 *             (a unicast search, to the gateway itself, has no MX line
 *             and is answered at once, UDA 1.1 §1.3.3)
 *   answer    HTTP/1.1 200 OK\r\n ... LOCATION: <url>\r\n ... \r\n
 *
 * The parser reads at most the given length, never past it, and accepts
 * only a URL of printable characters that fits the caller's buffer. */
#ifndef WL_SYS_SSDP_H
#define WL_SYS_SSDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSDP_PORT 1900
#define SSDP_GROUP "239.255.255.250"
#define SSDP_IGD "urn:schemas-upnp-org:device:InternetGatewayDevice:1"

/* Writes an M-SEARCH for device type st, addressed to host ("a.b.c.d:1900"
 * or the multicast group's), with MX mx seconds (0: a unicast search, no
 * MX line). Returns its length (no NUL counted), or 0 if it does not fit
 * in cap bytes. */
size_t ssdp_build_search(char *buf, size_t cap, const char *host, const char *st, unsigned mx);

/* Parses an answer to a search: an HTTP/1.x 200 status line and headers,
 * of which LOCATION (any case) is copied, blanks around it trimmed, into
 * location (cap bytes, NUL-terminated). False, with location empty, for
 * another status, a missing or empty LOCATION, one with control or
 * non-ASCII characters or longer than cap - 1, or a NUL anywhere in the
 * status line or headers. */
bool ssdp_parse_response(const uint8_t *buf, size_t len, char *location, size_t cap);

#endif
