"""SEARCH answered from the full-text index's hits (src/search/search.c,
"narrowing"): a program that requires a text key (in an AND, or in every
branch of an OR), a UID set or a sequence set evaluates only the messages
the index cannot rule out, not every message of the mailbox.  The answers
must be those of a pass over every message: here they are checked against
a model of the generated mailbox (and, where the server's own pass is the
reference, against NOT NOT (program), which never narrows), for SEARCH,
UID SEARCH, ESEARCH (MIN MAX COUNT ALL) and SEARCHRES ($), with UID gaps
(short and long runs of the view), messages whose text is not in the
index yet, messages expunged by another session but still in the view,
and mailboxes big enough that the index answers in parts (windows of
4,096 verified candidates or scanned texts)."""
import glob
import os
import re
import sqlite3

from roosttest import expect, seqset, server_args


def body_of(i):
    return (f"hello {i} " + ("common " if i % 10 else "") +
            ("rare " if i % 97 == 0 else "") + f"w{i % 13}x")


def msg_of(i):
    return (f"Subject: s{i:05d}\r\nFrom: u{i % 7}@x.example\r\nX-Kind: k{i % 3}\r\n\r\n"
            f"{body_of(i)}\r\n").encode()


def fill(c, n):
    """n messages, APPENDed with LITERAL+ in one pipelined burst (uid i is
    message i of msg_of()); then \\Flagged on every 4th."""
    c.append_burst([msg_of(i) for i in range(1, n + 1)])
    c.cmd("SELECT INBOX", ok=True)
    c.cmd("UID STORE " + ",".join(str(i) for i in range(4, n + 1, 4)) +
          " +FLAGS.SILENT (\\Flagged)", ok=True)


def expunge_uids(c, uids):
    c.cmd("UID STORE " + ",".join(map(str, sorted(uids))) + " +FLAGS.SILENT (\\Deleted)",
          ok=True)
    c.cmd("EXPUNGE", ok=True)


# The model: message i's documents as the index casemaps them (upper
# case; the needles below are ASCII).
def header_doc(i):
    return f"SUBJECT: S{i:05d}\nFROM: U{i % 7}@X.EXAMPLE\nX-KIND: K{i % 3}\n"


def has_body(i, needle, gone):
    return not gone and needle.upper() in body_of(i).upper()


def has_text(i, needle, gone):
    return not gone and (needle.upper() in body_of(i).upper() or
                         needle.upper() in header_doc(i))


def has_field(i, name, needle, gone):
    values = {"SUBJECT": f"s{i:05d}", "FROM": f"u{i % 7}@x.example", "X-KIND": f"k{i % 3}"}
    return not gone and needle.upper() in values[name.upper()].upper()


def flagged(i):
    return i % 4 == 0


