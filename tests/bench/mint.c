/*
 * Benchmark helper (tests/bench/run only; not built by make, not a test).
 *
 *   mint tokens KEYRING N      N sealed flow tokens, one per line
 *
 * The callback benchmark needs hundreds of thousands of DISTINCT valid tokens (each is
 * single use: a replay answers 409). Creating them through POST /v1/flows would be far
 * slower than the callback path being measured, and that endpoint is rate-limited per
 * instance (a burst of 60, then 120 a minute). So this tool reads the relay's keyring
 * and seals the flows itself, exactly as server/route_flows.c does for
 * POST /v1/flows {"return_url": "https://qorus.example/cb", "delivery": "redirect",
 * "expires_in": 1800}: a random 16-byte flow id, created = now, expires = now + 1800,
 * redirect delivery, the normalized return_url, no issuer, no instance_state; sealed
 * with the keyring's newest key by seal_flow(). The relay opens them like any other.
 * Each is bound to the instance callback id of 16 zero bytes, so the bench sends them to
 * /v1/callback/AAAAAAAAAAAAAAAAAAAAAA (the path the relay checks, like any instance's).
 *
 * Every token has the same length (fixed plaintext layout), so every line has the same
 * length: the wrk script seeks straight to a thread's slice of the file.
 */
#include "config.h"

#include "keycache.h"
#include "keyring.h"
#include "seal.h"
#include "url.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETURN_URL "https://qorus.example/cb"
#define TTL 1800

static int usage(void)
{
	fprintf(stderr, "usage: mint tokens KEYRING N\n");
	return 2;
}

static int mint_tokens(const struct keyring *ring, long n)
{
	static struct flow f;
	char token[SEAL_TOKEN_MAX];
	size_t len0 = 0;

	memset(&f, 0, sizeof(f));
	if (!url_return_normalize(RETURN_URL, strlen(RETURN_URL), f.return_url)) {
		fprintf(stderr, "mint: return_url refused\n");
		return 1;
	}
	f.delivery = DELIVERY_REDIRECT;
	for (long i = 0; i < n; i++) {
		f.created = (int64_t)time(NULL);
		f.expires = f.created + TTL;
		if (RAND_bytes(f.id, sizeof(f.id)) != 1 || !seal_flow(ring, &f, token, sizeof(token))) {
			fprintf(stderr, "mint: sealing failed\n");
			return 1;
		}
		if (i == 0)
			len0 = strlen(token);
		else if (strlen(token) != len0) {
			fprintf(stderr, "mint: token length changed (%zu, %zu)\n", len0, strlen(token));
			return 1;
		}
		fputs(token, stdout);
		putchar('\n');
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

/* The keyring's file edge is the server's (server/keyring_file.c); a bench tool reads the
 * file itself and links common/ only. */
static bool ring_load(const char *path, struct keyring *ring, char *err, size_t errsize)
{
	static char text[8193];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		snprintf(err, errsize, "cannot open");
		return false;
	}
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	return keyring_parse(text, ring, err, errsize);
}

int main(int argc, char **argv)
{
	static struct keyring ring;
	static struct keycache cache;
	char err[512];
	char *end;
	long n;
	int rc;

	if (argc != 4)
		return usage();
	n = strtol(argv[3], &end, 10);
	if (*end || n < 0)
		return usage();
	if (!ring_load(argv[2], &ring, err, sizeof(err))) {
		fprintf(stderr, "mint: %s: %s\n", argv[2], err);
		return 1;
	}
	ring.cache = &cache; /* as the relay seals: one context, kept */
	if (strcmp(argv[1], "tokens") == 0)
		rc = mint_tokens(&ring, n);
	else
		rc = usage();
	keyring_wipe(&ring);
	return rc;
}
