#!/usr/bin/env python3
"""Generates own.json: countersign's own known-answer vectors for Stripe, Shopify and
GitHub's legacy SHA-1 signature.

The signatures are computed here, independently of the Rust code, with nothing but the
Python standard library (hmac, hashlib, base64), following each provider's documentation:

- Stripe (https://docs.stripe.com/webhooks#verify-manually): `Stripe-Signature:
  t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`; the key is the whole `whsec_...`
  string as bytes; only `v1` entries count (a `v0` entry is a test-mode signature).
- Shopify (https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook):
  `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(secret, body)>`.
- GitHub legacy (https://docs.github.com/en/webhooks/webhook-events-and-payloads#delivery-headers):
  `X-Hub-Signature: sha1=<hex HMAC-SHA1(secret, body)>`.

Run from anywhere: `python3 gen_own_vectors.py` rewrites own.json next to this file. The
output is deterministic (no clock, no randomness), so re-running it must leave git clean.

Each vector: `id`, `provider` (preset name), `secrets` (every secret the verifier is built
with, in order), `body` (UTF-8 text) or `body_hex` (arbitrary bytes), `headers`, optional
`now` (unix seconds for the clock), and the expected outcome: `expect` is `"valid"` or an
error kind of the `countersign verify` contract; valid vectors also give `event_id` and
`timestamp` as `Verified` must report them.
"""

import base64
import hashlib
import hmac
import json
import os


def hmac_hex(key: str, msg: bytes, digest) -> str:
    return hmac.new(key.encode(), msg, digest).hexdigest()


def hmac_b64(key: str, msg: bytes, digest) -> str:
    return base64.b64encode(hmac.new(key.encode(), msg, digest).digest()).decode()


def stripe_vectors():
    t = 1700000000
    secret_a = "whsec_countersign_stripe_secret_A_2f9c1e"
    secret_b = "whsec_countersign_stripe_rotated_B_7d04aa"
    secret_c = "whsec_countersign_stripe_unrelated_C_0b3e55"
    body = (
        '{"id":"evt_1PcSgnCountersign01","object":"event","type":"invoice.paid",'
        '"data":{"object":{"id":"in_1PcSgn","amount_paid":4200}}}'
    )
    signed = f"{t}.".encode() + body.encode()
    sig_a = hmac_hex(secret_a, signed, hashlib.sha256)
    sig_b = hmac_hex(secret_b, signed, hashlib.sha256)
    # The decoy carries a *valid* HMAC under secret A, but as `v0`: if v0 were accepted,
    # the v0-only vector below would verify.
    decoy = sig_a
    two_v1 = f"t={t},v1={sig_a},v1={sig_b},v0={decoy}"
    base = {"provider": "stripe", "body": body, "now": t}
    ok = {"expect": "valid", "event_id": "evt_1PcSgnCountersign01", "timestamp": t}

    def v(id_, secrets, header, outcome):
        return {"id": id_, **base, "secrets": secrets,
                "headers": {"Stripe-Signature": header}, **outcome}

    return [
        v("stripe-two-v1-secret-a", [secret_a], two_v1, ok),
        v("stripe-two-v1-secret-b", [secret_b], two_v1, ok),
        v("stripe-two-v1-rotation-second-secret", [secret_c, secret_b], two_v1, ok),
        v("stripe-two-v1-unrelated-secret", [secret_c], two_v1,
          {"expect": "signature_mismatch"}),
        v("stripe-entries-in-any-order", [secret_a],
          f"v0={decoy},v1={sig_b},t={t},v1={sig_a}", ok),
        v("stripe-v0-only", [secret_a], f"t={t},v0={decoy}",
          {"expect": "no_supported_signature"}),
        v("stripe-v1-truncated-half", [secret_a], f"t={t},v1={sig_a[:32]}",
          {"expect": "signature_mismatch"}),
        v("stripe-v1-truncated-one-char", [secret_a], f"t={t},v1={sig_a[:-1]}",
          {"expect": "signature_mismatch"}),
        v("stripe-v1-empty", [secret_a], f"t={t},v1=", {"expect": "signature_mismatch"}),
        v("stripe-no-timestamp", [secret_a], f"v1={sig_a}", {"expect": "malformed_header"}),
        v("stripe-two-timestamps", [secret_a], f"t={t},t={t},v1={sig_a}",
          {"expect": "malformed_header"}),
        # The signature covers the timestamp: the same v1 under another t fails.
        v("stripe-timestamp-not-the-signed-one", [secret_a],
          f"t={t + 1},v1={sig_a}", {"expect": "signature_mismatch"}),
    ]


