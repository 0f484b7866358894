"""LMTP (RFC 2033) with PIPELINING, CHUNKING, SIZE, 8BITMIME, SMTPUTF8 and
ENHANCEDSTATUSCODES, and `roost deliver`.  Each conversation reads like
the RFC's examples; what was stored is checked over IMAP, byte for byte."""
import re
import socket
import time

from roosttest import server_args, expect, TestFailure

LHLO = r'''
C: LHLO client.example
S~ 250-\S+
S: 250-PIPELINING
S: 250-ENHANCEDSTATUSCODES
S: 250-8BITMIME
S: 250-SMTPUTF8
S: 250-CHUNKING
S~ 250 SIZE \d+
'''


def lmtp(srv, unix=False):
    c = srv.lmtp(unix=unix)
    line = c.readline()
    expect(re.fullmatch(r"220 \S+ Roost LMTP ready", line), line)
    c.conv(LHLO)
    return c


def fetch_all(srv, user="demo", password="demo", mailbox="INBOX"):
    """The bodies (bytes) of every message in mailbox."""
    i = srv.login(user, password)
    i.cmd(f'SELECT "{mailbox}"', ok=True)
    tag = i.next_tag()
    i.line(f"{tag} FETCH 1:* (BODY.PEEK[])")
    bodies = []
    while True:
        line = i.readline()
        if line.startswith(tag + " "):
            break
        m = re.search(r"\{(\d+)\}$", line)
        if m:
            bodies.append(i.read_exact(int(m.group(1))))
            i.readline()
    i.close()
    return bodies


def count(srv, mailbox="INBOX", user="demo", password="demo"):
    i = srv.login(user, password)
    untagged, _ = i.cmd(f'STATUS "{mailbox}" (MESSAGES)', ok=True)
    i.close()
    return int(re.search(r"MESSAGES (\d+)", untagged[0]).group(1))


def body_of(stored):
    """The message after the headers we prepend."""
    expect(stored.startswith(b"Return-Path: <"), stored[:200])
    rest = stored.split(b"\r\n", 1)[1]
    # one recipient: Delivered-To and "for <rcpt>"; a copy shared by
    # several recipients has neither (lmtp_single_copy)
    lines = 3
    if rest.startswith(b"Delivered-To: "):
        rest = rest.split(b"\r\n", 1)[1]
    else:
        lines = 2
    if rest.startswith(b"Received: "):
        # Received: is folded over three lines (two without "for")
        for _ in range(lines):
            rest = rest.split(b"\r\n", 1)[1]
    return rest


@server_args(lmtp=True)
def test_greeting_lhlo_and_session_commands(srv):
    c = lmtp(srv)
    c.conv('''
C: NOOP
S: 250 2.0.0 OK
C: RSET
S: 250 2.0.0 OK
C: VRFY demo
S~ 252 2\\.5\\.2 .*
C: VRFY
S~ 501 5\\.5\\.4 .*
C: EXPN list
S~ 502 5\\.5\\.1 .*
C: HELP
S~ 214 2\\.0\\.0 .*LHLO.*
C: HELO client.example
S~ 500 5\\.5\\.1 .*LHLO.*
C: EHLO client.example
S~ 500 5\\.5\\.1 .*LHLO.*
C: FOO bar
S: 500 5.5.2 Unknown command
C: noop
S: 250 2.0.0 OK
C: QUIT
S: 221 2.0.0 Bye
''')
    expect(c.is_closed(), "QUIT closes")


@server_args(lmtp=True)
def test_lhlo_needed_and_order_errors(srv):
    c = srv.lmtp()
    c.readline()
    c.conv('''
C: MAIL FROM:<a@example.org>
S~ 503 5\\.5\\.1 .*
C: LHLO
S~ 501 5\\.5\\.4 .*
''')
    c.conv(LHLO)
    c.conv('''
C: RCPT TO:<demo@localhost>
S~ 503 5\\.5\\.1 .*MAIL.*
C: DATA
S~ 503 5\\.5\\.1 .*MAIL.*
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 OK
C: MAIL FROM:<a@example.org>
S~ 503 5\\.5\\.1 .*
C: DATA
S~ 503 5\\.5\\.1 No valid recipients
C: RCPT TO:<nobody@localhost>
S: 550 5.1.1 <nobody@localhost> User doesn't exist
C: DATA
S~ 503 5\\.5\\.1 No valid recipients
C: RSET
S: 250 2.0.0 OK
C: RCPT TO:<demo@localhost>
S~ 503 5\\.5\\.1 .*
''')
    expect(count(srv) == 0)


