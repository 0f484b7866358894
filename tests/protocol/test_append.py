"""APPEND (RFC 9051 6.3.12) with UIDPLUS APPENDUID (RFC 4315), LITERAL+
(RFC 7888), APPENDLIMIT (RFC 7889): flags, dates, literals of every kind
and size, and the error paths."""
import re
import socket
import time
from roosttest import expect, server_args, MSG


def append_nonsync(c, tag, args, data):
    c.line(f"{tag} APPEND {args} {{{len(data)}+}}")
    c.send(data + b"\r\n")


def test_appenduid_and_flags(srv):
    c = srv.login()
    data = MSG.encode()
    append_nonsync(c, "a1", "INBOX (\\Seen $Forwarded \\Flagged)", data)
    line = c.readline()
    m = re.fullmatch(r"a1 OK \[APPENDUID (\d+) 1\] Append completed\.", line)
    expect(m, line)
    validity = m.group(1)
    append_nonsync(c, "a2", "inbox", data)
    expect(c.readline() == f"a2 OK [APPENDUID {validity} 2] Append completed.")
    append_nonsync(c, "a3", "INBOX ()", data)
    expect(c.readline() == f"a3 OK [APPENDUID {validity} 3] Append completed.")
    c.cmd("SELECT INBOX", ok=True)
    u, _ = c.cmd("FETCH 1:3 (FLAGS RFC822.SIZE)", ok=True)
    expect(len(u) == 3, u)
    m = re.fullmatch(r"\* 1 FETCH \(FLAGS \(([^)]*)\) RFC822\.SIZE (\d+)\)", u[0])
    expect(m and set(m.group(1).split()) ==
           {"\\Seen", "\\Flagged", "$Forwarded", "\\Recent"} and
           int(m.group(2)) == len(data), u)
    expect(u[1] == f"* 2 FETCH (FLAGS (\\Recent) RFC822.SIZE {len(data)})", u)
    expect(u[2] == f"* 3 FETCH (FLAGS (\\Recent) RFC822.SIZE {len(data)})", u)


def test_internaldate(srv):
    c = srv.login()
    data = MSG.encode()
    append_nonsync(c, "a1", 'INBOX " 5-Nov-2023 10:20:30 +0200"', data)
    expect(c.readline().startswith("a1 OK [APPENDUID"))
    append_nonsync(c, "a2", 'INBOX (\\Draft) "17-Jul-1996 02:44:25 -0700"', data)
    expect(c.readline().startswith("a2 OK [APPENDUID"))
    append_nonsync(c, "a3", 'INBOX "29-Feb-2024 23:59:59 +0000"', data)
    expect(c.readline().startswith("a3 OK [APPENDUID"))
    c.cmd("EXAMINE INBOX", ok=True)
    u, _ = c.cmd("FETCH 1:3 INTERNALDATE", ok=True)
    expect(u == ['* 1 FETCH (INTERNALDATE " 5-Nov-2023 10:20:30 +0200")',
                 '* 2 FETCH (INTERNALDATE "17-Jul-1996 02:44:25 -0700")',
                 '* 3 FETCH (INTERNALDATE "29-Feb-2024 23:59:59 +0000")'], u)


def test_invalid_dates_and_flags(srv):
    c = srv.login()
    data = MSG.encode()
    bad = ['"32-Jan-2023 10:00:00 +0000"', '"29-Feb-2023 10:00:00 +0000"',
           '"5-Foo-2023 10:00:00 +0000"', '"05-Nov-2023 24:00:00 +0000"',
           '"05-Nov-2023 10:00:00"', '"05-Nov-23 10:00:00 +0000"',
           '"05-Nov-2023 10:00:00 +000"', '"05-Nov-2023 10:60:00 +0000"',
           '"05-Nov-2023  10:00:00 +0000"', '""',
           '(\\Recent)', '(\\Foo)', '(a{b)', '((\\Seen))']
    for i, arg in enumerate(bad):
        append_nonsync(c, f"b{i}", f"INBOX {arg}", data)
        line = c.readline()
        expect(line.startswith(f"b{i} BAD "), f"{arg}: {line}")
        c.cmd("NOOP", ok=True)  # not too many BADs in a row
    u, _ = c.cmd("STATUS INBOX (MESSAGES)", ok=True)
    expect(u == ["* STATUS INBOX (MESSAGES 0)"], u)
    # no literal, or something else where the literal belongs
    for i, args in enumerate(["INBOX", "INBOX (\\Seen)", "INBOX hello",
                              "", "INBOX {0+}\r\n extra"]):
        _, t = c.cmd(f"APPEND {args}", ok=False)
        expect(" BAD " in t or " NO " in t, f"{args}: {t}")
        c.cmd("NOOP", ok=True)


