//! **Logs**: every delivery newest first, filters kept in the URL, a detail
//! view with each attempt's request and response, and Redeliver.

use std::time::Duration;

use api::{AttemptOut, DeliveryDetail, DeliveryStatus};
use leptos::leptos_dom::helpers::set_interval_with_handle;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::client;
use crate::components::{
    AttemptChart, ErrorNote, HeadersTable, JsonBody, Loads, RecoverForm, Session,
};

const FILTERS: [&str; 3] = ["webhook_id", "status", "event_type"];
/// How often a view with deliveries still in progress is refreshed.
const REFRESH: Duration = Duration::from_secs(2);

/// Calls `load` every `every` while the component lives.
fn every(every: Duration, load: impl Fn() + 'static) {
    if let Ok(handle) = set_interval_with_handle(load, every) {
        on_cleanup(move || handle.clear());
    }
}

/// `?webhook_id=...&status=...` from the current filters and cursor.
fn query_string(values: &[(&str, String)]) -> String {
    values
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", js_sys::encode_uri_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[component]
pub fn Logs() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.with(|q| q.get(name).unwrap_or_default());
    let navigate = use_navigate();
    let session = Session::current();
    let names = LocalResource::new(client::webhooks);

    let api_query = move || {
        let mut values: Vec<(&str, String)> = FILTERS.iter().map(|f| (*f, param(f))).collect();
        values.push(("cursor", param("cursor")));
        query_string(&values)
    };
    // Each load is keyed on the filters and a refresh tick: Leptos owns the
    // request, so an answer that comes after the page is gone goes nowhere.
    let tick = RwSignal::new(0u32);
    let page = LocalResource::new(move || {
        tick.track();
        client::deliveries(api_query())
    });
    let stats = LocalResource::new(move || {
        tick.track();
        client::stats(param("webhook_id"), "24h")
    });
    every(REFRESH, move || {
        let busy = page.with_untracked(
            |p| matches!(p, Some(Ok(list)) if list.data.iter().any(|d| d.status.in_progress())),
        );
        // The newest page also refreshes to show what just arrived.
        if busy || query.with_untracked(|q| q.get("cursor").unwrap_or_default().is_empty()) {
            tick.update(|n| *n += 1);
        }
    });

    let set_filter = move |name: &'static str, value: String| {
        let values: Vec<(&str, String)> = FILTERS
            .iter()
            .map(|f| (*f, if *f == name { value.clone() } else { param(f) }))
            .collect();
        navigate(
            &format!("/logs?{}", query_string(&values)),
            Default::default(),
        );
    };
    let set_filter_for = move |name: &'static str| {
        let set_filter = set_filter.clone();
        move |ev| set_filter(name, event_target_value(&ev))
    };
    let webhook_name = move |id: &str| {
        names
            .get()
            .and_then(Result::ok)
            .and_then(|all| all.into_iter().find(|w| w.id == id).map(|w| w.name))
            .unwrap_or_else(|| id.to_string())
    };
    let newer_than_first = move || {
        let values: Vec<(&str, String)> = FILTERS.iter().map(|f| (*f, param(f))).collect();
        format!("/logs?{}", query_string(&values))
    };

    view! {
        <div class="page-header">
            <h1>"Logs"</h1>
        </div>
        <form class="filters" on:submit=|ev| ev.prevent_default()>
            <label>
                "Webhook"
                <select on:change=set_filter_for("webhook_id") prop:value=move || param("webhook_id")>
                    <option value="">"All webhooks"</option>
                    {move || names.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|w| {
                        let selected = param("webhook_id") == w.id;
                        view! { <option value=w.id.clone() selected=selected>{w.name}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label>
                "Status"
                <select on:change=set_filter_for("status") prop:value=move || param("status")>
                    <option value="">"Any status"</option>
                    {DeliveryStatus::ALL.map(|s| view! {
                        <option value=s.as_str() selected=move || param("status") == s.as_str()>{s.as_str()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>
                "Event type"
                <input
                    placeholder="ticket.update"
                    prop:value=move || param("event_type")
                    on:change=set_filter_for("event_type")
                />
            </label>
        </form>
        {move || {
            let webhook_id = param("webhook_id");
            (!webhook_id.is_empty() && session.is_admin()).then(|| view! { <RecoverForm webhook_id /> })
        }}
        {move || stats.get().and_then(Result::ok).map(|stats| view! { <AttemptChart stats /> })}
        <Loads loading="Loading deliveries…">
            {move || page.get().map(|loaded| loaded.map(|loaded| match loaded {
                list if list.data.is_empty() => view! {
                    <div class="empty">
                        <p>"No deliveries here yet."</p>
                        <p class="muted">"Deliveries appear as soon as an event matches a webhook."</p>
                    </div>
                }.into_any(),
                list => {
                    let next = list.next_cursor.clone();
                    view! {
                        <table class="deliveries">
                            <thead>
                                <tr>
                                    <th>"Time"</th><th>"Webhook"</th><th>"Event type"</th><th>"Status"</th>
                                    <th>"Attempts"</th><th>"Last code"</th><th>"Duration"</th>
                                </tr>
                            </thead>
                            <tbody>
                                <For each=move || list.data.clone() key=|d| (d.id.clone(), d.status, d.attempt_count) let:d>
                                    <tr data-delivery=d.id.clone()>
                                        <td><A href=format!("/logs/{}", d.id)>{short_time(&d.created_at)}</A></td>
                                        <td>{webhook_name(&d.webhook_id)}</td>
                                        <td><span class="chip">{d.event_type.clone()}</span></td>
                                        <td><StatusBadge status=d.status.as_str() /></td>
                                        <td>{d.attempt_count}</td>
                                        <td>{d.last_status_code.map(|c| c.to_string()).unwrap_or_else(|| "—".into())}</td>
                                        <td>{d.last_duration_ms.map(|ms| format!("{ms} ms")).unwrap_or_else(|| "—".into())}</td>
                                    </tr>
                                </For>
                            </tbody>
                        </table>
                        <div class="pager">
                            {move || (!param("cursor").is_empty()).then(|| view! { <A href=newer_than_first()>"← Newest"</A> })}
                            {next.map(|cursor| {
                                let mut values: Vec<(&str, String)> = FILTERS.iter().map(|f| (*f, param(f))).collect();
                                values.push(("cursor", cursor));
                                view! { <A href=format!("/logs?{}", query_string(&values))>"Older →"</A> }
                            })}
                        </div>
                    }.into_any()
                }
            }))}
        </Loads>
    }
}

/// `2026-11-23T10:04:05.123Z` as `2026-11-23 10:04:05`.
fn short_time(rfc3339: &str) -> String {
    rfc3339.get(..19).unwrap_or(rfc3339).replace('T', " ")
}

#[component]
fn StatusBadge(#[prop(into)] status: String) -> impl IntoView {
    let class = format!("badge status-{status}");
    view! { <span class=class>{status}</span> }
}

#[component]
pub fn DeliveryView() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let session = Session::current();
    let redeliver = Action::new_local(move |id: &String| client::redeliver(id.clone()));
    let tick = RwSignal::new(0u32);
    let detail = LocalResource::new(move || {
        tick.track();
        redeliver.version().track();
        client::delivery(id())
    });
    every(REFRESH, move || {
        if detail.with_untracked(|d| matches!(d, Some(Ok(d)) if d.delivery.status.in_progress())) {
            tick.update(|n| *n += 1);
        }
    });

    view! {
        <p><A href="/logs">"← All deliveries"</A></p>
        <Loads loading="Loading delivery…">
            {move || detail.get().map(|loaded| loaded.map(|DeliveryDetail { delivery, attempts }| {
                let webhook_id = delivery.webhook_id.clone();
                view! {
                    <div class="page-header">
                        <h1>{delivery.event_type.clone()}" "<StatusBadge status=delivery.status.as_str() /></h1>
                        <Show when=move || session.is_admin()>
                            <div class="actions">
                                <button class="primary" on:click=move |_| { redeliver.dispatch(id()); } disabled=move || redeliver.pending().get()>
                                    "Redeliver"
                                </button>
                            </div>
                        </Show>
                    </div>
                    {move || redeliver.value().get().map(|result| match result {
                        Ok(()) => view! { <p class="notice" role="status">"Redelivery queued."</p> }.into_any(),
                        Err(error) => view! { <ErrorNote error /> }.into_any(),
                    })}
                    <dl class="facts">
                        <dt>"Delivery"</dt><dd><code>{delivery.id.clone()}</code></dd>
                        <dt>"Webhook"</dt><dd><A href=format!("/webhooks/{}", delivery.webhook_id)>{delivery.webhook_id.clone()}</A></dd>
                        <dt>"Created"</dt><dd>{short_time(&delivery.created_at)}</dd>
                        <dt>"Attempts"</dt><dd>{delivery.attempt_count}</dd>
                        {delivery.next_attempt_at.clone().map(|at| view! { <dt>"Next attempt"</dt><dd>{short_time(&at)}</dd> })}
                    </dl>
                    {session.is_admin().then(|| view! { <RecoverForm webhook_id /> })}
                    <h2>"Attempts"</h2>
                    {if attempts.is_empty() {
                        view! { <p class="muted">"No attempt yet."</p> }.into_any()
                    } else {
                        attempts.into_iter().enumerate().map(|(n, attempt)| view! { <Attempt number=n + 1 attempt /> }).collect_view().into_any()
                    }}
                }.into_any()
            }))}
        </Loads>
    }
}

#[component]
fn Attempt(number: usize, attempt: AttemptOut) -> impl IntoView {
    let outcome = match (&attempt.response, &attempt.error_class) {
        (Some(response), _) => format!("HTTP {}", response.status_code),
        (None, Some(class)) => class.clone(),
        (None, None) => String::new(),
    };
    view! {
        <section class="card attempt">
            <header class="attempt-header">
                <strong>{format!("Attempt {number}")}</strong>
                <StatusBadge status=attempt.status.clone() />
                <span>{outcome}</span>
                <span class="muted">{format!("{} ms · {}", attempt.duration_ms, short_time(&attempt.started_at))}</span>
            </header>
            {attempt.error.clone().map(|error| view! { <p class="field-error">{error}</p> })}
            <div class="exchange">
                <div>
                    <h3>"Request"</h3>
                    <p><code>{format!("{} {}", attempt.request.method, attempt.request.url)}</code></p>
                    <HeadersTable headers=attempt.request.headers.clone() />
                    <JsonBody body=attempt.request.body.clone() />
                </div>
                <div>
                    <h3>"Response"</h3>
                    {match attempt.response.clone() {
                        Some(response) => view! {
                            <p><code>{format!("HTTP {}", response.status_code)}</code></p>
                            <HeadersTable headers=response.headers />
                            <JsonBody body=response.body.clone() />
                            {response.body_truncated.then(|| view! { <p class="hint">"Cut at 64 KiB."</p> })}
                        }.into_any(),
                        None => view! { <p class="muted">"No response."</p> }.into_any(),
                    }}
                </div>
            </div>
        </section>
    }
}
