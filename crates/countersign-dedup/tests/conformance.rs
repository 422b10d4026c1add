//! One conformance suite for every `DedupStore`, instantiated for `MemoryStore`,
//! `RedisStore` (a throwaway redis-server, or REDIS_URL) and `RedisClusterStore` (a
//! throwaway 3-master cluster, or REDIS_CLUSTER_URLS).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod support;

mod cases {
    use std::time::Duration;

    use countersign_dedup::{Claim, DedupKey, DedupStore, Fenced, Token};
    use futures_util::future::join_all;
    use http::StatusCode;

    use super::support::{Harness, Kind};

    const LEASE: Duration = Duration::from_secs(60);
    const KEEP: Duration = Duration::from_secs(3600);

    fn key(id: &str) -> DedupKey {
        DedupKey::new("conformance", id)
    }

    async fn claim(store: &dyn DedupStore, key: &DedupKey, lease: Duration) -> (Token, Claim) {
        let token = Token::new(key.clone());
        let claim = store.claim(&token, lease).await.unwrap();
        (token, claim)
    }

    pub(crate) async fn claim_in_flight_done(h: &Harness) {
        let s = &*h.store;
        let k = key("lifecycle");
        let (a, c) = claim(s, &k, LEASE).await;
        assert_eq!(c, Claim::Claimed);
        let (b, c) = claim(s, &k, LEASE).await;
        assert_eq!(c, Claim::InFlight, "a second claim must see the first");
        // Another token can neither complete nor release the claim.
        assert_eq!(
            s.complete(&b, StatusCode::OK, KEEP).await.unwrap(),
            Fenced::Stale
        );
        assert_eq!(s.release(&b).await.unwrap(), Fenced::Stale);
        assert_eq!(claim(s, &k, LEASE).await.1, Claim::InFlight);
        // The holder completes.
        assert_eq!(
            s.complete(&a, StatusCode::ACCEPTED, KEEP).await.unwrap(),
            Fenced::Applied
        );
        assert_eq!(
            claim(s, &k, LEASE).await.1,
            Claim::Done(StatusCode::ACCEPTED)
        );
        // A done record is final for everyone, the former holder included.
        assert_eq!(s.release(&a).await.unwrap(), Fenced::Stale);
        assert_eq!(
            s.complete(&a, StatusCode::OK, KEEP).await.unwrap(),
            Fenced::Stale
        );
        assert_eq!(
            s.complete(&b, StatusCode::OK, KEEP).await.unwrap(),
            Fenced::Stale
        );
        assert_eq!(
            claim(s, &k, LEASE).await.1,
            Claim::Done(StatusCode::ACCEPTED)
        );
    }

    pub(crate) async fn release_frees_the_key(h: &Harness) {
        let s = &*h.store;
        let k = key("release");
        let (a, c) = claim(s, &k, LEASE).await;
        assert_eq!(c, Claim::Claimed);
        assert_eq!(s.release(&a).await.unwrap(), Fenced::Applied);
        assert_eq!(
            s.release(&a).await.unwrap(),
            Fenced::Stale,
            "release is idempotent"
        );
        let (b, c) = claim(s, &k, LEASE).await;
        assert_eq!(c, Claim::Claimed, "a released key can be claimed again");
        // The old token cannot touch the new claim.
        assert_eq!(s.release(&a).await.unwrap(), Fenced::Stale);
        assert_eq!(
            s.complete(&a, StatusCode::OK, KEEP).await.unwrap(),
            Fenced::Stale
        );
        assert_eq!(claim(s, &k, LEASE).await.1, Claim::InFlight);
        assert_eq!(
            s.complete(&b, StatusCode::OK, KEEP).await.unwrap(),
            Fenced::Applied
        );
    }

    pub(crate) async fn expired_lease_cannot_clobber_newer_claim(h: &Harness) {
        let s = &*h.store;
        let k = key("lease");
        let (old, c) = claim(s, &k, Duration::from_millis(200)).await;
        assert_eq!(c, Claim::Claimed);
        tokio::time::sleep(Duration::from_millis(400)).await;
        let (new, c) = claim(s, &k, LEASE).await;
        assert_eq!(c, Claim::Claimed, "an expired lease frees the key");
        // The slow first claimer finishes late: it must not overwrite or delete the new claim.
        assert_eq!(
            s.complete(&old, StatusCode::OK, KEEP).await.unwrap(),
            Fenced::Stale
        );
        assert_eq!(s.release(&old).await.unwrap(), Fenced::Stale);
        assert_eq!(claim(s, &k, LEASE).await.1, Claim::InFlight);
        assert_eq!(
            s.complete(&new, StatusCode::CREATED, KEEP).await.unwrap(),
            Fenced::Applied
        );
        assert_eq!(
            claim(s, &k, LEASE).await.1,
            Claim::Done(StatusCode::CREATED)
        );
    }

