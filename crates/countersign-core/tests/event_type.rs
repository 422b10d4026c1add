//! Event types: a known answer for every preset with the provider's real payload shape (or
//! `None` where the provider sends none), the value through `Verified::event_type` after a
//! real verification, hostile inputs that must never panic, and a property test over random
//! headers and bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use countersign_core::{
    Delivery, EventTypePart, MAX_EVENT_TYPE_LEN, Preset, SignRequest, Signer, Verifier,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;

/// `(preset, headers, body, expected event type)`: payload shapes from each provider's docs.
/// `(preset, headers, body, expected event type)`.
type KnownAnswer = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    &'static str,
    Option<&'static str>,
);

fn known_answers() -> Vec<KnownAnswer> {
    vec![
        (
            "standard-webhooks",
            vec![],
            r#"{"type":"contact.created","timestamp":"2022-11-03T20:26:10.344522Z","data":{"id":"1f81eb52"}}"#,
            Some("contact.created"),
        ),
        (
            "svix",
            vec![],
            r#"{"type":"invoice.paid","data":{}}"#,
            Some("invoice.paid"),
        ),
        (
            "stripe",
            vec![],
            r#"{"id":"evt_1","object":"event","api_version":"2024-06-20","data":{"object":{"id":"in_1","object":"invoice","type":"nested-decoy"}},"type":"invoice.payment_succeeded"}"#,
            Some("invoice.payment_succeeded"),
        ),
        (
            "github",
            vec![("x-github-event", "issues")],
            r#"{"action":"opened","issue":{"number":1,"action":"decoy"}}"#,
            Some("issues.opened"),
        ),
        (
            "github-sha1",
            vec![("x-github-event", "push")],
            r#"{"ref":"refs/heads/main","before":"0","after":"1"}"#,
            Some("push"),
        ),
        (
            "slack",
            vec![],
            r#"{"token":"x","team_id":"T1","type":"event_callback","event":{"type":"app_mention","user":"U1"},"event_id":"Ev1"}"#,
            Some("app_mention"),
        ),
        (
            "shopify",
            vec![("x-shopify-topic", "orders/create")],
            r#"{"id":820982911946154508}"#,
            Some("orders/create"),
        ),
        ("twilio", vec![], "CallSid=CA1&From=%2B1", None),
        (
            "square",
            vec![],
            r#"{"merchant_id":"M1","type":"payment.updated","event_id":"6a8f","data":{"type":"payment"}}"#,
            Some("payment.updated"),
        ),
        (
            "paddle",
            vec![],
            r#"{"event_id":"evt_01h","event_type":"transaction.completed","occurred_at":"2024-01-01T00:00:00Z","data":{}}"#,
            Some("transaction.completed"),
        ),
        (
            "twitch",
            vec![
                ("twitch-eventsub-subscription-type", "channel.follow"),
                ("twitch-eventsub-message-type", "notification"),
            ],
            r#"{"subscription":{"type":"channel.follow"},"event":{}}"#,
            Some("channel.follow"),
        ),
        (
            "linear",
            vec![("linear-event", "Issue")],
            r#"{"action":"create","type":"Issue","data":{"id":"i1"},"webhookTimestamp":1700000000000}"#,
            Some("Issue.create"),
        ),
        (
            "gitlab",
            vec![("x-gitlab-event", "Push Hook")],
            r#"{"object_kind":"push"}"#,
            Some("Push Hook"),
        ),
        (
            "zoom",
            vec![],
            r#"{"event":"meeting.started","payload":{"account_id":"a"},"event_ts":1700000000000}"#,
            Some("meeting.started"),
        ),
        (
            "mailgun",
            vec![],
            r#"{"signature":{"timestamp":"1","token":"t","signature":"s"},"event-data":{"event":"delivered","id":"CPg"}}"#,
            Some("delivered"),
        ),
        (
            "intercom",
            vec![],
            r#"{"type":"notification_event","topic":"conversation.user.created","id":"notif_1","data":{}}"#,
            Some("conversation.user.created"),
        ),
        (
            "sendgrid",
            vec![],
            r#"[{"email":"a@example.com","event":"delivered"}]"#,
            None,
        ),
        (
            "discord",
            vec![],
            r#"{"id":"1","application_id":"2","type":2,"data":{"name":"ping"}}"#,
            Some("2"),
        ),
        (
            "pagerduty",
            vec![],
            r#"{"event":{"id":"01DEN","event_type":"incident.triggered","resource_type":"incident","data":{}}}"#,
            Some("incident.triggered"),
        ),
        (
            "hubspot",
            vec![],
            r#"[{"eventId":1,"subscriptionType":"contact.creation"}]"#,
            None,
        ),
        (
            "hubspot-v2",
            vec![],
            r#"[{"eventId":1,"subscriptionType":"contact.creation"}]"#,
            None,
        ),
        (
            "hubspot-v1",
            vec![],
            r#"[{"eventId":1,"subscriptionType":"contact.creation"}]"#,
            None,
        ),
        (
            "dropbox",
            vec![],
            r#"{"list_folder":{"accounts":["dbid:1"]},"delta":{"users":[1]}}"#,
            None,
        ),
        (
            "calendly",
            vec![],
            r#"{"created_at":"2020-11-23T17:51:19.000000Z","created_by":"https://api.calendly.com/users/A","event":"invitee.created","payload":{}}"#,
            Some("invitee.created"),
        ),
        (
            "typeform",
            vec![],
            r#"{"event_id":"01H","event_type":"form_response","form_response":{}}"#,
            Some("form_response"),
        ),
        (
            "xero",
            vec![],
            r#"{"events":[{"eventCategory":"INVOICE","eventType":"UPDATE"}],"firstEventSequence":1}"#,
            None,
        ),
        (
            "woocommerce",
            vec![
                ("x-wc-webhook-topic", "order.created"),
                ("x-wc-webhook-resource", "order"),
            ],
            r#"{"id":42}"#,
            Some("order.created"),
        ),
        (
            "bitbucket",
            vec![("x-event-key", "repo:push")],
            r#"{"push":{"changes":[]}}"#,
            Some("repo:push"),
        ),
        (
            "sentry",
            vec![("sentry-hook-resource", "issue")],
            r#"{"action":"created","data":{"issue":{}},"installation":{"uuid":"u"}}"#,
            Some("issue.created"),
        ),
        (
            "vercel",
            vec![],
            r#"{"id":"evt_v1","type":"deployment.created","createdAt":1700000000000,"payload":{}}"#,
            Some("deployment.created"),
        ),
        (
            "coinbase-commerce",
            vec![],
            r#"{"id":1,"scheduled_for":"2017-01-31T20:50:02Z","event":{"id":"2493","type":"charge:created","data":{}}}"#,
            Some("charge:created"),
        ),
        ("convoy", vec![], r#"{"event":"charge.success"}"#, None),
        // CloudEvents (the legacy `eventNotifications` batch is in catalogue_ii.json: none).
        (
            "intuit",
            vec![],
            r#"{"specversion":"1.0","id":"evt-1","source":"intuit","type":"qbo.invoice.created.v1","time":"2025-01-01T00:00:00Z","intuitaccountid":"310687","data":{}}"#,
            Some("qbo.invoice.created.v1"),
        ),
        (
            "convoy-simple",
            vec![],
            r#"{"event":"charge.success"}"#,
            None,
        ),
    ]
}

fn header_map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, HeaderValue::from_static(v));
    }
    h
}