def test_trycreate(srv):
    c = srv.login()
    append_nonsync(c, "a1", "nosuch", MSG.encode())
    line = c.readline()
    expect(line.startswith("a1 NO [TRYCREATE] "), line)
    append_nonsync(c, "a2", '"a//b"', MSG.encode())
    line = c.readline()
    expect(line.startswith("a2 NO [CANNOT] "), line)
    c.cmd("CREATE nosuch", ok=True)
    append_nonsync(c, "a3", "nosuch", MSG.encode())
    expect(c.readline().startswith("a3 OK [APPENDUID "))
    # modified UTF-7 names
    c.cmd('CREATE "&ZeVnLIqe-"', ok=True)
    append_nonsync(c, "a4", '"&ZeVnLIqe-"', MSG.encode())
    expect(c.readline().startswith("a4 OK [APPENDUID "))
    u, _ = c.cmd('STATUS "&ZeVnLIqe-" (MESSAGES)', ok=True)
    expect(u == ["* STATUS &ZeVnLIqe- (MESSAGES 1)"], u)


def test_synchronising_literal(srv):
    c = srv.login()
    data = MSG.encode()
    c.line(f"a1 APPEND INBOX (\\Seen) {{{len(data)}}}")
    line = c.readline()
    expect(line.startswith("+ "), line)
    c.send(data + b"\r\n")
    expect(c.readline().startswith("a1 OK [APPENDUID "))
    # a flag list and date-time given on one line, the literal synchronising
    c.line(f'a2 APPEND INBOX () "01-Jan-2020 00:00:00 +0000" {{{len(data)}}}')
    expect(c.readline().startswith("+ "))
    c.send(data + b"\r\n")
    expect(c.readline().startswith("a2 OK [APPENDUID "))


def test_literal_split_in_small_sends(srv):
    c = srv.login()
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    body = "".join(f"line {i} of a message sent in pieces\r\n" for i in range(60))
    data = ("Subject: pieces\r\n\r\n" + body).encode()
    wire = f"a1 APPEND INBOX {{{len(data)}+}}\r\n".encode() + data + b"\r\n"
    for i in range(0, len(wire), 7):
        c.send(wire[i:i + 7])
        if i % 140 == 0:
            time.sleep(0.002)
    expect(c.readline().startswith("a1 OK [APPENDUID "))
    u, _ = c.cmd("STATUS INBOX (MESSAGES SIZE)", ok=True)
    expect(u == [f"* STATUS INBOX (MESSAGES 1 SIZE {len(data)})"], u)
    c.cmd("SELECT INBOX", ok=True)
    c.line("f1 FETCH 1 BODY.PEEK[]")
    line = c.readline()
    expect(line == f"* 1 FETCH (BODY[] {{{len(data)}}}", line)
    got = c.read_exact(len(data))
    expect(got == data, "message changed")
    expect(c.readline() == ")")
    expect(c.readline().startswith("f1 OK"))


def test_large_message_streamed(srv):
    c = srv.login()
    line = b"x" * 998 + b"\r\n"
    header = b"Subject: big\r\n\r\n"
    count = (10 * 1024 * 1024 - len(header)) // len(line)
    size = len(header) + count * len(line)
    c.line(f"a1 APPEND INBOX {{{size}}}")
    expect(c.readline().startswith("+ "))
    c.send(header)
    chunk = line * 256
    sent = 0
    while sent < count:
        n = min(256, count - sent)
        c.send(chunk if n == 256 else line * n)
        sent += n
    c.send(b"\r\n")
    reply = c.readline(timeout=60)
    expect(reply.startswith("a1 OK [APPENDUID "), reply)
    u, _ = c.cmd("STATUS INBOX (MESSAGES SIZE)", ok=True)
    expect(u == [f"* STATUS INBOX (MESSAGES 1 SIZE {size})"], u)
    # the server's memory did not hold the message: it went through the
    # parser's temporary file and the store in chunks (checked by size only)


