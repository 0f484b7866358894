"""BINARY (RFC 3516; RFC 9051 6.4.5 and 7.5.2): FETCH BINARY[section-binary]
<partial>, BINARY.PEEK and BINARY.SIZE send a part with its
Content-Transfer-Encoding removed, as a literal8 when the data has a NUL;
an encoding the server cannot remove is NO [UNKNOWN-CTE]; APPEND takes a
literal8 (synchronising or not) whose message holds binary data."""
import base64
import os
import quopri
import re
import socket
import time

from roosttest import expect, server_args, TestFailure

CRLF = b"\r\n"


# ---- reading responses byte-exact (literal8 included) ----

def raw_line(c):
    c.sock.settimeout(c.timeout)
    while b"\r\n" not in c.buf:
        try:
            data = c.sock.recv(65536)
        except socket.timeout:
            raise TestFailure(f"timeout waiting for a line; have {c.buf[:200]!r}")
        if not data:
            raise TestFailure(f"connection closed; have {c.buf[:200]!r}")
        c.buf += data
    line, c.buf = c.buf.split(b"\r\n", 1)
    return line


def raw_response(c):
    """One response as bytes, literals inlined as {n}CRLF<data>."""
    text = raw_line(c)
    while True:
        m = re.search(rb"~?\{(\d+)\}$", text)
        if not m:
            return text
        data = c.read_exact(int(m.group(1)), timeout=60)
        text += CRLF + data + raw_line(c)


def raw_cmd(c, text):
    """Sends TAG TEXT; returns (untagged responses as bytes, tagged line)."""
    tag = c.next_tag()
    c.line(f"{tag} {text}")
    untagged = []
    while True:
        resp = raw_response(c)
        if resp.startswith(tag.encode() + b" "):
            return untagged, resp.decode()
        untagged.append(resp)


class Lit:
    def __init__(self, data, literal8):
        self.data = data
        self.literal8 = literal8

    def __repr__(self):
        return f"Lit({'~' if self.literal8 else ''}{len(self.data)}: {self.data[:40]!r})"


def parse_fetch(resp):
    """b"* n FETCH (NAME value ...)" -> (n, {NAME: value}); a literal is a
    Lit, a list or atom a str.  (Names without spaces only.)"""
    m = re.match(rb"\* (\d+) FETCH \(", resp)
    expect(m, resp[:100])
    pos = m.end()
    items = {}
    while resp[pos:pos + 1] != b")":
        sp = resp.index(b" ", pos)
        name = resp[pos:sp].decode()
        pos = sp + 1
        if resp[pos:pos + 1] == b"(":
            end = resp.index(b")", pos) + 1
            val = resp[pos:end].decode()
        elif resp[pos:pos + 1] in (b"{", b"~"):
            lit8 = resp[pos:pos + 1] == b"~"
            close = resp.index(b"}\r\n", pos)
            n = int(resp[pos + 1 + lit8:close])
            start = close + 3
            val = Lit(resp[start:start + n], lit8)
            end = start + n
        else:
            end = pos
            while resp[end:end + 1] not in (b" ", b")"):
                end += 1
            val = resp[pos:end].decode()
        items[name] = val
        pos = end
        if resp[pos:pos + 1] == b" ":
            pos += 1
    expect(pos == len(resp) - 1, resp[pos:pos + 50])
    return int(m.group(1)), items


def fetch(c, seq, items, uid=False):
    """FETCH that must be OK and answer one message: its items."""
    u, t = raw_cmd(c, f"{'UID ' if uid else ''}FETCH {seq} {items}")
    expect(" OK " in t, (t, u[:2]))
    expect(len(u) == 1, [x[:100] for x in u])
    return parse_fetch(u[0])[1]


def append_raw(c, data, literal8=False, sync=False, box="INBOX"):
    """APPENDs bytes with {n+}, {n}, ~{n+} or ~{n}; returns the tagged line."""
    tag = c.next_tag()
    lit = f"{'~' if literal8 else ''}{{{len(data)}{'' if sync else '+'}}}"
    c.line(f"{tag} APPEND {box} {lit}")
    if sync:
        cont = raw_line(c)
        expect(cont.startswith(b"+"), cont)
    c.send(data + CRLF)
    line = raw_line(c).decode()
    while not line.startswith(tag + " "):
        line = raw_line(c).decode()
    return line


def b64_lines(data):
    enc = base64.b64encode(data)
    return CRLF.join(enc[i:i + 76] for i in range(0, len(enc), 76)) + CRLF


