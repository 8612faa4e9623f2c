#include "config.h"

#include "keyring.h"

#include "encoding.h"
#include "keycache.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define KEYRING_HEADER                                                         \
	"# oauth-relay keyring: one key per line, \"KID KEY\", newest last.\n" \
	"# KID: 8 hex digits; KEY: 32 random bytes, base64url. Keep this file secret.\n"

/* The labels are part of the token and credential formats: a changed label strands every
 * token in flight and every registered instance. */
static const struct purpose {
	const char *label;
	size_t offset; /* of the derived key in struct keyring_key */
} purposes[] = {
	{ "oauth-relay seal v1", offsetof(struct keyring_key, seal_key) },
	{ "oauth-relay used-flow v1", offsetof(struct keyring_key, used_flow_key) },
	{ "oauth-relay registration v1", offsetof(struct keyring_key, registration_key) },
	{ "oauth-relay callback v1", offsetof(struct keyring_key, callback_key) },
};

static bool key_derive(struct keyring_key *key)
{
	for (size_t i = 0; i < sizeof(purposes) / sizeof(purposes[0]); i++) {
		unsigned char *out = (unsigned char *)key + purposes[i].offset;
		unsigned int len = KEYRING_DERIVED_LEN;

		if (!HMAC(EVP_sha256(), key->secret, KEYRING_KEY_LEN,
			  (const unsigned char *)purposes[i].label, strlen(purposes[i].label), out,
			  &len))
			return false;
	}
	return true;
}

bool keyring_derive(struct keyring *ring)
{
	for (size_t i = 0; i < ring->count; i++) {
		if (!key_derive(&ring->keys[i]))
			return false;
	}
	return true;
}

static bool kid_valid(const char *kid, size_t len)
{
	if (len != KEYRING_KID_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!((kid[i] >= '0' && kid[i] <= '9') || (kid[i] >= 'a' && kid[i] <= 'f')))
			return false;
	}
	return true;
}

static bool line_parse(const char *line, size_t len, struct keyring *ring, const char **why)
{
	struct keyring_key key;
	const char *sp = memchr(line, ' ', len);
	size_t keylen;

	if (!sp || !kid_valid(line, (size_t)(sp - line))) {
		*why = "expected 'KID KEY' with KID of 8 hex digits";
		return false;
	}
	memcpy(key.kid, line, KEYRING_KID_LEN);
	key.kid[KEYRING_KID_LEN] = '\0';
	if (keyring_find(ring, key.kid)) {
		*why = "duplicate key id";
		return false;
	}
	keylen = len - (size_t)(sp + 1 - line);
	size_t got = 0;
	if (!base64url_decode(sp + 1, keylen, key.secret, sizeof(key.secret), &got) ||
	    got != KEYRING_KEY_LEN) {
		*why = "key is not 32 bytes of base64url";
		return false;
	}
	if (ring->count == KEYRING_MAX) {
		*why = "too many keys (at most 16): remove the oldest";
		return false;
	}
	ring->keys[ring->count++] = key;
	OPENSSL_cleanse(&key, sizeof(key));
	return true;
}

bool keyring_parse(const char *text, struct keyring *out, char *err, size_t errsize)
{
	unsigned lineno = 0;
	const char *why = NULL;

	memset(out, 0, sizeof(*out));
	while (*text) {
		size_t len = strcspn(text, "\n");
		size_t trimmed = len;
		lineno++;
		while (trimmed > 0 && (text[trimmed - 1] == '\r' || text[trimmed - 1] == ' ' ||
				       text[trimmed - 1] == '\t'))
			trimmed--;
		if (trimmed > 0 && text[0] != '#' && !line_parse(text, trimmed, out, &why)) {
			snprintf(err, errsize, "line %u: %s", lineno, why);
			goto failed;
		}
		text += len;
		if (*text == '\n')
			text++;
	}
	if (out->count == 0) {
		snprintf(err, errsize,
			 "no keys (create one with: oauth-relayctl keys generate FILE)");
		goto failed;
	}
	if (!keyring_derive(out)) {
		snprintf(err, errsize, "HMAC-SHA256 failed: cannot derive the keys");
		goto failed;
	}
	return true;
failed:
	keyring_wipe(out);
	return false;
}

bool keyring_add_random(struct keyring *ring, char *err, size_t errsize)
{
	struct keyring_key *key;
	unsigned char id[KEYRING_KID_LEN / 2];
	const char *why = "the random generator failed";

	if (ring->count == KEYRING_MAX) {
		snprintf(err, errsize, "the keyring holds %d keys already: remove the oldest first",
			 KEYRING_MAX);
		return false;
	}
	key = &ring->keys[ring->count];
	do {
		if (RAND_bytes(id, sizeof(id)) != 1)
			goto failed;
		hex_encode(id, sizeof(id), key->kid);
	} while (keyring_find(ring, key->kid));
	if (RAND_bytes(key->secret, sizeof(key->secret)) != 1)
		goto failed;
	why = "HMAC-SHA256 failed: cannot derive the key";
	if (!key_derive(key))
		goto failed;
	ring->count++;
	return true;
failed:
	snprintf(err, errsize, "%s", why);
	OPENSSL_cleanse(key, sizeof(*key));
	return false;
}

size_t keyring_format(const struct keyring *ring, char *buf, size_t size)
{
	char b64[BASE64URL_LEN(KEYRING_KEY_LEN) + 1];
	size_t len = (size_t)snprintf(buf, size, "%s", KEYRING_HEADER);

	for (size_t i = 0; i < ring->count && len < size; i++) {
		base64url_encode(ring->keys[i].secret, KEYRING_KEY_LEN, b64);
		len += (size_t)snprintf(buf + len, size - len, "%s %s\n", ring->keys[i].kid, b64);
	}
	OPENSSL_cleanse(b64, sizeof(b64));
	return len < size ? len : 0;
}

const struct keyring_key *keyring_newest(const struct keyring *ring)
{
	return ring->count ? &ring->keys[ring->count - 1] : NULL;
}

const struct keyring_key *keyring_find(const struct keyring *ring, const char *kid)
{
	for (size_t i = 0; i < ring->count; i++) {
		if (strcmp(ring->keys[i].kid, kid) == 0)
			return &ring->keys[i];
	}
	return NULL;
}

struct keycache *keyring_cache(const struct keyring *ring, struct keycache *local)
{
	return ring->cache ? ring->cache : local;
}

void keyring_wipe(struct keyring *ring)
{
	/* The cached contexts hold key schedules of this ring's keys (or another's: they
	 * re-key on their next use, so dropping them all costs only that). */
	if (ring->cache)
		keycache_wipe(ring->cache);
	OPENSSL_cleanse(ring, sizeof(*ring));
}
