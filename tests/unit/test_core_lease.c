/* Leases (src/core/lease.c) [ours]: what keeps leased copies alive when
 * HOLDs are lost. A receiver whose copies would lapse with no HOLD come
 * asks for one (a NACK with its record); a sender whose record matches
 * answers with a HOLD, not a new epoch. */
#include <string.h>

#include "core_fixture.h"
#include "harness.h"
#include "wire/lease.h"
#include "wire/packet.h"

enum { N_ = 1, P_ = 2, R_ = 3, Q_ = 4 };
#define S 1000

/* The lease messages of a kind that n sent to `to` at its last tick; the
 * last of them in *last. */
static int lease_sent(const struct tnode *n, const uint8_t to[32], uint8_t kind,
		      struct lease_msg *last)
{
	int k = 0;
	for (size_t i = 0; n->act && i < n->act->n_send; i++) {
		const struct engine_datagram *d = &n->act->send[i];
		struct packet pk;
		const char *why;
		if (d->kind != ENGINE_DG_FACTS || memcmp(d->peer, to, 32) != 0 ||
		    !packet_parse(d->data, d->len, &pk, &why))
			continue;
		struct cursor c;
		struct fact f;
		struct lease_msg m;
		packet_facts_begin(&pk, &c);
		while (packet_next_fact(&c, &f, &why) == 1)
			if (f.attr == ATTR_LEASE && lease_parse(&f, &m) && m.kind == kind) {
				if (last)
					*last = m;
				k++;
			}
	}
	return k;
}

/* Leaf N with router R (10.0.0.0/8) in its device, after its first tick;
 * Q is a peer R may tell N about. */
static void leaf_with_router(struct tnode *n, uint8_t rpriv[32], uint8_t rpub[32],
			     uint8_t qpub[32])
{
	uint8_t qpriv[32];
	tkey(R_, rpriv, rpub);
	tkey(Q_, qpriv, qpub);
	tnode_config(n, N_);
	static const char *const eth[] = { "192.0.2.1/24", NULL };
	tnode_iface(n, "eth0", true, true, eth);
	tnode_dev_peer(n, rpub, "192.0.2.3:51820", 0);
	tnode_allow(n, rpub, "10.0.0.0/8");
	tnode_start(n, 0);
	tnode_handshakes(n, 0);
	tnode_tick(n, 0);
}

/* Where Q is, as R tells it. */
static void q_at(struct fact *f, const uint8_t qpub[32], const char *endpoint)
{
	struct wl_endpoint ep;
	CHECK(wl_endpoint_parse(endpoint, &ep));
	CHECK(fact_make_endpoint(f, qpub, &ep, 255));
}

/* R tells N, at `at`, epoch `epoch`: Q at each of the k endpoints and,
 * unless hold is NULL (lost on the way), a HOLD of them for hold_ttl
 * seconds, also put in *hold. */
static void tell_epoch_for(struct tnode *n, const uint8_t rpriv[32], const uint8_t rpub[32],
			   const uint8_t qpub[32], int64_t at, uint32_t epoch,
			   const char *const *eps, size_t k, struct lease_msg *hold,
			   uint16_t hold_ttl)
{
	struct fact f[8];
	CHECK(k + 2 <= 8);
	struct lease_msg m = { .kind = LEASE_EPOCH, .epoch = epoch };
	lease_fact(&f[0], rpub, 0, &m);
	uint64_t digest = 0;
	for (size_t i = 0; i < k; i++) {
		q_at(&f[1 + i], qpub, eps[i]);
		digest ^= lease_hash(&f[1 + i]);
	}
	size_t nf = 1 + k;
	if (hold) {
		*hold = (struct lease_msg){ .kind = LEASE_HOLD, .epoch = epoch,
					    .count = (uint32_t)k, .digest = digest };
		lease_fact(&f[nf++], rpub, hold_ttl, hold);
	}
	uint8_t buf[WIRE_MAX_DATAGRAM];
	size_t len = tseal(rpriv, n->pub, f, nf, buf, sizeof(buf));
	CHECK_EQ(treceive(n, at, rpub, buf, len), ENGINE_RX_OK);
}

/* ... held for FactTTL. */
static void tell_epoch(struct tnode *n, const uint8_t rpriv[32], const uint8_t rpub[32],
		       const uint8_t qpub[32], int64_t at, uint32_t epoch, const char *const *eps,
		       size_t k, struct lease_msg *hold)
{
	tell_epoch_for(n, rpriv, rpub, qpub, at, epoch, eps, k, hold, 255);
}

/* R HOLDs again, at `at`, what *hold counted, for ttl seconds. */
static void hold_again(struct tnode *n, const uint8_t rpriv[32], const uint8_t rpub[32],
		       const struct lease_msg *hold, uint16_t ttl, int64_t at)
{
	struct fact f;
	uint8_t buf[WIRE_MAX_DATAGRAM];
	lease_fact(&f, rpub, ttl, hold);
	size_t len = tseal(rpriv, n->pub, &f, 1, buf, sizeof(buf));
	CHECK_EQ(treceive(n, at, rpub, buf, len), ENGINE_RX_OK);
}

