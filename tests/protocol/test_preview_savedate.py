"""PREVIEW (RFC 8970) and SAVEDATE (RFC 8514).

PREVIEW: the RFC's examples; plain, HTML-only, multipart/alternative,
base64 and quoted-printable in other charsets, broken MIME; the preview
is made once at delivery (APPEND, LMTP, a file dropped into new/) and
stored in the index before any FETCH; PREVIEW (LAZY) answers NIL for a
message without one (an index made again at login) and plain PREVIEW
makes it then and stores it.  SAVEDATE: FETCH SAVEDATE, the save date
set at APPEND (whatever the internal date), COPY and MOVE (new in the
destination, kept in the source), SEARCH SAVEDBEFORE/SAVEDON/SAVEDSINCE
and SAVEDATESUPPORTED; bad input."""
import datetime
import os
import re
import sqlite3

from roosttest import expect, server_args
from test_lmtp import lmtp
from test_rebuild import rebuild, userdir

PLAIN = "Subject: plain\r\n\r\n  Hello,\r\n\r\nthe report   is ready.\r\n"
HTML = ("Subject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        "<html><head><title>T</title><style>p{}</style></head>"
        "<body><p>Hi&nbsp;<b>there</b> &amp; welcome</p><div>line two</div></body></html>\r\n")
ALTERNATIVE = ("Subject: alt\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
               "--b\r\nContent-Type: text/html\r\n\r\n<p>the html</p>\r\n"
               "--b\r\nContent-Type: text/plain\r\n\r\nthe plain text\r\n--b--\r\n")
BASE64 = ("Subject: b64\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Content-Transfer-Encoding: base64\r\n\r\nR3LDvMOfZSBhdXMgS8O2bG4=\r\n")
QP_LATIN1 = ("Subject: qp\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
             "Content-Transfer-Encoding: quoted-printable\r\n\r\nJ=F6rg sagt =\r\nhallo\r\n")
BROKEN = ("Subject: broken\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n"
          "--z\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
          "!!aGVsbG8g\r\nd29ybGQ=\r\n")
IMAGE = ("Subject: image\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
         "\r\niVBORw0KGgo=\r\n")
LONG = "Subject: long\r\n\r\n" + "w\u00f6rd " * 300 + "\r\n"

WANT = [
    (PLAIN, "Hello, the report is ready."),
    (HTML, "Hi there & welcome line two"),
    (ALTERNATIVE, "the plain text"),
    (BASE64, "Gr\u00fc\u00dfe aus K\u00f6ln"),
    (QP_LATIN1, "J\u00f6rg sagt hallo"),
    (BROKEN, "hello world"),
    (IMAGE, ""),
]


def index_path(srv):
    return os.path.join(userdir(srv), "index.sqlite")


def stored_previews(srv):
    db = sqlite3.connect(index_path(srv))
    rows = db.execute("SELECT m.uid, p.preview FROM messages m LEFT JOIN previews p "
                      "ON p.mailbox = m.mailbox AND p.uid = m.uid WHERE m.mailbox = "
                      "(SELECT id FROM mailboxes WHERE name = 'INBOX') ORDER BY m.uid").fetchall()
    db.close()
    return dict(rows)


def previews(c, seqset="1:*", lazy=False):
    """{msn: preview or None} from FETCH PREVIEW (quoted or literal)."""
    item = "PREVIEW (LAZY)" if lazy else "PREVIEW"
    untagged, _ = c.cmd(f"FETCH {seqset} ({item})", ok=True)
    out = {}
    for line in untagged:
        m = re.fullmatch(r'\* (\d+) FETCH \(PREVIEW (?:"((?:[^"\\]|\\.)*)"|NIL|'
                         r'\{\d+\}\r\n(.*))\)', line, re.S)
        expect(m is not None, line)
        text = m.group(2) if m.group(2) is not None else m.group(3)
        if m.group(2) is not None:
            text = re.sub(r'\\(.)', r'\1', text)
        out[int(m.group(1))] = text
    return out


def test_rfc_examples(srv):
    c = srv.login()
    c.append(msg=PLAIN)
    c.cmd("SELECT INBOX", ok=True)
    # RFC 8970 5, examples 1 and 2 (the preview is stored: never NIL)
    untagged, _ = c.cmd("FETCH 1 (RFC822.SIZE PREVIEW)", ok=True)
    expect(untagged == [f'* 1 FETCH (RFC822.SIZE {len(PLAIN)} PREVIEW '
                        '"Hello, the report is ready.")'], untagged)
    untagged, _ = c.cmd("FETCH 1 (ENVELOPE PREVIEW (LAZY))", ok=True)
    expect(untagged[0].endswith(' PREVIEW "Hello, the report is ready.")'), untagged)
    # example 3: with SEARCHRES
    c.cmd("SEARCH RETURN (SAVE) SUBJECT plain", ok=True)
    untagged, _ = c.cmd("FETCH $ (UID PREVIEW (LAZY))", ok=True)
    expect(untagged == ['* 1 FETCH (UID 1 PREVIEW "Hello, the report is ready.")'], untagged)


