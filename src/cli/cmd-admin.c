/* cmd-admin.c: `roost mailbox`, `roost search`, `roost expunge` and
 * `roost fetch`, doveadm's everyday jobs, through the store directly.
 *
 * They open the user's store as a session would (safe beside a running
 * server: the store serialises writers), so the server's sessions see
 * what they change through the store's notifications: an expunge reaches
 * an IDLE client as EXPUNGE or VANISHED.  A query is the IMAP SEARCH
 * syntax, parsed by the IMAP layer's parser and run by src/search, the
 * same code that answers SEARCH.  Nothing here knows files or SQL. */
#include "cli.h"
#include "base/pool.h"
#include "base/str.h"
#include "conf/conf.h"
#include "imap/search-parse.h"
#include "search/search.h"
#include "store/store.h"
#include "syntax/imap-parser.h"
#include "syntax/imap-quote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

static void usage_mailbox(FILE *out, const char *cmd)
{
	(void)cmd;
	fprintf(out,
		"usage: roost mailbox list [-c FILE] USER\n"
		"       roost mailbox status [-c FILE] USER [NAME...]\n"
		"       roost mailbox create [-c FILE] USER NAME...\n"
		"       roost mailbox delete [-c FILE] USER NAME...\n"
		"\n"
		"list: one line per mailbox: its name (UTF-8, '/' between levels), then\n"
		"  its attributes (\\Subscribed, \\NonExistent for a subscription alone,\n"
		"  \\HasChildren, special use such as \\Sent).\n"
		"status: per mailbox (default: all) messages, unseen, recent, deleted,\n"
		"  size, uidnext, uidvalidity, highestmodseq.\n"
		"create: creates each NAME (and missing parents), subscribed.\n"
		"delete: deletes each NAME with its messages (RFC 9051 DELETE: a name\n"
		"  with children stays as a \\Noselect parent; INBOX cannot go).\n"
		"Works beside a running server; its sessions see the change.\n"
		"\n"
		"  -c, --config FILE  config file (default " CLI_DEFAULT_CONFIG
		" if it exists)\n"
		"  -h, --help         this text\n"
		"\n"
		"Exit codes: 0, 64 usage, 65 an operation was refused (exists, INBOX,\n"
		"bad name), 66 no such mailbox or the user has no mail store yet,\n"
		"67 unknown user, 74 store failure, 78 bad config.\n");
}

static void usage_query(FILE *out, const char *cmd)
{
	bool fetch = strcmp(cmd, "fetch") == 0;

	fprintf(out, "usage: roost %s [-c FILE] USER MAILBOX %s\n\n", cmd,
		fetch ? "QUERY FIELDS" : "QUERY...");
	if (strcmp(cmd, "search") == 0)
		fprintf(out, "Prints the UIDs of the messages of MAILBOX that match QUERY, one\n"
			"per line, in ascending order.\n");
	else if (strcmp(cmd, "expunge") == 0)
		fprintf(out, "Expunges the messages of MAILBOX that match QUERY (whatever their\n"
			"\\Deleted flag) and prints how many.  IMAP sessions that have the\n"
			"mailbox selected are told (EXPUNGE, or VANISHED with QRESYNC).\n");
	else
		fprintf(out, "Prints FIELDS of each message of MAILBOX that matches QUERY, in\n"
			"blocks that start with \"== UID n\".  FIELDS is one argument, the\n"
			"names separated by spaces or commas: uid, flags, internaldate,\n"
			"size, modseq, envelope, bodystructure, header (BODY[HEADER]), text\n"
			"(BODY[TEXT]), body (the whole message).  Nothing is marked \\Seen.\n");
	fprintf(out,
		"\n"
		"QUERY is an IMAP search program (RFC 9051 6.4.4), the arguments joined\n"
		"with spaces: e.g. ALL, UNSEEN, 'FROM \"bob\" SINCE 1-Jan-2026',\n"
		"'OR SUBJECT invoice BODY \"order 42\"', 'UID 1:100', 'LARGER 1000000'.\n"
		"Strings with spaces need IMAP quotes inside the shell's quotes;\n"
		"literals ({n}) are not accepted.  Works beside a running server.\n"
		"\n"
		"  -c, --config FILE  config file (default " CLI_DEFAULT_CONFIG
		" if it exists)\n"
		"  -h, --help         this text\n"
		"\n"
		"Exit codes: 0 (also when nothing matches), 64 usage or a bad query,\n"
		"66 no such mailbox or no mail store yet, 67 unknown user, 74 store\n"
		"failure, 78 bad config.\n");
}

