//! The command-line grammar (clap derive). Field docs are the `--help` texts.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use countersign_core::{Algorithm, Encoding};

use crate::duration::parse_duration;
use crate::error::EXIT_USAGE;
use crate::secrets::SecretArg;

/// Sign, verify, send and inspect webhook deliveries; run a verifying, deduplicating proxy.
///
/// `verify` prints one JSON object and exits 0 (valid), 1 (rejected: see "error") or 2 (usage
/// or configuration error, explained on stderr, nothing on stdout).
///
/// Secrets can be given as `--secret S`, `--secret env:NAME` (read from the environment) or
/// `--secret-file PATH` (one per line), so that they need not show in process listings.
#[derive(Debug, Parser)]
#[command(name = "countersign", version, propagate_version = true)]
#[command(after_help = "Examples:
  countersign presets
  printf '{\"id\":\"evt_1\"}' > /tmp/event.json
  countersign sign --preset stripe --secret whsec_demo --body-file /tmp/event.json \\
    | countersign verify --preset stripe --secret whsec_demo --body-file /tmp/event.json --header-file -
  countersign proxy --listen 127.0.0.1:8080 --upstream http://127.0.0.1:8000 --preset stripe --secret env:STRIPE_WEBHOOK_SECRET
  countersign send --preset stripe --secret env:STRIPE_WEBHOOK_SECRET --to http://127.0.0.1:8080/webhooks --body-file /tmp/event.json")]
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
    /// Sign a delivery and POST it to a URL (plain http); print the status line and the body.
    Send(SendArgs),
    /// Run a reverse proxy that verifies, deduplicates and forwards deliveries to an upstream.
    Proxy(Box<ProxyArgs>),
    /// Inspect and repair a queued-delivery inbox: stats, list, show, retry, purge.
    Inbox(crate::inbox_cmd::InboxArgs),
}

/// `countersign presets`.
#[derive(Debug, Args)]
pub(crate) struct PresetsArgs {
    /// Print a JSON array (stable snake_case keys) instead of a table.
    #[arg(long, conflicts_with = "wide")]
    pub(crate) json: bool,

    /// Print every column (signature header, timestamp, event id, event type); the default
    /// table has the name, the signature and the description only.
    #[arg(long)]
    pub(crate) wide: bool,
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

    /// A proxy route's `[route.scheme]` table (config files only): the scheme itself, read
    /// and checked with the file.
    #[arg(skip)]
    pub(crate) inline: Option<countersign_core::Scheme>,

    #[command(flatten)]
    pub(crate) params: SchemeParams,
}

/// The parameters of schemes whose sender chooses them (`hmac`, `convoy`, `convoy-simple`).
#[derive(Debug, Args, Default, Clone)]
pub(crate) struct SchemeParams {
    /// HMAC hash, for presets where the sender chooses it (`hmac`, `convoy`, `convoy-simple`;
    /// default sha256).
    #[arg(
        long,
        value_name = "md5|sha1|sha256|sha512",
        help_heading = "Sender-chosen scheme parameters"
    )]
    pub(crate) algorithm: Option<Algorithm>,

    /// Signature encoding, for presets where the sender chooses it (`hmac`, `convoy`,
    /// `convoy-simple`; default hex).
    #[arg(
        long,
        value_name = "hex|base64|base64url",
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

/// What `sign` and `send` both take to sign a delivery.
#[derive(Debug, Args)]
pub(crate) struct SigningArgs {
    /// The signing secret, in the form the provider shows it (e.g. `whsec_…`); `env:NAME`
    /// reads it from the environment variable NAME.
    #[arg(
        long,
        value_name = "S",
        value_parser = parse_secret,
        allow_hyphen_values = true,
        required_unless_present = "secret_file",
        conflicts_with = "secret_file"
    )]
    pub(crate) secret: Option<SecretArg>,

    /// Read the signing secret from a file (one line) instead of --secret.
    #[arg(long, value_name = "PATH")]
    pub(crate) secret_file: Option<PathBuf>,

    /// Event/message id for presets that send one in a header (generated `msg_…` when absent;
    /// unused by presets whose id is in the body, such as Stripe and Slack).
    #[arg(long, value_name = "ID")]
    pub(crate) id: Option<String>,

    /// Signing time in Unix seconds (default: now).
    #[arg(long, value_name = "UNIX_S")]
    pub(crate) timestamp: Option<u64>,

    /// Read the body from PATH instead of stdin (`-` = stdin). The bytes are signed (and
    /// sent) exactly as read.
    #[arg(long, value_name = "PATH")]
    pub(crate) body_file: Option<PathBuf>,
}

