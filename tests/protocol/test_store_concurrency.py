"""The store under concurrency: APPENDs with old dates racing other
sessions' SELECTs (the tmp/ cleanup), many sessions opening a fresh store
at once, and `roost check --rebuild` against a server with open
sessions."""
import os
import threading
from roosttest import expect, server_args, MSG


def run_threads(n, target):
    """Runs target(i) in n threads started together; returns the
    exceptions raised (empty when all passed)."""
    errors = []
    barrier = threading.Barrier(n)

    def run(i):
        try:
            barrier.wait(10)
            target(i)
        except Exception as e:      # collected for the test's message
            errors.append(f"{i}: {e!r}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


@server_args(workers=2, users={f"u{i}": "pw" for i in range(6)})
def test_concurrent_first_logins(srv):
    # six users that never logged in, each opened by eight sessions at
    # once in two worker processes: creating and opening the index must
    # wait for the other processes' locks, never fail the login
    clients = []
    lock = threading.Lock()

    def login(i):
        c = srv.connect()
        with lock:
            clients.append(c)
        c.greeting()
        _, tagged = c.cmd(f"LOGIN u{i % 6} pw")
        expect(" OK " in tagged, tagged)
        _, tagged = c.cmd("SELECT INBOX")
        expect(" OK " in tagged, tagged)

    errors = run_threads(48, login)
    for c in clients:
        c.close()
    expect(not errors, "\n".join(errors))
