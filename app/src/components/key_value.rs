//! Rows of a name and a value that a form adds, edits and removes: a
//! webhook's extra headers, a trigger's required parameters.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use leptos::prelude::*;

use super::ErrorNote;
use crate::client;

/// One row. A `stored` row's value is hidden by the API: its input starts
/// empty and, left empty, keeps what is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyValueRow {
    /// Tells rows apart while their names change.
    pub key: usize,
    pub name: String,
    pub value: String,
    pub stored: bool,
}

impl KeyValueRow {
    /// Rows for `pairs`, keyed in order.
    pub fn rows(pairs: impl IntoIterator<Item = (String, String)>, stored: bool) -> Vec<Self> {
        pairs
            .into_iter()
            .enumerate()
            .map(|(key, (name, value))| Self {
                key,
                name,
                value,
                stored,
            })
            .collect()
    }
}

/// Fetches a stored row's hidden value by its name (**Show value**).
pub type Reveal =
    Arc<dyn Fn(String) -> Pin<Box<dyn Future<Output = client::Result<String>>>> + Send + Sync>;

/// What the inputs of a `KeyValueRows` are called.
#[derive(Clone, Copy)]
pub struct KeyValueLabels {
    pub name: &'static str,
    pub name_placeholder: &'static str,
    pub value: &'static str,
    pub value_placeholder: &'static str,
    pub add: &'static str,
}

/// The rows and an add button. With `reveal`, a stored row offers
/// **Show value**, which fills its input with the stored value.
#[component]
pub fn KeyValueRows(
    rows: RwSignal<Vec<KeyValueRow>>,
    labels: KeyValueLabels,
    #[prop(default = None)] reveal: Option<Reveal>,
) -> impl IntoView {
    let next_key = StoredValue::new(
        rows.with_untracked(|rows| rows.iter().map(|row| row.key + 1).max().unwrap_or_default()),
    );
    let add = move |_| {
        let key = next_key.get_value();
        next_key.set_value(key + 1);
        rows.update(|rows| {
            rows.push(KeyValueRow {
                key,
                name: String::new(),
                value: String::new(),
                stored: false,
            })
        });
    };
    view! {
        <For each=move || rows.get() key=|row| row.key let:row>
            <Row row rows labels reveal=reveal.clone() />
        </For>
        <button type="button" on:click=add>{labels.add}</button>
    }
}

#[component]
fn Row(
    row: KeyValueRow,
    rows: RwSignal<Vec<KeyValueRow>>,
    labels: KeyValueLabels,
    reveal: Option<Reveal>,
) -> impl IntoView {
    let KeyValueRow {
        key,
        name,
        value,
        stored,
    } = row;
    let set = move |update: &dyn Fn(&mut KeyValueRow)| {
        rows.update(|rows| {
            if let Some(row) = rows.iter_mut().find(|row| row.key == key) {
                update(row);
            }
        })
    };
    let value = RwSignal::new(value);
    let stored_name = name.clone();
    let show = reveal
        .filter(|_| stored)
        .map(|reveal| Action::new_local(move |_: &()| reveal(stored_name.clone())));
    Effect::new(move || {
        if let Some(Ok(shown)) = show.and_then(|show| show.value().get()) {
            value.set(shown.clone());
            set(&|row| row.value = shown.clone());
        }
    });
    let value_placeholder = if stored {
        "stored, hidden — leave empty to keep"
    } else {
        labels.value_placeholder
    };
    view! {
        <div class="inline header-row">
            <input
                aria-label=labels.name
                placeholder=labels.name_placeholder
                prop:value=name
                on:input=move |ev| {
                    let name = event_target_value(&ev);
                    set(&|row| row.name = name.clone());
                }
            />
            <input
                aria-label=labels.value
                placeholder=value_placeholder
                prop:value=value
                on:input=move |ev| {
                    let typed = event_target_value(&ev);
                    value.set(typed.clone());
                    set(&|row| row.value = typed.clone());
                }
            />
            {show.map(|show| view! {
                <button
                    type="button"
                    disabled=move || show.pending().get()
                    on:click=move |_| { show.dispatch(()); }
                >
                    "Show value"
                </button>
            })}
            <button type="button" on:click=move |_| rows.update(|rows| rows.retain(|row| row.key != key))>
                "Remove"
            </button>
            {move || {
                show.and_then(|show| show.value().get())
                    .and_then(Result::err)
                    .map(|error| view! { <ErrorNote error /> })
            }}
        </div>
    }
}
