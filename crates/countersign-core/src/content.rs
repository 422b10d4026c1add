//! Streaming a scheme's signed content into a MAC (or another sink), part by part, so the
//! content is never concatenated or re-encoded.

use crate::algorithm::Sink;
use crate::scheme::Part;

/// Where the values of the content parts come from (a received delivery or one being signed).
pub(crate) trait ContentSource {
    fn body(&self) -> &[u8];
    /// The timestamp text exactly as sent.
    fn timestamp(&self) -> &[u8];
    /// The value of the `index`-th [`Part::Header`] of the content.
    fn header(&self, index: usize) -> &[u8];
}

pub(crate) fn feed(content: &[Part], src: &impl ContentSource, sink: &mut impl Sink) {
    let mut header_index = 0usize;
    for part in content {
        match part {
            Part::Body => sink.update(src.body()),
            Part::Timestamp => sink.update(src.timestamp()),
            Part::Header(_) => {
                sink.update(src.header(header_index));
                header_index = header_index.saturating_add(1);
            }
            Part::Literal(bytes) => sink.update(bytes),
        }
    }
}
