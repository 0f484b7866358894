"""bench/lib/benchlib.py: the message generator, the Dovecot config writer
and the raw client that bench/compare times with (no Dovecot needed)."""
import os
import re
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "lib"))
import benchlib  # noqa: E402
from roosttest import expect  # noqa: E402


def _files(d):
    out = {}
    for n in sorted(os.listdir(d)):
        with open(os.path.join(d, n), "rb") as f:
            out[n] = f.read()
    return out


def test_generator_is_deterministic_and_plants_the_search_words():
    tmp = tempfile.mkdtemp(prefix="benchlib-")
    try:
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        size = benchlib.write_maildir(a, 120, start=9995)
        expect(size == benchlib.write_maildir(b, 120, start=9995), "sizes differ")
        fa, fb = _files(a), _files(b)
        expect(fa == fb, "same seed, different messages")
        expect(len(fa) == 120 and sum(map(len, fa.values())) == size, "count or size")
        # Maildir names sort in generation (delivery) order
        names = list(fa)
        expect(names == [benchlib.maildir_name(i) for i in range(9995, 10115)],
               names[:3])
        rare = [n for n, d in fa.items() if benchlib.RARE_WORD.encode() in d]
        expect(rare == [benchlib.maildir_name(10007)], rare)
        common = sum(benchlib.COMMON_WORD.encode() in d for d in fa.values())
        expect(90 <= common <= 120, common)
        for d in fa.values():
            head, _, body = d.partition(b"\r\n\r\n")
            expect(re.search(rb"^Date: \d+ \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r$",
                             head + b"\r", re.M), head)
            expect(body and b"\n" not in d.replace(b"\r\n", b""), "bare LF")
        # links carry the base name only, and the same bytes
        os.rename(os.path.join(a, names[0]),
                  os.path.join(a, names[0].split(":")[0] + ",S=1,U=9:2,S"))
        d = os.path.join(tmp, "d")
        benchlib.link_maildir(a, d)
        expect(_files(d) == fa, sorted(os.listdir(d))[:2])
        expect(os.stat(os.path.join(d, names[0])).st_ino ==
               os.stat(os.path.join(a, names[0].split(":")[0] + ",S=1,U=9:2,S")).st_ino,
               "not a hard link")
        # a different seed gives other mail
        c = os.path.join(tmp, "c")
        benchlib.write_maildir(c, 5, seed=7)
        expect(_files(c) != {n: fa.get(n) for n in _files(c)}, "seed ignored")
    finally:
        shutil.rmtree(tmp)


def test_tiny_messages_fit_one_block():
    for i in (0, 7, 10007, 999999):
        m = benchlib.tiny_message(i).encode()
        expect(len(m) < 400 and m.count(b"\r\n\r\n") == 1, m)
        expect((benchlib.RARE_WORD.encode() in m) == (i % 10000 == 7), m)


def test_dovecot_config_is_tuned_and_confined():
    text = benchlib.dovecot_config("/scratch/dc", 31234, 31235, "/scratch/dc/passwd")
    expect(text.count("{") == text.count("}"), "unbalanced braces")
    # every service that handles clients is reused and kept warm
    for svc in ("imap-login", "imap", "lmtp"):
        m = re.search(r"^service %s \{\n(.*?)^\}" % re.escape(svc), text, re.M | re.S)
        expect(m, f"no service {svc}")
        expect("service_count = 0" in m.group(1), svc)
        expect("process_min_avail = 2" in m.group(1), svc)
    expect(re.search(r"^mail_fsync = always$", text, re.M), "mail_fsync")
    expect(re.search(r"^ssl = no$", text, re.M), "ssl")
    expect("port = 31234" in text and "port = 31235" in text, "ports")
    # nothing outside the scratch directory, no well-known ports
    for m in re.finditer(r"(?:^|\s)(/\S+)", text):
        expect(m.group(1).startswith("/scratch/dc/"), m.group(1))
    for m in re.finditer(r"port = (\d+)", text):
        expect(m.group(1) in ("0", "31234", "31235"), m.group(0))
    expect(re.search(r"^listen = 127\.0\.0\.1$", text, re.M), "listen")
    off = benchlib.dovecot_config("/scratch/dc", 31234, 31235, "/scratch/dc/passwd",
                                  fsync=False)
    expect(re.search(r"^mail_fsync = never$", off, re.M), "fsync=False")


def test_raw_client_reads_whole_responses(srv):
    c = benchlib.RawClient(srv.port, timeout=10)
    c.login("demo", "demo")
    # a literal whose text looks like a tagged reply must not end the read
    msg = b"Subject: x\r\n\r\nZ4 OK fake\r\nZ3 NO fake\r\n"
    st, r = c.cmd("APPEND INBOX {%d+}" % len(msg), msg)
    expect(st == b"OK", r)
    st, r = c.cmd("SELECT INBOX")
    expect(st == b"OK" and b"* 1 EXISTS" in r, r)
    st, r = c.cmd("FETCH 1 BODY[]")
    expect(st == b"OK" and msg in r and r.endswith(b"\r\n"), r)
    expect(r.split(b"\r\n")[-2].startswith(b"Z4 OK"), r)
    st, r = c.cmd("FETCH 5 FLAGS")
    expect(st == b"BAD", r)
    st, r = c.cmd("NOOP")
    expect(st == b"OK" and r.startswith(b"Z6 OK"), r)
    c.close()


def test_roost_reuses_a_kept_data_dir():
    """benchlib.Roost(data_dir=D) keeps the users' mail in D (bench/compare
    --data): a second server on D sees the first one's message, and
    stopping either leaves D in place while its scratch directory goes."""
    build = benchlib.roosttest.BUILD
    tmp = tempfile.mkdtemp(prefix="benchlib-keep-")
    data = os.path.join(tmp, "roost-data")
    users = {"keep": "pw"}
    try:
        a = benchlib.Roost(build, users, workers=1, fsync=False, data_dir=data)
        try:
            expect(a.srv.data_dir == data, a.srv.data_dir)
            expect(a.userdir("keep", "pw").startswith(data + os.sep),
                   a.userdir("keep", "pw"))
            c = benchlib.RawClient(a.port, timeout=10)
            c.login("keep", "pw")
            st, r = c.cmd("APPEND INBOX {12+}", b"Subject: k\r\n")
            expect(st == b"OK", r)
            c.close()
            expect(a.memory_kb()[0] > 0 and a.cpu() >= 0, "process figures")
            expect(benchlib.status_kb(a.root_pid(), "VmRSS") > 0, "VmRSS")
            expect(benchlib.status_kb(a.root_pid(), "NoSuchField") == 0,
                   "missing field")
        finally:
            a.stop()
        expect(not os.path.exists(a.dir) and os.path.isdir(data),
               "the scratch directory goes, the data dir stays")
        b = benchlib.Roost(build, users, workers=1, fsync=False, data_dir=data)
        try:
            c = benchlib.RawClient(b.port, timeout=10)
            c.login("keep", "pw")
            st, r = c.cmd("SELECT INBOX")
            expect(st == b"OK" and b"* 1 EXISTS" in r, r)
            c.close()
        finally:
            b.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
