//! A received delivery, and what verifying it proved.

use std::sync::Arc;

use http::HeaderMap;

use crate::event_type::{EventType, EventTypeSource};

/// What a verified delivery proved: which preset, which event, signed when.
///
/// Only a [`Verifier`](crate::Verifier) makes one, so a `Verified` in a request's extensions
/// is proof that the delivery's signature checked out. The tower layer inserts it there.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Verified {
    pub(crate) preset: Arc<str>,
    pub(crate) event_id: Option<String>,
    pub(crate) timestamp: Option<i64>,
    /// Shared with the verifier (a reference count, no allocation); `None` when the scheme
    /// has no event type.
    pub(crate) event_type: Option<Arc<EventTypeSource>>,
    pub(crate) secret_label: Option<Arc<str>>,
}

impl Verified {
    /// The scheme's name, e.g. `stripe`.
    #[must_use]
    pub fn preset(&self) -> &str {
        &self.preset
    }

    /// The provider's event id, when the scheme has one and the delivery carried it.
    #[must_use]
    pub fn event_id(&self) -> Option<&str> {
        self.event_id.as_deref()
    }

    /// The [label](crate::Secret::with_label) of the secret that matched, when it has one:
    /// during a rotation, which secret the sender signs with (once the old one stops
    /// appearing, it is safe to delete).
    #[must_use]
    pub fn secret_label(&self) -> Option<&str> {
        self.secret_label.as_deref()
    }

    /// The signed timestamp in Unix seconds, when the scheme has one.
    #[must_use]
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// The event type of the delivery this value was verified from (pass its headers and
    /// body), read where the scheme says ([`Scheme::event_type`](crate::Scheme::event_type)):
    /// borrowed from the header when it is one header, otherwise read from the body on this
    /// call (nothing is computed during verification). `None` when the scheme has no event
    /// type, the delivery lacks it, or it is out of bounds ([`EventTypeSource`]).
    ///
    /// ```
    /// use countersign_core::{Delivery, Preset, Signer, SignRequest, Verifier};
    ///
    /// let verifier = Verifier::new(Preset::Github, "s3cret")?;
    /// let body = br#"{"action":"opened","issue":{"number":1}}"#;
    /// let mut headers = Signer::new(Preset::Github, "s3cret")?.sign(&SignRequest::new(body))?;
    /// headers.insert("x-github-event", "issues".parse()?);
    /// let verified = verifier.verify(&Delivery::new(&headers, body))?;
    /// assert_eq!(verified.event_type(&headers, body).unwrap(), "issues.opened");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn event_type<'h>(&self, headers: &'h HeaderMap, body: &[u8]) -> Option<EventType<'h>> {
        self.event_type.as_deref()?.extract(headers, body)
    }

    /// Sets where [`event_type`](Self::event_type) reads from (for values built by hand).
    #[must_use]
    pub fn with_event_type_source(mut self, source: EventTypeSource) -> Self {
        self.event_type = (!source.is_none()).then(|| Arc::new(source));
        self
    }
}

/// A received delivery: the headers and raw body, plus the request line parts that
/// URL-bound schemes sign.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: &'a [u8],
    pub(crate) method: Option<&'a str>,
    pub(crate) url: Option<&'a str>,
}

impl<'a> Delivery<'a> {
    /// Headers and the exact body bytes as received.
    #[must_use]
    pub fn new(headers: &'a HeaderMap, body: &'a [u8]) -> Self {
        Delivery {
            headers,
            body,
            method: None,
            url: None,
        }
    }

    /// The request method (for schemes that sign it).
    #[must_use]
    pub fn method(mut self, method: &'a str) -> Self {
        self.method = Some(method);
        self
    }

    /// The public URL the provider sent to (for schemes that sign it).
    #[must_use]
    pub fn url(mut self, url: &'a str) -> Self {
        self.url = Some(url);
        self
    }

    /// The headers.
    #[must_use]
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The body.
    #[must_use]
    pub fn body(&self) -> &'a [u8] {
        self.body
    }
}
