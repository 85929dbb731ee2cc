use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::client;
use crate::components::{ErrorNote, page_title};

#[component]
pub fn Login() -> impl IntoView {
    page_title("Log in");
    let username = RwSignal::new(String::from("admin"));
    let password = RwSignal::new(String::new());
    let navigate = use_navigate();
    let query = use_query_map();
    let expired = query.with_untracked(|q| q.get("expired").is_some());
    // Back to where the session ended: a path on this site only.
    let next = query
        .with_untracked(|q| q.get("next"))
        .filter(|next| next.starts_with('/') && !next.starts_with("//"))
        .unwrap_or_else(|| "/".into());
    let login = Action::new_local(move |(username, password): &(String, String)| {
        client::login(username.clone(), password.clone())
    });
    Effect::new(move || {
        if let Some(Ok(())) = login.value().get() {
            // `/` sends administrators to Webhooks and viewers to Logs.
            navigate(&next, Default::default());
        }
    });
    // The first field has the focus (its suggestion selected, so that typing
    // replaces it).
    let username_input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move || {
        if let Some(input) = username_input.get() {
            let _ = input.focus();
            input.select();
        }
    });
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        login.dispatch((username.get_untracked(), password.get_untracked()));
    };
    view! {
        <main class="login">
            <form class="card" on:submit=submit>
                <h1>"hookhub"</h1>
                {if expired {
                    view! { <p class="notice" role="status">"Your session has expired. Log in to go on where you were."</p> }.into_any()
                } else {
                    view! { <p class="muted">"Log in to manage webhooks."</p> }.into_any()
                }}
                <label for="username">"Username"</label>
                <input id="username" name="username" autocomplete="username" required bind:value=username node_ref=username_input />
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required
                    bind:value=password
                />
                {move || login.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error /> })}
                <button type="submit" class="primary" disabled=move || login.pending().get()>
                    {move || if login.pending().get() { "Logging in…" } else { "Log in" }}
                </button>
            </form>
        </main>
    }
}
