/*
 * The settings file parser (settings_load: inih, then every key's type and bounds, then
 * the cross-field rules). settings_load reads a path, so the input goes to a memory file
 * (memfd) opened through /proc/self/fd: the parser runs unchanged, with no disk I/O.
 * Invariants: a loaded configuration keeps every integer within its bounds and every
 * choice among its names, and renders every value; a refusal says why.
 */
#include "config.h"

#include "fuzz.h"
#include "settings.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void loaded_check(const struct settings *s)
{
	char value[4096];

	for (size_t i = 0; i < settings_table_len; i++) {
		const struct setting_def *def = &settings_table[i];
		const char *field = (const char *)s + def->offset;
		if (def->type == SETTING_INT) {
			int v = *(const int *)field;
			FUZZ_ASSERT(v >= def->min && v <= def->max);
		} else if (def->type == SETTING_ENUM) {
			int v = *(const int *)field, n = 0;
			while (def->choices[n])
				n++;
			FUZZ_ASSERT(v >= 0 && v < n);
		}
		settings_format_value(s, def, value, sizeof(value));
	}
	FUZZ_ASSERT(s->n_apps <= SETTINGS_APPS_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct settings s;
	char err[SETTINGS_ERROR_MAX];

	if (fd < 0) {
		fd = memfd_create("fuzz-settings", 0);
		FUZZ_ASSERT(fd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	FUZZ_ASSERT(ftruncate(fd, 0) == 0);
	FUZZ_ASSERT(pwrite(fd, data, size, 0) == (ssize_t)size);
	err[0] = '\0';
	if (settings_load(&s, path, NULL, err, sizeof(err))) {
		loaded_check(&s);
		settings_free(&s);
	} else {
		FUZZ_ASSERT(err[0] != '\0' && memchr(err, '\0', sizeof(err)));
	}
	return 0;
}