/* What every admin command starts with: options, config, user, store. */
struct admin {
	const char *cmd;		/* "mailbox", "search", ... */
	struct roost_config *config;
	struct store_settings set;
	char *user;
	struct store *store;
	int first;			/* argv index after USER */
};

/* 0 with *a ready, or an exit code (printed).  --help gives -1 (exit
 * 0). */
static int admin_begin(struct admin *a, int argc, char **argv, int start,
		       void (*usage)(FILE *, const char *))
{
	const char *config_path = NULL;
	int i;

	for (i = start; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc) {
			config_path = argv[++i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout, a->cmd);
			return -1;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "roost %s: unknown option '%s'\n", a->cmd, argv[i]);
			usage(stderr, a->cmd);
			return EX_USAGE;
		} else {
			break;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "roost %s: missing USER\n", a->cmd);
		usage(stderr, a->cmd);
		return EX_USAGE;
	}
	a->config = cli_config_load(config_path, a->cmd);
	if (a->config == NULL)
		return EX_CONFIG;
	int ret = cli_switch_user(a->config, a->cmd);
	if (ret != 0)
		return ret;
	store_settings_init(&a->set, a->config);
	a->user = cli_user_name(a->config, argv[i], a->cmd, &ret);
	if (a->user == NULL)
		return ret;
	const char *error;
	int exists = store_exists(&a->set, a->user, &error);
	if (exists <= 0) {
		fprintf(stderr, "roost %s: %s: %s\n", a->cmd, a->user,
			exists < 0 ? error : "has no mail store yet (never logged in nor "
			"received mail)");
		return exists < 0 ? EX_IOERR : EX_NOINPUT;
	}
	if (store_open(&a->set, a->user, &a->store, &error) < 0) {
		fprintf(stderr, "roost %s: %s: %s\n", a->cmd, a->user, error);
		return EX_IOERR;
	}
	a->first = i + 1;
	return 0;
}

static void admin_end(struct admin *a)
{
	if (a->store != NULL)
		store_close(&a->store);
	free(a->user);
	if (a->config != NULL)
		config_free(&a->config);
}

/* The exit code of the store's last error, printed with `what`. */
static int admin_store_error(struct admin *a, const char *what)
{
	enum store_error err;
	const char *text = store_last_error(a->store, &err);

	fprintf(stderr, "roost %s: %s: %s: %s\n", a->cmd, a->user, what, text);
	switch (err) {
	case STORE_ERR_NOTFOUND:
		return EX_NOINPUT;
	case STORE_ERR_EXISTS:
	case STORE_ERR_PARAMS:
	case STORE_ERR_NOTPOSSIBLE:
	case STORE_ERR_INUSE:
	case STORE_ERR_LIMIT:
		return EX_DATAERR;
	case STORE_ERR_BUSY:
		return EX_TEMPFAIL;
	default:
		return EX_IOERR;
	}
}

static const char *const special_use_names[] = {
	"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash",
};

