//! Provider presets: one file per provider, each a short declarative [`Scheme`].
//!
//! Adding a provider touches its file, one line in the table below, and its test vectors.

use std::fmt;
use std::str::FromStr;

use crate::error::ConfigError;
use crate::scheme::Scheme;

mod github;
mod github_sha1;
mod shopify;
mod slack;
mod standard_webhooks;
mod stripe;
mod svix;

macro_rules! presets {
    ($( $(#[$doc:meta])* $variant:ident => $module:ident, )*) => {
        /// A named provider scheme. `Preset::Stripe.scheme()` is the scheme; a `Preset` can be
        /// passed wherever a [`Scheme`] is expected.
        ///
        /// ```
        /// use countersign_core::Preset;
        /// let p: Preset = "github".parse()?;
        /// assert_eq!(p, Preset::Github);
        /// assert_eq!(p.name(), "github");
        /// # Ok::<(), countersign_core::ConfigError>(())
        /// ```
        #[non_exhaustive]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Preset {
            $( $(#[$doc])* $variant, )*
        }

        impl Preset {
            /// Every preset, in documentation order.
            pub const ALL: &'static [Preset] = &[ $( Preset::$variant, )* ];

            /// The kebab-case name used by the CLI and in configuration, e.g. `github-sha1`.
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self { $( Preset::$variant => $module::NAME, )* }
            }

            /// One line about the provider and what it sends.
            #[must_use]
            pub const fn description(self) -> &'static str {
                match self { $( Preset::$variant => $module::DESCRIPTION, )* }
            }

            /// The scheme.
            #[must_use]
            pub fn scheme(self) -> Scheme {
                match self { $( Preset::$variant => $module::scheme(), )* }
            }
        }
    };
}

presets! {
    /// [Standard Webhooks](https://www.standardwebhooks.com/): `webhook-id`,
    /// `webhook-timestamp`, `webhook-signature: v1,<base64>`; secret `whsec_<base64>`.
    StandardWebhooks => standard_webhooks,
    /// Svix: as Standard Webhooks with `svix-*` headers, falling back to `webhook-*`.
    Svix => svix,
    /// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>`; the whole `whsec_…` string is the key;
    /// event id is the body's top-level `id`.
    Stripe => stripe,
    /// GitHub: `X-Hub-Signature-256: sha256=<hex>` over the body; event id
    /// `X-GitHub-Delivery` (per delivery, not per hook: combine it with `X-GitHub-Hook-ID`
    /// through an id extractor when one endpoint serves several hooks).
    Github => github,
    /// GitHub's legacy `X-Hub-Signature: sha1=<hex>`.
    GithubSha1 => github_sha1,
    /// Slack: `X-Slack-Signature: v0=<hex>` over `v0:<timestamp>:<body>`; event id is the
    /// JSON body's `event_id` (form-encoded bodies such as slash commands have none);
    /// declares the `url_verification` handshake ([`crate::Handshake::slack_url_verification`]).
    Slack => slack,
    /// Shopify: `X-Shopify-Hmac-Sha256: <base64>` over the body; event id
    /// `X-Shopify-Event-Id`, falling back to `X-Shopify-Webhook-Id`.
    Shopify => shopify,
}

impl Preset {
    /// Looks a preset up by its name (case-insensitive).
    ///
    /// # Errors
    /// [`ConfigError::UnknownPreset`].
    pub fn from_name(name: &str) -> Result<Self, ConfigError> {
        Preset::ALL
            .iter()
            .copied()
            .find(|p| p.name().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| ConfigError::UnknownPreset(name.to_owned()))
    }
}

impl FromStr for Preset {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Preset::from_name(s)
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<Preset> for Scheme {
    fn from(p: Preset) -> Scheme {
        p.scheme()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_valid_and_named_consistently() {
        for p in Preset::ALL {
            let s = p.scheme();
            s.validate().unwrap_or_else(|e| panic!("{p}: {e}"));
            assert_eq!(s.name(), p.name());
            assert_eq!(Preset::from_name(&p.name().to_uppercase()), Ok(*p));
            assert!(
                p.name()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{p} is not kebab-case"
            );
        }
        assert!(matches!(
            Preset::from_name("nope"),
            Err(ConfigError::UnknownPreset(_))
        ));
    }
}