@server_args(lmtp=True)
def test_deliver_headers_and_body_byte_exact(srv):
    c = lmtp(srv)
    body = (b"From: a@example.org\r\nTo: demo@localhost\r\nSubject: hello\r\n\r\n"
            b"line one\r\n\tindented \xc3\xa9\r\n\r\nlast\r\n")
    c.conv('''
C: MAIL FROM:<a@example.org> BODY=8BITMIME
S: 250 2.1.0 OK
C: RCPT TO:<demo@localhost>
S: 250 2.1.5 <demo@localhost> OK
C: DATA
S: 354 Start mail input; end with <CRLF>.<CRLF>
''')
    c.send(body + b".\r\n")
    line = c.readline()
    expect(re.fullmatch(r"250 2\.0\.0 <demo@localhost> \S+ Saved", line), line)
    c.line("QUIT")
    c.readline()
    [stored] = fetch_all(srv)
    head = stored.split(b"\r\n")
    expect(head[0] == b"Return-Path: <a@example.org>", head[0])
    expect(head[1] == b"Delivered-To: demo@localhost", head[1])
    expect(head[2].startswith(b"Received: from client.example ([127.0.0.1])"), head[2])
    expect(head[4].startswith(b"\tfor <demo@localhost>; "), head[4])
    expect(body_of(stored) == body, stored)


@server_args(lmtp=True)
def test_pipelined_multi_recipient_mixed_results(srv):
    c = lmtp(srv)
    # everything in one write (RFC 2920); the replies come in order
    c.send(b"MAIL FROM:<sender@example.org>\r\n"
           b"RCPT TO:<demo@localhost>\r\n"
           b"RCPT TO:<nobody@localhost>\r\n"
           b"RCPT TO:<alice@example.com>\r\n"
           b"RCPT TO:<Nobody>\r\n"
           b"DATA\r\n")
    c.conv('''
S: 250 2.1.0 OK
S: 250 2.1.5 <demo@localhost> OK
S: 550 5.1.1 <nobody@localhost> User doesn't exist
S: 250 2.1.5 <alice@example.com> OK
S: 550 5.1.1 <Nobody> User doesn't exist
S: 354 Start mail input; end with <CRLF>.<CRLF>
''')
    c.send(b"Subject: both\r\n\r\nhi\r\n.\r\n"
           b"MAIL FROM:<>\r\nRCPT TO:<alice>\r\nDATA\r\nSubject: 2\r\n\r\nx\r\n.\r\nQUIT\r\n")
    c.conv('''
S~ 250 2\\.0\\.0 <demo@localhost> \\S+ Saved
S~ 250 2\\.0\\.0 <alice@example.com> \\S+ Saved
S: 250 2.1.0 OK
S: 250 2.1.5 <alice> OK
S: 354 Start mail input; end with <CRLF>.<CRLF>
S~ 250 2\\.0\\.0 <alice> \\S+ Saved
S: 221 2.0.0 Bye
''')
    expect(count(srv) == 1)
    a = fetch_all(srv, "alice", "alicepw")
    expect(len(a) == 2)
    expect(body_of(a[0]) == b"Subject: both\r\n\r\nhi\r\n", a[0])
    expect(a[1].startswith(b"Return-Path: <>\r\n"), a[1])


@server_args(lmtp=True)
def test_dot_stuffing_edge_cases(srv):
    c = lmtp(srv)
    cases = [
        # (on the wire, stored)
        (b"Subject: a\r\n\r\n..\r\n...x\r\n.y\r\nend\r\n.\r\n",
         b"Subject: a\r\n\r\n.\r\n..x\r\ny\r\nend\r\n"),
        # empty message
        (b".\r\n", b""),
        # a dot inside a line and a lone CR are text
        (b"a.b\r\nc\rd\r\n. \r\n.\r\n", b"a.b\r\nc\rd\r\n \r\n"),
        # a line that is only a dot ends the data; what follows is the
        # next command
        (b"x\r\n.\r\n", b"x\r\n"),
    ]
    for wire, stored in cases:
        c.conv('''
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 OK
C: RCPT TO:<demo>
S: 250 2.1.5 <demo> OK
C: DATA
S: 354 Start mail input; end with <CRLF>.<CRLF>
''')
        # byte by byte as well as whole
        if wire == cases[0][0]:
            for b in wire:
                c.send(bytes([b]))
        else:
            c.send(wire)
        line = c.readline()
        expect(line.startswith("250 2.0.0 <demo>"), line)
    c.line("NOOP")
    expect(c.readline() == "250 2.0.0 OK")
    got = fetch_all(srv)
    expect([body_of(g) for g in got] == [s for _, s in cases],
           [body_of(g) for g in got])


