/* sign: instance credentials, request signatures (the test vector of doc/protocol.md), strict
 * X-OAuth-Signature parsing and constant-time comparison. */
#include "config.h"

#include "suites.h"

#include "encoding.h"
#include "keycache.h"
#include "sign.h"

#include <stdio.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* doc/design.md §2 "Signed requests". */
#define V_SECRET "qs_3q2-7wEXAMPLEsecretVALUE"
#define V_TS 1764340000LL
#define V_METHOD "POST"
#define V_TARGET "/v1/flows"
#define V_BODY "{\"return_url\":\"https://qorus.example/cb\",\"delivery\":\"redirect\"}"
#define V_SIG "c6QX9ep0yUSmXluXtd52cuc5t9zg17bztKO0fzSP3W0"
/* Same secret and ts, GET /v1/flows, empty body (computed independently with Python). */
#define V_EMPTY_SIG "eidZbwcNYR_VeZW1hyTXA3G5SbQRt67vH4Z0S9EgtBw"

#define ID "qi_0a1b2c3dAAECAwQFBgcICQoLDA0ODw"
#define SIG43 "c6QX9ep0yUSmXluXtd52cuc5t9zg17bztKO0fzSP3W0"

/* Through a cache, as the relay signs; the design vector checks the uncached path too. */
static struct keycache cache;

static void sign(const char *secret, long long ts, const char *method, const char *target,
		 const char *body, char out[SIGN_SIG_LEN + 1])
{
	sign_compute(&cache, secret, ts, method, strlen(method), target, strlen(target),
		     (const unsigned char *)body, strlen(body), out);
}

START_TEST(design_vector)
{
	char sig[SIGN_SIG_LEN + 1];

	sign(V_SECRET, V_TS, V_METHOD, V_TARGET, V_BODY, sig);
	ck_assert_str_eq(sig, V_SIG);
	ck_assert_uint_eq(strlen(sig), SIGN_SIG_LEN);
}
END_TEST

START_TEST(empty_body)
{
	char sig[SIGN_SIG_LEN + 1], sig_null[SIGN_SIG_LEN + 1];

	sign(V_SECRET, V_TS, "GET", V_TARGET, "", sig);
	ck_assert_str_eq(sig, V_EMPTY_SIG);
	sign_compute(NULL, V_SECRET, V_TS, "GET", 3, V_TARGET, strlen(V_TARGET), NULL, 0, sig_null);
	ck_assert_str_eq(sig_null, V_EMPTY_SIG);
}
END_TEST

/* Each changes one input of the vector; none may give the vector's signature. */
struct variant {
	const char *secret;
	long long ts;
	const char *method, *target, *body;
};

static const struct variant variants[] = {
	{ V_SECRET "x", V_TS, V_METHOD, V_TARGET, V_BODY },
	{ "qs_3q2-7wEXAMPLEsecretVALUf", V_TS, V_METHOD, V_TARGET, V_BODY },
	{ V_SECRET, V_TS + 1, V_METHOD, V_TARGET, V_BODY },
	{ V_SECRET, V_TS - 300, V_METHOD, V_TARGET, V_BODY },
	{ V_SECRET, V_TS, "GET", V_TARGET, V_BODY },
	{ V_SECRET, V_TS, "post", V_TARGET, V_BODY },
	{ V_SECRET, V_TS, V_METHOD, "/v1/flows?", V_BODY },
	{ V_SECRET, V_TS, V_METHOD, "/v1/flows/", V_BODY },
	{ V_SECRET, V_TS, V_METHOD, "/v1/Flows", V_BODY },
	{ V_SECRET, V_TS, V_METHOD, V_TARGET, V_BODY " " },
	{ V_SECRET, V_TS, V_METHOD, V_TARGET,
	  "{\"return_url\":\"https://qorus.example/cc\",\"delivery\":\"redirect\"}" },
	{ V_SECRET, V_TS, V_METHOD, V_TARGET, "" },
	/* Moving a byte across a field boundary changes the message. */
	{ V_SECRET, V_TS, "POST\n/v1", "flows", V_BODY },
};

START_TEST(variant_differs)
{
	const struct variant *v = &variants[_i];
	char sig[SIGN_SIG_LEN + 1];

	sign(v->secret, v->ts, v->method, v->target, v->body, sig);
	ck_assert_uint_eq(strlen(sig), SIGN_SIG_LEN);
	ck_assert_str_ne(sig, V_SIG);
	ck_assert(!sign_equal(sig, V_SIG));
}
END_TEST

