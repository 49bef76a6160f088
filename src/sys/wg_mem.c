/* The in-memory WireGuard device (wg_mem.h) and its wgdev backend. */
#include "sys/wg_mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <sodium.h>

#include "common/grow.h"
#include "sys/log.h"
#include "sys/wgdev_backend.h"

/* A live peer. The public struct comes first, so the `struct wg_peer *`
 * handed to the owner converts back with a cast. Its allowed_ips array
 * grows through wg_peer_add_allowed like a snapshot's. */
struct mem_peer {
	struct wg_peer pub;
	void *owner_data;
	struct wg_mem *m;
	size_t idx;   /* in m->peers */
	bool touched; /* listed in m->touched */
};

struct host_route {
	struct wl_addr addr; /* family 0 = empty slot */
	struct mem_peer *peer;
};

struct net_route {
	struct wl_cidr cidr;
	struct mem_peer *peer;
};

/* Which peer has a prefix (peer NULL: an empty slot). */
struct owner_slot {
	struct wl_cidr cidr;
	struct mem_peer *peer;
};

struct wg_mem {
	char name[IFNAMSIZ];
	uint32_t ifindex;
	bool has_private_key;
	uint8_t private_key[WL_KEY_LEN], public_key[WL_KEY_LEN];
	uint16_t listen_port;
	size_t n_peers, cap_peers;
	struct mem_peer **peers; /* pointers, so the owner's peer pointers survive growth */
	struct wg_mem_hooks hooks;
	void *hooks_ctx;
	/* The owner's reference plus one per open handle; the struct goes
	 * when the last one does. After wg_mem_free the device is gone and
	 * handles get -ENODEV. */
	unsigned refs;
	bool gone;
	/* AllowedIPs lookup, rebuilt lazily after configuration changes:
	 * full-length prefixes in an open-addressing hash table, the others
	 * by decreasing length. Scanning every peer per packet made a
	 * 100-peer hub the simulator's hot spot. */
	bool routes_dirty;
	size_t hosts_cap;
	struct host_route *hosts;
	size_t n_nets;
	struct net_route *nets;
	/* Peers by public key, rebuilt lazily after a peer comes or goes:
	 * slots hold a position in peers + 1 (0 = empty). A scan per lookup
	 * made a 1,000-peer device the simulator's hot spot (issue 12). */
	bool keys_dirty;
	size_t keys_cap;
	uint32_t *keys;
	/* Every prefix's peer, kept as prefixes come and go (open addressing,
	 * at most half full): a prefix belongs to one peer, and looking
	 * through every peer's list for it made adding a thousand peers take
	 * a million comparisons. owners_lost: out of memory once, so the
	 * lists are searched instead from then on. */
	size_t owners_cap, n_owners;
	struct owner_slot *owners;
	bool owners_lost;
	/* Snapshots refreshed in place (wgdev_refresh): shape_gen moves with
	 * every change of configuration, the owner's writes list their peer
	 * in touched (wg_mem_peer_touch), and snap_serial numbers the
	 * snapshots taken, so that only the latest is refreshed. Copying a
	 * thousand peers out at every tick, most of them unchanged, was a
	 * fifth of a 1,000-node simulation (issue 12). */
	uint64_t shape_gen, snap_serial;
	size_t n_touched, cap_touched;
	struct mem_peer **touched;
	bool check_refresh; /* wg_mem_check_refresh */
};

/* The wgdev handle; base first (wgdev_backend.h). */
struct wg_mem_handle {
	struct wgdev base;
	struct wg_mem *m;
	/* The snapshot this handle gave last, as of which shape and serial:
	 * the one it may refresh in place. */
	const struct wg_device *last;
	uint64_t last_shape, last_serial;
};

/* ---- lifetime ---- */

struct wg_mem *wg_mem_new(const char *ifname, uint32_t ifindex)
{
	if (!ifname || ifname[0] == '\0' || strnlen(ifname, IFNAMSIZ) >= IFNAMSIZ)
		return NULL;
	struct wg_mem *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	snprintf(m->name, sizeof(m->name), "%s", ifname);
	m->ifindex = ifindex;
	m->refs = 1;
	m->routes_dirty = true;
	m->keys_dirty = true;
	return m;
}

