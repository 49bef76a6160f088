/* The port mapper (see portmap.h): PCP, then NAT-PMP, then UPnP-IGD. */
#include "sys/portmap.h"

#include <errno.h>
#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>
#include <natpmp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sys/log.h"
#include "sys/loglimit.h"
#include "sys/pcp.h"
#include "sys/ssdp.h"

/* PCP: first retransmission after this, then doubling (RFC 6887 §8.1.1
 * starts at 3 s; a gateway on our own LAN answers in milliseconds, and a
 * search that gives up sooner reaches the next protocol sooner). */
#define PCP_RETX_MS 250
#define PCP_RETX_MAX_MS 64000
/* How long one protocol of a search may go unanswered before the next one
 * is tried (renewals keep trying until the mapping expires). */
#define SEARCH_PCP_MS 1500
#define SEARCH_NATPMP_MS 2000
/* After a search found nothing: wait this long, doubling up to the cap. */
#define BACKOFF_MIN_MS 60000
#define BACKOFF_MAX_MS (16 * 60000)
/* A PCP error holds for its lifetime, but we look again at least this
 * often. */
#define REFUSAL_HOLD_MAX_MS (30 * 60000)
/* A renewal that got no answer (NAT-PMP's own retries ran out, UPnP
 * failed) is tried again after this, while the mapping lasts. */
#define RENEW_RETRY_MS 60000
/* SSDP: the search is sent again after this, and given up after
 * PORTMAP_UPNP_DISCOVER_MS. */
#define SSDP_RETX_MS 250
/* How long stop waits for the answer to a deletion. */
#define DELETE_WAIT_MS 250
/* Renew no sooner than this after a grant, whatever the lifetime. */
#define RENEW_MIN_MS 1000

enum pm_state {
	PM_IDLE,   /* stopped */
	PM_SEARCH, /* trying protocols in turn (cur), no mapping */
	PM_MAPPED, /* a mapping; renewing it when cur != 0 */
	PM_WAIT,   /* every protocol failed; the next search at retry_at */
};

struct portmap {
	enum pm_state state;
	struct portmap_params p;
	char gw_str[WL_ADDR_STR_MAX];

	/* The request in flight. */
	enum portmap_proto cur; /* 0: none */
	unsigned tried;         /* protocols tried in this search */
	int64_t retx_at, give_up_at;
	unsigned retx;
	char notes[320];        /* why each protocol of this search failed */

	/* PCP */
	int pcp_fd;
	struct wl_addr client; /* our address towards the gateway */
	struct pcp_map req;

	/* NAT-PMP */
	natpmp_t np;
	bool np_open;
	int np_step; /* 0: asked for the public address; 1: for the mapping */
	struct wl_addr np_public;

	/* UPnP-IGD: the SSDP socket of a search, then the device found, kept
	 * for renewals and the deletion */
	int ssdp_fd;
	bool upnp_have;
	struct UPNPUrls urls;
	struct IGDdatas igd;
	char lanaddr[64];

	/* The mapping. */
	bool mapped;
	enum portmap_proto mproto;
	struct wl_endpoint ext;
	uint32_t lifetime;
	int64_t renew_at, expires_at;

	int64_t retry_at, backoff_ms;
	char last_refusal[160];
	struct portmap_stats st;
	/* Answers we drop are logged through this (one per datagram
	 * otherwise: sys/loglimit.h). */
	struct log_limit rl_drop;
};

const char *portmap_proto_name(enum portmap_proto p)
{
	switch (p) {
	case PORTMAP_PCP: return "PCP";
	case PORTMAP_NATPMP: return "NAT-PMP";
	case PORTMAP_UPNP: return "UPnP-IGD";
	default: return "none";
	}
}

bool portmap_addr_advertisable(const struct wl_addr *a)
{
	return a->family == AF_INET && wl_addr_is_global_unicast(a) && !wl_addr_is_private(a);
}

int portmap_new(struct portmap **out)
{
	*out = NULL;
	struct portmap *pm = calloc(1, sizeof(*pm));
	if (!pm)
		return -ENOMEM;
	pm->pcp_fd = -1;
	pm->ssdp_fd = -1;
	pm->backoff_ms = BACKOFF_MIN_MS;
	pm->rl_drop = (struct log_limit)LOG_LIMIT_INIT("port mapping: dropped PCP answers");
	*out = pm;
	return 0;
}

void portmap_free(struct portmap *pm)
{
	if (!pm)
		return;
	portmap_stop(pm);
	free(pm);
}

static void note(struct portmap *pm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct portmap *pm, const char *fmt, ...)
{
	size_t n = strlen(pm->notes);
	if (n + 3 >= sizeof(pm->notes))
		return;
	if (n) {
		memcpy(pm->notes + n, "; ", 3);
		n += 2;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pm->notes + n, sizeof(pm->notes) - n, fmt, ap);
	va_end(ap);
}

