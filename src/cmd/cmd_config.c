/* wirelink config generate: a commented starting configuration from a
 * running WireGuard device (read through wgdev, as `dev show` does) and
 * the peer names in its wg-quick file's comments (config/config_gen.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "common/encoding.h"
#include "config/config.h"
#include "config/config_gen.h"
#include "sys/wgdev.h"
#include "wl_version.h"

/* A wg-quick file bigger than this is not one. */
#define WGQUICK_MAX (1u << 20)
#define NAMES_MAX 4096

static void usage(FILE *out)
{
	fprintf(out,
		"NAME\n"
		"    wirelink config generate - a starting configuration from a running device\n"
		"\n"
		"SYNOPSIS\n"
		"    wirelink config generate [--hub | --leaf [--hub-key KEY]] [--wg-conf FILE]\n"
		"                             [--backend auto|kernel|userspace] IFACE\n"
		"\n"
		"DESCRIPTION\n"
		"    Reads the WireGuard interface IFACE and prints a commented wirelink\n"
		"    configuration (YAML) for it on standard output: one Peers entry per\n"
		"    peer of the device with its PublicKey, AllowedIPs and endpoint, and a\n"
		"    Name when the wg-quick file has a comment for the peer (\"# laptop\" or\n"
		"    \"# Name = laptop\" inside its [Peer] section, or right above it). The\n"
		"    output loads as it is (wirelink --check-config); save it as\n"
		"    " CONFIG_DEFAULT_PATH "/wirelink.IFACE.yaml and adjust it.\n"
		"\n"
		"OPTIONS\n"
		"    --hub\n"
		"        This node is the hub: Router: true, no peer trusted.\n"
		"    --leaf\n"
		"        This node is a leaf: Router: false, and the peer that looks like\n"
		"        the hub (it has an endpoint and the widest AllowedIPs) is trusted\n"
		"        with Membership.\n"
		"    --hub-key KEY\n"
		"        A leaf whose hub is the peer with this public key.\n"
		"    Without any of them the role is guessed from the device, and the\n"
		"    output says the guess and why.\n"
		"    --wg-conf FILE\n"
		"        Where to look for names (default " CONFIG_DEFAULT_PATH "/IFACE.conf;\n"
		"        a missing file means no names). Only comments and PublicKey lines\n"
		"        are read; nothing else of it, and never a private key, is printed.\n"
		"    --backend B\n"
		"        How to reach the device, as for 'wirelink dev show'.\n"
		"\n"
		"EXIT STATUS\n"
		"    0 printed; 1 the device or the file cannot be read; 2 usage error.\n");
}

static int bad_usage(const char *why)
{
	if (why)
		fprintf(stderr, "wirelink config generate: %s\n", why);
	fprintf(stderr, "Usage: wirelink config generate [--hub | --leaf [--hub-key KEY]] "
			"[--wg-conf FILE] IFACE\n"
			"       wirelink config --help\n");
	return 2;
}

/* The file's text, NUL-terminated; NULL with *err = 0 when it does not
 * exist, NULL with *err = errno otherwise. Opened without blocking on a
 * FIFO, and only if it is a regular file. */
