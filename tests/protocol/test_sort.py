"""SORT and UID SORT (RFC 5256 section 3), DISPLAYFROM/DISPLAYTO (RFC
5957), ESORT's RETURN options (RFC 5267 section 3) and the keys cached at
delivery (DESIGN.md "Parse once": SORT never opens a message file once the
keys are in the index).

Every expected order below is worked out by hand from the message table in
MSGS and the RFC rules quoted next to it; the tests never compute an order
with the algorithm they check."""
import glob
import os
import re
import sqlite3

from roosttest import expect, server_args
from test_objectid import UNDO_SCHEMA_8

# msn: (headers, INTERNALDATE).  Sent dates in UTC (RFC 5256 2.2):
#  1  2020-01-01 10:00      2  09:00 -0200 = 11:00
#  3  no Date: -> INTERNALDATE 2020-01-02 00:00
#  4  31 Dec 2019 23:00 -0300 = 2020-01-01 02:00
#  5  11:00 +0000 (ties with 2: mailbox order decides)
MSGS = [
    ("From: Aaron <zed@b.example>\r\n"
     "To: alice@x.example\r\n"
     "Cc: carol@x.example\r\n"
     "Subject: Re: apple\r\n"
     "Date: Wed, 01 Jan 2020 10:00:00 +0000\r\n",
     "05-Jan-2020 00:00:00 +0000"),
    ("From: =?UTF-8?Q?=C3=89mile?= <bob@a.example>\r\n"
     "To: \"Bob\" <zoe@x.example>\r\n"
     "Subject: =?UTF-8?B?YmFuYW5h?=\r\n"
     "Date: Wed, 01 Jan 2020 09:00:00 -0200\r\n",
     "01-Jan-2020 00:00:00 +0000"),
    ("From: amy@c.example\r\n"
     "Cc: Bob <bob@x.example>, carol@x.example\r\n"
     "Subject: [fwd: Apple]\r\n",
     "02-Jan-2020 00:00:00 +0000"),
    ("To: \"\" <beth@x.example>\r\n"
     "Date: Tue, 31 Dec 2019 23:00:00 -0300\r\n",
     "03-Jan-2020 00:00:00 +0000"),
    ("From: Adam <adam@d.example>\r\n"
     "To: Carl <carl@x.example>\r\n"
     "Subject: Fwd: Re: cherry (fwd)\r\n"
     "Date: Wed, 01 Jan 2020 11:00:00 +0000\r\n",
     "04-Jan-2020 00:00:00 +0000"),
]
# bodies of distinct lengths, so SIZE has no ties: sizes ascend as
# 3 < 1 < 5 < 2 < 4
BODIES = {1: "b" * 200, 2: "b" * 400, 3: "b" * 100, 4: "b" * 500, 5: "b" * 300}

EXPECT = {
    # INTERNALDATE: 2 (1 Jan) 3 (2 Jan) 4 (3 Jan) 5 (4 Jan) 1 (5 Jan)
    "ARRIVAL": [2, 3, 4, 5, 1],
    "REVERSE ARRIVAL": [1, 5, 4, 3, 2],
    # sent dates above; 2 and 5 tie at 11:00 UTC -> msn order
    "DATE": [4, 1, 2, 5, 3],
    # REVERSE reverses DATE only, not the implicit msn criterion: the
    # 2/5 tie stays 2 5
    "REVERSE DATE": [3, 2, 5, 1, 4],
    # addr-mailbox (local part) of the first From: zed, bob, amy,
    # "" (no From: sorts first), adam
    "FROM": [4, 5, 3, 2, 1],
    # first To: alice, zoe, "" (none), beth, carl
    "TO": [3, 1, 4, 5, 2],
    # first Cc: carol, "", bob, "", "" -> the three empties in msn order
    "CC": [2, 4, 5, 3, 1],
    # base subjects: apple, banana (RFC 2047 B), Apple ("[fwd: ...]"),
    # "" (none), cherry ("Fwd: Re: ... (fwd)"); apple = Apple under
    # i;unicode-casemap, so 1 before 3 by msn
    "SUBJECT": [4, 1, 3, 2, 5],
    "REVERSE SUBJECT": [5, 2, 1, 3, 4],
    # display names: Aaron, Émile (RFC 2047), none -> amy@c.example,
    # no From -> "", Adam.  "E\u0301MILE" sorts after "AMY@..."
    "DISPLAYFROM": [4, 1, 5, 3, 2],
    # To: alice@x.example (no name), Bob, "" (no To), "" name ->
    # beth@x.example, Carl
    "DISPLAYTO": [3, 1, 4, 2, 5],
    "SIZE": [3, 1, 5, 2, 4],
    "REVERSE SIZE": [4, 2, 5, 1, 3],
    # subject groups "" | apple (1: 1 Jan 10:00, 3: 2 Jan) reversed by
    # date | banana | cherry
    "SUBJECT REVERSE DATE": [4, 3, 1, 2, 5],
    # Cc "" group {2 bob, 4 "", 5 adam} by FROM, then 3 (bob), 1 (carol)
    "CC FROM": [4, 5, 2, 3, 1],
    # same From for none: FROM alone decides; ARRIVAL never reached
    "FROM ARRIVAL": [4, 5, 3, 2, 1],
    # To "" (3), alice (1), beth (4), carl (5), zoe (2); DATE unused
    "TO REVERSE DATE": [3, 1, 4, 5, 2],
}


