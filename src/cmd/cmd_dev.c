/* wirelink dev show: print what the WireGuard device holds, through the
 * same backend code the daemon uses (a debugging aid and a test probe). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "common/encoding.h"
#include "sys/jsonw.h"
#include "sys/log.h"
#include "sys/wgdev.h"

static void usage(FILE *out)
{
	fprintf(out,
		"NAME\n"
		"    wirelink dev - show a WireGuard device as wirelink sees it\n"
		"\n"
		"SYNOPSIS\n"
		"    wirelink dev show IFACE [--json] [--backend auto|kernel|userspace]\n"
		"    wirelink dev --help\n"
		"\n"
		"DESCRIPTION\n"
		"    Reads the WireGuard interface IFACE through the same code the daemon\n"
		"    uses and prints its configuration and peers, much like 'wg show IFACE'.\n"
		"    Useful to check what wirelink will see, and which backend it picks.\n"
		"    The private key is never printed; the public key is derived from it.\n"
		"\n"
		"    The text form lists the interface (public key, listening port, fwmark\n"
		"    when set, backend), then one block per peer: endpoint, allowed ips,\n"
		"    latest handshake, transfer and persistent keepalive, each shown only\n"
		"    when set. Peers appear in the device's order.\n"
		"\n"
		"OPTIONS\n"
		"    --backend B\n"
		"        How to reach the device. 'kernel': the kernel module over generic\n"
		"        netlink. 'userspace': the UAPI socket /var/run/wireguard/IFACE.sock\n"
		"        of wireguard-go and similar implementations. 'auto' (default):\n"
		"        userspace when that socket exists, else kernel; a socket that\n"
		"        refuses connections (left by a stopped daemon) is ignored.\n"
		"    --json\n"
		"        Print one JSON object on one line instead:\n"
		"          {\"interface\": NAME, \"public_key\": base64 or null,\n"
		"           \"listen_port\": N, \"fwmark\": N, \"backend\": \"kernel\"|\"userspace\",\n"
		"           \"peers\": [{\"public_key\": base64,\n"
		"                      \"endpoint\": \"ip:port\" | \"[ip6]:port\" | null,\n"
		"                      \"last_handshake\": unix seconds | null (never),\n"
		"                      \"rx_bytes\": N, \"tx_bytes\": N,\n"
		"                      \"persistent_keepalive\": seconds (0 = off),\n"
		"                      \"allowed_ips\": [\"ip/len\", ...]}]}\n"
		"    -h, --help\n"
		"        Show this text.\n"
		"\n"
		"PERMISSIONS\n"
		"    The kernel backend needs CAP_NET_ADMIN; the userspace backend needs\n"
		"    access to the UAPI socket (normally root only).\n"
		"\n"
		"EXIT STATUS\n"
		"    0 success; 1 the device cannot be opened or read (the reason is\n"
		"    printed); 2 usage error.\n"
		"\n"
		"EXAMPLES\n"
		"    wirelink dev show wg0\n"
		"    wirelink dev show wg0 --json | python3 -m json.tool\n"
		"    wirelink dev show wg0 --backend userspace\n");
}

/* For usage errors: the synopsis only. */
static int bad_usage(void)
{
	fprintf(stderr, "Usage: wirelink dev show IFACE [--json] [--backend auto|kernel|userspace]\n"
			"Run 'wirelink dev --help' for details.\n");
	return 2;
}

/* "1 hour, 2 minutes, 3 seconds" for a duration in seconds. */
static void print_duration(long long s)
{
	static const struct {
		long long secs;
		const char *unit;
	} units[] = { { 86400, "day" }, { 3600, "hour" }, { 60, "minute" }, { 1, "second" } };
	bool first = true;
	if (s <= 0) {
		printf("now");
		return;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		long long n = s / units[i].secs;
		s %= units[i].secs;
		if (n == 0)
			continue;
		printf("%s%lld %s%s", first ? "" : ", ", n, units[i].unit, n == 1 ? "" : "s");
		first = false;
	}
	printf(" ago");
}

static void print_bytes(uint64_t b)
{
	static const char *units[] = { "KiB", "MiB", "GiB", "TiB" };
	if (b < 1024) {
		printf("%" PRIu64 " B", b);
		return;
	}
	double v = (double)b / 1024;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	printf("%.2f %s", v, units[u]);
}

