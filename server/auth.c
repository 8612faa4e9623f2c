#include "config.h"

#include "auth.h"

#include "encoding.h"
#include "log.h"
#include "response.h"
#include "revocations.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>
#include <time.h>

static bool verify(struct request *req, struct sign_header *h)
{
	struct relay *relay = req->relay;
	const struct http_slice *value = http_head_get(&req->head, "x-oauth-signature");
	char secret[INSTANCE_SECRET_LEN + 1], expected[SIGN_SIG_LEN + 1];
	unsigned char key[SHA256_DIGEST_LENGTH];
	long long now = (long long)time(NULL);
	bool failed = false, ok;

	if (!value || !sign_header_parse(value->p, value->len, h) ||
	    !instance_secret(&relay->keys, h->id, secret))
		return false;
	if (h->ts > now + SIGN_SKEW_SECONDS || h->ts < now - SIGN_SKEW_SECONDS)
		goto failed;
	sign_compute(relay->keys.cache, secret, h->ts, req->head.method.p, req->head.method.len,
		     req->head.target.p, req->head.target.len, req->body, req->body_len, expected);
	if (!sign_equal(expected, h->sig))
		goto failed;
	if (relay->revoked && revocations_contains(relay->revoked, h->id))
		goto failed;
	/* Replay: a signature is good once within its window (checked after the MAC so
	 * forgeries cannot fill the set). */
	SHA256((const unsigned char *)h->sig, SIGN_SIG_LEN, key);
	ok = seen_add(&relay->seen_signatures, key, h->ts + SIGN_SKEW_SECONDS + 1, now, &failed);
	OPENSSL_cleanse(secret, sizeof(secret));
	return ok && !failed;
failed:
	OPENSSL_cleanse(secret, sizeof(secret));
	return false;
}

#define SIGNATURE_REFUSED \
	"The request signature is missing, expired, reused or not valid for this instance."

bool auth_verify(struct request *req, char instance_id[INSTANCE_ID_LEN + 1])
{
	struct sign_header h;
	struct response_header www = { "WWW-Authenticate", "OAuth-Signature version=\"v1\"" };

	if (verify(req, &h)) {
		memcpy(instance_id, h.id, INSTANCE_ID_LEN + 1);
		return true;
	}
	log_info("signature_refused");
	/* "error_description" as well: an OAuth client of /v1/token reads RFC 6749 §5.2. */
	response_json_with(req, 401, &www, 1,
			   json_pack("{s:s, s:s, s:s}", "error", "invalid_signature", "message",
				     SIGNATURE_REFUSED, "error_description", SIGNATURE_REFUSED));
	return false;
}

/* Compares digests, not the tokens: their fixed length says nothing about the token's,
 * where comparing lengths first told an attacker how long the token is. */
bool auth_bearer_matches(const struct request *req, const char *token)
{
	const struct http_slice *v = http_head_get(&req->head, "authorization");
	unsigned char given[SHA256_DIGEST_LENGTH], wanted[SHA256_DIGEST_LENGTH];

	if (!v || !*token || v->len < 7 || strncasecmp(v->p, "Bearer ", 7) != 0)
		return false;
	SHA256((const unsigned char *)v->p + 7, v->len - 7, given);
	SHA256((const unsigned char *)token, strlen(token), wanted);
	return CRYPTO_memcmp(given, wanted, sizeof(given)) == 0;
}