def message(i):
    head, _ = MSGS[i - 1]
    return head + "\r\n" + BODIES[i] + "\r\n"


def setup(srv, uid_offset=False):
    """Appends MSGS; with uid_offset a first message is expunged so that
    UIDs are msn + 1."""
    c = srv.login()
    if uid_offset:
        c.append(msg="Subject: gone\r\n\r\nx\r\n")
    for i in range(1, len(MSGS) + 1):
        c.append(msg=message(i), date=MSGS[i - 1][1])
    c.cmd("SELECT INBOX", ok=True)
    if uid_offset:
        c.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)", ok=True)
        c.cmd("EXPUNGE", ok=True)
    return c


def expect_sort(c, args, want, prefix="SORT"):
    u, t = c.cmd(f"{prefix} {args}", ok=True)
    line = "* SORT" + "".join(f" {n}" for n in want)
    expect(u == [line], f"{prefix} {args}: got {u}, want {line!r}")


def test_sizes_are_what_the_table_says(srv):
    """The SIZE expectations rest on these lengths."""
    sizes = {i: len(message(i).encode()) for i in range(1, 6)}
    expect(sizes[3] < sizes[1] < sizes[5] < sizes[2] < sizes[4], sizes)
    c = setup(srv)
    u, _ = c.cmd("FETCH 1:5 RFC822.SIZE", ok=True)
    expect(u == [f"* {i} FETCH (RFC822.SIZE {sizes[i]})" for i in range(1, 6)], u)


def test_every_criterion(srv):
    c = setup(srv)
    for crit, want in EXPECT.items():
        expect_sort(c, f"({crit}) UTF-8 ALL", want)


def test_criteria_are_case_insensitive_and_charset_quoted(srv):
    c = setup(srv)
    expect_sort(c, '(reverse date) "utf-8" ALL', EXPECT["REVERSE DATE"])
    expect_sort(c, "(Subject) US-ASCII ALL", EXPECT["SUBJECT"])


def test_uid_sort(srv):
    c = setup(srv, uid_offset=True)
    for crit in ("DATE", "SUBJECT", "REVERSE ARRIVAL", "DISPLAYFROM"):
        expect_sort(c, f"({crit}) UTF-8 ALL", [n + 1 for n in EXPECT[crit]],
                    prefix="UID SORT")
        expect_sort(c, f"({crit}) UTF-8 ALL", EXPECT[crit])
    # the search keys of UID SORT are interpreted as in SORT: msns
    expect_sort(c, "(DATE) UTF-8 1:3", [2, 3, 4], prefix="UID SORT")
    expect_sort(c, "(DATE) UTF-8 UID 2:4", [1, 2, 3])


def test_search_criteria_combined(srv):
    c = setup(srv)
    c.cmd("STORE 2,5 +FLAGS.SILENT (\\Flagged)", ok=True)
    # INTERNALDATE on or after 3 Jan: 1, 4, 5 -> by DATE 4 1 5
    expect_sort(c, "(DATE) UTF-8 SINCE 03-Jan-2020", [4, 1, 5])
    expect_sort(c, "(SUBJECT) UTF-8 FLAGGED", [2, 5])
    expect_sort(c, "(REVERSE SUBJECT) UTF-8 NOT FLAGGED", [1, 3, 4])
    # SUBJECT searches the decoded header: "apple" is in 1 and 3
    expect_sort(c, "(REVERSE DATE) UTF-8 SUBJECT apple", [3, 1])
    expect_sort(c, "(FROM) UTF-8 OR FROM amy FROM adam", [5, 3])
    expect_sort(c, "(SIZE) UTF-8 2:4", [3, 2, 4])
    # nothing matches: an empty SORT response (RFC 5256 example A284)
    expect_sort(c, '(SUBJECT) US-ASCII TEXT "not in mailbox"', [])


def test_date_fallbacks(srv):
    """RFC 5256 2.2: an invalid time counts as 00:00:00; no usable Date: at
    all (missing or not a date) means INTERNALDATE, adjusted to UTC."""
    c = srv.login()
    # sent 2020-01-05 00:00 UTC (time invalid), INTERNALDATE 2021
    c.append(msg="Date: 05 Jan 2020 99:99:99 +0000\r\n\r\na\r\n",
             date="01-Jan-2021 00:00:00 +0000")
    # not a date: INTERNALDATE 2020-01-04 12:00 UTC
    c.append(msg="Date: garbage\r\n\r\nb\r\n", date="04-Jan-2020 13:00:00 +0100")
    # 2020-01-05 00:00:01 UTC, INTERNALDATE 2019
    c.append(msg="Date: Sun, 05 Jan 2020 00:00:01 +0000\r\n\r\nc\r\n",
             date="01-Jan-2019 00:00:00 +0000")
    # no Date: INTERNALDATE 2020-01-04 23:00 -0200 = 5 Jan 01:00 UTC
    c.append(msg="Subject: none\r\n\r\nd\r\n", date="04-Jan-2020 23:00:00 -0200")
    c.cmd("EXAMINE INBOX", ok=True)
    expect_sort(c, "(DATE) UTF-8 ALL", [2, 1, 3, 4])
    expect_sort(c, "(ARRIVAL) UTF-8 ALL", [3, 2, 4, 1])


