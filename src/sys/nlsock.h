/* The netlink request engine shared by rtnetlink (netif.c) and kernel
 * WireGuard generic netlink (wg_genl.c), spoken through libmnl: a socket
 * with its own sequence numbers, requests that read their whole reply (an
 * ACK, an error with the kernel's extended-ack text, or a dump up to its
 * NLMSG_DONE), dumps redone while the kernel flags them interrupted, and a
 * message walker that trusts no length.
 *
 * Error convention: 0 or -errno; out-pointers NULL on failure. A reply
 * that is truncated or malformed is -EPROTO, an overrun socket -ENOBUFS, a
 * refused request the kernel's -errno. When a request ends before its
 * reply is over (a receive error, a malformed buffer), the socket is
 * reopened so the next request starts clean: the kernel refuses a new dump
 * while an old one is unfinished on the same socket. */
#ifndef WL_SYS_NLSOCK_H
#define WL_SYS_NLSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sys/log.h"

struct nlmsghdr;

/* Receive buffer per socket: with 32 KiB offered the kernel fills dump
 * messages up to that size (what it recommends); a smaller one would make
 * it cut them smaller, a larger one is never used. */
#define NLSOCK_RECV_SIZE 32768u

struct nlsock_config {
	int protocol;                 /* NETLINK_ROUTE, NETLINK_GENERIC, ... */
	unsigned groups;              /* multicast groups to join; 0 for a request socket */
	const char *name;             /* prefix of log lines ("netlink"); a string literal */
	enum log_level refusal_level; /* level of the line with the kernel's refusal text */
	bool secret_replies;          /* replies may carry keys: wipe the receive buffer
	                               * after every request */
};

/* A socket and its sequence numbers. */
struct nlsock;

/* Opens a socket of cfg->protocol bound to cfg->groups, with extended and
 * capped ACKs asked for (best effort: old kernels lack them) and a
 * sequence counter started at a random value, so replies meant for an
 * earlier socket with the same port id can never match. */
int nlsock_open(const struct nlsock_config *cfg, struct nlsock **out);
void nlsock_close(struct nlsock *s); /* NULL is fine */
/* Closes and reopens the socket (new port id, same sequence counter):
 * whatever was in flight on it is forgotten. nlsock_request calls it when a
 * request ends out of step. 0 or -errno; after a failure the next request
 * tries again. */
int nlsock_reset(struct nlsock *s);
/* The descriptor to poll (a subscription socket), or -1 after a failed reset. */
int nlsock_fd(const struct nlsock *s);

/* Gets a data message of a reply; 0 to go on or -errno. nlh lies within
 * the buffer (at least nlh->nlmsg_len bytes). */
typedef int (*nlsock_msg_fn)(const struct nlmsghdr *nlh, void *data);

/* What a request expects back. */
struct nlsock_expect {
	uint16_t type;    /* type of the data messages (0: none expected); a data
	                   * message of another type makes the reply -EPROTO */
	nlsock_msg_fn cb; /* called with each of them; NULL: they are ignored */
	void *data;       /* for cb (and for nlsock_retry.begin) */
	const char *what; /* the request in words, for log lines ("listing addresses") */
};

/* Sends req after filling its sequence number, port id and NLM_F_REQUEST,
 * and reads replies until the ACK, error or NLMSG_DONE that ends the reply
 * to it; e may be NULL for a change that expects only its ACK. Replies
 * with another sequence number or port id (stale ones) are skipped. A
 * request with NLM_F_DUMP (both NLM_F_ROOT and NLM_F_MATCH) is read as a
 * dump: an error returned by e->cb is kept until the dump is over, so the
 * socket stays in step, and is then the result; in any other request it
 * ends the reading at once. *interrupted (may be NULL) tells whether any
 * part carried NLM_F_DUMP_INTR. The kernel's extended-ack text of a
 * refusal is logged once, with e->what. Returns 0, the kernel's -errno,
 * the callback's error, -EPROTO (malformed reply), -ENOBUFS (NLMSG_OVERRUN
 * or a receive overrun) or another receive -errno. */
int nlsock_request(struct nlsock *s, struct nlmsghdr *req, const struct nlsock_expect *e,
		   bool *interrupted);

/* What to do when every try of a dump was interrupted. */
enum nlsock_give_up {
	/* Return 0 with what the last try collected, a warning logged ("may be
	 * inconsistent"): for listings that are better slightly stale than
	 * missing. */
	NLSOCK_KEEP_LAST,
	/* Return -EAGAIN. */
	NLSOCK_FAIL,
};

struct nlsock_retry {
	unsigned tries;              /* at most this many tries (at least 1) */
	enum nlsock_give_up give_up; /* after the last interrupted try */
	/* Called with e->data before every try to forget what an earlier try
	 * collected; NULL if there is nothing to forget. 0 or -errno. */
	int (*begin)(void *data);
};

/* Runs the dump req (NLM_F_DUMP is set here; e is required) through
 * nlsock_request, again while the kernel flags it interrupted
 * (NLM_F_DUMP_INTR) or the socket overran (-ENOBUFS), up to retry->tries
 * times. *restarts (may be NULL) counts the tries that were interrupted or
 * overran, the last one included. 0, -EAGAIN (given up under
 * NLSOCK_FAIL), -ENOBUFS when the last try overran, or another -errno of
 * nlsock_request or retry->begin. */
int nlsock_dump(struct nlsock *s, struct nlmsghdr *req, const struct nlsock_expect *e,
		const struct nlsock_retry *retry, unsigned *restarts);

/* ---- the pure parts: walking and reading reply buffers ---- */

/* Walks a netlink receive buffer: returns the message at *pos and steps
 * past it, or NULL at the end or at a message whose length does not fit.
 * (libmnl's mnl_nlmsg_ok compares nlmsg_len as a signed int, so a huge
 * length walks backwards forever; this one is unsigned throughout.) *pos
 * must be 4-byte aligned, as receive buffers from malloc are; the last
 * message may lack its padding. */
const struct nlmsghdr *nlsock_msg_next(const uint8_t **pos, size_t *left);

/* One reply being read. Set the fields down to `dump` (a designated
 * initializer leaves the rest zero), then feed it buffers. */
struct nlsock_reply {
	const struct nlsock_expect *expect;
	const char *name;             /* log prefix, as nlsock_config.name */
	enum log_level refusal_level; /* as nlsock_config.refusal_level */
	uint32_t seq;                 /* the request's; 0: every message is taken as
	                               * ours (a buffer fed without a socket) */
	uint32_t portid;              /* ours; checked with seq */
	bool dump;                    /* ends with NLMSG_DONE, not an ACK */
	/* Filled while feeding. */
	bool interrupted; /* some part carried NLM_F_DUMP_INTR */
	bool over;        /* read no more: result is final */
	bool in_step;     /* over, and at the message that ends the reply (an ACK,
	                   * error or DONE): nothing of it is left on the socket */
	int result;       /* 0 or -errno, once over */
	int cb_err;       /* first error of expect->cb */
};

/* Reads one received buffer of the reply: true when the reply is over
 * (r->result holds 0 or -errno), false when more is to come. NLMSG_ERROR
 * gives 0 or the -errno it carries (its extended-ack text logged);
 * NLMSG_DONE its negative payload, 0 if none, -EPROTO outside a dump;
 * NLMSG_OVERRUN -ENOBUFS; a data message of an unexpected type, a header
 * or error out of range, or a buffer that ends inside a message -EPROTO. */
bool nlsock_reply_feed(struct nlsock_reply *r, const void *buf, size_t len);

#endif
