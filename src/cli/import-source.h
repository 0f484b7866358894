/* import-source.h: reading the mail formats `roost import` takes, from
 * bytes in memory: mbox files (mboxrd and mboxo), Maildir file names,
 * and the UID lists of Dovecot (dovecot-uidlist, dovecot-keywords) and
 * Courier (courierimapuiddb).  Pure parsers: no files, no store, so
 * that the fuzz targets (tests/fuzz/fuzz-import.c) reach all of them.
 * Every parser takes any bytes; what does not parse is reported, never
 * a crash. */
#ifndef ROOST_CLI_IMPORT_SOURCE_H
#define ROOST_CLI_IMPORT_SOURCE_H

#include "base/base.h"
#include "base/str.h"

#include <time.h>

/* ---- mbox ---- */

/* How ">From " lines are unquoted.  Both take one '>' off ">From ";
 * mboxrd also off ">>From ", ">>>From ", ... (a writer quotes every
 * ">*From " line), mboxo leaves those (its writer quoted "From " only). */
enum import_mbox_format { IMPORT_MBOX_RD, IMPORT_MBOX_O };

/* An mbox file in memory, read message by message. */
struct import_mbox {
	const char *data;
	size_t size, pos;
};

/* One message of an mbox file: its bytes as the file has them (quoted,
 * LF or CRLF), without its From_ line and without the one empty line
 * before the next From_ line.  Points into the file's bytes. */
struct import_mbox_msg {
	const char *text;
	size_t text_len;
	uint64_t offset;	/* of its From_ line in the file */
	/* the From_ line's date (UTC; the line has no zone, or its zone
	 * is applied): has_date false when it did not parse */
	bool has_date;
	time_t date;
	/* the file ends inside the message: it has no line end at the
	 * end, as a file cut short (an interrupted copy) would */
	bool truncated;
};

void import_mbox_init(struct import_mbox *mbox, const void *data, size_t size);
/* The next message in *msg_r: 1, 0 at the end of the file, -1 with
 * *error_r (static) when the file is not an mbox (its first line is no
 * "From " line; an empty file is an empty mbox).  A message's end is the
 * next line that starts with "From " and has a date that parses
 * (import_mbox_from_date()): a "From " line without one is text of the
 * message, as an unquoting writer leaves it. */
int import_mbox_next(struct import_mbox *mbox, struct import_mbox_msg *msg_r,
		     const char **error_r);
/* The date of a From_ line's text after "From " ("sender Www Mmm dd
 * hh:mm[:ss] [zone] yyyy [zone] ..."), up to its line end (line_len
 * bytes): 0 with *date_r (UTC; a missing zone is UTC, the zone of a
 * line `roost export` writes), or -1. */
int import_mbox_from_date(const char *line, size_t line_len, time_t *date_r);

/* What a message's header says about its flags in an mbox: Status: (R
 * \Seen), X-Status: (A \Answered, F \Flagged, T \Draft, D \Deleted) and
 * X-Keywords: (names separated by spaces or commas; those that cannot
 * be IMAP keywords are left out and counted). */
struct import_meta {
	uint32_t flags;		/* enum store_flag */
	struct str keywords;	/* names, each followed by a NUL */
	size_t keyword_count;
	size_t bad_keywords;
};

/* Turns a message's bytes as a source has them into what is stored:
 * with `mbox` set, ">From " lines unquoted as `format` says, and the
 * header fields that Dovecot's mbox hides from clients (Status,
 * X-Status, X-Keywords, X-UID, X-IMAP, X-IMAPbase, Content-Length)
 * removed, their flags and keywords into *meta; always, bare LF made
 * CRLF.  Appends to *out (which the caller clears); meta may be NULL
 * without `mbox`.  meta->keywords must be initialised (STR_INIT) and is
 * cleared here. */
void import_message_convert(const char *text, size_t len, bool mbox,
			    enum import_mbox_format format, struct str *out,
			    struct import_meta *meta);
/* Whether `name` can be an IMAP keyword (an atom without '\'-prefix,
 * RFC 9051 flag-keyword), up to len bytes. */
bool import_keyword_is_valid(const char *name, size_t len);

/* ---- Maildir ---- */

/* What a Maildir file name says: the unique part (before ':'), and the
 * flags of ":2," info.  keyword_letters has a bit for each of 'a'..'z'
 * (Dovecot's keywords, dovecot-keywords).  has_info false: no ":2,"
 * part; bad_flags: characters that are no flag letters (left out). */
struct import_maildir_name {
	size_t unique_len;
	bool has_info;
	uint32_t flags;		/* enum store_flag */
	uint32_t keyword_letters;
	unsigned int bad_flags;
};
void import_maildir_name_parse(const char *name, struct import_maildir_name *name_r);

/* A UID list: Dovecot's dovecot-uidlist (version 1 or 3) or Courier's
 * courierimapuiddb (version 1).  Entries keep the file's order. */
struct import_uidlist_entry {
	uint32_t uid;
	char *unique;		/* the file name up to ':' */
};
struct import_uidlist {
	uint32_t uidvalidity, uidnext;
	struct import_uidlist_entry *entries;
	size_t count;
	/* lines that did not parse (left out) */
	size_t bad_lines;
};
/* Parses a dovecot-uidlist ("3 V<uidvalidity> N<nextuid> G<guid>" or
 * "1 <uidvalidity> <nextuid>", then "<uid> [<ext>...] :<name>" (3) or
 * "<uid> <name>" (1) lines) or, with `courier`, a courierimapuiddb ("1
 * <uidvalidity> <nextuid>", then "<uid> <name>").  0, or -1 with
 * *error_r (static) when the header line is not one of those; then
 * *list_r is empty.  Lines with a UID of 0 or not above the one before
 * are left out (counted).  Free with import_uidlist_free(). */
int import_uidlist_parse(const char *data, size_t size, bool courier,
			 struct import_uidlist *list_r, const char **error_r);
void import_uidlist_free(struct import_uidlist *list);
/* The UID of the entry with unique part `unique` (unique_len bytes), or
 * 0.  The list must have been sorted with import_uidlist_sort(). */
uint32_t import_uidlist_lookup(const struct import_uidlist *list, const char *unique,
			       size_t unique_len);
void import_uidlist_sort(struct import_uidlist *list);

/* dovecot-keywords: "<index> <name>" lines, index 0-25 for the letters
 * 'a'-'z'.  names[i] is the name of letter 'a' + i (xmalloc'd) or NULL;
 * lines that do not parse and names that cannot be keywords are left
 * out and counted in *bad_r.  Free with import_keywords_free(). */
void import_keywords_parse(const char *data, size_t size, char *names[26],
			   size_t *bad_r);
void import_keywords_free(char *names[26]);

#endif
