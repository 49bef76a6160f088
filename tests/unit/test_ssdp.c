/* SSDP search requests and answers (src/sys/ssdp.c): the M-SEARCH text
 * byte for byte, and answers in miniupnpd's form and variations of it,
 * down to every reason one is refused. */
#include "harness.h"

#include "sys/ssdp.h"

TEST(builds_searches)
{
	char buf[400];
	size_t n = ssdp_build_search(buf, sizeof(buf), SSDP_GROUP ":1900", SSDP_IGD, 1);
	static const char multicast[] = "M-SEARCH * HTTP/1.1\r\n"
					"HOST: 239.255.255.250:1900\r\n"
					"MAN: \"ssdp:discover\"\r\n"
					"MX: 1\r\n"
					"ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
					"\r\n";
	CHECK_EQ(n, sizeof(multicast) - 1);
	CHECK_STR(buf, multicast);
	/* unicast: no MX */
	n = ssdp_build_search(buf, sizeof(buf), "10.1.0.1:1900", SSDP_IGD, 0);
	CHECK(n > 0 && strstr(buf, "MX") == NULL);
	CHECK(strstr(buf, "HOST: 10.1.0.1:1900\r\n") != NULL);
	/* too small */
	CHECK_EQ(ssdp_build_search(buf, sizeof(multicast) - 1, SSDP_GROUP ":1900", SSDP_IGD, 1), 0);
	CHECK_EQ(ssdp_build_search(buf, sizeof(multicast), SSDP_GROUP ":1900", SSDP_IGD, 1),
		 sizeof(multicast) - 1);
}

/* An answer with the headers miniupnpd sends (status, CACHE-CONTROL, ST, USN,
 * EXT, SERVER, LOCATION, OPT, 01-NLS, BOOTID, CONFIGID). */
static const char answer[] = "HTTP/1.1 200 OK\r\n"
			     "CACHE-CONTROL: max-age=120\r\n"
			     "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
			     "USN: uuid:8f1e2d3c-4b5a-4968-8776-655443322110::urn:schemas-upnp-org:"
			     "device:InternetGatewayDevice:1\r\n"
			     "EXT:\r\n"
			     "SERVER: Debian/12 UPnP/1.1 MiniUPnPd/2.3.1\r\n"
			     "LOCATION: http://10.1.0.1:45927/rootDesc.xml\r\n"
			     "OPT: \"http://schemas.upnp.org/upnp/1/0/\"; ns=01\r\n"
			     "01-NLS: 1795919258\r\n"
			     "BOOTID.UPNP.ORG: 1795919258\r\n"
			     "CONFIGID.UPNP.ORG: 1337\r\n"
			     "\r\n";

static bool parse(const char *s, char *loc, size_t cap)
{
	return ssdp_parse_response((const uint8_t *)s, strlen(s), loc, cap);
}

TEST(parses_answers)
{
	char loc[128];
	CHECK(parse(answer, loc, sizeof(loc)));
	CHECK_STR(loc, "http://10.1.0.1:45927/rootDesc.xml");
	/* any case, blanks around the value, bare \n, HTTP/1.0, no blank line */
	CHECK(parse("HTTP/1.0 200 OK\nlocation:\t http://10.1.0.1/d.xml \t\nST: x\n", loc,
		    sizeof(loc)));
	CHECK_STR(loc, "http://10.1.0.1/d.xml");
	CHECK(parse("HTTP/1.1 200\r\nLocation: http://a/\r\n\r\n", loc, sizeof(loc)));
	CHECK_STR(loc, "http://a/");
	/* exactly the room there is */
	CHECK(parse("HTTP/1.1 200 OK\r\nLOCATION: 12345\r\n\r\n", loc, 6));
	CHECK_STR(loc, "12345");
	/* headers after the blank line are the body: not read */
	CHECK(parse("HTTP/1.1 200 OK\r\nLOCATION: http://a/\r\n\r\nLOCATION: http://b/\r\n", loc,
		    sizeof(loc)));
	CHECK_STR(loc, "http://a/");
}

TEST(refuses_bad_answers)
{
	char loc[128];
	static const char *const bad[] = {
		"",
		"HTTP/1.1 200 OK", /* no line end */
		"HTTP/1.1 404 Not Found\r\nLOCATION: http://a/\r\n\r\n",
		"HTTP/1.1 2000 OK\r\nLOCATION: http://a/\r\n\r\n",
		"HTTP/2.0 200 OK\r\nLOCATION: http://a/\r\n\r\n",
		"NOTIFY * HTTP/1.1\r\nLOCATION: http://a/\r\n\r\n",
		"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\n",
		"HTTP/1.1 200 OK\r\nST: x\r\n\r\n",               /* no LOCATION */
		"HTTP/1.1 200 OK\r\nLOCATION:\r\n\r\n",           /* empty */
		"HTTP/1.1 200 OK\r\nLOCATION:   \r\n\r\n",        /* blank */
		"HTTP/1.1 200 OK\r\nLOCATION: http://a b/\r\n\r\n", /* a space inside */
		"HTTP/1.1 200 OK\r\nLOCATION: http://\x01/\r\n\r\n",
		"HTTP/1.1 200 OK\r\nLOCATION: http://\xc3\xa9/\r\n\r\n",
		"HTTP/1.1 200 OK\r\nLOCATION: http://a/\r", /* unfinished line */
		"HTTP/1.1 200 OK\r\nLOCATIO: http://a/\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(loc, "untouched");
		CHECK_MSG(!parse(bad[i], loc, sizeof(loc)), "case %zu accepted", i);
		CHECK_MSG(loc[0] == '\0', "case %zu left %s", i, loc);
	}
	/* a good LOCATION, then a bad one: nothing is kept */
	CHECK(!parse("HTTP/1.1 200 OK\r\nLOCATION: http://a/\r\nLOCATION: \r\n\r\n", loc, sizeof(loc)));
	CHECK(loc[0] == '\0');
	/* too long for the buffer */
	CHECK(!parse("HTTP/1.1 200 OK\r\nLOCATION: 123456\r\n\r\n", loc, 6));
	CHECK(!parse(answer, loc, 1));
	/* a NUL anywhere */
	static const uint8_t nul[] = "HTTP/1.1 200 OK\r\nLOCATION: http://a/\r\n\0\r\n";
	CHECK(!ssdp_parse_response(nul, sizeof(nul) - 1, loc, sizeof(loc)));
	/* a length shorter than the text: only that much is read */
	CHECK(!ssdp_parse_response((const uint8_t *)answer, 20, loc, sizeof(loc)));
}