@server_args(lmtp=True)
def test_bdat_chunks(srv):
    c = lmtp(srv)
    c.conv('''
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 OK
C: RCPT TO:<demo>
S: 250 2.1.5 <demo> OK
C: RCPT TO:<alice>
S: 250 2.1.5 <alice> OK
''')
    chunks = [b"Subject: chunks\r\n", b"\r\nline with\r\n.a dot", b"", b" and no final CRLF"]
    for ch in chunks[:-1]:
        c.send(b"BDAT %d\r\n" % len(ch) + ch)
    c.send(b"BDAT %d LAST\r\n" % len(chunks[-1]) + chunks[-1])
    total = 0
    for ch in chunks[:-1]:
        total += len(ch)
        expect(c.readline() == f"250 2.0.0 {total} octets received")
    expect(re.fullmatch(r"250 2\.0\.0 <demo> \S+ Saved", c.readline()))
    expect(re.fullmatch(r"250 2\.0\.0 <alice> \S+ Saved", c.readline()))
    # BDAT 0 LAST, and DATA after BDAT
    c.conv('''
C: MAIL FROM:<>
S: 250 2.1.0 OK
C: RCPT TO:<demo>
S: 250 2.1.5 <demo> OK
C: BDAT 3
''')
    c.send(b"abc")
    c.conv('''
S: 250 2.0.0 3 octets received
C: DATA
S~ 503 5\\.5\\.1 .*BDAT.*
C: BDAT 0 LAST
S~ 250 2\\.0\\.0 <demo> \\S+ Saved
''')
    # BDAT with no transaction: the chunk is read and refused
    c.send(b"BDAT 12\r\nRCPT TO:<x\r\nNOOP\r\n")
    c.conv('''
S~ 503 5\\.5\\.1 .*MAIL.*
S: 250 2.0.0 OK
C: BDAT 1x
S~ 501 5\\.5\\.4 .*
C: BDAT 1 LASTX
S~ 501 5\\.5\\.4 .*
''')
    got = fetch_all(srv)
    expect(body_of(got[0]) == b"".join(chunks), got[0])
    expect(body_of(got[1]) == b"abc", got[1])
    expect(len(fetch_all(srv, "alice", "alicepw")) == 1)


@server_args(lmtp=True, extra_conf="lmtp_max_message_size = 2K")
def test_oversized(srv):
    c = srv.lmtp()
    c.readline()
    c.line("LHLO x")
    lines = [c.readline() for _ in range(7)]
    expect(lines[-1] == "250 SIZE 2048", lines)
    big = (b"x" * 70 + b"\r\n") * 40
    c.conv('''
C: MAIL FROM:<a@example.org> SIZE=2049
S: 552 5.3.4 Message too big for system
C: MAIL FROM:<a@example.org> SIZE=2048
S: 250 2.1.0 OK
C: RCPT TO:<demo>
S: 250 2.1.5 <demo> OK
C: RCPT TO:<alice>
S: 250 2.1.5 <alice> OK
C: DATA
S: 354 Start mail input; end with <CRLF>.<CRLF>
''')
    c.send(big + b".\r\n")
    c.conv('''
S: 552 5.3.4 <demo> Message too big for system
S: 552 5.3.4 <alice> Message too big for system
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 OK
C: RCPT TO:<demo>
S: 250 2.1.5 <demo> OK
''')
    c.send(b"BDAT %d\r\n" % len(big) + big)
    c.conv('''
S: 552 5.3.4 Message too big for system
C: BDAT 1 LAST
''')
    c.send(b"x")
    c.conv('''
S~ 503 5\\.5\\.1 .*MAIL.*
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 OK
C: RCPT TO:<demo>
S: 250 2.1.5 <demo> OK
C: DATA
S: 354 Start mail input; end with <CRLF>.<CRLF>
''')
    # exactly at the limit is fine
    msg = b"y" * (2048 - 2) + b"\r\n"
    c.send(msg + b".\r\n")
    expect(c.readline().startswith("250 2.0.0 <demo>"))
    got = fetch_all(srv)
    expect(len(got) == 1 and body_of(got[0]) == msg)
    expect(count(srv, user="alice", password="alicepw") == 0)


@server_args(lmtp=True, extra_conf="lmtp_max_recipients = 2")
def test_too_many_recipients(srv):
    c = lmtp(srv)
    c.conv('''
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 OK
C: RCPT TO:<demo>
S: 250 2.1.5 <demo> OK
C: RCPT TO:<alice>
S: 250 2.1.5 <alice> OK
C: RCPT TO:<demo+x>
S: 452 4.5.3 Too many recipients
''')


