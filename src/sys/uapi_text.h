/* The WireGuard cross-platform UAPI text protocol, without any I/O:
 * parsing replies and building requests. Everything here is a pure
 * function of its inputs (no sockets, clocks or globals), so it can be
 * unit-tested and fuzzed on its own; wg_uapi.c does the socket part.
 *
 * Protocol summary (as spoken by wireguard-go): a request is "get=1\n\n" or
 * "set=1\n" followed by key=value lines and an empty line. Keys are lower
 * case hex. A reply is key=value lines ending with "errno=N\n" and an empty
 * line; N is 0 on success (wireguard-go prints failures as negative
 * numbers, the protocol text as positive ones: both are accepted).
 *
 * Error convention: 0 or -errno. -EBADMSG means the text was malformed
 * (a message saying where is logged at debug level); a non-zero errno=
 * from the peer is returned as -N (clamped to -EPROTO if out of range). */
#ifndef WL_SYS_UAPI_TEXT_H
#define WL_SYS_UAPI_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sys/wgdev.h"

/* A growable byte buffer for requests and replies. A failed append marks
 * the buffer failed (oom) and later appends do nothing, so callers check
 * once at the end. */
struct uapi_buf {
	char *data;
	size_t len, cap;
	bool oom;
};

void uapi_buf_init(struct uapi_buf *b);
/* Wipes the contents (they may hold a private key) and frees them. */
void uapi_buf_wipe(struct uapi_buf *b);
void uapi_buf_append(struct uapi_buf *b, const void *data, size_t n);
void uapi_buf_printf(struct uapi_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True once buf holds a complete reply: it contains an empty line ("\n\n").
 * Keys are never empty, so the first "\n\n" ends the reply. */
bool uapi_reply_complete(const char *buf, size_t len);

/* Parses the reply to "get=1": exactly len bytes, which must end with the
 * empty line. On success *out is a new snapshot named ifname (may be NULL
 * or "" for an unnamed one), with public_key derived from private_key.
 * Every value is validated; duplicate peers are an error. Unknown keys are
 * ignored so newer implementations still work. */
int uapi_parse_get(const char *buf, size_t len, const char *ifname, struct wg_device **out);

/* Parses the reply to "set=1": "errno=N\n\n". Returns 0 or -errno. */
int uapi_parse_set_reply(const char *buf, size_t len);

/* Appends a complete "set=1" request applying changes in order (see
 * wgdev_apply). Returns 0, -EINVAL for an invalid change (e.g. an allowed
 * IP without a family), or -ENOMEM. */
int uapi_format_apply(struct uapi_buf *b, const struct wg_peer_change *changes, size_t n);

/* Appends a complete "set=1" request setting the private key (if not NULL)
 * and the listen port (if 0..65535). Returns 0, -EINVAL or -ENOMEM. */
int uapi_format_set_device(struct uapi_buf *b, const uint8_t *private_key, int listen_port);

#endif
