/* The daemon's sandbox (src/sys/sandbox.c), each case in a child process
 * of its own, since a sandbox cannot be left: a call outside the
 * allow-list ends the process by SIGSYS after its one clear line on
 * stderr; what the daemon does after set-up still works inside it; only
 * CAP_NET_ADMIN, no_new_privs and the filter are what the kernel shows. */
#include <errno.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "sys/sandbox.h"

/* Runs fn in a child with its stderr (and stdout) into a pipe; returns
 * the wait status and what it wrote. */
static int run_child(void (*fn)(void), char *out, size_t cap)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		close(p[1]);
		fn();
		_exit(0);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while (n + 1 < cap && (r = read(p[0], out + n, cap - 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		n += (size_t)r;
	}
	out[n] = '\0';
	close(p[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

static void enter_filter_or_die(void)
{
	char err[160];
	if (sandbox_filter_install(err, sizeof(err)) < 0) {
		fprintf(stderr, "install failed: %s\n", err);
		_exit(3);
	}
}

static void call_mount(void)
{
	enter_filter_or_die();
	syscall(SYS_mount, "none", "/nonexistent", "tmpfs", 0UL, NULL);
	_exit(4); /* not reached: the trap ends us */
}

TEST(forbidden_call_dies_by_sigsys_with_a_line)
{
	char out[512], want[128];
	int st = run_child(call_mount, out, sizeof(out));
	CHECK_MSG(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "status %#x, output: %s", st, out);
	snprintf(want, sizeof(want),
		 "wirelink: seccomp: system call %d (mount) is not allowed; exiting\n",
		 (int)SYS_mount);
	CHECK_STR(out, want);
}

static void packet_socket(void)
{
	enter_filter_or_die();
	socket(AF_PACKET, SOCK_RAW, 0);
	_exit(4);
}

/* fn, in a child, dies of SIGSYS, and its line names call nr by name. */
static void check_trapped(void (*fn)(void), long nr, const char *name)
{
	char out[512], want[128];
	int st = run_child(fn, out, sizeof(out));
	CHECK_MSG(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "status %#x, output: %s", st, out);
	snprintf(want, sizeof(want), "system call %ld (%s) is not allowed", nr, name);
	CHECK_MSG(strstr(out, want) != NULL, "output: %s", out);
}

TEST(socket_outside_our_families_dies)
{
	check_trapped(packet_socket, SYS_socket, "socket");
}

/* What the daemon does after set-up, each step's failure its own exit
 * status: UDP over loopback, a file read, the resolver, memory, time. */
static void daemon_like_work(void)
{
	enter_filter_or_die();
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0)
		_exit(10);
	if (sendto(fd, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)) != 1)
		_exit(11);
	char c;
	struct timespec ts = { 0, 1000000 };
	int tries = 0;
	while (recv(fd, &c, 1, 0) != 1)
		if (++tries > 1000 || nanosleep(&ts, NULL) < 0)
			_exit(12);
	close(fd);
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		_exit(13);
	fclose(f);
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res = NULL;
	if (getaddrinfo("localhost", "51820", &hints, &res) != 0)
		_exit(14);
	freeaddrinfo(res);
	void *big = malloc(8 << 20); /* mmap'd */
	if (!big)
		_exit(15);
	memset(big, 1, 8 << 20);
	free(big);
	if (clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
		_exit(16);
	_exit(0);
}

TEST(daemon_work_still_allowed)
{
	char out[512];
	int st = run_child(daemon_like_work, out, sizeof(out));
	CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x, output: %s", st, out);
}

/* A DNS server on loopback that answers one query with NXDOMAIN; runs in
 * a process of its own (outside the filter). Returns its port. */
static int nxdomain_server(pid_t *pid)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0)
		return -1;
	*pid = fork();
	if (*pid == 0) {
		unsigned char q[512];
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
		if (n >= 12) {
			q[2] = 0x81; /* QR, RD */
			q[3] = 0x83; /* RA, NXDOMAIN */
			sendto(fd, q, (size_t)n, 0, (struct sockaddr *)&from, flen);
		}
		_exit(0);
	}
	close(fd);
	return ntohs(a.sin_port);
}

/* glibc's resolver as getaddrinfo's dns module drives it (res_send:
 * socket, connect, sendmmsg, poll, ioctl FIONREAD, recvfrom), asking a
 * server of our own on loopback. */
static void dns_query(void)
{
	pid_t server;
	int port = nxdomain_server(&server);
	if (port < 0)
		_exit(20);
	res_init();
	_res.nscount = 1;
	_res.nsaddr_list[0] = (struct sockaddr_in){ .sin_family = AF_INET,
						    .sin_port = htons((uint16_t)port),
						    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	_res.retrans = 2;
	_res.retry = 2;
	enter_filter_or_die();
	unsigned char ans[512];
	int n = res_query("peer.wirelink.test", ns_c_in, ns_t_a, ans, sizeof(ans));
	_exit(n < 0 && h_errno == HOST_NOT_FOUND ? 0 : 21);
}

TEST(dns_query_allowed)
{
	char out[512];
	int st = run_child(dns_query, out, sizeof(out));
	CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x, output: %s", st, out);
}

#if !defined(__SANITIZE_ADDRESS__)
static void other_ioctl(void)
{
	enter_filter_or_die();
	int v = 0;
	ioctl(STDERR_FILENO, FIOASYNC, &v);
	_exit(4);
}

TEST(ioctl_outside_our_requests_dies)
{
	check_trapped(other_ioctl, SYS_ioctl, "ioctl");
}
#endif

/* A normal exit inside the filter: in a sanitizer build the leak check
 * then stops the world with a ptrace'ing clone whose signals are blocked,
 * so a call refused there kills it without our line and leaves the
 * process spinning: the alarm turns that into a failure. */
static void exit_normally(void)
{
	alarm(20);
	enter_filter_or_die();
	void *p = malloc(64);
	free(p);
	exit(0);
}

TEST(normal_exit_inside_the_filter)
{
	char out[2048];
	int st = run_child(exit_normally, out, sizeof(out));
	CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x, output: %s", st, out);
}

static void enter_and_show_status(void)
{
	char err[160];
	if (sandbox_enter(err, sizeof(err)) < 0) {
		fprintf(stderr, "enter failed: %s\n", err);
		_exit(3);
	}
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "Cap", 3) == 0 || strncmp(line, "NoNewPrivs", 10) == 0 ||
		    strncmp(line, "Seccomp:", 8) == 0)
			fputs(line, stdout);
	fflush(stdout);
	_exit(f ? 0 : 5);
}

