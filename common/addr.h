/* Listener address lists: "host:port, [v6]:port, *:port". Pure parsing, no resolution. */
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

#endif
