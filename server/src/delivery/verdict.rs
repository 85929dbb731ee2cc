//! What an attempt's result means, decided without I/O: the delivery's next
//! step, whether the receiver asked to be switched off, the failure in words
//! (what the delivery and its webhook show), and how the workers pace the
//! webhook after it. `Deliverer::attempt` sends; this judges.

use std::time::Duration;

use super::Sending;
use super::schedule::{self, Retries};
use super::send::{self, Sent};
use crate::config::RetrySchedule;
use crate::store::{AttemptKind, Next};

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub next: Next,
    /// The receiver answered `410 Gone`: the webhook is switched off at once.
    pub gone: bool,
    /// `None` after a success.
    pub error_in_words: Option<String>,
    pub pace: Sending,
}

/// How attempts are judged: the retry schedule and the attempts' timeout.
pub struct Judge<'a> {
    pub schedule: &'a RetrySchedule,
    pub timeout: Duration,
}

impl Judge<'_> {
    /// Attempt number `attempt` (1-based) of a delivery, made as `kind`,
    /// gave `sent` at `now_ms`; `unit_random` spreads the retries.
    pub fn judge(
        &self,
        sent: &Sent,
        kind: AttemptKind,
        attempt: u32,
        now_ms: i64,
        unit_random: f64,
    ) -> Verdict {
        let status = sent.response.as_ref().map(|r| r.status_code);
        // The receiver asks to be switched off: not retried (the store switches it off).
        let gone = status == Some(schedule::GONE);
        let retries = match kind {
            AttemptKind::Scheduled => Retries::OnSchedule,
            AttemptKind::Test | AttemptKind::Redelivery | AttemptKind::Probe => Retries::Never,
        };
        let answered = match &sent.failure {
            None => Ok(()),
            Some(_) => Err(sent.retry_after),
        };
        let next = if gone {
            Next::Failed
        } else {
            schedule::next_step(
                self.schedule,
                attempt,
                answered,
                retries,
                now_ms,
                unit_random,
            )
        };
        let error_in_words = sent
            .failure
            .as_ref()
            .map(|(class, message)| send::in_words(class, message, status, self.timeout));
        let pace = match sent.failure.as_ref().map(|(class, _)| *class) {
            Some(send::TIMEOUT) => Sending::TimedOut,
            _ => Sending::Answered,
        };
        Verdict {
            next,
            gone,
            error_in_words,
            pace,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{AttemptRequest, AttemptResponse};

    const NOW: i64 = 1_000_000;

    fn judge() -> Judge<'static> {
        static SCHEDULE: std::sync::LazyLock<RetrySchedule> = std::sync::LazyLock::new(|| {
            RetrySchedule(vec![Duration::from_secs(5), Duration::from_secs(60)])
        });
        Judge {
            schedule: &SCHEDULE,
            timeout: Duration::from_secs(15),
        }
    }

    fn answered(status: u16) -> Sent {
        let failure = (!(200..300).contains(&status))
            .then(|| ("http-status", format!("the receiver answered {status}")));
        Sent {
            duration: Duration::from_millis(3),
            request: AttemptRequest {
                method: "POST".into(),
                url: "https://receiver.test/in".into(),
                headers: BTreeMap::new(),
                body: String::new(),
            },
            response: Some(AttemptResponse {
                status_code: status,
                headers: BTreeMap::new(),
                body: String::new(),
                body_truncated: false,
            }),
            failure,
            retry_after: None,
        }
    }

    fn timed_out() -> Sent {
        Sent {
            response: None,
            failure: Some((send::TIMEOUT, "operation timed out".into())),
            ..answered(200)
        }
    }

    #[test]
    fn a_2xx_succeeds_and_says_nothing_went_wrong() {
        let verdict = judge().judge(&answered(204), AttemptKind::Scheduled, 1, NOW, 0.5);
        assert_eq!(verdict.next, Next::Succeeded);
        assert!(!verdict.gone);
        assert_eq!(verdict.error_in_words, None);
        assert_eq!(verdict.pace, Sending::Answered);
    }

    #[test]
    fn a_failed_scheduled_attempt_is_retried_on_the_schedule_until_it_runs_out() {
        let first = judge().judge(&answered(500), AttemptKind::Scheduled, 1, NOW, 0.5);
        let Next::RetryAt(at) = first.next else {
            panic!("{:?}", first.next)
        };
        assert!((NOW + 4_000..=NOW + 6_000).contains(&at), "{at}");
        assert_eq!(first.error_in_words.as_deref(), Some("HTTP 500"));
        let last = judge().judge(&answered(500), AttemptKind::Scheduled, 3, NOW, 0.5);
        assert_eq!(last.next, Next::Failed);
    }

    #[test]
    fn tests_probes_and_redeliveries_are_never_retried() {
        for kind in [
            AttemptKind::Test,
            AttemptKind::Probe,
            AttemptKind::Redelivery,
        ] {
            let verdict = judge().judge(&answered(503), kind, 1, NOW, 0.5);
            assert_eq!(verdict.next, Next::Failed, "{kind:?}");
        }
    }

    #[test]
    fn a_410_fails_at_once_and_asks_for_the_switch_off() {
        let verdict = judge().judge(&answered(410), AttemptKind::Scheduled, 1, NOW, 0.5);
        assert_eq!(verdict.next, Next::Failed);
        assert!(verdict.gone);
    }

    #[test]
    fn a_timeout_is_retried_said_in_words_and_slows_the_webhook_down() {
        let verdict = judge().judge(&timed_out(), AttemptKind::Scheduled, 1, NOW, 0.5);
        assert!(matches!(verdict.next, Next::RetryAt(_)));
        assert_eq!(verdict.pace, Sending::TimedOut);
        assert!(
            verdict
                .error_in_words
                .as_deref()
                .is_some_and(|words| words.contains("15 s")),
            "{verdict:?}"
        );
    }
}