/* ---- resources of each protocol ---- */

static void pcp_close(struct portmap *pm)
{
	if (pm->pcp_fd >= 0)
		close(pm->pcp_fd);
	pm->pcp_fd = -1;
}

static void np_close(struct portmap *pm)
{
	if (pm->np_open)
		closenatpmp(&pm->np);
	pm->np_open = false;
}

static void ssdp_close(struct portmap *pm)
{
	if (pm->ssdp_fd >= 0)
		close(pm->ssdp_fd);
	pm->ssdp_fd = -1;
}

static void upnp_forget(struct portmap *pm)
{
	if (pm->upnp_have)
		FreeUPNPUrls(&pm->urls);
	pm->upnp_have = false;
}

/* Everything but what the mapping in hand needs for renewal and deletion. */
static void close_unused(struct portmap *pm)
{
	enum portmap_proto keep = pm->mapped ? pm->mproto : 0;
	if (keep != PORTMAP_PCP)
		pcp_close(pm);
	if (keep != PORTMAP_NATPMP)
		np_close(pm);
	if (keep != PORTMAP_UPNP)
		upnp_forget(pm);
	ssdp_close(pm);
}

/* ---- outcomes ---- */

static void next_protocol(struct portmap *pm, int64_t now);
static void begin_search(struct portmap *pm, int64_t now);

static int64_t jittered_half(uint32_t lifetime_s)
{
	/* half the lifetime, ±5 % */
	int64_t half = (int64_t)lifetime_s * 500;
	int64_t ms = half * (950 + (int64_t)randombytes_uniform(101)) / 1000;
	return ms < RENEW_MIN_MS ? RENEW_MIN_MS : ms;
}

static void granted(struct portmap *pm, int64_t now, enum portmap_proto proto,
		    const struct wl_endpoint *ext, uint32_t lifetime)
{
	char e[WL_ENDPOINT_STR_MAX], o[WL_ENDPOINT_STR_MAX];
	const char *private = portmap_addr_advertisable(&ext->addr)
				      ? ""
				      : " (a private address: not advertised)";
	if (!pm->mapped)
		log_notice("port mapping granted by %s (%s): %s -> port %u for %u s%s", pm->gw_str,
			   portmap_proto_name(proto), wl_endpoint_str(ext, e), pm->p.internal_port,
			   lifetime, private);
	else if (!wl_endpoint_equal(ext, &pm->ext) || proto != pm->mproto)
		log_notice("port mapping changed by %s (%s): %s (was %s)%s", pm->gw_str,
			   portmap_proto_name(proto), wl_endpoint_str(ext, e),
			   wl_endpoint_str(&pm->ext, o), private);
	else
		log_debug("port mapping %s renewed by %s (%s) for %u s", wl_endpoint_str(ext, e),
			  pm->gw_str, portmap_proto_name(proto), lifetime);
	pm->st.granted++;
	pm->state = PM_MAPPED;
	pm->mapped = true;
	pm->mproto = proto;
	pm->ext = *ext;
	pm->lifetime = lifetime;
	pm->expires_at = now + (int64_t)lifetime * 1000;
	pm->renew_at = now + jittered_half(lifetime);
	pm->cur = 0;
	pm->backoff_ms = BACKOFF_MIN_MS;
	pm->last_refusal[0] = '\0';
	close_unused(pm);
}

static void search_failed(struct portmap *pm, int64_t now, int64_t hold_ms)
{
	int64_t wait = pm->backoff_ms > hold_ms ? pm->backoff_ms : hold_ms;
	log_debug("no port mapping from %s (%s); next try in %lld s", pm->gw_str,
		  pm->notes[0] ? pm->notes : "nothing to try", (long long)(wait / 1000));
	pm->state = PM_WAIT;
	pm->cur = 0;
	pm->retry_at = now + wait;
	pm->backoff_ms = pm->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : pm->backoff_ms * 2;
	close_unused(pm);
}

static void lost(struct portmap *pm, int64_t now, const char *why)
{
	char e[WL_ENDPOINT_STR_MAX];
	log_notice("port mapping lost: %s (%s) %s; %s is no longer advertised", pm->gw_str,
		   portmap_proto_name(pm->mproto), why, wl_endpoint_str(&pm->ext, e));
	pm->st.lost++;
	pm->mapped = false;
	pm->cur = 0;
	close_unused(pm);
	begin_search(pm, now);
}

