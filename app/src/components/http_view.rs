//! How a request or a response is shown: its headers as a table, its body
//! as indented JSON (or as it came).

use std::collections::BTreeMap;

use leptos::prelude::*;

#[component]
pub fn HeadersTable(headers: BTreeMap<String, String>) -> impl IntoView {
    view! {
        <table class="headers">
            <tbody>
                {headers.into_iter().map(|(name, value)| view! { <tr><th>{name}</th><td>{value}</td></tr> }).collect_view()}
            </tbody>
        </table>
    }
}

/// A body: JSON indented for reading; anything else as it came.
#[component]
pub fn JsonBody(body: String) -> impl IntoView {
    let shown = serde_json::from_str::<serde_json::Value>(&body)
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or(body);
    view! { <pre class="body">{shown}</pre> }
}
