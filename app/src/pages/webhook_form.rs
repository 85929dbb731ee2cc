//! One form for creating and editing a webhook, with every writable field.

use std::collections::BTreeSet;

use api::{DeliveryMethod, MAX_NAME_CHARS, PreviewOut, WebhookIn, WebhookOut};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::webhook_draft::{
    GRID_ACTIONS, OPERATOR_EVENTS, OPERATOR_MODULE, WebhookDraft, field_label, filter_value,
    is_module_name, rate_limit_value, retry_span,
};
use super::webhooks::TestResult;
use crate::client::{self, ClientError};
use crate::components::{
    AuthFields, AuthState, BearerToken, CharCount, CopyButton, ErrorNote, FieldError, FormErrors,
    FormProblem, HeadersTable, HealthSummary, JsonBody, KeyValueLabels, KeyValueRows, Loads,
    Reveal, StatusBadge, Time, guard_unsaved, page_title, result_in_words,
};

const HEADER_LABELS: KeyValueLabels = KeyValueLabels {
    name: "Header name",
    name_placeholder: "X-Header",
    value: "Header value",
    value_placeholder: "value",
    add: "Add header",
};

#[component]
pub fn NewWebhook() -> impl IntoView {
    page_title("Create Webhook");
    let existing = LocalResource::new(client::webhooks);
    view! {
        <h1>"Create Webhook"</h1>
        <Loads loading="Loading…">
            {move || existing.get().map(|loaded| loaded.map(|all| view! { <WebhookForm initial=None known_modules=modules_of(&all) /> }))}
        </Loads>
    }
}

#[component]
pub fn EditWebhook() -> impl IntoView {
    page_title("Edit Webhook");
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let loaded = LocalResource::new(move || {
        let id = id();
        async move {
            let webhook = client::webhook(id).await?;
            let all = client::webhooks().await?;
            Ok::<_, ClientError>((webhook, modules_of(&all)))
        }
    });
    view! {
        <h1>"Edit Webhook"</h1>
        <Loads loading="Loading…">
            {move || loaded.get().map(|loaded| loaded.map(|(webhook, modules)| view! {
                <section class="card health-card" aria-label="Health">
                    <HealthSummary health=webhook.health.clone() />
                </section>
                <WebhookForm initial=Some(webhook.clone()) known_modules=modules />
                <SigningSecret id=webhook.id.clone() />
                <RecentDeliveries id=webhook.id />
            }))}
        </Loads>
    }
}

/// Modules named in any webhook's events, for the grid's suggestions.
fn modules_of(webhooks: &[WebhookOut]) -> Vec<String> {
    let mut modules: BTreeSet<String> = webhooks
        .iter()
        .flat_map(|w| w.events.iter())
        .filter_map(|event| event.split_once('.').map(|(module, _)| module.to_string()))
        .collect();
    modules.insert("object".into());
    modules.into_iter().collect()
}

/// Fields whose text the API cannot take, by name, with what is wrong.
type TypedProblems = std::collections::BTreeMap<String, String>;

