/* Least privilege for the daemon once it is set up: the device is open,
 * the sockets are bound, the auto address is on, the lock is taken and
 * the port mapping has started. From then on it needs only CAP_NET_ADMIN
 * (generic netlink to the kernel's WireGuard, adding its address again
 * after a link flap) and a known set of system calls.
 *
 * The daemon stays uid 0 without any other capability. The userspace
 * backend connects to /var/run/wireguard/IFACE.sock anew for every request
 * (src/sys/wg_uapi.c); that socket and its directory are root's, mode
 * 0700/0600: as their owner, uid 0 may connect without CAP_DAC_OVERRIDE,
 * and so may it reread a root-owned 0600 config file on SIGHUP and write
 * into /run/wirelink. Switching to an unprivileged user would need the
 * UAPI connection kept open across requests and the config file made
 * readable to that user: more change for little gain. What uid 0 keeps
 * is its owner's access to root's files: the filter below refuses exec,
 * mount, chmod and chown by path and the like, but a file the daemon can
 * open it can write; under the units ProtectSystem=strict leaves only
 * /run/wirelink and /run/wireguard writable. */
#ifndef WL_SYS_SANDBOX_H
#define WL_SYS_SANDBOX_H

#include <stddef.h>

/* Keeps only CAP_NET_ADMIN in the effective and permitted sets (if the
 * process has it at all), clears inheritable and ambient, and clears the
 * bounding set when the process still may (CAP_SETPCAP; under systemd the
 * unit's CapabilityBoundingSet has done it already). 0, or -errno with a
 * reason in err. */
int sandbox_drop_caps(char *err, size_t errlen);

/* Sets no_new_privs and installs the allow-list of system calls. A call
 * outside it is trapped: one line on stderr, "wirelink: seccomp: system
 * call NNN (NAME) is not allowed; exiting", then the process dies of
 * SIGSYS (so systemd sees a crash, and the journal has the line). Builds
 * with a sanitizer allow what its runtime needs too (leak check at exit).
 * 0, or -errno with a reason in err. */
int sandbox_filter_install(char *err, size_t errlen);

/* Both, in that order. */
int sandbox_enter(char *err, size_t errlen);

/* How many system calls the release allow-list names for this
 * architecture (a name the architecture lacks is skipped), counting
 * those allowed only with certain arguments (socket, ioctl, tgkill). */
size_t sandbox_allowed_count(void);

#endif
