/* capability.c: the CAPABILITY list, from the command table and the table
 * below (see capability.h).  It must never list a command's capability by
 * name: that is the command table's job. */
#include "capability.h"
#include "commands.h"
#include "auth/sasl.h"
#include "conf/conf.h"
#include "net/net.h"

#include <stdio.h>

/* What follows a capability name that ends in "=". */
enum imap_capability_value {
	IMAP_CAP_VALUE_NONE,
	/* one "AUTH=<name>" for each SASL mechanism the connection may use
	 * (the plaintext ones only where imap_auth_plaintext_allowed()) */
	IMAP_CAP_VALUE_SASL_MECHS,
	/* the configured max_append_size (RFC 7889) */
	IMAP_CAP_VALUE_APPEND_LIMIT,
};

/* Capabilities that are not commands, in the order they are advertised. */
static const struct {
	const char *name;
	enum imap_capability_when when;
	enum imap_capability_value value;
} imap_capabilities[] = {
	{ "IMAP4rev1", IMAP_CAP_ALWAYS, 0 },
	/* ENABLE IMAP4rev2 switches the session to it (cmd-any.c) */
	{ "IMAP4rev2", IMAP_CAP_ALWAYS, 0 },
	{ "AUTH=", IMAP_CAP_NOT_AUTH, IMAP_CAP_VALUE_SASL_MECHS },
	{ "LOGINDISABLED", IMAP_CAP_PLAINTEXT_REFUSED, 0 },
	{ "SASL-IR", IMAP_CAP_NOT_AUTH, 0 },
	{ "LITERAL+", IMAP_CAP_ALWAYS, 0 },
	/* UID EXPUNGE, [APPENDUID] and [COPYUID] (RFC 4315) */
	{ "UIDPLUS", IMAP_CAP_ALWAYS, 0 },
	/* LIST and STATUS extensions (RFC 3348, 6154, 5258, 5819, 8438) */
	{ "CHILDREN", IMAP_CAP_ALWAYS, 0 },
	{ "SPECIAL-USE", IMAP_CAP_ALWAYS, 0 },
	{ "LIST-EXTENDED", IMAP_CAP_ALWAYS, 0 },
	{ "LIST-STATUS", IMAP_CAP_ALWAYS, 0 },
	{ "STATUS=SIZE", IMAP_CAP_ALWAYS, 0 },
	/* SEARCH extensions: SEARCHRES requires ESEARCH (RFC 5182 2.1),
	 * which cmd-search.c implements for both revisions; IMAP4rev2
	 * includes both, a rev1 client learns them here; WITHIN is RFC 5032 */
	{ "ESEARCH", IMAP_CAP_ALWAYS, 0 },
	{ "SEARCHRES", IMAP_CAP_ALWAYS, 0 },
	{ "WITHIN", IMAP_CAP_ALWAYS, 0 },
	/* SORT extensions (RFC 5957, RFC 5267 3.1) */
	{ "SORT=DISPLAY", IMAP_CAP_ALWAYS, 0 },
	{ "ESORT", IMAP_CAP_ALWAYS, 0 },
	/* IMAP4rev2 has the BINARY FETCH items but not literal8 in APPEND;
	 * a server with both lists BINARY (RFC 9051 appendix B) */
	{ "BINARY", IMAP_CAP_ALWAYS, 0 },
	{ "APPENDLIMIT=", IMAP_CAP_AUTHED, IMAP_CAP_VALUE_APPEND_LIMIT },
};

static bool imap_capability_shown(struct imap_session *s,
				  enum imap_capability_when when)
{
	bool not_auth = s->state == IMAP_STATE_NOT_AUTH;
	switch (when) {
	case IMAP_CAP_ALWAYS:
		return true;
	case IMAP_CAP_NOT_AUTH:
		return not_auth;
	case IMAP_CAP_AUTHED:
		return !not_auth;
	case IMAP_CAP_TLS_OFFERED:
		return not_auth && !net_conn_is_tls(s->conn) &&
			net_conn_can_starttls(s->conn);
	case IMAP_CAP_PLAINTEXT_REFUSED:
		return not_auth && !imap_auth_plaintext_allowed(s);
	}
	return false;
}

/* Appends one capability, after a space unless it is the first. */
static void imap_capability_append(struct str *dest, bool *first,
				   const char *name, const char *value)
{
	if (!*first)
		str_append_c(dest, ' ');
	*first = false;
	str_append(dest, name);
	str_append(dest, value);
}

void imap_capability_write(struct imap_session *s, struct str *dest)
{
	bool first = true;
	for (size_t i = 0; i < N_ELEMENTS(imap_capabilities); i++) {
		const char *name = imap_capabilities[i].name;
		if (!imap_capability_shown(s, imap_capabilities[i].when))
			continue;
		switch (imap_capabilities[i].value) {
		case IMAP_CAP_VALUE_NONE:
			imap_capability_append(dest, &first, name, "");
			break;
		case IMAP_CAP_VALUE_SASL_MECHS: {
			bool plaintext_ok = imap_auth_plaintext_allowed(s);
			const struct sasl_mech *mech;
			for (size_t m = 0; (mech = sasl_mech_at(m)) != NULL; m++) {
				if (!mech->is_plaintext || plaintext_ok)
					imap_capability_append(dest, &first, name, mech->name);
			}
			break;
		}
		case IMAP_CAP_VALUE_APPEND_LIMIT: {
			char limit[24];
			snprintf(limit, sizeof(limit), "%llu",
				 (unsigned long long)s->config->max_append_size);
			imap_capability_append(dest, &first, name, limit);
			break;
		}
		}
	}
	size_t count;
	const struct imap_command_def *commands = imap_command_table(&count);
	for (size_t i = 0; i < count; i++) {
		if (commands[i].capability != NULL &&
		    imap_capability_shown(s, commands[i].cap_when))
			imap_capability_append(dest, &first, commands[i].capability, "");
	}
}
