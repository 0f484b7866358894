"""SASL through the auth driver (auth/auth-local.c): the LOGIN mechanism,
PLAIN with an authorization identity for master users
(auth_master_users), ANONYMOUS (off by default; read-only when on),
the AUTH= list under auth_mechanisms and TLS, the user database chain
(first source wins; TEMPFAIL when it cannot be read), the fail2ban log
line,
and bad input: oversized and truncated responses, "*" cancels, bad
base64."""
import base64
import os
import re
import subprocess
import time
import roosttest
from roosttest import TestFailure, expect, server_args


def b64(s):
    if isinstance(s, str):
        s = s.encode()
    return base64.b64encode(s).decode()


def auth_caps(line):
    return [w[5:] for w in line.replace("]", " ").split() if w.startswith("AUTH=")]


MASTER_USERS = {"demo": "demo", "alice": "alicepw", "admin": "adminpw"}


def test_login_mechanism(srv):
    c = srv.connect()
    c.greeting()
    # the two legacy challenges, without and with an initial response
    c.conv(rf"""
    C: a1 AUTHENTICATE LOGIN
    S: + {b64("Username:")}
    C: {b64("demo")}
    S: + {b64("Password:")}
    C: {b64("demo")}
    S~ a1 OK \[CAPABILITY .*\] Logged in\.
    """)
    c = srv.connect()
    c.greeting()
    c.conv(rf"""
    C: a1 AUTHENTICATE LOGIN {b64("alice")}
    S: + {b64("Password:")}
    C: {b64("wrong")}
    S~ a1 NO \[AUTHENTICATIONFAILED\] .*
    C: a2 AUTHENTICATE LOGIN {b64("alice")}
    S: + {b64("Password:")}
    C: {b64("alicepw")}
    S~ a2 OK \[CAPABILITY .*\] Logged in\.
    """)
    log = srv.log_text()
    expect("Login: method=LOGIN" in log, log)
    expect("method=LOGIN, user=<alice>" in log, "failure not logged by the driver")
    expect("alicepw" not in log and "wrong" not in log, "password in log")


def test_login_mechanism_bad_input(srv):
    c = srv.connect()
    c.greeting()
    c.conv(rf"""
    C: a1 AUTHENTICATE LOGIN
    S: + {b64("Username:")}
    C: *
    S: a1 BAD Authentication aborted by client.
    C: a2 AUTHENTICATE LOGIN
    S: + {b64("Username:")}
    C: {b64("de" + chr(0) + "mo")}
    S~ a2 NO \[AUTHENTICATIONFAILED\] NUL in user name or password
    C: a3 AUTHENTICATE LOGIN {b64("demo")}
    S: + {b64("Password:")}
    C: %%%
    S: a3 BAD Invalid base64 data in response.
    C: a4 NOOP
    S: a4 OK NOOP completed.
    """)


@server_args(users=MASTER_USERS, extra_conf="auth_master_users = admin")
def test_plain_authzid_master_user(srv):
    # the master user logs in as alice: the session is alice's
    c = srv.connect()
    c.greeting()
    c.conv(rf"""
    C: a1 AUTHENTICATE PLAIN {b64("alice" + chr(0) + "admin" + chr(0) + "adminpw")}
    S~ a1 OK \[CAPABILITY .*\] Logged in\.
    """)
    c.cmd("CREATE FromAdmin", ok=True)
    c.close()
    a = srv.login("alice", "alicepw")
    u, _ = a.cmd('LIST "" "FromAdmin"', ok=True)
    expect("FromAdmin" in " ".join(u), u)
    log = srv.log_text()
    expect("Login: user=<alice>, master=<admin>, method=PLAIN" in log, log)
    # as a user that does not exist: refused
    c = srv.connect()
    c.greeting()
    c.conv(rf"""
    C: a1 AUTHENTICATE PLAIN {b64("nobody" + chr(0) + "admin" + chr(0) + "adminpw")}
    S~ a1 NO \[AUTHENTICATIONFAILED\] Authorization failed\.
    """)
    # a user who is not a master: refused, with the right password too
    c = srv.connect()
    c.greeting()
    c.conv(rf"""
    C: a1 AUTHENTICATE PLAIN {b64("alice" + chr(0) + "demo" + chr(0) + "demo")}
    S~ a1 NO \[AUTHENTICATIONFAILED\] Not authorized to log in as another user\.
    """)
    # the master's wrong password: refused
    c = srv.connect()
    c.greeting()
    c.conv(rf"""
    C: a1 AUTHENTICATE PLAIN {b64("alice" + chr(0) + "admin" + chr(0) + "alicepw")}
    S~ a1 NO \[AUTHENTICATIONFAILED\] Authentication failed\.
    """)


