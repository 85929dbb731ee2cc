//! Secrets: bearer tokens, password hashes, encryption of stored credentials,
//! and the signatures senders put on what they send us.

mod cipher;
pub mod inbound;
mod password;
mod password_checks;
mod token;

pub use cipher::Cipher;
pub use password::{hash_password, random_password, verify_password};
pub use password_checks::PasswordChecks;
pub use token::{TokenHash, new_token};

use base64::Engine;
use rand::RngCore;

/// `n` bytes from the operating system's generator, base64url without padding.
pub fn random_text(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
