"""QRESYNC against the server's real state: a client-style cache that one
session keeps (UIDVALIDITY, HIGHESTMODSEQ, UIDs and flags) while another
changes flags and expunges, rebuilt with SELECT (QRESYNC ...) after each
round and compared with a full FETCH (randomised, several rounds);
modseqs that never go back across restarts and `roost check --rebuild`
(with the old index, whose tombstones are kept, and without it, when
the tombstone floor makes the server compare UIDs); tombstone compaction
(qresync_tombstones) for QRESYNC clients and for open views older than
the floor."""
import random
import re
import signal

from roosttest import expect, server_args
from test_condstore import highestmodseq
from test_rebuild import rebuild, logout
from test_slices import fill

FETCH_RE = re.compile(r"\* (\d+) FETCH \(UID (\d+) FLAGS \(([^)]*)\) MODSEQ \((\d+)\)\)$")
FLAGS = ["\\Seen", "\\Flagged", "\\Answered", "\\Draft", "$Label1", "$Label2"]


def server_state(c):
    """{uid: set of flags} and HIGHESTMODSEQ, from a full FETCH."""
    u, _ = c.cmd("UID FETCH 1:* (FLAGS MODSEQ)", ok=True)
    state = {}
    for line in u:
        m = FETCH_RE.match(line)
        if m:
            state[int(m.group(2))] = set(m.group(3).split()) - {"\\Recent"}
    return state, highestmodseq(c)


