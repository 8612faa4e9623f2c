#include "config.h"

#include "tls13.h"

#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <string.h>

struct suite {
	uint16_t id;
	const char *cipher, *digest;
	size_t key_len, hash_len;
};

static const struct suite suites[] = {
	{ 0x1301, "AES-128-GCM", "SHA256", 16, 32 },
	{ 0x1302, "AES-256-GCM", "SHA384", 32, 48 },
	{ 0x1303, "ChaCha20-Poly1305", "SHA256", 32, 32 },
};
#define N_SUITES (sizeof(suites) / sizeof(suites[0]))

/* One context per suite and direction, re-keyed for every record: a key schedule costs
 * less than what a context per connection would hold in memory. Likewise one HMAC per
 * suite for the key schedule: fetching it by name costs more than the HMAC. */
static EVP_CIPHER_CTX *contexts[N_SUITES][2];
static EVP_MAC_CTX *macs[N_SUITES];

static const struct suite *suite_of(uint16_t id)
{
	for (size_t i = 0; i < N_SUITES; i++) {
		if (suites[i].id == id)
			return &suites[i];
	}
	return NULL;
}

bool tls13_suite_supported(uint16_t suite)
{
	return suite_of(suite) != NULL;
}

/* The suite's context for one direction, ready for a key and nonce. */
static EVP_CIPHER_CTX *context(const struct suite *s, bool seal)
{
	EVP_CIPHER_CTX **ctx = &contexts[s - suites][seal];
	EVP_CIPHER *cipher;
	bool ok;

	if (*ctx)
		return *ctx;
	cipher = EVP_CIPHER_fetch(NULL, s->cipher, NULL);
	*ctx = EVP_CIPHER_CTX_new();
	ok = cipher && *ctx && EVP_CipherInit_ex2(*ctx, cipher, NULL, NULL, seal, NULL) == 1;
	EVP_CIPHER_free(cipher);
	if (!ok) {
		EVP_CIPHER_CTX_free(*ctx);
		*ctx = NULL;
	}
	return *ctx;
}

/* The suite's HMAC, its digest set; keyed by each use. */
static EVP_MAC_CTX *mac(const struct suite *s)
{
	EVP_MAC_CTX **ctx = &macs[s - suites];
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)s->digest, 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *hmac;

	if (*ctx)
		return *ctx;
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	*ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
	EVP_MAC_free(hmac);
	if (*ctx && EVP_MAC_CTX_set_params(*ctx, params) != 1) {
		EVP_MAC_CTX_free(*ctx);
		*ctx = NULL;
	}
	return *ctx;
}

void tls13_cleanup(void)
{
	for (size_t i = 0; i < N_SUITES; i++) {
		for (int d = 0; d < 2; d++) {
			EVP_CIPHER_CTX_free(contexts[i][d]);
			contexts[i][d] = NULL;
		}
		EVP_MAC_CTX_free(macs[i]);
		macs[i] = NULL;
	}
}

/* HKDF-Expand-Label(secret, label, "", len) for len up to the hash length: one HMAC
 * block, HMAC(secret, HkdfLabel || 0x01) (RFC 8446 §7.1, RFC 5869 §2.3). */
static bool expand_label(const struct suite *s, const unsigned char *secret, const char *label,
			 unsigned char *out, size_t len)
{
	unsigned char info[2 + 1 + 255 + 1 + 1], block[64];
	size_t label_len = strlen(label), n = 0, got = 0;
	EVP_MAC_CTX *ctx = mac(s);

	info[n++] = (unsigned char)(len >> 8);
	info[n++] = (unsigned char)len;
	info[n++] = (unsigned char)(6 + label_len);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, label_len);
	n += label_len;
	info[n++] = 0; /* no context */
	info[n++] = 1; /* the first block's counter */
	if (!ctx || EVP_MAC_init(ctx, secret, s->hash_len, NULL) != 1 ||
	    EVP_MAC_update(ctx, info, n) != 1 ||
	    EVP_MAC_final(ctx, block, &got, sizeof(block)) != 1 || got < len)
		return false;
	memcpy(out, block, len);
	OPENSSL_cleanse(block, sizeof(block));
	return true;
}

static bool keys_derive(struct tls13_keys *k, const struct suite *s)
{
	return expand_label(s, k->secret, "key", k->key, s->key_len) &&
	       expand_label(s, k->secret, "iv", k->iv, sizeof(k->iv));
}

