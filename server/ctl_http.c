#include "config.h"

#include "ctl_http.h"

#include "sign.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void ctl_target_init(struct ctl_target *t)
{
	memset(t, 0, sizeof(*t));
	t->relay = getenv("OAUTH_RELAYCTL_RELAY");
	t->id = getenv("OAUTH_RELAYCTL_ID");
	t->secret = getenv("OAUTH_RELAYCTL_SECRET");
}

bool ctl_target_option(struct ctl_target *t, int opt, const char *arg)
{
	switch (opt) {
	case CTL_OPT_RELAY:
		t->relay = arg;
		return true;
	case CTL_OPT_CACERT:
		t->cacert = arg;
		return true;
	case CTL_OPT_INSECURE:
		t->insecure = true;
		return true;
	case CTL_OPT_ID:
		t->id = arg;
		return true;
	case CTL_OPT_SECRET:
		t->secret = arg;
		return true;
	default:
		return false;
	}
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	return fwrite(data, size, n, arg);
}

static struct curl_slist *headers_build(const struct ctl_target *t, const char *method,
					const char *target, const char *content_type,
					const char *body)
{
	struct curl_slist *h = NULL;
	char line[512];

	if (content_type) {
		snprintf(line, sizeof(line), "Content-Type: %s", content_type);
		h = curl_slist_append(h, line);
	}
	if (t->accept) {
		snprintf(line, sizeof(line), "Accept: %s", t->accept);
		h = curl_slist_append(h, line);
	}
	if (t->bearer) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", t->bearer);
		h = curl_slist_append(h, line);
	}
	if (t->pickup_key) {
		snprintf(line, sizeof(line), "X-OAuth-Pickup-Key: %s", t->pickup_key);
		h = curl_slist_append(h, line);
	}
	if (t->id && t->secret) {
		char sig[SIGN_SIG_LEN + 1];
		long long ts = (long long)time(NULL);
		sign_compute(NULL, t->secret, ts, method, strlen(method), target, strlen(target),
			     (const unsigned char *)body, strlen(body), sig);
		snprintf(line, sizeof(line), "X-OAuth-Signature: v1 id=%s, ts=%lld, sig=%s", t->id,
			 ts, sig);
		h = curl_slist_append(h, line);
	}
	return curl_slist_append(h, "Expect:");
}

/* The request target as it goes on the wire: the base URL's path plus path. */
static void target_of(const char *relay, const char *path, char *out, size_t size)
{
	const char *host = strstr(relay, "://");
	const char *base_path = host ? strchr(host + 3, '/') : NULL;
	size_t n = base_path ? strlen(base_path) : 0;

	while (n > 0 && base_path[n - 1] == '/')
		n--;
	snprintf(out, size, "%.*s%s", (int)n, base_path ? base_path : "", path);
}

long ctl_http_request(const struct ctl_target *t, const char *method, const char *path,
		      const char *content_type, const char *body)
{
	char url[2048], target[2048];
	struct curl_slist *headers;
	CURL *curl = curl_easy_init();
	long status = -1;
	size_t base_len = strlen(t->relay);
	CURLcode rc;

	if (!curl)
		return -1;
	while (base_len > 0 && t->relay[base_len - 1] == '/')
		base_len--;
	snprintf(url, sizeof(url), "%.*s%s", (int)base_len, t->relay, path);
	target_of(t->relay, path, target, sizeof(target));
	headers = headers_build(t, method, target, content_type, body);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, stdout);
	/* Longer than the longest answer the relay may make wait: a pickup's 30 s. */
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 45L);
	if (t->cacert)
		curl_easy_setopt(curl, CURLOPT_CAINFO, t->cacert);
	if (t->insecure) {
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	else
		fprintf(stderr, "oauth-relayctl: %s\n", curl_easy_strerror(rc));
	fputc('\n', stdout);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	return status;
}
