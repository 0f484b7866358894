"""Limits on what a client controls (RFC 9051 section 4.3, RFC 7888,
RFC 5530 response codes): nothing grows without bound, each violation
gets a clear answer and the server keeps running."""
from roosttest import expect, server_args


def test_line_too_long(srv):
    c = srv.connect()
    c.greeting()
    c.send(b"a1 NOOP " + b"x" * 70000 + b"\r\n")
    line = c.readline()
    expect(line.startswith("a1 BAD") or line.startswith("* BAD"), line)
    c.cmd("NOOP", ok=True)


def test_literal_too_big_before_login(srv):
    c = srv.connect()
    c.greeting()
    c.line("a1 LOGIN {100000}")
    line = c.readline()
    expect(line.startswith("a1 NO [TOOBIG]"), line)
    c.cmd("NOOP", ok=True)


def test_nonsync_literal_too_big_closes(srv):
    c = srv.connect()
    c.greeting()
    c.line("a1 LOGIN {100000+}")
    line = c.readline()
    expect(line.startswith("* BYE [TOOBIG]"), line)
    expect(c.is_closed())


@server_args(extra_conf="max_append_size = 1M")
def test_append_limit_after_login(srv):
    c = srv.login()
    _, t = c.cmd("CAPABILITY")
    c.line("a1 APPEND INBOX {2000000}")
    line = c.readline()
    expect(line.startswith("a1 NO [TOOBIG]"), line)
    c.cmd("NOOP", ok=True)


def test_deep_nesting(srv):
    c = srv.connect()
    c.greeting()
    c.line("a1 ID " + "(" * 100 + ")" * 100)
    line = c.readline()
    expect(line.startswith("a1 BAD"), line)
    c.cmd("NOOP", ok=True)


def test_many_small_commands_pipelined(srv):
    c = srv.login()
    n = 2000
    c.send(b"".join(b"n%d NOOP\r\n" % i for i in range(n)))
    for i in range(n):
        expect(c.readline() == f"n{i} OK NOOP completed.")


def test_garbage_bytes(srv):
    c = srv.connect()
    c.greeting()
    c.send(b"\x00\x01\x02\xff\xfe garbage\r\n")
    line = c.readline()
    expect("BAD" in line, line)
    c.cmd("NOOP", ok=True)


def test_client_disconnects_mid_literal(srv):
    for i in range(5):
        c = srv.login()
        c.line("a1 APPEND INBOX {5000}")
        expect(c.readline().startswith("+"))
        c.send(b"x" * 1000)
        c.close()
    c = srv.login()
    u, _ = c.cmd("STATUS INBOX (MESSAGES)", ok=True)
    expect(u == ["* STATUS INBOX (MESSAGES 0)"], u)


@server_args(extra_conf="preauth_timeout = 5")
def test_preauth_autologout_says_bye(srv):
    c = srv.connect()
    c.greeting()
    line = c.readline(timeout=15)
    expect(line == "* BYE Autologout; idle for too long.", line)
    expect(c.is_closed())
    # an active client is not logged out
    c2 = srv.connect()
    c2.greeting()
    import time
    for i in range(4):
        time.sleep(2)
        c2.cmd("NOOP", ok=True)
