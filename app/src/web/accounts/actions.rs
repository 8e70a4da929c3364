//! The server functions of accounts's forms (under `/_fn`): each parses, calls its flow,
//! keeps the outcome in the session (a flash) and answers 303 to the next page.
use leptos::prelude::*;

use crate::paths;

use crate::flows::accounts;
use crate::flows::Stopped;
use crate::session::{self, Flash};
use crate::web::forms::{kept, refused, Ctx, Next};

#[server(prefix = "/_fn", endpoint = "switch_account")]
pub async fn switch_account(account_id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_switch_account(&ctx, account_id).await;
    ctx.finish(result, paths::ACCOUNTS).await
}

#[server(prefix = "/_fn", endpoint = "create_account")]
pub async fn create_account(name: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_create_account(&ctx, name).await;
    ctx.finish(result, paths::ACCOUNTS).await
}

pub async fn handle_switch_account(ctx: &Ctx, account_id: String) -> Next {
    let Some(signed) = ctx.signed().await? else {
        return Ok(paths::SIGN_IN.into());
    };
    match accounts::switch(&ctx.state, &signed, &account_id).await {
        Ok(member) => {
            session::set_current_account(&ctx.session, Some(member.account_id().to_owned()))
                .await?;
            Ok(paths::HOME.into())
        }
        Err(stopped) => ctx.stopped(stopped, paths::ACCOUNTS).await,
    }
}

pub async fn handle_create_account(ctx: &Ctx, name: String) -> Next {
    let Some(signed) = ctx.signed().await? else {
        return Ok(paths::SIGN_IN.into());
    };
    match accounts::create(&ctx.state, &signed, &name).await {
        Ok((id, name)) => {
            session::set_current_account(&ctx.session, Some(id)).await?;
            let flash = Flash::notice(format!("Account \"{name}\" created."));
            session::set_flash(&ctx.session, flash).await?;
            Ok(paths::HOME.into())
        }
        Err(Stopped::Refused(refusal)) => {
            let flash = refused(&refusal).value("name", &kept(&name));
            session::set_flash(&ctx.session, flash).await?;
            Ok(paths::ACCOUNTS.into())
        }
        Err(Stopped::Broken(err)) => Err(err.into()),
    }
}
