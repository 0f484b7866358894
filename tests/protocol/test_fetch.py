"""FETCH and UID FETCH (RFC 9051 6.4.5, RFC 3501 6.4.5): index items,
BODY[...] sections of the top-level message, partial fetches, the implicit
\\Seen, errors, and streaming of large responses to a slow reader."""
import os
import socket
import time
from roosttest import expect, server_args, TestFailure


MSG1 = ("From: Alice <alice@example.com>\r\n"
        "To: bob@example.com\r\n"
        "Subject: Hello\r\n"
        " there\r\n"
        "Date: Wed, 17 Jul 1996 02:23:25 -0700\r\n"
        "X-Thing: one\r\n"
        "\r\n"
        "Body line 1\r\n"
        "Body line 2\r\n")
MSG1_HEADER, MSG1_TEXT = MSG1.split("\r\n\r\n", 1)
MSG1_HEADER += "\r\n\r\n"
CRLF = "\r\n"
MSG2 = "Subject: second\r\n\r\nshort\r\n"
MSG3 = "Subject: third\r\nx-thing: two\r\n\r\nthird body\r\n"


def setup(srv, examine=False):
    c = srv.login()
    c.append(msg=MSG1, date="17-Jul-1996 02:44:25 -0700")
    c.append(msg=MSG2, flags="(\\Seen)", date="07-Jan-2021 23:05:09 +0130")
    c.append(msg=MSG3)
    c.cmd("EXAMINE INBOX" if examine else "SELECT INBOX", ok=True)
    return c


def lit(data):
    """How read_response_line shows a literal: {n} CRLF data."""
    return f"{{{len(data.encode())}}}\r\n{data}"


def test_fetch_index_items(srv):
    c = setup(srv)
    c.conv(rf"""
    C: a1 FETCH 1 (FLAGS UID INTERNALDATE RFC822.SIZE)
    S: * 1 FETCH (UID 1 FLAGS (\Recent) INTERNALDATE "17-Jul-1996 02:44:25 -0700" RFC822.SIZE {len(MSG1)})
    S: a1 OK Fetch completed.
    C: a2 FETCH 2 FAST
    S: * 2 FETCH (FLAGS (\Seen \Recent) INTERNALDATE " 7-Jan-2021 23:05:09 +0130" RFC822.SIZE {len(MSG2)})
    S: a2 OK Fetch completed.
    C: a3 fetch 1:2 flags
    S: * 1 FETCH (FLAGS (\Recent))
    S: * 2 FETCH (FLAGS (\Seen \Recent))
    S: a3 OK Fetch completed.
    C: a4 FETCH 2,1 UID
    S: * 1 FETCH (UID 1)
    S: * 2 FETCH (UID 2)
    S: a4 OK Fetch completed.
    C: a5 FETCH 1:* (UID UID FLAGS)
    S: * 1 FETCH (UID 1 FLAGS (\Recent))
    S: * 2 FETCH (UID 2 FLAGS (\Seen \Recent))
    S: * 3 FETCH (UID 3 FLAGS (\Recent))
    S: a5 OK Fetch completed.
    """)


def test_fetch_internaldate_default_is_now(srv):
    c = setup(srv)
    u, t = c.cmd("FETCH 3 INTERNALDATE", ok=True)
    expect(len(u) == 1, u)
    import re
    expect(re.fullmatch(r'\* 3 FETCH \(INTERNALDATE "[ \d]\d-[A-Z][a-z]{2}-\d{4} '
                        r'\d\d:\d\d:\d\d [+-]\d{4}"\)', u[0]), u[0])


def test_fetch_body_peek_sections(srv):
    c = setup(srv)
    u, _ = c.cmd("FETCH 1 BODY.PEEK[]", ok=True)
    expect(u == [f"* 1 FETCH (BODY[] {lit(MSG1)})"], u)
    u, _ = c.cmd("FETCH 1 BODY.PEEK[HEADER]", ok=True)
    expect(u == [f"* 1 FETCH (BODY[HEADER] {lit(MSG1_HEADER)})"], u)
    u, _ = c.cmd("FETCH 1 body.peek[text]", ok=True)
    expect(u == [f"* 1 FETCH (BODY[TEXT] {lit(MSG1_TEXT)})"], u)
    u, _ = c.cmd("FETCH 1 RFC822.HEADER", ok=True)
    expect(u == [f"* 1 FETCH (RFC822.HEADER {lit(MSG1_HEADER)})"], u)
    # several literals in one response, with index items
    u, _ = c.cmd("FETCH 2 (UID BODY.PEEK[HEADER] RFC822.SIZE BODY.PEEK[TEXT])", ok=True)
    h, b = MSG2.split("\r\n\r\n", 1)
    expect(u == [f"* 2 FETCH (UID 2 RFC822.SIZE {len(MSG2)} BODY[HEADER] {lit(h + CRLF + CRLF)}"
                 f" BODY[TEXT] {lit(b)})"], u)
    # PEEK never set \Seen
    c.conv(r"""
    C: a1 FETCH 1 FLAGS
    S: * 1 FETCH (FLAGS (\Recent))
    S: a1 OK Fetch completed.
    """)


