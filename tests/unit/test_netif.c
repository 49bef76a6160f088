/* rtnetlink message decoding (netif.c) on hand-built messages: no socket,
 * no privileges. The live paths are covered by tests/netns/test_wgdev.sh. */
#include "harness.h"

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "sys/netif.h"

/* A 4-byte aligned message buffer. */
struct msgbuf {
	union {
		uint8_t b[1024];
		uint32_t align;
	};
};

static struct nlmsghdr *link_msg(struct msgbuf *m, uint16_t type, int index, unsigned flags,
				 const char *name, const char *kind)
{
	memset(m, 0, sizeof(*m));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(m->b);
	nlh->nlmsg_type = type;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = index;
	ifi->ifi_flags = flags;
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (kind) {
		struct nlattr *nest = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
		mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
		mnl_attr_nest_end(nlh, nest);
	}
	return nlh;
}

TEST(decodes_links)
{
	struct msgbuf m;
	struct netif_link l;
	CHECK(netif_link_from_msg(link_msg(&m, RTM_NEWLINK, 7, IFF_UP | IFF_RUNNING, "wg0",
					   "wireguard"), &l));
	CHECK_EQ(l.index, 7);
	CHECK_STR(l.name, "wg0");
	CHECK_STR(l.kind, "wireguard");
	CHECK(l.up);
	CHECK(netif_link_from_msg(link_msg(&m, RTM_DELLINK, 1, 0, "lo", NULL), &l));
	CHECK(!l.up);
	CHECK_STR(l.kind, "");
	/* kind longer than our field: truncated, still terminated */
	CHECK(netif_link_from_msg(link_msg(&m, RTM_NEWLINK, 2, 0, "x", "a-very-long-kind-name"), &l));
	CHECK_EQ(strlen(l.kind), sizeof(l.kind) - 1);
}

/* The tunnel's byte counters (driver_sense): IFLA_STATS64, also the
 * shorter struct of older kernels; too short to hold the byte counters,
 * or absent, means no stats. */
TEST(decodes_link_stats)
{
	struct msgbuf m;
	struct netif_link l;
	struct rtnl_link_stats64 st = { .rx_packets = 3, .tx_packets = 4, .rx_bytes = 1000,
					.tx_bytes = 2000 };
	struct nlmsghdr *nlh = link_msg(&m, RTM_NEWLINK, 7, IFF_UP, "wg0", NULL);
	mnl_attr_put(nlh, IFLA_STATS64, sizeof(st), &st);
	CHECK(netif_link_from_msg(nlh, &l));
	CHECK(l.has_stats);
	CHECK_EQ(l.rx_bytes, 1000);
	CHECK_EQ(l.tx_bytes, 2000);
	nlh = link_msg(&m, RTM_NEWLINK, 7, IFF_UP, "wg0", NULL);
	mnl_attr_put(nlh, IFLA_STATS64, 4 * sizeof(uint64_t), &st);
	CHECK(netif_link_from_msg(nlh, &l) && l.has_stats && l.tx_bytes == 2000);
	nlh = link_msg(&m, RTM_NEWLINK, 7, IFF_UP, "wg0", NULL);
	mnl_attr_put(nlh, IFLA_STATS64, 3 * sizeof(uint64_t), &st);
	CHECK(netif_link_from_msg(nlh, &l) && !l.has_stats);
	CHECK(netif_link_from_msg(link_msg(&m, RTM_NEWLINK, 7, IFF_UP, "wg0", NULL), &l));
	CHECK(!l.has_stats);
}

TEST(rejects_bad_links)
{
	struct msgbuf m;
	struct netif_link l;
	CHECK(!netif_link_from_msg(link_msg(&m, RTM_NEWLINK, 3, 0, NULL, NULL), &l)); /* no name */
	CHECK(!netif_link_from_msg(link_msg(&m, RTM_NEWLINK, 3, 0, "0123456789abcdef", NULL), &l));
	CHECK(!netif_link_from_msg(link_msg(&m, RTM_NEWADDR, 3, 0, "eth0", NULL), &l)); /* type */
	struct nlmsghdr *nlh = link_msg(&m, RTM_NEWLINK, 3, 0, "eth0", NULL);
	nlh->nlmsg_len = sizeof(*nlh) + 4; /* shorter than struct ifinfomsg */
	CHECK(!netif_link_from_msg(nlh, &l));
}

