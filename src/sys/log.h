/* Levelled logging to stderr, one line per event, journald-friendly.
 *
 * When stderr is the journal (JOURNAL_STREAM set) each line starts with a
 * syslog priority prefix "<N>" so journald files it at the right level;
 * otherwise a short level word is printed. Messages below the current level
 * cost one comparison. */
#ifndef WL_SYS_LOG_H
#define WL_SYS_LOG_H

#include <stdarg.h>
#include <stdbool.h>

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
/* Decide once whether to use journald priority prefixes. */
void log_init(void);

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
