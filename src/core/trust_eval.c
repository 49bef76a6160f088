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

int engine_trust_needed(const struct engine *e, const struct fact *f)
{
	int need;
	switch (f->attr) {
	case ATTR_ENDPOINT_V4:
	case ATTR_ENDPOINT_V6:
		need = TRUST_ENDPOINT;
		break;
	case ATTR_ALLOWED_V4:
	case ATTR_ALLOWED_V6:
		need = TRUST_ALLOWED_IPS;
		break;
	case ATTR_MEMBER:
	case ATTR_MEMBER_META:
		need = TRUST_MEMBERSHIP;
		break;
	default:
		return TRUST_DELEGATE + 1;
	}
	/* A fact about a key not in our device would make us add it. */
	const struct peer *subj = peertab_find(&e->pt, f->subject);
	if (!subj || !subj->in_device)
		need = TRUST_MEMBERSHIP;
	return need;
}
