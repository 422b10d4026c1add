//! Provider presets: one file per provider, each a short declarative [`Scheme`].
//!
//! Adding a provider touches its file, one line in the table below, and its test vectors.

use std::fmt;
use std::str::FromStr;

use crate::error::ConfigError;
use crate::scheme::Scheme;

mod airtable;
mod alchemy;
mod api_key;
mod api_key_query;
mod asana;
mod basic_auth;
mod bearer_token;
mod bitbucket;
mod box_com;
mod brex;
mod buildkite;
mod cal_com;
mod calendly;
mod chargify;
mod checkout_com;
mod circleci;
mod clerk;
mod clickup;
mod coinbase_commerce;
mod convoy;
mod convoy_simple;
mod courier;
mod customer_io;
mod discord;
mod docusign;
mod doppler;
mod dropbox;
mod ecwid;
mod elevenlabs;
mod flutterwave;
mod frame_io;
mod front;
mod github;
mod github_sha1;
mod gitlab;
mod gocardless;
mod greenhouse;
mod gusto;
mod help_scout;
mod heroku;
mod hookdeck;
mod hubspot;
mod hubspot_v1;
mod hubspot_v2;
mod intercom;
mod intuit;
mod jira;
mod lemon_squeezy;
mod line;
mod linear;
mod mailgun;
mod mandrill;
mod meta;
mod microsoft_graph;
mod mux;
mod netlify;
mod notion;
mod nylas;
mod openai;
mod paddle;
mod pagerduty;
mod patreon;
mod paystack;
mod persona;
mod pipedrive;
mod polar;
mod postmark;
mod pusher;
mod razorpay;
mod recurly;
mod replicate;
mod resend;
mod segment;
mod sendbird;
mod sendgrid;
mod sentry;
mod shopify;
mod slack;
mod square;
mod squarespace;
mod standard_webhooks;
mod stripe;
mod stytch;
mod svix;
mod tally;
mod telegram;
mod telnyx;
mod terraform_cloud;
mod todoist;
mod trello;
mod twilio;
mod twitch;
mod typeform;
mod vercel;
mod webex;
mod webflow;
mod woocommerce;
mod workos;
mod x;
mod xero;
mod zendesk;
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
    /// `I-Twilio-Idempotency-Token`. The auth token is the secret. The parameters are decoded
    /// and sorted before the signature can be checked, so the body limit is 256 KiB and a
    /// form body with more than 1 000 parameters is `malformed_body`.
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
    /// Clerk (a Svix sender): `svix-id`, `svix-timestamp`, `svix-signature: v1,<base64>` over `id.timestamp.body`; `whsec_` secret; event type JSON `type`.
    ///
    /// Source: <https://clerk.com/docs/webhooks/sync-data>.
    Clerk => clerk,
    /// Resend (a Svix sender): `svix-*` headers as Svix; `whsec_` secret; event type JSON `type`.
    ///
    /// Source: <https://resend.com/docs/dashboard/webhooks/verify-webhooks-requests>.
    Resend => resend,
    /// OpenAI: Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`), `whsec_` secret; event type JSON `type`.
    ///
    /// Source: <https://platform.openai.com/docs/guides/webhooks>.
    Openai => openai,
    /// Replicate: Standard Webhooks headers, `whsec_` signing secret; the body is the prediction (no event type).
    ///
    /// Source: <https://replicate.com/docs/topics/webhooks/verify-webhook>.
    Replicate => replicate,
    /// Lemon Squeezy: `X-Signature: <hex>` HMAC-SHA256 over the body with the signing secret; event type `X-Event-Name`.
    ///
    /// Source: <https://docs.lemonsqueezy.com/help/webhooks/signing-requests>.
    LemonSqueezy => lemon_squeezy,
    /// Paystack: `x-paystack-signature: <hex>` HMAC-SHA512 over the body with the secret key; event type JSON `event`.
    ///
    /// Source: <https://paystack.com/docs/payments/webhooks/#verify-event-origin>.
    Paystack => paystack,
    /// Razorpay: `X-Razorpay-Signature: <hex>` HMAC-SHA256 over the body with the webhook secret; event id `x-razorpay-event-id`; event type JSON `event`.
    ///
    /// Source: <https://razorpay.com/docs/webhooks/validate-test/>.
    Razorpay => razorpay,
    /// Checkout.com: `Cko-Signature: <hex>` HMAC-SHA256 over the body with the webhook's secret key; event id JSON `id`; event type JSON `type`.
    ///
    /// Source: <https://www.checkout.com/docs/developer-resources/webhooks/manage-webhooks>.
    CheckoutCom => checkout_com,
    /// Cal.com: `X-Cal-Signature-256: <hex>` HMAC-SHA256 over the body with the webhook secret; event type JSON `triggerEvent`.
    ///
    /// Source: <https://cal.com/docs/developing/guides/automation/webhooks>.
    CalCom => cal_com,
    /// Todoist: `X-Todoist-Hmac-SHA256: <base64>` HMAC-SHA256 over the body with the app's client secret; event id `X-Todoist-Delivery-ID`; event type JSON `event_name`.
    ///
    /// Source: <https://developer.todoist.com/sync/v9/#webhooks>.
    Todoist => todoist,
    /// ClickUp: `X-Signature: <hex>` HMAC-SHA256 over the body with the webhook secret; event type JSON `event`.
    ///
    /// Source: <https://developer.clickup.com/docs/webhooksignature>.
    Clickup => clickup,
    /// Help Scout: `X-HelpScout-Signature: <base64>` HMAC-SHA1 over the body with the secret key; event type `X-HelpScout-Event`.
    ///
    /// Source: <https://developer.helpscout.com/webhooks/>.
    HelpScout => help_scout,
    /// DocuSign Connect: `X-DocuSign-Signature-1: <base64>` HMAC-SHA256 over the body with the Connect HMAC key (`X-DocuSign-Signature-2` when only the second key signs); event type JSON `event`.
    ///
    /// Source: <https://developers.docusign.com/platform/webhooks/connect/hmac/>.
    Docusign => docusign,
    /// Intuit QuickBooks Online: `intuit-signature: <base64>` HMAC-SHA256 over the body with the app's verifier token; CloudEvents deliveries give the event id (JSON `id`) and type (JSON `type`), legacy `eventNotifications` batches neither.
    ///
    /// Source: <https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/managing-webhooks-notifications#validating-the-notification>.
    Intuit => intuit,
    /// Gusto: `X-Gusto-Signature: <hex>` HMAC-SHA256 over the body with the verification token; event id JSON `uuid`; event type JSON `event_type`.
    ///
    /// Source: <https://docs.gusto.com/embedded-payroll/docs/webhooks>.
    Gusto => gusto,
    /// Greenhouse: `Signature: sha256 <hex>` HMAC-SHA256 over the body with the secret key; event type JSON `action`.
    ///
    /// Source: <https://developers.greenhouse.io/webhooks.html#authentication>.
    Greenhouse => greenhouse,
    /// Heroku app webhooks: `Heroku-Webhook-Hmac-SHA256: <base64>` HMAC-SHA256 over the body with the webhook secret; event id `Heroku-Webhook-Id`; event type JSON `resource` + `action` (`release.update`).
    ///
    /// Source: <https://devcenter.heroku.com/articles/app-webhooks#securing-webhook-requests>.
    Heroku => heroku,
    /// Doppler: `X-Doppler-Signature: sha256=<hex>` HMAC-SHA256 over the body with the signing secret; event type JSON `type`.
    ///
    /// Source: <https://docs.doppler.com/docs/webhooks#verify-webhook-with-signing-secret>.
    Doppler => doppler,
    /// CircleCI: `circleci-signature: v1=<hex>[,v1=<hex>…]` HMAC-SHA256 over the body with the webhook secret; event id JSON `id`; event type JSON `type`.
    ///
    /// Source: <https://circleci.com/docs/webhooks/#validate-webhooks>.
    Circleci => circleci,
    /// LINE Messaging API: `x-line-signature: <base64>` HMAC-SHA256 over the body with the channel secret; events come in an array: no event type or id.
    ///
    /// Source: <https://developers.line.biz/en/docs/messaging-api/verify-webhook-signature/>.
    Line => line,
    /// Webex: `X-Spark-Signature: <hex>` HMAC-SHA1 over the body with the webhook secret; no event id (the body's `id` names the webhook registration, not the event); event type JSON `resource` + `event` (`messages.created`).
    ///
    /// Source: <https://developer.webex.com/docs/receive-and-verify-webhooks>.
    Webex => webex,
    /// Alchemy Notify: `X-Alchemy-Signature: <hex>` HMAC-SHA256 over the body with the webhook signing key; event id JSON `id`; event type JSON `type`.
    ///
    /// Source: <https://docs.alchemy.com/reference/notify-api-faq>.
    Alchemy => alchemy,
    /// Tally: `Tally-Signature: <base64>` HMAC-SHA256 over the body with the signing secret; event id JSON `eventId`; event type JSON `eventType`.
    ///
    /// Source: <https://tally.so/help/webhooks>.
    Tally => tally,
    /// Squarespace: `Squarespace-Signature: <hex>` HMAC-SHA256 over the body; the subscription secret is hex and decoded to the key; event id JSON `id`; event type JSON `topic`.
    ///
    /// Source: <https://developers.squarespace.com/commerce-apis/webhooks/verifying-notifications>.
    Squarespace => squarespace,
    /// Chargify / Maxio Advanced Billing: `X-Chargify-Webhook-Signature-Hmac-Sha-256: <hex>` HMAC-SHA256 over the (form-encoded) body with the site's shared key; event id `X-Chargify-Webhook-Id`.
    ///
    /// Source: <https://docs.maxio.com/hc/en-us/articles/24266136649869-Webhooks-Reference>.
    Chargify => chargify,
    /// Airtable: `X-Airtable-Content-MAC: hmac-sha256=<hex>` HMAC-SHA256 over the body; the key is the webhook's base64 `macSecretBase64`, decoded. Notifications carry no event type.
    ///
    /// Source: <https://airtable.com/developers/web/api/webhooks-overview#webhook-notification-delivery>.
    Airtable => airtable,
    /// Nylas v3: `X-Nylas-Signature: <hex>` HMAC-SHA256 over the body with the webhook secret; event id JSON `id`; event type JSON `type`.
    ///
    /// Source: <https://developer.nylas.com/docs/cookbook/use-cases/build/verify-webhook-signatures/>.
    Nylas => nylas,
    /// Pusher Channels: `X-Pusher-Signature: <hex>` HMAC-SHA256 over the body with the app secret (`X-Pusher-Key` names the app); events come in an array.
    ///
    /// Source: <https://pusher.com/docs/channels/server_api/webhooks/#authentication>.
    Pusher => pusher,
    /// HCP Terraform (Terraform Cloud) notifications: `X-TFE-Notification-Signature: <hex>` HMAC-SHA512 over the body with the notification token.
    ///
    /// Source: <https://developer.hashicorp.com/terraform/cloud-docs/api-docs/notification-configurations#notification-authenticity>.
    TerraformCloud => terraform_cloud,
    /// GoCardless: `Webhook-Signature: <hex>` HMAC-SHA256 over the body with the endpoint secret; events come in an array.
    ///
    /// Source: <https://developer.gocardless.com/getting-started/staying-up-to-date-with-webhooks>.
    Gocardless => gocardless,
    /// Sendbird: `x-sendbird-signature: <hex>` HMAC-SHA256 over the body with the API token; event type JSON `category`.
    ///
    /// Source: <https://sendbird.com/docs/chat/platform-api/v3/webhook/overview>.
    Sendbird => sendbird,
    /// Segment webhooks destination: `X-Signature: <hex>` HMAC-SHA1 over the body with the shared secret; event id JSON `messageId`; event type JSON `type`.
    ///
    /// Source: <https://www.twilio.com/docs/segment/connections/destinations/catalog/actions-webhook>.
    Segment => segment,
    /// Jira Cloud admin webhooks with a secret: `X-Hub-Signature: sha256=<hex>` HMAC-SHA256 over the body; event id header `X-Atlassian-Webhook-Identifier`; event type JSON `webhookEvent`.
    ///
    /// Source: <https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks>.
    Jira => jira,
    /// Hookdeck: `x-hookdeck-signature: <base64>` HMAC-SHA256 over the body with the project's signing secret.
    ///
    /// Source: <https://hookdeck.com/docs/authentication#hookdeck-webhook-signature-verification>.
    Hookdeck => hookdeck,
    /// Asana: `X-Hook-Signature: <hex>` HMAC-SHA256 over the body with the secret Asana sent in `X-Hook-Secret` at the handshake (answering the handshake is not built in yet); events come in an array.
    ///
    /// Source: <https://developers.asana.com/docs/webhooks-guide#security>.
    Asana => asana,
    /// Notion: `X-Notion-Signature: sha256=<hex>` HMAC-SHA256 over the body with the subscription's `verification_token`; event id JSON `id`; event type JSON `type`.
    ///
    /// Source: <https://developers.notion.com/reference/webhooks>.
    Notion => notion,
    /// Brex: Standard Webhooks headers (`Webhook-Id`, `Webhook-Timestamp`, `Webhook-Signature: v1,<base64>`); the secret (from `GET /v1/webhooks/secrets`) is base64 without a prefix; event type JSON `event_type`.
    ///
    /// Source: <https://developer.brex.com/docs/webhooks>.
    Brex => brex,
    /// Telegram Bot API: `X-Telegram-Bot-Api-Secret-Token` must equal the `secret_token` given to `setWebhook` (constant time; nothing is signed); event id JSON `update_id`.
    ///
    /// Source: <https://core.telegram.org/bots/api#setwebhook>.
    Telegram => telegram,
    /// Flutterwave: `verif-hash` must equal the secret hash set on the dashboard (constant time; nothing is signed); event type JSON `event`.
    ///
    /// Source: <https://developer.flutterwave.com/docs/webhooks#verifying-webhook-signatures>.
    Flutterwave => flutterwave,
    /// Mux: `Mux-Signature: t=<unix>,v1=<hex>` HMAC-SHA256 over `t.body` with the webhook signing secret; event id JSON `id`; event type JSON `type`.
    ///
    /// Source: <https://www.mux.com/docs/core/verify-webhook-signatures>.
    Mux => mux,
    /// WorkOS: `WorkOS-Signature: t=<unix ms>, v1=<hex>` HMAC-SHA256 over `t.body`; tolerance 180 s as WorkOS's SDKs; event id JSON `id`; event type JSON `event`.
    ///
    /// Source: <https://workos.com/docs/events/data-syncing/webhooks>.
    Workos => workos,
    /// Buildkite: `X-Buildkite-Signature: timestamp=<unix>,signature=<hex>` HMAC-SHA256 over `timestamp.body` with the webhook token; event type `X-Buildkite-Event`.
    ///
    /// Source: <https://buildkite.com/docs/apis/webhooks#webhook-signature>.
    Buildkite => buildkite,
    /// ElevenLabs: `ElevenLabs-Signature: t=<unix>,v0=<hex>` HMAC-SHA256 over `t.body` with the webhook secret; tolerance 30 minutes, as ElevenLabs' example; event type JSON `type`.
    ///
    /// Source: <https://elevenlabs.io/docs/agents-platform/workflows/post-call-webhooks>.
    Elevenlabs => elevenlabs,
    /// Persona: `Persona-Signature: t=<unix>,v1=<hex>` HMAC-SHA256 over `t.body` with the webhook secret; event id JSON `data.id`; event type JSON `data.attributes.name`.
    ///
    /// Source: <https://docs.withpersona.com/docs/webhooks-best-practices#checking-signatures>.
    Persona => persona,
    /// Webflow: `x-webflow-signature: <hex>` HMAC-SHA256 over `timestamp:body`, `x-webflow-timestamp` in Unix milliseconds (5 minutes); event type JSON `triggerType`.
    ///
    /// Source: <https://developers.webflow.com/data/docs/working-with-webhooks#validating-request-signatures>.
    Webflow => webflow,
    /// Customer.io reporting webhooks: `X-CIO-Signature: <hex>` HMAC-SHA256 over `v0:timestamp:body`, `X-CIO-Timestamp` in Unix seconds; event id JSON `event_id`; event type JSON `object_type` + `metric` (`email.sent`).
    ///
    /// Source: <https://docs.customer.io/journeys/webhooks/#securely-verify-requests>.
    CustomerIo => customer_io,
    /// Zendesk: `X-Zendesk-Webhook-Signature: <base64>` HMAC-SHA256 over `timestamp + body`, `X-Zendesk-Webhook-Signature-Timestamp` in RFC 3339; event id JSON `id`; event type JSON `type`.
    ///
    /// Source: <https://developer.zendesk.com/documentation/webhooks/verifying/>.
    Zendesk => zendesk,
    /// Box: `BOX-SIGNATURE-PRIMARY: <base64>` HMAC-SHA256 over `body + BOX-DELIVERY-TIMESTAMP` (RFC 3339, 10 minutes) with the primary key (`BOX-SIGNATURE-SECONDARY` when the primary is absent; configure both keys to rotate); event id `BOX-DELIVERY-ID`; event type JSON `trigger`.
    ///
    /// Source: <https://developer.box.com/guides/webhooks/v2/signatures-v2/>.
    BoxCom => box_com,
    /// Frame.io: `X-Frameio-Signature: v0=<hex>` HMAC-SHA256 over `v0:timestamp:body`, `X-Frameio-Request-Timestamp` in Unix seconds; event type JSON `type`.
    ///
    /// Source: <https://developer.frame.io/docs/automations-webhooks/webhooks-overview#security-and-verification>.
    FrameIo => frame_io,
    /// Telnyx API v2: `telnyx-signature-ed25519: <base64>` Ed25519 over `timestamp|body`, `telnyx-timestamp` in Unix seconds; the secret is the account's public key in base64; event id JSON `data.id`; event type JSON `data.event_type`.
    ///
    /// Source: <https://developers.telnyx.com/docs/messaging/messages/receiving-webhooks#webhook-signing>.
    Telnyx => telnyx,
    /// Front application webhooks: `X-Front-Signature: <base64>` HMAC-SHA256 over `timestamp:body`, `X-Front-Request-Timestamp` in Unix milliseconds, with the app's signing key; event type JSON `type`. (The `X-Front-Challenge` validation request is not answered yet.)
    ///
    /// Source: <https://dev.frontapp.com/docs/application-webhooks>.
    Front => front,
    /// Trello: `X-Trello-Webhook: <base64>` HMAC-SHA1 over the body followed by the webhook's callback URL, with the app secret. Needs the URL; event id JSON `action.id`; event type JSON `action.type`.
    ///
    /// Source: <https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/#webhook-signatures>.
    Trello => trello,
    /// Mandrill (Mailchimp Transactional): `X-Mandrill-Signature: <base64>` HMAC-SHA1 over the webhook URL followed by each POST parameter sorted by name, written `name value` without separators (as Twilio), with the webhook key. Needs the URL; events come in `mandrill_events`.
    ///
    /// Source: <https://mandrill.zendesk.com/hc/en-us/articles/360039232513-How-to-Authenticate-Webhook-Requests>.
    Mandrill => mandrill,
    /// Generic HTTP Basic authentication: `Authorization: Basic <base64(user:password)>` must
    /// equal the configured `user:password` (compared in constant time; nothing is signed, so
    /// use TLS). For senders that offer only credentials.
    ///
    /// Source: <https://www.rfc-editor.org/rfc/rfc7617>.
    BasicAuth => basic_auth,
    /// Postmark: HTTP Basic credentials placed in the webhook URL, sent as
    /// `Authorization: Basic …` (configure `user:password`); event type JSON `RecordType`.
    ///
    /// Source: <https://postmarkapp.com/developer/webhooks/webhooks-overview>.
    Postmark => postmark,
    /// Pipedrive: HTTP Basic credentials configured on the webhook (`user:password`).
    ///
    /// Source: <https://pipedrive.readme.io/docs/guide-for-webhooks>.
    Pipedrive => pipedrive,
    /// Generic API key: `X-API-Key` must equal the configured key (constant time; nothing is
    /// signed, so use TLS). A sender that uses another header is described by a scheme file
    /// (`algorithm = "token"`, `signature_header = "…"`).
    ApiKey => api_key,
    /// Generic API key in the URL: the `api_key` query parameter must equal the configured
    /// key (percent-decoded, compared in constant time; nothing is signed, and URLs end up in
    /// logs, so prefer a header). Needs the URL; another parameter name is a scheme file
    /// (`algorithm = "token"`, `signature_query = "…"`).
    ApiKeyQuery => api_key_query,
    /// Generic bearer token: `Authorization: Bearer <token>` must equal the configured token
    /// (constant time; nothing is signed).
    ///
    /// Source: <https://www.rfc-editor.org/rfc/rfc6750#section-2.1>.
    BearerToken => bearer_token,
    /// Ecwid: `X-Ecwid-Webhook-Signature: <base64>` HMAC-SHA256 over the body's
    /// `eventCreated` + `.` + `eventId` with the app's client secret. **The rest of the body
    /// is not covered** (like Mailgun): re-read the entity from Ecwid's API before acting on
    /// it. Event id JSON `eventId`; event type JSON `eventType`.
    ///
    /// Source: <https://api-docs.ecwid.com/docs/webhooks>.
    Ecwid => ecwid,
    /// Stytch (a Svix sender): `svix-*` headers as Svix; `whsec_` secret; event type JSON `source` + `object_type` + `action` (as sent, e.g. `DIRECT.organization.CREATE`).
    ///
    /// Source: <https://stytch.com/docs/workspace-management/webhooks>.
    Stytch => stytch,
    /// Polar (Standard Webhooks): `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>` over `id.timestamp.body`. A `whsec_<base64>` secret is decoded as Standard Webhooks does; any other secret (`polar_whs_…`) is used as its own bytes, as Polar's SDKs do. Event type JSON `type`.
    ///
    /// Source: <https://polar.sh/docs/integrate/webhooks/endpoints>.
    Polar => polar,
    /// Courier outbound webhooks: `courier-signature: t=<unix ms>,signature=<hex>` HMAC-SHA256 over `t.body` with the signing secret; event type JSON `type`.
    ///
    /// Source: <https://www.courier.com/docs/platform/workspaces/outbound-webhooks>.
    Courier => courier,
    /// Recurly (JSON webhooks): `recurly-signature: <unix ms>,<hex>[,<hex>…]` HMAC-SHA256 over `timestamp.body` with the endpoint's secret key (two signatures for 24 hours after a key is regenerated); tolerance 5 minutes.
    ///
    /// Source: <https://docs.recurly.com/recurly-subscriptions/docs/signature-verification>.
    Recurly => recurly,
    /// Patreon: `X-Patreon-Signature: <hex>` HMAC-MD5 over the body with the webhook's secret; event type `X-Patreon-Event` (`members:pledge:create`).
    ///
    /// Source: <https://docs.patreon.com/#webhooks>.
    Patreon => patreon,
    /// Meta (Facebook, Instagram, WhatsApp, Messenger): `X-Hub-Signature-256: sha256=<hex>` HMAC-SHA256 over the body with the app secret; event type JSON `object` (`page`, `whatsapp_business_account`). The `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…` verification request is answered with the challenge when the verify token matches the [handshake token](crate::VerifierBuilder::handshake_token) ([`crate::Handshake::meta_verification`]).
    ///
    /// Source: <https://developers.facebook.com/docs/graph-api/webhooks/getting-started>.
    Meta => meta,
    /// X (Twitter) Account Activity API: `x-twitter-webhooks-signature: sha256=<base64>` HMAC-SHA256 over the body with the consumer secret. The `GET ?crc_token=…` challenge-response check is answered with `{"response_token":"sha256=<base64 HMAC-SHA256(consumer secret, crc_token)>"}` ([`crate::Handshake::x_crc`]).
    ///
    /// Source: <https://docs.x.com/x-api/webhooks/introduction>.
    X => x,
    /// Microsoft Graph change notifications: nothing is signed; every notification in `value` must carry a `clientState` equal to the configured secret (compared in constant time; notifications that disagree fail). The `POST ?validationToken=…` subscription check is echoed as `text/plain` ([`crate::Handshake::graph_validation`]).
    ///
    /// Source: <https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks>.
    MicrosoftGraph => microsoft_graph,
    /// Netlify deploy and form notifications: `X-Webhook-Signature` is a compact JWS signed
    /// with the JWS secret token. The algorithm is pinned to HS256 (a token whose `alg` says
    /// anything else, `none` included, is refused before any key is used); once the
    /// signature matched, the payload must claim `iss: "netlify"` and `sha256` = the body's
    /// lowercase hex SHA-256 (an `exp` claim, if present, is enforced). No timestamp, event
    /// id or event type is sent.
    ///
    /// Source: <https://docs.netlify.com/site-deploys/notifications/#payload-signature>.
    Netlify => netlify,
}

