/* A tiny table-driven test harness.
 *
 * Each TEST() registers itself; the generated main() runs them all (or the
 * ones named on the command line) and prints one line per test:
 *   PASS: suite/name
 *   FAIL: suite/name: file:line: what
 *   SKIP: suite/name: why
 * tests/run counts these lines across every suite. CHECKs record a failure
 * and continue, so one run shows every broken expectation. */
#ifndef WL_TEST_HARNESS_H
#define WL_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void (*harness_fn)(void);
void harness_register(const char *name, harness_fn fn);
void harness_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void harness_skip(const char *why);
/* Directory holding shared/vectors (from WL_VECTORS or the default). */
const char *harness_vectors_dir(void);
/* Deterministic per-test seed, printed on failure (override: WL_SEED). */
uint64_t harness_seed(void);

#define TEST(name)                                                             \
	static void name(void);                                                \
	__attribute__((constructor)) static void reg_##name(void)              \
	{                                                                      \
		harness_register(#name, name);                                 \
	}                                                                      \
	static void name(void)

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			harness_fail(__FILE__, __LINE__, "%s", #cond);         \
	} while (0)

#define CHECK_MSG(cond, ...)                                                   \
	do {                                                                   \
		if (!(cond))                                                   \
			harness_fail(__FILE__, __LINE__, __VA_ARGS__);         \
	} while (0)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long va_ = (long long)(a), vb_ = (long long)(b);          \
		if (va_ != vb_)                                                \
			harness_fail(__FILE__, __LINE__, "%s == %s (%lld != %lld)", \
				     #a, #b, va_, vb_);                        \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *sa_ = (a), *sb_ = (b);                             \
		if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0)                     \
			harness_fail(__FILE__, __LINE__, "%s == %s (\"%s\" != \"%s\")", \
				     #a, #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)"); \
	} while (0)

#define CHECK_MEM(a, b, n)                                                     \
	do {                                                                   \
		if (memcmp((a), (b), (n)) != 0)                                \
			harness_fail(__FILE__, __LINE__, "memory %s == %s differs", #a, #b); \
	} while (0)

#endif
