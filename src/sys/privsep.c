/* What root hands to the unprivileged daemon before it starts
 * (privsep.h): a staged copy of the configuration. */
#include "sys/privsep.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The config names the daemon looks for that we write (config.c reads
 * the first of .json, .toml, .yaml, .yml, ... there is). */
static const char *const staged_exts[] = { "json", "yaml", "yml" };

/* Opens `dir` for *at() calls if it is a directory (not a link to one)
 * owned by root and writable by root alone: then nobody else can put a
 * name in it between our checks and our writes. A missing one is made
 * first. */
static int open_root_dir(const char *dir, char *err, size_t errlen)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		int e = errno;
		snprintf(err, errlen, "%s: cannot create: %s", dir, strerror(e));
		return -e;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", dir,
			 e == ELOOP || e == ENOTDIR ? "not a directory (or a symbolic link to one)"
						    : strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 022)) {
		snprintf(err, errlen,
			 "%s: refused: it must be root's and writable by root alone "
			 "(owner uid %u, mode %04o)",
			 dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* Reads all of `src` (at most `max` bytes) into a malloc'd buffer. */
static int read_all(const char *src, size_t max, char **buf, size_t *len, char *err,
		    size_t errlen)
{
	int fd = open(src, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = fd < 0 ? errno : EINVAL;
		snprintf(err, errlen, "%s: cannot read: %s", src,
			 e == EINVAL ? "not a regular file" : strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	char *b = malloc(max + 1);
	size_t n = 0;
	ssize_t r = 0;
	while (b && n <= max) {
		r = read(fd, b + n, max + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	int e = !b ? ENOMEM : r < 0 ? errno : n > max ? EFBIG : 0;
	close(fd);
	if (e) {
		snprintf(err, errlen, "%s: cannot read: %s", src,
			 e == EFBIG ? "larger than a config may be" : strerror(e));
		free(b);
		return -e;
	}
	*buf = b;
	*len = n;
	return 0;
}

/* Writes buf as dir/name, owned by uid:gid, mode 0400, through a
 * temporary name and a rename, so a reader sees the old file or the new
 * one, never a part. */
static int write_staged(int dfd, const char *dir, const char *name, const char *buf, size_t len,
			uid_t uid, gid_t gid, char *err, size_t errlen)
{
	char tmp[300];
	snprintf(tmp, sizeof(tmp), ".%s.new", name);
	/* Only root writes in dfd: a leftover is ours, from a run that died. */
	if (unlinkat(dfd, tmp, 0) < 0 && errno != ENOENT)
		goto fail;
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
	if (fd < 0)
		goto fail;
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, buf + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	bool ok = done == len && fchown(fd, uid, gid) == 0 && fchmod(fd, 0400) == 0;
	int e = errno;
	if (close(fd) < 0 && ok) {
		ok = false;
		e = errno;
	}
	if (!ok || renameat(dfd, tmp, dfd, name) < 0) {
		e = ok ? errno : e ? e : EIO;
		unlinkat(dfd, tmp, 0);
		snprintf(err, errlen, "%s/%s: cannot write: %s", dir, name, strerror(e));
		return -e;
	}
	return 0;
fail:;
	int e2 = errno;
	snprintf(err, errlen, "%s/%s: cannot write: %s", dir, tmp, strerror(e2));
	return -e2;
}

int privsep_stage_config(const char *src, const char *dir, const char *iface, const char *name,
			 size_t max, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if (!*iface || strchr(iface, '/') || (name && (strchr(name, '/') || name[0] == '.'))) {
		snprintf(err, errlen, "bad interface or file name");
		return -EINVAL;
	}
	char *buf = NULL;
	size_t len = 0;
	int rc = src ? read_all(src, max, &buf, &len, err, errlen) : 0;
	if (rc < 0)
		return rc;
	int dfd = open_root_dir(dir, err, errlen);
	if (dfd < 0) {
		free(buf);
		return dfd;
	}
	if (src)
		rc = write_staged(dfd, dir, name, buf, len, uid, gid, err, errlen);
	free(buf);
	/* The others go after the new one is in place: a reader in between
	 * may see two, and reads the first (as it would have read it from
	 * the source directory), never none. */
	for (size_t i = 0; rc == 0 && i < sizeof(staged_exts) / sizeof(staged_exts[0]); i++) {
		char other[300];
		snprintf(other, sizeof(other), "wirelink.%s.%s", iface, staged_exts[i]);
		if (name && strcmp(other, name) == 0)
			continue;
		if (unlinkat(dfd, other, 0) < 0 && errno != ENOENT) {
			rc = -errno;
			snprintf(err, errlen, "%s/%s: cannot remove: %s", dir, other, strerror(-rc));
		}
	}
	close(dfd);
	return rc;
}
