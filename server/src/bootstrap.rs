//! What a fresh database needs before anyone can log in.

use crate::model::Role;
use anyhow::{Context, bail};

use crate::config::Config;
use crate::security::{Cipher, TokenHash, hash_password, random_password};
use crate::store::{NewUser, Sealed, Store, TokenKind};

/// Tokens given with `--admin-token` must be at least this long.
const MIN_ADMIN_TOKEN: usize = 16;

pub async fn prepare(store: &Store, config: &Config, cipher: &Cipher) -> anyhow::Result<()> {
    seal_plaintext_headers(store, cipher).await?;
    if store.user_count().await? == 0 {
        create_first_admin(store, config.admin_password.clone()).await?;
    }
    if let Some(token) = &config.admin_token {
        if token.len() < MIN_ADMIN_TOKEN {
            bail!("--admin-token must be at least {MIN_ADMIN_TOKEN} characters");
        }
        let admin = store
            .first_admin()
            .await?
            .context("no active administrator to own --admin-token")?;
        store
            .insert_token(TokenHash::of(token), &admin, TokenKind::Api)
            .await?;
    }
    Ok(())
}

/// Seals the extra header values that an earlier version stored in the clear.
/// The clear values are then scrubbed from the files, not just overwritten.
async fn seal_plaintext_headers(store: &Store, cipher: &Cipher) -> anyhow::Result<()> {
    let plaintext = store.plaintext_headers().await?;
    if plaintext.is_empty() {
        return Ok(());
    }
    for (id, headers) in &plaintext {
        let sealed = headers
            .iter()
            .map(|(name, value)| (name.clone(), Sealed(cipher.seal(value))))
            .collect();
        store.seal_headers(id, &sealed).await?;
    }
    store
        .scrub()
        .await
        .context("scrubbing the clear header values")?;
    tracing::info!(
        webhooks = plaintext.len(),
        "sealed the extra header values stored in the clear"
    );
    Ok(())
}

async fn create_first_admin(store: &Store, password: Option<String>) -> anyhow::Result<()> {
    let chosen = password.is_some();
    let password = password.unwrap_or_else(random_password);
    let hash = {
        let password = password.clone();
        tokio::task::spawn_blocking(move || hash_password(&password)).await??
    };
    let created = store
        .create_user(NewUser {
            username: "admin",
            password_hash: &hash,
            role: Role::Admin,
        })
        .await?;
    if created.is_none() {
        // Another instance sharing the database, starting at the same time, made it.
        tracing::info!("user `admin` was created by another instance");
        return Ok(());
    }
    if chosen {
        tracing::info!("created user `admin` with the password from HOOKHUB_ADMIN_PASSWORD");
    } else {
        // Printed once to the terminal, deliberately not through tracing, so
        // that the password does not end up in collected logs.
        eprintln!(
            "\n  hookhub: created user `admin` with the one-time password\n\n      {password}\n\n  \
             It is shown only now. Log in at the console and keep it safe.\n"
        );
    }
    Ok(())
}
