/* The layering: defaults < file < environment < flags, into a new object
 * that is handed out only when complete. */
#include "config/config_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int config_exit_status(int status)
{
	switch (status) {
	case CONFIG_OK: return 0;
	case CONFIG_E_NOMEM: return 1;
	default: return 2;
	}
}

void cfg_defaults(struct wl_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->iface, CONFIG_DEFAULT_IFACE);
	cfg->port = 0;
	cfg->router = WL_AUTO;
	cfg->backend = WGDEV_AUTO;
	cfg->port_mapping = true;
	cfg->sandbox = true;
	cfg->leases = true;
	cfg->quiet_period = 600;
	cfg->dormant = true;
	cfg->quota_facts = 512; /* as core/factset.c's defaults (config_help shows them) */
	cfg->quota_endpoints = 16;
	cfg->quota_allowed_ips = 256;
	cfg->quota_new_members = 1024;
	cfg->quota_new_members_per_min = 256;
	strcpy(cfg->config_path, CONFIG_DEFAULT_PATH);
}

struct wl_config *config_new(void)
{
	struct wl_config *cfg = malloc(sizeof(*cfg));
	if (cfg)
		cfg_defaults(cfg);
	return cfg;
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void cfg_peer_clear(struct wl_config_peer *p)
{
	free(p->name);
	for (size_t e = 0; e < p->n_endpoints; e++)
		free(p->endpoints[e].host);
	free(p->endpoints);
	free(p->allowed_ips);
	memset(p, 0, sizeof(*p));
}

void config_free(struct wl_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_peers; i++)
		cfg_peer_clear(&cfg->peers[i]);
	free(cfg->peers);
	free_strings(cfg->report_ifaces, cfg->n_report_ifaces);
	free_strings(cfg->hide_ifaces, cfg->n_hide_ifaces);
	free(cfg->config_file);
	free(cfg);
}

const struct wl_config_peer *config_find_peer(const struct wl_config *cfg,
					      const uint8_t key[static WL_KEY_LEN])
{
	for (size_t i = 0; i < cfg->n_peers; i++)
		if (memcmp(cfg->peers[i].public_key, key, WL_KEY_LEN) == 0)
			return &cfg->peers[i];
	return NULL;
}

static bool any_match(char *const *globs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (fnmatch(globs[i], name, 0) == 0)
			return true;
	return false;
}

bool config_iface_reported(const struct wl_config *cfg, const char *name)
{
	if (any_match(cfg->hide_ifaces, cfg->n_hide_ifaces, name))
		return false;
	return cfg->n_report_ifaces == 0 ||
	       any_match(cfg->report_ifaces, cfg->n_report_ifaces, name);
}

static int apply_all(struct wl_config *cfg, const struct cfg_assign *a, size_t n,
		     const char *source, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const char *why;
		if (!cfg_setting_apply(cfg, a[i].s, a[i].value, &why)) {
			char q[CFG_QUOTE_MAX];
			cfg_errf(err, errlen, "%s: %s: %s %s", source, a[i].origin,
				 cfg_quote(a[i].value, q), why);
			return CONFIG_E_USAGE;
		}
	}
	return CONFIG_OK;
}

/* What a file is, for messages about one that is not a regular file. */
static const char *file_kind(mode_t mode)
{
	if (S_ISREG(mode))
		return "a regular file";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO (named pipe)";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISLNK(mode))
		return "a symbolic link";
	return "an unknown kind of file";
}

/* Only a regular file is read: a FIFO would hang start-up, or a SIGHUP in
 * the daemon's one thread, until something wrote to it; a device may never
 * end or change state when read; a directory or socket is a mistake. */
static int want_regular(const char *path, mode_t mode, char *err, size_t errlen)
{
	if (S_ISREG(mode))
		return CONFIG_OK;
	cfg_errf(err, errlen, "%s: %s, not a regular file", path, file_kind(mode));
	return CONFIG_E_FILE;
}

/* Whether path is a symbolic link; if so, target is what it says. */
static bool link_target(const char *path, char target[static PATH_MAX])
{
	struct stat st;
	ssize_t n;
	if (lstat(path, &st) < 0 || !S_ISLNK(st.st_mode) ||
	    (n = readlink(path, target, PATH_MAX - 1)) < 0)
		return false;
	target[n] = '\0';
	return true;
}

