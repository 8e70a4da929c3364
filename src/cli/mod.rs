//! The command line: `serve` (the default), `migrate`, the operator's `admin …` commands,
//! `mail test` and `outbox`. Parsing is clap's; each command here opens what it needs, calls
//! the flow (`app::flows::admin`) and prints the outcome. Command output goes to stdout, logs
//! to stderr; a command that did not do what was asked exits with status 1.
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use app::domain::clock::SystemClock;
use app::domain::email::EmailAddress;
use app::flows::{Refusal, Stopped};
use app::AppState;
use clap::{Parser, Subcommand};

pub use self::accounts::{AccountCommand, KeyCommand};
pub use self::audit::AuditCommand;
pub use self::settings::{ConfigCommand, SecretKeyCommand};
pub use self::users::UserCommand;
use crate::config::Config;
use crate::db::Database;
use crate::mailer::{read_outbox, Delivery};

mod accounts;
mod audit;
mod output;
mod settings;
mod users;

/// The version and the commit it was built from (`--version`): "0.1.0 (abc1234)", or
/// "(unknown)" when built without git.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("TERMINUS_COMMIT"),
    ")"
);

/// The commit the binary was built from ("unknown" without git).
pub const COMMIT: &str = env!("TERMINUS_COMMIT");

const ABOUT: &str = "Terminus Hub: a self-hosted sign-in hub with a REST API.";
const AFTER_HELP: &str =
    "Configuration: terminus.toml in the working directory (or the file named by \
TERMINUS_CONFIG), then environment variables (DATABASE_URL, TERMINUS_ADDR, TERMINUS_PUBLIC_URL, \
SMTP_URL, TERMINUS_MAIL_FROM, ...). Every command works on the configured database, with or \
without the server running.";

#[derive(Debug, Parser)]
#[command(name = "terminus-hub", version = VERSION, about = ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web app and the API (the default command).
    Serve,
    /// Create or upgrade the database named by DATABASE_URL, then exit.
    Migrate,
    /// Operator commands: users, accounts, API keys. Each writes an audit event.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The configuration: check it without starting anything.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Mail: check that the configured SMTP server (or the outbox) takes mail.
    #[command(subcommand)]
    Mail(MailCommand),
    /// List the newest mails of the outbox (no SMTP_URL set) with their links on the hub's
    /// public URL.
    Outbox {
        /// How many mails to list, newest last.
        #[arg(short = 'n', long, default_value_t = 10)]
        limit: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Users: create, list, show, unlock, reset-link, disable, enable, sign-out-everywhere.
    #[command(subcommand)]
    User(UserCommand),
    /// Accounts: list, show, put one on a plan.
    #[command(subcommand)]
    Account(AccountCommand),
    /// API keys: list an account's, revoke one.
    #[command(subcommand)]
    Key(KeyCommand),
    /// The audit trail: export it.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The key sealing stored secrets: rotate it.
    #[command(subcommand)]
    SecretKey(SecretKeyCommand),
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Send one test mail through the configured SMTP server (or into the outbox) and say
    /// plainly what happened; exits with status 1 when it could not be sent.
    Test {
        /// Where to send it.
        address: String,
    },
}

/// What a command ended with: done, or refused with a sentence for stderr.
pub enum Outcome {
    Done,
    Failed(String),
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Done => ExitCode::SUCCESS,
            Outcome::Failed(message) => {
                let mut stderr = std::io::stderr().lock();
                for line in message.lines() {
                    let _ = writeln!(stderr, "error: {line}");
                }
                ExitCode::FAILURE
            }
        }
    }
}

/// Prints a command's output (stdout: what a script reads).
pub(crate) fn say(text: impl std::fmt::Display) -> anyhow::Result<()> {
    writeln!(std::io::stdout(), "{text}").context("writing to stdout")
}

/// Runs a command other than `serve`.
pub async fn run(command: Command, config: Config) -> anyhow::Result<Outcome> {
    match command {
        Command::Serve => anyhow::bail!("serve is run by main"),
        Command::Migrate => {
            let db = Database::connect(&config).await?;
            db.migrate().await?;
            db.close().await;
            tracing::info!("database is up to date");
            Ok(Outcome::Done)
        }
        Command::Admin(admin) => run_admin(admin, &config).await,
        Command::Config(ConfigCommand::Check) => settings::check(&config),
        Command::Mail(MailCommand::Test { address }) => mail_test(&config, &address).await,
        Command::Outbox { limit } => outbox(&config, limit),
    }
}

/// The application state over the configured database (migrated first, as the server does
/// at start), with the same flows the server runs.
async fn open(config: &Config) -> anyhow::Result<(Database, AppState)> {
    let database = Database::connect(config).await?;
    database.migrate().await?;
    let public_url = config.public_url_for(config.addr);
    let mailer = Arc::new(crate::startup::mailer(config)?);
    let state = crate::startup::app_state(
        config,
        &database,
        mailer,
        Arc::new(SystemClock),
        &public_url,
    )?;
    Ok((database, state))
}

