/* Byte encodings: base64url without padding (RFC 4648 §5) and lowercase hex. */
#ifndef OAUTH_RELAY_ENCODING_H
#define OAUTH_RELAY_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BASE64URL_LEN(n) (((n)*4 + 2) / 3)

/* Writes BASE64URL_LEN(len) characters and a NUL; out must hold that plus one. */
void base64url_encode(const unsigned char *in, size_t len, char *out);
/* Decodes exactly; rejects padding, whitespace and non-canonical trailing bits. */
bool base64url_decode(const char *in, size_t inlen, unsigned char *out, size_t outsize,
		      size_t *outlen);
void hex_encode(const unsigned char *in, size_t len, char *out);
/* Either case; -1 for a character that is not a hex digit. */
int hex_digit_value(char c);
/* Decodes len hex digits (an even number) into len / 2 bytes; false on anything else. */
bool hex_decode(const char *in, size_t len, unsigned char *out);

/* Big-endian integers of 1..8 bytes in sealed formats: be_put writes and advances *p. */
void be_put(unsigned char **p, uint64_t v, int bytes);
uint64_t be_get(const unsigned char *p, int bytes);

/* PostgreSQL's binary form of a one-dimensional array with no NULLs (what array_recv
 * reads): a prepared statement's bytea[] or text[] parameter in binary format, so that one
 * statement carries a batch of rows. pg_array_size is the bytes for count elements of
 * data_bytes in all; pg_array_head writes the header and pg_array_add each element, both
 * returning where the next write goes. */
#define PG_OID_BYTEA 17
#define PG_OID_TEXT 25
size_t pg_array_size(size_t count, size_t data_bytes);
unsigned char *pg_array_head(unsigned char *out, uint32_t element_oid, size_t count);
unsigned char *pg_array_add(unsigned char *p, const void *element, size_t len);

#endif