/* An error answer: hold_ms is how long the server says it holds. */
static void refused(struct portmap *pm, int64_t now, enum portmap_proto proto, const char *reason,
		    int64_t hold_ms)
{
	pm->st.refused++;
	if (pm->mapped) {
		char why[200];
		snprintf(why, sizeof(why), "refused to renew it: %s", reason);
		lost(pm, now, why);
		return;
	}
	char line[sizeof(pm->last_refusal)];
	snprintf(line, sizeof(line), "%s: %s", portmap_proto_name(proto), reason);
	if (strcmp(line, pm->last_refusal) != 0)
		log_notice("port mapping refused by %s (%s): %s", pm->gw_str,
			   portmap_proto_name(proto), reason);
	else
		log_debug("port mapping refused by %s (%s): %s", pm->gw_str,
			  portmap_proto_name(proto), reason);
	memcpy(pm->last_refusal, line, sizeof(line));
	note(pm, "%s refused: %s", portmap_proto_name(proto), reason);
	pm->cur = 0;
	/* The other protocols may think otherwise; if none does, wait at
	 * least as long as this refusal holds. */
	unsigned left = pm->p.protocols & ~pm->tried;
	if (left)
		next_protocol(pm, now);
	else
		search_failed(pm, now, hold_ms > REFUSAL_HOLD_MAX_MS ? REFUSAL_HOLD_MAX_MS : hold_ms);
}

/* The protocol in flight got no answer in time. */
static void unanswered(struct portmap *pm, int64_t now, const char *what)
{
	pm->cur = 0;
	if (pm->mapped && now < pm->expires_at) {
		/* a renewal: try again later, as long as the mapping lasts */
		pm->renew_at = now + RENEW_RETRY_MS;
		log_debug("port mapping: renewing with %s: %s", pm->gw_str, what);
		return;
	}
	if (pm->mapped) {
		lost(pm, now, "did not renew it before it expired");
		return;
	}
	note(pm, "%s", what);
	next_protocol(pm, now);
}

/* ---- PCP ---- */

static uint16_t pcp_port(const struct portmap *pm)
{
	return pm->p.pcp_port ? pm->p.pcp_port : PCP_SERVER_PORT;
}

static int pcp_open(struct portmap *pm)
{
	if (pm->pcp_fd >= 0)
		return 0;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct wl_endpoint server = { .addr = pm->p.gateway, .port = pcp_port(pm) };
	struct sockaddr_storage ss, me;
	socklen_t sl = wl_endpoint_to_sockaddr(&server, &ss), ml = sizeof(me);
	struct wl_endpoint mine;
	int rc = 0;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    getsockname(fd, (struct sockaddr *)&me, &ml) < 0)
		rc = -errno;
	else if (!wl_endpoint_from_sockaddr((struct sockaddr *)&me, &mine))
		rc = -EAFNOSUPPORT;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	pm->client = mine.addr;
	pm->pcp_fd = fd;
	return 0;
}

static int pcp_send(struct portmap *pm)
{
	uint8_t buf[PCP_MAP_LEN];
	size_t n = pcp_build_map(buf, sizeof(buf), &pm->client, &pm->req);
	if (n == 0)
		return -EINVAL;
	pm->st.requests++;
	return send(pm->pcp_fd, buf, n, 0) < 0 ? -errno : 0;
}

/* Sends a MAP request: a new one (fresh nonce) in a search, the mapping's
 * own (same nonce, its port suggested) in a renewal. */
static int pcp_begin(struct portmap *pm, int64_t now)
{
	int rc = pcp_open(pm);
	if (rc < 0)
		return rc;
	if (!pm->mapped) {
		randombytes_buf(pm->req.nonce, sizeof(pm->req.nonce));
		pm->req.external_port = pm->p.internal_port;
		memset(&pm->req.external, 0, sizeof(pm->req.external));
	} else {
		pm->req.external_port = pm->ext.port;
		pm->req.external = pm->ext.addr;
	}
	pm->req.protocol = IPPROTO_UDP;
	pm->req.internal_port = pm->p.internal_port;
	pm->req.lifetime = pm->p.lifetime;
	pm->cur = PORTMAP_PCP;
	pm->retx = 0;
	pm->retx_at = now + PCP_RETX_MS;
	pm->give_up_at = pm->mapped ? pm->expires_at : now + SEARCH_PCP_MS;
	rc = pcp_send(pm);
	/* ECONNREFUSED here is an earlier ICMP; the reading sees it too. */
	return rc == -ECONNREFUSED ? 0 : rc;
}