/* stat(path) failed with stat_errno (ENOENT or ENOTDIR): nothing there, or
 * a symbolic link whose target is missing. The latter is an error: running
 * on defaults would hide a deployment that lost its file (a target moved,
 * renamed or not mounted). CONFIG_OK if path is not a symbolic link. */
static int dangling_link(const char *path, int stat_errno, char *err, size_t errlen)
{
	char target[PATH_MAX];
	if (!link_target(path, target))
		return CONFIG_OK;
	cfg_errf(err, errlen, "%s: dangling symbolic link to %s (%s)", path, target,
		 strerror(stat_errno));
	return CONFIG_E_FILE;
}

/* Opens a config file for reading and checks it is a regular file no
 * larger than we read; *size is its size. A missing file is *fd = -1 and
 * CONFIG_OK. O_NONBLOCK: the file may have become a FIFO since find_file
 * looked at it, and opening a FIFO to read waits for a writer without it
 * (it changes nothing for a regular file). O_NOCTTY: a terminal opened by
 * mistake must not become ours. */
static int open_config(const char *path, int *fd, size_t *size, char *err, size_t errlen)
{
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (*fd < 0) {
		if (errno == ENOENT) /* removed since find_file saw it */
			return CONFIG_OK;
		cfg_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return CONFIG_E_FILE;
	}
	struct stat st;
	int rc = CONFIG_E_FILE;
	if (fstat(*fd, &st) < 0) {
		cfg_errf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
	} else if ((rc = want_regular(path, st.st_mode, err, errlen)) == CONFIG_OK &&
		   st.st_size > (off_t)CONFIG_FILE_MAX) {
		cfg_errf(err, errlen, "%s: larger than %u bytes", path, CONFIG_FILE_MAX);
		rc = CONFIG_E_FILE;
	}
	if (rc != CONFIG_OK) {
		close(*fd);
		*fd = -1;
		return rc;
	}
	*size = (size_t)st.st_size;
	return CONFIG_OK;
}

/* Reads a whole file. CONFIG_OK with *buf NULL if it does not exist. */
static int read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	*buf = NULL;
	*len = 0;
	int fd;
	size_t size = 0;
	int rc = open_config(path, &fd, &size, err, errlen);
	if (rc != CONFIG_OK || fd < 0)
		return rc;
	rc = CONFIG_E_FILE;
	char *b = malloc(size + 1);
	if (!b) {
		cfg_errf(err, errlen, "out of memory");
		rc = CONFIG_E_NOMEM;
		goto out;
	}
	size_t got = 0;
	while (got < size) {
		ssize_t r = read(fd, b + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cfg_errf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			free(b);
			goto out;
		}
		if (r == 0) /* shrank while we read: use what is there */
			break;
		got += (size_t)r;
	}
	b[got] = '\0';
	*buf = b;
	*len = got;
	rc = CONFIG_OK;
out:
	close(fd);
	return rc;
}

/* Every extension the original's viper looked for, in its order: it read
 * the first that exists. We read JSON and YAML; a file in another format
 * is never silently passed over (find_file). */
static const struct {
	const char *ext;
	bool ours;
	enum cfg_format fmt;
	const char *format; /* for messages about the ones we do not read */
} formats[] = {
	{ "json", true, CFG_FORMAT_JSON, NULL },
	{ "toml", false, 0, "TOML" },
	{ "yaml", true, CFG_FORMAT_YAML, NULL },
	{ "yml", true, CFG_FORMAT_YAML, NULL },
	{ "properties", false, 0, "Java properties" },
	{ "props", false, 0, "Java properties" },
	{ "prop", false, 0, "Java properties" },
	{ "hcl", false, 0, "HCL" },
	{ "tfvars", false, 0, "HCL" },
	{ "dotenv", false, 0, "dotenv" },
	{ "env", false, 0, "dotenv" },
	{ "ini", false, 0, "INI" },
};
#define N_FORMATS (sizeof(formats) / sizeof(formats[0]))
#define OUR_FORMATS ".json, .yaml or .yml"

/* The first present candidate is in a format we do not read: an error,
 * as running without it would silently drop its settings. */
static int foreign_file(const char *path, size_t i, const char *ours, char *err, size_t errlen)
{
	if (ours)
		cfg_errf(err, errlen,
			 "%s: a %s file, a format wirelink does not read (it reads " OUR_FORMATS
			 "); the original wirelink read it rather than %s: convert it to JSON or "
			 "YAML, or remove it",
			 path, formats[i].format, ours);
	else
		cfg_errf(err, errlen,
			 "%s: a %s file, a format wirelink does not read (it reads " OUR_FORMATS
			 "): convert it to JSON or YAML",
			 path, formats[i].format);
	return CONFIG_E_FILE;
}

