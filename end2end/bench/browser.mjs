// Debian's Chromium for the bench's scripts, as the browser suite starts it
// (playwright.config.ts): headless, and nothing reaching for the network.
import { chromium } from "@playwright/test";

export function launch() {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
