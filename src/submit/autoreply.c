/* autoreply.c: when an automatic reply may be sent (RFC 3834 2, RFC 5230
 * 4.5 and 4.6) and redirect's loop protection.  Reads header bytes and
 * addresses only; decides, never sends. */
#include "submit/submit.h"
#include "base/pool.h"
#include "mime/address.h"
#include "mime/header.h"

#include <string.h>
#include <strings.h>

/* Local parts that automated systems send from (RFC 5230 4.6: "MUST
 * have a list of addresses that vacation MUST NOT send mail to"; RFC
 * 3834 2: "owner-*", "*-request", "MAILER-DAEMON").  POSTMASTER is left
 * out on purpose: RFC 5230 4.6 notes that people read it. */
static const char *const system_local_parts[] = {
	"mailer-daemon", "listserv", "majordomo",
};

/* RFC 2919 and RFC 2369 list fields (RFC 5230 4.6: SHOULD NOT respond) */
static const char *const list_fields[] = {
	"List-Id", "List-Help", "List-Subscribe", "List-Unsubscribe",
	"List-Post", "List-Owner", "List-Archive",
};

static bool is_system_sender(const char *sender)
{
	const char *at = strrchr(sender, '@');
	size_t len = at != NULL ? (size_t)(at - sender) : strlen(sender);

	for (size_t i = 0; i < N_ELEMENTS(system_local_parts); i++) {
		if (strlen(system_local_parts[i]) == len &&
		    strncasecmp(sender, system_local_parts[i], len) == 0)
			return true;
	}
	return (len >= 6 && strncasecmp(sender, "owner-", 6) == 0) ||
		(len >= 8 && strncasecmp(sender + len - 8, "-request", 8) == 0);
}

static bool is_user_addr(const char *addr, const char *const *user_addrs, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (strcasecmp(addr, user_addrs[i]) == 0)
			return true;
	}
	return false;
}

/* Whether an address of the field value (an address-list) is one of
 * addrs. */
static bool field_names_addr(struct pool *pool, const char *value,
			     const char *const *addrs, size_t count)
{
	for (const struct mime_address *a = mime_address_parse(pool, value); a != NULL;
	     a = a->next) {
		if (a->mailbox == NULL || a->domain == NULL)
			continue;
		char *addr = a->domain[0] == '\0' ? p_strdup(pool, a->mailbox) :
			p_strdup_printf(pool, "%s@%s", a->mailbox, a->domain);
		if (is_user_addr(addr, addrs, count))
			return true;
	}
	return false;
}

/* Whether the comma-separated list names one of the words (X-Auto-
 * Response-Suppress: "All, OOF"). */
static bool list_has_word(const char *value, const char *const *words, size_t count)
{
	const char *p = value;

	while (*p != '\0') {
		size_t len;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		len = strcspn(p, ", \t");
		for (size_t i = 0; i < count && len > 0; i++) {
			if (strlen(words[i]) == len && strncasecmp(p, words[i], len) == 0)
				return true;
		}
		p += len;
	}
	return false;
}

