"""bench/lib/benchlib.py: what the bench scripts share.

Python 3, standard library only.  Import it from a script in bench/ with

    sys.path.insert(0, os.path.join(HERE, "lib"))      # or "..", "lib"
    import benchlib

It holds:

  - process figures of a running server: descendants(), cpu_seconds()
    (user + system of the live processes plus what their exited children
    used, from /proc/PID/stat), memory_kb() (PSS and RSS from
    /proc/PID/smaps_rollup), status_kb() (VmRSS, VmHWM... of one process);
  - the message generator of bench/search/search-bench (vocabulary(),
    make_message(): varied, realistic text) and tiny_message() (about
    250 bytes, for 1,000,000-message mailboxes), and write_maildir(), which
    writes N of them as Maildir files;
  - Roost(): `roost serve` from a build directory with a generated config
    (tests/lib/roosttest.Server), with fill() = write Maildir files and run
    `roost check --rebuild`;
  - Dovecot(): Dovecot 2.3 (Debian dovecot-imapd, dovecot-lmtpd; installed
    with apt-get if missing) in a scratch directory on free ports, tuned as
    a performance-minded administrator runs it (service_count = 0,
    process_min_avail for imap-login, imap and lmtp), passwd-file users with
    plaintext passwords, Maildir, mail_fsync = always, no TLS, logging to a
    file; fill() hard-links the same files into the user's Maildir;
  - RawClient: a small IMAP client whose timed command reads the whole
    response as bytes (no per-line parsing), so the client costs little
    next to the server at 100,000 messages;
  - idle_client(): an asyncio connection that logs in, SELECTs INBOX and
    IDLEs until told to stop, and open_idle(), which opens many in batches
    (bench/idle, the idle measure of bench/compare);
  - lmtp_message(), lmtp_send(): LMTP test messages and an asyncio sender
    (bench/deliver, bench/compare).

Both server classes have the same surface: .name, .port (IMAP), .lmtp_port,
.root_pid(), .pids(), .cpu(), .memory_kb(), .maildir(user), .index_bytes(user),
.fill(user, files), .stop().
"""
import asyncio
import base64
import glob
import os
import random
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "lib"))
import roosttest  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---- process figures ----

def _stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def descendants(root_pid):
    """root_pid and every process below it (children, grandchildren...)."""
    parent = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                parent[int(p)] = int(_stat(p)[1])
            except (OSError, IndexError):
                pass
    out, todo = [root_pid], [root_pid]
    while todo:
        cur = todo.pop()
        kids = [p for p, pp in parent.items() if pp == cur]
        out += kids
        todo += kids
    return out


def cpu_seconds(pids):
    """utime + stime + cutime + cstime of the processes (fields 14-17 of
    stat): what they and their waited-for children used.  A difference of
    two calls over the same tree counts processes that exited in between
    through their parent's cutime/cstime."""
    total = 0
    for pid in pids:
        try:
            f = _stat(pid)
            total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
        except (OSError, IndexError):
            pass
    return total / CLK_TCK


def memory_kb(pids):
    """(PSS, RSS) in KB summed over the processes."""
    pss = rss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith("Rss:"):
                        rss += int(line.split()[1])
        except OSError:
            pass
    return pss, rss


