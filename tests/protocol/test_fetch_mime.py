"""FETCH of the message model (RFC 9051 6.4.5, 7.5.2): ENVELOPE, BODY,
BODYSTRUCTURE, the ALL and FULL macros and BODY[section] for part paths,
all answered from what the store parsed once when the message arrived
(DESIGN.md "Parse once").  Expectations for the corpus come from
tests/data/mime/*.envelope and *.bodystructure (worked out from the RFC
rules, see tests/data/mime/make-corpus.py)."""
import glob
import os
import re
import sqlite3

from roosttest import expect, server_args, TestFailure

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "..", "data", "mime")

# A sample of the corpus covering every shape: simple, empty, bare LF,
# multiparts nested and broken, message/rfc822 at depth, digests, encoded
# words, RFC 2231, address forms, extension fields, 8-bit headers.
# (03-empty is not here: APPEND refuses an empty message.)
SAMPLE = [
    "01-simple-text", "02-no-header", "04-header-only",
    "05-bare-lf", "06-mixed-line-ends", "07-multipart-mixed",
    "08-multipart-alternative", "09-nested-mixed-alternative",
    "10-message-rfc822", "11-rfc822-multipart-rfc822", "12-digest-default",
    "13-digest-explicit", "14-message-global", "15-rfc822-base64",
    "16-missing-final-boundary", "18-outer-closes-inner",
    "20-preamble-epilogue", "22-multipart-no-boundary",
    "25-content-type-garbage", "29-latin1-header", "30-utf8-header",
    "31-ew-utf8-b", "33-ew-iso2022jp", "36-rfc2231-filename-utf8",
    "37-rfc2231-continuations", "40-address-group",
    "41-address-empty-group", "42-address-obs-route",
    "43-address-quoted-local", "45-address-no-domain",
    "47-empty-sender-reply-to", "50-disposition-inline",
    "51-content-language", "52-content-extension-fields",
    "54-text-params-order", "57-folded-headers", "58-long-header-line",
    "61-deep-nesting", "62-rfc822-nested-5", "69-multipart-signed",
    "70-multipart-report", "71-no-final-newline",
    "77-subject-quotes-backslash", "78-very-long-subject",
]

CRLF = "\r\n"
INNER = ("From: Carol <carol@example.net>\r\n"
         "Subject: inner\r\n"
         "Content-Type: multipart/alternative; boundary=\"in\"\r\n"
         "\r\n"
         "--in\r\n"
         "Content-Type: text/plain\r\n"
         "\r\n"
         "plain inner\r\n"
         "--in\r\n"
         "Content-Type: text/html\r\n"
         "\r\n"
         "<p>html inner</p>\r\n"
         "--in--\r\n")
NESTED = ("From: Alice <alice@example.com>\r\n"
          "To: Bob <bob@example.org>\r\n"
          "Subject: nested\r\n"
          "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
          "MIME-Version: 1.0\r\n"
          "Content-Type: multipart/mixed; boundary=\"out\"\r\n"
          "\r\n"
          "preamble\r\n"
          "--out\r\n"
          "Content-Type: text/plain; charset=utf-8\r\n"
          "\r\n"
          "first part\r\n"
          "--out\r\n"
          "Content-Type: message/rfc822\r\n"
          "Content-Description: forwarded\r\n"
          "\r\n"
          + INNER +
          "--out--\r\n"
          "epilogue\r\n")
INNER_PART = INNER[:-2]      # the CRLF before "--out--" is the boundary's
PART2_MIME = ("Content-Type: message/rfc822\r\n"
              "Content-Description: forwarded\r\n"
              "\r\n")
INNER_HEADER, INNER_TEXT = INNER_PART.split("\r\n\r\n", 1)
INNER_HEADER += "\r\n\r\n"
SINGLE = ("From: a@example.com\r\n"
          "Subject: single\r\n"
          "\r\n"
          "just one part\r\n")


def read(name, ext):
    with open(os.path.join(CORPUS, name + ext), "rb") as f:
        return f.read()


def lit(data):
    """How read_response_line shows a literal: {n} CRLF data."""
    return f"{{{len(data.encode())}}}\r\n{data}"


def as_text(data):
    return data.decode("utf-8", "replace")


def fetch_one(c, msn, items):
    u, _ = c.cmd(f"FETCH {msn} {items}", ok=True)
    expect(len(u) == 1, u)
    return u[0]


