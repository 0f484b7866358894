"""QRESYNC (RFC 7162 section 3.2): ENABLE QRESYNC, SELECT/EXAMINE with
the QRESYNC parameter (VANISHED (EARLIER) and the changed messages'
FETCH; the RFC's examples where they apply), UID FETCH (CHANGEDSINCE n
VANISHED), VANISHED instead of EXPUNGE after EXPUNGE, UID EXPUNGE,
MOVE, NOOP and in IDLE, [CLOSED], bad parameters, and sessions in other
workers (two and ten)."""
import re
import time

from roosttest import expect, server_args
from test_condstore import modseqs, highestmodseq
from test_multiaccess import worker_pair, worker_of
from test_slices import fill


def uidvalidity(c, box="INBOX"):
    u, _ = c.cmd(f"STATUS {box} (UIDVALIDITY)", ok=True)
    return int(re.search(r"UIDVALIDITY (\d+)", u[0]).group(1))


def qresync_client(srv, n=0):
    c = srv.login()
    for _ in range(n):
        c.append()
    u, _ = c.cmd("ENABLE QRESYNC", ok=True)
    expect(u == ["* ENABLED QRESYNC"], u)
    return c


def after_select(u):
    """The lines of a QRESYNC SELECT after its HIGHESTMODSEQ line."""
    i = [k for k, x in enumerate(u) if x.startswith("* OK [HIGHESTMODSEQ ")][0]
    return u[i + 1:]


def test_enable_qresync_implies_condstore(srv):
    c = qresync_client(srv, 2)
    u, _ = c.cmd("SELECT INBOX", ok=True)
    expect(any(x.startswith("* OK [HIGHESTMODSEQ ") for x in u), u)
    u, _ = c.cmd("ENABLE CONDSTORE", ok=True)
    expect(u == ["* ENABLED"], u)
    d = srv.login()
    u, _ = d.cmd("ENABLE QRESYNC CONDSTORE", ok=True)
    expect(u == ["* ENABLED QRESYNC CONDSTORE"], u)


def test_qresync_parameters_need_enable(srv):
    c = srv.login()
    c.append()
    uv = uidvalidity(c)
    _, t = c.cmd(f"SELECT INBOX (QRESYNC ({uv} 1))")
    expect(" BAD " in t, t)
    # the BAD left nothing selected
    _, t = c.cmd("FETCH 1 FLAGS")
    expect(" BAD " in t, t)
    c.cmd("SELECT INBOX", ok=True)
    _, t = c.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
    expect(" BAD " in t, t)


def test_select_qresync_vanished_and_changes(srv):
    c = qresync_client(srv, 10)
    uv = uidvalidity(c)
    c.cmd("SELECT INBOX", ok=True)
    since = highestmodseq(c)
    c.cmd("STORE 2 +FLAGS (\\Seen)", ok=True)
    c.cmd("STORE 3,5,7 +FLAGS (\\Deleted)", ok=True)
    c.cmd("EXPUNGE", ok=True)
    c.cmd("STORE 5 +FLAGS ($Forwarded)", ok=True)    # UID 8
    d = srv.login()
    d.cmd("SELECT INBOX", ok=True)
    d.cmd("UID STORE 10 +FLAGS (\\Flagged)", ok=True)
    c.cmd("NOOP", ok=True)
    ms = modseqs(c, "1:*", uid=True)
    # RFC 7162 3.2.5.1 example: VANISHED (EARLIER) of the known UIDs,
    # then the changed known messages with UID, FLAGS and MODSEQ
    u, t = c.cmd(f"SELECT INBOX (QRESYNC ({uv} {since} 1:9))", ok=True)
    expect(u[0] == "* OK [CLOSED] Previous mailbox is now closed.", u)
    expect(after_select(u) == [
        "* VANISHED (EARLIER) 3,5,7",
        f"* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ ({ms[2]}))",
        f"* 5 FETCH (UID 8 FLAGS ($Forwarded) MODSEQ ({ms[8]}))"], u)
    expect(t.endswith("OK [READ-WRITE] SELECT completed."), t)
    # no known UIDs: 1:<UIDNEXT-1>
    u, _ = c.cmd(f"EXAMINE INBOX (QRESYNC ({uv} {since}))", ok=True)
    expect(after_select(u) == [
        "* VANISHED (EARLIER) 3,5,7",
        f"* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ ({ms[2]}))",
        f"* 5 FETCH (UID 8 FLAGS ($Forwarded) MODSEQ ({ms[8]}))",
        f"* 7 FETCH (UID 10 FLAGS (\\Flagged) MODSEQ ({ms[10]}))"], (ms, u))
    # up to date: nothing
    top = highestmodseq(c)
    u, _ = c.cmd(f"EXAMINE INBOX (QRESYNC ({uv} {top} 1:10))", ok=True)
    expect(after_select(u) == [], ("up to date", top, u))
    # another UIDVALIDITY: as if nothing changed (RFC's example)
    u, _ = c.cmd(f"SELECT INBOX (QRESYNC ({uv + 1} {since} 1:10))", ok=True)
    expect(after_select(u) == [], u)
    # seq-match-data parses and, the tombstones being complete, changes
    # nothing
    u, _ = c.cmd(f"SELECT INBOX (QRESYNC ({uv} {since} 1:10 (1,2,3 1,2,4)))", ok=True)
    expect(after_select(u)[0] == "* VANISHED (EARLIER) 3,5,7", u)
    u, _ = c.cmd(f"SELECT INBOX (QRESYNC ({uv} {since} (1:2 1:2)))", ok=True)
    expect(after_select(u)[0] == "* VANISHED (EARLIER) 3,5,7", u)


