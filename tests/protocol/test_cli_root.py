"""The admin commands run as root against a server that runs as another
user (`user = roosttest`, as the README's `user = roost`): the files they
write must stay readable by the server.  `roost deliver` and `roost check`
switch to the configured user; `roost user add` creates a passwd-file the
workers can read; the server says exactly what to fix when it cannot read
the user database.  Tests run as root (make test, CI); as another user
these tests have nothing to check and say so."""
import os
import pwd
import grp
import signal
import stat
import subprocess
import time
from roosttest import Server, TestFailure, expect

RUNAS = "roosttest"


def ensure_system_user(name=RUNAS):
    """Creates the system user `name` if missing (idempotent)."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir",
                        "/nonexistent", "--shell", "/usr/sbin/nologin", name],
                       check=True, capture_output=True)
        return pwd.getpwnam(name)


class RunAsServer(Server):
    """A Server whose workers run as RUNAS: its directory is searchable and
    its data directory belongs to RUNAS, as after `make run` as root."""

    def __init__(self, passwd_mode=None, **kw):
        self.passwd_mode = passwd_mode
        super().__init__(**kw)

    def _configure(self, workers, extra_conf, users, tls, lmtp, managesieve=False):
        pw = ensure_system_user()
        super()._configure(workers, extra_conf + f"\nuser = {RUNAS}\n", users,
                           tls, lmtp, managesieve)
        os.chmod(self.dir, 0o711)
        os.makedirs(self.data_dir, exist_ok=True)
        os.chown(self.data_dir, pw.pw_uid, pw.pw_gid)
        if self.passwd_mode is not None:
            os.chmod(self.userdb, self.passwd_mode)


def _root_only():
    if os.geteuid() != 0:
        print("  (not root: nothing to check; make test runs as root)")
        return False
    return True


def _owners(path):
    """(path, uid, gid) of every file and directory under path."""
    out = []
    for root, dirs, files in os.walk(path):
        for n in [root] + [os.path.join(root, f) for f in files]:
            st = os.lstat(n)
            out.append((n, st.st_uid, st.st_gid))
    return out


def _expect_owned_by_runas(path):
    pw = pwd.getpwnam(RUNAS)
    bad = [o for o in _owners(path) if o[1] != pw.pw_uid]
    expect(not bad, f"not owned by {RUNAS}: {bad[:5]}")


def test_deliver_and_check_rebuild_as_root():
    if not _root_only():
        return
    srv = RunAsServer(lmtp=False)
    try:
        msg = "From: a@example.com\nSubject: as root\n\nhello from root\n"
        # demo never logged in: deliver creates the whole store
        srv.roost("deliver", "-c", srv.conf, "-u", "demo", input=msg)
        demo_dir = os.path.join(srv.data_dir, "users", "_", "demo")
        _expect_owned_by_runas(demo_dir)
        c = srv.login()
        c.cmd("SELECT INBOX", ok=True)
        u, _ = c.cmd("FETCH 1 BODY[TEXT]", ok=True)
        expect(any("hello from root" in l for l in u) or "hello from root" in str(u), u)
        c.cmd("LOGOUT")

        # alice logged in first, then root delivers and rebuilds
        c = srv.login("alice", "alicepw")
        c.append()
        c.cmd("LOGOUT")
        srv.roost("deliver", "-c", srv.conf, "-u", "alice", input=msg)
        p = srv.roost("check", "-c", srv.conf, "--rebuild", "alice")
        expect("INBOX" in p.stdout, p.stdout)
        alice_dir = os.path.join(srv.data_dir, "users", "_", "alice")
        _expect_owned_by_runas(alice_dir)
        c = srv.login("alice", "alicepw")
        u, _ = c.cmd("SELECT INBOX", ok=True)
        expect("* 2 EXISTS" in u, u)
        u, _ = c.cmd("FETCH 1:2 (RFC822.SIZE BODY[TEXT])", ok=True)
        expect("hello from root" in str(u), u)
        c.cmd("APPEND INBOX {5+}\r\nhi\r\n", ok=True)
        c.cmd("LOGOUT")
        srv.check_log()
        expect("SERVERBUG" not in srv.log_text(), srv.log_text()[-3000:])
    finally:
        srv.cleanup()


def test_sieve_put_as_root():
    # `roost sieve put` as root: the script file is read as root (it may
    # be root's alone), the store's files are the server's user's, and
    # the server's ManageSieve sessions can change them afterwards
    if not _root_only():
        return
    srv = RunAsServer(managesieve=True)
    try:
        path = os.path.join(srv.dir, "rules.sieve")
        with open(path, "w") as f:
            f.write('require "fileinto";\nfileinto "Lists";\n')
        os.chmod(path, 0o600)
        srv.roost("sieve", "put", "-c", srv.conf, "-u", "demo", "rules", path)
        srv.roost("sieve", "activate", "-c", srv.conf, "-u", "demo", "rules")
        demo_dir = os.path.join(srv.data_dir, "users", "_", "demo")
        _expect_owned_by_runas(demo_dir)
        import test_managesieve
        c = test_managesieve.logged_in(srv)
        lines, _ = c.cmd("LISTSCRIPTS", ok=True)
        expect(lines == ['"rules" ACTIVE'], lines)
        c.cmd('PUTSCRIPT "rules" "keep;"', ok=True)
        c.cmd('RENAMESCRIPT "rules" "r2"', ok=True)
        c.cmd("LOGOUT")
        p = srv.roost("sieve", "show", "-c", srv.conf, "-u", "demo", "r2")
        expect(p.stdout == "keep;", p.stdout)
        srv.check_log()
    finally:
        srv.cleanup()


def test_cli_refuses_unknown_user_as_root():
    if not _root_only():
        return
    srv = RunAsServer(lmtp=False)
    try:
        conf = srv.conf + ".nouser"
        with open(srv.conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(text + "user = roost-no-such-user\n")
        p = srv.roost("deliver", "-c", conf, "-u", "demo", input="Subject: x\n\nx\n",
                      check=False)
        expect(p.returncode == 78, (p.returncode, p.stderr))
        expect("roost-no-such-user does not exist" in p.stderr, p.stderr)
        p = srv.roost("check", "-c", conf, "demo", check=False)
        expect(p.returncode == 78 and "roost-no-such-user" in p.stderr, p.stderr)
        expect(not os.path.exists(os.path.join(srv.data_dir, "users", "_", "demo")),
               "a store was created")
    finally:
        srv.cleanup()


def test_unreadable_userdb_refused_at_startup():
    if not _root_only():
        return
    try:
        srv = RunAsServer(passwd_mode=0o600)
    except TestFailure as e:
        text = str(e)
    else:
        srv.cleanup()
        raise TestFailure("roost serve started with a passwd-file its workers cannot read")
    for want in ("user database unusable", "/passwd", "root:root mode 0600",
                 f"user {RUNAS}", "chmod 0640"):
        expect(want in text, f"{want!r} not in: {text[-2000:]}")


def test_unreadable_userdb_on_sighup():
    if not _root_only():
        return
    srv = RunAsServer()
    try:
        os.chmod(srv.userdb, 0o600)
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while "must be readable by" not in srv.log_text() and time.time() < deadline:
            time.sleep(0.1)
        text = srv.log_text()
        expect("user database unusable" in text and "root:root mode 0600" in text
               and f"user {RUNAS}" in text and f"chgrp {RUNAS}" in text, text[-3000:])
        c = srv.connect()
        c.greeting()
        u, t = c.cmd("LOGIN demo demo")
        expect("UNAVAILABLE" in t, t)
        # the fix the log suggests works without a restart
        os.chown(srv.userdb, 0, pwd.getpwnam(RUNAS).pw_gid)
        os.chmod(srv.userdb, 0o640)
        time.sleep(1.1)
        c.cmd("LOGIN demo demo", ok=True)
    finally:
        srv.cleanup()


def test_user_add_as_root_creates_readable_userdb():
    if not _root_only():
        return
    srv = RunAsServer()
    try:
        # a fresh user database made by root, in a root-owned directory
        os.unlink(srv.userdb)
        etc = os.path.join(srv.dir, "etc")
        os.mkdir(etc, 0o755)
        userdb = os.path.join(etc, "passwd")
        with open(srv.conf) as f:
            text = f.read()
        with open(srv.conf, "w") as f:
            f.write(text + f"userdb = {userdb}\n")
        srv.roost("user", "add", "-c", srv.conf, "demo", input="secret\n")
        st = os.stat(userdb)
        gid = pwd.getpwnam(RUNAS).pw_gid
        expect((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, gid, 0o640),
               (st.st_uid, st.st_gid, oct(st.st_mode)))
        srv.roost("user", "add", "-c", srv.conf, "bob", input="bobpw\n")
        p = srv.roost("user", "passwd", "-c", srv.conf, "demo", input="secret2\n")
        expect("warning" not in p.stderr, p.stderr)
        st = os.stat(userdb)
        expect((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, gid, 0o640),
               (st.st_uid, st.st_gid, oct(st.st_mode)))
        srv.stop()
        srv.start()
        c = srv.login("demo", "secret2")
        c.cmd("LOGOUT")
        c = srv.login("bob", "bobpw")
        c.cmd("LOGOUT")
        # a file left unreadable (made by an older version): the edit
        # keeps owner and mode and says what to fix
        os.chown(userdb, 0, 0)
        os.chmod(userdb, 0o600)
        p = srv.roost("user", "passwd", "-c", srv.conf, "bob", input="bobpw2\n")
        expect("warning: user database unusable" in p.stderr
               and "root:root mode 0600" in p.stderr and f"chgrp {RUNAS}" in p.stderr,
               p.stderr)
        st = os.stat(userdb)
        expect((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o600),
               oct(st.st_mode))
    finally:
        srv.cleanup()


def test_import_and_export_as_root():
    """`roost import` run as root writes the store as the server's user and
    says so when that user cannot read the source; `roost export` too."""
    if not _root_only():
        return
    srv = RunAsServer(lmtp=False)
    try:
        src = os.path.join(srv.dir, "root-only.mbox")
        with open(src, "w") as f:
            f.write("From a@b Mon Jan  8 09:30:00 2024\nSubject: s\n\nbody\n\n")
        os.chmod(src, 0o600)
        p = srv.roost("import", "-c", srv.conf, "demo", src, check=False)
        expect(p.returncode == 66, p)
        expect(f"the import runs as {RUNAS}" in p.stderr, p.stderr)
        os.chmod(src, 0o644)
        p = srv.roost("import", "-c", srv.conf, "demo", src)
        expect("1 messages imported" in p.stdout, p.stdout)
        _expect_owned_by_runas(os.path.join(srv.data_dir, "users", "_", "demo"))
        dest = os.path.join(srv.dir, "export")
        os.mkdir(dest)
        pw = pwd.getpwnam(RUNAS)
        os.chown(dest, pw.pw_uid, pw.pw_gid)
        p = srv.roost("export", "-c", srv.conf, "demo", dest)
        expect("1 messages exported" in p.stdout, p.stdout)
        _expect_owned_by_runas(dest)
        c = srv.login()
        u, _ = c.cmd("SELECT INBOX", ok=True)
        expect("* 1 EXISTS" in u, u)
        c.cmd("LOGOUT")
    finally:
        srv.cleanup()
