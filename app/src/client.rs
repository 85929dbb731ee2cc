//! One async function per REST call. The console speaks to hookhub only here.

use std::collections::BTreeMap;

use api::{
    AttemptOut, AttemptStats, Attention, Data, DeliveryDetail, DeliveryOut, ErrorBody, HeaderOut,
    List, LoginIn, Me, PreviewIn, PreviewOut, RecoverIn, RecoverOut, SecretOut, TokenOut,
    TriggerCallOut, TriggerIn, TriggerOut, UserIn, UserOut, UserPatch, WebhookIn, WebhookOut,
    WebhookSummary,
};
use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;

const TOKEN_KEY: &str = "hookhub.token";

/// What went wrong with a call, ready to show: a message and, for 422, the fields.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientError {
    pub status: u16,
    pub message: String,
    pub fields: BTreeMap<String, String>,
}

impl ClientError {
    fn network(error: gloo_net::Error) -> Self {
        Self {
            status: 0,
            message: format!("hookhub cannot be reached: {error}"),
            fields: BTreeMap::new(),
        }
    }

    pub fn is_unauthorized(&self) -> bool {
        self.status == 401
    }
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// So that a failed load renders into an `ErrorBoundary` (`components::Loads`).
impl std::error::Error for ClientError {}

pub type Result<T> = std::result::Result<T, ClientError>;

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

pub fn token() -> Option<String> {
    storage()?.get_item(TOKEN_KEY).ok()?
}

pub fn forget_token() {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(TOKEN_KEY);
    }
}

fn authorized(builder: RequestBuilder) -> RequestBuilder {
    match token() {
        Some(token) => builder.header("Authorization", &format!("Bearer {token}")),
        None => builder,
    }
}

async fn error_of(response: Response) -> ClientError {
    let status = response.status();
    match response.json::<ErrorBody>().await {
        Ok(body) => ClientError {
            status,
            message: body.error.message,
            fields: body.error.fields,
        },
        Err(_) => ClientError {
            status,
            message: format!("hookhub answered {status} {}", response.status_text()),
            fields: BTreeMap::new(),
        },
    }
}

/// Sends and returns the response if it is a success, the API's error otherwise.
/// A token the server no longer takes ends the session (`session_expired`).
async fn send(request: std::result::Result<Request, gloo_net::Error>) -> Result<Response> {
    let request = request.map_err(ClientError::network)?;
    let with_token = request.headers().has("Authorization");
    let response = request.send().await.map_err(ClientError::network)?;
    if response.ok() {
        return Ok(response);
    }
    let error = error_of(response).await;
    if with_token && error.is_unauthorized() {
        session_expired();
    }
    Err(error)
}

/// Forgets the token and goes to the login page, which says the session
/// expired and, once logged in again, comes back to the page the reader was on.
fn session_expired() {
    forget_token();
    let Some(location) = web_sys::window().map(|window| window.location()) else {
        return;
    };
    let here = format!(
        "{}{}",
        location.pathname().unwrap_or_default(),
        location.search().unwrap_or_default()
    );
    let next = String::from(js_sys::encode_uri_component(&here));
    let _ = location.replace(&format!("/login?expired=1&next={next}"));
}

async fn read<T: DeserializeOwned>(response: Response) -> Result<T> {
    response.json().await.map_err(ClientError::network)
}

async fn get<T: DeserializeOwned>(path: &str) -> Result<T> {
    read(send(authorized(Request::get(path)).build()).await?).await
}

/// Every item of a list, page after page of the largest size.
async fn every<T: DeserializeOwned>(path: &str) -> Result<Vec<T>> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page_path = match &cursor {
            None => format!("{path}?limit=1000"),
            Some(cursor) => format!("{path}?limit=1000&cursor={cursor}"),
        };
        let page = get::<List<T>>(&page_path).await?;
        items.extend(page.data);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(items),
        }
    }
}

/// Logs in and keeps the token for the next calls.
pub async fn login(username: String, password: String) -> Result<()> {
    let request = Request::post("/api/session").json(&LoginIn { username, password });
    let TokenOut { token } = read::<Data<TokenOut>>(send(request).await?).await?.data;
    if let Some(storage) = storage() {
        let _ = storage.set_item(TOKEN_KEY, &token);
    }
    Ok(())
}

pub async fn me() -> Result<Me> {
    Ok(get::<Data<Me>>("/api/me").await?.data)
}

pub async fn webhooks() -> Result<Vec<WebhookOut>> {
    every("/api/webhooks").await
}

/// Every webhook by name and health, as every reader of the logs may see them.
pub async fn delivery_webhooks() -> Result<Vec<WebhookSummary>> {
    every("/api/deliveries/webhooks").await
}

pub async fn webhook(id: String) -> Result<WebhookOut> {
    Ok(get::<Data<WebhookOut>>(&format!("/api/webhooks/{id}"))
        .await?
        .data)
}

pub async fn create_webhook(input: WebhookIn) -> Result<WebhookOut> {
    let request = authorized(Request::post("/api/webhooks")).json(&input);
    Ok(read::<Data<WebhookOut>>(send(request).await?).await?.data)
}

pub async fn update_webhook(id: String, input: WebhookIn) -> Result<()> {
    let request = authorized(Request::patch(&format!("/api/webhooks/{id}"))).json(&input);
    send(request).await.map(drop)
}

pub async fn delete_webhook(id: String) -> Result<()> {
    let request = authorized(Request::delete(&format!("/api/webhooks/{id}"))).build();
    send(request).await.map(drop)
}