def status_kb(pid, field):
    """A KB field of /proc/PID/status ("VmRSS", "VmHWM", ...) of one
    process; 0 if the process or the field is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def dir_files(path, match=None):
    """{file name: bytes} of the files under path whose names match the
    regex match (all if None)."""
    out = {}
    rx = re.compile(match) if match else None
    for d, _, files in os.walk(path):
        for n in files:
            if rx is None or rx.search(n):
                try:
                    out[n] = out.get(n, 0) + os.path.getsize(os.path.join(d, n))
                except OSError:
                    pass
    return out


def describe_files(files):
    """"name 1.2 MB, name 0.1 MB" for a dir_files() result."""
    return ", ".join(f"{n} {b / 1e6:.1f} MB" for n, b in sorted(files.items()))


def dir_bytes(path, match=None):
    """Bytes of the files under path (whose names match the regex match,
    if given)."""
    return sum(dir_files(path, match).values())


# ---- messages ----

SYL = ["ka", "lo", "mi", "ne", "ru", "ta", "shi", "po", "ve", "da", "qu",
       "en", "ar", "ol", "is", "um", "ber", "gan", "tor", "lex"]
RARE_WORD = "quokkaflux"      # in every 10,000th body (make_message)
COMMON_WORD = "lorem"         # in about 90 % of the bodies


def vocabulary(rng, n):
    """n distinct synthetic words made of SYL syllables, sorted."""
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(SYL) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def make_message(rng, vocab, weights, i):
    """Message number i (str, CRLF lines): 60-240 words drawn with weights
    (Zipf-like) from vocab; "lorem" in about 90 % of the bodies,
    "quokkaflux" when i % 10000 == 7, From "Zebedee Quark" when
    i % 1000 == 3; one in five subjects RFC 2047-encoded; one in eight
    multipart/alternative with HTML, one in eight base64."""
    nwords = rng.randint(60, 240)
    words = rng.choices(vocab, weights=weights, k=nwords)
    if rng.random() < 0.9:
        words.insert(rng.randrange(len(words) + 1), COMMON_WORD)
    if i % 10000 == 7:
        words.insert(rng.randrange(len(words) + 1), RARE_WORD)
    lines, line = [], []
    for w in words:
        line.append(w)
        if len(line) == 12:
            lines.append(" ".join(line))
            line = []
    lines.append(" ".join(line))
    text = "\r\n".join(lines) + "\r\n"
    subject = " ".join(rng.choices(vocab, weights=weights, k=rng.randint(2, 7)))
    name = "Zebedee Quark" if i % 1000 == 3 else \
        " ".join(w.capitalize() for w in rng.choices(vocab, k=2))
    if rng.random() < 0.2:
        subject = "=?UTF-8?B?" + base64.b64encode(subject.encode()).decode() + "?="
    head = (f"From: {name} <{name.split()[0].lower()}@example.org>\r\n"
            f"To: demo@example.com\r\n"
            f"Subject: {subject}\r\n"
            f"Date: {message_date(i)}\r\n"
            f"Message-ID: <{i}@bench.example>\r\n"
            f"MIME-Version: 1.0\r\n")
    r = rng.random()
    if r < 0.125:
        html = "<html><body><p>" + text.replace("\r\n", "<br>\r\n") + "</p></body></html>\r\n"
        return (head + 'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
                "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text +
                "--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html +
                "--b--\r\n")
    if r < 0.25:
        b = base64.encodebytes(text.encode()).decode().replace("\n", "\r\n")
        return (head + "Content-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n" + b)
    return head + "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + text


MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
          "Oct", "Nov", "Dec"]


def message_date(i):
    """An RFC 5322 date for message i: spread over about two years, not in
    message order (so SORT (DATE) has work to do)."""
    t = 1735689600 + (i * 7919) % 63000000
    tm = time.gmtime(t)
    return (f"{tm.tm_mday} {MONTHS[tm.tm_mon - 1]} {tm.tm_year} "
            f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} +0000")


def tiny_message(i):
    """Message number i of about 250 bytes (one 4 KB block on disk), for
    mailboxes of a million messages; the same rare/common words as
    make_message ("quokkaflux" when i % 10000 == 7, "lorem" in 9 of 10)."""
    word = RARE_WORD if i % 10000 == 7 else (COMMON_WORD if i % 10 else "ipsum")
    return (f"From: s{i % 1000} <s{i % 1000}@example.org>\r\n"
            f"Subject: m{i}\r\nDate: {message_date(i)}\r\n"
            f"Message-ID: <{i}@tiny.example>\r\n\r\n{word} m{i}\r\n")


def maildir_name(i):
    """The Maildir file name of generated message i (delivery order =
    name order)."""
    return f"{1700000000 + i}.M{i}P1.bench:2,"


def write_maildir(cur, n, tiny=False, seed=42, start=0):
    """Writes messages start..start+n-1 into the directory cur (Maildir
    cur/, created if missing) and returns their total size in bytes.  The
    same seed gives the same messages."""
    os.makedirs(cur, exist_ok=True)
    rng = random.Random(seed)
    vocab = weights = None
    if not tiny:
        vocab = vocabulary(rng, 20000)
        weights = [1.0 / (k + 1) for k in range(len(vocab))]
    total = 0
    for i in range(start, start + n):
        data = (tiny_message(i) if tiny else
                make_message(rng, vocab, weights, i)).encode()
        total += len(data)
        fd = os.open(os.path.join(cur, maildir_name(i)),
                     os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, data)
        os.close(fd)
    return total


def link_maildir(src_cur, dst_cur, uid=None, gid=None):
    """Hard-links every file of src_cur into dst_cur (created), falling
    back to copies across file systems; chowns dst_cur if uid is given
    (the files stay the source's: readable is enough).  The links get the
    base name (up to the first "," or ":") with ":2," and no flags: the
    name the file had before another server added its own fields, such as
    Roost's ",S=...,U=...", so both servers order the mail alike."""
    os.makedirs(dst_cur, exist_ok=True)
    for n in os.listdir(src_cur):
        s = os.path.join(src_cur, n)
        d = os.path.join(dst_cur, re.split(r"[,:]", n)[0] + ":2,")
        try:
            os.link(s, d)
        except OSError:
            shutil.copyfile(s, d)
    if uid is not None:
        os.chown(dst_cur, uid, gid)


# ---- servers ----

class _Server:
    name = "?"
    port = None
    lmtp_port = None

    def root_pid(self):
        raise NotImplementedError

    def pids(self):
        """The server's processes now."""
        return descendants(self.root_pid())

    def cpu(self):
        """CPU seconds the server's processes have used so far."""
        return cpu_seconds(self.pids())

    def memory_kb(self):
        """(PSS, RSS) in KB of all the server's processes."""
        return memory_kb(self.pids())


class _DataServer(roosttest.Server):
    """roosttest.Server whose data_dir is the given directory (kept by the
    caller, reused across runs) instead of one in its scratch directory."""

    def __init__(self, data_dir, **kw):
        self._data_dir = os.path.abspath(data_dir) if data_dir else None
        super().__init__(**kw)

    def _configure(self, *a):
        super()._configure(*a)
        if self._data_dir:
            self.data_dir = self._data_dir
            with open(self.conf) as f:
                text = f.read()
            with open(self.conf, "w") as f:
                f.write(re.sub(r"(?m)^data_dir = .*$",
                               lambda m: f"data_dir = {self._data_dir}", text, count=1))


class Roost(_Server):
    """`roost serve` from build (a build directory) with a generated
    config in a fresh directory under parent (default: the system's
    temporary directory): users {name: password}, workers, fsync on,
    log_level warning, LMTP on a TCP port (and implicit TLS on
    .tls_port if tls), max_connections (default: users + 2,000).  data_dir: Roost's data
    directory (users' Maildirs and indexes), kept by the caller and reused
    if it holds data already; default: inside the fresh directory."""
    name = "Roost"

    def __init__(self, build, users, workers=2, fsync=True, extra_conf="",
                 parent=None, data_dir=None, tls=False, log_level="warning",
                 max_connections=None):
        roosttest.BUILD = os.path.abspath(build)
        if parent:
            os.environ["TMPDIR"] = parent
            import tempfile
            tempfile.tempdir = parent
        self.srv = _DataServer(
            data_dir, workers=workers, users=users, tls=tls, lmtp=True,
            extra_conf=(f"log_level = {log_level}\nfsync = {'yes' if fsync else 'no'}\n"
                        "max_preauth_connections_per_ip = 0\n"
                        "max_connections = "
                        f"{max_connections or len(users) + 2000}\n" + extra_conf))
        self.port = self.srv.port
        self.tls_port = self.srv.tls_port
        self.lmtp_port = self.srv.lmtp_port
        self.dir = self.srv.dir

    def root_pid(self):
        return self.srv.proc.pid

    def userdir(self, user, password):
        """The user's store directory (logs in once so that it exists)."""
        import glob
        found = glob.glob(os.path.join(self.srv.data_dir, "users", "*", user))
        if not found:
            c = RawClient(self.port)
            c.login(user, password)
            c.close()
            found = glob.glob(os.path.join(self.srv.data_dir, "users", "*", user))
        return found[0]

    def maildir(self, user, password):
        return os.path.join(self.userdir(user, password), "Maildir")

    def index_bytes(self, user, password):
        """Bytes of the user's index files (index.sqlite and its WAL)."""
        return dir_bytes(self.userdir(user, password), self.INDEX_FILES)

    INDEX_FILES = r"^index\.sqlite"

    def index_files(self, user, password):
        """The index files and their sizes, as text."""
        return describe_files(dir_files(self.userdir(user, password),
                                        self.INDEX_FILES))

    def fill(self, user, password, n, tiny=False):
        """Gives the user's INBOX n generated messages: stops the server,
        writes the files into Maildir/cur, runs `roost check --rebuild`
        and starts the server again.  Returns (bytes of mail, seconds
        writing, seconds rebuilding)."""
        cur = os.path.join(self.maildir(user, password), "cur")
        self.srv.stop()
        t0 = time.monotonic()
        raw = write_maildir(cur, n, tiny=tiny)
        t1 = time.monotonic()
        subprocess.run([os.path.join(roosttest.BUILD, "roost"), "check", "-c",
                        self.srv.conf, "--rebuild", user], check=True,
                       stdout=subprocess.DEVNULL)
        t2 = time.monotonic()
        self.srv.start()
        return raw, t1 - t0, t2 - t1

    def stop(self, keep=False):
        if keep:
            self.srv.stop()
        else:
            self.srv.cleanup()


DOVECOT_UID = 65534     # nobody: Dovecot will not run mail processes as root


def dovecot_installed():
    return shutil.which("dovecot") is not None and \
        os.path.exists("/usr/lib/dovecot/lmtp")


def install_dovecot():
    """apt-get install dovecot-imapd dovecot-lmtpd when missing; True if
    Dovecot is there afterwards."""
    if dovecot_installed():
        return True
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "install", "-y", "dovecot-imapd", "dovecot-lmtpd"],
                ["apt-get", "update"],
                ["apt-get", "install", "-y", "dovecot-imapd", "dovecot-lmtpd"]):
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        if dovecot_installed():
            return True
    return False


