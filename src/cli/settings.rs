//! `terminus-hub config check` (the configuration read as `serve` reads it, printed with its
//! secrets redacted, without starting anything) and `terminus-hub admin secret-key rotate`
//! (every sealed secret re-sealed under a new key).
use std::path::PathBuf;

use app::flows::admin::{self, Operator};
use app::sealing::SealingKey;
use app::AppState;
use clap::Subcommand;

use super::{say, settle, Outcome};
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Read the configuration as `serve` would (terminus.toml or TERMINUS_CONFIG, then the
    /// environment), check it, and print the effective settings with secrets redacted; exits
    /// with status 1 on an error. Opens no database and writes no file.
    Check,
}

#[derive(Debug, Subcommand)]
pub enum SecretKeyCommand {
    /// Re-seal every sealed secret (single sign-on client secrets, authenticator-app
    /// secrets) under a new key, in one transaction. The current key is the configured one
    /// (TERMINUS_SECRET_KEY or the key file); the new one comes from TERMINUS_NEW_SECRET_KEY
    /// or --new-key-file. Then give every instance the new key and restart them.
    Rotate {
        /// A file holding the new key (32 bytes, base64), instead of TERMINUS_NEW_SECRET_KEY.
        #[arg(long, value_name = "PATH")]
        new_key_file: Option<PathBuf>,
    },
}

/// The checks `serve` makes before it opens anything, each as a sentence when it fails.
fn problems(config: &Config) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(err) = config.validate() {
        problems.push(format!("{err:#}"));
    }
    let url = config.database_url.as_str();
    if !["sqlite:", "postgres:", "postgresql:"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
    {
        problems.push(format!(
            "DATABASE_URL must start with sqlite: or postgres:, got {}",
            crate::config::redact_url(url)
        ));
    }
    let public_url = config.public_url_for(config.addr);
    if let Err(err) = url::Url::parse(&public_url) {
        problems.push(format!(
            "TERMINUS_PUBLIC_URL {public_url} is not a URL: {err}"
        ));
    }
    let key = match &config.secret_key {
        Some(key) => Some(key.clone()),
        None => match std::fs::read_to_string(&config.secret_key_file) {
            Ok(key) => Some(key),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(err) => {
                problems.push(format!(
                    "reading the key file {}: {err}",
                    config.secret_key_file.display()
                ));
                None
            }
        },
    };
    if let Some(key) = key {
        if SealingKey::from_base64(&key).is_err() {
            problems.push(
                "TERMINUS_SECRET_KEY (or the key file) is not 32 base64-encoded bytes".to_owned(),
            );
        }
    }
    if let Some(smtp) = &config.smtp_url {
        if let Err(err) = crate::mailer::LettreMailer::smtp(smtp, &config.sender()) {
            problems.push(format!("{err:#}"));
        }
    }
    if let Err(err) = crate::dns::HickoryDns::new(&config.dns_servers) {
        problems.push(format!("{err:#}"));
    }
    problems
}

pub fn check(config: &Config) -> anyhow::Result<Outcome> {
    let source = match std::env::var("TERMINUS_CONFIG") {
        Ok(path) => path,
        Err(_) if std::path::Path::new("terminus.toml").exists() => "terminus.toml".to_owned(),
        Err(_) => "no terminus.toml".to_owned(),
    };
    say(format!(
        "The effective configuration ({source}, then the environment; secrets redacted):"
    ))?;
    let settings = config.effective();
    let width = settings
        .iter()
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or(0);
    for (name, value) in &settings {
        say(format!("  {name:<width$} = {value}"))?;
    }
    if config.secret_key.is_none() && !config.secret_key_file.exists() {
        say(format!(
            "note: no TERMINUS_SECRET_KEY and no {}: serve generates a key there at first start (set TERMINUS_SECRET_KEY on every instance in production)",
            config.secret_key_file.display()
        ))?;
    }
    let problems = problems(config);
    if problems.is_empty() {
        say("The configuration is valid.")?;
        return Ok(Outcome::Done);
    }
    Ok(Outcome::Failed(problems.join("\n")))
}

/// The new key: from `--new-key-file`, else TERMINUS_NEW_SECRET_KEY.
fn new_key(file: Option<PathBuf>) -> Result<SealingKey, String> {
    let encoded = match file {
        Some(path) => std::fs::read_to_string(&path)
            .map_err(|err| format!("reading {}: {err}", path.display()))?,
        None => std::env::var("TERMINUS_NEW_SECRET_KEY").map_err(|_| {
            "give the new key in TERMINUS_NEW_SECRET_KEY or with --new-key-file PATH (32 bytes, base64: `openssl rand -base64 32`)".to_owned()
        })?,
    };
    SealingKey::from_base64(&encoded)
        .map_err(|_| "the new key is not 32 base64-encoded bytes".to_owned())
}

pub async fn rotate(command: SecretKeyCommand, state: &AppState) -> anyhow::Result<Outcome> {
    let SecretKeyCommand::Rotate { new_key_file } = command;
    let key = match new_key(new_key_file) {
        Ok(key) => key,
        Err(why) => return Ok(Outcome::Failed(why)),
    };
    let operator = Operator::command_line("terminus-hub admin secret-key rotate");
    let resealed = admin::rotate_secret_key(state, &operator, &key).await;
    settle(resealed, "", |done| {
        say(format!(
            "Re-sealed {} single sign-on client secret(s) and {} authenticator-app secret(s) under the new key, in one transaction.\nNow set TERMINUS_SECRET_KEY to the new key on every instance and restart them: until then, instances on the old key cannot open them (single sign-on and authenticator-app sign-ins fail).",
            done.connections, done.authenticator_apps
        ))
    })
}
