//! **Logs**: every delivery newest first, filters kept in the URL, a detail
//! view with each attempt's request and response, and Redeliver.

use std::time::Duration;

use api::{AttemptOut, DeliveryDetail, DeliveryOut, DeliveryStatus, WebhookSummary};
use leptos::leptos_dom::helpers::{
    TimeoutHandle, set_interval_with_handle, set_timeout_with_handle,
};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use super::webhook_draft::is_event_pattern;
use crate::client;
use crate::components::{
    AttemptChart, CopyButton, ErrorNote, HeadersTable, HealthSummary, JsonBody, Loads, RecoverForm,
    Session, StatusBadge, Time, WaitsFor, milliseconds, page_title, result_in_words, time_zone,
    to_local, to_utc,
};

const FILTERS: [&str; 6] = [
    "webhook_id",
    "status",
    "event_type",
    "since",
    "until",
    "search",
];

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

/// The page sizes offered; the first is the default.
const PAGE_SIZES: [&str; 3] = ["50", "20", "100"];
/// How long typing in the event-type filter rests before it applies.
const TYPING_PAUSE: Duration = Duration::from_millis(400);

#[component]
pub fn Logs() -> impl IntoView {
    page_title("Logs");
    let query = use_query_map();
    let param = move |name: &str| query.with(|q| q.get(name).unwrap_or_default());
    let navigate = use_navigate();
    let session = Session::current();
    // Every reader, viewers too, filters by webhook and sees the chosen
    // one's health: by name, not by where it points.
    let names = LocalResource::new(|| async { client::delivery_webhooks().await.ok() });
    // The cursors of the pages walked through, in order: the last one is
    // this page's, and page n has n - 1.
    let trail = move || -> Vec<String> {
        param("pages")
            .split(',')
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect()
    };
    let limit = move || {
        Some(param("limit"))
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| PAGE_SIZES[0].into())
    };

    let api_query = move || {
        let mut values: Vec<(&str, String)> = FILTERS.iter().map(|f| (*f, param(f))).collect();
        values.push(("cursor", trail().last().cloned().unwrap_or_default()));
        values.push(("limit", limit()));
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
        if busy || query.with_untracked(|q| q.get("pages").unwrap_or_default().is_empty()) {
            tick.update(|n| *n += 1);
        }
    });

    // `/logs?…` with these filters, page size and pages before; a changed
    // filter starts again from the newest page.
    let logs_url = move |changed: Option<(&'static str, String)>, pages: Vec<String>| {
        let mut values: Vec<(&str, String)> = FILTERS
            .iter()
            .map(|f| match &changed {
                Some((name, value)) if name == f => (*f, value.clone()),
                _ => (*f, param(f)),
            })
            .collect();
        let limit = match &changed {
            Some(("limit", value)) => value.clone(),
            _ => param("limit"),
        };
        values.push(("limit", limit));
        values.push(("pages", pages.join(",")));
        format!("/logs?{}", query_string(&values))
    };
    let go = Callback::new(move |url: String| navigate(&url, Default::default()));
    let set_filter =
        move |name: &'static str, value: String| go.run(logs_url(Some((name, value)), Vec::new()));
    let set_filter_for =
        move |name: &'static str| move |ev| set_filter(name, event_target_value(&ev));
    let typing = StoredValue::new(None::<TimeoutHandle>);
    // What is typed applies once it is a whole event type or pattern (or
    // nothing); until then the box says what it waits for.
    let half_typed = RwSignal::new(false);
    let typed_event_type = move |ev| {
        let value = event_target_value(&ev).trim().to_string();
        if let Some(pending) = typing.get_value() {
            pending.clear();
        }
        let whole = value.is_empty() || is_event_pattern(&value);
        half_typed.set(!whole);
        if !whole {
            return;
        }
        let handle = set_timeout_with_handle(move || set_filter("event_type", value), TYPING_PAUSE);
        typing.set_value(handle.ok());
    };
    let set_time_for =
        move |name: &'static str| move |ev| set_filter(name, to_utc(&event_target_value(&ev)));
    on_cleanup(move || {
        if let Some(pending) = typing.get_value() {
            pending.clear();
        }
    });
    let filtered = move || FILTERS.iter().any(|f| !param(f).is_empty());
    let clear_filters = move |_| go.run("/logs".into());

    view! {
        <div class="page-header">
            <h1>"Logs"</h1>
        </div>
        <form class="filters" on:submit=|ev| ev.prevent_default()>
            {move || names.get().flatten().map(|webhooks| view! {
                <label>
                    "Webhook"
                    <select on:change=set_filter_for("webhook_id") prop:value=move || param("webhook_id")>
                        <option value="">"All webhooks"</option>
                        {webhooks.into_iter().map(|w| {
                            let selected = param("webhook_id") == w.id;
                            view! { <option value=w.id.clone() selected=selected>{w.name}</option> }
                        }).collect_view()}
                    </select>
                </label>
            })}
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
                    placeholder="ticket.update or ticket.*"
                    prop:value=move || param("event_type")
                    on:input=typed_event_type
                    aria-describedby="event-type-hint"
                />
                <span class="hint" id="event-type-hint">
                    {move || if half_typed.get() { "Applies once it is a whole type (ticket.update) or a pattern (ticket.*)." } else { "" }}
                </span>
            </label>
            <label>
                "Search"
                <input type="search" placeholder="event id, object id or words" prop:value=move || param("search") on:change=set_filter_for("search") />
            </label>
            <label>
                {format!("Since ({})", time_zone())}
                <input type="datetime-local" prop:value=move || to_local(&param("since")) on:change=set_time_for("since") />
            </label>
            <label>
                "Until"
                <input type="datetime-local" prop:value=move || to_local(&param("until")) on:change=set_time_for("until") />
            </label>
            {move || filtered().then(|| view! {
                <button type="button" on:click=clear_filters>"Clear filters"</button>
            })}
        </form>
        {move || param("search").starts_with("evt_").then(|| view! {
            <p class="notice search-scope" role="status">
                "The deliveries of event " <code>{param("search")}</code> ", to every webhook it went to. "
                <button type="button" class="link" on:click=move |_| set_filter("search", String::new())>"Show every event"</button>
            </p>
        })}
        {move || {
            let webhook_id = param("webhook_id");
            let webhook = names.get().flatten().and_then(|webhooks| {
                webhooks.into_iter().find(|w| w.id == webhook_id)
            })?;
            Some(view! { <ChosenWebhook webhook admin=session.is_admin() /> })
        }}
        {move || stats.get().and_then(Result::ok).map(|stats| view! {
            <AttemptChart stats />
            {["status", "event_type", "since", "until", "search"].iter().any(|f| !param(f).is_empty()).then(|| view! {
                <p class="hint chart-scope">
                    {move || match param("webhook_id").is_empty() {
                        true => "The chart counts every attempt of the last 24 hours; the filters narrow the list below.",
                        false => "The chart counts every attempt to this webhook in the last 24 hours; the filters narrow the list below.",
                    }}
                </p>
            })}
        })}
        <Loads loading="Loading deliveries…">
            {move || page.get().map(|loaded| loaded.map(|loaded| match loaded {
                list if list.data.is_empty() && filtered() => view! {
                    <div class="empty">
                        <p>"No deliveries match these filters."</p>
                        <button type="button" on:click=clear_filters>"Clear filters"</button>
                    </div>
                }.into_any(),
                list if list.data.is_empty() && trail().is_empty() => view! {
                    <div class="empty">
                        <p>"No deliveries here yet."</p>
                        <p class="muted">"Deliveries appear as soon as an event matches a webhook."</p>
                    </div>
                }.into_any(),
                list => {
                    let next = list.next_cursor.clone();
                    let pages = trail();
                    let page_number = pages.len() + 1;
                    let newer = (!pages.is_empty()).then(|| logs_url(None, pages[..pages.len() - 1].to_vec()));
                    let older = next.map(|cursor| {
                        let mut pages = pages.clone();
                        pages.push(cursor);
                        logs_url(None, pages)
                    });
                    let first = (page_number > 2).then(|| logs_url(None, Vec::new()));
                    view! {
                        <table class="deliveries">
                            <thead>
                                <tr>
                                    <th>"Time"</th><th>"Webhook"</th><th>"Event type"</th><th>"Status"</th>
                                    <th>"Attempts"</th><th>"Result"</th><th>"Duration"</th>
                                </tr>
                            </thead>
                            <tbody>
                                <For each=move || list.data.clone() key=|d| (d.id.clone(), d.status, d.attempt_count) let:d>
                                    <tr data-delivery=d.id.clone()>
                                        <td>{time_link(&d)}</td>
                                        <td data-label="Webhook">{d.webhook_name.clone()}</td>
                                        <td>
                                            <span class="chip">{d.event_type.clone()}</span>
                                            {d.probe.then(|| view! { " " <ProbeBadge /> })}
                                            {d.ordering_key.clone().map(|key| view! { <span class="ordering-key" title="Ordering key">{key}</span> })}
                                        </td>
                                        <td><StatusBadge status=d.status.as_str() /></td>
                                        <td data-label="Attempts">{d.attempt_count}</td>
                                        <td class="result" data-label="Result">{result_cell(&d)}</td>
                                        <td data-label="Duration">{d.last_duration_ms.map(milliseconds).unwrap_or_else(|| "—".into())}</td>
                                    </tr>
                                </For>
                            </tbody>
                        </table>
                        <nav class="pager" aria-label="Pages">
                            {first.map(|href| view! { <A href=href>"⇤ Newest"</A> })}
                            {newer.map(|href| view! { <A href=href>"← Newer"</A> })}
                            <span class="muted">{format!("Page {page_number}")}</span>
                            {older.map(|href| view! { <A href=href>"Older →"</A> })}
                            <label class="page-size">
                                "Per page"
                                <select on:change=set_filter_for("limit") prop:value=limit>
                                    {PAGE_SIZES.map(|size| view! {
                                        <option value=size selected=move || limit() == size>{size}</option>
                                    }).collect_view()}
                                </select>
                            </label>
                        </nav>
                    }.into_any()
                }
            }))}
        </Loads>
    }
}

