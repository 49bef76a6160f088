/* The control socket's I/O (src/sys/ctlsock.c) on a real Unix socket in a
 * temporary directory, served by the test's own poll calls; time is the
 * test's (the module only compares the `now` it is given), so timeouts are
 * exact, not waited for. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <seccomp.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "sys/ctlsock.h"

struct env {
	char dir[64], path[128];
	struct ctlsock *cs;
	int handled;
};

/* Echoes the request in an answer, so tests see what the module passed. */
static char *echo(void *ctx, const char *line, size_t len)
{
	struct env *e = ctx;
	e->handled++;
	char *out = malloc(len + 16);
	snprintf(out, len + 16, "{\"got\":\"%.*s\"}", (int)len, line);
	return out;
}

static void env_open(struct env *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/wl-ctlsock.XXXXXX");
	CHECK(mkdtemp(e->dir) != NULL);
	CHECK_EQ(ctlsock_open(e->dir, "wgt0", -1, e->path, sizeof(e->path), &e->cs), 0);
}

static void env_close(struct env *e)
{
	ctlsock_close(e->cs);
	struct stat st;
	CHECK(stat(e->path, &st) < 0 && errno == ENOENT); /* removed */
	rmdir(e->dir);
}

static int client(const struct env *e)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, e->path, strlen(e->path) + 1); /* short: /tmp/wl-ctlsock.XXXXXX/wgt0.sock */
	CHECK_EQ(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* One round of the daemon's loop: poll (no wait) and service at now. */
static void serve(struct env *e, int64_t now)
{
	struct pollfd fds[CTLSOCK_MAX_FDS];
	size_t n = ctlsock_pollfds(e->cs, fds);
	poll(fds, n, 0);
	ctlsock_service(e->cs, fds, n, now, echo, e);
}

/* What the client has received so far (non-blocking), NUL-terminated;
 * *closed when the daemon hung up. */
static size_t recv_all(int fd, char *buf, size_t cap, bool *closed)
{
	size_t n = 0;
	*closed = false;
	for (;;) {
		ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r > 0) {
			n += (size_t)r;
			continue;
		}
		*closed = r == 0 || (r < 0 && errno == ECONNRESET);
		break;
	}
	buf[n] = '\0';
	return n;
}

