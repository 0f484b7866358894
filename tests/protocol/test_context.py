"""CONTEXT=SEARCH (RFC 5267 section 4): SEARCH and UID SEARCH with
RETURN (UPDATE) and CONTEXT, the ESEARCH ADDTO and REMOVEFROM data sent
as messages arrive (APPEND, LMTP delivery), change flags (other sessions,
the session's own STORE) or are expunged, between commands and during
IDLE; CANCELUPDATE; tag reuse; the limit on update contexts (NO
[NOUPDATE]); CONTEXT=SORT's positions (RFC 5267 4.3.3, 4.3.4) in sorted
contexts; two and ten sessions in different workers."""
import time

from roosttest import expect, server_args, TestFailure
from test_multiaccess import worker_of, worker_pair

MSG = "From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n"


def fill(c, n):
    for _ in range(n):
        c.append(msg=MSG)


def esearch_lines(lines, tag):
    return [x for x in lines if x.startswith(f'* ESEARCH (TAG "{tag}")')]


def start(c, command, first):
    """Runs the searching command (OK) and checks its one untagged line,
    `first` with {} for the tag; returns the tag."""
    u, _ = c.cmd(command, ok=True)
    tag = f"t{c.tagn}"
    expect(u == [first.format(tag)], u)
    return tag


def read_until(c, pred, timeout=5):
    """Lines from c (no command running) until one satisfies pred."""
    lines = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = c.readline(timeout=max(0.1, deadline - time.time()))
        lines.append(line)
        if pred(line):
            return lines
    raise TestFailure(f"no matching line in {lines}")


def test_rfc_examples(srv):
    """RFC 5267 4.3 and 4.3.3/4.3.4/4.3.5's conversation (numbers scaled):
    UPDATE COUNT, tag reuse, ADDTO from a flag change, REMOVEFROM of an
    expunged message before its EXPUNGE, CANCELUPDATE."""
    a = srv.login()
    fill(a, 5)
    a.cmd("SELECT INBOX", ok=True)      # takes \Recent
    a.cmd("LOGOUT")
    c = srv.login()
    b = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    b.cmd("SELECT INBOX", ok=True)
    b.cmd("STORE 1 +FLAGS.SILENT (\\Deleted $Junk)", ok=True)
    c.conv(r"""
C: B00 NOOP
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Junk)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Junk \*)] Flags permitted.
S: * 1 FETCH (FLAGS (\Deleted $Junk))
S: B00 OK NOOP completed.
C: B01 UID SEARCH RETURN (UPDATE COUNT) DELETED KEYWORD $Junk
S: * ESEARCH (TAG "B01") UID COUNT 1
S: B01 OK Search completed.
C: B01 SORT RETURN (UPDATE) (ARRIVAL) UTF-8 FLAGGED
S: B01 BAD Tag reuse: an update context has this tag.
C: B01 SEARCH RETURN (UPDATE) FLAGGED
S: B01 BAD Tag reuse: an update context has this tag.
""")
    b.cmd("STORE 3:4 +FLAGS.SILENT (\\Deleted $Junk)", ok=True)
    c.conv(r"""
C: B02 NOOP
S: * 3 FETCH (FLAGS (\Deleted $Junk))
S: * 4 FETCH (FLAGS (\Deleted $Junk))
S: * ESEARCH (TAG "B01") UID ADDTO (0 3:4)
S: B02 OK NOOP completed.
""")
    b.cmd("EXPUNGE", ok=True)
    c.conv(r"""
C: B03 NOOP
S: * ESEARCH (TAG "B01") UID REMOVEFROM (0 4)
S: * 4 EXPUNGE
S: * ESEARCH (TAG "B01") UID REMOVEFROM (0 3)
S: * 3 EXPUNGE
S: * ESEARCH (TAG "B01") UID REMOVEFROM (0 1)
S: * 1 EXPUNGE
S: B03 OK NOOP completed.
C: B04 CANCELUPDATE "B01"
S: B04 OK No further updates.
""")
    b.cmd("STORE 1 +FLAGS.SILENT (\\Deleted $Junk)", ok=True)
    u, _ = c.cmd("NOOP", ok=True)
    expect(u == [r"* 1 FETCH (FLAGS (\Deleted $Junk))"], u)
    # the tag names no context any more
    _, t = c.cmd('CANCELUPDATE "B01"')
    expect(" BAD " in t, t)


