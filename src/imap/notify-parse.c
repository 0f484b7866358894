/* notify-parse.c: NOTIFY's arguments (RFC 5465 section 8) into a request.
 *
 * The RFC's rules that are not in the ABNF are checked here too, each a
 * tagged BAD: at most one of SELECTED and SELECTED-DELAYED (6.1), only
 * message events with them (6.1), MessageNew and MessageExpunge together
 * and FlagChange only with both (5), fetch-atts only for the selected
 * mailbox (8).  An event Roost does not report (AnnotationChange and the
 * metadata events need METADATA; an event-ext) is a NO with
 * [BADEVENT (...)] (3.1: "MUST refuse the command with a tagged NO
 * response (not a BAD)"), unless the command also breaks a rule above. */
#include "notify-parse.h"
#include "syntax/imap-arg.h"
#include "base/pool.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct imap_keyword notify_events[] = {
	{ "MessageNew", IMAP_NOTIFY_MESSAGE_NEW },
	{ "MessageExpunge", IMAP_NOTIFY_MESSAGE_EXPUNGE },
	{ "FlagChange", IMAP_NOTIFY_FLAG_CHANGE },
	{ "MailboxName", IMAP_NOTIFY_MAILBOX_NAME },
	{ "SubscriptionChange", IMAP_NOTIFY_SUBSCRIPTION_CHANGE },
};

/* filter-mailboxes, the selected ones after the others */
enum notify_filter_word {
	NOTIFY_WORD_INBOXES = IMAP_NOTIFY_FILTER_INBOXES,
	NOTIFY_WORD_PERSONAL = IMAP_NOTIFY_FILTER_PERSONAL,
	NOTIFY_WORD_SUBSCRIBED = IMAP_NOTIFY_FILTER_SUBSCRIBED,
	NOTIFY_WORD_SUBTREE = IMAP_NOTIFY_FILTER_SUBTREE,
	NOTIFY_WORD_MAILBOXES = IMAP_NOTIFY_FILTER_MAILBOXES,
	NOTIFY_WORD_SELECTED,
	NOTIFY_WORD_SELECTED_DELAYED,
};

static const struct imap_keyword notify_filters[] = {
	{ "INBOXES", NOTIFY_WORD_INBOXES },
	{ "PERSONAL", NOTIFY_WORD_PERSONAL },
	{ "SUBSCRIBED", NOTIFY_WORD_SUBSCRIBED },
	{ "SUBTREE", NOTIFY_WORD_SUBTREE },
	{ "MAILBOXES", NOTIFY_WORD_MAILBOXES },
	{ "SELECTED", NOTIFY_WORD_SELECTED },
	{ "SELECTED-DELAYED", NOTIFY_WORD_SELECTED_DELAYED },
};

struct notify_parse {
	struct pool *pool;
	struct imap_notify_spec *spec;
	bool bad_event;		/* an unsupported event was named */
	const char *error;
};

/* one-or-more-mailbox = mailbox / many-mailboxes
 * many-mailboxes  = "(" mailbox *(SP mailbox) ")" */
static int notify_parse_mailboxes(struct notify_parse *np, const struct imap_arg *arg,
				  struct imap_notify_group *group)
{
	const struct imap_arg *list = arg;
	unsigned int count = 1;
	const char *name;

	if (arg->type == IMAP_ARG_LIST && !imap_arg_get_list(arg, &list, &count)) {
		np->error = "Invalid mailbox list.";
		return -1;
	}
	if (count == 0) {
		np->error = "Empty mailbox list.";
		return -1;
	}
	group->names = p_malloc(np->pool, count * sizeof(*group->names));
	for (unsigned int i = 0; i < count; i++) {
		if (!imap_arg_get_astring(&list[i], &name, NULL)) {
			np->error = "Invalid mailbox name.";
			return -1;
		}
		group->names[i] = p_strdup(np->pool, name);
	}
	group->name_count = count;
	return 0;
}

