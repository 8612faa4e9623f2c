/*
 * Replays files through a fuzz target where libFuzzer is missing (gcc builds): each
 * argument is a file or a directory of files, fed once to LLVMFuzzerTestOneInput. A
 * broken invariant or a sanitizer report aborts, so the exit status tells.
 */
#include "config.h"

#include "fuzz.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

static int file_run(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		perror(path);
		return 1;
	}
	do {
		if (len == cap) {
			cap = cap ? 2 * cap : 4096;
			buf = realloc(buf, cap);
			FUZZ_ASSERT(buf);
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	/* An exact-size copy, so that reading one byte past the input is caught. */
	uint8_t *exact = malloc(len ? len : 1);
	FUZZ_ASSERT(exact);
	memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

static int path_run(const char *path, size_t *count)
{
	struct stat st;
	struct dirent **names;
	int n, bad = 0;

	if (stat(path, &st) != 0) {
		perror(path);
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return file_run(path);
	}
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		perror(path);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		char child[4096];
		if (names[i]->d_name[0] != '.') {
			snprintf(child, sizeof(child), "%s/%s", path, names[i]->d_name);
			bad |= path_run(child, count);
		}
		free(names[i]);
	}
	free(names);
	return bad;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int bad = 0;

	for (int i = 1; i < argc; i++)
		bad |= path_run(argv[i], &count);
	printf("%s: %zu inputs replayed\n", argv[0], count);
	return bad || count == 0;
}
