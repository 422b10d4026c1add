//! Broker URLs: our own query parameters split from the client library's, credentials kept
//! out of everything printed.

use url::Url;

#[cfg(any(feature = "amqp", feature = "nats"))]
use crate::error::PublishConfigError;

#[cfg(any(feature = "amqp", feature = "nats"))]
/// A parsed broker URL: the connection URL for the client library (without our parameters)
/// and our parameters.
pub(crate) struct BrokerUrl {
    /// Secret: may contain a password.
    pub(crate) connect: String,
    /// For logs: the password replaced by `***`, our parameters dropped.
    pub(crate) shown: String,
    /// Our parameters, in order.
    pub(crate) params: Vec<(String, String)>,
}

/// The URL with its password replaced by `***` (for error messages).
pub(crate) fn redact(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        // Unparseable: do not echo it, it may hold a password.
        Err(_) => "<unparseable URL>".to_owned(),
    }
}

#[cfg(any(feature = "amqp", feature = "nats"))]
/// Parses `raw`, which must have scheme `scheme`; the query parameters named in `ours` are
/// taken out (each at most once), every other one stays on the connection URL.
pub(crate) fn parse(
    raw: &str,
    scheme: &str,
    ours: &[&str],
) -> Result<BrokerUrl, PublishConfigError> {
    let bad = |reason: String| PublishConfigError::Url {
        url: redact(raw),
        reason,
    };
    let url = Url::parse(raw.trim()).map_err(|e| bad(e.to_string()))?;
    if url.scheme() != scheme {
        return Err(bad(format!("the scheme must be {scheme}://")));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host".into()));
    }
    if url.fragment().is_some() {
        return Err(bad("a fragment (#…) is not allowed".into()));
    }
    let mut params: Vec<(String, String)> = Vec::new();
    let mut rest: Vec<(String, String)> = Vec::new();
    for (k, v) in url.query_pairs() {
        if ours.contains(&k.as_ref()) {
            if params.iter().any(|(name, _)| *name == k) {
                return Err(bad(format!("`{k}` is given twice")));
            }
            params.push((k.into_owned(), v.into_owned()));
        } else {
            rest.push((k.into_owned(), v.into_owned()));
        }
    }
    let mut connect = url.clone();
    connect.set_query(None);
    if !rest.is_empty() {
        connect.query_pairs_mut().extend_pairs(rest.iter());
    }
    let mut shown = connect.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("***"));
    }
    Ok(BrokerUrl {
        connect: connect.to_string(),
        shown: shown.to_string(),
        params,
    })
}

#[cfg(any(feature = "amqp", feature = "nats"))]
impl BrokerUrl {
    /// Our parameter `name`, if given.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(all(test, any(feature = "amqp", feature = "nats")))]
mod tests {
    use super::*;

    #[test]
    fn splits_and_redacts() {
        let u = parse(
            "amqp://guest:s3cret@127.0.0.1:5672/%2f?heartbeat=10&exchange=x&routing_key=w.{preset}",
            "amqp",
            &["exchange", "routing_key", "queue"],
        )
        .unwrap();
        assert_eq!(u.param("exchange"), Some("x"));
        assert_eq!(u.param("routing_key"), Some("w.{preset}"));
        assert_eq!(
            u.connect,
            "amqp://guest:s3cret@127.0.0.1:5672/%2f?heartbeat=10"
        );
        assert_eq!(u.shown, "amqp://guest:***@127.0.0.1:5672/%2f?heartbeat=10");
        let err = parse("amqp://u:s3cret@h/?queue=a&queue=b", "amqp", &["queue"])
            .err()
            .unwrap();
        assert!(!err.to_string().contains("s3cret"), "{err}");
        let err = parse("http://u:s3cret@h/", "amqp", &[]).err().unwrap();
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert!(parse("amqp:///x", "amqp", &[]).is_err());
        assert_eq!(redact("not a url s3cret"), "<unparseable URL>");
    }
}
