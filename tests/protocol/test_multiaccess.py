"""What concurrent sessions on one mailbox see (RFC 2180, RFC 9051 7.1,
7.3.5, RFC 3501 2.3.2): FETCH and STORE of messages another session
expunged, keywords that are new to the mailbox, \\Recent, and a STORE
that fails on the keyword limit.  Sessions in different worker processes
are made by logging in until the log shows two pids (worker_pair())."""
import re
import time

from roosttest import expect, server_args, TestFailure

MSG = "From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n"

FLAGS = r"\Answered \Flagged \Deleted \Seen \Draft"


def flags_lines(keywords="", full=False):
    """The FLAGS and PERMANENTFLAGS responses; `full`: the mailbox has
    as many keywords as it can hold (no \\*)."""
    kw = (" " + keywords) if keywords else ""
    star = "" if full else " \\*"
    return [f"* FLAGS ({FLAGS}{kw})",
            f"* OK [PERMANENTFLAGS ({FLAGS}{kw}{star})] Flags permitted."]


_labels = iter(range(1, 1 << 30))


def worker_of(srv, c):
    """The pid (hex, as in the connection id) of c's worker."""
    label = f"w{next(_labels)}"
    c.cmd(f'ID ("x-test" "{label}")', ok=True)
    deadline = time.time() + 5
    while time.time() < deadline:
        m = re.search(r"imap\([^)]*,([0-9a-f]{4})[0-9a-f]*\): ID x-test=" + label + "$",
                      srv.log_text(), re.M)
        if m:
            return m.group(1)
        time.sleep(0.05)
    raise TestFailure("no ID line in the log for " + label)


def worker_pair(srv):
    """Two logged-in sessions in different worker processes."""
    first = srv.login()
    w = worker_of(srv, first)
    spare = []
    for _ in range(40):
        c = srv.login()
        if worker_of(srv, c) != w:
            for x in spare:
                x.close()
            return first, c
        spare.append(c)
    raise TestFailure("all sessions landed in one worker")


# ---- keywords new to the mailbox (RFC 9051 7.3.5) ----


def test_keyword_of_other_session_announced_before_fetch(srv):
    a = srv.login()
    a.append()
    a.append()
    a.cmd("SELECT INBOX", ok=True)
    b = srv.login()
    b.cmd("SELECT INBOX", ok=True)
    b.cmd("STORE 1 +FLAGS.SILENT ($Label1)", ok=True)
    u, _ = a.cmd("NOOP", ok=True)
    expect(u == flags_lines("$Label1") + [r"* 1 FETCH (FLAGS (\Recent $Label1))"], u)
    # FETCH does not sync before it answers; the FLAGS come before the
    # FETCH responses of the changes it finds at its end
    b.cmd("STORE 2 +FLAGS.SILENT ($Label2)", ok=True)
    u, _ = a.cmd("FETCH 1:2 FLAGS", ok=True)
    expect(u == [r"* 1 FETCH (FLAGS (\Recent $Label1))",
                 r"* 2 FETCH (FLAGS (\Recent))"]
           + flags_lines("$Label1 $Label2")
           + [r"* 2 FETCH (FLAGS (\Recent $Label2))"], u)


def test_remove_keyword_the_session_was_not_told_of(srv):
    """-FLAGS of a keyword another session created after this session's
    last sync removes it all the same (the table is reloaded, not taken
    as it was at the last sync)."""
    a = srv.login()
    a.append()
    a.cmd("SELECT INBOX", ok=True)
    b = srv.login()
    b.cmd("SELECT INBOX", ok=True)
    b.cmd("STORE 1 +FLAGS.SILENT ($Late)", ok=True)
    u, _ = a.cmd("STORE 1 -FLAGS ($Late)", ok=True)
    expect(u == flags_lines("$Late") + [r"* 1 FETCH (FLAGS (\Recent))"], u)
    u, _ = b.cmd("NOOP", ok=True)
    expect(u == [r"* 1 FETCH (FLAGS ())"], u)


