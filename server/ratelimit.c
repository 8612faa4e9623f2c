#include "config.h"

#include "ratelimit.h"

#include <string.h>
#include <sys/socket.h>
#include <time.h>

void ratelimit_init(struct ratelimit *rl, double burst, double per_minute)
{
	memset(rl, 0, sizeof(*rl));
	ratelimit_configure(rl, burst, per_minute);
}

void ratelimit_configure(struct ratelimit *rl, double burst, double per_minute)
{
	rl->burst = burst;
	rl->per_second = per_minute / 60.0;
}

static size_t slot_of(const unsigned char *key)
{
	/* FNV-1a over the key */
	unsigned h = 2166136261u;
	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % RATELIMIT_SLOTS;
}

double ratelimit_now(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

bool ratelimit_allow(struct ratelimit *rl, int family, const unsigned char *addr, double now)
{
	unsigned char key[16] = { 0 };

	if (family == AF_INET) {
		memcpy(key, addr, 4);
		key[15] = 4;
	} else {
		memcpy(key, addr, 8); /* one /64 is one subscriber */
	}
	return ratelimit_allow_key(rl, key, now);
}

bool ratelimit_allow_key(struct ratelimit *rl, const unsigned char key[16], double now)
{
	struct ratelimit_slot *s = &rl->slots[slot_of(key)];

	if (rl->per_second == 0)
		return true; /* no limit configured */

	if (memcmp(s->key, key, sizeof(s->key)) != 0 || s->updated == 0) {
		memcpy(s->key, key, sizeof(s->key));
		s->tokens = rl->burst;
		s->updated = now;
	}
	s->tokens += (now - s->updated) * rl->per_second;
	if (s->tokens > rl->burst)
		s->tokens = rl->burst;
	s->updated = now;
	if (s->tokens < 1.0)
		return false;
	s->tokens -= 1.0;
	return true;
}
