/* The port mapper (src/sys/portmap.c): which external addresses may be
 * advertised, and its PCP state machine against a PCP server of the
 * test's own on 127.0.0.1 — grant, renewal at half the lifetime with the
 * same nonce, a changed port, a lost mapping, refusals and their hold
 * time, retransmissions and giving up, garbage and foreign answers,
 * nobody listening, a private external address, and the deletion at stop.
 * Time is virtual (the `now` handed to the mapper); the datagrams are
 * real. NAT-PMP and UPnP-IGD run against miniupnpd in
 * tests/netns/test_portmap.sh. */
#include "harness.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sys/pcp.h"
#include "sys/portmap.h"

static struct wl_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct wl_addr x;
	wl_addr_from_v4(&x, (const uint8_t[4]){ a, b, c, d });
	return x;
}

TEST(advertisable_addresses)
{
	static const struct {
		const char *addr;
		bool ok;
	} cases[] = {
		{ "203.0.113.2", true },  /* documentation ranges count as public */
		{ "192.0.2.1", true },	  { "198.51.100.7", true }, { "198.18.0.1", true },
		{ "8.8.8.8", true },	  { "100.63.255.255", true }, { "100.128.0.0", true },
		{ "172.15.255.255", true }, { "172.32.0.0", true },   { "192.167.1.1", true },
		{ "11.0.0.1", true },
		{ "10.0.0.1", false },	  { "10.255.255.255", false }, { "172.16.0.1", false },
		{ "172.31.255.254", false }, { "192.168.1.1", false }, { "100.64.0.1", false },
		{ "100.127.255.254", false }, { "127.0.0.1", false },  { "169.254.1.1", false },
		{ "0.0.0.0", false },	  { "224.0.0.1", false },   { "255.255.255.255", false },
		{ "2001:db8::1", false }, /* we map IPv4 only */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wl_addr a;
		CHECK(wl_addr_parse(cases[i].addr, &a));
		CHECK_MSG(portmap_addr_advertisable(&a) == cases[i].ok, "%s", cases[i].addr);
	}
	struct wl_addr none = { 0 };
	CHECK(!portmap_addr_advertisable(&none));
}

/* ---- a PCP server on 127.0.0.1 ---- */

struct server {
	int fd;
	uint16_t port;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	uint8_t last[PCP_MAX_LEN];
	size_t last_len;
};

static void server_open(struct server *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	CHECK(bind(s->fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(getsockname(s->fd, (struct sockaddr *)&a, &l) == 0);
	s->port = ntohs(a.sin_port);
}

/* Waits (up to 2 s) for one request; true if one came. */
static bool server_recv(struct server *s)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	if (poll(&p, 1, 2000) != 1)
		return false;
	s->peer_len = sizeof(s->peer);
	ssize_t n = recvfrom(s->fd, s->last, sizeof(s->last), 0, (struct sockaddr *)&s->peer,
			     &s->peer_len);
	s->last_len = n > 0 ? (size_t)n : 0;
	return n > 0;
}

/* Nothing waiting right now. */
static bool server_quiet(struct server *s)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	return poll(&p, 1, 50) == 0;
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) << 16 | rd16(p + 2); }

/* Answers the last request: result, lifetime, assigned address and port. */
static void server_answer(struct server *s, uint8_t result, uint32_t lifetime,
			  const struct wl_addr *ext, uint16_t port)
{
	uint8_t b[PCP_MAP_LEN] = { 2, 0x81, 0, result };
	b[4] = (uint8_t)(lifetime >> 24), b[5] = (uint8_t)(lifetime >> 16);
	b[6] = (uint8_t)(lifetime >> 8), b[7] = (uint8_t)lifetime;
	b[11] = 42; /* epoch */
	memcpy(b + 24, s->last + 24, 20); /* nonce, protocol, internal port */
	b[42] = (uint8_t)(port >> 8), b[43] = (uint8_t)port;
	b[54] = b[55] = 0xff;
	memcpy(b + 56, ext->bytes, 4);
	CHECK(sendto(s->fd, b, sizeof(b), 0, (struct sockaddr *)&s->peer, s->peer_len) ==
	      (ssize_t)sizeof(b));
}

static void server_send_raw(struct server *s, const void *buf, size_t len)
{
	CHECK(sendto(s->fd, buf, len, 0, (struct sockaddr *)&s->peer, s->peer_len) == (ssize_t)len);
}

