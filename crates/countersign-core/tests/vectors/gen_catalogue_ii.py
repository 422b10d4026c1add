#!/usr/bin/env python3
"""Computes catalogue_ii.json: known-answer vectors for the Catalogue II presets, written
independently of countersign from each provider's documented algorithm, with Python's
hmac/hashlib/base64 and, for Telnyx's Ed25519, the `cryptography` package. Run from this
directory:  python3 gen_catalogue_ii.py

Same shape as catalogue.json (id, provider, preset, source, how, secret, body, headers, now,
url, form, event_id, wrong_secret) plus `event_type`: what `Verified::event_type` must
report for the delivery (null: none). None of these providers publishes a signed example
with its secret, so every vector is computed ("official": false) except one: Mux's official
SDK documents an example (secret, body, timestamp, header), kept as published
("official": true); `source` is the documentation the algorithm was taken from. Every vector is a valid delivery; the Rust test
derives the negatives (tampered body, wrong key, stale and future timestamp, unknown
version). Deterministic: fixed bodies, keys and clock, so re-running leaves git clean.
"""
import base64
import hashlib
import hmac
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

NOW = 1700000000
out = []


def mac(alg, key, msg):
    key = key if isinstance(key, bytes) else key.encode()
    msg = msg if isinstance(msg, bytes) else msg.encode()
    return hmac.new(key, msg, alg).digest()


def hx(b):
    return b.hex()


def b64(b):
    return base64.b64encode(b).decode()


def add(preset, source, how, secret, body, headers, event_type, event_id=None, **extra):
    v = {"id": f"{preset}-computed", "provider": preset, "preset": preset, "official": False,
         "source": source, "how": how, "secret": secret, "body": body, "headers": headers,
         "event_type": event_type, "event_id": event_id}
    v.update(extra)
    out.append(v)


def compact(obj):
    return json.dumps(obj, separators=(",", ":"))


# --- Standard Webhooks / Svix senders: base64 HMAC-SHA256(base64-decoded whsec_ key, id.ts.body)
def standard(preset, prefix, source, body, event_type, msg_id):
    secret = "whsec_" + b64(hashlib.sha256(f"countersign {preset} key".encode()).digest())
    key = base64.b64decode(secret[len("whsec_"):])
    sig = b64(mac(hashlib.sha256, key, f"{msg_id}.{NOW}.{body}"))
    add(preset, source, "base64 HMAC-SHA256(base64-decoded whsec_ key, id.timestamp.body)", secret, body,
        {f"{prefix}-id": msg_id, f"{prefix}-timestamp": str(NOW), f"{prefix}-signature": f"v1,{sig}"},
        event_type, msg_id, now=NOW)


standard("clerk", "svix", "https://clerk.com/docs/webhooks/sync-data",
         compact({"data": {"id": "user_29w83sxmDNGwOuEthce5gg56FcC", "object": "user"}, "object": "event",
                  "type": "user.created", "timestamp": 1654012591835}), "user.created", "msg_2Qlg9xSRoDmsRgAHBePsm3pQY6i")
standard("resend", "svix", "https://resend.com/docs/dashboard/webhooks/verify-webhooks-requests",
         compact({"type": "email.delivered", "created_at": "2024-02-22T23:41:12.126Z",
                  "data": {"email_id": "56761188-7520-42d8-8898-ff6fc54ce618", "to": ["delivered@resend.dev"]}}),
         "email.delivered", "msg_p5jXN8AQM9LWM0D4loKWxJek")
standard("openai", "webhook", "https://platform.openai.com/docs/guides/webhooks",
         compact({"id": "evt_685343a1381c819085d44c354e1b330e", "object": "event", "created_at": 1750287018,
                  "type": "response.completed", "data": {"id": "resp_abc123"}}), "response.completed", "wh_685342e6c53c8190a1be43f081506c52")
standard("replicate", "webhook", "https://replicate.com/docs/topics/webhooks/verify-webhook",
         compact({"id": "ufawqhfynnddngldkgtslldrkq", "status": "succeeded", "output": ["https://example.com/out.png"]}),
         None, "msg_2DaiT3jXdYAzPNsgvr7jbrOoJvH")


# Brex: the same headers, but its secrets are plain base64 (no whsec_ prefix).
text = compact({"event_type": "TRANSFER_PROCESSED", "transfer_id": "dptx_cl1pb6b0y00020mqoy9t2r3tq"})
brex_secret = b64(hashlib.sha256(b"countersign brex key").digest())
sig = b64(mac(hashlib.sha256, base64.b64decode(brex_secret), f"msg_brex_1.{NOW}.{text}"))
add("brex", "https://developer.brex.com/docs/webhooks", "base64 HMAC-SHA256(base64-decoded secret, id.timestamp.body)", brex_secret, text,
    {"Webhook-Id": "msg_brex_1", "Webhook-Timestamp": str(NOW), "Webhook-Signature": f"v1,{sig}"},
    "TRANSFER_PROCESSED", "msg_brex_1", now=NOW)


