use std::collections::HashMap;

use api::{AttemptOut, WebhookIn, WebhookOut};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::client::{self, ClientError};
use crate::components::{
    AttentionChanged, ConfirmDialog, CopyButton, ErrorNote, HealthSummary, Loads, SavedNotice,
    Time, milliseconds, page_title,
};

/// **Toolbox → Webhooks**: every webhook, with its switch, edit and delete.
#[component]
pub fn Webhooks() -> impl IntoView {
    page_title("Webhooks");
    // Changes are actions; the list reloads when one has run (a switch
    // bumps `changed`, a delete its version), so no task outlives the page.
    let changed = RwSignal::new(0u32);
    let remove = Action::new_local(|id: &String| client::delete_webhook(id.clone()));
    let webhooks = LocalResource::new(move || {
        changed.track();
        remove.version().track();
        client::webhooks()
    });
    let problem = move || remove.value().get().and_then(Result::err);
    // The sidebar counts the webhooks hookhub switched off.
    let attention = AttentionChanged::current();
    Effect::watch(
        move || (changed.get(), remove.version().get()),
        move |_, _, _| attention.notify(),
        false,
    );
    // Test results outlive the rows, which are drawn again when they change.
    let tested = RwSignal::new(HashMap::<String, TestOutcome>::new());
    let to_delete = RwSignal::new(None::<WebhookOut>);
    let delete = Callback::new(move |()| {
        if let Some(webhook) = to_delete.get_untracked() {
            to_delete.set(None);
            remove.dispatch(webhook.id);
        }
    });

    view! {
        <div class="page-header">
            <h1>"Webhooks"</h1>
            <div class="actions">
                <A href="/logs" attr:class="button">"View Logs"</A>
                <A href="/webhooks/new" attr:class="button primary">"Create Webhook"</A>
            </div>
        </div>
        <SavedNotice />
        {move || problem().map(|error| view! { <ErrorNote error /> })}
        <Loads loading="Loading webhooks…">
            {move || webhooks.get().map(|loaded| loaded.map(|list| view! {
                <SwitchedOff list=list.clone() changed />
                <WebhookList list changed tested to_delete />
            }))}
        </Loads>
        {move || to_delete.get().map(|webhook| view! {
            <ConfirmDialog
                title=format!("Delete “{}”?", webhook.name)
                message="Events stop going to its URL at once. This cannot be undone.".to_string()
                confirm_label="Delete"
                on_confirm=delete
                on_cancel=Callback::new(move |()| to_delete.set(None))
            />
        })}
    }
}

/// How long after an Enable the list is read again, with what was released sent.
const LOOK_AGAIN: std::time::Duration = std::time::Duration::from_secs(3);

/// A notice for each webhook hookhub switched off: why, since when, what
/// waits for it, when it is probed next, and **Enable**.
#[component]
fn SwitchedOff(list: Vec<WebhookOut>, changed: RwSignal<u32>) -> impl IntoView {
    list.into_iter()
        .filter(|webhook| webhook.health.disabled_reason.is_some())
        .map(|webhook| view! { <SwitchedOffNotice webhook changed /> })
        .collect_view()
}

/// Switches a webhook on or off. With `test_first`, a Test goes first and
/// the webhook is switched only if it was delivered; otherwise the failed
/// attempt comes back and nothing changed. A receiver that still refuses
/// would otherwise get every paused delivery at once and fail them for good.
async fn switch_to(
    id: String,
    on: bool,
    test_first: bool,
) -> Result<Option<AttemptOut>, ClientError> {
    if test_first {
        let attempt = client::test_webhook(id.clone()).await?;
        if attempt.status != "succeeded" {
            return Ok(Some(attempt));
        }
    }
    let input = WebhookIn {
        active: Some(on),
        ..Default::default()
    };
    client::update_webhook(id, input).await.map(|()| None)
}

/// What Enable came to.
#[derive(Clone)]
enum Enabled {
    On,
    /// The test sent first failed: the webhook stays off, what waits keeps waiting.
    TestFailed(AttemptOut),
}

