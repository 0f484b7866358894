"""Message bytes as served, whatever line ends they arrived with.

RFC 9051 (2.2 and 7.5.2) describes messages in RFC 5322 form, whose lines
end in CRLF: RFC822.SIZE, BODY[section]<partial> and the octet and line
counts of BODYSTRUCTURE must all describe the same CRLF bytes, and SORT
(SIZE) sorts by RFC822.SIZE.  A message may arrive with bare LF line ends
through every door: APPEND with a plain literal, LMTP, `roost deliver`,
or a file another program writes into a Maildir's new/.  Each is checked
here against a CRLF reference computed in Python.  An APPEND literal8
(RFC 3516 4.4) is kept byte for byte: it may carry binary data.

BINARY (RFC 3516) of a five-part message with base64 parts of several
line lengths, an empty part, a part with LF line ends and a nested
multipart is checked for every part and several partial ranges against
Python's base64 decoding."""
import base64
import glob
import os
import re
import subprocess
import time

import roosttest
from roosttest import expect, server_args, TestFailure
from test_binary import raw_cmd, parse_fetch, append_raw

CRLF = b"\r\n"


def crlf(data):
    """The RFC 5322 form: every LF that does not follow a CR gets one."""
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def b64(data, width, eol=CRLF):
    enc = base64.b64encode(data)
    return eol.join(enc[i:i + width] for i in range(0, len(enc), width))


# ---- the multipart test message, with LF line ends ----

PART_TEXT = "Grüße aus Köln\nzweite Zeile\n\ndritte Zeile".encode()
PART_BIN = bytes((i * 37 + 11) % 256 for i in range(3001))      # NULs in it
PART_IMG = bytes((i * 7) % 251 + 1 for i in range(1001))         # no NUL
ALT_PLAIN = b"plain alternative\nsecond line"
ALT_HTML = b"<p>html</p>\n<p>alternative</p>\n"


def five_part_message(eol=b"\n", part3_eol=b"\n"):
    """A multipart/mixed message of five parts: base64 text (76-column
    lines), base64 binary (64), base64 image (60, lines ended with
    part3_eol), an empty base64 part, and a multipart/alternative with a
    quoted-printable and a base64 (48) part.  Line ends are `eol`."""
    lines = [
        b"From: Alice <alice@example.com>",
        b"To: Bob <bob@example.org>",
        b"Subject: five parts",
        b"Date: Mon, 7 Dec 2026 10:00:00 +0000",
        b"MIME-Version: 1.0",
        b'Content-Type: multipart/mixed; boundary="outer"',
        b"",
        b"This is a multipart message.",
        b"--outer",
        b"Content-Type: text/plain; charset=utf-8",
        b"Content-Transfer-Encoding: base64",
        b"",
        b64(PART_TEXT, 76, eol),
        b"--outer",
        b"Content-Type: application/octet-stream",
        b"Content-Transfer-Encoding: base64",
        b"",
        b64(PART_BIN, 64, eol),
        b"--outer",
        b"Content-Type: image/png",
        b"Content-Transfer-Encoding: base64",
        b"",
        b64(PART_IMG, 60, part3_eol),
        b"--outer",
        b"Content-Type: application/x-empty",
        b"Content-Transfer-Encoding: base64",
        b"",
        b"--outer",
        b'Content-Type: multipart/alternative; boundary="inner"',
        b"",
        b"--inner",
        b"Content-Type: text/plain",
        b"Content-Transfer-Encoding: quoted-printable",
        b"",
        ALT_PLAIN.replace(b"\n", eol),
        b"--inner",
        b"Content-Type: text/html",
        b"Content-Transfer-Encoding: base64",
        b"",
        b64(ALT_HTML, 48, eol),
        b"--inner--",
        b"--outer--",
        b"",
    ]
    return eol.join(lines)