TEST(socket_is_root_only_and_replaces_a_stale_one)
{
	struct env e;
	env_open(&e);
	struct stat st;
	CHECK(stat(e.path, &st) == 0 && S_ISSOCK(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0600u);
	/* A second open (the daemon after a crash) replaces the file. */
	struct ctlsock *again;
	char p2[128];
	CHECK_EQ(ctlsock_open(e.dir, "wgt0", -1, p2, sizeof(p2), &again), 0);
	ctlsock_close(again); /* removes the file... */
	CHECK(stat(e.path, &st) < 0);
	/* ... and something that is not a socket is never removed. */
	FILE *f = fopen(e.path, "w");
	CHECK(f != NULL);
	fclose(f);
	CHECK_EQ(ctlsock_open(e.dir, "wgt0", -1, p2, sizeof(p2), &again), -EEXIST);
	CHECK(stat(e.path, &st) == 0 && S_ISREG(st.st_mode));
	unlink(e.path);
	CHECK_EQ(ctlsock_open(e.dir, "wgt0", -1, p2, sizeof(p2), &again), 0);
	ctlsock_close(again);
	ctlsock_close(e.cs);
	rmdir(e.dir);
}

TEST(requests_answered_in_order_one_line_each)
{
	struct env e;
	env_open(&e);
	int fd = client(&e);
	serve(&e, 0); /* accept */
	const char req[] = "one\ntwo\r\nthr";
	CHECK_EQ(send(fd, req, sizeof(req) - 1, 0), (ssize_t)(sizeof(req) - 1));
	serve(&e, 1);
	char buf[512];
	bool closed;
	recv_all(fd, buf, sizeof(buf), &closed);
	CHECK_STR(buf, "{\"got\":\"one\"}\n{\"got\":\"two\"}\n");
	CHECK(!closed);
	/* The rest of a line waits for its newline; at EOF it is a request. */
	CHECK_EQ(send(fd, "ee", 2, 0), 2);
	serve(&e, 2);
	recv_all(fd, buf, sizeof(buf), &closed);
	CHECK_STR(buf, "");
	shutdown(fd, SHUT_WR);
	serve(&e, 3);
	serve(&e, 4);
	recv_all(fd, buf, sizeof(buf), &closed);
	CHECK_STR(buf, "{\"got\":\"three\"}\n");
	CHECK(closed);
	CHECK_EQ(ctlsock_clients(e.cs), 0u);
	close(fd);
	env_close(&e);
}

TEST(oversized_line_refused_and_closed)
{
	struct env e;
	env_open(&e);
	int fd = client(&e);
	serve(&e, 0);
	char big[CTLSOCK_MAX_LINE + 10];
	memset(big, 'x', sizeof(big));
	CHECK_EQ(send(fd, big, sizeof(big), 0), (ssize_t)sizeof(big));
	serve(&e, 1);
	serve(&e, 2);
	char buf[512];
	bool closed;
	recv_all(fd, buf, sizeof(buf), &closed);
	CHECK_STR(buf, "{\"ok\":false,\"error\":\"request line longer than 4096 bytes\"}\n");
	CHECK(closed);
	CHECK_EQ(e.handled, 0);
	close(fd);
	env_close(&e);
}

TEST(ninth_client_refused_the_others_served)
{
	struct env e;
	env_open(&e);
	int fds[CTLSOCK_MAX_CLIENTS + 1];
	for (int i = 0; i < CTLSOCK_MAX_CLIENTS; i++)
		fds[i] = client(&e);
	serve(&e, 0);
	CHECK_EQ(ctlsock_clients(e.cs), (size_t)CTLSOCK_MAX_CLIENTS);
	fds[CTLSOCK_MAX_CLIENTS] = client(&e);
	serve(&e, 1);
	char buf[512];
	bool closed;
	recv_all(fds[CTLSOCK_MAX_CLIENTS], buf, sizeof(buf), &closed);
	CHECK_STR(buf, "{\"ok\":false,\"error\":\"too many clients (at most 8)\"}\n");
	CHECK(closed);
	CHECK_EQ(send(fds[3], "x\n", 2, 0), 2);
	serve(&e, 2);
	recv_all(fds[3], buf, sizeof(buf), &closed);
	CHECK_STR(buf, "{\"got\":\"x\"}\n");
	for (int i = 0; i <= CTLSOCK_MAX_CLIENTS; i++)
		close(fds[i]);
	env_close(&e);
}

TEST(silent_client_times_out)
{
	struct env e;
	env_open(&e);
	int fd = client(&e);
	serve(&e, 1000);
	CHECK_EQ(ctlsock_next_deadline(e.cs), 1000 + CTLSOCK_TIMEOUT_MS);
	serve(&e, 1000 + CTLSOCK_TIMEOUT_MS - 1);
	CHECK_EQ(ctlsock_clients(e.cs), 1u);
	serve(&e, 1000 + CTLSOCK_TIMEOUT_MS);
	CHECK_EQ(ctlsock_clients(e.cs), 0u);
	CHECK_EQ(ctlsock_next_deadline(e.cs), INT64_MAX);
	close(fd);
	env_close(&e);
}

TEST(group_socket_is_0660_with_that_group)
{
	if (geteuid() != 0) {
		harness_skip("needs root to give the socket another group");
		return;
	}
	struct env e;
	memset(&e, 0, sizeof(e));
	snprintf(e.dir, sizeof(e.dir), "/tmp/wl-ctlsock.XXXXXX");
	CHECK(mkdtemp(e.dir) != NULL);
	CHECK_EQ(ctlsock_open(e.dir, "wgt0", 65534, e.path, sizeof(e.path), &e.cs), 0);
	struct stat st;
	CHECK(stat(e.path, &st) == 0);
	CHECK_EQ(st.st_mode & 0777, 0660u);
	CHECK_EQ(st.st_gid, 65534u);
	env_close(&e);
}

/* Under the units every chown is refused: a ControlGroup equal to the
 * service's own group (Group=) must work without one. The child refuses
 * the chown family with EPERM, as the units do, and opens a socket for
 * its own group. */
TEST(own_group_needs_no_chown)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/wl-ctlsock.XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	pid_t pid = fork();
	if (pid == 0) {
		scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
		int calls[] = { SCMP_SYS(chown), SCMP_SYS(fchown), SCMP_SYS(lchown),
				SCMP_SYS(fchownat) };
		for (size_t i = 0; f && i < sizeof(calls) / sizeof(calls[0]); i++)
			seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), calls[i], 0);
		if (!f || seccomp_load(f) < 0)
			_exit(10);
		char path[128];
		struct ctlsock *cs;
		if (ctlsock_open(dir, "wgt1", (long)getegid(), path, sizeof(path), &cs) < 0)
			_exit(11);
		struct stat st;
		int ok = stat(path, &st) == 0 && (st.st_mode & 0777) == 0660 &&
			 st.st_gid == getegid();
		ctlsock_close(cs);
		_exit(ok ? 0 : 12);
	}
	int status = -1;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	rmdir(dir);
}