static void pcp_answer(struct portmap *pm, int64_t now, const uint8_t *buf, size_t len)
{
	struct pcp_response r;
	enum pcp_status s = pcp_parse_map_response(buf, len, &pm->req, &r);
	if (s == PCP_E_NATPMP) {
		/* RFC 6887 §9: the server speaks only NAT-PMP. */
		note(pm, "PCP: the gateway speaks NAT-PMP only");
		pm->cur = 0;
		if (pm->mapped) /* cannot happen with a PCP mapping; be safe */
			lost(pm, now, "stopped speaking PCP");
		else
			next_protocol(pm, now);
		return;
	}
	if (s == PCP_E_NONCE || s == PCP_E_MISMATCH) {
		pm->st.rx_foreign++;
		log_limited(&pm->rl_drop, now, LOG_LVL_DEBUG,
			    "port mapping: dropped a PCP answer from %s: %s", pm->gw_str,
			    pcp_status_str(s));
		return;
	}
	if (s != PCP_OK) {
		pm->st.rx_bad++;
		log_limited(&pm->rl_drop, now, LOG_LVL_DEBUG,
			    "port mapping: dropped a %zu-byte PCP answer from %s: %s", len,
			    pm->gw_str, pcp_status_str(s));
		return;
	}
	if (r.result == PCP_SUCCESS) {
		if (r.lifetime == 0) {
			refused(pm, now, PORTMAP_PCP, "granted a lifetime of 0", 0);
			return;
		}
		struct wl_endpoint ext = { .addr = r.map.external, .port = r.map.external_port };
		granted(pm, now, PORTMAP_PCP, &ext, r.lifetime);
		return;
	}
	if (r.result == PCP_UNSUPP_VERSION && !pm->mapped) {
		note(pm, "PCP: unsupported version");
		pm->cur = 0;
		next_protocol(pm, now);
		return;
	}
	refused(pm, now, PORTMAP_PCP, pcp_result_name(r.result), (int64_t)r.lifetime * 1000);
}

static void pcp_read(struct portmap *pm, int64_t now)
{
	uint8_t buf[PCP_MAX_LEN + 4];
	while (pm->pcp_fd >= 0) {
		ssize_t n = recv(pm->pcp_fd, buf, sizeof(buf), MSG_TRUNC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECONNREFUSED && pm->cur == PORTMAP_PCP && !pm->mapped) {
				/* Nobody listens on 5351: NAT-PMP neither. */
				note(pm, "PCP and NAT-PMP: nothing listens on port %u", pcp_port(pm));
				pm->tried |= PORTMAP_NATPMP;
				pm->cur = 0;
				pcp_close(pm);
				next_protocol(pm, now);
			}
			return; /* EAGAIN, or an error the timers deal with */
		}
		if (pm->cur != PORTMAP_PCP)
			continue; /* a late answer: nothing asked */
		if ((size_t)n > sizeof(buf)) {
			pm->st.rx_bad++;
			continue;
		}
		pcp_answer(pm, now, buf, (size_t)n);
	}
}

static void pcp_timer(struct portmap *pm, int64_t now)
{
	if (now >= pm->give_up_at) {
		unanswered(pm, now, "PCP: no answer");
		return;
	}
	if (now < pm->retx_at)
		return;
	int rc = pcp_send(pm);
	if (rc < 0 && rc != -ECONNREFUSED)
		log_debug("port mapping: sending to %s: %s", pm->gw_str, strerror(-rc));
	pm->retx++;
	int64_t step = (int64_t)PCP_RETX_MS << (pm->retx < 9 ? pm->retx : 9);
	pm->retx_at = now + (step > PCP_RETX_MAX_MS ? PCP_RETX_MAX_MS : step);
}

/* ---- NAT-PMP (libnatpmp) ---- */

static const char *np_error(int r)
{
	switch (r) {
	case NATPMP_ERR_UNSUPPORTEDVERSION: return "unsupported version";
	case NATPMP_ERR_UNSUPPORTEDOPCODE: return "unsupported opcode";
	case NATPMP_ERR_NOTAUTHORIZED: return "not authorized";
	case NATPMP_ERR_NETWORKFAILURE: return "network failure";
	case NATPMP_ERR_OUTOFRESOURCES: return "out of resources";
	case NATPMP_ERR_UNDEFINEDERROR: return "undefined error";
	default: return "error";
	}
}

static void np_schedule(struct portmap *pm, int64_t now)
{
	struct timeval tv;
	if (getnatpmprequesttimeout(&pm->np, &tv) == 0) {
		int64_t ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
		pm->retx_at = now + (ms < 0 ? 0 : ms) + 1;
	} else {
		pm->retx_at = now + PCP_RETX_MS;
	}
}

static int np_send_mapping(struct portmap *pm, uint16_t suggested, uint32_t lifetime)
{
	pm->st.requests++;
	int r = sendnewportmappingrequest(&pm->np, NATPMP_PROTOCOL_UDP, pm->p.internal_port,
					  suggested, lifetime);
	return r < 0 ? -EIO : 0;
}