/* The chosen candidate must plainly be a config file: a regular file (a
 * device or socket is refused without being opened: opening some devices
 * does something), or nothing; a dangling symbolic link is an error. */
static int check_chosen(const char *p, bool *exists, char *err, size_t errlen)
{
	struct stat st;
	*exists = false;
	if (stat(p, &st) == 0) {
		*exists = true;
		return want_regular(p, st.st_mode, err, errlen);
	}
	if (errno == ENOENT || errno == ENOTDIR)
		return dangling_link(p, errno, err, errlen);
	cfg_errf(err, errlen, "%s: cannot access: %s", p, strerror(errno));
	return CONFIG_E_FILE;
}

/* Finds <dir>/wirelink.<iface>.<ext> as the original did: the first
 * extension of `formats` with a file (or a link, even a dangling one).
 * *which = -1 if none. One of ours is read and every other present one is
 * named in a warning; if the first is in another format, that is an error. */
static int find_file(const struct wl_config *cfg, char path[static PATH_MAX], int *which,
		     char *err, size_t errlen)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", cfg->config_path);
	for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
		dir[n - 1] = '\0';
	char p[N_FORMATS][PATH_MAX];
	bool present[N_FORMATS];
	int first = -1, first_ours = -1;
	*which = -1;
	for (size_t i = 0; i < N_FORMATS; i++) {
		int w = snprintf(p[i], sizeof(p[i]), "%s/wirelink.%s.%s", dir, cfg->iface,
				 formats[i].ext);
		if (w < 0 || (size_t)w >= sizeof(p[i])) {
			cfg_errf(err, errlen, "%s: config path too long", dir);
			return CONFIG_E_FILE;
		}
		struct stat st;
		present[i] = lstat(p[i], &st) == 0;
		if (!present[i] && errno != ENOENT && errno != ENOTDIR) {
			cfg_errf(err, errlen, "%s: cannot access: %s", p[i], strerror(errno));
			return CONFIG_E_FILE;
		}
		if (present[i] && first < 0)
			first = (int)i;
		if (present[i] && formats[i].ours && first_ours < 0)
			first_ours = (int)i;
	}
	if (first < 0)
		return CONFIG_OK;
	if (!formats[first].ours)
		return foreign_file(p[first], (size_t)first, first_ours >= 0 ? p[first_ours] : NULL,
				    err, errlen);
	bool exists;
	int rc = check_chosen(p[first], &exists, err, errlen);
	if (rc != CONFIG_OK || !exists)
		return rc;
	for (size_t i = 0; i < N_FORMATS; i++)
		if (present[i] && (int)i != first)
			cfg_warnf("%s: ignored: %s is read (of wirelink.%s.json, .toml, .yaml, .yml, "
				  "... the first there is, as the original did)%s",
				  p[i], p[first], cfg->iface,
				  formats[i].ours ? "" : "; wirelink does not read this format anyway");
	*which = first;
	memcpy(path, p[first], PATH_MAX);
	return CONFIG_OK;
}

static int load_file(struct wl_config *cfg, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int which;
	int rc = find_file(cfg, path, &which, err, errlen);
	if (rc != CONFIG_OK || which < 0)
		return rc;
	char *buf;
	size_t len;
	if ((rc = read_file(path, &buf, &len, err, errlen)) != CONFIG_OK || !buf)
		return rc;
	rc = cfg_file_parse(cfg, path, formats[which].fmt, buf, len, err, errlen);
	free(buf);
	if (rc == CONFIG_OK && !(cfg->config_file = strdup(path))) {
		cfg_errf(err, errlen, "out of memory");
		rc = CONFIG_E_NOMEM;
	}
	return rc;
}

static bool wants(const struct cfg_assign *a, size_t n, enum cfg_type t)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].s->type == t)
			return true;
	return false;
}

/* The last assignment of type t, or NULL: the one that counts. */
static const struct cfg_assign *last_of(const struct cfg_assign *a, size_t n, enum cfg_type t)
{
	for (size_t i = n; i-- > 0;)
		if (a[i].s->type == t)
			return &a[i];
	return NULL;
}

/* Why a config directory that was asked for cannot be used, or NULL if it
 * is a directory. `buf` holds the reason when it needs a detail. */
