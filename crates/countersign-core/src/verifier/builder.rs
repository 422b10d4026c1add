//! Building a [`Verifier`]: secrets to keys, per mode, checked once.

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::error::ConfigError;
use crate::keys::Key;
use crate::scheme::{Scheme, mode_for, modes_of};
use crate::secret::{self, Secret};
use crate::signature::SigFormat;
use crate::timestamp::Tolerance;

use super::{Inner, MAX_SECRETS, Mode, Verifier};

/// Builds a [`Verifier`]; see [`Verifier::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct VerifierBuilder {
    pub(super) scheme: Scheme,
    pub(super) secrets: Vec<Secret>,
    pub(super) tolerance: Option<Tolerance>,
    pub(super) body_limit: Option<usize>,
    pub(super) clock: Option<Arc<dyn Clock>>,
    pub(super) handshake_token: Option<Secret>,
}

impl VerifierBuilder {
    /// Adds a secret (for key-pair schemes: the sender's public key). Add several to rotate:
    /// a delivery is accepted when any signature entry matches any secret.
    ///
    /// With schemes that have [alternatives](Scheme::alternatives), each secret goes to the
    /// mode its prefix selects (e.g. `whpk_…` keys to Standard Webhooks `v1a`).
    pub fn secret(mut self, secret: impl Into<Secret>) -> Self {
        self.secrets.push(secret.into());
        self
    }

    /// Adds several secrets.
    pub fn secrets<S: Into<Secret>>(mut self, secrets: impl IntoIterator<Item = S>) -> Self {
        self.secrets.extend(secrets.into_iter().map(Into::into));
        self
    }

    /// Overrides both tolerances (default: the scheme's, 300 s each way unless the provider
    /// documents another).
    pub fn tolerance(mut self, tolerance: Tolerance) -> Self {
        self.tolerance = Some(tolerance);
        self
    }

