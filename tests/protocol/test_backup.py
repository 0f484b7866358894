"""`roost backup` and `roost restore`: a backup taken while LMTP delivers
holds every message acknowledged before it began, and restores to a
store that `roost check` finds consistent; per-user restore leaves the
others alone; existing stores and non-empty destinations are refused."""
import os
import re
import socket
import threading
import time

from roosttest import Server, server_args, expect, TestFailure

USERS = {"demo": "demo", "alice": "alicepw", "bob": "bobpw"}


class Deliverer(threading.Thread):
    """Delivers to `rcpt` over LMTP without pause; records the Message-ID
    of every message with the time its 250 arrived."""

    def __init__(self, srv, rcpt, tag):
        super().__init__(daemon=True)
        self.srv, self.rcpt, self.tag = srv, rcpt, tag
        self.acked = []          # (monotonic time of the 250, message-id)
        self.stop = False
        self.error = None

    def run(self):
        try:
            s = socket.create_connection(("127.0.0.1", self.srv.lmtp_port), 10)
            f = s.makefile("rb")
            def reply():
                while True:
                    line = f.readline().decode()
                    if not line:
                        raise TestFailure("LMTP connection closed")
                    if line[3:4] != "-":
                        return line
            reply()
            s.sendall(b"LHLO test\r\n")
            reply()
            n = 0
            while not self.stop:
                n += 1
                mid = f"<{self.tag}-{n}@backup.test>"
                s.sendall(b"MAIL FROM:<load@example.org>\r\n")
                expect(reply().startswith("250"), "MAIL")
                s.sendall(f"RCPT TO:<{self.rcpt}>\r\n".encode())
                expect(reply().startswith("250"), "RCPT")
                s.sendall(b"DATA\r\n")
                expect(reply().startswith("354"), "DATA")
                body = (f"From: load@example.org\r\nTo: {self.rcpt}\r\n"
                        f"Subject: load {n}\r\nMessage-ID: {mid}\r\n\r\n"
                        f"message {n} of the load\r\n.\r\n")
                s.sendall(body.encode())
                line = reply()
                if line.startswith("250"):
                    self.acked.append((time.monotonic(), mid))
            s.sendall(b"QUIT\r\n")
            s.close()
        except Exception as e:          # reported by the test
            self.error = e


