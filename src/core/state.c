/* Small queries and updates on the engine's shared state, used by every
 * module of the tick (observe, local_facts, receive, apply, send). Kept
 * apart from engine.c, which calls those modules, so no module depends on
 * the file that sequences them. */
#include <stdio.h>
#include <string.h>

#include "core/engine_internal.h"

const uint8_t *engine_shared_key(struct engine *e, struct peer *p)
{
	if (p->shared_state == 0) {
		const uint8_t *k = keycache_get(&e->kc, p->key);
		p->shared_state = k ? 1 : -1;
		if (k)
			memcpy(p->shared, k, sizeof(p->shared));
	}
	return p->shared_state > 0 ? p->shared : NULL;
}

bool engine_is_self(const struct engine *e, const uint8_t key[static WL_KEY_LEN])
{
	return memcmp(e->pub, key, WL_KEY_LEN) == 0;
}

bool engine_key_above(const struct engine *e, const struct peer *p)
{
	return memcmp(e->pub, p->key, WL_KEY_LEN) > 0;
}

const struct cfg_peer *engine_cfg_of(const struct engine *e, const struct peer *p)
{
	return p && p->cfg >= 0 ? &e->cfg[p->cfg] : NULL;
}

const char *engine_peer_label(const struct peer *p, char buf[static WL_PEER_LABEL_MAX])
{
	return wl_peer_label(p->key, p->name, buf);
}

const char *engine_key_label(const struct engine *e, const uint8_t key[static WL_KEY_LEN],
			     char buf[static WL_PEER_LABEL_MAX])
{
	const struct peer *p = peertab_find(&e->pt, key);
	return wl_peer_label(key, p ? p->name : NULL, buf);
}

void engine_new_boot_id(struct engine *e, const char *why)
{
	rng_bytes(&e->rng, e->boot_id, BOOT_ID_LEN);
	/* A version 4 UUID, like the original's. */
	e->boot_id[6] = (uint8_t)((e->boot_id[6] & 0x0f) | 0x40);
	e->boot_id[8] = (uint8_t)((e->boot_id[8] & 0x3f) | 0x80);
	e->st.boot_id_changes++;
	/* Peers must hear the new id promptly, not after their copy ages. */
	for (size_t i = 0; i < e->pt.n; i++) {
		e->pt.v[i]->alive_told = ENGINE_NEVER;
		/* They drop what we leased them when they see the new id, and
		 * number what they lease us afresh: we start over too. */
		if (e->pt.v[i]->ltx_on)
			e->pt.v[i]->ltx.restart = true;
		lease_rx_reset(&e->pt.v[i]->lrx);
	}
	snprintf(e->boot_reason, sizeof(e->boot_reason), "%s", why);
}

int64_t engine_roughly(struct engine *e, int64_t base)
{
	int64_t spread = base / 100 * e->t.jitter_pct + base % 100 * e->t.jitter_pct / 100;
	if (spread <= 0)
		return base;
	uint64_t r;
	rng_bytes(&e->rng, (uint8_t *)&r, sizeof(r));
	return base - spread + (int64_t)(r % (uint64_t)(2 * spread + 1));
}

bool engine_on_our_lan(const struct engine *e, const struct wl_addr *a)
{
	for (size_t i = 0; i < e->n_other; i++)
		if (wl_cidr_contains(&e->other_nets[i], a))
			return true;
	return false;
}

bool engine_through_tunnel(const struct engine *e, const struct wl_addr *a)
{
	bool in_tun = false;
	for (size_t i = 0; i < e->n_tun && !in_tun; i++)
		in_tun = wl_cidr_contains(&e->tun_nets[i], a);
	return in_tun && !engine_on_our_lan(e, a);
}

void engine_mark_dirty(struct engine *e, int64_t now)
{
	if (e->dirty_at == ENGINE_NEVER)
		e->dirty_at = now;
}

uint16_t engine_port(const struct engine *e)
{
	return e->port_cfg ? e->port_cfg : (uint16_t)(e->listen_port + 1);
}

const char *engine_addr_label(const struct engine *e, const struct wl_addr *addr,
			      char buf[static WL_PEER_LABEL_MAX])
{
	for (size_t i = 0; i < e->pt.n; i++)
		if (wl_addr_equal(&e->pt.v[i]->auto_addr, addr))
			return engine_peer_label(e->pt.v[i], buf);
	return NULL;
}
