/* Trust levels (SPEC §7), ordered: a source at level L may tell us facts
 * that need at most L. */
#ifndef WL_COMMON_TRUST_H
#define WL_COMMON_TRUST_H

#include <stdbool.h>

enum wl_trust {
	TRUST_UNSET = -1, /* no opinion (e.g. not configured) */
	TRUST_UNTRUSTED = 0,
	TRUST_ENDPOINT = 1,
	TRUST_ALLOWED_IPS = 2,
	TRUST_MEMBERSHIP = 3,
	TRUST_DELEGATE = 4, /* reserved */
};

/* "Untrusted", "Endpoint", "AllowedIPs", "Membership", "DelegateTrust". */
const char *trust_name(enum wl_trust t);
/* Case-insensitive parse of the names above. */
bool trust_parse(const char *s, enum wl_trust *out);

#endif