/* ---- who has a prefix ---- */

/* The slot holding c, or the empty one where it would go. */
static size_t owner_slot(const struct wg_mem *m, const struct wl_cidr *c)
{
	size_t mask = m->owners_cap - 1, k = wl_cidr_hash(WL_HASH_BASIS, c) & mask;
	while (m->owners[k].peer && !wl_cidr_equal(&m->owners[k].cidr, c))
		k = (k + 1) & mask;
	return k;
}

static struct mem_peer *owner_find(const struct wg_mem *m, const struct wl_cidr *c)
{
	if (m->owners_lost) {
		for (size_t i = 0; i < m->n_peers; i++)
			for (size_t j = 0; j < m->peers[i]->pub.n_allowed; j++)
				if (wl_cidr_equal(&m->peers[i]->pub.allowed_ips[j], c))
					return m->peers[i];
		return NULL;
	}
	return m->owners_cap ? m->owners[owner_slot(m, c)].peer : NULL;
}

static bool owners_grow(struct wg_mem *m)
{
	size_t cap = m->owners_cap ? 2 * m->owners_cap : 16;
	struct owner_slot *old = m->owners, *v = calloc(cap, sizeof(*v));
	if (!v)
		return false;
	size_t old_cap = m->owners_cap;
	m->owners = v;
	m->owners_cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].peer)
			m->owners[owner_slot(m, &old[i].cidr)] = old[i];
	free(old);
	return true;
}

/* c (masked) is p's now. */
static void owner_set(struct wg_mem *m, const struct wl_cidr *c, struct mem_peer *p)
{
	if (m->owners_lost)
		return;
	if (2 * (m->n_owners + 1) > m->owners_cap && !owners_grow(m)) {
		m->owners_lost = true;
		return;
	}
	struct owner_slot *o = &m->owners[owner_slot(m, c)];
	if (!o->peer)
		m->n_owners++;
	o->cidr = *c;
	o->peer = p;
}

/* c is nobody's now. Later slots of its probe run move back into the
 * gap (no tombstones to sweep). */
static void owner_del(struct wg_mem *m, const struct wl_cidr *c)
{
	if (m->owners_lost || !m->owners_cap)
		return;
	size_t mask = m->owners_cap - 1, gap = owner_slot(m, c);
	if (!m->owners[gap].peer)
		return;
	m->owners[gap].peer = NULL;
	m->n_owners--;
	for (size_t k = (gap + 1) & mask; m->owners[k].peer; k = (k + 1) & mask) {
		size_t home = wl_cidr_hash(WL_HASH_BASIS, &m->owners[k].cidr) & mask;
		/* Movable when its home is not within (gap, k]. */
		if (((k - home) & mask) >= ((k - gap) & mask)) {
			m->owners[gap] = m->owners[k];
			m->owners[k].peer = NULL;
			gap = k;
		}
	}
}

/* The touched list is spent: a snapshot was taken, or the shape moved
 * (the next refresh copies every peer). */
static void untouch_all(struct wg_mem *m)
{
	for (size_t i = 0; i < m->n_touched; i++)
		m->touched[i]->touched = false;
	m->n_touched = 0;
}

/* The configuration changes: the next snapshot is taken afresh. */
static void reshape(struct wg_mem *m)
{
	m->shape_gen++;
	untouch_all(m);
}

/* p is already out of m->peers. */
static void peer_destroy(struct wg_mem *m, struct mem_peer *p)
{
	m->routes_dirty = true; /* before the hook, which may route */
	m->keys_dirty = true;
	if (m->hooks.peer_removed)
		m->hooks.peer_removed(m->hooks_ctx, &p->pub);
	for (size_t j = 0; j < p->pub.n_allowed; j++)
		owner_del(m, &p->pub.allowed_ips[j]);
	if (p->touched) /* by the hook: the list must not keep it */
		for (size_t i = 0; i < m->n_touched; i++)
			if (m->touched[i] == p)
				m->touched[i--] = m->touched[--m->n_touched];
	free(p->pub.allowed_ips);
	free(p);
}