    pub(crate) async fn late_complete_on_a_free_key_records_done(h: &Harness) {
        let s = &*h.store;
        let k = key("late");
        let (old, c) = claim(s, &k, Duration::from_millis(100)).await;
        assert_eq!(c, Claim::Claimed);
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Nobody claimed meanwhile: the success is still recorded.
        assert_eq!(
            s.complete(&old, StatusCode::OK, KEEP).await.unwrap(),
            Fenced::Applied
        );
        assert_eq!(claim(s, &k, LEASE).await.1, Claim::Done(StatusCode::OK));
        // Completing a key that was never claimed records it too (nothing newer to protect);
        // releasing one changes nothing.
        let fresh = Token::new(key("never-claimed"));
        assert_eq!(s.release(&fresh).await.unwrap(), Fenced::Stale);
        assert_eq!(claim(s, fresh.key(), LEASE).await.1, Claim::Claimed);
    }

    pub(crate) async fn done_records_expire_after_retention(h: &Harness) {
        let s = &*h.store;
        let k = key("retention");
        let (a, _) = claim(s, &k, LEASE).await;
        assert_eq!(
            s.complete(&a, StatusCode::OK, Duration::from_secs(1))
                .await
                .unwrap(),
            Fenced::Applied
        );
        assert_eq!(claim(s, &k, LEASE).await.1, Claim::Done(StatusCode::OK));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(claim(s, &k, LEASE).await.1, Claim::Claimed);
    }

    pub(crate) async fn concurrent_claims_have_exactly_one_winner(h: &Harness) {
        let s = &*h.store;
        for round in 0..20 {
            let k = key(&format!("race-{round}"));
            let tokens: Vec<Token> = (0..64).map(|_| Token::new(k.clone())).collect();
            let claims = join_all(tokens.iter().map(|t| s.claim(t, LEASE))).await;
            let claims: Vec<Claim> = claims.into_iter().map(Result::unwrap).collect();
            let winners: Vec<&Token> = tokens
                .iter()
                .zip(&claims)
                .filter(|(_, c)| **c == Claim::Claimed)
                .map(|(t, _)| t)
                .collect();
            assert_eq!(winners.len(), 1, "round {round}: {claims:?}");
            assert_eq!(claims.iter().filter(|c| **c == Claim::InFlight).count(), 63);
            // Concurrent completions: only the winner's is applied.
            let done = join_all(tokens.iter().map(|t| s.complete(t, StatusCode::OK, KEEP))).await;
            let applied = done
                .into_iter()
                .filter(|d| *d.as_ref().unwrap() == Fenced::Applied)
                .count();
            assert_eq!(applied, 1, "round {round}");
        }
    }

    pub(crate) async fn keys_are_independent(h: &Harness) {
        let s = &*h.store;
        let a = DedupKey::new("stripe", "evt_same");
        let b = DedupKey::new("github", "evt_same");
        let c = DedupKey::new("stripe", "evt_other");
        for k in [&a, &b, &c] {
            assert_eq!(claim(s, k, LEASE).await.1, Claim::Claimed, "{k}");
        }
    }

    pub(crate) async fn unusual_ids(h: &Harness) {
        let s = &*h.store;
        for id in [
            "x".repeat(5000),
            "{braces} and spaces".to_owned(),
            "ünïcødé/üñ".to_owned(),
            "a\"b'c\\d\r\n".to_owned(),
        ] {
            let k = DedupKey::new("odd", &id);
            assert!(k.as_str().len() <= 131);
            let (t, c) = claim(s, &k, LEASE).await;
            assert_eq!(c, Claim::Claimed);
            assert_eq!(claim(s, &k, LEASE).await.1, Claim::InFlight);
            assert_eq!(
                s.complete(&t, StatusCode::OK, KEEP).await.unwrap(),
                Fenced::Applied
            );
            assert_eq!(claim(s, &k, LEASE).await.1, Claim::Done(StatusCode::OK));
        }
    }

    /// The Lua scripts are loaded again after `SCRIPT FLUSH` (as after a restart).
    pub(crate) async fn survives_script_flush(h: &Harness) {
        let s = &*h.store;
        let k = key("script-flush");
        let (a, _) = claim(s, &k, LEASE).await;
        let flushed = h.flush_scripts();
        if h.kind != Kind::Memory && std::env::var_os("REDIS_URL").is_none() {
            assert!(flushed > 0, "spawned servers must have been flushed");
        }
        assert_eq!(
            s.complete(&a, StatusCode::OK, KEEP).await.unwrap(),
            Fenced::Applied
        );
        let (b, _) = claim(s, &key("script-flush-2"), LEASE).await;
        h.flush_scripts();
        assert_eq!(s.release(&b).await.unwrap(), Fenced::Applied);
    }
}

macro_rules! conformance {
    ($store:ident, $harness:path) => {
        mod $store {
            use super::cases;

            conformance!(@case $harness;
                claim_in_flight_done,
                release_frees_the_key,
                expired_lease_cannot_clobber_newer_claim,
                late_complete_on_a_free_key_records_done,
                done_records_expire_after_retention,
                concurrent_claims_have_exactly_one_winner,
                keys_are_independent,
                unusual_ids,
                survives_script_flush,
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
conformance!(redis, crate::support::redis);
conformance!(cluster, crate::support::cluster);
