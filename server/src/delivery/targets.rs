//! Webhooks as the workers need them: how to reach each (secrets opened) and
//! whether it is on, read once a second at most per webhook.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::request::{Credentials, Target};
use super::signing;
use crate::config::RetrySchedule;
use crate::security::Cipher;
use crate::store::{Store, StoredAuth};

/// How long a webhook's settings are reused before being read again. Changes
/// made through this instance take effect at once (`forget`); those made
/// through another instance sharing the database, within this time.
const TARGET_TTL: Duration = Duration::from_secs(1);

/// A webhook as the workers need it: how to reach it, and whether it is on.
#[derive(Debug, Clone)]
pub(super) struct Loaded {
    pub target: Target,
    pub active: bool,
    /// Its own retry schedule, if it has one.
    pub schedule: Option<RetrySchedule>,
}

pub(super) struct Targets {
    store: Store,
    cipher: Cipher,
    cache: Mutex<HashMap<String, (Instant, Option<Loaded>)>>,
}

impl Targets {
    pub fn new(store: Store, cipher: Cipher) -> Self {
        Self {
            store,
            cipher,
            cache: Mutex::default(),
        }
    }

    /// Drops what is cached of a webhook that changed.
    pub fn forget(&self, webhook_id: &str) {
        self.cache.lock().expect("target cache").remove(webhook_id);
    }

    /// `load`, reused for up to `TARGET_TTL`.
    pub async fn cached(&self, webhook_id: &str) -> anyhow::Result<Option<Loaded>> {
        if let Some((read_at, loaded)) = self.cache.lock().expect("target cache").get(webhook_id)
            && read_at.elapsed() < TARGET_TTL
        {
            return Ok(loaded.clone());
        }
        let loaded = self.load(webhook_id).await?;
        let entry = (Instant::now(), loaded.clone());
        self.cache
            .lock()
            .expect("target cache")
            .insert(webhook_id.to_string(), entry);
        Ok(loaded)
    }

    /// The webhook's request settings with its secrets opened, and whether
    /// it is active; `None` if it is gone.
    pub async fn load(&self, webhook_id: &str) -> anyhow::Result<Option<Loaded>> {
        let Some(webhook) = self.store.webhook(webhook_id).await? else {
            return Ok(None);
        };
        let Some(secrets) = self.store.signing_secrets(webhook_id).await? else {
            return Ok(None);
        };
        let settings = webhook.settings;
        let credentials = match settings.auth {
            StoredAuth::None => Credentials::None,
            StoredAuth::Basic { username, password } => Credentials::Basic {
                username,
                password: self.cipher.open(&password.0)?,
            },
            StoredAuth::Bearer { token } => Credentials::Bearer {
                token: self.cipher.open(&token.0)?,
            },
        };
        let mut signing_keys = Vec::new();
        for sealed in std::iter::once(&secrets.current).chain(secrets.previous.as_ref()) {
            let secret = self.cipher.open(&sealed.0)?;
            signing_keys.push(
                signing::secret_key(&secret).context("a stored signing secret is not whsec_")?,
            );
        }
        let mut headers = BTreeMap::new();
        for (name, sealed) in settings.headers {
            headers.insert(name, self.cipher.open(&sealed.0)?);
        }
        let target = Target {
            url: settings.url,
            method: settings.method,
            credentials,
            headers,
            data_location: settings.data_location,
            signing_keys,
        };
        Ok(Some(Loaded {
            target,
            active: settings.active,
            schedule: settings.retry_schedule.map(RetrySchedule),
        }))
    }
}
