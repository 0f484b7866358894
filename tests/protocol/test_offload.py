"""The protocol tests of the commands whose store work is a store request
(store/request.h): SELECT and EXAMINE, STATUS, LIST ... RETURN (STATUS ...),
the sync before every tagged reply (NOOP), IDLE, and sessions of one user
side by side, run again with `store_offload = always`.  The Maildir
store's requests then run on the worker's helper threads, as those of a
backend that waits on the network do: the answers must be the same, in
the same order.  `make asan` runs them under the sanitizers too."""
import roosttest

import test_core
import test_idle
import test_list
import test_mailbox
import test_multiaccess
import test_select

OFFLOADED = (test_select, test_mailbox, test_list, test_idle, test_core,
             test_multiaccess)


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