static struct nlmsghdr *addr_msg(struct msgbuf *m, uint8_t family, uint8_t prefix, int index,
				 const void *local, const void *address, size_t alen,
				 const uint32_t *flags)
{
	memset(m, 0, sizeof(*m));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(m->b);
	nlh->nlmsg_type = RTM_NEWADDR;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = family;
	ifa->ifa_prefixlen = prefix;
	ifa->ifa_scope = RT_SCOPE_LINK;
	ifa->ifa_flags = IFA_F_PERMANENT;
	ifa->ifa_index = (uint32_t)index;
	if (address)
		mnl_attr_put(nlh, IFA_ADDRESS, alen, address);
	if (local)
		mnl_attr_put(nlh, IFA_LOCAL, alen, local);
	if (flags)
		mnl_attr_put_u32(nlh, IFA_FLAGS, *flags);
	return nlh;
}

TEST(decodes_addresses)
{
	struct msgbuf m;
	struct netif_addr a;
	char s[WL_ADDR_STR_MAX];
	static const uint8_t v6[16] = { 0xfe, 0x80, [15] = 1 };
	uint32_t fl = IFA_F_NODAD | IFA_F_PERMANENT | IFA_F_NOPREFIXROUTE; /* > 8 bits */
	CHECK(netif_addr_from_msg(addr_msg(&m, AF_INET6, 64, 4, NULL, v6, 16, &fl), &a));
	CHECK_STR(wl_addr_str(&a.addr, s), "fe80::1");
	CHECK_EQ(a.prefix, 64);
	CHECK_EQ(a.ifindex, 4);
	CHECK_EQ(a.scope, RT_SCOPE_LINK);
	CHECK_EQ(a.flags, fl);
	/* without IFA_FLAGS the 8-bit header flags are used */
	CHECK(netif_addr_from_msg(addr_msg(&m, AF_INET6, 64, 4, NULL, v6, 16, NULL), &a));
	CHECK_EQ(a.flags, IFA_F_PERMANENT);
	/* point-to-point IPv4: IFA_LOCAL is ours, IFA_ADDRESS the far end */
	static const uint8_t mine[4] = { 10, 0, 0, 1 }, far[4] = { 10, 0, 0, 2 };
	CHECK(netif_addr_from_msg(addr_msg(&m, AF_INET, 32, 5, mine, far, 4, NULL), &a));
	CHECK_STR(wl_addr_str(&a.addr, s), "10.0.0.1");
}

/* The event watch: what concerns our link (ours), other links and any
 * address (moved), and our link's removal (gone). */
TEST(watch_notes_our_link_and_addresses)
{
	struct msgbuf m;
	static const uint8_t v6[16] = { 0xfe, 0x80, [15] = 1 };
	struct netif_events ev = { 0 };
	/* our link went down or up: ours, not gone, not moved */
	netif_watch_note(link_msg(&m, RTM_NEWLINK, 7, 0, "wg0", NULL), 7, &ev);
	CHECK(ev.ours && !ev.gone && !ev.moved);
	/* another link: moved only */
	ev = (struct netif_events){ 0 };
	netif_watch_note(link_msg(&m, RTM_NEWLINK, 3, IFF_UP, "eth0", NULL), 7, &ev);
	CHECK(!ev.ours && !ev.gone && ev.moved);
	/* our link deleted: gone */
	ev = (struct netif_events){ 0 };
	netif_watch_note(link_msg(&m, RTM_DELLINK, 7, 0, "wg0", NULL), 7, &ev);
	CHECK(ev.gone && !ev.ours);
	/* an address of ours deleted: ours and moved; of another link: moved */
	ev = (struct netif_events){ 0 };
	struct nlmsghdr *nlh = addr_msg(&m, AF_INET6, 64, 7, NULL, v6, 16, NULL);
	nlh->nlmsg_type = RTM_DELADDR;
	netif_watch_note(nlh, 7, &ev);
	CHECK(ev.ours && ev.moved && !ev.gone);
	ev = (struct netif_events){ 0 };
	netif_watch_note(addr_msg(&m, AF_INET6, 64, 3, NULL, v6, 16, NULL), 7, &ev);
	CHECK(!ev.ours && ev.moved);
	/* short messages and other types change nothing they cannot read */
	ev = (struct netif_events){ 0 };
	nlh = link_msg(&m, RTM_NEWLINK, 7, 0, "wg0", NULL);
	nlh->nlmsg_len = sizeof(*nlh) + 2;
	netif_watch_note(nlh, 7, &ev);
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_len = 200;
	netif_watch_note(nlh, 7, &ev);
	CHECK(!ev.ours && !ev.gone && !ev.moved);
	nlh = addr_msg(&m, AF_INET6, 64, 7, NULL, v6, 16, NULL);
	nlh->nlmsg_len = sizeof(*nlh) + 2;
	netif_watch_note(nlh, 7, &ev);
	CHECK(ev.moved && !ev.ours);
}

