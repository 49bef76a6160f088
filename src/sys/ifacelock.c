/* One daemon per interface (see ifacelock.h). */
#include "sys/ifacelock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The PID in the file, 0 if none (not written yet, or not a number). */
static pid_t read_holder(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *end;
	long pid = strtol(buf, &end, 10);
	return pid > 0 && pid <= INT32_MAX && (*end == '\n' || *end == '\0') ? (pid_t)pid : 0;
}

int ifacelock_take(const char *dir, const char *iface, char *path, size_t path_len,
		   int *fd_out, pid_t *holder)
{
	*fd_out = -1;
	*holder = 0;
	int n = snprintf(path, path_len, "%s/%s.lock", dir, iface);
	if (n < 0 || (size_t)n >= path_len || strchr(iface, '/') || !*iface)
		return -EINVAL;
	if (mkdir(dir, 0755) == 0) {
		if (chmod(dir, 0755) < 0) /* the umask took bits away */
			return -errno;
	} else if (errno != EEXIST) {
		return -errno;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	int err;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		err = -errno;
		if (err == -EWOULDBLOCK)
			*holder = read_holder(fd);
		close(fd);
		return err;
	}
	/* Ours: the mode whatever the umask, and our PID for the next one. */
	char pid[24];
	int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (fchmod(fd, 0644) < 0 || ftruncate(fd, 0) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	ssize_t w = pwrite(fd, pid, (size_t)len, 0);
	if (w != (ssize_t)len) {
		err = w < 0 ? -errno : -EIO;
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

void ifacelock_release(int fd)
{
	if (fd >= 0)
		close(fd); /* the lock goes with the descriptor */
}
