/* The netlink engine (nlsock.c): its reply reader fed hand-built buffers
 * (ACKs, refusals with extended-ack text, dumps and how they end, stale
 * replies, overruns, truncation), the message walker, and, where the
 * sandbox allows a netlink socket, one real rtnetlink request and dump.
 * The backends on top are covered by test_netif, test_genl_parse and the
 * netns and VM suites. */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "sys/nlsock.h"

#define SEQ 0x1234u
#define PORT 0x777u
#define DATA 0x42 /* type of the data messages */

/* A reply buffer being built: messages appended one after another. */
struct rbuf {
	uint32_t words[1024]; /* aligned like a recv() buffer */
	size_t len;
	struct nlmsghdr *cur;
};

static struct nlmsghdr *rb_msg(struct rbuf *b, uint16_t type, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header((uint8_t *)b->words + b->len);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = PORT;
	b->cur = nlh;
	return nlh;
}

static void rb_end(struct rbuf *b)
{
	b->len += MNL_ALIGN(b->cur->nlmsg_len);
}

static void rb_data(struct rbuf *b, uint16_t flags, uint32_t seq, uint32_t value)
{
	struct nlmsghdr *nlh = rb_msg(b, DATA, flags | NLM_F_MULTI, seq);
	mnl_attr_put_u32(nlh, 1, value);
	rb_end(b);
}

static void rb_done(struct rbuf *b, int err)
{
	struct nlmsghdr *nlh = rb_msg(b, NLMSG_DONE, NLM_F_MULTI, SEQ);
	int *p = mnl_nlmsg_put_extra_header(nlh, sizeof *p);
	*p = err;
	rb_end(b);
}

/* A whole dump: n data messages with values 1..n, then NLMSG_DONE. */
static void rb_dump(struct rbuf *b, uint32_t n)
{
	memset(b, 0, sizeof *b);
	for (uint32_t i = 1; i <= n; i++)
		rb_data(b, 0, SEQ, i);
	rb_done(b, 0);
}

/* An NLMSG_ERROR; text (may be NULL) as NLMSGERR_ATTR_MSG. Capped unless
 * echo is given: then the kernel's copy of a request with that many bytes
 * of payload comes first. */
static void rb_error(struct rbuf *b, int err, const char *text, size_t echo)
{
	uint16_t flags = (echo ? 0 : NLM_F_CAPPED) | (text ? NLM_F_ACK_TLVS : 0);
	struct nlmsghdr *nlh = rb_msg(b, NLMSG_ERROR, flags, SEQ);
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof *e + echo);
	e->error = err;
	e->msg.nlmsg_len = (uint32_t)(sizeof(struct nlmsghdr) + echo);
	e->msg.nlmsg_seq = SEQ;
	if (text)
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, text);
	rb_end(b);
}

/* Collects the values of the data messages. */
struct seen {
	uint32_t values[16];
	unsigned n;
	int fail_at; /* return -ENOMEM at this message (1-based), 0 never */
};

static int seen_cb(const struct nlmsghdr *nlh, void *data)
{
	struct seen *s = data;
	const struct nlattr *a = mnl_nlmsg_get_payload(nlh);
	if (s->n < 16)
		s->values[s->n] = mnl_attr_get_u32(a);
	s->n++;
	return (int)s->n == s->fail_at ? -ENOMEM : 0;
}

/* Feeds b in one piece to a reply of request SEQ from port PORT. */
static bool feed(struct nlsock_reply *r, const struct nlsock_expect *e, bool dump,
		 const struct rbuf *b)
{
	*r = (struct nlsock_reply){
		.expect = e,
		.name = "test",
		.refusal_level = LOG_LVL_WARN,
		.seq = SEQ,
		.portid = PORT,
		.dump = dump,
	};
	return nlsock_reply_feed(r, b->words, b->len);
}

/* stderr into a file while a feed runs, to see what was logged. */
struct capture {
	int saved;
	FILE *f;
	char text[2048];
};

static void capture_start(struct capture *c)
{
	fflush(stderr);
	c->f = tmpfile();
	c->saved = dup(STDERR_FILENO);
	if (c->f)
		dup2(fileno(c->f), STDERR_FILENO);
}

