//! Console sessions signed out before their expiry. The console seals its sessions in a
//! cookie; signing out adds the session's id here, so that the cookie, even if kept, no
//! longer opens a session, on every replica and after a restart. A revocation is kept until
//! the session would have expired anyway.

use crate::backend::Backend as _;
use crate::{Store, StoreError, dispatch};

/// Longest session id accepted (the console draws 43 characters).
const MAX_SESSION_ID: usize = 128;

impl Store {
    /// Revokes console session `session_id` until `expires_ms` (when it would have expired),
    /// and forgets revocations that expired before `now_ms`. Revoking twice is harmless.
    ///
    /// Errors: [`StoreError::InvalidSessionId`] for an empty or over-long id (nothing is
    /// written), else the backend's.
    pub async fn revoke_session(
        &self,
        session_id: &str,
        expires_ms: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if session_id.is_empty() || session_id.len() > MAX_SESSION_ID {
            return Err(StoreError::InvalidSessionId {
                len: session_id.len(),
            });
        }
        dispatch!(&self.db, b => b.revoke_session(session_id, expires_ms, now_ms).await)
    }

    /// The console sessions revoked and not yet expired at `now_ms`: `(session id, expiry in
    /// Unix milliseconds)`, in no particular order.
    pub async fn revoked_sessions(&self, now_ms: i64) -> Result<Vec<(String, i64)>, StoreError> {
        dispatch!(&self.db, b => b.revoked_sessions(now_ms).await)
    }
}
