//! Issuing the one-time tokens behind emailed links.
use crate::domain::tokens::{new_link_token, TokenPurpose};
use crate::flows::FlowError;
use crate::AppState;

/// Creates a token for `purpose` and returns the absolute link that carries it.
pub async fn issue_link(
    state: &AppState,
    user_id: &str,
    purpose: TokenPurpose,
) -> Result<String, FlowError> {
    let (raw, hash) = new_link_token();
    let now = state.clock.now();
    state
        .store
        .insert_token(user_id, purpose, &hash, now.plus(purpose.lifetime()), now)
        .await?;
    Ok(state
        .config
        .link(&format!("/{}?token={}", purpose.as_str(), raw.expose())))
}
