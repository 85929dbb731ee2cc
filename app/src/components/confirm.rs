use leptos::ev::KeyboardEvent;
use leptos::html;
use leptos::prelude::*;

/// Asks before something that cannot be undone. Escape or Cancel says no.
#[component]
pub fn ConfirmDialog(
    title: String,
    message: String,
    confirm_label: &'static str,
    on_confirm: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let confirm_button = NodeRef::<html::Button>::new();
    Effect::new(move || {
        if let Some(button) = confirm_button.get() {
            let _ = button.focus();
        }
    });
    let on_keydown = move |event: KeyboardEvent| {
        if event.key() == "Escape" {
            on_cancel.run(());
        }
    };
    view! {
        <div class="backdrop" on:keydown=on_keydown>
            <div class="dialog" role="alertdialog" aria-modal="true" aria-labelledby="dialog-title">
                <h2 id="dialog-title">{title}</h2>
                <p>{message}</p>
                <div class="dialog-actions">
                    <button type="button" on:click=move |_| on_cancel.run(())>"Cancel"</button>
                    <button
                        type="button"
                        class="danger"
                        node_ref=confirm_button
                        on:click=move |_| on_confirm.run(())
                    >
                        {confirm_label}
                    </button>
                </div>
            </div>
        </div>
    }
}
