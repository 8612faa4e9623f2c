/*
 * The process's log: lines (common/log_line.h) at or above the configured level, one
 * write(2) each to stderr. The event name and LF_LABEL values must be string literals
 * (see log_line.h).
 */
#ifndef OAUTH_RELAY_LOG_H
#define OAUTH_RELAY_LOG_H

#include "log_line.h"

#include <stdbool.h>

void log_configure(enum log_level level, enum log_format format);
bool log_enabled(enum log_level level);
void log_emit(enum log_level level, const char *event, ...);

#define log_debug(ev, ...) log_emit(LOG_DEBUG, "" ev "", ##__VA_ARGS__, LF_END)
#define log_info(ev, ...) log_emit(LOG_INFO, "" ev "", ##__VA_ARGS__, LF_END)
#define log_warn(ev, ...) log_emit(LOG_WARN, "" ev "", ##__VA_ARGS__, LF_END)
#define log_error(ev, ...) log_emit(LOG_ERROR, "" ev "", ##__VA_ARGS__, LF_END)

#endif
