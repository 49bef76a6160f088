/* Extras of the kernel WireGuard backend (wg_genl.c) beyond struct
 * wgdev_ops: counters that show how requests were cut into netlink
 * messages, and a knob to make SET messages smaller. Tests and benchmarks
 * use them to prove that dumps spanning several messages are merged and
 * that large updates are split; the daemon does not need them.
 *
 * Every function takes a handle from wgdev_open(); on a handle of another
 * backend they return NULL / -EINVAL. */
#ifndef WL_SYS_WG_GENL_H
#define WL_SYS_WG_GENL_H

#include <stddef.h>

#include "sys/wgdev.h"

struct wg_genl_stats {
	/* Last wgdev_get: WG_CMD_GET_DEVICE messages received in the
	 * successful dump, and dumps restarted (NLM_F_DUMP_INTR / ENOBUFS). */
	unsigned dump_messages;
	unsigned dump_restarts;
	/* Last wgdev_apply / wgdev_set_device: WG_CMD_SET_DEVICE messages
	 * sent, and how many of them continued a peer cut by the size limit. */
	unsigned set_messages;
	unsigned set_continuations;
};

/* Largest SET message we build by default, in bytes. Far below the kernel's
 * real bound (the socket send buffer) so one message never needs a large
 * contiguous allocation on either side. */
#define WG_GENL_SET_MSG_DEFAULT 16384u
/* Smallest limit wg_genl_set_msg_limit accepts: one peer with its key,
 * flags, endpoint, keepalive and one allowed IP always fits. */
#define WG_GENL_SET_MSG_MIN 256u

/* Counters of the last operations on wg, or NULL if wg is not a kernel handle. */
const struct wg_genl_stats *wg_genl_stats(const struct wgdev *wg);

/* Caps the size of every SET message built for wg (WG_GENL_SET_MSG_MIN ..
 * WG_GENL_SET_MSG_DEFAULT; 0 restores the default). 0 or -EINVAL. */
int wg_genl_set_msg_limit(struct wgdev *wg, size_t bytes);

/* The dump parser on its own, for the fuzzer (tests/fuzz/fuzz_genl.c):
 * reads buf as the replies of one WG_CMD_GET_DEVICE dump of generic netlink
 * family `family` (sequence numbers not checked), ending with NLMSG_DONE,
 * into a new snapshot exactly as wgdev_get would. 0, or -EPROTO for
 * malformed input, -EAGAIN for an interrupted dump, another -errno for an
 * error reply; *out is NULL on failure. */
int wg_genl_parse_dump(const void *buf, size_t len, uint16_t family, struct wg_device **out);

#endif
