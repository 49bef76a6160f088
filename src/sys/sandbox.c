/* Least privilege once the daemon is set up (sandbox.h): only
 * CAP_NET_ADMIN is kept, no_new_privs is set, and a seccomp allow-list of
 * the system calls the daemon makes is installed; any other call traps
 * into a handler that names it on stderr and the process dies of SIGSYS. */
#include "sys/sandbox.h"

#include <cap-ng.h>
#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Sanitizer builds (tests) allow what a sanitizer's runtime adds: the
 * leak check at exit stops the world with a ptrace'ing clone; reports read
 * /proc and may run a symbolizer. A test build only: the release build
 * never allows these. */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif

/* ---- capabilities ---- */

/* The first capability other than CAP_NET_ADMIN in the process's
 * effective, permitted or inheritable set (as capng last read it), or -1. */
static int extra_cap(void)
{
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (c != CAP_NET_ADMIN && (capng_have_capability(CAPNG_EFFECTIVE, (unsigned)c) ||
					   capng_have_capability(CAPNG_PERMITTED, (unsigned)c) ||
					   capng_have_capability(CAPNG_INHERITABLE, (unsigned)c)))
			return c;
	return -1;
}

int sandbox_drop_caps(char *err, size_t errlen)
{
	capng_get_caps_process();
	bool net_admin = capng_have_capability(CAPNG_PERMITTED, CAP_NET_ADMIN);
	bool setpcap = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	/* Under the unit the sets are already this small: then no capset(),
	 * which the unit's system-call filter refuses (~@privileged). */
	bool change = extra_cap() >= 0;
	capng_clear(CAPNG_SELECT_ALL);
	if (net_admin)
		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
			     CAP_NET_ADMIN);
	/* The bounding set first, while CAP_SETPCAP is still ours. */
	if (setpcap && capng_apply(CAPNG_SELECT_BOUNDS) != 0) {
		snprintf(err, errlen, "clearing the capability bounding set failed");
		return -EPERM;
	}
	/* Ambient capabilities would survive an exec; none may. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		int e = errno;
		snprintf(err, errlen, "clearing the ambient capabilities: %s", strerror(e));
		return -e;
	}
	if (change && capng_apply(CAPNG_SELECT_CAPS) != 0) {
		snprintf(err, errlen, "dropping capabilities failed");
		return -EPERM;
	}
	/* Read back: what the kernel holds is what counts. */
	capng_get_caps_process();
	int c = extra_cap();
	if (c >= 0) {
		const char *name = capng_capability_to_name((unsigned)c);
		snprintf(err, errlen, "capability %s is still held after dropping",
			 name ? name : "?");
		return -EPERM;
	}
	return 0;
}

/* ---- the system-call allow-list ---- */

/* Every system call the daemon makes after set-up, by name (libseccomp
 * resolves them for the architecture; names it lacks there are skipped),
 * found with strace through start, ticks, SIGHUP reload, SIGUSR1 dump,
 * port mapping (PCP, NAT-PMP, UPnP over HTTP), DNS resolution (glibc's
 * resolver and NSS modules it may dlopen), a link going down and up,
 * and exit; glibc's variants of the same call are listed together. */