def test_fetch_implicit_seen(srv):
    c = setup(srv)
    u, _ = c.cmd("FETCH 1 BODY[]", ok=True)
    expect(u == [f"* 1 FETCH (FLAGS (\\Seen \\Recent) BODY[] {lit(MSG1)})"], u)
    # already seen: no FLAGS; and no duplicate FETCH at the next command
    u, _ = c.cmd("FETCH 1 BODY[HEADER]", ok=True)
    expect(u == [f"* 1 FETCH (BODY[HEADER] {lit(MSG1_HEADER)})"], u)
    u, _ = c.cmd("NOOP", ok=True)
    expect(u == [], u)
    # RFC822.TEXT sets \Seen too; message 2 was seen already
    u, _ = c.cmd("FETCH 2:3 RFC822.TEXT", ok=True)
    expect(u == ["* 2 FETCH (RFC822.TEXT {7}\r\nshort\r\n)",
                 "* 3 FETCH (FLAGS (\\Seen \\Recent) RFC822.TEXT {12}\r\nthird body\r\n)"], u)
    u, _ = c.cmd("NOOP", ok=True)
    expect(u == [], u)
    # another session sees the change
    d = srv.login()
    u, _ = d.cmd("EXAMINE INBOX", ok=True)
    d.conv(r"""
    C: b1 FETCH 1:3 FLAGS
    S: * 1 FETCH (FLAGS (\Seen))
    S: * 2 FETCH (FLAGS (\Seen))
    S: * 3 FETCH (FLAGS (\Seen))
    S: b1 OK Fetch completed.
    """)


def test_fetch_rfc822_sets_seen_and_flags_requested(srv):
    c = setup(srv)
    u, _ = c.cmd("FETCH 1 (FLAGS RFC822)", ok=True)
    expect(u == [f"* 1 FETCH (FLAGS (\\Seen \\Recent) RFC822 {lit(MSG1)})"], u)
    u, _ = c.cmd("FETCH 1 RFC822", ok=True)
    expect(u == [f"* 1 FETCH (RFC822 {lit(MSG1)})"], u)


def test_fetch_uid_form_sets_seen_with_uid(srv):
    c = setup(srv)
    u, _ = c.cmd("UID FETCH 3 BODY[TEXT]", ok=True)
    expect(u == ["* 3 FETCH (UID 3 FLAGS (\\Seen \\Recent) BODY[TEXT] {12}\r\nthird body\r\n)"], u)
    u, _ = c.cmd("NOOP", ok=True)
    expect(u == [], u)


def test_fetch_examine_does_not_set_seen(srv):
    c = setup(srv, examine=True)
    u, _ = c.cmd("FETCH 1 BODY[]", ok=True)
    expect(u == [f"* 1 FETCH (BODY[] {lit(MSG1)})"], u)
    # EXAMINE sees \Recent without taking it (RFC 3501 2.3.2)
    c.conv(r"""
    C: a1 FETCH 1 FLAGS
    S: * 1 FETCH (FLAGS (\Recent))
    S: a1 OK Fetch completed.
    """)


