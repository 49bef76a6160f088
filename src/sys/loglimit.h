/* Rate-limited logging, for lines that something outside can cause once
 * per datagram (a bad packet, a send error) and so must never flood the
 * log, at any level.
 *
 * struct log_limit: one kind of line behind a token bucket. The bucket
 * holds LOG_LIMIT_BURST lines and gains one every LOG_LIMIT_REFILL_MS. A
 * line that finds it empty is counted instead of printed, and the count
 * comes out as one line "KIND: N more suppressed" as soon as the bucket
 * has a line again: just before the next line of that kind, or from
 * log_limit_flush, which the event loop calls at log_limit_deadline (so a
 * flood that stops is summed up within LOG_LIMIT_REFILL_MS). Under a
 * steady flood that is LOG_LIMIT_BURST lines, then at most two lines (a
 * summary and a line) per LOG_LIMIT_REFILL_MS; with the loop flushing at
 * every deadline, as the daemon's does, only the summary. A line below
 * the current log level costs one comparison and counts for nothing.
 *
 * struct log_streak: a failure that lasts (sending that keeps failing).
 * It says when the caller should log: the first failure, a summary at
 * most every LOG_STREAK_REPORT_MS while failures go on, and the first
 * success after them; the caller writes the words.
 *
 * Explicit time: every function takes now (monotonic ms, never going
 * backwards) and nothing here reads a clock, so tests run them on a fake
 * one. Both structs are caller-owned; zero-initialised (or
 * LOG_LIMIT_INIT) they are ready. */
#ifndef WL_SYS_LOGLIMIT_H
#define WL_SYS_LOGLIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "sys/log.h"

#define LOG_LIMIT_BURST 5
#define LOG_LIMIT_REFILL_MS 1000
/* log_limit_deadline when nothing waits to be summed up. */
#define LOG_LIMIT_NEVER INT64_MAX

struct log_limit {
	const char *kind;     /* names the summary: "KIND: N more suppressed" */
	bool started;         /* the bucket starts full at the first line */
	int64_t credit_ms;    /* the bucket: LOG_LIMIT_REFILL_MS per line */
	int64_t at;           /* when credit_ms was last brought up to date */
	uint64_t suppressed;  /* lines counted since the last printed one */
	enum log_level worst; /* the most severe of them (the summary's level) */
};

#define LOG_LIMIT_INIT(k) { .kind = (k) }

/* The decisions alone (log_limited and log_limit_flush use them; tests
 * call them directly). log_limit_take: true if a line may be printed now
 * (it takes a token), false if it is counted as suppressed.
 * log_limit_summary: if lines were suppressed and the bucket has a token
 * again, takes it and returns how many (the count restarts); else 0. */
bool log_limit_take(struct log_limit *l, int64_t now, enum log_level level);
uint64_t log_limit_summary(struct log_limit *l, int64_t now);
/* When log_limit_flush has a summary to print (LOG_LIMIT_NEVER: none). */
int64_t log_limit_deadline(const struct log_limit *l);

/* Logs one line of this kind at level, if the bucket allows it, preceded
 * by the summary of what it held back since the last one. */
void log_limited(struct log_limit *l, int64_t now, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Prints the summary if one is due (see log_limit_deadline). */
void log_limit_flush(struct log_limit *l, int64_t now);

/* ---- a failure that lasts ---- */

#define LOG_STREAK_REPORT_MS 60000

struct log_streak {
	bool on;              /* failing: no success since the first failure */
	int err;              /* the latest failure's errno (positive) */
	int64_t since;        /* when the streak began */
	int64_t reported_at;  /* its last line (begin or summary) */
	uint64_t failures;    /* failures in the streak */
	uint64_t unreported;  /* ... since its last line */
	/* Filled when log_streak_fail returns LOG_STREAK_SUMMARY: failures
	 * over how long since the previous line. */
	uint64_t summary_n;
	int64_t summary_ms;
};

enum log_streak_say {
	LOG_STREAK_QUIET,   /* nothing to log */
	LOG_STREAK_BEGIN,   /* the first failure: say what fails */
	LOG_STREAK_SUMMARY, /* still failing: summary_n failures in summary_ms */
};

/* One failure (err: a positive errno) at now. */
enum log_streak_say log_streak_fail(struct log_streak *s, int64_t now, int err);
/* One success at now: true if it ends a streak (log that it works again;
 * since and failures still describe the streak until the next failure). */
bool log_streak_ok(struct log_streak *s, int64_t now);

#endif
