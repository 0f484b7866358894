"""Denial of service before login: a hard login deadline from connect
(login_timeout), a limit on connections per address that have not
logged in, counted across workers (max_preauth_connections_per_ip), a
connection budget that stays inside the file descriptor limit, and
failed-login delays per address and per user shared by all workers."""
import os
import re
import resource
import socket
import subprocess
import time

import roosttest
from roosttest import Server, expect, server_args


@server_args(extra_conf="login_timeout = 3\npreauth_timeout = 60")
def test_login_deadline_despite_trickle(srv):
    # one byte every second resets the idle timer (preauth_timeout) but
    # not the deadline from connect
    c = srv.connect()
    c.greeting()
    t0 = time.time()
    c.sock.settimeout(0.2)
    got = b""
    while time.time() - t0 < 10:
        try:
            c.send(b"x")
        except OSError:
            break
        try:
            data = c.sock.recv(4096)
            if not data:
                break
            got += data
        except socket.timeout:
            pass
        time.sleep(0.8)
    elapsed = time.time() - t0
    expect(b"* BYE Login timed out.\r\n" in got, got)
    expect(elapsed < 8, f"closed after {elapsed:.1f} s")
    expect("Not logged in after 3 s" in srv.log_text())


@server_args(extra_conf="login_timeout = 3")
def test_login_deadline_includes_tls_handshake(srv):
    # a client that never finishes the implicit TLS handshake is closed
    # at the login deadline, not after the 30 s handshake timeout
    s = socket.create_connection(("127.0.0.1", srv.tls_port), 10)
    s.sendall(b"\x16\x03\x01")          # the start of a ClientHello
    t0 = time.time()
    s.settimeout(10)
    try:
        data = s.recv(100)
    except ConnectionResetError:
        data = b""
    expect(data == b"", data)
    expect(time.time() - t0 < 8, f"closed after {time.time() - t0:.1f} s")
    s.close()


def _sasl_left_hanging(c, tag, timeout):
    """Starts AUTHENTICATE PLAIN on c and never answers its continuation:
    the login deadline must close the connection with a BYE."""
    c.line(f"{tag} AUTHENTICATE PLAIN")
    expect(c.readline() == "+ ")
    line = c.readline(timeout=timeout)
    expect(line == "* BYE Login timed out.", line)
    expect(c.is_closed())


@server_args(extra_conf="login_timeout = 2\npreauth_timeout = 60")
def test_login_deadline_ends_at_login(srv):
    c = srv.login()
    time.sleep(3)
    c.cmd("NOOP", ok=True)
    # and a SASL exchange left hanging is not a way around it
    c2 = srv.connect()
    c2.greeting()
    _sasl_left_hanging(c2, "a", 6)


@server_args(extra_conf="login_timeout = 3\npreauth_timeout = 60")
def test_login_deadline_after_starttls_and_idle(srv):
    """The deadline from connect survives STARTTLS and an AUTHENTICATE
    left hanging at its continuation over TLS; IDLE is refused before
    login (it would otherwise hold the connection in raw input)."""
    c = srv.connect()
    c.greeting()
    t0 = time.time()
    c.line("a IDLE")
    line = c.readline()
    expect(line == "a BAD Command not valid before authentication.", line)
    c.line("DONE")
    line = c.readline()
    expect(line.startswith("DONE BAD"), line)
    c.line("b STARTTLS")
    expect(c.readline() == "b OK Begin TLS negotiation now.")
    c.starttls()
    _sasl_left_hanging(c, "c", 8)
    expect(time.time() - t0 < 6, f"closed after {time.time() - t0:.1f} s")


def _settle(srv):
    """Waits until the harness's probe that the server listens (made
    before the workers ran: a worker accepts it afterwards) has been
    accepted and seen to close, so that it no longer counts as a
    connection not logged in."""
    deadline = time.time() + 5
    while time.time() < deadline:
        log = srv.log_text()
        n = log.count(": connected")
        if n > 0 and n == log.count(": Disconnected"):
            return
        time.sleep(0.05)


