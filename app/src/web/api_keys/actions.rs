//! The server functions of api keys's forms (under `/_fn`): each parses, calls its flow,
//! keeps the outcome in the session (a flash) and answers 303 to the next page.
use leptos::prelude::*;

use crate::domain::ids::ApiKeyId;
use crate::paths;

use crate::flows::api_keys;
use crate::web::api_keys::PATH;
use crate::web::forms::{Ctx, Next};

#[server(prefix = "/_fn", endpoint = "delete_api_key")]
pub async fn delete_api_key(id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_delete_api_key(&ctx, id).await;
    ctx.finish(result, paths::API_KEYS).await
}

pub async fn handle_delete_api_key(ctx: &Ctx, id: String) -> Next {
    let admin = ctx.admin(paths::HOME).await?;
    let deleted = api_keys::delete(&ctx.state, &admin, &ApiKeyId::from_input(&id)).await;
    ctx.settle(deleted, PATH).await?;
    ctx.notice(
        "The API key was deleted. Requests using it are refused from now on.",
        PATH,
    )
    .await
}
