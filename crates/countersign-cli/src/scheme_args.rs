//! Turning `--preset` and the sender-chosen parameters into a [`Scheme`].
//!
//! - `hmac` is the generic body HMAC: `--signature-header` is required, `--prefix`,
//!   `--algorithm` (default sha256) and `--encoding` (default hex) are optional.
//! - Presets listed in [`SENDER_CHOOSES_HASH`] take `--algorithm`/`--encoding`: their scheme
//!   is rebuilt with the chosen values.
//! - Anywhere else those flags are a usage error: a provider that always signs with
//!   HMAC-SHA256/hex cannot be verified "with sha1", and silently ignoring the flag would hide
//!   a mistake.

use countersign_core::{
    Algorithm, ConfigError, Encoding, Preset, Scheme, SchemeBuilder, SignatureSyntax,
};

use crate::cli::SchemeArgs;
use crate::error::CliError;

/// The name of the generic body-HMAC preset.
pub(crate) const GENERIC_HMAC: &str = "hmac";

/// The description `countersign presets` shows for [`GENERIC_HMAC`].
pub(crate) const GENERIC_HMAC_DESCRIPTION: &str = "Generic HMAC of the raw body in one header: --signature-header NAME [--prefix P] [--algorithm sha1|sha256|sha512] [--encoding hex|base64]";

/// Presets (besides `hmac`) whose sender picks the hash and the encoding, so `--algorithm` and
/// `--encoding` apply. Names that are not presets yet are inert.
pub(crate) const SENDER_CHOOSES_HASH: &[&str] = &["convoy", "convoy-simple"];

/// The options a preset takes beyond the common ones, as flag names.
pub(crate) fn options_of(name: &str) -> &'static [&'static str] {
    if name == GENERIC_HMAC {
        &[
            "--signature-header",
            "--prefix",
            "--algorithm",
            "--encoding",
        ]
    } else if SENDER_CHOOSES_HASH.contains(&name) {
        &["--algorithm", "--encoding"]
    } else {
        &[]
    }
}

/// The generic scheme with its defaults and a placeholder header, for listing.
pub(crate) fn generic_hmac_defaults() -> Result<Scheme, ConfigError> {
    Scheme::generic_hmac("x-signature", "", Algorithm::HmacSha256, Encoding::Hex)
}

/// Builds the scheme the flags describe.
///
/// # Errors
/// [`CliError::Config`] for an unknown preset or a bad header name; [`CliError::Usage`] for
/// an option the preset does not take or a missing `--signature-header` on `hmac`.
pub(crate) fn resolve(args: &SchemeArgs) -> Result<Scheme, CliError> {
    if args.preset.trim().eq_ignore_ascii_case(GENERIC_HMAC) {
        let header = args.signature_header.as_deref().ok_or_else(|| {
            CliError::Usage(
                "`--preset hmac` needs --signature-header NAME (the header carrying the signature)"
                    .into(),
            )
        })?;
        return Ok(Scheme::generic_hmac(
            header,
            args.prefix.as_deref().unwrap_or(""),
            args.algorithm.unwrap_or(Algorithm::HmacSha256),
            args.encoding.unwrap_or(Encoding::Hex),
        )?);
    }

    let preset = Preset::from_name(&args.preset)?;
    let unsupported = |flag: &str, applies_to: &str| {
        CliError::Usage(format!(
            "{flag} does not apply to preset `{}`: {applies_to}",
            preset.name()
        ))
    };
    if args.signature_header.is_some() {
        return Err(unsupported(
            "--signature-header",
            "only the generic `hmac` preset takes it",
        ));
    }
    if args.prefix.is_some() {
        return Err(unsupported(
            "--prefix",
            "only the generic `hmac` preset takes it",
        ));
    }
    let scheme = preset.scheme();
    if args.algorithm.is_none() && args.encoding.is_none() {
        return Ok(scheme);
    }
    if !SENDER_CHOOSES_HASH.contains(&preset.name()) {
        let flag = if args.algorithm.is_some() {
            "--algorithm"
        } else {
            "--encoding"
        };
        return Err(unsupported(
            flag,
            "the provider fixes its algorithm and encoding (see `countersign presets`)",
        ));
    }
    Ok(rebuild(&scheme, args.algorithm, args.encoding)?)
}

