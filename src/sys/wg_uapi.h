/* Socket side of the userspace backend (wg_uapi.c), exposed for tests.
 * The backend itself is reached through wgdev_open(..., WGDEV_USERSPACE). */
#ifndef WL_SYS_WG_UAPI_H
#define WL_SYS_WG_UAPI_H

#include <stddef.h>

#include "sys/uapi_text.h"

/* Where userspace WireGuard implementations put their control sockets. */
#define WG_UAPI_SOCKET_DIR "/var/run/wireguard"
/* A wedged wireguard-go must not hang the daemon: an exchange fails with
 * -ETIMEDOUT when the other side makes no progress (accepts, reads or
 * writes nothing) for WG_UAPI_IDLE_MS, or when the whole exchange takes
 * longer than WG_UAPI_TOTAL_MS. The idle limit is what normally trips; the
 * total one only bounds a daemon that trickles. Large devices are fine:
 * wireguard-go answers a 1000-peer get in ~10 ms and creates 1000 peers in
 * well under a second. */
#define WG_UAPI_IDLE_MS 5000
#define WG_UAPI_TOTAL_MS 30000
/* Largest reply accepted (a 1000-peer device is about 0.5 MB). */
#define WG_UAPI_REPLY_MAX (64u << 20)

/* Connects to the stream socket at path, sends req_len bytes of req and
 * reads the reply until its closing empty line into reply (appended),
 * with the idle and total limits above given in milliseconds. Returns 0 or
 * -errno: -ETIMEDOUT, -EPROTO when the peer closes before the reply is
 * complete, -EMSGSIZE past WG_UAPI_REPLY_MAX, or the socket error
 * (-ENOENT, -ECONNREFUSED, ...). */
int wg_uapi_transact(const char *path, const char *req, size_t req_len,
		     struct uapi_buf *reply, int idle_ms, int total_ms);

#endif
