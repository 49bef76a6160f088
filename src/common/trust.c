#include "common/trust.h"

#include <strings.h>

static const char *const names[] = {
	[TRUST_UNTRUSTED] = "Untrusted",
	[TRUST_ENDPOINT] = "Endpoint",
	[TRUST_ALLOWED_IPS] = "AllowedIPs",
	[TRUST_MEMBERSHIP] = "Membership",
	[TRUST_DELEGATE] = "DelegateTrust",
};

const char *trust_name(enum wl_trust t)
{
	if (t < TRUST_UNTRUSTED || t > TRUST_DELEGATE)
		return "unset";
	return names[t];
}

bool trust_parse(const char *s, enum wl_trust *out)
{
	for (int t = TRUST_UNTRUSTED; t <= TRUST_DELEGATE; t++) {
		if (strcasecmp(s, names[t]) == 0) {
			*out = (enum wl_trust)t;
			return true;
		}
	}
	return false;
}