def test_subject_forms(srv):
    """Base subjects (RFC 5256 2.1) of RFC 2047-encoded and reply/forward
    forms: all of these are "topic" or "Topic", so SUBJECT keeps mailbox
    order among them; "a" and "" sort around them."""
    c = srv.login()
    subjects = [
        "Re: Topic",                                   # 1 topic
        "=?UTF-8?Q?Re=3A_topic?=",                     # 2 topic (decoded)
        "[fwd: Re: [list] topic]",                     # 3 topic
        "zzz",                                         # 4
        "Fw: RE: FWD:   topic  (fwd) (fwd)",           # 5 topic
        "Re:",                                         # 6 "" (empty base)
        "=?ISO-8859-1?Q?=E4hnlich?=",                  # 7 "ähnlich"
        "a",                                           # 8
    ]
    for s in subjects:
        c.append(msg=f"Subject: {s}\r\n\r\nx\r\n")
    c.cmd("EXAMINE INBOX", ok=True)
    # "" < a < ähnlich (A\u0308HNLICH after A) < topic x4 < zzz
    expect_sort(c, "(SUBJECT) UTF-8 ALL", [6, 8, 7, 1, 2, 3, 5, 4])
    expect_sort(c, "(REVERSE SUBJECT) UTF-8 ALL", [4, 1, 2, 3, 5, 7, 8, 6])


def test_esort_return_options(srv):
    c = setup(srv, uid_offset=True)
    # DATE order 4 1 2 5 3; UIDs are msn + 1: 5 2 3 6 4
    c.conv("""
    C: e1 SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL
    S: * ESEARCH (TAG "e1") MIN 4 MAX 3 COUNT 5
    S: e1 OK Sort completed.
    C: e2 SORT RETURN () (DATE) UTF-8 ALL
    S: * ESEARCH (TAG "e2") ALL 4,1:2,5,3
    S: e2 OK Sort completed.
    C: e3 UID SORT RETURN (ALL) (DATE) UTF-8 ALL
    S: * ESEARCH (TAG "e3") UID ALL 5,2:3,6,4
    S: e3 OK Sort completed.
    C: e4 UID SORT RETURN (count min) (REVERSE ARRIVAL) UTF-8 ALL
    S: * ESEARCH (TAG "e4") UID MIN 2 COUNT 5
    S: e4 OK Sort completed.
    C: e5 SORT RETURN (MIN MAX ALL COUNT) (SUBJECT) UTF-8 SUBJECT nothing
    S: * ESEARCH (TAG "e5") COUNT 0
    S: e5 OK Sort completed.
    C: e6 SORT RETURN (MAX) (SUBJECT) UTF-8 SUBJECT nothing
    S: * ESEARCH (TAG "e6")
    S: e6 OK Sort completed.
    C: e7 SORT RETURN (ALL) (ARRIVAL) UTF-8 ALL
    S: * ESEARCH (TAG "e7") ALL 2:5,1
    S: e7 OK Sort completed.
    C: e8 SORT RETURN (ALL) (REVERSE ARRIVAL) UTF-8 ALL
    S: * ESEARCH (TAG "e8") ALL 1,5,4,3,2
    S: e8 OK Sort completed.
    """)


def test_sort_return_save(srv):
    """SORT RETURN (SAVE) (RFC 5182 section 1: a command based on SEARCH,
    e.g. SORT, may save its result): alone it answers nothing but OK; with
    MIN/MAX only the first/last in sort order is saved; "$" then names
    them (RFC 9051 6.4.4.1); BAD keeps "$", NO empties it."""
    c = setup(srv, uid_offset=True)
    # DATE order 4 1 2 5 3; UIDs are msn + 1: 5 2 3 6 4
    c.conv("""
    C: s1 SORT RETURN (SAVE) (DATE) UTF-8 2:4
    S: s1 OK Sort completed.
    C: s2 SEARCH $
    S: * SEARCH 2 3 4
    S: s2 OK Search completed.
    C: s3 SORT RETURN (SAVE MIN) (DATE) UTF-8 ALL
    S: * ESEARCH (TAG "s3") MIN 4
    S: s3 OK Sort completed.
    C: s4 UID FETCH $ UID
    S: * 4 FETCH (UID 5)
    S: s4 OK Fetch completed.
    C: s5 UID SORT RETURN (SAVE MAX) (DATE) UTF-8 ALL
    S: * ESEARCH (TAG "s5") UID MAX 4
    S: s5 OK Sort completed.
    C: s6 SORT RETURN (SAVE) (DATE) UTF-8 $ NOSUCHKEY
    S~ s6 BAD .*
    C: s7 SEARCH $
    S: * SEARCH 3
    S: s7 OK Search completed.
    C: s8 SORT (DATE) UTF-8 $
    S: * SORT 3
    S: s8 OK Sort completed.
    C: s9 SORT RETURN (SAVE) (DATE) X-NO-SUCH-CHARSET ALL
    S~ s9 NO \\[BADCHARSET .*
    C: s10 SEARCH $
    S: * SEARCH
    S: s10 OK Search completed.
    C: s11 SORT RETURN (SAVE COUNT) (REVERSE DATE) UTF-8 ALL
    S: * ESEARCH (TAG "s11") COUNT 5
    S: s11 OK Sort completed.
    C: s12 SEARCH $
    S: * SEARCH 1 2 3 4 5
    S: s12 OK Search completed.
    """)


