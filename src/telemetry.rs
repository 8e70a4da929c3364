//! Logging: lines filtered by `RUST_LOG`, formatted on the thread that logs them and written to
//! stderr (stdout stays free for command output) by a thread of their own, so that logging
//! never blocks, slows or fails an answer.
//!
//! Each line is appended to a bounded buffer (16,384 lines or 4 MiB); a request never waits for
//! the log. The writer thread takes the whole buffer at once and writes it in one call, then
//! lets lines gather for a few milliseconds, so a busy server makes one write a batch, not one
//! a line. When the buffer is full (stderr is a pipe nobody reads, a slow terminal) or no
//! output takes a batch (a full disk under a redirect, a closed or unwritable stderr), lines
//! are dropped and counted ([`lines_dropped`], the metric `terminus_log_lines_dropped_total`).
//! A failed output is tried again with every later batch; once one takes lines again, the log
//! says how many were dropped in one line. While stderr fails, lines go to stdout (said there,
//! once); if neither works, the server still serves.
//!
//! Lines are written with control characters escaped (CR, LF, ESC and every other C0 or C1
//! control, DEL, and the bidirectional-text controls), so text from a request can neither
//! start a forged line nor disguise one; only each line's own final newline is kept.
//!
//! Two formats (`TERMINUS_LOG_FORMAT`): `text` (the default), with colours only when stderr is
//! a terminal (and `NO_COLOR` is unset) — then the formatter's colour codes (`ESC [ … m`) are
//! the one thing let through — and `json`, one JSON object a line, where the escapes are
//! JSON's own (`\u202e`), so every line still parses. A line logged while a request is served
//! carries that request's method, path and id (text: `request{method=… path=… request_id=…}:`,
//! JSON: `"span"`). The access line of each request ([`access`]) is formatted by hand, in the
//! same shape as every other line, without going through `tracing`'s formatter: it is the one
//! line every request writes.
use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// What is escaped in each line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// Every control character, as `\n`, `\x1b`, `\u{202e}`.
    All,
    /// The same, except colour codes (`ESC [ digits/; m`), for a terminal.
    KeepColour,
    /// Inside JSON: C1 and bidi controls as JSON escapes (`\u202e`), so the line still parses.
    Json,
}

/// Lines waiting for the writer thread at most, and their bytes at most: at 50,000 access
/// lines a second, a third of a second in which the writer gets no CPU (a busy machine).
const PENDING_LINES: usize = 16_384;
const PENDING_BYTES: usize = 4 << 20;

/// How long the writer lets lines gather after writing a batch. Under load this turns one
/// write (and one wake-up of the writer) a line into one every few milliseconds.
const GATHER: Duration = Duration::from_millis(5);

/// How long a stopping process waits for the buffer to be written.
const FLUSH_AT_EXIT: Duration = Duration::from_secs(2);

/// Lines waiting to be written, and the writer's state.
#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    lines: usize,
    /// The writer waits for lines (appending a line must wake it).
    writer_idle: bool,
    /// Flushes asked for and done (each a count).
    flush_asked: u64,
    flush_done: u64,
}