def test_keyword_of_append_announced(srv):
    a = srv.login()
    a.append()
    a.cmd("SELECT INBOX", ok=True)
    # another session's APPEND with a keyword new to the mailbox
    b = srv.login()
    b.append(flags="(Kw1)")
    u, _ = a.cmd("NOOP", ok=True)
    expect(u == ["* 2 EXISTS", "* 2 RECENT"] + flags_lines("Kw1"), u)
    # the session's own APPEND to its selected mailbox: told before the
    # tagged OK, so before any FETCH can carry it
    u, t = a.cmd(f"APPEND INBOX (Kw2) {{{len(MSG)}+}}\r\n{MSG}")
    expect(u == ["* 3 EXISTS", "* 3 RECENT"] + flags_lines("Kw1 Kw2")
           and " OK [APPENDUID " in t, (u, t))
    u, _ = a.cmd("FETCH 3 FLAGS", ok=True)
    expect(u == [r"* 3 FETCH (FLAGS (\Recent Kw2))"], u)


@server_args(workers=2)
def test_keyword_announced_across_workers(srv):
    a, b = worker_pair(srv)
    a.append()
    a.cmd("SELECT INBOX", ok=True)
    b.cmd("SELECT INBOX", ok=True)
    b.cmd("STORE 1 +FLAGS.SILENT ($Label1)", ok=True)
    u, _ = a.cmd("NOOP", ok=True)
    expect(u == flags_lines("$Label1") + [r"* 1 FETCH (FLAGS (\Recent $Label1))"], u)


# ---- a STORE refused on the keyword limit ----


def test_store_keyword_limit_rolls_back(srv):
    c = srv.login()
    c.append()
    c.cmd("SELECT INBOX", ok=True)
    kws = " ".join(f"kw{i}" for i in range(60))
    c.cmd(f"STORE 1 +FLAGS.SILENT ({kws})", ok=True)
    # 10 new ones do not fit in the 4 places left: none is kept, no FLAGS
    u, t = c.cmd("STORE 1 +FLAGS (n0 n1 n2 n3 n4 n5 n6 n7 n8 n9)", ok=False)
    expect(t.split(" ", 3)[1:3] == ["NO", "[LIMIT]"], t)
    expect(u == [], u)
    # so 4 other new ones still fit, in the same and in another session
    d = srv.login()
    d.cmd("SELECT INBOX", ok=True)
    u, _ = d.cmd("STORE 1 +FLAGS.SILENT (m0 m1)", ok=True)
    expect(u == flags_lines(kws + " m0 m1"), u)
    u, _ = c.cmd("STORE 1 +FLAGS (m2 m3 kw0)", ok=True)
    expect(u == flags_lines(kws + " m0 m1 m2 m3", full=True) +
           [rf"* 1 FETCH (FLAGS (\Recent {kws} m0 m1 m2 m3))"], u)
    # and the table is full now: LIMIT again, nothing changes
    u, t = c.cmd("STORE 1 FLAGS (kw1 x0)", ok=False)
    expect(t.split(" ", 3)[1:3] == ["NO", "[LIMIT]"], t)
    u, _ = c.cmd("FETCH 1 FLAGS", ok=True)
    expect(u == [rf"* 1 FETCH (FLAGS (\Recent {kws} m0 m1 m2 m3))"], u)


# ---- FETCH and STORE of messages another session expunged ----


def msg(i):
    return f"From: a@example.com\r\nSubject: m{i}\r\n\r\nbody {i}\r\n"


def expunge_2_and_3(a, b):
    """a and b have 4 messages selected; a expunges 2 and 3, b is not
    told yet."""
    for i in range(1, 5):
        a.append(msg=msg(i))
    a.cmd("SELECT INBOX", ok=True)
    b.cmd("SELECT INBOX", ok=True)
    a.cmd("STORE 2:3 +FLAGS.SILENT (\\Deleted)", ok=True)
    u, _ = a.cmd("EXPUNGE", ok=True)
    expect(u == ["* 3 EXPUNGE", "* 2 EXPUNGE"], u)