/// The webhook the logs are narrowed to: its health, what waits for it, and
/// for administrators a way to it and Recover.
#[component]
fn ChosenWebhook(webhook: WebhookSummary, admin: bool) -> impl IntoView {
    let paused = match webhook.health.paused_deliveries {
        0 => None,
        1 => Some("1 delivery waits, paused, until it is on again.".to_string()),
        n => Some(format!(
            "{n} deliveries wait, paused, until it is on again."
        )),
    };
    let WebhookSummary {
        id, name, health, ..
    } = webhook;
    let label = format!("{name}: health");
    let shown = name.clone();
    let heading = if admin {
        view! { <A href=format!("/webhooks/{id}")>{shown}</A> }.into_any()
    } else {
        view! { <span>{shown}</span> }.into_any()
    };
    view! {
        <section class="card chosen-webhook" aria-label=label>
            <h2>{heading}</h2>
            <HealthSummary health />
            {paused.map(|words| view! { <p class="muted">{words}</p> })}
        </section>
        {admin.then(|| view! { <RecoverForm webhook_id=id webhook_name=name /> })}
    }
}

/// When a delivery was created, opening its detail.
fn time_link(delivery: &DeliveryOut) -> impl IntoView + use<> {
    let at = delivery.created_at.clone();
    view! { <A href=format!("/logs/{}", delivery.id)><Time at=at.clone() /></A> }
}

