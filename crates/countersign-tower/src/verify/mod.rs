//! The verification middleware: [`VerifyLayer`] (configuration), [`Verify`] (the service),
//! [`VerifyResponseFuture`].
//!
//! The layer is configuration only (`Arc`); the service is the inner service plus that
//! `Arc`; the ready inner service is moved into the response future, so `poll_ready`
//! promises are kept. Rejections are responses: `Error = S::Error`.

mod future;
mod layer;
mod service;
mod url;

pub use future::VerifyResponseFuture;
pub use layer::{VerifyLayer, VerifyLayerBuilder};
pub use service::Verify;
