/* import-source.c: the parsers of import-source.h.  They work on bytes
 * in memory and never look at files or the store; a format they cannot
 * read is an error or a counted line, never a crash. */
#include "import-source.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

/* ---- mbox ---- */

void import_mbox_init(struct import_mbox *mbox, const void *data, size_t size)
{
	mbox->data = data;
	mbox->size = size;
	mbox->pos = 0;
}

static const char *const months[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};
static const char *const weekdays[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

struct token {
	const char *s;
	size_t len;
};

static bool token_is(const struct token *t, const char *word)
{
	return t->len == strlen(word) && strncasecmp(t->s, word, t->len) == 0;
}

/* A number of 1 to max_digits digits in [min, max]. */
static bool token_number(const char *s, size_t len, size_t max_digits, long min, long max,
			 long *num_r)
{
	long num = 0;

	if (len == 0 || len > max_digits)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		num = num * 10 + (s[i] - '0');
	}
	if (num < min || num > max)
		return false;
	*num_r = num;
	return true;
}

/* "+hhmm" / "-hhmm" into minutes east of UTC, or a zone name (UTC, GMT,
 * anything alphabetic up to 5 letters: taken as UTC, as RFC 5322 4.3
 * does with names it does not know). */
static bool token_zone(const struct token *t, int *minutes_r)
{
	long hh, mm;

	if (t->len == 5 && (t->s[0] == '+' || t->s[0] == '-') &&
	    token_number(t->s + 1, 2, 2, 0, 23, &hh) && token_number(t->s + 3, 2, 2, 0, 59, &mm)) {
		*minutes_r = (int)(hh * 60 + mm) * (t->s[0] == '-' ? -1 : 1);
		return true;
	}
	if (t->len == 0 || t->len > 5)
		return false;
	for (size_t i = 0; i < t->len; i++) {
		if (!((t->s[i] >= 'A' && t->s[i] <= 'Z') || (t->s[i] >= 'a' && t->s[i] <= 'z')))
			return false;
	}
	*minutes_r = 0;
	return true;
}

/* From_ line (after "From "):
 *   sender SP [weekday SP] month SP day SP hh:mm[:ss] SP [zone SP] year [SP zone] ...
 * (asctime()'s form, with the zones some writers add). */
int import_mbox_from_date(const char *line, size_t line_len, time_t *date_r)
{
	struct token t[8];
	size_t n = 0, i = 0;

	while (line_len > 0 && (line[line_len - 1] == '\r' || line[line_len - 1] == '\n'))
		line_len--;
	while (i < line_len && n < N_ELEMENTS(t)) {
		while (i < line_len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == line_len)
			break;
		t[n].s = line + i;
		while (i < line_len && line[i] != ' ' && line[i] != '\t')
			i++;
		t[n].len = (size_t)(line + i - t[n].s);
		n++;
	}
	/* t[0] is the sender */
	size_t k = 1;
	if (k < n) {
		for (size_t d = 0; d < 7; d++) {
			if (token_is(&t[k], weekdays[d])) {
				k++;
				break;
			}
		}
	}
	if (k + 4 > n)
		return -1;
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	tm.tm_mon = -1;
	for (int m = 0; m < 12; m++) {
		if (token_is(&t[k], months[m]))
			tm.tm_mon = m;
	}
	long day, hh, mm, ss = 0, year;
	if (tm.tm_mon < 0 || !token_number(t[k + 1].s, t[k + 1].len, 2, 1, 31, &day))
		return -1;
	const struct token *tt = &t[k + 2];
	if (!(tt->len == 5 || tt->len == 8) || tt->s[2] != ':' ||
	    !token_number(tt->s, 2, 2, 0, 23, &hh) || !token_number(tt->s + 3, 2, 2, 0, 59, &mm))
		return -1;
	if (tt->len == 8 && (tt->s[5] != ':' || !token_number(tt->s + 6, 2, 2, 0, 60, &ss)))
		return -1;
	int zone = 0;
	k += 3;
	if (!token_number(t[k].s, t[k].len, 4, 1900, 9999, &year)) {
		if (!token_zone(&t[k], &zone) || k + 1 >= n ||
		    !token_number(t[k + 1].s, t[k + 1].len, 4, 1900, 9999, &year))
			return -1;
		k++;
	} else if (k + 1 < n) {
		/* a zone after the year, or "remote from ..." (ignored) */
		(void)token_zone(&t[k + 1], &zone);
	}
	tm.tm_mday = (int)day;
	tm.tm_hour = (int)hh;
	tm.tm_min = (int)mm;
	tm.tm_sec = (int)ss;
	tm.tm_year = (int)(year - 1900);
	time_t date = timegm(&tm);
	if (date == (time_t)-1)
		return -1;
	*date_r = date - (time_t)zone * 60;
	return 0;
}

