//! `application/x-www-form-urlencoded` parameters as Twilio signs them: decoded, sorted by
//! name then value, exact duplicates removed, written as `name` `value` with no separators.
//!
//! Parsing follows the WHATWG URL standard: `&`-separated pairs, the first `=` splits name
//! from value, `+` is a space, `%XX` is a byte and a malformed `%` stays as it is. The body
//! need not be UTF-8.
//!
//! The cost is linear in the body with a small constant: at most [`MAX_FORM_PARAMS`]
//! parameters (counted before anything is decoded), decoded into one buffer, sorted as
//! ranges of it. Memory is bounded by twice the body, which the verifier bounds.

use std::ops::Range;

/// Most parameters a signed form body may have; more is `malformed_body`, refused before
/// anything is decoded. Twilio's requests carry a few dozen.
pub(crate) const MAX_FORM_PARAMS: usize = 1000;

use std::borrow::Cow;

/// How a [`Part::FormParams`](crate::Part::FormParams) handles bodies that are not form data.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FormParams {
    /// A query parameter of the URL that, when present, says the body is not form data but
    /// is covered by its SHA-256 (lowercase hex) carried in that parameter: the part then
    /// contributes nothing and the body's digest must match (Twilio's `bodySHA256` for JSON
    /// bodies).
    pub body_hash_param: Option<Cow<'static, str>>,
}

impl FormParams {
    /// Sorted form parameters, no body-hash variant.
    #[must_use]
    pub fn sorted() -> Self {
        FormParams::default()
    }

    /// Sorted form parameters, or the body's SHA-256 in query parameter `name`.
    #[must_use]
    pub fn or_body_hash_in(name: &'static str) -> Self {
        FormParams {
            body_hash_param: Some(Cow::Borrowed(name)),
        }
    }
}

/// Decodes one form component.
pub(crate) fn decode(component: &[u8], plus_is_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(component.len());
    decode_into(component, plus_is_space, &mut out);
    out
}

/// Decodes one form component onto the end of `out`.
fn decode_into(component: &[u8], plus_is_space: bool, out: &mut Vec<u8>) {
    let mut i = 0usize;
    while let Some(&b) = component.get(i) {
        let hex = |k: usize| component.get(k).and_then(|&c| (c as char).to_digit(16));
        match b {
            b'%' => match (hex(i.saturating_add(1)), hex(i.saturating_add(2))) {
                (Some(hi), Some(lo)) => {
                    out.push(
                        u8::try_from(hi.saturating_mul(16).saturating_add(lo)).unwrap_or(b'%'),
                    );
                    i = i.saturating_add(3);
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            other => out.push(other),
        }
        i = i.saturating_add(1);
    }
}

/// The non-empty `&`-separated pairs of a form, split into raw name and value.
fn raw_pairs(encoded: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    encoded
        .split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.iter().position(|&b| b == b'=') {
            Some(i) => (
                pair.get(..i).unwrap_or_default(),
                pair.get(i.saturating_add(1)..).unwrap_or_default(),
            ),
            None => (pair, &[][..]),
        })
}

/// The decoded `(name, value)` pairs of a form-encoded string, in order.
pub(crate) fn pairs(encoded: &[u8]) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + '_ {
    raw_pairs(encoded).map(|(name, value)| (decode(name, true), decode(value, true)))
}

