#include "config.h"

#include "client_addr.h"

#include "cidr.h"

#include <netinet/in.h>
#include <string.h>

static bool trusted(const struct relay *relay, const struct client_addr *a)
{
	return cidr_list_contains(&relay->trusted_proxies, a->family, a->bytes);
}

/* Walks X-Forwarded-For from the right: the first address not a trusted proxy. */
static void forwarded_apply(const struct request *req, struct client_addr *out)
{
	const struct http_slice *xff = http_head_get(&req->head, "x-forwarded-for");
	struct client_addr cand;
	size_t end;

	if (!xff)
		return;
	end = xff->len;
	while (end > 0) {
		size_t start = end;
		while (start > 0 && xff->p[start - 1] != ',')
			start--;
		size_t a = start, b = end;
		while (a < b && xff->p[a] == ' ')
			a++;
		while (b > a && xff->p[b - 1] == ' ')
			b--;
		if (!cidr_addr_parse(xff->p + a, b - a, &cand.family, cand.bytes))
			return;
		*out = cand;
		if (!trusted(req->relay, &cand))
			return;
		end = start > 0 ? start - 1 : 0;
	}
}

void client_addr_get(const struct request *req, struct client_addr *out)
{
	const struct sockaddr_storage *ss = conn_peer(req);

	memset(out, 0, sizeof(*out));
	if (ss->ss_family == AF_INET) {
		out->family = AF_INET;
		memcpy(out->bytes, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		out->family = AF_INET6;
		memcpy(out->bytes, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	}
	if (out->family && trusted(req->relay, out))
		forwarded_apply(req, out);
}
