/* libFuzzer target for the config file parsers: every input is parsed as a
 * JSON file and as a YAML file through the same code config_load() uses
 * (cfg_file_parse, minus the file read). Besides the sanitizers, it checks
 * two properties:
 *   - an error always comes with a one-line message, and so does a warning;
 *   - an accepted config survives the --dump round trip: its dump, parsed
 *     back as JSON, is accepted and dumps to the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_internal.h"
#include "sys/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wl_config *fresh(void)
{
	struct wl_config *cfg = malloc(sizeof(*cfg));
	if (!cfg)
		abort();
	cfg_defaults(cfg);
	return cfg;
}

static char *dump(const struct wl_config *cfg, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f)
		abort();
	config_dump(cfg, f);
	fclose(f);
	return buf;
}

static void one(const uint8_t *data, size_t size, enum cfg_format fmt)
{
	char err[512];
	err[0] = '\0';
	struct wl_config *cfg = fresh();
	int rc = cfg_file_parse(cfg, "fuzz", fmt, (const char *)data, size, err, sizeof(err));
	if (rc != CONFIG_OK) {
		if (err[0] == '\0' || strchr(err, '\n')) {
			fprintf(stderr, "bad error message: [%s]\n", err);
			abort();
		}
		config_free(cfg);
		return;
	}
	size_t len1, len2;
	char *d1 = dump(cfg, &len1);
	struct wl_config *again = fresh();
	rc = cfg_file_parse(again, "dump", CFG_FORMAT_JSON, d1, len1, err, sizeof(err));
	if (rc != CONFIG_OK) {
		fprintf(stderr, "dump not accepted: %s\ndump: %s", err, d1);
		abort();
	}
	char *d2 = dump(again, &len2);
	if (len1 != len2 || memcmp(d1, d2, len1) != 0) {
		fprintf(stderr, "dump changed:\n%s%s", d1, d2);
		abort();
	}
	free(d1);
	free(d2);
	config_free(cfg);
	config_free(again);
}

/* Warnings about dubious input are part of loading: they must not crash,
 * but printing every one would only slow the search down. */
static void quiet(void *ctx, enum log_level level, const char *line)
{
	(void)ctx, (void)level;
	if (strchr(line, '\n')) {
		fprintf(stderr, "bad warning: [%s]\n", line);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_set_sink(quiet, NULL);
	one(data, size, CFG_FORMAT_JSON);
	one(data, size, CFG_FORMAT_YAML);
	return 0;
}
