/* Backend-independent half of wgdev.h: snapshot helpers, backend names,
 * choosing a backend and dispatching to it. */
#include "sys/wgdev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "common/grow.h"
#include "sys/log.h"
#include "sys/wgdev_backend.h"

/* Where wireguard-go and other userspace implementations put their sockets. */
#define WG_UAPI_DIR "/var/run/wireguard"

void wg_device_free(struct wg_device *dev)
{
	if (!dev)
		return;
	for (size_t i = 0; i < dev->n_peers; i++)
		if (!dev->peers[i].allowed_in_block)
			free(dev->peers[i].allowed_ips);
	free(dev->peers);
	free(dev->allowed_block);
	free(dev->moved);
	sodium_memzero(dev->private_key, sizeof(dev->private_key));
	free(dev);
}

struct wg_peer *wg_device_find_peer(struct wg_device *dev, const uint8_t key[static WL_KEY_LEN])
{
	if (!dev)
		return NULL;
	for (size_t i = 0; i < dev->n_peers; i++)
		if (memcmp(dev->peers[i].public_key, key, WL_KEY_LEN) == 0)
			return &dev->peers[i];
	return NULL;
}

struct wg_device *wg_device_new(const char *ifname)
{
	struct wg_device *dev = calloc(1, sizeof(*dev));
	if (dev && ifname)
		snprintf(dev->name, sizeof(dev->name), "%s", ifname);
	return dev;
}

/* Snapshot arrays grow through wl_grow but keep no capacity field (the
 * structs are the backends' common currency): the capacity is implied by
 * the count, as wl_grow leaves it when every element was appended here —
 * 0, then 16, 32, 64, ... */
static size_t implied_cap(size_t n)
{
	size_t cap = 0;
	if (n) {
		cap = 16;
		while (cap < n)
			cap *= 2;
	}
	return cap;
}

/* Room for `need` elements in an array holding n; false when out of
 * memory or on overflow. */
static bool grow_to(void **arr, size_t n, size_t need, size_t elem)
{
	size_t cap = implied_cap(n);
	return wl_grow(arr, &cap, need, elem);
}

bool wg_device_reserve_peers(struct wg_device *dev, size_t n)
{
	return grow_to((void **)&dev->peers, dev->n_peers, n, sizeof(*dev->peers));
}

struct wg_peer *wg_device_add_peer(struct wg_device *dev, const uint8_t key[static WL_KEY_LEN])
{
	if (!grow_to((void **)&dev->peers, dev->n_peers, dev->n_peers + 1, sizeof(*dev->peers)))
		return NULL;
	struct wg_peer *p = &dev->peers[dev->n_peers++];
	memset(p, 0, sizeof(*p));
	memcpy(p->public_key, key, WL_KEY_LEN);
	return p;
}

/* A peer's AllowedIPs in an allocation of its own, so they may grow. */
static int own_allowed(struct wg_peer *peer)
{
	if (!peer->allowed_in_block)
		return 0;
	struct wl_cidr *v = peer->allowed_ips;
	peer->allowed_ips = NULL;
	peer->allowed_in_block = false;
	size_t n = peer->n_allowed;
	peer->n_allowed = 0;
	return wg_peer_set_allowed(peer, v, n);
}

int wg_peer_set_allowed(struct wg_peer *peer, const struct wl_cidr *v, size_t n)
{
	if (!peer->allowed_in_block)
		free(peer->allowed_ips);
	peer->allowed_ips = NULL;
	peer->allowed_in_block = false;
	peer->n_allowed = 0;
	if (!n)
		return 0;
	/* At once, but to the capacity appending would have left
	 * (implied_cap): a later wg_peer_add_allowed stays in bounds. */
	if (!grow_to((void **)&peer->allowed_ips, 0, n, sizeof(*v)))
		return -ENOMEM;
	memcpy(peer->allowed_ips, v, n * sizeof(*v));
	peer->n_allowed = n;
	return 0;
}

int wg_peer_add_allowed(struct wg_peer *peer, const struct wl_cidr *c)
{
	if (own_allowed(peer) < 0)
		return -ENOMEM;
	if (!grow_to((void **)&peer->allowed_ips, peer->n_allowed, peer->n_allowed + 1,
		     sizeof(*peer->allowed_ips)))
		return -ENOMEM;
	peer->allowed_ips[peer->n_allowed++] = *c;
	return 0;
}

struct wl_cidr *wg_device_allowed_block(struct wg_device *dev, size_t n)
{
	if (dev->allowed_block || !n)
		return NULL;
	dev->allowed_block = calloc(n, sizeof(*dev->allowed_block));
	return dev->allowed_block;
}

void wg_peer_use_block(struct wg_peer *peer, struct wl_cidr *v, size_t n)
{
	if (!peer->allowed_in_block)
		free(peer->allowed_ips);
	peer->allowed_ips = n ? v : NULL;
	peer->allowed_in_block = n != 0;
	peer->n_allowed = n;
}

const char *wgdev_backend_name(enum wgdev_backend b)
{
	switch (b) {
	case WGDEV_AUTO: return "auto";
	case WGDEV_KERNEL: return "kernel";
	case WGDEV_USERSPACE: return "userspace";
	case WGDEV_MEMORY: return "memory";
	}
	return "?";
}

