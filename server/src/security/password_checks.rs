//! Only a few password checks (memory-hard, ~19 MiB each) run at once.
//! (Failed credentials are slowed down by `http::throttle`.)

use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

/// Password checks running at once: each holds ~19 MiB while it runs.
const MAX_VERIFYING: usize = 4;
/// How long a login waits for a turn to check its password before a 429.
const VERIFY_QUEUE_WAIT: Duration = Duration::from_secs(5);

pub struct PasswordChecks {
    turns: Semaphore,
}

impl Default for PasswordChecks {
    fn default() -> Self {
        Self {
            turns: Semaphore::new(MAX_VERIFYING),
        }
    }
}

impl PasswordChecks {
    /// A turn to check a password; `None` if none came free in time.
    pub async fn turn(&self) -> Option<SemaphorePermit<'_>> {
        tokio::time::timeout(VERIFY_QUEUE_WAIT, self.turns.acquire())
            .await
            .ok()?
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_a_few_passwords_are_checked_at_once() {
        let checks = PasswordChecks::default();
        let mut held = Vec::new();
        for _ in 0..MAX_VERIFYING {
            held.push(checks.turn().await.unwrap());
        }
        assert_eq!(checks.turns.available_permits(), 0);
        drop(held.pop());
        assert!(checks.turn().await.is_some());
    }
}
