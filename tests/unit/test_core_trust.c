/* SPEC §7: receiving, trust evaluation (first opinion wins) and the
 * thresholds each kind of fact needs. */
#include <string.h>

#include "core_fixture.h"
#include "harness.h"
#include "wire/autoaddr.h"

enum { N_ = 1, S_ = 2, X_ = 3, Y_ = 4, O_ = 5 };

struct trust_case {
	const char *what;
	enum wl_trust s_trust;   /* sender's configured trust (UNSET = not configured) */
	enum wl_trust o_trust;   /* another configured peer's trust */
	bool s_in_dev, s_router;
	uint8_t attr;            /* fact kind */
	int subject;             /* X_ (in device) or Y_ (not) */
	bool accepted;
};

static const struct trust_case cases[] = {
	{ "known peer: endpoint", TRUST_UNSET, TRUST_UNSET, true, false, 'e', X_, true },
	{ "known peer: allowed", TRUST_UNSET, TRUST_UNSET, true, false, 'a', X_, false },
	{ "known peer: member", TRUST_UNSET, TRUST_UNSET, true, false, 'M', X_, false },
	{ "known peer: endpoint, subject unknown", TRUST_UNSET, TRUST_UNSET, true, false, 'e', Y_, false },
	{ "router: allowed", TRUST_UNSET, TRUST_UNSET, true, true, 'a', X_, true },
	{ "router: member", TRUST_UNSET, TRUST_UNSET, true, true, 'M', X_, true },
	{ "router: member of new peer", TRUST_UNSET, TRUST_UNSET, true, true, 'M', Y_, true },
	{ "router: endpoint of new peer", TRUST_UNSET, TRUST_UNSET, true, true, 'e', Y_, true },
	{ "router, but trust configured elsewhere", TRUST_UNSET, TRUST_MEMBERSHIP, true, true, 'a', X_, false },
	{ "router, trust elsewhere: endpoint", TRUST_UNSET, TRUST_MEMBERSHIP, true, true, 'e', X_, true },
	{ "config AllowedIPs: allowed", TRUST_ALLOWED_IPS, TRUST_UNSET, true, false, 'a', X_, true },
	{ "config AllowedIPs: member", TRUST_ALLOWED_IPS, TRUST_UNSET, true, false, 'M', X_, false },
	{ "config AllowedIPs: allowed, subject unknown", TRUST_ALLOWED_IPS, TRUST_UNSET, true, false, 'a', Y_, false },
	{ "config Untrusted wins over router", TRUST_UNTRUSTED, TRUST_UNSET, true, true, 'e', X_, false },
	{ "config Endpoint wins over router", TRUST_ENDPOINT, TRUST_UNSET, true, true, 'a', X_, false },
	{ "stranger", TRUST_UNSET, TRUST_UNSET, false, false, 'e', X_, false },
	{ "config Membership, not in device", TRUST_MEMBERSHIP, TRUST_UNSET, false, false, 'M', Y_, true },
	{ "config Endpoint, not in device", TRUST_ENDPOINT, TRUST_UNSET, false, false, 'e', X_, true },
};

static void make_fact(struct fact *f, uint8_t attr, const uint8_t subject[32])
{
	struct wl_endpoint ep;
	struct wl_cidr c;
	switch (attr) {
	case 'e':
		wl_endpoint_parse("203.0.113.7:51820", &ep);
		CHECK(fact_make_endpoint(f, subject, &ep, 100));
		break;
	case 'a':
		wl_cidr_parse("10.50.0.0/16", &c);
		CHECK(fact_make_cidr(f, subject, &c, 100));
		break;
	default:
		CHECK(fact_make_member_meta(f, subject, "x", -1, 100));
		break;
	}
}

