//! What forms share: the API's errors next to their fields, counts of
//! limited fields, "Saved.", and the question before unsaved changes go.

use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::ErrorNote;
use crate::client::ClientError;

/// A form's errors from the API: each field's under its input
/// (`FieldError`), and in a note above the form whatever no input shows, or
/// an error about no field. Which fields a form shows is learnt from the
/// `FieldError`s it renders, not from a list kept by hand.
#[derive(Clone, Copy)]
pub struct FormErrors {
    fields: RwSignal<BTreeMap<String, String>>,
    shown: StoredValue<BTreeSet<&'static str>>,
    general: RwSignal<Option<ClientError>>,
}

impl FormErrors {
    pub fn new() -> Self {
        Self {
            fields: RwSignal::new(BTreeMap::new()),
            shown: StoredValue::new(BTreeSet::new()),
            general: RwSignal::new(None),
        }
    }

    /// Shows `error`: next to the fields it names, the rest above the form.
    pub fn show(&self, error: ClientError) {
        let unshown = self.shown.with_value(|shown| {
            error
                .fields
                .keys()
                .any(|field| !shown.contains(field.as_str()))
        });
        self.general
            .set((error.fields.is_empty() || unshown).then(|| error.clone()));
        self.fields.set(error.fields);
        // Once the messages are drawn: the reader starts at the first field to fix.
        request_animation_frame(|| {
            let first = document()
                .query_selector("[aria-invalid=\"true\"]")
                .ok()
                .flatten()
                .and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok());
            if let Some(first) = first {
                let _ = first.focus();
            }
        });
    }

    /// Takes back what was said of `field`, once it is edited again.
    pub fn forget(&self, field: &str) {
        if self
            .fields
            .with_untracked(|fields| fields.contains_key(field))
        {
            self.fields.update(|fields| {
                fields.remove(field);
            });
        }
    }

    pub fn clear(&self) {
        self.fields.set(BTreeMap::new());
        self.general.set(None);
    }
}

impl Default for FormErrors {
    fn default() -> Self {
        Self::new()
    }
}

/// The API's complaint about one field, shown under it.
#[component]
pub fn FieldError(errors: FormErrors, field: &'static str) -> impl IntoView {
    errors.shown.update_value(|shown| {
        shown.insert(field);
    });
    move || {
        errors
            .fields
            .with(|fields| fields.get(field).cloned())
            .map(|message| view! { <FieldMessage field message /> })
    }
}

/// One field's error, tied to the input above it while it is shown: the
/// input is marked `aria-invalid` and described by the message, so that a
/// screen reader says why when the input has the focus.
#[component]
fn FieldMessage(field: &'static str, message: String) -> impl IntoView {
    let id = format!("error-{}", field.replace(['.', '[', ']'], "-"));
    let node = NodeRef::<leptos::html::P>::new();
    let linked = StoredValue::new_local(None::<web_sys::Element>);
    let described_by = id.clone();
    Effect::new(move || {
        let Some(p) = node.get() else { return };
        let input = p
            .closest(".field, fieldset")
            .ok()
            .flatten()
            .and_then(|field| {
                field
                    .query_selector("input, select, textarea")
                    .ok()
                    .flatten()
            });
        if let Some(input) = input {
            let _ = input.set_attribute("aria-invalid", "true");
            let described = match input.get_attribute("aria-describedby") {
                Some(others) if !others.contains(&described_by) => {
                    format!("{others} {described_by}")
                }
                Some(others) => others,
                None => described_by.clone(),
            };
            let _ = input.set_attribute("aria-describedby", &described);
            linked.set_value(Some(input));
        }
    });
    let linked_id = id.clone();
    on_cleanup(move || {
        let Some(input) = linked.try_get_value().flatten() else {
            return;
        };
        let _ = input.remove_attribute("aria-invalid");
        let rest = input
            .get_attribute("aria-describedby")
            .unwrap_or_default()
            .split_whitespace()
            .filter(|other| *other != linked_id)
            .collect::<Vec<_>>()
            .join(" ");
        let _ = match rest.is_empty() {
            true => input.remove_attribute("aria-describedby"),
            false => input.set_attribute("aria-describedby", &rest),
        };
    });
    view! { <p class="field-error" data-field=field id=id node_ref=node>{message}</p> }
}

/// What a form's error says beyond its fields.
#[component]
pub fn FormProblem(errors: FormErrors) -> impl IntoView {
    move || {
        errors
            .general
            .get()
            .map(|error| view! { <ErrorNote error /> })
    }
}

/// "12 / 200": how much of a length limit a field uses, flagged past it
/// (the API refuses more; nothing is cut silently).
#[component]
pub fn CharCount(text: RwSignal<String>, limit: usize) -> impl IntoView {
    let used = move || text.with(|t| t.chars().count());
    let class = move || {
        if used() > limit {
            "counter over"
        } else {
            "counter"
        }
    };
    view! {
        <span class=class>
            {move || format!("{} / {limit}", used())}
        </span>
    }
}

/// "Saved." after a form sent the reader here (`?saved=1`).
#[component]
pub fn SavedNotice() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    move || {
        query
            .with(|q| q.get("saved").is_some())
            .then(|| view! { <p class="notice" role="status">"Saved."</p> })
    }
}

/// Asks before unsaved changes are lost: the browser asks on leaving the
/// page; the returned handler, on a Cancel link, asks before following it.
/// (A sidebar link leaves without asking.)
pub fn guard_unsaved(
    unsaved: impl Fn() -> bool + Copy + Send + Sync + 'static,
) -> impl Fn(leptos::ev::MouseEvent) + Copy + 'static {
    let leaving = window_event_listener(leptos::ev::beforeunload, move |event| {
        if unsaved() {
            event.prevent_default();
            event.set_return_value("");
        }
    });
    on_cleanup(move || leaving.remove());
    move |event: leptos::ev::MouseEvent| {
        let stay = unsaved()
            && !window()
                .confirm_with_message("Leave without saving? Your changes will be lost.")
                .unwrap_or(true);
        if stay {
            event.prevent_default();
        }
    }
}

/// The password rules, said before the first try: "10 to 1024 characters."
pub fn password_rules() -> String {
    let (min, max) = api::PASSWORD_CHARS;
    format!("{min} to {max} characters.")
}