def test_msn_context_and_own_store(srv):
    """SEARCH (msns) contexts: ADDTO/REMOVEFROM in msns of the moment;
    this session's own STORE, .SILENT or not, changes the result."""
    c = srv.login()
    fill(c, 4)
    c.cmd("SELECT INBOX", ok=True)
    c.conv(r"""
C: S1 SEARCH RETURN (UPDATE) FLAGGED
S: * ESEARCH (TAG "S1")
S: S1 OK Search completed.
C: S2 STORE 2,4 +FLAGS.SILENT (\Flagged)
S: * ESEARCH (TAG "S1") ADDTO (0 2,4)
S: S2 OK Store completed.
C: S3 STORE 2 -FLAGS (\Flagged)
S: * ESEARCH (TAG "S1") REMOVEFROM (0 2)
S: * 2 FETCH (FLAGS (\Recent))
S: S3 OK Store completed.
C: S4 STORE 1 +FLAGS.SILENT (\Flagged \Deleted)
S: * ESEARCH (TAG "S1") ADDTO (0 1)
S: S4 OK Store completed.
C: S5 EXPUNGE
S: * ESEARCH (TAG "S1") REMOVEFROM (0 1)
S: * 1 EXPUNGE
S: S5 OK Expunge completed.
""")
    # a flag change that does not change the result says nothing
    u, _ = c.cmd("STORE 3 +FLAGS.SILENT (\\Seen)", ok=True)
    expect(u == [], u)
    # now msn 3 is the old msn 4: still in the result
    u, _ = c.cmd("STORE 3 -FLAGS.SILENT (\\Flagged)", ok=True)
    expect(u == ['* ESEARCH (TAG "S1") REMOVEFROM (0 3)'], u)


def test_update_alone_and_context_hint(srv):
    c = srv.login()
    fill(c, 3)
    c.cmd("SELECT INBOX", ok=True)
    c.conv(r"""
C: T1 UID SEARCH RETURN (UPDATE) ALL
S: * ESEARCH (TAG "T1") UID ALL 1:3
S: T1 OK Search completed.
C: T2 UID SEARCH RETURN (CONTEXT COUNT) ALL
S: * ESEARCH (TAG "T2") UID COUNT 3
S: T2 OK Search completed.
C: T3 UID SEARCH RETURN (CONTEXT) 2
S: * ESEARCH (TAG "T3") UID ALL 2
S: T3 OK Search completed.
C: T4 UID SEARCH RETURN (UPDATE MIN MAX PARTIAL -1:-1) ALL
S: * ESEARCH (TAG "T4") UID MIN 1 MAX 3 PARTIAL (-1:-1 3)
S: T4 OK Search completed.
C: T5 UID SEARCH RETURN (SAVE UPDATE) ALL
S: T5 OK Search completed.
""")
    # every context hears of a new message, in one ADDTO each
    b = srv.login()
    b.append(msg=MSG)
    u, _ = c.cmd("NOOP", ok=True)
    for tag in ("T1", "T4", "T5"):
        expect(f'* ESEARCH (TAG "{tag}") UID ADDTO (0 4)' in u, u)
    expect(not esearch_lines(u, "T2") and not esearch_lines(u, "T3"), u)
    expect(u.index("* 4 EXISTS") < u.index('* ESEARCH (TAG "T1") UID ADDTO (0 4)'), u)


