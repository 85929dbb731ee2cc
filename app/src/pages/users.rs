//! **Users**: administrators decide who may log in, and as what.

use std::collections::BTreeMap;

use api::{Role, UserIn, UserOut, UserPatch};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::client::{self, ClientError};
use crate::components::{ConfirmDialog, ErrorNote, FieldError, Session, role_name};

fn parse_role(text: &str) -> Role {
    if text == "admin" {
        Role::Admin
    } else {
        Role::Viewer
    }
}

#[component]
pub fn Users() -> impl IntoView {
    let session = Session::current();
    let users = LocalResource::new(client::users);
    let problem = RwSignal::new(None::<ClientError>);
    let notice = RwSignal::new(None::<String>);
    let to_delete = RwSignal::new(None::<UserOut>);
    let change = move |id: String, patch: UserPatch, done: String| {
        leptos::task::spawn_local(async move {
            match client::update_user(id, patch).await {
                Ok(()) => {
                    problem.set(None);
                    notice.set(Some(done));
                }
                Err(error) => problem.set(Some(error)),
            }
            users.refetch();
        });
    };
    let delete = Callback::new(move |()| {
        let Some(user) = to_delete.get_untracked() else {
            return;
        };
        to_delete.set(None);
        leptos::task::spawn_local(async move {
            problem.set(client::delete_user(user.id).await.err());
            users.refetch();
        });
    });

    view! {
        <div class="page-header"><h1>"Users"</h1></div>
        <NewUserForm on_created=Callback::new(move |()| users.refetch()) />
        {move || problem.get().map(|error| view! { <ErrorNote error /> })}
        {move || notice.get().map(|text| view! { <p class="notice" role="status">{text}</p> })}
        {move || match users.get() {
            None => view! { <p class="loading">"Loading users…"</p> }.into_any(),
            Some(Err(error)) => view! { <ErrorNote error /> }.into_any(),
            Some(Ok(list)) => view! {
                <table class="webhooks">
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
                                    <td>{user.username.clone()}{myself.then_some(" (you)")}</td>
                                    <td>
                                        <select aria-label=format!("Role of {username}")
                                            on:change=move |ev| {
                                                let role = parse_role(&event_target_value(&ev));
                                                change(role_id.clone(), UserPatch { role: Some(role), ..Default::default() }, "Role changed.".into());
                                            }>
                                            {[Role::Admin, Role::Viewer].into_iter().map(|role| view! {
                                                <option value=role_name(role) selected=user.role == role>{role_name(role)}</option>
                                            }).collect_view()}
                                        </select>
                                    </td>
                                    <td>
                                        <label class="switch">
                                            <input type="checkbox" role="switch" aria-label=format!("Active: {}", user.username)
                                                prop:checked=user.active
                                                on:change=move |ev| {
                                                    let active = event_target_checked(&ev);
                                                    change(active_id.clone(), UserPatch { active: Some(active), ..Default::default() }, "Saved.".into());
                                                } />
                                            <span class="slider"></span>
                                        </label>
                                    </td>
                                    <td>
                                        <form class="inline" on:submit=move |ev: SubmitEvent| {
                                            ev.prevent_default();
                                            let password = new_password.get_untracked();
                                            new_password.set(String::new());
                                            change(password_id.clone(), UserPatch { password: Some(password), ..Default::default() }, "Password reset; that user's sessions have ended.".into());
                                        }>
                                            <input type="password" autocomplete="new-password" aria-label=format!("New password for {}", user.username) bind:value=new_password />
                                            <button type="submit">"Reset"</button>
                                        </form>
                                    </td>
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

#[component]
fn NewUserForm(on_created: Callback<()>) -> impl IntoView {
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new("viewer".to_string());
    let errors = RwSignal::new(BTreeMap::<String, String>::new());
    let general = RwSignal::new(None::<ClientError>);
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        let input = UserIn {
            username: username.get_untracked(),
            password: password.get_untracked(),
            role: parse_role(&role.get_untracked()),
        };
        leptos::task::spawn_local(async move {
            match client::create_user(input).await {
                Ok(_) => {
                    username.set(String::new());
                    password.set(String::new());
                    errors.set(BTreeMap::new());
                    general.set(None);
                    on_created.run(());
                }
                Err(error) => {
                    general.set(error.fields.is_empty().then(|| error.clone()));
                    errors.set(error.fields);
                }
            }
        });
    };
    view! {
        <form class="card new-user" on:submit=submit novalidate>
            <h2>"Add a user"</h2>
            {move || general.get().map(|error| view! { <ErrorNote error /> })}
            <div class="field-row">
                <div class="field">
                    <label for="new-username">"Username"</label>
                    <input id="new-username" autocomplete="off" bind:value=username />
                    <FieldError errors field="username" />
                </div>
                <div class="field">
                    <label for="new-password">"Password"</label>
                    <input id="new-password" type="password" autocomplete="new-password" bind:value=password />
                    <FieldError errors field="password" />
                </div>
                <div class="field">
                    <label for="new-role">"Role"</label>
                    <select id="new-role" on:change=move |ev| role.set(event_target_value(&ev))>
                        <option value="viewer" selected=true>"viewer: reads logs"</option>
                        <option value="admin">"admin: manages everything"</option>
                    </select>
                </div>
                <button type="submit" class="primary">"Add user"</button>
            </div>
        </form>
    }
}
