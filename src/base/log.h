/* log.h: logging to stderr or syslog.
 *
 * One line per event.  Callers put the connection id, user and remote
 * address in the message (see imap/session.c); passwords are never logged. */
#ifndef ROOST_LOG_H
#define ROOST_LOG_H

#include "base.h"

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Sets the process name shown in each line ("roost", "roost-worker"),
 * whether lines go to syslog (mail facility) instead of stderr, and the
 * most verbose level that is written.  May be called again at any time. */
void log_init(const char *ident, bool use_syslog, enum log_level level);
/* Parses "error", "warning", "info" or "debug".  Returns 0 or -1. */
int log_level_parse(const char *name, enum log_level *level_r);
bool log_is_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) ATTR_PRINTF(2, 3);
void log_vmsg(enum log_level level, const char *fmt, va_list args) ATTR_PRINTF(2, 0);
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) \
	do { if (log_is_enabled(LOG_LEVEL_DEBUG)) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__); } while (0)

#endif
