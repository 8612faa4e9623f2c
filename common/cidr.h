/* Address ranges ("10.0.0.0/8, 2001:db8::/32, 127.0.0.1") for trusted_proxies. */
#ifndef OAUTH_RELAY_CIDR_H
#define OAUTH_RELAY_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define CIDR_LIST_MAX 32

struct cidr {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
};

struct cidr_list {
	struct cidr items[CIDR_LIST_MAX];
	size_t count;
};

bool cidr_list_parse(const char *text, struct cidr_list *out, char *err, size_t errsize);
/* family and 4 or 16 address bytes; an IPv4-mapped IPv6 address counts as IPv4. */
bool cidr_list_contains(const struct cidr_list *list, int family, const unsigned char *addr);
/* Parses a bare IPv4 or IPv6 address into family and bytes. */
bool cidr_addr_parse(const char *text, size_t len, int *family, unsigned char out[16]);

#endif
