/* provider: the fixed classification of authorization servers (doc/design.md §3) with real
 * host shapes, case, ports, trailing dots and look-alikes, and the label table. */
#include "config.h"

#include "suites.h"

#include "provider.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct classify_case {
	const char *url;
	enum provider want;
};

static const struct classify_case cases[] = {
	/* Salesforce production and sandbox logins. */
	{ "https://login.salesforce.com", PROVIDER_SALESFORCE },
	{ "https://login.salesforce.com/", PROVIDER_SALESFORCE },
	{ "https://login.salesforce.com/services/oauth2/authorize", PROVIDER_SALESFORCE },
	{ "https://login.salesforce.com/services/oauth2/token", PROVIDER_SALESFORCE },
	{ "https://LOGIN.Salesforce.COM", PROVIDER_SALESFORCE },
	{ "HTTPS://login.salesforce.com", PROVIDER_SALESFORCE },
	{ "http://login.salesforce.com", PROVIDER_SALESFORCE },
	{ "https://login.salesforce.com:443/services/oauth2/authorize", PROVIDER_SALESFORCE },
	{ "https://login.salesforce.com./", PROVIDER_SALESFORCE },
	{ "https://login.salesforce.com.:443", PROVIDER_SALESFORCE },
	{ "https://login.salesforce.com?prompt=login", PROVIDER_SALESFORCE },
	{ "https://login.salesforce.com#x", PROVIDER_SALESFORCE },
	{ "https://test.salesforce.com", PROVIDER_SALESFORCE_SANDBOX },
	{ "https://Test.Salesforce.com/services/oauth2/authorize", PROVIDER_SALESFORCE_SANDBOX },
	{ "https://test.salesforce.com:8443/", PROVIDER_SALESFORCE_SANDBOX },
	/* My Domain, production and sandbox. */
	{ "https://acme.my.salesforce.com", PROVIDER_SALESFORCE_MYDOMAIN },
	{ "https://acme.my.salesforce.com/services/oauth2/authorize", PROVIDER_SALESFORCE_MYDOMAIN },
	{ "https://ACME-Corp.My.Salesforce.Com:443/", PROVIDER_SALESFORCE_MYDOMAIN },
	{ "https://acme.my.salesforce.com.", PROVIDER_SALESFORCE_MYDOMAIN },
	{ "https://a.my.salesforce.com", PROVIDER_SALESFORCE_MYDOMAIN },
	{ "https://acme--uat.sandbox.my.salesforce.com", PROVIDER_SALESFORCE_SANDBOX_MYDOMAIN },
	{ "https://acme--dev.sandbox.my.salesforce.com/services/oauth2/token",
	  PROVIDER_SALESFORCE_SANDBOX_MYDOMAIN },
	{ "https://ACME--SBX.SANDBOX.MY.SALESFORCE.COM:443", PROVIDER_SALESFORCE_SANDBOX_MYDOMAIN },
	/* Experience Cloud sites, with community path prefixes. */
	{ "https://acme.my.site.com", PROVIDER_SALESFORCE_SITE },
	{ "https://acme.my.site.com/partners/services/oauth2/authorize", PROVIDER_SALESFORCE_SITE },
	{ "https://acme--uat.sandbox.my.site.com/customers/services/oauth2/token",
	  PROVIDER_SALESFORCE_SITE },
	{ "https://acme.force.com", PROVIDER_SALESFORCE_SITE },
	{ "https://acme.force.com/partners/services/oauth2/authorize", PROVIDER_SALESFORCE_SITE },
	{ "https://Acme.Secure.Force.com", PROVIDER_SALESFORCE_SITE },
	/* Microsoft: the tenant path does not matter. */
	{ "https://login.microsoftonline.com/common/v2.0", PROVIDER_MICROSOFT },
	{ "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0", PROVIDER_MICROSOFT },
	{ "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
	  PROVIDER_MICROSOFT },
	{ "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize",
	  PROVIDER_MICROSOFT },
	{ "https://Login.MicrosoftOnline.com:443/consumers/v2.0/", PROVIDER_MICROSOFT },
	/* Google, GitHub, Okta, Auth0. */
	{ "https://accounts.google.com", PROVIDER_GOOGLE },
	{ "https://accounts.google.com/o/oauth2/v2/auth", PROVIDER_GOOGLE },
	{ "https://oauth2.googleapis.com/token", PROVIDER_GOOGLE },
	{ "https://Accounts.Google.Com.", PROVIDER_GOOGLE },
	{ "https://github.com", PROVIDER_GITHUB },
	{ "https://github.com/login/oauth/authorize", PROVIDER_GITHUB },
	{ "https://GitHub.com:443/login/oauth/access_token", PROVIDER_GITHUB },
	{ "https://acme.okta.com", PROVIDER_OKTA },
	{ "https://acme.okta.com/oauth2/default", PROVIDER_OKTA },
	{ "https://dev-12345678.okta.com/oauth2/v1/authorize", PROVIDER_OKTA },
	{ "https://acme.oktapreview.com", PROVIDER_OKTA },
	{ "https://ACME.OKTA.COM.", PROVIDER_OKTA },
	{ "https://acme.auth0.com", PROVIDER_AUTH0 },
	{ "https://acme.eu.auth0.com/authorize", PROVIDER_AUTH0 },
	{ "https://dev-abc.us.auth0.com:443/oauth/token", PROVIDER_AUTH0 },
	/* Look-alikes: other. */
	{ "https://login.salesforce.com.evil.io", PROVIDER_OTHER },
	{ "https://login.salesforce.com.evil.io/services/oauth2/authorize", PROVIDER_OTHER },
	{ "https://evilsalesforce.com", PROVIDER_OTHER },
	{ "https://login.evilsalesforce.com", PROVIDER_OTHER },
	{ "https://login-salesforce.com", PROVIDER_OTHER },
	{ "https://login.salesforce.co", PROVIDER_OTHER },
	{ "https://xlogin.salesforce.com", PROVIDER_OTHER },
	{ "https://salesforce.com", PROVIDER_OTHER },
	{ "https://my.salesforce.com", PROVIDER_OTHER },
	{ "https://xmy.salesforce.com", PROVIDER_OTHER },
	{ "https://acme.xmy.salesforce.com", PROVIDER_OTHER },
	{ "https://.my.salesforce.com", PROVIDER_OTHER },
	{ "https://acme.my.salesforce.com.evil.io", PROVIDER_OTHER },
	{ "https://acme.my.salesforce.comevil.io", PROVIDER_OTHER },
	{ "https://my.site.com", PROVIDER_OTHER },
	{ "https://force.com", PROVIDER_OTHER },
	{ "https://evilforce.com", PROVIDER_OTHER },
	{ "https://login.microsoftonline.com.evil.io/common/v2.0", PROVIDER_OTHER },
	{ "https://evil.io/login.microsoftonline.com/common/v2.0", PROVIDER_OTHER },
	{ "https://accounts.google.com.evil.io", PROVIDER_OTHER },
	{ "https://github.com.evil.io", PROVIDER_OTHER },
	{ "https://gist.github.com", PROVIDER_OTHER },
	{ "https://okta.com", PROVIDER_OTHER },
	{ "https://evilokta.com", PROVIDER_OTHER },
	{ "https://acme.okta.com.evil.io", PROVIDER_OTHER },
	{ "https://auth0.com", PROVIDER_OTHER },
	{ "https://acme.auth0.com.evil.io", PROVIDER_OTHER },
	{ "https://login.salesforce.com../", PROVIDER_OTHER },
	/* User-info and other tricks: the host is not what it seems, so other. */
	{ "https://login.salesforce.com@evil.io", PROVIDER_OTHER },
	{ "https://login.salesforce.com:443@evil.io/", PROVIDER_OTHER },
	{ "https://user@login.salesforce.com", PROVIDER_OTHER },
	{ "https://login.salesforce.com\\@evil.io", PROVIDER_OTHER },
	{ "https://login.salesforce.com%2eevil.io", PROVIDER_OTHER },
	{ "https://evil.io?@login.salesforce.com", PROVIDER_OTHER },
	{ "https://evil.io#@login.salesforce.com", PROVIDER_OTHER },
	{ "https://evil.io/?next=https://login.salesforce.com", PROVIDER_OTHER },
	{ "https://[::1]/", PROVIDER_OTHER },
	{ "https://127.0.0.1/", PROVIDER_OTHER },
	{ "https://login.salesforce.com\t", PROVIDER_OTHER },
	{ "https://login .salesforce.com", PROVIDER_OTHER },
	/* Not http(s) URLs: other. */
	{ "login.salesforce.com", PROVIDER_OTHER },
	{ "//login.salesforce.com", PROVIDER_OTHER },
	{ "ftp://login.salesforce.com", PROVIDER_OTHER },
	{ "wss://login.salesforce.com", PROVIDER_OTHER },
	{ "javascript://login.salesforce.com/%0aalert(1)", PROVIDER_OTHER },
	{ "xhttps://login.salesforce.com", PROVIDER_OTHER },
	{ "https://", PROVIDER_OTHER },
	{ "https:///services/oauth2/authorize", PROVIDER_OTHER },
	{ "https://:443/", PROVIDER_OTHER },
	{ "https:login.salesforce.com", PROVIDER_OTHER },
	{ "salesforce", PROVIDER_OTHER },
	{ " ", PROVIDER_OTHER },
	/* Nothing named. */
	{ "", PROVIDER_UNSPECIFIED },
};

