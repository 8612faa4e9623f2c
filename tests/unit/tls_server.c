/* Writes the certificate and key where tls_context_build reads them, and removes them
 * once it has. */
#include "config.h"

#include "suites.h"
#include "tls_server.h"

#include "tls.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

SSL_CTX *tls_server_new(void)
{
	char cert_path[] = "/tmp/check_tls_cert.XXXXXX";
	char key_path[] = "/tmp/check_tls_key.XXXXXX";
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = X509_new();
	SSL_CTX *ctx;
	char err[256];
	FILE *f;

	ck_assert_ptr_nonnull(key);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	X509_set_pubkey(cert, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
				   (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(cert, X509_get_subject_name(cert));
	ck_assert(X509_sign(cert, key, EVP_sha256()) > 0);
	f = fdopen(mkstemp(cert_path), "w");
	ck_assert(f && PEM_write_X509(f, cert));
	fclose(f);
	f = fdopen(mkstemp(key_path), "w");
	ck_assert(f && PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL));
	fclose(f);
	X509_free(cert);
	EVP_PKEY_free(key);
	ctx = tls_context_build(cert_path, key_path, err, sizeof(err));
	ck_assert_msg(ctx != NULL, "%s", err);
	unlink(cert_path);
	unlink(key_path);
	return ctx;
}