struct header_case {
	const char *value;
	size_t len; /* 0: strlen(value) */
};

static const struct header_case good_headers[] = {
	{ "v1 id=" ID ", ts=1764340000, sig=" SIG43, 0 },
	{ "v1 id=" ID ",ts=1764340000,sig=" SIG43, 0 },
	{ "v1 id=" ID ", ts=1764340000,sig=" SIG43, 0 },
	/* The length is explicit: what follows it does not count. */
	{ "v1 id=" ID ", ts=1764340000, sig=" SIG43 "garbage", 6 + 33 + 15 + 6 + 43 },
};

START_TEST(header_good)
{
	const struct header_case *c = &good_headers[_i];
	struct sign_header h;

	ck_assert_msg(sign_header_parse(c->value, c->len ? c->len : strlen(c->value), &h),
		      "rejected: %s", c->value);
	ck_assert_str_eq(h.id, ID);
	ck_assert_int_eq(h.ts, 1764340000LL);
	ck_assert_str_eq(h.sig, SIG43);
}
END_TEST

static const struct header_case bad_headers[] = {
	{ "", 0 },
	{ "v1", 0 },
	{ "v1 ", 0 },
	/* missing or wrong scheme */
	{ "id=" ID ", ts=1764340000, sig=" SIG43, 0 },
	{ "v2 id=" ID ", ts=1764340000, sig=" SIG43, 0 },
	{ "V1 id=" ID ", ts=1764340000, sig=" SIG43, 0 },
	{ "v1id=" ID ", ts=1764340000, sig=" SIG43, 0 },
	{ "v1  id=" ID ", ts=1764340000, sig=" SIG43, 0 },
	{ " v1 id=" ID ", ts=1764340000, sig=" SIG43, 0 },
	/* wrong order */
	{ "v1 ts=1764340000, id=" ID ", sig=" SIG43, 0 },
	{ "v1 id=" ID ", sig=" SIG43 ", ts=1764340000", 0 },
	{ "v1 sig=" SIG43 ", ts=1764340000, id=" ID, 0 },
	/* duplicates */
	{ "v1 id=" ID ", id=" ID ", ts=1764340000, sig=" SIG43, 0 },
	{ "v1 id=" ID ", ts=1764340000, ts=1764340000, sig=" SIG43, 0 },
	{ "v1 id=" ID ", ts=1764340000, sig=" SIG43 ", sig=" SIG43, 0 },
	/* missing fields or values */
	{ "v1 ts=1764340000, sig=" SIG43, 0 },
	{ "v1 id=" ID ", sig=" SIG43, 0 },
	{ "v1 id=" ID ", ts=1764340000", 0 },
	{ "v1 id=, ts=1764340000, sig=" SIG43, 0 },
	{ "v1 id=" ID ", ts=, sig=" SIG43, 0 },
	{ "v1 id=" ID ", ts=1764340000, sig=", 0 },
	{ "v1 id " ID ", ts=1764340000, sig=" SIG43, 0 },
	{ "v1 id =" ID ", ts=1764340000, sig=" SIG43, 0 },
	/* extra fields */
	{ "v1 id=" ID ", ts=1764340000, sig=" SIG43 ", x=1", 0 },
	{ "v1 id=" ID ", nonce=1, ts=1764340000, sig=" SIG43, 0 },
	/* ts not a plain decimal number */
	{ "v1 id=" ID ", ts=abc, sig=" SIG43, 0 },
	{ "v1 id=" ID ", ts=-1764340000, sig=" SIG43, 0 },
	{ "v1 id=" ID ", ts=+1764340000, sig=" SIG43, 0 },
	{ "v1 id=" ID ", ts= 1764340000, sig=" SIG43, 0 },
	{ "v1 id=" ID ", ts=1764340000x, sig=" SIG43, 0 },
	{ "v1 id=" ID ", ts=1.76e9, sig=" SIG43, 0 },
	{ "v1 id=" ID ", ts=0x6929b120, sig=" SIG43, 0 },
	{ "v1 id=" ID ", ts=9999999999999, sig=" SIG43, 0 },
	{ "v1 id=" ID ", ts=99999999999999999999999, sig=" SIG43, 0 },
	/* sig of the wrong length */
	{ "v1 id=" ID ", ts=1764340000, sig=c6QX9ep0yUSmXluXtd52cuc5t9zg17bztKO0fzSP3W", 0 },
	{ "v1 id=" ID ", ts=1764340000, sig=" SIG43 "0", 0 },
	{ "v1 id=" ID ", ts=1764340000, sig=" SIG43 SIG43, 0 },
	/* trailing garbage */
	{ "v1 id=" ID ", ts=1764340000, sig=" SIG43 " ", 0 },
	{ "v1 id=" ID ", ts=1764340000, sig=" SIG43 ",", 0 },
	{ "v1 id=" ID ", ts=1764340000, sig=" SIG43 ", ", 0 },
	{ "v1 id=" ID ", ts=1764340000, sig=" SIG43 ";", 0 },
	{ "v1 id=" ID ", ts=1764340000, sig=" SIG43 "\r\n", 0 },
	/* separators */
	{ "v1 id=" ID "; ts=1764340000; sig=" SIG43, 0 },
	{ "v1 id=" ID " ts=1764340000 sig=" SIG43, 0 },
	{ "v1 id=" ID ",, ts=1764340000, sig=" SIG43, 0 },
	/* an id too long for any instance */
	{ "v1 id=" ID "x, ts=1764340000, sig=" SIG43, 0 },
	/* NUL inside the value */
	{ "v1 id=" ID ", ts=1764340000\0, sig=" SIG43, 6 + 33 + 15 + 1 + 6 + 43 },
	{ "v1 id=" ID ", ts=1764340000, sig=" SIG43 "\0", 6 + 33 + 15 + 6 + 43 + 1 },
};

