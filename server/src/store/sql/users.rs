//! Users, their tokens, and the callers behind tokens.

use anyhow::Context;
use sqlx::Row;

use super::Backend;
use crate::model::Role;
use crate::security::TokenHash;
use crate::store::{
    Caller, Dialect, FIRST, NewUser, Position, TokenKind, User, UserDeletion, UserStore, new_id,
};
use crate::time::now_ms;

#[async_trait::async_trait]
impl UserStore for Backend {
    async fn user_count(&self) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(self.reader())
            .await?)
    }

    async fn create_user(&self, user: NewUser<'_>) -> anyhow::Result<Option<String>> {
        let id = new_id("usr");
        let inserted = sqlx::query(
            "INSERT INTO users (id, username, password_hash, role, active, created_at)
             VALUES ($1, $2, $3, $4, TRUE, $5)",
        )
        .bind(&id)
        .bind(user.username)
        .bind(user.password_hash)
        .bind(user.role.as_str())
        .bind(now_ms())
        .execute(self.writer())
        .await;
        match inserted {
            Ok(_) => Ok(Some(id)),
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => Ok(None),
            Err(error) => Err(anyhow::Error::new(error).context("creating a user")),
        }
    }

    async fn login_details(&self, username: &str) -> anyhow::Result<Option<(String, String)>> {
        let row = sqlx::query(
            "SELECT id, password_hash FROM users WHERE lower(username) = lower($1) AND active",
        )
        .bind(username)
        .fetch_optional(self.reader())
        .await?;
        Ok(row.map(|row| (row.get("id"), row.get("password_hash"))))
    }

    async fn insert_token(
        &self,
        hash: TokenHash,
        user_id: &str,
        kind: TokenKind,
    ) -> anyhow::Result<()> {
        let (kind, expires_at) = match kind {
            TokenKind::Session { expires_at } => ("session", Some(expires_at)),
            TokenKind::Api => ("api", None),
        };
        sqlx::query(
            "INSERT INTO api_tokens (token_hash, user_id, kind, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (token_hash) DO NOTHING",
        )
        .bind(hash.0.as_slice())
        .bind(user_id)
        .bind(kind)
        .bind(now_ms())
        .bind(expires_at)
        .execute(self.writer())
        .await
        .context("storing a token")?;
        Ok(())
    }

    async fn first_admin(&self) -> anyhow::Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM users WHERE role = 'admin' AND active ORDER BY created_at, id LIMIT 1",
        )
        .fetch_optional(self.reader())
        .await?)
    }

    async fn caller_for_token(&self, token: &str) -> anyhow::Result<Option<Caller>> {
        let hash = TokenHash::of(token);
        let generation = match self.callers.get(&hash) {
            Ok(caller) => return Ok(Some(caller)),
            Err(generation) => generation,
        };
        let row: Option<CallerRow> = sqlx::query_as(&format!(
            "{SELECT_CALLER} WHERE t.token_hash = $1 AND u.active
               AND (t.expires_at IS NULL OR t.expires_at > $2)"
        ))
        .bind(hash.0.as_slice())
        .bind(now_ms())
        .fetch_optional(self.reader())
        .await?;
        let Some((caller, expires_at)) = row.map(|row| row.caller_of(token)).transpose()?.flatten()
        else {
            return Ok(None);
        };
        self.callers.remember(generation, hash, &caller, expires_at);
        Ok(Some(caller))
    }

    async fn users(&self, after: Option<Position<'_>>, limit: u32) -> anyhow::Result<Vec<User>> {
        let (created_at, id) = after.unwrap_or(FIRST);
        let rows: Vec<UserRow> = sqlx::query_as(
            "SELECT id, username, role, active, created_at FROM users
             WHERE (created_at, id) > ($1, $2) ORDER BY created_at, id LIMIT $3",
        )
        .bind(created_at)
        .bind(id)
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(User::try_from).collect()
    }

    async fn user(&self, id: &str) -> anyhow::Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT id, username, role, active, created_at FROM users WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.reader())
        .await?;
        row.map(User::try_from).transpose()
    }

    async fn username_taken(&self, username: &str) -> anyhow::Result<bool> {
        let found: Option<String> =
            sqlx::query_scalar("SELECT id FROM users WHERE lower(username) = lower($1)")
                .bind(username)
                .fetch_optional(self.reader())
                .await?;
        Ok(found.is_some())
    }

    async fn other_active_admins(&self, except: &str) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE role = 'admin' AND active AND id != $1",
        )
        .bind(except)
        .fetch_one(self.reader())
        .await?)
    }

    async fn update_user(
        &self,
        id: &str,
        role: Option<Role>,
        active: Option<bool>,
        password_hash: Option<&str>,
    ) -> anyhow::Result<bool> {
        let mut tx = self.writer().begin().await?;
        let result = sqlx::query(
            "UPDATE users SET role = COALESCE($1, role), active = COALESCE($2, active),
                 password_hash = COALESCE($3, password_hash)
             WHERE id = $4",
        )
        .bind(role.map(Role::as_str))
        .bind(active)
        .bind(password_hash)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if password_hash.is_some() || active == Some(false) {
            sqlx::query("DELETE FROM api_tokens WHERE user_id = $1 AND kind = 'session'")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.callers.forget();
        Ok(result.rows_affected() == 1)
    }

    async fn delete_user(&self, id: &str) -> anyhow::Result<UserDeletion> {
        let result = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(self.writer())
            .await;
        self.callers.forget();
        match result {
            Ok(done) if done.rows_affected() == 1 => Ok(UserDeletion::Deleted),
            Ok(_) => Ok(UserDeletion::Missing),
            Err(sqlx::Error::Database(error)) if error.is_foreign_key_violation() => {
                Ok(UserDeletion::Referenced)
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn revoke_token(&self, token: &str) -> anyhow::Result<bool> {
        let revoked =
            sqlx::query("DELETE FROM api_tokens WHERE token_hash = $1 AND kind = 'session'")
                .bind(TokenHash::of(token).0.as_slice())
                .execute(self.writer())
                .await?
                .rows_affected();
        self.callers.forget();
        Ok(revoked > 0)
    }
}

fn parse_role(text: &str) -> anyhow::Result<Role> {
    Role::parse(text).with_context(|| format!("unknown role `{text}` in the database"))
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    username: String,
    role: String,
    active: bool,
    created_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = anyhow::Error;

    fn try_from(row: UserRow) -> anyhow::Result<Self> {
        Ok(User {
            id: row.id,
            username: row.username,
            role: parse_role(&row.role)?,
            active: row.active,
            created_at: row.created_at,
        })
    }
}

/// The user behind a token, `t` the tokens and `u` the users.
const SELECT_CALLER: &str = "SELECT t.token_hash, t.expires_at, u.id, u.username, u.role
    FROM api_tokens t JOIN users u ON u.id = t.user_id";

#[derive(sqlx::FromRow)]
struct CallerRow {
    token_hash: Vec<u8>,
    expires_at: Option<i64>,
    id: String,
    username: String,
    role: String,
}

impl CallerRow {
    /// The caller, and until when its token lives, if the row's hash is that
    /// of `token`: the index found the row by hash, and this compares once
    /// more in constant time, so that no code path compares token material
    /// with an early exit.
    pub fn caller_of(self, token: &str) -> anyhow::Result<Option<(Caller, Option<i64>)>> {
        let Ok(stored) = <[u8; 32]>::try_from(self.token_hash.as_slice()) else {
            return Ok(None);
        };
        if !TokenHash(stored).matches(token) {
            return Ok(None);
        }
        let caller = Caller {
            id: self.id,
            username: self.username,
            role: parse_role(&self.role)?,
        };
        Ok(Some((caller, self.expires_at)))
    }
}
