/* cmd-deliver.c: `roost deliver`, the local delivery agent: one message on
 * stdin into one user's store, for MTAs that pipe (Postfix
 * mailbox_command, procmail, fetchmail).
 *
 * It takes the same path as LMTP (lmtp/deliver.h): recipient resolution,
 * trace headers, an append that is on disk before we exit 0.  The exit
 * code is what the MTA acts on, so every failure maps to a sysexits.h
 * code: EX_TEMPFAIL makes the MTA try again later, the others bounce.
 *
 * The user's Sieve scripts run as for LMTP.  An ereject (RFC 5429 2.1)
 * exits EX_NOPERM with the reason on stderr, as Dovecot's LDA does with
 * -e: the exit code is this agent's protocol-level refusal, the most
 * preferred of RFC 5429 2.1's choices, and the MTA then bounces with the
 * reason. */
#include "cli.h"
#include "auth/auth.h"
#include "base/log.h"
#include "conf/conf.h"
#include "lmtp/deliver.h"
#include "sieve/run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define DELIVER_READ_BUF (64 * 1024)

static void cli_deliver_usage(FILE *out)
{
	fprintf(out,
		"usage: roost deliver [-c FILE] -u USER [-f SENDER] [-m MAILBOX] < MESSAGE\n"
		"\n"
		"Delivers the message on stdin into USER's mail store (INBOX, or MAILBOX\n"
		"if it exists), adding Return-Path and Delivered-To headers; the user's\n"
		"Sieve script, if any, decides where it goes (MAILBOX is then where\n"
		"keep files it).  Lines may\n"
		"end in LF or CRLF; a leading mbox \"From \" line is dropped.  Running IMAP\n"
		"sessions see the message at once.  Started as root, it runs as the\n"
		"config's `user` (the server's), so the files it writes are the server's.\n"
		"\n"
		"  -c, --config FILE  config file (default " CLI_DEFAULT_CONFIG
		" if it exists)\n"
		"  -u USER            recipient: a user of the database, user@domain or\n"
		"                     user+detail@domain (see recipient_delimiter)\n"
		"  -f SENDER          envelope sender for Return-Path (default: $SENDER,\n"
		"                     else empty)\n"
		"  -m MAILBOX         mailbox to deliver to (UTF-8, '/' separated)\n"
		"  -h, --help         this text\n"
		"\n"
		"Exit codes (sysexits.h): 0 delivered, 64 usage, 65 message too big,\n"
		"67 no such user, 74 cannot read the message, 75 temporary failure\n"
		"(the MTA retries), 77 refused by the user's Sieve script (ereject;\n"
		"the reason on stderr), 78 bad config.\n");
}

/* Copies stdin to an unnamed file with CRLF line ends, dropping a first
 * "From " line.  Returns 0, EX_DATAERR if over max_size, EX_IOERR or
 * EX_TEMPFAIL. */
static int cli_deliver_spool(int in, int out, uint64_t max_size, uint64_t *size_r)
{
	unsigned char *buf = xmalloc(DELIVER_READ_BUF);
	unsigned char *obuf = xmalloc(DELIVER_READ_BUF * 2);
	uint64_t size = 0;
	bool first_line = true, skipping = false, prev_cr = false;
	int ret = 0;
	for (;;) {
		ssize_t n = read(in, buf, DELIVER_READ_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "roost deliver: reading stdin: %s\n", strerror(errno));
			ret = EX_IOERR;
			break;
		}
		if (n == 0)
			break;
		ssize_t i = 0;
		if (first_line) {
			first_line = false;
			skipping = n >= 5 && memcmp(buf, "From ", 5) == 0;
		}
		if (skipping) {
			/* the mbox "From " line, to its LF */
			while (i < n && buf[i] != '\n')
				i++;
			if (i == n)
				continue;
			skipping = false;
			i++;
		}
		size_t o = lf_to_crlf(buf + i, (size_t)(n - i), obuf, &prev_cr);
		size += o;
		if (size > max_size) {
			ret = EX_DATAERR;
			break;
		}
		if (write_full(out, obuf, o) < 0) {
			fprintf(stderr, "roost deliver: writing the spool file: %s\n",
				strerror(errno));
			ret = EX_TEMPFAIL;
			break;
		}
	}
	free(buf);
	free(obuf);
	*size_r = size;
	return ret;
}

/* Opens the store of `rcpt` and delivers the spooled message through its
 * Sieve scripts.  Returns the exit code. */
