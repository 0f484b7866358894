/* ext-date.c: RFC 5260 date and index: the date and currentdate tests
 * with their date parts and zones, and :index/:last (for header, address
 * and date; the tags are declared here and read by ext-core.c too). */
#include "sieve-private.h"
#include "mime/date.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* time-zone = ( "+" / "-" ) 4DIGIT; returns 0 with the offset east of
 * UTC in minutes, or -1 */
static int parse_zone(const char *s, int *minutes_r)
{
	if ((s[0] != '+' && s[0] != '-') || strlen(s) != 5 ||
	    strspn(s + 1, "0123456789") != 4)
		return -1;
	int hh = (s[1] - '0') * 10 + (s[2] - '0');
	int mm = (s[3] - '0') * 10 + (s[4] - '0');
	if (hh > 23 || mm > 59)
		return -1;
	*minutes_r = (s[0] == '-' ? -1 : 1) * (hh * 60 + mm);
	return 0;
}

static const char *const date_parts[] = {
	"year", "month", "day", "date", "julian", "hour", "minute", "second",
	"time", "iso8601", "std11", "zone", "weekday",
};

static bool is_date_part(const char *s)
{
	for (size_t i = 0; i < N_ELEMENTS(date_parts); i++) {
		if (str_eq_icase(s, date_parts[i]))
			return true;
	}
	return false;
}

/* The local zone's offset at time t, in minutes east of UTC. */
static int local_offset(time_t t)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return 0;
	return (int)(tm.tm_gmtoff / 60);
}

/* RFC 5260 4.2: the text of `part` for UTC time t shown in zone `off`.
 * iso8601 writes a zero offset as "Z" (RFC 3339 5.6), as Pigeonhole does. */
static const char *date_part(struct pool *pool, const char *part, time_t t, int off)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t local = t + (time_t)off * 60;
	struct tm tm;
	char sign = off < 0 ? '-' : '+';
	int aoff = off < 0 ? -off : off;

	if (gmtime_r(&local, &tm) == NULL)
		return NULL;
	int year = tm.tm_year + 1900;
	if (str_eq_icase(part, "year"))
		return p_strdup_printf(pool, "%04d", year);
	if (str_eq_icase(part, "month"))
		return p_strdup_printf(pool, "%02d", tm.tm_mon + 1);
	if (str_eq_icase(part, "day"))
		return p_strdup_printf(pool, "%02d", tm.tm_mday);
	if (str_eq_icase(part, "date"))
		return p_strdup_printf(pool, "%04d-%02d-%02d", year, tm.tm_mon + 1, tm.tm_mday);
	if (str_eq_icase(part, "julian")) {
		/* the Modified Julian Day: days since 1858-11-17 */
		long long days_since_epoch = (long long)(local >= 0 ? local / 86400 :
							 (local - 86399) / 86400);
		return p_strdup_printf(pool, "%lld", days_since_epoch + 40587);
	}
	if (str_eq_icase(part, "hour"))
		return p_strdup_printf(pool, "%02d", tm.tm_hour);
	if (str_eq_icase(part, "minute"))
		return p_strdup_printf(pool, "%02d", tm.tm_min);
	if (str_eq_icase(part, "second"))
		return p_strdup_printf(pool, "%02d", tm.tm_sec);
	if (str_eq_icase(part, "time"))
		return p_strdup_printf(pool, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (str_eq_icase(part, "iso8601") && off == 0)
		return p_strdup_printf(pool, "%04d-%02d-%02dT%02d:%02d:%02dZ", year, tm.tm_mon + 1,
				       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (str_eq_icase(part, "iso8601"))
		return p_strdup_printf(pool, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", year,
				       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
				       tm.tm_sec, sign, aoff / 60, aoff % 60);
	if (str_eq_icase(part, "std11"))
		return p_strdup_printf(pool, "%s, %d %s %04d %02d:%02d:%02d %c%02d%02d",
				       days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], year,
				       tm.tm_hour, tm.tm_min, tm.tm_sec, sign, aoff / 60, aoff % 60);
	if (str_eq_icase(part, "zone"))
		return p_strdup_printf(pool, "%c%02d%02d", sign, aoff / 60, aoff % 60);
	if (str_eq_icase(part, "weekday"))
		return p_strdup_printf(pool, "%d", tm.tm_wday);
	return NULL;
}

static int validate_date(struct sieve_node *node, struct sieve_script *script,
			 struct str *error_r)
{
	const struct sieve_tagval *zone = sieve_node_tag(node, "zone");
	const char *part = node->pos[node->pos_count - 2]->strs[0];
	int off;

