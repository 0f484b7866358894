#!/usr/bin/env python3
"""Stress and consistency checker: N IMAP clients on shared mailboxes.

usage: tests/stress/stress.py BUILD_DIR [--seconds S] [--clients N]
                              [--workers W] [--seed SEED] [--keep]

Starts `roost serve` from BUILD_DIR (W workers, default 2) with users demo,
alice and carol and runs N clients (default 10; two of them are alice) for
S seconds (default 20), after a burst of six simultaneous LOGINs to carol,
whose store does not exist yet.  Each client logs in (half of them ENABLE
IMAP4rev2) and does a random mix of SELECT, EXAMINE, FETCH (FLAGS, UID,
RFC822.SIZE, BODY.PEEK[], BODY.PEEK[]<0.30>, MODSEQ when CONDSTORE is
offered), STORE (+/-FLAGS, system flags and keywords, .SILENT too),
EXPUNGE, UID EXPUNGE, APPEND, COPY, MOVE, STATUS, SEARCH, NOOP, IDLE,
pipelined UID STORE + UID FETCH and LOGOUT + LOGIN on a few shared
mailboxes; now and then (alice) it APPENDs to a new mailbox and EXAMINEs /
SELECTs it to check \\Recent, goes over the keyword limit, or has a second
session change a flag before its own .SILENT STORE.  ROOST_STRESS_TRACE=DIR
writes each client's transcript (with its view after each line) to DIR.

Every client keeps its own view of the selected mailbox (the MSN -> UID map
built from EXISTS, EXPUNGE and FETCH responses, the flags last reported per
UID, the FLAGS list) and checks the invariants of RFC 9051 / RFC 3501:

  - no response for a message sequence number the session was not told
    about; EXISTS never shrinks the view; EXPUNGE not during FETCH, STORE
    (RFC 9051 7.5.1);
  - UIDs strictly ascending in the view, never reused (all UIDs ever seen
    per mailbox and UIDVALIDITY are shared by the clients), and a UID keeps
    its message: bodies fetched equal what was APPENDed (APPENDUID/COPYUID
    tell which UID holds which message);
  - the client's own STORE is visible: each client has a private keyword
    nobody else touches, and every FLAGS reported for a message after the
    client's STORE completed (and before its next one) must show it as
    stored; a flag another session set and nobody cleared is seen the same
    way;
  - the keywords in a FETCH FLAGS were announced by a FLAGS response first
    (RFC 9051 7.3.5);
  - \\Recent: reported to at most one SELECTing session per message
    (IMAP4rev2 sessions may see the obsolete flag too, RFC 9051
    flag-fetch), to the first session that selects a mailbox whose
    messages nobody has seen yet, and counted by EXAMINE (RFC 3501 6.3.2);
    a STORE refused with NO [LIMIT] registers none of its keywords;
    concurrent LOGINs all succeed;
  - a flag another session set reaches this session even when this one
    then STOREs .SILENT on the same message (RFC 9051 5.2);
  - EXPUNGE / UID EXPUNGE remove every message known to have \\Deleted
    (in the set), MOVE expunges what it moved (RFC 6851 3.3), COPYUID
    names only UIDs asked for, UIDNEXT (SELECT, STATUS) is above every UID
    assigned, SEARCH answers only what the session knows, RFC822.SIZE and
    BODY[]<0.30> match the message appended, a pipelined UID FETCH shows
    the UID STORE sent before it;
  - MODSEQ never decreases for a message within a session (if CONDSTORE
    is offered; another session's view may lag behind until its next
    sync: a FETCH reports the message as that session's view has it);
  - no NO or BAD the RFC does not allow: LOGIN, SELECT, FETCH, STORE,
    APPEND, EXPUNGE, NOOP and IDLE must succeed (FETCH and STORE of
    messages expunged meanwhile answer OK [EXPUNGEISSUED], RFC 9051 7.1,
    RFC 2180 4.1); COPY and MOVE may answer NO [EXPUNGEISSUED]; nothing may
    answer [SERVERBUG] or BYE.

At the end every client does a NOOP and its view (UIDs, flags) is compared
with a fresh session's.  The server log must show no worker death, no
sanitizer report and no SERVERBUG.  Prints the seed (replay with --seed,
same choices; the interleaving of course differs), operations per second,
and every distinct failure with an example; exit status 1 on any failure.
"""
import hashlib
import os
import random
import re
import socket
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

SYSTEM_FLAGS = ["\\Seen", "\\Answered", "\\Flagged", "\\Draft"]
SHARED_KEYWORDS = ["$Label1", "$Label2", "Urgent"]
MAILBOXES = {"demo": ["INBOX", "Shared1", "Shared2"],
             "alice": ["INBOX", "Box"]}
PASSWORDS = {"demo": "demo", "alice": "alicepw", "carol": "carolpw"}
# the users the server must have (Server(users=USERS)); carol only logs in
# at the start, from several connections at once, to a store that does not
# exist yet
USERS = dict(PASSWORDS)
TRACE = os.environ.get("ROOST_STRESS_TRACE")   # a directory: per-client logs


class Violation(Exception):
    pass


class Results:
    """All failures, grouped by kind (the first few examples kept)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.kinds = {}         # kind -> [count, [examples]]
        self.ops = 0

    def fail(self, kind, example):
        with self.lock:
            entry = self.kinds.setdefault(kind, [0, []])
            entry[0] += 1
            if len(entry[1]) < 3:
                entry[1].append(example)

    def count(self):
        with self.lock:
            return sum(e[0] for e in self.kinds.values())

    def report(self):
        lines = []
        with self.lock:
            for kind, (n, examples) in sorted(self.kinds.items()):
                lines.append(f"FAILURE {kind}: {n} time(s)")
                for ex in examples:
                    lines.append("    e.g. " + ex.replace("\n", "\n         "))
        return "\n".join(lines)


class Shared:
    """What all clients know together, per (user, mailbox, UIDVALIDITY)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.bodies = {}        # sha1 of every APPENDed body -> body
        self.content = {}       # (user, box, uidvalidity, uid) -> sha1
        self.expunged = {}      # (user, box, uidvalidity) -> set of uids
        self.recent = {}        # (user, box, uidvalidity, uid) -> client id
        # private keyword state: (user, box, uidvalidity, uid) ->
        #   {kw: [value, completed_at, inflight]}
        self.own = {}
        self.maxuid = {}        # (user, box, uidvalidity) -> highest UID seen
        self.suspects = []      # (client, key, detail): stale flags seen
        # shared flags: (user, box, uidvalidity, uid, flag) ->
        #   [[client id, started, ended or None], ...] (the last few STOREs)
        self.stores = {}