def maildir_files(srv, user="demo"):
    files = glob.glob(os.path.join(srv.data_dir, "users", "*", user,
                                   "Maildir", "cur", "*"))
    expect(files, "no message files")
    return files


def test_corpus_envelope_bodystructure(srv):
    c = srv.login()
    for name in SAMPLE:
        try:
            c.append(msg=read(name, ".eml"))
        except TestFailure as e:
            raise TestFailure(f"{name}: {e}")
    c.cmd("SELECT INBOX", ok=True)
    for i, name in enumerate(SAMPLE, 1):
        env = as_text(read(name, ".envelope")).rstrip("\n")
        bs = as_text(read(name, ".bodystructure")).rstrip("\n")
        got = fetch_one(c, i, "(ENVELOPE BODYSTRUCTURE)")
        want = f"* {i} FETCH (ENVELOPE {env} BODYSTRUCTURE {bs})"
        if got != want:
            raise TestFailure(f"{name}:\n  expected {want!r}\n       got {got!r}")


def test_corpus_count():
    # the sample is a real sample, and every corpus file has expectations
    names = sorted(os.path.basename(p)[:-4]
                   for p in glob.glob(os.path.join(CORPUS, "*.eml")))
    expect(len(names) == 78, len(names))
    for n in names:
        expect(os.path.exists(os.path.join(CORPUS, n + ".envelope")), n)
        expect(os.path.exists(os.path.join(CORPUS, n + ".bodystructure")), n)
    expect(set(SAMPLE) <= set(names), set(SAMPLE) - set(names))


def test_message_global_imap4rev2(srv):
    """message/global is a body-type-msg (with envelope and body) only for
    IMAP4rev2 (RFC 9051); RFC 3501 sessions see a basic part.  Both forms
    come from the cache."""
    c = srv.login()
    c.append(msg=read("14-message-global", ".eml"))
    c.cmd("EXAMINE INBOX", ok=True)
    bs1 = as_text(read("14-message-global", ".bodystructure")).rstrip("\n")
    bs2 = as_text(read("14-message-global", ".bodystructure-imap4rev2")).rstrip("\n")
    expect(bs1 != bs2)
    got = fetch_one(c, 1, "BODYSTRUCTURE")
    expect(got == f"* 1 FETCH (BODYSTRUCTURE {bs1})", got)
    c2 = srv.login()
    c2.cmd("ENABLE IMAP4rev2", ok=True)
    c2.cmd("EXAMINE INBOX", ok=True)
    got = fetch_one(c2, 1, "BODYSTRUCTURE")
    expect(got == f"* 1 FETCH (BODYSTRUCTURE {bs2})", got)
    [path] = maildir_files(srv)
    open(path, "wb").close()
    got = fetch_one(c2, 1, "BODYSTRUCTURE")
    expect(got == f"* 1 FETCH (BODYSTRUCTURE {bs2})", got)
    got = fetch_one(c2, 1, "BODY")
    expect(got.startswith('* 1 FETCH (BODY (("message" "global" NIL NIL NIL "7BIT" 53 (NIL '),
           got)


def test_body_is_non_extended(srv):
    c = srv.login()
    c.append(msg=NESTED)
    c.append(msg=SINGLE)
    c.cmd("EXAMINE INBOX", ok=True)
    # types as they appear; a body part ends before the CRLF that
    # precedes the next boundary line (RFC 2046 5.1.1)
    inner = ('(("text" "plain" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 11 1)'
             '("text" "html" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 17 1) '
             '"alternative")')
    inner_env = ('(NIL "inner" (("Carol" NIL "carol" "example.net")) '
                 '(("Carol" NIL "carol" "example.net")) '
                 '(("Carol" NIL "carol" "example.net")) NIL NIL NIL NIL NIL)')
    body = ('(("text" "plain" ("charset" "utf-8") NIL NIL "7BIT" 10 1)'
            f'("message" "rfc822" NIL NIL "forwarded" "7BIT" {len(INNER_PART)} '
            f'{inner_env} {inner} {INNER.count(CRLF)}) "mixed")')
    got = fetch_one(c, 1, "BODY")
    expect(got == f"* 1 FETCH (BODY {body})", got)
    got = fetch_one(c, 2, "body")
    expect(got == '* 2 FETCH (BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") '
           'NIL NIL "7BIT" 15 1))', got)


