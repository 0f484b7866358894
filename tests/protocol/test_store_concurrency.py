"""The store under concurrency: APPENDs with old dates racing other
sessions' SELECTs (the tmp/ cleanup), many sessions opening a fresh store
at once, and `roost check --rebuild` against a server with open
sessions."""
import os
import threading
from roosttest import expect, server_args, MSG


def run_threads(n, target):
    """Runs target(i) in n threads started together; returns the
    exceptions raised (empty when all passed)."""
    errors = []
    barrier = threading.Barrier(n)

    def run(i):
        try:
            barrier.wait(10)
            target(i)
        except Exception as e:      # collected for the test's message
            errors.append(f"{i}: {e!r}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


@server_args(workers=2, users={f"u{i}": "pw" for i in range(6)})
def test_concurrent_first_logins(srv):
    # six users that never logged in, each opened by eight sessions at
    # once in two worker processes: creating and opening the index must
    # wait for the other processes' locks, never fail the login
    clients = []
    lock = threading.Lock()

    def login(i):
        c = srv.connect()
        with lock:
            clients.append(c)
        c.greeting()
        _, tagged = c.cmd(f"LOGIN u{i % 6} pw")
        expect(" OK " in tagged, tagged)
        _, tagged = c.cmd("SELECT INBOX")
        expect(" OK " in tagged, tagged)

    errors = run_threads(48, login)
    for c in clients:
        c.close()
    expect(not errors, "\n".join(errors))


def test_rebuild_refused_while_session_open(srv):
    # `roost check --rebuild` must not replace the index under a session
    # that has the store open: it refuses, and nothing the session does
    # afterwards is lost (APPEND, STORE) or undone (EXPUNGE)
    c = srv.login()
    c.append(flags="(\\Seen)")
    c.append()
    c.cmd("SELECT INBOX", ok=True)
    p = srv.roost("check", "-c", srv.conf, "--rebuild", "demo", check=False)
    expect(p.returncode != 0, p.stdout + p.stderr)
    expect("in use" in p.stderr and "nothing was changed" in p.stderr, p.stderr)
    tagged = c.append(flags="(\\Draft)")
    expect("[APPENDUID " in tagged and " 3]" in tagged, tagged)
    c.cmd("STORE 1 +FLAGS (\\Flagged)", ok=True)
    c.cmd("STORE 2 +FLAGS (\\Deleted)", ok=True)
    c.cmd("EXPUNGE", ok=True)
    c.cmd("LOGOUT")
    c.close()
    # with the session gone the rebuild runs, and keeps all of it
    p = None
    for _ in range(50):     # the worker closes the store after LOGOUT
        p = srv.roost("check", "-c", srv.conf, "--rebuild", "demo", check=False)
        if p.returncode == 0:
            break
        import time
        time.sleep(0.1)
    expect(p.returncode == 0, p.stderr)
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    u, _ = c.cmd("UID FETCH 1:* (FLAGS)", ok=True)
    expect(len(u) == 2, u)
    expect(u[0].startswith("* 1 FETCH (UID 1 FLAGS (") and "\\Flagged" in u[0]
           and "\\Seen" in u[0], u)
    expect(u[1].startswith("* 2 FETCH (UID 3 FLAGS (") and "\\Draft" in u[1], u)


def test_rebuild_while_session_idle(srv):
    # An idle session lets go of its user's index and lock (it holds only
    # its socket), so a rebuild runs; the session's store then refuses to
    # go on with the new index (its view and mailbox ids belong to the
    # old one): the session is ended with BYE [UNAVAILABLE] (at the IDLE
    # wake-up the rebuild's notification causes, or at its next command),
    # and a new login sees the mail.
    c = srv.login()
    c.append(flags="(\\Seen)")
    c.cmd("SELECT INBOX", ok=True)
    c.line("I IDLE")
    expect(c.readline() == "+ idling", "no continuation")
    p = srv.roost("check", "-c", srv.conf, "--rebuild", "demo", check=False)
    expect(p.returncode == 0, p.stdout + p.stderr)
    try:
        c.line("DONE")
        c.line("S STATUS INBOX (MESSAGES)")
    except OSError:
        pass                    # already closed after its BYE
    expect(c.is_closed(timeout=10), "the session goes on")
    text = c.buf.decode()
    expect("* BYE [UNAVAILABLE]" in text and "log in again" in text, text)
    expect("S OK" not in text, text)
    expect("the index was rebuilt or replaced while the store was idle"
           in srv.log_text(), srv.log_text()[-3000:])
    c.close()
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    u, _ = c.cmd("UID FETCH 1:* (FLAGS)", ok=True)
    expect(len(u) == 1 and "\\Seen" in u[0], u)
    c.close()


@server_args(workers=2)
def test_append_old_dates_while_others_select(srv):
    # APPENDs of old messages (their tmp/ file gets the old date as its
    # mtime) from two sessions, while two others SELECT over and over
    # (every open cleans stale tmp/ files): every APPEND must succeed
    stop = threading.Event()

    def selector(i):
        c = srv.login()
        while not stop.is_set():
            c.cmd("SELECT INBOX", ok=True)
            c.cmd("STORE 1:* +FLAGS (\\Seen)")
        c.close()

    def appender(i):
        c = srv.login()
        try:
            for n in range(40):
                c.append(msg=MSG, flags="(\\Flagged)", date="01-Jan-1990 00:00:00 +0000")
        finally:
            c.close()

    sel = [threading.Thread(target=selector, args=(i,)) for i in range(2)]
    for t in sel:
        t.start()
    try:
        errors = run_threads(2, appender)
    finally:
        stop.set()
        for t in sel:
            t.join(30)
    expect(not errors, "\n".join(errors))
    c = srv.login()
    u, _ = c.cmd("STATUS INBOX (MESSAGES)", ok=True)
    expect(u == ["* STATUS INBOX (MESSAGES 80)"], u)


def test_index_busy_is_unavailable(srv):
    # a write the index lock keeps waiting past SQLite's busy timeout
    # (another process holding BEGIN IMMEDIATE) is a temporary failure
    # the client may retry: NO [UNAVAILABLE] (RFC 5530), not [SERVERBUG]
    import sqlite3
    c = srv.login()
    c.append()
    c.cmd("SELECT INBOX", ok=True)
    db = sqlite3.connect(os.path.join(srv.data_dir, "users/_/demo/index.sqlite"),
                         isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    try:
        _, tagged = c.cmd("STORE 1 +FLAGS (\\Flagged)")
        expect(" NO [UNAVAILABLE] " in tagged, tagged)
    finally:
        db.execute("ROLLBACK")
        db.close()
    u, tagged = c.cmd("STORE 1 +FLAGS (\\Flagged)", ok=True)
    expect(any("\\Flagged" in x for x in u), u)
    c.close()


@server_args(workers=2)
def test_many_sessions_of_one_user_merge_writes(srv):
    # eight sessions of one user, spread over two workers, each adding its
    # own keyword to every message and appending, all at once: writers of
    # both processes queue on the index's write lock (index_busy_handler()
    # polls it), none fails, and no flag change is lost
    c = srv.login()
    for _ in range(10):
        c.append()
    c.close()

    def writer(i):
        s = srv.login()
        try:
            s.cmd("SELECT INBOX", ok=True)
            for n in range(10):
                s.cmd(f"STORE {n + 1} +FLAGS (k{i})", ok=True)
                s.append(msg=MSG)
                s.cmd("NOOP", ok=True)
        finally:
            s.close()

    errors = run_threads(8, writer)
    expect(not errors, "\n".join(errors))
    c = srv.login()
    u, _ = c.cmd("STATUS INBOX (MESSAGES)", ok=True)
    expect(u == ["* STATUS INBOX (MESSAGES 90)"], u)
    c.cmd("SELECT INBOX", ok=True)
    u, _ = c.cmd("FETCH 1:10 (FLAGS)", ok=True)
    expect(len(u) == 10, u)
    for line in u:
        for i in range(8):
            expect(f"k{i}" in line, line)
    c.close()


def test_write_waits_for_a_lock_held_briefly(srv):
    # another process holds the write lock for a moment, well within the
    # busy timeout: the STORE waits for it and succeeds
    import sqlite3
    c = srv.login()
    c.append()
    c.cmd("SELECT INBOX", ok=True)
    db = sqlite3.connect(os.path.join(srv.data_dir, "users/_/demo/index.sqlite"),
                         isolation_level=None, check_same_thread=False)
    db.execute("BEGIN IMMEDIATE")
    timer = threading.Timer(0.3, lambda: db.execute("ROLLBACK"))
    timer.start()
    try:
        u, _ = c.cmd("STORE 1 +FLAGS (\\Flagged)", ok=True)
        expect(any("\\Flagged" in x for x in u), u)
    finally:
        timer.join()
        db.close()
    c.close()