#[component]
fn SwitchedOffNotice(webhook: WebhookOut, changed: RwSignal<u32>) -> impl IntoView {
    let id = webhook.id.clone();
    let waiting = webhook.health.paused_deliveries;
    // With deliveries waiting, Enable tests first (`switch_to`); `true`
    // enables without the test.
    let enable = Action::new_local(move |anyway: &bool| {
        let switched = switch_to(id.clone(), true, waiting > 0 && !anyway);
        async move {
            Ok(match switched.await? {
                None => Enabled::On,
                Some(attempt) => Enabled::TestFailed(attempt),
            })
        }
    });
    Effect::new(move || {
        if let Some(Ok(Enabled::On)) = enable.value().get() {
            changed.update(|n| *n += 1);
            // What waited goes out in the next seconds: look again then (the
            // page may be gone by that time).
            set_timeout(
                move || {
                    changed.try_update(|n| *n += 1);
                },
                LOOK_AGAIN,
            );
        }
    });
    let health = webhook.health;
    let reason = health.disabled_reason.unwrap_or_default();
    let paused = match health.paused_deliveries {
        0 => "No delivery waits for it yet.".to_string(),
        1 => "1 delivery waits, paused, and goes out once it is on again.".to_string(),
        n => format!("{n} deliveries wait, paused, and go out once it is on again."),
    };
    let enable_says = match waiting {
        0 => "Enable switches it on.".to_string(),
        1 => "Enable sends a test first; if it is delivered, the webhook is switched on and the 1 paused delivery goes out.".to_string(),
        n => format!("Enable sends a test first; if it is delivered, the webhook is switched on and the {n} paused deliveries go out, oldest first."),
    };
    let heading_id = format!("switched-off-{}", webhook.id);
    let paused_logs = format!("/logs?webhook_id={}&status=paused", webhook.id);
    view! {
        <section class="notice warning switched-off" role="region" aria-labelledby=heading_id.clone() data-webhook=webhook.name.clone()>
            <h2 id=heading_id.clone()>{format!("“{}” is switched off", webhook.name)}</h2>
            <p>
                {format!("hookhub switched it off: {reason}")}
                {health.disabled_at.map(|at| view! { " · since " <Time at /> })}
            </p>
            <p>
                {paused}
                {health.next_probe_at.map(|at| view! {
                    " hookhub tries it again " <Time at /> "; the first answer in 2xx switches it back on."
                })}
            </p>
            <p class="hint">{enable_says}</p>
            <div class="actions">
                <button
                    class="primary"
                    aria-label=format!("Enable {}", webhook.name)
                    on:click=move |_| { enable.dispatch(false); }
                    disabled=move || enable.pending().get()
                >
                    {move || if enable.pending().get() { "Enabling…" } else { "Enable" }}
                </button>
                <A href=paused_logs attr:class="button">"Paused deliveries"</A>
            </div>
            {move || enable.value().get().map(|result| match result {
                Ok(Enabled::On) => ().into_any(),
                Ok(Enabled::TestFailed(attempt)) => {
                    let failure = match (attempt.error_words, attempt.error_hint) {
                        (Some(words), Some(hint)) => format!("{words}. {hint}"),
                        (Some(words), None) => words,
                        _ => "it was not delivered".to_string(),
                    };
                    view! {
                        <div class="error-note" role="alert">
                            <p>{format!("The test failed: {failure}")}</p>
                            <p>{format!(
                                "The webhook stays off; {} keep waiting.",
                                match waiting { 1 => "the paused delivery".to_string(), n => format!("the {n} paused deliveries") }
                            )}</p>
                            <button type="button" on:click=move |_| { enable.dispatch(true); }>"Enable anyway"</button>
                        </div>
                    }.into_any()
                }
                Err(error) => view! { <ErrorNote error /> }.into_any(),
            })}
        </section>
    }
}

/// A row's buttons are one stop of the Tab key (on Edit); the arrow keys,
/// Home and End move between them, so that a row costs four stops, not seven.
fn toolbar_keys(event: leptos::ev::KeyboardEvent) {
    use wasm_bindgen::JsCast;
    let step: i32 = match event.key().as_str() {
        "ArrowRight" | "ArrowDown" => 1,
        "ArrowLeft" | "ArrowUp" => -1,
        "Home" => i32::MIN,
        "End" => i32::MAX,
        _ => return,
    };
    let Some(toolbar) = event
        .current_target()
        .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
    else {
        return;
    };
    let children = toolbar.children();
    let items: Vec<web_sys::HtmlElement> = (0..children.length())
        .filter_map(|n| children.item(n)?.dyn_into::<web_sys::HtmlElement>().ok())
        .filter(|item| !item.has_attribute("disabled"))
        .collect();
    if items.is_empty() {
        return;
    }
    let active = document().active_element();
    let at = items
        .iter()
        .position(|item| {
            active
                .as_ref()
                .is_some_and(|a| a == item.unchecked_ref::<web_sys::Element>())
        })
        .unwrap_or(0) as i32;
    let last = items.len() as i32 - 1;
    let next = match step {
        i32::MIN => 0,
        i32::MAX => last,
        step => (at + step).rem_euclid(last + 1),
    };
    event.prevent_default();
    let _ = items[next as usize].focus();
}

/// How soon a webhook in this state wants looking at: lower first.
fn urgency(state: &str) -> u8 {
    match state {
        "disabled" => 0,
        "failing" => 1,
        "never_called" => 2,
        _ => 3,
    }
}

