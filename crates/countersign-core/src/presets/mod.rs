//! Provider presets: one file per provider, each a short declarative [`Scheme`].
//!
//! Adding a provider touches its file, one line in the table below, and its test vectors.

use std::fmt;
use std::str::FromStr;

use crate::error::ConfigError;
use crate::scheme::Scheme;

mod bitbucket;
mod calendly;
mod coinbase_commerce;
mod convoy;
mod convoy_simple;
mod discord;
mod dropbox;
mod github;
mod github_sha1;
mod gitlab;
mod hubspot;
mod hubspot_v1;
mod hubspot_v2;
mod intercom;
mod linear;
mod mailgun;
mod paddle;
mod pagerduty;
mod sendgrid;
mod sentry;
mod shopify;
mod slack;
mod square;
mod standard_webhooks;
mod stripe;
mod svix;
mod twilio;
mod twitch;
mod typeform;
mod vercel;
mod woocommerce;
mod xero;
mod zoom;

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
        ///
        /// URL-bound presets need the public URL the provider sent to (Twilio's documented
        /// example):
        ///
        /// ```
        /// use countersign_core::{Delivery, ErrorKind, Preset, Verifier};
        ///
        /// let verifier = Verifier::new(Preset::Twilio, "12345")?;
        /// let mut headers = http::HeaderMap::new();
        /// headers.insert("x-twilio-signature", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=".parse()?);
        /// let body = b"CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234\
        ///              &From=%2B12349013030&To=%2B18005551212";
        /// let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        ///
        /// assert!(verifier.verify(&Delivery::new(&headers, body).url(url)).is_ok());
        /// // Another URL, or none, is rejected.
        /// let other = Delivery::new(&headers, body).url("https://mycompany.com/other");
        /// assert_eq!(verifier.verify(&other).unwrap_err().kind(), ErrorKind::SignatureMismatch);
        /// let none = Delivery::new(&headers, body);
        /// assert_eq!(verifier.verify(&none).unwrap_err().kind(), ErrorKind::MissingUrl);
        /// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// `webhook-timestamp`, `webhook-signature: v1,<base64>` (HMAC-SHA256 over
    /// `id.timestamp.body`); secret `whsec_<base64>`. A `whpk_<base64>` public key (32 raw
    /// bytes or SPKI DER) selects the asymmetric `v1a` signatures (Ed25519) instead; both
    /// kinds may be configured at once during a rotation.
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
    /// declares the `url_verification` handshake ([`crate::Handshake::slack_url_verification`]),
    /// answered by the tower layer when it opts in.
    Slack => slack,
    /// Shopify: `X-Shopify-Hmac-Sha256: <base64>` over the body; event id
    /// `X-Shopify-Event-Id`, falling back to `X-Shopify-Webhook-Id`.
    Shopify => shopify,
    /// Twilio: `X-Twilio-Signature: <base64>` HMAC-SHA1 over the public URL followed by the
    /// POST parameters sorted by name (then value, duplicates removed), each written
    /// `name value` without separators. JSON bodies are sent to a URL with a `bodySHA256`
    /// query parameter: the URL alone is signed and the body must hash to that value. Like
    /// Twilio's SDKs, the URL is accepted with and without the default port. Needs the URL
    /// ([`Delivery::url`](crate::Delivery::url)); event id
    /// `I-Twilio-Idempotency-Token`. The auth token is the secret.
    Twilio => twilio,
    /// Square: `x-square-hmacsha256-signature: <base64>` HMAC-SHA256 over the notification
    /// URL (exactly as configured in Square) followed by the body; event id JSON `event_id`.
    Square => square,
    /// Paddle Billing: `Paddle-Signature: ts=<unix>;h1=<hex>` (several `h1` during secret
    /// rotation), HMAC-SHA256 over `ts:body`; default tolerance 5 s, as Paddle's SDKs;
    /// event id JSON `event_id`.
    Paddle => paddle,
    /// Twitch EventSub: `Twitch-Eventsub-Message-Signature: sha256=<hex>` over
    /// `message-id + timestamp + body`; `Twitch-Eventsub-Message-Timestamp` is RFC 3339;
    /// tolerance 10 minutes; event id `Twitch-Eventsub-Message-Id`. The
    /// `webhook_callback_verification` challenge is signed the same way; the preset declares
    /// it ([`crate::Handshake::twitch_webhook_callback_verification`]).
    Twitch => twitch,
    /// Linear: `Linear-Signature: <hex>` HMAC-SHA256 over the body; the timestamp is the
    /// body's `webhookTimestamp` (Unix milliseconds), tolerance 60 s; event id
    /// `Linear-Delivery`.
    Linear => linear,
    /// GitLab: `X-Gitlab-Token` must equal the secret token (constant-time; nothing is
    /// signed, so configure TLS and prefer a signing token). A `whsec_<base64>` secret is a
    /// signing token instead: `webhook-signature: v1,<base64>` HMAC-SHA256 over
    /// `webhook-id.webhook-timestamp.body`, Standard Webhooks style. Event id
    /// `Idempotency-Key`, falling back to `X-Gitlab-Event-UUID` (`webhook-id` when signed).
    Gitlab => gitlab,
    /// Zoom: `x-zm-signature: v0=<hex>` HMAC-SHA256 over `v0:<x-zm-request-timestamp>:<body>`
    /// with the secret token; no event id in the request. The preset declares the
    /// `endpoint.url_validation` handshake ([`crate::Handshake::zoom_endpoint_url_validation`]):
    /// `plainToken` is answered with its HMAC under the secret token.
    Zoom => zoom,
    /// Mailgun: the signature object travels inside the JSON body
    /// (`signature.timestamp`, `signature.token`, `signature.signature` = hex HMAC-SHA256 of
    /// timestamp + token with the webhook signing key). **The body itself is not covered by
    /// the signature**: anyone holding one valid signature object can attach it to another
    /// body within the tolerance. Event id JSON `event-data.id` (unsigned, like the body).
    Mailgun => mailgun,
    /// Intercom: `X-Hub-Signature: sha1=<hex>` HMAC-SHA1 over the body with the app's client
    /// secret; event id JSON `id`.
    Intercom => intercom,
    /// SendGrid Event Webhook: `X-Twilio-Email-Event-Webhook-Signature: <base64 DER>` ECDSA
    /// P-256/SHA-256 over `timestamp + body`, `X-Twilio-Email-Event-Webhook-Timestamp` in
    /// Unix seconds; the secret is the verification key (base64 SPKI DER). Events come in a
    /// JSON array: no event id.
    Sendgrid => sendgrid,
    /// Discord interactions: `X-Signature-Ed25519: <hex>` over `timestamp + body`,
    /// `X-Signature-Timestamp` in Unix seconds; the secret is the application's public key in
    /// hex; event id JSON `id`. PING interactions (`{"type":1}`) are signed the same way; the
    /// preset declares them ([`crate::Handshake::discord_ping`]).
    Discord => discord,
    /// PagerDuty v3 webhooks: `X-PagerDuty-Signature: v1=<hex>[,v1=<hex>…]` HMAC-SHA256 over
    /// the body; event id JSON `event.id`.
    Pagerduty => pagerduty,
    /// HubSpot v3: `X-HubSpot-Signature-v3: <base64>` HMAC-SHA256 over
    /// `method + URI + body + timestamp`, `X-HubSpot-Request-Timestamp` in Unix milliseconds
    /// (rejected after 5 minutes); the URI is the full URL with `%3A %2F %3F %40 %21 %24 %27
    /// %28 %29 %2A %2C %3B` decoded. Needs the URL and method. The client secret is the key.
    Hubspot => hubspot,
    /// HubSpot v2 (`X-HubSpot-Signature-Version: v2`): `X-HubSpot-Signature: <hex>` =
    /// SHA-256 of `client secret + method + URI + body` — a plain hash, not an HMAC, with no
    /// timestamp. Needs the URL and method.
    HubspotV2 => hubspot_v2,
    /// HubSpot v1 (`X-HubSpot-Signature-Version: v1`): `X-HubSpot-Signature: <hex>` =
    /// SHA-256 of `client secret + body` — a plain hash, with no timestamp.
    HubspotV1 => hubspot_v1,
    /// Dropbox: `X-Dropbox-Signature: <hex>` HMAC-SHA256 over the body with the app secret;
    /// notifications carry no event id.
    Dropbox => dropbox,
    /// Calendly: `Calendly-Webhook-Signature: t=<unix>,v1=<hex>` HMAC-SHA256 over `t.body`
    /// with the webhook signing key; tolerance 3 minutes, as Calendly's examples; no event id.
    Calendly => calendly,
    /// Typeform: `Typeform-Signature: sha256=<base64>` HMAC-SHA256 over the body; event id
    /// JSON `event_id`.
    Typeform => typeform,
    /// Xero: `x-xero-signature: <base64>` HMAC-SHA256 over the body with the webhook key;
    /// events come in an array: no event id. Xero's "intent to receive" check expects 401 on
    /// a bad signature, which is what a rejection returns.
    Xero => xero,
    /// WooCommerce: `X-WC-Webhook-Signature: <base64>` HMAC-SHA256 over the body; event id
    /// `X-WC-Webhook-Delivery-ID`.
    Woocommerce => woocommerce,
    /// Bitbucket Cloud: `X-Hub-Signature: sha256=<hex>` HMAC-SHA256 over the body; event id
    /// `X-Request-UUID`.
    Bitbucket => bitbucket,
    /// Sentry integration platform: `Sentry-Hook-Signature: <hex>` HMAC-SHA256 over the body
    /// with the client secret (`Sentry-Hook-Timestamp` is not signed, so not checked); event
    /// id `Request-ID`.
    Sentry => sentry,
    /// Vercel: `x-vercel-signature: <hex>` HMAC-SHA1 over the body; event id JSON `id`.
    Vercel => vercel,
    /// Coinbase Commerce: `X-CC-Webhook-Signature: <hex>` HMAC-SHA256 over the body with the
    /// shared secret; event id JSON `event.id`.
    CoinbaseCommerce => coinbase_commerce,
    /// Convoy, advanced signatures: `X-Convoy-Signature: t=<unix>,v1=<sig>[,v1=<sig>…]` over
    /// `t,body` (a comma); HMAC-SHA256 hex by default, SHA-256/SHA-512 × hex/base64 as
    /// configured on the endpoint ([`Scheme::with_algorithm`], [`Scheme::with_encoding`]);
    /// event id `X-Convoy-Idempotency-Key`.
    Convoy => convoy,
    /// Convoy, simple signatures: `X-Convoy-Signature: <sig>` over the body, same choices.
    ConvoySimple => convoy_simple,
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
