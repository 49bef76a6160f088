/* The netlink request engine (see nlsock.h). */
#include "sys/nlsock.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

/* The largest errno the kernel sends (its MAX_ERRNO); anything beyond is
 * not an error code but a malformed message. */
#define NLSOCK_MAX_ERRNO 4095

struct nlsock {
	struct mnl_socket *sock; /* NULL after a reset that could not reopen */
	struct nlsock_config cfg;
	uint32_t portid;
	uint32_t seq;
	uint8_t *rxbuf; /* NLSOCK_RECV_SIZE bytes */
};

/* ---- socket ---- */

static int sock_open(struct nlsock *s)
{
	struct mnl_socket *m = mnl_socket_open2(s->cfg.protocol, SOCK_CLOEXEC);
	if (!m)
		return -errno;
	int one = 1;
	/* Extended ACKs carry the kernel's reason for a refusal; capped ACKs
	 * keep an error from echoing back the whole request (a SET can be
	 * 16 KiB). Both best effort: an old kernel without them still works. */
	mnl_socket_setsockopt(m, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(m, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(m, s->cfg.groups, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		mnl_socket_close(m);
		return -e;
	}
	s->sock = m;
	s->portid = mnl_socket_get_portid(m);
	return 0;
}

int nlsock_open(const struct nlsock_config *cfg, struct nlsock **out)
{
	*out = NULL;
	struct nlsock *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->rxbuf = malloc(NLSOCK_RECV_SIZE);
	int r = s->rxbuf ? sock_open(s) : -ENOMEM;
	if (r < 0) {
		free(s->rxbuf);
		free(s);
		return r;
	}
	/* Random start so replies to an earlier socket with the same port id
	 * (a previous process, or this one before a reset) can never match;
	 * never time(NULL), which two quick starts share. */
	s->seq = randombytes_random();
	*out = s;
	return 0;
}

void nlsock_close(struct nlsock *s)
{
	if (!s)
		return;
	if (s->sock)
		mnl_socket_close(s->sock);
	if (s->cfg.secret_replies)
		sodium_memzero(s->rxbuf, NLSOCK_RECV_SIZE);
	free(s->rxbuf);
	free(s);
}

int nlsock_reset(struct nlsock *s)
{
	if (s->sock)
		mnl_socket_close(s->sock);
	s->sock = NULL;
	return sock_open(s);
}

int nlsock_fd(const struct nlsock *s)
{
	return s->sock ? mnl_socket_get_fd(s->sock) : -1;
}

/* The next sequence number; 0 is skipped when the counter wraps, because
 * a reply fed without a socket (seq 0) is taken as ours. */
static uint32_t next_seq(struct nlsock *s)
{
	if (++s->seq == 0)
		s->seq = 1;
	return s->seq;
}

/* ---- reading replies ---- */

const struct nlmsghdr *nlsock_msg_next(const uint8_t **pos, size_t *left)
{
	if (*left < sizeof(struct nlmsghdr))
		return NULL;
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)(const void *)*pos;
	size_t len = nlh->nlmsg_len;
	if (len < sizeof(struct nlmsghdr) || len > *left)
		return NULL;
	size_t step = MNL_ALIGN(len);
	if (step > *left)
		step = *left; /* the last message may lack its padding */
	*pos += step;
	*left -= step;
	return nlh;
}

static const char *what_of(const struct nlsock_reply *r)
{
	return r->expect && r->expect->what ? r->expect->what : "a request";
}

/* The kernel's extended-ack text in an error or done message whose
 * attributes start offset bytes into the payload, or NULL. */
static const char *ext_ack_text(const struct nlmsghdr *nlh, size_t offset)
{
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || offset > mnl_nlmsg_get_payload_len(nlh))
		return NULL;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, offset) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			return mnl_attr_get_str(a);
	}
	return NULL;
}

