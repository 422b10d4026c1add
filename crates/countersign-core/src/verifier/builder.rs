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
        for (i, secret) in self.secrets.iter().enumerate() {
            let m = mode_for(&all_modes, secret);
            let Some(mode) = all_modes.get(m) else {
                continue;
            };
            let bytes = secret::key_bytes(secret, &mode.key_format, i)?;
            if let Some(slot) = keys.get_mut(m) {
                slot.push(Key::new(mode.algorithm, &bytes, i)?);
            }
        }
        let modes: Vec<Mode> = all_modes
            .into_iter()
            .zip(keys)
            .filter(|(_, keys)| !keys.is_empty())
            .map(|(scheme, keys)| Mode {
                format: SigFormat::new(scheme.algorithm, scheme.encoding),
                scheme,
                keys,
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
