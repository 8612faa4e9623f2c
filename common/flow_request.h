/*
 * The body of POST /v1/flows (doc/protocol.md): which fields a client may send and what
 * they become in the flow the relay seals. Pure: the caller parses the JSON, and adds
 * what needs keys or randomness (the flow id, the instance's callback id).
 */
#ifndef OAUTH_RELAY_FLOW_REQUEST_H
#define OAUTH_RELAY_FLOW_REQUEST_H

#include "seal.h"
#include "settings.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define FLOW_EXPIRES_IN_DEFAULT 600
#define FLOW_EXPIRES_IN_MIN 60

/* Why a body was refused: the error code and message of the 400 answer. */
struct flow_request_error {
	const char *code;
	const char *message;
};

/*
 * Checks body (NULL or any JSON value) against the settings' shared apps and flow_ttl_max
 * and fills f: return_url (normalized), delivery, issuer, require_iss, instance_state,
 * shared_app and app, created = now and expires. The first rule broken is reported.
 */
bool flow_request_parse(json_t *body, const struct settings *s, int64_t now, struct flow *f,
			struct flow_request_error *err);

#endif
