"""slapd: a real OpenLDAP server (Debian `slapd`) for tests.

    with Slapd() as ldap:                 # or Slapd(tls=True)
        ldap.add_user("alice", "alicepw", mail=["alice@example.test"])
        conf = ldap.roost_conf()          # ldap_* lines for roost.conf
        ...
        ldap.stop(); ldap.start()         # an outage, same port and data

It runs in the foreground on a free loopback port with a temporary
slapd.conf and an mdb database under a temporary directory, suffix
dc=example,dc=test, loaded with ldapadd (package ldap-utils).  The
directory has a manager (MANAGER_DN / MANAGER_PW) and a service account
for searches (SERVICE_DN / SERVICE_PW); userPassword can be read by the
service account only (others may only bind with it), as a production
directory would set it.

With tls=True a test CA and a certificate for 127.0.0.1 are made with
the openssl CLI, and slapd refuses every operation without TLS
(`security tls=1`), so a client that did not StartTLS cannot succeed.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

SUFFIX = "dc=example,dc=test"
MANAGER_DN = "cn=manager," + SUFFIX
MANAGER_PW = "managerpw"
SERVICE_DN = "cn=roost," + SUFFIX
SERVICE_PW = "servicepw"
PEOPLE = "ou=people," + SUFFIX

SCHEMA_DIR = "/etc/ldap/schema"
MODULE_DIR = "/usr/lib/ldap"
SLAPD = "/usr/sbin/slapd"


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def available():
    """Whether slapd and ldapadd are installed (scripts/install-deps test)."""
    return os.path.exists(SLAPD) and shutil.which("ldapadd") is not None


class Slapd:
    def __init__(self, tls=False):
        self.dir = tempfile.mkdtemp(prefix="roost-slapd-")
        self.db = os.path.join(self.dir, "db")
        os.mkdir(self.db)
        self.tls = tls
        self.port = _free_port()
        self.uri = f"ldap://127.0.0.1:{self.port}"
        # with TLS, also ldaps:// (TLS from the first byte) on a port of
        # its own
        self.ldaps_uri = f"ldaps://127.0.0.1:{_free_port()}" if tls else None
        self.proc = None
        self.log_path = os.path.join(self.dir, "slapd.log")
        if tls:
            self._make_certs()
        self._write_conf()
        self.start()
        self.ldif(f"""
dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
o: Roost tests
dc: example

dn: {SERVICE_DN}
objectClass: simpleSecurityObject
objectClass: organizationalRole
cn: roost
userPassword: {SERVICE_PW}

