/* The versions of the relay and of the libraries it runs with. */
#ifndef OAUTH_RELAY_VERSION_H
#define OAUTH_RELAY_VERSION_H

#include <stddef.h>

struct versions {
	const char *relay;
	const char *libevent;
	const char *openssl;
	const char *libcurl;
	const char *jansson;
	char libpq[16];
};

void versions_get(struct versions *v);
void versions_print(const char *program);
void versions_log(void);

#endif