# --- Body-only HMACs --------------------------------------------------------------------------
def body(preset, source, header, alg, enc, prefix, secret, text, event_type, event_id=None, extra=None, key=None):
    d = mac(alg, key if key is not None else secret, text)
    headers = {header: prefix + (hx(d) if enc == "hex" else b64(d))}
    headers.update(extra or {})
    add(preset, source, f"{enc} HMAC-{alg().name.upper()}(secret, body)" + (" with the decoded key" if key is not None else ""),
        secret, text, headers, event_type, event_id)


S = hashlib.sha256
body("lemon-squeezy", "https://docs.lemonsqueezy.com/help/webhooks/signing-requests", "X-Signature", S, "hex", "", "ls-signing-secret",
     compact({"meta": {"event_name": "order_created", "custom_data": {"customer_id": 25}},
              "data": {"type": "orders", "id": "1", "attributes": {"status": "paid"}}}),
     "order_created", extra={"X-Event-Name": "order_created"})
body("paystack", "https://paystack.com/docs/payments/webhooks/#verify-event-origin", "x-paystack-signature", hashlib.sha512, "hex", "",
     "sk_test_countersign", compact({"event": "charge.success", "data": {"id": 302961, "status": "success", "reference": "qTPrJoy9Bx"}}),
     "charge.success")
body("razorpay", "https://razorpay.com/docs/webhooks/validate-test/", "X-Razorpay-Signature", S, "hex", "", "rzp-webhook-secret",
     compact({"entity": "event", "account_id": "acc_BFQ7uQEaa7j2z7", "event": "payment.captured",
              "contains": ["payment"], "payload": {"payment": {"entity": {"id": "pay_DESlfW9H8K9uqM"}}}, "created_at": 1567674606}),
     "payment.captured", "Ev_9b2f", extra={"x-razorpay-event-id": "Ev_9b2f"})
body("checkout-com", "https://www.checkout.com/docs/developer-resources/webhooks/manage-webhooks", "Cko-Signature", S, "hex", "",
     "cko-webhook-secret-key", compact({"id": "evt_az5sblvku4ge3dwpztvyizgcau", "type": "payment_approved", "version": "1.0.0",
                                        "created_on": "2023-11-14T22:13:20Z", "data": {"id": "pay_mbabizu24mvu3mela5njyhpit4"}}),
     "payment_approved", "evt_az5sblvku4ge3dwpztvyizgcau")
body("cal-com", "https://cal.com/docs/developing/guides/automation/webhooks", "X-Cal-Signature-256", S, "hex", "", "cal-secret",
     compact({"triggerEvent": "BOOKING_CREATED", "createdAt": "2023-05-24T09:30:00.538Z", "payload": {"type": "60min", "uid": "bFJeNb2uX8ANpT3JL5EfXw"}}),
     "BOOKING_CREATED")
body("todoist", "https://developer.todoist.com/sync/v9/#webhooks", "X-Todoist-Hmac-SHA256", S, "base64", "", "todoist-client-secret",
     compact({"event_name": "item:added", "user_id": "2671355", "event_data": {"id": "2995104339", "content": "Buy Milk"}, "version": "9"}),
     "item:added", "1234", extra={"X-Todoist-Delivery-ID": "1234"})
body("clickup", "https://developer.clickup.com/docs/webhooksignature", "X-Signature", S, "hex", "", "clickup-webhook-secret",
     compact({"event": "taskCreated", "history_items": [{"id": "2800763136717140857"}], "task_id": "1vj37mc", "webhook_id": "7fa3ec74"}),
     "taskCreated")
body("help-scout", "https://developer.helpscout.com/webhooks/", "X-HelpScout-Signature", hashlib.sha1, "base64", "", "helpscout-secret-key",
     compact({"id": 123, "type": "email", "subject": "Hello"}), "convo.created", extra={"X-HelpScout-Event": "convo.created"})
body("docusign", "https://developers.docusign.com/platform/webhooks/connect/hmac/", "X-DocuSign-Signature-1", S, "base64", "",
     "docusign-connect-hmac-key", compact({"event": "envelope-completed", "apiVersion": "v2.1", "uri": "/restapi/v2.1/accounts/1/envelopes/2",
                                           "generatedDateTime": "2023-11-14T22:13:20.000Z", "data": {"envelopeId": "2"}}),
     "envelope-completed")
body("intuit", "https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/managing-webhooks-notifications", "intuit-signature", S,
     "base64", "", "intuit-verifier-token", compact({"eventNotifications": [{"realmId": "1185883450", "dataChangeEvent": {"entities": [
         {"name": "Customer", "id": "1", "operation": "Create", "lastUpdated": "2023-11-14T22:13:20.000Z"}]}}]}), None)
