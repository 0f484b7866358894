"""Long commands run in slices (DESIGN.md): one user's COPY, MOVE,
SEARCH, SORT, STORE or EXPUNGE over many messages must not stall the
other sessions of its worker, and stays correct (complete, in order,
atomic) while it yields.

No timings are asserted: each test checks the ORDER of events, i.e. that
another session's command sent after the long one had started is answered
while the long one is still running (its tagged reply not yet sent)."""
import re
import select
import signal
import time
from roosttest import expect, server_args

N = 12000


def fill(c, n=N, box="INBOX"):
    """n small messages, APPENDed with LITERAL+ in one pipelined burst;
    message i (1-based) has subject s<i> and body "hello <i>"."""
    c.append_burst([(f"Subject: s{i:05d}\r\nFrom: u{i % 7}@x.example\r\n\r\n"
                     f"hello {i}\r\n").encode() for i in range(1, n + 1)], box)


def pending(c):
    """True if the server has sent c something not yet read."""
    if c.buf:
        return True
    r, _, _ = select.select([c.sock], [], [], 0)
    return bool(r)


def wait_tagged(c, tag, timeout=120):
    """Reads until the tagged reply of `tag`; returns (untagged, tagged)."""
    untagged = []
    while True:
        line = c.readline(timeout=timeout)
        if line.startswith(tag + " "):
            return untagged, line
        untagged.append(line)


def wait_started(srv, verb, seen):
    """Waits until the server log shows that the worker dispatched a
    command `verb` of demo's (the worker logs each command as it starts
    it; `seen` is how many such lines there were before)."""
    pattern = re.compile(r"imap\(demo,[^)]*\): command " + re.escape(verb) + r"$", re.M)
    deadline = time.time() + 30
    while len(pattern.findall(srv.log_text())) <= seen:
        expect(time.time() < deadline, f"{verb} never started")
        time.sleep(0.005)


def others_go_first(srv, a, long_cmd, tag="L", noops=3, login=True):
    """Sends long_cmd on a; once the worker has started it, another user's
    NOOPs and a fresh LOGIN on the same worker must be answered while a's
    command still runs.  Returns a's (untagged, tagged) reply."""
    b = srv.login("alice", "alicepw")
    b.cmd("SELECT INBOX", ok=True)
    verb = " ".join(long_cmd.split()[:2]) if long_cmd.startswith("UID ") \
        else long_cmd.split()[0]
    pattern = re.compile(r"imap\(demo,[^)]*\): command " + re.escape(verb) + r"$", re.M)
    seen = len(pattern.findall(srv.log_text()))
    a.line(f"{tag} {long_cmd}")
    wait_started(srv, verb, seen)
    for _ in range(noops):
        b.cmd("NOOP", ok=True)
        expect(not pending(a), f"{long_cmd[:40]} finished before another "
               "session's NOOP was answered: it stalled the worker")
    if login:
        d = srv.login("alice", "alicepw")
        expect(not pending(a), f"{long_cmd[:40]} finished before another "
               "session's LOGIN was answered")
        d.close()
    b.close()
    return wait_tagged(a, tag)


@server_args(workers=1, extra_conf="fsync = no")
def test_copy_does_not_stall_worker(srv):
    a = srv.login()
    fill(a)
    a.cmd("SELECT INBOX", ok=True)
    a.cmd("CREATE Dst", ok=True)
    u, t = a.cmd("STATUS Dst (UIDVALIDITY)", ok=True)
    v = re.search(r"UIDVALIDITY (\d+)", u[0]).group(1)
    _, t = others_go_first(srv, a, "COPY 1:* Dst")
    expect(t == f"L OK [COPYUID {v} 1:{N} 1:{N}] Copy completed.", t)
    # complete and in order: message i went to UID i with its subject
    a.cmd("EXAMINE Dst", ok=True)
    u, _ = a.cmd(f"SEARCH SUBJECT s00001", ok=True)
    expect(u == ["* SEARCH 1"], u)
    u, _ = a.cmd(f"FETCH {N} (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])", ok=True)
    expect(len(u) == 1 and u[0].startswith(f"* {N} FETCH (UID {N} BODY[")
           and f"Subject: s{N:05d}\r\n" in u[0], u)
    u, _ = a.cmd("STATUS Dst (MESSAGES UIDNEXT)", ok=True)
    expect(u == [f"* STATUS Dst (MESSAGES {N} UIDNEXT {N + 1})"], u)
    # the text index came along (BODY is answered for the copies)
    u, _ = a.cmd("SEARCH BODY \"hello 11999\"", ok=True)
    expect(u == ["* SEARCH 11999"], u)


