"""After a crash: a file in cur/ without an index row (an append killed
between its rename into cur/ and its commit), two files with the same
U=, and a real kill -9 of `roost serve` in the middle of APPENDs and LMTP
deliveries.  UIDs stay unique, acknowledged messages keep their UID, and
`roost check` names every problem."""
import os
import re
import signal
import socket
import threading
import time

from roosttest import expect, server_args, TestFailure

MSG = "From: a@example.com\r\nSubject: crash {n}\r\nMessage-ID: <{n}@crash.test>\r\n\r\nbody {n}\r\n"


def cur_dir(srv):
    return os.path.join(srv.data_dir, "users", "_", "demo", "Maildir", "cur")


def disk_uids(srv):
    """The UID in the name of every file of INBOX's cur/."""
    uids = []
    for name in os.listdir(cur_dir(srv)):
        m = re.search(r",U=(\d+)[:,]", name)
        if m:
            uids.append(int(m.group(1)))
    return uids


def fetch_ids(c):
    """{uid: Message-ID} of the selected mailbox."""
    tag = c.next_tag()
    c.line(f"{tag} UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    ids = {}
    while True:
        line = c.read_response_line()
        if line.startswith(tag + " "):
            expect(line.startswith(tag + " OK"), line)
            return ids
        m = re.search(r"UID (\d+)", line)
        mid = re.search(r"Message-ID: <([^>]*)>", line, re.I)
        if m:
            ids[int(m.group(1))] = mid.group(1) if mid else None


def test_check_names_crash_states_and_uids_stay_unique(srv):
    c = srv.login()
    for n in range(1, 3):
        c.append(msg=MSG.format(n=n))
    c.cmd("LOGOUT")
    srv.stop()
    size = len(MSG.format(n=9))
    # an append killed after its rename into cur/: U=3 (UIDNEXT), no row
    with open(os.path.join(cur_dir(srv), f"1700000000.M1P9Q1.crashed,S={size},U=3:2,S"), "w") as f:
        f.write(MSG.format(n=9))
    # and one whose UID an older version gave to the next message
    with open(os.path.join(cur_dir(srv), f"1700000000.M1P9Q2.crashed,S={size},U=2:2,"), "w") as f:
        f.write(MSG.format(n=8))
    p = srv.roost("check", "-c", srv.conf, "demo", check=False)
    expect(p.returncode == 65, f"{p.returncode} {p.stdout} {p.stderr}")
    out = p.stdout
    expect("demo\tINBOX\tproblem: cur/1700000000.M1P9Q1.crashed" in out and
           "without an index row" in out, out)
    expect("UID 2: carried by two files" in out, out)
    expect("UID 3 is not below UIDNEXT 3" in out, out)
    # the check's own open adopted them: a second run is clean
    p = srv.roost("check", "-c", srv.conf, "demo", check=False)
    expect(p.returncode == 0 and "problem" not in p.stdout, p.stdout)
    expect("INBOX\tmessages=4 " in p.stdout, p.stdout)
    srv.start()
    c = srv.login()
    tagged = c.append(msg=MSG.format(n=5))
    expect(re.search(r"\[APPENDUID \d+ 5\]", tagged), tagged)
    c.cmd("SELECT INBOX", ok=True)
    ids = fetch_ids(c)
    # the acknowledged messages kept their UIDs
    expect(ids[1] == "1@crash.test" and ids[2] == "2@crash.test", ids)
    expect(ids[3] == "9@crash.test" and ids[4] == "8@crash.test", ids)
    expect(ids[5] == "5@crash.test", ids)
    uids = disk_uids(srv)
    expect(sorted(uids) == [1, 2, 3, 4, 5], uids)


def server_pids(srv):
    pid = srv.proc.pid
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return pids


def kill9(srv):
    """kill -9 of the whole server: the supervisor stopped first so that
    it neither restarts nor signals its workers, then every process."""
    pids = server_pids(srv)
    os.kill(pids[0], signal.SIGSTOP)
    pids = server_pids(srv)
    for pid in pids[1:] + pids[:1]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    srv.proc.wait()
    srv.proc = None
    srv.log.close()
    # a worker inside fsync() dies only when it returns: wait until every
    # one is gone (or a zombie whose helper threads, which may sit in an
    # fsync of a delivery, have all exited too), so the ports are free
    # again and no connection reaches a dying worker's socket
    deadline = time.time() + 20
    for pid in pids[1:]:
        while time.time() < deadline:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] in "ZX" and \
                            len(os.listdir(f"/proc/{pid}/task")) <= 1:
                        break
            except OSError:
                break
            time.sleep(0.02)


def load_until_kill9(srv, clients, secs):
    """Runs each of clients(stop) in a thread of its own for secs, kills
    the server with kill9() and waits for the threads."""
    stop = threading.Event()
    threads = [threading.Thread(target=fn, args=(stop,)) for fn in clients]
    for t in threads:
        t.start()
    time.sleep(secs)
    kill9(srv)
    stop.set()
    for t in threads:
        t.join(30)


