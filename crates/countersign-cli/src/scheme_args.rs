//! Turning `--preset` (or `--scheme-file`) and the sender-chosen parameters into a [`Scheme`].
//!
//! - `hmac` is the generic body HMAC: `--signature-header` is required, `--prefix`,
//!   `--algorithm` (default sha256) and `--encoding` (default hex) are optional.
//! - Presets whose sender lets users choose the hash and encoding (the scheme's
//!   [`sender_choices`](Scheme::sender_choices): `convoy`, `convoy-simple`) take
//!   `--algorithm`/`--encoding`, limited to what the sender offers.
//! - `--scheme-file PATH` reads a scheme description (TOML, or JSON when the file name ends in
//!   `.json`; the format is on `countersign_core::Scheme`'s `Deserialize` impl) instead of a preset; the file describes
//!   everything, so the sender-chosen flags do not apply.
//! - Anywhere else those flags are a usage error: a provider that always signs with
//!   HMAC-SHA256/hex cannot be verified "with sha1", and silently ignoring the flag would hide
//!   a mistake.

use std::path::Path;

use countersign_core::{Algorithm, ConfigError, Encoding, Preset, Scheme};

use crate::cli::SchemeArgs;
use crate::error::CliError;
use crate::input::Source;

/// The name of the generic body-HMAC preset.
pub(crate) const GENERIC_HMAC: &str = "hmac";

/// The description `countersign presets` shows for [`GENERIC_HMAC`].
pub(crate) const GENERIC_HMAC_DESCRIPTION: &str = "Generic HMAC of the raw body in one header: --signature-header NAME [--prefix P] [--algorithm md5|sha1|sha256|sha512] [--encoding hex|base64|base64url]";

/// The most bytes read from a scheme file: descriptions are a few hundred bytes.
const MAX_SCHEME_FILE: usize = 64 * 1024;

/// The options a scheme takes beyond the common ones, as flag names.
pub(crate) fn options_of(scheme: &Scheme, generic: bool) -> &'static [&'static str] {
    if generic {
        &[
            "--signature-header",
            "--prefix",
            "--algorithm",
            "--encoding",
        ]
    } else if scheme.sender_choices().is_some() {
        &["--algorithm", "--encoding"]
    } else {
        &[]
    }
}

/// The common flags a scheme cannot do without (URL-bound schemes).
pub(crate) fn required_of(scheme: &Scheme) -> Vec<&'static str> {
    let mut out = Vec::new();
    if scheme.needs_url() {
        out.push("--url");
    }
    if scheme.needs_method() {
        out.push("--method");
    }
    out
}

/// The generic scheme with its defaults and a placeholder header, for listing.
pub(crate) fn generic_hmac_defaults() -> Result<Scheme, ConfigError> {
    Scheme::generic_hmac("x-signature", "", Algorithm::HmacSha256, Encoding::Hex)
}

/// Builds the scheme the flags describe.
///
/// # Errors
/// [`CliError::Config`] for an unknown preset or a bad header name; [`CliError::Usage`] for
/// an option the preset does not take, a missing `--signature-header` on `hmac`, or a scheme
/// file that cannot be read or understood.
pub(crate) fn resolve(args: &SchemeArgs) -> Result<Scheme, CliError> {
    if let Some(scheme) = &args.inline {
        return Ok(scheme.clone());
    }
    if let Some(path) = &args.scheme_file {
        return from_file(args, path);
    }
    let name = args
        .preset
        .as_deref()
        .ok_or_else(|| CliError::Usage("give --preset NAME or --scheme-file PATH".into()))?;
    if name.trim().eq_ignore_ascii_case(GENERIC_HMAC) {
        let header = args.params.signature_header.as_deref().ok_or_else(|| {
            CliError::Usage(
                "`--preset hmac` needs --signature-header NAME (the header carrying the signature)"
                    .into(),
            )
        })?;
        return Ok(Scheme::generic_hmac(
            header,
            args.params.prefix.as_deref().unwrap_or(""),
            args.params.algorithm.unwrap_or(Algorithm::HmacSha256),
            args.params.encoding.unwrap_or(Encoding::Hex),
        )?);
    }

    let preset = Preset::from_name(name)?;
    let unsupported = |flag: &str, applies_to: &str| {
        CliError::Usage(format!(
            "{flag} does not apply to preset `{}`: {applies_to}",
            preset.name()
        ))
    };
    if args.params.signature_header.is_some() {
        return Err(unsupported(
            "--signature-header",
            "only the generic `hmac` preset takes it",
        ));
    }
    if args.params.prefix.is_some() {
        return Err(unsupported(
            "--prefix",
            "only the generic `hmac` preset takes it",
        ));
    }
    let mut scheme = preset.scheme();
    let Some(choices) = scheme.sender_choices().cloned() else {
        return match (args.params.algorithm, args.params.encoding) {
            (None, None) => Ok(scheme),
            (algorithm, _) => Err(unsupported(
                if algorithm.is_some() {
                    "--algorithm"
                } else {
                    "--encoding"
                },
                "the provider fixes its algorithm and encoding (see `countersign presets`)",
            )),
        };
    };
    let names = |items: Vec<&'static str>| items.join(", ");
    if let Some(a) = args.params.algorithm {
        scheme = scheme.with_algorithm(a).map_err(|_| {
            unsupported(
                &format!("--algorithm {}", a.as_str()),
                &format!(
                    "the sender offers {}",
                    names(choices.algorithms.iter().map(|a| a.as_str()).collect())
                ),
            )
        })?;
    }
    if let Some(e) = args.params.encoding {
        scheme = scheme.with_encoding(e).map_err(|_| {
            unsupported(
                &format!("--encoding {}", e.as_str()),
                &format!(
                    "the sender offers {}",
                    names(choices.encodings.iter().map(|e| e.as_str()).collect())
                ),
            )
        })?;
    }
    Ok(scheme)
}