static const char *dir_unusable(const char *dir, char *buf, size_t buflen)
{
	struct stat st;
	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return NULL;
		snprintf(buf, buflen, "is not a directory (it is %s)", file_kind(st.st_mode));
		return buf;
	}
	int e = errno;
	/* Without its trailing slashes, lstat sees a link itself. */
	char bare[PATH_MAX];
	snprintf(bare, sizeof(bare), "%s", dir);
	for (size_t n = strlen(bare); n > 1 && bare[n - 1] == '/'; n--)
		bare[n - 1] = '\0';
	char target[PATH_MAX];
	if ((e == ENOENT || e == ENOTDIR) && link_target(bare, target)) {
		snprintf(buf, buflen, "is a dangling symbolic link to %s (%s)", target, strerror(e));
		return buf;
	}
	if (e == ENOENT)
		return "does not exist";
	snprintf(buf, buflen, "cannot be used as the config directory (%s)", strerror(e));
	return buf;
}

/* A config directory given by a flag or the environment must exist: a
 * typo there would otherwise run the daemon on defaults without a word.
 * Only the built-in default may be missing (no file: defaults). */
static int check_config_dir(const struct cfg_assign *flags, size_t n_flags,
			    const struct cfg_assign *env, size_t n_env, char *err, size_t errlen)
{
	const char *source = "command line";
	const struct cfg_assign *a = last_of(flags, n_flags, CT_PATH);
	if (!a) {
		source = "environment";
		a = last_of(env, n_env, CT_PATH);
	}
	char buf[PATH_MAX + 128];
	const char *why = a ? dir_unusable(a->value, buf, sizeof(buf)) : NULL;
	if (!why)
		return CONFIG_OK;
	char q[CFG_QUOTE_MAX];
	cfg_errf(err, errlen, "%s: %s: %s %s", source, a->origin, cfg_quote(a->value, q), why);
	return CONFIG_E_USAGE;
}

int config_load(int argc, char **argv, char **envp, struct wl_config **out,
		char *err, size_t errlen)
{
	struct cfg_assign *flags = NULL, *env = NULL;
	size_t n_flags = 0, n_env = 0;
	struct wl_config *cfg = NULL;
	*out = NULL;
	cfg_errf(err, errlen, "%s", "");

	int rc = cfg_flags_collect(argc, argv, &flags, &n_flags, err, errlen);
	if (rc != CONFIG_OK)
		goto out;
	rc = CONFIG_E_NOMEM;
	if (!(cfg = malloc(sizeof(*cfg)))) {
		cfg_errf(err, errlen, "out of memory");
		goto out;
	}
	cfg_defaults(cfg);
	/* --help and --version must work whatever the environment or file say. */
	if (wants(flags, n_flags, CT_HELP) || wants(flags, n_flags, CT_VERSION)) {
		cfg->show_help = wants(flags, n_flags, CT_HELP);
		cfg->show_version = wants(flags, n_flags, CT_VERSION);
		rc = CONFIG_OK;
		goto out;
	}
	if ((rc = cfg_env_collect(envp, &env, &n_env, err, errlen)) != CONFIG_OK)
		goto out;
	/* First pass: environment and flags alone, to check their values and
	 * learn the interface and directory that pick the file. */
	if ((rc = apply_all(cfg, env, n_env, "environment", err, errlen)) != CONFIG_OK ||
	    (rc = apply_all(cfg, flags, n_flags, "command line", err, errlen)) != CONFIG_OK ||
	    (rc = check_config_dir(flags, n_flags, env, n_env, err, errlen)) != CONFIG_OK)
		goto out;
	char iface[IFNAMSIZ], dir[PATH_MAX];
	memcpy(iface, cfg->iface, sizeof(iface));
	memcpy(dir, cfg->config_path, sizeof(dir));
	cfg_defaults(cfg);
	memcpy(cfg->iface, iface, sizeof(iface));
	memcpy(cfg->config_path, dir, sizeof(dir));
	/* Second pass, in layer order; the env and flag values cannot fail now. */
	if ((rc = load_file(cfg, err, errlen)) != CONFIG_OK ||
	    (rc = apply_all(cfg, env, n_env, "environment", err, errlen)) != CONFIG_OK ||
	    (rc = apply_all(cfg, flags, n_flags, "command line", err, errlen)) != CONFIG_OK)
		goto out;
out:
	free(flags);
	free(env);
	if (rc != CONFIG_OK) {
		config_free(cfg);
		cfg = NULL;
	}
	*out = cfg;
	return rc;
}