TEST(only_net_admin_no_new_privs_and_filter)
{
	if (geteuid() != 0) {
		harness_skip("needs root: an unprivileged process has no CAP_NET_ADMIN to keep");
		return;
	}
	char out[1024];
	int st = run_child(enter_and_show_status, out, sizeof(out));
	CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x, output: %s", st, out);
	CHECK_MSG(strstr(out, "CapEff:\t0000000000001000\n") != NULL, "%s", out);
	CHECK_MSG(strstr(out, "CapPrm:\t0000000000001000\n") != NULL, "%s", out);
	CHECK_MSG(strstr(out, "CapInh:\t0000000000000000\n") != NULL, "%s", out);
	CHECK_MSG(strstr(out, "CapAmb:\t0000000000000000\n") != NULL, "%s", out);
	CHECK_MSG(strstr(out, "NoNewPrivs:\t1\n") != NULL, "%s", out);
	CHECK_MSG(strstr(out, "Seccomp:\t2\n") != NULL, "%s", out);
	/* The bounding set too, when we could clear it (we had CAP_SETPCAP). */
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	bool setpcap = false;
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "CapEff:", 7) == 0)
			setpcap = (strtoull(line + 7, NULL, 16) >> 8) & 1; /* CAP_SETPCAP = 8 */
	if (f)
		fclose(f);
	if (setpcap)
		CHECK_MSG(strstr(out, "CapBnd:\t0000000000001000\n") != NULL, "%s", out);
}