/// Reads `--scheme-file`: TOML, or JSON for `*.json`.
fn from_file(args: &SchemeArgs, path: &Path) -> Result<Scheme, CliError> {
    for (set, flag) in [
        (args.preset.is_some(), "--preset"),
        (args.params.algorithm.is_some(), "--algorithm"),
        (args.params.encoding.is_some(), "--encoding"),
        (args.params.signature_header.is_some(), "--signature-header"),
        (args.params.prefix.is_some(), "--prefix"),
    ] {
        if set {
            return Err(CliError::Usage(format!(
                "{flag} does not apply with --scheme-file: the file describes the whole scheme"
            )));
        }
    }
    let source = Source::from_arg(Some(path));
    if source == Source::Stdin {
        return Err(CliError::Usage(
            "--scheme-file needs a file; stdin carries the body".into(),
        ));
    }
    let bytes = source.read_up_to("scheme", MAX_SCHEME_FILE.saturating_add(1))?;
    if bytes.len() > MAX_SCHEME_FILE {
        return Err(CliError::TooLarge {
            what: format!("the scheme file `{}`", path.display()),
            limit: MAX_SCHEME_FILE,
        });
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        CliError::Usage(format!("the scheme file `{}` is not UTF-8", path.display()))
    })?;
    let json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let parsed = if json {
        Scheme::from_json(&text)
    } else {
        Scheme::from_toml(&text)
    };
    parsed.map_err(|source| CliError::SchemeFile {
        path: path.display().to_string(),
        source: Box::new(source),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::SchemeParams;
    use countersign_core::SignatureSyntax;

    fn args(preset: &str) -> SchemeArgs {
        SchemeArgs {
            preset: Some(preset.into()),
            scheme_file: None,
            inline: None,
            params: SchemeParams::default(),
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
        a.params.signature_header = Some("X-Acme-Signature".into());
        a.params.prefix = Some("sha512=".into());
        a.params.algorithm = Some(Algorithm::HmacSha512);
        a.params.encoding = Some(Encoding::Base64);
        let s = resolve(&a).unwrap();
        assert_eq!(s.name(), "hmac");
        assert_eq!(s.signature_header()[0], "x-acme-signature");
        assert_eq!(s.algorithm(), Algorithm::HmacSha512);
        assert_eq!(s.encoding(), Encoding::Base64);
        assert_eq!(s.syntax(), &SignatureSyntax::single("sha512="));
        a.params.signature_header = Some("bad header".into());
        assert!(matches!(resolve(&a), Err(CliError::Config(_))));
    }

    #[test]
    fn fixed_presets_refuse_sender_chosen_flags() {
        for p in Preset::ALL {
            if p.scheme().sender_choices().is_some() {
                continue;
            }
            let mut a = args(p.name());
            a.params.algorithm = Some(p.scheme().algorithm());
            let msg = resolve(&a).unwrap_err().report();
            assert!(msg.starts_with("--algorithm does not apply"), "{msg}");
            let mut a = args(p.name());
            a.params.encoding = Some(Encoding::Hex);
            assert!(matches!(resolve(&a), Err(CliError::Usage(_))));
            let mut a = args(p.name());
            a.params.signature_header = Some("x-sig".into());
            assert!(matches!(resolve(&a), Err(CliError::Usage(_))));
            let mut a = args(p.name());
            a.params.prefix = Some(String::new());
            assert!(matches!(resolve(&a), Err(CliError::Usage(_))));
        }
    }

    #[test]
    fn convoy_takes_what_the_sender_offers() {
        for name in ["convoy", "convoy-simple"] {
            let mut a = args(name);
            a.params.algorithm = Some(Algorithm::HmacSha512);
            a.params.encoding = Some(Encoding::Base64);
            let s = resolve(&a).unwrap();
            assert_eq!(
                (s.algorithm(), s.encoding()),
                (Algorithm::HmacSha512, Encoding::Base64)
            );
            assert_eq!(
                s.header_names(),
                Preset::from_name(name).unwrap().scheme().header_names()
            );
            a.params.algorithm = Some(Algorithm::HmacSha1);
            let msg = resolve(&a).unwrap_err().report();
            assert!(msg.contains("the sender offers sha256, sha512"), "{msg}");
        }
    }

    #[test]
    fn options_listed() {
        assert_eq!(options_of(&generic_hmac_defaults().unwrap(), true).len(), 4);
        assert_eq!(
            options_of(&Preset::Convoy.scheme(), false),
            ["--algorithm", "--encoding"]
        );
        assert!(options_of(&Preset::Stripe.scheme(), false).is_empty());
        assert_eq!(
            required_of(&Preset::Hubspot.scheme()),
            ["--url", "--method"]
        );
        assert_eq!(required_of(&Preset::Twilio.scheme()), ["--url"]);
    }
}
