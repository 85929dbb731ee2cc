use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};
use leptos_router::hooks::use_navigate;

use crate::client;

/// The frame around every page once logged in: the Toolbox sidebar and the user.
#[component]
pub fn Shell() -> impl IntoView {
    if client::token().is_none() {
        return view! { <Redirect path="/login" /> }.into_any();
    }
    let me = LocalResource::new(client::me);
    let navigate = use_navigate();
    let logout = move |_| {
        client::forget_token();
        navigate("/login", Default::default());
    };
    view! {
        <div class="shell">
            <nav class="sidebar" aria-label="Toolbox">
                <div class="brand">"hookhub"</div>
                <p class="sidebar-heading">"Toolbox"</p>
                <A href="/webhooks">"Webhooks"</A>
                <A href="/logs">"Logs"</A>
            </nav>
            <div class="main">
                <header class="topbar">
                    <span class="user">
                        {move || match me.get() {
                            Some(Ok(me)) => me.username,
                            Some(Err(error)) if error.is_unauthorized() => {
                                client::forget_token();
                                String::new()
                            }
                            _ => String::new(),
                        }}
                    </span>
                    <button class="link" on:click=logout>"Log out"</button>
                </header>
                {move || {
                    matches!(me.get(), Some(Err(ref e)) if e.is_unauthorized())
                        .then(|| view! { <Redirect path="/login" /> })
                }}
                <main class="content">
                    <Outlet />
                </main>
            </div>
        </div>
    }
    .into_any()
}
