"""AUTHENTICATE OAUTHBEARER (RFC 7628) and XOAUTH2 with JWT access tokens
signed by the test (python3-jwt, python3-cryptography) with HS256, RS256
and ES256 keys published in a JWKS file: success for both mechanisms,
expired and not yet valid tokens, wrong issuer and audience, a wrong
signature, "alg": "none", the RS256/HMAC key confusion, an unknown kid,
garbage, the RFC 7628 JSON error and its %x01 answer, and the JWKS file
rotated while the server runs."""
import base64
import json
import os
import shutil
import tempfile
import time

import roosttest
from roosttest import Server, expect

jwt = roosttest.import_debian("jwt")
serialization = roosttest.import_debian("cryptography.hazmat.primitives.serialization")
ec = roosttest.import_debian("cryptography.hazmat.primitives.asymmetric.ec")
rsa = roosttest.import_debian("cryptography.hazmat.primitives.asymmetric.rsa")

ISSUER = "https://issuer.example"
AUDIENCE = "roost-imap"
OPENID = "https://issuer.example/.well-known/openid-configuration"
HMAC_KEY = b"0123456789abcdef0123456789abcdef-hmac"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint(n):
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class Keys:
    def __init__(self):
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.hmac = HMAC_KEY

    def jwks(self, kids=("rsa1", "ec1", "hmac1")):
        keys = []
        pn = self.rsa.public_key().public_numbers()
        keys.append({"kty": "RSA", "kid": kids[0], "use": "sig", "alg": "RS256",
                     "n": uint(pn.n), "e": uint(pn.e)})
        en = self.ec.public_key().public_numbers()
        keys.append({"kty": "EC", "kid": kids[1], "crv": "P-256",
                     "x": b64url(en.x.to_bytes(32, "big")),
                     "y": b64url(en.y.to_bytes(32, "big"))})
        keys.append({"kty": "oct", "kid": kids[2], "k": b64url(self.hmac)})
        return json.dumps({"keys": keys})

    def token(self, alg="RS256", kid=None, user="alice", **claims):
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "email": user,
                "iat": now, "exp": now + 300}
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        key = {"RS256": self.rsa, "ES256": self.ec, "HS256": self.hmac}[alg]
        kid = kid or {"RS256": "rsa1", "ES256": "ec1", "HS256": "hmac1"}[alg]
        return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


def oauth_server(keys, keydir, managesieve=False):
    path = os.path.join(keydir, "jwks.json")
    with open(path, "w") as f:
        f.write(keys.jwks())
    srv = Server(managesieve=managesieve, extra_conf=(
        f"auth_oauth_jwks = {path}\nauth_oauth_issuer = {ISSUER}\n"
        f"auth_oauth_audience = {AUDIENCE}\n"
        f"auth_oauth_openid_configuration = {OPENID}\n"
        # many failures in a row from one address: no growing delays
        "auth_failure_delay_max = 0\n"))
    srv.jwks_path = path
    return srv


def bearer(token, authzid=""):
    gs2 = f"n,a={authzid}," if authzid else "n,,"
    msg = f"{gs2}\x01host=localhost\x01port=993\x01auth=Bearer {token}\x01\x01"
    return base64.b64encode(msg.encode()).decode()


def xoauth2(token, user):
    msg = f"user={user}\x01auth=Bearer {token}\x01\x01"
    return base64.b64encode(msg.encode()).decode()


def auth(c, mech, ir):
    """AUTHENTICATE with an initial response; answers a JSON error
    challenge the way each mechanism's client does.  Returns (tagged
    line, the decoded error challenge or None)."""
    tag = c.next_tag()
    c.line(f"{tag} AUTHENTICATE {mech} {ir}")
    line = c.readline()
    error = None
    if line.startswith("+ "):
        error = json.loads(base64.b64decode(line[2:]))
        # RFC 7628 section 3.2.3: a single %x01; XOAUTH2 clients answer
        # with an empty response
        c.line(base64.b64encode(b"\x01").decode() if mech == "OAUTHBEARER" else "")
        line = c.readline()
    expect(line.startswith(tag + " "), line)
    return line, error


def with_oauth(fn):
    def run():
        keys = Keys()
        keydir = tempfile.mkdtemp(prefix="roost-jwks-")
        try:
            srv = oauth_server(keys, keydir)
            try:
                fn(srv, keys)
                srv.check_log()
            finally:
                srv.cleanup()
        finally:
            shutil.rmtree(keydir, ignore_errors=True)
    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


