//! A delivery at a glance, the same in Logs and on the Edit page.

use api::DeliveryOut;
use leptos::prelude::*;
use leptos_router::components::A;

/// What the last attempt came to, in a few words: "HTTP 200", "HTTP 500",
/// "connection refused", "timed out after 15 s"; "—" before the first.
pub fn result_in_words(delivery: &DeliveryOut) -> String {
    match (&delivery.last_error, delivery.last_status_code) {
        (Some(error), _) => error.clone(),
        (None, Some(code)) => format!("HTTP {code}"),
        (None, None) => "—".into(),
    }
}

/// A delivery id short enough for a sentence: `dlv_…` and its last 8
/// characters (the full id is the link's title).
pub fn short_id(id: &str) -> String {
    match id.split_once('_') {
        Some((prefix, rest)) if rest.len() > 8 => format!("{prefix}_…{}", &rest[rest.len() - 8..]),
        _ => id.to_string(),
    }
}

/// "Waits for dlv_…1a2b3c4d of ticket/42": what a delivery waiting for its
/// turn in its ordering key waits for, linked to that delivery.
#[component]
pub fn WaitsFor(head: String, key: String) -> impl IntoView {
    let short = short_id(&head);
    view! {
        <span class="waits-for">
            "Waits for "
            <A href=format!("/logs/{head}") attr:title=head.clone()>{short}</A>
            {format!(" of {key}")}
        </span>
    }
}

/// "12 ms"; "under 1 ms" for an answer quicker than the clock counts.
pub fn milliseconds(ms: u64) -> String {
    match ms {
        0 => "under 1 ms".into(),
        ms => format!("{ms} ms"),
    }
}

/// A delivery's or an attempt's status as a coloured word.
#[component]
pub fn StatusBadge(#[prop(into)] status: String) -> impl IntoView {
    let class = format!("badge status-{status}");
    view! { <span class=class>{status}</span> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_id_is_shortened_to_its_prefix_and_last_characters() {
        assert_eq!(
            short_id("dlv_0193f0a2b7c47d2e9f1a2b3c4d5e6f70"),
            "dlv_…4d5e6f70"
        );
        assert_eq!(short_id("dlv_12345678"), "dlv_12345678");
        assert_eq!(short_id("plain"), "plain");
    }
}