dn: {PEOPLE}
objectClass: organizationalUnit
ou: people
""")

    # ---- setup ----

    def _openssl(self, *args):
        subprocess.run(["openssl"] + list(args), check=True,
                       capture_output=True, cwd=self.dir)

    def _make_certs(self):
        self.ca_file = os.path.join(self.dir, "ca.pem")
        self._openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes",
                      "-days", "2", "-subj", "/CN=Roost test CA",
                      "-keyout", "ca.key", "-out", "ca.pem")
        with open(os.path.join(self.dir, "ext.cnf"), "w") as f:
            f.write("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
        self._openssl("req", "-newkey", "rsa:2048", "-nodes",
                      "-subj", "/CN=127.0.0.1", "-keyout", "server.key",
                      "-out", "server.csr")
        self._openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem",
                      "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
                      "-extfile", "ext.cnf", "-out", "server.pem")

    def other_ca(self):
        """A CA certificate that did not sign slapd's (made on demand)."""
        path = os.path.join(self.dir, "other-ca.pem")
        if not os.path.exists(path):
            self._openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes",
                          "-days", "2", "-subj", "/CN=Another CA",
                          "-keyout", "other-ca.key", "-out", "other-ca.pem")
        return path

    def _write_conf(self):
        lines = [f"include {SCHEMA_DIR}/{s}.schema"
                 for s in ("core", "cosine", "inetorgperson", "nis")]
        lines += [
            f"modulepath {MODULE_DIR}",
            "moduleload back_mdb",
            f"pidfile {self.dir}/slapd.pid",
        ]
        if self.tls:
            lines += [
                f"TLSCACertificateFile {self.dir}/ca.pem",
                f"TLSCertificateFile {self.dir}/server.pem",
                f"TLSCertificateKeyFile {self.dir}/server.key",
                # no operation without TLS (StartTLS itself is allowed)
                "security tls=1",
            ]
        lines += [
            "database mdb",
            "maxsize 16777216",
            f'suffix "{SUFFIX}"',
            f'rootdn "{MANAGER_DN}"',
            f"rootpw {MANAGER_PW}",
            f"directory {self.db}",
            "index objectClass,uid,mail eq",
            "access to attrs=userPassword",
            "  by self write",
            f'  by dn.exact="{SERVICE_DN}" read',
            "  by anonymous auth",
            "  by * none",
            "access to * by * read",
        ]
        self.conf = os.path.join(self.dir, "slapd.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    # ---- running ----

    def start(self):
        """Starts slapd (again, after stop(): same port, same data)."""
        log = open(self.log_path, "ab")
        # -d 0: stay in the foreground, so the test owns the process
        self.proc = subprocess.Popen(
            [SLAPD, "-d", "0", "-f", self.conf, "-h",
             self.uri + (" " + self.ldaps_uri if self.tls else "")],
            stdout=log, stderr=log)
        log.close()
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("slapd exited: " + self.log_text())
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("slapd did not start listening: " + self.log_text())

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

    # ---- data ----

    def _tool(self, tool, *args, input=None):
        env = dict(os.environ)
        cmd = [tool, "-x", "-H", self.uri, "-D", MANAGER_DN, "-w", MANAGER_PW]
        if self.tls:
            env["LDAPTLS_CACERT"] = self.ca_file
            cmd.append("-ZZ")
        p = subprocess.run(cmd + list(args), input=input, env=env,
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise RuntimeError(f"{tool} {args} failed ({p.returncode}): "
                               f"{p.stderr}")
        return p.stdout

    def ldif(self, text):
        """Adds the entries of an LDIF text."""
        self._tool("ldapadd", input=text.strip() + "\n")

    def delete(self, dn):
        self._tool("ldapdelete", dn)

    def modify(self, text):
        self._tool("ldapmodify", input=text.strip() + "\n")

    def search(self, filt, *attrs):
        return self._tool("ldapsearch", "-LLL", "-b", SUFFIX, filt, *attrs)

    def add_user(self, uid, password, mail=(), extra=""):
        """An inetOrgPerson uid=UID under ou=people with these mail
        addresses; `password` goes into userPassword as given (a
        "{SCHEME}..." value or cleartext)."""
        lines = [f"dn: uid={uid},{PEOPLE}", "objectClass: inetOrgPerson",
                 f"uid: {uid}", f"cn: {uid}", f"sn: {uid}"]
        if password is not None:
            lines.append(f"userPassword: {password}")
        lines += [f"mail: {m}" for m in mail]
        if extra:
            lines.append(extra.strip())
        self.ldif("\n".join(lines))
        return f"uid={uid},{PEOPLE}"

    def user_dn(self, uid):
        return f"uid={uid},{PEOPLE}"

    def roost_conf(self, auth="bind", service=True, **more):
        """The ldap_* lines of a roost.conf for this directory; keyword
        arguments add or override keys (ldap_cache_ttl=0, ...)."""
        keys = {
            "ldap_uri": self.uri,
            "ldap_base": SUFFIX,
            "ldap_auth": auth,
            "ldap_timeout": "3",
        }
        if service:
            keys["ldap_bind_dn"] = SERVICE_DN
            keys["ldap_bind_password"] = SERVICE_PW
        if self.tls:
            keys["ldap_starttls"] = "yes"
            keys["ldap_tls_ca"] = self.ca_file
        keys.update({("ldap_" + k if not k.startswith("ldap_") else k): str(v)
                     for k, v in more.items()})
        return "\n".join(f"{k} = {v}" for k, v in keys.items()) + "\n"


def standard_people(ldap):
    """The users the C unit test (tests/unit/test-userdb-ldap.c) and
    others expect: alice (bind only; two mail addresses), bob ({PLAIN}
    userPassword), carol ({CRYPT} SHA-512 userPassword), dave (no
    password), heidi, ivan, judy and ken ({SSHA}, {SHA}, {SSHA512},
    {SHA256} userPassword made by slappasswd, password UIDpw), leo
    ({MD5}, a scheme Roost does not check), and two entries sharing one mail address."""
    crypt = subprocess.run(["openssl", "passwd", "-6", "carolpw"], check=True,
                           capture_output=True, text=True).stdout.strip()
    ldap.add_user("alice", "alicepw",
                  mail=["alice@example.test", "a.liddell@example.test"])
    ldap.add_user("bob", "{PLAIN}bobpw", mail=["bob@example.test"])
    ldap.add_user("carol", "{CRYPT}" + crypt, mail=["carol@example.test"])
    ldap.add_user("dave", None)
    # OpenLDAP's own schemes, made by slappasswd (and its pw-sha2 module)
    for uid, scheme in [("heidi", "{SSHA}"), ("ivan", "{SHA}"),
                        ("judy", "{SSHA512}"), ("ken", "{SHA256}")]:
        value = subprocess.run(
            ["slappasswd", "-o", "module-load=pw-sha2", "-h", scheme,
             "-s", uid + "pw"], check=True, capture_output=True,
            text=True).stdout.strip()
        ldap.add_user(uid, value)
    # one Roost cannot check
    ldap.add_user("leo", "{MD5}X03MO1qnZdYdgyfeuILPmQ==")
    ldap.add_user("twin1", "x", mail=["twins@example.test"])
    ldap.add_user("twin2", "x", mail=["twins@example.test"])


def main():
    """For tests in C: `python3 slapd.py [--tls]` starts slapd with
    standard_people(), prints "PORT CA OTHER_CA LDAPS_URI" on a line (the
    files of the CA and of a CA that did not sign slapd's certificate, and
    the ldaps:// URI; "-" for each without TLS) and then
    obeys one command per line of its standard input, answering "ok" or
    "error: ...": `stop`, `start`, `delete UID`, `add UID PASSWORD`.  It
    stops slapd and exits when its input closes."""
    import sys
    ldap = Slapd(tls="--tls" in sys.argv[1:])
    try:
        standard_people(ldap)
        print(ldap.port, ldap.ca_file if ldap.tls else "-",
              ldap.other_ca() if ldap.tls else "-",
              ldap.ldaps_uri if ldap.tls else "-", flush=True)
        for line in sys.stdin:
            words = line.split()
            try:
                if words == ["stop"]:
                    ldap.stop()
                elif words == ["start"]:
                    ldap.start()
                elif len(words) == 2 and words[0] == "delete":
                    ldap.delete(ldap.user_dn(words[1]))
                elif len(words) == 3 and words[0] == "add":
                    ldap.add_user(words[1], words[2])
                else:
                    raise RuntimeError(f"unknown command {line.strip()!r}")
                print("ok", flush=True)
            except Exception as e:      # the C test fails on the answer
                print("error:", str(e).replace("\n", " "), flush=True)
    finally:
        ldap.cleanup()


if __name__ == "__main__":
    main()
