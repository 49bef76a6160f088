/* Scenario (h): a hub and 99 leaves (a third public, a third each behind
 * its own home NAT, a third together on one LAN behind one NAT) run for
 * one virtual hour. Prints the real time it took (the target is under
 * 60 s), how many leaf pairs ended up direct, and traffic figures.
 * WL_SIM_SCALE_LEAVES and WL_SIM_SCALE_MINUTES change its size and length
 * (issue 12 measured 199 leaves for 20 minutes).
 *
 * (h2): the same with 299 leaves — past a /24 of addresses — for a few
 * virtual minutes (WL_SIM_SCALE300_MINUTES, default 3: past the first
 * refreshes at FactTTL/2): every pair goes direct, and the same rules
 * hold. Shorter than the hour so the test
 * command stays cheap under ASan; the hour at 100 nodes covers the long
 * run, bench_scale the figures at 100, 300 and 1,000 nodes.
 *
 * Checks that nobody is told a fact it already knows more often than the
 * rules allow (SPEC §6): per (sender, receiver, fact key) the checker keeps
 * the expiry the sender must believe the receiver knows (from what it sent
 * and what the receiver sent it, forgotten when the sender sees a new boot
 * id of the receiver), and a send is too early if that copy would not
 * expire within FactTTL/2 + ChunkPeriod, or the new copy does not last
 * longer. Alive facts are exempt (they ride along when they fit). [ours]
 * After a boot id change the sender sends everything once more a chunk
 * later (a lost datagram of the first pass would cost FactTTL/2): one
 * resend per fact in that window is allowed, and counted. [ours] Between
 * our daemons facts are leased (core/lease.h): each is told once per
 * epoch and then held by 'L' facts, which are counted apart; a new epoch
 * tells everything again (allowed at the tick it starts, and counted),
 * and a fact told twice in one epoch is a resend like any other. With
 * no loss here, no receiver ever has to ask for a repair (NACK).
 */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sim/scenario.h"
#include "unit/harness.h"
#include "wire/lease.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

#define N_LEAVES 99
#define N_LEAVES_300 299
#define DEFAULT_MINUTES_300 3
#define HOUR_MS 3600000
#define HEALTHY_MS (sim_timing()->handshake_validity_ms)
#define FACT_TTL_MS (sim_timing()->fact_ttl_ms)
#define CHUNK_MS (sim_timing()->chunk_period_ms)
/* A copy expiring sooner than this may be refreshed; 1 s of slack for
 * whole-second ttls and latency. */
#define REFRESH_WINDOW_MS (FACT_TTL_MS / 2 + CHUNK_MS + 1000)
/* A fact heard from a peer counts as known to it this long after it was
 * sent (the internet's one-way latency is 20 ms; a second of slack). */
#define HEARD_AFTER_MS 1000
/* A refresh that extends the receiver's copy by less than this is counted
 * as marginal (allowed, but a figure worth knowing). */
#define MARGINAL_MS 10000

struct sent_entry {
	bool used;
	uint64_t hash;
	int from, to;
	uint8_t attr;
	uint8_t subject[WL_KEY_LEN];
	uint16_t value_len;
	uint8_t value[FACT_VALUE_MAX];
	/* The expiry of the receiver's copy as the sender must believe it
	 * from what it sent, -1 if none; what the receiver told the sender
	 * itself (heard, -1 if nothing) and when it said so; and the
	 * receiver's boot id as the sender saw it then. */
	int64_t known, heard, heard_at;
	/* The boot id change (pair_boot.changed_at) whose second pass has
	 * resent it already, -1 if none. */
	int64_t again_used;
	bool had_boot;
	uint8_t boot[BOOT_ID_LEN];
};

/* When `from` last saw a new boot id of `to` (-1: never), as seen in
 * what it sends `to` (the change makes it send an Alive at once). */
struct pair_boot {
	bool had;
	uint8_t boot[BOOT_ID_LEN];
	int64_t changed_at;
	bool has_epoch;   /* the sender leases the receiver */
	uint32_t epoch;
	int64_t epoch_at; /* when its current epoch started */
};

