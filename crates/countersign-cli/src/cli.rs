//! The command-line grammar (clap derive). Field docs are the `--help` texts.

use std::path::PathBuf;

use std::io::Write as _;

use clap::{Args, Parser, Subcommand};
use countersign_core::{Algorithm, Encoding, Secret};

use crate::error::EXIT_USAGE;

/// Sign, verify and inspect webhook deliveries.
///
/// `verify` prints one JSON object and exits 0 (valid), 1 (rejected: see "error") or 2 (usage
/// or configuration error, explained on stderr, nothing on stdout).
#[derive(Debug, Parser)]
#[command(name = "countersign", version, propagate_version = true)]
#[command(after_help = "Examples:
  countersign presets
  printf '{\"id\":\"evt_1\"}' > /tmp/event.json
  countersign sign --preset stripe --secret whsec_demo --body-file /tmp/event.json \\
    | countersign verify --preset stripe --secret whsec_demo --body-file /tmp/event.json --header-file -")]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List the presets: signature header, algorithm, timestamp, event id source.
    Presets(PresetsArgs),
    /// Print the headers a provider would send with a body, one `Name: value` per line.
    Sign(SignArgs),
    /// Verify a delivery; print one JSON object and exit 0 (valid), 1 (rejected) or 2 (usage error).
    Verify(VerifyArgs),
}

/// `countersign presets`.
#[derive(Debug, Args)]
pub(crate) struct PresetsArgs {
    /// Print a JSON array (stable snake_case keys) instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Which scheme: a preset, the generic `hmac` with its parameters, or a scheme file.
#[derive(Debug, Args)]
pub(crate) struct SchemeArgs {
    /// The preset (see `countersign presets`), e.g. `stripe`, `github`, or `hmac` for a generic
    /// HMAC of the body.
    #[arg(
        long,
        value_name = "NAME",
        required_unless_present = "scheme_file",
        conflicts_with = "scheme_file"
    )]
    pub(crate) preset: Option<String>,

    /// A scheme described in a file instead of a preset: TOML, or JSON for `*.json` (fields:
    /// name, algorithm, encoding, signature_header, syntax, prefix, content template such as
    /// "{timestamp}.{body}", timestamp_header/_unit, tolerance, event_id_header/_json, …).
    #[arg(long, value_name = "PATH")]
    pub(crate) scheme_file: Option<PathBuf>,

    /// HMAC hash, for presets where the sender chooses it (`hmac`, `convoy`, `convoy-simple`;
    /// default sha256).
    #[arg(
        long,
        value_name = "sha1|sha256|sha512",
        help_heading = "Sender-chosen scheme parameters"
    )]
    pub(crate) algorithm: Option<Algorithm>,

    /// Signature encoding, for presets where the sender chooses it (`hmac`, `convoy`,
    /// `convoy-simple`; default hex).
    #[arg(
        long,
        value_name = "hex|base64",
        help_heading = "Sender-chosen scheme parameters"
    )]
    pub(crate) encoding: Option<Encoding>,

    /// `hmac` only (required there): the header carrying the signature.
    #[arg(
        long,
        value_name = "NAME",
        help_heading = "Sender-chosen scheme parameters"
    )]
    pub(crate) signature_header: Option<String>,

    /// `hmac` only: text before the signature in the header value, e.g. `sha256=` (default none).
    #[arg(
        long,
        value_name = "P",
        allow_hyphen_values = true,
        help_heading = "Sender-chosen scheme parameters"
    )]
    pub(crate) prefix: Option<String>,
}

/// `countersign sign`.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    #[command(flatten)]
    pub(crate) scheme: SchemeArgs,

    /// The signing secret, in the form the provider shows it (e.g. `whsec_…`).
    #[arg(long, value_name = "S", value_parser = parse_secret, allow_hyphen_values = true)]
    pub(crate) secret: Secret,

    /// Event/message id for presets that send one in a header (generated `msg_…` when absent;
    /// unused by presets whose id is in the body, such as Stripe and Slack).
    #[arg(long, value_name = "ID")]
    pub(crate) id: Option<String>,

    /// Signing time in Unix seconds (default: now).
    #[arg(long, value_name = "UNIX_S")]
    pub(crate) timestamp: Option<u64>,

    /// The URL the delivery is sent to, for presets that sign it (`twilio`, `square`, `hubspot`,
    /// `hubspot-v2`); signed exactly as given.
    #[arg(long, value_name = "URL")]
    pub(crate) url: Option<String>,

    /// The request method, for presets that sign it (`hubspot`, `hubspot-v2`; default POST).
    #[arg(long, value_name = "M")]
    pub(crate) method: Option<String>,

    /// Read the body from PATH instead of stdin (`-` = stdin). The bytes are signed exactly.
    #[arg(long, value_name = "PATH")]
    pub(crate) body_file: Option<PathBuf>,
}