#[component]
fn WebhookForm(initial: Option<WebhookOut>, known_modules: Vec<String>) -> impl IntoView {
    let editing = initial.as_ref().map(|w| w.id.clone());
    let draft = initial.as_ref().map(WebhookDraft::from).unwrap_or_default();
    let fallback_module = known_modules
        .first()
        .cloned()
        .unwrap_or_else(|| "object".into());
    // A new webhook starts with no module: the grid fills as modules are added.
    let modules = RwSignal::new(match initial {
        Some(_) => draft.grid_modules(&fallback_module),
        None => Vec::new(),
    });
    let secret_set = draft.secret_set;
    let stored_active = draft.stored_active;
    let name = RwSignal::new(draft.name);
    let url = RwSignal::new(draft.url);
    let method = RwSignal::new(draft.method);
    let active = RwSignal::new(draft.active);
    let events = RwSignal::new(draft.grid_events);
    let new_module = RwSignal::new(String::new());
    let other = RwSignal::new(draft.other_events);
    let data_location = RwSignal::new(draft.data_location);
    let auth = AuthState::new(draft.auth_type, draft.username);
    let header_rows = RwSignal::new(draft.headers);
    let filter = RwSignal::new(draft.filter);
    let rate_limit = RwSignal::new(draft.rate_limit);
    let retry_schedule = RwSignal::new(draft.retry_schedule);
    let errors = FormErrors::new();

    let navigate = use_navigate();
    // Answers the id of the webhook saved, which the list then points out.
    let save = Action::new_local(
        move |(id, input, typed): &(Option<String>, WebhookIn, TypedProblems)| {
            let (id, input, typed) = (id.clone(), input.clone(), typed.clone());
            async move {
                // Text the API cannot take is said next to its field, not sent.
                if !typed.is_empty() {
                    let names: Vec<&str> = typed.keys().map(String::as_str).collect();
                    return Err(ClientError {
                        status: 422,
                        message: format!("invalid fields: {}", names.join(", ")),
                        fields: typed,
                    });
                }
                // A webhook without events would never fire: say so rather than
                // save it, beside whatever else the server finds wrong (asked
                // through the preview, which saves nothing).
                if input.events.as_ref().is_some_and(Vec::is_empty) {
                    let mut fields = match client::preview(id.clone(), input).await {
                        Err(error) => error.fields,
                        Ok(_) => Default::default(),
                    };
                    fields.insert(
                        "events".to_string(),
                        "choose at least one event: without one the webhook never fires"
                            .to_string(),
                    );
                    let names: Vec<&str> = fields.keys().map(String::as_str).collect();
                    let message = format!("invalid fields: {}", names.join(", "));
                    return Err(ClientError {
                        status: 422,
                        message,
                        fields,
                    });
                }
                match id {
                    Some(id) => client::update_webhook(id.clone(), input).await.map(|()| id),
                    None => client::create_webhook(input)
                        .await
                        .map(|created| created.id),
                }
            }
        },
    );
    Effect::new(move || match save.value().get() {
        Some(Ok(id)) => navigate(&format!("/webhooks?saved={id}"), Default::default()),
        Some(Err(error)) => errors.show(error),
        None => {}
    });

    // What the form holds, as the API takes it. Reading the signals tracks
    // them, so the preview below follows every edit.
    let input = move || {
        WebhookDraft {
            name: name.get(),
            url: url.get(),
            method: method.get(),
            active: active.get(),
            stored_active,
            grid_events: events.get(),
            other_events: other.get(),
            auth_type: auth.kind.get(),
            username: auth.username.get(),
            password: auth.password.get(),
            token: auth.token.get(),
            secret_set,
            data_location: data_location.get(),
            headers: header_rows.get(),
            filter: filter.get(),
            rate_limit: rate_limit.get(),
            retry_schedule: retry_schedule.get(),
        }
        .to_input()
    };
    let typed_span = move || retry_schedule.with(|text| retry_span(text));
    // What Save was told of the filter and the rate limit goes once they
    // are edited: the filter's check below says what holds now.
    Effect::new(move || {
        filter.track();
        errors.forget("filter");
    });
    Effect::new(move || {
        rate_limit.track();
        errors.forget("rate_limit");
    });
    Effect::new(move || {
        retry_schedule.track();
        errors.forget("retry_schedule");
    });
    // What is wrong with the filter as typed, before the server is asked.
    let filter_typed = move || filter.with(|text| filter_value(text));

    // Keyed on what the form holds: Leptos drops the answers to earlier
    // edits, and any that come after the form is gone.
    let previewed = editing.clone();
    // A stored header's value, fetched on demand (only an existing webhook has any).
    let reveal_header = editing.clone().map(|id| -> Reveal {
        std::sync::Arc::new(move |name| Box::pin(client::webhook_header(id.clone(), name)))
    });
    let preview = LocalResource::new(move || client::preview(previewed.clone(), input()));

    let submit = {
        let editing = editing.clone();
        move |event: SubmitEvent| {
            event.prevent_default();
            let input = untrack(input);
            let mut typed = TypedProblems::new();
            if let Err(problem) = untrack(filter_typed) {
                typed.insert("filter".into(), format!("The filter {problem}"));
            }
            if let Err(problem) = rate_limit.with_untracked(|text| rate_limit_value(text)) {
                typed.insert("rate_limit".into(), problem);
            }
            save.dispatch((editing.clone(), input, typed));
        }
    };

    let module_problem = RwSignal::new(None::<String>);
    let add_module = move || {
        let module = new_module.get_untracked().trim().to_lowercase();
        if module.is_empty() {
            return;
        }
        if !is_module_name(&module) {
            module_problem.set(Some(format!(
                "“{module}” cannot be a module: use lowercase letters, digits, _ and - (at most 64)"
            )));
            return;
        }
        if module == OPERATOR_MODULE {
            module_problem.set(Some(
                "hookhub's own events are picked below the grid, under “When hookhub has trouble”"
                    .into(),
            ));
            return;
        }
        module_problem.set(None);
        if !modules.with_untracked(|m| m.contains(&module)) {
            modules.update(|m| m.push(module));
        }
        new_module.set(String::new());
    };

    // Test, on an existing webhook: its saved settings, as the list's Test.
    let tested_id = editing.clone();
    let test = Action::new_local({
        let id = editing.clone().unwrap_or_default();
        move |_: &()| client::test_webhook(id.clone())
    });

    let saved_input = StoredValue::new(untrack(input));
    let cancel = guard_unsaved(move || saved_input.with_value(|saved| *saved != untrack(input)));

    view! {
        <div class="form-with-preview">
        <form class="webhook-form card" on:submit=submit novalidate>
            <FormProblem errors />
            <div class="field">
                <label for="name">"Name"</label>
                <input id="name" bind:value=name aria-describedby="name-hint" />
                <p class="hint" id="name-hint">
                    "Say what fires it and where it goes, e.g. “Closed tickets → support CRM”: the URL rarely tells anyone why a webhook exists. "
                    <CharCount text=name limit=MAX_NAME_CHARS />
                </p>
                <FieldError errors field="name" />
            </div>
            <div class="field">
                <label for="url">"URL"</label>
                <input id="url" type="url" bind:value=url placeholder="https://example.com/hooks" />
                <FieldError errors field="url" />
            </div>
            <div class="field-row">
                <div class="field">
                    <label for="method">"Method"</label>
                    <select
                        id="method"
                        on:change=move |ev| {
                            let value = event_target_value(&ev);
                            if let Some(m) = DeliveryMethod::ALL.into_iter().find(|m| m.as_str() == value) {
                                method.set(m);
                            }
                        }
                    >
                        {DeliveryMethod::ALL.into_iter().map(|m| view! {
                            <option value=m.as_str() selected=move || method.get() == m>{m.as_str()}</option>
                        }).collect_view()}
                    </select>
                    <FieldError errors field="method" />
                </div>
                <div class="field">
                    <span class="label-like">"Data Format"</span>
                    <p class="fixed-value">"JSON"</p>
                </div>
                <div class="field checkbox">
                    <label><input id="active" type="checkbox" bind:checked=active />" Active"</label>
                </div>
            </div>

            <fieldset class="field">
                <legend>"Events"</legend>
                {move || modules.with(Vec::is_empty).then(|| view! {
                    <p class="hint">"Add the module whose events fire this webhook (for example ticket), then tick its actions."</p>
                })}
                <table class="event-grid" class:empty=move || modules.with(Vec::is_empty)>
                    <thead>
                        <tr>
                            <th>"Module"</th>
                            {GRID_ACTIONS.iter().map(|a| view! {
                                <th>{if *a == "*" { "any" } else { a }}</th>
                            }).collect_view()}
                        </tr>
                    </thead>
                    <tbody>
                        <For each=move || modules.get() key=|m| m.clone() let:module>
                            <tr>
                                <th scope="row">{module.clone()}</th>
                                {GRID_ACTIONS.iter().map(|action| {
                                    let event = format!("{module}.{action}");
                                    let label = format!("{module} {}", if *action == "*" { "any" } else { action });
                                    let toggled = event.clone();
                                    view! {
                                        <td>
                                            <input
                                                type="checkbox"
                                                aria-label=label
                                                prop:checked=move || events.with(|e| e.contains(&event))
                                                on:change=move |ev| {
                                                    let on = event_target_checked(&ev);
                                                    events.update(|e| {
                                                        if on { e.insert(toggled.clone()); } else { e.remove(&toggled); }
                                                    });
                                                }
                                            />
                                        </td>
                                    }
                                }).collect_view()}
                            </tr>
                        </For>
                    </tbody>
                </table>
                <div class="inline">
                    <label for="new-module" class="visually-hidden">"Module"</label>
                    <input
                        id="new-module"
                        list="known-modules"
                        placeholder="module, e.g. ticket"
                        bind:value=new_module
                        on:keydown=move |ev| {
                            if ev.key() == "Enter" {
                                ev.prevent_default();
                                add_module();
                            }
                        }
                    />
                    <datalist id="known-modules">
                        {known_modules.into_iter().map(|m| view! { <option value=m /> }).collect_view()}
                    </datalist>
                    <button type="button" on:click=move |_| add_module()>"Add module"</button>
                </div>
                {move || module_problem.get().map(|problem| view! { <p class="field-error" role="alert">{problem}</p> })}
                <fieldset class="operator-events">
                    <legend>"When hookhub has trouble"</legend>
                    <p class="hint">"hookhub's own events, for a chat, a pager or an email gateway: never about this webhook itself."</p>
                    {OPERATOR_EVENTS.iter().map(|(event, words)| {
                        let event = event.to_string();
                        let toggled = event.clone();
                        view! {
                            <label class="checkbox-line">
                                <input
                                    type="checkbox"
                                    prop:checked=move || events.with(|e| e.contains(&event))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        events.update(|e| {
                                            if on { e.insert(toggled.clone()); } else { e.remove(&toggled); }
                                        });
                                    }
                                />
                                " "{*words}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <label for="other-events">"Other event types"</label>
                <input id="other-events" bind:value=other placeholder="weather.report, *" />
                <p class="hint">"Comma-separated: module.action, module.* or * for every event but hookhub's own."</p>
                <FieldError errors field="events" />
            </fieldset>

            <AuthFields id="auth" auth secret_set bearer=BearerToken::Typed errors />

            <div class="field">
                <label for="data-location">"Data location"</label>
                <input id="data-location" bind:value=data_location placeholder="root/result" />
                <p class="hint">"Optional. The object is nested there in the body; the event type then travels in the webhook-event header."</p>
                <FieldError errors field="data_location" />
            </div>

            <div class="field">
                <label for="filter">"Filter"</label>
                <textarea id="filter" class="json-editor" rows="4" spellcheck="false" bind:value=filter
                    placeholder=r#"{"data.priority": {"$in": ["P1", "P2"]}}"# aria-describedby="filter-hint filter-check"></textarea>
                <p class="hint" id="filter-hint">"Optional. Only events this JSON matches are delivered: paths like data.status with a value, or operators $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists, $contains; $or, $and and $not combine them."</p>
                <FilterCheck typed=Signal::derive(filter_typed) preview />
                <FieldError errors field="filter" />
            </div>

            <div class="field">
                <label for="rate-limit">"Rate limit"</label>
                <input id="rate-limit" class="narrow" inputmode="numeric" bind:value=rate_limit placeholder="no limit" aria-describedby="rate-limit-hint" />
                <p class="hint" id="rate-limit-hint">"Optional. Deliveries a second at most, 1 to 10,000: the rest wait their turn in the queue, without failing."</p>
                <FieldError errors field="rate_limit" />
            </div>

            <div class="field">
                <label for="retry-schedule">"Retry schedule"</label>
                <input id="retry-schedule" bind:value=retry_schedule placeholder="the server's" aria-describedby="retry-schedule-hint" />
                <p class="hint" id="retry-schedule-hint">
                    "Optional. The waits before each retry, like 10s, 1m, 1h (1 to 20 steps of 1s to 24h). "
                    {move || typed_span().map(|span| format!("A failing delivery is tried for {span} in all, then fails."))}
                </p>
                <FieldError errors field="retry_schedule" />
            </div>

            <fieldset class="field">
                <legend>"Extra headers"</legend>
                <KeyValueRows rows=header_rows labels=HEADER_LABELS reveal=reveal_header />
                <FieldError errors field="headers" />
            </fieldset>

            <div class="form-actions">
                {tested_id.clone().map(|_| view! {
                    <button type="button" title="Sends a webhook.test event to the saved URL now" on:click=move |_| { test.dispatch(()); } disabled=move || test.pending().get()>
                        {move || if test.pending().get() { "Testing…" } else { "Test" }}
                    </button>
                })}
                <A href="/webhooks" attr:class="button" on:click=cancel>"Cancel"</A>
                <button type="submit" class="primary" disabled=move || save.pending().get()>
                    {move || if save.pending().get() { "Saving…" } else { "Save" }}
                </button>
            </div>
            {move || test.value().get().map(|result| match result {
                Ok(attempt) => view! { <TestResult attempt /> }.into_any(),
                Err(error) => view! { <ErrorNote error /> }.into_any(),
            })}
        </form>
        <RequestPreview preview />
        </div>
    }
}

/// The filter as typed, checked: not JSON yet, refused by the server (which
/// names the place), or whether the preview's sample event passes it.
#[component]
fn FilterCheck(
    typed: Signal<Result<Option<serde_json::Value>, String>>,
    preview: LocalResource<Result<PreviewOut, ClientError>>,
) -> impl IntoView {
    let said = move || -> Option<(&'static str, String)> {
        match typed.get() {
            Err(problem) => return Some(("problem", format!("The filter {problem}"))),
            Ok(None) => return None,
            Ok(Some(_)) => {}
        }
        match preview.get()? {
            Err(error) => error
                .fields
                .get("filter")
                .map(|problem| ("problem", format!("The filter is refused: {problem}"))),
            Ok(preview) => match preview.filter_matches? {
                true => Some(("passes", "✓ The preview's sample event passes this filter: it would be delivered.".into())),
                false => Some(("refused", "✗ The preview's sample event does not pass this filter: it would not be delivered.".into())),
            },
        }
    };
    view! {
        <p id="filter-check" class="filter-check" role="status" aria-live="polite">
            {move || said().map(|(kind, words)| view! { <span class=format!("filter-{kind}")>{words}</span> })}
        </p>
    }
}

/// The exact request a sample event would produce, as the admin edits.
#[component]
fn RequestPreview(preview: LocalResource<Result<PreviewOut, ClientError>>) -> impl IntoView {
    view! {
        <aside class="card preview" aria-label="Request preview">
            <h2>"Request preview"</h2>
            <p class="hint">"A sample event as this webhook would receive it, signed; credentials masked."</p>
            {move || match preview.get() {
                None => view! { <p class="loading">"Building the preview…"</p> }.into_any(),
                Some(Err(error)) if !error.fields.is_empty() => {
                    let mut fields: Vec<&str> = error.fields.keys().map(|f| field_label(f)).collect();
                    fields.dedup();
                    let fields = fields.join(", ");
                    view! { <p class="muted">{format!("Fix these fields to see the request: {fields}")}</p> }.into_any()
                }
                Some(Err(error)) => view! { <ErrorNote error /> }.into_any(),
                Some(Ok(PreviewOut { request, .. })) => view! {
                    <p><code class="request-line">{format!("{} {}", request.method, request.url)}</code></p>
                    <HeadersTable headers=request.headers />
                    <JsonBody body=request.body />
                }.into_any(),
            }}
        </aside>
    }
}

/// Deliveries shown on the Edit page, newest first.
const RECENT: u32 = 20;

/// The webhook's latest deliveries, each opening its detail, as GitHub's
/// webhook page lists them.
#[component]
fn RecentDeliveries(id: String) -> impl IntoView {
    let logs = format!("/logs?webhook_id={id}");
    let recent =
        LocalResource::new(move || client::deliveries(format!("webhook_id={id}&limit={RECENT}")));
    view! {
        <section class="card">
            <div class="page-header">
                <h2>"Recent deliveries"</h2>
                <A href=logs attr:class="button">"All in Logs"</A>
            </div>
            <Loads loading="Loading deliveries…">
                {move || recent.get().map(|loaded| loaded.map(|list| {
                    if list.data.is_empty() {
                        return view! { <p class="muted">"No deliveries yet."</p> }.into_any();
                    }
                    view! {
                        <ul class="recent">
                            {list.data.into_iter().map(|d| {
                                let result = result_in_words(&d);
                                view! {
                                    <li>
                                        <StatusBadge status=d.status.as_str() />
                                        <A href=format!("/logs/{}", d.id)>{d.event_type.clone()}</A>
                                        <span class="muted">{result}</span>
                                        <Time at=d.created_at.clone() />
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }))}
            </Loads>
        </section>
    }
}

/// The `whsec_` secret receivers verify signatures with, revealed on demand.
#[component]
fn SigningSecret(id: String) -> impl IntoView {
    let reveal = Action::new_local(move |_: &()| client::webhook_secret(id.clone()));
    let secret = Signal::derive(move || {
        reveal
            .value()
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
    });
    view! {
        <section class="card secret">
            <h2>"Signing secret"</h2>
            <p class="hint">"Receivers check the webhook-signature header with it (Standard Webhooks)."</p>
            {move || match reveal.value().get() {
                None => view! {
                    <button type="button" on:click=move |_| { reveal.dispatch(()); } disabled=move || reveal.pending().get()>"Reveal secret"</button>
                }.into_any(),
                Some(Err(error)) => view! { <ErrorNote error /> }.into_any(),
                Some(Ok(value)) => view! {
                    <div class="inline">
                        <code class="secret-value">{value}</code>
                        <CopyButton text=secret label="Copy signing secret" />
                    </div>
                }.into_any(),
            }}
        </section>
    }
}
