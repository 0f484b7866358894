"""roosttest: start a fresh `roost serve` and talk to it.

Protocol and interop tests are Python files named test_*.py holding
functions named test_*.  A test function that takes a parameter `srv` gets
a freshly started server (temporary data directory, free loopback ports,
user `demo` with password `demo` and `alice`/`alicepw`), stopped after the
test; the test fails if the server logged a sanitizer report, a PANIC or
the death of a worker (the supervisor restarts a dead worker, so a crash
would otherwise go unnoticed).

Conversations read like the RFC examples:

    c = srv.connect()            # plaintext port (STARTTLS offered)
    c.conv('''
    C: a1 LOGIN demo demo
    S~ a1 OK \\[CAPABILITY .*\\] Logged in
    ''')

`C: line` sends the line with CRLF.  `S: line` expects exactly that line;
`S~ regex` expects a line that fully matches the regex.  Untagged lines
not named are an error: each server line must be accounted for.  At the
end of a conversation whose last line is an `S` line (other than a `+`
continuation request) no further server line may be buffered or arrive
within LEFTOVER_WINDOW seconds.
"""
import importlib.util
import inspect
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

# A small message for tests that only need one to exist.
MSG = "From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n"

# How long conv() waits for stray server lines after a conversation.
# Config lines every Server gets after its own: tests that run other
# tests again under a setting (test_offload.py) set it around them.
FORCED_CONF = ""
LEFTOVER_WINDOW = float(os.environ.get("ROOST_LEFTOVER_WINDOW", "0.05"))

# What check_log() rejects: sanitizer reports, PANIC, and the supervisor's
# line for a worker that died (src/net/serve.c: "worker N (pid P) died:
# killed by signal S" / "exited with status S") or hung on stop.
LOG_FAILURES = [
    re.compile(r"ERROR: AddressSanitizer"),
    re.compile(r"runtime error:"),
    re.compile(r"ERROR: LeakSanitizer"),
    re.compile(r"SUMMARY: UndefinedBehaviorSanitizer"),
    re.compile(r"PANIC"),
    re.compile(r"worker \d+ \(pid \d+\) died: .*"),
    re.compile(r"login process \d+ \(pid \d+\) died: .*"),
    re.compile(r"login process \d+ \(pid \d+\) did not stop in time.*"),
    re.compile(r"login sandbox probe: opened"),
    re.compile(r"worker \d+ \(pid \d+\) did not stop in time.*"),
]


def _login_user():
    """As root, the login processes' default user (login_user) is made
    once, as `make run` does; without it they run as nobody."""
    if os.geteuid() != 0:
        return
    import pwd
    try:
        pwd.getpwnam("roost-login")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir",
                        "/nonexistent", "--shell", "/usr/sbin/nologin", "roost-login"],
                       capture_output=True)


_login_user()
def import_debian(name):
    """Imports module `name`, from Debian's python3-* packages when the
    python3 running the tests is another one (a pyenv build does not see
    /usr/lib/python3/dist-packages; Debian's modules are built for the
    same 3.x, so they load)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        if "/usr/lib/python3/dist-packages" in sys.path:
            raise
        sys.path.append("/usr/lib/python3/dist-packages")
        return importlib.import_module(name)


def sanitizer_env(env):
    """env with ASan/UBSan options that make every finding fatal (leak
    reports at a worker's exit are off: noise here, the unit tests run with
    leak detection).  Options given by the caller come first; the ones
    that would mask a finding are overridden (later options win)."""
    asan = env.get("ASAN_OPTIONS", "")
    if "detect_leaks" not in asan:
        asan = "detect_leaks=0:" + asan
    env["ASAN_OPTIONS"] = asan.strip(":") + ":halt_on_error=1:abort_on_error=0"
    ubsan = env.get("UBSAN_OPTIONS", "")
    env["UBSAN_OPTIONS"] = (ubsan + ":print_stacktrace=1:halt_on_error=1").strip(":")
    return env


BUILD = os.environ.get("ROOST_BUILD", os.path.join(
    os.path.dirname(__file__), "..", "..", "build"))
_certdir = None


class TestFailure(AssertionError):
    pass


def free_port():
    """A port that is free now, chosen below Linux's ephemeral range
    (32768-60999) so that client sockets of other tests cannot take it
    before the server binds it."""
    import random
    for _ in range(200):
        port = random.randint(20000, 32000)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tcp_inodes(port):
    """Inodes of the established TCP sockets (/proc/net/tcp, tcp6) whose
    local port is `port`: the server's ends of its connections."""
    inodes = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(fields[9])
        except OSError:
            pass
    return inodes