def multipart(parts, boundary=b"b0undary", head=b"Subject: binary test\r\n"):
    """A multipart/mixed message of (headers, body) parts; every body ends
    before the CRLF of the next boundary line."""
    out = head + b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"" + \
        boundary + b"\"\r\n\r\npreamble\r\n"
    for hdr, body in parts:
        out += b"--" + boundary + CRLF + hdr + CRLF + body + CRLF
    return out + b"--" + boundary + b"--\r\n"


# RNG-generated attachment: random bytes (NULs certain) around a run with
# no NUL, so a partial range can fall wholly inside or outside NUL data
def make_attachment():
    no_nul = bytes(range(1, 256)) * 400
    return os.urandom(150000) + no_nul + os.urandom(100000), 150000, 150000 + len(no_nul)


TEXT = "Grüße, naïve café — line one\r\nline two =ends with equals\r\n"
# the part's last CRLF belongs to the boundary that follows it
TEXT_DECODED = TEXT.encode()[:-2]


def setup_attachment(srv):
    c = srv.login()
    att, nn_start, nn_end = make_attachment()
    qp = quopri.encodestring(TEXT.encode().replace(CRLF, b"\n")).replace(b"\n", CRLF)
    msg = multipart([
        (b"Content-Type: text/plain; charset=utf-8\r\n"
         b"Content-Transfer-Encoding: quoted-printable\r\n", qp.rstrip(CRLF)),
        (b"Content-Type: application/octet-stream\r\n"
         b"Content-Transfer-Encoding: base64\r\n", b64_lines(att).rstrip(CRLF)),
    ])
    c.append(msg=msg)
    c.cmd("SELECT INBOX", ok=True)
    return c, msg, att, nn_start, nn_end


# ---- tests ----

def test_capability(srv):
    c = srv.connect()
    greeting = c.greeting()
    expect(" BINARY " in greeting or " BINARY]" in greeting, greeting)
    c = srv.login()
    u, _ = c.cmd("CAPABILITY", ok=True)
    expect("BINARY" in u[0].split(), u)
    c.cmd("ENABLE IMAP4rev2", ok=True)
    u, _ = c.cmd("CAPABILITY", ok=True)
    expect("BINARY" in u[0].split(), u)


def test_base64_and_qp_decoded_exact(srv):
    c, msg, att, _, _ = setup_attachment(srv)
    items = fetch(c, 1, "(BINARY.SIZE[2] BINARY.PEEK[2] BINARY.SIZE[1] BINARY.PEEK[1])")
    expect(items["BINARY.SIZE[2]"] == str(len(att)), items["BINARY.SIZE[2]"])
    got = items["BINARY[2]"]
    expect(isinstance(got, Lit) and got.data == att, "attachment differs")
    expect(got.literal8, "NUL data must be a literal8")
    text = items["BINARY[1]"]
    expect(text.data == TEXT_DECODED, text)
    expect(not text.literal8, "text without NUL is a plain literal")
    expect(items["BINARY.SIZE[1]"] == str(len(TEXT_DECODED)), items)
    # the encoded form is still what BODY[2] returns
    body = fetch(c, 1, "BODY.PEEK[2]")["BODY[2]"]
    expect(base64.b64decode(body.data) == att)
    # BINARY.SIZE alone, then BINARY alone: both measure from scratch
    items = fetch(c, 1, "BINARY.SIZE[2]")
    expect(items == {"BINARY.SIZE[2]": str(len(att))}, items)
    items = fetch(c, 1, "BINARY.PEEK[2]")
    expect(items["BINARY[2]"].data == att)


