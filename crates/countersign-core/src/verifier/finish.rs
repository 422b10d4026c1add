//! The body half of a verification: each prepared mode's signature over the body (and the
//! other signed parts), the secret that matched, body-borne values, the event id.

use std::borrow::Cow;
use std::sync::Arc;

use http::HeaderName;

use crate::algorithm::Sink;
use crate::content::{self, Inputs, MAX_JSON_PARTS, Part};
use crate::delivery::Verified;
use crate::error::VerifyError;
use crate::event_id::{self, EventIdSource};
use crate::signature::{Candidates, SignatureSource, SignatureSyntax};
use crate::timestamp::{self, TimestampSource, TimestampSpec};
use crate::{form, json_path, jws, url};

use super::{RequestLine, State, Verifier, check_body_hash, mismatch, more_telling};

impl Verifier {
    /// Checks the signature over the body (and the other signed parts) for each prepared
    /// mode, and extracts the event id.
    pub(super) fn finish_state(
        &self,
        state: &State<'_>,
        body: &[u8],
        request: RequestLine<'_>,
    ) -> Result<Verified, VerifyError> {
        if body.len() > self.inner.body_limit {
            return Err(VerifyError::BodyTooLarge {
                limit: self.inner.body_limit,
            });
        }
        let mut current = Some(state);
        let mut error: Option<VerifyError> = None;
        while let Some(state) = current {
            current = state.next.as_deref();
            match self.finish_mode(state, body, request) {
                Ok(verified) => return Ok(verified),
                Err(e) => error = Some(more_telling(error, e)),
            }
        }
        Err(error.unwrap_or(VerifyError::SignatureMismatch {
            candidates: 0,
            undecodable: 0,
            expected: self.inner.scheme.encoding.as_str(),
        }))
    }

    fn finish_mode(
        &self,
        prepared: &State<'_>,
        body: &[u8],
        request: RequestLine<'_>,
    ) -> Result<Verified, VerifyError> {
        let Some(mode) = self.inner.modes.get(prepared.mode) else {
            return Err(mismatch(&self.inner.scheme, &prepared.candidates));
        };
        let scheme = &mode.scheme;
        let no = |reason| VerifyError::MalformedBody { reason };

        // Values that travel in the body.
        let body_candidates;
        let candidates = match &scheme.signature {
            SignatureSource::Header(_) => &prepared.candidates,
            SignatureSource::JsonField(path) => {
                let value =
                    json_path::json_value(body, path).ok_or(no("no signature in the JSON body"))?;
                let value = value.trim();
                let SignatureSyntax::Single { prefix } = &scheme.syntax else {
                    return Err(mismatch(scheme, &prepared.candidates));
                };
                body_candidates = match value.strip_prefix(prefix.as_ref()) {
                    Some(sig) => Candidates::single(sig.as_bytes(), &mode.format),
                    None => Candidates::new(),
                };
                if body_candidates.decodable() == 0 {
                    return Err(mismatch(scheme, &body_candidates));
                }
                &body_candidates
            }
            SignatureSource::JsonArrayField { array, field } => {
                let value = json_path::common_in_array(body, array, field)
                    .ok_or(no("no common signature in every element of the JSON array"))?;
                let SignatureSyntax::Single { prefix } = &scheme.syntax else {
                    return Err(mismatch(scheme, &prepared.candidates));
                };
                body_candidates = match value.strip_prefix(prefix.as_ref()) {
                    Some(sig) if !sig.is_empty() => {
                        Candidates::single(sig.as_bytes(), &mode.format)
                    }
                    _ => Candidates::new(),
                };
                if body_candidates.decodable() == 0 {
                    return Err(mismatch(scheme, &body_candidates));
                }
                &body_candidates
            }
            SignatureSource::QueryParam(name) => {
                let url = request.url.ok_or(VerifyError::MissingUrl)?;
                let value = form::query_param(url.as_bytes(), name.as_bytes()).ok_or(
                    VerifyError::MissingHeader {
                        name: HeaderName::from_static("query-parameter"),
                    },
                )?;
                let SignatureSyntax::Single { prefix } = &scheme.syntax else {
                    return Err(mismatch(scheme, &prepared.candidates));
                };
                body_candidates = match value.strip_prefix(prefix.as_bytes()) {
                    Some(sig) if !sig.is_empty() => Candidates::single(sig, &mode.format),
                    _ => Candidates::new(),
                };
                if body_candidates.decodable() == 0 {
                    return Err(mismatch(scheme, &body_candidates));
                }
                &body_candidates
            }
        };
        // A body-borne timestamp or signed field that is missing is reported only once the
        // signature matched: on a tampered body the mismatch is the honest answer.
        let body_timestamp = match &scheme.timestamp {
            Some(TimestampSpec {
                source: TimestampSource::JsonField(path),
                unit,
            }) => Some((json_path::json_value(body, path), *unit)),
            _ => None,
        };
        let timestamp_text = match &body_timestamp {
            Some((text, _)) => text.as_deref().unwrap_or_default().as_bytes(),
            None => prepared.timestamp_text,
        };
        let mut json_owned: [String; MAX_JSON_PARTS] = Default::default();
        let mut json_missing = false;
        let mut json_slots = json_owned.iter_mut();
        for part in &scheme.content {
            if let Part::JsonField(path) = part
                && let Some(slot) = json_slots.next()
            {
                match json_path::json_value(body, path) {
                    Some(value) => *slot = value,
                    None => json_missing = true,
                }
            }
        }
        let json: [&[u8]; MAX_JSON_PARTS] = json_owned.each_ref().map(|s| s.as_bytes());

        // The request line.
        let url_part = scheme.content.iter().find_map(|p| match p {
            Part::Url(u) => Some(u),
            _ => None,
        });
        let url_variants: url::Variants<'_> = match url_part {
            Some(part) => {
                url::variants(request.url.ok_or(VerifyError::MissingUrl)?.as_bytes(), part)
            }
            None => [Some(Cow::Borrowed(&[][..])), None, None],
        };
        let method = request.method.unwrap_or("POST").as_bytes();
        let form = match scheme.content.iter().find_map(|p| match p {
            Part::FormParams(f) => Some(f),
            _ => None,
        }) {
            None => Vec::new(),
            Some(params) => {
                let hash_param = params.body_hash_param.as_deref().and_then(|name| {
                    form::query_param(request.url.unwrap_or("").as_bytes(), name.as_bytes())
                });
                match hash_param {
                    Some(expected) => {
                        check_body_hash(body, &expected)
                            .map_err(|()| mismatch(scheme, candidates))?;
                        Vec::new()
                    }
                    None => form::canonical(body).ok_or(VerifyError::MalformedBody {
                        reason: "more than 1000 form parameters",
                    })?,
                }
            }
        };