/* RFC 5465 5: "If one of MessageNew or MessageExpunge is specified,
 * then both events MUST be specified", "If the FlagChange and/or
 * AnnotationChange events are specified, MessageNew and MessageExpunge
 * MUST also be specified". */
static bool notify_events_valid(unsigned int events, bool annotation)
{
	unsigned int both = IMAP_NOTIFY_MESSAGE_NEW | IMAP_NOTIFY_MESSAGE_EXPUNGE;
	unsigned int some = events & both;
	if (some != 0 && some != both)
		return false;
	if (((events & IMAP_NOTIFY_FLAG_CHANGE) != 0 || annotation) && some != both)
		return false;
	return true;
}

/* events          = ( "(" event *(SP event) ")" ) / "NONE"
 * event           = message-event / mailbox-event / user-event / event-ext
 * message-event   = ( "MessageNew" [SP "(" fetch-att *(SP fetch-att) ")" ] )
 *                 / "MessageExpunge" / "FlagChange" / "AnnotationChange"
 * `arg` is the rest of the event group.  The events may also come
 * without the parentheses, as in the examples of RFC 5465 3.1
 * ("(subtree Lists MessageNew)"), up to the group's end. */
static int notify_parse_events(struct notify_parse *np, const struct imap_arg *arg,
			       bool selected, unsigned int *events_r)
{
	const struct imap_arg *list;
	bool annotation = false;
	const char *name;

	*events_r = 0;
	if (imap_arg_atom_equals(arg, "NONE")) {
		if (!imap_arg_is_eol(&arg[1])) {
			np->error = "Unexpected data in an event group.";
			return -1;
		}
		return 0;
	}
	if (arg->type == IMAP_ARG_ATOM) {
		list = arg;
	} else if (!imap_arg_get_list(arg, &list, NULL) || imap_arg_is_eol(&list[0]) ||
		   !imap_arg_is_eol(&arg[1])) {
		np->error = "Expected a list of events or NONE.";
		return -1;
	}
	for (; !imap_arg_is_eol(list); list++) {
		unsigned int event;
		if (!imap_arg_get_atom(list, &name)) {
			np->error = "Invalid event name.";
			return -1;
		}
		if (!imap_keyword_find(notify_events, N_ELEMENTS(notify_events), name, &event)) {
			/* AnnotationChange, the metadata events, event-ext */
			annotation |= strcasecmp(name, "AnnotationChange") == 0;
			np->bad_event = true;
			continue;
		}
		if (selected && (event & IMAP_NOTIFY_MESSAGE_EVENTS) == 0) {
			np->error = "Only message events are allowed for SELECTED.";
			return -1;
		}
		*events_r |= event;
		if (event == IMAP_NOTIFY_MESSAGE_NEW && list[1].type == IMAP_ARG_LIST) {
			/* "The fett-att list may only be present for the
			 * SELECTED/SELECTED-DELAYED mailbox filter" */
			if (!selected) {
				np->error = "MessageNew's fetch attributes are only allowed for SELECTED.";
				return -1;
			}
			list++;
			if (imap_arg_is_eol(&list->list[0])) {
				np->error = "Empty list of fetch attributes.";
				return -1;
			}
			if (fetch_parse_items(list, np->pool, &np->spec->fetch, &np->error) < 0)
				return -1;
			np->spec->has_fetch = true;
		}
	}
	if (!notify_events_valid(*events_r, annotation)) {
		np->error = "MessageNew and MessageExpunge must be given together, "
			"and FlagChange only with both.";
		return -1;
	}
	return 0;
}

/* event-group     = "(" filter-mailboxes SP events ")" */
static int notify_parse_group(struct notify_parse *np, const struct imap_arg *arg,
			      struct imap_notify_group *group, bool *is_selected_r)
{
	struct imap_notify_spec *spec = np->spec;
	const struct imap_arg *list;
	unsigned int word;
	const char *name;

