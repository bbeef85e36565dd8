"""A real OpenLDAP ``slapd`` (Debian package) on loopback, filled like a county's Active Directory:
organisational units, users with passwords, groups (groupOfNames) and the memberOf overlay."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SUFFIX = "dc=landkreis,dc=example"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PW = "admin-secret-4711"

CONFIG = """\
{tls}
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile {dir}/slapd.pid
database mdb
maxsize 10485760
suffix "{suffix}"
rootdn "{admin}"
rootpw {password}
directory {dir}/data
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint true
access to attrs=userPassword by anonymous auth by self write by * none
access to * by * read
"""


@dataclass
class Slapd:
    url: str
    process: subprocess.Popen[bytes]
    directory: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def available() -> bool:
    return Path(SLAPD).exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_certificate(directory: Path, host: str = "localhost") -> tuple[Path, Path]:
    """A self-signed server certificate for ``host`` (and 127.0.0.1): the county's own CA, in small."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "server.crt", directory / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def start(directory: Path, tls: tuple[Path, Path] | None = None) -> Slapd:
    (directory / "data").mkdir(parents=True, exist_ok=True)
    conf = directory / "slapd.conf"
    tls_lines = f"TLSCertificateFile {tls[0]}\nTLSCertificateKeyFile {tls[1]}" if tls else ""
    conf.write_text(CONFIG.format(dir=directory, suffix=SUFFIX, admin=ADMIN_DN, password=ADMIN_PW, tls=tls_lines))
    port = _free_port()
    url = f"ldap://127.0.0.1:{port}"
    proc = subprocess.Popen([SLAPD, "-f", str(conf), "-h", url + "/", "-d", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"slapd exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return Slapd(url, proc, directory)
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("slapd did not start")


def populate(url: str, users: dict[str, tuple[str, str]], groups: dict[str, list[str]]) -> None:
    """users: uid → (display name, password); groups: cn → member uids."""
    import ldap3

    server = ldap3.Server(url)
    with ldap3.Connection(server, ADMIN_DN, ADMIN_PW, auto_bind=True) as conn:
        conn.add(SUFFIX, ["dcObject", "organization"], {"o": "Landkreis Beispiel", "dc": "landkreis"})
        for ou in ("people", "groups"):
            conn.add(f"ou={ou},{SUFFIX}", ["organizationalUnit"], {"ou": ou})
        for uid, (name, password) in users.items():
            given, _, family = name.partition(" ")
            conn.add(f"uid={uid},ou=people,{SUFFIX}", ["inetOrgPerson"],
                     {"uid": uid, "cn": name, "sn": family or name, "givenName": given, "displayName": name,
                      "mail": f"{uid}@landkreis.example", "userPassword": password})
            assert conn.result["result"] == 0, conn.result
        for cn, members in groups.items():
            conn.add(f"cn={cn},ou=groups,{SUFFIX}", ["groupOfNames"],
                     {"cn": cn, "member": [f"uid={m},ou=people,{SUFFIX}" for m in members]})
            assert conn.result["result"] == 0, conn.result
