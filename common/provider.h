/*
 * Which kind of authorization server a flow used, as a fixed label (doc/design.md §3): the
 * only thing statistics keep about it. The customer's own subdomain (My Domain, Okta
 * org, Microsoft tenant) never survives classification.
 */
#ifndef OAUTH_RELAY_PROVIDER_H
#define OAUTH_RELAY_PROVIDER_H

#include <stddef.h>

enum provider {
	PROVIDER_UNSPECIFIED, /* the flow named no authorization server */
	PROVIDER_SALESFORCE,
	PROVIDER_SALESFORCE_SANDBOX,
	PROVIDER_SALESFORCE_MYDOMAIN,
	PROVIDER_SALESFORCE_SANDBOX_MYDOMAIN,
	PROVIDER_SALESFORCE_SITE,
	PROVIDER_MICROSOFT,
	PROVIDER_GOOGLE,
	PROVIDER_GITHUB,
	PROVIDER_OKTA,
	PROVIDER_AUTH0,
	PROVIDER_OTHER,
	PROVIDER_COUNT
};

/* Classifies an issuer, authorize or token URL (NULL or "" is UNSPECIFIED). */
enum provider provider_classify(const char *url);
const char *provider_label(enum provider p);
/* The provider of a label, or PROVIDER_COUNT when the label is unknown. */
enum provider provider_from_label(const char *label);

#endif
