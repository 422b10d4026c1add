//! One conformance suite for every `Inbox` backend (the contract in the `Inbox` docs),
//! instantiated for `MemoryInbox` and `SqliteInbox`. A later backend adds one line at the
//! bottom and a harness in `support`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod support;

mod cases {
    use std::collections::HashSet;
    use std::time::{Duration, SystemTime};

    use countersign_inbox::{
        Accepted, EventKey, Fenced, LastError, LeaseRequest, ListQuery, Requeue, State,
    };
    use futures_util::future::join_all;

    use super::support::{Harness, event};

    const LEASE: Duration = Duration::from_secs(60);

    fn lease(max: usize) -> LeaseRequest {
        LeaseRequest::new(max, LEASE)
    }

    fn err(status: u16) -> LastError {
        LastError::new(Some(status), "upstream said no")
    }

    pub(crate) async fn accept_stores_once_byte_for_byte(h: &Harness) {
        let s = &*h.inbox;
        let e = event("stripe", "evt_1");
        assert_eq!(s.accept(&e).await.unwrap(), Accepted::Stored);
        assert_eq!(s.accept(&e).await.unwrap(), Accepted::Duplicate);
        // Same id on another route is another event.
        assert_eq!(
            s.accept(&event("github", "evt_1")).await.unwrap(),
            Accepted::Stored
        );
        let got = s.show(e.key()).await.unwrap().unwrap();
        assert_eq!(got.body(), &event("stripe", "evt_1").body().clone());
        assert_eq!(got.headers()["x-odd"].as_bytes(), b"\xfe\xff v");
        assert_eq!(got.headers()["content-type"], "application/json");
        assert_eq!((got.state(), got.attempts()), (State::Pending, 0));
        assert_eq!(got.preset(), "stripe");
        assert_eq!(got.target(), "/hooks/stripe?x=1");
        assert!(got.last_error().is_none());
        let age = SystemTime::now().duration_since(got.received_at()).unwrap();
        assert!(age < Duration::from_secs(5));
        assert!(
            s.show(&EventKey::new("stripe", "nope"))
                .await
                .unwrap()
                .is_none()
        );
        let st = s.stats().await.unwrap();
        assert_eq!((st.pending, st.in_flight, st.done, st.dead), (2, 0, 0, 0));
    }

    /// 64 concurrent copies of one event: exactly one is stored, 63 are duplicates.
    pub(crate) async fn concurrent_duplicates_store_one_event(h: &Harness) {
        let s = &*h.inbox;
        for round in 0..10 {
            let e = event("race", &format!("evt_{round}"));
            let results = join_all((0..64).map(|_| s.accept(&e))).await;
            let stored = results
                .iter()
                .filter(|r| *r.as_ref().unwrap() == Accepted::Stored)
                .count();
            assert_eq!(stored, 1, "round {round}");
        }
        let all = s.list(&ListQuery::new().limit(1000)).await.unwrap();
        assert_eq!(all.len(), 10);
    }

    pub(crate) async fn lease_takes_at_most_max_and_counts_attempts(h: &Harness) {
        let s = &*h.inbox;
        for i in 0..5 {
            let _ = s.accept(&event("r", &format!("e{i}"))).await.unwrap();
        }
        assert!(s.lease(&lease(0)).await.unwrap().is_empty());
        let a = s.lease(&lease(2)).await.unwrap();
        assert_eq!(a.len(), 2);
        let b = s.lease(&lease(10)).await.unwrap();
        assert_eq!(b.len(), 3);
        assert!(s.lease(&lease(10)).await.unwrap().is_empty());
        let mut tokens = HashSet::new();
        let mut keys = HashSet::new();
        for l in a.iter().chain(&b) {
            assert_eq!(l.event.state(), State::InFlight);
            assert_eq!(l.event.attempts(), 1);
            assert_eq!(l.event.key(), l.lease.key());
            assert!(l.lease.deadline() > SystemTime::now() + Duration::from_secs(50));
            assert!(tokens.insert(l.lease.token()));
            assert!(keys.insert(l.lease.key().clone()));
        }
        assert_eq!(s.stats().await.unwrap().in_flight, 5);
    }

    pub(crate) async fn concurrent_leases_never_share_an_event(h: &Harness) {
        let s = &*h.inbox;
        for i in 0..40 {
            let _ = s.accept(&event("r", &format!("e{i}"))).await.unwrap();
        }
        let reqs: Vec<LeaseRequest> = (0..16).map(|_| lease(3)).collect();
        let got = join_all(reqs.iter().map(|r| s.lease(r))).await;
        let mut keys = HashSet::new();
        for l in got.into_iter().flat_map(Result::unwrap) {
            assert!(keys.insert(l.lease.key().clone()), "leased twice: {l:?}");
        }
        assert_eq!(keys.len(), 40);
    }