def test_fetch_partial(srv):
    c = setup(srv)
    n = len(MSG1)
    cases = [
        ("BODY.PEEK[]<0.10>", "BODY[]<0>", MSG1[:10]),
        ("BODY.PEEK[]<5.10>", "BODY[]<5>", MSG1[5:15]),
        # beyond the end: truncated; a partial from 0 stays partial
        ("BODY.PEEK[]<0.100000>", "BODY[]<0>", MSG1),
        (f"BODY.PEEK[]<{n - 3}.100>", f"BODY[]<{n - 3}>", MSG1[-3:]),
        # starting at or past the end: empty string
        (f"BODY.PEEK[]<{n}.10>", f"BODY[]<{n}>", ""),
        ("BODY.PEEK[]<100000.10>", "BODY[]<100000>", ""),
        ("BODY.PEEK[TEXT]<5.6>", "BODY[TEXT]<5>", MSG1_TEXT[5:11]),
        ("BODY.PEEK[HEADER]<0.4>", "BODY[HEADER]<0>", "From"),
        # after subsetting the header
        ("BODY.PEEK[HEADER.FIELDS (To)]<4.9>", "BODY[HEADER.FIELDS (To)]<4>",
         "To: bob@example.com\r\n\r\n"[4:13]),
    ]
    for item, name, data in cases:
        u, _ = c.cmd(f"FETCH 1 {item}", ok=True)
        expect(u == [f"* 1 FETCH ({name} {lit(data)})"], (item, u))
    # partial on the implicit-\Seen form
    u, _ = c.cmd("FETCH 2 BODY[]<0.7>", ok=True)
    expect(u == ["* 2 FETCH (BODY[]<0> {7}\r\nSubject)"], u)


def test_fetch_header_fields(srv):
    c = setup(srv)
    want = ("From: Alice <alice@example.com>\r\n"
            "Subject: Hello\r\n there\r\n\r\n")
    u, _ = c.cmd("FETCH 1 BODY.PEEK[HEADER.FIELDS (Subject from)]", ok=True)
    expect(u == [f"* 1 FETCH (BODY[HEADER.FIELDS (Subject from)] {lit(want)})"], u)
    want_not = ("To: bob@example.com\r\n"
                "Date: Wed, 17 Jul 1996 02:23:25 -0700\r\n"
                "X-Thing: one\r\n\r\n")
    u, _ = c.cmd("FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT FROM)]", ok=True)
    expect(u == [f"* 1 FETCH (BODY[HEADER.FIELDS.NOT (SUBJECT FROM)] {lit(want_not)})"], u)
    # quoted names, a missing field, a name that is a prefix of another
    u, _ = c.cmd('FETCH 1:3 BODY.PEEK[HEADER.FIELDS ("x-thing" X-Missing X)]', ok=True)
    expect(u == [
        f"* 1 FETCH (BODY[HEADER.FIELDS (x-thing X-Missing X)] {lit('X-Thing: one' + CRLF + CRLF)})",
        f"* 2 FETCH (BODY[HEADER.FIELDS (x-thing X-Missing X)] {lit(CRLF)})",
        f"* 3 FETCH (BODY[HEADER.FIELDS (x-thing X-Missing X)] {lit('x-thing: two' + CRLF + CRLF)})",
    ], u)
    # HEADER.FIELDS without PEEK sets \Seen
    u, _ = c.cmd("FETCH 1 BODY[HEADER.FIELDS (To)]", ok=True)
    expect(u == [f"* 1 FETCH (FLAGS (\\Seen \\Recent) BODY[HEADER.FIELDS (To)] "
                 f"{lit('To: bob@example.com' + CRLF + CRLF)})"], u)


def test_fetch_uid(srv):
    c = setup(srv)
    c.conv(r"""
    C: a1 UID FETCH 2:* FLAGS
    S: * 2 FETCH (UID 2 FLAGS (\Seen \Recent))
    S: * 3 FETCH (UID 3 FLAGS (\Recent))
    S: a1 OK Fetch completed.
    C: a2 UID FETCH 100:200 FLAGS
    S: a2 OK Fetch completed.
    C: a3 UID FETCH 3:1 RFC822.SIZE
    S: * 1 FETCH (UID 1 RFC822.SIZE 159)
    S: * 2 FETCH (UID 2 RFC822.SIZE 26)
    S: * 3 FETCH (UID 3 RFC822.SIZE 44)
    S: a3 OK Fetch completed.
    C: a4 UID FETCH 1,3,9 UID
    S: * 1 FETCH (UID 1)
    S: * 3 FETCH (UID 3)
    S: a4 OK Fetch completed.
    C: a5 UID FETCH 900:* UID
    S: * 3 FETCH (UID 3)
    S: a5 OK Fetch completed.
    """)
    expect(len(MSG1) == 159 and len(MSG2) == 26 and len(MSG3) == 44,
           (len(MSG1), len(MSG2), len(MSG3)))


