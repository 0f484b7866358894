/* notify-parse.h: the NOTIFY command's argument parser (RFC 5465 section
 * 8).  It turns the arguments of NOTIFY into a request (struct
 * imap_notify_spec) that notify.c carries out; it never touches the
 * store, the session or the connection, and leaves mailbox names in the
 * client's form for the command to convert (cmd-notify.c). */
#ifndef ROOST_IMAP_NOTIFY_PARSE_H
#define ROOST_IMAP_NOTIFY_PARSE_H

#include "fetch-parse.h"

struct imap_arg;
struct pool;

/* The events Roost reports, as bits. */
enum imap_notify_event {
	IMAP_NOTIFY_MESSAGE_NEW = 1 << 0,
	IMAP_NOTIFY_MESSAGE_EXPUNGE = 1 << 1,
	IMAP_NOTIFY_FLAG_CHANGE = 1 << 2,
	IMAP_NOTIFY_MAILBOX_NAME = 1 << 3,
	IMAP_NOTIFY_SUBSCRIPTION_CHANGE = 1 << 4,
};
#define IMAP_NOTIFY_MESSAGE_EVENTS \
	(IMAP_NOTIFY_MESSAGE_NEW | IMAP_NOTIFY_MESSAGE_EXPUNGE | IMAP_NOTIFY_FLAG_CHANGE)
/* The text of [BADEVENT (...)]: RFC 5465 3.1, "MUST list names of all
 * events supported by the server". */
#define IMAP_NOTIFY_SUPPORTED_EVENTS \
	"MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange"

enum imap_notify_filter {
	IMAP_NOTIFY_FILTER_INBOXES,
	IMAP_NOTIFY_FILTER_PERSONAL,
	IMAP_NOTIFY_FILTER_SUBSCRIBED,
	IMAP_NOTIFY_FILTER_SUBTREE,
	IMAP_NOTIFY_FILTER_MAILBOXES,
};

/* One event-group of filter-mailboxes-other. */
struct imap_notify_group {
	enum imap_notify_filter filter;
	unsigned int events;		/* enum imap_notify_event bits; 0: NONE */
	/* SUBTREE, MAILBOXES: as the client sent them (cmd-notify.c puts
	 * the store's form here, sorted) */
	const char **names;
	size_t name_count;
};

enum imap_notify_selected {
	IMAP_NOTIFY_SELECTED_NONE,	/* no message events for it */
	IMAP_NOTIFY_SELECTED,
	IMAP_NOTIFY_SELECTED_DELAYED,
};

/* A NOTIFY SET request.  Everything lives in the pool given to the
 * parser. */
struct imap_notify_spec {
	bool status;			/* SET STATUS */
	enum imap_notify_selected selected;
	unsigned int selected_events;	/* message events only */
	/* MessageNew's fetch-atts for the selected mailbox */
	bool has_fetch;
	struct fetch_items fetch;
	struct imap_notify_group *groups;
	size_t group_count;
};

/* What imap_notify_parse() found. */
enum imap_notify_parse_result {
	IMAP_NOTIFY_PARSE_SET,		/* *spec_r filled */
	IMAP_NOTIFY_PARSE_NONE,		/* NOTIFY NONE */
	IMAP_NOTIFY_PARSE_BAD,		/* BAD *error_r */
	/* NO *error_r: an event Roost does not support; *error_r starts
	 * with "[BADEVENT (...)]" */
	IMAP_NOTIFY_PARSE_BADEVENT,
};

/* notify          = "NOTIFY" SP (notify-set / notify-none)
 * Parses the arguments after "NOTIFY" (`args` ends with the EOL entry).
 * On SET, *spec_r is allocated from `pool`, with copies of every string;
 * the errors are static texts. */
enum imap_notify_parse_result
imap_notify_parse(const struct imap_arg *args, struct pool *pool,
		  struct imap_notify_spec **spec_r, const char **error_r);

#endif
