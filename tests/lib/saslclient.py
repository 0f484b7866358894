"""saslclient: SASL clients for the tests, written from the RFCs with
hashlib/hmac only (SCRAM: RFC 5802 / RFC 7677, CRAM-MD5: RFC 2195), and a
small IMAP AUTHENTICATE driver over a TLS connection made with pyOpenSSL,
which (unlike Python's ssl module) can export keying material for the RFC
9266 tls-exporter channel binding.

Run as a script it logs in once and prints what happened, as JSON:

    saslclient.py PORT MECH USER PASSWORD [--implicit] [--cb TYPE]
                  [--flag n|y|p] [--corrupt-cb] [--authzid A]
                  [--cert FILE --key FILE]

The protocol tests call it with an interpreter that has pyOpenSSL (the
Debian package python3-openssl), see scram_tls_login() in
test_sasl_scram.py."""
import base64
import hashlib
import hmac
import json
import os
import socket
import sys


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def saslname(name):
    return name.replace("=", "=3D").replace(",", "=2C")


class Scram:
    """One SCRAM client exchange.  flag is the gs2 cbind flag: "n", "y"
    or "p" (then cb_name and cb_data are the binding)."""

    def __init__(self, mech, user, password, nonce=None, flag="n",
                 cb_name=None, cb_data=b"", authzid=""):
        self.hash = hashlib.sha1 if mech.upper().startswith("SCRAM-SHA-1") \
            else hashlib.sha256
        self.user, self.password = user, password
        self.nonce = nonce or b64(os.urandom(18))
        if flag == "p":
            self.gs2 = f"p={cb_name},"
        else:
            self.gs2 = flag + ","
        self.gs2 += (f"a={saslname(authzid)}" if authzid else "") + ","
        self.cb_data = cb_data
        self.bare = f"n={saslname(user)},r={self.nonce}"
        self.server_signature = None

    def first(self):
        return self.gs2 + self.bare

    def final(self, server_first, cb_header=None, nonce=None):
        """The client-final for server_first; cb_header replaces the gs2
        header + binding data sent in c=, nonce replaces the echoed one."""
        attrs = dict(a.split("=", 1) for a in server_first.split(","))
        salt = base64.b64decode(attrs["s"])
        iterations = int(attrs["i"])
        if not attrs["r"].startswith(self.nonce):
            raise ValueError("server nonce does not extend ours")
        salted = hashlib.pbkdf2_hmac(self.hash().name, self.password.encode(),
                                     salt, iterations)
        client_key = hmac.new(salted, b"Client Key", self.hash).digest()
        stored_key = self.hash(client_key).digest()
        cbind = cb_header if cb_header is not None else \
            self.gs2.encode() + self.cb_data
        without_proof = f"c={b64(cbind)},r={nonce or attrs['r']}"
        auth_message = f"{self.bare},{server_first},{without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, self.hash).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = hmac.new(salted, b"Server Key", self.hash).digest()
        self.server_signature = hmac.new(server_key, auth_message,
                                         self.hash).digest()
        return f"{without_proof},p={b64(proof)}"

    def check_server_final(self, server_final):
        return server_final == "v=" + b64(self.server_signature)


def cram_md5(user, password, challenge):
    digest = hmac.new(password.encode(), challenge, hashlib.md5).hexdigest()
    return f"{user} {digest}"


# ---- IMAP over pyOpenSSL (script use) ----

class TlsLines:
    def __init__(self, port, implicit, cert=None, key=None):
        from OpenSSL import SSL
        self.SSL = SSL
        self.sock = socket.create_connection(("127.0.0.1", port), 10)
        # pyOpenSSL wants a blocking socket (the caller's timeout bounds us)
        self.sock.settimeout(None)
        self.buf = b""
        self.conn = None
        if not implicit:
            self.readline()                     # greeting
            self.send(b"s1 STARTTLS\r\n")
            while not self.readline().startswith(b"s1 "):
                pass
        ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
        if cert:
            ctx.use_certificate_file(cert)
            ctx.use_privatekey_file(key)
        self.conn = SSL.Connection(ctx, self.sock)
        self.conn.set_tlsext_host_name(b"localhost")
        self.conn.set_connect_state()
        self.conn.do_handshake()
        if implicit:
            self.readline()                     # greeting

    def send(self, data):
        (self.conn or self.sock).sendall(data)

    def readline(self):
        while b"\r\n" not in self.buf:
            try:
                data = (self.conn or self.sock).recv(65536)
            except Exception as e:              # pyOpenSSL's errors
                if self.conn is not None and \
                        isinstance(e, self.SSL.WantReadError):
                    continue
                raise
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exporter(self):
        return self.conn.export_keying_material(
            b"EXPORTER-Channel-Binding", 32, None)

    def end_point(self):
        """RFC 5929 section 4.1: the server certificate's hash with its
        signature's hash, SHA-256 for MD5 and SHA-1."""
        from cryptography.hazmat.primitives import hashes
        cert = self.conn.get_peer_certificate().to_cryptography()
        algo = cert.signature_hash_algorithm
        if algo is None or algo.name in ("md5", "sha1"):
            algo = hashes.SHA256()
        return cert.fingerprint(algo)

    def version(self):
        return self.conn.get_protocol_version_name()


def main(argv):
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("mech")
    p.add_argument("user")
    p.add_argument("password")
    p.add_argument("--implicit", action="store_true")
    p.add_argument("--cb")
    p.add_argument("--flag")
    p.add_argument("--corrupt-cb", action="store_true")
    p.add_argument("--authzid", default="")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--capability", action="store_true")
    a = p.parse_args(argv)
    t = TlsLines(a.port, a.implicit, a.cert, a.key)
    result = {"tls": t.version()}
    if a.capability:
        t.send(b"c1 CAPABILITY\r\n")
        caps = []
        while True:
            line = t.readline().decode()
            if line.startswith("* CAPABILITY"):
                caps = line.split()[2:]
            if line.startswith("c1 "):
                break
        result["capability"] = caps
    if a.mech.upper() == "EXTERNAL":
        t.send(f"a1 AUTHENTICATE EXTERNAL {b64(a.authzid) if a.authzid else '='}"
               "\r\n".encode())
        line = t.readline().decode()
        result["tagged"] = line
        print(json.dumps(result))
        return 0
    cb_data = b""
    if a.cb == "tls-exporter":
        cb_data = t.exporter()
    elif a.cb == "tls-server-end-point":
        cb_data = t.end_point()
    if a.corrupt_cb and cb_data:
        cb_data = bytes([cb_data[0] ^ 1]) + cb_data[1:]
    flag = a.flag or ("p" if a.cb else "n")
    s = Scram(a.mech, a.user, a.password, flag=flag, cb_name=a.cb,
              cb_data=cb_data, authzid=a.authzid)
    t.send(f"a1 AUTHENTICATE {a.mech} {b64(s.first())}\r\n".encode())
    line = t.readline().decode()
    if line.startswith("+ "):
        server_first = base64.b64decode(line[2:]).decode()
        t.send((b64(s.final(server_first)) + "\r\n").encode())
        line = t.readline().decode()
        if line.startswith("+ "):
            result["server_final_ok"] = s.check_server_final(
                base64.b64decode(line[2:]).decode())
            t.send(b"\r\n")
            line = t.readline().decode()
    result["tagged"] = line
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