/* Leaf N, router R (10.0.0.0/8) in its device. R leases N one fact (where
 * Q is) and HOLDs it at 1 s for FactTTL; no HOLD comes after. A router
 * HOLDs every AlivePeriod, so N asks for one once a period and two chunks
 * passed without — long before its copy lapses: the answer, or none to
 * several asks, says whether R is still there (lease_silent). The ask
 * carries N's record, which matches; once R answered, N asks no more
 * until the next HOLD is missing. The copy never lapses. */
TEST(a_leaf_asks_its_router_for_a_missing_hold)
{
	struct tnode n;
	uint8_t rpriv[32], rpub[32], qpub[32];
	leaf_with_router(&n, rpriv, rpub, qpub);

	static const char *const eps[] = { "203.0.113.9:51820" };
	struct lease_msg hold;
	tell_epoch(&n, rpriv, rpub, qpub, 1 * S, 7, eps, 1, &hold);
	CHECK(thas_fact(n.e, ATTR_ENDPOINT_V4, qpub, "203.0.113.9:51820"));

	const struct engine_timing *tm = tdefault_timing();
	int64_t missing = tm->alive_period_ms + 2 * tm->chunk_period_ms;
	int64_t first = -1;
	struct lease_msg nack = { 0 };
	for (int64_t t = 5 * S; t < 1 * S + tm->fact_ttl_ms && first < 0; t += 5 * S) {
		tnode_handshakes(&n, t);
		tnode_tick(&n, t);
		if (lease_sent(&n, rpub, LEASE_NACK, &nack))
			first = t;
	}
	CHECK_MSG(first >= 0, "no HOLD asked for before the copy lapsed");
	CHECK_MSG(first >= 1 * S + missing && first <= 1 * S + missing + 5 * S,
		  "asked %lld ms after the HOLD", (long long)(first - 1 * S));
	CHECK_EQ(nack.epoch, 7);
	CHECK_EQ(nack.count, 1);
	CHECK(nack.digest == hold.digest);
	CHECK_EQ(engine_get_stats(n.e)->lease_holds_asked, 1);

	/* R's answer: a HOLD. No more is asked until the next is missing. */
	int64_t answer = first + 100;
	hold_again(&n, rpriv, rpub, &hold, 255, answer);
	int asked = 0;
	for (int64_t t = first + 5 * S; t < answer + missing; t += 5 * S) {
		tnode_handshakes(&n, t);
		tnode_tick(&n, t);
		asked += lease_sent(&n, rpub, LEASE_NACK, NULL);
	}
	CHECK_EQ(asked, 0);
	CHECK(thas_fact(n.e, ATTR_ENDPOINT_V4, qpub, "203.0.113.9:51820"));
	tnode_free(&n);
}

/* A router's HOLD lasts only as long as the router's shortest-lived
 * copy of what it holds, which may be barely more than its period (it
 * HOLDs every AlivePeriod). Here 60 s, and the next HOLD is lost: N asks
 * once a period and two chunks passed with none, before its copies (and
 * with them the router's word for Q, which a dormant pair rests on)
 * lapse — not two periods after, when they already had. */
TEST(a_leaf_asks_its_router_for_a_lost_hold_within_a_period)
{
	struct tnode n;
	uint8_t rpriv[32], rpub[32], qpub[32];
	leaf_with_router(&n, rpriv, rpub, qpub);
	static const char *const eps[] = { "203.0.113.9:51820" };
	struct lease_msg hold;
	tell_epoch_for(&n, rpriv, rpub, qpub, 1 * S, 7, eps, 1, &hold, 60);
	const struct engine_timing *tm = tdefault_timing();
	int64_t missing = 1 * S + tm->alive_period_ms + 2 * tm->chunk_period_ms;
	int64_t lapse = 1 * S + 60 * S;
	int64_t first = -1;
	for (int64_t t = 5 * S; t < lapse && first < 0; t += 5 * S) {
		tnode_handshakes(&n, t);
		tnode_tick(&n, t);
		if (lease_sent(&n, rpub, LEASE_NACK, NULL))
			first = t;
	}
	CHECK_MSG(first >= 0, "no HOLD asked for before the copies lapsed at %lld ms",
		  (long long)lapse);
	CHECK(first >= missing);
	CHECK_MSG(first < lapse - tm->chunk_period_ms, "asked at %lld ms, too late to keep the "
		  "router's word (lapse at %lld ms)", (long long)first, (long long)lapse);
	tnode_free(&n);
}

/* R starts a new epoch: it tells N again what it leased it, and its HOLD
 * is lost with one of those facts. N's copy of that one still lapses when
 * the old epoch's did, so N asks for a HOLD two chunks into the epoch,
 * not two AlivePeriods after the last HOLD it had. */
