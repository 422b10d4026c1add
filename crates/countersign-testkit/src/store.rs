//! One dedup store under test per [`StoreKind`] — `MemoryStore`, `RedisStore` on a real
//! `redis-server`, `RedisClusterStore` on a real 3-master cluster — with what keeps its
//! servers alive and a way to see what it holds. Shared by the root crate's full-stack suite
//! and countersign-dedup's suites.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use countersign_dedup::{DedupStore, MemoryStore, RedisClusterStore, RedisStore};

use crate::{Cluster, INSTALL_HINT, Redis, RedisCluster, RedisServer};

/// Redis commands that write a dedup record (a claim, a completion, a release).
const WRITE_COMMANDS: &[&str] = &["set", "evalsha", "eval", "del"];

/// Which store a [`StoreHarness`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// `MemoryStore`.
    Memory,
    /// `RedisStore` on one node.
    Redis,
    /// `RedisClusterStore`.
    Cluster,
}

#[derive(Debug)]
enum Backend {
    Memory(Arc<MemoryStore>),
    Redis {
        redis: Redis,
        prefix: String,
    },
    /// A node this test started itself (so it may kill it).
    OwnRedis {
        server: RedisServer,
        prefix: String,
    },
    Cluster {
        cluster: Cluster,
        prefix: String,
    },
    OwnCluster {
        cluster: RedisCluster,
        prefix: String,
    },
}

/// A store under test, what keeps its servers alive, and a way to see what it holds.
pub struct StoreHarness {
    /// The store's kind.
    pub kind: StoreKind,
    /// The store.
    pub store: Arc<dyn DedupStore>,
    backend: Backend,
}

impl std::fmt::Debug for StoreHarness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreHarness")
            .field("kind", &self.kind)
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// A `RedisStore` at `url` under a fresh [`unique_prefix`](crate::unique_prefix) named
/// after `test`.
///
/// # Panics
/// When it cannot connect.
pub async fn redis_store(url: &str, test: &str) -> RedisStore {
    connect_redis(url, &crate::unique_prefix(test)).await
}

async fn connect_redis(url: &str, prefix: &str) -> RedisStore {
    RedisStore::builder(url)
        .prefix(prefix)
        .connect()
        .await
        .expect("connect RedisStore")
}

async fn connect_cluster(urls: Vec<String>, prefix: &str) -> RedisClusterStore {
    RedisClusterStore::builder(urls)
        .prefix(prefix)
        .connect()
        .await
        .expect("connect RedisClusterStore")
}

impl StoreHarness {
    /// A store of `kind` whose keys start with a fresh prefix named after `test`: on
    /// `REDIS_URL` / `REDIS_CLUSTER_URLS` when set, otherwise on servers started here.
    pub async fn new(kind: StoreKind, test: &str) -> StoreHarness {
        let prefix = crate::unique_prefix(test);
        match kind {
            StoreKind::Memory => StoreHarness::memory(MemoryStore::new()),
            StoreKind::Redis => {
                let redis = crate::redis();
                let store = connect_redis(&redis.url(), &prefix).await;
                StoreHarness {
                    kind,
                    store: Arc::new(store),
                    backend: Backend::Redis { redis, prefix },
                }
            }
            StoreKind::Cluster => {
                let cluster = crate::redis_cluster();
                let store = connect_cluster(cluster.urls(), &prefix).await;
                StoreHarness {
                    kind,
                    store: Arc::new(store),
                    backend: Backend::Cluster { cluster, prefix },
                }
            }
        }
    }

    /// A harness over `store` (configured by the test).
    #[must_use]
    pub fn memory(store: MemoryStore) -> StoreHarness {
        let store = Arc::new(store);
        StoreHarness {
            kind: StoreKind::Memory,
            store: Arc::clone(&store) as Arc<dyn DedupStore>,
            backend: Backend::Memory(store),
        }
    }

    /// A harness on servers this test starts itself, whatever `REDIS_URL` says, so that it
    /// may [`kill`](StoreHarness::kill) and [`restart`](StoreHarness::restart) them.
    pub async fn own(kind: StoreKind, test: &str) -> StoreHarness {
        let prefix = crate::unique_prefix(test);
        match kind {
            StoreKind::Memory => StoreHarness::memory(MemoryStore::new()),
            StoreKind::Redis => {
                let server = RedisServer::start();
                let store = connect_redis(&server.url(), &prefix).await;
                StoreHarness {
                    kind,
                    store: Arc::new(store),
                    backend: Backend::OwnRedis { server, prefix },
                }
            }
            StoreKind::Cluster => {
                let cluster = RedisCluster::start(3);
                let store = connect_cluster(cluster.urls(), &prefix).await;
                StoreHarness {
                    kind,
                    store: Arc::new(store),
                    backend: Backend::OwnCluster { cluster, prefix },
                }
            }
        }
    }