static struct portmap *start(struct server *s, int64_t now)
{
	struct portmap *pm;
	CHECK_EQ(portmap_new(&pm), 0);
	struct portmap_params p = { .gateway = v4(127, 0, 0, 1), .internal_port = 51820,
				    .protocols = PORTMAP_PCP, .lifetime = 100,
				    .pcp_port = s ? s->port : 9 };
	CHECK_EQ(portmap_start(pm, now, &p), 0);
	return pm;
}

/* Lets the mapper read what the server sent (the answer is on its way). */
static void deliver(struct portmap *pm, int64_t now)
{
	int fd = portmap_fd(pm);
	if (fd >= 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		poll(&p, 1, 1000);
	}
	portmap_run(pm, now);
}

TEST(grants_renews_and_deletes)
{
	struct server s;
	server_open(&s);
	struct portmap *pm = start(&s, 0);
	struct wl_endpoint ep;
	CHECK(!portmap_endpoint(pm, 0, &ep));
	CHECK(server_recv(&s));
	CHECK_EQ(s.last_len, PCP_MAP_LEN);
	CHECK_EQ(s.last[0], 2);
	CHECK_EQ(s.last[1], PCP_OPCODE_MAP);
	CHECK_EQ(rd32(s.last + 4), 100);
	CHECK_EQ(rd16(s.last + 40), 51820);
	CHECK_EQ(rd16(s.last + 42), 51820);
	CHECK_EQ(s.last[36], IPPROTO_UDP);
	CHECK_EQ(s.last[59], 0); /* no suggested address: ::ffff:0.0.0.0 */
	CHECK_EQ(s.last[55], 0xff);
	CHECK_EQ(s.last[20], 127); /* the client address: ours, as the server sees it */
	uint8_t nonce[PCP_NONCE_LEN];
	memcpy(nonce, s.last + 24, sizeof(nonce));

	struct wl_addr pub = v4(203, 0, 113, 9);
	server_answer(&s, PCP_SUCCESS, 100, &pub, 40000);
	deliver(pm, 10);
	struct portmap_status st;
	portmap_get_status(pm, 10, &st);
	CHECK(st.running && st.mapped);
	CHECK_EQ(st.proto, PORTMAP_PCP);
	CHECK(portmap_endpoint(pm, 10, &ep));
	char e[WL_ENDPOINT_STR_MAX];
	CHECK_STR(wl_endpoint_str(&ep, e), "203.0.113.9:40000");
	CHECK_EQ(st.expires_at, 10 + 100000);
	/* renewal at half the lifetime, ±5 % */
	CHECK_MSG(st.renew_at >= 10 + 47500 && st.renew_at <= 10 + 52500, "renew at %lld",
		  (long long)st.renew_at);
	CHECK_EQ(portmap_next_deadline(pm), st.renew_at);
	CHECK_EQ(portmap_fd(pm), -1); /* nothing in flight */

	/* nothing happens before it is due */
	portmap_run(pm, st.renew_at - 1);
	CHECK(server_quiet(&s));
	/* the renewal: same nonce, the assigned port and address suggested */
	portmap_run(pm, st.renew_at);
	CHECK(server_recv(&s));
	CHECK(memcmp(s.last + 24, nonce, sizeof(nonce)) == 0);
	CHECK_EQ(rd16(s.last + 42), 40000);
	CHECK_EQ(s.last[56], 203);
	CHECK_EQ(s.last[59], 9);
	/* granted with another port: the new one is advertised */
	server_answer(&s, PCP_SUCCESS, 100, &pub, 40001);
	deliver(pm, st.renew_at + 5);
	CHECK(portmap_endpoint(pm, st.renew_at + 5, &ep));
	CHECK_EQ(ep.port, 40001);
	CHECK_EQ(portmap_get_stats(pm)->granted, 2);

	/* stop: the same mapping with lifetime 0 deletes it */
	portmap_stop(pm);
	CHECK(!portmap_running(pm));
	CHECK(server_recv(&s));
	CHECK_EQ(rd32(s.last + 4), 0);
	CHECK(memcmp(s.last + 24, nonce, sizeof(nonce)) == 0);
	CHECK(!portmap_endpoint(pm, st.renew_at + 6, &ep));
	CHECK_EQ(portmap_next_deadline(pm), PORTMAP_NEVER);
	portmap_free(pm);
	close(s.fd);
}