/// What the loggers and the writer thread share.
struct Shared {
    pending: Mutex<Pending>,
    /// The writer waits on it for lines or a flush.
    wake: Condvar,
    /// Flushing callers wait on it.
    flushed: Condvar,
    /// Lines dropped so far: buffer full, or no output took them.
    dropped: AtomicU64,
    escape: Escape,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // The lock guards a buffer that a panic cannot leave half-written.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends one formatted line (escaped here), or counts it as dropped. Never blocks for
    /// longer than another thread's append.
    fn push(&self, line: &[u8]) {
        if line.is_empty() {
            return;
        }
        let escaped;
        let line = if needs_escaping(line, self.escape) {
            escaped = escape_line_as(line, self.escape);
            &escaped[..]
        } else {
            line
        };
        let newline = !line.ends_with(b"\n");
        let mut pending = self.lock();
        if pending.lines >= PENDING_LINES
            || pending.buf.len() + line.len() + usize::from(newline) > PENDING_BYTES
        {
            drop(pending);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        pending.buf.extend_from_slice(line);
        if newline {
            pending.buf.push(b'\n');
        }
        pending.lines += 1;
        if pending.writer_idle {
            pending.writer_idle = false;
            self.wake.notify_one();
        }
    }

    /// Waits until every line appended so far is written (or `limit` passes).
    fn flush(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut pending = self.lock();
        pending.flush_asked += 1;
        let target = pending.flush_asked;
        pending.writer_idle = false;
        self.wake.notify_one();
        while pending.flush_done < target {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            pending = self
                .flushed
                .wait_timeout(pending, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// Whether `line` has anything [`escape_line_as`] would change (its final newline aside).
/// The common line is plain ASCII, which is appended as it is.
fn needs_escaping(line: &[u8], escape: Escape) -> bool {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    let plain = body.iter().all(|&b| (0x20..0x7f).contains(&b));
    !plain || (escape == Escape::KeepColour && body.contains(&0x1b))
}

/// The `MakeWriter` handed to `tracing`: each event formats into a [`Line`], appended to the
/// log when dropped.
#[derive(Clone)]
pub struct LogWriter {
    shared: Arc<Shared>,
}

/// One formatted event, appended to the log (never written) when dropped.
pub struct Line {
    buf: Vec<u8>,
    shared: Arc<Shared>,
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
        self.shared.push(&self.buf);
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line {
            buf: Vec::with_capacity(256),
            shared: self.shared.clone(),
        }
    }
}

/// Keeps the log's writer; dropping it (at the end of `main`) writes what is buffered,
/// waiting at most [`FLUSH_AT_EXIT`] (an output that blocks must not keep the process alive).
pub struct LogGuard {
    shared: Arc<Shared>,
}

impl LogGuard {
    /// Waits until every line logged so far is written, or `limit` passes.
    pub fn flush(&self, limit: Duration) {
        self.shared.flush(limit);
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.flush(FLUSH_AT_EXIT);
    }
}

/// Where lines go: the first output that takes them, in order.
pub type Output = Box<dyn Write + Send>;

/// Starts the writer thread over `outputs` (stderr, then stdout, for the server) and returns
/// the `MakeWriter` for `tracing` and the guard that flushes at exit. Also used by tests with
/// outputs of their own.
pub fn writer(outputs: Vec<(&'static str, Output)>) -> (LogWriter, LogGuard) {
    writer_with(outputs, Escape::All)
}

/// [`writer`], escaping as `escape` says.
pub fn writer_with(outputs: Vec<(&'static str, Output)>, escape: Escape) -> (LogWriter, LogGuard) {
    let shared = Arc::new(Shared {
        pending: Mutex::new(Pending::default()),
        wake: Condvar::new(),
        flushed: Condvar::new(),
        dropped: AtomicU64::new(0),
        escape,
    });
    let thread_shared = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || write_batches(&thread_shared, Outputs::new(outputs)));
    if spawned.is_err() {
        // No thread, no log: lines fill the buffer and are then dropped (and counted);
        // serving goes on.
        drop(spawned);
    }
    (
        LogWriter {
            shared: shared.clone(),
        },
        LogGuard { shared },
    )
}

/// The writer thread: takes every buffered line at once, hands the batch to the outputs,
/// answers flushes, and lets the next lines gather for [`GATHER`] after a batch.
fn write_batches(shared: &Shared, mut outputs: Outputs) {
    let mut batch = Vec::new();
    loop {
        let flush_to = {
            let mut pending = shared.lock();
            while pending.buf.is_empty() && pending.flush_asked == pending.flush_done {
                pending.writer_idle = true;
                pending = shared
                    .wake
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            pending.writer_idle = false;
            std::mem::swap(&mut pending.buf, &mut batch);
            pending.lines = 0;
            (pending.flush_asked > pending.flush_done).then_some(pending.flush_asked)
        };
        let wrote = !batch.is_empty();
        if wrote {
            outputs.deliver(&batch, &shared.dropped);
        }
        batch.clear();
        // A burst can grow the buffer to its limit; keep a modest one between bursts.
        batch.shrink_to(64 * 1024);
        match flush_to {
            Some(asked) => {
                outputs.flush();
                shared.lock().flush_done = asked;
                shared.flushed.notify_all();
            }
            None if wrote => std::thread::sleep(GATHER),
            None => {}
        }
    }
}

/// The outputs and what the writer remembers about them between batches.
struct Outputs {
    list: Vec<(&'static str, Output)>,
    /// A failed write left part of a line on this output: the next write starts with a
    /// newline, so the fragment does not run into the next line.
    torn: Vec<bool>,
    /// Why the first output (stderr) fails, while it does; lines go to the next meanwhile.
    first_failing: Option<String>,
    /// The move to the next output was said there in this failure.
    move_said: bool,
    /// Dropped lines already reported in the log.
    reported: u64,
}

impl Outputs {
    fn new(list: Vec<(&'static str, Output)>) -> Self {
        Self {
            torn: vec![false; list.len()],
            list,
            first_failing: None,
            move_said: false,
            reported: 0,
        }
    }

    /// Writes `batch` (whole lines) to the first output that takes it, starting with the
    /// first output every time, so an output that failed is tried again. What no output
    /// takes is counted as dropped.
    fn deliver(&mut self, batch: &[u8], dropped: &AtomicU64) {
        let mut rest = batch;
        let first = self.list.first().map_or("stderr", |(name, _)| *name);
        for index in 0..self.list.len() {
            if rest.is_empty() {
                break;
            }
            let dropped_now = dropped.load(Ordering::Relaxed);
            let notes = self.notes(index, first, dropped_now);
            let torn = self.torn.get(index).copied().unwrap_or(false);
            let Some((_, out)) = self.list.get_mut(index) else {
                break;
            };
            let newline: &[u8] = if torn { b"\n" } else { b"" };
            let head = newline.len() + notes.len();
            let (written, failure) = write_parts(out, &[newline, notes.as_bytes(), rest]);
            if written > 0 {
                let last = if written > head {
                    rest.get(written - head - 1).copied()
                } else if written > newline.len() {
                    notes.as_bytes().get(written - newline.len() - 1).copied()
                } else {
                    Some(b'\n')
                };
                if let Some(flag) = self.torn.get_mut(index) {
                    *flag = last != Some(b'\n');
                }
            }
            match failure {
                None => {
                    let _ = out.flush();
                    if !notes.is_empty() {
                        self.reported = dropped_now;
                    }
                    if index == 0 {
                        self.first_failing = None;
                        self.move_said = false;
                    } else if self.first_failing.is_some() {
                        self.move_said = true;
                    }
                    return;
                }
                Some(err) => {
                    // Whole lines that got through stay written; the rest (with the line
                    // that was cut, if one was) goes to the next output.
                    let taken = written.saturating_sub(head).min(rest.len());
                    if let Some(end) = rest
                        .get(..taken)
                        .and_then(|w| w.iter().rposition(|&b| b == b'\n'))
                    {
                        rest = rest.get(end + 1..).unwrap_or_default();
                    }
                    if index == 0 && self.first_failing.is_none() {
                        self.first_failing = Some(err.to_string());
                    }
                }
            }
        }
        let lost = rest.iter().filter(|&&b| b == b'\n').count() as u64;
        if lost > 0 {
            dropped.fetch_add(lost, Ordering::Relaxed);
        }
    }

    /// The log's own lines to write before a batch on output `index`: that the log moved
    /// here (once), how many lines were dropped, that the first output works again.
    fn notes(&self, index: usize, first: &str, dropped_now: u64) -> String {
        let mut notes = String::new();
        let name = self.list.get(index).map_or("?", |(name, _)| *name);
        if index > 0 && !self.move_said {
            if let Some(err) = &self.first_failing {
                let _ = writeln!(
                    notes,
                    "log: writing to {first} failed ({err}); the log continues on {name}"
                );
            }
        }
        let unreported = dropped_now.saturating_sub(self.reported);
        let recovering = index == 0 && self.first_failing.is_some();
        match (unreported > 0, recovering) {
            (true, false) => {
                let _ = writeln!(
                    notes,
                    "log: {unreported} line(s) dropped: the log output was full or failing"
                );
            }
            (true, true) => {
                let _ = writeln!(
                    notes,
                    "log: {unreported} line(s) dropped: the log output was full or failing; writing to {name} works again"
                );
            }
            (false, true) => {
                let _ = writeln!(
                    notes,
                    "log: writing to {name} works again (the lines in between went to the next output)"
                );
            }
            (false, false) => {}
        }
        notes
    }

    fn flush(&mut self) {
        for (_, out) in &mut self.list {
            let _ = out.flush();
        }
    }
}

/// Writes `parts` in order; returns how many bytes went through and, if not all, why.
fn write_parts(out: &mut Output, parts: &[&[u8]]) -> (usize, Option<std::io::Error>) {
    let mut written = 0;
    for part in parts {
        let mut part: &[u8] = part;
        while !part.is_empty() {
            match out.write(part) {
                Ok(0) => {
                    return (
                        written,
                        Some(std::io::Error::from(std::io::ErrorKind::WriteZero)),
                    )
                }
                Ok(n) => {
                    written += n;
                    part = part.get(n..).unwrap_or_default();
                }
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(err) => return (written, Some(err)),
            }
        }
    }
    (written, None)
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
            if let Some(code) = body.get(at..).and_then(colour_code_len) {
                out.push_str(body.get(at..at + code).unwrap_or_default());
                for _ in 1..code {
                    chars.next();
                }
                continue;
            }
        }
        let control = (c as u32) < 0x20 || c == '\u{7f}';
        match c {
            _ if escape == Escape::Json && (control || is_c1_or_bidi(c)) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if control => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_c1_or_bidi(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
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

/// `value` in decimal, zero-padded to `width` digits (at most 20).
fn push_decimal(out: &mut Vec<u8>, value: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut rest = value;
    let mut len = 0;
    // From the last digit back; dividing by the constant 10 is a multiplication.
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
        len += 1;
        if rest == 0 && len >= width {
            break;
        }
    }
    out.extend_from_slice(digits.get(digits.len() - len..).unwrap_or_default());
}

/// `at` as RFC 3339 UTC with microseconds (`2026-12-01T03:39:16.844226Z`), as every line
/// starts.
fn push_timestamp(out: &mut Vec<u8>, at: SystemTime) {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, day_secs) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    push_decimal(out, year, 4);
    out.push(b'-');
    push_decimal(out, month, 2);
    out.push(b'-');
    push_decimal(out, day, 2);
    out.push(b'T');
    push_decimal(out, day_secs / 3600, 2);
    out.push(b':');
    push_decimal(out, day_secs / 60 % 60, 2);
    out.push(b':');
    push_decimal(out, day_secs % 60, 2);
    out.push(b'.');
    push_decimal(out, u64::from(since.subsec_micros()), 6);
    out.push(b'Z');
}

fn timestamp(at: SystemTime) -> String {
    let mut out = Vec::with_capacity(27);
    push_timestamp(&mut out, at);
    String::from_utf8(out).unwrap_or_default()
}

/// `text` as a JSON string (quotes included).
fn push_json_str(out: &mut Vec<u8>, text: &str) {
    match serde_json::to_writer(&mut *out, text) {
        Ok(()) => {}
        Err(_) => out.extend_from_slice(b"\"\""),
    }
}

/// The access line of one request (see [`access`]).
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    pub method: &'a str,
    /// The route template (`/api/v1/workspaces/{id}`), never the path as sent.
    pub route: &'a str,
    pub status: u16,
    pub elapsed: Duration,
    pub request_id: &'a str,
    /// The client's IP as the guard decided it (`-` when the request never reached it).
    pub client_ip: &'a str,
    /// The `User-Agent` header as sent (at most [`USER_AGENT_CHARS`] characters), or `-`.
    pub user_agent: &'a str,
}

/// The most characters of a user agent an access line keeps.
pub const USER_AGENT_CHARS: usize = 200;

/// `text` in double quotes, with `"` and `\` escaped (control characters are escaped with the
/// rest of the line).
fn push_quoted(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            out.push(b'\\');
        }
        let mut bytes = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut bytes).as_bytes());
    }
    out.push(b'"');
}

impl Access<'_> {
    /// The line as the text format writes it (`… INFO request method=… route=… …`).
    fn push_text(&self, out: &mut Vec<u8>, at: SystemTime) {
        push_timestamp(out, at);
        out.extend_from_slice(b"  INFO request method=");
        out.extend_from_slice(self.method.as_bytes());
        out.extend_from_slice(b" route=");
        out.extend_from_slice(self.route.as_bytes());
        out.extend_from_slice(b" status=");
        push_decimal(out, u64::from(self.status), 1);
        out.extend_from_slice(b" duration_ms=");
        self.push_duration(out);
        out.extend_from_slice(b" request_id=");
        out.extend_from_slice(self.request_id.as_bytes());
        out.extend_from_slice(b" client_ip=");
        out.extend_from_slice(self.client_ip.as_bytes());
        out.extend_from_slice(b" user_agent=");
        push_quoted(out, self.user_agent);
        out.push(b'\n');
    }

    /// The line as the JSON format writes it.
    fn push_json(&self, out: &mut Vec<u8>, at: SystemTime) {
        out.extend_from_slice(b"{\"timestamp\":\"");
        push_timestamp(out, at);
        out.extend_from_slice(
            b"\",\"level\":\"INFO\",\"fields\":{\"message\":\"request\",\"method\":",
        );
        push_json_str(out, self.method);
        out.extend_from_slice(b",\"route\":");
        push_json_str(out, self.route);
        out.extend_from_slice(b",\"status\":");
        push_decimal(out, u64::from(self.status), 1);
        out.extend_from_slice(b",\"duration_ms\":");
        self.push_duration(out);
        out.extend_from_slice(b",\"request_id\":");
        push_json_str(out, self.request_id);
        out.extend_from_slice(b",\"client_ip\":");
        push_json_str(out, self.client_ip);
        out.extend_from_slice(b",\"user_agent\":");
        push_json_str(out, self.user_agent);
        out.extend_from_slice(b"},\"target\":\"access\"}\n");
    }

    /// Milliseconds with three decimals (microseconds).
    fn push_duration(&self, out: &mut Vec<u8>) {
        let micros = u64::try_from(self.elapsed.as_micros()).unwrap_or(u64::MAX);
        push_decimal(out, micros / 1000, 1);
        out.push(b'.');
        push_decimal(out, micros % 1000, 3);
    }

    /// The same milliseconds as text (no float noise such as `0.8166140000000001`).
    fn duration_ms(&self) -> String {
        let mut out = Vec::with_capacity(16);
        self.push_duration(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// How access lines are written by the installed log.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AccessFormat {
    Text,
    Json,
    /// Through `tracing` (colours on a terminal, where speed does not matter).
    Tracing,
}

/// The process's log, once [`init`] has run.
struct Installed {
    shared: Arc<Shared>,
    access: AccessFormat,
}

static INSTALLED: OnceLock<Installed> = OnceLock::new();

thread_local! {
    /// Where a thread formats its access lines (kept, so formatting allocates nothing).
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(256));
}

/// Logs the access line of one request (target `access`, level INFO, filtered by `RUST_LOG`
/// like any other line): formatted by hand into a buffer the thread keeps and appended to the
/// log, which costs a fraction of an event through `tracing`'s formatter.
pub fn access(line: &Access<'_>) {
    if !tracing::enabled!(target: "access", Level::INFO) {
        return;
    }
    let installed = INSTALLED.get();
    let format = installed.map_or(AccessFormat::Tracing, |i| i.access);
    match (installed, format) {
        (Some(installed), AccessFormat::Text | AccessFormat::Json) => {
            let now = SystemTime::now();
            let pushed = SCRATCH.try_with(|scratch| {
                let Ok(mut buf) = scratch.try_borrow_mut() else {
                    return false;
                };
                buf.clear();
                if format == AccessFormat::Json {
                    line.push_json(&mut buf, now);
                } else {
                    line.push_text(&mut buf, now);
                }
                installed.shared.push(&buf);
                true
            });
            if pushed != Ok(true) {
                let mut buf = Vec::with_capacity(256);
                line.push_text(&mut buf, now);
                installed.shared.push(&buf);
            }
        }
        _ => tracing::info!(
            target: "access",
            method = line.method,
            route = line.route,
            status = line.status,
            duration_ms = %line.duration_ms(),
            request_id = line.request_id,
            client_ip = line.client_ip,
            user_agent = line.user_agent,
            "request"
        ),
    }
}

/// Lines the process's log has dropped so far (0 before [`init`]).
pub fn lines_dropped() -> u64 {
    INSTALLED
        .get()
        .map_or(0, |i| i.shared.dropped.load(Ordering::Relaxed))
}

/// How events are laid out: the text or the JSON line, with the request being served.
struct EventFormat {
    json: bool,
}

/// The request an event was logged in, as a line shows it.
struct RequestContext {
    method: String,
    path: String,
    request_id: String,
}

fn request_context(event: &Event<'_>) -> Option<RequestContext> {
    // The access line names its request already.
    if event.metadata().target() == "access" {
        return None;
    }
    app::web::request::with_current(|info| RequestContext {
        method: info.method.to_string(),
        path: info.uri.path().to_owned(),
        request_id: String::from_utf8_lossy(info.id.as_bytes()).into_owned(),
    })
}

impl<S, N> FormatEvent<S, N> for EventFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let now = timestamp(SystemTime::now());
        let meta = event.metadata();
        let request = request_context(event);
        if self.json {
            let mut fields = JsonFields::default();
            event.record(&mut fields);
            let mut line = serde_json::Map::new();
            line.insert("timestamp".into(), now.into());
            line.insert("level".into(), meta.level().as_str().into());
            line.insert("fields".into(), fields.0.into());
            line.insert("target".into(), meta.target().into());
            if let Some(r) = request {
                line.insert(
                    "span".into(),
                    serde_json::json!({"method": r.method, "path": r.path,
                                       "request_id": r.request_id, "name": "request"}),
                );
            }
            let text = serde_json::to_string(&line).map_err(|_| std::fmt::Error)?;
            return writeln!(writer, "{text}");
        }
        let level = meta.level();
        if writer.has_ansi_escapes() {
            let colour = match *level {
                Level::ERROR => "31",
                Level::WARN => "33",
                Level::INFO => "32",
                Level::DEBUG => "34",
                Level::TRACE => "35",
            };
            write!(
                writer,
                "\x1b[2m{now}\x1b[0m \x1b[{colour}m{:>5}\x1b[0m ",
                level.as_str()
            )?;
        } else {
            write!(writer, "{now} {:>5} ", level.as_str())?;
        }
        if let Some(r) = request {
            write!(
                writer,
                "request{{method={} path={} request_id={}}}: ",
                r.method, r.path, r.request_id
            )?;
        }
        ctx.format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// An event's fields as a JSON object (`message` included), as `tracing`'s JSON format has
/// them.
#[derive(Default)]
struct JsonFields(serde_json::Map<String, serde_json::Value>);

impl Visit for JsonFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
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
    let (escape, access) = match (format, colour) {
        (LogFormat::Json, _) => (Escape::Json, AccessFormat::Json),
        (LogFormat::Text, true) => (Escape::KeepColour, AccessFormat::Tracing),
        (LogFormat::Text, false) => (Escape::All, AccessFormat::Text),
    };
    let (writer, guard) = writer_with(
        vec![
            ("stderr", Box::new(std::io::stderr())),
            ("stdout", Box::new(std::io::stdout())),
        ],
        escape,
    );
    let _ = INSTALLED.set(Installed {
        shared: writer.shared.clone(),
        access,
    });
    // A second init (in tests) is harmless: keep the first subscriber. The formatter may not
    // print its own errors: `eprintln!` panics when stderr is unwritable.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        // Before `event_format`, which keeps it (the method exists on the default format).
        .log_internal_errors(false)
        .event_format(EventFormat {
            json: format == LogFormat::Json,
        })
        .with_writer(writer)
        .try_init();
    guard
}

/// The default log filter of the server: its own lines at `info`, the libraries' warnings.
pub const SERVER_FILTER: &str = "info,sqlx=warn,tower_sessions=warn,leptos=warn";

#[cfg(test)]
mod tests {
    use super::*;

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
    fn only_plain_ascii_skips_escaping() {
        assert!(!needs_escaping(b"a plain line\n", Escape::All));
        assert!(needs_escaping(b"a\rb\n", Escape::All));
        assert!(needs_escaping("caf\u{e9}\n".as_bytes(), Escape::All));
        assert!(needs_escaping(b"a\x1b[31mb\n", Escape::KeepColour));
        assert!(needs_escaping(b"a\nb\n", Escape::Json));
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

    #[test]
    fn decimals_are_zero_padded() {
        for (value, width, expected) in [
            (0, 1, "0"),
            (7, 3, "007"),
            (1234, 2, "1234"),
            (u64::MAX, 1, "18446744073709551615"),
        ] {
            let mut out = Vec::new();
            push_decimal(&mut out, value, width);
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        for secs in [
            0u64,
            951_782_400,
            1_796_182_756,
            4_102_444_799,
            253_402_300_799,
        ] {
            let at = UNIX_EPOCH + Duration::new(secs, 844_226_123);
            let expected = chrono::DateTime::<chrono::Utc>::from(at)
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string();
            assert_eq!(timestamp(at), expected);
        }
    }

    #[test]
    fn access_lines_in_both_formats() {
        let line = Access {
            method: "GET",
            route: "/api/v1/workspaces/{id}",
            status: 404,
            elapsed: Duration::from_nanos(1_234_567),
            request_id: "abc-1",
            client_ip: "203.0.113.9",
            user_agent: "Mozilla/5.0 \"quoted\"",
        };
        let at = UNIX_EPOCH + Duration::new(1_796_182_756, 844_226_000);
        let mut text = Vec::new();
        line.push_text(&mut text, at);
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "2026-12-02T03:39:16.844226Z  INFO request method=GET route=/api/v1/workspaces/{id} status=404 duration_ms=1.234 request_id=abc-1 client_ip=203.0.113.9 user_agent=\"Mozilla/5.0 \\\"quoted\\\"\"\n"
        );
        let mut json = Vec::new();
        line.push_json(&mut json, at);
        let parsed: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({"timestamp": "2026-12-02T03:39:16.844226Z", "level": "INFO",
                "target": "access", "fields": {"message": "request", "method": "GET",
                "route": "/api/v1/workspaces/{id}", "status": 404, "duration_ms": 1.234,
                "request_id": "abc-1", "client_ip": "203.0.113.9",
                "user_agent": "Mozilla/5.0 \"quoted\""}})
        );
    }

    /// An output that fails every write while `failing` is set, after taking `room` bytes.
    #[derive(Clone, Default)]
    struct Disk {
        kept: Arc<Mutex<Vec<u8>>>,
        failing: Arc<std::sync::atomic::AtomicBool>,
        room: Arc<std::sync::atomic::AtomicUsize>,
    }
    impl Write for Disk {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if self.failing.load(Ordering::SeqCst) {
                let room = self.room.swap(0, Ordering::SeqCst);
                if room == 0 {
                    return Err(std::io::Error::other("no space left"));
                }
                let n = room.min(bytes.len());
                self.kept.lock().unwrap().extend_from_slice(&bytes[..n]);
                return Ok(n);
            }
            self.kept.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Disk {
        fn text(&self) -> String {
            String::from_utf8(self.kept.lock().unwrap().clone()).unwrap()
        }
        fn broken() -> Self {
            let disk = Disk::default();
            disk.failing.store(true, Ordering::SeqCst);
            disk
        }
    }

    fn log(writer: &LogWriter, text: &str) {
        let mut line = writer.make_writer();
        line.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn a_failing_output_moves_the_log_to_the_next_and_says_so_once() {
        let kept = Disk::default();
        let (writer, guard) = writer(vec![
            ("stderr", Box::new(Disk::broken())),
            ("stdout", Box::new(kept.clone())),
        ]);
        log(&writer, "one\n");
        guard.flush(Duration::from_secs(10));
        log(&writer, "two\n");
        guard.flush(Duration::from_secs(10));
        assert_eq!(
            kept.text(),
            "log: writing to stderr failed (no space left); the log continues on stdout\none\ntwo\n"
        );
    }

    #[test]
    fn an_output_that_failed_is_tried_again_and_says_how_many_lines_were_lost() {
        // stderr and stdout are one full disk, as with `>log 2>&1`.
        let disk = Disk::default();
        let (writer, guard) = writer(vec![
            ("stderr", Box::new(disk.clone())),
            ("stdout", Box::new(disk.clone())),
        ]);
        log(&writer, "before\n");
        guard.flush(Duration::from_secs(10));
        disk.failing.store(true, Ordering::SeqCst);
        // The disk takes 3 more bytes: a line is cut.
        disk.room.store(3, Ordering::SeqCst);
        for i in 0..5 {
            log(&writer, &format!("lost {i}\n"));
            guard.flush(Duration::from_secs(10));
        }
        assert_eq!(writer.shared.dropped.load(Ordering::Relaxed), 5);
        disk.failing.store(false, Ordering::SeqCst);
        log(&writer, "after\n");
        guard.flush(Duration::from_secs(10));
        assert_eq!(
            disk.text(),
            "before\nlos\nlog: 5 line(s) dropped: the log output was full or failing; writing to stderr works again\nafter\n"
        );
        log(&writer, "later\n");
        guard.flush(Duration::from_secs(10));
        assert!(disk.text().ends_with("works again\nafter\nlater\n"));
    }

    #[test]
    fn stderr_that_works_again_takes_the_log_back() {
        let stderr = Disk::broken();
        let stdout = Disk::default();
        let (writer, guard) = writer(vec![
            ("stderr", Box::new(stderr.clone())),
            ("stdout", Box::new(stdout.clone())),
        ]);
        log(&writer, "one\n");
        guard.flush(Duration::from_secs(10));
        stderr.failing.store(false, Ordering::SeqCst);
        log(&writer, "two\n");
        guard.flush(Duration::from_secs(10));
        assert_eq!(
            stdout.text(),
            "log: writing to stderr failed (no space left); the log continues on stdout\none\n"
        );
        assert_eq!(
            stderr.text(),
            "log: writing to stderr works again (the lines in between went to the next output)\ntwo\n"
        );
    }

    #[test]
    fn a_blocked_output_never_blocks_the_caller_and_drops_are_counted() {
        // An output that blocks until released: the buffer fills, then lines are dropped.
        let (release, released) = std::sync::mpsc::sync_channel::<()>(0);
        struct Blocked(std::sync::mpsc::Receiver<()>, Disk);
        impl Write for Blocked {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                let _ = self.0.recv();
                self.1.write(bytes)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let kept = Disk::default();
        let (writer, guard) = writer(vec![("stderr", Box::new(Blocked(released, kept.clone())))]);
        for i in 0..2 * PENDING_LINES + 100 {
            log(&writer, &format!("line {i}\n"));
        }
        assert!(writer.shared.dropped.load(Ordering::Relaxed) >= 100);
        drop(release);
        guard.flush(Duration::from_secs(10));
        log(&writer, "last\n");
        guard.flush(Duration::from_secs(10));
        let text = kept.text();
        assert!(text.contains("line(s) dropped"), "{text}");
        assert!(text.ends_with("last\n"), "{text}");
    }
}
