#include "sys/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The process has one stderr, so one level setting is the honest model. */
static enum log_level current_level = LOG_LVL_INFO;
static bool journal_prefix;

void log_set_level(enum log_level level) { current_level = level; }

enum log_level log_get_level(void) { return current_level; }

void log_init(void) { journal_prefix = getenv("JOURNAL_STREAM") != NULL; }

static const char *level_word(enum log_level level)
{
	switch (level) {
	case LOG_LVL_ERROR: return "error";
	case LOG_LVL_WARN: return "warning";
	case LOG_LVL_NOTICE: return "notice";
	case LOG_LVL_INFO: return "info";
	case LOG_LVL_DEBUG: return "debug";
	}
	return "log";
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level > current_level)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (journal_prefix) {
		fprintf(stderr, "<%d>%s\n", (int)level, line);
	} else if (current_level >= LOG_LVL_DEBUG) {
		/* Debugging by hand: wall-clock stamps (as `ping -D` prints
		 * them) line events up with traffic and other logs. The
		 * journal stamps lines itself. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		fprintf(stderr, "[%lld.%03ld] %s: %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000000,
			level_word(level), line);
	} else {
		fprintf(stderr, "%s: %s\n", level_word(level), line);
	}
}