START_TEST(classify)
{
	const struct classify_case *c = &cases[_i];
	enum provider got = provider_classify(c->url);

	ck_assert_msg(got == c->want, "'%s': got %s, want %s", c->url, provider_label(got),
		      provider_label(c->want));
}
END_TEST

START_TEST(classify_null)
{
	ck_assert_int_eq(provider_classify(NULL), PROVIDER_UNSPECIFIED);
}
END_TEST

/* Every label is reachable from a real URL: the table has no dead entries. */
START_TEST(every_label_reachable)
{
	bool seen[PROVIDER_COUNT] = { false };

	for (size_t i = 0; i < N_ELEMS(cases); i++)
		seen[cases[i].want] = true;
	for (int p = 0; p < PROVIDER_COUNT; p++)
		ck_assert_msg(seen[p], "no case for %s", provider_label((enum provider)p));
}
END_TEST

/* Host names longer than DNS allows, and a long subdomain that is still legal. */
START_TEST(long_hosts)
{
	char url[600], label[64];

	memset(label, 'a', 63);
	label[63] = '\0';
	/* 3 * 64 + "my.salesforce.com" = 209 characters: a legal, long My Domain. */
	snprintf(url, sizeof(url), "https://%s.%s.%s.my.salesforce.com/", label, label, label);
	ck_assert_int_eq(provider_classify(url), PROVIDER_SALESFORCE_MYDOMAIN);
	/* 5 * 64 + 17 = 337 characters: too long for a host name. */
	snprintf(url, sizeof(url), "https://%s.%s.%s.%s.%s.my.salesforce.com/", label, label, label,
		 label, label);
	ck_assert_int_eq(provider_classify(url), PROVIDER_OTHER);
}
END_TEST