	*is_selected_r = false;
	if (!imap_arg_get_list(arg, &list, NULL) || !imap_arg_get_atom(&list[0], &name) ||
	    !imap_keyword_find(notify_filters, N_ELEMENTS(notify_filters), name, &word)) {
		np->error = "Expected an event group: (filter events).";
		return -1;
	}
	list++;
	if (word == NOTIFY_WORD_SELECTED || word == NOTIFY_WORD_SELECTED_DELAYED) {
		/* 6.1: "Only one of the mailbox specifiers affecting the
		 * currently selected mailbox can be specified" */
		if (spec->selected != IMAP_NOTIFY_SELECTED_NONE) {
			np->error = "Only one of SELECTED and SELECTED-DELAYED is allowed.";
			return -1;
		}
		*is_selected_r = true;
		if (notify_parse_events(np, &list[0], true, &spec->selected_events) < 0)
			return -1;
		spec->selected = word == NOTIFY_WORD_SELECTED ? IMAP_NOTIFY_SELECTED :
			IMAP_NOTIFY_SELECTED_DELAYED;
	} else {
		group->filter = (enum imap_notify_filter)word;
		if (word == NOTIFY_WORD_SUBTREE || word == NOTIFY_WORD_MAILBOXES) {
			if (imap_arg_is_eol(&list[0]) ||
			    notify_parse_mailboxes(np, &list[0], group) < 0) {
				if (np->error == NULL)
					np->error = "SUBTREE and MAILBOXES need mailbox names.";
				return -1;
			}
			list++;
		}
		if (imap_arg_is_eol(&list[0])) {
			np->error = "An event group needs events.";
			return -1;
		}
		if (notify_parse_events(np, &list[0], false, &group->events) < 0)
			return -1;
	}
	return 0;
}

/* notify-set      = "SET" [status-indicator] SP event-groups
 * status-indicator = SP "STATUS"
 * event-groups    = event-group *(SP event-group)
 * notify-none     = "NONE" */
enum imap_notify_parse_result
imap_notify_parse(const struct imap_arg *args, struct pool *pool,
		  struct imap_notify_spec **spec_r, const char **error_r)
{
	struct notify_parse np = { .pool = pool };

	*spec_r = NULL;
	if (imap_arg_atom_equals(&args[0], "NONE")) {
		if (!imap_arg_is_eol(&args[1])) {
			*error_r = "NOTIFY NONE takes no arguments.";
			return IMAP_NOTIFY_PARSE_BAD;
		}
		return IMAP_NOTIFY_PARSE_NONE;
	}
	if (!imap_arg_atom_equals(&args[0], "SET")) {
		*error_r = "NOTIFY needs SET or NONE.";
		return IMAP_NOTIFY_PARSE_BAD;
	}
	args++;
	np.spec = p_malloc(pool, sizeof(*np.spec));
	memset(np.spec, 0, sizeof(*np.spec));
	if (imap_arg_atom_equals(&args[0], "STATUS")) {
		np.spec->status = true;
		args++;
	}
	size_t count = 0;
	while (!imap_arg_is_eol(&args[count]))
		count++;
	if (count == 0) {
		*error_r = "NOTIFY SET needs event groups.";
		return IMAP_NOTIFY_PARSE_BAD;
	}
	np.spec->groups = p_malloc(pool, count * sizeof(*np.spec->groups));
	for (size_t i = 0; i < count; i++) {
		struct imap_notify_group *group = &np.spec->groups[np.spec->group_count];
		bool is_selected;
		memset(group, 0, sizeof(*group));
		if (notify_parse_group(&np, &args[i], group, &is_selected) < 0) {
			*error_r = np.error;
			return IMAP_NOTIFY_PARSE_BAD;
		}
		if (!is_selected)
			np.spec->group_count++;
	}
	if (np.bad_event) {
		*error_r = "[BADEVENT (" IMAP_NOTIFY_SUPPORTED_EVENTS ")] "
			"Unsupported NOTIFY event.";
		return IMAP_NOTIFY_PARSE_BADEVENT;
	}
	*spec_r = np.spec;
	return IMAP_NOTIFY_PARSE_SET;
}
