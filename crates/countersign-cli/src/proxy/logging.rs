//! Structured logs on stderr with `tracing`: human-readable lines or one JSON object per
//! line (`--log-format json`). The level comes from `RUST_LOG` (default `info`); targets:
//! `countersign::access` (one event per request), `countersign::proxy` (the server),
//! `countersign` (verification rejections), `countersign_dedup` (claims and store errors).
//!
//! Events are formatted on the thread that logs them and written by a dedicated thread, which
//! writes whatever has queued up in one go and then pauses for a few milliseconds so that the
//! next lines queue up without waking it: a request pays for formatting its access-log line,
//! not for a `write(2)` to a file or a pipe (which cost ~30 µs per line on the bench machine,
//! a third of the proxy's CPU per request). The queue is bounded (a full queue makes loggers
//! wait, nothing is dropped) and [`flush`] drains it before the process exits.
//!
//! Per-request lines of requests that reached no upstream are sampled (see
//! [`super::sampling`]).
//!
//! The access log ([`access`]) is formatted here, not by `tracing-subscriber`, in the same
//! shape (text or JSON): it is written once per request, and the generic formatter (field
//! visitors, `fmt::Debug` per field) cost ~10 000 instructions a line, an eighth of the
//! proxy's work per request. Whether it is written still follows `RUST_LOG`.

use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use super::sampling::SampleLayerLogs;

use crate::cli::LogFormat;

/// Lines queued for the writer thread at most.
const QUEUE: usize = 16 * 1024;

enum Msg {
    Line(Vec<u8>),
    /// Everything queued before has been written when the writer answers.
    Flush(SyncSender<()>),
}

static QUEUE_TX: OnceLock<Mutex<Option<SyncSender<Msg>>>> = OnceLock::new();

/// The access log's way to the writer thread, and its format.
static ACCESS: OnceLock<(SyncSender<Msg>, LogFormat)> = OnceLock::new();

/// Installs the global subscriber and starts the writer thread (a second call is a no-op).
pub(crate) fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let Some(writer) = QueueWriter::start() else {
        return;
    };
    let _ = ACCESS.set((writer.tx.clone(), format));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    // Already installed (tests): keep the first.
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(false)
            .finish()
            .with(SampleLayerLogs)
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .finish()
            .with(SampleLayerLogs)
            .try_init(),
    };
}

/// Waits (at most a second) until every event logged so far is written.
pub(crate) fn flush() {
    let tx = QUEUE_TX
        .get()
        .and_then(|m| m.lock().ok().and_then(|g| g.clone()));
    if let Some(tx) = tx {
        let (ack_tx, ack_rx) = sync_channel(1);
        if tx.send(Msg::Flush(ack_tx)).is_ok() {
            let _ = ack_rx.recv_timeout(Duration::from_secs(1));
        }
    }
}

/// Hands formatted events to the writer thread.
#[derive(Debug, Clone)]
struct QueueWriter {
    tx: SyncSender<Msg>,
}

impl QueueWriter {
    fn start() -> Option<Self> {
        let (tx, rx) = sync_channel(QUEUE);
        let slot = QUEUE_TX.get_or_init(|| Mutex::new(None));
        let mut guard = slot.lock().ok()?;
        if guard.is_some() {
            return None;
        }
        std::thread::Builder::new()
            .name("countersign-log".into())
            .spawn(move || write_loop(&rx, &mut io::stderr()))
            .ok()?;
        *guard = Some(tx.clone());
        Some(QueueWriter { tx })
    }
}

/// After writing a batch the writer pauses this long before it looks at the queue again.
/// While it pauses it is not waiting on the queue, so loggers queue their lines without
/// waking it (a futex wake and a context switch per line cost the proxy ~12 µs of CPU per
/// request under load); when idle, the first line of a burst is still written at once.
const BATCH_WINDOW: Duration = Duration::from_millis(5);

/// Writes queued lines, one `write` per burst.
fn write_loop(rx: &Receiver<Msg>, out: &mut impl Write) {
    let mut batch = Vec::with_capacity(64 * 1024);
    let mut acks = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(msg) = next {
            match msg {
                Msg::Line(line) => batch.extend_from_slice(&line),
                Msg::Flush(ack) => acks.push(ack),
            }
            next = if batch.len() < 64 * 1024 {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        // Nowhere to report a failing stderr.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        batch.clear();
        for ack in acks.drain(..) {
            let _ = ack.send(());
        }
        std::thread::sleep(BATCH_WINDOW);
    }
}

impl<'a> MakeWriter<'a> for QueueWriter {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line {
            buf: Vec::new(),
            tx: &self.tx,
        }
    }
}

