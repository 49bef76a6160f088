/* Test fixture for the core engine: a node = an engine plus a hand-built
 * device snapshot and interface list, and a minimal in-memory "device"
 * that applies the engine's changes, so tests can run a few ticks of one
 * or two engines without any OS. (The big multi-node scenarios belong to
 * the simulator, not here.) */
#ifndef WL_TEST_CORE_FIXTURE_H
#define WL_TEST_CORE_FIXTURE_H

#include "core/engine.h"
#include "sys/wgdev.h"

#define TN_PEERS 16
#define TN_ALLOWED 16
#define TN_IFACES 4
#define TN_ADDRS 4

struct tnode {
	uint8_t priv[32], pub[32];
	struct engine *e;
	struct engine_config cfg;
	struct wg_device dev;
	struct wg_peer peers[TN_PEERS];
	struct wl_cidr allowed[TN_PEERS][TN_ALLOWED];
	int64_t hs[TN_PEERS];
	struct engine_iface ifaces[TN_IFACES];
	char ifnames[TN_IFACES][16];
	struct wl_cidr ifaddrs[TN_IFACES][TN_ADDRS];
	size_t n_ifaces;
	struct engine_actions act;
};

/* The engine's default timing (engine_timing_default), for expectations. */
const struct engine_timing *tdefault_timing(void);
/* Deterministic key pair number i. */
void tkey(unsigned i, uint8_t priv[32], uint8_t pub[32]);
/* Fills cfg defaults with key i (no peers). */
void tnode_config(struct tnode *n, unsigned i);
/* Creates the engine from n->cfg (call tnode_config first, then adjust). */
void tnode_start(struct tnode *n, int64_t now);
void tnode_free(struct tnode *n);

/* Device peer with an optional endpoint ("192.0.2.1:51820" or NULL) and
 * handshake time (ENGINE_NEVER for none). */
struct wg_peer *tnode_dev_peer(struct tnode *n, const uint8_t pub[32], const char *endpoint,
			       int64_t hs);
struct wg_peer *tnode_find(struct tnode *n, const uint8_t pub[32]);
int tnode_index(struct tnode *n, const uint8_t pub[32]);
void tnode_allow(struct wg_peer *p, const char *cidr);
bool tnode_has_allowed(const struct wg_peer *p, const char *cidr);
/* Interface with up to TN_ADDRS "addr/prefix" strings (NULL-terminated). */
void tnode_iface(struct tnode *n, const char *name, bool up, bool report, const char *const *addrs);

/* Clears n->act and ticks. */
void tnode_tick(struct tnode *n, int64_t now);
/* Applies n->act.changes to n->dev, as a WireGuard device would. */
void tnode_apply(struct tnode *n);
/* Feeds every datagram in from->act addressed to `to` into to's engine;
 * returns how many were delivered. */
int tdeliver(struct tnode *from, struct tnode *to, int64_t now);
/* Number of datagrams and facts in n->act addressed to pub. */
int tsent_to(const struct tnode *n, const uint8_t pub[32], int *facts, bool *has_alive);

/* A known fact with this attribute, subject and value text (as
 * fact_value_str prints it; NULL = any value). */
bool thas_fact(const struct engine *e, uint8_t attr, const uint8_t subject[32], const char *value);
/* An event of this kind in n->act (for peer, or any if NULL). */
bool thas_event(const struct tnode *n, enum engine_event_kind kind, const uint8_t *peer);
/* The change for pub in n->act, or NULL. */
const struct engine_change *tchange(const struct tnode *n, const uint8_t pub[32]);

/* A signed datagram from key `from` (private) to `to` (public) with the
 * given facts; returns its length. */
size_t tseal(const uint8_t from_priv[32], const uint8_t to_pub[32], const struct fact *facts,
	     size_t n, uint8_t *out, size_t cap);
/* engine_receive from key pub's auto address. */
enum engine_rx treceive(struct tnode *n, int64_t now, const uint8_t from_pub[32],
			const uint8_t *buf, size_t len);



/* Facts in n->act datagrams to `to` about `subject` (any subject if NULL)
 * with attribute attr (any if 0). */
int tsent_about(const struct tnode *n, const uint8_t to[32], const uint8_t *subject, uint8_t attr);
#endif