/* Whether the line at p (up to end) is a From_ line: "From " and a date. */
static bool is_from_line(const char *p, const char *end, time_t *date_r)
{
	if (end - p < 5 || memcmp(p, "From ", 5) != 0)
		return false;
	const char *eol = memchr(p, '\n', (size_t)(end - p));
	if (eol == NULL)
		eol = end;
	return import_mbox_from_date(p + 5, (size_t)(eol - p - 5), date_r) == 0;
}

int import_mbox_next(struct import_mbox *mbox, struct import_mbox_msg *msg_r,
		     const char **error_r)
{
	if (mbox->pos == mbox->size)
		return 0;

	const char *data = mbox->data, *end = data + mbox->size;
	const char *p = data + mbox->pos;

	if (end - p < 5 || memcmp(p, "From ", 5) != 0) {
		/* only at the start: later messages end at From_ lines */
		*error_r = "not an mbox file: it does not start with a \"From \" line";
		return -1;
	}
	memset(msg_r, 0, sizeof(*msg_r));
	msg_r->offset = mbox->pos;
	msg_r->has_date = is_from_line(p, end, &msg_r->date);
	const char *eol = memchr(p, '\n', (size_t)(end - p));
	if (eol == NULL) {
		/* a From_ line and nothing else, without its line end */
		msg_r->text = end;
		msg_r->truncated = true;
		mbox->pos = mbox->size;
		return 1;
	}
	const char *text = eol + 1, *q = text;
	time_t date;
	for (;;) {
		/* the next line that starts with "From " */
		if (q < end && !(end - q >= 5 && memcmp(q, "From ", 5) == 0)) {
			const char *hit = memmem(q, (size_t)(end - q), "\nFrom ", 6);
			q = hit == NULL ? end : hit + 1;
		}
		if (q == end || is_from_line(q, end, &date))
			break;
		q += 5;
	}
	size_t len = (size_t)(q - text);
	msg_r->truncated = q == end && (len == 0 || text[len - 1] != '\n');
	/* the empty line that separates messages is the mbox's */
	if (len >= 2 && text[len - 1] == '\n' && text[len - 2] == '\n')
		len--;
	else if (len >= 4 && memcmp(text + len - 4, "\r\n\r\n", 4) == 0)
		len -= 2;
	msg_r->text = text;
	msg_r->text_len = len;
	mbox->pos = (size_t)(q - data);
	return 1;
}