@server_args(workers=1, extra_conf="fsync = no")
def test_move_does_not_stall_worker(srv):
    a = srv.login()
    fill(a)
    a.cmd("SELECT INBOX", ok=True)
    a.cmd("CREATE Dst", ok=True)
    u, t = a.cmd("STATUS Dst (UIDVALIDITY)", ok=True)
    v = re.search(r"UIDVALIDITY (\d+)", u[0]).group(1)
    u, t = others_go_first(srv, a, "UID MOVE 1:* Dst")
    expect(t == "L OK Move completed.", t)
    expect(u[0] == f"* OK [COPYUID {v} 1:{N} 1:{N}] Moved UIDs.", u[0])
    # UID MOVE: expunges reported, highest first or not, one per message
    expect(len([x for x in u if x.endswith(" EXPUNGE")]) == N, len(u))
    u, _ = a.cmd("STATUS Dst (MESSAGES)", ok=True)
    expect(u == [f"* STATUS Dst (MESSAGES {N})"], u)


@server_args(workers=1, extra_conf="fsync = no")
def test_search_many_keys_does_not_stall_worker(srv):
    a = srv.login()
    fill(a)
    a.cmd("SELECT INBOX", ok=True)
    # 8,000 keys, each answered from the index, over 12,000 messages
    u, t = others_go_first(srv, a, "SEARCH " + " ".join(["UNSEEN"] * 8000))
    expect(t == "L OK Search completed.", t)
    expect(u == ["* SEARCH " + " ".join(str(i) for i in range(1, N + 1))],
           [x[:80] for x in u])


def stat_dst(c):
    u, _ = c.cmd("STATUS Dst (MESSAGES UIDNEXT)", ok=True)
    return u


def dst_tmp_files(srv):
    """What a copy staged and left in demo's Dst/tmp/."""
    import glob
    import os
    tmp = os.path.join(srv.data_dir, "users", "*", "demo", "Maildir", ".Dst", "tmp")
    return glob.glob(os.path.join(tmp, "*")) + glob.glob(os.path.join(tmp, ".copy-*"))


def reset(c):
    """Closes c's connection with a TCP reset (RST), not a FIN."""
    import socket
    import struct
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.sock.close()


def start_long_copy(srv):
    """demo's session a starts COPY 1:* Dst of N messages; returns a, a
    second session b and what b saw of Dst before."""
    a = srv.login()
    fill(a)
    a.cmd("SELECT INBOX", ok=True)
    a.cmd("CREATE Dst", ok=True)
    a.cmd("COPY 1:3 Dst", ok=True)
    b = srv.login()
    before = stat_dst(b)
    a.line("L COPY 1:* Dst")
    wait_started(srv, "COPY", 1)
    expect(not pending(a), "the COPY finished too soon to test anything")
    return a, b, before