def test_all_and_full_macros(srv):
    c = srv.login()
    c.append(msg=SINGLE, date="17-Jul-1996 02:44:25 -0700")
    c.cmd("EXAMINE INBOX", ok=True)
    env = ('(NIL "single" ((NIL NIL "a" "example.com")) '
           '((NIL NIL "a" "example.com")) ((NIL NIL "a" "example.com")) '
           'NIL NIL NIL NIL NIL)')
    body = '("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 15 1)'
    head = (f'* 1 FETCH (FLAGS () INTERNALDATE "17-Jul-1996 02:44:25 -0700" '
            f'RFC822.SIZE {len(SINGLE)} ENVELOPE {env}')
    got = fetch_one(c, 1, "ALL")
    expect(got == head + ")", got)
    got = fetch_one(c, 1, "full")
    expect(got == head + f" BODY {body})", got)


def test_nested_sections_exact_bytes(srv):
    c = srv.login()
    c.append(msg=NESTED)
    c.cmd("EXAMINE INBOX", ok=True)
    cases = [
        ("BODY.PEEK[1]", "BODY[1]", "first part"),
        ("BODY.PEEK[1.MIME]", "BODY[1.MIME]",
         "Content-Type: text/plain; charset=utf-8\r\n\r\n"),
        ("BODY.PEEK[2]", "BODY[2]", INNER_PART),
        ("BODY.PEEK[2.MIME]", "BODY[2.MIME]", PART2_MIME),
        ("BODY.PEEK[2.HEADER]", "BODY[2.HEADER]", INNER_HEADER),
        ("BODY.PEEK[2.TEXT]", "BODY[2.TEXT]", INNER_TEXT),
        ("BODY.PEEK[2.1]", "BODY[2.1]", "plain inner"),
        ("BODY.PEEK[2.2]", "BODY[2.2]", "<p>html inner</p>"),
        ("BODY.PEEK[2.2.MIME]", "BODY[2.2.MIME]",
         "Content-Type: text/html\r\n\r\n"),
        ("BODY.PEEK[2.HEADER.FIELDS (Subject FROM)]",
         "BODY[2.HEADER.FIELDS (Subject FROM)]",
         "From: Carol <carol@example.net>\r\nSubject: inner\r\n\r\n"),
        ("BODY.PEEK[2.HEADER.FIELDS.NOT (Content-Type)]",
         "BODY[2.HEADER.FIELDS.NOT (Content-Type)]",
         "From: Carol <carol@example.net>\r\nSubject: inner\r\n\r\n"),
        ("BODY.PEEK[2.1]<2.5>", "BODY[2.1]<2>", "ain i"),
        ("BODY.PEEK[2]<0.6>", "BODY[2]<0>", INNER[:6]),
        ("BODY.PEEK[2.2]<100.5>", "BODY[2.2]<100>", ""),
        ("BODY.PEEK[HEADER.FIELDS (subject)]", "BODY[HEADER.FIELDS (subject)]",
         "Subject: nested\r\n\r\n"),
    ]
    for item, resp, data in cases:
        got = fetch_one(c, 1, item)
        want = f"* 1 FETCH ({resp} {lit(data)})"
        if got != want:
            raise TestFailure(f"{item}:\n  expected {want!r}\n       got {got!r}")
    # parts the message does not have, and HEADER/TEXT of a non-message part
    for item, resp in [("BODY.PEEK[3]", "BODY[3]"), ("BODY.PEEK[1.1]", "BODY[1.1]"),
                       ("BODY.PEEK[2.3]", "BODY[2.3]"),
                       ("BODY.PEEK[1.HEADER]", "BODY[1.HEADER]"),
                       ("BODY.PEEK[2.1.TEXT]", "BODY[2.1.TEXT]")]:
        got = fetch_one(c, 1, item)
        expect(got == f"* 1 FETCH ({resp} NIL)", (item, got))
    # several sections and the structure in one response
    got = fetch_one(c, 1, "(UID BODY.PEEK[2.1] BODY.PEEK[1])")
    expect(got == f"* 1 FETCH (UID 1 BODY[2.1] {lit('plain inner')} "
           f"BODY[1] {lit('first part')})", got)


