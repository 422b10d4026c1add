//! Where secrets come from: the command line (`--secret S`), the environment
//! (`--secret env:NAME`) or a file (`--secret-file PATH`), so that a secret need not show in
//! process listings (`ps`, `/proc/<pid>/cmdline`) or shell history.
//!
//! - `--secret S` takes `S` literally, except `env:NAME` where `NAME` is a valid environment
//!   variable name (`[A-Za-z_][A-Za-z0-9_]*`): then the variable's value is the secret. (A
//!   literal secret that happens to look like `env:NAME` can be passed in a file.)
//! - `--secret-file PATH` reads one secret per non-blank line; surrounding blanks and the line
//!   end (`\n` or `\r\n`) are not part of it. Several lines are several secrets (rotation).
//!
//! The same forms work in the proxy's configuration file (`secret = "env:NAME"`,
//! `secret_file = "/run/secrets/stripe"`). Error messages name the variable or the file,
//! never a value.

use std::path::{Path, PathBuf};

use countersign_core::Secret;
use zeroize::Zeroizing;

use crate::error::CliError;
use crate::input::Source;

/// The most bytes read from a secret file: 64 KiB holds any key, PEM included.
const MAX_SECRET_FILE: usize = 64 * 1024;

/// A `--secret` value as given: a literal, or the name of an environment variable.
#[derive(Clone)]
pub(crate) enum SecretArg {
    /// The secret itself.
    Literal(Secret),
    /// `env:NAME`.
    Env(String),
}

impl std::fmt::Debug for SecretArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretArg::Literal(s) => s.fmt(f),
            SecretArg::Env(name) => write!(f, "env:{name}"),
        }
    }
}

impl SecretArg {
    /// Parses a `--secret` value (never fails: anything that is not `env:NAME` is literal).
    pub(crate) fn parse(s: &str) -> Self {
        match s.strip_prefix("env:") {
            Some(name) if is_env_name(name) => SecretArg::Env(name.to_owned()),
            _ => SecretArg::Literal(Secret::from(s)),
        }
    }

    /// The secret.
    ///
    /// # Errors
    /// [`CliError::Usage`] when the variable is not set or is not UTF-8.
    pub(crate) fn resolve(&self) -> Result<Secret, CliError> {
        match self {
            SecretArg::Literal(s) => Ok(s.clone()),
            SecretArg::Env(name) => env_value(name).map(Secret::from),
        }
    }
}

/// A `--labelled-secret LABEL[@NOT_AFTER]=S` value: a secret (as `--secret`: a literal or
/// `env:NAME`) with a label for logs and metrics and, after `@`, the Unix second after which
/// it is refused.
#[derive(Clone, Debug)]
pub(crate) struct LabelledSecret {
    pub(crate) label: String,
    pub(crate) not_after: Option<u64>,
    pub(crate) secret: SecretArg,
}

impl LabelledSecret {
    /// Parses `LABEL[@NOT_AFTER]=S`. The label cannot hold `=` or `@`, so the first `=`
    /// ends it and the secret may contain anything.
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        let (head, value) = s
            .split_once('=')
            .ok_or_else(|| "expected LABEL[@NOT_AFTER]=SECRET".to_owned())?;
        let (label, not_after) = match head.split_once('@') {
            Some((label, t)) => (
                label,
                Some(
                    t.trim()
                        .parse::<u64>()
                        .map_err(|_| format!("`{t}`: NOT_AFTER is a Unix time in seconds"))?,
                ),
            ),
            None => (head, None),
        };
        if label.is_empty() || value.is_empty() {
            return Err("expected LABEL[@NOT_AFTER]=SECRET with a label and a secret".to_owned());
        }
        Ok(LabelledSecret {
            label: label.to_owned(),
            not_after,
            secret: SecretArg::parse(value),
        })
    }

    /// The secret with its label and expiry.
    ///
    /// # Errors
    /// As [`SecretArg::resolve`].
    pub(crate) fn resolve(&self) -> Result<Secret, CliError> {
        let secret = self.secret.resolve()?.with_label(self.label.as_str());
        Ok(match self.not_after {
            Some(t) => secret.not_after(t),
            None => secret,
        })
    }
}

/// Reads an environment variable that holds a secret (or a URL with a password).
///
/// # Errors
/// [`CliError::Usage`] naming the variable when it is unset or not UTF-8.
pub(crate) fn env_value(name: &str) -> Result<String, CliError> {
    std::env::var(name).map_err(|e| {
        CliError::Usage(match e {
            std::env::VarError::NotPresent => {
                format!("environment variable `{name}` (from `env:{name}`) is not set")
            }
            std::env::VarError::NotUnicode(_) => {
                format!("environment variable `{name}` (from `env:{name}`) is not UTF-8")
            }
        })
    })
}

/// `env:NAME` → the variable's value; anything else as given. For values that are not
/// secrets themselves but may carry one (a Redis URL with a password).
///
/// # Errors
/// As [`env_value`].
pub(crate) fn expand_env(value: &str) -> Result<String, CliError> {
    match value.strip_prefix("env:") {
        Some(name) if is_env_name(name) => env_value(name),
        _ => Ok(value.to_owned()),
    }
}

fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Reads the secrets in a file, one per non-blank line.
///
/// # Errors
/// [`CliError::Read`] when the file cannot be read, [`CliError::TooLarge`] above 64 KiB,
/// [`CliError::Usage`] when it holds no secret or is not UTF-8 (the content is never shown).
pub(crate) fn read_file(path: &Path) -> Result<Vec<Secret>, CliError> {
    let source = Source::from_arg(Some(path));
    if source == Source::Stdin {
        return Err(CliError::Usage(
            "--secret-file needs a file; `-` (stdin) is not accepted".into(),
        ));
    }
    let bytes = Zeroizing::new(source.read_bounded("secret", MAX_SECRET_FILE)?);
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        CliError::Usage(format!("the secret file `{}` is not UTF-8", path.display()))
    })?;
    let secrets: Vec<Secret> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(Secret::from)
        .collect();
    if secrets.is_empty() {
        return Err(CliError::Usage(format!(
            "the secret file `{}` holds no secret",
            path.display()
        )));
    }
    Ok(secrets)
}

/// Every secret of `--secret` (in order), then of every `--secret-file` (in order).
///
/// # Errors
/// As [`SecretArg::resolve`] and [`read_file`].
pub(crate) fn collect(args: &[SecretArg], files: &[PathBuf]) -> Result<Vec<Secret>, CliError> {
    let mut out = Vec::with_capacity(args.len() + files.len());
    for arg in args {
        out.push(arg.resolve()?);
    }
    for file in files {
        out.extend(read_file(file)?);
    }
    Ok(out)
}

/// Exactly one secret, for commands that sign (`sign`, `send`).
///
/// # Errors
/// As [`collect`]; [`CliError::Usage`] when the sources hold more than one secret.
pub(crate) fn one(arg: Option<&SecretArg>, file: Option<&Path>) -> Result<Secret, CliError> {
    let args: Vec<SecretArg> = arg.cloned().into_iter().collect();
    let files: Vec<PathBuf> = file.map(Path::to_path_buf).into_iter().collect();
    let mut all = collect(&args, &files)?;
    match all.len() {
        1 => Ok(all.remove(0)),
        0 => Err(CliError::Usage(
            "give --secret S or --secret-file PATH".into(),
        )),
        n => Err(CliError::Usage(format!(
            "signing takes one secret; the secret file holds {n} (one per line)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str, content: &[u8]) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("countersign-cli-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    #[test]
    fn env_form_only_for_variable_names() {
        assert!(matches!(
            SecretArg::parse("env:MY_SECRET_1"),
            SecretArg::Env(name) if name == "MY_SECRET_1"
        ));
        for literal in [
            "env:", "env:1ABC", "env:A-B", "env:a b", "ENV:ABC", "whsec_x",
        ] {
            assert!(
                matches!(
                    SecretArg::parse(literal),
                    SecretArg::Literal(s) if s.expose() == literal.as_bytes()
                ),
                "{literal}"
            );
        }
    }

    #[test]
    fn env_values_and_missing_variables() {
        // Never set anywhere: the unset case. (The set case runs through the binary in
        // tests/cli, where the variable is given to the child process.)
        let name = "COUNTERSIGN_CLI_TEST_SECRET_VALUE";
        assert!(std::env::var(name).is_err());
        let err = SecretArg::parse(&format!("env:{name}"))
            .resolve()
            .unwrap_err();
        assert_eq!(
            err.report(),
            format!("environment variable `{name}` (from `env:{name}`) is not set")
        );
        assert_eq!(expand_env("redis://x/").unwrap(), "redis://x/");
    }

    #[test]
    fn files_hold_one_secret_per_line() {
        let path = scratch("rotation", b"  first\r\n\nsecond \n");
        let secrets = read_file(&path).unwrap();
        let exposed: Vec<&[u8]> = secrets.iter().map(Secret::expose).collect();
        assert_eq!(exposed, [&b"first"[..], b"second"]);
        let err = one(None, Some(&path)).unwrap_err();
        assert!(err.report().contains("holds 2"), "{}", err.report());

        let single = scratch("single", b"whsec_abc\n");
        assert_eq!(one(None, Some(&single)).unwrap().expose(), b"whsec_abc");

        let blank = scratch("blank", b" \n\n");
        let err = read_file(&blank).unwrap_err().report();
        assert!(err.ends_with("holds no secret"), "{err}");
        let binary = scratch("binary", b"\xff\xfesecr3t");
        let err = read_file(&binary).unwrap_err().report();
        assert!(
            err.ends_with("is not UTF-8") && !err.contains("secr3t"),
            "{err}"
        );
        assert!(read_file(Path::new("-")).is_err());
    }

    #[test]
    fn debug_shows_no_literal() {
        let debug = format!("{:?}", SecretArg::parse("topsecret"));
        assert!(!debug.contains("topsecret"), "{debug}");
        assert_eq!(format!("{:?}", SecretArg::parse("env:X")), "env:X");
    }
}