/// The Catalogue II and JWS presets' answers live with their signature vectors.
fn from_vectors() -> Vec<KnownAnswer> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/catalogue_ii.json"
    );
    let mut all: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let jws = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/jws.json");
    let mut jws: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(jws).unwrap()).unwrap();
    all.extend(serde_json::from_value::<Vec<serde_json::Value>>(jws["valid"].take()).unwrap());
    // Leaked once per test run: the table's rows borrow `'static` text.
    let s = |x: &str| -> &'static str { Box::leak(x.to_owned().into_boxed_str()) };
    all.iter()
        .filter_map(|v| {
            let headers = v["headers"]
                .as_object()?
                .iter()
                .map(|(k, h)| {
                    (
                        s(&k.to_ascii_lowercase()),
                        s(h.as_str().unwrap_or_default()),
                    )
                })
                .collect();
            Some((
                s(v["preset"].as_str()?),
                headers,
                s(v.get("body")?.as_str()?),
                v["event_type"].as_str().map(s),
            ))
        })
        .collect()
}

#[test]
fn every_preset_has_a_known_answer() {
    let mut table = known_answers();
    table.extend(from_vectors());
    // Mandrill's vector is form data (no JSON body): it has no event type.
    table.push(("mandrill", vec![], "mandrill_events=%5B%5D", None));
    for p in Preset::ALL {
        let Some((_, headers, body, expected)) = table.iter().find(|(n, ..)| *n == p.name()) else {
            panic!("{p}: no event-type known answer");
        };
        let source = p.scheme().event_type().clone();
        assert_eq!(source.is_none(), expected.is_none(), "{p}: {source}");
        let headers = header_map(headers);
        let got = source.extract(&headers, body.as_bytes());
        assert_eq!(got.as_ref().map(|t| t.as_str()), *expected, "{p}");
        // Without the headers (or the body) the type is gone or shorter, never invented.
        if let Some(got) = source.extract(&HeaderMap::new(), b"{}") {
            panic!("{p}: {got} from nothing");
        }
    }
}