static const char *const allowed[] = {
	/* memory: malloc, dlopen of NSS modules */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
	/* files: the config on SIGHUP, /etc/resolv.conf, /etc/hosts,
	 * nsswitch.conf, NSS modules, the lock, a metrics file written
	 * atomically (openat, write, rename) */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "open", "openat", "close",
	"lseek", "fstat", "stat", "lstat", "newfstatat", "statx", "fstatfs", "statfs", "readlink",
	"readlinkat", "getdents64", "access", "faccessat", "faccessat2", "fcntl", "flock",
	"ftruncate", "fsync", "fdatasync", "rename", "renameat", "renameat2", "unlink",
	"unlinkat", "fchmod", "fchown", "umask", "dup", "dup2", "dup3",
	/* sockets: UDP, rtnetlink and generic netlink, the UAPI socket,
	 * sd_notify, PCP/NAT-PMP/SSDP, HTTP to the router, DNS, the control
	 * socket (accept4, SO_PEERCRED); socket() itself below, by family */
	"connect", "bind", "listen", "accept", "accept4", "getsockname",
	"getpeername", "getsockopt", "setsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg",
	"sendmmsg", "recvmmsg", "shutdown",
	/* waiting and time */
	"poll", "ppoll", "select", "pselect6", "epoll_create1", "epoll_ctl", "epoll_wait",
	"epoll_pwait", "clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep",
	"clock_nanosleep", "timerfd_create", "timerfd_settime", "timerfd_gettime",
	/* signals */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "signalfd4",
	"sigaltstack", "restart_syscall",
	/* the process itself */
	"getpid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
	"getrandom", "uname", "sysinfo", "getrlimit", "prlimit64", "sched_getaffinity",
	"sched_yield", "futex", "set_robust_list", "rseq", "exit", "exit_group",
	"memfd_create", /* sd_journal/sd_notify pass large messages in a memfd */
};

/* What a sanitizer's runtime adds (detection at the top of this file). */
#ifdef SANDBOX_SANITIZER
static const char *const allowed_sanitizer[] = {
	"ioctl", "clone", "clone3", "fork", "vfork", "execve", "ptrace", "wait4", "waitid", "prctl",
	"arch_prctl", "getppid", "kill", "tgkill", "getdents", "pipe", "pipe2", "mincore",
	"process_vm_readv", "sched_setaffinity", "set_tid_address",
};
#endif

/* ioctl() only with these requests: an interface's index and name
 * (if_nametoindex, if_indextoname), the resolver's FIONREAD before it
 * reads an answer, isatty() on the log stream. */
#ifndef SANDBOX_SANITIZER
static const unsigned long allowed_ioctls[] = { SIOCGIFINDEX, SIOCGIFNAME, FIONREAD, TCGETS };
#endif

/* Address families the daemon opens sockets in (as the unit's
 * RestrictAddressFamilies): socket() with any other is refused. */
static const int allowed_families[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK };

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

size_t sandbox_allowed_count(void)
{
	size_t n = 3; /* socket, ioctl and tgkill, with their arguments restricted */
	for (size_t i = 0; i < N_OF(allowed); i++)
		n += seccomp_syscall_resolve_name(allowed[i]) != __NR_SCMP_ERROR;
	return n;
}

/* ---- the trap: a line, then death by SIGSYS ---- */

/* Names of system calls by number, resolved before the filter goes in:
 * the handler may not allocate. */
#define NAME_NR_MAX 512
#define NAME_BUF 8192
static char name_buf[NAME_BUF];
static uint16_t name_off[NAME_NR_MAX]; /* 0 = unknown (name_buf[0] is unused) */

static void resolve_names(void)
{
	size_t at = 1;
	for (int nr = 0; nr < NAME_NR_MAX; nr++) {
		char *s = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
		if (!s)
			continue;
		size_t len = strlen(s) + 1;
		if (at + len <= sizeof(name_buf)) {
			memcpy(name_buf + at, s, len);
			name_off[nr] = (uint16_t)at;
			at += len;
		}
		free(s);
	}
}

static size_t put_str(char *out, size_t at, size_t cap, const char *s)
{
	while (*s && at < cap)
		out[at++] = *s++;
	return at;
}

static size_t put_int(char *out, size_t at, size_t cap, long v)
{
	char digits[24];
	size_t n = 0;
	unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
	do
		digits[n++] = (char)('0' + u % 10);
	while ((u /= 10) && n < sizeof(digits));
	if (v < 0 && at < cap)
		out[at++] = '-';
	while (n && at < cap)
		out[at++] = digits[--n];
	return at;
}

