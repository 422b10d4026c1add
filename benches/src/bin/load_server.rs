//! The server `benches/load.sh` drives with wrk: one axum app, the same trivial handler behind
//! different guards, all measured in the same process under the same conditions:
//!
//! | route | in front of the handler |
//! |---|---|
//! | `POST /bare` | nothing |
//! | `POST /verified` | `VerifyLayer` |
//! | `POST /inline` | nothing; the handler verifies by hand (`Verifier::verify` on axum's `HeaderMap` and `Bytes`), to separate the cost of verifying from the cost of the layer |
//! | `POST /dedup-memory` | `VerifyLayer` → `DedupLayer` on a `MemoryStore` (default capacity) |
//! | `POST /dedup-redis` | `VerifyLayer` → `DedupLayer` on a `RedisStore` (when `LOAD_REDIS_URL` is set) |
//! | `GET /stats` | the dedup layers' counters, one line per route |
//!
//! The full-stack routes need a NEW event per request — a repeated id would be a cheap
//! duplicate answer, not the claim + record a real delivery costs — and wrk cannot sign (no
//! HMAC in its Lua). So the server pre-generates `LOAD_EVENTS` signed deliveries with
//! countersign's `Signer`: delivery `i` has event id `evt_<i as 16 digits>` and a 1 KiB JSON
//! body `{"id":"evt_…","type":…,"data":"xxx…"}`. Only the signed header values differ from one
//! delivery to the next, so they are written to `LOAD_EVENTS_FILE` as fixed-length records
//! (values separated by tabs, padded, one per line) and the wrk script at `LOAD_EVENTS_LUA`
//! rebuilds the body from the index and reads the headers of record `i` — a file read, no
//! crypto, in wrk. Called as `wrk … -s <script> <url> -- <first> <count>`, each wrk thread
//! takes its own slice of records `first..first+count`; `done` prints `records used: N` so
//! that the next run can start after them. When a thread runs out it sends an unsigned
//! request (a non-2xx answer on the verified routes) and the script still reports how many
//! records it used. `GET /stats` lets the script prove that no request was a duplicate.
//!
//! Every verifier here has a tolerance of one hour instead of the preset's (5 minutes for
//! Stripe), so that deliveries signed at start-up stay valid through a long run; the tolerance
//! is a comparison, its value costs nothing.
//!
//! The static script at `LOAD_LUA` sends one validly signed 1 KiB delivery over and over (for
//! `/bare`, `/verified` and `/inline`, which do not deduplicate). `PRESET` picks the scheme
//! (default `stripe`; the full-stack routes need a preset whose event id is the body's `id`
//! or a header the signer sets, e.g. `stripe`, `github`, `standard-webhooks`), `PORT` the port.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use countersign::dedup::DedupStats;
use countersign::verify::Tolerance;
use countersign::{
    DedupLayer, Delivery, MemoryStore, Preset, RedisStore, SignRequest, Signer, Verifier,
    VerifyLayer,
};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// See the module docs: long enough for a long run, free at run time.
const TOLERANCE: Duration = Duration::from_secs(3600);
/// Dedup records outlive the run, not more: an external Redis is not left full of them.
const RETENTION: Duration = Duration::from_secs(600);
/// The 1 KiB body around the event id.
const BODY_PREFIX: &str = r#"{"id":""#;
const ID_LEN: usize = 20; // "evt_" + 16 digits

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn handler(body: Bytes) -> String {
    format!("{}", body.len())
}

