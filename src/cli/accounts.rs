//! `terminus-hub admin account …` and `admin key …`: find and show accounts, put one on a
//! plan, list and revoke API keys. An account is named by its id (`acct_…`) or by the email
//! of the person who owns it, when they own exactly one.
use app::domain::api_keys::ApiKeyRecord;
use app::domain::ids::ApiKeyId;
use app::domain::operator::OwnerAdded;
use app::flows::admin::{self, Operator};
use app::flows::Stopped;
use app::AppState;
use clap::Subcommand;
use serde_json::{json, Value};

use super::output::{json, json_time, maybe_time, table, time};
use super::{confirmed, refused, say, settle, Outcome};

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// List every account, oldest first, with its plan and owners.
    List {
        /// Print JSON (for scripts) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show an account: plan, members, API keys, domains, single sign-on.
    Show {
        /// The account's id (acct_…), or the email of its owner (who owns only it).
        account: String,
        /// Print JSON (for scripts).
        #[arg(long)]
        json: bool,
    },
    /// Make a person an owner of an account (added, or promoted if a member).
    AddOwner {
        /// The account's id (acct_…), or the email of its owner (who owns only it).
        account: String,
        /// The new owner's email address.
        email: String,
    },
    /// Hand an account over: the person becomes its owner, every previous owner an admin.
    Transfer {
        /// The account's id (acct_…), or the email of its owner (who owns only it).
        account: String,
        /// The new owner's email address.
        email: String,
    },
    /// Delete an account with its workspaces, records, API keys, domains, single sign-on,
    /// invitations and audit trail. Asks to type the account's id, unless --yes.
    Delete {
        /// The account's id (acct_…), or the email of its owner (who owns only it).
        account: String,
        /// Do not ask for the typed confirmation (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Put an account on a plan defined in the configuration ([plans.NAME], or a built-in
    /// plan: free, team, enterprise).
    SetPlan {
        /// The account's id (acct_…), or the email of its owner (who owns only it).
        account: String,
        /// The plan's name.
        plan: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// List an account's API keys, newest first (names and hints: a key is never shown again).
    List {
        /// The account's id (acct_…), or the email of its owner (who owns only it).
        account: String,
        /// Print JSON (for scripts) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke (delete) an API key of any account: it fails on its very next request.
    Revoke {
        /// The key's id (key_…), as `admin key list`, the API keys page and
        /// GET /api/v1/api_keys show it.
        key_id: String,
    },
}

fn scopes(key: &ApiKeyRecord) -> String {
    key.scopes.as_ref().map_or_else(
        || "full access".to_owned(),
        |scopes| {
            scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        },
    )
}

fn key_json(key: &ApiKeyRecord) -> Value {
    json!({
        "id": key.id.as_str(),
        "name": key.name,
        "hint": key.hint,
        "scopes": key.scopes.as_ref().map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
        "created_at": time(key.created_at),
        "created_by": key.created_by.as_ref().map(|u| u.as_str()),
        "expires_at": json_time(key.expires_at),
        "last_used_at": json_time(key.last_used_at),
    })
}

fn key_rows(keys: &[ApiKeyRecord]) -> Vec<Vec<String>> {
    keys.iter()
        .map(|k| {
            vec![
                k.id.to_string(),
                k.name.clone(),
                format!("{}…", k.hint),
                scopes(k),
                time(k.created_at),
                maybe_time(k.expires_at),
                maybe_time(k.last_used_at),
            ]
        })
        .collect()
}

const KEY_HEADERS: [&str; 7] = [
    "ID",
    "NAME",
    "HINT",
    "SCOPES",
    "CREATED",
    "EXPIRES",
    "LAST USED",
];

pub async fn run_account(command: AccountCommand, state: &AppState) -> anyhow::Result<Outcome> {
    match command {
        AccountCommand::List { json: as_json } => {
            let operator = Operator::command_line("terminus-hub admin account list");
            let accounts = admin::list_accounts(state, &operator).await;
            settle(accounts, "", |accounts| {
                if as_json {
                    let accounts: Vec<Value> = accounts
                        .iter()
                        .map(|a| {
                            json!({
                                "id": a.account.id.as_str(),
                                "name": a.account.name,
                                "plan": a.account.plan,
                                "created_at": time(a.account.created_at),
                                "owners": a.owners,
                                "members": a.members,
                            })
                        })
                        .collect();
                    return json(&Value::Array(accounts));
                }
                let rows: Vec<Vec<String>> = accounts
                    .iter()
                    .map(|a| {
                        vec![
                            a.account.id.to_string(),
                            a.account.name.clone(),
                            a.account.plan.clone(),
                            a.members.to_string(),
                            a.owners.join(","),
                        ]
                    })
                    .collect();
                table(
                    &["ID", "NAME", "PLAN", "MEMBERS", "OWNERS"],
                    &rows,
                    "There is no account.",
                )
            })
        }
        AccountCommand::Show {
            account,
            json: as_json,
        } => {
            let operator = Operator::command_line("terminus-hub admin account show");
            let shown = admin::show_account(state, &operator, &account).await;
            settle(shown, &account, |a| {
                let members: Vec<Value> = a
                    .members
                    .iter()
                    .map(|m| {
                        json!({
                            "user_id": m.user_id.as_str(),
                            "email": m.email,
                            "role": m.role.as_str(),
                            "since": time(m.since),
                        })
                    })
                    .collect();
                let domains: Vec<Value> = a
                    .domains
                    .iter()
                    .map(|d| {
                        json!({
                            "id": d.id.as_str(),
                            "domain": d.domain,
                            "verified_at": json_time(d.verified_at),
                        })
                    })
                    .collect();
                let connections: Vec<Value> = a
                    .connections
                    .iter()
                    .map(|c| {
                        json!({
                            "id": c.id.as_str(),
                            "issuer": c.issuer,
                            "client_id": c.client_id,
                            "enforced": c.enforced,
                            "domains": c.domains,
                        })
                    })
                    .collect();
                if as_json {
                    return json(&json!({
                        "id": a.account.id.as_str(),
                        "name": a.account.name,
                        "plan": a.account.plan,
                        "created_at": time(a.account.created_at),
                        "require_second_factor": a.account.require_second_factor,
                        "members": members,
                        "api_keys": a.keys.iter().map(key_json).collect::<Vec<_>>(),
                        "domains": domains,
                        "sso_connections": connections,
                    }));
                }
                let limits = state.config.plans.resolve(&a.account.plan).1;
                let mut lines = vec![
                    format!("Account {} ({})", a.account.name, a.account.id),
                    format!("  created:  {}", time(a.account.created_at)),
                    format!(
                        "  plan:     {} ({} requests a minute, bursts of {})",
                        a.account.plan, limits.per_minute, limits.burst
                    ),
                    format!(
                        "  second factor required: {}",
                        if a.account.require_second_factor {
                            "yes"
                        } else {
                            "no"
                        }
                    ),
                    format!("  members ({}):", a.members.len()),
                ];
                for m in &a.members {
                    lines.push(format!(
                        "    {}  {}  {}",
                        m.user_id,
                        m.role.as_str(),
                        m.email
                    ));
                }
                lines.push(format!("  API keys ({}):", a.keys.len()));
                for k in &a.keys {
                    lines.push(format!(
                        "    {}  {}  {}…  {}",
                        k.id,
                        k.name,
                        k.hint,
                        scopes(k)
                    ));
                }
                lines.push(format!("  domains ({}):", a.domains.len()));
                for d in &a.domains {
                    lines.push(format!(
                        "    {}  {}",
                        d.domain,
                        d.verified_at.map_or_else(
                            || "not verified".to_owned(),
                            |t| format!("verified {}", time(t))
                        )
                    ));
                }
                lines.push(format!("  single sign-on ({}):", a.connections.len()));
                for c in &a.connections {
                    lines.push(format!(
                        "    {}  {}  client {}{}  domains: {}",
                        c.id,
                        c.issuer,
                        c.client_id,
                        if c.enforced { "  enforced" } else { "" },
                        c.domains.join(", ")
                    ));
                }
                say(lines.join("\n"))
            })
        }
        AccountCommand::AddOwner { account, email } => {
            let operator = Operator::command_line("terminus-hub admin account add-owner");
            let added = admin::add_owner(state, &operator, &account, &email).await;
            settle(added, &account, |(found, added)| {
                let id = found.id;
                say(match added {
                    OwnerAdded::Added => {
                        format!("{email} is now an owner of the account {id} (added).")
                    }
                    OwnerAdded::Promoted => {
                        format!("{email} is now an owner of the account {id} (was a member).")
                    }
                    OwnerAdded::AlreadyOwner | OwnerAdded::NoAccount => {
                        format!("{email} already is an owner of the account {id}: nothing to do.")
                    }
                })
            })
        }
        AccountCommand::Transfer { account, email } => {
            let operator = Operator::command_line("terminus-hub admin account transfer");
            let moved = admin::transfer_account(state, &operator, &account, &email).await;
            settle(moved, &account, |(found, demoted)| {
                say(format!(
                    "The account {} now belongs to {email}; {demoted} previous owner(s) are admins now.",
                    found.id
                ))
            })
        }
        AccountCommand::Delete { account, yes } => {
            let found = match admin::find_account(state, &account).await {
                Ok(found) => found,
                Err(Stopped::Refused(refusal)) => return Ok(refused(&refusal, &account)),
                Err(Stopped::Broken(err)) => return Err(err.into()),
            };
            if !yes {
                let warning = format!(
                    "This deletes the account {} ({}) with its workspaces, records, API keys, domains, single sign-on and audit trail.",
                    found.id, found.name
                );
                if let Some(refused) = confirmed(&warning, found.id.as_str())? {
                    return Ok(refused);
                }
            }
            let operator = Operator::command_line("terminus-hub admin account delete");
            let deleted = admin::delete_account(state, &operator, found.id.as_str()).await;
            settle(deleted, &account, |gone| {
                say(format!(
                    "Deleted the account {} ({}) and everything under it.",
                    gone.id, gone.name
                ))
            })
        }
        AccountCommand::SetPlan { account, plan } => {
            let operator = Operator::command_line("terminus-hub admin account set-plan");
            let found = match admin::find_account(state, &account).await {
                Ok(found) => found,
                Err(Stopped::Refused(refusal)) => return Ok(refused(&refusal, &account)),
                Err(Stopped::Broken(err)) => return Err(err.into()),
            };
            let id = found.id;
            let previous = admin::set_plan(state, &operator, &id, &plan).await;
            settle(previous, &account, |previous| {
                let limits = state.config.plans.resolve(&plan).1;
                say(if previous == plan {
                    format!("The account {id} was already on the plan {plan}: nothing changed.")
                } else {
                    format!(
                        "The account {id} is now on the plan {plan} (was {previous}): {} requests a minute, bursts of {}.",
                        limits.per_minute, limits.burst
                    )
                })
            })
        }
    }
}

pub async fn run_key(command: KeyCommand, state: &AppState) -> anyhow::Result<Outcome> {
    match command {
        KeyCommand::List {
            account,
            json: as_json,
        } => {
            let operator = Operator::command_line("terminus-hub admin key list");
            let listed = admin::list_keys(state, &operator, &account).await;
            settle(listed, &account, |(account, keys)| {
                if as_json {
                    return json(&Value::Array(keys.iter().map(key_json).collect()));
                }
                table(
                    &KEY_HEADERS,
                    &key_rows(&keys),
                    &format!("The account {} has no API key.", account.id),
                )
            })
        }
        KeyCommand::Revoke { key_id } => {
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
