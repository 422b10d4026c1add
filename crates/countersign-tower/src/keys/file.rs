//! [`FileKeys`]: keys in a file, one per line, reloaded when the file changes.

use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use countersign_core::Secret;
use zeroize::Zeroizing;

use super::{KeySource, KeySourceError};

/// Largest key file read, in bytes (a few dozen keys; larger files are refused unread).
pub const MAX_KEY_FILE_LEN: usize = 64 * 1024;

/// Keys in a file, one per line (blank lines and lines starting with `#` skipped, line ends
/// `\n` or `\r\n`), reloaded when the file's modification time, length or identity
/// changes — replace it atomically (write a new file, rename it over the old one) so a
/// half-written file is never read. Files over [`MAX_KEY_FILE_LEN`] are refused.
pub struct FileKeys {
    path: PathBuf,
    interval: Duration,
    seen: Mutex<Option<Stamp>>,
}

/// What changes when a file is rewritten or replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    #[cfg(unix)]
    inode: (u64, u64),
}

impl FileKeys {
    /// Keys from `path`, checked for changes every 5 seconds.
    pub fn new(path: impl AsRef<Path>) -> Self {
        FileKeys {
            path: path.as_ref().to_owned(),
            interval: Duration::from_secs(5),
            seen: Mutex::new(None),
        }
    }

    /// How often the file is checked (default 5 s; at least 10 ms).
    #[must_use]
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    fn io(&self, source: std::io::Error) -> KeySourceError {
        KeySourceError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }

    fn stamp(&self) -> Result<Stamp, KeySourceError> {
        let meta = std::fs::metadata(&self.path).map_err(|e| self.io(e))?;
        Ok(Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
            #[cfg(unix)]
            inode: {
                use std::os::unix::fs::MetadataExt as _;
                (meta.dev(), meta.ino())
            },
        })
    }

    fn read(&self) -> Result<Vec<Secret>, KeySourceError> {
        let file = std::fs::File::open(&self.path).map_err(|e| self.io(e))?;
        let mut text = Zeroizing::new(Vec::new());
        let limit = u64::try_from(MAX_KEY_FILE_LEN).unwrap_or(u64::MAX);
        file.take(limit.saturating_add(1))
            .read_to_end(&mut text)
            .map_err(|e| self.io(e))?;
        if text.len() > MAX_KEY_FILE_LEN {
            return Err(KeySourceError::TooLarge {
                limit: MAX_KEY_FILE_LEN,
            });
        }
        parse(&text)
    }
}

/// One key per line; `#` comments and blank lines skipped.
fn parse(text: &[u8]) -> Result<Vec<Secret>, KeySourceError> {
    let keys: Vec<Secret> = text
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.trim_ascii().is_empty() && !line.starts_with(b"#"))
        .map(Secret::from)
        .collect();
    if keys.is_empty() {
        return Err(KeySourceError::Empty);
    }
    Ok(keys)
}

impl fmt::Debug for FileKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileKeys")
            .field("path", &self.path)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl KeySource for FileKeys {
    fn poll(&self) -> Result<Option<Vec<Secret>>, KeySourceError> {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let stamp = self.stamp()?;
        if seen.as_ref() == Some(&stamp) {
            return Ok(None);
        }
        let keys = self.read()?;
        // Only a successful read is remembered: a broken file is retried until fixed.
        *seen = Some(stamp);
        Ok(Some(keys))
    }

    fn refresh_interval(&self) -> Option<Duration> {
        Some(self.interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_comments_and_crlf() {
        let keys = parse(b"# current\r\nnew-key\r\n\n  \nold key with spaces\n#x\n").unwrap();
        let got: Vec<&[u8]> = keys.iter().map(Secret::expose).collect();
        assert_eq!(got, [&b"new-key"[..], b"old key with spaces"]);
        assert!(matches!(
            parse(b"# nothing\n\n"),
            Err(KeySourceError::Empty)
        ));
        assert!(matches!(parse(b""), Err(KeySourceError::Empty)));
    }

    #[test]
    fn debug_names_the_path_not_the_keys() {
        let k = FileKeys::new("/etc/hook.keys");
        let text = format!("{k:?}");
        assert!(text.contains("/etc/hook.keys"), "{text}");
    }
}
