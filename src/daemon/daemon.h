/* The daemon: the OS shell around the pure engine (src/core/engine.h).
 *
 * One thread, one poll loop sleeping until a datagram, the engine's next
 * deadline, a signal, a link event or the watchdog. It reads the WireGuard
 * device and the local interfaces for every engine tick, applies the
 * engine's device changes, sends its datagrams, and logs its events. */
#ifndef WL_DAEMON_DAEMON_H
#define WL_DAEMON_DAEMON_H

struct wl_config;

/* Runs until SIGINT/SIGTERM (returns 0) or a fatal error such as the
 * WireGuard link disappearing (returns 1, with a log line saying why).
 * reload_argc/argv/envp are kept to reload the configuration on SIGHUP;
 * *cfg may be replaced by the reloaded one (the caller frees *cfg). */
int daemon_run(struct wl_config **cfg, int reload_argc, char **reload_argv, char **reload_envp);

#endif
