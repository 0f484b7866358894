"""ManageSieve (RFC 5804): the capability greeting, STARTTLS, AUTHENTICATE
PLAIN (with and without an initial response, aborted, failed and
throttled), every script command with its response codes, literals of both
kinds, the quota on script count and size (a literal over it is refused
without being kept), bad input, and a client that disconnects in the
middle of a literal: the server goes on serving."""
import base64
import os
import socket
import time
from roosttest import Client, TestFailure, expect, server_args


def b64(s):
    return base64.b64encode(s.encode()).decode()


PLAIN_DEMO = b64("\0demo\0demo")
SCRIPT = 'require "fileinto";\r\nif header :contains "subject" "x" {\r\n  fileinto "X";\r\n}\r\n'


class Sieve(Client):
    """A ManageSieve connection: responses end with OK, NO or BYE."""

    def __init__(self, srv, timeout=10):
        super().__init__(srv, port=srv.managesieve_port, timeout=timeout)

    def response(self):
        """Lines (literals inlined) up to the final OK/NO/BYE: (lines, final)."""
        lines = []
        while True:
            line = self.read_response_line()
            if line.split(" ", 1)[0] in ("OK", "NO", "BYE"):
                return lines, line
            lines.append(line)

    def greeting(self):
        caps, final = self.response()
        expect(final.startswith("OK"), f"greeting {final!r}")
        return caps

    def cmd(self, text, ok=None):
        self.line(text)
        lines, final = self.response()
        if ok is True and not final.startswith("OK"):
            raise TestFailure(f"{text!r} -> {final!r}")
        if ok is False and final.startswith("OK"):
            raise TestFailure(f"{text!r} unexpectedly OK: {final!r}")
        return lines, final

    def starttls(self):
        self.line("STARTTLS")
        _, final = self.response()
        expect(final.startswith("OK"), final)
        super().starttls()
        caps, final = self.response()
        expect(final.startswith("OK"), f"after TLS: {final!r}")
        return caps

    def login(self, user="demo", password="demo"):
        self.cmd(f'AUTHENTICATE "PLAIN" "{b64(chr(0) + user + chr(0) + password)}"', ok=True)


def literal(text):
    """A literal as Client.read_response_line() gives it."""
    return f"{{{len(text.encode())}}}\r\n{text}"


def caps_dict(lines):
    out = {}
    for line in lines:
        parts = line.split(" ", 1)
        out[parts[0].strip('"')] = parts[1].strip('"') if len(parts) > 1 else None
    return out


def logged_in(srv):
    c = Sieve(srv)
    c.greeting()
    c.login()
    return c


def putscript(c, name, text, ok=True):
    data = text.encode()
    c.send(f'PUTSCRIPT "{name}" {{{len(data)}+}}\r\n'.encode() + data + b"\r\n")
    lines, final = c.response()
    if ok is True and not final.startswith("OK"):
        raise TestFailure(f"PUTSCRIPT {name} -> {final!r}")
    if ok is False and final.startswith("OK"):
        raise TestFailure(f"PUTSCRIPT {name} unexpectedly OK")
    return final


@server_args(managesieve=True)
def test_greeting_and_capability(srv):
    c = Sieve(srv)
    caps = caps_dict(c.greeting())
    expect(caps["IMPLEMENTATION"] == "Roost", caps)
    expect(caps["VERSION"] == "1.0", caps)
    expect("STARTTLS" in caps, caps)
    expect("fileinto" in caps["SIEVE"].split(), caps)
    expect(int(caps["MAXREDIRECTS"]) > 0, caps)
    # loopback: plaintext_auth = local allows PLAIN without TLS
    expect(caps["SASL"] == "SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN", caps)
    expect("OWNER" not in caps, caps)
    lines, final = c.cmd("CAPABILITY", ok=True)
    expect(caps_dict(lines) == caps, lines)
    c.cmd("capability", ok=True)
    _, final = c.cmd("CAPABILITY extra")
    expect(final.startswith("NO"), final)
    _, final = c.cmd('NOOP "hello"', ok=True)
    expect(final.startswith('OK (TAG "hello")'), final)
    c.cmd("NOOP", ok=True)
    c.cmd("LOGOUT", ok=True)
    expect(c.is_closed())


