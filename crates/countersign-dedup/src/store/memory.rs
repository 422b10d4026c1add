//! [`MemoryStore`]: the embedded default store — bounded, TTL-expiring, sharded, no
//! background thread.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use http::StatusCode;

use super::{Claim, DedupStore, Fenced, MAX_TTL, StoreFuture};
use crate::error::{DedupConfigError, StoreError};
use crate::key::Token;

/// Default [`MemoryStoreBuilder::capacity`]: 100 000 records.
pub const DEFAULT_MEMORY_CAPACITY: usize = 100_000;

/// Most shards (each a `Mutex<HashMap>`); small stores use fewer so that capacity is exact.
const MAX_SHARDS: usize = 16;
/// Fewest records per shard before another shard is added.
const MIN_SHARD_CAPACITY: usize = 256;

/// What a full [`MemoryStore`] gives up to make room for a new key.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WhenFull {
    /// Forget the oldest done record (default). Availability first: a very late duplicate of
    /// that event would run its handler again. In-flight claims are never evicted.
    #[default]
    EvictOldestDone,
    /// Forget nothing: fail the claim with [`StoreError::CapacityExhausted`] (→ 503) until
    /// records expire.
    Reject,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Claimed(u128),
    Done(StatusCode),
}

struct Entry {
    state: State,
    expires: Instant,
    /// Which version of the key's record this is: a done record's place in
    /// [`Shard::done`] is only valid while the entry keeps this number.
    version: u64,
}

/// One lock's worth of records.
///
/// A full shard must find its oldest done record without scanning every record: `done` lists
/// done records in the order they were recorded, each with the entry version it had. An item
/// whose entry changed since (claimed again after expiring, released, swept, evicted) is
/// stale and skipped when it reaches the front, so eviction is amortised O(1); the queue is
/// compacted when stale items outnumber the shard's capacity, so it stays bounded.
#[derive(Default)]
struct Shard {
    map: HashMap<Arc<str>, Entry>,
    done: VecDeque<(Arc<str>, u64)>,
    /// No record expires before this (a lower bound, exact after a sweep): a full shard only
    /// sweeps when the sweep can free something.
    next_expiry: Option<Instant>,
    versions: u64,
}

impl Shard {
    fn len(&self) -> usize {
        self.map.len()
    }

    /// Writes `state` for `key` (inserting or replacing), expiring `ttl` after `now`.
    fn put(&mut self, key: &Arc<str>, state: State, now: Instant, ttl: Duration) {
        self.versions = self.versions.wrapping_add(1);
        let entry = Entry {
            state,
            expires: now.checked_add(ttl.min(MAX_TTL)).unwrap_or(now),
            version: self.versions,
        };
        self.next_expiry = Some(match self.next_expiry {
            Some(t) => t.min(entry.expires),
            None => entry.expires,
        });
        if matches!(state, State::Done(_)) {
            self.done.push_back((Arc::clone(key), entry.version));
        }
        match self.map.get_mut(&**key) {
            Some(slot) => *slot = entry,
            None => {
                self.map.insert(Arc::clone(key), entry);
            }
        }
        if self.done.len() > self.map.len().saturating_mul(2).saturating_add(64) {
            let map = &self.map;
            self.done
                .retain(|(k, v)| map.get(&**k).is_some_and(|e| e.version == *v));
        }
    }

    /// Drops every expired record, if any can have expired.
    fn sweep(&mut self, now: Instant) {
        if self.next_expiry.is_none_or(|t| t > now) {
            return;
        }
        self.map.retain(|_, e| e.expires > now);
        self.next_expiry = self.map.values().map(|e| e.expires).min();
    }

    /// Forgets the oldest done record; `None` when there is none.
    fn evict_oldest_done(&mut self) -> Option<Arc<str>> {
        while let Some((key, version)) = self.done.pop_front() {
            let live = self
                .map
                .get(&*key)
                .is_some_and(|e| e.version == version && matches!(e.state, State::Done(_)));
            if live {
                self.map.remove(&*key);
                return Some(key);
            }
        }
        None
    }
}