# what BINARY[path] decodes to (text parts with CRLF line ends, RFC 9051
# 7.5.2), from Python's own decoding
def binary_reference():
    return {
        "1": crlf(PART_TEXT),
        "2": PART_BIN,
        "3": PART_IMG,
        "4": b"",
        "5.1": crlf(ALT_PLAIN),
        "5.2": crlf(ALT_HTML),
    }


def check_binary(c, msn, ref):
    for path, want in ref.items():
        items = fetch(c, msn, f"(BINARY.SIZE[{path}] BINARY.PEEK[{path}])")
        size = items.get(f"BINARY.SIZE[{path}]")
        expect(size == str(len(want)), (path, "BINARY.SIZE", size, len(want)))
        got = items.get(f"BINARY[{path}]")
        expect(got is not None and not isinstance(got, str) and got.data == want,
               (path, "BINARY", got, want[:60]))
        expect(got.literal8 == (b"\0" in want), (path, "literal8", got))
        for off, n in ((0, 7), (10, 10), (15, 100), (len(want), 5)):
            items = fetch(c, msn, f"BINARY.PEEK[{path}]<{off}.{n}>")
            got = items.get(f"BINARY[{path}]<{off}>")
            part = want[off:off + n]
            expect(got is not None and not isinstance(got, str) and got.data == part,
                   (path, off, n, got, part))
            expect(got.literal8 == (b"\0" in part), (path, off, n, "literal8", got))


def fetch(c, seq, items):
    u, t = raw_cmd(c, f"FETCH {seq} {items}")
    expect(" OK " in t, (items, t, u[:2]))
    expect(len(u) == 1, [x[:100] for x in u])
    return parse_fetch(u[0])[1]


def test_binary_five_parts_crlf(srv):
    """The five-part message with CRLF line ends (part 3's base64 lines
    end in bare LF nonetheless), sent as a literal8: base64 lines are
    text, so part 3 is stored with CRLF too."""
    c = srv.login()
    msg = five_part_message(eol=CRLF, part3_eol=b"\n")
    line = append_raw(c, msg, literal8=True)
    expect(" OK " in line, line)
    c.cmd("EXAMINE INBOX", ok=True)
    check_binary(c, 1, binary_reference())
    items = fetch(c, 1, "(RFC822.SIZE BODY.PEEK[])")
    expect(items["BODY[]"].data == crlf(msg) and items["RFC822.SIZE"] == str(len(crlf(msg))))


def test_binary_five_parts_bare_lf(srv):
    """The same message with LF line ends everywhere, APPENDed as a plain
    literal: decoded the same."""
    c = srv.login()
    c.append(msg=five_part_message())
    c.cmd("EXAMINE INBOX", ok=True)
    check_binary(c, 1, binary_reference())


# ---- bare LF through every door ----

INNER_MSG = (b"From: Carol <carol@example.net>\n"
             b"Subject: inner\n"
             b"\n"
             b"inner body\n"
             b"second inner line\n")
LF_MSG = (b"From: Alice <alice@example.com>\n"
          b"To: Bob <bob@example.org>\n"
          b"Subject: bare LF\n"
          b"Date: Mon, 7 Dec 2026 10:00:00 +0000\n"
          b"Message-ID: <lf@example.com>\n"
          b"MIME-Version: 1.0\n"
          b'Content-Type: multipart/mixed; boundary="xyz"\n'
          b"\n"
          b"preamble\n"
          b"--xyz\n"
          b"Content-Type: text/plain; charset=us-ascii\n"
          b"\n"
          b"line one\n"
          b"line two\n"
          b"\n"
          b"line four\n"
          b"--xyz\n"
          b"Content-Type: message/rfc822\n"
          b"\n" + INNER_MSG +
          b"--xyz\n"
          b"Content-Type: application/octet-stream\n"
          b"Content-Transfer-Encoding: base64\n"
          b"\n" + b64(PART_BIN[:500], 72, b"\n") + b"\n"
          b"--xyz--\n"
          b"epilogue\n")


