use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::random_text;

/// A new bearer token: `hh_` and 256 random bits.
pub fn new_token() -> String {
    format!("hh_{}", random_text(32))
}

/// What the database keeps of a token: its SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// Constant-time, so that timing tells nothing about how much of a token was right.
    pub fn matches(&self, token: &str) -> bool {
        Self::of(token).0.ct_eq(&self.0).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_matches_its_own_hash_only() {
        let token = new_token();
        let hash = TokenHash::of(&token);
        assert!(hash.matches(&token));
        assert!(!hash.matches(&new_token()));
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (new_token(), new_token());
        assert!(a.starts_with("hh_") && a.len() >= 43);
        assert_ne!(a, b);
    }
}
