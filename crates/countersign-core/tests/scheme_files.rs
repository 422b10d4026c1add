//! Scheme files deserialise into the real `Scheme`: handshakes, alternatives and JWS schemes
//! written as data behave as the presets built in code, and mistakes name their field.

use std::time::Duration;

use countersign_core::{
    ConfigError, Delivery, FixedClock, Handshake, Outcome, Preset, Scheme, SchemeFileError,
    SignRequest, Signer, Verifier,
};
use http::HeaderMap;

fn json(text: &str) -> Result<Scheme, SchemeFileError> {
    Scheme::from_json(text)
}

const SLACK_FILE: &str = r#"{
    "name": "slack-file", "signature_header": "x-slack-signature", "prefix": "v0=",
    "timestamp_header": "x-slack-request-timestamp", "content": "v0:{timestamp}:{body}",
    "handshakes": ["slack-url-verification"]
}"#;

#[test]
fn a_handshake_named_in_a_file_is_answered_like_the_presets() {
    let scheme = json(SLACK_FILE).unwrap();
    assert_eq!(scheme.handshakes(), Preset::Slack.scheme().handshakes());
    let verifier = Verifier::builder(scheme).secret("s3cret").build().unwrap();
    let signer = Signer::new(Preset::Slack, "s3cret").unwrap();

    let body = br#"{"token":"t","challenge":"abc123","type":"url_verification"}"#;
    let headers = signer.sign(&SignRequest::new(body)).unwrap();
    let outcome = verifier.prepare(&headers).unwrap().finish(body).unwrap();
    let reply = outcome.handshake().expect("a url_verification handshake");
    assert_eq!(reply.body(), br#"{"challenge":"abc123"}"#);

    // Unsigned, the same body is refused: the handshake is answered only after the signature.
    let mut unsigned = headers.clone();
    let forged = format!("v0={}", "0".repeat(64));
    unsigned.insert("x-slack-signature", forged.parse().unwrap());
    let refused = match verifier.prepare(&unsigned) {
        Ok(prepared) => prepared.finish(body).is_err(),
        Err(_) => true,
    };
    assert!(refused, "a forged url_verification was answered");

    // An ordinary event is an event.
    let body = br#"{"type":"event_callback"}"#;
    let headers = signer.sign(&SignRequest::new(body)).unwrap();
    let outcome = verifier.prepare(&headers).unwrap().finish(body).unwrap();
    assert!(matches!(outcome, Outcome::Event(_)));
}

#[test]
fn every_built_in_handshake_can_be_named() {
    for name in Handshake::BUILT_IN {
        let handshake = Handshake::built_in(name).unwrap();
        let text: String = serde_json::to_string(name).unwrap();
        let read: Handshake = serde_json::from_str(&text).unwrap();
        assert_eq!(read, handshake, "{name}");
    }
    let err = serde_json::from_str::<Handshake>(r#""slack""#).unwrap_err();
    assert!(err.to_string().contains("slack-url-verification"), "{err}");
}

const GITLAB_FILE: &str = r#"
name = "gitlab-file"
algorithm = "token"
signature_header = "x-gitlab-token"
event_id_header = ["idempotency-key", "x-gitlab-event-uuid"]
event_type_header = "x-gitlab-event"

[[alternatives]]
encoding = "base64"
signature_header = "webhook-signature"
syntax = "versioned-list"
timestamp_header = "webhook-timestamp"
content = "{header:webhook-id}.{timestamp}.{body}"
event_id_header = "webhook-id"
event_type_json = "type"
key_format = "base64"
key_prefix = "whsec_"
"#;

#[cfg(feature = "toml")]
#[test]
fn an_alternative_in_a_file_verifies_like_the_gitlab_preset() {
    let scheme = Scheme::from_toml(GITLAB_FILE).unwrap();
    let preset = Preset::Gitlab.scheme();
    assert_eq!(scheme.alternatives().len(), 1);
    let (alt, preset_alt) = (&scheme.alternatives()[0], &preset.alternatives()[0]);
    assert_eq!(alt.name(), "gitlab-file");
    assert_eq!(alt.content(), preset_alt.content());
    assert_eq!(alt.key_format(), preset_alt.key_format());
    assert_eq!(alt.syntax(), preset_alt.syntax());

    // A whsec_ secret selects the alternative; a plain one the token.
    let whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let verifier = Verifier::builder(scheme.clone())
        .secret(whsec)
        .secret("plain-token")
        .clock(FixedClock::from_unix_secs(1_700_000_000))
        .build()
        .unwrap();
    let headers = Signer::new(Preset::Gitlab, whsec)
        .unwrap()
        .sign(
            &SignRequest::new(br#"{"type":"push"}"#)
                .id("msg_1")
                .timestamp(Duration::from_secs(1_700_000_000)),
        )
        .unwrap();
    let ok = verifier
        .verify(&Delivery::new(&headers, br#"{"type":"push"}"#))
        .unwrap();
    assert_eq!(ok.event_id(), Some("msg_1"));
    assert!(
        verifier
            .verify(&Delivery::new(&headers, br#"{"type":"pull"}"#))
            .is_err()
    );
    let mut token = HeaderMap::new();
    token.insert("x-gitlab-token", "plain-token".parse().unwrap());
    assert!(verifier.verify(&Delivery::new(&token, b"{}")).is_ok());
    token.insert("x-gitlab-token", whsec.parse().unwrap());
    assert!(
        verifier.verify(&Delivery::new(&token, b"{}")).is_err(),
        "the whsec_ signing secret is not a token"
    );
}

#[test]
fn netlify_written_as_a_jws_file_verifies_netlify_tokens() {
    let scheme = json(
        r#"{"name":"netlify-file","signature_header":"x-webhook-signature","syntax":"jws",
            "jws_issuer":"netlify"}"#,
    )
    .unwrap();
    let preset = Preset::Netlify.scheme();
    assert_eq!(scheme.syntax(), preset.syntax());
    assert_eq!(scheme.content(), preset.content());
    assert_eq!(scheme.encoding(), preset.encoding());

    let verifier = Verifier::new(scheme, "jws secret").unwrap();
    let body = br#"{"state":"ready"}"#;
    let headers = Signer::new(Preset::Netlify, "jws secret")
        .unwrap()
        .sign(&SignRequest::new(body))
        .unwrap();
    assert_eq!(
        verifier
            .verify(&Delivery::new(&headers, body))
            .unwrap()
            .preset(),
        "netlify-file"
    );
    assert!(
        verifier
            .verify(&Delivery::new(&headers, br#"{"state":"error"}"#))
            .is_err()
    );
    // Another issuer is refused.
    let other = json(
        r#"{"name":"n","signature_header":"x-webhook-signature","syntax":"jws","jws_issuer":"acme"}"#,
    )
    .unwrap();
    let verifier = Verifier::new(other, "jws secret").unwrap();
    assert!(verifier.verify(&Delivery::new(&headers, body)).is_err());
}

#[test]
fn mistakes_in_the_new_fields_name_their_place() {
    for (text, needle) in [
        (
            r#"{"name":"a","signature_header":"x","handshakes":["slack"]}"#,
            "`handshakes[0]`: `slack`: expected a built-in handshake",
        ),
        (
            r#"{"name":"a","signature_header":"x","alternatives":[{"algorithm":"md4","signature_header":"y"}]}"#,
            "`alternatives[0].algorithm`: `md4`",
        ),
        (
            r#"{"name":"a","signature_header":"x","alternatives":[{"name":"b","signature_header":"y"}]}"#,
            "`alternatives[0].name`: an alternative takes its scheme's name",
        ),
        (
            r#"{"name":"a","signature_header":"x","alternatives":[{"signature_header":"y","content":"{bdy}"}]}"#,
            "`alternatives[0].content`: unknown placeholder",
        ),
        (
            r#"{"name":"a","signature_header":"x","alternatives":[{"signature_header":"y","handshakes":["x-crc"]}]}"#,
            "`alternatives[0].handshakes`",
        ),
        (
            r#"{"name":"a","signature_header":"x","alternatives":[{"signature_header":"y","alternatives":[{"signature_header":"z"}]}]}"#,
            "`alternatives[0].alternatives`",
        ),
        // Without a key prefix, no secret could select the alternative.
        (
            r#"{"name":"a","signature_header":"x","alternatives":[{"signature_header":"y"}]}"#,
            "an alternative needs a key format with a prefix that selects it",
        ),
        (
            r#"{"name":"a","signature_header":"x","syntax":"jws","content":"{body}"}"#,
            "`content`: a jws scheme signs the token's signing input",
        ),
        (
            r#"{"name":"a","signature_header":"x","jws_issuer":"netlify"}"#,
            "`jws_issuer`: only applies to syntax = \"jws\"",
        ),
        (
            r#"{"name":"a","signature_header":"x","syntax":"jws","encoding":"hex"}"#,
            "base64url",
        ),
        (
            r#"{"name":"a","signature_json":"sig","syntax":"jws"}"#,
            "a signature in the body needs the single syntax",
        ),
        (
            r#"{"name":"a","signature_header":"x","syntax":"jws","algorithm":"sha1"}"#,
            "HMAC-SHA256",
        ),
        (
            r#"{"name":"a","signature_header":"x","timestamp_header":"t","timestamp_unit":"hours","content":"{timestamp}"}"#,
            "`timestamp_unit`: `hours`: expected seconds, milliseconds or rfc3339",
        ),
        (
            r#"{"name":"a","signature_header":"x"} trailing"#,
            "trailing",
        ),
    ] {
        let err = json(text).unwrap_err().to_string();
        assert!(err.starts_with("invalid scheme file: "), "{err}");
        assert!(
            err.contains(needle),
            "{text}\n  said: {err}\n  wanted: {needle}"
        );
    }
}

#[test]
fn a_refused_alternative_is_a_scheme_error_that_keeps_its_cause() {
    let err =
        json(r#"{"name":"a","signature_header":"x","alternatives":[{"signature_header":"y"}]}"#)
            .unwrap_err();
    let SchemeFileError::Scheme { field, source } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(field, "", "the scheme as a whole refuses it");
    assert!(
        matches!(source, ConfigError::InvalidScheme(_)),
        "{source:?}"
    );
}

#[cfg(feature = "toml")]
#[test]
fn a_scheme_inside_a_larger_toml_configuration() {
    #[derive(serde::Deserialize)]
    struct Route {
        path: String,
        scheme: Scheme,
    }
    #[derive(serde::Deserialize)]
    struct Config {
        routes: Vec<Route>,
    }
    let config: Config = toml::from_str(
        r#"
        [[routes]]
        path = "/acme"
        [routes.scheme]
        name = "acme"
        signature_header = "x-acme-signature"
        prefix = "sha256="
        "#,
    )
    .unwrap();
    assert_eq!(config.routes[0].path, "/acme");
    assert_eq!(config.routes[0].scheme.name(), "acme");

    // The same checks apply inside: an unknown placeholder is refused where it is.
    let err = toml::from_str::<Config>(
        r#"
        [[routes]]
        path = "/acme"
        [routes.scheme]
        name = "acme"
        signature_header = "x-acme-signature"
        content = "{bdy}"
        "#,
    )
    .err()
    .expect("an unknown placeholder");
    let err = err.to_string();
    assert!(err.contains("unknown placeholder `{bdy}`"), "{err}");
    assert!(
        err.contains("[routes.scheme]") || err.contains("line"),
        "{err}"
    );
}

#[cfg(feature = "toml")]
#[test]
fn toml_errors_name_the_field_and_show_the_line() {
    let err = Scheme::from_toml(
        "name = \"a\"\nsignature_header = \"x\"\n\n[[alternatives]]\nalgorithm = \"md4\"\n",
    )
    .unwrap_err();
    let SchemeFileError::Toml { field, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(field, "alternatives[0].algorithm");
    let text = err.to_string();
    assert!(
        text.starts_with("invalid scheme file: `alternatives[0].algorithm`: "),
        "{text}"
    );
    assert!(text.contains("line 5"), "{text}");
    assert!(text.contains("`md4`: expected md5"), "{text}");
}
