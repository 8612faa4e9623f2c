#include "config.h"

#include "provider.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

static const char *const labels[PROVIDER_COUNT] = {
	[PROVIDER_UNSPECIFIED] = "unspecified",
	[PROVIDER_SALESFORCE] = "salesforce",
	[PROVIDER_SALESFORCE_SANDBOX] = "salesforce-sandbox",
	[PROVIDER_SALESFORCE_MYDOMAIN] = "salesforce-mydomain",
	[PROVIDER_SALESFORCE_SANDBOX_MYDOMAIN] = "salesforce-sandbox-mydomain",
	[PROVIDER_SALESFORCE_SITE] = "salesforce-site",
	[PROVIDER_MICROSOFT] = "microsoft",
	[PROVIDER_GOOGLE] = "google",
	[PROVIDER_GITHUB] = "github",
	[PROVIDER_OKTA] = "okta",
	[PROVIDER_AUTH0] = "auth0",
	[PROVIDER_OTHER] = "other",
};

enum match { EXACT, SUBDOMAIN }; /* SUBDOMAIN: at least one label before the suffix */

struct rule {
	const char *host;
	enum match match;
	enum provider provider;
};

/* First match wins: more specific suffixes come before the general ones. */
static const struct rule rules[] = {
	{ "login.salesforce.com", EXACT, PROVIDER_SALESFORCE },
	{ "test.salesforce.com", EXACT, PROVIDER_SALESFORCE_SANDBOX },
	{ "sandbox.my.salesforce.com", SUBDOMAIN, PROVIDER_SALESFORCE_SANDBOX_MYDOMAIN },
	{ "my.salesforce.com", SUBDOMAIN, PROVIDER_SALESFORCE_MYDOMAIN },
	{ "my.site.com", SUBDOMAIN, PROVIDER_SALESFORCE_SITE },
	{ "force.com", SUBDOMAIN, PROVIDER_SALESFORCE_SITE },
	{ "login.microsoftonline.com", EXACT, PROVIDER_MICROSOFT },
	{ "login.microsoft.com", EXACT, PROVIDER_MICROSOFT },
	{ "login.live.com", EXACT, PROVIDER_MICROSOFT },
	{ "sts.windows.net", EXACT, PROVIDER_MICROSOFT },
	{ "accounts.google.com", EXACT, PROVIDER_GOOGLE },
	{ "oauth2.googleapis.com", EXACT, PROVIDER_GOOGLE },
	{ "github.com", EXACT, PROVIDER_GITHUB },
	{ "okta.com", SUBDOMAIN, PROVIDER_OKTA },
	{ "oktapreview.com", SUBDOMAIN, PROVIDER_OKTA },
	{ "okta-emea.com", SUBDOMAIN, PROVIDER_OKTA },
	{ "auth0.com", SUBDOMAIN, PROVIDER_AUTH0 },
};

#define HOST_MAX 253

/* The host of an http(s) URL, lower case, without port or trailing dot. */
static bool host_of(const char *url, char *out)
{
	const char *p = strstr(url, "://");
	size_t n;

	if (!p || (strncasecmp(url, "https://", 8) != 0 && strncasecmp(url, "http://", 7) != 0))
		return false;
	p += 3;
	/* User-info anywhere in the authority ("https://login.salesforce.com:443@evil.io"):
	 * the host is not what it seems. */
	if (memchr(p, '@', strcspn(p, "/?#")))
		return false;
	n = strcspn(p, "/?#:");
	if (n == 0 || n > HOST_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (!(isalnum(c) || c == '-' || c == '.' || c == '_'))
			return false;
		out[i] = (char)tolower(c);
	}
	if (out[n - 1] == '.')
		n--;
	out[n] = '\0';
	return n > 0;
}

static bool rule_matches(const struct rule *r, const char *host)
{
	size_t hl = strlen(host), rl = strlen(r->host);

	if (r->match == EXACT)
		return strcmp(host, r->host) == 0;
	/* "x.my.salesforce.com": the suffix preceded by a dot and a non-empty label */
	return hl > rl + 1 && host[hl - rl - 1] == '.' && strcmp(host + hl - rl, r->host) == 0;
}

enum provider provider_classify(const char *url)
{
	char host[HOST_MAX + 1];

	if (!url || !*url)
		return PROVIDER_UNSPECIFIED;
	if (!host_of(url, host))
		return PROVIDER_OTHER;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (rule_matches(&rules[i], host))
			return rules[i].provider;
	}
	return PROVIDER_OTHER;
}

const char *provider_label(enum provider p)
{
	return p < PROVIDER_COUNT ? labels[p] : "other";
}

enum provider provider_from_label(const char *label)
{
	for (int i = 0; i < PROVIDER_COUNT; i++) {
		if (strcmp(labels[i], label) == 0)
			return (enum provider)i;
	}
	return PROVIDER_COUNT;
}
