//! A route's secrets when some come from files: the files are re-read when they change, so
//! an operator (or a mounted Kubernetes secret) rotates them without restarting the proxy.
//!
//! A file counts as changed when its modification time, length or inode changes (checked
//! every [`CHECK_EVERY`], and soon after a delivery fails its signature check). A file that
//! cannot be read, is empty or is not UTF-8 keeps the last good secrets in use; the failure
//! is logged without key material and retried at the next check.

use std::fmt;
use std::os::unix::fs::MetadataExt as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use countersign_core::Secret;
use countersign_tower::keys::{KeySource, KeySourceError};

use crate::secrets;

/// How often the files are checked for a change.
pub(crate) const CHECK_EVERY: Duration = Duration::from_secs(2);

/// What says a file changed: modification time, length, inode.
type Stamp = (Option<SystemTime>, u64, u64);

/// The route's secrets in their configured order: the `secret` values, every line of every
/// secret file, then the labelled secrets.
pub(crate) struct RouteSecrets {
    before: Vec<Secret>,
    files: Vec<PathBuf>,
    after: Vec<Secret>,
    seen: Mutex<Option<Vec<Stamp>>>,
}

impl RouteSecrets {
    pub(crate) fn new(before: Vec<Secret>, files: Vec<PathBuf>, after: Vec<Secret>) -> Self {
        RouteSecrets {
            before,
            files,
            after,
            seen: Mutex::new(None),
        }
    }

    fn stamps(&self) -> Result<Vec<Stamp>, KeySourceError> {
        self.files
            .iter()
            .map(|path| {
                let meta = std::fs::metadata(path).map_err(|source| KeySourceError::Io {
                    path: path.display().to_string(),
                    source,
                })?;
                Ok((meta.modified().ok(), meta.len(), meta.ino()))
            })
            .collect()
    }
}

impl fmt::Debug for RouteSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteSecrets")
            .field("fixed", &(self.before.len() + self.after.len()))
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl KeySource for RouteSecrets {
    fn poll(&self) -> Result<Option<Vec<Secret>>, KeySourceError> {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let stamps = self.stamps()?;
        if seen.as_ref() == Some(&stamps) {
            return Ok(None);
        }
        let mut keys = self.before.clone();
        for path in &self.files {
            // The CLI's own reader: the same rules as at start (one secret per line, lines
            // trimmed, at most 64 KiB, UTF-8, not empty).
            let read = secrets::read_file(path).map_err(|e| KeySourceError::Io {
                path: path.display().to_string(),
                source: std::io::Error::other(e.to_string()),
            })?;
            keys.extend(read);
        }
        keys.extend(self.after.iter().cloned());
        // Only a successful read is remembered: a broken file is retried until fixed.
        *seen = Some(stamps);
        Ok(Some(keys))
    }

    fn refresh_interval(&self) -> Option<Duration> {
        Some(CHECK_EVERY)
    }
}
