#!/usr/bin/env python3
"""Generates the test PKI of tests/https_keys.rs (run from this directory:
python3 gen_test_ca.py). Test-only keys, valid until 2126, never trusted outside the tests:

- ca.pem                      the test CA the key source is told to trust
- localhost.pem / .key        a server certificate for `localhost` and 127.0.0.1, by the CA
- evil.pem / evil.key         a certificate for `evil.test`, by the same CA (wrong name)
- rogue-ca.pem, rogue.pem/.key  another CA and its `localhost` certificate (untrusted)

Uses the `cryptography` package (ECDSA P-256). Not deterministic (fresh keys each run);
the committed files are what the tests use.
"""
import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

START = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
END = datetime.datetime(2126, 1, 1, tzinfo=datetime.timezone.utc)


def key():
    return ec.generate_private_key(ec.SECP256R1())


def write_key(path, k):
    with open(path, "wb") as f:
        f.write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))


def write_cert(path, c):
    with open(path, "wb") as f:
        f.write(c.public_bytes(serialization.Encoding.PEM))


def ca(name):
    k = key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    c = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
         .public_key(k.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(START).not_valid_after(END)
         .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                      content_commitment=False, key_encipherment=False,
                                      data_encipherment=False, key_agreement=False,
                                      encipher_only=False, decipher_only=False), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(k.public_key()), critical=False)
         .sign(k, hashes.SHA256()))
    return k, c


def leaf(ca_key, ca_cert, dns, ips=()):
    k = key()
    sans = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    c = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns[0])]))
         .issuer_name(ca_cert.subject).public_key(k.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(START).not_valid_after(END)
         .add_extension(x509.SubjectAlternativeName(sans), critical=False)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                        critical=False)
         .sign(ca_key, hashes.SHA256()))
    return k, c


ca_key, ca_cert = ca("countersign test CA")
write_cert("ca.pem", ca_cert)
k, c = leaf(ca_key, ca_cert, ["localhost"], ["127.0.0.1"])
write_key("localhost.key", k)
write_cert("localhost.pem", c)
k, c = leaf(ca_key, ca_cert, ["evil.test"])
write_key("evil.key", k)
write_cert("evil.pem", c)
rogue_key, rogue_cert = ca("rogue CA")
write_cert("rogue-ca.pem", rogue_cert)
k, c = leaf(rogue_key, rogue_cert, ["localhost"], ["127.0.0.1"])
write_key("rogue.key", k)
write_cert("rogue.pem", c)