@server_args(workers=1, extra_conf="fsync = no")
def test_fin_during_copy_lets_it_complete(srv):
    a, b, before = start_long_copy(srv)
    a.close()
    # a FIN may be a half-close (the client still reads): the COPY runs to
    # its end, never leaving a partial copy (a reset undoes it instead:
    # test_reset_during_copy_undoes_it)
    deadline = time.time() + 60
    full = [f"* STATUS Dst (MESSAGES {N + 3} UIDNEXT {N + 4})"]
    while True:
        after = stat_dst(b)
        if after == full:
            break
        expect(after == before, f"partial copy: {after} (before {before})")
        expect(time.time() < deadline, "the COPY never completed")
        time.sleep(0.2)
    b.cmd("NOOP", ok=True)
    expect(dst_tmp_files(srv) == [], dst_tmp_files(srv)[:3])


@server_args(workers=1, extra_conf="fsync = no")
def test_reset_during_copy_undoes_it(srv):
    """A client that resets its connection (RST) while a long COPY runs is
    noticed at once, although its input is paused: the COPY is abandoned
    and undone (nothing in the destination, nothing staged left in its
    tmp/), instead of running to the end for nobody."""
    a, b, before = start_long_copy(srv)
    reset(a)
    deadline = time.time() + 60
    while "connection reset by peer" not in srv.log_text():
        expect(time.time() < deadline, "the reset was never noticed")
        time.sleep(0.01)
    after = stat_dst(b)
    expect(after == before, f"the COPY went on after the reset: {after} (before {before})")
    expect(dst_tmp_files(srv) == [], dst_tmp_files(srv)[:3])
    b.cmd("NOOP", ok=True)


@server_args(workers=1, extra_conf="fsync = no")
def test_reset_during_each_long_command(srv):
    """A reset while FETCH (stopped on its output), STORE, SEARCH, SORT,
    THREAD, EXPUNGE or MOVE runs in slices: the session is cleaned up at
    once (under ASan: nothing leaks, no use after free) and the worker
    serves the others; the mailbox stays usable."""
    a = srv.login()
    fill(a)
    a.cmd("CREATE Dst", ok=True)
    b = srv.login("alice", "alicepw")
    cmds = ["FETCH 1:* (FLAGS BODY.PEEK[])", "STORE 1:* +FLAGS (kw1)",
            "SEARCH OR BODY 7 SUBJECT 3", "SORT (SUBJECT) UTF-8 ALL",
            "THREAD REFERENCES UTF-8 ALL", "UID STORE 1:* +FLAGS.SILENT (\\Deleted)",
            "EXPUNGE", "MOVE 1:* Dst"]
    for i, cmd in enumerate(cmds):
        c = srv.login()
        c.cmd("SELECT INBOX", ok=True)
        verb = " ".join(cmd.split()[:2]) if cmd.startswith("UID ") else cmd.split()[0]
        pattern = re.compile(r"imap\(demo,[^)]*\): command " + re.escape(verb) + r"$", re.M)
        seen = len(pattern.findall(srv.log_text()))
        # a reset seen on reading ("connection reset by peer") or, when a
        # write met it first, as the end of the input ("disconnected")
        resets = srv.log_text().count("): Disconnected (")
        c.line(f"R{i} {cmd}")
        wait_started(srv, verb, seen)
        reset(c)
        deadline = time.time() + 60
        while srv.log_text().count("): Disconnected (") <= resets:
            expect(time.time() < deadline, f"the reset during {cmd} was never noticed")
            time.sleep(0.01)
        b.cmd("NOOP", ok=True)
    a.cmd("SELECT INBOX", ok=True)
    a.cmd("FETCH 1 FLAGS", ok=None)
    srv.check_log()


def copy_then_status(srv, half_close):
    """Pipelines a COPY of 3,000 messages and a STATUS of its destination
    (optionally shutting down the sending side once the COPY runs): both
    are answered in order, the STATUS seeing the copies."""
    import socket
    a = srv.login()
    fill(a, 3000)
    a.cmd("SELECT INBOX", ok=True)
    a.cmd("CREATE Dst", ok=True)
    a.line("L1 COPY 1:* Dst")
    a.line("L2 STATUS Dst (MESSAGES)")
    if half_close:
        wait_started(srv, "COPY", 0)
        a.sock.shutdown(socket.SHUT_WR)
    _, t = wait_tagged(a, "L1")
    expect(t.startswith("L1 OK [COPYUID "), t)
    u, t = wait_tagged(a, "L2")
    expect(u == ["* STATUS Dst (MESSAGES 3000)"], u)
    expect(t.startswith("L2 OK"), t)


