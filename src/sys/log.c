#include "sys/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The process has one stderr, so one level setting is the honest model. */
static enum log_level current_level = LOG_LVL_INFO;
static enum log_time current_time = LOG_TIME_AUTO;
static bool journal;
static struct timespec started; /* CLOCK_MONOTONIC at log_init */
static log_sink_fn sink;
static void *sink_ctx;

void log_set_sink(log_sink_fn fn, void *ctx)
{
	sink = fn;
	sink_ctx = ctx;
}

void log_set_level(enum log_level level) { current_level = level; }

enum log_level log_get_level(void) { return current_level; }

void log_set_time(enum log_time t) { current_time = t; }

bool log_to_journal(void) { return journal; }

static const char *const time_names[] = {
	[LOG_TIME_AUTO] = "auto",
	[LOG_TIME_MONOTONIC] = "monotonic",
	[LOG_TIME_ISO] = "iso",
	[LOG_TIME_NONE] = "none",
};

const char *log_time_name(enum log_time t)
{
	return (unsigned)t < sizeof(time_names) / sizeof(time_names[0]) ? time_names[t] : "?";
}

bool log_time_parse(const char *s, enum log_time *out)
{
	for (size_t i = 0; i < sizeof(time_names) / sizeof(time_names[0]); i++)
		if (strcmp(s, time_names[i]) == 0) {
			*out = (enum log_time)i;
			return true;
		}
	return false;
}

bool log_journal_stream_is(const char *journal_stream, unsigned long long dev,
			   unsigned long long ino)
{
	unsigned long long d, i;
	char end;
	if (!journal_stream || sscanf(journal_stream, "%llu:%llu%c", &d, &i, &end) != 2)
		return false;
	return d == dev && i == ino;
}

void log_init(void)
{
	/* systemd sets JOURNAL_STREAM to "DEV:INODE" of the stream it hands
	 * a service; only if stderr is still that stream (not redirected by
	 * a wrapper, not inherited by a child started from a shell in the
	 * unit) is it the journal. */
	struct stat st;
	journal = fstat(STDERR_FILENO, &st) == 0 &&
		  log_journal_stream_is(getenv("JOURNAL_STREAM"), (unsigned long long)st.st_dev,
					(unsigned long long)st.st_ino);
	clock_gettime(CLOCK_MONOTONIC, &started);
}

size_t log_format_stamp(enum log_time t, bool to_journal, int64_t since_start_ms,
			const struct tm *local, int ms, char *out, size_t len)
{
	if (len == 0)
		return 0;
	out[0] = '\0';
	if (t == LOG_TIME_AUTO)
		t = to_journal ? LOG_TIME_NONE : LOG_TIME_MONOTONIC;
	int n = 0;
	if (t == LOG_TIME_MONOTONIC) {
		n = snprintf(out, len, "[%5lld.%03lld] ", (long long)(since_start_ms / 1000),
			     (long long)(since_start_ms % 1000));
	} else if (t == LOG_TIME_ISO && local) {
		/* 2026-11-29T08:01:02.345+01:00: ISO 8601 with the offset, so
		 * lines from machines in other zones line up. */
		long off = local->tm_gmtoff / 60;
		char sign = off < 0 ? '-' : '+';
		off = off < 0 ? -off : off;
		n = snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%c%02ld:%02ld ",
			     local->tm_year + 1900, local->tm_mon + 1, local->tm_mday, local->tm_hour,
			     local->tm_min, local->tm_sec, ms, sign, off / 60, off % 60);
	}
	if (n < 0)
		n = 0;
	return (size_t)n < len ? (size_t)n : len - 1;
}

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

/* The stamp for a line logged now ("" for none). */
static void stamp_now(char *out, size_t len)
{
	struct timespec mono, wall;
	struct tm local;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &wall);
	int64_t since = (int64_t)(mono.tv_sec - started.tv_sec) * 1000 +
			(mono.tv_nsec - started.tv_nsec) / 1000000;
	bool have_local = localtime_r(&wall.tv_sec, &local) != NULL;
	log_format_stamp(current_time, journal, since < 0 ? 0 : since, have_local ? &local : NULL,
			 (int)(wall.tv_nsec / 1000000), out, len);
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	if (level > current_level)
		return;
	char line[1024], stamp[64];
	vsnprintf(line, sizeof(line), fmt, ap);
	if (sink) {
		sink(sink_ctx, level, line);
		return;
	}
	stamp_now(stamp, sizeof(stamp));
	/* The journal files a line by its "<N>" priority and stamps it
	 * itself; elsewhere a level word says how bad it is. */
	if (journal)
		fprintf(stderr, "<%d>%s%s\n", (int)level, stamp, line);
	else
		fprintf(stderr, "%s%s: %s\n", stamp, level_word(level), line);
}
