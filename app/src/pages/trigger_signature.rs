//! The trigger form's signature: senders such as GitHub, Stripe, Shopify or
//! any Standard Webhooks sender call the trigger directly, signing the body
//! with a secret both sides hold.

use api::{HmacAlgorithm, HmacEncoding, SignatureScheme, TriggerAuthIn, TriggerAuthOut};
use leptos::prelude::*;

use crate::components::{FieldError, FormErrors};

/// What the form holds of a signature.
#[derive(Clone, Copy)]
pub struct SignatureState {
    /// Whether callers sign instead of sending credentials.
    pub on: RwSignal<bool>,
    pub scheme: RwSignal<SignatureScheme>,
    /// Left empty, the stored secret is kept.
    pub secret: RwSignal<String>,
    pub header: RwSignal<String>,
    pub algorithm: RwSignal<HmacAlgorithm>,
    pub encoding: RwSignal<HmacEncoding>,
    /// Whether a secret is stored.
    pub secret_set: bool,
}

impl SignatureState {
    pub fn new(stored: Option<&TriggerAuthOut>) -> Self {
        let (on, scheme, header, algorithm, encoding, secret_set) = match stored {
            Some(TriggerAuthOut::Signature {
                scheme,
                header,
                algorithm,
                encoding,
                secret_set,
            }) => (
                true,
                *scheme,
                header.clone().unwrap_or_default(),
                algorithm.unwrap_or_default(),
                encoding.unwrap_or_default(),
                *secret_set,
            ),
            _ => (
                false,
                SignatureScheme::Github,
                String::new(),
                HmacAlgorithm::default(),
                HmacEncoding::default(),
                false,
            ),
        };
        Self {
            on: RwSignal::new(on),
            scheme: RwSignal::new(scheme),
            secret: RwSignal::new(String::new()),
            header: RwSignal::new(header),
            algorithm: RwSignal::new(algorithm),
            encoding: RwSignal::new(encoding),
            secret_set,
        }
    }

    /// As the API takes it.
    pub fn input(&self) -> TriggerAuthIn {
        let hmac = self.scheme.get() == SignatureScheme::Hmac;
        TriggerAuthIn::Signature {
            scheme: self.scheme.get(),
            secret: Some(self.secret.get()).filter(|s| !s.is_empty()),
            header: hmac.then(|| self.header.get()),
            algorithm: hmac.then(|| self.algorithm.get()),
            encoding: hmac.then(|| self.encoding.get()),
        }
    }
}

/// The scheme's name in a list, and where its sender puts the signature.
fn scheme_label(scheme: SignatureScheme) -> (&'static str, &'static str) {
    match scheme {
        SignatureScheme::Github => (
            "GitHub",
            "GitHub sends X-Hub-Signature-256: sha256=…, keyed by the secret typed in the repository's webhook settings.",
        ),
        SignatureScheme::Stripe => (
            "Stripe",
            "Stripe sends Stripe-Signature: t=…,v1=…, keyed by the endpoint's whsec_… signing secret; a call signed over 5 minutes ago is refused.",
        ),
        SignatureScheme::Shopify => (
            "Shopify",
            "Shopify sends X-Shopify-Hmac-Sha256 (base64), keyed by the app's client secret.",
        ),
        SignatureScheme::Standard => (
            "Standard Webhooks",
            "Standard Webhooks senders send webhook-id, webhook-timestamp and webhook-signature: v1,…, keyed by a whsec_… secret; a call signed over 5 minutes ago is refused.",
        ),
        SignatureScheme::Hmac => (
            "Other (HMAC of the body)",
            "Any other sender: name the header it puts the signature in, its hash and how it writes it.",
        ),
    }
}

/// How the trigger's list says it.
pub fn signature_label(scheme: SignatureScheme) -> String {
    format!("signature ({})", scheme_label(scheme).0)
}

