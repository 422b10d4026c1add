#!/usr/bin/env python3
"""Computes jws.json: known-answer vectors for the JWS presets (Netlify), written
independently of countersign from the provider's documented algorithm with Python's
hmac/hashlib/base64/json only. Run from this directory:  python3 gen_jws.py

Netlify (https://docs.netlify.com/site-deploys/notifications/#payload-signature): the
`X-Webhook-Signature` header is a JWS signed with the JWS secret token (HS256); its payload
claims `iss: "netlify"` and `sha256`, the hex SHA-256 of the request body.

`valid` has the catalogue shape (id, provider, preset, official, source, how, secret, body,
headers, event_type, event_id), read by tests/catalogue.rs with the other catalogue files,
which derives the usual negatives. `negatives` are hostile tokens the derivation cannot
produce (alg none, alg swapped, wrong issuer, missing claim, crit, padding, oversized...):
each states the error kind `expect`ed, read by tests/jws.rs. Deterministic: re-running
leaves git clean.
"""
import base64
import hashlib
import hmac
import json

SECRET = "countersign netlify jws secret"
BODY = json.dumps({"id": "5ebc34bf4fea0b01f02efa3a", "site_id": "fa4dd95a-994e-4f89-8a7a-2d9e9fc36a32",
                   "state": "ready", "name": "countersign-example", "branch": "main",
                   "context": "production"}, separators=(",", ":"))
SOURCE = "https://docs.netlify.com/site-deploys/notifications/#payload-signature"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def seg(obj):
    text = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"))
    return b64u(text.encode())


def token(header, payload, key=SECRET, alg=hashlib.sha256, sig=None):
    signing_input = f"{seg(header)}.{seg(payload)}"
    if sig is None:
        sig = b64u(hmac.new(key.encode(), signing_input.encode(), alg).digest())
    return f"{signing_input}.{sig}"


def sha(body):
    return hashlib.sha256(body.encode()).hexdigest()


HS256 = {"alg": "HS256", "typ": "JWT"}
CLAIMS = {"iss": "netlify", "sha256": sha(BODY)}

valid = [{
    "id": "netlify-computed", "provider": "netlify", "preset": "netlify", "official": False,
    "source": SOURCE,
    "how": "JWS HS256(secret, b64url(header).b64url({iss: netlify, sha256: hex SHA-256(body)}))",
    "secret": SECRET, "body": BODY,
    "headers": {"x-webhook-signature": token(HS256, CLAIMS)},
    "event_type": None, "event_id": None, "wrong_secret": SECRET + "!",
}]

negatives = []


def neg(name, tok, expect, body=BODY, secret=SECRET):
    negatives.append({"id": f"netlify-{name}", "preset": "netlify", "secret": secret, "body": body,
                      "headers": {"x-webhook-signature": tok}, "expect": expect})


# The signature is fine (or absent) but the header names another algorithm.
neg("alg-none", f"{seg({'alg': 'none', 'typ': 'JWT'})}.{seg(CLAIMS)}.", "malformed_header")
neg("alg-none-signed", token({"alg": "none"}, CLAIMS), "malformed_header")
neg("alg-rs256-hmac-key", token({"alg": "RS256", "typ": "JWT"}, CLAIMS), "malformed_header")
neg("alg-hs512", token({"alg": "HS512", "typ": "JWT"}, CLAIMS, alg=hashlib.sha512), "malformed_header")
neg("alg-lowercase", token({"alg": "hs256"}, CLAIMS), "malformed_header")
neg("alg-missing", token({"typ": "JWT"}, CLAIMS), "malformed_header")
neg("crit", token({"alg": "HS256", "crit": ["b64"], "b64": False}, CLAIMS), "malformed_header")
# Authentic signatures over claims that do not fit.
neg("wrong-iss", token(HS256, {"iss": "netlify.evil", "sha256": sha(BODY)}), "malformed_header")
neg("no-iss", token(HS256, {"sha256": sha(BODY)}), "malformed_header")
neg("no-sha256", token(HS256, {"iss": "netlify"}), "malformed_header")
neg("sha256-of-other-body", token(HS256, {"iss": "netlify", "sha256": sha("{}")}), "signature_mismatch")
neg("sha256-uppercase", token(HS256, {"iss": "netlify", "sha256": sha(BODY).upper()}), "signature_mismatch")
neg("payload-not-object", token(HS256, '"netlify"'), "malformed_header")
neg("expired", token(HS256, dict(CLAIMS, exp=1)), "timestamp_too_old")
# Forgeries and shapes.
neg("tampered-body", token(HS256, CLAIMS), "signature_mismatch", body=BODY.replace("ready", "error"))
neg("wrong-key", token(HS256, CLAIMS, key="another secret"), "signature_mismatch")
neg("signature-padded", token(HS256, CLAIMS) + "=", "signature_mismatch")
neg("two-segments", f"{seg(HS256)}.{seg(CLAIMS)}", "malformed_header")
neg("four-segments", token(HS256, CLAIMS) + ".e30", "malformed_header")
neg("oversized", f"{seg(HS256)}.{'A' * 5000}.{b64u(b'x' * 32)}", "malformed_header")
neg("header-not-base64url", "eyJhbGciOiJIUzI1NiJ9+." + token(HS256, CLAIMS).split(".", 1)[1], "malformed_header")

with open("jws.json", "w") as f:
    json.dump({"valid": valid, "negatives": negatives}, f, indent=1, ensure_ascii=False)
    f.write("\n")
