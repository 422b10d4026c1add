//! Writing to stdout without panicking (`println!` panics when stdout is closed).

use std::io::{self, Write as _};

use crate::error::CliError;

/// Writes `bytes` to stdout and flushes. A closed pipe (`… | head`) is not an error: the
/// reader has what it wanted and the exit code still tells the outcome.
pub(crate) fn stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(CliError::Write(e)),
        _ => Ok(()),
    }
}