@server_args(extra_conf="max_bad_commands = 100")
def test_errors(srv):
    c = srv.login()
    # no mailbox selected
    _, t = c.cmd("SORT (DATE) UTF-8 ALL", ok=False)
    expect(" BAD " in t, t)
    c = setup(srv)
    for args in ("DATE UTF-8 ALL", "() UTF-8 ALL", "(FOO) UTF-8 ALL",
                 "(REVERSE) UTF-8 ALL", "(REVERSE REVERSE DATE) UTF-8 ALL",
                 "(DATE REVERSE) UTF-8 ALL", "(DATE) UTF-8",
                 "(DATE)", "(DATE) UTF-8 BOGUS", "(DATE) UTF-8 CHARSET UTF-8 ALL",
                 "(DATE) (UTF-8) ALL", "((DATE)) UTF-8 ALL",
                 "RETURN (FOO) (DATE) UTF-8 ALL",
                 "RETURN ALL (DATE) UTF-8 ALL", "RETURN (DATE) UTF-8 ALL"):
        _, t = c.cmd(f"SORT {args}", ok=False)
        expect(" BAD " in t, (args, t))
    for prefix in ("SORT", "UID SORT"):
        _, t = c.cmd(f"{prefix} (DATE) X-NO-SUCH-CHARSET ALL", ok=False)
        expect(" NO [BADCHARSET" in t, t)
        # syntax first: a BAD command stays BAD whatever its charset
        _, t = c.cmd(f"{prefix} (DATE) X-NO-SUCH-CHARSET BOGUS", ok=False)
        expect(" BAD " in t, t)
        # a string it cannot read is no syntax error: still BADCHARSET
        tag = c.next_tag()
        c.send(tag.encode() + b" " + prefix.encode() +
               b" (DATE) X-NO-SUCH-CHARSET SUBJECT {1+}\r\n\xe9\r\n")
        t = c.readline()
        expect(t.startswith(tag + " NO [BADCHARSET"), t)
    _, t = c.cmd('SORT RETURN (COUNT) (DATE) "x-unknown" ALL', ok=False)
    expect(" NO [BADCHARSET" in t, t)
    # a charset iconv knows converts the search strings (SEARCH CHARSET's
    # rules): KOI8-R "\xf0\xd2\xc9" is "При", not in any subject here
    tag = c.next_tag()
    c.send(tag.encode() + b" SORT (DATE) KOI8-R SUBJECT {3+}\r\n\xf0\xd2\xc9\r\n")
    expect(c.readline() == "* SORT")
    expect(c.readline().startswith(tag + " OK"))
    # still selected and working
    expect_sort(c, "(DATE) UTF-8 ALL", EXPECT["DATE"])


def test_capabilities(srv):
    c = srv.login()
    u, _ = c.cmd("CAPABILITY", ok=True)
    caps = u[0].split()
    # RFC 5267 4.1: "Servers advertising CONTEXT=SORT also advertise
    # the SORT capability"; PARTIAL and CONTEXT=SORT are test_partial's
    # and test_context's
    for cap in ("SORT", "SORT=DISPLAY", "ESORT", "THREAD=ORDEREDSUBJECT",
                "THREAD=REFERENCES", "CONTEXT=SORT", "PARTIAL"):
        expect(cap in caps, (cap, u))


def maildir_files(srv, user="demo"):
    return glob.glob(os.path.join(srv.data_dir, "users", "*", user,
                                  "Maildir", "cur", "*"))


def test_sort_reads_no_message_file(srv):
    """With the files gone, every criterion still answers from the index:
    the keys were cached at APPEND and SORT never opens a message."""
    c = setup(srv)
    files = maildir_files(srv)
    expect(len(files) == 5, files)
    for p in files:
        os.unlink(p)
    c2 = srv.login()
    c2.cmd("EXAMINE INBOX", ok=True)
    for conn in (c, c2):
        for crit, want in EXPECT.items():
            expect_sort(conn, f"({crit}) UTF-8 ALL", want)
        expect_sort(conn, "(DATE) UTF-8 UNFLAGGED", EXPECT["DATE"], prefix="UID SORT")


def test_copy_keeps_the_keys(srv):
    c = setup(srv)
    c.cmd("COPY 1:5 Archive", ok=True)
    c.cmd("MOVE 1:5 Trash", ok=True)
    for p in glob.glob(os.path.join(srv.data_dir, "users", "*", "demo",
                                    "Maildir", "*", "cur", "*")):
        open(p, "wb").close()     # hard links: all copies are empty now
    for box in ("Archive", "Trash"):
        c.cmd(f"EXAMINE {box}", ok=True)
        for crit in ("FROM", "SUBJECT", "DATE", "DISPLAYTO", "CC"):
            expect_sort(c, f"({crit}) UTF-8 ALL", EXPECT[crit])