def test_fetch_uid_gaps(srv):
    # UIDs 1 and 3 around an expunged 2 are msns 1 and 2: one response
    # each, in msn order, whatever order and overlap the set has
    c = setup(srv)
    c.cmd("UID STORE 2 +FLAGS.SILENT (\\Deleted)", ok=True)
    c.cmd("EXPUNGE", ok=True)
    c.conv(r"""
    C: a1 UID FETCH 3,1,1:1,2 UID
    S: * 1 FETCH (UID 1)
    S: * 2 FETCH (UID 3)
    S: a1 OK Fetch completed.
    C: a2 FETCH 2,1:2,1 UID
    S: * 1 FETCH (UID 1)
    S: * 2 FETCH (UID 3)
    S: a2 OK Fetch completed.
    """)


def test_fetch_empty_mailbox(srv):
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    c.conv(r"""
    C: a1 FETCH 1:* FLAGS
    S: a1 OK Fetch completed.
    C: a2 UID FETCH 1:* FLAGS
    S: a2 OK Fetch completed.
    C: a3 FETCH 1 FLAGS
    S: a3 BAD Invalid message sequence number.
    """)


# many BADs in a row: lift the limit of consecutive bad commands
@server_args(extra_conf="max_bad_commands = 1000")
def test_fetch_errors(srv):
    c = setup(srv)
    bad = [
        "FETCH 4 FLAGS",
        "FETCH 0 FLAGS",
        "FETCH 2:5 FLAGS",
        "FETCH 1",
        "FETCH",
        "FETCH 1 FOO",
        "FETCH 1 (FLAGS FOO)",
        "FETCH 1 ()",
        "FETCH 1 (FLAGS) extra",
        "FETCH x FLAGS",
        "FETCH 1:x FLAGS",
        "FETCH 1,$ FLAGS",
        "FETCH 1 (FAST)",
        "FETCH 1 BODY[MIME]",
        "FETCH 1 BODY[0]",
        "FETCH 1 BODY[1.]",
        "FETCH 1 BINARY[HEADER]",
        "FETCH 1 BINARY.SIZE[]<0.1>",
        "FETCH 1 BODY[HEADERS]",
        "FETCH 1 BODY[TEXT]x",
        "FETCH 1 BODY[]<0.0>",
        "FETCH 1 BODY[]<1>",
        "FETCH 1 BODY[]<a.1>",
        "FETCH 1 BODY[]<1.2",
        "FETCH 1 BODY[HEADER.FIELDS]",
        "FETCH 1 BODY[HEADER.FIELDS ()]",
        "FETCH 1 BODY[HEADER.FIELDS (From]",
        "FETCH 1 BODY[HEADER.FIELDS (Fr:om)]",
        "FETCH 1 BODY.PEK[]",
        "FETCH 1 RFC822.FOO",
    ]
    for cmd in bad:
        u, t = c.cmd(cmd, ok=False)
        expect(" BAD " in t and u == [], (cmd, u, t))
    # nothing was changed by the failed commands
    c.conv(r"""
    C: a1 FETCH 1 FLAGS
    S: * 1 FETCH (FLAGS (\Recent))
    S: a1 OK Fetch completed.
    """)


def test_fetch_not_selected(srv):
    c = srv.login()
    c.conv("""
    C: a1 FETCH 1 FLAGS
    S: a1 BAD No mailbox selected.
    """)


def test_fetch_flags_keywords(srv):
    c = srv.login()
    c.append(msg=MSG2, flags="(\\Flagged $Forwarded Junk)")
    c.cmd("EXAMINE INBOX", ok=True)
    c.conv(r"""
    C: a1 FETCH 1 FLAGS
    S: * 1 FETCH (FLAGS (\Flagged \Recent $Forwarded Junk))
    S: a1 OK Fetch completed.
    """)


# ---- streaming ----