static int mailbox_list(struct admin *a)
{
	struct store_mailbox_info *infos;
	size_t count;

	if (store_mailbox_list(a->store, &infos, &count) < 0)
		return admin_store_error(a, "list");
	for (size_t i = 0; i < count; i++) {
		struct str line = STR_INIT;

		str_append(&line, infos[i].name);
		if (infos[i].subscribed)
			str_append(&line, "\t\\Subscribed");
		if (!infos[i].exists)
			str_append(&line, "\t\\NonExistent");
		if (infos[i].has_children)
			str_append(&line, "\t\\HasChildren");
		for (size_t b = 0; b < N_ELEMENTS(special_use_names); b++) {
			if ((infos[i].special_use & (1u << b)) != 0)
				str_printfa(&line, "\t%s", special_use_names[b]);
		}
		printf("%s\n", str_c(&line));
		str_free(&line);
	}
	free(infos);
	return 0;
}

static int mailbox_status_one(struct admin *a, const char *name)
{
	struct store_status st;

	if (store_mailbox_status(a->store, name, &st) < 0)
		return admin_store_error(a, name);
	printf("%s\tmessages=%u unseen=%u recent=%u deleted=%u size=%llu uidnext=%u "
	       "uidvalidity=%u highestmodseq=%llu\n", name, st.messages, st.unseen,
	       st.recent, st.deleted, (unsigned long long)st.size, st.uidnext,
	       st.uidvalidity, (unsigned long long)st.highestmodseq);
	return 0;
}

int cli_mailbox_main(int argc, char **argv)
{
	struct admin a = { .cmd = "mailbox" };
	static const char *const subs[] = { "list", "status", "create", "delete" };
	size_t sub;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage_mailbox(stdout, NULL);
		return 0;
	}
	for (sub = 0; argc >= 2 && sub < N_ELEMENTS(subs) && strcmp(argv[1], subs[sub]) != 0;
	     sub++)
		;
	if (argc < 2 || sub == N_ELEMENTS(subs)) {
		fprintf(stderr, "roost mailbox: %s (list, status, create or delete)\n",
			argc < 2 ? "missing command" : "unknown command");
		usage_mailbox(stderr, NULL);
		return EX_USAGE;
	}
	int ret = admin_begin(&a, argc, argv, 2, usage_mailbox);
	if (ret != 0) {
		admin_end(&a);
		return ret < 0 ? 0 : ret;
	}
	if (sub >= 2 && a.first >= argc) {
		fprintf(stderr, "roost mailbox %s: missing NAME\n", subs[sub]);
		admin_end(&a);
		return EX_USAGE;
	}
	if (sub == 0 && a.first < argc) {
		fprintf(stderr, "roost mailbox list: unexpected argument '%s'\n", argv[a.first]);
		admin_end(&a);
		return EX_USAGE;
	}
	if (sub == 0) {
		ret = mailbox_list(&a);
	} else if (sub == 1 && a.first == argc) {
		struct store_mailbox_info *infos;
		size_t count;

		if (store_mailbox_list(a.store, &infos, &count) < 0) {
			ret = admin_store_error(&a, "list");
		} else {
			for (size_t i = 0; i < count; i++) {
				int r = infos[i].exists ? mailbox_status_one(&a, infos[i].name) : 0;
				if (r != 0)
					ret = r;
			}
			free(infos);
		}
	} else {
		for (int i = a.first; i < argc; i++) {
			int r = 0;

			if (sub == 1) {
				r = mailbox_status_one(&a, argv[i]);
			} else if (sub == 2) {
				if (store_mailbox_create(a.store, argv[i], 0) < 0 ||
				    store_mailbox_subscribe(a.store, argv[i], true) < 0)
					r = admin_store_error(&a, argv[i]);
				else
					printf("%s\tcreated\n", argv[i]);
			} else {
				if (store_mailbox_delete(a.store, argv[i]) < 0)
					r = admin_store_error(&a, argv[i]);
				else
					printf("%s\tdeleted\n", argv[i]);
			}
			if (r != 0)
				ret = r;
		}
	}
	admin_end(&a);
	return ret;
}

/* ---- search, expunge, fetch ---- */

/* Parses the QUERY arguments as a search program for `box` (in pool).
 * 0, or EX_USAGE (printed). */
static int query_parse(struct admin *a, struct pool *pool, struct store_mailbox *box,
		       char **words, int count, struct imap_parser **parser_r,
		       struct search_key **program_r)
{
	struct str line = STR_INIT;
	const char *error;
	size_t used;

