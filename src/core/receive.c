/* SPEC §3 and §7: one datagram in. The frame is parsed, the source address
 * and the tag checked, and only then are the inner facts walked. */
#include <string.h>

#include "core/engine_internal.h"
#include "wire/autoaddr.h"
#include "wire/lease.h"
#include "wire/packet.h"

/* [ours] When a fact told with this TTL expires: never later than FactTTL
 * from now. The original always sends FactTTL; a longer TTL could only
 * keep junk alive for hours (65535 s) after its sender went quiet. (An
 * Alive of ours may say longer, within bounds: quiet.c.) */
static int64_t rx_expiry(struct engine *e, int64_t now, uint16_t ttl)
{
	int64_t ms = (int64_t)ttl * 1000;
	if (ms > e->t.fact_ttl_ms) {
		ms = e->t.fact_ttl_ms;
		e->st.rx_ttl_clamped++;
	}
	return now + ms;
}

/* First pass: the sender's own Alive. Handled before anything else so a
 * boot id change forgets old knowledge without forgetting what this very
 * packet tells us the sender knows. */
static void take_alive(struct engine *e, int64_t now, struct peer *sp, const struct packet *pk)
{
	struct cursor c;
	struct fact f;
	const char *why;
	packet_facts_begin(pk, &c);
	while (packet_next_fact(&c, &f, &why) == 1) {
		if (f.attr != ATTR_ALIVE || f.ttl == 0 || memcmp(f.subject, sp->key, WL_KEY_LEN) != 0)
			continue;
		int64_t expires = engine_alive_expiry(e, sp, now, f.ttl);
		sp->alive_heard = now;
		engine_quiet_heard(e, sp, now);
		if (!sp->has_boot_id || memcmp(sp->boot_id, f.value, BOOT_ID_LEN) != 0) {
			/* Restarted (not just first heard): it may now be a version
			 * that reads no leases, and keeps none of ours. */
			if (sp->has_boot_id) {
				lease_peer_restarted(sp);
				engine_pathnote_restarted(e, sp, now);
			}
			peer_know_clear(sp);
			sp->resend_at = now + e->t.chunk_period_ms;
			sp->try_gap = 0; /* restarted: maybe reachable now */
			memcpy(sp->boot_id, f.value, BOOT_ID_LEN);
			sp->has_boot_id = true;
			sp->boot_changed = true;
			sp->alive_since = now;
			sp->alive_until = expires;
			engine_mark_dirty(e, now);
		} else if (expires > sp->alive_until) {
			if (sp->alive_until <= now)
				engine_mark_dirty(e, now); /* it came back */
			sp->alive_until = expires;
		}
	}
}

static bool is_endpoint(const struct fact *f)
{
	return f->attr == ATTR_ENDPOINT_V4 || f->attr == ATTR_ENDPOINT_V6;
}

/* [ours] Charged to the subject, for the report's "trust refused". */
static void note_refused(struct engine *e, const struct peer *sp, const struct fact *f,
			 enum wl_trust had, int need)
{
	struct peer *subj = peertab_find(&e->pt, f->subject);
	if (!subj)
		return;
	subj->refused++;
	struct peer_rare *rare = peer_rare(subj);
	if (!rare)
		return; /* out of memory: counted in the total only */
	/* Its source's entry; a new source takes a free one, or the one that
	 * refused least (which then counts only in the total). */
	struct refused_src *r = NULL, *least = NULL;
	for (size_t i = 0; i < subj->n_refused_by && !r; i++) {
		struct refused_src *q = &rare->refused_by[i];
		if (memcmp(q->key, sp->key, WL_KEY_LEN) == 0)
			r = q;
		else if (!least || q->count < least->count)
			least = q;
	}
	if (!r) {
		r = subj->n_refused_by < PEER_REFUSED_SOURCES ? &rare->refused_by[subj->n_refused_by++]
							       : least;
		memcpy(r->key, sp->key, WL_KEY_LEN);
		r->count = 0;
	}
	if (r->count < UINT32_MAX)
		r->count++;
	r->had = (uint8_t)had;
	r->need = (uint8_t)need;
}

static struct fact_source source_of(const struct peer *sp, enum wl_trust trust)
{
	return (struct fact_source){ sp->h | 1, (uint8_t)trust, trust >= TRUST_MEMBERSHIP, sp->key };
}

/* Whether a fact put in the set is held; a new one pulls the next tick in. */
static bool stored(struct engine *e, int64_t now, enum factset_put r)
{
	bool held = true;
	switch (r) {
	case FACTSET_NEW:
		engine_mark_dirty(e, now);
		/* fall through */
	case FACTSET_EXTENDED:
	case FACTSET_SAME:
		break;
	case FACTSET_QUOTA:
	case FACTSET_FULL:
		e->st.rx_over_share++;
		held = false;
		break;
	}
	e->st.facts_evicted = e->fs.evicted;
	return held;
}

bool engine_take_trusted(struct engine *e, int64_t now, struct peer *sp, struct fact *f,
			 int64_t expires, bool count_refusal)
{
	enum wl_trust trust = engine_trust_of_source(e, sp);
	int need;
	if (!engine_trusted_for(e, f, trust, &need)) {
		if (count_refusal) {
			e->st.rx_untrusted++;
			note_refused(e, sp, f, trust, need);
		}
		return false;
	}
	/* The fact is charged to its sender's share (core/factset.h). */
	const struct fact_source src = source_of(sp, trust);
	return stored(e, now, factset_put(&e->fs, f, expires, now, &src));
}

