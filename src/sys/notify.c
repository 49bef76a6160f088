#include "sys/notify.h"

#include <stdarg.h>
#include <stdio.h>

#include "wl_build.h"

#if WL_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

void notify_ready(void) { sd_notify(0, "READY=1"); }
void notify_stopping(void) { sd_notify(0, "STOPPING=1"); }
void notify_watchdog(void) { sd_notify(0, "WATCHDOG=1"); }

void notify_status(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", line);
}

int64_t notify_watchdog_ms(void)
{
	uint64_t usec = 0;
	return sd_watchdog_enabled(0, &usec) > 0 ? (int64_t)(usec / 1000) : 0;
}
#else
void notify_ready(void) {}
void notify_stopping(void) {}
void notify_watchdog(void) {}
void notify_status(const char *fmt, ...) { (void)fmt; }
int64_t notify_watchdog_ms(void) { return 0; }
#endif