body("gusto", "https://docs.gusto.com/embedded-payroll/docs/webhooks", "X-Gusto-Signature", S, "hex", "", "gusto-verification-token",
     compact({"uuid": "2f3a4b5c-6d7e-4f80-9a1b-2c3d4e5f6a7b", "event_type": "employee.created", "resource_type": "Company",
              "resource_uuid": "c1", "entity_type": "Employee", "entity_uuid": "e1", "timestamp": 1700000000}),
     "employee.created", "2f3a4b5c-6d7e-4f80-9a1b-2c3d4e5f6a7b")
body("greenhouse", "https://developers.greenhouse.io/webhooks.html#authentication", "Signature", S, "hex", "sha256 ", "greenhouse-secret",
     compact({"action": "candidate_hired", "payload": {"application": {"id": 46194062}}}), "candidate_hired")
body("heroku", "https://devcenter.heroku.com/articles/app-webhooks#securing-webhook-requests", "Heroku-Webhook-Hmac-SHA256", S, "base64", "",
     "heroku-webhook-secret", compact({"id": "3d8e3a3b-42b5-4cbc-8b5b-ad4d8b1a5c5e", "action": "update", "resource": "release",
                                        "data": {"version": 7}, "version": "application/vnd.heroku+json; version=3.webhook"}),
     "release.update", "99fa4f4c-8d2f-4a1a-b3a5-9a1b2c3d4e5f", extra={"Heroku-Webhook-Id": "99fa4f4c-8d2f-4a1a-b3a5-9a1b2c3d4e5f"})
body("doppler", "https://docs.doppler.com/docs/webhooks#verify-webhook-with-signing-secret", "X-Doppler-Signature", S, "hex", "sha256=",
     "doppler-signing-secret", compact({"type": "config.secrets.update", "config": {"name": "prd"}, "project": {"name": "backend"}}),
     "config.secrets.update")
body("line", "https://developers.line.biz/en/docs/messaging-api/verify-webhook-signature/", "x-line-signature", S, "base64", "",
     "line-channel-secret", compact({"destination": "U1", "events": [{"type": "message", "message": {"type": "text", "text": "Hello"}}]}), None)
body("webex", "https://developer.webex.com/docs/receive-and-verify-webhooks", "X-Spark-Signature", hashlib.sha1, "hex", "",
     "webex-webhook-secret", compact({"id": "Y2lzY29zcGFyazovL3VzL1dFQkhPT0svOTZhYmMyYWEtM2RjYy0xMWU1LWExNTItZmUzNDgxOWNkYzlh",
                                       "name": "My Webhook", "resource": "messages", "event": "created", "data": {"id": "m1"}}),
     "messages.created")  # no event id: the top-level id is the webhook registration's
body("alchemy", "https://docs.alchemy.com/reference/notify-api-faq", "X-Alchemy-Signature", S, "hex", "",
     "whsec_alchemy_signing_key", compact({"webhookId": "wh_octjglnywaupz6th", "id": "whevt_ogrc5v64myey69ux", "createdAt": "2023-11-14T22:13:20Z",
                                          "type": "ADDRESS_ACTIVITY", "event": {"network": "ETH_MAINNET", "activity": []}}),
     "ADDRESS_ACTIVITY", "whevt_ogrc5v64myey69ux")
body("tally", "https://tally.so/help/webhooks", "Tally-Signature", S, "base64", "", "tally-signing-secret",
     compact({"eventId": "a4cb511e-d513-4fa5-baee-b815d718dfd1", "eventType": "FORM_RESPONSE", "createdAt": "2023-06-28T15:00:21.889Z",
              "data": {"responseId": "2wgx4n", "fields": []}}), "FORM_RESPONSE", "a4cb511e-d513-4fa5-baee-b815d718dfd1")
sq_secret = hx(hashlib.sha256(b"countersign squarespace").digest())
body("squarespace", "https://developers.squarespace.com/commerce-apis/webhooks/verifying-notifications", "Squarespace-Signature", S, "hex", "",
     sq_secret, compact({"id": "5e56d1b0-9a5b-4d5f-a8e6-e8d4e9c3a7b2", "websiteId": "5d1e5e1b", "subscriptionId": "s1",
                         "topic": "order.create", "createdOn": "2023-11-14T22:13:20.000Z", "data": {"orderId": "o1"}}),
     "order.create", "5e56d1b0-9a5b-4d5f-a8e6-e8d4e9c3a7b2", key=bytes.fromhex(sq_secret))
body("chargify", "https://docs.maxio.com/hc/en-us/articles/24266136649869-Webhooks-Reference", "X-Chargify-Webhook-Signature-Hmac-Sha-256",
     S, "hex", "", "chargify-site-shared-key", "id=81&event=signup_success&payload[subscription][id]=1", None, "81",
     extra={"X-Chargify-Webhook-Id": "81"})
air_secret = b64(hashlib.sha256(b"countersign airtable mac").digest())
body("airtable", "https://airtable.com/developers/web/api/webhooks-overview#webhook-notification-delivery", "X-Airtable-Content-MAC", S, "hex",
     "hmac-sha256=", air_secret, compact({"base": {"id": "app00000000000000"}, "webhook": {"id": "ach00000000000000"},
                                          "timestamp": "2022-02-01T21:25:05.663Z"}), None, key=base64.b64decode(air_secret))