def test_previews_of_every_kind_made_at_delivery(srv):
    c = srv.login()
    for msg, _ in WANT:
        c.append(msg=msg)
    c.append(msg=LONG)
    # stored with the row, before any FETCH (parse once)
    stored = stored_previews(srv)
    expect(stored == {i + 1: want for i, (_, want) in enumerate(WANT)} | {8: stored[8]},
           stored)
    c.cmd("SELECT INBOX", ok=True)
    got = previews(c)
    for i, (_, want) in enumerate(WANT):
        expect(got[i + 1] == want, f"{i + 1}: {got[i + 1]!r} != {want!r}")
    # RFC 8970 3.3: at most 256 characters (200 here), UTF-8, cut
    # between characters and words' spaces trimmed
    expect(len(got[8]) == 199 and got[8].startswith("w\u00f6rd w\u00f6rd"), got[8])
    # IMAP4rev2: UTF-8 in a quoted string
    c.cmd("ENABLE IMAP4rev2", ok=True)
    untagged, _ = c.cmd("FETCH 4 (PREVIEW)", ok=True)
    expect(untagged == ['* 4 FETCH (PREVIEW "Gr\u00fc\u00dfe aus K\u00f6ln")'], untagged)


@server_args(lmtp=True)
def test_lmtp_and_pickup_store_the_preview(srv):
    c = lmtp(srv)
    c.conv('''
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 OK
C: RCPT TO:<demo@localhost>
S: 250 2.1.5 <demo@localhost> OK
C: RCPT TO:<alice@localhost>
S: 250 2.1.5 <alice@localhost> OK
C: DATA
S: 354 Start mail input; end with <CRLF>.<CRLF>
''')
    c.send(HTML.encode() + b".\r\n")
    expect(c.readline().startswith("250 "), "demo")
    expect(c.readline().startswith("250 "), "alice")
    expect(stored_previews(srv) == {1: "Hi there & welcome line two"}, stored_previews(srv))
    # a file another program drops into new/: at its pickup
    i = srv.login()
    i.cmd("SELECT INBOX", ok=True)
    new = os.path.join(userdir(srv), "Maildir", "new")
    with open(os.path.join(new, "1700000000.M1P1.mda"), "wb") as f:
        f.write(ALTERNATIVE.replace("\r\n", "\n").encode())
    untagged, _ = i.cmd("NOOP", ok=True)
    expect("* 2 EXISTS" in untagged, untagged)
    expect(stored_previews(srv)[2] == "the plain text", stored_previews(srv))
    # the shared copy's other recipient has the same preview
    a = srv.login("alice", "alicepw")
    a.cmd("SELECT INBOX", ok=True)
    expect(previews(a) == {1: "Hi there & welcome line two"}, "alice")


def test_lazy_and_first_fetch_of_a_lost_index(srv):
    c = srv.login()
    for msg, _ in WANT[:3]:
        c.append(msg=msg)
    c.cmd("LOGOUT")
    # the index lost: made again at login from the files, the rows
    # without model or preview (parsed on first use)
    srv.stop()
    for suffix in ("", "-wal", "-shm"):
        p = index_path(srv) + suffix
        if os.path.exists(p):
            os.unlink(p)
    srv.start()
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    expect(set(stored_previews(srv).values()) == {None}, stored_previews(srv))
    # RFC 8970 4.1: LAZY may answer NIL rather than read the message
    expect(previews(c, lazy=True) == {1: None, 2: None, 3: None}, "LAZY read the files")
    # without LAZY: made now and kept
    expect(previews(c, "2") == {2: WANT[1][1]}, "PREVIEW")
    expect(stored_previews(srv)[2] == WANT[1][1], "not written back")
    expect(previews(c, lazy=True) == {1: None, 2: WANT[1][1], 3: None}, "LAZY after")
    # ENVELOPE parses the rest (the model with the preview) once
    c.cmd("FETCH 1:* ENVELOPE", ok=True)
    expect(previews(c, lazy=True) == {i + 1: w for i, (_, w) in enumerate(WANT[:3])},
           "the model's parse did not keep the preview")


def test_rebuild_stores_previews(srv):
    c = srv.login()
    for msg, _ in WANT:
        c.append(msg=msg)
    c.cmd("LOGOUT")
    rebuild(srv, drop_index=True)
    expect(stored_previews(srv) == {i + 1: w for i, (_, w) in enumerate(WANT)},
           stored_previews(srv))


def savedates(c, seqset="1:*"):
    """{msn: (SAVEDATE as a datetime, INTERNALDATE as sent)}."""
    untagged, _ = c.cmd(f"FETCH {seqset} (SAVEDATE INTERNALDATE)", ok=True)
    out = {}
    for line in untagged:
        m = re.fullmatch(r'\* (\d+) FETCH \((?=.*SAVEDATE "([^"]+)")'
                         r'(?=.*INTERNALDATE "([^"]+)").*\)', line)
        expect(m is not None, line)
        out[int(m.group(1))] = (datetime.datetime.strptime(m.group(2).strip(),
                                                           "%d-%b-%Y %H:%M:%S %z"),
                                m.group(3))
    return out


