//! The server functions of the Security pages' forms (under `/_fn`): each parses, calls its
//! flow, keeps the outcome in the session (a flash) and answers 303 to the next page.
use leptos::prelude::*;

use crate::flows::second_factors;
use crate::paths;
use crate::web::forms::{Ctx, Next};

/// Removes the authenticator app (and the recovery codes), given a current code or a
/// recovery code.
#[server(prefix = "/_fn", endpoint = "remove_two_factor")]
pub async fn remove_two_factor(code: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_remove_two_factor(&ctx, code).await;
    ctx.finish(result, paths::SECURITY_TWO_FACTOR).await
}

pub async fn handle_remove_two_factor(ctx: &Ctx, code: String) -> Next {
    let signed = ctx.signed_or_sign_in().await?;
    let removed = second_factors::remove(&ctx.state, &signed, &code).await;
    ctx.settle(removed, paths::SECURITY_TWO_FACTOR).await?;
    ctx.notice(
        "Two-factor authentication is off: the authenticator app and its recovery codes were removed.",
        paths::SECURITY,
    )
    .await
}
