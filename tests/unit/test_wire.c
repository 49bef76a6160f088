/* The codec against shared/vectors: every good vector decodes and
 * re-encodes byte-equal and verifies; every bad one is refused for its
 * stated reason; the original's real packets all parse. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "harness.h"
#include "vectors.h"
#include "wire/autoaddr.h"
#include "wire/keycache.h"
#include "wire/lease.h"
#include "wire/member_meta.h"
#include "wire/packet.h"

/* The receive path as the daemon runs it: frame, then tag, then facts.
 * Returns NULL if everything is good, else the first reason. */
static const char *open_packet(const uint8_t *buf, size_t len, const uint8_t shared[32],
			       size_t *n_facts)
{
	struct packet p;
	const char *why = NULL;
	*n_facts = 0;
	if (!packet_parse(buf, len, &p, &why))
		return why;
	if (!packet_verify(&p, shared))
		return "authentication failed";
	struct cursor c;
	struct fact f;
	int r;
	packet_facts_begin(&p, &c);
	while ((r = packet_next_fact(&c, &f, &why)) == 1)
		(*n_facts)++;
	return r < 0 ? why : NULL;
}

struct keys {
	uint8_t a_priv[32], a_pub[32], b_priv[32], b_pub[32], c_priv[32], c_pub[32];
};

static int load_keys(json_t *root, struct keys *k)
{
	json_t *keys = json_object_get(root, "keys");
	return vectors_key(json_object_get(json_object_get(keys, "A"), "private"), k->a_priv) |
	       vectors_key(json_object_get(json_object_get(keys, "A"), "public"), k->a_pub) |
	       vectors_key(json_object_get(json_object_get(keys, "B"), "private"), k->b_priv) |
	       vectors_key(json_object_get(json_object_get(keys, "B"), "public"), k->b_pub) |
	       vectors_key(json_object_get(json_object_get(keys, "C"), "private"), k->c_priv) |
	       vectors_key(json_object_get(json_object_get(keys, "C"), "public"), k->c_pub);
}

TEST(keys_public_from_private)
{
	json_t *root = vectors_load("wire.json");
	if (!root)
		return;
	const char *names[] = { "A", "B", "C" };
	for (int i = 0; i < 3; i++) {
		json_t *k = json_object_get(json_object_get(root, "keys"), names[i]);
		uint8_t priv[32], pub[32], derived[32];
		CHECK(vectors_key(json_object_get(k, "private"), priv) == 0);
		CHECK(vectors_key(json_object_get(k, "public"), pub) == 0);
		crypto_scalarmult_base(derived, priv);
		CHECK_MEM(derived, pub, 32);
	}
	json_decref(root);
}

static void check_autoaddr(json_t *entry, const char *key_field)
{
	uint8_t key[32];
	struct wl_addr a;
	char buf[WL_ADDR_STR_MAX];
	CHECK(vectors_key(json_object_get(entry, key_field), key) == 0);
	autoaddr_of(key, &a);
	CHECK_STR(wl_addr_str(&a, buf), json_string_value(json_object_get(entry, "auto_address")));
}

TEST(auto_addresses)
{
	json_t *root = vectors_load("wire.json");
	if (!root)
		return;
	const char *name;
	json_t *k;
	json_object_foreach(json_object_get(root, "keys"), name, k)
		check_autoaddr(k, "public");
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(root, "auto_address_extra"), i, e)
		check_autoaddr(e, "public");
	json_decref(root);
}

TEST(shared_key_both_directions)
{
	json_t *root = vectors_load("wire.json");
	struct keys k;
	if (!root || load_keys(root, &k) != 0)
		return;
	size_t n;
	uint8_t *want = vectors_hex(json_object_get(json_object_get(root, "signed_group"),
						    "shared_key_hex"), &n);
	uint8_t ab[32], ba[32];
	CHECK(group_shared_key(k.a_priv, k.b_pub, ab));
	CHECK(group_shared_key(k.b_priv, k.a_pub, ba));
	CHECK(want && n == 32);
	if (want)
		CHECK_MEM(ab, want, 32);
	CHECK_MEM(ab, ba, 32);
	free(want);
	json_decref(root);
}