	str_append(&line, "q SEARCH");
	for (int i = 0; i < count; i++) {
		str_append(&line, " ");
		str_append(&line, words[i]);
	}
	str_append(&line, "\r\n");
	if (count == 0 || strchr(str_c(&line), '\r') != str_c(&line) + line.len - 2 ||
	    strchr(str_c(&line), '\n') != str_c(&line) + line.len - 1) {
		fprintf(stderr, "roost %s: %s\n", a->cmd,
			count == 0 ? "missing QUERY" : "QUERY has a line break");
		str_free(&line);
		return EX_USAGE;
	}
	struct imap_parser *p = imap_parser_create(NULL);
	int r = imap_parser_feed(p, (const unsigned char *)str_c(&line), line.len, &used);
	int ret = 0;
	if (r != 1) {
		fprintf(stderr, "roost %s: bad query: %s\n", a->cmd,
			r < 0 ? imap_parser_error(p, NULL) :
			"incomplete (literals are not accepted, quotes must close)");
		ret = EX_USAGE;
	} else {
		const struct imap_command *c = imap_parser_command(p);

		if (imap_search_parse_program(pool, box, NULL, c->args, NULL, program_r,
					      &error) != IMAP_SEARCH_PARSE_OK) {
			fprintf(stderr, "roost %s: bad query: %s\n", a->cmd, error);
			ret = EX_USAGE;
		}
	}
	str_free(&line);
	if (ret != 0)
		imap_parser_destroy(&p);
	else
		*parser_r = p;
	return ret;
}

/* The msns of the messages that match (xmalloc'd, ascending).  0 or an
 * exit code (printed). */
static int query_run(struct admin *a, struct store_mailbox *box,
		     const struct search_key *program, uint32_t **msns_r, size_t *count_r)
{
	struct search_ctx *ctx = search_ctx_create(a->store, box, program);
	uint32_t *msns = NULL, msn;
	size_t count = 0, cap = 0;
	int r, ret = 0;

	while ((r = search_next(ctx, &msn)) > 0) {
		if (msn == 0)
			continue;
		int m = search_match(ctx, msn);
		if (m < 0) {
			r = -1;
			break;
		}
		if (m > 0) {
			ARRAY_RESERVE(msns, cap, count + 1);
			msns[count++] = msn;
		}
	}
	if (r < 0)
		ret = admin_store_error(a, "search");
	search_ctx_destroy(&ctx);
	*msns_r = msns;
	*count_r = count;
	return ret;
}

static void print_flags(struct store_mailbox *box, const struct store_msg *msg)
{
	static const char *const names[] = { "\\Seen", "\\Answered", "\\Flagged",
		"\\Deleted", "\\Draft" };
	size_t kw_count;
	const char *const *kw = store_mailbox_keywords(box, &kw_count);

	printf("flags:");
	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		if ((msg->flags & (1u << i)) != 0)
			printf(" %s", names[i]);
	}
	for (size_t i = 0; i < kw_count && i < STORE_MAX_KEYWORDS; i++) {
		if ((msg->keywords & ((store_keywords_t)1 << i)) != 0)
			printf(" %s", kw[i]);
	}
	printf("\n");
}

/* Writes bytes [from, from + len) of the message to stdout, each line
 * indented, CRLF shown as LF. */
static int print_part(struct istream *in, uint64_t from, uint64_t len)
{
	char buf[8192];
	bool bol = true, cr = false;

	while (len > 0) {
		ssize_t n = istream_pread(in, buf, len < sizeof(buf) ? (size_t)len : sizeof(buf),
					  from);
		if (n <= 0)
			return n < 0 ? -1 : 0;
		for (ssize_t i = 0; i < n; i++) {
			/* a CR is held until the next byte says whether it ends
			 * a line (the two may lie in two reads) */
			if (cr && buf[i] != '\n')
				putchar('\r');
			cr = buf[i] == '\r';
			if (cr)
				continue;
			if (bol)
				fputs("  ", stdout);
			bol = buf[i] == '\n';
			putchar(buf[i]);
		}
		from += (uint64_t)n;
		len -= (uint64_t)n;
	}
	if (cr)
		putchar('\r');
	if (!bol || cr)
		putchar('\n');
	return 0;
}