def test_section_syntax_errors(srv):
    c = srv.login()
    c.append(msg=NESTED)
    c.cmd("SELECT INBOX", ok=True)
    for item in ["BODY[0]", "BODY[1.0]", "BODY[MIME]", "BODY[1.]", "BODY[1.FOO]",
                 "BODY[1..2]", "BODY[01x]", "BODY[1.MIME.TEXT]"]:
        _, t = c.cmd(f"FETCH 1 {item}", ok=False)
        expect(" BAD " in t, (item, t))
    # nothing was fetched, so nothing became \Seen
    got = fetch_one(c, 1, "FLAGS")
    expect(got == "* 1 FETCH (FLAGS (\\Recent))", got)


def test_single_part_body_1(srv):
    c = srv.login()
    c.append(msg=SINGLE)
    c.cmd("EXAMINE INBOX", ok=True)
    got = fetch_one(c, 1, "BODY.PEEK[1]")
    expect(got == f"* 1 FETCH (BODY[1] {lit('just one part' + CRLF)})", got)
    got = fetch_one(c, 1, "BODY.PEEK[1.MIME]")
    expect(got == f"* 1 FETCH (BODY[1.MIME] {lit(SINGLE.split(CRLF + CRLF)[0] + CRLF + CRLF)})",
           got)
    got = fetch_one(c, 1, "BODY.PEEK[2]")
    expect(got == "* 1 FETCH (BODY[2] NIL)", got)


def test_implicit_seen_for_part_sections(srv):
    c = srv.login()
    c.append(msg=NESTED)
    c.append(msg=NESTED)
    c.cmd("SELECT INBOX", ok=True)
    got = fetch_one(c, 1, "(ENVELOPE BODYSTRUCTURE BODY.PEEK[2.1])")
    expect("FLAGS" not in got, got)
    got = fetch_one(c, 1, "BODY[2.1]")
    expect(got == f"* 1 FETCH (FLAGS (\\Seen \\Recent) BODY[2.1] {lit('plain inner')})", got)
    got = fetch_one(c, 2, "BODY[1.MIME]")
    expect(got.startswith("* 2 FETCH (FLAGS (\\Seen \\Recent) BODY[1.MIME] "), got)
    # EXAMINE: read-only, no \Seen
    c.cmd("EXAMINE INBOX", ok=True)
    c.cmd("STORE 1:2 -FLAGS (\\Seen)", ok=False)


def test_parse_once_file_replaced(srv):
    """After APPEND the message file is overwritten with other bytes: the
    cached ENVELOPE, BODY and BODYSTRUCTURE still answer exactly, so FETCH
    did not parse the file again.  BODY[] shows the file really changed."""
    c = srv.login()
    msg = read("11-rfc822-multipart-rfc822", ".eml")
    c.append(msg=msg)
    c.cmd("EXAMINE INBOX", ok=True)
    env = as_text(read("11-rfc822-multipart-rfc822", ".envelope")).rstrip("\n")
    bs = as_text(read("11-rfc822-multipart-rfc822", ".bodystructure")).rstrip("\n")
    before = fetch_one(c, 1, "(ENVELOPE BODY BODYSTRUCTURE)")
    [path] = maildir_files(srv)
    with open(path, "wb") as f:
        # same size, so nothing else notices; a re-parse gives another
        # structure (no header, text/plain, one line)
        f.write(b"x" * len(msg))
    c2 = srv.login()
    c2.cmd("EXAMINE INBOX", ok=True)
    for conn in (c, c2):
        got = fetch_one(conn, 1, "(ENVELOPE BODY BODYSTRUCTURE)")
        expect(got == before, got)
        got = fetch_one(conn, 1, "(ENVELOPE BODYSTRUCTURE)")
        expect(got == f"* 1 FETCH (ENVELOPE {env} BODYSTRUCTURE {bs})", got)
        got = fetch_one(conn, 1, "BODY.PEEK[]<0.4>")
        expect(got == f"* 1 FETCH (BODY[]<0> {lit('xxxx')})", got)
    # and with the file gone altogether
    os.unlink(path)
    got = fetch_one(c2, 1, "(ENVELOPE BODYSTRUCTURE)")
    expect(got == f"* 1 FETCH (ENVELOPE {env} BODYSTRUCTURE {bs})", got)


