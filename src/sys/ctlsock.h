/* The control socket's I/O [ours]: a Unix stream socket per interface,
 * DIR/IFACE.sock (beside the interface lock), served from the daemon's
 * one poll loop. What a request means is not this module's business: a
 * handler turns each request line into an answer line
 * (src/daemon/control.c).
 *
 * Bounds, so a client can neither block nor exhaust the daemon:
 *  - every descriptor is non-blocking; answers are queued and written as
 *    the client reads them, and a client's next request is read only
 *    once its answer is out;
 *  - a request line is at most CTLSOCK_MAX_LINE bytes: a longer one gets
 *    an error line and the connection is closed;
 *  - at most CTLSOCK_MAX_CLIENTS connections: the next one gets an error
 *    line and is closed at once;
 *  - a connection that sends no complete request, or does not read its
 *    answer, within CTLSOCK_TIMEOUT_MS is closed.
 * Who may connect is the socket file's mode: 0600 (root), or 0660 with a
 * group (ControlGroup). */
#ifndef WL_SYS_CTLSOCK_H
#define WL_SYS_CTLSOCK_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CTLSOCK_MAX_LINE 4096
#define CTLSOCK_MAX_CLIENTS 8
#define CTLSOCK_TIMEOUT_MS 5000
/* Descriptors ctlsock_pollfds may fill: the listener and each client. */
#define CTLSOCK_MAX_FDS (1 + CTLSOCK_MAX_CLIENTS)

struct ctlsock;

/* One request line (without its newline, len bytes, NUL-terminated) ->
 * one answer line, malloc'd, without a newline (the module adds it);
 * NULL = out of memory (the connection is closed). */
typedef char *(*ctlsock_handler)(void *ctx, const char *line, size_t len);

/* Creates DIR/IFACE.sock, listening, mode 0600 owned by root — or 0660
 * with group gid (gid < 0: none). A file already there is replaced if it
 * is a socket (a daemon that crashed left it; the caller holds the
 * interface lock, so no daemon serves it); anything else there is an
 * error (-EEXIST). path gets the socket's path. 0 or -errno. */
int ctlsock_open(const char *dir, const char *iface, long gid, char *path, size_t path_len,
		 struct ctlsock **out);
/* Closes every connection and the listener, and removes the socket file.
 * NULL is fine. */
void ctlsock_close(struct ctlsock *cs);

/* Fills fds with the descriptors to poll (at most CTLSOCK_MAX_FDS);
 * returns how many. */
size_t ctlsock_pollfds(const struct ctlsock *cs, struct pollfd *fds);
/* After poll: accepts, reads, answers, writes, closes what timed out.
 * fds/n as ctlsock_pollfds filled them (with revents). now: monotonic ms. */
void ctlsock_service(struct ctlsock *cs, const struct pollfd *fds, size_t n, int64_t now,
		     ctlsock_handler handler, void *ctx);
/* The earliest client timeout (monotonic ms), INT64_MAX if none. */
int64_t ctlsock_next_deadline(const struct ctlsock *cs);
/* Connections open now. */
size_t ctlsock_clients(const struct ctlsock *cs);

#endif