TEST(rejects_bad_addresses)
{
	struct msgbuf m;
	struct netif_addr a;
	static const uint8_t v4[4] = { 192, 0, 2, 1 }, v6[16] = { 0xfd };
	CHECK(!netif_addr_from_msg(addr_msg(&m, AF_INET, 33, 1, NULL, v4, 4, NULL), &a));
	CHECK(!netif_addr_from_msg(addr_msg(&m, AF_INET6, 129, 1, NULL, v6, 16, NULL), &a));
	CHECK(!netif_addr_from_msg(addr_msg(&m, AF_INET, 24, 1, NULL, v6, 16, NULL), &a));
	CHECK(!netif_addr_from_msg(addr_msg(&m, AF_INET6, 64, 1, NULL, v4, 4, NULL), &a));
	CHECK(!netif_addr_from_msg(addr_msg(&m, AF_INET, 24, 1, NULL, NULL, 4, NULL), &a));
	CHECK(!netif_addr_from_msg(addr_msg(&m, AF_PACKET, 0, 1, NULL, v4, 4, NULL), &a));
}

TEST(walks_buffers_safely)
{
	struct msgbuf m;
	memset(&m, 0, sizeof(m));
	/* two messages back to back; the second lacks its final padding */
	struct nlmsghdr *a = (struct nlmsghdr *)m.b;
	a->nlmsg_len = 20;
	a->nlmsg_type = 100;
	struct nlmsghdr *b = (struct nlmsghdr *)(m.b + 20);
	b->nlmsg_len = 18;
	b->nlmsg_type = 101;
	const uint8_t *pos = m.b;
	size_t left = 38;
	const struct nlmsghdr *n = netif_msg_next(&pos, &left);
	CHECK(n == a);
	n = netif_msg_next(&pos, &left);
	CHECK(n == b);
	CHECK_EQ(left, 0);
	CHECK(netif_msg_next(&pos, &left) == NULL);

	/* a length past the buffer, or one with the sign bit set (which
	 * libmnl's mnl_nlmsg_ok accepts), ends the walk */
	static const uint32_t bad_lens[] = { 0, 15, 41, 0x80000000u, 0xfffff614u };
	for (size_t i = 0; i < sizeof(bad_lens) / sizeof(bad_lens[0]); i++) {
		a->nlmsg_len = bad_lens[i];
		pos = m.b;
		left = 40;
		CHECK_MSG(netif_msg_next(&pos, &left) == NULL, "length %u accepted", bad_lens[i]);
		CHECK_EQ(left, 40);
	}
	pos = m.b;
	left = 15; /* shorter than a header */
	CHECK(netif_msg_next(&pos, &left) == NULL);
}

static struct nlmsghdr *route_msg(struct msgbuf *m, uint16_t type, uint8_t family,
				  uint8_t dst_len, const void *dst, const void *gw, size_t alen,
				  const uint32_t *oif, const uint32_t *prio, const uint32_t *table)
{
	memset(m, 0, sizeof(*m));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(m->b);
	nlh->nlmsg_type = type;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	rtm->rtm_dst_len = dst_len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_type = RTN_UNICAST;
	if (dst)
		mnl_attr_put(nlh, RTA_DST, alen, dst);
	if (gw)
		mnl_attr_put(nlh, RTA_GATEWAY, alen, gw);
	if (oif)
		mnl_attr_put_u32(nlh, RTA_OIF, *oif);
	if (prio)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, *prio);
	if (table)
		mnl_attr_put_u32(nlh, RTA_TABLE, *table);
	return nlh;
}