static const char *capture_end(struct capture *c)
{
	fflush(stderr);
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	c->text[0] = '\0';
	if (c->f) {
		rewind(c->f);
		size_t n = fread(c->text, 1, sizeof(c->text) - 1, c->f);
		c->text[n] = '\0';
		fclose(c->f);
	}
	return c->text;
}

static unsigned count_of(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

TEST(ack_ends_a_request)
{
	static struct rbuf b;
	memset(&b, 0, sizeof b);
	rb_error(&b, 0, NULL, 0);
	struct nlsock_expect e = { .what = "adding a thing" };
	struct nlsock_reply r;
	CHECK(feed(&r, &e, false, &b));
	CHECK_EQ(r.result, 0);
	CHECK(r.in_step);
	CHECK(!r.interrupted);
	/* An uncapped ACK echoes our request: still just an ACK. */
	memset(&b, 0, sizeof b);
	rb_error(&b, 0, NULL, 24);
	CHECK(feed(&r, &e, false, &b));
	CHECK_EQ(r.result, 0);
}

TEST(refusal_with_ext_ack_text_logged_once)
{
	static struct rbuf b;
	struct nlsock_expect e = { .what = "adding 10.0.0.1/24" };
	struct nlsock_reply r;
	struct capture c;

	memset(&b, 0, sizeof b);
	rb_error(&b, -EEXIST, "Address already assigned", 0);
	capture_start(&c);
	CHECK(feed(&r, &e, false, &b));
	const char *log = capture_end(&c);
	CHECK_EQ(r.result, -EEXIST);
	CHECK(r.in_step);
	CHECK_EQ(count_of(log, "Address already assigned"), 1);
	CHECK_MSG(strstr(log, "warning: test: adding 10.0.0.1/24") != NULL, "logged: %s", log);
	CHECK_MSG(strstr(log, strerror(EEXIST)) != NULL, "logged: %s", log);

	/* Uncapped: the text follows the kernel's copy of our request. */
	memset(&b, 0, sizeof b);
	rb_error(&b, -EINVAL, "Invalid prefix", 36);
	capture_start(&c);
	CHECK(feed(&r, &e, false, &b));
	log = capture_end(&c);
	CHECK_EQ(r.result, -EINVAL);
	CHECK_EQ(count_of(log, "Invalid prefix"), 1);

	/* Without text nothing is logged: the caller says what failed. */
	memset(&b, 0, sizeof b);
	rb_error(&b, -EPERM, NULL, 0);
	capture_start(&c);
	CHECK(feed(&r, &e, false, &b));
	log = capture_end(&c);
	CHECK_EQ(r.result, -EPERM);
	CHECK_STR(log, "");

	/* An echo longer than the message: no text read past the end. */
	memset(&b, 0, sizeof b);
	rb_error(&b, -EINVAL, "x", 0);
	struct nlmsghdr *nlh = (struct nlmsghdr *)b.words;
	nlh->nlmsg_flags &= (uint16_t)~NLM_F_CAPPED;
	((struct nlmsgerr *)mnl_nlmsg_get_payload(nlh))->msg.nlmsg_len = 4000;
	capture_start(&c);
	CHECK(feed(&r, &e, false, &b));
	log = capture_end(&c);
	CHECK_EQ(r.result, -EINVAL);
	CHECK_STR(log, "");
}

TEST(malformed_errors_are_eproto)
{
	static struct rbuf b;
	struct nlsock_expect e = { 0 };
	struct nlsock_reply r;
	/* error codes out of range */
	static const int bad[] = { 1, -4096, -2147483647 };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&b, 0, sizeof b);
		rb_error(&b, bad[i], NULL, 0);
		CHECK(feed(&r, &e, false, &b));
		CHECK_MSG(r.result == -EPROTO, "code %d gave %d", bad[i], r.result);
	}
	/* an error message shorter than struct nlmsgerr */
	memset(&b, 0, sizeof b);
	struct nlmsghdr *nlh = rb_msg(&b, NLMSG_ERROR, 0, SEQ);
	int *p = mnl_nlmsg_put_extra_header(nlh, sizeof *p);
	*p = -EPERM;
	rb_end(&b);
	CHECK(feed(&r, &e, false, &b));
	CHECK_EQ(r.result, -EPROTO);
}

