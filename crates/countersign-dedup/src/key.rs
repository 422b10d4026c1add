//! Deduplication keys and fencing tokens.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// Longest scope or event id kept verbatim in a key; longer ones are hashed.
pub const MAX_PLAIN_KEY_PART: usize = 128;

/// Which event a delivery belongs to: scope (preset) and event id, encoded for stores.
///
/// A [`DedupKey`] is a scope (the preset, e.g. `stripe`) and the provider's event id, encoded
/// once into a bounded string. Each part is kept as is when it is short (≤ 128 bytes) and made
/// of `[A-Za-z0-9._-]`; anything else — long ids, ids with spaces, braces or non-ASCII bytes —
/// becomes `#` and the hex SHA-256 of the part. The encoding is injective (a kept part never
/// starts with `#` and never contains `:`), at most 2 × 65 + 1 bytes long, and never contains
/// `{` or `}`, so a store can wrap it in a Redis Cluster hash tag.
///
/// ```
/// use countersign_dedup::DedupKey;
///
/// let key = DedupKey::new("stripe", "evt_1NG8Du2eZvKYlo2C");
/// assert_eq!(key.as_str(), "stripe:evt_1NG8Du2eZvKYlo2C");
///
/// // Long or unusual ids are hashed into a fixed-size part.
/// let long = DedupKey::new("github", &"x".repeat(5000));
/// assert!(long.as_str().starts_with("github:#"));
/// assert_eq!(long.as_str().len(), "github:#".len() + 64);
/// assert_ne!(DedupKey::new("a", "b{c}"), DedupKey::new("a", "bc"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DedupKey {
    encoded: Arc<str>,
}

impl DedupKey {
    /// The key of event `event_id` within `scope` (usually the preset name).
    #[must_use]
    pub fn new(scope: &str, event_id: &str) -> Self {
        let mut encoded = String::with_capacity(2 * 65 + 1);
        push_part(&mut encoded, scope);
        encoded.push(':');
        push_part(&mut encoded, event_id);
        DedupKey {
            encoded: encoded.into(),
        }
    }

    /// The encoded key, `<scope>:<event id>` with long or unusual parts hashed.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.encoded
    }

    pub(crate) fn shared(&self) -> &Arc<str> {
        &self.encoded
    }
}

fn is_plain(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= MAX_PLAIN_KEY_PART
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn push_part(out: &mut String, part: &str) {
    if is_plain(part) {
        out.push_str(part);
    } else {
        out.push('#');
        out.push_str(&hex::encode(Sha256::digest(part.as_bytes())));
    }
}

impl fmt::Debug for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DedupKey").field(&&*self.encoded).finish()
    }
}

impl fmt::Display for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encoded)
    }
}

/// One claim attempt on a key: the key and a fresh 128-bit fence.
///
/// The fence is what makes a claim *fenced*: [`complete`] and [`release`] change the key only
/// while it still holds this token's claim, so a claimer whose lease expired can never
/// overwrite or delete a newer claim. A token is created *before* the claim is sent, so a
/// claim whose reply never arrived (the request was cancelled, the reply timed out) can still
/// be released.
///
/// Fences are unique: a per-process random 64-bit seed and a 64-bit counter.
///
/// [`complete`]: crate::DedupStore::complete
/// [`release`]: crate::DedupStore::release
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Token {
    key: DedupKey,
    fence: u128,
}

impl Token {
    /// A new claim attempt on `key` with a fence no other token has.
    #[must_use]
    pub fn new(key: DedupKey) -> Self {
        static SEED: LazyLock<u64> = LazyLock::new(|| {
            // RandomState is seeded from the OS; mixing in time and pid covers forks.
            let mut h = RandomState::new().build_hasher();
            h.write_u32(std::process::id());
            if let Ok(d) = SystemTime::now().duration_since(UNIX_EPOCH) {
                h.write_u128(d.as_nanos());
            }
            h.finish()
        });
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        Token {
            key,
            fence: (u128::from(*SEED) << 64) | u128::from(n),
        }
    }

    /// The key this token claims.
    #[must_use]
    pub fn key(&self) -> &DedupKey {
        &self.key
    }

    /// The fence: stores keep it with the claim and compare it on complete/release.
    #[must_use]
    pub fn fence(&self) -> u128 {
        self.fence
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("key", &self.key)
            .field("fence", &format_args!("{:032x}", self.fence))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_parts_are_kept() {
        assert_eq!(
            DedupKey::new("standard-webhooks", "msg_2KWPBgLlAfxdpx2AI54pPJ85f1W").as_str(),
            "standard-webhooks:msg_2KWPBgLlAfxdpx2AI54pPJ85f1W"
        );
        let uuid = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
        assert_eq!(
            DedupKey::new("github", uuid).as_str(),
            format!("github:{uuid}")
        );
    }

    #[test]
    fn boundary_lengths() {
        let at = "a".repeat(MAX_PLAIN_KEY_PART);
        let over = "a".repeat(MAX_PLAIN_KEY_PART + 1);
        assert_eq!(DedupKey::new("s", &at).as_str(), format!("s:{at}"));
        assert!(DedupKey::new("s", &over).as_str().starts_with("s:#"));
    }

    #[test]
    fn fences_are_unique() {
        let key = DedupKey::new("s", "e");
        let a = Token::new(key.clone());
        let b = Token::new(key);
        assert_ne!(a.fence(), b.fence());
        assert_eq!(a.key(), b.key());
    }

    proptest! {
        #[test]
        fn encoding_is_bounded_injective_and_tag_safe(
            s1 in ".{0,200}", i1 in ".{0,300}", s2 in ".{0,200}", i2 in ".{0,300}"
        ) {
            let a = DedupKey::new(&s1, &i1);
            let b = DedupKey::new(&s2, &i2);
            prop_assert!(a.as_str().len() <= 2 * 65 + 1);
            let tag_safe = !a.as_str().contains(['{', '}']);
            prop_assert!(tag_safe, "{:?}", a);
            prop_assert_eq!(a == b, (s1, i1) == (s2, i2));
        }

        #[test]
        fn plain_ids_round_trip(id in "[A-Za-z0-9._-]{1,128}") {
            let key = DedupKey::new("p", &id);
            prop_assert_eq!(key.as_str().strip_prefix("p:"), Some(id.as_str()));
        }
    }
}