    /// URLs of the Redis servers holding this test's keys, and the key prefix.
    fn redis_nodes(&self) -> Option<(Vec<String>, &str)> {
        match &self.backend {
            Backend::Memory(_) => None,
            Backend::Redis { redis, prefix } => Some((vec![redis.url()], prefix)),
            Backend::OwnRedis { server, prefix } => Some((vec![server.url()], prefix)),
            Backend::Cluster { cluster, prefix } => Some((cluster.urls(), prefix)),
            Backend::OwnCluster { cluster, prefix } => Some((cluster.urls(), prefix)),
        }
    }

    /// How many records the store holds for this test (`MemoryStore`: all of them).
    #[must_use]
    pub fn record_count(&self) -> usize {
        match &self.backend {
            Backend::Memory(store) => store.len(),
            _ => self.records().len(),
        }
    }

    /// This test's Redis records, key → value (`c:<fence>` claimed, `d:<status>` done), read
    /// with `redis-cli --scan` on every node. Empty for the memory store.
    #[must_use]
    pub fn records(&self) -> BTreeMap<String, String> {
        let Some((urls, prefix)) = self.redis_nodes() else {
            return BTreeMap::new();
        };
        let mut records = BTreeMap::new();
        for url in urls {
            let keys = redis_cli(&url, &["--scan", "--pattern", &format!("{prefix}*")]);
            for key in keys.lines().filter(|k| !k.is_empty()) {
                let value = redis_cli(&url, &["GET", key]).trim_end().to_owned();
                records.insert(key.to_owned(), value);
            }
        }
        records
    }

    /// Ports of the Redis servers this test started (their command counts are its own).
    #[must_use]
    pub fn own_ports(&self) -> Vec<u16> {
        match &self.backend {
            Backend::Redis {
                redis: Redis::Spawned(s),
                ..
            } => vec![s.port()],
            Backend::OwnRedis { server, .. } => vec![server.port()],
            Backend::Cluster {
                cluster: Cluster::Spawned(c),
                ..
            }
            | Backend::OwnCluster { cluster: c, .. } => {
                c.nodes().iter().map(RedisServer::port).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Record-writing commands (`SET`, `EVALSHA`, …) executed so far on the servers this
    /// test started; `None` when it started none (memory store, `REDIS_URL`).
    #[must_use]
    pub fn write_calls(&self) -> Option<u64> {
        let ports = self.own_ports();
        if ports.is_empty() {
            return None;
        }
        Some(
            ports
                .iter()
                .map(|p| {
                    let calls = crate::command_calls(*p);
                    WRITE_COMMANDS
                        .iter()
                        .filter_map(|c| calls.get(*c))
                        .sum::<u64>()
                })
                .sum(),
        )
    }

    /// `SCRIPT FLUSH` on every server this test started (never on `REDIS_URL` servers);
    /// returns how many servers were flushed.
    ///
    /// # Panics
    /// When a server does not answer `OK`.
    pub fn flush_scripts(&self) -> usize {
        let ports = self.own_ports();
        for port in &ports {
            let out = crate::cli(*port, &["SCRIPT", "FLUSH"]);
            assert_eq!(out.trim(), "OK", "SCRIPT FLUSH on {port}");
        }
        ports.len()
    }

    /// SIGKILLs every server of an [`own`](StoreHarness::own) harness.
    ///
    /// # Panics
    /// When the harness was not made with [`own`](StoreHarness::own).
    pub fn kill(&mut self) {
        match &mut self.backend {
            Backend::OwnRedis { server, .. } => server.kill(),
            Backend::OwnCluster { cluster, .. } => {
                cluster.nodes_mut().iter_mut().for_each(RedisServer::kill);
            }
            _ => panic!("kill needs a harness made with StoreHarness::own"),
        }
    }

    /// Restarts every server of an [`own`](StoreHarness::own) harness (empty: no
    /// persistence).
    ///
    /// # Panics
    /// When the harness was not made with [`own`](StoreHarness::own).
    pub fn restart(&mut self) {
        match &mut self.backend {
            Backend::OwnRedis { server, .. } => server.restart(),
            Backend::OwnCluster { cluster, .. } => {
                cluster
                    .nodes_mut()
                    .iter_mut()
                    .for_each(RedisServer::restart);
                cluster.wait_ok(Duration::from_secs(30));
            }
            _ => panic!("restart needs a harness made with StoreHarness::own"),
        }
    }
}

/// `redis-cli -u <url> <args>`'s stdout.
fn redis_cli(url: &str, args: &[&str]) -> String {
    let bin = std::env::var("REDIS_CLI").unwrap_or_else(|_| "redis-cli".to_owned());
    let out = Command::new(&bin)
        .args(["-u", url])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}\n{INSTALL_HINT}"));
    assert!(out.status.success(), "{bin} {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
