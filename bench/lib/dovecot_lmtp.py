"""bench/lib/dovecot_lmtp.py: a tuned Dovecot 2.3 LMTP server for
bench/deliver to compare with, started in a directory of its own.

Tuned as an administrator who cares about speed runs it: the lmtp and
imap processes are reused (service_count = 0) with process_min_avail = 2
ready, mail_fsync = always (as Roost's fsync = yes), Maildir in each
user's home from a passwd-file userdb, LMTP without authentication on
127.0.0.1.  Small on purpose: bench/lib/benchlib.py (the shared harness
of issue #10) replaces it where it exists.  Not a test."""
import os
import socket
import subprocess
import time

DOVECOT_UID = 65534     # nobody: Dovecot runs no mail process as root

CONFIG = """# written by bench/lib/dovecot_lmtp.py
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
auth_username_format = %n
mail_location = maildir:~/Maildir
mail_fsync = always
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {base}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%n {base}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  service_count = 0
  process_min_avail = 2
}}
service imap {{
  service_count = 0
  process_min_avail = 2
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
  unix_listener lmtp {{
    mode = 0600
  }}
  service_count = 0
  process_min_avail = 2
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DovecotLmtp:
    """Dovecot in base (created), users [names] with homes base/home/NAME;
    .lmtp_port, .proc (the master; its children are the server), .stop()."""

    def __init__(self, base, users):
        self.base = base
        os.makedirs(os.path.join(base, "home"), exist_ok=True)
        os.chmod(base, 0o755)
        os.chown(os.path.join(base, "home"), DOVECOT_UID, DOVECOT_UID)
        with open(os.path.join(base, "passwd"), "w") as f:
            for u in users:
                f.write(f"{u}:{{PLAIN}}pw:{DOVECOT_UID}:{DOVECOT_UID}::{base}/home/{u}::\n")
        self.lmtp_port = free_port()
        conf = os.path.join(base, "dovecot.conf")
        with open(conf, "w") as f:
            f.write(CONFIG.format(base=base, imap_port=free_port(),
                                  lmtp_port=self.lmtp_port))
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", conf],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("dovecot exited; see " + base + "/dovecot.log")
            try:
                socket.create_connection(("127.0.0.1", self.lmtp_port), 0.2).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("dovecot does not listen")
                time.sleep(0.1)
        time.sleep(0.5)         # the min_avail lmtp processes

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)
