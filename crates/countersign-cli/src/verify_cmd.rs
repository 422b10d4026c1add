//! `countersign verify`: check one delivery and print exactly one JSON object.
//!
//! - exit 0: `{"valid":true,"preset":"stripe","event_id":"evt_123","timestamp":1700000000,"event_type":"invoice.paid"}`
//!   (`event_id`/`timestamp`/`event_type` are `null` when the scheme or delivery has none);
//! - exit 1: `{"valid":false,"preset":"stripe","error":"<kind>","message":"<human text>"}`,
//!   `kind` being the core's stable [`ErrorKind`](countersign_core::ErrorKind) name;
//! - exit 2: usage or configuration error, on stderr, with nothing on stdout.
//!
//! Everything that can be a usage error (scheme, headers, secrets) is checked before the body
//! is read. The body is read up to the verifier's body limit plus one byte, so an oversized
//! body is reported as `body_too_large` without buffering all of it.

use std::process::ExitCode;
use std::time::Duration;

use countersign_core::{Delivery, FixedClock, Tolerance, Verified, Verifier, VerifyError};
use http::HeaderMap;
use serde::Serialize;

use crate::cli::VerifyArgs;
use crate::error::{CliError, EXIT_INVALID};
use crate::headers;
use crate::input::{MAX_HEADER_INPUT, MAX_INPUT, Source};
use crate::output;
use crate::scheme_args;
use crate::secrets;

#[derive(Debug, Serialize)]
struct Valid<'a> {
    valid: bool,
    preset: &'a str,
    event_id: Option<&'a str>,
    timestamp: Option<i64>,
    event_type: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct Invalid<'a> {
    valid: bool,
    preset: &'a str,
    error: &'static str,
    message: String,
}

/// Runs the command.
pub(crate) fn run(args: &VerifyArgs) -> Result<ExitCode, CliError> {
    let scheme = scheme_args::resolve(&args.scheme)?;
    if scheme.needs_url() && args.url.is_none() {
        return Err(CliError::Usage(format!(
            "`{}` signs the request URL: pass --url with the public URL the provider sent to",
            scheme.name()
        )));
    }
    let body_source = Source::from_arg(args.body_file.as_deref());
    let header_source = args
        .header_file
        .as_deref()
        .map(|p| Source::from_arg(Some(p)));
    if body_source == Source::Stdin && header_source == Some(Source::Stdin) {
        return Err(CliError::Usage(
            "stdin cannot carry both the headers and the body: with --header-file -, pass the body with --body-file PATH".into(),
        ));
    }

    let mut headers = HeaderMap::new();
    headers::parse_flags(&args.headers, &mut headers)?;
    if let Some(source) = &header_source {
        let block = source.read_bounded("header", MAX_HEADER_INPUT)?;
        headers::parse_block(&block, &mut headers)?;
    }

    let secrets = secrets::collect(&args.secrets, &args.secret_files)?;
    let mut builder = Verifier::builder(scheme).secrets(secrets);
    if let Some(secs) = args.tolerance {
        builder = builder.tolerance(Tolerance::symmetric(Duration::from_secs(secs)));
    }
    if let Some(now) = args.now {
        builder = builder.clock(FixedClock::from_unix_secs(now));
    }
    let verifier = builder.build()?;

    let cap = verifier.body_limit().min(MAX_INPUT);
    let body = body_source.read_up_to("body", cap.saturating_add(1))?;
    if body.len() > cap && cap < verifier.body_limit() {
        return Err(CliError::TooLarge {
            what: "the body".into(),
            limit: MAX_INPUT,
        });
    }

    let mut delivery = Delivery::new(&headers, &body);
    if let Some(url) = &args.url {
        delivery = delivery.url(url);
    }
    if let Some(method) = &args.method {
        delivery = delivery.method(method);
    }
    let result = verifier.verify(&delivery);
    let event_type = result
        .as_ref()
        .ok()
        .and_then(|v| v.event_type(&headers, &body));
    let (json, code) = render(
        verifier.scheme().name(),
        &result,
        event_type.as_ref().map(|t| t.as_str()),
    )?;
    output::stdout(&json)?;
    Ok(code)
}

/// The JSON line and the exit code for a verification result.
fn render(
    preset: &str,
    result: &Result<Verified, VerifyError>,
    event_type: Option<&str>,
) -> Result<(Vec<u8>, ExitCode), CliError> {
    let (json, code) = match result {
        Ok(v) => (
            serde_json::to_vec(&Valid {
                valid: true,
                preset: v.preset(),
                event_id: v.event_id(),
                timestamp: v.timestamp(),
                event_type,
            }),
            ExitCode::SUCCESS,
        ),
        Err(e) => (
            serde_json::to_vec(&Invalid {
                valid: false,
                preset,
                error: e.kind().as_str(),
                message: e.to_string(),
            }),
            ExitCode::from(EXIT_INVALID),
        ),
    };
    // Serializing these structs cannot fail; map it anyway rather than panic.
    let mut json = json.map_err(|e| CliError::Write(e.into()))?;
    json.push(b'\n');
    Ok((json, code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_shapes() {
        let body = br#"{"id":"evt_123"}"#;
        let at = std::time::Duration::from_secs(1_700_000_000);
        let headers = countersign_core::Signer::new(countersign_core::Preset::Stripe, "whsec_x")
            .unwrap()
            .sign(&countersign_core::SignRequest::new(body).timestamp(at))
            .unwrap();
        let ok = countersign_core::Verifier::builder(countersign_core::Preset::Stripe)
            .secret("whsec_x")
            .clock(countersign_core::FixedClock::from_unix_secs(1_700_000_000))
            .build()
            .unwrap()
            .verify(&countersign_core::Delivery::new(&headers, body))
            .unwrap();
        let (json, _) = render("stripe", &Ok(ok), Some("invoice.paid")).unwrap();
        assert_eq!(
            json,
            b"{\"valid\":true,\"preset\":\"stripe\",\"event_id\":\"evt_123\",\"timestamp\":1700000000,\"event_type\":\"invoice.paid\"}\n"
        );
        let gh = countersign_testkit::verified(countersign_core::Preset::Github, None);
        let (json, _) = render("github", &Ok(gh), None).unwrap();
        assert_eq!(
            json,
            b"{\"valid\":true,\"preset\":\"github\",\"event_id\":null,\"timestamp\":null,\"event_type\":null}\n"
        );
        let err = VerifyError::BodyTooLarge { limit: 10 };
        let (json, _) = render("stripe", &Err(err), None).unwrap();
        assert_eq!(
            String::from_utf8(json).unwrap(),
            "{\"valid\":false,\"preset\":\"stripe\",\"error\":\"body_too_large\",\"message\":\"body too large: limit is 10 bytes\"}\n"
        );
    }
}