body("nylas", "https://developer.nylas.com/docs/cookbook/use-cases/build/verify-webhook-signatures/", "X-Nylas-Signature", S, "hex", "",
     "nylas-webhook-secret", compact({"specversion": "1.0", "type": "message.created", "source": "/google/emails/realtime",
                                      "id": "mock-id", "time": 1700000000, "data": {"object": {"id": "m1"}}}), "message.created", "mock-id")
body("pusher", "https://pusher.com/docs/channels/server_api/webhooks/#authentication", "X-Pusher-Signature", S, "hex", "", "pusher-app-secret",
     compact({"time_ms": 1700000000000, "events": [{"name": "channel_occupied", "channel": "test_channel"}]}), None,
     extra={"X-Pusher-Key": "app-key"})
body("terraform-cloud", "https://developer.hashicorp.com/terraform/cloud-docs/api-docs/notification-configurations#notification-authenticity",
     "X-TFE-Notification-Signature", hashlib.sha512, "hex", "", "tfc-notification-token",
     compact({"payload_version": 1, "notification_configuration_id": "nc-AeUQ2zfKZzW9TiGZ", "run_id": "run-1",
              "notifications": [{"message": "Run Applied", "trigger": "run:completed"}]}), None)
body("gocardless", "https://developer.gocardless.com/getting-started/staying-up-to-date-with-webhooks", "Webhook-Signature", S, "hex", "",
     "gocardless-endpoint-secret", compact({"events": [{"id": "EV123", "action": "confirmed", "resource_type": "payments"}]}), None)
body("sendbird", "https://sendbird.com/docs/chat/platform-api/v3/webhook/overview", "x-sendbird-signature", S, "hex", "", "sendbird-api-token",
     compact({"category": "group_channel:message_send", "sender": {"user_id": "u1"}, "payload": {"message": "hi"}}),
     "group_channel:message_send")
body("segment", "https://www.twilio.com/docs/segment/connections/destinations/catalog/actions-webhook", "X-Signature", hashlib.sha1, "hex", "",
     "segment-shared-secret", compact({"type": "track", "event": "Order Completed", "messageId": "ajs-f8ca1e4de5024d9430b3928bd8ac6b96",
                                       "userId": "u1"}), "track", "ajs-f8ca1e4de5024d9430b3928bd8ac6b96")
body("jira", "https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks", "X-Hub-Signature", S, "hex", "sha256=",
     "jira-webhook-secret", compact({"timestamp": 1700000000000, "webhookEvent": "jira:issue_created", "issue": {"id": "10001"}}),
     "jira:issue_created", "6a1e6c5e-4d3b-4f6e-9a7d-0c2b8e1f3a90",
     extra={"X-Atlassian-Webhook-Identifier": "6a1e6c5e-4d3b-4f6e-9a7d-0c2b8e1f3a90"})
body("hookdeck", "https://hookdeck.com/docs/authentication#hookdeck-webhook-signature-verification", "x-hookdeck-signature", S, "base64", "",
     "hookdeck-signing-secret", compact({"id": "evt_1", "data": {}}), None)
body("asana", "https://developers.asana.com/docs/webhooks-guide#security", "X-Hook-Signature", S, "hex", "", "asana-x-hook-secret",
     compact({"events": [{"action": "changed", "resource": {"gid": "1", "resource_type": "task"}}]}), None)
body("notion", "https://developers.notion.com/reference/webhooks", "X-Notion-Signature", S, "hex", "sha256=", "secret_notion_verification_token",
     compact({"id": "367cba44-b6f3-4c92-81e7-6a2e9659efd4", "timestamp": "2024-12-05T23:55:34.285Z", "workspace_id": "w1",
              "type": "page.created", "entity": {"id": "p1", "type": "page"}}), "page.created", "367cba44-b6f3-4c92-81e7-6a2e9659efd4")

# CircleCI: a key-value list with a decoy entry first.
text = compact({"id": "3888f21b-eaa7-38e3-8f3d-75a63bba8895", "type": "workflow-completed", "happened_at": "2021-09-01T22:49:34.317Z",
                "workflow": {"id": "w1", "status": "success"}})
add("circleci", "https://circleci.com/docs/webhooks/#validate-webhooks", "hex HMAC-SHA256(secret, body) in a v1= entry, after another entry",
    "circleci-webhook-secret", text,
    {"circleci-signature": "v1=" + hx(mac(S, "old-secret", text)) + ",v1=" + hx(mac(S, "circleci-webhook-secret", text))},
    "workflow-completed", "3888f21b-eaa7-38e3-8f3d-75a63bba8895")

# --- Tokens -------------------------------------------------------------------------------------
add("telegram", "https://core.telegram.org/bots/api#setwebhook", "X-Telegram-Bot-Api-Secret-Token carries the secret token",
    "telegram_secret_Token-1", compact({"update_id": 10000, "message": {"message_id": 1, "text": "/start"}}),
    {"X-Telegram-Bot-Api-Secret-Token": "telegram_secret_Token-1"}, None, "10000")
