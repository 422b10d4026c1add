//! Structured logs on stderr with `tracing`: human-readable lines or one JSON object per
//! line (`--log-format json`). The level comes from `RUST_LOG` (default `info`); targets:
//! `countersign::access` (one event per request), `countersign::proxy` (the server),
//! `countersign` (verification rejections), `countersign_dedup` (claims and store errors).

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Installs the global subscriber (a second call is a no-op).
pub(crate) fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // Already installed (tests): keep the first.
    let _ = match format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
}