def dovecot_config(base, imap_port, lmtp_port, passwd, min_avail=2,
                   process_limit=2000, fsync=True, tls=None, imaps_port=0,
                   mechanisms="plain login"):
    """The text of a tuned Dovecot 2.3 configuration that keeps everything
    under the directory base: login and mail processes reused
    (service_count = 0) with min_avail of each kept ready, Maildir in
    each user's home (from the passwd-file), mail_fsync = always (never
    if not fsync: Roost's fsync = yes / no), plaintext
    logins without TLS, IMAP on 127.0.0.1:imap_port, LMTP on
    127.0.0.1:lmtp_port, the log in base/dovecot.log.  tls: (cert, key)
    PEM files for implicit TLS on 127.0.0.1:imaps_port (plaintext logins
    stay allowed on imap_port); mechanisms: auth_mechanisms."""
    ssl_conf = "ssl = no"
    if tls:
        ssl_conf = f"ssl = yes\nssl_cert = <{tls[0]}\nssl_key = <{tls[1]}"
    return f"""# written by bench/lib/benchlib.py
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
{ssl_conf}
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
auth_username_format = %n
mail_location = maildir:~/Maildir
mail_fsync = {"always" if fsync else "never"}
mail_max_userip_connections = 100000
default_process_limit = {process_limit}
default_client_limit = {process_limit * 2}
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {passwd}
}}
userdb {{
  driver = passwd-file
  args = username_format=%n {passwd}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
  service_count = 0
  process_min_avail = {min_avail}
}}
service imap {{
  service_count = 0
  process_min_avail = {min_avail}
  process_limit = {process_limit}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
  unix_listener lmtp {{
    mode = 0600
  }}
  service_count = 0
  process_min_avail = {min_avail}
}}
"""