/// `countersign sign`.
#[derive(Debug, Args)]
#[command(after_help = "Exit status:
  0  the headers are printed
  2  a usage or configuration error (also: a verify-only preset), explained on stderr")]
pub(crate) struct SignArgs {
    #[command(flatten)]
    pub(crate) scheme: SchemeArgs,

    #[command(flatten)]
    pub(crate) signing: SigningArgs,

    /// The URL the delivery is sent to, for presets that sign it (`twilio`, `square`, `hubspot`,
    /// `hubspot-v2`); signed exactly as given.
    #[arg(long, value_name = "URL")]
    pub(crate) url: Option<String>,

    /// The request method, for presets that sign it (`hubspot`, `hubspot-v2`; default POST).
    #[arg(long, value_name = "M")]
    pub(crate) method: Option<String>,
}

/// `countersign verify`.
#[derive(Debug, Args)]
#[command(after_help = "Exit status:
  0  valid: {\"valid\":true,...} on stdout
  1  rejected: {\"valid\":false,\"error\":...} on stdout
  2  a usage or configuration error, explained on stderr (nothing on stdout)")]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    pub(crate) scheme: SchemeArgs,

    /// A secret to accept; repeat for rotation (any signature × any secret). For key-pair
    /// presets, the sender's public key (`discord`: hex; `sendgrid`: base64 DER;
    /// `standard-webhooks`: `whpk_…`). `env:NAME` reads it from the environment.
    #[arg(
        long = "secret",
        value_name = "S",
        required_unless_present = "secret_files",
        value_parser = parse_secret,
        allow_hyphen_values = true
    )]
    pub(crate) secrets: Vec<SecretArg>,

    /// Read secrets from a file, one per line (repeatable; adds to --secret).
    #[arg(long = "secret-file", value_name = "PATH")]
    pub(crate) secret_files: Vec<PathBuf>,

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

/// `countersign send`.
#[derive(Debug, Args)]
#[command(after_help = "Exit status:
  0  the endpoint answered 2xx
  1  the endpoint answered another status (printed)
  2  no answer (connection refused, timeout) or a usage error, explained on stderr")]
pub(crate) struct SendArgs {
    #[command(flatten)]
    pub(crate) scheme: SchemeArgs,

    #[command(flatten)]
    pub(crate) signing: SigningArgs,

    /// Where to POST the delivery: an `http://` URL (https is not supported). URL-bound
    /// presets sign exactly this URL.
    #[arg(long, value_name = "URL")]
    pub(crate) to: String,

    /// The Content-Type header sent with the body.
    #[arg(long, value_name = "TYPE", default_value = "application/json")]
    pub(crate) content_type: String,

    /// Give up when no complete answer arrived within this long (e.g. `10s`, `500ms`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    pub(crate) timeout: Duration,

    /// Also print the response headers, between the status line and the body (as `curl -i`
    /// does): e.g. `countersign-duplicate: true` on a redelivery answered by the proxy.
    #[arg(short = 'i', long)]
    pub(crate) include: bool,
}

/// Log line format of `proxy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// What a route does with a verified delivery that carries no event id (dedup on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum NoEventId {
    /// Forward it without deduplication (Slack slash commands and interactivity).
    Forward,
    /// Answer 400.
    Reject,
}

/// `countersign proxy`.
#[derive(Debug, Args)]
#[command(
    after_help = "One route from flags (every path is verified and forwarded):
  countersign proxy --listen 127.0.0.1:8080 --upstream http://127.0.0.1:8000 \\
    --preset stripe --secret env:STRIPE_WEBHOOK_SECRET

Several routes from a file (flags given here override its server settings):
  countersign proxy --config countersign.toml

