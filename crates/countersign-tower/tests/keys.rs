//! Keys that rotate without a restart: a `VerifyLayer::rotating` layer behind a real axum
//! server on 127.0.0.1:0, its keys in a file the test rewrites (atomically, by rename) while
//! the server runs. Hostile cases: a broken, empty or oversized file keeps the last good
//! keys; a rebuilt verifier with another scheme is refused; the first load must succeed.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use common::*;
use countersign_tower::keys::{
    FileKeys, KeySourceError, MAX_KEY_FILE_LEN, RotatingVerifier, StaticKeys,
};
use countersign_tower::{FixedClock, Preset, Verifier, VerifyLayer};
use http::StatusCode;

/// A fresh directory for one test (removed at the end of the test).
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "countersign-keys-{name}-{}-{:?}",
            std::process::id(),
            Instant::now()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn file(&self) -> PathBuf {
        self.0.join("github.keys")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Replaces the file the way operators should: write aside, rename over.
fn replace(path: &Path, contents: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn github(
    keys: Vec<countersign_tower::Secret>,
) -> Result<Verifier, countersign_tower::ConfigError> {
    Verifier::builder(Preset::Github)
        .secrets(keys)
        .clock(FixedClock::from_unix_secs(NOW))
        .build()
}

async fn post_signed(addr: std::net::SocketAddr, secret: &str) -> StatusCode {
    let body = br#"{"action":"opened"}"#;
    let headers = sign(Preset::Github, secret, body, "d-1", NOW);
    send(&client(), addr, "/github", &headers, full(&body[..]))
        .await
        .status
}

/// Polls until `f` holds (the refresher runs every 20 ms here) or 5 s pass.
async fn eventually(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("not within 5 s: {what}");
}

#[tokio::test]
async fn keys_rotate_without_a_restart_and_bad_files_keep_the_last_good_keys() {
    let dir = Dir::new("rotate");
    let path = dir.file();
    replace(&path, b"# github webhook secret\nkey-a\n");
    let rotating = RotatingVerifier::new(
        FileKeys::new(&path).refresh_interval(Duration::from_millis(20)),
        github,
    )
    .unwrap();
    let layer = VerifyLayer::rotating(rotating.clone()).build().unwrap();
    let app = Router::new()
        .route("/github", post(|| async { "handled" }))
        .route_layer(layer);
    let addr = serve(app).await;

    assert_eq!(post_signed(addr, "key-a").await, StatusCode::OK);
    assert_eq!(post_signed(addr, "key-b").await, StatusCode::UNAUTHORIZED);

    // Rotation, step 1: both keys.
    replace(&path, b"key-b\nkey-a\n");
    eventually("key-b accepted", async || {
        post_signed(addr, "key-b").await == StatusCode::OK
    })
    .await;
    assert_eq!(post_signed(addr, "key-a").await, StatusCode::OK);

    // Step 2: the old key is removed.
    replace(&path, b"key-b\n");
    eventually("key-a refused", async || {
        post_signed(addr, "key-a").await == StatusCode::UNAUTHORIZED
    })
    .await;
    assert_eq!(post_signed(addr, "key-b").await, StatusCode::OK);
    let reloads = rotating.reloads();
    assert!(reloads >= 2, "{reloads}");

    // Broken sources: empty, comments only, oversized, missing. Each is counted as a failed
    // refresh, and key-b keeps working throughout.
    let failures = rotating.failed_refreshes();
    let oversized = vec![b'k'; MAX_KEY_FILE_LEN + 1];
    for (what, contents) in [
        ("empty", &b""[..]),
        ("comments only", b"# rotated away\n\n"),
        ("oversized", &oversized[..]),
    ] {
        let before = rotating.failed_refreshes();
        replace(&path, contents);
        eventually(what, async || rotating.failed_refreshes() > before).await;
        assert_eq!(post_signed(addr, "key-b").await, StatusCode::OK, "{what}");
    }
    std::fs::remove_file(&path).unwrap();
    let before = rotating.failed_refreshes();
    eventually("missing file", async || {
        rotating.failed_refreshes() > before
    })
    .await;
    assert_eq!(post_signed(addr, "key-b").await, StatusCode::OK);
    assert!(rotating.failed_refreshes() > failures);
    assert_eq!(rotating.reloads(), reloads, "no bad file was loaded");

    // Fixed again: picked up.
    replace(&path, b"key-c\n");
    eventually("key-c accepted", async || {
        post_signed(addr, "key-c").await == StatusCode::OK
    })
    .await;
    assert_eq!(post_signed(addr, "key-b").await, StatusCode::UNAUTHORIZED);
}

#[test]
fn the_first_load_must_succeed() {
    let dir = Dir::new("first");
    let path = dir.file();
    let missing = RotatingVerifier::new(FileKeys::new(&path), github).unwrap_err();
    assert!(matches!(missing, KeySourceError::Io { .. }), "{missing}");
    assert!(missing.to_string().contains("github.keys"));

    replace(&path, b"\n# nothing yet\n");
    let empty = RotatingVerifier::new(FileKeys::new(&path), github).unwrap_err();
    assert!(matches!(empty, KeySourceError::Empty), "{empty}");

    replace(&path, &vec![b'a'; MAX_KEY_FILE_LEN + 1]);
    let big = RotatingVerifier::new(FileKeys::new(&path), github).unwrap_err();
    assert!(matches!(big, KeySourceError::TooLarge { .. }), "{big}");

    // A key the scheme cannot decode (Discord wants an Ed25519 public key in hex).
    replace(&path, b"not-a-public-key\n");
    let undecodable = RotatingVerifier::new(FileKeys::new(&path), |keys| {
        Verifier::builder(Preset::Discord).secrets(keys).build()
    })
    .unwrap_err();
    assert!(
        matches!(undecodable, KeySourceError::Config(_)),
        "{undecodable}"
    );
}

#[test]
fn key_material_never_reaches_debug_or_errors() {
    let dir = Dir::new("debug");
    let path = dir.file();
    replace(&path, b"super-secret-key-material\n");
    let rotating = RotatingVerifier::new(FileKeys::new(&path), github).unwrap();
    let text = format!("{rotating:?}");
    assert!(!text.contains("super-secret"), "{text}");
    let fixed =
        RotatingVerifier::new(StaticKeys::new(["super-secret-key-material"]), github).unwrap();
    let text = format!("{fixed:?}");
    assert!(!text.contains("super-secret"), "{text}");
}

#[test]
fn a_rebuild_may_not_change_the_scheme_or_body_limit() {
    let dir = Dir::new("scheme");
    let path = dir.file();
    replace(&path, b"one\n");
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let rotating = RotatingVerifier::new(
        FileKeys::new(&path).refresh_interval(Duration::from_secs(3600)),
        move |keys| {
            let preset = match calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => Preset::Github,
                _ => Preset::Stripe,
            };
            Verifier::builder(preset).secrets(keys).build()
        },
    )
    .unwrap();
    replace(&path, b"two\n");
    let err = rotating.refresh().unwrap_err();
    assert!(matches!(err, KeySourceError::SchemeChanged(_)), "{err}");
    assert_eq!(rotating.current().scheme().name(), "github");
    assert_eq!(rotating.failed_refreshes(), 1);
}

#[test]
fn an_unchanged_file_is_not_reread() {
    let dir = Dir::new("unchanged");
    let path = dir.file();
    replace(&path, b"same\n");
    let rotating = RotatingVerifier::new(
        FileKeys::new(&path).refresh_interval(Duration::from_secs(3600)),
        github,
    )
    .unwrap();
    assert!(!rotating.refresh().unwrap());
    assert!(!rotating.refresh().unwrap());
    assert_eq!(rotating.reloads(), 0);
    replace(&path, b"other\n");
    assert!(rotating.refresh().unwrap());
    assert_eq!(rotating.reloads(), 1);
}

#[test]
fn the_refresher_stops_with_the_last_clone() {
    let dir = Dir::new("stop");
    let path = dir.file();
    replace(&path, b"k\n");
    let rotating = RotatingVerifier::new(
        FileKeys::new(&path).refresh_interval(Duration::from_millis(10)),
        github,
    )
    .unwrap();
    let weak_probe = rotating.clone();
    drop(rotating);
    drop(weak_probe);
    // Nothing to observe but the absence of a panic or a leak report; the thread returns on
    // its next wake-up once the shared state is gone.
    std::thread::sleep(Duration::from_millis(50));
}
