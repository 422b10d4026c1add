//! `countersign presets [--wide | --json]`: every preset of the core plus the generic `hmac`, described
//! from the [`Scheme`] values themselves (never a hand-written table), so presets added to the
//! core appear here without a CLI change.
//!
//! JSON keys (stable, snake_case), one object per preset:
//!
//! | key | example |
//! |---|---|
//! | `name` | `"stripe"` |
//! | `aliases` | other names `--preset` accepts, e.g. `["quickbooks"]` for `intuit`; usually `[]` |
//! | `description` | one line |
//! | `algorithm` | `"sha256"` (the `--algorithm` spelling; also `sha256-secret-prefix`, `ed25519`, `ecdsa-p256-sha256`, `token`) |
//! | `encoding` | `"hex"` / `"base64"` |
//! | `signature_headers` | `["svix-signature","webhook-signature"]`, preferred first; `[]` for `hmac` (you name it) and for signatures in the body |
//! | `signature_format` | `"t=<timestamp>,v1=<hex>"`; `"json:/signature/signature = <hex>"` for a signature in the body |
//! | `timestamp` | `{"source":"header:x-slack-request-timestamp","unit":"seconds"}`, `{"source":"signature:t",…}`, `{"source":"json:/webhookTimestamp","unit":"milliseconds"}` (`unit` also `rfc3339`) or `null` |
//! | `event_id` | `"header:x-github-delivery"`, `"header:svix-id,webhook-id"` (first present), `"json:/id"` (JSON pointer) or `null` |
//! | `event_id_signed` | `true` when the signature covers the event id (a signed header, or a JSON member of a signed body), `false` when it does not (a deduplication key only: a replay under a fresh id is not caught), `null` without an id |
//! | `event_type` | `"json:/type"`, `"header:x-shopify-topic"`, `"header:x-github-event+json:/action"` (the header, then `.` and the JSON member when present: `issues.opened`) or `null` when the provider sends none |
//! | `tolerance_secs` | `{"past":300,"future":300}` |
//! | `body_limit` | bytes |
//! | `options` | flags the preset takes beyond the common ones, e.g. `["--algorithm","--encoding"]` |
//! | `requires` | common flags the preset cannot do without: `["--url"]`, `["--url","--method"]` or `[]` |
//! | `handshakes` | `[{"name":"url_verification","request":null}]` (signed, answered instead of forwarded), `[{"name":"hub.challenge","request":"GET"}]` (an unsigned request recognised by method and query); usually `[]` |
//! | `alternatives` | other modes selected by the secret's prefix: `[{"key_prefix":"whpk_","algorithm":"ed25519","encoding":"base64","signature_headers":[…],"signature_format":"v1a,<base64> (space-separated list)","timestamp":{…}}]`, usually `[]` |

use std::fmt::Write as _;
use std::process::ExitCode;

use countersign_core::{
    Algorithm, EventIdSource, KeyFormat, Part, Preset, Scheme, SignatureSource, SignatureSyntax,
    TimestampSource,
};
use http::HeaderName;
use serde::Serialize;

use crate::cli::PresetsArgs;
use crate::error::CliError;
use crate::output;
use crate::scheme_args::{self, GENERIC_HMAC, GENERIC_HMAC_DESCRIPTION};

/// One preset as listed.
#[derive(Debug, Serialize)]
pub(crate) struct PresetInfo {
    name: String,
    aliases: Vec<&'static str>,
    description: String,
    algorithm: &'static str,
    encoding: &'static str,
    signature_headers: Vec<String>,
    signature_format: String,
    timestamp: Option<TimestampInfo>,
    event_id: Option<String>,
    event_id_signed: Option<bool>,
    event_type: Option<String>,
    tolerance_secs: ToleranceInfo,
    body_limit: usize,
    options: &'static [&'static str],
    requires: Vec<&'static str>,
    alternatives: Vec<AlternativeInfo>,
    handshakes: Vec<HandshakeInfo>,
    /// For the table only.
    #[serde(skip)]
    label: String,
}

/// A handshake the preset declares.
#[derive(Debug, Serialize)]
struct HandshakeInfo {
    name: String,
    /// The method of an unsigned request handshake (recognised by its query), `null` for a
    /// signed delivery answered instead of forwarded.
    request: Option<String>,
}

