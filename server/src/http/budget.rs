//! A budget for the request bodies in flight across the process. A body
//! costs several times its size while it is read, parsed and written (the
//! bytes, the parsed JSON, the text stored), so without a bound sixty 10 MiB
//! bodies at once took the server past 1.8 GB. Bodies up to 64 KiB and
//! larger ones have budgets of their own. A request with a body takes
//! its size from the budget (its `Content-Length`, or the route's whole
//! limit when it does not say) before the body is read, and gives it back
//! when its answer is ready. When the budget stays full for a second, the
//! body is read and dropped, a piece at a time, and the answer is a 503
//! with `Retry-After`: the caller reads it rather than a broken pipe, and
//! memory stays bounded either way.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::hooks::HOOK_BODY_LIMIT;
use super::json::BODY_LIMIT;
use crate::error::AppError;

/// Bytes of large request bodies in flight at most: eight of the API's
/// largest size.
pub const LARGE_BUDGET: usize = 8 * BODY_LIMIT;
/// Bodies up to this size draw on a budget of their own, so that large ones
/// never crowd them out: the usual event, webhook or login is a few KiB.
pub const SMALL_BODY: usize = 64 * 1024;
pub const SMALL_BUDGET: usize = 16 * 1024 * 1024;
/// How long a body waits for room before its 503, looking every 10 ms.
const WAIT: Duration = Duration::from_secs(1);
const LOOK_AGAIN: Duration = Duration::from_millis(10);

pub struct BodyBudget {
    large: Semaphore,
    small: Semaphore,
}

impl Default for BodyBudget {
    fn default() -> Self {
        Self {
            large: Semaphore::new(LARGE_BUDGET),
            small: Semaphore::new(SMALL_BUDGET),
        }
    }
}

/// What a request's body takes from the budget: its declared length, or
/// its route's limit, and never more than that limit (a longer body is
/// refused with a 413 once the limit is read).
fn cost(request: &Request) -> u32 {
    let limit = if request.uri().path().starts_with("/hooks/") {
        HOOK_BODY_LIMIT
    } else {
        BODY_LIMIT
    };
    let headers = request.headers();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<usize>().ok());
    // HTTP/1.1: without a length or a transfer coding there is no body.
    let size = match declared {
        Some(length) => length.min(limit),
        None if headers.contains_key(header::TRANSFER_ENCODING) => limit,
        None => 0,
    };
    u32::try_from(size).unwrap_or(u32::MAX)
}

/// The middleware: takes room for the body from the budget, or reads it
/// away and answers 503.
pub async fn admit(
    State(budget): State<std::sync::Arc<BodyBudget>>,
    request: Request,
    next: Next,
) -> Response {
    let cost = cost(&request);
    if cost == 0 {
        return next.run(request).await;
    }
    // Looked for again and again rather than queued for: in a queue, a small
    // body would wait behind a large one for room that it does not need.
    let bytes = match cost as usize <= SMALL_BODY {
        true => &budget.small,
        false => &budget.large,
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Ok(_room) = bytes.try_acquire_many(cost) {
            return next.run(request).await;
        }
        if tokio::time::Instant::now() >= deadline {
            drain(request.into_body()).await;
            return AppError::Busy.into_response();
        }
        tokio::time::sleep(LOOK_AGAIN).await;
    }
}

/// Reads a body to its end (or the API's limit) without keeping it.
async fn drain(body: Body) {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut read = 0;
    while read <= BODY_LIMIT {
        match body.frame().await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, |data| data.len()),
            _ => return,
        }
    }
}
