/*
 * Structured log lines: an event name plus typed fields, formatted as logfmt or JSON.
 * Pure: server/log.c stamps the time, keeps the level and writes the line.
 *
 * The API is shaped so that request data cannot slip into a log line by
 * accident (doc/design.md §3): the event name and LF_LABEL values must be string
 * literals (the "" x "" concatenation fails to compile otherwise), numbers are
 * numbers, and LF_TEXT is reserved for operator-supplied text such as file
 * paths and library error messages. Nothing from a request is ever operator
 * text.
 */
#ifndef OAUTH_RELAY_LOG_LINE_H
#define OAUTH_RELAY_LOG_LINE_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

enum log_field_kind { LOG_FIELD_END, LOG_FIELD_LABEL, LOG_FIELD_INT, LOG_FIELD_TEXT };

struct log_field {
	const char *key;
	enum log_field_kind kind;
	const char *text;
	long long number;
};

#define LF_LABEL(k, v) ((struct log_field){ "" k "", LOG_FIELD_LABEL, "" v "", 0 })
#define LF_INT(k, v) ((struct log_field){ "" k "", LOG_FIELD_INT, NULL, (long long)(v) })
#define LF_TEXT(k, v) ((struct log_field){ "" k "", LOG_FIELD_TEXT, (v), 0 })
/* A label chosen from a fixed table at run time (never request text). */
#define LF_ENUM(k, v) ((struct log_field){ "" k "", LOG_FIELD_LABEL, (v), 0 })
#define LF_END ((struct log_field){ NULL, LOG_FIELD_END, NULL, 0 })

/* Formats one line into buf (without the trailing newline), truncated to fit; returns its
 * length. */
size_t log_format_line(char *buf, size_t size, enum log_format format, enum log_level level,
		       const char *timestamp, const char *event, const struct log_field *fields,
		       size_t nfields);

#endif
