/* Socket side of the userspace backend (wg_uapi.c), exposed for tests.
 * The backend itself is reached through wgdev_open(..., WGDEV_USERSPACE). */
#ifndef WL_SYS_WG_UAPI_H
#define WL_SYS_WG_UAPI_H

#include <stddef.h>

#include "sys/uapi_text.h"

/* Where userspace WireGuard implementations put their control sockets. */
#define WG_UAPI_SOCKET_DIR "/var/run/wireguard"
/* Budget for one whole request/reply exchange: a wedged wireguard-go makes
 * the call fail with -ETIMEDOUT instead of hanging the daemon. */
#define WG_UAPI_TIMEOUT_MS 5000
/* Largest reply accepted (a 1000-peer device is about 0.5 MB). */
#define WG_UAPI_REPLY_MAX (64u << 20)

/* Connects to the stream socket at path, sends req_len bytes of req and
 * reads the reply until its closing empty line into reply (appended).
 * Everything must finish within timeout_ms. Returns 0 or -errno:
 * -ETIMEDOUT, -EPROTO when the peer closes before the reply is complete,
 * -EMSGSIZE past WG_UAPI_REPLY_MAX, or the socket error. */
int wg_uapi_transact(const char *path, const char *req, size_t req_len,
		     struct uapi_buf *reply, int timeout_ms);

#endif
