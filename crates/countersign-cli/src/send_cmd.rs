//! `countersign send`: sign a body the way the provider would and POST it to a URL — the way
//! to test an endpoint (or `countersign proxy`) locally.
//!
//! Prints the status line (`HTTP/1.1 200 OK`), the response headers with `-i`/`--include`, and
//! the response body, and exits `0` for a 2xx
//! answer, `1` for any other status, `2` when no answer came (usage error, connection refused,
//! timeout), explained on stderr. Plain `http://` only: the command is for local endpoints and
//! does not carry a TLS stack.
//!
//! Presets that carry the event id in a header get `--id` or a generated `msg_…` id, as with
//! `sign`; URL-bound presets sign the `--to` URL exactly as given.

use std::process::ExitCode;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::cli::SendArgs;
use crate::error::{CliError, EXIT_INVALID};
use crate::output;
use crate::scheme_args;
use crate::sign_cmd::Signing;

/// The most response-body bytes printed: 16 MiB.
const MAX_RESPONSE: usize = 16 * 1024 * 1024;

/// Runs the command.
pub(crate) fn run(args: &SendArgs) -> Result<ExitCode, CliError> {
    let scheme = scheme_args::resolve(&args.scheme)?;
    let uri = target(&args.to)?;
    let content_type = HeaderValue::from_str(&args.content_type)
        .map_err(|_| CliError::Usage("--content-type is not a valid header value".into()))?;
    let signing = Signing::new(scheme, &args.signing)?;
    let mut headers = signing
        .signer
        .sign(&signing.request().url(&args.to).method("POST"))?;
    headers.insert(header::CONTENT_TYPE, content_type);

    let mut req = Request::new(Full::new(Bytes::from(signing.body)));
    *req.method_mut() = Method::POST;
    *req.uri_mut() = uri;
    *req.headers_mut() = headers;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Send {
            to: args.to.clone(),
            reason: "cannot start the async runtime".into(),
            source: Some(Box::new(e)),
        })?;
    let (parts, body) = runtime.block_on(post(req, args))?;

    let status_line = format!(
        "{:?} {} {}",
        parts.version,
        parts.status.as_u16(),
        parts.status.canonical_reason().unwrap_or("")
    );
    let mut out = status_line.trim_end().as_bytes().to_vec();
    out.push(b'\n');
    if args.include {
        for (name, value) in &parts.headers {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
    }
    out.extend_from_slice(&body);
    if !body.is_empty() && !body.ends_with(b"\n") {
        out.push(b'\n');
    }
    output::stdout(&out)?;
    Ok(if parts.status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INVALID)
    })
}

/// Parses `--to`: an absolute `http://` URL.
fn target(to: &str) -> Result<Uri, CliError> {
    let uri: Uri = to
        .parse()
        .map_err(|_| CliError::Usage(format!("--to `{to}` is not a URL")))?;
    match uri.scheme_str() {
        Some("http") if uri.authority().is_some() => Ok(uri),
        Some("https") => Err(CliError::Usage(
            "--to: `send` speaks plain http only (for local endpoints); use an http:// URL".into(),
        )),
        _ => Err(CliError::Usage(format!(
            "--to `{to}` is not an absolute http:// URL"
        ))),
    }
}

/// Sends the request; returns the response head and the body.
async fn post(
    req: Request<Full<Bytes>>,
    args: &SendArgs,
) -> Result<(http::response::Parts, Bytes), CliError> {
    let fail =
        |reason: &str, source: Option<Box<dyn std::error::Error + Send + Sync>>| CliError::Send {
            to: args.to.clone(),
            reason: reason.to_owned(),
            source,
        };
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(args.timeout));
    connector.set_nodelay(true);
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let exchange = async {
        let response = client
            .request(req)
            .await
            .map_err(|e| fail("no answer", Some(Box::new(e))))?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_RESPONSE)
            .collect()
            .await
            .map_err(|e| fail("the response body could not be read", Some(e)))?
            .to_bytes();
        Ok::<_, CliError>((parts, body))
    };
    tokio::time::timeout(args.timeout, exchange)
        .await
        .map_err(|_| {
            fail(
                &format!("no complete answer within {:?}", args.timeout),
                None,
            )
        })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_http_urls() {
        assert!(target("http://127.0.0.1:8080/webhooks?x=1").is_ok());
        for bad in [
            "https://example.com/",
            "/webhooks",
            "ftp://x/",
            "not a url",
            "",
        ] {
            let err = target(bad).unwrap_err().report();
            assert!(err.starts_with("--to"), "{bad}: {err}");
        }
        assert!(
            target("https://example.com/")
                .unwrap_err()
                .report()
                .contains("plain http only")
        );
    }
}
