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
use app::domain::ids::{AccountId, ApiKeyId};
use app::flows::admin::{self, Operator};
use app::flows::{Refusal, Stopped};
use app::AppState;
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::db::Database;
use crate::mailer::{read_outbox, Delivery};

const ABOUT: &str = "Terminus Hub: a self-hosted sign-in hub with a REST API.";
const AFTER_HELP: &str =
    "Configuration: terminus.toml in the working directory (or the file named by \
TERMINUS_CONFIG), then environment variables (DATABASE_URL, TERMINUS_ADDR, TERMINUS_PUBLIC_URL, \
SMTP_URL, TERMINUS_MAIL_FROM, ...). Every command works on the configured database, with or \
without the server running.";

#[derive(Debug, Parser)]
#[command(name = "terminus-hub", version, about = ABOUT, after_help = AFTER_HELP)]
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
    /// Users: create one, unlock one, make a password-reset link.
    #[command(subcommand)]
    User(UserCommand),
    /// Accounts: put one on a plan.
    #[command(subcommand)]
    Account(AccountCommand),
    /// API keys: revoke one.
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a confirmed user, with an account of their own and its workspace "Main", and no
    /// password; prints a link (valid 1 hour) that sets one.
    Create {
        /// The new user's email address.
        email: String,
    },
    /// Clear a user's lockout (failed attempts and lock), without waiting for it to expire.
    Unlock {
        /// The user's email address.
        email: String,
    },
    /// Print a password-reset link (valid 1 hour, single use) instead of mailing it: for when
    /// mail is broken. Using it also confirms the email and clears a lockout.
    ResetLink {
        /// The user's email address.
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Put an account on a plan defined in the configuration ([plans.NAME], or a built-in
    /// plan: free, team, enterprise).
    SetPlan {
        /// The account's id (acct_…): GET /api/v1/account shows it.
        account: String,
        /// The plan's name.
        plan: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Revoke (delete) an API key of any account: it fails on its very next request.
    Revoke {
        /// The key's id (key_…), as the API keys page and GET /api/v1/api_keys show it.
        key_id: String,
    },
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
                let _ = writeln!(std::io::stderr(), "error: {message}");
                ExitCode::FAILURE
            }
        }
    }
}

/// Prints a command's output (stdout: what a script reads).
fn say(text: impl std::fmt::Display) -> anyhow::Result<()> {
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

/// What a refused admin command prints: the refusal, said about `subject` (what was typed).
fn refused(refusal: &Refusal, subject: &str) -> Outcome {
    Outcome::Failed(match refusal {
        Refusal::NotFound("user") => format!("no user has the email {subject}"),
        Refusal::NotFound(what) => format!("there is no {what} {subject}"),
        other => other.message(),
    })
}

/// A flow's outcome on the command line: `done` prints what happened, a refusal fails the
/// command with its message, a failure is an error.
fn settle<T>(
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
        AdminCommand::User(UserCommand::Create { email }) => {
            let operator = Operator::command_line("terminus-hub admin user create");
            let created = admin::create_user(state, &operator, &email).await;
            settle(created, &email, |user| {
                say(format!(
                    "Created the user {email} ({}), owner of the account {} with its workspace \"Main\". It has no password yet.\nSet the password with this link (valid for 1 hour, single use):\n{}",
                    user.user_id, user.account_id, user.link
                ))
            })
        }
        AdminCommand::User(UserCommand::Unlock { email }) => {
            let operator = Operator::command_line("terminus-hub admin user unlock");
            let unlocked = admin::unlock_user(state, &operator, &email).await;
            settle(unlocked, &email, |()| {
                say(format!(
                    "Unlocked {email}: failed attempts cleared, the lock lifted."
                ))
            })
        }
        AdminCommand::User(UserCommand::ResetLink { email }) => {
            let operator = Operator::command_line("terminus-hub admin user reset-link");
            let link = admin::reset_link_for(state, &operator, &email).await;
            settle(link, &email, |link| {
                say(format!(
                    "A password-reset link for {email} (valid for 1 hour, single use; it also confirms the email and clears a lockout):\n{link}"
                ))
            })
        }
        AdminCommand::Account(AccountCommand::SetPlan { account, plan }) => {
            let operator = Operator::command_line("terminus-hub admin account set-plan");
            let previous =
                admin::set_plan(state, &operator, &AccountId::from_input(&account), &plan).await;
            settle(previous, &account, |previous| {
                let limits = state.config.plans.resolve(&plan).1;
                say(format!(
                    "The account {account} is now on the plan {plan} (was {previous}): {} requests a minute, bursts of {}.",
                    limits.per_minute, limits.burst
                ))
            })
        }
        AdminCommand::Key(KeyCommand::Revoke { key_id }) => {
            let operator = Operator::command_line("terminus-hub admin key revoke");
            let revoked = admin::revoke_key(state, &operator, &ApiKeyId::from_input(&key_id)).await;
            settle(revoked, &key_id, |key| {
                say(format!(
                    "Revoked the key {key_id} ({}) of the account {}: it fails on its next request.",
                    key.name, key.account_id
                ))
            })
        }
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
