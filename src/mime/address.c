/* address.c: tolerant RFC 5322 address-list parsing.  See address.h. */
#include "mime/address.h"

#include <string.h>

#include "base/str.h"
#include "mime/header.h"
#include "mime/lex.h"

struct address_parser {
	struct pool *pool;
	const char *p;
	struct mime_address *head, **tail;
	unsigned int count;
};

static struct mime_address *add(struct address_parser *ap)
{
	struct mime_address *a = p_malloc(ap->pool, sizeof(*a));
	*ap->tail = a;
	ap->tail = &a->next;
	ap->count++;
	return a;
}

static const char *pstr(struct address_parser *ap, const struct str *s)
{
	return p_strndup(ap->pool, s->data == NULL ? "" : s->data, s->len);
}

/* phrase = 1*word / obs-phrase
 * obs-phrase = word *(word / "." / CFWS)
 * Reads words (atoms, quoted strings, dots) separated by single spaces
 * into dest; stops at any other special. */
static void parse_phrase(struct address_parser *ap, struct str *dest,
			 struct str *comment)
{
	for (;;) {
		mime_lex_skip_cfws(&ap->p, comment);
		const char *p = ap->p;
		size_t n;

		if (*p == '"') {
			if (dest->len > 0)
				str_append_c(dest, ' ');
			mime_lex_quoted_string(&ap->p, dest);
			continue;
		}
		n = mime_lex_span(p, "()<>[]:;@\\,\"");
		if (n == 0)
			break;
		if (dest->len > 0)
			str_append_c(dest, ' ');
		str_append_n(dest, p, n);
		ap->p += n;
	}
}

/* local-part = dot-atom / quoted-string / obs-local-part
 * Reads into dest; stops at "@", ">" or any other special. */
static void parse_local_part(struct address_parser *ap, struct str *dest)
{
	for (;;) {
		mime_lex_skip_cfws(&ap->p, NULL);
		if (*ap->p == '"') {
			mime_lex_quoted_string(&ap->p, dest);
			continue;
		}
		size_t n = mime_lex_span(ap->p, "()<>[]:;@\\,\"");
		if (n == 0)
			break;
		str_append_n(dest, ap->p, n);
		ap->p += n;
	}
}

/* domain = dot-atom / domain-literal / obs-domain
 * domain-literal = [CFWS] "[" *([FWS] dtext) [FWS] "]" [CFWS]
 * Only the comments after the domain's last word are added to comment
 * (the traditional "user@example.org (Name)"): CFWS inside an addr-spec
 * is not a display name (RFC 5322 3.2.2, 3.4.1), so the comments of
 * "user (c)@ (c) example.org" are dropped. */
static void parse_domain(struct address_parser *ap, struct str *dest,
			 struct str *comment)
{
	size_t comment_start = comment != NULL ? comment->len : 0;

	for (;;) {
		if (comment != NULL)
			str_truncate(comment, comment_start);
		mime_lex_skip_cfws(&ap->p, comment);
		if (*ap->p == '[') {
			const char *end = strchr(ap->p, ']');
			size_t n = end == NULL ? strlen(ap->p) :
				(size_t)(end - ap->p + 1);
			for (size_t i = 0; i < n; i++) {
				if (!mime_lex_is_space((unsigned char)ap->p[i]))
					str_append_c(dest, ap->p[i]);
			}
			ap->p += n;
			continue;
		}
		size_t n = mime_lex_span(ap->p, "()<>[]:;@\\,\"");
		if (n == 0)
			break;
		str_append_n(dest, ap->p, n);
		ap->p += n;
	}
}

/* addr-spec = local-part "@" domain */
static void parse_addr_spec(struct address_parser *ap, struct mime_address *a,
			    struct str *comment)
{
	struct str local = STR_INIT, domain = STR_INIT;

	parse_local_part(ap, &local);
	if (*ap->p == '@') {
		ap->p++;
		parse_domain(ap, &domain, comment);
		if (domain.len == 0)
			a->is_invalid = true;
	} else {
		a->is_invalid = true;
	}
	if (local.len == 0)
		a->is_invalid = true;
	a->mailbox = pstr(ap, &local);
	a->domain = pstr(ap, &domain);
	str_free(&local);
	str_free(&domain);
}

/* angle-addr = [CFWS] "<" [obs-route] addr-spec ">" [CFWS]
 * obs-route  = obs-domain-list ":"
 * obs-domain-list = *(CFWS / ",") "@" domain *("," [CFWS] ["@" domain])
 * *ap->p is at "<". */