#[component]
fn WebhookList(
    list: Vec<WebhookOut>,
    changed: RwSignal<u32>,
    tested: RwSignal<HashMap<String, TestOutcome>>,
    to_delete: RwSignal<Option<WebhookOut>>,
) -> impl IntoView {
    if list.is_empty() {
        return view! {
            <div class="empty">
                <p>"No webhooks yet."</p>
                <p class="muted">"Create one to send events to a URL of your choice."</p>
            </div>
        }
        .into_any();
    }
    // Found by any word of the name, URL, events or state; the most urgent
    // first on request (switched off, failing, never called, healthy).
    let find = RwSignal::new(String::new());
    let urgent_first = RwSignal::new(false);
    let show_all = RwSignal::new(false);
    let list = StoredValue::new(list);
    let matching = move || {
        let words = find.get().to_lowercase();
        let mut shown: Vec<WebhookOut> = list.with_value(|list| {
            list.iter()
                .filter(|w| {
                    let haystack = format!(
                        "{} {} {} {} {}",
                        w.name,
                        w.url,
                        w.events.join(" "),
                        w.health.state.as_str().replace('_', " "),
                        if w.active { "on" } else { "off" }
                    )
                    .to_lowercase();
                    words.split_whitespace().all(|word| haystack.contains(word))
                })
                .cloned()
                .collect()
        });
        if urgent_first.get() {
            shown.sort_by_key(|w| urgency(w.health.state.as_str()));
        }
        shown
    };
    // A long list shows its first rows at once; Find reaches every webhook,
    // and Show all draws the rest (docs/decisions.md, Console).
    let visible = move || {
        let mut shown = matching();
        if !show_all.get() {
            shown.truncate(FIRST_ROWS);
        }
        shown
    };
    view! {
        <div class="list-tools">
            <label class="inline">
                "Find"
                <input type="search" placeholder="name, URL, event or state" bind:value=find />
            </label>
            <label class="inline">
                <input type="checkbox" bind:checked=urgent_first />
                "Most urgent first"
            </label>
        </div>
        {move || visible().is_empty().then(|| view! {
            <p class="empty">{format!("No webhook matches “{}”.", find.get())}</p>
        })}
        <table class="webhooks">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"URL"</th>
                    <th>"Events"</th>
                    <th>"Method"</th>
                    <th>"Health"</th>
                    <th>"Active"</th>
                    <th><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>
                // Keyed on what a row shows: an unchanged row is not drawn again.
                <For
                    each=visible
                    key=|w| (w.id.clone(), w.updated_at.clone(), w.health.last_attempt_at.clone(), w.health.consecutive_failures)
                    let:webhook
                >
                    <WebhookRow webhook changed tested to_delete />
                </For>
            </tbody>
        </table>
        {move || {
            let total = matching().len();
            (!show_all.get() && total > FIRST_ROWS).then(|| view! {
                <p class="list-more muted" role="status">
                    {format!("Showing the first {FIRST_ROWS} of {total} webhooks: Find narrows them. ")}
                    <button type="button" class="link" on:click=move |_| show_all.set(true)>
                        {format!("Show all {total}")}
                    </button>
                </p>
            })
        }}
    }
    .into_any()
}

/// Rows a long list draws before Show all.
const FIRST_ROWS: usize = 50;