pub async fn webhook_secret(id: String) -> Result<String> {
    Ok(
        get::<Data<SecretOut>>(&format!("/api/webhooks/{id}/secret"))
            .await?
            .data
            .secret,
    )
}

/// One extra header's stored value, which the webhook shows as `***`.
pub async fn webhook_header(id: String, name: String) -> Result<String> {
    let name = js_sys::encode_uri_component(&name);
    Ok(
        get::<Data<HeaderOut>>(&format!("/api/webhooks/{id}/headers/{name}"))
            .await?
            .data
            .value,
    )
}

/// Sends a `webhook.test` event now and returns the attempt.
pub async fn test_webhook(id: String) -> Result<AttemptOut> {
    let request = authorized(Request::post(&format!("/api/webhooks/{id}/test"))).build();
    Ok(read::<Data<AttemptOut>>(send(request).await?).await?.data)
}

/// `GET /api/deliveries` with the query string as the Logs page's URL has it.
pub async fn deliveries(query: String) -> Result<List<DeliveryOut>> {
    get::<List<DeliveryOut>>(&format!("/api/deliveries?{query}")).await
}

pub async fn delivery(id: String) -> Result<DeliveryDetail> {
    Ok(
        get::<Data<DeliveryDetail>>(&format!("/api/deliveries/{id}"))
            .await?
            .data,
    )
}

/// Queues one more attempt of a delivery.
pub async fn redeliver(id: String) -> Result<()> {
    let request = authorized(Request::post(&format!("/api/deliveries/{id}/redeliver"))).build();
    send(request).await.map(drop)
}

/// What wants an administrator's eyes, for the sidebar's badges.
pub async fn attention() -> Result<Attention> {
    Ok(get::<Data<Attention>>("/api/attention").await?.data)
}

/// Attempts per time bucket over `window` (`24h`), for one webhook or all.
pub async fn stats(webhook_id: String, window: &str) -> Result<AttemptStats> {
    let path = format!("/api/deliveries/stats?window={window}&webhook_id={webhook_id}");
    Ok(get::<Data<AttemptStats>>(&path).await?.data)
}

/// Queues again what failed to a webhook since `since` (RFC 3339); returns how many.
pub async fn recover(id: String, since: String) -> Result<u64> {
    let request = authorized(Request::post(&format!("/api/webhooks/{id}/recover")))
        .json(&RecoverIn { since, until: None });
    Ok(read::<Data<RecoverOut>>(send(request).await?)
        .await?
        .data
        .queued)
}

/// The request a sample event would produce with these settings (of webhook `id`, when editing).
pub async fn preview(id: Option<String>, webhook: WebhookIn) -> Result<PreviewOut> {
    let request =
        authorized(Request::post("/api/webhooks/preview")).json(&PreviewIn { id, webhook });
    Ok(read::<Data<PreviewOut>>(send(request).await?).await?.data)
}

/// Ends the session on the server: the token stops working.
pub async fn logout() -> Result<()> {
    send(authorized(Request::delete("/api/session")).build())
        .await
        .map(drop)
}

pub async fn triggers() -> Result<Vec<TriggerOut>> {
    every("/api/triggers").await
}

pub async fn trigger(id: String) -> Result<TriggerOut> {
    Ok(get::<Data<TriggerOut>>(&format!("/api/triggers/{id}"))
        .await?
        .data)
}

pub async fn create_trigger(input: TriggerIn) -> Result<TriggerOut> {
    let request = authorized(Request::post("/api/triggers")).json(&input);
    Ok(read::<Data<TriggerOut>>(send(request).await?).await?.data)
}

pub async fn update_trigger(id: String, input: TriggerIn) -> Result<()> {
    let request = authorized(Request::patch(&format!("/api/triggers/{id}"))).json(&input);
    send(request).await.map(drop)
}

pub async fn delete_trigger(id: String) -> Result<()> {
    send(authorized(Request::delete(&format!("/api/triggers/{id}"))).build())
        .await
        .map(drop)
}

/// A new bearer token for a trigger, returned this once.
pub async fn generate_trigger_token(id: String) -> Result<String> {
    let request = authorized(Request::post(&format!("/api/triggers/{id}/token"))).build();
    Ok(read::<Data<TokenOut>>(send(request).await?)
        .await?
        .data
        .token)
}

/// A page of a trigger's calls, newest first: those that came to
/// `outcome` if it is not empty, after `cursor` if given.
pub async fn trigger_calls(
    id: String,
    outcome: String,
    cursor: Option<String>,
) -> Result<List<TriggerCallOut>> {
    let mut path = format!("/api/triggers/{id}/calls?limit=50&outcome={outcome}");
    if let Some(cursor) = cursor {
        path.push_str(&format!("&cursor={cursor}"));
    }
    get(&path).await
}

pub async fn users() -> Result<Vec<UserOut>> {
    every("/api/users").await
}

pub async fn create_user(input: UserIn) -> Result<UserOut> {
    let request = authorized(Request::post("/api/users")).json(&input);
    Ok(read::<Data<UserOut>>(send(request).await?).await?.data)
}

pub async fn update_user(id: String, input: UserPatch) -> Result<()> {
    let request = authorized(Request::patch(&format!("/api/users/{id}"))).json(&input);
    send(request).await.map(drop)
}

pub async fn delete_user(id: String) -> Result<()> {
    send(authorized(Request::delete(&format!("/api/users/{id}"))).build())
        .await
        .map(drop)
}