add("flutterwave", "https://developer.flutterwave.com/docs/webhooks#verifying-webhook-signatures", "verif-hash carries the secret hash",
    "flutterwave-secret-hash", compact({"event": "charge.completed", "data": {"id": 285959875, "status": "successful"}}),
    {"verif-hash": "flutterwave-secret-hash"}, "charge.completed")


# Ecwid: only "eventCreated.eventId" is signed (base64 HMAC-SHA256 with the client secret).
ecwid = {"eventId": "80aece08-40e8-4145-8764-6c2f0d38678", "eventCreated": 1700000000, "storeId": 1003,
         "entityId": 103000, "eventType": "order.created", "data": {"orderId": "XJ12H", "newPaymentStatus": "PAID"}}
add("ecwid", "https://api-docs.ecwid.com/docs/webhooks", "base64 HMAC-SHA256(client secret, eventCreated.eventId)",
    "ecwid-client-secret", compact(ecwid),
    {"X-Ecwid-Webhook-Signature": b64(mac(S, "ecwid-client-secret", f"{ecwid['eventCreated']}.{ecwid['eventId']}"))},
    "order.created", ecwid["eventId"])


# --- HTTP Basic credentials (RFC 7617): Authorization: Basic base64(user:password) -------------
def basic(preset, source, creds, text, event_type):
    add(preset, source, "Authorization: Basic + base64(user:password)", creds, text,
        {"Authorization": "Basic " + b64(creds.encode())}, event_type)


basic("basic-auth", "https://www.rfc-editor.org/rfc/rfc7617", "hook-sender:s3cret pass:word", compact({"any": "body"}), None)
basic("postmark", "https://postmarkapp.com/developer/webhooks/webhooks-overview", "postmark:pm-webhook-pass",
      compact({"RecordType": "Delivery", "ServerID": 23, "MessageStream": "outbound",
               "MessageID": "00000000-0000-0000-0000-000000000000", "Recipient": "john@example.com"}), "Delivery")
basic("pipedrive", "https://pipedrive.readme.io/docs/guide-for-webhooks", "pipedrive:pd-webhook-pass",
      compact({"meta": {"action": "change", "entity": "deal"}, "data": {"id": 1}}), None)


add("api-key", "the X-API-Key convention", "X-API-Key carries the key", "ak_live_countersign_1",
    compact({"event": "x"}), {"X-API-Key": "ak_live_countersign_1"}, None)
add("api-key-query", "the ?api_key= convention", "the api_key query parameter carries the key (percent-encoded)",
    "ak_live/countersign+2", compact({"event": "x"}), {}, None, url="https://example.com/hooks/in?source=acme&api_key=ak_live%2Fcountersign%2B2")
add("bearer-token", "https://www.rfc-editor.org/rfc/rfc6750#section-2.1", "Authorization: Bearer + the token",
    "bt_countersign_token-1", compact({"event": "x"}), {"Authorization": "Bearer bt_countersign_token-1"}, None)


# --- Timestamp in the signature header ----------------------------------------------------------
def kv(preset, source, header, fmt, secret, text, event_type, event_id=None, ts=NOW, extra=None):
    sig = hx(mac(S, secret, f"{ts}.{text}"))
    headers = {header: fmt.format(t=ts, sig=sig)}
    headers.update(extra or {})
    add(preset, source, "hex HMAC-SHA256(secret, t.body)", secret, text, headers, event_type, event_id, now=NOW)


kv("mux", "https://www.mux.com/docs/core/verify-webhook-signatures", "Mux-Signature", "t={t},v1={sig}", "mux-signing-secret",
   compact({"type": "video.asset.ready", "id": "3a56ac3d-33da-4366-855b-f592d898409d", "object": {"type": "asset", "id": "a1"},
            "data": {"status": "ready"}}), "video.asset.ready", "3a56ac3d-33da-4366-855b-f592d898409d")
# Published known answer: the example of Mux's official Elixir SDK (Mux.Webhooks.TestUtils,
# generate_signature("payload", "SuperSecret123")), copied, not computed here.
out.append({"id": "mux-sdk-example", "provider": "mux", "preset": "mux", "official": True,
            "source": "https://hexdocs.pm/mux/Mux.Webhooks.TestUtils.html",
            "how": "the SDK's documented output: t=1591664030, hex HMAC-SHA256(secret, t.body)",
            "secret": "SuperSecret123", "body": "payload",
            "headers": {"Mux-Signature": "t=1591664030,v1=e43496b6aae982c4c2fd6f8e92935f1d90216f1f64d56024e72390acfb988272"},
            "event_type": None, "event_id": None, "now": 1591664030})