GET /healthz answers 200 (503 while the dedup store is unreachable or the proxy is
shutting down); GET /metrics answers Prometheus text (on --admin-listen instead, when set).
SIGTERM/SIGINT start draining: for --grace-period the listener stays open, /healthz answers
503 and new deliveries 503 + Retry-After while in-flight requests finish; then the rest
are answered 503 and their claims released. A second signal ends the grace period."
)]
pub(crate) struct ProxyArgs {
    /// A TOML file with server settings and `[[route]]` tables (path → preset, secrets,
    /// upstream, tolerance, dedup). Route flags cannot be combined with it.
    #[arg(long, value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,

    /// Check the configuration (and secrets), print the routes and exit without serving.
    #[arg(long)]
    pub(crate) check: bool,

    /// Address to listen on, `IP:PORT` or `HOST:PORT` (resolved once, at start; IPv4 first)
    /// [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR", value_parser = listen_address, help_heading = "Server")]
    pub(crate) listen: Option<SocketAddr>,

    /// Dedup store: one Redis node, e.g. `redis://127.0.0.1:6379/` (or `env:NAME`) [default:
    /// in memory, per process].
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "redis_cluster",
        help_heading = "Server"
    )]
    pub(crate) redis: Option<String>,

    /// Dedup store: Redis Cluster, comma-separated node URLs (or `env:NAME`).
    #[arg(long, value_name = "URL,URL,...", help_heading = "Server")]
    pub(crate) redis_cluster: Option<String>,

    /// Records the in-memory store keeps (without --redis); when full it forgets the oldest
    /// processed event. Size it above the events expected within the retention [default:
    /// 100000].
    #[arg(long, value_name = "N", help_heading = "Server")]
    pub(crate) memory_capacity: Option<usize>,

    /// Request-body bytes held in memory by all requests together; a request that does not
    /// fit is answered 503 + Retry-After before its body is read. At least the largest body
    /// limit [default: 268435456 (256 MiB)].
    #[arg(long, value_name = "BYTES", help_heading = "Server")]
    pub(crate) max_body_memory: Option<usize>,

    /// Prefix of the Redis keys [default: countersign:dedup:].
    #[arg(long, value_name = "PREFIX", help_heading = "Server")]
    pub(crate) redis_prefix: Option<String>,

    /// How long a claim protects a delivery in flight; must exceed the upstream timeout
    /// [default: 60s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Server")]
    pub(crate) lease: Option<Duration>,

    /// How long a processed event answers duplicates [default: 72h].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Server")]
    pub(crate) retention: Option<Duration>,

    /// Close a connection whose request head is not complete within this long, or that reads
    /// none of its answers for this long [default: 10s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Server")]
    pub(crate) header_timeout: Option<Duration>,

    /// Answer 408 when the request body is not complete within this long after the head
    /// [default: 30s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Server")]
    pub(crate) body_timeout: Option<Duration>,

    /// Answer 504 (and release the claim) when the upstream has not answered completely
    /// within this long [default: 30s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Server")]
    pub(crate) upstream_timeout: Option<Duration>,

    /// On SIGTERM/SIGINT, how long in-flight requests may take to finish [default: 30s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Server")]
    pub(crate) grace_period: Option<Duration>,

    /// Most connections served at once; more wait in the listen backlog [default: 1024].
    #[arg(long, value_name = "N", help_heading = "Server")]
    pub(crate) max_connections: Option<usize>,

    /// Worker threads of the async runtime [default: one per CPU core].
    #[arg(long, value_name = "N", help_heading = "Server")]
    pub(crate) workers: Option<usize>,

    /// Log format on stderr [default: text]; the level comes from RUST_LOG (default info).
    #[arg(long, value_name = "FORMAT", help_heading = "Server")]
    pub(crate) log_format: Option<LogFormat>,

    /// Serve GET /healthz and GET /metrics on this address instead of the public listener
    /// (`IP:PORT` or `HOST:PORT`, as --listen).
    #[arg(long, value_name = "ADDR", value_parser = listen_address, help_heading = "Server")]
    pub(crate) admin_listen: Option<SocketAddr>,

    /// A proxy in front of this one (address or block, e.g. 10.0.0.0/8; repeatable): only
    /// from these peers are Forwarded / X-Forwarded-* headers kept and used to rebuild
    /// signed URLs. From any other peer they are replaced by what this proxy saw.
    #[arg(long = "trusted-proxy", value_name = "CIDR", help_heading = "Server")]
    pub(crate) trusted_proxies: Vec<String>,

    /// The upstream base URL (http): a request to /a/b?c is forwarded to <URL>/a/b?c.
    #[arg(long, value_name = "URL", help_heading = "Route (without --config)")]
    pub(crate) upstream: Option<String>,

    /// Publish verified deliveries to a broker instead of forwarding them, answering 200
    /// once the broker confirmed: `amqp://user:pass@host:port/vhost?exchange=X&routing_key=
    /// webhooks.{preset}` (or `?queue=NAME`), `nats://host:port?subject=webhooks.{preset}
    /// [&stream=NAME]`, `kafka://host:port[,host:port]?topic=webhooks.{preset}`, or
    /// `env:NAME`. --upstream-timeout bounds the wait for the confirmation.
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "upstream",
        help_heading = "Route (without --config)"
    )]
    pub(crate) publish: Option<String>,

    /// The preset (see `countersign presets`).
    #[arg(long, value_name = "NAME", help_heading = "Route (without --config)")]
    pub(crate) preset: Option<String>,

    /// A scheme file instead of a preset.
    #[arg(
        long,
        value_name = "PATH",
        conflicts_with = "preset",
        help_heading = "Route (without --config)"
    )]
    pub(crate) scheme_file: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) params: SchemeParams,

    #[command(flatten)]
    pub(crate) queued: crate::proxy::inbox::InboxFlags,

    /// A secret to accept; repeat for rotation. `env:NAME` reads the environment.
    #[arg(
        long = "secret",
        value_name = "S",
        value_parser = parse_secret,
        allow_hyphen_values = true,
        help_heading = "Route (without --config)"
    )]
    pub(crate) secrets: Vec<SecretArg>,

    /// Read secrets from a file, one per line (repeatable). The proxy re-reads it when it
    /// changes (checked every 2 s and after a signature mismatch); a broken file keeps the
    /// last good secrets.
    #[arg(
        long = "secret-file",
        value_name = "PATH",
        help_heading = "Route (without --config)"
    )]
    pub(crate) secret_files: Vec<PathBuf>,

    /// A secret with a label (logs, `/metrics`) and optionally the Unix second after which it
    /// is refused: `LABEL[@NOT_AFTER]=S` (S as for --secret). Repeatable, beside --secret.
    #[arg(
        long = "labelled-secret",
        value_name = "LABEL[@NOT_AFTER]=S",
        value_parser = crate::secrets::LabelledSecret::parse,
        allow_hyphen_values = true,
        help_heading = "Route (without --config)"
    )]
    pub(crate) labelled_secrets: Vec<crate::secrets::LabelledSecret>,

    /// Take the route's keys from a JSON Web Key Set at this `https` URL instead of secrets.
    /// The scheme's algorithm picks the key type (`oct` for HMAC, `OKP`/Ed25519, `EC`/P-256;
    /// other keys are skipped). Fetched at start (the proxy does not start without keys), then
    /// every --keys-refresh and after a signature mismatch (at most every 30 s); a failed
    /// fetch keeps the last good keys. The host is pinned to the URL's; no redirects.
    /// `env:NAME` reads the URL from the environment (it may carry an access token).
    #[arg(long, value_name = "URL", help_heading = "Route (without --config)")]
    pub(crate) keys_url: Option<String>,

    /// Trust the PEM certificates in this file for --keys-url instead of the web PKI roots
    /// (a private CA).
    #[arg(
        long,
        value_name = "PATH",
        requires = "keys_url",
        help_heading = "Route (without --config)"
    )]
    pub(crate) keys_ca: Option<PathBuf>,

    /// How often --keys-url is fetched again [default: 5m].
    #[arg(
        long,
        value_name = "DURATION",
        value_parser = parse_duration,
        requires = "keys_url",
        help_heading = "Route (without --config)"
    )]
    pub(crate) keys_refresh: Option<Duration>,

    /// Route name: metrics label and dedup key scope [default: the preset name].
    #[arg(long, value_name = "NAME", help_heading = "Route (without --config)")]
    pub(crate) name: Option<String>,

    /// Accept timestamps up to SECONDS old or ahead [default: the preset's].
    #[arg(
        long,
        value_name = "SECONDS",
        help_heading = "Route (without --config)"
    )]
    pub(crate) tolerance: Option<u64>,

    /// Largest body accepted, in bytes [default: the preset's, usually 1 MiB].
    #[arg(long, value_name = "BYTES", help_heading = "Route (without --config)")]
    pub(crate) body_limit: Option<usize>,

    /// Forward without deduplication (required for presets that carry no event id).
    #[arg(long, help_heading = "Route (without --config)")]
    pub(crate) no_dedup: bool,

    /// A verified delivery without an event id: `forward` it without deduplication, or
    /// `reject` it (400) [default: forward for slack (slash commands), reject otherwise].
    #[arg(long, value_name = "POLICY", help_heading = "Route (without --config)")]
    pub(crate) no_event_id: Option<NoEventId>,

    /// A method the route accepts; repeatable. Others are answered 405 with `Allow`
    /// [default: POST].
    #[arg(
        long = "allow-method",
        value_name = "METHOD",
        help_heading = "Route (without --config)"
    )]
    pub(crate) methods: Vec<String>,

    /// Forward handshakes (e.g. Slack's url_verification) to the upstream instead of
    /// answering them in the proxy.
    #[arg(long, help_heading = "Route (without --config)")]
    pub(crate) forward_handshakes: bool,

    /// The verify token of an unsigned GET handshake (Meta's `hub.verify_token`, the value
    /// typed into Meta's dashboard); `env:NAME` reads the environment. Without it Meta's
    /// verification requests are refused.
    #[arg(
        long = "handshake-token",
        value_name = "S",
        value_parser = parse_secret,
        allow_hyphen_values = true,
        help_heading = "Route (without --config)"
    )]
    pub(crate) handshake_token: Option<SecretArg>,

    /// The public base URL the provider sends to, for presets that sign the URL (twilio,
    /// square, hubspot): e.g. `https://hooks.example.com`.
    #[arg(long, value_name = "URL", help_heading = "Route (without --config)")]
    pub(crate) public_url: Option<String>,

    /// Replaced by --trusted-proxy CIDR (an error now: it trusted every client).
    #[arg(long, hide = true)]
    pub(crate) trust_forwarded_headers: bool,
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

