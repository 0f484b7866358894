"""Python's imaplib (stdlib) drives a realistic session over TLS: login,
list, append, select, search, fetch, store, copy, move, expunge, logout."""
import imaplib
import ssl
import time
from roosttest import expect

MSG = (b"From: Alice <alice@example.com>\r\nTo: demo@example.com\r\n"
       b"Subject: Interop test\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n"
       b"Message-ID: <interop-1@example.com>\r\n\r\nHello from imaplib.\r\n")


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def test_imaplib_session_over_implicit_tls(srv):
    m = imaplib.IMAP4_SSL("127.0.0.1", srv.tls_port, ssl_context=ctx())
    typ, _ = m.login("demo", "demo")
    expect(typ == "OK")
    typ, boxes = m.list()
    expect(typ == "OK")
    names = b"\n".join(boxes)
    for name in (b"INBOX", b"Drafts", b"Sent", b"Trash", b"Junk", b"Archive"):
        expect(name in names, names)
    expect(b"\\Sent" in names and b"\\Trash" in names, names)
    typ, data = m.append("INBOX", "(\\Flagged)", imaplib.Time2Internaldate(time.time()), MSG)
    expect(typ == "OK" and b"APPENDUID" in data[0], data)
    typ, data = m.select("INBOX")
    expect(typ == "OK" and data[0] == b"1", data)
    typ, data = m.search(None, "FLAGGED")
    expect(data[0] == b"1", data)
    typ, data = m.fetch("1", "(FLAGS RFC822.SIZE BODY.PEEK[])")
    expect(typ == "OK")
    expect(data[0][1] == MSG, data)
    expect(b"RFC822.SIZE %d" % len(MSG) in data[0][0], data)
    typ, data = m.fetch("1", "(BODY[HEADER.FIELDS (SUBJECT)])")
    expect(data[0][1] == b"Subject: Interop test\r\n\r\n", data)
    typ, data = m.fetch("1", "(FLAGS)")
    expect(b"\\Seen" in data[0], data)   # implicit \Seen by BODY[...]
    typ, data = m.store("1", "+FLAGS", "(\\Answered)")
    expect(typ == "OK" and b"\\Answered" in data[0], data)
    typ, data = m.uid("COPY", "1", "Archive")
    expect(typ == "OK", data)
    typ, data = m.uid("MOVE", "1", "Trash")
    expect(typ == "OK", data)
    typ, data = m.select("Trash")
    expect(data[0] == b"1")
    m.store("1", "+FLAGS", "(\\Deleted)")
    typ, data = m.expunge()
    expect(data == [b"1"], data)
    typ, data = m.status("Archive", "(MESSAGES UNSEEN)")
    expect(b"MESSAGES 1" in data[0], data)
    m.create("Projects/2026")
    typ, data = m.list('""', "Projects/*")
    expect(b"Projects/2026" in data[0], data)
    m.rename("Projects", "Old")
    typ, data = m.list('""', "Old*")
    expect(len(data) == 2, data)
    m.delete("Old/2026")
    m.logout()


def test_imaplib_starttls_and_idle(srv):
    m = imaplib.IMAP4("127.0.0.1", srv.port)
    m.starttls(ssl_context=ctx())
    m.login("demo", "demo")
    m.select("INBOX")
    other = imaplib.IMAP4_SSL("127.0.0.1", srv.tls_port, ssl_context=ctx())
    other.login("demo", "demo")
    tag = m._new_tag()
    m.send(tag + b" IDLE\r\n")
    expect(m.readline().startswith(b"+"))
    other.append("INBOX", None, None, MSG)
    line = m.readline()
    expect(line == b"* 1 EXISTS\r\n", line)
    m.send(b"DONE\r\n")
    while True:
        line = m.readline()
        if line.startswith(tag):
            expect(b"OK" in line, line)
            break
    m.logout()
    other.logout()