# ---- wire ----

class Conn:
    def __init__(self, port, timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.buf = b""
        self.timeout = timeout

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self):
        data = self.sock.recv(262144)
        if not data:
            raise Violation("connection closed by the server")
        self.buf += data

    def readline(self, timeout=None):
        self.sock.settimeout(timeout or self.timeout)
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            self._fill()

    def read_exact(self, n):
        self.sock.settimeout(self.timeout)
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def response(self, timeout=None):
        """One response: (text with each literal replaced by \\x00I\\x00,
        [literal bytes])."""
        line = self.readline(timeout)
        text, lits = b"", []
        while True:
            m = re.search(rb"\{(\d+)\}$", line)
            if not m:
                text += line
                return text.decode("utf-8", "replace"), lits
            text += line[:m.start()] + b"\x00%d\x00" % len(lits)
            lits.append(self.read_exact(int(m.group(1))))
            line = self.readline()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


TOKEN = re.compile(r'\s*(\(|\)|"(?:[^"\\]|\\.)*"|\x00\d+\x00|'
                   r'[^\s()"\[\x00]+(?:\[[^\]]*\](?:<\d+>)?)?)')


def tokens(text):
    pos, out = 0, []
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            if text[pos:].strip() == "":
                break
            raise Violation(f"cannot parse at {text[pos:pos+40]!r}")
        out.append(m.group(1))
        pos = m.end()
    return out


def parse_list(toks, i):
    """toks[i] == '('; returns (list, index after ')')."""
    out = []
    i += 1
    while toks[i] != ")":
        if toks[i] == "(":
            sub, i = parse_list(toks, i)
            out.append(sub)
        else:
            out.append(toks[i])
            i += 1
    return out, i + 1


def parse_fetch(text, lits):
    """'(' items ')' of a FETCH response -> dict NAME -> value."""
    toks = tokens(text)
    if not toks or toks[0] != "(":
        raise Violation(f"bad FETCH response {text!r}")
    items, _ = parse_list(toks, 0)
    out = {}
    for k in range(0, len(items) - 1, 2):
        name, val = items[k], items[k + 1]
        if isinstance(val, str) and val.startswith("\x00"):
            val = lits[int(val.strip("\x00"))]
        out[name.upper()] = val
    return out


# ---- one client ----

