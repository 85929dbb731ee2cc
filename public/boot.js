// Starts the console. A file of its own, not an inline script, so that the
// Content-Security-Policy can forbid inline scripts.
import init from "/pkg/app.js";
init({ module_or_path: "/pkg/app_bg.wasm" });
