#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use countersign_core::*;
#[cfg(feature = "tower")]
pub use countersign_tower::*;
