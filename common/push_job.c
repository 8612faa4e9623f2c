/* Sealing and opening push jobs (push_job.h). */
#include "config.h"

#include "push_job.h"

#include "encoding.h"

#include <openssl/crypto.h>
#include <string.h>

/* In place of a flow id: no flow's random id is this, so no result key is a job key. */
static const unsigned char job_label[FLOW_ID_BYTES] = { 'o', 'a', 'u', 't', 'h', '-', 'r', 'e',
							'l', 'a', 'y', ' ', 'p', 'u', 's', 'h' };
static const char *const job_names[] = { "flow_id", "push_key", "return_url" };

bool push_job_seal(const unsigned char *ikm, size_t ikm_len,
		   const unsigned char lookup[RESULT_LOOKUP_BYTES], const struct push_job *job,
		   unsigned char **out, size_t *out_len)
{
	char flow_id[FLOW_ID_LEN + 1], key[PICKUP_KEY_LEN + 1];
	const char *values[] = { flow_id, key, job->return_url };
	bool ok;

	base64url_encode(job->flow_id, FLOW_ID_BYTES, flow_id);
	base64url_encode(job->key, PICKUP_KEY_BYTES, key);
	ok = result_seal(ikm, ikm_len, lookup, job_label, job_names, values, 3, out, out_len);
	OPENSSL_cleanse(key, sizeof(key));
	return ok;
}

static bool field_decode(const char *text, unsigned char *out, size_t size)
{
	size_t n = 0;

	return base64url_decode(text, strlen(text), out, size, &n) && n == size;
}

bool push_job_open(const unsigned char *ikm, size_t ikm_len,
		   const unsigned char lookup[RESULT_LOOKUP_BYTES], const unsigned char *sealed,
		   size_t len, struct push_job *job)
{
	struct result_params p;
	bool ok;

	memset(job, 0, sizeof(*job));
	if (!result_open(ikm, ikm_len, lookup, job_label, sealed, len, &p))
		return false;
	ok = p.count == 3 && strcmp(p.names[0], job_names[0]) == 0 &&
	     strcmp(p.names[1], job_names[1]) == 0 && strcmp(p.names[2], job_names[2]) == 0 &&
	     field_decode(p.values[0], job->flow_id, FLOW_ID_BYTES) &&
	     field_decode(p.values[1], job->key, PICKUP_KEY_BYTES) && strlen(p.values[2]) <= URL_MAX;
	if (ok)
		strcpy(job->return_url, p.values[2]);
	else
		OPENSSL_cleanse(job, sizeof(*job));
	result_params_free(&p);
	return ok;
}
