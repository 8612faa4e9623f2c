#include "config.h"

#include "config_check.h"

#include "addr.h"
#include "keyfile.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Resolves a as listener.c binds it, so a name counts for the addresses it resolves to:
 * "localhost" is loopback only where it resolves to loopback addresses alone. */
static bool binds_loopback_only(const struct listen_addr *a, bool *loopback, char *why, size_t whysize)
{
	struct addrinfo hints, *res = NULL;
	int rc;

	if (!a->host[0]) {
		*loopback = false; /* every address */
		return true;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(a->host, a->port, &hints, &res);
	if (rc != 0) {
		snprintf(why, whysize, "'%.255s' does not resolve: %s", a->host, gai_strerror(rc));
		return false;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (!addr_is_loopback(ai->ai_addr))
			*loopback = false;
	}
	freeaddrinfo(res);
	return true;
}

bool config_check_admin(const struct settings *s, char *err, size_t errsize)
{
	const char *origin = s->path ? s->path : "environment";
	struct listen_addr addrs[ADDR_LIST_MAX];
	char why[512];
	bool loopback = true;
	size_t n;

	if (*s->admin_token)
		return true;
	if (!addr_list_parse(s->admin_listen, addrs, ADDR_LIST_MAX, &n, why, sizeof(why)))
		goto failed; /* settings_load has checked it already */
	for (size_t i = 0; i < n; i++) {
		if (!binds_loopback_only(&addrs[i], &loopback, why, sizeof(why)))
			goto failed;
	}
	if (loopback)
		return true;
	snprintf(err, errsize,
		 "%s: key 'admin_token': is required when admin_listen is not loopback", origin);
	return false;
failed:
	snprintf(err, errsize, "%s: key 'admin_listen': %s", origin, why);
	return false;
}

bool config_check_secret_file(const char *key, const char *path, char *err, size_t errsize)
{
	struct stat st;
	char why[256];

	if (stat(path, &st) != 0 ||
	    keyfile_mode_check(st.st_mode, st.st_uid, geteuid(), why, sizeof(why)))
		return true;
	snprintf(err, errsize, "key '%s': %s %s", key, path, why);
	return false;
}
