/* The control socket's I/O (see ctlsock.h). */
#include "sys/ctlsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct client {
	int fd;
	char in[CTLSOCK_MAX_LINE + 1];
	size_t in_n;
	char *out; /* the answer being written, with its newline */
	size_t out_n, out_off;
	int64_t deadline;
	bool eof;         /* the client will send nothing more */
	bool close_after; /* close once the answer is out */
};

struct ctlsock {
	int lfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct client c[CTLSOCK_MAX_CLIENTS];
	size_t n;
};

/* Takes away a stale socket file; refuses anything else at the path. */
static int clear_path(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	return unlink(path) < 0 ? -errno : 0;
}

/* The socket is born with our group: when that is already the one asked
 * for (the unit's Group=), no chown is needed, which matters under the
 * units: they keep no CAP_CHOWN and refuse the chown calls altogether. */
static int give_to_group(const char *path, gid_t gid)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	if (st.st_gid != gid && chown(path, (uid_t)-1, gid) < 0)
		return -1;
	return chmod(path, 0660);
}

static int listen_at(const char *path, long gid)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* Born 0600 whatever the umask: no moment in which others may connect. */
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc == 0 && gid >= 0)
		rc = give_to_group(path, (gid_t)gid);
	if (rc == 0)
		rc = listen(fd, CTLSOCK_MAX_CLIENTS);
	if (rc < 0) {
		int err = -errno;
		close(fd);
		unlink(path); /* bound, but not as it should be: nobody may use it */
		return err;
	}
	return fd;
}

int ctlsock_open(const char *dir, const char *iface, long gid, char *path, size_t path_len,
		 struct ctlsock **out)
{
	*out = NULL;
	struct ctlsock *cs = calloc(1, sizeof(*cs));
	if (!cs)
		return -ENOMEM;
	int n = snprintf(cs->path, sizeof(cs->path), "%s/%s.sock", dir, iface);
	snprintf(path, path_len, "%s/%s.sock", dir, iface);
	int rc = n < 0 || (size_t)n >= sizeof(cs->path) || strchr(iface, '/') ? -ENAMETOOLONG : 0;
	if (rc == 0 && mkdir(dir, 0755) < 0 && errno != EEXIST)
		rc = -errno;
	if (rc == 0)
		rc = clear_path(cs->path);
	if (rc == 0)
		rc = cs->lfd = listen_at(cs->path, gid);
	if (rc < 0) {
		free(cs);
		return rc;
	}
	*out = cs;
	return 0;
}

static void drop(struct ctlsock *cs, size_t i)
{
	close(cs->c[i].fd);
	free(cs->c[i].out);
	cs->c[i] = cs->c[--cs->n]; /* order does not matter */
}

void ctlsock_close(struct ctlsock *cs)
{
	if (!cs)
		return;
	while (cs->n)
		drop(cs, cs->n - 1);
	close(cs->lfd);
	unlink(cs->path);
	free(cs);
}

size_t ctlsock_pollfds(const struct ctlsock *cs, struct pollfd *fds)
{
	fds[0] = (struct pollfd){ .fd = cs->lfd, .events = POLLIN };
	for (size_t i = 0; i < cs->n; i++)
		fds[1 + i] = (struct pollfd){ .fd = cs->c[i].fd,
					      .events = cs->c[i].out ? POLLOUT : POLLIN };
	return 1 + cs->n;
}

size_t ctlsock_clients(const struct ctlsock *cs)
{
	return cs->n;
}

int64_t ctlsock_next_deadline(const struct ctlsock *cs)
{
	int64_t next = INT64_MAX;
	for (size_t i = 0; cs && i < cs->n; i++)
		if (cs->c[i].deadline < next)
			next = cs->c[i].deadline;
	return next;
}

/* Writes what it can of the queued answer; false if the client is gone. */
static bool flush(struct client *c, int64_t now)
{
	while (c->out && c->out_off < c->out_n) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_n - c->out_off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (w <= 0)
			return false;
		c->out_off += (size_t)w;
	}
	if (c->out) {
		free(c->out);
		c->out = NULL;
		c->deadline = now + CTLSOCK_TIMEOUT_MS; /* time for the next request */
	}
	return !c->close_after;
}

