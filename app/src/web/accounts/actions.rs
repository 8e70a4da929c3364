//! The server functions of accounts's forms (under `/_fn`): each parses, calls its flow,
//! keeps the outcome in the session (a flash) and answers 303 to the next page.
use leptos::prelude::*;

use crate::domain::ids::AccountId;
use crate::paths;

use crate::flows::accounts;
use crate::session::{self};
use crate::web::forms::{Ctx, Next};

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

#[server(prefix = "/_fn", endpoint = "rename_account")]
pub async fn rename_account(name: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_rename_account(&ctx, name).await;
    ctx.finish(result, paths::ACCOUNT_SETTINGS).await
}

pub async fn handle_rename_account(ctx: &Ctx, name: String) -> Next {
    let admin = ctx.admin(paths::ACCOUNT_SETTINGS).await?;
    let renamed = accounts::rename(&ctx.state, &admin, &name).await;
    let typed = [("name", name.as_str())];
    let name = ctx
        .settle_keeping(renamed, paths::ACCOUNT_SETTINGS, &typed)
        .await?;
    ctx.notice(
        format!("The account is now \"{name}\"."),
        paths::ACCOUNT_SETTINGS,
    )
    .await
}

#[server(prefix = "/_fn", endpoint = "delete_account")]
pub async fn delete_account(confirm: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_delete_account(&ctx, confirm).await;
    ctx.finish(result, paths::ACCOUNT_SETTINGS).await
}

pub async fn handle_delete_account(ctx: &Ctx, confirm: String) -> Next {
    let owner = ctx.owner(paths::ACCOUNT_SETTINGS).await?;
    let deleted = accounts::delete(&ctx.state, &owner, &confirm).await;
    let typed = [("confirm", confirm.as_str())];
    ctx.settle_keeping(deleted, paths::ACCOUNT_SETTINGS, &typed)
        .await?;
    // Every session in the account ended with it, this one too: sign in again.
    Ok(paths::SIGN_IN.into())
}

pub async fn handle_switch_account(ctx: &Ctx, account_id: String) -> Next {
    let Some(signed) = ctx.signed().await? else {
        return Ok(paths::SIGN_IN.into());
    };
    match accounts::switch(&ctx.state, &signed, &AccountId::from_input(&account_id)).await {
        Ok(member) => {
            session::set_current_account(&ctx.session, Some(member.account_id().to_owned()))
                .await?;
            Ok(paths::HOME.into())
        }
        Err(stopped) => ctx.stopped(stopped, paths::ACCOUNTS).await,
    }
}

pub async fn handle_create_account(ctx: &Ctx, name: String) -> Next {
    let signed = ctx.signed_or_sign_in().await?;
    let created = accounts::create(&ctx.state, &signed, &name).await;
    let typed = [("name", name.as_str())];
    let (id, name) = ctx.settle_keeping(created, paths::ACCOUNTS, &typed).await?;
    session::set_current_account(&ctx.session, Some(id)).await?;
    ctx.notice(format!("Account \"{name}\" created."), paths::HOME)
        .await
}
