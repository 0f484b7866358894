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
/* How a line is written: today's text ("2026-12-08 01:02:03.456
 * roost-worker[123]: info: imap(a1b2c3): Login: method=PLAIN") or one
 * JSON object per line (RFC 8259) with the same facts as members:
 *
 *   {"time":"2026-12-08T01:02:03.456Z","process":"roost-worker","pid":123,
 *    "level":"info","session":"imap(a1b2c3)","message":"Login: method=PLAIN",
 *    "method":"PLAIN"}
 *
 * "session" is the leading "proto(id)" of the message when it has one;
 * each `key=value` or `key=<value>` of the message (letters, digits and
 * '_' in the key) becomes a string member too, unless its name is one of
 * the fixed ones.  Times are UTC in JSON, local time in text.  To syslog,
 * the JSON object is the message. */
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };
void log_set_format(enum log_format format);
/* Parses "text" or "json".  Returns 0 or -1. */
int log_format_parse(const char *name, enum log_format *format_r);

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
