#include "sim/pinger.h"

void pinger_init(struct pinger *p, struct scen *s)
{
	*p = (struct pinger){ .s = s, .seen = -1, .answer = -1, .via = -1 };
}

void ping_step(struct pinger *p)
{
	struct sim *sim = p->s->sim;
	int a = p->s->leaf[0], b = p->s->leaf[1];
	int64_t at;
	int via;
	if (sim_app_last(sim, b, a, &at, &via) && at > p->seen) {
		p->seen = at;
		sim_app_send(sim, b, a);
	}
	if (sim_app_last(sim, a, b, &at, &via) && at > p->answer) {
		p->answer = at;
		p->via = via;
	}
	sim_app_send(sim, a, b);
}

void ping_for(struct pinger *p, int64_t ms)
{
	struct sim *sim = p->s->sim;
	for (int64_t end = sim_now(sim) + ms; sim_now(sim) < end;) {
		ping_step(p);
		sim_run_to(sim, sim_now(sim) + PING_MS);
	}
}

int64_t ping_until(struct pinger *p, bool (*cond)(struct pinger *p, int64_t since), int64_t since,
		   int64_t timeout_ms)
{
	struct sim *sim = p->s->sim;
	for (int64_t end = sim_now(sim) + timeout_ms; sim_now(sim) < end;) {
		ping_step(p);
		sim_run_to(sim, sim_now(sim) + PING_MS);
		if (cond(p, since))
			return sim_now(sim) - since;
	}
	return -1;
}

bool answered_via_hub(struct pinger *p, int64_t since)
{
	return answered(p, since) && p->via == p->s->hub;
}

bool answered(struct pinger *p, int64_t since)
{
	return p->answer > since + PING_MS;
}
