//! Keys that change without a restart: a [`KeySource`] says where a verifier's secrets (or
//! public keys) come from, and a [`RotatingVerifier`] rebuilds the [`Verifier`] whenever
//! they change, for a [`VerifyLayer`](crate::VerifyLayer) to use on the next request.
//!
//! The core stays I/O-free: reading and watching happen here, off the request path (a
//! small background thread per rotating verifier wakes every
//! [`KeySource::refresh_interval`]; requests only take a read lock and clone an `Arc`).
//! A source that fails or yields unusable keys keeps the last good verifier in place: the
//! failure is logged (never the key material) and counted
//! ([`RotatingVerifier::failed_refreshes`]). The first load must succeed: a layer never
//! starts without keys.
//!
//! Sources: [`StaticKeys`] (fixed), [`FileKeys`] (a file, reloaded when it changes) and,
//! with the `https-keys` feature, `HttpsKeys` (a JSON Web Key Set at an `https` URL on a
//! pinned host, refreshed on a schedule and throttled).
//!
//! ```
//! use countersign_tower::keys::{FileKeys, RotatingVerifier};
//! use countersign_core::Delivery;
//! use countersign_tower::{ErrorKind, Preset, SignRequest, Signer, Verifier};
//! use std::time::Duration;
//!
//! let dir = std::env::temp_dir().join(format!("countersign-doc-keys-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("github.keys");
//! std::fs::write(&path, "# one secret per line\nold-secret\n")?;
//!
//! let rotating = RotatingVerifier::new(
//!     FileKeys::new(&path).refresh_interval(Duration::from_millis(50)),
//!     |secrets| Verifier::builder(Preset::Github).secrets(secrets).build(),
//! )?;
//! let body = b"{}";
//! let signed_new = Signer::new(Preset::Github, "new-secret")?.sign(&SignRequest::new(body))?;
//! let refused = rotating.current().verify(&Delivery::new(&signed_new, body));
//! assert_eq!(refused.unwrap_err().kind(), ErrorKind::SignatureMismatch);
//!
//! // The operator rotates the key; the next refresh picks it up, no restart.
//! std::fs::write(&path, "new-secret\n")?;
//! assert!(rotating.refresh()?);
//! assert!(rotating.current().verify(&Delivery::new(&signed_new, body)).is_ok());
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock, Weak};
use std::time::Duration;

use countersign_core::{ConfigError, Secret, Verifier};

mod file;
#[cfg(feature = "https-keys")]
pub(crate) mod https;

pub use file::{FileKeys, MAX_KEY_FILE_LEN};
#[cfg(feature = "https-keys")]
pub use https::{DEFAULT_MAX_RESPONSE_LEN, HttpsKeys, HttpsKeysBuilder};

/// Where a verifier's keys come from.
///
/// [`poll`](Self::poll) is called once when a [`RotatingVerifier`] is built, then every
/// [`refresh_interval`](Self::refresh_interval) from a background thread (never from a
/// request). It may block (read a file); it must be bounded in time and size.
pub trait KeySource: Send + Sync + fmt::Debug + 'static {
    /// The keys when they may have changed since the last successful poll (always on the
    /// first call); `Ok(None)` when they certainly have not.
    ///
    /// # Errors
    /// A [`KeySourceError`] when the keys cannot be read; the last good keys stay in use.
    fn poll(&self) -> Result<Option<Vec<Secret>>, KeySourceError>;

    /// How often to poll after the first load; `None`: never (the keys are fixed).
    fn refresh_interval(&self) -> Option<Duration>;
}

