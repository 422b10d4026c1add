//! Heap allocations per verification, counted by a global allocator wrapper.
//!
//! The promise (crate docs, "Guarantees"): verifying a Standard Webhooks, GitHub or Stripe
//! delivery allocates nothing — the event id is kept inline in the returned `Verified` (up
//! to 62 bytes; one allocation of exactly the id's length beyond). Rejections allocate
//! nothing either: every error holds only `&'static str`s, numbers and `HeaderName`s of
//! static names (cloning those is free).
//!
//! This is its own test binary with a single `#[test]`, so no other test allocates while
//! a region is being counted. Header maps and bodies are built outside the counted
//! regions, and every delivery is verified once before counting (warm-up).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::alloc::System;
use std::hint::black_box;
use std::time::Duration;

use countersign_core::{
    Delivery, ErrorKind, FixedClock, Preset, SignRequest, Signer, Verified, Verifier, VerifyError,
};
use http::{HeaderMap, HeaderValue};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const NOW: u64 = 1_700_000_000;

/// What one verification did to the heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Heap {
    allocations: usize,
    reallocations: usize,
    bytes: usize,
}

/// Counts the heap activity of `f` (the result is dropped after counting). The minimum of
/// a few runs, in case the test harness's own thread allocates concurrently.
fn count<T>(mut f: impl FnMut() -> T) -> Heap {
    black_box(f()); // warm-up
    (0..5)
        .map(|_| {
            let region = Region::new(GLOBAL);
            let out = black_box(f());
            let change = region.change();
            drop(out);
            Heap {
                allocations: change.allocations,
                reallocations: change.reallocations,
                bytes: change.bytes_allocated,
            }
        })
        .min_by_key(|h| (h.allocations, h.reallocations, h.bytes))
        .unwrap()
}

fn signed(preset: Preset, secret: &str, body: &[u8], id: Option<&str>) -> (Verifier, HeaderMap) {
    let mut request = SignRequest::new(body).timestamp(Duration::from_secs(NOW));
    if let Some(id) = id {
        request = request.id(id);
    }
    let headers = Signer::new(preset, secret).unwrap().sign(&request).unwrap();
    let verifier = Verifier::builder(preset)
        .secret(secret)
        .clock(FixedClock::from_unix_secs(NOW))
        .build()
        .unwrap();
    (verifier, headers)
}

fn verify(v: &Verifier, h: &HeaderMap, body: &[u8]) -> Result<Verified, VerifyError> {
    v.verify(&Delivery::new(h, body))
}

const ONE: fn(usize) -> Heap = |bytes| Heap {
    allocations: 1,
    reallocations: 0,
    bytes,
};
const NONE: Heap = Heap {
    allocations: 0,
    reallocations: 0,
    bytes: 0,
};