@server_args(users=MASTER_USERS)
def test_plain_authzid_without_master_users(srv):
    c = srv.connect()
    c.greeting()
    c.conv(rf"""
    C: a1 AUTHENTICATE PLAIN {b64("alice" + chr(0) + "admin" + chr(0) + "adminpw")}
    S~ a1 NO \[AUTHENTICATIONFAILED\] Not authorized to log in as another user\.
    C: a2 AUTHENTICATE PLAIN {b64("Admin" + chr(0) + "admin" + chr(0) + "adminpw")}
    S~ a2 OK \[CAPABILITY .*\] Logged in\.
    """)


def test_anonymous_off_by_default(srv):
    c = srv.connect()
    line = c.greeting()
    expect("ANONYMOUS" not in auth_caps(line), line)
    c.conv(rf"""
    C: a1 AUTHENTICATE ANONYMOUS {b64("guest")}
    S: a1 NO Unsupported authentication mechanism.
    """)


ANON_CONF = "auth_mechanisms = plain login anonymous\nauth_anonymous_user = demo"


@server_args(extra_conf=ANON_CONF, managesieve=True)
def test_anonymous_read_only(srv):
    d = srv.login()
    d.append("INBOX")
    d.cmd("CREATE Kept", ok=True)
    d.close()
    c = srv.connect()
    line = c.greeting()
    expect(auth_caps(line) == ["PLAIN", "LOGIN", "ANONYMOUS"], line)
    trace = "guest@example.org"
    c.conv(rf"""
    C: a1 AUTHENTICATE ANONYMOUS {b64(trace)}
    S~ a1 OK \[CAPABILITY .*\] Logged in\.
    """)
    _, t = c.cmd("SELECT INBOX", ok=True)
    expect("[READ-ONLY]" in t, t)
    c.cmd("UNSELECT", ok=True)
    c.cmd("SELECT INBOX", ok=True)
    _, t = c.cmd("FETCH 1 (BODY[])", ok=True)
    writes = [
        "STORE 1 +FLAGS (\\Deleted)",
        "UID STORE 1 +FLAGS (\\Flagged)",
        "COPY 1 Kept",
        "UID COPY 1 Kept",
        "MOVE 1 Kept",
        "UID MOVE 1 Kept",
        "EXPUNGE",
        "UID EXPUNGE 1",
        "CREATE New",
        "DELETE Kept",
        "RENAME Kept Other",
        "SUBSCRIBE Kept",
        "UNSUBSCRIBE Kept",
    ]
    for w in writes:
        _, t = c.cmd(w, ok=False)
        expect("[NOPERM]" in t, f"{w}: {t}")
    c.line("ap APPEND Kept {5+}\r\nhello")
    got = c.readline()
    expect(got.startswith("ap NO [NOPERM]"), got)
    c.cmd("EXAMINE Kept", ok=True)
    c.cmd("LIST \"\" \"*\"", ok=True)
    c.cmd("STATUS INBOX (MESSAGES)", ok=True)
    c.cmd("CLOSE", ok=True)
    c.close()
    # nothing changed: the message is unseen and still there
    d = srv.login()
    u, _ = d.cmd("SELECT INBOX", ok=True)
    expect("* 1 EXISTS" in u, u)
    u, _ = d.cmd("FETCH 1 (FLAGS)", ok=True)
    t = " ".join(u)
    expect("\\Seen" not in t and "\\Deleted" not in t and "\\Flagged" not in t, t)
    u, _ = d.cmd('LIST "" "*"', ok=True)
    t = " ".join(u)
    expect("New" not in t and "Kept" in t and "Other" not in t, t)
    d.cmd("SELECT Kept", ok=True)
    u, _ = d.cmd("SEARCH ALL", ok=True)
    expect(u == ["* SEARCH"], u)
    log = srv.log_text()
    expect(f"ANONYMOUS login as <demo>, trace=<{trace}>" in log, log)
    expect("read-only" in log, log)
    # ManageSieve neither offers nor accepts ANONYMOUS
    from test_managesieve import Sieve, caps_dict
    s = Sieve(srv)
    caps = caps_dict(s.greeting())
    expect("ANONYMOUS" not in caps["SASL"].split(), caps)
    _, final = s.cmd(f'AUTHENTICATE "ANONYMOUS" "{b64(trace)}"')
    expect(final.startswith("NO"), final)