def sections(ref):
    """The CRLF reference's sections, worked out by hand from RFC 9051
    6.4.5 (a part's body ends before the CRLF that precedes the next
    boundary line, which belongs to the delimiter, RFC 2046 5.1.1)."""
    hdr_end = ref.index(b"\r\n\r\n") + 4
    s = {"": ref, "HEADER": ref[:hdr_end], "TEXT": ref[hdr_end:]}
    chunks = ref[hdr_end:].split(b"\r\n--xyz")
    expect(len(chunks) == 5 and chunks[4].startswith(b"--\r\n"), chunks)
    for n in (1, 2, 3):
        part = chunks[n][2:]
        mime_end = part.index(b"\r\n\r\n") + 4
        s[f"{n}.MIME"] = part[:mime_end]
        s[f"{n}"] = part[mime_end:]
    inner = s["2"]
    inner_end = inner.index(b"\r\n\r\n") + 4
    s["2.HEADER"] = inner[:inner_end]
    s["2.TEXT"] = inner[inner_end:]
    s["2.1"] = inner[inner_end:]
    return s


def lines(data):
    """Text lines of a body as BODYSTRUCTURE counts them."""
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def check_served(c, msn, ref):
    """Every FETCH item that shows message bytes or their sizes, against
    the CRLF reference."""
    s = sections(ref)
    names = ["", "HEADER", "TEXT", "1", "1.MIME", "2", "2.MIME", "2.HEADER",
             "2.TEXT", "2.1", "3", "3.MIME"]
    items = fetch(c, msn, "(RFC822.SIZE " +
                  " ".join(f"BODY.PEEK[{n}]" for n in names) + ")")
    expect(items["RFC822.SIZE"] == str(len(ref)), (items["RFC822.SIZE"], len(ref)))
    for n in names:
        got = items[f"BODY[{n}]"]
        expect(not isinstance(got, str) and got.data == s[n], (n, got, s[n][:80]))
    # partial ranges, one inside a line end
    crlf_at = ref.index(b"\r\n")
    for n, off, cnt in (("", 0, 7), ("", crlf_at, 3), ("", crlf_at + 1, 4),
                        ("TEXT", 10, 10), ("1", 15, 100), ("2", 3, 40),
                        ("2.TEXT", 12, 5), ("3", 70, 5), ("", len(ref) - 3, 10)):
        got = fetch(c, msn, f"BODY.PEEK[{n}]<{off}.{cnt}>")[f"BODY[{n}]<{off}>"]
        expect(not isinstance(got, str) and got.data == s[n][off:off + cnt],
               (n, off, cnt, got))
    # the RFC 822 items (these set \Seen: EXAMINE keeps it from doing so)
    items = fetch(c, msn, "(RFC822 RFC822.HEADER RFC822.TEXT)")
    expect(items["RFC822"].data == ref, items["RFC822"])
    expect(items["RFC822.HEADER"].data == s["HEADER"], items["RFC822.HEADER"])
    expect(items["RFC822.TEXT"].data == s["TEXT"], items["RFC822.TEXT"])
    # BODYSTRUCTURE and BODY: octets and lines of the same bytes
    u, t = raw_cmd(c, f"FETCH {msn} (BODYSTRUCTURE BODY)")
    expect(" OK " in t and len(u) == 1, (t, u))
    resp = u[0].decode()
    want_text = f'"7BIT" {len(s["1"])} {lines(s["1"])}'
    want_inner = f'"7BIT" {len(s["2.1"])} {lines(s["2.1"])}'
    want_msg = f'"7BIT" {len(s["2"])} ('
    want_b64 = f'"BASE64" {len(s["3"])}'
    for want in (want_text, want_inner, want_msg, want_b64):
        expect(resp.upper().count(want.upper()) == 2, (want, resp))
    # the message/rfc822 part's line count follows its body structure
    m = re.findall(r'"7BIT" \d+ \d+(?: NIL NIL NIL NIL)?\) (\d+)', resp)
    expect(m == [str(lines(s["2"]))] * 2, (m, lines(s["2"]), resp))


