// Debian's Chromium as the browser suite and the bench's scripts start it:
// headless, and nothing reaching for the network. playwright.config.ts takes
// these options too.
import { chromium } from "@playwright/test";

export const launchOptions = {
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
};

export function launch() {
  return chromium.launch(launchOptions);
}