class Client:
    def __init__(self, ident, user, port, seed, shared, results, deadline,
                 rev2, fresh_counter):
        self.id = ident
        self.user = user
        self.port = port
        self.rnd = random.Random(seed * 1000 + ident)
        self.shared = shared
        self.results = results
        self.deadline = deadline
        self.rev2 = rev2
        self.fresh_counter = fresh_counter
        self.own_kw = f"own{ident}"
        self.tagn = 0
        self.ops = 0
        self.box = None          # selected mailbox name
        self.readonly = False
        self.uidvalidity = None
        self.view = []           # msn-1 -> uid or None
        self.flags = {}          # uid -> set of flags last reported
        # (user, box, uidvalidity, uid) -> the highest MODSEQ this session saw
        self.modseq = {}
        self.known_flags = set()  # from the last FLAGS response
        self.caps = set()
        self.conn = None
        self.cmd_name = None
        self.cmd_start = 0.0
        self.log = []            # the last lines, for failure examples
        self.copyuid = None
        self.recent_count = None
        self.uidnext = None
        self.status_line = None
        self.search_result = None
        self.fetched_now = set()
        self.expunged_now = set()

    def trace(self, line):
        with open(os.path.join(TRACE, f"client{self.id}.log"), "a") as f:
            f.write(f"{time.time():.6f} {line} | view {self.view}\n")

    # -- failures --
    def fail(self, kind, detail):
        ctx = " | ".join(self.log[-6:])
        if TRACE:
            self.trace(f"FAILURE {kind}: {detail}")
        self.results.fail(kind, f"client {self.id} ({self.user}, "
                          f"{'rev2' if self.rev2 else 'rev1'}, box "
                          f"{self.box}): {detail}\n  last: {ctx}")

    def key(self, uid):
        return (self.user, self.box, self.uidvalidity, uid)

    # -- commands --
    def command(self, text, literal=None, idle=None, expect_no=False):
        """Sends a command; handles every response; returns the tagged
        line's text after the tag (e.g. 'OK [..] done.')."""
        self.tagn += 1
        tag = f"c{self.id}.{self.tagn}"
        self.cmd_name = text.split()[0].upper()
        if self.cmd_name == "UID":
            self.cmd_name = "UID " + text.split()[1].upper()
        self.cmd_start = time.time()
        self.fetched_now = set()
        self.expunged_now = set()
        if literal is not None:
            self.conn.send(f"{tag} {text} {{{len(literal)}+}}\r\n".encode()
                           + literal + b"\r\n")
        else:
            self.conn.send(f"{tag} {text}\r\n")
        self.log.append(f"C: {tag} {text[:80]}")
        if TRACE:
            self.trace(f"C: {tag} {text[:300]}")
        self.ops += 1
        while True:
            t, lits = self.conn.response()
            self.log.append("S: " + t[:200])
            del self.log[:-12]
            if TRACE:
                self.trace(f"S: {t[:300]}")
            if t.startswith(tag + " "):
                rest = t[len(tag) + 1:]
                if not expect_no:       # the caller checks the result
                    self.check_tagged(text, rest)
                self.check_own_keywords()
                return rest
            if t.startswith("+"):
                if idle is None:
                    self.fail("unexpected continuation", t)
                    continue
                idle()
                continue
            if t.startswith("* "):
                self.untagged(t[2:], lits)
            else:
                self.fail("line neither tagged nor untagged", t)

    def pipeline(self, texts):
        """Sends the commands in one write (RFC 9051 5.5) and handles the
        responses; returns {text: tagged text after the tag}."""
        self.cmd_name = "PIPELINE"      # untagged lines belong to any
        self.cmd_start = time.time()
        self.fetched_now = set()
        self.expunged_now = set()
        pending, data = {}, ""
        for text in texts:
            self.tagn += 1
            tag = f"c{self.id}.{self.tagn}"
            pending[tag] = text
            data += f"{tag} {text}\r\n"
            self.log.append(f"C: {tag} {text[:80]}")
            if TRACE:
                self.trace(f"C: {tag} {text[:300]}")
        self.conn.send(data)
        self.ops += len(texts)
        out = {}
        while pending:
            t, lits = self.conn.response()
            self.log.append("S: " + t[:200])
            del self.log[:-12]
            if TRACE:
                self.trace(f"S: {t[:300]}")
            tag = t.split(" ", 1)[0]
            if tag in pending:
                text = pending.pop(tag)
                rest = t[len(tag) + 1:]
                words = text.split()
                self.cmd_name = words[0].upper() if words[0] != "UID" \
                    else "UID " + words[1].upper()
                self.check_tagged(text, rest)
                self.cmd_name = "PIPELINE"
                out[text] = rest
            elif t.startswith("* "):
                self.untagged(t[2:], lits)
            else:
                self.fail("line neither tagged nor untagged (pipelined)", t)
        self.check_own_keywords()
        return out

    def op_status(self):
        """STATUS of a mailbox: UIDNEXT above every UID assigned before."""
        box = self.rnd.choice(MAILBOXES[self.user])
        before = self.max_uids(box)
        self.status_line = None
        rest = self.command(f"STATUS {box} (MESSAGES UIDNEXT UIDVALIDITY)")
        if not rest.startswith("OK"):
            return
        m = self.status_line and re.search(
            r"MESSAGES (\d+) UIDNEXT (\d+) UIDVALIDITY (\d+)",
            self.status_line)
        if not m:
            self.fail("STATUS response missing or malformed",
                      str(self.status_line))
            return
        nxt, uv = int(m.group(2)), int(m.group(3))
        if nxt <= before.get(uv, 0):
            self.fail("UIDNEXT not above every UID assigned before",
                      f"STATUS {box}: UIDNEXT {nxt}, UID {before[uv]} seen "
                      "before")

    def op_search(self):
        """SEARCH answers only sequence numbers / UIDs of the view, in
        ascending order, each once."""
        uid = self.rnd.random() < 0.5
        key = self.rnd.choice(["ALL", f"KEYWORD {self.own_kw}", "FLAGGED",
                               "NOT SEEN", "DELETED"])
        self.search_result = None
        rest = self.command(f"{'UID ' if uid else ''}SEARCH {key}")
        if not rest.startswith("OK"):
            return
        res = self.search_result
        if res is None:
            self.fail("SEARCH without a SEARCH/ESEARCH response", rest)
            return
        if sorted(set(res)) != sorted(res):
            self.fail("SEARCH result with duplicates", str(res[:40]))
        view = self.search_view
        if uid:
            known = {u for u in view if u is not None}
            if None not in view and not set(res) <= known:
                self.fail("UID SEARCH answers UIDs not in the view",
                          f"{sorted(set(res) - known)[:20]} not in "
                          f"{sorted(known)[:40]}")
        else:
            bad = [n for n in res if not 1 <= n <= len(view)]
            if bad:
                self.fail("SEARCH answers MSNs the session was not told "
                          "about", f"{bad[:20]} with {len(view)} known")

    def op_pipeline(self):
        """UID STORE of the private keyword and a UID FETCH of the same
        messages sent together (with a NOOP and another FETCH around): the
        server must run them in order (RFC 9051 5.5: the FETCH depends on
        the STORE) and the FETCH must show the keyword."""
        if self.readonly or not self.view:
            return
        us = self.random_uidset()
        if us is None:
            return
        targets = [int(x) for x in us.split(",")]
        sign = self.rnd.choice("+-")
        store = f"UID STORE {us} {sign}FLAGS.SILENT ({self.own_kw})"
        fetch = f"UID FETCH {us} (UID FLAGS)"
        texts = [store, fetch]
        if self.rnd.random() < 0.5:
            texts.insert(0, "NOOP")
        if self.rnd.random() < 0.5:
            texts.append(f"UID FETCH {us} (UID BODY.PEEK[])")
        states = []
        with self.shared.lock:
            for uid in targets:
                own = self.shared.own.setdefault(self.key(uid), {})
                st = own.setdefault(self.own_kw, [False, 0.0, False])
                st[2] = True
                states.append((own, st))
        self.fetched_now = set()
        out = self.pipeline(texts)
        ok = out.get(store, "").startswith("OK")
        with self.shared.lock:
            for d, st in states:
                if ok:
                    st[0] = sign == "+"
                    st[1] = time.time()
                    st[2] = False
                else:
                    d.pop(self.own_kw, None)
        if not ok:
            for uid in targets:
                self.flags.pop(uid, None)
            return
        for uid in targets:
            if uid in self.fetched_now and uid in self.view and \
                    uid not in self.expunged_now:
                if (self.own_kw in self.flags[uid]) != (sign == "+"):
                    self.fail("pipelined FETCH does not show the STORE "
                              "before it", f"uid {uid} {sign}{self.own_kw}: "
                              f"FLAGS {sorted(self.flags[uid])}")
            elif uid in self.flags:
                if sign == "+":
                    self.flags[uid].add(self.own_kw)
                else:
                    self.flags[uid].discard(self.own_kw)

    def check_tagged(self, text, rest):
        name = self.cmd_name
        if "[SERVERBUG]" in rest:
            self.fail(f"{name} NO [SERVERBUG]", f"{text[:60]} -> {rest}")
            return
        if rest.startswith("OK"):
            return
        if rest.startswith("BAD"):
            self.fail(f"{name} BAD", f"{text[:60]} -> {rest}")
            return
        code = re.match(r"NO \[([A-Z-]+)", rest)
        code = code.group(1) if code else ""
        if name in ("COPY", "MOVE", "UID COPY", "UID MOVE") and \
                code == "EXPUNGEISSUED":
            return
        self.fail(f"{name} NO [{code}]", f"{text[:60]} -> {rest}")

    def untagged(self, t, lits):
        m = re.match(r"(\d+) (\w+)(?: (.*))?$", t, re.S)
        if m:
            n, what, rest = int(m.group(1)), m.group(2).upper(), m.group(3)
            if what == "EXISTS":
                if n < len(self.view):
                    self.fail("EXISTS shrank the view",
                              f"{n} EXISTS with {len(self.view)} known")
                    del self.view[n:]
                self.view.extend([None] * (n - len(self.view)))
            elif what == "EXPUNGE":
                if self.cmd_name in ("FETCH", "STORE", "SEARCH"):
                    self.fail("EXPUNGE during FETCH/STORE/SEARCH",
                              f"* {t}")
                if not 1 <= n <= len(self.view):
                    self.fail("EXPUNGE of an unknown MSN",
                              f"* {t} with {len(self.view)} known")
                    return
                uid = self.view.pop(n - 1)
                if uid is not None:
                    self.flags.pop(uid, None)
                    self.expunged_now.add(uid)
                    with self.shared.lock:
                        self.shared.expunged.setdefault(
                            self.key(None)[:3], set()).add(uid)
            elif what == "RECENT":
                # obsolete-recent-response: allowed in IMAP4rev2 too
                self.recent_count = n
            elif what == "FETCH":
                self.fetch_response(n, rest, lits)
            else:
                self.fail("unknown numbered response", f"* {t}")
            return
        word = t.split(" ", 1)[0].upper()
        if word == "FLAGS":
            fl = re.match(r"FLAGS \((.*)\)$", t)
            self.known_flags = set(fl.group(1).split()) if fl else set()
        elif word in ("OK", "NO"):
            if "[SERVERBUG]" in t:
                self.fail("untagged SERVERBUG", f"* {t}")
            m = re.match(r"OK \[UIDVALIDITY (\d+)\]", t)
            if m:
                self.uidvalidity = int(m.group(1))
            m = re.match(r"OK \[COPYUID (\d+) (\S+) (\S+)\]", t)
            if m:
                self.copyuid = m.groups()
            m = re.match(r"OK \[UIDNEXT (\d+)\]", t)
            if m:
                self.uidnext = int(m.group(1))
            if word == "NO":
                self.fail("untagged NO", f"* {t}")
        elif word == "BYE":
            if self.cmd_name != "LOGOUT":
                self.fail("unexpected BYE", f"* {t}")
        elif word in ("CAPABILITY", "ENABLED", "LIST", "STATUS", "SEARCH",
                      "ESEARCH", "BAD"):
            if word == "BAD":
                self.fail("untagged BAD", f"* {t}")
            if word == "CAPABILITY":
                self.caps = set(t.split()[1:])
            if word == "STATUS":
                self.status_line = t
            if word in ("SEARCH", "ESEARCH"):
                self.search_view = list(self.view)     # as it is now
            if word == "SEARCH":
                self.search_result = [int(x) for x in t.split()[1:]]
            if word == "ESEARCH":
                m = re.search(r" ALL (\S+)", t)
                self.search_result = expand(m.group(1)) if m else []
        else:
            self.fail("unknown untagged response", f"* {t}")

    def fetch_response(self, msn, rest, lits):
        if not 1 <= msn <= len(self.view):
            self.fail("FETCH for an MSN the session was not told about",
                      f"* {msn} FETCH with {len(self.view)} known")
            return
        try:
            items = parse_fetch(rest, lits)
        except (Violation, IndexError) as e:
            self.fail("unparsable FETCH", f"{rest[:200]}: {e}")
            return
        uid = self.view[msn - 1]
        if "UID" in items:
            got = int(items["UID"])
            if uid is not None and uid != got:
                self.fail("FETCH UID differs from the view",
                          f"msn {msn}: view {uid}, FETCH {got}")
                return
            if uid is None:
                self.learn_uid(msn, got)
            uid = got
        if uid is None:
            return
        k = self.key(uid)
        with self.shared.lock:
            mk = k[:3]
            self.shared.maxuid[mk] = max(self.shared.maxuid.get(mk, 0), uid)
        if "FLAGS" in items:
            fl = items["FLAGS"]
            fl = set(fl) if isinstance(fl, list) else set()
            self.check_flags(msn, uid, fl)
            self.flags[uid] = fl
            self.fetched_now.add(uid)
        if "MODSEQ" in items:
            ms = items["MODSEQ"]
            ms = int(ms[0]) if isinstance(ms, list) else int(ms)
            prev = self.modseq.get(k, 0)
            if ms < prev:
                self.fail("MODSEQ decreased", f"uid {uid}: {prev} -> {ms}")
            self.modseq[k] = max(prev, ms)
        body = None
        for name, val in items.items():
            if name == "BODY[]":
                body = val
        with self.shared.lock:
            known = self.shared.content.get(k)
            known = self.shared.bodies.get(known) if known else None
        if known is not None and "RFC822.SIZE" in items and \
                int(items["RFC822.SIZE"]) != len(known):
            self.fail("RFC822.SIZE is not the size of the message appended",
                      f"uid {uid}: {items['RFC822.SIZE']} != {len(known)}")
        if known is not None and "BODY[]<0>" in items:
            part = items["BODY[]<0>"]
            if part != known[:30]:
                self.fail("BODY[]<0.30> is not the start of the message",
                          f"uid {uid}: {part!r} != {known[:30]!r}")
        if body is not None:
            if isinstance(body, str):
                self.fail("BODY[] not a literal", f"uid {uid}: {body[:60]}")
                return
            h = hashlib.sha1(body).hexdigest()
            with self.shared.lock:
                known = self.shared.content.get(k)
                if h not in self.shared.bodies:
                    self.fail("BODY[] is no message that was appended",
                              f"uid {uid}: {body[:120]!r}")
                elif known is not None and known != h:
                    self.fail("UID holds another message than APPENDUID/"
                              "COPYUID said", f"uid {uid}")
                else:
                    self.shared.content[k] = h

    def learn_uid(self, msn, uid):
        # UIDs strictly ascending in the view
        for j in range(msn - 2, -1, -1):
            if self.view[j] is not None:
                if self.view[j] >= uid:
                    self.fail("UIDs not ascending in the view",
                              f"msn {j+1} uid {self.view[j]}, msn {msn} "
                              f"uid {uid}")
                break
        for j in range(msn, len(self.view)):
            if self.view[j] is not None:
                if self.view[j] <= uid:
                    self.fail("UIDs not ascending in the view",
                              f"msn {msn} uid {uid}, msn {j+1} uid "
                              f"{self.view[j]}")
                break
        self.view[msn - 1] = uid

    def check_flags(self, msn, uid, fl):
        k = self.key(uid)
        for f in fl:
            if not f.startswith("\\") and f not in self.known_flags:
                self.fail("FETCH FLAGS has a keyword not announced by FLAGS",
                          f"* {msn} FETCH FLAGS {sorted(fl)}, FLAGS "
                          f"{sorted(self.known_flags)}")
                break
        # RFC 9051 flag-fetch allows the obsolete \Recent: a rev2 session
        # takes it like a rev1 one
        if "\\Recent" in fl:
            if not self.readonly:
                with self.shared.lock:
                    other = self.shared.recent.setdefault(k, self.id)
                if other != self.id:
                    self.fail("\\Recent in two sessions",
                              f"uid {uid}: clients {other} and {self.id}")

    def check_own_keywords(self):
        """At the end of a command: the flags last reported for each
        message FETCHed in it show every private keyword as its owner
        last stored it, if that STORE completed before this command began
        and no other is under way (a server may answer a FETCH from its
        last snapshot and send the update before the tagged reply)."""
        with self.shared.lock:
            for uid in self.fetched_now:
                fl = self.flags.get(uid)
                if fl is None or uid not in self.view:
                    continue
                for kw, st in self.shared.own.get(self.key(uid), {}).items():
                    value, completed, inflight = st
                    if inflight or completed >= self.cmd_start:
                        continue
                    if value != (kw in fl):
                        # judged at the end: a message expunged meanwhile
                        # may be answered from the session's snapshot
                        ctx = " | ".join(self.log[-6:])
                        self.shared.suspects.append((
                            self, self.key(uid),
                            f"uid {uid}: {kw} should be "
                            f"{'set' if value else 'clear'} (STORE completed "
                            f"{self.cmd_start - completed:.3f} s before this "
                            f"command began), FLAGS {sorted(fl)} at the end "
                            f"of {self.cmd_name}; last: {ctx}"))

    # -- operations --
    def login(self):
        for attempt in range(3):        # a failed LOGIN is reported; retry
            self.conn = Conn(self.port)
            greet = self.conn.readline().decode()
            if not greet.startswith("* OK"):
                self.fail("bad greeting", greet)
            rest = self.command(f"LOGIN {self.user} {PASSWORDS[self.user]}")
            if rest.startswith("OK"):
                break
            self.conn.close()
        else:
            raise Violation("login failed: " + rest)
        m = re.search(r"\[CAPABILITY ([^\]]*)\]", rest)
        if m:
            self.caps = set(m.group(1).split())
        if self.rev2:
            self.command("ENABLE IMAP4rev2")

    def select(self, box, readonly=False):
        self.box = box
        self.readonly = readonly
        self.view = []
        self.flags = {}
        self.known_flags = set()
        self.uidvalidity = None
        self.recent_count = None
        self.uidnext = None
        before = self.max_uids(box)
        rest = self.command(f"{'EXAMINE' if readonly else 'SELECT'} {box}")
        if not rest.startswith("OK"):
            self.box = None
            return False
        if self.uidvalidity is None:
            self.fail("no UIDVALIDITY", box)
        elif self.uidnext is None:
            self.fail("no UIDNEXT", box)
        elif self.uidnext <= before.get(self.uidvalidity, 0):
            self.fail("UIDNEXT not above every UID assigned before",
                      f"SELECT {box}: UIDNEXT {self.uidnext}, UID "
                      f"{before[self.uidvalidity]} seen before")
        if self.view:
            self.fetch_range("1:*", "(UID FLAGS)")
        return True

    def fetch_range(self, seq, items, uid=False):
        self.command(f"{'UID ' if uid else ''}FETCH {seq} {items}")

    def fill_unknown(self):
        if None in self.view:
            first = self.view.index(None) + 1
            self.fetch_range(f"{first}:*", "(UID FLAGS)")

    def random_seq(self):
        n = len(self.view)
        if n == 0:
            return None
        a = self.rnd.randint(1, n)
        b = min(n, a + self.rnd.randint(0, 4))
        return f"{a}:{b}" if a != b else str(a)

    def random_uidset(self):
        uids = [u for u in self.view if u is not None]
        if not uids:
            return None
        pick = self.rnd.sample(uids, min(len(uids), self.rnd.randint(1, 3)))
        return ",".join(str(u) for u in sorted(pick))

    def op_fetch(self):
        seq = self.random_seq()
        if seq is None:
            return
        items = self.rnd.choice(["(FLAGS)", "(UID FLAGS)", "(FLAGS UID)",
                                 "(UID BODY.PEEK[])", "(FLAGS BODY.PEEK[])",
                                 "(UID RFC822.SIZE BODY.PEEK[]<0.30>)",
                                 "(UID RFC822.SIZE)"])
        if "CONDSTORE" in self.caps:
            items = items[:-1] + " MODSEQ)"
        if self.rnd.random() < 0.4:
            us = self.random_uidset()
            if us:
                return self.fetch_range(us, items, uid=True)
        self.fetch_range(seq, items)

    def op_store(self):
        if self.readonly or not self.view:
            return
        uid_mode = self.rnd.random() < 0.4
        if uid_mode:
            seq = self.random_uidset()
            if seq is None:
                return
            targets = [int(x) for x in seq.split(",")]
        else:
            seq = self.random_seq()
            a, _, b = seq.partition(":")
            targets = self.view[int(a) - 1:int(b or a)]
        sign = self.rnd.choice("+-")
        own = self.rnd.random() < 0.4
        if own:
            flags = [self.own_kw]
        else:
            flags = self.rnd.sample(SYSTEM_FLAGS + SHARED_KEYWORDS,
                                    self.rnd.randint(1, 2))
        silent = self.rnd.random() < 0.3
        item = f"{sign}FLAGS{'.SILENT' if silent else ''}"
        states = []
        if own:
            with self.shared.lock:
                for uid in targets:
                    if uid is None:
                        continue
                    own = self.shared.own.setdefault(self.key(uid), {})
                    st = own.setdefault(self.own_kw, [False, 0.0, False])
                    st[2] = True
                    states.append((own, st))
        started = time.time()
        windows = []
        if not states:
            # a shared flag: another client may store it on the same
            # message while this STORE runs, and the FETCH then shows
            # theirs (the flags as they are: RFC 9051 6.4.6)
            with self.shared.lock:
                for uid in targets:
                    if uid is None:
                        continue
                    for f in flags:
                        lst = self.shared.stores.setdefault(
                            self.key(uid) + (f,), [])
                        w = [self.id, started, None]
                        lst.append(w)
                        del lst[:-8]
                        windows.append(w)
        rest = self.command(f"{'UID ' if uid_mode else ''}STORE {seq} {item} "
                            f"({' '.join(flags)})")
        with self.shared.lock:
            for w in windows:
                w[2] = time.time()
        if own:
            with self.shared.lock:
                for d, st in states:
                    if rest.startswith("OK"):
                        st[0] = sign == "+"
                        st[1] = time.time()
                        st[2] = False
                    else:           # unknown now
                        d.pop(self.own_kw, None)
        if rest.startswith("OK") and silent:
            # the session knows what it stored (no FETCH for its own
            # change); later changes by others are reported
            for uid in targets:
                if uid in self.flags and uid not in self.fetched_now:
                    if sign == "+":
                        self.flags[uid] |= set(flags)
                    else:
                        self.flags[uid] -= set(flags)
        if not rest.startswith("OK"):
            # a NO may have changed some of them: their flags are unknown
            # to the session until reported again
            for uid in targets:
                if uid not in self.fetched_now:
                    self.flags.pop(uid, None)
            return
        if silent:
            return
        # non-silent: every target still there was answered with its
        # flags (RFC 9051 6.4.6)
        for uid in targets:
            if uid is None or uid in self.expunged_now or \
                    uid not in self.view:
                continue
            fl = self.flags.get(uid)
            if uid not in self.fetched_now:
                if "EXPUNGEISSUED" not in rest:
                    self.fail("STORE without FETCH response for a message",
                              f"uid {uid} {item} ({' '.join(flags)}) -> "
                              f"{rest}")
                continue
            for f in flags:
                if (f in fl) != (sign == "+") and \
                        not self.stored_by_other(uid, f, started):
                    self.fail("own STORE result not in its FETCH response",
                              f"uid {uid} {sign}{f}: FLAGS {sorted(fl)}")

    def stored_by_other(self, uid, flag, since):
        """True if another client's STORE of the shared flag on uid ran
        at some time since `since` (or still runs)."""
        with self.shared.lock:
            for cid, _, ended in self.shared.stores.get(
                    self.key(uid) + (flag,), []):
                if cid != self.id and (ended is None or ended >= since):
                    return True
        return False

    def max_uids(self, box):
        """UIDVALIDITY -> highest UID any session has seen in box."""
        with self.shared.lock:
            return {k[2]: v for k, v in self.shared.maxuid.items()
                    if k[:2] == (self.user, box)}

    def op_append(self, box=None):
        box = box or self.rnd.choice(MAILBOXES[self.user])
        nonce = f"{self.id}.{self.tagn}.{self.rnd.getrandbits(48):x}"
        size = self.rnd.choice([0, 0, 1, 3, 40])
        body = (f"From: c{self.id}@example.com\r\nTo: x@example.com\r\n"
                f"Subject: stress {nonce}\r\nMessage-ID: <{nonce}@stress>\r\n"
                "\r\n" + "".join(f"line {i} of {nonce}\r\n"
                                 for i in range(size * 20 + 1))).encode()
        h = hashlib.sha1(body).hexdigest()
        with self.shared.lock:
            self.shared.bodies[h] = body
        flags = self.rnd.choice(["", "(\\Seen) ", "($Label1 \\Flagged) "])
        before = self.max_uids(box)
        date = self.rnd.choice(["", '"01-Jan-2001 10:00:00 +0000" '])
        rest = self.command(f"APPEND {box} {flags}{date}".rstrip(),
                            literal=body)
        m = re.search(r"\[APPENDUID (\d+) (\d+)\]", rest)
        if rest.startswith("OK"):
            if not m:
                self.fail("APPEND without APPENDUID", rest)
                return None
            k = (self.user, box, int(m.group(1)), int(m.group(2)))
            with self.shared.lock:
                if k[3] <= before.get(k[2], 0):
                    self.fail("APPENDUID reuses a UID or is not above every "
                              "UID seen before", f"{rest}; highest seen "
                              f"before {before.get(k[2], 0)}")
                # another session may have fetched it already
                if self.shared.content.get(k, h) != h:
                    self.fail("UID holds another message than APPENDUID/"
                              "COPYUID said", rest)
                self.shared.content[k] = h
                self.shared.maxuid[k[:3]] = max(
                    self.shared.maxuid.get(k[:3], 0), k[3])
            return k
        return None

    def op_copy(self, move=False):
        if not self.view or (move and self.readonly):
            return
        dest = self.rnd.choice(MAILBOXES[self.user])
        uid_mode = self.rnd.random() < 0.5
        seq = self.random_uidset() if uid_mode else self.random_seq()
        if seq is None:
            return
        self.copyuid = None
        name = "MOVE" if move else "COPY"
        before = self.max_uids(dest)
        rest = self.command(f"{'UID ' if uid_mode else ''}{name} {seq} {dest}")
        cu = self.copyuid
        m = re.search(r"\[COPYUID (\d+) (\S+) (\S+)\]", rest)
        if m:
            cu = m.groups()
        if cu and move and rest.startswith("OK"):
            # RFC 6851 3.3: the moved messages are expunged in this session
            left = set(expand(cu[1])) & set(self.view)
            if left:
                self.fail("MOVE left moved messages in the view",
                          f"{name} {seq} -> {cu}: UIDs {sorted(left)[:20]} "
                          "not expunged")
        if cu:
            src = expand(cu[1])
            dst = expand(cu[2])
            if len(src) != len(dst):
                self.fail("COPYUID sets of different sizes", str(cu))
                return
            if uid_mode and not set(src) <= {int(x) for x in seq.split(",")}:
                self.fail("COPYUID names UIDs that were not copied",
                          f"{name} {seq} -> {cu}")
            with self.shared.lock:
                for s, d in zip(src, dst):
                    dk = (self.user, dest, int(cu[0]), d)
                    if d <= before.get(dk[2], 0):
                        self.fail("COPYUID reuses a UID or is not above "
                                  "every UID seen before", f"{cu}; highest "
                                  f"seen before {before.get(dk[2], 0)}")
                    self.shared.maxuid[dk[:3]] = max(
                        self.shared.maxuid.get(dk[:3], 0), d)
                    h = self.shared.content.get(self.key(s))
                    if h is not None:
                        if self.shared.content.get(dk, h) != h:
                            self.fail("UID holds another message than "
                                      "APPENDUID/COPYUID said", str(cu))
                        self.shared.content[dk] = h

    def op_expunge(self):
        if self.readonly or not self.view:
            return
        seq = self.random_seq()
        self.command(f"STORE {seq} +FLAGS (\\Deleted)")
        # nobody clears \Deleted here: every message known to have it
        # before the EXPUNGE (in the UID set for UID EXPUNGE) is gone after
        deleted = {u for u in self.view if u is not None and
                   "\\Deleted" in self.flags.get(u, ())}
        if self.rnd.random() < 0.5 and "UIDPLUS" in self.caps:
            us = self.random_uidset()
            if us:
                rest = self.command(f"UID EXPUNGE {us}")
                deleted &= {int(x) for x in us.split(",")}
                what = f"UID EXPUNGE {us}"
            else:
                return
        else:
            rest = self.command("EXPUNGE")
            what = "EXPUNGE"
        left = deleted & set(self.view)
        if rest.startswith("OK") and left:
            self.fail("messages with \\Deleted still there after EXPUNGE",
                      f"{what}: UIDs {sorted(left)[:20]} not expunged")

    def op_idle(self):
        def during():
            wait = self.rnd.uniform(0.05, 0.6)
            try:
                t, lits = self.conn.response(timeout=wait)
                self.log.append("S: " + t[:200])
                if t.startswith("* "):
                    self.untagged(t[2:], lits)
            except socket.timeout:
                pass
            self.conn.send("DONE\r\n")
        self.command("IDLE", idle=during)

    def op_fresh(self):
        """APPENDs to a mailbox nobody has selected, then SELECTs it (at
        times EXAMINEs it first): every message there is \\Recent to this
        (first) session and EXAMINE reports them (IMAP4rev1; RFC 3501
        2.3.2, 6.3.2)."""
        with self.shared.lock:
            self.fresh_counter[0] += 1
            name = f"Fresh{self.fresh_counter[0]}"
        self.command(f"CREATE {name}")
        # a new mailbox, then the same one again after it was closed
        for again in (False, True):
            n = self.rnd.randint(1, 3)
            for _ in range(n):
                if self.op_append(box=name) is None:
                    return
            what = f"{n} APPENDs to {name}" + \
                (" (selected before, then closed)" if again else " (new)")
            if self.rnd.random() < 0.5:
                # EXAMINE reports them as recent but does not take them
                self.select(name, readonly=True)
                if not self.rev2 and self.recent_count != n:
                    self.fail("EXAMINE does not report \\Recent messages",
                              f"{what}, EXAMINE said {self.recent_count} "
                              "RECENT")
            self.select(name)
            if not self.rev2 and self.recent_count != n:
                self.fail("\\Recent not given to the first session selecting",
                          f"{what}, SELECT said {self.recent_count} RECENT")
            if not self.rev2:
                recent = sum(1 for fl in self.flags.values()
                             if "\\Recent" in fl)
                if recent != n:
                    self.fail("\\Recent not given to the first session "
                              "selecting", f"{what}, FETCH FLAGS shows "
                              f"{recent} \\Recent")
            self.command("UNSELECT")
            self.box = None

    def op_silent_merge(self):
        """Another session sets \\Flagged on a message, then this one
        stores +FLAGS.SILENT (\\Seen) on it: the other session's \\Flagged
        must still reach this session (by the NOOP at the latest; RFC 9051
        5.2: flag updates are sent without being asked for), although
        .SILENT suppresses the FETCH for this session's own change."""
        with self.shared.lock:
            self.fresh_counter[0] += 1
            name = f"Merge{self.fresh_counter[0]}"
        self.command(f"CREATE {name}")
        if self.op_append(box=name) is None or not self.select(name):
            return
        other = Client(self.id + 500, self.user, self.port, 0, self.shared,
                       self.results, self.deadline, rev2=self.rev2,
                       fresh_counter=self.fresh_counter)
        try:
            other.login()
            other.select(name)
            other.command("STORE 1 +FLAGS.SILENT (\\Flagged)")
            other.command("LOGOUT")
        finally:
            other.conn.close()
        uid = self.view[0]
        rest = self.command("STORE 1 +FLAGS.SILENT (\\Seen)")
        if rest.startswith("OK") and uid in self.flags:
            self.flags[uid].add("\\Seen")
        self.command("NOOP")
        fl = self.flags.get(uid, set())
        if "\\Flagged" not in fl:
            self.fail("another session's flag change lost by a .SILENT STORE "
                      "on the same message", f"{name} uid {uid}: view FLAGS "
                      f"{sorted(fl)} after NOOP, \\Flagged set by another "
                      "session before the STORE")
        self.command("UNSELECT")
        self.box = None

    def op_relogin(self):
        """LOGOUT and a new connection: concurrent logins open the user's
        store at the same time (LOGIN must not fail)."""
        self.command("LOGOUT")
        self.conn.close()
        self.box = None
        self.login()

    def op_keyword_limit(self):
        """A STORE over the keyword limit fails with NO [LIMIT] and
        registers none of its keywords: a later STORE of one new keyword
        succeeds and FLAGS does not list the refused ones."""
        with self.shared.lock:
            self.fresh_counter[0] += 1
            name = f"Limit{self.fresh_counter[0]}"
        self.command(f"CREATE {name}")
        if self.op_append(box=name) is None or not self.select(name):
            return
        many = " ".join(f"kw{i}" for i in range(100))
        rest = self.command(f"STORE 1 +FLAGS ({many})", expect_no=True)
        if not rest.startswith("NO [LIMIT]"):
            self.fail("STORE over the keyword limit not NO [LIMIT]", rest)
        leaked = {f for f in self.known_flags if f.startswith("kw")}
        rest = self.command("STORE 1 +FLAGS (after)", expect_no=True)
        if not rest.startswith("OK"):
            self.fail("keywords of a failed STORE not rolled back",
                      f"next STORE -> {rest}")
        self.command("NOOP")
        leaked |= {f for f in self.known_flags if f.startswith("kw")}
        if leaked:
            self.fail("keywords of a failed STORE not rolled back",
                      f"FLAGS lists {len(leaked)} refused keywords")
        self.command("UNSELECT")
        self.box = None

    def step(self):
        r = self.rnd.random()
        if self.box is None or r < 0.06:
            box = self.rnd.choice(MAILBOXES[self.user])
            self.select(box, readonly=self.rnd.random() < 0.2)
            return
        self.fill_unknown()
        ops = [(self.op_fetch, 25), (self.op_store, 25), (self.op_append, 12),
               (self.op_expunge, 8), (lambda: self.op_copy(False), 5),
               (lambda: self.op_copy(True), 4),
               (lambda: self.command("NOOP"), 8), (self.op_idle, 5),
               (self.op_pipeline, 4), (self.op_status, 2),
               (self.op_search, 4)]
        if self.user == "alice":
            ops += [(self.op_fresh, 3), (self.op_keyword_limit, 0.5),
                    (self.op_silent_merge, 1)]
        ops.append((self.op_relogin, 1))
        if len(self.view) > 60:
            ops = [(self.op_expunge, 1)]
        total = sum(w for _, w in ops)
        x = self.rnd.uniform(0, total)
        for fn, w in ops:
            x -= w
            if x <= 0:
                fn()
                return
        ops[-1][0]()

    def run(self):
        try:
            self.login()
            while time.time() < self.deadline:
                self.step()
        except Violation as e:
            self.fail("protocol", str(e))
        except (OSError, socket.timeout) as e:
            self.fail("connection", f"{type(e).__name__}: {e}")
        except Exception:
            self.fail("checker exception", traceback.format_exc()[-1500:])

    def final_view(self):
        """NOOP, then (UID, flags) of every message in the view."""
        if self.box is None:
            return None
        self.command("NOOP")
        self.fill_unknown()
        return [(u, None if u not in self.flags
                 else self.flags[u] - {"\\Recent"}) for u in self.view]