@server_args(lmtp=True)
def test_malformed_commands_continue(srv):
    c = lmtp(srv)
    c.conv('''
C: MAIL FROM:demo@localhost
S~ 501 5\\.5\\.4 .*
C: MAIL FROM <a@b>
S~ 501 5\\.5\\.4 .*
C: MAIL FROM:<a@b> FOO=1
S: 555 5.5.4 Unsupported MAIL FROM parameter
C: MAIL FROM:<a@b> SIZE=abc
S~ 501 5\\.5\\.4 .*
C: MAIL FROM:<a@b> BODY=BINARYMIME
S~ 501 5\\.5\\.4 .*
C: MAIL FROM:<a@b> SMTPUTF8=yes
S~ 501 5\\.5\\.4 .*
C: MAIL FROM:<a b@c>
S~ 501 5\\.1\\.3 .*
C: MAIL FROM:<a@b
S~ 501 5\\.1\\.3 .*
C: MAIL FROM: <@relay.example:a@b> SIZE=10 BODY=7BIT
S: 250 2.1.0 OK
C: RCPT TO:<>
S~ 501 5\\.1\\.3 .*
C: RCPT TO:<demo> NOTIFY=NEVER
S: 555 5.5.4 Unsupported RCPT TO parameter
C: RCPT TO:<"demo">
S: 250 2.1.5 <"demo"> OK
C: DATA now
S~ 501 5\\.5\\.4 .*
''')
    c.line("X" * 5000)
    c.conv('''
S: 500 5.5.2 Line too long
C: RSET
S: 250 2.0.0 OK
''')
    c.send(b"NO\x00OP\r\n")
    c.conv('''
S: 500 5.5.2 NUL byte in command
C: NOOP
S: 250 2.0.0 OK
''')


@server_args(lmtp=True, extra_conf="max_bad_commands = 3")
def test_too_many_errors_close(srv):
    c = lmtp(srv)
    c.conv('''
C: BAD1
S: 500 5.5.2 Unknown command
C: BAD2
S: 500 5.5.2 Unknown command
C: BAD3
S: 500 5.5.2 Unknown command
S~ 421 4\\.7\\.0 .*
''')
    expect(c.is_closed())


@server_args(lmtp=True)
def test_smtputf8(srv):
    c = lmtp(srv)
    c.conv('''
C: MAIL FROM:<jos\u00e9@example.org>
S: 553 5.6.7 Non-ASCII address needs SMTPUTF8
C: MAIL FROM:<jos\u00e9@example.org> SMTPUTF8
S: 250 2.1.0 OK
C: RCPT TO:<demo@b\u00fccher.example>
S: 250 2.1.5 <demo@b\u00fccher.example> OK
C: DATA
S: 354 Start mail input; end with <CRLF>.<CRLF>
''')
    c.send("Subject: \u00e9t\u00e9\r\n\r\nhi\r\n.\r\n".encode())
    expect(c.readline().startswith("250 2.0.0"))
    [stored] = fetch_all(srv)
    expect("Return-Path: <jos\u00e9@example.org>".encode() in stored, stored)
    expect(b"with UTF8LMTP" in stored, stored)


@server_args(lmtp=True, extra_conf="lmtp_detail_folder = yes\nrecipient_delimiter = +-")
def test_detail_delivery(srv):
    c = lmtp(srv)
    for rcpt in ("demo+Archive@localhost", "demo-Archive", "demo+NoSuchFolder@x",
                 "demo@localhost"):
        c.conv(f'''
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 OK
C: RCPT TO:<{rcpt}>
S: 250 2.1.5 <{rcpt}> OK
C: DATA
S: 354 Start mail input; end with <CRLF>.<CRLF>
C: Subject: {rcpt}
C:
C: .
S~ 250 2\\.0\\.0 <{re.escape(rcpt)}> \\S+ Saved
''')
    expect(count(srv, "Archive") == 2)
    expect(count(srv, "INBOX") == 2)
    archived = fetch_all(srv, mailbox="Archive")
    expect(b"Delivered-To: demo+Archive@localhost\r\n" in archived[0], archived[0])


@server_args(lmtp=True)
def test_detail_folder_off_by_default(srv):
    c = lmtp(srv)
    c.conv('''
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 OK
C: RCPT TO:<demo+Archive@localhost>
S: 250 2.1.5 <demo+Archive@localhost> OK
C: DATA
S: 354 Start mail input; end with <CRLF>.<CRLF>
C: x
C: .
S~ 250 2\\.0\\.0 .* Saved
''')
    expect(count(srv, "INBOX") == 1)
    expect(count(srv, "Archive") == 0)