enum fetch_field {
	FF_UID = 1 << 0, FF_FLAGS = 1 << 1, FF_INTERNALDATE = 1 << 2, FF_SIZE = 1 << 3,
	FF_MODSEQ = 1 << 4, FF_ENVELOPE = 1 << 5, FF_BODYSTRUCTURE = 1 << 6,
	FF_HEADER = 1 << 7, FF_TEXT = 1 << 8, FF_BODY = 1 << 9,
};

static const struct {
	const char *name;
	unsigned int bit;
} fetch_fields[] = {
	{ "uid", FF_UID }, { "flags", FF_FLAGS }, { "internaldate", FF_INTERNALDATE },
	{ "size", FF_SIZE }, { "rfc822.size", FF_SIZE }, { "modseq", FF_MODSEQ },
	{ "envelope", FF_ENVELOPE }, { "bodystructure", FF_BODYSTRUCTURE },
	{ "header", FF_HEADER }, { "body[header]", FF_HEADER }, { "text", FF_TEXT },
	{ "body[text]", FF_TEXT }, { "body", FF_BODY }, { "body[]", FF_BODY },
};

static int fetch_fields_parse(const char *text, unsigned int *fields_r)
{
	char *copy = xstrdup(text), *save = NULL;

	*fields_r = 0;
	for (char *w = strtok_r(copy, " ,", &save); w != NULL; w = strtok_r(NULL, " ,", &save)) {
		size_t i;

		for (i = 0; i < N_ELEMENTS(fetch_fields) &&
		     strcasecmp(w, fetch_fields[i].name) != 0; i++)
			;
		if (i == N_ELEMENTS(fetch_fields)) {
			fprintf(stderr, "roost fetch: unknown field '%s' (uid, flags, internaldate, "
				"size, modseq, envelope, bodystructure, header, text, body)\n", w);
			free(copy);
			return -1;
		}
		*fields_r |= fetch_fields[i].bit;
	}
	free(copy);
	if (*fields_r == 0) {
		fprintf(stderr, "roost fetch: no FIELDS\n");
		return -1;
	}
	return 0;
}

static int fetch_one(struct admin *a, struct store_mailbox *box, uint32_t msn,
		     unsigned int fields)
{
	const struct store_msg *msg = store_mailbox_msg(box, msn);

	printf("== UID %u\n", msg->uid);
	if ((fields & FF_UID) != 0)
		printf("uid: %u\n", msg->uid);
	if ((fields & FF_FLAGS) != 0)
		print_flags(box, msg);
	if ((fields & FF_INTERNALDATE) != 0) {
		time_t t = msg->internaldate + msg->internaldate_tz * 60;
		struct tm tm;
		char buf[64];
		int tz = msg->internaldate_tz < 0 ? -msg->internaldate_tz : msg->internaldate_tz;

		gmtime_r(&t, &tm);
		strftime(buf, sizeof(buf), "%d-%b-%Y %H:%M:%S", &tm);
		printf("internaldate: %s %c%02d%02d\n", buf,
		       msg->internaldate_tz < 0 ? '-' : '+', tz / 60, tz % 60);
	}
	if ((fields & FF_SIZE) != 0)
		printf("size: %llu\n", (unsigned long long)msg->size);
	if ((fields & FF_MODSEQ) != 0)
		printf("modseq: %llu\n", (unsigned long long)msg->modseq);
	if ((fields & (FF_ENVELOPE | FF_BODYSTRUCTURE)) != 0) {
		struct store_msg_cache cache;

		if (store_mailbox_msg_cache(box, msn, &cache) < 0)
			return admin_store_error(a, "fetch");
		if ((fields & FF_ENVELOPE) != 0)
			printf("envelope: %s\n", cache.envelope);
		if ((fields & FF_BODYSTRUCTURE) != 0)
			printf("bodystructure: %s\n", cache.bodystructure);
	}
	if ((fields & (FF_HEADER | FF_TEXT | FF_BODY)) != 0) {
		struct istream *in = NULL;

		if (store_mailbox_msg_stream(box, msn, &in) < 0)
			return admin_store_error(a, "fetch");
		int r = 0;
		if ((fields & FF_HEADER) != 0) {
			printf("header:\n");
			r = print_part(in, 0, msg->header_size);
		}
		if (r == 0 && (fields & FF_TEXT) != 0) {
			printf("text:\n");
			r = print_part(in, msg->header_size, msg->size - msg->header_size);
		}
		if (r == 0 && (fields & FF_BODY) != 0) {
			printf("body:\n");
			r = print_part(in, 0, msg->size);
		}
		istream_destroy(&in);
		if (r < 0) {
			fprintf(stderr, "roost fetch: %s: UID %u: reading the message failed\n",
				a->user, msg->uid);
			return EX_IOERR;
		}
	}
	return 0;
}

