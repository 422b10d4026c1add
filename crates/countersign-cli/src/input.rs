//! Reading bodies and header files from a path or stdin, always bounded.

use std::fs::File;
use std::io::{self, IsTerminal as _, Read, Write as _};
use std::path::{Path, PathBuf};

use crate::error::CliError;

/// The most bytes read from any input (body or header file): 64 MiB.
pub(crate) const MAX_INPUT: usize = 64 * 1024 * 1024;

/// The most bytes read from a header file: 1 MiB is far beyond any real header block.
pub(crate) const MAX_HEADER_INPUT: usize = 1024 * 1024;

/// Where an input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// Standard input.
    Stdin,
    /// A file.
    File(PathBuf),
}

impl Source {
    /// `None` and `-` mean stdin.
    pub(crate) fn from_arg(arg: Option<&Path>) -> Self {
        match arg {
            None => Source::Stdin,
            Some(p) if p.as_os_str() == "-" => Source::Stdin,
            Some(p) => Source::File(p.to_path_buf()),
        }
    }

    /// E.g. `the body from stdin`, `the header file /tmp/h`.
    fn describe(&self, what: &str) -> String {
        match self {
            Source::Stdin => format!("the {what} from stdin"),
            Source::File(p) => format!("the {what} file `{}`", p.display()),
        }
    }

    /// Reads at most `max` bytes; more is not an error here, the caller sees `len() > max - 1`.
    pub(crate) fn read_up_to(&self, what: &str, max: usize) -> Result<Vec<u8>, CliError> {
        let err = |source| CliError::Read {
            what: self.describe(what),
            source,
        };
        let limit = u64::try_from(max).unwrap_or(u64::MAX);
        let mut buf = Vec::new();
        match self {
            Source::Stdin => {
                let stdin = io::stdin();
                if stdin.is_terminal() {
                    // Without this, a forgotten `--body-file` looks like a hang.
                    let _ = writeln!(
                        io::stderr(),
                        "countersign: reading the {what} from the terminal; end it with Ctrl-D \
                         or pass --{what}-file PATH"
                    );
                }
                stdin.lock().take(limit).read_to_end(&mut buf)
            }
            Source::File(p) => File::open(p)
                .map_err(err)?
                .take(limit)
                .read_to_end(&mut buf),
        }
        .map_err(err)?;
        Ok(buf)
    }

    /// Reads the whole input, which must not exceed `limit` bytes.
    pub(crate) fn read_bounded(&self, what: &str, limit: usize) -> Result<Vec<u8>, CliError> {
        let buf = self.read_up_to(what, limit.saturating_add(1))?;
        if buf.len() > limit {
            return Err(CliError::TooLarge {
                what: self.describe(what),
                limit,
            });
        }
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dash_is_stdin() {
        assert_eq!(Source::from_arg(None), Source::Stdin);
        assert_eq!(Source::from_arg(Some(Path::new("-"))), Source::Stdin);
        assert_eq!(
            Source::from_arg(Some(Path::new("./-"))),
            Source::File(PathBuf::from("./-"))
        );
    }

    #[test]
    fn bounded_reads() {
        let dir =
            std::env::temp_dir().join(format!("countersign-cli-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("body");
        std::fs::write(&path, b"0123456789").unwrap();
        let src = Source::File(path.clone());
        assert_eq!(src.read_bounded("body", 10).unwrap(), b"0123456789");
        let err = src.read_bounded("body", 9).unwrap_err();
        assert!(
            matches!(err, CliError::TooLarge { limit: 9, .. }),
            "{err:?}"
        );
        assert_eq!(src.read_up_to("body", 4).unwrap(), b"0123");
        std::fs::remove_dir_all(&dir).unwrap();

        let missing = Source::File(dir.join("nope"));
        let err = missing.read_bounded("body", 10).unwrap_err();
        assert!(
            err.report().contains("cannot read the body file"),
            "{}",
            err.report()
        );
    }
}
