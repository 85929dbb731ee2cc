//! Slows credential guessing down without locking anyone out.
//!
//! Failures are counted per key, in the database so that every instance sees
//! the same counts: per account and address (a username or a trigger, and the
//! caller's address), and per address across every account. After a key's
//! first few failures, each further attempt on it waits twice as long as the
//! one before — 1 s, 2 s, 4 s, … at most 15 minutes — and a key is forgotten
//! 15 minutes after its last failure; a success forgets its account-and-address
//! key at once. Nothing is counted per account alone, so someone else's wrong
//! guesses, from however many addresses, never keep the right credentials from
//! a clean address out. Guessing from many addresses at once is bounded by
//! each address's own allowance and, for logins, by the few memory-hard
//! password checks that run at a time.

use std::time::Duration;

use crate::store::{STRIKE_MEMORY, Store, Strikes};
use crate::time::now_ms;

/// The longest wait between two attempts on one key.
pub const LONGEST_WAIT: Duration = Duration::from_secs(15 * 60);

/// Failures of one username from one address before attempts slow down.
pub const LOGIN_FREE: u32 = 5;
/// Failures of one trigger's credentials from one address before calls slow down.
pub const TRIGGER_FREE: u32 = 5;
/// Failures from one address, on any accounts, before its attempts slow down.
pub const ADDRESS_FREE: u32 = 20;

/// What an attempt is counted against, and how many failures it gets free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    name: String,
    free: u32,
}

impl Key {
    pub fn login(username: &str, address: &str) -> Self {
        Self {
            name: format!("login {address} {}", username.to_lowercase()),
            free: LOGIN_FREE,
        }
    }

    pub fn trigger(trigger_id: &str, address: &str) -> Self {
        Self {
            name: format!("trigger {address} {trigger_id}"),
            free: TRIGGER_FREE,
        }
    }

    pub fn address(address: &str) -> Self {
        Self {
            name: format!("address {address}"),
            free: ADDRESS_FREE,
        }
    }
}

fn names(keys: &[Key]) -> Vec<String> {
    keys.iter().map(|key| key.name.clone()).collect()
}

/// The wait after a key's `failures`th failure.
fn wait_after(failures: u32, free: u32) -> i64 {
    if failures < free {
        return 0;
    }
    let doublings = (failures - free).min(20);
    (1000_i64 << doublings).min(LONGEST_WAIT.as_millis() as i64)
}

/// A key's strikes after one more failure at `now`.
fn struck(current: Option<Strikes>, free: u32, now: i64) -> Strikes {
    let failures = match current {
        Some(strikes) if now - strikes.last_failure < STRIKE_MEMORY.as_millis() as i64 => {
            strikes.failures.saturating_add(1)
        }
        _ => 1,
    };
    Strikes {
        failures,
        last_failure: now,
        allowed_at: now + wait_after(failures, free),
    }
}

/// A key's strikes with one failure taken back.
fn unstruck(strikes: Strikes, free: u32) -> Strikes {
    let failures = strikes.failures.saturating_sub(1);
    Strikes {
        failures,
        allowed_at: strikes.last_failure + wait_after(failures, free),
        ..strikes
    }
}

/// How long until every key takes another attempt, if it must wait at all.
fn wait(current: &[Option<Strikes>], now: i64) -> Option<Duration> {
    let until = current.iter().flatten().map(|s| s.allowed_at).max()?;
    (until > now).then(|| Duration::from_millis((until - now) as u64))
}

/// Counts an attempt on `keys` as failed before its credentials are
/// checked, in one step with the check of its wait, so that attempts made
/// at once cannot all go ahead before any of them is counted. `Err` says
/// how long to wait. An attempt that then proves right is taken back with
/// [`succeeded`], one never checked with [`not_checked`].
pub async fn begin(store: &Store, keys: &[Key]) -> anyhow::Result<Result<(), Duration>> {
    let now = now_ms();
    let change = |current: &[Option<Strikes>]| {
        if wait(current, now).is_some() {
            return None;
        }
        let next = keys.iter().zip(current);
        Some(next.map(|(key, s)| struck(*s, key.free, now)).collect())
    };
    let (current, counted) = store.change_strikes(&names(keys), &change).await?;
    match counted {
        true => Ok(Ok(())),
        false => Ok(Err(wait(&current, now).unwrap_or(Duration::from_secs(1)))),
    }
}