TEST(inner_facts_decode_and_reencode)
{
	json_t *root = vectors_load("wire.json");
	if (!root)
		return;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(json_object_get(root, "signed_group"), "inner_facts"), i, v) {
		size_t len;
		uint8_t *bytes = vectors_hex(json_object_get(v, "hex"), &len);
		const char *name = json_string_value(json_object_get(v, "name"));
		struct cursor c;
		struct fact f;
		const char *why = NULL;
		uint8_t out[2048];
		cursor_init(&c, bytes, len);
		CHECK_MSG(fact_decode(&c, &f, &why), "%s: %s", name, why);
		CHECK_MSG(cursor_left(&c) == 0, "%s: %zu bytes left over", name, cursor_left(&c));
		size_t n = fact_encode(&f, out, sizeof(out));
		CHECK_MSG(n == len && memcmp(out, bytes, len) == 0, "%s: re-encoding differs", name);
		CHECK_EQ(fact_encoded_len(&f), len);
		free(bytes);
	}
	json_decref(root);
}

TEST(inner_fact_values)
{
	json_t *root = vectors_load("wire.json");
	if (!root)
		return;
	/* The human names in the vectors state the values; check a few. */
	json_t *facts = json_object_get(json_object_get(root, "signed_group"), "inner_facts");
	const struct {
		size_t index;
		uint8_t attr;
		unsigned ttl;
		const char *value;
	} want[] = {
		{ 0, ATTR_ALIVE, 255, "00112233445566778899aabbccddeeff" },
		{ 1, ATTR_ENDPOINT_V4, 255, "192.0.2.1:51820" },
		{ 2, ATTR_ENDPOINT_V6, 200, "[2001:db8::1]:51820" },
		{ 3, ATTR_ALLOWED_V4, 255, "10.99.0.3/32" },
		{ 4, ATTR_ALLOWED_V6, 255, "fd00:99::/64" },
		{ 5, ATTR_MEMBER_META, 255, "name=leaf-c basic=0" },
		{ 6, ATTR_MEMBER_META, 255, "" },
		{ 7, ATTR_MEMBER, 255, "" },
		{ 8, ATTR_ENDPOINT_V4, 300, "198.51.100.7:1" },
	};
	CHECK_EQ(json_array_size(facts), sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		size_t len;
		uint8_t *bytes = vectors_hex(json_object_get(json_array_get(facts, want[i].index), "hex"), &len);
		struct cursor c;
		struct fact f;
		const char *why;
		char buf[FACT_VALUE_STR_MAX];
		cursor_init(&c, bytes, len);
		CHECK(fact_decode(&c, &f, &why));
		CHECK_EQ(f.attr, want[i].attr);
		CHECK_EQ(f.ttl, want[i].ttl);
		CHECK_STR(fact_value_str(&f, buf, sizeof(buf)), want[i].value);
		free(bytes);
	}
	json_decref(root);
}

TEST(signed_group_packet)
{
	json_t *root = vectors_load("wire.json");
	struct keys k;
	if (!root || load_keys(root, &k) != 0)
		return;
	json_t *g = json_object_get(root, "signed_group");
	size_t len, nonce_len, tag_len;
	uint8_t *pkt = vectors_hex(json_object_get(g, "packet_hex"), &len);
	uint8_t *nonce = vectors_hex(json_object_get(g, "nonce_hex"), &nonce_len);
	uint8_t *tag = vectors_hex(json_object_get(g, "tag_hex"), &tag_len);
	struct packet p;
	const char *why = NULL;
	CHECK_MSG(packet_parse(pkt, len, &p, &why), "%s", why);
	CHECK_MEM(p.signer, k.a_pub, 32);
	CHECK_MEM(p.nonce, nonce, 24);
	CHECK_MEM(p.tag, tag, 16);

	/* The inner bytes are the concatenated inner facts. */
	uint8_t inner[2048];
	size_t inner_len = 0, i;
	json_t *v;
	json_array_foreach(json_object_get(g, "inner_facts"), i, v) {
		size_t n;
		uint8_t *b = vectors_hex(json_object_get(v, "hex"), &n);
		memcpy(inner + inner_len, b, n);
		inner_len += n;
		free(b);
	}
	CHECK_EQ(p.inner_len, inner_len);
	CHECK_MEM(p.inner, inner, inner_len);

	/* B verifies with its private key and A's public key. */
	uint8_t shared[32];
	size_t n_facts;
	CHECK(group_shared_key(k.b_priv, k.a_pub, shared));
	CHECK(open_packet(pkt, len, shared, &n_facts) == NULL);
	CHECK_EQ(n_facts, 9);

	/* Sealing the same inner facts with the same nonce gives the same bytes. */
	uint8_t out[WIRE_MAX_RECV];
	size_t sealed = group_seal(out, sizeof(out), k.a_pub, shared, nonce, inner, inner_len);
	CHECK_EQ(sealed, len);
	CHECK_MEM(out, pkt, len);
	free(pkt);
	free(nonce);
	free(tag);
	json_decref(root);
}