/// The embedded store: a bounded, sharded in-process map with lazy TTL expiry.
///
/// Per process only: several app instances need a shared store such as `RedisStore`, and a
/// restart forgets everything. Cheap to clone (an `Arc`).
///
/// Records expire lazily: an expired record counts as absent when its key is touched, and a
/// full shard sweeps out every expired record before it considers evicting anything. Making
/// room costs amortised O(1), so a store kept at its capacity (the steady state of a busy
/// process) stays as fast as an empty one: the shard sweeps only once a record can have
/// expired, and finds its oldest done record at the front of a queue kept in completion
/// order.
///
/// **When full** (the shard of a new key holds its share of `capacity` live records), the
/// store never gives up an in-flight claim — that would let a duplicate run concurrently.
/// With the default [`WhenFull::EvictOldestDone`] it forgets the oldest *done* record; a late
/// duplicate of that one event would run its handler again. With [`WhenFull::Reject`] it keeps
/// every done record and fails the claim instead. Either way, when every record of the shard is
/// an in-flight claim the claim fails with [`StoreError::CapacityExhausted`], which the layer
/// answers with 503 (fail closed): no delivery is acknowledged without its record.
///
/// Size `capacity` above the number of events you expect within the retention (72 h by
/// default). A record takes roughly 150 bytes plus its key.
///
/// ```
/// use countersign_dedup::{Claim, DedupKey, DedupStore, MemoryStore, StoreError, Token, WhenFull};
/// use std::time::Duration;
///
/// # futures_util::FutureExt::now_or_never(async {
/// let store = MemoryStore::builder().capacity(1).when_full(WhenFull::Reject).build()?;
/// let lease = Duration::from_secs(60);
/// let a = Token::new(DedupKey::new("stripe", "evt_a"));
/// assert_eq!(store.claim(&a, lease).await?, Claim::Claimed);
///
/// // Full of in-flight claims: the next claim fails instead of forgetting one.
/// let b = Token::new(DedupKey::new("stripe", "evt_b"));
/// let err = store.claim(&b, lease).await.unwrap_err();
/// assert!(matches!(err, StoreError::CapacityExhausted { capacity: 1 }));
/// # Ok::<(), StoreError>(())
/// # }).unwrap()?;
/// # Ok::<(), countersign_dedup::StoreError>(())
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

struct Inner {
    shards: Box<[Mutex<Shard>]>,
    shard_capacity: usize,
    capacity: usize,
    when_full: WhenFull,
    hasher: RandomState,
    evictions: AtomicU64,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("capacity", &self.inner.capacity)
            .field("shards", &self.inner.shards.len())
            .field("when_full", &self.inner.when_full)
            .field("len", &self.len())
            .finish()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// A store for [`DEFAULT_MEMORY_CAPACITY`] records that evicts the oldest done record
    /// when full.
    #[must_use]
    pub fn new() -> Self {
        Self::with(DEFAULT_MEMORY_CAPACITY, WhenFull::default())
    }

    /// Configures capacity and the full-store policy.
    pub fn builder() -> MemoryStoreBuilder {
        MemoryStoreBuilder {
            capacity: DEFAULT_MEMORY_CAPACITY,
            when_full: WhenFull::default(),
        }
    }

    fn with(capacity: usize, when_full: WhenFull) -> Self {
        let shards = (capacity / MIN_SHARD_CAPACITY)
            .next_power_of_two()
            .clamp(1, MAX_SHARDS);
        let shard_capacity = capacity.div_ceil(shards).max(1);
        MemoryStore {
            inner: Arc::new(Inner {
                shards: (0..shards).map(|_| Mutex::new(Shard::default())).collect(),
                shard_capacity,
                capacity,
                when_full,
                hasher: RandomState::new(),
                evictions: AtomicU64::new(0),
            }),
        }
    }

    /// Records held, including expired ones not yet swept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    /// Whether no record is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Done records forgotten to make room ([`WhenFull::EvictOldestDone`]).
    #[must_use]
    pub fn evictions(&self) -> u64 {
        self.inner.evictions.load(Ordering::Relaxed)
    }

