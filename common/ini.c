#include "config.h"

#include "ini.h"

#include <ctype.h>
#include <string.h>

#define BOM "\xef\xbb\xbf"

static char *skip_space(char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	return s;
}

static void trim_end(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

/* One line, trimmed and writable. The section name is kept as written between the
 * brackets, and text after ']' is ignored, as libinih did before this parser. */
static bool line_parse(char *s, char *section, ini_handler *handler, void *arg, unsigned line)
{
	char *end;

	trim_end(s);
	s = skip_space(s);
	if (*s == '\0' || *s == ';' || *s == '#')
		return true;
	if (*s == '[') {
		end = strchr(s + 1, ']');
		if (!end)
			return false;
		*end = '\0';
		strcpy(section, s + 1);
		return true;
	}
	end = s + strcspn(s, "=:");
	if (*end == '\0')
		return false;
	*end = '\0';
	trim_end(s);
	return handler(arg, section, s, skip_space(end + 1), line);
}

bool ini_parse(const char *text, ini_handler *handler, void *arg, unsigned *line)
{
	char buf[INI_LINE_MAX];
	char section[INI_LINE_MAX] = "";

	*line = 0;
	if (strncmp(text, BOM, strlen(BOM)) == 0)
		text += strlen(BOM);
	while (*text) {
		size_t len = strcspn(text, "\n");

		++*line;
		if (len >= sizeof(buf))
			return false;
		memcpy(buf, text, len);
		buf[len] = '\0';
		if (!line_parse(buf, section, handler, arg, *line))
			return false;
		text += len + (text[len] == '\n');
	}
	return true;
}