@server_args(workers=2, extra_conf="max_preauth_connections_per_ip = 3")
def test_preauth_connections_per_address_across_workers(srv):
    _settle(srv)
    # 10 connections from one address, spread over two workers: exactly 3
    # are greeted, the others are told why and closed
    conns = [srv.connect() for _ in range(10)]
    greeted, refused = [], []
    for c in conns:
        line = c.readline()
        if line.startswith("* OK"):
            greeted.append(c)
        else:
            expect(line == "* BYE Too many connections from your address.", line)
            expect(c.is_closed())
            refused.append(c)
    expect(len(greeted) == 3, f"{len(greeted)} greeted")
    log = srv.log_text()
    expect("max_preauth_connections_per_ip" in log)
    # a login frees its place: the limit is on connections not logged in
    greeted[0].cmd("LOGIN demo demo", ok=True)
    c3 = srv.connect()
    c3.greeting()
    # the limit again (every client object is kept: a dropped one closes)
    c4 = srv.connect()
    line = c4.readline()
    expect(line.startswith("* BYE Too many"), line)
    # a closed connection frees its place
    greeted[1].close()
    deadline = time.time() + 5
    retries = []
    while True:
        c = srv.connect()
        retries.append(c)
        line = c.readline()
        if line.startswith("* OK") or time.time() > deadline:
            break
        time.sleep(0.1)
    expect(line.startswith("* OK"), line)
    # logged-in sessions are not limited by it: with the pre-login ones
    # gone, one address holds more than 3 sessions
    for x in [greeted[2], c3, c]:
        x.close()
    sessions = [greeted[0]]
    deadline = time.time() + 5
    while len(sessions) < 6 and time.time() < deadline:
        c = srv.connect()
        if c.readline().startswith("* OK"):
            c.cmd("LOGIN demo demo", ok=True)
            sessions.append(c)
        else:
            time.sleep(0.1)
    expect(len(sessions) == 6, f"{len(sessions)} sessions")
    for s in sessions:
        s.cmd("NOOP", ok=True)


@server_args(extra_conf="max_preauth_connections_per_ip = 2\n"
             "max_preauth_connections_per_ip_exempt = 127.0.0.2/32, ::1")
def test_preauth_limit_exempt_networks(srv):
    _settle(srv)
    kept = []
    # 127.0.0.2 is exempt: five connections are all greeted
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", srv.port), 10,
                                     source_address=("127.0.0.2", 0))
        kept.append(s)
        expect(s.makefile("rb").readline().startswith(b"* OK"))
    # 127.0.0.3 is not
    lines = []
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", srv.port), 10,
                                     source_address=("127.0.0.3", 0))
        kept.append(s)
        lines.append(s.makefile("rb").readline())
    expect([l[:4] for l in lines] == [b"* OK", b"* OK", b"* BY"], lines)
    for s in kept:
        s.close()


def test_preauth_limit_exempt_invalid():
    srv = None
    try:
        srv = Server(extra_conf="max_preauth_connections_per_ip_exempt = 10.0.0.0/99")
    except roosttest.TestFailure as e:
        expect("max_preauth_connections_per_ip_exempt: invalid network" in str(e), str(e))
    else:
        srv.cleanup()
        raise roosttest.TestFailure("started with an invalid network")


def _start_with_fd_limit(nofile, **kw):
    """A Server whose processes run with RLIMIT_NOFILE = nofile (soft
    and hard, so roost serve cannot raise it)."""
    orig = subprocess.Popen

    def popen(*args, **kwargs):
        kwargs["preexec_fn"] = lambda: resource.setrlimit(
            resource.RLIMIT_NOFILE, (nofile, nofile))
        return orig(*args, **kwargs)

    roosttest.subprocess.Popen = popen
    try:
        return Server(**kw)
    finally:
        roosttest.subprocess.Popen = orig