def test_closed_only_when_switching(srv):
    c = qresync_client(srv, 1)
    u, _ = c.cmd("SELECT INBOX", ok=True)
    expect(not any("[CLOSED]" in x for x in u), u)
    u, _ = c.cmd("EXAMINE INBOX", ok=True)
    expect(u[0] == "* OK [CLOSED] Previous mailbox is now closed.", u)
    c.cmd("UNSELECT", ok=True)
    u, _ = c.cmd("SELECT INBOX", ok=True)
    expect(not any("[CLOSED]" in x for x in u), u)


def test_uid_fetch_vanished(srv):
    c = qresync_client(srv, 8)
    c.cmd("SELECT INBOX", ok=True)
    since = highestmodseq(c)
    c.cmd("STORE 1 +FLAGS (\\Answered)", ok=True)
    c.cmd("UID STORE 2,4,6 +FLAGS (\\Deleted)", ok=True)
    c.cmd("EXPUNGE", ok=True)
    ms = modseqs(c, "1:*", uid=True)
    u, _ = c.cmd(f"UID FETCH 1:5 (FLAGS) (CHANGEDSINCE {since} VANISHED)", ok=True)
    expect(u == ["* VANISHED (EARLIER) 2,4",
                 f"* 1 FETCH (UID 1 FLAGS (\\Answered \\Recent) MODSEQ ({ms[1]}))"], u)
    u, _ = c.cmd(f"UID FETCH 1:* (FLAGS) (VANISHED CHANGEDSINCE {since})", ok=True)
    expect(u[0] == "* VANISHED (EARLIER) 2,4,6", u)
    for command in ["FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)",
                    "UID FETCH 1:* (FLAGS) (VANISHED)",
                    "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED VANISHED)"]:
        _, t = c.cmd(command)
        expect(" BAD " in t, (command, t))
        c.cmd("NOOP", ok=True)


def test_vanished_replaces_expunge(srv):
    c = qresync_client(srv, 10)
    c.cmd("SELECT INBOX", ok=True)
    c.cmd("CREATE Other", ok=True)
    c.cmd("STORE 2,3,4,9 +FLAGS.SILENT (\\Deleted)", ok=True)
    u, _ = c.cmd("EXPUNGE", ok=True)
    expect(u == ["* VANISHED 2:4,9"], u)
    u, _ = c.cmd("UID STORE 10 +FLAGS.SILENT (\\Deleted)", ok=True)
    u, _ = c.cmd("UID EXPUNGE 10", ok=True)
    expect(u == ["* VANISHED 10"], u)
    u, t = c.cmd("UID MOVE 1,5 Other", ok=True)
    expect(u[0].startswith("* OK [COPYUID ") and u[1:] == ["* VANISHED 1,5"], u)
    # another session's expunge: at NOOP, and in IDLE
    d = srv.login()
    d.cmd("SELECT INBOX", ok=True)
    d.cmd("UID STORE 6 +FLAGS.SILENT (\\Deleted)", ok=True)
    d.cmd("EXPUNGE", ok=True)
    u, _ = c.cmd("NOOP", ok=True)
    expect(u == ["* VANISHED 6"], u)
    c.line("i1 IDLE")
    expect(c.readline() == "+ idling")
    d.cmd("UID STORE 7 +FLAGS.SILENT (\\Deleted)", ok=True)
    d.cmd("EXPUNGE", ok=True)
    # the flag change may come first, if IDLE saw it apart
    lines = wait_for(c, r"\* VANISHED .*")
    expect(lines[-1] == "* VANISHED 7" and
           all(re.fullmatch(r"\* \d+ FETCH \(UID 7 .*", x) for x in lines[:-1]), lines)
    c.line("DONE")
    expect(c.readline() == "i1 OK IDLE terminated.")
    # CLOSE is silent
    c.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)", ok=True)
    u, _ = c.cmd("CLOSE", ok=True)
    expect(u == [], u)


