/* Scenario (g): a restarted peer (new boot id, empty memory) is resent
 * everything at once, where in steady state almost nothing is resent.
 * Both directions: a leaf restarts (the hub resends), the hub restarts
 * (the leaves resend). */
#include <stdio.h>
#include <stdlib.h>

#include "sim/scenario.h"
#include "unit/harness.h"

#define HEALTHY_MS (sim_timing()->handshake_validity_ms)

/* Non-Alive facts sent, by time, from one node to another. */
struct counter {
	int from, to;
	size_t n, cap;
	int64_t *at;
};

static void count_fact(void *ctx, int64_t now, int from, int to, const struct fact *f)
{
	struct counter *c = ctx;
	if (f->attr == ATTR_ALIVE || from != c->from || to != c->to)
		return;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 256;
		c->at = realloc(c->at, c->cap * sizeof(*c->at));
		if (!c->at)
			abort();
	}
	c->at[c->n++] = now;
}

static size_t sent_between(const struct counter *c, int64_t from, int64_t to)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n; i++)
		n += c->at[i] >= from && c->at[i] < to;
	return n;
}

struct fact_search {
	uint8_t subject[WL_KEY_LEN];
	size_t found;
};

static void search_cb(void *ctx, const struct fact *f, int64_t expires_ms, bool local)
{
	struct fact_search *s = ctx;
	if (!local && memcmp(f->subject, s->subject, WL_KEY_LEN) == 0)
		s->found++;
}

struct relearn {
	struct sim *sim;
	int at, about;
	size_t want;
};

/* Node `at` holds (received, not local) facts about `about` again. */
static bool relearnt(struct sim *sim, void *ctx)
{
	struct relearn *r = ctx;
	struct fact_search s = { .found = 0 };
	sim_node_key(sim, r->about, s.subject);
	engine_foreach_fact(sim_node_engine(sim, r->at), search_cb, &s);
	return s.found >= r->want;
}

static size_t received_facts_about(struct sim *sim, int at, int about)
{
	struct fact_search s = { .found = 0 };
	sim_node_key(sim, about, s.subject);
	engine_foreach_fact(sim_node_engine(sim, at), search_cb, &s);
	return s.found;
}

static void restart_and_measure(int restarted_is_hub)
{
	enum scen_leaf_kind kinds[2] = { LEAF_PUBLIC, LEAF_OWN_NAT };
	struct scen s;
	scen_build(&s, harness_seed(), 2, kinds, NULL);
	int victim = restarted_is_hub ? s.hub : s.leaf[0];
	int teller = restarted_is_hub ? s.leaf[0] : s.hub;
	struct counter c = { .from = teller, .to = victim };
	sim_set_fact_hook(s.sim, count_fact, &c);
	scen_start(&s);
	sim_run_to(s.sim, 600000);
	CHECK(scen_pair_direct(&s, 0, 1, HEALTHY_MS));
	/* What the victim has learnt from others about the other leaf. The
	 * hub knows everything the leaves tell it first-hand too (its device
	 * has their endpoints), so there it is the two endpoint facts leaf1
	 * sends: its own and leaf2's. */
	int subject = s.leaf[1];
	size_t known = restarted_is_hub ? 2 : received_facts_about(s.sim, victim, subject);
	CHECK(known > 0);
	/* Steady state: the facts of five quiet minutes, per 10 s (refreshes
	 * are jittered, so a single minute may or may not hold one). */
	size_t steady_5min = sent_between(&c, 300000, 600000);
	double steady = (double)steady_5min / 30.0;

	sim_restart_node(s.sim, victim);
	int64_t t0 = sim_now(s.sim);
	struct relearn r = { .at = victim, .about = subject, .want = restarted_is_hub ? 0 : known };
	int64_t t = sim_run_until(s.sim, relearnt, &r, 60000);
	CHECK_MSG(t >= 0, "the restarted %s did not relearn its %zu facts within 60 s",
		  sim_node_name(s.sim, victim), known);
	sim_run_to(s.sim, t0 + 10000);
	size_t burst = sent_between(&c, t0, t0 + 10000);
	printf("# (g) %s restarted: %zu facts resent to it by %s within 10 s (steady state: %.1f per "
	       "10 s, %zu in the five minutes before)\n",
	       sim_node_name(s.sim, victim), burst, sim_node_name(s.sim, teller), steady, steady_5min);
	if (!restarted_is_hub && t >= 0)
		printf("# (g) %s relearnt what it knew about %s in %.1f s virtual\n",
		       sim_node_name(s.sim, victim), sim_node_name(s.sim, subject), (double)(t - t0) / 1000);
	CHECK(burst >= known);
	CHECK((double)burst > steady);
	/* The teller noticed the new boot id. */
	CHECK(sim_trace_find(s.sim, teller, ENGINE_EV_PEER_BOOT, victim, t0) >= 0);
	/* And the network is none the worse for it. */
	sim_run_to(s.sim, t0 + 300000);
	CHECK(scen_pair_direct(&s, 0, 1, HEALTHY_MS));
	free(c.at);
	scen_free(&s);
}

TEST(g_restarted_leaf_is_resent_everything)
{
	restart_and_measure(0);
}

TEST(g_restarted_hub_is_resent_everything)
{
	restart_and_measure(1);
}
