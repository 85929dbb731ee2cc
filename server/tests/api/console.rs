use reqwest::Method;

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn without_a_built_console_the_root_says_how_to_build_it() {
    let app = spawn_app().await;
    let response = app.request(Method::GET, "/", None, None).await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("scripts/build-console"), "{page}");
    // and the API still answers
    let health = app.request(Method::GET, "/api/health", None, None).await;
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn a_built_console_serves_client_routes_and_nothing_outside_its_folder() {
    let app = spawn_app().await;
    let dist = app.dir.path().join("dist");
    std::fs::create_dir_all(dist.join("pkg")).unwrap();
    std::fs::write(dist.join("index.html"), "<title>console</title>").unwrap();
    std::fs::write(dist.join("pkg/app.js"), "// app").unwrap();
    std::fs::write(app.dir.path().join("outside.txt"), "private").unwrap();
    // The console is looked up at start: restart on the same directory.
    let app = crate::helpers::restart(app).await;

    for path in ["/", "/webhooks", "/webhooks/wh_1/edit"] {
        let page = app
            .request(Method::GET, path, None, None)
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains("<title>console</title>"), "{path}: {page}");
    }
    let js = app.request(Method::GET, "/pkg/app.js", None, None).await;
    assert_eq!(js.text().await.unwrap(), "// app");
    // Sent as written (an HTTP client would resolve the dots first): the
    // answer is the console's page or a 4xx, never a file outside `dist`,
    // such as the key that seals stored credentials one folder up.
    let key = std::fs::read(app.dir.path().join("secret.key")).unwrap();
    for target in [
        "/../outside.txt",
        "/%2e%2e/outside.txt",
        "/%2E%2E/%2E%2E/outside.txt",
        "/pkg/..%2f..%2foutside.txt",
        "/pkg/%2e%2e%2f%2e%2e%2fsecret.key",
        "/..%5coutside.txt",
        "/pkg/..\\..\\secret.key",
        "//outside.txt",
        "/pkg/app.js%00.html",
        "/pkg/%c0%ae%c0%ae/outside.txt",
        "http://x/../secret.key",
        "/./../secret.key",
    ] {
        let answer = raw_get(&app.address, target).await;
        let status = answer.get(9..12).unwrap_or_default();
        assert!(
            ["200", "400", "404"].contains(&status),
            "{target}: {answer}"
        );
        assert!(!answer.contains("private"), "{target} leaked a file");
        assert!(
            !answer.as_bytes().windows(key.len()).any(|w| w == key),
            "{target} leaked the secret key"
        );
        if status == "200" {
            assert!(
                answer.contains("<title>console</title>"),
                "{target}: {answer}"
            );
        }
    }
}

/// `GET target` as raw bytes on a new connection; the whole answer.
async fn raw_get(address: &str, target: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = address.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn unknown_api_routes_and_methods_answer_in_the_error_shape() {
    let app = spawn_app().await;
    let missing = app.admin(Method::GET, "/api/nothing-here", None).await;
    assert_error(missing, 404, "not_found").await;
    let wrong_method = app.admin(Method::PUT, "/api/webhooks", None).await;
    assert_error(wrong_method, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn paths_the_files_cannot_map_get_the_console_never_a_500() {
    let app = spawn_app().await;
    let dist = app.dir.path().join("dist");
    std::fs::create_dir_all(dist.join("pkg")).unwrap();
    std::fs::write(dist.join("index.html"), "<title>console</title>").unwrap();
    let app = crate::helpers::restart(app).await;
    let long = "a".repeat(256);
    for path in [
        format!("/{long}"),
        format!("/pkg/{long}.js"),
        format!("/x/{long}/y"),
    ] {
        let response = app.request(Method::GET, &path, None, None).await;
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("<title>console</title>")
        );
    }
}

#[tokio::test]
async fn the_console_is_served_with_a_content_security_policy() {
    let app = spawn_app().await;
    let dist = app.dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<title>console</title>").unwrap();
    let app = crate::helpers::restart(app).await;
    let page = app.request(Method::GET, "/webhooks", None, None).await;
    let headers = page.headers();
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{policy}"
    );
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let api = app.request(Method::GET, "/api/health", None, None).await;
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn console_files_are_sent_compressed_and_cached_by_their_content_names() {
    let app = spawn_app().await;
    let dist = app.dir.path().join("dist");
    std::fs::create_dir_all(dist.join("pkg")).unwrap();
    let wasm = "pkg/app_bg-0123456789abcdef.wasm";
    std::fs::write(dist.join("index.html"), "<title>console</title>").unwrap();
    std::fs::write(dist.join(wasm), vec![b'w'; 4096]).unwrap();
    std::fs::write(dist.join(format!("{wasm}.gz")), b"\x1f\x8b gzipped bytes").unwrap();
    std::fs::write(dist.join(format!("{wasm}.br")), b"brotli bytes").unwrap();
    let app = crate::helpers::restart(app).await;
    // reqwest here decodes nothing: what it reads is what was sent.
    let get = async |path: &str, accepted: &str| {
        let mut request = app.client.get(app.url(path));
        if !accepted.is_empty() {
            request = request.header("accept-encoding", accepted);
        }
        request.send().await.unwrap()
    };
    let brotli = get(&format!("/{wasm}"), "gzip, deflate, br").await;
    assert_eq!(brotli.status(), 200);
    assert_eq!(brotli.headers()["content-encoding"], "br");
    assert_eq!(brotli.headers()["content-type"], "application/wasm");
    assert_eq!(
        brotli.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(brotli.headers()["vary"], "accept-encoding");
    assert_eq!(brotli.bytes().await.unwrap(), "brotli bytes");
    let zipped = get(&format!("/{wasm}"), "gzip").await;
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert!(zipped.bytes().await.unwrap().starts_with(b"\x1f\x8b"));
    let plain = get(&format!("/{wasm}"), "").await;
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.bytes().await.unwrap().len(), 4096);
    // The page that names them is checked on every load, at any route.
    for path in ["/", "/index.html", "/webhooks/wh_1/edit"] {
        let page = get(path, "gzip, br").await;
        assert_eq!(page.headers()["cache-control"], "no-cache", "{path}");
    }
    // A name that looks hashed but is missing is the page, not cached for a year.
    let missing = get("/pkg/app_bg-fedcba9876543210.wasm", "gzip, br").await;
    assert_eq!(missing.headers()["cache-control"], "no-cache");
}