def test_partial_ranges(srv):
    c, msg, att, nn_start, nn_end = setup_attachment(srv)
    n = len(att)
    # the server decodes 64 KiB of the part's base64 at a time: ranges
    # around where those chunks end in the decoded data, and across them
    enc = b64_lines(att)
    ends = [len(enc[:65536 * k].replace(CRLF, b"")) * 3 // 4 for k in (1, 2, 3)]
    ranges = [(0, 1), (0, n), (0, n + 100), (49000, 2000), (65535, 70000),
              (98303, 98306), (n - 10, 100), (n - 1, 1), (n, 5), (n + 10, 5),
              (nn_start + 10, 20000)]
    for e in ends:
        ranges += [(e - 2, 4), (e - 1, 1), (e, 1), (e - 5000, 60000)]
    spec = " ".join(f"BINARY.PEEK[2]<{o}.{k}>" for o, k in ranges)
    u, t = raw_cmd(c, f"FETCH 1 ({spec})")
    expect(" OK " in t and len(u) == 1, t)
    # the same origin twice gives the same name: check in order instead
    body = u[0]
    pos = body.index(b"(") + 1
    for o, k in ranges:
        want = att[o:o + k]
        name = f"BINARY[2]<{o}> ".encode()
        expect(body[pos:pos + len(name)] == name, (o, k, body[pos:pos + 40]))
        pos += len(name)
        lit8 = b"\0" in want
        head = (b"~" if lit8 else b"") + b"{%d}\r\n" % len(want)
        expect(body[pos:pos + len(head)] == head, (o, k, body[pos:pos + 20], head))
        pos += len(head)
        expect(body[pos:pos + len(want)] == want, f"<{o}.{k}> differs")
        pos += len(want)
        if body[pos:pos + 1] == b" ":
            pos += 1
    expect(body[pos:] == b")", body[pos:pos + 20])
    # a range wholly inside the NUL-free run is a plain literal
    items = fetch(c, 1, f"BINARY.PEEK[2]<{nn_start}.{nn_end - nn_start}>")
    lit = items[f"BINARY[2]<{nn_start}>"]
    expect(not lit.literal8 and lit.data == att[nn_start:nn_end], lit)
    # a partial QP range
    items = fetch(c, 1, "BINARY.PEEK[1]<3.5>")
    expect(items["BINARY[1]<3>"].data == TEXT_DECODED[3:8], items)


def test_large_attachment_streams_to_slow_reader(srv):
    # 4 MB decoded, 5.4 MB encoded: the literal is written across many
    # resumptions while the client does not read
    c = srv.login()
    att = os.urandom(4 * 1024 * 1024)
    msg = multipart([(b"Content-Type: text/plain\r\n", b"see attached"),
                     (b"Content-Type: application/zip\r\n"
                      b"Content-Transfer-Encoding: base64\r\n", b64_lines(att).rstrip(CRLF))])
    c.send(f"a1 APPEND INBOX {{{len(msg)}+}}\r\n".encode() + msg + CRLF)
    expect(raw_line(c).startswith(b"a1 OK"))
    c.cmd("SELECT INBOX", ok=True)
    c.line("f1 FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2] BINARY.PEEK[2]<1000000.2000000>)")
    time.sleep(1)
    u = raw_response(c)
    items = parse_fetch(u)[1]
    expect(items["BINARY[2]"].data == att, "attachment differs")
    expect(items["BINARY.SIZE[2]"] == str(len(att)))
    expect(items["BINARY[2]<1000000>"].data == att[1000000:3000000])
    expect(raw_line(c) == b"f1 OK Fetch completed.")


def test_seen(srv):
    c, msg, att, _, _ = setup_attachment(srv)
    for item in ("BINARY.PEEK[1]", "BINARY.SIZE[2]", "BINARY.PEEK[]"):
        items = fetch(c, 1, item)
        expect("FLAGS" not in items, (item, items.keys()))
    u, _ = c.cmd("FETCH 1 FLAGS", ok=True)
    expect(u == ["* 1 FETCH (FLAGS (\\Recent))"], u)
    items = fetch(c, 1, "BINARY[1]")
    expect(items["FLAGS"] == "(\\Seen \\Recent)", items)
    expect(items["BINARY[1]"].data == TEXT_DECODED)
    # read-only: BINARY sets nothing
    c.cmd("STORE 1 -FLAGS.SILENT (\\Seen)", ok=True)
    c.cmd("EXAMINE INBOX", ok=True)
    items = fetch(c, 1, "BINARY[1]")
    expect("FLAGS" not in items, items)
    u, _ = c.cmd("FETCH 1 FLAGS", ok=True)
    expect(len(u) == 1 and "\\Seen" not in u[0], u)


def test_whole_message_and_single_part(srv):
    c = srv.login()
    data = os.urandom(3000)
    single = (b"Subject: one part\r\nContent-Type: image/png\r\n"
              b"Content-Transfer-Encoding: BASE64\r\n\r\n" + b64_lines(data))
    c.append(msg=single)
    c.cmd("SELECT INBOX", ok=True)
    items = fetch(c, 1, "(RFC822.SIZE BINARY.SIZE[] BINARY.PEEK[] BINARY.SIZE[1] BINARY.PEEK[1])")
    # BINARY[] is the message as stored: a message has no transfer
    # encoding of its own; BINARY[1] is its body, decoded
    expect(items["BINARY[]"].data == single and not items["BINARY[]"].literal8)
    expect(items["BINARY.SIZE[]"] == items["RFC822.SIZE"] == str(len(single)), items)
    expect(items["BINARY[1]"].data == data, "body differs")
    expect(items["BINARY[1]"].literal8 == (b"\0" in data))
    expect(items["BINARY.SIZE[1]"] == str(len(data)))
    items = fetch(c, 1, "BINARY.PEEK[]<10.20>")
    expect(items["BINARY[]<10>"].data == single[10:30], items)
    # parts a single-part message does not have
    items = fetch(c, 1, "(BINARY.PEEK[2] BINARY.SIZE[1.1] BINARY.PEEK[1.1])")
    expect(items == {"BINARY[2]": "NIL", "BINARY.SIZE[1.1]": "0", "BINARY[1.1]": "NIL"}, items)


INNER_B64 = b"inner attachment\x00\x01\x02 with a NUL"
INNER = (b"From: Carol <carol@example.net>\r\n"
         b"Subject: inner\r\n"
         b"MIME-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=\"in\"\r\n"
         b"\r\n"
         b"--in\r\n"
         b"Content-Type: text/plain\r\n"
         b"Content-Transfer-Encoding: quoted-printable\r\n"
         b"\r\n"
         b"soft=\r\nbreak and =3D sign\r\n"
         b"--in\r\n"
         b"Content-Type: application/octet-stream\r\n"
         b"Content-Transfer-Encoding: base64\r\n"
         b"\r\n" + b64_lines(INNER_B64) +
         b"--in--\r\n")
# unix line ends inside base64: a text part is sent with CRLF (RFC 9051
# 7.5.2), a non-text one exactly as decoded
LF_TEXT = b"first\nsecond\r\nthird\n"


def test_nested_parts(srv):
    c = srv.login()
    msg = multipart([
        (b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n",
         b64_lines(LF_TEXT).rstrip(CRLF)),
        (b"Content-Type: message/rfc822\r\n", INNER.rstrip(CRLF)),
        (b"Content-Type: application/x-lf\r\nContent-Transfer-Encoding: base64\r\n",
         b64_lines(LF_TEXT).rstrip(CRLF)),
    ])
    c.append(msg=msg)
    c.cmd("SELECT INBOX", ok=True)
    items = fetch(c, 1, "(BINARY.PEEK[1] BINARY.SIZE[1] BINARY.PEEK[3] BINARY.SIZE[3])")
    want = b"first\r\nsecond\r\nthird\r\n"
    expect(items["BINARY[1]"].data == want, items["BINARY[1]"])
    expect(items["BINARY.SIZE[1]"] == str(len(want)), items)
    expect(items["BINARY[3]"].data == LF_TEXT, items["BINARY[3]"])
    expect(items["BINARY.SIZE[3]"] == str(len(LF_TEXT)), items)
    # partial ranges count the CRLF the server sends
    items = fetch(c, 1, "BINARY.PEEK[1]<5.4>")
    expect(items["BINARY[1]<5>"].data == want[5:9], items)
    items = fetch(c, 1, "(BINARY.PEEK[2.1] BINARY.SIZE[2.1] BINARY.PEEK[2.2] BINARY.SIZE[2.2])")
    expect(items["BINARY[2.1]"].data == b"softbreak and = sign", items)
    expect(items["BINARY.SIZE[2.1]"] == "20", items)
    expect(items["BINARY[2.2]"].data == INNER_B64 and items["BINARY[2.2]"].literal8, items)
    expect(items["BINARY.SIZE[2.2]"] == str(len(INNER_B64)), items)
    # a message/rfc822 part and a multipart have only the identity
    # encodings (RFC 2045 6.4): their content as stored, like BODY[...]
    items = fetch(c, 1, "(BINARY.PEEK[2] BODY.PEEK[2] BINARY.SIZE[2])")
    expect(items["BINARY[2]"].data == items["BODY[2]"].data == INNER.rstrip(CRLF), items)
    expect(items["BINARY.SIZE[2]"] == str(len(INNER) - 2), items)
    items = fetch(c, 1, "(BINARY.PEEK[2.1] BINARY.PEEK[2.3] BINARY.PEEK[4] BINARY.SIZE[4])")
    expect(items["BINARY[2.3]"] == "NIL" and items["BINARY[4]"] == "NIL", items)
    expect(items["BINARY.SIZE[4]"] == "0", items)


def test_unknown_cte(srv):
    c = srv.login()
    c.append(msg=multipart([(b"Content-Type: text/plain\r\n", b"plain"),
                            (b"Content-Transfer-Encoding: base64\r\n", b"aGVsbG8=")]))
    for cte in (b"x-uuencode", b"garbage; (not a token)"):
        c.append(msg=multipart([
            (b"Content-Type: text/plain\r\n", b"plain"),
            (b"Content-Type: application/octet-stream\r\n"
             b"Content-Transfer-Encoding: " + cte + b"\r\n",
             b"begin 644 x\r\n#86)C\r\n`\r\nend")]))
    c.cmd("SELECT INBOX", ok=True)
    for item in ("BINARY.PEEK[2]", "BINARY.SIZE[2]", "BINARY[2]",
                 "(BINARY.PEEK[1] BINARY.PEEK[2])", "(UID FLAGS BINARY.SIZE[2])"):
        for msn in (2, 3):
            u, t = raw_cmd(c, f"FETCH {msn} {item}")
            expect(u == [] and re.fullmatch(r"t\d+ NO \[UNKNOWN-CTE\] .*", t), (item, u, t))
    # nothing was set by the failed BINARY[2]
    u, _ = c.cmd("FETCH 1:3 FLAGS", ok=True)
    expect(len(u) == 3 and all("\\Seen" not in x for x in u), u)
    # the other parts and BODY[2] are fine
    items = fetch(c, 2, "(BINARY.PEEK[1] BODY.PEEK[2])")
    expect(items["BINARY[1]"].data == b"plain", items)
    expect(items["BODY[2]"].data == b"begin 644 x\r\n#86)C\r\n`\r\nend", items)
    # the messages before the one that fails are answered, then NO
    u, t = raw_cmd(c, "FETCH 1:3 BINARY.PEEK[2]")
    expect(re.fullmatch(r"t\d+ NO \[UNKNOWN-CTE\] .*", t), t)
    expect(u == [b"* 1 FETCH (BINARY[2] {5}\r\nhello)"], u)
    u, t = raw_cmd(c, "UID FETCH 1 BINARY.PEEK[2]")
    expect(" OK " in t and u == [b"* 1 FETCH (UID 1 BINARY[2] {5}\r\nhello)"], (u, t))
    # implicit \Seen: 1 is answered with its flags, 2 fails; the \Seen
    # set in advance on 2 and 3 is taken back, so nothing but 1 changed
    u, t = raw_cmd(c, "FETCH 1:3 BINARY[2]")
    expect(re.fullmatch(r"t\d+ NO \[UNKNOWN-CTE\] .*", t), t)
    expect(len(u) == 1, u)
    first = parse_fetch(u[0])
    expect(first[0] == 1 and "\\Seen" in first[1]["FLAGS"], u)
    u, _ = raw_cmd(c, "FETCH 1:3 FLAGS")
    expect(len(u) == 3 and b"\\Seen" in u[0] and b"\\Seen" not in u[1] + u[2], u)
    # and another session sees the same
    d = srv.login()
    d.cmd("EXAMINE INBOX", ok=True)
    u, _ = raw_cmd(d, "FETCH 1:3 FLAGS")
    expect(len(u) == 3 and b"\\Seen" in u[0] and b"\\Seen" not in u[1] + u[2], u)


# many BADs in a row: lift the limit of consecutive bad commands
@server_args(extra_conf="max_bad_commands = 1000")
def test_section_syntax_errors(srv):
    c, msg, att, _, _ = setup_attachment(srv)
    bad = ["BINARY[1.HEADER]", "BINARY[HEADER]", "BINARY[TEXT]", "BINARY[1.MIME]",
           "BINARY[1.TEXT]", "BINARY.PEEK[2.HEADER.FIELDS (From)]", "BINARY[0]",
           "BINARY[1.]", "BINARY[1.0]", "BINARY[x]", "BINARY[", "BINARY[1",
           "BINARY.SIZE[1]<0.5>", "BINARY[]<1>", "BINARY[]<0.0>", "BINARY.PEEK[1]x",
           "BINARY.SIZ[1]", "BINARY.PEEKS[1]", "BINARY", "BINARY.SIZE",
           "BINARY[4294967296]"]
    for item in bad:
        u, t = c.cmd(f"FETCH 1 {item}", ok=False)
        expect(" BAD " in t and u == [], (item, u, t))
    u, _ = c.cmd("FETCH 1 FLAGS", ok=True)
    expect(len(u) == 1 and "\\Seen" not in u[0], u)
    # case does not matter
    items = fetch(c, 1, "binary.peek[1]")
    expect(items["BINARY[1]"].data == TEXT_DECODED, items)


ALL_BYTES = bytes(range(256)) * 8


def binary_msg():
    return multipart([
        (b"Content-Type: text/plain\r\n", b"see the binary part"),
        (b"Content-Type: application/octet-stream\r\n"
         b"Content-Transfer-Encoding: binary\r\n", ALL_BYTES),
    ])


def test_append_literal8_with_nul(srv):
    c = srv.login()
    msg = binary_msg()
    # a plain literal must not hold NUL (CHAR8): BAD
    t = append_raw(c, msg)
    expect(" BAD " in t, t)
    # literal8, synchronising and not
    t = append_raw(c, msg, literal8=True, sync=True)
    expect(re.fullmatch(r"t\d+ OK \[APPENDUID \d+ 1\] Append completed\.", t), t)
    t = append_raw(c, msg, literal8=True, sync=False)
    expect(re.fullmatch(r"t\d+ OK \[APPENDUID \d+ 2\] Append completed\.", t), t)
    # a literal8 without NUL is fine too
    t = append_raw(c, b"Subject: plain\r\n\r\nno nul\r\n", literal8=True)
    expect(" OK " in t, t)
    c.cmd("SELECT INBOX", ok=True)
    for msn in (1, 2):
        items = fetch(c, msn, "(RFC822.SIZE BINARY.SIZE[2] BINARY.PEEK[2] BINARY.PEEK[1] "
                               "BINARY.PEEK[]<0.8>)")
        expect(items["RFC822.SIZE"] == str(len(msg)), items)
        expect(items["BINARY.SIZE[2]"] == str(len(ALL_BYTES)), items)
        expect(items["BINARY[2]"].literal8 and items["BINARY[2]"].data == ALL_BYTES,
               items["BINARY[2]"])
        expect(not items["BINARY[1]"].literal8 and
               items["BINARY[1]"].data == b"see the binary part", items)
        expect(not items["BINARY[]<0>"].literal8, items)
    # the whole message, exactly as sent, as a literal8
    items = fetch(c, 1, "BINARY.PEEK[]")
    expect(items["BINARY[]"].literal8 and items["BINARY[]"].data == msg)
    # the literal8 message without NUL
    u, _ = c.cmd("FETCH 3 BINARY.PEEK[1]", ok=True)
    expect(u == ["* 3 FETCH (BINARY[1] {8}\r\nno nul\r\n)"], u)
    # BODY[] may not carry NUL (RFC 9051 4.3): a plain literal of the same
    # size with 0x80 in place of each NUL, as Dovecot sends it
    items = fetch(c, 1, "(BODY.PEEK[] BODY.PEEK[2])")
    expect(not items["BODY[]"].literal8 and
           items["BODY[]"].data == msg.replace(b"\0", b"\x80"), items["BODY[]"])
    expect(items["BODY[2]"].data == ALL_BYTES.replace(b"\0", b"\x80"))


def test_append_literal8_spooled(srv):
    # larger than what the parser keeps in memory: spooled to a file
    c = srv.login()
    blob = os.urandom(600 * 1024)
    msg = multipart([(b"Content-Type: application/octet-stream\r\n"
                      b"Content-Transfer-Encoding: binary\r\n", blob)])
    t = append_raw(c, msg, literal8=True, sync=True)
    expect(" OK " in t, t)
    qp = multipart([(b"Content-Type: application/octet-stream\r\n"
                     b"Content-Transfer-Encoding: quoted-printable\r\n",
                     b"a=00b=\r\nc")])
    c.append(msg=qp)
    c.cmd("SELECT INBOX", ok=True)
    items = fetch(c, 1, "(BINARY.SIZE[1] BINARY.PEEK[1])")
    expect(items["BINARY.SIZE[1]"] == str(len(blob)), items)
    expect(items["BINARY[1]"].data == blob, "spooled binary part differs")
    items = fetch(c, 2, "BINARY.PEEK[1]")
    expect(items["BINARY[1]"].literal8 and items["BINARY[1]"].data == b"a\0bc", items)


def test_broken_encodings_decoded_tolerantly(srv):
    c = srv.login()
    msg = multipart([
        (b"Content-Transfer-Encoding: base64\r\n", b"aGVs*bG8g!d29y\r\nbGQ"),
        (b"Content-Transfer-Encoding: quoted-printable\r\n", b"bad =XY and =4 end="),
        (b"Content-Transfer-Encoding: base64\r\n", b"===="),
        (b"Content-Transfer-Encoding: base64\r\n", b""),
    ])
    c.append(msg=msg)
    c.cmd("SELECT INBOX", ok=True)
    items = fetch(c, 1, "(BINARY.PEEK[1] BINARY.SIZE[1] BINARY.PEEK[2] BINARY.SIZE[2] "
                        "BINARY.PEEK[3] BINARY.SIZE[3] BINARY.PEEK[4])")
    # skipped garbage; the last 2 bits without padding are dropped
    expect(items["BINARY[1]"].data == b"hello world", items)
    expect(items["BINARY.SIZE[1]"] == "11", items)
    expect(items["BINARY[2]"].data == b"bad =XY and =4 end", items)
    expect(items["BINARY.SIZE[2]"] == "18", items)
    expect(items["BINARY[3]"].data == b"" and items["BINARY.SIZE[3]"] == "0", items)
    expect(items["BINARY[4]"].data == b"", items)
    # more than one read chunk of garbage before the data: a chunk that
    # decodes to nothing
    data = os.urandom(1000)
    c.append(msg=multipart([(b"Content-Type: application/octet-stream\r\n"
                             b"Content-Transfer-Encoding: base64\r\n",
                             b"!" * 140000 + CRLF + b64_lines(data))]))
    items = fetch(c, 2, "(BINARY.SIZE[1] BINARY.PEEK[1] BINARY.PEEK[1]<10.20>)")
    expect(items["BINARY.SIZE[1]"] == "1000" and items["BINARY[1]"].data == data, items)
    expect(items["BINARY[1]<10>"].data == data[10:30], items)


def test_expunged_message(srv):
    a = srv.login()
    a.append(msg=binary_msg().replace(b"binary\r\n", b"8bit\r\n").replace(b"\0", b"0"))
    a.append(msg=multipart([(b"Content-Transfer-Encoding: base64\r\n", b"aGVsbG8=")]))
    a.cmd("SELECT INBOX", ok=True)
    b = srv.login()
    b.cmd("SELECT INBOX", ok=True)
    a.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)", ok=True)
    a.cmd("EXPUNGE", ok=True)
    u, t = raw_cmd(b, "FETCH 2 (BINARY.PEEK[1] BINARY.SIZE[1])")
    expect(u == [] and "[EXPUNGEISSUED]" in t and " OK " in t, (u, t))
    # the message that is gone is left out (RFC 2180 4.1.2)
    u, t = raw_cmd(b, "FETCH 1:2 (UID BINARY.SIZE[1])")
    expect("[EXPUNGEISSUED]" in t, t)
    expect(u == [b"* 1 FETCH (UID 1 BINARY.SIZE[1] 19)"], u)
    # UID FETCH of the expunged uid: no FETCH data for it (the EXPUNGE
    # may be reported now)
    u, t = raw_cmd(b, "UID FETCH 2 BINARY.PEEK[1]")
    expect(all(b"BINARY" not in x for x in u), (u, t))