@server_args(managesieve=True, extra_conf="plaintext_auth = never")
def test_starttls_and_encrypt_needed(srv):
    c = Sieve(srv)
    caps = caps_dict(c.greeting())
    # without TLS only the mechanisms that send no password
    expect(caps["SASL"] == "SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5", caps)
    _, final = c.cmd(f'AUTHENTICATE "PLAIN" "{PLAIN_DEMO}"')
    expect(final.startswith("NO (ENCRYPT-NEEDED)"), final)
    caps = caps_dict(c.starttls())
    expect(caps["SASL"] == "SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS "
           "SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN" and "STARTTLS" not in caps, caps)
    _, final = c.cmd("STARTTLS")
    expect(final.startswith("NO"), final)
    c.login()
    lines, _ = c.cmd("CAPABILITY", ok=True)
    expect(caps_dict(lines)["OWNER"] == "demo", lines)
    c.cmd("LISTSCRIPTS", ok=True)
    expect("Login: method=PLAIN, TLS" in srv.log_text())


@server_args(managesieve=True)
def test_authenticate(srv):
    c = Sieve(srv)
    c.greeting()
    # the state rules
    _, final = c.cmd("LISTSCRIPTS")
    expect(final.startswith("NO"), final)
    _, final = c.cmd('AUTHENTICATE "NOPE"')
    expect(final.startswith("NO"), final)
    # no initial response: an empty challenge, then the response
    c.line('AUTHENTICATE "PLAIN"')
    expect(c.readline() == '""', "empty challenge")
    c.line('"*"')
    _, final = c.response()
    expect(final.startswith("NO"), final)
    c.line('AUTHENTICATE "PLAIN"')
    expect(c.readline() == '""')
    data = PLAIN_DEMO.encode()
    c.send(b"{%d+}\r\n" % len(data) + data + b"\r\n")
    _, final = c.response()
    expect(final.startswith("OK"), final)
    _, final = c.cmd(f'AUTHENTICATE "PLAIN" "{PLAIN_DEMO}"')
    expect(final.startswith("NO"), f"second AUTHENTICATE: {final!r}")
    c.cmd("UNAUTHENTICATE", ok=True)
    _, final = c.cmd("LISTSCRIPTS")
    expect(final.startswith("NO"), final)
    c.login("alice", "alicepw")
    lines, _ = c.cmd("CAPABILITY", ok=True)
    expect(caps_dict(lines)["OWNER"] == "alice", lines)
    log = srv.log_text()
    expect(b64("\0demo\0demo") not in log, "credentials in log")


@server_args(managesieve=True, extra_conf="max_auth_failures = 3")
def test_failures_throttled_then_bye(srv):
    c = Sieve(srv)
    c.greeting()
    times = []
    for i in range(3):
        start = time.time()
        c.line(f'AUTHENTICATE "PLAIN" "{b64(chr(0) + "demo" + chr(0) + "wrong")}"')
        lines, final = c.response()
        times.append(time.time() - start)
        if i < 2:
            expect(final.startswith("NO"), final)
    expect(final.startswith("BYE"), f"after 3 failures: {final!r}")
    expect(c.is_closed())
    expect(times[2] >= 0.4, f"no growing delay: {times}")
    # the failures are counted with IMAP's: a 4th wrong password, over
    # IMAP, waits 250 ms * 2^3
    i = srv.connect()
    i.greeting()
    start = time.time()
    i.cmd("LOGIN demo wrong", ok=False)
    expect(time.time() - start >= 1.5, "ManageSieve failures not counted for IMAP")
    d = Sieve(srv)
    d.greeting()
    d.login()


