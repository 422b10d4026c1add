use super::file::At;
use super::template::parse_template;
use super::*;
use crate::algorithm::Algorithm;
use crate::content::Part;
use crate::form::FormParams;
use crate::url::UrlPart;
use crate::{Delivery, FixedClock, Preset, SignRequest, Signer, Verifier};
use http::HeaderName;
use std::time::Duration;

fn json(text: &str) -> Result<Scheme, SchemeFileError> {
    Scheme::from_json(text)
}

#[test]
fn templates() {
    let url = UrlPart::exact();
    let form = FormParams::sorted();
    let p = parse_template(&At::top(), "v0:{timestamp}:{body}", &url, &form).unwrap();
    assert_eq!(
        p,
        [
            Part::literal("v0:"),
            Part::Timestamp,
            Part::literal(":"),
            Part::Body
        ]
    );
    let p = parse_template(
        &At::top(),
        "{{{method}}}{header:X-Id}.{json:a.b}{url}{form}",
        &url,
        &form,
    )
    .unwrap();
    assert_eq!(p.len(), 8);
    assert_eq!(p[0], Part::literal("{"));
    assert_eq!(p[2], Part::literal("}"));
    assert_eq!(p[3], Part::header(HeaderName::from_static("x-id")));
    for (t, msg) in [
        ("{body", "unclosed"),
        ("body}", "unmatched"),
        ("{bdy}", "unknown placeholder"),
        ("{header:bad name}", "not a header name"),
        ("{json:a..b}", "not a dotted JSON path"),
        ("{x:y}", "unknown placeholder"),
    ] {
        let err = parse_template(&At::top(), t, &url, &form)
            .unwrap_err()
            .to_string();
        assert!(err.contains(msg), "{t}: {err}");
    }
    assert_eq!(
        parse_template(&At::top(), "é{body}ü", &url, &form)
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn presets_can_be_written_as_files() {
    // Stripe, written by hand, verifies Stripe's own signatures.
    let stripe = json(
        r#"{"name":"stripe-file","signature_header":"Stripe-Signature","syntax":"key-value",
                "separator":",","signature_key":"v1","timestamp_key":"t",
                "content":"{timestamp}.{body}","event_id_json":"id"}"#,
    )
    .unwrap();
    let headers = Signer::new(Preset::Stripe, "whsec_x")
        .unwrap()
        .sign(&SignRequest::new(br#"{"id":"evt_9"}"#).timestamp(Duration::from_secs(1_700_000_000)))
        .unwrap();
    let v = Verifier::builder(stripe)
        .secret("whsec_x")
        .clock(FixedClock::from_unix_secs(1_700_000_000))
        .build()
        .unwrap();
    let ok = v
        .verify(&Delivery::new(&headers, br#"{"id":"evt_9"}"#))
        .unwrap();
    assert_eq!((ok.preset(), ok.event_id()), ("stripe-file", Some("evt_9")));

    // Event types: a header, a JSON field, or the header qualified by the field.
    for (fields, headers, body, expected) in [
        (
            r#""event_type_json":"type""#,
            vec![],
            r#"{"type":"invoice.paid"}"#,
            Some("invoice.paid"),
        ),
        (
            r#""event_type_header":"X-Acme-Event""#,
            vec![("x-acme-event", "push")],
            "{}",
            Some("push"),
        ),
        (
            r#""event_type_header":"X-Acme-Event","event_type_json":"data.action""#,
            vec![("x-acme-event", "issues")],
            r#"{"data":{"action":"opened"}}"#,
            Some("issues.opened"),
        ),
        ("", vec![("x-acme-event", "push")], r#"{"type":"x"}"#, None),
    ] {
        let comma = if fields.is_empty() { "" } else { "," };
        let scheme = json(&format!(
            r#"{{"name":"acme","signature_header":"x-sig"{comma}{fields}}}"#
        ))
        .unwrap();
        let mut h = http::HeaderMap::new();
        for (k, v) in headers {
            h.insert(k, v.parse().unwrap());
        }
        let got = scheme.event_type().extract(&h, body.as_bytes());
        assert_eq!(got.as_ref().map(|t| t.as_str()), expected, "{fields}");
    }
    assert!(json(r#"{"name":"a","signature_header":"x","event_type_json":"a..b"}"#).is_err());
    assert!(
        json(r#"{"name":"a","signature_header":"x","event_type_header":"bad header"}"#).is_err()
    );

    // Standard Webhooks, with fallbacks and a whsec_ key.
    let sw = json(
        r#"{"name":"sw","algorithm":"sha256","encoding":"base64",
                "signature_header":["svix-signature","webhook-signature"],
                "syntax":"versioned-list","version":"v1",
                "timestamp_header":["svix-timestamp","webhook-timestamp"],
                "content":"{header:webhook-id}.{timestamp}.{body}",
                "event_id_header":"webhook-id","key_format":"base64","key_prefix":"whsec_",
                "tolerance_past":600}"#,
    )
    .unwrap();
    assert_eq!(sw.tolerance().past, Duration::from_secs(600));
    assert_eq!(sw.tolerance().future, Duration::from_secs(300));
    let headers = Signer::new(
        Preset::StandardWebhooks,
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    )
    .unwrap()
    .sign(
        &SignRequest::new(b"{}")
            .id("m1")
            .timestamp(Duration::from_secs(1_700_000_000)),
    )
    .unwrap();
    let v = Verifier::builder(sw)
        .secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        .clock(FixedClock::from_unix_secs(1_700_000_000))
        .build()
        .unwrap();
    assert_eq!(
        v.verify(&Delivery::new(&headers, b"{}"))
            .unwrap()
            .event_id(),
        Some("m1")
    );
}

#[test]
fn a_key_in_the_query() {
    let scheme =
        json(r#"{"name":"acme","algorithm":"token","signature_query":"token","content":""}"#)
            .unwrap();
    let v = crate::Verifier::new(scheme, "s3cret").unwrap();
    let h = http::HeaderMap::new();
    let ok = crate::Delivery::new(&h, b"").url("/in?token=s3cret");
    assert_eq!(v.verify(&ok).unwrap().preset(), "acme");
    let bad = crate::Delivery::new(&h, b"").url("/in?token=s3cre");
    assert!(v.verify(&bad).is_err());
    for text in [
        r#"{"name":"a","algorithm":"token","signature_query":" ","content":""}"#,
        r#"{"name":"a","signature_query":"q","signature_header":"x"}"#,
    ] {
        assert!(json(text).is_err(), "{text}");
    }
}

#[test]
fn errors_name_the_field() {
    for (text, needle) in [
        (
            r#"{"signature_header":"x"}"#,
            "`name`: a scheme needs a name",
        ),
        (
            r#"{"name":"a","signature_header":"x","colour":"red"}"#,
            "unknown field `colour`",
        ),
        (r#"{"name":"a"}"#, "`signature_header`"),
        (r#"{"name":" ","signature_header":"x"}"#, "`name`"),
        (
            r#"{"name":"a","signature_header":"x","algorithm":"md4"}"#,
            "`algorithm`: `md4`: expected md5",
        ),
        (
            r#"{"name":"a","signature_header":"x","encoding":"b32"}"#,
            "`encoding`",
        ),
        (
            r#"{"name":"a","signature_header":"bad header"}"#,
            "`signature_header`",
        ),
        (
            r#"{"name":"a","signature_header":[]}"#,
            "`signature_header`",
        ),
        (
            r#"{"name":"a","signature_header":"x","syntax":"kv"}"#,
            "`syntax`",
        ),
        (
            r#"{"name":"a","signature_header":"x","separator":";"}"#,
            "`separator`: only applies",
        ),
        (
            r#"{"name":"a","signature_header":"x","syntax":"key-value","separator":";;"}"#,
            "one character",
        ),
        (
            r#"{"name":"a","signature_header":"x","timestamp_unit":"ms"}"#,
            "`timestamp_unit`",
        ),
        (
            r#"{"name":"a","signature_header":"x","timestamp_header":"t","timestamp_json":"t"}"#,
            "one of",
        ),
        (
            r#"{"name":"a","signature_header":"x","timestamp_header":"t"}"#,
            "timestamp must be part of the signed content",
        ),
        (
            r#"{"name":"a","signature_header":"x","content":"{timestamp}"}"#,
            "signs a timestamp but the scheme has none",
        ),
        (
            r#"{"name":"a","signature_header":"x","key_format":"pem"}"#,
            "`key_format`",
        ),
        (
            r#"{"name":"a","signature_header":"x","key_prefix":"k_"}"#,
            "`key_prefix`",
        ),
        (
            r#"{"name":"a","signature_header":"x","url_decode":":"}"#,
            "no {url}",
        ),
        (
            r#"{"name":"a","signature_header":"x","body_limit":0}"#,
            "`body_limit`",
        ),
        (
            r#"{"name":"a","signature_header":"x","tolerance":-1}"#,
            "invalid value",
        ),
        (
            r#"{"name":"a","signature_header":"x","signature_json":"s"}"#,
            "give one of signature_header",
        ),
        (
            r#"{"name":"a","signature_json":"s","syntax":"key-value"}"#,
            "single syntax",
        ),
        ("not json", "expected"),
    ] {
        let err = json(text).unwrap_err().to_string();
        assert!(err.contains(needle), "{text}: {err}");
        assert!(err.starts_with("invalid scheme file: "), "{err}");
    }
}

#[test]
fn body_borne_and_key_pair_schemes() {
    let mailgun = json(
            r#"{"name":"mg","signature_json":"signature.signature","timestamp_json":"signature.timestamp",
                "content":"{timestamp}{json:signature.token}","event_id_json":"event-data.id"}"#,
        )
        .unwrap();
    assert_eq!(mailgun.content(), Preset::Mailgun.scheme().content());
    let discord = json(
            r#"{"name":"d","algorithm":"ed25519","signature_header":"x-signature-ed25519",
                "timestamp_header":"x-signature-timestamp","content":"{timestamp}{body}","key_format":"hex"}"#,
        )
        .unwrap();
    assert_eq!(discord.algorithm(), Algorithm::Ed25519);
    let gitlab =
        json(r#"{"name":"g","algorithm":"token","signature_header":"x-gitlab-token"}"#).unwrap();
    assert!(gitlab.content().is_empty());
    let twilio = json(
            r#"{"name":"t","algorithm":"sha1","encoding":"base64","signature_header":"x-twilio-signature",
                "content":"{url}{form}","url_either_default_port":true,"form_body_hash_param":"bodySHA256"}"#,
        )
        .unwrap();
    assert_eq!(twilio.content(), Preset::Twilio.scheme().content());
}

proptest::proptest! {
    #[test]
    fn loader_does_not_panic(
        template in "[{}a-z:.\\-]{0,24}",
        text in "[ -~]{0,120}",
        syntax in "(single|key-value|versioned-list|jws|x)",
        sep in ".{0,2}",
        handshake in "(slack-url-verification|x-crc|discord-ping|[a-z-]{0,12})",
        prefix in "(whsec_|)",
        alt_syntax in "(single|jws|key-value)",
    ) {
        let _ = parse_template(&At::top(), &template, &UrlPart::exact(), &FormParams::sorted());
        let _ = Scheme::from_json(&text);
        let doc = serde_json::json!({
            "name": "p", "signature_header": "x-s", "syntax": syntax, "separator": sep,
            "content": template, "timestamp_key": "t", "handshakes": [handshake],
            "alternatives": [{
                "signature_header": "y", "syntax": alt_syntax, "key_format": "base64",
                "key_prefix": prefix, "content": template,
            }],
        });
        let _ = Scheme::from_json(&doc.to_string());
        let _ = serde_json::from_value::<Scheme>(doc);
    }
}

#[cfg(feature = "toml")]
#[test]
fn toml_files() {
    let s = Scheme::from_toml(
        r#"
            name = "zoom-file"
            signature_header = "x-zm-signature"
            prefix = "v0="
            timestamp_header = "x-zm-request-timestamp"
            content = "v0:{timestamp}:{body}"
            "#,
    )
    .unwrap();
    assert_eq!(s.content(), Preset::Zoom.scheme().content());
    let err = Scheme::from_toml("name = 1").unwrap_err().to_string();
    assert!(err.starts_with("invalid scheme file: "), "{err}");
}
