/* cmd-mailbox.h: STATUS data items, shared by STATUS (cmd-mailbox.c) and
 * LIST ... RETURN (STATUS (...)) (cmd-list.c, RFC 5819). */
#ifndef ROOST_IMAP_CMD_MAILBOX_H
#define ROOST_IMAP_CMD_MAILBOX_H

#include "session.h"

struct imap_arg;
struct store_status;

enum cmd_mailbox_status_item {
	CMD_STATUS_MESSAGES,
	CMD_STATUS_UIDNEXT,
	CMD_STATUS_UIDVALIDITY,
	CMD_STATUS_UNSEEN,
	CMD_STATUS_DELETED,
	CMD_STATUS_SIZE,
	CMD_STATUS_RECENT,
	CMD_STATUS_APPENDLIMIT,
	CMD_STATUS_HIGHESTMODSEQ,	/* RFC 7162 3.1.7 */
	CMD_STATUS_MAILBOXID,	/* RFC 8474 4.3 */
	CMD_STATUS_ITEM_COUNT
};

/* The items asked for, each once, in the order the client gave them. */
struct cmd_mailbox_status_items {
	uint8_t order[CMD_STATUS_ITEM_COUNT];
	unsigned int count;
};

/* status-att-list: `atts` is the content of "(...)", ending with
 * the EOL entry.  Returns 0, or -1 with *error_r = a static text for BAD
 * (unknown or unsupported item, empty list). */
int cmd_mailbox_status_items_parse(const struct imap_arg *atts,
				   struct cmd_mailbox_status_items *items_r,
				   const char **error_r);

/* True if `items` has `item`. */
bool cmd_mailbox_status_items_has(const struct cmd_mailbox_status_items *items,
				  enum cmd_mailbox_status_item item);

/* Writes "* STATUS <name> (<item> <value> ...)"; `name` is in the store's
 * form (converted to the client's here). */
void cmd_mailbox_status_write(struct imap_session *s, struct pool *pool,
			      const char *name,
			      const struct cmd_mailbox_status_items *items,
			      const struct store_status *status);

#endif