TEST(a_new_epoch_whose_hold_is_lost_is_asked_for)
{
	struct tnode n;
	uint8_t rpriv[32], rpub[32], qpub[32];
	leaf_with_router(&n, rpriv, rpub, qpub);
	/* Epoch 7: two facts, held at 1 s. */
	static const char *const eps[] = { "203.0.113.9:51820", "203.0.113.10:51820" };
	struct lease_msg hold;
	tell_epoch(&n, rpriv, rpub, qpub, 1 * S, 7, eps, 2, &hold);
	/* Epoch 8 near the copies' end: only the first fact comes again.
	 * Until then R HOLDs epoch 7 every AlivePeriod, as a router does
	 * (else N would ask for them: a_leaf_asks_its_router_for_a_missing_hold). */
	const struct engine_timing *tm = tdefault_timing();
	int64_t t8 = 1 * S + tm->fact_ttl_ms - 2 * tm->alive_period_ms;
	for (int64_t t = 5 * S; t < t8; t += 5 * S) {
		if ((t - 1 * S) % tm->alive_period_ms < 5 * S)
			hold_again(&n, rpriv, rpub, &hold, 255, t);
		tnode_handshakes(&n, t);
		tnode_tick(&n, t);
		CHECK_EQ(lease_sent(&n, rpub, LEASE_NACK, NULL), 0);
	}
	tell_epoch(&n, rpriv, rpub, qpub, t8, 8, eps, 1, NULL);
	int64_t asked = -1;
	struct lease_msg nack = { 0 };
	for (int64_t t = t8 + 1 * S; t <= t8 + 20 * S && asked < 0; t += 1 * S) {
		tnode_handshakes(&n, t);
		tnode_tick(&n, t);
		if (lease_sent(&n, rpub, LEASE_NACK, &nack))
			asked = t;
	}
	CHECK_MSG(asked >= 0 && asked - t8 <= 2 * tm->chunk_period_ms + 2 * S,
		  "asked %lld ms into the epoch", (long long)(asked < 0 ? -1 : asked - t8));
	CHECK_EQ(nack.epoch, 8);
	CHECK_EQ(nack.count, 1);
	tnode_free(&n);
}

/* Router N leases leaf P what it knows. P's NACK with N's own record (it
 * asks for a HOLD) is answered with a HOLD at N's next send, in the same
 * epoch: no repair, nothing told again. */
TEST(a_matching_nack_is_answered_with_a_hold)
{
	struct tnode n;
	uint8_t ppriv[32], ppub[32], qpriv[32], qpub[32];
	tkey(P_, ppriv, ppub);
	tkey(Q_, qpriv, qpub);
	tnode_config(&n, N_);
	n.cfg.router = WL_YES;
	static const char *const eth[] = { "192.0.2.1/24", NULL };
	tnode_iface(&n, "eth0", true, true, eth);
	tnode_dev_peer(&n, ppub, "192.0.2.2:51820", 0);
	tnode_allow(&n, ppub, "10.0.0.2/32");
	tnode_dev_peer(&n, qpub, "192.0.2.4:51820", 0);
	tnode_allow(&n, qpub, "10.0.0.4/32");
	tnode_start(&n, 0);
	tnode_handshakes(&n, 0);
	tnode_tick(&n, 0);
	/* P shows it reads leases: an 'L' fact of its own. */
	struct fact f;
	struct lease_msg epoch = { .kind = LEASE_EPOCH, .epoch = 1 };
	lease_fact(&f, ppub, 0, &epoch);
	uint8_t buf[WIRE_MAX_DATAGRAM];
	size_t len = tseal(ppriv, n.pub, &f, 1, buf, sizeof(buf));
	CHECK_EQ(treceive(&n, 1 * S, ppub, buf, len), ENGINE_RX_OK);
	struct lease_msg told, held;
	tnode_handshakes(&n, 5 * S);
	tnode_tick(&n, 5 * S);
	CHECK_EQ(lease_sent(&n, ppub, LEASE_EPOCH, &told), 1);
	CHECK_EQ(lease_sent(&n, ppub, LEASE_HOLD, &held), 1);
	CHECK(held.count > 0);
	uint64_t epochs = engine_get_stats(n.e)->lease_epochs;

	struct lease_msg nack = { .kind = LEASE_NACK, .epoch = told.epoch, .count = held.count,
				  .digest = held.digest };
	lease_fact(&f, ppub, 0, &nack);
	len = tseal(ppriv, n.pub, &f, 1, buf, sizeof(buf));
	CHECK_EQ(treceive(&n, 6 * S, ppub, buf, len), ENGINE_RX_OK);
	tnode_handshakes(&n, 7 * S);
	tnode_tick(&n, 7 * S);
	struct lease_msg again;
	CHECK_EQ(lease_sent(&n, ppub, LEASE_HOLD, &again), 1);
	CHECK_EQ(again.epoch, told.epoch);
	CHECK_EQ(again.count, held.count);
	CHECK(again.digest == held.digest);
	CHECK_EQ(lease_sent(&n, ppub, LEASE_EPOCH, NULL), 0);
	CHECK_EQ(tsent_about(&n, ppub, qpub, 0), 0); /* nothing told again */
	const struct engine_stats *st = engine_get_stats(n.e);
	CHECK_EQ(st->lease_epochs, epochs);
	CHECK_EQ(st->lease_repairs, 0);
	CHECK_EQ(st->lease_holds_resent, 1);
	tnode_free(&n);
}

