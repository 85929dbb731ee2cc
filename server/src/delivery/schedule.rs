//! When to try again.

use std::time::Duration;

use crate::config::RetrySchedule;
use crate::store::Next;

/// The answer that ends a delivery at once and switches its webhook off:
/// the receiver says it is gone for good.
pub const GONE: u16 = 410;

/// Whether a failed attempt is tried again on the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retries {
    /// A scheduled delivery: retried until the schedule ends.
    OnSchedule,
    /// Test and Redeliver: one attempt, whatever it gives.
    Never,
}

/// What an attempt gave: success, or a failure with the receiver's
/// `Retry-After`, if it sent one.
pub type Answered = Result<(), Option<Duration>>;

/// What becomes of a delivery after its attempt number `attempt` (1-based):
/// done, tried again at a time (`now_ms` plus the schedule's step, spread by
/// `unit_random`), or failed for good. Pure, so that tests pass the time and
/// the randomness.
pub fn next_step(
    schedule: &RetrySchedule,
    attempt: u32,
    answered: Answered,
    retries: Retries,
    now_ms: i64,
    unit_random: f64,
) -> Next {
    let retry_after = match (answered, retries) {
        (Ok(()), _) => return Next::Succeeded,
        (Err(_), Retries::Never) => return Next::Failed,
        (Err(retry_after), Retries::OnSchedule) => retry_after,
    };
    match retry_delay(schedule, attempt, retry_after) {
        Some(delay) => {
            let delay = with_jitter(delay, unit_random);
            Next::RetryAt(now_ms + delay.as_millis() as i64)
        }
        None => Next::Failed,
    }
}

/// The wait after failed attempt number `attempt` (1-based), or `None` when the
/// schedule is exhausted and the delivery has failed. A `Retry-After` from the
/// receiver lengthens the wait, but never beyond the schedule's next step.
pub fn retry_delay(
    schedule: &RetrySchedule,
    attempt: u32,
    retry_after: Option<Duration>,
) -> Option<Duration> {
    let index = usize::try_from(attempt).ok()?.checked_sub(1)?;
    let step = *schedule.0.get(index)?;
    let ceiling = schedule.0.get(index + 1).copied().unwrap_or(step).max(step);
    Some(retry_after.map_or(step, |asked| asked.clamp(step, ceiling)))
}

/// When to probe next a webhook switched off at `disabled_at`, the first
/// time after `now`: the schedule's delays add up from the switch-off, and
/// the last repeats (`config::parse_probe_schedule` makes it non-zero).
pub fn next_probe(schedule: &RetrySchedule, disabled_at: i64, now: i64) -> i64 {
    let millis = |step: &Duration| step.as_millis() as i64;
    let mut at = disabled_at;
    for step in &schedule.0 {
        at += millis(step);
        if at > now {
            return at;
        }
    }
    let every = schedule.0.last().map_or(1, millis).max(1);
    at + ((now - at) / every + 1) * every
}

/// Spreads retries of many deliveries that failed together (±10 %), so that a
/// receiver coming back is not hit by all of them in the same instant.
pub fn with_jitter(delay: Duration, unit_random: f64) -> Duration {
    delay.mul_f64(0.9 + 0.2 * unit_random.clamp(0.0, 1.0))
}

