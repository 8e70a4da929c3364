//! The sign-in events of a person (signed in, failed, locked out, unlocked, reset), which the
//! activity log of every account they belong to shows. They belong to no account, so they are
//! written with the person as actor; failures are written after the answer, so an answer for
//! a known email takes no longer than one for an unknown one.
use crate::domain::audit::AuditEvent;
use crate::domain::ids::UserId;
use crate::AppState;

fn event(state: &AppState, user_id: &UserId, action: &str, detail: String) -> AuditEvent {
    AuditEvent {
        account_id: None,
        actor_user_id: Some(user_id.clone()),
        action: action.into(),
        detail: (!detail.is_empty()).then_some(detail),
        at: state.clock.now(),
    }
}

/// Records `action` (one of `domain::audit::SIGN_IN_ACTIONS`) for `user_id` after the answer
/// is sent; a failure to record is logged, never the sign-in's failure.
pub fn record(state: &AppState, user_id: &UserId, action: &'static str, detail: String) {
    let audit = event(state, user_id, action, detail);
    let store = state.store.clone();
    state.after_answer("recording a sign-in event", async move {
        store.record_audit(audit).await
    });
}

/// Records `action` for `user_id` now (a success: nothing to hide); a failure to record is
/// logged, never the sign-in's failure.
pub async fn record_now(state: &AppState, user_id: &UserId, action: &'static str, detail: String) {
    let audit = event(state, user_id, action, detail);
    if let Err(err) = state.store.record_audit(audit).await {
        tracing::error!(error = %err, "recording a sign-in event failed");
    }
}

/// "how, from where": "with a password, from 203.0.113.7 (Firefox on Linux)".
pub fn how_and_where(method: &str, ip: &str, device: &str) -> String {
    let mut text = format!("with {method}");
    if !ip.is_empty() {
        text.push_str(&format!(", from {ip}"));
    }
    if !device.is_empty() {
        text.push_str(&format!(" ({device})"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_from_reads_as_words() {
        assert_eq!(
            how_and_where("a passkey", "203.0.113.7", "Firefox on Linux"),
            "with a passkey, from 203.0.113.7 (Firefox on Linux)"
        );
        assert_eq!(how_and_where("a password", "", ""), "with a password");
    }
}
