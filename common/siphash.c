#include "config.h"

#include "siphash.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

bool siphash_init(struct siphash *h, const unsigned char key[SIPHASH_KEY_LEN])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);

	memset(h, 0, sizeof(*h));
	if (!mac)
		return false;
	h->mac = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac); /* the context holds its own reference */
	memcpy(h->key, key, SIPHASH_KEY_LEN);
	return h->mac != NULL;
}

void siphash_free(struct siphash *h)
{
	EVP_MAC_CTX_free(h->mac);
	OPENSSL_cleanse(h, sizeof(*h));
}

uint64_t siphash_u64(const struct siphash *h, const void *data, size_t len)
{
	size_t size = sizeof(uint64_t), got = 0;
	OSSL_PARAM params[] = { OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
				OSSL_PARAM_construct_end() };
	unsigned char out[sizeof(uint64_t)];
	uint64_t v = 0;

	if (!h->mac || !EVP_MAC_init(h->mac, h->key, SIPHASH_KEY_LEN, params) ||
	    !EVP_MAC_update(h->mac, data, len) || !EVP_MAC_final(h->mac, out, &got, sizeof(out)) ||
	    got != sizeof(out))
		return 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | out[i];
	return v;
}