class Dovecot(_Server):
    """A tuned Dovecot (dovecot_config()) running in base (a fresh
    directory made for it, world-traversable for the login processes),
    on free ports, with users {name: password} whose homes are
    base/home/NAME, owned by DOVECOT_UID."""
    name = "Dovecot"

    def __init__(self, base, users, fsync=True, tls=None, mechanisms="plain login"):
        self.dir = base
        os.makedirs(base, exist_ok=True)
        os.chmod(base, 0o755)
        self.passwd = os.path.join(base, "passwd")
        home = os.path.join(base, "home")
        os.makedirs(home, exist_ok=True)
        os.chown(home, DOVECOT_UID, DOVECOT_UID)
        with open(self.passwd, "w") as f:
            for u, p in users.items():
                f.write(f"{u}:{{PLAIN}}{p}:{DOVECOT_UID}:{DOVECOT_UID}::"
                        f"{home}/{u}::\n")
        os.chmod(self.passwd, 0o644)
        self.port = roosttest.free_port()
        self.lmtp_port = roosttest.free_port()
        # tls: (cert, key) PEM files: implicit TLS on .tls_port too
        self.tls_port = roosttest.free_port() if tls else None
        self.conf = os.path.join(base, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(dovecot_config(base, self.port, self.lmtp_port, self.passwd,
                                   fsync=fsync, tls=tls, imaps_port=self.tls_port or 0,
                                   mechanisms=mechanisms))
        self.log_path = os.path.join(base, "dovecot.log")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf],
                                     stdout=open(os.path.join(base, "stdout"), "wb"),
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("dovecot exited: " + self.log_text())
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                socket.create_connection(("127.0.0.1", self.lmtp_port), 0.2).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("dovecot did not listen: " + self.log_text())
                time.sleep(0.1)

    def log_text(self):
        out = ""
        for p in (self.log_path, os.path.join(self.dir, "stdout")):
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    out += f.read()[-4000:]
        return out

    def root_pid(self):
        return self.proc.pid

    def userdir(self, user, password=None):
        return os.path.join(self.dir, "home", user)

    def maildir(self, user, password=None):
        return os.path.join(self.userdir(user), "Maildir")

    def index_bytes(self, user, password=None):
        """Bytes of Dovecot's index files (dovecot.index*, dovecot-uidlist,
        dovecot-keywords) in the user's Maildir."""
        return dir_bytes(self.maildir(user), self.INDEX_FILES)

    INDEX_FILES = r"^dovecot"

    def index_files(self, user, password=None):
        """The index files and their sizes, as text."""
        return describe_files(dir_files(self.maildir(user), self.INDEX_FILES))

    def fill_from(self, user, src_cur):
        """Hard-links the files of src_cur (another server's Maildir/cur)
        into the user's Maildir/cur; Dovecot indexes them on the first
        SELECT."""
        md = self.maildir(user)
        for d in (self.userdir(user), md, md + "/new", md + "/tmp"):
            os.makedirs(d, exist_ok=True)
            os.chown(d, DOVECOT_UID, DOVECOT_UID)
        link_maildir(src_cur, md + "/cur", DOVECOT_UID, DOVECOT_UID)

    def stop(self, keep=False):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


