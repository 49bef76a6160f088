/* wirelink show: asks a running daemon, through its control socket
 * (/run/wirelink/IFACE.sock, src/sys/ctlsock.h), for its peers and prints
 * them one per line, in the spirit of `wg show`, with the reason for each
 * peer that is not direct; or the answer as JSON, or the metrics. */
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "sys/ifacelock.h"

/* No daemon answers on the interface (the contract). */
#define SHOW_NO_DAEMON 3
/* The longest answer we read (a daemon with thousands of peers). */
#define SHOW_MAX_ANSWER (64u << 20)
#define SHOW_TIMEOUT_MS 10000

static void usage(FILE *out)
{
	fprintf(out,
		"NAME\n"
		"    wirelink show - what a running wirelink daemon knows of its peers\n"
		"\n"
		"SYNOPSIS\n"
		"    wirelink show [IFACE] [--json | --metrics]\n"
		"    wirelink show --help\n"
		"\n"
		"DESCRIPTION\n"
		"    Asks the daemon running beside the WireGuard interface IFACE, through its\n"
		"    control socket " IFACELOCK_DIR "/IFACE.sock, for its peers, and prints\n"
		"    one line per peer, aligned, in the spirit of 'wg show':\n"
		"\n"
		"      NAME       the peer's name (configuration or its member metadata), or -\n"
		"      KEY        the first 8 characters of its public key (base64)\n"
		"      PATH       direct: a working WireGuard session with the peer itself;\n"
		"                 via R: no direct session, traffic goes through router R;\n"
		"                 down: neither\n"
		"      ENDPOINT   the endpoint WireGuard uses for it now\n"
		"      HANDSHAKE  age of the latest handshake\n"
		"      RX, TX     bytes received from and sent to it (WireGuard's counters)\n"
		"      STATE      alive (its wirelink's Alive has not expired), healthy (a\n"
		"                 fresh handshake), quiet (an idle pair of public nodes\n"
		"                 that exchange an Alive every QuietPeriod, so a handshake\n"
		"                 minutes old is no fault), dormant (an idle pair that\n"
		"                 sends nothing, Dormant: true; the router vouches for the\n"
		"                 peer), router, basic (runs no wirelink)\n"
		"      TRUST      SOURCE:LEVEL. SOURCE: why it is a member: config\n"
		"                 (configured), the peer whose Member fact admitted it, or\n"
		"                 device (only in WireGuard's configuration). LEVEL: the trust\n"
		"                 it has as a source of facts (Endpoint, AllowedIPs, Membership)\n"
		"\n"
		"    Each peer that is not direct gets a second line saying why, e.g.\n"
		"      why: trying candidate 203.0.113.7:51820 (2 of 3, since 4s)\n"
		"    The reasons: no endpoint candidates known; trying candidate X (n of m,\n"
		"    since t); all candidates failed (each with its last result, and when\n"
		"    the next try goes); our NAT rewrites our port and no port mapping was\n"
		"    granted (with the address a peer sees us at); peer is basic; path\n"
		"    failed, retrying in t; trust refused its facts (how many, from whom);\n"
		"    not a member.\n"
		"\n"
		"    Without IFACE, every daemon with a socket in " IFACELOCK_DIR " is shown.\n"
		"\n"
		"OPTIONS\n"
		"    --json\n"
		"        Print the daemon's answer to the \"peers\" request: one JSON object\n"
		"        per interface, on one line, with \"schema\": 1. Every field is\n"
		"        described in docs/control.md; fields are only ever added.\n"
		"    --metrics\n"
		"        Print the daemon's metrics in Prometheus' text format (the same\n"
		"        text the MetricsFile setting writes).\n"
		"    -h, --help\n"
		"        Show this text.\n"
		"\n"
		"PERMISSIONS\n"
		"    The socket is root's (mode 0600), or also the ControlGroup's (0660).\n"
		"\n"
		"EXIT STATUS\n"
		"    0 shown; 1 the daemon could not be asked (permission denied, a bad\n"
		"    answer); 2 usage error; 3 no daemon runs on the interface (no socket,\n"
		"    or nothing listening on it).\n");
}

static int bad_usage(const char *what)
{
	fprintf(stderr, "wirelink show: %s\nRun 'wirelink show --help' for details.\n", what);
	return 2;
}

/* ---- asking ---- */