def test_copy_and_move_keep_the_cache(srv):
    c = srv.login()
    msg = read("09-nested-mixed-alternative", ".eml")
    c.append(msg=msg)
    c.cmd("SELECT INBOX", ok=True)
    want = fetch_one(c, 1, "(ENVELOPE BODY BODYSTRUCTURE)")
    c.cmd("COPY 1 Archive", ok=True)
    c.cmd("MOVE 1 Trash", ok=True)
    # the files are hard links of one inode: emptying one empties all, so
    # only the cache can answer
    for p in glob.glob(os.path.join(srv.data_dir, "users", "*", "demo",
                                    "Maildir", "*", "cur", "*")):
        open(p, "wb").close()
    for box in ("Archive", "Trash"):
        c.cmd(f"EXAMINE {box}", ok=True)
        got = fetch_one(c, 1, "(ENVELOPE BODY BODYSTRUCTURE)")
        expect(got == want, (box, got))


def test_cache_computed_for_mail_dropped_into_new(srv):
    """Mail another program drops into new/ has no cache yet: it is parsed
    on first use and then served from the index."""
    c = srv.login()
    c.append(msg=SINGLE)
    [path] = maildir_files(srv)
    new_dir = os.path.join(os.path.dirname(os.path.dirname(path)), "new")
    with open(os.path.join(new_dir, "1700000000.M1P1.test"), "wb") as f:
        f.write(read("10-message-rfc822", ".eml"))
    c.cmd("EXAMINE INBOX", ok=True)
    env = as_text(read("10-message-rfc822", ".envelope")).rstrip("\n")
    bs = as_text(read("10-message-rfc822", ".bodystructure")).rstrip("\n")
    got = fetch_one(c, 2, "(ENVELOPE BODYSTRUCTURE)")
    expect(got == f"* 2 FETCH (ENVELOPE {env} BODYSTRUCTURE {bs})", got)
    got = fetch_one(c, 2, "BODY.PEEK[2.TEXT]")
    expect(got == f"* 2 FETCH (BODY[2.TEXT] {lit('Inner body.')})", got)
    # now cached: the file's bytes no longer matter
    for p in maildir_files(srv):
        if os.path.getsize(p) == len(read("10-message-rfc822", ".eml")):
            open(p, "wb").close()
    got = fetch_one(c, 2, "(ENVELOPE BODYSTRUCTURE)")
    expect(got == f"* 2 FETCH (ENVELOPE {env} BODYSTRUCTURE {bs})", got)


def test_schema_1_index_is_migrated(srv):
    """An index from schema 1 (no cache columns) is migrated to 3 when the
    store opens; its old rows are parsed on first FETCH and the result is
    kept in the index."""
    c = srv.login()
    c.append(msg=read("07-multipart-mixed", ".eml"))
    c.line("a LOGOUT")
    while not c.readline().startswith("a OK"):
        pass
    c.close()
    [index] = glob.glob(os.path.join(srv.data_dir, "users", "*", "demo",
                                     "index.sqlite"))
    db = sqlite3.connect(index)
    cols = "mailbox, uid, file, flags, keywords, modseq, internaldate, tz, size, header_size"
    db.executescript(f"""
        BEGIN;
        CREATE TABLE old AS SELECT {cols} FROM messages;
        DROP TABLE messages;
        CREATE TABLE messages (mailbox INTEGER NOT NULL, uid INTEGER NOT NULL,
          file TEXT NOT NULL, flags INTEGER NOT NULL, keywords INTEGER NOT NULL,
          modseq INTEGER NOT NULL, internaldate INTEGER NOT NULL,
          tz INTEGER NOT NULL, size INTEGER NOT NULL,
          header_size INTEGER NOT NULL, PRIMARY KEY (mailbox, uid)) WITHOUT ROWID;
        CREATE INDEX messages_modseq ON messages (mailbox, modseq);
        INSERT INTO messages SELECT * FROM old;
        DROP TABLE old;
        PRAGMA user_version = 1;
        COMMIT;
    """)
    db.close()
    c = srv.login()
    c.cmd("EXAMINE INBOX", ok=True)
    env = as_text(read("07-multipart-mixed", ".envelope")).rstrip("\n")
    bs = as_text(read("07-multipart-mixed", ".bodystructure")).rstrip("\n")
    got = fetch_one(c, 1, "(ENVELOPE BODYSTRUCTURE)")
    expect(got == f"* 1 FETCH (ENVELOPE {env} BODYSTRUCTURE {bs})", got)
    db = sqlite3.connect(index)
    expect(db.execute("PRAGMA user_version").fetchone()[0] == 3)
    row = db.execute("SELECT envelope, bodystructure, length(body), length(part_map) "
                     "FROM messages").fetchone()
    db.close()
    expect(row[0] == env and row[1] == bs and row[2] > 0 and row[3] > 0, row)