/// Twilio's canonical parameter string of a form-encoded body; `None` when the body has
/// more than [`MAX_FORM_PARAMS`] parameters.
pub(crate) fn canonical(body: &[u8]) -> Option<Vec<u8>> {
    // Counted first: a body of many tiny parameters is refused before anything is decoded.
    let count = raw_pairs(body)
        .take(MAX_FORM_PARAMS.saturating_add(1))
        .count();
    if count > MAX_FORM_PARAMS {
        return None;
    }
    // Every name and value decoded into one buffer; the pairs are ranges of it.
    let mut decoded = Vec::with_capacity(body.len());
    let mut pairs: Vec<(Range<usize>, Range<usize>)> = Vec::with_capacity(count);
    for (name, value) in raw_pairs(body) {
        let start = decoded.len();
        decode_into(name, true, &mut decoded);
        let mid = decoded.len();
        decode_into(value, true, &mut decoded);
        pairs.push((start..mid, mid..decoded.len()));
    }
    let text = |r: &Range<usize>| decoded.get(r.clone()).unwrap_or_default();
    let key = |p: &(Range<usize>, Range<usize>)| (text(&p.0), text(&p.1));
    pairs.sort_unstable_by(|a, b| key(a).cmp(&key(b)));
    pairs.dedup_by(|a, b| key(a) == key(b));
    let mut out = Vec::with_capacity(decoded.len());
    for (name, value) in &pairs {
        out.extend_from_slice(text(name));
        out.extend_from_slice(text(value));
    }
    Some(out)
}

/// The decoded value of the first query parameter called `name` in `url`.
pub(crate) fn query_param(url: &[u8], name: &[u8]) -> Option<Vec<u8>> {
    let without_fragment = url.split(|&b| b == b'#').next().unwrap_or_default();
    let query_start = without_fragment.iter().position(|&b| b == b'?')?;
    let query = without_fragment.get(query_start.saturating_add(1)..)?;
    pairs(query).find(|(n, _)| n == name).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(body: &[u8]) -> Vec<u8> {
        super::canonical(body).unwrap()
    }

    #[test]
    fn twilio_docs_example() {
        let body = b"CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212";
        assert_eq!(
            canonical(body),
            b"CallSidCA1234567890ABCDECaller+12349013030Digits1234From+12349013030To+18005551212"
        );
    }

    #[test]
    fn sorted_by_name_then_value_and_deduplicated() {
        assert_eq!(canonical(b"b=2&a=z&a=y&a=z&c"), b"ayazb2c");
        assert_eq!(canonical(b"x=a+b%20c%zz%4"), b"xa b c%zz%4");
        assert_eq!(canonical(b"&&=v&"), b"v");
        assert_eq!(canonical(b""), b"");
        // Sorted on the decoded bytes, names before values.
        assert_eq!(canonical(b"b=1&a%62=0&a=2"), b"a2ab0b1");
    }

    #[test]
    fn parameters_are_capped() {
        let at_cap = "a&".repeat(MAX_FORM_PARAMS);
        assert_eq!(canonical(at_cap.as_bytes()), b"a");
        let over = "a&".repeat(MAX_FORM_PARAMS + 1);
        assert_eq!(super::canonical(over.as_bytes()), None);
        // Empty pairs do not count.
        let sparse = format!("{}a", "&".repeat(100_000));
        assert_eq!(canonical(sparse.as_bytes()), b"a");
    }

    proptest::proptest! {
        #[test]
        fn canonical_does_not_panic_and_is_order_independent(
            pairs in proptest::collection::vec(("[a-z%+=]{0,4}", "[a-z%+&]{0,4}"), 0..8),
            junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        ) {
            let _ = super::canonical(&junk);
            let _ = query_param(&junk, b"bodySHA256");
            let encode = |v: &[(String, String)]| {
                v.iter().map(|(n, x)| format!("{}={}", n.replace(['&', '='], ""), x.replace('&', ""))).collect::<Vec<_>>().join("&")
            };
            let mut reversed = pairs.clone();
            reversed.reverse();
            proptest::prop_assert_eq!(canonical(encode(&pairs).as_bytes()), canonical(encode(&reversed).as_bytes()));
        }
    }

    #[test]
    fn query_params() {
        let url = b"https://e.com/x?a=1&bodySHA256=ab%63#bodySHA256=zz";
        assert_eq!(query_param(url, b"bodySHA256"), Some(b"abc".to_vec()));
        assert_eq!(query_param(url, b"zz"), None);
        assert_eq!(query_param(b"https://e.com/x#?a=1", b"a"), None);
    }
}