def test_uid_fetch_binary(srv):
    c, msg, att, _, _ = setup_attachment(srv)
    c.append(msg=msg)
    u, t = raw_cmd(c, "UID FETCH 2 (BINARY.SIZE[2] BINARY.PEEK[1])")
    expect(" OK " in t and len(u) == 1, t)
    n, items = parse_fetch(u[0])
    expect(n == 2 and items["UID"] == "2", items)
    expect(list(items) == ["UID", "BINARY.SIZE[2]", "BINARY[1]"], items)
    expect(items["BINARY.SIZE[2]"] == str(len(att)), items)
    expect(items["BINARY[1]"].data == TEXT_DECODED, items)
    # UID FETCH BINARY (not PEEK) sets \Seen
    u, t = raw_cmd(c, "UID FETCH 1:* BINARY[1]<0.5>")
    expect(len(u) == 2, u)
    for resp in u:
        items = parse_fetch(resp)[1]
        expect("\\Seen" in items["FLAGS"] and items["BINARY[1]<0>"].data == TEXT_DECODED[:5],
               items)


def test_literal8_nul_in_header_and_8bit_part(srv):
    # NUL where no MIME rule allows it: stored as sent, parsed without
    # harm; BINARY sends it as literal8, and what has no NUL stays a
    # plain literal
    c = srv.login()
    msg = (b"Subject: nul\x00here\r\nX-Bin: \x00\x01\x02\r\n"
           b"Content-Type: multipart/mixed; boundary=z\r\n\r\n"
           b"--z\r\nContent-Transfer-Encoding: 8bit\r\n\r\n8bit \x00 part\r\n"
           b"--z\r\nContent-Type: text/plain\r\n\r\nline\nbare lf\r\n"
           b"--z--\r\n")
    t = append_raw(c, msg, literal8=True)
    expect(" OK " in t, t)
    c.cmd("SELECT INBOX", ok=True)
    u, t = raw_cmd(c, "FETCH 1 (ENVELOPE BODYSTRUCTURE)")
    expect(" OK " in t and len(u) == 1, (u, t))
    items = fetch(c, 1, "(BINARY.PEEK[1] BINARY.PEEK[2] BINARY.SIZE[2] BINARY.PEEK[])")
    expect(items["BINARY[1]"].literal8 and items["BINARY[1]"].data == b"8bit \x00 part", items)
    # text/plain, 7bit: bare LF goes out as CRLF
    expect(not items["BINARY[2]"].literal8 and
           items["BINARY[2]"].data == b"line\r\nbare lf", items)
    expect(items["BINARY.SIZE[2]"] == "13", items)
    # stored as sent but for the 7bit part's bare LF, a line break that
    # the literal8 APPEND made CRLF (cmd-append.c)
    stored = msg.replace(b"line\nbare", b"line\r\nbare")
    expect(items["BINARY[]"].literal8 and items["BINARY[]"].data == stored, items)


