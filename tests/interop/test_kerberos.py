"""AUTHENTICATE GSSAPI (RFC 4752) against a real MIT Kerberos KDC.

Each test starts krb5kdc on a free loopback port with a temporary realm
ROOST.TEST (kdb5_util create, kadmin.local addprinc/ktadd), gets tickets
with kinit and a password into temporary credential caches, and logs in
with python3-gssapi as the client: success with and without SASL-IR, a
ticket for a principal that is not the server's (another host, another
service), a principal with no account, an authzid for another user, and
a client that skips the security-layer step.  Nothing outside the test's
directory and loopback is touched (KRB5_CONFIG, KRB5_KDC_PROFILE,
KRB5CCNAME and KRB5RCACHEDIR point into it)."""
import base64
import os
import shutil
import signal
import subprocess
import tempfile
import time

import roosttest
from roosttest import Server, TestFailure, expect, free_port

gssapi = roosttest.import_debian("gssapi")

REALM = "ROOST.TEST"


class Realm:
    """A KDC for REALM on a free loopback port, with principals
    alice, carol (passwords = name + "pw"), imap/localhost,
    imap/other.test, smtp/localhost and sieve/localhost; the service keys
    are in self.keytab."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="roost-krb5-")
        self.port = free_port()
        self.keytab = os.path.join(self.dir, "imap.keytab")
        self.conf = os.path.join(self.dir, "krb5.conf")
        d = self.dir
        with open(self.conf, "w") as f:
            f.write(f"""[libdefaults]
    default_realm = {REALM}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1
[realms]
    {REALM} = {{
        kdc = 127.0.0.1:{self.port}
    }}
[domain_realm]
    localhost = {REALM}
    other.test = {REALM}
""")
        self.kdc_conf = os.path.join(d, "kdc.conf")
        with open(self.kdc_conf, "w") as f:
            f.write(f"""[kdcdefaults]
    kdc_listen = 127.0.0.1:{self.port}
    kdc_tcp_listen = 127.0.0.1:{self.port}
[realms]
    {REALM} = {{
        database_name = {d}/principal
        key_stash_file = {d}/stash
        acl_file = {d}/kadm5.acl
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }}
[logging]
    kdc = FILE:{d}/kdc.log