def expand(s):
    out = []
    for part in s.split(","):
        a, _, b = part.partition(":")
        a, b = int(a), int(b or a)
        out.extend(range(min(a, b), max(a, b) + 1))
    return out


def run(port, seconds=20, clients=10, seed=None, out=print):
    """Runs the checker against a server on 127.0.0.1:port (users demo and
    alice); returns (Results, operations per second)."""
    if seed is None:
        seed = random.SystemRandom().randrange(1 << 31)
    out(f"stress: seed {seed}, {clients} clients, {seconds} s "
        f"(replay: --seed {seed})")
    shared = Shared()
    results = Results()
    deadline = time.time() + seconds
    fresh = [0]
    cl = []
    for i in range(clients):
        user = "alice" if i >= clients - max(1, clients // 5) else "demo"
        cl.append(Client(i, user, port, seed, shared, results, deadline,
                         rev2=(i % 2 == 1), fresh_counter=fresh))
    # several LOGINs at once to a user whose store does not exist yet:
    # none may fail (opening must wait and retry)
    burst = [Client(400 + i, "carol", port, seed, shared, results, deadline,
                    rev2=False, fresh_counter=fresh) for i in range(6)]
    gate = threading.Barrier(len(burst))

    def burst_login(c):
        try:
            c.conn = Conn(port)
            c.conn.readline()
            gate.wait(10)
            c.command(f"LOGIN {c.user} {PASSWORDS[c.user]}")
            c.command("SELECT INBOX")
            c.command("LOGOUT")
            c.conn.close()
        except Exception as e:
            c.fail("connection", f"{type(e).__name__}: {e}")
    bt = [threading.Thread(target=burst_login, args=(c,)) for c in burst]
    for t in bt:
        t.start()
    for t in bt:
        t.join(60)
    # the shared mailboxes exist before the clients start
    for user, boxes in MAILBOXES.items():
        setup = Client(200, user, port, seed, shared, results, deadline,
                       rev2=False, fresh_counter=fresh)
        setup.login()
        for box in boxes:
            if box != "INBOX":
                setup.command(f"CREATE {box}")
        setup.command("LOGOUT")
        setup.conn.close()
    threads = [threading.Thread(target=c.run) for c in cl]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    elapsed = time.time() - t0
    ops = sum(c.ops for c in cl)
    # every client's view after a NOOP against a fresh session's
    for c in cl:
        try:
            if c.conn is None:
                continue
            view = c.final_view()
            if view is None:
                continue
            f = Client(100 + c.id, c.user, port, seed, shared, results,
                       deadline, rev2=True, fresh_counter=fresh)
            f.login()
            f.select(c.box, readonly=True)
            fresh_view = [(u, f.flags.get(u, set()) - {"\\Recent"})
                          for u in f.view]
            if [u for u, _ in view] != [u for u, _ in fresh_view]:
                c.fail("final view differs from a fresh session's (UIDs)",
                       f"{[u for u, _ in view][:40]} vs "
                       f"{[u for u, _ in fresh_view][:40]}")
            else:
                for (u, a), (_, b) in zip(view, fresh_view):
                    if a is not None and a != b:
                        c.fail("final view differs from a fresh session's "
                               "(flags)", f"uid {u}: {sorted(a)} vs "
                               f"{sorted(b)}")
                        break
            f.command("LOGOUT")
            f.conn.close()
            c.command("LOGOUT")
            c.conn.close()
        except Exception as e:
            c.fail("final check", f"{type(e).__name__}: {e}")
    # stale flags count only for messages that still exist at the end
    final = {}
    for c, k, detail in shared.suspects:
        user, box, uv, uid = k
        if (user, box) not in final:
            try:
                f = Client(300, user, port, seed, shared, results, deadline,
                           rev2=True, fresh_counter=fresh)
                f.login()
                f.select(box, readonly=True)
                final[(user, box)] = (f.uidvalidity, set(f.view))
                f.command("LOGOUT")
                f.conn.close()
            except Exception as e:
                results.fail("final check", f"{type(e).__name__}: {e}")
                final[(user, box)] = (None, set())
        fuv, uids = final[(user, box)]
        if fuv == uv and uid in uids:
            results.fail("flag state lost (another session's completed "
                         "STORE not seen)", f"client {c.id} ({user}, box "
                         f"{box}): {detail}")
    rate = ops / elapsed if elapsed > 0 else 0.0
    out(f"stress: {ops} operations in {elapsed:.1f} s: {rate:.0f} "
        "operations per second")
    return results, rate


LOG_EXTRA = [r"SERVERBUG", r"Internal error"]


def main(argv):
    import argparse
    import roosttest
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--keep", action="store_true",
                    help="keep the server's directory (log, data)")
    a = ap.parse_args(argv)
    roosttest.BUILD = os.path.abspath(a.build)
    srv = roosttest.Server(workers=a.workers, tls=False, users=USERS)
    try:
        results, _ = run(srv.port, a.seconds, a.clients, a.seed)
        try:
            srv.check_log(extra=LOG_EXTRA)
        except roosttest.TestFailure as e:
            results.fail("server log", str(e).split("\n")[0])
        n = results.count()
        if n:
            print(results.report())
        print(f"stress: {n} failure(s); server log {srv.log_path}")
        return 1 if n else 0
    finally:
        if a.keep:
            srv.stop()
            print(f"stress: kept {srv.dir}")
        else:
            srv.cleanup()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
