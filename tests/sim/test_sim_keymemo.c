/* The simulator's shared-key memo (sim/keymemo.h): each side of a pair
 * gets exactly the key X25519 gives it, the key is worked out once per
 * pair and leaves the memo when the other side has it, and two threads
 * asking at once still get the right keys. */
#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "sim/keymemo.h"
#include "unit/harness.h"

#define N_KEYS 24

struct pair_keys {
	uint8_t priv[N_KEYS][WL_KEY_LEN], pub[N_KEYS][WL_KEY_LEN];
};

static void make_keys(struct pair_keys *k)
{
	CHECK(sodium_init() >= 0);
	for (int i = 0; i < N_KEYS; i++) {
		randombytes_buf(k->priv[i], WL_KEY_LEN);
		crypto_scalarmult_base(k->pub[i], k->priv[i]);
	}
}

/* Node i's key with node j, through the memo and by X25519 itself. */
static bool agrees(struct keymemo *m, const struct pair_keys *k, int i, int j)
{
	uint8_t got[32], want[32];
	bool ok = keymemo_agree(m, k->priv[i], k->pub[i], k->pub[j], got);
	return ok && crypto_scalarmult(want, k->priv[i], k->pub[j]) == 0 &&
	       memcmp(got, want, 32) == 0;
}

TEST(each_pair_is_worked_out_once_and_both_sides_get_x25519s_key)
{
	struct pair_keys k;
	make_keys(&k);
	struct keymemo *m = keymemo_new();
	CHECK(agrees(m, &k, 0, 1));
	CHECK_EQ(keymemo_stats(m).held, 1);
	CHECK(agrees(m, &k, 1, 0));
	struct keymemo_stats st = keymemo_stats(m);
	CHECK_EQ(st.computed, 1);
	CHECK_EQ(st.reused, 1);
	CHECK_EQ(st.held, 0);

	/* One side asking again (its cache forgot) works it out again; the
	 * other side then still takes it. */
	CHECK(agrees(m, &k, 2, 3));
	CHECK(agrees(m, &k, 2, 3));
	CHECK(agrees(m, &k, 3, 2));
	st = keymemo_stats(m);
	CHECK_EQ(st.computed, 3);
	CHECK_EQ(st.reused, 2);
	CHECK_EQ(st.held, 0);

	/* Every pair among all keys, in both orders, across table growth. */
	for (int i = 0; i < N_KEYS; i++)
		for (int j = 0; j < N_KEYS; j++)
			if (i != j)
				CHECK(agrees(m, &k, i, j));
	CHECK_EQ(keymemo_stats(m).held, 0);
	keymemo_free(m);
}

TEST(a_low_order_key_has_no_shared_key_on_either_side)
{
	struct pair_keys k;
	make_keys(&k);
	struct keymemo *m = keymemo_new();
	uint8_t zero[WL_KEY_LEN] = { 0 }, out[32];
	CHECK(!keymemo_agree(m, k.priv[0], k.pub[0], zero, out));
	CHECK(!keymemo_agree(m, k.priv[0], k.pub[0], zero, out));
	keymemo_free(m);
}

struct asker {
	struct keymemo *m;
	const struct pair_keys *k;
	int from, to; /* nodes [from, to) ask every other node */
	int wrong;
};

static void *ask_all(void *arg)
{
	struct asker *a = arg;
	for (int round = 0; round < 4; round++)
		for (int i = a->from; i < a->to; i++)
			for (int j = 0; j < N_KEYS; j++)
				if (i != j && !agrees(a->m, a->k, i, j))
					a->wrong++;
	return NULL;
}

TEST(two_threads_asking_at_once_get_the_right_keys)
{
	struct pair_keys k;
	make_keys(&k);
	struct keymemo *m = keymemo_new();
	struct asker a = { m, &k, 0, N_KEYS / 2, 0 }, b = { m, &k, N_KEYS / 2, N_KEYS, 0 };
	pthread_t t;
	CHECK(pthread_create(&t, NULL, ask_all, &a) == 0);
	ask_all(&b);
	pthread_join(t, NULL);
	CHECK_EQ(a.wrong, 0);
	CHECK_EQ(b.wrong, 0);
	keymemo_free(m);
}
