#!/usr/bin/env python3
"""Generates the AWS SNS test material of tests/sns.rs, independently of countersign, from
the documented algorithm (https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html):
the string to sign is `Name\\nvalue\\n` for each of Message, MessageId, Subject (if present),
Timestamp, TopicArn, Type (Notification) or Message, MessageId, SubscribeURL, Timestamp,
Token, TopicArn, Type (SubscriptionConfirmation, UnsubscribeConfirmation); `Signature` is
the base64 RSA PKCS#1 v1.5 signature with SHA1 (SignatureVersion 1) or SHA256 (2).

Writes signing.pem (the certificate SigningCertURL points at; RSA 2048, self-signed: SNS
trust comes from fetching it over HTTPS from a pinned host) and messages.json: valid
messages whose `SigningCertURL`/`SubscribeURL` contain `{BASE}`, which the test replaces
with its HTTPS server (neither is signed for Notifications, which is why the host pin
matters; the confirmation's SubscribeURL is signed, so it stays as generated). Test-only key, not deterministic (RSA keys are fresh each run).
"""
import base64
import datetime
import json

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.test-region.amazonaws.com")])
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc))
        .not_valid_after(datetime.datetime(2126, 1, 1, tzinfo=datetime.timezone.utc))
        .sign(key, hashes.SHA256()))
with open("signing.pem", "wb") as f:
    f.write(cert.public_bytes(serialization.Encoding.PEM))
# The test signs SubscriptionConfirmations for its own server's SubscribeURL (which is
# signed) at run time with this test-only key.
with open("signing.key", "wb") as f:
    f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))

NOTIFICATION = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
CONFIRMATION = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
TOPIC = "arn:aws:sns:us-west-2:123456789012:MyTopic"


def sign(msg, version):
    fields = NOTIFICATION if msg["Type"] == "Notification" else CONFIRMATION
    text = "".join(f"{k}\n{msg[k]}\n" for k in fields if k in msg)
    alg = hashes.SHA1() if version == "1" else hashes.SHA256()
    sig = key.sign(text.encode(), padding.PKCS1v15(), alg)
    out = dict(msg)
    out["SignatureVersion"] = version
    out["Signature"] = base64.b64encode(sig).decode()
    out["SigningCertURL"] = "{BASE}/SimpleNotificationService-test.pem"
    return out


messages = []
base = {"Type": "Notification", "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC, "Subject": "My First Message",
        "Message": "Hello world!\nwith a newline, \"quotes\" and unicode: é",
        "Timestamp": "2012-05-02T00:54:06.655Z",
        "UnsubscribeURL": "{BASE}/?Action=Unsubscribe"}
messages.append({"id": "notification-v1", "message": sign(base, "1")})
messages.append({"id": "notification-v2", "message": sign(base, "2")})
no_subject = {k: v for k, v in base.items() if k != "Subject"}
no_subject["MessageId"] = "c2a8e0f5-7f51-4b51-8e7a-7c5d1c0d3a11"
messages.append({"id": "notification-no-subject-v2", "message": sign(no_subject, "2")})
confirmation = {"Type": "SubscriptionConfirmation", "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
                "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736",
                "TopicArn": TOPIC,
                "Message": "You have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
                "SubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37",
                "Timestamp": "2012-04-26T20:45:04.751Z"}
messages.append({"id": "subscription-confirmation-v2", "message": sign(confirmation, "2")})
with open("messages.json", "w") as f:
    json.dump(messages, f, indent=1, ensure_ascii=False)
    f.write("\n")