START_TEST(header_bad)
{
	const struct header_case *c = &bad_headers[_i];
	struct sign_header h;

	ck_assert_msg(!sign_header_parse(c->value, c->len ? c->len : strlen(c->value), &h),
		      "accepted: '%s'", c->value);
}
END_TEST

static void ring_make(struct keyring *ring, size_t count)
{
	char err[256];

	memset(ring, 0, sizeof(*ring));
	for (size_t i = 0; i < count; i++)
		ck_assert_msg(keyring_add_random(ring, err, sizeof(err)), "%s", err);
}

START_TEST(instance_round_trip)
{
	struct keyring ring, copy;
	char id[INSTANCE_ID_LEN + 1], id2[INSTANCE_ID_LEN + 1];
	char secret[INSTANCE_SECRET_LEN + 1], secret2[INSTANCE_SECRET_LEN + 1];
	char again[INSTANCE_SECRET_LEN + 1], text[512], err[256];

	ring_make(&ring, 2);
	ck_assert(instance_create(&ring, id, secret));
	ck_assert_uint_eq(strlen(id), INSTANCE_ID_LEN);
	ck_assert_uint_eq(strlen(secret), INSTANCE_SECRET_LEN);
	ck_assert_mem_eq(id, "qi_", 3);
	ck_assert_mem_eq(id + 3, ring.keys[1].kid, 8); /* the newest key */
	ck_assert_mem_eq(secret, "qs_", 3);
	ck_assert(instance_secret(&ring, id, again));
	ck_assert_str_eq(again, secret);
	/* Another node with the same key file derives the same secret. */
	ck_assert_uint_gt(keyring_format(&ring, text, sizeof(text)), 0);
	ck_assert_msg(keyring_parse(text, &copy, err, sizeof(err)), "%s", err);
	ck_assert(instance_secret(&copy, id, again));
	ck_assert_str_eq(again, secret);
	/* Every registration is a new identity. */
	ck_assert(instance_create(&ring, id2, secret2));
	ck_assert_str_ne(id2, id);
	ck_assert_str_ne(secret2, secret);
}
END_TEST

