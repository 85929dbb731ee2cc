//! The built console: static files, with `index.html` for client-side routes,
//! served with headers that keep it from being framed, sniffed or injected into.

use std::convert::Infallible;
use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use super::AppState;

/// Scripts only from the console's own files (the wasm needs
/// `'wasm-unsafe-eval'` to be compiled), no inline script or style
/// attribute, API calls to this origin only, never inside a frame.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn router(dir: &Path) -> Router<AppState> {
    let index = dir.join("index.html");
    let router = if index.is_file() {
        // ServeDir never leaves `dir` (it refuses `..` and absolute paths).
        let files = ServeDir::new(dir).fallback(ServeFile::new(&index));
        let index = ServeFile::new(index);
        Router::new().fallback(move |request: Request| serve(files.clone(), index.clone(), request))
    } else {
        Router::new().fallback(not_built(dir))
    };
    router.layer(SetResponseHeaderLayer::overriding(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    ))
}

/// A file of the console, or `index.html` for any path that is no file,
/// including those the file system cannot even look up (a name longer than
/// it allows): never a 500.
async fn serve(
    files: ServeDir<ServeFile>,
    index: ServeFile,
    request: Request,
) -> Result<Response, Infallible> {
    let response = files.oneshot(request).await?;
    if !response.status().is_server_error() {
        return Ok(response.into_response());
    }
    let response = index.oneshot(Request::new(Body::empty())).await?;
    Ok(response.into_response())
}

/// Headers for every answer, the API's included.
pub fn security_headers() -> [(HeaderName, &'static str); 3] {
    [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ]
}

fn not_built(dir: &Path) -> MethodRouter<AppState> {
    let page = format!(
        "<!doctype html><title>hookhub</title><h1>hookhub is running</h1>\
         <p>The console was not built: <code>{}</code> has no <code>index.html</code>. \
         Build it with <code>scripts/build-console</code> (or run <code>scripts/run</code>) \
         and restart. The REST API under <code>/api</code> works without it.</p>",
        dir.display()
    );
    get(move || async move { Html(page) })
}