TEST(wrong_key_fails)
{
	json_t *root = vectors_load("wire.json");
	struct keys k;
	if (!root || load_keys(root, &k) != 0)
		return;
	size_t len, n_facts;
	uint8_t *pkt = vectors_hex(json_object_get(json_object_get(root, "signed_group"), "packet_hex"), &len);
	uint8_t shared[32];
	/* C is not the recipient; and B with the wrong sender key fails too. */
	CHECK(group_shared_key(k.c_priv, k.a_pub, shared));
	CHECK_STR(open_packet(pkt, len, shared, &n_facts), "authentication failed");
	CHECK(group_shared_key(k.b_priv, k.c_pub, shared));
	CHECK_STR(open_packet(pkt, len, shared, &n_facts), "authentication failed");
	free(pkt);
	json_decref(root);
}

/* What each bad vector must be refused for, in our words. */
static const struct {
	const char *name;
	const char *reason;
} bad_reasons[] = {
	{ "tag flipped", "authentication failed" },
	{ "inner byte changed", "authentication failed" },
	{ "truncated inside nonce", "too short for nonce and tag" },
	{ "empty", "empty packet: no attribute byte" },
	{ "unsigned top-level fact", "only SignedGroup is accepted at top level" },
	{ "nested signed group", "signed groups must not nest" },
	{ "inner fact truncated", "truncated value" },
	{ "ttl over 65535", "ttl out of range (over 65535)" },
	{ "unknown inner attribute", "unrecognised attribute" },
	{ "ipv4 prefix 33", "prefix length beyond 32" },
	{ "member metadata length past end", "member metadata: declared length exceeds data" },
	{ "member metadata duplicate attribute", "member metadata: duplicate member attribute" },
	{ "member metadata basic flag 2", "member metadata: basic flag must be 0 or 1" },
};

TEST(bad_packets_refused_for_their_reason)
{
	json_t *root = vectors_load("wire.json");
	struct keys k;
	if (!root || load_keys(root, &k) != 0)
		return;
	uint8_t shared[32];
	CHECK(group_shared_key(k.b_priv, k.a_pub, shared));
	size_t i, checked = 0;
	json_t *v;
	json_array_foreach(json_object_get(root, "bad_packets_from_A_to_B"), i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *want = NULL;
		for (size_t j = 0; j < sizeof(bad_reasons) / sizeof(bad_reasons[0]); j++)
			if (strcmp(bad_reasons[j].name, name) == 0)
				want = bad_reasons[j].reason;
		CHECK_MSG(want, "no expected reason for vector '%s'", name);
		size_t len, n_facts;
		uint8_t *pkt = vectors_hex(json_object_get(v, "hex"), &len);
		const char *got = open_packet(pkt ? pkt : (uint8_t *)"", pkt ? len : 0, shared, &n_facts);
		CHECK_MSG(got && want && strcmp(got, want) == 0, "%s: got '%s', want '%s'", name,
			  got ? got : "(accepted)", want ? want : "?");
		checked++;
		free(pkt);
	}
	CHECK_EQ(checked, sizeof(bad_reasons) / sizeof(bad_reasons[0]));
	json_decref(root);
}