@server_args(workers=1, extra_conf="fsync = no")
def test_half_close_during_copy_gets_answers(srv):
    """A client that shuts down only its sending side (a half-close, as
    'printf ... | nc -N' does) after pipelining a long COPY and a STATUS
    still gets both answers, then the server closes."""
    copy_then_status(srv, half_close=True)


@server_args(workers=1, extra_conf="fsync = no")
def test_pipelined_command_waits_for_copy(srv):
    """A command pipelined behind a long COPY runs after it, and sees its
    result."""
    copy_then_status(srv, half_close=False)


@server_args(workers=1, extra_conf="fsync = no")
def test_store_and_expunge_do_not_stall_worker(srv):
    a = srv.login()
    fill(a)
    a.cmd("SELECT INBOX", ok=True)
    _, t = others_go_first(srv, a, "STORE 1:* +FLAGS.SILENT (\\Deleted $Done)",
                           noops=1, login=False)
    expect(t == "L OK Store completed.", t)
    u, _ = a.cmd("SEARCH RETURN (COUNT) DELETED KEYWORD $Done", ok=True)
    expect(u == [f'* ESEARCH (TAG "t{a.tagn}") COUNT {N}'], u)
    # keep one: the expunge must leave what has no \Deleted
    a.cmd(f"STORE {N} -FLAGS.SILENT (\\Deleted)", ok=True)
    # one NOOP and a LOGIN: since text index version 3 an expunge of
    # 12,000 small messages takes only some 10 slices
    u, t = others_go_first(srv, a, "EXPUNGE", noops=1)
    expect(t == "L OK Expunge completed.", t)
    # one EXPUNGE per message (reported highest msn first)
    expect(sorted(u) == sorted(f"* {i} EXPUNGE" for i in range(1, N)), (len(u), u[:3]))
    u, _ = a.cmd("FETCH 1:* (UID FLAGS)", ok=True)
    expect(u == [f"* 1 FETCH (UID {N} FLAGS (\\Recent $Done))"], u)


def test_expunge_only_what_has_deleted_now(srv):
    """The view's \\Deleted may be stale: EXPUNGE removes what has
    \\Deleted in the mailbox when it runs, and nothing else."""
    a = srv.login()
    for _ in range(3):
        a.append()
    a.cmd("SELECT INBOX", ok=True)
    a.cmd("STORE 1:2 +FLAGS.SILENT (\\Deleted)", ok=True)
    b = srv.login()
    b.cmd("SELECT INBOX", ok=True)
    b.cmd("STORE 1 -FLAGS.SILENT (\\Deleted)", ok=True)
    b.cmd("STORE 3 +FLAGS.SILENT (\\Deleted)", ok=True)
    u, t = a.cmd("UID EXPUNGE 1:3", ok=True)
    # 2 had \Deleted in a's view and still has; 1 lost it; 3 gained it
    # unseen by a (UID EXPUNGE is left with what a's view knew)
    expect("* 2 EXPUNGE" in u and "* 1 EXPUNGE" not in u, u)
    u, _ = a.cmd("UID FETCH 1:* (FLAGS)", ok=True)
    expect(u == ["* 1 FETCH (UID 1 FLAGS (\\Recent))",
                "* 2 FETCH (UID 3 FLAGS (\\Deleted \\Recent))"], u)
    u, t = a.cmd("EXPUNGE", ok=True)
    expect(u == ["* 2 EXPUNGE"], u)


