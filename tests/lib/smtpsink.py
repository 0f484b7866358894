#!/usr/bin/env python3
"""smtpsink: an SMTP server on 127.0.0.1 that records what it is sent,
for tests of Roost's outgoing mail (Sieve's redirect, vacation, notify,
reject; src/submit).  Standard library only.

Use from a Python test (a thread of the test process):

    from smtpsink import SmtpSink
    sink = SmtpSink(tmpdir)                    # listening, free port
    srv = Server(extra_conf=f"submission_host = 127.0.0.1:{sink.port}")
    ...deliver a message whose script sends mail...
    [m] = sink.wait_messages(1)                # waits up to 10 s
    m["mail_from"], m["rcpts"], m["data"]      # "", ["a@b"], bytes
    sink.stop()

Use from a C test (a child process):

    python3 tests/lib/smtpsink.py --dir DIR [options]

prints the port on a line of its own when it listens and serves until
its standard input closes (or SIGTERM).

Each message accepted is recorded in the directory as NNNN.eml (the
message as received, dot-unstuffed, CRLF kept) and then NNNN.json,
written last (a reader that sees the .json sees the whole message):
    {"helo": "host", "tls": false, "mail_from": "" or "a@b",
     "mail_params": ["SIZE=123"], "rcpts": ["x@y"],
     "rcpt_params": [["NOTIFY=NEVER"]], "auth": null or "user",
     "commands": ["EHLO host", ...]}  (an AUTH line is recorded as
     "AUTH PLAIN ***", never with its credentials)
SmtpSink.messages() reads them back ("data" is the .eml's bytes).

Options (keyword arguments of SmtpSink, or command-line flags):
  tls=(cert, key)      --tls-cert C --tls-key K   offer STARTTLS
  refuse_starttls      --refuse-starttls          offer it, answer 454
  fail={stage: code}   --fail STAGE=CODE          answer CODE at STAGE
  stall=[stage]        --stall STAGE              never answer at STAGE
  no_ehlo              --no-ehlo                  502 to EHLO (HELO only)
  size=N               --size N                   advertise SIZE N
  dsn                  --dsn                      advertise DSN
  auth=(user, pass)    --auth USER:PASS           offer AUTH PLAIN, accept
                                                  only these credentials
Stages: greeting, ehlo, helo, starttls, mail, rcpt, rcpt:ADDRESS (that
recipient only), data (the DATA command), message (after the final
"."), quit.  A code 4xx or 5xx gets a reply "CODE x.y.z sink says no".
"""
import argparse
import base64
import json
import os
import socket
import socketserver
import ssl
import sys
import threading
import time


