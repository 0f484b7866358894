"""`roost check --rebuild` parses each message file once and leaves the
index as an APPEND does: the message model (ENVELOPE, BODY,
BODYSTRUCTURE, the part map and their IMAP4rev2 forms), the SORT and
THREAD keys and the full-text documents are all there, so that nothing
after the rebuild opens a message file to answer them.  Files without a
UID (from another Maildir program) are numbered in delivery order, the
order of their names (time, then the sequence part, digit runs compared
as numbers).  A file that is not valid MIME does not stop it.  Mail that
another program drops into new/ gets the same at its pickup."""
import glob
import os
import re

from roosttest import expect

MSGS = [
    (b"From: Adam Apple <adam@a.example>\r\nTo: eve@b.example\r\n"
     b"Subject: plain one\r\nDate: Wed, 01 Jan 2020 10:00:00 +0000\r\n"
     b"Message-ID: <1@a.example>\r\n\r\nquokka body text\r\n"),
    (b"From: =?utf-8?q?B=C3=A4r?= <bar@c.example>\r\nTo: x@y.example\r\n"
     b"Subject: =?utf-8?b?w6RyZ2VyIG1peGVk?=\r\n"
     b"Date: Thu, 02 Jan 2020 11:00:00 +0100\r\nMIME-Version: 1.0\r\n"
     b'Content-Type: multipart/mixed; boundary="xx"\r\n\r\n'
     b"--xx\r\nContent-Type: text/plain; charset=utf-8\r\n"
     b"Content-Transfer-Encoding: quoted-printable\r\n\r\nw=C3=B6rter hier\r\n"
     b"--xx\r\nContent-Type: application/octet-stream\r\n"
     b"Content-Disposition: attachment; filename*=utf-8''%C3%A4.bin\r\n"
     b"Content-Transfer-Encoding: base64\r\n\r\nAAECAwQ=\r\n"
     b"--xx\r\nContent-Type: message/rfc822\r\n\r\n"
     b"From: inner@d.example\r\nSubject: inner\r\n\r\ninner body\r\n"
     b"--xx--\r\n"),
    (b"From: Carl <carl@e.example>\r\nSubject: Re: [fwd: zebra]\r\n"
     b"In-Reply-To: <1@a.example>\r\nDate: Fri, 03 Jan 2020 09:00:00 +0000\r\n"
     b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
     b"--b\r\nContent-Type: text/plain\r\n\r\nalt text\r\n"
     b"--b\r\nContent-Type: text/html\r\n\r\n<p>alt html</p>\r\n--b--\r\n"),
]

FETCH = "FETCH 1:* (UID RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE)"
QUERIES = [
    FETCH,
    "SORT (SUBJECT) UTF-8 ALL",
    "SORT (FROM DATE) UTF-8 ALL",
    "THREAD REFERENCES UTF-8 ALL",
    "SEARCH BODY quokka",
    "SEARCH TEXT inner",
    "SEARCH SUBJECT zebra",
]


def userdir(srv):
    [d] = glob.glob(os.path.join(srv.data_dir, "users", "*", "demo"))
    return d


def cur_files(srv, box=""):
    sub = "." + box if box else ""
    return glob.glob(os.path.join(userdir(srv), "Maildir", sub, "cur", "*"))


def logout(c):
    c.line("z LOGOUT")
    while not c.readline().startswith("z OK"):
        pass
    c.close()


def answers(srv, rev2=False, box="INBOX"):
    c = srv.login()
    if rev2:
        c.cmd("ENABLE IMAP4rev2", ok=True)
    c.cmd(f"EXAMINE {box}", ok=True)
    out = [c.cmd(q, ok=True)[0] for q in QUERIES]
    logout(c)
    return out


def rebuild(srv, drop_index=True):
    srv.stop()
    if drop_index:
        for suffix in ("", "-wal", "-shm"):
            p = os.path.join(userdir(srv), "index.sqlite" + suffix)
            if os.path.exists(p):
                os.unlink(p)
    p = srv.roost("check", "-c", srv.conf, "--rebuild", "demo")
    srv.start()
    return p


def test_rebuild_leaves_model_keys_and_text_filled(srv):
    """After the rebuild every answer comes from the index: the files are
    emptied (as only a test can) and FETCH, SORT, THREAD and SEARCH answer
    exactly as before, in both IMAP revisions."""
    c = srv.login()
    for m in MSGS:
        c.append(msg=m)
    logout(c)
    before, before_rev2 = answers(srv), answers(srv, rev2=True)
    expect(len(before[0]) == 3, before[0])
    expect(before[4] == ["* SEARCH 1"], before[4])
    rebuild(srv)
    files = cur_files(srv)
    expect(len(files) == 3, files)
    for p in files:
        open(p, "wb").close()
    expect(answers(srv) == before, f"{answers(srv)} != {before}")
    expect(answers(srv, rev2=True) == before_rev2)


def write_foreign(srv, name, subject, body=b"body\r\n", box=""):
    sub = "." + box if box else ""
    path = os.path.join(userdir(srv), "Maildir", sub, "cur", name)
    with open(path, "wb") as f:
        f.write(b"Subject: " + subject.encode() + b"\n\n" + body)
    return path


def subjects(c):
    u, _ = c.cmd("FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])", ok=True)
    return [re.search(r"Subject: (\S+)", l).group(1) for l in u]


