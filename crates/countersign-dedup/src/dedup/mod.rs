//! The middleware: [`DedupLayer`] / [`Dedup`], one part per file.

mod future;
mod layer;
mod rejection;
mod service;

pub use future::{DUPLICATE_HEADER, DedupFuture, InlineDedupFuture};
pub use layer::{
    DEFAULT_LEASE, DEFAULT_RETENTION, DEFAULT_RETRY_AFTER, DedupLayer, DedupLayerBuilder,
    InlineDedupLayer, OnStoreError,
};
pub use rejection::DedupRejection;
pub use service::{Dedup, InlineDedup};

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::time::Duration;

    use countersign_core::{Algorithm, Encoding, Preset, Scheme};
    use http::{Request, Response, StatusCode, header::RETRY_AFTER};
    use tower::{Service, ServiceBuilder, ServiceExt, service_fn};

    use super::*;
    use crate::{
        Claim, DedupConfigError, DedupKey, DedupStore, Fenced, MemoryStore, StoreError,
        StoreFuture, StoreOp, Token,
    };

    /// A real MemoryStore whose operations can be made to fail, to drive the error paths.
    #[derive(Default)]
    struct Flaky {
        inner: MemoryStore,
        fail_claim: AtomicBool,
        fail_complete: AtomicBool,
        fail_release: AtomicBool,
    }

    fn down(op: StoreOp) -> StoreError {
        StoreError::backend(op, std::io::Error::other("connection refused"))
    }

    impl DedupStore for Flaky {
        fn claim<'a>(&'a self, token: &'a Token, lease: Duration) -> StoreFuture<'a, Claim> {
            if self.fail_claim.load(Ordering::SeqCst) {
                return Box::pin(async { Err(down(StoreOp::Claim)) });
            }
            self.inner.claim(token, lease)
        }
        fn complete<'a>(
            &'a self,
            token: &'a Token,
            status: StatusCode,
            retention: Duration,
        ) -> StoreFuture<'a, Fenced> {
            if self.fail_complete.load(Ordering::SeqCst) {
                return Box::pin(async { Err(down(StoreOp::Complete)) });
            }
            self.inner.complete(token, status, retention)
        }
        fn release<'a>(&'a self, token: &'a Token) -> StoreFuture<'a, Fenced> {
            if self.fail_release.load(Ordering::SeqCst) {
                return Box::pin(async { Err(down(StoreOp::Release)) });
            }
            self.inner.release(token)
        }
    }

    fn verified(id: &str) -> Request<StatusCode> {
        verified_with(id, StatusCode::OK)
    }

    fn verified_with(id: &str, answer: StatusCode) -> Request<StatusCode> {
        let mut req = Request::new(answer);
        req.extensions_mut()
            .insert(countersign_testkit::verified(Preset::Stripe, Some(id)));
        req
    }

    /// Answers the status in the request body; counts its calls.
    fn handler(
        calls: Arc<AtomicU32>,
    ) -> impl Service<
        Request<StatusCode>,
        Response = Response<()>,
        Error = Infallible,
        Future = impl Send,
    > + Clone
    + Send
    + 'static {
        service_fn(move |req: Request<StatusCode>| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, Infallible>(Response::builder().status(*req.body()).body(()).unwrap()) }
        })
    }

    async fn probe(store: &dyn DedupStore, id: &str) -> Claim {
        let t = Token::new(DedupKey::new("stripe", id));
        let c = store.claim(&t, Duration::from_secs(60)).await.unwrap();
        if c == Claim::Claimed {
            assert_eq!(store.release(&t).await.unwrap(), Fenced::Applied);
        }
        c
    }

    #[tokio::test]
    async fn non_2xx_and_errors_release_the_claim() {
        let store = Arc::new(MemoryStore::new());
        let calls = Arc::new(AtomicU32::new(0));
        let layer = DedupLayer::builder(Arc::clone(&store), Preset::Stripe)
            .build()
            .unwrap();
        let stats = layer.stats();
        let mut svc = ServiceBuilder::new()
            .layer(layer.clone())
            .service(handler(Arc::clone(&calls)));
        let res = svc
            .ready()
            .await
            .unwrap()
            .call(verified_with("e1", StatusCode::INTERNAL_SERVER_ERROR))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(probe(&*store, "e1").await, Claim::Claimed, "released");

        let mut failing = ServiceBuilder::new().layer(layer).service(service_fn(
            |_req: Request<StatusCode>| async { Err::<Response<()>, _>("handler error") },
        ));
        let err = failing.ready().await.unwrap().call(verified("e2")).await;
        assert_eq!(err.unwrap_err(), "handler error", "errors pass through");
        assert_eq!(probe(&*store, "e2").await, Claim::Claimed, "released");
        assert_eq!(stats.snapshot().released, 2);
    }

    #[tokio::test]
    async fn a_panicking_handler_releases_and_still_panics() {
        let store = Arc::new(MemoryStore::new());
        let layer = DedupLayer::builder(Arc::clone(&store), Preset::Stripe)
            .build()
            .unwrap();
        let mut svc = ServiceBuilder::new().layer(layer).service(service_fn(
            |_req: Request<StatusCode>| async {
                if true {
                    panic!("handler bug");
                }
                Ok::<Response<()>, Infallible>(Response::new(()))
            },
        ));
        let fut = svc.ready().await.unwrap().call(verified("p1"));
        let joined = tokio::spawn(fut).await;
        assert!(joined.unwrap_err().is_panic(), "the panic propagates");
        assert_eq!(probe(&*store, "p1").await, Claim::Claimed, "released");
    }

    /// A handler that sleeps `ms`, then counts its completion and answers 200.
    fn slow(
        ms: u64,
        done: Arc<AtomicU32>,
    ) -> impl Service<
        Request<StatusCode>,
        Response = Response<()>,
        Error = Infallible,
        Future = impl Send,
    > + Clone
    + Send
    + 'static {
        service_fn(move |_req: Request<StatusCode>| {
            let done = Arc::clone(&done);
            async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                done.fetch_add(1, Ordering::SeqCst);
                Ok::<Response<()>, Infallible>(Response::new(()))
            }
        })
    }

    #[tokio::test]
    async fn a_client_that_goes_away_does_not_cancel_the_claimed_handler() {
        let store = Arc::new(MemoryStore::new());
        let layer = DedupLayer::builder(Arc::clone(&store), Preset::Stripe)
            .build()
            .unwrap();
        let stats = layer.stats();
        let done = Arc::new(AtomicU32::new(0));
        let mut svc = ServiceBuilder::new()
            .layer(layer)
            .service(slow(200, Arc::clone(&done)));
        let fut = svc.ready().await.unwrap().call(verified("gone-1"));
        assert!(
            tokio::time::timeout(Duration::from_millis(30), fut)
                .await
                .is_err(),
            "the client gave up first"
        );
        // The retry while the handler still runs is not acknowledged...
        let retry = svc
            .ready()
            .await
            .unwrap()
            .call(verified("gone-1"))
            .await
            .unwrap();
        assert_eq!(retry.status(), StatusCode::CONFLICT);
        // ...and once it finished, its success is on record.
        for _ in 0..200 {
            if done.load(Ordering::SeqCst) == 1 && stats.snapshot().pending() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(done.load(Ordering::SeqCst), 1, "the handler ran to its end");
        assert_eq!(probe(&*store, "gone-1").await, Claim::Done(StatusCode::OK));
        let s = stats.snapshot();
        assert_eq!(
            (s.claimed, s.completed, s.released, s.pending()),
            (1, 1, 0, 0)
        );
    }

    #[tokio::test]
    async fn inline_dedup_releases_the_claim_of_a_dropped_request() {
        let store = Arc::new(MemoryStore::new());
        let layer = DedupLayer::builder(Arc::clone(&store), Preset::Stripe)
            .build()
            .unwrap();
        let done = Arc::new(AtomicU32::new(0));
        let mut svc = ServiceBuilder::new()
            .layer(layer.inline())
            .service(slow(3_600_000, Arc::clone(&done)));
        let fut = svc.ready().await.unwrap().call(verified("d1"));
        assert!(
            tokio::time::timeout(Duration::from_millis(20), fut)
                .await
                .is_err()
        );
        for _ in 0..100 {
            if probe(&*store, "d1").await == Claim::Claimed {
                assert_eq!(layer.stats().snapshot().pending(), 0);
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the claim of a dropped request was not released");
    }

    #[tokio::test]
    async fn inline_dedup_takes_a_handler_that_is_not_send() {
        let layer = DedupLayer::builder(MemoryStore::new(), Preset::Stripe)
            .build()
            .unwrap();
        let mut svc = ServiceBuilder::new()
            .layer(layer.inline())
            .service(service_fn(|_req: Request<StatusCode>| async {
                let not_send = std::rc::Rc::new(1);
                tokio::task::yield_now().await;
                Ok::<_, Infallible>(
                    Response::builder()
                        .status(200 + *not_send - 1)
                        .body(())
                        .unwrap(),
                )
            }));
        let res = svc
            .ready()
            .await
            .unwrap()
            .call(verified("rc"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }

    #[test]
    fn a_handler_task_dropped_by_runtime_shutdown_abandons_its_claim() {
        let store = Arc::new(MemoryStore::new());
        let layer = DedupLayer::builder(Arc::clone(&store), Preset::Stripe)
            .build()
            .unwrap();
        let stats = layer.stats();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut svc = ServiceBuilder::new()
                .layer(layer)
                .service(slow(3_600_000, Arc::new(AtomicU32::new(0))));
            let fut = svc.ready().await.unwrap().call(verified("a1"));
            assert!(
                tokio::time::timeout(Duration::from_millis(20), fut)
                    .await
                    .is_err()
            );
        });
        drop(runtime);
        let s = stats.snapshot();
        assert_eq!(
            (s.claimed, s.released, s.abandoned, s.pending()),
            (1, 0, 1, 0)
        );
        let other = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        other.block_on(async {
            let t = Token::new(DedupKey::new("stripe", "a1"));
            assert_eq!(
                store.claim(&t, Duration::from_secs(60)).await.unwrap(),
                Claim::InFlight,
                "left to expire with its lease"
            );
        });
    }

    #[tokio::test]
    async fn a_release_that_fails_is_not_pending() {
        let store = Arc::new(Flaky::default());
        let layer = DedupLayer::builder(Arc::clone(&store), Preset::Stripe)
            .build()
            .unwrap();
        let stats = layer.stats();
        let mut svc = ServiceBuilder::new()
            .layer(layer)
            .service(handler(Arc::new(AtomicU32::new(0))));
        store.fail_release.store(true, Ordering::SeqCst);
        let res = svc
            .ready()
            .await
            .unwrap()
            .call(verified_with("r1", StatusCode::INTERNAL_SERVER_ERROR))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let s = stats.snapshot();
        assert_eq!((s.claimed, s.released, s.unreleased), (1, 0, 1));
        assert_eq!(
            s.pending(),
            0,
            "a claim that expires with its lease is not pending"
        );
    }

    #[tokio::test]
    async fn store_errors_fail_closed_by_default() {
        let store = Arc::new(Flaky::default());
        let calls = Arc::new(AtomicU32::new(0));
        let layer = DedupLayer::builder(Arc::clone(&store), Preset::Stripe)
            .retry_after(Duration::from_millis(1500))
            .build()
            .unwrap();
        let stats = layer.stats();
        let mut svc = ServiceBuilder::new()
            .layer(layer)
            .service(handler(Arc::clone(&calls)));

        store.fail_claim.store(true, Ordering::SeqCst);
        let res = svc
            .ready()
            .await
            .unwrap()
            .call(verified("s1"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            res.headers()[RETRY_AFTER],
            "2",
            "rounded up to whole seconds"
        );
        assert_eq!(
            res.extensions().get(),
            Some(&DedupRejection::StoreUnavailable { op: StoreOp::Claim })
        );
        assert_eq!(calls.load(Ordering::SeqCst), 0, "handler not called");

        // The handler succeeds but done cannot be recorded: not acknowledged, claim released.
        store.fail_claim.store(false, Ordering::SeqCst);
        store.fail_complete.store(true, Ordering::SeqCst);
        let res = svc
            .ready()
            .await
            .unwrap()
            .call(verified("s2"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        store.fail_complete.store(false, Ordering::SeqCst);
        tokio::task::yield_now().await;
        for _ in 0..100 {
            if probe(&store.inner, "s2").await == Claim::Claimed {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(probe(&store.inner, "s2").await, Claim::Claimed);
        let s = stats.snapshot();
        assert_eq!((s.store_errors, s.failed_open, s.completed), (2, 0, 0));
    }

    #[tokio::test]
    async fn fail_open_is_explicit_and_counted() {
        let store = Arc::new(Flaky::default());
        store.fail_claim.store(true, Ordering::SeqCst);
        let calls = Arc::new(AtomicU32::new(0));
        let layer = DedupLayer::builder(Arc::clone(&store), Preset::Stripe)
            .on_store_error(OnStoreError::FailOpen)
            .build()
            .unwrap();
        let stats = layer.stats();
        let mut svc = ServiceBuilder::new()
            .layer(layer)
            .service(handler(Arc::clone(&calls)));
        for _ in 0..2 {
            let res = svc
                .ready()
                .await
                .unwrap()
                .call(verified("o1"))
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "no deduplication while the store is down"
        );
        let s = stats.snapshot();
        assert_eq!((s.store_errors, s.failed_open), (2, 2));
    }

    #[tokio::test]
    async fn missing_event_ids_are_400_never_passed_through() {
        let calls = Arc::new(AtomicU32::new(0));
        let layer = DedupLayer::builder(MemoryStore::new(), Preset::Stripe)
            .build()
            .unwrap();
        let stats = layer.stats();
        let mut svc = ServiceBuilder::new()
            .layer(layer)
            .service(handler(Arc::clone(&calls)));
        let mut no_id = Request::new(StatusCode::OK);
        no_id
            .extensions_mut()
            .insert(countersign_testkit::verified(Preset::Slack, None));
        for req in [Request::new(StatusCode::OK), no_id, verified("")] {
            let res = svc.ready().await.unwrap().call(req).await.unwrap();
            assert_eq!(res.status(), StatusCode::BAD_REQUEST);
            assert_eq!(
                res.extensions().get(),
                Some(&DedupRejection::MissingEventId)
            );
        }
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert_eq!(stats.snapshot().missing_event_id, 3);
    }

    #[tokio::test]
    async fn extractor_and_scope() {
        let store = Arc::new(MemoryStore::new());
        let calls = Arc::new(AtomicU32::new(0));
        let scheme =
            Scheme::generic_hmac("x-sig", "", Algorithm::HmacSha256, Encoding::Hex).unwrap();
        let layer = DedupLayer::builder(Arc::clone(&store), scheme)
            .scope("billing")
            .event_id_with(|parts| {
                let hook = parts.headers.get("x-hook")?.to_str().ok()?;
                let delivery = parts.headers.get("x-delivery")?.to_str().ok()?;
                Some(format!("{hook}.{delivery}"))
            })
            .build()
            .unwrap();
        let mut svc = ServiceBuilder::new()
            .layer(layer)
            .service(handler(Arc::clone(&calls)));
        let req = |hook: &str| {
            Request::builder()
                .header("x-hook", hook)
                .header("x-delivery", "d-1")
                .body(StatusCode::OK)
                .unwrap()
        };
        for hook in ["1", "2", "1"] {
            svc.ready().await.unwrap().call(req(hook)).await.unwrap();
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "hook 1 deduplicated, hook 2 separate"
        );
        let t = Token::new(DedupKey::new("billing", "1.d-1"));
        assert_eq!(
            store.claim(&t, Duration::from_secs(1)).await.unwrap(),
            Claim::Done(StatusCode::OK)
        );
    }

    #[test]
    fn configuration_errors_surface_at_build() {
        let no_id =
            Scheme::generic_hmac("x-sig", "", Algorithm::HmacSha256, Encoding::Hex).unwrap();
        let err = DedupLayer::builder(MemoryStore::new(), no_id)
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            DedupConfigError::NoEventIdSource {
                scheme: "hmac".into()
            }
        );
        assert!(err.to_string().contains("event_id_with"));
        for preset in Preset::ALL {
            let built = DedupLayer::builder(MemoryStore::new(), *preset).build();
            let has_id = !matches!(
                preset.scheme().event_id(),
                countersign_core::EventIdSource::None
            );
            assert_eq!(built.is_ok(), has_id, "{preset}");
        }
        let zero = DedupLayer::builder(MemoryStore::new(), Preset::Stripe)
            .lease(Duration::ZERO)
            .build()
            .unwrap_err();
        assert!(matches!(
            zero,
            DedupConfigError::DurationOutOfRange {
                setting: "lease",
                ..
            }
        ));
        let long = DedupLayer::builder(MemoryStore::new(), Preset::Stripe)
            .retention(Duration::from_secs(400 * 24 * 3600))
            .build()
            .unwrap_err();
        assert!(matches!(
            long,
            DedupConfigError::DurationOutOfRange {
                setting: "retention",
                ..
            }
        ));
        let scope = DedupLayer::builder(MemoryStore::new(), Preset::Stripe)
            .scope("a{b}")
            .build()
            .unwrap_err();
        assert_eq!(scope, DedupConfigError::InvalidKeyPart { setting: "scope" });
    }

    #[test]
    fn layer_and_service_are_send_sync_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<DedupLayer>();
        check::<InlineDedupLayer>();
        check::<Dedup<tower::util::BoxCloneSyncService<Request<()>, Response<()>, Infallible>>>();
    }
}