/// A listen address: `IP:PORT`, or `HOST:PORT` resolved now (the first IPv4 address, else
/// the first IPv6 one), so that `localhost:8080` works as it does in a browser.
pub(crate) fn listen_address(text: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs as _;

    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let example = "such as 127.0.0.1:8080, [::]:8080 or localhost:8080";
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!(
            "`{text}` is not an address {example} (the port is missing)"
        ));
    };
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(format!("`{text}` is not an address {example}"));
    }
    let resolved: Vec<SocketAddr> = match text.to_socket_addrs() {
        Ok(addrs) => addrs.collect(),
        Err(e) => {
            return Err(format!(
                "`{text}`: the host name `{host}` does not resolve ({e}); give an IP address {example}"
            ));
        }
    };
    resolved
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| resolved.first())
        .copied()
        .ok_or_else(|| format!("`{text}`: the host name `{host}` resolves to no address"))
}

/// Keeps secrets out of `Debug` from the moment they are parsed.
fn parse_secret(s: &str) -> Result<SecretArg, std::convert::Infallible> {
    Ok(SecretArg::parse(s))
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
        assert_eq!(args.secrets[1].resolve().unwrap().expose(), b"-also-secret");
    }

    #[test]
    fn listen_addresses_may_be_host_names() {
        assert_eq!(
            listen_address("127.0.0.1:8080").unwrap(),
            "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            listen_address(" [::1]:0 ").unwrap(),
            "[::1]:0".parse::<SocketAddr>().unwrap()
        );
        let local = listen_address("localhost:8080").unwrap();
        assert!(local.ip().is_loopback() && local.port() == 8080, "{local}");
        for bad in [
            "8080",
            "localhost",
            "localhost:http",
            ":8080",
            "localhost:70000",
        ] {
            let err = listen_address(bad).unwrap_err();
            assert!(err.contains("such as 127.0.0.1:8080"), "{bad}: {err}");
        }
        let err = listen_address("no-such-host.invalid:8080").unwrap_err();
        assert!(err.contains("does not resolve"), "{err}");
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
        assert_eq!(
            args.signing.secret.unwrap().resolve().unwrap().expose(),
            b"-abc"
        );
    }
}
