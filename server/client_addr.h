/*
 * The client's address, for rate limits only (never logged or stored): the peer, or
 * when the peer is a trusted proxy, the nearest untrusted X-Forwarded-For entry.
 */
#ifndef OAUTH_RELAY_CLIENT_ADDR_H
#define OAUTH_RELAY_CLIENT_ADDR_H

#include "conn.h"

struct client_addr {
	int family;
	unsigned char bytes[16];
};

void client_addr_get(const struct request *req, struct client_addr *out);

#endif