#[test]
fn verification_allocates_nothing() {
    let body = vec![b'{'; 1024];
    let id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
    let sw_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let gh_secret = "It's a Secret to Everybody";

    // Standard Webhooks (and Svix): the id header, copied inline into `Verified`.
    for preset in [Preset::StandardWebhooks, Preset::Svix] {
        let (v, h) = signed(preset, sw_secret, &body, Some(id));
        let ok = verify(&v, &h, &body).unwrap();
        assert_eq!(ok.event_id(), Some(id));
        assert_eq!(count(|| verify(&v, &h, &body)), NONE, "{preset}");
        // The two-phase path of the tower layer: prepare allocates nothing.
        assert_eq!(count(|| v.prepare(&h)), NONE, "{preset} prepare");
        // Cloning (axum clones handler state per request) only bumps reference counts.
        assert_eq!(count(|| v.clone()), NONE, "{preset} clone");
        assert_eq!(
            count(|| v.prepare(&h).unwrap().finish(&body)),
            NONE,
            "{preset} prepare+finish"
        );
    }

    // GitHub: X-GitHub-Delivery (a UUID) is the id; with it or without, nothing is allocated.
    let delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
    let (v, h) = signed(Preset::Github, gh_secret, &body, Some(delivery));
    assert_eq!(verify(&v, &h, &body).unwrap().event_id(), Some(delivery));
    assert_eq!(count(|| verify(&v, &h, &body)), NONE);
    let (v, h) = signed(Preset::Github, gh_secret, &body, None);
    assert_eq!(verify(&v, &h, &body).unwrap().event_id(), None);
    assert_eq!(
        count(|| verify(&v, &h, &body)),
        NONE,
        "github without an id"
    );
    let (v, h) = signed(Preset::GithubSha1, gh_secret, &body, Some(delivery));
    assert_eq!(count(|| verify(&v, &h, &body)), NONE);

    // An id longer than 62 bytes: one allocation of exactly its length.
    let long = "x".repeat(63);
    let (v, h) = signed(Preset::StandardWebhooks, sw_secret, &body, Some(&long));
    assert_eq!(
        verify(&v, &h, &body).unwrap().event_id(),
        Some(long.as_str())
    );
    assert_eq!(count(|| verify(&v, &h, &body)), ONE(long.len()));

    // JSON-borne ids are streamed out of the body into `Verified`; serde_json adds its
    // scratch buffer (its bracket stack) when it skips nested values — Stripe bodies nest.
    let flat = br#"{"object":"event","id":"evt_1PcSgn","type":"invoice.paid","n":[1,2]}"#;
    let (v, h) = signed(Preset::Stripe, "whsec_test", flat, None);
    assert_eq!(verify(&v, &h, flat).unwrap().event_id(), Some("evt_1PcSgn"));
    assert_eq!(count(|| verify(&v, &h, flat)), NONE);
    let nested = br#"{"object":"event","data":{"object":{"id":"in_1","lines":[1,2,{"a":"b\"c"}]}},"id":"evt_1PcSgn","type":"invoice.paid"}"#;
    let (v, h) = signed(Preset::Stripe, "whsec_test", nested, None);
    assert_eq!(
        verify(&v, &h, nested).unwrap().event_id(),
        Some("evt_1PcSgn")
    );
    let heap = count(|| verify(&v, &h, nested));
    assert_eq!(heap.allocations, 1, "{heap:?}");
    assert!(heap.bytes <= 16, "{heap:?}");
    let slack_form = b"token=x&team_id=T1&command=%2Fhi";
    let (v, h) = signed(
        Preset::Slack,
        "8f742231b10e8888abcd99yyyzzz85a5",
        slack_form,
        None,
    );
    assert_eq!(
        count(|| verify(&v, &h, slack_form)),
        NONE,
        "slack form body"
    );

    // Twilio form bodies: as many allocations for 900 parameters as for 90 (the URL variants,
    // one decode buffer, the pair ranges, the canonical string, the id) — not two per
    // parameter — and a body over the parameter cap is refused before anything is decoded.
    let url = "https://example.com/twilio?x=1";
    let twilio = Verifier::builder(Preset::Twilio)
        .secret("twilio-token")
        .build()
        .unwrap();
    let twilio_heap = |params: usize| {
        let form: String = (0..params).map(|i| format!("p{i}=v%20{i}&")).collect();
        let th = Signer::new(Preset::Twilio, "twilio-token")
            .unwrap()
            .sign(&SignRequest::new(form.as_bytes()).url(url).id("idem-1"))
            .unwrap();
        let delivery = Delivery::new(&th, form.as_bytes()).url(url);
        assert_eq!(twilio.verify(&delivery).unwrap().event_id(), Some("idem-1"));
        let heap = count(|| twilio.verify(&delivery));
        assert!(heap.bytes <= 3 * form.len() + params * 32 + 256, "{heap:?}");
        heap
    };
    let (few, many) = (twilio_heap(90), twilio_heap(900));
    assert!(many.allocations <= 10, "{many:?}");
    assert_eq!(few.allocations, many.allocations, "not per parameter");
    let th = Signer::new(Preset::Twilio, "twilio-token")
        .unwrap()
        .sign(&SignRequest::new(b"").url(url))
        .unwrap();
    let twilio_verify = |body: &[u8]| twilio.verify(&Delivery::new(&th, body).url(url));
    let flood = "a&".repeat(1001);
    assert_eq!(
        twilio_verify(flood.as_bytes()).unwrap_err().kind(),
        ErrorKind::MalformedBody
    );
    // The URL variants only; nothing per parameter.
    let heap = count(|| twilio_verify(flood.as_bytes()));
    assert!(heap.allocations <= 4 && heap.bytes < 256, "flood: {heap:?}");

    // Rejections allocate nothing: the errors carry no owned data.
    let (v, h) = signed(Preset::StandardWebhooks, sw_secret, &body, Some(id));
    let mut tampered = body.clone();
    tampered[0] ^= 1;
    let mut missing = h.clone();
    missing.remove("webhook-timestamp");
    let mut old = h.clone();
    old.insert("webhook-timestamp", HeaderValue::from_static("1699999000"));
    let mut malformed = h.clone();
    malformed.insert("webhook-timestamp", HeaderValue::from_static("+1700000000"));
    let mut partial = h.clone();
    partial.insert("webhook-signature", HeaderValue::from_static("v1,"));
    let mut unsupported = h.clone();
    unsupported.insert("webhook-signature", HeaderValue::from_static("v2,AAAA"));
    let mut twice = h.clone();
    twice.append("webhook-id", HeaderValue::from_static("msg_2"));
    let cases: [(&HeaderMap, &[u8], ErrorKind); 7] = [
        (&h, &tampered, ErrorKind::SignatureMismatch),
        (&missing, &body, ErrorKind::MissingHeader),
        (&old, &body, ErrorKind::TimestampTooOld),
        (&malformed, &body, ErrorKind::MalformedTimestamp),
        (&partial, &body, ErrorKind::SignatureMismatch),
        (&unsupported, &body, ErrorKind::NoSupportedSignature),
        (&twice, &body, ErrorKind::MalformedHeader),
    ];
    for (headers, body, kind) in cases {
        assert_eq!(verify(&v, headers, body).unwrap_err().kind(), kind);
        assert_eq!(count(|| verify(&v, headers, body)), NONE, "{kind}");
    }
    let (v, h) = signed(Preset::Github, gh_secret, &body, Some(delivery));
    assert_eq!(count(|| verify(&v, &h, &tampered)), NONE, "github mismatch");
    let small = Verifier::builder(Preset::Github)
        .secret(gh_secret)
        .body_limit(16)
        .build()
        .unwrap();
    assert_eq!(
        verify(&small, &h, &body).unwrap_err().kind(),
        ErrorKind::BodyTooLarge
    );
    assert_eq!(count(|| verify(&small, &h, &body)), NONE, "body too large");
}
