//! How a request or a response is shown: its headers as a table, its body
//! as indented JSON (or as it came).

use std::collections::BTreeMap;

use leptos::prelude::*;

use super::CopyButton;

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
pub fn JsonBody(
    body: String,
    /// The copy button's label, if the body may be copied.
    #[prop(optional)]
    copy: Option<&'static str>,
) -> impl IntoView {
    let shown = serde_json::from_str::<serde_json::Value>(&body)
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or(body);
    match copy {
        Some(label) if !shown.is_empty() => view! {
            <div class="copyable">
                <pre class="body">{shown.clone()}</pre>
                <CopyButton text=shown label />
            </div>
        }
        .into_any(),
        _ => view! { <pre class="body">{shown}</pre> }.into_any(),
    }
}
