/*
 * TLS 1.3 record protection (RFC 8446 §5.2, §7.1 to §7.3) for a connection whose
 * handshake OpenSSL did: with the two application traffic secrets and each direction's
 * sequence number, a record needs nothing else. The relay takes a connection's records
 * over from OpenSSL once the handshake is done and frees the SSL object, about 15 KB
 * that an idle keep-alive connection would otherwise hold (server/conn_io.c).
 *
 * The AEAD is OpenSSL's; this is only the framing, the nonces and the key schedule.
 */
#ifndef OAUTH_RELAY_TLS13_H
#define OAUTH_RELAY_TLS13_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS13_HEADER_LEN 5
#define TLS13_PLAIN_MAX 16384
#define TLS13_TAG_LEN 16
/* A sealed record, header included: the longest one a peer may send (RFC 8446 §5.2). */
#define TLS13_RECORD_MAX (TLS13_HEADER_LEN + TLS13_PLAIN_MAX + 256)
/* The longest one this side seals: the plaintext, its type byte, the tag. */
#define TLS13_SEALED_LEN(plain_len) (TLS13_HEADER_LEN + (plain_len) + 1 + TLS13_TAG_LEN)
#define TLS13_SECRET_MAX 48

/* The inner content types this layer meets. */
#define TLS13_ALERT 21
#define TLS13_HANDSHAKE 22
#define TLS13_APPLICATION_DATA 23

/* One direction's keys. */
struct tls13_keys {
	unsigned char secret[TLS13_SECRET_MAX]; /* kept for a KeyUpdate */
	unsigned char key[32];
	unsigned char iv[12];
	uint64_t seq;
};

struct tls13 {
	uint16_t suite; /* the IANA number: 0x1301, 0x1302 or 0x1303 */
	struct tls13_keys read, write;
};

bool tls13_suite_supported(uint16_t suite);
/* Keys from a traffic secret (of the suite's hash length), starting at sequence seq. */
bool tls13_keys_init(struct tls13_keys *k, uint16_t suite, const unsigned char *secret,
		     uint64_t seq);
/* The next generation of one direction's keys (a KeyUpdate). */
bool tls13_keys_update(struct tls13_keys *k, uint16_t suite);
/* Clears every secret. */
void tls13_wipe(struct tls13 *t);

/* The length of the record at the head of buf, header included: 0 while incomplete,
 * SIZE_MAX if it cannot be a TLS 1.3 protected record. */
size_t tls13_record_len(const unsigned char *buf, size_t len);
/* Seals len <= TLS13_PLAIN_MAX bytes of type into out (TLS13_SEALED_LEN(len) bytes). */
bool tls13_seal(struct tls13 *t, uint8_t type, const unsigned char *in, size_t len,
		unsigned char *out);
/* Opens a whole record (rec_len from tls13_record_len) in place: its type, and its
 * plaintext at rec + TLS13_HEADER_LEN, *len bytes. False if forged or malformed. */
bool tls13_open(struct tls13 *t, unsigned char *rec, size_t rec_len, uint8_t *type,
		size_t *len);
/* Frees the cipher contexts kept between records (at exit). */
void tls13_cleanup(void);

#endif
