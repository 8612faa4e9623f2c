/* Listener address lists: "host:port, [v6]:port, *:port". Pure parsing, no resolution. */
#ifndef OAUTH_RELAY_ADDR_H
#define OAUTH_RELAY_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#define ADDR_LIST_MAX 8

struct listen_addr {
	char host[256]; /* empty = every address */
	char port[8];
};

/* Parses a comma-separated list; an empty text is an empty list. */
bool addr_list_parse(const char *text, struct listen_addr *out, size_t max, size_t *count,
		     char *err, size_t errsize);

/* True when every address of the list is a loopback address or "localhost". */
bool addr_list_is_loopback(const struct listen_addr *list, size_t count);

#endif
