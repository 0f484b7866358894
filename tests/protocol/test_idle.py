"""IDLE (RFC 2177) and changes between concurrent sessions (RFC 2180,
RFC 9051 7.5.1)."""
import time
from roosttest import expect, server_args


def test_idle_sees_append_from_other_session(srv):
    c1 = srv.login()
    c1.cmd("SELECT INBOX", ok=True)
    c1.line("i1 IDLE")
    expect(c1.readline() == "+ idling")
    c2 = srv.login()
    t0 = time.time()
    c2.append()
    line = c1.readline(timeout=5)
    expect(line == "* 1 EXISTS", line)
    expect(time.time() - t0 < 1.5, "IDLE push took too long")
    expect(c1.readline() == "* 1 RECENT")
    c1.line("DONE")
    expect(c1.readline() == "i1 OK IDLE terminated.")


@server_args(workers=2)
def test_idle_across_workers(srv):
    # with two workers the sessions may land in different processes
    idlers = []
    for i in range(4):
        c = srv.login()
        c.cmd("SELECT INBOX", ok=True)
        c.line("i IDLE")
        expect(c.readline() == "+ idling")
        idlers.append(c)
    c2 = srv.login()
    c2.append()
    for c in idlers:
        expect(c.readline(timeout=5) == "* 1 EXISTS")


def test_idle_sees_flags_and_expunge(srv):
    c2 = srv.login()
    c2.append()
    c2.append()
    c1 = srv.login()
    c1.cmd("SELECT INBOX", ok=True)
    c2.cmd("SELECT INBOX", ok=True)
    c1.line("i1 IDLE")
    expect(c1.readline() == "+ idling")
    c2.cmd("STORE 1 +FLAGS (\\Flagged)", ok=True)
    line = c1.readline(timeout=5)
    expect(line.startswith("* 1 FETCH (FLAGS (") and "\\Flagged" in line, line)
    c2.cmd("STORE 2 +FLAGS (\\Deleted)", ok=True)
    c2.cmd("EXPUNGE", ok=True)
    lines = [c1.readline(timeout=5)]
    while "EXPUNGE" not in lines[-1]:
        lines.append(c1.readline(timeout=5))
    expect(lines[-1] == "* 2 EXPUNGE", lines)
    c1.line("DONE")
    expect(c1.readline() == "i1 OK IDLE terminated.")


def test_idle_without_mailbox_and_bad_done(srv):
    c = srv.login()
    c.conv("""
    C: i1 IDLE
    S: + idling
    C: NOTDONE
    S: i1 BAD Expected DONE.
    C: i2 IDLE
    S: + idling
    C: done
    S: i2 OK IDLE terminated.
    """)


def test_idle_picks_up_file_dropped_into_new(srv):
    import os
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    c.line("i1 IDLE")
    expect(c.readline() == "+ idling")
    # find the INBOX Maildir of demo
    maildir = None
    for root, dirs, files in os.walk(srv.data_dir):
        if root.endswith("/Maildir"):
            maildir = root
    expect(maildir is not None, "no Maildir")
    tmp = os.path.join(maildir, "tmp", "dropped.1")
    with open(tmp, "wb") as f:
        f.write(b"From: x@example.com\r\nSubject: dropped\r\n\r\nbody\r\n")
    os.rename(tmp, os.path.join(maildir, "new", "1700000000.M1P1.host"))
    expect(c.readline(timeout=5) == "* 1 EXISTS")


def test_concurrent_flag_changes_are_merged(srv):
    c0 = srv.login()
    c0.append()
    sessions = [srv.login() for _ in range(2)]
    for s in sessions:
        s.cmd("SELECT INBOX", ok=True)
    # pipeline both stores at once
    sessions[0].line("s1 STORE 1 +FLAGS.SILENT (\\Flagged)")
    sessions[1].line("s2 STORE 1 +FLAGS.SILENT ($Work)")
    for s in sessions:
        while not s.readline().startswith("s"):
            pass
    u, _ = c0.cmd("SELECT INBOX", ok=True)
    u, _ = c0.cmd("FETCH 1 FLAGS", ok=True)
    expect(any("\\Flagged" in l and "$Work" in l for l in u), u)


def test_no_expunge_during_fetch(srv):
    c1 = srv.login()
    c1.append()
    c1.append()
    c1.cmd("SELECT INBOX", ok=True)
    c2 = srv.login()
    c2.cmd("SELECT INBOX", ok=True)
    c2.cmd("STORE 1 +FLAGS (\\Deleted)", ok=True)
    c2.cmd("EXPUNGE", ok=True)
    time.sleep(0.3)
    u, _ = c1.cmd("FETCH 1:* FLAGS")
    expect(not any("EXPUNGE" in l for l in u), u)
    u, _ = c1.cmd("NOOP", ok=True)
    expect("* 1 EXPUNGE" in u, u)