#[component]
fn WebhookRow(
    webhook: WebhookOut,
    changed: RwSignal<u32>,
    tested: RwSignal<HashMap<String, TestOutcome>>,
    to_delete: RwSignal<Option<WebhookOut>>,
) -> impl IntoView {
    let id = webhook.id.clone();
    let edit = format!("/webhooks/{}", webhook.id);
    let events = if webhook.events.is_empty() {
        view! { <span class="muted">"none"</span> }.into_any()
    } else {
        webhook
            .events
            .iter()
            .map(|event| view! { <span class="chip">{event.clone()}</span> })
            .collect_view()
            .into_any()
    };
    let active = webhook.active;
    let name = webhook.name.clone();
    let url = webhook.url.clone();
    let method = webhook.method.as_str();
    let switch_label = format!("Active: {name}");
    let test_id = webhook.id.clone();
    let test = Action::new_local(move |_: &()| client::test_webhook(test_id.clone()));
    let tested_id = webhook.id.clone();
    Effect::new(move || {
        if let Some(outcome) = test.value().get() {
            tested.update(|all| {
                all.insert(tested_id.clone(), outcome);
            });
        }
    });
    let shown_id = webhook.id.clone();
    let test_outcome = move || tested.with(|all| all.get(&shown_id).cloned());
    // The switch: pending while it saves, back where it was if saving failed.
    // Switching on a webhook hookhub switched off, with deliveries waiting,
    // tests first as the notice's Enable does: a failed test leaves it off
    // and shows under the row (`Some`).
    let checked = RwSignal::new(active);
    let test_first =
        webhook.health.disabled_reason.is_some() && webhook.health.paused_deliveries > 0;
    let switch = Action::new_local(move |on: &bool| switch_to(id.clone(), *on, *on && test_first));
    let refused_id = webhook.id.clone();
    Effect::new(move || match switch.value().get() {
        Some(Ok(None)) => changed.update(|n| *n += 1),
        Some(Ok(Some(attempt))) => {
            checked.set(active);
            tested.update(|all| {
                all.insert(refused_id.clone(), Ok(attempt));
            });
        }
        Some(Err(_)) => checked.set(active),
        None => {}
    });
    let link_text = name.clone();
    let state = webhook.health.state.as_str();
    // The webhook just saved (`?saved=<id>`) is pointed out and brought into view.
    let saved_id = webhook.id.clone();
    let just_saved = leptos_router::hooks::use_query_map()
        .with_untracked(|q| q.get("saved").is_some_and(|saved| saved == saved_id));
    let row = NodeRef::<leptos::html::Tr>::new();
    if just_saved {
        Effect::new(move || {
            if let Some(row) = row.get() {
                row.scroll_into_view_with_bool(false);
            }
        });
    }
    view! {
        <tr data-webhook=name.clone() data-health=state class:just-saved=just_saved node_ref=row>
            <td><A href=edit.clone()>{link_text}</A></td>
            <td class="url">
                <span class="long" title=url.clone()>{url.clone()}</span>
                <CopyButton text=url label="Copy URL" />
            </td>
            <td data-label="Events">{events}</td>
            <td data-label="Method">{method}</td>
            <td data-label="Health"><HealthSummary health=webhook.health.clone() /></td>
            <td data-label="Active">
                <label class="switch">
                    <input
                        type="checkbox"
                        role="switch"
                        aria-label=switch_label
                        prop:checked=checked
                        disabled=move || switch.pending().get()
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            checked.set(on);
                            switch.dispatch(on);
                        }
                    />
                    <span class="slider"></span>
                </label>
                {move || switch.pending().get().then(|| view! { <span class="muted switch-state">"Saving…"</span> })}
                {move || switch.value().get().and_then(Result::err).map(|error| view! {
                    <span class="field-error switch-state" role="alert">{format!("Not saved: {}", error.message)}</span>
                })}
            </td>
            <td class="row-actions"><div class="row-buttons" role="toolbar" aria-label=format!("Actions for {name}") on:keydown=toolbar_keys>
                <button
                    tabindex="-1"
                    aria-label=format!("Test {name}")
                    on:click=move |_| { test.dispatch(()); }
                    disabled=move || test.pending().get()
                >
                    {move || if test.pending().get() { "Testing…" } else { "Test" }}
                </button>
                <A href=format!("/logs?webhook_id={}", webhook.id) attr:class="button" attr:tabindex="-1" attr:aria-label=format!("Logs of {name}")>"Logs"</A>
                <A href=edit attr:class="button" attr:aria-label=format!("Edit {name}")>"Edit"</A>
                <button class="danger" tabindex="-1" aria-label=format!("Delete {name}") on:click=move |_| to_delete.set(Some(webhook.clone()))>
                    "Delete"
                </button></div>
            </td>
        </tr>
        {move || test_outcome().map(|result| view! {
            <tr class="test-result">
                <td colspan="7">
                    {match result {
                        Ok(attempt) => view! { <TestResult attempt /> }.into_any(),
                        Err(error) => view! { <ErrorNote error /> }.into_any(),
                    }}
                </td>
            </tr>
        })}
    }
}

/// What a Test came to: the attempt, or why it could not be made.
type TestOutcome = Result<AttemptOut, ClientError>;

/// Characters of the response body shown under a tested row.
const BODY_PREVIEW: usize = 200;

/// What the receiver answered to a Test: status, duration, start of the body.
#[component]
pub(crate) fn TestResult(attempt: AttemptOut) -> impl IntoView {
    let succeeded = attempt.status == "succeeded";
    let answer = match (&attempt.error_words, &attempt.response) {
        (Some(words), _) => words.clone(),
        (None, Some(response)) => format!("HTTP {}", response.status_code),
        (None, None) => String::new(),
    };
    let hint = attempt.error_hint.clone();
    let body: String = attempt
        .response
        .map(|r| r.body.chars().take(BODY_PREVIEW).collect())
        .unwrap_or_default();
    view! {
        <div class="test-outcome" role="status">
            <span class=if succeeded { "badge ok" } else { "badge failed" }>
                {if succeeded { "Test delivered" } else { "Test failed" }}
            </span>
            <span class="answer">{answer}</span>
            <span class="muted">{milliseconds(attempt.duration_ms)}</span>
            {hint.map(|hint| view! { <p class="error-hint">{hint}</p> })}
            {(!body.is_empty()).then(|| view! { <pre class="body-preview">{body}</pre> })}
        </div>
    }
}
