//! The built console: static files, with `index.html` for client-side routes,
//! served with headers that keep it from being framed, sniffed or injected into.
//!
//! `scripts/build-console` names every file but `index.html` after a hash of
//! its content (`app_bg-3f2a….wasm`) and writes a brotli and a gzip copy
//! beside each: such a file never changes under its name, so it is cached for
//! a year (`immutable`), sent compressed as the client accepts (brotli, a
//! quarter smaller, before gzip); `index.html`, which
//! names them, is checked with the server on every load (`no-cache`), so a
//! new build reaches browsers at once.

use std::convert::Infallible;
use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
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
        let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
        let index = ServeFile::new(index)
            .precompressed_br()
            .precompressed_gzip();
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
    files: ServeDir,
    index: ServeFile,
    request: Request,
) -> Result<Response, Infallible> {
    let mut immutable = is_content_named(request.uri().path());
    let encodings = request.headers().get(header::ACCEPT_ENCODING).cloned();
    let mut response = files.oneshot(request).await?.into_response();
    if response.status() == StatusCode::NOT_FOUND || response.status().is_server_error() {
        let mut again = Request::new(Body::empty());
        if let Some(encodings) = encodings {
            again
                .headers_mut()
                .insert(header::ACCEPT_ENCODING, encodings);
        }
        response = index.oneshot(again).await?.into_response();
        immutable = false;
    }
    let cache = match immutable {
        true => "public, max-age=31536000, immutable",
        false => "no-cache",
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    // The same name answers compressed or not, by what the client accepts.
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    Ok(response)
}

/// Whether a path names a file after a hash of its content, as the build
/// names them: `name-<16 hex digits>.ext`.
fn is_content_named(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or_default();
    let Some((stem, _extension)) = file.split_once('.') else {
        return false;
    };
    stem.rsplit_once('-').is_some_and(|(_, hash)| {
        hash.len() == 16
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_named_after_their_content_are_immutable() {
        assert!(is_content_named("/pkg/app_bg-0123456789abcdef.wasm"));
        assert!(is_content_named("/style-fedcba9876543210.css"));
        assert!(!is_content_named("/index.html"));
        assert!(!is_content_named("/pkg/app.js"));
        assert!(!is_content_named("/webhooks/wh_1-0123456789abcdef"));
        assert!(!is_content_named("/x-0123456789ABCDEF.js"));
        assert!(!is_content_named("/x-0123456789abcde.js"));
    }
}
