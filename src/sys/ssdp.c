/* SSDP M-SEARCH and its answer (see ssdp.h). */
#include "sys/ssdp.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

size_t ssdp_build_search(char *buf, size_t cap, const char *host, const char *st, unsigned mx)
{
	char mxl[32] = "";
	if (mx)
		snprintf(mxl, sizeof(mxl), "MX: %u\r\n", mx);
	int n = snprintf(buf, cap,
			 "M-SEARCH * HTTP/1.1\r\n"
			 "HOST: %s\r\n"
			 "MAN: \"ssdp:discover\"\r\n"
			 "%s"
			 "ST: %s\r\n"
			 "\r\n",
			 host, mxl, st);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* The line at buf[*at..len): its length without the line end, *at moved
 * past the end. False when no line end follows (an unfinished line). */
static bool next_line(const uint8_t *buf, size_t len, size_t *at, size_t *line_len)
{
	const uint8_t *start = buf + *at;
	const uint8_t *nl = memchr(start, '\n', len - *at);
	if (!nl)
		return false;
	size_t n = (size_t)(nl - start);
	*at += n + 1;
	if (n && start[n - 1] == '\r')
		n--;
	*line_len = n;
	return true;
}

static bool is_blank(uint8_t c) { return c == ' ' || c == '\t'; }

bool ssdp_parse_response(const uint8_t *buf, size_t len, char *location, size_t cap)
{
	if (cap)
		location[0] = '\0';
	if (cap < 2 || memchr(buf, '\0', len))
		return false;
	size_t at = 0, n;
	/* "HTTP/1.1 200 OK" (the reason phrase is not looked at) */
	static const char version[] = "HTTP/1.";
	if (!next_line(buf, len, &at, &n) || n < sizeof(version) - 1 + 5 ||
	    memcmp(buf, version, sizeof(version) - 1) != 0 ||
	    memcmp(buf + sizeof(version), " 200", 4) != 0 ||
	    (n > sizeof(version) + 4 && buf[sizeof(version) + 4] != ' '))
		return false;
	bool found = false;
	for (;;) {
		size_t line = at;
		if (!next_line(buf, len, &at, &n))
			break; /* the headers end without a blank line: keep what we have */
		if (n == 0)
			break;
		static const char key[] = "LOCATION:";
		if (n < sizeof(key) - 1 || strncasecmp((const char *)buf + line, key, sizeof(key) - 1) != 0)
			continue;
		size_t v = line + sizeof(key) - 1, end = line + n;
		while (v < end && is_blank(buf[v]))
			v++;
		while (end > v && is_blank(buf[end - 1]))
			end--;
		if (end == v || end - v >= cap)
			goto bad;
		for (size_t i = v; i < end; i++)
			if (buf[i] < 0x21 || buf[i] > 0x7e)
				goto bad;
		memcpy(location, buf + v, end - v);
		location[end - v] = '\0';
		found = true;
	}
	return found;
bad:
	location[0] = '\0';
	return false;
}