static int np_begin(struct portmap *pm, int64_t now)
{
	if (!pm->np_open) {
		in_addr_t gw;
		memcpy(&gw, pm->p.gateway.bytes, sizeof(gw));
		if (initnatpmp(&pm->np, 1, gw) < 0)
			return -EIO;
		pm->np_open = true;
	}
	pm->st.requests++;
	if (sendpublicaddressrequest(&pm->np) < 0)
		return -EIO;
	pm->np_step = 0;
	pm->cur = PORTMAP_NATPMP;
	pm->give_up_at = pm->mapped ? pm->expires_at : now + SEARCH_NATPMP_MS;
	np_schedule(pm, now);
	return 0;
}

/* Reads an answer or retransmits when due (libnatpmp does both). */
static void np_step(struct portmap *pm, int64_t now)
{
	natpmpresp_t resp;
	int r = readnatpmpresponseorretry(&pm->np, &resp);
	int err = errno;
	if (r == NATPMP_TRYAGAIN) {
		np_schedule(pm, now);
		return;
	}
	if (r == 0 && pm->np_step == 0 && resp.type == NATPMP_RESPTYPE_PUBLICADDRESS) {
		wl_addr_from_v4(&pm->np_public, (const uint8_t *)&resp.pnu.publicaddress.addr);
		pm->np_step = 1;
		uint16_t suggested = pm->mapped ? pm->ext.port : pm->p.internal_port;
		if (np_send_mapping(pm, suggested, pm->p.lifetime) < 0) {
			unanswered(pm, now, "NAT-PMP: cannot send");
			return;
		}
		np_schedule(pm, now);
		return;
	}
	if (r == 0 && pm->np_step == 1 && resp.type == NATPMP_RESPTYPE_UDPPORTMAPPING) {
		if (resp.pnu.newportmapping.privateport != pm->p.internal_port) {
			pm->st.rx_foreign++;
			return;
		}
		if (resp.pnu.newportmapping.lifetime == 0 ||
		    resp.pnu.newportmapping.mappedpublicport == 0) {
			refused(pm, now, PORTMAP_NATPMP, "granted no port or no lifetime", 0);
			return;
		}
		struct wl_endpoint ext = { .addr = pm->np_public,
					   .port = resp.pnu.newportmapping.mappedpublicport };
		granted(pm, now, PORTMAP_NATPMP, &ext, resp.pnu.newportmapping.lifetime);
		return;
	}
	if (r == 0) { /* an answer of another type: not ours */
		pm->st.rx_foreign++;
		return;
	}
	if (r == NATPMP_ERR_RECVFROM && err == ECONNREFUSED) {
		pm->tried |= PORTMAP_NATPMP;
		unanswered(pm, now, "NAT-PMP: nothing listens on port 5351");
		np_close(pm);
		return;
	}
	if (r == NATPMP_ERR_NOGATEWAYSUPPORT) {
		unanswered(pm, now, "NAT-PMP: no answer");
		return;
	}
	if (r == NATPMP_ERR_WRONGPACKETSOURCE || r == NATPMP_ERR_RECVFROM) {
		pm->st.rx_bad++;
		return;
	}
	if (r == NATPMP_ERR_UNSUPPORTEDVERSION && !pm->mapped) {
		pm->cur = 0;
		note(pm, "NAT-PMP: unsupported version");
		next_protocol(pm, now);
		return;
	}
	refused(pm, now, PORTMAP_NATPMP, np_error(r), 0);
}

static void np_timer(struct portmap *pm, int64_t now)
{
	if (now >= pm->give_up_at) {
		unanswered(pm, now, "NAT-PMP: no answer");
		return;
	}
	if (now >= pm->retx_at)
		np_step(pm, now);
}

/* ---- UPnP-IGD (libminiupnpc, blocking with bounded waits) ---- */

/* Is url "http://GATEWAY[:port]/..."? Only the gateway's device is asked. */
static bool url_on_gateway(const struct portmap *pm, const char *url)
{
	static const char scheme[] = "http://";
	if (!url || strncmp(url, scheme, sizeof(scheme) - 1) != 0)
		return false;
	const char *host = url + sizeof(scheme) - 1;
	size_t n = strlen(pm->gw_str);
	return strncmp(host, pm->gw_str, n) == 0 &&
	       (host[n] == ':' || host[n] == '/' || host[n] == '\0');
}

/* Sends the SSDP search twice over: to the multicast group, as UDA says,
 * and to the gateway itself (a unicast search, answered without MX's
 * random delay). */
