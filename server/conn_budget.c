#include "config.h"

#include "conn_budget.h"

#include "addr.h"
#include "cidr.h"

#include <netinet/in.h>
#include <openssl/rand.h>
#include <string.h>

bool conn_budget_init(struct conn_budget *b)
{
	unsigned char key[SIPHASH_KEY_LEN];
	bool ok;

	memset(b, 0, sizeof(*b));
	if (RAND_bytes(key, sizeof(key)) != 1)
		return false;
	ok = addrcount_init(&b->per_address, key);
	memset(key, 0, sizeof(key));
	return ok;
}

void conn_budget_free(struct conn_budget *b)
{
	addrcount_free(&b->per_address);
}

/* The address a connection counts under (addr_client_key). Sets family and bytes for
 * the trusted proxies' check. */
static bool address_fold(const struct sockaddr *peer, int peer_len,
			 unsigned char out[ADDRCOUNT_KEY_LEN], int *family, unsigned char bytes[16])
{
	if (peer->sa_family == AF_INET && (size_t)peer_len >= sizeof(struct sockaddr_in)) {
		*family = AF_INET;
		memcpy(bytes, &((const struct sockaddr_in *)(const void *)peer)->sin_addr, 4);
	} else if (peer->sa_family == AF_INET6 && (size_t)peer_len >= sizeof(struct sockaddr_in6)) {
		*family = AF_INET6;
		memcpy(bytes, &((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr, 16);
	} else {
		return false;
	}
	addr_client_key(*family, bytes, out);
	return true;
}

bool conn_budget_address_take(struct conn_budget *b, struct conn_slot *s, const struct sockaddr *peer,
			      int peer_len, const struct cidr_list *trusted, unsigned per_address)
{
	unsigned char bytes[16];
	int family;

	if (s->pool == POOL_ADMIN || !address_fold(peer, peer_len, s->addr, &family, bytes) ||
	    cidr_list_contains(trusted, family, bytes))
		return true;
	if (!addrcount_add(&b->per_address, s->addr, per_address))
		return false;
	s->counted = true;
	return true;
}

bool conn_budget_room(const struct conn_budget *b, enum conn_pool pool, size_t max_connections)
{
	size_t limit = pool == POOL_ADMIN ? ADMIN_CONNECTIONS_MAX : max_connections;

	return b->used[pool] < limit;
}

struct conn_slot *conn_budget_oldest_idle(struct conn_budget *b, enum conn_pool pool)
{
	return b->idle_oldest[pool];
}

void conn_budget_enter(struct conn_budget *b, struct conn_slot *s)
{
	b->used[s->pool]++;
	s->entered = true;
}

void conn_budget_idle(struct conn_budget *b, struct conn_slot *s, bool idle)
{
	enum conn_pool p = s->pool;

	if (idle == s->idle)
		return;
	s->idle = idle;
	if (idle) {
		s->idle_next = NULL;
		s->idle_prev = b->idle_newest[p];
		if (s->idle_prev)
			s->idle_prev->idle_next = s;
		else
			b->idle_oldest[p] = s;
		b->idle_newest[p] = s;
		return;
	}
	if (s->idle_prev)
		s->idle_prev->idle_next = s->idle_next;
	else
		b->idle_oldest[p] = s->idle_next;
	if (s->idle_next)
		s->idle_next->idle_prev = s->idle_prev;
	else
		b->idle_newest[p] = s->idle_prev;
	s->idle_prev = s->idle_next = NULL;
}

void conn_budget_release(struct conn_budget *b, struct conn_slot *s)
{
	conn_budget_idle(b, s, false);
	if (s->entered)
		b->used[s->pool]--;
	if (s->counted)
		addrcount_remove(&b->per_address, s->addr);
	s->entered = s->counted = false;
}
