/* [ours] Leases: how two of our daemons keep what one told the other
 * valid without telling it again (core/lease.c has the protocol; this is
 * its wire form). An 'L' fact rides in signed groups like any other, and
 * is sent only to a peer that has shown it reads one: an original peer
 * drops a whole group over an attribute it does not know (SPEC §13).
 *
 *   attribute 'L', ttl, subject = the sender's key,
 *   value = uvarint length N, then N bytes:
 *     kind (1), epoch (4, big-endian), and by kind:
 *       EPOCH     nothing: the facts in this datagram belong to the epoch
 *       HOLD      count (4), digest (8): "the facts I told you in this
 *                 epoch and still stand by are these; they hold for ttl
 *                 seconds from now"
 *       NACK      count (4), digest (8): "what I hold from you in this
 *                 epoch does not match (here is mine): tell me again"
 *       WITHDRAW  1 to 31 digests (8 each) of facts told in this epoch
 *                 that no longer hold
 *       REFUSE    nothing: "I keep no leases from you; refresh instead"
 *       PATH_DEAD a key (32), epoch 0. From a leaf to its router: "my
 *                 direct path to this peer answers nothing"; from the
 *                 router on to that peer: "this peer finds its direct
 *                 path to you dead" (core/pathnote.c). A reader that
 *                 does not know the kind skips it.
 *       PATH_WAKE a key (32), epoch 0. From a leaf to its router: "the
 *                 user's traffic starts on my dormant path to this peer";
 *                 from the router on to that peer: "this peer starts to
 *                 send to you: send to it" (core/pathnote.c).
 *
 * A digest is the XOR of lease_hash() over a set of facts: equal sets
 * have equal digests whatever the order, and one fact more or less
 * changes it. */
#ifndef WL_WIRE_LEASE_H
#define WL_WIRE_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/fact.h"

enum lease_kind {
	LEASE_EPOCH = 1,
	LEASE_HOLD = 2,
	LEASE_NACK = 3,
	LEASE_WITHDRAW = 4,
	LEASE_REFUSE = 5,
	LEASE_PATH_DEAD = 6,
	LEASE_PATH_WAKE = 7,
};

#define LEASE_WITHDRAW_MAX 31

struct lease_msg {
	uint8_t kind;
	uint32_t epoch;
	uint32_t count;  /* HOLD, NACK */
	uint64_t digest; /* HOLD, NACK */
	uint8_t key[WL_KEY_LEN]; /* PATH_DEAD, PATH_WAKE */
	uint8_t n;       /* WITHDRAW: digests in gone[] */
	uint64_t gone[LEASE_WITHDRAW_MAX];
};

/* The 'L' fact for m, from `sender`. */
void lease_fact(struct fact *f, const uint8_t sender[static WL_KEY_LEN], uint16_t ttl,
		const struct lease_msg *m);
/* A kind this version reads (a reader skips others: fact.c). */
bool lease_kind_known(uint8_t kind);
/* Reads an 'L' fact's value; false if it is not one, is malformed, or
 * is of a kind we do not know. */
bool lease_parse(const struct fact *f, struct lease_msg *m);
/* A fact's hash in lease digests: the same on every node (a fixed key),
 * unlike the factset's, which is keyed per node. */
uint64_t lease_hash(const struct fact *f);
/* "hold epoch=7 count=12 digest=..." for dumps. */
char *lease_str(const struct fact *f, char *out, size_t cap);

#endif