def test_msn_sets_fixed_when_received(srv):
    """RFC 5267 4.3: msns in the program are evaluated when the command
    is received: after an expunge, "2:3" still means the messages it
    named then, and a new message is never in it."""
    c = srv.login()
    fill(c, 4)
    c.cmd("SELECT INBOX", ok=True)
    c.cmd('STORE 1:4 +FLAGS.SILENT (\\Seen)', ok=True)
    ctx = start(c, "UID SEARCH RETURN (UPDATE) 2:3 SEEN",
                '* ESEARCH (TAG "{}") UID ALL 2:3')
    c.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)", ok=True)
    c.cmd("EXPUNGE", ok=True)
    # msn 2 is now UID 3: unseen and seen again tell about UID 3
    u, _ = c.cmd("STORE 2 -FLAGS.SILENT (\\Seen)", ok=True)
    expect(u == [f'* ESEARCH (TAG "{ctx}") UID REMOVEFROM (0 3)'], u)
    # msn 3 (UID 4) was not in 2:3 when the search came
    u, _ = c.cmd("STORE 3 -FLAGS.SILENT (\\Seen)", ok=True)
    expect(u == [], u)
    u, _ = c.cmd("STORE 3 +FLAGS.SILENT (\\Seen)", ok=True)
    expect(u == [], u)
    srv.login().append(msg=MSG, flags="(\\Seen)")
    u, _ = c.cmd("NOOP", ok=True)
    expect("* 4 EXISTS" in u and not esearch_lines(u, ctx), u)


def test_context_limit_noupdate(srv):
    c = srv.login()
    fill(c, 2)
    c.cmd("SELECT INBOX", ok=True)
    tags = []
    for i in range(8):
        tag = c.next_tag()
        tags.append(tag)
        c.line(f"{tag} SEARCH RETURN (UPDATE COUNT) ALL")
        expect(c.readline() == f'* ESEARCH (TAG "{tag}") COUNT 2')
        expect(c.readline().startswith(f"{tag} OK"))
    c.conv(r"""
C: B02 SEARCH RETURN (UPDATE COUNT) ALL
S: * ESEARCH (TAG "B02") COUNT 2
S: * NO [NOUPDATE "B02"] Too many update contexts (at most 8).
S: B02 OK Search completed.
C: B03 UID SORT RETURN (UPDATE COUNT) (ARRIVAL) UTF-8 ALL
S: * ESEARCH (TAG "B03") UID COUNT 2
S: * NO [NOUPDATE "B03"] Too many update contexts (at most 8).
S: B03 OK Sort completed.
""")
    # B02 is no context: CANCELUPDATE of it is BAD, and it gets no ADDTO
    _, t = c.cmd('CANCELUPDATE "B02"')
    expect(" BAD " in t, t)
    # cancelling one makes room; several tags at once
    c.cmd(f'CANCELUPDATE "{tags[0]}" "{tags[1]}"', ok=True)
    c.conv(r"""
C: B04 SEARCH RETURN (UPDATE COUNT) ALL
S: * ESEARCH (TAG "B04") COUNT 2
S: B04 OK Search completed.
""")
    srv.login().append(msg=MSG)
    u, _ = c.cmd("NOOP", ok=True)
    got = sorted(x.split('"')[1] for x in u if x.startswith("* ESEARCH"))
    expect(got == sorted(tags[2:] + ["B04"]), u)
    # a mixed list with an unknown tag cancels nothing
    _, t = c.cmd(f'CANCELUPDATE "{tags[2]}" "nosuch"')
    expect(" BAD " in t, t)
    c.cmd(f'CANCELUPDATE "{tags[2]}"', ok=True)