/* Logs the kernel's reason for refusing the request, if it gave one. */
static void log_refusal(const struct nlsock_reply *r, const struct nlmsghdr *nlh, size_t offset,
			int error)
{
	const char *text = ext_ack_text(nlh, offset);
	if (text)
		log_msg(r->refusal_level, "%s: %s refused: the kernel says: %s (%s)", r->name,
			what_of(r), text, strerror(-error));
}

/* The result an NLMSG_ERROR carries: 0 for an ACK, else -errno. */
static int error_result(const struct nlsock_reply *r, const struct nlmsghdr *nlh)
{
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nlmsgerr)) {
		log_error("%s: %s: error reply shorter than its header", r->name, what_of(r));
		return -EPROTO;
	}
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	if (e->error == 0)
		return 0;
	if (e->error > 0 || e->error < -NLSOCK_MAX_ERRNO) {
		log_error("%s: %s: error reply with code %d", r->name, what_of(r), e->error);
		return -EPROTO;
	}
	/* Without NLM_F_CAPPED the kernel echoes our request before the
	 * attributes. */
	size_t offset = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len >= sizeof(struct nlmsghdr))
		offset += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	log_refusal(r, nlh, offset, e->error);
	return e->error;
}

/* The result carried by the NLMSG_DONE that ends a dump. */
static int done_result(const struct nlsock_reply *r, const struct nlmsghdr *nlh)
{
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(int))
		return 0; /* old kernels send an empty DONE */
	int error;
	memcpy(&error, mnl_nlmsg_get_payload(nlh), sizeof(error));
	if (error > 0 || error < -NLSOCK_MAX_ERRNO) {
		log_error("%s: %s: dump ended with code %d", r->name, what_of(r), error);
		return -EPROTO;
	}
	if (error < 0)
		log_refusal(r, nlh, sizeof(int), error);
	return error;
}

/* Ends the reply with rc, or with the callback's error when rc is 0. */
static void reply_end(struct nlsock_reply *r, int rc, bool in_step)
{
	r->over = true;
	r->in_step = in_step;
	r->result = rc ? rc : r->cb_err;
}

static void reply_msg(struct nlsock_reply *r, const struct nlmsghdr *nlh)
{
	if (r->seq && (nlh->nlmsg_seq != r->seq || nlh->nlmsg_pid != r->portid)) {
		log_debug("%s: skipping a stale reply (seq %u, port %u)", r->name, nlh->nlmsg_seq,
			  nlh->nlmsg_pid);
		return;
	}
	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		r->interrupted = true;
	switch (nlh->nlmsg_type) {
	case NLMSG_NOOP:
		return;
	case NLMSG_ERROR:
		reply_end(r, error_result(r, nlh), true);
		return;
	case NLMSG_DONE:
		if (r->dump)
			reply_end(r, done_result(r, nlh), true);
		else
			reply_end(r, -EPROTO, false); /* a DONE where an ACK belongs */
		return;
	case NLMSG_OVERRUN:
		reply_end(r, -ENOBUFS, false);
		return;
	}
	const struct nlsock_expect *e = r->expect;
	if (!e || e->type == 0 || nlh->nlmsg_type != e->type) {
		log_error("%s: %s: unexpected message type %u", r->name, what_of(r), nlh->nlmsg_type);
		reply_end(r, -EPROTO, false);
		return;
	}
	if (e->cb && !r->cb_err)
		r->cb_err = e->cb(nlh, e->data);
	/* A dump is read to its end even after an error, so that the socket
	 * is ready for the next request; anything else stops here. */
	if (r->cb_err && !r->dump)
		reply_end(r, r->cb_err, false);
}

bool nlsock_reply_feed(struct nlsock_reply *r, const void *buf, size_t len)
{
	const uint8_t *pos = buf;
	size_t left = len;
	const struct nlmsghdr *nlh;
	while (!r->over && (nlh = nlsock_msg_next(&pos, &left)))
		reply_msg(r, nlh);
	if (!r->over && left != 0) {
		log_error("%s: %s: truncated reply", r->name, what_of(r));
		reply_end(r, -EPROTO, false);
	}
	return r->over;
}

