/* oauth-relayctl keys generate|rotate FILE */
#include "config.h"

#include "ctl.h"
#include "keyring_file.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* generate: a new file with one key; rotate: the file's keys plus a newest one. */
static int keys_write(const char *path, bool rotate)
{
	struct keyring ring;
	char err[512];
	int rc = 1;

	memset(&ring, 0, sizeof(ring));
	if ((rotate && !keyring_file_load(path, &ring, err, sizeof(err))) ||
	    !keyring_add_random(&ring, err, sizeof(err)) ||
	    !keyring_file_write(path, &ring, !rotate, err, sizeof(err))) {
		fprintf(stderr, "oauth-relayctl: %s\n", err);
		goto done;
	}
	if (rotate)
		printf("added key %s to %s (%zu keys); send SIGHUP to every relay to start using it\n",
		       keyring_newest(&ring)->kid, path, ring.count);
	else
		printf("created %s with key %s\n", path, keyring_newest(&ring)->kid);
	rc = 0;
done:
	keyring_wipe(&ring);
	return rc;
}

static int keys_run(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: oauth-relayctl %s\n", ctl_keys.usage);
		return 2;
	}
	if (strcmp(argv[1], "generate") == 0 || strcmp(argv[1], "rotate") == 0)
		return keys_write(argv[2], strcmp(argv[1], "rotate") == 0);
	fprintf(stderr, "oauth-relayctl: keys: unknown action '%s'\n", argv[1]);
	return 2;
}

const struct ctl_command ctl_keys = {
	"keys", "keys generate|rotate FILE   create a keyring, or add a newest key to it", keys_run
};
