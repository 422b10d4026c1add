//! The content template of a scheme file: `{timestamp}.{body}` into [`Part`]s.

use std::borrow::Cow;

use crate::content::Part;
use crate::form::FormParams;
use crate::header::parse_header_name;
use crate::url::UrlPart;

use super::SchemeFileError;
use super::file::At;

/// Parses a content template into parts.
pub(super) fn parse_template(
    at: &At<'_>,
    template: &str,
    url: &UrlPart,
    form: &FormParams,
) -> Result<Vec<Part>, SchemeFileError> {
    let bad = |reason: String| at.field("content", reason);
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut chars = template.char_indices().peekable();
    let flush = |literal: &mut String, parts: &mut Vec<Part>| {
        if !literal.is_empty() {
            parts.push(Part::Literal(Cow::Owned(
                std::mem::take(literal).into_bytes(),
            )));
        }
    };
    while let Some((pos, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|&(_, n)| n) == Some('{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek().map(|&(_, n)| n) == Some('}') => {
                chars.next();
                literal.push('}');
            }
            '}' => return Err(bad(format!("unmatched `}}` at byte {pos}"))),
            '{' => {
                let rest = template.get(pos.saturating_add(1)..).unwrap_or_default();
                let Some(end) = rest.find('}') else {
                    return Err(bad(format!("unclosed `{{` at byte {pos}")));
                };
                let name = rest.get(..end).unwrap_or_default();
                for _ in 0..=name.chars().count() {
                    chars.next();
                }
                flush(&mut literal, &mut parts);
                let part = match name.split_once(':') {
                    None => match name {
                        "body" => Part::Body,
                        "timestamp" => Part::Timestamp,
                        "method" => Part::Method,
                        "url" => Part::Url(url.clone()),
                        "form" => Part::FormParams(form.clone()),
                        _ => return Err(bad(format!("unknown placeholder `{{{name}}}`"))),
                    },
                    Some(("header", h)) => {
                        Part::Header(vec![parse_header_name(h).map_err(|_| {
                            bad(format!("`{h}` in `{{{name}}}` is not a header name"))
                        })?])
                    }
                    Some(("json", p)) => Part::JsonField(at.json_path("content", p)?),
                    Some(_) => return Err(bad(format!("unknown placeholder `{{{name}}}`"))),
                };
                parts.push(part);
            }
            other => literal.push(other),
        }
    }
    flush(&mut literal, &mut parts);
    Ok(parts)
}