bool engine_retake_trusted(struct engine *e, int64_t now, struct peer *sp, enum wl_trust trust,
			   size_t i, int64_t expires)
{
	if (!engine_trusted_for_at(e, i, trust))
		return false;
	const struct fact_source src = source_of(sp, trust);
	return stored(e, now, factset_merge_at(&e->fs, i, expires, now, &src));
}

/* leased: the datagram belongs to an epoch of sp's leases (lease.h). */
static void take_fact(struct engine *e, int64_t now, struct peer *sp, struct fact *f, bool leased)
{
	if (f->attr == ATTR_LEASE)
		return; /* lease_begin and lease_finish read those */
	e->st.rx_facts++;
	if (f->attr == ATTR_MEMBER) {
		/* Deprecated: same as MemberMetadata with no attributes. */
		f->attr = ATTR_MEMBER_META;
		f->value_len = 0;
	}
	uint64_t h = fact_key_hash(e->fs.hkey, f);
	/* An Alive's ttl was checked by take_alive (quiet.c allows longer). */
	int64_t expires = f->attr != ATTR_ALIVE ? rx_expiry(e, now, f->ttl)
						: now + engine_alive_ms(e, f->ttl);
	struct wl_endpoint ep;
	if (f->ttl == 0 || (is_endpoint(f) && fact_endpoint(f, &ep) &&
			    engine_through_tunnel(e, &ep.addr))) {
		if (f->ttl == 0)
			e->st.rx_expired++;
		else
			e->st.rx_invalid++;
		/* Told, though of no use to us: a lease counts it. */
		if (leased)
			lease_note(e, sp, f, h, expires, false, now);
		return;
	}
	if (f->attr == ATTR_ALIVE) {
		e->st.rx_alive++;
		return;
	}
	/* The sender knows what it told us, kept or not: we need not send it
	 * back. (Its knowledge table is its own share; a full one costs a
	 * look for expired keys at most once a second, knowledge.c.) What it
	 * leases us is kept apart (lease.h) and never told back while it
	 * does; a leased peer's table is otherwise what we told it. An Alive
	 * is not remembered: no one's is ever told on. */
	if (!(leased && sp->ltx_on))
		knowledge_put(&sp->know, h, expires, now, e->max_knowledge,
			      &e->st.knowledge_dropped);
	bool held = engine_take_trusted(e, now, sp, f, expires, true);
	if (held)
		e->st.rx_accepted++;
	if (leased)
		lease_note(e, sp, f, h, expires, held, now);
}

enum engine_rx engine_receive(struct engine *e, int64_t now, const struct wl_addr *src,
			      const uint8_t *buf, size_t len)
{
	struct packet pk;
	const char *why;
	e->st.rx_datagrams++;
	if (engine_path_reply_received(e, now, src, buf, len))
		return ENGINE_RX_PROBE;
	if (!packet_parse(buf, len, &pk, &why)) {
		e->st.rx_parse++;
		return ENGINE_RX_PARSE;
	}
	/* A peer we track keeps its address (a SHA-1 of its key, worked out
	 * once) and its shared key (engine_shared_key); the key cache is for
	 * signers we do not track (yet). */
	struct peer *known = peertab_find(&e->pt, pk.signer);
	struct wl_addr want;
	if (known)
		want = known->auto_addr;
	else
		autoaddr_of(pk.signer, &want);
	if (!src || engine_is_self(e, pk.signer) || !wl_addr_equal(src, &want)) {
		e->st.rx_bad_source++;
		return ENGINE_RX_BAD_SOURCE;
	}
	const uint8_t *key = known ? engine_shared_key(e, known) : keycache_get(&e->kc, pk.signer);
	if (!key || !packet_verify(&pk, key)) {
		e->st.rx_bad_sig++;
		return ENGINE_RX_BAD_SIG;
	}
	e->st.rx_ok++;
	struct peer *sp = peertab_get(&e->pt, pk.signer, now);
	e->st.peers_evicted = e->pt.evicted;
	e->st.peers_refused = e->pt.refused;
	if (!sp)
		return ENGINE_RX_OK; /* no room to remember it: facts ignored */
	if (sp->shared_state == 0) {
		memcpy(sp->shared, key, sizeof(sp->shared));
		sp->shared_state = 1;
	}
	engine_visit_touch(e, sp);
	engine_path_own_rx(sp, len);
	sp->heard_at = now; /* whatever it says (lease.c: lease_silent) */
	engine_path_heard(e, sp, now);
	if (sp->path_dead)
		engine_mark_dirty(e, now); /* it came over the path: look soon */
	take_alive(e, now, sp, &pk);
	bool leased = lease_begin(e, sp, &pk, now);
	struct cursor c;
	struct fact f;
	int r;
	packet_facts_begin(&pk, &c);
	while ((r = packet_next_fact(&c, &f, &why)) == 1)
		take_fact(e, now, sp, &f, leased);
	if (r < 0)
		e->st.rx_fact_parse++;
	lease_finish(e, sp, &pk, now);
	return ENGINE_RX_OK;
}
