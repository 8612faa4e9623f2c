#include "config.h"

#include "stats.h"

#include <stdlib.h>
#include <string.h>

const double stats_handling_bounds[STATS_HANDLING_BUCKETS - 1] = {
	0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000,
};
const double stats_consent_bounds[STATS_CONSENT_BUCKETS - 1] = {
	5, 10, 20, 30, 60, 90, 120, 300, 600, 900, 1800,
};

static const char *const event_names[STATS_EVENT_COUNT] = {
	"instance_registered", "flow_created", "callback", "token", "pickup", "push",
};
static const char *const outcome_names[STATS_OUTCOME_COUNT] = {
	"ok",           "delivered",   "denied",          "expired",
	"invalid",      "replayed",    "iss_mismatch",    "refused",
	"rate_limited", "unavailable", "wrong_callback",  "upstream_error",
	"timeout",      "pending",     "pending_expired", "not_found",
	"conflict",     "failed",
};
static const char *const delivery_names[STATS_DELIVERY_COUNT] = {
	"redirect", "form_post", "pickup", "push", "none",
};

const char *stats_event_name(enum stats_event e)
{
	return event_names[e];
}

const char *stats_outcome_name(enum stats_outcome o)
{
	return outcome_names[o];
}

enum stats_outcome stats_outcome_from_name(const char *name)
{
	int o = 0;

	while (o < STATS_OUTCOME_COUNT && strcmp(name, outcome_names[o]) != 0)
		o++;
	return (enum stats_outcome)o;
}

const char *stats_delivery_name(int delivery)
{
	return delivery >= 0 && delivery < STATS_DELIVERY_COUNT ? delivery_names[delivery] : "none";
}

int stats_quantile_bucket(const uint64_t *buckets, int n, double q)
{
	uint64_t total = 0, below = 0;

	for (int i = 0; i < n; i++)
		total += buckets[i];
	if (!total)
		return -1;
	for (int i = 0; i < n - 1; i++) {
		below += buckets[i];
		if ((double)below >= q * (double)total)
			return i;
	}
	return n - 1;
}

int stats_bucket_from_ordinal(const char *text, int n)
{
	char *end;
	long b = strtol(text, &end, 10) - 1;

	return *text && !*end && b >= 0 && b < n ? (int)b : -1;
}

void stats_init(struct stats *s, size_t max_cells)
{
	memset(s, 0, sizeof(*s));
	s->max = max_cells;
}

void stats_free(struct stats *s)
{
	free(s->cells);
	s->cells = NULL;
	s->count = s->capacity = 0;
}

static bool key_equal(const struct stats_key *a, const struct stats_key *b)
{
	return a->hour == b->hour && a->provider == b->provider && a->event == b->event &&
	       a->outcome == b->outcome && a->delivery == b->delivery;
}

/* The cells of one hour are few (a handful of providers, events and outcomes), so a
 * linear scan from the newest end is cheaper than hashing. */
static struct stats_cell *cell_get(struct stats *s, const struct stats_key *key)
{
	for (size_t i = s->count; i-- > 0;) {
		if (key_equal(&s->cells[i].key, key))
			return &s->cells[i];
	}
	if (s->count == s->max)
		return NULL;
	if (s->count == s->capacity) {
		size_t cap = s->capacity ? s->capacity * 2 : 64;
		struct stats_cell *cells = realloc(s->cells, cap * sizeof(*cells));
		if (!cells)
			return NULL;
		s->cells = cells;
		s->capacity = cap;
	}
	struct stats_cell *c = &s->cells[s->count++];
	memset(c, 0, sizeof(*c));
	c->key = *key;
	return c;
}

static size_t bucket_of(const double *bounds, size_t n, double v)
{
	size_t i = 0;

	while (i < n && v > bounds[i])
		i++;
	return i;
}

bool stats_add(struct stats *s, int64_t now, enum provider provider, enum stats_event event,
	       enum stats_outcome outcome, int delivery, double handling_ms, double consent_s)
{
	struct stats_key key = { now - now % 3600, (uint8_t)provider, (uint8_t)event,
				 (uint8_t)outcome, (uint8_t)delivery };
	struct stats_cell *c = cell_get(s, &key);

	if (!c) {
		s->dropped++;
		return false;
	}
	c->count++;
	if (handling_ms >= 0) {
		c->handling[bucket_of(stats_handling_bounds, STATS_HANDLING_BUCKETS - 1, handling_ms)]++;
		c->handling_sum += handling_ms;
	}
	if (consent_s >= 0) {
		c->consent[bucket_of(stats_consent_bounds, STATS_CONSENT_BUCKETS - 1, consent_s)]++;
		c->consent_sum += consent_s;
	}
	return true;
}

void stats_merge(struct stats *s, const struct stats *from)
{
	for (size_t i = 0; i < from->count; i++) {
		const struct stats_cell *src = &from->cells[i];
		struct stats_cell *c = cell_get(s, &src->key);
		if (!c) {
			s->dropped += src->count;
			continue;
		}
		c->count += src->count;
		for (int b = 0; b < STATS_HANDLING_BUCKETS; b++)
			c->handling[b] += src->handling[b];
		for (int b = 0; b < STATS_CONSENT_BUCKETS; b++)
			c->consent[b] += src->consent[b];
		c->handling_sum += src->handling_sum;
		c->consent_sum += src->consent_sum;
	}
}

void stats_take(struct stats *s, struct stats *out)
{
	*out = *s;
	out->dropped = 0;
	s->cells = NULL;
	s->count = s->capacity = 0;
}
