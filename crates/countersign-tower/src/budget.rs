//! [`BodyBudget`]: a bound on the request-body bytes held in memory before (and while)
//! they are verified, shared by every layer and route that gets a clone.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// `Retry-After` of a `503` answered because the budget is exhausted: 1 s.
pub const DEFAULT_BUDGET_RETRY_AFTER: Duration = Duration::from_secs(1);

/// A process-wide budget of request-body bytes in memory: every body a
/// [`VerifyLayer`](crate::VerifyLayer) buffers is counted against it, from the moment it is
/// read until the buffered bytes are dropped.
///
/// The body limit bounds one request; the budget bounds all of them together, so that a
/// burst of large bodies with bogus signatures cannot take the process's memory (32
/// concurrent 25 MiB uploads would otherwise hold 800 MiB before a single signature is
/// checked). A request that declares its `Content-Length` reserves that much before its body
/// is read; a body without one reserves chunk by chunk as it arrives. When the reservation
/// does not fit, the request is answered `503 Service Unavailable` with `Retry-After` and
/// `Connection: close` — before its body is read when the length was declared — and the
/// rejection is [`VerifyRejection::BudgetExhausted`](crate::VerifyRejection::BudgetExhausted).
///
/// The reservation is returned when the last handle on the verified bytes is dropped: the
/// [`VerifiedBody`](crate::VerifiedBody), or the `Bytes` taken out of it with
/// [`into_bytes`](crate::VerifiedBody::into_bytes), and their clones.
///
/// Cheap to clone (one `Arc`); clones share the count. Give the same budget to every layer
/// that should share it.
///
/// ```
/// use countersign_tower::{BodyBudget, Preset, Verifier, VerifyLayer};
///
/// // 256 MiB for every route together.
/// let budget = BodyBudget::new(256 * 1024 * 1024);
/// let github = VerifyLayer::builder(Verifier::new(Preset::Github, "s1")?)
///     .body_budget(budget.clone())
///     .build()?;
/// let stripe = VerifyLayer::builder(Verifier::new(Preset::Stripe, "whsec_s2")?)
///     .body_budget(budget.clone())
///     .build()?;
/// assert_eq!(budget.in_use(), 0);
/// # let _ = (github, stripe);
///
/// // A budget smaller than a body the layer accepts is refused when the layer is built.
/// let small = BodyBudget::new(1024 * 1024);
/// let github = Verifier::new(Preset::Github, "s")?; // 25 MiB body limit
/// assert!(VerifyLayer::builder(github).body_budget(small).build().is_err());
/// # Ok::<(), countersign_tower::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct BodyBudget {
    shared: Arc<Shared>,
    retry_after: Duration,
}

struct Shared {
    capacity: usize,
    used: AtomicUsize,
}

impl BodyBudget {
    /// A budget of `bytes`, with [`DEFAULT_BUDGET_RETRY_AFTER`].
    #[must_use]
    pub fn new(bytes: usize) -> Self {
        BodyBudget {
            shared: Arc::new(Shared {
                capacity: bytes,
                used: AtomicUsize::new(0),
            }),
            retry_after: DEFAULT_BUDGET_RETRY_AFTER,
        }
    }

    /// The `Retry-After` sent with the `503` (rounded up to whole seconds, at least 1).
    #[must_use]
    pub fn retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = delay;
        self
    }

    /// The budget, in bytes.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// Bytes reserved now.
    #[must_use]
    pub fn in_use(&self) -> usize {
        self.shared.used.load(Ordering::Relaxed)
    }

    pub(crate) fn retry_after_secs(&self) -> u64 {
        let d = self.retry_after;
        (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
    }

    /// Reserves `bytes`, or `None` when they do not fit. A reservation of 0 bytes fails when
    /// the budget is already used up.
    pub(crate) fn try_reserve(&self, bytes: usize) -> Option<Reservation> {
        if self.in_use() >= self.capacity() {
            return None;
        }
        let mut reservation = Reservation {
            shared: Arc::clone(&self.shared),
            bytes: 0,
        };
        reservation.try_grow(bytes).then_some(reservation)
    }
}

impl fmt::Debug for BodyBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyBudget")
            .field("capacity", &self.capacity())
            .field("in_use", &self.in_use())
            .field("retry_after", &self.retry_after)
            .finish()
    }
}

/// Bytes held against a [`BodyBudget`]; returned on drop.
pub(crate) struct Reservation {
    shared: Arc<Shared>,
    bytes: usize,
}

impl Reservation {
    /// Reserves `more` bytes in addition; `false` (and nothing reserved) when they do not fit.
    pub(crate) fn try_grow(&mut self, more: usize) -> bool {
        let capacity = self.shared.capacity;
        let grown = self
            .shared
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(more).filter(|total| *total <= capacity)
            })
            .is_ok();
        if grown {
            self.bytes = self.bytes.saturating_add(more);
        }
        grown
    }

    /// Bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Gives back what exceeds `bytes`.
    pub(crate) fn shrink_to(&mut self, bytes: usize) {
        let excess = self.bytes.saturating_sub(bytes);
        if excess > 0 {
            self.shared.used.fetch_sub(excess, Ordering::AcqRel);
            self.bytes = bytes;
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.shared.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

impl fmt::Debug for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
            .field("bytes", &self.bytes)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_add_up_and_return_on_drop() {
        let budget = BodyBudget::new(100);
        let mut a = budget.try_reserve(60).unwrap();
        assert_eq!(budget.in_use(), 60);
        assert!(budget.try_reserve(41).is_none(), "does not fit");
        assert_eq!(budget.in_use(), 60, "a failed reservation holds nothing");
        let b = budget.try_reserve(40).unwrap();
        assert!(
            budget.try_reserve(0).is_none(),
            "used up: even 0 is refused"
        );
        assert!(!a.try_grow(1));
        drop(b);
        assert!(a.try_grow(40));
        assert_eq!(a.bytes(), 100);
        drop(a);
        assert_eq!(budget.in_use(), 0);
        assert!(budget.clone().try_reserve(usize::MAX).is_none());
        assert_eq!(
            budget
                .retry_after(Duration::from_millis(1500))
                .retry_after_secs(),
            2
        );
    }
}
