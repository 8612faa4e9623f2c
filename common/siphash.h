/*
 * SipHash-2-4 under a per-process random key, for in-memory tables whose keys come from
 * the network (client addresses, instances), so that nobody without the key can aim keys
 * at one bucket. OpenSSL computes it (EVP_MAC "SIPHASH"): about 200 ns a call with the key
 * set each time, far below what a connection or a flow costs.
 */
#ifndef OAUTH_RELAY_SIPHASH_H
#define OAUTH_RELAY_SIPHASH_H

#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

struct siphash {
	EVP_MAC_CTX *mac;
	unsigned char key[SIPHASH_KEY_LEN];
};

/* Keeps a copy of key. False when OpenSSL has no SipHash. Free with siphash_free. */
bool siphash_init(struct siphash *h, const unsigned char key[SIPHASH_KEY_LEN]);
void siphash_free(struct siphash *h);
/* The 64-bit tag, read little-endian as the SipHash paper's vectors are; 0 when OpenSSL
 * failed, which callers treat as a refusal or as "no slot", never as a key's own. */
uint64_t siphash_u64(const struct siphash *h, const void *data, size_t len);

#endif
