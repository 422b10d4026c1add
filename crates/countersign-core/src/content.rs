//! Streaming a scheme's signed content into a MAC (or another sink), part by part, so the
//! content is never concatenated or re-encoded.

use crate::algorithm::Sink;
use crate::scheme::Part;

/// The values of the content parts, for a received delivery or one being signed. Every
/// value is borrowed; building one allocates nothing.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Inputs<'a> {
    pub(crate) body: &'a [u8],
    /// The timestamp text exactly as sent.
    pub(crate) timestamp: &'a [u8],
    /// The values of the [`Part::Header`] parts, in content order.
    pub(crate) headers: &'a [&'a [u8]],
    /// The values of the [`Part::JsonField`] parts, in content order.
    pub(crate) json: &'a [&'a [u8]],
    pub(crate) method: &'a [u8],
    /// The URL, already written the way the scheme signs it.
    pub(crate) url: &'a [u8],
    /// The canonical form-parameter string.
    pub(crate) form: &'a [u8],
}

pub(crate) fn feed(content: &[Part], src: &Inputs<'_>, sink: &mut dyn Sink) {
    let mut headers = src.headers.iter();
    let mut json = src.json.iter();
    for part in content {
        match part {
            Part::Body => sink.update(src.body),
            Part::Timestamp => sink.update(src.timestamp),
            Part::Header(_) => sink.update(headers.next().copied().unwrap_or(&[])),
            Part::Literal(bytes) => sink.update(bytes),
            Part::Method => sink.update(src.method),
            Part::Url(_) => sink.update(src.url),
            Part::FormParams(_) => sink.update(src.form),
            Part::JsonField(_) => sink.update(json.next().copied().unwrap_or(&[])),
        }
    }
}
