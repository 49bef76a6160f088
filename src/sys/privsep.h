/* Privilege separation at start: what root does for a daemon that then
 * runs as an unprivileged user holding only CAP_NET_ADMIN (the unit
 * wirelink-unprivileged@; `wirelink prestart`, run by its ExecStartPre=+
 * and ExecReload=+).
 *
 * The daemon's configuration, /etc/wireguard/wirelink.IFACE.json, is
 * typically root's, 0600, inside the 0700 /etc/wireguard: a copy is staged
 * in a root-owned directory, owned by the user and readable by it alone.
 * Every path there is opened relative to that directory, checked first (a
 * real directory, root's, writable by root alone), so a user that owns the
 * file it is handed cannot plant a link that makes root write elsewhere.
 *
 * The userspace backend's UAPI socket cannot be handed over the same way:
 * wireguard-go watches its socket file and exits when its owner or mode
 * changes (measured with wireguard-go 0.0.20220316), and systemd 252 has no
 * OpenFile= to pass a connected socket. A userspace device therefore needs
 * the daemon as root (wirelink@, with CAP_NET_ADMIN alone). */
#ifndef WL_SYS_PRIVSEP_H
#define WL_SYS_PRIVSEP_H

#include <stddef.h>
#include <sys/types.h>

/* Where the units stage the copy (the daemon's --config-path there). */
#define PRIVSEP_STAGE_DIR "/run/wirelink-config"

/* Makes `dir` hold exactly the copy of `src` named `name` (a plain file
 * name, "wirelink.wg0.yaml"), owned by uid:gid with mode 0400, and removes
 * every other "wirelink.IFACE.*" there for this interface, so the daemon
 * reading `dir` sees what root would read. `src` NULL: there is no file,
 * and the daemon runs on defaults; only the removal happens. `dir` is
 * created (0755, root's) if missing; an existing one must be a directory
 * owned by root and writable by nobody else. The copy replaces the old one
 * atomically (a reload never sees half a file). At most `max` bytes.
 * 0, or -errno with the reason in err. */
int privsep_stage_config(const char *src, const char *dir, const char *iface, const char *name,
			 size_t max, uid_t uid, gid_t gid, char *err, size_t errlen);

#endif