    pub(crate) async fn complete_is_fenced_and_final(h: &Harness) {
        let s = &*h.inbox;
        let e = event("r", "done");
        let _ = s.accept(&e).await.unwrap();
        let l = s.lease(&lease(1)).await.unwrap().pop().unwrap();
        let forged = countersign_inbox::Lease::new(
            l.lease.key().clone(),
            l.lease.token() + 1000,
            l.lease.deadline(),
        );
        assert_eq!(s.complete(&forged).await.unwrap(), Fenced::Stale);
        assert_eq!(s.complete(&l.lease).await.unwrap(), Fenced::Applied);
        assert_eq!(s.complete(&l.lease).await.unwrap(), Fenced::Stale);
        assert_eq!(
            s.retry(&l.lease, SystemTime::now(), &err(500))
                .await
                .unwrap(),
            Fenced::Stale
        );
        assert_eq!(s.dead(&l.lease, &err(400)).await.unwrap(), Fenced::Stale);
        assert_eq!(s.show(e.key()).await.unwrap().unwrap().state(), State::Done);
        // A done event still answers duplicates and is never leased again.
        assert_eq!(s.accept(&e).await.unwrap(), Accepted::Duplicate);
        assert!(s.lease(&lease(10)).await.unwrap().is_empty());
    }

    /// Fencing: a worker whose lease expired can neither complete, retry nor dead-letter,
    /// before or after the event is leased again.
    pub(crate) async fn expired_lease_is_fenced(h: &Harness) {
        let s = &*h.inbox;
        let e = event("r", "fence");
        let _ = s.accept(&e).await.unwrap();
        let short = LeaseRequest::new(1, Duration::from_millis(200));
        let old = s.lease(&short).await.unwrap().pop().unwrap();
        assert!(
            s.lease(&lease(1)).await.unwrap().is_empty(),
            "leased while held"
        );
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert_eq!(s.complete(&old.lease).await.unwrap(), Fenced::Stale);
        assert_eq!(s.dead(&old.lease, &err(400)).await.unwrap(), Fenced::Stale);
        let new = s.lease(&lease(1)).await.unwrap().pop().unwrap();
        assert_eq!(new.event.attempts(), 2, "the lost attempt counts");
        assert!(new.lease.token() > old.lease.token(), "tokens increase");
        assert_eq!(s.complete(&old.lease).await.unwrap(), Fenced::Stale);
        assert_eq!(
            s.retry(&old.lease, SystemTime::now(), &err(500))
                .await
                .unwrap(),
            Fenced::Stale
        );
        assert_eq!(s.dead(&old.lease, &err(400)).await.unwrap(), Fenced::Stale);
        assert_eq!(
            s.show(e.key()).await.unwrap().unwrap().state(),
            State::InFlight
        );
        assert_eq!(s.complete(&new.lease).await.unwrap(), Fenced::Applied);
    }

    pub(crate) async fn retry_schedules_and_keeps_the_error(h: &Harness) {
        let s = &*h.inbox;
        let e = event("r", "retry");
        let _ = s.accept(&e).await.unwrap();
        let l = s.lease(&lease(1)).await.unwrap().pop().unwrap();
        let at = SystemTime::now() + Duration::from_millis(400);
        assert_eq!(
            s.retry(&l.lease, at, &err(503)).await.unwrap(),
            Fenced::Applied
        );
        let shown = s.show(e.key()).await.unwrap().unwrap();
        assert_eq!(shown.state(), State::Pending);
        assert_eq!(shown.last_error(), Some(&err(503)));
        assert!(shown.next_attempt_at() >= at - Duration::from_millis(2));
        assert!(s.lease(&lease(1)).await.unwrap().is_empty(), "not due yet");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let again = s.lease(&lease(1)).await.unwrap().pop().unwrap();
        assert_eq!(again.event.attempts(), 2);
        assert_eq!(again.event.last_error(), Some(&err(503)));
        // The first lease is gone for good.
        assert_eq!(s.complete(&l.lease).await.unwrap(), Fenced::Stale);
    }

    pub(crate) async fn dead_letters_and_requeue(h: &Harness) {
        let s = &*h.inbox;
        for id in ["d1", "d2", "live"] {
            let _ = s.accept(&event("r", id)).await.unwrap();
        }
        let leased = s.lease(&lease(3)).await.unwrap();
        let mut live = None;
        for l in leased {
            if l.event.id() == "live" {
                live = Some(l);
            } else {
                assert_eq!(s.dead(&l.lease, &err(404)).await.unwrap(), Fenced::Applied);
            }
        }
        let live = live.unwrap();
        let st = s.stats().await.unwrap();
        assert_eq!((st.dead, st.in_flight), (2, 1));
        let dead = s.list(&ListQuery::new().state(State::Dead)).await.unwrap();
        assert_eq!(dead.len(), 2);
        assert_eq!(dead[0].last_error().unwrap().status(), Some(404));
        // A live lease is never requeued (that would deliver concurrently twice).
        let live_key = live.lease.key().clone();
        assert_eq!(
            s.requeue(&Requeue::Events(vec![live_key.clone()]))
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            s.requeue(&Requeue::Events(vec![EventKey::new("r", "unknown")]))
                .await
                .unwrap(),
            0
        );
        assert_eq!(s.requeue(&Requeue::State(State::Dead)).await.unwrap(), 2);
        let back = s.show(&EventKey::new("r", "d1")).await.unwrap().unwrap();
        assert_eq!((back.state(), back.attempts()), (State::Pending, 0));
        let re = s.lease(&lease(10)).await.unwrap();
        assert_eq!(re.len(), 2);
        assert!(re.iter().all(|l| l.event.attempts() == 1));
        // Requeue a done event by key: delivered again (a replay).
        assert_eq!(s.complete(&live.lease).await.unwrap(), Fenced::Applied);
        assert_eq!(
            s.requeue(&Requeue::Events(vec![live_key.clone()]))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            s.show(&live_key).await.unwrap().unwrap().state(),
            State::Pending
        );
        assert_eq!(s.complete(&live.lease).await.unwrap(), Fenced::Stale);
    }

