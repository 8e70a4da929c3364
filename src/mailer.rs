//! The lettre adapter for [`app::ports::Mailer`]: SMTP when `SMTP_URL` is set, otherwise
//! `.eml` files in an outbox folder so a newcomer can finish sign-up without a mail server.
//!
//! Outbox files are meant to be read with `cat`: the text part is 8-bit (never
//! quoted-printable, so a link is whole on one line), and the names sort by time and say what
//! the mail is, e.g. `20261201T031500Z-0001-confirm-your-email-address.eml`. They are created
//! with mode 0600 (mails carry one-time links). `terminus-hub outbox` lists them
//! ([`read_outbox`]).
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use app::ports::{MailError, Mailer, OutgoingEmail};
use async_trait::async_trait;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::redact_url;

/// How long one SMTP exchange may take before the mail counts as failed.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

enum Transport {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// The URL for messages and the start-up check, without credentials.
        shown: String,
        url: String,
    },
    Outbox(PathBuf),
}

pub struct LettreMailer {
    from: Mailbox,
    transport: Transport,
    /// Outbox file numbers, so names written in the same second still sort in order.
    sequence: AtomicU32,
}

/// Where one mail went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted by the SMTP server (shown without credentials).
    Smtp(String),
    /// Written to this outbox file.
    Outbox(PathBuf),
}

impl LettreMailer {
    /// Shows both mail counters (at 0) from the start, so a dashboard finds the series.
    fn register_counters(transport: &'static str) {
        for name in ["terminus_mails_sent_total", "terminus_mails_failed_total"] {
            metrics::counter!(name, "transport" => transport).increment(0);
        }
    }

