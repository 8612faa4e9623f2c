/* encoding: base64url without padding and lowercase hex. */
#include "config.h"

#include "suites.h"

#include "encoding.h"

#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define ROUND_TRIP_MAX 40

struct vector {
	const char *raw;
	size_t rawlen;
	const char *encoded;
};

/* RFC 4648 §10, without padding, plus the two characters base64url changes. */
static const struct vector vectors[] = {
	{ "", 0, "" },
	{ "f", 1, "Zg" },
	{ "fo", 2, "Zm8" },
	{ "foo", 3, "Zm9v" },
	{ "foob", 4, "Zm9vYg" },
	{ "fooba", 5, "Zm9vYmE" },
	{ "foobar", 6, "Zm9vYmFy" },
	{ "\xfb", 1, "-w" },
	{ "\xfb\xff", 2, "-_8" },
	{ "\xff\xff\xff", 3, "____" },
	{ "\x00\x00\x00", 3, "AAAA" },
	{ "\x00", 1, "AA" },
};

START_TEST(encode_vector)
{
	const struct vector *v = &vectors[_i];
	char out[16];

	ck_assert_uint_eq(BASE64URL_LEN(v->rawlen), strlen(v->encoded));
	memset(out, 'X', sizeof(out));
	base64url_encode((const unsigned char *)v->raw, v->rawlen, out);
	ck_assert_str_eq(out, v->encoded);
}
END_TEST

START_TEST(decode_vector)
{
	const struct vector *v = &vectors[_i];
	unsigned char out[16];
	size_t outlen = 99;

	ck_assert(base64url_decode(v->encoded, strlen(v->encoded), out, sizeof(out), &outlen));
	ck_assert_uint_eq(outlen, v->rawlen);
	ck_assert_mem_eq(out, v->raw, v->rawlen);
}
END_TEST

START_TEST(round_trip)
{
	const size_t len = (size_t)_i;
	unsigned char raw[ROUND_TRIP_MAX], back[ROUND_TRIP_MAX];
	char text[BASE64URL_LEN(ROUND_TRIP_MAX) + 1];
	size_t backlen = 0;

	for (size_t i = 0; i < len; i++)
		raw[i] = (unsigned char)(i * 151 + len * 7 + 3);
	base64url_encode(raw, len, text);
	ck_assert_uint_eq(strlen(text), BASE64URL_LEN(len));
	ck_assert_uint_eq(strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789-_"),
			  strlen(text));
	ck_assert(base64url_decode(text, strlen(text), back, sizeof(back), &backlen));
	ck_assert_uint_eq(backlen, len);
	ck_assert_mem_eq(back, raw, len);
}
END_TEST

static const char *const decode_bad_cases[] = {
	"Zg==",       /* padding */
	"Zm8=",       /* padding */
	"Zg=",        /* padding */
	"+w",         /* standard alphabet */
	"/w",         /* standard alphabet */
	"Zm9v Yg",    /* space */
	"Zm8\n",      /* newline */
	"\tZm8",      /* tab */
	"Z",          /* length % 4 == 1 */
	"Zm9vY",      /* length % 4 == 1 */
	"A",          /* length % 4 == 1, even with zero bits */
	"AAAAA",      /* length % 4 == 1, even with zero bits */
	"Zh",         /* non-zero trailing bits after one byte */
	"Zm9",        /* non-zero trailing bits after two bytes */
	"-x",         /* non-zero trailing bits */
	"Zm8*",       /* not in the alphabet */
	"Zm\xc3\xa9", /* non-ASCII */
};

START_TEST(decode_bad)
{
	const char *text = decode_bad_cases[_i];
	unsigned char out[16];
	size_t outlen = 99;

	ck_assert_msg(!base64url_decode(text, strlen(text), out, sizeof(out), &outlen),
		      "'%s' was accepted", text);
	ck_assert_uint_eq(outlen, 99);
}
END_TEST