static void unref(struct wg_mem *m)
{
	if (--m->refs > 0)
		return;
	free(m->peers);
	free(m->hosts);
	free(m->nets);
	free(m->keys);
	free(m->owners);
	free(m->touched);
	free(m);
}

void wg_mem_free(struct wg_mem *m)
{
	if (!m || m->gone)
		return;
	/* Last peer first, so the owner sees every peer_removed while the
	 * others are still in place (as a stream of single removals). */
	reshape(m);
	while (m->n_peers > 0)
		peer_destroy(m, m->peers[--m->n_peers]);
	memset(&m->hooks, 0, sizeof(m->hooks));
	sodium_memzero(m->private_key, sizeof(m->private_key));
	m->has_private_key = false;
	m->gone = true;
	unref(m);
}

/* ---- peers ---- */

/* A public key's bytes are all but random already (tests' made-up keys
 * less so, hence the mixing): sixteen of them are hash enough, and FNV over
 * all 32 was a good part of the simulator's per-packet lookup. */
static uint64_t key_hash(const uint8_t key[static WL_KEY_LEN])
{
	uint64_t lo, hi;
	memcpy(&lo, key, sizeof(lo));
	memcpy(&hi, key + WL_KEY_LEN - sizeof(hi), sizeof(hi));
	uint64_t h = (lo ^ hi) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

/* The key index for the peers as they are now (at most half full); false
 * if there is no memory for it (lookups then scan). */
static bool rebuild_keys(struct wg_mem *m)
{
	size_t cap = 16;
	while (cap < 2 * m->n_peers)
		cap *= 2;
	if (cap != m->keys_cap) {
		uint32_t *k = calloc(cap, sizeof(*k));
		if (!k)
			return false;
		free(m->keys);
		m->keys = k;
		m->keys_cap = cap;
	} else {
		memset(m->keys, 0, cap * sizeof(*m->keys));
	}
	for (size_t i = 0; i < m->n_peers; i++) {
		size_t k = key_hash(m->peers[i]->pub.public_key) & (cap - 1);
		while (m->keys[k])
			k = (k + 1) & (cap - 1);
		m->keys[k] = (uint32_t)i + 1;
	}
	m->keys_dirty = false;
	return true;
}

/* A peer appended at position i joins a clean index in place while it
 * stays at most half full (adding a thousand peers must not rebuild it a
 * thousand times); otherwise the next lookup rebuilds it. */
static void index_key(struct wg_mem *m, size_t i)
{
	if (m->keys_dirty || 2 * m->n_peers > m->keys_cap) {
		m->keys_dirty = true;
		return;
	}
	size_t k = key_hash(m->peers[i]->pub.public_key) & (m->keys_cap - 1);
	while (m->keys[k])
		k = (k + 1) & (m->keys_cap - 1);
	m->keys[k] = (uint32_t)i + 1;
}

static ssize_t peer_index(struct wg_mem *m, const uint8_t key[static WL_KEY_LEN])
{
	if (m->keys_dirty && !rebuild_keys(m)) {
		for (size_t i = 0; i < m->n_peers; i++)
			if (memcmp(m->peers[i]->pub.public_key, key, WL_KEY_LEN) == 0)
				return (ssize_t)i;
		return -1;
	}
	for (size_t k = key_hash(key) & (m->keys_cap - 1); m->keys[k];
	     k = (k + 1) & (m->keys_cap - 1)) {
		size_t i = m->keys[k] - 1;
		if (memcmp(m->peers[i]->pub.public_key, key, WL_KEY_LEN) == 0)
			return (ssize_t)i;
	}
	return -1;
}

struct wg_peer *wg_mem_find(struct wg_mem *m, const uint8_t key[static WL_KEY_LEN])
{
	ssize_t i = peer_index(m, key);
	return i < 0 ? NULL : &m->peers[i]->pub;
}

size_t wg_mem_peer_count(const struct wg_mem *m)
{
	return m->n_peers;
}

struct wg_peer *wg_mem_peer_at(struct wg_mem *m, size_t i)
{
	return i < m->n_peers ? &m->peers[i]->pub : NULL;
}

/* Live peers are the first member of a mem_peer (wg_mem.h says p must be
 * one), so the cast goes back to it. */
void *wg_mem_peer_data(const struct wg_peer *p)
{
	return ((const struct mem_peer *)(const void *)p)->owner_data;
}

void wg_mem_peer_set_data(struct wg_peer *p, void *data)
{
	((struct mem_peer *)(void *)p)->owner_data = data;
}

/* Removes peer i, keeping the others in order. */
static void remove_at(struct wg_mem *m, size_t i)
{
	struct mem_peer *p = m->peers[i];
	memmove(&m->peers[i], &m->peers[i + 1], (m->n_peers - i - 1) * sizeof(*m->peers));
	m->n_peers--;
	for (size_t k = i; k < m->n_peers; k++)
		m->peers[k]->idx = k;
	m->keys_dirty = true;
	peer_destroy(m, p);
}

/* Appends a new peer and tells the owner. 0, or -ENOMEM or the owner's
 * refusal (then nothing changed and *out is NULL). */
static int create_peer(struct wg_mem *m, const uint8_t key[static WL_KEY_LEN], struct wg_peer **out)
{
	*out = NULL;
	if (!wl_grow((void **)&m->peers, &m->cap_peers, m->n_peers + 1, sizeof(*m->peers)))
		return -ENOMEM;
	struct mem_peer *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	memcpy(p->pub.public_key, key, WL_KEY_LEN);
	p->m = m;
	p->idx = m->n_peers;
	m->peers[m->n_peers++] = p;
	index_key(m, m->n_peers - 1);
	int r = m->hooks.peer_added ? m->hooks.peer_added(m->hooks_ctx, &p->pub) : 0;
	if (r < 0) {
		/* Refused before the owner holds anything for it: no
		 * peer_removed. */
		m->n_peers--;
		m->keys_dirty = true;
		free(p);
		return r;
	}
	*out = &p->pub;
	return 0;
}

/* ---- AllowedIPs ---- */

/* Drops entry j of p's AllowedIPs, keeping the order of the rest. */
static void drop_allowed(struct wg_peer *p, size_t j)
{
	memmove(&p->allowed_ips[j], &p->allowed_ips[j + 1],
		(p->n_allowed - j - 1) * sizeof(*p->allowed_ips));
	p->n_allowed--;
}

/* Gives prefix c (masked) to p: a prefix belongs to one peer at a time, so
 * it leaves whichever peer had it, and it ends up last in p's list (where
 * WireGuard's own dump order would not tell). 0 or -ENOMEM (then nothing
 * changed). */
static int give_allowed(struct wg_mem *m, struct wg_peer *p, struct wl_cidr c)
{
	wl_cidr_mask(&c);
	struct mem_peer *mo = owner_find(m, &c);
	struct wg_peer *owner = mo ? &mo->pub : NULL;
	size_t at = 0;
	while (owner && at < owner->n_allowed && !wl_cidr_equal(&owner->allowed_ips[at], &c))
		at++;
	if (owner && at == owner->n_allowed)
		owner = NULL; /* the index is always right; were it not, no overrun */
	if (owner && owner == p) {
		/* Already p's: only its place in the list changes. */
		drop_allowed(p, at);
		p->allowed_ips[p->n_allowed++] = c;
		return 0;
	}
	/* Append before taking it away, so a failed append changes nothing. */
	if (wg_peer_add_allowed(p, &c) < 0)
		return -ENOMEM;
	if (owner)
		drop_allowed(owner, at);
	owner_set(m, &c, (struct mem_peer *)(void *)p);
	m->routes_dirty = true;
	return 0;
}

static uint64_t addr_hash(const struct wl_addr *a)
{
	return wl_hash_bytes(WL_HASH_BASIS ^ a->family, a->bytes, sizeof(a->bytes));
}

static int net_cmp(const void *x, const void *y)
{
	const struct net_route *a = x, *b = y;
	return (int)b->cidr.prefix - (int)a->cidr.prefix;
}

static bool is_host(const struct wl_cidr *c)
{
	return c->prefix == 8 * wl_addr_len(&c->addr);
}

/* Rebuilds the lookup tables; false when out of memory (the old tables
 * are gone then and routes_dirty stays set). */
static bool rebuild_routes(struct wg_mem *m)
{
	size_t n_host = 0, n_net = 0;
	for (size_t i = 0; i < m->n_peers; i++)
		for (size_t j = 0; j < m->peers[i]->pub.n_allowed; j++) {
			if (is_host(&m->peers[i]->pub.allowed_ips[j]))
				n_host++;
			else
				n_net++;
		}
	/* At most half full, so a probe ends soon on an empty slot. */
	size_t cap = 16;
	while (cap < 2 * n_host)
		cap *= 2;
	free(m->hosts);
	free(m->nets);
	m->hosts = calloc(cap, sizeof(*m->hosts));
	m->nets = calloc(n_net ? n_net : 1, sizeof(*m->nets));
	if (!m->hosts || !m->nets) {
		free(m->hosts);
		free(m->nets);
		m->hosts = NULL;
		m->nets = NULL;
		return false;
	}
	m->hosts_cap = cap;
	m->n_nets = 0;
	for (size_t i = 0; i < m->n_peers; i++) {
		struct mem_peer *p = m->peers[i];
		for (size_t j = 0; j < p->pub.n_allowed; j++) {
			const struct wl_cidr *c = &p->pub.allowed_ips[j];
			if (!is_host(c)) {
				m->nets[m->n_nets].cidr = *c;
				m->nets[m->n_nets++].peer = p;
				continue;
			}
			size_t k = addr_hash(&c->addr) & (cap - 1);
			while (m->hosts[k].addr.family)
				k = (k + 1) & (cap - 1);
			m->hosts[k].addr = c->addr;
			m->hosts[k].peer = p;
		}
	}
	/* Prefixes of one length are disjoint, so their order is free. */
	qsort(m->nets, m->n_nets, sizeof(*m->nets), net_cmp);
	m->routes_dirty = false;
	return true;
}

/* The same answer without tables, for when they cannot be built. */
static struct wg_peer *route_slowly(struct wg_mem *m, const struct wl_addr *addr)
{
	struct wg_peer *best = NULL;
	int best_len = -1;
	for (size_t i = 0; i < m->n_peers; i++) {
		struct wg_peer *p = &m->peers[i]->pub;
		for (size_t j = 0; j < p->n_allowed; j++) {
			const struct wl_cidr *c = &p->allowed_ips[j];
			if (c->prefix > best_len && wl_cidr_contains(c, addr)) {
				best = p;
				best_len = c->prefix;
			}
		}
	}
	return best;
}

struct wg_peer *wg_mem_route(struct wg_mem *m, const struct wl_addr *addr)
{
	if (m->routes_dirty && !rebuild_routes(m))
		return route_slowly(m, addr);
	size_t k = addr_hash(addr) & (m->hosts_cap - 1);
	for (; m->hosts[k].addr.family; k = (k + 1) & (m->hosts_cap - 1))
		if (wl_addr_equal(&m->hosts[k].addr, addr))
			return &m->hosts[k].peer->pub;
	for (size_t i = 0; i < m->n_nets; i++)
		if (wl_cidr_contains(&m->nets[i].cidr, addr))
			return &m->nets[i].peer->pub;
	return NULL;
}

/* ---- applying changes ---- */

static bool cidr_ok(const struct wl_cidr *c)
{
	size_t len = wl_addr_len(&c->addr);
	return len != 0 && c->prefix <= 8 * len;
}

/* Whether the real backends would accept the change (wgdev.h). */
static bool change_ok(const struct wg_peer_change *ch)
{
	if (ch->flags & WG_PEER_REMOVE)
		return true; /* only removes; the rest is ignored */
	if ((ch->flags & WG_PEER_SET_ENDPOINT) && wl_addr_len(&ch->endpoint.addr) == 0)
		return false;
	if (ch->n_allowed && !ch->allowed_ips)
		return false;
	for (size_t j = 0; j < ch->n_allowed; j++)
		if (!cidr_ok(&ch->allowed_ips[j]))
			return false;
	return true;
}

static int apply_change(struct wg_mem *m, const struct wg_peer_change *ch)
{
	reshape(m);
	ssize_t i = peer_index(m, ch->public_key);
	if (ch->flags & WG_PEER_REMOVE) {
		if (i >= 0)
			remove_at(m, (size_t)i);
		return 0;
	}
	struct wg_peer *p;
	if (i >= 0) {
		p = &m->peers[i]->pub;
	} else {
		if (ch->flags & WG_PEER_UPDATE_ONLY)
			return 0;
		/* WireGuard ignores a peer with the device's own key, silently,
		 * so one batch can configure every node of a network. */
		if (m->has_private_key && memcmp(ch->public_key, m->public_key, WL_KEY_LEN) == 0)
			return 0;
		int r = create_peer(m, ch->public_key, &p);
		if (r < 0)
			return r;
	}
	if (ch->flags & WG_PEER_SET_ENDPOINT) {
		bool moved = !p->has_endpoint || !wl_endpoint_equal(&p->endpoint, &ch->endpoint);
		p->has_endpoint = true;
		p->endpoint = ch->endpoint;
		if (moved && m->hooks.endpoint_set)
			m->hooks.endpoint_set(m->hooks_ctx, p);
	}
	if (ch->flags & WG_PEER_REPLACE_ALLOWED_IPS) {
		for (size_t j = 0; j < p->n_allowed; j++)
			owner_del(m, &p->allowed_ips[j]);
		p->n_allowed = 0;
		m->routes_dirty = true;
	}
	for (size_t j = 0; j < ch->n_allowed; j++) {
		int r = give_allowed(m, p, ch->allowed_ips[j]);
		if (r < 0)
			return r;
	}
	if (ch->flags & WG_PEER_SET_KEEPALIVE) {
		uint16_t old = p->persistent_keepalive;
		p->persistent_keepalive = ch->persistent_keepalive;
		if (m->hooks.keepalive_set)
			m->hooks.keepalive_set(m->hooks_ctx, p, old);
	}
	return 0;
}

/* ---- the wgdev backend ---- */

static struct wg_mem *model_of(struct wgdev *wg)
{
	struct wg_mem *m = wgdev_container(wg, struct wg_mem_handle)->m;
	return m->gone ? NULL : m;
}

static int mem_open(const char *ifname, struct wgdev **out)
{
	*out = NULL;
	log_error("wgdev: %s: a memory device cannot be opened by name (wgdev_open_memory opens one)",
		  ifname);
	return -EINVAL;
}

static int mem_get(struct wgdev *wg, struct wg_device **out)
{
	*out = NULL;
	struct wg_mem *m = model_of(wg);
	if (!m)
		return -ENODEV;
	struct wg_device *d = wg_device_new(m->name);
	if (!d)
		return -ENOMEM;
	d->ifindex = m->ifindex;
	d->has_private_key = m->has_private_key;
	memcpy(d->private_key, m->private_key, WL_KEY_LEN);
	memcpy(d->public_key, m->public_key, WL_KEY_LEN);
	d->listen_port = m->listen_port;
	if (!wg_device_reserve_peers(d, m->n_peers))
		goto oom;
	size_t n_allowed = 0;
	for (size_t i = 0; i < m->n_peers; i++)
		n_allowed += m->peers[i]->pub.n_allowed;
	struct wl_cidr *block = wg_device_allowed_block(d, n_allowed);
	if (n_allowed && !block)
		goto oom;
	for (size_t i = 0; i < m->n_peers; i++) {
		const struct wg_peer *p = &m->peers[i]->pub;
		struct wg_peer *o = wg_device_add_peer(d, p->public_key);
		if (!o)
			goto oom;
		*o = *p;
		o->allowed_ips = NULL; /* the model's own, not to be freed with d */
		o->allowed_in_block = false;
		if (p->n_allowed) {
			memcpy(block, p->allowed_ips, p->n_allowed * sizeof(*block));
			wg_peer_use_block(o, block, p->n_allowed);
			block += p->n_allowed;
		}
	}
	/* What the owner wrote is in this snapshot now. */
	untouch_all(m);
	struct wg_mem_handle *h = wgdev_container(wg, struct wg_mem_handle);
	h->last = d;
	h->last_shape = m->shape_gen;
	h->last_serial = ++m->snap_serial;
	*out = d;
	return 0;
oom:
	wg_device_free(d);
	return -ENOMEM;
}

/* What the owner may write of a live peer (wg_mem.h), from model to
 * snapshot. */
static void copy_owned(struct wg_peer *to, const struct wg_peer *from)
{
	to->has_endpoint = from->has_endpoint;
	to->endpoint = from->endpoint;
	to->last_handshake = from->last_handshake;
	to->rx_bytes = from->rx_bytes;
	to->tx_bytes = from->tx_bytes;
}

static bool same_peer(const struct wg_peer *a, const struct wg_peer *b)
{
	return memcmp(a->public_key, b->public_key, WL_KEY_LEN) == 0 &&
	       a->has_endpoint == b->has_endpoint &&
	       (!a->has_endpoint || wl_endpoint_equal(&a->endpoint, &b->endpoint)) &&
	       a->last_handshake.tv_sec == b->last_handshake.tv_sec &&
	       a->last_handshake.tv_nsec == b->last_handshake.tv_nsec &&
	       a->rx_bytes == b->rx_bytes && a->tx_bytes == b->tx_bytes &&
	       a->persistent_keepalive == b->persistent_keepalive && a->n_allowed == b->n_allowed &&
	       (!a->n_allowed ||
		memcmp(a->allowed_ips, b->allowed_ips, a->n_allowed * sizeof(*a->allowed_ips)) == 0);
}

/* wg_mem_check_refresh: an owner that wrote a peer without touching it
 * would leave the snapshot stale, and the daemon would read an old
 * handshake; in tests that is a bug to stop at. */
static void check_refreshed(const struct wg_mem *m, const struct wg_device *d)
{
	for (size_t i = 0; i < m->n_peers; i++) {
		if (same_peer(&d->peers[i], &m->peers[i]->pub))
			continue;
		log_error("wgdev: %s: peer %zu was written without wg_mem_peer_touch", m->name, i);
		abort();
	}
}

/* In place when the configuration has not moved since this handle's
 * snapshot dev and no other was taken: only the touched peers are copied.
 * 1 refreshed, 0 not possible (wgdev.c takes a new one). */
static int mem_refresh(struct wgdev *wg, struct wg_device *d)
{
	struct wg_mem *m = model_of(wg);
	struct wg_mem_handle *h = wgdev_container(wg, struct wg_mem_handle);
	if (!m || h->last != d || h->last_shape != m->shape_gen ||
	    h->last_serial != m->snap_serial || d->n_peers != m->n_peers)
		return 0;
	/* Which were written, for the reader (engine_device.moved); with no
	 * room to say, it reads as a fresh snapshot. */
	d->same_peers = wl_grow((void **)&d->moved, &d->cap_moved, m->n_touched, sizeof(*d->moved));
	d->n_moved = d->same_peers ? m->n_touched : 0;
	for (size_t i = 0; i < m->n_touched; i++) {
		const struct mem_peer *p = m->touched[i];
		copy_owned(&d->peers[p->idx], &p->pub);
		if (d->same_peers)
			d->moved[i] = (uint32_t)p->idx;
	}
	untouch_all(m);
	if (m->check_refresh)
		check_refreshed(m, d);
	h->last_serial = ++m->snap_serial;
	return 1;
}

static int mem_apply(struct wgdev *wg, const struct wg_peer_change *changes, size_t n)
{
	struct wg_mem *m = model_of(wg);
	if (!m)
		return -ENODEV;
	for (size_t i = 0; i < n; i++) {
		if (!change_ok(&changes[i])) {
			log_error("wgdev: %s: change %zu has an endpoint or allowed IP without an "
				  "address family or with a prefix longer than the address",
				  m->name, i);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < n; i++) {
		int r = apply_change(m, &changes[i]);
		if (r < 0) {
			log_error("wgdev: %s: change %zu: %s", m->name, i, strerror(-r));
			return r;
		}
	}
	return 0;
}

static int mem_set_device(struct wgdev *wg, const uint8_t *private_key, int listen_port)
{
	struct wg_mem *m = model_of(wg);
	if (!m)
		return -ENODEV;
	if (listen_port < -1 || listen_port > 65535)
		return -EINVAL;
	/* The port first: it is the part that can be refused, and a refused
	 * set_device must change nothing. */
	if (listen_port >= 0 && listen_port != m->listen_port && m->hooks.listen_port_set) {
		int r = m->hooks.listen_port_set(m->hooks_ctx, (uint16_t)listen_port);
		if (r < 0) {
			log_error("wgdev: %s: listen port %d: %s", m->name, listen_port, strerror(-r));
			return r;
		}
	}
	reshape(m);
	if (private_key) {
		uint8_t pub[WL_KEY_LEN];
		crypto_scalarmult_base(pub, private_key);
		/* WireGuard removes a peer that has the new public key: a
		 * device cannot be its own peer. */
		ssize_t i = peer_index(m, pub);
		if (i >= 0)
			remove_at(m, (size_t)i);
		memcpy(m->private_key, private_key, WL_KEY_LEN);
		memcpy(m->public_key, pub, WL_KEY_LEN);
		m->has_private_key = true;
	}
	if (listen_port >= 0)
		m->listen_port = (uint16_t)listen_port;
	return 0;
}

static void mem_close(struct wgdev *wg)
{
	struct wg_mem_handle *h = wgdev_container(wg, struct wg_mem_handle);
	unref(h->m);
	free(h);
}

const struct wgdev_ops wg_mem_ops = {
	.open = mem_open,
	.get = mem_get,
	.refresh = mem_refresh,
	.apply = mem_apply,
	.set_device = mem_set_device,
	.close = mem_close,
};

int wgdev_open_memory(struct wg_mem *m, struct wgdev **out)
{
	*out = NULL;
	if (m->gone)
		return -ENODEV;
	if (sodium_init() < 0)
		return -ENOMEM; /* set_device derives public keys */
	struct wg_mem_handle *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->base.ops = &wg_mem_ops;
	h->base.backend = WGDEV_MEMORY;
	snprintf(h->base.ifname, sizeof(h->base.ifname), "%s", m->name);
	h->m = m;
	m->refs++;
	*out = &h->base;
	return 0;
}

/* ---- the owner's side ---- */

void wg_mem_set_hooks(struct wg_mem *m, const struct wg_mem_hooks *hooks, void *ctx)
{
	if (hooks)
		m->hooks = *hooks;
	else
		memset(&m->hooks, 0, sizeof(m->hooks));
	m->hooks_ctx = ctx;
}

const char *wg_mem_name(const struct wg_mem *m)
{
	return m->name;
}

bool wg_mem_public_key(const struct wg_mem *m, uint8_t out[static WL_KEY_LEN])
{
	if (!m->has_private_key)
		return false;
	memcpy(out, m->public_key, WL_KEY_LEN);
	return true;
}

uint16_t wg_mem_listen_port(const struct wg_mem *m)
{
	return m->listen_port;
}

size_t wg_mem_peer_index(const struct wg_peer *p)
{
	return ((const struct mem_peer *)(const void *)p)->idx;
}

void wg_mem_peer_touch(struct wg_peer *p)
{
	struct mem_peer *mp = (struct mem_peer *)(void *)p;
	struct wg_mem *m = mp->m;
	if (mp->touched)
		return;
	if (!wl_grow((void **)&m->touched, &m->cap_touched, m->n_touched + 1,
		     sizeof(*m->touched))) {
		reshape(m); /* no room to list it: the next snapshot copies all */
		return;
	}
	m->touched[m->n_touched++] = mp;
	mp->touched = true;
}

void wg_mem_check_refresh(struct wg_mem *m, bool on)
{
	m->check_refresh = on;
}
