//! Who is calling and what they may do: scopes and the principal that an
//! API key (or, later, an OAuth token) resolves to.

use crate::store::{AccountId, ApiKeyId, UserId};

/// One permission a credential can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    Read,
    Write,
    Send,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Write, Scope::Send];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Send => "send",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Scope::Read => 1,
            Scope::Write => 2,
            Scope::Send => 4,
        }
    }
}

/// A set of scopes. OAuth scope names are folded in here: `messages:read`,
/// `conversations:read` and `templates:read` grant `read`, and
/// `messages:write` grants `write` and `send`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scopes(u8);

/// A scope name that Pons does not know.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown scope {0:?}; valid scopes are read, write and send")]
pub struct UnknownScope(pub String);

impl Scopes {
    pub fn empty() -> Scopes {
        Scopes(0)
    }

    pub fn with(self, scope: Scope) -> Scopes {
        Scopes(self.0 | scope.bit())
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Parses scope names separated by commas or spaces.
    pub fn parse(text: &str) -> Result<Scopes, UnknownScope> {
        let mut scopes = Scopes::empty();
        for name in text
            .split([',', ' '])
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            scopes = match name {
                "read" | "messages:read" | "conversations:read" | "templates:read" => {
                    scopes.with(Scope::Read)
                }
                "write" => scopes.with(Scope::Write),
                "send" => scopes.with(Scope::Send),
                "messages:write" => scopes.with(Scope::Write).with(Scope::Send),
                other => return Err(UnknownScope(other.to_owned())),
            };
        }
        Ok(scopes)
    }

    /// The canonical names, in the order read, write, send.
    pub fn names(self) -> Vec<String> {
        Scope::ALL
            .iter()
            .filter(|s| self.contains(**s))
            .map(|s| s.as_str().to_owned())
            .collect()
    }
}

/// The caller of one request, resolved from its credential.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user_id: UserId,
    pub key_id: ApiKeyId,
    pub scopes: Scopes,
    /// Accounts the credential is limited to; empty means every account
    /// the user is a member of at the time of the request.
    pub only_accounts: Vec<AccountId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_folds_oauth_names() {
        let scopes = Scopes::parse("messages:write, templates:read").unwrap();
        assert!(scopes.contains(Scope::Read));
        assert!(scopes.contains(Scope::Write));
        assert!(scopes.contains(Scope::Send));
    }

    #[test]
    fn parse_rejects_unknown_name() {
        assert_eq!(
            Scopes::parse("read,admin"),
            Err(UnknownScope("admin".into()))
        );
    }

    #[test]
    fn names_are_canonical() {
        assert_eq!(
            Scopes::parse("send read").unwrap().names(),
            ["read", "send"]
        );
        assert!(Scopes::parse("").unwrap().names().is_empty());
    }
}
