"""UIDONLY (RFC 9586): ENABLE UIDONLY; FETCH, STORE, SEARCH, COPY, MOVE,
SORT and THREAD refused with BAD [UIDREQUIRED], as a message-number
criterion in UID SEARCH/SORT/THREAD and QRESYNC's seq-match-data are;
UIDFETCH instead of FETCH (UID FETCH, UID STORE, other sessions'
changes, CONDSTORE's MODSEQ, a QRESYNC SELECT), VANISHED instead of
EXPUNGE with or without QRESYNC, COPYUID on UID MOVE, and no [UNSEEN]
message number in SELECT."""
import re

from roosttest import expect
from test_qresync import uidvalidity


def uidonly_client(srv, n=0):
    c = srv.login()
    for _ in range(n):
        c.append()
    u, _ = c.cmd("CAPABILITY", ok=True)
    expect("UIDONLY" in u[0].split(), u)
    u, _ = c.cmd("ENABLE UIDONLY", ok=True)
    expect(u == ["* ENABLED UIDONLY"], u)
    return c


def test_message_numbers_refused(srv):
    c = uidonly_client(srv, 3)
    c.cmd("CREATE Other", ok=True)
    u, _ = c.cmd("SELECT INBOX", ok=True)
    expect(not any("[UNSEEN" in x for x in u), u)
    for command in ["FETCH 1:2 (UID FLAGS)", "FETCH 1 FLAGS", "STORE 1 +FLAGS (\\Seen)",
                    "SEARCH ALL", "COPY 1 Other", "MOVE 1 Other",
                    "SORT (ARRIVAL) UTF-8 ALL", "THREAD REFERENCES UTF-8 ALL",
                    "UID SEARCH 1:2", "UID SEARCH OR 1 UID 3",
                    "UID SORT (ARRIVAL) UTF-8 NOT 2",
                    "UID THREAD ORDEREDSUBJECT UTF-8 1:*"]:
        u, t = c.cmd(command)
        expect(t.split(" ", 2)[1:2] == ["BAD"] and "[UIDREQUIRED]" in t and u == [],
               (command, u, t))
        c.cmd("NOOP", ok=True)
    # the 07 example of RFC 9586 section 3
    _, t = c.cmd("FETCH 10000:14589 (UID FLAGS)")
    expect(" BAD [UIDREQUIRED] " in t, t)
    c.cmd("NOOP", ok=True)
    # what stays allowed
    c.cmd("UID SEARCH ALL", ok=True)
    c.cmd("UID SEARCH UID 1:2 SEEN", ok=True)
    c.cmd("UID SORT (ARRIVAL) UTF-8 ALL", ok=True)
    c.cmd("UID THREAD REFERENCES UTF-8 ALL", ok=True)
    c.cmd("EXPUNGE", ok=True)


def test_uidfetch_responses(srv):
    c = uidonly_client(srv, 3)
    c.cmd("SELECT INBOX", ok=True)
    # RFC 9586 3.3: the UID leads; the UID item only when asked
    u, _ = c.cmd("UID FETCH 1:3 (FLAGS)", ok=True)
    expect(u == [f"* {i} UIDFETCH (FLAGS (\\Recent))" for i in (1, 2, 3)], u)
    u, _ = c.cmd("UID FETCH 2:3 (UID FLAGS)", ok=True)
    expect(u == [f"* {i} UIDFETCH (UID {i} FLAGS (\\Recent))" for i in (2, 3)], u)
    u, _ = c.cmd("UID STORE 2 +FLAGS (\\Flagged)", ok=True)
    expect(u == ["* 2 UIDFETCH (FLAGS (\\Flagged \\Recent))"], u)
    u, _ = c.cmd("UID STORE 2 +FLAGS.SILENT (\\Seen)", ok=True)
    expect(u == [], u)
    # setting \Seen by reading
    u, _ = c.cmd("UID FETCH 3 (BODY[TEXT])", ok=True)
    expect(u[0].startswith("* 3 UIDFETCH (FLAGS (\\Seen \\Recent) BODY[TEXT]"), u)
    # another session's change
    d = srv.login()
    d.cmd("SELECT INBOX", ok=True)
    d.cmd("UID STORE 1 +FLAGS (\\Answered)", ok=True)
    u, _ = c.cmd("NOOP", ok=True)
    expect(u == ["* 1 UIDFETCH (FLAGS (\\Answered \\Recent))"], u)


def test_uidonly_with_condstore_and_qresync(srv):
    c = uidonly_client(srv, 4)
    uv = uidvalidity(c)
    c.cmd("ENABLE QRESYNC", ok=True)
    c.cmd("SELECT INBOX", ok=True)
    u, _ = c.cmd("UID FETCH 1:* (MODSEQ)", ok=True)
    ms = {int(m.group(1)): int(m.group(2)) for m in
          (re.match(r"\* (\d+) UIDFETCH \(MODSEQ \((\d+)\)\)$", x) for x in u) if m}
    expect(sorted(ms) == [1, 2, 3, 4], u)
    since = max(ms.values())
    u, _ = c.cmd("UID STORE 2 +FLAGS.SILENT (\\Flagged)", ok=True)
    m = re.fullmatch(r"\* 2 UIDFETCH \(MODSEQ \((\d+)\)\)", u[0])
    expect(m, u)
    c.cmd("UID STORE 3 +FLAGS.SILENT (\\Deleted)", ok=True)
    u, _ = c.cmd("UID EXPUNGE 3", ok=True)
    expect(u == ["* VANISHED 3"], u)
    u, _ = c.cmd(f"SELECT INBOX (QRESYNC ({uv} {since} 1:4))", ok=True)
    tail = u[[i for i, x in enumerate(u) if "HIGHESTMODSEQ" in x][0] + 1:]
    expect(tail == ["* VANISHED (EARLIER) 3",
                    f"* 2 UIDFETCH (FLAGS (\\Flagged) MODSEQ ({m.group(1)}))"], u)
    # RFC 9586 3.7: no seq-match-data
    _, t = c.cmd(f"SELECT INBOX (QRESYNC ({uv} {since} 1:4 (1 1)))")
    expect(" BAD [UIDREQUIRED] " in t, t)


def test_vanished_without_qresync(srv):
    c = uidonly_client(srv, 4)
    c.cmd("CREATE Archive2", ok=True)
    c.cmd("SELECT INBOX", ok=True)
    c.cmd("UID STORE 1,2 +FLAGS.SILENT (\\Deleted)", ok=True)
    u, _ = c.cmd("EXPUNGE", ok=True)
    expect(u == ["* VANISHED 1:2"], u)
    # RFC 9586 3.6 example: COPYUID, then VANISHED
    u, _ = c.cmd("UID MOVE 4 Archive2", ok=True)
    expect(re.fullmatch(r"\* OK \[COPYUID \d+ 4 1\] .*", u[0]) and
           u[1:] == ["* VANISHED 4"], u)
    d = srv.login()
    d.cmd("SELECT INBOX", ok=True)
    d.cmd("UID STORE 3 +FLAGS.SILENT (\\Deleted)", ok=True)
    d.cmd("EXPUNGE", ok=True)
    # the expunge happened before IDLE: told at its start
    c.line("i IDLE")
    lines = [c.readline(timeout=5), c.readline(timeout=5)]
    c.line("DONE")
    expect(sorted(lines) == ["* VANISHED 3", "+ idling"], lines)
    last = c.readline()
    expect(last == "i OK IDLE terminated.", last)