TEST(retransmits_then_gives_up_and_backs_off)
{
	struct server s;
	server_open(&s);
	struct portmap *pm = start(&s, 0);
	CHECK(server_recv(&s));
	CHECK_EQ(portmap_next_deadline(pm), 250);
	portmap_run(pm, 250);
	CHECK(server_recv(&s)); /* first retransmission */
	CHECK_EQ(portmap_next_deadline(pm), 750);
	portmap_run(pm, 750);
	CHECK(server_recv(&s)); /* second, after twice as long */
	CHECK_EQ(portmap_next_deadline(pm), 1500); /* the search gives up then */
	portmap_run(pm, 1500);
	CHECK(server_quiet(&s));
	struct portmap_status st;
	portmap_get_status(pm, 1500, &st);
	CHECK(st.running && !st.mapped);
	CHECK_EQ(portmap_fd(pm), -1);
	CHECK_EQ(portmap_next_deadline(pm), 1500 + 60000); /* a minute's backoff */
	CHECK_EQ(portmap_get_stats(pm)->requests, 3);
	/* the next search, then twice the backoff */
	portmap_run(pm, 61500);
	CHECK(server_recv(&s));
	portmap_run(pm, 61500 + 1500);
	CHECK_EQ(portmap_next_deadline(pm), 63000 + 120000);
	portmap_free(pm);
	close(s.fd);
}

TEST(drops_garbage_and_foreign_answers)
{
	struct server s;
	server_open(&s);
	struct portmap *pm = start(&s, 0);
	CHECK(server_recv(&s));
	uint8_t req[PCP_MAP_LEN];
	memcpy(req, s.last, sizeof(req));
	server_send_raw(&s, "garbage", 7);
	deliver(pm, 1);
	/* an answer with another nonce: not to us */
	s.last[24] ^= 1;
	struct wl_addr pub = v4(203, 0, 113, 9);
	server_answer(&s, PCP_SUCCESS, 100, &pub, 40000);
	deliver(pm, 2);
	/* a request echoed back (R bit clear) */
	server_send_raw(&s, req, sizeof(req));
	deliver(pm, 3);
	const struct portmap_stats *c = portmap_get_stats(pm);
	CHECK_EQ(c->rx_bad, 2);
	CHECK_EQ(c->rx_foreign, 1);
	struct portmap_status st;
	portmap_get_status(pm, 3, &st);
	CHECK(!st.mapped);
	/* the real answer still counts */
	memcpy(s.last, req, sizeof(req));
	server_answer(&s, PCP_SUCCESS, 100, &pub, 40000);
	deliver(pm, 4);
	portmap_get_status(pm, 4, &st);
	CHECK(st.mapped);
	portmap_free(pm); /* stops (deletes) too */
	CHECK(server_recv(&s));
	CHECK_EQ(rd32(s.last + 4), 0);
	close(s.fd);
}

TEST(refusal_holds_for_its_lifetime)
{
	struct server s;
	server_open(&s);
	struct portmap *pm = start(&s, 0);
	CHECK(server_recv(&s));
	struct wl_addr pub = v4(203, 0, 113, 9);
	server_answer(&s, PCP_NOT_AUTHORIZED, 600, &pub, 0);
	deliver(pm, 5);
	struct portmap_status st;
	portmap_get_status(pm, 5, &st);
	CHECK(st.running && !st.mapped);
	CHECK_EQ(portmap_get_stats(pm)->refused, 1);
	CHECK_EQ(portmap_next_deadline(pm), 5 + 600000); /* longer than the backoff */
	/* an error hold longer than 30 minutes is cut to 30 minutes */
	portmap_run(pm, 600005);
	CHECK(server_recv(&s));
	server_answer(&s, PCP_NO_RESOURCES, 86400, &pub, 0);
	deliver(pm, 600010);
	CHECK_EQ(portmap_next_deadline(pm), 600010 + 30 * 60000);
	portmap_free(pm);
	close(s.fd);
}

