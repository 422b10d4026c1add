//! `countersign sign`: print the headers a provider would send with a body, one `Name: value`
//! per line and nothing else, so the output can be fed to `verify --header-file -` or to
//! `curl -H @file`.
//!
//! Schemes that carry the event id in a header (Standard Webhooks, Svix, GitHub, Shopify, …)
//! always get one: `--id`, or a generated `msg_<hex>` unique per invocation.
//! `--url`/`--method` feed URL-bound presets (Twilio, Square, HubSpot). Key-pair presets
//! (Discord, SendGrid, Standard Webhooks `whpk_`) and Mailgun (signature inside the body)
//! cannot print headers: a usage error says so.

use std::process::{self, ExitCode};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use countersign_core::{EventIdSource, Part, Scheme, SignRequest, Signer};

use crate::cli::{SignArgs, SigningArgs};
use crate::error::CliError;
use crate::input::{MAX_INPUT, Source};
use crate::output;
use crate::scheme_args;
use crate::secrets;

/// Runs the command.
pub(crate) fn run(args: &SignArgs) -> Result<ExitCode, CliError> {
    let signing = Signing::new(scheme_args::resolve(&args.scheme)?, &args.signing)?;
    let mut request = signing.request();
    if let Some(url) = &args.url {
        request = request.url(url);
    }
    if let Some(method) = &args.method {
        request = request.method(method);
    }
    let headers = signing.signer.sign(&request)?;

    let mut out = Vec::new();
    for (name, value) in &headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    output::stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// A signer with the body and the id and time to sign with: what `sign` and `send` share.
pub(crate) struct Signing {
    pub(crate) signer: Signer,
    pub(crate) body: Vec<u8>,
    /// `--id`, or a generated one when the provider sends an id header.
    id: Option<String>,
    timestamp: Option<Duration>,
}

impl Signing {
    /// Reads the secret and the body.
    pub(crate) fn new(scheme: Scheme, args: &SigningArgs) -> Result<Self, CliError> {
        let id = match &args.id {
            Some(id) => Some(id.clone()),
            None => carries_id_header(&scheme).then(generate_id),
        };
        let secret = secrets::one(args.secret.as_ref(), args.secret_file.as_deref())?;
        let signer = Signer::new(scheme, secret)?;
        let body = Source::from_arg(args.body_file.as_deref()).read_bounded("body", MAX_INPUT)?;
        Ok(Signing {
            signer,
            body,
            id,
            timestamp: args.timestamp.map(Duration::from_secs),
        })
    }

    /// The request to sign: the body, with the id and time when given.
    pub(crate) fn request(&self) -> SignRequest<'_> {
        let mut request = SignRequest::new(&self.body);
        if let Some(id) = &self.id {
            request = request.id(id);
        }
        if let Some(at) = self.timestamp {
            request = request.timestamp(at);
        }
        request
    }
}

/// Whether the provider sends an id header (signed or not) with every delivery.
pub(crate) fn carries_id_header(scheme: &Scheme) -> bool {
    matches!(scheme.event_id(), EventIdSource::Header(_))
        || scheme
            .content()
            .iter()
            .any(|p| matches!(p, Part::Header(_)))
}

/// `msg_` + hex of the time in nanoseconds, the process id and a counter: unique enough for
/// test deliveries without a random number generator.
pub(crate) fn generate_id() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("msg_{nanos:x}{:08x}{n:04x}", process::id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use countersign_core::Preset;

    #[test]
    fn ids_are_distinct_header_safe_tokens() {
        let a = generate_id();
        let b = generate_id();
        assert_ne!(a, b);
        assert!(a.starts_with("msg_"));
        assert!(
            a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'),
            "{a}"
        );
    }

    #[test]
    fn which_presets_get_an_id() {
        let with: Vec<&str> = Preset::ALL
            .iter()
            .filter(|p| carries_id_header(&p.scheme()))
            .map(|p| p.name())
            .collect();
        for name in [
            "standard-webhooks",
            "svix",
            "github",
            "github-sha1",
            "shopify",
        ] {
            assert!(with.contains(&name), "{name}");
        }
        assert!(!with.contains(&"stripe") && !with.contains(&"slack"));
    }
}