def index_path(srv):
    [index] = glob.glob(os.path.join(srv.data_dir, "users", "*", "demo",
                                     "index.sqlite"))
    return index


def logout(c):
    c.line("z LOGOUT")
    while not c.readline().startswith("z OK"):
        pass
    c.close()


def test_keys_computed_once_for_mail_dropped_into_new(srv):
    """Mail another program puts into new/ gets its keys from the parse of
    its copy at the pickup (before, the first SORT parsed it and wrote them
    back); after that the file is not needed."""
    c = setup(srv)
    [some] = maildir_files(srv)[:1]
    new_dir = os.path.join(os.path.dirname(os.path.dirname(some)), "new")
    with open(os.path.join(new_dir, "1700000000.M1P1.test"), "wb") as f:
        f.write(b"From: aaa@e.example\r\nSubject: Re: [fwd: apple]\r\n"
                b"Date: Wed, 01 Jan 2020 10:30:00 +0000\r\n\r\nnew\r\n")
    c.cmd("NOOP", ok=True)
    # 6: From aaa (after "" of 4, before adam), base subject apple,
    # sent 10:30
    expect_sort(c, "(FROM) UTF-8 ALL", [4, 6, 5, 3, 2, 1])
    db = sqlite3.connect(index_path(srv))
    n = db.execute("SELECT count(*) FROM messages WHERE msgkeys IS NULL").fetchone()[0]
    db.close()
    expect(n == 0, n)
    for p in maildir_files(srv):
        os.unlink(p)
    expect_sort(c, "(SUBJECT DATE) UTF-8 ALL", [4, 1, 6, 3, 2, 5])


def downgrade(srv, sql, version):
    """Turns the index back into one of schema `version` (2 or 3): without
    the sentdate of schema 5, and whatever `sql` removes."""
    db = sqlite3.connect(index_path(srv))
    db.executescript(f"""
        BEGIN;
        {UNDO_SCHEMA_8}
        DROP INDEX messages_deleted;
        DROP INDEX messages_sentdate;
        ALTER TABLE messages DROP COLUMN sentdate;
        ALTER TABLE mailboxes DROP COLUMN tombstone_floor;
        DROP TABLE sieve_track; DROP TABLE tool_state;
        {sql}
        PRAGMA user_version = {version};
        COMMIT;
    """)
    db.close()


def test_schema_5_index_is_migrated(srv):
    """Schema 6 adds the partial index of the \\Deleted messages, which
    EXPUNGE reads (INDEXED BY: without it the expunge would fail)."""
    c = setup(srv)
    logout(c)
    db = sqlite3.connect(index_path(srv))
    db.executescript(f"BEGIN; {UNDO_SCHEMA_8} DROP INDEX messages_deleted; "
                     "ALTER TABLE mailboxes DROP COLUMN tombstone_floor; "
                     "DROP TABLE sieve_track; DROP TABLE tool_state; "
                     "PRAGMA user_version = 5; COMMIT;")
    db.close()
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    db = sqlite3.connect(index_path(srv))
    expect(db.execute("PRAGMA user_version").fetchone()[0] == 11)
    expect(db.execute("SELECT count(*) FROM sqlite_master WHERE name = "
                      "'messages_deleted'").fetchone()[0] == 1)
    db.close()
    c.cmd("STORE 2,4 +FLAGS.SILENT (\\Deleted)", ok=True)
    u, _ = c.cmd("EXPUNGE", ok=True)
    expect(u == ["* 4 EXPUNGE", "* 2 EXPUNGE"], u)
    u, _ = c.cmd("SEARCH ALL", ok=True)
    expect(u == ["* SEARCH 1 2 3"], u)


def test_schema_2_index_is_migrated(srv):
    """An index from schema 2 (no msgkeys column) becomes schema 3 when the
    store opens; its rows get their keys on first use, kept in the index."""
    c = setup(srv)
    logout(c)
    index = index_path(srv)
    downgrade(srv, "ALTER TABLE messages DROP COLUMN msgkeys;", 2)
    c = srv.login()
    c.cmd("EXAMINE INBOX", ok=True)
    db = sqlite3.connect(index)
    expect(db.execute("PRAGMA user_version").fetchone()[0] == 11)
    expect(db.execute("SELECT count(*) FROM messages WHERE sentdate IS NULL")
           .fetchone()[0] == 5)
    expect(db.execute("SELECT count(*) FROM messages WHERE msgkeys IS NULL")
           .fetchone()[0] == 5)
    db.close()
    expect_sort(c, "(DISPLAYFROM) UTF-8 ALL", EXPECT["DISPLAYFROM"])
    db = sqlite3.connect(index)
    expect(db.execute("SELECT count(*) FROM messages WHERE msgkeys IS NULL")
           .fetchone()[0] == 0)
    db.close()
    for p in maildir_files(srv):
        os.unlink(p)
    for crit, want in EXPECT.items():
        expect_sort(c, f"({crit}) UTF-8 ALL", want)


