/* oauth-relayctl's HTTP client: one request with libcurl, optionally signed. */
#ifndef OAUTH_RELAY_CTL_HTTP_H
#define OAUTH_RELAY_CTL_HTTP_H

#include <stdbool.h>

struct ctl_target {
	const char *relay;     /* base URL, e.g. https://relay.example */
	const char *cacert;    /* CA file for self-signed relays, or NULL */
	bool insecure;         /* skip certificate verification (tests only) */
	const char *id;        /* instance credentials for signed requests, or NULL */
	const char *secret;
	const char *bearer;    /* Authorization: Bearer, or NULL */
};

/* Sends METHOD path with body; prints the response body to stdout. Returns the HTTP
 * status, or -1 when no response came (the reason goes to stderr). */
long ctl_http_request(const struct ctl_target *t, const char *method, const char *path,
		      const char *content_type, const char *body);

#endif