# (program, predicate(uid, msn, gone)); gone: expunged by another session
# while still in the view (its text is gone, its flags are the view's).
PROGRAMS = [
    ("BODY common", lambda i, n, g: has_body(i, "common", g)),
    ("BODY rare", lambda i, n, g: has_body(i, "rare", g)),
    ("TEXT rare", lambda i, n, g: has_text(i, "rare", g)),
    ("BODY nowhere", lambda i, n, g: False),
    ("BODY rare FLAGGED", lambda i, n, g: flagged(i) and has_body(i, "rare", g)),
    ("BODY common NOT FLAGGED", lambda i, n, g: not flagged(i) and has_body(i, "common", g)),
    ("OR BODY rare BODY w3x", lambda i, n, g: has_body(i, "rare", g) or has_body(i, "w3x", g)),
    ("OR BODY rare FLAGGED", lambda i, n, g: has_body(i, "rare", g) or flagged(i)),
    ("NOT BODY common", lambda i, n, g: not has_body(i, "common", g)),
    ("UID 50:120 BODY common", lambda i, n, g: 50 <= i <= 120 and has_body(i, "common", g)),
    ("UID 150:* BODY rare", lambda i, n, g: i >= 150 and has_body(i, "rare", g)),
    ("10:40,300:310 BODY w5x",
     lambda i, n, g: (10 <= n <= 40 or 300 <= n <= 310) and has_body(i, "w5x", g)),
    ('BODY "hello 1"', lambda i, n, g: has_body(i, "hello 1", g)),
    ('BODY "common "', lambda i, n, g: has_body(i, "common ", g)),
    ('BODY ""', lambda i, n, g: not g),
    ("TEXT @", lambda i, n, g: has_text(i, "@", g)),
    ("BODY @", lambda i, n, g: False),
    ("FROM u3@x", lambda i, n, g: has_field(i, "FROM", "u3@x", g)),
    ("SUBJECT s001", lambda i, n, g: has_field(i, "SUBJECT", "s001", g)),
    ("HEADER X-Kind k1 BODY common",
     lambda i, n, g: has_field(i, "X-Kind", "k1", g) and has_body(i, "common", g)),
    ("BODY w1x BODY common", lambda i, n, g: has_body(i, "w1x", g) and has_body(i, "common", g)),
    ("OR (BODY rare UID 1:300) (FLAGGED BODY w5x)",
     lambda i, n, g: (has_body(i, "rare", g) and i <= 300) or
     (flagged(i) and has_body(i, "w5x", g))),
    ("NOT NOT BODY rare", lambda i, n, g: has_body(i, "rare", g)),
    # the index keeps no body text: the candidates of a needle verified
    # on the body (or, for one it cannot narrow, every message) are read
    # from their files, still narrowed by the program's other keys
    ('BODY "" BODY rare', lambda i, n, g: has_body(i, "rare", g)),
    ("BODY @ OR BODY rare FLAGGED", lambda i, n, g: False),
    ('BODY "o 1" UID 1:300', lambda i, n, g: i <= 300 and has_body(i, "o 1", g)),
    ('BODY "1 c" FLAGGED', lambda i, n, g: flagged(i) and has_body(i, "1 c", g)),
    ('OR BODY "n r" TEXT "x s"', lambda i, n, g: has_body(i, "n r", g) or has_text(i, "x s", g)),
]


def expected(uids, program_pred, gone=()):
    """(msns, uids) matching, uids being the view's in msn order."""
    msns, hits = [], []
    for n, i in enumerate(uids, 1):
        if program_pred(i, n, i in gone):
            msns.append(n)
            hits.append(i)
    return msns, hits


def run(c, command):
    """The untagged lines (the tag in ESEARCH replaced by T) and the text
    of the tagged OK after the tag."""
    tag = c.next_tag()
    c.send(f"{tag} {command}\r\n".encode())
    untagged = []
    while True:
        line = c.read_response_line()
        if line.startswith(tag + " "):
            expect(line.startswith(tag + " OK"), (command, line))
            return [u.replace(f'(TAG "{tag}")', '(TAG "T")') for u in untagged], \
                line[len(tag) + 1:]
        untagged.append(line)


def search_line(nums):
    return "* SEARCH" + "".join(f" {x}" for x in nums)


def check_forms(c, uids, program, pred, gone=(), forms=None):
    """Every result form of `program` against the model."""
    msns, hits = expected(uids, pred, gone)
    esearch = '* ESEARCH (TAG "T")'
    if msns:
        esearch += f" MIN {msns[0]} MAX {msns[-1]}"
    esearch += f" COUNT {len(msns)}"
    if msns:
        esearch += " ALL " + seqset(msns)
    cases = {
        "search": (f"SEARCH {program}", [search_line(msns)]),
        "uid": (f"UID SEARCH {program}", [search_line(hits)]),
        "esearch": (f"SEARCH RETURN (MIN MAX COUNT ALL) {program}", [esearch]),
        "uid-count": (f"UID SEARCH RETURN (COUNT) {program}",
                      [f'* ESEARCH (TAG "T") UID COUNT {len(hits)}']),
        # a page stops the scan early (RFC 9394)
        "partial": (f"SEARCH RETURN (PARTIAL 2:6) {program}",
                    ['* ESEARCH (TAG "T") PARTIAL (2:6 ' +
                     (seqset(msns[1:6]) if msns[1:6] else "NIL") + ")"]),
    }
    for name in forms or cases:
        command, want = cases[name]
        got, _ = run(c, command)
        expect(got == want, (command, [g[:200] for g in got], [w[:200] for w in want]))
    if forms is None:
        # SEARCHRES: what SAVE keeps is every message found, as UIDs
        got, _ = run(c, f"SEARCH RETURN (SAVE) {program}")
        expect(got == [], (program, got))
        got, _ = run(c, "UID SEARCH $")
        expect(got == [search_line(hits)], (program, got[:1]))
        got, _ = run(c, "UID SEARCH $ BODY common")
        want = [i for i in hits if has_body(i, "common", i in gone)]
        expect(got == [search_line(want)], (program, got[:1]))


