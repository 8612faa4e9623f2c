#include "config.h"

#include "version.h"

#include "log.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <stdio.h>

void versions_get(struct versions *v)
{
	int pq = PQlibVersion();

	v->relay = PACKAGE_VERSION;
	v->libevent = event_get_version();
	v->openssl = OpenSSL_version(OPENSSL_VERSION);
	v->libcurl = curl_version_info(CURLVERSION_NOW)->version;
	v->jansson = jansson_version_str();
	snprintf(v->libpq, sizeof(v->libpq), "%d.%d", pq / 10000, pq % 10000);
}

void versions_print(const char *program)
{
	struct versions v;

	versions_get(&v);
	printf("%s %s\nlibevent %s\n%s\nlibcurl %s\njansson %s\nlibpq %s\n", program, v.relay,
	       v.libevent, v.openssl, v.libcurl, v.jansson, v.libpq);
}

void versions_log(void)
{
	struct versions v;

	versions_get(&v);
	log_info("starting", LF_TEXT("version", v.relay), LF_TEXT("libevent", v.libevent),
		 LF_TEXT("openssl", v.openssl), LF_TEXT("libcurl", v.libcurl),
		 LF_TEXT("jansson", v.jansson), LF_TEXT("libpq", v.libpq));
}