TEST(lost_when_renewals_go_unanswered)
{
	struct server s;
	server_open(&s);
	struct portmap *pm = start(&s, 0);
	CHECK(server_recv(&s));
	struct wl_addr pub = v4(203, 0, 113, 9);
	server_answer(&s, PCP_SUCCESS, 100, &pub, 40000);
	deliver(pm, 0);
	struct portmap_status st;
	portmap_get_status(pm, 0, &st);
	CHECK(st.mapped);
	/* renewals go unanswered; retransmissions back off */
	int64_t t = st.renew_at;
	int sent = 0;
	while (t < st.expires_at) {
		portmap_run(pm, t);
		if (server_recv(&s))
			sent++;
		t = portmap_next_deadline(pm);
	}
	CHECK_MSG(sent >= 5 && sent <= 10, "%d renewal requests", sent);
	struct wl_endpoint ep;
	CHECK(portmap_endpoint(pm, st.expires_at - 1, &ep));
	CHECK(!portmap_endpoint(pm, st.expires_at, &ep)); /* expired: not advertised */
	portmap_run(pm, st.expires_at);
	CHECK_EQ(portmap_get_stats(pm)->lost, 1);
	portmap_get_status(pm, st.expires_at, &st);
	CHECK(st.running && !st.mapped);
	/* and the search starts over, with a new nonce */
	uint8_t old[PCP_NONCE_LEN];
	memcpy(old, s.last + 24, sizeof(old));
	CHECK(server_recv(&s));
	CHECK(memcmp(old, s.last + 24, sizeof(old)) != 0);
	CHECK_EQ(rd32(s.last + 4), 100);
	portmap_free(pm);
	close(s.fd);
}

TEST(private_mapping_is_kept_but_not_advertised)
{
	struct server s;
	server_open(&s);
	struct portmap *pm = start(&s, 0);
	CHECK(server_recv(&s));
	struct wl_addr cgn = v4(100, 64, 1, 2);
	server_answer(&s, PCP_SUCCESS, 100, &cgn, 40000);
	deliver(pm, 1);
	struct portmap_status st;
	portmap_get_status(pm, 1, &st);
	CHECK(st.mapped);
	struct wl_endpoint ep;
	CHECK(!portmap_endpoint(pm, 1, &ep));
	portmap_free(pm);
	close(s.fd);
}

TEST(nobody_listening)
{
	/* a closed port on 127.0.0.1 answers with ICMP port unreachable */
	struct server s;
	server_open(&s);
	uint16_t port = s.port;
	close(s.fd);
	s.port = port;
	struct portmap *pm = start(&s, 0);
	int fd = portmap_fd(pm);
	CHECK(fd >= 0);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	poll(&p, 1, 1000); /* the error is readable */
	portmap_run(pm, 1);
	struct portmap_status st;
	portmap_get_status(pm, 1, &st);
	CHECK(st.running && !st.mapped);
	CHECK_EQ(portmap_next_deadline(pm), 1 + 60000); /* gave up at once */
	portmap_free(pm);
}

TEST(start_checks_and_restarts)
{
	struct portmap *pm;
	CHECK_EQ(portmap_new(&pm), 0);
	struct portmap_params p = { .gateway = v4(127, 0, 0, 1), .internal_port = 0 };
	CHECK_EQ(portmap_start(pm, 0, &p), -EINVAL);
	p.internal_port = 51820;
	CHECK(wl_addr_parse("::1", &p.gateway));
	CHECK_EQ(portmap_start(pm, 0, &p), -EINVAL);
	CHECK(!portmap_running(pm));
	CHECK(portmap_params(pm) == NULL);
	struct server s;
	server_open(&s);
	p.gateway = v4(127, 0, 0, 1);
	p.pcp_port = s.port;
	p.protocols = PORTMAP_PCP;
	CHECK_EQ(portmap_start(pm, 0, &p), 0);
	CHECK(server_recv(&s));
	CHECK_EQ(portmap_params(pm)->lifetime, PORTMAP_LIFETIME_S); /* the default */
	/* the same again: nothing new is sent */
	CHECK_EQ(portmap_start(pm, 1, &p), 0);
	CHECK(server_quiet(&s));
	/* another port: a new search */
	p.internal_port = 51821;
	CHECK_EQ(portmap_start(pm, 2, &p), 0);
	CHECK(server_recv(&s));
	CHECK_EQ(rd16(s.last + 40), 51821);
	portmap_stop(pm);
	portmap_stop(pm); /* twice is fine */
	portmap_free(pm);
	portmap_free(NULL);
	close(s.fd);
	CHECK_STR(portmap_proto_name(PORTMAP_PCP), "PCP");
	CHECK_STR(portmap_proto_name(PORTMAP_NATPMP), "NAT-PMP");
	CHECK_STR(portmap_proto_name(PORTMAP_UPNP), "UPnP-IGD");
	CHECK_STR(portmap_proto_name(PORTMAP_ALL), "none");
}