    /// The configured capacity.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, Shard> {
        let shards = &self.inner.shards;
        // shards.len() is a power of two ≥ 1.
        let index = usize::try_from(self.inner.hasher.hash_one(key)).unwrap_or(0) % shards.len();
        shards[index].lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes room for one more record in `shard`, or says why it cannot. Amortised O(1):
    /// see [`Shard`].
    fn make_room(&self, shard: &mut Shard, now: Instant) -> Result<(), StoreError> {
        if shard.len() < self.inner.shard_capacity {
            return Ok(());
        }
        shard.sweep(now);
        if shard.len() < self.inner.shard_capacity {
            return Ok(());
        }
        let full = StoreError::CapacityExhausted {
            capacity: self.inner.capacity,
        };
        if self.inner.when_full == WhenFull::Reject {
            return Err(full);
        }
        match shard.evict_oldest_done() {
            Some(k) => {
                self.inner.evictions.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    target: "countersign_dedup",
                    evicted = %k,
                    capacity = self.inner.capacity,
                    "memory store full: forgot the oldest done record"
                );
                Ok(())
            }
            None => Err(full),
        }
    }

    fn claim_now(&self, token: &Token, lease: Duration) -> Result<Claim, StoreError> {
        let key = token.key().shared();
        let mut shard = self.shard(key);
        // Read under the lock, so that the done queue is in the order of time.
        let now = Instant::now();
        match shard.map.get(&**key) {
            Some(entry) if entry.expires > now => {
                return Ok(match entry.state {
                    State::Claimed(_) => Claim::InFlight,
                    State::Done(status) => Claim::Done(status),
                });
            }
            Some(_) => {}
            None => self.make_room(&mut shard, now)?,
        }
        shard.put(key, State::Claimed(token.fence()), now, lease);
        Ok(Claim::Claimed)
    }

    fn complete_now(
        &self,
        token: &Token,
        status: StatusCode,
        retention: Duration,
    ) -> Result<Fenced, StoreError> {
        let key = token.key().shared();
        let mut shard = self.shard(key);
        let now = Instant::now();
        match shard.map.get(&**key) {
            Some(entry) if entry.expires > now && entry.state != State::Claimed(token.fence()) => {
                return Ok(Fenced::Stale);
            }
            Some(_) => {}
            None => self.make_room(&mut shard, now)?,
        }
        shard.put(key, State::Done(status), now, retention);
        Ok(Fenced::Applied)
    }

    fn release_now(&self, token: &Token) -> Fenced {
        let key = token.key().shared();
        let mut shard = self.shard(key);
        match shard.map.get(&**key) {
            Some(entry) if entry.state == State::Claimed(token.fence()) => {
                shard.map.remove(&**key);
                Fenced::Applied
            }
            _ => Fenced::Stale,
        }
    }
}

impl DedupStore for MemoryStore {
    fn claim<'a>(&'a self, token: &'a Token, lease: Duration) -> StoreFuture<'a, Claim> {
        let result = self.claim_now(token, lease);
        Box::pin(std::future::ready(result))
    }

    fn complete<'a>(
        &'a self,
        token: &'a Token,
        status: StatusCode,
        retention: Duration,
    ) -> StoreFuture<'a, Fenced> {
        let result = self.complete_now(token, status, retention);
        Box::pin(std::future::ready(result))
    }

    fn release<'a>(&'a self, token: &'a Token) -> StoreFuture<'a, Fenced> {
        let result = self.release_now(token);
        Box::pin(std::future::ready(Ok(result)))
    }
}

/// Builds a [`MemoryStore`].
#[derive(Debug, Clone)]
#[must_use]
pub struct MemoryStoreBuilder {
    capacity: usize,
    when_full: WhenFull,
}

impl MemoryStoreBuilder {
    /// Most records held (default [`DEFAULT_MEMORY_CAPACITY`]). Enforced per shard (up to 16
    /// shards of at least 256 records each), so the total may exceed it by less than the
    /// shard count, and one shard can fill before the others.
    pub fn capacity(mut self, records: usize) -> Self {
        self.capacity = records;
        self
    }

    /// What to give up when full (default [`WhenFull::EvictOldestDone`]).
    pub fn when_full(mut self, policy: WhenFull) -> Self {
        self.when_full = policy;
        self
    }

