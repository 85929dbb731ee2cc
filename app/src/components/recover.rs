use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use wasm_bindgen::JsValue;

use crate::client;
use crate::components::{ErrorNote, time_zone};

/// `datetime-local` text for 24 hours ago, in the browser's time zone.
fn a_day_ago() -> String {
    let date = js_sys::Date::new_0();
    date.set_time(date.get_time() - 86_400_000.0);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes()
    )
}

/// **Recover failed since…**: queues again every delivery to one webhook that
/// failed since the chosen time (for a receiver that was down for a while).
#[component]
pub fn RecoverForm(webhook_id: String) -> impl IntoView {
    let since = RwSignal::new(a_day_ago());
    let recover = Action::new_local(move |since: &String| {
        let id = webhook_id.clone();
        // The browser reads `datetime-local` text as local time.
        let utc = js_sys::Date::new(&JsValue::from_str(since));
        let since = String::from(utc.to_iso_string());
        async move { client::recover(id, since).await }
    });
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        recover.dispatch(since.get_untracked());
    };
    view! {
        <form class="recover card" on:submit=submit>
            <label for="recover-since">{format!("Recover failed since ({})", time_zone())}</label>
            <input id="recover-since" type="datetime-local" bind:value=since />
            <button type="submit" disabled=move || recover.pending().get()>"Recover"</button>
            {move || recover.value().get().map(|result| match result {
                Ok(queued) => view! {
                    <span class="notice" role="status">{format!("{queued} failed deliveries queued again")}</span>
                }.into_any(),
                Err(error) => view! { <ErrorNote error /> }.into_any(),
            })}
        </form>
    }
}