bool import_keyword_is_valid(const char *name, size_t len)
{
	if (len == 0 || len > 255 || name[0] == '\\')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		/* atom-specials (RFC 9051 9), and ']' (resp-specials) */
		if (c <= ' ' || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

/* The hidden header fields of Dovecot's mbox (mbox_hide_headers). */
enum hidden_field {
	HIDDEN_NONE, HIDDEN_STATUS, HIDDEN_X_STATUS, HIDDEN_X_KEYWORDS, HIDDEN_OTHER,
};

static enum hidden_field hidden_field_of(const char *line, size_t len)
{
	static const struct {
		const char *name;
		enum hidden_field field;
	} fields[] = {
		{ "status", HIDDEN_STATUS }, { "x-status", HIDDEN_X_STATUS },
		{ "x-keywords", HIDDEN_X_KEYWORDS }, { "x-uid", HIDDEN_OTHER },
		{ "x-imap", HIDDEN_OTHER }, { "x-imapbase", HIDDEN_OTHER },
		{ "content-length", HIDDEN_OTHER },
	};
	const char *colon = memchr(line, ':', len);
	size_t name_len;

	if (colon == NULL)
		return HIDDEN_NONE;
	name_len = (size_t)(colon - line);
	while (name_len > 0 && (line[name_len - 1] == ' ' || line[name_len - 1] == '\t'))
		name_len--;
	for (size_t i = 0; i < N_ELEMENTS(fields); i++) {
		if (strlen(fields[i].name) == name_len &&
		    strncasecmp(fields[i].name, line, name_len) == 0)
			return fields[i].field;
	}
	return HIDDEN_NONE;
}

/* One line of a hidden field: the first (after its colon) or a
 * continuation line (all of it). */
static void meta_add_field(struct import_meta *meta, enum hidden_field field,
			   const char *line, size_t len, bool continuation)
{
	const char *start = continuation ? line : (const char *)memchr(line, ':', len) + 1;
	const char *v = start, *end = line + len;

	for (; v < end; v++) {
		if (field == HIDDEN_STATUS && *v == 'R')
			meta->flags |= STORE_FLAG_SEEN;
		if (field != HIDDEN_X_STATUS)
			continue;
		switch (*v) {
		case 'A': meta->flags |= STORE_FLAG_ANSWERED; break;
		case 'F': meta->flags |= STORE_FLAG_FLAGGED; break;
		case 'T': meta->flags |= STORE_FLAG_DRAFT; break;
		case 'D': meta->flags |= STORE_FLAG_DELETED; break;
		default: break;
		}
	}
	if (field != HIDDEN_X_KEYWORDS)
		return;
	v = start;
	while (v < end) {
		while (v < end && strchr(" \t\r\n,", *v) != NULL)
			v++;
		const char *w = v;
		while (v < end && strchr(" \t\r\n,", *v) == NULL)
			v++;
		if (v == w)
			continue;
		if (!import_keyword_is_valid(w, (size_t)(v - w))) {
			meta->bad_keywords++;
			continue;
		}
		str_append_n(&meta->keywords, w, (size_t)(v - w));
		str_append_c(&meta->keywords, '\0');
		meta->keyword_count++;
	}
}

/* Appends the line [s, s + len) (with its LF, if any) with a CRLF end. */
static void append_crlf_line(struct str *out, const char *s, size_t len)
{
	if (len > 0 && s[len - 1] == '\n' && (len < 2 || s[len - 2] != '\r')) {
		char *dst = str_append_space(out, len + 1);

		memcpy(dst, s, len - 1);
		dst[len - 1] = '\r';
		dst[len] = '\n';
	} else {
		str_append_n(out, s, len);
	}
}

void import_message_convert(const char *text, size_t len, bool mbox,
			    enum import_mbox_format format, struct str *out,
			    struct import_meta *meta)
{
	const char *p = text, *end = text + len;
	bool in_header = true;
	enum hidden_field field = HIDDEN_NONE;

	if (meta != NULL) {
		meta->flags = 0;
		str_truncate(&meta->keywords, 0);
		meta->keyword_count = 0;
		meta->bad_keywords = 0;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t line_len = nl == NULL ? (size_t)(end - p) : (size_t)(nl - p + 1);
		const char *line = p;

		p += line_len;
		if (mbox) {
			/* >From unquoting: mboxrd any number of '>', mboxo one */
			size_t gt = 0;
			while (gt < line_len && line[gt] == '>')
				gt++;
			if (gt > 0 && (gt == 1 || format == IMPORT_MBOX_RD) &&
			    line_len - gt >= 5 && memcmp(line + gt, "From ", 5) == 0) {
				line++;
				line_len--;
			}
		}
		if (in_header) {
			bool blank = line_len == 0 || line[0] == '\n' ||
				(line[0] == '\r' && line_len >= 2 && line[1] == '\n');
			bool continuation = !blank && (line[0] == ' ' || line[0] == '\t');

			if (blank) {
				in_header = false;
				field = HIDDEN_NONE;
			} else if (mbox && !continuation) {
				field = hidden_field_of(line, line_len);
			}
			if (field != HIDDEN_NONE) {
				if (meta != NULL)
					meta_add_field(meta, field, line, line_len, continuation);
				continue;
			}
		}
		append_crlf_line(out, line, line_len);
	}
}

/* ---- Maildir ---- */

void import_maildir_name_parse(const char *name, struct import_maildir_name *name_r)
{
	const char *colon = strchr(name, ':');

	memset(name_r, 0, sizeof(*name_r));
	name_r->unique_len = colon == NULL ? strlen(name) : (size_t)(colon - name);
	if (colon == NULL || strncmp(colon, ":2,", 3) != 0)
		return;
	name_r->has_info = true;
	for (const char *f = colon + 3; *f != '\0'; f++) {
		switch (*f) {
		case 'D': name_r->flags |= STORE_FLAG_DRAFT; break;
		case 'F': name_r->flags |= STORE_FLAG_FLAGGED; break;
		case 'R': name_r->flags |= STORE_FLAG_ANSWERED; break;
		case 'S': name_r->flags |= STORE_FLAG_SEEN; break;
		case 'T': name_r->flags |= STORE_FLAG_DELETED; break;
		case 'P': break;	/* passed (resent): no IMAP flag */
		default:
			if (*f >= 'a' && *f <= 'z')
				name_r->keyword_letters |= 1u << (*f - 'a');
			else
				name_r->bad_flags++;
			break;
		}
	}
}

/* The next line of [*p, end) without its line end; false at the end. */
static bool next_line(const char **p, const char *end, const char **line_r, size_t *len_r)
{
	if (*p >= end)
		return false;
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	const char *stop = nl == NULL ? end : nl;

	*line_r = *p;
	*len_r = (size_t)(stop - *p);
	if (*len_r > 0 && (*line_r)[*len_r - 1] == '\r')
		(*len_r)--;
	*p = nl == NULL ? end : nl + 1;
	return true;
}

/* A decimal number at *s (up to end) in [1, UINT32_MAX]; *s moves past it. */
static bool parse_u32(const char **s, const char *end, uint32_t *num_r)
{
	uint64_t num = 0;
	const char *p = *s;

	while (p < end && *p >= '0' && *p <= '9' && num <= UINT32_MAX)
		num = num * 10 + (uint64_t)(*p++ - '0');
	if (p == *s || num == 0 || num > UINT32_MAX)
		return false;
	*s = p;
	*num_r = (uint32_t)num;
	return true;
}

/* The header line: "1 <uidvalidity> <nextuid>" or "3 V.. N.. G.. ..." */
static int uidlist_header(const char *line, size_t len, bool courier,
			  struct import_uidlist *list, int *version_r)
{
	const char *p = line + 2, *end = line + len;

	if (len < 2 || line[1] != ' ' || (line[0] != '1' && (courier || line[0] != '3')))
		return -1;
	*version_r = line[0] - '0';
	if (*version_r == 1) {
		if (!parse_u32(&p, end, &list->uidvalidity) || p == end || *p++ != ' ' ||
		    !parse_u32(&p, end, &list->uidnext))
			return -1;
		return 0;
	}
	while (p < end) {
		char key = *p++;
		const char *w = p;

		while (p < end && *p != ' ')
			p++;
		if (key == 'V' && (!parse_u32(&w, p, &list->uidvalidity) || w != p))
			return -1;
		if (key == 'N' && (!parse_u32(&w, p, &list->uidnext) || w != p))
			return -1;
		while (p < end && *p == ' ')
			p++;
	}
	return list->uidvalidity == 0 ? -1 : 0;
}

int import_uidlist_parse(const char *data, size_t size, bool courier,
			 struct import_uidlist *list_r, const char **error_r)
{
	const char *p = data, *end = data + size, *line;
	size_t len, cap = 0;
	int version;

	memset(list_r, 0, sizeof(*list_r));
	if (!next_line(&p, end, &line, &len) ||
	    uidlist_header(line, len, courier, list_r, &version) < 0) {
		memset(list_r, 0, sizeof(*list_r));
		*error_r = courier ? "not a courierimapuiddb of version 1" :
			"not a dovecot-uidlist of version 1 or 3";
		return -1;
	}
	uint32_t last = 0;
	while (next_line(&p, end, &line, &len)) {
		const char *s = line, *lend = line + len, *name;
		uint32_t uid;

		if (len == 0)
			continue;
		if (!parse_u32(&s, lend, &uid) || s == lend || *s != ' ' || uid <= last) {
			list_r->bad_lines++;
			continue;
		}
		if (version == 3) {
			/* extension fields, then " :" and the name */
			name = memmem(s, (size_t)(lend - s), " :", 2);
			if (name == NULL) {
				list_r->bad_lines++;
				continue;
			}
			name += 2;
		} else {
			name = s + 1;
		}
		const char *colon = memchr(name, ':', (size_t)(lend - name));
		size_t name_len = (size_t)((colon == NULL ? lend : colon) - name);
		if (name_len == 0 || memchr(name, '\0', name_len) != NULL ||
		    memchr(name, '/', name_len) != NULL) {
			list_r->bad_lines++;
			continue;
		}
		ARRAY_RESERVE(list_r->entries, cap, list_r->count + 1);
		list_r->entries[list_r->count].uid = uid;
		list_r->entries[list_r->count].unique = xstrndup(name, name_len);
		list_r->count++;
		last = uid;
	}
	return 0;
}

void import_uidlist_free(struct import_uidlist *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->entries[i].unique);
	free(list->entries);
	memset(list, 0, sizeof(*list));
}

static int entry_cmp(const void *a, const void *b)
{
	const struct import_uidlist_entry *x = a, *y = b;

	return strcmp(x->unique, y->unique);
}

void import_uidlist_sort(struct import_uidlist *list)
{
	if (list->count > 0)
		qsort(list->entries, list->count, sizeof(list->entries[0]), entry_cmp);
}

uint32_t import_uidlist_lookup(const struct import_uidlist *list, const char *unique,
			       size_t unique_len)
{
	size_t lo = 0, hi = list->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *u = list->entries[mid].unique;
		int cmp = strncmp(u, unique, unique_len);

		if (cmp == 0 && u[unique_len] != '\0')
			cmp = 1;
		if (cmp == 0)
			return list->entries[mid].uid;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

void import_keywords_parse(const char *data, size_t size, char *names[26], size_t *bad_r)
{
	const char *p = data, *end = data + size, *line;
	size_t len;

	memset(names, 0, 26 * sizeof(names[0]));
	*bad_r = 0;
	while (next_line(&p, end, &line, &len)) {
		const char *s = line, *lend = line + len;
		uint64_t idx = 0;

		if (len == 0)
			continue;
		while (s < lend && *s >= '0' && *s <= '9' && idx < 100)
			idx = idx * 10 + (uint64_t)(*s++ - '0');
		if (s == line || s == lend || *s != ' ' || idx >= 26 ||
		    !import_keyword_is_valid(s + 1, (size_t)(lend - s - 1)) ||
		    names[idx] != NULL) {
			(*bad_r)++;
			continue;
		}
		names[idx] = xstrndup(s + 1, (size_t)(lend - s - 1));
	}
}

void import_keywords_free(char *names[26])
{
	for (size_t i = 0; i < 26; i++) {
		free(names[i]);
		names[i] = NULL;
	}
}