/// `Retry-After` in seconds (the HTTP-date form is rare for webhooks and ignored).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_follow_the_schedule_from_the_switch_off_then_repeat_its_last_step() {
        // 1, 5 and 30 minutes after the switch-off, then every hour.
        let minute = 60_000;
        let probes = RetrySchedule([1, 4, 25, 60].map(|m| Duration::from_secs(60 * m)).to_vec());
        let off = 7 * minute;
        let next = |now| (next_probe(&probes, off, now) - off) / minute;
        assert_eq!(next(off), 1);
        assert_eq!(next(off + minute), 5, "the first probe is made: the next");
        assert_eq!(next(off + 4 * minute), 5);
        assert_eq!(next(off + 5 * minute), 30);
        assert_eq!(next(off + 30 * minute), 90);
        assert_eq!(next(off + 91 * minute), 150);
        assert_eq!(next(off + 1000 * minute), 1050);
    }

    #[test]
    fn after_an_attempt_the_delivery_succeeds_retries_at_its_step_or_fails() {
        let s = schedule(&[5, 300]);
        let now = 1_000_000;
        let next = |attempt, answered, retries| next_step(&s, attempt, answered, retries, now, 0.5);
        assert_eq!(next(1, Ok(()), Retries::OnSchedule), Next::Succeeded);
        assert_eq!(
            next(1, Err(None), Retries::OnSchedule),
            Next::RetryAt(now + 5_000)
        );
        assert_eq!(
            next(1, Err(Some(Duration::from_secs(60))), Retries::OnSchedule),
            Next::RetryAt(now + 60_000),
            "Retry-After lengthens the wait up to the next step"
        );
        assert_eq!(
            next(2, Err(None), Retries::OnSchedule),
            Next::RetryAt(now + 300_000)
        );
        assert_eq!(next(3, Err(None), Retries::OnSchedule), Next::Failed);
        assert_eq!(next(1, Err(None), Retries::Never), Next::Failed);
        assert_eq!(next(1, Ok(()), Retries::Never), Next::Succeeded);
    }

    fn schedule(seconds: &[u64]) -> RetrySchedule {
        RetrySchedule(seconds.iter().map(|s| Duration::from_secs(*s)).collect())
    }

    #[test]
    fn each_failure_waits_its_step_until_the_schedule_ends() {
        let s = schedule(&[5, 300, 1800]);
        assert_eq!(retry_delay(&s, 1, None), Some(Duration::from_secs(5)));
        assert_eq!(retry_delay(&s, 2, None), Some(Duration::from_secs(300)));
        assert_eq!(retry_delay(&s, 3, None), Some(Duration::from_secs(1800)));
        assert_eq!(retry_delay(&s, 4, None), None);
        assert_eq!(retry_delay(&schedule(&[]), 1, None), None);
    }

    #[test]
    fn retry_after_lengthens_the_wait_up_to_the_next_step() {
        let s = schedule(&[5, 300, 1800]);
        let asked = |secs| Some(Duration::from_secs(secs));
        assert_eq!(retry_delay(&s, 1, asked(60)), asked(60));
        assert_eq!(retry_delay(&s, 1, asked(9999)), asked(300));
        assert_eq!(retry_delay(&s, 1, asked(1)), asked(5));
        assert_eq!(retry_delay(&s, 3, asked(9999)), asked(1800));
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let d = Duration::from_secs(100);
        assert_eq!(with_jitter(d, 0.0), Duration::from_secs(90));
        assert_eq!(with_jitter(d, 1.0), Duration::from_secs(110));
        assert_eq!(with_jitter(d, 0.5), d);
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        fn schedule() -> impl Strategy<Value = RetrySchedule> {
            proptest::collection::vec(0u64..100_000, 0..10)
                .prop_map(|secs| RetrySchedule(secs.into_iter().map(Duration::from_secs).collect()))
        }

        proptest! {
            #[test]
            fn a_failure_waits_its_step_or_what_the_receiver_asks_up_to_the_next_step(
                schedule in schedule(),
                attempt in 0u32..12,
                asked in proptest::option::of(0u64..200_000),
            ) {
                let steps = &schedule.0;
                let asked = asked.map(Duration::from_secs);
                let delay = retry_delay(&schedule, attempt, asked);
                let index = attempt as usize;
                if attempt == 0 || index > steps.len() {
                    prop_assert_eq!(delay, None);
                } else {
                    let step = steps[index - 1];
                    let ceiling = steps.get(index).copied().unwrap_or(step).max(step);
                    let delay = delay.expect("a retry within the schedule");
                    prop_assert!(delay >= step && delay <= ceiling);
                    if asked.is_none() {
                        prop_assert_eq!(delay, step);
                    }
                }
            }

            #[test]
            fn jitter_stays_within_ten_percent_whatever_the_randomness(
                millis in 0u64..10_000_000,
                unit_random in any::<f64>(),
            ) {
                let delay = Duration::from_millis(millis);
                let spread = with_jitter(delay, unit_random);
                prop_assert!(spread >= delay.mul_f64(0.9) && spread <= delay.mul_f64(1.1));
            }

            #[test]
            fn a_success_always_ends_and_a_single_attempt_never_retries(
                schedule in schedule(),
                attempt in 1u32..12,
                now in 0i64..4_000_000_000_000,
                unit_random in 0.0f64..1.0,
            ) {
                let ended = |answered, retries| {
                    next_step(&schedule, attempt, answered, retries, now, unit_random)
                };
                prop_assert_eq!(ended(Ok(()), Retries::OnSchedule), Next::Succeeded);
                prop_assert_eq!(ended(Err(None), Retries::Never), Next::Failed);
                match ended(Err(None), Retries::OnSchedule) {
                    Next::RetryAt(at) => prop_assert!(at >= now),
                    Next::Failed => prop_assert!(attempt as usize > schedule.0.len()),
                    Next::Succeeded => prop_assert!(false, "a failure never succeeds"),
                }
            }
        }
    }
}
