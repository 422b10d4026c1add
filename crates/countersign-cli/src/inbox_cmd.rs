//! `countersign inbox --inbox URL stats|list|show|retry|purge`: inspect and repair the inbox
//! of queued delivery, also while a proxy is using it (SQLite: WAL, busy timeout; Redis:
//! each command is one atomic script; PostgreSQL: any number of receivers, the schema's
//! migrations applied at start).
//!
//! | command | stdout | exit |
//! |---|---|---|
//! | `stats` | `{"pending":N,"in_flight":N,"done":N,"dead":N,"oldest_pending_age_s":X}` | 0 |
//! | `list [--state S] [--route R] [--limit N]` | one object per line: `id`, `preset`, `route`, `state`, `attempts`, `last_error`, `received_at`, `next_attempt_at` | 0 |
//! | `show ID [--route R]` | the event with `headers` and `body` (`body_encoding` `utf-8` or `base64`) | 0; 1 not found |
//! | `retry ID… [--route R]` / `retry --dead` | `{"requeued":N}`: back to pending, attempts reset | 0; 1 when an id matched no requeueable event |
//! | `purge --state done\|dead --older-than DURATION` | `{"purged":N}` (`0s`: all in that state) | 0 |
//!
//! Usage and configuration errors (bad URL, unreadable inbox) exit 2.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use clap::{Args, Subcommand};
use countersign_inbox::{Event, EventKey, Inbox, InboxError, ListQuery, Requeue, State};
use serde::Serialize;

use crate::duration::parse_duration;
use crate::error::{CliError, EXIT_INVALID};
use crate::output;
use crate::proxy::inbox::InboxUrl;

/// `countersign inbox`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  countersign inbox --inbox sqlite:/var/lib/countersign/inbox.db stats
  countersign inbox --inbox sqlite:inbox.db list --state dead --limit 20
  countersign inbox --inbox sqlite:inbox.db show evt_1NG8Du2eZvKYlo2C
  countersign inbox --inbox sqlite:inbox.db retry --dead
  countersign inbox --inbox sqlite:inbox.db purge --state done --older-than 72h
  countersign inbox --inbox 'redis://127.0.0.1:6379/?prefix=shop' stats
  countersign inbox --inbox postgres://postgres@127.0.0.1:5432/app stats")]
pub(crate) struct InboxArgs {
    /// The inbox: `sqlite:PATH`, `redis://HOST:PORT/[DB][?prefix=NAME]` or `postgres://…`
    /// (or `env:NAME`), as given to `countersign proxy --inbox`.
    #[arg(long, value_name = "URL")]
    pub(crate) inbox: String,

    #[command(subcommand)]
    pub(crate) command: InboxCommand,
}

/// The `inbox` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum InboxCommand {
    /// Counts per state and the age of the oldest pending event, as one JSON object.
    Stats,
    /// Events, oldest first, one JSON object per line (without headers and body).
    List {
        /// Only events in this state: pending, in_flight, done, dead.
        #[arg(long, value_name = "STATE", value_parser = parse_state)]
        state: Option<State>,
        /// Only events of this route.
        #[arg(long, value_name = "NAME")]
        route: Option<String>,
        /// At most this many [default: 100].
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },
    /// One event with its headers and body (base64 when not UTF-8); exit 1 when not found.
    Show {
        /// The provider's event id.
        id: String,
        /// Only the event of this route (ids are unique per route).
        #[arg(long, value_name = "NAME")]
        route: Option<String>,
    },
    /// Put events back to pending with their attempts reset (not events under a live lease).
    Retry {
        /// Event ids.
        #[arg(required_unless_present = "dead", conflicts_with = "dead")]
        ids: Vec<String>,
        /// Every dead event.
        #[arg(long)]
        dead: bool,
        /// Only events of this route.
        #[arg(long, value_name = "NAME")]
        route: Option<String>,
    },
    /// Delete done or dead events unchanged for at least DURATION (`0s`: all of them).
    Purge {
        /// `done` or `dead`.
        #[arg(long, value_name = "STATE", value_parser = parse_state)]
        state: State,
        /// E.g. `72h`, `30m`, `0s`.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        older_than: Duration,
    },
}

fn parse_state(s: &str) -> Result<State, String> {
    s.parse()
        .map_err(|e: countersign_inbox::UnknownState| e.to_string())
}

/// Runs the command.
pub(crate) fn run(args: &InboxArgs) -> Result<ExitCode, CliError> {
    let url = InboxUrl::parse(&args.inbox)?;
    if let InboxUrl::Sqlite(_) = &url {
        url.require_existing()?;
    }
    if let InboxCommand::Purge { state, .. } = &args.command
        && !matches!(state, State::Done | State::Dead)
    {
        return Err(CliError::Usage(
            "purge: --state must be done or dead (pending and in-flight events are not acknowledged work to throw away)".into(),
        ));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Proxy {
            what: "cannot start the async runtime".into(),
            source: Some(Box::new(e)),
        })?;
    runtime.block_on(async {
        let inbox = url.open_existing().await?;
        execute(&*inbox, &args.command)
            .await
            .map_err(|e| CliError::Proxy {
                what: format!("inbox {url}"),
                source: Some(Box::new(e)),
            })?
    })
}

