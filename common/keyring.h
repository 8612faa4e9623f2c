/*
 * Keyring: the relay's secret keys, shared by every relay node.
 *
 * File format (text, mode 0600): one key per line, "KID KEY", newest last, where KID is
 * 8 lowercase hex digits and KEY is 32 random bytes in base64url without padding.
 * Blank lines and lines starting with '#' are ignored. The newest key seals and signs;
 * every key opens, so rotation never breaks what older keys produced. Reading and
 * writing the file: server/keyring_file.c.
 */
#ifndef OAUTH_RELAY_KEYRING_H
#define OAUTH_RELAY_KEYRING_H

#include <stdbool.h>
#include <stddef.h>

#define KEYRING_MAX 16
#define KEYRING_KEY_LEN 32
#define KEYRING_KID_LEN 8
#define KEYRING_DERIVED_LEN 32

/* Each use of a secret has a key of its own, HMAC-SHA256(secret, label), derived when the
 * key enters the ring so that no request pays for a derivation. Plain arrays: rings are
 * copied by value. */
struct keyring_key {
	char kid[KEYRING_KID_LEN + 1];
	unsigned char secret[KEYRING_KEY_LEN];
	unsigned char seal_key[KEYRING_DERIVED_LEN];         /* AES-256-GCM of tokens */
	unsigned char used_flow_key[KEYRING_DERIVED_LEN];    /* the single-use table's hash */
	unsigned char registration_key[KEYRING_DERIVED_LEN]; /* instance secrets */
	unsigned char callback_key[KEYRING_DERIVED_LEN];     /* instances' callback ids */
};

struct keycache;

/* cache: the owner's crypto context cache (common/keycache.h), or NULL: each use then sets
 * its contexts up for one call. Not owned: copies of a ring share it, and the relay
 * points every ring it loads at its one cache. */
struct keyring {
	struct keyring_key keys[KEYRING_MAX];
	size_t count;
	struct keycache *cache;
};

bool keyring_parse(const char *text, struct keyring *out, char *err, size_t errsize);
/* Appends a fresh random key with an id unused in the ring. */
bool keyring_add_random(struct keyring *ring, char *err, size_t errsize);
/* Derives every key's purpose keys anew: for code that changes a secret in place. */
bool keyring_derive(struct keyring *ring);
/* Returns the length written, or 0 when buf is too small. */
size_t keyring_format(const struct keyring *ring, char *buf, size_t size);
const struct keyring_key *keyring_newest(const struct keyring *ring);
const struct keyring_key *keyring_find(const struct keyring *ring, const char *kid);
/* ring's cache, or local when it has none; the caller keycache_free()s local after. */
struct keycache *keyring_cache(const struct keyring *ring, struct keycache *local);
/* Cleanses every secret and derived key, and wipes the cache's copies of them. */
void keyring_wipe(struct keyring *ring);

#endif
