"""Login processes (src/net/login.c, src/net/sandbox.c, auth/auth-relay.c):
IMAP before login runs in a sandboxed process paired with each worker;
the worker checks the password and takes the connection over (the socket
itself, or a socket pair through which the login process relays TLS).
What a login process can and cannot do, what survives its death and its
worker's, and a forged handover."""
import os
import pwd
import re
import signal
import socket
import time

from roosttest import Server, TestFailure, expect, server_args


def wait_for(cond, what, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise TestFailure("timed out waiting for " + what)


def status_fields(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


def with_env(env, fn):
    """Runs fn() with extra environment variables (a Server started inside
    inherits them)."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return fn()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@server_args(workers=2)
def test_login_processes_are_sandboxed(srv):
    logins = wait_for(lambda: len(srv.login_pids()) == 2 and srv.login_pids(),
                      "two login processes")
    wait_for(lambda: srv.log_text().count("login process sandboxed") == 2,
             "the sandbox log lines")
    for pid in logins:
        st = status_fields(pid)
        expect(st["NoNewPrivs"] == "1", st["NoNewPrivs"])
        expect(st["Seccomp"] == "2", st["Seccomp"])
        if os.geteuid() == 0:
            try:
                uid = pwd.getpwnam("roost-login").pw_uid
            except KeyError:
                uid = pwd.getpwnam("nobody").pw_uid
            expect(st["Uid"].split() == [str(uid)] * 4, st["Uid"])
            expect(st["Groups"] == "", st["Groups"])
            # chrooted to an empty directory without a name
            expect(os.listdir(f"/proc/{pid}/root") == [], "root not empty")
        # no file of the server's open, no listener but its own
        for target in srv.worker_fds(pid):
            expect(target.startswith(("socket:", "anon_inode:", "pipe:",
                                      "/dev/null")) or "roost.log" in target,
                   f"login process holds {target}")
    # the workers still do the rest
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    c.close()


def test_login_process_cannot_open_files():
    # the userdb, a message file and the key: the probe in the login
    # process (ROOST_TEST_LOGIN_PROBE) tries them after the sandbox is up
    srv = Server()
    try:
        c = srv.login()
        c.append()
        c.close()
        mail = []
        for root, _, files in os.walk(srv.data_dir):
            mail += [os.path.join(root, f) for f in files if "/cur" in root]
        expect(mail, "no message file")
        paths = [srv.userdb, mail[0], "/etc/passwd"]
        with_env({"ROOST_TEST_LOGIN_PROBE": ";".join(paths)}, lambda: probe_run(paths))
    finally:
        srv.cleanup()


def probe_run(paths):
    if True:
        probe = Server()
        try:
            for p in paths:
                wait_for(lambda: f"login sandbox probe: open({p})" in probe.log_text(),
                         "the probe of " + p)
                line = re.search(r"login sandbox probe: open\(%s\): (.*)" % re.escape(p),
                                 probe.log_text()).group(1)
                expect(os.path.exists(p), p)
                expect(line in ("Operation not permitted", "Permission denied"), line)
            probe.check_log()
        finally:
            probe.cleanup()


def test_forged_handoff_is_refused():
    # a login process that hands over a connection the worker never
    # authenticated gets nothing: the worker closes it without a word
    def run():
        srv = Server()
        try:
            s = socket.create_connection(("127.0.0.1", srv.port), 10)
            s.settimeout(10)
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            expect(data == b"", data)
            wait_for(lambda: "did not authenticate on this channel: refused"
                     in srv.log_text(), "the refusal")
            expect("Login:" not in srv.log_text(), "logged in")
            srv.check_log()
        finally:
            srv.cleanup()
    with_env({"ROOST_TEST_LOGIN_FORGE": "1"}, run)


@server_args()
def test_pipelined_after_login(srv):
    for tls in (False, True):
        c = srv.connect(tls=tls)
        c.greeting()
        c.send("a LOGIN demo demo\r\nb NOOP\r\nc SELECT INBOX\r\nd LOGOUT\r\n")
        lines = []
        while True:
            line = c.readline()
            lines.append(line)
            if line.startswith("d "):
                break
        tagged = [l.split(" ", 2)[:2] for l in lines if not l.startswith("*")]
        expect(tagged == [["a", "OK"], ["b", "OK"], ["c", "OK"], ["d", "OK"]], lines)
        expect(c.is_closed(), "still open after LOGOUT")


@server_args()
def test_authenticate_plain_and_starttls(srv):
    import base64
    c = srv.connect()
    c.greeting()
    c.cmd("STARTTLS", ok=True)
    c.starttls()
    resp = base64.b64encode(b"\0demo\0demo").decode()
    _, tagged = c.cmd("AUTHENTICATE PLAIN " + resp, ok=True)
    expect("CAPABILITY" in tagged, tagged)
    untagged, _ = c.cmd("CAPABILITY", ok=True)
    expect("STARTTLS" not in untagged[0], untagged)
    c.cmd("SELECT INBOX", ok=True)
    expect("Login: method=PLAIN, TLS" in srv.log_text(), "login line")
    c.cmd("LOGOUT", ok=True)


@server_args(extra_conf="auth_failure_delay_max = 0")
def test_failures_are_counted_by_the_login_process(srv):
    c = srv.connect()
    c.greeting()
    for _ in range(2):
        c.cmd("LOGIN demo wrong", ok=False)
    c.cmd("LOGIN demo demo", ok=True)
    c.cmd("NOOP", ok=True)


@server_args()
def test_large_fetch_and_idle_through_the_tls_relay(srv):
    body = ("x" * 76 + "\r\n") * 40000          # about 3 MB
    msg = "From: a@example.com\r\nSubject: big\r\n\r\n" + body
    c = srv.login(tls=True)
    c.append(msg=msg)
    c.cmd("SELECT INBOX", ok=True)
    # a slow reader: the relay must hold back, not lose bytes
    tag = c.next_tag()
    c.line(f"{tag} FETCH 1 BODY.PEEK[]")
    time.sleep(1.0)
    first = c.readline()
    m = re.search(r"\{(\d+)\}$", first)
    expect(m and int(m.group(1)) == len(msg), first)
    data = c.read_exact(int(m.group(1)), timeout=30)
    expect(data == msg.encode(), "body differs")
    rest = c.readline()
    while not rest.startswith(tag + " "):
        rest = c.readline()
    expect(rest.startswith(tag + " OK"), rest)
    # IDLE: a change by another session reaches the idling one
    c.line("i1 IDLE")
    expect(c.readline().startswith("+"), "no continuation")
    other = srv.login()
    other.append()
    line = c.readline(timeout=15)
    while "EXISTS" not in line:
        line = c.readline(timeout=15)
    expect(line == "* 2 EXISTS", line)
    c.line("DONE")
    line = c.readline()
    while line.startswith("* "):
        line = c.readline()
    expect(line.startswith("i1 OK"), line)
    other.close()
    c.close()


def test_login_process_killed():
    srv = Server()
    try:
        plain = srv.login()
        plain.cmd("SELECT INBOX", ok=True)
        tls = srv.login(tls=True)
        tls.cmd("SELECT INBOX", ok=True)
        victim = wait_for(lambda: srv.login_pids(), "the login process")[0]
        os.kill(victim, signal.SIGKILL)
        # handed over: lives on in the worker
        plain.cmd("NOOP", ok=True)
        # relayed by the dead process: ends
        expect(tls.is_closed(timeout=10), "TLS session survived its relay")
        # a new login process serves new clients
        wait_for(lambda: srv.login_pids() and srv.login_pids()[0] != victim,
                 "a new login process")
        for use_tls in (False, True):
            c = wait_for(lambda: _try_login(srv, use_tls), "a login after the restart")
            c.cmd("SELECT INBOX", ok=True)
            c.close()
        plain.cmd("NOOP", ok=True)
        expect(re.search(r"login process 0 \(pid %d\) died: killed by signal 9" % victim,
                         srv.log_text()), "no log line")
    finally:
        srv.cleanup()


def _try_login(srv, tls):
    try:
        c = srv.connect(tls=tls)
        c.greeting()
        _, tagged = c.cmd("LOGIN demo demo")
        if tagged.startswith("t1 OK"):
            return c
        c.close()
    except (OSError, TestFailure):
        pass
    return None


def test_worker_killed():
    srv = Server()
    try:
        login_pid = wait_for(lambda: srv.login_pids(), "the login process")[0]
        victim = srv.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: srv.worker_pids() and srv.worker_pids()[0] != victim,
                 "a new worker")
        # the same login process, with a new channel to the new worker
        c = wait_for(lambda: _try_login(srv, False), "a login after the restart")
        c.cmd("SELECT INBOX", ok=True)
        expect(srv.login_pids() == [login_pid], srv.login_pids())
        c.close()
    finally:
        srv.cleanup()


@server_args(extra_conf="login_processes = no")
def test_login_processes_off(srv):
    expect(srv.login_pids() == [], srv.login_pids())
    c = srv.login(tls=True)
    c.cmd("SELECT INBOX", ok=True)


def _sieve_ok(c):
    lines = []
    line = c.readline()
    while not line.startswith(("OK", "NO", "BYE")):
        lines.append(line)
        line = c.readline()
    expect(line.startswith("OK"), (lines, line))
    return lines


@server_args(managesieve=True)
def test_managesieve_through_the_login_process(srv):
    import base64
    from roosttest import Client
    c = Client(srv, port=srv.managesieve_port)
    _sieve_ok(c)
    c.line("STARTTLS")
    _sieve_ok(c)
    c.starttls()
    _sieve_ok(c)
    resp = base64.b64encode(b"\0demo\0demo").decode()
    # pipelined after AUTHENTICATE: answered by the worker
    script = "keep;\r\n# comment\r\n"
    c.send(f'AUTHENTICATE "PLAIN" "{resp}"\r\nPUTSCRIPT "s" {{{len(script)}+}}\r\n{script}\r\n'
           'LISTSCRIPTS\r\n')
    _sieve_ok(c)
    _sieve_ok(c)
    lines = _sieve_ok(c)
    expect(lines == ['"s"'], lines)
    c.line("LOGOUT")
    _sieve_ok(c)
    log = srv.log_text()
    expect(re.search(r"roost-worker\[\d+\]: info: managesieve\(demo,.*Login: method=PLAIN, TLS",
                     log), "no login line from the worker")


@server_args(extra_conf="max_preauth_connections_per_ip = 0",
             users={f"u{i}": "pw" for i in range(200)})
def test_burst_of_logins(srv):
    # 200 logins of new users sent at once: the worker is busy creating
    # their stores, the channel to it fills up, and the checks and
    # handovers that find it full wait for it (they were dropped with
    # EAGAIN before)
    conns = [srv.connect() for _ in range(200)]
    for c in conns:
        c.greeting()
    for i, c in enumerate(conns):
        c.line(f"a LOGIN u{i} pw")
    for c in conns:
        line = c.readline(timeout=60)
        expect(line.startswith("a OK"), line)
    for c in conns[:10]:
        c.cmd("NOOP", ok=True)
    for c in conns:
        c.close()
