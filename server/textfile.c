#include "config.h"

#include "textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads up to size bytes, or one more than max to tell a file too large. */
static ssize_t fd_read_all(int fd, char *buf, size_t size)
{
	size_t got = 0;

	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

char *textfile_read(const char *path, size_t max, size_t *len, char *err, size_t errsize)
{
	char *buf = NULL;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errsize, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(max + 1);
	if (!buf) {
		snprintf(err, errsize, "%s: out of memory", path);
		goto failed;
	}
	n = fd_read_all(fd, buf, max + 1);
	if (n < 0 || (size_t)n > max) {
		snprintf(err, errsize, "%s: %s", path, n < 0 ? strerror(errno) : "file too large");
		goto failed;
	}
	if (memchr(buf, '\0', (size_t)n)) {
		snprintf(err, errsize, "%s: holds a NUL byte: not a text file", path);
		goto failed;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	close(fd);
	return buf;
failed:
	close(fd);
	free(buf);
	return NULL;
}
