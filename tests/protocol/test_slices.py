"""Long commands run in slices (DESIGN.md): one user's COPY, MOVE,
SEARCH, SORT, STORE or EXPUNGE over many messages must not stall the
other sessions of its worker, and stays correct (complete, in order,
atomic) while it yields.

No timings are asserted: each test checks the ORDER of events, i.e. that
another session's command sent after the long one had started is answered
while the long one is still running (its tagged reply not yet sent)."""
import re
import select
import time
from roosttest import expect, server_args

N = 12000


def fill(c, n=N, box="INBOX"):
    """n small messages, APPENDed with LITERAL+ in one pipelined burst;
    message i (1-based) has subject s<i> and body "hello <i>"."""
    data = []
    for i in range(1, n + 1):
        body = (f"Subject: s{i:05d}\r\nFrom: u{i % 7}@x.example\r\n\r\n"
                f"hello {i}\r\n").encode()
        data.append(f"a{i} APPEND {box} {{{len(body)}+}}\r\n".encode()
                    + body + b"\r\n")
    c.send(b"".join(data))
    for i in range(1, n + 1):
        line = c.readline(timeout=120)
        while not line.startswith(f"a{i} "):
            line = c.readline(timeout=120)
        expect(line.startswith(f"a{i} OK"), line)


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


def others_go_first(srv, a, long_cmd, tag="L"):
    """Sends long_cmd on a; then another user's NOOPs and a fresh LOGIN
    on the same worker must be answered while a's command still runs.
    Returns a's (untagged, tagged) reply."""
    b = srv.login("alice", "alicepw")
    b.cmd("SELECT INBOX", ok=True)
    a.line(f"{tag} {long_cmd}")
    # let the worker start on it (the order below is what is checked)
    time.sleep(0.3)
    expect(not pending(a), "the long command finished too soon to test anything")
    for _ in range(3):
        b.cmd("NOOP", ok=True)
        expect(not pending(a), f"{long_cmd[:40]} finished before another "
               "session's NOOP was answered: it stalled the worker")
    d = srv.login("alice", "alicepw")
    expect(not pending(a), f"{long_cmd[:40]} finished before another session's "
           "LOGIN was answered")
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


@server_args(workers=1, extra_conf="fsync = no")
def test_disconnect_during_copy_leaves_destination_unchanged(srv):
    a = srv.login()
    fill(a)
    a.cmd("SELECT INBOX", ok=True)
    a.cmd("CREATE Dst", ok=True)
    a.cmd("COPY 1:3 Dst", ok=True)
    b = srv.login()
    before = stat_dst(b)
    a.line("L COPY 1:* Dst")
    time.sleep(0.3)
    expect(not pending(a), "the COPY finished too soon to test anything")
    a.close()
    # the server goes on; the destination is unchanged or complete, never
    # partial (a disconnect while staging undoes the copy)
    deadline = time.time() + 60
    while True:
        after = stat_dst(b)
        if after == before or after == [f"* STATUS Dst (MESSAGES {N + 3} UIDNEXT {N + 4})"]:
            break
        expect(time.time() < deadline, f"partial copy: {after} (before {before})")
        time.sleep(0.2)
    b.cmd("NOOP", ok=True)
    # nothing staged is left behind in the destination's tmp/
    import glob
    import os
    time.sleep(0.5)
    stats = stat_dst(b)
    expect(stats == before or stats == [f"* STATUS Dst (MESSAGES {N + 3} UIDNEXT {N + 4})"],
           stats)
    if stats == before:
        tmp = glob.glob(os.path.join(srv.data_dir, "users", "*", "demo",
                                     "Maildir", ".Dst", "tmp", "*")) + \
            glob.glob(os.path.join(srv.data_dir, "users", "*", "demo",
                                   "Maildir", ".Dst", "tmp", ".copy-*"))
        expect(tmp == [], tmp[:3])


@server_args(workers=1, extra_conf="fsync = no")
def test_pipelined_command_waits_for_copy(srv):
    """A command pipelined behind a long COPY runs after it, and sees its
    result."""
    a = srv.login()
    fill(a, 3000)
    a.cmd("SELECT INBOX", ok=True)
    a.cmd("CREATE Dst", ok=True)
    a.line("L1 COPY 1:* Dst")
    a.line("L2 STATUS Dst (MESSAGES)")
    _, t = wait_tagged(a, "L1")
    expect(t.startswith("L1 OK [COPYUID "), t)
    u, t = wait_tagged(a, "L2")
    expect(u == ["* STATUS Dst (MESSAGES 3000)"], u)
    expect(t.startswith("L2 OK"), t)