static void run_case(const struct trust_case *tc)
{
	struct tnode n;
	uint8_t spriv[32], spub[32], xpriv[32], xpub[32], ypriv[32], ypub[32], opriv[32], opub[32];
	tkey(S_, spriv, spub);
	tkey(X_, xpriv, xpub);
	tkey(Y_, ypriv, ypub);
	tkey(O_, opriv, opub);
	tnode_config(&n, N_);
	struct engine_peer_config pc[2];
	memset(pc, 0, sizeof(pc));
	size_t npc = 0;
	if (tc->s_trust != TRUST_UNSET) {
		memcpy(pc[npc].public_key, spub, 32);
		pc[npc].trust = tc->s_trust;
		pc[npc].basic = WL_AUTO;
		npc++;
	}
	if (tc->o_trust != TRUST_UNSET) {
		memcpy(pc[npc].public_key, opub, 32);
		pc[npc].trust = tc->o_trust;
		pc[npc].basic = WL_AUTO;
		npc++;
	}
	n.cfg.peers = pc;
	n.cfg.n_peers = npc;
	if (tc->s_in_dev) {
		tnode_dev_peer(&n, spub, "192.0.2.2:51820", 0);
		if (tc->s_router)
			tnode_allow(&n, spub, "10.0.0.0/8");
	}
	tnode_dev_peer(&n, xpub, "192.0.2.3:51820", 0);
	tnode_start(&n, 0);
	tnode_tick(&n, 0);
	struct fact f;
	make_fact(&f, tc->attr, tc->subject == X_ ? xpub : ypub);
	uint8_t buf[WIRE_MAX_DATAGRAM];
	size_t len = tseal(spriv, n.pub, &f, 1, buf, sizeof(buf));
	CHECK(len > 0);
	CHECK_EQ(treceive(&n, 10, spub, buf, len), ENGINE_RX_OK);
	char val[FACT_VALUE_STR_MAX];
	bool got = thas_fact(n.e, f.attr, f.subject, fact_value_str(&f, val, sizeof(val)));
	CHECK_MSG(got == tc->accepted, "%s: accepted=%d, want %d", tc->what, got, tc->accepted);
	const struct engine_stats *st = engine_get_stats(n.e);
	CHECK_EQ(st->rx_accepted + st->rx_untrusted, 1);
	tnode_free(&n);
}

TEST(trust_table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
}

/* A node with one peer S in its device (S a router) and wg0 10.99.0.1/24. */
static void setup(struct tnode *n, uint8_t spriv[32], uint8_t spub[32])
{
	static const char *const wg[] = { "10.99.0.1/24", NULL };
	static const char *const eth[] = { "192.0.2.1/24", NULL };
	tkey(S_, spriv, spub);
	tnode_config(n, N_);
	tnode_iface(n, "wg0", true, true, wg);
	tnode_iface(n, "eth0", true, true, eth);
	tnode_dev_peer(n, spub, "192.0.2.2:51820", 0);
	tnode_allow(n, spub, "10.0.0.0/8");
	tnode_start(n, 0);
	tnode_tick(n, 0);
}

TEST(endpoint_through_tunnel_is_invalid)
{
	struct tnode n;
	uint8_t spriv[32], spub[32];
	setup(&n, spriv, spub);
	struct fact f[2];
	struct wl_endpoint in_tun, outside;
	wl_endpoint_parse("10.99.0.5:51820", &in_tun);
	wl_endpoint_parse("10.98.0.5:51820", &outside);
	fact_make_endpoint(&f[0], spub, &in_tun, 100);
	fact_make_endpoint(&f[1], spub, &outside, 100);
	uint8_t buf[WIRE_MAX_DATAGRAM];
	size_t len = tseal(spriv, n.pub, f, 2, buf, sizeof(buf));
	CHECK_EQ(treceive(&n, 10, spub, buf, len), ENGINE_RX_OK);
	CHECK(!thas_fact(n.e, ATTR_ENDPOINT_V4, spub, "10.99.0.5:51820"));
	CHECK(thas_fact(n.e, ATTR_ENDPOINT_V4, spub, "10.98.0.5:51820"));
	CHECK_EQ(engine_get_stats(n.e)->rx_invalid, 1);
	tnode_free(&n);
}

