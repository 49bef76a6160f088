/* libFuzzer target for `wirelink config generate` (config/config_gen.h):
 * any text as a wg-quick file gives names within bounds, and the
 * configuration generated for a device with those peers and names always
 * loads (cfg_file_parse, as config_load parses a .yaml file). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_gen.h"
#include "config/config_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 32

static void check_names(const struct cfg_gen_name *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strnlen(names[i].name, CFG_GEN_NAME_MAX);
		const char *why;
		if (len == 0 || len >= CFG_GEN_NAME_MAX ||
		    (names[i].valid && !cfg_parse_name(names[i].name, &why)))
			abort();
	}
}

static struct wg_device *device_for(const struct cfg_gen_name *names, size_t n, uint8_t seed)
{
	struct wg_device *d = wg_device_new("wg0");
	if (!d)
		abort();
	d->listen_port = 51820;
	for (size_t i = 0; i < n; i++) {
		if (wg_device_find_peer(d, names[i].key))
			continue; /* WireGuard holds a key once */
		struct wg_peer *p = wg_device_add_peer(d, names[i].key);
		struct wl_cidr c;
		char s[32];
		snprintf(s, sizeof(s), "10.%u.%zu.0/%u", seed, i, 16 + (unsigned)(seed + i) % 17);
		if (!p || !wl_cidr_parse(s, &c) || wg_peer_add_allowed(p, &c) != 0)
			abort();
		if ((seed >> (i % 8)) & 1) {
			p->has_endpoint = true;
			snprintf(s, sizeof(s), "192.0.2.%zu:%u", i + 1, 1000u + seed);
			if (!wl_endpoint_parse(s, &p->endpoint))
				abort();
		}
	}
	return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1); /* exact size: overreads are caught */
	char *command = malloc(size + 1);      /* the input again, as the header's text */
	if (!text || !command)
		abort();
	memcpy(text, data, size);
	memcpy(command, data, size);
	command[size] = '\0';
	struct cfg_gen_name names[CAP];
	size_t cap = size ? 1 + data[0] % CAP : CAP;
	size_t n = cfg_gen_wgquick_names(text, size, names, cap);
	if (n > cap)
		abort();
	check_names(names, n);

	uint8_t seed = size > 1 ? data[1] : 0;
	struct wg_device *d = device_for(names, n, seed);
	struct cfg_gen_input in = { .dev = d, .iface = "wg0", .role = (enum cfg_gen_role)(seed % 3),
				    .names = names, .n_names = n, .names_from = command,
				    .version = "fuzz", .command = command };
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	const char *why = NULL;
	if (!f || cfg_gen_write(f, &in, &why) != 0)
		abort();
	fclose(f);
	struct wl_config *cfg = config_new();
	char err[512] = "";
	if (!cfg)
		abort();
	if (cfg_file_parse(cfg, "generated.yaml", CFG_FORMAT_YAML, out, len, err, sizeof(err)) !=
	    CONFIG_OK) {
		fprintf(stderr, "generated config refused: %s\n%s", err, out);
		abort();
	}
	config_free(cfg);
	free(out);
	wg_device_free(d);
	free(command);
	free(text);
	return 0;
}