def lmtp_deliver(srv, n):
    """One LMTP delivery to demo; True when it was acknowledged."""
    c = srv.lmtp()
    try:
        c.readline()
        c.line("LHLO crash.test")
        while not c.readline().startswith("250 "):
            pass
        c.line("MAIL FROM:<a@example.com>")
        expect(c.readline().startswith("250"))
        c.line("RCPT TO:<demo>")
        expect(c.readline().startswith("250"))
        c.line("DATA")
        expect(c.readline().startswith("354"))
        c.send(MSG.format(n=n) + ".\r\n")
        return c.readline().startswith("250")
    finally:
        c.close()


@server_args(workers=2, lmtp=True)
def test_kill9_during_append_and_delivery(srv):
    acked = {}          # Message-ID -> UID (APPEND) or None (LMTP)
    lock = threading.Lock()
    counter = [0]

    def next_n():
        with lock:
            counter[0] += 1
            return counter[0]

    def appender(stop):
        try:
            c = srv.login()
            while not stop.is_set():
                n = next_n()
                tagged = c.append(msg=MSG.format(n=n))
                m = re.search(r"\[APPENDUID \d+ (\d+)\]", tagged)
                with lock:
                    acked[f"{n}@crash.test"] = int(m.group(1))
        except (TestFailure, OSError, AttributeError):
            pass        # the server died under it

    def deliverer(stop):
        try:
            while not stop.is_set():
                n = next_n()
                if lmtp_deliver(srv, n):
                    with lock:
                        acked[f"{n}@crash.test"] = None
        except (TestFailure, OSError):
            pass

    for round_ in range(3):
        load_until_kill9(srv, [appender] * 3 + [deliverer] * 2, 1.0 + 0.3 * round_)
        before = disk_uids(srv)
        srv.start()
        c = srv.login()
        c.cmd("SELECT INBOX", ok=True)
        ids = fetch_ids(c)
        # nothing acknowledged is lost, and an APPENDUID still names it
        by_id = {}
        for uid, mid in ids.items():
            expect(mid not in by_id, f"{mid} stored twice: {by_id.get(mid)}, {uid}")
            by_id[mid] = uid
        for mid, uid in acked.items():
            expect(mid in by_id, f"acknowledged {mid} lost")
            expect(uid is None or by_id[mid] == uid,
                   f"{mid} was acknowledged as UID {uid}, is now {by_id[mid]}")
        # one file per message, no UID on two files, none reused
        uids = disk_uids(srv)
        dups = sorted(u for u in set(uids) if uids.count(u) > 1)
        expect(not dups, f"UIDs carried by two files: {dups}")
        expect(sorted(uids) == sorted(ids),
               f"files without a message: {sorted(set(uids) - set(ids))}, "
               f"messages without a file: {sorted(set(ids) - set(uids))}")
        tagged = c.append(msg=MSG.format(n=next_n()))
        new_uid = int(re.search(r"\[APPENDUID \d+ (\d+)\]", tagged).group(1))
        expect(new_uid > max(before + [0]), f"UID {new_uid} reused (on disk: {max(before)})")
        c.cmd("LOGOUT")
        c.close()
        p = srv.roost("check", "-c", srv.conf, "demo", check=False)
        expect(p.returncode == 0 and "problem" not in p.stdout, p.stdout + p.stderr)


def fetch_bodies(c):
    """{Message-ID: BODY[TEXT]} of the selected mailbox."""
    untagged, _ = c.cmd("UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)] BODY.PEEK[TEXT])",
                        ok=True)
    text = "\n".join(untagged)
    out = {}
    for m in re.finditer(r"Message-ID: <([^>]*)>.*?BODY\[TEXT\] \{\d+\}\s*(body \d+)", text,
                         re.S | re.I):
        out[m.group(1)] = m.group(2)
    return out


def cut_short_files(srv):
    """Files of INBOX's cur/ with fewer bytes than their S=."""
    cut = []
    for name in os.listdir(cur_dir(srv)):
        m = re.search(r",S=(\d+)", name)
        if m and os.path.getsize(os.path.join(cur_dir(srv), name)) < int(m.group(1)):
            cut.append(name)
    return cut


