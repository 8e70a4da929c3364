//! `terminus-hub admin audit export`: the audit trail (of one account, or of the whole hub)
//! as JSON Lines on stdout, oldest first, read a page at a time.
use std::io::Write as _;

use anyhow::Context as _;
use app::domain::clock::Timestamp;
use app::flows::admin::{self, Operator};
use app::flows::Stopped;
use app::AppState;
use clap::{Subcommand, ValueEnum};
use serde_json::json;

use super::output::time;
use super::{refused, Outcome};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print the audit trail as JSON Lines (one event a line: id, at, account_id,
    /// actor_user_id, action, detail), oldest first.
    Export {
        /// Only this account's events: its id (acct_…) or its only owner's email.
        #[arg(long)]
        account: Option<String>,
        /// Only events from then on: a date (2026-01-31, UTC) or an RFC 3339 time.
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// The output format.
        #[arg(long, value_enum, default_value_t = Format::Jsonl)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// JSON Lines: one JSON object a line.
    Jsonl,
}

/// `2026-01-31` (midnight UTC) or an RFC 3339 time.
fn parse_since(input: &str) -> Option<Timestamp> {
    let input = input.trim();
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(input) {
        return Some(Timestamp(at.timestamp_millis()));
    }
    let day = chrono::NaiveDate::parse_from_str(input, "%Y-%m-%d").ok()?;
    Some(Timestamp(
        day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis(),
    ))
}

pub async fn run(command: AuditCommand, state: &AppState) -> anyhow::Result<Outcome> {
    let AuditCommand::Export {
        account,
        since,
        format: Format::Jsonl,
    } = command;
    let since = match since.as_deref() {
        None => None,
        Some(text) => match parse_since(text) {
            Some(at) => Some(at),
            None => {
                return Ok(Outcome::Failed(format!(
                    "--since {text}: use a date (2026-01-31) or an RFC 3339 time (2026-01-31T12:00:00Z)"
                )))
            }
        },
    };
    let operator = Operator::command_line("terminus-hub admin audit export");
    let subject = account.clone().unwrap_or_default();
    let stopped = |stopped: Stopped| -> anyhow::Result<Outcome> {
        match stopped {
            Stopped::Refused(refusal) => Ok(refused(&refusal, &subject)),
            Stopped::Broken(err) => Err(err.into()),
        }
    };
    let mut query =
        match admin::start_audit_export(state, &operator, account.as_deref(), since).await {
            Ok(query) => query,
            Err(err) => return stopped(err),
        };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    loop {
        let page = match admin::next_audit_page(state, &mut query).await {
            Ok(page) => page,
            Err(err) => return stopped(err),
        };
        if page.is_empty() {
            break;
        }
        for entry in page {
            let e = &entry.event;
            let line = json!({
                "id": entry.id,
                "at": time(e.at),
                "account_id": e.account_id.as_ref().map(|id| id.as_str()),
                "actor_user_id": e.actor_user_id.as_ref().map(|id| id.as_str()),
                "action": e.action,
                "detail": e.detail,
            });
            writeln!(out, "{line}").context("writing to stdout")?;
        }
    }
    out.flush().context("writing to stdout")?;
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_date_or_a_time() {
        assert_eq!(parse_since("1970-01-02"), Some(Timestamp(86_400_000)));
        assert_eq!(parse_since("1970-01-01T00:00:01Z"), Some(Timestamp(1000)));
        assert_eq!(parse_since("yesterday"), None);
    }
}