def connect(srv):
    c = srv.connect(tls=True)
    c.greeting()
    return c


@with_oauth
def test_oauth_capability(srv, keys):
    c = connect(srv)
    u, _ = c.cmd("CAPABILITY")
    caps = " ".join(u)
    expect("AUTH=OAUTHBEARER" in caps and "AUTH=XOAUTH2" in caps, caps)


@with_oauth
def test_oauth_success(srv, keys):
    for alg in ("RS256", "ES256", "HS256"):
        c = connect(srv)
        line, err = auth(c, "OAUTHBEARER", bearer(keys.token(alg)))
        expect(" OK " in line and err is None, f"{alg}: {line} {err}")
        c.cmd("SELECT INBOX", ok=True)
        c.close()
        c = connect(srv)
        line, err = auth(c, "XOAUTH2", xoauth2(keys.token(alg), "alice"))
        expect(" OK " in line, f"{alg}: {line}")
        c.close()
    # authzid naming the token's user, in another case
    c = connect(srv)
    line, _ = auth(c, "OAUTHBEARER", bearer(keys.token(), authzid="Alice"))
    expect(" OK " in line, line)
    # no initial response: an empty challenge first
    c = connect(srv)
    c.line("n1 AUTHENTICATE OAUTHBEARER")
    expect(c.readline() in ("+ ", "+"))
    c.line(bearer(keys.token("ES256")))
    line = c.readline()
    expect(line.startswith("n1 OK"), line)
    log = srv.log_text()
    expect(keys.token("HS256").split(".")[2] not in log, "token in the log")


@with_oauth
def test_oauth_refused_tokens(srv, keys):
    now = int(time.time())
    pn = keys.rsa.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = b64url(json.dumps({"iss": ISSUER, "aud": AUDIENCE, "email": "alice",
                              "exp": now + 300}).encode())
    good = keys.token()
    h, p, s = good.split(".")
    cases = {
        "expired": keys.token(exp=now - 120),
        "expired just past the leeway": keys.token(exp=now - 31),
        "not yet valid": keys.token(nbf=now + 120),
        "issued in the future": keys.token(iat=now + 600),
        "no exp": keys.token(exp=None),
        "wrong issuer": keys.token(iss="https://evil.example"),
        "wrong audience": keys.token(aud="someone-else"),
        "wrong signature": f"{h}.{p}.{s[:-4]}{'AAAA' if s[-4:] != 'AAAA' else 'BBBB'}",
        "signed by another key": jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "email": "alice", "exp": now + 300},
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            algorithm="RS256", headers={"kid": "rsa1"}),
        "alg none": f"{header}.{body}.",
        "alg none with a signature": f"{header}.{body}.{s}",
        # RS256 with the HMAC key: the key confusion attack
        "RS256 header, HMAC key": keys.token("RS256", kid="hmac1"),
        "HS256 with the RSA public key as secret": forge_hs256(pn, now),
        "unknown kid": keys.token("ES256", kid="ec-old"),
        "no user claim": keys.token(email=None),
        "garbage": "not-a-token",
        "two parts": f"{h}.{p}",
        "five parts": f"{h}.{p}.{s}.{s}.{s}",
        "bad base64url": f"{h}.{p}~.{s}",
        "base64, not base64url": f"{h}.{p}.{s[:-2]}+/",
    }
    for what, token in cases.items():
        c = connect(srv)
        line, err = auth(c, "OAUTHBEARER", bearer(token))
        expect(" NO " in line and "AUTHENTICATIONFAILED" in line, f"{what}: {line}")
        expect(err == {"status": "invalid_token", "openid-configuration": OPENID},
               f"{what}: {err}")
        c.close()
    # XOAUTH2 the same way, for one case
    c = connect(srv)
    line, err = auth(c, "XOAUTH2", xoauth2(cases["expired"], "alice"))
    expect(" NO " in line and err["status"] == "invalid_token", line)


def forge_hs256(public_pem, now):
    """An HS256 token whose HMAC secret is the RSA public key (PEM) and
    whose kid names the RSA key; python-jwt refuses to sign with a PEM
    key, so it is built by hand."""
    import hashlib
    import hmac
    h = b64url(json.dumps({"alg": "HS256", "kid": "rsa1"}).encode())
    p = b64url(json.dumps({"iss": ISSUER, "aud": AUDIENCE, "email": "alice",
                           "exp": now + 300}).encode())
    sig = hmac.new(public_pem, f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64url(sig)}"


