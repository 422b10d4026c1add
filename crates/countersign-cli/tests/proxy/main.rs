//! End-to-end tests of `countersign proxy` and `countersign send`: the real binary as a child
//! process, a counting upstream and real clients on 127.0.0.1, real Redis (and Redis Cluster)
//! from `countersign-testkit`. Nothing is mocked.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod budget;
mod config;
mod dedup;
mod disconnect;
mod forwarding;
mod hardening;
mod harness;
mod inbox;
mod inbox_pg;
mod inbox_redis;
mod keys_url;
mod limits;
mod ops;
mod publish;
mod publish_kafka;
mod queued;
mod readme;
mod request_handshakes;
mod review;
mod send;
mod shutdown;