def test_rebuild_numbers_foreign_files_in_delivery_order(srv):
    """Names without a UID get new ones above all others in name order,
    the time and the sequence part as numbers: 999 before 1000, M3 before
    M20, and the whole name last; a file that already has a UID keeps it."""
    c = srv.login()
    c.append(msg=b"Subject: appended\r\n\r\nx\r\n")
    logout(c)
    srv.stop()
    # written in an order that neither creation time nor strcmp() gives
    names = ["1000.M1P1.host:2,S", "999.M20P1.host:2,", "999.M3P1.host:2,",
             "1000.M1P1.host2:2,", "0999.M3P2.host:2,", "1000.1_2.host:2,",
             "1000.1_10.host:2,"]
    for name in names:
        write_foreign(srv, name, name.split(":")[0])
    rebuild(srv, drop_index=False)
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    want = ["appended", "999.M3P1.host", "0999.M3P2.host", "999.M20P1.host",
            "1000.1_2.host", "1000.1_10.host", "1000.M1P1.host", "1000.M1P1.host2"]
    expect(subjects(c) == want, subjects(c))
    u, _ = c.cmd("FETCH 1:* (UID FLAGS)", ok=True)
    expect([int(re.search(r"UID (\d+)", l).group(1)) for l in u] == list(range(1, 9)), u)
    expect("\\Seen" in u[6], u)
    logout(c)
    # a second rebuild changes nothing: the names carry the UIDs now
    rebuild(srv)
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    expect(subjects(c) == want, subjects(c))
    logout(c)


def test_rebuild_survives_broken_mime(srv):
    """Files that are no valid MIME (an empty file, binary garbage, a
    header that never ends, a multipart whose boundary never closes, NUL
    bytes, a quote that never closes) are indexed like any other, and the
    rest is not affected."""
    logout(srv.login())
    srv.stop()
    broken = [
        b"",
        bytes(range(256)) * 4,
        b"Subject: no end of header\nX-A: " + b"a" * 20000,
        (b"Subject: open multipart\nContent-Type: multipart/mixed; boundary=q\n\n"
         b"--q\nContent-Type: multipart/mixed; boundary=\n\n--q\n--\n"
         b"Content-Type: message/rfc822\n\n--q"),
        b"Subject: nul\x00bytes\n\nbody\x00\x00\n",
        b"Content-Type: text/plain; charset=\"\n\nunclosed quote\n",
    ]
    for i, data in enumerate(broken):
        with open(os.path.join(userdir(srv), "Maildir", "cur",
                               f"{1700000000 + i}.M{i}P1.bad:2,"), "wb") as f:
            f.write(data)
    write_foreign(srv, "1800000000.M1P1.good:2,", "good", b"quokka\n")
    rebuild(srv, drop_index=False)
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    u, _ = c.cmd(FETCH, ok=True)
    expect(len(u) == len(broken) + 1, u)
    u, _ = c.cmd("SEARCH BODY quokka", ok=True)
    expect(u == [f"* SEARCH {len(broken) + 1}"], u)
    logout(c)


def test_mail_dropped_into_new_is_parsed_at_pickup(srv):
    """The sync that picks up a file from new/ stores its model, keys and
    text from the parse of its copy: emptied right after the pickup, the
    files are not needed to answer FETCH, SORT, THREAD or SEARCH, which
    answer as for the same messages APPENDed."""
    c = srv.login()
    c.cmd("CREATE Ref", ok=True)
    for m in MSGS:
        c.append(box="Ref", msg=m)
    c.cmd("SELECT INBOX", ok=True)
    new = os.path.join(userdir(srv), "Maildir", "new")
    for i, m in enumerate(MSGS):
        with open(os.path.join(new, f"17000000{i:02d}.M1P1.mda"), "wb") as f:
            f.write(m.replace(b"\r\n", b"\n"))
    u, _ = c.cmd("NOOP", ok=True)
    expect("* 3 EXISTS" in u, u)
    logout(c)
    files = cur_files(srv)
    expect(len(files) == 3, files)
    for p in files:
        open(p, "wb").close()
    want = answers(srv, box="Ref")
    expect(answers(srv) == want, f"{answers(srv)} != {want}")
    expect(answers(srv, rev2=True) == answers(srv, rev2=True, box="Ref"))


def test_rebuild_of_several_batches(srv):
    """More messages than one batch of the fill (1,024), so that batches
    are parsed on the second thread while others are written: every row
    gets its own model and text, none another message's."""
    logout(srv.login())
    srv.stop()
    n = 2600
    for i in range(n):
        write_foreign(srv, f"{1700000000 + i}.M{i}P7.many:2,", f"msg{i:04d}",
                      f"token{i:04d}x\n".encode())
    rebuild(srv, drop_index=False)
    for p in cur_files(srv):
        open(p, "wb").close()
    c = srv.login()
    c.cmd("EXAMINE INBOX", ok=True)
    u, _ = c.cmd("FETCH 1:* (ENVELOPE)", ok=True)
    expect(len(u) == n, len(u))
    for i, line in enumerate(u):
        expect(f'NIL "msg{i:04d}" NIL' in line, line)
    for i in (0, 1023, 1024, 2047, 2048, n - 1):
        got, _ = c.cmd(f"SEARCH BODY token{i:04d}x", ok=True)
        expect(got == [f"* SEARCH {i + 1}"], (i, got))
    got, _ = c.cmd("SORT (REVERSE SUBJECT) UTF-8 1:3", ok=True)
    expect(got == ["* SORT 3 2 1"], got)
    logout(c)
