//! **Users**: administrators decide who may log in, and as what.

use api::{Role, UserIn, UserOut, UserPatch};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::client::{self, ClientError};
use crate::components::{
    ConfirmDialog, ErrorNote, FieldError, FormErrors, FormProblem, Loads, Session, page_title,
    password_rules, role_name,
};

fn parse_role(text: &str) -> Role {
    if text == "admin" {
        Role::Admin
    } else {
        Role::Viewer
    }
}

#[component]
pub fn Users() -> impl IntoView {
    page_title("Users");
    let session = Session::current();
    // A change answers with what to tell the user once it is done.
    let change = Action::new_local(|(id, patch, done): &(String, UserPatch, String)| {
        let (id, patch, done) = (id.clone(), patch.clone(), done.clone());
        async move { client::update_user(id, patch).await.map(|()| done) }
    });
    let remove = Action::new_local(|id: &String| client::delete_user(id.clone()));
    let create = Action::new_local(|input: &UserIn| client::create_user(input.clone()));
    // A role change or a switch-off waits for a yes; a no shows the table
    // as it was again.
    let to_confirm = RwSignal::new(None::<Pending>);
    let declined = RwSignal::new(0u32);
    let users = LocalResource::new(move || {
        declined.track();
        change.version().track();
        remove.version().track();
        create.version().track();
        client::users()
    });
    let problem = move || {
        remove
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| change.value().get().and_then(Result::err))
    };
    let notice = move || change.value().get().and_then(Result::ok);
    let to_delete = RwSignal::new(None::<UserOut>);
    let delete = Callback::new(move |()| {
        if let Some(user) = to_delete.get_untracked() {
            to_delete.set(None);
            remove.dispatch(user.id);
        }
    });

    let confirm_change = Callback::new(move |()| {
        if let Some(pending) = to_confirm.get_untracked() {
            to_confirm.set(None);
            change.dispatch((pending.id, pending.patch, pending.done));
        }
    });
    let decline_change = Callback::new(move |()| {
        to_confirm.set(None);
        declined.update(|n| *n += 1);
    });

    view! {
        <div class="page-header"><h1>"Users"</h1></div>
        <NewUserForm create />
        {move || problem().map(|error| view! { <ErrorNote error /> })}
        {move || notice().map(|text| view! { <p class="notice" role="status">{text}</p> })}
        <Loads loading="Loading users…">
            {move || users.get().map(|loaded| loaded.map(|list| view! {
                <table class="webhooks users">
                    <thead><tr><th>"Username"</th><th>"Role"</th><th>"Active"</th><th>"New password"</th><th></th></tr></thead>
                    <tbody>
                        {list.into_iter().map(|user| {
                            let myself = session.me().is_some_and(|me| me.id == user.id);
                            let (role_id, active_id, password_id) = (user.id.clone(), user.id.clone(), user.id.clone());
                            let new_password = RwSignal::new(String::new());
                            let doomed = user.clone();
                            let username = user.username.clone();
                            view! {
                                <tr data-user=user.username.clone()>
                                    <td>
                                        {user.username.clone()}
                                        {myself.then(|| view! {
                                            " (you)"
                                            <p class="hint" id="yourself">"Another administrator can change your role or switch you off; you cannot."</p>
                                        })}
                                    </td>
                                    <td data-label="Role">
                                        <select aria-label=format!("Role of {username}")
                                            disabled=myself
                                            aria-describedby=myself.then_some("yourself")
                                            on:change={
                                                let username = username.clone();
                                                move |ev| {
                                                    let role = parse_role(&event_target_value(&ev));
                                                    to_confirm.set(Some(Pending {
                                                        id: role_id.clone(),
                                                        patch: UserPatch { role: Some(role), ..Default::default() },
                                                        question: format!("Make {username} {}?", role_name(role)),
                                                        consequence: match role {
                                                            Role::Admin => "They will manage webhooks, triggers and users.",
                                                            Role::Viewer => "They will only read logs; what they manage now is closed to them from their next request.",
                                                        },
                                                        confirm_label: "Change role",
                                                        done: "Role changed.".into(),
                                                    }));
                                                }
                                            }>
                                            {[Role::Admin, Role::Viewer].into_iter().map(|role| view! {
                                                <option value=role_name(role) selected=user.role == role>{role_name(role)}</option>
                                            }).collect_view()}
                                        </select>
                                    </td>
                                    <td data-label="Active">
                                        <label class="switch">
                                            <input type="checkbox" role="switch" aria-label=format!("Active: {}", user.username)
                                                prop:checked=user.active
                                                disabled=myself
                                                aria-describedby=myself.then_some("yourself")
                                                on:change={
                                                    let username = username.clone();
                                                    move |ev| {
                                                        let active = event_target_checked(&ev);
                                                        let patch = UserPatch { active: Some(active), ..Default::default() };
                                                        if active {
                                                            change.dispatch((active_id.clone(), patch, "Switched on.".into()));
                                                            return;
                                                        }
                                                        to_confirm.set(Some(Pending {
                                                            id: active_id.clone(),
                                                            patch,
                                                            question: format!("Switch {username} off?"),
                                                            consequence: "Their sessions end now and they cannot log in until switched on again.",
                                                            confirm_label: "Switch off",
                                                            done: "Switched off.".into(),
                                                        }));
                                                    }
                                                } />
                                            <span class="slider"></span>
                                        </label>
                                    </td>
                                    <td data-label="New password">
                                        <form class="inline" on:submit=move |ev: SubmitEvent| {
                                            ev.prevent_default();
                                            let password = new_password.get_untracked();
                                            new_password.set(String::new());
                                            change.dispatch((password_id.clone(), UserPatch { password: Some(password), ..Default::default() }, "Password reset; that user's sessions have ended.".into()));
                                        }>
                                            <input type="password" autocomplete="new-password" aria-label=format!("New password for {}", user.username) bind:value=new_password />
                                            <button type="submit" aria-label=format!("Reset the password of {}", user.username) disabled=move || change.pending().get()>"Reset"</button>
                                        </form>
                                    </td>
                                    <td class="row-actions">
                                        <button class="danger" aria-label=format!("Delete {}", doomed.username) disabled=myself on:click=move |_| to_delete.set(Some(doomed.clone()))>"Delete"</button>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            }))}
        </Loads>
        {move || to_confirm.get().map(|pending| view! {
            <ConfirmDialog
                title=pending.question
                message=pending.consequence.to_string()
                confirm_label=pending.confirm_label
                on_confirm=confirm_change
                on_cancel=decline_change
            />
        })}
        {move || to_delete.get().map(|user| view! {
            <ConfirmDialog
                title=format!("Delete “{}”?", user.username)
                message="They can no longer log in. This cannot be undone.".to_string()
                confirm_label="Delete"
                on_confirm=delete
                on_cancel=Callback::new(move |()| to_delete.set(None))
            />
        })}
    }
}

/// A change to a user that waits for a yes.
#[derive(Clone)]
struct Pending {
    id: String,
    patch: UserPatch,
    question: String,
    consequence: &'static str,
    confirm_label: &'static str,
    done: String,
}

#[component]
fn NewUserForm(create: Action<UserIn, Result<UserOut, ClientError>>) -> impl IntoView {
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new("viewer".to_string());
    let errors = FormErrors::new();
    // Runs with the form: an answer that comes after it is gone changes nothing.
    Effect::new(move || match create.value().get() {
        Some(Ok(_)) => {
            username.set(String::new());
            password.set(String::new());
            errors.clear();
        }
        Some(Err(error)) => errors.show(error),
        None => {}
    });
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        create.dispatch(UserIn {
            username: username.get_untracked(),
            password: password.get_untracked(),
            role: parse_role(&role.get_untracked()),
        });
    };
    view! {
        <form class="card new-user" on:submit=submit novalidate>
            <h2>"Add a user"</h2>
            <FormProblem errors />
            <div class="field-row">
                <div class="field">
                    <label for="new-username">"Username"</label>
                    <input id="new-username" autocomplete="off" bind:value=username />
                    <FieldError errors field="username" />
                </div>
                <div class="field">
                    <label for="new-password">"Password"</label>
                    <input id="new-password" type="password" autocomplete="new-password" aria-describedby="new-password-rules" bind:value=password />
                    <p class="hint" id="new-password-rules">{password_rules()}</p>
                    <FieldError errors field="password" />
                </div>
                <div class="field">
                    <label for="new-role">"Role"</label>
                    <select id="new-role" on:change=move |ev| role.set(event_target_value(&ev))>
                        <option value="viewer" selected=true>"viewer: reads logs"</option>
                        <option value="admin">"admin: manages everything"</option>
                    </select>
                </div>
                <button type="submit" class="primary" disabled=move || create.pending().get()>
                    {move || if create.pending().get() { "Adding…" } else { "Add user" }}
                </button>
            </div>
        </form>
    }
}
