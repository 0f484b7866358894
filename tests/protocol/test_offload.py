"""The protocol tests of the commands whose store work is a store request
(store/request.h): SELECT and EXAMINE, STATUS, LIST ... RETURN (STATUS ...),
the sync before every tagged reply (NOOP), IDLE, sessions of one user
side by side, LMTP deliveries, NOTIFY's pushes, CONDSTORE, QRESYNC, UIDONLY and the
update contexts evaluated in the syncs' loop half (test_context), run again with `store_offload = always`.  The Maildir
store's requests then run on the worker's helper threads, as those of a
backend that waits on the network do: the answers must be the same, in
the same order.  `make asan` runs them under the sanitizers too."""
import roosttest
from roosttest import expect, server_args

import test_condstore
import test_context
import test_core
import test_idle
import test_list
import test_lmtp
import test_mailbox
import test_multiaccess
import test_notify
import test_qresync
import test_select
import test_uidonly

OFFLOADED = (test_select, test_mailbox, test_list, test_idle, test_core,
             test_multiaccess, test_lmtp, test_notify, test_condstore, test_qresync,
             test_uidonly, test_context)


def _offloaded(fn):
    def test():
        old = roosttest.FORCED_CONF
        roosttest.FORCED_CONF = "store_offload = always"
        try:
            ok, msg = roosttest.run_one(fn)
        finally:
            roosttest.FORCED_CONF = old
        if not ok:
            raise roosttest.TestFailure(msg)
    test.timeout = getattr(fn, "timeout", 120) + 30
    return test


for _mod in OFFLOADED:
    for _name in sorted(vars(_mod)):
        _fn = getattr(_mod, _name)
        if _name.startswith("test_") and callable(_fn) \
                and getattr(_fn, "__module__", None) == _mod.__name__:
            _test = _offloaded(_fn)
            _test.__name__ = f"test_{_mod.__name__[5:]}_{_name[5:]}"
            globals()[_test.__name__] = _test


@server_args(lmtp=True, extra_conf="store_offload = always")
def test_lmtp_delivery_beside_imap_requests(srv):
    """LMTP calls the store directly on the loop: a delivery to a user
    whose IMAP sessions keep requests running on the helper threads waits
    for the store's turn, and every message arrives once."""
    idler = srv.login()
    idler.cmd("SELECT INBOX", ok=True)
    idler.line("i1 IDLE")
    expect(idler.readline() == "+ idling")
    busy = [srv.login() for _ in range(2)]
    for c in busy:
        c.cmd("SELECT INBOX", ok=True)
    lm = srv.lmtp()
    lm.readline()
    lm.line("LHLO x")
    while not lm.readline().startswith("250 "):
        pass
    count = 20
    for i in range(count):
        # requests of both sessions in flight while the message arrives
        for n, c in enumerate(busy):
            c.line(f"n{i}.{n} NOOP")
            c.line(f"s{i}.{n} STATUS INBOX (MESSAGES)")
        for line, want in (("MAIL FROM:<s@example.org>", "250"),
                           ("RCPT TO:<demo>", "250"), ("DATA", "354")):
            lm.line(line)
            expect(lm.readline().startswith(want), line)
        lm.line(f"Subject: m{i}\r\n\r\nx\r\n.")
        expect(lm.readline().startswith("250"), f"DATA {i}")
        for n, c in enumerate(busy):
            while not c.readline().startswith(f"s{i}.{n} OK"):
                pass
    idler.line("DONE")
    while True:
        line = idler.readline()
        if line.startswith("i1 "):
            expect(line.startswith("i1 OK"), line)
            break
    u, _ = idler.cmd("STATUS INBOX (MESSAGES)", ok=True)
    expect(u == [f"* STATUS INBOX (MESSAGES {count})"], u)
