/*
 * A push job at rest (doc/design.md "Push"): where to deliver a flow's result and with
 * which key, sealed so that any node holding the keyring can deliver it after the node that
 * took the callback died, while a database dump alone reveals nothing. It is sealed as a
 * pickup result is (result.h), with the row's lookup in place of the pickup key and a fixed
 * label in place of the flow id: the key then depends on the keyring key and the row only.
 */
#ifndef OAUTH_RELAY_PUSH_JOB_H
#define OAUTH_RELAY_PUSH_JOB_H

#include "result.h"
#include "seal.h"

#include <stdbool.h>
#include <stddef.h>

struct push_job {
	unsigned char flow_id[FLOW_ID_BYTES];
	unsigned char key[PICKUP_KEY_BYTES]; /* the push key the body is signed with */
	char return_url[URL_MAX + 1];
};

/* *out is malloc'd (*out_len bytes). ikm: the keyring key's secret. */
bool push_job_seal(const unsigned char *ikm, size_t ikm_len,
		   const unsigned char lookup[RESULT_LOOKUP_BYTES], const struct push_job *job,
		   unsigned char **out, size_t *out_len);
/* False when it does not open under this keyring key and lookup, or is not a job. */
bool push_job_open(const unsigned char *ikm, size_t ikm_len,
		   const unsigned char lookup[RESULT_LOOKUP_BYTES], const unsigned char *sealed,
		   size_t len, struct push_job *job);

#endif
