#include "config.h"

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096
#define LOG_FIELDS_MAX 32

static enum log_level current_level = LOG_INFO;
static enum log_format current_format = LOG_FORMAT_TEXT;

void log_configure(enum log_level level, enum log_format format)
{
	current_level = level;
	current_format = format;
}

bool log_enabled(enum log_level level)
{
	return level >= current_level;
}

static void format_timestamp(char *buf, size_t size)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03dZ", (int)(tv.tv_usec / 1000));
}

void log_emit(enum log_level level, const char *event, ...)
{
	struct log_field fields[LOG_FIELDS_MAX];
	char line[LOG_LINE_MAX];
	char ts[40];
	size_t n = 0;
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, event);
	for (;;) {
		struct log_field f = va_arg(ap, struct log_field);
		if (f.kind == LOG_FIELD_END)
			break;
		if (n < LOG_FIELDS_MAX)
			fields[n++] = f;
	}
	va_end(ap);

	format_timestamp(ts, sizeof(ts));
	size_t len = log_format_line(line, sizeof(line) - 1, current_format, level, ts, event,
				     fields, n);
	line[len++] = '\n';
	/* One write per line so lines from several workers never interleave. */
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}