@server_args(extra_conf="max_append_size = 100K")
def test_toobig_without_sending_data(srv):
    c = srv.login()
    u, _ = c.cmd("CAPABILITY", ok=True)
    expect(any("APPENDLIMIT=102400" in x for x in u), u)
    c.line("a1 APPEND INBOX {200000}")
    line = c.readline()
    expect(line.startswith("a1 NO [TOOBIG]"), line)
    # the session goes on; exactly at the limit is fine
    head = b"Subject: x\r\n\r\n"
    data = head + b"y" * (102400 - len(head) - 2) + b"\r\n"
    expect(len(data) == 102400)
    c.line(f"a2 APPEND INBOX {{{len(data)}}}")
    expect(c.readline().startswith("+ "))
    c.send(data + b"\r\n")
    expect(c.readline().startswith("a2 OK [APPENDUID "))
    u, _ = c.cmd("STATUS INBOX (APPENDLIMIT MESSAGES)", ok=True)
    expect(u == ["* STATUS INBOX (APPENDLIMIT 102400 MESSAGES 1)"], u)
    # one byte more, sent non-synchronising: the data is already on its
    # way, so the server must close the connection (RFC 7888 section 4)
    c.line(f"a3 APPEND INBOX {{{len(data) + 1}+}}")
    line = c.readline()
    expect(line.startswith("* BYE [TOOBIG]"), line)
    expect(c.is_closed())


def test_empty_nul_and_literal8(srv):
    c = srv.login()
    c.line("a1 APPEND INBOX {0+}")
    c.line("")
    line = c.readline()
    expect(line.startswith("a1 NO "), line)
    append_nonsync(c, "a2", "INBOX", b"Subject: x\r\n\r\nnul\x00byte\r\n")
    line = c.readline()
    expect(line.startswith("a2 BAD "), line)
    # literal8 (BINARY, RFC 3516 4.4) may carry NUL: see test_binary.py
    data = MSG.encode()
    c.line(f"a3 APPEND INBOX ~{{{len(data)}+}}")
    c.send(data + b"\r\n")
    line = c.readline()
    expect(line.startswith("a3 OK "), line)
    u, _ = c.cmd("STATUS INBOX (MESSAGES)", ok=True)
    expect(u == ["* STATUS INBOX (MESSAGES 1)"], u)


def test_append_to_selected_sends_exists(srv):
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    append_nonsync(c, "a1", "INBOX", MSG.encode())
    c.conv(r"""
    S: * 1 EXISTS
    S: * 1 RECENT
    S~ a1 OK \[APPENDUID \d+ 1\] Append completed\.
    """)
    # another mailbox: nothing untagged
    append_nonsync(c, "a2", "Drafts (\\Draft)", MSG.encode())
    c.conv(r"""
    S~ a2 OK \[APPENDUID \d+ 1\] Append completed\.
    """)


def test_other_session_sees_append(srv):
    a = srv.login()
    b = srv.login()
    b.cmd("SELECT INBOX", ok=True)
    append_nonsync(a, "a1", "INBOX", MSG.encode())
    expect(a.readline().startswith("a1 OK"))
    u, _ = b.cmd("NOOP", ok=True)
    expect("* 1 EXISTS" in u, u)


def test_not_authenticated(srv):
    c = srv.connect()
    c.greeting()
    c.line("a1 APPEND INBOX {5}")
    line = c.readline()
    # either refused at once or after the (small, pre-login) literal
    if line.startswith("+ "):
        c.send(b"hello\r\n")
        line = c.readline()
    expect(line.startswith("a1 BAD") or line.startswith("a1 NO"), line)


def test_plain_literal_bare_lf_stored_as_crlf(srv):
    """A plain literal is text (RFC 9051 4.3.1: binary data must be
    encoded outside a literal8), so its bare LF line ends are stored as
    CRLF and RFC822.SIZE and BODY[] describe the RFC 5322 form; the same
    bytes sent as a literal8 (RFC 3516 4.4) are kept as sent, since a
    binary part's LF bytes are data.  (test_line_ends checks every FETCH
    item and arrival path.)"""
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    msg = (b"Content-Type: application/octet-stream\r\n"
           b"Content-Transfer-Encoding: binary\r\n\r\n"
           b"\x01\x02\n\x03\x04\r\n\n\xff\n")
    crlf = msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    for prefix, stored in ((b"{%d+}", crlf), (b"~{%d+}", msg)):
        tag = c.next_tag()
        c.send(tag.encode() + b" APPEND INBOX " + prefix % len(msg) + b"\r\n" +
               msg + b"\r\n")
        line = c.readline()
        while not line.startswith(tag + " "):
            line = c.readline()
        expect(line.startswith(tag + " OK"), line)
        tag = c.next_tag()
        c.line(f"{tag} FETCH * (RFC822.SIZE BODY.PEEK[])")
        head = c.readline()
        expect(head.endswith("RFC822.SIZE %d BODY[] {%d}" % (len(stored), len(stored))),
               head)
        expect(c.read_exact(len(stored)) == stored)
        expect(c.readline() == ")")
        expect(c.readline().startswith(tag + " OK"))
