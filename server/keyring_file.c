#include "config.h"

#include "keyring_file.h"

#include "textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 16 keys of one line each fit many times over. */
#define KEYRING_FILE_MAX 8192

bool keyring_file_load(const char *path, struct keyring *out, char *err, size_t errsize)
{
	char why[256];
	size_t len;
	char *text = textfile_read(path, KEYRING_FILE_MAX, &len, err, errsize);
	bool ok;

	if (!text)
		return false;
	ok = keyring_parse(text, out, why, sizeof(why));
	OPENSSL_cleanse(text, len);
	free(text);
	if (!ok)
		snprintf(err, errsize, "%s: %s", path, why);
	return ok;
}

bool keyring_file_write(const char *path, const struct keyring *ring, bool exclusive, char *err,
			size_t errsize)
{
	char text[KEYRING_FILE_MAX];
	char tmp[4096];
	size_t len = keyring_format(ring, text, sizeof(text));
	int fd = -1;
	bool created = false;

	if (len == 0 ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		snprintf(err, errsize, "%s: path or keyring too long", path);
		goto failed;
	}
	if (exclusive && access(path, F_OK) == 0) {
		snprintf(err, errsize, "%s: already exists (use 'keys rotate' to add a key)", path);
		goto failed; /* the common case, said plainly; link() below closes the race */
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	created = fd >= 0;
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
		snprintf(err, errsize, "%s: cannot write: %s", tmp, strerror(errno));
		goto failed;
	}
	close(fd);
	fd = -1;
	/* link() refuses an existing target, so two concurrent 'generate' runs cannot both win. */
	if (exclusive ? link(tmp, path) != 0 : rename(tmp, path) != 0) {
		snprintf(err, errsize, "%s: cannot %s: %s", path, exclusive ? "create" : "replace",
			 strerror(errno));
		goto failed;
	}
	if (exclusive)
		unlink(tmp);
	OPENSSL_cleanse(text, sizeof(text));
	return true;
failed:
	if (fd >= 0)
		close(fd);
	if (created)
		unlink(tmp);
	OPENSSL_cleanse(text, sizeof(text));
	return false;
}
