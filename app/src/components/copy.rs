use leptos::prelude::*;

/// Puts `text` on the clipboard; `false` if the browser refused.
pub async fn copy_to_clipboard(text: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let promise = window.navigator().clipboard().write_text(text);
    wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
}

/// Copies `text` to the clipboard and says so.
#[component]
pub fn CopyButton(#[prop(into)] text: Signal<String>, label: &'static str) -> impl IntoView {
    let copy = Action::new_local(|text: &String| {
        let text = text.clone();
        async move { copy_to_clipboard(&text).await }
    });
    let copied = move || copy.value().get().unwrap_or(false);
    view! {
        <button type="button" class="copy" on:click=move |_| { copy.dispatch(text.get_untracked()); } aria-label=label>
            {move || if copied() { "Copied" } else { "Copy" }}
        </button>
    }
}
