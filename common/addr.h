/* Listener address lists: "host:port, [v6]:port, *:port", and what a client address counts
 * as. Pure: no resolution. */
#ifndef OAUTH_RELAY_ADDR_H
#define OAUTH_RELAY_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define ADDR_LIST_MAX 8

struct listen_addr {
	char host[256]; /* empty = every address */
	char port[8];
};

/* Parses a comma-separated list; an empty text is an empty list. */
bool addr_list_parse(const char *text, struct listen_addr *out, size_t max, size_t *count,
		     char *err, size_t errsize);

/* True for 127.0.0.0/8 and ::1 (not their IPv4-mapped forms): a resolved address, so a
 * name is judged by what it resolves to, never by how it is spelled. */
bool addr_is_loopback(const struct sockaddr *sa);

/* Whether an outbound connection may go to this resolved address: false for loopback,
 * private, shared (CGNAT), link-local, documentation, benchmarking, multicast, reserved and
 * unspecified IPv4; for IPv6, true only inside global unicast 2000::/3, without the blocks
 * that embed or reach IPv4 (6to4, Teredo and the IETF protocol block, NAT64, IPv4-mapped
 * and -compatible forms) and the documentation ones. */
bool addr_is_public(const struct sockaddr *sa);

#define ADDR_CLIENT_KEY_LEN 16

/* The key a client address is counted under (connection caps, rate limits): IPv4, and
 * IPv4-mapped IPv6 (a dual-stack listener's view of an IPv4 client), as the mapped form;
 * other IPv6 by its /64, the least one subscriber is given. family is AF_INET (4 bytes)
 * or AF_INET6 (16 bytes). */
void addr_client_key(int family, const unsigned char *bytes, unsigned char out[ADDR_CLIENT_KEY_LEN]);

#endif
