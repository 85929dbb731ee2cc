//! Users, their tokens, and the callers behind tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Position;
use crate::model::Role;
use crate::security::TokenHash;
use crate::time::now_ms;

/// The user behind a request's bearer token.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub id: String,
    pub username: String,
    pub role: Role,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// How long a token's caller is remembered without asking the database.
/// Changes made through this process (logout, a new password, a new role,
/// deactivation, deletion) forget every caller at once; the lifetime only
/// bounds what another process writing the same database could leave stale.
const CALLER_LIFETIME: Duration = Duration::from_secs(1);

/// Callers remembered at most; beyond, all are forgotten and found again.
const CALLERS_HELD: usize = 10_000;

/// The callers of recently seen tokens, by token hash, so that a busy client
/// costs one token lookup a second rather than one a request. Only tokens
/// found are remembered: a token stored a moment ago works at once.
#[derive(Clone, Default)]
pub(super) struct Callers(Arc<Mutex<Remembered>>);

#[derive(Default)]
struct Remembered {
    callers: HashMap<[u8; 32], Found>,
    /// Counts `forget`s, so that a lookup that raced a change is not remembered.
    generation: u64,
}

struct Found {
    caller: Caller,
    expires_at: Option<i64>,
    at: Instant,
}

impl Callers {
    /// The remembered caller of `hash`, or the generation to remember one under.
    pub(super) fn get(&self, hash: &TokenHash) -> Result<Caller, u64> {
        let remembered = self.0.lock().expect("callers");
        remembered
            .callers
            .get(&hash.0)
            .filter(|found| found.at.elapsed() < CALLER_LIFETIME)
            .filter(|found| found.expires_at.is_none_or(|at| at > now_ms()))
            .map(|found| found.caller.clone())
            .ok_or(remembered.generation)
    }

    pub(super) fn remember(
        &self,
        generation: u64,
        hash: TokenHash,
        caller: &Caller,
        expires_at: Option<i64>,
    ) {
        let mut remembered = self.0.lock().expect("callers");
        if remembered.generation != generation {
            return;
        }
        if remembered.callers.len() >= CALLERS_HELD {
            remembered.callers.clear();
        }
        let found = Found {
            caller: caller.clone(),
            expires_at,
            at: Instant::now(),
        };
        remembered.callers.insert(hash.0, found);
    }

    /// After any change to users or tokens.
    pub(super) fn forget(&self) {
        let mut remembered = self.0.lock().expect("callers");
        remembered.callers.clear();
        remembered.generation += 1;
    }
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
}

/// Where a token came from: a login (expires) or `--admin-token` (does not).
#[derive(Debug, Clone, Copy)]
pub enum TokenKind {
    Session { expires_at: i64 },
    Api,
}

/// A user as administrators manage them.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub username: String,
    pub role: Role,
    pub active: bool,
    pub created_at: i64,
}

/// What `delete_user` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserDeletion {
    Deleted,
    Missing,
    /// The user authored webhooks or triggers: deactivate instead.
    Referenced,
}

#[async_trait::async_trait]
pub trait UserStore: Send + Sync {
    async fn user_count(&self) -> anyhow::Result<i64>;

    /// Returns the new user's id, or `None` if a user has this name in any
    /// case (decided by the database, so that two at once cannot both win).
    async fn create_user(&self, user: NewUser<'_>) -> anyhow::Result<Option<String>>;

    /// The id and password hash of an active user, for logging in.
    async fn login_details(&self, username: &str) -> anyhow::Result<Option<(String, String)>>;

    async fn insert_token(
        &self,
        hash: TokenHash,
        user_id: &str,
        kind: TokenKind,
    ) -> anyhow::Result<()>;

    /// The oldest active administrator, who owns `--admin-token`.
    async fn first_admin(&self) -> anyhow::Result<Option<String>>;

    /// The active user a live token belongs to.
    async fn caller_for_token(&self, token: &str) -> anyhow::Result<Option<Caller>>;

    async fn users(&self, after: Option<Position<'_>>, limit: u32) -> anyhow::Result<Vec<User>>;

    async fn user(&self, id: &str) -> anyhow::Result<Option<User>>;

    /// Whether a user has this name, compared case-insensitively.
    async fn username_taken(&self, username: &str) -> anyhow::Result<bool>;

    /// Active administrators other than `except`.
    async fn other_active_admins(&self, except: &str) -> anyhow::Result<i64>;

    /// Changes what is given; a new password or deactivation also ends the user's sessions.
    async fn update_user(
        &self,
        id: &str,
        role: Option<Role>,
        active: Option<bool>,
        password_hash: Option<&str>,
    ) -> anyhow::Result<bool>;

    async fn delete_user(&self, id: &str) -> anyhow::Result<UserDeletion>;

    /// Logs a token out.
    async fn revoke_token(&self, token: &str) -> anyhow::Result<bool>;
}