static int cli_deliver_store(const struct roost_config *config,
			     const struct lmtp_recipient *rcpt, const char *address,
			     const char *sender, const char *mailbox,
			     const struct str *prefix, int fd, uint64_t size)
{
	struct store_settings set;
	struct store *store;
	const char *error;

	store_settings_init(&set, config);
	if (store_open(&set, rcpt->user, &store, &error) < 0) {
		log_error("roost deliver: cannot open the store of %s: %s", rcpt->user, error);
		fprintf(stderr, "roost deliver: delivery to %s failed\n", address);
		return EX_TEMPFAIL;
	}
	struct istream *spool = istream_from_fd_borrowed(fd);
	struct sieve_delivery d = {
		.config = config,
		.store = store,
		.user = rcpt->user,
		.mailbox = mailbox,
		.prefix = prefix,
		.spool = spool,
		.size = size,
		.envelope_from = sender,
		.envelope_to = address,
		.log_prefix = "roost deliver",
		.now = time(NULL),
	};
	struct sieve_delivery_result res;
	int ret = 0;
	if (sieve_run_deliver(&d, &res) < 0) {
		fprintf(stderr, "roost deliver: delivery to %s failed\n", address);
		ret = EX_TEMPFAIL;
	} else if (res.status == SIEVE_DELIVERY_REJECTED) {
		fprintf(stderr, "%s\n", res.reason);
		ret = EX_NOPERM;
	}
	istream_destroy(&spool);
	store_close(&store);
	sieve_run_cache_clear();
	return ret;
}

struct deliver_resolved {
	int found;
	struct lmtp_recipient rcpt;
};

static void deliver_resolved(int ret, const struct lmtp_recipient *rcpt, void *ctx)
{
	struct deliver_resolved *resolved = ctx;
	resolved->found = ret;
	if (ret == 1)
		resolved->rcpt = *rcpt;
}

int cli_deliver_main(int argc, char **argv)
{
	const char *config_path = NULL, *user = NULL, *mailbox = NULL;
	const char *sender = getenv("SENDER");
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if ((strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0) && i + 1 < argc) {
			config_path = argv[++i];
		} else if (strcmp(arg, "-u") == 0 && i + 1 < argc) {
			user = argv[++i];
		} else if (strcmp(arg, "-f") == 0 && i + 1 < argc) {
			sender = argv[++i];
		} else if (strcmp(arg, "-m") == 0 && i + 1 < argc) {
			mailbox = argv[++i];
		} else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			cli_deliver_usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "roost deliver: unknown argument '%s'\n", arg);
			cli_deliver_usage(stderr);
			return EX_USAGE;
		}
	}
	if (user == NULL || user[0] == '\0') {
		fprintf(stderr, "roost deliver: -u USER is required\n");
		cli_deliver_usage(stderr);
		return EX_USAGE;
	}
	if (sender == NULL)
		sender = "";
	if (strlen(user) > LMTP_ADDRESS_MAX || strlen(sender) > LMTP_ADDRESS_MAX ||
	    strpbrk(sender, "\r\n<>") != NULL) {
		fprintf(stderr, "roost deliver: user or sender is not a valid address\n");
		return EX_USAGE;
	}
	struct roost_config *config = cli_config_load(config_path, "deliver");
	if (config == NULL)
		return EX_CONFIG;
	log_init("roost deliver", config->log_syslog, LOG_LEVEL_WARNING);
	log_set_format(config->log_json ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT);
	int switched = cli_switch_user(config, "deliver");
	if (switched != 0) {
		config_free(&config);
		return switched;
	}

	/* user@domain: the domain is after the last '@' */
	char local[LMTP_ADDRESS_MAX + 1], domain[LMTP_ADDRESS_MAX + 1] = "";
	snprintf(local, sizeof(local), "%s", user);
	char *at = strrchr(local, '@');
	if (at != NULL) {
		snprintf(domain, sizeof(domain), "%s", at + 1);
		*at = '\0';
	}
	struct auth *auth = auth_create(config);
	struct deliver_resolved resolved = { .found = -1 };
	/* no event loop here: the answer comes before this returns */
	struct lmtp_resolve *pending = lmtp_deliver_resolve(auth, config, local, domain,
							    deliver_resolved, &resolved);
	if (pending != NULL)
		i_panic("roost deliver: user lookup did not answer inline");
	auth_destroy(&auth);
	int found = resolved.found;
	struct lmtp_recipient rcpt = resolved.rcpt;
	if (found != 1) {
		if (found == -1)
			fprintf(stderr, "roost deliver: cannot read the user database\n");
		else
			fprintf(stderr, "roost deliver: %s: no such user\n", user);
		config_free(&config);
		return found == -1 ? EX_TEMPFAIL : EX_NOUSER;
	}

	int fd = spool_file_open(config->data_dir);
	if (fd < 0) {
		fprintf(stderr, "roost deliver: cannot create a spool file: %s\n",
			strerror(errno));
		config_free(&config);
		return EX_TEMPFAIL;
	}
	uint64_t size;
	int ret = cli_deliver_spool(STDIN_FILENO, fd, config->lmtp_max_message_size, &size);
	if (ret == EX_DATAERR)
		fprintf(stderr, "roost deliver: message larger than lmtp_max_message_size\n");
	if (ret == 0) {
		struct str prefix = STR_INIT;
		lmtp_deliver_trace_headers(&prefix, sender, user, NULL, NULL, NULL, NULL,
					   time(NULL));
		if (mailbox == NULL)
			mailbox = lmtp_deliver_detail_mailbox(config, &rcpt);
		ret = cli_deliver_store(config, &rcpt, user, sender, mailbox, &prefix, fd, size);
		str_free(&prefix);
	}
	close(fd);
	config_free(&config);
	return ret;
}
