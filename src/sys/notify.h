/* Service-manager notification (systemd Type=notify): READY, STATUS,
 * STOPPING and the watchdog ping. Every function is a no-op when the
 * process was not started by systemd with NOTIFY_SOCKET set, or when
 * wirelink was built without libsystemd. */
#ifndef WL_SYS_NOTIFY_H
#define WL_SYS_NOTIFY_H

#include <stdint.h>

void notify_ready(void);
void notify_stopping(void);
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The watchdog interval systemd asked for, in ms; 0 = none. */
int64_t notify_watchdog_ms(void);
void notify_watchdog(void);

#endif