@server_args(workers=1, extra_conf="fsync = no")
def test_sigterm_lets_long_copy_finish(srv):
    """SIGTERM while a long COPY runs: the COPY completes (all of it),
    then BYE, and the server exits cleanly."""
    a = srv.login()
    fill(a, 6000)
    a.cmd("SELECT INBOX", ok=True)
    a.cmd("CREATE Dst", ok=True)
    a.line("L COPY 1:* Dst")
    wait_started(srv, "COPY", 0)
    srv.proc.send_signal(signal.SIGTERM)
    _, t = wait_tagged(a, "L")
    expect(t.startswith("L OK [COPYUID "), t)
    expect(a.readline().startswith("* BYE "), "no BYE after the command")
    # the one SIGTERM is enough: a second (srv.stop() while the server
    # is still exiting) would tell it not to wait for its workers
    srv.proc.wait(20)
    expect(srv.stop() == 0, "server did not exit cleanly")
    srv.check_log()


@server_args(workers=1, extra_conf="fsync = no")
def test_close_does_not_stall_worker(srv):
    a = srv.login()
    fill(a)
    a.cmd("SELECT INBOX", ok=True)
    a.cmd("STORE 2:* +FLAGS.SILENT (\\Deleted)", ok=True)
    u, t = others_go_first(srv, a, "CLOSE", noops=1)
    # RFC 9051 6.4.1: no EXPUNGE responses
    expect(u == [] and t == "L OK Close completed.", (u[:3], t))
    u, _ = a.cmd("STATUS INBOX (MESSAGES)", ok=True)
    expect(u == ["* STATUS INBOX (MESSAGES 1)"], u)
    a.cmd("FETCH 1 FLAGS", ok=False)


@server_args(workers=1, extra_conf="fsync = no")
def test_short_needle_search_in_parts(srv):
    """A needle too short for the trigram index is answered by a pass over
    the stored text, a few thousand messages per store call: the answer
    over 12,000 messages (several calls, with UID gaps) is complete."""
    a = srv.login()
    fill(a)
    a.cmd("SELECT INBOX", ok=True)
    # gaps: expunge every 1000th message
    gone = set(range(1000, N + 1, 1000))
    a.cmd("UID STORE " + ",".join(map(str, sorted(gone))) +
          " +FLAGS.SILENT (\\Deleted)", ok=True)
    a.cmd("EXPUNGE", ok=True)
    uids = [i for i in range(1, N + 1) if i not in gone]
    u, t = a.cmd("UID SEARCH BODY 7", ok=True)
    want = [i for i in uids if "7" in str(i)]
    expect(u == ["* SEARCH " + " ".join(map(str, want))], [x[:80] for x in u])
    u, t = a.cmd("SEARCH RETURN (COUNT) OR BODY 7 HEADER Subject s0", ok=True)
    want = [i for i in uids if "7" in str(i) or f"s{i:05d}".startswith("s0")]
    expect(u == [f'* ESEARCH (TAG "t{a.tagn}") COUNT {len(want)}'], u)


@server_args(workers=1, extra_conf="fsync = no")
def test_copy_into_the_same_mailbox(srv):
    """The issue's case, COPY 1:* INBOX, in slices: the copies come after
    the originals, in order, and the selected session learns of them."""
    a = srv.login()
    fill(a, 3000)
    a.cmd("SELECT INBOX", ok=True)
    u, _ = a.cmd("STATUS INBOX (UIDVALIDITY)", ok=True)
    v = re.search(r"UIDVALIDITY (\d+)", u[0]).group(1)
    u, t = a.cmd("COPY 1:* INBOX", ok=True)
    expect(t.endswith(f"OK [COPYUID {v} 1:3000 3001:6000] Copy completed."), t)
    expect("* 6000 EXISTS" in u, u)
    u, _ = a.cmd("FETCH 3001,6000 (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])", ok=True)
    expect(len(u) == 2 and "UID 3001 " in u[0] and "Subject: s00001\r\n" in u[0]
           and "UID 6000 " in u[1] and "Subject: s03000\r\n" in u[1], u)