def test_cancelupdate_bad_input_and_unselect(srv):
    c = srv.login()
    _, t = c.cmd('CANCELUPDATE "x"')
    expect(" BAD " in t, t)          # not selected
    fill(c, 1)
    c.cmd("SELECT INBOX", ok=True)
    # UPDATE only as a return option of the ESEARCH/ESORT form
    for cmd in ["CANCELUPDATE", "CANCELUPDATE x", "CANCELUPDATE (\"x\")",
                'CANCELUPDATE "nosuch"', "SEARCH UPDATE ALL",
                "SEARCH RETURN UPDATE ALL", "SEARCH ALL RETURN (UPDATE)",
                "SORT (ARRIVAL) RETURN (UPDATE) UTF-8 ALL",
                "THREAD RETURN (UPDATE) REFERENCES UTF-8 ALL",
                "SEARCH RETURN (UPDATE 1:2) ALL", "SEARCH RETURN (CONTEXT x) ALL"]:
        _, t = c.cmd(cmd)
        expect(" BAD " in t, f"{cmd}: {t}")
        c.cmd("NOOP", ok=True)
    c.cmd("SEARCH RETURN (UPDATE) ALL", ok=True)
    tag = f"t{c.tagn}"
    # the context ends with the mailbox
    c.cmd("SELECT INBOX", ok=True)
    _, t = c.cmd(f'CANCELUPDATE "{tag}"')
    expect(" BAD " in t, t)
    c.append(msg=MSG)
    u, _ = c.cmd("NOOP", ok=True)
    expect(not esearch_lines(u, tag), u)


@server_args(lmtp=True)
def test_updates_during_idle_from_lmtp_and_flags(srv):
    c = srv.login()
    fill(c, 2)
    c.cmd("SELECT INBOX", ok=True)
    c.cmd("LOGOUT")
    a = srv.login()
    a.cmd("SELECT INBOX", ok=True)
    a.conv(r"""
C: I1 UID SEARCH RETURN (UPDATE) UNSEEN
S: * ESEARCH (TAG "I1") UID ALL 1:2
S: I1 OK Search completed.
C: I2 IDLE
S: + idling
""")
    # delivery by LMTP
    l = srv.lmtp()
    l.readline()
    l.line("LHLO x")
    read_until(l, lambda x: x.startswith("250 "))
    for line in ["MAIL FROM:<x@example.org>", "RCPT TO:<demo@localhost>", "DATA"]:
        l.line(line)
        l.readline()
    l.send(MSG.encode() + b".\r\n")
    expect(l.readline().startswith("250"))
    lines = read_until(a, lambda x: "ADDTO" in x)
    expect(lines[-1] == '* ESEARCH (TAG "I1") UID ADDTO (0 3)', lines)
    expect("* 3 EXISTS" in lines, lines)
    # a flag change by another session
    b = srv.login()
    b.cmd("SELECT INBOX", ok=True)
    b.cmd("UID STORE 2 +FLAGS.SILENT (\\Seen)", ok=True)
    lines = read_until(a, lambda x: "REMOVEFROM" in x)
    expect(lines[-1] == '* ESEARCH (TAG "I1") UID REMOVEFROM (0 2)', lines)
    b.cmd("UID STORE 1 +FLAGS.SILENT (\\Deleted)", ok=True)
    b.cmd("EXPUNGE", ok=True)
    lines = read_until(a, lambda x: "EXPUNGE" in x)
    expect(lines[-2:] == ['* ESEARCH (TAG "I1") UID REMOVEFROM (0 1)', "* 1 EXPUNGE"],
           lines)
    a.line("DONE")
    read_until(a, lambda x: x.startswith("I2 OK"))


