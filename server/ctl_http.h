/* oauth-relayctl's HTTP client: one request with libcurl, optionally signed. */
#ifndef OAUTH_RELAY_CTL_HTTP_H
#define OAUTH_RELAY_CTL_HTTP_H

#include <stdbool.h>

struct ctl_target {
	const char *relay;  /* base URL, e.g. https://relay.example */
	const char *cacert; /* CA file for self-signed relays, or NULL */
	bool insecure;      /* skip certificate verification (tests only) */
	const char *id;     /* instance credentials for signed requests, or NULL */
	const char *secret;
	const char *bearer;     /* Authorization: Bearer, or NULL */
	const char *accept;     /* Accept, or NULL for curl's */
	const char *pickup_key; /* X-OAuth-Pickup-Key, or NULL */
};

/* The options every instance command takes, for its getopt_long table; a command numbers
 * its own options from CTL_OPT_NEXT. */
enum {
	CTL_OPT_RELAY = 256,
	CTL_OPT_CACERT,
	CTL_OPT_INSECURE,
	CTL_OPT_ID,
	CTL_OPT_SECRET,
	CTL_OPT_NEXT
};
#define CTL_TARGET_OPTIONS                                             \
	{ "relay", required_argument, NULL, CTL_OPT_RELAY },           \
		{ "cacert", required_argument, NULL, CTL_OPT_CACERT }, \
		{ "insecure", no_argument, NULL, CTL_OPT_INSECURE },   \
		{ "id", required_argument, NULL, CTL_OPT_ID },         \
	{                                                              \
		"secret", required_argument, NULL, CTL_OPT_SECRET      \
	}

/* Relay and credentials from OAUTH_RELAYCTL_RELAY, _ID and _SECRET, or NULL. */
void ctl_target_init(struct ctl_target *t);
/* Applies opt when it is one of CTL_TARGET_OPTIONS; false for any other. */
bool ctl_target_option(struct ctl_target *t, int opt, const char *arg);

/* Sends METHOD path with body; prints the response body to stdout. Returns the HTTP
 * status, or -1 when no response came (the reason goes to stderr). */
long ctl_http_request(const struct ctl_target *t, const char *method, const char *path,
		      const char *content_type, const char *body);

#endif
