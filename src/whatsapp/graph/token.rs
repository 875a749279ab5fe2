//! The access token a Graph API call is made with, kept out of logs.

use zeroize::Zeroizing;

/// A Meta access token (system user or business token). `Debug` prints a
/// placeholder and there is no `Display`, so the token cannot reach a log
/// line or an error text by accident. Memory is zeroed on drop.
#[derive(Clone)]
pub struct AccessToken(Zeroizing<String>);

impl AccessToken {
    /// Wraps a token given as text.
    pub fn new(token: impl Into<String>) -> AccessToken {
        AccessToken(Zeroizing::new(token.into()))
    }

    /// Wraps a token decrypted from the store; `None` when it is not UTF-8.
    pub fn from_utf8(bytes: &[u8]) -> Option<AccessToken> {
        std::str::from_utf8(bytes).ok().map(AccessToken::new)
    }

    /// Returns the token itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub(crate) fn bearer(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("Bearer {}", self.expose()))
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_token() {
        let token = AccessToken::new("EAAG-secret-value");
        let printed = format!("{token:?}");
        assert!(!printed.contains("secret"), "{printed}");
        assert_eq!(token.expose(), "EAAG-secret-value");
    }
}