/// `scheme` with another algorithm and/or encoding, everything else unchanged.
pub(crate) fn rebuild(
    scheme: &Scheme,
    algorithm: Option<Algorithm>,
    encoding: Option<Encoding>,
) -> Result<Scheme, ConfigError> {
    let (first, fallbacks) = scheme
        .signature_header()
        .split_first()
        .ok_or(ConfigError::InvalidScheme("no signature header"))?;
    let mut builder: SchemeBuilder = Scheme::builder(scheme.name().to_owned())
        .algorithm(algorithm.unwrap_or(scheme.algorithm()))
        .encoding(encoding.unwrap_or(scheme.encoding()))
        .signature_header(first.clone(), SignatureSyntax::clone(scheme.syntax()))
        .content(scheme.content().iter().cloned())
        .key_format(scheme.key_format().clone())
        .tolerance(scheme.tolerance())
        .event_id(scheme.event_id().clone())
        .body_limit(scheme.body_limit());
    for name in fallbacks {
        builder = builder.signature_header_fallback(name.clone());
    }
    if let Some(timestamp) = scheme.timestamp() {
        builder = builder.timestamp(timestamp.clone());
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(preset: &str) -> SchemeArgs {
        SchemeArgs {
            preset: preset.into(),
            algorithm: None,
            encoding: None,
            signature_header: None,
            prefix: None,
        }
    }

    #[test]
    fn presets_resolve_case_insensitively() {
        for p in Preset::ALL {
            let s = resolve(&args(&p.name().to_uppercase())).unwrap();
            assert_eq!(s.name(), p.name());
        }
        let err = resolve(&args("nope")).unwrap_err();
        assert!(
            err.report().contains("unknown preset `nope`"),
            "{}",
            err.report()
        );
    }

    #[test]
    fn generic_hmac_needs_a_header_and_takes_parameters() {
        assert!(matches!(resolve(&args("hmac")), Err(CliError::Usage(_))));
        let mut a = args("HMAC");
        a.signature_header = Some("X-Acme-Signature".into());
        a.prefix = Some("sha512=".into());
        a.algorithm = Some(Algorithm::HmacSha512);
        a.encoding = Some(Encoding::Base64);
        let s = resolve(&a).unwrap();
        assert_eq!(s.name(), "hmac");
        assert_eq!(s.signature_header()[0], "x-acme-signature");
        assert_eq!(s.algorithm(), Algorithm::HmacSha512);
        assert_eq!(s.encoding(), Encoding::Base64);
        assert_eq!(s.syntax(), &SignatureSyntax::single("sha512="));
        a.signature_header = Some("bad header".into());
        assert!(matches!(resolve(&a), Err(CliError::Config(_))));
    }

    #[test]
    fn fixed_presets_refuse_sender_chosen_flags() {
        for p in Preset::ALL {
            if SENDER_CHOOSES_HASH.contains(&p.name()) {
                continue;
            }
            let mut a = args(p.name());
            a.algorithm = Some(p.scheme().algorithm());
            let msg = resolve(&a).unwrap_err().report();
            assert!(msg.starts_with("--algorithm does not apply"), "{msg}");
            let mut a = args(p.name());
            a.encoding = Some(Encoding::Hex);
            assert!(matches!(resolve(&a), Err(CliError::Usage(_))));
            let mut a = args(p.name());
            a.signature_header = Some("x-sig".into());
            assert!(matches!(resolve(&a), Err(CliError::Usage(_))));
            let mut a = args(p.name());
            a.prefix = Some(String::new());
            assert!(matches!(resolve(&a), Err(CliError::Usage(_))));
        }
    }

    /// The rebuild must carry every field over; `Debug` shows them all, including fields
    /// added to `Scheme` later, so a field the rebuild forgets makes this test fail.
    #[test]
    fn rebuild_preserves_every_field() {
        let mut schemes: Vec<Scheme> = Preset::ALL.iter().map(|p| p.scheme()).collect();
        schemes.push(generic_hmac_defaults().unwrap());
        for s in schemes {
            let same = rebuild(&s, None, None).unwrap();
            assert_eq!(format!("{same:?}"), format!("{s:?}"));
            let changed = rebuild(&s, Some(Algorithm::HmacSha512), Some(Encoding::Base64)).unwrap();
            assert_eq!(changed.algorithm(), Algorithm::HmacSha512);
            assert_eq!(changed.encoding(), Encoding::Base64);
            assert_eq!(changed.header_names(), s.header_names());
        }
    }

    #[test]
    fn options_listed() {
        assert_eq!(options_of("hmac").len(), 4);
        assert_eq!(options_of("convoy"), ["--algorithm", "--encoding"]);
        assert!(options_of("stripe").is_empty());
    }
}
