#include "config.h"

#include "encoding.h"

#include <string.h>

static const char b64url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void base64url_encode(const unsigned char *in, size_t len, char *out)
{
	size_t i = 0, o = 0;

	for (; i + 3 <= len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64url_alphabet[v >> 18];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
		out[o++] = b64url_alphabet[(v >> 6) & 63];
		out[o++] = b64url_alphabet[v & 63];
	}
	if (len - i == 1) {
		unsigned v = (unsigned)in[i] << 16;
		out[o++] = b64url_alphabet[v >> 18];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
	} else if (len - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		out[o++] = b64url_alphabet[v >> 18];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
		out[o++] = b64url_alphabet[(v >> 6) & 63];
	}
	out[o] = '\0';
}

/* Each byte's value in the alphabet; 64 (a bit no value has) for every other byte. */
static const unsigned char b64url_values[256] = {
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 62, 64, 64, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 64, 64, 64, 64, 64, 64, 64, 0,
	1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
	23, 24, 25, 64, 64, 64, 64, 63, 64, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38,
	39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
};

/* Four characters at a time, no branch per character: the sealed state of every callback
 * passes through here. */
bool base64url_decode(const char *in, size_t inlen, unsigned char *out, size_t outsize, size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t full = inlen / 4, rest = inlen % 4;
	size_t need = full * 3 + (rest ? rest - 1 : 0);
	unsigned bad = 0, v;

	if (rest == 1 || need > outsize)
		return false;
	for (size_t i = 0; i < full; i++, p += 4, out += 3) {
		unsigned a = b64url_values[p[0]], b = b64url_values[p[1]];
		unsigned c = b64url_values[p[2]], d = b64url_values[p[3]];
		bad |= a | b | c | d;
		v = a << 18 | b << 12 | c << 6 | d;
		out[0] = (unsigned char)(v >> 16);
		out[1] = (unsigned char)(v >> 8);
		out[2] = (unsigned char)v;
	}
	if (rest) {
		unsigned a = b64url_values[p[0]], b = b64url_values[p[1]];
		unsigned c = rest == 3 ? b64url_values[p[2]] : 0;
		bad |= a | b | c;
		v = a << 18 | b << 12 | c << 6;
		out[0] = (unsigned char)(v >> 16);
		if (rest == 3)
			out[1] = (unsigned char)(v >> 8);
		/* Leftover bits must be zero: one encoding per byte string. */
		if (v & (rest == 2 ? 0xffffu : 0xffu))
			return false;
	}
	if (bad & 64)
		return false;
	*outlen = need;
	return true;
}

void hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

int hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool hex_decode(const char *in, size_t len, unsigned char *out)
{
	if (len % 2)
		return false;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hex_digit_value(in[2 * i]), lo = hex_digit_value(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

void be_put(unsigned char **p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--)
		*(*p)++ = (unsigned char)(v >> (8 * i));
}

uint64_t be_get(const unsigned char *p, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

/* Header: dimensions, has-nulls flag, element type; then per dimension its length and
 * lower bound. Each element: its length, then its bytes. All integers 32-bit big-endian. */
#define PG_ARRAY_HEAD_BYTES 20
#define PG_ARRAY_ELEMENT_HEAD_BYTES 4

size_t pg_array_size(size_t count, size_t data_bytes)
{
	return PG_ARRAY_HEAD_BYTES + count * PG_ARRAY_ELEMENT_HEAD_BYTES + data_bytes;
}

unsigned char *pg_array_head(unsigned char *out, uint32_t element_oid, size_t count)
{
	be_put(&out, 1, 4);
	be_put(&out, 0, 4);
	be_put(&out, element_oid, 4);
	be_put(&out, count, 4);
	be_put(&out, 1, 4);
	return out;
}

unsigned char *pg_array_add(unsigned char *p, const void *element, size_t len)
{
	be_put(&p, len, 4);
	if (len)
		memcpy(p, element, len);
	return p + len;
}
