//! Logging: `tracing` lines, filtered by `RUST_LOG`, written to stderr (stdout stays free for
//! command output) by a thread of their own, so that logging never blocks or fails an answer.
//!
//! Each line goes into a bounded queue; a request never waits for the log. When the queue is
//! full (stderr is a pipe nobody reads, a slow terminal) or a write fails (a full disk under a
//! redirect, a closed or unwritable stderr), lines are dropped and counted, and the count is
//! reported in the log once lines get through again. If stderr cannot be written at all, the
//! log moves to stdout and says so there, once; if neither works, the server still serves.
//!
//! Lines are written with control characters escaped (CR, LF, ESC and every other C0 or C1
//! control, DEL, and the bidirectional-text controls), so text from a request can neither
//! start a forged line nor disguise one; only each line's own final newline is kept.
//!
//! Two formats (`TERMINUS_LOG_FORMAT`): `text` (the default), with colours only when stderr is
//! a terminal (and `NO_COLOR` is unset) — then the formatter's colour codes (`ESC [ … m`) are
//! the one thing let through, while tracing-subscriber itself escapes ESC in field values —
//! and `json`, one JSON object a line, where the escapes are JSON's own (`\u202e`), so every
//! line still parses.
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// What the writer thread escapes in each line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// Every control character, as `\n`, `\x1b`, `\u{202e}`.
    All,
    /// The same, except colour codes (`ESC [ digits/; m`), for a terminal.
    KeepColour,
    /// Inside JSON: C1 and bidi controls as JSON escapes (`\u202e`), so the line still parses.
    Json,
}

/// Lines waiting for the writer thread at most. About 200 KiB of typical lines.
const QUEUE_LINES: usize = 1024;

/// How long a stopping process waits for the queue to be written.
const FLUSH_AT_EXIT: Duration = Duration::from_secs(2);

enum Message {
    Line(Vec<u8>),
    /// Answered once every line queued before it has been handled.
    Flush(SyncSender<()>),
}

/// Lines dropped so far (queue full, or no output could take them).
#[derive(Default)]
struct Counters {
    dropped: AtomicU64,
}

/// The `MakeWriter` handed to `tracing`: each event formats into a [`Line`], which is queued
/// when dropped.
#[derive(Clone)]
pub struct LogWriter {
    queue: SyncSender<Message>,
    counters: Arc<Counters>,
}

/// One formatted event, queued (never written) when dropped.
pub struct Line {
    buf: Vec<u8>,
    queue: SyncSender<Message>,
    counters: Arc<Counters>,
}

impl Write for Line {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let line = std::mem::take(&mut self.buf);
        if self.queue.try_send(Message::Line(line)).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line {
            buf: Vec::with_capacity(256),
            queue: self.queue.clone(),
            counters: self.counters.clone(),
        }
    }
}

/// Keeps the log's writer thread; dropping it (at the end of `main`) writes what is queued,
/// waiting at most [`FLUSH_AT_EXIT`] (an output that blocks must not keep the process alive).
pub struct LogGuard {
    queue: SyncSender<Message>,
}