def test_long_vanished_is_split(srv):
    c = qresync_client(srv, 0)
    fill(c, 5000)
    c.cmd("SELECT INBOX", ok=True)
    since = highestmodseq(c)
    # every other message: 1500 ranges of one UID
    c.cmd("STORE 1:* +FLAGS.SILENT (\\Deleted)", ok=True)
    c.cmd("STORE 2:* -FLAGS.SILENT (\\Deleted)", ok=True)
    odd = ",".join(str(i) for i in range(1, 5001, 2))
    c.cmd(f"UID STORE {odd} +FLAGS.SILENT (\\Deleted)", ok=True)
    u, _ = c.cmd("EXPUNGE", ok=True)
    expect(len(u) > 1 and all(x.startswith("* VANISHED ") and len(x) < 8200 for x in u),
           [len(x) for x in u])
    got = [int(x) for line in u for x in line[len("* VANISHED "):].split(",")]
    expect(got == list(range(1, 5001, 2)), got[:10])
    uv = uidvalidity(c)
    u, _ = c.cmd(f"EXAMINE INBOX (QRESYNC ({uv} {since} {odd}))", ok=True)
    lines = after_select(u)
    got = [int(x) for line in lines
           for x in line[len("* VANISHED (EARLIER) "):].split(",")]
    expect(got == list(range(1, 5001, 2)), got[:10])


def test_bad_qresync_parameters(srv):
    c = qresync_client(srv, 2)
    uv = uidvalidity(c)
    big = ",".join(str(i) for i in range(1, 10000, 2))     # 24 KB
    for params in [f"QRESYNC ({uv} 0)", f"QRESYNC ({uv} 9223372036854775808)",
                   f"QRESYNC ({uv})", f"QRESYNC (0 1)", f"QRESYNC (4294967296 1)",
                   f"QRESYNC ({uv} 1 1:*)", f"QRESYNC ({uv} 1 0:3)",
                   f"QRESYNC ({uv} 1 1:x)", f"QRESYNC ({uv} 1 1:3 (1:2 1:3))",
                   f"QRESYNC ({uv} 1 1:3 (1:* 1:2))", f"QRESYNC ({uv} 1 1:3 (1 2 3))",
                   f"QRESYNC ({uv} 1 1:3 (1:2 3:4) extra)", f"QRESYNC ({uv} 1 1:3 1:3)",
                   "QRESYNC", "QRESYNC 1", f"QRESYNC ({uv} 1) QRESYNC ({uv} 1)",
                   f"QRESYNC ({uv} x)", f"QRESYNC ({uv} 1 ({big} {big},20001))"]:
        _, t = c.cmd(f"SELECT INBOX ({params})")
        expect(" BAD " in t, (params, t))
        c.cmd("NOOP", ok=True)
    # an enormous but valid set is fine, and memory stays bounded by the
    # mailbox (the answer is a few ranges)
    u, _ = c.cmd(f"SELECT INBOX (QRESYNC ({uv} 1 1:4294967295 ({big} {big})))", ok=True)
    u, _ = c.cmd(f"SELECT INBOX (QRESYNC ({uv} 1 {big}))", ok=True)
    expect(after_select(u) == [
        "* 1 FETCH (UID 1 FLAGS () MODSEQ (2))"] or len(after_select(u)) == 1, u)
    u, _ = c.cmd(f"UID FETCH {big} (FLAGS) (CHANGEDSINCE 1 VANISHED)", ok=True)


def wait_for(c, pattern, timeout=5):
    """Lines read until one matches `pattern` (regex), which is last."""
    lines = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        lines.append(c.readline(timeout=timeout))
        if re.fullmatch(pattern, lines[-1]):
            return lines
    raise AssertionError(f"no {pattern!r} in {lines}")