static void ssdp_send(struct portmap *pm)
{
	char buf[320], host[WL_ADDR_STR_MAX + 8];
	struct wl_endpoint gw = { .addr = pm->p.gateway, .port = SSDP_PORT }, group = gw;
	wl_addr_parse(SSDP_GROUP, &group.addr);
	const struct wl_endpoint *to[2] = { &gw, &group };
	for (int i = 0; i < 2; i++) {
		snprintf(host, sizeof(host), "%s:%u", i ? SSDP_GROUP : pm->gw_str, SSDP_PORT);
		size_t n = ssdp_build_search(buf, sizeof(buf), host, SSDP_IGD, i ? 1 : 0);
		struct sockaddr_storage ss;
		socklen_t sl = wl_endpoint_to_sockaddr(to[i], &ss);
		pm->st.requests++;
		if (n && sendto(pm->ssdp_fd, buf, n, 0, (struct sockaddr *)&ss, sl) < 0)
			log_debug("port mapping: SSDP search to %s: %s", host, strerror(errno));
	}
}

/* Starts a search for the gateway's IGD (non-blocking: the answer comes
 * through the poll loop). */
static int ssdp_begin(struct portmap *pm, int64_t now)
{
	ssdp_close(pm);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unsigned char ttl = 2;
	setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl));
	pm->ssdp_fd = fd;
	pm->cur = PORTMAP_UPNP;
	pm->retx_at = now + SSDP_RETX_MS;
	pm->give_up_at = now + PORTMAP_UPNP_DISCOVER_MS;
	ssdp_send(pm);
	return 0;
}

static void upnp_soap(struct portmap *pm, int64_t now);

/* An answer to the search: the gateway's device, whose description
 * libminiupnpc then reads (one HTTP request on the LAN). */
static void ssdp_read(struct portmap *pm, int64_t now)
{
	uint8_t buf[1500];
	char location[512];
	while (pm->ssdp_fd >= 0) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(pm->ssdp_fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		struct wl_endpoint src;
		if (!wl_endpoint_from_sockaddr((struct sockaddr *)&from, &src) ||
		    !wl_addr_equal(&src.addr, &pm->p.gateway))
			continue; /* another device's: we ask our gateway only */
		if (!ssdp_parse_response(buf, (size_t)n, location, sizeof(location)) ||
		    !url_on_gateway(pm, location)) {
			pm->st.rx_bad++;
			continue;
		}
		memset(&pm->urls, 0, sizeof(pm->urls));
		memset(&pm->igd, 0, sizeof(pm->igd));
		/* Not UPNP_GetValidIGD: it calls a gateway whose external
		 * address is in a reserved range "not connected", and we
		 * judge addresses ourselves (portmap_addr_advertisable). */
		if (UPNP_GetIGDFromUrl(location, &pm->urls, &pm->igd, pm->lanaddr,
				       sizeof(pm->lanaddr)) == 1 &&
		    pm->urls.controlURL && pm->igd.first.servicetype[0]) {
			pm->upnp_have = true;
			ssdp_close(pm);
			upnp_soap(pm, now);
			return;
		}
		FreeUPNPUrls(&pm->urls);
		pm->st.rx_bad++;
	}
}

static void ssdp_timer(struct portmap *pm, int64_t now)
{
	if (now >= pm->give_up_at) {
		ssdp_close(pm);
		char what[96];
		snprintf(what, sizeof(what), "UPnP-IGD: no gateway device answered within %d ms",
			 PORTMAP_UPNP_DISCOVER_MS);
		unanswered(pm, now, what);
		return;
	}
	if (now >= pm->retx_at) {
		ssdp_send(pm);
		pm->retx_at = now + SSDP_RETX_MS;
	}
}

/* UPnP by the device found: its external address, then the mapping (SOAP
 * calls over HTTP to the gateway: they block, briefly, on the LAN). */