START_TEST(instance_unknown_or_malformed)
{
	struct keyring ring, other;
	char id[INSTANCE_ID_LEN + 1], secret[INSTANCE_SECRET_LEN + 1], bad[64];
	char got[INSTANCE_SECRET_LEN + 1];

	ring_make(&ring, 1);
	ring_make(&other, 1);
	ck_assert(instance_create(&ring, id, secret));
	ck_assert(!instance_secret(&other, id, got)); /* unknown kid */
	ck_assert(!instance_secret(&ring, "", got));
	ck_assert(!instance_secret(&ring, ID, got)); /* well-formed, kid not in the ring */
	snprintf(bad, sizeof(bad), "%.32s", id);     /* one short */
	ck_assert(!instance_secret(&ring, bad, got));
	snprintf(bad, sizeof(bad), "%sA", id); /* one long */
	ck_assert(!instance_secret(&ring, bad, got));
	snprintf(bad, sizeof(bad), "qx_%s", id + 3);
	ck_assert(!instance_secret(&ring, bad, got));
	snprintf(bad, sizeof(bad), "%s", id);
	bad[20] = '*'; /* not base64url */
	ck_assert(!instance_secret(&ring, bad, got));
	snprintf(bad, sizeof(bad), "%s", id);
	bad[32] = bad[32] == 'B' ? 'C' : 'B'; /* non-zero trailing bits: not canonical */
	ck_assert(!instance_secret(&ring, bad, got));
	/* Changing the random part gives a different identity, never the same secret. */
	snprintf(bad, sizeof(bad), "%s", id);
	bad[20] = bad[20] == 'A' ? 'B' : 'A';
	ck_assert(instance_secret(&ring, bad, got));
	ck_assert_str_ne(got, secret);
}
END_TEST

START_TEST(instance_rotation)
{
	struct keyring ring;
	char old_id[INSTANCE_ID_LEN + 1], old_secret[INSTANCE_SECRET_LEN + 1];
	char new_id[INSTANCE_ID_LEN + 1], new_secret[INSTANCE_SECRET_LEN + 1];
	char got[INSTANCE_SECRET_LEN + 1], err[256];

	ring_make(&ring, 1);
	ck_assert(instance_create(&ring, old_id, old_secret));
	ck_assert(keyring_add_random(&ring, err, sizeof(err)));
	ck_assert(instance_create(&ring, new_id, new_secret));
	ck_assert_mem_eq(new_id + 3, ring.keys[1].kid, 8);
	ck_assert(instance_secret(&ring, old_id, got));
	ck_assert_str_eq(got, old_secret);
	ck_assert(instance_secret(&ring, new_id, got));
	ck_assert_str_eq(got, new_secret);
	/* The old key retired: its instances have no secret any more. */
	ring.keys[0] = ring.keys[1];
	ring.count = 1;
	ck_assert(!instance_secret(&ring, old_id, got));
	ck_assert(instance_secret(&ring, new_id, got));
}
END_TEST

START_TEST(instance_none_without_keys)
{
	struct keyring ring;
	char id[INSTANCE_ID_LEN + 1], secret[INSTANCE_SECRET_LEN + 1];

	memset(&ring, 0, sizeof(ring));
	ck_assert(!instance_create(&ring, id, secret));
}
END_TEST

/* Made by the relay before its keys were derived at load time: a change of derivation
 * would change every registered instance's secret. Keys 0..31 and all 0xff. */
START_TEST(instance_secret_fixed)
{
	static const char text[] = "0123abcd AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n"
				   "ffffffff __________________________________________8\n";
	struct keyring ring;
	char got[INSTANCE_SECRET_LEN + 1], err[256];

	ck_assert_msg(keyring_parse(text, &ring, err, sizeof(err)), "%s", err);
	ck_assert(instance_secret(&ring, "qi_0123abcdAAECAwQFBgcICQoLDA0ODw", got));
	ck_assert_str_eq(got, "qs_UrRVzSnoqFGocNYiadox6s0Wa0NlAPkWdDk620yy3-8");
	ck_assert(instance_secret(&ring, "qi_ffffffffAAECAwQFBgcICQoLDA0ODw", got));
	ck_assert_str_eq(got, "qs_sSSvE-BVr5zrYxmsPpxNp1f5Pl3BL1HKzOXLsewrFUw");
	keyring_wipe(&ring);
}
END_TEST

/* The callback id: HMAC-SHA256 under the key derived with "oauth-relay callback v1",
 * computed independently (Python's hmac) for this vector. */
START_TEST(instance_callback_id_fixed)
{
	static const char text[] = "0123abcd AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n";
	unsigned char got[CALLBACK_ID_BYTES];
	char b64[CALLBACK_ID_LEN + 1], err[256];
	struct keyring ring;

	ck_assert_msg(keyring_parse(text, &ring, err, sizeof(err)), "%s", err);
	ck_assert(instance_callback_id(&ring, "qi_0123abcdAAECAwQFBgcICQoLDA0ODw", got));
	base64url_encode(got, sizeof(got), b64);
	ck_assert_str_eq(b64, "kFuObC0HhPsNIx6duXjvNQ");
	/* No callback id for an id whose key is not in the ring, or a malformed one. */
	ck_assert(!instance_callback_id(&ring, "qi_ffffffffAAECAwQFBgcICQoLDA0ODw", got));
	ck_assert(!instance_callback_id(&ring, "qi_0123abcdAAECAwQFBgcICQoLDA0OD", got));
	keyring_wipe(&ring);
}
END_TEST