def subject(n, i, uid=None):
    """b's answer to FETCH (UID) BODY.PEEK[HEADER.FIELDS (SUBJECT)] for
    msn n with Subject m<i>, as Client.cmd() gives it."""
    u = "" if uid is None else f"UID {uid} "
    return (f"* {n} FETCH ({u}BODY[HEADER.FIELDS (SUBJECT)] {{15}}\r\n"
            f"Subject: m{i}\r\n\r\n)")


ISSUED = " OK [EXPUNGEISSUED] Some messages were already expunged."


def check_fetch_expunged(b):
    # what exists is answered, 2 and 3 are left out, and the tagged
    # reply is an OK (RFC 9051 7.1 EXPUNGEISSUED, RFC 2180 4.1.2)
    u, t = b.cmd("FETCH 1:4 (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    expect(u == [subject(1, 1, 1), subject(4, 4, 4)] and t.endswith(ISSUED), (u, t))
    for items in ("ENVELOPE", "BODY[TEXT]", "BODYSTRUCTURE", "RFC822.HEADER"):
        u, t = b.cmd(f"FETCH 2:3 {items}")
        expect(u == [] and t.endswith(ISSUED), (items, u, t))
    # what the view still knows is answered (RFC 2180 4.1.1)
    u, t = b.cmd("FETCH 1:4 (UID FLAGS)", ok=True)
    expect(u == [f"* {i} FETCH (UID {i} FLAGS ())" for i in range(1, 5)], u)
    # UID FETCH ignores UIDs that are gone (RFC 9051 6.4.9) and may send
    # the EXPUNGE responses (7.5.1)
    u, t = b.cmd("UID FETCH 1:* BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
    expect(u == [subject(1, 1, 1), subject(4, 4, 4), "* 3 EXPUNGE", "* 2 EXPUNGE"]
           and t.endswith(" OK Fetch completed."), (u, t))
    u, t = b.cmd("FETCH 1:* BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
    expect(u == [subject(1, 1), subject(2, 4)] and t.endswith(" OK Fetch completed."),
           (u, t))


def test_fetch_expunged_by_other_session(srv):
    a = srv.login()
    b = srv.login()
    expunge_2_and_3(a, b)
    check_fetch_expunged(b)


@server_args(workers=2)
def test_fetch_expunged_by_session_in_other_worker(srv):
    a, b = worker_pair(srv)
    expunge_2_and_3(a, b)
    check_fetch_expunged(b)


def test_fetch_sets_seen_only_on_messages_that_exist(srv):
    a = srv.login()
    b = srv.login()
    expunge_2_and_3(a, b)
    u, t = b.cmd("FETCH 1:4 BODY[TEXT]")
    expect(u == ["* 1 FETCH (FLAGS (\\Seen) BODY[TEXT] {8}\r\nbody 1\r\n)",
                 "* 4 FETCH (FLAGS (\\Seen) BODY[TEXT] {8}\r\nbody 4\r\n)"]
           and t.endswith(ISSUED), (u, t))
    u, _ = b.cmd("NOOP", ok=True)
    expect(u == ["* 3 EXPUNGE", "* 2 EXPUNGE"], u)


def test_store_expunged_by_other_session(srv):
    a = srv.login()
    b = srv.login()
    expunge_2_and_3(a, b)
    b.conv(r"""
    C: b1 STORE 1:4 +FLAGS (\Flagged)
    S: * 1 FETCH (FLAGS (\Flagged))
    S: * 4 FETCH (FLAGS (\Flagged))
    S: b1 OK [EXPUNGEISSUED] Some messages were already expunged.
    C: b2 STORE 2:4 +FLAGS.SILENT (\Answered)
    S: b2 OK [EXPUNGEISSUED] Some messages were already expunged.
    C: b3 STORE 3 -FLAGS (\Flagged)
    S: b3 OK [EXPUNGEISSUED] Some messages were already expunged.
    C: b4 UID STORE 1:* -FLAGS (\Flagged)
    S: * 1 FETCH (UID 1 FLAGS ())
    S: * 4 FETCH (UID 4 FLAGS (\Answered))
    S: * 3 EXPUNGE
    S: * 2 EXPUNGE
    S: b4 OK Store completed.
    """)
    # a sees b's changes of the messages that were left
    u, _ = a.cmd("NOOP", ok=True)
    expect(u == [r"* 1 FETCH (FLAGS (\Recent))",
                 r"* 2 FETCH (FLAGS (\Answered \Recent))"], u)


# ---- \Recent (RFC 3501 2.3.2, 6.3.1, 6.3.2; IMAP4rev1 only) ----


def recent_of(untagged):
    """The n of "* n RECENT" in a list of untagged lines (None if none)."""
    found = [int(x.split()[1]) for x in untagged if re.fullmatch(r"\* \d+ RECENT", x)]
    expect(len(found) <= 1, untagged)
    return found[0] if found else None


def recent_msns(c):
    """The msns whose FLAGS carry \\Recent in c's selected mailbox."""
    u, _ = c.cmd("FETCH 1:* FLAGS", ok=True)
    return [int(x.split()[1]) for x in u if "\\Recent" in x]


def test_recent_after_append_to_unselected_mailbox(srv):
    a = srv.login()
    a.append()
    a.append()
    u, _ = a.cmd("STATUS INBOX (MESSAGES RECENT)", ok=True)
    expect(u == ["* STATUS INBOX (MESSAGES 2 RECENT 2)"], u)
    # EXAMINE reports them and shows \Recent, but does not take them
    b = srv.login()
    u, _ = b.cmd("EXAMINE INBOX", ok=True)
    expect(recent_of(u) == 2, u)
    expect(recent_msns(b) == [1, 2], "examine")
    u, _ = a.cmd("STATUS INBOX (RECENT)", ok=True)
    expect(u == ["* STATUS INBOX (RECENT 2)"], u)
    # the first SELECT takes them; nobody else gets them afterwards
    c = srv.login()
    u, _ = c.cmd("SELECT INBOX", ok=True)
    expect(recent_of(u) == 2, u)
    expect(recent_msns(c) == [1, 2], "select")
    u, _ = a.cmd("SELECT INBOX", ok=True)
    expect(recent_of(u) == 0, u)
    expect(recent_msns(a) == [], "second select")
    u, _ = b.cmd("STATUS INBOX (RECENT)", ok=True)
    expect(u == ["* STATUS INBOX (RECENT 0)"], u)
    # IMAP4rev2 has no \Recent and no RECENT response
    d = srv.login()
    d.cmd("ENABLE IMAP4rev2", ok=True)
    d.append()
    u, _ = d.cmd("SELECT INBOX", ok=True)
    expect(recent_of(u) is None, u)
    u, _ = d.cmd("NOOP", ok=True)
    expect(u == [], u)


@server_args(lmtp=True)
def test_recent_after_delivery_copy_and_move(srv):
    a = srv.login()
    for _ in range(3):
        a.append()
    a.cmd("SELECT INBOX", ok=True)
    a.cmd("COPY 1:2 Archive", ok=True)
    a.cmd("MOVE 3 Junk", ok=True)
    srv.roost("deliver", "-c", srv.conf, "-u", "demo", "-m", "Drafts",
              input="Subject: d\n\nx\n")
    lm = srv.lmtp()
    lm.readline()
    for line, want in (("LHLO x", None), ("MAIL FROM:<s@example.org>", "250"),
                       ("RCPT TO:<demo>", "250"), ("DATA", "354")):
        lm.line(line)
        if want is None:
            while not lm.readline().startswith("250 "):
                pass
        else:
            expect(lm.readline().startswith(want), line)
    lm.line("Subject: l\r\n\r\nx\r\n.")
    expect(lm.readline().startswith("250"), "DATA")
    b = srv.login()
    for box, n in (("Archive", 2), ("Junk", 1), ("Drafts", 1)):
        u, _ = b.cmd(f"SELECT {box}", ok=True)
        expect(recent_of(u) == n, (box, u))
        expect(recent_msns(b) == list(range(1, n + 1)), box)
    # a had INBOX selected when the LMTP message arrived: it is a's, with
    # the two a took at SELECT that are left
    u, _ = a.cmd("NOOP", ok=True)
    expect(u == ["* 3 EXISTS", "* 3 RECENT"], u)
    expect(recent_msns(a) == [1, 2, 3], "inbox")
    u, _ = b.cmd("SELECT INBOX", ok=True)
    expect(recent_of(u) == 0, u)


def check_recent_in_one(sessions, new_msn):
    """Each session syncs and learns of message new_msn; each message is
    \Recent in exactly one of them, and each session's RECENT count says
    how many it holds."""
    holders = {}
    for c in sessions:
        # the appending session was told at its APPEND already
        u, _ = c.cmd("NOOP", ok=True)
        f, _ = c.cmd("FETCH 1:* FLAGS", ok=True)
        expect(len(f) == new_msn, f)
        msns = [int(x.split()[1]) for x in f if "\\Recent" in x]
        expect(recent_of(u) in (None, len(msns)), (u, msns))
        for m in msns:
            expect(m not in holders, f"{m} is \\Recent in two sessions")
            holders[m] = c
    expect(sorted(holders) == list(range(1, new_msn + 1)), sorted(holders))


def test_recent_in_one_of_the_selected_sessions(srv):
    sessions = [srv.login() for _ in range(3)]
    for c in sessions:
        c.cmd("SELECT INBOX", ok=True)
    other = srv.login()
    other.append()
    check_recent_in_one(sessions, 1)
    other.append()
    other.append()
    # with IDLE the change is pushed; still one holder per message
    sessions[2].line("i IDLE")
    got = []
    while "* 3 EXISTS" not in got or "+ idling" not in got:
        got.append(sessions[2].readline())
    sessions[2].line("DONE")
    expect(sessions[2].readline() == "i OK IDLE terminated.", "done")
    expect(recent_msns(sessions[2])[-2:] == [2, 3], got)
    check_recent_in_one(sessions, 3)


@server_args(workers=2)
def test_recent_in_one_session_across_workers(srv):
    a, b = worker_pair(srv)
    a.append()
    b.cmd("SELECT INBOX", ok=True)
    a.cmd("SELECT INBOX", ok=True)
    for i in range(2, 6):
        a.append() if i % 2 else b.append()
        check_recent_in_one([a, b], i)
    # and for the first SELECT after appends to an unselected mailbox
    a.append("Archive")
    a.append("Archive")
    u1, _ = a.cmd("SELECT Archive", ok=True)
    u2, _ = b.cmd("SELECT Archive", ok=True)
    expect(sorted([recent_of(u1), recent_of(u2)]) == [0, 2], (u1, u2))


# ---- flags merged: what another session changed is never swallowed ----


def test_silent_store_reports_other_sessions_change(srv):
    a = srv.login()
    a.append()
    a.append()
    a.cmd("SELECT INBOX", ok=True)
    b = srv.login()
    b.cmd("SELECT INBOX", ok=True)
    b.cmd("STORE 1:2 +FLAGS.SILENT (\\Flagged $B)", ok=True)
    # a has not been told; its .SILENT STORE merges b's flags in and
    # must say so: .SILENT only leaves out what a asked for itself
    u, _ = a.cmd("STORE 1 +FLAGS.SILENT (\\Seen)", ok=True)
    expect(u == flags_lines("$B") +
           [r"* 1 FETCH (FLAGS (\Flagged \Seen \Recent $B))",
            r"* 2 FETCH (FLAGS (\Flagged \Recent $B))"], u)
    u, _ = a.cmd("NOOP", ok=True)
    expect(u == [], u)
    # a change of its own alone stays silent
    u, _ = a.cmd("STORE 1:2 -FLAGS.SILENT (\\Flagged)", ok=True)
    expect(u == [], u)
    u, _ = b.cmd("NOOP", ok=True)
    expect(u == [r"* 1 FETCH (FLAGS (\Seen $B))", r"* 2 FETCH (FLAGS ($B))"], u)