/// One event's bytes, queued when dropped.
#[derive(Debug)]
pub(crate) struct Line<'a> {
    buf: Vec<u8>,
    tx: &'a SyncSender<Msg>,
}

impl Write for Line<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            // Blocks while the queue is full; fails only if the writer thread is gone.
            let _ = self.tx.send(Msg::Line(std::mem::take(&mut self.buf)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_lines_in_both_formats() {
        let now = std::time::UNIX_EPOCH + Duration::new(1_796_178_824, 81_748_000);
        let line = Access {
            route: Some("stripe"),
            method: "POST",
            path: "/hooks",
            status: 200,
            outcome: "forwarded",
            event_id: Some("evt \"1\""),
            duration_micros: Some(214),
            suppressed: None,
        };
        let mut buf = Vec::new();
        format_access(&mut buf, &line, LogFormat::Text, now);
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "2026-12-02T02:33:44.081748Z  INFO countersign::access: route=stripe method=POST path=/hooks status=200 outcome=\"forwarded\" event_id=\"evt \\\"1\\\"\" duration_ms=0.214\n"
        );
        let mut buf = Vec::new();
        format_access(&mut buf, &line, LogFormat::Json, now);
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["timestamp"], "2026-12-02T02:33:44.081748Z");
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["target"], "countersign::access");
        assert_eq!(v["event_id"], "evt \"1\"");
        assert_eq!(v["status"], 200);
        assert_eq!(v["duration_ms"], 0.214);
        assert!(v.get("suppressed").is_none());
        let mut ts = [0u8; 27];
        timestamp(std::time::UNIX_EPOCH, &mut ts);
        assert_eq!(&ts, b"1970-01-01T00:00:00.000000Z");
        let leap = std::time::UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        timestamp(leap, &mut ts);
        assert_eq!(&ts, b"2000-02-29T00:00:00.000000Z");
        for (micros, text) in [
            (214, "0.214"),
            (2600, "2.6"),
            (3000, "3"),
            (12_005, "12.005"),
            (0, "0"),
        ] {
            let mut b = Vec::new();
            millis(&mut b, micros);
            assert_eq!(b, text.as_bytes(), "{micros}");
        }
        let mut b = Vec::new();
        quoted(&mut b, "a\nb");
        assert_eq!(b, b"\"a\\nb\"");
    }

    #[test]
    fn lines_arrive_whole_and_in_order_and_flush_waits() {
        let (tx, rx) = sync_channel(4);
        let out = std::sync::Arc::new(Mutex::new(Vec::new()));
        let sink = std::sync::Arc::clone(&out);
        let thread = std::thread::spawn(move || {
            struct Shared(std::sync::Arc<Mutex<Vec<u8>>>);
            impl Write for Shared {
                fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                    self.0.lock().unwrap().extend_from_slice(b);
                    Ok(b.len())
                }
                fn flush(&mut self) -> io::Result<()> {
                    Ok(())
                }
            }
            write_loop(&rx, &mut Shared(sink));
        });
        let writer = QueueWriter { tx: tx.clone() };
        for i in 0..100 {
            let mut line = writer.make_writer();
            write!(line, "line {i}").unwrap();
            line.write_all(b"\n").unwrap();
        }
        let (ack_tx, ack_rx) = sync_channel(1);
        tx.send(Msg::Flush(ack_tx)).unwrap();
        ack_rx.recv().unwrap();
        let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
        let expected: String = (0..100).map(|i| format!("line {i}\n")).collect();
        assert_eq!(text, expected);
        drop((tx, writer));
        thread.join().unwrap();
    }
}

/// One access-log line (target `countersign::access`).
#[derive(Debug, Default)]
pub(crate) struct Access<'a> {
    pub(crate) route: Option<&'a str>,
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) status: u16,
    pub(crate) outcome: &'a str,
    pub(crate) event_id: Option<&'a str>,
    /// Shown as `duration_ms` with three decimals at most.
    pub(crate) duration_micros: Option<u64>,
    /// Sampled lines left out before this one.
    pub(crate) suppressed: Option<u64>,
}

/// Whether access-log lines are written (`RUST_LOG` enables `countersign::access` at info).
pub(crate) fn access_enabled() -> bool {
    ACCESS.get().is_some() && tracing::enabled!(target: "countersign::access", tracing::Level::INFO)
}

/// Writes an access-log line (call only when [`access_enabled`]).
pub(crate) fn access(line: &Access<'_>) {
    let Some((tx, format)) = ACCESS.get() else {
        return;
    };
    let mut buf = Vec::with_capacity(256);
    format_access(&mut buf, line, *format, std::time::SystemTime::now());
    // Blocks while the queue is full; fails only if the writer thread is gone.
    let _ = tx.send(Msg::Line(buf));
}

