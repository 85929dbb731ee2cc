use leptos::ev::KeyboardEvent;
use leptos::html;
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;

/// Asks before something that cannot be undone. It opens on Cancel, keeps
/// the keyboard inside (Tab cycles its buttons), says no on Escape from
/// anywhere in it, and gives the focus back to what opened it.
#[component]
pub fn ConfirmDialog(
    title: String,
    message: String,
    confirm_label: &'static str,
    on_confirm: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let cancel_button = NodeRef::<html::Button>::new();
    let confirm_button = NodeRef::<html::Button>::new();
    let opener = document()
        .active_element()
        .and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok())
        .map(SendWrapper::new);
    on_cleanup(move || {
        if let Some(opener) = opener.filter(|opener| opener.is_connected()) {
            let _ = opener.focus();
        }
    });
    Effect::new(move || {
        if let Some(button) = cancel_button.get() {
            let _ = button.focus();
        }
    });
    let on_keydown = move |event: KeyboardEvent| match event.key().as_str() {
        "Escape" => on_cancel.run(()),
        "Tab" => {
            let (Some(first), Some(last)) = (cancel_button.get(), confirm_button.get()) else {
                return;
            };
            let active = document().active_element();
            let (from, to) = if event.shift_key() {
                (first, last)
            } else {
                (last, first)
            };
            let from: &web_sys::Element = &from;
            let at_edge = active.is_none_or(|active| {
                &active == from || active.closest(".dialog").ok().flatten().is_none()
            });
            if at_edge {
                event.prevent_default();
                let _ = to.focus();
            }
        }
        _ => {}
    };
    view! {
        <div class="backdrop" on:keydown=on_keydown>
            <div class="dialog" role="alertdialog" aria-modal="true" aria-labelledby="dialog-title" aria-describedby="dialog-message">
                <h2 id="dialog-title">{title}</h2>
                <p id="dialog-message">{message}</p>
                <div class="dialog-actions">
                    <button type="button" node_ref=cancel_button on:click=move |_| on_cancel.run(())>"Cancel"</button>
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