    /// Overrides the body limit (default: the scheme's, 1 MiB unless the provider sends more).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = Some(bytes);
        self
    }

    /// Injects a clock (default: [`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Injects a shared clock.
    pub fn shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The token an unsigned request handshake must present (Meta's `hub.verify_token`, the
    /// value you typed into Meta's dashboard), compared in constant time. Without one, such
    /// handshakes are always refused.
    pub fn handshake_token(mut self, token: impl Into<Secret>) -> Self {
        self.handshake_token = Some(token.into());
        self
    }

    /// Decodes the secrets and prepares their keys.
    ///
    /// # Errors
    /// [`ConfigError::NoSecret`], [`ConfigError::EmptySecret`],
    /// [`ConfigError::SecretEncoding`], [`ConfigError::InvalidPublicKey`],
    /// [`ConfigError::TooManySecrets`], or [`ConfigError::InvalidScheme`].
    pub fn build(self) -> Result<Verifier, ConfigError> {
        self.scheme.validate()?;
        if self.secrets.is_empty() {
            return Err(ConfigError::NoSecret);
        }
        if self.secrets.len() > MAX_SECRETS {
            return Err(ConfigError::TooManySecrets { max: MAX_SECRETS });
        }
        let all_modes = modes_of(&self.scheme);
        let mut keys: Vec<Vec<Key>> = all_modes.iter().map(|_| Vec::new()).collect();
        let mut metas: Vec<Vec<super::KeyMeta>> = all_modes.iter().map(|_| Vec::new()).collect();
        for (i, secret) in self.secrets.iter().enumerate() {
            if let Some(label) = secret.label()
                && (label.is_empty()
                    || label.len() > crate::secret::MAX_SECRET_LABEL_LEN
                    || !label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)))
            {
                return Err(ConfigError::InvalidValue {
                    what: "secret label (1-64 of A-Z a-z 0-9 . _ -)",
                    value: label.to_owned(),
                });
            }
            let m = mode_for(&all_modes, secret);
            let Some(mode) = all_modes.get(m) else {
                continue;
            };
            let bytes = secret::key_bytes(secret, &mode.key_format, i)?;
            if let (Some(slot), Some(meta)) = (keys.get_mut(m), metas.get_mut(m)) {
                slot.push(Key::new(mode.algorithm, &bytes, i)?);
                meta.push(super::KeyMeta {
                    label: secret.label_arc(),
                    not_after: secret.expiry(),
                });
            }
        }
        let modes: Vec<Mode> = all_modes
            .into_iter()
            .zip(keys.into_iter().zip(metas))
            .filter(|(_, (keys, _))| !keys.is_empty())
            .map(|(scheme, (keys, meta))| Mode {
                format: SigFormat::new(scheme.algorithm, scheme.encoding),
                scheme,
                keys,
                meta,
            })
            .collect();
        let handshake_token = match &self.handshake_token {
            Some(token) if token.is_empty() => {
                return Err(ConfigError::InvalidValue {
                    what: "handshake token",
                    value: String::new(),
                });
            }
            Some(token) => Some(Key::new(crate::Algorithm::Token, token.expose(), 0)?),
            None => None,
        };
        Ok(Verifier {
            inner: Arc::new(Inner {
                handshake_token,
                tolerance: self.tolerance.unwrap_or(self.scheme.tolerance),
                body_limit: self.body_limit.unwrap_or(self.scheme.body_limit),
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                event_type: (!self.scheme.event_type.is_none())
                    .then(|| Arc::new(self.scheme.event_type.clone())),
                scheme: self.scheme,
                modes: modes.into(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::{
        ConfigError, Delivery, ErrorKind, FixedClock, Preset, Secret, SignRequest, Signer, Verifier,
    };

    const NOW: u64 = 1_700_000_000;

    fn signed(secret: &str) -> (http::HeaderMap, &'static [u8]) {
        let body: &[u8] = br#"{"id":"evt_1"}"#;
        let h = Signer::new(Preset::Github, secret)
            .unwrap()
            .sign(&SignRequest::new(body).id("d-1"))
            .unwrap();
        (h, body)
    }

    fn verifier(secrets: Vec<Secret>) -> Verifier {
        Verifier::builder(Preset::Github)
            .secrets(secrets)
            .clock(FixedClock::new(Duration::from_secs(NOW)))
            .build()
            .unwrap()
    }

    #[test]
    fn the_matching_secret_is_reported_by_label() {
        let v = verifier(vec![
            Secret::from("old-secret")
                .with_label("2026-q3")
                .not_after(NOW + 60),
            Secret::from("new-secret").with_label("2026-q4"),
            Secret::from("unlabelled"),
        ]);
        for (secret, label) in [
            ("old-secret", Some("2026-q3")),
            ("new-secret", Some("2026-q4")),
            ("unlabelled", None),
        ] {
            let (h, body) = signed(secret);
            let ok = v.verify(&Delivery::new(&h, body)).unwrap();
            assert_eq!(ok.secret_label(), label, "{secret}");
        }
    }

    #[test]
    fn an_expired_secret_is_refused_by_label_and_a_live_one_still_matches() {
        let v = verifier(vec![
            Secret::from("old-secret")
                .with_label("2026-q3")
                .not_after(NOW - 1),
            Secret::from("new-secret").with_label("2026-q4"),
        ]);
        let (h, body) = signed("old-secret");
        let err = v.verify(&Delivery::new(&h, body)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::SecretExpired);
        assert_eq!(err.kind().status(), 401);
        // The label is in the message, the value never.
        let text = format!("{err} {err:?}");
        assert!(text.contains("2026-q3"), "{text}");
        assert!(!text.contains("old-secret"), "{text}");
        // Exactly at not_after it still counts; one second later it does not.
        let edge = verifier(vec![Secret::from("old-secret").not_after(NOW)]);
        assert!(edge.verify(&Delivery::new(&h, body)).is_ok());
        // Rotation: when an expired and a live secret both match, the live one wins.
        let twin = verifier(vec![
            Secret::from("new-secret")
                .with_label("expired-copy")
                .not_after(NOW - 1),
            Secret::from("new-secret").with_label("live-copy"),
        ]);
        let (h, body) = signed("new-secret");
        assert_eq!(
            twin.verify(&Delivery::new(&h, body))
                .unwrap()
                .secret_label(),
            Some("live-copy")
        );
        // Unlabelled and expired: still refused, with no label.
        let bare = verifier(vec![Secret::from("old-secret").not_after(NOW - 1)]);
        let (h, body) = signed("old-secret");
        let err = bare.verify(&Delivery::new(&h, body)).unwrap_err();
        assert_eq!(err.to_string(), "signed with an expired secret");
        // A wrong secret is still a mismatch, not an expiry.
        let (h, body) = signed("another");
        assert_eq!(
            v.verify(&Delivery::new(&h, body)).unwrap_err().kind(),
            ErrorKind::SignatureMismatch
        );
    }

    #[test]
    fn labels_are_checked_when_the_verifier_is_built() {
        for label in ["", "has space", "ünïcode", &"x".repeat(65), "new\nline"] {
            let built = Verifier::builder(Preset::Github)
                .secret(Secret::from("s").with_label(label))
                .build();
            assert!(
                matches!(built, Err(ConfigError::InvalidValue { .. })),
                "{label:?}"
            );
        }
        assert!(
            Verifier::builder(Preset::Github)
                .secret(Secret::from("s").with_label("ok.label_2026-Q4"))
                .build()
                .is_ok()
        );
        assert_eq!(
            format!("{:?}", Secret::from("value").with_label("q4")),
            "Secret(q4: <redacted>)"
        );
    }
}