@server_args(managesieve=True)
def test_script_commands(srv):
    c = logged_in(srv)
    lines, _ = c.cmd("LISTSCRIPTS", ok=True)
    expect(lines == [], lines)
    c.cmd('HAVESPACE "rules" 100', ok=True)
    putscript(c, "rules", SCRIPT)
    # a quoted script works too
    c.cmd('PUTSCRIPT "small" "keep;"', ok=True)
    # a synchronizing literal is read at once (no continuation in 5804)
    c.send(b'PUTSCRIPT "other" {8}\r\ndiscard;\r\n')
    _, final = c.response()
    expect(final.startswith("OK"), final)
    lines, _ = c.cmd("LISTSCRIPTS", ok=True)
    expect(sorted(lines) == ['"other"', '"rules"', '"small"'], lines)
    c.cmd('SETACTIVE "rules"', ok=True)
    lines, _ = c.cmd("LISTSCRIPTS", ok=True)
    expect('"rules" ACTIVE' in lines, lines)
    lines, _ = c.cmd('GETSCRIPT "rules"', ok=True)
    expect(lines == [literal(SCRIPT)], lines)
    _, final = c.cmd('GETSCRIPT "missing"')
    expect(final.startswith("NO (NONEXISTENT)"), final)
    _, final = c.cmd('DELETESCRIPT "rules"')
    expect(final.startswith("NO (ACTIVE)"), final)
    _, final = c.cmd('DELETESCRIPT "missing"')
    expect(final.startswith("NO (NONEXISTENT)"), final)
    _, final = c.cmd('RENAMESCRIPT "rules" "small"')
    expect(final.startswith("NO (ALREADYEXISTS)"), final)
    _, final = c.cmd('RENAMESCRIPT "missing" "x"')
    expect(final.startswith("NO (NONEXISTENT)"), final)
    c.cmd('RENAMESCRIPT "rules" "Regeln für Post"', ok=True)
    lines, _ = c.cmd("LISTSCRIPTS", ok=True)
    expect('"Regeln für Post" ACTIVE' in lines, lines)
    _, final = c.cmd('SETACTIVE "missing"')
    expect(final.startswith("NO (NONEXISTENT)"), final)
    c.cmd('SETACTIVE ""', ok=True)
    lines, _ = c.cmd("LISTSCRIPTS", ok=True)
    expect(not any(l.endswith("ACTIVE") for l in lines), lines)
    c.cmd('DELETESCRIPT "Regeln für Post"', ok=True)
    c.cmd('DELETESCRIPT "small"', ok=True)
    lines, _ = c.cmd("LISTSCRIPTS", ok=True)
    expect(lines == ['"other"'], lines)
    # names RFC 5804 1.6 forbids
    _, final = c.cmd('PUTSCRIPT "a/b" "keep;"')
    expect(final.startswith("NO"), final)
    c.send(b'PUTSCRIPT {5+}\r\na\x01b\r\n "keep;"\r\n')
    _, final = c.response()
    expect(final.startswith("NO"), final)
    _, final = c.cmd('GETSCRIPT ""')
    expect(final.startswith("NO"), final)
    # the files are the user's, beside the mailboxes
    expect(os.path.exists(os.path.join(srv.data_dir, "users", "_", "demo", "sieve",
                                       "other.sieve")), "script file")


@server_args(managesieve=True)
def test_checkscript_and_invalid_scripts(srv):
    c = logged_in(srv)
    c.cmd('CHECKSCRIPT "keep;"', ok=True)
    _, final = c.cmd('CHECKSCRIPT "fileinto \\"x\\";"')
    expect(final.startswith("NO"), final)
    expect("line 1" in final, final)
    final = putscript(c, "bad", "if true {\r\n  nosuchcommand;\r\n}\r\n", ok=False)
    expect("line 2" in final, final)
    lines, _ = c.cmd("LISTSCRIPTS", ok=True)
    expect(lines == [], f"a bad script was stored: {lines}")
    _, final = c.cmd("CHECKSCRIPT")
    expect(final.startswith("NO"), final)


@server_args(managesieve=True, extra_conf="managesieve_max_scripts = 2\n"
             "managesieve_max_storage = 1K")