kv("workos", "https://workos.com/docs/events/data-syncing/webhooks", "WorkOS-Signature", "t={t}, v1={sig}", "workos-webhook-secret",
   compact({"id": "event_01J0ZQ7YPZ8C3KQ3XBTQ4ZX7YE", "event": "user.created", "data": {"id": "user_01"}, "created_at": "2023-11-14T22:13:20.000Z"}),
   "user.created", "event_01J0ZQ7YPZ8C3KQ3XBTQ4ZX7YE", ts=NOW * 1000 + 123)
kv("buildkite", "https://buildkite.com/docs/apis/webhooks#webhook-signature", "X-Buildkite-Signature", "timestamp={t},signature={sig}",
   "buildkite-webhook-token", compact({"event": "build.finished", "build": {"id": "b1", "state": "passed"}}), "build.finished",
   extra={"X-Buildkite-Event": "build.finished"})
kv("elevenlabs", "https://elevenlabs.io/docs/agents-platform/workflows/post-call-webhooks", "ElevenLabs-Signature", "t={t},v0={sig}",
   "wsec_countersign_elevenlabs", compact({"type": "post_call_transcription", "event_timestamp": 1700000000,
                                           "data": {"agent_id": "a1", "conversation_id": "c1"}}), "post_call_transcription")
kv("persona", "https://docs.withpersona.com/docs/webhooks-best-practices#checking-signatures", "Persona-Signature", "t={t},v1={sig}",
   "wbhsec_persona_secret", compact({"data": {"type": "event", "id": "evt_XGuYWp2Y7GPpGVDxwUHkyjRY",
                                              "attributes": {"name": "inquiry.completed", "payload": {}}}}),
   "inquiry.completed", "evt_XGuYWp2Y7GPpGVDxwUHkyjRY")

# --- Timestamp in its own header --------------------------------------------------------------
text = compact({"triggerType": "form_submission", "payload": {"name": "Contact Us", "siteId": "65427cf400e02b306eaa049c"}})
ts = str(NOW * 1000 + 42)
add("webflow", "https://developers.webflow.com/data/docs/working-with-webhooks#validating-request-signatures",
    "hex HMAC-SHA256(secret, timestamp:body), ms timestamp", "webflow-webhook-secret", text,
    {"x-webflow-timestamp": ts, "x-webflow-signature": hx(mac(S, "webflow-webhook-secret", f"{ts}:{text}"))}, "form_submission", now=NOW)
text = compact({"event_id": "01E4C4CT6YDC7Y5M7FE1GWWPQJ", "object_type": "email", "metric": "sent", "timestamp": 1700000000,
                "data": {"customer_id": "42", "delivery_id": "RPILAgUBcRhIBqSfeiIwdIYJKxTY"}})
add("customer-io", "https://docs.customer.io/journeys/webhooks/#securely-verify-requests", "hex HMAC-SHA256(secret, v0:timestamp:body)",
    "cio-webhook-signing-secret", text,
    {"X-CIO-Timestamp": str(NOW), "X-CIO-Signature": hx(mac(S, "cio-webhook-signing-secret", f"v0:{NOW}:{text}"))},
    "email.sent", "01E4C4CT6YDC7Y5M7FE1GWWPQJ", now=NOW)
text = compact({"type": "zen:event-type:ticket.created", "account_id": 1, "id": "cbe4028c-7239-495d-b020-f22348516046",
                "time": "2023-11-14T22:13:20Z", "zendesk_event_version": "2022-11-06", "subject": "zen:ticket:1", "detail": {"id": "1"}})
zts = "2023-11-14T22:13:21Z"
add("zendesk", "https://developer.zendesk.com/documentation/webhooks/verifying/", "base64 HMAC-SHA256(secret, timestamp + body), RFC 3339 timestamp",
    "zendesk-signing-secret", text,
    {"X-Zendesk-Webhook-Signature-Timestamp": zts, "X-Zendesk-Webhook-Signature": b64(mac(S, "zendesk-signing-secret", zts + text))},
    "zen:event-type:ticket.created", "cbe4028c-7239-495d-b020-f22348516046", now=NOW)
text = compact({"type": "webhook_event", "id": "eb0c4e06-751f-4d1b-8c0b-9a1b7a1c2c3d", "created_at": "2023-11-14T14:13:20-08:00",
                "trigger": "FILE.UPLOADED", "source": {"id": "12345", "type": "file"}})
bts = "2023-11-14T14:13:20-08:00"
add("box", "https://developer.box.com/guides/webhooks/v2/signatures-v2/", "base64 HMAC-SHA256(primary key, body + timestamp); RFC 3339 with an offset",
    "box-primary-signature-key", text,
    {"BOX-DELIVERY-TIMESTAMP": bts, "BOX-DELIVERY-ID": "f96bb54b-ee16-4fc5-aa65-8c2d9e5b546f",
     "BOX-SIGNATURE-PRIMARY": b64(mac(S, "box-primary-signature-key", text + bts)),
     "BOX-SIGNATURE-SECONDARY": b64(mac(S, "box-secondary-signature-key", text + bts))},
    "FILE.UPLOADED", "f96bb54b-ee16-4fc5-aa65-8c2d9e5b546f", now=NOW)
