/* Userspace WireGuard backend: the UAPI text protocol over the unix socket
 * /var/run/wireguard/IFACE.sock (wireguard-go and friends). One connection
 * per operation, so a restarted wireguard-go is picked up transparently;
 * time limits per exchange (wg_uapi.h) so a wedged one cannot hang us.
 * Text handling lives in uapi_text.c; this file only moves bytes. */
#include "sys/wg_uapi.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sys/log.h"
#include "sys/wgdev_backend.h"

struct wg_uapi {
	struct wgdev base; /* first: see wgdev_backend.h */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Time limits of one exchange (see wg_uapi.h). */
struct limits {
	int64_t idle_ms;
	int64_t hard_deadline; /* now_ms() scale */
};

/* Waits until fd is ready for events, at most the idle time and never
 * past the hard deadline. */
static int wait_fd(int fd, short events, const struct limits *lim)
{
	int64_t deadline = now_ms() + lim->idle_ms;
	if (deadline > lim->hard_deadline)
		deadline = lim->hard_deadline;
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pfd = { .fd = fd, .events = events };
		int r = poll(&pfd, 1, (int)(left > 1000000 ? 1000000 : left));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int connect_unix(const char *path, const struct limits *lim, int *out_fd)
{
	int64_t deadline = now_ms() + lim->idle_ms;
	if (deadline > lim->hard_deadline)
		deadline = lim->hard_deadline;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	if (len >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, len + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A unix stream connect either completes at once or fails with
	 * EAGAIN when the listener's backlog is full: retry until the
	 * deadline in that case. */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		if (e == EINTR)
			continue;
		if (e != EAGAIN || now_ms() >= deadline) {
			close(fd);
			return e == EAGAIN ? -ETIMEDOUT : -e;
		}
		poll(NULL, 0, 10);
	}
	*out_fd = fd;
	return 0;
}

static int send_all(int fd, const char *p, size_t n, const struct limits *lim)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			int r = wait_fd(fd, POLLOUT, lim);
			if (r < 0)
				return r;
			continue;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int recv_reply(int fd, struct uapi_buf *reply, const struct limits *lim)
{
	size_t start = reply->len;
	for (;;) {
		/* Only the new bytes (and the one before them) can complete
		 * the "\n\n" terminator. */
		if (reply->len - start >= WG_UAPI_REPLY_MAX)
			return -EMSGSIZE;
		char chunk[16384];
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			int r = wait_fd(fd, POLLIN, lim);
			if (r < 0)
				return r;
			continue;
		}
		if (n == 0)
			return -EPROTO; /* closed before the reply ended */
		size_t scan_from = reply->len > start ? reply->len - 1 : start;
		uapi_buf_append(reply, chunk, (size_t)n);
		if (reply->oom)
			return -ENOMEM;
		if (uapi_reply_complete(reply->data + scan_from, reply->len - scan_from))
			return 0;
	}
}

int wg_uapi_transact(const char *path, const char *req, size_t req_len,
		     struct uapi_buf *reply, int idle_ms, int total_ms)
{
	struct limits lim = { .idle_ms = idle_ms, .hard_deadline = now_ms() + total_ms };
	int fd = -1;
	int r = connect_unix(path, &lim, &fd);
	if (r < 0)
		return r;
	r = send_all(fd, req, req_len, &lim);
	if (r == 0)
		r = recv_reply(fd, reply, &lim);
	close(fd);
	return r;
}

/* ---- the backend ---- */

static int uapi_open(const char *ifname, struct wgdev **out)
{
	struct wg_uapi *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	snprintf(u->path, sizeof(u->path), WG_UAPI_SOCKET_DIR "/%s.sock", ifname);
	struct stat st;
	if (stat(u->path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		log_error("wgdev: %s: no userspace WireGuard socket at %s", ifname, u->path);
		free(u);
		return -ENODEV;
	}
	/* A socket file left behind by a dead wireguard-go refuses
	 * connections; say so now rather than at the first get. */
	int fd = -1;
	struct limits lim = { .idle_ms = WG_UAPI_IDLE_MS,
			      .hard_deadline = now_ms() + WG_UAPI_IDLE_MS };
	int r = connect_unix(u->path, &lim, &fd);
	if (r < 0) {
		log_error("wgdev: %s: cannot connect to %s: %s%s", ifname, u->path, strerror(-r),
			  r == -ECONNREFUSED ? " (stale socket of a stopped daemon?)"
			  : r == -EACCES ? " (it is root's alone: a userspace device needs wirelink as "
					   "root, e.g. the unit wirelink@, not wirelink-unprivileged@)"
					 : "");
		free(u);
		return r;
	}
	close(fd);
	*out = &u->base;
	return 0;
}

static void uapi_close(struct wgdev *wg)
{
	free(wgdev_container(wg, struct wg_uapi));
}

/* Sends a request and returns the raw reply in *reply (caller wipes). */
static int uapi_request(struct wg_uapi *u, const struct uapi_buf *req, struct uapi_buf *reply)
{
	int r = wg_uapi_transact(u->path, req->data, req->len, reply, WG_UAPI_IDLE_MS,
				 WG_UAPI_TOTAL_MS);
	if (r < 0)
		log_error("wgdev: %s: UAPI exchange on %s failed: %s", u->base.ifname, u->path,
			  strerror(-r));
	return r;
}

static int uapi_get(struct wgdev *wg, struct wg_device **out)
{
	struct wg_uapi *u = wgdev_container(wg, struct wg_uapi);
	struct uapi_buf req = { .data = (char *)"get=1\n\n", .len = 7 };
	struct uapi_buf reply;
	uapi_buf_init(&reply);
	*out = NULL;
	int r = uapi_request(u, &req, &reply);
	if (r == 0) {
		r = uapi_parse_get(reply.data, reply.len, wg->ifname, out);
		if (r < 0)
			log_error("wgdev: %s: bad UAPI get reply: %s", wg->ifname, strerror(-r));
	}
	uapi_buf_wipe(&reply); /* it holds the private key */
	return r;
}

/* Sends a prepared set=1 request and checks the errno in the reply. */
static int uapi_set(struct wg_uapi *u, struct uapi_buf *req)
{
	struct uapi_buf reply;
	uapi_buf_init(&reply);
	int r = uapi_request(u, req, &reply);
	if (r == 0) {
		r = uapi_parse_set_reply(reply.data, reply.len);
		if (r < 0)
			log_error("wgdev: %s: UAPI set failed: %s", u->base.ifname, strerror(-r));
	}
	uapi_buf_wipe(&reply);
	return r;
}

static int uapi_apply(struct wgdev *wg, const struct wg_peer_change *changes, size_t n)
{
	struct wg_uapi *u = wgdev_container(wg, struct wg_uapi);
	struct uapi_buf req;
	uapi_buf_init(&req);
	int r = uapi_format_apply(&req, changes, n);
	if (r < 0)
		log_error("wgdev: %s: cannot build UAPI request: %s", wg->ifname, strerror(-r));
	else
		r = uapi_set(u, &req);
	uapi_buf_wipe(&req);
	return r;
}

static int uapi_set_device(struct wgdev *wg, const uint8_t *private_key, int listen_port)
{
	struct wg_uapi *u = wgdev_container(wg, struct wg_uapi);
	struct uapi_buf req;
	uapi_buf_init(&req);
	int r = uapi_format_set_device(&req, private_key, listen_port);
	if (r == 0)
		r = uapi_set(u, &req);
	uapi_buf_wipe(&req); /* it holds the private key */
	return r;
}

const struct wgdev_ops wg_uapi_ops = {
	.open = uapi_open,
	.get = uapi_get,
	.apply = uapi_apply,
	.set_device = uapi_set_device,
	.close = uapi_close,
};