        // Read only when needed (an expiring secret, JWS claims): most schemes never do.
        let now = || self.inner.clock.now().as_secs();
        let mut matched: Option<Option<Arc<str>>> = None;
        let mut expired: Option<Option<Arc<str>>> = None;
        'urls: for url in url_variants.iter().flatten() {
            let inputs = Inputs {
                body,
                timestamp: timestamp_text,
                headers: &prepared.header_parts,
                json: &json,
                method,
                url,
                form: &form,
                jws: prepared.jws.map(|t| t.signing_input).unwrap_or_default(),
            };
            let feed = |sink: &mut dyn Sink| content::feed(&scheme.content, &inputs, sink);
            let mut message = None;
            for (i, key) in mode.keys.iter().enumerate() {
                if !key.matches(candidates.iter(), &feed, &mut message) {
                    continue;
                }
                let meta = mode.meta.get(i).cloned().unwrap_or_default();
                if meta.not_after.is_some_and(|t| now() > t) {
                    // Keep looking: a live secret may match too (a rotation).
                    expired.get_or_insert(meta.label);
                    continue;
                }
                matched = Some(meta.label);
                break 'urls;
            }
        }
        let secret_label = match (matched, expired) {
            (Some(label), _) => label,
            (None, Some(label)) => {
                return Err(VerifyError::SecretExpired {
                    label: label.map(|l| l.to_string()),
                });
            }
            (None, None) => return Err(mismatch(scheme, candidates)),
        };
        if json_missing {
            return Err(no("a signed JSON field is missing"));
        }
        if let (SignatureSyntax::Jws(claims), Some(token)) = (&scheme.syntax, prepared.jws) {
            let leeway = self.inner.tolerance.past.as_secs();
            jws::check_claims(claims, token.payload, body, now(), leeway).map_err(|refusal| {
                match refusal {
                    jws::ClaimsRefusal::Malformed(reason) => VerifyError::MalformedHeader {
                        name: scheme
                            .signature_header()
                            .first()
                            .cloned()
                            .unwrap_or(HeaderName::from_static("signature")),
                        reason,
                    },
                    jws::ClaimsRefusal::BodyMismatch => mismatch(scheme, candidates),
                    jws::ClaimsRefusal::Expired { age } => VerifyError::TimestampTooOld {
                        age: std::time::Duration::from_secs(age),
                        tolerance: self.inner.tolerance.past,
                    },
                }
            })?;
        }

        let timestamp = match body_timestamp {
            Some((text, unit)) => {
                let text = text.ok_or(no("no timestamp in the JSON body"))?;
                let at = timestamp::parse(text.as_bytes(), unit)?;
                Some(timestamp::check(
                    at,
                    unit,
                    self.inner.clock.now(),
                    self.inner.tolerance,
                )?)
            }
            None => prepared.timestamp,
        };
        let event_id = match &scheme.event_id {
            EventIdSource::Header(_) => prepared.event_id.map(event_id::EventIdBuf::new),
            EventIdSource::JsonField(path) => event_id::from_json(body, path)?,
            EventIdSource::None => None,
        };
        Ok(Verified {
            preset: Arc::clone(&self.inner.scheme.name),
            event_id,
            timestamp,
            event_type: self.inner.event_type.clone(),
            secret_label,
        })
    }
}
