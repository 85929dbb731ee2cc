use api::{Me, Role};
use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};
use leptos_router::hooks::{use_location, use_navigate};

use crate::client;
use crate::components::hours_ago;

/// Who is logged in, for pages that show administrators more.
#[derive(Debug, Clone, Copy)]
pub struct Session {
    me: Signal<Option<Me>>,
}

impl Session {
    /// The session of the page being drawn.
    pub fn current() -> Self {
        use_context::<Session>().expect("pages are drawn inside the shell")
    }

    pub fn is_admin(&self) -> bool {
        self.me
            .with(|me| me.as_ref().is_some_and(|me| me.role == Role::Admin))
    }

    pub fn me(&self) -> Option<Me> {
        self.me.get()
    }
}

/// Asks the sidebar's badges to count again, after a change they count.
#[derive(Debug, Clone, Copy)]
pub struct AttentionChanged(RwSignal<u32>);

impl AttentionChanged {
    pub fn current() -> Self {
        use_context::<AttentionChanged>().expect("pages are drawn inside the shell")
    }

    pub fn notify(self) {
        self.0.update(|n| *n += 1);
    }
}

/// The frame around every page once logged in: the Toolbox sidebar and the user.
#[component]
pub fn Shell() -> impl IntoView {
    if client::token().is_none() {
        return view! { <Redirect path="/login" /> }.into_any();
    }
    let loaded = LocalResource::new(client::me);
    let me = Signal::derive(move || loaded.get().and_then(Result::ok));
    let session = Session { me };
    provide_context(session);
    // Counted again on every page change and after changes that count.
    let changed = RwSignal::new(0u32);
    provide_context(AttentionChanged(changed));
    let location = use_location();
    let attention = LocalResource::new(move || {
        changed.track();
        location.pathname.track();
        client::attention()
    });
    let counted = move || attention.get().and_then(Result::ok).unwrap_or_default();
    let switched_off = Signal::derive(move || counted().disabled_webhooks);
    let failed = Signal::derive(move || counted().failed_deliveries);
    let navigate = use_navigate();
    let logout = Action::new_local(|_: &()| async {
        // The token stops working on the server too; forget it either way.
        let _ = client::logout().await;
        client::forget_token();
    });
    Effect::new(move || {
        if logout.value().get().is_some() {
            navigate("/login", Default::default());
        }
    });
    let content = NodeRef::<leptos::html::Main>::new();
    view! {
        <div class="shell">
            <a class="skip-link" href="#content" on:click=move |event| {
                event.prevent_default();
                if let Some(main) = content.get() {
                    let _ = main.focus();
                }
            }>"Skip to content"</a>
            <nav class="sidebar" aria-label="Toolbox">
                <div class="brand">"hookhub"</div>
                <p class="sidebar-heading">"Toolbox"</p>
                <Show when=move || session.is_admin()>
                    <NavLink href="/webhooks" text="Webhooks" badge=(switched_off, "switched off by hookhub") />
                    <NavLink href="/triggers" text="Triggers" />
                </Show>
                <NavLink href="/logs" text="Logs" badge=(failed, "failed in the last 24 hours")
                    badge_href=|| format!("/logs?status=failed&since={}", js_sys::encode_uri_component(&hours_ago(24.0))) />
                <Show when=move || session.is_admin()>
                    <NavLink href="/users" text="Users" />
                </Show>
            </nav>
            <div class="main">
                <header class="topbar">
                    <span class="user">
                        {move || session.me().map(|me| format!("{} ({})", me.username, role_name(me.role)))}
                    </span>
                    <button class="link" on:click=move |_| { logout.dispatch(()); }>"Log out"</button>
                </header>
                <main class="content" id="content" tabindex="-1" node_ref=content>
                    <Outlet />
                </main>
            </div>
        </div>
    }
    .into_any()
}

/// A sidebar link: `aria-current` on its own page only, highlighted on the
/// pages below it too (`/webhooks/new` is in Webhooks); with a count of what
/// wants attention there, and what it counts in words, shown when not zero.
#[component]
fn NavLink(
    href: &'static str,
    text: &'static str,
    #[prop(optional)] badge: Option<(Signal<u64>, &'static str)>,
    /// Where the badge leads, if not to `href`: what it counts.
    #[prop(optional)]
    badge_href: Option<fn() -> String>,
) -> impl IntoView {
    let location = use_location();
    let below = move || {
        location.pathname.with(|path| {
            path.strip_prefix(href)
                .is_some_and(|rest| rest.starts_with('/'))
        })
    };
    let badge = badge.map(|(count, counted)| move || {
        let count = count.get();
        (count > 0).then(|| {
            let said = format!("{count} {counted}");
            match badge_href {
                // A link of its own beside the page's, to what it counts.
                Some(to) => view! {
                    <A href=to() attr:class="nav-badge" attr:aria-label=said.clone() attr:title=said>{count}</A>
                }
                .into_any(),
                None => view! {
                    <span class="nav-badge" aria-label=said.clone() title=said>{count}</span>
                }
                .into_any(),
            }
        })
    });
    match badge_href {
        Some(_) => view! {
            <div class="nav-item">
                <A href=href exact=true attr:class=move || below().then_some("in-section")>{text}</A>
                {badge}
            </div>
        }
        .into_any(),
        None => view! {
            <A href=href exact=true attr:class=move || below().then_some("in-section")>{text}{badge}</A>
        }
        .into_any(),
    }
}

pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Viewer => "viewer",
    }
}

/// The routes only administrators can use: a viewer is sent to Logs rather
/// than shown forms and buttons the API would refuse.
#[component]
pub fn AdminOnly() -> impl IntoView {
    let session = Session::current();
    move || match session.me().map(|me| me.role) {
        None => view! { <p class="loading">"Loading…"</p> }.into_any(),
        Some(Role::Admin) => view! { <Outlet /> }.into_any(),
        Some(Role::Viewer) => view! { <Redirect path="/logs" /> }.into_any(),
    }
}

/// `/`: administrators start at Webhooks, viewers at Logs.
#[component]
pub fn Home() -> impl IntoView {
    let session = Session::current();
    move || {
        session.me().map(|me| {
            let path = if me.role == Role::Admin {
                "/webhooks"
            } else {
                "/logs"
            };
            view! { <Redirect path=path /> }
        })
    }
}
