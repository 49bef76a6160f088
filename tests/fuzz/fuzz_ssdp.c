/* libFuzzer target: SSDP search answers (src/sys/ssdp.c). A LOCATION
 * taken must be non-empty printable ASCII that fits the buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sys/ssdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1); /* exact size: overreads are caught */
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	char loc[64];
	size_t cap = size ? 2 + data[0] % (sizeof(loc) - 1) : sizeof(loc);
	if (ssdp_parse_response(buf, size, loc, cap)) {
		size_t n = strlen(loc);
		if (n == 0 || n >= cap)
			abort();
		for (size_t i = 0; i < n; i++)
			if (loc[i] < 0x21 || loc[i] > 0x7e)
				abort();
	} else if (loc[0] != '\0') {
		abort();
	}
	free(buf);
	return 0;
}
