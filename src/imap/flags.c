/* flags.c: message flags and keywords between IMAP syntax and the store. */
#include "flags.h"
#include "syntax/imap-parser.h"
#include "syntax/imap-arg.h"
#include "session.h"
#include "base/pool.h"

#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	uint32_t flag;
} system_flags[] = {
	{ "\\Answered", STORE_FLAG_ANSWERED },
	{ "\\Flagged", STORE_FLAG_FLAGGED },
	{ "\\Deleted", STORE_FLAG_DELETED },
	{ "\\Seen", STORE_FLAG_SEEN },
	{ "\\Draft", STORE_FLAG_DRAFT },
};

void imap_flags_write(struct str *dest, struct store_mailbox *box,
		      const struct store_msg *msg, bool recent)
{
	size_t start = dest->len;
	for (size_t i = 0; i < N_ELEMENTS(system_flags); i++) {
		if ((msg->flags & system_flags[i].flag) != 0) {
			if (dest->len > start)
				str_append_c(dest, ' ');
			str_append(dest, system_flags[i].name);
		}
	}
	if (recent) {
		if (dest->len > start)
			str_append_c(dest, ' ');
		str_append(dest, "\\Recent");
	}
	if (msg->keywords == 0)
		return;
	size_t count;
	const char *const *names = store_mailbox_keywords(box, &count);
	for (size_t i = 0; i < count && i < 64; i++) {
		if ((msg->keywords & ((store_keywords_t)1 << i)) != 0) {
			if (dest->len > start)
				str_append_c(dest, ' ');
			str_append(dest, names[i]);
		}
	}
}

void imap_flags_write_flags_responses(struct imap_session *s)
{
	struct str line = STR_INIT;
	size_t count;
	const char *const *names = store_mailbox_keywords(s->box, &count);
	str_append(&line, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	for (size_t i = 0; i < count; i++)
		str_printfa(&line, " %s", names[i]);
	str_append(&line, ")");
	imap_session_write_line(s, &line);
	str_truncate(&line, 0);
	if (store_mailbox_is_readonly(s->box)) {
		str_append(&line, "* OK [PERMANENTFLAGS ()] Read-only mailbox.");
	} else {
		str_append(&line, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
		for (size_t i = 0; i < count; i++)
			str_printfa(&line, " %s", names[i]);
		if (count < STORE_MAX_KEYWORDS)
			str_append(&line, " \\*");
		str_append(&line, ")] Flags permitted.");
	}
	imap_session_write_line(s, &line);
	str_free(&line);
}

/* flag-keyword = "$MDNSent" / "$Forwarded" / ... / atom
 * atom = 1*ATOM-CHAR; ATOM-CHAR excludes atom-specials:
 * "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials */
bool imap_flags_is_keyword(const char *name)
{
	if (*name == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\]", *p) != NULL)
			return false;
	}
	return true;
}

static int imap_flags_parse_one(const struct imap_arg *arg, struct pool *pool,
				uint32_t *flags, const char **keywords, size_t *count,
				const char **error_r)
{
	const char *name;
	if (!imap_arg_get_atom(arg, &name)) {
		*error_r = "Flags must be atoms.";
		return -1;
	}
	if (name[0] == '\\') {
		for (size_t i = 0; i < N_ELEMENTS(system_flags); i++) {
			if (strcasecmp(name, system_flags[i].name) == 0) {
				*flags |= system_flags[i].flag;
				return 0;
			}
		}
		*error_r = strcasecmp(name, "\\Recent") == 0 ?
			"The \\Recent flag cannot be changed." : "Invalid system flag.";
		return -1;
	}
	if (!imap_flags_is_keyword(name)) {
		*error_r = "Invalid keyword.";
		return -1;
	}
	for (size_t i = 0; i < *count; i++) {
		if (strcasecmp(keywords[i], name) == 0)
			return 0;
	}
	keywords[(*count)++] = p_strdup(pool, name);
	return 0;
}

int imap_flags_parse(const struct imap_arg *flags, struct pool *pool,
		     uint32_t *flags_r, const char ***keywords_r,
		     size_t *keyword_count_r, const char **error_r)
{
	size_t n = 0;
	while (!imap_arg_is_eol(&flags[n]))
		n++;
	const char **keywords = p_malloc(pool, (n + 1) * sizeof(*keywords));
	size_t count = 0;
	*flags_r = 0;
	for (size_t i = 0; i < n; i++) {
		if (imap_flags_parse_one(&flags[i], pool, flags_r, keywords, &count,
					 error_r) < 0)
			return -1;
	}
	*keywords_r = keywords;
	*keyword_count_r = count;
	return 0;
}
