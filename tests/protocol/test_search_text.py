"""SEARCH on decoded text (RFC 9051 6.4.4): header keys match the unfolded,
RFC 2047-decoded field values, BODY and TEXT the text parts after
base64/quoted-printable decoding and charset conversion, all with
i;unicode-casemap (RFC 5051) substring matching.  Needles of 3 characters
or more are answered from the full-text index kept at delivery, shorter
ones and messages not indexed yet by scanning the stored text; both must
give the same answers.  The index follows COPY, MOVE, EXPUNGE, mail
dropped into new/ and `roost check --rebuild`."""
import base64
import glob
import os
import sqlite3

from roosttest import expect


def b64(s, charset="utf-8"):
    return base64.b64encode(s.encode(charset)).decode()


def ew_b(s, charset, codec):
    return f"=?{charset}?B?{b64(s, codec)}?="


# 1: subject in UTF-8 B, From name in ISO-8859-1 Q, body base64 UTF-8
MSG1 = ("From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.de>\r\n"
        "To: Bob <bob@example.com>\r\n"
        f"Subject: {ew_b('Grüße aus München', 'UTF-8', 'utf-8')}\r\n"
        "X-Flag:\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        + b64("Der Ärger mit der straße ist groß.\nﬁnance office\n") + "\r\n")

# 2: Windows-1252 Q subject, QP ISO-8859-1 body with a soft line break
# inside a word
MSG2 = ("From: Carol <carol@example.org>\r\n"
        "Date: Tue, 3 Mar 2020 10:00:00 +0100\r\n"
        "Cc: =?windows-1252?Q?=93Dave=94_D=E9j=E0?= <dave@example.org>\r\n"
        "Subject: =?windows-1252?Q?Preis_=80_100?=\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=ISO-8859-1\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "Caf=E9 cr=E8me br=FBl=E9e\r\n"
        "supercalifragil=\r\n"
        "isticexpialidocious\r\n")

# 3: ISO-2022-JP subject; multipart with a text part and a base64 image
# whose decoded bytes hold a word BODY must not find
IMAGE = base64.b64encode(b"\x89PNG\r\n\x1a\nsecretpixelword\x00\x01").decode()
MSG3 = ("From: =?ISO-2022-JP?B?" +
        base64.b64encode("山田".encode("iso2022_jp")).decode() +
        "?= <yamada@example.jp>\r\n"
        f"Subject: {ew_b('日本語のテスト', 'ISO-2022-JP', 'iso2022_jp')}\r\n"
        "Bcc: hidden@example.net\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n'
        "\r\n"
        "preamblewordxyz\r\n"
        "--b1\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "see the attached picture\r\n"
        "--b1\r\n"
        "Content-Type: image/png\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        f"{IMAGE}\r\n"
        "--b1--\r\n")

# 4: an embedded message/rfc822 with an encoded subject and a QP body;
# a folded Subject with encoded words split over two lines
MSG4 = ("From: Erin <erin@example.com>\r\n"
        "Subject: Fwd: =?UTF-8?Q?Gr=C3=BC?=\r\n"
        " =?UTF-8?Q?=C3=9Fe_und?= hello\r\n"
        "\tworld\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="outer"\r\n'
        "\r\n"
        "--outer\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "forwarded below\r\n"
        "--outer\r\n"
        "Content-Type: message/rfc822\r\n"
        "\r\n"
        "From: Frank <frank@example.com>\r\n"
        "Subject: =?UTF-8?B?" + b64("innersubjectword Ölkanne") + "?=\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "innerbodyword =C3=A4rger\r\n"
        "--outer--\r\n")

MSGS = [MSG1, MSG2, MSG3, MSG4]


def search(c, *args, prefix="SEARCH"):
    """SEARCH with args; bytes arguments go as literals (UTF-8)."""
    tag = c.next_tag()
    out = f"{tag} {prefix} CHARSET UTF-8".encode()
    for a in args:
        if isinstance(a, bytes):
            out += b" {%d+}\r\n" % len(a) + a
        elif " " in a:
            out += b' "' + a.encode() + b'"'
        else:
            out += b" " + a.encode()
    c.send(out + b"\r\n")
    untagged = []
    while True:
        line = c.read_response_line()
        if line.startswith(tag + " "):
            expect(line.startswith(tag + " OK"), (args, line))
            break
        untagged.append(line)
    hits = [u for u in untagged if u.startswith("* SEARCH")]
    expect(len(hits) == 1, untagged)
    return [int(n) for n in hits[0].split()[2:]]


def s(text):
    return text.encode("utf-8")


def expect_search(c, want, *args):
    got = search(c, *args)
    expect(got == want, f"{args}: got {got}, want {want}")


def setup(srv):
    c = srv.login()
    for m in MSGS:
        c.append(msg=m.encode("utf-8"))
    c.cmd("SELECT INBOX", ok=True)
    return c


def userdir(srv):
    return glob.glob(os.path.join(srv.data_dir, "users", "*", "demo"))[0]


def fts_rows(srv):
    db = sqlite3.connect(os.path.join(userdir(srv), "index.sqlite"))
    try:
        return db.execute("SELECT rowid >> 32, rowid & 4294967295 "
                          "FROM text_indexed ORDER BY rowid").fetchall()
    finally:
        db.close()


CASES = [
    # RFC 2047 B and Q in UTF-8, ISO-8859-1, Windows-1252, ISO-2022-JP
    ([1], "SUBJECT", s("grüße aus")),
    ([1], "FROM", s("Jörg Müller")),
    ([1], "FROM", s("JÖRG")),
    ([1], "FROM", "joerg@example.de"),
    ([2], "SUBJECT", s("Preis € 100")),
    ([2], "CC", s("“Dave” Déjà")),
    ([3], "SUBJECT", s("日本語のテスト")),
    ([3], "SUBJECT", s("テスト")),
    ([3], "FROM", s("山田")),
    ([3], "BCC", "hidden"),
    ([1], "TO", "bob"),
    # the raw encoded form is not the value
    ([], "SUBJECT", "=?windows-1252?Q?Preis"),
    ([], "FROM", "J=F6rg"),
    # unfolding, and encoded words split over two lines
    ([4], "SUBJECT", s("Fwd: Grüße und hello\tworld")),
    ([1, 4], "SUBJECT", s("grüße")),
    # i;unicode-casemap: titlecase + compatibility decomposition
    ([1, 4], "BODY", s("ÄRGER")),
    ([1], "BODY", s("STRAßE")),
    # RFC 5051 uses the simple titlecase mapping: ß stays ß, so
    # "STRASSE" is not "straße"
    ([], "BODY", "STRASSE"),
    ([1], "BODY", s("ﬁnance")),
    # the ligature U+FB01 has no simple titlecase mapping and decomposes
    # to a lowercase "fi" after titlecasing (RFC 5051 2.(1)(a) then (2)),
    # so plain FINANCE does not find it, while "office" is found by "fi"
    ([], "BODY", "FINANCE"),
    ([1], "BODY", "OFFICE"),
    ([2], "BODY", "cafe"),
    ([2], "BODY", s("CAFÉ CRÈME")),
    # transfer decoding: base64 and QP, a soft line break inside a word
    ([1], "BODY", "mit der"),
    ([2], "BODY", "supercalifragilisticexpialidocious"),
    ([], "BODY", b64("Der Ärger mit der straße")[:12]),
    # a non-text part is not searched, neither decoded nor raw; nor the
    # preamble or part headers
    ([], "BODY", "secretpixelword"),
    ([], "TEXT", "secretpixelword"),
    ([], "BODY", IMAGE[:12]),
    ([], "BODY", "preamblewordxyz"),
    ([], "BODY", "image/png"),
    ([3], "BODY", "attached picture"),
    # an embedded message: its header and text are in the body
    ([4], "BODY", "innersubjectword"),
    ([4], "BODY", s("ölkanne")),
    ([4], "BODY", "innerbodyword"),
    ([], "SUBJECT", "innersubjectword"),
    ([4], "TEXT", "innersubjectword"),
    # TEXT: header-only and body-only words, field names too
    ([2], "TEXT", "carol@example"),
    ([2], "TEXT", "isticexp"),
    ([], "BODY", "carol@example"),
    ([1, 2, 3, 4], "TEXT", "subject:"),
    # HEADER: any field; "" matches every message with the field
    ([1], "HEADER", "X-Flag", '""'),
    ([1], "HEADER", "x-flag", '""'),
    ([], "HEADER", "X-Missing", '""'),
    ([1, 2, 3, 4], "HEADER", "MIME-Version", '"1.0"'),
    ([3, 4], "HEADER", "Content-Type", "multipart"),
    ([1, 2, 3, 4], "SUBJECT", '""'),
    # NOT, OR
    ([2, 3], "NOT", "BODY", s("ärger")),
    ([1, 2, 4], "OR", "BODY", s("ärger"), "SUBJECT", "preis"),
]


def test_decoded_text_keys(srv):
    c = setup(srv)
    for want, *args in CASES:
        expect_search(c, want, *args)


def test_short_and_long_needles_agree(srv):
    """Needles of 1, 2, 3 and more characters (after casemapping): the
    short ones are matched by scanning the stored text, the others come
    from the index; the answers follow the same rules."""
    c = setup(srv)
    cases = [
        ([1, 4], s("Ä")), ([1, 4], s("är")), ([1, 4], s("ärg")),
        ([1, 4], s("ärger")),
        ([2], s("é")), ([2], s("ée")), ([2], s("ûlé")),
        ([1], s("ß")), ([1], s("ße")), ([1], s("aße")),
        # the ligature is one character that casemaps to two ("FI")
        ([1], s("ﬁ")), ([1], s("ﬁn")),
        ([1, 2, 3, 4], "e"), ([1, 4], "de"), ([1], "der"),
        ([3], "pic"), ([3], "picture"),
        ([], s("ω")), ([], "zz"), ([], "zzz"), ([], "zzzzzz"),
    ]
    for want, needle in cases:
        expect_search(c, want, "BODY", needle)
    # HEADER with short needles goes the scanning path
    expect_search(c, [1], "FROM", s("ö"))
    expect_search(c, [3], "FROM", s("山"))
    expect_search(c, [3], "FROM", s("山田"))
    expect_search(c, [3], "FROM", s("山田 <YAMADA"))


def drop_into_new(srv, name, data):
    new_dir = os.path.join(userdir(srv), "Maildir", "new")
    with open(os.path.join(new_dir, name), "wb") as f:
        f.write(data)


def test_dropped_into_new_is_found(srv):
    """Mail another program puts into new/ is indexed by the sync that
    picks it up (from the parse of its copy into cur/); answers do not
    change."""
    c = setup(srv)
    drop_into_new(srv, "1700000000.M1P1.test", MSG2.encode())
    c.cmd("NOOP", ok=True)
    expect(len(fts_rows(srv)) == 5, fts_rows(srv))
    expect_search(c, [2, 5], "BODY", "supercalifragilisticexpialidocious")
    expect_search(c, [2, 5], "BODY", s("é"))
    expect(len(fts_rows(srv)) == 5, fts_rows(srv))
    expect_search(c, [2, 5], "BODY", "supercalifragilisticexpialidocious")
    expect_search(c, [2, 5], "SUBJECT", s("€ 1"))
    expect_search(c, [2, 5], "SUBJECT", s("€"))


def test_copy_move_expunge(srv):
    c = setup(srv)
    c.cmd("CREATE Other", ok=True)
    c.cmd("COPY 1 Other", ok=True)
    c.cmd("MOVE 2 Other", ok=True)
    expect_search(c, [1, 3], "BODY", s("ärger"))    # uid 4 is now msn 3
    expect_search(c, [], "BODY", "supercalifragilistic")
    c.cmd("SELECT Other", ok=True)
    expect_search(c, [1], "BODY", s("ärger"))
    expect_search(c, [2], "BODY", "supercalifragilistic")
    expect_search(c, [1, 2], "TEXT", "example")
    rows = fts_rows(srv)
    expect(len(rows) == 5, rows)   # INBOX 1, 3, 4; Other 1, 2
    c.cmd("STORE 1 +FLAGS (\\Deleted)", ok=True)
    c.cmd("EXPUNGE", ok=True)
    expect_search(c, [], "BODY", s("ärger"))
    expect_search(c, [1], "BODY", "supercalifragilistic")
    expect(len(fts_rows(srv)) == 4, fts_rows(srv))
    c.cmd("SELECT INBOX", ok=True)
    c.cmd("DELETE Other", ok=True)
    expect(len(fts_rows(srv)) == 3, fts_rows(srv))
    expect_search(c, [1, 3], "BODY", s("ärger"))


def fts_postings(srv):
    """The terms the body and header FTS5 tables still have rows for, with
    how many."""
    db = sqlite3.connect(os.path.join(userdir(srv), "index.sqlite"))
    try:
        out = {}
        for table in ("text_body", "text_hdr"):
            db.execute(f"CREATE VIRTUAL TABLE temp.v_{table} USING "
                       f"fts5vocab(main, {table}, row)")
            out[table] = db.execute(f"SELECT term, doc FROM temp.v_{table} "
                                    "WHERE doc > 0").fetchall()
        return out
    finally:
        db.close()


def test_deleted_text_leaves_no_postings(srv):
    """A contentless FTS5 table forgets a row only when given the text it
    was inserted with: the body's row is kept as its term ids and given
    back from them (text index version 5).  After COPY, MOVE, EXPUNGE,
    an INBOX rename and a mailbox deletion took every message away, no
    token of any message is left in either table."""
    c = setup(srv)
    c.cmd("CREATE Other", ok=True)
    c.cmd("COPY 1:2 Other", ok=True)
    c.cmd("MOVE 3 Other", ok=True)
    c.cmd("RENAME INBOX Old", ok=True)
    post = fts_postings(srv)
    expect(post["text_body"] and post["text_hdr"], post)
    c.cmd("SELECT Old", ok=True)
    c.cmd("STORE 1:* +FLAGS.SILENT (\\Deleted)", ok=True)
    c.cmd("EXPUNGE", ok=True)
    c.cmd("SELECT INBOX", ok=True)
    c.cmd("DELETE Other", ok=True)
    expect(fts_rows(srv) == [], fts_rows(srv))
    post = fts_postings(srv)
    expect(post == {"text_body": [], "text_hdr": []}, post)


def test_inbox_rename_moves_the_text(srv):
    c = setup(srv)
    c.cmd("RENAME INBOX Old", ok=True)
    rows = fts_rows(srv)
    expect(len(rows) == 4 and len({r[0] for r in rows}) == 1, rows)
    c.cmd("SELECT Old", ok=True)
    for want, *args in CASES:
        expect_search(c, want, *args)
    expect(fts_rows(srv) == rows, fts_rows(srv))
    c.cmd("SELECT INBOX", ok=True)
    expect_search(c, [], "BODY", s("ärger"))
    c.append(msg=MSG1.encode())
    c.cmd("NOOP", ok=True)
    expect_search(c, [1], "BODY", s("ärger"))


def test_rebuild_fills_the_index(srv):
    c = setup(srv)
    c.line("a LOGOUT")
    while not c.readline().startswith("a OK"):
        pass
    c.close()
    srv.stop()
    for suffix in ("", "-wal", "-shm"):
        p = os.path.join(userdir(srv), "index.sqlite" + suffix)
        if os.path.exists(p):
            os.unlink(p)
    srv.roost("check", "-c", srv.conf, "--rebuild", "demo")
    expect(len(fts_rows(srv)) == 4, fts_rows(srv))
    srv.start()
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    for want, *args in CASES:
        expect_search(c, want, *args)


def test_index_answers_without_message_files(srv):
    """Header, body and sent-date keys come from the index: with the files
    emptied (as a test only can), the answers stay."""
    c = setup(srv)
    for p in glob.glob(os.path.join(userdir(srv), "Maildir", "cur", "*")):
        open(p, "wb").close()
    expect_search(c, [1], "SUBJECT", s("grüße aus"))
    expect_search(c, [1, 4], "BODY", s("ärger"))
    expect_search(c, [1, 4], "BODY", s("ä"))
    expect_search(c, [1], "HEADER", "X-Flag", '""')
    expect_search(c, [2], "SENTON", "3-Mar-2020")
    expect_search(c, [1, 3, 4], "NOT", "SENTSINCE", "1-Jan-1970")


def test_text_index_of_another_version_is_remade(srv):
    """The text index keeps its own version in meta, apart from the index
    schema: another version is dropped and made again empty on open, and
    searches fill it message by message with the same answers."""
    c = setup(srv)
    c.line("a LOGOUT")
    while not c.readline().startswith("a OK"):
        pass
    c.close()
    srv.stop()
    path = os.path.join(userdir(srv), "index.sqlite")
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = 999 WHERE key = 'text_index_version'")
    version = db.execute("PRAGMA user_version").fetchone()[0]
    db.commit()
    db.close()
    srv.start()
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    expect(fts_rows(srv) == [], fts_rows(srv))
    db = sqlite3.connect(path)
    meta = db.execute("SELECT value FROM meta WHERE key = "
                      "'text_index_version'").fetchone()
    expect(db.execute("PRAGMA user_version").fetchone()[0] == version)
    db.close()
    expect(meta == (5,), meta)
    for want, *args in CASES:
        expect_search(c, want, *args)
    expect(len(fts_rows(srv)) == 4, fts_rows(srv))


def long_text(n):
    """n characters of text that does not repeat itself within a few
    words: a needle taken from it is found in one place only."""
    words, seed = [], 7
    while sum(len(w) + 1 for w in words) < n:
        seed = (seed * 1103515245 + 12345) % 2**31
        words.append(f"w{seed % 100000:05d}")
    return " ".join(words)[:n]


def test_long_needles(srv):
    """A needle longer than the phrase the index is queried with (64
    characters) is checked whole on the candidates: one of 10,000
    characters is found where it is, one that differs only in its last
    character, or only after the 64th, is not found (and both answer
    promptly: the query is of the first 64 characters)."""
    c = setup(srv)
    body = long_text(12000)
    c.append(msg=("Subject: long " + body[:100] + "\r\n"
                  "Content-Type: text/plain; charset=utf-8\r\n"
                  "Content-Transfer-Encoding: base64\r\n\r\n"
                  + "\r\n".join(b64(body)[i:i + 76]
                                for i in range(0, len(b64(body)), 76))
                  + "\r\n").encode())
    c.cmd("NOOP", ok=True)
    needle = body[1000:11000]
    expect_search(c, [5], "BODY", needle.encode())
    expect_search(c, [5], "TEXT", needle.upper().encode())
    expect_search(c, [], "SUBJECT", needle.encode())
    last = "x" if needle[-1] != "x" else "y"
    expect_search(c, [], "BODY", (needle[:-1] + last).encode())
    expect_search(c, [], "TEXT", (needle[:-1] + last).encode())
    # differs after the 64th character only
    short = body[500:600]
    expect_search(c, [5], "BODY", short.encode())
    expect_search(c, [], "BODY", (short[:80] + "#" + short[81:]).encode())
    # a header value longer than 64 characters
    expect_search(c, [5], "SUBJECT", ("long " + body[:100]).encode())
    expect_search(c, [5], "TEXT", ("long " + body[:100]).encode())
    expect_search(c, [], "SUBJECT", ("long " + body[:99] + "#").encode())
    expect_search(c, [], "TEXT", ("long " + body[:99] + "#").encode())


def test_replacement_characters(srv):
    """U+FFFD, U+FFFE and U+FFFF are three characters: SQLite's UTF-8
    reader, which the index's tokenizer uses, reads the last two as
    U+FFFD, so the index's candidates are checked on the stored text."""
    c = setup(srv)
    c.append(msg=("Subject: repl\r\n"
                  "Content-Type: text/plain; charset=utf-8\r\n"
                  "Content-Transfer-Encoding: 8bit\r\n\r\n"
                  "ab\ufffdcd\r\n").encode())
    c.cmd("NOOP", ok=True)
    expect_search(c, [5], "BODY", s("b\ufffdc"))
    expect_search(c, [5], "TEXT", s("ab\ufffdcd"))
    expect_search(c, [], "BODY", s("b\uffffc"))
    expect_search(c, [], "BODY", s("b\ufffec"))
    expect_search(c, [], "TEXT", s("ab\uffffcd"))
    expect_search(c, [], "BODY", s("\uffff"))


def raw_search(c, program):
    """SEARCH with program (bytes, literals included) sent as it is."""
    tag = c.next_tag()
    c.send(f"{tag} SEARCH ".encode() + program + b"\r\n")
    untagged = []
    while True:
        line = c.read_response_line()
        if line.startswith(tag + " "):
            return untagged, line
        untagged.append(line)


def test_text_key_limit(srv):
    """At most 64 HEADER, BODY and TEXT keys (FROM, TO, CC, BCC and
    SUBJECT included) in one program; more is NO [LIMIT] (RFC 5530).
    Equal keys share one answer from the index, which stays right."""
    c = setup(srv)
    _, line = raw_search(c, b" ".join([b"BODY lo"] * 65))
    expect(" NO [LIMIT] " in line, line)
    _, line = raw_search(c, b" ".join([b"FROM x", b"TEXT y"] * 32 + [b"SUBJECT z"]))
    expect(" NO [LIMIT] " in line, line)
    _, line = raw_search(c, b"OR BODY a BODY b " + b" ".join([b"TEXT y"] * 63))
    expect(" NO [LIMIT] " in line, line)
    # the key count does not depend on the charset; BAD still wins
    _, line = raw_search(c, b" ".join([b"BODY lo"] * 65) + b" BOGUS")
    expect(" BAD " in line, line)
    # 64 equal keys: one answer
    expect_search(c, [1, 4], *["BODY", s("ärger")] * 64)
    expect_search(c, [1, 4], *["OR", "BODY", s("ärger"), "BODY", s("ÄRGER")] * 32)
    expect_search(c, [4], *(["BODY", s("ärger")] * 32 + ["TEXT", "innersubjectword"] * 32))
    expect_search(c, [], *(["BODY", s("ärger")] * 63 + ["BODY", "nowhere"]))
    expect_search(c, [2, 3], *(["NOT", "BODY", s("ärger")] * 64))
    # a NO from SEARCH RETURN (SAVE) empties $ (RFC 9051 6.4.4.1)
    _, line = raw_search(c, b"RETURN (SAVE) BODY office")
    expect(" OK " in line, line)
    expect_search(c, [1], "$")
    _, line = raw_search(c, b"RETURN (SAVE) " + b" ".join([b"BODY office"] * 65))
    expect(" NO [LIMIT] " in line, line)
    expect_search(c, [], "$")


# Addresses written with comments and quotes inside them (RFC 5322 3.2.2
# CFWS, 3.4.1 addr-spec): FROM/TO/CC/BCC find the normalised addr-spec
# "local-part@domain" as well as the text as written (RFC 9051 6.4.4:
# FROM "contains the specified string in the envelope structure's FROM
# field", and the ENVELOPE has mailbox and host without the comments).
ADDR_MSGS = [
    # 1: the example
    "From: <user-from (comment)@ (comment) domain.org>\r\n"
    "To: plain@to.example\r\n",
    # 2: comments and spaces between the dot-atoms of both parts
    "From: user (c1) . name (c2) @ (c3) example . com\r\n",
    # 3: quoted local parts
    'From: "john.doe"@example.com\r\n'
    'To: "Jo" <"john doe" (x) @ example.com>\r\n',
    # 4: a display name with a comma, a comment in the angle-addr
    'From: "Doe, John" <john (x) @example.com>\r\n',
    # 5: an encoded-word display name, a folded field
    "From: =?UTF-8?Q?J=C3=B6rg?=\r\n <joerg (c) @example.de>\r\n",
    # 6: a group with comments, an empty group, a Bcc with a comment
    "To: grp: a (x) @b.org, c@d.org;\r\n"
    "Cc: undisclosed:;\r\n"
    "Bcc: <hid (c) @den.net>\r\n",
    # 7: the same From written plainly: matched today, and still
    "From: user-from@domain.org\r\n",
]

ADDR_CASES = [
    ([1, 7], "FROM", "user-from@domain.org"),
    ([1, 7], "FROM", "USER-FROM@Domain.Org"),
    ([1, 7], "HEADER", "From", "user-from@domain.org"),
    # the text as written still matches
    ([1], "FROM", "user-from (comment)@"),
    ([1], "FROM", "comment"),
    ([1, 7], "FROM", "domain.org"),
    # negative: another domain, glued parts, another field
    ([], "FROM", "user-from@other.org"),
    ([], "FROM", "user-fromdomain"),
    ([], "FROM", "user-from@domain.orgx"),
    ([], "TO", "user-from@domain.org"),
    ([], "CC", "user-from@domain.org"),
    ([2], "FROM", "user.name@example.com"),
    ([], "FROM", "username@example.com"),
    ([3], "FROM", "john.doe@example.com"),
    ([3], "TO", "john doe@example.com"),
    ([3], "TO", "Jo <john doe@example.com>"),
    ([], "FROM", "john doe@example.com"),
    ([4], "FROM", "john@example.com"),
    ([4], "FROM", "Doe, John <john@example.com>"),
    ([5], "FROM", "joerg@example.de"),
    ([5], "FROM", s("Jörg <joerg@example.de>")),
    ([5], "FROM", s("jörg")),
    ([6], "TO", "a@b.org"),
    ([6], "TO", "grp: a@b.org, c@d.org;"),
    ([6], "TO", "c@d.org"),
    ([6], "CC", "undisclosed"),
    ([6], "BCC", "hid@den.net"),
    ([], "BCC", "a@b.org"),
    # the normalised lines are header text: TEXT finds them, BODY not
    ([1, 7], "TEXT", "user-from@domain.org"),
    ([], "BODY", "user-from@domain.org"),
    # short needles are answered by scanning the stored text
    ([2, 3], "FROM", "e@"),
]


def addr_setup(srv):
    c = srv.login()
    for i, m in enumerate(ADDR_MSGS):
        c.append(msg=(m + f"Subject: m{i + 1}\r\n\r\nbody\r\n").encode())
    c.cmd("SELECT INBOX", ok=True)
    return c


def test_address_keys_see_through_comments(srv):
    c = addr_setup(srv)
    for want, *args in ADDR_CASES:
        expect_search(c, want, *args)
    # what the ENVELOPE says, which FROM is defined on
    u, _ = c.cmd("FETCH 1 ENVELOPE", ok=True)
    expect('((NIL NIL "user-from" "domain.org"))' in u[0], u)
    # the same answers from the message files, with the index emptied
    db = sqlite3.connect(os.path.join(userdir(srv), "index.sqlite"))
    db.executescript("INSERT INTO text_hdr(text_hdr) VALUES ('delete-all');"
                     "INSERT INTO text_body(text_body) VALUES ('delete-all');"
                     "DELETE FROM text_store; DELETE FROM text_indexed;")
    db.close()
    for want, *args in ADDR_CASES:
        expect_search(c, want, *args)
    expect(len(fts_rows(srv)) == len(ADDR_MSGS), fts_rows(srv))


def test_address_text_of_version_1_is_remade(srv):
    """An index made before the normalised address lines existed (text
    index version 1) is remade, so old messages are found too."""
    c = addr_setup(srv)
    c.line("a LOGOUT")
    while not c.readline().startswith("a OK"):
        pass
    c.close()
    srv.stop()
    db = sqlite3.connect(os.path.join(userdir(srv), "index.sqlite"))
    # stale header documents of an older version: empty ones (a document
    # of no bytes is stored as an empty blob in every version), so an
    # index that were not remade would find no address at all
    db.execute("UPDATE text_store SET header = x''")
    db.execute("UPDATE meta SET value = 1 WHERE key = 'text_index_version'")
    db.commit()
    db.close()
    srv.start()
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    for want, *args in ADDR_CASES:
        expect_search(c, want, *args)


def test_corrupt_stored_text_is_not_searched(srv):
    """A stored document that does not inflate to its recorded length
    (damaged deflate stream, trailing bytes, cut short) is not searched as
    if it were the text: those messages are checked against their files,
    so the answer is the one from before the damage, the server stays up,
    and the text index is filled again."""
    c = setup(srv)
    expect_search(c, [1, 4], "BODY", s("ärger"))
    want_u, r = raw_search(c, b'BODY "."')
    expect(r.split()[1:2] == ["OK"], (want_u, r))
    path = os.path.join(userdir(srv), "index.sqlite")
    damages = [
        lambda b: b[:4] + bytes(x ^ 0x5a for x in b[4:]),
        lambda b: b + b"\0",
        lambda b: b[:-2],
    ]
    for damage in damages:
        db = sqlite3.connect(path)
        rows = db.execute("SELECT id, body_terms FROM text_store").fetchall()
        expect(rows, "no stored text to damage")
        for rowid, body in rows:
            db.execute("UPDATE text_store SET body_terms = ? WHERE id = ?",
                       (damage(body), rowid))
        db.commit()
        db.close()
        # a needle without letters is scanned for in every document
        u, r = raw_search(c, b'BODY "."')
        expect(r.split()[1:2] == ["OK"] and u == want_u, (damage, u, r))
        expect_search(c, [1, 4], "BODY", s("ärger"))
