/* Test traffic for the scenario tests: leaf1 pings leaf2 every PING_MS
 * of virtual time, leaf2 answers each request it gets; the pinger notes
 * when leaf1 last got an answer and which device peer it came through
 * (leaf2 directly, or the hub). */
#ifndef WL_SIM_PINGER_H
#define WL_SIM_PINGER_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/scenario.h"

#define PING_MS 200

struct pinger {
	struct scen *s;
	int64_t seen;   /* the last request leaf2 answered */
	int64_t answer; /* when leaf1 last got an answer, -1 if never */
	int via;        /* and through whom (a sim node), -1 if never */
};

void pinger_init(struct pinger *p, struct scen *s);
/* One request (and the answer to the last request leaf2 got). */
void ping_step(struct pinger *p);
/* Pings for ms of virtual time. */
void ping_for(struct pinger *p, int64_t ms);
/* Pings until cond(p, since) holds (checked every step) or timeout_ms
 * passed; the time from `since` until it held, or -1. */
int64_t ping_until(struct pinger *p, bool (*cond)(struct pinger *p, int64_t since), int64_t since,
		   int64_t timeout_ms);
/* leaf1 got an answer sent after `since`, through the hub. */
bool answered_via_hub(struct pinger *p, int64_t since);
/* leaf1 got an answer sent after `since`, any way. */
bool answered(struct pinger *p, int64_t since);

#endif