static void parse_angle_addr(struct address_parser *ap, struct mime_address *a)
{
	ap->p++;
	mime_lex_skip_cfws(&ap->p, NULL);
	if (*ap->p == '@' || *ap->p == ',') {
		/* the route ends at ":"; stopping at "<" too keeps the
		 * scans of a run of broken "<@," linear */
		const char *colon = ap->p;
		while (*colon != '\0' && strchr(":<>;\"", *colon) == NULL)
			colon++;
		if (*colon == ':') {
			struct str route = STR_INIT;
			for (const char *q = ap->p; q < colon; q++) {
				if (!mime_lex_is_space((unsigned char)*q))
					str_append_c(&route, *q);
			}
			a->route = pstr(ap, &route);
			str_free(&route);
			ap->p = colon + 1;
		}
	}
	parse_addr_spec(ap, a, NULL);
	mime_lex_skip_cfws(&ap->p, NULL);
	if (*ap->p == '>') {
		ap->p++;
	} else {
		a->is_invalid = true;
		/* skip the rest of a broken angle-addr */
		while (*ap->p != '\0' && *ap->p != '>' && *ap->p != ',' &&
		       *ap->p != ';')
			ap->p++;
		if (*ap->p == '>')
			ap->p++;
	}
}

/* One mailbox or the start of a group.  Returns true when a group
 * started. */
static bool parse_address(struct address_parser *ap, bool in_group)
{
	const char *start = ap->p;
	struct str phrase = STR_INIT, comment = STR_INIT;
	bool group = false;

	parse_phrase(ap, &phrase, &comment);
	if (*ap->p == ':' && !in_group) {
		struct mime_address *a = add(ap);
		a->is_group_start = true;
		a->mailbox = pstr(ap, &phrase);
		ap->p++;
		group = true;
	} else if (*ap->p == '<') {
		struct mime_address *a = add(ap);
		if (phrase.len > 0)
			a->name = pstr(ap, &phrase);
		parse_angle_addr(ap, a);
		str_truncate(&comment, 0);
		mime_lex_skip_cfws(&ap->p, &comment);
		if (a->name == NULL && comment.len > 0)
			a->name = pstr(ap, &comment);
	} else {
		/* an addr-spec: read it again as one */
		struct mime_address *a = add(ap);
		ap->p = start;
		str_truncate(&comment, 0);
		parse_addr_spec(ap, a, &comment);
		mime_lex_skip_cfws(&ap->p, &comment);
		if (comment.len > 0)
			a->name = pstr(ap, &comment);
		if (ap->p == start)
			ap->p++;	/* a stray special: always progress */
	}
	str_free(&phrase);
	str_free(&comment);
	return group;
}

struct mime_address *mime_address_parse(struct pool *pool, const char *value)
{
	struct address_parser ap = { .pool = pool, .p = value };
	bool in_group = false;

	ap.tail = &ap.head;
	while (ap.count < MIME_ADDRESS_MAX_COUNT) {
		mime_lex_skip_cfws(&ap.p, NULL);
		char c = *ap.p;
		if (c == '\0')
			break;
		if (c == ',') {
			ap.p++;
			continue;
		}
		if (c == ';') {
			ap.p++;
			if (in_group) {
				add(&ap)->is_group_end = true;
				in_group = false;
			}
			continue;
		}
		const char *before = ap.p;
		struct mime_address **tail = ap.tail;
		if (parse_address(&ap, in_group))
			in_group = true;
		else if (*tail != NULL && (*tail)->mailbox != NULL &&
			 (*tail)->mailbox[0] == '\0' &&
			 ((*tail)->domain == NULL || (*tail)->domain[0] == '\0') &&
			 (*tail)->name == NULL && (*tail)->route == NULL) {
			/* nothing but stray bytes: drop the empty entry */
			*tail = NULL;
			ap.tail = tail;
			ap.count--;
		}
		if (ap.p == before)
			ap.p++;
	}
	if (in_group)
		add(&ap)->is_group_end = true;
	return ap.head;
}

void mime_address_write_normalised(const struct mime_address *list, struct str *dest)
{
	bool first_in_group = false;

	for (const struct mime_address *a = list; a != NULL; a = a->next) {
		if (a->is_group_end) {
			str_append_c(dest, ';');
			first_in_group = false;
			continue;
		}
		if (a != list && !first_in_group)
			str_append(dest, ", ");
		first_in_group = false;
		if (a->is_group_start) {
			mime_header_decode_utf8(a->mailbox, strlen(a->mailbox), dest);
			str_append(dest, ": ");
			first_in_group = true;
			continue;
		}
		bool named = a->name != NULL && a->name[0] != '\0';
		if (named) {
			mime_header_decode_utf8(a->name, strlen(a->name), dest);
			str_append(dest, " <");
		}
		str_append(dest, a->mailbox != NULL ? a->mailbox : "");
		if (a->domain != NULL && a->domain[0] != '\0') {
			str_append_c(dest, '@');
			str_append(dest, a->domain);
		}
		if (named)
			str_append_c(dest, '>');
	}
}