def shopify_vectors():
    secret = "shpss_countersign_shopify_app_secret_51c0"
    body = '{"id":820982911946154508,"email":"jon@example.com","total_price":"254.98"}'
    sig = hmac_b64(secret, body.encode(), hashlib.sha256)
    base = {"provider": "shopify", "secrets": [secret], "body": body}
    event_id = "b1bd87f7-1f5e-4d5c-9fd3-3c9c2f1c9a10"
    webhook_id = "7d1c8f3e-5a56-4b0e-9f39-0d1b5cd0e5b2"
    return [
        {"id": "shopify-event-id", **base,
         "headers": {"X-Shopify-Hmac-Sha256": sig, "X-Shopify-Event-Id": event_id,
                     "X-Shopify-Webhook-Id": webhook_id, "X-Shopify-Topic": "orders/create"},
         "expect": "valid", "event_id": event_id, "timestamp": None},
        {"id": "shopify-webhook-id-fallback", **base,
         "headers": {"X-Shopify-Hmac-Sha256": sig, "X-Shopify-Webhook-Id": webhook_id},
         "expect": "valid", "event_id": webhook_id, "timestamp": None},
        {"id": "shopify-no-id", **base, "headers": {"X-Shopify-Hmac-Sha256": sig},
         "expect": "valid", "event_id": None, "timestamp": None},
        {"id": "shopify-hex-instead-of-base64", **base,
         "headers": {"X-Shopify-Hmac-Sha256":
                     hmac_hex(secret, body.encode(), hashlib.sha256)},
         "expect": "signature_mismatch"},
    ]


def github_sha1_vectors():
    secret = "It's a Secret to Everybody"
    delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    text = "Hello, World!"
    binary = bytes([0xFF, 0xFE, 0x00, 0x80]) + b"not utf-8 \xc3\x28"
    sig_text = hmac_hex(secret, text.encode(), hashlib.sha1)
    sig_bin = hmac_hex(secret, binary, hashlib.sha1)
    sig256 = hmac_hex(secret, text.encode(), hashlib.sha256)
    base = {"provider": "github-sha1", "secrets": [secret]}
    return [
        {"id": "github-sha1-hello", **base, "body": text,
         "headers": {"X-Hub-Signature": f"sha1={sig_text}", "X-GitHub-Delivery": delivery},
         "expect": "valid", "event_id": delivery, "timestamp": None},
        {"id": "github-sha1-binary-body", **base, "body_hex": binary.hex(),
         "headers": {"X-Hub-Signature": f"sha1={sig_bin}"},
         "expect": "valid", "event_id": None, "timestamp": None},
        {"id": "github-sha1-uppercase-hex", **base, "body": text,
         "headers": {"X-Hub-Signature": f"sha1={sig_text.upper()}"},
         "expect": "valid", "event_id": None, "timestamp": None},
        {"id": "github-sha1-wrong-prefix", **base, "body": text,
         "headers": {"X-Hub-Signature": f"sha256={sig_text}"},
         "expect": "no_supported_signature"},
        # A SHA-256 value in the SHA-1 header has the wrong length: rejected, not truncated.
        {"id": "github-sha1-sha256-length", **base, "body": text,
         "headers": {"X-Hub-Signature": f"sha1={sig256}"},
         "expect": "signature_mismatch"},
    ]


def main():
    doc = {
        "about": "Generated by gen_own_vectors.py (Python hmac/hashlib/base64, independent of "
                 "the Rust code). Do not edit by hand: change the script and re-run it.",
        "vectors": stripe_vectors() + shopify_vectors() + github_sha1_vectors(),
    }
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "own.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=True)
        f.write("\n")


if __name__ == "__main__":
    main()
