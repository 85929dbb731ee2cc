use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::client;
use crate::components::{ConfirmDialog, ErrorNote, hours_ago, time_zone, to_local, to_utc};

/// Failed deliveries counted at most before asking; past it the question says "or more".
const COUNTED: usize = 500;

/// `datetime-local` text for 24 hours ago, in the browser's time zone.
fn a_day_ago() -> String {
    to_local(&hours_ago(24.0))
}

/// **Recover failed since…**: queues again every delivery to one webhook that
/// failed since the chosen time (for a receiver that was down for a while),
/// after saying how many that is and asking.
#[component]
pub fn RecoverForm(webhook_id: String, webhook_name: String) -> impl IntoView {
    let since = RwSignal::new(a_day_ago());
    let counted_id = webhook_id.clone();
    let count = Action::new_local(move |since: &String| {
        let query = format!(
            "webhook_id={counted_id}&status=failed&since={}&limit={COUNTED}",
            String::from(js_sys::encode_uri_component(&to_utc(since)))
        );
        async move { client::deliveries(query).await.map(|page| page.data.len()) }
    });
    let recover = Action::new_local(move |since: &String| {
        let (id, since) = (webhook_id.clone(), to_utc(since));
        async move { client::recover(id, since).await }
    });
    let asking = RwSignal::new(false);
    Effect::new(move || {
        if let Some(Ok(_)) = count.value().get() {
            asking.set(true);
        }
    });
    let busy = move || count.pending().get() || recover.pending().get();
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        if !busy() {
            count.dispatch(since.get_untracked());
        }
    };
    let confirm = Callback::new(move |()| {
        asking.set(false);
        recover.dispatch(since.get_untracked());
    });
    view! {
        <form class="recover card" on:submit=submit>
            <label for="recover-since">{format!("Recover failed since ({})", time_zone())}</label>
            <input id="recover-since" type="datetime-local" bind:value=since />
            // Busy, not disabled: a disabled button loses the focus, and the
            // question would then give it back to nothing.
            <button type="submit" aria-disabled=move || busy().to_string()>"Recover"</button>
            {move || count.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error /> })}
            {move || recover.value().get().map(|result| match result {
                Ok(queued) => view! {
                    <span class="notice" role="status">
                        {match queued {
                            1 => "1 failed delivery queued again".to_string(),
                            n => format!("{n} failed deliveries queued again"),
                        }}
                    </span>
                }.into_any(),
                Err(error) => view! { <ErrorNote error /> }.into_any(),
            })}
        </form>
        {move || asking.get().then(|| {
            let failed = count.value().get_untracked().and_then(Result::ok).unwrap_or_default();
            let how_many = match failed {
                n if n >= COUNTED => format!("{COUNTED} or more failed deliveries"),
                1 => "1 failed delivery".to_string(),
                n => format!("{n} failed deliveries"),
            };
            view! {
                <ConfirmDialog
                    title=format!("Queue {how_many} to {webhook_name} again?")
                    message="Each is sent once more now, with its original webhook-id, so that receivers can tell a repeat.".to_string()
                    confirm_label="Queue again"
                    on_confirm=confirm
                    on_cancel=Callback::new(move |()| asking.set(false))
                />
            }
        })}
    }
}
