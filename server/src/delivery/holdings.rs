//! What this process's workers hold, against their bounds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::store::WorkerRoom;

/// How many deliveries this process's workers hold (running or waiting), per
/// webhook and in all, and the bytes of their events, against their bounds;
/// shared by the dispatch loop and the group committer. A published delivery
/// is leased to the workers only while there is room: beyond, it is written
/// unleased and waits in the outbox for a claim, instead of being handed over
/// only to be handed back. The bytes are counted per delivery, so a fan-out
/// of one large event counts it many times: an over-estimate, never an under-.
#[derive(Clone)]
pub struct Holdings(Arc<Mutex<Counts>>);

/// Limits on what the workers hold.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub per_webhook: usize,
    pub total: usize,
    pub bytes: usize,
}

struct Counts {
    per_webhook: HashMap<String, usize>,
    total: usize,
    bytes: usize,
    bounds: Bounds,
}

impl Counts {
    fn add(&mut self, webhook_id: &str, count: usize, bytes: usize) {
        match self.per_webhook.get_mut(webhook_id) {
            Some(held) => *held += count,
            None => {
                self.per_webhook.insert(webhook_id.to_string(), count);
            }
        }
        self.total += count;
        self.bytes += bytes;
    }
}

impl Holdings {
    pub fn new(bounds: Bounds) -> Self {
        Self(Arc::new(Mutex::new(Counts {
            per_webhook: HashMap::new(),
            total: 0,
            bytes: 0,
            bounds,
        })))
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.0.lock().expect("holdings")
    }

    /// Counts one more delivery of `bytes` for `webhook_id` if every bound leaves room for it.
    pub fn reserve(&self, webhook_id: &str, bytes: usize) -> bool {
        let mut counts = self.counts();
        let held = counts.per_webhook.get(webhook_id).copied().unwrap_or(0);
        let room = held < counts.bounds.per_webhook
            && counts.total < counts.bounds.total
            && counts.bytes + bytes <= counts.bounds.bytes;
        if room {
            counts.add(webhook_id, 1, bytes);
        }
        room
    }

    /// Counts one more, bounds or not: a claim sized its own room.
    pub fn add(&self, webhook_id: &str, bytes: usize) {
        self.counts().add(webhook_id, 1, bytes);
    }

    pub fn remove(&self, webhook_id: &str, bytes: usize) {
        self.remove_many(webhook_id, 1, bytes);
    }

    pub fn remove_many(&self, webhook_id: &str, count: usize, bytes: usize) {
        let mut counts = self.counts();
        if let Some(held) = counts.per_webhook.get_mut(webhook_id) {
            let count = count.min(*held);
            *held -= count;
            if *held == 0 {
                counts.per_webhook.remove(webhook_id);
            }
            counts.total -= count;
            counts.bytes = counts.bytes.saturating_sub(bytes);
        }
    }

    #[cfg(test)]
    pub fn count(&self, webhook_id: &str) -> usize {
        self.counts()
            .per_webhook
            .get(webhook_id)
            .copied()
            .unwrap_or(0)
    }

    /// What a claim may add now: deliveries, and bytes of their events.
    pub fn room(&self) -> (usize, usize) {
        let counts = self.counts();
        (
            counts.bounds.total.saturating_sub(counts.total),
            counts.bounds.bytes.saturating_sub(counts.bytes),
        )
    }

    /// Each webhook's count, for a claim running beside the dispatch loop.
    pub fn per_webhook(&self) -> HashMap<String, usize> {
        self.counts().per_webhook.clone()
    }
}

impl WorkerRoom for Holdings {
    fn reserve(&self, webhook_id: &str, bytes: usize) -> bool {
        Holdings::reserve(self, webhook_id, bytes)
    }

    fn give_back(&self, webhook_id: &str, count: usize, bytes: usize) {
        self.remove_many(webhook_id, count, bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_is_leased_no_more_than_its_share_nor_the_workers_more_than_all() {
        let holdings = Holdings::new(Bounds {
            per_webhook: 2,
            total: 3,
            bytes: 1_000,
        });
        assert!(holdings.reserve("wh_a", 10) && holdings.reserve("wh_a", 10));
        assert!(!holdings.reserve("wh_a", 10), "wh_a holds its share");
        assert!(holdings.reserve("wh_b", 10));
        assert!(
            !holdings.reserve("wh_c", 10),
            "the workers hold all they may"
        );
        // A failed commit gives its reservations back.
        holdings.remove_many("wh_a", 2, 20);
        assert_eq!(holdings.count("wh_a"), 0);
        assert_eq!(holdings.room(), (2, 990));
        assert!(holdings.reserve("wh_c", 10));
    }

    #[test]
    fn large_events_are_held_only_within_the_byte_budget() {
        let holdings = Holdings::new(Bounds {
            per_webhook: 100,
            total: 100,
            bytes: 1_000,
        });
        assert!(holdings.reserve("wh_a", 600));
        assert!(!holdings.reserve("wh_b", 600), "two would pass the budget");
        assert!(holdings.reserve("wh_b", 400), "a smaller one still fits");
        holdings.remove("wh_a", 600);
        assert!(holdings.reserve("wh_b", 600));
    }
}