def test_unknown_cte_sets_no_seen_ahead(srv):
    """With BINARY items \\Seen is set message by message, after the
    UNKNOWN-CTE check: while a FETCH 1:3 BINARY[1] is stalled on message
    1, messages 2 (x-uuencode) and 3 are not \\Seen, and a \\Seen another
    session sets on 3 meanwhile survives the NO."""
    a = srv.login()
    att = os.urandom(8 * 1024 * 1024)
    big = multipart([(b"Content-Type: application/zip\r\n"
                      b"Content-Transfer-Encoding: base64\r\n", b64_lines(att).rstrip(CRLF))])
    a.send(f"a1 APPEND INBOX {{{len(big)}+}}\r\n".encode() + big + CRLF)
    expect(raw_line(a).startswith(b"a1 OK"))
    a.append(msg=multipart([(b"Content-Transfer-Encoding: x-uuencode\r\n", b"begin 644 x")]))
    a.append(msg=multipart([(b"Content-Type: text/plain\r\n", b"plain")]))
    a.cmd("SELECT INBOX", ok=True)
    a.line("f1 FETCH 1:3 BINARY[1]")
    time.sleep(1)            # A does not read: its output stalls in message 1
    b = srv.login()
    b.cmd("SELECT INBOX", ok=True)
    u, _ = raw_cmd(b, "FETCH 2:3 FLAGS")
    expect(len(u) == 2 and all(b"\\Seen" not in x for x in u), u)
    u, _ = raw_cmd(b, "STORE 3 +FLAGS (\\Seen)")
    expect(len(u) == 1 and b"\\Seen" in u[0], u)
    resp = raw_response(a)
    expect(parse_fetch(resp)[1]["BINARY[1]"].data == att)
    line = raw_line(a)
    while line.startswith(b"* "):
        line = raw_line(a)
    expect(re.fullmatch(rb"f1 NO \[UNKNOWN-CTE\] .*", line), line)
    u, _ = raw_cmd(b, "FETCH 1:3 FLAGS")
    flags = [parse_fetch(x)[1]["FLAGS"] for x in u if b"FETCH" in x]
    expect(len(flags) == 3 and "\\Seen" in flags[0] and "\\Seen" not in flags[1]
           and "\\Seen" in flags[2], flags)


