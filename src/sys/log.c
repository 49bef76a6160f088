#include "sys/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The process has one stderr, so one level setting is the honest model. */
static enum log_level current_level = LOG_LVL_INFO;
static bool journal_prefix;
static log_sink_fn sink;
static void *sink_ctx;

void log_set_sink(log_sink_fn fn, void *ctx)
{
	sink = fn;
	sink_ctx = ctx;
}

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
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	if (level > current_level)
		return;
	char line[1024];
	vsnprintf(line, sizeof(line), fmt, ap);
	if (sink) {
		sink(sink_ctx, level, line);
	} else if (journal_prefix) {
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