class Cache:
    """What a QRESYNC client keeps of one mailbox."""

    def __init__(self):
        self.uidvalidity = None
        self.modseq = None
        self.flags = {}

    def known_uids(self):
        return ",".join(str(u) for u in sorted(self.flags)) or None

    def resync(self, c, box="INBOX", match=False):
        """SELECT with QRESYNC and apply its answer; returns its lines."""
        if self.uidvalidity is None:
            u, _ = c.cmd(f"SELECT {box}", ok=True)
        else:
            params = f"{self.uidvalidity} {self.modseq}"
            known = self.known_uids()
            if known:
                params += f" {known}"
                if match and len(self.flags) >= 2:
                    uids = sorted(self.flags)
                    # a sample of (msn, uid) pairs as the client knew them
                    msns = [1, len(uids) // 2 + 1]
                    params += (f" ({','.join(map(str, msns))} "
                               f"{','.join(str(uids[m - 1]) for m in msns)})")
            u, _ = c.cmd(f"SELECT {box} (QRESYNC ({params}))", ok=True)
        for line in u:
            m = re.match(r"\* OK \[UIDVALIDITY (\d+)\]", line)
            if m:
                if self.uidvalidity != int(m.group(1)):
                    self.flags = {}
                self.uidvalidity = int(m.group(1))
            m = re.match(r"\* OK \[HIGHESTMODSEQ (\d+)\]", line)
            if m:
                self.modseq = int(m.group(1))
            if line.startswith("* VANISHED (EARLIER) "):
                for part in line[len("* VANISHED (EARLIER) "):].split(","):
                    a, _, b = part.partition(":")
                    for uid in range(int(a), int(b or a) + 1):
                        self.flags.pop(uid, None)
            m = FETCH_RE.match(line)
            if m:
                self.flags[int(m.group(2))] = set(m.group(3).split()) - {"\\Recent"}
        # new messages: a client fetches what is above its last UID
        top = max(self.flags, default=0)
        nu, _ = c.cmd(f"UID FETCH {top + 1}:* (FLAGS MODSEQ)", ok=True)
        for line in nu:
            m = FETCH_RE.match(line)
            if m and int(m.group(2)) > top:
                self.flags[int(m.group(2))] = set(m.group(3).split()) - {"\\Recent"}
        return u


def random_changes(rng, w, n_flags, n_expunge):
    u, _ = w.cmd("UID SEARCH ALL", ok=True)
    uids = [int(x) for x in u[0].split()[2:]]
    for _ in range(n_flags):
        if not uids:
            break
        uid = rng.choice(uids)
        op = rng.choice(["+", "-", ""])
        flags = " ".join(rng.sample(FLAGS, rng.randint(0, 3)))
        w.cmd(f"UID STORE {uid} {op}FLAGS.SILENT ({flags})", ok=True)
    gone = rng.sample(uids, min(n_expunge, len(uids)))
    if gone:
        w.cmd(f"UID STORE {','.join(map(str, gone))} +FLAGS.SILENT (\\Deleted)", ok=True)
        w.cmd(f"UID EXPUNGE {','.join(map(str, gone))}", ok=True)
    for _ in range(rng.randint(0, 3)):
        w.append()


def test_client_resync_rounds(srv):
    rng = random.Random(7162)
    w = srv.login()
    fill(w, 300)
    w.cmd("SELECT INBOX", ok=True)
    cache = Cache()
    for rnd in range(8):
        c = srv.login()
        c.cmd("ENABLE QRESYNC", ok=True)
        cache.resync(c, match=rnd % 2 == 1)
        state, hm = server_state(c)
        expect(cache.flags == state, (rnd, set(cache.flags) ^ set(state)))
        expect(cache.modseq == hm, (rnd, cache.modseq, hm))
        logout(c)
        random_changes(rng, w, rng.randint(1, 40), rng.randint(0, 15))


def test_modseq_monotonic_across_restart_and_rebuild(srv):
    c = srv.login()
    for _ in range(6):
        c.append()
    c.cmd("ENABLE QRESYNC", ok=True)
    c.cmd("SELECT INBOX", ok=True)
    c.cmd("STORE 1 +FLAGS (\\Seen)", ok=True)
    c.cmd("STORE 2 +FLAGS (\\Deleted)", ok=True)
    c.cmd("EXPUNGE", ok=True)
    cache = Cache()
    cache.resync(c)
    logout(c)
    h1 = cache.modseq

    # restart, and a killed server: the same values, and the next change
    # goes above them
    srv.stop()
    srv.start()
    c = srv.login()
    expect(highestmodseq(c) == h1)
    srv.stop(signal.SIGKILL)
    srv.start()
    c = srv.login()
    c.cmd("ENABLE QRESYNC", ok=True)
    u = cache.resync(c)
    expect(cache.modseq == h1 and not any("VANISHED" in x or " FETCH " in x for x in u), u)
    c.cmd("UID STORE 3 +FLAGS (\\Flagged)", ok=True)
    c.cmd("UID STORE 4 +FLAGS (\\Deleted)", ok=True)
    c.cmd("UID EXPUNGE 4", ok=True)
    h2 = highestmodseq(c)
    expect(h2 > h1, (h1, h2))
    logout(c)
    old = Cache()
    old.uidvalidity, old.modseq, old.flags = cache.uidvalidity, cache.modseq, dict(cache.flags)

    # rebuild with the old index: HIGHESTMODSEQ does not go back, the
    # tombstones are kept, so an old client learns exactly UID 4
    p = rebuild(srv, drop_index=False)
    expect(p.returncode == 0, p.stderr)
    c = srv.login()
    c.cmd("ENABLE QRESYNC", ok=True)
    u = cache.resync(c)
    h3 = cache.modseq
    expect(h3 >= h2, (h2, h3))
    expect("* VANISHED (EARLIER) 4" in u, u)
    state, _ = server_state(c)
    expect(cache.flags == state, (cache.flags, state))
    c.cmd("UID STORE 5 +FLAGS (\\Deleted)", ok=True)
    c.cmd("UID EXPUNGE 5", ok=True)
    expect(highestmodseq(c) > h3)
    logout(c)

    # rebuild from the files alone: tombstones lost; the floor makes the
    # server report every known UID it does not have
    p = rebuild(srv, drop_index=True)
    expect(p.returncode == 0, p.stderr)
    c = srv.login()
    c.cmd("ENABLE QRESYNC", ok=True)
    u = old.resync(c)
    expect(old.modseq > h3, (h3, old.modseq))
    expect(any(x.startswith("* VANISHED (EARLIER) ") and "4" in x and "5" in x
               for x in u), u)
    state, _ = server_state(c)
    expect(old.flags == state, (old.flags, state))
    # and a client that synced after the rebuild gets only what follows
    c.cmd("UID STORE 6 +FLAGS (\\Deleted)", ok=True)
    c.cmd("UID EXPUNGE 6", ok=True)
    d = srv.login()
    d.cmd("ENABLE QRESYNC", ok=True)
    u = old.resync(d)
    expect([x for x in u if "VANISHED" in x] == ["* VANISHED (EARLIER) 6"], u)


@server_args(extra_conf="qresync_tombstones = 100")
def test_tombstone_compaction(srv):
    w = srv.login()
    fill(w, 700)
    w.cmd("SELECT INBOX", ok=True)
    # a QRESYNC client and an open view, both from before the expunges
    cache = Cache()
    c = srv.login()
    c.cmd("ENABLE QRESYNC", ok=True)
    cache.resync(c)
    logout(c)
    idle = srv.login()
    idle.cmd("ENABLE QRESYNC", ok=True)
    idle.cmd("SELECT INBOX", ok=True)
    # 600 expunges in 6 commands: more than 256 tombstones written, so
    # the count runs and the oldest go
    for k in range(6):
        uids = ",".join(str(u) for u in range(k * 100 + 1, k * 100 + 101))
        w.cmd(f"UID STORE {uids} +FLAGS.SILENT (\\Deleted)", ok=True)
        w.cmd(f"UID EXPUNGE {uids}", ok=True)
    w.cmd("UID STORE 650 +FLAGS (\\Seen)", ok=True)
    # the open view (older than the floor) still learns every expunge
    u, _ = idle.cmd("NOOP", ok=True)
    gone = set()
    for line in u:
        if line.startswith("* VANISHED "):
            for part in line[len("* VANISHED "):].split(","):
                a, _, b = part.partition(":")
                gone.update(range(int(a), int(b or a) + 1))
    expect(gone == set(range(1, 601)), (len(gone), u[:3]))
    u, _ = idle.cmd("UID SEARCH ALL", ok=True)
    expect([int(x) for x in u[0].split()[2:]] == list(range(601, 701)), u[:1])
    # the QRESYNC client from before the floor: the same answer, from
    # UIDs; seq-match-data narrows it where it matches
    c = srv.login()
    c.cmd("ENABLE QRESYNC", ok=True)
    u = cache.resync(c)
    state, _ = server_state(c)
    expect(cache.flags == state, (len(cache.flags), len(state)))
    # the floor is above the client's modseq: a client that resyncs now
    # gets only what follows
    w.cmd("UID STORE 700 +FLAGS.SILENT (\\Deleted)", ok=True)
    w.cmd("UID EXPUNGE 700", ok=True)
    u = cache.resync(c)
    expect([x for x in u if "VANISHED" in x] == ["* VANISHED (EARLIER) 700"], u)
    # an old client with seq-match-data that matches up to UID 650
    c2 = srv.login()
    c2.cmd("ENABLE QRESYNC", ok=True)
    u, _ = c2.cmd("STATUS INBOX (UIDVALIDITY)", ok=True)
    uv = int(re.search(r"UIDVALIDITY (\d+)", u[0]).group(1))
    u, _ = c2.cmd(f"EXAMINE INBOX (QRESYNC ({uv} 2 1:700 (50 650)))", ok=True)
    v = [x for x in u if "VANISHED" in x]
    expect(v == ["* VANISHED (EARLIER) 700"], v)
    u, _ = c2.cmd(f"EXAMINE INBOX (QRESYNC ({uv} 2 1:700 (49 650)))", ok=True)
    v = [x for x in u if "VANISHED" in x]
    expect(v == ["* VANISHED (EARLIER) 1:600,700"], v)
    # UID FETCH (CHANGEDSINCE old VANISHED) the same way
    c2.cmd("SELECT INBOX", ok=True)
    u, _ = c2.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 2 VANISHED)", ok=True)
    expect(u[0] == "* VANISHED (EARLIER) 1:600,700", u[:2])