async fn execute(
    inbox: &dyn Inbox,
    command: &InboxCommand,
) -> Result<Result<ExitCode, CliError>, InboxError> {
    let mut out = String::new();
    let mut code = ExitCode::SUCCESS;
    match command {
        InboxCommand::Stats => {
            let s = inbox.stats().await?;
            let age = s
                .oldest_pending
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .unwrap_or_default();
            #[derive(Serialize)]
            struct Stats {
                pending: u64,
                in_flight: u64,
                done: u64,
                dead: u64,
                oldest_pending_age_s: f64,
            }
            out = json_line(&Stats {
                pending: s.pending,
                in_flight: s.in_flight,
                done: s.done,
                dead: s.dead,
                oldest_pending_age_s: (age.as_secs_f64() * 1000.0).round() / 1000.0,
            });
        }
        InboxCommand::List {
            state,
            route,
            limit,
        } => {
            let mut q = ListQuery::new().limit(limit.unwrap_or(0));
            if let Some(s) = state {
                q = q.state(*s);
            }
            if let Some(r) = route {
                q = q.route(r.clone());
            }
            for e in inbox.list(&q).await? {
                out.push_str(&json_line(&summary(&e)));
            }
        }
        InboxCommand::Show { id, route } => {
            let events = find(inbox, id, route.as_deref()).await?;
            if events.is_empty() {
                code = ExitCode::from(EXIT_INVALID);
                eprintln_safe(&format!("countersign: no event `{id}` in the inbox"));
            }
            for key in events {
                if let Some(e) = inbox.show(&key).await? {
                    out.push_str(&json_line(&full(&e)));
                }
            }
        }
        InboxCommand::Retry { ids, dead, route } => {
            let requeued = if *dead {
                inbox.requeue(&Requeue::State(State::Dead)).await?
            } else {
                let mut n = 0;
                for id in ids {
                    let keys = find(inbox, id, route.as_deref()).await?;
                    let got = if keys.is_empty() {
                        0
                    } else {
                        inbox.requeue(&Requeue::Events(keys)).await?
                    };
                    if got == 0 {
                        code = ExitCode::from(EXIT_INVALID);
                        eprintln_safe(&format!(
                            "countersign: no event `{id}` that can be retried (unknown, or leased right now)"
                        ));
                    }
                    n += got;
                }
                n
            };
            out = format!("{{\"requeued\":{requeued}}}\n");
        }
        InboxCommand::Purge { state, older_than } => {
            let purged = inbox.purge(*state, *older_than).await?;
            out = format!("{{\"purged\":{purged}}}\n");
        }
    }
    Ok(output::stdout(out.as_bytes()).map(|()| code))
}

fn eprintln_safe(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The keys of every event with id `id` (one per route), or of route `route` only.
async fn find(
    inbox: &dyn Inbox,
    id: &str,
    route: Option<&str>,
) -> Result<Vec<EventKey>, InboxError> {
    if let Some(route) = route {
        let key = EventKey::new(route, id);
        return Ok(inbox.show(&key).await?.map(|_| key).into_iter().collect());
    }
    let found = inbox.list(&ListQuery::new().id(id).limit(1000)).await?;
    Ok(found.iter().map(|e| e.key().clone()).collect())
}

/// One line of `list` (keys in the documented order).
#[derive(Serialize)]
struct Summary<'a> {
    id: &'a str,
    preset: &'a str,
    route: &'a str,
    state: &'static str,
    attempts: u32,
    last_error: Option<LastErrorJson<'a>>,
    received_at: String,
    next_attempt_at: String,
}

#[derive(Serialize)]
struct LastErrorJson<'a> {
    status: Option<u16>,
    reason: &'a str,
}

/// `show`: the summary, then where it was sent, its headers and its body.
#[derive(Serialize)]
struct Full<'a> {
    #[serde(flatten)]
    summary: Summary<'a>,
    target: &'a str,
    headers: Vec<HeaderJson<'a>>,
    body: String,
    body_encoding: &'static str,
}

#[derive(Serialize)]
struct HeaderJson<'a> {
    name: &'a str,
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding: Option<&'static str>,
}

fn summary(e: &Event) -> Summary<'_> {
    Summary {
        id: e.id(),
        preset: e.preset(),
        route: e.route(),
        state: e.state().as_str(),
        attempts: e.attempts(),
        last_error: e.last_error().map(|l| LastErrorJson {
            status: l.status(),
            reason: l.reason(),
        }),
        received_at: rfc3339(e.received_at()),
        next_attempt_at: rfc3339(e.next_attempt_at()),
    }
}

fn full(e: &Event) -> Full<'_> {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let headers = e
        .headers()
        .iter()
        .map(
            |(name, value)| match std::str::from_utf8(value.as_bytes()) {
                Ok(v) => HeaderJson {
                    name: name.as_str(),
                    value: v.to_owned(),
                    encoding: None,
                },
                Err(_) => HeaderJson {
                    name: name.as_str(),
                    value: b64(value.as_bytes()),
                    encoding: Some("base64"),
                },
            },
        )
        .collect();
    let (body, body_encoding) = match std::str::from_utf8(e.body()) {
        Ok(body) => (body.to_owned(), "utf-8"),
        Err(_) => (b64(e.body()), "base64"),
    };
    Full {
        summary: summary(e),
        target: e.target(),
        headers,
        body,
        body_encoding,
    }
}

fn json_line(value: &impl Serialize) -> String {
    let mut line = serde_json::to_string(value).unwrap_or_default();
    line.push('\n');
    line
}

/// `2026-12-02T01:51:06.123Z`.
fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20.123Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
    }
}