static int connect_to(const char *path, int *fd_out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

/* Reads one line (the answer) within the timeout; malloc'd, no newline. */
static char *read_line(int fd, const char **why)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	while (buf) {
		if (poll(&p, 1, SHOW_TIMEOUT_MS) <= 0) {
			*why = "no answer within 10 s";
			break;
		}
		if (n + 1 >= cap) {
			char *bigger = cap >= SHOW_MAX_ANSWER ? NULL : realloc(buf, cap * 2);
			if (!bigger) {
				*why = "answer too long";
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			*why = "the daemon closed the connection";
			break;
		}
		char *nl = memchr(buf + n, '\n', (size_t)r);
		n += (size_t)r;
		if (nl) {
			*nl = '\0';
			return buf;
		}
	}
	free(buf);
	if (!*why)
		*why = "out of memory";
	return NULL;
}

/* Sends one request, returns the answer line, or NULL with an exit status. */
static char *ask(const char *path, const char *iface, const char *req, int *status)
{
	/* Set: connect_to returns -errno, which the compiler cannot know is
	 * never 0 (gcc -O2 with ThreadSanitizer says "may be used
	 * uninitialized"). */
	int fd = -1;
	int rc = connect_to(path, &fd);
	if (rc == -ENOENT || rc == -ECONNREFUSED) {
		fprintf(stderr,
			"wirelink show: no wirelink daemon runs on %s (%s: %s)\n", iface, path,
			rc == -ENOENT ? "no such socket" : "nobody listens on it");
		*status = SHOW_NO_DAEMON;
		return NULL;
	}
	if (rc < 0) {
		fprintf(stderr, "wirelink show: cannot connect to %s: %s%s\n", path, strerror(-rc),
			rc == -EACCES ? " (the socket is root's, or its ControlGroup's)" : "");
		*status = 1;
		return NULL;
	}
	const char *why = NULL;
	size_t len = strlen(req);
	char *ans = (size_t)write(fd, req, len) == len ? read_line(fd, &why) : NULL;
	if (!ans && !why)
		why = strerror(errno);
	close(fd);
	if (!ans) {
		fprintf(stderr, "wirelink show: %s: %s\n", path, why);
		*status = 1;
	}
	return ans;
}

/* ---- the table ---- */

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static void human_bytes(unsigned long long v, char *out, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)v;
	size_t u = 0;
	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, len, "%llu B", v);
	else
		snprintf(out, len, "%.1f %s", d, unit[u]);
}

static void human_age(const json_t *v, char *out, size_t len)
{
	if (!json_is_number(v)) {
		snprintf(out, len, "never");
		return;
	}
	long long s = (long long)json_number_value(v);
	if (s < 60)
		snprintf(out, len, "%llds ago", s);
	else if (s < 3600)
		snprintf(out, len, "%lldm%llds ago", s / 60, s % 60);
	else
		snprintf(out, len, "%lldh%lldm ago", s / 3600, s / 60 % 60);
}

/* "name" or the short key of a {"public_key","name"} object. */
static void who(const json_t *o, char *out, size_t len)
{
	const char *name = str(o, "name");
	snprintf(out, len, "%.*s", name[0] ? 40 : 8, name[0] ? name : str(o, "public_key"));
}

enum { C_NAME, C_KEY, C_PATH, C_EP, C_HS, C_RX, C_TX, C_STATE, C_TRUST, N_COLS };
static const char *const heads[N_COLS] = { "NAME",	"KEY", "PATH", "ENDPOINT", "HANDSHAKE",
					   "RX",	"TX",  "STATE", "TRUST" };
#define CELL 96

struct row {
	char c[N_COLS][CELL];
	const char *why; /* borrowed from the JSON */
};

static void fill_row(const json_t *p, struct row *r)
{
	snprintf(r->c[C_NAME], CELL, "%s", str(p, "name")[0] ? str(p, "name") : "-");
	snprintf(r->c[C_KEY], CELL, "%s", str(p, "short_key"));
	const json_t *via = json_object_get(p, "via");
	if (json_is_object(via)) {
		char w[64];
		who(via, w, sizeof(w));
		snprintf(r->c[C_PATH], CELL, "via %s", w);
	} else {
		snprintf(r->c[C_PATH], CELL, "%s", str(p, "path"));
	}
	snprintf(r->c[C_EP], CELL, "%s", str(p, "endpoint")[0] ? str(p, "endpoint") : "-");
	human_age(json_object_get(p, "last_handshake_s_ago"), r->c[C_HS], CELL);
	human_bytes((unsigned long long)json_integer_value(json_object_get(p, "rx_bytes")),
		    r->c[C_RX], CELL);
	human_bytes((unsigned long long)json_integer_value(json_object_get(p, "tx_bytes")),
		    r->c[C_TX], CELL);
	snprintf(r->c[C_STATE], CELL, "%s%s%s%s%s",
		 json_is_true(json_object_get(p, "alive")) ? "alive," : "",
		 json_is_true(json_object_get(p, "healthy")) ? "healthy," : "",
		 json_is_true(json_object_get(p, "dormant")) ? "dormant,"
		 : json_is_true(json_object_get(p, "quiet")) ? "quiet,"
							      : "",
		 json_is_true(json_object_get(p, "router")) ? "router," : "",
		 json_is_true(json_object_get(p, "basic")) ? "basic," : "");
	size_t k = strlen(r->c[C_STATE]);
	if (k)
		r->c[C_STATE][k - 1] = '\0';
	else
		snprintf(r->c[C_STATE], CELL, "-");
	const json_t *t = json_object_get(p, "trust");
	const json_t *src = json_object_get(t, "member_source");
	char s[64] = "device";
	if (json_is_string(src))
		snprintf(s, sizeof(s), "%s", json_string_value(src));
	else if (json_is_object(src))
		who(src, s, sizeof(s));
	snprintf(r->c[C_TRUST], CELL, "%s:%s", s, str(t, "level"));
	r->why = json_is_string(json_object_get(p, "why_text")) ? str(p, "why_text") : NULL;
}

