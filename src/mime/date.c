/* date.c: RFC 5322 date-time parsing, obsolete forms included.  See
 * date.h. */
#include "mime/date.h"

#include <string.h>
#include <strings.h>

#include "mime/lex.h"

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec",
};

/* obs-zone (RFC 5322 section 4.3), offsets in minutes */
static const struct {
	const char *name;
	int offset;
} zone_names[] = {
	{ "UT", 0 }, { "UTC", 0 }, { "GMT", 0 }, { "Z", 0 },
	{ "EST", -5 * 60 }, { "EDT", -4 * 60 },
	{ "CST", -6 * 60 }, { "CDT", -5 * 60 },
	{ "MST", -7 * 60 }, { "MDT", -6 * 60 },
	{ "PST", -8 * 60 }, { "PDT", -7 * 60 },
};

static void skip(const char **pp)
{
	mime_lex_skip_cfws(pp, NULL);
}

static int number(const char **pp, unsigned int max_digits, int *num_r)
{
	const char *p = *pp;
	int n = 0;
	unsigned int digits = 0;

	while (*p >= '0' && *p <= '9' && digits < max_digits) {
		n = n * 10 + (*p++ - '0');
		digits++;
	}
	if (digits == 0 || (*p >= '0' && *p <= '9'))
		return -1;
	*pp = p;
	*num_r = n;
	return (int)digits;
}

static size_t alpha_len(const char *p)
{
	size_t n = 0;
	while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z'))
		n++;
	return n;
}

static int zone(const char *p, int *offset_r)
{
	*offset_r = 0;
	if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, hhmm;
		p++;
		if (number(&p, 4, &hhmm) != 4 || hhmm % 100 >= 60)
			return -1;
		*offset_r = sign * (hhmm / 100 * 60 + hhmm % 100);
		return 0;
	}
	size_t n = alpha_len(p);
	for (size_t i = 0; i < N_ELEMENTS(zone_names); i++) {
		if (strlen(zone_names[i].name) == n &&
		    strncasecmp(p, zone_names[i].name, n) == 0) {
			*offset_r = zone_names[i].offset;
			return 0;
		}
	}
	/* military and unknown names: -0000 */
	return 0;
}

int mime_date_parse(const char *value, time_t *time_r, int *tz_offset_r)
{
	const char *p = value;
	int day, month = -1, year, hour, min, sec = 0, offset, ydigits;
	size_t n;
	struct tm tm;

	skip(&p);
	/* [ day-of-week "," ] */
	n = alpha_len(p);
	if (n > 0) {
		p += n;
		skip(&p);
		if (*p == ',')
			p++;
		skip(&p);
	}
	if (number(&p, 2, &day) < 0 || day < 1 || day > 31)
		return -1;
	skip(&p);
	if (*p == '-')
		p++;	/* "1-Jan-2020" */
	n = alpha_len(p);
	if (n >= 3) {
		for (int i = 0; i < 12; i++) {
			if (strncasecmp(p, month_names[i], 3) == 0)
				month = i;
		}
	}
	if (month < 0)
		return -1;
	p += n;
	skip(&p);
	if (*p == '-')
		p++;
	ydigits = number(&p, 4, &year);
	if (ydigits < 0)
		return -1;
	if (ydigits == 2 && year < 50)
		year += 2000;
	else if (ydigits <= 3)
		year += 1900;
	skip(&p);
	if (number(&p, 2, &hour) < 0 || hour > 23)
		return -1;
	skip(&p);
	if (*p != ':')
		return -1;
	p++;
	skip(&p);
	if (number(&p, 2, &min) < 0 || min > 59)
		return -1;
	skip(&p);
	if (*p == ':') {
		p++;
		skip(&p);
		if (number(&p, 2, &sec) < 0 || sec > 60)
			return -1;
		skip(&p);
	}
	if (zone(p, &offset) < 0)
		return -1;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = month;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	if (t == (time_t)-1 && !(year == 1969 && month == 11 && day == 31))
		return -1;
	*time_r = t - (time_t)offset * 60;
	*tz_offset_r = offset;
	return 0;
}
