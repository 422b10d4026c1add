//! The README's provider table is generated from the preset definitions, so it cannot drift:
//! this test renders the table from [`Preset::ALL`] and compares it with the README section
//! between `<!-- providers:start -->` and `<!-- providers:end -->`.
//!
//! To regenerate it after changing a preset: `UPDATE_README=1 cargo test -p countersign-core
//! --test provider_table`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::fmt::Write as _;

use countersign_core::{
    EventIdSource, EventTypePart, Preset, Scheme, SignatureSource, TimestampSource,
};

const START: &str = "<!-- providers:start -->";
const END: &str = "<!-- providers:end -->";

fn code(names: impl IntoIterator<Item = impl AsRef<str>>, sep: &str) -> String {
    names
        .into_iter()
        .map(|n| format!("`{}`", n.as_ref()))
        .collect::<Vec<_>>()
        .join(sep)
}

fn selector(s: &Scheme) -> String {
    match s.key_format() {
        countersign_core::KeyFormat::Base64 { prefix: Some(p) } => format!("`{p}` key: "),
        _ => String::new(),
    }
}

fn headers(p: Preset) -> String {
    let s = p.scheme();
    let mut out = code(s.header_names().iter().map(|h| h.as_str()), ", ");
    match s.signature_source() {
        SignatureSource::JsonField(path) => {
            out = format!("signature in the JSON body (`{}`)", path.join("."));
        }
        SignatureSource::QueryParam(name) => {
            out = format!("query parameter `{name}`");
            return out;
        }
        SignatureSource::JsonArrayField { array, field } => {
            out = format!(
                "token in every element of the JSON body's `{}` (`{}`)",
                array.join("."),
                field.join(".")
            );
        }
        _ => {}
    }
    if s.needs_method() {
        out.push_str(" + method");
    }
    if s.needs_url() {
        out.push_str(" + URL");
    }
    out
}

fn algorithm(s: &Scheme) -> String {
    if s.algorithm() == countersign_core::Algorithm::Token {
        return "token equality".to_owned();
    }
    if let countersign_core::SignatureSyntax::Jws(claims) = s.syntax() {
        let alg = match s.algorithm() {
            countersign_core::Algorithm::HmacSha512 => "HS512",
            _ => "HS256",
        };
        return format!(
            "JWS {alg} (pinned), body hash in claim `{}`",
            claims.body_sha256_claim()
        );
    }
    let mut out = format!("{} ({})", s.algorithm(), s.encoding());
    if let Some(c) = s.sender_choices() {
        let algs: Vec<_> = c.algorithms.iter().map(|a| a.as_str()).collect();
        let encs: Vec<_> = c.encodings.iter().map(|e| e.as_str()).collect();
        write!(out, "; or {} × {}", algs.join("/"), encs.join("/")).unwrap();
    }
    out
}

fn tolerance(s: &Scheme) -> String {
    let Some(ts) = s.timestamp() else {
        return "—".to_owned();
    };
    let t = s.tolerance();
    let secs = if t.past == t.future {
        format!("{} s", t.past.as_secs())
    } else {
        format!(
            "{} s past, {} s future",
            t.past.as_secs(),
            t.future.as_secs()
        )
    };
    let unit = match ts.unit.as_str() {
        "milliseconds" => ", ms",
        "rfc3339" => ", RFC 3339",
        _ => "",
    };
    let place = match &ts.source {
        TimestampSource::JsonField(path) => format!(", in body `{}`", path.join(".")),
        _ => String::new(),
    };
    format!("{secs}{unit}{place}")
}

fn event_id(s: &Scheme) -> String {
    match s.event_id() {
        EventIdSource::Header(names) => code(names.iter().map(|h| h.as_str()), " or "),
        EventIdSource::JsonField(path) => format!("JSON `{}`", path.join(".")),
        _ => "—".to_owned(),
    }
}

fn event_type(s: &Scheme) -> String {
    let parts: Vec<String> = s
        .event_type()
        .parts()
        .iter()
        .map(|part| match part {
            EventTypePart::Header(name) => format!("`{name}`"),
            EventTypePart::JsonField(path) => format!("JSON `{}`", path.join(".")),
            _ => "other".to_owned(),
        })
        .collect();
    if parts.is_empty() {
        return "—".to_owned();
    }
    parts.join(" + ")
}

/// One value when every mode agrees; otherwise each mode's, labelled by its key prefix.
fn each(s: &Scheme, f: fn(&Scheme) -> String) -> String {
    let modes: Vec<&Scheme> = std::iter::once(s).chain(s.alternatives()).collect();
    let values: Vec<String> = modes.iter().map(|m| f(m)).collect();
    if values.iter().all(|v| *v == values[0]) {
        return values[0].clone();
    }
    modes
        .iter()
        .zip(values)
        .map(|(m, v)| format!("{}{v}", selector(m)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The scheme's handshakes by name (answered by the tower layer when it opts in).
fn handshakes(s: &Scheme) -> String {
    let names: Vec<String> = s
        .handshakes()
        .iter()
        .map(|h| match h.request_method() {
            // Unsigned request handshakes: the method and the query parameter.
            Some(method) => format!("{method} `{}`", h.name()),
            None => h.name().to_owned(),
        })
        .collect();
    if names.is_empty() {
        return "—".to_owned();
    }
    names.join(", ")
}

fn render() -> String {
    let mut t = String::from(
        "| preset | headers | algorithm | tolerance | event id | event type | handshake |\n|---|---|---|---|---|---|---|\n",
    );
    for &p in Preset::ALL {
        let s = p.scheme();
        writeln!(
            t,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            p.name(),
            headers(p),
            each(&s, algorithm),
            each(&s, tolerance),
            each(&s, event_id),
            event_type(&s),
            handshakes(&s),
        )
        .unwrap();
    }
    t
}

#[test]
fn readme_provider_table_matches_the_presets() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let start = readme
        .find(START)
        .expect("README lacks <!-- providers:start -->")
        + START.len();
    let end = readme
        .find(END)
        .expect("README lacks <!-- providers:end -->");
    let expected = format!("\n{}", render());
    if readme[start..end] != expected {
        if std::env::var_os("UPDATE_README").is_some() {
            let updated = format!("{}{expected}{}", &readme[..start], &readme[end..]);
            std::fs::write(path, updated).unwrap();
            return;
        }
        panic!(
            "README's provider table is out of date; run `UPDATE_README=1 cargo test -p countersign-core --test provider_table`, or paste:\n{expected}"
        );
    }
}
