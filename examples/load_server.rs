//! The server `benches/load.sh` drives with wrk: one axum app, the same handler three times —
//! `POST /bare` without the layer, `POST /verified` behind `VerifyLayer`, and `POST /inline`
//! verifying by hand inside the handler (`Verifier::verify` on axum's `HeaderMap` and
//! `Bytes`) — so all are measured in the same process under the same conditions. `/inline`
//! separates the cost of verification itself from the cost of the layer around it.
//!
//! Writes a wrk Lua script (path in `LOAD_LUA`) that sends a validly signed 1 KiB delivery;
//! the signature is made at start-up with the system clock (valid for the preset's tolerance,
//! 5 minutes for Stripe). `PRESET` picks the scheme (default `stripe`), `PORT` the port.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use countersign::{Delivery, Preset, SignRequest, Signer, Verifier, VerifyLayer};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn handler(body: Bytes) -> String {
    format!("{}", body.len())
}

async fn inline(
    State(verifier): State<Verifier>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<String, StatusCode> {
    match verifier.verify(&Delivery::new(&headers, &body).with_method("POST")) {
        Ok(_) => Ok(format!("{}", body.len())),
        Err(e) => Err(e.status()),
    }
}

/// A 1 KiB JSON event with an id.
fn body() -> String {
    let mut s = String::from(r#"{"id":"evt_1NbXvK2eZvKYlo2C","type":"invoice.paid","data":""#);
    while s.len() < 1024 - 2 {
        s.push('x');
    }
    s.push_str(r#""}"#);
    s
}

fn lua_string(s: &str) -> String {
    format!("{s:?}") // Rust's escaping of this ASCII text is valid Lua
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let preset: Preset = std::env::var("PRESET")
        .unwrap_or_else(|_| "stripe".into())
        .parse()?;
    let app = Router::new()
        .route("/bare", post(handler))
        .route(
            "/verified",
            post(handler).route_layer(VerifyLayer::new(preset, SECRET)?),
        )
        .route("/inline", post(inline))
        .with_state(Verifier::new(preset, SECRET)?);

    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;

    let body = body();
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?;
    let headers = Signer::new(preset, SECRET)?.sign(
        &SignRequest::new(body.as_bytes())
            .id("msg_load_1")
            .timestamp(now),
    )?;
    let mut lua = String::from("wrk.method = \"POST\"\n");
    lua.push_str(&format!("wrk.body = {}\n", lua_string(&body)));
    lua.push_str("wrk.headers[\"Content-Type\"] = \"application/json\"\n");
    for (name, value) in &headers {
        lua.push_str(&format!(
            "wrk.headers[{}] = {}\n",
            lua_string(name.as_str()),
            lua_string(value.to_str()?)
        ));
    }
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