@server_args(extra_conf=ANON_CONF)
def test_anonymous_bad_trace(srv):
    c = srv.connect()
    c.greeting()
    long_trace = "x" * 256
    bad_utf8 = b64(bytes([0x62, 0x61, 0x64, 0xff]))
    c.conv(rf"""
    C: a1 AUTHENTICATE ANONYMOUS {b64(long_trace)}
    S~ a1 NO \[AUTHENTICATIONFAILED\] Invalid ANONYMOUS trace .*
    C: a2 AUTHENTICATE ANONYMOUS {bad_utf8}
    S~ a2 NO \[AUTHENTICATIONFAILED\] Invalid ANONYMOUS trace .*
    """)
    c = srv.connect()
    c.greeting()
    # 255 characters of UTF-8 are fine; an empty trace too (RFC 4505)
    c.conv(rf"""
    C: a1 AUTHENTICATE ANONYMOUS {b64("é" * 255)}
    S~ a1 OK .*
    """)
    c = srv.connect()
    c.greeting()
    c.conv(r"""
    C: a1 AUTHENTICATE ANONYMOUS
    S: + 
    C: 
    S~ a1 OK .*
    """)


@server_args(extra_conf="auth_mechanisms = login", managesieve=True)
def test_auth_mechanisms_list(srv):
    c = srv.connect()
    line = c.greeting()
    expect(auth_caps(line) == ["LOGIN"], line)
    c.conv(rf"""
    C: a1 AUTHENTICATE PLAIN {b64(chr(0) + "demo" + chr(0) + "demo")}
    S: a1 NO Unsupported authentication mechanism.
    C: a2 AUTHENTICATE LOGIN {b64("demo")}
    S: + {b64("Password:")}
    C: {b64("demo")}
    S~ a2 OK .*
    """)
    from test_managesieve import Sieve, caps_dict
    s = Sieve(srv)
    caps = caps_dict(s.greeting())
    expect(caps["SASL"] == "LOGIN", caps)


@server_args(extra_conf="plaintext_auth = never\nauth_mechanisms = LOGIN PLAIN")
def test_auth_list_follows_tls(srv):
    c = srv.connect()
    line = c.greeting()
    expect(auth_caps(line) == [], line)
    c.cmd("STARTTLS", ok=True)
    c.starttls()
    u, _ = c.cmd("CAPABILITY", ok=True)
    # table order, whatever the order in auth_mechanisms
    expect(auth_caps(u[0]) == ["PLAIN", "LOGIN"], u)
    t = srv.connect(tls=True).greeting()
    expect(auth_caps(t) == ["PLAIN", "LOGIN"], t)


