/* One daemon per WireGuard interface: an flock(2) on DIR/IFACE.lock
 * (IFACELOCK_DIR in the daemon), which holds the owner's PID as text so a
 * second daemon can say who is in its way.
 *
 * The directory is made 0755 and the file 0644 whatever the umask (the
 * systemd units set UMask=0077), so anyone may read who holds it. The file
 * stays when the owner exits: the lock goes with the owner's descriptor
 * (also when it is killed), and removing the file could let two owners
 * lock two different files of the same name.
 *
 * Error convention: 0 or -errno. */
#ifndef WL_SYS_IFACELOCK_H
#define WL_SYS_IFACELOCK_H

#include <stddef.h>
#include <sys/types.h>

#define IFACELOCK_DIR "/run/wirelink"

/* Takes the lock of iface in dir (made if missing; its parent must
 * exist). 0: held through *fd_out (close-on-exec) until ifacelock_release
 * or the process ends. -EWOULDBLOCK: another process holds it; *holder is
 * its PID, 0 if it has not written it yet. Another -errno: the directory
 * or the file could not be made or locked (a read-only /run, no
 * permission). path gets the lock file's name in every case. iface must
 * be a valid interface name (no '/'). */
int ifacelock_take(const char *dir, const char *iface, char *path, size_t path_len,
		   int *fd_out, pid_t *holder);
void ifacelock_release(int fd); /* -1 is fine */

#endif