TEST(dump_hands_data_to_the_callback)
{
	static struct rbuf b;
	rb_dump(&b, 2);
	struct seen s = { 0 };
	struct nlsock_expect e = { .type = DATA, .cb = seen_cb, .data = &s };
	struct nlsock_reply r;
	CHECK(feed(&r, &e, true, &b));
	CHECK_EQ(r.result, 0);
	CHECK(r.in_step);
	CHECK(!r.interrupted);
	CHECK_EQ(s.n, 2);
	CHECK_EQ(s.values[0], 1);
	CHECK_EQ(s.values[1], 2);

	/* The same reply in two receive buffers: more to come after the first. */
	memset(&s, 0, sizeof s);
	r = (struct nlsock_reply){ .expect = &e, .name = "test", .seq = SEQ, .portid = PORT,
				   .dump = true };
	size_t first = MNL_ALIGN(b.words[0]);
	CHECK(!nlsock_reply_feed(&r, b.words, first));
	CHECK(nlsock_reply_feed(&r, (const uint8_t *)b.words + first, b.len - first));
	CHECK_EQ(r.result, 0);
	CHECK_EQ(s.n, 2);

	/* An empty DONE (old kernels) ends a dump too. */
	memset(&b, 0, sizeof b);
	rb_msg(&b, NLMSG_DONE, NLM_F_MULTI, SEQ);
	rb_end(&b);
	CHECK(feed(&r, &e, true, &b));
	CHECK_EQ(r.result, 0);
}

TEST(done_with_error)
{
	static struct rbuf b;
	struct seen s = { 0 };
	struct nlsock_expect e = { .type = DATA, .cb = seen_cb, .data = &s };
	struct nlsock_reply r;
	memset(&b, 0, sizeof b);
	rb_data(&b, 0, SEQ, 1);
	rb_done(&b, -ENODEV);
	CHECK(feed(&r, &e, true, &b));
	CHECK_EQ(r.result, -ENODEV);
	CHECK(r.in_step);

	/* With the kernel's reason attached, logged once. */
	memset(&b, 0, sizeof b);
	rb_done(&b, -EMSGSIZE);
	b.cur->nlmsg_flags |= NLM_F_ACK_TLVS;
	b.len -= MNL_ALIGN(b.cur->nlmsg_len);
	mnl_attr_put_strz(b.cur, NLMSGERR_ATTR_MSG, "dump too big");
	rb_end(&b);
	struct capture c;
	capture_start(&c);
	CHECK(feed(&r, &e, true, &b));
	const char *log = capture_end(&c);
	CHECK_EQ(r.result, -EMSGSIZE);
	CHECK_EQ(count_of(log, "dump too big"), 1);

	/* a positive code is no error code */
	memset(&b, 0, sizeof b);
	rb_done(&b, 5);
	CHECK(feed(&r, &e, true, &b));
	CHECK_EQ(r.result, -EPROTO);

	/* a DONE where an ACK belongs */
	memset(&b, 0, sizeof b);
	rb_done(&b, 0);
	CHECK(feed(&r, &e, false, &b));
	CHECK_EQ(r.result, -EPROTO);
	CHECK(!r.in_step);
}

TEST(stale_replies_skipped)
{
	static struct rbuf b;
	memset(&b, 0, sizeof b);
	rb_data(&b, 0, SEQ - 1, 1); /* an earlier request's data */
	rb_error(&b, -EPERM, NULL, 0);
	b.cur->nlmsg_seq = SEQ - 1; /* and its end */
	rb_data(&b, 0, SEQ, 2);
	struct nlmsghdr *other = rb_msg(&b, DATA, NLM_F_MULTI, SEQ);
	mnl_attr_put_u32(other, 1, 3);
	other->nlmsg_pid = PORT + 1; /* another socket's */
	rb_end(&b);
	rb_data(&b, 0, SEQ, 4);
	rb_done(&b, 0);
	struct seen s = { 0 };
	struct nlsock_expect e = { .type = DATA, .cb = seen_cb, .data = &s };
	struct nlsock_reply r;
	CHECK(feed(&r, &e, true, &b));
	CHECK_EQ(r.result, 0);
	CHECK_EQ(s.n, 2);
	CHECK_EQ(s.values[0], 2);
	CHECK_EQ(s.values[1], 4);

	/* Only stale messages: the reply is not over. */
	memset(&b, 0, sizeof b);
	rb_error(&b, 0, NULL, 0);
	b.cur->nlmsg_seq = SEQ + 1;
	CHECK(!feed(&r, &e, false, &b));

	/* seq 0 (a buffer fed without a socket) takes every message. */
	r = (struct nlsock_reply){ .expect = &e, .name = "test" };
	CHECK(nlsock_reply_feed(&r, b.words, b.len));
	CHECK_EQ(r.result, 0);
}