def userdir(srv):
    return glob.glob(os.path.join(srv.data_dir, "users", "*", "demo"))[0]


def fts_uids(srv):
    db = sqlite3.connect(os.path.join(userdir(srv), "index.sqlite"))
    try:
        return [r[0] for r in db.execute("SELECT id & 4294967295 FROM text_indexed "
                                         "ORDER BY id")]
    finally:
        db.close()


def empty_text_index(srv):
    """Forgets every stored text, as after a new text index version: the
    messages are read again (and their text written back) when a search
    looks at them."""
    db = sqlite3.connect(os.path.join(userdir(srv), "index.sqlite"))
    db.executescript("INSERT INTO text_hdr(text_hdr) VALUES ('delete-all');"
                     "INSERT INTO text_body(text_body) VALUES ('delete-all');"
                     "DELETE FROM text_store; DELETE FROM text_indexed;")
    db.close()


N = 600
# gaps in the view: a long one (a run ends, a long run starts), and a
# stretch of short runs (every 5th expunged), and single ones
GONE = set(range(200, 260)) | set(range(300, 420, 5)) | {1, 77, 599}


@server_args(extra_conf="fsync = no")
def test_narrowed_answers_equal_the_model(srv):
    c = srv.login()
    fill(c, N)
    expunge_uids(c, GONE)
    uids = [i for i in range(1, N + 1) if i not in GONE]
    expect(fts_uids(srv) == uids, "every message is indexed")
    for program, pred in PROGRAMS:
        check_forms(c, uids, program, pred)
    # not vacuous: the rare word is in a few messages, the common one in most
    expect(len(expected(uids, PROGRAMS[1][1])[0]) == 6, "rare hits")
    expect(len(expected(uids, PROGRAMS[0][1])[0]) > 400, "common hits")


@server_args(extra_conf="fsync = no")
def test_messages_without_text_in_the_index(srv):
    """Messages the text index does not hold (here: all but UIDs up to 150,
    as after a new text index version) are judged from their files, in
    every stretch of the view, while the others come from the index."""
    c = srv.login()
    fill(c, N)
    expunge_uids(c, GONE)
    uids = [i for i in range(1, N + 1) if i not in GONE]
    partial = [i for i in uids if i <= 150]
    for program, pred in PROGRAMS:
        for form in ("search", "uid", "esearch"):
            empty_text_index(srv)
            expect(fts_uids(srv) == [], "emptied")
            # a narrowed search reads (and indexes) only the messages of
            # its UID set
            got, _ = run(c, "UID SEARCH UID 1:150 BODY zzz")
            expect(got == ["* SEARCH"], got)
            expect(fts_uids(srv) == partial, ("partly indexed", fts_uids(srv)[:5]))
            check_forms(c, uids, program, pred, forms=[form])
    # the messages a search looked at are indexed again
    expect(fts_uids(srv) == uids, "indexed again")


@server_args(extra_conf="fsync = no")
def test_messages_expunged_by_another_session(srv):
    """Messages another session expunged are still in the view until the
    next sync: their text is gone, so no text key matches them, and the
    answer (and its [EXPUNGEISSUED]) is that of a pass over every message,
    NOT NOT (program)."""
    a = srv.login()
    fill(a, N)
    expunge_uids(a, GONE)
    uids = [i for i in range(1, N + 1) if i not in GONE]
    b = srv.login()
    b.cmd("SELECT INBOX", ok=True)
    # rare ones, common ones, flagged ones, a run of them, all in long
    # runs of the view (which the index checks by counting its rows)
    gone = {97, 194, 485, 12, 13, 14, 15, 16, 20, 500, 501}
    expunge_uids(b, gone)
    _, text = run(a, "SEARCH BODY rare")
    expect(text.startswith("OK [EXPUNGEISSUED]"), text)
    issued = 0
    for program, pred in PROGRAMS:
        check_forms(a, uids, program, pred, gone=gone, forms=["search", "esearch"])
        for verb in ("SEARCH", "SEARCH RETURN (MIN MAX COUNT ALL)"):
            fast = run(a, f"{verb} {program}")
            slow = run(a, f"{verb} NOT NOT ({program})")
            expect(fast == slow, (verb, program, fast[1], slow[1]))
            expect(not any(re.search(r"^\* \d+ EXPUNGE", u) for u in fast[0]), fast[0])
            issued += "[EXPUNGEISSUED]" in fast[1]
    expect(issued > 0, "some answers said EXPUNGEISSUED")
    # the sync after the command lets the view forget them
    a.cmd("NOOP", ok=True)
    uids = [i for i in uids if i not in gone]
    check_forms(a, uids, "BODY rare", PROGRAMS[1][1])