@with_oauth
def test_oauth_identity_rules(srv, keys):
    # the token is alice's; the message names demo
    c = connect(srv)
    line, err = auth(c, "OAUTHBEARER", bearer(keys.token(), authzid="demo"))
    expect(" NO " in line and err is not None, line)
    c = connect(srv)
    line, err = auth(c, "XOAUTH2", xoauth2(keys.token(), "demo"))
    expect(" NO " in line and err is not None, line)
    # a valid token for a user with no account
    c = connect(srv)
    line, err = auth(c, "OAUTHBEARER", bearer(keys.token(user="nobody")))
    expect(" NO " in line and err is not None, line)
    # something other than %x01 after the error
    c = connect(srv)
    c.line("e1 AUTHENTICATE OAUTHBEARER " + bearer(keys.token(exp=1)))
    expect(c.readline().startswith("+ "))
    c.line(base64.b64encode(b"again").decode())
    expect(c.readline().startswith("e1 NO "))


@with_oauth
def test_oauth_malformed(srv, keys):
    tok = keys.token()
    bad = [
        "", "\x01", "n,,", f"p=tls-unique,,\x01auth=Bearer {tok}\x01\x01",
        f"n,,\x01auth=Bearer {tok}\x01", f"n,,\x01auth=Basic {tok}\x01\x01",
        f"n,,auth=Bearer {tok}\x01\x01", "n,,\x01auth=Bearer \x01\x01",
        "n,,\x01" + "auth=Bearer " + "A" * 20000 + "\x01\x01",
    ]
    for msg in bad:
        c = connect(srv)
        ir = base64.b64encode(msg.encode()).decode() if msg else "="
        line, _ = auth(c, "OAUTHBEARER", ir)
        expect(" NO " in line or " BAD " in line, f"{msg[:40]!r}: {line}")
        c.close()


@with_oauth
def test_oauth_jwks_rotation(srv, keys):
    c = connect(srv)
    line, _ = auth(c, "OAUTHBEARER", bearer(keys.token("ES256")))
    expect(" OK " in line, line)
    # rotate: new keys under new kids; the old tokens stop working
    new = Keys()
    with open(srv.jwks_path + ".new", "w") as f:
        f.write(new.jwks(kids=("rsa2", "ec2", "hmac2")))
    os.rename(srv.jwks_path + ".new", srv.jwks_path)
    time.sleep(1.2)
    c = connect(srv)
    line, _ = auth(c, "OAUTHBEARER", bearer(keys.token("ES256")))
    expect(" NO " in line, f"old key still accepted: {line}")
    c = connect(srv)
    line, _ = auth(c, "OAUTHBEARER", bearer(new.token("ES256", kid="ec2")))
    expect(" OK " in line, line)
    # a broken file keeps the keys read before, and says so in the log
    with open(srv.jwks_path, "w") as f:
        f.write('{"keys": [')
    time.sleep(1.2)
    c = connect(srv)
    line, _ = auth(c, "OAUTHBEARER", bearer(new.token("RS256", kid="rsa2")))
    expect(" OK " in line, line)
    expect("keeping the keys read before" in srv.log_text())


def test_oauth_managesieve():
    """ManageSieve (service "sieve") offers and accepts OAUTHBEARER too;
    a refused token's JSON error comes as a challenge string."""
    from test_managesieve import Sieve, caps_dict
    keys = Keys()
    keydir = tempfile.mkdtemp(prefix="roost-jwks-")
    try:
        srv = oauth_server(keys, keydir, managesieve=True)
        try:
            c = Sieve(srv)
            caps = caps_dict(c.greeting())
            expect("OAUTHBEARER" in caps["SASL"].split(), caps)
            c.cmd(f'AUTHENTICATE "OAUTHBEARER" "{bearer(keys.token("ES256"))}"', ok=True)
            c.close()
            c = Sieve(srv)
            c.greeting()
            c.line(f'AUTHENTICATE "OAUTHBEARER" "{bearer(keys.token(exp=1))}"')
            challenge = c.read_response_line()
            err = json.loads(base64.b64decode(challenge.strip('"')))
            expect(err["status"] == "invalid_token", err)
            c.line('"AQ=="')
            _, final = c.response()
            expect(final.startswith("NO"), final)
            srv.check_log()
        finally:
            srv.cleanup()
    finally:
        shutil.rmtree(keydir, ignore_errors=True)
