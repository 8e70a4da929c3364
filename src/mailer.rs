//! The lettre adapter for [`app::ports::Mailer`]: SMTP when `SMTP_URL` is set, otherwise
//! `.eml` files in an outbox folder so a newcomer can finish sign-up without a mail server.
use std::path::PathBuf;

use anyhow::Context as _;
use app::ports::{MailError, Mailer, OutgoingEmail};
use async_trait::async_trait;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

pub struct LettreMailer {
    from: Mailbox,
    transport: Transport,
}

impl LettreMailer {
    pub fn smtp(url: &str, from: &str) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("SMTP_URL is not a valid smtp:// or smtps:// URL")?
            .build();
        Ok(Self {
            from: from
                .parse()
                .context("TERMINUS_MAIL_FROM is not a valid mailbox")?,
            transport: Transport::Smtp(transport),
        })
    }

    pub fn outbox(dir: PathBuf, from: &str) -> anyhow::Result<Self> {
        crate::files::private_dir(&dir)
            .with_context(|| format!("creating outbox {}", dir.display()))?;
        Ok(Self {
            from: from
                .parse()
                .context("TERMINUS_MAIL_FROM is not a valid mailbox")?,
            transport: Transport::Outbox(AsyncFileTransport::new(&dir), dir),
        })
    }

    fn message(&self, email: &OutgoingEmail) -> Result<Message, MailError> {
        let to: Mailbox = email
            .to
            .as_str()
            .parse()
            .map_err(|e| MailError(format!("recipient: {e}")))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(email.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(email.html.clone()),
                    ),
            )
            .map_err(|e| MailError(e.to_string()))
    }
}

#[async_trait]
impl Mailer for LettreMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let message = self.message(email)?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message)
                    .await
                    .map_err(|e| MailError(e.to_string()))?;
                // Never the body: it carries one-time links.
                tracing::info!(subject = %email.subject, "email sent over SMTP");
            }
            Transport::Outbox(files, dir) => {
                let id = files
                    .send(message)
                    .await
                    .map_err(|e| MailError(e.to_string()))?;
                let file = dir.join(format!("{id}.eml"));
                // Mails carry one-time links: readable by the server's user only.
                crate::files::private_file(&file).map_err(|e| MailError(e.to_string()))?;
                tracing::info!(subject = %email.subject, file = %file.display(), "email written to the outbox (no SMTP_URL set)");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::email::EmailAddress;

    #[tokio::test]
    async fn without_smtp_mail_lands_in_the_outbox_as_eml() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = dir.path().join("outbox");
        let mailer =
            LettreMailer::outbox(outbox.clone(), "Terminus Hub <no-reply@localhost>").unwrap();
        let to = EmailAddress::parse("newcomer@example.com").unwrap();
        let mail = app::mails::confirm_email(&to, "http://127.0.0.1:3000/confirm?token=abc");
        mailer.send(&mail).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(&outbox)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
        let text = std::fs::read_to_string(&files[0]).unwrap();
        assert!(text.contains("Subject: Confirm your email address"));
        assert!(text.contains("To: newcomer@example.com"));
        assert!(text.contains("multipart/alternative") && text.contains("text/html"));
    }
}