#[component]
pub fn DeliveryView() -> impl IntoView {
    page_title("Delivery");
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
                        <h1>
                            {delivery.event_type.clone()}" "<StatusBadge status=delivery.status.as_str() />
                            {delivery.probe.then(|| view! { " " <ProbeBadge /> })}
                        </h1>
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
                    {delivery.probe.then(|| view! {
                        <p class="muted probe-note">
                            "A probe: hookhub had this webhook switched off and sent this test to see whether the receiver is back. An answer in 2xx switches it on again and sends what waited, paused."
                        </p>
                    })}
                    {delivery.waits_for.clone().zip(delivery.ordering_key.clone()).map(|(head, key)| view! {
                        <p class="muted waiting">
                            <WaitsFor head key />
                            ": deliveries of one ordering key go one at a time, in the order their events were accepted. This one goes once that one has succeeded or failed."
                        </p>
                    })}
                    {(delivery.status == DeliveryStatus::Paused).then(|| view! {
                        <p class="muted">
                            "Paused: hookhub has this webhook switched off. The delivery goes out once the webhook is on again."
                        </p>
                    })}
                    <dl class="facts">
                        <dt>"Delivery"</dt><dd><code>{delivery.id.clone()}</code></dd>
                        <dt>"Webhook"</dt><dd>{webhook_link(&delivery, session.is_admin())}</dd>
                        <dt>"Event"</dt>
                        <dd>
                            <code>{delivery.event_id.clone()}</code>" · "
                            <A href=format!("/logs?search={}", delivery.event_id)>"Every delivery of this event"</A>
                        </dd>
                        {delivery.ordering_key.clone().map(|key| view! { <dt>"Ordering key"</dt><dd><code>{key}</code></dd> })}
                        <dt>"Created"</dt><dd><Time at=delivery.created_at.clone() /></dd>
                        <dt>"Attempts"</dt><dd>{delivery.attempt_count}</dd>
                        {delivery.next_attempt_at.clone().map(|at| view! { <dt>"Next attempt"</dt><dd><Time at /></dd> })}
                    </dl>
                    {(session.is_admin() && delivery.status == DeliveryStatus::Failed).then(|| {
                        let webhook_name = delivery.webhook_name.clone();
                        view! { <RecoverForm webhook_id webhook_name /> }
                    })}
                    <h2>"Attempts"</h2>
                    {if attempts.is_empty() {
                        view! { <p class="muted">"No attempt yet."</p> }.into_any()
                    } else {
                        // Newest first, the newest open: after a Redeliver its
                        // attempt is the first thing under this heading.
                        let count = attempts.len();
                        attempts
                            .into_iter()
                            .enumerate()
                            .rev()
                            .map(|(n, attempt)| view! { <Attempt number=n + 1 attempt open=n + 1 == count /> })
                            .collect_view()
                            .into_any()
                    }}
                }.into_any()
            }))}
        </Loads>
    }
}