BIG = 9000
BIG_PROGRAMS = [
    # a header key verifies every candidate, 4,096 per store call: the
    # answer comes in windows, which the other key is intersected with
    ("SUBJECT s0 BODY rare", lambda i, n, g: has_body(i, "rare", g)),
    ("OR SUBJECT s08 BODY rare",
     lambda i, n, g: has_field(i, "SUBJECT", "s08", g) or has_body(i, "rare", g)),
    ('BODY "common w1" FLAGGED', lambda i, n, g: flagged(i) and has_body(i, "common w1", g)),
    ("UID 4000:5000 SUBJECT s0", lambda i, n, g: 4000 <= i <= 5000),
    # a needle without letters: a pass over the stored texts in parts
    ("TEXT @ BODY w7x", lambda i, n, g: has_body(i, "w7x", g)),
    ("BODY rare", lambda i, n, g: has_body(i, "rare", g)),
    # UID and sequence sets bound what the index is asked about
    ('UID 8000:* BODY "common w1"', lambda i, n, g: i >= 8000 and has_body(i, "common w1", g)),
    ("1:50 SUBJECT s0", lambda i, n, g: n <= 50),
    ("UID 100:200,8500:8600 TEXT @", lambda i, n, g: 100 <= i <= 200 or 8500 <= i <= 8600),
    ("OR UID 1:10 UID 8990:* BODY rare",
     lambda i, n, g: (i <= 10 or i >= 8990) and has_body(i, "rare", g)),
    ("UID 20000:* BODY common", lambda i, n, g: False),
]


@server_args(workers=1, extra_conf="fsync = no")
def test_index_answers_in_parts(srv):
    c = srv.login()
    fill(c, BIG)
    gone = set(range(3000, 3100)) | set(range(5000, 5400, 3)) | {4096, 4097, 8191}
    expunge_uids(c, gone)
    uids = [i for i in range(1, BIG + 1) if i not in gone]
    for program, pred in BIG_PROGRAMS:
        check_forms(c, uids, program, pred, forms=["search", "uid", "esearch"])
    # and with most of the texts to be read from the files
    empty_text_index(srv)
    got, _ = run(c, "UID SEARCH UID 1:2000 BODY zzz")
    expect(got == ["* SEARCH"], got)
    check_forms(c, uids, "SUBJECT s0 BODY rare", BIG_PROGRAMS[0][1], forms=["esearch"])
    expect(fts_uids(srv) == uids, "indexed again")


@server_args(extra_conf="fsync = no")
def test_one_run_holding_most_of_the_index(srv):
    """A view without gaps whose messages hold most rows of the text index
    is checked by counting the rows outside it (other mailboxes' too):
    complete, with messages expunged meanwhile, and partly indexed."""
    a = srv.login()
    fill(a, 400)
    a.cmd("CREATE Other", ok=True)
    a.cmd("UID COPY 1:60 Other", ok=True)
    uids = list(range(1, 401))
    rare = PROGRAMS[1][1]
    check_forms(a, uids, "BODY rare", rare)
    b = srv.login()
    b.cmd("SELECT INBOX", ok=True)
    gone = {97, 194, 300}
    expunge_uids(b, gone)
    for program, pred in PROGRAMS[:6]:
        fast = run(a, f"SEARCH {program}")
        expect(fast == run(a, f"SEARCH NOT NOT ({program})"), program)
        msns, _ = expected(uids, pred, gone)
        expect(fast[0] == [search_line(msns)], (program, fast[0][:1]))
    _, text = run(a, "SEARCH BODY rare")
    expect(text.startswith("OK [EXPUNGEISSUED]"), text)
    a.cmd("NOOP", ok=True)
    uids = [i for i in uids if i not in gone]
    empty_text_index(srv)
    got, _ = run(a, "UID SEARCH UID 1:150 BODY zzz")
    expect(fts_uids(srv) == [i for i in uids if i <= 150], fts_uids(srv)[-3:])
    check_forms(a, uids, "BODY rare", rare, forms=["esearch"])