@server_args(lmtp=True, extra_conf="lmtp_local_domains = example.com, localhost")
def test_local_domains(srv):
    c = lmtp(srv)
    c.conv('''
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 OK
C: RCPT TO:<demo@EXAMPLE.com>
S: 250 2.1.5 <demo@EXAMPLE.com> OK
C: RCPT TO:<demo@localhost>
S: 250 2.1.5 <demo@localhost> OK
C: RCPT TO:<demo@elsewhere.example>
S: 550 5.1.2 <demo@elsewhere.example> Domain not handled here
''')


@server_args(lmtp=True)
def test_disconnect_mid_data_stores_nothing(srv):
    c = lmtp(srv)
    c.conv('''
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 OK
C: RCPT TO:<demo>
S: 250 2.1.5 <demo> OK
C: DATA
S: 354 Start mail input; end with <CRLF>.<CRLF>
''')
    c.send(b"Subject: cut\r\n\r\n" + b"z" * 100000 + b"\r\n")
    c.close()
    c = lmtp(srv)
    c.conv('''
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 OK
C: RCPT TO:<demo>
S: 250 2.1.5 <demo> OK
C: BDAT 1000 LAST
''')
    c.send(b"partial")
    c.close()
    time.sleep(0.3)
    # the server lives on, nothing was stored, and the next one arrives
    c = lmtp(srv)
    c.conv('''
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 OK
C: RCPT TO:<demo>
S: 250 2.1.5 <demo> OK
C: DATA
S: 354 Start mail input; end with <CRLF>.<CRLF>
C: Subject: whole
C:
C: .
S~ 250 2\\.0\\.0 .* Saved
''')
    got = fetch_all(srv)
    expect(len(got) == 1 and body_of(got[0]) == b"Subject: whole\r\n\r\n", got)
    expect("nothing stored" in srv.log_text())


@server_args(lmtp=True)
def test_unix_socket(srv):
    c = lmtp(srv, unix=True)
    c.conv('''
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 OK
C: RCPT TO:<demo@localhost>
S: 250 2.1.5 <demo@localhost> OK
C: DATA
S: 354 Start mail input; end with <CRLF>.<CRLF>
C: Subject: unix
C:
C: .
S~ 250 2\\.0\\.0 .* Saved
''')
    [stored] = fetch_all(srv)
    expect(b"(local)" in stored.split(b"\r\n")[2], stored)


@server_args(lmtp=True, extra_conf="lmtp_trusted_networks = 192.0.2.0/24 2001:db8::/32")
def test_untrusted_network_refused(srv):
    c = srv.lmtp()
    line = c.readline()
    expect(line.startswith("554 5.7.1 "), line)
    expect(c.is_closed())
    # the UNIX socket is always trusted
    c = lmtp(srv, unix=True)
    c.conv('''
C: QUIT
S: 221 2.0.0 Bye
''')


@server_args(lmtp=True, extra_conf="lmtp_socket_mode = 0600")
def test_socket_mode(srv):
    import os
    import stat
    expect(stat.S_IMODE(os.stat(srv.lmtp_socket).st_mode) == 0o600)
    c = lmtp(srv, unix=True)
    c.conv('''
C: QUIT
S: 221 2.0.0 Bye
''')


def test_config_rejects_bad_lmtp_keys():
    import os
    import subprocess
    import tempfile
    import roosttest
    with tempfile.TemporaryDirectory() as d:
        for bad in ("lmtp_socket_mode = 999", "lmtp_socket_mode = 0",
                    "listen = smtp 127.0.0.1:25", "lmtp_max_recipients = 0"):
            conf = os.path.join(d, "roost.conf")
            with open(conf, "w") as f:
                f.write(f"data_dir = {d}\n{bad}\n")
            p = subprocess.run([os.path.join(roosttest.BUILD, "roost"), "serve",
                                "-c", conf], capture_output=True, text=True,
                               timeout=20)
            expect(p.returncode == 78, (bad, p.returncode, p.stderr))


