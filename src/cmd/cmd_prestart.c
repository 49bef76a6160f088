/* wirelink prestart: root's part of a start (or a reload) of a daemon that
 * runs as an unprivileged user (sys/privsep.h). The unit
 * wirelink-unprivileged@ runs it as ExecStartPre=+ and ExecReload=+, then
 * the daemon as User=wirelink with CAP_NET_ADMIN and --config-path on the
 * staged copy. */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "config/config.h"
#include "sys/privsep.h"
#include "sys/wg_uapi.h"
#include "sys/wgdev.h"

#define DEFAULT_USER "wirelink"

static void usage(FILE *out)
{
	fprintf(out,
		"NAME\n"
		"    wirelink prestart - stage the configuration for a daemon that runs unprivileged\n"
		"\n"
		"SYNOPSIS\n"
		"    wirelink prestart [--user USER] [--stage-dir DIR] [--config-path DIR] IFACE\n"
		"\n"
		"DESCRIPTION\n"
		"    Run as root just before the daemon for IFACE starts or reloads as USER\n"
		"    (the unit wirelink-unprivileged@IFACE runs it as ExecStartPre=+ and\n"
		"    ExecReload=+, then the daemon as User=" DEFAULT_USER " with CAP_NET_ADMIN\n"
		"    alone). It\n"
		"      1. loads IFACE's configuration as the daemon would (the same file,\n"
		"         WIRELINK_* environment and checks) and stops at the first error,\n"
		"         so a reload with a bad file fails and the daemon keeps what it has;\n"
		"      2. copies the file into DIR, owned by USER and readable by USER\n"
		"         alone (the original is usually root's, 0600, in the 0700\n"
		"         " CONFIG_DEFAULT_PATH "); with no file, removes the copy (defaults).\n"
		"    The daemon then runs with --config-path DIR. DIR is root's (created\n"
		"    0755 if missing); one that is a symbolic link, or writable by anyone but\n"
		"    root, is refused.\n"
		"\n"
		"    Only a kernel WireGuard device can be driven without root: a userspace\n"
		"    one's UAPI socket (" WG_UAPI_SOCKET_DIR "/IFACE.sock, wireguard-go) is\n"
		"    root's alone, and wireguard-go exits when its owner or mode changes.\n"
		"    When IFACE has one and USER is not root, prestart refuses (exit 1) and\n"
		"    says to use wirelink@IFACE, which runs as root with CAP_NET_ADMIN alone.\n"
		"\n"
		"OPTIONS\n"
		"    --user USER\n"
		"        The user the daemon runs as (default " DEFAULT_USER ").\n"
		"    --stage-dir DIR\n"
		"        Where the copy goes (default " PRIVSEP_STAGE_DIR ").\n"
		"    --config-path DIR\n"
		"        Where the configuration is read, as for the daemon (default: the\n"
		"        WIRELINK_CONFIG_PATH environment variable, else " CONFIG_DEFAULT_PATH ").\n"
		"\n"
		"EXIT STATUS\n"
		"    0 done; 1 not root, no such user, a userspace device, or the copy failed;\n"
		"    2 usage error or a bad configuration (nothing was changed).\n");
}

static int bad_usage(const char *why)
{
	if (why)
		fprintf(stderr, "wirelink prestart: %s\n", why);
	fprintf(stderr, "Usage: wirelink prestart [--user USER] [--stage-dir DIR] "
			"[--config-path DIR] IFACE\n"
			"       wirelink prestart --help\n");
	return 2;
}

struct prestart_opts {
	const char *user, *stage_dir, *config_path, *iface;
};

static int parse_opts(int argc, char **argv, struct prestart_opts *o)
{
	static const struct option longopts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "stage-dir", required_argument, NULL, 's' },
		{ "config-path", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'u': o->user = optarg; break;
		case 's': o->stage_dir = optarg; break;
		case 'c': o->config_path = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return bad_usage(NULL);
		}
	}
	if (optind != argc - 1)
		return bad_usage(optind < argc ? "one interface, please" : "which interface?");
	o->iface = argv[optind];
	if (o->stage_dir[0] != '/')
		return bad_usage("--stage-dir: an absolute path, please");
	return -1;
}

/* The configuration the daemon would load for o->iface: its file is what
 * gets staged. */
static int load_config(const struct prestart_opts *o, struct wl_config **cfg)
{
	char *args[] = { "wirelink", "--iface", (char *)o->iface, "--config-path",
			 (char *)o->config_path, NULL };
	if (!o->config_path)
		args[3] = NULL;
	char err[1024];
	int rc = config_load(o->config_path ? 5 : 3, args, environ, cfg, err, sizeof(err));
	if (rc != CONFIG_OK) {
		fprintf(stderr, "wirelink prestart: %s\n", err);
		return config_exit_status(rc);
	}
	return 0;
}

/* The file name part of a path. */
static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

int cmd_prestart(int argc, char **argv)
{
	struct prestart_opts o = { .user = DEFAULT_USER, .stage_dir = PRIVSEP_STAGE_DIR };
	int rc = parse_opts(argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (geteuid() != 0) {
		fprintf(stderr, "wirelink prestart: must run as root: it hands root's files to %s\n",
			o.user);
		return 1;
	}
	errno = 0;
	const struct passwd *pw = getpwnam(o.user);
	if (!pw) {
		fprintf(stderr, "wirelink prestart: no user '%s'%s%s\n", o.user,
			errno ? ": " : " (the package creates it; elsewhere: systemd-sysusers)",
			errno ? strerror(errno) : "");
		return 1;
	}
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	struct wl_config *cfg = NULL;
	if ((rc = load_config(&o, &cfg)) != 0)
		return rc;
	char err[1024];
	const char *src = cfg->config_file;
	int r;
	if (uid != 0 && wgdev_uapi_present(o.iface)) {
		snprintf(err, sizeof(err),
			 "%s is a userspace WireGuard device (" WG_UAPI_SOCKET_DIR "/%s.sock): "
			 "its socket is root's alone, so a daemon running as %s cannot configure "
			 "it; use wirelink@%s, which runs as root with CAP_NET_ADMIN alone",
			 o.iface, o.iface, o.user, o.iface);
		r = -EPERM;
	} else {
		/* The file is read once more to be copied: an edit in between
		 * is caught by the daemon, which loads the copy with the same
		 * checks (and keeps its configuration on a reload). */
		r = privsep_stage_config(src, o.stage_dir, o.iface, src ? base_name(src) : NULL,
					 CONFIG_FILE_MAX, uid, gid, err, sizeof(err));
	}
	if (r == 0 && src)
		printf("wirelink prestart: %s staged as %s/%s for %s\n", src, o.stage_dir,
		       base_name(src), o.user);
	else if (r == 0)
		printf("wirelink prestart: no configuration file for %s: defaults\n", o.iface);
	config_free(cfg);
	if (r < 0) {
		fprintf(stderr, "wirelink prestart: %s\n", err);
		return 1;
	}
	return 0;
}
