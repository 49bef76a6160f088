/* The control protocol [ours]: what a client of the control socket
 * (/run/wirelink/IFACE.sock, src/sys/ctlsock.c) may ask, and the answers.
 * JSON lines: one request object per line, one answer object per line.
 *
 *   {"cmd":"status"}                 the daemon and a count of peers by path
 *   {"cmd":"peers"}                  every peer with its path and why-not-direct
 *   {"cmd":"facts"}                  every stored fact
 *   {"cmd":"metrics"}                the Prometheus text, in "text"
 *   {"cmd":"reload"}                 as SIGHUP: reload the configuration
 *   {"cmd":"log","level":"debug"}    set the log level (without level: tell it)
 *
 * Every answer has "ok"; a failed one {"ok":false,"error":"..."}. The
 * schema (every field) is in docs/control.md; "schema" is its version.
 * Answers are built from a snapshot (struct control_view) the daemon
 * fills, so the module needs no socket and a fuzzer can drive it
 * (tests/fuzz/fuzz_control.c). */
#ifndef WL_DAEMON_CONTROL_H
#define WL_DAEMON_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/engine.h"
#include "daemon/driver.h"
#include "sys/portmap.h"

#define CONTROL_SCHEMA 1

/* What the daemon is, as of one request. Pointers are borrowed. */
struct control_view {
	const char *iface;
	const char *version;
	long pid;
	const struct engine *e;
	int64_t now;     /* the engine's clock */
	int64_t started; /* when the daemon started, same clock */
	const struct driver_stats *drv; /* NULL: none */
	bool has_portmap;               /* a mapper exists (PortMapping) */
	struct portmap_status pm;
	struct portmap_stats pm_stats;
	uint64_t rx_truncated; /* datagrams over the receive buffer */
};

/* What a request may make the daemon do. */
struct control_ops {
	/* SIGHUP's reload: 0, or -1 with the reason in why. */
	int (*reload)(void *ctx, char *why, size_t why_len);
	void *ctx;
};

/* Answers one request (len bytes, no newline; need not be NUL-terminated)
 * with one line of JSON (no newline), malloc'd; NULL only when out of
 * memory. */
char *control_answer(const struct control_view *v, const struct control_ops *ops,
		     const char *req, size_t len);

/* "debug", "info", "notice", "warning", "error" -> a log level; false if
 * none of them. */
bool control_parse_level(const char *s, int *level);
const char *control_level_name(int level);

#endif