class _Handler(socketserver.StreamRequestHandler):
    timeout = 30

    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def stage(self, name, ok_text):
        """Answers ok_text unless the sink is told to fail or stall
        there; returns whether it answered ok."""
        sink = self.server.sink
        if name in sink.stall:
            # hold the connection without a word until the client leaves
            self.request.settimeout(None)
            while self.rfile.read(1):
                pass
            raise ConnectionAbortedError
        code = sink.fail.get(name)
        if code is not None:
            sub = "4.0.0" if 400 <= code < 500 else "5.0.0"
            self.reply(f"{code} {sub} sink says no ({name})")
            return False
        self.reply(ok_text)
        return True

    def readline(self):
        line = self.rfile.readline(4096)
        if not line:
            raise ConnectionAbortedError
        return line.rstrip(b"\r\n").decode("utf-8", "replace")

    def ehlo_lines(self):
        sink = self.server.sink
        lines = ["sink.test", "8BITMIME", "PIPELINING"]
        if sink.tls and not self.tls:
            lines.append("STARTTLS")
        if sink.size:
            lines.append(f"SIZE {sink.size}")
        if sink.dsn:
            lines.append("DSN")
        if sink.auth:
            lines.append("AUTH PLAIN")
        return lines

    def handle(self):
        self.tls = False
        self.env = None
        self.helo = None
        self.commands = []
        self.auth = None
        try:
            if not self.stage("greeting", "220 sink.test ESMTP smtpsink"):
                return
            self.session()
        except (ConnectionError, OSError, ssl.SSLError):
            pass

    def session(self):
        sink = self.server.sink
        while True:
            line = self.readline()
            verb = line.split(" ", 1)[0].upper()
            arg = line[len(verb):].strip()
            self.commands.append("AUTH PLAIN ***" if verb == "AUTH" else line)
            if verb == "EHLO":
                if sink.no_ehlo:
                    self.reply("502 5.5.1 EHLO not here")
                    continue
                lines = self.ehlo_lines()
                if "ehlo" in sink.fail or "ehlo" in sink.stall:
                    self.stage("ehlo", "")
                    continue
                self.helo = arg
                for i, text in enumerate(lines):
                    sep = " " if i == len(lines) - 1 else "-"
                    self.reply(f"250{sep}{text}")
                self.env = None
            elif verb == "HELO":
                if self.stage("helo", "250 sink.test"):
                    self.helo = arg
                    self.env = None
            elif verb == "STARTTLS":
                if not sink.tls or self.tls:
                    self.reply("502 5.5.1 no STARTTLS")
                elif sink.refuse_starttls:
                    self.reply("454 4.7.0 TLS not available now")
                elif self.stage("starttls", "220 2.0.0 go ahead"):
                    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                    ctx.load_cert_chain(*sink.tls)
                    conn = ctx.wrap_socket(self.request, server_side=True)
                    self.request = conn
                    self.rfile = conn.makefile("rb")
                    self.wfile = conn.makefile("wb")
                    self.tls = True
                    self.auth = None
                    self.helo = None
                    self.env = None
            elif verb == "MAIL":
                path, params = self.path_arg(arg, "FROM:")
                if path is None:
                    self.reply("501 5.5.4 syntax: MAIL FROM:<path>")
                elif self.helo is None:
                    self.reply("503 5.5.1 EHLO first")
                elif self.stage("mail", "250 2.1.0 ok"):
                    self.env = {"mail_from": path, "mail_params": params,
                                "rcpts": [], "rcpt_params": []}
            elif verb == "RCPT":
                path, params = self.path_arg(arg, "TO:")
                if path is None or path == "":
                    self.reply("501 5.5.4 syntax: RCPT TO:<path>")
                elif self.env is None:
                    self.reply("503 5.5.1 MAIL first")
                elif (f"rcpt:{path}" in sink.fail
                      or f"rcpt:{path}" in sink.stall):
                    self.stage(f"rcpt:{path}", "")
                elif self.stage("rcpt", "250 2.1.5 ok"):
                    self.env["rcpts"].append(path)
                    self.env["rcpt_params"].append(params)
            elif verb == "DATA":
                if self.env is None or not self.env["rcpts"]:
                    self.reply("503 5.5.1 RCPT first")
                elif self.stage("data", "354 end with <CRLF>.<CRLF>"):
                    self.data()
            elif verb == "AUTH":
                self.authenticate(arg)
            elif verb == "RSET":
                self.env = None
                self.reply("250 2.0.0 ok")
            elif verb == "NOOP":
                self.reply("250 2.0.0 ok")
            elif verb == "QUIT":
                self.stage("quit", "221 2.0.0 bye")
                return
            else:
                self.reply("500 5.5.2 unknown command")

    def authenticate(self, arg):
        """AUTH PLAIN [initial-response] (RFC 4954, RFC 4616)."""
        sink = self.server.sink
        mech, _, initial = arg.partition(" ")
        if not sink.auth or mech.upper() != "PLAIN":
            self.reply("504 5.5.4 unknown mechanism")
            return
        if self.auth is not None or self.env is not None:
            self.reply("503 5.5.1 bad sequence")
            return
        if not initial:
            self.reply("334 ")
            initial = self.readline()
        try:
            _, user, password = base64.b64decode(initial, validate=True) \
                .decode().split("\0")
        except ValueError:
            self.reply("501 5.5.2 bad response")
            return
        if (user, password) != tuple(sink.auth):
            self.reply("535 5.7.8 authentication credentials invalid")
            return
        self.auth = user
        self.reply("235 2.7.0 authenticated")

    @staticmethod
    def path_arg(arg, prefix):
        """("addr", [params]) of "FROM:<addr> P=V", or (None, [])."""
        if not arg.upper().startswith(prefix):
            return None, []
        rest = arg[len(prefix):].strip()
        if not rest.startswith("<") or ">" not in rest:
            return None, []
        end = rest.index(">")
        return rest[1:end], rest[end + 1:].split()

    def data(self):
        body = bytearray()
        while True:
            line = self.rfile.readline(1 << 20)
            if not line:
                raise ConnectionAbortedError
            if line == b".\r\n":
                break
            if line.startswith(b"."):
                line = line[1:]
            body += line
        env = dict(self.env, helo=self.helo, tls=self.tls, auth=self.auth,
                   commands=list(self.commands))
        self.env = None
        if self.stage("message", "250 2.0.0 queued"):
            self.server.sink.record(env, bytes(body))


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class SmtpSink:
    """A running sink; see the module's documentation."""

    def __init__(self, directory, tls=None, refuse_starttls=False, fail=None,
                 stall=None, no_ehlo=False, size=0, dsn=False, auth=None):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.tls = tls
        self.refuse_starttls = refuse_starttls
        self.fail = dict(fail or {})
        self.stall = set(stall or [])
        self.no_ehlo = no_ehlo
        self.size = size
        self.dsn = dsn
        self.auth = auth
        self._count = 0
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.sink = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        daemon=True)
        self._thread.start()

    def record(self, env, data):
        with self._lock:
            self._count += 1
            base = os.path.join(self.dir, f"{self._count:04d}")
        with open(base + ".eml", "wb") as f:
            f.write(data)
        with open(base + ".json.tmp", "w") as f:
            json.dump(env, f)
        os.rename(base + ".json.tmp", base + ".json")

    def messages(self):
        """Every message recorded so far, in order: the envelope's dict
        with "data" (bytes) added."""
        out = []
        for name in sorted(os.listdir(self.dir)):
            if not name.endswith(".json"):
                continue
            with open(os.path.join(self.dir, name)) as f:
                env = json.load(f)
            with open(os.path.join(self.dir, name[:-5] + ".eml"), "rb") as f:
                env["data"] = f.read()
            out.append(env)
        return out

    def wait_messages(self, count, timeout=10):
        """At least `count` messages, waiting up to timeout seconds;
        raises AssertionError with what there is when they do not come."""
        deadline = time.time() + timeout
        while True:
            msgs = self.messages()
            if len(msgs) >= count or time.time() >= deadline:
                break
            time.sleep(0.05)
        if len(msgs) < count:
            raise AssertionError(f"smtpsink: {len(msgs)} message(s), expected "
                                 f"{count}")
        return msgs

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--refuse-starttls", action="store_true")
    ap.add_argument("--fail", action="append", default=[],
                    metavar="STAGE=CODE")
    ap.add_argument("--stall", action="append", default=[], metavar="STAGE")
    ap.add_argument("--no-ehlo", action="store_true")
    ap.add_argument("--size", type=int, default=0)
    ap.add_argument("--dsn", action="store_true")
    ap.add_argument("--auth", metavar="USER:PASS")
    a = ap.parse_args()
    fail = {}
    for spec in a.fail:
        stage, _, code = spec.rpartition("=")
        fail[stage] = int(code)
    tls = (a.tls_cert, a.tls_key) if a.tls_cert else None
    sink = SmtpSink(a.dir, tls=tls, refuse_starttls=a.refuse_starttls,
                    fail=fail, stall=a.stall, no_ehlo=a.no_ehlo, size=a.size,
                    dsn=a.dsn,
                    auth=a.auth.split(":", 1) if a.auth else None)
    print(sink.port, flush=True)
    try:
        sys.stdin.read()
    except KeyboardInterrupt:
        pass
    sink.stop()


if __name__ == "__main__":
    socket.setdefaulttimeout(30)
    main()