static void upnp_soap(struct portmap *pm, int64_t now)
{
	pm->cur = 0;
	const char *url = pm->urls.controlURL, *svc = pm->igd.first.servicetype;
	char ip[40] = "";
	struct wl_addr ext_addr;
	int r = UPNP_GetExternalIPAddress(url, svc, ip);
	if (r != UPNPCOMMAND_SUCCESS || !wl_addr_parse(ip, &ext_addr) || ext_addr.family != AF_INET) {
		upnp_forget(pm); /* stale or broken: discover again next time */
		if (pm->mapped) {
			pm->renew_at = now + RENEW_RETRY_MS;
			return;
		}
		note(pm, "UPnP-IGD: no external address (%s)",
		     r != UPNPCOMMAND_SUCCESS ? strupnperror(r) : ip);
		next_protocol(pm, now);
		return;
	}
	char iport[8], eport[8], lease[16];
	uint16_t want = pm->mapped ? pm->ext.port : pm->p.internal_port;
	snprintf(iport, sizeof(iport), "%u", pm->p.internal_port);
	snprintf(eport, sizeof(eport), "%u", want);
	snprintf(lease, sizeof(lease), "%u", pm->p.lifetime);
	pm->st.requests++;
	r = UPNP_AddPortMapping(url, svc, eport, iport, pm->lanaddr, "wirelink", "UDP", NULL, lease);
	if (r == 718 && !pm->mapped) {
		/* ConflictInMappingEntry: the port is someone else's; let an
		 * IGDv2 pick one. */
		char got[8] = "";
		pm->st.requests++;
		r = UPNP_AddAnyPortMapping(url, svc, eport, iport, pm->lanaddr, "wirelink", "UDP",
					   NULL, lease, got);
		if (r == UPNPCOMMAND_SUCCESS)
			snprintf(eport, sizeof(eport), "%s", got);
	}
	if (r == 725) {
		/* OnlyPermanentLeasesSupported (IGDv1): a permanent one, still
		 * renewed on our schedule and deleted at the end. */
		pm->st.requests++;
		r = UPNP_AddPortMapping(url, svc, eport, iport, pm->lanaddr, "wirelink", "UDP", NULL,
					"0");
	}
	unsigned long port = strtoul(eport, NULL, 10);
	if (r != UPNPCOMMAND_SUCCESS || port == 0 || port > 65535) {
		if (r < 0) /* HTTP or protocol trouble: discover again */
			upnp_forget(pm);
		if (pm->mapped && r < 0) {
			pm->renew_at = now + RENEW_RETRY_MS;
			return;
		}
		char why[96];
		snprintf(why, sizeof(why), "%s (%d)", r ? strupnperror(r) : "bad port", r);
		refused(pm, now, PORTMAP_UPNP, why, 0);
		return;
	}
	struct wl_endpoint ext = { .addr = ext_addr, .port = (uint16_t)port };
	granted(pm, now, PORTMAP_UPNP, &ext, pm->p.lifetime);
}

/* ---- the search ---- */

static void next_protocol(struct portmap *pm, int64_t now)
{
	static const enum portmap_proto order[] = { PORTMAP_PCP, PORTMAP_NATPMP, PORTMAP_UPNP };
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		enum portmap_proto p = order[i];
		if (!(pm->p.protocols & p) || (pm->tried & p))
			continue;
		pm->tried |= p;
		int rc = 0;
		if (p == PORTMAP_PCP) {
			rc = pcp_begin(pm, now);
		} else if (p == PORTMAP_NATPMP) {
			rc = np_begin(pm, now);
		} else if (pm->upnp_have) {
			upnp_soap(pm, now);
			return;
		} else {
			rc = ssdp_begin(pm, now);
		}
		if (rc == 0)
			return;
		pm->cur = 0;
		note(pm, "%s: %s", portmap_proto_name(p), strerror(-rc));
	}
	search_failed(pm, now, 0);
}

static void begin_search(struct portmap *pm, int64_t now)
{
	pm->state = PM_SEARCH;
	pm->tried = 0;
	pm->notes[0] = '\0';
	next_protocol(pm, now);
}

/* A renewal by the mapping's own protocol. */
static void begin_renewal(struct portmap *pm, int64_t now)
{
	int rc = 0;
	switch (pm->mproto) {
	case PORTMAP_PCP: rc = pcp_begin(pm, now); break;
	case PORTMAP_NATPMP: rc = np_begin(pm, now); break;
	default:
		if (pm->upnp_have) {
			upnp_soap(pm, now);
			return;
		}
		rc = ssdp_begin(pm, now); /* it was forgotten after an HTTP failure */
		break;
	}
	if (rc < 0) {
		/* try again shortly, as long as the mapping lasts */
		pm->cur = 0;
		pm->renew_at = now + RENEW_RETRY_MS;
		log_debug("port mapping: renewing with %s: %s", pm->gw_str, strerror(-rc));
	}
}

/* ---- the public side ---- */

int portmap_start(struct portmap *pm, int64_t now, const struct portmap_params *p)
{
	struct portmap_params np = *p;
	if (!np.protocols)
		np.protocols = PORTMAP_ALL;
	if (!np.lifetime)
		np.lifetime = PORTMAP_LIFETIME_S;
	if (np.gateway.family != AF_INET || np.internal_port == 0)
		return -EINVAL;
	if (pm->state != PM_IDLE) {
		if (wl_addr_equal(&np.gateway, &pm->p.gateway) &&
		    np.internal_port == pm->p.internal_port && np.protocols == pm->p.protocols &&
		    np.lifetime == pm->p.lifetime && np.pcp_port == pm->p.pcp_port)
			return 0;
		portmap_stop(pm);
	}
	pm->p = np;
	wl_addr_str(&np.gateway, pm->gw_str);
	pm->backoff_ms = BACKOFF_MIN_MS;
	pm->last_refusal[0] = '\0';
	begin_search(pm, now);
	return 0;
}

static void wait_answer(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, DELETE_WAIT_MS) > 0) {
		uint8_t buf[PCP_MAX_LEN];
		(void)!recv(fd, buf, sizeof(buf), 0);
	}
}