def cert_files():
    """A self-signed certificate and key made once per test run."""
    global _certdir
    if _certdir is None:
        _certdir = tempfile.mkdtemp(prefix="roost-cert-")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-days", "2", "-subj", "/CN=localhost",
                        "-keyout", os.path.join(_certdir, "key.pem"),
                        "-out", os.path.join(_certdir, "cert.pem")],
                       check=True, capture_output=True)
    return (os.path.join(_certdir, "cert.pem"),
            os.path.join(_certdir, "key.pem"))


class Server:
    """A running `roost serve` on free loopback ports."""

    def __init__(self, workers=1, extra_conf="", users=None, tls=True,
                 lmtp=False, managesieve=False):
        self.dir = tempfile.mkdtemp(prefix="roost-test-")
        self.data_dir = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "roost.log")
        self.proc = None
        # a port taken between free_port() and bind(): try other ports
        for attempt in range(5):
            self._configure(workers, extra_conf, users, tls, lmtp,
                            managesieve)
            try:
                self.start()
                return
            except TestFailure:
                if attempt == 4 or "Address already in use" not in self.log_text():
                    raise
                self.log.close()
                os.unlink(self.log_path)

    def _configure(self, workers, extra_conf, users, tls, lmtp,
                   managesieve=False):
        self.port = free_port()          # STARTTLS / plaintext
        self.tls_port = free_port() if tls else None
        # Server(lmtp=True): LMTP on lmtp_port and on the UNIX socket
        # lmtp_socket as well
        self.lmtp_port = free_port() if lmtp else None
        self.lmtp_socket = os.path.join(self.dir, "lmtp.sock") if lmtp else None
        # Server(managesieve=True): ManageSieve with STARTTLS
        self.managesieve_port = free_port() if managesieve else None
        self.userdb = os.path.join(self.dir, "passwd")
        users = users if users is not None else {
            "demo": "demo", "alice": "alicepw"}
        with open(self.userdb, "w") as f:
            for u, p in users.items():
                f.write(f"{u}:{{PLAIN}}{p}\n")
        cert, key = cert_files()
        lines = [
            f"data_dir = {self.data_dir}",
            "user =",
            f"workers = {workers}",
            "log_level = debug",
            f"userdb = {self.userdb}",
            f"tls_cert = {cert}",
            f"tls_key = {key}",
            f"listen = imap 127.0.0.1:{self.port} starttls",
        ]
        if tls:
            lines.append(f"listen = imap 127.0.0.1:{self.tls_port} implicit")
        if lmtp:
            lines.append(f"listen = lmtp 127.0.0.1:{self.lmtp_port}")
            lines.append(f"listen = lmtp {self.lmtp_socket}")
        if managesieve:
            lines.append(f"listen = managesieve 127.0.0.1:{self.managesieve_port}"
                         " starttls")
        lines.append(extra_conf)
        lines.append(FORCED_CONF)
        self.conf = os.path.join(self.dir, "roost.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def roost(self, *args, input=None, check=True):
        """Runs `roost ARGS -c CONF` (a CLI subcommand) and returns it."""
        cmd = [os.path.join(BUILD, "roost")] + list(args)
        p = subprocess.run(cmd, input=input, capture_output=True, text=True,
                           timeout=60)
        if check and p.returncode != 0:
            raise TestFailure(f"{cmd} exited {p.returncode}: {p.stderr}")
        return p

    def start(self):
        self.log = open(self.log_path, "ab")
        # memory errors and undefined behaviour end the process and are
        # caught by check_log()
        env = sanitizer_env(dict(os.environ))
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "roost"), "serve", "-c", self.conf],
            stdout=self.log, stderr=self.log, env=env)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise TestFailure("roost serve exited: " + self.log_text())
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                for port in (self.lmtp_port, self.managesieve_port):
                    if port:
                        socket.create_connection(("127.0.0.1", port),
                                                 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise TestFailure("roost serve did not start listening")

    def log_text(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise TestFailure("roost serve did not stop on SIGTERM")
        code = self.proc.returncode
        self.proc = None
        self.log.close()
        return code

    def check_log(self, extra=()):
        """Fails if the log has a sanitizer report, a PANIC, a dead or hung
        worker (LOG_FAILURES), or a match of a regex in extra."""
        text = self.log_text()
        for rx in LOG_FAILURES + [re.compile(x) for x in extra]:
            m = rx.search(text)
            if m:
                raise TestFailure(f"server log has '{m.group(0)}':\n"
                                  + text[-8000:])

    def _children(self, login):
        if self.proc is None:
            return []
        pid = self.proc.pid
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                pids = [int(x) for x in f.read().split()]
        except OSError:
            return []
        out = []
        for p in pids:
            try:
                with open(f"/proc/{p}/comm") as f:
                    is_login = f.read().strip() == "roost-login"
            except OSError:
                continue
            if is_login == login:
                out.append(p)
        return out

    def worker_pids(self):
        """The pids of the running worker processes (children of the
        supervisor but the login processes; empty for a single-process
        server)."""
        return self._children(False)

    def login_pids(self):
        """The pids of the running login processes (login_processes)."""
        return self._children(True)

    def worker_fds(self, pid):
        """What the descriptors of process pid point to: readlink() of
        each entry of /proc/PID/fd ("socket:[123]", "/path/to/file")."""
        targets = []
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                pass
        return targets

    def worker_connections(self, pid, port=None):
        """How many established TCP connections to `port` (default: the
        plaintext IMAP port) process pid holds."""
        inodes = tcp_inodes(port or self.port)
        return sum(1 for t in self.worker_fds(pid)
                   if t.startswith("socket:[") and t[8:-1] in inodes)

    def cleanup(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def connect(self, tls=False, timeout=10):
        return Client(self, tls=tls, timeout=timeout)

    def lmtp(self, unix=False, timeout=10):
        """An LMTP connection (greeting not consumed), over TCP or the
        UNIX socket; needs Server(lmtp=True)."""
        if unix:
            return Client(self, timeout=timeout, unix_path=self.lmtp_socket)
        return Client(self, timeout=timeout, port=self.lmtp_port)

    def login(self, user="demo", password="demo", tls=False):
        """A connection already logged in (greeting and LOGIN consumed)."""
        c = self.connect(tls=tls)
        c.greeting()
        c.cmd(f"LOGIN {user} {password}", ok=True)
        return c


class Client:
    def __init__(self, srv, tls=False, timeout=10, port=None, unix_path=None):
        self.srv = srv
        port = port or (srv.tls_port if tls else srv.port)
        if unix_path is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(unix_path)
        else:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        if tls:
            self.sock = client_tls_context().wrap_socket(
                self.sock, server_hostname="localhost")
        self.buf = b""
        self.tagn = 0
        self.timeout = timeout

    def starttls(self):
        self.sock = client_tls_context().wrap_socket(
            self.sock, server_hostname="localhost")

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self, text):
        self.send(text + "\r\n")

    def readline(self, timeout=None):
        """One server line without CRLF (bytes of literals included raw)."""
        self.sock.settimeout(timeout or self.timeout)
        while b"\r\n" not in self.buf:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                raise TestFailure(f"timeout waiting for a line; have {self.buf!r}")
            if not data:
                raise TestFailure(f"connection closed; have {self.buf!r}")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def read_exact(self, n, timeout=None):
        self.sock.settimeout(timeout or self.timeout)
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                raise TestFailure("connection closed in literal")
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response_line(self):
        """A line with its literals inlined: {n}\\r\\n + n bytes."""
        text = self.readline()
        while True:
            m = re.search(r"\{(\d+)\}$", text)
            if not m:
                return text
            data = self.read_exact(int(m.group(1)))
            text = text + "\r\n" + data.decode("utf-8", "replace") + self.readline()

    def is_closed(self, timeout=3):
        """True if the server closes the connection within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except (socket.timeout, ssl.SSLError):
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True

    def greeting(self):
        line = self.readline()
        if not line.startswith("* OK"):
            raise TestFailure(f"bad greeting {line!r}")
        return line

    def next_tag(self):
        self.tagn += 1
        return f"t{self.tagn}"

    def cmd(self, text, ok=None):
        """Sends TAG TEXT and returns (untagged lines, tagged line)."""
        tag = self.next_tag()
        self.line(f"{tag} {text}")
        untagged = []
        while True:
            line = self.read_response_line()
            if line.startswith(tag + " "):
                if ok is True and not line.startswith(tag + " OK"):
                    raise TestFailure(f"{text!r} -> {line!r}; {untagged}")
                if ok is False and line.startswith(tag + " OK"):
                    raise TestFailure(f"{text!r} unexpectedly OK: {line!r}")
                return untagged, line
            untagged.append(line)

    def append(self, box="INBOX", flags="", msg=MSG, date=None, ok=True):
        """APPENDs msg (str or bytes) to box with a non-synchronizing
        literal (LITERAL+).  flags is the flag list as sent, "(\\Seen)", or
        "" for none; date an INTERNALDATE string or None.  Untagged updates
        before the tagged reply are skipped.  Fails the test unless the
        reply is OK (ok=False: whatever it is); returns the tagged line
        (with its [APPENDUID ...])."""
        data = msg.encode() if isinstance(msg, str) else msg
        args = [box] + ([flags] if flags else []) + \
            ([f'"{date}"'] if date else [])
        tag = self.next_tag()
        self.line(f"{tag} APPEND {' '.join(args)} {{{len(data)}+}}")
        self.send(data + b"\r\n")
        line = self.read_response_line()
        while not line.startswith(tag + " "):
            line = self.read_response_line()
        if ok:
            expect(line.startswith(tag + " OK "), line)
        return line

    def append_burst(self, msgs, box="INBOX"):
        """APPENDs every message of msgs (bytes) to box with LITERAL+ in
        one pipelined burst (tags a1, a2, ...), then reads every tagged
        reply, failing the test unless all are OK."""
        data = []
        for i, m in enumerate(msgs, 1):
            data.append(f"a{i} APPEND {box} {{{len(m)}+}}\r\n".encode() + m + b"\r\n")
        self.send(b"".join(data))
        for i in range(1, len(msgs) + 1):
            line = self.readline(timeout=120)
            while not line.startswith(f"a{i} "):
                line = self.readline(timeout=120)
            expect(line.startswith(f"a{i} OK"), line)

    def conv(self, script):
        """Plays a conversation (see the module doc)."""
        last = None
        for raw in script.strip("\n").splitlines():
            # trailing spaces are significant ("+ " continuations)
            s = raw.lstrip()
            if not s.strip() or s.startswith("#"):
                continue
            kind, text = s[:2], s[3:] if len(s) > 2 else ""
            if kind == "C:":
                self.line(text)
            elif kind == "S:":
                got = self.read_response_line()
                if got != text:
                    raise TestFailure(f"expected {text!r}\n     got {got!r}")
            elif kind == "S~":
                got = self.read_response_line()
                if not re.fullmatch(text, got, re.S):
                    raise TestFailure(f"expected /{text}/\n     got {got!r}")
            else:
                raise TestFailure(f"bad script line {raw!r}")
            last = (kind, text)
        if last is not None and last[0] != "C:" and not last[1].startswith("+"):
            self.expect_no_more()

    def expect_no_more(self, window=None):
        """Fails if a server line (or part of one) is already buffered or
        arrives within window seconds (LEFTOVER_WINDOW); a close is fine."""
        import select
        window = LEFTOVER_WINDOW if window is None else window
        if not self.buf:
            pending = getattr(self.sock, "pending", lambda: 0)()
            ready = pending > 0 or \
                bool(select.select([self.sock], [], [], window)[0])
            if ready:
                self.sock.settimeout(window)
                try:
                    self.buf += self.sock.recv(65536)
                except (socket.timeout, ssl.SSLWantReadError):
                    pass
                except (ConnectionResetError, BrokenPipeError):
                    pass
        if self.buf:
            left, self.buf = self.buf, b""
            raise TestFailure("server lines left over after the "
                              f"conversation: {left[:2000]!r}")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def client_tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def expect(cond, what="assertion failed"):
    if not cond:
        raise TestFailure(what)


def seqset(nums):
    """Ascending numbers as an IMAP sequence set with ranges ("1:3,5")."""
    out, i = [], 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        out.append(str(nums[i]) if i == j else f"{nums[i]}:{nums[j]}")
        i = j + 1
    return ",".join(out)


def run_suite(directory, build, only=None, files=None):
    """Runs each test_* function of each test_*.py in directory (or of
    the file names in `files` only)."""
    global BUILD
    BUILD = build
    passed = failed = 0
    if not os.path.isdir(directory):
        return 0, 0
    suite = os.path.basename(directory)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    # interop tests reuse the protocol tests' helpers (Sieve, certs, ...)
    protocol = os.path.join(os.path.dirname(directory), "protocol")
    if protocol not in sys.path:
        sys.path.append(protocol)
    for fname in sorted(os.listdir(directory)):
        if not (fname.startswith("test_") and fname.endswith(".py")):
            continue
        if files is not None and fname not in files:
            continue
        path = os.path.join(directory, fname)
        spec = importlib.util.spec_from_file_location(fname[:-3], path)
        mod = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(mod)
        except Exception:
            print(f"{suite} {fname}: FAIL (import)\n{traceback.format_exc()}")
            failed += 1
            continue
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            if not name.startswith("test_") or fn.__module__ != mod.__name__:
                continue
            full = f"{fname[:-3]}.{name}"
            if only and only not in full:
                continue
            ok, msg = run_one(fn)
            if ok:
                passed += 1
                print(f"{suite} {full}: ok")
            else:
                failed += 1
                print(f"{suite} {full}: FAIL\n{msg}")
    return passed, failed


def _alarm(signum, frame):
    raise TestFailure("test timed out")


def run_one(fn):
    """Runs one test function; returns (passed, message)."""
    params = inspect.signature(fn).parameters
    srv = None
    old = signal.signal(signal.SIGALRM, _alarm)
    started = time.time()
    outer = signal.alarm(int(getattr(fn, "timeout", 120)))
    try:
        kwargs = {}
        if "srv" in params:
            srv = Server(**getattr(fn, "server_args", {}))
            kwargs["srv"] = srv
        fn(**kwargs)
        if srv is not None:
            srv.check_log()
            code = srv.stop()
            if code != 0:
                raise TestFailure(f"roost serve exited {code} on SIGTERM")
            srv.check_log()
        return True, ""
    except Exception:
        msg = traceback.format_exc()
        if srv is not None:
            msg += "\n--- server log (tail) ---\n" + srv.log_text()[-4000:]
        return False, msg
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        if outer:       # run_one() inside a test: the outer alarm goes on
            signal.alarm(max(1, outer - int(time.time() - started)))
        if srv is not None:
            srv.cleanup()


def server_args(**kw):
    """Decorator: start the test's server with these Server() arguments."""
    def deco(fn):
        fn.server_args = kw
        return fn
    return deco