bool wgdev_backend_parse(const char *s, enum wgdev_backend *out)
{
	static const enum wgdev_backend all[] = { WGDEV_AUTO, WGDEV_KERNEL, WGDEV_USERSPACE,
						  WGDEV_MEMORY };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(s, wgdev_backend_name(all[i])) == 0) {
			*out = all[i];
			return true;
		}
	}
	return false;
}

/* Interface names become part of a socket path: refuse anything that
 * could step outside WG_UAPI_DIR or that the kernel would refuse. */
static bool ifname_ok(const char *ifname)
{
	size_t len = strnlen(ifname, IFNAMSIZ);
	if (len == 0 || len >= IFNAMSIZ)
		return false;
	if (strchr(ifname, '/') || strcmp(ifname, ".") == 0 || strcmp(ifname, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)ifname[i] <= ' ' || ifname[i] == ':' || ifname[i] == 0x7f)
			return false;
	return true;
}

bool wgdev_uapi_present(const char *ifname)
{
	if (!ifname_ok(ifname))
		return false;
	char path[sizeof(WG_UAPI_DIR) + IFNAMSIZ + 8];
	struct stat st;
	snprintf(path, sizeof(path), WG_UAPI_DIR "/%s.sock", ifname);
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static const struct wgdev_ops *ops_for(enum wgdev_backend b)
{
	switch (b) {
	case WGDEV_USERSPACE:
		return &wg_uapi_ops;
	case WGDEV_KERNEL:
		return &wg_genl_ops;
	case WGDEV_MEMORY:
		return &wg_mem_ops; /* whose open() explains the refusal */
	case WGDEV_AUTO:
		break;
	}
	return NULL;
}

static int open_with(const char *ifname, enum wgdev_backend backend, struct wgdev **out)
{
	const struct wgdev_ops *ops = ops_for(backend);
	if (!ops) {
		log_error("wgdev: no backend '%s'", wgdev_backend_name(backend));
		return -EINVAL;
	}
	return ops->open(ifname, out);
}

int wgdev_open(const char *ifname, enum wgdev_backend backend, struct wgdev **out)
{
	*out = NULL;
	if (!ifname || !ifname_ok(ifname)) {
		log_error("wgdev: invalid interface name '%s'", ifname ? ifname : "(null)");
		return -EINVAL;
	}
	bool automatic = backend == WGDEV_AUTO;
	if (automatic)
		backend = wgdev_uapi_present(ifname) ? WGDEV_USERSPACE : WGDEV_KERNEL;
	struct wgdev *wg = NULL;
	int r = open_with(ifname, backend, &wg);
	if (r == -ECONNREFUSED && automatic) {
		/* A dead userspace daemon's socket file: the interface may
		 * well be a kernel one now. */
		log_warn("wgdev: %s: ignoring the stale UAPI socket, trying the kernel", ifname);
		backend = WGDEV_KERNEL;
		r = open_with(ifname, backend, &wg);
	}
	if (r < 0)
		return r;
	const struct wgdev_ops *ops = ops_for(backend);
	wg->ops = ops;
	wg->backend = backend;
	snprintf(wg->ifname, sizeof(wg->ifname), "%s", ifname);
	*out = wg;
	return 0;
}

void wgdev_close(struct wgdev *wg)
{
	if (wg)
		wg->ops->close(wg);
}

enum wgdev_backend wgdev_backend_of(const struct wgdev *wg)
{
	return wg->backend;
}

const char *wgdev_ifname(const struct wgdev *wg)
{
	return wg->ifname;
}

int wgdev_get(struct wgdev *wg, struct wg_device **out)
{
	*out = NULL;
	struct wg_device *dev = NULL;
	int r = wg->ops->get(wg, &dev);
	if (r < 0)
		return r;
	if (dev->name[0] == '\0')
		snprintf(dev->name, sizeof(dev->name), "%s", wg->ifname);
	/* A model's name is no interface of this host: its ifindex is its own. */
	if (dev->ifindex == 0 && wg->backend != WGDEV_MEMORY)
		dev->ifindex = if_nametoindex(wg->ifname);
	*out = dev;
	return 0;
}

int wgdev_refresh(struct wgdev *wg, struct wg_device **dev)
{
	int r = *dev && wg->ops->refresh ? wg->ops->refresh(wg, *dev) : 0;
	if (r > 0)
		return 0;
	wg_device_free(*dev);
	*dev = NULL;
	return r < 0 ? r : wgdev_get(wg, dev);
}

int wgdev_apply(struct wgdev *wg, const struct wg_peer_change *changes, size_t n)
{
	if (n == 0)
		return 0;
	return wg->ops->apply(wg, changes, n);
}

int wgdev_set_device(struct wgdev *wg, const uint8_t *private_key, int listen_port)
{
	if (listen_port < -1 || listen_port > 65535)
		return -EINVAL;
	if (!private_key && listen_port < 0)
		return 0;
	return wg->ops->set_device(wg, private_key, listen_port);
}
