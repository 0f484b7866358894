/* log.c: logging to stderr or syslog. */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static char log_ident[32] = "roost";
static bool log_syslog;
static enum log_level log_max = LOG_LEVEL_INFO;

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

void log_vmsg(enum log_level level, const char *fmt, va_list args)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	if (!log_is_enabled(level))
		return;
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
