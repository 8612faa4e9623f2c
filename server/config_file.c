#include "config.h"

#include "config_file.h"

#include "textfile.h"

#include <stdlib.h>
#include <string.h>

/* Far beyond any real config (a few KiB): a bound on what a mistaken path can cost. */
#define CONFIG_FILE_MAX ((size_t)1 << 20)

bool config_file_load(struct settings *out, const char *path, char *const *envp, char *err,
		      size_t errsize)
{
	char *text = NULL;
	size_t len;
	bool ok;

	memset(out, 0, sizeof(*out));
	if (path) {
		text = textfile_read(path, CONFIG_FILE_MAX, &len, err, errsize);
		if (!text)
			return false;
	}
	ok = settings_load(out, path, text, envp, err, errsize);
	free(text);
	return ok;
}