TEST(alive_not_stored_member_accepted_expired_dropped)
{
	struct tnode n;
	uint8_t spriv[32], spub[32], xpriv[32], xpub[32];
	setup(&n, spriv, spub);
	tkey(X_, xpriv, xpub);
	struct fact f[3];
	uint8_t boot[BOOT_ID_LEN] = { 1, 2, 3 };
	fact_make_alive(&f[0], spub, boot, 100);
	/* Deprecated Member: stored as MemberMetadata without attributes. */
	memset(&f[1], 0, sizeof(f[1]));
	f[1].attr = ATTR_MEMBER;
	f[1].ttl = 100;
	memcpy(f[1].subject, xpub, 32);
	struct wl_endpoint ep;
	wl_endpoint_parse("203.0.113.9:1", &ep);
	fact_make_endpoint(&f[2], spub, &ep, 0);
	uint8_t buf[WIRE_MAX_DATAGRAM];
	size_t len = tseal(spriv, n.pub, f, 3, buf, sizeof(buf));
	CHECK_EQ(treceive(&n, 10, spub, buf, len), ENGINE_RX_OK);
	CHECK(!thas_fact(n.e, ATTR_ALIVE, spub, NULL));
	CHECK(thas_fact(n.e, ATTR_MEMBER_META, xpub, ""));
	CHECK(!thas_fact(n.e, ATTR_ENDPOINT_V4, spub, "203.0.113.9:1"));
	const struct engine_stats *st = engine_get_stats(n.e);
	CHECK_EQ(st->rx_expired, 1);
	CHECK_EQ(st->rx_alive, 1);
	struct engine_peer_info pi;
	CHECK(engine_peer_info(n.e, spub, 20, &pi));
	CHECK(pi.alive && pi.has_boot_id);
	CHECK_MEM(pi.boot_id, boot, BOOT_ID_LEN);
	CHECK(!engine_peer_info(n.e, spub, 200000, &pi) || !pi.alive);
	/* The member fact makes X a valid peer: the next tick adds it. */
	tnode_tick(&n, 100);
	const struct engine_change *c = tchange(&n, xpub);
	CHECK(c != NULL && !(c->flags & (ENGINE_CHANGE_UPDATE_ONLY | ENGINE_CHANGE_REMOVE)));
	CHECK(thas_event(&n, ENGINE_EV_PEER_ADD, xpub));
	tnode_free(&n);
}

TEST(drops_counted_by_reason)
{
	struct tnode n;
	uint8_t spriv[32], spub[32], xpriv[32], xpub[32];
	setup(&n, spriv, spub);
	tkey(X_, xpriv, xpub);
	struct fact f;
	struct wl_endpoint ep;
	wl_endpoint_parse("203.0.113.9:1", &ep);
	fact_make_endpoint(&f, spub, &ep, 100);
	uint8_t buf[WIRE_MAX_DATAGRAM];
	size_t len = tseal(spriv, n.pub, &f, 1, buf, sizeof(buf));
	/* From the wrong auto address. */
	CHECK_EQ(treceive(&n, 10, xpub, buf, len), ENGINE_RX_BAD_SOURCE);
	/* Tampered inner byte. */
	buf[len - 1] ^= 1;
	CHECK_EQ(treceive(&n, 10, spub, buf, len), ENGINE_RX_BAD_SIG);
	/* Not a signed group at all. */
	CHECK_EQ(treceive(&n, 10, spub, (const uint8_t *)"hello", 5), ENGINE_RX_PARSE);
	/* Signed for someone else. */
	len = tseal(spriv, xpub, &f, 1, buf, sizeof(buf));
	CHECK_EQ(treceive(&n, 10, spub, buf, len), ENGINE_RX_BAD_SIG);
	/* Claiming to be ourselves. */
	uint8_t npriv[32], npub[32];
	tkey(N_, npriv, npub);
	len = tseal(npriv, n.pub, &f, 1, buf, sizeof(buf));
	CHECK_EQ(treceive(&n, 10, npub, buf, len), ENGINE_RX_BAD_SOURCE);
	const struct engine_stats *st = engine_get_stats(n.e);
	CHECK_EQ(st->rx_bad_source, 2);
	CHECK_EQ(st->rx_bad_sig, 2);
	CHECK_EQ(st->rx_parse, 1);
	CHECK_EQ(st->rx_ok, 0);
	CHECK_EQ(engine_fact_count(n.e) > 0, 1);
	CHECK(!thas_fact(n.e, ATTR_ENDPOINT_V4, spub, "203.0.113.9:1"));
	tnode_free(&n);
}

TEST(bad_fact_keeps_earlier_ones)
{
	struct tnode n;
	uint8_t spriv[32], spub[32];
	setup(&n, spriv, spub);
	struct fact f[2];
	struct wl_endpoint ep;
	wl_endpoint_parse("203.0.113.9:1", &ep);
	fact_make_endpoint(&f[0], spub, &ep, 100);
	fact_make_endpoint(&f[1], spub, &ep, 100);
	f[1].attr = 'z'; /* unknown attribute */
	uint8_t buf[WIRE_MAX_DATAGRAM];
	size_t len = tseal(spriv, n.pub, f, 2, buf, sizeof(buf));
	CHECK_EQ(treceive(&n, 10, spub, buf, len), ENGINE_RX_OK);
	CHECK(thas_fact(n.e, ATTR_ENDPOINT_V4, spub, "203.0.113.9:1"));
	CHECK_EQ(engine_get_stats(n.e)->rx_fact_parse, 1);
	tnode_free(&n);
}