/* ---- requests ---- */

/* NLM_F_DUMP is two bits; either alone means something else on a NEW
 * request (NLM_F_EXCL is NLM_F_MATCH, NLM_F_REPLACE is NLM_F_ROOT). */
static bool is_dump(const struct nlmsghdr *req)
{
	return (req->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
}

int nlsock_request(struct nlsock *s, struct nlmsghdr *req, const struct nlsock_expect *e,
		   bool *interrupted)
{
	static const struct nlsock_expect nothing = { 0 };
	if (interrupted)
		*interrupted = false;
	if (!e)
		e = &nothing;
	int rc;
	/* A reset failed after an earlier request: try once more. */
	if (!s->sock && (rc = nlsock_reset(s)) < 0)
		return rc;
	req->nlmsg_flags |= NLM_F_REQUEST;
	req->nlmsg_seq = next_seq(s);
	req->nlmsg_pid = s->portid;
	struct nlsock_reply r = {
		.expect = e,
		.name = s->cfg.name,
		.refusal_level = s->cfg.refusal_level,
		.seq = req->nlmsg_seq,
		.portid = s->portid,
		.dump = is_dump(req),
	};
	if (mnl_socket_sendto(s->sock, req, req->nlmsg_len) < 0)
		return -errno;
	size_t used = 0; /* bytes of rxbuf written, to wipe */
	while (!r.over) {
		ssize_t n = mnl_socket_recvfrom(s->sock, s->rxbuf, NLSOCK_RECV_SIZE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			reply_end(&r, -errno, false);
			break;
		}
		if ((size_t)n > used)
			used = (size_t)n;
		nlsock_reply_feed(&r, s->rxbuf, (size_t)n);
	}
	if (s->cfg.secret_replies)
		sodium_memzero(s->rxbuf, used);
	if (!r.in_step) {
		/* Whatever was in flight on this socket is lost, and the kernel
		 * would refuse the next dump while this one is unfinished. */
		log_debug("%s: %s failed mid-reply (%s); reopening the socket", s->cfg.name,
			  what_of(&r), strerror(-r.result));
		if ((rc = nlsock_reset(s)) < 0)
			log_error("%s: cannot reopen the socket: %s", s->cfg.name, strerror(-rc));
	}
	if (interrupted)
		*interrupted = r.interrupted;
	return r.result;
}

int nlsock_dump(struct nlsock *s, struct nlmsghdr *req, const struct nlsock_expect *e,
		const struct nlsock_retry *retry, unsigned *restarts)
{
	const char *what = e->what ? e->what : "a dump";
	unsigned tries = retry->tries ? retry->tries : 1, redone = 0;
	int rc = 0;
	req->nlmsg_flags |= NLM_F_DUMP;
	for (unsigned t = 1;; t++) {
		bool intr = false;
		if (retry->begin && (rc = retry->begin(e->data)) < 0)
			break;
		rc = nlsock_request(s, req, e, &intr);
		if ((rc == 0 && !intr) || (rc < 0 && rc != -ENOBUFS))
			break;
		redone++;
		if (t >= tries) {
			if (rc < 0)
				break; /* the last try overran: nothing usable */
			if (retry->give_up == NLSOCK_FAIL) {
				rc = -EAGAIN;
				break;
			}
			log_warn("%s: %s: the table kept changing during %u dumps; "
				 "using a listing that may be inconsistent", s->cfg.name, what, t);
			break;
		}
		log_debug("%s: %s: dump %s, redoing it", s->cfg.name, what,
			  rc < 0 ? "overran the socket" : "interrupted by a change");
	}
	if (restarts)
		*restarts = redone;
	return rc;
}
