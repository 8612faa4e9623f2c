#include "config.h"

#include "relay_state.h"

#include "config_check.h"
#include "config_file.h"
#include "keycache.h"
#include "keyring_file.h"
#include "tls.h"

#include <stdio.h>
#include <string.h>

/* The process's crypto contexts (common/keycache.h): every keyring loaded here, at start
 * and at each reload, shares them, so a request never sets one up. Wiping a replaced ring
 * wipes them too; they re-key on their next use. */
static struct keycache relay_keycache;

bool relay_state_build(struct relay_state *out, const char *path, char *const *envp, char *err,
		       size_t errsize)
{
	char why[512];

	memset(out, 0, sizeof(*out));
	if (!config_file_load(&out->settings, path, envp, err, errsize))
		return false;
	if (!config_check_admin(&out->settings, err, errsize) ||
	    !config_check_secret_file("key_file", out->settings.key_file, err, errsize) ||
	    (*out->settings.listen &&
	     !config_check_secret_file("tls_key", out->settings.tls_key, err, errsize)))
		goto failed;
	if (!keyring_file_load(out->settings.key_file, &out->keys, why, sizeof(why))) {
		snprintf(err, errsize, "key 'key_file': %s", why);
		goto failed;
	}
	out->keys.cache = &relay_keycache;
	if (*out->settings.listen) {
		out->tls = tls_context_build(out->settings.tls_cert, out->settings.tls_key, why,
					     sizeof(why));
		if (!out->tls) {
			snprintf(err, errsize, "key 'tls_cert'/'tls_key': %s", why);
			goto failed;
		}
	}
	return true;
failed:
	relay_state_free(out);
	return false;
}

void relay_state_free(struct relay_state *st)
{
	settings_free(&st->settings);
	keyring_wipe(&st->keys);
	SSL_CTX_free(st->tls);
	st->tls = NULL;
}