static int query_main(int argc, char **argv, const char *cmd)
{
	struct admin a = { .cmd = cmd };
	bool fetch = strcmp(cmd, "fetch") == 0, expunge = strcmp(cmd, "expunge") == 0;
	int ret = admin_begin(&a, argc, argv, 1, usage_query);
	if (ret != 0) {
		admin_end(&a);
		return ret < 0 ? 0 : ret;
	}
	int words = argc - a.first - 1 - (fetch ? 1 : 0);
	if (words < 1) {
		fprintf(stderr, "roost %s: missing %s\n", cmd,
			a.first >= argc ? "MAILBOX" : fetch ? "QUERY or FIELDS" : "QUERY");
		usage_query(stderr, cmd);
		admin_end(&a);
		return EX_USAGE;
	}
	const char *name = argv[a.first];
	unsigned int fields = 0;
	if (fetch && fetch_fields_parse(argv[argc - 1], &fields) < 0) {
		admin_end(&a);
		return EX_USAGE;
	}
	struct store_mailbox *box = NULL;
	/* read-only: claims no \Recent; an expunge needs a read-write view */
	if (store_mailbox_open(a.store, name, !expunge, &box) < 0 ||
	    store_mailbox_sync(box, 0, NULL, NULL) < 0) {
		ret = admin_store_error(&a, name);
		if (box != NULL)
			store_mailbox_close(&box);
		admin_end(&a);
		return ret;
	}
	struct pool *pool = pool_create(4096);
	struct imap_parser *parser = NULL;
	struct search_key *program;
	uint32_t *msns = NULL;
	size_t count = 0;
	ret = query_parse(&a, pool, box, argv + a.first + 1, words, &parser, &program);
	if (ret == 0)
		ret = query_run(&a, box, program, &msns, &count);
	if (ret == 0 && expunge) {
		if (count > 0 && store_mailbox_expunge(box, msns, count) < 0)
			ret = admin_store_error(&a, "expunge");
		else
			printf("%zu\n", count);
	} else if (ret == 0 && fetch) {
		for (size_t i = 0; ret == 0 && i < count; i++)
			ret = fetch_one(&a, box, msns[i], fields);
	} else if (ret == 0) {
		for (size_t i = 0; i < count; i++)
			printf("%u\n", store_mailbox_msg(box, msns[i])->uid);
	}
	free(msns);
	imap_parser_destroy(&parser);
	pool_destroy(&pool);
	store_mailbox_close(&box);
	admin_end(&a);
	return ret;
}

int cli_search_main(int argc, char **argv)
{
	return query_main(argc, argv, "search");
}

int cli_expunge_main(int argc, char **argv)
{
	return query_main(argc, argv, "expunge");
}

int cli_fetch_main(int argc, char **argv)
{
	return query_main(argc, argv, "fetch");
}
