/* The daemon: the OS shell around the pure engine (src/core/engine.h).
 *
 * One thread, one poll loop sleeping until a datagram, the engine's next
 * deadline, a signal, a link event or the watchdog. Each tick is the
 * driver's (driver.h): the daemon is its host, giving it the real
 * WireGuard device, rtnetlink, the UDP socket, the clock, DNS and the log. */
#ifndef WL_DAEMON_DAEMON_H
#define WL_DAEMON_DAEMON_H

struct wl_config;

/* Runs until SIGINT/SIGTERM (returns 0) or a fatal error such as the
 * WireGuard link disappearing (returns 1, with a log line saying why).
 * reload_argc/argv/envp are kept to reload the configuration on SIGHUP.
 * Takes ownership of *cfg and sets *cfg to NULL. */
int daemon_run(struct wl_config **cfg, int reload_argc, char **reload_argv, char **reload_envp);

#endif