static void show_text(const struct wg_device *d, enum wgdev_backend backend)
{
	char k[WL_KEY_B64_LEN];
	printf("interface: %s\n", d->name);
	if (d->has_private_key) {
		printf("  public key: %s\n", key_to_base64(d->public_key, k));
		printf("  private key: (hidden)\n");
	}
	if (d->listen_port)
		printf("  listening port: %u\n", d->listen_port);
	if (d->fwmark)
		printf("  fwmark: 0x%x\n", d->fwmark);
	printf("  backend: %s\n", wgdev_backend_name(backend));
	time_t now = time(NULL);
	for (size_t i = 0; i < d->n_peers; i++) {
		const struct wg_peer *p = &d->peers[i];
		printf("\npeer: %s\n", key_to_base64(p->public_key, k));
		if (p->has_endpoint) {
			char e[WL_ENDPOINT_STR_MAX];
			printf("  endpoint: %s\n", wl_endpoint_str(&p->endpoint, e));
		}
		printf("  allowed ips: ");
		for (size_t j = 0; j < p->n_allowed; j++) {
			char c[WL_CIDR_STR_MAX];
			printf("%s%s", j ? ", " : "", wl_cidr_str(&p->allowed_ips[j], c));
		}
		printf("%s\n", p->n_allowed ? "" : "(none)");
		if (p->last_handshake.tv_sec) {
			printf("  latest handshake: ");
			print_duration((long long)(now - p->last_handshake.tv_sec));
			printf("\n");
		}
		if (p->rx_bytes || p->tx_bytes) {
			printf("  transfer: ");
			print_bytes(p->rx_bytes);
			printf(" received, ");
			print_bytes(p->tx_bytes);
			printf(" sent\n");
		}
		if (p->persistent_keepalive)
			printf("  persistent keepalive: every %u seconds\n", p->persistent_keepalive);
	}
}

static void show_json(const struct wg_device *d, enum wgdev_backend backend)
{
	struct jsonw w;
	char k[WL_KEY_B64_LEN];
	jsonw_init(&w, stdout);
	jsonw_obj_begin(&w);
	jsonw_kv_str(&w, "interface", d->name);
	if (d->has_private_key)
		jsonw_kv_str(&w, "public_key", key_to_base64(d->public_key, k));
	else
		jsonw_kv_null(&w, "public_key");
	jsonw_kv_uint(&w, "listen_port", d->listen_port);
	jsonw_kv_uint(&w, "fwmark", d->fwmark);
	jsonw_kv_str(&w, "backend", wgdev_backend_name(backend));
	jsonw_key(&w, "peers");
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < d->n_peers; i++) {
		const struct wg_peer *p = &d->peers[i];
		jsonw_obj_begin(&w);
		jsonw_kv_str(&w, "public_key", key_to_base64(p->public_key, k));
		if (p->has_endpoint) {
			char e[WL_ENDPOINT_STR_MAX];
			jsonw_kv_str(&w, "endpoint", wl_endpoint_str(&p->endpoint, e));
		} else {
			jsonw_kv_null(&w, "endpoint");
		}
		if (p->last_handshake.tv_sec || p->last_handshake.tv_nsec)
			jsonw_kv_int(&w, "last_handshake", (long long)p->last_handshake.tv_sec);
		else
			jsonw_kv_null(&w, "last_handshake");
		jsonw_kv_uint(&w, "rx_bytes", p->rx_bytes);
		jsonw_kv_uint(&w, "tx_bytes", p->tx_bytes);
		jsonw_kv_uint(&w, "persistent_keepalive", p->persistent_keepalive);
		jsonw_key(&w, "allowed_ips");
		jsonw_arr_begin(&w);
		for (size_t j = 0; j < p->n_allowed; j++) {
			char c[WL_CIDR_STR_MAX];
			jsonw_str(&w, wl_cidr_str(&p->allowed_ips[j], c));
		}
		jsonw_arr_end(&w);
		jsonw_obj_end(&w);
	}
	jsonw_arr_end(&w);
	jsonw_obj_end(&w);
}

static int dev_show(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "backend", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool json = false;
	enum wgdev_backend backend = WGDEV_AUTO;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "jb:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'b':
			if (!wgdev_backend_parse(optarg, &backend)) {
				fprintf(stderr, "wirelink dev show: unknown backend '%s' "
						"(auto, kernel or userspace)\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: return bad_usage();
		}
	}
	if (argc - optind != 1)
		return bad_usage();
	const char *ifname = argv[optind];
	struct wgdev *wg = NULL;
	struct wg_device *d = NULL;
	int r = wgdev_open(ifname, backend, &wg);
	if (r == 0)
		r = wgdev_get(wg, &d);
	if (r == 0 && !d)
		r = -EIO; /* a backend breaking its contract: do not crash */
	if (r != 0) {
		fprintf(stderr, "wirelink dev show: %s: %s\n", ifname, strerror(-r));
		wgdev_close(wg);
		return 1;
	}
	if (json)
		show_json(d, wgdev_backend_of(wg));
	else
		show_text(d, wgdev_backend_of(wg));
	wg_device_free(d);
	wgdev_close(wg);
	return fflush(stdout) == 0 ? 0 : 1;
}

int cmd_dev(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return dev_show(argc - 1, argv + 1);
	return bad_usage();
}