    pub fn smtp(url: &str, from: &str) -> anyhow::Result<Self> {
        Self::register_counters("smtp");
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("SMTP_URL is not a valid smtp:// or smtps:// URL")?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Self {
            from: parse_from(from)?,
            transport: Transport::Smtp {
                transport,
                shown: redact_url(url),
                url: url.to_owned(),
            },
            sequence: AtomicU32::new(0),
        })
    }

    pub fn outbox(dir: PathBuf, from: &str) -> anyhow::Result<Self> {
        Self::register_counters("outbox");
        crate::files::private_dir(&dir)
            .with_context(|| format!("creating outbox {}", dir.display()))?;
        Ok(Self {
            from: parse_from(from)?,
            transport: Transport::Outbox(dir),
            sequence: AtomicU32::new(0),
        })
    }

    /// Connects to the SMTP server and says hello, within `limit`: `None` without SMTP,
    /// else what went wrong (a start-up warning, never a reason not to start).
    pub async fn check_smtp(&self, limit: Duration) -> Option<Result<(), String>> {
        let Transport::Smtp { url, shown, .. } = &self.transport else {
            return None;
        };
        let probe: AsyncSmtpTransport<Tokio1Executor> =
            match AsyncSmtpTransport::<Tokio1Executor>::from_url(url) {
                Ok(builder) => builder.timeout(Some(limit)).build(),
                Err(err) => return Some(Err(format!("{shown}: {err}"))),
            };
        let outcome = tokio::time::timeout(limit, probe.test_connection()).await;
        Some(match outcome {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(format!(
                "{shown} answered, but not as an SMTP server should"
            )),
            Ok(Err(err)) => Err(format!("{shown}: {err}")),
            Err(_) => Err(format!("{shown}: no answer within {} s", limit.as_secs())),
        })
    }

    /// Where mail goes, for messages ("SMTP server smtp://…" or "the outbox data/outbox").
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp { shown, .. } => format!("the SMTP server {shown}"),
            Transport::Outbox(dir) => format!("the outbox {}", dir.display()),
        }
    }

    fn message(&self, email: &OutgoingEmail, readable: bool) -> Result<Message, MailError> {
        let to: Mailbox = email
            .to
            .as_str()
            .parse()
            .map_err(|e| MailError(format!("recipient: {e}")))?;
        // In the outbox, 8-bit parts: lines (and links) stay whole and `=` stays `=`. Over
        // SMTP, lettre picks the encoding every server accepts.
        let part = |kind: ContentType, body: String| {
            let body = match readable {
                true => eight_bit(body),
                false => Body::new(body),
            };
            SinglePart::builder().header(kind).body(body)
        };
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .multipart(
                MultiPart::alternative()
                    .singlepart(part(ContentType::TEXT_PLAIN, email.text.clone()))
                    .singlepart(part(ContentType::TEXT_HTML, email.html.clone())),
            )
            .map_err(|e| MailError(e.to_string()))
    }

    /// Sends one mail and says where it went; counts it as sent or failed.
    pub async fn deliver(&self, email: &OutgoingEmail) -> Result<Delivery, MailError> {
        let transport = match &self.transport {
            Transport::Smtp { .. } => "smtp",
            Transport::Outbox(_) => "outbox",
        };
        let outcome = self.deliver_uncounted(email).await;
        let name = match outcome {
            Ok(_) => "terminus_mails_sent_total",
            Err(_) => "terminus_mails_failed_total",
        };
        metrics::counter!(name, "transport" => transport).increment(1);
        outcome
    }

    async fn deliver_uncounted(&self, email: &OutgoingEmail) -> Result<Delivery, MailError> {
        match &self.transport {
            Transport::Smtp {
                transport, shown, ..
            } => {
                transport
                    .send(self.message(email, false)?)
                    .await
                    .map_err(|e| MailError(e.to_string()))?;
                // Never the body: it carries one-time links.
                tracing::info!(subject = %email.subject, "email sent over SMTP");
                Ok(Delivery::Smtp(shown.clone()))
            }
            Transport::Outbox(dir) => {
                let bytes = self.message(email, true)?.formatted();
                let file = self.write_outbox_file(dir, &email.subject, &bytes).await?;
                tracing::info!(subject = %email.subject, file = %file.display(), "email written to the outbox (no SMTP_URL set)");
                Ok(Delivery::Outbox(file))
            }
        }
    }

    /// Writes a new file (never replacing one: another process may write the same second),
    /// readable by the server's user only.
    async fn write_outbox_file(
        &self,
        dir: &Path,
        subject: &str,
        bytes: &[u8],
    ) -> Result<PathBuf, MailError> {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let slug = slug(subject);
        loop {
            let n = self.sequence.fetch_add(1, Ordering::Relaxed) % 10_000 + 1;
            let file = dir.join(format!("{stamp}-{n:04}-{slug}.eml"));
            let mut open = tokio::fs::OpenOptions::new();
            open.write(true).create_new(true);
            #[cfg(unix)]
            open.mode(0o600);
            match open.open(&file).await {
                Ok(mut out) => {
                    use tokio::io::AsyncWriteExt as _;
                    out.write_all(bytes)
                        .await
                        .and(out.flush().await)
                        .map_err(|e| MailError(format!("writing {}: {e}", file.display())))?;
                    return Ok(file);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(MailError(format!("creating {}: {e}", file.display()))),
            }
        }
    }
}

/// `text` as an 8-bit body: lines ended by CRLF, and sent as they are. lettre's own choice
/// would quote-print any line of 76 characters or more, which splits links; RFC 5322 allows
/// lines of up to 998 bytes, and a body with a longer one (an HTML part on one line) gets
/// lettre's choice after all.
fn eight_bit(text: String) -> Body {
    const MAX_LINE: usize = 998;
    if text.contains('\0') || text.lines().any(|line| line.len() > MAX_LINE) {
        return Body::new(text);
    }
    let crlf: String = text.lines().flat_map(|line| [line, "\r\n"]).collect();
    Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::EightBit)
}

fn parse_from(from: &str) -> anyhow::Result<Mailbox> {
    from.parse()
        .context("TERMINUS_MAIL_FROM is not a valid mailbox")
}

/// What a mail is, for its file name: the subject in lower-case ASCII words joined by `-`.
fn slug(subject: &str) -> String {
    let mut out = String::new();
    for c in subject.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 60 {
            break;
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "mail".to_owned()
    } else {
        out.to_owned()
    }
}

#[async_trait]
impl Mailer for LettreMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        self.deliver(email).await.map(|_| ())
    }
}

/// One mail of the outbox, as `terminus-hub outbox` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub file: PathBuf,
    pub to: String,
    pub subject: String,
    /// Every distinct `http(s)://` link in the mail, in order.
    pub links: Vec<String>,
}

