/*
 * The settings file parser (settings_load: the ini syntax, then every key's type and
 * bounds, then the cross-field rules), given the input as the file's text; the text ends
 * at a NUL byte, as server/config_file.c refuses a file that holds one.
 * Invariants: a loaded configuration keeps every integer within its bounds and every
 * choice among its names, and renders every value; a refusal says why.
 */
#include "config.h"

#include "fuzz.h"
#include "settings.h"

#include <stdlib.h>
#include <string.h>

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
	struct settings s;
	char err[SETTINGS_ERROR_MAX];
	char *text = malloc(size + 1);

	FUZZ_ASSERT(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	if (settings_load(&s, "fuzz.conf", text, NULL, err, sizeof(err))) {
		loaded_check(&s);
		settings_free(&s);
	} else {
		FUZZ_ASSERT(err[0] != '\0' && memchr(err, '\0', sizeof(err)));
	}
	free(text);
	return 0;
}