/// The Result column: what the last attempt came to or, for a delivery
/// waiting for its turn, the delivery of its key it waits for.
fn result_cell(delivery: &DeliveryOut) -> AnyView {
    match (&delivery.waits_for, &delivery.ordering_key) {
        (Some(head), Some(key)) => {
            view! { <WaitsFor head=head.clone() key=key.clone() /> }.into_any()
        }
        _ => result_in_words(delivery).into_any(),
    }
}

/// The delivery's webhook by name, a link for those who may open it.
fn webhook_link(delivery: &DeliveryOut, admin: bool) -> AnyView {
    let name = delivery.webhook_name.clone();
    if admin {
        view! { <A href=format!("/webhooks/{}", delivery.webhook_id)>{name}</A> }.into_any()
    } else {
        view! { <span>{name}</span> }.into_any()
    }
}

#[component]
fn Attempt(number: usize, attempt: AttemptOut, open: bool) -> impl IntoView {
    let outcome = match (&attempt.error_words, &attempt.response) {
        (Some(words), _) => words.clone(),
        (None, Some(response)) => format!("HTTP {}", response.status_code),
        (None, None) => String::new(),
    };
    view! {
        <details class="card attempt" open=open>
            <summary class="attempt-header">
                <strong>{format!("Attempt {number}")}</strong>
                <StatusBadge status=attempt.status.clone() />
                <span>{outcome}</span>
                <span class="muted">{format!("{} · ", milliseconds(attempt.duration_ms))}<Time at=attempt.started_at.clone() /></span>
            </summary>
            {attempt.error_hint.clone().map(|hint| view! { <p class="error-hint">{hint}</p> })}
            {attempt.error.clone().filter(|_| attempt.error_class.as_deref() != Some("http-status")).map(|error| view! {
                <p class="muted error-detail">{format!("Details: {error}")}</p>
            })}
            <div class="exchange">
                <div>
                    <h3>"Request"</h3>
                    <p class="inline">
                        <code>{format!("{} {}", attempt.request.method, attempt.request.url)}</code>
                        <CopyButton text=as_curl(&attempt.request) label="Copy as curl" />
                    </p>
                    <HeadersTable headers=attempt.request.headers.clone() />
                    <JsonBody body=attempt.request.body.clone() copy="Copy request body" />
                </div>
                <div>
                    <h3>"Response"</h3>
                    {match attempt.response.clone() {
                        Some(response) => view! {
                            <p><code>{format!("HTTP {}", response.status_code)}</code></p>
                            <HeadersTable headers=response.headers />
                            <JsonBody body=response.body.clone() copy="Copy response body" />
                            {response.body_truncated.then(|| view! { <p class="hint">"Cut at 64 KiB."</p> })}
                        }.into_any(),
                        None => view! { <p class="muted">"No response."</p> }.into_any(),
                    }}
                </div>
            </div>
        </details>
    }
}

/// The attempt's request as a `curl` command, to send it again by hand
/// (credentials stay masked, as shown).
fn as_curl(request: &api::AttemptRequest) -> String {
    let quoted = |text: &str| format!("'{}'", text.replace('\'', "'\\''"));
    let mut command = format!("curl -X {} {}", request.method, quoted(&request.url));
    for (name, value) in &request.headers {
        command.push_str(&format!(
            " \\\n  -H {}",
            quoted(&format!("{name}: {value}"))
        ));
    }
    if !request.body.is_empty() {
        command.push_str(&format!(" \\\n  --data-raw {}", quoted(&request.body)));
    }
    command
}

/// Marks a probe: a test hookhub sent to a webhook it switched off.
#[component]
fn ProbeBadge() -> impl IntoView {
    view! {
        <span class="badge probe" title="hookhub probing a webhook it switched off">"probe"</span>
    }
}

#[cfg(test)]
mod tests {
    use super::as_curl;

    #[test]
    fn an_attempt_becomes_a_curl_command_quoted_for_the_shell() {
        let request = api::AttemptRequest {
            method: "POST".into(),
            url: "https://example.com/in?a=1".into(),
            headers: [("content-type".to_string(), "application/json".to_string())].into(),
            body: r#"{"note": "it's"}"#.into(),
        };
        assert_eq!(
            as_curl(&request),
            "curl -X POST 'https://example.com/in?a=1' \\\n  -H 'content-type: application/json' \\\n  --data-raw '{\"note\": \"it'\\''s\"}'"
        );
    }
}