START_TEST(decode_embedded_nul)
{
	unsigned char out[16];
	size_t outlen;

	ck_assert(!base64url_decode("Zm\0v", 4, out, sizeof(out), &outlen));
}
END_TEST

START_TEST(decode_length_is_explicit)
{
	unsigned char out[16];
	size_t outlen;

	/* Only inlen characters count, whatever follows them. */
	ck_assert(base64url_decode("Zm9vYmFy", 4, out, sizeof(out), &outlen));
	ck_assert_uint_eq(outlen, 3);
	ck_assert_mem_eq(out, "foo", 3);
}
END_TEST

START_TEST(decode_output_too_small)
{
	unsigned char out[6];
	size_t outlen = 99;

	ck_assert(!base64url_decode("Zm9vYmFy", 8, out, 5, &outlen));
	ck_assert_uint_eq(outlen, 99);
	ck_assert(base64url_decode("Zm9vYmFy", 8, out, 6, &outlen));
	ck_assert_uint_eq(outlen, 6);
}
END_TEST

START_TEST(hex)
{
	static const unsigned char raw[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	char out[2 * sizeof(raw) + 1];

	hex_encode(raw, sizeof(raw), out);
	ck_assert_str_eq(out, "00017f80abff");
	memset(out, 'X', sizeof(out));
	hex_encode(raw, 0, out);
	ck_assert_str_eq(out, "");
	hex_encode(raw + 4, 1, out);
	ck_assert_str_eq(out, "ab");
}
END_TEST

START_TEST(hex_back)
{
	static const unsigned char raw[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	unsigned char back[sizeof(raw)];

	ck_assert(hex_decode("00017f80abff", 12, back));
	ck_assert_mem_eq(back, raw, sizeof(raw));
	ck_assert(hex_decode("00017F80ABFF", 12, back));
	ck_assert_mem_eq(back, raw, sizeof(raw));
	ck_assert(hex_decode("", 0, back));
	ck_assert(!hex_decode("abc", 3, back));
	ck_assert(!hex_decode("0g", 2, back));
	ck_assert(!hex_decode(" 0", 2, back));
	ck_assert_int_eq(hex_digit_value('x'), -1);
}
END_TEST

/* The layout array_recv reads, written out by hand: {"ab", ""} as bytea[]. */
START_TEST(pg_array)
{
	static const unsigned char want[] = {
		0, 0, 0, 1, 0,   0,   0, 0, 0, 0, 0, 17, /* one dimension, no NULLs, bytea */
		0, 0, 0, 2, 0,   0,   0, 1,              /* two elements from index 1 */
		0, 0, 0, 2, 'a', 'b', 0, 0, 0, 0,        /* "ab", then the empty element */
	};
	unsigned char out[sizeof(want)], *p;

	ck_assert_uint_eq(pg_array_size(2, 2), sizeof(want));
	p = pg_array_head(out, PG_OID_BYTEA, 2);
	p = pg_array_add(p, "ab", 2);
	p = pg_array_add(p, "", 0);
	ck_assert_ptr_eq(p, out + sizeof(want));
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

Suite *encoding_suite(void)
{
	Suite *s = suite_create("encoding");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, encode_vector, 0, N_ELEMS(vectors));
	tcase_add_loop_test(tc, decode_vector, 0, N_ELEMS(vectors));
	tcase_add_loop_test(tc, round_trip, 0, ROUND_TRIP_MAX + 1);
	tcase_add_loop_test(tc, decode_bad, 0, N_ELEMS(decode_bad_cases));
	tcase_add_test(tc, decode_embedded_nul);
	tcase_add_test(tc, decode_length_is_explicit);
	tcase_add_test(tc, decode_output_too_small);
	tcase_add_test(tc, hex);
	tcase_add_test(tc, hex_back);
	tcase_add_test(tc, pg_array);
	suite_add_tcase(s, tc);
	return s;
}