fn format_access(
    buf: &mut Vec<u8>,
    line: &Access<'_>,
    format: LogFormat,
    now: std::time::SystemTime,
) {
    // Written byte by byte rather than with `write!`: `core::fmt` alone cost more than the
    // rest of the line.
    let mut ts = [0u8; 27];
    timestamp(now, &mut ts);
    match format {
        LogFormat::Json => {
            buf.extend_from_slice(b"{\"timestamp\":\"");
            buf.extend_from_slice(&ts);
            buf.extend_from_slice(b"\",\"level\":\"INFO\"");
            let mut field = |name: &str, value: &str| {
                buf.extend_from_slice(b",\"");
                buf.extend_from_slice(name.as_bytes());
                buf.extend_from_slice(b"\":");
                // A JSON string with every escape it needs.
                let _ = serde_json::to_writer(&mut *buf, value);
            };
            if let Some(route) = line.route {
                field("route", route);
            }
            field("method", line.method);
            field("path", line.path);
            field("outcome", line.outcome);
            if let Some(id) = line.event_id {
                field("event_id", id);
            }
            buf.extend_from_slice(b",\"status\":");
            decimal(buf, u64::from(line.status), 0);
            if let Some(micros) = line.duration_micros {
                buf.extend_from_slice(b",\"duration_ms\":");
                millis(buf, micros);
            }
            if let Some(n) = line.suppressed {
                buf.extend_from_slice(b",\"suppressed\":");
                decimal(buf, n, 0);
            }
            buf.extend_from_slice(b",\"target\":\"countersign::access\"}");
        }
        LogFormat::Text => {
            // As tracing-subscriber's text format writes it.
            buf.extend_from_slice(&ts);
            buf.extend_from_slice(b"  INFO countersign::access:");
            if let Some(route) = line.route {
                buf.extend_from_slice(b" route=");
                buf.extend_from_slice(route.as_bytes());
            }
            buf.extend_from_slice(b" method=");
            buf.extend_from_slice(line.method.as_bytes());
            buf.extend_from_slice(b" path=");
            buf.extend_from_slice(line.path.as_bytes());
            buf.extend_from_slice(b" status=");
            decimal(buf, u64::from(line.status), 0);
            buf.extend_from_slice(b" outcome=\"");
            buf.extend_from_slice(line.outcome.as_bytes());
            buf.push(b'"');
            if let Some(id) = line.event_id {
                buf.extend_from_slice(b" event_id=");
                quoted(buf, id);
            }
            if let Some(micros) = line.duration_micros {
                buf.extend_from_slice(b" duration_ms=");
                millis(buf, micros);
            }
            if let Some(n) = line.suppressed {
                buf.extend_from_slice(b" suppressed=");
                decimal(buf, n, 0);
            }
        }
    }
    buf.push(b'\n');
}

/// `s` in double quotes, escaped as `{:?}` does (the common case, printable ASCII without
/// `"` or `\`, copied as is).
fn quoted(buf: &mut Vec<u8>, s: &str) {
    if s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        buf.push(b'"');
        buf.extend_from_slice(s.as_bytes());
        buf.push(b'"');
    } else {
        let _ = write!(buf, "{s:?}");
    }
}

/// `n` in decimal, at least `width` digits.
fn decimal(buf: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let start = i.min(digits.len().saturating_sub(width));
    buf.extend_from_slice(&digits[start..]);
}

/// Microseconds as milliseconds: `2611` → `2.611`, `2600` → `2.6`, `3000` → `3`.
fn millis(buf: &mut Vec<u8>, micros: u64) {
    decimal(buf, micros / 1000, 0);
    let mut frac = micros % 1000;
    if frac == 0 {
        return;
    }
    let mut width = 3;
    while frac.is_multiple_of(10) {
        frac /= 10;
        width -= 1;
    }
    buf.push(b'.');
    decimal(buf, frac, width);
}

/// `2026-12-02T02:13:44.081748Z` (RFC 3339, UTC, microseconds).
fn timestamp(now: std::time::SystemTime, out: &mut [u8; 27]) {
    let since = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = (yoe + era * 400 + u64::from(month <= 2)).min(9999);
    let mut put = |at: usize, width: usize, mut n: u64| {
        for i in (at..at + width).rev() {
            if let Some(slot) = out.get_mut(i) {
                *slot = b'0' + (n % 10) as u8;
            }
            n /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, rem / 3600);
    put(14, 2, rem / 60 % 60);
    put(17, 2, rem % 60);
    put(20, 6, u64::from(since.subsec_micros()));
    for (i, b) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (26, b'Z'),
    ] {
        if let Some(slot) = out.get_mut(i) {
            *slot = b;
        }
    }
}
