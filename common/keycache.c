#include "config.h"

#include "keycache.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <string.h>

static EVP_MAC_CTX *mac_ctx_new(struct keycache *kc)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *ctx;

	if (!kc->hmac)
		kc->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	ctx = kc->hmac ? EVP_MAC_CTX_new(kc->hmac) : NULL;
	if (ctx && !EVP_MAC_CTX_set_params(ctx, params)) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static bool mac_slot_holds(const struct keycache_mac_slot *slot, const void *key, size_t key_len)
{
	return slot->key_len != 0 && slot->key_len == key_len &&
	       CRYPTO_memcmp(slot->key, key, key_len) == 0;
}

static bool mac_slot_rekey(struct keycache_mac_slot *slot, const void *key, size_t key_len)
{
	slot->key_len = 0; /* a failed init leaves no key to trust */
	if (!EVP_MAC_init(slot->ctx, key, key_len, NULL))
		return false;
	if (key_len <= sizeof(slot->key)) {
		memcpy(slot->key, key, key_len);
		slot->key_len = key_len;
	}
	return true;
}

EVP_MAC_CTX *keycache_mac(struct keycache *kc, enum keycache_mac use, const void *key, size_t key_len)
{
	struct keycache_mac_slot *slot = &kc->macs[use];
	bool ok;

	if (!slot->ctx)
		slot->ctx = mac_ctx_new(kc);
	if (!slot->ctx)
		return NULL;
	/* The same key: only the message restarts, the keyed state stays. */
	if (mac_slot_holds(slot, key, key_len))
		ok = EVP_MAC_init(slot->ctx, NULL, 0, NULL);
	else
		ok = mac_slot_rekey(slot, key, key_len);
	return ok ? slot->ctx : NULL;
}

bool keycache_mac_once(struct keycache *kc, enum keycache_mac use, const void *key, size_t key_len,
		       const void *data, size_t len, unsigned char out[KEYCACHE_MAC_LEN])
{
	EVP_MAC_CTX *ctx = keycache_mac(kc, use, key, key_len);
	size_t out_len = 0;

	return ctx && EVP_MAC_update(ctx, data, len) &&
	       EVP_MAC_final(ctx, out, &out_len, KEYCACHE_MAC_LEN) && out_len == KEYCACHE_MAC_LEN;
}

static bool gcm_slot_holds(const struct keycache_gcm_slot *slot, const unsigned char *key)
{
	return slot->keyed && CRYPTO_memcmp(slot->key, key, KEYCACHE_GCM_KEY_LEN) == 0;
}

static bool gcm_slot_rekey(struct keycache_gcm_slot *slot, const EVP_CIPHER *aes_gcm,
			   const unsigned char *key, const unsigned char *iv, int encrypt)
{
	slot->keyed = false; /* a failed init leaves no key to trust */
	if (EVP_CipherInit_ex2(slot->ctx, aes_gcm, key, iv, encrypt, NULL) != 1)
		return false;
	memcpy(slot->key, key, KEYCACHE_GCM_KEY_LEN);
	slot->keyed = true;
	return true;
}

EVP_CIPHER_CTX *keycache_gcm(struct keycache *kc, enum keycache_gcm use,
			     const unsigned char key[KEYCACHE_GCM_KEY_LEN],
			     const unsigned char iv[KEYCACHE_GCM_IV_LEN])
{
	struct keycache_gcm_slot *slot = &kc->gcms[use];
	int encrypt = use == KEYCACHE_GCM_SEAL;
	bool ok;

	if (!kc->aes_gcm)
		kc->aes_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	if (!kc->aes_gcm)
		return NULL;
	if (!slot->ctx)
		slot->ctx = EVP_CIPHER_CTX_new();
	if (!slot->ctx)
		return NULL;
	/* The same key: a new IV alone restarts the counter and the authentication. */
	if (gcm_slot_holds(slot, key))
		ok = EVP_CipherInit_ex2(slot->ctx, NULL, NULL, iv, encrypt, NULL) == 1;
	else
		ok = gcm_slot_rekey(slot, kc->aes_gcm, key, iv, encrypt);
	return ok ? slot->ctx : NULL;
}

void keycache_wipe(struct keycache *kc)
{
	/* Freeing a context cleanses the key schedule it holds; the cleanse forgets the keys
	 * and leaves every slot empty, to be set up again on its next use. */
	for (size_t i = 0; i < KEYCACHE_MAC_USES; i++)
		EVP_MAC_CTX_free(kc->macs[i].ctx);
	for (size_t i = 0; i < KEYCACHE_GCM_USES; i++)
		EVP_CIPHER_CTX_free(kc->gcms[i].ctx);
	OPENSSL_cleanse(kc->macs, sizeof(kc->macs));
	OPENSSL_cleanse(kc->gcms, sizeof(kc->gcms));
}

void keycache_free(struct keycache *kc)
{
	/* No algorithm fetched: no context was made, no key kept. Callers free a cache they
	 * did not use on every request (keyring_cache's local), so that costs nothing. */
	if (!kc->hmac && !kc->aes_gcm)
		return;
	keycache_wipe(kc);
	EVP_MAC_free(kc->hmac);
	EVP_CIPHER_free(kc->aes_gcm);
	kc->hmac = NULL;
	kc->aes_gcm = NULL;
}
