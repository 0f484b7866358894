/* mailbox-name.c: mailbox names between the client's form and the store's.
 *
 * The client speaks modified UTF-7 (RFC 9051 appendix A.1, IMAP4rev1) or,
 * after ENABLE IMAP4rev2 / UTF8=ACCEPT, UTF-8; the store speaks UTF-8 in
 * Unicode NFC with '/' between levels and "INBOX" spelt in capitals.  Every
 * name a client sends passes through imap_mailbox_from_client(), which is
 * the one place that decides what a valid name is; this module must never
 * hand the store a name it has not checked. */
#include "mailbox-name.h"
#include "syntax/imap-parser.h"
#include "syntax/imap-quote.h"
#include "syntax/mutf7.h"
#include "syntax/imap-arg.h"
#include "base/pool.h"
#include "base/str.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uninorm.h>
#include <unistr.h>

bool imap_mailbox_is_utf8(const struct imap_session *s)
{
	return s->utf8_accept || s->rev2;
}

const char *imap_mailbox_arg(const struct imap_arg *arg)
{
	const char *name;
	return imap_arg_get_astring(arg, &name, NULL) ? name : NULL;
}

static bool has_8bit(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			return true;
	}
	return false;
}

/* Decodes the client's form into UTF-8 in NFC, refusing invalid encodings
 * and control characters (C0, DEL, C1).  NULL on error. */
static const char *mailbox_decode(struct imap_session *s, struct pool *pool,
				  const char *name)
{
	struct str utf8 = STR_INIT;
	const char *src = name;
	if (!imap_mailbox_is_utf8(s)) {
		/* 8-bit bytes are not modified UTF-7 and a rev1 client has no
		 * other way to send them */
		if (has_8bit(name) || mutf7_decode(name, &utf8) < 0) {
			str_free(&utf8);
			return NULL;
		}
		src = str_c(&utf8);
	}
	size_t len = strlen(src);
	const uint8_t *u = (const uint8_t *)src;
	if (u8_check(u, len) != NULL) {
		str_free(&utf8);
		return NULL;
	}
	for (size_t i = 0; i < len;) {
		ucs4_t uc;
		int n = u8_mbtouc(&uc, u + i, len - i);
		if (uc < 0x20 || (uc >= 0x7f && uc < 0xa0)) {
			str_free(&utf8);
			return NULL;
		}
		i += n;
	}
	const char *result;
	if (!has_8bit(src)) {
		result = p_strdup(pool, src);
	} else {
		/* Net-Unicode (RFC 5198) wants NFC: a name typed decomposed
		 * must open the same mailbox as the composed one */
		size_t nlen = 0;
		uint8_t *nfc = u8_normalize(UNINORM_NFC, u, len, NULL, &nlen);
		if (nfc == NULL) {
			str_free(&utf8);
			return NULL;
		}
		result = p_strndup(pool, nfc, nlen);
		free(nfc);
	}
	str_free(&utf8);
	return result;
}

/* "inbox", "Inbox/Sub", ... -> "INBOX", "INBOX/Sub" (in place). */
static void mailbox_fix_inbox(char *name)
{
	if (strncasecmp(name, "INBOX", 5) == 0 &&
	    (name[5] == '\0' || name[5] == IMAP_MAILBOX_SEPARATOR))
		memcpy(name, "INBOX", 5);
}

/* A name the store may see: 1..255 bytes, at most 16 levels, no empty,
 * "." or ".." level. */
static bool mailbox_is_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > IMAP_MAILBOX_MAX_LENGTH)
		return false;
	unsigned int levels = 0;
	const char *p = name;
	for (;;) {
		const char *end = strchr(p, IMAP_MAILBOX_SEPARATOR);
		size_t n = end == NULL ? strlen(p) : (size_t)(end - p);
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (++levels > IMAP_MAILBOX_MAX_LEVELS)
			return false;
		if (end == NULL)
			return true;
		p = end + 1;
	}
}

const char *imap_mailbox_from_client(struct imap_session *s, struct pool *pool,
				     const char *name)
{
	if (name == NULL)
		return NULL;
	char *result = (char *)mailbox_decode(s, pool, name);
	if (result == NULL)
		return NULL;
	mailbox_fix_inbox(result);
	return mailbox_is_valid(result) ? result : NULL;
}

const char *imap_mailbox_to_client(struct imap_session *s, struct pool *pool,
				   const char *name)
{
	if (imap_mailbox_is_utf8(s) ||
	    (!has_8bit(name) && strchr(name, '&') == NULL))
		return p_strdup(pool, name);
	struct str out = STR_INIT;
	if (mutf7_encode(name, &out) < 0) {
		str_free(&out);
		return NULL;
	}
	const char *result = p_strdup(pool, str_c(&out));
	str_free(&out);
	return result;
}

const char *imap_mailbox_pattern_from_client(struct imap_session *s,
					     struct pool *pool,
					     const char *pattern)
{
	char *result = (char *)mailbox_decode(s, pool, pattern);
	if (result != NULL)
		mailbox_fix_inbox(result);
	return result;
}

void imap_mailbox_write(struct imap_session *s, struct pool *pool,
			struct str *dest, const char *name)
{
	const char *client = imap_mailbox_to_client(s, pool, name);
	/* a store name that cannot be converted is still sent, as a
	 * literal if need be, rather than dropped */
	imap_quote_astring_c(dest, client != NULL ? client : name,
			     imap_mailbox_is_utf8(s) ? IMAP_QUOTE_FLAG_UTF8 : 0);
}