/* Each instance has its own callback id, the same on every node with the key file. */
START_TEST(instance_callback_id_per_instance)
{
	struct keyring ring, copy;
	char id[INSTANCE_ID_LEN + 1], id2[INSTANCE_ID_LEN + 1], secret[INSTANCE_SECRET_LEN + 1];
	unsigned char a[CALLBACK_ID_BYTES], b[CALLBACK_ID_BYTES], again[CALLBACK_ID_BYTES];
	char text[512], err[256];

	ring_make(&ring, 2);
	ck_assert(instance_create(&ring, id, secret));
	ck_assert(instance_create(&ring, id2, secret));
	ck_assert(instance_callback_id(&ring, id, a));
	ck_assert(instance_callback_id(&ring, id2, b));
	ck_assert(memcmp(a, b, sizeof(a)) != 0);
	ck_assert_uint_gt(keyring_format(&ring, text, sizeof(text)), 0);
	ck_assert_msg(keyring_parse(text, &copy, err, sizeof(err)), "%s", err);
	ck_assert(instance_callback_id(&copy, id, again));
	ck_assert_mem_eq(again, a, sizeof(a));
}
END_TEST

/* A request signed with a fresh instance's secret verifies through the header. */
START_TEST(sign_and_verify)
{
	struct keyring ring;
	struct sign_header h;
	char id[INSTANCE_ID_LEN + 1], secret[INSTANCE_SECRET_LEN + 1], sig[SIGN_SIG_LEN + 1];
	char header[256], expect[SIGN_SIG_LEN + 1], again[INSTANCE_SECRET_LEN + 1];

	ring_make(&ring, 1);
	ck_assert(instance_create(&ring, id, secret));
	sign(secret, V_TS, V_METHOD, V_TARGET, V_BODY, sig);
	snprintf(header, sizeof(header), "v1 id=%s, ts=%lld, sig=%s", id, V_TS, sig);
	ck_assert(sign_header_parse(header, strlen(header), &h));
	ck_assert(instance_secret(&ring, h.id, again));
	sign(again, h.ts, V_METHOD, V_TARGET, V_BODY, expect);
	ck_assert(sign_equal(h.sig, expect));
	sign(again, h.ts, V_METHOD, V_TARGET, V_BODY "x", expect);
	ck_assert(!sign_equal(h.sig, expect));
}
END_TEST

START_TEST(equal)
{
	char a[] = SIG43, b[] = SIG43;

	ck_assert(sign_equal(a, b));
	b[0] = 'd';
	ck_assert(!sign_equal(a, b));
	b[0] = a[0];
	b[42] = b[42] == 'A' ? 'B' : 'A';
	ck_assert(!sign_equal(a, b));
	ck_assert(!sign_equal(a, SIG43 "x"));
	ck_assert(!sign_equal(SIG43 "x", SIG43 "x"));
	ck_assert(!sign_equal(a, "c6QX9ep0yUSmXluXtd52cuc5t9zg17bztKO0fzSP3W"));
	ck_assert(!sign_equal("", ""));
	ck_assert(!sign_equal("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", a));
}
END_TEST

Suite *sign_suite(void)
{
	Suite *s = suite_create("sign");
	TCase *sig = tcase_create("signature");
	TCase *inst = tcase_create("instance");

	tcase_add_test(sig, design_vector);
	tcase_add_test(sig, empty_body);
	tcase_add_loop_test(sig, variant_differs, 0, N_ELEMS(variants));
	tcase_add_loop_test(sig, header_good, 0, N_ELEMS(good_headers));
	tcase_add_loop_test(sig, header_bad, 0, N_ELEMS(bad_headers));
	tcase_add_test(sig, equal);
	suite_add_tcase(s, sig);
	tcase_add_test(inst, instance_round_trip);
	tcase_add_test(inst, instance_unknown_or_malformed);
	tcase_add_test(inst, instance_rotation);
	tcase_add_test(inst, instance_none_without_keys);
	tcase_add_test(inst, instance_secret_fixed);
	tcase_add_test(inst, instance_callback_id_fixed);
	tcase_add_test(inst, instance_callback_id_per_instance);
	tcase_add_test(inst, sign_and_verify);
	suite_add_tcase(s, inst);
	return s;
}
