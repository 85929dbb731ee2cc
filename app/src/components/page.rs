//! What every page shares: its title, and its loads shown one way.

use std::collections::BTreeMap;

use leptos::prelude::*;

use super::ErrorNote;
use crate::client::ClientError;

/// Names the page in the browser's title bar and history: "Webhooks · hookhub".
pub fn page_title(page: &str) {
    document().set_title(&format!("{page} · hookhub"));
}

/// Whatever a page loads, shown one way: `loading` until the first answer,
/// the previous content while it loads again (no flash), and a failed load
/// as an `ErrorNote`. The children render a resource's `Result`: an `Err`
/// goes to the boundary, and clears from it once a reload succeeds.
#[component]
pub fn Loads(loading: &'static str, children: Children) -> impl IntoView {
    view! {
        <Transition fallback=move || view! { <p class="loading">{loading}</p> }>
            <ErrorBoundary fallback=|errors| view! { <LoadFailed errors /> }>
                {children()}
            </ErrorBoundary>
        </Transition>
    }
}

/// The errors a `Loads` caught.
#[component]
fn LoadFailed(errors: ArcRwSignal<Errors>) -> impl IntoView {
    move || {
        errors
            .get()
            .into_iter()
            .map(|(_, error)| {
                let error = error
                    .downcast_ref::<ClientError>()
                    .cloned()
                    .unwrap_or_else(|| ClientError {
                        status: 0,
                        message: error.to_string(),
                        fields: BTreeMap::new(),
                    });
                view! { <ErrorNote error /> }
            })
            .collect_view()
    }
}