def check_sort_size(c, count):
    """SORT (SIZE) orders by the same sizes as RFC822.SIZE."""
    sizes = {}
    for msn in range(1, count + 1):
        sizes[msn] = int(fetch(c, msn, "RFC822.SIZE")["RFC822.SIZE"])
    want = sorted(sizes, key=lambda m: (sizes[m], m))
    u, t = c.cmd("SORT (SIZE) US-ASCII ALL", ok=True)
    expect(u == ["* SORT " + " ".join(map(str, want))], (u, sizes))
    return sizes


# Two more messages whose order by size differs between LF and CRLF: many
# short lines against one long line.
MANY_LINES = b"Subject: many\n\n" + b"x\n" * 100
ONE_LINE = b"Subject: one\n\n" + b"y" * 250 + b"\n"


def trace_fields(c, msn, first):
    """What the delivery path put in front of the message's own header
    (Return-Path, Delivered-To, Received: all CRLF)."""
    head = fetch(c, msn, "BODY.PEEK[HEADER]")["BODY[HEADER]"].data
    return head[:head.index(first)]


def check_all(c, traced=False):
    """The three messages at msn 1-3, arrived with LF line ends."""
    c.cmd("EXAMINE INBOX", ok=True)
    pre = {1: b"", 2: b"", 3: b""}
    if traced:
        for msn, first in ((1, b"From: Alice"), (2, b"Subject: many"),
                           (3, b"Subject: one")):
            pre[msn] = trace_fields(c, msn, first)
            expect(pre[msn].startswith(b"Return-Path: <a@example.com>\r\n"), pre[msn])
            expect(b"\n" not in pre[msn].replace(b"\r\n", b""), pre[msn])
    check_served(c, 1, pre[1] + crlf(LF_MSG))
    sizes = check_sort_size(c, 3)
    expect(sizes[2] == len(pre[2] + crlf(MANY_LINES)) and
           sizes[3] == len(pre[3] + crlf(ONE_LINE)), sizes)
    expect(sizes[2] > sizes[3])      # the LF form would order them the other way


def test_lf_append_plain_literal(srv):
    c = srv.login()
    for m in (LF_MSG, MANY_LINES, ONE_LINE):
        c.append(msg=m)
    check_all(c)


BIN_DATA = b"\x01\x02\n\x03\x00\n\n\xff\r\n\n--not-the-boundary\nend"


BIN_HEAD = (b"From: a@example.com\n"
            b"Subject: literal8 with LF\n"
            b'Content-Type: multipart/mixed; boundary="bb"\n'
            b"\n")
BIN_TEXT = b"line one\nline two\n\nline four"
BIN_MIME = (b"Content-Type: application/octet-stream\n"
            b"Content-Transfer-Encoding: binary\n\n")
BIN_MSG = (BIN_HEAD + b"--bb\nContent-Type: text/plain\n\n" + BIN_TEXT + b"\n"
           b"--bb\n" + BIN_MIME + BIN_DATA + b"\n--bb--\n")
# the LF before "--bb--" ends binary data: it stays; the boundary line's
# own LF is a line break again
BIN_STORED = (crlf(BIN_HEAD) + b"--bb\r\nContent-Type: text/plain\r\n\r\n" +
              crlf(BIN_TEXT) + b"\r\n--bb\r\n" + crlf(BIN_MIME) + BIN_DATA +
              b"\n--bb--\r\n")


