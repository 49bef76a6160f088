/* Rate-limited logging (see loglimit.h). */
#include "sys/loglimit.h"

#include <stdarg.h>

#define LOG_LIMIT_FULL_MS ((int64_t)LOG_LIMIT_BURST * LOG_LIMIT_REFILL_MS)

/* Brings the bucket up to now: full at the first use, then one line per
 * LOG_LIMIT_REFILL_MS up to LOG_LIMIT_BURST. */
static void refill(struct log_limit *l, int64_t now)
{
	if (!l->started) {
		l->started = true;
		l->credit_ms = LOG_LIMIT_FULL_MS;
		l->at = now;
		return;
	}
	if (now > l->at) {
		int64_t gain = now - l->at;
		l->credit_ms = gain >= LOG_LIMIT_FULL_MS - l->credit_ms ? LOG_LIMIT_FULL_MS
									 : l->credit_ms + gain;
	}
	l->at = now > l->at ? now : l->at;
}

bool log_limit_take(struct log_limit *l, int64_t now, enum log_level level)
{
	refill(l, now);
	if (l->credit_ms >= LOG_LIMIT_REFILL_MS) {
		l->credit_ms -= LOG_LIMIT_REFILL_MS;
		return true;
	}
	if (l->suppressed == 0 || level < l->worst)
		l->worst = level;
	l->suppressed++;
	return false;
}

uint64_t log_limit_summary(struct log_limit *l, int64_t now)
{
	if (l->suppressed == 0)
		return 0;
	refill(l, now);
	if (l->credit_ms < LOG_LIMIT_REFILL_MS)
		return 0;
	l->credit_ms -= LOG_LIMIT_REFILL_MS;
	uint64_t n = l->suppressed;
	l->suppressed = 0;
	return n;
}

int64_t log_limit_deadline(const struct log_limit *l)
{
	if (l->suppressed == 0)
		return LOG_LIMIT_NEVER;
	if (l->credit_ms >= LOG_LIMIT_REFILL_MS)
		return l->at;
	return l->at + (LOG_LIMIT_REFILL_MS - l->credit_ms);
}

static void print_summary(struct log_limit *l, enum log_level level, uint64_t n)
{
	log_msg(level, "%s: %llu more suppressed", l->kind ? l->kind : "log",
		(unsigned long long)n);
}

void log_limited(struct log_limit *l, int64_t now, enum log_level level, const char *fmt, ...)
{
	if (level > log_get_level())
		return;
	/* What was held back is told first, at the level of its worst line,
	 * without costing this line its token. */
	uint64_t held = l->suppressed;
	enum log_level worst = l->worst;
	if (!log_limit_take(l, now, level))
		return;
	if (held) {
		l->suppressed = 0;
		print_summary(l, worst, held);
	}
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_limit_flush(struct log_limit *l, int64_t now)
{
	enum log_level worst = l->worst;
	uint64_t n = log_limit_summary(l, now);
	if (n)
		print_summary(l, worst, n);
}

/* ---- a failure that lasts ---- */

enum log_streak_say log_streak_fail(struct log_streak *s, int64_t now, int err)
{
	s->err = err;
	if (!s->on) {
		*s = (struct log_streak){
			.on = true, .err = err, .since = now, .reported_at = now, .failures = 1,
		};
		return LOG_STREAK_BEGIN;
	}
	s->failures++;
	s->unreported++;
	if (now - s->reported_at < LOG_STREAK_REPORT_MS)
		return LOG_STREAK_QUIET;
	s->summary_n = s->unreported;
	s->summary_ms = now - s->reported_at;
	s->unreported = 0;
	s->reported_at = now;
	return LOG_STREAK_SUMMARY;
}

bool log_streak_ok(struct log_streak *s, int64_t now)
{
	(void)now;
	if (!s->on)
		return false;
	s->on = false;
	return true;
}
