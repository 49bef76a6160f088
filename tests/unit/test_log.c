/* Log lines: time stamps (LogTime), the journal test (JOURNAL_STREAM
 * against stderr's device and inode), what reaches stderr, and how peers
 * are named (common/peerlabel.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/peerlabel.h"
#include "harness.h"
#include "sys/log.h"

static const char *stamp(enum log_time t, bool journal, int64_t ms, const struct tm *tm, int wall_ms)
{
	static char buf[64];
	size_t n = log_format_stamp(t, journal, ms, tm, wall_ms, buf, sizeof(buf));
	CHECK_EQ(n, strlen(buf));
	return buf;
}

TEST(monotonic_stamps)
{
	CHECK_STR(stamp(LOG_TIME_MONOTONIC, false, 0, NULL, 0), "[    0.000] ");
	CHECK_STR(stamp(LOG_TIME_MONOTONIC, false, 12345, NULL, 0), "[   12.345] ");
	CHECK_STR(stamp(LOG_TIME_MONOTONIC, false, 86400007, NULL, 0), "[86400.007] ");
	CHECK_STR(stamp(LOG_TIME_MONOTONIC, false, 1234567890, NULL, 0), "[1234567.890] ");
	/* Asked for, a stamp goes into the journal too. */
	CHECK_STR(stamp(LOG_TIME_MONOTONIC, true, 5, NULL, 0), "[    0.005] ");
}

TEST(auto_and_none)
{
	CHECK_STR(stamp(LOG_TIME_AUTO, false, 1500, NULL, 0), "[    1.500] ");
	CHECK_STR(stamp(LOG_TIME_AUTO, true, 1500, NULL, 0), ""); /* the journal stamps */
	CHECK_STR(stamp(LOG_TIME_NONE, false, 1500, NULL, 0), "");
	char small[4];
	CHECK_EQ(log_format_stamp(LOG_TIME_MONOTONIC, false, 1500, NULL, 0, small, sizeof(small)), 3);
	CHECK_EQ(log_format_stamp(LOG_TIME_MONOTONIC, false, 1500, NULL, 0, small, 0), 0);
}

TEST(iso_stamps)
{
	struct tm tm = { .tm_year = 2026 - 1900, .tm_mon = 10, .tm_mday = 29, .tm_hour = 8,
			 .tm_min = 1, .tm_sec = 2, .tm_gmtoff = 3600 };
	CHECK_STR(stamp(LOG_TIME_ISO, false, 0, &tm, 45), "2026-11-29T08:01:02.045+01:00 ");
	tm.tm_gmtoff = -(5 * 3600 + 30 * 60);
	CHECK_STR(stamp(LOG_TIME_ISO, true, 0, &tm, 999), "2026-11-29T08:01:02.999-05:30 ");
	tm.tm_gmtoff = 0;
	CHECK_STR(stamp(LOG_TIME_ISO, false, 0, &tm, 0), "2026-11-29T08:01:02.000+00:00 ");
	CHECK_STR(stamp(LOG_TIME_ISO, false, 0, NULL, 0), ""); /* no local time: no stamp */
}

TEST(time_names)
{
	static const char *const names[] = { "auto", "monotonic", "iso", "none" };
	for (size_t i = 0; i < 4; i++) {
		enum log_time t;
		CHECK(log_time_parse(names[i], &t));
		CHECK_STR(log_time_name(t), names[i]);
	}
	enum log_time t;
	CHECK(!log_time_parse("ISO8601", &t));
	CHECK(!log_time_parse("", &t));
}

TEST(journal_stream)
{
	CHECK(log_journal_stream_is("8:1234", 8, 1234));
	CHECK(log_journal_stream_is("18446744073709551615:1", 18446744073709551615ull, 1));
	CHECK(!log_journal_stream_is("8:1235", 8, 1234));
	CHECK(!log_journal_stream_is("9:1234", 8, 1234));
	CHECK(!log_journal_stream_is("8:1234x", 8, 1234));
	CHECK(!log_journal_stream_is("8", 8, 1234));
	CHECK(!log_journal_stream_is("", 8, 1234));
	CHECK(!log_journal_stream_is(NULL, 8, 1234));
}