    /// Builds the store.
    ///
    /// # Errors
    /// [`DedupConfigError::ZeroCapacity`].
    pub fn build(self) -> Result<MemoryStore, DedupConfigError> {
        if self.capacity == 0 {
            return Err(DedupConfigError::ZeroCapacity);
        }
        Ok(MemoryStore::with(self.capacity, self.when_full))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::DedupKey;

    fn token(id: &str) -> Token {
        Token::new(DedupKey::new("t", id))
    }

    const LEASE: Duration = Duration::from_secs(60);
    const KEEP: Duration = Duration::from_secs(3600);

    #[test]
    fn sharding_keeps_small_capacities_exact() {
        assert_eq!(MemoryStore::with(5, WhenFull::Reject).inner.shards.len(), 1);
        assert_eq!(
            MemoryStore::with(1000, WhenFull::Reject).inner.shards.len(),
            4
        );
        assert_eq!(MemoryStore::new().inner.shards.len(), MAX_SHARDS);
        assert_eq!(
            MemoryStore::builder().capacity(0).build().unwrap_err(),
            DedupConfigError::ZeroCapacity
        );
    }

    #[test]
    fn full_of_claims_fails_closed_under_both_policies() {
        for policy in [WhenFull::EvictOldestDone, WhenFull::Reject] {
            let store = MemoryStore::builder()
                .capacity(3)
                .when_full(policy)
                .build()
                .unwrap();
            let held: Vec<Token> = (0..3).map(|i| token(&format!("held{i}"))).collect();
            for t in &held {
                assert_eq!(store.claim_now(t, LEASE).unwrap(), Claim::Claimed);
            }
            let err = store.claim_now(&token("new"), LEASE).unwrap_err();
            assert!(matches!(err, StoreError::CapacityExhausted { capacity: 3 }));
            // Every in-flight claim survived: duplicates still see InFlight.
            for t in &held {
                let dup = Token::new(t.key().clone());
                assert_eq!(store.claim_now(&dup, LEASE).unwrap(), Claim::InFlight);
            }
            assert_eq!(store.evictions(), 0);
            // Releasing one makes room again.
            assert_eq!(store.release_now(&held[0]), Fenced::Applied);
            assert_eq!(
                store.claim_now(&token("new"), LEASE).unwrap(),
                Claim::Claimed
            );
        }
    }

    #[test]
    fn evicts_the_oldest_done_record_never_a_claim() {
        let store = MemoryStore::builder().capacity(3).build().unwrap();
        let old = token("old");
        let newer = token("newer");
        let inflight = token("inflight");
        for t in [&old, &newer, &inflight] {
            assert_eq!(store.claim_now(t, LEASE).unwrap(), Claim::Claimed);
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(
            store.complete_now(&old, StatusCode::OK, KEEP).unwrap(),
            Fenced::Applied
        );
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(
            store.complete_now(&newer, StatusCode::OK, KEEP).unwrap(),
            Fenced::Applied
        );

        assert_eq!(
            store.claim_now(&token("fresh"), LEASE).unwrap(),
            Claim::Claimed
        );
        assert_eq!(store.evictions(), 1);
        assert_eq!(store.len(), 3);
        // "old" was forgotten, "newer" and the in-flight claim were kept.
        assert_eq!(
            store
                .claim_now(&Token::new(newer.key().clone()), LEASE)
                .unwrap(),
            Claim::Done(StatusCode::OK)
        );
        assert_eq!(
            store
                .claim_now(&Token::new(inflight.key().clone()), LEASE)
                .unwrap(),
            Claim::InFlight
        );
        // A late duplicate of the forgotten event is claimed again (evicting "newer")...
        assert_eq!(
            store
                .claim_now(&Token::new(old.key().clone()), LEASE)
                .unwrap(),
            Claim::Claimed
        );
        assert_eq!(store.evictions(), 2);
        // ...and with three claims in flight nothing is evictable: fail closed.
        let err = store.claim_now(&token("one-more"), LEASE).unwrap_err();
        assert_eq!(
            err.to_string(),
            "dedup store is full: 3 entries, none of them evictable"
        );
    }

    #[test]
    fn reject_policy_keeps_done_records() {
        let store = MemoryStore::builder()
            .capacity(1)
            .when_full(WhenFull::Reject)
            .build()
            .unwrap();
        let a = token("a");
        assert_eq!(store.claim_now(&a, LEASE).unwrap(), Claim::Claimed);
        assert_eq!(
            store.complete_now(&a, StatusCode::OK, KEEP).unwrap(),
            Fenced::Applied
        );
        assert!(matches!(
            store.claim_now(&token("b"), LEASE),
            Err(StoreError::CapacityExhausted { .. })
        ));
        assert_eq!(
            store
                .claim_now(&Token::new(a.key().clone()), LEASE)
                .unwrap(),
            Claim::Done(StatusCode::OK)
        );
    }

    #[test]
    fn expired_records_are_swept_when_full() {
        let store = MemoryStore::builder()
            .capacity(2)
            .when_full(WhenFull::Reject)
            .build()
            .unwrap();
        for id in ["a", "b"] {
            assert_eq!(
                store
                    .claim_now(&token(id), Duration::from_millis(5))
                    .unwrap(),
                Claim::Claimed
            );
        }
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(store.claim_now(&token("c"), LEASE).unwrap(), Claim::Claimed);
        assert_eq!(store.len(), 1, "both expired claims were swept");
    }

    #[test]
    fn a_full_store_evicts_in_completion_order() {
        let store = MemoryStore::builder().capacity(256).build().unwrap();
        assert_eq!(store.inner.shards.len(), 1);
        let ids: Vec<String> = (0..1256).map(|i| format!("e{i}")).collect();
        for id in &ids {
            let t = token(id);
            assert_eq!(store.claim_now(&t, LEASE).unwrap(), Claim::Claimed);
            assert_eq!(
                store.complete_now(&t, StatusCode::OK, KEEP).unwrap(),
                Fenced::Applied
            );
        }
        assert_eq!((store.len(), store.evictions()), (256, 1000));
        // The newest 256 are remembered; the 1000 oldest were forgotten, oldest first.
        for id in &ids[1000..] {
            assert_eq!(
                store.claim_now(&token(id), LEASE).unwrap(),
                Claim::Done(StatusCode::OK),
                "{id}"
            );
        }
        assert_eq!(
            store.claim_now(&token("e999"), LEASE).unwrap(),
            Claim::Claimed
        );
        assert_eq!(store.evictions(), 1001);
        assert_eq!(
            store.claim_now(&token("e1000"), LEASE).unwrap(),
            Claim::Claimed,
            "the oldest remembered one made room"
        );
    }

    #[test]
    fn the_done_queue_stays_bounded() {
        let store = MemoryStore::builder().capacity(256).build().unwrap();
        for i in 0..10_000 {
            // Ten keys, each recorded over and over with records that expire at once.
            let t = token(&format!("k{}", i % 10));
            assert_eq!(store.claim_now(&t, LEASE).unwrap(), Claim::Claimed);
            let _ = store
                .complete_now(&t, StatusCode::OK, Duration::ZERO)
                .unwrap();
        }
        let shard = store.inner.shards[0].lock().unwrap();
        assert_eq!(shard.map.len(), 10);
        assert!(shard.done.len() <= 2 * 10 + 64 + 1, "{}", shard.done.len());
    }

    #[test]
    fn concurrent_claims_of_one_key_have_one_winner() {
        let store = MemoryStore::new();
        let key = DedupKey::new("t", "contended");
        for _ in 0..50 {
            let tokens: Vec<Token> = (0..8).map(|_| Token::new(key.clone())).collect();
            let results: Vec<Claim> = std::thread::scope(|s| {
                let handles: Vec<_> = tokens
                    .iter()
                    .map(|t| s.spawn(|| store.claim_now(t, LEASE).unwrap()))
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let winners: Vec<&Token> = tokens
                .iter()
                .zip(&results)
                .filter(|(_, c)| **c == Claim::Claimed)
                .map(|(t, _)| t)
                .collect();
            assert_eq!(winners.len(), 1, "{results:?}");
            assert!(results.iter().filter(|c| **c == Claim::InFlight).count() == 7);
            assert_eq!(store.release_now(winners[0]), Fenced::Applied);
        }
    }
}