def check_binary_part_kept(c, msn):
    items = fetch(c, msn, "(RFC822.SIZE BODY.PEEK[] BODY.PEEK[1] BODY.PEEK[2] "
                  "BODY.PEEK[2.MIME] BINARY.PEEK[2] BINARY.SIZE[2])")
    # (BODY[] sends a NUL as 0x80, RFC 9051 4.3.1; BINARY sends it as is)
    expect(items["BODY[]"].data == BIN_STORED.replace(b"\0", b"\x80"),
           (items["BODY[]"], BIN_STORED))
    expect(items["RFC822.SIZE"] == str(len(BIN_STORED)), items)
    expect(items["BODY[1]"].data == crlf(BIN_TEXT), items)
    expect(items["BODY[2.MIME]"].data == crlf(BIN_MIME), items)
    expect(items["BODY[2]"].data == BIN_DATA.replace(b"\0", b"\x80"), items)
    expect(items["BINARY[2]"].data == BIN_DATA and items["BINARY[2]"].literal8, items)
    expect(items["BINARY.SIZE[2]"] == str(len(BIN_DATA)), items)
    u, t = raw_cmd(c, f"FETCH {msn} BODYSTRUCTURE")
    expect(" OK " in t and len(u) == 1, (t, u))
    bs = u[0].decode()
    expect(f'"7BIT" {len(crlf(BIN_TEXT))} {lines(crlf(BIN_TEXT))} ' in bs, bs)
    expect(f'"BINARY" {len(BIN_DATA)} ' in bs.upper(), bs)


def test_lf_append_literal8_binary_part_kept(srv):
    """A literal8 may carry binary data whose LF bytes are not line ends
    (RFC 3516 4.4): the body of a Content-Transfer-Encoding: binary part
    is stored and served byte for byte, while its header, the boundaries
    and the text part get CRLF line ends (RFC 2045 2.7/2.8: there a CR or
    LF is only ever part of a CRLF).  BODYSTRUCTURE counts the bytes BODY
    sends, and BINARY decodes the same."""
    c = srv.login()
    line = append_raw(c, BIN_MSG, literal8=True)
    expect(" OK " in line, line)
    c.cmd("EXAMINE INBOX", ok=True)
    check_binary_part_kept(c, 1)


def test_lf_file_with_binary_part_dropped_into_new(srv):
    """The same message written into new/ by another program: stored as
    the literal8 APPEND stores it."""
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    [new] = glob.glob(os.path.join(srv.data_dir, "users", "*", "demo", "Maildir", "new"))
    with open(os.path.join(new, "1700000000.M1P1.other"), "wb") as f:
        f.write(BIN_MSG)
    c.cmd("NOOP", ok=True)
    check_binary_part_kept(c, 1)


def lmtp_send(srv, data, bdat=False):
    c = srv.lmtp()
    expect(c.readline().startswith("220 "))
    c.line("LHLO client.example")
    while not c.readline().startswith("250 "):
        pass
    c.conv("""
    C: MAIL FROM:<a@example.com>
    S~ 250 .*
    C: RCPT TO:<demo>
    S~ 250 .*
    """)
    if bdat:
        half = len(data) // 2       # the cut may fall anywhere
        c.send(b"BDAT %d\r\n" % half + data[:half])
        expect(c.readline().startswith("250 "))
        c.send(b"BDAT %d LAST\r\n" % (len(data) - half) + data[half:])
    else:
        c.line("DATA")
        expect(c.readline().startswith("354 "))
        # the data ends at CRLF "." CRLF, whose first CRLF ends the
        # message's last line
        expect(data.endswith(b"\n"))
        c.send(data[:-1] + b"\r\n.\r\n")
    line = c.readline()
    expect(line.startswith("250 "), line)
    c.close()


@server_args(lmtp=True)
def test_lf_lmtp_data(srv):
    for m in (LF_MSG, MANY_LINES, ONE_LINE):
        lmtp_send(srv, m)
    check_all(srv.login(), traced=True)


@server_args(lmtp=True)
def test_lf_lmtp_bdat(srv):
    for m in (LF_MSG, MANY_LINES, ONE_LINE):
        lmtp_send(srv, m, bdat=True)
    check_all(srv.login(), traced=True)


def test_lf_roost_deliver(srv):
    for m in (LF_MSG, MANY_LINES, ONE_LINE):
        p = subprocess.run([os.path.join(roosttest.BUILD, "roost"), "deliver",
                            "-c", srv.conf, "-u", "demo", "-f", "a@example.com"],
                           input=m, capture_output=True, timeout=60)
        expect(p.returncode == 0, p.stderr)
    check_all(srv.login(), traced=True)