/* Runs log_init with JOURNAL_STREAM = js (NULL: unset) and stderr on a
 * fresh file, logs one line, and returns what reached the file. js "%s"
 * stands for that file's "DEV:INODE". */
static char *one_line(const char *js, enum log_time t)
{
	char path[] = "/tmp/wl-testlog.XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	struct stat st;
	fstat(fd, &st);
	char env[64];
	if (js) {
		snprintf(env, sizeof(env), "%s", js);
		if (strcmp(js, "%s") == 0)
			snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
				 (unsigned long long)st.st_ino);
		setenv("JOURNAL_STREAM", env, 1);
	} else {
		unsetenv("JOURNAL_STREAM");
	}
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	log_init();
	log_set_time(t);
	log_notice("peer %s is alive", "x");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	unsetenv("JOURNAL_STREAM");
	log_init();
	log_set_time(LOG_TIME_AUTO);
	static char buf[256];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return buf;
}

/* "[    0.000] notice: ..." with any number in the stamp. */
static bool monotonic_line(const char *s, const char *rest)
{
	unsigned secs, ms;
	int used = 0;
	if (sscanf(s, "[%u.%3u] %n", &secs, &ms, &used) != 2 || used == 0)
		return false;
	return s[used - 2] == ']' && secs < 600 && strcmp(s + used, rest) == 0;
}

TEST(lines_on_stderr)
{
	const char *l = one_line(NULL, LOG_TIME_AUTO);
	CHECK_MSG(monotonic_line(l, "notice: peer x is alive\n"), "got %s", l);
	l = one_line("%s", LOG_TIME_AUTO); /* stderr is the journal */
	CHECK_STR(l, "<5>peer x is alive\n");
	l = one_line("%s", LOG_TIME_MONOTONIC); /* ... and a stamp was asked for */
	CHECK_MSG(strncmp(l, "<5>", 3) == 0 && monotonic_line(l + 3, "peer x is alive\n"), "got %s",
		  l);
	l = one_line("1:2", LOG_TIME_AUTO); /* JOURNAL_STREAM inherited, stderr elsewhere */
	CHECK_MSG(monotonic_line(l, "notice: peer x is alive\n"), "got %s", l);
	l = one_line(NULL, LOG_TIME_NONE);
	CHECK_STR(l, "notice: peer x is alive\n");
	l = one_line(NULL, LOG_TIME_ISO);
	int y, mo, d, h, mi, s, ms, oh, om, used = 0;
	char sign;
	CHECK_MSG(sscanf(l, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c%2d:%2d %n", &y, &mo, &d, &h, &mi, &s, &ms,
			 &sign, &oh, &om, &used) == 10 &&
			  (sign == '+' || sign == '-') && strcmp(l + used, "notice: peer x is alive\n") == 0,
		  "got %s", l);
}

TEST(peer_labels)
{
	uint8_t key[WL_KEY_LEN];
	char b64[WL_KEY_B64_LEN], want[128], got[WL_PEER_LABEL_MAX];
	for (int i = 0; i < WL_KEY_LEN; i++)
		key[i] = (uint8_t)(i * 7 + 1);
	key_to_base64(key, b64);
	snprintf(want, sizeof(want), "laptop (%.8s)", b64);
	CHECK_STR(wl_peer_label(key, "laptop", got), want);
	snprintf(want, sizeof(want), "%.8s", b64);
	CHECK_STR(wl_peer_label(key, NULL, got), want);
	CHECK_STR(wl_peer_label(key, "", got), want);
	CHECK_EQ(strlen(got), WL_SHORT_KEY_LEN);
	/* A long name is cut, the key always shown. */
	char longname[200];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	wl_peer_label(key, longname, got);
	CHECK(strlen(got) < WL_PEER_LABEL_MAX);
	snprintf(want, sizeof(want), " (%.8s)", b64);
	CHECK(strstr(got, want) != NULL);
}