/// `countersign verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    pub(crate) scheme: SchemeArgs,

    /// A secret to accept; repeat for rotation (any signature × any secret). For key-pair
    /// presets, the sender's public key (`discord`: hex; `sendgrid`: base64 DER;
    /// `standard-webhooks`: `whpk_…`).
    #[arg(
        long = "secret",
        value_name = "S",
        required = true,
        value_parser = parse_secret,
        allow_hyphen_values = true
    )]
    pub(crate) secrets: Vec<Secret>,

    /// A received header as `Name: value`; repeatable.
    #[arg(short = 'H', long = "header", value_name = "'Name: value'")]
    pub(crate) headers: Vec<String>,

    /// Read `Name: value` header lines (as `sign` prints them) from PATH; `-` = stdin, which
    /// then requires --body-file.
    #[arg(long, value_name = "PATH")]
    pub(crate) header_file: Option<PathBuf>,

    /// Read the body from PATH instead of stdin (`-` = stdin).
    #[arg(long, value_name = "PATH")]
    pub(crate) body_file: Option<PathBuf>,

    /// The public URL the provider sent to, for presets that sign it (`twilio`, `square`,
    /// `hubspot`, `hubspot-v2`: required there).
    #[arg(long, value_name = "URL")]
    pub(crate) url: Option<String>,

    /// The request method, for presets that sign it (`hubspot`, `hubspot-v2`; default POST).
    #[arg(long, value_name = "M")]
    pub(crate) method: Option<String>,

    /// Check the timestamp against this time (Unix seconds) instead of the system clock.
    #[arg(long, value_name = "UNIX_S")]
    pub(crate) now: Option<u64>,

    /// Accept timestamps up to SECONDS old or ahead (default: the preset's, usually 300).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) tolerance: Option<u64>,
}

/// Parses the process arguments. Help and version exit 0; usage errors exit 2 on stderr.
///
/// clap echoes an unexpected positional argument; when a flag name is forgotten that token
/// is often the secret itself (`--preset stripe whsec_…`), so it is not shown.
pub(crate) fn parse() -> Cli {
    use clap::error::{ContextKind, ContextValue, ErrorKind};

    let err = match Cli::try_parse() {
        Ok(cli) => return cli,
        Err(err) => err,
    };
    if err.kind() == ErrorKind::UnknownArgument
        && let Some(ContextValue::String(arg)) = err.get(ContextKind::InvalidArg)
        && !arg.starts_with('-')
    {
        let _ = writeln!(
            std::io::stderr(),
            "error: unexpected argument (not shown: it may be a secret); every value follows \
             its flag, e.g. `--secret S`\n\nFor more information, try '--help'."
        );
        std::process::exit(i32::from(EXIT_USAGE));
    }
    err.exit()
}

/// Keeps secrets out of `Debug` from the moment they are parsed.
fn parse_secret(s: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::from(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn grammar_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn debug_redacts_secrets() {
        let cli = Cli::try_parse_from([
            "countersign",
            "verify",
            "--preset",
            "stripe",
            "--secret",
            "whsec_topsecret",
            "--secret=-also-secret",
        ])
        .unwrap();
        let debug = format!("{cli:?}");
        assert!(!debug.contains("topsecret"), "{debug}");
        assert!(!debug.contains("also-secret"), "{debug}");
        let Command::Verify(args) = cli.command else {
            panic!("not verify")
        };
        assert_eq!(args.secrets.len(), 2);
        assert_eq!(args.secrets[1].expose(), b"-also-secret");
    }

    #[test]
    fn secret_may_start_with_a_hyphen() {
        let cli = Cli::try_parse_from([
            "countersign",
            "sign",
            "--preset",
            "github",
            "--secret",
            "-abc",
        ])
        .unwrap();
        let Command::Sign(args) = cli.command else {
            panic!("not sign")
        };
        assert_eq!(args.secret.expose(), b"-abc");
    }
}