text = compact({"type": "asset.created", "resource": {"type": "asset", "id": "a1"}, "account": {"id": "acc1"}})
add("frame-io", "https://developer.frame.io/docs/automations-webhooks/webhooks-overview", "hex HMAC-SHA256(secret, v0:timestamp:body)",
    "frameio-signing-secret", text,
    {"X-Frameio-Request-Timestamp": str(NOW), "X-Frameio-Signature": "v0=" + hx(mac(S, "frameio-signing-secret", f"v0:{NOW}:{text}"))},
    "asset.created", now=NOW)

text = compact({"type": "inbound_received", "authorization": {"id": "cmp_123"}, "payload": {"id": "evt_1", "conversation": {"id": "cnv_1"}}})
fts = str(NOW * 1000 + 7)
add("front", "https://dev.frontapp.com/docs/application-webhooks", "base64 HMAC-SHA256(signing key, timestamp:body), ms timestamp",
    "front-app-signing-key", text,
    {"X-Front-Request-Timestamp": fts, "X-Front-Signature": b64(mac(S, "front-app-signing-key", f"{fts}:{text}"))},
    "inbound_received", now=NOW)

# Telnyx: Ed25519 over timestamp|body; base64 public key.
tk = ed25519.Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"countersign telnyx test key").digest())
tpub = b64(tk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
other = ed25519.Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"countersign telnyx other key").digest())
text = compact({"data": {"event_type": "message.received", "id": "b301ed3f-1490-491f-995f-6e64e69674d4", "occurred_at": "2023-11-14T22:13:20.000+00:00",
                         "payload": {"text": "Hello"}, "record_type": "event"}, "meta": {"attempt": 1}})
add("telnyx", "https://developers.telnyx.com/docs/messaging/messages/receiving-webhooks#webhook-signing",
    "base64 Ed25519 (cryptography) over timestamp|body; base64 raw public key", tpub, text,
    {"telnyx-timestamp": str(NOW), "telnyx-signature-ed25519": b64(tk.sign(f"{NOW}|{text}".encode()))},
    "message.received", "b301ed3f-1490-491f-995f-6e64e69674d4", now=NOW,
    wrong_secret=b64(other.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)))

# --- URL-bound ----------------------------------------------------------------------------------
url = "https://example.com/trello/callback?board=1"
text = compact({"action": {"id": "51f9424bcd6e040f3c002412", "type": "updateCard", "data": {}}, "model": {"id": "4d5ea62fd76aa1136000000c"}})
add("trello", "https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/#webhook-signatures",
    "base64 HMAC-SHA1(app secret, body + callback URL)", "trello-app-secret", text,
    {"X-Trello-Webhook": b64(mac(hashlib.sha1, "trello-app-secret", text + url))}, "updateCard", "51f9424bcd6e040f3c002412", url=url)
url = "https://example.com/mandrill/hook"
events = compact([{"event": "send", "msg": {"email": "a@example.com", "subject": "Hi & bye"}, "_id": "exampleaaaaaaaaaaaaaaaaaaaaaaaaa", "ts": NOW}])
add("mandrill", "https://mandrill.zendesk.com/hc/en-us/articles/360039232513-How-to-Authenticate-Webhook-Requests",
    "base64 HMAC-SHA1(webhook key, URL + 'mandrill_events' + value)", "mandrill-webhook-key", None,
    {"X-Mandrill-Signature": b64(mac(hashlib.sha1, "mandrill-webhook-key", url + "mandrill_events" + events))}, None, url=url,
    form=[["mandrill_events", events]])

# --- Catalogue III -----------------------------------------------------------------------------
# Stytch: a Svix sender; the event type joins source, object_type and action as sent.
standard("stytch", "svix", "https://stytch.com/docs/workspace-management/webhooks",
         compact({"project_id": "project-test-6c20cd16-73d5-44f7-852c-9a7e7b2ccf62", "event_id": "event-test-5a6b7c8d",
                  "action": "CREATE", "object_type": "organization", "source": "DIRECT",
                  "id": "organization-test-07971b06-ac8b-4cdb-9c15-63b17e653931", "timestamp": "2023-11-14T22:13:20Z"}),
         "DIRECT.organization.CREATE", "msg_2bStytch0000000000000000")

# Polar: Standard Webhooks headers; the SDK base64-encodes the secret before the Standard
# Webhooks library decodes it again, so a polar_whs_ secret's own bytes are the key...
polar_body = compact({"type": "order.paid", "timestamp": "2023-11-14T22:13:20Z", "data": {"id": "ord_1", "status": "paid"}})
polar_legacy = "polar_whs_countersign0legacy0secret"
sig = b64(mac(S, polar_legacy.encode(), f"msg_polar_1.{NOW}.{polar_body}"))
add("polar", "https://polar.sh/docs/integrate/webhooks/endpoints",
    "base64 HMAC-SHA256(the secret's own bytes, id.timestamp.body), as polar-js validateEvent", polar_legacy, polar_body,
    {"webhook-id": "msg_polar_1", "webhook-timestamp": str(NOW), "webhook-signature": f"v1,{sig}"}, "order.paid", "msg_polar_1", now=NOW)