def test_lf_file_dropped_into_new(srv):
    """A file that another program (procmail, an MDA) writes into new/
    with LF line ends, as such programs do."""
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)      # the Maildir exists now
    [new] = glob.glob(os.path.join(srv.data_dir, "users", "*", "demo",
                                   "Maildir", "new"))
    for i, m in enumerate((LF_MSG, MANY_LINES, ONE_LINE)):
        tmp = os.path.join(os.path.dirname(new), "tmp", f"17000000{i}.M{i}P1.other")
        with open(tmp, "wb") as f:
            f.write(m)
        os.rename(tmp, os.path.join(new, os.path.basename(tmp)))
        c.cmd("NOOP", ok=True)     # picked up one by one: msn order
    check_all(c)


def fetch_all(c, seq, items):
    u, t = raw_cmd(c, f"FETCH {seq} {items}")
    expect(" OK " in t, (items, t, u[:2]))
    return dict(parse_fetch(r) for r in u)


def test_binary_five_parts_one_fetch(srv):
    """Every part, range and size in one FETCH, over several messages with
    different layouts (so nothing measured for one message may be used
    for another)."""
    c = srv.login()
    msgs = [five_part_message(eol=CRLF, part3_eol=CRLF),
            five_part_message(),
            five_part_message(eol=CRLF, part3_eol=b"\n")]
    append_raw(c, msgs[0], literal8=False)
    c.append(msg=msgs[1])
    append_raw(c, msgs[2], literal8=True)
    c.cmd("EXAMINE INBOX", ok=True)
    ref = binary_reference()
    ranges = ((0, 7), (10, 10), (15, 100))
    items = []
    for path in ref:
        items.append(f"BINARY.SIZE[{path}]")
        items += [f"BINARY.PEEK[{path}]<{o}.{n}>" for o, n in ranges]
        items.append(f"BINARY.PEEK[{path}]")
    got = fetch_all(c, "1:3", "(" + " ".join(items) + ")")
    expect(sorted(got) == [1, 2, 3], got.keys())
    for msn in (1, 2, 3):
        g = got[msn]
        for path, want in ref.items():
            expect(g[f"BINARY.SIZE[{path}]"] == str(len(want)),
                   (msn, path, g[f"BINARY.SIZE[{path}]"], len(want)))
            expect(g[f"BINARY[{path}]"].data == want, (msn, path, g[f"BINARY[{path}]"]))
            for o, n in ranges:
                v = g[f"BINARY[{path}]<{o}>"]
                expect(not isinstance(v, str) and v.data == want[o:o + n], (msn, path, o, v))


# ---- BINARY against the email package ----

def b64_lf(data, width):
    enc = base64.b64encode(data)
    return b"\n".join(enc[i:i + width] for i in range(0, len(enc), width))


