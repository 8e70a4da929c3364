//! Issuing the one-time tokens behind emailed links.
use crate::domain::ids::UserId;
use crate::domain::tokens::{new_link_token, TokenPurpose};
use crate::flows::FlowError;
use crate::paths;
use crate::AppState;

/// Creates a token for `purpose` and returns the absolute link that carries it.
pub async fn issue_link(
    state: &AppState,
    user_id: &UserId,
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
        .link(&paths::with_token(paths::link_page(purpose), raw.expose())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::prelude::*;
    use crate::testing::{token_of, Harness, PASSWORD};

    #[tokio::test]
    async fn a_link_carries_a_token_live_for_its_purpose_and_lifetime() {
        let h = Harness::new();
        let (user_id, _) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let link = issue_link(&h.state, &user_id, TokenPurpose::Reset)
            .await
            .unwrap();
        assert!(link.starts_with("http://hub.test/reset?token="));
        let hash = token_of(&link);
        let live = |purpose, at| h.store.token_is_live(purpose, &hash, at);
        assert!(live(TokenPurpose::Reset, h.now()).await.unwrap());
        assert!(!live(TokenPurpose::Unlock, h.now()).await.unwrap());
        let end = h.now().plus(TokenPurpose::Reset.lifetime());
        assert!(!live(TokenPurpose::Reset, end).await.unwrap());
        let unlock = issue_link(&h.state, &user_id, TokenPurpose::Unlock)
            .await
            .unwrap();
        assert!(unlock.starts_with("http://hub.test/unlock?token="));
        assert_ne!(token_of(&unlock), hash, "every link has its own token");
    }
}
