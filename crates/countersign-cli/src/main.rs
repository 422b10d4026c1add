//! # countersign — the command line
//!
//! Sign, verify, send and inspect webhook deliveries with the same engine the library uses
//! (`countersign-core`), and run a verifying, deduplicating reverse proxy in front of an app
//! in any language. The command names, flags, exit codes and JSON keys below are a stable
//! contract: scripts and other tools drive them.
//!
//! ```text
//! countersign presets [--wide | --json]
//! countersign sign   (--preset NAME | --scheme-file PATH) (--secret S | --secret-file PATH)
//!                    [--id ID] [--timestamp UNIX_S] [--url URL] [--method M] [--body-file PATH]
//! countersign verify (--preset NAME | --scheme-file PATH) --secret S [--secret S2 ...]
//!                    [--secret-file PATH ...] [-H 'Name: value' ...]
//!                    [--header-file PATH] [--body-file PATH] [--url URL] [--method M]
//!                    [--now UNIX_S] [--tolerance SECONDS]
//!                    [--algorithm md5|sha1|sha256|sha512] [--encoding hex|base64|base64url]
//!                    [--signature-header NAME] [--prefix P]
//! countersign send   --preset NAME (--secret S | --secret-file PATH) --to URL
//!                    [--body-file PATH] [--id ID] [--timestamp UNIX_S] [--content-type T]
//!                    [--timeout DURATION] [-i|--include]
//! countersign proxy  --listen ADDR --upstream URL --preset NAME --secret S [...]
//! countersign proxy  --config countersign.toml [--check] [server flags]
//! ```
//!
//! The body is read from stdin unless `--body-file` is given (`-` also means stdin); when stdin
//! is a terminal, a line on stderr says so (end the body with Ctrl-D).
//!
//! Positions in messages count from 1: `secret #1`, `-H #1`, `[[route]] #1`.
//!
//! ## Secrets
//!
//! `--secret S` is the secret itself, or `env:NAME` to read it from the environment variable
//! NAME; `--secret-file PATH` reads one secret per line. Either way the secret need not
//! appear in process listings or shell history. (A literal secret of the form `env:NAME` can
//! only be given in a file.)
//!
//! ## `sign`
//!
//! Prints the headers a provider would send with the body, one `Name: value` per line and
//! nothing else:
//!
//! ```text
//! $ printf '{"id":"evt_1"}' | countersign sign --preset stripe --secret whsec_demo --timestamp 1700000000
//! stripe-signature: t=1700000000,v1=23325a61b4f7230b9b393ae50047056e354118190d0964e1414088ead50b4ce5
//! ```
//!
//! Presets that carry the event id in a header (Standard Webhooks, Svix, GitHub, Shopify, …)
//! get a generated `msg_…` id unless `--id` is given. URL-bound presets (`twilio`, `square`,
//! `hubspot`, `hubspot-v2`) sign `--url` (and `--method`). Key-pair presets (`discord`,
//! `sendgrid`, `standard-webhooks` with a `whpk_` key) verify only, and `mailgun` carries its
//! signature inside the body: `sign` refuses them with exit 2.
//!
//! ## `verify`
//!
//! Prints exactly one JSON object on stdout and exits with
//!
//! | exit | stdout |
//! |---|---|
//! | `0` | `{"valid":true,"preset":"stripe","event_id":"evt_1","timestamp":1700000000,"event_type":"invoice.paid"}` (`event_id`/`timestamp`/`event_type` are `null` when absent) |
//! | `1` | `{"valid":false,"preset":"stripe","error":"signature_mismatch","message":"…"}` |
//! | `2` | nothing: a usage or configuration error (unknown preset, empty or undecodable secret, bad header line, an option the preset does not take), explained on stderr |
//!
//! `error` is one of `missing_header`, `malformed_header`, `malformed_timestamp`,
//! `no_supported_signature`, `signature_mismatch`, `timestamp_too_old`,
//! `timestamp_too_new`, `body_too_large`, `malformed_body`. (The library's `missing_url`
//! cannot occur: a URL-bound preset without `--url` is a usage error, exit 2.)
//!
//! For key-pair presets `--secret` is the sender's public key: `discord` hex, `sendgrid`
//! base64 DER, `standard-webhooks` `whpk_<base64>` (raw or SPKI DER).
//!
//! Headers come from `-H 'Name: value'` flags and/or `--header-file PATH` (`-` = stdin), which
//! reads lines exactly as `sign` prints them, so the two commands pipe into each other
//! (`timestamp` below is the signing time, i.e. when `sign` ran):
//!
//! ```text
//! $ printf '{"id":"evt_1"}' > /tmp/event.json
//! $ countersign sign --preset stripe --secret whsec_demo --body-file /tmp/event.json \
//!     | countersign verify --preset stripe --secret whsec_demo --body-file /tmp/event.json --header-file -
//! {"valid":true,"preset":"stripe","event_id":"evt_1","timestamp":1767225600,"event_type":null}
//! $ countersign verify --preset stripe --secret whsec_demo --body-file /tmp/event.json \
//!     -H 'Stripe-Signature: t=1700000000,v0=00'
//! {"valid":false,"preset":"stripe","error":"no_supported_signature","message":"no signature of a supported version in `stripe-signature`"}
//! ```
//!
//! ## The generic `hmac` preset
//!
//! For a provider without a preset that sends an HMAC of the raw body in one header:
//!
//! ```text
//! $ countersign verify --preset hmac --signature-header X-Acme-Signature --prefix sha512= \
//!     --algorithm sha512 --encoding hex --secret s3cret -H 'X-Acme-Signature: sha512=…' --body-file body.json
//! ```
//!
//! `--algorithm`/`--encoding` are accepted only where the sender chooses them (`hmac`, and
//! `convoy`/`convoy-simple` within what Convoy offers: sha256/sha512 × hex/base64);
//! `--signature-header`/`--prefix` only for `hmac`. Anywhere else they are a usage error
//! (exit 2).
//!
//! ## Scheme files
//!
//! A provider without a preset can be described in a file and used with `--scheme-file PATH`
//! instead of `--preset` (TOML; JSON when the name ends in `.json`):
//!
//! ```text
//! $ cat acme.toml
//! name = "acme"
//! signature_header = "X-Acme-Signature"
//! syntax = "key-value"
//! separator = ","
//! signature_key = "v1"
//! timestamp_key = "t"
//! content = "{timestamp}.{body}"
//! event_id_json = "id"
//! $ countersign verify --scheme-file acme.toml --secret s3cret -H 'X-Acme-Signature: t=…,v1=…' --body-file body.json
//! ```
//!
//! Every field is listed on `countersign_core::Scheme`'s `Deserialize` impl (handshakes by
//! name, `[[alternatives]]`, `syntax = "jws"` included); mistakes (an unknown field, an
//! unknown `{placeholder}`) are usage errors naming the field. In a proxy config file the same
//! table can sit in the route itself, as `[route.scheme]`.
//!
//! ## `send`
//!
//! Signs the body like `sign` and POSTs it to `--to` (plain `http://` only), then prints the
//! status line, the response headers with `-i`/`--include` (then a blank line), and the
//! response body. Exit 0 for a 2xx answer, 1 for another status, 2 when no answer came
//! (refused, timeout) or on a usage error:
//!
//! ```text
//! $ countersign send --preset stripe --secret env:STRIPE_WEBHOOK_SECRET --to http://127.0.0.1:8080/webhooks/stripe --body-file event.json
//! HTTP/1.1 200 OK
//! processed
//! ```
//!
//! ## `proxy`
//!
//! Verifies, deduplicates (in memory, or `--redis URL` / `--redis-cluster URL,URL,...`) and
//! forwards deliveries to an upstream app, adding `Countersign-Verified: true`,
//! `Countersign-Event-Id` and `Countersign-Preset`; the app's 2xx is recorded before it is
//! relayed. Header, body and upstream timeouts, a connection limit, graceful shutdown on
//! SIGTERM/SIGINT, `GET /healthz`, `GET /metrics` (Prometheus text), structured logs. The first
//! line on stdout is `countersign proxy listening on http://ADDR`. Exit 0 after a clean
//! shutdown, 2 when the configuration is unusable or the proxy cannot start. See the README
//! section "Proxy for apps in any language" and `proxy/mod.rs`.
//!
//! Secrets are never echoed: configuration errors name a secret by its position.

mod cli;
mod duration;
mod error;
mod headers;
mod inbox_cmd;
mod input;
mod output;
mod presets_cmd;
mod proxy;
mod scheme_args;
mod secrets;
mod send_cmd;
mod sign_cmd;
mod verify_cmd;

use std::io::Write as _;

/// The proxy allocates per request (headers, bodies, futures); under load glibc malloc took
/// ~16% of its CPU, mimalloc cuts the proxy's CPU per request by 15-20% (benches/proxy_load.sh).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

use crate::cli::Command;
use crate::error::EXIT_USAGE;

fn main() -> ExitCode {
    // Usage errors go to stderr with exit 2 (`--help` and `--version` exit 0).
    let cli = cli::parse();
    let result = match &cli.command {
        Command::Presets(args) => presets_cmd::run(args),
        Command::Sign(args) => sign_cmd::run(args),
        Command::Verify(args) => verify_cmd::run(args),
        Command::Send(args) => send_cmd::run(args),
        Command::Proxy(args) => proxy::run(args),
        Command::Inbox(args) => inbox_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // Nothing useful is left to do if stderr itself is gone.
            let _ = writeln!(std::io::stderr(), "countersign: {}", err.report());
            ExitCode::from(EXIT_USAGE)
        }
    }
}