/* Async-signal-safe: fixed buffers, write(2), sigaction, raise. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	char line[160];
	size_t n = 0, cap = sizeof(line) - 1;
	long nr = si->si_syscall;
	n = put_str(line, n, cap, "wirelink: seccomp: system call ");
	n = put_int(line, n, cap, nr);
	if (nr >= 0 && nr < NAME_NR_MAX && name_off[nr]) {
		n = put_str(line, n, cap, " (");
		n = put_str(line, n, cap, name_buf + name_off[nr]);
		n = put_str(line, n, cap, ")");
	}
	n = put_str(line, n, cap, " is not allowed; exiting\n");
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
	/* Die of the signal itself: the default action (the handler was
	 * reset on entry, SA_RESETHAND) ends the process with SIGSYS. */
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigaction(sig, &dfl, NULL);
	raise(sig);
}

static int install_handler(char *err, size_t errlen)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys,
				.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		int e = errno;
		snprintf(err, errlen, "installing the SIGSYS handler: %s", strerror(e));
		return -e;
	}
	/* SIGSYS must not be blocked, or the trap would be ignored... and the
	 * kernel then kills without our line. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	return 0;
}

static int allow_names(scmp_filter_ctx ctx, const char *const *names, size_t n, char *err,
		       size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not a system call on this architecture */
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (rc < 0) {
			snprintf(err, errlen, "allowing %s: %s", names[i], strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* One comparison of argument `arg`: (value & mask) == want. Spelled out
 * rather than with SCMP_A0(): its two-value form leaves a field out, which
 * clang's -Wmissing-field-initializers refuses. */
static struct scmp_arg_cmp arg_is(unsigned arg, scmp_datum_t mask, scmp_datum_t want)
{
	return (struct scmp_arg_cmp){ .arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = mask,
				      .datum_b = want };
}

/* Calls allowed only with certain arguments: socket() in our address
 * families, ioctl() with our requests, and tgkill() to ourselves (raise(),
 * abort()). A sanitizer build allows the last two whole. */
static int allow_restricted(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	int rc = 0;
	for (size_t i = 0; i < N_OF(allowed_families) && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				      arg_is(0, 0xffffffffu, (scmp_datum_t)allowed_families[i]));
#ifndef SANDBOX_SANITIZER
	/* Every argument here is an int to the kernel: the low 32 bits count. */
	for (size_t i = 0; i < N_OF(allowed_ioctls) && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				      arg_is(1, 0xffffffffu, (scmp_datum_t)allowed_ioctls[i]));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				      arg_is(0, 0xffffffffu, (scmp_datum_t)getpid()));
#endif
	if (rc < 0)
		snprintf(err, errlen, "restricting socket/ioctl/tgkill: %s", strerror(-rc));
	return rc;
}

static int build_and_load(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	int rc = allow_names(ctx, allowed, N_OF(allowed), err, errlen);
#ifdef SANDBOX_SANITIZER
	if (rc == 0)
		rc = allow_names(ctx, allowed_sanitizer, N_OF(allowed_sanitizer), err, errlen);
#endif
	if (rc == 0)
		rc = allow_restricted(ctx, err, errlen);
	if (rc == 0 && (rc = seccomp_load(ctx)) < 0)
		snprintf(err, errlen, "loading the seccomp filter: %s", strerror(-rc));
	return rc;
}

int sandbox_filter_install(char *err, size_t errlen)
{
	/* no_new_privs: nothing exec'd could gain privileges (and an
	 * unprivileged process may install a filter only with it set). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		int e = errno;
		snprintf(err, errlen, "setting no_new_privs: %s", strerror(e));
		return -e;
	}
	resolve_names();
	int rc = install_handler(err, errlen);
	if (rc < 0)
		return rc;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx) {
		snprintf(err, errlen, "seccomp_init failed");
		return -ENOMEM;
	}
	rc = build_and_load(ctx, err, errlen);
	seccomp_release(ctx);
	return rc;
}

int sandbox_enter(char *err, size_t errlen)
{
	int rc = sandbox_drop_caps(err, errlen);
	return rc < 0 ? rc : sandbox_filter_install(err, errlen);
}
