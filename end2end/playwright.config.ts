import { defineConfig } from "@playwright/test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { launchOptions } from "./bench/browser.mjs";

// One throwaway hookhub for the whole suite: its own port, database and key.
const port = process.env.HOOKHUB_E2E_PORT ?? "18080";
const dir = process.env.HOOKHUB_E2E_DIR ?? mkdtempSync(join(tmpdir(), "hookhub-e2e-"));
export const adminPassword = "e2e-admin-password";

export default defineConfig({
  testDir: "./tests",
  workers: 1,
  retries: 0,
  timeout: 30_000,
  reporter: [["list"], ["./summary-reporter.ts"]],
  outputDir: "./test-results",
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    screenshot: "only-on-failure",
    launchOptions,
  },
  webServer: {
    command: `${resolve(__dirname, "../target/debug/hookhub")} serve`,
    url: `http://127.0.0.1:${port}/api/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      HOOKHUB_LISTEN: `127.0.0.1:${port}`,
      HOOKHUB_DATABASE_URL: `sqlite://${dir}/hookhub.db`,
      HOOKHUB_SECRET_KEY_FILE: `${dir}/secret.key`,
      HOOKHUB_STATIC_DIR: resolve(__dirname, "../dist"),
      HOOKHUB_ADMIN_PASSWORD: adminPassword,
      // The tests' receivers listen on 127.0.0.1.
      HOOKHUB_ALLOW_PRIVATE_TARGETS: "true",
      // Retries come quickly enough for a test to watch them.
      HOOKHUB_RETRY_SCHEDULE: "1s,1s",
      // A line per request and attempt would bury the suite's own output.
      RUST_LOG: "warn",
    },
  },
});
