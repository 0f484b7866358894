/* commands.h: the command table and the handlers in cmd-*.c.
 *
 * Each handler follows imap_command_func (session.h).  The table in
 * commands.c lists, for each command, the states it is allowed in, its
 * flags and its capability; the dispatcher in session.c and the
 * CAPABILITY list in capability.c are made from those alone. */
#ifndef ROOST_IMAP_COMMANDS_H
#define ROOST_IMAP_COMMANDS_H

#include "session.h"

/* cmd-any.c */
bool cmd_capability(struct imap_cmd *cmd);
bool cmd_noop(struct imap_cmd *cmd);
bool cmd_logout(struct imap_cmd *cmd);
bool cmd_id(struct imap_cmd *cmd);
bool cmd_enable(struct imap_cmd *cmd);
bool cmd_namespace(struct imap_cmd *cmd);
/* cmd-auth.c */
bool cmd_starttls(struct imap_cmd *cmd);
bool cmd_login(struct imap_cmd *cmd);
bool cmd_authenticate(struct imap_cmd *cmd);
/* Per-worker authentication state (user database); called from the
 * protocol's worker_init and reload. */
void imap_auth_init(const struct roost_config *config);
void imap_auth_reload(void);
/* Whether the session may authenticate with a plaintext password (LOGIN,
 * AUTHENTICATE PLAIN): over TLS, or as the plaintext_auth setting allows
 * for this connection. */
bool imap_auth_plaintext_allowed(struct imap_session *s);
/* cmd-select.c */
bool cmd_select(struct imap_cmd *cmd);
bool cmd_examine(struct imap_cmd *cmd);
bool cmd_close(struct imap_cmd *cmd);
bool cmd_unselect(struct imap_cmd *cmd);
bool cmd_check(struct imap_cmd *cmd);
/* cmd-mailbox.c */
bool cmd_create(struct imap_cmd *cmd);
bool cmd_delete(struct imap_cmd *cmd);
bool cmd_rename(struct imap_cmd *cmd);
bool cmd_subscribe(struct imap_cmd *cmd);
bool cmd_unsubscribe(struct imap_cmd *cmd);
bool cmd_status(struct imap_cmd *cmd);
/* cmd-list.c */
bool cmd_list(struct imap_cmd *cmd);
bool cmd_lsub(struct imap_cmd *cmd);
/* cmd-append.c */
bool cmd_append(struct imap_cmd *cmd);
/* cmd-notify.c */
bool cmd_notify(struct imap_cmd *cmd);
/* cmd-idle.c */
bool cmd_idle(struct imap_cmd *cmd);
/* cmd-expunge.c */
bool cmd_expunge(struct imap_cmd *cmd);
/* CLOSE's silent expunge of every \Deleted message, in slices like
 * EXPUNGE's; then leaves the selected state and answers CLOSE. */
bool imap_close_expunge(struct imap_cmd *cmd);
/* cmd-store.c */
bool cmd_store(struct imap_cmd *cmd);
/* cmd-copy.c */
bool cmd_copy(struct imap_cmd *cmd);
bool cmd_move(struct imap_cmd *cmd);
/* cmd-fetch.c */
bool cmd_fetch(struct imap_cmd *cmd);
/* cmd-search.c */
bool cmd_search(struct imap_cmd *cmd);
bool cmd_cancelupdate(struct imap_cmd *cmd);
/* cmd-sort.c */
bool cmd_sort(struct imap_cmd *cmd);
/* cmd-thread.c */
bool cmd_thread(struct imap_cmd *cmd);

#endif
