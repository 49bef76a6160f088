#include "harness.h"

#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>

#define MAX_TESTS 512

struct entry {
	const char *name;
	harness_fn fn;
};

static struct entry tests[MAX_TESTS];
static size_t n_tests;
static const char *suite = "unit";
static bool current_failed;
static bool current_skipped;
static const char *current_name;
static uint64_t current_seed;

void harness_register(const char *name, harness_fn fn)
{
	if (n_tests == MAX_TESTS) {
		fprintf(stderr, "harness: too many tests\n");
		exit(2);
	}
	tests[n_tests].name = name;
	tests[n_tests].fn = fn;
	n_tests++;
}

void harness_fail(const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("FAIL: %s/%s: %s:%d: %s (seed %llu)\n", suite, current_name, file, line,
	       msg, (unsigned long long)current_seed);
	fflush(stdout);
	current_failed = true;
}

void harness_skip(const char *why)
{
	printf("SKIP: %s/%s: %s\n", suite, current_name, why);
	current_skipped = true;
}

const char *harness_vectors_dir(void)
{
	const char *dir = getenv("WL_VECTORS");
	return dir ? dir : "../shared/vectors";
}

uint64_t harness_seed(void) { return current_seed; }

static bool selected(int argc, char **argv, const char *name)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	suite = basename(argv[0]);
	const char *seed_env = getenv("WL_SEED");
	uint64_t base_seed = seed_env ? strtoull(seed_env, NULL, 0) : 0x5eedULL;
	int failed = 0;
	for (size_t i = 0; i < n_tests; i++) {
		if (!selected(argc, argv, tests[i].name))
			continue;
		current_name = tests[i].name;
		current_failed = false;
		current_skipped = false;
		current_seed = base_seed + i;
		tests[i].fn();
		if (current_failed)
			failed++;
		else if (!current_skipped)
			printf("PASS: %s/%s\n", suite, current_name);
		fflush(stdout);
	}
	return failed ? 1 : 0;
}
