//! A webhook's health at a glance: its state in colour, icon and word, what
//! went wrong, and when it was last attempted. The same on the Webhooks
//! page and the Edit page.

use api::{HealthState, WebhookHealth};
use leptos::prelude::*;

use super::Time;

/// Icon and word of each state; the colour comes from `state-…` in the stylesheet.
fn state_label(state: HealthState) -> (&'static str, &'static str) {
    match state {
        HealthState::Healthy => ("✓", "Healthy"),
        HealthState::Failing => ("⚠", "Failing"),
        HealthState::Disabled => ("❚❚", "Off"),
        HealthState::NeverCalled => ("○", "Never called"),
    }
}

/// What went wrong, in words: "142 failures in a row · HTTP 500".
fn failing_in_words(health: &WebhookHealth) -> String {
    let count = match health.consecutive_failures {
        1 => "1 failure".to_string(),
        n => format!("{n} failures in a row"),
    };
    match &health.last_error {
        Some(error) => format!("{count} · {error}"),
        None => count,
    }
}

#[component]
pub fn HealthSummary(health: WebhookHealth) -> impl IntoView {
    let (icon, word) = state_label(health.state);
    let detail = match health.state {
        HealthState::Healthy => health.success_rate.map(|rate| {
            // A whole number: formatting a float would cost the console ~15 KB.
            let percent = (rate * 100.0).round() as u32;
            view! {
                <span class="health-detail" title="attempts that succeeded in the last 24 hours">
                    {format!("{percent}% succeeded")}
                </span>
            }
            .into_any()
        }),
        HealthState::Failing => Some(
            view! { <span class="health-detail">{failing_in_words(&health)}</span> }.into_any(),
        ),
        HealthState::Disabled => {
            let why = health
                .disabled_reason
                .clone()
                .map(|reason| format!("Switched off by hookhub: {reason}"))
                .unwrap_or_else(|| "Switched off by an administrator".into());
            Some(
                view! {
                    <span class="health-detail">
                        {why}
                        {health.disabled_at.clone().map(|at| view! { " · since " <Time at /> })}
                    </span>
                }
                .into_any(),
            )
        }
        HealthState::NeverCalled => None,
    };
    view! {
        <div class=format!("health state-{}", health.state.as_str())>
            <span class="health-state"><span aria-hidden="true">{icon}" "</span>{word}</span>
            {detail}
            {health.last_attempt_at.clone().map(|at| view! {
                <span class="health-detail muted">"Last attempt " <Time at /></span>
            })}
        </div>
    }
}