    pub(crate) async fn purge_frees_keys(h: &Harness) {
        let s = &*h.inbox;
        let e = event("r", "purge");
        let _ = s.accept(&e).await.unwrap();
        let _ = s.accept(&event("r", "stays")).await.unwrap();
        let l = s.lease(&lease(1)).await.unwrap().pop().unwrap();
        assert_eq!(s.complete(&l.lease).await.unwrap(), Fenced::Applied);
        assert_eq!(
            s.purge(State::Done, Duration::from_secs(3600))
                .await
                .unwrap(),
            0
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(s.purge(State::Done, Duration::ZERO).await.unwrap(), 1);
        assert!(s.show(l.lease.key()).await.unwrap().is_none());
        assert_eq!(
            s.stats().await.unwrap().pending,
            1,
            "other states untouched"
        );
        let again = event("r", l.lease.key().id());
        assert_eq!(s.accept(&again).await.unwrap(), Accepted::Stored);
    }

    pub(crate) async fn list_filters_and_stats(h: &Harness) {
        let s = &*h.inbox;
        let t0 = SystemTime::now() - Duration::from_secs(100);
        for (i, route) in ["a", "b", "a", "c"].iter().enumerate() {
            let e = event(route, &format!("id{i}"))
                .received_at(t0 + Duration::from_secs(u64::try_from(i).unwrap()));
            let _ = s.accept(&e).await.unwrap();
        }
        let _ = s.accept(&event("b", "id0")).await.unwrap();
        let all = s.list(&ListQuery::new()).await.unwrap();
        let ids: Vec<&str> = all.iter().map(|e| e.id()).collect();
        assert_eq!(&ids[..4], ["id0", "id1", "id2", "id3"], "oldest first");
        assert_eq!(s.list(&ListQuery::new().route("a")).await.unwrap().len(), 2);
        assert_eq!(s.list(&ListQuery::new().id("id0")).await.unwrap().len(), 2);
        assert_eq!(s.list(&ListQuery::new().limit(3)).await.unwrap().len(), 3);
        assert!(
            s.list(&ListQuery::new().state(State::Done))
                .await
                .unwrap()
                .is_empty()
        );
        let st = s.stats().await.unwrap();
        assert_eq!(st.pending, 5);
        let oldest = st.oldest_pending.unwrap();
        let diff = oldest.duration_since(t0).unwrap_or_else(|e| e.duration());
        assert!(diff < Duration::from_millis(2), "{diff:?}");
    }

    pub(crate) async fn lease_by_route(h: &Harness) {
        let s = &*h.inbox;
        let _ = s.accept(&event("a", "1")).await.unwrap();
        let _ = s.accept(&event("b", "1")).await.unwrap();
        let got = s.lease(&lease(10).route("b")).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].event.route(), "b");
        assert!(s.lease(&lease(10).route("b")).await.unwrap().is_empty());
        assert_eq!(s.lease(&lease(10)).await.unwrap().len(), 1);
    }

    pub(crate) async fn wakeup_on_accept(h: &Harness) {
        let s = &*h.inbox;
        let Some(n) = s.wakeup() else { return };
        let notified = n.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let _ = s.accept(&event("w", "1")).await.unwrap();
        tokio::time::timeout(Duration::from_secs(1), notified)
            .await
            .expect("an accept wakes waiting workers");
    }
}

macro_rules! conformance {
    ($backend:ident, $harness:path) => {
        mod $backend {
            use super::cases;

            conformance!(@case $harness;
                accept_stores_once_byte_for_byte,
                concurrent_duplicates_store_one_event,
                lease_takes_at_most_max_and_counts_attempts,
                concurrent_leases_never_share_an_event,
                complete_is_fenced_and_final,
                expired_lease_is_fenced,
                retry_schedules_and_keeps_the_error,
                dead_letters_and_requeue,
                purge_frees_keys,
                list_filters_and_stats,
                lease_by_route,
                wakeup_on_accept,
            );
        }
    };
    (@case $harness:path; $($case:ident,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let harness = $harness().await;
                cases::$case(&harness).await;
            }
        )*
    };
}

conformance!(memory, crate::support::memory);
conformance!(sqlite, crate::support::sqlite);
conformance!(redis, crate::support::redis);
#[cfg(feature = "postgres")]
conformance!(postgres, crate::support::postgres);