def test_quota(srv):
    c = logged_in(srv)
    putscript(c, "a", "keep;")
    putscript(c, "b", "keep;")
    _, final = c.cmd('HAVESPACE "c" 5')
    expect(final.startswith("NO (QUOTA/MAXSCRIPTS)"), final)
    final = putscript(c, "c", "keep;", ok=False)
    expect(final.startswith("NO (QUOTA/MAXSCRIPTS)"), final)
    # replacing one is no new script
    c.cmd('HAVESPACE "a" 5', ok=True)
    putscript(c, "a", "discard;")
    _, final = c.cmd('HAVESPACE "a" 2000')
    expect(final.startswith("NO (QUOTA/MAXSIZE)"), final)
    # total storage: 1K for all scripts
    body = "#" + "x" * 900 + "\r\nkeep;\r\n"
    putscript(c, "a", body)
    final = putscript(c, "b", body, ok=False)
    expect(final.startswith("NO (QUOTA)"), final)
    # a literal over the limit is refused and its bytes dropped: the
    # next command on the line is read as a command
    big = b"#" * 5000
    c.send(b'PUTSCRIPT "big" {%d+}\r\n' % len(big) + big + b"\r\nNOOP\r\n")
    _, final = c.response()
    expect(final.startswith("NO (QUOTA/MAXSIZE)"), final)
    _, final = c.response()
    expect(final.startswith("OK"), f"NOOP after a dropped literal: {final!r}")
    # a literal announced as 4 GB is refused at once, not waited for
    c.send(b'PUTSCRIPT "huge" {4000000000+}\r\n')
    _, final = c.response()
    expect(final.startswith("NO (QUOTA/MAXSIZE)"), final)
    c.close()
    d = logged_in(srv)
    lines, _ = d.cmd("LISTSCRIPTS", ok=True)
    expect(sorted(lines) == ['"a"', '"b"'], lines)


@server_args(managesieve=True, extra_conf="max_bad_commands = 4")
def test_bad_input(srv):
    c = Sieve(srv)
    c.greeting()
    for bad in ["FOO", '"LISTSCRIPTS"', "NOOP (x)"]:
        _, final = c.cmd(bad)
        expect(final.startswith("NO"), f"{bad!r} -> {final!r}")
    _, final = c.cmd("")
    expect(final.startswith("BYE"), f"4th bad command: {final!r}")
    expect(c.is_closed())
    # an over-long line before login
    d = Sieve(srv)
    d.greeting()
    d.send(b"NOOP " + b"x" * 70000 + b"\r\n")
    _, final = d.response()
    expect(final.startswith("NO"), final)
    d.cmd("NOOP", ok=True)
    # a literal before login is limited by max_preauth_literal
    d.send(b'NOOP {100000+}\r\n')
    _, final = d.response()
    expect(final.startswith("NO"), final)


@server_args(managesieve=True)
def test_disconnect_mid_literal(srv):
    c = logged_in(srv)
    c.send(b'PUTSCRIPT "partial" {1000+}\r\n' + b"#" * 500)
    c.sock.close()
    # the server goes on, and nothing was stored
    d = logged_in(srv)
    lines, _ = d.cmd("LISTSCRIPTS", ok=True)
    expect(lines == [], lines)
    putscript(d, "whole", "keep;")
    e = Sieve(srv)
    e.greeting()
    e.send(b'AUTHENTICATE "PLAIN" {30+}\r\nabc')
    e.sock.shutdown(socket.SHUT_WR)
    expect(e.is_closed())
    lines, _ = d.cmd("LISTSCRIPTS", ok=True)
    expect(lines == ['"whole"'], lines)
    expect("Disconnected in the middle of a command" in srv.log_text())


@server_args(managesieve=True)
def test_pipelined_commands(srv):
    c = logged_in(srv)
    c.send(b'PUTSCRIPT "p" "keep;"\r\nSETACTIVE "p"\r\nLISTSCRIPTS\r\nGETSCRIPT "p"\r\n')
    _, f1 = c.response()
    _, f2 = c.response()
    l3, f3 = c.response()
    l4, f4 = c.response()
    expect(all(f.startswith("OK") for f in (f1, f2, f3, f4)), (f1, f2, f3, f4))
    expect(l3 == ['"p" ACTIVE'] and l4 == [literal("keep;")], (l3, l4))


@server_args(managesieve=True, extra_conf="store_offload = always")
def test_offloaded_store(srv):
    # store calls wait for the store's turn on the worker's threads
    c = logged_in(srv)
    putscript(c, "x", SCRIPT)
    c.cmd('SETACTIVE "x"', ok=True)
    lines, _ = c.cmd('GETSCRIPT "x"', ok=True)
    expect(lines == [literal(SCRIPT)], lines)
    c.send(b'LISTSCRIPTS\r\n')
    c.sock.close()
    d = logged_in(srv)
    lines, _ = d.cmd("LISTSCRIPTS", ok=True)
    expect(lines == ['"x" ACTIVE'], lines)