def test_auth_mechanisms_config_errors(srv):
    for value, want in (("PLAIN NOPE", "unknown mechanism NOPE"),
                        ("ANONYMOUS", "ANONYMOUS needs auth_anonymous_user")):
        conf = os.path.join(srv.dir, "bad.conf")
        with open(srv.conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(text + f"\nauth_mechanisms = {value}\n")
        p = subprocess.run([os.path.join(roosttest.BUILD, "roost"), "serve", "-c", conf],
                           capture_output=True, text=True, timeout=30)
        expect(p.returncode != 0 and want in p.stderr, (p.returncode, p.stderr))


def _chain_server_conf(srv):
    first = os.path.join(srv.dir, "first")
    second = os.path.join(srv.dir, "second")
    with open(first, "w") as f:
        f.write("demo:{PLAIN}one\n")
    with open(second, "w") as f:
        f.write("demo:{PLAIN}two\nbob:{PLAIN}bobpw\n")
    return first, second


@server_args(extra_conf="userdb = first passwd-file:second")
def test_userdb_chain(srv):
    # relative paths are the configuration's directory's
    first, second = _chain_server_conf(srv)
    c = srv.connect()
    c.greeting()
    c.conv(r"""
    C: a1 LOGIN demo two
    S~ a1 NO \[AUTHENTICATIONFAILED\] .*
    C: a2 LOGIN bob bobpw
    S~ a2 OK .*
    """)
    srv.login("demo", "one")
    # a source that cannot be read ends the search: TEMPFAIL, also for
    # users of later sources
    os.unlink(first)
    os.mkdir(first)
    time.sleep(1.2)     # files are stat()ed at most once a second
    c = srv.connect()
    c.greeting()
    c.conv(rf"""
    C: a1 LOGIN bob bobpw
    S~ a1 NO \[UNAVAILABLE\] .*
    C: a2 AUTHENTICATE PLAIN {b64(chr(0) + "bob" + chr(0) + "bobpw")}
    S~ a2 NO \[UNAVAILABLE\] .*
    """)
    os.rmdir(first)
    with open(first, "w") as f:
        f.write("other:{PLAIN}x\n")
    time.sleep(1.2)
    srv.login("demo", "two")
    srv.login("bob", "bobpw")


def test_bad_responses(srv):
    c = srv.connect()
    c.greeting()
    c.conv(rf"""
    C: a1 AUTHENTICATE PLAIN {b64(chr(0) + "demo")}
    S~ a1 NO \[AUTHENTICATIONFAILED\] Invalid PLAIN message .*
    C: a2 AUTHENTICATE PLAIN AGRlbW8AZGVt=
    S: a2 BAD Invalid base64 in initial response.
    C: a3 AUTHENTICATE PLAIN
    S: + 
    C: AGRlbW8AZG
    S: a3 BAD Invalid base64 data in response.
    C: a4 AUTHENTICATE NOPE
    S: a4 NO Unsupported authentication mechanism.
    C: a5 AUTHENTICATE PLAIN
    S: + 
    C: *
    S: a5 BAD Authentication aborted by client.
    C: a6 LOGIN demo demo
    S~ a6 OK .*
    """)


@server_args(extra_conf="max_line_length = 256K")
def test_oversized_response(srv):
    # refused before decoding: more base64 than SASL_MAX_RESPONSE_LEN
    # (65536 bytes) can be
    big = "A" * 90000
    c = srv.connect()
    c.greeting()
    c.line("a1 AUTHENTICATE PLAIN")
    expect(c.readline() == "+ ")
    c.line(big)
    got = c.readline()
    expect(got == "a1 BAD SASL response too long.", got)
    c.line(f"a2 AUTHENTICATE PLAIN {big}")
    got = c.readline()
    expect(got == "a2 BAD SASL initial response too long.", got)
    c.cmd("LOGIN demo demo", ok=True)


def test_oversized_response_default_limits(srv):
    # over max_line_length: the line is refused by the parser; no login
    c = srv.connect()
    c.greeting()
    c.line("a1 AUTHENTICATE PLAIN")
    expect(c.readline() == "+ ")
    c.send(b"A" * 200000 + b"\r\n")
    got = c.readline()
    expect(not got.startswith("a1 OK"), got)
    srv.login()


@server_args(extra_conf="auth_failure_log = fail2ban")
def test_fail2ban_line(srv):
    c = srv.connect()
    c.greeting()
    c.conv(rf"""
    C: a1 AUTHENTICATE PLAIN {b64(chr(0) + "demo" + chr(0) + "bad")}
    S~ a1 NO \[AUTHENTICATIONFAILED\] .*
    C: a2 LOGIN Alice bad
    S~ a2 NO \[AUTHENTICATIONFAILED\] .*
    """)
    log = srv.log_text()
    # the filter of doc/roost.conf.5, as fail2ban reads it (<HOST> is
    # its address pattern)
    failregex = r"roost: auth failure: rip=<HOST> user=<[^>]*> mech=\S+ service=\S+$"
    rx = re.compile(failregex.replace("<HOST>", r"(?P<host>[0-9a-fA-F.:]+)"))
    hits = [m.group("host") for m in map(rx.search, log.splitlines()) if m]
    expect(hits == ["127.0.0.1", "127.0.0.1"], (hits, log))
    expect("user=<demo> mech=PLAIN service=imap" in log, log)
    expect("user=<alice> mech=LOGIN service=imap" in log, log)


def test_no_fail2ban_line_by_default(srv):
    c = srv.connect()
    c.greeting()
    c.cmd("LOGIN demo bad", ok=False)
    expect("auth failure:" not in srv.log_text())


@server_args(managesieve=True)
def test_managesieve_login_mechanism(srv):
    from test_managesieve import Sieve
    s = Sieve(srv)
    s.greeting()
    s.line('AUTHENTICATE "LOGIN"')
    expect(s.read_response_line() == f'"{b64("Username:")}"')
    s.line(f'"{b64("demo")}"')
    expect(s.read_response_line() == f'"{b64("Password:")}"')
    s.line(f'"{b64("demo")}"')
    _, final = s.response()
    expect(final.startswith("OK"), final)
    s = Sieve(srv)
    s.greeting()
    s.line(f'AUTHENTICATE "LOGIN" "{b64("demo")}"')
    expect(s.read_response_line() == f'"{b64("Password:")}"')
    s.line('"*"')
    _, final = s.response()
    expect(final.startswith("NO"), final)
    _, final = s.cmd(f'AUTHENTICATE "PLAIN" "{"A" * 90000}"')
    expect(final.startswith("NO") or final.startswith("BYE"), final)


def test_pipelined_responses(srv):
    """Responses sent before their challenge wait in the buffer until auth
    asks for them (never two steps at once)."""
    c = srv.connect()
    c.greeting()
    c.send(("a1 AUTHENTICATE LOGIN\r\n" + b64("demo") + "\r\n" + b64("demo") +
            "\r\na2 NOOP\r\n").encode())
    expect(c.readline() == "+ " + b64("Username:"))
    expect(c.readline() == "+ " + b64("Password:"))
    got = c.readline()
    expect(got.startswith("a1 OK [CAPABILITY"), got)
    expect(c.readline() == "a2 OK NOOP completed.")
    # and a flood of extra lines after a failing one
    c = srv.connect()
    c.greeting()
    c.send(("a1 AUTHENTICATE PLAIN\r\n" + b64("\0demo\0bad") + "\r\n" +
            ("AAAA\r\n" * 50)).encode())
    expect(c.readline() == "+ ")
    got = c.readline()
    expect(got.startswith("a1 NO [AUTHENTICATIONFAILED]"), got)
    # the extra lines are commands now: BAD, then BYE after too many
    got = c.readline()
    expect(got.startswith("AAAA BAD") or got.startswith("* BYE"), got)
