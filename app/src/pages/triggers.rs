//! **Triggers**: URLs that outside systems call to start a fan-out.

use api::{Auth, AuthIn, TriggerCallOut, TriggerIn, TriggerMethod, TriggerOut, TriggerResponse};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::client::{self, ClientError};
use crate::components::{
    ConfirmDialog, CopyButton, ErrorNote, FieldError, FormErrors, FormProblem, copy_to_clipboard,
};

#[component]
pub fn Triggers() -> impl IntoView {
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
        {move || match triggers.get() {
            None => view! { <p class="loading">"Loading triggers…"</p> }.into_any(),
            Some(Err(error)) => view! { <ErrorNote error /> }.into_any(),
            Some(Ok(list)) if list.is_empty() => view! {
                <div class="empty">
                    <p>"No triggers yet."</p>
                    <p class="muted">"A trigger gives an outside system a URL to call; each call becomes an event for your webhooks."</p>
                </div>
            }.into_any(),
            Some(Ok(list)) => view! {
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
                                    <td>{trigger.method.as_str()}</td>
                                    <td>{auth_label(&trigger.auth)}</td>
                                    <td><span class="chip">{trigger.event_type.clone()}</span></td>
                                    <td class="url">{url.clone()}" "<CopyButton text=url label="Copy trigger URL" /></td>
                                    <td class="row-actions">
                                        <button class="danger" on:click=move |_| to_delete.set(Some(doomed.clone()))>"Delete"</button>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any(),
        }}
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

fn auth_label(auth: &Auth) -> String {
    match auth {
        Auth::None => "none".into(),
        Auth::Basic { username, .. } => format!("basic ({username})"),
        Auth::Bearer { token_set: true } => "bearer".into(),
        Auth::Bearer { token_set: false } => "bearer (no token yet)".into(),
    }
}

#[component]
pub fn NewTrigger() -> impl IntoView {
    view! {
        <h1>"Create Trigger"</h1>
        <TriggerForm initial=None />
    }
}

#[component]
pub fn EditTrigger() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let loaded = LocalResource::new(move || client::trigger(id()));
    view! {
        <h1>"Edit Trigger"</h1>
        {move || match loaded.get() {
            None => view! { <p class="loading">"Loading…"</p> }.into_any(),
            Some(Err(error)) => view! { <ErrorNote error /> }.into_any(),
            Some(Ok(trigger)) => view! {
                <HookUrl trigger=trigger.clone() />
                <TriggerForm initial=Some(trigger.clone()) />
                <CallLog id=trigger.id />
            }.into_any(),
        }}
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
    let bearer = matches!(trigger.auth, Auth::Bearer { .. });
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
                    <button type="button" class="primary" on:click=move |_| { generate.dispatch(()); }>"Generate Token"</button>
                    <span class="hint">"A new token replaces the previous one."</span>
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
        Auth::None => String::new(),
        Auth::Basic { username, .. } => format!(" \\\n  -u '{username}:PASSWORD'"),
        Auth::Bearer { .. } => format!(
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

#[component]
fn CallLog(id: String) -> impl IntoView {
    let calls = LocalResource::new(move || client::trigger_calls(id.clone()));
    view! {
        <section class="card">
            <div class="page-header">
                <h2>"Calls"</h2>
                <button type="button" on:click=move |_| calls.refetch()>"Refresh"</button>
            </div>
            {move || match calls.get() {
                None => view! { <p class="loading">"Loading calls…"</p> }.into_any(),
                Some(Err(error)) => view! { <ErrorNote error /> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="muted">"No calls yet."</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <table class="calls">
                        <thead><tr><th>"Time"</th><th>"Caller"</th><th>"Outcome"</th><th>"Status"</th><th>"Event"</th></tr></thead>
                        <tbody>
                            {list.into_iter().map(|call: TriggerCallOut| view! {
                                <tr>
                                    <td>{call.called_at.get(..19).unwrap_or_default().replace('T', " ")}</td>
                                    <td>{call.caller}</td>
                                    <td><span class=format!("badge outcome-{}", call.outcome)>{call.outcome.clone()}</span></td>
                                    <td>{call.status_code}</td>
                                    <td>{call.event_id.unwrap_or_default()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            }}
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
    let (auth_type, username, password_set) = match init.map(|t| &t.auth) {
        Some(Auth::Basic {
            username,
            password_set,
        }) => ("basic", username.clone(), *password_set),
        Some(Auth::Bearer { .. }) => ("bearer", String::new(), false),
        _ => ("none", String::new(), false),
    };
    let auth_type = RwSignal::new(auth_type.to_string());
    let username = RwSignal::new(username);
    let password = RwSignal::new(String::new());
    let rows = RwSignal::new(
        init.map(|t| {
            t.params
                .clone()
                .into_iter()
                .enumerate()
                .map(|(i, (k, v))| (i, k, v))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default(),
    );
    let next_row = StoredValue::new(rows.with_untracked(Vec::len));
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
        Some(Ok(id)) => navigate(&format!("/triggers/{id}"), Default::default()),
        Some(Err(error)) => errors.show(error),
        None => {}
    });
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        let auth = match auth_type.get_untracked().as_str() {
            "basic" => AuthIn::Basic {
                username: username.get_untracked(),
                password: Some(password.get_untracked()).filter(|p| !p.is_empty()),
            },
            "bearer" => AuthIn::Bearer { token: None },
            _ => AuthIn::None,
        };
        let input = TriggerIn {
            name: Some(name.get_untracked()),
            method: Some(method.get_untracked()),
            params: Some(
                rows.get_untracked()
                    .into_iter()
                    .filter(|(_, k, _)| !k.trim().is_empty())
                    .map(|(_, k, v)| (k.trim().to_string(), v))
                    .collect(),
            ),
            auth: Some(auth),
            event_type: Some(event_type.get_untracked()).filter(|e| !e.is_empty()),
            response: Some(response.get_untracked()),
        };
        save.dispatch((editing.clone(), input));
    };
    let select = |signal: RwSignal<String>,
                  options: &'static [(&'static str, &'static str)],
                  id: &'static str| {
        view! {
            <select id=id on:change=move |ev| signal.set(event_target_value(&ev))>
                {options.iter().map(|(value, text)| view! {
                    <option value=*value selected=move || signal.get() == *value>{*text}</option>
                }).collect_view()}
            </select>
        }
    };

    view! {
        <form class="webhook-form card" on:submit=submit novalidate>
            <FormProblem errors />
            <div class="field">
                <label for="trigger-name">"Name"</label>
                <input id="trigger-name" bind:value=name maxlength="200" />
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
                        {[(TriggerResponse::Outputs, "The event and its deliveries"), (TriggerResponse::Status, "Only {\"status\": \"accepted\"}")].map(|(r, label)| view! {
                            <option value=r.as_str() selected=move || response.get() == r>{label}</option>
                        }).collect_view()}
                    </select>
                    <FieldError errors field="response" />
                </div>
            </div>
            <fieldset class="field">
                <legend>"Required parameters"</legend>
                <p class="hint">"A call must carry each of these, in its query or body, with exactly this value."</p>
                <For each=move || rows.get() key=|(i, _, _)| *i let:row>
                    <div class="inline header-row">
                        <input aria-label="Parameter name" placeholder="CityName" prop:value=row.1.clone()
                            on:input=move |ev| { let v = event_target_value(&ev); rows.update(|r| if let Some(x) = r.iter_mut().find(|x| x.0 == row.0) { x.1 = v; }); } />
                        <input aria-label="Required value" placeholder="Paris" prop:value=row.2.clone()
                            on:input=move |ev| { let v = event_target_value(&ev); rows.update(|r| if let Some(x) = r.iter_mut().find(|x| x.0 == row.0) { x.2 = v; }); } />
                        <button type="button" on:click=move |_| rows.update(|r| r.retain(|x| x.0 != row.0))>"Remove"</button>
                    </div>
                </For>
                <button type="button" on:click=move |_| {
                    let i = next_row.get_value();
                    next_row.set_value(i + 1);
                    rows.update(|r| r.push((i, String::new(), String::new())));
                }>"Add parameter"</button>
                <FieldError errors field="params" />
            </fieldset>
            <fieldset class="field">
                <legend>"Authentication"</legend>
                <label for="trigger-auth">"Authentication type"</label>
                {select(auth_type, &[("none", "None"), ("basic", "Basic"), ("bearer", "Bearer token")], "trigger-auth")}
                <Show when=move || auth_type.get() == "basic">
                    <label for="trigger-username">"Username"</label>
                    <input id="trigger-username" autocomplete="off" bind:value=username />
                    <FieldError errors field="auth.username" />
                    <label for="trigger-password">"Password"</label>
                    <input id="trigger-password" type="password" autocomplete="new-password"
                        placeholder=if password_set { "set — leave empty to keep" } else { "" } bind:value=password />
                    <FieldError errors field="auth.password" />
                </Show>
                <Show when=move || auth_type.get() == "bearer">
                    <p class="hint">"Save, then press Generate Token above: callers send it as Authorization: Bearer."</p>
                </Show>
            </fieldset>
            <div class="field">
                <label for="trigger-event-type">"Event type"</label>
                <input id="trigger-event-type" bind:value=event_type placeholder="trigger.<name>" />
                <FieldError errors field="event_type" />
            </div>
            <div class="form-actions">
                <A href="/triggers" attr:class="button">"Cancel"</A>
                <button type="submit" class="primary" disabled=move || save.pending().get()>"Save"</button>
            </div>
        </form>
    }
}
