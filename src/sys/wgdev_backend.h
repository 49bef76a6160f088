/* Private contract between wgdev.c and the WireGuard backends
 * (wg_uapi.c: userspace UAPI socket, wg_genl.c: kernel generic netlink,
 * wg_mem.c: the in-memory model).
 * Nothing outside src/sys includes this header.
 *
 * A backend allocates its own handle struct with a `struct wgdev` embedded
 * as its FIRST member and returns a pointer to that member from open();
 * the other operations get it back and recover their struct with
 * wgdev_container() (a plain cast, valid because base is first).
 * wgdev.c fills in base.ops, base.backend and base.ifname after a
 * successful open, so backends need not.
 *
 * Error convention as in wgdev.h: 0 or -errno; out-pointers NULL on failure.
 * Backends log the reason of a failure (log_error / log_debug) once, in
 * words, so callers can print just the errno. */
#ifndef WL_SYS_WGDEV_BACKEND_H
#define WL_SYS_WGDEV_BACKEND_H

#include "sys/wgdev.h"

struct wgdev_ops;

struct wgdev {
	const struct wgdev_ops *ops;
	enum wgdev_backend backend;
	char ifname[IFNAMSIZ];
};

#define wgdev_container(ptr, type) ((type *)(void *)(ptr))

struct wgdev_ops {
	/* ifname is already validated by wgdev_open: non-empty, shorter than
	 * IFNAMSIZ, no '/', not "." or "..". open() checks that the device
	 * exists and is reachable (-ENODEV if it does not exist) and returns
	 * a handle in *out. */
	int (*open)(const char *ifname, struct wgdev **out);
	/* Reads the whole device into a fresh snapshot (see wgdev_get). The
	 * backend fills name and, if it knows it, ifindex; wgdev.c fills a
	 * zero ifindex through if_nametoindex. The public key must be derived
	 * from the private key when the backend does not report it. */
	int (*get)(struct wgdev *wg, struct wg_device **out);
	/* Optional (see wgdev_refresh): brings dev, the last snapshot this
	 * handle gave, up to date in place. 1 done, 0 not possible (wgdev.c
	 * frees it and gets a new one), -errno. */
	int (*refresh)(struct wgdev *wg, struct wg_device *dev);
	/* Applies changes in order (see wgdev_apply). n may be 0. */
	int (*apply)(struct wgdev *wg, const struct wg_peer_change *changes, size_t n);
	/* See wgdev_set_device. private_key NULL = leave; listen_port -1 = leave. */
	int (*set_device)(struct wgdev *wg, const uint8_t *private_key, int listen_port);
	/* Releases the handle; wg is never NULL here. */
	void (*close)(struct wgdev *wg);
};

/* Userspace backend (wg_uapi.c). */
extern const struct wgdev_ops wg_uapi_ops;
/* Kernel backend (wg_genl.c). */
extern const struct wgdev_ops wg_genl_ops;
/* In-memory backend (wg_mem.c). Its open() refuses every name: its
 * handles come from wgdev_open_memory, which fills base itself. */
extern const struct wgdev_ops wg_mem_ops;

/* Snapshot builders (wg_device_new, wg_device_add_peer, wg_peer_add_allowed)
 * are in wgdev.h. */

#endif
