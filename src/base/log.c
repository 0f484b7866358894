/* log.c: logging to stderr or syslog, as text or JSON lines. */
#include "log.h"
#include "str.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static char log_ident[32] = "roost";
static bool log_syslog;
static enum log_level log_max = LOG_LEVEL_INFO;
static enum log_format log_format = LOG_FORMAT_TEXT;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void log_init(const char *ident, bool use_syslog, enum log_level level)
{
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	if (log_syslog && !use_syslog)
		closelog();
	log_syslog = use_syslog;
	log_max = level;
	if (use_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void log_set_format(enum log_format format)
{
	log_format = format;
}

int log_format_parse(const char *name, enum log_format *format_r)
{
	if (strcmp(name, "text") == 0)
		*format_r = LOG_FORMAT_TEXT;
	else if (strcmp(name, "json") == 0)
		*format_r = LOG_FORMAT_JSON;
	else
		return -1;
	return 0;
}

int log_level_parse(const char *name, enum log_level *level_r)
{
	for (size_t i = 0; i < N_ELEMENTS(level_names); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*level_r = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

bool log_is_enabled(enum log_level level)
{
	return level <= log_max;
}

/* Appends `len` bytes of `s` as the inside of a JSON string: quotes,
 * backslashes and control characters escaped (RFC 8259 section 7).
 * Invalid UTF-8 passes as it is; the message was masked before. */
static void log_json_escape(struct str *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			str_append_c(out, '\\');
			str_append_c(out, (char)c);
		} else if (c < 0x20) {
			str_printfa(out, "\\u%04x", c);
		} else {
			str_append_c(out, (char)c);
		}
	}
}

static void log_json_member(struct str *out, const char *key, const char *value,
			    size_t value_len)
{
	str_printfa(out, ",\"%s\":\"", key);
	log_json_escape(out, value, value_len);
	str_append_c(out, '"');
}

static bool log_json_reserved(const char *key, size_t len)
{
	static const char *const names[] = { "time", "process", "pid", "level", "session",
					     "message" };
	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		if (strlen(names[i]) == len && memcmp(names[i], key, len) == 0)
			return true;
	}
	return false;
}

/* Adds a member for every key=value / key=<value> of msg whose key was
 * not seen before.  Values end at ',', ' ' or ';' (or at '>' when they
 * start with '<'). */
static void log_json_fields(struct str *out, const char *msg)
{
	char seen[512] = ",";
	for (const char *p = msg; *p != '\0'; p++) {
		if (*p != '=' || p == msg)
			continue;
		const char *k = p;
		while (k > msg && (isalnum((unsigned char)k[-1]) || k[-1] == '_'))
			k--;
		size_t klen = (size_t)(p - k);
		if (klen == 0 || klen > 32 || (k > msg && !strchr(" ,;(", k[-1])))
			continue;
		const char *v = p + 1, *end;
		if (*v == '<') {
			v++;
			end = strchr(v, '>');
			if (end == NULL)
				end = v + strlen(v);
		} else {
			end = v + strcspn(v, ", ;");
		}
		char key[40];
		memcpy(key, k, klen);
		key[klen] = '\0';
		char needle[44];
		snprintf(needle, sizeof(needle), ",%s,", key);
		if (log_json_reserved(key, klen) || strstr(seen, needle) != NULL ||
		    strlen(seen) + klen + 2 >= sizeof(seen))
			continue;
		strcat(seen, key);
		strcat(seen, ",");
		log_json_member(out, key, v, (size_t)(end - v));
	}
}

/* One JSON object for a message (already masked of control characters). */
static void log_json_line(struct str *out, enum log_level level, const struct timespec *ts,
			  const char *msg)
{
	struct tm tm;
	char stamp[32];
	gmtime_r(&ts->tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	str_printfa(out, "{\"time\":\"%s.%03ldZ\"", stamp, ts->tv_nsec / 1000000);
	log_json_member(out, "process", log_ident, strlen(log_ident));
	str_printfa(out, ",\"pid\":%d", (int)getpid());
	log_json_member(out, "level", level_names[level], strlen(level_names[level]));
	/* "imap(a1b2c3): ..." names the session */
	const char *paren = strchr(msg, '(');
	const char *colon = strstr(msg, "): ");
	if (paren != NULL && colon != NULL && paren < colon && paren > msg &&
	    strcspn(msg, " :") > (size_t)(paren - msg)) {
		log_json_member(out, "session", msg, (size_t)(colon + 1 - msg));
		msg = colon + 3;
	}
	log_json_member(out, "message", msg, strlen(msg));
	log_json_fields(out, msg);
	str_append(out, "}");
}

void log_vmsg(enum log_level level, const char *fmt, va_list args)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	if (!log_is_enabled(level))
		return;
	if (log_format == LOG_FORMAT_JSON) {
		char msg[2048];
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int m = vsnprintf(msg, sizeof(msg), fmt, args);
		if (m < 0)
			msg[0] = '\0';
		for (char *p = msg; *p != '\0'; p++) {
			if ((unsigned char)*p < 0x20)
				*p = '?';
		}
		struct str line = STR_INIT;
		log_json_line(&line, level, &ts, msg);
		if (log_syslog) {
			syslog(prio[level], "%s", str_c(&line));
		} else {
			str_append_c(&line, '\n');
			(void)write_full(STDERR_FILENO, line.data, line.len);
		}
		str_free(&line);
		return;
	}
	if (log_syslog) {
		vsyslog(prio[level], fmt, args);
		return;
	}
	char line[2048];
	char stamp[32];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	int n = snprintf(line, sizeof(line), "%s.%03ld %s[%d]: %s: ", stamp,
			 ts.tv_nsec / 1000000, log_ident, (int)getpid(),
			 level_names[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, args);
	size_t len = (size_t)n + (m < 0 ? 0 : ROOST_MIN((size_t)m, sizeof(line) - (size_t)n - 2));
	/* one log line per event: control characters from clients are masked */
	for (size_t i = (size_t)n; i < len; i++) {
		if ((unsigned char)line[i] < 0x20)
			line[i] = '?';
	}
	line[len++] = '\n';
	(void)write_full(STDERR_FILENO, line, len);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	log_vmsg(level, fmt, args);
	va_end(args);
}
