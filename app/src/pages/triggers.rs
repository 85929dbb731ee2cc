//! **Triggers**: URLs that outside systems call to start a fan-out.

use api::{
    AuthIn, AuthType, MAX_NAME_CHARS, TriggerAuthOut, TriggerCallOut, TriggerIn, TriggerMethod,
    TriggerOut, TriggerResponse,
};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::trigger_signature::{
    SignatureFields, SignatureState, signature_headers, signature_label,
};
use crate::client::{self, ClientError};
use crate::components::{
    AuthFields, AuthState, BearerToken, CharCount, ConfirmDialog, CopyButton, ErrorNote,
    FieldError, FormErrors, FormProblem, KeyValueLabels, KeyValueRow, KeyValueRows, Loads,
    SavedNotice, Time, copy_to_clipboard, guard_unsaved, page_title, password_rules,
};

const PARAM_LABELS: KeyValueLabels = KeyValueLabels {
    name: "Parameter name",
    name_placeholder: "CityName",
    value: "Required value",
    value_placeholder: "Paris",
    add: "Add parameter",
};

#[component]
pub fn Triggers() -> impl IntoView {
    page_title("Triggers");
    let remove = Action::new_local(|id: &String| client::delete_trigger(id.clone()));
    let triggers = LocalResource::new(move || {
        remove.version().track();
        client::triggers()
    });
    let problem = move || remove.value().get().and_then(Result::err);
    let to_delete = RwSignal::new(None::<TriggerOut>);
    let delete = Callback::new(move |()| {
        if let Some(trigger) = to_delete.get_untracked() {
            to_delete.set(None);
            remove.dispatch(trigger.id);
        }
    });
    view! {
        <div class="page-header">
            <h1>"Triggers"</h1>
            <div class="actions">
                <A href="/triggers/new" attr:class="button primary">"Create Trigger"</A>
            </div>
        </div>
        {move || problem().map(|error| view! { <ErrorNote error /> })}
        <Loads loading="Loading triggers…">
            {move || triggers.get().map(|loaded| loaded.map(|loaded| match loaded {
                list if list.is_empty() => view! {
                    <div class="empty">
                        <p>"No triggers yet."</p>
                        <p class="muted">"A trigger gives an outside system a URL to call; each call becomes an event for your webhooks."</p>
                    </div>
                }.into_any(),
                list => view! {
                    <table class="webhooks">
                        <thead>
                            <tr>
                                <th>"Name"</th><th>"Method"</th><th>"Auth"</th><th>"Event type"</th><th>"URL"</th>
                                <th><span class="visually-hidden">"Actions"</span></th>
                            </tr>
                        </thead>
                        <tbody>
                            {list.into_iter().map(|trigger| {
                                let url = trigger.hook_url.clone();
                                let doomed = trigger.clone();
                                let link_text = trigger.name.clone();
                                view! {
                                    <tr data-trigger=trigger.name.clone()>
                                        <td><A href=format!("/triggers/{}", trigger.id)>{link_text}</A></td>
                                        <td data-label="Method">{trigger.method.as_str()}</td>
                                        <td data-label="Authentication">{auth_label(&trigger.auth)}</td>
                                        <td><span class="chip">{trigger.event_type.clone()}</span></td>
                                        <td class="url"><span class="long" title=url.clone()>{url.clone()}</span><CopyButton text=url label="Copy trigger URL" /></td>
                                        <td class="row-actions">
                                            <button class="danger" aria-label=format!("Delete {}", doomed.name) on:click=move |_| to_delete.set(Some(doomed.clone()))>"Delete"</button>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            }))}
        </Loads>
        {move || to_delete.get().map(|trigger| view! {
            <ConfirmDialog
                title=format!("Delete “{}”?", trigger.name)
                message="Its URL stops working at once. This cannot be undone.".to_string()
                confirm_label="Delete"
                on_confirm=delete
                on_cancel=Callback::new(move |()| to_delete.set(None))
            />
        })}
    }
}

fn auth_label(auth: &TriggerAuthOut) -> String {
    match auth {
        TriggerAuthOut::None => "none".into(),
        TriggerAuthOut::Basic { username, .. } => format!("basic ({username})"),
        TriggerAuthOut::Bearer { token_set: true } => "bearer".into(),
        TriggerAuthOut::Bearer { token_set: false } => "bearer (no token yet)".into(),
        TriggerAuthOut::Signature { scheme, .. } => signature_label(*scheme),
    }
}

#[component]
pub fn NewTrigger() -> impl IntoView {
    page_title("Create Trigger");
    view! {
        <h1>"Create Trigger"</h1>
        <TriggerForm initial=None />
    }
}

#[component]
pub fn EditTrigger() -> impl IntoView {
    page_title("Edit Trigger");
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let loaded = LocalResource::new(move || client::trigger(id()));
    view! {
        <h1>"Edit Trigger"</h1>
        <SavedNotice />
        <Loads loading="Loading…">
            {move || loaded.get().map(|loaded| loaded.map(|trigger| view! {
                <HookUrl trigger=trigger.clone() />
                <TriggerForm initial=Some(trigger.clone()) />
                <CallLog id=trigger.id />
            }))}
        </Loads>
    }
}

/// The URL to call, a ready-to-paste `curl`, and Generate Token for bearer triggers.
#[component]
fn HookUrl(trigger: TriggerOut) -> impl IntoView {
    let id = trigger.id.clone();
    // The token, and whether it reached the clipboard.
    let generate = Action::new_local(move |_: &()| {
        let id = id.clone();
        async move {
            let value = client::generate_trigger_token(id).await?;
            let copied = copy_to_clipboard(&value).await;
            Ok::<_, ClientError>((value, copied))
        }
    });
    let token = generate.value();
    let bearer = matches!(trigger.auth, TriggerAuthOut::Bearer { .. });
    // Replacing a token cuts off its callers: that is asked first.
    let has_token = RwSignal::new(matches!(
        trigger.auth,
        TriggerAuthOut::Bearer { token_set: true }
    ));
    Effect::new(move || {
        if let Some(Ok(_)) = token.get() {
            has_token.set(true);
        }
    });
    let confirming = RwSignal::new(false);
    let ask = move |_| {
        if has_token.get_untracked() {
            confirming.set(true);
        } else {
            generate.dispatch(());
        }
    };
    let replace = Callback::new(move |()| {
        confirming.set(false);
        generate.dispatch(());
    });
    let name = trigger.name.clone();
    let url = trigger.hook_url.clone();
    let curl = Signal::derive({
        let trigger = trigger.clone();
        move || {
            let shown = token.with(|t| {
                t.as_ref()
                    .and_then(|r| r.as_ref().ok())
                    .map(|(t, _)| t.clone())
            });
            curl_example(&trigger, shown.as_deref())
        }
    });
    view! {
        <section class="card">
            <h2>"Trigger URL"</h2>
            <div class="inline">
                <code class="secret-value" data-testid="hook-url">{url.clone()}</code>
                <CopyButton text=url label="Copy trigger URL" />
            </div>
            {bearer.then(|| view! {
                <div class="inline">
                    <button type="button" class="primary" on:click=ask disabled=move || generate.pending().get()>
                        {move || if generate.pending().get() { "Generating…" } else { "Generate Token" }}
                    </button>
                    <span class="hint">
                        {move || if has_token.get() {
                            "A new token replaces the current one."
                        } else {
                            "Calls are refused until a token exists; it is shown once."
                        }}
                    </span>
                </div>
            })}
            {move || token.get().map(|result| match result {
                Ok((value, copied)) => view! {
                    <div class="notice" role="status">
                        <p>{if copied { "Token copied to the clipboard. It is shown this once:" } else { "It is shown this once; copy it now:" }}</p>
                        <div class="inline">
                            <code class="secret-value token-value">{value.clone()}</code>
                            <CopyButton text=value label="Copy token" />
                        </div>
                    </div>
                }.into_any(),
                Err(error) => view! { <ErrorNote error /> }.into_any(),
            })}
            {move || confirming.get().then(|| view! {
                <ConfirmDialog
                    title=format!("Replace the token of “{name}”?")
                    message="The current token stops working at once: callers still sending it get 401 until they use the new one.".to_string()
                    confirm_label="Replace token"
                    on_confirm=replace
                    on_cancel=Callback::new(move |()| confirming.set(false))
                />
            })}
            <h3>"Try it"</h3>
            <div class="inline">
                <pre class="body curl">{move || curl.get()}</pre>
                <CopyButton text=curl label="Copy curl command" />
            </div>
        </section>
    }
}

/// A `curl` command that calls the trigger correctly.
fn curl_example(trigger: &TriggerOut, token: Option<&str>) -> String {
    let auth = match &trigger.auth {
        TriggerAuthOut::None => String::new(),
        TriggerAuthOut::Basic { username, .. } => format!(" \\\n  -u '{username}:PASSWORD'"),
        TriggerAuthOut::Signature { scheme, header, .. } => {
            signature_headers(*scheme, header.as_deref())
                .into_iter()
                .map(|(name, value)| format!(" \\\n  -H '{name}: {value}'"))
                .collect()
        }
        TriggerAuthOut::Bearer { .. } => format!(
            " \\\n  -H 'Authorization: Bearer {}'",
            token.unwrap_or("TOKEN")
        ),
    };
    if trigger.method == TriggerMethod::Get {
        let query: Vec<String> = trigger
            .params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let url = if query.is_empty() {
            trigger.hook_url.clone()
        } else {
            format!("{}?{}", trigger.hook_url, query.join("&"))
        };
        format!("curl '{url}'{auth}")
    } else {
        let body = serde_json::to_string(&trigger.params).unwrap_or_else(|_| "{}".into());
        format!(
            "curl -X POST '{}'{auth} \\\n  -H 'Content-Type: application/json' \\\n  -d '{body}'",
            trigger.hook_url
        )
    }
}

/// What a call may have come to, as the filter offers it.
const OUTCOMES: [(&str, &str); 7] = [
    ("", "Any outcome"),
    ("accepted", "accepted"),
    ("unauthorized", "unauthorized"),
    ("throttled", "throttled"),
    ("method_not_allowed", "method not allowed"),
    ("invalid", "invalid"),
    ("too_large", "too large"),
];

#[component]
fn CallLog(id: String) -> impl IntoView {
    let outcome = RwSignal::new(String::new());
    // The cursors of the pages before this one, newest first.
    let trail = RwSignal::new(Vec::<String>::new());
    let calls = LocalResource::new(move || {
        client::trigger_calls(id.clone(), outcome.get(), trail.get().last().cloned())
    });
    let set_outcome = move |ev| {
        outcome.set(event_target_value(&ev));
        trail.set(Vec::new());
    };
    view! {
        <section class="card">
            <div class="page-header">
                <h2>"Calls"</h2>
                <div class="actions">
                    <label class="inline">
                        "Outcome"
                        <select on:change=set_outcome prop:value=move || outcome.get()>
                            {OUTCOMES.map(|(value, label)| view! { <option value=value>{label}</option> }).collect_view()}
                        </select>
                    </label>
                    <button type="button" on:click=move |_| calls.refetch()>"Refresh"</button>
                </div>
            </div>
            <Loads loading="Loading calls…">
                {move || calls.get().map(|loaded| loaded.map(|page| {
                    let next = page.next_cursor.clone();
                    let pager = view! {
                        <nav class="pager" aria-label="Pages of calls">
                            {move || (!trail.get().is_empty()).then(|| view! {
                                <button type="button" on:click=move |_| trail.update(|t| { t.pop(); })>"← Newer"</button>
                            })}
                            {next.map(|cursor| view! {
                                <button type="button" on:click=move |_| trail.update(|t| t.push(cursor.clone()))>"Older →"</button>
                            })}
                        </nav>
                    };
                    match page.data {
                    list if list.is_empty() && !outcome.get_untracked().is_empty() => view! { <p class="muted">"No calls with this outcome."</p> }.into_any(),
                    list if list.is_empty() => view! { <p class="muted">"No calls yet."</p> }.into_any(),
                    list => view! {
                        <table class="calls">
                            <thead><tr><th>"Time"</th><th>"Caller"</th><th>"Outcome"</th><th>"Status"</th><th>"Event"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|call: TriggerCallOut| view! {
                                    <tr>
                                        <td><Time at=call.called_at.clone() /></td>
                                        <td data-label="Caller">{call.caller}</td>
                                        <td>
                                            <span class=format!("badge outcome-{}", call.outcome)>{call.outcome.clone()}</span>
                                            {(call.count > 1).then(|| view! {
                                                <span class="muted" title="Refused calls alike within a minute are counted in one entry">
                                                    {format!(" × {}", call.count)}
                                                </span>
                                            })}
                                            {call.reason.map(|reason| view! { <div class="call-reason muted">{reason}</div> })}
                                        </td>
                                        <td data-label="Status">{call.status_code}</td>
                                        <td data-label="Event">{call.event_id.map(|id| view! {
                                            <A href=format!("/logs?search={id}") attr:title="Its deliveries">{id.clone()}</A>
                                        })}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        {pager}
                    }.into_any(),
                    }
                }))}
            </Loads>
        </section>
    }
}

#[component]
fn TriggerForm(initial: Option<TriggerOut>) -> impl IntoView {
    let editing = initial.as_ref().map(|t| t.id.clone());
    let init = initial.as_ref();
    let name = RwSignal::new(init.map(|t| t.name.clone()).unwrap_or_default());
    let method = RwSignal::new(init.map(|t| t.method).unwrap_or_default());
    let event_type = RwSignal::new(init.map(|t| t.event_type.clone()).unwrap_or_default());
    let response = RwSignal::new(init.map(|t| t.response).unwrap_or_default());
    let (kind, username, password_set) = match init.map(|t| &t.auth) {
        Some(TriggerAuthOut::Basic {
            username,
            password_set,
        }) => (AuthType::Basic, username.clone(), *password_set),
        Some(TriggerAuthOut::Bearer { .. }) => (AuthType::Bearer, String::new(), false),
        _ => (AuthType::None, String::new(), false),
    };
    let auth = AuthState::new(kind, username);
    let signature = SignatureState::new(init.map(|t| &t.auth));
    let rows = RwSignal::new(KeyValueRow::rows(
        init.map(|t| t.params.clone()).unwrap_or_default(),
        false,
    ));
    let errors = FormErrors::new();
    let navigate = use_navigate();

    let save = Action::new_local(move |(id, input): &(Option<String>, TriggerIn)| {
        let (id, input) = (id.clone(), input.clone());
        async move {
            match id {
                Some(id) => client::update_trigger(id.clone(), input).await.map(|()| id),
                None => client::create_trigger(input).await.map(|t| t.id),
            }
        }
    });
    Effect::new(move || match save.value().get() {
        Some(Ok(id)) => navigate(&format!("/triggers/{id}?saved=1"), Default::default()),
        Some(Err(error)) => errors.show(error),
        None => {}
    });
    // What the form holds, as the API takes it.
    let input = move || {
        let auth_in = match (signature.on.get(), auth.kind.get()) {
            (true, _) => signature.input(),
            (false, AuthType::Basic) => AuthIn::Basic {
                username: auth.username.get(),
                password: Some(auth.password.get()).filter(|p| !p.is_empty()),
            }
            .into(),
            (false, AuthType::Bearer) => AuthIn::Bearer { token: None }.into(),
            (false, AuthType::None) => AuthIn::None.into(),
        };
        TriggerIn {
            name: Some(name.get()),
            method: Some(method.get()),
            params: Some(
                rows.get()
                    .into_iter()
                    .filter(|row| !row.name.trim().is_empty())
                    .map(|row| (row.name.trim().to_string(), row.value))
                    .collect(),
            ),
            auth: Some(auth_in),
            event_type: Some(event_type.get()).filter(|e| !e.is_empty()),
            response: Some(response.get()),
        }
    };
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        save.dispatch((editing.clone(), untrack(input)));
    };
    let saved_input = StoredValue::new(untrack(input));
    let cancel = guard_unsaved(move || saved_input.with_value(|saved| *saved != untrack(input)));

    view! {
        <form class="webhook-form card" on:submit=submit novalidate>
            <FormProblem errors />
            <div class="field">
                <label for="trigger-name">"Name"</label>
                <input id="trigger-name" bind:value=name aria-describedby="trigger-name-count" />
                <p class="hint" id="trigger-name-count"><CharCount text=name limit=MAX_NAME_CHARS /></p>
                <FieldError errors field="name" />
            </div>
            <div class="field-row">
                <div class="field">
                    <label for="trigger-method">"Method"</label>
                    <select id="trigger-method" on:change=move |ev| method.set(if event_target_value(&ev) == "GET" { TriggerMethod::Get } else { TriggerMethod::Post })>
                        {[TriggerMethod::Post, TriggerMethod::Get].map(|m| view! {
                            <option value=m.as_str() selected=move || method.get() == m>{m.as_str()}</option>
                        }).collect_view()}
                    </select>
                    <FieldError errors field="method" />
                </div>
                <div class="field">
                    <label for="trigger-response">"Response"</label>
                    <select id="trigger-response" on:change=move |ev| response.set(if event_target_value(&ev) == "status" { TriggerResponse::Status } else { TriggerResponse::Outputs })>
                        {[(TriggerResponse::Outputs, "Selected Outputs: the event and its deliveries"), (TriggerResponse::Status, "Status: only {\"status\": \"accepted\"}")].map(|(r, label)| view! {
                            <option value=r.as_str() selected=move || response.get() == r>{label}</option>
                        }).collect_view()}
                    </select>
                    <FieldError errors field="response" />
                </div>
            </div>
            <fieldset class="field">
                <legend>"Required parameters"</legend>
                <p class="hint">"A call must carry each of these, in its query or body, with exactly this value."</p>
                <KeyValueRows rows labels=PARAM_LABELS />
                <FieldError errors field="params" />
            </fieldset>
            <fieldset class="field">
                <legend>"Who may call"</legend>
                <label class="inline">
                    <input type="checkbox" prop:checked=move || signature.on.get() on:change=move |ev| signature.on.set(event_target_checked(&ev)) />
                    " Callers sign the body (GitHub, Stripe, Shopify, Standard Webhooks or any HMAC sender)"
                </label>
                <Show when=move || signature.on.get() fallback=move || view! {
                    <AuthFields id="trigger-auth" auth secret_set=password_set bearer=BearerToken::Generated errors password_rules=password_rules() />
                }>
                    <SignatureFields signature errors />
                </Show>
            </fieldset>
            <div class="field">
                <label for="trigger-event-type">"Event type"</label>
                <input id="trigger-event-type" bind:value=event_type placeholder="trigger.<name>" />
                <FieldError errors field="event_type" />
            </div>
            <div class="form-actions">
                <A href="/triggers" attr:class="button" on:click=cancel>"Cancel"</A>
                <button type="submit" class="primary" disabled=move || save.pending().get()>"Save"</button>
            </div>
        </form>
    }
}