TEST(dump_intr_flagged)
{
	static struct rbuf b;
	memset(&b, 0, sizeof b);
	rb_data(&b, 0, SEQ, 1);
	rb_data(&b, NLM_F_DUMP_INTR, SEQ, 2);
	rb_done(&b, 0);
	struct seen s = { 0 };
	struct nlsock_expect e = { .type = DATA, .cb = seen_cb, .data = &s };
	struct nlsock_reply r;
	CHECK(feed(&r, &e, true, &b));
	CHECK_EQ(r.result, 0); /* the retry policy is the caller's */
	CHECK(r.interrupted);
	CHECK_EQ(s.n, 2);

	/* on the DONE alone */
	memset(&b, 0, sizeof b);
	rb_done(&b, 0);
	b.cur->nlmsg_flags |= NLM_F_DUMP_INTR;
	CHECK(feed(&r, &e, true, &b));
	CHECK(r.interrupted);
}

TEST(overrun_is_enobufs)
{
	static struct rbuf b;
	memset(&b, 0, sizeof b);
	rb_data(&b, 0, SEQ, 1);
	rb_msg(&b, NLMSG_OVERRUN, 0, SEQ);
	rb_end(&b);
	rb_done(&b, 0);
	struct seen s = { 0 };
	struct nlsock_expect e = { .type = DATA, .cb = seen_cb, .data = &s };
	struct nlsock_reply r;
	CHECK(feed(&r, &e, true, &b));
	CHECK_EQ(r.result, -ENOBUFS);
	CHECK(!r.in_step); /* the socket must be reset */
}

TEST(truncated_buffers_are_eproto)
{
	static struct rbuf b;
	rb_dump(&b, 2);
	const size_t full = b.len;
	struct seen s = { 0 };
	struct nlsock_expect e = { .type = DATA, .cb = seen_cb, .data = &s };
	struct nlsock_reply r;
	for (size_t cut = 0; cut < full; cut++) {
		r = (struct nlsock_reply){ .expect = &e, .name = "test", .seq = SEQ, .portid = PORT,
					   .dump = true };
		bool over = nlsock_reply_feed(&r, b.words, cut);
		/* Cut between messages: more to come. Inside one: broken. */
		bool boundary = cut == 0 || cut == MNL_ALIGN(b.words[0]) ||
				cut == 2 * MNL_ALIGN(b.words[0]);
		if (boundary)
			CHECK_MSG(!over, "cut at %zu ended the reply", cut);
		else
			CHECK_MSG(over && r.result == -EPROTO && !r.in_step, "cut at %zu: %d %d", cut,
				  over, r.result);
	}
	/* A length past the buffer, or past 2 GiB (negative to libmnl). */
	const uint32_t bad[] = { 15, (uint32_t)full + 4, 0x80000000u, 0xfffffff0u };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint32_t keep = b.words[0];
		b.words[0] = bad[i];
		CHECK(feed(&r, &e, true, &b));
		CHECK_MSG(r.result == -EPROTO, "length %u gave %d", bad[i], r.result);
		b.words[0] = keep;
	}
}

TEST(unexpected_type_is_eproto)
{
	static struct rbuf b;
	rb_dump(&b, 1);
	struct nlsock_expect e = { .type = DATA + 1 };
	struct nlsock_reply r;
	CHECK(feed(&r, &e, true, &b));
	CHECK_EQ(r.result, -EPROTO);
	CHECK(!r.in_step);
	/* type 0: no data expected at all (a change waiting for its ACK) */
	e.type = 0;
	CHECK(feed(&r, &e, false, &b));
	CHECK_EQ(r.result, -EPROTO);
}