impl LogGuard {
    /// Waits until every line queued so far is handled, or `limit` passes.
    pub fn flush(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let (done, wait) = sync_channel(1);
        let mut message = Message::Flush(done);
        loop {
            match self.queue.try_send(message) {
                Ok(()) => break,
                Err(TrySendError::Full(m)) if Instant::now() < deadline => {
                    message = m;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => return,
            }
        }
        let _ = wait.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.flush(FLUSH_AT_EXIT);
    }
}

/// Where lines go: the first output that works, in order.
pub type Output = Box<dyn Write + Send>;

/// Starts the writer thread over `outputs` (stderr, then stdout, for the server) and returns
/// the `MakeWriter` for `tracing` and the guard that flushes at exit. Also used by tests with
/// outputs of their own.
pub fn writer(outputs: Vec<(&'static str, Output)>) -> (LogWriter, LogGuard) {
    writer_with(outputs, Escape::All)
}

/// [`writer`], escaping as `escape` says.
pub fn writer_with(outputs: Vec<(&'static str, Output)>, escape: Escape) -> (LogWriter, LogGuard) {
    let (queue, lines) = sync_channel(QUEUE_LINES);
    let counters = Arc::new(Counters::default());
    let thread_counters = counters.clone();
    let spawned = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || write_lines(lines, outputs, &thread_counters, escape));
    if spawned.is_err() {
        // No thread, no log: lines are dropped (and counted) at `try_send`; serving goes on.
        drop(spawned);
    }
    (
        LogWriter {
            queue: queue.clone(),
            counters,
        },
        LogGuard { queue },
    )
}

/// The writer thread: one line at a time to the current output; on a failed write, the next
/// output (announced there once); dropped lines are reported when a line gets through.
fn write_lines(
    lines: Receiver<Message>,
    mut outputs: Vec<(&'static str, Output)>,
    counters: &Counters,
    escape: Escape,
) {
    let mut current = 0;
    let mut reported = 0;
    for message in lines {
        let line = match message {
            Message::Line(line) => line,
            Message::Flush(done) => {
                if let Some((_, out)) = outputs.get_mut(current) {
                    let _ = out.flush();
                }
                let _ = done.try_send(());
                continue;
            }
        };
        let line = escape_line_as(&line, escape);
        loop {
            let Some((name, out)) = outputs.get_mut(current) else {
                counters.dropped.fetch_add(1, Ordering::Relaxed);
                break;
            };
            match out.write_all(&line).and_then(|()| out.flush()) {
                Ok(()) => {
                    let dropped = counters.dropped.load(Ordering::Relaxed);
                    if dropped > reported {
                        let note = format!(
                            "log: {} line(s) dropped: the log output was full or failing\n",
                            dropped - reported
                        );
                        if out.write_all(note.as_bytes()).is_ok() {
                            let _ = out.flush();
                            reported = dropped;
                        }
                    }
                    break;
                }
                Err(err) => {
                    let failed = *name;
                    current += 1;
                    if let Some((next, out)) = outputs.get_mut(current) {
                        // Said once: only the move from one output to the next says it.
                        let note = format!(
                            "log: writing to {failed} failed ({err}); the log continues on {next}\n"
                        );
                        let _ = out.write_all(note.as_bytes()).and_then(|()| out.flush());
                    }
                }
            }
        }
    }
}

/// `line` with every control character escaped (see the module doc), its final newline kept.
pub fn escape_line(line: &[u8]) -> Vec<u8> {
    escape_line_as(line, Escape::All)
}

/// The length of a colour code (`ESC [ digits and ; m`) at the start of `rest`, if one is.
fn colour_code_len(rest: &str) -> Option<usize> {
    let params = rest.strip_prefix("\x1b[")?;
    let digits = params
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    (params.as_bytes().get(digits) == Some(&b'm')).then_some(2 + digits + 1)
}

/// `line` escaped as `escape` says, its final newline kept.
pub fn escape_line_as(line: &[u8], escape: Escape) -> Vec<u8> {
    let text = String::from_utf8_lossy(line);
    let (body, newline) = match text.strip_suffix('\n') {
        Some(body) => (body, true),
        None => (&*text, false),
    };
    let mut out = String::with_capacity(body.len() + 1);
    let mut chars = body.char_indices();
    while let Some((at, c)) = chars.next() {
        if c == '\x1b' && escape == Escape::KeepColour {
            if let Some(len) = colour_code_len(&body[at..]) {
                out.push_str(&body[at..at + len]);
                for _ in 1..len {
                    chars.next();
                }
                continue;
            }
        }
        let control = (c as u32) < 0x20 || c == '\u{7f}';
        match c {
            _ if escape == Escape::Json && (control || is_c1_or_bidi(c)) => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if control => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if is_c1_or_bidi(c) => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            c => out.push(c),
        }
    }
    if newline {
        out.push('\n');
    }
    out.into_bytes()
}

/// C1 controls and the Unicode bidirectional-text controls (which reorder what a terminal or
/// viewer shows: "Trojan Source").
fn is_c1_or_bidi(c: char) -> bool {
    matches!(c,
        '\u{80}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}' | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// The process's logging: to stderr, falling back to stdout, in `format`; `RUST_LOG`, else
/// `default_filter`, says what is logged. Keep the guard until the end of `main`.
pub fn init(format: LogFormat, default_filter: &str) -> LogGuard {
    use std::io::IsTerminal as _;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let colour = format == LogFormat::Text
        && std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let escape = match (format, colour) {
        (LogFormat::Json, _) => Escape::Json,
        (LogFormat::Text, true) => Escape::KeepColour,
        (LogFormat::Text, false) => Escape::All,
    };
    let (writer, guard) = writer_with(
        vec![
            ("stderr", Box::new(std::io::stderr())),
            ("stdout", Box::new(std::io::stdout())),
        ],
        escape,
    );
    // A second init (in tests) is harmless: keep the first subscriber. Neither format may
    // print its own errors: `eprintln!` panics when stderr is unwritable.
    let _ = match format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_target(false)
            .with_ansi(colour)
            .log_internal_errors(false)
            .with_writer(writer)
            .try_init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_current_span(true)
            .with_span_list(false)
            .log_internal_errors(false)
            .with_writer(writer)
            .try_init(),
    };
    guard
}

/// The default log filter of the server: its own lines at `info`, the libraries' warnings.
pub const SERVER_FILTER: &str = "info,sqlx=warn,tower_sessions=warn,leptos=warn";

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn control_characters_are_escaped_and_the_final_newline_kept() {
        let escaped = escape_line("a\nb\rc\x1b[31md\u{85}e\u{202e}f\u{2066}g\x7f\th\n".as_bytes());
        assert_eq!(
            String::from_utf8(escaped).unwrap(),
            "a\\nb\\rc\\x1b[31md\\u{0085}e\\u{202e}f\\u{2066}g\\x7f\\th\n"
        );
        assert_eq!(escape_line(b"plain"), b"plain");
        assert_eq!(
            escape_line("caf\u{e9} \u{1f600}\n".as_bytes()),
            "caf\u{e9} \u{1f600}\n".as_bytes()
        );
    }

    #[test]
    fn colour_codes_pass_on_a_terminal_and_nothing_else_does() {
        let line = "\x1b[2m2026\x1b[0m \x1b[32mINFO\x1b[0m a\x1b]0;title\x07 b\x1b[31 c\u{202e}\n";
        assert_eq!(
            String::from_utf8(escape_line_as(line.as_bytes(), Escape::KeepColour)).unwrap(),
            "\x1b[2m2026\x1b[0m \x1b[32mINFO\x1b[0m a\\x1b]0;title\\x07 b\\x1b[31 c\\u{202e}\n"
        );
    }

    #[test]
    fn json_lines_stay_json() {
        let line = "{\"message\":\"a\u{202e}b\u{85}\"}\n";
        let escaped = String::from_utf8(escape_line_as(line.as_bytes(), Escape::Json)).unwrap();
        assert_eq!(escaped, "{\"message\":\"a\\u202eb\\u0085\"}\n");
        let parsed: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(parsed["message"], "a\u{202e}b\u{85}");
    }

    /// An output that fails every write.
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("no space left"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// An output that keeps what it is given.
    #[derive(Clone, Default)]
    struct Kept(Arc<Mutex<Vec<u8>>>);
    impl Write for Kept {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn log(writer: &LogWriter, text: &str) {
        let mut line = writer.make_writer();
        line.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn a_failing_output_moves_the_log_to_the_next_and_says_so_once() {
        let kept = Kept::default();
        let (writer, guard) = writer(vec![
            ("stderr", Box::new(Broken)),
            ("stdout", Box::new(kept.clone())),
        ]);
        log(&writer, "one\n");
        log(&writer, "two\n");
        guard.flush(Duration::from_secs(10));
        let text = String::from_utf8(kept.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "log: writing to stderr failed (no space left); the log continues on stdout\none\ntwo\n"
        );
    }

    #[test]
    fn a_blocked_output_never_blocks_the_caller_and_drops_are_counted() {
        // An output that blocks until released: the queue fills, then lines are dropped.
        let (release, released) = sync_channel::<()>(0);
        struct Blocked(Receiver<()>, Kept);
        impl Write for Blocked {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                let _ = self.0.recv();
                self.1.write(bytes)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let kept = Kept::default();
        let (writer, guard) = writer(vec![("stderr", Box::new(Blocked(released, kept.clone())))]);
        for i in 0..QUEUE_LINES + 100 {
            log(&writer, &format!("line {i}\n"));
        }
        assert!(writer.counters.dropped.load(Ordering::Relaxed) >= 99);
        drop(release);
        guard.flush(Duration::from_secs(10));
        let text = String::from_utf8(kept.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("line(s) dropped"), "{text}");
    }
}