/// Why keys could not be loaded.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum KeySourceError {
    /// The key file could not be read.
    #[error("cannot read the key file `{path}`")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The source is larger than its bound (read no further).
    #[error("the key source is larger than {limit} bytes")]
    TooLarge {
        /// The bound in bytes.
        limit: usize,
    },
    /// The key URL is not `https://host[:port]/…` (no user info).
    #[error("the key URL `{0}` is not an https URL")]
    InvalidUrl(String),
    /// The key URL's host matches no allowed host pattern.
    #[error("the key host `{0}` is not allowed")]
    HostNotAllowed(String),
    /// Fetching the keys failed (connection, TLS, HTTP, timeout).
    #[error("cannot fetch the keys from `{url}`: {reason}")]
    Fetch {
        /// The key URL.
        url: String,
        /// What failed.
        reason: &'static str,
    },
    /// The key server answered another status than 200 (redirects are not followed).
    #[error("the key server answered {0}")]
    Status(u16),
    /// The source holds no key.
    #[error("the key source holds no key")]
    Empty,
    /// The key set holds no key of the type the scheme's algorithm needs (keys of other
    /// types are skipped: a public key is never used as an HMAC secret).
    #[error("the key set has no `{kty}` key for {algorithm}")]
    NoUsableKey {
        /// The JWK key type needed, e.g. `oct`.
        kty: &'static str,
        /// The scheme's algorithm.
        algorithm: countersign_core::Algorithm,
    },
    /// The source is not in the expected format.
    #[error("the key source is malformed: {0}")]
    Malformed(&'static str),
    /// The keys were read but the verifier refused them (an undecodable key, too many).
    #[error("the verifier refused the keys")]
    Config(#[source] ConfigError),
    /// The rebuilt verifier's scheme or body limit differs from the first one's (the layer
    /// around it was configured for them).
    #[error("the rebuilt verifier has another scheme or body limit (`{0}`)")]
    SchemeChanged(String),
}

/// Fixed keys: the source of a verifier whose keys never change.
#[derive(Clone)]
pub struct StaticKeys(Vec<Secret>);

impl StaticKeys {
    /// These keys, for ever.
    pub fn new<S: Into<Secret>>(keys: impl IntoIterator<Item = S>) -> Self {
        StaticKeys(keys.into_iter().map(Into::into).collect())
    }
}

impl fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticKeys")
            .field("keys", &self.0.len())
            .finish()
    }
}

impl KeySource for StaticKeys {
    fn poll(&self) -> Result<Option<Vec<Secret>>, KeySourceError> {
        Ok(Some(self.0.clone()))
    }

    fn refresh_interval(&self) -> Option<Duration> {
        None
    }
}

/// Builds a verifier from a set of keys (the scheme, tolerance, clock… are the closure's).
type BuildFn = dyn Fn(Vec<Secret>) -> Result<Verifier, ConfigError> + Send + Sync;

/// A [`Verifier`] whose keys come from a [`KeySource`] and are replaced, without a restart,
/// when the source changes. Cheap to clone (one `Arc`); give it to
/// [`VerifyLayer::rotating`](crate::VerifyLayer::rotating).
#[derive(Clone)]
pub struct RotatingVerifier {
    shared: Arc<Shared>,
}

struct Shared {
    current: RwLock<Verifier>,
    source: Box<dyn KeySource>,
    build: Box<BuildFn>,
    /// Serialises refreshes (the thread's and explicit ones).
    refreshing: Mutex<()>,
    /// Wakes the refresher before its interval (a delivery signed with an unknown key).
    wake: Arc<Wake>,
    reloads: AtomicU64,
    failures: AtomicU64,
}

/// A flag and its condition variable, shared with the refresher thread (which holds only a
/// weak reference to the rest).
#[derive(Default)]
struct Wake {
    asked: Mutex<bool>,
    cvar: Condvar,
}

impl Wake {
    fn ask(&self) {
        let mut asked = self
            .asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *asked = true;
        self.cvar.notify_one();
    }

    /// Sleeps until asked or `interval` passed.
    fn wait(&self, interval: Duration) {
        let asked = self
            .asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (mut asked, _) = self
            .cvar
            .wait_timeout_while(asked, interval, |asked| !*asked)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *asked = false;
    }
}

impl fmt::Debug for RotatingVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RotatingVerifier")
            .field("current", &self.current())
            .field("source", &self.shared.source)
            .field("reloads", &self.reloads())
            .field("failed_refreshes", &self.failed_refreshes())
            .finish()
    }
}

