#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use countersign_core::*;
#[cfg(feature = "dedup")]
#[cfg_attr(docsrs, doc(cfg(feature = "dedup")))]
pub use countersign_dedup::*;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub use countersign_tower::*;
/// Verified, deduplicated deliveries published onto a message broker (RabbitMQ, NATS
/// JetStream), acknowledged to the sender only once the broker confirmed: see
/// [`countersign_publish`](https://docs.rs/countersign-publish).
#[cfg(feature = "publish")]
#[cfg_attr(docsrs, doc(cfg(feature = "publish")))]
pub mod publish {
    pub use countersign_publish::*;
}
/// The durable inbox: accept a verified delivery once it is stored, deliver it later
/// (see [`countersign_inbox`]).
#[cfg(feature = "inbox")]
#[cfg_attr(docsrs, doc(cfg(feature = "inbox")))]
pub mod inbox {
    pub use countersign_inbox::*;
}