/// The newest `limit` mails of the outbox, oldest first (names sort by time). Files of older
/// versions (random names, quoted-printable) are read too.
pub fn read_outbox(dir: &Path, limit: usize) -> anyhow::Result<Vec<OutboxEntry>> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    // Old random names sort by modification time; new names by name (the same order).
    files.sort_by_key(|p| {
        (
            std::fs::metadata(p).and_then(|m| m.modified()).ok(),
            p.clone(),
        )
    });
    let skip = files.len().saturating_sub(limit);
    files
        .into_iter()
        .skip(skip)
        .map(|file| {
            let raw =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            Ok(parse_mail(file, &String::from_utf8_lossy(&raw)))
        })
        .collect()
}

fn parse_mail(file: PathBuf, text: &str) -> OutboxEntry {
    let header = |name: &str| {
        text.lines()
            .take_while(|l| !l.trim().is_empty())
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let body = if text.contains("quoted-printable") {
        decode_quoted_printable(text)
    } else {
        text.to_owned()
    };
    let mut links: Vec<String> = Vec::new();
    for start in body.match_indices("http").map(|(i, _)| i) {
        let rest = &body[start..];
        if !(rest.starts_with("http://") || rest.starts_with("https://")) {
            continue;
        }
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '<' | '>' | '\''))
            .unwrap_or(rest.len());
        let link = rest[..end]
            .trim_end_matches(['.', ',', ')'])
            .replace("&amp;", "&");
        if !links.contains(&link) {
            links.push(link);
        }
    }
    OutboxEntry {
        file,
        to: header("To"),
        subject: header("Subject"),
        links,
    }
}

/// Enough of RFC 2045's quoted-printable to read links: soft line breaks and `=XX` bytes.
fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&current) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (current, hex) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::email::EmailAddress;

    #[tokio::test]
    async fn without_smtp_mail_lands_in_the_outbox_readable_and_named_by_time_and_subject() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = dir.path().join("outbox");
        let mailer =
            LettreMailer::outbox(outbox.clone(), "Terminus Hub <no-reply@localhost>").unwrap();
        let to = EmailAddress::parse("newcomer@example.com").unwrap();
        let link = format!(
            "http://127.0.0.1:3000/confirm?token={}",
            "A1b2C3d4E5f6G7h8I9j0".repeat(3)
        );
        let mail = app::mails::confirm_email(&to, &link);
        mailer.send(&mail).await.unwrap();
        mailer.send(&mail).await.unwrap();
        let mut files: Vec<_> = std::fs::read_dir(&outbox)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert_eq!(files.len(), 2);
        let name = files[0].file_name().unwrap().to_str().unwrap().to_owned();
        assert!(
            name.ends_with("-0001-confirm-your-email-address.eml"),
            "{name}"
        );
        assert!(
            chrono::NaiveDateTime::parse_from_str(&name[..16], "%Y%m%dT%H%M%SZ").is_ok(),
            "{name} starts with the UTC time"
        );
        assert!(files[1].to_str().unwrap().contains("-0002-"));
        let text = std::fs::read_to_string(&files[0]).unwrap();
        assert!(text.contains("Subject: Confirm your email address"));
        assert!(text.contains("To: newcomer@example.com"));
        assert!(text.contains("multipart/alternative") && text.contains("text/html"));
        assert!(!text.contains("quoted-printable"), "{text}");
        assert!(
            text.lines().any(|l| l.contains(&link)),
            "the link is whole on one line:\n{text}"
        );
        let listed = read_outbox(&outbox, 10).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].links, vec![link.clone()]);
        assert_eq!(listed[0].to, "newcomer@example.com");
        assert_eq!(read_outbox(&outbox, 1).unwrap()[0].file, files[1]);
    }

    #[test]
    fn quoted_printable_files_of_older_versions_are_read_too() {
        let text = "To: a@b.test\r\nSubject: Reset\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nOpen http://h/reset?token=3Dab=\r\ncd now\r\n";
        let entry = parse_mail(PathBuf::from("x.eml"), text);
        assert_eq!(entry.links, vec!["http://h/reset?token=abcd".to_owned()]);
        assert_eq!(entry.subject, "Reset");
    }

    #[test]
    fn slugs() {
        assert_eq!(
            slug("Confirm your email address"),
            "confirm-your-email-address"
        );
        assert_eq!(slug("You're invited to «Acme»!"), "you-re-invited-to-acme");
        assert_eq!(slug("…"), "mail");
    }
}