/// How long `keys` must wait before an attempt, read without counting one;
/// and whether any of them holds a failure (which a success should clear).
pub async fn waiting(store: &Store, keys: &[Key]) -> anyhow::Result<(Option<Duration>, bool)> {
    let current = store.strikes(&names(keys)).await?;
    let struck = current.iter().any(Option::is_some);
    Ok((wait(&current, now_ms()), struck))
}

/// Counts a failure on `keys` after the check.
pub async fn failed(store: &Store, keys: &[Key]) -> anyhow::Result<()> {
    let now = now_ms();
    let change = |current: &[Option<Strikes>]| {
        let next = keys.iter().zip(current);
        Some(next.map(|(key, s)| struck(*s, key.free, now)).collect())
    };
    store.change_strikes(&names(keys), &change).await?;
    Ok(())
}

/// The credentials proved right: `forget` starts afresh, and the attempt
/// no longer counts against `uncount`.
pub async fn succeeded(store: &Store, forget: &[Key], uncount: &[Key]) -> anyhow::Result<()> {
    let keys: Vec<Key> = forget.iter().chain(uncount).cloned().collect();
    let change = |current: &[Option<Strikes>]| {
        let next = keys.iter().zip(current).enumerate();
        Some(
            next.map(|(n, (key, strikes))| match strikes {
                Some(strikes) if n >= forget.len() => unstruck(*strikes, key.free),
                _ => Strikes::default(),
            })
            .collect(),
        )
    };
    store.change_strikes(&names(&keys), &change).await?;
    Ok(())
}

/// The attempt begun on `keys` was never checked: it does not count.
pub async fn not_checked(store: &Store, keys: &[Key]) -> anyhow::Result<()> {
    succeeded(store, &[], keys).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_the_free_failures_up_to_fifteen_minutes() {
        let waits: Vec<i64> = (1..=8).map(|n| wait_after(n, 5)).collect();
        assert_eq!(waits, [0, 0, 0, 0, 1000, 2000, 4000, 8000]);
        assert_eq!(wait_after(40, 5), 15 * 60 * 1000);
        assert_eq!(wait_after(u32::MAX, 5), 15 * 60 * 1000);
    }

    #[test]
    fn failures_are_forgotten_a_while_after_the_last() {
        let now = 10_000_000;
        let recent = Strikes {
            failures: 7,
            last_failure: now - 1000,
            allowed_at: now - 1,
        };
        assert_eq!(struck(Some(recent), 5, now).failures, 8);
        assert_eq!(struck(Some(recent), 5, now).allowed_at, now + 8000);
        let old = Strikes {
            last_failure: now - STRIKE_MEMORY.as_millis() as i64,
            ..recent
        };
        assert_eq!(struck(Some(old), 5, now).failures, 1);
        assert_eq!(struck(None, 5, now).allowed_at, now);
    }

    #[test]
    fn the_longest_wait_of_the_keys_counts() {
        let at = |allowed_at| {
            Some(Strikes {
                failures: 9,
                last_failure: 0,
                allowed_at,
            })
        };
        assert_eq!(
            wait(&[at(50), None, at(2000)], 1000),
            Some(Duration::from_secs(1))
        );
        assert_eq!(wait(&[at(50), None], 1000), None);
        assert_eq!(wait(&[], 1000), None);
    }

    #[test]
    fn keys_name_the_account_in_any_case_and_the_address() {
        assert_eq!(
            Key::login("Admin", "10.0.0.1"),
            Key::login("admin", "10.0.0.1")
        );
        assert_ne!(
            Key::login("admin", "10.0.0.1"),
            Key::login("admin", "10.0.0.2")
        );
        assert_ne!(
            Key::trigger("trg_1", "10.0.0.1").name,
            Key::address("10.0.0.1").name
        );
    }
}