def message_ids(srv, user, password, mailbox="INBOX"):
    c = srv.login(user, password)
    c.cmd(f'SELECT "{mailbox}"', ok=True)
    untagged, _ = c.cmd("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    c.cmd("LOGOUT")
    return set(re.findall(r"<[^>\s]+@backup\.test>", "\n".join(untagged)))


def uid_flags(srv, user, password, mailbox="INBOX"):
    c = srv.login(user, password)
    c.cmd(f'SELECT "{mailbox}"', ok=True)
    untagged, _ = c.cmd("UID FETCH 1:* (UID FLAGS)", ok=True)
    c.cmd("LOGOUT")
    norm = lambda l: re.sub(r"\s+", " ", re.sub(r"\\Recent ?", "", l))
    return sorted(norm(l).split(" ", 2)[2] for l in untagged if "FETCH" in l)


def other_server(srv):
    """A second server with the same users and its own, empty data_dir
    (stopped: restores go there offline, then it is started)."""
    other = Server(users=USERS)
    other.stop()
    return other


@server_args(lmtp=True, users=USERS)
def test_backup_during_lmtp_load_restores_acked_mail(srv):
    # alice: mail in two folders with flags and keywords, a subscription
    # and a Sieve script; changed (flags, expunges) while the backup runs
    a = srv.login("alice", "alicepw")
    a.cmd("CREATE Projects/2026", ok=True)
    for i in range(40):
        a.append(flags="(\\Seen $Work)" if i % 2 else "()",
                 msg=f"Subject: a{i}\r\nMessage-ID: <a{i}@backup.test>\r\n\r\nhi\r\n".encode())
    a.append(box="Projects/2026", flags="(\\Flagged)",
             msg=b"Subject: p\r\nMessage-ID: <p1@backup.test>\r\n\r\nplan\r\n")
    a.cmd("SELECT INBOX", ok=True)
    loads = [Deliverer(srv, "demo@localhost", "demo"),
             Deliverer(srv, "bob@localhost", "bob")]
    for d in loads:
        d.start()
    stop_flags = False
    flag_error = []
    # demo: every file renamed by flag changes while the backup runs
    # (what the pass without the lock placed is then placed again)
    dm = srv.login("demo", "demo")
    dm.cmd("SELECT INBOX", ok=True)

    def toggle_demo():
        try:
            while not stop_flags:
                dm.cmd("STORE 1:* +FLAGS.SILENT (\\Flagged)", ok=True)
                dm.cmd("STORE 1:* -FLAGS.SILENT (\\Flagged)", ok=True)
        except Exception as e:
            flag_error.append(e)

    def change_flags():
        try:
            n = 0
            while not stop_flags:
                n = n % 40 + 1
                a.cmd(f"STORE {n} +FLAGS (\\Answered Later)", ok=True)
                a.cmd(f"STORE {n} -FLAGS (\\Answered Later)", ok=True)
                if n % 10 == 0:
                    a.append(msg=b"Subject: x\r\n\r\nx\r\n")
                    a.cmd("STORE 41 +FLAGS (\\Deleted)", ok=True)
                    a.cmd("EXPUNGE", ok=True)
        except Exception as e:
            flag_error.append(e)
    flagger = threading.Thread(target=change_flags, daemon=True)
    flagger.start()
    toggler = threading.Thread(target=toggle_demo, daemon=True)
    toggler.start()
    time.sleep(1.5)
    dest = os.path.join(srv.dir, "backup")
    t_begin = time.monotonic()
    p = srv.roost("backup", "-c", srv.conf, dest)
    time.sleep(0.3)
    stop_flags = True
    for d in loads:
        d.stop = True
    for d in loads:
        d.join(20)
    flagger.join(20)
    toggler.join(20)
    dm.cmd("LOGOUT")
    expect(not flag_error, flag_error)
    for d in loads:
        expect(d.error is None, d.error)
        expect(len(d.acked) > 20, f"only {len(d.acked)} deliveries")
    lines = dict(l.split("\t", 1) for l in p.stdout.splitlines())
    expect(set(lines) == {"demo", "alice", "bob"}, p.stdout)
    expect(all("linked=" in v and "copied=0" in v for v in lines.values()), p.stdout)
    manifest = open(os.path.join(dest, "manifest")).read()
    expect(manifest.startswith("roost-backup 1\ncreated "), manifest)
    expect(re.search(r"^user alice mailboxes=\d+ messages=\d+ bytes=\d+", manifest, re.M),
           manifest)
    a.cmd("LOGOUT")
    # what alice had when the backup finished is all there after the restore
    alice_before = uid_flags(srv, "alice", "alicepw", "Projects/2026")

    other = other_server(srv)
    try:
        p = other.roost("restore", "-c", other.conf, dest)
        expect(len(p.stdout.splitlines()) == 3, p.stdout)
        p = other.roost("check", "-c", other.conf, "demo", "alice", "bob")
        expect("problem" not in p.stdout, p.stdout)
        other.start()
        for d, user, pw in ((loads[0], "demo", "demo"), (loads[1], "bob", "bobpw")):
            restored = message_ids(other, user, pw)
            before = {mid for t, mid in d.acked if t < t_begin}
            expect(before <= restored,
                   f"{user}: acknowledged before the backup, not restored: "
                   f"{sorted(before - restored)[:5]}")
            everything = {mid for t, mid in d.acked}
            expect(restored <= everything | {None}, "unknown messages restored")
        ids = message_ids(other, "alice", "alicepw")
        expect({f"<a{i}@backup.test>" for i in range(40)} <= ids, ids)
        expect(uid_flags(other, "alice", "alicepw", "Projects/2026") == alice_before,
               alice_before)
        c = other.login("alice", "alicepw")
        u, _ = c.cmd('LIST "" "Projects*"', ok=True)
        expect(any("Projects/2026" in l for l in u), u)
        c.cmd("LOGOUT")
        # the restored index agrees with the files, also after use
        p = other.roost("check", "-c", other.conf, "demo", "alice", "bob")
        expect("problem" not in p.stdout, p.stdout)
    finally:
        other.cleanup()


@server_args(lmtp=True, users=USERS)
def test_restore_one_user_refuse_and_force(srv):
    for user, pw in (("demo", "demo"), ("alice", "alicepw")):
        c = srv.login(user, pw)
        c.append(msg=f"Subject: before\r\nMessage-ID: <{user}-1@backup.test>\r\n\r\nx\r\n"
                 .encode())
        c.cmd("LOGOUT")
    dest = os.path.join(srv.dir, "bk")
    srv.roost("backup", "-c", srv.conf, dest, "demo", "alice")
    for user, pw in (("demo", "demo"), ("alice", "alicepw")):
        c = srv.login(user, pw)
        c.append(msg=f"Subject: after\r\nMessage-ID: <{user}-2@backup.test>\r\n\r\nx\r\n"
                 .encode())
        c.cmd("LOGOUT")
    # a live store is not overwritten without --force
    p = srv.roost("restore", "-c", srv.conf, dest, "demo", check=False)
    expect(p.returncode == 73 and "--force" in p.stderr, (p.returncode, p.stderr))
    expect(message_ids(srv, "demo", "demo") ==
           {"<demo-1@backup.test>", "<demo-2@backup.test>"}, "demo changed")
    # with --force, while the server runs and a session of demo is open
    # (idle: it let go of the store)
    watcher = srv.login("demo", "demo")
    watcher.cmd("SELECT INBOX", ok=True)
    time.sleep(2.5)
    p = srv.roost("restore", "-c", srv.conf, "--force", dest, "demo")
    m = re.search(r"replaced store is kept at (\S+)", p.stdout)
    expect(m and os.path.isdir(os.path.join(m.group(1), "Maildir")), p.stdout)
    expect(message_ids(srv, "demo", "demo") == {"<demo-1@backup.test>"}, "demo not restored")
    expect(message_ids(srv, "alice", "alicepw") ==
           {"<alice-1@backup.test>", "<alice-2@backup.test>"}, "alice was touched")
    # the old session is told to log in again (BYE), not shown a mix
    watcher.line("w1 FETCH 2 BODY.PEEK[]")
    expect(watcher.is_closed(timeout=5), "the old session goes on")
    text = watcher.buf.decode()
    expect("* BYE [UNAVAILABLE]" in text and "log in again" in text, text)
    watcher.close()
    # a delivery after the restore goes to the restored store
    c = srv.lmtp()
    c.readline()
    c.line("LHLO x")
    while not c.readline().startswith("250 "):
        pass
    c.line("MAIL FROM:<a@example.org>")
    c.readline()
    c.line("RCPT TO:<demo@localhost>")
    c.readline()
    c.line("DATA")
    c.readline()
    c.send(b"Message-ID: <demo-3@backup.test>\r\n\r\nafter restore\r\n.\r\n")
    expect(c.readline().startswith("250"), "delivery after restore")
    c.close()
    expect(message_ids(srv, "demo", "demo") ==
           {"<demo-1@backup.test>", "<demo-3@backup.test>"}, "delivery after restore")
    p = srv.roost("check", "-c", srv.conf, "demo")
    expect("problem" not in p.stdout, p.stdout)


def test_backup_restore_bad_input(srv):
    c = srv.login()
    c.append()
    c.cmd("LOGOUT")
    dest = os.path.join(srv.dir, "full")
    os.mkdir(dest)
    with open(os.path.join(dest, "keep"), "w") as f:
        f.write("mine")
    p = srv.roost("backup", "-c", srv.conf, dest, check=False)
    expect(p.returncode == 73 and "not empty" in p.stderr, (p.returncode, p.stderr))
    expect(os.listdir(dest) == ["keep"], os.listdir(dest))
    p = srv.roost("backup", "-c", srv.conf, os.path.join(srv.dir, "b2"), "nosuch",
                  check=False)
    expect(p.returncode == 67 and "nosuch" in p.stderr, (p.returncode, p.stderr))
    expect(not os.path.exists(os.path.join(srv.dir, "b2")), "created for nothing")
    p = srv.roost("backup", "-c", srv.conf, check=False)
    expect(p.returncode == 64, p.returncode)
    p = srv.roost("backup", "--help")
    expect("usage: roost backup" in p.stdout, p.stdout)
    p = srv.roost("restore", "--help")
    expect("usage: roost restore" in p.stdout, p.stdout)
    # an empty directory is fine; "every user" is those with a store
    empty = os.path.join(srv.dir, "empty")
    os.mkdir(empty)
    p = srv.roost("backup", "-c", srv.conf, empty)
    expect(p.stdout.startswith("demo\t") and "alice" not in p.stdout, p.stdout)
    # restore: not a backup, a user not in it
    p = srv.roost("restore", "-c", srv.conf, dest, check=False)
    expect(p.returncode == 65 and "manifest" in p.stderr, (p.returncode, p.stderr))
    p = srv.roost("restore", "-c", srv.conf, empty, "alice", check=False)
    expect(p.returncode == 67 and "not in the backup" in p.stderr, (p.returncode, p.stderr))
    # alice had no store: restoring demo's copy is refused for demo only
    p = srv.roost("restore", "-c", srv.conf, empty, check=False)
    expect(p.returncode == 73, (p.returncode, p.stderr))