@server_args(lmtp=True)
def test_roost_deliver(srv):
    msg = "From sender@example.org Thu Nov 26 09:00:00 2026\nSubject: piped\n\nline 1\nline 2\r\n"
    p = srv.roost("deliver", "-c", srv.conf, "-u", "demo", "-f", "s@example.org",
                  input=msg)
    expect(p.returncode == 0, p.stderr)
    p = srv.roost("deliver", "-c", srv.conf, "-u", "demo@localhost", "-m", "Archive",
                  input="Subject: archived\n\nx\n")
    expect(p.returncode == 0, p.stderr)
    p = srv.roost("deliver", "-c", srv.conf, "-u", "nobody", input="x\n", check=False)
    expect(p.returncode == 67, (p.returncode, p.stderr))
    p = srv.roost("deliver", "-c", srv.conf, input="x\n", check=False)
    expect(p.returncode == 64, (p.returncode, p.stderr))
    p = srv.roost("deliver", "-c", srv.conf, "-u", "demo", "-m", "NoSuchFolder",
                  input="Subject: fallback\n\n", check=False)
    expect(p.returncode == 0, p.stderr)
    inbox = fetch_all(srv)
    expect(inbox[0] == b"Return-Path: <s@example.org>\r\nDelivered-To: demo\r\n"
           b"Subject: piped\r\n\r\nline 1\r\nline 2\r\n", inbox[0])
    expect(b"Subject: fallback" in inbox[1])
    archived = fetch_all(srv, mailbox="Archive")
    expect(body_of(archived[0]) == b"Subject: archived\r\n\r\nx\r\n", archived[0])


@server_args(lmtp=True, extra_conf="lmtp_max_message_size = 1K")
def test_roost_deliver_too_big(srv):
    p = srv.roost("deliver", "-c", srv.conf, "-u", "demo", input="x" * 2000,
                  check=False)
    expect(p.returncode == 65, (p.returncode, p.stderr))
    expect(count(srv) == 0)


@server_args(lmtp=True, users={f"u{i}": "pw" for i in range(20)})
def test_many_users_one_session(srv):
    # more users than the worker keeps stores open for (16): evictions
    c = lmtp(srv)
    wire = b""
    for rnd in range(2):
        for i in range(20):
            wire += (b"MAIL FROM:<a@example.org>\r\nRCPT TO:<u%d@localhost>\r\n"
                     b"RCPT TO:<u%d>\r\nDATA\r\nSubject: %d\r\n\r\nx\r\n.\r\n"
                     % (i, (i + 7) % 20, rnd))
    c.send(wire)
    for rnd in range(2):
        for i in range(20):
            lines = [c.readline() for _ in range(6)]
            expect(lines[3].startswith("354 ") and lines[4].startswith("250 2.0.0")
                   and lines[5].startswith("250 2.0.0"), lines)
    for u in ("u0", "u13", "u19"):
        expect(count(srv, user=u, password="pw") == 4)


@server_args(lmtp=True)
def test_store_failure_is_per_recipient_4xx(srv):
    import os
    # alice's store cannot be created (a file where its directory goes):
    # alice gets 451 4.3.0, demo is delivered, nothing half-written
    os.makedirs(os.path.join(srv.data_dir, "users", "_"), exist_ok=True)
    with open(os.path.join(srv.data_dir, "users", "_", "alice"), "w") as f:
        f.write("not a directory\n")
    c = lmtp(srv)
    c.conv('''
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 OK
C: RCPT TO:<alice@localhost>
S: 250 2.1.5 <alice@localhost> OK
C: RCPT TO:<demo@localhost>
S: 250 2.1.5 <demo@localhost> OK
C: DATA
S: 354 Start mail input; end with <CRLF>.<CRLF>
C: Subject: half
C:
C: .
S: 451 4.3.0 <alice@localhost> Temporary failure, try again later
S~ 250 2\\.0\\.0 <demo@localhost> \\S+ Saved
C: QUIT
S: 221 2.0.0 Bye
''')
    expect(count(srv) == 1)
    p = srv.roost("deliver", "-c", srv.conf, "-u", "alice", input="x\n", check=False)
    expect(p.returncode == 75, (p.returncode, p.stderr))


@server_args(lmtp=True, extra_conf="lmtp_timeout = 5")
def test_timeout_mid_data(srv):
    c = lmtp(srv)
    c.conv('''
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 OK
C: RCPT TO:<demo>
S: 250 2.1.5 <demo> OK
C: DATA
S: 354 Start mail input; end with <CRLF>.<CRLF>
C: Subject: stalled
''')
    line = c.readline(timeout=12)
    expect(line == "421 4.4.2 Timeout, closing connection", line)
    expect(c.is_closed(timeout=12), "idle LMTP connection not closed")
    expect(count(srv) == 0)