static bool header_refuses(struct pool *pool, const void *header, size_t len,
			   const char *const *user_addrs, size_t user_addr_count,
			   const char **reason_r)
{
	static const char *const suppress_words[] = { "All", "OOF", "AutoReply" };
	struct submit_header_iter iter;
	struct str value = STR_INIT;
	const char *name;
	size_t name_len;
	bool refused = false;

	submit_header_init(&iter, header, len);
	while (!refused && submit_header_next(&iter, &name, &name_len, &value) > 0) {
		char *field = p_strndup(pool, name, name_len);
		const char *v = str_c(&value);

		if (strcasecmp(field, "Auto-Submitted") == 0) {
			/* auto-submitted = ("no" / "auto-generated" /
			 *   "auto-replied" / extension) opt-parameter-list
			 * (RFC 3834 5.1) */
			const char *token = mime_header_parse_token(pool, v);
			if (token != NULL && strcasecmp(token, "no") != 0) {
				*reason_r = "the message is Auto-Submitted (RFC 3834)";
				refused = true;
			}
		} else if (strcasecmp(field, "Precedence") == 0) {
			const char *token = mime_header_parse_token(pool, v);
			if (token != NULL && (strcasecmp(token, "bulk") == 0 ||
					      strcasecmp(token, "list") == 0 ||
					      strcasecmp(token, "junk") == 0)) {
				*reason_r = "the message has Precedence bulk, list or junk";
				refused = true;
			}
		} else if (strcasecmp(field, "X-Auto-Response-Suppress") == 0) {
			if (list_has_word(v, suppress_words, N_ELEMENTS(suppress_words))) {
				*reason_r = "the message's X-Auto-Response-Suppress refuses replies";
				refused = true;
			}
		} else if (strcasecmp(field, "X-Loop") == 0) {
			if (field_names_addr(pool, v, user_addrs, user_addr_count)) {
				*reason_r = "the message's X-Loop names the user (a loop)";
				refused = true;
			}
		} else {
			for (size_t i = 0; i < N_ELEMENTS(list_fields); i++) {
				if (strcasecmp(field, list_fields[i]) == 0) {
					*reason_r = "the message comes from a mailing list (List-* field)";
					refused = true;
					break;
				}
			}
		}
	}
	str_free(&value);
	return refused;
}

bool submit_autoreply_is_allowed(const void *header, size_t len, const char *sender,
				 const char *const *user_addrs, size_t user_addr_count,
				 const char **reason_r)
{
	struct pool *pool;
	bool refused;

	/* RFC 3834 2: "Responders MUST NOT generate any response for which
	 * the destination of that response would be a null address" */
	if (sender == NULL || sender[0] == '\0') {
		*reason_r = "the envelope sender is <>";
		return false;
	}
	if (is_system_sender(sender)) {
		*reason_r = "the envelope sender is a system or list address "
			"(MAILER-DAEMON, LISTSERV, majordomo, owner-*, *-request)";
		return false;
	}
	if (is_user_addr(sender, user_addrs, user_addr_count)) {
		*reason_r = "the envelope sender is the user's own address";
		return false;
	}
	pool = pool_create(1024);
	refused = header_refuses(pool, header, len, user_addrs, user_addr_count, reason_r);
	pool_destroy(&pool);
	return !refused;
}

/* Whether a field named one of names[0..name_count) names one of
 * addrs[0..addr_count). */
static bool fields_name_addr(const void *header, size_t len, const char *const *names,
			     size_t name_count, const char *const *addrs, size_t addr_count)
{
	struct submit_header_iter iter;
	struct str value = STR_INIT;
	struct pool *pool = pool_create(1024);
	const char *name;
	size_t name_len;
	bool found = false;

	submit_header_init(&iter, header, len);
	while (!found && submit_header_next(&iter, &name, &name_len, &value) > 0) {
		for (size_t i = 0; i < name_count; i++) {
			if (strlen(names[i]) == name_len &&
			    strncasecmp(name, names[i], name_len) == 0) {
				found = field_names_addr(pool, str_c(&value), addrs, addr_count);
				break;
			}
		}
	}
	str_free(&value);
	pool_destroy(&pool);
	return found;
}

bool submit_autoreply_is_addressed(const void *header, size_t len,
				   const char *const *addrs, size_t count)
{
	static const char *const fields[] = {
		"To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc",
	};

	return fields_name_addr(header, len, fields, N_ELEMENTS(fields), addrs, count);
}

bool submit_redirect_is_loop(const void *header, size_t len,
			     const char *const *user_addrs, size_t user_addr_count)
{
	static const char *const fields[] = { SUBMIT_REDIRECT_FIELD };

	return fields_name_addr(header, len, fields, 1, user_addrs, user_addr_count);
}
