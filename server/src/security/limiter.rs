//! Slows down credential guessing: after a few failures for one key (a
//! username, an address, a trigger), further attempts are refused for a
//! while; and only a few password checks (memory-hard, ~19 MiB each) run at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, SemaphorePermit};

/// Failed logins allowed per username and per address within `WINDOW`.
pub const MAX_FAILURES: u32 = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Bounds the memory the limiter may take under a flood of distinct keys.
const MAX_KEYS: usize = 100_000;
/// Password checks running at once: each holds ~19 MiB while it runs.
const MAX_VERIFYING: usize = 4;
/// How long a login waits for a turn to check its password before a 429.
const VERIFY_QUEUE_WAIT: Duration = Duration::from_secs(5);

/// What one login attempt is counted against.
#[derive(Debug, Clone)]
pub struct LoginKeys {
    pub username: String,
    pub address: String,
}

impl LoginKeys {
    fn all(&self) -> [String; 2] {
        [
            format!("user:{}", self.username.to_lowercase()),
            format!("ip:{}", self.address),
        ]
    }
}

/// Failures counted per key within a window; past `max`, refused until the
/// window of the first failure has passed.
pub struct Throttle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
    max: u32,
    window: Duration,
}

impl Throttle {
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            failures: Mutex::default(),
            max,
            window,
        }
    }

    /// Counts an attempt as failed before its credentials are checked, in
    /// one step with the check of the limit, so that attempts made at once
    /// cannot all pass the limit before any of them is counted. `Err` says
    /// how long to wait. An attempt that then succeeds is taken back with `uncount`.
    pub fn begin(&self, keys: &[String]) -> Result<(), Duration> {
        let mut failures = self.failures.lock().expect("throttle");
        let wait = keys
            .iter()
            .filter_map(|key| failures.get(key))
            .filter(|(count, first)| *count >= self.max && first.elapsed() < self.window)
            .map(|(_, first)| self.window - first.elapsed())
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        if failures.len() >= MAX_KEYS {
            failures.retain(|_, (_, first)| first.elapsed() < self.window);
        }
        for key in keys {
            let entry = failures.entry(key.clone()).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= self.window {
                *entry = (0, Instant::now());
            }
            entry.0 += 1;
        }
        Ok(())
    }

    /// The attempt begun on `keys` succeeded: it no longer counts.
    pub fn uncount(&self, keys: &[String]) {
        let mut failures = self.failures.lock().expect("throttle");
        for key in keys {
            if let Some(entry) = failures.get_mut(key) {
                entry.0 = entry.0.saturating_sub(1);
            }
        }
    }

    /// Forgets every failure of `key`.
    pub fn clear(&self, key: &str) {
        self.failures.lock().expect("throttle").remove(key);
    }
}

/// Failed calls of one trigger allowed within `TRIGGER_WINDOW`, from anywhere.
pub const TRIGGER_FAILURES: u32 = 20;
pub const TRIGGER_WINDOW: Duration = Duration::from_secs(60);

/// Wrong credentials on trigger URLs, counted per trigger.
pub fn trigger_throttle() -> Throttle {
    Throttle::new(TRIGGER_FAILURES, TRIGGER_WINDOW)
}

pub struct LoginLimiter {
    failures: Throttle,
    verifying: Semaphore,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self {
            failures: Throttle::new(MAX_FAILURES, WINDOW),
            verifying: Semaphore::new(MAX_VERIFYING),
        }
    }
}

impl LoginLimiter {
    /// Counts the attempt as failed until `succeeded` (see `Throttle::begin`).
    pub fn begin(&self, keys: &LoginKeys) -> Result<(), Duration> {
        self.failures.begin(&keys.all())
    }

    /// The password was right: the username starts afresh, and the attempt
    /// no longer counts against the address.
    pub fn succeeded(&self, keys: &LoginKeys) {
        let [user, address] = keys.all();
        self.failures.clear(&user);
        self.failures.uncount(&[address]);
    }

    /// The password was never checked (no turn came free): the attempt does not count.
    pub fn not_checked(&self, keys: &LoginKeys) {
        self.failures.uncount(&keys.all());
    }

    /// A turn to check a password; `None` if none came free in time.
    pub async fn verifying(&self) -> Option<SemaphorePermit<'_>> {
        tokio::time::timeout(VERIFY_QUEUE_WAIT, self.verifying.acquire())
            .await
            .ok()?
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(username: &str, address: &str) -> LoginKeys {
        LoginKeys {
            username: username.into(),
            address: address.into(),
        }
    }

    #[test]
    fn the_sixth_attempt_waits_however_many_began_at_once() {
        let limiter = LoginLimiter::default();
        let admin = keys("admin", "10.0.0.1");
        // Five attempts begun before any has ended: each is counted at once.
        for _ in 0..MAX_FAILURES {
            assert_eq!(limiter.begin(&admin), Ok(()));
        }
        let wait = limiter.begin(&admin).unwrap_err();
        assert!(wait > Duration::from_secs(14 * 60));
        // The username is limited from any address, in any case.
        assert!(limiter.begin(&keys("ADMIN", "10.0.0.2")).is_err());
        assert!(limiter.begin(&keys("viewer", "10.0.0.3")).is_ok());
    }

    #[test]
    fn a_success_clears_the_username_and_uncounts_the_address() {
        let limiter = LoginLimiter::default();
        let admin = keys("admin", "10.0.0.1");
        for _ in 0..MAX_FAILURES - 1 {
            limiter.begin(&admin).unwrap();
        }
        limiter.begin(&admin).unwrap();
        limiter.succeeded(&admin);
        // The address has four failures, not five: one more attempt may come.
        assert!(limiter.begin(&keys("other", "10.0.0.1")).is_ok());
        assert!(limiter.begin(&keys("other", "10.0.0.1")).is_err());
    }

    #[test]
    fn a_throttle_counts_per_key_and_takes_back_successes() {
        let throttle = Throttle::new(2, Duration::from_secs(60));
        let trigger = vec!["trigger:1".to_string()];
        throttle.begin(&trigger).unwrap();
        throttle.uncount(&trigger);
        throttle.begin(&trigger).unwrap();
        throttle.begin(&trigger).unwrap();
        assert!(throttle.begin(&trigger).is_err());
        assert!(throttle.begin(&["trigger:2".to_string()]).is_ok());
    }

    #[tokio::test]
    async fn only_a_few_passwords_are_checked_at_once() {
        let limiter = LoginLimiter::default();
        let mut held = Vec::new();
        for _ in 0..MAX_VERIFYING {
            held.push(limiter.verifying().await.unwrap());
        }
        assert_eq!(limiter.verifying.available_permits(), 0);
        drop(held.pop());
        assert!(limiter.verifying().await.is_some());
    }
}
