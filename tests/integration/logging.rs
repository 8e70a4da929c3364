//! Logging never blocks or fails an answer: the real binary with stderr unwritable from the
//! start, and with stderr a pipe nobody reads. Log lines escape what a request could use to
//! forge or disguise a line.
use std::process::Stdio;

use reqwest::StatusCode;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader, Lines};
use tokio::process::{Child, Command};

use crate::helpers::*;

/// A `terminus-hub serve` process on a fresh SQLite database (the log is what is tested).
struct Server {
    base: String,
    child: Child,
    _dir: tempfile::TempDir,
}

fn command(dir: &std::path::Path, port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_terminus-hub"));
    command
        .arg("serve")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("terminus.db").display()),
        )
        .env("TERMINUS_ADDR", format!("127.0.0.1:{port}"))
        .env("TERMINUS_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("TERMINUS_OUTBOX_DIR", dir.join("outbox"))
        .env("TERMINUS_SECRET_KEY_FILE", dir.join("secret.key"))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Reads lines until one contains `needle`; returns the lines read, that one last.
async fn read_until<R: AsyncRead + Unpin>(
    lines: &mut Lines<BufReader<R>>,
    needle: &str,
) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        match lines.next_line().await.unwrap() {
            Some(line) => {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return seen;
                }
            }
            None => panic!("the log ended before {needle:?}:\n{}", seen.join("\n")),
        }
    }
}

/// A request with a session cookie and another site's Origin: refused (403), and logged
/// with its path, which carries a bidi override and a C1 control (raw UTF-8 in the URL).
async fn cross_site(base: &str) -> String {
    let (head, _) = raw_http(
        base,
        b"POST /_fn/a\xe2\x80\xaeb\xc2\x85c HTTP/1.1\r\nHost: x\r\nCookie: a=b\r\nOrigin: http://evil.example\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    head
}

#[tokio::test]
async fn the_server_serves_with_stderr_unwritable_and_says_so_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full: every write to it fails with ENOSPC");
    let mut child = command(dir.path(), port)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(full))
        .spawn()
        .expect("start terminus-hub");
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let seen = read_until(&mut stdout, "is listening on").await;
    assert!(
        seen[0].starts_with("log: writing to stderr failed")
            && seen[0].contains("continues on stdout"),
        "said once, first: {seen:?}"
    );
    assert_eq!(
        seen.iter()
            .filter(|l| l.contains("writing to stderr failed"))
            .count(),
        1
    );
    let server = Server {
        base: format!("http://127.0.0.1:{port}"),
        child,
        _dir: dir,
    };

    let res = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let head = cross_site(&server.base).await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    let seen = read_until(&mut stdout, "cross-site request refused").await;
    let line = seen.last().unwrap();
    assert!(
        line.contains("a\\u{202e}b\\u{0085}c"),
        "user text is escaped: {line}"
    );
    assert!(
        !line.contains('\u{202e}') && !line.contains('\u{85}'),
        "{line}"
    );
    assert!(
        !seen.iter().any(|l| l.contains("writing to stderr failed")),
        "said only once"
    );
    drop(server.child);
}

