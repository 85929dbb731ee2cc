//! The built console: static files, with `index.html` for client-side routes.

use std::path::Path;

use axum::Router;
use axum::response::Html;
use axum::routing::{MethodRouter, get};
use tower_http::services::{ServeDir, ServeFile};

use super::AppState;

pub fn router(dir: &Path) -> Router<AppState> {
    let index = dir.join("index.html");
    if index.is_file() {
        // ServeDir never leaves `dir` (it refuses `..` and absolute paths).
        Router::new().fallback_service(ServeDir::new(dir).fallback(ServeFile::new(index)))
    } else {
        Router::new().fallback(not_built(dir))
    }
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
