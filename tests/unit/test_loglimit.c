/* The rate limiter for per-datagram log lines and the failure streak
 * (src/sys/loglimit.c), on a fake clock: every function takes now. The
 * lines themselves are caught through the log sink. */
#include "harness.h"

#include <errno.h>
#include <stdlib.h>

#include "sys/log.h"
#include "sys/loglimit.h"

struct caught {
	size_t n;
	char lines[64][160];
	enum log_level levels[64];
};

static void catch_line(void *ctx, enum log_level level, const char *line)
{
	struct caught *c = ctx;
	if (c->n < 64) {
		snprintf(c->lines[c->n], sizeof(c->lines[0]), "%s", line);
		c->levels[c->n] = level;
	}
	c->n++;
}

static void catch_start(struct caught *c, enum log_level level)
{
	memset(c, 0, sizeof(*c));
	log_set_level(level);
	log_set_sink(catch_line, c);
}

static void catch_stop(void)
{
	log_set_sink(NULL, NULL);
	log_set_level(LOG_LVL_INFO);
}

TEST(burst_then_counted)
{
	struct log_limit l = LOG_LIMIT_INIT("x");
	int64_t t = 1000;
	for (int i = 0; i < LOG_LIMIT_BURST; i++)
		CHECK(log_limit_take(&l, t, LOG_LVL_DEBUG));
	for (int i = 0; i < 1000; i++)
		CHECK(!log_limit_take(&l, t, LOG_LVL_DEBUG));
	CHECK_EQ(l.suppressed, 1000);
	/* Nothing to sum up before a token is back. */
	CHECK_EQ(log_limit_deadline(&l), t + LOG_LIMIT_REFILL_MS);
	CHECK_EQ(log_limit_summary(&l, t + LOG_LIMIT_REFILL_MS - 1), 0);
	CHECK_EQ(log_limit_summary(&l, t + LOG_LIMIT_REFILL_MS), 1000);
	CHECK_EQ(log_limit_deadline(&l), LOG_LIMIT_NEVER);
	CHECK_EQ(log_limit_summary(&l, t + 5 * LOG_LIMIT_REFILL_MS), 0);
}

TEST(refills_one_per_interval_up_to_the_burst)
{
	struct log_limit l = LOG_LIMIT_INIT("x");
	int64_t t = 0;
	for (int i = 0; i < LOG_LIMIT_BURST; i++)
		CHECK(log_limit_take(&l, t, LOG_LVL_INFO));
	CHECK(!log_limit_take(&l, t + LOG_LIMIT_REFILL_MS / 2, LOG_LVL_INFO));
	CHECK(log_limit_take(&l, t + LOG_LIMIT_REFILL_MS, LOG_LVL_INFO));
	CHECK(!log_limit_take(&l, t + LOG_LIMIT_REFILL_MS, LOG_LVL_INFO));
	/* A long quiet spell refills the bucket, never beyond the burst. */
	t = 1000000;
	int ok = 0;
	for (int i = 0; i < 3 * LOG_LIMIT_BURST; i++)
		ok += log_limit_take(&l, t, LOG_LVL_INFO);
	CHECK_EQ(ok, LOG_LIMIT_BURST);
	/* A clock that stands still or (wrongly) steps back gains nothing. */
	CHECK(!log_limit_take(&l, t - 5000, LOG_LVL_INFO));
	CHECK(!log_limit_take(&l, t, LOG_LVL_INFO));
}

TEST(flood_logs_burst_then_summaries)
{
	struct caught c;
	catch_start(&c, LOG_LVL_DEBUG);
	struct log_limit l = LOG_LIMIT_INIT("dropped datagrams");
	/* 10 000 lines over 3 s (one every 0.3 ms), then silence. */
	for (int i = 0; i < 10000; i++)
		log_limited(&l, 5000 + i * 3 / 10, LOG_LVL_DEBUG, "line %d", i);
	int64_t end = 5000 + 3000;
	while (log_limit_deadline(&l) != LOG_LIMIT_NEVER) {
		CHECK(log_limit_deadline(&l) <= end + LOG_LIMIT_REFILL_MS);
		log_limit_flush(&l, log_limit_deadline(&l));
	}
	catch_stop();
	/* The burst at 5 s, a summary and one line at 6 s and at 7 s (the
	 * flood ends at 7.999 s), then the final summary at 8 s. */
	CHECK_EQ(c.n, LOG_LIMIT_BURST + 2 * 2 + 1);
	CHECK_STR(c.lines[0], "line 0");
	CHECK_STR(c.lines[LOG_LIMIT_BURST - 1], "line 4");
	unsigned long long printed = 0, suppressed = 0, n;
	for (size_t i = 0; i < c.n && i < 64; i++) {
		if (sscanf(c.lines[i], "dropped datagrams: %llu more suppressed", &n) == 1)
			suppressed += n;
		else
			printed++;
		CHECK_EQ(c.levels[i], LOG_LVL_DEBUG);
	}
	CHECK_EQ(printed + suppressed, 10000);
	CHECK_EQ(printed, LOG_LIMIT_BURST + 2);
	CHECK_MSG(strstr(c.lines[c.n - 1], "more suppressed") != NULL, "last line: %s",
		  c.lines[c.n - 1]);
}

/* The same flood with the event loop flushing at every deadline, as the
 * daemon does: the summaries take each token as it comes, so after the
 * burst only they are printed, one per refill interval. */