void portmap_stop(struct portmap *pm)
{
	if (!pm || pm->state == PM_IDLE)
		return;
	if (pm->mapped) {
		char e[WL_ENDPOINT_STR_MAX];
		bool sent = false;
		if (pm->mproto == PORTMAP_PCP && pcp_open(pm) == 0) {
			/* §15: the same mapping with a lifetime of 0 deletes it */
			pm->req.lifetime = 0;
			sent = pcp_send(pm) == 0;
			if (sent)
				wait_answer(pm->pcp_fd);
		} else if (pm->mproto == PORTMAP_NATPMP && pm->np_open) {
			/* RFC 6886 §3.4: lifetime 0 and external port 0 */
			sent = np_send_mapping(pm, 0, 0) == 0;
			if (sent)
				wait_answer(pm->np.s);
		} else if (pm->mproto == PORTMAP_UPNP && pm->upnp_have) {
			char eport[8];
			snprintf(eport, sizeof(eport), "%u", pm->ext.port);
			sent = UPNP_DeletePortMapping(pm->urls.controlURL, pm->igd.first.servicetype,
						      eport, "UDP", NULL) == UPNPCOMMAND_SUCCESS;
		}
		log_info("port mapping %s %s (%s)", wl_endpoint_str(&pm->ext, e),
			 sent ? "removed" : "left to expire", portmap_proto_name(pm->mproto));
	}
	pm->mapped = false;
	pm->cur = 0;
	pm->state = PM_IDLE;
	close_unused(pm);
}

bool portmap_running(const struct portmap *pm)
{
	return pm->state != PM_IDLE;
}

const struct portmap_params *portmap_params(const struct portmap *pm)
{
	return pm->state != PM_IDLE ? &pm->p : NULL;
}

int portmap_fd(const struct portmap *pm)
{
	if (pm->cur == PORTMAP_PCP)
		return pm->pcp_fd;
	if (pm->cur == PORTMAP_NATPMP && pm->np_open)
		return pm->np.s;
	if (pm->cur == PORTMAP_UPNP)
		return pm->ssdp_fd;
	return -1;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

int64_t portmap_next_deadline(const struct portmap *pm)
{
	/* LOG_LIMIT_NEVER is PORTMAP_NEVER: nothing to sum up */
	int64_t d = log_limit_deadline(&pm->rl_drop);
	if (pm->state == PM_IDLE)
		return d;
	if (pm->cur)
		d = min64(pm->retx_at, pm->give_up_at);
	if (pm->state == PM_WAIT)
		d = min64(d, pm->retry_at);
	if (pm->mapped) {
		d = min64(d, pm->expires_at);
		if (!pm->cur)
			d = min64(d, pm->renew_at);
	}
	return d;
}

void portmap_run(struct portmap *pm, int64_t now)
{
	log_limit_flush(&pm->rl_drop, now);
	if (pm->state == PM_IDLE)
		return;
	/* Answers first: one may settle what a timer would otherwise do. */
	if (pm->pcp_fd >= 0)
		pcp_read(pm, now);
	if (pm->cur == PORTMAP_NATPMP)
		np_step(pm, now);
	if (pm->ssdp_fd >= 0)
		ssdp_read(pm, now);
	if (pm->mapped && now >= pm->expires_at) {
		lost(pm, now, "did not renew it before it expired");
		return;
	}
	if (pm->cur == PORTMAP_PCP)
		pcp_timer(pm, now);
	else if (pm->cur == PORTMAP_NATPMP)
		np_timer(pm, now);
	else if (pm->cur == PORTMAP_UPNP)
		ssdp_timer(pm, now);
	else if (pm->state == PM_WAIT && now >= pm->retry_at)
		begin_search(pm, now);
	else if (pm->state == PM_MAPPED && now >= pm->renew_at)
		begin_renewal(pm, now);
}

bool portmap_endpoint(const struct portmap *pm, int64_t now, struct wl_endpoint *out)
{
	if (!pm->mapped || now >= pm->expires_at || !portmap_addr_advertisable(&pm->ext.addr))
		return false;
	*out = pm->ext;
	return true;
}

void portmap_get_status(const struct portmap *pm, int64_t now, struct portmap_status *out)
{
	memset(out, 0, sizeof(*out));
	out->running = pm->state != PM_IDLE;
	out->mapped = pm->mapped && now < pm->expires_at;
	if (!out->mapped)
		return;
	out->proto = pm->mproto;
	out->external = pm->ext;
	out->lifetime = pm->lifetime;
	out->renew_at = pm->renew_at;
	out->expires_at = pm->expires_at;
}

const struct portmap_stats *portmap_get_stats(const struct portmap *pm)
{
	return &pm->st;
}
