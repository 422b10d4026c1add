//! Why a command could not run (exit 2), as opposed to a delivery that did not verify (exit 1).
//!
//! No variant ever holds a secret: configuration errors from the core name secrets by position.

use std::error::Error as _;
use std::fmt::Write as _;
use std::io;

use countersign_core::{ConfigError, SchemeFileError, SignError};

/// `verify`: the delivery was checked and rejected.
pub(crate) const EXIT_INVALID: u8 = 1;
/// Usage or configuration error; the message is on stderr and nothing is on stdout.
pub(crate) const EXIT_USAGE: u8 = 2;

/// A usage, configuration or input error. Every one exits with [`EXIT_USAGE`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The scheme, the secrets or an option was rejected by the core.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `--scheme-file` does not describe a usable scheme.
    #[error("scheme file `{path}`")]
    SchemeFile {
        /// The path given.
        path: String,
        /// What is wrong with it.
        #[source]
        source: Box<SchemeFileError>,
    },
    /// The signer could not produce headers from the inputs given.
    #[error("cannot sign")]
    Sign(#[source] SignError),
    /// A combination of flags that makes no sense, or a flag missing for this preset.
    #[error("{0}")]
    Usage(String),
    /// A `Name: value` header line that cannot be parsed.
    #[error("{origin}: {reason}")]
    HeaderLine {
        /// Where the line came from, e.g. `-H #2` or `--header-file line 3`.
        origin: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An input file or stdin could not be read.
    #[error("cannot read {what}")]
    Read {
        /// What was being read, e.g. `the body from stdin`.
        what: String,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// An input exceeds its bound.
    #[error("{what} is larger than {limit} bytes")]
    TooLarge {
        /// What was being read.
        what: String,
        /// The bound in bytes.
        limit: usize,
    },
    /// Stdout could not be written.
    #[error("cannot write to stdout")]
    Write(#[source] io::Error),
    /// `send` got no (complete) answer.
    #[error("cannot send to {to}: {reason}")]
    Send {
        /// The `--to` URL.
        to: String,
        /// What went wrong.
        reason: String,
        /// The transport's error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// `proxy` could not start: the listener, the dedup store, the runtime.
    #[error("proxy: {what}")]
    Proxy {
        /// What failed.
        what: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl From<SignError> for CliError {
    fn from(e: SignError) -> Self {
        CliError::Sign(e)
    }
}

impl CliError {
    /// The message and its chain of causes on one line.
    pub(crate) fn report(&self) -> String {
        let mut out = self.to_string();
        let mut cause = self.source();
        while let Some(e) = cause {
            let _ = write!(out, ": {e}");
            cause = e.source();
        }
        // The library's message stays library-neutral; the CLI knows where the list is.
        if let CliError::Config(ConfigError::UnknownPreset(_)) = self {
            out.push_str("; run `countersign presets` for the list");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_includes_causes_but_no_secret() {
        let e = CliError::Sign(SignError::MissingInput("event id (--id)"));
        assert_eq!(
            e.report(),
            "cannot sign: signing with this scheme needs the event id (--id)"
        );
        let e = CliError::from(ConfigError::SecretEncoding {
            index: 0,
            expected: "base64",
        });
        assert_eq!(e.report(), "secret #1 is not valid base64");
    }
}