TEST(flood_with_the_loop_flushing)
{
	struct caught c;
	catch_start(&c, LOG_LVL_DEBUG);
	struct log_limit l = LOG_LIMIT_INIT("dropped datagrams");
	for (int i = 0; i < 10000; i++) {
		int64_t now = 5000 + i * 3 / 10;
		if (log_limit_deadline(&l) <= now)
			log_limit_flush(&l, now);
		log_limited(&l, now, LOG_LVL_DEBUG, "line %d", i);
	}
	while (log_limit_deadline(&l) != LOG_LIMIT_NEVER)
		log_limit_flush(&l, log_limit_deadline(&l));
	catch_stop();
	CHECK_EQ(c.n, LOG_LIMIT_BURST + 3);
	CHECK_STR(c.lines[LOG_LIMIT_BURST], "dropped datagrams: 3329 more suppressed");
	unsigned long long total = LOG_LIMIT_BURST, n;
	for (size_t i = LOG_LIMIT_BURST; i < c.n; i++)
		if (sscanf(c.lines[i], "dropped datagrams: %llu more suppressed", &n) == 1)
			total += n;
	CHECK_EQ(total, 10000);
}

TEST(summary_before_the_next_line)
{
	struct caught c;
	catch_start(&c, LOG_LVL_INFO);
	struct log_limit l = LOG_LIMIT_INIT("k");
	for (int i = 0; i < LOG_LIMIT_BURST + 7; i++)
		log_limited(&l, 0, LOG_LVL_WARN, "w%d", i);
	log_limited(&l, 10 * LOG_LIMIT_REFILL_MS, LOG_LVL_INFO, "later");
	catch_stop();
	CHECK_EQ(c.n, LOG_LIMIT_BURST + 2);
	CHECK_STR(c.lines[LOG_LIMIT_BURST], "k: 7 more suppressed");
	/* The summary takes the level of the worst line it stands for. */
	CHECK_EQ(c.levels[LOG_LIMIT_BURST], LOG_LVL_WARN);
	CHECK_STR(c.lines[LOG_LIMIT_BURST + 1], "later");
	CHECK_EQ(l.suppressed, 0);
}

TEST(lines_below_the_level_cost_nothing)
{
	struct caught c;
	catch_start(&c, LOG_LVL_INFO);
	struct log_limit l = LOG_LIMIT_INIT("k");
	for (int i = 0; i < 100; i++)
		log_limited(&l, 0, LOG_LVL_DEBUG, "d%d", i);
	CHECK_EQ(c.n, 0);
	CHECK_EQ(l.suppressed, 0);
	CHECK_EQ(log_limit_deadline(&l), LOG_LIMIT_NEVER);
	log_limited(&l, 0, LOG_LVL_INFO, "i");
	catch_stop();
	CHECK_EQ(c.n, 1);
}

TEST(kinds_are_independent)
{
	struct log_limit a = LOG_LIMIT_INIT("a"), b = LOG_LIMIT_INIT("b");
	for (int i = 0; i < 50; i++)
		log_limit_take(&a, 0, LOG_LVL_DEBUG);
	CHECK(log_limit_take(&b, 0, LOG_LVL_DEBUG));
}

TEST(streak_begin_summary_end)
{
	struct log_streak s = { 0 };
	CHECK(!log_streak_ok(&s, 0));
	CHECK_EQ(log_streak_fail(&s, 1000, EADDRNOTAVAIL), LOG_STREAK_BEGIN);
	CHECK(s.on);
	CHECK_EQ(s.since, 1000);
	/* Failures within the minute: quiet. */
	for (int i = 1; i <= 59; i++)
		CHECK_EQ(log_streak_fail(&s, 1000 + i * 1000, ENETDOWN), LOG_STREAK_QUIET);
	CHECK_EQ(s.err, ENETDOWN);
	CHECK_EQ(log_streak_fail(&s, 1000 + LOG_STREAK_REPORT_MS, ENETDOWN), LOG_STREAK_SUMMARY);
	CHECK_EQ(s.summary_n, 60);
	CHECK_EQ(s.summary_ms, LOG_STREAK_REPORT_MS);
	/* The next summary counts from the last one; a gap without failures
	 * makes no line of its own. */
	CHECK_EQ(log_streak_fail(&s, 1000 + LOG_STREAK_REPORT_MS + 1, ENETDOWN), LOG_STREAK_QUIET);
	CHECK_EQ(log_streak_fail(&s, 1000 + 5 * LOG_STREAK_REPORT_MS, ENETDOWN),
		 LOG_STREAK_SUMMARY);
	CHECK_EQ(s.summary_n, 2);
	CHECK_EQ(s.summary_ms, 4 * LOG_STREAK_REPORT_MS);
	CHECK_EQ(s.failures, 63);
	/* The first success ends it, once; its figures stay for the line. */
	CHECK(log_streak_ok(&s, 400000));
	CHECK(!s.on);
	CHECK_EQ(s.since, 1000);
	CHECK_EQ(s.failures, 63);
	CHECK(!log_streak_ok(&s, 400001));
	/* A new failure starts a new streak. */
	CHECK_EQ(log_streak_fail(&s, 500000, EPERM), LOG_STREAK_BEGIN);
	CHECK_EQ(s.failures, 1);
	CHECK_EQ(s.since, 500000);
}
