"""The test harness itself must be able to fail: a worker that died during a
test, a stray server line after a conversation, and a run in which no test
ran are failures (issue #8, "Tests that can fail")."""
import os
import signal
import subprocess
import sys
import tempfile
import time

import roosttest
from roosttest import Server, TestFailure, expect, server_args

RUN_ALL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "run-all")


def kill_a_worker(srv, sig):
    """Kills a worker with sig and waits until the supervisor has reaped
    it (and logged whatever it logs for that)."""
    deadline = time.time() + 10
    while len(srv.worker_pids()) != 2 and time.time() < deadline:
        time.sleep(0.02)
    pids = srv.worker_pids()
    expect(len(pids) == 2, f"worker pids {pids}")
    os.kill(pids[0], sig)
    deadline = time.time() + 10
    while time.time() < deadline:
        # the supervisor's line names the pid (old format: "worker P ...")
        text = srv.log_text()
        if f"(pid {pids[0]})" in text or f"worker {pids[0]} " in text:
            return pids[0]
        time.sleep(0.05)
    raise TestFailure("the supervisor did not reap the worker")


@server_args(workers=2)
def test_dead_worker_fails_check_log(srv):
    c = srv.login()
    srv.check_log()                 # a healthy server passes
    pid = kill_a_worker(srv, signal.SIGSEGV)
    try:
        srv.check_log()
    except TestFailure:
        pass
    else:
        raise TestFailure("check_log() passed although a worker died")
    # under ASan the worker reports the SEGV and exits with status 1
    text = srv.log_text()
    expect(f"(pid {pid}) died: killed by signal 11" in text or
           (f"(pid {pid}) died: exited with status" in text and
            "AddressSanitizer" in text), text[-3000:])
    # the supervisor restarted it: both workers run again
    deadline = time.time() + 10
    while len(srv.worker_pids()) != 2 and time.time() < deadline:
        time.sleep(0.05)
    expect(len(srv.worker_pids()) == 2, "worker not restarted")
    c.close()
    # this test's own server must not fail the test: start afresh
    srv.stop()
    os.truncate(srv.log_path, 0)
    srv.start()


def test_run_one_fails_a_test_whose_worker_died():
    """A test whose body passes fails all the same when a worker was
    killed (SIGKILL: no chance to log anything itself) while it ran."""
    def inner(srv):
        c = srv.login()
        kill_a_worker(srv, signal.SIGKILL)
        c.close()
    inner.server_args = {"workers": 2}
    ok, msg = roosttest.run_one(inner)
    expect(not ok, "run_one() passed a test during which a worker died")
    expect("server log has 'worker " in msg and
           "died: killed by signal 9" in msg, msg[-3000:])


def test_run_one_fails_on_abort():
    """SIGABRT is what a failed assert() or a sanitizer abort gives."""
    def inner(srv):
        kill_a_worker(srv, signal.SIGABRT)
    inner.server_args = {"workers": 2}
    ok, msg = roosttest.run_one(inner)
    expect(not ok and "server log has 'worker " in msg and
           "died: killed by signal 6" in msg, msg[-3000:])


def test_conv_fails_on_leftover_line(srv):
    c = srv.login()
    # two commands, one answer expected: the second tagged line is left
    try:
        c.conv("""
        C: a1 NOOP
        C: a2 NOOP
        S: a1 OK NOOP completed.
        """)
    except TestFailure as e:
        expect("a2 OK NOOP completed." in str(e), str(e))
    else:
        raise TestFailure("conv() ignored a leftover server line")
    c.expect_no_more()              # the failure consumed the stray line
    # a clean conversation passes, and a close after LOGOUT is no leftover
    c.conv("""
    C: c1 NOOP
    S: c1 OK NOOP completed.
    C: c2 LOGOUT
    S: * BYE Logging out
    S: c2 OK Logout completed.
    """)


def test_run_all_fails_when_nothing_ran():
    build = os.environ.get("ROOST_BUILD", roosttest.BUILD)
    p = subprocess.run([sys.executable, RUN_ALL, build, "--no-interop",
                        "--only", "no-such-test-anywhere"],
                       capture_output=True, text=True, timeout=60)
    expect(p.returncode != 0, f"run-all exited 0 with no test run:\n{p.stdout}")
    expect("0 passed, 0 failed" in p.stdout, p.stdout)
    # a build without unit tests fails unless they are declared optional
    with tempfile.TemporaryDirectory() as empty:
        os.symlink(os.path.join(build, "roost"), os.path.join(empty, "roost"))
        p = subprocess.run([sys.executable, RUN_ALL, empty, "--no-interop",
                            "--only", "test_core.test_noop_and_logout"],
                           capture_output=True, text=True, timeout=60)
        expect(p.returncode != 0 and "no unit tests" in p.stdout,
               f"exit {p.returncode}:\n{p.stdout}{p.stderr}")
        p = subprocess.run([sys.executable, RUN_ALL, empty, "--no-interop",
                            "--no-unit", "--only",
                            "test_core.test_noop_and_logout"],
                           capture_output=True, text=True, timeout=60)
        expect(p.returncode == 0 and "1 passed, 0 failed" in p.stdout,
               f"exit {p.returncode}:\n{p.stdout}{p.stderr}")