#[tokio::test]
async fn answers_never_wait_for_a_log_nobody_reads() {
    const REQUESTS: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = command(dir.path(), port)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start terminus-hub");
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    read_until(&mut stderr, "is listening on").await;
    let server = Server {
        base: format!("http://127.0.0.1:{port}"),
        child,
        _dir: dir,
    };

    // Nobody reads stderr now: the pipe (64 KiB) and the log's buffer (16,384 lines) fill up.
    // Every one of these requests logs two lines, and every one is answered.
    let client = reqwest::Client::new();
    for i in 0..REQUESTS {
        let res = client
            .post(format!("{}/_fn/sign_out", server.base))
            .header("cookie", "a=b")
            .header("origin", "http://evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "request {i}");
    }
    assert_eq!(
        reqwest::get(format!("{}/healthz", server.base))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    // Reading again: the queued lines come out, then how many were dropped.
    let head = cross_site(&server.base).await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    let seen = read_until(&mut stderr, "line(s) dropped").await;
    let note = seen.last().unwrap();
    let dropped: u64 = note
        .trim_start_matches("log: ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // Each request logs two lines: the refusal and its access line.
    assert!(dropped > 0 && dropped < 2 * REQUESTS as u64, "{note}");
    drop(server.child);
}

/// The value of a counter in a Prometheus text exposition (0 when not there yet).
async fn counter(metrics: &str, name: &str) -> u64 {
    let text = reqwest::get(metrics).await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .map_or(0, |value| value.trim().parse().unwrap())
}

/// The log on a small filesystem that fills up and is then freed, stdout and stderr one file
/// (as with `>log 2>&1`, journald or a container's log). While nothing can be written, lines
/// are dropped and counted (the metric), and the server answers as ever; once there is room,
/// the log resumes by itself with one line saying how many were dropped. It used to go silent
/// for good: after a failed write it moved on to stdout, the same full file, and never came
/// back.
#[tokio::test]
async fn the_log_resumes_after_its_disk_was_full_and_says_how_many_lines_were_lost() {
    let tmpfs = crate::faults::Tmpfs::mount_sized("1m");
    let dir = tempfile::tempdir().unwrap();
    let (port, metrics_port) = (free_port(), free_port());
    let path = tmpfs.dir.join("server.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap();
    let mut child = command(dir.path(), port)
        .env("TERMINUS_METRICS_ADDR", format!("127.0.0.1:{metrics_port}"))
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start terminus-hub");
    let base = format!("http://127.0.0.1:{port}");
    let metrics = format!("http://127.0.0.1:{metrics_port}/metrics");
    let read_log = || std::fs::read_to_string(&path).unwrap();
    eventually("the server listens", || {
        assert!(child.try_wait().unwrap().is_none(), "the server stopped");
        std::future::ready(read_log().contains("is listening on"))
    })
    .await;
    let client = reqwest::Client::new();
    let get = |id: String| {
        let client = client.clone();
        let url = format!("{base}/healthz");
        async move {
            let res = client
                .get(url)
                .header("x-request-id", &id)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{id}");
        }
    };

    let filler = tmpfs.fill();
    const WHILE_FULL: usize = 100;
    for i in 0..WHILE_FULL {
        get(format!("while-full-{i}")).await;
    }
    // The file's last page had some room left; the rest of the lines find none.
    eventually("50 lines counted as dropped", || async {
        counter(&metrics, "terminus_log_lines_dropped_total").await >= 50
    })
    .await;

    std::fs::remove_file(filler).unwrap();
    get("after-the-full-disk".into()).await;
    eventually("the log resumes", || {
        std::future::ready(read_log().contains("request_id=after-the-full-disk"))
    })
    .await;
    let text = read_log();
    let notes: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("line(s) dropped"))
        .collect();
    assert_eq!(notes.len(), 1, "said once: {notes:?}");
    let dropped: u64 = notes[0]
        .trim_start_matches("log: ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        counter(&metrics, "terminus_log_lines_dropped_total").await,
        dropped,
        "the metric counts what the log says it dropped"
    );
    let written = (0..WHILE_FULL)
        .filter(|i| {
            // The request id is followed by the client's IP on an access line.
            let id = format!("request_id=while-full-{i} client_ip=");
            text.lines().any(|l| l.contains(&id))
        })
        .count() as u64;
    // Each line was written or counted; a line cut by the full disk is both (its start is in
    // the file), so one may be counted twice.
    assert!(
        (WHILE_FULL as u64..=WHILE_FULL as u64 + 1).contains(&(written + dropped)),
        "{written} written + {dropped} dropped of {WHILE_FULL}"
    );
    let (note_at, after_at) = (
        text.find("line(s) dropped").unwrap(),
        text.find("request_id=after-the-full-disk").unwrap(),
    );
    assert!(note_at < after_at, "the note comes first:\n{text}");
    child.kill().await.unwrap();
    drop(tmpfs);
}
