"""Real LMTP clients against a live server: swaks (--protocol LMTP, over
TCP and the UNIX socket) and Python's smtplib.LMTP deliver; an IMAP session
in IDLE sees each message arrive; imaplib's FETCH shows the added headers
and the body byte for byte."""
import imaplib
import os
import re
import smtplib
import subprocess
import time

from roosttest import server_args, expect


def imap(srv):
    c = imaplib.IMAP4("127.0.0.1", srv.port)
    c.login("demo", "demo")
    return c


def fetch_bodies(srv, mailbox="INBOX"):
    c = imap(srv)
    c.select(mailbox)
    typ, data = c.fetch("1:*", "(BODY.PEEK[])")
    expect(typ == "OK", data)
    bodies = [d[1] for d in data if isinstance(d, tuple)]
    c.logout()
    return bodies


def split_trace(stored):
    """(trace header lines, the rest)"""
    lines = stored.split(b"\r\n")
    n = 0
    while lines[n].startswith((b"Return-Path:", b"Delivered-To:", b"Received:", b"\t")):
        n += 1
    return lines[:n], b"\r\n".join(lines[n:])


def swaks(*args):
    p = subprocess.run(["swaks", "--protocol", "LMTP", *args], capture_output=True,
                       text=True, timeout=60)
    return p


@server_args(lmtp=True)
def test_swaks_tcp_and_unix_socket(srv):
    path = os.path.join(srv.dir, "msg.eml")
    with open(path, "w") as f:
        f.write("Subject: from swaks\n\n.leading dot\nbody\n")
    p = swaks("--server", "127.0.0.1", "--port", str(srv.lmtp_port),
              "--to", "demo@localhost,nobody@localhost,alice@example.com",
              "--from", "sender@example.org", "--data", "@" + path)
    expect(p.returncode == 0, p.stdout + p.stderr)
    expect("550 5.1.1 <nobody@localhost>" in p.stdout, p.stdout)
    expect(re.search(r"250 2\.0\.0 <demo@localhost> \S+ Saved", p.stdout), p.stdout)
    expect(re.search(r"250 2\.0\.0 <alice@example.com> \S+ Saved", p.stdout), p.stdout)
    p = swaks("--socket", srv.lmtp_socket, "--to", "demo", "--from", "bounce@example.org",
              "--data", "@" + path)
    expect(p.returncode == 0, p.stdout + p.stderr)
    bodies = fetch_bodies(srv)
    expect(len(bodies) == 2, bodies)
    trace, rest = split_trace(bodies[0])
    expect(trace[0] == b"Return-Path: <sender@example.org>", trace)
    # two recipients share one copy: no Delivered-To, no "for" (RFC 5321 7.2)
    expect(trace[1].startswith(b"Received: from "), trace)
    expect(not any(b"Delivered-To" in t or b"for <" in t for t in trace), trace)
    expect(rest.startswith(b"Subject: from swaks\r\n\r\n.leading dot\r\nbody\r\n"), rest)
    trace, _ = split_trace(bodies[1])
    expect(trace[0] == b"Return-Path: <bounce@example.org>", trace)
    expect(trace[1] == b"Delivered-To: demo", trace)
    expect(b"(local)" in trace[2], trace)


@server_args(lmtp=True)
def test_smtplib_lmtp_byte_exact(srv):
    msg = (b"From: Sender <sender@example.org>\r\nTo: demo@localhost\r\n"
           b"Subject: exact\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\n"
           b"caf\xc3\xa9\r\n.\r\n..two dots\r\n \r\n\ttab\r\nlast line\r\n")
    s = smtplib.LMTP("127.0.0.1", srv.lmtp_port)
    code, caps = s.ehlo()
    expect(code == 250, caps)
    for cap in ("pipelining", "enhancedstatuscodes", "8bitmime", "chunking", "size"):
        expect(s.has_extn(cap), (cap, caps))
    refused = s.sendmail("sender@example.org", ["demo@localhost"], msg,
                         mail_options=["BODY=8BITMIME", "SIZE=%d" % len(msg)])
    expect(refused == {}, refused)
    try:
        s.sendmail("sender@example.org", ["nobody@localhost"], b"x\r\n")
        expect(False, "unknown user accepted")
    except smtplib.SMTPRecipientsRefused as e:
        code, text = e.recipients["nobody@localhost"]
        expect(code == 550 and text.startswith(b"5.1.1"), e.recipients)
    s.rset()
    s.quit()
    # over the UNIX socket: smtplib.LMTP takes a path as host
    s = smtplib.LMTP(srv.lmtp_socket)
    s.ehlo()
    expect(s.sendmail("", ["demo+tag@localhost"], b"Subject: unix\r\n\r\nx\r\n") == {})
    s.quit()
    [first, second] = fetch_bodies(srv)
    trace, rest = split_trace(first)
    expect(rest == msg, rest)
    expect(trace[0] == b"Return-Path: <sender@example.org>", trace)
    expect(trace[2].startswith(b"Received: from "), trace)
    expect(b"Delivered-To: demo+tag@localhost\r\n" in second, second)


def idle_wait_exists(c, tag, want, timeout=10):
    """Reads untagged responses while IDLE until `* want EXISTS`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = c.readline(timeout=deadline - time.time())
        if line == f"* {want} EXISTS":
            return
    raise AssertionError(f"no * {want} EXISTS during IDLE")


@server_args(lmtp=True)
def test_idle_sees_lmtp_and_roost_deliver(srv):
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    c.line("i1 IDLE")
    expect(c.readline().startswith("+ "))
    s = smtplib.LMTP("127.0.0.1", srv.lmtp_port)
    s.sendmail("a@example.org", ["demo@localhost"], b"Subject: one\r\n\r\n1\r\n")
    s.quit()
    idle_wait_exists(c, "i1", 1)
    p = srv.roost("deliver", "-c", srv.conf, "-u", "demo", "-f", "b@example.org",
                  input="Subject: two\n\n2\n")
    expect(p.returncode == 0, p.stderr)
    idle_wait_exists(c, "i1", 2)
    p = swaks("--server", "127.0.0.1", "--port", str(srv.lmtp_port), "--to", "demo",
              "--from", "c@example.org", "--body", "three")
    expect(p.returncode == 0, p.stdout)
    idle_wait_exists(c, "i1", 3)
    c.line("DONE")
    line = c.readline()
    while line.startswith("* "):
        line = c.readline()
    expect(line.startswith("i1 OK"), line)
    untagged, _ = c.cmd("FETCH 2 (BODY.PEEK[HEADER.FIELDS (RETURN-PATH DELIVERED-TO)])",
                        ok=True)
    expect("Return-Path: <b@example.org>" in untagged[0], untagged)
    expect("Delivered-To: demo" in untagged[0], untagged)
