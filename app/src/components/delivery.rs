//! A delivery at a glance, the same in Logs and on the Edit page.

use api::DeliveryOut;
use leptos::prelude::*;

/// What the last attempt came to, in a few words: "HTTP 200", "HTTP 500",
/// "connection refused", "timed out after 15 s"; "—" before the first.
pub fn result_in_words(delivery: &DeliveryOut) -> String {
    match (&delivery.last_error, delivery.last_status_code) {
        (Some(error), _) => error.clone(),
        (None, Some(code)) => format!("HTTP {code}"),
        (None, None) => "—".into(),
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