/// Other spellings in common use, each naming one preset.
const ALIASES: &[(&str, Preset)] = &[
    ("box-com", Preset::BoxCom),
    ("facebook", Preset::Meta),
    ("instagram", Preset::Meta),
    ("whatsapp", Preset::Meta),
    ("twitter", Preset::X),
    ("x-twitter", Preset::X),
    ("msgraph", Preset::MicrosoftGraph),
    ("cal", Preset::CalCom),
    ("calcom", Preset::CalCom),
    ("checkout", Preset::CheckoutCom),
    ("customerio", Preset::CustomerIo),
    ("eleven-labs", Preset::Elevenlabs),
    ("frameio", Preset::FrameIo),
    ("frontapp", Preset::Front),
    ("hcp-terraform", Preset::TerraformCloud),
    ("helpscout", Preset::HelpScout),
    ("lemonsqueezy", Preset::LemonSqueezy),
    ("mailchimp-transactional", Preset::Mandrill),
    ("maxio", Preset::Chargify),
    ("quickbooks", Preset::Intuit),
];

impl Preset {
    /// Looks a preset up by its name or one of its [aliases](Self::aliases)
    /// (case-insensitive): `quickbooks` is `intuit`, `lemonsqueezy` is `lemon-squeezy`.
    ///
    /// ```
    /// use countersign_core::Preset;
    /// assert_eq!(Preset::from_name("QuickBooks")?, Preset::Intuit);
    /// assert_eq!(Preset::from_name("lemon-squeezy")?, Preset::from_name("lemonsqueezy")?);
    /// # Ok::<(), countersign_core::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::UnknownPreset`].
    pub fn from_name(name: &str) -> Result<Self, ConfigError> {
        let name = name.trim();
        Preset::ALL
            .iter()
            .copied()
            .find(|p| p.name().eq_ignore_ascii_case(name))
            .or_else(|| {
                ALIASES
                    .iter()
                    .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
                    .map(|(_, p)| *p)
            })
            .ok_or_else(|| ConfigError::UnknownPreset(name.to_owned()))
    }

    /// Other spellings [`from_name`](Self::from_name) accepts for this preset.
    pub fn aliases(self) -> impl Iterator<Item = &'static str> {
        ALIASES
            .iter()
            .filter(move |(_, p)| *p == self)
            .map(|(alias, _)| *alias)
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

    #[test]
    fn aliases_are_kebab_case_and_name_no_other_preset() {
        for (alias, preset) in ALIASES {
            assert!(
                alias
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{alias}"
            );
            assert!(Preset::ALL.iter().all(|p| p.name() != *alias), "{alias}");
            assert_eq!(Preset::from_name(alias), Ok(*preset));
            assert!(preset.aliases().any(|a| a == *alias));
        }
        assert_eq!(
            ALIASES
                .iter()
                .map(|(a, _)| a)
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            ALIASES.len(),
            "duplicate alias"
        );
    }
}
