mod login;
mod logs;
mod trigger_signature;
mod triggers;
mod users;
mod webhook_draft;
mod webhook_form;
mod webhooks;

pub use login::Login;
pub use logs::{DeliveryView, Logs};
pub use triggers::{EditTrigger, NewTrigger, Triggers};
pub use users::Users;
pub use webhook_form::{EditWebhook, NewWebhook};
pub use webhooks::Webhooks;

use leptos::prelude::*;

use crate::components::page_title;

#[component]
pub fn NotFound() -> impl IntoView {
    page_title("Page not found");
    view! {
        <main class="content narrow">
            <h1>"Page not found"</h1>
            <p><a href="/webhooks">"Back to Webhooks"</a></p>
        </main>
    }
}