@server_args(lmtp=True, users={"demo": "demo", "carol@example.com": "pw"})
def test_userdb_with_domains(srv):
    c = lmtp(srv)
    c.conv('''
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 OK
C: RCPT TO:<carol@example.com>
S: 250 2.1.5 <carol@example.com> OK
C: RCPT TO:<carol+news@example.com>
S: 250 2.1.5 <carol+news@example.com> OK
C: RCPT TO:<carol@example.net>
S: 550 5.1.1 <carol@example.net> User doesn't exist
C: RCPT TO:<carol>
S: 550 5.1.1 <carol> User doesn't exist
C: RCPT TO:<demo@example.com>
S: 250 2.1.5 <demo@example.com> OK
C: DATA
S: 354 Start mail input; end with <CRLF>.<CRLF>
C: Subject: domains
C:
C: .
S~ 250 2\\.0\\.0 <carol@example\\.com> \\S+ Saved
S~ 250 2\\.0\\.0 <carol\\+news@example\\.com> \\S+ Saved
S~ 250 2\\.0\\.0 <demo@example\\.com> \\S+ Saved
''')
    expect(count(srv, user="carol@example.com", password="pw") == 2)
    expect(count(srv) == 1)


def maildir_files(srv, user, folder=""):
    """(name, stat) of every message file of user's folder ("" = INBOX)."""
    import os
    cur = os.path.join(srv.data_dir, "users", "_", user, "Maildir", folder, "cur")
    return [(n, os.stat(os.path.join(cur, n))) for n in sorted(os.listdir(cur))]


SHARED = b"Subject: shared\r\nMessage-ID: <one@example.org>\r\n\r\nonce on disk\r\n"


@server_args(lmtp=True, extra_conf="lmtp_detail_folder = yes",
             users={"demo": "demo", "alice": "alicepw", "bob": "bobpw"})
def test_single_copy_for_several_recipients(srv):
    i = srv.login("bob", "bobpw")
    i.cmd('CREATE "lists"', ok=True)
    i.close()
    c = lmtp(srv)
    c.send(b"MAIL FROM:<sender@example.org>\r\nRCPT TO:<demo@localhost>\r\n"
           b"RCPT TO:<alice@example.com>\r\nRCPT TO:<bob+lists@localhost>\r\n"
           b"RCPT TO:<demo@localhost>\r\nDATA\r\n")
    for _ in range(6):
        expect(c.readline().startswith(("250 ", "354 ")))
    c.send(SHARED + b".\r\n")
    for rcpt in ("demo@localhost", "alice@example.com", "bob+lists@localhost",
                 "demo@localhost"):
        line = c.readline()
        expect(re.fullmatch(r"250 2\.0\.0 <%s> \S+ Saved" % re.escape(rcpt), line), line)
    # one inode, a name in each mailbox (demo twice: two messages)
    files = (maildir_files(srv, "demo") + maildir_files(srv, "alice")
             + maildir_files(srv, "bob", ".lists"))
    expect(len(files) == 4, files)
    expect(len({(st.st_dev, st.st_ino) for _, st in files}) == 1, files)
    expect(all(st.st_nlink == 4 for _, st in files), files)
    # the shared copy names no recipient
    stored = fetch_all(srv, "alice", "alicepw")
    expect(len(stored) == 1)
    expect(b"Delivered-To:" not in stored[0] and b"\tfor <" not in stored[0], stored[0])
    expect(re.match(rb"Return-Path: <sender@example\.org>\r\nReceived: from client\.example "
                    rb"\(\[127\.0\.0\.1\]\)\r\n\tby \S+ \(Roost\) with LMTP id \S+; "
                    rb"[^\r]+\r\n", stored[0]), stored[0][:300])
    expect(body_of(stored[0]) == SHARED, stored[0])
    expect(fetch_all(srv, "bob", "bobpw", "lists") == stored)
    expect(fetch_all(srv) == stored * 2)
    # the full-text index got the shared message's text at delivery
    import os
    import sqlite3
    for user in ("demo", "alice", "bob"):
        db = sqlite3.connect(os.path.join(srv.data_dir, "users", "_", user, "index.sqlite"))
        n = db.execute("SELECT count(*) FROM text_indexed").fetchone()[0]
        db.close()
        expect(n == (2 if user == "demo" else 1), (user, n))
    i = srv.login("alice", "alicepw")
    i.cmd("SELECT INBOX", ok=True)
    untagged, _ = i.cmd('SEARCH BODY "ONCE ON DISK"', ok=True)
    expect(untagged == ["* SEARCH 1"], untagged)
    i.close()
    # each index has the message model without another parse, and an
    # expunge in one mailbox leaves the others' copies alone
    i = srv.login("bob", "bobpw")
    i.cmd('SELECT "lists"', ok=True)
    untagged, _ = i.cmd("FETCH 1 (ENVELOPE RFC822.SIZE)", ok=True)
    expect('"shared"' in untagged[0] and "<one@example.org>" in untagged[0]
           and "RFC822.SIZE %d" % len(stored[0]) in untagged[0], untagged)
    i.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)", ok=True)
    i.cmd("EXPUNGE", ok=True)
    i.close()
    expect(maildir_files(srv, "bob", ".lists") == [])
    expect(all(st.st_nlink == 3 for _, st in maildir_files(srv, "alice")))
    expect(fetch_all(srv, "alice", "alicepw") == stored)