def test_fd_limit_keeps_sessions_working():
    srv = _start_with_fd_limit(64, workers=1,
                               extra_conf="max_preauth_connections_per_ip = 0")
    try:
        a = srv.login()
        b = srv.login("alice", "alicepw")
        # a flood of connections: far more than 64 descriptors' worth
        flood = []
        for _ in range(80):
            try:
                flood.append(socket.create_connection(("127.0.0.1", srv.port), 5))
            except OSError:
                break
        busy = ok = 0
        for s in flood:
            s.settimeout(5)
            data = b""
            try:
                while b"\r\n" not in data:
                    d = s.recv(4096)
                    if not d:
                        break
                    data += d
            except (socket.timeout, ConnectionResetError):
                pass
            if data.startswith(b"* OK"):
                ok += 1
            elif data.startswith(b"* BYE Server too busy"):
                busy += 1
        expect(busy > 0, f"{ok} greeted, {busy} refused")
        expect(ok + busy == len(flood), f"{ok} greeted, {busy} refused of {len(flood)}")
        # the logged-in sessions can still open their mail
        for c in (a, b):
            c.cmd("SELECT INBOX", ok=True)
            c.append()
            c.cmd("FETCH 1:* (FLAGS BODY.PEEK[])", ok=True)
            c.cmd("STATUS INBOX (MESSAGES)", ok=True)
        log = srv.log_text()
        expect(re.search(r"file descriptor limit \(64\) allows \d+ connections", log), log)
        expect("this worker is full" in log, log)
        for s in flood:
            s.close()
        srv.check_log()
        expect(srv.stop() == 0)
        log = srv.log_text()
        expect("killed by signal" not in log and "SERVERBUG" not in log, log)
    finally:
        srv.cleanup()


def _login_from(srv, source_ip, user, password):
    """LOGIN on a new connection from source_ip (any 127.x address reaches
    the loopback listener); returns (seconds to the answer, answer)."""
    s = socket.create_connection(("127.0.0.1", srv.port), 30,
                                 source_address=(source_ip, 0))
    f = s.makefile("rb")
    greeting = f.readline()
    expect(greeting.startswith(b"* OK"), greeting)
    t0 = time.time()
    s.sendall(f"a LOGIN {user} {password}\r\n".encode())
    line = f.readline()
    while line.startswith(b"* "):
        line = f.readline()
    elapsed = time.time() - t0
    f.close()
    s.close()
    return elapsed, line.decode().rstrip("\r\n")


@server_args(workers=2)
def test_failed_login_delay_not_reset_by_another_users_login(srv):
    # one valid account (demo) and guesses at another (alice), in turn,
    # from one address, each on a new connection (either worker): the
    # successes do not wipe the guesses, so the delay keeps growing
    times = []
    for i in range(5):
        t, line = _login_from(srv, "127.0.0.1", "demo", "demo")
        expect(line.startswith("a OK"), line)
        t, line = _login_from(srv, "127.0.0.1", "alice", "guess%d" % i)
        expect(line.startswith("a NO [AUTHENTICATIONFAILED]"), line)
        times.append(t)
    # 250 ms, 500 ms, 1 s, 2 s, 4 s
    expect(times[4] >= 1.0, f"delays {times}")
    log = srv.log_text()
    expect("5 recent failure(s) for this address or user, answered after 4000 ms" in log,
           log[-3000:])
    # and the good account is not slowed down by them
    t, line = _login_from(srv, "127.0.0.1", "demo", "demo")
    expect(line.startswith("a OK") and t < 1.0, f"{line} after {t:.1f} s")


@server_args(workers=2)
def test_failed_login_delay_per_user_across_addresses(srv):
    # guesses at one user from five addresses: the user's count grows
    times = []
    for i in range(2, 7):
        t, line = _login_from(srv, f"127.0.0.{i}", "alice", "guess")
        expect(line.startswith("a NO [AUTHENTICATIONFAILED]"), line)
        times.append(t)
    expect(times[4] >= 1.0, f"delays {times}")
    # a success for another user from one of them clears nothing of it
    t, line = _login_from(srv, "127.0.0.2", "demo", "demo")
    expect(line.startswith("a OK"), line)
    t, line = _login_from(srv, "127.0.0.9", "alice", "guess")
    expect(line.startswith("a NO") and t >= 2.0, f"{line} after {t:.1f} s")