@server_args(managesieve=True)
def test_cli_sieve_commands(srv):
    # `roost sieve put|list|activate|deactivate|show|delete`, and what the
    # server sees of it
    path = os.path.join(srv.dir, "vacation.sieve")
    with open(path, "w") as f:
        f.write(SCRIPT)
    conf = ["-c", srv.conf, "-u", "demo"]
    srv.roost("sieve", "put", *conf, "vacation", path)
    p = srv.roost("sieve", "put", *conf, "other", "-", input="discard;\n")
    p = srv.roost("sieve", "list", *conf)
    expect(p.stdout == f"other\t9\nvacation\t{len(SCRIPT)}\n", p.stdout)
    srv.roost("sieve", "activate", *conf, "vacation")
    p = srv.roost("sieve", "list", *conf)
    expect(f"vacation\t{len(SCRIPT)}\tactive\n" in p.stdout, p.stdout)
    p = srv.roost("sieve", "show", *conf, "vacation")
    expect(p.stdout == SCRIPT.replace("\r\n", "\n"), p.stdout)  # text mode
    c = logged_in(srv)
    lines, _ = c.cmd("LISTSCRIPTS", ok=True)
    expect(sorted(lines) == ['"other"', '"vacation" ACTIVE'], lines)
    # a bad script: the errors, exit 65, nothing stored
    bad = os.path.join(srv.dir, "bad.sieve")
    with open(bad, "w") as f:
        f.write("keep;\nnosuchcommand;\n")
    p = srv.roost("sieve", "put", *conf, "bad", bad, check=False)
    expect(p.returncode == 65 and "line 2" in p.stderr, (p.returncode, p.stderr))
    p = srv.roost("sieve", "delete", *conf, "vacation", check=False)
    expect(p.returncode == 65 and "active" in p.stderr, (p.returncode, p.stderr))
    p = srv.roost("sieve", "show", *conf, "missing", check=False)
    expect(p.returncode == 66, (p.returncode, p.stderr))
    p = srv.roost("sieve", "list", "-c", srv.conf, "-u", "nobody", check=False)
    expect(p.returncode == 67, (p.returncode, p.stderr))
    p = srv.roost("sieve", "put", *conf, "a/b", path, check=False)
    expect(p.returncode == 65, (p.returncode, p.stderr))
    p = srv.roost("sieve", "put", *conf, "x", check=False)
    expect(p.returncode == 64 and "usage:" in p.stderr, (p.returncode, p.stderr))
    for sub in ("put", "list", "activate", "deactivate", "show", "delete"):
        p = srv.roost("sieve", sub, "--help")
        expect(p.stdout.startswith(f"usage: roost sieve {sub} "), p.stdout)
    srv.roost("sieve", "deactivate", *conf)
    srv.roost("sieve", "delete", *conf, "vacation")
    lines, _ = c.cmd("LISTSCRIPTS", ok=True)
    expect(lines == ['"other"'], lines)


@server_args(managesieve=True, extra_conf="sieve_max_script_size = 1K\n"
             "sieve_max_redirects = 7")
def test_sieve_limits_from_config(srv):
    # the interpreter's limits come from roost.conf: the script size is
    # the literal limit, MAXREDIRECTS is sieve_max_redirects
    c = Sieve(srv)
    caps = caps_dict(c.greeting())
    expect(caps["MAXREDIRECTS"] == "7", caps)
    c.login()
    putscript(c, "fits", "#" * 1000 + "\r\nkeep;")
    final = putscript(c, "big", "#" * 1100 + "\r\nkeep;", ok=False)
    expect(final.startswith("NO (QUOTA/MAXSIZE)"), final)
    _, final = c.cmd('HAVESPACE "big" 1025')
    expect(final.startswith("NO (QUOTA/MAXSIZE)"), final)
    c.cmd('HAVESPACE "big" 1024', ok=True)