@server_args(workers=2)
def test_two_sessions_in_different_workers(srv):
    a, b = worker_pair(srv)
    fill(b, 3)
    a.cmd("SELECT INBOX", ok=True)
    b.cmd("SELECT INBOX", ok=True)
    ctx = start(a, "UID SEARCH RETURN (UPDATE COUNT) FLAGGED",
                '* ESEARCH (TAG "{}") UID COUNT 0')
    b.cmd("STORE 1,3 +FLAGS.SILENT (\\Flagged)", ok=True)
    b.append(msg=MSG, flags="(\\Flagged)")
    b.cmd("STORE 3 -FLAGS.SILENT (\\Flagged)", ok=True)
    b.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)", ok=True)
    b.cmd("EXPUNGE", ok=True)
    # everything since a's last sync comes in one NOOP, in order: the
    # result must be right whatever the store grouped together
    u, _ = a.cmd("NOOP", ok=True)
    result = set()
    for line in esearch_lines(u, ctx):
        words = line.split()
        for i, w in enumerate(words):
            if w in ("ADDTO", "REMOVEFROM"):
                pos, seq = words[i + 1].strip("("), words[i + 2].rstrip(")")
                expect(pos == "0", line)
                nums = set()
                for part in seq.split(","):
                    lo, _, hi = part.partition(":")
                    nums |= set(range(int(lo), int(hi or lo) + 1))
                result = result | nums if w == "ADDTO" else result - nums
    expect(result == {4}, (result, u))
    u, _ = a.cmd("UID SEARCH FLAGGED", ok=True)
    expect(u == ["* SEARCH 4"], u)


@server_args(workers=2)
def test_ten_sessions_across_workers(srv):
    """Ten sessions, each with an update context, spread over both
    workers; changes by another session reach every one."""
    d = srv.login()
    fill(d, 2)
    d.cmd("SELECT INBOX", ok=True)
    sessions, workers = [], set()
    for i in range(10):
        c = srv.login()
        workers.add(worker_of(srv, c))
        c.cmd("SELECT INBOX", ok=True)
        c.line(f"C{i} UID SEARCH RETURN (UPDATE COUNT) KEYWORD $Important")
        expect(c.readline() == f'* ESEARCH (TAG "C{i}") UID COUNT 0')
        expect(c.readline().startswith(f"C{i} OK"))
        c.line(f"I{i} IDLE")
        expect(c.readline() == "+ idling")
        sessions.append(c)
    expect(len(workers) == 2, f"sessions in workers {workers}")
    d.cmd("STORE 2 +FLAGS.SILENT ($Important)", ok=True)
    for i, c in enumerate(sessions):
        lines = read_until(c, lambda x: "ESEARCH" in x)
        expect(lines[-1] == f'* ESEARCH (TAG "C{i}") UID ADDTO (0 2)', lines)
    d.append(msg=MSG, flags="($Important)")
    for i, c in enumerate(sessions):
        lines = read_until(c, lambda x: "ESEARCH" in x)
        expect(lines[-1] == f'* ESEARCH (TAG "C{i}") UID ADDTO (0 3)', lines)
    d.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)", ok=True)
    d.cmd("EXPUNGE", ok=True)
    for i, c in enumerate(sessions):
        lines = read_until(c, lambda x: "EXPUNGE" in x)
        expect(lines[-2:] == [f'* ESEARCH (TAG "C{i}") UID REMOVEFROM (0 2)',
                              "* 2 EXPUNGE"], lines)
        c.line("DONE")
        read_until(c, lambda x: x.startswith(f"I{i} OK"))


def test_text_program_updates(srv):
    """A program with a text key: a new message is matched on its text;
    flag changes are re-evaluated when the program has flag keys."""
    c = srv.login()
    c.append(msg="Subject: apple\r\n\r\nbanana\r\n")
    c.append(msg="Subject: cherry\r\n\r\nbanana split\r\n")
    c.cmd("SELECT INBOX", ok=True)
    ctx = start(c, "UID SEARCH RETURN (UPDATE) BODY banana UNFLAGGED",
                '* ESEARCH (TAG "{}") UID ALL 1:2')
    b = srv.login()
    b.append(msg="Subject: x\r\n\r\nno fruit\r\n")
    b.append(msg="Subject: y\r\n\r\nmore banana\r\n")
    u, _ = c.cmd("NOOP", ok=True)
    expect(esearch_lines(u, ctx) == [f'* ESEARCH (TAG "{ctx}") UID ADDTO (0 4)'], u)
    u, _ = c.cmd("STORE 1 +FLAGS.SILENT (\\Flagged)", ok=True)
    expect(esearch_lines(u, ctx) == [f'* ESEARCH (TAG "{ctx}") UID REMOVEFROM (0 1)'], u)
    u, _ = c.cmd("STORE 1,3 -FLAGS.SILENT (\\Flagged)", ok=True)
    expect(esearch_lines(u, ctx) == [f'* ESEARCH (TAG "{ctx}") UID ADDTO (0 1)'], u)


