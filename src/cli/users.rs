//! `terminus-hub admin user …`: create, find and show users, unlock them, print a reset link,
//! disable and enable them, sign them out everywhere. Each calls its flow in
//! `app::flows::admin`; a change writes its audit event there.
use app::flows::admin::{self, Change, Operator, Unlocked, UserQuery};
use app::AppState;
use clap::Subcommand;
use serde_json::{json, Value};

use super::output::{json, json_time, maybe_time, table, time};
use super::{confirmed, say, settle, Outcome};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a confirmed user, with an account of their own and its workspace "Main", and no
    /// password; prints a link (valid 1 hour) that sets one.
    Create {
        /// The new user's email address.
        email: String,
    },
    /// List users, oldest first: every one, or those matching every filter given.
    List {
        /// Only users whose email contains this text.
        #[arg(long, value_name = "TEXT")]
        email_contains: Option<String>,
        /// Only users locked out now (too many failed sign-ins).
        #[arg(long)]
        locked: bool,
        /// Only users an operator disabled.
        #[arg(long)]
        disabled: bool,
        /// Print JSON (for scripts) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show a user: accounts and roles, last sign-in, lock, second factors, sessions.
    Show {
        /// The user's email address.
        email: String,
        /// Print JSON (for scripts).
        #[arg(long)]
        json: bool,
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
    /// Disable a user: no sign-in by any path (password, passkey, single sign-on, links)
    /// until enabled again; their sessions end. API keys keep working.
    Disable {
        /// The user's email address.
        email: String,
    },
    /// Enable a disabled user again.
    Enable {
        /// The user's email address.
        email: String,
    },
    /// End every session of a user, in every browser.
    SignOutEverywhere {
        /// The user's email address.
        email: String,
    },
    /// Change a user's email address (normalised and checked as on the pages; refused when
    /// another user has it). The operator vouches for it: it counts as confirmed.
    SetEmail {
        /// The user's current email address.
        email: String,
        /// The new address.
        new_email: String,
    },
    /// Print everything the hub holds about a user as JSON (GDPR articles 15 and 20): no
    /// secret, no hash.
    Export {
        /// The user's email address.
        email: String,
    },
    /// Erase a user (GDPR article 17): the user, memberships, sessions, second factors and
    /// links go; the audit trail keeps a pseudonym. Refused when an account would be left
    /// without an owner, unless --delete-sole-accounts.
    Erase {
        /// The user's email address.
        email: String,
        /// Also delete the accounts this user alone owns, with everything under them.
        #[arg(long)]
        delete_sole_accounts: bool,
        /// Do not ask for the typed confirmation (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
    },
}

pub async fn run(command: UserCommand, state: &AppState) -> anyhow::Result<Outcome> {
    match command {
        UserCommand::Create { email } => {
            let operator = Operator::command_line("terminus-hub admin user create");
            let created = admin::create_user(state, &operator, &email).await;
            settle(created, &email, |user| {
                say(format!(
                    "Created the user {email} ({}), owner of the account {} with its workspace \"Main\". It has no password yet.\nSet the password with this link (valid for 1 hour, single use):\n{}",
                    user.user_id, user.account_id, user.link
                ))
            })
        }
        UserCommand::List {
            email_contains,
            locked,
            disabled,
            json: as_json,
        } => {
            let operator = Operator::command_line("terminus-hub admin user list");
            let query = UserQuery {
                email_contains,
                locked,
                disabled,
            };
            let now = state.clock.now();
            let users = admin::list_users(state, &operator, query).await;
            settle(users, "", |users| {
                if as_json {
                    let users: Vec<Value> = users
                        .iter()
                        .map(|u| {
                            json!({
                                "id": u.id.as_str(),
                                "email": u.email.as_str(),
                                "created_at": time(u.created_at),
                                "locked": u.locked_at(now),
                                "disabled": u.disabled_at.is_some(),
                            })
                        })
                        .collect();
                    return json(&Value::Array(users));
                }
                let rows: Vec<Vec<String>> = users
                    .iter()
                    .map(|u| {
                        let mut status = Vec::new();
                        if u.locked_at(now) {
                            status.push("locked");
                        }
                        if u.disabled_at.is_some() {
                            status.push("disabled");
                        }
                        vec![
                            u.id.to_string(),
                            u.email.to_string(),
                            time(u.created_at),
                            status.join(","),
                        ]
                    })
                    .collect();
                table(
                    &["ID", "EMAIL", "CREATED", "STATUS"],
                    &rows,
                    "No user matches.",
                )
            })
        }
        UserCommand::Show {
            email,
            json: as_json,
        } => {
            let operator = Operator::command_line("terminus-hub admin user show");
            let shown = admin::show_user(state, &operator, &email).await;
            settle(shown, &email, |u| {
                let accounts: Vec<Value> = u
                    .memberships
                    .iter()
                    .map(|m| {
                        json!({
                            "id": m.account_id.as_str(),
                            "name": m.account_name,
                            "role": m.role.as_str(),
                        })
                    })
                    .collect();
                if as_json {
                    return json(&json!({
                        "id": u.id.as_str(),
                        "email": u.email.as_str(),
                        "email_confirmed": u.email_confirmed,
                        "has_password": u.has_password,
                        "created_at": time(u.created_at),
                        "last_sign_in_at": json_time(u.last_sign_in_at),
                        "locked_until": json_time(u.locked_until),
                        "failed_attempts": u.failed_attempts,
                        "disabled_at": json_time(u.disabled_at),
                        "accounts": accounts,
                        "second_factors": {
                            "authenticator_app": u.authenticator_app,
                            "passkeys": u.passkeys,
                            "recovery_codes_left": u.recovery_codes_left,
                        },
                        "sessions": u.sessions,
                    }));
                }
                let yes_no = |b: bool| if b { "yes" } else { "no" };
                let mut lines = vec![
                    format!("User {} ({})", u.email, u.id),
                    format!("  created:          {}", time(u.created_at)),
                    format!("  email confirmed:  {}", yes_no(u.email_confirmed)),
                    format!("  password set:     {}", yes_no(u.has_password)),
                    format!("  last sign-in:     {}", maybe_time(u.last_sign_in_at)),
                    format!(
                        "  locked:           {}",
                        u.locked_until
                            .map_or_else(|| "no".to_owned(), |t| format!("until {}", time(t)))
                    ),
                    format!("  failed attempts:  {}", u.failed_attempts),
                    format!(
                        "  disabled:         {}",
                        u.disabled_at
                            .map_or_else(|| "no".to_owned(), |t| format!("since {}", time(t)))
                    ),
                    format!(
                        "  second factors:   authenticator app: {}, passkeys: {}, recovery codes left: {}",
                        yes_no(u.authenticator_app),
                        u.passkeys,
                        u.recovery_codes_left
                    ),
                    format!("  sessions:         {}", u.sessions),
                    "  accounts:".to_owned(),
                ];
                if u.memberships.is_empty() {
                    lines.push("    (none)".to_owned());
                }
                for m in &u.memberships {
                    lines.push(format!(
                        "    {}  {}  {}",
                        m.account_id,
                        m.role.as_str(),
                        m.account_name
                    ));
                }
                say(lines.join("\n"))
            })
        }
        UserCommand::Unlock { email } => {
            let operator = Operator::command_line("terminus-hub admin user unlock");
            let unlocked = admin::unlock_user(state, &operator, &email).await;
            settle(unlocked, &email, |done| {
                say(match done {
                    Unlocked::Lifted => {
                        format!("Unlocked {email}: failed attempts cleared, the lock lifted.")
                    }
                    Unlocked::Cleared(n) => {
                        format!("{email} was not locked; its {n} failed attempt(s) are cleared.")
                    }
                    Unlocked::WasNotLocked => {
                        format!("{email} was not locked: nothing to do.")
                    }
                })
            })
        }
        UserCommand::ResetLink { email } => {
            let operator = Operator::command_line("terminus-hub admin user reset-link");
            let link = admin::reset_link_for(state, &operator, &email).await;
            settle(link, &email, |link| {
                say(format!(
                    "A password-reset link for {email} (valid for 1 hour, single use; it also confirms the email and clears a lockout):\n{link}"
                ))
            })
        }
        UserCommand::Disable { email } => {
            let operator = Operator::command_line("terminus-hub admin user disable");
            let disabled = admin::disable_user(state, &operator, &email).await;
            settle(disabled, &email, |(change, keys)| {
                let keys = format!(
                    "API keys keep working ({keys} created by them): revoke one with `terminus-hub admin key revoke KEY_ID`."
                );
                say(match change {
                    Change::Done => format!(
                        "Disabled {email}: they cannot sign in by any path and their sessions ended. {keys}"
                    ),
                    Change::AlreadySo => format!("{email} was already disabled: nothing to do."),
                })
            })
        }
        UserCommand::Enable { email } => {
            let operator = Operator::command_line("terminus-hub admin user enable");
            let enabled = admin::enable_user(state, &operator, &email).await;
            settle(enabled, &email, |change| {
                say(match change {
                    Change::Done => format!("Enabled {email}: they can sign in again."),
                    Change::AlreadySo => format!("{email} was not disabled: nothing to do."),
                })
            })
        }
        UserCommand::SignOutEverywhere { email } => {
            let operator = Operator::command_line("terminus-hub admin user sign-out-everywhere");
            let ended = admin::sign_out_everywhere(state, &operator, &email).await;
            settle(ended, &email, |ended| {
                say(format!(
                    "Signed {email} out everywhere: {ended} session(s) ended; a copy of an older session is refused too."
                ))
            })
        }
        UserCommand::SetEmail { email, new_email } => {
            let operator = Operator::command_line("terminus-hub admin user set-email");
            let set = admin::set_email(state, &operator, &email, &new_email).await;
            settle(set, &email, |change| {
                say(match change {
                    Change::Done => format!(
                        "The user {email} now has the email {}.",
                        new_email.trim().to_lowercase()
                    ),
                    Change::AlreadySo => format!("{email} already has that email: nothing to do."),
                })
            })
        }
        UserCommand::Export { email } => {
            let operator = Operator::command_line("terminus-hub admin user export");
            let export = admin::export_user(state, &operator, &email).await;
            settle(export, &email, |e| {
                let u = &e.user;
                let sessions: Vec<Value> = e
                    .sessions
                    .iter()
                    .map(|s| {
                        json!({
                            "method": s.method,
                            "started_at": json_time(s.started_at),
                            "expires_at": time(s.expires_at),
                            "ip": s.ip,
                            "user_agent": s.user_agent,
                        })
                    })
                    .collect();
                let passkeys: Vec<Value> = e
                    .passkeys
                    .iter()
                    .map(|(name, created, used)| {
                        json!({"name": name, "created_at": time(*created), "last_used_at": json_time(*used)})
                    })
                    .collect();
                let keys: Vec<Value> = e
                    .keys_created
                    .iter()
                    .map(|k| {
                        json!({
                            "id": k.id.as_str(),
                            "account_id": k.account_id.as_str(),
                            "name": k.name,
                            "created_at": time(k.created_at),
                            "last_used_at": json_time(k.last_used_at),
                        })
                    })
                    .collect();
                let activity: Vec<Value> = e
                    .activity
                    .iter()
                    .map(|a| {
                        json!({
                            "at": time(a.at),
                            "account_id": a.account_id.as_ref().map(|id| id.as_str()),
                            "action": a.action,
                            "detail": a.detail,
                        })
                    })
                    .collect();
                json(&json!({
                    "user": {
                        "id": u.id.as_str(),
                        "email": u.email.as_str(),
                        "email_confirmed": u.email_confirmed,
                        "has_password": u.has_password,
                        "created_at": time(u.created_at),
                        "last_sign_in_at": json_time(u.last_sign_in_at),
                        "disabled_at": json_time(u.disabled_at),
                    },
                    "accounts": u.memberships.iter().map(|m| json!({
                        "id": m.account_id.as_str(),
                        "name": m.account_name,
                        "role": m.role.as_str(),
                    })).collect::<Vec<_>>(),
                    "second_factors": {
                        "authenticator_app_since": json_time(e.authenticator_app_since),
                        "passkeys": passkeys,
                        "recovery_codes_left": u.recovery_codes_left,
                    },
                    "sessions": sessions,
                    "api_keys_created": keys,
                    "activity": activity,
                }))
            })
        }
        UserCommand::Erase {
            email,
            delete_sole_accounts,
            yes,
        } => {
            if !yes {
                if let Some(refused) =
                    confirmed(&format!("This erases the user {email} for good."), &email)?
                {
                    return Ok(refused);
                }
            }
            let operator = Operator::command_line("terminus-hub admin user erase");
            let erased = admin::erase_user(state, &operator, &email, delete_sole_accounts).await;
            settle(erased, &email, |erased| {
                let accounts = if erased.deleted_accounts.is_empty() {
                    String::new()
                } else {
                    let ids: Vec<&str> =
                        erased.deleted_accounts.iter().map(|a| a.as_str()).collect();
                    format!(
                        " The accounts they alone owned were deleted: {}.",
                        ids.join(", ")
                    )
                };
                say(format!(
                    "Erased {email}: the user, their memberships, sessions, second factors and links are gone; the audit trail names them {}.{accounts}",
                    erased.pseudonym
                ))
            })
        }
    }
}
