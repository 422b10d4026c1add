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

/// Installs the global subscriber and starts the writer thread (a second call is a no-op).
pub(crate) fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let Some(writer) = QueueWriter::start() else {
        return;
    };
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
