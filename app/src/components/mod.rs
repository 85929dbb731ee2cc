//! Pieces the pages share.

mod auth_fields;
mod chart;
mod confirm;
mod copy;
mod delivery;
mod forms;
mod health;
mod http_view;
mod key_value;
mod page;
mod recover;
mod shell;
mod time;

pub use auth_fields::{AuthFields, AuthState, BearerToken};
pub use chart::AttemptChart;
pub use confirm::ConfirmDialog;
pub use copy::{CopyButton, copy_to_clipboard};
pub use delivery::{StatusBadge, WaitsFor, milliseconds, result_in_words};
pub use forms::{
    CharCount, FieldError, FormErrors, FormProblem, SavedNotice, guard_unsaved, password_rules,
};
pub use health::HealthSummary;
pub use http_view::{HeadersTable, JsonBody};
pub use key_value::{KeyValueLabels, KeyValueRow, KeyValueRows, Reveal};
pub use page::{Loads, page_title};
pub use recover::RecoverForm;
pub use shell::{AdminOnly, AttentionChanged, Home, Session, Shell, role_name};
pub use time::{Time, hours_ago, time_zone, to_local, to_utc};

use leptos::prelude::*;

use crate::client::ClientError;

/// A call's error. (An ended session goes to the login page by itself:
/// `client::send`.)
#[component]
pub fn ErrorNote(error: ClientError) -> impl IntoView {
    view! {
        <div class="error-note" role="alert">
            <span>{error.message}</span>
        </div>
    }
}