def test_stand_in_part_measured_apart(srv):
    """An encoded message/rfc822 part (2) is not parsed inside, so its
    BODYSTRUCTURE shows an empty stand-in part 2.1, which shares part 2's
    part map entry: each is measured on its own, whatever else the FETCH
    asks for (RFC 3516 4.3: BINARY.SIZE matches what BINARY returns)."""
    c = srv.login()
    inner = b"Subject: inner\r\n\r\nhello inner\r\n"
    c.append(msg=multipart([(b"Content-Type: text/plain\r\n", b"plain"),
                            (b"Content-Type: message/rfc822\r\n"
                             b"Content-Transfer-Encoding: base64\r\n",
                             b64_lines(inner).rstrip(CRLF))]))
    c.cmd("SELECT INBOX", ok=True)
    alone = {}
    for item in ("BINARY.SIZE[2]", "BINARY.SIZE[2.1]", "BINARY.PEEK[2]", "BINARY.PEEK[2.1]"):
        items = fetch(c, 1, item)
        alone.update(items)
    expect(alone["BINARY.SIZE[2]"] == str(len(inner)), alone)
    expect(alone["BINARY[2]"].data == inner, alone)
    expect(alone["BINARY.SIZE[2.1]"] == str(len(alone["BINARY[2.1]"].data or b"")), alone)
    for items in ("(BINARY.SIZE[2] BINARY.SIZE[2.1] BINARY.PEEK[2] BINARY.PEEK[2.1])",
                  "(BINARY.PEEK[2.1] BINARY.PEEK[2] BINARY.SIZE[2.1] BINARY.SIZE[2])"):
        got = fetch(c, 1, items)
        for k in alone:
            a, g = alone[k], got[k]
            expect(a == g if isinstance(a, str) else a.data == g.data, (items, k, a, g))