/* Queues an answer line (takes text; NULL = out of memory: close). */
static bool queue(struct client *c, char *text, int64_t now)
{
	if (!text)
		return false;
	size_t n = strlen(text);
	char *line = realloc(text, n + 2);
	if (!line) {
		free(text);
		return false;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	c->out = line;
	c->out_n = n + 1;
	c->out_off = 0;
	c->deadline = now + CTLSOCK_TIMEOUT_MS; /* time to read it */
	return flush(c, now);
}

static char *refusal(const char *why)
{
	char buf[160];
	snprintf(buf, sizeof(buf), "{\"ok\":false,\"error\":\"%s\"}", why);
	return strdup(buf);
}

/* Something to answer: a complete line, what is left at EOF, or a full
 * buffer without a newline. */
static bool pending(const struct client *c)
{
	return memchr(c->in, '\n', c->in_n) || (c->eof && c->in_n) || c->in_n >= CTLSOCK_MAX_LINE;
}

/* Answers the first request in the buffer (pending() holds). False if
 * the client is to be closed now. */
static bool answer_one(struct client *c, int64_t now, ctlsock_handler handler, void *ctx)
{
	char *nl = memchr(c->in, '\n', c->in_n);
	if (!nl && !c->eof) {
		c->close_after = true;
		c->in_n = 0;
		return queue(c, refusal("request line longer than 4096 bytes"), now);
	}
	size_t len = nl ? (size_t)(nl - c->in) : c->in_n;
	c->in[len] = '\0';
	if (len && c->in[len - 1] == '\r')
		c->in[--len] = '\0';
	char *ans = handler(ctx, c->in, len);
	size_t used = nl ? (size_t)(nl - c->in) + 1 : c->in_n;
	memmove(c->in, c->in + used, c->in_n - used);
	c->in_n -= used;
	if (c->eof && !c->in_n)
		c->close_after = true;
	return queue(c, ans, now);
}

/* Reads what the client sent (at most up to a full buffer). */
static bool receive(struct client *c)
{
	while (c->in_n < CTLSOCK_MAX_LINE) {
		ssize_t r = recv(c->fd, c->in + c->in_n, CTLSOCK_MAX_LINE - c->in_n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK;
		if (r == 0) {
			c->eof = true;
			return true;
		}
		c->in_n += (size_t)r;
		if (memchr(c->in + c->in_n - (size_t)r, '\n', (size_t)r))
			return true; /* one request at a time */
	}
	return true;
}

static bool serve(struct client *c, short revents, int64_t now, ctlsock_handler handler,
		  void *ctx)
{
	if (c->out && !flush(c, now))
		return false;
	if (c->out)
		return true;
	if ((revents & (POLLIN | POLLHUP | POLLERR)) && !receive(c))
		return false;
	/* What is buffered is answered in turn, as long as each answer goes
	 * out at once (no new event would come for a request already read). */
	while (!c->out) {
		if (!pending(c))
			return !c->eof;
		if (!answer_one(c, now, handler, ctx))
			return false;
	}
	return true;
}

static void accept_all(struct ctlsock *cs, int64_t now)
{
	for (;;) {
		int fd = accept4(cs->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or a client that left already */
		if (cs->n >= CTLSOCK_MAX_CLIENTS) {
			static const char busy[] = "{\"ok\":false,\"error\":\"too many clients (at most 8)\"}\n";
			(void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			continue;
		}
		struct client *c = &cs->c[cs->n++];
		c->fd = fd;
		c->in_n = 0;
		c->out = NULL;
		c->out_n = c->out_off = 0;
		c->eof = c->close_after = false;
		c->deadline = now + CTLSOCK_TIMEOUT_MS;
	}
}

static short revents_of(const struct pollfd *fds, size_t n, int fd)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i].fd == fd)
			return fds[i].revents;
	return 0;
}

void ctlsock_service(struct ctlsock *cs, const struct pollfd *fds, size_t n, int64_t now,
		     ctlsock_handler handler, void *ctx)
{
	for (size_t i = cs->n; i-- > 0;) {
		struct client *c = &cs->c[i];
		short ev = revents_of(fds, n, c->fd);
		bool keep = now < c->deadline;
		if (keep && (ev || c->out))
			keep = serve(c, ev, now, handler, ctx);
		if (!keep)
			drop(cs, i);
	}
	if (revents_of(fds, n, cs->lfd) & POLLIN)
		accept_all(cs, now);
}
