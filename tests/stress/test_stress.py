"""The stress and consistency checker (tests/stress/stress.py) for 20 s:
10 clients over 2 workers on shared mailboxes must see zero violations,
and the server log no worker death, sanitizer report or SERVERBUG.
ROOST_STRESS_SECONDS and ROOST_STRESS_SEED override the duration and the
seed (the seed is printed on failure, to replay the same choices)."""
import os

import stress
from roosttest import TestFailure, expect, server_args


@server_args(workers=2, tls=False, users=stress.USERS)
def test_stress_consistency(srv):
    lines = []
    results, rate = stress.run(
        srv.port, seconds=float(os.environ.get("ROOST_STRESS_SECONDS", 20)),
        clients=10, seed=int(os.environ["ROOST_STRESS_SEED"])
        if os.environ.get("ROOST_STRESS_SEED") else None, out=lines.append)
    print("\n".join("    " + x for x in lines))
    try:
        srv.check_log(extra=stress.LOG_EXTRA)
    except TestFailure as e:
        results.fail("server log", str(e).split("\n")[0])
    expect(results.count() == 0, "\n".join(lines) + "\n" + results.report())


test_stress_consistency.timeout = 300
