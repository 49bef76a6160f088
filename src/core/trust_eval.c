/* SPEC §7: how much a sending peer is trusted, and how much trust each
 * kind of fact needs. */
#include "core/engine_internal.h"

enum wl_trust engine_trust_of_source(const struct engine *e, const struct peer *src)
{
	if (!src)
		return TRUST_UNTRUSTED;
	/* First opinion wins. 1: the configured Trust. */
	const struct cfg_peer *c = engine_cfg_of(e, src);
	if (c && c->trust != TRUST_UNSET)
		return c->trust;
	/* 2: route-based, only when no configured peer has a Trust. */
	if (!e->any_trust && src->in_device && src->router)
		return TRUST_MEMBERSHIP;
	/* 3: any peer in the device may tell us endpoints. */
	if (src->in_device)
		return TRUST_ENDPOINT;
	return TRUST_UNTRUSTED;
}

/* What a fact of this kind needs from its source, about a peer in our
 * device; TRUST_DELEGATE + 1 for a kind never taken from others. */
static int needed_for(uint8_t attr)
{
	switch (attr) {
	case ATTR_ENDPOINT_V4:
	case ATTR_ENDPOINT_V6:
		return TRUST_ENDPOINT;
	case ATTR_ALLOWED_V4:
	case ATTR_ALLOWED_V6:
		return TRUST_ALLOWED_IPS;
	case ATTR_MEMBER:
	case ATTR_MEMBER_META:
		return TRUST_MEMBERSHIP;
	default:
		return TRUST_DELEGATE + 1;
	}
}

/* A fact about a key not in our device would make us add it. */
static int needed_about(int need, const struct peer *subj)
{
	return !subj || !subj->in_device ? TRUST_MEMBERSHIP : need;
}

/* A source trusted with membership may tell any kind we take, about
 * anyone (needed_about asks at most that): its facts need no look at
 * their subject. At a leaf that is nearly all that comes, the router's
 * facts and HOLDs, a thousand lookups each at a thousand peers. */
static bool enough_for_any(int need, enum wl_trust trust)
{
	return need <= TRUST_DELEGATE && (int)trust >= TRUST_MEMBERSHIP;
}

bool engine_trusted_for(const struct engine *e, const struct fact *f, enum wl_trust trust,
			int *need)
{
	*need = needed_for(f->attr);
	if (enough_for_any(*need, trust))
		return true;
	if (*need <= TRUST_DELEGATE)
		*need = needed_about(*need, peertab_find(&e->pt, f->subject));
	return (int)trust >= *need;
}

bool engine_trusted_for_at(const struct engine *e, size_t i, enum wl_trust trust)
{
	int need = needed_for(factset_attr(&e->fs, i));
	if (enough_for_any(need, trust))
		return true;
	if (need > TRUST_DELEGATE)
		return false;
	const struct peer *subj = engine_indexed_subject(e, i);
	if (!subj)
		subj = peertab_find(&e->pt, factset_subject(&e->fs, i));
	return (int)trust >= needed_about(need, subj);
}
