/* The per-interface lock (src/sys/ifacelock.c) in a directory of the
 * test's own: flock conflicts between two open files even within one
 * process, so one process can play both daemons. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys/ifacelock.h"

static char top[64];

static const char *tmpdir(void)
{
	snprintf(top, sizeof(top), "/tmp/wl-lock.XXXXXX");
	return mkdtemp(top);
}

static void rm_rf(const char *dir, const char *sub, const char *file)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s/%s", dir, sub, file);
	unlink(p);
	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	rmdir(p);
	rmdir(dir);
}

TEST(second_taker_is_refused_and_told_the_pid)
{
	const char *t = tmpdir();
	CHECK(t != NULL);
	if (!t)
		return;
	char dir[128], path[256], path2[256];
	snprintf(dir, sizeof(dir), "%s/run", t);
	mode_t old = umask(077); /* what the systemd units set */
	int fd = -1, fd2 = -1;
	pid_t holder = -1;
	CHECK_EQ(ifacelock_take(dir, "wg0", path, sizeof(path), &fd, &holder), 0);
	CHECK(fd >= 0);
	CHECK_EQ(holder, 0);
	CHECK(strstr(path, "/run/wg0.lock") != NULL);
	struct stat st;
	CHECK_EQ(stat(dir, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0755);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0644);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);

	CHECK_EQ(ifacelock_take(dir, "wg0", path2, sizeof(path2), &fd2, &holder), -EWOULDBLOCK);
	CHECK_EQ(fd2, -1);
	CHECK_EQ(holder, getpid());
	CHECK_STR(path2, path);
	/* Another interface is another lock. */
	CHECK_EQ(ifacelock_take(dir, "wg1", path2, sizeof(path2), &fd2, &holder), 0);
	ifacelock_release(fd2);
	unlink(path2);

	/* Released (or the owner gone): the next one takes it and writes its
	 * own PID over the old one. */
	ifacelock_release(fd);
	CHECK_EQ(ifacelock_take(dir, "wg0", path2, sizeof(path2), &fd2, &holder), 0);
	char buf[32] = { 0 };
	CHECK(pread(fd2, buf, sizeof(buf) - 1, 0) > 0);
	CHECK_EQ(atol(buf), getpid());
	ifacelock_release(fd2);
	umask(old);
	rm_rf(t, "run", "wg0.lock");
}

TEST(lock_goes_with_a_killed_owner)
{
	const char *t = tmpdir();
	CHECK(t != NULL);
	if (!t)
		return;
	char path[256];
	int pipefd[2];
	CHECK_EQ(pipe(pipefd), 0);
	pid_t child = fork();
	if (child == 0) {
		int fd;
		pid_t h;
		char c = ifacelock_take(t, "wgx", path, sizeof(path), &fd, &h) == 0 ? 'y' : 'n';
		(void)!write(pipefd[1], &c, 1);
		pause();
		_exit(0);
	}
	char c = 0;
	CHECK_EQ(read(pipefd[0], &c, 1), 1);
	CHECK_EQ(c, 'y');
	int fd = -1;
	pid_t holder = 0;
	CHECK_EQ(ifacelock_take(t, "wgx", path, sizeof(path), &fd, &holder), -EWOULDBLOCK);
	CHECK_EQ(holder, child);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	CHECK_EQ(ifacelock_take(t, "wgx", path, sizeof(path), &fd, &holder), 0);
	ifacelock_release(fd);
	close(pipefd[0]);
	close(pipefd[1]);
	unlink(path);
	rmdir(t);
}

TEST(refuses_what_cannot_be_a_name)
{
	char path[64];
	int fd;
	pid_t h;
	CHECK_EQ(ifacelock_take("/tmp", "../x", path, sizeof(path), &fd, &h), -EINVAL);
	CHECK_EQ(ifacelock_take("/tmp", "", path, sizeof(path), &fd, &h), -EINVAL);
	CHECK_EQ(fd, -1);
	/* A directory whose parent is missing: an error, not a crash. */
	CHECK_EQ(ifacelock_take("/nonexistent-wl/run", "wg0", path, sizeof(path), &fd, &h),
		 -ENOENT);
}