def set_savedate(srv, box, uid, when):
    db = sqlite3.connect(index_path(srv))
    db.execute("UPDATE messages SET savedate = ? WHERE uid = ? AND mailbox = "
               "(SELECT id FROM mailboxes WHERE name = ?)", (when, uid, box))
    db.commit()
    db.close()


def test_savedate(srv):
    c = srv.login()
    c.append(msg=PLAIN, date="01-Jan-2001 10:00:00 +0100")
    c.append(msg=HTML)
    c.cmd("SELECT INBOX", ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    got = savedates(c)
    # RFC 8514 3: the save date is when it was saved, not the date given
    for msn in (1, 2):
        expect(abs((got[msn][0] - now).total_seconds()) < 120, got)
        expect(got[msn][0].utcoffset().total_seconds() == 0, got)
    expect(got[1][1] == " 1-Jan-2001 10:00:00 +0100", got)
    today = now.strftime("%d-%b-%Y")
    for key, want in ((f"SAVEDON {today}", "* SEARCH 1 2"),
                      (f"SAVEDSINCE {today}", "* SEARCH 1 2"),
                      (f"SAVEDBEFORE {today}", "* SEARCH"),
                      ("SAVEDON 1-Jan-2001", "* SEARCH"),
                      ("SAVEDATESUPPORTED", "* SEARCH 1 2"),
                      ("ON 1-Jan-2001", "* SEARCH 1")):
        untagged, _ = c.cmd(f"SEARCH {key}", ok=True)
        expect(untagged == [want], f"{key}: {untagged}")
    # an older save date (as if saved on 2 Mar 2015 23:30 UTC): the day
    # is the UTC one, as SAVEDATE shows it
    set_savedate(srv, "INBOX", 1, 1425339000)
    got = savedates(c, "1")
    expect(got[1][0].strftime("%d-%b-%Y %H:%M:%S") == "02-Mar-2015 23:30:00", got)
    for key, want in (("SAVEDON 2-Mar-2015", "* SEARCH 1"),
                      ("SAVEDBEFORE 3-Mar-2015", "* SEARCH 1"),
                      ("SAVEDBEFORE 2-Mar-2015", "* SEARCH"),
                      ("SAVEDSINCE 3-Mar-2015", "* SEARCH 2"),
                      ("NOT SAVEDON 2-Mar-2015", "* SEARCH 2"),
                      (f"OR SAVEDON 2-Mar-2015 SAVEDON {today}", "* SEARCH 1 2")):
        untagged, _ = c.cmd(f"SEARCH {key}", ok=True)
        expect(untagged == [want], f"{key}: {untagged}")
    # COPY and MOVE: the destination's copy is saved now, the source
    # keeps its date (RFC 8514 3)
    c.cmd("CREATE Dest", ok=True)
    c.cmd("COPY 1 Dest", ok=True)
    expect(savedates(c, "1")[1][0].year == 2015, "COPY changed the source's save date")
    c.cmd("MOVE 1 Dest", ok=True)
    c.cmd("SELECT Dest", ok=True)
    got = savedates(c)
    for msn in (1, 2):
        expect(abs((got[msn][0] - now).total_seconds()) < 120, f"{msn}: {got}")
    # a rebuild that reads the old index keeps save dates
    set_savedate(srv, "Dest", 1, 1425339000)
    before = savedates(c)
    c.cmd("LOGOUT")
    rebuild(srv, drop_index=False)
    c = srv.login()
    c.cmd("SELECT Dest", ok=True)
    # (not the internal date's zone, which a rebuild loses: DESIGN.md)
    after = savedates(c)
    expect({k: v[0] for k, v in after.items()} == {k: v[0] for k, v in before.items()},
           f"the rebuild changed save dates: {before} {after}")


def test_bad_input(srv):
    c = srv.login()
    c.append(msg=PLAIN)
    c.cmd("SELECT INBOX", ok=True)
    for items in ("(PREVIEW (FOO))", "(PREVIEW ())", "(PREVIEW (LAZY FOO))", "PREVIEW.LAZY",
                  "(PREVIEW LAZY)", "(SAVEDATE (LAZY))", "(EMAILID ())"):
        _, tagged = c.cmd(f"FETCH 1 {items}")
        expect(" BAD " in tagged, f"{items}: {tagged}")
    # a new session: max_bad_commands
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    for key in ("SAVEDON", "SAVEDON 31-Foo-2020", "SAVEDSINCE yesterday", "SAVEDBEFORE ()"):
        _, tagged = c.cmd(f"SEARCH {key}")
        expect(" BAD " in tagged, f"{key}: {tagged}")
    # the modifier in any case, repeated
    untagged, _ = c.cmd("FETCH 1 (PREVIEW (lazy LAZY) UID)", ok=True)
    expect(untagged == ['* 1 FETCH (UID 1 PREVIEW "Hello, the report is ready.")'], untagged)