@server_args(workers=2)
def test_two_sessions_in_other_workers(srv):
    a, b = worker_pair(srv)
    for _ in range(4):
        a.append()
    a.cmd("ENABLE QRESYNC", ok=True)
    a.cmd("SELECT INBOX", ok=True)
    b.cmd("SELECT INBOX", ok=True)
    b.cmd("STORE 2 +FLAGS (\\Flagged)", ok=True)
    ms = modseqs(b, "2")[2]
    u, _ = a.cmd("NOOP", ok=True)
    expect(u == [f"* 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent) MODSEQ ({ms}))"], u)
    # in IDLE: flag change, then expunge
    a.line("i IDLE")
    expect(a.readline() == "+ idling")
    b.cmd("STORE 3 +FLAGS (\\Seen)", ok=True)
    ms = modseqs(b, "3")[3]
    lines = wait_for(a, r"\* 3 FETCH .*")
    expect(lines[-1] == f"* 3 FETCH (UID 3 FLAGS (\\Seen \\Recent) MODSEQ ({ms}))", lines)
    b.cmd("STORE 1,4 +FLAGS (\\Deleted)", ok=True)
    b.cmd("EXPUNGE", ok=True)
    lines = wait_for(a, r"\* VANISHED .*")
    expect(lines[-1] == "* VANISHED 1,4", lines)
    a.line("DONE")
    expect(a.readline() == "i OK IDLE terminated.")


@server_args(workers=3)
def test_ten_sessions_in_several_workers(srv):
    writer = srv.login()
    for _ in range(12):
        writer.append()
    writer.cmd("SELECT INBOX", ok=True)
    sessions = []
    for i in range(10):
        c = srv.login()
        c.cmd("ENABLE QRESYNC" if i % 2 == 0 else "ENABLE CONDSTORE", ok=True)
        c.cmd("SELECT INBOX", ok=True)
        sessions.append(c)
    workers = {worker_of(srv, c) for c in sessions + [writer]}
    expect(len(workers) >= 2, workers)
    for c in sessions[5:]:
        c.line("i IDLE")
        expect(c.readline() == "+ idling")
    writer.cmd("STORE 5 +FLAGS ($Done)", ok=True)
    writer.cmd("STORE 6,8 +FLAGS (\\Deleted)", ok=True)
    writer.cmd("EXPUNGE", ok=True)
    ms = modseqs(writer, "5")[5]
    for i, c in enumerate(sessions):
        if i >= 5:
            lines = wait_for(c, r"\* (VANISHED 6,8|8 EXPUNGE)")
            lines += [c.readline(timeout=5)] if i % 2 == 1 else []
            c.line("DONE")
            lines += wait_for(c, r"i OK IDLE terminated\.")[:-1]
        else:
            lines, _ = c.cmd("NOOP", ok=True)
        expect(f"* 5 FETCH (UID 5 FLAGS ($Done) MODSEQ ({ms}))" in lines, (i, lines))
        if i % 2 == 0:
            expect("* VANISHED 6,8" in lines and not any("EXPUNGE" in x for x in lines),
                   (i, lines))
        else:
            expect(lines[-2:] == ["* 8 EXPUNGE", "* 6 EXPUNGE"] or
                   ["* 8 EXPUNGE", "* 6 EXPUNGE"] == [x for x in lines if "EXPUNGE" in x],
                   (i, lines))


def test_select_qresync_long_answer(srv):
    """Every message changed since the client's modseq: the FETCH
    responses go out in slices as the output drains (more than the
    256 KB high-water mark), all of them, in order, before the OK."""
    c = qresync_client(srv, 0)
    fill(c, 6000)
    uv = uidvalidity(c)
    c.cmd("SELECT INBOX", ok=True)
    c.cmd("STORE 1:* +FLAGS.SILENT (\\Flagged $SomeLongerKeywordName)", ok=True)
    u, t = c.cmd(f"SELECT INBOX (QRESYNC ({uv} 1 1:6000))", ok=True)
    lines = after_select(u)
    expect(len(lines) == 6000 and sum(len(x) for x in lines) > 256 * 1024, len(lines))
    for i, line in enumerate(lines, 1):
        expect(line.startswith(f"* {i} FETCH (UID {i} FLAGS (\\Flagged $SomeLongerKeywordName)"),
               line)
    expect(t.endswith("OK [READ-WRITE] SELECT completed."), t)