TEST(callback_errors)
{
	static struct rbuf b;
	rb_dump(&b, 3);
	struct seen s = { .fail_at = 2 };
	struct nlsock_expect e = { .type = DATA, .cb = seen_cb, .data = &s };
	struct nlsock_reply r;
	/* A dump is read to its DONE, the callback not called again. */
	CHECK(feed(&r, &e, true, &b));
	CHECK_EQ(r.result, -ENOMEM);
	CHECK(r.in_step);
	CHECK_EQ(s.n, 2);
	/* Anything else stops at once. */
	memset(&s, 0, sizeof s);
	s.fail_at = 1;
	CHECK(feed(&r, &e, false, &b));
	CHECK_EQ(r.result, -ENOMEM);
	CHECK(!r.in_step);
	CHECK_EQ(s.n, 1);
}

TEST(noop_ignored)
{
	static struct rbuf b;
	memset(&b, 0, sizeof b);
	rb_msg(&b, NLMSG_NOOP, 0, SEQ);
	rb_end(&b);
	rb_error(&b, 0, NULL, 0);
	struct nlsock_expect e = { 0 };
	struct nlsock_reply r;
	CHECK(feed(&r, &e, false, &b));
	CHECK_EQ(r.result, 0);
}

TEST(walker_is_unsigned)
{
	static struct rbuf b;
	memset(&b, 0, sizeof b);
	b.words[0] = 20; /* a message of 20 bytes, then one of 18 (unpadded) */
	b.words[5] = 18;
	const uint8_t *pos = (const uint8_t *)b.words;
	size_t left = 38;
	CHECK(nlsock_msg_next(&pos, &left) == (const void *)&b.words[0]);
	CHECK(nlsock_msg_next(&pos, &left) == (const void *)&b.words[5]);
	CHECK_EQ(left, 0);
	CHECK(nlsock_msg_next(&pos, &left) == NULL);
	static const uint32_t bad[] = { 0, 15, 41, 0x80000000u, 0xffffffffu };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		b.words[0] = bad[i];
		pos = (const uint8_t *)b.words;
		left = 40;
		CHECK_MSG(nlsock_msg_next(&pos, &left) == NULL, "length %u accepted", bad[i]);
		CHECK_EQ(left, 40);
	}
}

/* ---- a real socket (rtnetlink needs no privileges to read) ---- */

static int count_link(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(*(unsigned *)data)++;
	return 0;
}

static int zero_count(void *data)
{
	*(unsigned *)data = 0;
	return 0;
}

TEST(live_request_and_dump)
{
	const struct nlsock_config cfg = {
		.protocol = NETLINK_ROUTE, .name = "test", .refusal_level = LOG_LVL_WARN,
	};
	struct nlsock *s = (struct nlsock *)1;
	int rc = nlsock_open(&cfg, &s);
	if (rc < 0) {
		CHECK(s == NULL);
		harness_skip("no rtnetlink socket here");
		return;
	}
	union {
		char buf[256];
		struct nlmsghdr align;
	} req;
	unsigned links = 0, restarts = 99;
	const struct nlsock_expect e = {
		.type = RTM_NEWLINK, .cb = count_link, .data = &links, .what = "listing links",
	};
	const struct nlsock_retry retry = { .tries = 8, .give_up = NLSOCK_FAIL, .begin = zero_count };
	uint32_t seqs[3];
	for (int i = 0; i < 3; i++) {
		if (i == 2)
			CHECK_EQ(nlsock_reset(s), 0); /* the next request starts clean */
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(req.buf);
		nlh->nlmsg_type = RTM_GETLINK;
		struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
		ifi->ifi_family = AF_UNSPEC;
		CHECK_EQ(nlsock_dump(s, nlh, &e, &retry, &restarts), 0);
		CHECK(links >= 1); /* lo at least */
		CHECK(restarts <= 7);
		seqs[i] = nlh->nlmsg_seq;
		CHECK(seqs[i] != 0);
		CHECK(nlh->nlmsg_flags & NLM_F_REQUEST);
	}
	CHECK(seqs[1] != seqs[0]); /* a fresh number per request */
	CHECK(seqs[2] != seqs[1]);
	CHECK(nlsock_fd(s) >= 0);
	nlsock_close(s);
	nlsock_close(NULL);
}