#[test]
fn one_header_is_borrowed_from_the_delivery() {
    for p in Preset::ALL {
        let source = p.scheme().event_type().clone();
        let Some(name) = source.single_header() else {
            continue;
        };
        let mut h = HeaderMap::new();
        h.insert(name.clone(), HeaderValue::from_static("a.b"));
        let t = source.extract(&h, b"").unwrap();
        // The returned text points into the header value: no copy was made.
        assert_eq!(t.as_str().as_ptr(), h[name].as_bytes().as_ptr(), "{p}");
    }
}

#[test]
fn verified_reports_the_event_type_of_a_verified_delivery() {
    let secret = "event-type-secret";
    // GitHub: header + action; the header is not signed, the body is.
    let verifier = Verifier::new(Preset::Github, secret).unwrap();
    let body = br#"{"action":"closed","pull_request":{"number":7}}"#;
    let mut headers = Signer::new(Preset::Github, secret)
        .unwrap()
        .sign(&SignRequest::new(body))
        .unwrap();
    headers.insert("x-github-event", HeaderValue::from_static("pull_request"));
    let v = verifier.verify(&Delivery::new(&headers, body)).unwrap();
    assert_eq!(v.event_type(&headers, body).unwrap(), "pull_request.closed");
    // Stripe: the body's top-level type, not a nested one.
    let verifier = Verifier::new(Preset::Stripe, secret).unwrap();
    let body = br#"{"id":"evt_1","data":{"object":{"type":"card"}},"type":"charge.succeeded"}"#;
    let headers = Signer::new(Preset::Stripe, secret)
        .unwrap()
        .sign(&SignRequest::new(body))
        .unwrap();
    let v = verifier.verify(&Delivery::new(&headers, body)).unwrap();
    assert_eq!(v.event_type(&headers, body).unwrap(), "charge.succeeded");
    // A preset without one.
    let verifier = Verifier::new(Preset::Dropbox, secret).unwrap();
    let headers = Signer::new(Preset::Dropbox, secret)
        .unwrap()
        .sign(&SignRequest::new(br#"{"type":"x"}"#))
        .unwrap();
    let v = verifier
        .verify(&Delivery::new(&headers, br#"{"type":"x"}"#))
        .unwrap();
    assert!(v.event_type(&headers, br#"{"type":"x"}"#).is_none());
}

fn deep(n: usize) -> Vec<u8> {
    let mut b = b"{\"type\":".to_vec();
    b.extend(std::iter::repeat_n(b'[', n));
    b.extend(std::iter::repeat_n(b']', n));
    b.push(b'}');
    b
}

#[test]
fn hostile_bodies_and_headers_are_no_event_type_never_a_panic() {
    let huge_type = format!(r#"{{"type":"{}"}}"#, "a".repeat(10 * 1024 * 1024));
    let many_keys = format!(
        "{{{}\"type\":\"late\"}}",
        (0..50_000)
            .map(|i| format!("\"k{i}\":[{i}],"))
            .collect::<String>()
    );
    let bodies: Vec<Vec<u8>> = vec![
        deep(100_000),
        huge_type.into_bytes(),
        b"{\"type\":".to_vec(),
        b"{\"type\":\"unterminated".to_vec(),
        b"{\"type\":\"\xff\xfe\"}".to_vec(),
        b"\xff\xfe\x00{".to_vec(),
        b"{\"type\":\"bad\\ud800\"}".to_vec(),
        b"{\"type\":null}".to_vec(),
        b"{\"type\":true}".to_vec(),
        b"{\"type\":1.5}".to_vec(),
        b"{\"type\":[\"a\"]}".to_vec(),
        b"{\"type\":\"\"}".to_vec(),
        b"{\"type\":\"   \"}".to_vec(),
        b"{\"type\":\"a\\nb\"}".to_vec(),
        b"{\"type\":\"a\\u0000b\"}".to_vec(),
        b"{\"type\":\"caf\xc3\xa9\"}".to_vec(),
        b"[{\"type\":\"in.array\"}]".to_vec(),
        b"".to_vec(),
    ];
    for p in Preset::ALL {
        let source = p.scheme().event_type().clone();
        for body in &bodies {
            if let Some(t) = source.extract(&HeaderMap::new(), body) {
                panic!("{p}: {t:?} from a hostile body");
            }
        }
        assert_eq!(
            source
                .extract(&HeaderMap::new(), many_keys.as_bytes())
                .map(|t| t.into_owned()),
            source
                .parts()
                .first()
                .filter(|part| **part == EventTypePart::JsonField(vec!["type".into()]))
                .map(|_| countersign_core::EventType::new("late".into()).unwrap()),
            "{p}: a type after 50 000 keys is found"
        );
        for part in source.parts() {
            let EventTypePart::Header(name) = part else {
                continue;
            };
            for raw in [
                &b"\xff\xfe"[..],
                b"caf\xc3\xa9",
                b"a\tb",
                b"",
                b"   ",
                b"a;b",
                b"a\"b",
            ] {
                let mut h = HeaderMap::new();
                h.insert(name.clone(), HeaderValue::from_bytes(raw).unwrap());
                let got = source.extract(&h, br#"{"action":"x"}"#);
                assert!(got.is_none(), "{p}: {got:?} from header {raw:?}");
            }
            let mut h = HeaderMap::new();
            let long = "a".repeat(MAX_EVENT_TYPE_LEN + 1);
            h.insert(name.clone(), HeaderValue::from_str(&long).unwrap());
            assert!(source.extract(&h, b"{}").is_none(), "{p}: too long");
        }
    }
}

fn arb_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        "[a-z.:/ _\\-]{0,40}".prop_map(|t| format!(r#"{{"type":"{t}","event":{{"type":"{t}","event_type":"{t}"}},"action":"{t}","event_type":"{t}","topic":"{t}","event-data":{{"event":"{t}"}}}}"#).into_bytes()),
        "\\PC{0,64}".prop_map(|t| format!(r#"{{"type":{t:?},"action":{t:?}}}"#).into_bytes()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// Whatever the headers and body, extracting never panics and anything returned is
    /// within the bounds.
    #[test]
    fn extract_never_panics_and_stays_in_bounds(
        preset in proptest::sample::select(Preset::ALL),
        value in proptest::collection::vec(any::<u8>(), 0..160),
        body in arb_body(),
    ) {
        let source = preset.scheme().event_type().clone();
        let mut h = HeaderMap::new();
        for part in source.parts() {
            if let EventTypePart::Header(name) = part
                && let Ok(v) = HeaderValue::from_bytes(&value)
            {
                h.insert(HeaderName::clone(name), v);
            }
        }
        if let Some(t) = source.extract(&h, &body) {
            let s = t.as_str();
            prop_assert!(!s.is_empty() && s.len() <= MAX_EVENT_TYPE_LEN);
            prop_assert!(s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-:/ ".contains(&b)), "{s:?}");
            prop_assert!(!s.starts_with(' ') && !s.ends_with(' '));
        }
    }
}