/// A mode of a preset selected by the secret's prefix.
#[derive(Debug, Serialize)]
struct AlternativeInfo {
    key_prefix: String,
    algorithm: &'static str,
    encoding: &'static str,
    signature_headers: Vec<String>,
    signature_format: String,
    timestamp: Option<TimestampInfo>,
    event_id_signed: Option<bool>,
}

#[derive(Debug, Serialize)]
struct TimestampInfo {
    source: String,
    unit: &'static str,
}

#[derive(Debug, Serialize)]
struct ToleranceInfo {
    past: u64,
    future: u64,
}

/// Runs the command.
pub(crate) fn run(args: &PresetsArgs) -> Result<ExitCode, CliError> {
    let list = all()?;
    let text = if args.json {
        let mut s = serde_json::to_string_pretty(&list).map_err(|e| CliError::Write(e.into()))?;
        s.push('\n');
        s
    } else {
        table(&list, args.wide)
    };
    output::stdout(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// Every preset of the core, then `hmac`.
pub(crate) fn all() -> Result<Vec<PresetInfo>, CliError> {
    let mut list: Vec<PresetInfo> = Preset::ALL
        .iter()
        .map(|p| {
            let mut info = describe(&p.scheme(), p.description(), false);
            info.aliases = p.aliases().collect();
            info
        })
        .collect();
    let mut generic = describe(
        &scheme_args::generic_hmac_defaults()?,
        GENERIC_HMAC_DESCRIPTION,
        true,
    );
    // The placeholder header is not part of the preset: the user names it.
    generic.signature_headers.clear();
    generic.name = GENERIC_HMAC.to_owned();
    list.push(generic);
    Ok(list)
}

fn describe(scheme: &Scheme, description: &str, generic: bool) -> PresetInfo {
    let encoding = scheme.encoding().as_str();
    PresetInfo {
        name: scheme.name().to_owned(),
        aliases: Vec::new(),
        description: description.to_owned(),
        algorithm: scheme.algorithm().as_str(),
        encoding,
        signature_headers: signature_headers(scheme),
        signature_format: signature_format(scheme),
        timestamp: timestamp(scheme),
        event_id: match scheme.event_id() {
            EventIdSource::None => None,
            EventIdSource::Header(names) => Some(format!("header:{}", join(names))),
            EventIdSource::JsonField(path) => Some(format!("json:{}", json_pointer(path))),
            _ => Some("other".to_owned()),
        },
        event_id_signed: event_id_signed(scheme),
        event_type: (!scheme.event_type().is_none()).then(|| scheme.event_type().to_string()),
        tolerance_secs: ToleranceInfo {
            past: scheme.tolerance().past.as_secs(),
            future: scheme.tolerance().future.as_secs(),
        },
        body_limit: scheme.body_limit(),
        options: scheme_args::options_of(scheme, generic),
        requires: scheme_args::required_of(scheme),
        alternatives: scheme
            .alternatives()
            .iter()
            .map(|alt| AlternativeInfo {
                key_prefix: match alt.key_format() {
                    KeyFormat::Base64 {
                        prefix: Some(prefix),
                    } => prefix.to_string(),
                    _ => String::new(),
                },
                algorithm: alt.algorithm().as_str(),
                encoding: alt.encoding().as_str(),
                signature_headers: signature_headers(alt),
                signature_format: signature_format(alt),
                timestamp: timestamp(alt),
                event_id_signed: event_id_signed(alt),
            })
            .collect(),
        handshakes: scheme
            .handshakes()
            .iter()
            .map(|h| HandshakeInfo {
                name: h.name().to_owned(),
                request: h.request_method().map(str::to_owned),
            })
            .collect(),
        label: label(scheme),
    }
}

/// Whether the signature covers the event id, derived from the scheme: an id header that is
/// a signed header part, or a JSON member of a body that is signed whole. `None` without an
/// id. (A token signs nothing; Mailgun signs a token, not its body.)
fn event_id_signed(scheme: &Scheme) -> Option<bool> {
    let signs_nothing = scheme.algorithm() == Algorithm::Token;
    let content = scheme.content();
    match scheme.event_id() {
        EventIdSource::None => None,
        EventIdSource::Header(names) => Some(
            !signs_nothing
                && names.iter().all(|name| {
                    content.iter().any(|part| match part {
                        Part::Header(signed) => signed.contains(name),
                        _ => false,
                    })
                }),
        ),
        EventIdSource::JsonField(_) => {
            Some(!signs_nothing && content.iter().any(|part| matches!(part, Part::Body)))
        }
        _ => Some(false),
    }
}

/// `hmac-sha256/hex`, `ed25519/hex`, `token`, … plus `+N` when there are alternatives.
fn label(scheme: &Scheme) -> String {
    let a = scheme.algorithm();
    let mut out = match a {
        Algorithm::Token => "token".to_owned(),
        _ if a.is_hmac() => format!("hmac-{}/{}", a.as_str(), scheme.encoding()),
        _ => format!("{}/{}", a.as_str(), scheme.encoding()),
    };
    for alt in scheme.alternatives() {
        out.push_str(" | ");
        out.push_str(&label(alt));
    }
    out
}

fn signature_headers(scheme: &Scheme) -> Vec<String> {
    scheme
        .signature_header()
        .iter()
        .map(|h| h.as_str().to_owned())
        .collect()
}

fn timestamp(scheme: &Scheme) -> Option<TimestampInfo> {
    scheme.timestamp().map(|t| TimestampInfo {
        source: match &t.source {
            TimestampSource::Header(names) => format!("header:{}", join(names)),
            TimestampSource::SignatureHeader => match scheme.syntax() {
                SignatureSyntax::KeyValue {
                    timestamp_key: Some(key),
                    ..
                } => format!("signature:{key}"),
                _ => "signature".to_owned(),
            },
            TimestampSource::JsonField(path) => format!("json:{}", json_pointer(path)),
            _ => "other".to_owned(),
        },
        unit: t.unit.as_str(),
    })
}

fn join(names: &[HeaderName]) -> String {
    names
        .iter()
        .map(HeaderName::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

/// RFC 6901: `/a/b`, with `~` and `/` escaped inside keys.
fn json_pointer<S: AsRef<str>>(path: &[S]) -> String {
    path.iter().fold(String::new(), |mut out, key| {
        out.push('/');
        out.push_str(&key.as_ref().replace('~', "~0").replace('/', "~1"));
        out
    })
}

fn signature_format(scheme: &Scheme) -> String {
    let encoding = if scheme.algorithm() == Algorithm::Token {
        "secret token"
    } else {
        scheme.encoding().as_str()
    };
    let value = match scheme.syntax() {
        SignatureSyntax::Single { prefix } => format!("{prefix}<{encoding}>"),
        SignatureSyntax::VersionedList { version } => {
            format!("{version},<{encoding}> (space-separated list)")
        }
        SignatureSyntax::KeyValue {
            separator,
            signature_key,
            timestamp_key,
        } => match timestamp_key {
            Some(t) => format!("{t}=<timestamp>{separator}{signature_key}=<{encoding}>"),
            None => format!("{signature_key}=<{encoding}>"),
        },
        SignatureSyntax::Jws(claims) => format!(
            "<JWS {} (pinned) claiming the body's hex SHA-256 in `{}`{}>",
            match scheme.algorithm() {
                Algorithm::HmacSha512 => "HS512",
                _ => "HS256",
            },
            claims.body_sha256_claim(),
            claims
                .required_issuer()
                .map(|i| format!(", iss `{i}`"))
                .unwrap_or_default()
        ),
        _ => format!("<{encoding}>"),
    };
    match scheme.signature_source() {
        SignatureSource::JsonField(path) => format!("json:{} = {value}", json_pointer(path)),
        SignatureSource::QueryParam(name) => format!("query:{name} = {value}"),
        SignatureSource::JsonArrayField { array, field } => format!(
            "json:{}/*{} = {value} (every element)",
            json_pointer(array),
            json_pointer(field)
        ),
        _ => value,
    }
}

/// The columns of the default table (`--wide` prints all of them): name, signature,
/// description.
const NARROW: [usize; 3] = [0, 1, 6];

/// The default table's width: descriptions are cut (with `…`) to fit.
const NARROW_WIDTH: usize = 100;

/// An aligned table; the description goes last and is not padded.
fn table(list: &[PresetInfo], wide: bool) -> String {
    let rows: Vec<[String; 7]> = list
        .iter()
        .map(|p| {
            let signature = if p.signature_headers.is_empty() && p.options.is_empty() {
                p.signature_format.clone()
            } else if p.signature_headers.is_empty() {
                format!("(--signature-header): {}", p.signature_format)
            } else {
                format!("{}: {}", p.signature_headers.join(","), p.signature_format)
            };
            [
                p.name.clone(),
                p.label.clone(),
                signature,
                p.timestamp
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), |t| format!("{} ({})", t.source, t.unit)),
                match (&p.event_id, p.event_id_signed) {
                    (Some(id), Some(true)) => format!("{id} (signed)"),
                    (Some(id), _) => format!("{id} (unsigned)"),
                    (None, _) => "-".to_owned(),
                },
                p.event_type.clone().unwrap_or_else(|| "-".to_owned()),
                p.description.clone(),
            ]
        })
        .collect();
    let titles = [
        "NAME",
        "SIGNATURE",
        "SIGNATURE HEADER",
        "TIMESTAMP",
        "EVENT ID",
        "EVENT TYPE",
        "DESCRIPTION",
    ];
    let columns: Vec<usize> = if wide {
        (0..titles.len()).collect()
    } else {
        NARROW.to_vec()
    };
    let titles: Vec<&str> = columns.iter().map(|&c| titles[c]).collect();
    let rows: Vec<Vec<&str>> = rows
        .iter()
        .map(|row| columns.iter().map(|&c| row[c].as_str()).collect())
        .collect();
    let mut widths: Vec<usize> = titles.iter().map(|t| t.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    // Room left for the description, which is never padded.
    let room = if wide {
        usize::MAX
    } else {
        let before: usize = widths.iter().rev().skip(1).map(|w| w + 2).sum();
        NARROW_WIDTH.saturating_sub(before).max(20)
    };
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let last = cells.len().saturating_sub(1);
        for (i, (cell, &w)) in cells.iter().zip(&widths).enumerate() {
            if i == last && cell.chars().count() > room {
                out.extend(cell.chars().take(room.saturating_sub(1)));
                out.push('…');
            } else if i == last {
                out.push_str(cell);
            } else {
                let _ = write!(out, "{cell:<w$}  ");
            }
        }
        out.push('\n');
    };
    line(&titles);
    for row in &rows {
        line(row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_core_preset_then_hmac() {
        let list = all().unwrap();
        let names: Vec<&str> = list.iter().map(|p| p.name.as_str()).collect();
        let mut expected: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
        expected.push("hmac");
        assert_eq!(names, expected);
    }

    #[test]
    fn descriptions_follow_the_schemes() {
        let list = all().unwrap();
        let get = |n: &str| list.iter().find(|p| p.name == n).unwrap();
        let stripe = serde_json::to_value(get("stripe")).unwrap();
        assert_eq!(
            stripe,
            serde_json::json!({
                "name": "stripe",
                "aliases": [],
                "description": Preset::Stripe.description(),
                "algorithm": "sha256",
                "encoding": "hex",
                "signature_headers": ["stripe-signature"],
                "signature_format": "t=<timestamp>,v1=<hex>",
                "timestamp": {"source": "signature:t", "unit": "seconds"},
                "event_id": "json:/id",
                "event_id_signed": true,
                "event_type": "json:/type",
                "tolerance_secs": {"past": 300, "future": 300},
                "body_limit": 1_048_576,
                "options": [],
                "requires": [],
                "alternatives": [],
                "handshakes": [],
            })
        );
        let meta = serde_json::to_value(get("meta")).unwrap();
        assert_eq!(
            meta["handshakes"],
            serde_json::json!([{"name": "hub.challenge", "request": "GET"}])
        );
        let slack = serde_json::to_value(get("slack")).unwrap();
        assert_eq!(
            slack["handshakes"],
            serde_json::json!([{"name": "url_verification", "request": null}])
        );
        assert_eq!(
            get("api-key-query").signature_format,
            "query:api_key = <secret token>"
        );
        let svix = get("svix");
        assert_eq!(
            svix.signature_headers,
            ["svix-signature", "webhook-signature"]
        );
        assert_eq!(svix.event_id.as_deref(), Some("header:svix-id,webhook-id"));
        assert_eq!(
            get("slack").timestamp.as_ref().unwrap().source,
            "header:x-slack-request-timestamp"
        );
        assert_eq!(
            get("github").event_id.as_deref(),
            Some("header:x-github-delivery")
        );
        assert_eq!(get("github").body_limit, 25 * 1024 * 1024);
        assert_eq!(
            get("github").event_type.as_deref(),
            Some("header:x-github-event+json:/action")
        );
        assert_eq!(
            get("shopify").event_type.as_deref(),
            Some("header:x-shopify-topic")
        );
        assert_eq!(get("twilio").event_type, None);
        assert_eq!(get("intuit").aliases, ["quickbooks"]);
        // The key is present (null) on every preset, with or without an event type.
        for p in &list {
            let v = serde_json::to_value(p).unwrap();
            assert!(
                v.as_object().unwrap().contains_key("event_type"),
                "{}",
                p.name
            );
        }
        let hmac = get("hmac");
        assert!(hmac.signature_headers.is_empty());
        assert!(hmac.timestamp.is_none() && hmac.event_id.is_none() && hmac.event_type.is_none());
        assert_eq!(hmac.options.len(), 4);
    }

    #[test]
    fn json_pointer_escapes() {
        assert_eq!(json_pointer(&["data", "a/b~c"]), "/data/a~1b~0c");
    }

    #[test]
    fn table_is_aligned() {
        let t = table(&all().unwrap(), true);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), Preset::ALL.len() + 2);
        let col = lines[0].find("SIGNATURE HEADER").unwrap();
        for l in &lines[1..] {
            // Every row's third column starts at the same position (names are ASCII).
            assert_eq!(&l[col - 2..col], "  ", "{l}");
            assert_ne!(&l[col..col + 1], " ", "{l}");
        }
    }

    #[test]
    fn the_default_table_is_narrow() {
        let list = all().unwrap();
        let narrow = table(&list, false);
        let lines: Vec<&str> = narrow.lines().collect();
        assert_eq!(lines.len(), list.len() + 1);
        assert!(lines[0].starts_with("NAME"), "{narrow}");
        assert!(lines[0].ends_with("DESCRIPTION"), "{narrow}");
        assert!(!narrow.contains("EVENT ID"), "{narrow}");
        let wide = table(&list, true);
        let widest = |t: &str| t.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(widest(&narrow) <= NARROW_WIDTH, "{narrow}");
        assert!(widest(&narrow) < widest(&wide), "{narrow}");
        // Cut descriptions end in `…`; the wide table has them whole.
        let stripe = Preset::Stripe.description();
        assert!(wide.contains(stripe));
        assert!(
            narrow
                .lines()
                .any(|l| l.starts_with("stripe ") && l.ends_with('…'))
                || narrow.contains(stripe)
        );
    }

    #[test]
    fn which_presets_sign_their_event_id() {
        let list = all().unwrap();
        let signed = |name: &str| {
            let p = list.iter().find(|p| p.name == name).unwrap();
            (
                p.event_id_signed,
                p.alternatives
                    .iter()
                    .map(|a| a.event_id_signed)
                    .collect::<Vec<_>>(),
            )
        };
        // Signed: a signed id header, or an id inside a body that is signed whole.
        assert_eq!(signed("standard-webhooks"), (Some(true), vec![Some(true)]));
        assert_eq!(signed("stripe").0, Some(true));
        assert_eq!(signed("twitch").0, Some(true));
        // Unsigned: delivery headers outside the signature, a token, Mailgun's unsigned body.
        for name in [
            "github",
            "shopify",
            "twilio",
            "linear",
            "woocommerce",
            "mailgun",
        ] {
            assert_eq!(signed(name).0, Some(false), "{name}");
        }
        assert_eq!(signed("gitlab"), (Some(false), vec![Some(true)]));
        assert_eq!(signed("zoom").0, None);
        let table = table(&list, true);
        assert!(
            table.contains("header:x-github-delivery (unsigned)"),
            "{table}"
        );
        assert!(table.contains("json:/id (signed)"), "{table}");
    }
}