@server_args(lmtp=True, extra_conf="lmtp_single_copy = no",
             users={"demo": "demo", "alice": "alicepw"})
def test_single_copy_off_gives_each_recipient_its_headers(srv):
    c = lmtp(srv)
    c.send(b"MAIL FROM:<s@example.org>\r\nRCPT TO:<demo@localhost>\r\n"
           b"RCPT TO:<alice@localhost>\r\nDATA\r\n")
    for _ in range(4):
        expect(c.readline().startswith(("250 ", "354 ")))
    c.send(SHARED + b".\r\n")
    for _ in range(2):
        expect(c.readline().startswith("250 2.0.0 "))
    d, a = fetch_all(srv)[0], fetch_all(srv, "alice", "alicepw")[0]
    expect(b"Delivered-To: demo@localhost\r\n" in d and b"for <demo@localhost>" in d, d)
    expect(b"Delivered-To: alice@localhost\r\n" in a and b"for <alice@localhost>" in a, a)
    expect(body_of(d) == SHARED and body_of(a) == SHARED)
    (_, sd), = maildir_files(srv, "demo")
    (_, sa), = maildir_files(srv, "alice")
    expect(sd.st_ino != sa.st_ino and sd.st_nlink == 1)


@server_args(lmtp=True, users={"demo": "demo", "alice": "alicepw"})
def test_single_copy_one_recipient_keeps_delivered_to(srv):
    c = lmtp(srv)
    c.send(b"MAIL FROM:<s@example.org>\r\nRCPT TO:<nobody@localhost>\r\n"
           b"RCPT TO:<alice@localhost>\r\nDATA\r\n")
    expect(c.readline().startswith("250 2.1.0"))
    expect(c.readline().startswith("550 5.1.1"))
    expect(c.readline().startswith("250 2.1.5"))
    expect(c.readline().startswith("354 "))
    c.send(SHARED + b".\r\n")
    expect(c.readline().startswith("250 2.0.0 <alice@localhost>"))
    a = fetch_all(srv, "alice", "alicepw")[0]
    expect(b"Delivered-To: alice@localhost\r\n" in a and b"for <alice@localhost>" in a, a)


def deliver_one(c, subject):
    c.conv('''
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 OK
C: RCPT TO:<demo@localhost>
S: 250 2.1.5 <demo@localhost> OK
C: DATA
S: 354 Start mail input; end with <CRLF>.<CRLF>
''')
    c.send(b"Subject: " + subject + b"\r\n\r\nbody\r\n.\r\n")
    return c.readline()


@server_args(lmtp=True)
def test_delivery_after_rebuild_under_idle_session(srv):
    # The LMTP worker keeps the user's store open between deliveries and
    # shares it with the user's IMAP sessions of that worker.  An IMAP
    # session in IDLE lets go of the store's index and lock, so a rebuild
    # runs; the store is then defunct (its views and ids belong to the
    # old index).  The sessions log in again; the next delivery must
    # not keep failing on the defunct store until the LMTP connection
    # ends.
    c = lmtp(srv)
    line = deliver_one(c, b"one")
    expect(re.fullmatch(r"250 2\.0\.0 <demo@localhost> \S+ Saved", line), line)
    i = srv.login()
    i.cmd("SELECT INBOX", ok=True)
    i.line("I IDLE")
    expect(i.readline() == "+ idling", "no continuation")
    p = srv.roost("check", "-c", srv.conf, "--rebuild", "demo", check=False)
    expect(p.returncode == 0, p.stdout + p.stderr)
    for subject in (b"two", b"three"):
        line = deliver_one(c, subject)
        expect(re.fullmatch(r"250 2\.0\.0 <demo@localhost> \S+ Saved", line), line)
    c.line("QUIT")
    c.readline()
    i.close()
    expect(count(srv) == 3, "not every message was stored")