static void print_row(const char cells[N_COLS][CELL], const size_t w[N_COLS])
{
	printf(" ");
	for (int i = 0; i < N_COLS; i++)
		printf(" %-*s", i == N_COLS - 1 ? 0 : (int)w[i], cells[i]);
	printf("\n");
}

static void print_header(const json_t *ans, size_t n)
{
	const json_t *nat = json_object_get(ans, "nat");
	printf("interface: %s  key: %.8s  role: %s  peers: %zu\n", str(ans, "iface"),
	       str(ans, "public_key"), str(ans, "role"), n);
	if (json_is_true(json_object_get(nat, "rewrites_port")))
		printf("  our NAT: a peer sees us at %s, we listen on %lld; %s\n",
		       str(nat, "seen_at"), (long long)json_integer_value(json_object_get(nat, "listen_port")),
		       json_is_true(json_object_get(nat, "port_mapping")) ? "a port mapping is granted"
									  : "no port mapping granted");
}

static int print_table(const json_t *ans)
{
	const json_t *peers = json_object_get(ans, "peers");
	size_t n = json_array_size(peers);
	print_header(ans, n);
	if (!n)
		return 0;
	struct row *rows = calloc(n, sizeof(*rows));
	if (!rows)
		return 1;
	size_t w[N_COLS];
	for (int i = 0; i < N_COLS; i++)
		w[i] = strlen(heads[i]);
	for (size_t i = 0; i < n; i++) {
		fill_row(json_array_get(peers, i), &rows[i]);
		for (int c = 0; c < N_COLS; c++)
			if (strlen(rows[i].c[c]) > w[c])
				w[c] = strlen(rows[i].c[c]);
	}
	char head[N_COLS][CELL];
	for (int i = 0; i < N_COLS; i++)
		snprintf(head[i], CELL, "%s", heads[i]);
	print_row((const char(*)[CELL])head, w);
	for (size_t i = 0; i < n; i++) {
		print_row((const char(*)[CELL])rows[i].c, w);
		if (rows[i].why)
			printf("      why: %s\n", rows[i].why);
	}
	free(rows);
	return 0;
}

/* ---- one interface ---- */

enum mode { M_TABLE, M_JSON, M_METRICS };

static int show_one(const char *path, const char *iface, enum mode m)
{
	int status = 0;
	char *line = ask(path, iface, m == M_METRICS ? "{\"cmd\":\"metrics\"}\n" : "{\"cmd\":\"peers\"}\n",
			 &status);
	if (!line)
		return status;
	json_error_t err;
	json_t *ans = json_loads(line, 0, &err);
	if (!ans || !json_is_object(ans)) {
		fprintf(stderr, "wirelink show: %s: the answer is not JSON: %s\n", path, err.text);
		status = 1;
	} else if (!json_is_true(json_object_get(ans, "ok"))) {
		fprintf(stderr, "wirelink show: %s: %s\n", path, str(ans, "error"));
		status = 1;
	} else if (m == M_JSON) {
		printf("%s\n", line);
	} else if (m == M_METRICS) {
		fputs(str(ans, "text"), stdout);
	} else {
		status = print_table(ans);
	}
	json_decref(ans);
	free(line);
	return status;
}

/* Every socket in the directory; 3 if there is none. */
static int show_all(enum mode m)
{
	glob_t g;
	int rc = glob(IFACELOCK_DIR "/*.sock", 0, NULL, &g);
	if (rc != 0) {
		fprintf(stderr, "wirelink show: no wirelink daemon is running (no control socket in "
				IFACELOCK_DIR ")\n");
		return SHOW_NO_DAEMON;
	}
	int status = 0, shown = 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *path = g.gl_pathv[i];
		const char *base = strrchr(path, '/') + 1;
		char iface[64];
		snprintf(iface, sizeof(iface), "%.*s", (int)(strlen(base) - 5), base);
		if (shown && m == M_TABLE)
			printf("\n");
		int s = show_one(path, iface, m);
		shown += s == 0;
		if (s && (!status || status == SHOW_NO_DAEMON))
			status = s;
	}
	globfree(&g);
	return shown && status == SHOW_NO_DAEMON ? 0 : status;
}

int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "metrics", no_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum mode m = M_TABLE;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			if (m == M_METRICS)
				return bad_usage("--json and --metrics exclude each other");
			m = M_JSON;
			break;
		case 'm':
			if (m == M_JSON)
				return bad_usage("--json and --metrics exclude each other");
			m = M_METRICS;
			break;
		case 'h': usage(stdout); return 0;
		default: return bad_usage("unknown option");
		}
	}
	if (argc - optind > 1)
		return bad_usage("at most one interface");
	if (argc == optind)
		return show_all(m);
	const char *iface = argv[optind];
	if (!*iface || strlen(iface) > 15 || strchr(iface, '/'))
		return bad_usage("not an interface name");
	char path[128];
	snprintf(path, sizeof(path), "%s/%s.sock", IFACELOCK_DIR, iface);
	return show_one(path, iface, m);
}