# messages.sentdate (schema 5) of MSGS in uid order: sent date * 2 + 1,
# 0 for message 3, which has no Date:
SENTDATES = [1577872800 * 2 + 1, 1577876400 * 2 + 1, 0,
             1577844000 * 2 + 1, 1577876400 * 2 + 1]
DATE_CRITERIA = ("DATE", "REVERSE DATE", "SUBJECT REVERSE DATE", "ARRIVAL",
                 "SIZE", "REVERSE SIZE")


def sentdates(srv, mailbox=None):
    db = sqlite3.connect(index_path(srv))
    if mailbox is None:
        rows = db.execute("SELECT sentdate FROM messages ORDER BY mailbox, uid")
    else:
        rows = db.execute("SELECT sentdate FROM messages WHERE mailbox = "
                          "(SELECT id FROM mailboxes WHERE name = ?) ORDER BY uid",
                          (mailbox,))
    got = [v for (v,) in rows]
    db.close()
    return got


def expect_date_sorts(c):
    for crit in DATE_CRITERIA:
        expect_sort(c, f"({crit}) UTF-8 ALL", EXPECT[crit])


def test_sentdate_written_with_the_keys(srv):
    """APPEND writes the sent date beside the keys, COPY copies it, and an
    EXPUNGE leaves the others right: SORT by date answers from it."""
    c = setup(srv)
    expect(sentdates(srv) == SENTDATES, sentdates(srv))
    c.cmd("COPY 2:4 Archive", ok=True)
    expect(sentdates(srv, "Archive") == SENTDATES[1:4], sentdates(srv, "Archive"))
    for p in maildir_files(srv):
        os.unlink(p)
    expect_date_sorts(c)
    c.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)", ok=True)
    c.cmd("EXPUNGE", ok=True)
    # without message 1: DATE 4 2 5 3 -> msns 3 1 4 2
    expect_sort(c, "(DATE) UTF-8 ALL", [3, 1, 4, 2])
    expect_sort(c, "(REVERSE DATE) UTF-8 ALL", [2, 1, 4, 3])
    c.cmd("EXAMINE Archive", ok=True)
    # Archive holds 2, 3, 4 as msns 1, 2, 3: DATE 4 2 3
    expect_sort(c, "(DATE) UTF-8 ALL", [3, 1, 2])


def test_sentdate_missing_reads_the_keys(srv):
    """A row whose sentdate is NULL but whose keys are there (a date too
    large for the column) is sorted by the date in its keys."""
    c = setup(srv)
    logout(c)
    db = sqlite3.connect(index_path(srv))
    db.execute("UPDATE messages SET sentdate = NULL WHERE uid IN (1, 4)")
    db.commit()
    db.close()
    c = srv.login()
    c.cmd("EXAMINE INBOX", ok=True)
    for p in maildir_files(srv):
        os.unlink(p)
    expect_date_sorts(c)
    c.cmd("UID SEARCH ALL", ok=True)
    expect_sort(c, "(DATE) UTF-8 UID 1:2,4:5", [4, 1, 2, 5])


def test_schema_3_index_is_migrated(srv):
    """An index from schema 3 (keys, no sentdate) becomes schema 5 when
    the store opens, the sent dates taken from the keys there are; SORT
    by date then needs neither the files nor a parse."""
    c = setup(srv)
    c.cmd("COPY 1 Archive", ok=True)
    logout(c)
    index = index_path(srv)
    downgrade(srv, "UPDATE messages SET msgkeys = NULL WHERE mailbox = "
              "(SELECT id FROM mailboxes WHERE name = 'Archive');", 3)
    c = srv.login()
    c.cmd("EXAMINE INBOX", ok=True)
    db = sqlite3.connect(index)
    expect(db.execute("PRAGMA user_version").fetchone()[0] == 11)
    db.close()
    # a row without keys keeps NULL: it is parsed on first use
    expect(sentdates(srv, "INBOX") == SENTDATES, sentdates(srv, "INBOX"))
    expect(sentdates(srv, "Archive") == [None], sentdates(srv, "Archive"))
    c.cmd("EXAMINE Archive", ok=True)
    expect_sort(c, "(DATE) UTF-8 ALL", [1])
    expect(sentdates(srv, "Archive") == SENTDATES[:1], sentdates(srv, "Archive"))
    for p in maildir_files(srv):
        os.unlink(p)
    c.cmd("EXAMINE INBOX", ok=True)
    expect_date_sorts(c)


def test_sentdate_after_rebuild(srv):
    """`roost check --rebuild` parses each file once and writes keys and
    sent date with the row: SORT by date needs no file afterwards."""
    c = setup(srv)
    logout(c)
    srv.stop()
    for p in glob.glob(index_path(srv) + "*"):
        os.unlink(p)
    srv.roost("check", "-c", srv.conf, "--rebuild", "demo")
    srv.start()
    c = srv.login()
    c.cmd("EXAMINE INBOX", ok=True)
    expect(sentdates(srv, "INBOX") == SENTDATES, sentdates(srv, "INBOX"))
    for p in maildir_files(srv):
        os.unlink(p)
    expect_sort(c, "(DATE) UTF-8 ALL", EXPECT["DATE"])
    expect_sort(c, "(REVERSE DATE) UTF-8 ALL", EXPECT["REVERSE DATE"])
    expect_sort(c, "(SUBJECT) UTF-8 ALL", EXPECT["SUBJECT"])