@server_args(workers=1, lmtp=True)
def test_kill9_during_many_lmtp_connections_to_one_user(srv):
    # eight connections deliver to one user at once; the appends run on
    # the worker's helper threads and queue on the user's store.  A kill
    # -9 in the middle: every message that got its 250 is there and
    # readable, nothing is there twice, and roost check is clean
    acked = set()
    lock = threading.Lock()
    counter = [0]

    def deliverer(stop):
        c = None
        try:
            c = srv.lmtp()
            c.readline()
            c.line("LHLO crash.test")
            while not c.readline().startswith("250 "):
                pass
            while not stop.is_set():
                with lock:
                    counter[0] += 1
                    n = counter[0]
                c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<demo>\r\nDATA\r\n")
                for _ in range(3):
                    c.readline()
                c.send(MSG.format(n=n) + ".\r\n")
                if c.readline().startswith("250 "):
                    with lock:
                        acked.add(n)
        except (TestFailure, OSError, AttributeError):
            pass        # the server died under it
        finally:
            if c is not None:
                c.close()

    for round_ in range(3):
        load_until_kill9(srv, [deliverer] * 8, 0.8 + 0.4 * round_)
        srv.start()
        c = srv.login()
        c.cmd("SELECT INBOX", ok=True)
        bodies = fetch_bodies(c)
        for n in acked:
            mid = f"{n}@crash.test"
            expect(mid in bodies, f"acknowledged {mid} lost ({len(bodies)} messages)")
            expect(bodies[mid] == f"body {n}", f"{mid} reads {bodies[mid]!r}")
        ids = fetch_ids(c)
        expect(len(set(ids.values())) == len(ids), "a message stored twice")
        c.cmd("LOGOUT")
        c.close()
        expect(not cut_short_files(srv), cut_short_files(srv))
        p = srv.roost("check", "-c", srv.conf, "demo", check=False)
        expect(p.returncode == 0 and "problem" not in p.stdout, p.stdout + p.stderr)
    expect(len(acked) > 8, f"only {len(acked)} deliveries acknowledged")


def test_cut_short_file_is_removed_not_adopted(srv):
    # an append renames its file into cur/ before it fsyncs it (one
    # journal commit for both): a power loss in between can leave the
    # name of an uncommitted UID with fewer bytes than its S=.  Nobody
    # was told it was stored; recovery removes it and adopts the others
    c = srv.login()
    c.append(msg=MSG.format(n=1))
    c.cmd("LOGOUT")
    srv.stop()
    full = MSG.format(n=7)
    cut = os.path.join(cur_dir(srv), f"1700000000.M1P9Q3.cut,S={len(full)},U=2:2,")
    with open(cut, "w") as f:
        f.write(full[:10])
    whole = os.path.join(cur_dir(srv), f"1700000000.M1P9Q4.whole,S={len(full)},U=3:2,")
    with open(whole, "w") as f:
        f.write(full)
    srv.start()
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    ids = fetch_ids(c)
    expect(ids == {1: "1@crash.test", 3: "7@crash.test"}, ids)
    expect(not os.path.exists(cut), "the cut file is still there")
    c.cmd("LOGOUT")
    srv.stop()
    p = srv.roost("check", "-c", srv.conf, "demo", check=False)
    expect(p.returncode == 0 and "problem" not in p.stdout, p.stdout + p.stderr)
    with open(srv.log_path, errors="replace") as f:
        expect("never acknowledged): removed" in f.read(), "no warning logged")


def test_row_without_file_is_expunged(srv):
    # a message file deleted behind the server's back: FETCH of its body
    # says [EXPUNGEISSUED] and the row goes (logged), so an EXPUNGE
    # follows at the next sync instead of [EXPUNGEISSUED] for ever; a
    # store opened afterwards drops such rows at once; roost check names
    # the row before that
    c = srv.login()
    for n in range(1, 5):
        c.append(msg=MSG.format(n=n))
    c.cmd("SELECT INBOX", ok=True)
    files = {int(re.search(r",U=(\d+)[:,]", x).group(1)): x for x in os.listdir(cur_dir(srv))}
    os.unlink(os.path.join(cur_dir(srv), files[2]))
    u, t = c.cmd("FETCH 2 BODY.PEEK[]", ok=True)
    expect(u == [] and "[EXPUNGEISSUED]" in t, (u, t))
    u, _ = c.cmd("NOOP", ok=True)
    expect(u == ["* 2 EXPUNGE"], u)
    u, _ = c.cmd("FETCH 1:* UID", ok=True)
    expect(u == ["* 1 FETCH (UID 1)", "* 2 FETCH (UID 3)", "* 3 FETCH (UID 4)"], u)
    expect("is gone: its message is expunged" in srv.log_text(), srv.log_text()[-2000:])
    c.cmd("LOGOUT")
    srv.stop()
    os.unlink(os.path.join(cur_dir(srv), files[3]))
    p = srv.roost("check", "-c", srv.conf, "demo", check=False)
    expect(p.returncode == 65 and "UID 3: index row without a file" in p.stdout,
           f"{p.returncode} {p.stdout} {p.stderr}")
    srv.start()
    c = srv.login()
    u, _ = c.cmd("SELECT INBOX", ok=True)
    expect("* 2 EXISTS" in u, u)
    u, _ = c.cmd("FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])", ok=True)
    expect(len(u) == 2 and "UID 1 " in u[0] and "UID 4 " in u[1], u)
    c.cmd("LOGOUT")
