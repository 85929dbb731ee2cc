//! Pieces the pages share.

mod chart;
mod confirm;
mod copy;
mod recover;
mod shell;

pub use chart::AttemptChart;
pub use confirm::ConfirmDialog;
pub use copy::{CopyButton, copy_to_clipboard};
pub use recover::RecoverForm;
pub use shell::{Home, Session, Shell, role_name};

use leptos::prelude::*;

use crate::client::ClientError;

/// A call's error, with a way back to the login page when the session ended.
#[component]
pub fn ErrorNote(error: ClientError) -> impl IntoView {
    let expired = error.is_unauthorized();
    view! {
        <div class="error-note" role="alert">
            <span>{error.message}</span>
            {expired.then(|| view! { <a href="/login">" Log in again"</a> })}
        </div>
    }
}

/// The API's complaint about one field, shown under it.
#[component]
pub fn FieldError(
    errors: RwSignal<std::collections::BTreeMap<String, String>>,
    field: &'static str,
) -> impl IntoView {
    move || {
        errors
            .with(|errors| errors.get(field).cloned())
            .map(|message| {
                view! { <p class="field-error" data-field=field>{message}</p> }
            })
    }
}