def worker_pids(srv):
    """The server's worker processes (children of `roost serve`)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st.rsplit(")", 1)[1].split()[1])
        if ppid == srv.proc.pid:
            pids.append(int(d))
    return pids or [srv.proc.pid]


def proc_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise TestFailure(f"no {field} for {pid}")


def sanitized_build():
    """ASan keeps freed memory in quarantine: RSS says nothing there."""
    import roosttest
    with open(os.path.join(roosttest.BUILD, "roost"), "rb") as f:
        return b"__asan_init" in f.read()


def big_message(i, size=20000):
    head = f"From: sender{i}@example.com\r\nSubject: message {i}\r\n\r\n"
    line = ("%05d " % i) + "x" * 68 + "\r\n"
    body = line * (size // len(line))
    return (head + body).encode()


@server_args(extra_conf="fsync = no")
def test_fetch_streams_to_slow_reader(srv):
    count = 2000
    c = srv.login()
    # pipelined APPENDs in batches
    for start in range(0, count, 100):
        tags = []
        for i in range(start, min(count, start + 100)):
            data = big_message(i)
            tag = c.next_tag()
            tags.append(tag)
            c.send(f"{tag} APPEND INBOX {{{len(data)}+}}\r\n".encode() + data + b"\r\n")
        for tag in tags:
            line = c.readline(timeout=60)
            expect(line.startswith(tag + " OK"), line)
    sizes = {i: len(big_message(i)) for i in range(count)}
    total = sum(sizes.values())
    c.cmd("SELECT INBOX", ok=True)
    pids = worker_pids(srv)
    base = {p: proc_kb(p, "VmRSS") for p in pids}

    # ask for everything and do not read for a while
    c.line("f1 FETCH 1:* BODY.PEEK[]")
    time.sleep(1.0)
    # the worker must still answer another connection promptly
    d = srv.login()
    t0 = time.time()
    d.cmd("SELECT INBOX", ok=True)
    d.cmd("FETCH 2000 RFC822.SIZE", ok=True)
    expect(time.time() - t0 < 5, "other connection stalled")
    grown = {p: proc_kb(p, "VmRSS") - base[p] for p in pids}
    check_memory = not sanitized_build()
    expect(not check_memory or max(grown.values()) < 16 * 1024,
           f"server buffered the response: RSS grew {grown} KB (total {total // 1024} KB)")

    # now read slowly, in small pieces
    c.sock.settimeout(30)
    got = 0
    seen = 0
    buf = c.buf
    c.buf = b""
    while True:
        while b"\r\n" not in buf:
            buf += c.sock.recv(16384)
            time.sleep(0.0005)
        line, buf = buf.split(b"\r\n", 1)
        if line.startswith(b"f1 "):
            expect(line.startswith(b"f1 OK"), line)
            break
        expect(line.startswith(f"* {seen + 1} FETCH (BODY[] {{".encode()), line[:80])
        n = int(line[line.rindex(b"{") + 1:-1])
        expect(n == sizes[seen], (seen, n))
        while len(buf) < n + 3:
            buf += c.sock.recv(16384)
        data, buf = buf[:n], buf[n:]
        expect(data == big_message(seen), f"message {seen + 1} differs")
        expect(buf.startswith(b")\r\n"), buf[:20])
        buf = buf[3:]
        got += n
        seen += 1
    expect(seen == count, seen)
    expect(got == total)
    peak = {p: proc_kb(p, "VmHWM") - base[p] for p in pids}
    expect(not check_memory or max(peak.values()) < 24 * 1024,
           f"peak RSS grew {peak} KB")
    c.buf = buf
    c.cmd("NOOP", ok=True)


def test_fetch_large_literal_resumes_mid_literal(srv):
    # 3 MiB messages: each literal is written in many chunks and the
    # output waits for the reader in the middle of literals
    c = srv.login()
    msgs = []
    for i in range(3):
        head = f"Subject: big {i}\r\n\r\n".encode()
        body = b"".join(b"%07d %s\r\n" % (n, b"abcdefghij" * 6) for n in range(3 * 1024 * 1024 // 70))
        msgs.append(head + body)
        c.send(f"a{i} APPEND INBOX {{{len(msgs[-1])}+}}\r\n".encode() + msgs[-1] + b"\r\n")
        expect(c.readline(timeout=60).startswith(f"a{i} OK"))
    c.cmd("SELECT INBOX", ok=True)
    c.line("f1 FETCH 1:3 (BODY.PEEK[] BODY.PEEK[TEXT]<100000.500000>)")
    time.sleep(0.5)
    c.sock.settimeout(30)
    buf = b""

    def need(n):
        nonlocal buf
        while len(buf) < n:
            chunk = c.sock.recv(8192)
            expect(chunk, "connection closed")
            buf += chunk

    for i, m in enumerate(msgs):
        head = f"* {i + 1} FETCH (BODY[] {{{len(m)}}}\r\n".encode()
        need(len(head))
        expect(buf.startswith(head), buf[:80])
        buf = buf[len(head):]
        need(len(m))
        expect(buf[:len(m)] == m, f"message {i + 1} differs")
        buf = buf[len(m):]
        text = m[m.index(b"\r\n\r\n") + 4:][100000:600000]
        head = f" BODY[TEXT]<100000> {{{len(text)}}}\r\n".encode()
        need(len(head) + len(text) + 3)
        expect(buf.startswith(head), buf[:80])
        buf = buf[len(head):]
        expect(buf[:len(text)] == text and buf[len(text):len(text) + 3] == b")\r\n")
        buf = buf[len(text) + 3:]
    c.buf = buf
    expect(c.readline() == "f1 OK Fetch completed.")


def test_fetch_disconnect_mid_response(srv):
    c = srv.login()
    data = ("Subject: x\r\n\r\n" + "0123456789" * 60000 + "\r\n").encode()
    for i in range(4):
        c.send(f"a{i} APPEND INBOX {{{len(data)}+}}\r\n".encode() + data + b"\r\n")
        expect(c.readline(timeout=60).startswith(f"a{i} OK"))
    c.cmd("SELECT INBOX", ok=True)
    c.line("f1 FETCH 1:* BODY[]")
    c.sock.recv(1000)
    c.close()
    # the worker lives on and the \Seen flags it set are kept
    d = srv.login()
    d.cmd("EXAMINE INBOX", ok=True)
    u, _ = d.cmd("FETCH 1 FLAGS", ok=True)
    expect(u == ["* 1 FETCH (FLAGS (\\Seen))"], u)


def test_fetch_message_expunged_by_other_session(srv):
    a = setup(srv)
    b = srv.login()
    b.cmd("SELECT INBOX", ok=True)
    a.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)", ok=True)
    a.cmd("EXPUNGE", ok=True)
    # b still sees 3 messages; index data of 2 is still there, its file not
    # the messages that exist are answered, 2 is left out, and the
    # command succeeds (RFC 9051 7.1 EXPUNGEISSUED, RFC 2180 4.1.2)
    u, t = b.cmd("FETCH 1:3 (UID RFC822.SIZE BODY.PEEK[HEADER])", ok=True)
    expect(t.endswith(" OK [EXPUNGEISSUED] Some messages were already expunged."), t)
    h3 = MSG3.split("\r\n\r\n")[0] + "\r\n\r\n"
    expect(u == [f"* 1 FETCH (UID 1 RFC822.SIZE {len(MSG1)} BODY[HEADER] {lit(MSG1_HEADER)})",
                 f"* 3 FETCH (UID 3 RFC822.SIZE {len(MSG3)} BODY[HEADER] {lit(h3)})"], u)
    # only file data asked: nothing to say about 2
    u, t = b.cmd("FETCH 2 BODY.PEEK[]", ok=True)
    expect(u == [] and "[EXPUNGEISSUED]" in t, (u, t))
    # index-only items are fine (b's view never saw a's \Deleted)
    u, t = b.cmd("FETCH 2 (FLAGS RFC822.SIZE)", ok=True)
    expect(u == [f"* 2 FETCH (FLAGS (\\Seen) RFC822.SIZE {len(MSG2)})"], u)
    # UID FETCH may report the expunge at its end
    u, t = b.cmd("UID FETCH 1 UID", ok=True)
    expect(u == ["* 1 FETCH (UID 1)", "* 2 EXPUNGE"], u)


def test_fetch_header_fields_spacing(srv):
    c = setup(srv)
    want = "To: bob@example.com\r\n\r\n"
    u, _ = c.cmd("FETCH 1 BODY.PEEK[HEADER.FIELDS  ( to  )]", ok=True)
    expect(u == [f"* 1 FETCH (BODY[HEADER.FIELDS (to)] {lit(want)})"], u)
    # two HEADER.FIELDS items in one response
    u, _ = c.cmd("FETCH 1 (BODY.PEEK[HEADER.FIELDS (To)] BODY.PEEK[HEADER.FIELDS.NOT (To From Subject Date)])", ok=True)
    expect(u == [f"* 1 FETCH (BODY[HEADER.FIELDS (To)] {lit(want)} "
                 f"BODY[HEADER.FIELDS.NOT (To From Subject Date)] {lit('X-Thing: one' + CRLF + CRLF)})"], u)