out[-1]["id"] = "polar-raw-secret-computed"
# ...while a whsec_ secret is decoded as in Standard Webhooks.
polar_std = "whsec_" + b64(hashlib.sha256(b"countersign polar key").digest())
sig = b64(mac(S, base64.b64decode(polar_std[len("whsec_"):]), f"msg_polar_2.{NOW}.{polar_body}"))
add("polar", "https://polar.sh/docs/integrate/webhooks/endpoints",
    "base64 HMAC-SHA256(base64-decoded whsec_ key, id.timestamp.body)", polar_std, polar_body,
    {"webhook-id": "msg_polar_2", "webhook-timestamp": str(NOW), "webhook-signature": f"v1,{sig}"}, "order.paid", "msg_polar_2", now=NOW)
out[-1]["id"] = "polar-whsec-computed"

# Courier: t=<unix ms>,signature=<hex> over t.body.
text = compact({"type": "message:updated", "data": {"id": "1-65f0c1d2-abc", "status": "DELIVERED"}})
cts = str(NOW * 1000 + 250)
add("courier", "https://www.courier.com/docs/platform/workspaces/outbound-webhooks", "hex HMAC-SHA256(secret, t.body), ms timestamp",
    "courier-signing-secret", text,
    {"courier-signature": f"t={cts},signature=" + hx(mac(S, "courier-signing-secret", f"{cts}.{text}"))}, "message:updated", now=NOW)

# Recurly: <unix ms>,<hex>,<hex>: an old key's signature first, then the current one.
text = compact({"id": "rsjq6k5p1s2t", "object_type": "subscription", "site_id": "ogu3n2zyk2vf", "event_type": "created",
                "event_time": "2023-11-14T22:13:20Z", "account_code": "1"})
rts = str(NOW * 1000 + 500)
add("recurly", "https://docs.recurly.com/recurly-subscriptions/docs/signature-verification",
    "hex HMAC-SHA256(secret key, timestamp.body), ms timestamp first, then the signatures", "recurly-endpoint-secret-key", text,
    {"recurly-signature": f"{rts}," + hx(mac(S, "recurly-old-key", f"{rts}.{text}")) + "," + hx(mac(S, "recurly-endpoint-secret-key", f"{rts}.{text}"))},
    None, now=NOW)

# Patreon: hex HMAC-MD5 over the body.
body("patreon", "https://docs.patreon.com/#webhooks", "X-Patreon-Signature", hashlib.md5, "hex", "", "patreon-webhook-secret",
     compact({"data": {"type": "member", "id": "cd2d0c5e-7e5f-4b40-8d5a-1a2b3c4d5e6f", "attributes": {"patron_status": "active_patron"}}}),
     "members:pledge:create", extra={"X-Patreon-Event": "members:pledge:create"})

# Meta: sha256=<hex HMAC-SHA256(app secret, body)>.
body("meta", "https://developers.facebook.com/docs/graph-api/webhooks/getting-started", "X-Hub-Signature-256", S, "hex", "sha256=",
     "meta-app-secret", compact({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [
         {"field": "messages", "value": {"messaging_product": "whatsapp"}}]}]}), "whatsapp_business_account")
# X: sha256=<base64 HMAC-SHA256(consumer secret, body)>.
body("x", "https://docs.x.com/x-api/webhooks/introduction", "x-twitter-webhooks-signature", S, "base64", "sha256=",
     "x-consumer-secret", compact({"for_user_id": "2244994945", "tweet_create_events": [{"id_str": "1"}]}), None)
# Microsoft Graph: the clientState of every notification is the secret.
add("microsoft-graph", "https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks",
    "every value[].clientState equals the secret", "graph-client-state-1",
    compact({"value": [{"subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07", "clientState": "graph-client-state-1",
                        "changeType": "created", "resource": "Users/1/Messages/2", "tenantId": "84bd8158"},
                       {"subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07", "clientState": "graph-client-state-1",
                        "changeType": "updated", "resource": "Users/1/Messages/3", "tenantId": "84bd8158"}]}),
    {}, None)

# Keys that must decode: the wrong key of the negative test is another valid one.
WRONG = {"brex": b64(hashlib.sha256(b"countersign brex other").digest()),
         "squarespace": hx(hashlib.sha256(b"countersign squarespace other").digest()),
         "airtable": b64(hashlib.sha256(b"countersign airtable other").digest())}
for v in out:
    if v["preset"] in WRONG:
        v["wrong_secret"] = WRONG[v["preset"]]
    if v["body"] is None:
        del v["body"]

with open("catalogue_ii.json", "w") as f:
    json.dump(out, f, indent=1, ensure_ascii=False)
    f.write("\n")
print(len(out), "vectors")