""")
        self.env = dict(os.environ, KRB5_CONFIG=self.conf,
                        KRB5_KDC_PROFILE=self.kdc_conf,
                        KRB5RCACHEDIR=self.dir, KRB5_TRACE="/dev/null")
        self.kdc = None
        try:
            self._run("kdb5_util", "create", "-s", "-r", REALM, "-P", "masterpw")
            for p in ("alice", "carol"):
                self._kadmin(f"addprinc -pw {p}pw {p}")
            for p in ("imap/localhost", "imap/other.test", "smtp/localhost",
                      "sieve/localhost"):
                self._kadmin(f"addprinc -randkey {p}")
                self._kadmin(f"ktadd -k {self.keytab} {p}")
            self.kdc = subprocess.Popen(
                ["krb5kdc", "-n", "-r", REALM], env=self.env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self._wait_listening()
        except BaseException:
            self.cleanup()
            raise

    def _run(self, *cmd, input=None):
        p = subprocess.run(list(cmd), env=self.env, input=input,
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise TestFailure(f"{cmd}: exit {p.returncode}: {p.stderr}")
        return p

    def _kadmin(self, query):
        self._run("kadmin.local", "-r", REALM, "-q", query)

    def _wait_listening(self):
        import socket
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.kdc.poll() is not None:
                raise TestFailure("krb5kdc exited: " + self.kdc_log())
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise TestFailure("krb5kdc did not listen")

    def kdc_log(self):
        try:
            with open(os.path.join(self.dir, "kdc.log")) as f:
                return f.read()
        except OSError:
            return ""

    def kinit(self, principal, password):
        """Gets a TGT for `principal` into a new ccache; returns the
        gssapi.Credentials for it."""
        ccache = os.path.join(self.dir, "cc-" + principal.replace("/", "_"))
        self._run("kinit", "-c", "FILE:" + ccache, principal,
                  input=password + "\n")
        return ccache

    def cleanup(self):
        if self.kdc is not None and self.kdc.poll() is None:
            self.kdc.send_signal(signal.SIGTERM)
            try:
                self.kdc.wait(10)
            except subprocess.TimeoutExpired:
                self.kdc.kill()
                self.kdc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Kerberos:
    """A realm and a Roost whose environment points at it."""

    def __init__(self, hostname="localhost", users=None, managesieve=False):
        self.realm = Realm()
        saved = dict(os.environ)
        try:
            # the server inherits KRB5_CONFIG (default realm) and the
            # replay cache directory
            os.environ.update(KRB5_CONFIG=self.realm.conf,
                              KRB5RCACHEDIR=self.realm.dir)
            self.srv = Server(users=users, managesieve=managesieve, extra_conf=(
                f"auth_gssapi_keytab = {self.realm.keytab}\n"
                f"auth_gssapi_hostname = {hostname}\n"
                "auth_failure_delay_max = 0\n"))
        except BaseException:
            self.realm.cleanup()
            raise
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def cleanup(self):
        try:
            self.srv.cleanup()
        finally:
            self.realm.cleanup()


def with_kerberos(**kw):
    def deco(fn):
        def run():
            k = Kerberos(**kw)
            try:
                fn(k)
                k.srv.check_log()
            finally:
                k.cleanup()
        run.__name__ = fn.__name__
        run.__doc__ = fn.__doc__
        return run
    return deco


def client_context(k, ccache, target="imap@localhost"):
    """A GSS initiator context for `target` with the tickets of ccache."""
    os.environ["KRB5_CONFIG"] = k.realm.conf
    store = {"ccache": "FILE:" + ccache}
    creds = gssapi.Credentials(usage="initiate", store=store)
    name = gssapi.Name(target, gssapi.NameType.hostbased_service)
    return gssapi.SecurityContext(
        name=name, creds=creds, usage="initiate", mech=gssapi.MechType.kerberos,
        flags=[gssapi.RequirementFlag.integrity, gssapi.RequirementFlag.mutual_authentication])


def authenticate(c, ctx, authzid="", sasl_ir=True, layer=1):
    """Runs AUTHENTICATE GSSAPI on connection c with initiator ctx.
    Returns the tagged response line."""
    b64 = lambda b: base64.b64encode(b).decode()
    token = ctx.step()
    tag = c.next_tag()
    if sasl_ir:
        c.line(f"{tag} AUTHENTICATE GSSAPI {b64(token)}")
    else:
        c.line(f"{tag} AUTHENTICATE GSSAPI")
        line = c.readline()
        expect(line == "+ " or line == "+", f"expected an empty challenge, got {line!r}")
        c.line(b64(token))
    while True:
        line = c.readline()
        if line.startswith(tag + " "):
            return line
        expect(line.startswith("+"), f"unexpected {line!r}")
        data = base64.b64decode(line[2:]) if len(line) > 2 else b""
        if not ctx.complete:
            out = ctx.step(data)
            c.line(b64(out or b""))
            continue
        if not data:
            c.line("")
            continue
        # RFC 4752 section 3.1: the server's offer, then our choice
        offer = ctx.unwrap(data).message
        expect(len(offer) == 4 and offer[0] & 1 and offer[1:] == b"\0\0\0",
               f"offer {offer!r}")
        reply = bytes([layer, 0, 0, 0]) + authzid.encode()
        c.line(b64(ctx.wrap(reply, False).message))


@with_kerberos(users={"alice": "x", "demo": "demo"})
def test_gssapi_login(k):
    cc = k.realm.kinit("alice", "alicepw")
    for sasl_ir in (True, False):
        c = k.srv.connect()
        c.greeting()
        line = authenticate(c, client_context(k, cc), sasl_ir=sasl_ir)
        expect(" OK " in line, line)
        c.cmd("SELECT INBOX", ok=True)
        c.close()
    # the authzid equal to the user is fine, in any case
    c = k.srv.connect()
    c.greeting()
    expect(" OK " in authenticate(c, client_context(k, cc), authzid="Alice"))
    expect("GSSAPI" in k.srv.log_text())


@with_kerberos(users={"alice": "x"})
def test_gssapi_capability(k):
    c = k.srv.connect(tls=True)
    c.greeting()
    untagged, _ = c.cmd("CAPABILITY")
    expect("AUTH=GSSAPI" in " ".join(untagged), untagged)


@with_kerberos(users={"alice": "x", "demo": "demo"})
def test_gssapi_wrong_service_principal(k):
    cc = k.realm.kinit("alice", "alicepw")
    # a valid ticket for a principal in the keytab that is not the
    # configured imap/localhost, and one for another service
    for target in ("imap@other.test", "smtp@localhost"):
        c = k.srv.connect()
        c.greeting()
        line = authenticate(c, client_context(k, cc, target))
        expect(" NO " in line, f"{target}: {line}")


@with_kerberos(hostname="*", users={"alice": "x"})
def test_gssapi_any_host_principal(k):
    cc = k.realm.kinit("alice", "alicepw")
    for target, ok in (("imap@localhost", True), ("imap@other.test", True),
                       ("smtp@localhost", False)):
        c = k.srv.connect()
        c.greeting()
        line = authenticate(c, client_context(k, cc, target))
        expect((" OK " in line) == ok, f"{target}: {line}")


@with_kerberos(users={"alice": "x", "demo": "demo"})
def test_gssapi_unknown_principal(k):
    # carol has a Kerberos principal but no account
    cc = k.realm.kinit("carol", "carolpw")
    c = k.srv.connect()
    c.greeting()
    line = authenticate(c, client_context(k, cc))
    expect(" NO " in line and "AUTHENTICATIONFAILED" in line, line)


@with_kerberos(users={"alice": "x", "demo": "demo"})
def test_gssapi_authzid_other_user(k):
    cc = k.realm.kinit("alice", "alicepw")
    c = k.srv.connect()
    c.greeting()
    line = authenticate(c, client_context(k, cc), authzid="demo")
    expect(" NO " in line, line)


@with_kerberos(users={"alice": "x"})
def test_gssapi_bad_input(k):
    cc = k.realm.kinit("alice", "alicepw")
    # a security layer that was not offered (integrity)
    c = k.srv.connect()
    c.greeting()
    expect(" NO " in authenticate(c, client_context(k, cc), layer=2))
    # garbage and truncated tokens
    token = client_context(k, cc).step()
    for bad in (b"garbage", token[:len(token) // 2], b"\x60\x82\xff\xff"):
        c = k.srv.connect()
        c.greeting()
        c.line("g1 AUTHENTICATE GSSAPI " + base64.b64encode(bad).decode())
        line = c.readline()
        expect(line.startswith("g1 NO "), line)
    # the same token again: the replay cache refuses it
    ctx = client_context(k, cc)
    token = ctx.step()
    c = k.srv.connect()
    c.greeting()
    c.line("r1 AUTHENTICATE GSSAPI " + base64.b64encode(token).decode())
    expect(c.readline().startswith("+ "))
    c.line("*")
    c.readline()
    c = k.srv.connect()
    c.greeting()
    c.line("r2 AUTHENTICATE GSSAPI " + base64.b64encode(token).decode())
    line = c.readline()
    expect(line.startswith("r2 NO "), line)


@with_kerberos(users={"alice": "x"}, managesieve=True)
def test_gssapi_managesieve(k):
    """ManageSieve's GSSAPI uses the sieve/ service principal; challenges
    and responses are quoted base64 strings (RFC 5804 section 2.1)."""
    from test_managesieve import Sieve, caps_dict
    cc = k.realm.kinit("alice", "alicepw")
    b64 = lambda b: base64.b64encode(b).decode()
    for target, ok in (("sieve@localhost", True), ("imap@localhost", False)):
        c = Sieve(k.srv)
        caps = caps_dict(c.greeting())
        expect("GSSAPI" in caps["SASL"].split(), caps)
        ctx = client_context(k, cc, target)
        c.line(f'AUTHENTICATE "GSSAPI" "{b64(ctx.step())}"')
        while True:
            line = c.read_response_line()
            if line.split(" ", 1)[0] in ("OK", "NO", "BYE"):
                break
            data = base64.b64decode(line.split("\r\n")[-1].strip('"'))
            if not ctx.complete:
                c.line(f'"{b64(ctx.step(data) or b"")}"')
            elif not data:
                c.line('""')
            else:
                ctx.unwrap(data)
                c.line(f'"{b64(ctx.wrap(bytes([1, 0, 0, 0]), False).message)}"')
        expect(line.startswith("OK") == ok, f"{target}: {line}")
        c.close()