@server_args(lmtp=True)
def test_lmtp_delivery_has_the_cache(srv):
    msg = read("10-message-rfc822", ".eml")     # CRLF already
    c = srv.lmtp()
    expect(c.readline().startswith("220 "))
    c.conv("""
    C: LHLO client.example
    """)
    while not c.readline().startswith("250 "):
        pass
    c.conv("""
    C: MAIL FROM:<alice@example.com>
    S~ 250 .*
    C: RCPT TO:<demo>
    S~ 250 .*
    C: DATA
    S~ 354 .*
    """)
    c.send(msg + b".\r\n")
    line = c.readline()
    expect(line.startswith("250 "), line)
    i = srv.login()
    i.cmd("EXAMINE INBOX", ok=True)
    env = as_text(read("10-message-rfc822", ".envelope")).rstrip("\n")
    bs = as_text(read("10-message-rfc822", ".bodystructure")).rstrip("\n")
    want = f"* 1 FETCH (ENVELOPE {env} BODYSTRUCTURE {bs})"
    got = fetch_one(i, 1, "(ENVELOPE BODYSTRUCTURE)")
    expect(got == want, got)
    for p in maildir_files(srv):
        open(p, "wb").close()
    got = fetch_one(i, 1, "(ENVELOPE BODYSTRUCTURE)")
    expect(got == want, got)


def test_roost_deliver_has_the_cache(srv):
    msg = read("10-message-rfc822", ".eml").decode()
    srv.roost("deliver", "-c", srv.conf, "-u", "demo", "-f", "a@example.com",
              input=msg)
    env = as_text(read("10-message-rfc822", ".envelope")).rstrip("\n")
    bs = as_text(read("10-message-rfc822", ".bodystructure")).rstrip("\n")
    want = f"* 1 FETCH (ENVELOPE {env} BODYSTRUCTURE {bs})"
    for p in maildir_files(srv):
        open(p, "wb").close()
    c = srv.login()
    c.cmd("EXAMINE INBOX", ok=True)
    got = fetch_one(c, 1, "(ENVELOPE BODYSTRUCTURE)")
    expect(got == want, got)


def test_rebuilt_index_parses_on_first_use(srv):
    """`roost check --rebuild` makes rows without the cache; the first FETCH
    parses each message once and the index keeps the result."""
    c = srv.login()
    c.append(msg=read("62-rfc822-nested-5", ".eml"))
    c.append(msg=NESTED)
    c.line("a LOGOUT")
    while not c.readline().startswith("a OK"):
        pass
    c.close()
    srv.stop()
    userdir = glob.glob(os.path.join(srv.data_dir, "users", "*", "demo"))[0]
    for suffix in ("", "-wal", "-shm"):
        p = os.path.join(userdir, "index.sqlite" + suffix)
        if os.path.exists(p):
            os.unlink(p)
    srv.roost("check", "-c", srv.conf, "--rebuild", "demo")
    db = sqlite3.connect(os.path.join(userdir, "index.sqlite"))
    rows = db.execute("SELECT envelope, part_map FROM messages").fetchall()
    db.close()
    expect(rows == [(None, None), (None, None)], rows)
    srv.start()
    env = as_text(read("62-rfc822-nested-5", ".envelope")).rstrip("\n")
    bs = as_text(read("62-rfc822-nested-5", ".bodystructure")).rstrip("\n")
    c = srv.login()
    c.cmd("EXAMINE INBOX", ok=True)
    got = fetch_one(c, 1, "(ENVELOPE BODYSTRUCTURE)")
    expect(got == f"* 1 FETCH (ENVELOPE {env} BODYSTRUCTURE {bs})", got)
    got = fetch_one(c, 2, "BODY.PEEK[2.2]")
    expect(got == f"* 2 FETCH (BODY[2.2] {lit('<p>html inner</p>')})", got)
    for p in maildir_files(srv):
        open(p, "wb").close()
    got = fetch_one(c, 1, "(ENVELOPE BODYSTRUCTURE)")
    expect(got == f"* 1 FETCH (ENVELOPE {env} BODYSTRUCTURE {bs})", got)