static char *read_small(const char *path, size_t *len, int *err)
{
	*err = 0;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		*err = errno == ENOENT ? 0 : errno;
		return NULL;
	}
	struct stat st;
	char *buf = NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > WGQUICK_MAX) {
		*err = errno && !S_ISREG(st.st_mode) ? EINVAL : EFBIG;
		if (!S_ISREG(st.st_mode))
			*err = EINVAL;
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	size_t n = 0;
	while (buf && n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r <= 0) {
			*err = r < 0 ? errno : 0;
			break;
		}
		n += (size_t)r;
	}
	close(fd);
	if (!buf || *err) {
		*err = buf ? *err : ENOMEM;
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

struct gen_opts {
	enum cfg_gen_role role;
	bool has_hub_key;
	uint8_t hub_key[WL_KEY_LEN];
	const char *wg_conf;
	enum wgdev_backend backend;
	const char *iface;
};

static int parse_opts(int argc, char **argv, struct gen_opts *o)
{
	static const struct option longopts[] = {
		{ "hub", no_argument, NULL, 'H' },	  { "leaf", no_argument, NULL, 'L' },
		{ "hub-key", required_argument, NULL, 'k' }, { "wg-conf", required_argument, NULL, 'w' },
		{ "backend", required_argument, NULL, 'b' }, { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'H':
		case 'L':
			if (o->role != CFG_GEN_GUESS)
				return bad_usage("--hub and --leaf: one of them");
			o->role = c == 'H' ? CFG_GEN_HUB : CFG_GEN_LEAF;
			break;
		case 'k':
			if (!key_from_base64(optarg, o->hub_key))
				return bad_usage("--hub-key: not a base64 WireGuard public key");
			o->has_hub_key = true;
			break;
		case 'w': o->wg_conf = optarg; break;
		case 'b':
			if (!wgdev_backend_parse(optarg, &o->backend))
				return bad_usage("--backend: auto, kernel or userspace");
			break;
		case 'h': usage(stdout); return 0;
		default: return bad_usage(NULL);
		}
	}
	if (o->has_hub_key && o->role == CFG_GEN_HUB)
		return bad_usage("--hub-key names the hub of a leaf; this node cannot be the hub too");
	if (argc - optind != 1)
		return bad_usage("one interface name, please");
	o->iface = argv[optind];
	return -1; /* go on */
}

/* The command line, for the output's first comment. */
static void command_line(int argc, char **argv, char *out, size_t len)
{
	size_t n = (size_t)snprintf(out, len, "wirelink config");
	for (int i = 0; i < argc && n < len; i++)
		n += (size_t)snprintf(out + n, len - n, " %s", argv[i]);
}

static int generate(int argc, char **argv)
{
	struct gen_opts o = { .role = CFG_GEN_GUESS, .backend = WGDEV_AUTO };
	int rc = parse_opts(argc, argv, &o);
	if (rc >= 0)
		return rc;
	char conf[PATH_MAX];
	if (o.wg_conf)
		snprintf(conf, sizeof(conf), "%s", o.wg_conf);
	else
		snprintf(conf, sizeof(conf), CONFIG_DEFAULT_PATH "/%s.conf", o.iface);
	size_t len = 0;
	int err;
	char *text = read_small(conf, &len, &err);
	if (!text && err) {
		fprintf(stderr, "wirelink config generate: %s: %s\n", conf, strerror(err));
		return 1;
	}
	struct cfg_gen_name *names = calloc(NAMES_MAX, sizeof(*names));
	struct wgdev *wg = NULL;
	struct wg_device *d = NULL;
	int r = names ? wgdev_open(o.iface, o.backend, &wg) : -ENOMEM;
	if (r == 0)
		r = wgdev_get(wg, &d);
	if (r == 0 && !d)
		r = -EIO;
	if (r != 0) {
		fprintf(stderr, "wirelink config generate: %s: %s\n", o.iface, strerror(-r));
		rc = 1;
		goto out;
	}
	char cmdline[512];
	command_line(argc, argv, cmdline, sizeof(cmdline));
	struct cfg_gen_input in = {
		.dev = d, .iface = o.iface, .role = o.role, .has_hub_key = o.has_hub_key,
		.names = names, .n_names = text ? cfg_gen_wgquick_names(text, len, names, NAMES_MAX) : 0,
		.names_from = text ? conf : NULL, .version = WL_VERSION, .command = cmdline,
	};
	memcpy(in.hub_key, o.hub_key, WL_KEY_LEN);
	const char *why = NULL;
	if (cfg_gen_write(stdout, &in, &why) < 0) {
		fprintf(stderr, "wirelink config generate: %s\n", why);
		rc = 2;
	} else {
		rc = fflush(stdout) == 0 ? 0 : 1;
	}
out:
	wg_device_free(d);
	wgdev_close(wg);
	free(names);
	free(text);
	return rc;
}

int cmd_config(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "generate") == 0)
		return generate(argc - 1, argv + 1);
	return bad_usage(argc >= 2 ? "unknown action (generate)" : "which action? (generate)");
}