	if (zone != NULL && !(script->uses_variables && strstr(zone->param->strs[0], "${") != NULL) &&
	    parse_zone(zone->param->strs[0], &off) < 0) {
		str_printfa(error_r, "%s: invalid time zone '%s'", node->name, zone->param->strs[0]);
		return -1;
	}
	if (!(script->uses_variables && strstr(part, "${") != NULL) && !is_date_part(part)) {
		str_printfa(error_r, "%s: unknown date part '%s'", node->name, part);
		return -1;
	}
	if (sieve_node_tag(node, "last") != NULL && sieve_node_tag(node, "index") == NULL) {
		str_printfa(error_r, "%s: :last needs :index", node->name);
		return -1;
	}
	return 0;
}

/* Applies :index N [:last] (RFC 5260 6) to the values of one header
 * field name: keeps only the Nth (from the end with :last); returns the
 * new count. */
size_t sieve_index_select(const struct sieve_node *node, const char **values, size_t count)
{
	const struct sieve_tagval *idx = sieve_node_tag(node, "index");

	if (idx == NULL)
		return count;
	uint64_t n = idx->param->number;
	if (n == 0 || n > count)
		return 0;
	size_t pos = sieve_node_tag(node, "last") != NULL ? count - (size_t)n : (size_t)n - 1;
	values[0] = values[pos];
	return 1;
}

static int zone_of(struct sieve_interp *interp, const struct sieve_node *node, time_t t,
		   int *off_r)
{
	const struct sieve_tagval *zone = sieve_node_tag(node, "zone");

	if (zone == NULL) {
		*off_r = local_offset(t);
		return 0;
	}
	const char *z = sieve_interp_str(interp, zone->param->strs[0]);
	if (parse_zone(z, off_r) < 0)
		return sieve_interp_fail(interp, "%s: invalid time zone '%s'", node->name, z);
	return 0;
}

/* date [":zone" <time-zone: string> / ":originalzone"] [COMPARATOR]
 *      [MATCH-TYPE] <header-name: string> <date-part: string>
 *      <key-list: string-list> */
static int exec_date(struct sieve_interp *interp, const struct sieve_node *node)
{
	const char *name = sieve_interp_str(interp, node->pos[0]->strs[0]);
	const char *part = sieve_interp_str(interp, node->pos[1]->strs[0]);
	const char **raw;
	size_t n = sieve_interp_header_raw(interp, name, &raw);
	const char **vals = p_malloc(interp->pool, sizeof(*vals) * (n + 1));
	size_t count = 0;

	n = sieve_index_select(node, raw, n);
	for (size_t i = 0; i < n; i++) {
		const char *v = raw[i];
		/* RFC 5260 4: in Received, the date follows the last ";" */
		if (str_eq_icase(name, "received")) {
			const char *semi = strrchr(v, ';');
			if (semi == NULL)
				continue;
			v = semi + 1;
		}
		time_t t;
		int orig_off, off;
		if (mime_date_parse(v, &t, &orig_off) < 0)
			continue;
		if (sieve_node_tag(node, "originalzone") != NULL)
			off = orig_off;
		else if (zone_of(interp, node, t, &off) < 0)
			return -1;
		const char *s = date_part(interp->pool, part, t, off);
		if (s != NULL)
			vals[count++] = s;
	}
	return sieve_interp_match(interp, node, vals, NULL, count, node->pos[2]);
}

/* currentdate [":zone" <time-zone: string>] [COMPARATOR] [MATCH-TYPE]
 *             <date-part: string> <key-list: string-list> */
static int exec_currentdate(struct sieve_interp *interp, const struct sieve_node *node)
{
	const char *part = sieve_interp_str(interp, node->pos[0]->strs[0]);
	time_t t = interp->msg->received != 0 ? interp->msg->received : time(NULL);
	int off;

	if (zone_of(interp, node, t, &off) < 0)
		return -1;
	const char *s = date_part(interp->pool, part, t, off);
	return sieve_interp_match(interp, node, &s, NULL, s != NULL ? 1 : 0, node->pos[1]);
}

static const struct sieve_tag_def date_tags[] = {
	{ .name = "zone", .param = SIEVE_P_STRING, .exclusive = 1 },
	{ .name = "originalzone", .param = SIEVE_P_NONE, .exclusive = 1 },
	{ .name = "index", .param = SIEVE_P_NUMBER, .ext = "index" },
	{ .name = "last", .param = SIEVE_P_NONE, .ext = "index" },
	{ .name = NULL },
};

static const struct sieve_tag_def currentdate_tags[] = {
	{ .name = "zone", .param = SIEVE_P_STRING, .exclusive = 1 },
	{ .name = NULL },
};

static const struct sieve_cmd_def date_cmds[] = {
	{ "date", "date", SIEVE_CMD_TEST | SIEVE_CMD_MATCH, "ssl", date_tags, validate_date, exec_date },
	{ "currentdate", "date", SIEVE_CMD_TEST | SIEVE_CMD_MATCH, "sl", currentdate_tags,
	  validate_date, exec_currentdate },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_date = {
	"date", date_cmds, NULL, true,
};

const struct sieve_extension sieve_ext_index = {
	"index", NULL, NULL, true,
};