def test_sort_context_positions(srv):
    """Sorted contexts: ADDTO and REMOVEFROM carry the position in sort
    order (RFC 5267 4.3.3: the result "will occupy the new context
    position after insertion"; 4.3.4: it "will occupy the given context
    position before removal")."""
    a = srv.login()
    for subject in ("c", "a", "e"):
        a.append(msg=f"Subject: {subject}\r\n\r\nx\r\n")
    a.cmd("SELECT INBOX", ok=True)
    a.cmd("LOGOUT")
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    c.conv(r"""
C: S1 UID SORT RETURN (UPDATE) (SUBJECT) UTF-8 UNDELETED
S: * ESEARCH (TAG "S1") UID ALL 2,1,3
S: S1 OK Sort completed.
C: S2 SORT RETURN (UPDATE COUNT) (REVERSE SUBJECT) UTF-8 ALL
S: * ESEARCH (TAG "S2") COUNT 3
S: S2 OK Sort completed.
""")
    b = srv.login()
    b.append(msg="Subject: b\r\n\r\nx\r\n")       # UID 4
    b.append(msg="Subject: f\r\n\r\nx\r\n")       # UID 5
    u, _ = c.cmd("NOOP", ok=True)
    # S1 (a b c e f): b at 2, then f at 5; S2 (e c a): b at 3 (e c b
    # a), then f at 1, each pair counted after the one before
    expect(esearch_lines(u, "S1") == ['* ESEARCH (TAG "S1") UID ADDTO (2 4 5 5)'], u)
    expect(esearch_lines(u, "S2") == ['* ESEARCH (TAG "S2") ADDTO (3 4 1 5)'], u)
    # c (UID 1) stops matching S1 at position 3; S2 has no flag key
    u, _ = c.cmd("UID STORE 1 +FLAGS.SILENT (\\Deleted)", ok=True)
    expect(u == ['* ESEARCH (TAG "S1") UID REMOVEFROM (3 1)'], u)
    u, _ = c.cmd("UID STORE 1 -FLAGS.SILENT (\\Deleted)", ok=True)
    expect(u == ['* ESEARCH (TAG "S1") UID ADDTO (3 1)'], u)
    # expunge e (UID 3, msn 3): S1 a b c e f -> position 4; S2 f e c b
    # a -> position 2, both before the EXPUNGE
    b.cmd("SELECT INBOX", ok=True)
    b.cmd("UID STORE 3 +FLAGS.SILENT (\\Deleted)", ok=True)
    b.cmd("EXPUNGE", ok=True)
    u, _ = c.cmd("NOOP", ok=True)
    expunge = u.index("* 3 EXPUNGE")
    expect(u.index('* ESEARCH (TAG "S1") UID REMOVEFROM (4 3)') < expunge, u)
    expect(u.index('* ESEARCH (TAG "S2") REMOVEFROM (2 3)') < expunge, u)
    # equal keys keep mailbox order: a second "b" goes after the first
    b.append(msg="Subject: b\r\n\r\nx\r\n")       # UID 6
    u, _ = c.cmd("NOOP", ok=True)
    expect(esearch_lines(u, "S1") == ['* ESEARCH (TAG "S1") UID ADDTO (3 6)'], u)
    expect(esearch_lines(u, "S2") == ['* ESEARCH (TAG "S2") ADDTO (4 5)'], u)
    # the contexts still hold what a new SORT gives
    u, _ = c.cmd("UID SORT (SUBJECT) UTF-8 UNDELETED", ok=True)
    expect(u == ["* SORT 2 4 6 1 5"], u)
    c.cmd('CANCELUPDATE "S1" "S2"', ok=True)
