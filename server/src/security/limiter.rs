//! Slows down password guessing: after a few failed logins for one username
//! or from one address, further attempts are refused for a while.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins allowed per username and per address within `WINDOW`.
pub const MAX_FAILURES: u32 = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Bounds the memory the limiter may take under a flood of distinct keys.
const MAX_KEYS: usize = 100_000;

#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginLimiter {
    /// How long the caller must wait before trying again, if at all.
    pub fn wait(&self, keys: &[String]) -> Option<Duration> {
        let failures = self.failures.lock().expect("limiter");
        keys.iter()
            .filter_map(|key| failures.get(key))
            .filter(|(count, first)| *count >= MAX_FAILURES && first.elapsed() < WINDOW)
            .map(|(_, first)| WINDOW - first.elapsed())
            .max()
    }

    pub fn failed(&self, keys: &[String]) {
        let mut failures = self.failures.lock().expect("limiter");
        if failures.len() >= MAX_KEYS {
            failures.retain(|_, (_, first)| first.elapsed() < WINDOW);
        }
        for key in keys {
            let entry = failures.entry(key.clone()).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= WINDOW {
                *entry = (0, Instant::now());
            }
            entry.0 += 1;
        }
    }

    pub fn succeeded(&self, keys: &[String]) {
        let mut failures = self.failures.lock().expect("limiter");
        for key in keys {
            failures.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_attempt_after_five_failures_waits() {
        let limiter = LoginLimiter::default();
        let keys = vec!["user:admin".to_string()];
        for _ in 0..MAX_FAILURES {
            assert_eq!(limiter.wait(&keys), None);
            limiter.failed(&keys);
        }
        assert!(
            limiter
                .wait(&keys)
                .is_some_and(|w| w > Duration::from_secs(14 * 60))
        );
        limiter.succeeded(&keys);
        assert_eq!(limiter.wait(&keys), None);
    }
}
