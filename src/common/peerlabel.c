#include "common/peerlabel.h"

#include <stdio.h>

const char *wl_peer_label(const uint8_t key[static WL_KEY_LEN], const char *name,
			  char out[static WL_PEER_LABEL_MAX])
{
	char b64[WL_KEY_B64_LEN];
	key_to_base64(key, b64);
	if (name && name[0])
		snprintf(out, WL_PEER_LABEL_MAX, "%.63s (%.*s)", name, WL_SHORT_KEY_LEN, b64);
	else
		snprintf(out, WL_PEER_LABEL_MAX, "%.*s", WL_SHORT_KEY_LEN, b64);
	return out;
}