async fn inline(
    State(verifier): State<Verifier>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<String, StatusCode> {
    match verifier.verify(&Delivery::new(&headers, &body).method("POST")) {
        Ok(_) => Ok(format!("{}", body.len())),
        Err(e) => Err(e.status()),
    }
}

fn event_id(i: u64) -> String {
    format!("evt_{i:016}")
}

/// Everything of the 1 KiB body after the event id.
fn body_suffix() -> String {
    let mut s = String::from(r#"","type":"invoice.paid","data":""#);
    while BODY_PREFIX.len() + ID_LEN + s.len() < 1024 - 2 {
        s.push('x');
    }
    s.push_str(r#""}"#);
    s
}

fn body(i: u64) -> String {
    format!("{BODY_PREFIX}{}{}", event_id(i), body_suffix())
}

fn lua_string(s: &str) -> String {
    format!("{s:?}") // Rust's escaping of this ASCII text is valid Lua
}

fn verifier(preset: Preset) -> Result<Verifier, BoxError> {
    Ok(Verifier::builder(preset)
        .secret(SECRET)
        .tolerance(Tolerance::symmetric(TOLERANCE))
        .build()?)
}

fn verify_layer(preset: Preset) -> Result<VerifyLayer, BoxError> {
    let verifier = Verifier::builder(preset)
        .secret(SECRET)
        .tolerance(Tolerance::symmetric(TOLERANCE))
        .build()?;
    Ok(VerifyLayer::builder(verifier).build()?)
}

/// The wrk script that sends the same signed delivery every time.
fn static_script(preset: Preset, now: Duration) -> Result<String, BoxError> {
    let body = body(0);
    let headers = Signer::new(preset, SECRET)?.sign(
        &SignRequest::new(body.as_bytes())
            .id(&event_id(0))
            .timestamp(now),
    )?;
    let mut lua = String::from("wrk.method = \"POST\"\n");
    writeln!(lua, "wrk.body = {}", lua_string(&body))?;
    lua.push_str("wrk.headers[\"Content-Type\"] = \"application/json\"\n");
    for (name, value) in &headers {
        writeln!(
            lua,
            "wrk.headers[{}] = {}",
            lua_string(name.as_str()),
            lua_string(value.to_str()?)
        )?;
    }
    Ok(lua)
}

/// Signs deliveries `0..n` and writes their header values as fixed-length records; returns
/// the header names (in record order) and the record length.
fn write_events(
    preset: Preset,
    now: Duration,
    n: u64,
    path: &str,
) -> Result<(Vec<String>, usize), BoxError> {
    let signer = Signer::new(preset, SECRET)?;
    let sign = |i: u64| -> Result<Vec<(String, String)>, BoxError> {
        let body = body(i);
        let headers = signer.sign(
            &SignRequest::new(body.as_bytes())
                .id(&event_id(i))
                .timestamp(now),
        )?;
        headers
            .iter()
            .map(|(k, v)| Ok((k.as_str().to_owned(), v.to_str()?.to_owned())))
            .collect()
    };
    let first = sign(0)?;
    // The record must carry the event id the way the verifier reads it.
    let mut check = HeaderMap::new();
    for (k, v) in &first {
        check.insert(k.parse::<axum::http::HeaderName>()?, v.parse()?);
    }
    let verified = verifier(preset)?.verify(&Delivery::new(&check, body(0).as_bytes()))?;
    if verified.event_id() != Some(event_id(0).as_str()) {
        return Err(format!(
            "PRESET={preset}: its event id is not the body's `id` or a signed header; \
             the full-stack routes need one that is (stripe, github, standard-webhooks, …)"
        )
        .into());
    }
    let names: Vec<String> = first.iter().map(|(k, _)| k.clone()).collect();
    let record_len = first.iter().map(|(_, v)| v.len() + 1).sum::<usize>() + 16;

    // Two threads sign; records are written in index order.
    let workers = 2u64;
    let chunk = n.div_ceil(workers);
    let parts: Vec<Result<Vec<u8>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let sign = &sign;
                let names = &names;
                s.spawn(move || {
                    let range = (w * chunk)..((w + 1) * chunk).min(n);
                    let mut out = Vec::with_capacity(range.clone().count() * record_len);
                    for i in range {
                        let headers = sign(i).map_err(|e| e.to_string())?;
                        let mut line = String::with_capacity(record_len);
                        for (name, (k, v)) in names.iter().zip(&headers) {
                            if name != k {
                                return Err(format!("header order changed at record {i}"));
                            }
                            line.push_str(v);
                            line.push('\t');
                        }
                        if line.len() > record_len - 1 {
                            return Err(format!("record {i} is longer than {record_len}"));
                        }
                        while line.len() < record_len - 1 {
                            line.push(' ');
                        }
                        line.push('\n');
                        out.extend_from_slice(line.as_bytes());
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("signer thread panicked".into()))
            })
            .collect()
    });
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    for part in parts {
        std::io::Write::write_all(&mut file, &part?)?;
    }
    std::io::Write::flush(&mut file)?;
    Ok((names, record_len))
}

/// The wrk script that sends a new event per request (see the module docs).
fn events_script(path: &str, names: &[String], record_len: usize) -> Result<String, BoxError> {
    let names: Vec<String> = names.iter().map(|n| lua_string(n)).collect();
    Ok(format!(
        r#"-- Written by benches/src/bin/load_server.rs: a new, signed event per request.
-- wrk ... -s <this> <url> -- <first record> <record count>
local path = {path}
local record_len = {record_len}
local names = {{ {names} }}
local prefix = {prefix}
local suffix = {suffix}
local threads = {{}}

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads - 1)
   for _, t in ipairs(threads) do t:set("nthreads", #threads) end
end

function init(args)
   local first = tonumber(args[1]) or 0
   local count = tonumber(args[2]) or 0
   local per = math.floor(count / nthreads)
   next_index = first + tid * per
   last_index = next_index + per
   used = 0
   file = assert(io.open(path, "rb"))
   file:seek("set", next_index * record_len)
end

function request()
   local headers = {{ ["Content-Type"] = "application/json" }}
   local line = next_index < last_index and file:read(record_len)
   if not line then
      -- Out of records: unsigned, so the verified routes answer non-2xx.
      return wrk.format("POST", nil, headers, "{{}}")
   end
   local i = 1
   for value in line:gmatch("[^\t\n ]+") do
      headers[names[i]] = value
      i = i + 1
   end
   local id = string.format("evt_%016d", next_index)
   next_index = next_index + 1
   used = used + 1
   return wrk.format("POST", nil, headers, prefix .. id .. suffix)
end

function done(summary, latency, requests)
   local total = 0
   for _, t in ipairs(threads) do total = total + t:get("used") end
   io.write(string.format("records used: %d\n", total))
end
"#,
        path = lua_string(path),
        names = names.join(", "),
        prefix = lua_string(BODY_PREFIX),
        suffix = lua_string(&body_suffix()),
    ))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let preset: Preset = std::env::var("PRESET")
        .unwrap_or_else(|_| "stripe".into())
        .parse()?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?;

    let memory = DedupLayer::builder(MemoryStore::new(), preset)
        .retention(RETENTION)
        .build()?;
    let mut stats: Vec<(&str, DedupStats)> = vec![("dedup-memory", memory.stats())];
    let mut app = Router::new()
        .route("/bare", post(handler))
        .route(
            "/verified",
            post(handler).route_layer(verify_layer(preset)?),
        )
        .route("/inline", post(inline))
        .route(
            "/dedup-memory",
            post(handler)
                .route_layer(memory)
                .route_layer(verify_layer(preset)?),
        );
    if let Ok(url) = std::env::var("LOAD_REDIS_URL") {
        // A fresh prefix per start: a second run against the same server starts clean.
        let prefix = format!("countersign:load:{}:{}:", std::process::id(), now.as_secs());
        let store = RedisStore::builder(url).prefix(prefix).connect().await?;
        let redis = DedupLayer::builder(store, preset)
            .retention(RETENTION)
            .build()?;
        stats.push(("dedup-redis", redis.stats()));
        app = app.route(
            "/dedup-redis",
            post(handler)
                .route_layer(redis)
                .route_layer(verify_layer(preset)?),
        );
    }
    let stats = Arc::new(stats);
    let app = app
        .route(
            "/stats",
            get(move || {
                let stats = Arc::clone(&stats);
                async move {
                    let mut out = String::new();
                    for (route, s) in stats.iter() {
                        let s = s.snapshot();
                        let _ = writeln!(
                            out,
                            "{route} claimed={} completed={} duplicates={} in_flight={} released={} store_errors={}",
                            s.claimed, s.completed, s.duplicates, s.in_flight, s.released, s.store_errors
                        );
                    }
                    out
                }
            }),
        )
        .with_state(verifier(preset)?);

    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;

    let events: u64 = std::env::var("LOAD_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if events > 0 {
        let path = std::env::var("LOAD_EVENTS_FILE")?;
        let script = std::env::var("LOAD_EVENTS_LUA")?;
        let (names, record_len) = write_events(preset, now, events, &path)?;
        std::fs::write(&script, events_script(&path, &names, record_len)?)?;
        println!("{events} signed events in {path} ({record_len}-byte records)");
    }
    let lua = static_script(preset, now)?;
    if let Ok(path) = std::env::var("LOAD_LUA") {
        std::fs::write(&path, lua)?;
    } else {
        print!("{lua}");
    }
    println!(
        "load_server {preset} listening on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