async fn run_admin(command: AdminCommand, config: &Config) -> anyhow::Result<Outcome> {
    let (database, state) = open(config).await?;
    let outcome = admin_command(command, &state).await;
    state.background.close();
    state.background.wait().await;
    database.close().await;
    outcome
}

/// Asks, on a terminal, for `expected` to be typed back before a command that cannot be
/// undone; `Some(failure)` when it was not (or when stdin is no terminal: `--yes` is the way
/// for scripts).
pub(crate) fn confirmed(warning: &str, expected: &str) -> anyhow::Result<Option<Outcome>> {
    use std::io::IsTerminal as _;
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Ok(Some(Outcome::Failed(format!(
            "{warning} Standard input is not a terminal to confirm on: add --yes"
        ))));
    }
    let mut stderr = std::io::stderr();
    write!(stderr, "{warning}\nType {expected} to confirm: ")?;
    stderr.flush()?;
    let mut typed = String::new();
    stdin
        .read_line(&mut typed)
        .context("reading the confirmation")?;
    Ok((typed.trim() != expected)
        .then(|| Outcome::Failed("not confirmed: nothing was changed".to_owned())))
}

/// What a refused admin command prints: the refusal, said about `subject` (what was typed).
pub(crate) fn refused(refusal: &Refusal, subject: &str) -> Outcome {
    Outcome::Failed(match refusal {
        Refusal::NotFound("user") => format!("no user has the email {subject}"),
        Refusal::NotFound(what) => format!("there is no {what} {subject}"),
        other => other.message(),
    })
}

/// A flow's outcome on the command line: `done` prints what happened, a refusal fails the
/// command with its message, a failure is an error.
pub(crate) fn settle<T>(
    outcome: app::flows::Outcome<T>,
    subject: &str,
    done: impl FnOnce(T) -> anyhow::Result<()>,
) -> anyhow::Result<Outcome> {
    match outcome {
        Ok(value) => {
            done(value)?;
            Ok(Outcome::Done)
        }
        Err(Stopped::Refused(refusal)) => Ok(refused(&refusal, subject)),
        Err(Stopped::Broken(err)) => Err(err.into()),
    }
}

async fn admin_command(command: AdminCommand, state: &AppState) -> anyhow::Result<Outcome> {
    match command {
        AdminCommand::User(command) => users::run(command, state).await,
        AdminCommand::Account(command) => accounts::run_account(command, state).await,
        AdminCommand::Key(command) => accounts::run_key(command, state).await,
        AdminCommand::Audit(command) => audit::run(command, state).await,
        AdminCommand::SecretKey(command) => settings::rotate(command, state).await,
    }
}

async fn mail_test(config: &Config, address: &str) -> anyhow::Result<Outcome> {
    let to = match EmailAddress::parse(address) {
        Ok(to) => to,
        Err(why) => return Ok(Outcome::Failed(format!("{address}: {why}"))),
    };
    let mailer = crate::startup::mailer(config)?;
    let public_url = config.public_url_for(config.addr);
    let mail = app::mails::test_mail(&to, &public_url);
    Ok(match mailer.deliver(&mail).await {
        Ok(Delivery::Smtp(server)) => {
            say(format!(
                "Sent a test mail to {to} through the SMTP server {server}: it accepted the mail. If it does not arrive, look in the spam folder and at the server's logs."
            ))?;
            Outcome::Done
        }
        Ok(Delivery::Outbox(file)) => {
            say(format!(
                "No SMTP_URL is set: the test mail to {to} was written to the outbox, as every mail is:\n{}",
                file.display()
            ))?;
            Outcome::Done
        }
        Err(err) => Outcome::Failed(format!(
            "the test mail to {to} could not be sent through {}: {err}",
            mailer.describe()
        )),
    })
}

fn outbox(config: &Config, limit: usize) -> anyhow::Result<Outcome> {
    if let Some(url) = &config.smtp_url {
        tracing::warn!(
            "SMTP_URL is set ({}): new mail goes there, not to the outbox",
            crate::config::redact_url(url)
        );
    }
    let dir = &config.outbox_dir;
    let mails = read_outbox(dir, limit)?;
    // Only the hub's own links: a mail can quote text someone else chose (an account's name),
    // and a link in it must never look like one the hub sent.
    let hub = config.public_url_for(config.addr);
    let ours = |link: &&String| {
        link.strip_prefix(hub.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
    };
    if mails.is_empty() {
        say(format!("The outbox {} holds no mail.", dir.display()))?;
        return Ok(Outcome::Done);
    }
    for mail in mails {
        say(format!(
            "{}\n  To: {}\n  Subject: {}",
            mail.file.display(),
            mail.to,
            mail.subject
        ))?;
        for link in mail.links.iter().filter(ours) {
            say(format!("  {link}"))?;
        }
    }
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_command_means_serve() {
        let cli = Cli::try_parse_from(["terminus-hub"]).unwrap();
        assert!(cli.command.is_none());
        let cli = Cli::try_parse_from([
            "terminus-hub",
            "admin",
            "account",
            "set-plan",
            "acct_1",
            "team",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Admin(AdminCommand::Account(
                AccountCommand::SetPlan { .. }
            )))
        ));
    }
}