TEST(go_captures_all_parse)
{
	json_t *root = vectors_load("go-captures.json");
	if (!root)
		return;
	size_t i, total_facts = 0;
	json_t *v;
	json_t *packets = json_object_get(root, "packets");
	CHECK_EQ(json_array_size(packets), 66);
	json_array_foreach(packets, i, v) {
		size_t len;
		uint8_t *pkt = vectors_hex(v, &len);
		struct packet p = { 0 };
		const char *why = "not hex";
		bool framed = pkt && packet_parse(pkt, len, &p, &why);
		CHECK_MSG(framed, "packet %zu: %s", i, why);
		if (framed) {
			struct cursor c;
			struct fact f;
			int r;
			packet_facts_begin(&p, &c);
			while ((r = packet_next_fact(&c, &f, &why)) == 1) {
				/* Re-encoding a fact gives its original bytes. */
				uint8_t out[512];
				size_t n = fact_encode(&f, out, sizeof(out));
				CHECK_MSG(n > 0 && memcmp(out, c.buf + c.pos - n, n) == 0,
					  "packet %zu: fact re-encodes differently", i);
				total_facts++;
			}
			CHECK_MSG(r == 0, "packet %zu: %s", i, why);
		}
		free(pkt);
	}
	CHECK(total_facts > 66);
	json_decref(root);
}

/* Which underlay addresses only work inside a site: the candidate order
 * (core/apply.c) tries them last for a peer elsewhere. */
TEST(private_addresses)
{
	static const char *private[] = { "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.10",
					 "100.64.0.1", "100.127.255.254", "127.0.0.1", "169.254.1.1",
					 "fd00::1", "fc00::1", "fe80::1", "::1", "::ffff:192.168.0.1" };
	static const char *public[] = { "8.8.8.8", "172.32.0.1", "172.15.0.1", "100.128.0.1",
					"100.63.255.255", "192.0.2.1", "198.51.100.10", "203.0.113.5",
					"2001:db8::1", "2a00::1", "::ffff:198.51.100.1" };
	for (size_t i = 0; i < sizeof(private) / sizeof(*private); i++) {
		struct wl_addr a;
		CHECK(wl_addr_parse(private[i], &a));
		CHECK_MSG(wl_addr_is_private(&a), "%s should be private", private[i]);
	}
	for (size_t i = 0; i < sizeof(public) / sizeof(*public); i++) {
		struct wl_addr a;
		CHECK(wl_addr_parse(public[i], &a));
		CHECK_MSG(!wl_addr_is_private(&a), "%s should not be private", public[i]);
	}
}

/* [ours] Lease facts (wire/lease.h): every kind survives encode and
 * decode, and a value of the wrong shape is refused as malformed. */
static bool lease_round_trip(const struct lease_msg *m, struct lease_msg *out)
{
	uint8_t key[WL_KEY_LEN], buf[512];
	memset(key, 7, sizeof(key));
	struct fact f, g;
	lease_fact(&f, key, 255, m);
	size_t n = fact_encode(&f, buf, sizeof(buf));
	struct cursor c;
	cursor_init(&c, buf, n);
	const char *why;
	return n > 0 && fact_decode(&c, &g, &why) && cursor_left(&c) == 0 && fact_same_key(&f, &g) &&
	       g.ttl == 255 && lease_parse(&g, out);
}

TEST(lease_facts_round_trip)
{
	struct lease_msg m = { .kind = LEASE_HOLD, .epoch = 0xdeadbeef, .count = 1234,
			       .digest = 0x0123456789abcdefULL }, out;
	CHECK(lease_round_trip(&m, &out));
	CHECK(out.kind == LEASE_HOLD && out.epoch == 0xdeadbeef && out.count == 1234 &&
	      out.digest == 0x0123456789abcdefULL);
	m.kind = LEASE_NACK;
	CHECK(lease_round_trip(&m, &out) && out.kind == LEASE_NACK && out.count == 1234);
	struct lease_msg e = { .kind = LEASE_EPOCH, .epoch = 9 };
	CHECK(lease_round_trip(&e, &out) && out.kind == LEASE_EPOCH && out.epoch == 9);
	e.kind = LEASE_REFUSE;
	CHECK(lease_round_trip(&e, &out) && out.kind == LEASE_REFUSE);
	struct lease_msg d = { .kind = LEASE_PATH_DEAD };
	memset(d.key, 0xa5, sizeof(d.key));
	d.key[0] = 1;
	CHECK(lease_round_trip(&d, &out) && out.kind == LEASE_PATH_DEAD &&
	      memcmp(out.key, d.key, WL_KEY_LEN) == 0);
	d.kind = LEASE_PATH_WAKE;
	CHECK(lease_round_trip(&d, &out) && out.kind == LEASE_PATH_WAKE &&
	      memcmp(out.key, d.key, WL_KEY_LEN) == 0);
	CHECK(lease_kind_known(LEASE_PATH_WAKE) && !lease_kind_known(LEASE_PATH_WAKE + 1));
	struct lease_msg w = { .kind = LEASE_WITHDRAW, .epoch = 3, .n = LEASE_WITHDRAW_MAX };
	for (size_t i = 0; i < LEASE_WITHDRAW_MAX; i++)
		w.gone[i] = 0x1111111111111111ULL * (i + 1);
	CHECK(lease_round_trip(&w, &out) && out.n == LEASE_WITHDRAW_MAX &&
	      out.gone[LEASE_WITHDRAW_MAX - 1] == w.gone[LEASE_WITHDRAW_MAX - 1]);
}

