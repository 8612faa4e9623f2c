/* oauth-relayctl keys generate|rotate FILE */
#include "config.h"

#include "ctl.h"
#include "keyring.h"

#include <stdio.h>
#include <string.h>

static int keys_generate(const char *path)
{
	struct keyring ring;
	char err[512];

	memset(&ring, 0, sizeof(ring));
	if (!keyring_add_random(&ring, err, sizeof(err)) ||
	    !keyring_write_file(path, &ring, true, err, sizeof(err)))
		goto failed;
	printf("created %s with key %s\n", path, keyring_newest(&ring)->kid);
	keyring_wipe(&ring);
	return 0;
failed:
	fprintf(stderr, "oauth-relayctl: %s\n", err);
	keyring_wipe(&ring);
	return 1;
}

static int keys_rotate(const char *path)
{
	struct keyring ring;
	char err[512];

	memset(&ring, 0, sizeof(ring));
	if (!keyring_load_file(path, &ring, err, sizeof(err)) ||
	    !keyring_add_random(&ring, err, sizeof(err)) ||
	    !keyring_write_file(path, &ring, false, err, sizeof(err)))
		goto failed;
	printf("added key %s to %s (%zu keys); send SIGHUP to every relay to start using it\n",
	       keyring_newest(&ring)->kid, path, ring.count);
	keyring_wipe(&ring);
	return 0;
failed:
	fprintf(stderr, "oauth-relayctl: %s\n", err);
	keyring_wipe(&ring);
	return 1;
}

static int keys_run(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: oauth-relayctl %s\n", ctl_keys.usage);
		return 2;
	}
	if (strcmp(argv[1], "generate") == 0)
		return keys_generate(argv[2]);
	if (strcmp(argv[1], "rotate") == 0)
		return keys_rotate(argv[2]);
	fprintf(stderr, "oauth-relayctl: keys: unknown action '%s'\n", argv[1]);
	return 2;
}

const struct ctl_command ctl_keys = {
	"keys", "keys generate|rotate FILE   create a keyring, or add a newest key to it", keys_run
};
