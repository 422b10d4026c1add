//! The verification middleware: [`VerifyLayer`] (configuration), [`Verify`] (the service),
//! [`VerifyResponseFuture`].
//!
//! The layer is configuration only (`Arc`); the service is the inner service plus that
//! `Arc`; the ready inner service is moved into the response future, so `poll_ready`
//! promises are kept. Rejections are responses: `Error = S::Error`.
//!
//! The response future is one boxed `async` block: it parses the headers once and keeps
//! the result (which borrows the request head) while the body is read. Measured against a
//! hand-written state machine that had to parse the headers twice (once before the body,
//! once after), the box is cheaper: about 2 000 (GitHub) to 3 600 (Stripe) fewer
//! instructions per request under callgrind.

mod future;
mod layer;
mod service;
mod url;

pub use future::VerifyResponseFuture;
pub use layer::{VerifyLayer, VerifyLayerBuilder};
pub use service::Verify;