/// The headers a signed call carries, with placeholders for what the
/// sender computes (for the curl example).
pub fn signature_headers(scheme: SignatureScheme, header: Option<&str>) -> Vec<(String, String)> {
    let one = |name: &str, value: &str| vec![(name.to_string(), value.to_string())];
    match scheme {
        SignatureScheme::Github => one("X-Hub-Signature-256", "sha256=HEX_HMAC_OF_THE_BODY"),
        SignatureScheme::Stripe => one("Stripe-Signature", "t=UNIX_TIME,v1=HEX_HMAC_OF_TIME.BODY"),
        SignatureScheme::Shopify => one("X-Shopify-Hmac-Sha256", "BASE64_HMAC_OF_THE_BODY"),
        SignatureScheme::Standard => vec![
            ("webhook-id".into(), "MESSAGE_ID".into()),
            ("webhook-timestamp".into(), "UNIX_TIME".into()),
            (
                "webhook-signature".into(),
                "v1,BASE64_HMAC_OF_ID.TIME.BODY".into(),
            ),
        ],
        SignatureScheme::Hmac => one(header.unwrap_or("X-Signature"), "HMAC_OF_THE_BODY"),
    }
}

#[component]
pub fn SignatureFields(signature: SignatureState, errors: FormErrors) -> impl IntoView {
    let SignatureState {
        scheme,
        secret,
        header,
        algorithm,
        encoding,
        secret_set,
        ..
    } = signature;
    let hint = move || scheme_label(scheme.get()).1;
    view! {
        <div class="field">
            <label for="signature-scheme">"Sender"</label>
            <select id="signature-scheme" aria-describedby="signature-scheme-hint"
                on:change=move |ev| {
                    let value = event_target_value(&ev);
                    if let Some(chosen) = SignatureScheme::ALL.into_iter().find(|s| s.as_str() == value) {
                        scheme.set(chosen);
                    }
                }>
                {SignatureScheme::ALL.map(|s| view! {
                    <option value=s.as_str() selected=move || scheme.get() == s>{scheme_label(s).0}</option>
                }).collect_view()}
            </select>
            <p class="hint" id="signature-scheme-hint">{hint}</p>
            <FieldError errors field="auth.scheme" />
        </div>
        <Show when=move || scheme.get() == SignatureScheme::Hmac>
            <div class="field-row">
                <div class="field">
                    <label for="signature-header">"Signature header"</label>
                    <input id="signature-header" bind:value=header placeholder="X-Signature" />
                    <FieldError errors field="auth.header" />
                </div>
                <div class="field">
                    <label for="signature-algorithm">"Hash"</label>
                    <select id="signature-algorithm" on:change=move |ev| algorithm.set(if event_target_value(&ev) == "sha1" { HmacAlgorithm::Sha1 } else { HmacAlgorithm::Sha256 })>
                        <option value="sha256" selected=move || algorithm.get() == HmacAlgorithm::Sha256>"SHA-256"</option>
                        <option value="sha1" selected=move || algorithm.get() == HmacAlgorithm::Sha1>"SHA-1"</option>
                    </select>
                </div>
                <div class="field">
                    <label for="signature-encoding">"Written as"</label>
                    <select id="signature-encoding" on:change=move |ev| encoding.set(if event_target_value(&ev) == "base64" { HmacEncoding::Base64 } else { HmacEncoding::Hex })>
                        <option value="hex" selected=move || encoding.get() == HmacEncoding::Hex>"hex"</option>
                        <option value="base64" selected=move || encoding.get() == HmacEncoding::Base64>"base64"</option>
                    </select>
                </div>
            </div>
        </Show>
        <div class="field">
            <label for="signature-secret">"Signing secret"</label>
            <input id="signature-secret" type="password" autocomplete="off" bind:value=secret aria-describedby="signature-secret-hint" />
            <p class="hint" id="signature-secret-hint">
                {if secret_set {
                    "Stored, sealed, and never shown. Left empty, it stays as it is."
                } else {
                    "The secret the sender signs with, as it gives it. Stored sealed and never shown again."
                }}
            </p>
            <FieldError errors field="auth.secret" />
        </div>
    }
}