struct sent_table {
	struct sim *sim;
	size_t n_nodes;
	struct pair_boot *pairs; /* [from * n_nodes + to] */
	size_t n, cap;
	struct sent_entry *e;
	int hub;
	uint64_t facts, resends, marginal, violations;
	uint64_t second_pass; /* resends of the pass after a boot id change */
	uint64_t leaf_to_leaf; /* facts (not Alive) one leaf sent another */
	uint64_t holds, nacks, withdrawals, epochs, epoch_resends; /* leases */
	char example[240];
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t key_hash(int from, int to, const struct fact *f)
{
	uint64_t h = 0xcbf29ce484222325ull;
	h = fnv(h, &from, sizeof(from));
	h = fnv(h, &to, sizeof(to));
	h = fnv(h, &f->attr, 1);
	h = fnv(h, f->subject, WL_KEY_LEN);
	return fnv(h, f->value, f->value_len);
}

static bool same_key(const struct sent_entry *e, uint64_t h, int from, int to, const struct fact *f)
{
	return e->hash == h && e->from == from && e->to == to && e->attr == f->attr &&
	       e->value_len == f->value_len && memcmp(e->subject, f->subject, WL_KEY_LEN) == 0 &&
	       memcmp(e->value, f->value, f->value_len) == 0;
}

static struct sent_entry *lookup(struct sent_table *t, uint64_t h, int from, int to,
				 const struct fact *f);

static void grow(struct sent_table *t)
{
	struct sent_entry *old = t->e;
	size_t old_cap = t->cap;
	t->cap = old_cap ? 2 * old_cap : 1 << 16;
	t->e = calloc(t->cap, sizeof(*t->e));
	if (!t->e)
		abort();
	t->n = 0;
	for (size_t i = 0; i < old_cap; i++) {
		if (!old[i].used)
			continue;
		size_t j = old[i].hash & (t->cap - 1);
		while (t->e[j].used)
			j = (j + 1) & (t->cap - 1);
		t->e[j] = old[i];
		t->n++;
	}
	free(old);
}

static struct sent_entry *lookup(struct sent_table *t, uint64_t h, int from, int to,
				 const struct fact *f)
{
	if (2 * (t->n + 1) > t->cap)
		grow(t);
	size_t j = h & (t->cap - 1);
	while (t->e[j].used) {
		if (same_key(&t->e[j], h, from, to, f))
			return &t->e[j];
		j = (j + 1) & (t->cap - 1);
	}
	struct sent_entry *e = &t->e[j];
	e->used = true;
	e->hash = h;
	e->from = from;
	e->to = to;
	e->attr = f->attr;
	memcpy(e->subject, f->subject, WL_KEY_LEN);
	e->value_len = f->value_len;
	memcpy(e->value, f->value, f->value_len);
	e->known = e->heard = e->again_used = -1;
	t->n++;
	return e;
}

/* Forgets e->known if `at` has seen a new boot id of `peer` since. */
static void check_boot(struct sent_table *t, struct sent_entry *e, int at, int peer, int64_t now)
{
	uint8_t key[WL_KEY_LEN];
	struct engine_peer_info info;
	sim_node_key(t->sim, peer, key);
	if (!engine_peer_info(sim_node_engine(t->sim, at), key, now, &info))
		info.has_boot_id = false;
	if (info.has_boot_id != e->had_boot ||
	    (info.has_boot_id && memcmp(info.boot_id, e->boot, BOOT_ID_LEN) != 0))
		e->known = e->heard = -1;
	e->had_boot = info.has_boot_id;
	if (info.has_boot_id)
		memcpy(e->boot, info.boot_id, BOOT_ID_LEN);
}

/* The pair's record, updated: a boot id of `to` that `from` had not seen
 * at its last send to it. */
static const struct pair_boot *pair_seen(struct sent_table *t, int from, int to, int64_t now)
{
	struct pair_boot *pb = &t->pairs[(size_t)from * t->n_nodes + (size_t)to];
	uint8_t key[WL_KEY_LEN];
	struct engine_peer_info info;
	sim_node_key(t->sim, to, key);
	if (!engine_peer_info(sim_node_engine(t->sim, from), key, now, &info) || !info.has_boot_id)
		return pb;
	if (!pb->had || memcmp(pb->boot, info.boot_id, BOOT_ID_LEN) != 0) {
		pb->had = true;
		memcpy(pb->boot, info.boot_id, BOOT_ID_LEN);
		pb->changed_at = now;
	}
	return pb;
}

/* The pass comes at the first tick a chunk after the change (ticks are a
 * chunk ± 10 % apart); a second of slack either side. */
static bool in_second_pass(const struct pair_boot *pb, int64_t now)
{
	return pb->had && now >= pb->changed_at + CHUNK_MS - 1000 &&
	       now <= pb->changed_at + 2 * CHUNK_MS + CHUNK_MS / 5 + 1000;
}

static void on_fact(void *ctx, int64_t now, int from, int to, const struct fact *f)
{
	struct sent_table *t = ctx;
	if (to < 0)
		return;
	struct pair_boot *pb = (struct pair_boot *)pair_seen(t, from, to, now);
	if (f->attr == ATTR_ALIVE)
		return;
	struct lease_msg m;
	if (lease_parse(f, &m)) {
		t->holds += m.kind == LEASE_HOLD;
		t->nacks += m.kind == LEASE_NACK;
		t->withdrawals += m.kind == LEASE_WITHDRAW ? m.n : 0;
		if (m.kind == LEASE_EPOCH && (!pb->has_epoch || pb->epoch != m.epoch)) {
			pb->has_epoch = true;
			pb->epoch = m.epoch;
			pb->epoch_at = now;
			t->epochs++;
		}
		return;
	}
	t->facts++;
	if (from != t->hub && to != t->hub)
		t->leaf_to_leaf++;
	int64_t expires = now + (int64_t)f->ttl * 1000;
	struct sent_entry *e = lookup(t, key_hash(from, to, f), from, to, f);
	check_boot(t, e, from, to, now);
	/* What the receiver told us counts once it can have arrived: sends
	 * are seen here when they leave, and two nodes may tick within one
	 * trip of each other. */
	int64_t known = e->known;
	if (e->heard > known && now - e->heard_at >= HEARD_AFTER_MS)
		known = e->heard;
	if (known >= 0) {
		t->resends++;
		const char *why = NULL;
		if (known - now > REFRESH_WINDOW_MS)
			why = "its copy was not about to expire";
		else if (expires + 1000 <= known)
			why = "the new copy does not last longer";
		else if (expires - known < MARGINAL_MS)
			t->marginal++;
		if (why && pb->has_epoch && pb->epoch_at == now) {
			why = NULL; /* a new epoch tells everything */
			t->epoch_resends++;
		} else if (why && in_second_pass(pb, now) && e->again_used != pb->changed_at) {
			why = NULL;
			e->again_used = pb->changed_at;
			t->second_pass++;
		}
		if (why) {
			if (!t->violations) {
				char v[FACT_VALUE_STR_MAX];
				int subj = sim_node_by_key(t->sim, f->subject);
				snprintf(t->example, sizeof(t->example),
					 "at %.1f s %s told %s %s %s=%s again, but %s (it expires at %.1f s)",
					 (double)now / 1000, sim_node_name(t->sim, from),
					 sim_node_name(t->sim, to), fact_attr_name(f->attr),
					 subj >= 0 ? sim_node_name(t->sim, subj) : "?",
					 fact_value_str(f, v, sizeof(v)), why, (double)known / 1000);
			}
			t->violations++;
		}
	}
	if (expires > e->known)
		e->known = expires;
	/* The receiver will know the sender has it too. */
	struct sent_entry *r = lookup(t, key_hash(to, from, f), to, from, f);
	check_boot(t, r, to, from, now);
	if (expires > r->heard) {
		r->heard = expires;
		r->heard_at = now;
	}
}

static double seconds(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A positive number from the environment, or def. */
static long env_long(const char *name, long def)
{
	const char *v = getenv(name);
	long n = v ? strtol(v, NULL, 10) : 0;
	return n > 0 ? n : def;
}

/* A hub and n_leaves leaves (kinds in turn public, own NAT, shared LAN)
 * for `duration` virtual ms with the resend rule checked; every leaf pair
 * must end up direct. tag names the figures' lines. */
static void run_scale(const char *tag, size_t n_leaves, int64_t duration)
{
	enum scen_leaf_kind *kinds = calloc(n_leaves, sizeof(*kinds));
	CHECK(kinds != NULL);
	for (size_t i = 0; i < n_leaves; i++)
		kinds[i] = (enum scen_leaf_kind)(i % 3);
	struct scen s;
	scen_build(&s, harness_seed(), n_leaves, kinds, NULL);
	free(kinds);
	struct sent_table t = { .sim = s.sim, .hub = s.hub, .n_nodes = sim_node_count(s.sim) };
	t.pairs = calloc(t.n_nodes * t.n_nodes, sizeof(*t.pairs));
	CHECK(t.pairs != NULL);
	sim_set_fact_hook(s.sim, on_fact, &t);
	scen_start(&s);

	size_t pairs = n_leaves * (n_leaves - 1) / 2;
	double start = seconds(CLOCK_MONOTONIC), cpu_start = seconds(CLOCK_PROCESS_CPUTIME_ID);
	/* Virtual time to the first moment all pairs are direct is worth a
	 * figure too: sample every virtual second for the first two minutes,
	 * then every ten up to ten minutes. */
	int64_t all_direct_at = -1;
	if (duration < 60000)
		duration = 60000;
	for (int64_t v = 1000; v <= duration; v += v < 120000 ? 1000 : 10000) {
		sim_run_to(s.sim, v);
		if (all_direct_at < 0 && v <= 600000 && scen_all_direct(&s, HEALTHY_MS))
			all_direct_at = v;
	}
	double real = seconds(CLOCK_MONOTONIC) - start;
	double cpu = seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
	size_t direct = scen_count_direct(&s, HEALTHY_MS);
	const struct sim_stats *st = sim_stats(s.sim);
	const struct vnet_stats *vs = vnet_stats(s.net);
	printf("# (%s) %zu nodes, %.0f min virtual in %.1f s real (%.1f s CPU)\n", tag, n_leaves + 1,
	       (double)duration / 60000, real, cpu);
	printf("# (%s) leaf pairs direct at the end: %zu of %zu; all direct by %s%.0f s virtual\n", tag,
	       direct, pairs, all_direct_at < 0 ? "(not within 600 s) " : "",
	       all_direct_at < 0 ? 0.0 : (double)all_direct_at / 1000);
	printf("# (%s) %llu engine ticks, %llu wirelink datagrams (%.1f MB), %llu UDP datagrams on the "
	       "vnet, %llu send errors\n",
	       tag, (unsigned long long)st->ticks, (unsigned long long)st->datagrams,
	       (double)st->datagram_bytes / 1e6, (unsigned long long)vs->sent,
	       (unsigned long long)st->send_errors);
	printf("# (%s) %llu facts sent (Alive excluded), %llu of them refreshes of a copy the receiver "
	       "had, %llu marginal (extending it by < %d s), %llu the second pass after a boot id "
	       "change, %llu against the rules\n",
	       tag, (unsigned long long)t.facts, (unsigned long long)t.resends,
	       (unsigned long long)t.marginal, MARGINAL_MS / 1000, (unsigned long long)t.second_pass,
	       (unsigned long long)t.violations);
	printf("# (%s) leases: %llu epochs started (%llu facts told again by them), %llu holds, "
	       "%llu facts withdrawn, %llu repairs asked for\n",
	       tag, (unsigned long long)t.epochs, (unsigned long long)t.epoch_resends,
	       (unsigned long long)t.holds, (unsigned long long)t.withdrawals,
	       (unsigned long long)t.nacks);
	CHECK_MSG(t.nacks == 0, "%llu lease repairs asked for on a network without loss",
		  (unsigned long long)t.nacks);
	CHECK_MSG(t.violations == 0, "%llu facts resent against the rules, e.g. %s",
		  (unsigned long long)t.violations, t.example);
	CHECK(t.facts > 0);
	/* Leaves are neither routers nor chatty: to each other they send
	 * Alive pings only (SPEC §6), so every fact a leaf is told comes from
	 * the hub, and the per-sender check above is per receiver too. */
	CHECK_EQ(t.leaf_to_leaf, 0);
	/* CPU time, not wall time: the machine running the tests may be busy
	 * with other work. The budget is for an optimised build of the
	 * 100-node hour; sanitizers make everything several times slower, so
	 * there it is only printed. */
	if (SANITIZED)
		printf("# (%s) sanitizer build: the 60 s budget applies to build/ (optimised)\n", tag);
	else if (duration == HOUR_MS && n_leaves == N_LEAVES)
		CHECK_MSG(cpu < 60.0, "one virtual hour took %.1f s of CPU", cpu);
	/* Every pair of leaves must end up direct: each can reach each other
	 * through some NAT-friendly path in this topology. */
	CHECK_MSG(direct == pairs, "only %zu of %zu leaf pairs direct", direct, pairs);
	free(t.e);
	free(t.pairs);
	scen_free(&s);
}

TEST(h_hundred_nodes_for_an_hour)
{
	/* WL_SIM_SCALE_MINUTES shortens (or lengthens) the run, e.g. for a
	 * quick look under a debugger; the default is the hour.
	 * WL_SIM_SCALE_LEAVES changes the size (issue 12 used 199). */
	size_t n = (size_t)env_long("WL_SIM_SCALE_LEAVES", N_LEAVES);
	int64_t duration = env_long("WL_SIM_SCALE_MINUTES", HOUR_MS / 60000) * 60000;
	run_scale("h", n < 2 ? 2 : n, duration);
}

TEST(h2_three_hundred_nodes)
{
	int64_t duration = env_long("WL_SIM_SCALE300_MINUTES", DEFAULT_MINUTES_300) * 60000;
	run_scale("h2", N_LEAVES_300, duration);
}
