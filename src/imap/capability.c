/* capability.c: the CAPABILITY list, from the command table and the table
 * below (see capability.h).  It must never list a command's capability by
 * name: that is the command table's job. */
#include "capability.h"
#include "commands.h"
#include "auth/auth.h"
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

/* The session's switch for an ENABLE-able capability (RFC 5161). */
typedef bool *imap_capability_switch_func(struct imap_session *s);

static bool *imap_capability_rev2(struct imap_session *s)
{
	return &s->rev2;
}

static bool *imap_capability_condstore(struct imap_session *s)
{
	return &s->condstore;
}

static bool *imap_capability_qresync(struct imap_session *s)
{
	return &s->qresync;
}

static bool *imap_capability_uidonly(struct imap_session *s)
{
	return &s->uidonly;
}

/* Capabilities that are not commands, in the order they are advertised;
 * `enable` for those that ENABLE turns on. */
static const struct {
	const char *name;
	enum imap_capability_when when;
	enum imap_capability_value value;
	imap_capability_switch_func *enable;
} imap_capabilities[] = {
	{ "IMAP4rev1", IMAP_CAP_ALWAYS, 0, NULL },
	{ "IMAP4rev2", IMAP_CAP_ALWAYS, 0, imap_capability_rev2 },
	{ "AUTH=", IMAP_CAP_NOT_AUTH, IMAP_CAP_VALUE_SASL_MECHS, NULL },
	{ "LOGINDISABLED", IMAP_CAP_PLAINTEXT_REFUSED, 0, NULL },
	{ "SASL-IR", IMAP_CAP_NOT_AUTH, 0, NULL },
	{ "LITERAL+", IMAP_CAP_ALWAYS, 0, NULL },
	/* UID EXPUNGE, [APPENDUID] and [COPYUID] (RFC 4315) */
	{ "UIDPLUS", IMAP_CAP_ALWAYS, 0, NULL },
	/* LIST and STATUS extensions (RFC 3348, 6154, 5258, 5819, 8438) */
	{ "CHILDREN", IMAP_CAP_ALWAYS, 0, NULL },
	{ "SPECIAL-USE", IMAP_CAP_ALWAYS, 0, NULL },
	{ "LIST-EXTENDED", IMAP_CAP_ALWAYS, 0, NULL },
	{ "LIST-STATUS", IMAP_CAP_ALWAYS, 0, NULL },
	{ "STATUS=SIZE", IMAP_CAP_ALWAYS, 0, NULL },
	/* SEARCH extensions: SEARCHRES requires ESEARCH (RFC 5182 2.1),
	 * which cmd-search.c implements for both revisions; IMAP4rev2
	 * includes both, a rev1 client learns them here; WITHIN is RFC 5032 */
	{ "ESEARCH", IMAP_CAP_ALWAYS, 0, NULL },
	{ "SEARCHRES", IMAP_CAP_ALWAYS, 0, NULL },
	{ "WITHIN", IMAP_CAP_ALWAYS, 0, NULL },
	/* SORT extensions (RFC 5957, RFC 5267 3.1) */
	{ "SORT=DISPLAY", IMAP_CAP_ALWAYS, 0, NULL },
	{ "ESORT", IMAP_CAP_ALWAYS, 0, NULL },
	/* PARTIAL results of SEARCH and SORT and the PARTIAL fetch
	 * modifier (RFC 9394) */
	{ "PARTIAL", IMAP_CAP_ALWAYS, 0, NULL },
	/* UPDATE contexts of SORT (RFC 5267 4.3, search-update.h);
	 * CONTEXT=SEARCH comes with CANCELUPDATE (commands.c) */
	{ "CONTEXT=SORT", IMAP_CAP_ALWAYS, 0, NULL },
	/* IMAP4rev2 has the BINARY FETCH items but not literal8 in APPEND;
	 * a server with both lists BINARY (RFC 9051 appendix B) */
	{ "BINARY", IMAP_CAP_ALWAYS, 0, NULL },
	{ "APPENDLIMIT=", IMAP_CAP_AUTHED, IMAP_CAP_VALUE_APPEND_LIMIT, NULL },
	/* RFC 7162; ENABLE needs authentication (RFC 5161 3.1): cmd_enable
	 * turns CONDSTORE on with QRESYNC and sends HIGHESTMODSEQ */
	{ "CONDSTORE", IMAP_CAP_ALWAYS, 0, imap_capability_condstore },
	{ "QRESYNC", IMAP_CAP_ALWAYS, 0, imap_capability_qresync },
	/* RFC 9586 */
	{ "UIDONLY", IMAP_CAP_ALWAYS, 0, imap_capability_uidonly },
	/* MAILBOXID, EMAILID, THREADID (RFC 8474), SAVEDATE (RFC 8514),
	 * PREVIEW (RFC 8970): FETCH items, SEARCH keys, STATUS items */
	{ "OBJECTID", IMAP_CAP_ALWAYS, 0, NULL },
	{ "SAVEDATE", IMAP_CAP_ALWAYS, 0, NULL },
	{ "PREVIEW", IMAP_CAP_ALWAYS, 0, NULL },
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
			struct sasl_peer peer;
			struct auth_peer_buf buf;
			const char *mechs[32];
			auth_peer_from_conn(s->conn, "imap", &peer, &buf);
			size_t n = auth_mech_advertised(s->config, &peer, mechs, N_ELEMENTS(mechs));
			for (size_t m = 0; m < n; m++)
				imap_capability_append(dest, &first, name, mechs[m]);
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

const char *imap_capability_enable(struct imap_session *s, const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(imap_capabilities); i++) {
		if (imap_capabilities[i].enable == NULL ||
		    !str_eq_icase(name, imap_capabilities[i].name) ||
		    !imap_capability_shown(s, imap_capabilities[i].when))
			continue;
		bool *on = imap_capabilities[i].enable(s);
		if (*on)
			return NULL;
		*on = true;
		return imap_capabilities[i].name;
	}
	return NULL;
}