# ---- clients ----

class RawClient:
    """A blocking IMAP connection.  cmd() returns the whole response
    (untagged lines and tagged line) as bytes without parsing it line by
    line: at 100,000 messages a line-by-line Python client would cost
    more than the server.  It finds the tagged reply by searching for
    CRLF TAG SP, skipping server literals."""

    def __init__(self, port, timeout=600):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.n = 0
        self.buf = b""
        self._until(b"\r\n")

    def _recv(self, buf):
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("connection closed: " + bytes(buf[-200:]).decode(
                "utf-8", "replace"))
        buf += data

    def _until(self, end, literals=False):
        """Reads up to and including the first end (bytes) and returns
        that; with literals, an end inside a server literal ({N} CRLF and N
        bytes) does not count.  bytes.find does the scanning, so a 50 MB
        response costs the client little."""
        buf = bytearray(self.buf)
        pos = 0
        t = -1          # where end is, once found at or after pos
        while True:
            if t < pos:
                t = buf.find(end, pos)
            lit = buf.find(b"}\r\n", pos) if literals else -1
            if lit >= 0 and (t < 0 or lit < t):
                j = lit
                while j > 0 and 48 <= buf[j - 1] <= 57:
                    j -= 1
                if j < lit and j > 0 and buf[j - 1] == 123:      # "{N}"
                    need = lit + 3 + int(buf[j:lit])
                    while len(buf) < need:
                        self._recv(buf)
                    pos = need
                else:
                    pos = lit + 1
                continue
            if t >= 0:
                self.buf = bytes(buf[t + len(end):])
                return bytes(buf[:t + len(end)])
            # a marker or end may straddle what came and what comes
            pos = max(pos, len(buf) - 32)
            self._recv(buf)

    def cmd(self, text, literal=None):
        """Sends "TAG text" (with literal appended as a non-synchronizing
        literal if given: text must end in {N+}) and returns (tagged status
        b"OK"/b"NO"/b"BAD", whole response bytes)."""
        self.n += 1
        tag = b"Z%d" % self.n
        data = tag + b" " + text.encode() + b"\r\n"
        if literal is not None:
            data += literal + b"\r\n"
        self.sock.sendall(data)
        # the previous response ended in CRLF: a CRLF before the tag
        self.buf = b"\r\n" + self.buf
        resp = self._until(b"\r\n" + tag + b" ", literals=True)[2:]
        rest = self._until(b"\r\n")
        status = rest.split(b" ", 1)[0]
        return status, resp + rest

    def login(self, user, password):
        st, r = self.cmd(f"LOGIN {user} {password}")
        if st != b"OK":
            raise RuntimeError(f"LOGIN {user}: {r[-200:]!r}")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