bool tls13_keys_init(struct tls13_keys *k, uint16_t suite, const unsigned char *secret,
		     uint64_t seq)
{
	const struct suite *s = suite_of(suite);

	if (!s)
		return false;
	memcpy(k->secret, secret, s->hash_len);
	k->seq = seq;
	return keys_derive(k, s);
}

bool tls13_keys_update(struct tls13_keys *k, uint16_t suite)
{
	const struct suite *s = suite_of(suite);
	unsigned char next[TLS13_SECRET_MAX];

	if (!s || !expand_label(s, k->secret, "traffic upd", next, s->hash_len))
		return false;
	memcpy(k->secret, next, s->hash_len);
	OPENSSL_cleanse(next, sizeof(next));
	k->seq = 0;
	return keys_derive(k, s);
}

void tls13_wipe(struct tls13 *t)
{
	OPENSSL_cleanse(t, sizeof(*t));
}

size_t tls13_record_len(const unsigned char *buf, size_t len)
{
	size_t body;

	/* After the handshake every record is protected, so its outer type is always
	 * application_data (RFC 8446 §5.2). */
	if (len >= 1 && buf[0] != TLS13_APPLICATION_DATA)
		return SIZE_MAX;
	if (len < TLS13_HEADER_LEN)
		return 0;
	body = (size_t)buf[3] << 8 | buf[4];
	if (body < 1 + TLS13_TAG_LEN || TLS13_HEADER_LEN + body > TLS13_RECORD_MAX)
		return SIZE_MAX;
	return len >= TLS13_HEADER_LEN + body ? TLS13_HEADER_LEN + body : 0;
}

/* The per-record nonce: the IV XOR the sequence number, big-endian (RFC 8446 §5.3). */
static void nonce_make(const struct tls13_keys *k, unsigned char nonce[12])
{
	memcpy(nonce, k->iv, 12);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] ^= (unsigned char)(k->seq >> (56 - 8 * i));
}

static void header_make(unsigned char *out, size_t body)
{
	out[0] = TLS13_APPLICATION_DATA;
	out[1] = 0x03;
	out[2] = 0x03;
	out[3] = (unsigned char)(body >> 8);
	out[4] = (unsigned char)body;
}

bool tls13_seal(struct tls13 *t, uint8_t type, const unsigned char *in, size_t len,
		unsigned char *out)
{
	const struct suite *s = suite_of(t->suite);
	EVP_CIPHER_CTX *ctx = s ? context(s, true) : NULL;
	unsigned char nonce[12], *body = out + TLS13_HEADER_LEN;
	int n;

	if (!ctx || len > TLS13_PLAIN_MAX)
		return false;
	header_make(out, len + 1 + TLS13_TAG_LEN);
	nonce_make(&t->write, nonce);
	if (EVP_EncryptInit_ex2(ctx, NULL, t->write.key, nonce, NULL) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, out, TLS13_HEADER_LEN) != 1 ||
	    (len && EVP_EncryptUpdate(ctx, body, &n, in, (int)len) != 1) ||
	    EVP_EncryptUpdate(ctx, body + len, &n, &type, 1) != 1 ||
	    EVP_EncryptFinal_ex(ctx, body + len + 1, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TLS13_TAG_LEN, body + len + 1) != 1)
		return false;
	t->write.seq++;
	return true;
}

bool tls13_open(struct tls13 *t, unsigned char *rec, size_t rec_len, uint8_t *type,
		size_t *len)
{
	const struct suite *s = suite_of(t->suite);
	EVP_CIPHER_CTX *ctx = s ? context(s, false) : NULL;
	unsigned char nonce[12], *body = rec + TLS13_HEADER_LEN;
	size_t sealed = rec_len - TLS13_HEADER_LEN - TLS13_TAG_LEN, i;
	int n;

	if (!ctx || tls13_record_len(rec, rec_len) != rec_len)
		return false;
	nonce_make(&t->read, nonce);
	if (EVP_DecryptInit_ex2(ctx, NULL, t->read.key, nonce, NULL) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, rec, TLS13_HEADER_LEN) != 1 ||
	    EVP_DecryptUpdate(ctx, body, &n, body, (int)sealed) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TLS13_TAG_LEN, body + sealed) != 1 ||
	    EVP_DecryptFinal_ex(ctx, body + sealed, &n) != 1)
		return false;
	t->read.seq++;
	/* The content type is the last byte that is not padding (zeros). */
	for (i = sealed; i > 0 && body[i - 1] == 0; i--)
		;
	if (i == 0 || i - 1 > TLS13_PLAIN_MAX)
		return false;
	*type = body[i - 1];
	*len = i - 1;
	return true;
}