@server_args(extra_conf="fsync = no")
def test_many_messages_sliced(srv):
    """Enough messages for several slices and batches, and a response line
    longer than one flush (32 KiB); the result is checked whole."""
    c = srv.login()
    n = 7000
    # reverse subjects: message i has subject s<n - i>, zero-padded
    data = []
    for i in range(1, n + 1):
        body = f"Subject: s{n - i:05d}\r\nFrom: u{i % 7}@x.example\r\n\r\nx\r\n".encode()
        data.append(f"a{i} APPEND INBOX {{{len(body)}+}}\r\n".encode() + body + b"\r\n")
    c.send(b"".join(data))
    for i in range(1, n + 1):
        line = c.readline()
        while not line.startswith(f"a{i} "):
            line = c.readline()
        expect(line.startswith(f"a{i} OK"), line)
    c.cmd("EXAMINE INBOX", ok=True)
    expect_sort(c, "(SUBJECT) UTF-8 ALL", list(range(n, 0, -1)))
    # FROM u0..u6 (i % 7), ties by msn
    want = sorted(range(1, n + 1), key=lambda i: (i % 7, i))
    expect_sort(c, "(FROM) UTF-8 ALL", want)
    c.conv(f"""
    C: x SORT RETURN (MIN MAX COUNT) (SUBJECT) UTF-8 ALL
    S: * ESEARCH (TAG "x") MIN {n} MAX 1 COUNT {n}
    S: x OK Sort completed.
    """)
    # ESORT ALL in descending order has no runs: one number each, a line
    # of about 34 KiB, so it is flushed in the middle of the set
    u, _ = c.cmd("SORT RETURN (ALL) (SUBJECT) UTF-8 ALL", ok=True)
    expect(len(u) == 1 and u[0].startswith('* ESEARCH (TAG "'), u)
    expect(u[0].split(" ALL ", 1)[1] == ",".join(str(i) for i in range(n, 0, -1)),
           u[0][-200:])


# Groups (RFC 5322 3.4).  RFC 5256 section 3 sorts CC/FROM/TO by
# "[IMAP] addr-mailbox of the first ... address", and the ENVELOPE's
# first address of a field that begins with a group is the group start,
# whose "mailbox name field holds the group name phrase" (RFC 9051
# 7.5.2): such a field sorts by the group name, empty group or not; so do
# DISPLAYFROM/DISPLAYTO (RFC 5957: the display name of the first address;
# a group's is its name), as Dovecot does.
GROUP_MSGS = [
    # 1: the headers
    "From: zed@z.example\r\n"
    "To: a: xx@xx.org, yy@yy.org;\r\n"
    "Cc: user2: blah@domain1.org;\r\n",
    # 2: no groups
    'From: "Mia" <mia@m.example>\r\n'
    "To: bob@b.example\r\n"
    "Cc: carl@c.example\r\n",
    # 3: a group followed by a mailbox (From groups: RFC 6854); an empty
    # group
    "From: grp: ann@a.example;, zed2@z.example\r\n"
    "To: undisclosed-recipients:;\r\n",
    # 4: a mailbox followed by a group; an encoded group name
    "From: Bea <bea@b.example>\r\n"
    'To: "Zoe" <zoe@z.example>, team: amy@a.example;\r\n'
    "Cc: =?UTF-8?Q?=C3=89quipe?=: x@y.example;\r\n",
    # 5: a mailbox followed by a group
    "From: coral@c.example\r\n"
    "To: Kim <kim@k.example>\r\n"
    "Cc: dan@d.example, staff: a@b.example;\r\n",
]

GROUP_EXPECT = {
    # zed, mia, grp, bea, coral
    "FROM": [4, 5, 3, 2, 1],
    # zed@z.example, Mia, grp, Bea, coral@c.example
    "DISPLAYFROM": [4, 5, 3, 2, 1],
    # a, bob, undisclosed-recipients, zoe, kim
    "TO": [1, 2, 5, 3, 4],
    # a, bob@b.example, undisclosed-recipients, Zoe, Kim
    "DISPLAYTO": [1, 2, 5, 3, 4],
    "REVERSE DISPLAYTO": [4, 3, 5, 2, 1],
    # user2, carl, "" (no Cc), "E\u0301QUIPE" (decoded), dan
    "CC": [3, 2, 5, 4, 1],
    "REVERSE CC": [1, 4, 5, 2, 3],
}


def group_setup(srv):
    c = srv.login()
    for i, head in enumerate(GROUP_MSGS):
        c.append(msg=head + f"Subject: g{i + 1}\r\n\r\nx\r\n")
    c.cmd("SELECT INBOX", ok=True)
    return c


def test_groups_sort_by_their_name(srv):
    c = group_setup(srv)
    for crit, want in GROUP_EXPECT.items():
        expect_sort(c, f"({crit}) UTF-8 ALL", want)
    # the ENVELOPE shows the same first address
    u, _ = c.cmd("FETCH 3 ENVELOPE", ok=True)
    expect('((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL))' in u[0], u)