def nested_message(inner_multipart):
    """Five parts: base64 image (57 columns), a message/rfc822 (its
    message multipart with base64 text and pdf parts, or a single base64
    pdf part), quoted-printable text, a multipart/alternative of two base64
    parts (4 and 1000 columns), and a 7bit application part of several
    lines; LF line ends, a folded boundary parameter."""
    if inner_multipart:
        inner = (b"From: x@example.net\nSubject: inner\nMIME-Version: 1.0\n"
                 b"Content-Type: multipart/mixed;\n boundary=in\n\n"
                 b"--in\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n" +
                 b64_lf(b"inner text line\nline 2\n" * 5, 20) +
                 b"\n--in\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n" +
                 b64_lf(bytes(range(256)) * 3, 76) + b"\n--in--\n")
    else:
        inner = (b"From: x@example.net\nSubject: inner\n"
                 b"Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n" +
                 b64_lf(bytes(range(256)) * 3, 76) + b"\n")
    return (b"From: user@example.org\nMime-Version: 1.0\n"
            b'Content-Type: multipart/mixed;\n\tboundary="foo bar"\n\n'
            b"--foo bar\nContent-Type: image/gif\nContent-Transfer-Encoding: base64\n\n" +
            b64_lf(bytes(range(1, 200)), 57) +
            b"\n--foo bar\nContent-Type: message/rfc822\n\n" + inner +
            b"\n--foo bar\nContent-Type: text/plain; charset=utf-8\n"
            b"Content-Transfer-Encoding: quoted-printable\n\n"
            b"Gr=C3=BC=C3=9Fe, =\nsoft break\nnext line"
            b"\n--foo bar\nContent-Type: multipart/alternative; boundary=alt\n\n"
            b"--alt\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n" +
            b64_lf(b"alt plain\n", 4) +
            b"\n--alt\nContent-Type: text/html\nContent-Transfer-Encoding: base64\n\n" +
            b64_lf(b"<b>alt</b>", 1000) +
            b"\n--alt--\n--foo bar\nContent-Type: application/x-lines\n\n"
            b"first line\nsecond line\nthird line"
            b"\n--foo bar--\n")


def email_leaves(m, prefix=""):
    """(section-binary, decoded bytes) of every leaf, by the email
    package; text parts with CRLF line ends (RFC 9051 7.5.2)."""
    out = []
    if m.is_multipart():
        for i, p in enumerate(m.get_payload(), 1):
            path = f"{prefix}.{i}" if prefix else str(i)
            if p.get_content_type() == "message/rfc822":
                inner = p.get_payload()[0]
                out += email_leaves(inner, path) if inner.is_multipart() else \
                    [(path + ".1", payload(inner))]
            else:
                out += email_leaves(p, path)
    else:
        out.append((prefix or "1", payload(m)))
    return out


def payload(part):
    data = part.get_payload(decode=True) or b""
    return crlf(data) if part.get_content_maintype() == "text" else data


def test_binary_against_the_email_package(srv):
    """Every leaf of two five-part messages (LF line ends; sent as plain
    literals and as literal8) and their CRLF twins: BINARY, BINARY.SIZE
    and partial ranges as Python's email package decodes the message's
    RFC 5322 (CRLF) form.  The 7bit application part's line ends are
    CRLF in that form, stored LF or not."""
    import email
    import email.policy
    c = srv.login()
    msgs = []
    for inner_multipart in (True, False):
        lf = nested_message(inner_multipart)
        for data, lit8 in ((lf, False), (lf, True), (crlf(lf), False)):
            line = append_raw(c, data, literal8=lit8)
            expect(" OK " in line, line)
            msgs.append(crlf(lf))
    c.cmd("EXAMINE INBOX", ok=True)
    ranges = ((0, 7), (10, 10), (15, 100))
    for msn, data in enumerate(msgs, 1):
        leaves = email_leaves(email.message_from_bytes(data, policy=email.policy.compat32))
        expect(len(leaves) == (7 if msn <= 3 else 6), leaves)
        items = []
        for path, _ in leaves:
            items += [f"BINARY.SIZE[{path}]", f"BINARY.PEEK[{path}]"]
            items += [f"BINARY.PEEK[{path}]<{o}.{n}>" for o, n in ranges]
        g = fetch(c, msn, "(" + " ".join(items) + ")")
        for path, want in leaves:
            expect(g[f"BINARY.SIZE[{path}]"] == str(len(want)),
                   (msn, path, g[f"BINARY.SIZE[{path}]"], len(want)))
            got = g[f"BINARY[{path}]"]
            expect(not isinstance(got, str) and got.data == want, (msn, path, got, want[:50]))
            for o, n in ranges:
                got = g[f"BINARY[{path}]<{o}>"]
                expect(not isinstance(got, str) and got.data == want[o:o + n],
                       (msn, path, o, n, got))