async def lmtp_send(port, messages, rcpt_lists, errors, host="localhost",
                    addr="127.0.0.1"):
    """One LMTP connection to addr:port: LHLO, then for each message MAIL,
    RCPT (one per recipient in its list, user@host), DATA pipelined,
    waiting for the replies before the next message; failed deliveries'
    replies are appended to errors."""
    reader, writer = await asyncio.open_connection(addr, port)
    await reader.readline()
    writer.write(b"LHLO bench\r\n")
    while True:
        line = await reader.readline()
        if line.startswith(b"250 ") or not line:
            break
    for msg, rcpts in zip(messages, rcpt_lists):
        cmd = b"MAIL FROM:<bench@example.org>\r\n"
        for r in rcpts:
            cmd += b"RCPT TO:<%s@%s>\r\n" % (r.encode(), host.encode())
        writer.write(cmd + b"DATA\r\n")
        for _ in range(1 + len(rcpts) + 1):
            line = await reader.readline()
        if not line.startswith(b"354"):
            raise RuntimeError(line)
        writer.write(msg + b".\r\n")
        for _ in rcpts:
            line = await reader.readline()
            if not line.startswith(b"250 "):
                errors.append(line)
    writer.write(b"QUIT\r\n")
    await reader.readline()
    writer.close()


def lmtp_message(size, n):
    """An LMTP test message of about size bytes (headers + a repeated
    line), number n."""
    head = (f"From: bench@example.org\r\nTo: user@localhost\r\n"
            f"Subject: bench message {n}\r\nMessage-ID: <{n}.{time.time()}@bench>\r\n"
            f"\r\n").encode()
    line = b"The quick brown fox jumps over the lazy dog. 0123456789 abcdefghij\r\n"
    return head + line * max(1, (size - len(head)) // len(line))


async def idle_client(port, user, password, ready, stop, tls=False):
    """One idle connection: LOGIN user, SELECT INBOX, IDLE; calls ready()
    once the server's continuation request arrived, waits for the
    asyncio.Event stop, then DONE and LOGOUT.  tls: implicit TLS without
    certificate checks.  Raises RuntimeError on a NO, BAD or a closed
    connection before IDLE."""
    ctx = None
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
    await reader.readline()
    writer.write(f"a LOGIN {user} {password}\r\nb SELECT INBOX\r\nc IDLE\r\n".encode())
    while True:
        line = await reader.readline()
        if not line:
            raise RuntimeError("connection closed")
        if line.startswith(b"+"):
            break
        if line.startswith((b"a NO", b"b NO", b"a BAD", b"b BAD", b"c BAD")):
            raise RuntimeError(line)
    ready()
    await stop.wait()
    writer.write(b"DONE\r\nd LOGOUT\r\n")
    await writer.drain()
    writer.close()


async def open_idle(port, users, password, batch, tls=False):
    """Opens an idle_client() for each user name in users (a list: a name
    may repeat), batch connections at a time, each batch idle before the
    next starts.  Returns (tasks, stop): set the asyncio.Event stop, then
    await the tasks, to close them all.  Raises the first failure (after
    closing the others)."""
    stop = asyncio.Event()
    done = 0

    def ready():
        nonlocal done
        done += 1

    tasks = []
    for i in range(0, len(users), batch):
        tasks += [asyncio.create_task(idle_client(port, u, password, ready, stop,
                                                  tls=tls))
                  for u in users[i:i + batch]]
        while done < len(tasks):
            await asyncio.sleep(0.01)
            failed = [t for t in tasks if t.done() and t.exception()]
            if failed:
                stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise failed[0].exception()
    return tasks, stop


def finish(srv, keep):
    """Stops the roosttest.Server srv; keeps its directory (and prints
    where it is) if keep, else deletes it."""
    if keep:
        print("server directory kept in", srv.dir)
        srv.stop()
    else:
        srv.cleanup()


def demo_user_dir(srv):
    """Logs user demo in to the roosttest.Server srv once (so that its
    store directory and Maildir exist), stops srv and returns that
    directory: a script then writes or takes over Maildir/cur and runs
    `roost check --rebuild` before srv.start()."""
    c = srv.login()
    c.cmd("LOGOUT")
    c.close()
    srv.stop()
    [userdir] = glob.glob(os.path.join(srv.data_dir, "users", "*", "demo"))
    return userdir