impl RotatingVerifier {
    /// Loads the keys from `source`, builds the first verifier with `build`, and (when the
    /// source has a refresh interval) starts a background thread that polls the source and
    /// swaps in a rebuilt verifier when the keys changed. The thread ends once every clone
    /// of the rotating verifier is dropped.
    ///
    /// # Errors
    /// A [`KeySourceError`] when the first load fails or `build` refuses its keys.
    pub fn new(
        source: impl KeySource,
        build: impl Fn(Vec<Secret>) -> Result<Verifier, ConfigError> + Send + Sync + 'static,
    ) -> Result<Self, KeySourceError> {
        let keys = source.poll()?.ok_or(KeySourceError::Empty)?;
        let first = build(keys).map_err(KeySourceError::Config)?;
        let interval = source.refresh_interval();
        let shared = Arc::new(Shared {
            current: RwLock::new(first),
            source: Box::new(source),
            build: Box::new(build),
            refreshing: Mutex::new(()),
            wake: Arc::new(Wake::default()),
            reloads: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        });
        if let Some(interval) = interval {
            spawn_refresher(
                Arc::downgrade(&shared),
                Arc::clone(&shared.wake),
                interval.max(MIN_REFRESH_INTERVAL),
            );
        }
        Ok(RotatingVerifier { shared })
    }

    /// The verifier in use now (a cheap clone).
    #[must_use]
    pub fn current(&self) -> Verifier {
        match self.shared.current.read() {
            Ok(v) => v.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Polls the source now. `Ok(true)`: a rebuilt verifier is in use.
    ///
    /// # Errors
    /// As [`KeySource::poll`], or the keys were refused; the previous verifier stays.
    pub fn refresh(&self) -> Result<bool, KeySourceError> {
        let result = self.shared.refresh();
        if result.is_err() {
            self.shared.failures.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// Asks the background refresher to poll the source now rather than at its next
    /// interval, without waiting for it. A [`VerifyLayer`](crate::VerifyLayer) does this when
    /// a delivery's signature matches no current key (it may be signed with a key published
    /// since the last poll); sources throttle how often they actually fetch
    /// ([`HttpsKeys`'s minimum refresh interval](crate::keys)). No effect on sources without
    /// a refresh interval.
    pub fn refresh_soon(&self) {
        self.shared.wake.ask();
    }

    /// How many times the keys were replaced since the first load.
    #[must_use]
    pub fn reloads(&self) -> u64 {
        self.shared.reloads.load(Ordering::Relaxed)
    }

    /// How many refreshes failed (the previous keys stayed in use).
    #[must_use]
    pub fn failed_refreshes(&self) -> u64 {
        self.shared.failures.load(Ordering::Relaxed)
    }
}

impl Shared {
    fn refresh(&self) -> Result<bool, KeySourceError> {
        let _one_at_a_time = self
            .refreshing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(keys) = self.source.poll()? else {
            return Ok(false);
        };
        let next = (self.build)(keys).map_err(KeySourceError::Config)?;
        let mut current = self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = current.scheme();
        if next.scheme().name() != before.name()
            || next.scheme().header_names() != before.header_names()
            || next.body_limit() != current.body_limit()
        {
            return Err(KeySourceError::SchemeChanged(
                next.scheme().name().to_owned(),
            ));
        }
        *current = next;
        self.reloads.fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }
}

/// Polls faster than this are slowed down to it.
pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_millis(10);

fn spawn_refresher(shared: Weak<Shared>, wake: Arc<Wake>, interval: Duration) {
    let spawned = std::thread::Builder::new()
        .name("countersign-keys".to_owned())
        .spawn(move || {
            loop {
                wake.wait(interval);
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                match shared.refresh() {
                    Ok(true) => tracing::info!(
                        source = ?shared.source,
                        "countersign: keys reloaded"
                    ),
                    Ok(false) => {}
                    Err(error) => {
                        shared.failures.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(
                            source = ?shared.source,
                            error = %error,
                            "countersign: keys not reloaded; the previous keys stay in use"
                        );
                    }
                }
            }
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "countersign: cannot start the key refresher; keys stay fixed");
    }
}