START_TEST(labels_round_trip)
{
	for (int p = 0; p < PROVIDER_COUNT; p++) {
		const char *label = provider_label((enum provider)p);
		ck_assert_ptr_nonnull(label);
		ck_assert_msg(provider_from_label(label) == (enum provider)p, "%s", label);
		/* Safe as a metric label value and an SQL text value without escaping. */
		ck_assert_uint_gt(strlen(label), 0);
		for (const char *c = label; *c; c++)
			ck_assert_msg(islower((unsigned char)*c) || isdigit((unsigned char)*c) ||
					      *c == '-',
				      "%s", label);
		for (int q = 0; q < p; q++)
			ck_assert_str_ne(label, provider_label((enum provider)q));
	}
	ck_assert_str_eq(provider_label(PROVIDER_SALESFORCE), "salesforce");
	ck_assert_str_eq(provider_label(PROVIDER_SALESFORCE_SANDBOX), "salesforce-sandbox");
	ck_assert_str_eq(provider_label(PROVIDER_SALESFORCE_MYDOMAIN), "salesforce-mydomain");
	ck_assert_str_eq(provider_label(PROVIDER_SALESFORCE_SANDBOX_MYDOMAIN),
			 "salesforce-sandbox-mydomain");
	ck_assert_str_eq(provider_label(PROVIDER_SALESFORCE_SITE), "salesforce-site");
	ck_assert_str_eq(provider_label(PROVIDER_MICROSOFT), "microsoft");
	ck_assert_str_eq(provider_label(PROVIDER_GOOGLE), "google");
	ck_assert_str_eq(provider_label(PROVIDER_GITHUB), "github");
	ck_assert_str_eq(provider_label(PROVIDER_OKTA), "okta");
	ck_assert_str_eq(provider_label(PROVIDER_AUTH0), "auth0");
	ck_assert_str_eq(provider_label(PROVIDER_OTHER), "other");
	ck_assert_str_eq(provider_label(PROVIDER_UNSPECIFIED), "unspecified");
	/* Out of range: never a crash, never a customer's text. */
	ck_assert_str_eq(provider_label(PROVIDER_COUNT), "other");
	ck_assert_str_eq(provider_label((enum provider)200), "other");
	/* Unknown and differently cased labels are not providers. */
	ck_assert_int_eq(provider_from_label("Salesforce"), PROVIDER_COUNT);
	ck_assert_int_eq(provider_from_label("acme.my.salesforce.com"), PROVIDER_COUNT);
	ck_assert_int_eq(provider_from_label(""), PROVIDER_COUNT);
	ck_assert_int_eq(provider_from_label("salesforce "), PROVIDER_COUNT);
}
END_TEST

Suite *provider_suite(void)
{
	Suite *s = suite_create("provider");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, classify, 0, (int)N_ELEMS(cases));
	tcase_add_test(tc, classify_null);
	tcase_add_test(tc, every_label_reachable);
	tcase_add_test(tc, long_hosts);
	tcase_add_test(tc, labels_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
