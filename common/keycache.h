/*
 * Crypto contexts kept from call to call. In OpenSSL 3 setting up an HMAC or AES-GCM
 * context (fetching the algorithm, expanding the key) costs more than the work itself on
 * the relay's short inputs, so each use keeps one context and re-keys it only when its key
 * differs from the previous call's. The cache is its owner's (the relay keeps one for the
 * process, server/relay_state.c; a zeroed struct is an empty cache). Not thread-safe: every
 * relay process is single-threaded.
 */
#ifndef OAUTH_RELAY_KEYCACHE_H
#define OAUTH_RELAY_KEYCACHE_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

#define KEYCACHE_MAC_LEN 32 /* HMAC-SHA256 */
#define KEYCACHE_GCM_KEY_LEN 32
#define KEYCACHE_GCM_IV_LEN 12

/* The last member of each counts the uses. */
enum keycache_mac {
	KEYCACHE_MAC_USED_FLOW,
	KEYCACHE_MAC_REGISTRATION,
	KEYCACHE_MAC_CALLBACK,
	KEYCACHE_MAC_REQUEST,
	KEYCACHE_MAC_USES
};
enum keycache_gcm { KEYCACHE_GCM_SEAL, KEYCACHE_GCM_OPEN, KEYCACHE_GCM_USES };

/* SHA-256's block: a longer HMAC key is hashed first, and is not remembered here. */
#define KEYCACHE_MAC_KEY_MAX 64

struct keycache_mac_slot {
	EVP_MAC_CTX *ctx;
	unsigned char key[KEYCACHE_MAC_KEY_MAX];
	size_t key_len; /* 0: no key remembered, the next call keys the context */
};

struct keycache_gcm_slot {
	EVP_CIPHER_CTX *ctx;
	unsigned char key[KEYCACHE_GCM_KEY_LEN];
	bool keyed;
};

struct keycache {
	/* Fetched once: the fetch is most of what a one-shot HMAC() costs. They hold no key,
	 * so keycache_wipe leaves them. */
	EVP_MAC *hmac;
	EVP_CIPHER *aes_gcm;
	struct keycache_mac_slot macs[KEYCACHE_MAC_USES];
	struct keycache_gcm_slot gcms[KEYCACHE_GCM_USES];
};

/* The use's HMAC-SHA256 context, keyed with key and ready for EVP_MAC_update; NULL on
 * failure. Valid until the next call for the same use. */
EVP_MAC_CTX *keycache_mac(struct keycache *kc, enum keycache_mac use, const void *key,
			  size_t key_len);
/* HMAC-SHA256(key, data) through the use's context. */
bool keycache_mac_once(struct keycache *kc, enum keycache_mac use, const void *key, size_t key_len,
		       const void *data, size_t len, unsigned char out[KEYCACHE_MAC_LEN]);

/* The use's AES-256-GCM context (SEAL encrypts, OPEN decrypts), keyed with key and started
 * at iv, ready for the associated data; NULL on failure. */
EVP_CIPHER_CTX *keycache_gcm(struct keycache *kc, enum keycache_gcm use,
			     const unsigned char key[KEYCACHE_GCM_KEY_LEN],
			     const unsigned char iv[KEYCACHE_GCM_IV_LEN]);

/* Frees every context and forgets every key, so that no key schedule outlives the keyring
 * (keyring_wipe calls it). The next call of any use sets its context up again. */
void keycache_wipe(struct keycache *kc);
/* keycache_wipe, and frees the fetched algorithms too: kc is empty again. */
void keycache_free(struct keycache *kc);

#endif