TEST(decodes_routes)
{
	struct msgbuf m;
	struct netif_route r;
	char s[WL_ADDR_STR_MAX];
	static const uint8_t gw[4] = { 10, 1, 0, 1 }, net[4] = { 10, 1, 0, 0 };
	uint32_t oif = 3, prio = 100, local = RT_TABLE_LOCAL;
	/* default route: no RTA_DST */
	CHECK(netif_route_from_msg(route_msg(&m, RTM_NEWROUTE, AF_INET, 0, NULL, gw, 4, &oif, &prio,
					     NULL), &r));
	CHECK_EQ(r.dst.family, AF_INET);
	CHECK_EQ(r.dst_len, 0);
	CHECK_STR(wl_addr_str(&r.dst, s), "0.0.0.0");
	CHECK_STR(wl_addr_str(&r.gateway, s), "10.1.0.1");
	CHECK_EQ(r.oif, 3);
	CHECK_EQ(r.priority, 100);
	CHECK_EQ(r.table, RT_TABLE_MAIN);
	CHECK_EQ(r.type, RTN_UNICAST);
	/* a connected route: destination, no gateway; RTA_TABLE wins */
	CHECK(netif_route_from_msg(route_msg(&m, RTM_NEWROUTE, AF_INET, 24, net, NULL, 4, &oif, NULL,
					     &local), &r));
	CHECK_STR(wl_addr_str(&r.dst, s), "10.1.0.0");
	CHECK_EQ(r.dst_len, 24);
	CHECK_EQ(r.gateway.family, 0);
	CHECK_EQ(r.priority, 0);
	CHECK_EQ(r.table, RT_TABLE_LOCAL);
	/* IPv6 default via fe80::1 */
	static const uint8_t gw6[16] = { 0xfe, 0x80, [15] = 1 };
	CHECK(netif_route_from_msg(route_msg(&m, RTM_DELROUTE, AF_INET6, 0, NULL, gw6, 16, NULL, NULL,
					     NULL), &r));
	CHECK_STR(wl_addr_str(&r.gateway, s), "fe80::1");
}

TEST(rejects_bad_routes)
{
	struct msgbuf m;
	struct netif_route r;
	static const uint8_t v4[4] = { 10, 1, 0, 1 }, v6[16] = { 0xfd };
	/* wrong message type, family, prefix length, attribute lengths */
	CHECK(!netif_route_from_msg(route_msg(&m, RTM_NEWADDR, AF_INET, 0, NULL, v4, 4, NULL, NULL,
					      NULL), &r));
	CHECK(!netif_route_from_msg(route_msg(&m, RTM_NEWROUTE, AF_PACKET, 0, NULL, v4, 4, NULL,
					      NULL, NULL), &r));
	CHECK(!netif_route_from_msg(route_msg(&m, RTM_NEWROUTE, AF_INET, 33, NULL, v4, 4, NULL, NULL,
					      NULL), &r));
	CHECK(!netif_route_from_msg(route_msg(&m, RTM_NEWROUTE, AF_INET, 0, NULL, v6, 16, NULL, NULL,
					      NULL), &r));
	CHECK(!netif_route_from_msg(route_msg(&m, RTM_NEWROUTE, AF_INET6, 64, v4, NULL, 4, NULL, NULL,
					      NULL), &r));
	/* shorter than struct rtmsg */
	struct nlmsghdr *nlh = route_msg(&m, RTM_NEWROUTE, AF_INET, 0, NULL, NULL, 4, NULL, NULL, NULL);
	nlh->nlmsg_len = sizeof(*nlh) + 4;
	CHECK(!netif_route_from_msg(nlh, &r));
	/* a metric of the wrong size is ignored, not read past */
	nlh = route_msg(&m, RTM_NEWROUTE, AF_INET, 0, NULL, v4, 4, NULL, NULL, NULL);
	uint16_t two = 7;
	mnl_attr_put(nlh, RTA_PRIORITY, sizeof(two), &two);
	CHECK(netif_route_from_msg(nlh, &r));
	CHECK_EQ(r.priority, 0);
}