def test_lf_file_placed_into_cur_then_rebuild(srv):
    """A file another program writes straight into cur/ (no S= size in its
    name) is indexed by `roost check --rebuild` in its CRLF form, mtime
    (the internal date) kept; Roost's own files are left as they are."""
    c = srv.login()
    c.append(msg=ONE_LINE)          # Roost's own: CRLF already
    c.cmd("SELECT INBOX", ok=True)
    [cur] = glob.glob(os.path.join(srv.data_dir, "users", "*", "demo", "Maildir", "cur"))
    for i, m in enumerate((LF_MSG, MANY_LINES)):
        path = os.path.join(cur, f"17000000{i}.M{i}P1.other:2,S")
        with open(path, "wb") as f:
            f.write(m)
        os.utime(path, (1700000000 + i, 1700000000 + i))
    c.line("a LOGOUT")
    while not c.readline().startswith("a OK"):
        pass
    c.close()
    srv.stop()
    srv.roost("check", "-c", srv.conf, "--rebuild", "demo")
    srv.start()
    c = srv.login()
    c.cmd("EXAMINE INBOX", ok=True)
    sizes = {}
    for msn in (1, 2, 3):
        items = fetch(c, msn, "(RFC822.SIZE BODY.PEEK[])")
        u, _ = c.cmd(f"FETCH {msn} INTERNALDATE", ok=True)
        date = re.search(r'INTERNALDATE ("[^"]*")', u[0]).group(1)
        sizes[items["BODY[]"].data] = (items["RFC822.SIZE"], date)
    want = {crlf(ONE_LINE), crlf(LF_MSG), crlf(MANY_LINES)}
    expect(set(sizes) == want, sizes.keys())
    for data, (size, _) in sizes.items():
        expect(size == str(len(data)), (size, len(data)))
    expect(sizes[crlf(LF_MSG)][1] == '"14-Nov-2023 22:13:20 +0000"', sizes[crlf(LF_MSG)])
    u, t = c.cmd("SEARCH HEADER Message-ID lf@example.com", ok=True)
    check_served(c, int(u[0].split()[2]), crlf(LF_MSG))


def test_lf_files_of_other_imap_servers_in_cur_then_rebuild(srv):
    """A Maildir taken over from another server: Dovecot's and Courier's
    file names carry S= (of their LF files; Dovecot adds W=, the size with
    CRLF) but no U=, mbsync's carry U= but no S=.  None of them is a name
    Roost gave, so `roost check --rebuild` stores each in its CRLF form."""
    c = srv.login()
    c.append(msg=ONE_LINE)
    c.cmd("SELECT INBOX", ok=True)
    [cur] = glob.glob(os.path.join(srv.data_dir, "users", "*", "demo", "Maildir", "cur"))
    names = [
        f"1700000000.M1P1.dovecot,S={len(LF_MSG)},W={len(crlf(LF_MSG))}:2,S",
        f"1700000001.M2P1.courier,S={len(MANY_LINES)}:2,",
        "1700000002_1.mbsync,U=7:2,S",
    ]
    for name, m in zip(names, (LF_MSG, MANY_LINES, LF_MSG + b"x\n")):
        with open(os.path.join(cur, name), "wb") as f:
            f.write(m)
    c.line("a LOGOUT")
    while not c.readline().startswith("a OK"):
        pass
    c.close()
    srv.stop()
    srv.roost("check", "-c", srv.conf, "--rebuild", "demo")
    srv.start()
    c = srv.login()
    c.cmd("EXAMINE INBOX", ok=True)
    got = set()
    for msn in (1, 2, 3, 4):
        items = fetch(c, msn, "(RFC822.SIZE BODY.PEEK[])")
        data = items["BODY[]"].data
        expect(items["RFC822.SIZE"] == str(len(data)), (msn, items["RFC822.SIZE"], len(data)))
        got.add(data)
    want = {crlf(ONE_LINE), crlf(LF_MSG), crlf(MANY_LINES), crlf(LF_MSG + b"x\n")}
    expect(got == want, got)
