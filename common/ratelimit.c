#include "config.h"

#include "ratelimit.h"

#include "addr.h"

#include <openssl/crypto.h>
#include <string.h>

bool ratelimit_init(struct ratelimit *rl, const unsigned char secret[RATELIMIT_SECRET_LEN],
		    double burst, double per_minute)
{
	memset(rl, 0, sizeof(*rl));
	if (!siphash_init(&rl->hash, secret))
		return false;
	ratelimit_configure(rl, burst, per_minute);
	return true;
}

void ratelimit_free(struct ratelimit *rl)
{
	siphash_free(&rl->hash);
	OPENSSL_cleanse(rl, sizeof(*rl));
}

void ratelimit_configure(struct ratelimit *rl, double burst, double per_minute)
{
	rl->burst = burst;
	rl->per_second = per_minute / 60.0;
}

/* The key's tag; 0 (an empty slot's) when the hash failed, or once in 2^64 keys. */
static uint64_t hash_of(const struct ratelimit *rl, const unsigned char key[RATELIMIT_KEY_LEN])
{
	return siphash_u64(&rl->hash, key, RATELIMIT_KEY_LEN);
}

/* The level a bucket last at `tokens` reaches by now. */
static double level_at(const struct ratelimit *rl, double tokens, double updated, double now)
{
	if (now > updated)
		tokens += (now - updated) * rl->per_second;
	return tokens < rl->burst ? tokens : rl->burst;
}

static double spill_level(const struct ratelimit *rl, const struct ratelimit_set *set, double now)
{
	return set->spilled ? level_at(rl, set->spill_tokens, set->spill_updated, now) : rl->burst;
}

/* Gives tag a bucket of the set, taking one over as ratelimit.h describes. */
static struct ratelimit_bucket *bucket_take(const struct ratelimit *rl, struct ratelimit_set *set,
					    uint64_t tag, double now)
{
	struct ratelimit_bucket *victim = NULL;
	double victim_level = 0;

	for (size_t i = 0; i < RATELIMIT_WAYS; i++) {
		struct ratelimit_bucket *b = &set->ways[i];
		double level = b->tag ? level_at(rl, b->tokens, b->updated, now) : rl->burst;
		if (!victim || level > victim_level) {
			victim = b;
			victim_level = level;
		}
		if (level >= rl->burst)
			break;
	}
	if (victim_level < rl->burst) {
		double floor = spill_level(rl, set, now);
		set->spill_tokens = victim_level < floor ? victim_level : floor;
		set->spill_updated = now;
		set->spilled = true;
	}
	victim->tag = tag;
	victim->tokens = spill_level(rl, set, now);
	victim->updated = now;
	return victim;
}

bool ratelimit_allow_key(struct ratelimit *rl, const unsigned char key[RATELIMIT_KEY_LEN], double now)
{
	struct ratelimit_set *set;
	struct ratelimit_bucket *b = NULL;
	uint64_t tag;

	if (rl->per_second == 0)
		return true; /* no limit configured */
	tag = hash_of(rl, key);
	if (tag == 0)
		return false; /* cannot place the key: refusing is the safe side */
	set = &rl->sets[tag % RATELIMIT_SETS];
	for (size_t i = 0; i < RATELIMIT_WAYS && !b; i++) {
		if (set->ways[i].tag == tag)
			b = &set->ways[i];
	}
	if (!b)
		b = bucket_take(rl, set, tag, now);
	b->tokens = level_at(rl, b->tokens, b->updated, now);
	if (now > b->updated)
		b->updated = now;
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

bool ratelimit_allow(struct ratelimit *rl, int family, const unsigned char *addr, double now)
{
	unsigned char key[RATELIMIT_KEY_LEN];

	addr_client_key(family, addr, key);
	return ratelimit_allow_key(rl, key, now);
}