# the first two bytes of keys of the current version (syntax/msgkeys.c)
MSGKEYS_CURRENT = b"K\x03"


def varint(n):
    out = b""
    while n >= 0x80:
        out += bytes([0x80 | (n & 0x7f)])
        n >>= 7
    return out + bytes([n])


def test_keys_of_an_older_version_are_rebuilt(srv):
    """Keys written by an older Roost (msgkeys version 1, which skipped
    group markers) are not used: SORT builds them again from the message
    and keeps the new ones."""
    c = group_setup(srv)
    logout(c)
    db = sqlite3.connect(index_path(srv))
    # a well-formed version 1 blob with stale keys ("zzz" everywhere)
    stale = (b"K\x01\x00" + varint(0) +
             b"".join(varint(3) + b"zzz\x00" for _ in range(8)) +
             varint(0) + varint(0))
    db.execute("UPDATE messages SET msgkeys = ?", (stale,))
    db.commit()
    db.close()
    c = srv.login()
    c.cmd("EXAMINE INBOX", ok=True)
    for crit, want in GROUP_EXPECT.items():
        expect_sort(c, f"({crit}) UTF-8 ALL", want)
    db = sqlite3.connect(index_path(srv))
    versions = [bytes(k[:2]) for (k,) in db.execute("SELECT msgkeys FROM messages")]
    db.close()
    expect(versions == [MSGKEYS_CURRENT] * 5, versions)


# Comments inside an addr-spec (RFC 5322 3.2.2 CFWS, 3.4.1) are no display
# name: the ENVELOPE's addr-name is the phrase (RFC 9051 7.5.2) and
# DISPLAYFROM falls back to the addr-spec (RFC 5957); a comment after the
# addr-spec is the traditional name ("jdoe@example.org (John Doe)").
COMMENT_MSGS = [
    # 1: the example, without and with angle brackets
    "From: user-from (comment)@ (comment) domain.org\r\n"
    "To: <user-to (comment)@ (comment) domain.org>\r\n",
    # 2: comments in the domain, then a trailing one that is the name
    "From: b (x) @ (y) sub (z) . example . org (Zed)\r\n",
    # 3: sorts between "user-from@domain.org" and "Zed" by its name
    "From: Mid <m@example.org>\r\n",
]


def comment_setup(srv):
    c = srv.login()
    for i, head in enumerate(COMMENT_MSGS):
        c.append(msg=head + f"Subject: c{i + 1}\r\n\r\nx\r\n")
    c.cmd("SELECT INBOX", ok=True)
    return c


def check_comment_envelopes(c):
    u, _ = c.cmd("FETCH 1:2 ENVELOPE", ok=True)
    expect('"c1" ((NIL NIL "user-from" "domain.org"))' in u[0], u)
    expect('((NIL NIL "user-to" "domain.org"))' in u[0], u)
    expect('"c2" (("Zed" NIL "b" "sub.example.org"))' in u[1], u)
    # "comment" < "Mid" < "user-from@domain.org" < "Zed" if the comment
    # were the name
    expect_sort(c, "(DISPLAYFROM) UTF-8 ALL", [3, 1, 2])


def test_comment_in_addr_spec_is_no_display_name(srv):
    c = comment_setup(srv)
    check_comment_envelopes(c)


def test_envelope_cached_with_older_keys_is_remade(srv):
    """A row cached by an older Roost (msgkeys version 2, when a comment
    in the domain was taken as the display name) is parsed again: the
    ENVELOPE and the keys are both remade, and written back."""
    c = comment_setup(srv)
    # the envelopes as text (the index may keep them without Sender and
    # Reply-To; an older Roost kept the text, which is read as it is)
    u, _ = c.cmd("UID FETCH 1:* (ENVELOPE)", ok=True)
    texts = {}
    for line in u:
        m = re.match(r"\* \d+ FETCH \(UID (\d+) ENVELOPE (.*)\)$", line)
        expect(m, line)
        texts[int(m.group(1))] = m.group(2)
    logout(c)
    db = sqlite3.connect(index_path(srv))
    rows = db.execute("SELECT uid, msgkeys FROM messages").fetchall()
    for uid, keys in rows:
        # what version 2 cached: "comment" as the name
        env = texts[uid].replace('(NIL NIL "user-from"', '("comment" NIL "user-from"')
        keys = b"K\x02" + bytes(keys)[2:]
        db.execute("UPDATE messages SET envelope = ?, msgkeys = ? WHERE uid = ?",
                   (env, keys, uid))
    db.commit()
    envs = [e for (e,) in db.execute("SELECT envelope FROM messages")]
    expect(any('"comment"' in e for e in envs), envs)
    db.close()
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    check_comment_envelopes(c)
    logout(c)
    db = sqlite3.connect(index_path(srv))
    rows = db.execute("SELECT envelope, msgkeys FROM messages").fetchall()
    db.close()
    expect(all(b'"comment"' not in (e.encode() if isinstance(e, str) else e)
               for e, _ in rows), rows)
    expect([bytes(k[:2]) for _, k in rows] == [MSGKEYS_CURRENT] * 3, rows)
