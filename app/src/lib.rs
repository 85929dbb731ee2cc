//! hookhub's console: **Toolbox → Webhooks** in the browser. It speaks only
//! the public REST API, through [`client`].

pub mod client;
mod components;
mod pages;

use leptos::prelude::*;
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

use components::{AdminOnly, Home, Shell};
use pages::{
    DeliveryView, EditTrigger, EditWebhook, Login, Logs, NewTrigger, NewWebhook, NotFound,
    Triggers, Users, Webhooks,
};

#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/login") view=Login />
                <ParentRoute path=path!("") view=Shell>
                    <Route path=path!("") view=Home />
                    <Route path=path!("logs") view=Logs />
                    <Route path=path!("logs/:id") view=DeliveryView />
                    <ParentRoute path=path!("") view=AdminOnly>
                        <Route path=path!("webhooks") view=Webhooks />
                        <Route path=path!("webhooks/new") view=NewWebhook />
                        <Route path=path!("webhooks/:id") view=EditWebhook />
                        <Route path=path!("triggers") view=Triggers />
                        <Route path=path!("triggers/new") view=NewTrigger />
                        <Route path=path!("triggers/:id") view=EditTrigger />
                        <Route path=path!("users") view=Users />
                    </ParentRoute>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
