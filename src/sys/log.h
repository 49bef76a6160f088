/* Levelled logging to stderr, one line per event, journald-friendly.
 *
 * When stderr is the journal (JOURNAL_STREAM names stderr's device and
 * inode, as systemd sets it) each line starts with a syslog priority
 * prefix "<N>" so journald files it at the right level; otherwise a short
 * level word is printed. Before either comes a time stamp (log_set_time):
 * by default seconds since start, "[   12.345] ", except in the journal,
 * which stamps lines itself. Messages below the current level cost one
 * comparison. */
#ifndef WL_SYS_LOG_H
#define WL_SYS_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_LVL_ERROR = 3,
	LOG_LVL_WARN = 4,
	LOG_LVL_NOTICE = 5,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7,
};

/* Set the most verbose level that is printed (default LOG_LVL_INFO). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Decide once whether stderr is the journal; the start of "since start". */
void log_init(void);
bool log_to_journal(void);

/* Time stamps (setting LogTime): auto = monotonic, or none in the journal;
 * monotonic = "[   12.345] ", seconds since log_init; iso = local time
 * "2026-11-29T08:01:02.345+01:00 "; none. */
enum log_time { LOG_TIME_AUTO, LOG_TIME_MONOTONIC, LOG_TIME_ISO, LOG_TIME_NONE };
void log_set_time(enum log_time t);
const char *log_time_name(enum log_time t);  /* "auto", "monotonic", "iso", "none" */
bool log_time_parse(const char *s, enum log_time *out); /* exact names above */

/* The pieces, for tests: whether JOURNAL_STREAM ("DEV:INODE") names this
 * device and inode; and the stamp of a line (with its trailing space, ""
 * for none) at since_start_ms, local time *local plus ms milliseconds
 * (local may be NULL but for iso). Returns its length. */
bool log_journal_stream_is(const char *journal_stream, unsigned long long dev,
			   unsigned long long ino);
struct tm;
size_t log_format_stamp(enum log_time t, bool to_journal, int64_t since_start_ms,
			const struct tm *local, int ms, char *out, size_t len);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Tests: every printed line (without prefix or stamp) goes to fn instead
 * of stderr; NULL restores stderr. */
typedef void (*log_sink_fn)(void *ctx, enum log_level level, const char *line);
void log_set_sink(log_sink_fn fn, void *ctx);

/* Lines a remote peer can cause once per datagram go through a rate
 * limiter: sys/loglimit.h. */

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                                         \
	do {                                                                   \
		if (log_get_level() >= LOG_LVL_DEBUG)                          \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__);                   \
	} while (0)

#endif