TEST(lease_facts_malformed_refused)
{
	uint8_t key[WL_KEY_LEN];
	memset(key, 7, sizeof(key));
	struct fact f;
	struct lease_msg m = { .kind = LEASE_HOLD, .epoch = 1, .count = 2, .digest = 3 }, out;
	lease_fact(&f, key, 0, &m);
	static const uint16_t bad_len[] = { 0, 4, 5, 16, 18 };
	for (size_t i = 0; i < sizeof(bad_len) / sizeof(bad_len[0]); i++) {
		struct fact g = f;
		g.value_len = bad_len[i];
		CHECK(!lease_parse(&g, &out));
	}
	struct fact g = f;
	g.value[0] = 9; /* no such kind */
	CHECK(!lease_parse(&g, &out));
	g = f;
	g.value[0] = LEASE_WITHDRAW; /* 12 bytes after the header: not whole digests */
	CHECK(!lease_parse(&g, &out));
	g.value_len = 5; /* none at all */
	CHECK(!lease_parse(&g, &out));
	g = f;
	g.value[0] = LEASE_PATH_DEAD; /* 12 bytes: not a key */
	CHECK(!lease_parse(&g, &out));
	/* And on the wire: the decoder refuses a malformed known kind like
	 * any bad fact... */
	uint8_t buf[64];
	g.value[0] = LEASE_NACK;
	g.value_len = 5;
	size_t n = fact_encode(&g, buf, sizeof(buf));
	struct cursor c;
	cursor_init(&c, buf, n);
	struct fact h;
	const char *why = NULL;
	CHECK(!fact_decode(&c, &h, &why));
	CHECK(why && strstr(why, "lease"));
	/* ... but passes one of a kind a later version may add (its reader
	 * skips it), so the rest of the group still counts. */
	g.value[0] = 9;
	g.value_len = 9;
	n = fact_encode(&g, buf, sizeof(buf));
	cursor_init(&c, buf, n);
	CHECK(fact_decode(&c, &h, &why) && cursor_left(&c) == 0);
	CHECK(!lease_parse(&h, &out));
	/* Shorter than a kind and an epoch is malformed whatever the kind. */
	g.value_len = 4;
	n = fact_encode(&g, buf, sizeof(buf));
	cursor_init(&c, buf, n);
	CHECK(!fact_decode(&c, &h, &why));
}

/* The digest hash is the same on every node (a fixed key), and a fact's
 * ttl is not part of it. */
TEST(lease_hash_is_fixed)
{
	uint8_t key[WL_KEY_LEN];
	memset(key, 1, sizeof(key));
	struct wl_endpoint ep;
	CHECK(wl_endpoint_parse("192.0.2.1:51820", &ep));
	struct fact a, b;
	CHECK(fact_make_endpoint(&a, key, &ep, 255));
	CHECK(fact_make_endpoint(&b, key, &ep, 7));
	CHECK(lease_hash(&a) == lease_hash(&b));
	CHECK(lease_hash(&a) != 0);
	ep.port = 51821;
	CHECK(fact_make_endpoint(&b, key, &ep, 255));
	CHECK(lease_hash(&a) != lease_hash(&b));
}
